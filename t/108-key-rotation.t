# Rotating the access-token key across hosts without refusing anyone
# (docs/operations.md, Scaling): jwt_key_file's first line signs, every
# line verifies. Two hosts of one deployment go through the three steps
# (add the new key second; put it first; remove the old one), one host
# at a time, each reloaded (SIGHUP). Until the old key is removed, every
# access token, visitor token and mailed link either host made is taken
# by both, and a per-address limit counts once however the hosts sign;
# after, what the old key made is refused, and nobody is signed out
# (their refresh token gets them a token under the new key). A file
# parleyd cannot use is refused on reload, and the keys stay.
use strict;
use warnings;
use Test::More;
use ParleyTest;
use MIME::Base64 qw(decode_base64 encode_base64url);
use Digest::SHA qw(hmac_sha256);
use JSON::PP;

my $A = ParleyTest->new;
my $B = ParleyTest->new(host_of => $A);
my $k0 = $A->jwt_key_b64;
chomp(my $k1 = `openssl rand -base64 48`);
die 'openssl rand failed' unless $k1;
# Scanned for in every log of the run, like the other keys.
$_->{secrets}{jwt_key_next} = $k1 for $A, $B;

# Writes jwt_key_file of host 't' and reloads it: every child of the
# previous generation gone (workers, jobs, answerers) before it returns.
sub keys_to {
	my ($t, @keys) = @_;
	open my $fh, '>', $t->dir . '/jwt.key' or die "jwt.key: $!";
	print $fh "# rotation under test\n", map { "$_\n" } @keys;
	close $fh;
	my @old = $t->child_pids;
	kill 'HUP', $t->parleyd_pid;
	ParleyTest::wait_for(sub {
		my %now = map { $_ => 1 } $t->child_pids;
		!grep { $now{$_} } @old and scalar(keys %now) >= scalar(@old);
	}, 'a new generation of parleyd children');
}

# Which of the keys signed access or visitor token 'jwt'.
sub signer {
	my ($jwt) = @_;
	my ($h, $p, $s) = split /\./, $jwt;
	for ([ K0 => $k0 ], [ K1 => $k1 ]) {
		return $_->[0] if encode_base64url(hmac_sha256("$h.$p", decode_base64($_->[1]))) eq $s;
	}
	return 'neither';
}

# The one-click unsubscribe token for (cid, uid) under key 'k': parleyd's
# derived MAC (src/server_keys.c), made here independently.
sub unsubscribe_token {
	my ($k, $cid, $uid) = @_;
	my $root = hmac_sha256('parley/ratelimit/v1', decode_base64($k));
	my $mac = hmac_sha256("$cid:$uid", hmac_sha256('parley unsubscribe v1', $root));
	return "$cid.$uid." . encode_base64url($mac);
}

