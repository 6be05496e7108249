# Who takes a handoff (sql/029-routing.sql, src/api_teams.c) and
# labels (src/api_labels.c): teams,
# presence and capacity; a chatbot's handoffs assigned round robin or to
# the least loaded of its team's online agents, within their capacity,
# whatever made the handoff; many at once never past capacity; the
# team's agents are the ones told; the widget knows whether a person is
# available.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;
use POSIX ();

my $t = ParleyTest->new(workers => 4, env => { PARLEY_API_RATE_MAX => 100000, PARLEY_NOTIFY_SWEEP_INTERVAL => 1 });
my $https = $t->url('', 'https');
$https =~ s{/$}{};
$t->stop_parleyd;
$t->{env}{PARLEY_PUBLIC_BASE_URL} = $https;
$t->start_parleyd;
my $pw = 'a routing passphrase here';
my $own = $t->signup(json => { email => 'otto@route.example', password => $pw, name => 'Otto', company_name => 'Route Co' })->{json};
my $cid = $own->{company}{id};
my $oa = { authorization => "Bearer $own->{access_token}" };
my (%auth, %id);
for my $n (qw(ann ben cat)) {
	$auth{$n} = $t->add_member({ id => $cid, user => $own->{user}{id} }, "$n\@route.example", 'member', $pw);
	$id{$n} = $t->sql('SELECT id FROM users WHERE email = ?', "$n\@route.example")->[0]{id};
}
sub req { my ($m, $p, $h, $j) = @_; $t->request($m, $p, headers => $h, defined $j ? (json => $j) : ()) }
sub visitor {
	my ($bot) = @_;
	my $s = $t->post('/api/v1/widget/sessions', headers => { origin => 'https://shop.example' }, json => { bot_key => $bot->{public_key} })->{json};
	my $vh = { authorization => "Bearer $s->{token}" };
	return ($vh, req('POST', '/api/v1/widget/conversations', $vh)->{json}{id}, $s);
}
sub handoff { my ($bot) = @_; my ($vh, $c) = visitor($bot); req('POST', "/api/v1/widget/conversations/$c/handoff", $vh); $c }
sub assignee { $t->sql('SELECT assignee_id FROM conversations WHERE id = ?', $_[0])->[0]{assignee_id} }

# Teams.
my $team = req('POST', '/api/v1/teams', $oa, { name => 'Front desk', member_ids => [$id{ann}, $id{ben}] });
is $team->{status}, 201, 'a team is made';
is_deeply [sort @{ $team->{json}{member_ids} }], [sort $id{ann}, $id{ben}], '... with its agents';
$team = $team->{json};
is req('POST', '/api/v1/teams', $oa, { name => 'Front desk' })->{json}{code}, 'name_taken', 'one name once: 409';
is req('POST', '/api/v1/teams', $oa, { name => 'Ghosts', member_ids => ['00000000-0000-4000-8000-000000000000'] })->{status}, 422,
    'an agent who is no member: 422';
is req('POST', '/api/v1/teams', $auth{ann}, { name => 'Mine' })->{status}, 403, 'a member may not make teams';
ok scalar(@{ $t->sql(q{SELECT 1 FROM audit_log WHERE action = 'team.create'}) }), 'making one is audited';

my $bot = req('POST', '/api/v1/chatbots', $oa, { name => 'Desk bot', allowed_origins => ['https://shop.example'],
    team_id => $team->{id}, routing => 'round_robin' })->{json};
is $bot->{team_id}, $team->{id}, "the chatbot's handoffs go to the team";
is $bot->{routing}, 'round_robin', '... round robin';
my $other = $t->register_company('elsewhere', 'another passphrase here');
my $foreign = req('POST', '/api/v1/teams', { authorization => "Bearer $other->{token}" }, { name => 'Theirs' })->{json};
is req('PATCH', "/api/v1/chatbots/$bot->{id}", $oa, { team_id => $foreign->{id} })->{status}, 422, "another company's team: 422";

