# Deletion: DELETE /api/v1/company (owner; password, TOTP, the company's
# name) cancels the Stripe subscription and hard-deletes every row of the
# company in every table — a walk of the catalog finds none — leaving a
# tombstone, with every token dead at once; DELETE of a chatbot and of a
# conversation hard-delete what hangs off them. Another company is
# untouched throughout.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Digest::SHA qw(hmac_sha256_hex);
use MIME::Base64 qw(decode_base64);
use ParleyTest;

my $t = ParleyTest->new(stripe => 1, env => { PARLEY_WEBHOOK_ALLOW_HTTP => 1, PARLEY_LOGIN_MAX_PER_ACCOUNT => 100 });
my $pw = 'tangerine-orbit-velvet-42';
sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h, defined $j ? (json => $j) : ()) }
sub company {
	my ($tag) = @_;
	my $c = $t->register_company($tag, $pw);
	# Subscribed first, so the members' arrival makes deliveries.
	req('POST', '/api/v1/webhook-endpoints', $c->{auth}, { url => "https://hooks.$tag.example/in", events => ['member.*'] });
	$c->{$_} = $t->add_member($c, "$_\@$tag.example", $_, $pw) for qw(admin member);
	my $a = $c->{auth};
	$c->{key} = req('POST', '/api/v1/api-keys', $a, { name => 'k', scopes => ['conversations:read'] })->{json}{key};
	req('POST', '/api/v1/invitations', $a, { email => "guest\@$tag.example", role => 'member' });
	req('POST', '/api/v1/templates', $a, { name => 'hi', body => 'Hello!' });
	req('PUT', '/api/v1/company/llm', $a, { api_key => "sk-$tag-" . ('x' x 20) });
	my $bot = req('POST', '/api/v1/chatbots', $a, { name => 'Help', allowed_origins => ["https://$tag.example"] })->{json};
	$c->{bot} = $bot->{id};
	$c->{doc} = req('POST', "/api/v1/chatbots/$bot->{id}/documents", $a,
	    { title => 'Seeds', content_type => 'text/plain', content => 'We sell seeds. Delivery takes two days.' })->{json}{id};
	for my $i (1 .. 2) {
		my $r = $t->post('/api/v1/widget/sessions', headers => { origin => "https://$tag.example" },
		    json => { bot_key => $bot->{public_key}, identity => { user_id => "u$i", email => "v$i\@$tag.example", name => "Vi $i",
		    hmac => hmac_sha256_hex("u$i", $bot->{identity_secret}) } });
		my $v = { authorization => "Bearer $r->{json}{token}" };
		req('POST', '/api/v1/widget/consent', $v, { categories => ['essential'], policy_version => '1' });
		my $conv = req('POST', '/api/v1/widget/conversations', $v)->{json}{id};
		my $m = req('POST', "/api/v1/widget/conversations/$conv/messages", { %$v, 'idempotency-key' => "k$i" },
		    { content => "Do you sell seeds? ($tag $i)" })->{json}{message};
		$t->wait_for_reply($m->{id});
		push @{ $c->{convs} }, $conv;
	}
	# A draft for an agent, and a reply still owed (a job in the queue).
	req('POST', "/api/v1/conversations/$c->{convs}[0]/suggest", $a);
	$t->sql(q{INSERT INTO reply_jobs (company_id, conversation_id, kind, message_id, state, owner, lease_until)
	    VALUES (?, ?, 'reply', gen_random_uuid(), 'running', 'elsewhere', now() + interval '1 hour')}, $c->{id}, $c->{convs}[1]);
	# What Stripe, the retention sweep and the LLM would have left.
	$t->sql(q{INSERT INTO stripe_events (event_id, company_id, type, created, applied) VALUES (?, ?, 'invoice.paid', 1, true)},
	    "evt_$tag", $c->{id});
	$t->sql(q{INSERT INTO conversation_stats (company_id, conversation_id, created_at, last_message_at, status, message_count, tokens)
	    VALUES (?, gen_random_uuid(), now(), now(), 'resolved', 3, 10)}, $c->{id});
	$t->sql(q{INSERT INTO llm_usage (company_id, chatbot_id, month, shard, tokens, requests) VALUES (?, ?, date_trunc('month', now())::date, 0, 5, 1)},
	    $c->{id}, $c->{bot});
	return $c;
}
my $A = company('alpha');
my $B = company('beta');

