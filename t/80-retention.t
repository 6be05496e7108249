# Retention: the company's settings (audited), and the sweep —
# `parleyctl retention run [--dry-run]` and the jobs processes on a
# schedule — deleting (with non-personal figures kept, so analytics stay
# right) or anonymising (text masked, visitor identity removed)
# conversations older than the period, in small batches, idempotently,
# leaving recent ones and companies that keep everything alone.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Digest::SHA qw(hmac_sha256_hex);
use ParleyTest;

my $t = ParleyTest->new(env => { PARLEY_RETENTION_INTERVAL => 0, PARLEY_RETENTION_BATCH => 10,
    PARLEY_WIDGET_MESSAGE_RATE => 10000, PARLEY_WIDGET_SESSION_RATE => 10000 });
my $pw = 'tangerine-orbit-velvet-42';
my $n = 0;
sub company {
	my ($tag) = @_;
	my $o = $t->signup(headers => { 'x-forwarded-for' => '203.0.113.' . ++$n },
	    json => { email => "own\@$tag.example", password => $pw, name => 'Ow Ner', company_name => $tag })->{json};
	my $auth = { authorization => "Bearer $o->{access_token}" };
	my $bot = $t->post('/api/v1/chatbots', headers => $auth,
	    json => { name => 'Help', allowed_origins => ["https://$tag.example"] })->{json};
	return { id => $o->{company}{id}, auth => $auth, bot => $bot, origin => "https://$tag.example", user => $o->{user}{id} };
}
sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h, defined $j ? (json => $j) : ()) }
# A visitor (identified: name, e-mail, user id) with one conversation.
sub chat {
	my ($c, $who, @texts) = @_;
	my $r = $t->post('/api/v1/widget/sessions', headers => { origin => $c->{origin} },
	    json => { bot_key => $c->{bot}{public_key}, identity => { user_id => $who, email => "$who\@buyer.example",
	    name => "Name $who", hmac => hmac_sha256_hex($who, $c->{bot}{identity_secret}) } });
	die $r->{content} unless $r->{status} == 201;
	my $v = { authorization => "Bearer $r->{json}{token}" };
	req('POST', '/api/v1/widget/consent', $v, { categories => ['essential'], policy_version => '1' });
	my $conv = req('POST', '/api/v1/widget/conversations', $v)->{json}{id};
	$t->visitor_say($r->{json}{token}, $conv, $_) for @texts;
	return ($conv, $r->{json}{visitor}{id});
}
# Moves a conversation (and its visitor's last visit) 'days' back.
sub age {
	my ($conv, $days) = @_;
	$t->sql(qq{UPDATE conversations SET created_at = created_at - interval '$days days', last_message_at = last_message_at - interval '$days days',
	    first_visitor_at = first_visitor_at - interval '$days days', first_response_at = first_response_at - interval '$days days' WHERE id = ?}, $conv);
	$t->sql(qq{UPDATE visitors SET last_seen_at = last_seen_at - interval '$days days', created_at = created_at - interval '$days days'
	    WHERE id = (SELECT visitor_id FROM conversations WHERE id = ?)}, $conv);
}
sub ctl {
	my (@args) = @_;
	local $ENV{PARLEY_CONFIG} = '';
	local $ENV{PARLEY_DATABASE_URL} = $t->app_conninfo;
	local $ENV{PARLEY_RETENTION_BATCH} = 10;
	my $out = `'@{[ ParleyTest->builddir ]}/parleyctl' retention run @args 2>&1`;
	return ($? >> 8, $out);
}
sub figure { my ($out, $name) = @_; $out =~ /^\Q$name\E: (\d+)$/m ? $1 : -1 }

my $del = company('delete-co');
my $anon = company('anon-co');
my $keep = company('keep-co');

# --- settings ---------------------------------------------------------------------------
my $r = req('GET', '/api/v1/company', $del->{auth});
is_deeply [@{ $r->{json}{settings} }{qw(retention_period retention_action)}], ['90_days', 'delete'],
    'defaults: 90 days, delete';
