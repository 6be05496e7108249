# The Debian package (issue 21, item 4 in part; debian/): built from this
# tree with dpkg-buildpackage (native, binary only, no root), lintian
# clean, and holding what a host needs: parleyd and parleyctl with their
# manual pages, the nginx snippets, the widget and console, the SQL
# migrations, the systemd units and the monitoring rules. The console has
# no build step (its modules are served as written), so there is no npm
# stage before the build.
use strict;
use warnings;
use Test::More;
use File::Temp ();
use ParleyTest;

for my $p (qw(dpkg-buildpackage lintian dpkg-deb)) {
	ok -x "/usr/bin/$p", "$p is installed (dev/test installs dpkg-dev, debhelper, lintian)" or BAIL_OUT("no $p");
}
my $src = ParleyTest->srcdir;
my $top = File::Temp::tempdir('parley-deb-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $tree = "$top/parley";
mkdir $tree or die;
# The tree as git has it (tracked, and new files not ignored): no build
# directory, no generated autotools files.
my @files = split /\0/, `git -C '$src' ls-files -co --exclude-standard -z`;
ok @files > 100, scalar(@files) . ' files of the tree';
for my $f (@files) {
	next unless -f "$src/$f";
	(my $d = "$tree/$f") =~ s{/[^/]+$}{};
	system('mkdir', '-p', $d) == 0 or die;
	system('cp', '-p', "$src/$f", "$tree/$f") == 0 or die "cp $f";
}
my $out = `cd '$tree' && dpkg-buildpackage -us -uc -b -j2 2>&1`;
is $?, 0, 'dpkg-buildpackage builds the package' or diag substr($out, -3000);
my ($deb) = glob "$top/parley_*_amd64.deb";
ok $deb && -f $deb, 'a .deb: ' . ($deb // 'none') or BAIL_OUT('no package');
my ($changes) = glob "$top/parley_*_amd64.changes";
my $lint = `lintian '$changes' 2>&1`;
my @tags = grep { /^[EWI]: / } split /\n/, $lint;
is_deeply \@tags, [], 'lintian: no error, warning or info tag' or diag $lint;

my %has = map { s{^\./}{/}r => 1 } map { (split ' ', $_)[5] } split /\n/, `dpkg-deb -c '$deb'`;
for my $f (qw(/usr/sbin/parleyd /usr/bin/parleyctl /usr/share/man/man8/parleyd.8.gz /usr/share/man/man1/parleyctl.1.gz
    /usr/share/parley/nginx/parley-site.conf.in /usr/share/parley/nginx/render /usr/share/parley/widget/parley.js
    /usr/share/parley/console/index.html /usr/share/parley/sql/001-init.sql /usr/share/parley/sql/040-detection.sql
    /lib/systemd/system/parleyd.service /lib/systemd/system/parley-backup.service /lib/systemd/system/parley-backup.timer
    /usr/share/parley/monitoring/prometheus-alerts.yml /usr/share/parley/monitoring/grafana-dashboard.json)) {
	ok $has{$f}, "the package holds $f";
}
my $info = `dpkg-deb -I '$deb'`;
like $info, qr/^ Depends:.*libpq5/m, 'its dependencies come from the binaries (shlibs: libpq5 among them)';
like $info, qr/^ Depends:.*adduser/m, '... and adduser, for the parley user the postinst makes';
# The packaged server is the same program: it reads a configuration.
my $x = "$top/x";
system('dpkg-deb', '-x', $deb, $x) == 0 or die;
my $ver = `'$x/usr/sbin/parleyd' -V 2>&1`;
like $ver, qr/0\.1\.0/, "the packaged parleyd runs: $ver";
my $unit = do { local (@ARGV, $/) = ("$x/lib/systemd/system/parleyd.service"); <> };
like $unit, qr{^ExecStart=/usr/sbin/parleyd -c /etc/parley/parley\.conf$}m, "its unit names the package's paths";
done_testing;
