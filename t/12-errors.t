# Errors: problem+json of one shape from parleyd and from nginx itself,
# bounded bodies, malformed input refused before any handler runs.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;

my $t = ParleyTest->new;
my %lim = ParleyTest::limits();

sub is_problem {
	my ($r, $status, $code, $name) = @_;
	is $r->{status}, $status, "$name: status $status";
	like $r->{headers}{'content-type'} // '', qr{^application/problem\+json}, "$name: problem+json";
	my $p = $r->{json} // {};
	is $p->{status}, $status, "$name: status member";
	is $p->{code}, $code, "$name: code $code";
	is $p->{type}, "urn:parley:problem:$code", "$name: type";
	ok length($p->{title} // ''), "$name: title";
	like $p->{request_id} // '', qr/^[0-9a-f]{32}$/, "$name: request_id";
	is $p->{request_id}, $r->{headers}{'x-request-id'}, "$name: request_id matches the header";
	unlike $r->{content} // '', qr/(\.c:\d|SQLSTATE|PQ|libpq|jansson|segfault|\/work\/|\/tmp\/)/i,
	    "$name: no internals";
}

# Routing.
is_problem($t->get('/api/v1/nope'), 404, 'not_found', 'unknown API path');
is_problem($t->get('/api/v1/meta/extra'), 404, 'not_found', 'path below a resource');
my $r = $t->post('/api/v1/meta', json => {});
is_problem($r, 405, 'method_not_allowed', 'POST to a GET resource');
is $r->{headers}{allow}, 'GET, HEAD', '405 carries Allow';
$r = $t->request('DELETE', '/api/v1/csp-report');
is_problem($r, 405, 'method_not_allowed', 'DELETE on csp-report');
is $r->{headers}{allow}, 'POST', '... Allow: POST';
is_problem($t->get('/no-such-static-file'), 404, 'not_found', "nginx's own 404");

# Malformed request lines.
my ($st, $head, $body) = $t->raw("GET /api/v1/me<ta HTTP/1.0\r\nHost: x\r\n\r\n");
is $st, 400, 'a path with < is refused';
is decode_json($body)->{code}, 'bad_path', '... by parleyd, code bad_path';
($st, $head, $body) = $t->raw("TRACE /api/v1/meta HTTP/1.0\r\nHost: x\r\n\r\n");
ok $st == 400 || $st == 405, "TRACE refused ($st)";
is_problem($t->get('/api/v1/meta?' . ('q=' x ($lim{PRL_MAX_QUERY} / 2 + 1))), 400, 'bad_query', 'overlong query');
# Request lines nginx refuses while parsing them (the request then has no
# URI): a 400 problem, not an HTML 500 from a failed redirect.
for my $line ('GET /a%00b HTTP/1.1', 'GET /widget/../../etc/passwd HTTP/1.1', 'GET /api/v1/../../../../x HTTP/1.0',
    "GET /a\x00b HTTP/1.1") {
	($st, $head, $body) = $t->raw("$line\r\nHost: x\r\nConnection: close\r\n\r\n");
	(my $shown = $line) =~ s/\x00/\\0/g;
	is $st, 400, "'$shown': 400";
	like $head, qr{^Content-Type: application/problem\+json}mi, '... problem+json';
	is eval { decode_json($body)->{code} }, 'bad_request', '... code bad_request';
}
# HTTP/0.9 has no status line or headers: the body is still a problem.
for my $line ('GET /a%00b', 'GET /nothing-here') {
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $t->http_port, Timeout => 10) or die $!;
	print $s "$line\r\n";
	local $/;
	my $resp = <$s> // '';
	my $p = eval { decode_json($resp) };
	ok $p && $p->{code} =~ /^(bad_request|not_found)$/, "HTTP/0.9 '$line': a problem+json body ($resp)";
}
unlike $t->slurp('nginx/nginx-error.log'), qr/empty URI|\[error\]/, 'none of these logs an error';

# Bodies.
my $report = { 'csp-report' => { 'document-uri' => 'https://shop.example/cart?token=SECRET123',
	'effective-directive' => 'script-src-elem', 'blocked-uri' => 'https://evil.example/x.js?y=1' } };
$r = $t->post('/api/v1/csp-report', json => $report, headers => { 'content-type' => 'application/csp-report' });
is $r->{status}, 204, 'CSP report accepted';
my ($ev) = grep { $_->{event} eq 'csp_violation' } $t->log_events;
is $ev->{directive}, 'script-src-elem', 'CSP report logged: directive';
is $ev->{blocked}, 'https://evil.example', '... blocked origin only';
is $ev->{document}, 'https://shop.example/cart', '... document without query string';
unlike $t->slurp('parleyd.log'), qr/SECRET123/, 'query strings never reach the log';

