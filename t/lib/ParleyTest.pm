package ParleyTest;
# The integration test harness: starts the real stack for one test file.
#
#   my $t = ParleyTest->new(%opts);   # PostgreSQL db, parleyd, nginx
#   my $r = $t->get('/readyz');       # {status, headers, content, json}
#
# Each file gets its own database cloned from the migrated template (or,
# with own_cluster => 1, its own PostgreSQL cluster), its own parleyd and
# its own nginx on free loopback ports, all under one temp directory that
# is removed at the end unless a test failed. Everything started is
# stopped in END, also when the test dies. A shared cluster is used when
# PARLEY_TEST_PGDIR names one (dev/test starts it); otherwise each file
# starts its own.
use strict;
use feature qw(state);
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Copy ();
use File::Temp ();
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Test::More ();
use Time::HiRes qw(sleep time);
use ParleyTest::Pg;

our @INSTANCES;

my $SRCDIR = $ENV{PARLEY_SRCDIR} // abs_path(dirname(__FILE__) . '/../..');
my $BUILDDIR = $ENV{PARLEY_BUILDDIR} // (grep { -x "$_/parleyd" }
    map { "$SRCDIR/$_" } qw(build/test build/dev .))[0] // "$SRCDIR/build/test";

sub srcdir { $SRCDIR }

# limits(): the numeric #defines of src/limits.h, so tests follow the code.
sub limits {
	open my $fh, '<', "$SRCDIR/src/limits.h" or die "limits.h: $!";
	my %l;
	while (<$fh>) {
		next unless /^#define\s+(PRL_\w+)\s+(.+?)\s*(?:\/\*.*)?$/;
		my ($k, $v) = ($1, $2);
		$v =~ s/\b(PRL_\w+)\b/$l{$1} \/\/ 0/ge;
		$l{$k} = eval $v if $v =~ /^[\d\s()*+-]+$/;
	}
	return %l;
}
sub builddir { $BUILDDIR }

# free_port(): a loopback TCP port nobody listens on right now.
sub free_port {
	my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Proto => 'tcp', Listen => 1, ReuseAddr => 0) or die "no free port: $!";
	my $p = $s->sockport;
	close $s;
	return $p;
}

# wait_for(cond, what, [seconds]): polls cond until true; dies at timeout.
sub wait_for {
	my ($cond, $what, $secs) = @_;
	my $until = time + ($secs // 30);
	while (time < $until) {
		return 1 if $cond->();
		sleep 0.02;
	}
	die "timed out waiting for $what\n";
}

# spawn(log, env, @cmd): starts @cmd with stdout/stderr to 'log'. The child
# gets SIGTERM if this process dies (setpriv --pdeathsig).
sub spawn {
	my ($self, $log, $env, @cmd) = @_;
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		open STDIN, '<', '/dev/null';
		open STDOUT, '>>', $log or die "$log: $!";
		open STDERR, '>&', \*STDOUT;
		setpgrp(0, 0);
		%ENV = (%ENV, %$env);
		exec('setpriv', '--pdeathsig', 'TERM', '--', @cmd) or POSIX::_exit(127);
	}
	return $pid;
}

sub new {
	my ($class, %o) = @_;
	my $self = bless {
		workers => $o{workers} // 2,
		rate => $o{rate} // '1000r/s',
		burst => $o{burst} // 1000,
		body_max => $o{body_max} // '1m',
		real_ip_from => $o{real_ip_from} // 'set_real_ip_from 127.0.0.1;',
		env => $o{env} // {},
		conn_per_addr => $o{conn_per_addr},
		header_timeout => $o{header_timeout},
		pids => {},
	}, $class;
	push @INSTANCES, $self;
	$self->{dir} = File::Temp::tempdir('parley-t-XXXXXX', TMPDIR => 1, CLEANUP => 0);
	chmod 0755, $self->{dir};
	$self->{asan_dir} = "$self->{dir}/sanitizer";
	make_path($self->{asan_dir});
	# host_of => $t: another host of $t's deployment (issue 21): the same
	# database, keys and mail server; its own parleyd and nginx.
	if (my $peer = $o{host_of}) {
		$self->{host_of} = 1;
		for my $f (qw(jwt.key keyring audit.key)) {
			File::Copy::copy("$peer->{dir}/$f", "$self->{dir}/$f") or die "copy $f: $!";
			chmod 0600, "$self->{dir}/$f";
		}
		$self->{secrets} = { %{ $peer->{secrets} } };
		$self->{smtp_port} = $peer->{smtp_port};
		$self->{pg} = $peer->{pg};
		$self->{db} = $peer->{db};
		# Files on a mount both hosts share (docs/operations.md, Scaling).
		$self->{files_dir} = $peer->{dir};
		$self->{redis_url} = $o{redis_url};
		# parleyd => PATH: another build (a previous release).
		$self->{parleyd_bin} = $o{parleyd};
		mkdir "$self->{dir}/pub", 0700;
		$self->start_parleyd unless $o{no_parleyd};
		$self->start_nginx unless $o{no_nginx};
		return $self;
	}
	$self->{redis_url} = $o{redis_url};
	$self->make_keys;
	# The nchan publisher's socket: in a directory only we can enter.
	mkdir "$self->{dir}/pub", 0700;
	# Mail is on unless a test needs it late: registration needs it.
	$self->start_smtp unless $o{smtp_later};
	# smtp_later: parleyd is told of an SMTP port nobody listens on yet.
	$self->{smtp_port} = free_port() if $o{smtp_later};
	$self->start_captcha if $o{captcha};
	$self->start_llm if $o{llm};
	$self->start_receiver if $o{receiver};
	$self->start_stripe if $o{stripe};

	# Database: shared cluster + cloned template, or a cluster of our own.
	if (!$o{own_cluster} && $ENV{PARLEY_TEST_PGDIR}) {
		$self->{pg} = ParleyTest::Pg->new(dir => $ENV{PARLEY_TEST_PGDIR}, fast => 1);
		state $n = 0;
		$self->{db} = "parley_t_" . $$ . "_" . $n++;
		$self->_clone_template;
	} else {
		$self->{pg} = ParleyTest::Pg->new(dir => "$self->{dir}/pg", fast => 1);
		$self->{own_cluster} = 1;
		$self->{pg}->start;
		$self->{db} = $o{no_migrate} ? undef : $self->{pg}->setup($SRCDIR, $BUILDDIR, 'parley');
		if ($o{no_migrate}) {
			$self->{pg}->psql('postgres', undef, "$SRCDIR/sql/roles.sql");
			$self->{pg}->psql('postgres', 'CREATE DATABASE parley OWNER parley_owner');
			$self->{db} = 'parley';
		}
	}
	$self->start_parleyd unless $o{no_parleyd};
	$self->start_nginx unless $o{no_nginx};
	return $self;
}

