# The widget in seven languages and right to left, in a real browser
# (t/browser/languages.mjs): the browser's language among the chatbot's
# locales, every string from its catalogue, the welcome written for it,
# dates in its format; an Arabic visitor gets the page mirrored. The host
# page is on another site than parley's.
use strict;
use warnings;
use Test::More;
use ParleyTest;

my $chromium = ParleyTest->browser;
my $t = ParleyTest->new;
my $base = $t->url('');
$base =~ s{/$}{};
my $co = $t->register_company('polyglot', 'a passphrase in seven languages');
my $port = ParleyTest::free_port();
my $r = $t->request('POST', '/api/v1/chatbots', headers => $co->{auth}, json => { name => 'Polyglot',
    allowed_origins => ["http://localhost:$port"], locales => [qw(en de fr es da sv et ar)],
    welcome_message => 'Hello! How can we help?',
    welcome_messages => { de => 'Hallo! Wie können wir helfen?', et => 'Tere! Kuidas saame aidata?', ar => 'مرحبا! كيف يمكننا المساعدة؟' } });
is $r->{status}, 201, 'a chatbot in eight languages';
$t->host_page($port, 'Polyglot shop', $base, $r->{json}{public_key});

local $ENV{BASE} = $base;
local $ENV{HOST_URL} = "http://localhost:$port/";
local $ENV{TOKEN} = $co->{token};
local $ENV{BOT_ID} = $r->{json}{id};
local $ENV{CHROMIUM} = $chromium;
my $checks = $t->browser_checks(ParleyTest->srcdir . '/t/browser/languages.mjs');
cmp_ok $checks, '>=', 40, "the browser made its checks ($checks)";

done_testing;
