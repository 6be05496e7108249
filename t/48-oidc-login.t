# Signing in with an OpenID Connect provider (src/api_oidc.c), against a
# real OpenID Provider (oidc-provider from npm, t/fakes/oidc.mjs) and the
# console in chromium (t/browser/oidc.mjs): an owner links the provider
# on the account page, logs out, signs in with it. Then the attacks a
# callback can carry: an unknown state, a replayed callback, another
# browser's callback (no binding cookie), a provider's refusal, an
# identity nobody linked, an identity linked to another account.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;

my $chromium = -x '/usr/bin/chromium' ? '/usr/bin/chromium' : undef;
ok $chromium, 'chromium is installed' or BAIL_OUT('no chromium');
my $t = ParleyTest->new(env => { PARLEY_LOGIN_MAX_PER_IP => 50, PARLEY_REGISTER_MAX_PER_IP => 20 });
my $https = $t->url('', 'https');
$https =~ s{/$}{};
my $idp_port = ParleyTest::free_port();
my $issuer = "https://127.0.0.1:$idp_port";
my $secret = 'a-test-client-secret-0123456789abcdef';
my $clients = encode_json([{ client_id => 'parley', client_secret => $secret,
    redirect_uris => ["$https/api/v1/auth/oidc/callback"], token_endpoint_auth_method => 'client_secret_post',
    grant_types => ['authorization_code'], response_types => ['code'] }]);
$t->{pids}{oidc} = $t->spawn($t->dir . '/oidc.log', {}, 'node', ParleyTest->srcdir . '/t/fakes/oidc.mjs', $idp_port,
    $t->dir . '/cert.pem', $t->dir . '/key.pem', $clients);
$t->wait_port($idp_port, $t->{pids}{oidc}, 'the OpenID Provider');
$t->note_secrets({ oidc_client_secret => $secret });
my ($rc, $out) = $t->secret_set('oidc_generic_client_secret', $secret);
is $rc, 0, 'the client secret is stored (parleyctl secret set)' or diag $out;
$t->stop_parleyd;
$t->{env}{$_->[0]} = $_->[1] for ([PARLEY_PUBLIC_BASE_URL => $https], [PARLEY_OIDC_GENERIC_ISSUER => $issuer],
    [PARLEY_OIDC_GENERIC_CLIENT_ID => 'parley'], [PARLEY_OIDC_GENERIC_NAME => 'Test IdP'],
    [PARLEY_OIDC_ALLOW_LOOPBACK => 1], [PARLEY_OIDC_CA_FILE => $t->dir . '/cert.pem']);
$t->start_parleyd;

my $r = $t->get('/api/v1/auth/oidc/providers');
is_deeply $r->{json}{items}, [{ id => 'generic', name => 'Test IdP' }], 'the configured provider is offered';
is $t->post('/api/v1/auth/oidc/start', json => { provider => 'google' })->{json}{code}, 'unknown_provider',
    'one not configured: unknown_provider';
$r = $t->post('/api/v1/auth/oidc/start', json => { provider => 'generic' });
is $r->{status}, 200, 'a sign-in starts';
my $url = $r->{json}{url};
like $url, qr{^\Q$issuer\E/auth\?response_type=code&scope=openid%20email&client_id=parley&}, '... at the provider';
like $url, qr{&code_challenge=[A-Za-z0-9_-]{43}&code_challenge_method=S256$}, '... with PKCE S256';
like $url, qr{&state=[A-Za-z0-9_-]{43}&nonce=[A-Za-z0-9_-]{43}&}, '... state and nonce';
like $r->{headers}{'set-cookie'}, qr{^parley_oidc=[A-Za-z0-9_-]{43}; Path=/api/v1/auth/oidc; Max-Age=600; HttpOnly; Secure; SameSite=Lax$},
    '... and the cookie that binds it to this browser';
