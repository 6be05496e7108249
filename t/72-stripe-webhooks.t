# Stripe's webhook: events signed the way Stripe's own libraries sign them
# ("{t}.{raw body}", HMAC-SHA256 keyed by the whsec_ secret as given, hex,
# in Stripe-Signature); everything else refused with 400 and no change;
# redeliveries change nothing; late subscription events do not roll back;
# effects audited with Stripe as the actor.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Digest::SHA qw(hmac_sha256_hex);
use ParleyTest;

my $secret = 'whsec_' . join('', map { ('a' .. 'z', 0 .. 9)[int rand 36] } 1 .. 32);
my $old = 'whsec_old' . join('', map { ('a' .. 'z')[int rand 26] } 1 .. 24);
my $t = ParleyTest->new(env => { PARLEY_STRIPE_WEBHOOK_SECRET => $secret, PARLEY_STRIPE_WEBHOOK_SECRET_PREVIOUS => $old });
$t->note_secrets({ stripe_secret => $secret, stripe_old_secret => $old });
my $pw = 'tangerine-orbit-velvet-42';
my $own = $t->signup(json => { email => 'bill@co.example', password => $pw,
    name => 'Bil Ling', company_name => 'Billing Co' })->{json};
my $cid = $own->{company}{id};
sub company { $t->sql('SELECT plan, stripe_customer_id, stripe_subscription_id, subscription_status, billing_state FROM companies WHERE id = ?', $cid)->[0] }
sub audits { $t->sql(q{SELECT count(*) AS n FROM audit_log WHERE company_id = ? AND actor_type = 'stripe'}, $cid)->[0]{n} }

