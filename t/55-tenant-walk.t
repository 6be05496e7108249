# The tenant boundary, walked: two companies with users of every role and
# API keys of every scope; every route of the route table called with every
# credential against the other company's ids. Where the credential may call
# the route the answer is 404 (never data, never another error than for an
# unknown id); where it may not, the same 403 whatever the id. Then, as the
# runtime database role in company A's context, no row of B can be read,
# changed or deleted in any tenant table.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;
use TestFiles qw(png);

# A 1x1 PNG, for the file routes (attachments, logos).
my $png = png(1, 1);

my $t = ParleyTest->new(workers => 3, env => { PARLEY_API_RATE_MAX => 100000, PARLEY_LOGIN_MAX_PER_IP => 1000 });
my $pw = 'tangerine-orbit-velvet-42';
my @scopes = qw(conversations:read conversations:write chatbots:read chatbots:write documents:read
    documents:write templates:write members:read audit:read webhooks:write analytics:read);
my %rank = (member => 1, admin => 2, owner => 3);
my $n = 0;

sub company {
	my ($tag) = @_;
	my $o = $t->signup(headers => { 'x-forwarded-for' => '203.0.113.' . ++$n },
	    json => { email => "owner\@$tag.example", password => $pw, name => 'Owen Owner', company_name => $tag })->{json};
	my $oauth = { authorization => "Bearer $o->{access_token}" };
	my %c = (id => $o->{company}{id}, users => { owner => { token => $o->{access_token}, id => $o->{user}{id}, session => $o->{session_id} } });
	my $hash = $t->sql('SELECT password_hash FROM users WHERE id = ?', $o->{user}{id})->[0]{password_hash};
	for my $role (qw(admin member)) {
		my $id = $t->sql(q{INSERT INTO users (company_id, email, name, role, password_hash) VALUES (?, ?, ?, ?, ?) RETURNING id},
		    $c{id}, "$role\@$tag.example", "\u$role Person", $role, $hash)->[0]{id};
		my $l = $t->post('/api/v1/auth/login', headers => { 'x-forwarded-for' => '203.0.113.' . ++$n },
		    json => { email => "$role\@$tag.example", password => $pw })->{json};
		$c{users}{$role} = { token => $l->{access_token}, id => $id, session => $l->{session_id} };
	}
	for my $s (@scopes) {
		my $k = $t->post('/api/v1/api-keys', headers => $oauth, json => { name => $s, scopes => [$s] })->{json};
		$c{keys}{$s} = $k->{key};
		$c{key_id} //= $k->{id};
	}
	# A security alert, opened the real way: a member made admin.
	my $hid = $t->sql(q{INSERT INTO users (company_id, email, name, role, password_hash) VALUES (?, ?, 'Helper', 'member', ?) RETURNING id},
	    $c{id}, "helper\@$tag.example", $hash)->[0]{id};
	$t->request('PATCH', "/api/v1/members/$hid", headers => $oauth, json => { role => 'admin' });
	$c{alert} = $t->sql(q{SELECT id FROM security_alerts WHERE company_id = ? AND rule = 'role_granted'}, $c{id})->[0]{id};
	my $inv = $t->post('/api/v1/invitations', headers => $oauth, json => { email => "guest\@$tag.example", role => 'member' })->{json};
	$c{invitation} = $inv->{id};
	$c{identity} = $t->sql(q{INSERT INTO user_identities (company_id, user_id, provider, issuer, subject)
	    VALUES (?, ?, 'generic', 'https://idp.example', ?) RETURNING id}, $c{id}, $c{users}{member}{id}, "sub-$tag")->[0]{id};
	$t->request('PATCH', '/api/v1/company', headers => $oauth, json => { name => "$tag Ltd" });
	$c{domain} = $t->post('/api/v1/company/sso/domains', headers => $oauth, json => { domain => "$tag.example" })->{json}{id};
	$c{team} = $t->post('/api/v1/teams', headers => $oauth, json => { name => "$tag team" })->{json}{id};
	$c{label} = $t->post('/api/v1/labels', headers => $oauth, json => { name => "$tag label" })->{json}{id};
	# Conversations and AI: a chatbot with a document, a template, a
	# visitor with a conversation.
	my $origin = "https://shop.$tag.example";
	my $bot = $t->post('/api/v1/chatbots', headers => $oauth, json => { name => "$tag bot", allowed_origins => [$origin] })->{json};
	$c{bot} = $bot->{id};
	$c{doc} = $t->post("/api/v1/chatbots/$bot->{id}/documents", headers => $oauth,
	    json => { title => "$tag doc", content_type => 'text/plain', content => "About $tag: we sell seeds." })->{json}{id};
	$c{source} = $t->post("/api/v1/chatbots/$bot->{id}/sources", headers => $oauth,
	    json => { kind => 'url', url => "https://docs.$tag.example/help" })->{json}{id};
	$c{template} = $t->post('/api/v1/templates', headers => $oauth, json => { name => "$tag hello", body => 'Hello!' })->{json}{id};
	$c{export} = $t->post('/api/v1/company/export', headers => $oauth)->{json}{id};
	$c{webhook} = $t->post('/api/v1/webhook-endpoints', headers => $oauth,
	    json => { url => "https://hooks.$tag.example/in", events => ['member.removed'] })->{json}{id};
	my $vs = $t->post('/api/v1/widget/sessions', headers => { origin => $origin },
	    json => { bot_key => $bot->{public_key} })->{json};
	$c{visitor} = $vs->{token};
	$c{visitor_id} = $vs->{visitor}{id};
	my $vh = { authorization => "Bearer $c{visitor}" };
	$c{conversation} = $t->post('/api/v1/widget/conversations', headers => $vh)->{json}{id};
	$t->post("/api/v1/widget/conversations/$c{conversation}/messages", headers => $vh, json => { content => 'Do you sell seeds?' });
	$c{draft} = $t->post("/api/v1/conversations/$c{conversation}/suggest", headers => $oauth)->{json}{id};
	$c{attachment} = $t->request('POST', "/api/v1/widget/conversations/$c{conversation}/attachments?filename=a.png",
	    headers => { %$vh, 'content-type' => 'image/png' }, body => $png)->{json}{message}{attachment}{id};
	return \%c;
}
my $A = company('alpha');
my $B = company('beta');

