# Access and refresh tokens: algorithm pinning, every claim checked,
# rotation with reuse detection, logout that takes effect at once, session
# management, expiry, and a role read from the database on every request.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use MIME::Base64 qw(encode_base64url decode_base64);
use Digest::SHA qw(hmac_sha256);
use ParleyTest;

my $t = ParleyTest->new;
my $pw = 'tangerine-orbit-velvet-42';
my $reg = $t->signup(json => { email => 'owner@acme.example', password => $pw,
    name => 'Olive Owner', company_name => 'Acme' })->{json};
ok $reg->{access_token}, 'registered';
my ($uid, $cid, $sid) = ($reg->{user}{id}, $reg->{company}{id}, $reg->{session_id});

sub me { $t->get('/api/v1/me', headers => { authorization => "Bearer $_[0]" }) }
sub login {
	my ($ip) = @_;
	my $r = $t->post('/api/v1/auth/login', json => { email => 'owner@acme.example', password => $pw },
	    headers => { 'x-forwarded-for' => $ip, 'user-agent' => "agent-$ip" });
	die "login failed: $r->{content}" unless $r->{status} == 200;
	return $r->{json};
}

# Forged tokens.
my $key = decode_base64($t->jwt_key_b64);
my $now = time;
my %good = (iss => 'parley', aud => 'parley-api', typ => 'access', sub => $uid, cid => $cid, sid => $sid,
    role => 'owner', jti => 'a' x 32, iat => $now, exp => $now + 600);
sub forge {
	my (%o) = @_;
	my $k = delete $o{key} // $key;
	my $hdr = delete $o{header} // { alg => 'HS256', typ => 'JWT' };
	my %claims = (%good, %o);
	delete $claims{$_} for grep { !defined $claims{$_} } keys %claims;
	my $h = encode_base64url(JSON::PP->new->canonical->encode($hdr));
	my $p = encode_base64url(JSON::PP->new->canonical->encode(\%claims));
	return "$h.$p." . ($hdr->{alg} eq 'none' ? '' : encode_base64url(hmac_sha256("$h.$p", $k)));
}
is me(forge())->{status}, 200, 'a token made exactly like ours is accepted (the forger is sound)';
my %bad = (
	'signed with another key' => [ key => 'x' x 48 ],
	'alg none' => [ header => { alg => 'none', typ => 'JWT' } ],
	'alg hs256 (lower case)' => [ header => { alg => 'hs256', typ => 'JWT' } ],
	'alg HS512' => [ header => { alg => 'HS512', typ => 'JWT' } ],
	'expired' => [ exp => $now - 5, iat => $now - 905 ],
	'issued in the future' => [ iat => $now + 3600, exp => $now + 4000 ],
	'not valid before later' => [ nbf => $now + 3600 ],
	'wrong audience' => [ aud => 'parley-widget' ],
	'wrong issuer' => [ iss => 'evil' ],
	'wrong type' => [ typ => 'refresh' ],
	'exp as a string' => [ exp => "" . ($now + 600) ],
	'sub not a uuid' => [ sub => 'admin' ],
	'no sid' => [ sid => undef ],
	'no exp' => [ exp => undef ],
	'session of another company' => [ cid => '00000000-0000-4000-8000-000000000000' ],
);
for my $name (sort keys %bad) {
	my $r = me(forge(@{ $bad{$name} }));
	is $r->{status}, 401, "refused: $name";
	like $r->{json}{code} // '', qr/^(invalid_token|token_expired|session_revoked)$/, "... with a 401 code";
}
is me(forge(exp => $now - 5, iat => $now - 905))->{json}{code}, 'token_expired', 'expiry has its own code';
is $t->get('/api/v1/me', headers => { authorization => "Basic Zm9vOmJhcg==" })->{status}, 401, 'non-Bearer scheme refused';
is $t->get('/api/v1/me')->{status}, 401, 'no token refused';
like $t->get('/api/v1/me')->{headers}{'www-authenticate'}, qr/^Bearer/, '... with WWW-Authenticate';

# Refresh rotation and reuse.
my $s1 = login('203.0.113.1');
my $r = $t->post('/api/v1/auth/refresh', json => { refresh_token => $s1->{refresh_token} });
is $r->{status}, 200, 'refresh: a new pair';
my $s1b = $r->{json};
isnt $s1b->{refresh_token}, $s1->{refresh_token}, '... with a new refresh token';
is $s1b->{session_id}, $s1->{session_id}, '... in the same session';
is me($s1b->{access_token})->{status}, 200, 'the new access token works';
$r = $t->post('/api/v1/auth/refresh', json => { refresh_token => $s1->{refresh_token} });
is $r->{status}, 401, 'the rotated refresh token presented again: 401';
is $r->{json}{code}, 'refresh_reused', '... refresh_reused';
is me($s1b->{access_token})->{json}{code}, 'session_revoked', 'the whole session is revoked: its access token dies at once';
is $t->post('/api/v1/auth/refresh', json => { refresh_token => $s1b->{refresh_token} })->{status}, 401,
    '... and its newest refresh token too';
