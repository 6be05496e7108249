# A company's own single sign-on (src/api_sso.c, src/saml.c, src/dns.c)
# against real implementations: a SAML IdP built on samlify (npm,
# t/fakes/saml-idp.mjs) and dnsmasq (Debian) answering the domain's TXT
# record. An owner claims and verifies a domain, configures the IdP and
# requires SSO; password logins of the domain's members are refused (an
# owner with TOTP keeps a break-glass path, audited); members sign in
# through the IdP, in a browser's flow of requests (the binding cookie
# carried by hand); just-in-time membership; then the attacks of the
# issue, each an answer posted to the ACS: unsigned, signature wrapping
# (xsw1..8), a comment inside the NameID, a wrong Audience or Recipient,
# expired, replayed, unsolicited, for another SP, a stranger's key; a
# rollover key is accepted.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use MIME::Base64;
use IO::Uncompress::RawInflate qw(rawinflate);
use ParleyTest;

sub uri_escape { my $s = shift; $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge; $s }
sub uri_unescape { my $s = shift; $s =~ tr/+/ /; $s =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge; $s }

my $dns_port = ParleyTest::free_port();
my $t = ParleyTest->new(env => { PARLEY_LOGIN_MAX_PER_IP => 200, PARLEY_REGISTER_MAX_PER_IP => 20,
    PARLEY_DNS_SERVERS => "127.0.0.1:$dns_port" });
my $https = $t->url('', 'https');
$https =~ s{/$}{};
# Company B's IdP speaks OpenID Connect: oidc-provider (t/fakes/oidc.mjs).
my $op_port = ParleyTest::free_port();
my $op_secret = 'company-b-oidc-client-secret-0123';
$t->{pids}{op} = $t->spawn($t->dir . '/op.log', {}, 'node', ParleyTest->srcdir . '/t/fakes/oidc.mjs', $op_port,
    $t->dir . '/cert.pem', $t->dir . '/key.pem', encode_json([{ client_id => 'beta-sso', client_secret => $op_secret,
	redirect_uris => ["$https/api/v1/auth/oidc/callback"], token_endpoint_auth_method => 'client_secret_post',
	grant_types => ['authorization_code'], response_types => ['code'] }]));
$t->wait_port($op_port, $t->{pids}{op}, 'the OpenID Provider');
$t->note_secrets({ op => $op_secret });
$t->stop_parleyd;
$t->{env}{$_->[0]} = $_->[1] for ([PARLEY_PUBLIC_BASE_URL => $https], [PARLEY_OIDC_ALLOW_LOOPBACK => 1],
    [PARLEY_OIDC_CA_FILE => $t->dir . '/cert.pem']);
$t->start_parleyd;

