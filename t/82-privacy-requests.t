# Data-subject requests, made by a company's admins: find one visitor by
# visitor id, the company's user id or e-mail; export all of it; rectify;
# restrict processing (no bot, no LLM, out of analytics); erase it
# (records, conversations, messages, consents, webhook copies), audited
# without the data. Another visitor and another company are untouched.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Digest::SHA qw(hmac_sha256_hex);
use ParleyTest;

my $t = ParleyTest->new(llm => 1, receiver => 1, env => { PARLEY_WEBHOOK_ALLOW_HTTP => 1, PARLEY_WEBHOOK_ALLOW_LOOPBACK => 1 });
my $pw = 'tangerine-orbit-velvet-42';
sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h, defined $j ? (json => $j) : ()) }
sub company {
	my ($tag) = @_;
	my $c = $t->register_company($tag, $pw);
	$c->{member} = $t->add_member($c, "mem\@$tag.example", 'member', $pw);
	$c->{bot} = req('POST', '/api/v1/chatbots', $c->{auth}, { name => 'Help', allowed_origins => ["https://$tag.example"] })->{json};
	$c->{tag} = $tag;
	return $c;
}
sub visitor {
	my ($c, $uid, $email) = @_;
	my $r = $t->post('/api/v1/widget/sessions', headers => { origin => "https://$c->{tag}.example" },
	    json => { bot_key => $c->{bot}{public_key}, identity => { user_id => $uid, email => $email, name => "Name $uid",
	    hmac => hmac_sha256_hex($uid, $c->{bot}{identity_secret}) } });
	die $r->{content} unless $r->{status} == 201;
	return { id => $r->{json}{visitor}{id}, h => { authorization => "Bearer $r->{json}{token}" } };
}
sub talk {
	my ($v, @texts) = @_;
	my $conv = req('POST', '/api/v1/widget/conversations', $v->{h})->{json}{id};
	my ($tok) = $v->{h}{authorization} =~ /^Bearer (.+)$/;
	$t->visitor_say($tok, $conv, $_) for @texts;
	return $conv;
}
my $A = company('alpha');
my $B = company('beta');
req('POST', '/api/v1/webhook-endpoints', $A->{auth}, { url => $t->receiver_url('/a'), events => ['*'] });
my $jane = visitor($A, 'cust-7', 'jane@buyer.example');
req('POST', '/api/v1/widget/consent', $jane->{h}, { categories => ['essential', 'analytics'], policy_version => '1' });
my $c1 = talk($jane, 'Where is my parcel?');
my $c2 = talk($jane, 'And my refund?');
# The same person on another device, found by address.
my $jane2 = visitor($A, 'cust-7b', 'JANE@buyer.example');
my $c3 = talk($jane2, 'Hello again');
my $bob = visitor($A, 'cust-9', 'bob@buyer.example');
my $cb = talk($bob, 'Bob asks');
my $other = visitor($B, 'cust-7', 'jane@other.example');
my $co = talk($other, 'Same id, other company');

# --- who may -------------------------------------------------------------------------------
is req('POST', '/api/v1/privacy/subject-export', $A->{member}, { email => 'jane@buyer.example' })->{status}, 403,
    'a member may not make subject requests';
my $r = req('POST', '/api/v1/privacy/subject-export', $A->{auth}, { email => 'jane@buyer.example', user_id => 'cust-7' });
is $r->{status}, 422, 'two identifiers at once: 422';
is req('POST', '/api/v1/privacy/subject-export', $A->{auth}, {})->{status}, 422, 'none: 422';
is req('POST', '/api/v1/privacy/subject-export', $A->{auth}, { email => 'not-an-address' })->{status}, 422, 'a malformed address: 422';

