# Detection and alerting (issue 20, items 1 and 2; sql/040-detection.sql,
# src/detect.c, src/api_alerts.c): each rule fires on the pattern it
# names and stays quiet on a normal day's traffic replayed around it; one
# alert per incident, with a count; per-account baselines; the new
# sign-in mail and its link, which ends only that session; alerts listed,
# acknowledged and resolved (audited), mailed to owners and admins through
# the digest, and delivered as the signed webhook event security.alert.
#
# Time: baselines are kept per hour. The replay moves the company's
# detection clock back one hour between replayed hours (UPDATE
# detect_counters SET hour = hour - 1 hour), which is exactly what an hour
# passing looks like to parley_detect_count(); nothing else is faked.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(decode_base64 encode_base64);
use ParleyTest;

# An office behind one NAT: its logins are not rate-limited away here
# (production sets login_max_per_ip for such sites too).
my $t = ParleyTest->new(receiver => 1, env => { PARLEY_WEBHOOK_ALLOW_HTTP => 1,
    PARLEY_WEBHOOK_ALLOW_LOOPBACK => 1, PARLEY_LOGIN_MAX_PER_IP => 100000,
    PARLEY_LOGIN_MAX_PER_ACCOUNT => 100000, PARLEY_NOTIFY_SWEEP_INTERVAL => 1 });
my $pw = 'a detection passphrase';
my $firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
my $chrome_win = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';
my $office = '198.51.100';
my $own = $t->signup(headers => { 'x-forwarded-for' => "$office.1", 'user-agent' => $firefox },
    json => { email => 'owner@watch.example', password => $pw, name => 'Ow Ner', company_name => 'Watch Co' })->{json};
