# Offline mode in a real browser (t/browser/offline.mjs): a handoff at
# night, an address left and confirmed through parley's chat page, an
# agent's reply next morning mailed with a link that reopens the same
# conversation. The host page is on another site than parley's.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use File::Path qw(make_path);
use ParleyTest;

my $chromium = ParleyTest->browser;

my $t = ParleyTest->new(env => { PARLEY_NOTIFY_SWEEP_INTERVAL => 1, PARLEY_CONTACT_REPLY_DELAY => 1 });
my $base = $t->url('');
$base =~ s{/$}{};
$t->stop_parleyd;
$t->{env}{PARLEY_PUBLIC_BASE_URL} = $base;
$t->start_parleyd;
my $own = $t->signup(json => { email => 'nils@night.example', password => 'a night shift passphrase',
    name => 'Nils', company_name => 'Night Shop' })->{json};
my $auth = { authorization => "Bearer $own->{access_token}" };
my $port = ParleyTest::free_port();
my $bot = $t->request('POST', '/api/v1/chatbots', headers => $auth, json => { name => 'Night helper',
    allowed_origins => ["http://localhost:$port"] })->{json};
# Enabled with no opening hours: closed now, as at night.
is $t->request('PUT', "/api/v1/chatbots/$bot->{id}/hours", headers => $auth, json => { enabled => JSON::PP::true,
    timezone => 'Europe/Tallinn', weekly => [] })->{status}, 200, 'the shop is closed now';

$t->host_page($port, 'Night shop', $base, $bot->{public_key});

my $out = $t->dir . '/screenshots';
make_path($out);
local $ENV{BASE} = $base;
local $ENV{HOST_URL} = "http://localhost:$port/";
local $ENV{AGENT_TOKEN} = $own->{access_token};
local $ENV{MAIL_DIR} = $t->dir . '/mail';
local $ENV{VISITOR} = 'owl@visitor.example';
local $ENV{REPLY} = 'Good morning! Yes, the lamp ships today.';
local $ENV{OUT} = $out;
local $ENV{CHROMIUM} = $chromium;
my $checks = $t->browser_checks(ParleyTest->srcdir . '/t/browser/offline.mjs');
cmp_ok $checks, '>=', 10, "the browser made its checks ($checks)";

done_testing;
