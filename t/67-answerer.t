# The answerer: replies never hold a request worker. Slow replies do not
# starve other routes; an answerer killed, reloaded or stopped mid-stream
# loses no reply and doubles none; an agent taking over cancels the
# stream; Idempotency-Key; overload is refused before anything is
# stored; the sweep re-queues, then hands over; children die with their
# master; a stopping parleyd refuses new requests at once.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);
use ParleyTest;
use ParleyTest::FastCGI;

my $t = ParleyTest->new(workers => 2, llm => 1, env => { PARLEY_LLM_TIMEOUT => 60, PARLEY_LLM_RETRIES => 0,
    PARLEY_WIDGET_MESSAGE_RATE => 10000, PARLEY_WIDGET_SESSION_RATE => 1000, PARLEY_ANSWER_LEASE => 3, PARLEY_SHUTDOWN_TIMEOUT => 3 });
$t->{allow_sweep} = 1;    # the sweep is tested here on purpose
my $own = $t->register_company('answerco', 'tangerine-orbit-velvet-42');
my $auth = $own->{auth};
sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h, defined $j ? (json => $j) : ()) }
my $bot = req('POST', '/api/v1/chatbots', $auth, { name => 'A', allowed_origins => ['https://shop.example'] })->{json};
sub visitor {
	my $tok = $t->post('/api/v1/widget/sessions', headers => { origin => 'https://shop.example' },
	    json => { bot_key => $bot->{public_key} })->{json}{token};
	my $v = { authorization => "Bearer $tok" };
	return { tok => $tok, h => $v, conv => req('POST', '/api/v1/widget/conversations', $v)->{json}{id} };
}
sub post { my ($v, $text, %h) = @_; req('POST', "/api/v1/widget/conversations/$v->{conv}/messages", { %{ $v->{h} }, %h }, { content => $text }) }
sub replies_to { $t->sql(q{SELECT count(*) AS n FROM messages WHERE reply_to = ?}, $_[0])->[0]{n} }
# Every visitor message of these conversations has exactly one reply.
sub one_reply_each {
	my ($what, @convs) = @_;
	my $rows = $t->sql(q{SELECT v.id, (SELECT count(*) FROM messages b WHERE b.reply_to = v.id) AS n FROM messages v
	    WHERE v.role = 'visitor' AND v.conversation_id = ANY (?::uuid[])}, '{' . join(',', @convs) . '}');
	is scalar(grep { $_->{n} != 1 } @$rows), 0, "$what: every visitor message has exactly one reply (" . scalar(@$rows) . ')';
}
my $words = join ' ', map { "word$_" } 1 .. 20;

# --- slow replies starve nothing ----------------------------------------------
# Twelve replies, each streaming a word every 150 ms (3 s), on two workers.
$t->llm_script(map { { reply => $words, chunk_delay_ms => 150 } } 1 .. 12);
my @slow = map { visitor() } 1 .. 12;
my @posted = map { post($_, 'Tell me a long story') } @slow;
is scalar(grep { $_->{status} == 201 } @posted), 12, 'twelve messages accepted while their replies stream';
ParleyTest::wait_for(sub { $t->sql(q{SELECT count(*) AS n FROM reply_jobs WHERE state = 'running'})->[0]{n} == 12 },
    'twelve replies streaming at once');
my ($ok, $n) = (0, 0);
for (1 .. 10) {
	$n++;
	$ok++ if $t->get('/healthz')->{status} == 200;
	$ok++ if req('GET', '/api/v1/me', $auth)->{status} == 200;
	$ok++ if req('GET', "/api/v1/widget/conversations/$slow[0]{conv}/messages", $slow[0]{h})->{status} == 200;
}
my $streaming = $t->sql(q{SELECT count(*) AS n FROM reply_jobs})->[0]{n};
is $ok, 3 * $n, 'health, /me and a visitor reading its messages all answer meanwhile';
is $streaming, 12, '... every one of them while all twelve replies were still being written';
$t->wait_for_reply($_->{json}{message}{id}) for @posted;
is $t->sql(q{SELECT count(*) AS n FROM messages WHERE role = 'bot' AND content = ?}, $words)->[0]{n}, 12, 'then twelve whole replies';
one_reply_each('slow replies', map { $_->{conv} } @slow);

