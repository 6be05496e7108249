# Outgoing webhooks: endpoints (admins; secret shown once, stored
# encrypted, audited), events emitted in the transaction of the change,
# deliveries signed per Standard Webhooks and checked here with an
# independent implementation, retries with backoff, no redirects, 410 and
# exhausted retries disable the endpoint and e-mail the admins, a timeout,
# secret rotation (both secrets sign for a day), the deliveries listing,
# a jobs process killed mid-delivery (one request per attempt record), and
# the SSRF guard at creation and at connect time.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64 decode_base64);
use POSIX qw(WNOHANG);
use ParleyTest;

my $t = ParleyTest->new(receiver => 1, smtp => 1, env => { PARLEY_WEBHOOK_ALLOW_HTTP => 1,
    PARLEY_WEBHOOK_ALLOW_LOOPBACK => 1, PARLEY_WEBHOOK_TIMEOUT => 2 });
my $pw = 'tangerine-orbit-velvet-42';
my $own = $t->signup(json => { email => 'hooks@co.example', password => $pw,
    name => 'Ho Oks', company_name => 'Hook Co' })->{json};
my $cid = $own->{company}{id};
my $auth = { authorization => "Bearer $own->{access_token}" };
sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h // $auth, defined $j ? (json => $j) : ()) }
my $hash = $t->sql('SELECT password_hash FROM users WHERE id = ?', $own->{user}{id})->[0]{password_hash};
my $member_id = $t->sql(q{INSERT INTO users (company_id, email, name, role, password_hash) VALUES (?, 'mem@co.example', 'Me Mber', 'member', ?) RETURNING id},
    $cid, $hash)->[0]{id};
my $mem = { authorization => 'Bearer ' . $t->post('/api/v1/auth/login', json => { email => 'mem@co.example', password => $pw })->{json}{access_token} };

# Standard Webhooks verification, written from the specification.
sub verify {
	my ($rq, $secret) = @_;
	my ($id, $ts, $sigs) = @{ $rq->{headers} }{qw(webhook-id webhook-timestamp webhook-signature)};
	return 0 unless defined $id && defined $ts && defined $sigs;
	return 0 if abs(time - $ts) > 300;
	my $key = decode_base64(substr $secret, length 'whsec_');
	my $want = 'v1,' . encode_base64(hmac_sha256("$id.$ts.$rq->{body}", $key), '');
	return scalar grep { $_ eq $want } split / /, $sigs;
}
sub hooks { my ($path) = @_; [grep { $_->{path} eq $path } @{ $t->receiver_requests }] }
sub wait_hooks {
	my ($path, $n, $what) = @_;
	my $got;
	ParleyTest::wait_for(sub { $got = hooks($path); @$got >= $n }, $what, 30);
	return $got;
}

# --- endpoints ----------------------------------------------------------------------------
my $r = req('POST', '/api/v1/webhook-endpoints', undef, { url => $t->receiver_url('/all'), events => ['*'],
    description => 'everything' });
is $r->{status}, 201, 'an admin adds an endpoint';
my $ep = $r->{json};
like $ep->{secret}, qr/^whsec_[A-Za-z0-9+\/]{32}$/, '... its secret is shown once (whsec_ + base64 of 24 bytes)';
$t->note_secrets({ webhook_secret => $ep->{secret} });
is $ep->{secret_hint}, 'whsec_...' . substr($ep->{secret}, -4), '... with a masked hint';
$r = req('GET', '/api/v1/webhook-endpoints');
is scalar @{ $r->{json}{items} }, 1, 'listed';
ok !exists $r->{json}{items}[0]{secret}, '... without the secret';
unlike $r->{content}, qr/\Q$ep->{secret}\E/, '... anywhere in the answer';
like $t->sql('SELECT secret_enc FROM webhook_endpoints WHERE id = ?', $ep->{id})->[0]{secret_enc}, qr/^v1\.k1\./,
    'stored as keyring ciphertext';
is req('GET', '/api/v1/webhook-endpoints', $mem)->{status}, 403, 'a member may not see endpoints';
is req('POST', '/api/v1/webhook-endpoints', $mem, { url => $t->receiver_url, events => ['*'] })->{status}, 403,
    '... nor add one';
