# Encrypted backups and the restore drill: `parleyctl backup` writes a
# pg_dump encrypted (AES-256-GCM, its own key) with a checksum and removes
# backups older than 30 days; `parleyctl restore` verifies, restores into
# a new database, re-applies deletion tombstones kept outside the dumps;
# the restored database has the same rows and its audit chains verify; a
# company deleted after a backup stays deleted when that backup is
# restored, and is absent from backups made after its deletion; a damaged
# or tampered backup restores nothing.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use DBI;
use Digest::SHA qw(sha256_hex);
use ParleyTest;

my $t = ParleyTest->new();
my $bdir = $t->dir . '/backups';
mkdir $bdir, 0700;
$t->stop_parleyd;
$t->{env}{PARLEY_TOMBSTONE_FILE} = "$bdir/deleted-companies";
$t->start_parleyd;
my $pw = 'tangerine-orbit-velvet-42';
sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h, defined $j ? (json => $j) : ()) }
sub company {
	my ($tag) = @_;
	my $c = $t->register_company($tag, $pw);
	my $bot = req('POST', '/api/v1/chatbots', $c->{auth}, { name => "Bot $tag", allowed_origins => ["https://$tag.example"] })->{json};
	req('POST', "/api/v1/chatbots/$bot->{id}/documents", $c->{auth}, { title => 'Doc', content_type => 'text/plain', content => "Seeds of $tag." });
	my $vt = $t->post('/api/v1/widget/sessions', headers => { origin => "https://$tag.example" }, json => { bot_key => $bot->{public_key} })->{json}{token};
	my $conv = req('POST', '/api/v1/widget/conversations', { authorization => "Bearer $vt" })->{json}{id};
	req('POST', "/api/v1/widget/conversations/$conv/messages", { authorization => "Bearer $vt" }, { content => "Hello from $tag" });
	# A file: backups carry the attachments beside the dump.
	$t->request('POST', "/api/v1/widget/conversations/$conv/attachments?filename=invoice.pdf",
	    headers => { authorization => "Bearer $vt", 'content-type' => 'application/pdf' },
	    body => "%PDF-1.4\n% Invoice of $tag\ntrailer\n<< >>\n%%EOF\n");
	req('PATCH', '/api/v1/company', $c->{auth}, { settings => { retention_period => '1_year' } });
	return $c;
}
my $A = company('alpha');
my $B = company('beta');

my $key = `openssl rand -base64 32`;
chomp $key;
open my $fh, '>', $t->dir . '/backup.key' or die;
print $fh "$key\n";
close $fh;
chmod 0600, $t->dir . '/backup.key';
my $super = $t->pg->conninfo($t->dbname, 'postgres');
my %env = (PARLEY_CONFIG => '', PARLEY_BACKUP_KEY_FILE => $t->dir . '/backup.key', PARLEY_BACKUP_DIR => $bdir,
    PARLEY_PG_BIN => $t->pg->{bin}, PARLEY_BACKUP_DATABASE_URL => $super, PARLEY_TOMBSTONE_FILE => "$bdir/deleted-companies",
    PARLEY_ATTACHMENTS_DIR => $t->dir . '/attachments');
sub ctl {
	my ($args, %more) = @_;
	local @ENV{keys %env, keys %more} = (values %env, values %more);
	my $out = `'@{[ ParleyTest->builddir ]}/parleyctl' $args 2>&1`;
	return ($? >> 8, $out);
}
sub counts {
	my ($db) = @_;
	my $dbh = DBI->connect('dbi:Pg:' . $t->pg->conninfo($db, 'postgres'), undef, undef, { RaiseError => 1, AutoCommit => 1 });
	my %c;
	for my $tbl (@{ $dbh->selectcol_arrayref(q{SELECT tablename FROM pg_tables WHERE schemaname = 'public'}) }) {
		$c{$tbl} = $dbh->selectrow_array(qq{SELECT count(*) FROM "$tbl"});
	}
	$dbh->disconnect;
	return \%c;
}
my @dbs;
sub new_db {
	my ($name) = @_;
	$name = "restore_${name}_$$";
	$t->pg->psql('postgres', qq{CREATE DATABASE "$name" OWNER parley_owner});
	push @dbs, $name;
	return $name;
}
END { eval { $t->pg->psql('postgres', qq{DROP DATABASE IF EXISTS "$_" WITH (FORCE)}) } for @dbs }

# --- a backup -------------------------------------------------------------------------------
# Old backups for the rotation: 40 and 10 days old.
for my $age (40, 10) {
	my $f = "$bdir/parley-old$age.backup";
	open my $o, '>', $f or die;
	print $o 'x';
	close $o;
	utime time - $age * 86400, time - $age * 86400, $f;
}
my ($rc, $out) = ctl('backup');
is $rc, 0, 'parleyctl backup' or diag $out;
my ($b1) = $out =~ /^backup (\S+)$/m;
ok -f $b1, "a backup file ($b1)";
is $t->sql(q{SELECT count(*) AS n FROM ops_marks WHERE name = 'backup' AND at > now() - interval '1 minute'})->[0]{n}, 1,
    '... and its success recorded for monitoring (parley_backup_last_success_seconds)';
