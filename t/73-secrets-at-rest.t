# Secrets at rest: a dump of the database holds none of the secrets the
# API handed out or was given (passwords, tokens, API keys, TOTP secrets,
# chatbot identity secrets, LLM keys, webhook signing secrets); `parleyctl keys rotate` re-encrypts
# every recoverable one under the keyring's newest key, resumably, and
# parleyd then works with the new key alone.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Digest::SHA qw(hmac_sha256_hex);
use ParleyTest;

my $t = ParleyTest->new(llm => 1);
my $pw = 'tangerine-orbit-velvet-42';
my $own = $t->signup(json => { email => 'keys@rest.example', password => $pw,
    name => 'Ke Ys', company_name => 'Rest Co' })->{json};
my $auth = { authorization => "Bearer $own->{access_token}" };
sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h // $auth, defined $j ? (json => $j) : ()) }

my %secret = (password => $pw, access_token => $own->{access_token}, refresh_token => $own->{refresh_token});
$secret{totp} = req('POST', '/api/v1/auth/mfa/totp/setup')->{json}{secret};
my $bot = req('POST', '/api/v1/chatbots', undef, { name => 'B', allowed_origins => ['https://shop.example'] })->{json};
$secret{identity} = $bot->{identity_secret};
$secret{llm_key} = 'sk-rest-' . join('', map { ('a' .. 'z')[int rand 26] } 1 .. 24);
is req('PUT', '/api/v1/company/llm', undef, { api_key => $secret{llm_key} })->{status}, 200, 'a company LLM key';
$secret{webhook} = req('POST', '/api/v1/webhook-endpoints', undef, { url => 'https://hooks.rest.example/in',
    events => ['member.removed'] })->{json}{secret};
($secret{api_key}) = req('POST', '/api/v1/api-keys', undef, { name => 'k', scopes => ['members:read'] })->{json}{key} =~ /_([A-Za-z0-9_-]{43})$/;
$secret{stripe_key} = 'sk_test_' . join('', map { ('a' .. 'z', 'A' .. 'Z', 0 .. 9)[int rand 62] } 1 .. 32);
{
	local @ENV{qw(PARLEY_CONFIG PARLEY_JWT_KEY_FILE PARLEY_AUDIT_KEY_FILE PARLEY_KEYRING_FILE PARLEY_ADMIN_DATABASE_URL)} =
	    ('', $t->dir . '/jwt.key', $t->dir . '/audit.key', $t->dir . '/keyring', $t->pg->conninfo($t->dbname, 'postgres'));
	my $ctl = ParleyTest->builddir . '/parleyctl';
	my $out = `printf '%s\n' '$secret{stripe_key}' | '$ctl' secret set stripe_secret_key 2>&1`;
	is $?, 0, 'the Stripe key, set with parleyctl secret set' or diag $out;
}
ok !grep({ !defined } values %secret), 'secrets collected: ' . join(', ', sort keys %secret);

# --- a dump holds none of them ------------------------------------------------------
my $dump = $t->dir . '/dump.sql';
my $pgbin = $t->pg->{bin};
system("$pgbin/pg_dump", '-d', $t->pg->conninfo($t->dbname, 'postgres'), '-f', $dump) == 0 or die "pg_dump failed";
my $sql = $t->slurp('dump.sql');
cmp_ok length $sql, '>', 10000, 'pg_dump wrote the database';
for my $k (sort keys %secret) {
	unlike $sql, qr/\Q$secret{$k}\E/, "the dump holds no $k";
}
like $sql, qr/v1\.k1\./, 'recoverable secrets are there as keyring ciphertext';

# --- rotation ---------------------------------------------------------------------------
my $k2 = `openssl rand -base64 32`;
chomp $k2;
my $old = $t->slurp('keyring');
open my $fh, '>', $t->dir . '/keyring2' or die;
print $fh "k2 $k2\n$old";
close $fh;
chmod 0600, $t->dir . '/keyring2';
my %env = (PARLEY_CONFIG => '', PARLEY_DATABASE_URL => $t->app_conninfo, PARLEY_JWT_KEY_FILE => $t->dir . '/jwt.key',
    PARLEY_AUDIT_KEY_FILE => $t->dir . '/audit.key', PARLEY_KEYRING_FILE => $t->dir . '/keyring2',
    PARLEY_ADMIN_DATABASE_URL => $t->pg->conninfo($t->dbname, 'postgres'));