$r = req('POST', '/api/v1/webhook-endpoints', undef, { url => $t->receiver_url, events => ['message.deleted'] });
is $r->{status}, 422, 'an unknown event: 422';
is $r->{json}{errors}[0]{code}, 'unknown_event', '... unknown_event' or diag $r->{content};
is req('POST', '/api/v1/webhook-endpoints', undef, { url => 'ftp://files.example/x', events => ['*'] })->{status}, 422,
    'a URL that is not http(s): 422';
for my $u ('http://10.0.0.8/x', 'http://169.254.169.254/latest/meta-data', 'http://[fd00::1]/x') {
	$r = req('POST', '/api/v1/webhook-endpoints', undef, { url => $u, events => ['*'] });
	is $r->{json}{errors}[0]{code}, 'private_address', "allowing loopback (tests) still refuses $u";
}
is $t->sql('SELECT count(*) AS n FROM webhook_endpoints')->[0]{n}, 1, '... and nothing was stored';
my $conv_ep = req('POST', '/api/v1/webhook-endpoints', undef, { url => $t->receiver_url('/conv'),
    events => ['conversation.*'] })->{json};
my $audit = $t->sql(q{SELECT action, changed_fields::text AS fields FROM audit_log WHERE company_id = ? AND resource_type = 'webhook_endpoint' ORDER BY seq}, $cid);
is_deeply [map { $_->{action} } @$audit], ['webhook_endpoint.create', 'webhook_endpoint.create'], 'creations are audited';
unlike join(' ', map { $_->{fields} } @$audit), qr/whsec_/, '... without the secret';

# --- events, signatures --------------------------------------------------------------------
my $bot = req('POST', '/api/v1/chatbots', undef, { name => 'Help', allowed_origins => ['https://shop.example'] })->{json};
my $vt = $t->post('/api/v1/widget/sessions', headers => { origin => 'https://shop.example' },
    json => { bot_key => $bot->{public_key} })->{json}{token};
my $v = { authorization => "Bearer $vt" };
my $conv = req('POST', '/api/v1/widget/conversations', $v)->{json}{id};
is req('POST', "/api/v1/widget/conversations/$conv/messages", $v, { content => 'Where is my parcel?' })->{status}, 201,
    'a visitor writes';
# conversation.created, the visitor's message, the bot's answer.
my $got = wait_hooks('/all', 3, 'three deliveries');
my %by = map { decode_json($_->{body})->{type} => $_ } @$got;
ok $by{'conversation.created'} && $by{'message.created'}, 'conversation.created and message.created arrive';
is scalar(grep { verify($_, $ep->{secret}) } @$got), scalar(@$got), 'every delivery verifies under the endpoint secret';
ok !verify($got->[0], 'whsec_' . encode_base64('x' x 24, '')), '... and not under another secret (the check can fail)';
my $body = decode_json($by{'conversation.created'}{body});
is $body->{data}{id}, $conv, 'the event names the conversation';
like $body->{timestamp}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, '... with an RFC 3339 timestamp';
my ($vmsg) = grep { $_->{data}{message}{role} eq 'visitor' } map { decode_json($_->{body}) } grep { decode_json($_->{body})->{type} eq 'message.created' } @$got;
is $vmsg->{data}{message}{content}, 'Where is my parcel?', "message.created carries the visitor's message";
is $by{'conversation.created'}{headers}{'content-type'}, 'application/json', 'sent as application/json';
like $by{'conversation.created'}{headers}{'webhook-id'}, qr/^msg_[0-9a-f]{32}$/, 'webhook-id msg_…';
is $t->sql('SELECT count(*) AS n FROM webhook_deliveries WHERE event_id = ?', $by{'conversation.created'}{headers}{'webhook-id'})->[0]{n}, 2,
    '... the same id for both endpoints of the event';
my $cg = wait_hooks('/conv', 1, 'the conversation-only endpoint');
is_deeply [grep { !/^conversation\./ } map { decode_json($_->{body})->{type} } @{ hooks('/conv') }], [],
    'a family subscription gets only its family';