# --- an agent takes over while a reply streams ----------------------------------
my $va = visitor();
my $sub = $t->subscribe("/api/v1/widget/conversations/$va->{conv}/events", Authorization => "Bearer $va->{tok}");
$t->llm_script({ reply => $words, chunk_delay_ms => 200 });
my $m = post($va, 'Streaming, please')->{json}{message};
my $e;
1 while ($e = ParleyTest::next_event($sub, 10)) && $e->{type} ne 'reply.delta';
is $e->{type}, 'reply.delta', 'a reply streams';
req('POST', "/api/v1/conversations/$va->{conv}/messages", $auth, { content => 'A person here.' });
1 while ($e = ParleyTest::next_event($sub, 10)) && $e->{type} ne 'reply.cancelled';
is $e->{type}, 'reply.cancelled', 'an agent takes over: the visitor is told the stream is cancelled';
is $e->{reply_to}, $m->{id}, '... for that message';
ParleyTest::wait_for(sub { !$t->sql('SELECT 1 AS x FROM reply_jobs WHERE message_id = ?', $m->{id})->[0] }, 'the job to go');
is replies_to($m->{id}), 0, '... and no bot reply is stored after the agent';
close $sub->{sock};

# --- a REST client long-polls the conversation's events (held by nginx) ---
my $vl = visitor();
my $lp = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $t->http_port, Timeout => 10) or die $!;
print $lp "GET /api/v1/widget/conversations/$vl->{conv}/events HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer $vl->{tok}\r\n\r\n";
ParleyTest::wait_for(sub { grep { $_->{event} eq 'request' && $_->{route} eq '/api/v1/widget/conversations/:id/events' } $t->log_events },
    'the long-poll to be authorised');
$t->llm_script({ reply => 'Polled.' });
my $lpm = post($vl, 'Anyone polling?')->{json}{message};
my $lpr = do { local $/; <$lp> };
$t->wait_for_reply($lpm->{id});
like $lpr, qr{^HTTP/1\.1 200}, 'a long-poll request returns with the next event';
like $lpr, qr/"type":"message".*Anyone polling\?/s, '... the message just posted';

# --- an answerer killed mid-stream ------------------------------------------------
$t->llm_script({ reply => $words, chunk_delay_ms => 100 }, { reply => "After the crash: $words", chunk_delay_ms => 20 });
my $vk = visitor();
$sub = $t->subscribe("/api/v1/widget/conversations/$vk->{conv}/events", Authorization => "Bearer $vk->{tok}");
$m = post($vk, 'Crash test')->{json}{message};
1 while ($e = ParleyTest::next_event($sub, 10)) && $e->{type} ne 'reply.delta';
my ($answerer) = $t->answer_pids;
kill 'KILL', $answerer;
my @starts;
while ($e = ParleyTest::next_event($sub, 20)) {
	push @starts, $e if $e->{type} eq 'reply.start';
	last if $e->{type} eq 'message' && $e->{message}{role} eq 'bot';
}
is $e->{message}{content}, "After the crash: $words", 'a killed answerer: another resumes the reply once its lease ends';
is $starts[-1]{attempt}, 2, '... from the start (the visitor is told: attempt 2)';
is replies_to($m->{id}), 1, '... stored once';
close $sub->{sock};