# Object ids of B, by the resource a route's :id names.
my %b_id = (
	'/api/v1/members/:id' => $B->{users}{member}{id},
	'/api/v1/invitations/:id' => $B->{invitation},
	'/api/v1/api-keys/:id' => $B->{key_id},
	'/api/v1/me/identities/:id' => $B->{identity},
	(map { $_ => $B->{domain} } qw(/api/v1/company/sso/domains/:id /api/v1/company/sso/domains/:id/verify)),
	'/api/v1/teams/:id' => $B->{team},
	'/api/v1/labels/:id' => $B->{label},
	'/api/v1/members/:id/capacity' => $B->{users}{member}{id},
	'/api/v1/auth/sessions/:id' => $B->{users}{member}{session},
	(map { $_ => $B->{bot} } qw(/api/v1/chatbots/:id /api/v1/chatbots/:id/rotate-key /api/v1/chatbots/:id/hours
	    /api/v1/chatbots/:id/logo /api/v1/chatbots/:id/documents/file /api/v1/chatbots/:id/sources
	    /api/v1/chatbots/:id/sources/:source /api/v1/chatbots/:id/sources/:source/sync
	    /api/v1/chatbots/:id/rotate-identity-secret /api/v1/chatbots/:id/documents
	    /api/v1/chatbots/:id/documents/:doc)),
	'/api/v1/security-alerts/:id' => $B->{alert},
	'/api/v1/templates/:id' => $B->{template},
	'/api/v1/visitors/:id' => $B->{visitor_id},
	(map { $_ => $B->{export} } qw(/api/v1/company/exports/:id /api/v1/company/exports/:id/download)),
	(map { $_ => $B->{webhook} } qw(/api/v1/webhook-endpoints/:id /api/v1/webhook-endpoints/:id/rotate-secret
	    /api/v1/webhook-endpoints/:id/deliveries)),
	(map { $_ => $B->{attachment} } qw(/api/v1/attachments/:id /api/v1/widget/attachments/:id)),
	(map { $_ => $B->{conversation} } qw(/api/v1/conversations/:id /api/v1/conversations/:id/messages
	    /api/v1/conversations/:id/attachments /api/v1/widget/conversations/:id/attachments
	    /api/v1/conversations/:id/suggest /api/v1/conversations/:id/suggestions/:draft /api/v1/conversations/:id/labels
	    /api/v1/widget/conversations/:id/messages
	    /api/v1/widget/conversations/:id/handoff /api/v1/widget/conversations/:id/rating
	    /api/v1/widget/conversations/:id/contact /api/v1/widget/conversations/:id/seen
	    /api/v1/widget/conversations/:id/transcript)),
);
# A second parameter, :doc, is B's document (or nobody's).
my %b_doc = ('/api/v1/chatbots/:id/documents/:doc' => $B->{doc},
	(map { $_ => $B->{source} } qw(/api/v1/chatbots/:id/sources/:source /api/v1/chatbots/:id/sources/:source/sync)),
	'/api/v1/conversations/:id/suggestions/:draft' => $B->{draft});
