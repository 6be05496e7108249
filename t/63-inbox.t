# The agent side: the inbox with filters and cursor pagination, one
# conversation with its messages, agent replies (a human takes over and the
# bot goes quiet), status and assignee changes, drafts (rate-limited per
# user), and the analytics summary.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;

my $t = ParleyTest->new(env => { PARLEY_SUGGEST_RATE => 3 });
my $pw = 'tangerine-orbit-velvet-42';
sub company {
	my ($n) = @_;
	my $o = $t->signup(headers => { 'x-forwarded-for' => "203.0.113.$n" },
	    json => { email => "in$n\@co$n.example", password => $pw, name => 'In Box', company_name => "Inbox $n" })->{json};
	return { %$o, auth => { authorization => "Bearer $o->{access_token}" } };
}
my $a = company(1);
my $b = company(2);
my $cid = $a->{company}{id};
my $hash = $t->sql('SELECT password_hash FROM users WHERE id = ?', $a->{user}{id})->[0]{password_hash};
my $agent_id = $t->sql(q{INSERT INTO users (company_id, email, name, role, password_hash) VALUES (?, 'agent@co1.example', 'Ag Ent', 'member', ?) RETURNING id},
    $cid, $hash)->[0]{id};
my $ag = { authorization => 'Bearer ' . $t->post('/api/v1/auth/login', json => { email => 'agent@co1.example', password => $pw })->{json}{access_token} };
sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h, defined $j ? (json => $j) : ()) }

my $bot = req('POST', '/api/v1/chatbots', $a->{auth}, { name => 'Help', allowed_origins => ['https://shop.example'] })->{json};
my $bot2 = req('POST', '/api/v1/chatbots', $a->{auth}, { name => 'Sales', allowed_origins => ['https://shop.example'] })->{json};
req('POST', "/api/v1/chatbots/$bot->{id}/documents", $a->{auth}, { title => 'Delivery', content_type => 'text/plain',
    content => 'Delivery takes two days. Tracking links arrive by e-mail.' });
sub visitor {
	my ($key) = @_;
	my $tok = $t->post('/api/v1/widget/sessions', headers => { origin => 'https://shop.example' },
	    json => { bot_key => $key })->{json}{token};
	return { authorization => "Bearer $tok" };
}
# Each message waits for the answerer's reply before the next.
sub start {
	my ($v, @texts) = @_;
	my $c = req('POST', '/api/v1/widget/conversations', $v)->{json}{id};
	my ($tok) = $v->{authorization} =~ /^Bearer (.+)$/;
	$t->visitor_say($tok, $c, $_) for @texts;
	return $c;
}
my $v1 = visitor($bot->{public_key});
my $answered = start($v1, 'When does delivery arrive?');            # the bot answers
my $unknown = start(visitor($bot->{public_key}), 'Can I pay in gold?'); # no answer: pending
my $human = start(visitor($bot2->{public_key}), 'Let me speak to a human'); # handoff, other bot
my @more = map { start(visitor($bot->{public_key}), 'Where is the tracking link?') } 1 .. 4;

# --- the inbox ----------------------------------------------------------
my $r = req('GET', '/api/v1/conversations', $ag);
is $r->{status}, 200, 'a member reads the inbox';
is scalar @{ $r->{json}{items} }, 7, 'every conversation of the company';
is $r->{json}{items}[0]{id}, $more[-1], 'newest activity first';
my %by = map { $_->{id} => $_ } @{ $r->{json}{items} };
is $by{$unknown}{status}, 'pending', 'no answer: pending';
ok $by{$unknown}{unanswered}, '... and unanswered';
ok !$by{$answered}{unanswered}, 'the bot answered: not unanswered';
is $by{$human}{handoff_reason}, 'visitor_request', 'why it was handed over';
ok exists $by{$answered}{visitor}{verified}, 'visitor details for agents';

