# PostgreSQL failover (issue 21, items 2 and 3 in part): pg_auto_failover
# from Debian (postgresql-15-auto-failover) runs a monitor, a primary and
# a synchronous standby on loopback; parleyd connects with a multi-host
# connection string (target_session_attrs=read-write). Under a stream of
# visitor messages the primary is SIGKILLed with its keeper (the host
# dies): the standby is promoted, parleyd reconnects without a restart,
# every message answered 2xx is in the database exactly once, and the time
# from the kill to the first success again is measured. /readyz answers
# 503 database_unavailable while no primary is reachable.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time);
use DBI;
use ParleyTest;
use ParleyTest::Pg;

my $autoctl = '/usr/bin/pg_autoctl';
ok -x $autoctl, 'pg_autoctl is installed (Debian package pg-auto-failover-cli, postgresql-15-auto-failover)'
    or BAIL_OUT('no pg_autoctl');
my $t = ParleyTest->new(no_parleyd => 1, no_nginx => 1);
my $user = ParleyTest::Pg::run_user();
my $bin = ParleyTest::Pg::bindir();
my $top = $t->dir . '/paf';
mkdir $top or die;
if ($user) { my ($u, $g) = (getpwnam($user))[2, 3]; chown $u, $g, $top }
my ($pm, $p1, $p2) = ParleyTest::free_ports(3);
my @env = ('env', "PATH=$bin:/usr/bin:/bin", "XDG_CONFIG_HOME=$top/cfg", "XDG_DATA_HOME=$top/data");
sub as { return $user ? ('runuser', '-u', $user, '--', @env, @_) : (@env, @_) }
sub autoctl {
	my ($log, @args) = @_;
	my $cmd = join ' ', map { my $x = $_; $x =~ s/'/'\\''/g; "'$x'" } as($autoctl, @args);
	my $out = `$cmd >> '$top/$log' 2>&1`;
	return $?;
}
sub psql {
	my ($port, $db, $sql) = @_;
	my $cmd = join ' ', map { my $x = $_; $x =~ s/'/'\\''/g; "'$x'" }
	    as("$bin/psql", '-h', '127.0.0.1', '-p', $port, '-U', $user // 'postgres', '-d', $db, '-Atqc', $sql);
	my $out = `$cmd 2>/dev/null`;
	chomp $out;
	return $? == 0 ? $out : undef;
}
# However the test ends: every node stopped at once, then every process
# of their sessions killed (before ParleyTest's own END).
my @sessions;
END {
	for my $d (map { "$top/$_" } qw(node2 node1 monitor)) {
		system(as($autoctl, 'stop', '--pgdata', $d, '--immediate')) if -d $d;
	}
	kill 'KILL', -$_ for grep { $_ } @sessions;
}
# The monitor, then two nodes: each a pg_autoctl process that keeps its
# PostgreSQL (started in a session of its own, stopped in END).
is autoctl('monitor.log', 'create', 'monitor', '--pgdata', "$top/monitor", '--pgport', $pm, '--hostname', '127.0.0.1',
    '--auth', 'trust', '--no-ssl'), 0, 'the monitor is created';
push @sessions, $t->{pids}{paf_monitor} = $t->spawn("$top/monitor-run.log", {}, 'setsid', as($autoctl, 'run', '--pgdata', "$top/monitor"));
ParleyTest::wait_for(sub { defined psql($pm, 'pg_auto_failover', 'SELECT 1') }, 'the monitor', 60);
my $monitor = "postgres://autoctl_node\@127.0.0.1:$pm/pg_auto_failover?sslmode=disable";
my %node;
for my $n (1, 2) {
	my $port = $n == 1 ? $p1 : $p2;
	push @sessions, $t->{pids}{"paf_node$n"} = $node{$n} = $t->spawn("$top/node$n.log", {}, 'setsid', as($autoctl, 'create', 'postgres',
	    '--pgdata', "$top/node$n", '--pgport', $port, '--hostname', '127.0.0.1', '--auth', 'trust', '--no-ssl',
	    '--monitor', $monitor, '--name', "node$n", '--run'));
	ParleyTest::wait_for(sub { defined psql($port, 'postgres', 'SELECT 1') }, "node$n", 120);
}
ParleyTest::wait_for(sub { (psql($p1, 'postgres', q{SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum')}) // 0) == 1 },
    'the synchronous standby', 120);
is psql($p1, 'postgres', 'SELECT pg_is_in_recovery()'), 'f', 'node1 is the primary';
is psql($p2, 'postgres', 'SELECT pg_is_in_recovery()'), 't', 'node2 its standby';
like psql($p1, 'postgres', 'SHOW synchronous_standby_names'), qr/ANY 1/, '... synchronous: a commit waits for the standby';

# parley's roles and schema on the primary (the standby follows).
my $src = ParleyTest->srcdir;
system(as("$bin/psql", '-h', '127.0.0.1', '-p', $p1, '-U', $user // 'postgres', '-d', 'postgres', '-q', '-f', "$src/sql/roles.sql")) == 0
    or BAIL_OUT('roles');
psql($p1, 'postgres', 'CREATE DATABASE parley OWNER parley_owner');
my $hosts = "host=127.0.0.1,127.0.0.1 port=$p1,$p2 dbname=parley target_session_attrs=read-write connect_timeout=2";
{
	local $ENV{PARLEY_MIGRATE_DATABASE_URL} = "$hosts user=parley_owner";
	local $ENV{PARLEY_SQL_DIR} = "$src/sql";
	my $out = `'@{[ ParleyTest->builddir ]}/parleyctl' migrate 2>&1`;
	is $?, 0, 'parleyctl migrate through the multi-host connection string' or diag $out;
}
$t->{env}{PARLEY_DATABASE_URL} = "$hosts user=parley_app";
$t->{env}{PARLEY_DB_CONNECT_TIMEOUT} = 2;
$t->{env}{PARLEY_WIDGET_MESSAGE_RATE} = 100000;
$t->start_parleyd;
$t->start_nginx;
is $t->get('/readyz')->{status}, 200, 'parleyd is ready on the primary';
my $parleyd = $t->parleyd_pid;

my $pw = 'tangerine-orbit-velvet-42';
my $own = $t->signup(json => { email => 'ha@failover.example', password => $pw, name => 'H A', company_name => 'HA Co' })->{json};
my $auth = { authorization => "Bearer $own->{access_token}" };
my $bot = $t->post('/api/v1/chatbots', headers => $auth, json => { name => 'Shop', allowed_origins => ['https://shop.example'] })->{json};
my $vt = $t->post('/api/v1/widget/sessions', headers => { origin => 'https://shop.example' },
    json => { bot_key => $bot->{public_key} })->{json}{token};
my $vh = { authorization => "Bearer $vt" };
my $conv = $t->post('/api/v1/widget/conversations', headers => $vh)->{json}{id};
ok $conv, 'a visitor conversation';

# The stream: one message at a time, each with its own text; 2xx noted.
my (%ok, %status, $n, $killed_at, $back_at, %ready);
sub say_one {
	my $text = sprintf 'message %05d', ++$n;
	my $r = $t->post("/api/v1/widget/conversations/$conv/messages", headers => $vh, json => { content => $text });
	$status{ $r->{status} }++;
	$ok{$text} = 1 if $r->{status} =~ /^2/;
	return $r->{status};
}
say_one() for 1 .. 20;
is scalar(keys %ok), 20, '20 messages stored before the failure';
# The primary's host dies: its keeper and its PostgreSQL, SIGKILL.
kill 'KILL', -$node{1};
my $pgpid = do { open my $f, '<', "$top/node1/postmaster.pid" or die; my $l = <$f>; chomp $l; $l };
kill 'KILL', $pgpid;
$killed_at = time;
while (time - $killed_at < 120) {
	my $st = say_one();
	$ready{ $t->get('/readyz')->{json}{code} // 'ready' }++;
	if ($st =~ /^2/) { $back_at = time; last }
}
ok $back_at, sprintf('messages succeed again after the primary was killed: %.1f s from the kill to the first 2xx', ($back_at // time) - $killed_at);
diag sprintf 'failover: %.1f s from SIGKILL to the first stored message', ($back_at // time) - $killed_at;
is psql($p2, 'postgres', 'SELECT pg_is_in_recovery()'), 'f', 'node2 was promoted';
say_one() for 1 .. 10;
ok $ready{database_unavailable}, '/readyz answered 503 database_unavailable while no primary was reachable';
is $t->parleyd_pid, $parleyd, 'the same parleyd (no restart): its connections found the new primary';
ok !grep({ !/^(2\d\d|503)$/ } keys %status), 'every answer was 2xx or 503 (no 500): ' . join(', ', map { "$_ x$status{$_}" } sort keys %status);

# Nothing answered 2xx was lost, nothing stored twice.
my $dbh = DBI->connect("dbi:Pg:host=127.0.0.1;port=$p2;dbname=parley", $user // 'postgres', undef, { RaiseError => 1 });
my %stored;
$stored{ $_->[0] }++ for @{ $dbh->selectall_arrayref(q{SELECT content FROM messages WHERE conversation_id = ? AND role = 'visitor'}, undef, $conv) };
my @lost = grep { !$stored{$_} } sort keys %ok;
is_deeply \@lost, [], scalar(keys %ok) . ' messages answered 2xx: every one stored (synchronous commit)';
my @twice = grep { $stored{$_} > 1 } sort keys %stored;
is_deeply \@twice, [], '... none twice';
$dbh->disconnect;
done_testing;