# --- reload and stop with replies in flight ------------------------------------------
# Replies of 2 s; shutdown_timeout 3: the old answerer finishes those it
# can within 2 s and hands the rest back.
$t->llm_script(map { { reply => $words, chunk_delay_ms => $_ <= 3 ? 50 : 250 } } 1 .. 6);
my @rl = map { visitor() } 1 .. 6;
@posted = map { post($_, 'Reload me') } @rl;
ParleyTest::wait_for(sub { $t->sql(q{SELECT count(*) AS n FROM reply_jobs WHERE state = 'running'})->[0]{n} >= 6 }, 'six streaming');
kill 'HUP', $t->parleyd_pid;
$t->wait_for_reply($_->{json}{message}{id}, 60) for @posted;
one_reply_each('a reload mid-stream', map { $_->{conv} } @rl);
my ($stopped) = grep { $_->{event} eq 'answerer_stopped' } $t->log_events;
ok $stopped && $stopped->{finished} + $stopped->{handed_back} >= 1, "the old answerer finished ($stopped->{finished}) or handed back ($stopped->{handed_back}), and said so";
is scalar(grep { $_->{event} eq 'retire_timeout_kill' } $t->log_events), 0, '... nothing had to be killed';

$t->llm_script(map { { reply => $words, chunk_delay_ms => 300 } } 1 .. 3);
my @st = map { visitor() } 1 .. 3;
my $ss = $t->subscribe("/api/v1/widget/conversations/$st[0]{conv}/events", Authorization => "Bearer $st[0]{tok}");
@posted = map { post($_, 'Stop me') } @st;
ParleyTest::wait_for(sub { $t->sql(q{SELECT count(*) AS n FROM reply_jobs WHERE state = 'running'})->[0]{n} >= 3 }, 'three streaming');
1 while ($e = ParleyTest::next_event($ss, 10)) && $e->{type} ne 'reply.delta';
is $e->{type}, 'reply.delta', 'a reply streams when parleyd is told to stop';
is $t->stop_parleyd('TERM'), 0, 'parleyd stops with replies streaming';
1 while ($e = ParleyTest::next_event($ss, 2)) && $e->{type} ne 'reply.interrupted';
is $e && $e->{reply_to}, $posted[0]{json}{message}{id}, '... and its visitor is told the reply was interrupted';
close $ss->{sock};
my @stops = grep { $_->{event} eq 'answerer_stopped' } $t->log_events;
is $stops[-1]{handed_back}, 3, '... the answerer hands them back to the queue';
is $t->sql(q{SELECT count(*) AS n FROM reply_jobs WHERE state = 'queued' AND owner IS NULL})->[0]{n}, 3, '... queued again';
$t->llm_script(map { { reply => 'Back again.' } } 1 .. 3);
$t->start_parleyd;
$t->wait_for_reply($_->{json}{message}{id}) for @posted;
one_reply_each('a stop mid-stream', map { $_->{conv} } @st);

# --- Idempotency-Key --------------------------------------------------------------
my $vi = visitor();
my $r1 = post($vi, 'Only once', 'idempotency-key' => 'key-1');
my $r2 = post($vi, 'Only once', 'idempotency-key' => 'key-1');
is $r1->{status}, 201, 'a message with an Idempotency-Key';
is $r2->{status}, 201, '... retried: the same answer';
is $r2->{json}{message}{id}, $r1->{json}{message}{id}, '... the message first stored';
is $r2->{headers}{'idempotent-replayed'}, 'true', '... marked as a replay';
is $t->sql(q{SELECT count(*) AS n FROM messages WHERE conversation_id = ? AND role = 'visitor'}, $vi->{conv})->[0]{n}, 1,
    '... nothing stored twice';
is post($vi, 'Something else', 'idempotency-key' => 'key-1')->{status}, 422, 'the same key with another body: 422';
my $vo = visitor();
$vo->{conv} = $vi->{conv};
is post($vo, 'Only once', 'idempotency-key' => 'key-1')->{status}, 404, "another visitor's key is theirs (and so is the conversation)";
is post($vo, 'Only once', 'idempotency-key' => 'key-1')->{status}, 404, '... retried: still nothing of theirs to replay';
is $t->sql(q{SELECT count(*) AS n FROM idempotency_keys WHERE conversation_id = ?}, $vi->{conv})->[0]{n}, 1,
    '... and the refused post left no key behind';
