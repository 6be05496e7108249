# A full disk during a data export: classified (disk_full), failed once
# with the reason the admin sees, its partial files removed, logged as an
# error; not retried for an hour as if the database were away. The export
# directory is a tiny tmpfs (mounting one needs root: CI runs as root).
use strict;
use warnings;
use Test::More;
use File::Temp ();
use ParleyTest;

my $mnt = File::Temp::tempdir('parley-full-XXXXXX', TMPDIR => 1, CLEANUP => 1);
if (system("mount -t tmpfs -o size=96k,mode=0777 tmpfs '$mnt' 2>/dev/null") != 0) {
	plan skip_all => 'cannot mount a tmpfs here (needs root)';
}
END { system("umount '$mnt' 2>/dev/null") if $mnt }

my $t = ParleyTest->new(env => { PARLEY_EXPORT_DIR => "$mnt/exports", PARLEY_RETENTION_INTERVAL => 0 });
my $c = $t->register_company('full', 'tangerine-orbit-velvet-42');
sub req { my ($m, $p, $j) = @_; $t->request($m, $p, headers => $c->{auth}, defined $j ? (json => $j) : ()) }
my $bot = req('POST', '/api/v1/chatbots', { name => 'B', allowed_origins => ['https://full.example'] })->{json};
# More text than the disk holds (the export writes each file before it
# packs it): 2 x 120 KiB.
for my $n (1 .. 2) {
	my $text = join ' ', map { sprintf 'word%05d', ($_ * 7919 + $n) % 100000 } 1 .. 12000;
	is req('POST', "/api/v1/chatbots/$bot->{id}/documents", { title => "Big $n", content_type => 'text/plain',
	    content => $text })->{status}, 201, "a large document ($n)";
}
my $r = req('POST', '/api/v1/company/export');
is $r->{status}, 202, 'an export is started';
my $id = $r->{json}{id};
my $e;
ParleyTest::wait_for(sub { $e = req('GET', "/api/v1/company/exports/$id")->{json}; $e->{status} =~ /ready|failed/ }, 'the export to end', 30);
is $e->{status}, 'failed', 'the export failed';
is $e->{error}, 'disk_full', '... and says why: disk_full';
my $job = $t->sql(q{SELECT attempts, last_error, failed_at IS NOT NULL AS failed FROM jobs WHERE kind = 'export'})->[0];
is $job->{attempts}, 1, '... at the first try, not retried';
ok $job->{failed}, '... the job failed for good';
is $job->{last_error}, 'disk_full', '... with disk_full';
opendir my $d, "$mnt/exports/$c->{id}" or die $!;
my @left = grep { !/^\.\.?$/ } readdir $d;
is scalar(@left), 0, 'no partial file is left on the disk' or diag "@left";
my ($ev) = grep { $_->{event} eq 'export_failed' } $t->log_events;
is $ev->{reason}, 'disk_full', 'logged: export_failed, reason disk_full';
is $ev->{level}, 'error', '... as an error';
# Space again: a new export works.
system('mount', '-o', 'remount,size=4m', $mnt) == 0 or die 'remount';
$r = req('POST', '/api/v1/company/export');
is $r->{status}, 202, 'with space again, a new export starts';
ParleyTest::wait_for(sub { $e = req('GET', "/api/v1/company/exports/$r->{json}{id}")->{json}; $e->{status} =~ /ready|failed/ }, 'the export', 30);
is $e->{status}, 'ready', '... and is ready';
done_testing;
