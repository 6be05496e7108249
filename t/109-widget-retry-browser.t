# The widget's loader asks again for a visitor session that parley
# answered 503 (t/browser/session-retry.mjs): a lock held on the visitors
# table makes the first request time out (db_statement_timeout 1 s here,
# 503 database_busy); the second, after Retry-After, finds it gone, and
# the visitor chats. The host page is on another site than parley's.
use strict;
use warnings;
use Test::More;
use ParleyTest;

my $chromium = ParleyTest->browser;
my $t = ParleyTest->new(env => { PARLEY_DB_STATEMENT_TIMEOUT => 1 });
my $own = $t->register_company('retry', 'a retrying passphrase');
my $port = ParleyTest::free_port();
my $base = $t->url('');
$base =~ s{/$}{};
my $bot = $t->request('POST', '/api/v1/chatbots', headers => $own->{auth}, json => { name => 'Patient helper',
    allowed_origins => ["http://localhost:$port"] })->{json};
ok $bot->{public_key}, 'a chatbot for the shop';
$t->host_page($port, 'Patient shop', $base, $bot->{public_key});
local $ENV{HOST_URL} = "http://localhost:$port/";
local $ENV{CHROMIUM} = $chromium;
local $ENV{PGHOST} = $t->pg->host;
local $ENV{PGPORT} = $t->pg->port;
local $ENV{PGDATABASE} = $t->dbname;
my $checks = $t->browser_checks(ParleyTest->srcdir . '/t/browser/session-retry.mjs');
cmp_ok $checks, '>=', 4, "the browser made its checks ($checks)";
is scalar(grep { $_->{event} eq 'db_error' && ($_->{sqlstate} // '') eq '57014' } $t->log_events), 1,
    'parleyd cancelled one statement on the locked table';

done_testing;