my $vo2 = visitor();
my $r3 = post($vo2, 'Only once', 'idempotency-key' => 'key-1');
isnt $r3->{json}{message}{id}, $r1->{json}{message}{id}, "another visitor using the same key gets their own message";
is post($vi, 'x', 'idempotency-key' => 'k' x 256)->{status}, 400, 'a key over 255 characters: 400';
$t->wait_for_reply($r1->{json}{message}{id});
my $r4 = post($vi, 'Only once', 'idempotency-key' => 'key-1');
is $r4->{json}{reply}{reply_to}, $r1->{json}{message}{id}, 'a replay after the reply carries it';
my $a1 = req('POST', "/api/v1/conversations/$vi->{conv}/messages", { %$auth, 'idempotency-key' => 'agent-1' }, { content => 'Agent once' });
my $a2 = req('POST', "/api/v1/conversations/$vi->{conv}/messages", { %$auth, 'idempotency-key' => 'agent-1' }, { content => 'Agent once' });
is $a2->{json}{id}, $a1->{json}{id}, "an agent's reply retried: the same message";
is $t->sql(q{SELECT count(*) AS n FROM messages WHERE conversation_id = ? AND role = 'agent'}, $vi->{conv})->[0]{n}, 1, '... stored once';

# --- a fair share of the streams per company ------------------------------------------
$t->stop_parleyd;
$t->{env}{PARLEY_ANSWER_COMPANY_STREAMS} = 2;
$t->start_parleyd;
my $other = $t->register_company('otherco', 'tangerine-orbit-velvet-42');
my $obot = req('POST', '/api/v1/chatbots', $other->{auth}, { name => 'O', allowed_origins => ['https://shop.example'] })->{json};
$t->llm_script(map { { reply => $words, chunk_delay_ms => 100 } } 1 .. 5);
my @flood = map { visitor() } 1 .. 4;
my @fp = map { post($_, 'Flood') } @flood;
ParleyTest::wait_for(sub { $t->sql(q{SELECT count(*) AS n FROM reply_jobs WHERE state = 'running'})->[0]{n} == 2 }, 'two streaming');
my $otok = $t->post('/api/v1/widget/sessions', headers => { origin => 'https://shop.example' },
    json => { bot_key => $obot->{public_key} })->{json}{token};
