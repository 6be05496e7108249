# Plans: a table the operator edits (free, pro, enterprise seeded) whose
# limits the endpoints that create things enforce with 402 plan_limit,
# naming the limit; the company's monthly LLM token budget is its plan's;
# visitor messages are counted against the monthly allowance.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;

my $t = ParleyTest->new(llm => 1);
my $pw = 'tangerine-orbit-velvet-42';
my $own = $t->signup(json => { email => 'plan@co.example', password => $pw,
    name => 'Pl An', company_name => 'Plan Co' })->{json};
my $cid = $own->{company}{id};
my $auth = { authorization => "Bearer $own->{access_token}" };
sub req { my ($m, $p, $j) = @_; $t->request($m, $p, headers => $auth, defined $j ? (json => $j) : ()) }

is_deeply [map { $_->{id} } @{ $t->sql('SELECT id FROM plans ORDER BY id') }], [qw(enterprise free pro)], 'plans seeded';
is $t->sql('SELECT plan FROM companies WHERE id = ?', $cid)->[0]{plan}, 'free', 'a new company is on the free plan';

my @bots = map { req('POST', '/api/v1/chatbots', { name => "Bot $_", allowed_origins => ['https://shop.example'] }) } 1 .. 3;
is_deeply [map { $_->{status} } @bots], [201, 201, 201], 'the free plan allows three chatbots';
my $r = req('POST', '/api/v1/chatbots', { name => 'Bot 4' });
is $r->{status}, 402, 'a fourth: 402';
is $r->{json}{code}, 'plan_limit', '... plan_limit';
is_deeply [@{ $r->{json} }{qw(limit max plan)}], ['chatbots', 3, 'free'], '... naming the limit, its maximum and the plan';
is $t->sql('SELECT count(*) AS n FROM chatbots WHERE company_id = ?', $cid)->[0]{n}, 3, '... and nothing was created';
$t->sql(q{UPDATE plans SET max_chatbots = 4 WHERE id = 'free'});
is req('POST', '/api/v1/chatbots', { name => 'Bot 4' })->{status}, 201, 'the operator raises the limit: allowed';
$t->sql(q{UPDATE companies SET plan = 'enterprise' WHERE id = ?}, $cid);
is req('POST', '/api/v1/chatbots', { name => 'Bot 5' })->{status}, 201, 'enterprise: no chatbot limit';
$t->sql(q{UPDATE companies SET plan = 'free' WHERE id = ?}, $cid);

# What the owner sees.
$r = req('GET', '/api/v1/billing');
is $r->{status}, 200, 'the owner reads the billing summary';
is $r->{json}{plan}{id}, 'free', '... the plan';
is $r->{json}{plan}{limits}{chatbots}, 4, '... its limits';
is $r->{json}{usage}{chatbots}, 5, '... and what is used';
is $r->{json}{billing_state}, 'none', '... the billing state';
my $hash = $t->sql('SELECT password_hash FROM users WHERE id = ?', $own->{user}{id})->[0]{password_hash};
$t->sql(q{INSERT INTO users (company_id, email, name, role, password_hash) VALUES (?, 'adm@plan.example', 'Ad Min', 'admin', ?)}, $cid, $hash);
my $adm = $t->post('/api/v1/auth/login', json => { email => 'adm@plan.example', password => $pw })->{json};
is $t->request('GET', '/api/v1/billing', headers => { authorization => "Bearer $adm->{access_token}" })->{status}, 403,
    'an admin may not (billing is the owner\'s)';

# Documents.
my $bot = $bots[0]{json}{id};
$t->sql(q{UPDATE plans SET max_documents = 1 WHERE id = 'free'});
is req('POST', "/api/v1/chatbots/$bot/documents", { title => 'A', content_type => 'text/plain', content => 'Watering tomatoes daily.' })->{status},
    201, 'a first document';
$r = req('POST', "/api/v1/chatbots/$bot/documents", { title => 'B', content_type => 'text/plain', content => 'More.' });
is $r->{status}, 402, 'a second one over max_documents: 402';
is $r->{json}{limit}, 'documents', '... documents';

# Members: users and open invitations count.
$t->sql(q{UPDATE plans SET max_members = 3 WHERE id = 'free'});
is req('POST', '/api/v1/invitations', { email => 'one@co.example', role => 'member' })->{status}, 201, 'an invitation within max_members';
$r = req('POST', '/api/v1/invitations', { email => 'two@co.example', role => 'member' });
is $r->{status}, 402, 'one more over max_members (the owner, an admin and an open invitation): 402';
is $r->{json}{limit}, 'members', '... members';

# The LLM budget is the plan's.
$t->sql(q{UPDATE plans SET monthly_llm_tokens = 0 WHERE id = 'free'});
my $tok = $t->post('/api/v1/widget/sessions', headers => { origin => 'https://shop.example' },
    json => { bot_key => $bots[0]{json}{public_key} })->{json}{token};
my $v = { authorization => "Bearer $tok" };
my $c = $t->request('POST', '/api/v1/widget/conversations', headers => $v)->{json}{id};
$t->llm_reset;
$r = $t->visitor_say($tok, "$c", 'Watering?');
is $r->{json}{status}, 'pending', "the plan's monthly LLM tokens spent: handed to a human";
is $t->sql('SELECT handoff_reason FROM conversations WHERE id = ?', $c)->[0]{handoff_reason}, 'budget', '... budget';
is scalar @{ $t->llm_requests }, 0, '... without asking the provider';
$t->sql(q{UPDATE plans SET monthly_llm_tokens = NULL WHERE id = 'free'});
my $c2 = $t->request('POST', '/api/v1/widget/conversations', headers => $v)->{json}{id};
$r = $t->visitor_say($tok, "$c2", 'Watering?');
is $r->{json}{status}, 'bot', 'no token limit on the plan: the bot answers';
is scalar @{ $t->llm_requests }, 1, '... through the provider';

# Monthly messages: visitor messages are counted as they are stored.
my $used = req('GET', '/api/v1/billing')->{json}{usage}{messages_this_month};
is $used, 2, 'two visitor messages counted this month';
$t->sql(q{UPDATE plans SET monthly_messages = 3 WHERE id = 'free'});
$r = $t->visitor_say($tok, "$c2", 'Third?');
is $r->{status}, 201, 'the third message of an allowance of three';
$t->llm_reset;
my $before = $t->sql('SELECT count(*) AS n FROM messages WHERE company_id = ?', $cid)->[0]{n};
$r = $t->request('POST', "/api/v1/widget/conversations/$c2/messages", headers => $v, json => { content => 'Fourth?' });
is $r->{status}, 402, 'the fourth: 402';
is_deeply [@{ $r->{json} }{qw(code limit max plan)}], ['plan_limit', 'monthly_messages', 3, 'free'], '... plan_limit monthly_messages, max and plan';
is $t->sql('SELECT count(*) AS n FROM messages WHERE company_id = ?', $cid)->[0]{n}, $before, '... nothing stored';
is scalar @{ $t->llm_requests }, 0, '... and the provider not asked';
is req('GET', '/api/v1/billing')->{json}{usage}{messages_this_month}, 3, '... nor counted';
is $t->request('POST', "/api/v1/conversations/$c2/messages", headers => $auth, json => { content => 'An agent answers.' })->{status}, 201,
    "agents' replies do not count";
$t->sql(q{UPDATE message_usage SET month = month - interval '1 month' WHERE company_id = ?}, $cid);
is $t->request('POST', "/api/v1/widget/conversations/$c2/messages", headers => $v, json => { content => 'New month?' })->{status}, 201,
    'a new month, a new allowance';

done_testing;