sub totp { my ($secret, $at) = @_; $at //= time; my $c = `oathtool --totp -b --now='\@$at' $secret`; chomp $c; $c }
my $pw = 'a company sso passphrase';
my $own = $t->signup(json => { email => 'olga@acme.test', password => $pw, name => 'Olga', company_name => 'Acme' })->{json};
my $cid = $own->{company}{id};
my $oa = { authorization => "Bearer $own->{access_token}" };
my $other = $t->signup(headers => { 'x-forwarded-for' => '198.51.100.7' },
    json => { email => 'owen@beta.test', password => $pw, name => 'Owen', company_name => 'Beta' })->{json};
my $ob = { authorization => "Bearer $other->{access_token}" };
$t->add_member({ id => $cid, user => $own->{user}{id} }, 'alice@acme.test', 'member', $pw);

# --- the domain, proved by DNS --------------------------------------------------------------------
my $r = $t->post('/api/v1/company/sso/domains', headers => $oa, json => { domain => 'Acme.Test' });
is $r->{status}, 201, 'a domain is claimed';
is $r->{json}{domain}, 'acme.test', '... lower-cased';
is $r->{json}{txt_name}, '_parley-verification.acme.test', '... and the TXT record to publish is named';
my ($dom, $txt) = ($r->{json}{id}, $r->{json}{txt_value});
like $txt, qr/^parley-verification=[0-9a-f]{32}$/, '... with its value';
is $t->post('/api/v1/company/sso/domains', headers => $oa, json => { domain => 'not a domain' })->{status}, 422, 'a malformed domain: 422';
my $b_dom = $t->post('/api/v1/company/sso/domains', headers => $ob, json => { domain => 'acme.test' })->{json};
is $b_dom->{domain}, 'acme.test', 'another company may claim it too';
my $none = $t->post('/api/v1/company/sso/domains', headers => $oa, json => { domain => 'nothing.test' })->{json};
my $b_ex = $t->post('/api/v1/company/sso/domains', headers => $ob, json => { domain => 'example.com' })->{json};

# dnsmasq answers both companies' records (each company's token).
my $user = getpwuid($<);
$t->{pids}{dns} = $t->spawn($t->dir . '/dnsmasq.log', {}, '/usr/sbin/dnsmasq', '--no-daemon', '--conf-file=/dev/null',
    "--port=$dns_port", '--listen-address=127.0.0.1', '--bind-interfaces', '--no-resolv', '--no-hosts', '--pid-file=',
    "--user=$user", '--log-facility=-',
    "--txt-record=_parley-verification.acme.test,$txt", "--txt-record=_parley-verification.acme.test,$b_dom->{txt_value}",
    '--txt-record=_parley-verification.nothing.test,parley-verification=someone-elses',
    "--txt-record=_parley-verification.example.com,$b_ex->{txt_value}");
$t->wait_port($dns_port, $t->{pids}{dns}, 'dnsmasq');
$r = $t->post("/api/v1/company/sso/domains/$dom/verify", headers => $oa);
is $r->{status}, 200, 'the TXT record verifies the domain';
ok $r->{json}{verified}, '... verified';
$r = $t->post("/api/v1/company/sso/domains/$none->{id}/verify", headers => $oa);
is $r->{json}{code}, 'dns_record_missing', "a TXT record with another token: 422 dns_record_missing";
is $r->{json}{txt_name}, '_parley-verification.nothing.test', '... naming the record looked for';
is $t->post("/api/v1/company/sso/domains/$b_dom->{id}/verify", headers => $ob)->{json}{code}, 'domain_taken',
    'one company per domain: the other company cannot verify it';
is $t->post("/api/v1/company/sso/domains/$b_ex->{id}/verify", headers => $ob)->{status}, 200, '... it verifies its own';
$r = $t->request('PUT', '/api/v1/company/sso', headers => $ob, json => { protocol => 'oidc', oidc_issuer => 'https://127.0.0.1:1',
    oidc_client_id => 'beta-sso', enabled => JSON::PP::true });
is $r->{json}{code}, 'provider_unusable', 'an OpenID issuer that does not answer: 422 provider_unusable';
$r = $t->request('PUT', '/api/v1/company/sso', headers => $ob, json => { protocol => 'oidc', oidc_issuer => "https://127.0.0.1:$op_port",
    oidc_client_id => 'beta-sso', oidc_client_secret => $op_secret, enabled => JSON::PP::true, jit => JSON::PP::true, jit_role => 'admin' });
is $r->{status}, 200, 'company B: OpenID Connect SSO with just-in-time admins';
ok $r->{json}{has_client_secret}, '... its client secret kept';
unlike $t->sql(q{SELECT oidc_client_secret_enc AS s FROM company_sso WHERE oidc_issuer IS NOT NULL})->[0]{s}, qr/\Q$op_secret\E/,
    '... encrypted';
my $aud = join ' ', map { "$_->{fields} $_->{changes}" } @{ $t->sql(q{SELECT changed_fields::text AS fields,
    coalesce(changes::text, '') AS changes FROM audit_log WHERE action = 'sso.update'}) };
like $aud, qr/oidc_client_secret/, '... the audit log names the field';
unlike $aud, qr/\Q$op_secret\E/, '... never its value';

# --- the IdP ---------------------------------------------------------------------------------------
my $idp_port = ParleyTest::free_port();
# On "localhost": another site than parley's 127.0.0.1, as an IdP is.
my $idp = "http://localhost:$idp_port";
my ($acs, $sp_entity) = ("$https/api/v1/sso/saml/$cid/acs", "$https/api/v1/sso/saml/$cid/metadata");
for my $k (qw(idp idp2 stranger)) {
	system("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=$k -keyout '@{[$t->dir]}/$k.key' -out '@{[$t->dir]}/$k.crt' 2>/dev/null") == 0 or die;
}
my $d = $t->dir;
$t->{pids}{idp} = $t->spawn("$d/idp.log", {}, 'node', ParleyTest->srcdir . '/t/fakes/saml-idp.mjs', $idp_port, "$d/idp.crt", "$d/idp.key",
    encode_json({ host => 'localhost', sp => { entity_id => $sp_entity, acs_url => $acs }, extra_certs => ["$d/idp2.crt"], extra_keys => ["$d/idp2.key"],
	unlisted => { cert => "$d/stranger.crt", key => "$d/stranger.key" },
	users => { alice => { email => 'alice@acme.test' }, carol => { email => 'carol@acme.test' }, olga => { email => 'olga@acme.test' },
	    mallory => { email => 'mallory@beta.test' }, victim => { email => 'victim-signed@acme.test' } } }));
$t->wait_port($idp_port, $t->{pids}{idp}, 'the SAML IdP');
my $http = HTTP::Tiny->new(max_redirect => 0, timeout => 30);
my $meta = $http->get("$idp/metadata")->{content};
like $meta, qr/IDPSSODescriptor/, "the IdP's metadata";

$r = $t->request('PUT', '/api/v1/company/sso', headers => $oa, json => { protocol => 'saml', saml_metadata => '<nope/>' });
is $r->{json}{code}, 'bad_metadata', 'metadata that is not an IdP\'s: 422 bad_metadata';
$r = $t->request('PUT', '/api/v1/company/sso', headers => $oa, json => { protocol => 'saml', saml_metadata => $meta, enabled => JSON::PP::true,
    required => JSON::PP::true });
is $r->{json}{code}, 'break_glass_needs_totp', 'requiring SSO needs the owner to have TOTP (the break-glass path)';
my $setup = $t->post('/api/v1/auth/mfa/totp/setup', headers => $oa)->{json};
my $enabled = $t->post('/api/v1/auth/mfa/totp/enable', headers => $oa, json => { code => totp($setup->{secret}) });
is $enabled->{status}, 200, 'the owner turns TOTP on';
$r = $t->request('PUT', '/api/v1/company/sso', headers => $oa, json => { protocol => 'saml', saml_metadata => $meta, enabled => JSON::PP::true,
    required => JSON::PP::true });
is $r->{status}, 200, 'SAML SSO is configured and required';
is $r->{json}{saml_idp_entity_id}, "$idp/metadata", "... the IdP's entity id read from its metadata";
is $r->{json}{sp_acs_url}, $acs, "... parley's ACS in the answer";
$r = $t->get("/api/v1/sso/saml/$cid/metadata");
is $r->{status}, 200, "parley's SP metadata is published";
like $r->{content}, qr{entityID="\Q$sp_entity\E".*Location="\Q$acs\E"}s, '... with its entity id and ACS';
is $t->get("/api/v1/sso/saml/$other->{company}{id}/metadata")->{status}, 404, '... not for a company without SAML';
ok scalar(@{ $t->sql(q{SELECT 1 FROM audit_log WHERE action = 'sso.update'}) }) >= 1, 'the change is audited';
ok scalar(@{ $t->sql(q{SELECT 1 FROM audit_log WHERE action = 'sso.domain_verify'}) }), '... and the verification';

# --- SSO required: passwords refused, but the owner's break glass ------------------------------------
$r = $t->post('/api/v1/auth/login', json => { email => 'alice@acme.test', password => $pw });
is $r->{json}{code}, 'sso_required', "a member's password login: 403 sso_required";
is $t->post('/api/v1/auth/login', json => { email => 'nobody@acme.test', password => $pw })->{json}{code}, 'sso_required',
    '... the same for an address without an account (nothing told)';
is $t->post('/api/v1/auth/login', json => { email => 'olga@acme.test', password => $pw })->{json}{code}, 'mfa_required',
    'the owner: password, then the code';
$r = $t->post('/api/v1/auth/login', json => { email => 'olga@acme.test', password => $pw, totp_code => $enabled->{json}{recovery_codes}[0] });
is $r->{status}, 200, '... break glass: the owner signs in with password and code (here a recovery code)';
ok scalar(@{ $t->sql(q{SELECT 1 FROM audit_log WHERE action = 'sso.break_glass'}) }), '... audited';
is $t->post('/api/v1/auth/login', json => { email => 'owen@beta.test', password => $pw })->{status}, 200,
    "another company's owner is not concerned";

# --- signing in through the IdP: the browser's requests, by hand ----------------------------------
my $cookie;
sub start {
	my ($email) = @_;
	my $s = $t->post('/api/v1/auth/sso/start', json => { email => $email });
	return $s unless $s->{status} == 200;
	($cookie) = $s->{headers}{'set-cookie'} =~ /^(parley_oidc=[^;]+)/;
	my ($q) = $s->{json}{url} =~ /\?(.*)$/;
	my %q = map { my ($k, $v) = split /=/, $_, 2; ($k, uri_unescape($v)) } split /&/, $q;
	rawinflate(\decode_base64($q{SAMLRequest}) => \my $xml) or die;
	my ($id) = $xml =~ /\bID="([^"]+)"/;
	return { url => $s->{json}{url}, relay => $q{RelayState}, id => $id, xml => $xml };
}
sub acs {
	my ($resp, $relay) = @_;
	return $t->post("/api/v1/sso/saml/$cid/acs", headers => { 'content-type' => 'application/x-www-form-urlencoded' },
	    body => 'SAMLResponse=' . uri_escape($resp) . (defined $relay ? '&RelayState=' . uri_escape($relay) : ''));
}
sub finish {
	my ($a) = @_;
	return $a unless ($a->{headers}{location} // '') =~ m{^\Q$https\E(/api/v1/auth/oidc/callback\?.*)$};
	return $t->get($1, headers => { cookie => $cookie });
}
# Where an answer at the ACS ends: "signed in", or the refusal's reason
# (at the ACS, or when the flow finishes).
sub outcome {
	my ($a) = @_;
	my $loc = $a->{headers}{location} // '';
	return $1 if $loc =~ m{/sso\?sso=(\w+)$};
	$loc = finish($a)->{headers}{location} // '';
	return 'signed in' if $loc eq "$https/";
	return $1 if $loc =~ m{[?&](?:sso|oidc)=(\w+)$};
	return $loc;
}
sub craft { decode_json($http->post("$idp/craft", { content => encode_json({ @_ }), headers => { 'content-type' => 'application/json' } })->{content}) }
sub sessions_of { $t->sql('SELECT count(*) AS n FROM sessions WHERE user_id = (SELECT id FROM users WHERE email = ?)', $_[0])->[0]{n} }

is $t->post('/api/v1/auth/sso/start', json => { email => 'someone@unknown.test' })->{json}{code}, 'sso_not_configured',
    'an address of no verified domain: 404 sso_not_configured';
my $f = start('alice@acme.test');
like $f->{url}, qr{^\Q$idp\E/sso\?SAMLRequest=}, 'SSO starts at the IdP (HTTP-Redirect)';
like $f->{xml}, qr{AssertionConsumerServiceURL="\Q$acs\E"}, '... the AuthnRequest names the ACS';
like $f->{xml}, qr{<saml:Issuer>\Q$sp_entity\E</saml:Issuer>}, '... parley as its issuer';
unlike $f->{xml}, qr/Signature/, '... unsigned (no SP key kept)';
my $page = $http->get("$f->{url}&login=alice")->{content};
my ($form_resp) = $page =~ /name="SAMLResponse" value="([^"]+)"/;
my ($form_relay) = $page =~ /name="RelayState" value="([^"]+)"/;
ok $form_resp, "the IdP answers its POST form";
is $form_relay, $f->{relay}, '... with the RelayState';
my $a = acs($form_resp, $form_relay);
is $a->{status}, 303, 'the ACS takes the response';
like $a->{headers}{location}, qr{^\Q$https\E/api/v1/auth/oidc/callback\?state=}, '... and sends the browser on to finish';
my $done = finish($a);
is $done->{headers}{location}, "$https/", '... signed in, in the browser that started';
my $cookies = $done->{headers}{'set-cookie'} // '';
like ref $cookies ? "@$cookies" : $cookies, qr/parley_refresh=/, '... with a session (the refresh cookie)';
is sessions_of('alice@acme.test'), 2, '... a second session for alice (her password login before SSO was required was the first)';
ok scalar(@{ $t->sql(q{SELECT 1 FROM user_identities WHERE provider = 'sso' AND subject = 'alice@acme.test'}) }),
    "... her IdP identity linked to the member of the company's verified domain";