my $nobody = '00000000-0000-4000-8000-000000000000';
# Bodies that pass validation on id routes (undef: no body at all).
my %valid_body = ('/api/v1/members/:id' => { role => 'member' },
	'/api/v1/security-alerts/:id' => { state => 'acknowledged' },
	'/api/v1/chatbots/:id' => { name => 'renamed' },
	'/api/v1/chatbots/:id/rotate-key' => undef,
	'/api/v1/company/sso/domains/:id/verify' => undef,
	'/api/v1/members/:id/capacity' => { capacity => 3 },
	'/api/v1/teams/:id' => { name => 'renamed' },
	'/api/v1/labels/:id' => { name => 'renamed' },
	'/api/v1/conversations/:id/labels' => { label_ids => [] },
	'/api/v1/widget/conversations/:id/rating' => { score => 5 },
	'/api/v1/chatbots/:id/hours' => { enabled => JSON::PP::true, timezone => 'UTC', weekly => [] },
	'/api/v1/widget/conversations/:id/contact' => { email => 'v@walk.example' },
	'/api/v1/widget/conversations/:id/seen' => { seq => 1 },
	'/api/v1/widget/conversations/:id/transcript' => undef,
	'/api/v1/chatbots/:id/rotate-identity-secret' => undef,
	'/api/v1/chatbots/:id/documents' => { title => 't', content_type => 'text/plain', content => 'text' },
	'/api/v1/chatbots/:id/sources' => { kind => 'url', url => 'https://docs.example/help' },
	'/api/v1/chatbots/:id/sources/:source/sync' => undef,
	'/api/v1/templates/:id' => { name => 'renamed' },
	'/api/v1/webhook-endpoints/:id' => { description => 'renamed' },
	'/api/v1/visitors/:id' => { name => 'Renamed' },
	'/api/v1/webhook-endpoints/:id/rotate-secret' => undef,
	'/api/v1/conversations/:id' => { status => 'resolved' },
	'/api/v1/conversations/:id/messages' => { content => 'hello' },
	'/api/v1/conversations/:id/suggest' => undef,
	'/api/v1/widget/conversations/:id/messages' => { content => 'hello' },
	'/api/v1/widget/conversations/:id/handoff' => undef,
	'/api/v1/widget/conversations' => undef,
	'/api/v1/widget/consent' => { categories => ['essential'], policy_version => '1' });
# Every id and name of company B: none may appear in an answer to A.
my @b_known = ($B->{id}, (map { $_->{id}, $_->{session} } values %{ $B->{users} }), $B->{invitation},
    @{$B}{qw(bot doc template conversation webhook visitor_id export alert)},
    map { $_ =~ /^prl_([0-9a-f]{8})/ ? $1 : () } values %{ $B->{keys} });
my $b_ids = do { my $alt = join '|', map { quotemeta } grep { defined } @b_known, 'beta'; qr/$alt/i };
# Routes whose allowed call would end the caller's own session: their
# allowed path is covered by t/41; here only the refusals are walked.
my %ends_session = map { $_ => 1 } ('POST /api/v1/auth/logout', 'POST /api/v1/auth/logout-all');