my $oconv = req('POST', '/api/v1/widget/conversations', { authorization => "Bearer $otok" })->{json}{id};
my $om = req('POST', "/api/v1/widget/conversations/$oconv/messages", { authorization => "Bearer $otok" }, { content => 'Me too' })->{json}{message};
ParleyTest::wait_for(sub { ($t->sql(q{SELECT state FROM reply_jobs WHERE message_id = ?}, $om->{id})->[0]{state} // 'gone') ne 'queued' },
    "the other company's reply to start");
my %by = map { $_->{state} => $_->{n} } @{ $t->sql(q{SELECT state, count(*) AS n FROM reply_jobs WHERE company_id = ? GROUP BY state}, $own->{id}) };
is $by{running}, 2, 'one company floods: at most answer_company_streams of its replies stream at once';
ok $by{queued} >= 1, '... the rest wait';
pass "... and another company's reply starts at once beside them";
$t->wait_for_reply($_->{json}{message}{id}) for @fp;
$t->wait_for_reply($om->{id});
one_reply_each('a flood and a neighbour', (map { $_->{conv} } @flood), $oconv);

# --- overload, and the sweep --------------------------------------------------------
# No answerer: the company's queue fills up to answer_company_queue_max.
$t->stop_parleyd;
$t->{env}{PARLEY_ANSWER_WORKERS} = 0;
$t->{env}{PARLEY_ANSWER_COMPANY_QUEUE_MAX} = 2;
$t->{env}{PARLEY_ANSWER_DEADLINE} = 30;
$t->{env}{PARLEY_ANSWER_SWEEP_AGE} = 61;
$t->{env}{PARLEY_ANSWER_SWEEP_INTERVAL} = 1;
$t->start_parleyd;
my @q = map { visitor() } 1 .. 3;
is post($q[0], 'one')->{status}, 201, 'queued one';
is post($q[1], 'two')->{status}, 201, 'queued two';
my $before = $t->sql(q{SELECT count(*) AS n FROM messages})->[0]{n};
my $over = post($q[2], 'three');
is $over->{status}, 503, 'beyond the queue: 503';
is $over->{json}{code}, 'answers_overloaded', '... answers_overloaded';
ok $over->{headers}{'retry-after'} > 0, '... with Retry-After';
is $t->sql(q{SELECT count(*) AS n FROM messages})->[0]{n}, $before, '... and nothing stored';

# A lost job (as if written before the answerer existed): the sweep
# queues it again once, then hands the conversation to a person.
my $lost = $t->sql(q{SELECT message_id FROM reply_jobs WHERE conversation_id = ?}, $q[0]{conv})->[0]{message_id};
$t->sql(q{DELETE FROM reply_jobs WHERE message_id = ?}, $lost);
$t->sql(q{UPDATE messages SET created_at = now() - interval '5 minutes' WHERE id = ?}, $lost);
ParleyTest::wait_for(sub { $t->sql('SELECT 1 AS x FROM reply_jobs WHERE message_id = ?', $lost)->[0] }, 'the sweep to re-queue');
pass 'the sweep queues a lost reply again';
$t->sql(q{DELETE FROM reply_jobs WHERE message_id = ?}, $lost);
ParleyTest::wait_for(sub { replies_to($lost) == 1 }, 'the sweep to hand over');
is $t->sql('SELECT status FROM conversations WHERE id = ?', $q[0]{conv})->[0]{status}, 'pending', '... and the second time hands it to a person';
# The sweep logs once it has gone through what it found.
ParleyTest::wait_for(sub { grep { $_->{event} eq 'reply_sweep' && $_->{handed_off} } $t->log_events }, 'the sweep\'s log line');
pass '... and logs what it found';

# --- children die with their master ---------------------------------------------------
my @kids = $t->child_pids;
ok @kids >= 3, 'parleyd has children';
kill 'KILL', $t->parleyd_pid;
waitpid($t->parleyd_pid, 0);
delete $t->{pids}{parleyd};
ParleyTest::wait_for(sub { !grep { kill 0, $_ } @kids }, 'the children to exit');
pass 'the master killed: every worker, jobs process and answerer exits';

# --- a stopping parleyd refuses new requests at once ------------------------------------
$t->{env}{PARLEY_SHUTDOWN_TIMEOUT} = 10;
$t->{workers} = 1;
$t->{env}{PARLEY_WORKERS} = 1;
$t->start_parleyd;
# nginx logs the refused connection (the socket's name is gone) as [crit].
$t->allow_alert(qr/parleyd\.sock failed \(2: No such file or directory\)/);
my $fc = ParleyTest::FastCGI->new($t->dir . '/parleyd.sock');
$fc->begin(REQUEST_METHOD => 'POST', REQUEST_URI => '/api/v1/csp-report', CONTENT_TYPE => 'application/csp-report',
    CONTENT_LENGTH => 100, REMOTE_ADDR => '127.0.0.1');
$fc->stdin('{"csp');    # the only worker now waits for the rest
my $master = $t->parleyd_pid;
kill 'TERM', $master;
ParleyTest::wait_for(sub { grep { $_->{event} eq 'stopping' } $t->log_events }, 'parleyd to begin stopping');
my $r = $t->get('/healthz');
ok $r->{status} >= 500, "a request during the drain is refused ($r->{status})";
ok waitpid($master, WNOHANG) == 0, '... at once, while parleyd still waits for the request in hand';
$fc->stdin('"}' . (' ' x 93));
$fc->stdin('');
$t->stop_parleyd;

done_testing;