is scalar @{ $t->sql(q{SELECT * FROM parley_lookup_identity(?, 'alice@acme.test')}, "$idp/metadata") }, 0,
    "... in the company's namespace: no personal provider's sign-in finds it (the IdP names its issuer itself)";
ok scalar(@{ $t->sql(q{SELECT 1 FROM security_events WHERE kind = 'login_success' AND detail->>'method' = 'sso'}) }),
    '... a login_success, method sso';
my $exp = $t->sql(q{SELECT extract(epoch FROM expires_at - created_at)::int AS s FROM sessions WHERE user_id = (SELECT id FROM users WHERE email = 'alice@acme.test') ORDER BY created_at DESC LIMIT 1})->[0]{s};
cmp_ok $exp, '<=', 43200, '... a session that ends within sso_session_ttl';
is finish($a)->{headers}{location}, "$https/login?oidc=expired", 'the finish cannot be replayed';

# The ACS in another browser's flow: no binding cookie, nothing.
$f = start('alice@acme.test');
my $c = craft(user => 'alice', in_response_to => $f->{id});
$a = acs($c->{SAMLResponse}, $f->{relay});
$cookie = 'parley_oidc=' . ('x' x 43);
is finish($a)->{headers}{location}, "$https/login?oidc=failed", "an ACS answer finished in another browser: nothing";