# Every table with a company's rows, from the catalog: name => count.
sub rows_of {
	my ($cid) = @_;
	my %n;
	for my $tbl (map { $_->{table_name} } @{ $t->sql(q{SELECT table_name FROM information_schema.columns
	    WHERE table_schema = 'public' AND column_name = 'company_id' ORDER BY table_name}) }) {
		$n{$tbl} = $t->sql(qq{SELECT count(*) AS n FROM "$tbl" WHERE company_id = ?}, $cid)->[0]{n};
	}
	$n{companies} = $t->sql('SELECT count(*) AS n FROM companies WHERE id = ?', $cid)->[0]{n};
	return \%n;
}
my $before_a = rows_of($A->{id});
my $before_b = rows_of($B->{id});
my @empty = grep { !$before_a->{$_} } sort keys %$before_a;
diag 'tables without rows of the company before deletion: ' . join(', ', @empty) if @empty;
cmp_ok scalar(grep { $before_a->{$_} } keys %$before_a), '>=', 25, 'the company has rows in at least 25 tables';

# --- a conversation ---------------------------------------------------------------------
my $conv = $A->{convs}[0];
is req('DELETE', "/api/v1/conversations/$conv", $A->{member})->{status}, 403, 'a member may not delete a conversation';
is req('DELETE', "/api/v1/conversations/$B->{convs}[0]", $A->{admin})->{status}, 404, "another company's: 404";
is req('DELETE', "/api/v1/conversations/$conv", $A->{admin})->{status}, 204, 'an admin deletes one';
is $t->sql('SELECT count(*) AS n FROM messages WHERE conversation_id = ?', $conv)->[0]{n}, 0, '... with its messages';
is $t->sql(q{SELECT count(*) AS n FROM audit_log WHERE company_id = ? AND action = 'conversation.delete' AND resource_id = ?}, $A->{id}, $conv)->[0]{n},
    1, '... audited';
is req('DELETE', "/api/v1/conversations/$conv", $A->{admin})->{status}, 404, '... and gone';

# --- a chatbot ------------------------------------------------------------------------------
my $bot2 = req('POST', '/api/v1/chatbots', $B->{auth}, { name => 'Second', allowed_origins => ['https://beta.example'] })->{json};
req('POST', "/api/v1/chatbots/$bot2->{id}/documents", $B->{auth}, { title => 'X', content_type => 'text/plain', content => 'Some text here.' });
my $vt = $t->post('/api/v1/widget/sessions', headers => { origin => 'https://beta.example' }, json => { bot_key => $bot2->{public_key} })->{json}{token};
my $c2 = req('POST', '/api/v1/widget/conversations', { authorization => "Bearer $vt" })->{json}{id};
req('POST', "/api/v1/widget/conversations/$c2/messages", { authorization => "Bearer $vt" }, { content => 'Hello there' });
is req('DELETE', "/api/v1/chatbots/$bot2->{id}", $B->{auth})->{status}, 204, 'a chatbot deleted';
my $left = $t->sql(q{SELECT (SELECT count(*) FROM kb_documents WHERE chatbot_id = $1) + (SELECT count(*) FROM kb_chunks WHERE chatbot_id = $1)
    + (SELECT count(*) FROM conversations WHERE chatbot_id = $1) + (SELECT count(*) FROM visitors WHERE chatbot_id = $1)
    + (SELECT count(*) FROM messages WHERE conversation_id = $2) + (SELECT count(*) FROM consents WHERE chatbot_id = $1) AS n}, $bot2->{id}, $c2)->[0]{n};
is $left, 0, '... its documents, chunks, conversations, messages, visitors and consents with it';
$before_b = rows_of($B->{id});

# --- the company: refusals change nothing --------------------------------------------------------
my $body = { password => $pw, confirm_name => $A->{name} };
is req('DELETE', '/api/v1/company', $A->{admin}, $body)->{status}, 403, 'an admin may not delete the company';
is req('DELETE', '/api/v1/company', $A->{auth}, { confirm_name => $A->{name} })->{json}{code}, 'reauth_failed',
    'no password, of an account that has one: 403 reauth_failed';