# A change rolled back sends nothing.
my $dbh = $t->dbh;
$dbh->begin_work;
$dbh->do(q{INSERT INTO messages (company_id, conversation_id, seq, role, content) VALUES (?, ?, 99, 'agent', 'never')}, undef, $cid, $conv);
$dbh->rollback;
is $t->sql(q{SELECT count(*) AS n FROM webhook_deliveries WHERE payload->'data'->'message'->>'content' = 'never'})->[0]{n}, 0,
    'a rolled-back change queues no delivery';

# Members.
is req('PATCH', "/api/v1/members/$member_id", undef, { role => 'admin' })->{status}, 200, 'a role change';
is req('DELETE', "/api/v1/members/$member_id")->{status}, 204, 'a removal';
sub types { map { decode_json($_->{body})->{type} } @{ hooks('/all') } }
ParleyTest::wait_for(sub { grep { $_ eq 'member.removed' } types() }, 'member.removed');
ok scalar(grep { $_ eq 'member.updated' } types()), 'member.updated';
ok scalar(grep { $_ eq 'member.removed' } types()), 'member.removed';

# --- retries, redirects, 410 -------------------------------------------------------------------
$t->receiver_reset;
$t->sql('DELETE FROM webhook_endpoints WHERE id = ?', $conv_ep->{id});
$r = req('PATCH', "/api/v1/webhook-endpoints/$ep->{id}", undef, { events => ['message.created'] });
is_deeply $r->{json}{events}, ['message.created'], 'PATCH narrows the subscription';
is $t->sql(q{SELECT changes::text AS c FROM audit_log WHERE action = 'webhook_endpoint.update'})->[0]{c}, '{"events": {"new": ["message.created"]}}',
    '... audited with the new value';
$t->receiver_script({ status => 500, body => 'x' x 5000 }, { status => 200 });
my $sc = req('POST', "/api/v1/conversations/$conv/messages", undef, { content => 'We are on it.' });
is $sc->{status}, 201, 'an agent replies';
$got = wait_hooks('/all', 2, 'a retry after a 500');
is $got->[0]{headers}{'webhook-id'}, $got->[1]{headers}{'webhook-id'}, 'the retry carries the same webhook-id';
ok verify($got->[1], $ep->{secret}), '... and a fresh, valid signature';
my $d = $t->sql(q{SELECT id, attempts, delivered_at IS NOT NULL AS ok FROM webhook_deliveries WHERE event_id = ?}, $got->[0]{headers}{'webhook-id'})->[0];
ParleyTest::wait_for(sub { $t->sql('SELECT delivered_at FROM webhook_deliveries WHERE id = ?', $d->{id})->[0]{delivered_at} }, 'delivered');
$r = req('GET', "/api/v1/webhook-endpoints/$ep->{id}/deliveries");
is $r->{status}, 200, 'the deliveries listing';
my ($item) = grep { $_->{id} eq $d->{id} } @{ $r->{json}{items} };
is $item->{attempts}, 2, '... two attempts';
is_deeply [map { $_->{status} } @{ $item->{attempt_log} }], [500, 200], '... a 500, then a 200';
is length($item->{attempt_log}[0]{response}), 1024, "... the receiver's answer kept truncated to 1 KiB";
ok $item->{delivered_at}, '... delivered';

# A redirect is not followed.
$t->receiver_reset;
$t->receiver_script({ status => 302, location => $t->receiver_url('/elsewhere') });
req('POST', "/api/v1/conversations/$conv/messages", undef, { content => 'One more thing.' });
wait_hooks('/all', 1, 'the redirecting answer');
ParleyTest::wait_for(sub { $t->sql(q{SELECT count(*) AS n FROM webhook_attempts WHERE status = 302 AND finished_at IS NOT NULL})->[0]{n} }, 'the 302 recorded');
is scalar @{ hooks('/elsewhere') }, 0, 'a 302 is not followed';
is $t->sql(q{SELECT error FROM webhook_attempts WHERE status = 302})->[0]{error}, 'http_status', '... it counts as a failed attempt';
ParleyTest::wait_for(sub { @{ hooks('/all') } >= 2 }, 'the retry of the redirected delivery');

