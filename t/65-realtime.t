# Realtime events through nginx's nchan module: agents subscribe to their
# company's events (authorised by parleyd; logout or removal ends the
# stream at once), visitors to their own conversation's; idle subscribers
# hold no parleyd worker. And the chat frame: a static page that only the
# chatbot's allowed origins may frame.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time);
use ParleyTest;

my $workers = 2;
my $t = ParleyTest->new(workers => $workers, env => { PARLEY_WIDGET_MESSAGE_RATE => 1000 });
my $pw = 'tangerine-orbit-velvet-42';
my $n = 0;
sub company {
	my ($tag) = @_;
	my $o = $t->signup(headers => { 'x-forwarded-for' => '203.0.113.' . ++$n },
	    json => { email => "rt\@$tag.example", password => $pw, name => 'Ree Al', company_name => $tag })->{json};
	my $auth = { authorization => "Bearer $o->{access_token}" };
	my $bot = $t->post('/api/v1/chatbots', headers => $auth,
	    json => { name => "$tag bot", allowed_origins => ["https://shop.$tag.example", 'http://localhost:3000'] })->{json};
	return { %$o, auth => $auth, bot => $bot, origin => "https://shop.$tag.example" };
}
my $A = company('alpha');
my $B = company('beta');
sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h, defined $j ? (json => $j) : ()) }
sub visitor {
	my ($c) = @_;
	my $tok = $t->post('/api/v1/widget/sessions', headers => { origin => $c->{origin} },
	    json => { bot_key => $c->{bot}{public_key} })->{json}{token};
	my $h = { authorization => "Bearer $tok" };
	my $conv = req('POST', '/api/v1/widget/conversations', $h)->{json}{id};
	return { token => $tok, h => $h, conv => $conv };
}

# SSE subscribers on raw sockets (t/lib/ParleyTest.pm).
sub subscribe { $t->subscribe(@_) }
sub next_event { ParleyTest::next_event(@_) }

