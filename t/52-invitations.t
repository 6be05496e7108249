# Invitations: e-mailed single-use tokens valid 7 days, accepted into the
# inviting company with the invited role; revocable; audited without the
# address.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;

my $t = ParleyTest->new(smtp => 1, env => { PARLEY_INVITE_MAX_PER_COMPANY => 10 });
my $pw = 'tangerine-orbit-velvet-42';
my $n = 0;
sub reg {
	my ($email, $co) = @_;
	return $t->signup(headers => { 'x-forwarded-for' => '203.0.113.' . ++$n },
	    json => { email => $email, password => $pw, name => 'Ina Inviter', company_name => $co })->{json};
}
my $own = reg('boss@inv.example', 'Inviters');
my $other = reg('boss@elsewhere.example', 'Elsewhere');
my $auth = { authorization => "Bearer $own->{access_token}" };
sub invite { my ($email, $role, $h) = @_; $t->post('/api/v1/invitations', headers => $h // $auth, json => { email => $email, role => $role }) }
sub token_for {
	my ($to) = @_;
	my @m;
	ParleyTest::wait_for(sub { @m = grep { $_->{to} eq $to && $_->{subject} =~ /invited/ } $t->mails; @m }, "invitation to $to");
	my ($tok) = $m[-1]{body} =~ m{/accept-invitation#token=([A-Za-z0-9_-]{43})};
	return $tok;
}
sub join_with { my ($tok, $p) = @_; $t->post('/api/v1/invitations/accept', headers => { 'x-forwarded-for' => '198.51.100.' . ++$n },
    json => { token => $tok, name => 'New Person', password => $p // $pw }) }

my $r = invite(' Newbie@Inv.EXAMPLE ', 'member');
is $r->{status}, 201, 'owner invites a member';
is $r->{json}{email}, 'Newbie@inv.example', '... address normalised';
my $inv_id = $r->{json}{id};
my $tok = token_for('Newbie@inv.example');
ok $tok, 'the invitation arrives by e-mail with a link';
my ($im) = grep { $_->{to} eq 'Newbie@inv.example' && $_->{subject} =~ /invited/ } $t->mails;
like $im->{body}, qr/^Ina Inviter \(boss\@inv\.example\) invited you to join Inviters on parley\./m,
    '... naming who invited and the company';
is invite('newbie@inv.example', 'admin')->{json}{code}, 'already_invited', 'one open invitation per address';
# Whether an address has an account in another company is not the
# inviter's to learn: it is invited like any other; its holder is told.
$r = invite('boss@elsewhere.example', 'member');
is $r->{status}, 201, 'an address with an account elsewhere is invited like any other';
my $elsewhere_id = $r->{json}{id};
is invite('boss@inv.example', 'member')->{json}{code}, 'already_member', "one of the company's own members: already_member";
is invite('x@inv.example', 'superuser')->{status}, 422, 'an unknown role: 422';

$r = $t->get('/api/v1/invitations', headers => $auth);
is $r->{status}, 200, 'open invitations listed';
is scalar(@{ $r->{json}{items} }), 2, '... two';

$r = join_with($tok, 'password1234');
is $r->{status}, 422, 'a weak password is refused';
$r = join_with($tok);
is $r->{status}, 201, 'accepted: a token pair';
my $me = $t->get('/api/v1/me', headers => { authorization => "Bearer $r->{json}{access_token}" })->{json};
is $me->{company}{id}, $own->{company}{id}, 'the new user belongs to the inviting company';
is $me->{role}, 'member', '... with the invited role';
is $me->{user}{email_verified}, JSON::PP::true, '... their address proven by the link';
is join_with($tok)->{status}, 400, 'the link works once';
ok !grep({ $_->{id} eq $inv_id } @{ $t->get('/api/v1/invitations', headers => $auth)->{json}{items} }), 'no longer open';

my $x = join_with(token_for('boss@elsewhere.example'));
is $x->{status}, 409, 'accepting with an address that has an account elsewhere: 409';
is $x->{json}{code}, 'email_taken', '... email_taken';
like $x->{json}{detail}, qr/another company/, '... saying plainly that it belongs to another company';
ok grep({ $_->{id} eq $elsewhere_id } @{ $t->get('/api/v1/invitations', headers => $auth)->{json}{items} }),
    '... and the invitation stays open';
is $t->request('DELETE', "/api/v1/invitations/$elsewhere_id", headers => $auth)->{status}, 204, '(revoked)';

# A member may not invite; an admin may not invite an owner.
my $mauth = { authorization => "Bearer $r->{json}{access_token}" };
is invite('y@inv.example', 'member', $mauth)->{status}, 403, 'a member cannot invite';
$t->sql(q{UPDATE users SET role = 'admin' WHERE id = ?}, $me->{user}{id});
is invite('y@inv.example', 'owner', $mauth)->{json}{code}, 'owner_required', 'an admin cannot invite an owner';

# Revoked and expired invitations do not work.
$r = invite('rev@inv.example', 'member');
my $rtok = token_for('rev@inv.example');
is $t->request('DELETE', "/api/v1/invitations/$r->{json}{id}", headers => $auth)->{status}, 204, 'revoked';
is join_with($rtok)->{status}, 400, 'a revoked invitation cannot be accepted';
is $t->request('DELETE', "/api/v1/invitations/$r->{json}{id}", headers => $auth)->{status}, 404, 'revoking twice: 404';
my $foreign = $t->post('/api/v1/invitations', headers => { authorization => "Bearer $other->{access_token}" },
    json => { email => 'them@elsewhere.example', role => 'member' })->{json}{id};
is $t->request('DELETE', "/api/v1/invitations/$foreign", headers => $auth)->{status}, 404, "another company's invitation: 404";
is scalar(@{ $t->get('/api/v1/invitations', headers => { authorization => "Bearer $other->{access_token}" })->{json}{items} }), 1,
    '... and it is still open there';
invite('late@inv.example', 'member');
my $ltok = token_for('late@inv.example');
$t->backdate('invitations', 'expires_at', '8 days', q{email = 'late@inv.example'});
is join_with($ltok)->{status}, 400, 'an expired invitation (7 days) cannot be accepted';
is join_with('A' x 43)->{status}, 400, 'an unknown token: 400';

# Audited, without the address.
my $log = $t->sql(q{SELECT action, changed_fields::text AS f, coalesce(changes::text, '') AS c FROM audit_log WHERE company_id = ? ORDER BY seq},
    $own->{company}{id});
my %n;
$n{ $_->{action} }++ for @$log;
is $n{'invitation.create'}, 4, 'creations audited';
is $n{'invitation.revoke'}, 2, 'the revocations audited';
is $n{'invitation.accept'}, 1, 'the acceptance audited';
ok !grep({ "$_->{f} $_->{c}" =~ /\@/ } @$log), 'no e-mail address in the audit log';

# Invitation mail is budgeted per address (from any company) and per
# company, revoked invitations included: no loop of invite and revoke
# floods a mailbox.
my @st;
for (1 .. 5) {
	my $x = invite('flood@victim.example', 'member');
	push @st, $x->{status};
	$t->request('DELETE', "/api/v1/invitations/$x->{json}{id}", headers => $auth) if $x->{status} == 201;
}
is "@st", '201 201 201 429 429', 'invite + revoke to one address: three, then 429';
$r = invite('flood@victim.example', 'member');
ok $r->{json}{retry_after} > 0 && $r->{headers}{'retry-after'}, '... with Retry-After';
my $oauth = { authorization => "Bearer $other->{access_token}" };
# Another company is not told what others did: its invitation is made
# and answered as any other, but the address gets no more mail today.
$r = invite('Flood@victim.example', 'member', $oauth);
is $r->{status}, 201, '... from another company: answered as any invitation (201), however the address is spelt';
$t->request('DELETE', "/api/v1/invitations/$r->{json}{id}", headers => $oauth);
ParleyTest::wait_for(sub { 3 == grep { $_->{to} eq 'flood@victim.example' } $t->mails }, 'three invitation mails');
ParleyTest::wait_for(sub { !$t->sql(q{SELECT count(*) AS n FROM jobs WHERE done_at IS NULL AND failed_at IS NULL})->[0]{n} },
    'the mail queue drained');
is scalar(grep { $_->{to} =~ /^flood\@victim\.example$/i } $t->mails), 3, '... and no more mail went to that address, from any company';
@st = map {
	my $x = invite("team$_\@elsewhere.example", 'member', $oauth);
	$t->request('DELETE', "/api/v1/invitations/$x->{json}{id}", headers => $oauth) if $x->{status} == 201;
	$x->{status};
} 1 .. 10;
is "@st", join(' ', ('201') x 8, '429', '429'), 'a company sends at most invite_max_per_company invitations per window';

done_testing;
