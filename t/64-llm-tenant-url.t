# A deployment that lets companies name their own provider URL
# (llm_company_base_url = 1): https only, never the deployment's key, and
# never an address inside the network (the check is on the address
# connected to; unit-tested in t/unit/test-llm.c).
use strict;
use warnings;
use Test::More;
use ParleyTest;

my $t = ParleyTest->new(llm => 1, env => { PARLEY_LLM_COMPANY_BASE_URL => 1, PARLEY_LLM_RETRIES => 0 });
my $pw = 'tangerine-orbit-velvet-42';
my $own = $t->signup(json => { email => 'url@co.example', password => $pw,
    name => 'Ur L', company_name => 'URL Co' })->{json};
my $auth = { authorization => "Bearer $own->{access_token}" };
sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h, defined $j ? (json => $j) : ()) }
my $port = $t->{llm_port};

my $r = req('PUT', '/api/v1/company/llm', $auth, { base_url => "http://127.0.0.1:$port/v1" });
is $r->{status}, 422, 'a plain-http provider URL: 422 (the key would travel in clear)';
is req('PUT', '/api/v1/company/llm', $auth, { base_url => 'ftp://llm.example/v1' })->{status}, 422, 'ftp: 422';
# The URL is judged as webhook URLs are: a host inside the network, in
# any spelling libcurl would resolve to it, is refused at once.
for my $u ("https://127.0.0.1:$port/v1", 'https://localhost/v1', 'https://[::ffff:0:7f00:1]/v1',
    'https://127.0.0.1%E3%80%82/v1', 'https://%E2%91%A0%E2%91%A1%E2%91%A6.0.0.1/v1',
    'https://169.254.169.254/latest', 'https://10.0.0.5/v1') {
	$r = req('PUT', '/api/v1/company/llm', $auth, { base_url => $u });
	is $r->{status}, 422, "a provider inside the network ($u): 422";
	is $r->{json}{errors}[0]{code}, 'private_address', '... private_address';
}
# Raw non-ASCII is no URI at all (RFC 3986): refused as format first.
$r = req('PUT', '/api/v1/company/llm', $auth, { base_url => "https://127\xe3\x80\x820\xe3\x80\x820\xe3\x80\x821/v1" });
is $r->{status}, 422, 'ideographic full stops, unencoded: 422';
is req('PUT', '/api/v1/company/llm', $auth, { base_url => 'https://llm.example/v1' })->{status}, 200,
    'a public https URL is accepted';
# One that became internal later (DNS pointing inside) is caught when
# parleyd connects: stored here directly, as such a name would resolve.
$t->sql(q{UPDATE company_llm SET base_url = ?}, "https://127.0.0.1:$port/v1");

my $bot = req('POST', '/api/v1/chatbots', $auth, { name => 'B', allowed_origins => ['https://shop.example'] })->{json};
my $tok = $t->post('/api/v1/widget/sessions', headers => { origin => 'https://shop.example' },
    json => { bot_key => $bot->{public_key} })->{json}{token};
my $v = { authorization => "Bearer $tok" };
my $c = req('POST', '/api/v1/widget/conversations', $v)->{json}{id};
$t->llm_reset;
$r = $t->visitor_say($tok, $c, 'Hello?');
is $r->{json}{status}, 'pending', 'a provider inside the network: the visitor is handed to a human';
is scalar @{ $t->llm_requests }, 0, '... and the internal server received nothing';
my @calls = grep { $_->{event} eq 'llm_chat' } $t->log_events;
ok @calls && $calls[-1]{error} =~ /^(connect|blocked_address)$/, "... refused ($calls[-1]{error})";

# The deployment's key never goes to a tenant's URL.
$t->sql(q{UPDATE company_llm SET base_url = ?}, "http://127.0.0.1:$port/v1");
$t->llm_reset;
$t->sql(q{UPDATE conversations SET status = 'bot' WHERE id = ?}, $c);
$t->visitor_say($tok, $c, 'Again?');
my $sent = $t->llm_requests;
ok !grep({ ($_->{headers}{Authorization} // $_->{headers}{authorization} // '') =~ /\Q$t->{llm_key}\E/ } @$sent),
    "the deployment's key is not sent to a company's URL";
is scalar @$sent, 0, '... nor anything at all (https only, public addresses only)';

done_testing;
