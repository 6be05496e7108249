# parleyd survives PostgreSQL going away and coming back: no process dies,
# readiness reports the outage, and service resumes without a restart.
use strict;
use warnings;
use Test::More;
use ParleyTest;

# Its own cluster: restarting the shared one would disturb other files.
my $t = ParleyTest->new(own_cluster => 1, workers => 2);
my @workers = $t->worker_pids;
is $t->get('/readyz')->{status}, 200, 'ready';

# Restart: the very next requests succeed (the broken connection is noticed
# before anything is committed and re-established once).
$t->pg->restart;
my @st = map { $t->get('/readyz')->{status} } 1 .. 6;
is_deeply \@st, [(200) x 6], 'readyz answers 200 right after a restart';
is_deeply [$t->worker_pids], \@workers, 'no worker died or was replaced';

# Outage: liveness stays up, readiness says why, nothing crashes.
$t->pg->stop('fast');
my $r = $t->get('/readyz');
is $r->{status}, 503, 'readyz 503 while PostgreSQL is down';
is $r->{json}{code}, 'database_unavailable', '... code database_unavailable';
is $r->{headers}{'retry-after'}, '1', '... with Retry-After';
unlike $r->{content}, qr/(connection to server|socket|\.s\.PGSQL|parley_app)/, '... without internals';
is $t->get('/healthz')->{status}, 200, 'healthz stays 200';
is $t->get('/api/v1/meta')->{status}, 200, 'routes without the database still answer';

$t->pg->start;
@st = map { $t->get('/readyz')->{status} } 1 .. 6;
is_deeply \@st, [(200) x 6], 'service resumes when PostgreSQL is back';
is_deeply [$t->worker_pids], \@workers, 'still the same workers';
ok scalar(grep { $_->{event} eq 'db_connected' && $_->{count} >= 2 } $t->log_events), 'workers reconnected';
unlike $t->slurp('parleyd.log'), qr/password|host=\/|dbname=/, 'the connection string never reached the log';

done_testing;
