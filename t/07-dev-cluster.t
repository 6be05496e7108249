# The clusters dev/up and bench/run make are durable (fsync, synchronous
# commit, full page writes on): an acknowledged commit survives an
# immediate stop. Only test clusters run fast (dev/pg start --fast).
use strict;
use warnings;
use Test::More;
use File::Temp ();
use ParleyTest;

my $src = ParleyTest->srcdir;
my %dir = map { $_ => File::Temp::tempdir("parley-durable-$_-XXXXXX", TMPDIR => 1, CLEANUP => 1) } qw(dev fast);
END { system('perl', "$src/dev/pg", 'stop', $dir{$_}) for grep { $dir{$_} } keys %dir }

sub pg { my @a = @_; my $out = `perl '$src/dev/pg' @a 2>&1`; die "dev/pg @a: $out" if $?; $out }
sub setting { my ($d, $name) = @_; chomp(my $v = pg('sql', $d, 'postgres', "'SHOW $name'")); $v }

pg('start', $dir{dev});
pg('start', '--fast', $dir{fast});
for my $s (qw(fsync synchronous_commit full_page_writes)) {
	is setting($dir{dev}, $s), 'on', "dev/pg start (dev/up, bench/run): $s on";
	is setting($dir{fast}, $s), 'off', "dev/pg start --fast (tests): $s off";
}

# A cluster made fast (as dev/up's were once) is durable once dev/up
# starts it.
pg('stop', $dir{fast});
pg('start', $dir{fast});
is setting($dir{fast}, $_), 'on', "an old fast cluster started by dev/pg start: $_ on" for qw(fsync synchronous_commit);

# Acknowledged commits, then an immediate stop (no shutdown checkpoint):
# every one is there after the restart.
pg('sql', $dir{dev}, 'postgres', "'CREATE TABLE acked (n integer)'");
pg('sql', $dir{dev}, 'postgres', qq{'INSERT INTO acked VALUES ($_)'}) for 1 .. 50;
my $pg = ParleyTest::Pg->new(dir => $dir{dev});
$pg->stop('immediate');
pg('start', $dir{dev});
chomp(my $n = pg('sql', $dir{dev}, 'postgres', "'SELECT count(*) FROM acked'"));
is $n, 50, 'after an immediate stop, all 50 acknowledged commits are there';

# dev/up and bench/run start theirs without --fast; only dev/test asks for it.
for my $f (qw(dev/up bench/run)) {
	open my $fh, '<', "$src/$f" or die "$f: $!";
	my @starts = grep { /dev\/pg start/ } <$fh>;
	ok @starts && !grep({ /--fast/ } @starts), "$f starts a durable cluster";
}

done_testing;
