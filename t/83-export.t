# The company's full data export: started by an admin (audited), made by
# the jobs process as a tar.gz (libarchive) with a manifest and JSON files
# for the company, members (no hashes or secrets), chatbots (no secrets),
# documents, templates, visitors, consents, conversations with their
# messages and the audit log; downloaded (audited) until it expires, then
# deleted by the sweep; nothing of another company in it.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Digest::SHA qw(sha256_hex);
use ParleyTest;

my $t = ParleyTest->new(env => { PARLEY_RETENTION_INTERVAL => 0, PARLEY_JOBS_WORKERS => 2 });
my $pw = 'tangerine-orbit-velvet-42';
sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h, defined $j ? (json => $j) : ()) }
sub company {
	my ($tag) = @_;
	my $c = $t->register_company($tag, $pw);
	$c->{tag} = $tag;
	$c->{member} = $t->add_member($c, "mem\@$tag.example", 'member', $pw);
	my $bot = req('POST', '/api/v1/chatbots', $c->{auth}, { name => "Bot $tag", allowed_origins => ["https://$tag.example"] })->{json};
	$c->{bot} = $bot;
	req('POST', "/api/v1/chatbots/$bot->{id}/documents", $c->{auth}, { title => "Doc $tag", content_type => 'text/plain',
	    content => "The $tag shop sells seeds." });
	req('POST', '/api/v1/templates', $c->{auth}, { name => "tpl $tag", body => 'Hello!' });
	for my $i (1 .. 3) {
		my $vt = $t->post('/api/v1/widget/sessions', headers => { origin => "https://$tag.example" },
		    json => { bot_key => $bot->{public_key} })->{json}{token};
		my $v = { authorization => "Bearer $vt" };
		req('POST', '/api/v1/widget/consent', $v, { categories => ['essential'], policy_version => '1' });
		my $conv = req('POST', '/api/v1/widget/conversations', $v)->{json}{id};
		req('POST', "/api/v1/widget/conversations/$conv/messages", $v, { content => "Question $_ from $tag visitor $i" }) for 1 .. $i;
	}
	return $c;
}
my $A = company('alpha');
my $B = company('beta');
$t->sql(q{UPDATE users SET totp_secret_enc = 'v1.k1.fake', totp_enabled_at = now() WHERE company_id = ? AND role = 'member'}, $A->{id});

# --- starting -------------------------------------------------------------------------------
is req('POST', '/api/v1/company/export', $A->{member})->{status}, 403, 'a member may not export the company';
$t->sql(q{INSERT INTO company_exports (company_id, status) VALUES (?, 'running')}, $B->{id});
my $r = req('POST', '/api/v1/company/export', $B->{auth});
is $r->{status}, 409, 'one export at a time: 409';
is $r->{json}{code}, 'export_in_progress', '... export_in_progress';
$r = req('POST', '/api/v1/company/export', $A->{auth});
is $r->{status}, 202, 'an owner starts an export';
my $id = $r->{json}{id};
is $r->{json}{status}, 'queued', '... queued';
is $t->sql(q{SELECT count(*) AS n FROM audit_log WHERE company_id = ? AND action = 'company.export' AND resource_id = ?}, $A->{id}, $id)->[0]{n},
    1, '... audited';
is req('GET', "/api/v1/company/exports/$id", $B->{auth})->{status}, 404, "another company cannot see it";
my $e;
ParleyTest::wait_for(sub { $e = req('GET', "/api/v1/company/exports/$id", $A->{auth})->{json}; $e->{status} =~ /ready|failed/ }, 'the export');
is $e->{status}, 'ready', 'ready' or diag explain $e;
is $e->{download}, "/api/v1/company/exports/$id/download", '... with its download';
like $e->{sha256}, qr/^[0-9a-f]{64}$/, '... its SHA-256';
ok $e->{expires_at}, '... and when it expires';
is req('GET', '/api/v1/company/exports', $A->{auth})->{json}{items}[0]{id}, $id, 'listed';
# With two jobs processes, the first never takes an export: e-mail and
# webhooks always have a process of their own.
my ($first) = map { $_->{pid} } grep { $_->{event} eq 'jobs_started' && $_->{worker} == 0 } $t->log_events;
my @ran = map { $_->{pid} } grep { $_->{event} eq 'export_ready' } $t->log_events;
ok @ran && !grep({ $_ == $first } @ran), 'the export ran on the second jobs process, not the first';

# --- the archive ------------------------------------------------------------------------------
is req('GET', "/api/v1/company/exports/$id/download", $B->{auth})->{status}, 404, "another company cannot download it";
$r = req('GET', "/api/v1/company/exports/$id/download", $A->{auth});
is $r->{status}, 200, 'downloaded';
like $r->{headers}{'content-type'}, qr{^application/gzip}, '... application/gzip';
like $r->{headers}{'content-disposition'}, qr/attachment; filename="parley-export-\d{4}-\d\d-\d\d\.tar\.gz"/, '... as a file';
is sha256_hex($r->{content}), $e->{sha256}, '... whose SHA-256 is the one announced';
is length($r->{content}), $e->{bytes}, '... and size';
my $dir = $t->dir . '/unpacked';
mkdir $dir;
open my $fh, '>', "$dir/x.tar.gz" or die;
binmode $fh;
print $fh $r->{content};
close $fh;
is system('tar', '-xzf', "$dir/x.tar.gz", '-C', $dir), 0, 'a tar.gz that tar extracts';
my @files = sort map { s{.*/}{}r } grep { !/x\.tar\.gz$/ } glob "$dir/*";
is_deeply \@files, [sort qw(manifest.json company.json members.json chatbots.json documents.json templates.json visitors.json
    consents.json conversations.json audit_log.json)], '... holding the manifest and the JSON files';