sub ids { [sort map { $_->{id} } @{ req('GET', "/api/v1/conversations?$_[0]", $ag)->{json}{items} }] }
is_deeply ids('status=pending'), [sort $unknown, $human], 'filter by status';
is_deeply ids('unanswered=true'), [sort $unknown, $human], 'filter unanswered';
is scalar @{ ids('unanswered=false') }, 5, '... and answered';
is_deeply ids("chatbot=$bot2->{id}"), [$human], 'filter by chatbot';
is scalar @{ ids('assignee=none') }, 7, 'nobody assigned yet';
for my $bad ('status=open;x', 'status=closed', 'unanswered=maybe', 'assignee=bob', 'chatbot=1', 'limit=0', 'limit=101',
    'cursor=abc', 'cursor=1_nonsense') {
	is req('GET', "/api/v1/conversations?$bad", $ag)->{status}, 400, "bad query $bad: 400";
}

# Cursor pagination: every conversation once, in order.
my (@seen, $cursor, $pages);
do {
	$r = req('GET', '/api/v1/conversations?limit=3' . ($cursor ? "&cursor=$cursor" : ''), $ag);
	push @seen, map { $_->{id} } @{ $r->{json}{items} };
	$cursor = $r->{json}{next_cursor};
	$pages++;
} while ($cursor && $pages < 10);
is scalar @seen, 7, 'pages of 3 list all seven';
my %u = map { $_ => 1 } @seen;
is scalar keys %u, 7, '... each once';
is $pages, 3, '... in three pages';

# --- one conversation, agent replies ------------------------------------
$r = req('GET', "/api/v1/conversations/$answered", $ag);
is $r->{status}, 200, 'one conversation';
is_deeply [map { $_->{role} } @{ $r->{json}{messages} }], [qw(visitor bot)], '... with its messages in order';
like $r->{json}{messages}[1]{content}, qr/Delivery takes two days/, "... the bot's answer";

$r = req('POST', "/api/v1/conversations/$unknown/messages", $ag, { content => 'Hi, I am Ag from the team: no gold, sorry.' });
is $r->{status}, 201, 'an agent replies';
is $r->{json}{role}, 'agent', '... as an agent';
$r = req('GET', "/api/v1/conversations/$unknown", $ag)->{json};
is $r->{status}, 'open', 'the conversation is now human-handled';
is $r->{assignee_id}, $agent_id, '... and assigned to the agent who answered';
ok !$r->{unanswered}, '... and answered';
my $vt = $t->sql('SELECT visitor_id FROM conversations WHERE id = ?', $unknown)->[0]{visitor_id};
ok $t->sql('SELECT first_response_at FROM conversations WHERE id = ?', $unknown)->[0]{first_response_at}, 'first response time recorded';

my $v2 = visitor($bot->{public_key});
my $quiet = start($v2, 'When does delivery arrive?');
req('POST', "/api/v1/conversations/$quiet/messages", $ag, { content => 'I will take this one.' });
$r = req('POST', "/api/v1/widget/conversations/$quiet/messages", $v2, { content => 'When does delivery arrive exactly?' });
is $r->{json}{reply}, undef, 'after an agent replied, the bot stays quiet';
$r = req('GET', "/api/v1/widget/conversations/$quiet/messages", $v2);
is_deeply [map { $_->{role} } @{ $r->{json}{items} }], [qw(visitor bot agent visitor)], 'the visitor sees the agent reply';
is_deeply ids('unanswered=true'), [sort $human, $quiet], 'the visitor spoke last: unanswered again';

is req('POST', "/api/v1/conversations/$unknown/messages", $ag, { content => '' })->{status}, 422, 'an empty reply: 422';
is req('POST', "/api/v1/conversations/$unknown/messages", { %$ag, 'idempotency-key' => 'two words' }, { content => 'x' })->{json}{code},
    'bad_idempotency_key', 'an Idempotency-Key with a space: 400 bad_idempotency_key';
is req('POST', "/api/v1/conversations/$unknown/messages", $ag, { content => 'x' x 2001 })->{status}, 422, 'a reply too long: 422';

# --- status and assignee --------------------------------------------------
$r = req('PATCH', "/api/v1/conversations/$human", $ag, { status => 'resolved', assignee_id => $a->{user}{id} });
is $r->{status}, 200, 'resolve and assign';
is $r->{json}{status}, 'resolved', '... resolved';
is $r->{json}{assignee_id}, $a->{user}{id}, '... assigned';
is_deeply ids("assignee=$a->{user}{id}"), [$human], 'filter by assignee';
is_deeply ids('assignee=me'), [sort $unknown, $quiet], 'assignee=me';
is req('PATCH', "/api/v1/conversations/$human", $ag, { assignee_id => $b->{user}{id} })->{status}, 422,
    "another company's user cannot be assigned";