# The permission matrix as the product defines it (issue: owner: billing,
# deleting the company, everything admin can; admin: team, invitations,
# settings, API keys, audit and security logs; member: own profile,
# sessions, MFA, reading the company and team), written here by hand, so a
# wrong rule in the route table fails the walk instead of agreeing with it.
# Every route must be listed, here or among the public ones.
my %expected = (
	'POST /api/v1/auth/logout' => ['member'],
	'POST /api/v1/auth/logout-all' => ['member'],
	'POST /api/v1/auth/password/change' => ['member'],
	'POST /api/v1/auth/email/resend' => ['member'],
	'GET /api/v1/auth/sessions' => ['member'],
	'DELETE /api/v1/auth/sessions/:id' => ['member'],
	'POST /api/v1/auth/mfa/totp/setup' => ['member'],
	'POST /api/v1/auth/mfa/totp/enable' => ['member'],
	'POST /api/v1/auth/mfa/totp/disable' => ['member'],
	'GET /api/v1/me' => ['member'],
	'PATCH /api/v1/me' => ['member'],
	'POST /api/v1/auth/oidc/link' => ['member'],
	'POST /api/v1/auth/oidc/reauth' => ['member'],
	'GET /api/v1/me/identities' => ['member'],
	'GET /api/v1/notifications' => ['member'],
	'GET /api/v1/teams' => ['member'],
	'GET /api/v1/labels' => ['member'],
	'GET /api/v1/analytics/csat' => ['member', 'analytics:read'],
	'POST /api/v1/labels' => ['admin'],
	'PATCH /api/v1/labels/:id' => ['admin'],
	'DELETE /api/v1/labels/:id' => ['admin'],
	'PUT /api/v1/conversations/:id/labels' => ['member'],
	'POST /api/v1/teams' => ['admin'],
	'PATCH /api/v1/teams/:id' => ['admin'],
	'DELETE /api/v1/teams/:id' => ['admin'],
	'PUT /api/v1/members/:id/capacity' => ['admin'],
	'PUT /api/v1/me/presence' => ['member'],
	'POST /api/v1/notifications/read' => ['member'],
	'GET /api/v1/me/notification-settings' => ['member'],
	'PATCH /api/v1/me/notification-settings' => ['member'],
	'DELETE /api/v1/me/identities/:id' => ['member'],
	'GET /api/v1/company' => ['member'],
	'PATCH /api/v1/company' => ['admin'],
	'GET /api/v1/members' => ['member', 'members:read'],
	'PATCH /api/v1/members/:id' => ['admin'],
	'DELETE /api/v1/members/:id' => ['admin'],
	'POST /api/v1/invitations' => ['admin'],
	'GET /api/v1/invitations' => ['admin'],
	'DELETE /api/v1/invitations/:id' => ['admin'],
	'POST /api/v1/api-keys' => ['admin'],
	'GET /api/v1/api-keys' => ['admin'],
	'DELETE /api/v1/api-keys/:id' => ['admin'],
	'GET /api/v1/security-events' => ['admin'],
	'GET /api/v1/security-alerts' => ['admin'],
	'GET /api/v1/security-alerts/:id' => ['admin'],
	'PATCH /api/v1/security-alerts/:id' => ['admin'],
	'GET /api/v1/company/llm' => ['admin'],
	'PUT /api/v1/company/llm' => ['admin'],
	'POST /api/v1/chatbots' => ['admin', 'chatbots:write'],
	'GET /api/v1/chatbots' => ['member', 'chatbots:read'],
	'GET /api/v1/chatbots/:id' => ['member', 'chatbots:read'],
	'PATCH /api/v1/chatbots/:id' => ['admin', 'chatbots:write'],
	'GET /api/v1/chatbots/:id/hours' => ['member', 'chatbots:read'],
	'PUT /api/v1/chatbots/:id/hours' => ['admin', 'chatbots:write'],
	'PUT /api/v1/chatbots/:id/logo' => ['admin', 'chatbots:write'],
	'DELETE /api/v1/chatbots/:id/logo' => ['admin', 'chatbots:write'],
	'POST /api/v1/conversations/:id/attachments' => ['member', 'conversations:write'],
	'GET /api/v1/attachments/:id' => ['member', 'conversations:read'],
	'DELETE /api/v1/chatbots/:id' => ['admin', 'chatbots:write'],
	'POST /api/v1/chatbots/:id/rotate-key' => ['admin', 'chatbots:write'],
	'POST /api/v1/chatbots/:id/rotate-identity-secret' => ['admin', 'chatbots:write'],
	'POST /api/v1/chatbots/:id/documents' => ['admin', 'documents:write'],
	'GET /api/v1/chatbots/:id/documents' => ['member', 'documents:read'],
	'GET /api/v1/chatbots/:id/documents/:doc' => ['member', 'documents:read'],
	'DELETE /api/v1/chatbots/:id/documents/:doc' => ['admin', 'documents:write'],
	'POST /api/v1/chatbots/:id/documents/file' => ['admin', 'documents:write'],
	'POST /api/v1/chatbots/:id/sources' => ['admin', 'documents:write'],
	'GET /api/v1/chatbots/:id/sources' => ['member', 'documents:read'],
	'GET /api/v1/chatbots/:id/sources/:source' => ['member', 'documents:read'],
	'POST /api/v1/chatbots/:id/sources/:source/sync' => ['admin', 'documents:write'],
	'DELETE /api/v1/chatbots/:id/sources/:source' => ['admin', 'documents:write'],
	'POST /api/v1/company/export' => ['admin'],
	'GET /api/v1/company/exports' => ['admin'],
	'GET /api/v1/company/exports/:id' => ['admin'],
	'GET /api/v1/company/exports/:id/download' => ['admin'],
	'POST /api/v1/privacy/subject-export' => ['admin'],
	'POST /api/v1/privacy/subject-erasure' => ['admin'],
	'PATCH /api/v1/visitors/:id' => ['admin'],
	'POST /api/v1/webhook-endpoints' => ['admin', 'webhooks:write'],
	'GET /api/v1/webhook-endpoints' => ['admin', 'webhooks:write'],
	'GET /api/v1/webhook-endpoints/:id' => ['admin', 'webhooks:write'],
	'PATCH /api/v1/webhook-endpoints/:id' => ['admin', 'webhooks:write'],
	'DELETE /api/v1/webhook-endpoints/:id' => ['admin', 'webhooks:write'],
	'POST /api/v1/webhook-endpoints/:id/rotate-secret' => ['admin', 'webhooks:write'],
	'GET /api/v1/webhook-endpoints/:id/deliveries' => ['admin', 'webhooks:write'],
	'POST /api/v1/templates' => ['admin', 'templates:write'],
	'GET /api/v1/templates' => ['member'],
	'PATCH /api/v1/templates/:id' => ['admin', 'templates:write'],
	'DELETE /api/v1/templates/:id' => ['admin', 'templates:write'],
	'GET /api/v1/conversations' => ['member', 'conversations:read'],
	'GET /api/v1/conversations/:id' => ['member', 'conversations:read'],
	'POST /api/v1/conversations/:id/messages' => ['member', 'conversations:write'],
	'PATCH /api/v1/conversations/:id' => ['member', 'conversations:write'],
	'DELETE /api/v1/conversations/:id' => ['admin', 'conversations:write'],
	'POST /api/v1/conversations/:id/suggest' => ['member', 'conversations:write'],
	'GET /api/v1/conversations/:id/suggestions/:draft' => ['member', 'conversations:write'],
	'GET /api/v1/analytics/summary' => ['member', 'analytics:read'],
	'GET /api/v1/events' => ['member'],
	'GET /api/v1/consents' => ['admin'],
	'GET /api/v1/audit-log' => ['admin', 'audit:read'],
	'GET /api/v1/billing' => ['owner'],
	'POST /api/v1/billing/checkout' => ['owner'],
	'DELETE /api/v1/company' => ['owner'],
	'GET /api/v1/company/sso/domains' => ['admin'],
	'POST /api/v1/company/sso/domains' => ['owner'],
	'POST /api/v1/company/sso/domains/:id/verify' => ['owner'],
	'DELETE /api/v1/company/sso/domains/:id' => ['owner'],
	'GET /api/v1/company/sso' => ['admin'],
	'PUT /api/v1/company/sso' => ['owner'],
	'DELETE /api/v1/company/sso' => ['owner'],
	'POST /api/v1/billing/portal' => ['owner'],
	'GET /api/v1/audit-log/export.csv' => ['admin', 'audit:read'],
);
# Event streams (held by nchan, authorised by parleyd): walked in
# t/65-realtime.t, where each caller's channels are checked.
my %streams = map { $_ => 1 } ('GET /api/v1/events', 'GET /api/v1/widget/conversations/:id/events');
# Routes a widget visitor calls with its visitor token.
my %visitor = map { $_ => 1 } ('POST /api/v1/widget/conversations', 'GET /api/v1/widget/conversations',
    'GET /api/v1/widget/conversations/:id/messages', 'POST /api/v1/widget/conversations/:id/messages',
    'POST /api/v1/widget/conversations/:id/handoff', 'GET /api/v1/widget/conversations/:id/events',
    'POST /api/v1/widget/consent', 'POST /api/v1/widget/conversations/:id/rating',
    'POST /api/v1/widget/conversations/:id/contact', 'POST /api/v1/widget/conversations/:id/seen',
    'POST /api/v1/widget/conversations/:id/transcript', 'POST /api/v1/widget/conversations/:id/attachments',
    'GET /api/v1/widget/attachments/:id');
