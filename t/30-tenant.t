# Tenant isolation: the tenant transaction helper (src/db.c) refuses to run
# without a company, and row-level security hides other companies' rows
# from the runtime role. The catalog walk holds every table to the rule.
use strict;
use warnings;
use Test::More;
use ParleyTest;

my $t = ParleyTest->new(no_nginx => 1, no_parleyd => 1);
my $probe = ParleyTest->builddir . '/t/tools/tenant-probe';

my ($a, $b) = map { $t->sql(q{INSERT INTO companies (name) VALUES (?) RETURNING id}, $_)->[0]{id} } qw(Acme Globex);

# A tenant table made the way every migration makes one.
$t->sql_as('parley_owner', q{CREATE TABLE rls_probe (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	company_id uuid NOT NULL REFERENCES companies(id),
	body text NOT NULL)});
$t->sql_as('parley_owner', q{SELECT parley_tenant_table('rls_probe')});
$t->sql(q{INSERT INTO rls_probe (company_id, body) VALUES (?, 'a1'), (?, 'a2'), (?, 'b1')}, $a, $a, $b);

sub probe {
	my ($cid) = @_;
	open my $ph, '-|', $probe, $t->app_conninfo, $cid or die "$probe: $!";
	my $out = do { local $/; <$ph> } // '';
	close $ph;
	return ($? >> 8, $out);
}

my ($rc, $out) = probe($a);
is $rc, 0, 'tenant transaction for company A';
like $out, qr/^context $a$/m, 'context set and the check statement ran in the same pipeline';
is_deeply [grep { /^[ab]\d$/ } split /\n/, $out], ['a1', 'a2'], "A sees only A's rows";
is_deeply [grep { /^company / } split /\n/, $out], ["company $a"], 'A sees only its own company';

($rc, $out) = probe($b);
is_deeply [grep { /^[ab]\d$/ } split /\n/, $out], ['b1'], "B sees only B's rows";

for my $bad ('-', '', 'not-a-uuid', "$a' OR 'x'='x") {
	($rc, $out) = probe($bad);
	is $rc, 3, "helper refuses company id '$bad'";
	like $out, qr/^refused$/m, '... before running anything';
}

# A connection lost inside a tenant transaction is not silently replaced:
# every statement fails until the rollback, then the next one reconnects
# (outside any tenant context, so it sees nothing).
{
	open my $ph, '-|', $probe, $t->app_conninfo, $a, 'kill' or die;
	my $o = do { local $/; <$ph> } // '';
	close $ph;
	is $? >> 8, 0, 'probe with a killed backend ran';
	is_deeply [grep { /^lost$/ } split /\n/, $o], ['lost', 'lost'], 'statements after the loss fail, none runs autocommit';
	like $o, qr/^after-rollback 0$/m, 'after the rollback: reconnected, no tenant context, no rows';
}

# The runtime role itself, without the helper.
my $app = $t->dbh('parley_app');
is_deeply $t->sql_as('parley_app', 'SELECT body FROM rls_probe'), [], 'no context: no rows';
is_deeply $t->sql_as('parley_app', 'SELECT id FROM companies'), [], 'no context: no companies';
$app->begin_work;
$app->do(q{SELECT set_config('app.company_id', ?, true)}, undef, $a);
my $rows = $app->selectcol_arrayref('SELECT body FROM rls_probe ORDER BY body');
is_deeply $rows, ['a1', 'a2'], 'context A: only A';
ok !eval { $app->do(q{INSERT INTO rls_probe (company_id, body) VALUES (?, 'sneaky')}, undef, $b); 1 },
    "context A: inserting a row for B is refused";
$app->rollback;
$app->begin_work;
$app->do(q{SELECT set_config('app.company_id', ?, true)}, undef, $a);
is $app->do(q{UPDATE rls_probe SET body = body || '!'}), 2, "context A: UPDATE touches A's two rows only";
is $app->do(q{DELETE FROM rls_probe WHERE company_id = ?}, undef, $b), '0E0', "context A: cannot delete B's rows";
$app->commit;
is_deeply $t->sql_as('parley_app', 'SELECT body FROM rls_probe'), [], 'the context ends with the transaction';
is_deeply [map { $_->{body} } @{ $t->sql('SELECT body FROM rls_probe ORDER BY body') }], ['a1!', 'a2!', 'b1'],
    "B's row untouched";
is $t->sql(q{SELECT pg_has_role('parley_app', 'parley_lookup', 'MEMBER') AS m})->[0]{m}, 0,
    'the runtime role cannot become the lookup role';
ok !eval { $t->sql_as('parley_app', 'ALTER TABLE rls_probe DISABLE ROW LEVEL SECURITY'); 1 },
    'the runtime role cannot switch RLS off';
ok !eval { $t->sql_as('parley_app', q{SET row_security = off; SELECT body FROM rls_probe}); 1 } ||
    !@{ $t->sql_as('parley_app', 'SELECT body FROM rls_probe') }, 'row_security = off does not reveal rows';

# The catalog walk: every table with company_id has forced RLS and a
# policy; everything else, and every SECURITY DEFINER function, is in
# docs/architecture.md's exemption list.
open my $fh, '<', ParleyTest->srcdir . '/docs/architecture.md' or die;
my $doc = do { local $/; <$fh> };
my ($block) = $doc =~ /<!-- rls-exempt:begin -->(.*?)<!-- rls-exempt:end -->/s;
ok defined $block, 'docs/architecture.md has the exemption list';
my %exempt = map { $_ => 1 } ($block // '') =~ /^\|\s*`(\w+)`/mg;
$t->sql('DROP TABLE rls_probe');
my $tables = $t->sql(q{
	SELECT c.relname, c.relrowsecurity AS rls, c.relforcerowsecurity AS force,
	       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'company_id' AND NOT a.attisdropped) AS tenant,
	       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1});
cmp_ok scalar(@$tables), '>=', 2, 'catalog walk sees the tables';
for my $tb (@$tables) {
	if ($tb->{tenant} && $exempt{$tb->{relname}}) {
		ok !$tb->{rls}, "$tb->{relname}: has company_id but is listed as global (serves every company)";
	} elsif ($tb->{tenant}) {
		ok $tb->{rls} && $tb->{force} && $tb->{policies} > 0, "$tb->{relname}: tenant table with forced RLS and a policy";
	} elsif ($tb->{rls} && $tb->{force} && $tb->{policies} > 0) {
		ok $exempt{$tb->{relname}}, "$tb->{relname}: RLS by another column, listed";
	} else {
		ok $exempt{$tb->{relname}}, "$tb->{relname}: global table, listed in docs/architecture.md";
	}
}
my $definers = $t->sql(q{SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	WHERE n.nspname = 'public' AND p.prosecdef ORDER BY 1});
ok $exempt{ $_->{proname} }, "SECURITY DEFINER $_->{proname} is listed" for @$definers;

done_testing;