# Just in time.
$f = start('carol@acme.test');
is outcome(acs(craft(user => 'carol', in_response_to => $f->{id})->{SAMLResponse}, $f->{relay})), 'no_account',
    'a verified-domain user without an account: no_account (JIT off)';
$t->request('PUT', '/api/v1/company/sso', headers => $oa, json => { protocol => 'saml', saml_metadata => $meta, enabled => JSON::PP::true,
    required => JSON::PP::true, jit => JSON::PP::true, jit_role => 'member' });
$f = start('carol@acme.test');
is finish(acs(craft(user => 'carol', in_response_to => $f->{id})->{SAMLResponse}, $f->{relay}))->{headers}{location}, "$https/",
    'JIT on: signed in';
is $t->sql(q{SELECT role FROM users WHERE email = 'carol@acme.test'})->[0]{role}, 'member', '... as a new member';
$f = start('alice@acme.test');
is outcome(acs(craft(user => 'mallory', in_response_to => $f->{id})->{SAMLResponse}, $f->{relay})), 'domain_not_verified',
    "the IdP speaks only for the company's verified domains";

# The rollover key.
$f = start('alice@acme.test');
is finish(acs(craft(user => 'alice', in_response_to => $f->{id}, key => 0)->{SAMLResponse}, $f->{relay}))->{headers}{location},
    "$https/", "a response signed with the metadata's second certificate (a rollover): accepted";

