# Load shedding (queue_timeout_ms): a request that waited longer than
# that for a worker is answered 503 overloaded with Retry-After at once,
# and changes nothing; the health checks and nginx's authorisation
# subrequests (a realtime stream) are answered whatever the wait;
# what arrives once the workers have caught up is served as usual. The
# one worker is stopped (SIGSTOP) while the requests queue in its
# socket's backlog, then resumed.
use strict;
use warnings;
use Test::More;
use POSIX ();
use Time::HiRes qw(time);
use ParleyTest;

my $t = ParleyTest->new(workers => 1, env => { PARLEY_QUEUE_TIMEOUT_MS => 300 });
my $own = $t->register_company('shed', 'a shedding passphrase');
my $auth = $own->{auth};
is $t->get('/api/v1/meta')->{status}, 200, 'the one worker answers';
my $bots = sub { scalar @{ $t->sql('SELECT id FROM chatbots') } };
my $before = $bots->();

# The worker's socket: how many connections wait in its backlog.
my $sock = $t->dir . '/parleyd.sock';
sub queued {
	for (`ss -xlnH`) {
		my @f = split ' ';
		return $f[2] if @f >= 5 && $f[4] eq $sock;
	}
	return -1;
}

my ($worker) = $t->worker_pids;
kill 'STOP', $worker;
my @asks = ([ GET => '/api/v1/meta' ], [ GET => '/api/v1/meta' ], [ POST => '/api/v1/chatbots' ],
    [ GET => '/healthz' ], [ GET => '/readyz' ], [ EVENTS => '/api/v1/events' ]);
my @kids;
for my $i (0 .. $#asks) {
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		$SIG{TERM} = 'DEFAULT';
		delete $t->{http};
		my $line = eval {
			my ($m, $p) = @{ $asks[$i] };
			return $t->subscribe($p, %$auth)->{status} if $m eq 'EVENTS';
			my $r = $t->request($m, $p, headers => $auth, $m eq 'POST' ? (json => { name => 'Shed' }) : ());
			join ' ', $r->{status}, $r->{json}{code} // '-', $r->{headers}{'retry-after'} // '-';
		} // "error $@";
		open my $fh, '>', $t->dir . "/ask$i" or POSIX::_exit(1);
		print $fh $line;
		close $fh;
		POSIX::_exit(0);
	}
	push @kids, $pid;
}
# All five wait for the worker; then long enough that each has waited
# more than queue_timeout_ms (300 ms) when it is served.
ParleyTest::wait_for(sub { queued() >= @asks }, 'the requests in the backlog', 20);
my $all_in = time;
ParleyTest::wait_for(sub { time - $all_in > 0.6 }, 'the requests to wait 600 ms', 5);
kill 'CONT', $worker;
waitpid $_, 0 for @kids;
my @got = map { open my $fh, '<', $t->dir . "/ask$_" or die "ask$_: $!"; scalar <$fh> } 0 .. $#asks;

is $got[0], '503 overloaded 1', 'a request that waited 600 ms for the worker: 503 overloaded, Retry-After: 1';
is $got[1], '503 overloaded 1', '... and the next';
is $got[2], '503 overloaded 1', '... a POST too';
is $bots->(), $before, '... which changed nothing';
like $got[3], qr/^200 /, 'the liveness check is answered however long it waited';
like $got[4], qr/^200 /, '... and the readiness check';
is $got[5], '200', "a realtime stream opens: nginx's authorisation subrequest is not shed";
my @shed = grep { $_->{event} eq 'request_shed' } $t->log_events;
is scalar(@shed), 3, 'three requests shed, logged';
cmp_ok $shed[0]{wait_ms}, '>=', 600, '... with how long they waited';
is $t->get('/api/v1/meta')->{status}, 200, 'once the worker has caught up, a request is served';
is $t->request('POST', '/api/v1/chatbots', headers => $auth, json => { name => 'Kept' })->{status}, 201,
    '... and a write done';

done_testing;