$r = req('PATCH', '/api/v1/company', $del->{auth}, { settings => { retention_period => '45_days' } });
is $r->{status}, 422, 'a period not offered: 422';
is $r->{json}{errors}[0]{field}, 'settings.retention_period', '... naming the setting';
is req('PATCH', '/api/v1/company', $del->{auth}, { settings => { retention_action => 'shred' } })->{status}, 422,
    'an action not offered: 422';
$r = req('PATCH', '/api/v1/company', $del->{auth}, { settings => { retention_period => '30_days' } });
is $r->{status}, 200, 'the owner sets 30 days';
is $r->{json}{settings}{retention_period}, '30_days', '... answered';
is $t->sql(q{SELECT changes::text AS c FROM audit_log WHERE company_id = ? AND action = 'company.update' ORDER BY seq DESC LIMIT 1}, $del->{id})->[0]{c},
    '{"settings.retention_period": {"new": "30_days", "old": "90_days"}}', '... audited with the old and new value';
is req('PATCH', '/api/v1/company', $anon->{auth}, { settings => { retention_period => '30_days', retention_action => 'anonymise' } })->{status},
    200, 'another company anonymises after 30 days';
is req('PATCH', '/api/v1/company', $keep->{auth}, { settings => { retention_period => 'indefinitely' } })->{status}, 200,
    'a third keeps everything';

# --- data ---------------------------------------------------------------------------------
my (@old_del, @old_anon, %visitor);
for my $i (1 .. 23) {
	my ($c, $v) = chat($del, "d$i", "Hello, I am d$i, mail me at d$i\@buyer.example");
	push @old_del, $c;
	$visitor{$c} = $v;
	age($c, 40);
}
my ($recent_del) = chat($del, 'd-recent', 'A recent question');
# A visitor with an old conversation and a recent one is kept.
my ($old_of_active, $active_v) = chat($del, 'd-both', 'Old question from an active visitor');
age($old_of_active, 40);
$t->sql(q{UPDATE visitors SET last_seen_at = now() WHERE id = ?}, $active_v);
my ($recent_of_active) = chat($del, 'd-both', 'And a new one');
my @fixture = ('Hi, my email is jane.doe@example.com, can you check my order?', 'Call (555) 123-4567 or 555.987.6543 please',
    'My card 4111 1111 1111 1111 was charged twice!!', 'Order #12345 placed on 2024-05-01 at 10:30, total 49.99 EUR.');
for my $i (1 .. 12) {
	my ($c) = chat($anon, "a$i", @fixture);
	push @old_anon, $c;
	age($c, 40);
}
my ($recent_anon) = chat($anon, 'a-recent', 'My number is +44 20 7946 0958');
my ($old_keep) = chat($keep, 'k1', 'Keep me, k1@buyer.example');
age($old_keep, 400);

# Analytics over the old period, before.
my $from = $t->sql(q{SELECT to_char(now() - interval '60 days', 'YYYY-MM-DD') AS d})->[0]{d};
my $to = $t->sql(q{SELECT to_char(now() - interval '20 days', 'YYYY-MM-DD') AS d})->[0]{d};
my $before = req('GET', "/api/v1/analytics/summary?from=$from&to=$to", $del->{auth})->{json};
is $before->{conversations}, 24, 'analytics count the 24 old conversations';

