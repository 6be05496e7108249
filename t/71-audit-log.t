# The audit log, read: every mutating admin route writes an entry (checked
# against the route table), the listing with its filters and cursor, the
# CSV export (RFC 4180, formulas neutralised, at most 90 days, itself
# audited), and who may read it.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;
use TestFiles qw(png);

my $t = ParleyTest->new(env => { PARLEY_API_RATE_MAX => 100000 });
my $pw = 'tangerine-orbit-velvet-42';
my $own = $t->signup(json => { email => 'aud@co.example', password => $pw,
    name => 'Au Dit', company_name => 'Audit Co' })->{json};
my $cid = $own->{company}{id};
my $auth = { authorization => "Bearer $own->{access_token}" };
my $other = $t->signup(headers => { 'x-forwarded-for' => '203.0.113.7' },
    json => { email => 'aud@else.example', password => $pw, name => 'El Se', company_name => 'Else' })->{json};
my $hash = $t->sql('SELECT password_hash FROM users WHERE id = ?', $own->{user}{id})->[0]{password_hash};
sub user {
	my ($email, $role) = @_;
	my $id = $t->sql(q{INSERT INTO users (company_id, email, name, role, password_hash) VALUES (?, ?, 'Per Son', ?, ?) RETURNING id},
	    $cid, $email, $role, $hash)->[0]{id};
	my $l = $t->post('/api/v1/auth/login', json => { email => $email, password => $pw })->{json};
	return ($id, { authorization => "Bearer $l->{access_token}" });
}
my ($mid, $mauth) = user('mem@co.example', 'member');
my ($rid) = user('removed@co.example', 'member');
sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h // $auth, defined $j ? (json => $j) : ()) }
sub count { $t->sql('SELECT count(*) AS n FROM audit_log WHERE company_id = ?', $cid)->[0]{n} }

