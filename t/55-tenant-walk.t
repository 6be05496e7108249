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

my $t = ParleyTest->new(workers => 3, env => { PARLEY_API_RATE_MAX => 100000, PARLEY_LOGIN_MAX_PER_IP => 1000 });
my $pw = 'tangerine-orbit-velvet-42';
my @scopes = qw(conversations:read conversations:write chatbots:read chatbots:write documents:read
    documents:write templates:write members:read audit:read webhooks:write analytics:read);
my %rank = (member => 1, admin => 2, owner => 3);
my $n = 0;

sub company {
	my ($tag) = @_;
	my $o = $t->post('/api/v1/auth/register', headers => { 'x-forwarded-for' => '203.0.113.' . ++$n },
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
	my $inv = $t->post('/api/v1/invitations', headers => $oauth, json => { email => "guest\@$tag.example", role => 'member' })->{json};
	$c{invitation} = $inv->{id};
	$t->request('PATCH', '/api/v1/company', headers => $oauth, json => { name => "$tag Ltd" });
	return \%c;
}
my $A = company('alpha');
my $B = company('beta');

# Object ids of B, by the resource a route's :id names.
my %b_id = (
	'/api/v1/members/:id' => $B->{users}{member}{id},
	'/api/v1/invitations/:id' => $B->{invitation},
	'/api/v1/api-keys/:id' => $B->{key_id},
	'/api/v1/auth/sessions/:id' => $B->{users}{member}{session},
);
my $nobody = '00000000-0000-4000-8000-000000000000';
my %valid_body = ('/api/v1/members/:id' => { role => 'member' });
# Every id and name of company B: none may appear in an answer to A.
my @b_known = ($B->{id}, (map { $_->{id}, $_->{session} } values %{ $B->{users} }), $B->{invitation},
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
);
my %public = map { $_ => 1 } ('GET /healthz', 'GET /readyz', 'GET /api/v1/meta', 'POST /api/v1/csp-report',
    'POST /api/v1/auth/register', 'POST /api/v1/auth/login', 'POST /api/v1/auth/refresh',
    'POST /api/v1/auth/password/forgot', 'POST /api/v1/auth/password/reset', 'POST /api/v1/auth/email/verify',
    'POST /api/v1/invitations/accept');

my $routes = decode_json(scalar `'@{[ ParleyTest->builddir ]}/parleyctl' routes`);
for my $r (@$routes) {
	my $name = "$r->{method} $r->{path}";
	if ($r->{auth} eq 'public') {
		ok $public{$name}, "$name: public, and meant to be";
		next;
	}
	ok $expected{$name}, "$name: in the walk's own permission matrix" or next;
	is $r->{min_role}, $expected{$name}[0], "$name: the route table asks for the intended role";
	is_deeply $r->{scopes}, [grep { defined } $expected{$name}[1]], "$name: ... and the intended API-key scope";
}
is scalar(grep { $_->{auth} ne 'public' } @$routes), scalar(keys %expected), 'no route of the matrix is missing from the table';
my ($covered, $walked) = (0, 0);
for my $r (@$routes) {
	my $name = "$r->{method} $r->{path}";
	next if $r->{auth} eq 'public';
	$covered++;
	my ($idpath) = grep { $r->{path} eq $_ } keys %b_id;
	if ($r->{path} =~ /:id/) {
		ok $idpath, "$name: the walk knows whose id to use" or next;
	}
	my @ids = $idpath ? ($b_id{$idpath}, $nobody) : (undef);
	my $call = sub {
		my ($cred, $id) = @_;
		(my $path = $r->{path}) =~ s/:id/$id/ if defined $id;
		$path //= $r->{path};
		my %o = (headers => { authorization => "Bearer $cred", 'x-forwarded-for' => '198.51.100.' . (++$n % 250 + 1) });
		# On an id route a valid body, so the id is what decides; elsewhere
		# one that fails validation: an allowed caller gets a 4xx about the
		# body, never 401/403, and nothing changes.
		if ($r->{method} =~ /^(POST|PATCH)$/) {
			$o{json} = defined $id && $valid_body{$r->{path}} ? $valid_body{$r->{path}} : { unexpected_field => 1 };
		}
		return $t->request($r->{method}, $path, %o);
	};
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
			is $res[0]{status}, $idpath ? 404 : 200, "$name with a $s key: allowed";
			is $res[0]{json}{code}, $res[1]{json}{code}, "$name with a $s key: the same answer for B's and an unknown id" if $idpath;
			unlike $res[0]{content}, $b_ids, "$name with a $s key: nothing of company B" unless $idpath;
		}
	}
}
cmp_ok $covered, '>=', 20, "$covered authenticated routes walked with 14 credentials ($walked requests)";

# Nothing of B changed.
is $t->sql('SELECT role FROM users WHERE id = ?', $B->{users}{member}{id})->[0]{role}, 'member', "B's member kept their role";
is $t->sql('SELECT count(*) AS n FROM invitations WHERE id = ? AND revoked_at IS NULL', $B->{invitation})->[0]{n}, 1, "B's invitation is open";
is $t->sql('SELECT count(*) AS n FROM api_keys WHERE company_id = ? AND revoked_at IS NULL', $B->{id})->[0]{n}, scalar(@scopes), "B's keys live";
is $t->get('/api/v1/me', headers => { authorization => "Bearer $B->{users}{member}{token}" })->{status}, 200, "B's sessions live";
is $t->sql('SELECT name FROM companies WHERE id = ?', $B->{id})->[0]{name}, 'beta Ltd', "B's company unchanged";

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