is((stat $b1)[2] & 0777, 0600, '... readable by its owner only');
my $raw = do { local (@ARGV, $/) = ($b1); <> };
like $raw, qr/^PARLEY-BACKUP 1\n/, '... in parley\'s encrypted format';
unlike $raw, qr/PGDMP|Co alpha|own\@alpha|Hello from/, '... with nothing readable in it';
my ($sum) = do { local (@ARGV, $/) = ("$b1.sha256"); <> } =~ /^([0-9a-f]{64})/;
is $sum, sha256_hex($raw), '... and its SHA-256 beside it';
my ($files) = $out =~ /^files (\S+\.files)$/m;
ok $files && -f $files, 'the attachments beside it' or diag $out;
my $fraw = do { local (@ARGV, $/) = ($files); <> };
like $fraw, qr/^PARLEY-BACKUP 1\n/, '... encrypted alike';
unlike $fraw, qr/Invoice of alpha|ustar/, '... nothing readable in them';
my ($fsum) = do { local (@ARGV, $/) = ("$files.sha256"); <> } =~ /^([0-9a-f]{64})/;
is $fsum, sha256_hex($fraw), '... their SHA-256 beside them';
ok !-e "$bdir/parley-old40.backup", 'a 40-day-old backup was removed';
ok -e "$bdir/parley-old10.backup", '... a 10-day-old one kept';
like $out, qr/removed 1 backup file/, '... and it says so';

# --- the restore drill ----------------------------------------------------------------------------------
my $source = counts($t->dbname);
# The backup's own mark is written after its dump, by design: a restored
# database has the previous mark (none here).
$source->{ops_marks} = 0;
my $r1 = new_db('one');
my $adir = $t->dir . '/restored-attachments';
($rc, $out) = ctl("restore --file '$b1' --target '@{[ $t->pg->conninfo($r1, 'postgres') ]}'", PARLEY_ATTACHMENTS_DIR => $adir);
is $rc, 0, 'parleyctl restore into a new database' or diag $out;
like $out, qr/^files restored into \Q$adir\E$/m, '... and the attachments into attachments_dir';
{
	my @back = map { "$_->{company_id}/$_->{storage_key}" } @{ $t->sql('SELECT company_id, storage_key FROM attachments') };
	is scalar(@back), 2, 'two companies, two files';
	is scalar(grep { -f "$adir/$_" } @back), 2, '... both restored where their rows say';
	my $one = do { local (@ARGV, $/) = ("$adir/$back[0]"); <> };
	my $was = do { local (@ARGV, $/) = ($t->dir . "/attachments/$back[0]"); <> };
	is $one, $was, '... byte for byte';
}
my %rows = $out =~ /^rows (\S+) (\d+)$/mg;
is_deeply \%rows, $source, 'every table has the same number of rows as the source (' . scalar(keys %rows) . ' tables)';
is_deeply counts($r1), $source, '... counted again independently';
{
	# The audit key alone: the verifying machine needs no other key.
	local @ENV{qw(PARLEY_CONFIG PARLEY_AUDIT_KEY_FILE PARLEY_AUDIT_DATABASE_URL)} =
	    ('', $t->dir . '/audit.key', $t->pg->conninfo($r1, 'postgres'));
	delete local @ENV{qw(PARLEY_JWT_KEY_FILE PARLEY_KEYRING_FILE)};
	my $v = `'@{[ ParleyTest->builddir ]}/parleyctl' audit verify 2>&1`;
	is $? >> 8, 0, "parleyctl audit verify on the restored database, with the audit key alone: every chain intact" or diag $v;
}

# --- a deletion after the backup ------------------------------------------------------------------------
is req('DELETE', '/api/v1/company', $A->{auth}, { password => $pw, confirm_name => 'Co alpha' })->{status}, 204, 'company alpha is deleted';
like do { local (@ARGV, $/) = ("$bdir/deleted-companies"); <> }, qr/^\Q$A->{id}\E$/m, '... its id appended to the tombstone file';
($rc, $out) = ctl('backup');
is $rc, 0, 'a second backup';
my ($b2) = $out =~ /^backup (\S+)$/m;
# Two backups in one second (this test makes them fast) do not share a
# name: the second never replaces the first.
isnt $b2, $b1, '... in a file of its own';
ok -f $b1 && -f $b2, '... and both are there';
($rc, $out) = ctl('backup');
my ($b2b) = $out =~ /^backup (\S+)$/m;
ok $rc == 0 && $b2b ne $b2 && -f $b2, 'a third at once, in a file of its own again';
my $r2 = new_db('two');
($rc, $out) = ctl("restore --file '$b2' --target '@{[ $t->pg->conninfo($r2, 'postgres') ]}'");
is $rc, 0, '... restored' or diag $out;
my $c2 = counts($r2);
is $t->pg->psql($r2, qq{SELECT count(*) FROM companies WHERE id = '$A->{id}'}) =~ /^\s*0\s*$/m ? 1 : 0, 1,
    'the deleted company is absent from a backup made after its deletion';