my $n = 0;
sub event {
	my ($type, $object, %o) = @_;
	my $ev = { id => $o{id} // 'evt_test' . ++$n . 'x' . int(rand 1e9), object => 'event', type => $type,
	    created => $o{created} // time, livemode => JSON::PP::false, data => { object => $object } };
	return JSON::PP->new->canonical->encode($ev);
}
sub sign { my ($body, %o) = @_; my $ts = $o{ts} // time; "t=$ts,v1=" . hmac_sha256_hex("$ts.$body", $o{secret} // $secret) }
sub deliver {
	my ($body, $sig) = @_;
	return $t->request('POST', '/api/v1/webhooks/stripe', body => $body,
	    headers => { 'content-type' => 'application/json; charset=utf-8', defined $sig ? ('stripe-signature' => $sig) : () });
}

# --- checkout completes: the company's plan and customer ----------------------
my $checkout = event('checkout.session.completed', { id => 'cs_test_1', object => 'checkout.session',
    client_reference_id => $cid, customer => 'cus_Test123', subscription => 'sub_Test456', metadata => { plan => 'pro' } });
my $r = deliver($checkout, sign($checkout));
is $r->{status}, 200, 'a signed checkout.session.completed: 200';
is_deeply company(), { plan => 'pro', stripe_customer_id => 'cus_Test123', stripe_subscription_id => 'sub_Test456',
    subscription_status => 'active', billing_state => 'active' }, '... the company is on the pro plan, its customer known';
is audits(), 1, '... audited with Stripe as the actor';
is deliver($checkout, sign($checkout))->{status}, 200, 'the same event again: 200';
is audits(), 1, '... and nothing changes';
is $t->sql('SELECT count(*) AS n FROM stripe_events')->[0]{n}, 1, '... one event stored';

# --- refused: 400, nothing changes -------------------------------------------------
my $down = event('customer.subscription.deleted', { id => 'sub_Test456', object => 'subscription', customer => 'cus_Test123',
    status => 'canceled' });
my $ts = time;
my %bad = (
	'no signature' => undef,
	'a wrong secret' => sign($down, secret => 'whsec_wrong'),
	'the secret without whsec_ (decoded, as Stripe does not)' => sign($down, secret => substr($secret, 6)),
	'only v0' => "t=$ts,v0=" . hmac_sha256_hex("$ts.$down", $secret),
	'a timestamp over 300 s old' => sign($down, ts => time - 400),
	'a timestamp over 300 s ahead' => sign($down, ts => time + 400),
	'a signature of another body' => sign($down . ' '),
	'a malformed header' => 'v1=abc',
);
for my $k (sort keys %bad) {
	is deliver($down, $bad{$k})->{status}, 400, "$k: 400";
}
(my $reserialised = $down) =~ s/,/, /g;
is deliver($reserialised, sign($down))->{status}, 400, 'the same JSON re-serialised: 400 (the raw bytes are what is signed)';
is company()->{plan}, 'pro', 'nothing changed';
is audits(), 1, '... nothing audited';
is deliver($down, sign($down, secret => $old))->{status}, 200, 'the previous secret is still accepted (rotation)';
is company()->{plan}, 'free', 'subscription deleted: back to free';
is company()->{billing_state}, 'canceled', '... canceled';

# --- order: a late, older event does not roll back ------------------------------------
my $now = time;
my $upd = event('customer.subscription.updated', { id => 'sub_Test456', object => 'subscription', customer => 'cus_Test123',
    status => 'active', metadata => { plan => 'enterprise' } }, created => $now + 10);
is deliver($upd, sign($upd))->{status}, 200, 'a subscription update';
is company()->{plan}, 'enterprise', '... applied';
my $older = event('customer.subscription.updated', { id => 'sub_Test456', object => 'subscription', customer => 'cus_Test123',
    status => 'past_due', metadata => { plan => 'pro' } }, created => $now - 100);
is deliver($older, sign($older))->{status}, 200, 'an older update arriving late: 200';
is company()->{plan}, 'enterprise', '... but not applied';
is company()->{subscription_status}, 'active', '... status kept';
is $t->sql(q{SELECT applied FROM stripe_events WHERE created = ?}, $now - 100)->[0]{applied}, 0, '... recorded as not applied';

my $failed = event('invoice.payment_failed', { id => 'in_1', object => 'invoice', customer => 'cus_Test123' }, created => $now + 20);
deliver($failed, sign($failed));
is company()->{billing_state}, 'past_due', 'invoice.payment_failed: past due';
my $paid = event('invoice.paid', { id => 'in_2', object => 'invoice', customer => 'cus_Test123' }, created => $now + 30);
deliver($paid, sign($paid));
my $late = event('invoice.payment_failed', { id => 'in_0', object => 'invoice', customer => 'cus_Test123' }, created => $now + 25);
deliver($late, sign($late));
is company()->{billing_state}, 'active', 'a late payment failure (older than the last event) changes nothing';
deliver($paid, sign($paid));
is company()->{billing_state}, 'active', 'invoice.paid: active again';

# Someone else's checkout naming this company (client_reference_id is no
# secret): it may not take over a company billed to another customer.
my $hijack = event('checkout.session.completed', { id => 'cs_evil', object => 'checkout.session',
    client_reference_id => $cid, customer => 'cus_Attacker', subscription => 'sub_Evil', metadata => { plan => 'free' } },
    created => $now + 40);
is deliver($hijack, sign($hijack))->{status}, 200, "another customer's checkout naming this company: recorded";
is company()->{stripe_customer_id}, 'cus_Test123', '... but the company keeps its customer';
is company()->{plan}, 'enterprise', '... and its plan';
my $unknown = event('invoice.paid', { id => 'in_3', object => 'invoice', customer => 'cus_Nobody' });
is deliver($unknown, sign($unknown))->{status}, 204, "another customer's event: acknowledged, nothing done";
my $other = event('charge.refunded', { id => 'ch_1', object => 'charge', customer => 'cus_Test123' });
is deliver($other, sign($other))->{status}, 200, 'an event parley does not act on: recorded';
# A subscription's first event before the checkout's: its metadata (set
# by parley's Checkout) names the company, whose customer is bound then.
my $two = $t->signup(json => { email => 'two@co.example', password => $pw,
    name => 'Tw O', company_name => 'Second Co' })->{json}{company}{id};
my $early = event('customer.subscription.created', { id => 'sub_Early1', object => 'subscription', customer => 'cus_Early1',
    status => 'active', metadata => { plan => 'pro', company_id => $two } });
is deliver($early, sign($early))->{status}, 200, 'subscription.created before the checkout completed';
my $co2 = $t->sql('SELECT plan, stripe_customer_id FROM companies WHERE id = ?', $two)->[0];
is_deeply [@$co2{qw(plan stripe_customer_id)}], ['pro', 'cus_Early1'], '... applied to the company its metadata names, customer bound';
my $steal = event('customer.subscription.updated', { id => 'sub_Evil2', object => 'subscription', customer => 'cus_Attacker2',
    status => 'active', metadata => { plan => 'free', company_id => $two } });
deliver($steal, sign($steal));
is $t->sql('SELECT stripe_customer_id FROM companies WHERE id = ?', $two)->[0]{stripe_customer_id}, 'cus_Early1',
    "... and another customer's subscription naming it changes nothing";

# The checkout's event before its subscription's older one: the
# subscription's still applies (checkouts and invoices keep their own clock).
my $three = $t->signup(json => { email => 'three@co.example', password => $pw,
    name => 'Thr Ee', company_name => 'Third Co' })->{json}{company}{id};
my $t0 = time;
my $co3 = event('checkout.session.completed', { id => 'cs_3', object => 'checkout.session', client_reference_id => $three,
    customer => 'cus_Three', subscription => 'sub_Three1', metadata => { plan => 'pro' } }, created => $t0 + 1);
deliver($co3, sign($co3));
my $sc3 = event('customer.subscription.created', { id => 'sub_Three1', object => 'subscription', customer => 'cus_Three',
    status => 'trialing', metadata => { plan => 'pro', company_id => $three } }, created => $t0);
deliver($sc3, sign($sc3));
is $t->sql('SELECT subscription_status FROM companies WHERE id = ?', $three)->[0]{subscription_status}, 'trialing',
    "a subscription's event older than its checkout's still applies";
# Cancelled, then subscribed anew: the new subscription's events count
# (parley's Checkout named the company), the old one's no longer do.
my $del3 = event('customer.subscription.deleted', { id => 'sub_Three1', object => 'subscription', customer => 'cus_Three',
    status => 'canceled', metadata => { plan => 'pro', company_id => $three } }, created => $t0 + 10);
deliver($del3, sign($del3));
my $new3 = event('customer.subscription.created', { id => 'sub_Three2', object => 'subscription', customer => 'cus_Three',
    status => 'active', metadata => { plan => 'enterprise', company_id => $three } }, created => $t0 + 5);
deliver($new3, sign($new3));
my $c3 = $t->sql('SELECT plan, stripe_subscription_id, subscription_status FROM companies WHERE id = ?', $three)->[0];
is_deeply [@$c3{qw(plan stripe_subscription_id subscription_status)}], ['enterprise', 'sub_Three2', 'active'],
    'a new subscription after a cancellation applies, with a clock of its own';
my $old3 = event('customer.subscription.updated', { id => 'sub_Three1', object => 'subscription', customer => 'cus_Three',
    status => 'past_due', metadata => { plan => 'pro', company_id => $three } }, created => $t0 + 20);
deliver($old3, sign($old3));
is $t->sql('SELECT subscription_status FROM companies WHERE id = ?', $three)->[0]{subscription_status}, 'active',
    "... and the old subscription's late events no longer touch it";

my $e = $t->sql(q{SELECT actor_type, actor_id, action, changes::text AS c FROM audit_log WHERE company_id = ? AND actor_type = 'stripe' ORDER BY seq DESC LIMIT 1}, $cid)->[0];
like $e->{actor_id}, qr/^evt_/, 'audit entries name the Stripe event';
is $e->{action}, 'billing.update', '... billing.update';
unlike $t->slurp('parleyd.log'), qr/\Q$secret\E|\Q$old\E/, 'no secret in the log';

done_testing;