my %public = map { $_ => 1 } ('GET /healthz', 'GET /readyz', 'GET /api/v1/meta', 'POST /api/v1/csp-report',
    'GET /api/v1/auth/challenge', 'GET /api/v1/auth/oidc/providers', 'POST /api/v1/auth/oidc/start',
    'GET /api/v1/auth/oidc/callback', 'POST /api/v1/auth/oidc/callback', 'POST /api/v1/auth/oidc/mfa', 'POST /api/v1/auth/oidc/pending',
    'POST /api/v1/auth/oidc/signup', 'POST /api/v1/auth/oidc/link-account', 'POST /api/v1/auth/sso/start',
    'GET /api/v1/sso/saml/:id/metadata', 'POST /api/v1/sso/saml/:id/acs', 'POST /api/v1/notifications/unsubscribe',
    'POST /api/v1/widget/links/resume', 'POST /api/v1/widget/links/confirm',
    'POST /api/v1/auth/register', 'POST /api/v1/auth/register/confirm', 'POST /api/v1/auth/login', 'POST /api/v1/auth/refresh',
    'POST /api/v1/auth/sign-in-revoke', 'POST /api/v1/auth/password/forgot', 'POST /api/v1/auth/password/reset', 'POST /api/v1/auth/email/verify',
    'POST /api/v1/invitations/accept', 'OPTIONS /api/v1/widget/sessions', 'POST /api/v1/widget/sessions',
    'GET /widget/frame', 'POST /api/v1/webhooks/stripe', 'GET /api/v1/widget/config', 'GET /api/v1/widget/logo');

