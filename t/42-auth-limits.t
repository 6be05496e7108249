# Rate limits held in PostgreSQL (across workers), and the captcha.
use strict;
use warnings;
use Test::More;
use ParleyTest;

my $t = ParleyTest->new(workers => 3, captcha => 1);
my $pw = 'tangerine-orbit-velvet-42';

sub register {
	my ($email, $ip, $captcha) = @_;
	return $t->signup(headers => { 'x-forwarded-for' => $ip },
	    json => { email => $email, password => $pw, name => 'Rita Limit', company_name => 'Limits',
	        defined $captcha ? (captcha_token => $captcha) : () });
}

# Captcha (configured here): checked against the fake siteverify.
my $r = register('nocaptcha@example.com', '198.51.100.1');
is $r->{status}, 400, 'registration without a captcha token: 400';
is $r->{json}{code}, 'captcha_failed', '... captcha_failed';
is register('bad@example.com', '198.51.100.2', 'wrong')->{json}{code}, 'captcha_failed', 'a rejected token: captcha_failed';
is register('low@example.com', '198.51.100.3', 'low')->{json}{code}, 'captcha_failed', 'a v3 score under the threshold: refused';
$r = register('first@example.com', '198.51.100.4', 'pass');
is $r->{status}, 201, 'a passing token: registered';
like $t->slurp('captcha.log'), qr/^pass 198\.51\.100\.4$/m, 'the fake saw the token and the client address';
unlike $t->slurp('captcha.log'), qr/captcha-secret/, '... (it logs no secret)';

# Registration: 3 per 30 minutes per address.
my @st = map { register("reg$_\@example.com", '198.51.100.50', 'pass')->{status} } 1 .. 4;
is_deeply \@st, [201, 201, 201, 429], 'the 4th registration from one address in 30 minutes: 429';
is register('other@example.com', '198.51.100.51', 'pass')->{status}, 201, 'another address may still register';

# Login: 5 attempts per 15 minutes per address, across workers.
sub login {
	my ($email, $pass, $ip) = @_;
	return $t->post('/api/v1/auth/login', headers => { 'x-forwarded-for' => $ip },
	    json => { email => $email, password => $pass });
}
my @ids;
for my $i (1 .. 5) {
	my $x = login("nobody$i\@example.com", 'wrong-password-here', '203.0.113.77');
	is $x->{status}, 401, "attempt $i from one address: 401";
	push @ids, $x->{headers}{'x-request-id'};
}
$r = login('first@example.com', $pw, '203.0.113.77');
is $r->{status}, 429, 'the 6th attempt within 15 minutes: 429, even with the right password';
like $r->{headers}{'retry-after'}, qr/^\d+$/, '... with Retry-After';
cmp_ok $r->{headers}{'retry-after'}, '<=', 900, '... at most the window';
is $r->{json}{code}, 'rate_limited', '... code rate_limited';
my %pid_of = map { ($_->{req_id} // '') => $_->{pid} } grep { $_->{event} eq 'request' } $t->log_events;
my %workers = map { $pid_of{$_} => 1 } grep { $pid_of{$_} } @ids;
cmp_ok scalar(keys %workers), '>=', 2, 'the five attempts were answered by ' . scalar(keys %workers) . ' different workers'
    or diag explain \%pid_of;
is login('first@example.com', $pw, '203.0.113.78')->{status}, 200, 'another address is not affected';

# Login: 5 failures per 15 minutes per account, whatever the address.
for my $i (1 .. 5) {
	is login('first@example.com', 'wrong-password-here', "192.0.2.$i")->{status}, 401, "failure $i on the account";
}
$r = login('first@example.com', $pw, '192.0.2.99');
is $r->{status}, 429, 'the account is locked after 5 failures, even with the right password';
ok scalar(@{ $t->sql(q{SELECT 1 FROM security_events WHERE kind = 'login_locked'}) }), 'lockout recorded as a security event';

# Successful logins do not consume the account budget.
for my $i (1 .. 7) {
	is login('reg1@example.com', $pw, "192.0.2.1$i")->{status}, 200, "successful login $i";
}
is login('reg1@example.com', 'wrong-password-here', '192.0.2.40')->{status}, 401, 'a failure after them is still just a 401';

# After the window (backdated), the account can log in again.
$t->sql(q{UPDATE rate_events SET at = at - interval '16 minutes'});
is login('first@example.com', $pw, '192.0.2.100')->{status}, 200, 'the window passed: login works again';

# Password reset: 3 per hour per account, and per address.
sub forgot {
	my ($email, $ip) = @_;
	return $t->post('/api/v1/auth/password/forgot', headers => { 'x-forwarded-for' => $ip },
	    json => { email => $email, captcha_token => 'pass' });
}
@st = map { forgot('reg2@example.com', "192.0.2.20$_")->{status} } 1 .. 4;
is_deeply \@st, [202, 202, 202, 429], 'the 4th reset request for one account in an hour: 429';
@st = map { forgot("x$_\@example.com", '192.0.2.250')->{status} } 1 .. 4;
is_deeply \@st, [202, 202, 202, 429], 'the 4th reset request from one address in an hour: 429';
is forgot('reg3@example.com', '192.0.2.251')->{status}, 202, 'others are not affected';
$r = $t->post('/api/v1/auth/password/forgot', headers => { 'x-forwarded-for' => '192.0.2.252' },
    json => { email => 'reg4@example.com' });
is $r->{json}{code}, 'captcha_failed', 'password reset requires the captcha too';

# The counters live in PostgreSQL, keyed: a plain SHA-256 of a bucket name
# (which would give the address away to a dictionary) is never stored.
{
	use Digest::SHA qw(sha256_hex);
	my %stored = map { $_->{b} => 1 } @{ $t->sql(q{SELECT encode(bucket, 'hex') AS b FROM rate_events}) };
	cmp_ok scalar(keys %stored), '>', 5, 'buckets are stored';
	ok !$stored{ sha256_hex('login:ip:203.0.113.77') } && !$stored{ sha256_hex('register:ip:198.51.100.50') },
	    'buckets are keyed hashes (HMAC), not plain SHA-256 of the name';
}

# Fail closed: captcha provider unreachable -> 503, nothing created.
my $cpid = delete $t->{pids}{captcha};
kill 'TERM', $cpid;
waitpid($cpid, 0);
$r = register('down@example.com', '198.51.100.90', 'pass');
is $r->{status}, 503, 'captcha provider unreachable: 503 (fail closed)';
is $t->sql(q{SELECT count(*) AS n FROM users WHERE email = 'down@example.com'})->[0]{n}, 0, '... and nothing was created';

done_testing;