# A member with TOTP gives her code after the IdP (the IdP's MFA counts
# only when the company says so, idp_mfa, and the IdP asserts it).
my $carol_id = $t->sql(q{SELECT id, company_id FROM users WHERE email = 'carol@acme.test'})->[0];
$t->sql(q{UPDATE users SET totp_secret_enc = (SELECT totp_secret_enc FROM users WHERE email = 'olga@acme.test'),
    totp_enabled_at = now() WHERE email = 'carol@acme.test'});
$f = start('carol@acme.test');
my $loc = finish(acs(craft(user => 'carol', in_response_to => $f->{id})->{SAMLResponse}, $f->{relay}))->{headers}{location};
like $loc, qr{^\Q$https\E/login\?oidc=mfa#ticket=[A-Za-z0-9_-]{43}$}, "a member with TOTP: the code next, after the IdP";
$f = start('carol@acme.test');
like finish(acs(craft(user => 'carol', in_response_to => $f->{id}, authn_context => 'https://refeds.org/profile/mfa')->{SAMLResponse},
    $f->{relay}))->{headers}{location}, qr{/login\?oidc=mfa#}, "... also when the IdP says it used MFA: the company did not let that count";
$t->request('PUT', '/api/v1/company/sso', headers => $oa, json => { protocol => 'saml', saml_metadata => $meta, enabled => JSON::PP::true,
    required => JSON::PP::true, jit => JSON::PP::true, idp_mfa => JSON::PP::true });
$f = start('carol@acme.test');
is finish(acs(craft(user => 'carol', in_response_to => $f->{id}, authn_context => 'https://refeds.org/profile/mfa')->{SAMLResponse},
    $f->{relay}))->{headers}{location}, "$https/", "the company lets the IdP's MFA count (idp_mfa), and the IdP asserts it: signed in";
$f = start('carol@acme.test');
like finish(acs(craft(user => 'carol', in_response_to => $f->{id})->{SAMLResponse}, $f->{relay}))->{headers}{location},
    qr{/login\?oidc=mfa#}, "... an IdP sign-in without MFA: still the code";
ok scalar(@{ $t->sql(q{SELECT 1 FROM security_events WHERE kind = 'login_success' AND detail->>'idp_mfa' = 'true'}) }),
    '... the security event says the IdP\'s MFA counted';

# --- attacks: each refused, and nobody signed in as alice ----------------------------------------
my $before = sessions_of('alice@acme.test');
# Each: what, how /craft makes it, the outcome, and why (the reason
# parleyd logs; a pattern where several checks may catch it first).
my @attacks = (
	['unsigned', { variant => 'unsigned' }, 'failed', 'not_signed'],
	['signed by a key the metadata does not list', { key => 'unlisted' }, 'failed', 'bad_signature'],
	['a wrong Audience', { audience => 'https://other-sp.example/metadata' }, 'failed', 'wrong_audience'],
	['a wrong Recipient', { recipient => 'https://other-sp.example/acs' }, 'failed', 'wrong_recipient'],
	['a wrong Destination', { destination => 'https://other-sp.example/acs' }, 'failed', 'wrong_destination'],
	['expired', { not_on_or_after_seconds => -600 }, 'failed', 'expired'],
	['not yet valid', { not_before_seconds => 900 }, 'failed', 'not_yet_valid'],
	['for another SP', { variant => 'other_sp' }, 'failed', qr/^wrong_(destination|recipient|audience)$/],
	['a comment inside the NameID (CVE-2017-11427)', { variant => 'comment_in_nameid' }, 'domain_not_verified', undef],
	['another request\'s InResponseTo', { in_response_to => '_not-the-request' }, 'failed', 'wrong_in_response_to'],
	['the Response signed, a wrong Destination', { sign => 'response', destination => 'https://x.example/acs' }, 'failed',
	    'wrong_destination'],
	(map { ["XML signature wrapping ($_)", { variant => $_ }, 'failed', qr/^(several_assertions|bad_signature|not_signed|malformed)$/] }
	    map { "xsw$_" } 1 .. 8),
);
sub last_reason { my @e = grep { ($_->{event} // '') eq 'saml_response' } $t->log_events; @e ? $e[-1]{reason} : '' }
for my $x (@attacks) {
	my ($what, $opt, $want, $why) = @$x;
	my $n0 = grep { ($_->{event} // '') eq 'saml_response' } $t->log_events;
	$f = start('alice@acme.test');
	my $cr = craft(user => 'alice', in_response_to => $f->{id}, %$opt);
	if (!$cr->{SAMLResponse}) { fail("$what: crafted"); next }
	is outcome(acs($cr->{SAMLResponse}, $f->{relay})), $want, "$what: refused ($want)";
	next unless defined $why;
	ParleyTest::wait_for(sub { (grep { ($_->{event} // '') eq 'saml_response' } $t->log_events) > $n0 }, 5);
	if (ref $why) { like last_reason(), $why, "... because: " . last_reason() } else { is last_reason(), $why, "... because: $why" }
}
is sessions_of('alice@acme.test'), $before, 'no attack signed alice in';
is $t->sql(q{SELECT count(*) AS n FROM users WHERE email = 'victim-signed@acme.test'})->[0]{n}, 0,
    '... nor the user whose assertion was wrapped (JIT made nobody)';

# Replay: the same assertion (its id) in a new flow.
$f = start('alice@acme.test');
my $once = craft(user => 'alice', in_response_to => $f->{id}, assertion_id => '_replayed-assertion-1');
is finish(acs($once->{SAMLResponse}, $f->{relay}))->{headers}{location}, "$https/", 'an assertion once: signed in';
$f = start('alice@acme.test');
is acs(craft(user => 'alice', in_response_to => $f->{id}, assertion_id => '_replayed-assertion-1')->{SAMLResponse}, $f->{relay})
    ->{headers}{location}, "$https/sso?sso=replayed", '... its id again: replayed';
is acs($once->{SAMLResponse}, $f->{relay})->{headers}{location}, "$https/sso?sso=failed", '... the very response again: refused';

# Unsolicited (IdP-initiated): refused unless the company allows it.
$cookie = undef;
$a = acs(craft(user => 'alice')->{SAMLResponse});
is $a->{headers}{location}, "$https/sso?sso=idp_initiated_off", 'an unsolicited response: refused';
$t->request('PUT', '/api/v1/company/sso', headers => $oa, json => { protocol => 'saml', saml_metadata => $meta, enabled => JSON::PP::true,
    required => JSON::PP::true, allow_idp_initiated => JSON::PP::true });
$a = acs(craft(user => 'alice')->{SAMLResponse});
($cookie) = ($a->{headers}{'set-cookie'} // '') =~ /^(parley_oidc=[^;]+)/;
ok $cookie, 'allowed: the ACS binds a new flow to this browser';
is finish($a)->{headers}{location}, "$https/", '... and it signs in';

# The console, in chromium.
my $chromium = -x '/usr/bin/chromium' ? '/usr/bin/chromium' : undef;
ok $chromium, 'chromium is installed' or BAIL_OUT('no chromium');
local $ENV{BASE} = $https;
local $ENV{CHROMIUM} = $chromium;
local $ENV{EMAIL} = 'olga@acme.test';
local $ENV{PASSWORD} = $pw;
local $ENV{TOTP_SECRET} = $setup->{secret};
local $ENV{MEMBER} = 'alice@acme.test';
local $ENV{ACS} = $acs;
local $ENV{NODE_TLS_REJECT_UNAUTHORIZED} = '0';
local $ENV{OUT} = $t->dir;
$t->note_secrets({ totp => $setup->{secret} });
my $checks = $t->browser_checks(ParleyTest->srcdir . '/t/browser/sso.mjs');
cmp_ok $checks, '>=', 10, "the browser made its checks ($checks)";
is $t->sql(q{SELECT u.role FROM users u JOIN companies c ON c.id = u.company_id WHERE u.email = 'bob@example.com' AND c.name = 'Beta'})->[0]{role},
    'admin', "company B's OpenID Connect SSO made bob an admin, just in time";
my $n_del = $t->sql(q{SELECT count(*) AS n FROM audit_log WHERE action = 'sso.delete'})->[0]{n};
is $t->request('DELETE', '/api/v1/company/sso', headers => $ob)->{status}, 204, "company B removes its IdP";
is $t->sql(q{SELECT count(*) AS n FROM audit_log WHERE action = 'sso.delete'})->[0]{n}, $n_del + 1, '... audited, once';
is $t->post('/api/v1/auth/sso/start', json => { email => 'bob@example.com' })->{json}{code}, 'sso_not_configured',
    '... and its domain has no SSO any more';
is scalar(grep { $_->{event} eq 'csp_violation' } $t->log_events), 0, 'no CSP report';
done_testing;
