# The console's account pages (console/), in a real browser: Debian's
# chromium driven by playwright-core (t/browser/console.mjs) against the
# real stack. Every page parley's e-mails link to answers and works:
# sign up and confirm, accept an invitation (an address with an account
# elsewhere is told so), reset a password and log in with it, verify an
# address; HTML in a name stays text; axe-core finds nothing serious; and
# the whole run sends no CSP report.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;

my $chromium = -x '/usr/bin/chromium' ? '/usr/bin/chromium' : undef;
my $modules = ParleyTest->srcdir . '/t/browser/node_modules/playwright-core';
ok $chromium, 'chromium is installed (dev/test installs it)' or BAIL_OUT('no chromium');
ok -d $modules, 'playwright-core is installed (dev/test runs npm ci in t/browser)' or BAIL_OUT('no playwright-core');

# parley's own captcha on: the sign-up and forgot-password pages solve
# its proof of work in the page (a low difficulty, for speed).
my $t = ParleyTest->new(env => { PARLEY_POW_DIFFICULTY => 12 });
# Over HTTPS, as the console is used (its refresh cookie is Secure), and
# the public_base_url its cookie's Origin check compares with.
my $https = $t->url('', 'https');
$https =~ s{/$}{};
$t->stop_parleyd;
$t->{env}{PARLEY_PUBLIC_BASE_URL} = $https;
$t->start_parleyd;
# Every page of the console answers, and its shell is the same page.
for my $p (qw(/ /login /signup /confirm-signup /verify-email /reset-password /forgot-password /accept-invitation
    /settings/billing /settings/webhooks /settings/account /settings/members)) {
	my $r = $t->get($p);
	is $r->{status}, 200, "GET $p: the console";
	like $r->{content}, qr{<script type="module" src="/console/app\.js"></script>}, '... its shell';
}
is $t->get('/console/app.js')->{headers}{'content-type'} =~ m{javascript} ? 1 : 0, 1, 'its script';
is $t->get('/nothing-here')->{status}, 404, 'another path is still 404';

my $other = $t->register_company('elsewhere', 'an elsewhere passphrase');
my $unv = $t->register_company('unverified', 'an unverified passphrase');
$t->sql('UPDATE users SET email_verified_at = NULL WHERE id = ?', $unv->{user});

local $ENV{BASE} = $https;
local $ENV{NODE_TLS_REJECT_UNAUTHORIZED} = '0'; # the suite's own certificate, for node's fetch
local $ENV{MAILDIR} = $t->dir . '/mail';
local $ENV{OUT} = $t->dir;
local $ENV{CHROMIUM} = $chromium;
local $ENV{OTHER_EMAIL} = $other->{email};
local $ENV{UNVERIFIED_TOKEN} = $unv->{token};
my $checks = $t->browser_checks(ParleyTest->srcdir . '/t/browser/console.mjs');
cmp_ok $checks, '>=', 25, "the browser made its checks ($checks)";
is scalar(grep { $_->{event} eq 'csp_violation' } $t->log_events), 0, 'no CSP report in the whole run';
done_testing;
