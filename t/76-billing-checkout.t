# Billing through Stripe's API (a local fake speaking its wire format):
# the operator's secret key stored encrypted (`parleyctl secret set`),
# POST /api/v1/billing/checkout and /portal for the owner (audited), the
# provider's failures answered without internals, and an event timestamp
# tie decided by fetching the subscription from Stripe.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Digest::SHA qw(hmac_sha256_hex);
use ParleyTest;

my $whsec = 'whsec_' . join('', map { ('a' .. 'z', 0 .. 9)[int rand 36] } 1 .. 32);
my $t = ParleyTest->new(stripe => 1, env => { PARLEY_STRIPE_WEBHOOK_SECRET => $whsec });
$t->note_secrets({ stripe_whsec => $whsec });
my $pw = 'tangerine-orbit-velvet-42';
my $own = $t->signup(json => { email => 'pay@co.example', password => $pw,
    name => 'Pay Er', company_name => 'Pay Co' })->{json};
my $cid = $own->{company}{id};
my $auth = { authorization => "Bearer $own->{access_token}" };
sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h // $auth, defined $j ? (json => $j) : ()) }
sub calls { [grep { $_->{path} =~ m{^/v1/} } @{ $t->stripe_call('GET', '/_requests') }] }

# --- the secret key ------------------------------------------------------------------------
my $r = req('POST', '/api/v1/billing/checkout', undef, { plan => 'pro' });
is $r->{status}, 503, 'no Stripe key set: 503';
is $r->{json}{code}, 'billing_not_configured', '... billing_not_configured';
sub secret_set { $t->secret_set('stripe_secret_key', $_[0]) }
my ($rc, $out) = secret_set('not-a-key');
is $rc, 2, 'parleyctl secret set refuses what is not a Stripe key';
($rc, $out) = secret_set($t->stripe_key);
is $rc, 0, 'parleyctl secret set stripe_secret_key (from standard input)' or diag $out;
unlike $out, qr/\Q@{[ $t->stripe_key ]}\E/, '... without printing it';
my $stored = $t->sql(q{SELECT value_enc FROM operator_secrets WHERE name = 'stripe_secret_key'})->[0]{value_enc};
like $stored, qr/^v1\.k1\./, '... stored as keyring ciphertext';
my $pgbin = $t->pg->{bin};
my $dump = `'$pgbin/pg_dump' -d '@{[ $t->pg->conninfo($t->dbname, 'postgres') ]}' 2>/dev/null`;
cmp_ok length $dump, '>', 10000, 'a dump of the database';
unlike $dump, qr/\Q@{[ $t->stripe_key ]}\E/, '... holds no Stripe key';

