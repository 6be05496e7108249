# Knowledge from the web and from files (sql/039-kb-sources.sql,
# src/kb_fetch.c, src/kb_extract.c, src/api_sources.c) against a shop's
# site played by t/fakes/site.py: a sitemap's pages, a PDF and a DOCX are
# fetched by the jobs process and answer visitors; robots.txt is obeyed;
# a sitemap entry on a private address and a redirect to the cloud
# metadata address are refused; a re-sync updates what changed and
# removes what vanished, now or on its schedule; files are uploaded too,
# a zip bomb refused.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;
use TestFiles qw(png);

my $t = ParleyTest->new(env => { PARLEY_KB_FETCH_ALLOW_HTTP => 1, PARLEY_KB_FETCH_ALLOW_LOOPBACK => 1,
    PARLEY_NOTIFY_SWEEP_INTERVAL => 1, PARLEY_KB_FETCH_TIMEOUT => 5 });
my $port = ParleyTest::free_port();
$t->{pids}{site} = $t->spawn($t->dir . '/site.log', {}, '/usr/bin/python3', ParleyTest->srcdir . '/t/fakes/site.py', $port);
$t->wait_port($port, $t->{pids}{site}, "the shop's site");
my $site = "http://127.0.0.1:$port";
require HTTP::Tiny;
my $http = HTTP::Tiny->new(timeout => 10);
sub site_set { my $r = $http->post("$site/_set", { content => encode_json($_[0]), headers => { 'content-type' => 'application/json' } });
	die "site: $r->{status}" unless $r->{success} }
sub site_requests { decode_json($http->get("$site/_requests")->{content}) }

my $co = $t->register_company('sources', 'a knowledge sources passphrase');
my $auth = $co->{auth};
sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h, defined $j ? (json => $j) : ()) }
my $bot = req('POST', '/api/v1/chatbots', $auth, { name => 'Outdoor', allowed_origins => ['https://shop.example'] })->{json};
my $src = "/api/v1/chatbots/$bot->{id}/sources";
sub settled { my $id = shift; my $s;
	ParleyTest::wait_for(sub { $s = req('GET', "$src/$id", $auth)->{json}; $s->{status} eq 'done' || $s->{status} eq 'failed' },
	    'the source fetched', 60);
	return $s }
