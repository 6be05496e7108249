# Attacks on authentication that the straightforward tests miss: spelling
# variants of an address, concurrent guesses, over-long passwords as an
# oracle, IPv6 address rotation, captcha-less lockout of a reset, guessing
# through MFA disable, tokens of the wrong kind, and races on single-use
# secrets.
use strict;
use warnings;
use Test::More;
use POSIX ();
use Time::HiRes qw(time);
use ParleyTest;

# bcrypt at the default cost (12), so it, not scheduling noise, dominates
# the timing comparison.
my $t = ParleyTest->new(workers => 4, captcha => 1, smtp => 1, env => { PARLEY_BCRYPT_COST => 12 });
my $pw = 'tangerine-orbit-velvet-42';
my $n = 0;
sub ip { $n++; return "198.51.100." . ($n % 250 + 1) }

sub register {
	my ($email) = @_;
	my $r = $t->signup(headers => { 'x-forwarded-for' => "203.0.113." . (++$n % 250) },
	    json => { email => $email, password => $pw, name => 'Vic Tim', company_name => 'Target', captcha_token => 'pass' });
	die "register $email: $r->{content}" unless $r->{status} == 201;
	return $r->{json};
}
sub login {
	my ($email, $pass, %o) = @_;
	return $t->post('/api/v1/auth/login', headers => { 'x-forwarded-for' => $o{ip} // ip() },
	    json => { email => $email, password => $pass, %{ $o{extra} // {} } });
}
# parallel(@subs): runs each sub in its own process at once; their return
# values (strings), in order.
sub parallel {
	my @subs = @_;
	my @pipes;
	for my $s (@subs) {
		pipe(my $r, my $w) or die;
		my $pid = fork // die;
		if (!$pid) {
			close $r;
			$t->{http} = undef;
			print $w $s->();
			close $w;
			POSIX::_exit(0); # never run the harness's END in a child
		}
		close $w;
		push @pipes, [$pid, $r];
	}
	return map { my ($pid, $r) = @$_; local $/; my $v = <$r>; waitpid($pid, 0); $v } @pipes;
}

# 1. Spelling variants of an address share one account budget.
register('victim@example.com');
is login('victim@example.com', "wrong-password-$_")->{status}, 401, "failure $_" for 1 .. 5;
is login('VICTIM@example.com', $pw)->{status}, 429, 'upper-case local part: the same locked account';
is login('Victim@EXAMPLE.com ', $pw)->{status}, 429, 'mixed case and spaces: the same';

# 2. Concurrent guesses cannot outrun the budget: 4 failures, then 6 at once.
register('race@example.com');
login('race@example.com', "wrong-password-$_") for 1 .. 4;
my @st = parallel(map { my $i = $_; sub { login('race@example.com', $i == 6 ? $pw : "wrong-guess-$i")->{status} } } 1 .. 6);
is scalar(grep { $_ != 429 } @st), 1, "one budget slot left, one of six concurrent guesses checked (@st)";

# 3. Over-long passwords are no oracle: the same bcrypt for known and unknown.
register('timing@example.com');
register('timing2@example.com');
# parleyd's own time, in pairs back to back (t/lib/ParleyTest.pm,
# paired_ratio): the median pair within 1.5x either way.
my (@rk, @ru);
for my $i (1 .. 8) {
	my $long = ('x' x 70) . "-$i-" . ('y' x 10);
	# Two known accounts in turn, so neither reaches its budget of 5.
	push @rk, login($i % 2 ? 'timing@example.com' : 'timing2@example.com', $long);
	push @ru, login("nobody-$i\@example.com", $long);
}
my @k = $t->server_ms(@rk);
my @u = $t->server_ms(@ru);
my $ratio = ParleyTest::paired_ratio(\@k, \@u);
ok $ratio <= 1.5 && $ratio >= 1 / 1.5, sprintf('80-byte password: known vs unknown, parleyd\'s time: median pair ratio %.2f', $ratio);

# 4. IPv6: one /64 is one client.
my @v6 = map { login("v6-$_\@example.com", 'wrong-password-x', ip => "2001:db8:1:2::$_")->{status} } 1 .. 6;
is_deeply \@v6, [401, 401, 401, 401, 401, 429], 'six addresses of one IPv6 /64: the 6th is limited';
is login('v6-7@example.com', 'wrong-password-x', ip => '2001:db8:1:3::1')->{status}, 401, 'another /64 is another client';

# 5. No captcha, no charge: a reset cannot be blocked without solving one.
register('reset@example.com');
for my $i (1 .. 3) {
	my $r = $t->post('/api/v1/auth/password/forgot', headers => { 'x-forwarded-for' => ip() },
	    json => { email => 'reset@example.com', captcha_token => 'wrong' });
	is $r->{status}, 400, "attacker's reset request $i without a valid captcha: 400";
}
is $t->post('/api/v1/auth/password/forgot', headers => { 'x-forwarded-for' => ip() },
    json => { email => 'reset@example.com', captcha_token => 'pass' })->{status}, 202,
    "the owner's own request still goes through";

# 6. Tokens are bound to their kind: a signup link is no reset link.
my $mail = $t->wait_mail('race@example.com', qr/finish signing up/i);
my ($vtok) = $mail->{body} =~ /#token=([A-Za-z0-9_-]{43})/;
is $t->post('/api/v1/auth/password/reset', json => { token => $vtok, password => 'brand-new-phrase-for-me' })->{status}, 400,
    'a signup token used as a reset token: 400';

# 7. Refresh race: two concurrent uses of one refresh token end the session.
my $s = login('timing@example.com', $pw)->{json};
ok $s->{refresh_token}, 'logged in';
@st = sort(parallel(map { sub { $t->post('/api/v1/auth/refresh', json => { refresh_token => $s->{refresh_token} })->{status} } } 1 .. 2));
ok $st[1] == 401, "two concurrent refreshes of one token: at most one succeeds (@st)";
is $t->get('/api/v1/me', headers => { authorization => "Bearer $s->{access_token}" })->{status}, 401,
    '... and the session is over (no second branch)';

# 8. MFA: one recovery code, four concurrent logins: exactly one gets in;
# disabling MFA is a guess like a login and is limited.
my $m = login('victim@example.com', $pw, ip => '192.0.2.200');
$t->sql(q{DELETE FROM rate_events});
$m = login('victim@example.com', $pw)->{json};
my $auth = { authorization => "Bearer $m->{access_token}" };
my $secret = $t->post('/api/v1/auth/mfa/totp/setup', headers => $auth)->{json}{secret};
# The current step's code: still in the window if a step boundary passes.
my $now = time;
my $code = `oathtool --totp -b --now='\@$now' $secret`;
chomp $code;
my $codes = $t->post('/api/v1/auth/mfa/totp/enable', headers => $auth, json => { code => $code })->{json}{recovery_codes};
is scalar(@$codes), 10, 'MFA on';
@st = parallel(map { sub { login('victim@example.com', $pw, extra => { totp_code => $codes->[0] })->{status} } } 1 .. 4);
is scalar(grep { $_ == 200 } @st), 1, "one recovery code, four concurrent logins: exactly one succeeds (@st)";
$t->sql(q{DELETE FROM rate_events}); # the failed concurrent logins counted too
my @d = map { $t->post('/api/v1/auth/mfa/totp/disable', headers => $auth, json => { password => $pw, code => sprintf('%06d', $_) })->{status} } 1 .. 6;
is_deeply [@d[0 .. 4]], [403, 403, 403, 403, 403], 'wrong codes to disable MFA: 403';
is $d[5], 429, 'and the guesses are limited like logins';

done_testing;
