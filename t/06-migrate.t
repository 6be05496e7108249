# parleyctl migrate: idempotent, ordered, refuses a newer database and
# edited migrations; /readyz follows the schema version.
use strict;
use warnings;
use Test::More;
use POSIX ();
use DBI;
use ParleyTest;

my $src = ParleyTest->srcdir;
my $b = ParleyTest->builddir;
my $t = ParleyTest->new(no_migrate => 1, own_cluster => 1);

sub migrate {
	my (@args) = @_;
	local $ENV{PARLEY_MIGRATE_DATABASE_URL} = $t->owner_conninfo;
	my $out = `'$b/parleyctl' migrate --dir '$src/sql' @args 2>&1`;
	return ($? >> 8, $out);
}

# The code's schema version is the newest migration's number.
my @files = sort map { s{.*/}{}r } glob "$src/sql/[0-9][0-9][0-9]-*.sql";
my ($newest) = $files[-1] =~ /^(\d{3})/;
open my $fh, '<', "$src/src/schema.h" or die;
my ($code_version) = do { local $/; <$fh> } =~ /PARLEY_SCHEMA_VERSION\s+(\d+)/;
is $code_version, $newest + 0, 'PARLEY_SCHEMA_VERSION is the newest migration number';

my $r = $t->get('/readyz');
is $r->{status}, 503, 'readyz is 503 before migrations';
is $r->{json}{code}, 'database_unavailable', '... the schema table is missing';

my ($rc, $out) = migrate('--dry-run');
is $rc, 1, 'dry run reports pending work with exit 1';
like $out, qr/pending 001-init\.sql/, '... listing it';

($rc, $out) = migrate();
is $rc, 0, 'migrate applies';
like $out, qr/applied 001-init\.sql/, '... and says what';
$r = $t->get('/readyz');
is $r->{status}, 200, 'readyz 200 once migrated';
is $r->{json}{schema_version}, $code_version, '... at the code version';

($rc, $out) = migrate();
is $rc, 0, 'second run is a no-op';
like $out, qr/database is current at version $code_version/, '... saying so';
my $rows = $t->sql('SELECT version, name, sha256 FROM parley_schema_migrations ORDER BY version');
is scalar(@$rows), $code_version, 'one record per migration';
{
	local $ENV{PARLEY_MIGRATE_DATABASE_URL} = 'postgresql://parley_owner:S3cretPW@[broken';
	my $o = `'$b/parleyctl' migrate --dir '$src/sql' 2>&1`;
	unlike $o, qr/S3cretPW/, 'a malformed connection string is not echoed';
}
like $rows->[0]{sha256}, qr/^[0-9a-f]{64}$/, 'checksums recorded';

# An edited, already-applied migration is refused.
$t->sql(q{UPDATE parley_schema_migrations SET sha256 = repeat('0', 64) WHERE version = 1});
($rc, $out) = migrate();
is $rc, 1, 'edited migration refused';
like $out, qr/001-init\.sql was changed after it was applied/, '... naming it';
$t->sql('UPDATE parley_schema_migrations SET sha256 = ? WHERE version = 1', $rows->[0]{sha256});

# A database newer than the code is refused by migrate; readyz says so
# once the schema no longer serves this code (a contract step: rolling
# upgrades, t/106, docs/operations.md).
$t->sql(q{INSERT INTO parley_schema_migrations (version, name, sha256) VALUES (999, '999-future.sql', repeat('a', 64))});
($rc, $out) = migrate();
is $rc, 1, 'newer database refused';
like $out, qr/database is at version 999, newer than this parley/, '... with the reason';
is $t->get('/readyz')->{status}, 200, 'readyz 200 on a newer schema that still serves this code (an expand step)';
$t->sql('UPDATE parley_schema_compat SET min_code_version = 999');
$r = $t->get('/readyz');
is $r->{status}, 503, 'readyz 503 on a newer schema past this code';
is $r->{json}{code}, 'schema_newer_than_code', '... with a stable code';
$t->sql('UPDATE parley_schema_compat SET min_code_version = 39');
$t->sql('DELETE FROM parley_schema_migrations WHERE version = 999');

