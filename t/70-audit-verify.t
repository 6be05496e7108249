# parleyctl audit verify: recomputes every company's audit chain with the
# key from outside the database, compares the heads and the checkpoints
# parleyd logged, and names the first broken entry: an edit, a chain
# recomputed without the key, a gap, a broken link, a moved head, and a
# deleted tail (only with the log's checkpoints: without them a tail cut
# cleanly, head moved back, looks like a shorter log).
use strict;
use warnings;
use Test::More;
use JSON::PP;
use MIME::Base64 qw(decode_base64 encode_base64);
use Digest::SHA qw(hmac_sha256_hex);
use ParleyTest;

my $t = ParleyTest->new;
my $b = ParleyTest->builddir;
my $log = $t->dir . '/parleyd.log';
my $su = $t->pg->conninfo($t->dbname, 'postgres');
my $pw = 'tangerine-orbit-velvet-42';

# verify([env], @args): runs parleyctl audit verify with parleyd's own
# configuration (its environment: key files), as the superuser unless
# 'env' says otherwise (undef unsets). Returns (exit, stdout, stderr).
my @outputs;
sub verify {
	my ($env, @args) = ref $_[0] eq 'HASH' ? @_ : ({}, @_);
	my $stdin = delete local $env->{stdin};
	local %ENV = (%ENV, %{ $t->parleyd_env }, PARLEY_AUDIT_DATABASE_URL => $su, %$env);
	delete $ENV{$_} for grep { !defined $ENV{$_} } keys %ENV;
	my $errf = $t->dir . '/verify.err';
	open my $saved_err, '>&', \*STDERR or die;
	open my $saved_in, '<&', \*STDIN or die;
	open STDERR, '>', $errf or die;
	open STDIN, '<', $stdin // '/dev/null' or die;
	open my $fh, '-|', "$b/parleyctl", 'audit', 'verify', @args or die "parleyctl: $!";
	my $out = do { local $/; <$fh> } // '';
	close $fh;
	my $rc = $? & 127 ? 128 + ($? & 127) : $? >> 8; # a crash is no verdict
	open STDERR, '>&', $saved_err or die;
	open STDIN, '<&', $saved_in or die;
	my $err = $t->slurp('verify.err');
	push @outputs, $out, $err;
	return ($rc, $out, $err);
}

sub company {
	my ($email, $name, $ip) = @_;
	my $r = $t->signup(headers => { 'x-forwarded-for' => $ip },
	    json => { email => $email, password => $pw, name => 'Ann Owner', company_name => $name });
	die "register: $r->{status}" unless $r->{status} == 201;
	return ($r->{json}{company}{id}, { authorization => "Bearer $r->{json}{access_token}" });
}
my ($A, $aauth) = company('own@a.example', 'Alpha', '203.0.113.1');
my ($B, $bauth) = company('own@b.example', 'Beta', '203.0.113.2');

# Audited changes through the API: five in A, three in B (B's carry real
# numbers, which must survive jsonb and come back byte for byte).
for my $n (1 .. 3) {
	is $t->request('PATCH', '/api/v1/company', headers => $aauth, json => { name => "Alpha $n" })->{status}, 200,
	    "A: company renamed ($n)";
}
is $t->post('/api/v1/api-keys', headers => $aauth, json => { name => 'reporting', scopes => ['members:read'] })->{status},
    201, 'A: an API key created';
is $t->post('/api/v1/chatbots', headers => $aauth, json => { name => 'Helper' })->{status}, 201, 'A: a chatbot created';
my $r = $t->post('/api/v1/chatbots', headers => $bauth, json => { name => 'Support', temperature => 0.3,
    allowed_origins => ['https://shop.example'] });
is $r->{status}, 201, 'B: a chatbot created';
is $t->request('PATCH', "/api/v1/chatbots/$r->{json}{id}", headers => $bauth,
    json => { temperature => 0.7, language => 'french' })->{status}, 200, 'B: ... and changed';
