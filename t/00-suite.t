# The suite itself: every test file is run by `make check`, and the caps in
# src/limits.h that tests rely on are readable.
use strict;
use warnings;
use Test::More;
use ParleyTest;

my $src = ParleyTest->srcdir;
open my $fh, '<', "$src/Makefile.am" or die $!;
my $am = do { local $/; <$fh> };
my @listed = $am =~ m{\b(t/\d{2,3}-[\w-]+\.t)\b}g;
my %listed = map { $_ => 1 } @listed;
for my $f (sort map { s{^\Q$src\E/}{}r } glob "$src/t/*.t") {
	ok $listed{$f}, "$f is listed in Makefile.am INTEGRATION_TESTS";
}
for my $f (@listed) {
	ok -f "$src/$f", "$f listed in Makefile.am exists";
}
my %lim = ParleyTest::limits();
cmp_ok $lim{PRL_MAX_PATH}, '>', 0, 'src/limits.h parsed';
done_testing;
