# OpenID Connect providers as parley reads them (src/oidc.c): the
# discovery document and key set of a real OpenID Provider (oidc-provider
# from npm, t/fakes/oidc.mjs) fetched over https through the address
# guard, with `parleyctl oidc check ISSUER`; refused over http, from a
# loopback address unless allowed, and when the document names another
# issuer.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;

ok -d ParleyTest->srcdir . '/t/browser/node_modules/oidc-provider', 'oidc-provider is installed (dev/test runs npm ci in t/browser)'
    or BAIL_OUT('no oidc-provider');
my $t = ParleyTest->new;
my $port = ParleyTest::free_port();
my $clients = encode_json([{ client_id => 'parley', client_secret => 'a-test-client-secret-0123456789',
    redirect_uris => ['https://127.0.0.1/api/v1/auth/oidc/callback'] }]);
$t->{pids}{oidc} = $t->spawn($t->dir . '/oidc.log', {}, 'node', ParleyTest->srcdir . '/t/fakes/oidc.mjs', $port,
    $t->dir . '/cert.pem', $t->dir . '/key.pem', $clients);
$t->wait_port($port, $t->{pids}{oidc}, 'the OpenID Provider');
my $issuer = "https://127.0.0.1:$port";

sub check {
	my (%env) = @_;
	my %all = (PARLEY_CONFIG => '', PARLEY_OIDC_CA_FILE => $t->dir . '/cert.pem', %env);
	local @ENV{keys %all} = values %all;
	my $issuer_arg = delete $env{issuer} // $issuer;
	my $ctl = ParleyTest->builddir . '/parleyctl';
	my $out = `'$ctl' oidc check '$issuer_arg' 2>&1`;
	return ($? >> 8, $out);
}

my ($rc, $out) = check(PARLEY_OIDC_ALLOW_LOOPBACK => 1);
is $rc, 0, 'parleyctl oidc check reads a real provider' or diag $out;
like $out, qr{^issuer \Q$issuer\E$}m, '... its issuer';
like $out, qr{^authorization_endpoint \Q$issuer\E/auth$}m, '... its authorization endpoint';
like $out, qr{^token_endpoint \Q$issuer\E/token$}m, '... its token endpoint';
like $out, qr{^pkce_s256 yes$}m, '... PKCE with S256';
like $out, qr{^algorithms RS256}m, "... parley's algorithms it signs with";
like $out, qr{^key \S+ (RSA|EC)$}m, '... and its signing keys';

($rc, $out) = check();
is $rc, 1, 'a provider on loopback without oidc_allow_loopback: refused';
like $out, qr/discovery: private_address/, '... private_address: the address guard of webhooks';
{
	my %all = (PARLEY_CONFIG => '', PARLEY_OIDC_ALLOW_LOOPBACK => 1, PARLEY_OIDC_CA_FILE => $t->dir . '/cert.pem');
	local @ENV{keys %all} = values %all;
	my $ctl = ParleyTest->builddir . '/parleyctl';
	my $o = `'$ctl' oidc check 'http://127.0.0.1:$port' 2>&1`;
	like $o, qr/discovery: https_required/, 'an http issuer: https_required';
	$o = `'$ctl' oidc check 'https://localhost:$port' 2>&1`;
	like $o, qr/discovery: wrong_issuer/, 'a document naming another issuer than asked: wrong_issuer';
	my %noca = (PARLEY_OIDC_CA_FILE => '');
	local @ENV{keys %noca} = values %noca;
	$o = `'$ctl' oidc check '$issuer' 2>&1`;
	like $o, qr/discovery: connect/, 'a certificate nobody vouches for: refused (connect)';
}
done_testing;
