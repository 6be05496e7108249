# The worker pool: crashes are replaced, reload swaps workers without
# dropping requests, stop lets in-flight requests finish (within a bound).
use strict;
use warnings;
use Test::More;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time);
use ParleyTest;
use ParleyTest::FastCGI;

sub sockets {
	my ($pid) = @_;
	return scalar grep { (readlink($_) // '') =~ /^socket:/ } glob "/proc/$pid/fd/*";
}

my $t = ParleyTest->new(workers => 3);
my @before = $t->worker_pids;
is scalar(@before), 3, 'three workers';

# Requests are spread across workers.
my %pids;
for (1 .. 60) {
	is $t->get('/api/v1/meta')->{status}, 200, 'answered' if $_ == 1;
	$t->get('/api/v1/meta');
}
$pids{ $_->{pid} }++ for grep { $_->{event} eq 'request' } $t->log_events;
cmp_ok scalar(keys %pids), '>=', 2, 'requests answered by at least two worker processes';

# A worker killed with SIGKILL is replaced; the stack keeps answering.
kill 'KILL', $before[0];
ParleyTest::wait_for(sub {
	my @now = $t->worker_pids;
	@now == 3 && !grep { $_ == $before[0] } @now;
}, 'a replacement worker');
my @after = $t->worker_pids;
is scalar(@after), 3, 'back to three workers';
ok !(grep { $_ == $before[0] } @after), 'the killed worker is gone';
my $ok = 0;
$ok += $t->get('/readyz')->{status} == 200 for 1 .. 20;
is $ok, 20, 'every request after the crash answered';
ok scalar(grep { $_->{event} eq 'worker_died' && $_->{pid} == $before[0] && $_->{signal} == 9 } $t->log_events),
    'the death was logged with its signal';

# SIGHUP: a new generation replaces every worker; requests keep flowing.
my @gen1 = $t->worker_pids;
kill 'HUP', $t->parleyd_pid;
my ($answered, $failed) = (0, 0);
my $until = time + 30;
while (time < $until) {
	my $st = $t->get('/api/v1/meta')->{status};
	$st == 200 ? $answered++ : $failed++;
	my @now = $t->worker_pids;
	my %old = map { $_ => 1 } @gen1;
	last if @now == 3 && !grep { $old{$_} } @now;
}
my @gen2 = $t->worker_pids;
my %old = map { $_ => 1 } @gen1;
is scalar(grep { $old{$_} } @gen2), 0, 'reload replaced every worker';
is scalar(@gen2), 3, '... keeping three';
is $failed, 0, "no request failed during the reload ($answered answered)";
ok scalar(grep { $_->{event} eq 'reloaded' } $t->log_events), 'reload logged';

# SIGTERM with a request in flight: the request completes, then parleyd
# exits 0 and removes its socket.
my $sock = $t->dir . '/parleyd.sock';
my $body = '{"csp-report":{"document-uri":"https://a.example/"}}';
my %base = map { $_ => sockets($_) } $t->worker_pids;
my $fc = ParleyTest::FastCGI->new($sock);
$fc->begin(REQUEST_METHOD => 'POST', REQUEST_URI => '/api/v1/csp-report',
    CONTENT_TYPE => 'application/csp-report', CONTENT_LENGTH => length($body),
    REMOTE_ADDR => '127.0.0.1');
$fc->stdin(substr($body, 0, 10));
# Wait until a worker has accepted the connection (one more socket open).
ParleyTest::wait_for(sub { grep { sockets($_) > $base{$_} } keys %base }, 'a worker to accept');
my $master = $t->parleyd_pid;
kill 'TERM', $master;
ParleyTest::wait_for(sub { grep { $_->{event} eq 'stopping' } $t->log_events }, 'parleyd to begin stopping');
$fc->stdin(substr($body, 10));
$fc->stdin('');
my $resp = $fc->response;
like $resp, qr/^Status: 204/, 'the in-flight request completed during shutdown';
my $st;
ParleyTest::wait_for(sub { my $r = waitpid($master, WNOHANG); $st = $?; $r > 0 }, 'parleyd to exit');
delete $t->{pids}{parleyd};
is $st, 0, 'parleyd exited 0';
ok !-e $sock, 'socket removed';
is scalar(grep { $_->{event} eq 'stop_timeout_kill' } $t->log_events), 0, 'nothing had to be killed';

# Bounded: a request that never completes is cut off after
# shutdown_timeout, and parleyd still exits.
$t->{env}{PARLEY_SHUTDOWN_TIMEOUT} = 1;
$t->start_parleyd;
%base = map { $_ => sockets($_) } $t->worker_pids;
$fc = ParleyTest::FastCGI->new($sock);
$fc->begin(REQUEST_METHOD => 'POST', REQUEST_URI => '/api/v1/csp-report',
    CONTENT_TYPE => 'application/csp-report', CONTENT_LENGTH => 100, REMOTE_ADDR => '127.0.0.1');
$fc->stdin('{"csp');
ParleyTest::wait_for(sub { grep { sockets($_) > $base{$_} } keys %base }, 'a worker to accept');
my $t0 = time;
$st = $t->stop_parleyd('TERM');
my $took = time - $t0;
is $st, 0, 'parleyd exited 0 with a stuck request';
cmp_ok $took, '<', 10, sprintf('... within the bound (%.1fs for a 1s timeout)', $took);
ok scalar(grep { $_->{event} eq 'stop_timeout_kill' } $t->log_events), '... having killed the stuck worker';

# max_requests: workers recycle and nothing is lost.
$t->{env}{PARLEY_MAX_REQUESTS} = 5;
$t->{env}{PARLEY_SHUTDOWN_TIMEOUT} = 5;
$t->start_parleyd;
my @w0 = $t->worker_pids;
$ok = 0;
$ok += $t->get('/healthz')->{status} == 200 for 1 .. 40;
is $ok, 40, 'all requests answered while workers recycle';
ok scalar(grep { $_->{event} eq 'worker_recycled' } $t->log_events), 'workers recycled after max_requests';

done_testing;
