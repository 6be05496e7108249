# Members: listing, role changes with the owner rules, removal that ends
# sessions at once, ids of another company answered like unknown ones,
# every change audited.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use POSIX ();
use ParleyTest;

my $t = ParleyTest->new(workers => 3);
my $pw = 'tangerine-orbit-velvet-42';
my $n = 0;
sub company {
	my ($tag) = @_;
	my $o = $t->signup(headers => { 'x-forwarded-for' => '203.0.113.' . ++$n },
	    json => { email => "owner\@$tag.example", password => $pw, name => 'Owen Owner', company_name => $tag })->{json};
	my $hash = $t->sql('SELECT password_hash FROM users WHERE id = ?', $o->{user}{id})->[0]{password_hash};
	my %who = (owner => $o);
	for my $role (qw(admin member)) {
		my $id = $t->sql(q{INSERT INTO users (company_id, email, name, role, password_hash) VALUES (?, ?, ?, ?, ?) RETURNING id},
		    $o->{company}{id}, "$role\@$tag.example", ucfirst($role) . ' Person', $role, $hash)->[0]{id};
		my $l = $t->post('/api/v1/auth/login', headers => { 'x-forwarded-for' => '203.0.113.' . ++$n },
		    json => { email => "$role\@$tag.example", password => $pw })->{json};
		$who{$role} = { %$l, id => $id };
	}
	$who{owner}{id} = $o->{user}{id};
	return \%who;
}
sub as { { authorization => "Bearer $_[0]{access_token}" } }

my $a = company('alpha');
my $b = company('beta');

my $r = $t->get('/api/v1/members', headers => as($a->{member}));
is $r->{status}, 200, 'a member lists the team';
is_deeply [sort map { $_->{role} } @{ $r->{json}{items} }], [qw(admin member owner)], '... of three';
ok !grep({ $_->{email} =~ /beta/ } @{ $r->{json}{items} }), '... of this company only';

sub patch { my ($who, $id, $role) = @_; $t->request('PATCH', "/api/v1/members/$id", headers => as($who), json => { role => $role }) }

is patch($a->{member}, $a->{member}{id}, 'admin')->{status}, 403, 'a member cannot change roles (not even their own)';
$r = patch($a->{admin}, $a->{member}{id}, 'admin');
is $r->{status}, 200, 'an admin promotes a member to admin';
is $r->{json}{role}, 'admin', '... and gets the member back';
is patch($a->{admin}, $a->{member}{id}, 'member')->{status}, 200, '... and back';
is patch($a->{admin}, $a->{member}{id}, 'owner')->{json}{code}, 'owner_required', 'only an owner grants ownership';
is patch($a->{admin}, $a->{owner}{id}, 'member')->{json}{code}, 'owner_required', 'only an owner takes it away';
is patch($a->{owner}, $a->{owner}{id}, 'admin')->{json}{code}, 'last_owner', 'the last owner cannot be demoted';
is patch($a->{owner}, $a->{member}{id}, 'superuser')->{status}, 422, 'an unknown role: 422';

# Another company's ids are answered exactly like ids that do not exist.
my $foreign = patch($a->{owner}, $b->{member}{id}, 'admin');
my $missing = patch($a->{owner}, '00000000-0000-4000-8000-000000000000', 'admin');
my $garbage = patch($a->{owner}, 'not-a-uuid', 'admin');
is $foreign->{status}, 404, "another company's member: 404";
is_deeply [map { $_->{json}{code} } $foreign, $missing, $garbage], [('not_found') x 3], '... the same as unknown and malformed ids';
is $t->request('DELETE', "/api/v1/members/$b->{member}{id}", headers => as($a->{owner}))->{status}, 404, '... for removal too';
is $t->get('/api/v1/me', headers => as($b->{member}))->{json}{role}, 'member', "and the other company's member is untouched";

# Two owners demote each other at once: one must stay.
is patch($a->{owner}, $a->{admin}{id}, 'owner')->{status}, 200, 'the owner makes the admin an owner';
my @pids;
for my $pair ([$a->{owner}, $a->{admin}{id}], [$a->{admin}, $a->{owner}{id}]) {
	my $pid = fork // die;
	if (!$pid) { $t->{http} = undef; patch($pair->[0], $pair->[1], 'member'); POSIX::_exit(0) }
	push @pids, $pid;
}
waitpid($_, 0) for @pids;
my $owners = $t->sql(q{SELECT count(*) AS n FROM users WHERE company_id = ? AND role = 'owner'}, $a->{owner}{company}{id})->[0]{n};
is $owners, 1, 'two concurrent demotions of two owners: exactly one owner is left';
my ($still) = grep { $t->get('/api/v1/me', headers => as($_))->{json}{role} eq 'owner' } $a->{owner}, $a->{admin};
ok $still, 'and can still act as owner';

# Removal ends the member's sessions at once.
is $t->get('/api/v1/me', headers => as($a->{member}))->{status}, 200, 'the member is signed in';
is $t->request('DELETE', "/api/v1/members/$a->{member}{id}", headers => as($still))->{status}, 204, 'removed';
is $t->get('/api/v1/me', headers => as($a->{member}))->{status}, 401, 'their access token is refused on the next request';
is $t->post('/api/v1/auth/refresh', json => { refresh_token => $a->{member}{refresh_token} })->{status}, 401, '... and their refresh token';
is $t->request('DELETE', "/api/v1/members/$still->{id}", headers => as($still))->{json}{code}, 'last_owner', 'the last owner cannot be removed';

# Every change was audited, in one chain.
my $log = $t->sql(q{SELECT action, changes::text AS c FROM audit_log WHERE company_id = ? ORDER BY seq}, $a->{owner}{company}{id});
my @actions = map { $_->{action} } @$log;
is scalar(grep { $_ eq 'member.role_change' } @actions), 4, 'four role changes audited (refused ones not)';
is $actions[-1], 'member.remove', 'the removal audited';
is_deeply decode_json($log->[0]{c}), { role => { old => 'member', new => 'admin' } }, 'role changes carry old and new role';
is $t->sql(q{SELECT count(*) AS n FROM audit_log WHERE company_id = ?}, $b->{owner}{company}{id})->[0]{n}, 0,
    'nothing was written to the other company';

done_testing;
