# Security headers on every response: parleyd's, static files, and nginx's
# own error pages. Nothing may be framed except the chat frame, and that
# only by its chatbot's allowed origins (parleyd's CSP, tested in
# t/65-realtime.t); widget assets load cross-origin.
use strict;
use warnings;
use Test::More;
use ParleyTest;

my $t = ParleyTest->new;

my %common = (
	'x-content-type-options' => qr/^nosniff$/,
	'referrer-policy' => qr/^no-referrer$/,
	'permissions-policy' => qr/camera=\(\).*microphone=\(\)/,
	'cross-origin-opener-policy' => qr/^same-origin$/,
	'content-security-policy' => qr/default-src '(none|self)'.*report-uri \/api\/v1\/csp-report/,
	'x-request-id' => qr/^[0-9a-f]{32}$/,
);

my @cases = (
	[ 'API 200',             'GET',  '/api/v1/meta',            200, {} ],
	[ 'API 404 (parleyd)',   'GET',  '/api/v1/nothing',         404, {} ],
	[ 'health',              'GET',  '/healthz',                200, {} ],
	[ 'static widget file',  'GET',  '/widget/parley.js',       200, {} ],
	[ 'widget page',         'GET',  '/widget/',                200, {} ],
	[ 'static 404 (nginx)',  'GET',  '/widget/missing.js',      404, {} ],
	[ 'nginx 404',           'GET',  '/nothing-here',           404, {} ],
	[ 'nginx 413',           'POST', '/api/v1/csp-report',      413, { body => 'x' x (1024 * 1024 + 1),
	    headers => { 'content-type' => 'application/csp-report' } } ],
	[ 'security.txt',        'GET',  '/.well-known/security.txt', 200, {} ],
);

for my $scheme (qw(http https)) {
	for my $c (@cases) {
		my ($name, $method, $path, $status, $opt) = @$c;
		my $r = $t->request($method, $path, %$opt, scheme => $scheme);
		my $h = $r->{headers};
		is $r->{status}, $status, "$scheme $name: status $status";
		for my $k (sort keys %common) {
			like $h->{$k} // '', $common{$k}, "$scheme $name: $k";
			ok !ref $h->{$k}, "$scheme $name: one $k header";
		}
		my $widget = $path =~ m{^/widget/};
		is $h->{'x-frame-options'}, 'DENY', "$scheme $name: X-Frame-Options DENY";
		like $h->{'content-security-policy'}, qr/frame-ancestors 'none'/, "$scheme $name: frame-ancestors 'none'";
		is $h->{'cross-origin-resource-policy'}, $widget ? 'cross-origin' : 'same-origin',
		    "$scheme $name: CORP " . ($widget ? 'cross-origin (embeddable assets)' : 'same-origin');
		if ($scheme eq 'https') {
			is $h->{'strict-transport-security'}, 'max-age=31536000; includeSubDomains',
			    "$scheme $name: HSTS one year with subdomains";
		} else {
			ok !exists $h->{'strict-transport-security'}, "$scheme $name: no HSTS over plain HTTP";
		}
		unlike $h->{server} // '', qr/\d/, "$scheme $name: no server version";
		ok !exists $h->{'x-powered-by'}, "$scheme $name: no X-Powered-By";
	}
}

my $r = $t->get('/.well-known/security.txt');
like $r->{content}, qr/^Contact: /m, 'security.txt has a contact';
like $r->{content}, qr/^Expires: \d{4}-/m, 'security.txt has an expiry';
like $r->{headers}{'content-type'}, qr{^text/plain}, 'security.txt is text/plain';

$r = $t->get('/widget/parley.js');
like $r->{headers}{'content-type'}, qr{javascript}, 'widget script has a script type';
like $r->{headers}{'cache-control'} // '', qr/max-age=3600/, 'widget assets are cacheable';
is $t->get('/api/v1/meta')->{headers}{'cache-control'}, 'no-store', 'API responses are not';

# No location may use add_header: nginx would drop the inherited headers.
my $dir = ParleyTest->srcdir . '/nginx';
for my $f (grep { !/parley-headers\.conf$/ } glob "$dir/*.conf $dir/*.in") {
	open my $fh, '<', $f or die;
	my @bad = grep { /^\s*add_header\b/ } <$fh>;
	is scalar(@bad), 0, "$f has no add_header (headers live in parley-headers.conf)";
}

done_testing;
