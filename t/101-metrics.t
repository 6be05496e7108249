# Metrics (issue 20, items 3 and 4; src/metrics.c, src/metrics_expo.c,
# monitoring/): the Prometheus exposition on nginx's metrics listener
# only (not the public server); counters that are the host's total across
# workers, through worker recycling and a reload; values that match what
# the test did; the real Prometheus from Debian scraping it with the
# shipped rules loaded; promtool checking and testing those rules; the
# Grafana dashboard's every query a recording rule promtool checks.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use HTTP::Tiny;
use ParleyTest;

my $promtool = '/usr/bin/promtool';
my $prometheus = '/usr/bin/prometheus';
ok -x $promtool && -x $prometheus, 'Prometheus and promtool (Debian package prometheus) are installed' or BAIL_OUT('no prometheus');
my $mon = ParleyTest->srcdir . '/monitoring';

# --- the shipped rules -----------------------------------------------------------
my $out = `$promtool check rules $mon/prometheus-recording.yml $mon/prometheus-alerts.yml 2>&1`;
is $?, 0, 'promtool check rules: the recording and alerting rules are valid' or diag $out;
like $out, qr/SUCCESS: (\d+) rules found.*SUCCESS: (\d+) rules found/s, '... both files';
$out = `cd $mon && $promtool test rules prometheus-tests.yml 2>&1`;
is $?, 0, 'promtool test rules: each alert fires on its series, and the recordings compute what they claim' or diag $out;
{
	# A test that could not fail would pass with a broken rule: break one.
	my $dir = File::Temp::tempdir(CLEANUP => 1);
	for my $f (qw(prometheus-recording.yml prometheus-tests.yml)) {
		system('cp', "$mon/$f", "$dir/$f") == 0 or die;
	}
	open my $in, '<', "$mon/prometheus-alerts.yml" or die;
	my $rules = do { local $/; <$in> };
	$rules =~ s/parley:http_errors:ratio_rate5m > 0\.05/parley:http_errors:ratio_rate5m > 0.5/ or die 'rule not found';
	open my $o, '>', "$dir/prometheus-alerts.yml" or die;
	print $o $rules;
	close $o;
	my $bad = `cd $dir && $promtool test rules prometheus-tests.yml 2>&1`;
	isnt $?, 0, '... and fail when a threshold is wrong (5% raised to 50%)';
}
# Every query of the dashboard is a recording rule of ours.
{
	open my $fh, '<', "$mon/grafana-dashboard.json" or die;
	my $dash = decode_json(do { local $/; <$fh> });
	open my $rf, '<', "$mon/prometheus-recording.yml" or die;
	my %recorded = map { $_ => 1 } (do { local $/; <$rf> }) =~ /^\s*- record: (\S+)$/mg;
	my @exprs = map { map { $_->{expr} } @{ $_->{targets} // [] } } @{ $dash->{panels} };
	ok @exprs >= 20, scalar(@exprs) . ' queries in the dashboard';
	my @stray = grep { !(/^([a-z_:0-9]+)(\{[^}]*\})?$/ && $recorded{$1}) } @exprs;
	is_deeply \@stray, [], '... each one a recording rule (so promtool checks its PromQL)';
	is $dash->{uid}, 'parley-overview', '... a dashboard Grafana imports (uid, panels, a Prometheus data source input)';
}

# --- the stack ---------------------------------------------------------------------
my $t = ParleyTest->new(llm => 1, receiver => 1, env => { PARLEY_MAX_REQUESTS => 3, PARLEY_WEBHOOK_ALLOW_HTTP => 1,
    PARLEY_WEBHOOK_ALLOW_LOOPBACK => 1 });
my $mport = $t->metrics_port;
my $http = HTTP::Tiny->new(timeout => 10);
sub scrape {
	my $r = $http->get("http://127.0.0.1:$mport/metrics");
	die "scrape: $r->{status}" unless $r->{status} == 200;
	my %v;
	for (split /\n/, $r->{content}) {
		next if /^#/ || !/\S/;
		my ($k, $val) = /^(\S+(?:\{.*\})?) (\S+)$/ or die "bad line: $_";
		$v{$k} = $val;
	}
	return (\%v, $r);
}
sub metric { my ($v, $name, %l) = @_; $v->{ $name . (%l ? '{' . join(',', map { "$_=\"$l{$_}\"" } sort { order($a) <=> order($b) } keys %l) . '}' : '') } }
my %pos = (method => 0, route => 1, status => 2, auth => 3, kind => 0, outcome => 1, le => 9, what => 0, state => 0, type => 0, class => 0, rule => 0, severity => 1);
sub order { $pos{ $_[0] } // 5 }

my ($m, $raw) = scrape();
like $raw->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4}, 'the metrics listener answers in the Prometheus text format';
my $lint = do {
	my $f = $t->dir . '/scrape.txt';
	open my $o, '>', $f or die;
	print $o $raw->{content};
	close $o;
	`$promtool check metrics < $f 2>&1`;
};
is $?, 0, '... which promtool check metrics accepts' or diag $lint;
my $before = metric($m, 'parley_http_requests_total', method => 'GET', route => '/api/v1/meta', status => '2xx', auth => 'public') // 0;

# N requests to one route, while workers recycle every 3 requests (two
# workers: at least three generations serve them).
my $N = 17;
my %pids;
my $ok = 0;
for (1 .. $N) {
	$ok++ if $t->get('/api/v1/meta')->{status} == 200;
	$pids{$_} = 1 for $t->worker_pids;
}
is $ok, $N, "$N requests to GET /api/v1/meta answered";
ok keys(%pids) > 2, scalar(keys %pids) . ' worker processes served them (recycled every 3 requests)';
kill 'HUP', $t->parleyd_pid;
ParleyTest::wait_for(sub { grep { $_->{event} eq 'reloaded' } $t->log_events }, 'the reload');
my $M = 5;
$t->get('/api/v1/meta') for 1 .. $M;
($m) = scrape();
is metric($m, 'parley_http_requests_total', method => 'GET', route => '/api/v1/meta', status => '2xx', auth => 'public'),
    $before + $N + $M, "$N requests, a reload, $M more: exactly " . ($before + $N + $M) . ' in the counter, across all workers';
is metric($m, 'parley_http_request_duration_seconds_count', method => 'GET', route => '/api/v1/meta'), $before + $N + $M,
    '... and in the latency histogram';
is metric($m, 'parley_http_request_duration_seconds_bucket', method => 'GET', route => '/api/v1/meta', le => '+Inf'),
    $before + $N + $M, '... whose +Inf bucket holds them all';

# Status classes and auth kinds.
my $pw = 'tangerine-orbit-velvet-42';
my $own = $t->signup(json => { email => 'ops@metrics.example', password => $pw, name => 'Op S', company_name => 'Metrics Co' })->{json};
my $auth = { authorization => "Bearer $own->{access_token}" };
$t->get('/api/v1/me', headers => $auth) for 1 .. 3;
$t->get('/api/v1/chatbots/00000000-0000-4000-8000-000000000000', headers => $auth) for 1 .. 2;
$t->post('/api/v1/auth/login', json => { email => 'ops@metrics.example', password => 'wrong password here' }) for 1 .. 2;
$t->get('/api/v1/no-such-route');
my $sub = $t->subscribe('/api/v1/events', Authorization => "Bearer $own->{access_token}");
is $sub->{status}, 200, 'an agent subscribed to realtime events';
ParleyTest::wait_for(sub { my ($x) = scrape(); ($x->{parley_nchan_subscribers} // 0) >= 1 }, 'nchan to count the subscriber');
($m) = scrape();
is metric($m, 'parley_http_requests_total', method => 'GET', route => '/api/v1/me', status => '2xx', auth => 'user'), 3,
    'three reads of /me: 2xx, auth user';
is metric($m, 'parley_http_requests_total', method => 'GET', route => '/api/v1/chatbots/:id', status => '4xx', auth => 'user'), 2,
    "two unknown chatbots: 4xx, by the route's template (no id in a label)";
is metric($m, 'parley_http_requests_total', method => 'POST', route => '/api/v1/auth/login', status => '4xx', auth => 'public'), 2,
    'two failed logins: 4xx, public';
is metric($m, 'parley_http_requests_total', method => 'any', route => 'unmatched', status => '4xx', auth => 'public'), 1,
    'a path no route has: counted once as unmatched';
is metric($m, 'parley_security_events_total', kind => 'login_failure'), 2, 'security events by kind: 2 login_failure';
is metric($m, 'parley_security_events_total', kind => 'unknown_id'), 2, '... 2 unknown_id';
ok metric($m, 'parley_nchan_subscribers') >= 1, "nchan's subscribers (nchan_stub_status): " . metric($m, 'parley_nchan_subscribers');
is metric($m, 'parley_nginx_up'), 1, "nginx's stub_status read over the publisher socket";
ok metric($m, 'parley_nginx_connections', state => 'active') >= 1, '... its active connections';
is metric($m, 'parley_db_up'), 1, 'the database is up';
ok metric($m, 'parley_db_total', what => 'round_trips') > 50, 'database round trips counted: ' . metric($m, 'parley_db_total', what => 'round_trips');
is metric($m, 'parley_workers_configured', role => 'worker'), 2, 'two workers configured';
my $alive = metric($m, 'parley_workers', state => 'busy') + metric($m, 'parley_workers', state => 'idle');
ok $alive >= 1 && $alive <= 2, "... $alive alive, busy or idle: never more than the two (the "
    . scalar(keys %pids) . ' recycled or reloaded ones are not counted)';
is metric($m, 'parley_workers', state => 'busy'), 1, '... one busy: the one answering this scrape';
ok metric($m, 'parley_worker_queue_wait_seconds_count') >= $N + $M, 'queue wait observed for each request (from nginx\'s $msec)';
# The registration's mail went through the jobs process.
ParleyTest::wait_for(sub { my ($x) = scrape(); metric($x, 'parley_jobs_total', kind => 'email', outcome => 'done') }, 'the mail job');
($m) = scrape();
ok metric($m, 'parley_jobs_total', kind => 'email', outcome => 'done') >= 1, 'jobs by kind and outcome';

# A visitor's question answered by the (fake) provider, a webhook
# delivered about it, and a login refused by the per-address limit.
my $hook = $t->post('/api/v1/webhook-endpoints', headers => $auth,
    json => { url => $t->receiver_url('/hook'), events => ['message.created'] })->{json};
ok $hook->{id}, 'a webhook endpoint for message.created';
my $bot = $t->post('/api/v1/chatbots', headers => $auth, json => { name => 'Shop', allowed_origins => ['https://shop.example'] })->{json};
my $vt = $t->post('/api/v1/widget/sessions', headers => { origin => 'https://shop.example' },
    json => { bot_key => $bot->{public_key} })->{json}{token};
my $conv = $t->post('/api/v1/widget/conversations', headers => { authorization => "Bearer $vt" })->{json}{id};
my $said = $t->visitor_say($vt, $conv, 'Do you ship to Norway?');
ok $said->{json}{reply}, 'the provider answered the visitor';
ParleyTest::wait_for(sub { my ($x) = scrape(); (metric($x, 'parley_webhook_deliveries_total', outcome => 'delivered') // 0) >= 2 },
    'the deliveries of both messages');
my $calls = grep { 1 } @{ $t->llm_requests };
for (1 .. 6) { $t->post('/api/v1/auth/login', headers => { 'x-forwarded-for' => '192.0.2.99' },
    json => { email => 'nobody@metrics.example', password => 'not this one either' }) }
($m) = scrape();
is metric($m, 'parley_llm_calls_total', outcome => 'ok'), $calls, "LLM calls: $calls, as many as the provider saw";
ok metric($m, 'parley_llm_tokens_total', type => 'completion') > 0, 'completion tokens: ' . metric($m, 'parley_llm_tokens_total', type => 'completion');
is metric($m, 'parley_llm_call_duration_seconds_count'), $calls, '... and their latency observed';
is metric($m, 'parley_webhook_deliveries_total', outcome => 'delivered'), 2, 'webhook deliveries: 2 delivered (the question, the answer)';
ok metric($m, 'parley_jobs_total', kind => 'webhook', outcome => 'done') >= 2, '... as jobs of kind webhook';
is metric($m, 'parley_rate_limited_total', class => 'auth'), 1, 'the 6th login from one address within the window: one 429 of class auth';

ok !defined metric($m, 'parley_backup_last_success_seconds'), 'no backup yet: no backup time (the alert fires on absent)';
$t->sql(q{INSERT INTO ops_marks (name, at) VALUES ('backup', to_timestamp(1767225600))});
($m) = scrape();
is metric($m, 'parley_backup_last_success_seconds'), 1767225600, "the last backup's time, as parleyctl backup records it";

# --- not public ---------------------------------------------------------------------
for my $scheme (qw(http https)) {
	my $r = $t->request('GET', '/metrics', scheme => $scheme, headers => { 'parley-metrics' => '1' });
	is $r->{status}, 404, "GET /metrics on the public server ($scheme): 404, even with a Parley-Metrics header";
	unlike $r->{content} // '', qr/parley_http_requests_total/, '... and no metric in it';
}
is $http->get("http://127.0.0.1:$mport/api/v1/meta")->{status}, 404, 'the metrics listener serves nothing but /metrics';
like $t->slurp('nginx/parley-site.conf'), qr/listen 127\.0\.0\.1:$mport;.*?allow 127\.0\.0\.1;\s*allow ::1;\s*deny all;/s,
    'it listens on loopback with an allow list that ends in deny all';
# The public servers trust X-Forwarded-For from 127.0.0.1 (the test's
# proxy); the metrics server trusts nobody's: a forwarded address is not
# what its allow list judges.
is $http->get("http://127.0.0.1:$mport/metrics", { headers => { 'x-forwarded-for' => '203.0.113.1' } })->{status}, 200,
    'on the metrics listener, X-Forwarded-For changes nothing (real_ip trusts no proxy there)';
is $t->get('/api/v1/meta', headers => { 'x-forwarded-for' => '203.0.113.1' })->{status}, 200, '... (the public server takes it as usual)';

# --- a real Prometheus scrapes it -----------------------------------------------------
my $pport = ParleyTest::free_port();
my $pdir = $t->dir . '/prometheus';
mkdir $pdir;
open my $cf, '>', "$pdir/prometheus.yml" or die;
print $cf <<"EOF";
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $mon/prometheus-recording.yml
  - $mon/prometheus-alerts.yml
scrape_configs:
  - job_name: parley
    static_configs:
      - targets: ['127.0.0.1:$mport']
EOF
close $cf;
$t->{pids}{prometheus} = $t->spawn("$pdir/prometheus.log", {}, $prometheus, "--config.file=$pdir/prometheus.yml",
    "--storage.tsdb.path=$pdir/data", "--web.listen-address=127.0.0.1:$pport");
sub promq {
	my ($q) = @_;
	my $r = $http->get("http://127.0.0.1:$pport/api/v1/query?query=" . join('', map { sprintf '%%%02X', ord } split //, $q));
	return undef unless $r->{status} == 200;
	return decode_json($r->{content})->{data}{result};
}
ParleyTest::wait_for(sub { my $r = eval { promq('up{job="parley"}') }; $r && @$r && $r->[0]{value}[1] eq '1' }, 'Prometheus to scrape parley', 60);
pass 'Prometheus scraped the metrics listener (up{job="parley"} is 1)';
$t->get('/api/v1/meta') for 1 .. 4;
my ($now) = scrape();
my $want = metric($now, 'parley_http_requests_total', method => 'GET', route => '/api/v1/meta', status => '2xx', auth => 'public');
ParleyTest::wait_for(sub {
	my $r = promq('parley_http_requests_total{route="/api/v1/meta",status="2xx"}');
	$r && @$r && $r->[0]{value}[1] == $want }, 'Prometheus to see the last requests', 30);
is promq('parley_http_requests_total{route="/api/v1/meta",status="2xx"}')->[0]{value}[1], $want,
    "Prometheus's value of the counter is the test's count ($want)";
my $rules = decode_json($http->get("http://127.0.0.1:$pport/api/v1/rules")->{content})->{data}{groups};
is_deeply [sort map { $_->{name} } @$rules], ['parley-alerts', 'parley-recording'], 'the shipped rule files load in Prometheus';
ParleyTest::wait_for(sub { my $r = promq('parley:workers_busy:ratio'); $r && @$r }, 'a recording rule evaluated', 60);
ok promq('parley:workers_busy:ratio')->[0]{value}[1] >= 0, '... and its recordings are evaluated';
ParleyTest::wait_for(sub {
	my $a = decode_json($http->get("http://127.0.0.1:$pport/api/v1/alerts")->{content})->{data}{alerts};
	grep { $_->{labels}{alertname} eq 'ParleyBackupTooOld' } @$a }, 'the stale backup alert pending', 60);
pass 'ParleyBackupTooOld is pending: the backup recorded above is months old';
kill 'TERM', delete $t->{pids}{prometheus};

done_testing;