my $cid = $own->{company}{id};
my $oa = { authorization => "Bearer $own->{access_token}", 'x-forwarded-for' => "$office.1", 'user-agent' => $firefox };
my $hash = $t->sql('SELECT password_hash FROM users WHERE id = ?', $own->{user}{id})->[0]{password_hash};
sub user {
	my ($name, $role) = @_;
	return $t->sql(q{INSERT INTO users (company_id, email, name, role, password_hash) VALUES (?, ?, ?, ?, ?) RETURNING id},
	    $cid, "$name\@watch.example", "\u$name", $role, $hash)->[0]{id};
}
sub login {
	my ($name, %o) = @_;
	return $t->post('/api/v1/auth/login', headers => { 'x-forwarded-for' => $o{from} // "$office.7",
	    'user-agent' => $o{ua} // $firefox }, json => { email => "$name\@watch.example", password => $o{password} // $pw });
}
sub alerts { my ($rule) = @_; $t->sql(q{SELECT * FROM security_alerts WHERE company_id = ? AND rule = ? ORDER BY first_seen}, $cid, $rule) }
sub all_alerts { $t->sql(q{SELECT rule, subject, count FROM security_alerts WHERE company_id = ? ORDER BY rule}, $cid) }
sub hour_passes {
	$t->sql(q{UPDATE detect_counters SET hour = hour - interval '1 hour' WHERE company_id = ?}, $cid);
	$t->sql(q{UPDATE login_failure_sources SET at = at - interval '1 hour'});
}

my $admin_id = user('admin', 'admin');
my @staff = map { user("agent$_", 'member') } 1 .. 12;
my $kiosk_id = user('kiosk', 'member');
# The receivers: security.* (answers 200) and member.* (turned off below).
my $hook = $t->post('/api/v1/webhook-endpoints', headers => $oa,
    json => { url => $t->receiver_url('/security'), events => ['security.*'] })->{json};
ok $hook->{secret}, 'an endpoint subscribed to security.*: security.alert is a known event';
my $key = $t->post('/api/v1/api-keys', headers => $oa, json => { name => 'reporting', scopes => ['conversations:read'] })->{json};
my $kh = sub { { authorization => "Bearer $key->{key}", 'x-forwarded-for' => $_[0] // '192.0.2.10', 'user-agent' => 'curl/8.5.0' } };
my $bot = $t->post('/api/v1/chatbots', headers => $oa, json => { name => 'Shop', allowed_origins => ['https://shop.example'] })->{json};
sub csp { $t->post('/api/v1/csp-report', headers => { 'content-type' => 'application/csp-report', 'x-forwarded-for' => "203.0.113.$_[0]" },
    body => encode_json({ 'csp-report' => { 'document-uri' => $t->url("/widget/frame?bot=$bot->{public_key}"),
	'violated-directive' => 'img-src', 'effective-directive' => 'img-src', 'blocked-uri' => 'https://ads.example/p.gif' } })) }

# --- a normal day, replayed: 24 hours ---------------------------------------------
# Every agent signs in each morning from the office with their browser, a
# few mistype their password once, the kiosk account (a shared terminal)
# fails a few times an hour, the reporting key reads conversations every
# hour from its server, someone opens a stale link (one unknown id), the
# widget's CSP reports trickle in, and an admin exports the audit log once.
my ($events, $requests) = (0, 0);
for my $h (0 .. 23) {
	if ($h == 8) {
		for my $i (0 .. $#staff) {
			if ($i % 4 == 0) { login("agent" . ($i + 1), password => 'mistyped') ; $events++; $requests++ }
			my $r = login("agent" . ($i + 1));
			$events++; $requests++;
			BAIL_OUT("agent login: $r->{status}") unless $r->{status} == 200;
		}
		my $r = login('admin');
		$requests++;
		$t->get('/api/v1/audit-log/export.csv', headers => { authorization => "Bearer $r->{json}{access_token}",
		    'x-forwarded-for' => "$office.7", 'user-agent' => $firefox });
		$events++; $requests += 1;
	}
	for (1 .. 5) { login("kiosk", password => "wrong at the kiosk"); $events++; $requests++ }
	login('kiosk'); $events++; $requests++;
	for (1 .. 4) { $t->get('/api/v1/conversations', headers => $kh->()); $requests++ }
	if ($h % 6 == 3) {
		$t->get('/api/v1/conversations/00000000-0000-4000-8000-000000000000', headers => $kh->());
		$events++; $requests++;
	}
	if ($h % 3 == 0) { csp($h); $events++; $requests++ }
	hour_passes();
}
my @fp = @{ all_alerts() };
# $events: what detection judged (security events, the audit export,
# the CSP reports it counts).
is scalar @fp, 0, "a normal day ($requests requests, $events events judged, "
    . (@staff + 3) . " accounts): no alert" or diag explain \@fp;
my $kiosk_base = $t->sql(q{SELECT baseline FROM detect_counters WHERE company_id = ? AND rule = 'login_failures' AND subject = ?},
    $cid, "user:$kiosk_id")->[0]{baseline};
ok $kiosk_base > 2, "the kiosk's baseline is its own: $kiosk_base failed logins an hour";
is $t->sql(q{SELECT count(*) AS n FROM known_networks WHERE company_id = ? AND subject LIKE 'user:%'}, $cid)->[0]{n}, @staff + 3,
    'each account has its one office network and browser';
my @mails = grep { $_->{subject} =~ /New sign-in/ } $t->mails;
is scalar @mails, 0, 'nobody was told of a new sign-in on a normal day';

# --- login_failures: one account, beyond its baseline ------------------------------
my $victim = 'agent2';
my $attacker = '203.0.113.50';
login($victim, from => $attacker, password => "guess $_") for 1 .. 9;
is scalar @{ alerts('login_failures') }, 0, '9 failed logins of an agent in an hour: under the minimum of 10';
login($victim, from => $attacker, password => 'guess 10');
my $a = alerts('login_failures');
is scalar @$a, 1, 'the 10th opens one alert';
is $a->[0]{subject}, "user:$staff[1]", '... about that account';
is $a->[0]{severity}, 'medium', '... of medium severity';
login($victim, from => $attacker, password => "guess $_") for 11 .. 14;
$a = alerts('login_failures');
is scalar @$a, 1, 'more failures: still one alert (one incident)';
is $a->[0]{count}, 5, '... counting them (5 events past the threshold)';
login('kiosk', password => "kiosk typo $_") for 1 .. 10;
is scalar @{ alerts('login_failures') }, 1, "10 failures of the kiosk: quiet, its baseline ($kiosk_base/h x 3) is higher";
login('kiosk', password => "kiosk typo $_") for 11 .. 30;
is scalar @{ alerts('login_failures') }, 2, '... 30 in an hour (past 3 x its baseline) is not';

# --- credential stuffing: one address, many accounts -----------------------------
my $bad = '203.0.113.66';
for my $who (qw(agent5 agent6 nobody1 nobody2)) {
	login($who, from => $bad, ua => 'python-requests/2.31', password => 'Winter2026!');
}
is scalar @{ alerts('credential_stuffing') }, 0, 'one address failing against 4 accounts: under the threshold of 5';
login('nobody3', from => $bad, ua => 'python-requests/2.31', password => 'Winter2026!');
$a = alerts('credential_stuffing');
is scalar @$a, 1, 'the 5th account (two of them ours, three unknown) opens an alert in the company';
is $a->[0]{subject}, "address:$bad", '... about the address';
is decode_json($a->[0]{detail})->{threshold}, 5, '... and the threshold (not how many accounts of other companies it tried)';
is $a->[0]{severity}, 'high', '... high';
like $t->slurp('parleyd.log'), qr/"event":"security_alert"[^\n]*"rule":"credential_stuffing"[^\n]*"addr":"\Q$bad\E"/,
    'the operator gets one structured log line with the address';

# --- a new sign-in: the mail, its link, only that session ends -------------------
my $s_office = login('agent3')->{json};
my $s_new = login('agent3', from => '192.0.2.200', ua => $chrome_win)->{json};
my $mail = $t->wait_mail('agent3@watch.example', qr/New sign-in/);
like $mail->{body}, qr/Chrome on Windows/, 'a sign-in from a new network and browser: the member is mailed the browser';
like $mail->{body}, qr{192\.0\.2\.0/24}, '... and the network (the /24, not the address)';
my ($token) = $mail->{body} =~ m{/sign-in-check#token=(\S+)};
ok $token, '... with a link to the console page';
sub new_sign_ins { $t->sql(q{SELECT count(*) AS n FROM security_events WHERE company_id = ? AND kind = 'new_sign_in' AND user_id = ?},
    $cid, $staff[2])->[0]{n} }
is new_sign_ins(), 1, '... recorded as the security event new_sign_in';
login('agent3', from => '192.0.2.201', ua => $chrome_win);
is new_sign_ins(), 1, 'the same network and browser again: nothing new (no second mail)';
login('agent3', from => '192.0.2.201', ua => $firefox);
is new_sign_ins(), 2, 'that network with another browser family: new';
my $r = $t->post('/api/v1/auth/sign-in-revoke', json => { token => $token . 'x' });
is $r->{status}, 400, 'a tampered link: 400';
$r = $t->post('/api/v1/auth/sign-in-revoke', json => { token => $token });
is $r->{status}, 200, 'the link ends the session';
is $t->get('/api/v1/me', headers => { authorization => "Bearer $s_new->{access_token}" })->{status}, 401,
    '... that session is over at once';
is $t->get('/api/v1/me', headers => { authorization => "Bearer $s_office->{access_token}" })->{status}, 200,
    '... the office session still works';
is $t->post('/api/v1/auth/refresh', json => { refresh_token => $s_new->{refresh_token} })->{status}, 401,
    "... and the new one's refresh token is dead";
$r = $t->post('/api/v1/auth/sign-in-revoke', json => { token => $token });
is $r->{status}, 410, 'the link works once: 410 link_used';
is $r->{json}{code}, 'link_used', '... link_used';
login('agent3', from => '192.0.2.202', ua => $chrome_win);
is new_sign_ins(), 3, "the ended sign-in's network and browser are forgotten: from there again, mailed again";
$a = alerts('sign_in_revoked');
is scalar @$a, 1, "the admins hear of it: sign_in_revoked";
is $a->[0]{subject}, "session:$s_new->{session_id}", '... naming the session';
is $a->[0]{severity}, 'high', '... high';
{
	# An expired link, made with the same key: refused.
	my ($c, $s, $exp, $mac) = split /\./, $token;
	is $t->post('/api/v1/auth/sign-in-revoke', json => { token => "$c.$s." . ($exp - 86400 * 30) . ".$mac" })->{status}, 400,
	    'a link whose expiry was edited: 400';
}

# --- refresh token reuse, MFA, roles ------------------------------------------------
my $s = login('agent4')->{json};
my $rot = $t->post('/api/v1/auth/refresh', json => { refresh_token => $s->{refresh_token} })->{json};
ok $rot->{refresh_token}, 'a refresh rotates the token';
is $t->post('/api/v1/auth/refresh', json => { refresh_token => $s->{refresh_token} })->{status}, 401, 'the old one again: refused';
$a = alerts('refresh_reuse');
is scalar @$a, 1, '... and an alert: refresh_reuse';
is $a->[0]{severity}, 'high', '... high';
is $a->[0]{user_id}, $staff[3], '... naming the account';

# A rule that fails takes nothing down: the session is still ended.
$t->sql(q{ALTER TABLE security_alerts ADD CONSTRAINT t100_no_alerts CHECK (rule <> 'refresh_reuse' OR count > 1) NOT VALID});
{
	my $s2 = login('agent8')->{json};
	$t->post('/api/v1/auth/refresh', json => { refresh_token => $s2->{refresh_token} });
	my $again = $t->post('/api/v1/auth/refresh', json => { refresh_token => $s2->{refresh_token} });
	is $again->{json}{code}, 'refresh_reused', 'with the alert table refusing the alert: the reuse is still refused';
	is $t->get('/api/v1/me', headers => { authorization => "Bearer $s2->{access_token}" })->{status}, 401,
	    '... and its session still ended (detection ran in a savepoint)';
	is $t->sql(q{SELECT count(*) AS n FROM security_events WHERE company_id = ? AND kind = 'refresh_reuse' AND user_id = ?},
	    $cid, $staff[7])->[0]{n}, 1, '... and the event recorded';
	like $t->slurp('parleyd.log'), qr/"event":"detect_failed"[^\n]*"code":"refresh_reuse"/, '... the failure logged';
}
$t->sql(q{ALTER TABLE security_alerts DROP CONSTRAINT t100_no_alerts});

ok $t->request('PATCH', "/api/v1/members/$staff[4]", headers => $oa, json => { role => 'member' })->{status} < 300,
    'a member "made" member: no change of role';
is scalar @{ alerts('role_granted') }, 0, '... no alert';
is $t->request('PATCH', "/api/v1/members/$staff[4]", headers => $oa, json => { role => 'admin' })->{status}, 200,
    'a member made admin';
$a = alerts('role_granted');
is scalar @$a, 1, '... role_granted';
is decode_json($a->[0]{detail})->{role}, 'admin', '... naming the role';
is decode_json($a->[0]{detail})->{granted_by}, $own->{user}{id}, '... and who granted it';

# Joining as admin by an invitation is a grant too.
# (The company outgrew its plan's members with the replay's accounts.)
$t->sql(q{UPDATE plans SET max_members = NULL WHERE id = (SELECT plan FROM companies WHERE id = ?)}, $cid);
is $t->post('/api/v1/invitations', headers => $oa, json => { email => 'newadmin@watch.example', role => 'admin' })->{status}, 201,
    'an admin invited';
{
	my $m = $t->wait_mail('newadmin@watch.example', qr/invited/);
	my ($tok) = $m->{body} =~ m{/accept-invitation#token=([A-Za-z0-9_-]{43})};
	my $j = $t->post('/api/v1/invitations/accept', headers => { 'x-forwarded-for' => "$office.8", 'user-agent' => $firefox },
	    json => { token => $tok, name => 'New Admin', password => $pw });
	is $j->{status}, 201, '... joins';
	$a = alerts('role_granted');
	is scalar @$a, 2, '... role_granted again, for the new admin';
	is decode_json($a->[1]{detail})->{via}, 'invitation', '... by invitation';
}

SKIP: {
	skip 'oathtool is not installed', 6 unless -x '/usr/bin/oathtool';
	my $m = login('agent6')->{json};
	my $mh = { authorization => "Bearer $m->{access_token}", 'x-forwarded-for' => "$office.7", 'user-agent' => $firefox };
	my $secret = $t->post('/api/v1/auth/mfa/totp/setup', headers => $mh)->{json}{secret};
	sleep 30 - time % 30 if time % 30 >= 25; # a code's step must not end mid-request
	chomp(my $code = `oathtool --totp -b $secret`);
	my $codes = $t->post('/api/v1/auth/mfa/totp/enable', headers => $mh, json => { code => $code })->{json}{recovery_codes};
	is scalar @$codes, 10, 'MFA on, with recovery codes';
	is scalar @{ alerts('recovery_code_used') }, 0, 'no alert for turning it on';
	my $l = $t->post('/api/v1/auth/login', headers => { 'x-forwarded-for' => "$office.7", 'user-agent' => $firefox },
	    json => { email => 'agent6@watch.example', password => $pw, totp_code => $codes->[0] });
	is $l->{status}, 200, 'a login with a recovery code';
	is scalar @{ alerts('recovery_code_used') }, 1, '... opens recovery_code_used';
	is $t->post('/api/v1/auth/mfa/totp/disable', headers => $mh, json => { password => $pw, code => $codes->[1] })->{status}, 204,
	    'MFA turned off';
	is scalar @{ alerts('mfa_disabled') }, 1, '... opens mfa_disabled';
}

# --- someone walking ids ----------------------------------------------------------
for my $i (1 .. 19) {
	$t->get(sprintf('/api/v1/conversations/00000000-0000-4000-8000-%012d', $i), headers => $kh->());
}
is scalar @{ alerts('id_walking') }, 0, '19 unknown ids from the key in an hour: under 20';
$t->get('/api/v1/conversations/00000000-0000-4000-8000-000000000020', headers => $kh->());
$a = alerts('id_walking');
is scalar @$a, 1, 'the 20th: id_walking';
is $a->[0]{subject}, "key:$key->{id}", '... about the key';

# --- exports beyond the usual --------------------------------------------------------
my $ah = { authorization => 'Bearer ' . login('admin')->{json}{access_token}, 'x-forwarded-for' => "$office.7", 'user-agent' => $firefox };
$t->get('/api/v1/audit-log/export.csv', headers => $ah) for 1 .. 4;
is scalar @{ alerts('unusual_export') }, 0, '4 audit exports in an hour: quiet';
$t->get('/api/v1/audit-log/export.csv', headers => $ah);
$a = alerts('unusual_export');
is scalar @$a, 1, 'the 5th: unusual_export';
is $a->[0]{subject}, 'company:audit_log.export', '... naming the kind of export';

# --- an API key from a new network ------------------------------------------------
is $t->get('/api/v1/conversations', headers => $kh->('192.0.2.11'))->{status}, 200, 'the key from another address of its /24';
is scalar @{ alerts('api_key_new_network') }, 0, '... is its known network';
is $t->get('/api/v1/conversations', headers => $kh->('203.0.113.200'))->{status}, 200, 'the key from a network it never used';
$a = alerts('api_key_new_network');
is scalar @$a, 1, '... api_key_new_network';
is decode_json($a->[0]{detail})->{network}, '203.0.113.0/24', '... naming the network';
$t->get('/api/v1/conversations', headers => $kh->('203.0.113.201'));
is alerts('api_key_new_network')->[0]{count}, 1, '... which is known from then on';

# --- a CSP spike from the widget ------------------------------------------------------
csp($_) for 1 .. 49;
is scalar @{ alerts('csp_spike') }, 0, '49 CSP reports from the widget in an hour: quiet';
csp(50);
$a = alerts('csp_spike');
is scalar @$a, 1, 'the 50th: csp_spike';
is $a->[0]{subject}, "chatbot:$bot->{id}", '... about the chatbot';

# --- a webhook endpoint turned off -----------------------------------------------
my $gone = $t->post('/api/v1/webhook-endpoints', headers => $oa,
    json => { url => $t->receiver_url('/members'), events => ['member.*'] })->{json};
# The security deliveries so far are done, so the one 410 scripted next
# answers the member.* delivery.
ParleyTest::wait_for(sub { !$t->sql(q{SELECT count(*) AS n FROM jobs WHERE kind = 'webhook' AND done_at IS NULL AND failed_at IS NULL})->[0]{n} },
    'the deliveries so far');
$t->receiver_script({ status => 410 });
$t->sql(q{UPDATE users SET name = 'Renamed' WHERE id = ?}, $staff[7]);
ParleyTest::wait_for(sub { @{ alerts('webhook_disabled') } }, 'the endpoint turned off');
is alerts('webhook_disabled')->[0]{subject}, "endpoint:$gone->{id}", 'a 410 turns the endpoint off: webhook_disabled';

# --- the alerts: listed, delivered, mailed ------------------------------------------
$r = $t->get('/api/v1/security-alerts', headers => $oa);
is $r->{status}, 200, 'owners list the alerts';
my %rules = map { $_->{rule} => $_ } @{ $r->{json}{items} };
is_deeply [sort keys %rules], [sort qw(login_failures credential_stuffing sign_in_revoked refresh_reuse role_granted
    id_walking unusual_export api_key_new_network csp_spike webhook_disabled),
    (-x '/usr/bin/oathtool' ? qw(recovery_code_used mfa_disabled) : ())], '... one per rule that fired';
is scalar @{ $r->{json}{items} }, 12 + (-x '/usr/bin/oathtool' ? 2 : 0), '... and one more each for the kiosk and the invited admin';
is $t->get('/api/v1/security-alerts', headers => { authorization => "Bearer $s_office->{access_token}" })->{status}, 403,
    'members may not';

# Each opened alert was delivered to the company's endpoint, signed.
ParleyTest::wait_for(sub { (grep { $_->{path} eq '/security' } @{ $t->receiver_requests }) >= 12 }, 'the security.alert deliveries');
my @got = grep { $_->{path} eq '/security' } @{ $t->receiver_requests };
my %types = map { decode_json($_->{body})->{type} => 1 } @got;
is_deeply [keys %types], ['security.alert'], 'security.alert deliveries, one per alert opened';
my ($stuffing) = grep { decode_json($_->{body})->{data}{rule} eq 'credential_stuffing' } @got;
ok $stuffing, '... credential_stuffing among them';
{
	my $body = decode_json($stuffing->{body});
	is $body->{data}{severity}, 'high', '... with its severity';
	is $body->{data}{subject}, "address:$bad", '... and subject';
	my ($id, $ts, $sig) = @{ $stuffing->{headers} }{qw(webhook-id webhook-timestamp webhook-signature)};
	my $want = 'v1,' . encode_base64(hmac_sha256("$id.$ts.$stuffing->{body}", decode_base64(substr $hook->{secret}, 6)), '');
	ok grep({ $_ eq $want } split / /, $sig), '... signed (Standard Webhooks)';
}
is scalar(grep { decode_json($_->{body})->{data}{rule} eq 'login_failures' } @got), 2,
    'more events of an open incident deliver nothing more (two login_failures incidents: two deliveries)';

# The digest mail of owners and admins names the alerts; members get none.
$t->request('PATCH', '/api/v1/me/notification-settings', headers => $oa, json => { email_delay_seconds => 0 });
$mail = $t->wait_mail('owner@watch.example', qr/Security alert/);
like $mail->{body}, qr/Security alert \(high\): One address failing to log in to many accounts/, 'the owner is mailed the alerts';
like $mail->{body}, qr{/security\?alert=[0-9a-f-]{36}}, '... with links to the console';
unlike $mail->{body}, qr/\Q$bad\E|Winter2026/, '... naming neither the address nor anything typed';
ok !grep({ $_->{to} =~ /^agent/ && $_->{subject} =~ /Security alert/ } $t->mails), 'agents (members) are not mailed alerts';
my $n = $t->get('/api/v1/notifications', headers => $oa)->{json};
ok scalar(grep { $_->{kind} eq 'security_alert' && $_->{alert_id} } @{ $n->{items} }) >= 12, 'the console lists them as notifications';

# --- acknowledge, resolve, a new incident ----------------------------------------
my $rr = $rules{refresh_reuse};
$r = $t->request('PATCH', "/api/v1/security-alerts/$rr->{id}", headers => $oa, json => { state => 'acknowledged' });
is $r->{status}, 200, 'an alert acknowledged';
is $r->{json}{state}, 'acknowledged', '... acknowledged';
is $r->{json}{acknowledged_by}, $own->{user}{id}, '... by whom';
my $entry = $t->sql(q{SELECT changes FROM audit_log WHERE company_id = ? AND action = 'security_alert.update' ORDER BY seq DESC LIMIT 1}, $cid)->[0];
like $entry->{changes}, qr/"state":\s*\{"new":\s*"acknowledged",\s*"old":\s*"open"\}/, '... audited with old and new state';
{
	my $audits = $t->sql(q{SELECT count(*) AS n FROM audit_log WHERE company_id = ? AND action = 'security_alert.update'}, $cid)->[0]{n};
	my $same = $t->request('PATCH', "/api/v1/security-alerts/$rr->{id}", headers => $oa, json => { state => 'acknowledged' });
	is $same->{status}, 200, 'acknowledged again: 200';
	is $same->{json}{state}, 'acknowledged', '... still acknowledged';
	is $t->sql(q{SELECT count(*) AS n FROM audit_log WHERE company_id = ? AND action = 'security_alert.update'}, $cid)->[0]{n}, $audits,
	    '... nothing changed, nothing audited';
}
is $t->request('PATCH', "/api/v1/security-alerts/$rr->{id}", headers => $oa, json => { state => 'open' })->{status}, 422,
    'back to open: not a state one sets';
$r = $t->request('PATCH', "/api/v1/security-alerts/$rr->{id}", headers => $oa, json => { state => 'resolved' });
is $r->{json}{state}, 'resolved', 'then resolved';
is $t->request('PATCH', "/api/v1/security-alerts/$rr->{id}", headers => $oa, json => { state => 'acknowledged' })->{status}, 409,
    'a resolved alert stays resolved: 409';
$s = login('agent4')->{json};
$t->post('/api/v1/auth/refresh', json => { refresh_token => $s->{refresh_token} });
$t->post('/api/v1/auth/refresh', json => { refresh_token => $s->{refresh_token} });
is scalar @{ alerts('refresh_reuse') }, 2, 'the same rule and account again after resolving: a new alert';
is $t->get('/api/v1/security-alerts?state=open', headers => $oa)->{json}{items}[0]{rule}, 'refresh_reuse',
    '?state=open lists the open ones, newest first';
is $t->get("/api/v1/security-alerts/$rr->{id}", headers => $oa)->{json}{state}, 'resolved', 'one alert by id';

# Nothing of this reached the log but rules, codes and ids.
my $log = $t->slurp('parleyd.log');
unlike $log, qr/Winter2026|guess 1|kiosk typo|\Q$token\E/, 'no password or link token in the log';

done_testing;
