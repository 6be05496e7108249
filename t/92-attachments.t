# Attachments (sql/034-attachments.sql, src/attach.c,
# src/api_attachments.c, nginx's internal location): visitors and agents
# send images and PDFs; the kind comes from the bytes, never the name;
# images are written again without their metadata; files are served by
# nginx only after parleyd authorised the request, to the conversation's
# visitor and the company's agents; the plan's limits hold; a file whose
# row went (erasure, retention, deletion, a request that died) leaves the
# disk at the next sweep; the company export carries the files.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Compress::Zlib qw(compress);
use File::Find;
use ParleyTest;

my $t = ParleyTest->new;
my $dir = "$t->{dir}/attachments";
sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h, defined $j ? (json => $j) : ()) }
sub up {
	my ($path, $auth, $name, $bytes, $ctype) = @_;
	return $t->request('POST', "$path?filename=" . uri($name), headers => { %$auth,
	    'content-type' => $ctype // 'application/octet-stream' }, body => $bytes);
}
sub uri { my $s = shift; $s =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord $1)/ge; $s }

use TestFiles qw(png chunk $gif $pdf $svg $html);

# --- a company, a chatbot, a visitor ---
my $own = $t->signup(json => { email => 'ada@files.example', password => 'an attachments passphrase', name => 'Ada', company_name => 'Files Co' })->{json};
my $oa = { authorization => "Bearer $own->{access_token}" };
my $cid = $t->sql('SELECT company_id FROM users WHERE email = ?', 'ada@files.example')->[0]{company_id};
my $bot = req('POST', '/api/v1/chatbots', $oa, { name => 'Shop', allowed_origins => ['https://shop.example'] })->{json};
sub visitor {
	my $s = $t->post('/api/v1/widget/sessions', headers => { origin => 'https://shop.example' }, json => { bot_key => $bot->{public_key} })->{json};
	my $vh = { authorization => "Bearer $s->{token}" };
	my $conv = req('POST', '/api/v1/widget/conversations', $vh)->{json}{id};
	return ($vh, $conv, $s->{visitor}{id});
}
my ($vh, $conv, $vid) = visitor();
my $wp = "/api/v1/widget/conversations/$conv/attachments";

# --- what is refused, and that it changes nothing ---
my $r = up($wp, $vh, 'photo.png', $html, 'image/png');
is $r->{status}, 415, 'HTML named photo.png (and sent as image/png): 415';
is $r->{json}{code}, 'unsupported_attachment_type', '... unsupported_attachment_type';
is $r->{json}{detected}, 'text/html', '... naming what the bytes are';
$r = up($wp, $vh, 'invoice.png', $pdf);
is $r->{status}, 415, 'a PDF named invoice.png: 415';
is $r->{json}{code}, 'attachment_name_mismatch', '... the name lies about the bytes';
is up($wp, $vh, 'logo.svg', $svg, 'image/svg+xml')->{status}, 415, 'SVG is refused (as image/svg+xml: no file kind taken)';
is up($wp, $vh, 'logo.png', $svg)->{json}{code}, 'unsupported_attachment_type', '... under any name';
is up($wp, $vh, '.png', $pdf)->{json}{code}, 'attachment_name_mismatch', 'a PDF named ".png": the name still lies';
is up($wp, $vh, 'invoice.png.', $pdf)->{json}{code}, 'attachment_name_mismatch', '... and so does "invoice.png."';
is up($wp, $vh, 'empty.png', '')->{json}{code}, 'empty_attachment', 'an empty file: 422';
$r = up($wp, $vh, 'huge.png', png(100000, 100000, idat => compress("\0" x 64)));
is $r->{status}, 413, 'an image of 10^10 pixels (by its header): 413, before it is decoded';
is $r->{json}{code}, 'image_too_large', '... image_too_large';
$r = up($wp, $vh, 'broken.png', png(2, 2, idat => 'not zlib at all'));
is $r->{status}, 422, 'a PNG its decoder refuses: 422';
is $r->{json}{code}, 'unreadable_attachment', '... unreadable_attachment';
is up($wp, $vh, 'x.png', png(2, 2), 'text/plain')->{status}, 415, 'a Content-Type no file has: 415';
is $t->request('POST', $wp, headers => { %$vh, 'content-type' => 'image/png' }, body => png(2, 2))->{status}, 400,
    'no filename: 400';
is $t->sql('SELECT count(*) AS n FROM attachments')->[0]{n}, 0, 'nothing refused was recorded';
is $t->sql('SELECT count(*) AS n FROM messages WHERE conversation_id = ?', $conv)->[0]{n}, 0, '... no message stored';
my @files;
find(sub { push @files, $File::Find::name if -f }, $dir) if -d $dir;
is scalar @files, 0, '... and no file written';

# --- the visitor's image: a handoff, stored bare ---
my $secret = 'GPS-SECRET-51.5074N';
$r = up($wp, $vh, '../../etc/my "holiday".png', png(3, 2, text => $secret), 'image/png');
is $r->{status}, 201, 'the visitor sends a PNG';
my $msg = $r->{json}{message};
is $msg->{content}, 'my _holiday_.png', '... its name as the message, without the path or quotes';
is $msg->{attachment}{media_type}, 'image/png', '... a PNG';
is $msg->{attachment}{width}, 3, '... 3 pixels wide';
is $msg->{attachment}{height}, 2, '... 2 high';
is $r->{json}{status}, 'pending', 'the bot cannot read files: the conversation waits for a person';
like $r->{json}{reply}{content}, qr/can't open files/, '... and the bot says so, once';
my $c = $t->sql('SELECT status, handoff_reason FROM conversations WHERE id = ?', $conv)->[0];
is $c->{handoff_reason}, 'attachment', '... handoff_reason attachment';
is $t->sql(q{SELECT count(*) AS n FROM reply_jobs WHERE conversation_id = ?}, $conv)->[0]{n}, 0, '... no reply owed by the bot';
is_deeply [map { $_->{role} } @{ $t->sql('SELECT role FROM messages WHERE conversation_id = ? ORDER BY seq', $conv) }],
    ['visitor', 'bot'], '... one message and one handoff';
my $att = $msg->{attachment}{id};
my $row = $t->sql('SELECT storage_key, bytes, sha256 FROM attachments WHERE id = ?', $att)->[0];
like $row->{storage_key}, qr/^[0-9a-f]{32}\.png$/, 'stored under a random name with the extension of its kind';
my $path = "$dir/$cid/$row->{storage_key}";
ok -f $path, '... under attachments_dir/COMPANY/';
my $stored = do { local $/; open my $fh, '<:raw', $path or die; <$fh> };
is length($stored), $row->{bytes}, '... its size recorded';
unlike $stored, qr/GPS-SECRET/, '... without the metadata it was sent with (written again by libvips)';
like $stored, qr/^\x89PNG/, '... still a PNG';

# --- downloads: nginx serves them, parleyd decides who ---
my $get = $t->request('GET', "/api/v1/widget/attachments/$att", headers => $vh);
is $get->{status}, 200, 'the visitor downloads their image';
is $get->{content}, $stored, '... the stored bytes (sent by nginx)';
is $get->{headers}{'content-type'}, 'image/png', '... as image/png';
like $get->{headers}{'content-disposition'}, qr/^inline; filename="my _holiday_.png"; filename\*=UTF-8''my%20_holiday_.png$/,
    '... inline (an image, type-checked), with its name';
is $get->{headers}{'x-content-type-options'}, 'nosniff', '... nosniff';
like $get->{headers}{'content-security-policy'}, qr/\bsandbox\b/, '... a sandboxing CSP';
like $get->{headers}{'content-security-policy'}, qr/default-src 'none'/, '... that loads nothing';
is $get->{headers}{'cache-control'}, 'no-store', '... kept by no cache';
ok !exists $get->{headers}{'x-accel-redirect'}, '... and the internal location is not told';
my $ag = $t->request('GET', "/api/v1/attachments/$att", headers => $oa);
is $ag->{status}, 200, 'the company\'s agent downloads it';
is $ag->{content}, $stored, '... the same bytes';
my ($vh2, $conv2) = visitor();
is $t->request('GET', "/api/v1/widget/attachments/$att", headers => $vh2)->{status}, 404, 'another visitor: 404';
is $t->request('GET', "/api/v1/attachments/$att")->{status}, 401, 'nobody: 401';
is $t->request('GET', "/_parley/attachments/$cid/$row->{storage_key}")->{status}, 404, 'the internal location directly: 404';
is $t->request('GET', "/api/v1/attachments/not-an-id", headers => $oa)->{status}, 404, 'a malformed id: 404';
is up("/api/v1/widget/conversations/$conv/attachments", $vh2, 'a.png', png(1, 1))->{status}, 404,
    'a visitor cannot send into another visitor\'s conversation';
my $other = $t->signup(json => { email => 'eve@other.example', password => 'an other passphrase here', name => 'Eve', company_name => 'Other Co' })->{json};
my $eh = { authorization => "Bearer $other->{access_token}" };
is $t->request('GET', "/api/v1/attachments/$att", headers => $eh)->{status}, 404, 'another company\'s agent: 404';
is up("/api/v1/conversations/$conv/attachments", $eh, 'a.png', png(1, 1))->{status}, 404, '... nor can send into it';

# --- the lists show them ---
my $msgs = req('GET', "/api/v1/widget/conversations/$conv/messages", $vh)->{json}{items};
is $msgs->[0]{attachment}{id}, $att, 'the widget\'s message list carries the attachment';
is $msgs->[1]{attachment}, undef, '... and null on a message without one';
my $full = req('GET', "/api/v1/conversations/$conv", $oa)->{json};
is $full->{messages}[0]{attachment}{filename}, 'my _holiday_.png', 'so does the agent\'s conversation';

# --- the agent's PDF: a reply ---
$r = up("/api/v1/conversations/$conv/attachments", $oa, 'Invoice 2026.pdf', $pdf, 'application/pdf');
is $r->{status}, 201, 'the agent sends a PDF';
is $r->{json}{role}, 'agent', '... as the agent';
is $r->{json}{attachment}{media_type}, 'application/pdf', '... a PDF';
is $r->{json}{attachment}{width}, undef, '... without pixels';
$c = $t->sql('SELECT status, assignee_id FROM conversations WHERE id = ?', $conv)->[0];
is $c->{status}, 'open', '... the conversation is open';
is $c->{assignee_id}, $own->{user}{id} // $t->sql('SELECT id FROM users WHERE email = ?', 'ada@files.example')->[0]{id},
    '... and the agent\'s';
my $pdfid = $r->{json}{attachment}{id};
$get = $t->request('GET', "/api/v1/widget/attachments/$pdfid", headers => $vh);
is $get->{status}, 200, 'the visitor downloads the PDF';
is $get->{content}, $pdf, '... as it was sent';
is $get->{headers}{'content-type'}, 'application/pdf', '... application/pdf';
like $get->{headers}{'content-disposition'}, qr/^attachment; filename="Invoice 2026.pdf"/, '... as an attachment, never inline';
$ag = $t->request('GET', "/api/v1/attachments/$pdfid", headers => $oa);
is $ag->{status}, 200, 'the company\'s agent downloads the PDF';
is $ag->{content}, $pdf, '... the same bytes';
is $t->request('GET', "/api/v1/widget/attachments/$pdfid", headers => $vh2)->{status}, 404, 'another visitor of the chatbot: 404 for the PDF';
is $t->request('GET', "/api/v1/attachments/$pdfid", headers => $eh)->{status}, 404, 'another company\'s agent: 404 for the PDF';
is $t->request('GET', "/api/v1/attachments/$pdfid")->{status}, 401, 'nobody: 401 for the PDF';
is $t->request('GET', "/api/v1/widget/attachments/$pdfid", headers => $oa)->{status}, 401, 'an agent\'s token is no visitor\'s';
$r = up($wp, $vh, 'pixel.gif', $gif);
is $r->{status}, 201, 'a GIF' or diag explain $r->{json};
is $r->{json}{status}, 'open', '... in a conversation a person has: no handoff';
is $r->{json}{reply}, undef, '... and no bot message';
my $gk = $t->sql('SELECT storage_key FROM attachments WHERE id = ?', $r->{json}{message}{attachment}{id})->[0]{storage_key};
my $gbytes = do { local $/; open my $fh, '<:raw', "$dir/$cid/$gk" or die; <$fh> };
unlike $gbytes, qr/GPS-SECRET/, '... its comment left out';

# A phone's portrait photo: stored upright, without its EXIF.
my $jpeg = do { local $/; open my $fh, '<:raw', ParleyTest->srcdir . '/t/fixtures/rotated.jpg' or die; <$fh> };
like $jpeg, qr/GPS-SECRET-JPEG/, 'the fixture JPEG carries EXIF text (orientation 6, 1200x800 as stored)';
$r = up($wp, $vh, 'portrait.JPG', $jpeg, 'image/jpeg');
is $r->{status}, 201, 'a JPEG turned by its EXIF orientation is taken' or diag explain $r->{json};
is "$r->{json}{message}{attachment}{width}x$r->{json}{message}{attachment}{height}", '800x1200', '... turned upright';
my $jk = $t->sql('SELECT storage_key FROM attachments WHERE id = ?', $r->{json}{message}{attachment}{id})->[0]{storage_key};
like $jk, qr/\.jpg$/, '... kept as a JPEG';
my $jbytes = do { local $/; open my $fh, '<:raw', "$dir/$cid/$jk" or die; <$fh> };
unlike $jbytes, qr/GPS-SECRET-JPEG|Exif/, '... without its EXIF';
my $webp = do { local $/; open my $fh, '<:raw', ParleyTest->srcdir . '/t/fixtures/small.webp' or die; <$fh> };
$r = up($wp, $vh, 'scan', $webp);
is $r->{status}, 201, 'a WebP without an extension in its name';
is $r->{json}{message}{content}, 'scan.webp', '... is named with its kind\'s';

# --- the plan's limits ---
my $plan = $t->sql('SELECT plan FROM companies WHERE id = ?', $cid)->[0]{plan};
my $b = req('GET', '/api/v1/billing', $oa)->{json};
ok defined $b->{plan}{limits}{attachment_storage_bytes}, "the plan ($plan) shows its attachment limits";
my $used = $t->sql('SELECT sum(bytes) AS n FROM attachments WHERE company_id = ?', $cid)->[0]{n};
is $b->{usage}{attachment_bytes}, $used, '... and billing what is used';
$t->sql('UPDATE plans SET attachment_max_bytes = 200 WHERE id = ?', $plan);
$r = up($wp, $vh, 'big.pdf', $pdf . ('%' . ('x' x 70) . "\n") x 4);
is $r->{status}, 413, 'a file over the plan\'s attachment_max_bytes: 413';
is $r->{json}{max_bytes}, 200, '... naming the bound';
$t->sql('UPDATE plans SET attachment_max_bytes = 10485760, attachments_per_conversation = 5 WHERE id = ?', $plan);
$r = up($wp, $vh, 'sixth.pdf', $pdf);
is $r->{status}, 402, 'the sixth file of a conversation allowed five: 402' or diag explain $r->{json};
is $r->{json}{limit}, 'attachments_per_conversation', '... naming the limit';
$t->sql('UPDATE plans SET attachments_per_conversation = NULL, attachment_storage_bytes = ? WHERE id = ?', $used + 10, $plan);
is up($wp, $vh, 'more.pdf', $pdf)->{json}{limit}, 'attachment_storage_bytes', 'over the company\'s storage: 402';
$t->sql('UPDATE plans SET attachment_storage_bytes = NULL WHERE id = ?', $plan);
is $t->sql('SELECT count(*) AS n FROM attachments WHERE company_id = ?', $cid)->[0]{n}, 5, '... and nothing refused was kept';

# --- the export carries the files ---
$r = req('POST', '/api/v1/company/export', $oa);
is $r->{status}, 202, 'a company export';
my $exp = $r->{json}{id};
my $ready;
ParleyTest::wait_for(sub { $ready = req('GET', "/api/v1/company/exports/$exp", $oa)->{json}; $ready->{status} =~ /ready|failed/ }, 'the export');
is $ready->{status}, 'ready', '... is ready' or diag explain $ready;
my $tar = $t->request('GET', "/api/v1/company/exports/$exp/download", headers => $oa)->{content};
open my $tf, '>:raw', "$t->{dir}/export.tar.gz" or die;
print $tf $tar;
close $tf;
my @names = split /\n/, `tar -tzf '$t->{dir}/export.tar.gz'`;
ok((grep { $_ eq "attachments/$pdfid-Invoice 2026.pdf" } @names), 'the archive holds the PDF under attachments/') or diag "@names";
my $mj = `tar -xzOf "$t->{dir}/export.tar.gz" manifest.json`;
my $man = decode_json($mj);
ok((grep { $_->{name} eq "attachments/$att-my _holiday_.png" && $_->{sha256} eq $row->{sha256} } @{ $man->{files} }),
    '... and the manifest lists the image with its digest');

# --- files whose rows went leave the disk at the sweep ---
sub sweep {
	local $ENV{PARLEY_CONFIG} = '';
	local $ENV{PARLEY_DATABASE_URL} = $t->app_conninfo;
	local $ENV{PARLEY_ATTACHMENTS_DIR} = $dir;
	local $ENV{PARLEY_EXPORT_DIR} = "$t->{dir}/exports";
	my $out = `'@{[ ParleyTest->builddir ]}/parleyctl' retention run 2>&1`;
	is $? >> 8, 0, 'parleyctl retention run' or diag $out;
}
sub age_files { my $old = time - 3600; utime $old, $old, glob("$dir/*/*") }
my $orphan = "$dir/$cid/" . ('ab' x 16) . '.png';
open my $of, '>', $orphan or die;
print $of 'a file a dead request left';
close $of;
is req('POST', '/api/v1/privacy/subject-erasure', $oa, { visitor_id => $vid })->{status}, 200, 'the visitor is erased';
is $t->sql('SELECT count(*) AS n FROM attachments WHERE company_id = ?', $cid)->[0]{n}, 0, '... their conversation\'s attachments with them';
ok -f $path, '... the file is still there within ten minutes (a request may be writing one)';
sweep();
ok -f $path, '... and a young file survives the sweep';
age_files();
sweep();
ok !-f $path, 'the sweep removes the erased visitor\'s image';
ok !-f "$dir/$cid/$gk", '... and GIF';
ok !-f $orphan, '... and a file no row ever named';
# A directory of no company: removed once a day old (the company list
# the sweep reads may be older than a new company's first file).
my $stray = "$dir/00000000-0000-4000-8000-00000000abcd";
mkdir $stray or die;
open my $sf, '>', "$stray/" . ('cd' x 16) . '.pdf' or die;
print $sf 'x';
close $sf;
sweep();
ok -d $stray, 'a directory of no company, made just now, is kept';
utime time - 2 * 86400, time - 2 * 86400, $stray;
sweep();
ok !-d $stray, '... and removed whole once a day old';
my ($vh3, $conv3) = visitor();
is up("/api/v1/widget/conversations/$conv3/attachments", $vh3, 'keep.png', png(1, 1))->{status}, 201, 'a new visitor\'s file';
my $keep = $t->sql('SELECT storage_key FROM attachments WHERE conversation_id = ?', $conv3)->[0]{storage_key};
age_files();
sweep();
ok -f "$dir/$cid/$keep", '... which a row names: kept, whatever its age';

done_testing;