# --- dry run -------------------------------------------------------------------------------------
my ($rc, $out) = ctl('--dry-run');
is $rc, 0, 'parleyctl retention run --dry-run' or diag $out;
like $out, qr/^dry run \(nothing changed\): 2 companies/m, '... two companies have a period';
is figure($out, 'conversations deleted'), 24, '... 24 conversations would be deleted';
is figure($out, 'conversations anonymised'), 12, '... 12 anonymised';
is $t->sql('SELECT count(*) AS n FROM conversations WHERE company_id = ?', $del->{id})->[0]{n}, 26, '... and nothing changed';
# A global option before the subcommand works as it does after it.
{
	my $cf = $t->dir . '/ctl.conf';
	open my $fh, '>', $cf or die $!;
	print $fh "retention_batch = 10\n";
	close $fh;
	local $ENV{PARLEY_CONFIG} = '';
	local $ENV{PARLEY_DATABASE_URL} = $t->app_conninfo;
	my $o = `'@{[ ParleyTest->builddir ]}/parleyctl' -c '$cf' retention run --dry-run 2>&1`;
	is $? >> 8, 0, 'parleyctl -c FILE retention run: -c before the subcommand' or diag $o;
	is figure($o, 'conversations deleted'), 24, '... the same dry run';
}

# --- the sweep ------------------------------------------------------------------------------------
my $msgs = $t->sql(q{SELECT count(*) AS n FROM messages m JOIN conversations c ON c.id = m.conversation_id
    WHERE c.company_id = ? AND c.last_message_at < now() - interval '30 days'}, $del->{id})->[0]{n};
($rc, $out) = ctl();
is $rc, 0, 'parleyctl retention run' or diag $out;
is figure($out, 'conversations deleted'), 24, '... deleted 24 conversations (in batches of 10)';
is figure($out, 'messages deleted'), $msgs, "... and their $msgs messages";
is figure($out, 'visitors deleted'), 23, '... and the 23 visitors left with none';
is figure($out, 'conversations anonymised'), 12, '... anonymised 12';
is figure($out, 'visitors anonymised'), 12, '... and their visitors';
is $t->sql(q{SELECT count(*) AS n FROM conversations WHERE id = ANY(?)}, [@old_del, $old_of_active])->[0]{n}, 0,
    'the old conversations are gone';
is $t->sql(q{SELECT count(*) AS n FROM messages WHERE conversation_id = ANY(?)}, \@old_del)->[0]{n}, 0, '... with their messages';
is $t->sql(q{SELECT count(*) AS n FROM visitors WHERE id = ANY(?)}, [map { $visitor{$_} } @old_del])->[0]{n}, 0,
    '... and their visitors';
is $t->sql(q{SELECT count(*) AS n FROM consents WHERE visitor_id = ANY(?)}, [map { $visitor{$_} } @old_del])->[0]{n}, 0,
    '... and consent records';
is $t->sql(q{SELECT count(*) AS n FROM conversations WHERE id IN (?, ?)}, $recent_del, $recent_of_active)->[0]{n}, 2,
    'recent conversations stay';
is $t->sql(q{SELECT count(*) AS n FROM visitors WHERE id = ?}, $active_v)->[0]{n}, 1, '... and an active visitor with an old one';
my $stats = $t->sql(q{SELECT * FROM conversation_stats WHERE company_id = ?}, $del->{id});
is scalar @$stats, 24, 'a row of figures per deleted conversation';
is_deeply [sort grep { !/^(company_id|conversation_id|chatbot_id|created_at|last_message_at|first_visitor_at|first_response_at|handed_off_at|resolved_at|status|handoff_reason|flag_reason|message_count|tokens|rating|assignee_id|deleted_at)$/ } keys %{ $stats->[0] }], [],
    '... holding times, counts and codes only';
my $after = req('GET', "/api/v1/analytics/summary?from=$from&to=$to", $del->{auth})->{json};
is_deeply $after, $before, 'analytics over the swept period are unchanged (counts, median first response, tokens)';

# Anonymised: text masked as the fixture says, identity gone.
my $texts = $t->sql(q{SELECT content FROM messages WHERE conversation_id = ? AND role = 'visitor' ORDER BY seq}, $old_anon[0]);
is_deeply [map { $_->{content} } @$texts], ['Hi, my email is [email], can you check my order?', 'Call [phone] or [phone] please',
    'My card [card] was charged twice!!', 'Order #12345 placed on 2024-05-01 at 10:30, total 49.99 EUR.'],
    'anonymised messages: e-mail, phone and card numbers masked, the rest kept';
