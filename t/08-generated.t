# Generated sources are what their generators make from the data they
# name: src/confusables.inc from Unicode's confusables (Debian's
# python3-confusable-homoglyphs) and Python's Unicode data.
use strict;
use warnings;
use Test::More;
use File::Temp ();
use ParleyTest;

my $src = ParleyTest->srcdir;
my $tmp = File::Temp->new;
system('/usr/bin/python3', "$src/dev/gen-confusables", $tmp->filename) == 0 or BAIL_OUT('dev/gen-confusables failed');
sub slurp { open my $fh, '<', $_[0] or die "$_[0]: $!"; local $/; <$fh> }
my ($want, $have) = (slurp($tmp->filename), slurp("$src/src/confusables.inc"));
ok $want eq $have, 'src/confusables.inc is what dev/gen-confusables writes (run it after the data changed)';
like $have, qr/\{ 0x0300A, "<" \}/, '... 《 reads as <';
like $have, qr/\{ 0x0200B, "" \}/, '... a zero-width space is not seen';
like $have, qr/\{ 0x0043E, "o" \}/, '... Cyrillic о reads as o';
like $have, qr/\{ 0x0FB00, "ff" \}/, '... the ligature ﬀ as ff (NFKC, several characters)';
done_testing;