is req('PATCH', "/api/v1/conversations/$human", $ag, { assignee_id => '00000000-0000-4000-8000-000000000000' })->{status}, 422,
    'nor an unknown one';
is req('PATCH', "/api/v1/conversations/$human", $ag, { status => 'closed' })->{status}, 422, 'an unknown status: 422';
# "me", as in the assignee=me filter.
$r = req('PATCH', "/api/v1/conversations/$human", $ag, { assignee_id => 'me' });
is $r->{status}, 200, 'assignee_id "me": 200';
is $r->{json}{assignee_id}, $agent_id, '... assigned to the member asking';
{
	my $key = req('POST', '/api/v1/api-keys', $a->{auth}, { name => 'assign', scopes => ['conversations:write'] })->{json}{key};
	$r = req('PATCH', "/api/v1/conversations/$human", { authorization => "Bearer $key" }, { assignee_id => 'me' });
	is $r->{status}, 422, '... an API key is nobody to assign: 422';
	is $r->{json}{errors}[0]{field}, 'assignee_id', '... naming the field';
}
$r = req('PATCH', "/api/v1/conversations/$human", $ag, { assignee_id => undef, status => 'bot' });
is $r->{json}{assignee_id}, undef, 'unassign';
is $r->{json}{status}, 'bot', 'hand back to the bot';

# --- drafts -----------------------------------------------------------------
$r = req('POST', "/api/v1/conversations/$answered/suggest", $ag);
is $r->{status}, 202, 'a draft for the agent: queued';
my $dpath = "/api/v1/conversations/$answered/suggestions/$r->{json}{id}";
ParleyTest::wait_for(sub { req('GET', $dpath, $ag)->{json}{status} ne 'queued' }, 'the draft');
$r = req('GET', $dpath, $ag);
like $r->{json}{draft}, qr/Delivery takes two days/, '... from the knowledge base (no provider here)';
is $r->{json}{source}, 'knowledge_base', '... saying so';
is req('POST', "/api/v1/conversations/$answered/suggest", $ag)->{status}, 202, 'a second';
is req('POST', "/api/v1/conversations/$answered/suggest", $ag)->{status}, 202, 'a third';
$r = req('POST', "/api/v1/conversations/$answered/suggest", $ag);
is $r->{status}, 429, 'the fourth in a minute: 429 (suggest_rate)';
ok $r->{headers}{'retry-after'}, '... with Retry-After';
is req('POST', "/api/v1/conversations/$answered/suggest", $a->{auth})->{status}, 202, 'another agent has a budget of their own';
# Nothing in the knowledge base for it: refused, not an empty draft.
$r = req('POST', "/api/v1/conversations/$unknown/suggest", $a->{auth});
is $r->{status}, 202, 'a draft for a question the knowledge base cannot answer';
{
	my $p = "/api/v1/conversations/$unknown/suggestions/$r->{json}{id}";
	ParleyTest::wait_for(sub { req('GET', $p, $a->{auth})->{json}{status} ne 'queued' }, 'that draft');
	my $d = req('GET', $p, $a->{auth})->{json};
	is $d->{status}, 'refused', '... is refused' or diag explain $d;
	ok !length($d->{draft} // ''), '... with no draft';
}

# --- boundaries ---------------------------------------------------------------
is req('GET', "/api/v1/conversations/$answered", $b->{auth})->{status}, 404, "another company's conversation: 404";
is req('POST', "/api/v1/conversations/$answered/messages", $b->{auth}, { content => 'x' })->{status}, 404, '... cannot be answered';
is req('PATCH', "/api/v1/conversations/$answered", $b->{auth}, { status => 'resolved' })->{status}, 404, '... nor changed';
is scalar @{ req('GET', '/api/v1/conversations', $b->{auth})->{json}{items} }, 0, '... nor listed';
my $rk = req('POST', '/api/v1/api-keys', $a->{auth}, { name => 'r', scopes => ['conversations:read'] })->{json}{key};
is req('GET', '/api/v1/conversations', { authorization => "Bearer $rk" })->{status}, 200, 'a key with conversations:read lists';
is_deeply [sort map { $_->{id} } @{ req('GET', '/api/v1/conversations?assignee=me', { authorization => "Bearer $rk" })->{json}{items} }],
    [sort map { $_->{id} } @{ req('GET', '/api/v1/conversations?assignee=me', $a->{auth})->{json}{items} }],
    "... and assignee=me is the key's creator";
# A cursor is 18 digits at most: always a bigint, never a 500.
is req('GET', '/api/v1/conversations?cursor=9999999999999999999_00000000-0000-4000-8000-000000000000', $ag)->{status}, 400,
    'a cursor of 19 digits: 400';
is req('GET', '/api/v1/conversations?limit=99999999999999999999', $ag)->{json}{code}, 'bad_query', 'a limit past a bigint: 400 bad_query';
is req('POST', "/api/v1/conversations/$answered/messages", { authorization => "Bearer $rk" }, { content => 'x' })->{status}, 403,
    '... but cannot reply';

# Cursor pagination with ties: every conversation at the same instant.
$t->sql(q{UPDATE conversations SET last_message_at = '2026-01-01 00:00:00+00' WHERE company_id = ?}, $cid);
@seen = ();
($cursor, $pages) = (undef, 0);
do {
	$r = req('GET', '/api/v1/conversations?limit=1' . ($cursor ? "&cursor=$cursor" : ''), $ag);
	push @seen, map { $_->{id} } @{ $r->{json}{items} };
	$cursor = $r->{json}{next_cursor};
	$pages++;
} while ($cursor && $pages < 20);
%u = map { $_ => 1 } @seen;
is scalar @seen, 8, 'ties on the last activity: pages of one still list all eight';
is scalar keys %u, 8, '... each once';

# --- analytics ------------------------------------------------------------------
# First responses 10 s, 20 s, ... after the first visitor message: the
# median is known exactly.
$t->sql(q{UPDATE conversations c SET first_response_at = c.first_visitor_at + make_interval(secs => r.n * 10)
    FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM conversations
          WHERE company_id = ? AND first_response_at IS NOT NULL) r WHERE c.id = r.id}, $a->{company}{id});