# --- every mutating admin route writes one entry ------------------------------
my ($bot, $doc, $tpl, $inv, $key, $wh, $dom, $team, $label, $src);
my @calls = (
	['PATCH /api/v1/company', sub { req('PATCH', '/api/v1/company', undef, { name => 'Audit Co Ltd' }) }],
	['PUT /api/v1/company/llm', sub { req('PUT', '/api/v1/company/llm', undef, { model => 'gpt-4o-mini' }) }],
	['POST /api/v1/invitations', sub { my $r = req('POST', '/api/v1/invitations', undef, { email => 'new@co.example', role => 'member' }); $inv = $r->{json}{id}; $r }],
	['DELETE /api/v1/invitations/:id', sub { req('DELETE', "/api/v1/invitations/$inv") }],
	['POST /api/v1/api-keys', sub { my $r = req('POST', '/api/v1/api-keys', undef, { name => 'k', scopes => ['audit:read'] }); $key = $r->{json}; $r }],
	['PATCH /api/v1/members/:id', sub { req('PATCH', "/api/v1/members/$mid", undef, { role => 'admin' }) }],
	['DELETE /api/v1/members/:id', sub { req('DELETE', "/api/v1/members/$rid") }],
	# Making a member admin opened a role_granted alert (src/detect.c).
	['PATCH /api/v1/security-alerts/:id', sub {
	    my $a = req('GET', '/api/v1/security-alerts?state=open')->{json}{items}[0]{id};
	    req('PATCH', "/api/v1/security-alerts/$a", undef, { state => 'acknowledged' }) }],
	['POST /api/v1/chatbots', sub { my $r = req('POST', '/api/v1/chatbots', undef, { name => 'Bot' }); $bot = $r->{json}{id}; $r }],
	['PATCH /api/v1/chatbots/:id', sub { req('PATCH', "/api/v1/chatbots/$bot", undef, { language => 'french' }) }],
	['PUT /api/v1/chatbots/:id/hours', sub { req('PUT', "/api/v1/chatbots/$bot/hours", undef,
	    { enabled => JSON::PP::true, timezone => 'Europe/Oslo', weekly => [{ day => 'mon', opens => '08:00', closes => '16:00' }] }) }],
	['PUT /api/v1/chatbots/:id/logo', sub { $t->request('PUT', "/api/v1/chatbots/$bot/logo",
	    headers => { %$auth, 'content-type' => 'image/png' }, body => png(2, 2)) }],
	['DELETE /api/v1/chatbots/:id/logo', sub { req('DELETE', "/api/v1/chatbots/$bot/logo") }],
	['POST /api/v1/chatbots/:id/rotate-key', sub { req('POST', "/api/v1/chatbots/$bot/rotate-key") }],
	['POST /api/v1/chatbots/:id/rotate-identity-secret', sub { req('POST', "/api/v1/chatbots/$bot/rotate-identity-secret") }],
	['POST /api/v1/chatbots/:id/documents', sub { my $r = req('POST', "/api/v1/chatbots/$bot/documents", undef,
	    { title => 'D', content_type => 'text/plain', content => 'Some text.' }); $doc = $r->{json}{id}; $r }],
	['DELETE /api/v1/chatbots/:id/documents/:doc', sub { req('DELETE', "/api/v1/chatbots/$bot/documents/$doc") }],
	['POST /api/v1/chatbots/:id/documents/file', sub { $t->request('POST', "/api/v1/chatbots/$bot/documents/file?title=F",
	    headers => { %$auth, 'content-type' => 'text/plain' }, body => 'A file of plain text.') }],
	['POST /api/v1/chatbots/:id/sources', sub { my $r = req('POST', "/api/v1/chatbots/$bot/sources", undef,
	    { kind => 'url', url => 'https://docs.example/help' }); $src = $r->{json}{id}; $r }],
	['POST /api/v1/chatbots/:id/sources/:source/sync', sub {
	    # Its first fetch ends first (docs.example does not resolve): a
	    # sync while that fetch is due or under way is 409.
	    ParleyTest::wait_for(sub { $t->sql(q{SELECT status FROM kb_sources WHERE id = ?}, $src)->[0]{status} =~ /^(done|failed)$/ },
	        "the source's first fetch", 60);
	    req('POST', "/api/v1/chatbots/$bot/sources/$src/sync") }],
	['DELETE /api/v1/chatbots/:id/sources/:source', sub { req('DELETE', "/api/v1/chatbots/$bot/sources/$src") }],
	['POST /api/v1/templates', sub { my $r = req('POST', '/api/v1/templates', undef, { name => 'T', body => 'B' }); $tpl = $r->{json}{id}; $r }],
	['PATCH /api/v1/templates/:id', sub { req('PATCH', "/api/v1/templates/$tpl", undef, { body => 'B2' }) }],
	['DELETE /api/v1/templates/:id', sub { req('DELETE', "/api/v1/templates/$tpl") }],
	['POST /api/v1/webhook-endpoints', sub { my $r = req('POST', '/api/v1/webhook-endpoints', undef,
	    { url => 'https://hooks.example/in', events => ['member.*'] }); $wh = $r->{json}{id}; $r }],
	['PATCH /api/v1/webhook-endpoints/:id', sub { req('PATCH', "/api/v1/webhook-endpoints/$wh", undef, { enabled => JSON::PP::false }) }],
	['POST /api/v1/webhook-endpoints/:id/rotate-secret', sub { req('POST', "/api/v1/webhook-endpoints/$wh/rotate-secret") }],
	['DELETE /api/v1/webhook-endpoints/:id', sub { req('DELETE', "/api/v1/webhook-endpoints/$wh") }],
	['POST /api/v1/company/export', sub { req('POST', '/api/v1/company/export') }],
	['POST /api/v1/privacy/subject-export', sub { req('POST', '/api/v1/privacy/subject-export', undef, { email => 'nobody@co.example' }) }],
	['POST /api/v1/privacy/subject-erasure', sub { req('POST', '/api/v1/privacy/subject-erasure', undef, { user_id => 'nobody' }) }],
	['PATCH /api/v1/visitors/:id', sub {
	    my $v = $t->sql(q{INSERT INTO visitors (company_id, chatbot_id) VALUES (?, ?) RETURNING id}, $cid, $bot)->[0]{id};
	    req('PATCH', "/api/v1/visitors/$v", undef, { restricted => JSON::PP::true }) }],
	['DELETE /api/v1/conversations/:id', sub {
	    my $v = $t->sql(q{INSERT INTO visitors (company_id, chatbot_id) VALUES (?, ?) RETURNING id}, $cid, $bot)->[0]{id};
	    my $c = $t->sql(q{INSERT INTO conversations (company_id, chatbot_id, visitor_id) VALUES (?, ?, ?) RETURNING id}, $cid, $bot, $v)->[0]{id};
	    req('DELETE', "/api/v1/conversations/$c") }],
	['DELETE /api/v1/chatbots/:id', sub { req('DELETE', "/api/v1/chatbots/$bot") }],
	['POST /api/v1/company/sso/domains', sub { my $r = req('POST', '/api/v1/company/sso/domains', undef, { domain => 'co.example' });
	    $dom = $r->{json}{id}; $r }],
	['DELETE /api/v1/company/sso/domains/:id', sub { req('DELETE', "/api/v1/company/sso/domains/$dom") }],
	['POST /api/v1/teams', sub { my $r = req('POST', '/api/v1/teams', undef, { name => 'Desk', member_ids => [$mid] }); $team = $r->{json}{id}; $r }],
	['PATCH /api/v1/teams/:id', sub { req('PATCH', "/api/v1/teams/$team", undef, { name => 'Front desk' }) }],
	['DELETE /api/v1/teams/:id', sub { req('DELETE', "/api/v1/teams/$team") }],
	['POST /api/v1/labels', sub { my $r = req('POST', '/api/v1/labels', undef, { name => 'VIP' }); $label = $r->{json}{id}; $r }],
	['PATCH /api/v1/labels/:id', sub { req('PATCH', "/api/v1/labels/$label", undef, { colour => '#00ff00' }) }],
	['DELETE /api/v1/labels/:id', sub { req('DELETE', "/api/v1/labels/$label") }],
	['PUT /api/v1/members/:id/capacity', sub { req('PUT', "/api/v1/members/$mid/capacity", undef, { capacity => 3 }) }],
	['DELETE /api/v1/api-keys/:id', sub { req('DELETE', "/api/v1/api-keys/$key->{id}") }],
);
my %called = map { $_->[0] => 1 } @calls;
# Billing sessions call Stripe: their audit entry is checked in t/76. The
# company's deletion deletes its log too (t/81 checks its log line).
$called{$_} = 1 for 'POST /api/v1/billing/checkout', 'POST /api/v1/billing/portal', 'DELETE /api/v1/company';
# A company's SSO needs a DNS server and an IdP: t/56 checks the audit
# entries of verifying a domain and of setting and removing the IdP.
$called{$_} = 1 for 'POST /api/v1/company/sso/domains/:id/verify', 'PUT /api/v1/company/sso', 'DELETE /api/v1/company/sso';
my $routes = decode_json(scalar `'@{[ ParleyTest->builddir ]}/parleyctl' routes`);
for my $r (@$routes) {
	next unless $r->{method} =~ /^(POST|PATCH|PUT|DELETE)$/ && $r->{min_role} =~ /^(admin|owner)$/;
	ok $called{"$r->{method} $r->{path}"}, "$r->{method} $r->{path}: a mutating admin route, checked below";
}
for my $c (@calls) {
	my $before = count();
	my $r = $c->[1]->();
	like $r->{status}, qr/^20[0124]$/, "$c->[0]: succeeds";
	is count(), $before + 1, "$c->[0]: writes exactly one audit entry";
}

