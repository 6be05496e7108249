# The widget's look and readable answers in a real browser
# (t/browser/look.mjs): the console refuses an unreadable accent and saves
# a readable one; the launcher and the chat wear it, with the logo and the
# bot's name, also when the frame could not read the look at first; the offline responder answers in a few sentences rendered
# from Markdown and cites every document it used; an agent's reply shows
# their display name, a link with where it goes, and a javascript: link
# and raw HTML as text. The host page is on another site than parley's.
use strict;
use warnings;
use Test::More;
use ParleyTest;
use TestFiles qw(png);

my $chromium = ParleyTest->browser;

my $t = ParleyTest->new;
# HTTPS, as in production: the console's refresh cookie is Secure.
my $base = $t->https_base;
my $pw = 'a look and feel passphrase';
my $own = $t->signup(json => { email => 'ines@look.example', password => $pw, name => 'Ines Dahl', company_name => 'Look Shop' })->{json};
my $auth = { authorization => "Bearer $own->{access_token}" };
my $port = ParleyTest::free_port();
my $bot = $t->request('POST', '/api/v1/chatbots', headers => $auth, json => { name => 'Look helper',
    allowed_origins => ["http://localhost:$port"] })->{json};
is $t->request('PUT', "/api/v1/chatbots/$bot->{id}/logo", headers => { %$auth, 'content-type' => 'image/png' },
    body => png(64, 64))->{status}, 200, 'the chatbot has a logo';
for my $d ([ 'Returns policy', "# Returns\n\nReturns are **free** within 30 days of delivery. Print the label from your order page.\n\n"
	    . "- Keep the receipt\n- Pack the item well\n\nRefunds reach your account within 5 working days.", 'https://shop.example/returns' ],
	[ 'Shipping', "## Shipping\n\nExpress shipping costs 9 euros and arrives the next working day. Standard shipping is free over 50 euros.", undef ],
	[ 'Opening hours', "# Opening hours\n\nThe shop in Tartu is open Monday to Saturday.", undef ]) {
	is $t->request('POST', "/api/v1/chatbots/$bot->{id}/documents", headers => $auth, json => { title => $d->[0],
	    content_type => 'text/markdown', content => $d->[1], defined $d->[2] ? (source_url => $d->[2]) : () })->{status},
	    201, "the knowledge base has \"$d->[0]\"";
}
is $t->request('PATCH', '/api/v1/me', headers => $auth, json => { display_name => 'Ines' })->{status}, 200,
    'the agent shows visitors the name Ines';

$t->host_page($port, 'Look shop', $base, $bot->{public_key});
local $ENV{BASE} = $base;
local $ENV{HOST_URL} = "http://localhost:$port/";
local $ENV{EMAIL} = 'ines@look.example';
local $ENV{PASSWORD} = $pw;
local $ENV{TOKEN} = $own->{access_token};
local $ENV{BOT_ID} = $bot->{id};
local $ENV{CHROMIUM} = $chromium;
local $ENV{PGHOST} = $t->pg->host;
local $ENV{PGPORT} = $t->pg->port;
local $ENV{PGDATABASE} = $t->dbname;
local $ENV{NODE_TLS_REJECT_UNAUTHORIZED} = '0';	# the test's own certificate
my $checks = $t->browser_checks(ParleyTest->srcdir . '/t/browser/look.mjs');
cmp_ok $checks, '>=', 21, "the browser made its checks ($checks)";

done_testing;