my ($state) = $url =~ /&state=([^&]+)/;
is $t->sql('SELECT count(*) AS n FROM oidc_flows')->[0]{n} >= 1 ? 1 : 0, 1, 'the flow is stored';
unlike join(' ', map { values %$_ } @{ $t->sql('SELECT encode(state_hash, $$hex$$) AS s, provider FROM oidc_flows') }),
    qr/\Q$state\E/, '... by its hash only';

# Callbacks an attacker can make.
sub callback { my ($q, $cookie) = @_; $t->get("/api/v1/auth/oidc/callback?$q", headers => $cookie ? { cookie => $cookie } : {}) }
$r = callback('state=' . ('A' x 43) . '&code=x');
is $r->{status}, 303, 'an unknown state: 303';
is $r->{headers}{location}, "$https/login?oidc=expired", '... to the login page, expired';
$r = callback("state=$state&code=x");
is $r->{headers}{location}, "$https/login?oidc=failed", "another browser's callback (no binding cookie): failed";
$r = callback("state=$state&code=x", 'parley_oidc=' . ('B' x 43));
is $r->{headers}{location}, "$https/login?oidc=expired", '... and the flow is spent: it cannot be tried again';
$r = $t->post('/api/v1/auth/oidc/start', json => { provider => 'generic' });
my ($s2) = $r->{json}{url} =~ /&state=([^&]+)/;
my ($bind) = $r->{headers}{'set-cookie'} =~ /^parley_oidc=([^;]+)/;
$r = callback("state=$s2&error=access_denied", "parley_oidc=$bind");
is $r->{headers}{location}, "$https/login?oidc=denied", "the provider's refusal: denied";
$r = $t->post('/api/v1/auth/oidc/start', json => { provider => 'generic' });
($s2) = $r->{json}{url} =~ /&state=([^&]+)/;
($bind) = $r->{headers}{'set-cookie'} =~ /^parley_oidc=([^;]+)/;
$r = callback("state=$s2&code=not-a-code", "parley_oidc=$bind");
is $r->{headers}{location}, "$https/login?oidc=failed", 'a code the provider did not issue: failed';
ok scalar(grep { ($_->{event} // '') eq 'oidc_callback' && ($_->{reason} // '') eq 'token_refused' } $t->log_events),
    '... the provider refused it at the token endpoint (logged, without the code)';

# The console: link, log out, sign in with the provider.
my $pw = 'an oidc passphrase, long enough';
my $own = $t->signup(json => { email => 'ada@oidc.example', password => $pw, name => 'Ada', company_name => 'OIDC Co' })->{json};
my $other = $t->register_company('other', 'another passphrase here');
my $carol_pw = 'carol has a passphrase too';
$t->signup(json => { email => 'carol@example.com', password => $carol_pw, name => 'Carol', company_name => 'Carol Co' });
local $ENV{BASE} = $https;
local $ENV{NODE_TLS_REJECT_UNAUTHORIZED} = '0';
local $ENV{CHROMIUM} = $chromium;
local $ENV{EMAIL} = 'ada@oidc.example';
local $ENV{PASSWORD} = $pw;
local $ENV{CAROL_PASSWORD} = $carol_pw;
local $ENV{OTHER_TOKEN} = $other->{token};
local $ENV{TOKEN} = $own->{access_token};
local $ENV{OUT} = $t->dir;
my $checks = $t->browser_checks(ParleyTest->srcdir . '/t/browser/oidc.mjs');
cmp_ok $checks, '>=', 8, "the browser made its checks ($checks)";
my $ids = $t->sql(q{SELECT issuer, subject, provider FROM user_identities WHERE user_id = (SELECT id FROM users WHERE email = 'ada@oidc.example')});
is scalar @$ids, 1, 'one identity linked to the owner who linked it';
is $ids->[0]{issuer}, $issuer, '... by the ID token\'s issuer';
is $ids->[0]{subject}, 'ada', '... and subject';
ok scalar(@{ $t->sql(q{SELECT 1 FROM audit_log WHERE action = 'user.identity_link'}) }), 'linking is audited';
ok scalar(@{ $t->sql(q{SELECT 1 FROM security_events WHERE kind = 'login_success' AND detail->>'method' = 'oidc'}) }),
    'a provider sign-in is a login_success security event, method oidc';
is $t->sql(q{SELECT count(*) AS n FROM user_identities WHERE subject = 'carol'})->[0]{n}, 1,
    'the identity of an existing address is linked once its password proved the account';
my $bob = $t->sql(q{SELECT u.id, u.password_hash IS NOT NULL AS pw, u.role, u.email_verified_at IS NOT NULL AS verified,
    c.name FROM users u JOIN companies c ON c.id = u.company_id WHERE u.email = 'bob@example.com'})->[0];
is $bob->{name}, "Bob's Bikes", 'signing up through a provider made the company';
ok $bob->{role} eq 'owner' && $bob->{verified} && $bob->{pw}, '... its owner, the address verified by the provider, and now with a password';
ok scalar(@{ $t->sql(q{SELECT 1 FROM security_events WHERE kind = 'register' AND detail->>'method' = 'oidc'}) }),
    '... a register security event, method oidc';
ok scalar(@{ $t->sql(q{SELECT 1 FROM security_events WHERE kind = 'reauthenticated'}) }), 'the fresh sign-in is a security event';
is $t->sql(q{SELECT count(*) AS n FROM users WHERE email = 'unverified-eve@example.com'})->[0]{n}, 0,
    'an unverified address made no account';

# The pending identity's ticket: only in the browser that signed in.
$r = $t->post('/api/v1/auth/oidc/pending', json => { ticket => 'C' x 43 });
is $r->{json}{code}, 'invalid_token', 'an unknown ticket: invalid_token';
$r = $t->post('/api/v1/auth/oidc/signup', json => { ticket => 'C' x 43, name => 'M', company_name => 'Mallory' },
    headers => { cookie => 'parley_oidc=' . ('D' x 43) });
is $r->{json}{code}, 'invalid_token', '... nor can it sign up';

# An account without a password proves itself by a fresh provider sign-in
# (the session's stamp, five minutes, spent by the step that uses it).
my $oa = { authorization => "Bearer $other->{token}" };
$t->sql(q{UPDATE users SET password_hash = NULL WHERE email = 'own@other.example'});
is $t->post('/api/v1/auth/login', json => { email => 'own@other.example', password => 'another passphrase here' })->{json}{code},
    'invalid_credentials', 'an account without a password: no password login';
$r = $t->post('/api/v1/auth/password/change', headers => $oa, json => { new_password => 'a new passphrase for other' });
is $r->{json}{code}, 'reauth_required', 'without a fresh provider sign-in: reauth_required';
$t->sql(q{UPDATE sessions SET reauth_at = now() - interval '6 minutes' WHERE user_id = (SELECT id FROM users WHERE email = 'own@other.example')});
$r = $t->request('DELETE', '/api/v1/company', headers => $oa, json => { confirm_name => 'Co other' });
is $r->{json}{code}, 'reauth_required', '... nor with one six minutes old';
$t->sql(q{UPDATE sessions SET reauth_at = now() WHERE user_id = (SELECT id FROM users WHERE email = 'own@other.example')});
is $t->post('/api/v1/auth/oidc/link', headers => $oa, json => { provider => 'generic' })->{status}, 200,
    'a fresh one: linking another identity starts';
$r = $t->request('DELETE', '/api/v1/company', headers => $oa, json => { confirm_name => 'Co other' });
is $r->{json}{code}, 'reauth_required', '... and it was spent by that step';
$t->sql(q{UPDATE sessions SET reauth_at = now() WHERE user_id = (SELECT id FROM users WHERE email = 'own@other.example')});
is $t->request('DELETE', '/api/v1/company', headers => $oa, json => { confirm_name => 'Co other' })->{status}, 204,
    'another: the company is deleted without a password';
is scalar(grep { $_->{event} eq 'csp_violation' } $t->log_events), 0, 'no CSP report';
done_testing;
