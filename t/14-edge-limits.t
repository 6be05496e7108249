# nginx's first-layer rate limit answers 429 problem+json with Retry-After,
# per client address as established by the real_ip module.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;

# 1 request a minute with a burst of 2: the 4th quick request is refused.
my $t = ParleyTest->new(rate => '1r/m', burst => 2);

sub from {
	my ($addr, $path) = @_;
	return $t->get($path // '/api/v1/meta', headers => { 'x-forwarded-for' => $addr });
}

my @st = map { from('203.0.113.7')->{status} } 1 .. 3;
is_deeply \@st, [200, 200, 200], 'within the burst: answered';
my $r = from('203.0.113.7');
is $r->{status}, 429, 'over the limit: 429, not 503';
like $r->{headers}{'content-type'}, qr{^application/problem\+json}, '429 is problem+json';
is $r->{json}{code}, 'rate_limited', '... code rate_limited';
is $r->{headers}{'retry-after'}, '1', '... with Retry-After';
is $r->{headers}{'x-frame-options'}, 'DENY', '... and the security headers';

is from('198.51.100.9')->{status}, 200, 'another client address has its own budget';
is from('203.0.113.7', '/healthz')->{status}, 200, 'health checks are not rate limited';
is from('203.0.113.7', '/widget/parley.js')->{status}, 429, 'the widget shares the edge limit';

# real_ip: the address nginx logs (and passes as REMOTE_ADDR) is the
# forwarded one, since the test talks from a trusted proxy address.
my @log = map { decode_json($_) } grep { /^\{/ } split /\n/, $t->slurp('nginx/access.log');
ok scalar(grep { $_->{addr} eq '198.51.100.9' } @log), 'access log records the forwarded client address';
ok !scalar(grep { $_->{uri} =~ /\?/ } @log), 'access log has no query strings';

# Only trusted proxies may set the address: render the site with none and
# a forged X-Forwarded-For changes nothing.
my $u = ParleyTest->new(rate => '1r/m', burst => 1, real_ip_from => '');
is $u->get('/api/v1/meta', headers => { 'x-forwarded-for' => '192.0.2.1' })->{status}, 200, 'untrusted: first answered';
is $u->get('/api/v1/meta', headers => { 'x-forwarded-for' => '192.0.2.2' })->{status}, 200, 'untrusted: burst answered';
is $u->get('/api/v1/meta', headers => { 'x-forwarded-for' => '192.0.2.3' })->{status}, 429,
    'untrusted: a new X-Forwarded-For does not buy a new budget';
@log = map { decode_json($_) } grep { /^\{/ } split /\n/, $u->slurp('nginx/access.log');
ok !scalar(grep { $_->{addr} =~ /^192\.0\.2\./ } @log), 'untrusted: forged addresses never logged as the client';

done_testing;
