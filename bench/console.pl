# bench/console.pl LOADS SECONDS: run by bench/console (see there).
use strict;
use warnings;
use JSON::PP;
use Time::HiRes qw(time sleep);
use ParleyTest;

my ($loads, $seconds) = @ARGV;
my $t = ParleyTest->new(env => { PARLEY_API_RATE_MAX => 1000000, PARLEY_LOGIN_MAX_PER_IP => 1000 });
my $https = $t->url('', 'https');
$https =~ s{/$}{};
$t->stop_parleyd;
$t->{env}{PARLEY_PUBLIC_BASE_URL} = $https;
$t->start_parleyd;
my $pw = 'a console bench passphrase';
my $own = $t->signup(json => { email => 'bench@console.example', password => $pw, name => 'Ben Ch', company_name => 'Bench Co' })->{json};
my $cid = $own->{company}{id};
my $auth = { authorization => "Bearer $own->{access_token}" };
my $bot = $t->request('POST', '/api/v1/chatbots', headers => $auth, json => { name => 'Bench bot' })->{json};
print "== seeding 10,000 conversations\n";
my $t0 = time;
$t->sql(q{INSERT INTO visitors (company_id, chatbot_id, name, email)
    SELECT ?, ?, 'Visitor ' || g, 'visitor' || g || '@example.com' FROM generate_series(1, 10000) g}, $cid, $bot->{id});
$t->sql(q{INSERT INTO conversations (company_id, chatbot_id, visitor_id, status, message_count, last_role, created_at, last_message_at)
    SELECT company_id, chatbot_id, id, (ARRAY['bot','pending','open','resolved'])[1 + (random() * 3)::int], 2, 'visitor',
	now() - random() * interval '30 days', now() - random() * interval '30 days' FROM visitors WHERE company_id = ?}, $cid);
$t->sql(q{INSERT INTO messages (company_id, conversation_id, seq, role, content, created_at)
    SELECT c.company_id, c.id, s, CASE s WHEN 1 THEN 'visitor' ELSE 'bot' END,
	'Message ' || s || ': where is my parcel, and can I change the address?', c.last_message_at
    FROM conversations c, generate_series(1, 2) s WHERE c.company_id = ?}, $cid);
$t->sql(q{ANALYZE});
printf "   seeded in %.1f s\n", time - $t0;

# The driver: 100 events a second for the browser's event window (ten
# processes of 10 a second, over one kept-alive connection each), half
# agent replies (message events), half status changes, each on a random
# conversation; started by the browser script through a file.
my @ids = map { $_->{id} } @{ $t->sql(q{SELECT id FROM conversations WHERE company_id = ?}, $cid) };
my $go = $t->dir . '/events.go';
my @drivers;
for my $k (1 .. 10) {
	my $pid = fork // die;
	if ($pid) { push @drivers, $pid; next }
	require HTTP::Tiny;
	my $http = HTTP::Tiny->new(keep_alive => 1, verify_SSL => 0, timeout => 10);
	my %h = (%$auth, 'content-type' => 'application/json');
	sleep 0.01 until -e $go;
	my $end = time + $seconds;
	my ($n, $next) = (0, time + $k / 100);
	while (time < $end) {
		my $id = $ids[rand @ids];
		my $r = $n++ % 2
		    ? $http->request('PATCH', "$https/api/v1/conversations/$id", { headers => \%h,
			content => encode_json({ status => (qw(open resolved pending))[rand 3] }) })
		    : $http->request('POST', "$https/api/v1/conversations/$id/messages", { headers => \%h,
			content => encode_json({ content => "Reply $n" }) });
		$next += 0.1;
		my $w = $next - time;
		sleep $w if $w > 0;
	}
	open my $fh, '>', "$go.done.$k" or die;
	print $fh "$n\n";
	close $fh;
	require POSIX;
	POSIX::_exit(0);
}
local $ENV{BASE} = $https;
local $ENV{EMAIL} = 'bench@console.example';
local $ENV{PASSWORD} = $pw;
local $ENV{LOADS} = $loads;
local $ENV{SECONDS} = $seconds;
local $ENV{GO} = $go;
local $ENV{NODE_TLS_REJECT_UNAUTHORIZED} = '0';
system('node', ParleyTest->srcdir . '/bench/console.mjs') == 0 or warn "bench/console.mjs failed\n";
waitpid $_, 0 for @drivers;
my $n = 0;
for my $k (1 .. 10) {
	open my $fh, '<', "$go.done.$k" or next;
	$n += <$fh>;
}
printf "driver: %d events sent in %d s (%.0f/s)\n", $n, $seconds, $n / $seconds;