# --- export ----------------------------------------------------------------------------------
$r = req('POST', '/api/v1/privacy/subject-export', $A->{auth}, { email => 'jane@buyer.example' });
is $r->{status}, 200, 'export by e-mail address';
my @vs = @{ $r->{json}{visitors} };
is_deeply [sort map { $_->{id} } @vs], [sort $jane->{id}, $jane2->{id}], '... both of her visitor records (the address matched whatever its case)';
my ($v1) = grep { $_->{id} eq $jane->{id} } @vs;
is $v1->{user_id}, 'cust-7', '... with the user id';
is $v1->{name}, 'Name cust-7', '... the name';
is_deeply [sort @{ $v1->{consents}[0]{categories} }], ['analytics', 'essential'], '... her consent records';
is scalar @{ $v1->{conversations} }, 2, '... her conversations';
is $v1->{conversations}[0]{messages}[0]{content}, 'Where is my parcel?', '... with the messages';
ok !grep({ $_->{id} eq $bob->{id} } @vs), "... and nobody else's";
unlike $r->{content}, qr/Same id, other company/, "... nothing of another company's visitor with the same user id";
$r = req('POST', '/api/v1/privacy/subject-export', $A->{auth}, { user_id => 'cust-9' });
is_deeply [map { $_->{id} } @{ $r->{json}{visitors} }], [$bob->{id}], 'export by the company\'s user id';
$r = req('POST', '/api/v1/privacy/subject-export', $A->{auth}, { visitor_id => $jane2->{id} });
is_deeply [map { $_->{id} } @{ $r->{json}{visitors} }], [$jane2->{id}], 'export by visitor id';
my $e = $t->sql(q{SELECT changed_fields::text AS f, changes::text AS c, resource_id FROM audit_log WHERE company_id = ? AND action = 'privacy.subject_export' ORDER BY seq LIMIT 1}, $A->{id})->[0];
is $e->{f}, '["email"]', 'the export is audited with the identifier used';
is $e->{c}, '{"visitors": {"found": 2}}', '... and the number found';
unlike join(' ', map { $_ // '' } values %$e), qr/jane|buyer/, '... never the identifier itself';

# Many conversations and a long one: streamed a page at a time, whole.
my $heavy = visitor($A, 'cust-heavy', 'heavy@buyer.example');
$t->sql(q{INSERT INTO conversations (company_id, chatbot_id, visitor_id, created_at)
    SELECT ?, ?, ?, now() - g * interval '1 minute' FROM generate_series(1, 150) g}, $A->{id}, $A->{bot}{id}, $heavy->{id});
my $long = $t->sql(q{SELECT id FROM conversations WHERE visitor_id = ? ORDER BY created_at LIMIT 1}, $heavy->{id})->[0]{id};
$t->sql(q{INSERT INTO messages (company_id, conversation_id, seq, role, content)
    SELECT ?, ?, g, 'visitor', 'line ' || g FROM generate_series(1, 2500) g}, $A->{id}, $long);
$r = req('POST', '/api/v1/privacy/subject-export', $A->{auth}, { user_id => 'cust-heavy' });
is $r->{status}, 200, 'a heavy visitor exported';
my $hv = $r->{json}{visitors}[0];
is scalar @{ $hv->{conversations} }, 150, '... all 150 conversations (two pages)';
is $hv->{conversations}[0]{id}, $long, '... oldest first';
is_deeply [map { $_->{seq} } @{ $hv->{conversations}[0]{messages} }], [1 .. 2500], '... and 2500 messages in order (three pages)';
like ref $r->{headers}{'cache-control'} ? join(',', @{ $r->{headers}{'cache-control'} }) : $r->{headers}{'cache-control'},
    qr/no-store/, '... not to be cached';

# --- rectification and restriction -------------------------------------------------------------------
is req('PATCH', "/api/v1/visitors/$bob->{id}", $A->{member}, { name => 'Robert' })->{status}, 403, 'a member may not rectify';
is req('PATCH', "/api/v1/visitors/$other->{id}", $A->{auth}, { name => 'Robert' })->{status}, 404, "another company's visitor: 404";
$r = req('PATCH', "/api/v1/visitors/$bob->{id}", $A->{auth}, { name => 'Robert Example', email => 'robert@buyer.example' });
is $r->{status}, 200, 'an admin rectifies name and address';
is_deeply [@{ $r->{json} }{qw(name email)}], ['Robert Example', 'robert@buyer.example'], '... changed';
is req('PATCH', "/api/v1/visitors/$bob->{id}", $A->{auth}, { email => 'nope' })->{status}, 422, 'a malformed address: 422';
$t->llm_reset;
my $from = $t->sql(q{SELECT to_char(now() - interval '1 day', 'YYYY-MM-DD') AS d})->[0]{d};
my $to = $t->sql(q{SELECT to_char(now() + interval '1 day', 'YYYY-MM-DD') AS d})->[0]{d};
my $an = req('GET', "/api/v1/analytics/summary?from=$from&to=$to", $A->{auth})->{json};
$r = req('PATCH', "/api/v1/visitors/$bob->{id}", $A->{auth}, { restricted => JSON::PP::true });
is $r->{status}, 200, 'an admin restricts the processing of a visitor (Art. 18, 21)';
ok $r->{json}{restricted}, '... restricted';
is $t->sql(q{SELECT changes::text AS c FROM audit_log WHERE action = 'visitor.update' ORDER BY seq DESC LIMIT 1})->[0]{c},
    '{"restricted": {"new": true, "old": false}}', '... audited';
$r = $t->visitor_say(($bob->{h}{authorization} =~ /^Bearer (.+)$/)[0], $cb, 'Please answer');
is $r->{status}, 201, 'the visitor still writes';
is $r->{json}{status}, 'pending', '... and the conversation goes to a human';
is $t->sql('SELECT handoff_reason FROM conversations WHERE id = ?', $cb)->[0]{handoff_reason}, 'restricted', '... reason restricted';
is scalar @{ $t->llm_requests }, 0, '... the LLM was not asked';
is req('POST', "/api/v1/conversations/$cb/suggest", $A->{auth})->{json}{code}, 'processing_restricted',
    'an agent gets no LLM draft for it either';
my $an2 = req('GET', "/api/v1/analytics/summary?from=$from&to=$to", $A->{auth})->{json};
is $an2->{conversations}, $an->{conversations} - 1, "the visitor's conversations leave the analytics";
req('PATCH', "/api/v1/visitors/$bob->{id}", $A->{auth}, { restricted => JSON::PP::false });
is req('GET', "/api/v1/analytics/summary?from=$from&to=$to", $A->{auth})->{json}{conversations}, $an->{conversations},
    '... and come back when the restriction is lifted';

# --- a conversation deleted takes its webhook copies along -------------------------------------------------
ParleyTest::wait_for(sub { $t->sql(q{SELECT count(*) AS n FROM webhook_deliveries WHERE payload->'data'->>'conversation_id' = ?}, $cb)->[0]{n} },
    "webhook copies of Bob's conversation");
is req('DELETE', "/api/v1/conversations/$cb", $A->{auth})->{status}, 204, "an admin deletes Bob's conversation";
is $t->sql(q{SELECT count(*) AS n FROM webhook_deliveries WHERE payload->'data'->>'conversation_id' = ? OR payload->'data'->>'id' = ?}, $cb, $cb)->[0]{n},
    0, '... and the copies of it in webhook deliveries';

# --- erasure ---------------------------------------------------------------------------------------------
ParleyTest::wait_for(sub { $t->sql(q{SELECT count(*) AS n FROM webhook_deliveries WHERE payload->'data'->>'conversation_id' = ?}, $c1)->[0]{n} },
    'webhook copies of her conversation');
$r = req('POST', '/api/v1/privacy/subject-erasure', $A->{auth}, { email => 'jane@buyer.example' });
is $r->{status}, 200, 'erasure by e-mail address';
is_deeply [@{ $r->{json} }{qw(visitors conversations)}], [2, 3], '... two visitor records, three conversations';
cmp_ok $r->{json}{messages}, '>=', 3, "... $r->{json}{messages} messages";
cmp_ok $r->{json}{webhook_deliveries}, '>=', 1, "... and $r->{json}{webhook_deliveries} webhook copies";
is $t->sql(q{SELECT count(*) AS n FROM visitors WHERE id IN (?, ?)}, $jane->{id}, $jane2->{id})->[0]{n}, 0, 'her records are gone';
is $t->sql(q{SELECT count(*) AS n FROM conversations WHERE id IN (?, ?, ?)}, $c1, $c2, $c3)->[0]{n}, 0, '... her conversations';
is $t->sql(q{SELECT count(*) AS n FROM messages WHERE conversation_id IN (?, ?, ?)}, $c1, $c2, $c3)->[0]{n}, 0, '... her messages';
is $t->sql(q{SELECT count(*) AS n FROM consents WHERE visitor_id = ?}, $jane->{id})->[0]{n}, 0, '... her consent records';
is $t->sql(q{SELECT count(*) AS n FROM webhook_deliveries WHERE payload::text LIKE '%parcel%'})->[0]{n}, 0, '... and the copies of her words';
is $t->sql(q{SELECT count(*) AS n FROM visitors WHERE id = ?}, $bob->{id})->[0]{n}, 1, "Bob stays";
is $t->sql(q{SELECT count(*) AS n FROM conversations WHERE id = ?}, $co)->[0]{n}, 1, "... and the other company's conversation";
$e = $t->sql(q{SELECT changed_fields::text AS f, changes::text AS c FROM audit_log WHERE action = 'privacy.subject_erasure'})->[0];
is $e->{f}, '["email"]', 'the erasure is audited with the identifier used';
like $e->{c}, qr/"visitors": \{"erased": 2\}/, '... and the counts';
my $pgbin = $t->pg->{bin};
my $dump = `'$pgbin/pg_dump' --data-only -d '@{[ $t->pg->conninfo($t->dbname, 'postgres') ]}' 2>/dev/null`;
my @left = grep { $dump =~ /\Q$_\E/ } ('jane@buyer.example', 'JANE@buyer.example', 'cust-7b', 'Where is my parcel', 'And my refund');
is_deeply \@left, [], 'a dump of the database holds nothing of her';
is req('POST', '/api/v1/privacy/subject-erasure', $A->{auth}, { email => 'jane@buyer.example' })->{json}{visitors}, 0,
    'erasing again finds nothing';

done_testing;