my $r = req('DELETE', '/api/v1/company', $A->{auth}, { %$body, password => 'wrong-password-entirely' });
is $r->{status}, 403, 'a wrong password: 403';
is $r->{json}{code}, 'reauth_failed', '... reauth_failed';
$r = req('DELETE', '/api/v1/company', $A->{auth}, { %$body, confirm_name => 'Co alpha ' });
is $r->{status}, 422, "not exactly the company's name: 422";
is $r->{json}{errors}[0]{field}, 'confirm_name', '... naming confirm_name';
# Two-factor authentication on: a code is needed too.
my $secret = req('POST', '/api/v1/auth/mfa/totp/setup', $A->{auth})->{json}{secret};
sub totp {
	my ($b32, $off) = @_;
	my %v; @v{ 'A' .. 'Z', 2 .. 7 } = 0 .. 31;
	my $bits = join '', map { sprintf '%05b', $v{$_} } split //, uc $b32;
	my $key = pack 'B*', substr($bits, 0, length($bits) - length($bits) % 8);
	my $msg = pack 'NN', 0, int(time / 30) + ($off // 0);
	my $h = Digest::SHA::hmac_sha1($msg, $key);
	my $o = ord(substr $h, -1) & 0xf;
	return sprintf '%06d', (unpack('N', substr $h, $o, 4) & 0x7fffffff) % 1000000;
}
is req('POST', '/api/v1/auth/mfa/totp/enable', $A->{auth}, { code => totp($secret) })->{status}, 200, 'the owner turns TOTP on';
$r = req('DELETE', '/api/v1/company', $A->{auth}, $body);
is $r->{status}, 403, 'password alone, TOTP on: 403';
is $r->{json}{code}, 'mfa_code_required', '... mfa_code_required';
is req('DELETE', '/api/v1/company', $A->{auth}, { %$body, code => '000000' })->{json}{code}, 'reauth_failed', 'a wrong code: reauth_failed';
# A subscription at Stripe, and Stripe failing.
$t->sql(q{UPDATE companies SET stripe_customer_id = 'cus_Alpha', stripe_subscription_id = 'sub_Alpha', subscription_status = 'active' WHERE id = ?}, $A->{id});
$r = req('DELETE', '/api/v1/company', $A->{auth}, { %$body, code => totp($secret, 1) });
is $r->{status}, 409, 'a live subscription and no Stripe key: 409';
is $r->{json}{code}, 'subscription_active', '... subscription_active';
{
	local @ENV{qw(PARLEY_CONFIG PARLEY_JWT_KEY_FILE PARLEY_AUDIT_KEY_FILE PARLEY_KEYRING_FILE PARLEY_ADMIN_DATABASE_URL)} =
	    ('', $t->dir . '/jwt.key', $t->dir . '/audit.key', $t->dir . '/keyring', $t->pg->conninfo($t->dbname, 'postgres'));
	my $ctl = ParleyTest->builddir . '/parleyctl';
	my $k = $t->stripe_key;
	system("printf '%s\\n' '$k' | '$ctl' secret set stripe_secret_key >/dev/null 2>&1") == 0 or die 'secret set';
}
sub set_key {
	my ($k) = @_;
	local @ENV{qw(PARLEY_CONFIG PARLEY_JWT_KEY_FILE PARLEY_AUDIT_KEY_FILE PARLEY_KEYRING_FILE PARLEY_ADMIN_DATABASE_URL)} =
	    ('', $t->dir . '/jwt.key', $t->dir . '/audit.key', $t->dir . '/keyring', $t->pg->conninfo($t->dbname, 'postgres'));
	my $ctl = ParleyTest->builddir . '/parleyctl';
	system("printf '%s\\n' '$k' | '$ctl' secret set stripe_secret_key >/dev/null 2>&1") == 0 or die 'secret set';
}
set_key('sk_test_' . ('R' x 30));
$t->sql(q{UPDATE users SET totp_last_step = 0 WHERE id = ?}, $A->{user});
$r = req('DELETE', '/api/v1/company', $A->{auth}, { %$body, code => totp($secret) });
is $r->{status}, 502, 'a revoked Stripe key (401 from Stripe): 502, not taken for a cancelled subscription';
is rows_of($A->{id})->{companies}, 1, '... and nothing was deleted';
set_key($t->stripe_key);
$t->stripe_call('POST', '/_subscriptions', { sub_Alpha => { id => 'sub_Alpha', object => 'subscription', status => 'active' } });
$t->stripe_call('POST', '/_fail', { count => 1 });
$t->sql(q{UPDATE users SET totp_last_step = 0 WHERE id = ?}, $A->{user}); # each code once: a test's shortcut
$r = req('DELETE', '/api/v1/company', $A->{auth}, { %$body, code => totp($secret) });
is $r->{status}, 502, 'Stripe failing to cancel: 502';
my $now_a = rows_of($A->{id});
is $now_a->{companies}, 1, '... and nothing was deleted';

# --- the deletion -------------------------------------------------------------------------------------
$t->sql(q{UPDATE users SET totp_last_step = 0 WHERE id = ?}, $A->{user});
$r = req('DELETE', '/api/v1/company', $A->{auth}, { %$body, code => totp($secret) });
is $r->{status}, 204, 'the owner deletes the company (password, TOTP code, its name)';
my $cancel = (grep { $_->{method} eq 'DELETE' } @{ $t->stripe_call('GET', '/_requests') })[-1];
is $cancel->{path}, '/v1/subscriptions/sub_Alpha', 'the Stripe subscription was cancelled through the API';
my $after = rows_of($A->{id});
my @left = grep { $after->{$_} && $_ ne 'company_tombstones' } sort keys %$after;
is_deeply \@left, [], 'no table holds a row of the company (walked from the catalog: ' . scalar(keys %$after) . ' tables)';
is $after->{company_tombstones}, 1, 'only a tombstone';
is_deeply [sort keys %{ $t->sql('SELECT * FROM company_tombstones WHERE company_id = ?', $A->{id})->[0] }], ['company_id', 'deleted_at'],
    '... holding the id and the time, nothing else';
# (Its webhook deliveries to a host that does not exist keep failing in
# the background: their attempt rows are not compared.)
my $now_b = rows_of($B->{id});
delete $_->{webhook_attempts} for $now_b, $before_b;
is_deeply $now_b, $before_b, 'the other company is untouched, table by table';
# Nothing of it anywhere in a dump but the tombstone.
my $pgbin = $t->pg->{bin};
my $dump = `'$pgbin/pg_dump' --data-only -d '@{[ $t->pg->conninfo($t->dbname, 'postgres') ]}' 2>/dev/null`;
my @mentions = ($dump =~ /\Q$A->{id}\E/g);
is scalar @mentions, 1, "a dump mentions the company's id once (the tombstone)";
unlike $dump, qr/alpha\.example|Co alpha|sk-alpha-/, "... and none of its people, names or secrets";
like $dump, qr/beta\.example/, '... while the other company is all there';

is req('GET', '/api/v1/me', $A->{auth})->{status}, 401, 'the access token stops working at once';
is req('GET', '/api/v1/me', $A->{member})->{status}, 401, "... every member's";
is $t->post('/api/v1/auth/refresh', json => { refresh_token => $A->{refresh} })->{status}, 401, '... the refresh token too';
is req('GET', '/api/v1/conversations', { authorization => "Bearer $A->{key}" })->{status}, 401, '... and the API key';
is $t->post('/api/v1/auth/login', json => { email => 'own@alpha.example', password => $pw })->{status}, 401, 'the owner cannot log in';
ok scalar(grep { $_->{event} eq 'company_deleted' && ($_->{resource} // '') eq "company:$A->{id}" } $t->log_events),
    'parleyd logged company_deleted with the id (the audit log went with the company)';
{
	local @ENV{qw(PARLEY_CONFIG PARLEY_AUDIT_KEY_FILE PARLEY_JWT_KEY_FILE PARLEY_KEYRING_FILE PARLEY_AUDIT_DATABASE_URL)} =
	    ('', $t->dir . '/audit.key', $t->dir . '/jwt.key', $t->dir . '/keyring', $t->pg->conninfo($t->dbname, 'postgres'));
	my $v = `'@{[ ParleyTest->builddir ]}/parleyctl' audit verify --log '@{[ $t->dir ]}/parleyd.log' 2>&1`;
	is $? >> 8, 0, "audit verify with parleyd's checkpoints: the deleted company is no broken chain" or diag $v;
	like $v, qr/^ok \Q$A->{id}\E deleted at /m, '... it is reported as deleted';
}
is $t->signup(json => { email => 'own@alpha.example', password => $pw, name => 'Ow Ner', company_name => 'Co alpha' })->{status},
    201, 'the address may sign up again';

done_testing;
