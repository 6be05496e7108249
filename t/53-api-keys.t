# Scoped API keys: shown once, stored hashed, scopes checked on every use
# against the key and the creator's current role; refused after
# revocation, expiry or the creator's removal; audited.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Digest::SHA qw(sha256_hex);
use ParleyTest;

my $t = ParleyTest->new;
my $pw = 'tangerine-orbit-velvet-42';
my $own = $t->signup(json => { email => 'keys@co.example', password => $pw,
    name => 'Kay Keys', company_name => 'Keys Co' })->{json};
my $other = $t->signup(headers => { 'x-forwarded-for' => '203.0.113.9' },
    json => { email => 'keys@else.example', password => $pw, name => 'Els Else', company_name => 'Else' })->{json};
my $auth = { authorization => "Bearer $own->{access_token}" };
my $hash = $t->sql('SELECT password_hash FROM users WHERE id = ?', $own->{user}{id})->[0]{password_hash};
my $admin_id = $t->sql(q{INSERT INTO users (company_id, email, name, role, password_hash) VALUES (?, 'adm@co.example', 'Ada Admin', 'admin', ?) RETURNING id},
    $own->{company}{id}, $hash)->[0]{id};
my $adm = $t->post('/api/v1/auth/login', json => { email => 'adm@co.example', password => $pw })->{json};
my $aauth = { authorization => "Bearer $adm->{access_token}" };

sub mk { my ($h, %b) = @_; $t->post('/api/v1/api-keys', headers => $h, json => { name => 'k', %b }) }
sub with_key { my ($k, $path) = @_; $t->get($path, headers => { authorization => "Bearer $k" }) }

my $r = mk($aauth, name => 'reporting', scopes => ['members:read']);
is $r->{status}, 201, 'an admin creates a key';
my $key = $r->{json}{key};
like $key, qr/^prl_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$/, 'format prl_<id>_<secret>';
is_deeply $r->{json}{scopes}, ['members:read'], 'with its scopes';
my ($secret) = $key =~ /_([A-Za-z0-9_-]{43})$/;
is $t->sql(q{SELECT encode(secret_hash, 'hex') AS h FROM api_keys})->[0]{h}, sha256_hex($secret), 'stored as SHA-256 of the secret';
$r = $t->get('/api/v1/api-keys', headers => $aauth);
is scalar(@{ $r->{json}{items} }), 1, 'listed';
unlike $r->{content}, qr/\Q$secret\E/, '... without the secret';
like $r->{json}{items}[0]{prefix}, qr/^prl_[0-9a-f]{8}$/, '... with a prefix to recognise it';

is mk($aauth, scopes => ['members:read', 'root'])->{status}, 422, 'an unknown scope: 422';
is mk($aauth, scopes => [])->{status}, 422, 'no scope: 422';
is mk($aauth, scopes => ['members:read'], expires_at => '2000-01-01T00:00:00Z')->{status}, 422, 'an expiry in the past: 422';
is mk($aauth, scopes => ['members:read'], expires_at => 'tomorrow-ish')->{status}, 422, 'an unparsable expiry: 422';

# Use.
$r = with_key($key, '/api/v1/members');
is $r->{status}, 200, 'the key reads members (members:read)';
is scalar(@{ $r->{json}{items} }), 2, '... of its own company';
is with_key($key, '/api/v1/me')->{status}, 401, 'keys cannot call user-only routes';
my $narrow = mk($aauth, scopes => ['chatbots:read'])->{json}{key};
is with_key($narrow, '/api/v1/members')->{json}{code}, 'insufficient_scope', 'a key without the scope: 403';
is with_key(substr($key, 0, -1) . ($key =~ /A$/ ? 'B' : 'A'), '/api/v1/members')->{status}, 401, 'a wrong secret: 401';
is with_key('prl_' . ('0' x 32) . '_' . ('A' x 43), '/api/v1/members')->{status}, 401, 'an unknown key: 401';
ok $t->sql('SELECT last_used_at FROM api_keys WHERE name = ?', 'reporting')->[0]{last_used_at}, 'last use recorded';

# The creator's role caps the key, checked on each use.
my $wide = mk($aauth, scopes => ['members:read', 'audit:read'])->{json}{key};
$t->sql(q{UPDATE users SET role = 'member' WHERE id = ?}, $admin_id);
is with_key($key, '/api/v1/members')->{status}, 200, 'creator demoted to member: members:read still within the role';
is mk($aauth, scopes => ['members:read'])->{status}, 403, 'a member cannot create keys';
$t->sql(q{UPDATE users SET role = 'admin' WHERE id = ?}, $admin_id);

# Revocation, expiry, removal of the creator.
my $kid = $t->sql(q{SELECT id FROM api_keys WHERE name = 'reporting'})->[0]{id};
is $t->request('DELETE', "/api/v1/api-keys/$kid", headers => $auth)->{status}, 204, 'revoked';
is with_key($key, '/api/v1/members')->{status}, 401, '... and refused at once';
is $t->request('DELETE', "/api/v1/api-keys/$kid", headers => $auth)->{status}, 404, 'revoking again: 404';
my $foreign = mk({ authorization => "Bearer $other->{access_token}" }, scopes => ['members:read'])->{json};
is $t->request('DELETE', "/api/v1/api-keys/$foreign->{id}", headers => $auth)->{status}, 404, "another company's key: 404";
is with_key($foreign->{key}, '/api/v1/members')->{status}, 200, '... and it still works there';
my $exp = mk($aauth, scopes => ['members:read'], expires_at => '2099-01-01T00:00:00Z')->{json}{key};
is with_key($exp, '/api/v1/members')->{status}, 200, 'a key with a future expiry works';
$t->sql(q{UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE expires_at IS NOT NULL});
is with_key($exp, '/api/v1/members')->{status}, 401, 'past its expiry: refused';
is with_key($wide, '/api/v1/members')->{status}, 200, 'the admin\'s other key works';
is $t->request('DELETE', "/api/v1/members/$admin_id", headers => $auth)->{status}, 204, 'the creator is removed';
is with_key($wide, '/api/v1/members')->{status}, 401, '... and their keys with them';

# Audited.
my %n;
$n{ $_->{action} }++ for @{ $t->sql(q{SELECT action FROM audit_log WHERE company_id = ?}, $own->{company}{id}) };
is $n{'api_key.create'}, 4, 'creations audited';
is $n{'api_key.revoke'}, 1, 'the revocation audited';

done_testing;
