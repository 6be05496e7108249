# The chat widget in a real browser: Debian's chromium, headless, driven by
# playwright-core (t/browser/widget.mjs), against the real stack. A host
# page on one origin embeds the widget; a visitor chats (streamed reply,
# citation), asks for a person, sees an agent's reply arrive, reloads and
# finds the conversation; HTML in a message stays text; axe-core finds no
# serious or critical accessibility problem; the same page on an origin
# the chatbot does not allow gets no session. Screenshots of a failure go
# to the test's directory (kept when a test fails).
use strict;
use warnings;
use Test::More;
use JSON::PP;
use File::Path qw(make_path);
use ParleyTest;

my $chromium = -x '/usr/bin/chromium' ? '/usr/bin/chromium' : undef;
my $modules = ParleyTest->srcdir . '/t/browser/node_modules/playwright-core';
# dev/test installs both; a bare checkout without them fails here, loudly.
ok $chromium, 'chromium is installed (dev/test installs it)' or BAIL_OUT('no chromium');
ok -d $modules, 'playwright-core is installed (dev/test runs npm ci in t/browser)' or BAIL_OUT('no playwright-core');

my $t = ParleyTest->new(llm => 1, env => { PARLEY_WIDGET_MESSAGE_RATE => 1000 });
my $pw = 'tangerine-orbit-velvet-42';
my $own = $t->signup(json => { email => 'garden@shop.example', password => $pw,
    name => 'Gar Den', company_name => 'Garden Shop' })->{json};
my $auth = { authorization => "Bearer $own->{access_token}" };

# The host pages: one directory, served on a free port. The shop is
# "localhost", another site than parley's 127.0.0.1, as a shop's site is;
# "127.0.0.1" on the same port is an origin the chatbot does not allow.
my $port = ParleyTest::free_port();
my $base = $t->url('');
$base =~ s{/$}{};
my $bot = $t->request('POST', '/api/v1/chatbots', headers => $auth, json => { name => 'Garden helper',
    welcome_message => 'Hello! Ask me about the shop.', allowed_origins => ["http://localhost:$port"] })->{json};
$t->request('POST', "/api/v1/chatbots/$bot->{id}/documents", headers => $auth, json => { title => 'Opening hours',
    content_type => 'text/plain', source_url => 'https://garden.example/hours',
    content => 'The shop is open from 9 to 17, Monday to Friday. We are closed on weekends.' });
$t->host_page($port, 'Garden shop', $base, $bot->{public_key}, '<p>Seeds, tools and advice.</p>');

# The provider holds its answer until the page has the conversation's
# event stream open (the script releases it), then streams it slowly
# enough to be seen streaming (100 ms a word; scripted for each run).

my $out = $t->dir . '/screenshots';
make_path($out);
local $ENV{BASE} = $base;
local $ENV{HOST_URL} = "http://localhost:$port/";
local $ENV{BAD_URL} = "http://127.0.0.1:$port/";
local $ENV{AGENT_TOKEN} = $own->{access_token};
local $ENV{OUT} = $out;
# Longer than the 40 bytes the output guard holds back while it streams.
local $ENV{REPLY} = 'We are open from 9 to 17, Monday to Friday. On weekends and public holidays the shop '
    . 'is closed, and orders placed then are sent on the next working day.';
local $ENV{LLM_CONTROL} = "http://127.0.0.1:$t->{llm_port}";
local $ENV{CHROMIUM} = $chromium;
my $script = ParleyTest->srcdir . '/t/browser/widget.mjs';
# Both ways: third-party storage blocked (as in many browsers and
# profiles), and allowed.
for my $mode (qw(block allow)) {
	local $ENV{THIRD_PARTY} = $mode;
	$t->llm_script({ reply => $ENV{REPLY}, chunk_delay_ms => 100, hold => JSON::PP::true });
	open my $node, '-|', 'node', $script or die "node: $!";
	my $checks = 0;
	while (my $line = <$node>) {
		my $c = eval { decode_json($line) } or do { diag $line; next };
		$checks++;
		ok $c->{ok}, "[$mode] $c->{name}" or diag $c->{diag};
	}
	close $node;
	is $?, 0, "[$mode] the browser run ended cleanly";
	cmp_ok $checks, '>=', 17, "[$mode] the browser made its checks ($checks)";
}
diag "screenshots in $out" unless Test::More->builder->is_passing;

done_testing;