# --- checkout -------------------------------------------------------------------------------
$r = req('POST', '/api/v1/billing/checkout', undef, { plan => 'pro' });
is $r->{status}, 422, 'a plan without a Stripe price: 422';
is $r->{json}{errors}[0]{code}, 'not_for_sale', '... not_for_sale';
is req('POST', '/api/v1/billing/checkout', undef, { plan => 'gold' })->{json}{errors}[0]{code}, 'unknown', 'an unknown plan: unknown';
is req('POST', '/api/v1/billing/checkout', undef, { plan => 'Pro Plan!' })->{status}, 422, 'a malformed plan: 422';
is scalar @{ calls() }, 0, '... and Stripe was not called for any of them';
$t->sql(q{UPDATE plans SET stripe_price_id = 'price_ProMonthly' WHERE id = 'pro'});
$r = req('POST', '/api/v1/billing/checkout', undef, { plan => 'pro' });
is $r->{status}, 201, 'the owner starts a checkout';
like $r->{json}{url}, qr{^https://checkout\.stripe\.com/c/pay/cs_test_}, '... and gets Stripe\'s URL';
my $c = calls()->[-1];
is $c->{authorization}, 'Bearer ' . $t->stripe_key, 'Stripe is called with the decrypted key';
is $c->{form}{mode}, 'subscription', '... mode subscription';
is $c->{form}{'line_items[0][price]'}, 'price_ProMonthly', "... the plan's price";
is $c->{form}{client_reference_id}, $cid, '... the company as client_reference_id';
is $c->{form}{'metadata[plan]'}, 'pro', '... metadata[plan]';
is $c->{form}{'subscription_data[metadata][plan]'}, 'pro', '... on the subscription too';
is $c->{form}{'subscription_data[metadata][company_id]'}, $cid, '... with the company';
is $c->{form}{customer_email}, 'pay@co.example', "... the owner's address (no customer yet)";
like $c->{form}{success_url}, qr{^https://app\.parley\.test/settings/billing\?checkout=success$}, '... return URLs on the public base';
is $t->sql(q{SELECT changes::text AS c FROM audit_log WHERE company_id = ? AND action = 'billing.checkout'}, $cid)->[0]{c},
    '{"plan": {"requested": "pro"}}', 'the checkout is audited';
is $t->sql('SELECT plan FROM companies WHERE id = ?', $cid)->[0]{plan}, 'free', '... and changes no plan (the webhook does)';

my $hash = $t->sql('SELECT password_hash FROM users WHERE id = ?', $own->{user}{id})->[0]{password_hash};
$t->sql(q{INSERT INTO users (company_id, email, name, role, password_hash) VALUES (?, 'adm@co.example', 'Ad Min', 'admin', ?)}, $cid, $hash);
my $adm = { authorization => 'Bearer ' . $t->post('/api/v1/auth/login', json => { email => 'adm@co.example', password => $pw })->{json}{access_token} };
is req('POST', '/api/v1/billing/checkout', $adm, { plan => 'pro' })->{status}, 403, 'an admin may not (billing is the owner\'s)';
is req('POST', '/api/v1/billing/portal', $adm)->{status}, 403, '... nor open the portal';

$t->stripe_call('POST', '/_fail', { count => 1 });
my $n = $t->sql(q{SELECT count(*) AS n FROM audit_log WHERE company_id = ?}, $cid)->[0]{n};
$r = req('POST', '/api/v1/billing/checkout', undef, { plan => 'pro' });
is $r->{status}, 502, 'Stripe failing: 502';
is $r->{json}{code}, 'payment_provider_error', '... payment_provider_error';
unlike $r->{content}, qr/Stripe's end|api_error/, '... without the provider\'s words';
is $t->sql(q{SELECT count(*) AS n FROM audit_log WHERE company_id = ?}, $cid)->[0]{n}, $n, '... and nothing audited';

# --- the portal ----------------------------------------------------------------------------------
$r = req('POST', '/api/v1/billing/portal');
is $r->{status}, 409, 'the portal before any subscription: 409';
is $r->{json}{code}, 'no_customer', '... no_customer';
$t->sql(q{UPDATE companies SET stripe_customer_id = 'cus_PayCo', stripe_subscription_id = 'sub_PayCo', subscription_status = 'active', plan = 'pro' WHERE id = ?}, $cid);
$r = req('POST', '/api/v1/billing/portal');
is $r->{status}, 201, 'the portal for a customer';
like $r->{json}{url}, qr{^https://billing\.stripe\.com/p/session/}, '... Stripe\'s URL';
is calls()->[-1]{form}{customer}, 'cus_PayCo', '... for the company\'s customer';
is $t->sql(q{SELECT count(*) AS n FROM audit_log WHERE company_id = ? AND action = 'billing.portal'}, $cid)->[0]{n}, 1, '... audited';
$r = req('POST', '/api/v1/billing/checkout', undef, { plan => 'pro' });
is $r->{status}, 409, 'a second subscription while one is active: 409';
is $r->{json}{code}, 'subscription_exists', '... subscription_exists';
for my $st (qw(unpaid paused incomplete)) {
	$t->sql(q{UPDATE companies SET subscription_status = ? WHERE id = ?}, $st, $cid);
	is req('POST', '/api/v1/billing/checkout', undef, { plan => 'pro' })->{status}, 409, "... and while it is $st";
}
$t->sql(q{UPDATE companies SET subscription_status = 'canceled' WHERE id = ?}, $cid);
is req('POST', '/api/v1/billing/checkout', undef, { plan => 'pro' })->{status}, 201, 'once it is canceled, a new checkout';
is calls()->[-1]{form}{customer}, 'cus_PayCo', '... for the same customer';
$t->sql(q{UPDATE companies SET subscription_status = 'active' WHERE id = ?}, $cid);

# --- a tie: the subscription as Stripe has it decides ----------------------------------------------
my $k = 0;
sub event {
	my ($type, $object, $created) = @_;
	return JSON::PP->new->canonical->encode({ id => 'evt_tie' . ++$k, object => 'event', type => $type, created => $created,
	    data => { object => $object } });
}
sub deliver {
	my ($body) = @_;
	my $ts = time;
	$t->request('POST', '/api/v1/webhooks/stripe', body => $body, headers => { 'content-type' => 'application/json',
	    'stripe-signature' => "t=$ts,v1=" . hmac_sha256_hex("$ts.$body", $whsec) });
}
my $at = time;
my $sub = { id => 'sub_PayCo', object => 'subscription', customer => 'cus_PayCo' };
is deliver(event('customer.subscription.updated', { %$sub, status => 'active', metadata => { plan => 'enterprise' } }, $at))->{status},
    200, 'an update';
is $t->sql('SELECT plan FROM companies WHERE id = ?', $cid)->[0]{plan}, 'enterprise', '... applied';
my $before = scalar @{ calls() };
$t->stripe_call('POST', '/_subscriptions', { sub_PayCo => { %$sub, status => 'past_due', metadata => { plan => 'pro' } } });
$t->stripe_call('POST', '/_fail', { count => 1 });
my $tie = event('customer.subscription.updated', { %$sub, status => 'active', metadata => { plan => 'free' } }, $at);
$r = deliver($tie);
is $r->{status}, 503, 'a second event of the same second, Stripe unreachable: 503 (Stripe delivers it again)';
is $t->sql('SELECT plan FROM companies WHERE id = ?', $cid)->[0]{plan}, 'enterprise', '... nothing changed';
is $t->sql(q{SELECT count(*) AS n FROM stripe_events WHERE event_id = ?}, "evt_tie$k")->[0]{n}, 0, '... nor recorded';
$r = deliver($tie);
is $r->{status}, 200, 'delivered again';
my $get = (grep { $_->{method} eq 'GET' } @{ calls() })[-1];
is $get->{path}, '/v1/subscriptions/sub_PayCo', '... parley fetched the subscription from Stripe';
my $co = $t->sql('SELECT plan, subscription_status FROM companies WHERE id = ?', $cid)->[0];
is_deeply [@$co{qw(plan subscription_status)}], ['pro', 'past_due'], "... and applied Stripe's current state, not the event's";
is deliver(event('customer.subscription.updated', { %$sub, status => 'active', metadata => { plan => 'free' } }, $at - 5))->{status},
    200, 'an older event';
is $t->sql('SELECT plan FROM companies WHERE id = ?', $cid)->[0]{plan}, 'pro', '... still not applied, without asking Stripe';
unlike $t->slurp('parleyd.log'), qr/\Q@{[ $t->stripe_key ]}\E/, 'the key is in no log line';

done_testing;