is $t->sql(q{SELECT count(*) AS n FROM security_events WHERE kind = 'refresh_reuse'})->[0]{n}, 1,
    'reuse recorded as a security event';
is $t->post('/api/v1/auth/refresh', json => { refresh_token => 'A' x 43 })->{status}, 401, 'unknown refresh token: 401';
is $t->post('/api/v1/auth/refresh', json => { refresh_token => 'short' })->{status}, 401, 'malformed refresh token: 401';
is me($reg->{access_token})->{status}, 200, 'other sessions are untouched';

# Logout: the access token is refused on the very next request.
my $s2 = login('203.0.113.2');
is me($s2->{access_token})->{status}, 200, 'logged in';
is $t->post('/api/v1/auth/logout', headers => { authorization => "Bearer $s2->{access_token}" })->{status}, 204, 'logout: 204';
$r = me($s2->{access_token});
is $r->{status}, 401, 'the access token stops working at once';
is $r->{json}{code}, 'session_revoked', '... session_revoked';
is $t->post('/api/v1/auth/refresh', json => { refresh_token => $s2->{refresh_token} })->{status}, 401, '... and its refresh token';

# Sessions: list, end one, end all.
my $s3 = login('203.0.113.3');
my $s4 = login('203.0.113.4');
$r = $t->get('/api/v1/auth/sessions', headers => { authorization => "Bearer $s3->{access_token}" });
is $r->{status}, 200, 'sessions listed';
my %by = map { $_->{id} => $_ } @{ $r->{json}{items} };
ok $by{ $s3->{session_id} }{current}, 'the current one is marked';
is $by{ $s4->{session_id} }{ip}, '203.0.113.4', 'with the client address';
is $by{ $s4->{session_id} }{user_agent}, 'agent-203.0.113.4', 'and user agent';
ok !$by{ $s2->{session_id} }, 'ended sessions are not listed';
is $t->request('DELETE', "/api/v1/auth/sessions/$s4->{session_id}", headers => { authorization => "Bearer $s3->{access_token}" })->{status},
    204, 'end another session';
is me($s4->{access_token})->{status}, 401, '... it is refused at once';
is $t->request('DELETE', "/api/v1/auth/sessions/$s4->{session_id}", headers => { authorization => "Bearer $s3->{access_token}" })->{status},
    404, 'ending it again: 404';
is $t->request('DELETE', '/api/v1/auth/sessions/not-a-uuid', headers => { authorization => "Bearer $s3->{access_token}" })->{status},
    404, 'a malformed id: 404';
is $t->post('/api/v1/auth/logout-all', headers => { authorization => "Bearer $s3->{access_token}" })->{status}, 204, 'logout-all';
is me($s3->{access_token})->{status}, 401, 'this session ended';
is me($reg->{access_token})->{status}, 401, 'and every other one';

# Expiry: idle and absolute, by backdating (no sleeping).
my $s5 = login('203.0.113.5');
$t->backdate('sessions', 'idle_expires_at', '8 days', 'id = ?', $s5->{session_id});
is me($s5->{access_token})->{status}, 401, 'idle for 7 days: the session is over';
is $t->post('/api/v1/auth/refresh', json => { refresh_token => $s5->{refresh_token} })->{json}{code}, 'session_revoked',
    '... and cannot be refreshed';
my $s6 = login('203.0.113.6');
$t->backdate('sessions', 'expires_at', '31 days', 'id = ?', $s6->{session_id});
is $t->post('/api/v1/auth/refresh', json => { refresh_token => $s6->{refresh_token} })->{status}, 401,
    'past the absolute lifetime: refresh refused';

# last_used_at is written at most once a minute.
my $s7 = login('203.0.113.7');
$t->sql(q{UPDATE sessions SET last_used_at = now() - interval '30 seconds' WHERE id = ?}, $s7->{session_id});
my $before = $t->sql('SELECT last_used_at FROM sessions WHERE id = ?', $s7->{session_id})->[0]{last_used_at};
me($s7->{access_token});
is $t->sql('SELECT last_used_at FROM sessions WHERE id = ?', $s7->{session_id})->[0]{last_used_at}, $before,
    'used 30 s ago: not rewritten';
$t->sql(q{UPDATE sessions SET last_used_at = now() - interval '2 minutes' WHERE id = ?}, $s7->{session_id});
$before = $t->sql('SELECT last_used_at FROM sessions WHERE id = ?', $s7->{session_id})->[0]{last_used_at};
me($s7->{access_token});
isnt $t->sql('SELECT last_used_at FROM sessions WHERE id = ?', $s7->{session_id})->[0]{last_used_at}, $before,
    'used 2 minutes ago: updated';

# The role comes from the database, not the token.
my $s8 = login('203.0.113.8');
is $t->get('/api/v1/security-events', headers => { authorization => "Bearer $s8->{access_token}" })->{status}, 200,
    'owner reads security events';