# 410 Gone: the endpoint is turned off, the admins hear of it, audited as the system.
$t->receiver_reset;
$t->receiver_script(map { { status => 410 } } 1 .. 5);
req('POST', "/api/v1/conversations/$conv/messages", undef, { content => 'Gone?' });
ParleyTest::wait_for(sub { !$t->sql('SELECT enabled FROM webhook_endpoints WHERE id = ?', $ep->{id})->[0]{enabled} }, 'the endpoint disabled');
is req('GET', "/api/v1/webhook-endpoints/$ep->{id}")->{json}{disabled_reason}, 'gone', '410: disabled, reason gone';
my $mail = $t->wait_mail('hooks@co.example', qr/webhook endpoint was turned off/);
like $mail->{body}, qr/410 Gone/, 'the owner is e-mailed why';
is $t->sql(q{SELECT actor_type FROM audit_log WHERE company_id = ? AND action = 'webhook_endpoint.disable'}, $cid)->[0]{actor_type},
    'system', 'the disabling is audited, actor system';
my $before = scalar @{ $t->receiver_requests };
req('POST', "/api/v1/conversations/$conv/messages", undef, { content => 'Anyone?' });
is $t->sql(q{SELECT count(*) AS n FROM webhook_deliveries WHERE payload->'data'->'message'->>'content' = 'Anyone?'})->[0]{n}, 0,
    'a disabled endpoint gets no new deliveries';
$r = req('PATCH', "/api/v1/webhook-endpoints/$ep->{id}", undef, { enabled => JSON::PP::true });
is $r->{status}, 200, 'an admin turns it on again';
ok $r->{json}{enabled} && !defined $r->{json}{disabled_reason}, '... which clears the reason';

# Retries exhausted: disabled, reason retries_exhausted.
$t->receiver_reset;
$t->receiver_script(map { { status => 503 } } 1 .. 5);
req('POST', "/api/v1/conversations/$conv/messages", undef, { content => 'Down?' });
ParleyTest::wait_for(sub { $t->sql(q{SELECT count(*) AS n FROM jobs WHERE kind = 'webhook' AND attempts >= 1 AND done_at IS NULL AND failed_at IS NULL AND last_error IS NOT NULL})->[0]{n} }, 'a first failed attempt');
my $job = $t->sql(q{SELECT id, max_attempts, run_at > now() AS later FROM jobs WHERE kind = 'webhook' AND done_at IS NULL AND failed_at IS NULL})->[0];
is $job->{max_attempts}, 13, 'a delivery has 13 attempts (about a day with the default backoff)';
ok $job->{later}, '... the retry waits (backoff)';
$t->sql(q{UPDATE jobs SET max_attempts = 2, run_at = now() WHERE id = ?}, $job->{id});
ParleyTest::wait_for(sub { !$t->sql('SELECT enabled FROM webhook_endpoints WHERE id = ?', $ep->{id})->[0]{enabled} }, 'disabled after the last attempt');
is $t->sql('SELECT disabled_reason FROM webhook_endpoints WHERE id = ?', $ep->{id})->[0]{disabled_reason}, 'retries_exhausted',
    'retries exhausted: disabled';
ok $t->sql(q{SELECT failed_at FROM webhook_deliveries WHERE payload->'data'->'message'->>'content' = 'Down?'})->[0]{failed_at},
    '... the delivery marked failed';
ParleyTest::wait_for(sub { scalar(grep { $_->{body} =~ /kept failing/ } $t->mails) }, 'the second e-mail');
req('PATCH', "/api/v1/webhook-endpoints/$ep->{id}", undef, { enabled => JSON::PP::true });

# A timeout (webhook_timeout is 2 s here).
$t->receiver_reset;
$t->receiver_script({ delay_ms => 4000 }, { status => 200 });
req('POST', "/api/v1/conversations/$conv/messages", undef, { content => 'Slow?' });
ParleyTest::wait_for(sub { $t->sql(q{SELECT count(*) AS n FROM webhook_attempts WHERE error = 'timeout'})->[0]{n} }, 'a timed-out attempt', 30);
pass 'a slow receiver times out';

