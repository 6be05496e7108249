# The company and its settings; MFA required by the company; the audit
# log core: append-only, HMAC-chained per company in commit order, with
# the head checkpointed in the log.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use MIME::Base64 qw(decode_base64);
use Digest::SHA qw(hmac_sha256_hex);
use POSIX ();
use ParleyTest;

my $t = ParleyTest->new(workers => 3);
my $pw = 'tangerine-orbit-velvet-42';
my $owner = $t->signup(json => { email => 'own@co.example', password => $pw,
    name => 'Ona Owner', company_name => 'Audit Co' })->{json};
my $cid = $owner->{company}{id};
my $oauth = { authorization => "Bearer $owner->{access_token}" };

# A member, made directly (invitations come with the members API).
my $hash = $t->sql('SELECT password_hash FROM users WHERE id = ?', $owner->{user}{id})->[0]{password_hash};
$t->sql(q{INSERT INTO users (company_id, email, name, role, password_hash) VALUES (?, 'mem@co.example', 'Mo Member', 'member', ?)},
    $cid, $hash);
my $mem = $t->post('/api/v1/auth/login', json => { email => 'mem@co.example', password => $pw })->{json};
my $mauth = { authorization => "Bearer $mem->{access_token}" };

my $r = $t->get('/api/v1/company', headers => $mauth);
is $r->{status}, 200, 'members read the company';
is $r->{json}{name}, 'Audit Co', '... its name';
is $r->{json}{settings}{mfa_required}, JSON::PP::false, '... and settings';
is $t->request('PATCH', '/api/v1/company', headers => $mauth, json => { name => 'Mine' })->{status}, 403,
    'a member may not change it';
$r = $t->request('PATCH', '/api/v1/company', headers => $oauth, json => { name => 'Audit Co', colour => 'red' });
is $r->{status}, 422, 'unknown fields are refused';
is $r->{json}{errors}[0]{field}, 'colour', '... by name';
$r = $t->request('PATCH', '/api/v1/company', headers => $oauth, json => { settings => { retention => 5 } });
is $r->{json}{errors}[0]{field}, 'settings.retention', 'unknown settings too';
is $t->sql('SELECT count(*) AS n FROM audit_log')->[0]{n}, 0, 'refused requests wrote nothing';

$r = $t->request('PATCH', '/api/v1/company', headers => $oauth, json => { name => 'Audit Company', settings => { mfa_required => JSON::PP::true } });
is $r->{status}, 200, 'the owner changes name and settings';
is $r->{json}{settings}{mfa_required}, JSON::PP::true, '... MFA now required';
my $e = $t->sql(q{SELECT seq, actor_type, actor_id, action, resource_type, resource_id, changed_fields::text AS f,
    changes::text AS c, ip, request_id FROM audit_log})->[0];
is $e->{seq}, 1, 'one audit entry, sequence 1';
is $e->{action}, 'company.update', '... action';
is $e->{actor_type}, 'user', '... by a user';
is $e->{actor_id}, $owner->{user}{id}, '... this one';
is_deeply decode_json($e->{f}), ['name', 'settings.mfa_required'], '... naming the changed fields';
is_deeply decode_json($e->{c}), { 'settings.mfa_required' => { old => JSON::PP::false, new => JSON::PP::true } },
    '... with old and new values of the setting only';
unlike $e->{c}, qr/Audit Company/, 'the name itself is not logged';
is $e->{request_id}, $r->{headers}{'x-request-id'}, '... and the request id';

# MFA required: the member without TOTP can only enrol.
$r = $t->get('/api/v1/company', headers => $mauth);
is $r->{status}, 403, 'member without TOTP: refused elsewhere';
is $r->{json}{code}, 'mfa_setup_required', '... mfa_setup_required';
is $t->get('/api/v1/me', headers => $mauth)->{status}, 200, '... but may read /me';
is $t->post('/api/v1/auth/mfa/totp/setup', headers => $mauth)->{status}, 200, '... and set up TOTP';

# The owner has no TOTP either: the company setting binds them too.
is $t->get('/api/v1/company', headers => $oauth)->{json}{code}, 'mfa_setup_required', 'the setting binds owners too';
$t->sql('UPDATE companies SET mfa_required = false WHERE id = ?', $cid);

# Concurrent writers: the chain follows commit order, no gaps, no forks.
my @kids;
for my $i (1 .. 8) {
	my $pid = fork // die;
	if (!$pid) {
		$t->{http} = undef;
		$t->request('PATCH', '/api/v1/company', headers => $oauth, json => { name => "Name $i" });
		POSIX::_exit(0);
	}
	push @kids, $pid;
}
waitpid($_, 0) for @kids;
my $rows = $t->sql(q{SELECT company_id, seq, created_us, actor_type, actor_id, action, resource_type, resource_id,
    changed_fields::text AS f, changes::text AS c, ip, user_agent, request_id,
    encode(prev_hmac, 'hex') AS prev, encode(hmac, 'hex') AS mac FROM audit_log ORDER BY seq});