# Calls route 'r' with credential 'cred' and id 'id' (B's or nobody's).
sub call {
	my ($r, $cred, $id) = @_;
	my $path = $r->{path};
	if (defined $id) {
		my $doc = $id eq $nobody ? $nobody : $b_doc{$r->{path}};
		$path =~ s/:id/$id/;
		$path =~ s/:(?:doc|draft|source)/$doc/ if defined $doc;
	}
	my %o = (headers => { authorization => "Bearer $cred", 'x-forwarded-for' => '198.51.100.' . (++$n % 250 + 1) });
	# On an id route a valid body, so the id is what decides; elsewhere
	# one that fails validation: an allowed caller gets a 4xx about the
	# body, never 401/403, and nothing changes.
	# A file route: a valid file, so the id is what decides.
	if ($r->{path} =~ m{/(attachments|logo)$} && $r->{method} ne 'DELETE') {
		$o{headers}{'content-type'} = 'image/png';
		$o{body} = $png;
		$path .= '?filename=a.png' if $r->{path} =~ /attachments$/;
	} elsif ($r->{path} =~ m{/documents/file$}) {
		$o{headers}{'content-type'} = 'text/plain';
		$o{body} = 'A file of plain text.';
	} elsif ($r->{method} =~ /^(POST|PATCH|PUT)$/) {
		if ((defined $id || $r->{path} !~ /:id/) && exists $valid_body{$r->{path}}) {
			$o{json} = $valid_body{$r->{path}} if defined $valid_body{$r->{path}};
		} else {
			$o{json} = { unexpected_field => 1 };
		}
	}
	return $t->request($r->{method}, $path, %o);
}

# A visitor route: A's visitor reaches nothing of B; users and keys are
# no visitors. Returns the number of requests made.
sub walk_visitor {
	my ($r) = @_;
	my $name = "$r->{method} $r->{path}";
	my @ids = $r->{path} =~ /:id/ ? ($b_id{$r->{path}}, $nobody) : (undef);
	my @res = map { call($r, $A->{visitor}, $_) } @ids;
	if (@ids == 2) {
		is_deeply [map { $_->{status} } @res], [404, 404], "$name as A's visitor with B's id: 404, as for an unknown id";
		is $res[0]{json}{code}, $res[1]{json}{code}, "$name: the same code";
	} else {
		like $res[0]{status}, qr/^20[01]$/, "$name as A's visitor: allowed";
		unlike $res[0]{content}, $b_ids, "$name as A's visitor: nothing of company B";
	}
	my @other = map { call($r, $_, $ids[0]) } $A->{users}{owner}{token}, $A->{keys}{'conversations:write'};
	is_deeply [map { $_->{status} } @other], [401, 401], "$name: user tokens and API keys are no visitor tokens";
	return @res + @other;
}