my $pw = 'a rotation passphrase';
my $own = $A->signup(json => { email => 'kai@rotate.example', password => $pw, name => 'Kai', company_name => 'Rotate Co' })->{json};
my $me = $A->get('/api/v1/me', headers => { authorization => "Bearer $own->{access_token}" })->{json};
my ($cid, $uid) = ($me->{company_id} // $me->{company}{id}, $me->{id} // $me->{user}{id});
my $bot = $A->request('POST', '/api/v1/chatbots', headers => { authorization => "Bearer $own->{access_token}" },
    json => { name => 'Rotating', allowed_origins => ['https://shop.example'] })->{json};

sub login { $_[0]->post('/api/v1/auth/login', json => { email => 'kai@rotate.example', password => $pw })->{json} }
sub visitor {
	$_[0]->post('/api/v1/widget/sessions', headers => { origin => 'https://shop.example' },
	    json => { bot_key => $bot->{public_key} })->{json}{token};
}
# The status of what token 'tok' asks of host 't': an agent's or a visitor's.
sub me { $_[0]->get('/api/v1/me', headers => { authorization => "Bearer $_[1]" })->{status} }
sub chats { $_[0]->get('/api/v1/widget/conversations', headers => { authorization => "Bearer $_[1]" })->{status} }
sub unsubscribe {
	my ($t, $tok) = @_;
	$t->post("/api/v1/notifications/unsubscribe?token=$tok", body => 'List-Unsubscribe=One-Click',
	    headers => { 'content-type' => 'application/x-www-form-urlencoded' })->{status};
}
# Every token in 'toks' taken by both hosts.
sub taken_by_both {
	my (%toks) = @_;
	return join ' ', map {
		my ($kind, $tok) = @{ $toks{$_} };
		my @st = map { $kind eq 'agent' ? me($_, $tok) : $kind eq 'visitor' ? chats($_, $tok) : unsubscribe($_, $tok) } $A, $B;
		"$_:@st";
	} sort keys %toks;
}

ok $cid && $uid && $bot->{public_key}, 'a company with a chatbot, through host A';
my $agent0 = $own->{access_token};
my $visitor0 = visitor($B);
is signer($agent0), 'K0', 'before: host A signs with K0';
is signer($visitor0), 'K0', '... and host B a visitor token';
my $unsub0 = unsubscribe_token($k0, $cid, $uid);
my $unsub1 = unsubscribe_token($k1, $cid, $uid);
is unsubscribe($A, $unsub0), 204, 'an unsubscribe link under K0 is taken (the derivation matches parleyd\'s)';
is unsubscribe($A, $unsub1), 400, '... one under K1, a key no host has yet, is not';

my %before = (agent0 => [ agent => $agent0 ], visitor0 => [ visitor => $visitor0 ], unsub0 => [ unsub => $unsub0 ]);
my $all = 'agent0:200 200 unsub0:204 204 visitor0:200 200';
is taken_by_both(%before), $all, 'both hosts take all three';

# Step 1: K1 added second, one host at a time.
keys_to($A, $k0, $k1);
is taken_by_both(%before), $all, 'step 1, A has K0 then K1, B only K0: nothing refused';
keys_to($B, $k0, $k1);
is signer(login($B)->{access_token}), 'K0', 'step 1 done: K1 verifies only, K0 still signs';
# A token of the second key with a fault of its own is refused for that
# fault, not as a bad signature: agent0's claims, expired, signed by K1.
{
	my ($h, $p) = split /\./, $agent0;
	my $c = JSON::PP->new->decode(MIME::Base64::decode_base64url($p));
	$c->{iat} -= 3600;
	$c->{exp} = time - 600;
	my $body = encode_base64url(JSON::PP->new->canonical->encode($c));
	my $expired = "$h.$body." . encode_base64url(hmac_sha256("$h.$body", decode_base64($k1)));
	my $r = $B->get('/api/v1/me', headers => { authorization => "Bearer $expired" });
	is "$r->{status} $r->{json}{code}", '401 token_expired', '... an expired token signed by K1 is refused as expired';
}

# Step 2: K1 first on A; B still signs with K0.
keys_to($A, $k1, $k0);
my $agent1 = login($A)->{access_token};
my $visitor1 = visitor($A);
is signer($agent1), 'K1', 'step 2, A has K1 first: A signs with K1';
is signer($visitor1), 'K1', '... visitor tokens too';
is signer(login($B)->{access_token}), 'K0', '... while B still signs with K0';
my %mid = (%before, agent1 => [ agent => $agent1 ], visitor1 => [ visitor => $visitor1 ], unsub1 => [ unsub => $unsub1 ]);
my $all2 = 'agent0:200 200 agent1:200 200 unsub0:204 204 unsub1:204 204 visitor0:200 200 visitor1:200 200';
is taken_by_both(%mid), $all2, '... and both hosts take what either key made';
# The hosts sign with different keys now; rate-limit names come from the
# audit key, so one address's failed logins still count once.
my @st = map {
	($_ % 2 ? $A : $B)->post('/api/v1/auth/login', headers => { 'x-forwarded-for' => '203.0.113.78' },
	    json => { email => "nobody$_\@rotate.example", password => 'wrong password here' })->{status};
} 1 .. 6;
is "@st", '401 401 401 401 401 429', '... and failed logins from one address, alternating hosts, meet one limit';
keys_to($B, $k1, $k0);
is signer(login($B)->{access_token}), 'K1', 'step 2 done: B signs with K1 too';
is taken_by_both(%mid), $all2, '... what K0 made still taken everywhere';

# A file parleyd cannot use: the reload is refused, the keys stay.
{
	open my $fh, '>', $A->dir . '/jwt.key' or die $!;
	print $fh "$k1\nnot base64 of 32 bytes\n";
	close $fh;
	my @before = $A->child_pids;
	kill 'HUP', $A->parleyd_pid;
	ParleyTest::wait_for(sub { grep { $_->{event} eq 'reload_refused' } $A->log_events }, 'the refused reload');
	my ($ev) = grep { $_->{event} eq 'reload_refused' } $A->log_events;
	like $ev->{reason}, qr/jwt_key_file: line 2: a key must be base64 of 32 to 191 bytes/, 'a bad line: the reload is refused, naming the line';
	is_deeply [ $A->child_pids ], \@before, '... the children run on';
	is me($A, $agent0), 200, '... with the keys they had';
}

# Step 3: K0 removed everywhere.
keys_to($A, $k1);
keys_to($B, $k1);
is taken_by_both(%mid), 'agent0:401 401 agent1:200 200 unsub0:400 400 unsub1:204 204 visitor0:401 401 visitor1:200 200',
    'step 3, K0 removed: what it made is refused by both hosts, what K1 made is taken';
my $r = $B->post('/api/v1/auth/refresh', json => { refresh_token => $own->{refresh_token} });
is $r->{status}, 200, '... and the agent whose token was refused is not signed out: the refresh works';
is signer($r->{json}{access_token} // ''), 'K1', '... into a token under K1';
is me($A, $r->{json}{access_token}), 200, '... which the other host takes';

done_testing;