# --- the listing ----------------------------------------------------------------
my $r = req('GET', '/api/v1/audit-log');
is $r->{status}, 200, 'an owner lists the audit log';
my @items = @{ $r->{json}{items} };
is scalar @items, count(), 'every entry' or diag explain [map { $_->{action} } @items];
is $items[0]{action}, 'api_key.revoke', 'newest first';
ok $items[0]{seq} > $items[1]{seq}, '... by sequence';
is $items[0]{actor_type}, 'user', '... with the actor';
$r = req('GET', '/api/v1/audit-log?action=chatbot.update');
is_deeply [map { $_->{action} } @{ $r->{json}{items} }], ['chatbot.update'], 'filter by action';
is $r->{json}{items}[0]{changes}{language}{new}, 'french', '... with the changed setting';
$r = req('GET', "/api/v1/audit-log?resource=chatbot:$bot");
ok @{ $r->{json}{items} } >= 4 && !grep({ $_->{resource_id} ne $bot } @{ $r->{json}{items} }), 'filter by resource type and id';
is scalar @{ req('GET', '/api/v1/audit-log?resource=template')->{json}{items} }, 3, 'filter by resource type';
is scalar @{ req('GET', "/api/v1/audit-log?actor=$own->{user}{id}&limit=200")->{json}{items} }, count(), 'filter by actor';
is scalar @{ req('GET', '/api/v1/audit-log?from=2000-01-01&to=2000-01-02')->{json}{items} }, 0, 'filter by time';
my (@all, $cursor, $pages);
do {
	$r = req('GET', '/api/v1/audit-log?limit=5' . ($cursor ? "&cursor=$cursor" : ''));
	push @all, map { $_->{seq} } @{ $r->{json}{items} };
	$cursor = $r->{json}{next_cursor};
	$pages++;
} while ($cursor && $pages < 50);
is scalar @all, count(), 'cursor pages list every entry once';
is_deeply \@all, [sort { $b <=> $a } @all], '... in order';
for my $bad ('from=not-a-date', 'limit=0', 'limit=201', 'cursor=x', 'action=DROP%20TABLE', 'resource=chat-bot') {
	is req('GET', "/api/v1/audit-log?$bad")->{status}, 400, "bad query $bad: 400";
}
my ($lid, $lauth) = user('low@co.example', 'member');
is req('GET', '/api/v1/audit-log', $lauth)->{status}, 403, 'members may not read it';
$r = req('GET', '/api/v1/audit-log', { authorization => "Bearer $other->{access_token}" });
is $r->{status}, 200, 'another company reads its own log';
ok !grep({ $_->{action} =~ /^(chatbot|template|document)\./ } @{ $r->{json}{items} }), '... with none of these entries';