sub slurp_json { my ($f) = @_; local (@ARGV, $/) = ("$dir/$f"); decode_json(<>) }
my $m = slurp_json('manifest.json');
is $m->{format}, 'parley-export', 'the manifest names the format';
is $m->{company_id}, $A->{id}, '... and the company';
for my $f (@{ $m->{files} }) {
	local (@ARGV, $/) = ("$dir/$f->{name}");
	my $raw = <>;
	is sha256_hex($raw), $f->{sha256}, "$f->{name}: its SHA-256 as in the manifest";
	my $j = decode_json($raw);
	is(ref $j eq 'ARRAY' ? scalar @$j : 1, $f->{records}, "$f->{name}: $f->{records} records as in the manifest");
}
my $members = slurp_json('members.json');
is scalar @$members, 2, 'members: both';
ok $members->[0]{email} && exists $members->[0]{mfa_enabled}, '... with address and MFA state';
my $all = join '', map { local (@ARGV, $/) = ("$dir/$_"); <> } @files;
unlike $all, qr/\$2[aby]\$|password_hash|v1\.k1\.|totp_secret|identity_secret|pk_[0-9a-f]{32}/, 'no password hash, key or secret anywhere';
my $convs = slurp_json('conversations.json');
is scalar @$convs, 3, 'three conversations';
my $msgs = 0;
$msgs += scalar @{ $_->{messages} } for @$convs;
is $msgs, $t->sql(q{SELECT count(*) AS n FROM messages WHERE company_id = ?}, $A->{id})->[0]{n}, '... with every message';
ok scalar(grep { $_->{content} =~ /^Question 3 from alpha visitor 3$/ } map { @{ $_->{messages} } } @$convs), '... in words';
is_deeply [map { $_->{seq} } @{ (sort { @{ $b->{messages} } <=> @{ $a->{messages} } } @$convs)[0]{messages} }], [1 .. 6],
    '... in order';
is scalar @{ slurp_json('consents.json') }, 3, 'consents';
is slurp_json('documents.json')->[0]{text}, 'The alpha shop sells seeds.', 'documents with their text';
ok scalar(grep { $_->{action} eq 'company.export' } @{ slurp_json('audit_log.json') }), 'the audit log, this export included';
unlike $all, qr/beta/, 'nothing of the other company';
is $t->sql(q{SELECT count(*) AS n FROM audit_log WHERE company_id = ? AND action = 'company.export_download'}, $A->{id})->[0]{n}, 1,
    'the download is audited';

# --- expiry ----------------------------------------------------------------------------------------
my $file = $t->dir . "/exports/$A->{id}/$id.tar.gz";
ok -f $file, 'the archive is a file in export_dir';
is((stat $file)[2] & 0777, 0600, '... readable by parleyd only');
$t->sql(q{UPDATE company_exports SET expires_at = now() - interval '1 second' WHERE id = ?}, $id);
ok !defined req('GET', "/api/v1/company/exports/$id", $A->{auth})->{json}{download}, 'expired: no download offered (null)';
is req('GET', "/api/v1/company/exports/$id/download", $A->{auth})->{json}{code}, 'export_not_ready', '... nor given';
{
	local $ENV{PARLEY_CONFIG} = '';
	local $ENV{PARLEY_DATABASE_URL} = $t->app_conninfo;
	local $ENV{PARLEY_EXPORT_DIR} = $t->dir . '/exports';
	my $out = `'@{[ ParleyTest->builddir ]}/parleyctl' retention run 2>&1`;
	like $out, qr/^exports deleted: 1$/m, 'the sweep deletes it' or diag $out;
}
ok !-e $file, '... the file is gone';
is $t->sql('SELECT status FROM company_exports WHERE id = ?', $id)->[0]{status}, 'expired', '... and the export says so';

# --- the company's deletion takes its exports along ---------------------------------------------------
$t->sql(q{DELETE FROM company_exports WHERE company_id = ? AND status = 'running'}, $B->{id});
$r = req('POST', '/api/v1/company/export', $B->{auth});
ParleyTest::wait_for(sub { req('GET', "/api/v1/company/exports/$r->{json}{id}", $B->{auth})->{json}{status} eq 'ready' }, "B's export");
ok -f $t->dir . "/exports/$B->{id}/$r->{json}{id}.tar.gz", "B's archive";
is req('DELETE', '/api/v1/company', $B->{auth}, { password => $pw, confirm_name => 'Co beta' })->{status}, 204, 'B deletes itself';
ok !-e $t->dir . "/exports/$B->{id}", '... and its exports are gone from the disk';

done_testing;