my $vis = $t->sql(q{SELECT v.name, v.email, v.external_id, v.verified FROM visitors v JOIN conversations c ON c.visitor_id = v.id WHERE c.id = ?}, $old_anon[0])->[0];
ok !defined $vis->{name} && !defined $vis->{email} && !defined $vis->{external_id} && !$vis->{verified},
    "... the visitor's name, e-mail and user id removed";
is $t->sql(q{SELECT count(*) AS n FROM conversations WHERE id = ANY(?) AND anonymised_at IS NOT NULL}, \@old_anon)->[0]{n}, 12,
    '... the conversations kept, marked anonymised';
is $t->sql(q{SELECT content FROM messages WHERE conversation_id = ? AND role = 'visitor'}, $recent_anon)->[0]{content},
    'My number is +44 20 7946 0958', 'a recent conversation of that company is untouched';
is $t->sql(q{SELECT count(*) AS n FROM conversations WHERE id = ?}, $old_keep)->[0]{n}, 1, 'a company keeping everything keeps it';
like $t->sql(q{SELECT content FROM messages WHERE conversation_id = ? AND role = 'visitor'}, $old_keep)->[0]{content},
    qr/k1\@buyer\.example/, '... untouched';

# Written to after anonymisation (an agent's reply): anonymised again.
$t->sql(q{INSERT INTO messages (company_id, conversation_id, seq, role, content, created_at)
    SELECT company_id, id, message_count + 1, 'agent', 'Reach us at help@anon.example or +1 202 555 0143', now() - interval '35 days'
    FROM conversations WHERE id = ?}, $old_anon[1]);
# (As if anonymised 40 days ago and written to 35 days ago.)
$t->sql(q{UPDATE conversations SET message_count = message_count + 1, last_message_at = now() - interval '35 days',
    anonymised_at = now() - interval '40 days' WHERE id = ?}, $old_anon[1]);
# An identified visitor, quiet for long, with no conversation at all.
my $quiet = $t->post('/api/v1/widget/sessions', headers => { origin => $anon->{origin} },
    json => { bot_key => $anon->{bot}{public_key}, identity => { user_id => 'q1', email => 'q1@buyer.example',
    name => 'Quiet One', hmac => hmac_sha256_hex('q1', $anon->{bot}{identity_secret}) } })->{json}{visitor}{id};
$t->sql(q{UPDATE visitors SET last_seen_at = now() - interval '50 days' WHERE id = ?}, $quiet);
($rc, $out) = ctl();
is figure($out, 'conversations anonymised'), 1, 'a conversation written to after its anonymisation is anonymised again';
like $t->sql(q{SELECT content FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT 1}, $old_anon[1])->[0]{content},
    qr/^Reach us at \[email\] or \[phone\]$/, '... its new message masked';
is figure($out, 'visitors anonymised'), 1, 'a quiet visitor with no conversation loses their identity too';
ok !defined $t->sql('SELECT email FROM visitors WHERE id = ?', $quiet)->[0]{email}, '... the address gone';

# Idempotent.
($rc, $out) = ctl();
is figure($out, 'conversations deleted') + figure($out, 'conversations anonymised') + figure($out, 'visitors deleted'), 0,
    'a second run finds nothing to do';

# --- on a schedule, in the jobs processes ------------------------------------------------------------
my ($late) = chat($del, 'd-late', 'Old by the time the jobs process looks');
age($late, 45);
$t->stop_parleyd;
$t->{env}{PARLEY_RETENTION_INTERVAL} = 1;
$t->start_parleyd;
ParleyTest::wait_for(sub { !$t->sql('SELECT count(*) AS n FROM conversations WHERE id = ?', $late)->[0]{n} }, 'the scheduled sweep');
pass 'the jobs process swept on its own';
ok scalar(grep { $_->{event} eq 'retention_sweep' && ($_->{conversations_deleted} // 0) >= 1 } $t->log_events),
    '... and logged what it did (counts only)';

done_testing;
