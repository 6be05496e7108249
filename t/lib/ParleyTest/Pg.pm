package ParleyTest::Pg;
# A private PostgreSQL cluster for tests, dev/up and bench.
#
# PostgreSQL refuses to run as root, so when run as root the cluster runs
# as an unprivileged user (postgres if it exists, else nobody), in a
# directory that user owns under /tmp. The cluster listens on a unix socket
# only (listen_addresses = ''), in a directory private to the run.
use strict;
use warnings;
use File::Temp ();
use File::Path qw(make_path remove_tree);
use POSIX ();

sub bindir {
	for my $d (sort { $b cmp $a } glob('/usr/lib/postgresql/*/bin')) {
		return $d if -x "$d/initdb";
	}
	die "PostgreSQL server binaries not found: apt-get install postgresql\n";
}

sub run_user {
	return undef if $> != 0;
	return getpwnam('postgres') ? 'postgres' : 'nobody';
}

# as_user(@cmd): the command line to run @cmd as the cluster's user.
sub as_user {
	my ($self, @cmd) = @_;
	return @cmd unless $self->{user};
	return ('runuser', '-u', $self->{user}, '--', @cmd);
}

sub sys {
	my ($self, @cmd) = @_;
	my @full = $self->as_user(@cmd);
	my $out = `@{[ join ' ', map { _q($_) } @full ]} 2>&1`;
	die "command failed: @cmd\n$out" if $? != 0;
	return $out;
}

sub _q { my $s = shift; $s =~ s/'/'\\''/g; return "'$s'" }

# new(dir => DIR, fast => 1): a cluster object for DIR (created when
# missing). A cluster is durable (fsync, synchronous commit, full page
# writes) unless 'fast' is given when it is first made: tests' clusters
# are, since nothing in them outlives the run; dev/up's and bench's never.
sub new {
	my ($class, %o) = @_;
	my $self = bless { user => run_user(), bin => bindir(), fast => $o{fast} }, $class;
	$self->{dir} = $o{dir} // File::Temp::tempdir('parley-pg-XXXXXX',
	    TMPDIR => 1, CLEANUP => 0);
	# Trust authentication is safe only because nobody else can reach
	# the socket: the directory is the cluster user's, mode 0700.
	make_path($self->{dir});
	# Private: only the cluster's user (and root) may reach the socket.
	chmod 0700, $self->{dir};
	if ($self->{user}) {
		my ($uid, $gid) = (getpwnam($self->{user}))[2, 3];
		chown $uid, $gid, $self->{dir};
	}
	$self->{data} = "$self->{dir}/data";
	$self->{sock} = "$self->{dir}/sock";
	$self->{port} = 5432;
	$self->{log} = "$self->{dir}/postgresql.log";
	return $self;
}

sub dir { $_[0]{dir} }
sub host { $_[0]{sock} }
sub port { $_[0]{port} }

# conninfo(db, user): a libpq connection string.
sub conninfo {
	my ($self, $db, $user) = @_;
	return "host=$self->{sock} port=$self->{port} dbname=$db user=$user";
}

sub initdb {
	my ($self) = @_;
	return if -f "$self->{data}/PG_VERSION";
	$self->sys("$self->{bin}/initdb", '-D', $self->{data}, '-U', 'postgres',
	    '-A', 'trust', '-E', 'UTF8', '--locale=C', $self->{fast} ? ('--no-sync') : (), '--no-instructions');
	my $durability = $self->{fast}
	    ? "# A test cluster: fast, not crash-safe (nothing in it outlives the run).\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off"
	    : "# Durable: an acknowledged commit survives a crash.\nfsync = on\nsynchronous_commit = on\nfull_page_writes = on";
	$self->sys('mkdir', '-p', '-m', '0700', $self->{sock});
	open my $fh, '>>', "$self->{data}/postgresql.conf" or die $!;
	print $fh <<"CONF";
# parley test cluster
listen_addresses = ''
unix_socket_directories = '$self->{sock}'
unix_socket_permissions = 0700
port = $self->{port}
max_connections = 300
shared_buffers = 64MB
$durability
# Never log statements or their parameters: they may hold secrets.
log_statement = 'none'
log_min_duration_statement = -1
log_parameter_max_length = 0
log_parameter_max_length_on_error = 0
log_min_error_statement = panic
log_line_prefix = '%m [%p] %q%u@%d '
CONF
	close $fh;
}

sub start {
	my ($self) = @_;
	$self->initdb;
	return if $self->running;
	# Durable also for a cluster made before clusters were (the command
	# line wins over postgresql.conf).
	my $durable = $self->{fast} ? '' : ' -c fsync=on -c synchronous_commit=on -c full_page_writes=on';
	$self->sys("$self->{bin}/pg_ctl", '-D', $self->{data}, '-l', $self->{log},
	    '-w', '-t', '60', '-o', '-c unix_socket_directories=' . $self->{sock}
	    . ' -c unix_socket_permissions=0700' . $durable, 'start');
}

sub running {
	my ($self) = @_;
	my @cmd = $self->as_user("$self->{bin}/pg_ctl", '-D', $self->{data}, 'status');
	system(join(' ', map { _q($_) } @cmd) . ' >/dev/null 2>&1');
	return $? == 0;
}

sub stop {
	my ($self, $mode) = @_;
	return unless -f "$self->{data}/postmaster.pid";
	$self->sys("$self->{bin}/pg_ctl", '-D', $self->{data}, '-m', $mode // 'fast',
	    '-w', '-t', '60', 'stop');
}

sub restart {
	my ($self) = @_;
	$self->sys("$self->{bin}/pg_ctl", '-D', $self->{data}, '-l', $self->{log},
	    '-m', 'fast', '-w', '-t', '60', 'restart');
}

# psql(db, sql, [file]) as the superuser; returns output.
sub psql {
	my ($self, $db, $sql, $file) = @_;
	my @cmd = ('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', '-h',
	    $self->{sock}, '-p', $self->{port}, '-U', 'postgres', '-d', $db);
	push @cmd, $file ? ('-f', $file) : ('-c', $sql);
	my $out = `@{[ join ' ', map { _q($_) } @cmd ]} 2>&1`;
	die "psql failed: $out" if $? != 0;
	return $out;
}

# setup(srcdir, builddir): roles, then the migrated template database.
sub setup {
	my ($self, $srcdir, $builddir, $dbname) = @_;
	$dbname //= 'parley_template';
	$self->psql('postgres', undef, "$srcdir/sql/roles.sql");
	my $exists = $self->psql('postgres',
	    "SELECT 1 FROM pg_database WHERE datname = '$dbname'");
	$self->psql('postgres', qq{CREATE DATABASE "$dbname" OWNER parley_owner})
	    unless $exists =~ /1/;
	local $ENV{PARLEY_MIGRATE_DATABASE_URL} = $self->conninfo($dbname, 'parley_owner');
	my $out = `'$builddir/parleyctl' migrate --dir '$srcdir/sql' 2>&1`;
	die "parleyctl migrate failed:\n$out" if $? != 0;
	return $dbname;
}

sub destroy {
	my ($self) = @_;
	eval { $self->stop('immediate') };
	remove_tree($self->{dir});
}

1;