my $routes = decode_json(scalar `'@{[ ParleyTest->builddir ]}/parleyctl' routes`);
for my $r (@$routes) {
	my $name = "$r->{method} $r->{path}";
	if ($r->{auth} eq 'public') {
		ok $public{$name}, "$name: public, and meant to be";
		next;
	}
	if ($r->{auth} eq 'visitor') {
		ok $visitor{$name}, "$name: for widget visitors, and meant to be";
		next;
	}
	ok $expected{$name}, "$name: in the walk's own permission matrix" or next;
	is $r->{min_role}, $expected{$name}[0], "$name: the route table asks for the intended role";
	is_deeply $r->{scopes}, [grep { defined } $expected{$name}[1]], "$name: ... and the intended API-key scope";
}
is scalar(grep { $_->{auth} !~ /^(public|visitor)$/ } @$routes), scalar(keys %expected), 'no route of the matrix is missing from the table';
is scalar(grep { $_->{auth} eq 'visitor' } @$routes), scalar(keys %visitor), 'no visitor route is missing from the table';
my ($covered, $walked) = (0, 0);
for my $r (@$routes) {
	my $name = "$r->{method} $r->{path}";
	next if $r->{auth} eq 'public' || $streams{$name};
	$covered++;
	if ($r->{auth} eq 'visitor') {
		$walked += walk_visitor($r);
		next;
	}
	my ($idpath) = grep { $r->{path} eq $_ } keys %b_id;
	if ($r->{path} =~ /:id/) {
		ok $idpath, "$name: the walk knows whose id to use" or next;
	}
	my @ids = $idpath ? ($b_id{$idpath}, $nobody) : (undef);
	my $call = sub { call($r, @_) };
	# Users of A, every role.
	for my $role (qw(owner admin member)) {
		my $allowed = $rank{$role} >= $rank{ $expected{$name}[0] };
		next if $allowed && $ends_session{$name};
		my @res = map { $call->($A->{users}{$role}{token}, $_) } @ids;
		$walked += @res;
		if (!$allowed) {
			is_deeply [map { $_->{status} } @res], [(403) x @res], "$name as $role: 403 whatever the id";
			is_deeply [map { $_->{json}{code} } @res], [('forbidden') x @res], "$name as $role: the same refusal";
		} elsif ($idpath) {
			is_deeply [map { $_->{status} } @res], [404, 404], "$name as $role with B's id: 404, as for an unknown id";
			is $res[0]{json}{code}, $res[1]{json}{code}, "$name as $role: the same code for B's and an unknown id";
		} elsif ($r->{method} eq 'GET') {
			is $res[0]{status}, 200, "$name as $role: allowed";
			unlike $res[0]{content}, $b_ids, "$name as $role: nothing of company B";
		} elsif ($name eq 'DELETE /api/v1/company/sso') {
			# Takes no body, and A has no IdP to remove: done, nothing.
			is $res[0]{status}, 204, "$name as $role: allowed (A's own, none)";
		} else {
			like $res[0]{status}, qr/^(400|409|413|415|422)$/, "$name as $role: allowed (the bad body is refused, not the caller)";
		}
	}
	# API keys of A, every scope.
	for my $s (@scopes) {
		my @res = map { $call->($A->{keys}{$s}, $_) } @ids;
		$walked += @res;
		if ($r->{auth} ne 'key') {
			is_deeply [map { $_->{status} } @res], [(401) x @res], "$name with a $s key: keys may not call it";
		} elsif (($expected{$name}[1] // '') ne $s) {
			is_deeply [map { $_->{json}{code} } @res], [('insufficient_scope') x @res], "$name with a $s key: 403 insufficient_scope";
		} else {
			if ($idpath || $r->{method} eq 'GET') {
				is $res[0]{status}, $idpath ? 404 : 200, "$name with a $s key: allowed";
			} else {
				like $res[0]{status}, qr/^(400|409|413|415|422)$/, "$name with a $s key: allowed (the bad body is refused, not the caller)";
			}
			is $res[0]{json}{code}, $res[1]{json}{code}, "$name with a $s key: the same answer for B's and an unknown id" if $idpath;
			unlike $res[0]{content}, $b_ids, "$name with a $s key: nothing of company B" unless $idpath;
		}
	}
}
cmp_ok $covered, '>=', 45, "$covered authenticated routes walked with 14 credentials ($walked requests)";

# Nothing of B changed.
is $t->sql('SELECT role FROM users WHERE id = ?', $B->{users}{member}{id})->[0]{role}, 'member', "B's member kept their role";
is $t->sql('SELECT count(*) AS n FROM invitations WHERE id = ? AND revoked_at IS NULL', $B->{invitation})->[0]{n}, 1, "B's invitation is open";
is $t->sql('SELECT count(*) AS n FROM api_keys WHERE company_id = ? AND revoked_at IS NULL', $B->{id})->[0]{n}, scalar(@scopes), "B's keys live";
is $t->get('/api/v1/me', headers => { authorization => "Bearer $B->{users}{member}{token}" })->{status}, 200, "B's sessions live";
is $t->sql('SELECT name FROM companies WHERE id = ?', $B->{id})->[0]{name}, 'beta Ltd', "B's company unchanged";
is $t->sql('SELECT name FROM chatbots WHERE id = ?', $B->{bot})->[0]{name}, 'beta bot', "B's chatbot unchanged";
is $t->sql('SELECT count(*) AS n FROM kb_documents WHERE id = ?', $B->{doc})->[0]{n}, 1, "B's document kept";
is $t->sql('SELECT name FROM response_templates WHERE id = ?', $B->{template})->[0]{name}, 'beta hello', "B's template unchanged";
is_deeply $t->sql('SELECT status, message_count FROM conversations WHERE id = ?', $B->{conversation})->[0],
    { status => 'pending', message_count => 4 }, "B's conversation unchanged (the visitor's file handed it to a person at setup)";

# The database itself: company A's context cannot touch B's rows anywhere.
open my $fh, '<', ParleyTest->srcdir . '/docs/architecture.md' or die;
my ($block) = do { local $/; <$fh> } =~ /<!-- rls-exempt:begin -->(.*?)<!-- rls-exempt:end -->/s;
my %exempt = map { $_ => 1 } $block =~ /^\|\s*`(\w+)`/mg;
my @tenant = map { $_->{relname} } @{ $t->sql(q{
	SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = 'public' AND c.relkind = 'r' AND EXISTS (SELECT 1 FROM pg_attribute a
	    WHERE a.attrelid = c.oid AND a.attname = 'company_id' AND NOT a.attisdropped) ORDER BY 1}) };
@tenant = grep { !$exempt{$_} } @tenant;
cmp_ok scalar(@tenant), '>=', 10, 'tenant tables from the catalog: ' . join(', ', @tenant);
my $with_b = 0;
my $app = $t->dbh('parley_app');
for my $tb (@tenant) {
	my $b_rows = $t->sql(qq{SELECT count(*) AS n FROM "$tb" WHERE company_id = ?}, $B->{id})->[0]{n};
	$with_b++ if $b_rows;
	$app->begin_work;
	$app->do(q{SELECT set_config('app.company_id', ?, true)}, undef, $A->{id});
	my ($seen) = $app->selectrow_array(qq{SELECT count(*) FROM "$tb" WHERE company_id = ?}, undef, $B->{id});
	my $upd = eval { $app->do(qq{UPDATE "$tb" SET company_id = company_id WHERE company_id = ?}, undef, $B->{id}) } // 'refused';
	$app->rollback;
	$app->begin_work;
	$app->do(q{SELECT set_config('app.company_id', ?, true)}, undef, $A->{id});
	my $del = eval { $app->do(qq{DELETE FROM "$tb" WHERE company_id = ?}, undef, $B->{id}) } // 'refused';
	$app->rollback;
	is $seen, 0, "$tb: A sees none of B's $b_rows rows";
	ok $upd eq '0E0' || $upd eq 'refused', "$tb: A updates none of them ($upd)";
	ok $del eq '0E0' || $del eq 'refused', "$tb: A deletes none of them ($del)";
	$app->begin_work;
	my ($none) = $app->selectrow_array(qq{SELECT count(*) FROM "$tb"});
	$app->rollback;
	is $none, 0, "$tb: without a company context, nothing at all";
}
cmp_ok $with_b, '>=', 8, "company B has rows in $with_b of those tables (the walk had something to find)";
ok !eval { $app->do('ALTER TABLE users DISABLE ROW LEVEL SECURITY'); 1 }, 'the runtime role cannot disable RLS';
ok !eval { $app->do('SET row_security = off; SELECT count(*) FROM users'); 1 }, 'nor read around it';

done_testing;
