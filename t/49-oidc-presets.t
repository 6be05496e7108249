# The presets' particulars (src/api_oidc.c, src/oidc.c, src/jose.c),
# each against a real OpenID Provider (oidc-provider from npm,
# t/fakes/oidc.mjs) playing it, and the console in chromium
# (t/browser/oidc-presets.mjs):
# - Microsoft Entra ID's multi-tenant issuer: the .../common/v2.0
#   document says .../{tenantid}/v2.0, each token's iss is its tenant's;
#   Entra sends no email_verified, so its identities are only linked by
#   a signed-in account, never signed up with.
# - Apple: the client secret is an ES256 JWT parleyd signs with the
#   operator's key (the provider checks it); the answer is a form_post,
#   a cross-site POST from another site (localhost, not 127.0.0.1) that
#   carries no SameSite=Lax cookie: the flow's state is kept server-side
#   and the same-site GET that follows finishes it.
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
my $cb = "$https/api/v1/auth/oidc/callback";
my $tid = '72f988bf-86f1-41af-91ab-2d7cd011db47';

# Microsoft, multi-tenant.
my $ms_port = ParleyTest::free_port();
my $ms_secret = 'a-microsoft-client-secret-0123456789';
$t->{pids}{ms} = $t->spawn($t->dir . '/ms.log', {}, 'node', ParleyTest->srcdir . '/t/fakes/oidc.mjs', $ms_port,
    $t->dir . '/cert.pem', $t->dir . '/key.pem',
    encode_json([{ client_id => 'parley-ms', client_secret => $ms_secret, redirect_uris => [$cb],
	token_endpoint_auth_method => 'client_secret_post', grant_types => ['authorization_code'], response_types => ['code'] }]),
    encode_json({ tenant => $tid }));
$t->wait_port($ms_port, $t->{pids}{ms}, 'the Microsoft-like provider');

# Apple, on another site, its client secret signed by parleyd.
my $ap_port = ParleyTest::free_port();
my ($p8, $pub) = ($t->dir . '/apple.p8', $t->dir . '/apple.pub');
system("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '$p8' 2>/dev/null") == 0 or die;
system("openssl pkey -in '$p8' -pubout -out '$pub' 2>/dev/null") == 0 or die;
$t->{pids}{apple} = $t->spawn($t->dir . '/apple.log', {}, 'node', ParleyTest->srcdir . '/t/fakes/oidc.mjs', $ap_port,
    $t->dir . '/cert.pem', $t->dir . '/key.pem',
    encode_json([{ client_id => 'com.example.parley', client_secret => 'the-fakes-own-static-secret', redirect_uris => [$cb],
	token_endpoint_auth_method => 'client_secret_post', grant_types => ['authorization_code'], response_types => ['code'] }]),
    encode_json({ host => 'localhost', apple => { team_id => 'TEAM123456', key_id => 'KEY1234567', public_pem => $pub } }));
$t->wait_port($ap_port, $t->{pids}{apple}, 'the Apple-like provider');

# Google: a standard provider at its own issuer (as accounts.google.com).
my $g_port = ParleyTest::free_port();
my $g_secret = 'a-google-client-secret-0123456789';
$t->{pids}{google} = $t->spawn($t->dir . '/google.log', {}, 'node', ParleyTest->srcdir . '/t/fakes/oidc.mjs', $g_port,
    $t->dir . '/cert.pem', $t->dir . '/key.pem',
    encode_json([{ client_id => 'parley-google', client_secret => $g_secret, redirect_uris => [$cb],
	token_endpoint_auth_method => 'client_secret_post', grant_types => ['authorization_code'], response_types => ['code'] }]));
$t->wait_port($g_port, $t->{pids}{google}, 'the Google-like provider');

my ($rc, $out) = $t->secret_set('oidc_google_client_secret', $g_secret);
is $rc, 0, "Google's client secret is stored" or diag $out;
($rc, $out) = $t->secret_set('oidc_microsoft_client_secret', $ms_secret);
is $rc, 0, "Microsoft's client secret is stored" or diag $out;
my $pem = do { local (@ARGV, $/) = ($p8); <> };
($rc, $out) = $t->secret_set('oidc_apple_private_key', $pem);
is $rc, 0, "Apple's signing key is stored (a PEM, several lines)" or diag $out;
($rc, $out) = $t->secret_set('oidc_apple_private_key', "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----");
isnt $rc, 0, '... and what is not a P-256 key is refused';
like $out, qr/not a PEM private key on P-256/, '... saying so';
$t->note_secrets({ ms_secret => $ms_secret, g_secret => $g_secret });

