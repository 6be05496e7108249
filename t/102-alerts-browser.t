# The console's security pages in a real browser (Debian's chromium via
# playwright-core, t/browser/alerts.mjs), against the real stack: the
# "this was not me" page a new sign-in mail links to ends that session
# (and says so when it already ended), and the security alerts page lists
# the company's alerts, marks the one a mail names, acknowledges and
# resolves it, and filters by state. axe finds nothing serious.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;

my $chromium = -x '/usr/bin/chromium' ? '/usr/bin/chromium' : undef;
ok $chromium, 'chromium is installed (dev/test installs it)' or BAIL_OUT('no chromium');
ok -d ParleyTest->srcdir . '/t/browser/node_modules/playwright-core', 'playwright-core is installed' or BAIL_OUT('no playwright-core');

my $t = ParleyTest->new;
my $https = $t->url('', 'https');
$https =~ s{/$}{};
$t->stop_parleyd;
$t->{env}{PARLEY_PUBLIC_BASE_URL} = $https;
$t->start_parleyd;

my $pw = 'an alerts passphrase, long';
my $own = $t->signup(json => { email => 'boss@alerts.example', password => $pw, name => 'Bo Boss', company_name => 'Alert Co' })->{json};
my $cid = $own->{company}{id};
my $auth = { authorization => "Bearer $own->{access_token}" };
my $hash = $t->sql('SELECT password_hash FROM users WHERE id = ?', $own->{user}{id})->[0]{password_hash};
my $agent = $t->sql(q{INSERT INTO users (company_id, email, name, role, password_hash) VALUES (?, 'ann@alerts.example', 'Ann', 'member', ?) RETURNING id},
    $cid, $hash)->[0]{id};
my $firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
sub login { my ($from, $ua) = @_; $t->post('/api/v1/auth/login', headers => { 'x-forwarded-for' => $from, 'user-agent' => $ua },
    json => { email => 'ann@alerts.example', password => $pw })->{json} }
login('198.51.100.7', $firefox);
my $intruder = login('203.0.113.9', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36');
my $mail = $t->wait_mail('ann@alerts.example', qr/New sign-in/);
my ($link) = $mail->{body} =~ m{(https://\S+/sign-in-check#token=\S+)};
ok $link, 'the new sign-in mail links to the console' or diag $mail->{body};
# An alert of another rule, to acknowledge and resolve from the page.
is $t->request('PATCH', "/api/v1/members/$agent", headers => $auth, json => { role => 'admin' })->{status}, 200, 'Ann made admin';
my $granted = $t->sql(q{SELECT id FROM security_alerts WHERE company_id = ? AND rule = 'role_granted'}, $cid)->[0]{id};
ok $granted, '... which opened role_granted';

local $ENV{BASE} = $https;
local $ENV{NODE_TLS_REJECT_UNAUTHORIZED} = '0';
local $ENV{OUT} = $t->dir;
local $ENV{CHROMIUM} = $chromium;
local $ENV{EMAIL} = 'boss@alerts.example';
local $ENV{PASSWORD} = $pw;
local $ENV{LINK} = $link;
local $ENV{ALERT} = $granted;
my $checks = $t->browser_checks(ParleyTest->srcdir . '/t/browser/alerts.mjs');
cmp_ok $checks, '>=', 12, "the browser made its checks ($checks)";
is $t->get('/api/v1/me', headers => { authorization => "Bearer $intruder->{access_token}" })->{status}, 401,
    "the page ended the intruder's session";
is $t->sql(q{SELECT state FROM security_alerts WHERE id = ?}, $granted)->[0]{state}, 'resolved', 'the alert resolved from its page';
is $t->sql(q{SELECT count(*) AS n FROM audit_log WHERE company_id = ? AND action = 'security_alert.update'}, $cid)->[0]{n}, 2,
    '... acknowledged then resolved: two audit entries';
is scalar(grep { $_->{event} eq 'csp_violation' } $t->log_events), 0, 'no CSP report';
done_testing;
