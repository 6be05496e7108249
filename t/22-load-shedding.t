# Load shedding (queue_timeout_ms, queue_target_ms): a request that waited
# longer than it may for a worker is answered 503 overloaded with
# Retry-After at once, and changes nothing; the health checks and nginx's
# authorisation subrequests (a realtime stream) are answered whatever the
# wait; while the queue stands (every request waited more than the
# target), only the target is allowed; what arrives once the workers have
# caught up is served as usual. The one worker is stopped (SIGSTOP) while
# requests queue in its socket's backlog, then resumed.
use strict;
use warnings;
use Test::More;
use POSIX ();
use Time::HiRes qw(time);
use ParleyTest;

# How many connections wait in the backlog of 't''s parleyd socket.
sub queued {
	my ($t) = @_;
	my $sock = $t->dir . '/parleyd.sock';
	for (`ss -xlnH`) {
		my @f = split ' ';
		return $f[2] if @f >= 5 && $f[4] eq $sock;
	}
	return -1;
}

# Stops 't''s one worker, sends 'asks' ([method, path]; EVENTS opens a
# stream), lets them wait 'secs' in the backlog, resumes the worker:
# each one's "status code retry-after" (a stream's status only).
sub queue_up {
	my ($t, $auth, $secs, @asks) = @_;
	my ($worker) = $t->worker_pids;
	kill 'STOP', $worker;
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
	ParleyTest::wait_for(sub { queued($t) >= @asks }, 'the requests in the backlog', 20);
	my $all_in = time;
	ParleyTest::wait_for(sub { time - $all_in > $secs }, "the requests to wait $secs s", 5);
	kill 'CONT', $worker;
	waitpid $_, 0 for @kids;
	return map { open my $fh, '<', $t->dir . "/ask$_" or die "ask$_: $!"; my $l = <$fh>; unlink $t->dir . "/ask$_"; $l } 0 .. $#asks;
}

# --- a fixed bound: queue_timeout_ms ---------------------------------------
my $t = ParleyTest->new(workers => 1, env => { PARLEY_QUEUE_TIMEOUT_MS => 300, PARLEY_QUEUE_TARGET_MS => 0 });
my $own = $t->register_company('shed', 'a shedding passphrase');
my $auth = $own->{auth};
is $t->get('/api/v1/meta')->{status}, 200, 'the one worker answers';
my $bots = sub { scalar @{ $t->sql('SELECT id FROM chatbots') } };
my $before = $bots->();

my @got = queue_up($t, $auth, 0.6, [ GET => '/api/v1/meta' ], [ GET => '/api/v1/meta' ], [ POST => '/api/v1/chatbots' ],
    [ GET => '/healthz' ], [ GET => '/readyz' ], [ EVENTS => '/api/v1/events' ]);
is $got[0], '503 overloaded 1', 'a request that waited 600 ms for the worker: 503 overloaded, Retry-After: 1';
is $got[1], '503 overloaded 1', '... and the next';
is $got[2], '503 overloaded 1', '... a POST too';
is $bots->(), $before, '... which changed nothing';
like $got[3], qr/^200 /, 'the liveness check is answered however long it waited';
like $got[4], qr/^200 /, '... and the readiness check';
is $got[5], '200', "a realtime stream opens: nginx's authorisation subrequest is not shed";
my @shed = grep { $_->{event} eq 'request_shed' } $t->log_events;
is scalar(@shed), 1, 'the first shed of an interval is logged (not every one: an overload is no log flood)';
cmp_ok $shed[0]{wait_ms}, '>=', 600, '... with how long it waited';
is scalar(grep { $_->{event} eq 'request' && $_->{status} == 503 } $t->log_events), 3, '... and each answered as a request';
is $t->get('/api/v1/meta')->{status}, 200, 'once the worker has caught up, a request is served';
is $t->request('POST', '/api/v1/chatbots', headers => $auth, json => { name => 'Kept' })->{status}, 201,
    '... and a write done';

# --- a standing queue: queue_target_ms ---------------------------------------
# 5 s may be waited, but while the queue stands (in the interval just
# before, 1 s here, at least four requests and none under 50 ms) only
# 50 ms.
my $u = ParleyTest->new(workers => 1,
    env => { PARLEY_QUEUE_TIMEOUT_MS => 5000, PARLEY_QUEUE_TARGET_MS => 50, PARLEY_QUEUE_INTERVAL_MS => 1000 });
is $u->get('/api/v1/meta')->{status}, 200, 'another stack: 5 s allowed, a 50 ms target, 1 s intervals';
sub quiet { my ($secs, $from) = ($_[0], time); ParleyTest::wait_for(sub { time - $from > $secs }, "$secs s", 10) }
my @meta = ([ GET => '/api/v1/meta' ]);

quiet(2.2);
@got = queue_up($u, {}, 0.3, @meta);
like $got[0], qr/^200 /, 'after a quiet spell, a request that waited 300 ms is served (under 5 s)';
quiet(1.1);
@got = queue_up($u, {}, 0.1, @meta);
like $got[0], qr/^200 /, '... and one that waits 100 ms next: one request is no standing queue';

quiet(2.2);
@got = queue_up($u, {}, 0.3, (@meta) x 4);
is scalar(grep { /^200 / } @got), 4, 'four requests that each waited 300 ms are served';
quiet(1.1);
@got = queue_up($u, {}, 0.1, (@meta) x 2);
is "@got", '503 overloaded 1 503 overloaded 1',
    'in the next interval, the queue standing (four, the least wait 300 ms), two that waited 100 ms are shed';
is $u->get('/api/v1/meta')->{status}, 200, '... while one that did not wait is served';

quiet(2.2);
@got = queue_up($u, {}, 0.3, (@meta) x 4);
is scalar(grep { /^200 / } @got), 4, 'again four that waited 300 ms, served';
quiet(2.2);
@got = queue_up($u, {}, 0.1, @meta);
like $got[0], qr/^200 /, '... but after a quiet spell of two intervals, a 100 ms wait is served: an overload long over sheds nothing';

done_testing;