# --- the frame ------------------------------------------------------------
my $r = $t->get("/widget/frame?bot=$A->{bot}{public_key}");
is $r->{status}, 200, 'the frame page of a chatbot';
like $r->{headers}{'content-type'}, qr{^text/html}, '... HTML';
like $r->{headers}{'content-security-policy'}, qr{frame-ancestors https://shop\.alpha\.example http://localhost:3000;},
    "... framable by the chatbot's allowed origins only";
like $r->{headers}{'content-security-policy'}, qr{script-src 'self'; style-src 'self'; connect-src 'self'}, '... its own scripts and the API only';
ok !ref $r->{headers}{'content-security-policy'}, '... one CSP';
ok !exists $r->{headers}{'x-frame-options'}, '... no X-Frame-Options DENY';
like $r->{content}, qr{<script src="/widget/frame\.js"}, '... the static page';
$r = $t->get('/widget/frame?bot=pk_' . ('0' x 32));
is $r->{status}, 403, 'an unknown chatbot: 403';
is $r->{headers}{'x-frame-options'}, 'DENY', '... and that answer may not be framed either';
like $r->{headers}{'content-security-policy'}, qr/frame-ancestors 'none'/, "... frame-ancestors 'none'";
is $t->get('/widget/frame')->{status}, 403, 'no chatbot: 403';
# nginx asks parleyd (auth_request), which takes only 2xx, 401 and 403:
# malformed input is 403 too, never a 500.
is $t->get('/widget/frame?bot=%ZZ')->{status}, 403, 'a malformed bot key: 403';
is $t->get('/widget/frame?bot=' . ('x' x 100))->{status}, 403, '... and a long one';
is $t->get('/widget/frame.html')->{headers}{'x-frame-options'}, 'DENY', 'the file itself by another name: DENY';

# --- agents ---------------------------------------------------------------
my $evpath = sub { "/api/v1/events" };
my $sa = subscribe($evpath->($A), Authorization => "Bearer $A->{access_token}");
is $sa->{status}, 200, 'an agent subscribes to the company events';
my $sb = subscribe($evpath->($B), Authorization => "Bearer $B->{access_token}");
is $sb->{status}, 200, "another company's agent to theirs";
# The channels are parleyd's answer, not the client's words: naming
# another company (any case, twice) changes nothing.
my $sx = subscribe("/api/v1/events?Company=$B->{company}{id}&company=$B->{company}{id}&COMPANY=$B->{company}{id}"
    . "&session=00000000-0000-4000-8000-000000000000", Authorization => "Bearer $A->{access_token}");
is $sx->{status}, 200, "A's agent naming B's company in the query still gets a stream";
is subscribe($evpath->($A))->{status}, 401, 'no token: 401';

my $va = visitor($A);
req('POST', "/api/v1/widget/conversations/$va->{conv}/messages", $va->{h}, { content => 'Hello, anyone?' });
my $ev = next_event($sa);
is $ev->{type}, 'message', 'the agent gets the new message';
is $ev->{conversation_id}, $va->{conv}, '... of that conversation';
is $ev->{message}{role}, 'visitor', '... the visitor\'s';
is next_event($sb, 1), undef, "B's agent gets nothing of A";
is next_event($sx, 1)->{conversation_id}, $va->{conv}, '... and the stream that named B carries A\'s events';
my $vbb = visitor($B);
req('POST', "/api/v1/widget/conversations/$vbb->{conv}/messages", $vbb->{h}, { content => 'Beta here' });
is next_event($sb)->{conversation_id}, $vbb->{conv}, "B's agent gets B's events";
my @leak;
while (my $e = next_event($sx, 1)) { push @leak, $e if ($e->{conversation_id} // '') eq $vbb->{conv} }
is scalar @leak, 0, '... which never reach A, whatever A put in its query';
while (defined next_event($sa, 0.5)) { }

# The same stream over a WebSocket.
{
	my $ws = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $t->http_port, Timeout => 5) or die $!;
	print $ws "GET " . $evpath->($A) . " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    . "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	    . "Authorization: Bearer $A->{access_token}\r\n\r\n";
	my ($buf, $sel) = ('', IO::Select->new($ws));
	while ($buf !~ /\r\n\r\n/ && $sel->can_read(5)) { sysread($ws, my $b, 4096) or last; $buf .= $b }
	like $buf, qr{^HTTP/1\.1 101}, 'an agent may subscribe over a WebSocket too';
	$buf =~ s/^.*?\r\n\r\n//s;
	req('POST', "/api/v1/widget/conversations/$va->{conv}/messages", $va->{h}, { content => 'Over the socket?' });
	my $end = time + 5;
	while ($buf !~ /Over the socket\?/ && time < $end && $sel->can_read(1)) { sysread($ws, my $b, 65536) or last; $buf .= $b }
	like $buf, qr/"type":"message".*Over the socket\?/s, '... and receives the events as frames';
	close $ws;
	next_event($sa, 1) for 1 .. 3;    # the same events on the SSE stream
}

# --- visitors -------------------------------------------------------------
my $vs = subscribe("/api/v1/widget/conversations/$va->{conv}/events", Authorization => "Bearer $va->{token}");
is $vs->{status}, 200, 'a visitor subscribes to their conversation';
my $vb = visitor($A);
is subscribe("/api/v1/widget/conversations/$va->{conv}/events", Authorization => "Bearer $vb->{token}")->{status}, 403,
    "another visitor cannot subscribe to it";
my $vbs = subscribe("/api/v1/widget/conversations/$vb->{conv}/events", Authorization => "Bearer $vb->{token}");
is subscribe("/api/v1/widget/conversations/$va->{conv}/events")->{status}, 401, 'no token: 401';
is subscribe('/api/v1/widget/conversations/' . ('x' x 36) . '/events', Authorization => "Bearer $va->{token}")->{status}, 403,
    'not a conversation id: 403 (nginx asks; 404 would be its 500)';
$r = req('POST', "/api/v1/conversations/$va->{conv}/messages", $A->{auth}, { content => 'Hi, this is Ana from the team.' });
is $r->{status}, 201, 'an agent replies';
$ev = next_event($vs);
$ev = next_event($vs) while $ev && !($ev->{type} eq 'message' && $ev->{message}{role} eq 'agent');
is $ev->{message}{role}, 'agent', 'the reply reaches the visitor at once';
is $ev->{message}{content}, 'Hi, this is Ana from the team.', '... whole';
ok !exists $ev->{message}{author_id}, '... without the agent\'s id';
my @other;
while (my $e = next_event($vbs, 0.5)) { push @other, $e }
is scalar @other, 0, 'the other visitor hears nothing of it';
my @agent;
while (my $e = next_event($sa, 1)) { push @agent, $e }
ok scalar(grep { $_->{type} eq 'status' && $_->{status} eq 'open' } @agent), 'agents see the status change';
is((grep { $_->{type} eq 'status' } @agent)[-1]{assignee_id}, $A->{user}{id}, '... with who holds it now');
# A status event always says who holds the conversation: null is nobody.
req('PATCH', "/api/v1/conversations/$va->{conv}", $A->{auth}, { assignee_id => undef });
$ev = next_event($sa);
$ev = next_event($sa) while $ev && $ev->{type} ne 'status';
ok $ev && exists $ev->{assignee_id} && !defined $ev->{assignee_id}, 'unassigned: assignee_id null in the event';
req('PATCH', "/api/v1/conversations/$va->{conv}", $A->{auth}, { assignee_id => 'me', status => 'resolved' });
next_event($sa, 1) for 1 .. 2;
req('POST', "/api/v1/widget/conversations/$va->{conv}/handoff", $va->{h});
my @handoff;
while (my $e = next_event($sa, 1)) { push @handoff, $e }
my ($hs) = grep { $_->{type} eq 'status' && $_->{status} eq 'pending' } @handoff;
is $hs->{assignee_id}, $A->{user}{id}, 'a handoff of an assigned conversation keeps its assignee in the event';
# An agent's reply on a conversation someone holds: every list learns it is open.
req('POST', "/api/v1/conversations/$va->{conv}/messages", $A->{auth}, { content => 'Back again.' });
my @reply;
while (my $e = next_event($sa, 1)) { push @reply, $e }
my ($rs) = grep { $_->{type} eq 'status' } @reply;
ok $rs && $rs->{status} eq 'open' && $rs->{assignee_id} eq $A->{user}{id},
    "an agent's reply on an assigned conversation publishes its status, open, and whose";

# --- idle subscribers hold no worker ----------------------------------------
my @many = map { subscribe("/api/v1/widget/conversations/$va->{conv}/events", Authorization => "Bearer $va->{token}") } 1 .. 10 * $workers;
is scalar(grep { $_->{status} == 200 } @many), 10 * $workers, 10 * $workers . " subscribers for $workers workers";
my $t0 = time;
is $t->get('/readyz')->{status}, 200, '... and the API still answers';
ok time - $t0 < 2, '... promptly';
req('POST', "/api/v1/conversations/$va->{conv}/messages", $A->{auth}, { content => 'Broadcast.' });
my $got = 0;
for my $s (@many) {
	my $e = next_event($s, 5);
	$e = next_event($s, 5) while $e && !($e->{type} eq 'message' && $e->{message}{content} eq 'Broadcast.');
	$got++ if $e;
}
is $got, 10 * $workers, '... and every one receives the event';
close $_->{sock} for @many;

# --- consent ----------------------------------------------------------------
$r = req('POST', '/api/v1/widget/consent', $va->{h}, { categories => ['essential', 'analytics'], policy_version => '1' });
is $r->{status}, 201, 'a visitor records their consent';
is_deeply $r->{json}{categories}, ['analytics', 'essential'], '... the categories chosen';
is $r->{json}{policy_version}, '1', "... with the company's policy version in force (1 at first)";
ok $r->{json}{created_at}, '... with the time';
is req('POST', '/api/v1/widget/consent', $va->{h}, { categories => ['analytics'], policy_version => '1' })->{status}, 422,
    'essential cannot be refused (the chat needs it): 422';
is req('POST', '/api/v1/widget/consent', $va->{h}, { categories => ['essential', 'tracking'], policy_version => '1' })->{status},
    422, 'an unknown category: 422';
is req('POST', '/api/v1/widget/consent', $va->{h}, { categories => ['essential'], policy_version => 'a b' })->{status}, 422,
    'a malformed policy version: 422';
# The company publishes a new policy: an answer to the old one is refused.
$r = req('PATCH', '/api/v1/company', $A->{auth}, { settings => { privacy_policy_url => 'https://alpha.example/privacy',
    privacy_policy_version => '2026-12' } });
is $r->{json}{settings}{privacy_policy_version}, '2026-12', 'the company raises its policy version';
is $r->{json}{settings}{privacy_policy_url}, 'https://alpha.example/privacy', '... and names its policy page';
my $cfg = $t->get("/api/v1/widget/config?bot=$A->{bot}{public_key}")->{json};
is_deeply [@$cfg{qw(policy_version privacy_policy_url)}], ['2026-12', 'https://alpha.example/privacy'],
    'the widget reads both before any session';
$r = req('POST', '/api/v1/widget/consent', $va->{h}, { categories => ['essential'], policy_version => '1' });
is $r->{status}, 409, 'a consent to the old version: 409';
is $r->{json}{code}, 'policy_changed', '... policy_changed';
is $r->{json}{policy_version}, '2026-12', '... naming the version in force';
$r = req('POST', '/api/v1/widget/consent', $va->{h}, { categories => ['essential'], policy_version => '2026-12' });
is $r->{json}{policy_version}, '2026-12', 'to the new one: recorded with it';
is req('POST', '/api/v1/widget/consent', $va->{h}, { categories => ['essential', 'marketing'] })->{json}{policy_version}, '2026-12',
    "without a version, the company's in force is recorded (never the widget's word)";
is req('PATCH', '/api/v1/company', $A->{auth}, { settings => { privacy_policy_url => 'javascript:alert(1)' } })->{status}, 422,
    'a policy page that is no http(s) URL: 422';
is req('PATCH', '/api/v1/company', $A->{auth}, { settings => { privacy_policy_version => 'V 2' } })->{status}, 422,
    'a malformed version: 422';
my $vid = $t->sql('SELECT visitor_id FROM conversations WHERE id = ?', $va->{conv})->[0]{visitor_id};
# A consent from before companies had versions (sql/036 made them NULL).
$t->sql(q{INSERT INTO consents (company_id, chatbot_id, visitor_id, categories, policy_version, created_at)
    SELECT company_id, chatbot_id, visitor_id, '{essential}', NULL, now() - interval '1 year' FROM conversations WHERE id = ?}, $va->{conv});
$r = req('GET', "/api/v1/consents?visitor_id=$vid", $A->{auth});
is $r->{status}, 200, 'the company lists what a visitor agreed to';
is_deeply [map { $_->{policy_version} } @{ $r->{json}{items} }], ['2026-12', '2026-12', '1', undef],
    '... every answer, newest first, an old one with no version';
my $audit = $t->sql(q{SELECT changes FROM audit_log WHERE company_id = ? AND action = 'company.update' ORDER BY seq DESC LIMIT 1}, $A->{company}{id})->[0];
like $audit->{changes}, qr/privacy_policy_version/, 'the policy change is audited with its values';
is scalar @{ req('GET', '/api/v1/consents', $B->{auth})->{json}{items} }, 0, "another company sees none of them";

# --- the stream ends with the session --------------------------------------
my $hash = $t->sql('SELECT password_hash FROM users WHERE id = ?', $A->{user}{id})->[0]{password_hash};
$t->sql(q{INSERT INTO users (company_id, email, name, role, password_hash) VALUES (?, 'm2@alpha.example', 'Em Two', 'member', ?)},
    $A->{company}{id}, $hash);
my $m2 = $t->post('/api/v1/auth/login', json => { email => 'm2@alpha.example', password => $pw })->{json};
my $m2s = subscribe('/api/v1/events', Authorization => "Bearer $m2->{access_token}");
is $m2s->{status}, 200, 'a member subscribes';
$t0 = time;
is req('POST', '/api/v1/auth/logout', { authorization => "Bearer $m2->{access_token}" })->{status}, 204, 'and logs out';
1 while defined next_event($m2s, 3);
ok $m2s->{closed}, 'the stream ends at once';
ok time - $t0 < 3, '... within moments, not 15 minutes';

my $m3 = $t->post('/api/v1/auth/login', json => { email => 'm2@alpha.example', password => $pw })->{json};
my $m3s = subscribe('/api/v1/events', Authorization => "Bearer $m3->{access_token}");
# logout-all ends every stream of the user, whichever session.
my $m4 = $t->post('/api/v1/auth/login', json => { email => 'm2@alpha.example', password => $pw })->{json};
my $m5 = $t->post('/api/v1/auth/login', json => { email => 'm2@alpha.example', password => $pw })->{json};
my $m4s = subscribe('/api/v1/events', Authorization => "Bearer $m4->{access_token}");
my $m5s = subscribe('/api/v1/events', Authorization => "Bearer $m5->{access_token}");
is req('POST', '/api/v1/auth/logout-all', { authorization => "Bearer $m5->{access_token}" })->{status}, 204, 'logout-all';
1 while defined next_event($m4s, 3);
1 while defined next_event($m5s, 3);
ok $m4s->{closed} && $m5s->{closed}, '... ends the streams of all their sessions';
$m3 = $t->post('/api/v1/auth/login', json => { email => 'm2@alpha.example', password => $pw })->{json};
$m3s = subscribe('/api/v1/events', Authorization => "Bearer $m3->{access_token}");
is $m3s->{status}, 200, 'logged in again, subscribed again';
my $m2id = $t->sql(q{SELECT id FROM users WHERE email = 'm2@alpha.example'})->[0]{id};
is req('DELETE', "/api/v1/members/$m2id", $A->{auth})->{status}, 204, 'the member is removed';
1 while defined next_event($m3s, 3);
ok $m3s->{closed}, '... and their stream ends at once';

# The company deleted: every member's stream ends, however many there are.
my $Bc = { id => $B->{company}{id}, user => $B->{user}{id} };
my @subs = map {
	my $h = $t->add_member($Bc, "many$_\@beta.example", 'member', $pw);
	subscribe('/api/v1/events', Authorization => $h->{authorization});
} 1 .. 20;
is scalar(grep { $_->{status} == 200 } @subs), 20, 'twenty members of another company subscribe';
is req('DELETE', '/api/v1/company', $B->{auth}, { password => $pw, confirm_name => 'beta' })->{status}, 204,
    'the company is deleted';
for my $s (@subs) { 1 while defined next_event($s, 3) }
is scalar(grep { $_->{closed} } @subs), 20, '... and all twenty streams end';

done_testing;
