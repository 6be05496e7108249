# Point-in-time recovery with WAL archiving, as docs/operations.md sets it
# up: a cluster archiving its WAL, a base backup (pg_basebackup), changes
# through parley's API before and after a chosen moment, and a second
# cluster recovered from the base backup and the archive to that moment:
# what was committed before it is there, what came after is not.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time);
use ParleyTest;
use ParleyTest::Pg;

my $t = ParleyTest->new(own_cluster => 1);
my $p2;
END { $p2->destroy if $p2 }
my $pg = $t->pg;
my $archive = $pg->dir . '/wal-archive';
$pg->sys('mkdir', '-p', '-m', '0700', $archive);
# The archiving settings of docs/operations.md (section 12).
$t->stop_parleyd;
open my $fh, '>>', "$pg->{data}/postgresql.conf" or die;
print $fh <<"CONF";
wal_level = replica
archive_mode = on
archive_command = 'test ! -f $archive/%f && cp %p $archive/%f'
archive_timeout = 60
CONF
close $fh;
$pg->restart;
$t->{env}{PARLEY_TOMBSTONE_FILE} = $pg->dir . '/deleted-companies';
$t->start_parleyd;
is $t->sql(q{SELECT setting FROM pg_settings WHERE name = 'archive_mode'})->[0]{setting}, 'on', 'WAL archiving is on';

my $pw = 'tangerine-orbit-velvet-42';
sub company {
	my ($tag) = @_;
	my $r = $t->signup(json => { email => "own\@$tag.example", password => $pw,
	    name => "Owner $tag", company_name => "Co $tag" });
	die $r->{content} unless $r->{status} == 201;
	return wantarray ? ($r->{json}{company}{id}, $r->{json}{access_token}) : $r->{json}{company}{id};
}
my ($before_base, $early_token) = company('early');

# The base backup (tar format, compressed, WAL fetched with it).
my $base = $pg->dir . '/base';
my $t0 = time;
$pg->sys("$pg->{bin}/pg_basebackup", '-h', $pg->host, '-p', $pg->port, '-U', 'postgres', '-D', $base,
    '-Ft', '-z', '-X', 'fetch', '--checkpoint=fast');
ok -f "$base/base.tar.gz", sprintf('a base backup (%.1f s)', time - $t0);

my $kept = company('kept');
my $target = $t->sql(q{SELECT clock_timestamp()::text AS ts})->[0]{ts};
my $lost = company('after');
# Deleted after the chosen moment: the recovery brings it back, the
# tombstones take it away again.
is $t->request('DELETE', '/api/v1/company', headers => { authorization => "Bearer $early_token" },
    json => { password => $pw, confirm_name => 'Co early' })->{status}, 204, 'a company deleted after that moment';
# The segment holding the changes, closed and handed to the archiver.
my $last = $t->sql(q{SELECT pg_walfile_name(pg_switch_wal()) AS w})->[0]{w};
ParleyTest::wait_for(sub {
	my $a = $t->sql(q{SELECT last_archived_wal AS w, failed_count AS f FROM pg_stat_archiver})->[0];
	die "archiving failed\n" if $a->{f};
	defined $a->{w} && $a->{w} ge $last || -f "$archive/$last";
}, 'the WAL up to the changes archived', 30);
my @wal = grep { -f } glob "$archive/0*";
cmp_ok scalar @wal, '>=', 1, scalar(@wal) . ' WAL segment(s) archived';

# --- recovery into a second cluster --------------------------------------------------------------
$p2 = ParleyTest::Pg->new(fast => 1);
$p2->sys('mkdir', '-p', '-m', '0700', $p2->{data}, $p2->{sock});
$p2->sys('tar', '-xzf', "$base/base.tar.gz", '-C', $p2->{data});
$p2->sys('sh', '-c', "cat >> '$p2->{data}/postgresql.conf' <<'EOF'
archive_mode = off
restore_command = 'cp $archive/%f %p'
recovery_target_time = '$target'
recovery_target_action = 'promote'
EOF
touch '$p2->{data}/recovery.signal'");
my $t1 = time;
$p2->start;
my $done;
ParleyTest::wait_for(sub {
	$done = $p2->psql('postgres', 'SELECT pg_is_in_recovery()');
	$done =~ /^f/;
}, 'recovery to end', 60);
my $rto = time - $t1;
pass sprintf('the second cluster recovered to %s and was promoted in %.1f s', $target, $rto);
sub has { my ($id) = @_; $p2->psql($t->dbname, qq{SELECT count(*) FROM companies WHERE id = '$id'}) =~ /^1/ ? 1 : 0 }
is has($before_base), 1, 'a company from before the base backup is there (deleted only after the moment)';
{
	local @ENV{qw(PARLEY_CONFIG PARLEY_TOMBSTONE_FILE)} = ('', $pg->dir . '/deleted-companies');
	my $out = `'@{[ ParleyTest->builddir ]}/parleyctl' tombstones apply --dir '@{[ $pg->dir ]}' --target '@{[ $p2->conninfo($t->dbname, 'postgres') ]}' 2>&1`;
	is $? >> 8, 0, 'parleyctl tombstones apply on the recovered cluster' or diag $out;
	like $out, qr/deleted again: 1 company/, '... deletes it again';
}
is has($before_base), 0, '... and it is gone';
is has($kept), 1, 'a company created before the chosen time is there (replayed from the archive)';
is has($lost), 0, 'a company created after it is not';
like $p2->psql($t->dbname, q{SELECT count(*) FROM users}), qr/^1$/m, "... nor its owner; the kept one's is";
like $p2->psql($t->dbname, 'SELECT max(version) FROM parley_schema_migrations'), qr/^\d+$/m, 'the schema is whole';
diag sprintf('RTO here: %.1f s to restore and replay (base backup %d KiB, %d WAL segment(s))',
    $rto, (-s "$base/base.tar.gz") / 1024, scalar @wal);
done_testing;
