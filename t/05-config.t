# Build and configuration errors are clear and fail early.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use ParleyTest;

my $b = ParleyTest->builddir;
my $src = ParleyTest->srcdir;
my $tmp = tempdir('parley-conf-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# run(env, @cmd): exit code and combined output.
sub run {
	my ($env, @cmd) = @_;
	local %ENV = (%ENV, %$env);
	delete $ENV{$_} for grep { /^PARLEY_/ && !exists $env->{$_} } keys %ENV;
	my $out = `@{[ join ' ', map { "'$_'" } @cmd ]} 2>&1`;
	return ($? >> 8, $out);
}

# Key files as a deployment has them.
system("openssl rand -base64 48 > '$tmp/jwt.key'") == 0 or die;
system("printf 'k1 %s\\n' \$(openssl rand -base64 32) > '$tmp/keyring'") == 0 or die;
system("openssl rand -base64 48 > '$tmp/audit.key'") == 0 or die;
my %keys = (PARLEY_JWT_KEY_FILE => "$tmp/jwt.key", PARLEY_KEYRING_FILE => "$tmp/keyring",
    PARLEY_AUDIT_KEY_FILE => "$tmp/audit.key");

my ($rc, $out) = run({}, "$b/parleyd", '-t');
is $rc, 1, 'parleyd without database_url refuses to start';
like $out, qr/database_url is required \(PARLEY_DATABASE_URL\)/, '... and says which setting';

($rc, $out) = run({ PARLEY_DATABASE_URL => 'dbname=x', PARLEY_WORKERS => 'lots' }, "$b/parleyd", '-t');
is $rc, 1, 'non-numeric PARLEY_WORKERS refused';
like $out, qr/workers: must be an integer from 1 to 256 \(from PARLEY_WORKERS\)/, '... naming the variable and bounds';

($rc, $out) = run({ PARLEY_DATABASE_URL => 'dbname=x', PARLEY_LISTEN => '0.0.0.0:9000' }, "$b/parleyd", '-t');
is $rc, 1, 'FastCGI on a public address refused';
like $out, qr/loopback/, '... explaining why';

($rc, $out) = run({ PARLEY_DATABASE_URL => 'dbname=x', PARLEY_JOB_LEASE => 40, PARLEY_WEBHOOK_TIMEOUT => 15 }, "$b/parleyd", '-t');
is $rc, 1, 'a job lease shorter than the longest job is refused';
like $out, qr/job_lease: must exceed .* more than 45/, '... saying what it must exceed';

($rc, $out) = run({ PARLEY_DATABASE_URL => 'dbname=x', PARLEY_JOB_LEASE => 55, PARLEY_KB_FETCH_TIMEOUT => 20 }, "$b/parleyd", '-t');
is $rc, 1, 'a job lease shorter than one knowledge-base page is refused';
like $out, qr/job_lease: must exceed one knowledge-base page: .* more than 60/, '... saying what it must exceed';

($rc, $out) = run({ PARLEY_DATABASE_URL => 'dbname=x', PARLEY_STRIPE_API_URL => 'http://stripe.example' }, "$b/parleyd", '-t');
is $rc, 1, 'a Stripe API URL without TLS is refused';
like $out, qr/stripe_api_url: must be https/, '... naming the setting';

open my $fh, '>', "$tmp/parley.conf" or die;
print $fh "# test\ndatabase_url = dbname=x\nworkers = 3\nbogus_key = 1\n";
close $fh;
($rc, $out) = run({}, "$b/parleyd", '-c', "$tmp/parley.conf", '-t');
is $rc, 1, 'unknown key in the file refused';
like $out, qr/parley\.conf:4: unknown configuration key 'bogus_key'/, '... with file and line';

open $fh, '>', "$tmp/parley.conf" or die;
print $fh "database_url = dbname=x\nworkers = 3\n";
close $fh;
($rc, $out) = run({%keys}, "$b/parleyd", '-c', "$tmp/parley.conf", '-t');
is $rc, 0, 'valid file accepted';
like $out, qr/configuration ok/, '... and says so';
($rc, $out) = run({ PARLEY_CONFIG => "$tmp/missing.conf" }, "$b/parleyd", '-t');
is $rc, 1, 'missing file named by PARLEY_CONFIG refused';

# Secrets: parleyd refuses to start without a strong signing key.
($rc, $out) = run({ PARLEY_DATABASE_URL => 'dbname=x', PARLEY_KEYRING_FILE => "$tmp/keyring" }, "$b/parleyd", '-t');
is $rc, 1, 'no jwt_key_file: refused';
like $out, qr/jwt_key_file is required/, '... saying what is needed';
system("openssl rand -base64 16 > '$tmp/short.key'");
($rc, $out) = run({ PARLEY_DATABASE_URL => 'dbname=x', %keys, PARLEY_JWT_KEY_FILE => "$tmp/short.key" },
    "$b/parleyd", '-t');
is $rc, 1, 'a 128-bit signing key is refused';
like $out, qr/base64 of 32 to 191 bytes/, '... naming the bounds';
($rc, $out) = run({ PARLEY_DATABASE_URL => 'dbname=x', %keys, PARLEY_KEYRING_FILE => "$tmp/missing" }, "$b/parleyd", '-t');
is $rc, 1, 'a missing keyring is refused';
($rc, $out) = run({ PARLEY_DATABASE_URL => 'dbname=x', %keys, PARLEY_AUDIT_KEY_FILE => "$tmp/short.key" }, "$b/parleyd", '-t');
is $rc, 1, 'a short audit key is refused';
like $out, qr/audit_key_file/, '... naming the setting';
($rc, $out) = run({ PARLEY_DATABASE_URL => 'postgresql://u:Hunter2Secret@[nope', %keys }, "$b/parleyd", '-t');
is $rc, 1, 'a malformed database_url is refused';
unlike $out, qr/Hunter2Secret/, '... without echoing the password';
($rc, $out) = run({ PARLEY_DATABASE_URL => 'dbname=x', %keys, PARLEY_BCRYPT_COST => 9 }, "$b/parleyd", '-t');
is $rc, 1, 'bcrypt cost below 10 refused';

($rc, $out) = run({}, "$b/parleyctl", 'frobnicate');
is $rc, 2, 'parleyctl: unknown command is a usage error';
like $out, qr/usage: parleyctl migrate/, '... printing usage';
($rc, $out) = run({}, "$b/parleyctl", 'migrate');
is $rc, 2, 'parleyctl migrate without a database URL refused';
like $out, qr/PARLEY_MIGRATE_DATABASE_URL/, '... naming the variable';

# Every configuration key is documented.
($rc, $out) = run({}, "$b/parleyctl", 'config-keys');
my @keys = map { (split /\t/)[0] } split /\n/, $out;
cmp_ok scalar(@keys), '>=', 8, 'parleyctl config-keys lists the keys';
open $fh, '<', "$src/docs/configuration.md" or die;
my $doc = do { local $/; <$fh> };
for my $k (@keys) {
	my $env = 'PARLEY_' . uc $k;
	like $doc, qr/\b\Q$env\E\b/, "docs/configuration.md documents $k ($env)";
}

# configure fails at once, naming the Debian package, when a library is
# missing: here libjwt, hidden from a pkg-config search path that holds
# every other .pc file of this machine.
SKIP: {
	skip 'configure script not generated', 3 unless -x "$src/configure";
	my $pc = "$tmp/pkgconfig";
	mkdir $pc;
	for my $d (split /:/, `pkg-config --variable pc_path pkg-config`) {
		chomp $d;
		for my $f (glob "$d/*.pc") {
			my $name = $f =~ s{.*/}{}r;
			next if $name =~ /^libjwt/;
			copy($f, "$pc/$name");
		}
	}
	mkdir "$tmp/build";
	my $cmd = "cd '$tmp/build' && PKG_CONFIG_LIBDIR='$pc' PKG_CONFIG_PATH= '$src/configure' -q 2>&1";
	my $o = `$cmd`;
	isnt $? >> 8, 0, 'configure fails without libjwt';
	like $o, qr/libjwt >= 1\.10 libjwt < 2 was not found/, '... naming the library';
	like $o, qr/apt-get install libjwt-dev/, '... and the Debian package';
}

done_testing;