is_deeply [map { $_->{seq} } @$rows], [1 .. scalar(@$rows)], 'sequence numbers 1..' . scalar(@$rows) . ' without gaps';
cmp_ok scalar(@$rows), '>=', 8, 'every concurrent change was logged';

# Recompute the chain with the key from outside the database.
my $key = decode_base64($t->audit_key_b64);
my $prev = '00' x 32;
my ($ok, $bad) = (0, 0);
for my $row (@$rows) {
	my $canon = JSON::PP->new->canonical->ascii->encode([
	    $row->{company_id}, 0 + $row->{seq}, 0 + $row->{created_us}, $row->{actor_type}, $row->{actor_id},
	    $row->{action}, $row->{resource_type}, $row->{resource_id}, decode_json($row->{f}),
	    defined $row->{c} ? decode_json($row->{c}) : undef, $row->{ip}, $row->{user_agent}, $row->{request_id} ]);
	my $mac = hmac_sha256_hex(pack('H*', $prev) . $canon, $key);
	($row->{prev} eq $prev && $row->{mac} eq $mac) ? $ok++ : $bad++;
	$prev = $row->{mac};
}
is $bad, 0, "the HMAC chain verifies with the outside key ($ok entries)";
is $t->sql('SELECT seq, encode(hmac, ?) AS h FROM audit_heads', 'hex')->[0]{h}, $prev, 'the head matches the last entry';
# The checkpoint is logged once the entry's transaction commits; wait for
# the log line of the last entry (the log is read as a file, concurrently).
my $cp;
eval {
	ParleyTest::wait_for(sub {
		($cp) = grep { ($_->{count} // 0) == $rows->[-1]{seq} } grep { $_->{event} eq 'audit_checkpoint' } $t->log_events;
		$cp;
	}, 'the last checkpoint', 10);
};
is $cp->{count}, $rows->[-1]{seq}, 'the head is checkpointed in the log after commit';
is $cp->{digest}, $prev, '... with its HMAC';

# Append-only.
my $app = $t->dbh('parley_app');
sub as_app {
	my ($sql, @b) = @_;
	$app->begin_work;
	$app->do(q{SELECT set_config('app.company_id', ?, true)}, undef, $cid);
	my $ok = eval { $app->do($sql, undef, @b); 1 };
	$app->rollback;
	return $ok;
}
ok !as_app(q{UPDATE audit_log SET action = 'x.y'}), 'the runtime role cannot UPDATE entries';
ok !as_app(q{DELETE FROM audit_log}), '... nor DELETE them';
ok !as_app(q{INSERT INTO audit_log SELECT * FROM audit_log LIMIT 1}), '... nor INSERT directly';
ok !as_app(q{UPDATE audit_heads SET seq = 0}), '... nor move the chain head';
ok !as_app(q{DELETE FROM companies WHERE id = ?}, $cid), '... nor delete the company around the log';
ok !as_app(q{SELECT set_config('parley.audit_purge', ?, true); DELETE FROM audit_log}, $cid),
    '... not even with the purge setting';
ok !as_app(q{SELECT parley_audit_append(?, 1, 0, 'system', NULL, 'x.y', 'company', NULL, '[]', NULL, NULL, NULL, NULL,
    decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex'))}, $cid),
    'an entry that does not continue the chain is refused';
ok !eval { $t->sql(q{UPDATE audit_log SET action = 'x.y' WHERE seq = 1}); 1 }, 'the superuser is stopped by the trigger (UPDATE)';
{
	my $su = $t->dbh('postgres');
	$su->begin_work;
	$su->do(q{SELECT set_config('parley.audit_purge', ?, true)}, undef, $cid);
	ok !eval { $su->do(q{DELETE FROM audit_log WHERE seq = 1}); 1 }, '... (DELETE, even with the purge setting)';
	$su->rollback;
}
ok !eval { $t->sql(q{TRUNCATE audit_log}); 1 }, '... (TRUNCATE)';
is $t->sql('SELECT count(*) AS n FROM audit_log')->[0]{n}, scalar(@$rows), 'nothing was removed';

# Company deletion: the one way entries go, only for the current tenant.
my $other = $t->sql(q{INSERT INTO companies (name) VALUES ('Other') RETURNING id})->[0]{id};
ok !as_app(q{SELECT parley_company_delete(?)}, $other), 'deleting another company is refused';
$app->begin_work;
$app->do(q{SELECT set_config('app.company_id', ?, true)}, undef, $cid);
ok $app->selectrow_array(q{SELECT parley_company_delete(?)}, undef, $cid), 'the company deletes itself';
my ($left) = $app->selectrow_array(q{SELECT count(*) FROM audit_log});
is $left, 0, '... and its audit log with it';
$app->rollback;
is $t->sql('SELECT count(*) AS n FROM audit_log')->[0]{n}, scalar(@$rows), '(rolled back: the log is intact)';

done_testing;