# Presence.
my (undef, undef, $s) = visitor($bot);
ok !$s->{chatbot}{agents_available}, 'nobody online: the widget says no person is available';
{
	my ($hv, $hc) = visitor($bot);
	is req('POST', "/api/v1/widget/conversations/$hc/handoff", $hv)->{json}{agents_available}, JSON::PP::false,
	    '... a handoff then says nobody is online (the widget tells its visitor the answer waits)';
}
is req('PUT', '/api/v1/me/presence', $auth{ann}, { status => 'online' })->{json}{effective}, 'online', 'Ann is online';
req('PUT', '/api/v1/me/presence', $auth{ben}, { status => 'online' });
req('PUT', '/api/v1/me/presence', $auth{cat}, { status => 'online' });
(undef, undef, $s) = visitor($bot);
ok $s->{chatbot}{agents_available}, '... a person of the team is available';
{
	my ($hv, $hc) = visitor($bot);
	is req('POST', "/api/v1/widget/conversations/$hc/handoff", $hv)->{json}{agents_available}, JSON::PP::true,
	    '... and the handoff says so';
	req('PATCH', "/api/v1/conversations/$hc", $oa, { status => 'resolved' });
}
is req('PUT', '/api/v1/me/presence', $auth{ann}, { status => 'busy' })->{status}, 422, 'an unknown presence: 422';