my $answered = $t->sql(q{SELECT count(*) AS n FROM conversations WHERE company_id = ? AND first_response_at IS NOT NULL}, $a->{company}{id})->[0]{n};
my $stored = $t->sql(q{SELECT count(*) AS n FROM messages WHERE company_id = ?}, $a->{company}{id})->[0]{n};
$r = req('GET', '/api/v1/analytics/summary', $a->{auth});
is $r->{status}, 200, 'the analytics summary';
is $r->{json}{conversations}, 8, 'conversations';
is $r->{json}{handed_off}, 3, 'handed off (to a human by the bot, or taken by an agent)';
is $r->{json}{bot_resolved}, 5, 'answered by the bot alone';
is $r->{json}{messages}, $stored, "messages: every one stored ($stored)";
cmp_ok $answered, '>=', 2, "conversations with a first response ($answered)";
is $r->{json}{median_first_response_seconds}, 10 * ($answered + 1) / 2, 'median first response time, in seconds';
is $r->{json}{tokens}, 0, 'no tokens used offline';
is req('GET', '/api/v1/analytics/summary?from=2000-01-01&to=2000-02-01', $a->{auth})->{json}{conversations}, 0, 'a range with nothing';
is req('GET', '/api/v1/analytics/summary?from=yesterday-ish', $a->{auth})->{status}, 400, 'an unparsable time: 400';
is req('GET', '/api/v1/analytics/summary', $ag)->{json}{conversations}, 8, 'agents (members) see them too';
my $ak = req('POST', '/api/v1/api-keys', $a->{auth}, { name => 'an', scopes => ['analytics:read'] })->{json}{key};
is req('GET', '/api/v1/analytics/summary', { authorization => "Bearer $ak" })->{status}, 200, 'and a key with analytics:read';
is req('GET', '/api/v1/analytics/summary', $b->{auth})->{json}{conversations}, 0, 'another company sees its own (none)';

done_testing;