# A user agent beyond ASCII (HTTP::Tiny will not send one): stored as
# UTF-8, \u-escaped in the canonical text.
my $body = '{"name":"Beta 2"}';
my ($st) = $t->raw("PATCH /api/v1/company HTTP/1.1\r\nHost: localhost\r\nAuthorization: $bauth->{authorization}\r\n"
    . "User-Agent: B\xc3\xa9ta-Client/1 \xe2\x9c\x93\r\nContent-Type: application/json\r\n"
    . 'Content-Length: ' . length($body) . "\r\nConnection: close\r\n\r\n$body");
is $st, 200, 'B: company renamed';
like $t->sql(q{SELECT user_agent FROM audit_log WHERE company_id = ? AND seq = 3}, $B)->[0]{user_agent}, qr/^B[^?]{1,2}ta-Client/,
    '... its user agent logged';

my %n = map { $_->{c} => $_->{n} }
    @{ $t->sql('SELECT company_id::text AS c, count(*) AS n FROM audit_log GROUP BY 1') };
is $n{$A}, 5, 'A has five entries';
is $n{$B}, 3, 'B has three';
ParleyTest::wait_for(sub {
	my %cp;
	$cp{$_->{resource}} = $_->{count} for grep { $_->{event} eq 'audit_checkpoint' } $t->log_events;
	($cp{$A} // 0) == 5 && ($cp{$B} // 0) == 3;
}, 'the checkpoints in the log');

my $okA = qr/^ok $A 5 entries, head 5, checkpoint 5$/m;
my $okB = qr/^ok $B 3 entries, head 3, checkpoint 3$/m;
my ($rc, $out, $err) = verify('--log', $log);
is $rc, 0, 'an untouched log verifies: exit 0';
like $out, $okA, '... A: ok, with its head and checkpoint';
like $out, $okB, '... B: ok';
is scalar(() = $out =~ /^/mg), 2, '... one line per company';
is $err, '', '... nothing on stderr';

($rc, $out) = verify('--company', uc $B, '--log', $log);
is $rc, 0, '--company: exit 0';
is $out, "ok $B 3 entries, head 3, checkpoint 3\n", '... only that company (any case)';
($rc, $out) = verify({ stdin => $log }, '--company', $A, '--log', '-');
like $out, $okA, '--log - reads standard input';

($rc, $out, $err) = verify();
is $rc, 0, 'without --log: exit 0';
like $out, qr/^ok $A 5 entries, head 5, checkpoint none$/m, '... no checkpoint to compare';
like $err, qr/no --log: a deleted tail cannot be detected/, '... and it says what that costs';

# Log lines are bounded and only well-formed checkpoints count.
open my $junk, '>', $t->dir . '/junk.log' or die;
print $junk 'x' x 100000, " audit_checkpoint\n", "not json audit_checkpoint {\n",
    qq({"event":"audit_checkpoint","resource":"nope","count":9,"digest":"00"}\n),
    qq({"event":"audit_checkpoint","resource":"$A","count":-1,"digest":") . ('0' x 64) . qq("}\n),
    qq(Jan  1 00:00:00 host parleyd[1]: {"event":"worker_started"}\n);
close $junk;
($rc, $out, $err) = verify('--log', $t->dir . '/junk.log', '--log', $log);
is $rc, 0, 'an overlong line and malformed checkpoints are skipped';
like $out, $okA, '... the real checkpoints still count';
like $err, qr/junk\.log: 3 overlong or malformed checkpoint lines ignored/, '... and reported';

# Usage, configuration and connection errors: exit 2, never a verdict.
($rc, undef, $err) = verify('--frobnicate');
is $rc, 2, 'an unknown option: exit 2';
like $err, qr/usage: parleyctl audit verify/, '... with usage';
is((verify('--company', 'not-a-uuid'))[0], 2, 'a malformed company id: exit 2');
($rc, undef, $err) = verify('--company', '00000000-0000-4000-8000-000000000000');
is $rc, 2, 'an unknown company: exit 2';
like $err, qr/no company 00000000-0000-4000-8000-000000000000/, '... saying so';
is((verify('--log', $t->dir . '/missing.log'))[0], 2, 'a missing log file: exit 2');
($rc, undef, $err) = verify({ PARLEY_AUDIT_DATABASE_URL => undef });
is $rc, 2, 'no PARLEY_AUDIT_DATABASE_URL: exit 2';
like $err, qr/BYPASSRLS/, '... naming the role it needs';
($rc, undef, $err) = verify({ PARLEY_AUDIT_DATABASE_URL => 'postgresql://u:S3cretPW@[broken' });
is $rc, 2, 'a malformed connection string: exit 2';
unlike $err, qr/S3cretPW/, '... not echoed';
($rc, undef, $err) = verify({ PARLEY_AUDIT_KEY_FILE => $t->dir . '/no-such.key' });
is $rc, 2, 'no audit key: exit 2';
like $err, qr/audit_key_file/, '... naming audit_key_file';
($rc, undef, $err) = verify({ PARLEY_AUDIT_DATABASE_URL => $t->app_conninfo });
is $rc, 2, 'a role that row-level security filters is refused (exit 2), not shown an empty log';
like $err, qr/row-level security.*\n.*BYPASSRLS/s, '... saying why';

# A dedicated read-only role: BYPASSRLS, USAGE on the schema (001-init.sql
# revokes it from PUBLIC) and SELECT on the three tables.
my $role = "parley_audit_t$$";
my $role_env = { PARLEY_AUDIT_DATABASE_URL => $t->pg->conninfo($t->dbname, $role) };
$t->sql(qq{CREATE ROLE "$role" LOGIN BYPASSRLS});
$t->sql(qq{GRANT SELECT ON audit_log, audit_heads, companies TO "$role"});
($rc, undef, $err) = verify($role_env, '--log', $log);
is $rc, 2, 'a role without USAGE on the schema: exit 2';
like $err, qr/USAGE on the schema/, '... saying what it lacks';
$t->sql(qq{GRANT USAGE ON SCHEMA public TO "$role"});
($rc, $out, $err) = verify($role_env, '--log', $log);
is $rc, 0, 'a BYPASSRLS role with USAGE and SELECT on audit_log, audit_heads, companies verifies' or diag $err;
like $out, $okA, '... every company';
$t->sql(qq{DROP OWNED BY "$role"});
$t->sql(qq{DROP ROLE "$role"});

# The wrong key: every entry is "chained without the key".
open my $kf, '>', $t->dir . '/other.key' or die;
print $kf encode_base64(join('', map { chr(($_ * 7) & 255) } 1 .. 48), '') . "\n";
close $kf;
($rc, $out) = verify({ PARLEY_AUDIT_KEY_FILE => $t->dir . '/other.key' }, '--log', $log);
is $rc, 1, 'another key: exit 1';
like $out, qr/^BROKEN $A at entry 1: hmac mismatch \(edited, or chained without the key\)$/m, '... A from entry 1';
like $out, qr/^BROKEN $B at entry 1: hmac mismatch/m, '... B too';

# Tampering, as a superuser with triggers off (session_replication_role);
# each case starts from the saved, intact tables.
my $dbh = $t->dbh('postgres');
$t->sql('CREATE TABLE audit_saved AS SELECT * FROM audit_log');
$t->sql('CREATE TABLE heads_saved AS SELECT * FROM audit_heads');
sub as_root {
	my (@sql) = @_;
	$dbh->begin_work;
	$dbh->do('SET LOCAL session_replication_role = replica');
	$dbh->do(@$_) for @sql;
	$dbh->commit;
}
sub restore {
	as_root(['DELETE FROM audit_log'], ['INSERT INTO audit_log SELECT * FROM audit_saved'],
	    ['DELETE FROM audit_heads'], ['INSERT INTO audit_heads SELECT * FROM heads_saved']);
}
sub hmac_of { $t->sql(q{SELECT encode(hmac, 'hex') AS h FROM audit_log WHERE company_id = ? AND seq = ?}, @_)->[0]{h} }

# tampered(name, [sql...], with-log re, [without-log exit, re]): one case.
sub tampered {
	my ($name, $sql, $want, $nolog_rc, $nolog_re) = @_;
	as_root(@$sql);
	my ($rc, $out) = verify('--log', $log);
	is $rc, 1, "$name: exit 1";
	like $out, $want, "... $name: the first broken entry named";
	like $out, $okB, "... $name: B still ok";
	if (defined $nolog_rc) {
		my ($rc2, $out2) = verify();
		is $rc2, $nolog_rc, "... $name, without --log: exit $nolog_rc";
		like $out2, $nolog_re, "... $name, without --log: as expected";
	}
	restore();
}

# (a) one entry edited.
tampered('an edited entry', [[q{UPDATE audit_log SET action = 'company.tampered' WHERE company_id = ? AND seq = 3}, undef, $A]],
    qr/^BROKEN $A at entry 3: hmac mismatch \(edited, or chained without the key\)$/m,
    1, qr/^BROKEN $A at entry 3: hmac mismatch/m);

# The chain recomputed outside parleyd: the canonical text as in t/50.
sub rows_of {
	return $t->sql(q{SELECT company_id, seq, created_us, actor_type, actor_id, action, resource_type, resource_id,
	    changed_fields::text AS f, changes::text AS c, ip, user_agent, request_id,
	    encode(hmac, 'hex') AS mac FROM audit_log WHERE company_id = ? ORDER BY seq}, $_[0]);
}
sub canonical {
	my ($row) = @_;
	return JSON::PP->new->canonical->ascii->encode([
	    $row->{company_id}, 0 + $row->{seq}, 0 + $row->{created_us}, $row->{actor_type}, $row->{actor_id},
	    $row->{action}, $row->{resource_type}, $row->{resource_id}, decode_json($row->{f}),
	    defined $row->{c} ? decode_json($row->{c}) : undef, $row->{ip}, $row->{user_agent}, $row->{request_id} ]);
}
# rechain(company, key): every prev_hmac and hmac and the head, under 'key'.
sub rechain {
	my ($cid, $key) = @_;
	my $prev = '00' x 32;
	my @sql;
	for my $row (@{ rows_of($cid) }) {
		my $mac = hmac_sha256_hex(pack('H*', $prev) . canonical($row), $key);
		push @sql, [q{UPDATE audit_log SET prev_hmac = decode(?, 'hex'), hmac = decode(?, 'hex')
		    WHERE company_id = ? AND seq = ?}, undef, $prev, $mac, $cid, $row->{seq}];
		$prev = $mac;
	}
	push @sql, [q{UPDATE audit_heads SET hmac = decode(?, 'hex') WHERE company_id = ?}, undef, $prev, $cid];
	return @sql;
}
my $key = decode_base64($t->audit_key_b64);
is_deeply [map { $_->{mac} } @{ rows_of($A) }],
    [map { $_->[3] } grep { $_->[0] =~ /^UPDATE audit_log/ } rechain($A, $key)],
    "(this test's canonical text is parleyd's for A's entries)";

# (b) the whole chain recomputed with a key of zeros (plain hashing, or any
# key but the real one), links and head consistent.
tampered('a chain recomputed without the key', [rechain($A, "\0" x 32)],
    qr/^BROKEN $A at entry 1: hmac mismatch \(edited, or chained without the key\)$/m,
    1, qr/^BROKEN $A at entry 1: hmac mismatch/m);

# (b') with the key stolen: entry 2 edited and everything after rechained.
# Only the checkpoint outside the database can tell.
as_root([q{UPDATE audit_log SET action = 'company.tampered' WHERE company_id = ? AND seq = 2}, undef, $A]);
tampered('an edit rechained with the real key', [rechain($A, $key)],
    qr/^BROKEN $A at entry 5: checkpoint mismatch$/m, 0, qr/^ok $A 5 entries, head 5, checkpoint none$/m);

# (c, d) the tail deleted and the head moved back to the new last entry:
# detected only through the checkpoint; without the log it is invisible.
my $h3 = hmac_of($A, 3);
tampered('a deleted tail',
    [[q{DELETE FROM audit_log WHERE company_id = ? AND seq > 3}, undef, $A],
     [q{UPDATE audit_heads SET seq = 3, hmac = decode(?, 'hex') WHERE company_id = ?}, undef, $h3, $A]],
    qr/^BROKEN $A at entry 4: tail deleted: checkpoint 5 is beyond the last entry$/m,
    0, qr/^ok $A 3 entries, head 3, checkpoint none$/m);

# A company's whole log deleted with its head: known only from the log.
tampered('a whole log deleted',
    [[q{DELETE FROM audit_log WHERE company_id = ?}, undef, $A], [q{DELETE FROM audit_heads WHERE company_id = ?}, undef, $A]],
    qr/^BROKEN $A at entry 1: tail deleted: checkpoint 5 is beyond the last entry$/m,
    0, qr/\A\Qok $B 3 entries, head 3, checkpoint none\E\n\z/);

# A gap, a broken link, a head that is not the last entry.
tampered('a missing entry', [[q{DELETE FROM audit_log WHERE company_id = ? AND seq = 2}, undef, $A]],
    qr/^BROKEN $A at entry 2: missing entry \(gap\)$/m);
tampered('a broken link',
    [[q{UPDATE audit_log SET prev_hmac = decode(repeat('ab', 32), 'hex') WHERE company_id = ? AND seq = 4}, undef, $A]],
    qr/^BROKEN $A at entry 4: link to previous entry broken$/m);
my $h4 = hmac_of($A, 4);
tampered('a head moved back',
    [[q{UPDATE audit_heads SET seq = 4, hmac = decode(?, 'hex') WHERE company_id = ?}, undef, $h4, $A]],
    qr/^BROKEN $A at entry 5: head does not match the last entry$/m,
    1, qr/^BROKEN $A at entry 5: head does not match the last entry$/m);

# A forged or conflicting checkpoint in a log: never silently ignored.
open my $fk, '>', $t->dir . '/forged.log' or die;
print $fk qq({"event":"audit_checkpoint","resource":"$A","count":5,"digest":") . ('0' x 64) . qq("}\n);
close $fk;
($rc, $out) = verify('--log', $log, '--log', $t->dir . '/forged.log');
is $rc, 1, 'two digests logged for one checkpoint: exit 1';
like $out, qr/^BROKEN $A at entry 5: checkpoint mismatch$/m, '... checkpoint mismatch';

# --company checks only that company, breakage elsewhere notwithstanding.
as_root([q{UPDATE audit_log SET action = 'company.tampered' WHERE company_id = ? AND seq = 1}, undef, $A]);
($rc, $out) = verify('--company', $B, '--log', $log);
is $rc, 0, '--company B: exit 0 while A is broken';
is $out, "ok $B 3 entries, head 3, checkpoint 3\n", '... B only';
($rc, $out) = verify('--company', $A, '--log', $log);
is $rc, 1, '--company A: exit 1';
is $out, "BROKEN $A at entry 1: hmac mismatch (edited, or chained without the key)\n", '... A only';
restore();

($rc, $out) = verify('--log', $log);
is $rc, 0, 'restored: everything verifies again';
$t->sql('DROP TABLE audit_saved, heads_saved');

# Many companies and a long chain: both cursors go past one batch. The
# entries are made here, chained with the key as parleyd would.
my @bulk = map { $_->{id} } @{ $t->sql(q{INSERT INTO companies (name) SELECT 'Bulk ' || g FROM generate_series(1, 150) g
    RETURNING id::text AS id}) };
{
	my $ins = $dbh->prepare(q{INSERT INTO audit_log (company_id, seq, created_us, created_at, actor_type, action,
	    resource_type, changed_fields, changes, prev_hmac, hmac)
	    VALUES (?, ?, ?, to_timestamp(? / 1000000.0), 'system', 'test.bulk', 'test', ?, ?, decode(?, 'hex'), decode(?, 'hex'))});
	my $head = $dbh->prepare(q{INSERT INTO audit_heads (company_id, seq, hmac) VALUES (?, ?, decode(?, 'hex'))});
	$dbh->begin_work;
	for my $i (0 .. $#bulk) {
		my $prev = '00' x 32;
		my $n = $i == 0 ? 300 : 1;
		for my $seq (1 .. $n) {
			my $row = { company_id => $bulk[$i], seq => $seq, created_us => 1700000000000000 + $seq,
			    actor_type => 'system', action => 'test.bulk', resource_type => 'test',
			    f => '["n"]', c => qq({"n": {"new": $seq, "old": null}}) };
			my $mac = hmac_sha256_hex(pack('H*', $prev) . canonical($row), $key);
			$ins->execute($bulk[$i], $seq, $row->{created_us}, $row->{created_us}, $row->{f}, $row->{c}, $prev, $mac);
			$prev = $mac;
		}
		$head->execute($bulk[$i], $n, $prev);
	}
	$dbh->commit;
}
($rc, $out) = verify('--log', $log);
is $rc, 0, '152 companies, one with 300 entries: exit 0';
is scalar(() = $out =~ /^ok /mg), 152, '... every one ok';
like $out, qr/^ok $bulk[0] 300 entries, head 300, checkpoint none$/m, '... the long chain whole';
as_root([q{UPDATE audit_log SET changes = '{"n": {"new": 9, "old": null}}' WHERE company_id = ? AND seq = 200}, undef, $bulk[0]]);
($rc, $out) = verify('--log', $log);
is $rc, 1, 'an entry edited in the second batch: exit 1';
like $out, qr/^BROKEN $bulk[0] at entry 200: hmac mismatch/m, '... named';
is scalar(() = $out =~ /^ok /mg), 151, '... the others ok';

# In the development stack, as docs/operations.md and README.md say:
# ./dev/parleyctl sets the configuration and the connections itself
# (pointed here at this test's cluster and database).
{
	my $var = $t->dir . '/devvar';
	mkdir $var;
	my $env = $t->parleyd_env;
	open my $fh, '>', "$var/parleyd.conf" or die;
	for my $k (sort grep { /^PARLEY_/ && !/^PARLEY_(CONFIG|LISTEN)$/ } keys %$env) {
		(my $key = lc $k) =~ s/^parley_//;
		print $fh "$key = $env->{$k}\n";
	}
	close $fh;
	open $fh, '>', "$var/pgdir" or die;
	print $fh $t->pg->dir, "\n";
	close $fh;
	local %ENV = (%ENV, PARLEY_DEV_VAR => $var, PARLEY_DEV_BIN => $b, PARLEY_DEV_DB => $t->dbname);
	delete local $ENV{PARLEY_AUDIT_DATABASE_URL};
	my $out = `'@{[ ParleyTest->srcdir ]}/dev/parleyctl' audit verify --company $bulk[1] 2>&1`;
	is $? >> 8, 0, './dev/parleyctl audit verify works without setting anything' or diag $out;
	like $out, qr/^ok $bulk[1] /m, '... and checks the chain';
	push @outputs, $out;
}

my $b64 = $t->audit_key_b64;
ok !(grep { index($_, $b64) >= 0 || index($_, unpack('H*', $key)) >= 0 } @outputs), 'the key is never printed';

done_testing;
