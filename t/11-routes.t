# The route table and docs/openapi.yaml describe the same API, and every
# route answers through the real stack as the table says.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use File::Temp ();
use ParleyTest;

my $b = ParleyTest->builddir;
my $routes = decode_json(scalar `'$b/parleyctl' routes`);

# A real YAML parser reads it (Debian's python3-yaml), not only the line
# patterns below.
my $yaml = `/usr/bin/python3 -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); print(len(d["paths"]))' '@{[ ParleyTest->srcdir ]}/docs/openapi.yaml' 2>&1`;
like $yaml, qr/^\d+$/, 'docs/openapi.yaml is valid YAML' or diag $yaml;
# What the route table says of each operation (operationId, path
# parameters, x-auth, x-role, x-scopes) is written into the document by
# dev/openapi-annotate: the file must be what it writes from this table.
{
	my $src = ParleyTest->srcdir;
	my $copy = File::Temp->new;
	system('cp', "$src/docs/openapi.yaml", $copy->filename) == 0 or die;
	system("'$b/parleyctl' routes | '$src/dev/openapi-annotate' '@{[ $copy->filename ]}'") == 0 or die;
	my $want = do { local $/; open my $f, '<', $copy->filename or die; <$f> };
	my $have = do { local $/; open my $f, '<', "$src/docs/openapi.yaml" or die; <$f> };
	ok $want eq $have, "docs/openapi.yaml carries the route table's operationId, roles and scopes (run dev/openapi-annotate)";
	my $ids = `/usr/bin/python3 -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); ids = [o["operationId"] for p in d["paths"].values() for k, o in p.items() if k != "parameters"]; print(len(ids), len(set(ids)))' '$src/docs/openapi.yaml'`;
	like $ids, qr/^(\d+) \1$/, "every operation has an operationId of its own ($ids)";
}
open my $fh, '<', ParleyTest->srcdir . '/docs/openapi.yaml' or die;
my (%doc, $path, $in_paths);
while (<$fh>) {
	$in_paths = 1, next if /^paths:/;
	$in_paths = 0 if /^\S/;
	next unless $in_paths;
	if (/^  (\/\S*):\s*$/) { $path = $1; next }
	$doc{uc($1) . " $path"} = 1 if /^    (get|post|put|patch|delete|options):/ && $path;
}
my %table;
for my $r (@$routes) {
	(my $p = $r->{path}) =~ s/:(\w+)/{$1}/g;
	$table{"$r->{method} $p"} = $r;
	ok $doc{"$r->{method} $p"}, "$r->{method} $p is in docs/openapi.yaml";
}
ok $table{$_}, "documented $_ exists in the route table" for sort keys %doc;
is scalar(keys %table), scalar(@$routes), 'no route is in the table twice';
is scalar(@$routes), scalar(keys %doc), 'parleyctl routes lists as many routes as docs/openapi.yaml has operations (' . scalar(@$routes) . ')';

# The permission matrix in docs/security.md is the route table's own.
my $matrix = `'$b/parleyctl' permissions`;
open my $sfh, '<', ParleyTest->srcdir . '/docs/security.md' or die;
my ($documented) = do { local $/; <$sfh> } =~ /<!-- permissions:begin -->\n(.*?)<!-- permissions:end -->/s;
is $documented, $matrix, 'docs/security.md carries the permission matrix of the route table (parleyctl permissions)';

my $t = ParleyTest->new;
# Public GET routes answer 200 with JSON; routes needing auth refuse
# anonymous callers with 401 (fail closed).
for my $r (@$routes) {
	next if $r->{path} =~ /:/;
	if ($r->{auth} ne 'public') {
		my $res = $t->request($r->{method}, $r->{path});
		is $res->{status}, 401, "$r->{method} $r->{path} refuses anonymous callers";
		next;
	}
	next unless $r->{method} eq 'GET';
	my $res = $t->get($r->{path});
	# The frame needs its chatbot's key (t/65-realtime.t).
	my $want = $r->{path} eq '/widget/frame' ? 403 : 200;
	is $res->{status}, $want, "GET $r->{path} answers $want";
}

done_testing;