# Round robin within capacity.
req('PUT', "/api/v1/members/$id{ann}/capacity", $oa, { capacity => 1 });
is req('PUT', "/api/v1/members/$id{ben}/capacity", $oa, { capacity => 1 })->{json}{capacity}, 1, 'capacities set';
ok scalar(@{ $t->sql(q{SELECT 1 FROM audit_log WHERE action = 'member.capacity'}) }), '... audited';
my $c1 = handoff($bot);
my $c2 = handoff($bot);
my $c3 = handoff($bot);
my @got = map { assignee($_) // 'nobody' } $c1, $c2, $c3;
is_deeply [sort @got[0, 1]], [sort $id{ann}, $id{ben}], 'round robin: one each to the two online agents of the team';
is $got[2], 'nobody', '... and the third waits: both are at capacity';
ok !grep({ $_ eq $id{cat} } @got), 'Cat, online but of no team, gets none';
my %told = map { $_->{user_id} => 1 } @{ $t->sql(q{SELECT user_id FROM notifications WHERE conversation_id = ? AND kind = 'handoff'}, $c3) };
is_deeply [sort keys %told], [sort $id{ann}, $id{ben}], "the unassigned handoff is told to the team's agents only";
my %told1 = map { $_->{user_id} => 1 } @{ $t->sql(q{SELECT user_id FROM notifications WHERE conversation_id = ? AND kind = 'handoff'}, $c1) };
is_deeply [keys %told1], [$got[0]], '... an assigned one to its assignee only';

# Least loaded, and offline agents skipped.
req('PATCH', "/api/v1/chatbots/$bot->{id}", $oa, { routing => 'least_loaded' });
req('PUT', "/api/v1/members/$_/capacity", $oa, { capacity => 5 }) for $id{ann}, $id{ben};
my $ann_load = grep { ($_ // '') eq $id{ann} } map { assignee($_) } $c1, $c2, $c3;
my $c4 = handoff($bot);
my $c5 = handoff($bot);
is scalar(grep { $_ eq $id{ann} } map { assignee($_) } $c4, $c5), 1, 'least loaded: the load evens out';
req('PUT', '/api/v1/me/presence', $auth{ben}, { status => 'away' });
my $c6 = handoff($bot);
is assignee($c6), $id{ann}, 'an agent away gets none';
$t->sql(q{UPDATE users SET presence_at = now() - interval '3 minutes' WHERE id = ?}, $id{ann});
my $c7 = handoff($bot);
is assignee($c7), undef, 'no heartbeat for two minutes: offline, none';

# Many at once: never past capacity.
$t->sql(q{UPDATE users SET presence = 'online', presence_at = now(), capacity = 2 WHERE id IN (?, ?)}, $id{ann}, $id{ben});
$t->sql(q{UPDATE conversations SET status = 'resolved' WHERE company_id = ?}, $cid);
my @convs = map { [visitor($bot)] } 1 .. 12;
my @kids;
for my $v (@convs) {
	my $pid = fork // die;
	if (!$pid) {
		my $h = HTTP::Tiny->new(timeout => 30);
		$h->post($t->url("/api/v1/widget/conversations/$v->[1]/handoff"), { headers => $v->[0] });
		POSIX::_exit(0);
	}
	push @kids, $pid;
}
waitpid $_, 0 for @kids;
my $load = $t->sql(q{SELECT coalesce(assignee_id::text, 'nobody') AS who, count(*) AS n FROM conversations
    WHERE company_id = ? AND status = 'pending' GROUP BY 1}, $cid);
my %n = map { $_->{who} => $_->{n} } @$load;
is $n{$id{ann}}, 2, '12 handoffs at once: Ann got exactly her capacity';
is $n{$id{ben}}, 2, '... Ben too';
is $n{nobody}, 8, '... the rest wait for a person';
is scalar(@{ $t->sql(q{SELECT 1 FROM conversations WHERE company_id = ? AND status = 'pending'}, $cid) }), 12, '... every one handed off';

# Going offline hands one's conversations back, where the chatbot says so.
is req('PUT', '/api/v1/me/presence', $auth{ann}, { status => 'offline' })->{json}{reassigned}, 0,
    'offline, the chatbot keeping assignments: nothing moves';
req('PUT', '/api/v1/me/presence', $auth{ann}, { status => 'online' });
is req('PATCH', "/api/v1/chatbots/$bot->{id}", $oa, { reassign_offline => JSON::PP::true })->{json}{reassign_offline}, JSON::PP::true,
    'the chatbot reassigns when an agent goes offline';
req('PUT', "/api/v1/members/$id{ben}/capacity", $oa, { capacity => 4 });
is req('PUT', '/api/v1/me/presence', $auth{ann}, { status => 'offline' })->{json}{reassigned}, 2, 'Ann goes offline: her two go back';
%n = map { $_->{who} => $_->{n} } @{ $t->sql(q{SELECT coalesce(assignee_id::text, 'nobody') AS who, count(*) AS n FROM conversations
    WHERE company_id = ? AND status = 'pending' GROUP BY 1}, $cid) };
is $n{$id{ben}}, 4, '... to Ben, up to his capacity';
ok !$n{$id{ann}}, '... none left with Ann';
# A console that stopped beating: offline all the same, and handed back.
req('PUT', '/api/v1/me/presence', $auth{ann}, { status => 'online' });
$t->sql(q{UPDATE conversations SET assignee_id = ? WHERE company_id = ? AND status = 'pending' AND assignee_id IS NULL
    AND id IN (SELECT id FROM conversations WHERE company_id = ? AND status = 'pending' AND assignee_id IS NULL LIMIT 1)},
    $id{ben}, $cid, $cid);
my $ben_had = $t->sql(q{SELECT count(*) AS n FROM conversations WHERE assignee_id = ? AND status = 'pending'}, $id{ben})->[0]{n};
$t->sql(q{UPDATE users SET presence_at = now() - interval '5 minutes' WHERE id = ?}, $id{ben});
ParleyTest::wait_for(sub { $t->sql(q{SELECT presence FROM users WHERE id = ?}, $id{ben})->[0]{presence} eq 'offline' }, 15);
is $t->sql(q{SELECT presence FROM users WHERE id = ?}, $id{ben})->[0]{presence}, 'offline', 'a lapsed heartbeat: the jobs process sets Ben offline';
is $t->sql(q{SELECT count(*) AS n FROM conversations WHERE assignee_id = ? AND status = 'pending'}, $id{ben})->[0]{n}, 0,
    "... and hands back his $ben_had conversations";
# Labels: the company's, on conversations; the inbox filters by one.
my $vip = req('POST', '/api/v1/labels', $oa, { name => 'VIP', colour => '#ff0000' });
is $vip->{status}, 201, 'an admin makes a label';
$vip = $vip->{json};
is req('POST', '/api/v1/labels', $oa, { name => 'VIP' })->{json}{code}, 'name_taken', 'one name once: 409';
is req('POST', '/api/v1/labels', $oa, { name => 'Red', colour => 'red' })->{status}, 422, 'a colour not #rrggbb: 422';
is req('POST', '/api/v1/labels', $auth{ann}, { name => 'Mine' })->{status}, 403, 'a member may not make labels';
my $theirs = req('POST', '/api/v1/labels', { authorization => "Bearer $other->{token}" }, { name => 'Theirs' })->{json};
my $r = req('PUT', "/api/v1/conversations/$c1/labels", $auth{ann}, { label_ids => [$vip->{id}] });
is_deeply $r->{json}{label_ids}, [$vip->{id}], 'a member labels a conversation';
is req('PUT', "/api/v1/conversations/$c2/labels", $auth{ann}, { label_ids => [$theirs->{id}] })->{status}, 422,
    "another company's label: 422";
my $page = req('GET', "/api/v1/conversations?label=$vip->{id}", $auth{ann})->{json};
is_deeply [map { $_->{id} } @{ $page->{items} }], [$c1], 'the inbox filters by label';
is_deeply $page->{items}[0]{label_ids}, [$vip->{id}], '... and lists its labels';
is req('DELETE', "/api/v1/labels/$vip->{id}", $oa)->{status}, 204, 'a label is deleted';
is_deeply req('GET', "/api/v1/conversations/$c1", $auth{ann})->{json}{label_ids}, [], '... and is gone from its conversations';
ok scalar(@{ $t->sql(q{SELECT 1 FROM audit_log WHERE action = 'label.create'}) }), 'labels are audited';

# Ratings: a resolved conversation, once; CSAT by chatbot and by agent.
my ($rv, $rc) = visitor($bot);
req('POST', "/api/v1/widget/conversations/$rc/handoff", $rv);
req('PATCH', "/api/v1/conversations/$rc", $oa, { assignee_id => $id{ben} });
is req('POST', "/api/v1/widget/conversations/$rc/rating", $rv, { score => 4 })->{json}{code}, 'not_resolved',
    'a conversation not resolved yet cannot be rated';
req('PATCH', "/api/v1/conversations/$rc", $oa, { status => 'resolved' });
is req('POST', "/api/v1/widget/conversations/$rc/rating", $rv, { score => 6 })->{status}, 422, 'a score past 5: 422';
is req('POST', "/api/v1/widget/conversations/$rc/rating", $rv, { score => 4, comment => 'Helpful' })->{status}, 201,
    'the visitor rates the resolved conversation';
is req('POST', "/api/v1/widget/conversations/$rc/rating", $rv, { score => 1 })->{json}{code}, 'already_rated', '... once';
my ($rv2) = visitor($bot);
is req('POST', "/api/v1/widget/conversations/$rc/rating", $rv2, { score => 1 })->{status}, 404, "another visitor's conversation: 404";
my $sum = req('GET', '/api/v1/analytics/summary', $oa)->{json};
is_deeply [@$sum{qw(ratings rating_average satisfied)}], [1, 4, 1], 'the summary counts it (CSAT: satisfied / ratings)';
my $csat = req('GET', '/api/v1/analytics/csat', $oa)->{json};
is_deeply $csat->{by_chatbot}, [{ id => $bot->{id}, ratings => 1, average => 4, satisfied => 1 }], 'CSAT by chatbot';
is_deeply $csat->{by_agent}, [{ id => $id{ben}, ratings => 1, average => 4, satisfied => 1 }], '... and by agent';

# The console, in chromium: an admin.
$t->sql(q{UPDATE users SET role = 'admin' WHERE email = 'cat@route.example'});
my $chromium = -x '/usr/bin/chromium' ? '/usr/bin/chromium' : undef;
ok $chromium, 'chromium is installed' or BAIL_OUT('no chromium');
local $ENV{BASE} = $https;
local $ENV{NODE_TLS_REJECT_UNAUTHORIZED} = '0';
local $ENV{CHROMIUM} = $chromium;
local $ENV{EMAIL} = 'cat@route.example';
local $ENV{PASSWORD} = $pw;
local $ENV{CONV} = $c1;
local $ENV{OUT} = $t->dir;
my $checks = $t->browser_checks(ParleyTest->srcdir . '/t/browser/teams.mjs');
cmp_ok $checks, '>=', 7, "the browser made its checks ($checks)";
is $t->sql(q{SELECT parley_presence(presence, presence_at) AS p FROM users WHERE email = 'cat@route.example'})->[0]{p}, 'online',
    "... and the console's presence reached parley";
is scalar(grep { $_->{event} eq 'csp_violation' } $t->log_events), 0, 'no CSP report';
done_testing;
