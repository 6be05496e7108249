# A request whose statement cannot finish in db_statement_timeout (here a
# lock another session holds) is rolled back and answered 503
# database_busy with Retry-After, within the bound: no worker is held
# for as long as the lock is. Other requests go on meanwhile, and once
# the lock is gone the same request succeeds.
use strict;
use warnings;
use Test::More;
use ParleyTest;

my $t = ParleyTest->new(workers => 2, env => { PARLEY_DB_STATEMENT_TIMEOUT => 1 });
my $own = $t->register_company('busy', 'a busy database passphrase');
my $auth = $own->{auth};
is $t->request('POST', '/api/v1/chatbots', headers => $auth, json => { name => 'Before' })->{status}, 201,
    'a chatbot is made';

# Another session holds every chatbot row's table, as a long migration or
# a stuck transaction would.
my $dbh = $t->dbh;
$dbh->begin_work;
$dbh->do('LOCK TABLE chatbots IN ACCESS EXCLUSIVE MODE');
my $r = $t->request('GET', '/api/v1/chatbots', headers => $auth);
is "$r->{status} $r->{json}{code}", '503 database_busy', 'a read of the locked table, the lock still held: 503 database_busy';
is $r->{headers}{'retry-after'}, '1', '... with Retry-After';
unlike $r->{content}, qr/(canceling|statement timeout|chatbots)/i, '... without internals';
$r = $t->request('POST', '/api/v1/chatbots', headers => $auth, json => { name => 'During' });
is "$r->{status} $r->{json}{code}", '503 database_busy', 'a write too';
is $t->get('/api/v1/me', headers => $auth)->{status}, 200, 'a request that needs no chatbot is served meanwhile';
ok scalar(grep { $_->{event} eq 'db_error' && ($_->{sqlstate} // '') eq '57014' } $t->log_events),
    'the timeout is logged with its SQLSTATE (57014)';
$dbh->rollback;

my $list = $t->request('GET', '/api/v1/chatbots', headers => $auth);
is $list->{status}, 200, 'the lock gone, the read succeeds';
is_deeply [ map { $_->{name} } @{ $list->{json}{items} } ], ['Before'], '... and the refused write left nothing';

done_testing;