$t->sql(q{UPDATE users SET role = 'member' WHERE id = ?}, $uid);
$r = $t->get('/api/v1/security-events', headers => { authorization => "Bearer $s8->{access_token}" });
is $r->{status}, 403, 'demoted: refused on the very next request, same token';
is $r->{json}{code}, 'forbidden', '... forbidden';
is me(forge(sid => $s8->{session_id}, role => 'owner'))->{json}{role}, 'member',
    'a token claiming owner still gets the role from the database';
$t->sql(q{UPDATE users SET role = 'owner' WHERE id = ?}, $uid);

# Security events: paging.
$r = $t->get('/api/v1/security-events?limit=3', headers => { authorization => "Bearer $s8->{access_token}" });
is scalar(@{ $r->{json}{items} }), 3, 'a page of 3';
my $next = $r->{json}{next_cursor};
ok $next, 'with a cursor';
my $r2 = $t->get("/api/v1/security-events?limit=3&before=$next", headers => { authorization => "Bearer $s8->{access_token}" });
is scalar(@{ $r2->{json}{items} }), 3, 'the next page';
ok !grep({ my $id = $_->{id}; grep { $_->{id} eq $id } @{ $r->{json}{items} } } @{ $r2->{json}{items} }),
    'pages do not overlap';
is $t->get('/api/v1/security-events?limit=0', headers => { authorization => "Bearer $s8->{access_token}" })->{status}, 400,
    'limit out of range: 400';
is $t->get('/api/v1/security-events?before=junk', headers => { authorization => "Bearer $s8->{access_token}" })->{status}, 400,
    'bad cursor: 400';
ok !grep({ $_->{kind} !~ /^[a-z_]+$/ } @{ $r->{json}{items} }), 'events have kinds';

# The console's cookie mode: the refresh token as an HttpOnly cookie,
# never in the JSON; refreshed from parley's own Origin only.
my $ours = 'https://app.parley.test'; # the suite's public_base_url
my $c = $t->post('/api/v1/auth/login', json => { email => 'owner@acme.example', password => $pw },
    headers => { 'x-forwarded-for' => '203.0.113.77', 'x-parley-session' => 'cookie' });
is $c->{status}, 200, 'cookie mode: logged in';
ok !exists $c->{json}{refresh_token}, '... no refresh_token in the JSON';
ok $c->{json}{access_token}, '... the access token as ever';
my $set = $c->{headers}{'set-cookie'} // '';
like $set, qr/^parley_refresh=[A-Za-z0-9_-]{43}; Path=\/api\/v1\/auth; Max-Age=\d+; HttpOnly; Secure; SameSite=Strict$/,
    '... the refresh token in an HttpOnly, Secure, SameSite=Strict cookie for /api/v1/auth';
my ($cookie) = $set =~ /^(parley_refresh=[^;]+)/;
$t->note_secrets("Bearer " . ($cookie =~ s/^parley_refresh=//r));
my %cm = ('x-parley-session' => 'cookie', cookie => $cookie);
is $t->post('/api/v1/auth/refresh', json => {}, headers => { %cm })->{json}{code}, 'origin_not_allowed',
    'refresh with the cookie and no Origin: 403 origin_not_allowed';
is $t->post('/api/v1/auth/refresh', json => {}, headers => { %cm, origin => 'https://evil.example' })->{status}, 403,
    '... and from another site: 403';
is $t->post('/api/v1/auth/refresh', json => {}, headers => { cookie => $cookie, origin => $ours })->{json}{errors}[0]{field},
    'refresh_token', '... and the cookie alone, without the mode header, is no token (422)';
my $c2 = $t->post('/api/v1/auth/refresh', json => {}, headers => { %cm, origin => $ours });
is $c2->{status}, 200, 'refresh from our Origin with the cookie: 200';
ok !exists $c2->{json}{refresh_token}, '... no refresh_token in the JSON';
my ($cookie2) = ($c2->{headers}{'set-cookie'} // '') =~ /^(parley_refresh=[^;]+)/;
ok $cookie2 && $cookie2 ne $cookie, '... a new cookie: the token rotated';
$t->note_secrets("Bearer " . (($cookie2 // '') =~ s/^parley_refresh=//r));
my $reuse = $t->post('/api/v1/auth/refresh', json => {}, headers => { %cm, origin => $ours });
is $reuse->{json}{code}, 'refresh_reused', 'the old cookie again: refresh_reused, as for a bearer token';
is $t->post('/api/v1/auth/refresh', json => {}, headers => { 'x-parley-session' => 'cookie', cookie => $cookie2, origin => $ours })->{status},
    401, '... and the session has ended';
my $c3 = $t->post('/api/v1/auth/login', json => { email => 'owner@acme.example', password => $pw },
    headers => { 'x-forwarded-for' => '203.0.113.78', 'x-parley-session' => 'cookie' });
my $out = $t->post('/api/v1/auth/logout', headers => { authorization => "Bearer $c3->{json}{access_token}", 'x-parley-session' => 'cookie' });
is $out->{status}, 204, 'logout in cookie mode';
like $out->{headers}{'set-cookie'} // '', qr/^parley_refresh=; Path=\/api\/v1\/auth; Max-Age=0;/, '... clears the cookie';

done_testing;