sub _clone_template {
	my ($self) = @_;
	my $tries = 0;
	while (1) {
		my $ok = eval {
			$self->{pg}->psql('postgres', qq{CREATE DATABASE "$self->{db}" }
			    . q{TEMPLATE parley_template OWNER parley_owner});
			1;
		};
		return if $ok;
		# Another file may be copying the template this very moment.
		die $@ if ++$tries > 50 || $@ !~ /being accessed by other users/;
		sleep 0.1;
	}
}

# host_page(port, title, widget_base, bot_key, body_html): a shop's page
# on another site than parley's (http://localhost:PORT/, where parley is
# 127.0.0.1), served by Python's http.server, with the widget's loader
# from widget_base. Returns its URL once it answers.
sub host_page {
	my ($self, $port, $title, $base, $key, $body) = @_;
	my $site = "$self->{dir}/site";
	File::Path::make_path($site);
	open my $fh, '>', "$site/index.html" or die "$site/index.html: $!";
	print $fh qq{<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>$title</title></head>\n}
	    . qq{<body><h1>$title</h1>} . ($body // '') . qq{\n}
	    . qq{<script src="$base/widget/parley.js" data-bot="$key" async></script>\n</body></html>\n};
	close $fh;
	$self->{pids}{hostpage} = $self->spawn("$self->{dir}/hostpage.log", {},
	    '/usr/bin/python3', '-m', 'http.server', '--bind', '127.0.0.1', '--directory', $site, $port);
	$self->wait_port($port, $self->{pids}{hostpage}, 'the host page server');
	return "http://localhost:$port/";
}

sub dir { $_[0]{dir} }
sub pg { $_[0]{pg} }
sub dbname { $_[0]{db} }

sub app_conninfo { my $s = shift; $s->{pg}->conninfo($s->{db}, 'parley_app') }
sub owner_conninfo { my $s = shift; $s->{pg}->conninfo($s->{db}, 'parley_owner') }

sub sanitizer_env {
	my ($self) = @_;
	return (
		ASAN_OPTIONS => "log_path=$self->{asan_dir}/asan:detect_leaks=1:abort_on_error=0",
		UBSAN_OPTIONS => "log_path=$self->{asan_dir}/ubsan:print_stacktrace=1",
		LSAN_OPTIONS => "suppressions=$SRCDIR/t/lsan.supp:print_suppressions=0",
	);
}

sub parleyd_env {
	my ($self) = @_;
	return {
		$self->sanitizer_env,
		PARLEY_LISTEN => "unix:$self->{dir}/parleyd.sock",
		PARLEY_SOCKET_MODE => '0666',
		PARLEY_WORKERS => $self->{workers},
		PARLEY_DATABASE_URL => $self->app_conninfo,
		PARLEY_SHUTDOWN_TIMEOUT => 5,
		# Load shedding at 10 s and no target, not 2 s and 20 ms: the
		# suite's machine is shared and its builds sanitised, and a
		# shed request would fail a test that is not about it; t/22
		# tests both bounds.
		PARLEY_QUEUE_TIMEOUT_MS => 10000,
		PARLEY_QUEUE_TARGET_MS => 0,
		PARLEY_LOG_LEVEL => 'info',
		PARLEY_JWT_KEY_FILE => "$self->{dir}/jwt.key",
		PARLEY_KEYRING_FILE => "$self->{dir}/keyring",
		PARLEY_AUDIT_KEY_FILE => "$self->{dir}/audit.key",
		PARLEY_BCRYPT_COST => 10,
		PARLEY_JOBS_POLL_MS => 50,
		PARLEY_JOB_RETRY_BASE => 1,
		PARLEY_PUBLIC_BASE_URL => 'https://app.parley.test',
		PARLEY_REALTIME_SOCKET => "$self->{dir}/pub/nchan.sock",
		PARLEY_EXPORT_DIR => ($self->{files_dir} // $self->{dir}) . '/exports',
		PARLEY_ATTACHMENTS_DIR => ($self->{files_dir} // $self->{dir}) . '/attachments',
		$self->{smtp_port} ? (PARLEY_SMTP_URL => "smtp://127.0.0.1:$self->{smtp_port}",
		    PARLEY_SMTP_TLS => 'none', PARLEY_MAIL_FROM => 'noreply@parley.test') : (),
		$self->{captcha_port} ? (PARLEY_RECAPTCHA_SECRET => $self->{captcha_secret},
		    PARLEY_RECAPTCHA_URL => "http://127.0.0.1:$self->{captcha_port}/recaptcha/api/siteverify") : (),
		$self->{stripe_port} ? (PARLEY_STRIPE_API_URL => "http://127.0.0.1:$self->{stripe_port}") : (),
		$self->{llm_port} ? (PARLEY_LLM_BASE_URL => "http://127.0.0.1:$self->{llm_port}/v1",
		    PARLEY_LLM_API_KEY => $self->{llm_key}, PARLEY_LLM_MODEL => 'fake-model',
		    PARLEY_LLM_BACKOFF_MS => 10) : (),
		%{ $self->{env} },
	};
}

sub start_parleyd {
	my ($self) = @_;
	my $sock = "$self->{dir}/parleyd.sock";
	unlink $sock;
	$self->{pids}{parleyd} = $self->spawn("$self->{dir}/parleyd.log",
	    $self->parleyd_env, $self->{parleyd_bin} // "$BUILDDIR/parleyd");
	# Ready when every child has said it started (workers: accepting).
	wait_for(sub {
		my %started = map { $_->{pid} => 1 }
		    grep { $_->{event} =~ /^(worker|jobs|answerer)_started$/ } $self->log_events;
		my @c = $self->child_pids;
		my $want = $self->{workers} + ($self->{env}{PARLEY_JOBS_WORKERS} // 1)
		    + ($self->{env}{PARLEY_ANSWER_WORKERS} // 1);
		return 1 if -S $sock && @c >= $want && !grep { !$started{$_} } @c;
		die "parleyd exited:\n" . $self->slurp('parleyd.log')
		    if waitpid($self->{pids}{parleyd}, WNOHANG) > 0;
		return 0;
	}, 'parleyd to listen');
}

sub parleyd_pid { $_[0]{pids}{parleyd} }

# stop_parleyd([signal]): stops parleyd and waits; returns its wait status.
sub stop_parleyd {
	my ($self, $sig) = @_;
	my $pid = delete $self->{pids}{parleyd} or return;
	kill $sig // 'TERM', $pid;
	my $st;
	wait_for(sub { my $r = waitpid($pid, WNOHANG); $st = $?; $r > 0 }, 'parleyd to stop', 30);
	return $st;
}

# worker_pids(), jobs_pids(): parleyd's current request workers and jobs
# processes (children that said which they are in the log).
sub worker_pids { my $s = shift; $s->_kids_of_role('worker') }
sub jobs_pids { my $s = shift; $s->_kids_of_role('jobs') }
sub answer_pids { my $s = shift; $s->_kids_of_role('answerer') }

sub _kids_of_role {
	my ($self, $role) = @_;
	my %role = map { $_->{pid} => $_->{role} }
	    grep { $_->{event} =~ /_started$/ } $self->log_events;
	return grep { ($role{$_} // '') eq $role } $self->child_pids;
}

# child_pids(): the pids of parleyd's current children.
sub child_pids {
	my ($self) = @_;
	my $master = $self->{pids}{parleyd} or return ();
	my @kids;
	for my $stat (glob '/proc/[0-9]*/stat') {
		open my $fh, '<', $stat or next;
		my $line = <$fh> // next;
		# pid (comm) state ppid ...
		next unless $line =~ /^(\d+) \(.*\) \S+ (\d+)/;
		push @kids, $1 if $2 == $master;
	}
	return sort { $a <=> $b } @kids;
}

# make_keys(): the access-token key and the keyring, fresh per file.
sub make_keys {
	my ($self) = @_;
	my $jwt = `openssl rand -base64 48`;
	my $k1 = `openssl rand -base64 32`;
	my $audit = `openssl rand -base64 48`;
	chomp($jwt, $k1, $audit);
	die "openssl rand failed" unless $jwt && $k1 && $audit;
	open my $af, '>', "$self->{dir}/audit.key" or die $!;
	print $af "$audit\n";
	close $af;
	$self->{secrets}{audit_key} = $audit;
	open my $fh, '>', "$self->{dir}/jwt.key" or die $!;
	print $fh "$jwt\n";
	close $fh;
	open $fh, '>', "$self->{dir}/keyring" or die $!;
	print $fh "# test keyring\nk1 $k1\n";
	close $fh;
	chmod 0600, "$self->{dir}/jwt.key", "$self->{dir}/keyring", "$self->{dir}/audit.key";
	$self->{secrets}{jwt_key} = $jwt;
	$self->{secrets}{keyring} = $k1;
}

sub jwt_key_b64 { $_[0]{secrets}{jwt_key} }
sub audit_key_b64 { $_[0]{secrets}{audit_key} }

# wait_port(port, pid, what): until something accepts on the port.
# listens(pid, port): whether process 'pid' itself holds the listening
# socket on 127.0.0.1:port. A connect alone is not proof: tests run in
# parallel, and another test's server may have bound a port this one was
# handed too.
sub listens {
	my ($pid, $port) = @_;
	my $want = sprintf '0100007F:%04X', $port;
	my %inode;
	open my $fh, '<', '/proc/net/tcp' or return 0;
	while (<$fh>) {
		my @f = split ' ';
		$inode{ $f[9] } = 1 if ($f[1] // '') eq $want && ($f[3] // '') eq '0A';
	}
	return 0 unless %inode;
	opendir my $d, "/proc/$pid/fd" or return 0;
	for (readdir $d) {
		my $l = readlink "/proc/$pid/fd/$_" // next;
		return 1 if $l =~ /^socket:\[(\d+)\]$/ && $inode{$1};
	}
	return 0;
}

sub wait_port {
	my ($self, $port, $pid, $what) = @_;
	wait_for(sub {
		die "$what exited\n" if waitpid($pid, WNOHANG) > 0;
		listens($pid, $port);
	}, $what, 20);
}

# The fake SMTP server (t/fakes/smtp.py): mails land in DIR/mail.
sub start_smtp {
	my ($self) = @_;
	# A port picked here may be taken by a parallel test before the
	# server binds it: pick another (unless parleyd already knows it).
	for my $try (1 .. 5) {
		my $fixed = defined $self->{smtp_port};
		$self->{smtp_port} //= free_port();
		$self->{pids}{smtp} = $self->spawn("$self->{dir}/smtp.log", {},
		    '/usr/bin/python3', "$SRCDIR/t/fakes/smtp.py", $self->{smtp_port}, "$self->{dir}/mail");
		return if eval { $self->wait_port($self->{smtp_port}, $self->{pids}{smtp}, 'the fake SMTP server'); 1 };
		die $@ if $fixed;
		delete $self->{pids}{smtp};
		delete $self->{smtp_port};
	}
	die "the fake SMTP server: no free port after 5 tries\n";
}

sub stop_smtp {
	my ($self) = @_;
	my $pid = delete $self->{pids}{smtp} or return;
	kill 'TERM', $pid;
	waitpid $pid, 0;
}

# mails(): every message received so far, as {to, subject, body, raw}.
sub mails {
	my ($self) = @_;
	my @m;
	# Another host's mail is the deployment's: its first host's server.
	for my $f (sort glob(($self->{files_dir} // $self->{dir}) . '/mail/*.eml')) {
		open my $fh, '<', $f or next;
		local $/;
		my $raw = <$fh>;
		my ($head, $body) = split /\r?\n\r?\n/, $raw, 2;
		my ($to) = $head =~ /^X-Envelope-To: (.*?)\r?$/m;
		my ($subject) = $head =~ /^Subject: (.*?)\r?$/m;
		$body =~ s/\r\n/\n/g;
		push @m, { to => $to, subject => $subject, body => $body, raw => $raw, head => $head };
	}
	return @m;
}

# wait_mail(to, subject_re): waits for a matching message; returns it.
sub wait_mail {
	my ($self, $to, $re) = @_;
	my $found;
	wait_for(sub {
		($found) = grep { $_->{to} eq $to && $_->{subject} =~ $re } $self->mails;
		$found;
	}, "mail to $to", 30);
	return $found;
}

# visitor_say(token, conv, text, [headers => {...}, timeout => s]): posts a
# visitor message and, when a reply is queued, waits (bounded) until the
# answerer has stored the reply or handoff, or no reply is owed any more
# (a person took the conversation). Returns the POST's answer with
# {json}{reply} (the stored bot message, or undef) and {json}{status}
# as they are then; {json}{posted_status} keeps the POST's own status.
# subscribe(path, headers...): an SSE subscriber on a raw socket to nginx's
# plain HTTP port: the status line read, then events with next_event().
sub subscribe {
	my ($self, $path, %hdr) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->http_port, Timeout => 5) or die $!;
	my $h = join '', map { "$_: $hdr{$_}\r\n" } keys %hdr;
	print $s "GET $path HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n$h\r\n";
	my $head = '';
	my $sel = IO::Select->new($s);
	while ($head !~ /\r\n\r\n/ && $sel->can_read(5)) {
		sysread($s, my $b, 4096) or last;
		$head .= $b;
	}
	my ($status) = $head =~ m{^HTTP/1\.1 (\d+)};
	(my $rest = $head) =~ s/^.*?\r\n\r\n//s;
	return { sock => $s, sel => $sel, status => $status // 0, buf => $rest, closed => 0 };
}
# next_event(sub, [wait]): the next event's data (decoded JSON), or undef
# after 'wait' seconds or when the stream ended (then ->{closed} is set).
sub next_event {
	my ($sub, $wait) = @_;
	my $end = time + ($wait // 5);
	while (1) {
		if ($sub->{buf} =~ s/\A(?:[0-9a-f]+\r\n)?(.*?)\n\n//s) {
			my $ev = $1;
			$sub->{closed} = 1 if $ev =~ /^:\s*410|^event: ?(?:close)?$/m && $ev !~ /^data:/m;
			next unless $ev =~ /^data: ?(.*)$/m;
			my $d = eval { JSON::PP::decode_json($1) };
			return $d if $d;
			next;
		}
		my $left = $end - time;
		return undef if $left <= 0 || $sub->{closed};
		if ($sub->{sel}->can_read($left)) {
			my $r = sysread($sub->{sock}, my $b, 65536);
			if (!$r) { $sub->{closed} = 1; return undef }
			$b =~ s/\r\n[0-9a-f]+\r\n//g;    # chunk boundaries
			$sub->{buf} .= $b;
		}
	}
}

# wait_for_reply(message id, [seconds]): until the answerer has stored the
# reply (or handoff) to a visitor message, or owes none any more.
sub wait_for_reply {
	my ($self, $mid, $secs) = @_;
	my $reply = sub { $self->sql('SELECT seq FROM messages WHERE reply_to = ?', $mid)->[0] };
	my $row;
	wait_for(sub {
		return 1 if $row = $reply->();
		return 0 if $self->sql('SELECT 1 AS x FROM reply_jobs WHERE message_id = ?', $mid)->[0];
		$row = $reply->();	# stored as the job went
		return 1;
	}, 'the reply to a visitor message', $secs // 30);
	return $row ? $row->{seq} : undef;
}

sub visitor_say {
	my ($self, $tok, $conv, $text, %o) = @_;
	my $r = $self->request('POST', "/api/v1/widget/conversations/$conv/messages",
	    headers => { authorization => "Bearer $tok", %{ $o{headers} // {} } },
	    json => { content => $text });
	return $r unless $r->{status} == 201 && ($r->{json}{reply_status} // '') eq 'queued';
	$r->{json}{posted_status} = $r->{json}{status};
	my $seq = $self->wait_for_reply($r->{json}{message}{id}, $o{timeout});
	if (defined $seq) {
		my $list = $self->request('GET', "/api/v1/widget/conversations/$conv/messages?after=" . ($seq - 1),
		    headers => { authorization => "Bearer $tok" });
		($r->{json}{reply}) = grep { $_->{seq} == $seq } @{ $list->{json}{items} // [] };
	}
	$r->{json}{status} = $self->sql('SELECT status FROM conversations WHERE id = ?', $conv)->[0]{status};
	return $r;
}

# The fake LLM provider (t/fakes/llm.py), OpenAI's wire format.
sub start_llm {
	my ($self) = @_;
	$self->{llm_port} = free_port();
	$self->{llm_key} = 'sk-test-' . int(rand(1e9));
	$self->{pids}{llm} = $self->spawn("$self->{dir}/llm.out", {},
	    '/usr/bin/python3', "$SRCDIR/t/fakes/llm.py", $self->{llm_port},
	    "$self->{dir}/llm.log");
	$self->wait_port($self->{llm_port}, $self->{pids}{llm}, 'the fake LLM provider');
	$self->note_secrets({ llm_secret => $self->{llm_key} });
}

# Talks to the fake provider's control API: llm_script([...]) queues
# behaviours; llm_requests() returns what it was sent; llm_reset() clears.
sub _llm_call {
	my ($self, $method, $path, $body) = @_;
	require HTTP::Tiny;
	my $r = HTTP::Tiny->new(timeout => 10)->request($method,
	    "http://127.0.0.1:$self->{llm_port}$path",
	    defined $body ? { content => encode_json($body),
	    headers => { 'Content-Type' => 'application/json' } } : {});
	die "fake LLM $method $path: $r->{status}" unless $r->{success};
	return length $r->{content} ? decode_json($r->{content}) : undef;
}
sub llm_script { my ($self, @b) = @_; $self->_llm_call('POST', '/_script', \@b) }
sub llm_requests { my ($self) = @_; $self->_llm_call('GET', '/_requests') }
sub llm_reset { my ($self) = @_; $self->_llm_call('DELETE', '/_requests') }

# A client address of its own for each registration or login that the
# helpers below make, so per-address limits do not get in the way.
my $helper_addr = 0;
sub _helper_xff { $helper_addr++; '198.18.' . int($helper_addr / 250) . '.' . ($helper_addr % 250 + 1) }

# signup(json => {...}, headers => {...}): registers as a person would:
# POST /auth/register, the link from the mail, POST /auth/register/confirm
# (from the same client address). Returns the confirmation's answer (201
# with the token pair), or the registration's when that was not 202.
# pow_token(): a solved proof of work (GET /api/v1/auth/challenge) as a
# browser finds it, for a captcha_token; pow_solve(challenge, bits) and
# pow_bits(bytes) are its parts.
sub pow_bits { my $b = unpack 'B*', $_[0]; $b =~ /^(0*)/; length $1 }
sub pow_solve {
	my ($c, $bits) = @_;
	require Digest::SHA;
	for (my $n = 0; ; $n++) { return "$c.$n" if pow_bits(Digest::SHA::sha256("$c.$n")) >= $bits }
}
sub pow_token {
	my ($self) = @_;
	my $c = $self->get('/api/v1/auth/challenge')->{json} or die "no proof-of-work challenge\n";
	return pow_solve($c->{challenge}, $c->{difficulty});
}

sub signup {
	my ($self, %o) = @_;
	# The deployment's own captcha, when on: solved as a browser would.
	$o{json} = { %{ $o{json} }, captcha_token => $self->pow_token }
	    if $self->{env}{PARLEY_POW_DIFFICULTY} && !exists $o{json}{captcha_token};
	(my $addr = lc $o{json}{email}) =~ s/^\s+|\s+$//g;
	my $to_re = qr/^\Q$addr\E$/i;
	my $subj = qr/finish signing up/i;
	my $before = grep { ($_->{to} // '') =~ $to_re && $_->{subject} =~ $subj } $self->mails;
	my $r = $self->post('/api/v1/auth/register', %o);
	return $r unless $r->{status} == 202;
	my @m;
	wait_for(sub { @m = grep { ($_->{to} // '') =~ $to_re && $_->{subject} =~ $subj } $self->mails; @m > $before },
	    "the signup mail to $o{json}{email}", 30);
	my ($tok) = $m[-1]{body} =~ m{/confirm-signup#token=([A-Za-z0-9_-]{43})}
	    or die "no signup link in the mail to $o{json}{email}\n";
	return $self->post('/api/v1/auth/register/confirm', headers => $o{headers} // {},
	    json => { token => $tok, password => $o{json}{password} });
}

# register_company(tag, password): a new company "Co TAG" and its owner
# own@TAG.example; returns {id, name, email, user, token, refresh, auth}.
sub register_company {
	my ($self, $tag, $pw) = @_;
	my $r = $self->signup(headers => { 'x-forwarded-for' => _helper_xff() },
	    json => { email => "own\@$tag.example", password => $pw, name => "Owner $tag", company_name => "Co $tag" });
	die "register $tag: $r->{status} $r->{content}\n" unless $r->{status} == 201;
	my $j = $r->{json};
	return { id => $j->{company}{id}, name => "Co $tag", email => "own\@$tag.example", user => $j->{user}{id},
	    token => $j->{access_token}, refresh => $j->{refresh_token}, auth => { authorization => "Bearer $j->{access_token}" } };
}

# add_member(company, email, role, password): a user of the company with
# the owner's password, logged in; returns its Authorization header.
sub add_member {
	my ($self, $c, $email, $role, $pw) = @_;
	my $hash = $self->sql('SELECT password_hash FROM users WHERE id = ?', $c->{user})->[0]{password_hash};
	$self->sql(q{INSERT INTO users (company_id, email, name, role, password_hash) VALUES (?, ?, 'Pe Rson', ?, ?)},
	    $c->{id}, $email, $role, $hash);
	my $l = $self->post('/api/v1/auth/login', headers => { 'x-forwarded-for' => _helper_xff() },
	    json => { email => $email, password => $pw });
	die "login $email: $l->{status} $l->{content}\n" unless $l->{status} == 200;
	return { authorization => "Bearer $l->{json}{access_token}" };
}

# A customer's webhook receiver (t/fakes/receiver.py): receiver_url(path)
# is where it listens; receiver_script([...]) queues answers;
# receiver_requests() returns what arrived; receiver_reset() clears.
# A Redis of the test's own (Debian's redis-server) on a free loopback
# port, nothing kept on disk: start_redis() returns its URL; stop_redis()
# and start_redis() again on the same port (an outage and a return).
sub start_redis {
	my ($self) = @_;
	$self->{redis_port} //= free_port();
	$self->{pids}{redis} = $self->spawn("$self->{dir}/redis.log", {}, '/usr/bin/redis-server',
	    '--port', $self->{redis_port}, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
	    '--dir', $self->{dir});
	$self->wait_port($self->{redis_port}, $self->{pids}{redis}, 'Redis');
	return "redis://127.0.0.1:$self->{redis_port}";
}
sub stop_redis {
	my ($self) = @_;
	my $pid = delete $self->{pids}{redis} or return;
	kill 'TERM', $pid;
	waitpid($pid, 0);
}

sub start_receiver {
	my ($self) = @_;
	$self->{receiver_port} = free_port();
	$self->{pids}{receiver} = $self->spawn("$self->{dir}/receiver.out", {},
	    '/usr/bin/python3', "$SRCDIR/t/fakes/receiver.py", $self->{receiver_port});
	$self->wait_port($self->{receiver_port}, $self->{pids}{receiver}, 'the fake webhook receiver');
}
sub receiver_url { my ($self, $path) = @_; "http://127.0.0.1:$self->{receiver_port}" . ($path // '/hook') }
sub _receiver_call {
	my ($self, $method, $path, $body) = @_;
	require HTTP::Tiny;
	my $r = HTTP::Tiny->new(timeout => 10)->request($method,
	    "http://127.0.0.1:$self->{receiver_port}$path",
	    defined $body ? { content => encode_json($body),
	    headers => { 'Content-Type' => 'application/json' } } : {});
	die "fake receiver $method $path: $r->{status}" unless $r->{success};
	return length $r->{content} ? decode_json($r->{content}) : undef;
}
sub receiver_script { my ($self, @b) = @_; $self->_receiver_call('POST', '/_script', \@b) }
sub receiver_requests { my ($self) = @_; $self->_receiver_call('GET', '/_requests') }
sub receiver_reset { my ($self) = @_; $self->_receiver_call('DELETE', '/_requests') }
sub receiver_release { my ($self) = @_; $self->_receiver_call('POST', '/_release') }

# ParleyTest->browser: Debian's chromium and playwright-core, checked as
# two tests (dev/test installs both; nothing is skipped): chromium's path.
sub browser {
	my $chromium = -x '/usr/bin/chromium' ? '/usr/bin/chromium' : undef;
	Test::More::ok($chromium, 'chromium is installed (dev/test installs it)') or Test::More::BAIL_OUT('no chromium');
	Test::More::ok(-d "$SRCDIR/t/browser/node_modules/playwright-core", 'playwright-core is installed')
	    or Test::More::BAIL_OUT('no playwright-core');
	return $chromium;
}

# https_base: parley's HTTPS base URL (no trailing slash), parleyd
# restarted with it as public_base_url, as in production (the console's
# refresh cookie is Secure; e-mailed links point there).
sub https_base {
	my $self = shift;
	my $base = $self->url('', 'https');
	$base =~ s{/$}{};
	$self->stop_parleyd;
	$self->{env}{PARLEY_PUBLIC_BASE_URL} = $base;
	$self->start_parleyd;
	return $base;
}

# browser_checks(script, prefix): runs a browser script (node) that
# prints one JSON line per check, {"ok", "name", "diag"}, makes each a
# test, and that the run ended cleanly another; returns the count.
sub browser_checks {
	my ($self, $script, $prefix) = @_;
	$prefix //= '';
	open my $node, '-|', 'node', $script or die "node: $!";
	my $checks = 0;
	while (my $line = <$node>) {
		my $c = eval { JSON::PP::decode_json($line) } or do { Test::More::diag($line); next };
		$checks++;
		Test::More::ok($c->{ok}, "$prefix$c->{name}") or Test::More::diag($c->{diag});
	}
	close $node;
	Test::More::is($?, 0, "${prefix}the browser run ended cleanly");
	return $checks;
}

# secret_set(name, value): parleyctl secret set NAME, the value on its
# standard input, against this stack; returns (exit status, output).
sub secret_set {
	my ($self, $name, $value) = @_;
	local @ENV{qw(PARLEY_CONFIG PARLEY_JWT_KEY_FILE PARLEY_AUDIT_KEY_FILE PARLEY_KEYRING_FILE
	    PARLEY_DATABASE_URL PARLEY_ADMIN_DATABASE_URL)} = ('', "$self->{dir}/jwt.key", "$self->{dir}/audit.key",
	    "$self->{dir}/keyring", $self->app_conninfo, $self->pg->conninfo($self->dbname, 'postgres'));
	open my $p, '-|', "printf '%s\\n' '$value' | '$BUILDDIR/parleyctl' secret set '$name' 2>&1" or die "parleyctl: $!";
	local $/;
	my $out = <$p>;
	close $p;
	return ($? >> 8, $out);
}

# The fake Stripe API (t/fakes/stripe.py): stripe_key() is the secret key
# it accepts; stripe_call(method, path, body) talks to its control API.
sub start_stripe {
	my ($self) = @_;
	$self->{stripe_port} = free_port();
	$self->{stripe_key} = 'sk_test_' . join('', map { ('a' .. 'z', 'A' .. 'Z', 0 .. 9)[int rand 62] } 1 .. 40);
	$self->{pids}{stripe} = $self->spawn("$self->{dir}/stripe.out", {},
	    '/usr/bin/python3', "$SRCDIR/t/fakes/stripe.py", $self->{stripe_port}, $self->{stripe_key});
	$self->wait_port($self->{stripe_port}, $self->{pids}{stripe}, 'the fake Stripe API');
	$self->note_secrets({ stripe_api_key => $self->{stripe_key} });
}
sub stripe_key { $_[0]{stripe_key} }
sub stripe_call {
	my ($self, $method, $path, $body) = @_;
	require HTTP::Tiny;
	my $r = HTTP::Tiny->new(timeout => 10)->request($method,
	    "http://127.0.0.1:$self->{stripe_port}$path",
	    defined $body ? { content => encode_json($body),
	    headers => { 'Content-Type' => 'application/json' } } : {});
	die "fake Stripe $method $path: $r->{status}" unless $r->{success};
	return length $r->{content} ? decode_json($r->{content}) : undef;
}

# The fake reCAPTCHA endpoint (t/fakes/recaptcha.py).
sub start_captcha {
	my ($self) = @_;
	$self->{captcha_port} = free_port();
	$self->{captcha_secret} = 'captcha-secret-' . int(rand(1e9));
	$self->{pids}{captcha} = $self->spawn("$self->{dir}/captcha.out", {},
	    '/usr/bin/python3', "$SRCDIR/t/fakes/recaptcha.py", $self->{captcha_port},
	    $self->{captcha_secret}, "$self->{dir}/captcha.log");
	$self->wait_port($self->{captcha_port}, $self->{pids}{captcha}, 'the fake reCAPTCHA');
}

sub tls_cert {
	my ($self) = @_;
	my ($cert, $key) = ("$self->{dir}/cert.pem", "$self->{dir}/key.pem");
	return ($cert, $key) if -f $cert;
	my $out = `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '$key' -out '$cert' 2>&1`;
	die "openssl: $out" if $?;
	return ($cert, $key);
}

sub nginx_env {
	my ($self) = @_;
	my ($cert, $key) = $self->tls_cert;
	return (
		NGX_CONF_DIR => "$self->{dir}/nginx",
		NGX_RUN_DIR => "$self->{dir}/nginx",
		NGX_SERVER_NAME => 'localhost',
		NGX_HTTP_LISTEN => "127.0.0.1:$self->{http_port}",
		NGX_HTTPS_LISTEN => "127.0.0.1:$self->{https_port}",
		NGX_METRICS_LISTEN => "127.0.0.1:$self->{metrics_port}",
		NGX_NCHAN_REDIS_URL => $self->{redis_url} // '',
		NGX_HTTP_INCLUDE => 'parley-locations.conf',
		NGX_FASTCGI => "unix:$self->{dir}/parleyd.sock",
		NGX_RATE => $self->{rate},
		NGX_BURST => $self->{burst},
		NGX_BODY_MAX => $self->{body_max},
		NGX_ATTACHMENTS_DIR => ($self->{files_dir} // $self->{dir}) . '/attachments',
		NGX_ATTACH_BODY_MAX => '11m',
		NGX_REAL_IP_FROM => $self->{real_ip_from},
		NGX_ACCESS_LOG => "$self->{dir}/nginx/access.log",
		NGX_USER_DIRECTIVE => $> == 0 ? 'user root;' : '',
		NGX_NGINX_WORKERS => 1,
		NGX_WORKER_CONNECTIONS => 4096,
		NGX_WORKER_RLIMIT => 8192,
		NGX_CONN_PER_ADDR => $self->{conn_per_addr} // 1000,
		NGX_HEADER_TIMEOUT => $self->{header_timeout} // '10s',
		NGX_WIDGET_ROOT => "$SRCDIR/widget",
		NGX_CONSOLE_ROOT => "$SRCDIR/console",
		NGX_PUBLISH_SOCKET => "$self->{dir}/pub/nchan.sock",
		NGX_WELLKNOWN_ROOT => "$SRCDIR/nginx",
		NGX_TLS_CERT => $cert,
		NGX_TLS_KEY => $key,
		NGX_EXTRA_HTTP => $self->{extra_http} // '',
	);
}

# free_ports(n): n distinct free loopback ports (held open until all are
# picked, so two calls cannot return the same one).
sub free_ports {
	my ($n) = @_;
	my @s = map { IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Proto => 'tcp', Listen => 1) or die "no free port: $!" } 1 .. $n;
	my @p = map { $_->sockport } @s;
	close $_ for @s;
	return @p;
}

sub start_nginx {
	my ($self) = @_;
	for my $try (1 .. 5) {
		($self->{http_port}, $self->{https_port}, $self->{metrics_port}) = free_ports(3);
		my %env = $self->nginx_env;
		make_path("$self->{dir}/nginx/tmp");
		my $cmd = "'$SRCDIR/nginx/render' '$self->{dir}/nginx' 2>&1";
		my $out = do { local %ENV = (%ENV, %env); `$cmd` };
		die "nginx/render failed: $out" if $?;
		truncate "$self->{dir}/nginx/nginx-error.log", 0;
		$self->{pids}{nginx} = $self->spawn("$self->{dir}/nginx/stderr.log", {},
		    'nginx', '-p', "$self->{dir}/nginx", '-c', "$self->{dir}/nginx/nginx.conf",
		    '-e', "$self->{dir}/nginx/nginx-error.log");
		my $up = eval {
			wait_for(sub {
				die "exited\n" if waitpid($self->{pids}{nginx}, WNOHANG) > 0;
				return listens($self->{pids}{nginx}, $self->{http_port}) &&
				    listens($self->{pids}{nginx}, $self->{https_port});
			}, 'nginx to listen', 20);
		};
		return if $up;
		delete $self->{pids}{nginx};
		my $err = $self->slurp('nginx/nginx-error.log');
		die "nginx failed to start:\n$err" unless $err =~ /Address already in use|duplicate listen/;
	}
	die "nginx: no free ports after 5 tries\n";
}

sub stop_nginx {
	my ($self) = @_;
	my $pid = delete $self->{pids}{nginx} or return;
	kill 'QUIT', $pid;
	eval { wait_for(sub { waitpid($pid, WNOHANG) > 0 }, 'nginx to stop', 10) };
	if ($@) { kill 'KILL', $pid; waitpid($pid, 0) }
}

sub http_port { $_[0]{http_port} }
sub metrics_port { $_[0]{metrics_port} }
sub https_port { $_[0]{https_port} }

sub url {
	my ($self, $path, $scheme) = @_;
	$scheme //= 'http';
	my $port = $scheme eq 'https' ? $self->{https_port} : $self->{http_port};
	return "$scheme://127.0.0.1:$port$path";
}

# request(method, path, %opt): opt json (encoded body), body, headers,
# scheme ('http' or 'https'). Returns HTTP::Tiny's response plus 'json'.
sub request {
	my ($self, $method, $path, %o) = @_;
	my $http = $self->{http} //= HTTP::Tiny->new(verify_SSL => 0, timeout => 30,
	    max_redirect => 0, agent => 'parley-tests/1');
	my %h = %{ $o{headers} // {} };
	my $body = $o{body};
	if (exists $o{json}) {
		$body = JSON::PP->new->canonical->encode($o{json});
		$h{'content-type'} //= 'application/json';
	}
	my $r = $http->request($method, $self->url($path, $o{scheme}),
	    { headers => \%h, defined $body ? (content => $body) : () });
	my $ct = $r->{headers}{'content-type'} // '';
	if ($ct =~ m{json} && length($r->{content} // '')) {
		$r->{json} = eval { JSON::PP->new->decode($r->{content}) };
	}
	$self->note_secrets($h{authorization}, $r->{json});
	$self->note_secrets_of_request($o{json});
	check_contract($method, $path, $r) unless $o{no_contract};
	return $r;
}

# The API contract: every JSON answer of a documented route must match
# the schema docs/openapi.yaml gives its route and status (JSON::Validator,
# OpenAPI 3.0). A mismatch fails the test that made the request.
my ($contract, @contract_paths);
sub contract {
	return $contract if $contract;
	require JSON::Validator::Schema::OpenAPIv3;
	$contract = JSON::Validator::Schema::OpenAPIv3->new("$SRCDIR/docs/openapi.yaml");
	die "docs/openapi.yaml: @{ $contract->errors }" if @{ $contract->errors };
	for my $p (sort keys %{ $contract->get('/paths') }) {
		(my $re = quotemeta $p) =~ s/\\\{\w+\\\}/[^\/]+/g;
		push @contract_paths, [qr/^$re$/, $p];
	}
	return $contract;
}

sub check_contract {
	my ($method, $path, $r) = @_;
	my $ct = $r->{headers}{'content-type'} // '';
	return unless $ct =~ m{^application/(?:problem\+)?json} && defined $r->{json};
	return if $method eq 'HEAD' || $r->{status} >= 599;
	my $c = contract();
	(my $p = $path) =~ s/\?.*//s;
	my ($tpl) = map { $_->[1] } grep { $p =~ $_->[0] } @contract_paths;
	return unless defined $tpl;
	return unless $c->get(['paths', $tpl, lc $method]);
	my @errors = $c->validate_response([lc $method, $tpl, $r->{status}],
	    { body => sub { { exists => 1, value => $r->{json}, accept => $ct =~ s/;.*//r } } });
	return unless @errors;
	local $Test::Builder::Level = $Test::Builder::Level + 2;
	Test::More::fail("$method $tpl $r->{status}: the answer matches docs/openapi.yaml");
	Test::More::diag("  $_") for @errors;
	Test::More::diag('  body: ' . substr($r->{content}, 0, 600));
}

# raw(bytes): sends a hand-written HTTP/1.1 request over plain HTTP and
# returns (status, headers text, body), for requests HTTP::Tiny won't make.
sub raw {
	my ($self, $req) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{http_port},
	    Timeout => 10) or die "connect: $!";
	print $s $req;
	local $/;
	my $resp = <$s> // '';
	close $s;
	my ($head, $body) = split /\r\n\r\n/, $resp, 2;
	my ($status) = ($head // '') =~ m{^HTTP/1\.[01] (\d{3})};
	return ($status // 0, $head // '', $body // '');
}

# note_secrets(@structures): every password, token, secret or recovery
# code seen in requests and answers is written to the run's secrets file
# ($PARLEY_TEST_LOGDIR/secrets), which dev/test checks against every log of
# the run when the suite is over (t/lib/secrets-in-logs).
# In a request, "code" is a TOTP or recovery code; in an answer it is a
# problem's code, which is no secret.
sub note_secrets_of_request {
	my ($self, $json) = @_;
	local $self->{secret_keys} = qr/password|token|secret|recovery_codes|^code$/i;
	$self->note_secrets($json);
}

sub note_secrets {
	my ($self, @things) = @_;
	my $dir = $ENV{PARLEY_TEST_LOGDIR} or return;
	my $keys = $self->{secret_keys} // qr/password|token|secret|recovery_codes|authorization/i;
	my @found;
	my $walk;
	$walk = sub {
		my ($x, $key) = @_;
		if (ref $x eq 'HASH') { $walk->($x->{$_}, $_) for keys %$x }
		elsif (ref $x eq 'ARRAY') { $walk->($_, $key) for @$x }
		elsif (defined $x && !ref $x && defined $key
		    && $key =~ $keys
		    && length($x) >= 8) {
			push @found, $x =~ s/^Bearer //r;
		}
	};
	$walk->($_, 'authorization') for grep { defined && !ref } @things;
	$walk->($_) for grep { ref } @things;
	return unless @found;
	open my $fh, '>>', "$dir/secrets" or return;
	print $fh "$_\n" for @found;
	close $fh;
}

sub get { my ($s, $p, %o) = @_; $s->request('GET', $p, %o) }
sub post { my ($s, $p, %o) = @_; $s->request('POST', $p, %o) }

# sql(query, @binds) as the superuser on this file's database: rows as
# hash refs. sql_as(role, …) runs as another role.
sub dbh {
	my ($self, $user) = @_;
	require DBI;
	$user //= 'postgres';
	return $self->{dbh}{$user} //= DBI->connect(
	    "dbi:Pg:dbname=$self->{db};host=" . $self->{pg}->host . ';port=' . $self->{pg}->port,
	    $user, '', { RaiseError => 1, PrintError => 0, AutoCommit => 1 });
}

sub sql_as {
	my ($self, $user, $q, @binds) = @_;
	my $sth = $self->dbh($user)->prepare($q);
	$sth->execute(@binds);
	return $sth->{NUM_OF_FIELDS} ? $sth->fetchall_arrayref({}) : [];
}

sub sql { my ($self, @a) = @_; $self->sql_as('postgres', @a) }

# backdate(table, column, interval, where, @binds): moves timestamps into
# the past so tests of expiry never sleep.
sub backdate {
	my ($self, $table, $col, $interval, $where, @binds) = @_;
	die "bad identifier" if "$table$col" =~ /[^a-z_]/;
	$self->sql(qq{UPDATE $table SET $col = $col - ?::interval WHERE $where}, $interval, @binds);
}

sub disconnect_db {
	my ($self) = @_;
	$_->disconnect for values %{ $self->{dbh} // {} };
	$self->{dbh} = {};
}

sub slurp {
	my ($self, $rel) = @_;
	open my $fh, '<', "$self->{dir}/$rel" or return '';
	local $/;
	return <$fh>;
}

# log_events(): parleyd's log lines, decoded.
sub log_events {
	my ($self) = @_;
	my @ev;
	for my $line (split /\n/, $self->slurp('parleyd.log')) {
		my $e = eval { JSON::PP->new->decode($line) };
		push @ev, $e if ref $e eq 'HASH';
	}
	return @ev;
}

# server_ms(@responses): how long parleyd took over each response (its
# request log's dur_us, found by X-Request-Id), in milliseconds: timing
# without the client's and the network's noise.
sub server_ms {
	my ($self, @r) = @_;
	my %want = map { ($_->{headers}{'x-request-id'} // '') => 1 } @r;
	my %dur;
	wait_for(sub {
		%dur = map { $_->{req_id} => $_->{dur_us} / 1000 }
		    grep { ($_->{event} // '') eq 'request' && $want{ $_->{req_id} // '' } } $self->log_events;
		keys %dur == keys %want;
	}, 'the requests in the log');
	return map { $dur{ $_->{headers}{'x-request-id'} } } @r;
}

# paired_ratio(\@a, \@b): the median over pairs of a[i] / b[i], each pair
# measured back to back, so a burst of load on a busy machine moves both.
sub paired_ratio {
	my ($x, $y) = @_;
	my @r = sort { $a <=> $b } map { $x->[$_] / $y->[$_] } 0 .. $#$x;
	return $r[ int(@r / 2) ];
}

# problems(): what the end-of-file check would complain about.
sub problems {
	my ($self) = @_;
	my @p;
	for my $f (glob "$self->{asan_dir}/*") {
		push @p, "sanitizer report $f:\n" . do { local (@ARGV, $/) = $f; <> };
	}
	my $plog = $self->slurp('parleyd.log');
	push @p, "parleyd log shows a sanitizer report" if $plog =~ /(AddressSanitizer|runtime error:|LeakSanitizer)/;
	# Every visitor message ends in a reply or a handoff: the sweep for
	# unanswered ones finds none, unless a test makes one on purpose.
	push @p, "the reply sweep found unanswered visitor messages"
	    if !$self->{allow_sweep} && grep { $_->{event} eq 'reply_sweep' && $_->{found} } $self->log_events;
	for my $line (split /\n/, $self->slurp('nginx/nginx-error.log')) {
		next unless $line =~ /\[(?:alert|emerg|crit)\]/;
		next if grep { $line =~ $_ } @{ $self->{allowed_alerts} // [] };
		push @p, "nginx error log: $line";
	}
	return @p;
}

# allow_alert(qr/…/): an nginx [crit]/[alert] line the test causes on purpose.
sub allow_alert {
	my ($self, $re) = @_;
	push @{ $self->{allowed_alerts} }, $re;
}

sub cleanup {
	my ($self, $exit) = @_;
	return if $self->{cleaned}++;
	$self->stop_nginx;
	$self->stop_parleyd;
	# Every other process the test started (fakes, Redis, Prometheus…).
	for my $k (sort keys %{ $self->{pids} }) {
		my $pid = delete $self->{pids}{$k} or next;
		kill 'TERM', $pid;
		waitpid($pid, 0);
	}
	$self->disconnect_db;
	my @p = $self->problems;
	# A failure after the plan still fails the file, which is the point.
	Test::More::ok(0, 'no sanitizer reports or nginx alerts') if @p;
	Test::More::diag($_) for @p;
	my $passing = Test::More->builder->is_passing && !@p && !$exit;
	if ($self->{host_of}) {
		# Another host of the same deployment: the database is not ours.
	} elsif ($self->{own_cluster}) {
		eval { $self->{pg}->stop('immediate') };
	} elsif ($self->{db}) {
		eval { $self->{pg}->psql('postgres', qq{DROP DATABASE IF EXISTS "$self->{db}" WITH (FORCE)}) };
	}
	# Keep the logs for the run's secrets check before removing the dir.
	if (my $ld = $ENV{PARLEY_TEST_LOGDIR}) {
		(my $name = $0) =~ s{.*/}{};
		my $n = 0;
		for my $f (qw(parleyd.log nginx/access.log nginx/nginx-error.log smtp.log captcha.log)) {
			next unless -f "$self->{dir}/$f";
			File::Copy::copy("$self->{dir}/$f", sprintf('%s/%s-%d-%d.log', $ld, $name, $$, $n++));
		}
		$self->note_secrets(map { { mail_token => $_->{body} =~ /#token=([A-Za-z0-9_-]{43})/ ? $1 : undef } } $self->mails);
	}
	if ($passing) {
		remove_tree($self->{dir});
	} else {
		Test::More::diag("kept $self->{dir} for inspection");
	}
}

# Runs before Test::Builder's own END (loaded earlier, so ending later).
END {
	my $status = $?;
	for my $t (reverse @INSTANCES) {
		eval { $t->cleanup($status) };
		Test::More::diag("cleanup: $@") if $@;
	}
	$? = $status;
}

# Stop cleanly on a signal too.
$SIG{INT} = $SIG{TERM} = sub { die "killed by signal\n" };

1;
