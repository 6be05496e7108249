# Attachments in a real browser (t/browser/attachments.mjs): a visitor on
# a shop's page (another site than parley's) sends a picture from the
# widget; the agent sees it in the console and answers with a PDF, which
# the visitor downloads. A file whose name lies is refused in words.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Compress::Zlib qw(compress crc32);
use File::Path qw(make_path);
use ParleyTest;

my $chromium = ParleyTest->browser;

my $t = ParleyTest->new;
# HTTPS: the console's refresh cookie is Secure.
my $base = $t->https_base;
my $pw = 'a shop with pictures passphrase';
my $own = $t->signup(json => { email => 'pia@pictures.example', password => $pw, name => 'Pia', company_name => 'Pictures' })->{json};
my $auth = { authorization => "Bearer $own->{access_token}" };
my $port = ParleyTest::free_port();
my $bot = $t->request('POST', '/api/v1/chatbots', headers => $auth, json => { name => 'Picture helper',
    allowed_origins => ["http://localhost:$port"] })->{json};
my $host = $t->host_page($port, 'Picture shop', $base, $bot->{public_key});

# The files a person would pick.
my $files = $t->dir . '/files';
make_path($files);
sub chunk { my ($type, $data) = @_; pack('N', length $data) . $type . $data . pack('N', crc32($type . $data)) }
sub put { my ($name, $bytes) = @_; open my $fh, '>:raw', "$files/$name" or die; print $fh $bytes; close $fh }
put('photo.png', "\x89PNG\r\n\x1a\n" . chunk('IHDR', pack('NNCCCCC', 40, 30, 8, 2, 0, 0, 0))
    . chunk('IDAT', compress(join '', map { "\0" . ("\x20\x80\x40" x 40) } 1 .. 30)) . chunk('IEND', ''));
put('fake.png', "<!DOCTYPE html>\n<html><body><script>alert(1)</script></body></html>\n");
put('invoice.pdf', "%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");

my $out = $t->dir . '/screenshots';
make_path($out);
local $ENV{BASE} = $base;
local $ENV{HOST_URL} = $host;
local $ENV{AGENT_EMAIL} = 'pia@pictures.example';
local $ENV{PASSWORD} = $pw;
local $ENV{FILES} = $files;
local $ENV{OUT} = $out;
local $ENV{CHROMIUM} = $chromium;
my $checks = $t->browser_checks(ParleyTest->srcdir . '/t/browser/attachments.mjs');
cmp_ok $checks, '>=', 12, "the browser made its checks ($checks)";
is $t->sql(q{SELECT count(*) AS n FROM attachments})->[0]{n}, 2, 'two files were kept: the picture and the PDF';

done_testing;
