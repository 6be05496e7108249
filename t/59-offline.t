# Business hours and offline mode (sql/033-offline.sql, src/contact.c,
# src/api_contact.c): a chatbot's weekly schedule in its time zone with
# holidays; outside it the widget is told so; a visitor's address is
# confirmed by a mailed link before anything else goes to it; agents'
# replies the visitor has not seen are mailed after the quiet delay, one
# mail per window, with a link that opens that one conversation only;
# transcripts to the confirmed address only; erasure by that address.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;

my $t = ParleyTest->new(env => { PARLEY_NOTIFY_SWEEP_INTERVAL => 1, PARLEY_CONTACT_REPLY_DELAY => 2,
    PARLEY_CONTACT_RATE => 3 });
my $https = $t->url('', 'https');
$https =~ s{/$}{};
$t->stop_parleyd;
$t->{env}{PARLEY_PUBLIC_BASE_URL} = $https;
$t->start_parleyd;
my $pw = 'an offline mode passphrase';
my $own = $t->signup(json => { email => 'hedda@offline.example', password => $pw, name => 'Hedda', company_name => 'Offline Co' })->{json};
my $oa = { authorization => "Bearer $own->{access_token}" };
sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h, defined $j ? (json => $j) : ()) }

my $bot = req('POST', '/api/v1/chatbots', $oa, { name => 'Night shop', allowed_origins => ['https://shop.example'] })->{json};
my $hp = "/api/v1/chatbots/$bot->{id}/hours";

# --- business hours ---
my $h = req('GET', $hp, $oa)->{json};
is $h->{enabled}, JSON::PP::false, 'no schedule by default';
is $h->{open}, JSON::PP::true, '... so always within hours';
is $h->{opens_at}, undef, '... and no opening to wait for';
is $h->{ask_email}, JSON::PP::true, 'visitors are offered answers by e-mail by default';

my %week = (enabled => JSON::PP::true, timezone => 'Europe/Berlin',
    weekly => [map { { day => $_, opens => '09:00', closes => '17:00' } } qw(mon tue wed thu fri)],
    holidays => [{ date => '2026-12-24', name => 'Christmas Eve' }], offline_message => 'We answer on working days.');
is req('PUT', $hp, $oa, { %week, timezone => 'Mars/Olympus' })->{json}{errors}[0]{code}, 'unknown', 'an unknown time zone: 422 unknown';
is req('PUT', $hp, $oa, { %week, weekly => [{ day => 'mon', opens => '17:00', closes => '09:00' }] })->{json}{errors}[0]{field},
    'weekly[0].closes', 'a range that closes before it opens: 422 on weekly[0].closes';
is req('PUT', $hp, $oa, { %week, weekly => [{ day => 'mon', opens => '9:00', closes => '17:00' }] })->{status}, 422, 'times are HH:MM';
is req('PUT', $hp, $oa, { %week, weekly => [{ day => 'monday', opens => '09:00', closes => '17:00' }] })->{status}, 422, 'days are mon..sun';
is req('PUT', $hp, $oa, { %week, holidays => [{ date => '2026-12-24' }, { date => '2026-12-24' }] })->{json}{errors}[0]{field},
    'holidays[1].date', 'a holiday twice: 422';
is req('GET', $hp, $oa)->{json}{enabled}, JSON::PP::false, '... and a refused schedule changed nothing';
my $put = req('PUT', $hp, $oa, \%week);
is $put->{status}, 200, 'the schedule is set';
is scalar @{ $put->{json}{weekly} }, 5, '... five ranges';
is_deeply $put->{json}{holidays}, [{ date => '2026-12-24', name => 'Christmas Eve' }], '... the holiday';
my $audit = $t->sql(q{SELECT action FROM audit_log WHERE action = 'chatbot.hours'});
is scalar @$audit, 1, '... audited once';

# Evaluated in the chatbot's zone (Berlin: UTC+1 in winter, +2 in summer).
sub at { req('GET', "$hp?at=$_[0]", $oa)->{json} }
is at('2026-12-07T08:30:00Z')->{open}, JSON::PP::true, 'Monday 09:30 in Berlin (08:30 UTC, winter): open';
is at('2026-12-07T07:30:00Z')->{open}, JSON::PP::false, 'Monday 08:30 in Berlin: closed';
is at('2026-12-07T07:30:00Z')->{opens_at}, '2026-12-07T08:00:00.000Z', '... opening at 09:00 Berlin, 08:00 UTC';
is at('2026-06-08T07:30:00Z')->{open}, JSON::PP::true, 'Monday 09:30 in Berlin in summer (07:30 UTC): open';
is at('2026-12-05T12:00:00Z')->{opens_at}, '2026-12-07T08:00:00.000Z', 'Saturday: next open on Monday';
is at('2026-12-24T10:00:00Z')->{open}, JSON::PP::false, 'Christmas Eve (a Thursday) is a holiday: closed';
is at('2026-12-24T10:00:00Z')->{opens_at}, '2026-12-25T08:00:00.000Z', '... open again the next day';
is at('2026-12-07T16:00:00Z')->{open}, JSON::PP::false, 'Monday 17:00 in Berlin: closed (the end is exclusive)';