# A failing migration is rolled back whole and not recorded: on a fresh
# database, the last migration is replaced by one that fails half way.
my $bad = $t->dir . '/badsql';
mkdir $bad;
system('cp', "$src/sql/$_", "$bad/$_") for @files[0 .. $#files - 1];
open $fh, '>', "$bad/$files[-1]" or die;
print $fh "CREATE TABLE half_done (id int);\nSELECT no_such_function();\n";
close $fh;
$t->sql('CREATE DATABASE fresh OWNER parley_owner');
my $fresh = $t->pg->conninfo('fresh', 'parley_owner');
{
	local $ENV{PARLEY_MIGRATE_DATABASE_URL} = $fresh;
	$out = `'$b/parleyctl' migrate --dir '$bad' 2>&1`;
}
isnt $? >> 8, 0, 'a failing migration makes migrate fail';
like $out, qr/\Q$files[-1]\E failed; rolled back/, '... naming it';
is $t->pg->psql('fresh', q{SELECT count(*) FROM pg_tables WHERE tablename = 'half_done'}) + 0, 0,
    'nothing of it was created';
is $t->pg->psql('fresh', 'SELECT max(version) FROM parley_schema_migrations') + 0, $newest - 1,
    'the earlier migrations stay applied and recorded';

# A directory that does not match the code's version is refused.
my $short = $t->dir . '/shortsql';
mkdir $short;
system('cp', "$src/sql/$_", "$short/$_") for @files[0 .. $#files - 1];
{
	local $ENV{PARLEY_MIGRATE_DATABASE_URL} = $t->owner_conninfo;
	$out = `'$b/parleyctl' migrate --dir '$short' 2>&1`;
}
like $out, qr/expects $code_version/, 'a migration directory of another version is refused';

# Gaps in numbering are refused.
rename "$short/$files[-2]", "$short/" . sprintf('%03d-gap.sql', $newest + 1) if @files > 1;
system('cp', "$src/sql/$files[-1]", "$short/$files[-1]");
{
	local $ENV{PARLEY_MIGRATE_DATABASE_URL} = $t->owner_conninfo;
	$out = `'$b/parleyctl' migrate --dir '$short' 2>&1`;
}
like $out, qr/expected number/, 'a gap in the numbering is refused';

# Once per cluster: hosts upgraded together each run migrate; one at a
# time holds parley's advisory lock, the others wait for it and then
# find the database current. Here the test holds the lock, two migrators
# start on a fresh database and wait on it; released, each migration is
# applied once.
$t->sql('CREATE DATABASE racing OWNER parley_owner');
my $holder = DBI->connect('dbi:Pg:dbname=racing;host=' . $t->pg->host . ';port=' . $t->pg->port, 'postgres', '',
    { RaiseError => 1, PrintError => 0, AutoCommit => 1 });
$holder->do('SELECT pg_advisory_lock(7072617)');
my @racers;
for my $i (1, 2) {
	my $pid = fork // die;
	if (!$pid) {
		$ENV{PARLEY_MIGRATE_DATABASE_URL} = $t->pg->conninfo('racing', 'parley_owner');
		exec('sh', '-c', "'$b/parleyctl' migrate --dir '$src/sql' > '" . $t->dir . "/racer$i.out' 2>&1") or POSIX::_exit(127);
	}
	push @racers, $pid;
}
ParleyTest::wait_for(sub { $holder->selectrow_array(q{SELECT count(*) FROM pg_stat_activity
    WHERE datname = 'racing' AND wait_event_type = 'Lock' AND wait_event = 'advisory'}) == 2 }, 'two migrators waiting', 30);
ok 1, 'two migrators started together both wait for the advisory lock';
is $holder->selectrow_array(q{SELECT to_regclass('parley_schema_migrations') IS NULL}), 1, '... having changed nothing';
$holder->do('SELECT pg_advisory_unlock(7072617)');
my @rc = map { waitpid($_, 0); $? >> 8 } @racers;
is_deeply \@rc, [0, 0], 'released: both succeed';
my @said = map { $t->slurp("racer$_.out") } 1, 2;
is scalar(grep { /applied 001-init\.sql/ } @said), 1, '... one applied the migrations';
is scalar(grep { /database is current at version $code_version/ } @said), 1, '... the other found them done';
is $holder->selectrow_array('SELECT count(*) FROM parley_schema_migrations'), $code_version, '... each recorded once';
$holder->disconnect;

# Roles: the runtime role cannot bypass RLS and owns nothing.
my $role = $t->sql(q{SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = 'parley_app'})->[0];
ok !$role->{rolsuper} && !$role->{rolbypassrls} && !$role->{rolcreaterole} && !$role->{rolcreatedb},
    'parley_app: no superuser, BYPASSRLS, CREATEROLE or CREATEDB';
is $t->sql(q{SELECT count(*) AS n FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
    WHERE r.rolname IN ('parley_app', 'parley_runtime')})->[0]{n}, 0, 'the runtime roles own no relation';
is $t->sql(q{SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public' AND tableowner <> 'parley_owner'})->[0]{n}, 0,
    'every table is owned by parley_owner';

done_testing;
