# Agents are told (sql/028-notifications.sql, src/notify.c,
# src/api_notifications.c): a handoff, an assignment and a visitor who
# writes while a person is wanted make notifications, whatever made the
# change (the visitor's handoff, the bot, an agent), for the assignee or
# every member, never for the agent who made it; the list keeps unread
# state; a digest mails what an agent has not seen after their quiet
# delay, one per agent per window, without any message's text, with an
# RFC 8058 one-click unsubscribe.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;

my $t = ParleyTest->new(env => { PARLEY_NOTIFY_SWEEP_INTERVAL => 1 });
my $https = $t->url('', 'https');
$https =~ s{/$}{};
$t->stop_parleyd;
$t->{env}{PARLEY_PUBLIC_BASE_URL} = $https;
$t->start_parleyd;
my $pw = 'a notifications passphrase';
my $own = $t->signup(json => { email => 'olive@notify.example', password => $pw, name => 'Olive', company_name => 'Notify Co' })->{json};
my $cid = $own->{company}{id};
my $oa = { authorization => "Bearer $own->{access_token}" };
my $aa = $t->add_member({ id => $cid, user => $own->{user}{id} }, 'arno@notify.example', 'member', $pw);
my $arno = $t->sql(q{SELECT id FROM users WHERE email = 'arno@notify.example'})->[0]{id};
my $other = $t->register_company('elsewhere', 'another passphrase here');
sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h, defined $j ? (json => $j) : ()) }
sub list { my ($h, $q) = @_; req('GET', '/api/v1/notifications' . ($q // ''), $h)->{json} }

my $bot = req('POST', '/api/v1/chatbots', $oa, { name => 'Garden help', allowed_origins => ['https://shop.example'] })->{json};
my $vt = $t->post('/api/v1/widget/sessions', headers => { origin => 'https://shop.example' }, json => { bot_key => $bot->{public_key} })->{json}{token};
my $vh = { authorization => "Bearer $vt" };
my $conv = req('POST', '/api/v1/widget/conversations', $vh)->{json}{id};
my $secret_text = 'my secret order number is 4711';

is_deeply list($oa)->{items}, [], 'nothing to tell at first';
is req('POST', "/api/v1/widget/conversations/$conv/handoff", $vh)->{status}, 200, 'the visitor asks for a person';
my $l = list($aa);
is scalar @{ $l->{items} }, 1, 'every member is told of the handoff (nobody is assigned)';
is $l->{items}[0]{kind}, 'handoff', '... a handoff';
is $l->{items}[0]{conversation_id}, $conv, '... of that conversation';
is $l->{items}[0]{chatbot_id}, $bot->{id}, '... of that chatbot';
is $l->{unread}, 1, '... unread';
is list($oa)->{unread}, 1, '... the owner too';
is list({ authorization => "Bearer $other->{token}" })->{unread}, 0, 'another company is told nothing';

# The visitor writes while a person is wanted: one row, counted.
$t->request('POST', "/api/v1/widget/conversations/$conv/messages", headers => $vh, json => { content => $secret_text });
$t->request('POST', "/api/v1/widget/conversations/$conv/messages", headers => $vh, json => { content => 'hello?' });
my ($vm) = grep { $_->{kind} eq 'visitor_message' } @{ list($aa)->{items} };
is $vm->{count}, 2, 'the visitor wrote twice while waiting: one notification, counted twice';

# The owner assigns Arno: Arno is told; the owner, who did it, is not.
is req('PATCH', "/api/v1/conversations/$conv", $oa, { assignee_id => $arno })->{status}, 200, 'the owner assigns Arno';
ok scalar(grep { $_->{kind} eq 'assigned' } @{ list($aa)->{items} }), 'Arno is told he was assigned';
ok !scalar(grep { $_->{kind} eq 'assigned' } @{ list($oa)->{items} }), '... the owner is not told of her own change';
# Now assigned: the visitor's next message tells Arno only.
my $before = (grep { $_->{kind} eq 'visitor_message' } @{ list($oa)->{items} })[0]{count};
$t->request('POST', "/api/v1/widget/conversations/$conv/messages", headers => $vh, json => { content => 'still there?' });
is((grep { $_->{kind} eq 'visitor_message' } @{ list($oa)->{items} })[0]{count}, $before, '... the owner is not told any more');
is((grep { $_->{kind} eq 'visitor_message' } @{ list($aa)->{items} })[0]{count}, 3, '... Arno, the assignee, is');

# Opening the conversation marks its notifications read.
is req('POST', '/api/v1/notifications/read', $aa, { conversation_id => $conv })->{json}{read}, 3, 'Arno reads them';
is list($aa)->{unread}, 0, '... none unread';
is scalar @{ list($aa, '?unread=true')->{items} }, 0, '... the unread filter agrees';
is scalar @{ list($aa)->{items} }, 3, '... the read ones are still listed';
is req('POST', '/api/v1/notifications/read', $aa, { ids => ['not-a-uuid'] })->{status}, 422, 'ids are checked';

# Preferences.
my $s = req('GET', '/api/v1/me/notification-settings', $oa)->{json};
is_deeply $s, { email => JSON::PP::true, email_delay_seconds => 600 }, 'digests by mail, after 10 minutes, by default';
is req('PATCH', '/api/v1/me/notification-settings', $oa, { email_delay_seconds => 90000 })->{status}, 422, 'a delay past a day: 422';

# The digest: what the owner has not seen, past her delay.
$t->sql(q{UPDATE notifications SET updated_at = now() - interval '1 hour' WHERE user_id = ?}, $own->{user}{id});
my $m = $t->wait_mail('olive@notify.example', qr/Visitors are waiting/);
ok $m, 'a digest is mailed once her notifications are older than her delay';
like $m->{body}, qr/Garden help/, '... naming the chatbot';
like $m->{body}, qr{/inbox\?c=\Q$conv\E}, '... with a link to the conversation';
unlike $m->{body}, qr/\Q$secret_text\E|still there|hello\?/, "... and no message's text";
like $m->{head}, qr{^List-Unsubscribe: <https?://[^>]+/api/v1/notifications/unsubscribe\?token=[^>]+>\r?$}m, '... List-Unsubscribe (RFC 8058)';
like $m->{head}, qr{^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$}m, '... and List-Unsubscribe-Post';
is scalar(grep { $_->{to} eq 'olive@notify.example' && $_->{subject} =~ /waiting/ } $t->mails), 1, '... one mail for both notifications';
ok !scalar(grep { ($_->{to} // '') eq 'arno@notify.example' && $_->{subject} =~ /waiting/ } $t->mails), 'Arno saw his: no mail';

# One per window: more news within the window is due, but not mailed.
my $conv2 = req('POST', '/api/v1/widget/conversations', $vh)->{json}{id};
req('POST', "/api/v1/widget/conversations/$conv2/handoff", $vh);
$t->sql(q{UPDATE notifications SET updated_at = now() - interval '1 hour'});
$t->sql(q{UPDATE users SET notify_delay = 1800});
is scalar @{ $t->sql(q{SELECT * FROM parley_lookup_notify_due(50) WHERE user_id = ?}, $own->{user}{id}) }, 0,
    'within the window of her last digest: nothing is due for her';
$t->sql(q{UPDATE users SET notify_digest_at = now() - interval '1 hour' WHERE id = ?}, $own->{user}{id});
ParleyTest::wait_for(sub { scalar(grep { $_->{to} eq 'olive@notify.example' && $_->{subject} =~ /waiting/ } $t->mails) == 2 }, 15);
is scalar(grep { $_->{to} eq 'olive@notify.example' && $_->{subject} =~ /waiting/ } $t->mails), 2, '... after it, the next digest';

# One click, as a mail client does it.
my ($url) = $m->{head} =~ /^List-Unsubscribe: <https?:\/\/[^\/]+([^>]+)>/m;
is $t->post('/api/v1/notifications/unsubscribe?token=' . ('x' x 120), body => 'List-Unsubscribe=One-Click',
    headers => { 'content-type' => 'application/x-www-form-urlencoded' })->{json}{code}, 'invalid_token', 'a forged token: 400';
my ($tok) = $url =~ /token=([^&]+)/;
(my $bad = $tok) =~ s/.$/$& eq 'A' ? 'B' : 'A'/e;
is $t->post("/api/v1/notifications/unsubscribe?token=$bad", body => 'List-Unsubscribe=One-Click',
    headers => { 'content-type' => 'application/x-www-form-urlencoded' })->{status}, 400, '... a changed one too';
is $t->post($url, body => 'List-Unsubscribe=One-Click', headers => { 'content-type' => 'application/x-www-form-urlencoded' })->{status}, 204,
    'the one-click unsubscribe';
is req('GET', '/api/v1/me/notification-settings', $oa)->{json}{email}, JSON::PP::false, '... turns her digests off';
is scalar @{ $t->sql(q{SELECT * FROM parley_lookup_notify_due(50) WHERE user_id = ?}, $own->{user}{id}) }, 0, '... so none is due';

# The console, in chromium.
my $chromium = -x '/usr/bin/chromium' ? '/usr/bin/chromium' : undef;
ok $chromium, 'chromium is installed' or BAIL_OUT('no chromium');
is list($aa)->{unread}, 1, 'Arno has one unread notification (the second handoff)';
local $ENV{BASE} = $https;
local $ENV{NODE_TLS_REJECT_UNAUTHORIZED} = '0';
local $ENV{CHROMIUM} = $chromium;
local $ENV{EMAIL} = 'arno@notify.example';
local $ENV{PASSWORD} = $pw;
local $ENV{VISITOR} = $vt;
local $ENV{UNSUBSCRIBE} = $tok;
local $ENV{OUT} = $t->dir;
my $checks = $t->browser_checks(ParleyTest->srcdir . '/t/browser/notifications.mjs');
cmp_ok $checks, '>=', 8, "the browser made its checks ($checks)";
is scalar(grep { $_->{event} eq 'csp_violation' } $t->log_events), 0, 'no CSP report';
done_testing;
