# The route table and docs/openapi.yaml describe the same API, and every
# route answers through the real stack as the table says.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use ParleyTest;

my $b = ParleyTest->builddir;
my $routes = decode_json(scalar `'$b/parleyctl' routes`);

# docs/openapi.yaml is generated from the route table and its specs
# (parleyctl openapi, `make openapi`): the file must be that output,
# byte for byte.
my $src = ParleyTest->srcdir;
my $generated = `'$b/parleyctl' openapi`;
is $?, 0, 'parleyctl openapi succeeds';
my $have = do { local $/; open my $f, '<', "$src/docs/openapi.yaml" or die; <$f> };
ok $generated eq $have, 'docs/openapi.yaml is what parleyctl openapi writes (run make openapi)';
# A real YAML parser reads it (Debian's python3-yaml).
my $ops = `/usr/bin/python3 -c 'import sys, json, yaml; d = yaml.safe_load(open(sys.argv[1])); print(json.dumps([[k.upper() + " " + p, o["operationId"]] for p, i in d["paths"].items() for k, o in i.items() if k != "parameters"]))' '$src/docs/openapi.yaml' 2>&1`;
my $list = eval { decode_json($ops) } or BAIL_OUT("docs/openapi.yaml does not parse as YAML: $ops");
my %doc = map { $_->[0] => 1 } @$list;
my %ids = map { $_->[1] => 1 } @$list;
is scalar(keys %ids), scalar(@$list), 'every operation has an operationId of its own';
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
	# The frame needs its chatbot's key (t/65-realtime.t); this stack
	# asks for no proof of work (t/46-captcha-pow.t).
	# The OpenID callback sends the browser to the console (t/48). The
	# widget's configuration and logo need a chatbot's key (t/94).
	my $want = $r->{path} eq '/widget/frame' ? 403 : $r->{path} eq '/api/v1/auth/challenge' ? 404
	    : $r->{path} eq '/api/v1/auth/oidc/callback' ? 303
	    : $r->{path} =~ m{^/api/v1/widget/(config|logo)$} ? 400 : 200;
	is $res->{status}, $want, "GET $r->{path} answers $want";
}

done_testing;