# The older backup still holds it: restoring it deletes it again.
my $r3 = new_db('three');
($rc, $out) = ctl("restore --file '$b1' --target '@{[ $t->pg->conninfo($r3, 'postgres') ]}'", PARLEY_TOMBSTONE_FILE => '');
is $rc, 0, 'the first backup restored again (tombstones from the backup directory only)' or diag $out;
like $out, qr/deleted again: 1 company/, '... and the company deleted since is deleted again';
my $c3 = counts($r3);
my $dbh3 = DBI->connect('dbi:Pg:' . $t->pg->conninfo($r3, 'postgres'), undef, undef, { RaiseError => 1 });
my @left;
for my $tbl (@{ $dbh3->selectcol_arrayref(q{SELECT table_name FROM information_schema.columns WHERE table_schema = 'public'
    AND column_name = 'company_id' AND table_name <> 'company_tombstones'}) }) {
	push @left, $tbl if $dbh3->selectrow_array(qq{SELECT count(*) FROM "$tbl" WHERE company_id = ?}, undef, $A->{id});
}
is_deeply \@left, [], '... no table holds a row of it';
ok $dbh3->selectrow_array(q{SELECT count(*) FROM companies WHERE id = ?}, undef, $B->{id}), '... while the other company is there';
$dbh3->disconnect;
($rc, $out) = ctl('backup');
my @lines = split /\n/, do { local (@ARGV, $/) = ("$bdir/tombstones"); <> };
is_deeply \@lines, [$A->{id}], 'the tombstones beside the dumps hold each deleted company once, however many backups ran';
my $r6 = new_db('six');
($rc, $out) = ctl("restore --file '$b1' --target '@{[ $t->pg->conninfo($r6, 'postgres') ]}'", PARLEY_TOMBSTONE_FILE => $bdir);
is $rc, 1, 'a tombstone file that cannot be read stops the restore';
like $out, qr/tombstone file cannot be read/, '... saying why';
is $t->pg->psql($r6, q{SELECT count(*) FROM pg_tables WHERE schemaname = 'public'}) =~ /^\s*0\s*$/m ? 1 : 0, 1,
    '... before anything was restored';
my $r4 = new_db('four');
unlink "$bdir/tombstones";
($rc, $out) = ctl("restore --file '$b1' --target '@{[ $t->pg->conninfo($r4, 'postgres') ]}'");
like $out, qr/deleted again: 1 company/, "tombstone_file alone (parleyd's) is enough too";

# --- damage ---------------------------------------------------------------------------------------------
my $bad = "$bdir/parley-damaged.backup";
my $flip = $raw;
substr($flip, length($flip) / 2, 1) ^= "\x01";
open $fh, '>', $bad or die;
print $fh $flip;
close $fh;
system("cp '$b1.sha256' '$bad.sha256'");
my $r5 = new_db('five');
($rc, $out) = ctl("restore --file '$bad' --target '@{[ $t->pg->conninfo($r5, 'postgres') ]}'");
is $rc, 1, 'a damaged backup is refused';
like $out, qr/does not match its checksum/, '... by its checksum';
open $fh, '>', "$bad.sha256" or die;
print $fh sha256_hex($flip) . "  parley-damaged.backup\n";
close $fh;
($rc, $out) = ctl("restore --file '$bad' --target '@{[ $t->pg->conninfo($r5, 'postgres') ]}'");
is $rc, 1, '... and, with a forged checksum, by the encryption\'s tag';
like $out, qr/could not be decrypted/, '... saying so';
is $t->pg->psql($r5, q{SELECT count(*) FROM pg_tables WHERE schemaname = 'public'}) =~ /^\s*0\s*$/m ? 1 : 0, 1,
    '... and nothing was restored';
open $fh, '>', $t->dir . '/other.key' or die;
print $fh `openssl rand -base64 32`;
close $fh;
($rc, $out) = ctl("restore --file '$b1' --target '@{[ $t->pg->conninfo($r5, 'postgres') ]}'", PARLEY_BACKUP_KEY_FILE => $t->dir . '/other.key');
is $rc, 1, 'another key cannot read it';
unlike $out . do { local (@ARGV, $/) = ($t->dir . '/parleyd.log'); <> }, qr/\Q$key\E/, 'the backup key is in no output';

done_testing;