# --- rotation: both secrets sign for a day ---------------------------------------------------------
ParleyTest::wait_for(sub { !$t->sql(q{SELECT count(*) AS n FROM jobs WHERE kind = 'webhook' AND done_at IS NULL AND failed_at IS NULL})->[0]{n} }, 'the queue drained', 30);
$r = req('POST', "/api/v1/webhook-endpoints/$ep->{id}/rotate-secret");
is $r->{status}, 200, 'rotate the secret';
my $new = $r->{json}{secret};
$t->note_secrets({ webhook_secret2 => $new });
isnt $new, $ep->{secret}, '... a new one, shown once';
$t->receiver_reset;
req('POST', "/api/v1/conversations/$conv/messages", undef, { content => 'Rotated.' });
$got = wait_hooks('/all', 1, 'a delivery after rotation');
my @sigs = split / /, $got->[0]{headers}{'webhook-signature'};
is scalar @sigs, 2, 'two signatures during the overlap';
ok verify($got->[0], $new) && verify($got->[0], $ep->{secret}), '... one under the new secret, one under the old';
$t->sql(q{UPDATE webhook_endpoints SET secret_prev_until = now() - interval '1 second' WHERE id = ?}, $ep->{id});
$t->receiver_reset;
req('POST', "/api/v1/conversations/$conv/messages", undef, { content => 'Later.' });
$got = wait_hooks('/all', 1, 'a delivery after the overlap');
ok verify($got->[0], $new) && !verify($got->[0], $ep->{secret}), 'after the day only the new secret signs';
is $t->sql(q{SELECT count(*) AS n FROM audit_log WHERE action = 'webhook_endpoint.rotate_secret'})->[0]{n}, 1, 'rotation audited';

# --- the jobs process killed mid-delivery ------------------------------------------------------
$t->receiver_reset;
$t->receiver_script({ hold => 1 }, { status => 200 });
req('POST', "/api/v1/conversations/$conv/messages", undef, { content => 'Kill me.' });
$got = wait_hooks('/all', 1, 'the held delivery');
my $wid = $got->[0]{headers}{'webhook-id'};
my $att = $t->sql(q{SELECT n, finished_at FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.event_id = ?}, $wid);
is scalar @$att, 1, 'the attempt is on record before the answer';
ok !$att->[0]{finished_at}, '... unfinished';
my ($jp) = $t->jobs_pids;
kill 'KILL', $jp;
ParleyTest::wait_for(sub { !kill 0, $jp }, 'the jobs process gone');
$t->receiver_release;
# The lease (job_lease, 120 s) ends: brought forward rather than waited for.
$t->sql(q{UPDATE jobs SET run_at = now() WHERE kind = 'webhook' AND done_at IS NULL AND failed_at IS NULL});
ParleyTest::wait_for(sub { $t->sql(q{SELECT delivered_at FROM webhook_deliveries WHERE event_id = ?}, $wid)->[0]{delivered_at} }, 'delivered after the lease', 30);
my $reqs = grep { $_->{headers}{'webhook-id'} eq $wid } @{ $t->receiver_requests };
$att = $t->sql(q{SELECT n, status, finished_at FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.event_id = ? ORDER BY n}, $wid);
is $reqs, scalar @$att, "one request per attempt record ($reqs)";
is_deeply [map { $_->{n} } @$att], [1, 2], '... the killed try and the one after it';
ok !$att->[0]{finished_at} && $att->[1]{status} == 200, '... the first left unfinished, the second delivered';
is $t->sql(q{SELECT count(*) AS n FROM webhook_deliveries WHERE event_id = ? AND delivered_at IS NOT NULL}, $wid)->[0]{n}, 1,
    'nothing lost: delivered once on record';

# A delivery whose process dies on its last attempt is not tried forever.
ParleyTest::wait_for(sub { scalar($t->jobs_pids) == 1 }, 'the jobs process back');
$t->receiver_reset;
$t->receiver_script({ hold => 1 });
req('POST', "/api/v1/conversations/$conv/messages", undef, { content => 'Kill me twice.' });
$got = wait_hooks('/all', 1, 'another held delivery');
$wid = $got->[0]{headers}{'webhook-id'};
($jp) = $t->jobs_pids;
$t->sql(q{UPDATE jobs SET max_attempts = 1 WHERE kind = 'webhook' AND done_at IS NULL AND failed_at IS NULL});
kill 'KILL', $jp;
ParleyTest::wait_for(sub { !kill 0, $jp }, 'the jobs process gone again');
$t->receiver_release;
$t->sql(q{UPDATE jobs SET run_at = now() WHERE kind = 'webhook' AND done_at IS NULL AND failed_at IS NULL});
# The delivery is given up first, then the job is recorded as failed.
ParleyTest::wait_for(sub { $t->sql(q{SELECT failed_at FROM webhook_deliveries WHERE event_id = ?}, $wid)->[0]{failed_at}
    && $t->sql(q{SELECT failed_at FROM jobs WHERE kind = 'webhook' ORDER BY id DESC LIMIT 1})->[0]{failed_at} }, 'given up', 30);
