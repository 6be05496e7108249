# Rolling upgrades (issue 21, item 4 in part): migrations are written
# expand/contract, so a host still on the previous release keeps working
# on a database migrated for this one. The previous release (the last
# commit at schema 39, before sql/040) is built from git and serves
# beside a host of this release, on one database at schema 40: sign-up,
# log-in, chatbots, a visitor's conversation and an agent's reply all
# work through the old host, and the new host sees the same data. /readyz
# of this release answers ready on a newer schema that declares it
# compatible (parley_schema_compat), and not on one that does not.
use strict;
use warnings;
use Test::More;
use File::Temp ();
use ParleyTest;

my $previous = '4e56144';   # schema 39: the release before sql/040
my $src = ParleyTest->srcdir;
is system("git -C '$src' cat-file -e $previous^{commit} 2>/dev/null"), 0, "the previous release ($previous) is in git's history"
    or BAIL_OUT('no history: clone the repository, not an archive');
my $old = File::Temp::tempdir('parley-prev-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $out = `git -C '$src' archive $previous | tar -x -C '$old' 2>&1 && cd '$old' && autoreconf -fi 2>&1 >/dev/null && mkdir b && cd b && ../configure -q 2>&1 && make -s -j2 parleyd 2>&1`;
ok -x "$old/b/parleyd", 'the previous release builds' or BAIL_OUT($out);
like `'$old/b/parleyd' -V 2>&1`, qr/\d/, '... and runs';

# Host A: this release (the database is migrated to schema 40).
my $A = ParleyTest->new;
is $A->sql('SELECT max(version) AS v FROM parley_schema_migrations')->[0]{v}, 40, 'the database is at schema 40';
is $A->get('/readyz')->{status}, 200, "this release's host is ready";
# Host B: the previous release on the same database.
my $B = ParleyTest->new(host_of => $A, parleyd => "$old/b/parleyd");
my $r = $B->get('/readyz');
is $r->{status}, 503, "the previous release's /readyz knew only its own schema: 503";
is $r->{json}{code}, 'schema_newer_than_code', '... schema_newer_than_code (so an upgrade drains it, while it still serves)';

my $pw = 'tangerine-orbit-velvet-42';
my $own = $B->signup(json => { email => 'old@release.example', password => $pw, name => 'Ol D', company_name => 'Old Release Co' })->{json};
ok $own->{access_token}, 'the previous release signs a company up on the new schema';
my $auth = { authorization => "Bearer $own->{access_token}" };
my $l = $B->post('/api/v1/auth/login', json => { email => 'old@release.example', password => $pw });
is $l->{status}, 200, '... logs in';
my $bot = $B->post('/api/v1/chatbots', headers => $auth, json => { name => 'Old bot', allowed_origins => ['https://shop.example'] });
is $bot->{status}, 201, '... creates a chatbot';
my $vt = $B->post('/api/v1/widget/sessions', headers => { origin => 'https://shop.example' },
    json => { bot_key => $bot->{json}{public_key} })->{json}{token};
my $vh = { authorization => "Bearer $vt" };
my $conv = $B->post('/api/v1/widget/conversations', headers => $vh)->{json}{id};
ok $conv, '... opens a visitor conversation';
is $B->post("/api/v1/widget/conversations/$conv/messages", headers => $vh, json => { content => 'Hello, old host' })->{status}, 201,
    '... stores a visitor message';
is $B->post("/api/v1/conversations/$conv/messages", headers => $auth, json => { content => 'Hello from an agent' })->{status}, 201,
    "... and an agent's reply";
is $B->get('/api/v1/conversations', headers => $auth)->{status}, 200, '... and lists conversations';
my $seen = $A->get("/api/v1/conversations/$conv", headers => $auth);
is $seen->{status}, 200, 'the new host reads what the old one wrote';
ok scalar(grep { ($_->{content} // '') eq 'Hello from an agent' } @{ $seen->{json}{messages} // [] }), '... the same messages'
    or diag explain $seen->{json};
# A security event the old host wrote, judged by neither (detection is
# this release's): nothing breaks, and the new host lists it.
$B->post('/api/v1/auth/login', json => { email => 'old@release.example', password => 'wrong password here' });
is $A->get('/api/v1/security-events', headers => $auth)->{json}{items}[0]{kind}, 'login_failure',
    "the old host's security event is there for the new host";

# This release on a schema one step newer still: ready while the schema
# says this code still works on it, not once it says otherwise.
$A->sql(q{INSERT INTO parley_schema_migrations (version, name, sha256) VALUES (41, '041-test-expand.sql', repeat('0', 64))});
$r = $A->get('/readyz');
is $r->{status}, 200, 'a newer schema that keeps this release working (an expand step): ready';
is $r->{json}{schema_version}, 41, '... naming the schema it found';
$A->sql(q{UPDATE parley_schema_compat SET min_code_version = 41});
$r = $A->get('/readyz');
is $r->{status}, 503, 'a contract step past this release: not ready';
is $r->{json}{code}, 'schema_newer_than_code', '... schema_newer_than_code';
$A->sql(q{UPDATE parley_schema_compat SET min_code_version = 39});
$A->sql(q{DELETE FROM parley_schema_migrations WHERE version = 41});
done_testing;