# --- the CSV export ----------------------------------------------------------------
# An admin who changed something and was then removed: the CSV says so.
my ($gid, $gauth) = user('gone@co.example', 'admin');
is req('PATCH', '/api/v1/company', $gauth, { name => 'Audit Co (by gone)' })->{status}, 200, 'an admin changes the name';
is req('DELETE', "/api/v1/members/$gid")->{status}, 204, '... and is removed';
# An entry carrying a would-be formula: the user agent is recorded.
req('PATCH', '/api/v1/company', { %$auth, 'user-agent' => '=HYPERLINK("http://evil.example","x")' }, { name => 'Audit Co' });
my $before = count();
$r = req('GET', '/api/v1/audit-log/export.csv');
is $r->{status}, 200, 'the CSV export';
like $r->{headers}{'content-type'}, qr{^text/csv}, '... text/csv';
like $r->{headers}{'content-disposition'}, qr/attachment; filename="audit-log\.csv"/, '... as a download';
my @lines = split /\r\n/, $r->{content};
is $lines[0], 'seq,created_at,actor_type,actor_id,actor_email,actor_name,action,resource_type,resource_id,fields,changes,ip,user_agent,request_id',
    '... a header line';
ok grep({ /^\d+,[^,]+,user,$own->{user}{id},aud\@co\.example,Au Dit,company\.update,/ } @lines),
    "... the actor's current e-mail and name beside the id";
ok grep({ /^\d+,[^,]+,user,$gid,,deleted user,company\.update,/ } @lines), '... "deleted user" for one removed since';
is $t->sql(q{SELECT count(*) AS n FROM audit_log WHERE company_id = ? AND (changes::text LIKE '%gone@co.example%' OR changes::text LIKE '%Au Dit%')}, $cid)->[0]{n},
    0, '... which the log itself does not hold';
is scalar(@lines) - 1, $before + 1, '... every entry, and the export itself';
like $r->{content}, qr/,"'=HYPERLINK\(""http:\/\/evil\.example"",""x""\)",/, '... a formula neutralised and quoted (RFC 4180)';
unlike $r->{content}, qr/(^|,)=HYPERLINK/m, '... no cell starts with =';
is count(), $before + 1, 'the export is audited';
is $t->sql(q{SELECT action FROM audit_log WHERE company_id = ? ORDER BY seq DESC LIMIT 1}, $cid)->[0]{action},
    'audit_log.export', '... as audit_log.export';
is req('GET', '/api/v1/audit-log/export.csv?from=2001-01-01')->{status}, 400, 'more than 90 days back: 400';
my $f = $t->sql(q{SELECT to_char(now() - interval '10 days', 'YYYY-MM-DD') AS d})->[0]{d};
is req('GET', "/api/v1/audit-log/export.csv?from=$f")->{status}, 200, 'within 90 days: allowed';
is req('GET', '/api/v1/audit-log/export.csv', $lauth)->{status}, 403, 'members may not export';
my $k = req('POST', '/api/v1/api-keys', undef, { name => 'auditor', scopes => ['audit:read'] })->{json}{key};
is req('GET', '/api/v1/audit-log/export.csv', { authorization => "Bearer $k" })->{status}, 200, 'an API key with audit:read exports';
is $t->sql(q{SELECT actor_type FROM audit_log WHERE company_id = ? ORDER BY seq DESC LIMIT 1}, $cid)->[0]{actor_type},
    'api_key', '... and is recorded as the actor';
@lines = split /\r\n/, req('GET', '/api/v1/audit-log/export.csv')->{content};
ok grep({ /^\d+,[^,]+,api_key,[0-9a-f-]{36},,auditor,audit_log\.export,/ } @lines), 'in the CSV, an API key actor by its name';

done_testing;
