# Registration and login: normalised unique e-mail, password policy,
# bcrypt, uniform failures, token pair, /me, verification e-mail.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;

# Account lockout is tested in t/42-auth-limits.t; here it must not interfere.
# The default cost (12): the timing comparison below needs bcrypt, not
# scheduling noise of a busy test machine, to dominate a login.
my $t = ParleyTest->new(smtp => 1, env => { PARLEY_LOGIN_MAX_PER_ACCOUNT => 50, PARLEY_BCRYPT_COST => 12,
    PARLEY_REGISTER_MAX_PER_IP => 20 });
my $pw = 'tangerine-orbit-velvet-42';

# Registration confirms the address before anything exists: 202, then
# the link in the mail creates the company and its owner.
my $r = $t->post('/api/v1/auth/register', json => { email => '  Ann.Smith@Example.COM ', password => $pw,
    name => 'Ann Smith', company_name => 'Acme Ltd' }, headers => { 'user-agent' => 'tests/1' });
is $r->{status}, 202, 'register: 202';
is_deeply $r->{json}, { status => 'confirmation_sent', email => 'Ann.Smith@example.com' },
    '... confirmation_sent, the address trimmed and its domain lower-cased';
is $t->sql(q{SELECT count(*) AS n FROM users})->[0]{n}, 0, '... and no account exists before the link is used';
my $mail = $t->wait_mail('Ann.Smith@example.com', qr/finish signing up/i);
my ($stok) = $mail->{body} =~ m{https://app\.parley\.test/confirm-signup#token=([A-Za-z0-9_-]{43})};
ok $stok, 'the signup mail carries a link';
# The mail can arrive before the job is marked done: wait for the state.
ParleyTest::wait_for(sub { $t->sql(q{SELECT count(*) AS n FROM jobs WHERE done_at IS NOT NULL})->[0]{n} }, 'the job done');
is $t->sql(q{SELECT count(*) AS n FROM jobs WHERE done_at IS NOT NULL AND payload = '{}'})->[0]{n}, 1,
    'the job is done and its payload (the sealed token) erased';
is $t->post('/api/v1/auth/register/confirm', json => { token => 'A' x 43, password => $pw })->{status}, 400, 'an unknown link: 400';
$r = $t->post('/api/v1/auth/register/confirm', json => { token => $stok, password => 'not-the-one-chosen-at-all' });
is $r->{status}, 403, 'the link with another password than the one chosen: 403';
is $r->{json}{code}, 'password_mismatch', '... password_mismatch';
is $t->post('/api/v1/auth/register/confirm', json => { token => $stok })->{status}, 422, '... and without one: 422';
$r = $t->post('/api/v1/auth/register/confirm', json => { token => $stok, password => $pw }, headers => { 'user-agent' => 'tests/1' });
is $r->{status}, 201, 'the link creates the account: 201';
my $reg = $r->{json};
is $reg->{user}{email}, 'Ann.Smith@example.com', 'e-mail trimmed, domain lower-cased';
is $reg->{user}{role}, 'owner', 'the registrant owns the company';
is $reg->{user}{email_verified}, JSON::PP::true, 'the address is verified: the link proved it';
is $reg->{company}{name}, 'Acme Ltd', 'company created';
is $reg->{token_type}, 'Bearer', 'token pair returned';
is $reg->{expires_in}, 900, 'access token lives 15 minutes';
like $reg->{refresh_token}, qr/^[A-Za-z0-9_-]{43}$/, 'refresh token: 256 bits base64url';
is $t->post('/api/v1/auth/register/confirm', json => { token => $stok, password => $pw })->{status}, 400, 'the link works once';
is $t->sql(q{SELECT count(*) AS n FROM signups})->[0]{n}, 0, '... the pending signup is gone';

my $row = $t->sql('SELECT password_hash, email_verified_at FROM users WHERE id = ?', $reg->{user}{id})->[0];
like $row->{password_hash}, qr/^\$2b\$12\$/, 'stored as bcrypt $2b$ at the configured cost (12)';
ok defined $row->{email_verified_at}, 'verified in the database';
{
	use Digest::SHA qw(sha256_hex);
	my $rt = $t->sql('SELECT encode(token_hash, ?) AS h FROM refresh_tokens', 'hex')->[0]{h};
	is $rt, sha256_hex($reg->{refresh_token}), 'refresh token stored as its SHA-256 only';
}

# A taken address, in any case or spacing, is answered like a new one:
# registration tells nobody which addresses have accounts. Its holder is
# told by mail; nothing else changes.
my %new = %{ $t->post('/api/v1/auth/register', headers => { 'x-forwarded-for' => '198.51.100.200' },
    json => { email => 'fresh@example.com', password => $pw, name => 'Fre Sh', company_name => 'New' }) };
$r = $t->post('/api/v1/auth/register', headers => { 'x-forwarded-for' => '198.51.100.201' },
    json => { email => ' ann.smith@EXAMPLE.com', password => $pw, name => 'Ann', company_name => 'Other' });
is $r->{status}, $new{status}, 'same address again: the status a new address gets (202)';
is_deeply [ sort keys %{ $r->{json} } ], [ sort keys %{ $new{json} } ], '... the same fields';
is $r->{json}{status}, $new{json}{status}, '... the same status text';
$mail = $t->wait_mail('ann.smith@example.com', qr/tried to sign up/);
like $mail->{body}, qr/already has an account/, 'the holder of the address is told someone tried to sign up';
unlike $mail->{body}, qr/#token=/, '... by a mail that carries no link';
is $t->sql(q{SELECT count(*) AS n FROM companies})->[0]{n}, 1, '... and no company was made';
is $t->sql(q{SELECT count(*) AS n FROM signups WHERE lower(email) = 'ann.smith@example.com'})->[0]{n}, 0,
    '... nor a pending signup';
ok $t->sql(q{SELECT 1 FROM security_events WHERE kind = 'signup_attempt' AND user_id = ?}, $reg->{user}{id})->[0],
    "... the attempt is in the account's security events";
# Registering again replaces the pending signup: the older link stops working.
my $m1 = $t->wait_mail('fresh@example.com', qr/finish signing up/i);
$t->post('/api/v1/auth/register', headers => { 'x-forwarded-for' => '198.51.100.202' },
    json => { email => 'fresh@example.com', password => $pw, name => 'Fre Sh', company_name => 'Newer' });
ParleyTest::wait_for(sub { 2 == grep { $_->{to} eq 'fresh@example.com' } $t->mails }, 'the second signup mail');
my @fm = grep { $_->{to} eq 'fresh@example.com' } $t->mails;
my @ftok = map { /confirm-signup#token=([A-Za-z0-9_-]{43})/ ? $1 : () } map { $_->{body} } @fm;
is $t->post('/api/v1/auth/register/confirm', json => { token => $ftok[0], password => $pw })->{status}, 400, 'an older link of the address no longer works';
$r = $t->post('/api/v1/auth/register/confirm', json => { token => $ftok[1], password => $pw });
is $r->{json}{company}{name}, 'Newer', '... the newest does';
# Someone else registers the address again, with a password of theirs,
# after its owner did: the owner's link then carries the stranger's
# signup, and the owner's password does not open it. No account is made
# with a password its owner does not know.
$t->post('/api/v1/auth/register', headers => { 'x-forwarded-for' => '198.51.100.210' },
    json => { email => 'owner2@example.com', password => $pw, name => 'Ow Ner', company_name => 'Mine' });
ParleyTest::wait_for(sub { 1 == grep { $_->{to} eq 'owner2@example.com' } $t->mails }, 'the owner\'s signup mail');
$t->post('/api/v1/auth/register', headers => { 'x-forwarded-for' => '198.51.100.211' },
    json => { email => 'owner2@example.com', password => 'stranger-chosen-passphrase-9', name => 'Mal Lory', company_name => 'Theirs' });
ParleyTest::wait_for(sub { 2 == grep { $_->{to} eq 'owner2@example.com' } $t->mails }, 'the second signup mail');
my ($otok) = map { /confirm-signup#token=([A-Za-z0-9_-]{43})/ ? $1 : () } map { $_->{body} } grep { $_->{to} eq 'owner2@example.com' } $t->mails;
my @otoks = map { /confirm-signup#token=([A-Za-z0-9_-]{43})/ ? $1 : () } map { $_->{body} } grep { $_->{to} eq 'owner2@example.com' } $t->mails;
$r = $t->post('/api/v1/auth/register/confirm', json => { token => $otoks[1], password => $pw });
is $r->{json}{code}, 'password_mismatch', "a stranger's sign-up of one's address: its link refuses one's own password";
is $t->sql(q{SELECT count(*) AS n FROM users WHERE email = 'owner2@example.com'})->[0]{n}, 0, '... and no account is made';
# An expired link does not work, and the jobs process purges it.
$t->post('/api/v1/auth/register', headers => { 'x-forwarded-for' => '198.51.100.203' },
    json => { email => 'late@example.com', password => $pw, name => 'La Te', company_name => 'Late' });
my ($ltok) = $t->wait_mail('late@example.com', qr/finish signing up/i)->{body} =~ /#token=([A-Za-z0-9_-]{43})/;
$t->backdate('signups', 'expires_at', '49 hours', q{email = 'late@example.com'});
$r = $t->post('/api/v1/auth/register/confirm', json => { token => $ltok, password => $pw });
is $r->{status}, 400, 'an expired link: 400' or diag $r->{content};

# The same work either way: a taken address costs what a new one does
# (parleyd's own time, in pairs back to back, as for login below).
{
	my (@rt, @rn);
	for my $i (1 .. 7) {
		push @rt, $t->post('/api/v1/auth/register', headers => { 'x-forwarded-for' => "198.51.100.22$i" },
		    json => { email => 'ann.smith@example.com', password => $pw, name => 'Ann', company_name => "T$i" });
		push @rn, $t->post('/api/v1/auth/register', headers => { 'x-forwarded-for' => "198.51.100.23$i" },
		    json => { email => "new$i\@example.com", password => $pw, name => 'Ne W', company_name => "N$i" });
	}
	ok !grep({ $_->{status} != 202 } @rt, @rn), 'taken and new addresses: all 202';
	my $ratio = ParleyTest::paired_ratio([ $t->server_ms(@rt) ], [ $t->server_ms(@rn) ]);
	ok $ratio <= 1.5 && $ratio >= 1 / 1.5, sprintf('a taken address costs what a new one does: median pair ratio %.2f', $ratio);
}

# Password policy, with reasons.
my %weak = (
	'short' => 'too_short',
	'password1234' => 'too_common',
	'qwertyuiop123' => 'too_common',
	'aaaaaaaaaaaaaaaa' => 'too_common',
	('x' x 73) => 'too_long',
	'Bartholomew-2024' => 'contains_personal_data',
);
for my $p (sort keys %weak) {
	$r = $t->post('/api/v1/auth/register', headers => { 'x-forwarded-for' => '198.51.100.' . (1 + length $p) },
	    json => { email => q{weak@example.com}, password => $p, name => 'Bartholomew Quinn', company_name => 'W' });
	is $r->{status}, 422, "password '" . substr($p, 0, 16) . "' refused";
	is $r->{json}{errors}[0]{code}, $weak{$p}, "... because $weak{$p}";
	ok length($r->{json}{detail} // ''), '... with a reason a person can act on';
}
is $t->sql(q{SELECT count(*) AS n FROM signups WHERE lower(email) = 'weak@example.com'})->[0]{n}, 0,
    'nothing was stored for refused registrations';

# Verification of an address not yet proven (an account made before
# registration confirmed addresses): the link, sent again on request.
$t->sql('UPDATE users SET email_verified_at = NULL WHERE id = ?', $reg->{user}{id});
$r = $t->get('/api/v1/me', headers => { authorization => "Bearer $reg->{access_token}" });
is $r->{status}, 200, '/me with the access token';
is $r->{json}{user}{email_verified}, JSON::PP::false, 'unverified state visible in /me';
is $r->{json}{role}, 'owner', '/me: role';
is $r->{json}{company}{id}, $reg->{company}{id}, '/me: company';
is $r->{json}{mfa}{enabled}, JSON::PP::false, '/me: MFA state';
is $t->post('/api/v1/auth/email/resend', headers => { authorization => "Bearer $reg->{access_token}" })->{status}, 202,
    'the verification link sent again';
$mail = $t->wait_mail('Ann.Smith@example.com', qr/Confirm your e-mail/);
my ($vtok) = $mail->{body} =~ m{https://app\.parley\.test/verify-email#token=([A-Za-z0-9_-]{43})};
ok $vtok, 'the verification mail carries a link';
is $t->post('/api/v1/auth/email/verify', json => { token => $vtok })->{status}, 204, 'verification link works';
is $t->post('/api/v1/auth/email/verify', json => { token => $vtok })->{status}, 400, '... once';
$r = $t->get('/api/v1/me', headers => { authorization => "Bearer $reg->{access_token}" });
is $r->{json}{user}{email_verified}, JSON::PP::true, 'verified';

# Login.
sub login {
	my ($email, $pass, %o) = @_;
	return $t->post('/api/v1/auth/login', json => { email => $email, password => $pass, %{ $o{extra} // {} } },
	    headers => { 'x-forwarded-for' => $o{ip} // '203.0.113.10', 'user-agent' => 'tests/1' });
}
$r = login(' ann.smith@EXAMPLE.COM', $pw);
is $r->{status}, 200, 'login with any case and spacing of the address';
is $r->{json}{token_type}, 'Bearer', '... token_type Bearer';
is $r->{json}{expires_in}, 900, '... expires_in 900';
ok $r->{json}{access_token} && $r->{json}{refresh_token}, '... both tokens';
isnt $r->{json}{session_id}, $reg->{session_id}, 'login always starts a new session';

my $wrong = login('ann.smith@example.com', 'not-the-password-at-all', ip => '203.0.113.11');
my $unknown = login('nobody@example.com', 'not-the-password-at-all', ip => '203.0.113.12');
is $wrong->{status}, 401, 'wrong password: 401';
is $unknown->{status}, 401, 'unknown address: 401';
is $wrong->{json}{code}, 'invalid_credentials', 'same code';
is $unknown->{json}{code}, $wrong->{json}{code}, 'the two answers are the same';
is $unknown->{json}{title}, $wrong->{json}{title}, '... word for word';

# Timing: an unknown account costs a bcrypt as a wrong password does.
# parleyd's own time for each (its request log), in pairs measured back to
# back; the median pair within 1.5x either way. Without the dummy bcrypt
# the unknown account takes well under a tenth of the time.
my (@rw, @ru);
for my $i (1 .. 9) {
	push @rw, login('ann.smith@example.com', "wrong-password-$i", ip => "192.0.2.$i");
	push @ru, login("nobody$i\@example.com", "wrong-password-$i", ip => "192.0.2.1$i");
}
my @tw = $t->server_ms(@rw);
my @tu = $t->server_ms(@ru);
my $ratio = ParleyTest::paired_ratio(\@tw, \@tu);
ok $ratio <= 1.5 && $ratio >= 1 / 1.5, sprintf('wrong password vs unknown account, parleyd\'s time: median pair ratio %.2f (%s vs %s ms)',
    $ratio, join('/', map { sprintf '%.0f', $_ } @tw[0 .. 2]), join('/', map { sprintf '%.0f', $_ } @tu[0 .. 2]));

# Passwords over 72 bytes never match (bcrypt would cut them).
$r = login('ann.smith@example.com', $pw . ('x' x 60), ip => '203.0.113.20');
is $r->{status}, 401, 'a password with extra bytes past 72 does not log in';

# Hashes made by another bcrypt implementation (python3-bcrypt) log in.
my $py = `/usr/bin/python3 -c 'import bcrypt,sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(10, prefix=b"2a")).decode())' '$pw'`;
chomp $py;
like $py, qr/^\$2a\$10\$/, 'python3-bcrypt made a $2a$ hash';
$t->sql('UPDATE users SET password_hash = ? WHERE id = ?', $py, $reg->{user}{id});
is login('ann.smith@example.com', $pw, ip => '203.0.113.21')->{status}, 200, 'a $2a$ hash from python3-bcrypt verifies';
my $ours = $row->{password_hash};
my $ok = `/usr/bin/python3 -c 'import bcrypt,sys; print(bcrypt.checkpw(sys.argv[1].encode(), sys.argv[2].encode()))' '$pw' '$ours'`;
like $ok, qr/True/, 'and python3-bcrypt accepts our $2b$ hash';

# Security events.
my $events = $t->sql('SELECT kind FROM security_events ORDER BY created_at');
my %kinds = map { $_->{kind} => 1 } @$events;
ok $kinds{$_}, "security event $_ recorded" for qw(register email_verified login_success login_failure);
ok !grep({ ($_->{ip} // '') eq '' } @{ $t->sql(q{SELECT ip FROM security_events WHERE kind LIKE 'login%'}) }),
    'login events carry the client address';

# One's own profile: PATCH /me changes the name, audited without it.
{
	my $l = login('ann.smith@example.com', $pw, ip => '203.0.113.22');
	my $h = { authorization => "Bearer $l->{json}{access_token}" };
	my $r = $t->request('PATCH', '/api/v1/me', headers => $h, json => { name => 'Ann Smith-Jones' });
	is $r->{status}, 200, 'PATCH /me renames oneself';
	is $r->{json}{user}{name}, 'Ann Smith-Jones', '... and answers the new profile';
	is $t->get('/api/v1/me', headers => $h)->{json}{user}{name}, 'Ann Smith-Jones', '... as GET /me has it';
	my $a = $t->sql(q{SELECT changed_fields::text AS f, changes::text AS c, resource_id FROM audit_log WHERE action = 'user.profile_update'});
	is scalar @$a, 1, '... audited once';
	is $a->[0]{f}, '["name"]', '... naming the field';
	unlike(($a->[0]{c} // '') . $a->[0]{f}, qr/Smith-Jones/, '... never its value');
	is $t->request('PATCH', '/api/v1/me', headers => $h, json => { name => 'Ann Smith-Jones' })->{status}, 200, 'the same name again: 200';
	is scalar @{ $t->sql(q{SELECT 1 FROM audit_log WHERE action = 'user.profile_update'}) }, 1, '... and nothing audited';
	is $t->request('PATCH', '/api/v1/me', headers => $h, json => { name => '' })->{status}, 422, 'an empty name: 422';
	is $t->request('PATCH', '/api/v1/me', headers => $h, json => { name => 'x' x 201 })->{status}, 422, 'a name over 200 characters: 422';
	is $t->request('PATCH', '/api/v1/me', headers => $h, json => { email => 'other@example.com' })->{json}{code}, 'validation_failed',
	    'the address cannot be changed this way';
	is $t->get('/api/v1/me', headers => $h)->{json}{user}{name}, 'Ann Smith-Jones', '... and a rejected request changed nothing';
}

done_testing;
