# Password reset and change, TOTP with recovery codes, and no secret in
# any log (parleyd, nginx, PostgreSQL) after all of it.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;
use feature 'state';

my $t = ParleyTest->new(smtp => 1, env => { PARLEY_LOGIN_MAX_PER_ACCOUNT => 50 });
my @secrets;
my $pw = 'tangerine-orbit-velvet-42';
push @secrets, $pw;
my $email = 'mia.mfa@example.org';

my $reg = $t->signup(json => { email => $email, password => $pw, name => 'Mia Mfa',
    company_name => 'Factor Inc' })->{json};
ok $reg->{access_token}, 'registered';
push @secrets, $reg->{access_token}, $reg->{refresh_token};
my $auth = { authorization => "Bearer $reg->{access_token}" };

sub login {
	my ($pass, %extra) = @_;
	state $n = 0;
	$n++;
	return $t->post('/api/v1/auth/login', headers => { 'x-forwarded-for' => "203.0.113.$n" },
	    json => { email => $email, password => $pass, %extra });
}

# Forgot: 202 whether or not the account exists; the link arrives by mail.
my $r = $t->post('/api/v1/auth/password/forgot', json => { email => 'nobody@example.org' });
is $r->{status}, 202, 'forgot, unknown address: 202';
my $known = $t->post('/api/v1/auth/password/forgot', json => { email => uc $email });
is $known->{status}, 202, 'forgot, known address: 202';
is_deeply $known->{json}, $r->{json}, '... the same body';
my $mail = $t->wait_mail($email, qr/Reset your parley password/);
my ($rtok) = $mail->{body} =~ m{/reset-password#token=([A-Za-z0-9_-]{43})};
ok $rtok, 'reset mail carries a single-use link';
push @secrets, $rtok;
like $mail->{head}, qr/^From: noreply\@parley\.test\r?$/m, 'from the configured sender';
like $mail->{head}, qr{^Content-Type: text/plain; charset=utf-8\r?$}m, 'plain text';
ok !grep({ $_->{to} eq 'nobody@example.org' } $t->mails), 'nothing is sent for an unknown address';
is $t->sql(q{SELECT count(*) AS n FROM auth_tokens WHERE kind = 'password_reset'})->[0]{n}, 1, 'one reset token stored';

# Reset: policy applies, link works once, every session ends.
my $other = login($pw)->{json};
$r = $t->post('/api/v1/auth/password/reset', json => { token => $rtok, password => 'password1234' });
is $r->{status}, 422, 'a weak new password is refused';
my $newpw = 'marmalade-cobalt-trellis-77';
push @secrets, $newpw;
$r = $t->post('/api/v1/auth/password/reset', json => { token => $rtok, password => $newpw });
is $r->{status}, 204, '... the link still works for a good one';
is $t->post('/api/v1/auth/password/reset', json => { token => $rtok, password => $newpw . 'x' })->{status}, 400,
    'the link works once';
is $t->get('/api/v1/me', headers => $auth)->{status}, 401, 'reset ended the existing sessions';
is $t->get('/api/v1/me', headers => { authorization => "Bearer $other->{access_token}" })->{status}, 401, '... all of them';
is login($pw)->{status}, 401, 'the old password no longer works';
my $s = login($newpw)->{json};
ok $s->{access_token}, 'the new one does';
push @secrets, $s->{access_token}, $s->{refresh_token};
$auth = { authorization => "Bearer $s->{access_token}" };

# An expired link (backdated) is refused.
$t->post('/api/v1/auth/password/forgot', json => { email => $email });
my @resets;
ParleyTest::wait_for(sub { @resets = grep { $_->{subject} =~ /Reset/ } $t->mails; @resets >= 2 }, 'second reset mail');
my ($rtok2) = $resets[-1]{body} =~ m{#token=([A-Za-z0-9_-]{43})};
push @secrets, $rtok2;
$t->sql(q{UPDATE auth_tokens SET expires_at = now() - interval '1 second' WHERE kind = 'password_reset' AND used_at IS NULL});
is $t->post('/api/v1/auth/password/reset', json => { token => $rtok2, password => 'another-fine-phrase-here' })->{status}, 400,
    'an expired link is refused';

# Change: needs the current password, ends the other sessions unless asked not to.
my $s2 = login($newpw)->{json};
push @secrets, $s2->{access_token}, $s2->{refresh_token};
$r = $t->post('/api/v1/auth/password/change', headers => $auth, json => { current_password => 'wrong-password-here', new_password => 'lantern-quartz-meadow-19' });
is $r->{status}, 403, 'change with a wrong current password: 403';
my $newer = 'lantern-quartz-meadow-19';
push @secrets, $newer;
$r = $t->post('/api/v1/auth/password/change', headers => $auth, json => { current_password => $newpw, new_password => $newer });
is $r->{status}, 200, 'change: 200';
is $r->{json}{sessions_ended}, 1, '... ending the other session';
is $t->get('/api/v1/me', headers => $auth)->{status}, 200, 'this session lives on';
is $t->get('/api/v1/me', headers => { authorization => "Bearer $s2->{access_token}" })->{status}, 401, 'the other is over';
my $s3 = login($newer)->{json};
$r = $t->post('/api/v1/auth/password/change', headers => $auth,
    json => { current_password => $newer, new_password => 'saffron-glacier-piano-08', end_other_sessions => JSON::PP::false });
push @secrets, 'saffron-glacier-piano-08';
is $r->{json}{sessions_ended}, 0, 'asked to keep other sessions: none ended';
is $t->get('/api/v1/me', headers => { authorization => "Bearer $s3->{access_token}" })->{status}, 200, '... the other still works';
$newer = 'saffron-glacier-piano-08';

# TOTP: setup, enable with an oathtool code, login needs a code.
$r = $t->post('/api/v1/auth/mfa/totp/setup', headers => $auth);
is $r->{status}, 200, 'TOTP setup';
my $secret = $r->{json}{secret};
push @secrets, $secret;
like $secret, qr/^[A-Z2-7]{32}$/, 'a 160-bit base32 secret';
like $r->{json}{otpauth_uri}, qr{^otpauth://totp/parley:mia\.mfa\@example\.org\?secret=\Q$secret\E&issuer=parley}, 'and an otpauth URI';
# The QR code, as an app's camera reads it: drawn as a PBM image with a
# quiet zone of 4 modules, read by zbarimg (zbar-tools, from Debian).
{
	my $rows = $r->{json}{qr};
	my $w = @$rows;
	ok $w >= 21 && $w <= 177 && ($w - 17) % 4 == 0 && !grep({ !/^[01]{$w}$/ } @$rows), "a QR code of $w x $w modules";
	my $scale = 4;
	my $size = ($w + 8) * $scale;
	my $pbm = $t->dir . '/qr.pbm';
	open my $img, '>', $pbm or die;
	print $img "P1\n$size $size\n";
	for my $y (-4 .. $w + 3) {
		my $line = join ' ', map { my $x = $_; ($y >= 0 && $y < $w && $x >= 0 && $x < $w) ? substr($rows->[$y], $x, 1) : 0 } -4 .. $w + 3;
		$line = join ' ', map { ($_) x $scale } split / /, $line;
		print $img "$line\n" for 1 .. $scale;
	}
	close $img;
	chomp(my $read = `zbarimg --raw -q '$pbm' 2>/dev/null`);
	is $read, $r->{json}{otpauth_uri}, '... that reads as the otpauth URI';
	unlink $pbm;
}
unlike $t->sql('SELECT totp_pending_enc AS s FROM users')->[0]{s}, qr/\Q$secret\E/, 'stored encrypted';
like $t->sql('SELECT totp_pending_enc AS s FROM users')->[0]{s}, qr/^v1\.k1\./, '... with its key id';

sub otp {
	my ($offset) = @_;
	my $now = time + ($offset // 0);
	my $code = `oathtool --totp -b --now='\@$now' $secret`;
	chomp $code;
	return $code;
}
# Codes of an earlier step than ones already accepted are refused, so the
# test uses the current step, then the next one (within the window).
is $t->post('/api/v1/auth/mfa/totp/enable', headers => $auth, json => { code => '12345' })->{status}, 400, 'five digits: refused';
is $t->post('/api/v1/auth/mfa/totp/enable', headers => $auth, json => { code => '1234567' })->{status}, 400, 'seven digits: refused';
# The previous step's code is in the window only while the step it was
# computed in lasts: near a step's end, wait for the next step to begin
# (a clock condition, not a readiness guess), so the request cannot land
# two steps later.
sleep 30 - time % 30 if time % 30 >= 25;
my $c0 = otp(-30);
$r = $t->post('/api/v1/auth/mfa/totp/enable', headers => $auth, json => { code => $c0 });
is $r->{status}, 200, 'enabled with a code from oathtool (previous step, within the window)';
my @codes = @{ $r->{json}{recovery_codes} // [] };
is scalar(@codes), 10, 'ten recovery codes';
like $codes[0], qr/^[a-km-np-z2-9]{4}(-[a-km-np-z2-9]{4}){3}$/, 'readable codes of 16 symbols (80 bits)';
push @secrets, @codes;
is $t->sql('SELECT count(*) AS n FROM mfa_recovery_codes')->[0]{n}, 10, 'stored (hashed)';
{
	use Digest::SHA qw(sha256_hex);
	my %stored = map { $_->{h} => 1 } @{ $t->sql(q{SELECT encode(code_hash, 'hex') AS h FROM mfa_recovery_codes}) };
	is scalar(grep { $stored{ sha256_hex($_ =~ s/-//gr) } } @codes), 10, '... as SHA-256 of the code, not the code';
}

$r = login($newer);
is $r->{status}, 401, 'login without a code';
is $r->{json}{code}, 'mfa_required', '... mfa_required';
is login($newer, totp_code => '000000')->{json}{code}, 'mfa_invalid', 'a wrong code: mfa_invalid';
is login($newer, totp_code => $c0)->{json}{code}, 'mfa_invalid', 'the step used to enable is spent';
my $c1 = otp(0);
$r = login($newer, totp_code => $c1);
is $r->{status}, 200, 'the current code logs in';
is login($newer, totp_code => $c1)->{json}{code}, 'mfa_invalid', 'the same code again: refused (no replay)';
$r = login($newer, totp_code => $codes[0]);
is $r->{status}, 200, 'a recovery code works in place of a code';
is login($newer, totp_code => $codes[0])->{json}{code}, 'mfa_invalid', '... once';
is login($newer, totp_code => uc($codes[1]) =~ s/-//r)->{status}, 200, 'recovery codes ignore case and dashes';
is $t->get('/api/v1/me', headers => $auth)->{json}{mfa}{enabled}, JSON::PP::true, '/me shows MFA on';

# Disable: needs the password and a code.
is $t->post('/api/v1/auth/mfa/totp/disable', headers => $auth, json => { password => 'wrong-password-here', code => $codes[2] })->{status}, 403,
    'disable with a wrong password: refused';
is $t->post('/api/v1/auth/mfa/totp/disable', headers => $auth, json => { password => $newer, code => '111111' })->{status}, 403,
    'disable with a wrong code: refused';
is $t->post('/api/v1/auth/mfa/totp/disable', headers => $auth, json => { password => $newer, code => $codes[2] })->{status}, 204,
    'disable with password and a recovery code';
is login($newer)->{status}, 200, 'login needs no code any more';
is $t->sql('SELECT count(*) AS n FROM mfa_recovery_codes')->[0]{n}, 0, 'recovery codes deleted';

my %kinds = map { $_->{kind} => 1 } @{ $t->sql('SELECT kind FROM security_events') };
ok $kinds{$_}, "security event $_" for qw(password_reset_requested password_reset password_change mfa_enabled mfa_disabled login_failure);
my $ev = $t->sql('SELECT detail::text AS d, user_agent FROM security_events')->[0];

# No secret in any log: parleyd's, nginx's, PostgreSQL's, the events.
push @secrets, $t->jwt_key_b64, $t->{secrets}{keyring};
my $logs = join "\n", $t->slurp('parleyd.log'), $t->slurp('nginx/access.log'), $t->slurp('nginx/nginx-error.log'),
    do { local (@ARGV, $/) = ($t->pg->{log}); <> // '' },
    join("\n", map { $_->{d} } @{ $t->sql('SELECT detail::text AS d FROM security_events') });
cmp_ok length($logs), '>', 1000, 'logs were collected';
for my $sec (@secrets) {
	next unless defined $sec && length $sec >= 8;
	my $shown = substr($sec, 0, 6) . '…';
	unlike $logs, qr/\Q$sec\E/, "secret $shown appears in no log";
}
unlike $logs, qr/reset-password#token=/, 'no reset link in any log';

done_testing;
