# The visitor side with no LLM provider configured: sessions only for the
# chatbot's allowed origins (CORS answered only for those), verified
# visitors by HMAC, conversations reachable only by their visitor, the
# offline responder answering from the knowledge base with a citation,
# handoff to a human, message limits.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Digest::SHA qw(hmac_sha256_hex);
use ParleyTest;

my $t = ParleyTest->new(env => { PARLEY_WIDGET_MESSAGE_RATE => 10, PARLEY_WIDGET_SESSION_RATE => 40 });
my $pw = 'tangerine-orbit-velvet-42';
sub company {
	my ($n) = @_;
	my $o = $t->signup(headers => { 'x-forwarded-for' => "203.0.113.$n" },
	    json => { email => "w$n\@co$n.example", password => $pw, name => 'Wi Dget', company_name => "Widget $n" })->{json};
	return { %$o, auth => { authorization => "Bearer $o->{access_token}" } };
}
my $a = company(1);
my $b = company(2);
sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h, defined $j ? (json => $j) : ()) }

my $bot = req('POST', '/api/v1/chatbots', $a->{auth}, { name => 'Help', welcome_message => 'Hello there',
    allowed_origins => ['https://shop.example'] })->{json};
req('POST', "/api/v1/chatbots/$bot->{id}/documents", $a->{auth}, { title => 'Returns policy', content_type => 'text/plain',
    content => "Returns are free within 30 days of delivery. Send the parcel back with the label in the box.",
    source_url => 'https://shop.example/returns' });
req('POST', "/api/v1/chatbots/$bot->{id}/documents", $a->{auth}, { title => 'Shipping', content_type => 'text/plain',
    content => "Orders ship within 3 business days. Express shipping costs 9 euros." });
my $bbot = req('POST', '/api/v1/chatbots', $b->{auth}, { name => 'B', allowed_origins => ['https://b.example'] })->{json};

my $shop = { origin => 'https://shop.example' };
sub session {
	my ($key, $hdr, %o) = @_;
	return $t->post('/api/v1/widget/sessions', headers => $hdr, json => { bot_key => $key, %o });
}

# --- CORS and origins ---------------------------------------------------
my $r = req('OPTIONS', '/api/v1/widget/sessions', { %$shop, 'access-control-request-method' => 'POST',
    'access-control-request-headers' => 'content-type' });
is $r->{status}, 204, 'preflight from an allowed origin: 204';
is $r->{headers}{'access-control-allow-origin'}, 'https://shop.example', '... allowing that origin';
like $r->{headers}{'access-control-allow-headers'}, qr/content-type/i, '... and Content-Type';
ok !exists $r->{headers}{'access-control-allow-credentials'}, '... never with credentials';
$r = req('OPTIONS', '/api/v1/widget/sessions', { origin => 'https://evil.example' });
is $r->{status}, 403, 'preflight from any other origin: 403';
ok !exists $r->{headers}{'access-control-allow-origin'}, '... with no CORS header';

$r = session($bot->{public_key}, $shop);
is $r->{status}, 201, 'a session from an allowed origin';
is $r->{headers}{'access-control-allow-origin'}, 'https://shop.example', '... readable by that origin';
like $r->{headers}{vary}, qr/Origin/, '... Vary: Origin';
is $r->{json}{chatbot}{welcome_message}, 'Hello there', '... with the welcome message';
ok !$r->{json}{visitor}{verified}, '... an anonymous visitor';
my $v1 = { authorization => "Bearer $r->{json}{token}" };
for my $o ('https://evil.example', 'https://shop.example.evil.example', 'http://shop.example', 'https://shop.example:443', 'null') {
	$r = session($bot->{public_key}, { origin => $o });
	is $r->{status}, 403, "Origin $o: 403";
	ok !exists $r->{headers}{'access-control-allow-origin'}, '... no CORS header';
}
is session($bot->{public_key}, {})->{status}, 403, 'no Origin: 403';
is session($bbot->{public_key}, $shop)->{status}, 403, "another company's chatbot from this origin: 403";
is session('pk_' . ('0' x 32), $shop)->{json}{code}, 'origin_not_allowed', 'an unknown key: the same answer';
is session('nonsense', $shop)->{status}, 422, 'a malformed key: 422';
my $visitors = $t->sql('SELECT count(*) AS n FROM visitors')->[0]{n};
is $visitors, 1, 'refused sessions created no visitor';