sub rotate {
	local @ENV{keys %env} = values %env;
	my $out = `'@{[ ParleyTest->builddir ]}/parleyctl' keys rotate --batch 1 2>&1`;
	return ($? >> 8, $out);
}
# Links in e-mails still queued (the mail server is down) are sealed too:
# a password reset, and a signup, whose company does not exist yet.
$t->stop_smtp;
is $t->post('/api/v1/auth/password/forgot', headers => { 'x-forwarded-for' => '203.0.113.70' },
    json => { email => 'keys@rest.example' })->{status}, 202, 'a reset link queued';
is $t->post('/api/v1/auth/register', headers => { 'x-forwarded-for' => '203.0.113.71' },
    json => { email => 'queued@rest.example', password => $pw, name => 'Qu Eued', company_name => 'Queued' })->{status},
    202, 'a signup link queued';
my $queued = $t->sql(q{SELECT count(*) AS n FROM jobs WHERE done_at IS NULL AND failed_at IS NULL AND payload->>'token_enc' IS NOT NULL})->[0]{n};
cmp_ok $queued, '>=', 1, "$queued queued e-mail job(s) hold a sealed link";
my ($rc, $out) = rotate();
is $rc, 0, 'parleyctl keys rotate' or diag $out;
like $out, qr/rotated @{[ 5 + $queued ]} secret\(s\)/,
    '... re-encrypts the recoverable secrets (TOTP, identity, LLM key, webhook, Stripe key) and the queued links';
unlike $out, qr/\Q$secret{llm_key}\E|\Q$secret{identity}\E|\Q$secret{webhook}\E|\Q$secret{stripe_key}\E|\Q$k2\E/, '... and prints none of them';
my $left = $t->sql(q{SELECT (SELECT count(*) FROM users WHERE totp_pending_enc NOT LIKE 'v1.k2.%')
    + (SELECT count(*) FROM chatbots WHERE identity_secret_enc NOT LIKE 'v1.k2.%')
    + (SELECT count(*) FROM company_llm WHERE api_key_enc NOT LIKE 'v1.k2.%')
    + (SELECT count(*) FROM webhook_endpoints WHERE secret_enc NOT LIKE 'v1.k2.%')
    + (SELECT count(*) FROM operator_secrets WHERE value_enc NOT LIKE 'v1.k2.%')
    + (SELECT count(*) FROM jobs WHERE done_at IS NULL AND failed_at IS NULL AND payload->>'token_enc' IS NOT NULL
       AND payload->>'token_enc' NOT LIKE 'v1.k2.%') AS n})->[0]{n};
is $left, 0, 'every recoverable secret is now under the new key';
($rc, $out) = rotate();
like $out, qr/rotated 0 secret\(s\)/, 'a second run has nothing left to do (it resumes)';

# parleyd with the new key alone still reads them.
open $fh, '>', $t->dir . '/keyring3' or die;
print $fh "k2 $k2\n";
close $fh;
chmod 0600, $t->dir . '/keyring3';
$t->stop_parleyd;
$t->{env}{PARLEY_KEYRING_FILE} = $t->dir . '/keyring3';
$t->start_parleyd;
my $r = $t->post('/api/v1/widget/sessions', headers => { origin => 'https://shop.example' },
    json => { bot_key => $bot->{public_key}, identity => { user_id => 'u1', hmac => hmac_sha256_hex('u1', $secret{identity}) } });
is $r->{status}, 201, 'with the old key gone, the identity secret still verifies a visitor';
my $v = { authorization => "Bearer $r->{json}{token}" };
my $c = req('POST', '/api/v1/widget/conversations', $v)->{json}{id};
$r = $t->visitor_say($r->{json}{token}, $c, 'hello');
is $r->{status}, 201, '... and the company LLM key still decrypts (no provider error)';
$t->start_smtp;
my $m = $t->wait_mail('queued@rest.example', qr/finish signing up/i);
my ($stok) = $m->{body} =~ m{confirm-signup#token=([A-Za-z0-9_-]{43})};
is $t->post('/api/v1/auth/register/confirm', json => { token => $stok, password => $pw })->{status}, 201,
    '... and the queued signup link, re-sealed, arrives and works';
isnt $t->sql('SELECT handoff_reason FROM conversations WHERE id = ?', $c)->[0]{handoff_reason} // '', 'provider_error',
    '... no handoff for an unreadable key';
my $sent = $t->llm_requests->[-1];
is $sent->{headers}{Authorization} // $sent->{headers}{authorization}, "Bearer $secret{llm_key}",
    '... the provider gets the company key, decrypted under the new key';

$r = req('GET', '/api/v1/webhook-endpoints');
is $r->{json}{items}[0]{secret_hint}, 'whsec_...' . substr($secret{webhook}, -4),
    '... and the webhook secret too (its hint is read from the decrypted secret)';

done_testing;
