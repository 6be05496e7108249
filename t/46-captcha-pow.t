# parley's own captcha: a proof of work (src/pow.c). GET
# /api/v1/auth/challenge gives a challenge signed by parleyd; registration
# and password reset take "challenge.nonce" as captcha_token when the
# SHA-256 of it starts with the difficulty's zero bits. Each challenge
# works once; a changed, expired, unsolved or malformed one is refused;
# with the setting off there is no challenge and no captcha asked.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha256);
use ParleyTest;

my $bits = 10;
my $t = ParleyTest->new(env => { PARLEY_POW_DIFFICULTY => $bits, PARLEY_REGISTER_MAX_PER_IP => 1000 });

# The nonce a browser would find; and one that does not solve it.
sub solve { ParleyTest::pow_solve($_[0], $bits) }
sub unsolved { my ($c) = @_; for (my $n = 0; ; $n++) { return "$c.$n" if ParleyTest::pow_bits(sha256("$c.$n")) < $bits } }
my $ip = 0;
sub register {
	my ($token, $email) = @_;
	$ip++;
	return $t->post('/api/v1/auth/register', headers => { 'x-forwarded-for' => "198.51.100.$ip" },
	    json => { email => $email // "pow$ip\@example.com", password => 'a proof of work passphrase', name => 'Pat Pow',
		company_name => 'Pow Co', defined $token ? (captcha_token => $token) : () });
}
sub challenge { $t->get('/api/v1/auth/challenge')->{json} }

my $c = challenge();
like $c->{challenge}, qr/^pow1\.\d+\.$bits\.[0-9a-f]{32}\.[A-Za-z0-9_-]{43}$/, 'a signed challenge';
is $c->{difficulty}, $bits, '... with the configured difficulty';
is $c->{expires_in}, 300, '... and its lifetime';
isnt challenge()->{challenge}, $c->{challenge}, 'each challenge is new';

my $r = register(undef);
is $r->{status}, 400, 'registration without a captcha_token: 400';
is $r->{json}{code}, 'captcha_failed', '... captcha_failed';
is $t->sql(q{SELECT count(*) AS n FROM signups})->[0]{n}, 0, '... and nothing is made';
my $token = solve($c->{challenge});
is register($token)->{status}, 202, 'a solved challenge passes';
is register($token)->{json}{code}, 'captcha_failed', '... once: the same token again is refused';
is register(solve(challenge()->{challenge}))->{status}, 202, 'a new challenge, solved, passes again';
is register(unsolved(challenge()->{challenge}))->{json}{code}, 'captcha_failed', 'a nonce that does not solve it is refused';

# Tampered: each part changed, the signature no longer matches.
my ($pfx, $exp, $d, $rnd, $sig) = split /\./, challenge()->{challenge};
for my $bad (["$pfx." . ($exp + 3600) . ".$d.$rnd.$sig", 'a later expiry'],
    ["$pfx.$exp.1.$rnd.$sig", 'a lower difficulty'],
    ["$pfx.$exp.$d." . ('0' x 32) . ".$sig", 'another random part'],
    ["$pfx.$exp.$d.$rnd." . ('A' x 43), 'another signature']) {
	is register(solve($bad->[0]))->{json}{code}, 'captcha_failed', "$bad->[1], even solved, is refused";
}
for my $bad ("pow1.$exp.$d.$rnd.$sig.", "pow1.$exp.$d.$rnd.$sig.12a", "pow1.$exp.$d.$rnd.$sig." . ('1' x 21),
    "pow1.$exp.$d.$rnd", 'pow1.', 'pow2.' . substr(solve("pow1.$exp.$d.$rnd.$sig"), 5)) {
	is register($bad)->{json}{code}, 'captcha_failed', "a malformed token is refused (" . substr($bad, -12) . ')';
}
# Lifetimes: a challenge is good across restarts within its lifetime;
# one that promises more than pow_ttl is refused (the lifetime's end
# itself is t/unit/test-pow, with the clock moved).
my $long = challenge();
$t->stop_parleyd;
$t->{env}{PARLEY_POW_TTL} = 30;
$t->start_parleyd;
is challenge()->{expires_in}, 30, 'a deployment with pow_ttl 30';
is register(solve($long->{challenge}))->{json}{code}, 'captcha_failed', '... refuses a challenge that promised 300 s';
$t->stop_parleyd;
$t->{env}{PARLEY_POW_TTL} = 300;
$t->start_parleyd;
is register(solve($long->{challenge}))->{status}, 202, 'under pow_ttl 300 again it passes: good across restarts';

# Password reset asks for it too.
is $t->post('/api/v1/auth/password/forgot', json => { email => 'pow1@example.com' })->{json}{code}, 'captcha_failed',
    'a password reset without one: captcha_failed';
is $t->post('/api/v1/auth/password/forgot', json => { email => 'pow1@example.com',
    captcha_token => solve(challenge()->{challenge}) })->{status}, 202, '... and with one solved: 202';

# Off: no challenge, no captcha asked.
$t->stop_parleyd;
$t->{env}{PARLEY_POW_DIFFICULTY} = 0;
$t->start_parleyd;
$r = $t->get('/api/v1/auth/challenge');
is $r->{status}, 404, 'pow_difficulty 0: no challenge';
is $r->{json}{code}, 'captcha_off', '... captcha_off';
is register(undef)->{status}, 202, '... and registration asks for no captcha';
done_testing;
