# The console's inbox in a real browser: Debian's chromium driven by
# playwright-core (t/browser/inbox.mjs) against the real stack. A visitor
# on a shop page of another site writes in the widget; the agent, in a
# context of their own, sees the conversation arrive live, is notified
# (with the permission granted) when it is handed to a person, opens it
# with the keyboard, inserts a template with "/", takes the LLM's draft,
# edits and sends it; the visitor sees the reply; assignment, resolve,
# reopen and delete are the API's; HTML stays text; axe finds nothing
# serious; the inbox works at 360 px; a member sees no admin page and the
# API refuses it when forced; the whole run sends no CSP report.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use File::Path qw(make_path);
use ParleyTest;

my $chromium = -x '/usr/bin/chromium' ? '/usr/bin/chromium' : undef;
ok $chromium, 'chromium is installed (dev/test installs it)' or BAIL_OUT('no chromium');
ok -d ParleyTest->srcdir . '/t/browser/node_modules/playwright-core', 'playwright-core is installed' or BAIL_OUT('no playwright-core');

my $t = ParleyTest->new(llm => 1, env => { PARLEY_WIDGET_MESSAGE_RATE => 1000 });
my $https = $t->url('', 'https');
$https =~ s{/$}{};
$t->stop_parleyd;
$t->{env}{PARLEY_PUBLIC_BASE_URL} = $https;
$t->start_parleyd;

my $pw = 'an inbox passphrase, long';
my $own = $t->signup(json => { email => 'agent@inbox.example', password => $pw,
    name => 'Ada Agent', company_name => 'Inbox Shop' })->{json};
my $auth = { authorization => "Bearer $own->{access_token}" };
my $c = { id => $own->{company}{id}, user => $own->{user}{id} };
$t->add_member($c, 'mo@inbox.example', 'member', $pw);

my $port = ParleyTest::free_port();
my $bot = $t->request('POST', '/api/v1/chatbots', headers => $auth, json => { name => 'Shop helper',
    welcome_message => 'Hello!', allowed_origins => ["http://localhost:$port"] })->{json};
is $t->request('POST', "/api/v1/chatbots/$bot->{id}/documents", headers => $auth, json => { title => 'Shipping',
    content_type => 'text/plain', source_url => 'https://shop.example/shipping',
    content => 'We ship to Norway, Sweden and Denmark within five working days.' })->{status}, 201, 'a document';
is $t->request('POST', '/api/v1/templates', headers => $auth, json => { name => 'thanks',
    body => 'Thank you for writing to us!' })->{status}, 201, 'a template';
# Another chatbot with 30 conversations: the chatbot filter and the
# list's keyset pages.
my $other = $t->request('POST', '/api/v1/chatbots', headers => $auth, json => { name => 'Other bot' })->{json};
$t->sql(q{INSERT INTO visitors (company_id, chatbot_id, name) SELECT ?, ?, 'Seeded ' || g FROM generate_series(1, 30) g},
    $c->{id}, $other->{id});
$t->sql(q{INSERT INTO conversations (company_id, chatbot_id, visitor_id, status, message_count, last_role, last_message_at)
    SELECT company_id, chatbot_id, id, 'open', 1, 'visitor', now() - interval '1 day' FROM visitors WHERE chatbot_id = ?}, $other->{id});
$t->host_page($port, 'Shop', $https, $bot->{public_key});

# The bot's answer, then the agent's draft (held until the page asks).
$t->llm_script({ reply => 'We ship to **Norway** within five working days.' },
    { reply => 'Yes, we ship to Norway: parcels arrive within five working days.', chunk_delay_ms => 50 });

local $ENV{BASE} = $https;
local $ENV{NODE_TLS_REJECT_UNAUTHORIZED} = '0';
local $ENV{HOST_URL} = "http://localhost:$port/";
local $ENV{OUT} = $t->dir;
local $ENV{CHROMIUM} = $chromium;
local $ENV{AGENT_EMAIL} = 'agent@inbox.example';
local $ENV{MEMBER_EMAIL} = 'mo@inbox.example';
local $ENV{PASSWORD} = $pw;
local $ENV{BOT_ID} = $bot->{id};
my $checks = $t->browser_checks(ParleyTest->srcdir . '/t/browser/inbox.mjs');
cmp_ok $checks, '>=', 30, "the browser made its checks ($checks)";
is scalar(grep { $_->{event} eq 'csp_violation' } $t->log_events), 0, 'no CSP report in the whole run';
diag 'screenshots in ' . $t->dir unless Test::More->builder->is_passing;
done_testing;