# --- verified visitors --------------------------------------------------
my $secret = $bot->{identity_secret};
my $id = { user_id => 'cust-42', email => 'carla@buyer.example', name => 'Carla' };
$r = session($bot->{public_key}, $shop, identity => { %$id, hmac => hmac_sha256_hex('cust-42', $secret) });
is $r->{status}, 201, 'a visitor with a valid HMAC of the user id';
ok $r->{json}{visitor}{verified}, '... is verified';
my $first_verified = $r->{json}{visitor}{id};
my $vv = { authorization => "Bearer $r->{json}{token}" };
my $row = $t->sql('SELECT external_id, email, verified FROM visitors WHERE id = ?', $r->{json}{visitor}{id})->[0];
is $row->{external_id}, 'cust-42', '... linked to the customer id';
$r = session($bot->{public_key}, $shop, identity => { %$id, hmac => hmac_sha256_hex('cust-43', $secret) });
is $r->{status}, 403, 'an HMAC of another user id: 403';
is $r->{json}{code}, 'identity_invalid', '... identity_invalid';
is session($bot->{public_key}, $shop, identity => { %$id, hmac => hmac_sha256_hex('cust-42', 'wrong') })->{status}, 403,
    'an HMAC under another secret: 403';
is session($bot->{public_key}, $shop, identity => { %$id, hmac => 'zz' x 32 })->{status}, 422, 'a malformed HMAC: 422';
$r = session($bot->{public_key}, $shop, identity => { %$id, hmac => hmac_sha256_hex('cust-42', $secret) });
is $r->{json}{visitor}{id}, $first_verified, 'the same customer is the same visitor next time';

req('PATCH', "/api/v1/chatbots/$bot->{id}", $a->{auth}, { require_verified => JSON::PP::true });
$r = session($bot->{public_key}, $shop);
is $r->{status}, 403, 'verification required: an anonymous visitor gets no session';
is $r->{json}{code}, 'verification_required', '... verification_required';
$r = req('POST', '/api/v1/widget/conversations', $v1);
is $r->{status}, 403, '... and an anonymous token issued before is refused on every widget endpoint';
is req('GET', '/api/v1/widget/conversations', $v1)->{json}{code}, 'verification_required', '... reads too';
is req('POST', '/api/v1/widget/conversations', $vv)->{status}, 201, '... a verified visitor goes on';
# A body-less action takes what most HTTP clients send with a POST.
is $t->request('POST', '/api/v1/widget/conversations', headers => $vv, json => {})->{status}, 201, '... with {} as its body too';
is $t->request('POST', '/api/v1/widget/conversations', headers => $vv, body => 'null',
    )->{status}, 201, '... or null';
is $t->request('POST', '/api/v1/widget/conversations', headers => $vv, json => { topic => 'x' })->{json}{code},
    'body_not_allowed', '... but not a body that says something';
req('PATCH', "/api/v1/chatbots/$bot->{id}", $a->{auth}, { require_verified => JSON::PP::false });

# --- conversations and the offline responder ----------------------------
$r = req('POST', '/api/v1/widget/conversations', $v1);
is $r->{status}, 201, 'a visitor starts a conversation';
my $conv = $r->{json}{id};
is $r->{json}{status}, 'bot', '... the bot answers it';
my $msgs = "/api/v1/widget/conversations/$conv/messages";
# A visitor's message is stored at once; an answerer writes the reply.
sub say_ { my ($v, $c, $text) = @_; my ($tok) = $v->{authorization} =~ /^Bearer (.+)$/; $t->visitor_say($tok, $c, $text) }
$r = req('POST', $msgs, $v1, { content => 'How do returns work? Are they free?' });
is $r->{status}, 201, 'a message is accepted at once';
is $r->{json}{reply}, undef, '... with no reply in the answer';
is $r->{json}{reply_status}, 'queued', '... which is queued for an answerer';
my $first = $r->{json}{message};
$t->wait_for_reply($first->{id});
$r = req('GET', "$msgs?after=1", $v1);
$r->{json}{reply} = $r->{json}{items}[0];
$r->{json}{message} = $first;
$r->{status} = 201;
$r->{json}{status} = 'bot';
is $r->{status}, 201, 'a message';
is $r->{json}{message}{role}, 'visitor', '... stored';
is $r->{json}{message}{seq}, 1, '... numbered';
like $r->{json}{reply}{content}, qr/Returns are free within 30 days/, 'the offline responder answers from the best passage';
is $r->{json}{reply}{citations}[0]{title}, 'Returns policy', '... citing it';
is $r->{json}{reply}{citations}[0]{source_url}, 'https://shop.example/returns', '... with its link';
is $r->{json}{reply}{reply_to}, $first->{id}, '... naming the message it answers';
is $r->{json}{status}, 'bot', '... and keeps the conversation';
$r = say_($v1, $conv, 'How much is express shipping?');
like $r->{json}{reply}{content}, qr/Express shipping costs 9 euros/, 'another question, another passage';
$r = say_($v1, $conv, 'Quantum chromodynamics?');
is $r->{json}{status}, 'pending', 'no passage: handed to a human';
is $t->sql('SELECT handoff_reason FROM conversations WHERE id = ?', $conv)->[0]{handoff_reason}, 'no_answer', '... for no_answer';
$r = say_($v1, $conv, 'Still there?');
is $r->{json}{reply}, undef, 'while a human has it the bot stays quiet';
is $r->{json}{reply_status}, 'none', '... and no reply is queued';
$r = req('GET', "$msgs?after=2", $v1);
is_deeply [map { $_->{seq} } @{ $r->{json}{items} }], [3 .. 7], 'messages after a number';
is req('GET', "$msgs?after=x", $v1)->{status}, 400, 'a malformed after: 400';