$r = $t->post('/api/v1/csp-report', body => '[{"type":"csp-violation","body":{"documentURL":"https://a.example/p","effectiveDirective":"img-src"}}]',
    headers => { 'content-type' => 'application/reports+json' });
is $r->{status}, 204, 'Reporting API format accepted';

is_problem($t->post('/api/v1/csp-report', body => '{"csp-report": {', headers => { 'content-type' => 'application/csp-report' }),
    400, 'malformed_json', 'truncated JSON');
is_problem($t->post('/api/v1/csp-report', body => '{"csp-report":{}} trailing', headers => { 'content-type' => 'application/csp-report' }),
    400, 'malformed_json', 'trailing garbage');
is_problem($t->post('/api/v1/csp-report', body => '{"a":1,"a":2}', headers => { 'content-type' => 'application/csp-report' }),
    400, 'malformed_json', 'duplicate keys');
is_problem($t->post('/api/v1/csp-report', body => "{\"csp-report\":{\"document-uri\":\"\xff\xfe\"}}",
    headers => { 'content-type' => 'application/csp-report' }), 400, 'malformed_json', 'invalid UTF-8');
my $deep = ('[' x ($lim{PRL_MAX_JSON_DEPTH} + 1)) . (']' x ($lim{PRL_MAX_JSON_DEPTH} + 1));
is_problem($t->post('/api/v1/csp-report', body => $deep, headers => { 'content-type' => 'application/csp-report' }),
    400, 'json_too_deep', 'nesting beyond PRL_MAX_JSON_DEPTH');
is_problem($t->post('/api/v1/csp-report', body => '', headers => { 'content-type' => 'application/csp-report' }),
    400, 'body_required', 'empty body');
is_problem($t->post('/api/v1/csp-report', json => $report, headers => { 'content-type' => 'text/plain' }),
    415, 'unsupported_media_type', 'wrong content type');
is_problem($t->post('/api/v1/csp-report', json => $report, headers => { 'content-type' => 'application/json; charset=latin1' }),
    415, 'unsupported_media_type', 'non-UTF-8 charset');
$r = $t->post('/api/v1/csp-report', json => { 'csp-report' => { 'effective-directive' => 'img-src' } },
    headers => { 'content-type' => 'application/csp-report' });
is_problem($r, 422, 'validation_failed', 'missing required member');
is_deeply $r->{json}{errors}, [{ field => 'document-uri', code => 'required' }], '... naming the field';
$r = $t->post('/api/v1/csp-report', json => { 'csp-report' => { 'document-uri' => "a b" } },
    headers => { 'content-type' => 'application/csp-report' });
is_deeply $r->{json}{errors}, [{ field => 'document-uri', code => 'format' }], 'bad URI refused with format';

# Size limits: the route's own limit (parleyd) and nginx's client_max_body_size.
my $big = '{"csp-report":{"document-uri":"https://a.example/' . ('x' x 17000) . '"}}';
$r = $t->post('/api/v1/csp-report', body => $big, headers => { 'content-type' => 'application/csp-report' });
is_problem($r, 413, 'body_too_large', 'body over the route limit');
is $r->{json}{max_bytes}, $lim{PRL_BODY_SMALL}, '... stating the limit';
$r = $t->post('/api/v1/csp-report', body => 'x' x (1024 * 1024 + 10), headers => { 'content-type' => 'application/csp-report' });
is_problem($r, 413, 'body_too_large', "nginx's 413 over client_max_body_size");
is_problem($t->request('GET', '/api/v1/meta', body => 'unexpected'), 422, 'body_not_allowed', 'a body where none is allowed: 422');
is_problem($t->request('GET', '/api/v1/meta', body => '{"a":1}'), 422, 'body_not_allowed', '... a JSON object with members too');
is_problem($t->request('GET', '/api/v1/meta', body => ' ' x 100), 422, 'body_not_allowed', '... and a long one');
# What most HTTP clients send with a POST that needs nothing: accepted.
for my $b ('', '{}', 'null', " { }\n", ' null ') {
	my $r = $t->request('GET', '/api/v1/meta', body => $b, headers => { 'content-type' => 'application/json' });
	is $r->{status}, 200, 'a body-less route takes ' . (length $b ? "'$b'" : 'an empty body (Content-Length 0)') =~ s/\n/\\n/r;
}

# A request parleyd never answers still gets a problem: parleyd down → 502.
$t->stop_parleyd;
$t->allow_alert(qr/connect\(\) to unix:\S+parleyd\.sock failed/);
is_problem($t->get('/api/v1/meta'), 502, 'upstream_unavailable', 'parleyd down');

done_testing;
