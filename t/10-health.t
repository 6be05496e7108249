# Health, readiness and metadata, over HTTP and HTTPS; the TLS policy.
use strict;
use warnings;
use Test::More;
use ParleyTest;

my $t = ParleyTest->new;

for my $scheme (qw(http https)) {
	my $r = $t->get('/healthz', scheme => $scheme);
	is $r->{status}, 200, "$scheme: /healthz 200";
	is_deeply $r->{json}, { status => 'ok' }, "$scheme: /healthz body";
	like $r->{headers}{'content-type'}, qr{^application/json}, "$scheme: JSON content type";
	is $r->{headers}{'cache-control'}, 'no-store', "$scheme: not cached";

	$r = $t->get('/readyz', scheme => $scheme);
	is $r->{status}, 200, "$scheme: /readyz 200";
	is $r->{json}{status}, 'ready', "$scheme: ready";

	$r = $t->get('/api/v1/meta', scheme => $scheme);
	is $r->{status}, 200, "$scheme: /api/v1/meta 200";
	is $r->{json}{name}, 'parley', 'meta: name';
	is $r->{json}{api_version}, 'v1', 'meta: api version';
	like $r->{json}{version}, qr/^\d+\.\d+\.\d+/, 'meta: version';
}

my $r = $t->request('HEAD', '/healthz');
is $r->{status}, 200, 'HEAD /healthz 200';
is $r->{content} // '', '', '... without a body';

# The request id: nginx's, shared with parleyd's log.
$r = $t->get('/api/v1/meta');
my $id = $r->{headers}{'x-request-id'};
like $id, qr/^[0-9a-f]{32}$/, 'X-Request-Id set';
ok !ref $id, 'exactly one X-Request-Id header';
my ($line) = grep { ($_->{req_id} // '') eq $id } $t->log_events;
ok $line, 'parleyd logged the request under the same id';
is $line->{route}, '/api/v1/meta', '... with the route pattern';
is $line->{status}, 200, '... and status';

# TLS: 1.2 and 1.3 with forward-secret AEAD ciphers; nothing older.
my $port = $t->https_port;
sub s_client {
	my (@args) = @_;
	my $out = `echo | openssl s_client -connect 127.0.0.1:$port -servername localhost @args 2>&1`;
	return ($? >> 8, $out);
}
my ($rc, $out) = s_client('-tls1_3');
is $rc, 0, 'TLS 1.3 handshake';
like $out, qr/New, TLSv1\.3, Cipher is TLS_(AES_\d+_GCM|CHACHA20_POLY1305)/, '... negotiated TLSv1.3 with an AEAD suite';
($rc, $out) = s_client('-tls1_2');
is $rc, 0, 'TLS 1.2 handshake';
like $out, qr/New, TLSv1\.2, Cipher is ECDHE-\w+-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)/, '... with an ECDHE AEAD cipher';
($rc, $out) = s_client('-tls1_2', '-cipher', 'AES128-SHA256:AES128-SHA');
isnt $rc, 0, 'TLS 1.2 without forward secrecy refused';
($rc, $out) = s_client('-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0');
isnt $rc, 0, 'TLS 1.1 refused';
($rc, $out) = s_client('-tls1_2', '-reconnect');
unlike $out, qr/TLS session ticket:/, 'no session tickets';

done_testing;