# Now: closed all week (enabled, no ranges), as at night.
is req('PUT', $hp, $oa, { %week, weekly => [], holidays => [] })->{status}, 200, 'a schedule with no hours: always closed';
my $s = $t->post('/api/v1/widget/sessions', headers => { origin => 'https://shop.example' }, json => { bot_key => $bot->{public_key} })->{json};
is $s->{chatbot}{within_hours}, JSON::PP::false, 'the widget session says it is outside hours';
is $s->{chatbot}{agents_available}, JSON::PP::false, '... and that nobody is online';
is $s->{chatbot}{offline_message}, 'We answer on working days.', '... with the company\'s words';
is $s->{chatbot}{ask_email}, JSON::PP::true, '... and that it answers by e-mail';
my $vh = { authorization => "Bearer $s->{token}" };
my $conv = req('POST', '/api/v1/widget/conversations', $vh)->{json}{id};
my $cp = "/api/v1/widget/conversations/$conv";
req('POST', "$cp/messages", $vh, { content => 'Do you ship to Norway?' });
my $ho = req('POST', "$cp/handoff", $vh)->{json};
is $ho->{within_hours}, JSON::PP::false, 'the handoff answer says it is outside hours';
is $ho->{contact}, undef, '... and that no address was left';

# --- the address ---
is req('POST', "$cp/transcript", $vh)->{json}{code}, 'contact_unconfirmed', 'no transcript before an address is confirmed';
my $c = req('POST', "$cp/contact", $vh, { email => 'Vera@Visitor.example' });
is $c->{status}, 202, 'the visitor leaves an address';
is_deeply $c->{json}, { email => 'Vera@Visitor.example', confirmed => JSON::PP::false }, '... unconfirmed';
my $m = $t->wait_mail('Vera@Visitor.example', qr/Confirm your address/);
ok $m, 'one confirmation mail goes to it';
my ($confirm) = $m->{body} =~ m{/widget/frame\?bot=\Q$bot->{public_key}\E#confirm=(\S+)};
ok $confirm, '... with a link to parley\'s chat page for this chatbot';

# An agent answers before the address is confirmed: nothing is mailed.
is req('POST', "/api/v1/conversations/$conv/messages", $oa, { content => 'Yes, we ship to Norway.' })->{status}, 201,
    'an agent replies next morning';
is $t->sql(q{SELECT contact_due_at FROM conversations WHERE id = ?}, $conv)->[0]{contact_due_at}, undef,
    'nothing is due to an unconfirmed address (the sweep mails only what is due)';

# A new address replaces it, and the old link dies.
is req('POST', "$cp/contact", $vh, { email => 'vera2@visitor.example' })->{status}, 202, 'the visitor corrects the address';
my $m2 = $t->wait_mail('vera2@visitor.example', qr/Confirm your address/);
my ($confirm2) = $m2->{body} =~ /#confirm=(\S+)/;
is $t->post('/api/v1/widget/links/confirm', json => { token => $confirm })->{json}{code}, 'link_invalid',
    'the first address\'s link no longer confirms anything';
my $bad = $confirm2;
$bad =~ s/.$/$& eq 'A' ? 'B' : 'A'/e;
is $t->post('/api/v1/widget/links/confirm', json => { token => $bad })->{json}{code}, 'link_invalid', 'a tampered link: 403';
is $t->post('/api/v1/widget/links/resume', json => { token => $confirm2 })->{json}{code}, 'link_invalid',
    'a confirmation link is not a resume link';

my $ok = $t->post('/api/v1/widget/links/confirm', json => { token => $confirm2 });
is $ok->{status}, 201, 'the visitor confirms';
is $ok->{json}{conversation_id}, $conv, '... and the link opens the same conversation';
is_deeply $ok->{json}{contact}, { email => 'vera2@visitor.example', confirmed => JSON::PP::true }, '... confirmed';

# The reply that waited unseen is mailed now, with a link.
my $r = $t->wait_mail('vera2@visitor.example', qr/A reply to your chat/);
like $r->{body}, qr/Yes, we ship to Norway\./, 'the waiting reply is mailed once the address is confirmed';
my ($resume) = $r->{body} =~ m{/widget/frame\?bot=\Q$bot->{public_key}\E#resume=(\S+)};
ok $resume, '... with a link to the conversation';

# The link's token opens that conversation, and only it.
my $ls = $t->post('/api/v1/widget/links/resume', json => { token => $resume });
is $ls->{status}, 201, 'the link opens the conversation';
my $lh = { authorization => "Bearer $ls->{json}{token}" };
my $msgs = req('GET', "$cp/messages", $lh)->{json}{items};
ok scalar(grep { $_->{content} eq 'Yes, we ship to Norway.' } @$msgs), '... with the agent\'s reply in it';
is req('GET', '/api/v1/widget/conversations', $lh)->{json}{code}, 'link_scope', '... nothing else: no list of conversations';
is req('POST', '/api/v1/widget/conversations', $lh)->{status}, 403, '... no new conversation';
my $other = req('POST', '/api/v1/widget/conversations', $vh)->{json}{id};
is req('GET', "/api/v1/widget/conversations/$other/messages", $lh)->{status}, 404, '... not the visitor\'s other conversation';
is req('POST', "$cp/messages", $lh, { content => 'Great, thanks!' })->{status}, 201, '... but the visitor can answer in it';

# Two replies in one window: one mail naming both.
my $before = scalar grep { $_->{subject} =~ /A reply/ } $t->mails;
req('POST', "/api/v1/conversations/$conv/messages", $oa, { content => 'Delivery takes 5 days.' });
req('POST', "/api/v1/conversations/$conv/messages", $oa, { content => 'Tracking comes by mail.' });
my $two;
ParleyTest::wait_for(sub { ($two) = grep { $_->{subject} =~ /A reply/ && $_->{body} =~ /Delivery takes/ } $t->mails; $two },
    'the second reply mail');
like $two->{body}, qr/Delivery takes 5 days\..*Tracking comes by mail\./s, 'two replies in one window: one mail with both';
unlike $two->{body}, qr/ship to Norway/, '... not the one mailed before';
is scalar(grep { $_->{subject} =~ /A reply/ } $t->mails), $before + 1, '... one mail, not two';

# A reply the widget showed is not mailed.
my $seen = req('POST', "/api/v1/conversations/$conv/messages", $oa, { content => 'Anything else?' })->{json};
my $seq = $t->sql(q{SELECT max(seq) AS s FROM messages WHERE conversation_id = ?}, $conv)->[0]{s};
is req('POST', "$cp/seen", $vh, { seq => $seq })->{json}{seen_seq}, $seq, 'the widget shows the reply to its visitor';
is $t->sql(q{SELECT contact_due_at FROM conversations WHERE id = ?}, $conv)->[0]{contact_due_at}, undef,
    '... so no mail is due for it';

# A transcript, to the confirmed address only.
is req('POST', "$cp/transcript", $vh)->{status}, 202, 'the visitor asks for a transcript';
my $tr = $t->wait_mail('vera2@visitor.example', qr/transcript/);
like $tr->{body}, qr/Do you ship to Norway\?.*Yes, we ship to Norway\..*Great, thanks!/s, '... the whole conversation, in order';
req('POST', "$cp/transcript", $vh) for 1 .. 2;
is req('POST', "$cp/transcript", $vh)->{status}, 429, '... at most transcript_rate per window';

# Leaving addresses is bounded per visitor.
my $s2 = $t->post('/api/v1/widget/sessions', headers => { origin => 'https://shop.example' }, json => { bot_key => $bot->{public_key} })->{json};
my $vh2 = { authorization => "Bearer $s2->{token}" };
my $conv2 = req('POST', '/api/v1/widget/conversations', $vh2)->{json}{id};
my @st = map { req('POST', "/api/v1/widget/conversations/$conv2/contact", $vh2, { email => "x$_\@spam.example" })->{status} } 1 .. 4;
is_deeply \@st, [202, 202, 202, 429], 'a visitor may leave contact_rate addresses per window';

# Not offered: refused.
req('PUT', $hp, $oa, { %week, ask_email => JSON::PP::false });
is req('POST', "/api/v1/widget/conversations/$conv2/contact", $vh2, { email => 'y@spam.example' })->{json}{code},
    'contact_not_offered', 'a chatbot that does not answer by e-mail refuses addresses';

# Erasure by the address the visitor left.
my $er = req('POST', '/api/v1/privacy/subject-erasure', $oa, { email => 'VERA2@visitor.example' });
is $er->{status}, 200, 'a data-subject erasure by the address they left';
is $er->{json}{visitors}, 1, '... finds the visitor';
is scalar @{ $t->sql(q{SELECT 1 FROM visitors WHERE contact_email = 'vera2@visitor.example'}) }, 0, '... and the address is gone';
is $t->post('/api/v1/widget/links/resume', json => { token => $resume })->{json}{code}, 'link_invalid',
    '... and its links open nothing';

done_testing;