$t->stop_parleyd;
$t->{env}{$_->[0]} = $_->[1] for ([PARLEY_PUBLIC_BASE_URL => $https],
    [PARLEY_OIDC_GOOGLE_ISSUER => "https://127.0.0.1:$g_port"], [PARLEY_OIDC_GOOGLE_CLIENT_ID => 'parley-google'],
    [PARLEY_OIDC_MICROSOFT_ISSUER => "https://127.0.0.1:$ms_port/common/v2.0"], [PARLEY_OIDC_MICROSOFT_CLIENT_ID => 'parley-ms'],
    [PARLEY_OIDC_APPLE_ISSUER => "https://localhost:$ap_port"], [PARLEY_OIDC_APPLE_CLIENT_ID => 'com.example.parley'],
    [PARLEY_OIDC_APPLE_TEAM_ID => 'TEAM123456'], [PARLEY_OIDC_APPLE_KEY_ID => 'KEY1234567'],
    [PARLEY_OIDC_ALLOW_LOOPBACK => 1], [PARLEY_OIDC_CA_FILE => $t->dir . '/cert.pem']);
$t->start_parleyd;

my $r = $t->get('/api/v1/auth/oidc/providers');
is_deeply [map { $_->{id} } @{ $r->{json}{items} }], ['google', 'microsoft', 'apple'], 'the three presets are offered';
$r = $t->post('/api/v1/auth/oidc/start', json => { provider => 'microsoft' });
is $r->{status}, 200, "Microsoft's multi-tenant document is read (its issuer the {tenantid} template)";
like $r->{json}{url}, qr{^https://127\.0\.0\.1:$ms_port/$tid/v2\.0/auth\?}, '... and its endpoints used';
my ($ms_state) = $r->{json}{url} =~ /&state=([^&]+)/;
unlike $r->{json}{url}, qr/response_mode/, '... with the default response mode';
$r = $t->post('/api/v1/auth/oidc/start', json => { provider => 'apple' });
is $r->{status}, 200, "Apple's flow starts";
like $r->{json}{url}, qr{&response_mode=form_post}, '... asking for form_post';

# The form_post return, as an attacker can make it.
sub form_post { $t->post('/api/v1/auth/oidc/callback', body => $_[0], headers => { 'content-type' => 'application/x-www-form-urlencoded' }) }
$r = form_post('state=' . ('A' x 43) . '&code=x');
is $r->{status}, 303, 'a form_post of an unknown state: 303';
is $r->{headers}{location}, "$https/login?oidc=expired", '... expired';
$r = form_post("state=$ms_state&code=x");
is $r->{headers}{location}, "$https/login?oidc=expired", "a provider that does not use form_post cannot be answered by one";
is form_post('state=%zz&code=x')->{json}{code}, 'malformed_form', 'a malformed form: 400 malformed_form';
is form_post('code=x')->{json}{code}, 'validation_failed', 'no state: 422';

my $pw = 'an owner passphrase, long enough';
$t->signup(json => { email => 'ada@presets.example', password => $pw, name => 'Ada', company_name => 'Presets Co' });
local $ENV{BASE} = $https;
local $ENV{NODE_TLS_REJECT_UNAUTHORIZED} = '0';
local $ENV{CHROMIUM} = $chromium;
local $ENV{EMAIL} = 'ada@presets.example';
local $ENV{PASSWORD} = $pw;
local $ENV{OUT} = $t->dir;
my $checks = $t->browser_checks(ParleyTest->srcdir . '/t/browser/oidc-presets.mjs');
cmp_ok $checks, '>=', 6, "the browser made its checks ($checks)";

my $ids = $t->sql('SELECT provider, issuer, subject, email FROM user_identities ORDER BY provider');
is_deeply [map { "$_->{provider} $_->{issuer} $_->{subject}" } @$ids],
    ["apple https://localhost:$ap_port zoe", "google https://127.0.0.1:$g_port gina", "microsoft https://127.0.0.1:$ms_port/$tid/v2.0 ada"],
    "the identities: Apple's, Google's, and Microsoft's under its tenant's issuer";
is $t->sql(q{SELECT c.name FROM users u JOIN companies c ON c.id = u.company_id WHERE u.email = 'zoe@example.com'})->[0]{name},
    "Zoe's Zines", 'signing up with Apple made the company';
is $t->sql(q{SELECT count(*) AS n FROM users WHERE email = 'mallory@example.com'})->[0]{n}, 0,
    'a Microsoft identity nobody linked signs nobody up (its address is not verified)';
ok scalar(grep { ($_->{event} // '') eq 'oidc_callback' && ($_->{reason} // '') eq 'token_refused' } $t->log_events) == 0,
    "Apple's token endpoint took parleyd's signed client secret every time";
is scalar(grep { $_->{event} eq 'csp_violation' } $t->log_events), 0, 'no CSP report';
done_testing;