sub docs { +{ map { $_->{source_url} // $_->{title} => $_ } @{ req('GET', "/api/v1/chatbots/$bot->{id}/documents", $auth)->{json}{items} } } }

# --- what is refused before anything is fetched ---
my $r = req('POST', $src, $auth, { kind => 'url', url => 'http://10.0.0.1/page.html' });
is $r->{status}, 422, 'a page on a private address: 422';
is $r->{json}{errors}[0]{code}, 'private_address', '... private_address';
is req('POST', $src, $auth, { kind => 'url', url => 'http://169.254.169.254/latest/meta-data/' })->{json}{errors}[0]{code},
    'private_address', 'the cloud metadata address: 422';
is req('POST', $src, $auth, { kind => 'url', url => 'file:///etc/passwd' })->{status}, 422, 'a file: URL: 422';
is req('POST', $src, $auth, { kind => 'crawl', url => "$site/" })->{status}, 422, 'an unknown kind: 422';
is scalar @{ req('GET', $src, $auth)->{json}{items} }, 0, '... and no source made';

# --- a sitemap ---
$r = req('POST', $src, $auth, { kind => 'sitemap', url => "$site/sitemap.xml", resync => 'daily' });
is $r->{status}, 202, 'a sitemap is queued';
is $r->{json}{status}, 'queued', '... queued for the jobs process';
my $sid = $r->{json}{id};
my $s = settled($sid);
is $s->{status}, 'done', 'the sitemap is fetched';
is $s->{pages_found}, 8, '... its eight pages listed';
is $s->{pages_done}, 5, '... five stored';
my %fail = map { $_->{url} => $_->{error} } @{ $s->{failures} };
is $fail{"$site/private/secret.html"}, 'robots', 'a page robots.txt forbids is left alone';
ok !grep({ $_ eq '/private/secret.html' } @{ site_requests() }), '... never even requested';
like $fail{'http://10.0.0.1/internal.html'} // '', qr/^(private|blocked)_address$/, 'a sitemap entry on a private address is refused';
like $fail{"$site/redirect-meta"} // '', qr/^(private|blocked)_address$/, 'a redirect to the metadata address is refused, judged again';
ok $s->{next_sync_at}, '... and the next re-sync is scheduled';
my $d = docs();
is $d->{"$site/help/tents.html"}{title}, 'Tents', "a page is a document, titled by its HTML";
is $d->{"$site/help/tents.html"}{source_id}, $sid, '... of its source';
is $d->{"$site/files/guide.pdf"}{content_type}, 'application/pdf', 'the PDF is a document';
is $d->{"$site/files/care.docx"}{content_type},
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document', '... and so is the DOCX';
my $text = req('GET', "/api/v1/chatbots/$bot->{id}/documents/$d->{\"$site/files/guide.pdf\"}{id}", $auth)->{json}{text};
like $text, qr/sleeping bags keep you warm at minus ten degrees/, "the PDF's text is read (poppler)";
$text = req('GET', "/api/v1/chatbots/$bot->{id}/documents/$d->{\"$site/files/care.docx\"}{id}", $auth)->{json}{text};
like $text, qr/Wash the rain jacket at thirty degrees\.\s+Dry it on low heat/, "the DOCX's paragraphs are read";
$text = req('GET', "/api/v1/chatbots/$bot->{id}/documents/$d->{\"$site/help/tents.html\"}{id}", $auth)->{json}{text};
unlike $text, qr/tracking/, "a page's scripts are not its text";

# --- visitors get it ---
my $v = $t->post('/api/v1/widget/sessions', headers => { origin => 'https://shop.example' }, json => { bot_key => $bot->{public_key} })->{json};
my $conv = req('POST', '/api/v1/widget/conversations', { authorization => "Bearer $v->{token}" })->{json}{id};
$r = $t->visitor_say($v->{token}, $conv, 'Are the tents waterproof?');
like $r->{json}{reply}{content}, qr/waterproof to 3000 mm/, 'a visitor is answered from the fetched page';
is $r->{json}{reply}{citations}[0]{source_url}, "$site/help/tents.html", '... citing it by its address';
$r = $t->visitor_say($v->{token}, $conv, 'How warm are the sleeping bags?');
like $r->{json}{reply}{content}, qr/minus ten degrees/, '... and from the PDF';

# --- a re-sync: what changed, what vanished ---
site_set({ path => '/help/boots.html', title => 'Boots', body => 'Leather boots need wax twice a month in winter.' });
site_set({ path => '/help/tents.html', status => 404 });
site_set({ path => '/sitemap.xml', pages => ['/help/tents.html', '/help/boots.html', '/files/guide.pdf', '/files/care.docx'] });
my $boots_id = $d->{"$site/help/boots.html"}{id};
my $pdf_id = $d->{"$site/files/guide.pdf"}{id};
$r = req('POST', "$src/$sid/sync", $auth);
is $r->{status}, 202, 'a re-sync now';
is req('POST', "$src/$sid/sync", $auth)->{status}, 409, '... and not twice at once';
$s = settled($sid);
$d = docs();
ok !$d->{"$site/help/tents.html"}, 'a page that is gone (404) is removed';
ok !$d->{"$site/help/gone.html"}, '... and one the sitemap no longer lists';
is $d->{"$site/help/boots.html"}{id}, $boots_id, 'a changed page is the same document';
like req('GET', "/api/v1/chatbots/$bot->{id}/documents/$boots_id", $auth)->{json}{text}, qr/twice a month in winter/, '... with its new text';
is $d->{"$site/files/guide.pdf"}{id}, $pdf_id, 'an unchanged one stays as it was';
my $ch = $t->sql(q{SELECT count(*) AS n, count(*) FILTER (WHERE content LIKE '%once a month%') AS old,
    (SELECT chunks FROM kb_documents WHERE id = ?) AS says FROM kb_chunks WHERE document_id = ?}, $boots_id, $boots_id)->[0];
ok $ch->{n} == $ch->{says} && $ch->{old} == 0, "... and the changed one has only its new chunks ($ch->{n})";

# --- the schedule ---
my $before = $s->{synced_at};
$t->sql(q{UPDATE kb_sources SET next_sync_at = now() - interval '1 minute' WHERE id = ?}, $sid);
ParleyTest::wait_for(sub { my $x = req('GET', "$src/$sid", $auth)->{json}; $x->{status} eq 'done' && $x->{synced_at} ne $before },
    'the daily re-sync', 60);
pass 'a source due for its daily re-sync is fetched again by the jobs process';

# --- one page, and files ---
$r = req('POST', $src, $auth, { kind => 'url', url => "$site/files/care.docx" });
is settled($r->{json}{id})->{pages_done}, 1, 'one file by its address';
my $up = "/api/v1/chatbots/$bot->{id}/documents/file";
sub upload { my ($body, $ctype, $q) = @_;
	$t->request('POST', $up . ($q // ''), headers => { %$auth, 'content-type' => $ctype // 'application/octet-stream' }, body => $body) }
my $pdfbytes = $http->get("$site/files/guide.pdf")->{content};
$r = upload($pdfbytes, 'application/pdf', '?title=Sleeping%20bags&language=english');
is $r->{status}, 202, 'a PDF is uploaded: queued for the jobs process, never read by a request worker';
is $r->{json}{kind}, 'file', '... as a source of kind file';
$s = settled($r->{json}{id});
is $s->{status}, 'done', '... read';
my ($up_doc) = @{ $t->sql(q{SELECT id::text AS id, title, language, content_type FROM kb_documents WHERE source_id = ?}, $r->{json}{id}) };
is_deeply [@$up_doc{qw(title language content_type)}], ['Sleeping bags', 'english', 'application/pdf'], '... a document with its title and language';
like req('GET', "/api/v1/chatbots/$bot->{id}/documents/$up_doc->{id}", $auth)->{json}{text}, qr/minus ten degrees/, '... and its text';
is $t->sql(q{SELECT file IS NULL AS gone FROM kb_sources WHERE id = ?}, $r->{json}{id})->[0]{gone}, 1, "... the file's bytes dropped once read";
is req('POST', "$src/$r->{json}{id}/sync", $auth)->{status}, 409, 'an upload has nothing to fetch again: 409';
$r = upload($http->get("$site/files/care.docx")->{content});
is settled($r->{json}{id})->{status}, 'done', 'a DOCX (sent as octet-stream: its bytes say what it is)';
$r = upload($http->get("$site/files/bomb.docx")->{content});
is $r->{status}, 202, 'a DOCX that unpacks to 64 MiB is taken';
$s = settled($r->{json}{id});
is_deeply [$s->{status}, $s->{error}], ['failed', 'zip_bomb'], '... and refused when read: zip_bomb';
is upload(png(4, 4), 'application/octet-stream')->{status}, 415, 'a picture: 415';
$r = upload("%PDF-1.4\nnot really", 'application/pdf');
is settled($r->{json}{id})->{error}, 'unreadable', 'a broken PDF: unreadable';
is upload('', 'application/pdf')->{status}, 422, 'an empty file: 422';

# --- deletion and boundaries ---
my $n = $t->sql(q{SELECT count(*) AS n FROM kb_documents WHERE source_id = ?}, $sid)->[0]{n};
ok $n > 0, "the sitemap's documents are there ($n)";
is req('DELETE', "$src/$sid", $auth)->{status}, 204, 'the source is deleted';
is $t->sql(q{SELECT count(*) AS n FROM kb_documents WHERE source_id = ?}, $sid)->[0]{n}, 0, '... with its documents';
my $other = $t->register_company('sources2', 'a knowledge sources passphrase');
is req('GET', "$src", $other->{auth})->{status}, 404, "another company's admin sees none of it";

done_testing;
