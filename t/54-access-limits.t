# Per-user and per-key request limits on authenticated routes (held in
# PostgreSQL), and authorisation failures recorded as security events.
use strict;
use warnings;
use Test::More;
use ParleyTest;

my $t = ParleyTest->new(workers => 3, env => { PARLEY_API_RATE_MAX => 8, PARLEY_API_RATE_WINDOW => 60 });
my $pw = 'tangerine-orbit-velvet-42';
my $own = $t->signup(json => { email => 'lim@co.example', password => $pw,
    name => 'Lim Its', company_name => 'Limits Co' })->{json};
my $auth = { authorization => "Bearer $own->{access_token}" };
my $key = $t->post('/api/v1/api-keys', headers => $auth, json => { name => 'k', scopes => ['members:read'] })->{json}{key};
# Two requests so far (register is public; api-keys counted once).
my @st = map { $t->get('/api/v1/me', headers => $auth)->{status} } 1 .. 8;
is_deeply [@st[0 .. 6]], [(200) x 7], 'within the per-user budget: answered';
is $st[7], 429, 'over it: 429, across workers';
my $r = $t->get('/api/v1/company', headers => $auth);
is $r->{status}, 429, 'the budget covers every authenticated route';
like $r->{headers}{'retry-after'}, qr/^\d+$/, '... with Retry-After';
is $t->get('/api/v1/members', headers => { authorization => "Bearer $key" })->{status}, 200, 'an API key has its own budget';
my @k = map { $t->get('/api/v1/members', headers => { authorization => "Bearer $key" })->{status} } 1 .. 8;
is $k[-1], 429, '... and it runs out too';
$t->sql(q{UPDATE rate_counters SET window_start = window_start - interval '1 hour'}); # the window passes
is $t->get('/api/v1/me', headers => $auth)->{status}, 200, 'after the window: answered again';

# Authorisation failures are security events with user, route and address.
my $hash = $t->sql('SELECT password_hash FROM users WHERE id = ?', $own->{user}{id})->[0]{password_hash};
$t->sql(q{INSERT INTO users (company_id, email, name, role, password_hash) VALUES (?, 'm@co.example', 'Mem Ber', 'member', ?)},
    $own->{company}{id}, $hash);
my $m = $t->post('/api/v1/auth/login', json => { email => 'm@co.example', password => $pw })->{json};
my $mauth = { authorization => "Bearer $m->{access_token}", 'x-forwarded-for' => '198.51.100.66' };
is $t->get('/api/v1/api-keys', headers => $mauth)->{status}, 403, 'a member calling an admin route: 403';
my $ev = $t->sql(q{SELECT user_id, ip, detail::text AS d FROM security_events WHERE kind = 'access_denied'});
is scalar(@$ev), 1, 'recorded as access_denied';
is $ev->[0]{user_id}, $t->sql(q{SELECT id FROM users WHERE email = 'm@co.example'})->[0]{id}, '... with the user';
is $ev->[0]{ip}, '198.51.100.66', '... the address';
like $ev->[0]{d}, qr{"route": ?"/api/v1/api-keys"}, '... and the route';
is $t->request('DELETE', '/api/v1/members/00000000-0000-4000-8000-000000000000', headers => $auth)->{status}, 404, 'an unknown or foreign id: 404';
is $t->sql(q{SELECT count(*) AS n FROM security_events WHERE kind = 'unknown_id'})->[0]{n}, 1, 'recorded as unknown_id';
my $narrow = $t->post('/api/v1/api-keys', headers => $auth, json => { name => 'n', scopes => ['chatbots:read'] })->{json}{key};
is $t->get('/api/v1/members', headers => { authorization => "Bearer $narrow" })->{status}, 403, 'a key without the scope: 403';
like $t->sql(q{SELECT detail::text AS d FROM security_events WHERE kind = 'access_denied' ORDER BY created_at DESC LIMIT 1})->[0]{d},
    qr/"api_key"/, '... recorded with the key';

# Refused requests count too, although their transaction rolls back.
$t->sql(q{UPDATE rate_counters SET window_start = window_start - interval '1 hour'});
my @den = map { $t->get('/api/v1/api-keys', headers => $mauth)->{status} } 1 .. 12;
is $den[-1], 429, 'requests refused with 403 count against the budget too';
cmp_ok scalar(grep { $_ == 403 } @den), '<=', 8, '... so at most the budget of them get through to a refusal';
my $events = $t->sql(q{SELECT count(*) AS n FROM security_events WHERE kind = 'access_denied'})->[0]{n};
cmp_ok $events, '<=', 12, "denial events are bounded by the budget ($events)";

# A budget over 100 is counted in batches per worker: it still holds, to
# within 20 requests per worker.
my $big = ParleyTest->new(workers => 3, env => { PARLEY_API_RATE_MAX => 200, PARLEY_API_RATE_WINDOW => 3600 });
my $bo = $big->signup(json => { email => 'big@co.example', password => $pw,
    name => 'Big Budget', company_name => 'Big Co' })->{json};
my @b = map { $big->get('/api/v1/me', headers => { authorization => "Bearer $bo->{access_token}" })->{status} } 1 .. 290;
my $ok = grep { $_ == 200 } @b;
cmp_ok $ok, '>=', 199, "batched counting lets the budget through ($ok of 290)";
cmp_ok $ok, '<=', 200 + 20 * 3, '... and stops within 20 requests per worker of it';
is $b[-1], 429, '... answering 429 once spent';

done_testing;
