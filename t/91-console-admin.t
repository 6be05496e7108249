# The console's admin pages in a real browser: Debian's chromium driven by
# playwright-core (t/browser/admin.mjs) against the real stack. The owner
# creates, changes and deletes each thing once from its page: company
# settings, an API key (its secret shown once), a chatbot (settings, both
# keys rotated, the embed snippet, documents pasted and uploaded, viewed
# and deleted), a template, a webhook endpoint (its secret shown once,
# off and on, rotated, its deliveries), the LLM settings; reads the audit
# log and downloads its CSV, runs a data export and downloads it, answers
# privacy requests (a subject export downloaded, a visitor corrected and
# restricted, an erasure confirmed), lists consents and security events,
# starts a Stripe checkout, and deletes the company. HTML in every field
# stays text; axe finds nothing serious on any page; no CSP report.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;

my $chromium = -x '/usr/bin/chromium' ? '/usr/bin/chromium' : undef;
ok $chromium, 'chromium is installed (dev/test installs it)' or BAIL_OUT('no chromium');
ok -d ParleyTest->srcdir . '/t/browser/node_modules/playwright-core', 'playwright-core is installed' or BAIL_OUT('no playwright-core');

my $t = ParleyTest->new(stripe => 1, env => { PARLEY_WEBHOOK_ALLOW_HTTP => 1, PARLEY_WEBHOOK_ALLOW_LOOPBACK => 1 });
$t->start_receiver;
my $https = $t->url('', 'https');
$https =~ s{/$}{};
$t->stop_parleyd;
$t->{env}{PARLEY_PUBLIC_BASE_URL} = $https;
$t->start_parleyd;
my ($rc, $out) = $t->secret_set('stripe_secret_key', $t->stripe_key);
is $rc, 0, 'the Stripe key is set' or diag $out;
$t->sql(q{UPDATE plans SET stripe_price_id = 'price_ProMonthly' WHERE id = 'pro'});

my $pw = 'an admin passphrase, long';
my $evil = 'Acme <img src=x onerror=alert(1)>';
my $own = $t->signup(json => { email => 'boss@admin.example', password => $pw,
    name => 'Bo Boss', company_name => $evil })->{json};
my $auth = { authorization => "Bearer $own->{access_token}" };
$t->add_member({ id => $own->{company}{id}, user => $own->{user}{id} }, 'pat@admin.example', 'member', $pw);
# A visitor with a conversation and a consent, for the privacy pages.
my $bot = $t->request('POST', '/api/v1/chatbots', headers => $auth, json => { name => 'Seed bot',
    allowed_origins => ['https://shop.example'] })->{json};
my $s = $t->request('POST', '/api/v1/widget/sessions', headers => { origin => 'https://shop.example' },
    json => { bot_key => $bot->{public_key} });
is $s->{status}, 201, 'a visitor session' or diag $s->{content};
my $vauth = { authorization => "Bearer $s->{json}{token}", origin => 'https://shop.example' };
$t->request('POST', '/api/v1/widget/consent', headers => $vauth,
    json => { categories => ['essential'], policy_version => '1' });
my $conv = $t->request('POST', '/api/v1/widget/conversations', headers => $vauth)->{json};
$t->request('POST', "/api/v1/widget/conversations/$conv->{id}/messages", headers => $vauth, json => { content => 'hello' });
my $visitor = $t->sql('SELECT id FROM visitors')->[0]{id};

local $ENV{BASE} = $https;
local $ENV{NODE_TLS_REJECT_UNAUTHORIZED} = '0';
local $ENV{OUT} = $t->dir;
local $ENV{CHROMIUM} = $chromium;
local $ENV{EMAIL} = 'boss@admin.example';
local $ENV{PASSWORD} = $pw;
local $ENV{COMPANY} = $evil;
local $ENV{HOOK_URL} = $t->receiver_url('/hook');
local $ENV{VISITOR_ID} = $visitor;
my $checks = $t->browser_checks(ParleyTest->srcdir . '/t/browser/admin.mjs');
cmp_ok $checks, '>=', 50, "the browser made its checks ($checks)";
is scalar(grep { $_->{event} eq 'csp_violation' } $t->log_events), 0, 'no CSP report in the whole run';
is $t->sql('SELECT count(*) AS n FROM companies')->[0]{n}, 0, 'the company deleted from its page is gone';
diag 'screenshots in ' . $t->dir unless Test::More->builder->is_passing;
done_testing;
