# The jobs queue: e-mail is sent by the jobs process, retried with
# backoff while SMTP is down, kept across a restart of parleyd, given up
# after max_attempts, and delivered exactly once with several processes.
use strict;
use warnings;
use Test::More;
use ParleyTest;

my $t = ParleyTest->new(smtp_later => 1, env => { PARLEY_JOBS_WORKERS => 2, PARLEY_RESET_MAX => 100 });
my $pw = 'tangerine-orbit-velvet-42';
is scalar($t->jobs_pids), 2, 'two jobs processes beside the workers';

my $r = $t->post('/api/v1/auth/register', json => { email => 'jo@example.net', password => $pw,
    name => 'Jo Jobs', company_name => 'Queue Co' });
is $r->{status}, 202, 'registered while SMTP is down: the request does not wait for mail';

sub job { $t->sql('SELECT id, attempts, last_error, run_at > now() AS later, done_at, failed_at, payload::text AS payload FROM jobs ORDER BY id')->[0] }
# The try is counted when the job is taken, its outcome when it ends.
ParleyTest::wait_for(sub { my $x = job(); $x->{attempts} >= 1 && defined $x->{last_error} }, 'a first delivery attempt to end');
my $j = job();
is $j->{last_error}, 'mail_unavailable', 'SMTP down: the attempt failed as temporary';
ok $j->{later}, '... and the job is scheduled for later (backoff)';
ok !$j->{done_at} && !$j->{failed_at}, '... still pending';
like $j->{payload}, qr/"token_enc": ?"v1\.k1\./, 'the pending job holds the link token encrypted';

# parleyd restarts; the job is still there and goes out once SMTP is up.
$t->stop_parleyd;
$t->start_smtp;
$t->sql(q{UPDATE jobs SET run_at = now()});
$t->start_parleyd;
my $mail = $t->wait_mail('jo@example.net', qr/finish signing up/i);
ok $mail, 'delivered after the restart';
my ($stok) = $mail->{body} =~ m{confirm-signup#token=([A-Za-z0-9_-]{43})};
is $t->post('/api/v1/auth/register/confirm', json => { token => $stok, password => $pw })->{status}, 201, '... and its link works';
ParleyTest::wait_for(sub { job()->{done_at} }, 'the job marked done');
$j = job();
is $j->{payload}, '{}', 'done: payload erased';
cmp_ok $j->{attempts}, '>=', 2, "delivered on attempt $j->{attempts}";

# Many jobs, two processes: each mail exactly once (FOR UPDATE SKIP LOCKED).
# A slow mail server (a quarter of a second a mail) keeps one process busy
# while the other takes the next job, so both work.
{
	open my $fh, '>', $t->dir . '/mail/.slow' or die $!;
	print $fh "0.25\n";
	close $fh;
}
my $logged = () = $t->log_events;
for my $i (1 .. 12) {
	$r = $t->post('/api/v1/auth/register', headers => { 'x-forwarded-for' => "198.51.100.$i" },
	    json => { email => "user$i\@example.net", password => $pw, name => "User $i", company_name => "Co $i" });
	die $r->{content} unless $r->{status} == 202;
}
ParleyTest::wait_for(sub { scalar(grep { $_->{to} =~ /^user\d+\@/ } $t->mails) >= 12 }, 'twelve mails');
ParleyTest::wait_for(sub { !$t->sql('SELECT count(*) AS n FROM jobs WHERE done_at IS NULL')->[0]{n} }, 'the queue drained');
my %seen;
$seen{ $_->{to} }++ for grep { $_->{to} =~ /^user\d+\@/ } $t->mails;
is scalar(keys %seen), 12, 'every user got mail';
is scalar(grep { $_ != 1 } values %seen), 0, 'nobody got it twice';
my @all = $t->log_events;
my %by = map { $_->{pid} => 1 } grep { $_->{event} eq 'job' && $_->{status} eq 'done' } @all[$logged .. $#all];
is scalar(keys %by), 2, 'both jobs processes sent mail';
unlink $t->dir . '/mail/.slow';

# At least once, deduplicated: a try whose answer never came (the server
# stored the mail, then the connection died) is sent again with the same
# Message-ID, in the mail_from domain, so mail systems drop the copy.
{
	open my $fh, '>', $t->dir . '/mail/.lose-answer' or die $!;
	close $fh;
}
$t->post('/api/v1/auth/password/forgot', headers => { 'x-forwarded-for' => '198.51.100.99' }, json => { email => 'jo@example.net' });
ParleyTest::wait_for(sub { 2 == grep { $_->{to} eq 'jo@example.net' && $_->{subject} =~ /Reset/ } $t->mails }, 'the mail twice', 30);
my @ids = map { $_->{head} =~ /^Message-ID: (<[^>]+>)\r?$/mi ? $1 : 'none' }
    grep { $_->{to} eq 'jo@example.net' && $_->{subject} =~ /Reset/ } $t->mails;
is $ids[0], $ids[1], 'a mail sent again carries the same Message-ID';
like $ids[0], qr/^<[0-9a-f]{32}\@parley\.test>$/, '... in the mail_from domain';
my @others = map { $_->{head} =~ /^Message-ID: (<[^>]+>)/mi ? $1 : () } grep { $_->{to} =~ /^user\d+\@/ } $t->mails;
my %uniq = map { $_ => 1 } @others;
is scalar(keys %uniq), scalar(@others), 'every other mail has a Message-ID of its own';

# Giving up: after max_attempts a job fails for good, its secret erased.
my $smtp = delete $t->{pids}{smtp};
kill 'TERM', $smtp;
waitpid($smtp, 0);
$t->post('/api/v1/auth/password/forgot', json => { email => 'jo@example.net' });
ParleyTest::wait_for(sub { $t->sql(q{SELECT count(*) AS n FROM jobs WHERE done_at IS NULL AND attempts >= 1})->[0]{n} }, 'an attempt');
$t->sql(q{UPDATE jobs SET max_attempts = 2, run_at = now() WHERE done_at IS NULL});
ParleyTest::wait_for(sub { $t->sql(q{SELECT count(*) AS n FROM jobs WHERE failed_at IS NOT NULL})->[0]{n} }, 'the job to fail');
$j = $t->sql(q{SELECT attempts, last_error, payload::text AS payload FROM jobs WHERE failed_at IS NOT NULL})->[0];
is $j->{attempts}, 2, 'gave up after max_attempts';
is $j->{payload}, '{}', '... and erased the sealed token';
ok scalar(grep { $_->{event} eq 'job' && $_->{status} eq 'failed' } $t->log_events), 'the failure is logged';

done_testing;