my $c2 = req('POST', '/api/v1/widget/conversations', $v1)->{json}{id};
$r = say_($v1, $c2, 'I want to talk to a human please');
is $r->{json}{status}, 'pending', 'asking for a human hands over';
like $r->{json}{reply}{content}, qr/person from our team/, '... and says so';
is $t->sql('SELECT handoff_reason FROM conversations WHERE id = ?', $c2)->[0]{handoff_reason}, 'visitor_request', '... visitor_request';
my $c3 = req('POST', '/api/v1/widget/conversations', $v1)->{json}{id};
$r = req('POST', "/api/v1/widget/conversations/$c3/handoff", $v1);
is $r->{json}{status}, 'pending', 'the widget button hands over too';

is scalar @{ req('GET', '/api/v1/widget/conversations', $v1)->{json}{items} }, 3, 'the visitor lists its conversations';

# --- boundaries ---------------------------------------------------------
my $other = { authorization => 'Bearer ' . session($bot->{public_key}, $shop)->{json}{token} };
is req('GET', $msgs, $other)->{status}, 404, "another visitor cannot read this conversation";
is req('POST', $msgs, $other, { content => 'hi' })->{status}, 404, '... nor write to it';
is req('POST', "/api/v1/widget/conversations/$conv/handoff", $other)->{status}, 404, '... nor hand it over';
is scalar @{ req('GET', '/api/v1/widget/conversations', $other)->{json}{items} }, 0, '... nor list it';
my $bv = { authorization => 'Bearer ' . session($bbot->{public_key}, { origin => 'https://b.example' })->{json}{token} };
is req('GET', $msgs, $bv)->{status}, 404, "another company's visitor cannot either";
is req('GET', $msgs, $a->{auth})->{status}, 401, 'a user token is no visitor token';
is req('GET', '/api/v1/conversations', $v1)->{status}, 401, 'a visitor token is no user token';
is req('GET', $msgs, { authorization => 'Bearer x.y.z' })->{status}, 401, 'a forged token: 401';

my $max = 2000;
$r = req('POST', $msgs, $v1, { content => 'x' x ($max + 1) });
is $r->{status}, 422, 'a message over widget_message_max: 422';
is req('POST', $msgs, $v1, { content => "  \n " })->{status}, 422, 'an empty message: 422';
is req('POST', $msgs, $v1, { content => 42 })->{status}, 422, 'a non-string: 422';
my $n = $t->sql('SELECT count(*) AS n FROM messages WHERE conversation_id = ?', $conv)->[0]{n};
is $n, 7, 'refused messages stored nothing';

# Per-visitor message rate (PARLEY_WIDGET_MESSAGE_RATE=10 per minute).
my $rv = { authorization => 'Bearer ' . session($bot->{public_key}, $shop)->{json}{token} };
my $rc = req('POST', '/api/v1/widget/conversations', $rv)->{json}{id};
# The window is a fixed minute: the run may straddle two of them, so up
# to twenty may pass before the first refusal, never more.
my ($accepted, $limited_r) = (0, undef);
for (1 .. 21) {
	my $x = req('POST', "/api/v1/widget/conversations/$rc/messages", $rv, { content => "shipping $_" });
	if ($x->{status} == 429) { $limited_r = $x; last }
	$accepted++ if $x->{status} == 201;
}
ok $limited_r, "messages beyond the budget: 429 (after $accepted accepted)";
ok $accepted >= 10 && $accepted <= 20, '... not before the budget was spent, nor long after';
ok $limited_r && $limited_r->{headers}{'retry-after'}, '... with Retry-After';
is req('GET', "/api/v1/widget/conversations/$rc/messages", $rv)->{status}, 200, 'reading is not limited by it';

# Per-address session rate.
my $limited = 0;
for (1 .. 45) {
	$r = session($bot->{public_key}, $shop);
	if ($r->{status} == 429) { $limited = 1; last }
}
ok $limited, 'sessions per address are limited (widget_session_rate)';

done_testing;