is $t->sql(q{SELECT last_error FROM jobs WHERE kind = 'webhook' ORDER BY id DESC LIMIT 1})->[0]{last_error}, 'lease_expired',
    'the last attempt died with its process: the job fails (lease_expired), not retried forever';
is scalar(grep { $_->{headers}{'webhook-id'} eq $wid } @{ $t->receiver_requests }), 1, '... after the one request';
is $t->sql('SELECT disabled_reason FROM webhook_endpoints WHERE id = ?', $ep->{id})->[0]{disabled_reason}, 'retries_exhausted',
    '... the delivery failed and the endpoint turned off';
req('PATCH', "/api/v1/webhook-endpoints/$ep->{id}", undef, { enabled => JSON::PP::true });

# --- the SSRF guard ----------------------------------------------------------------------------------
$t->stop_parleyd;
$t->{env}{PARLEY_WEBHOOK_ALLOW_LOOPBACK} = 0;
$t->{env}{PARLEY_WEBHOOK_ALLOW_HTTP} = 0;
$t->start_parleyd;
for my $u (['http://hooks.example/x', 'https_required'], ['https://127.0.0.1/x', 'private_address'],
    ['https://localhost/x', 'private_address'], ['https://169.254.169.254/latest/meta-data', 'private_address'],
    ['https://[::1]/x', 'private_address'], ['https://10.0.0.8/x', 'private_address'],
    ['https://2130706433/x', 'private_address'], ['https://user:pw@hooks.example/x', 'format']) {
	$r = req('POST', '/api/v1/webhook-endpoints', undef, { url => $u->[0], events => ['*'] });
	is $r->{status}, 422, "refused: $u->[0]";
	like $r->{content}, qr/\Q$u->[1]\E/, "... $u->[1]";
}
is req('POST', '/api/v1/webhook-endpoints', undef, { url => 'https://hooks.example/in', events => ['member.*'] })->{status}, 201,
    'a public https URL is accepted';
# Names are judged once resolved: an endpoint whose name resolves to
# loopback (stored when loopback was allowed) is refused at connect time.
$t->stop_parleyd;
$t->{env}{PARLEY_WEBHOOK_ALLOW_HTTP} = 1;
$t->start_parleyd;
$t->sql(q{UPDATE webhook_endpoints SET url = ? WHERE id = ?}, 'http://localhost:' . $t->{receiver_port} . '/all', $ep->{id});
$t->receiver_reset;
req('POST', "/api/v1/conversations/$conv/messages", undef, { content => 'Guarded.' });
ParleyTest::wait_for(sub { $t->sql(q{SELECT count(*) AS n FROM webhook_attempts WHERE error = 'blocked_address'})->[0]{n} }, 'the refused connection');
is scalar @{ $t->receiver_requests }, 0, 'localhost resolved to loopback: nothing was sent';
is $t->sql('SELECT disabled_reason FROM webhook_endpoints WHERE id = ?', $ep->{id})->[0]{disabled_reason}, 'blocked_address',
    '... and the endpoint is disabled';

# --- deletion ---------------------------------------------------------------------------------------
is req('DELETE', "/api/v1/webhook-endpoints/$ep->{id}")->{status}, 204, 'delete the endpoint';
is $t->sql('SELECT count(*) AS n FROM webhook_deliveries WHERE endpoint_id = ?', $ep->{id})->[0]{n}, 0, '... with its deliveries';
is req('GET', "/api/v1/webhook-endpoints/$ep->{id}/deliveries")->{status}, 404, '... gone';

done_testing;
