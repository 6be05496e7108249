# Consent that respects the visitor, in a real browser
# (t/browser/consent.mjs): the banner below the conversation with three
# choices of equal weight and the company's privacy policy linked; answers
# stored with the company's policy version; kept across reloads of the
# shop's page (another site than parley's); changed from the menu; asked
# again when the policy version changes.
use strict;
use warnings;
use Test::More;
use ParleyTest;

my $chromium = ParleyTest->browser;
my $t = ParleyTest->new;
my $base = $t->url('');
$base =~ s{/$}{};
my $own = $t->signup(json => { email => 'cora@consent.example', password => 'an honest consent banner passphrase', name => 'Cora',
    company_name => 'Consent Shop' })->{json};
my $auth = { authorization => "Bearer $own->{access_token}" };
my $policy = 'https://consent.example/privacy';
is $t->request('PATCH', '/api/v1/company', headers => $auth, json => { settings => { privacy_policy_url => $policy,
    privacy_policy_version => '2026-12' } })->{status}, 200, 'the company names its privacy policy and its version';
my $port = ParleyTest::free_port();
my $bot = $t->request('POST', '/api/v1/chatbots', headers => $auth, json => { name => 'Consent helper',
    welcome_message => 'Hello! Ask me anything.', allowed_origins => ["http://localhost:$port"] })->{json};
$t->host_page($port, 'Consent shop', $base, $bot->{public_key});

local $ENV{BASE} = $base;
local $ENV{HOST_URL} = "http://localhost:$port/";
local $ENV{TOKEN} = $own->{access_token};
local $ENV{POLICY_URL} = $policy;
local $ENV{CHROMIUM} = $chromium;
my $checks = $t->browser_checks(ParleyTest->srcdir . '/t/browser/consent.mjs');
cmp_ok $checks, '>=', 10, "the browser made its checks ($checks)";

done_testing;
