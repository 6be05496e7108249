# One address cannot lock out another (docs/operations.md, "Connections"):
# 127.0.0.2 holding more half-sent requests than nginx's old connection
# budget (2 x 1024) does not keep 127.0.0.3 from being served; a request
# header that does not arrive in time ends the connection; and one address
# may have at most conn_per_addr requests in progress (429 past it), which
# another address does not share.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use IO::Select;
use IPC::Open2;
use Time::HiRes qw(time);
use ParleyTest;

my $t = ParleyTest->new(conn_per_addr => 5, header_timeout => '2s');
my $port = $t->http_port;
sub get_from {
	my ($from, $path) = @_;
	my $s = IO::Socket::INET->new(LocalAddr => $from, PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 10) or return (0, '');
	print $s "GET $path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	local $/;
	my $resp = <$s> // '';
	my ($st) = $resp =~ m{^HTTP/1\.1 (\d{3})};
	return ($st // 0, $resp);
}
sub hold {
	my ($from, $n, $mode) = @_;
	my $pid = open2(my $out, my $in, '/usr/bin/python3', ParleyTest->srcdir . '/t/tools/holdconns.py', $from, $port, $n, $mode);
	my $line = <$out> // '';
	my ($got) = $line =~ /^ready (\d+)/;
	return { pid => $pid, in => $in, out => $out, n => $got // 0 };
}
sub release { my ($h) = @_; close $h->{in}; waitpid $h->{pid}, 0 }

# 1. 2,200 half-sent headers from one address.
my $h = hold('127.0.0.2', 2200, 'header');
is $h->{n}, 2200, '127.0.0.2 holds 2,200 half-sent request headers';
my ($st) = get_from('127.0.0.3', '/healthz');
is $st, 200, '127.0.0.3 is still served';
($st) = get_from('127.0.0.2', '/healthz');
is $st, 200, '... and so is a whole request from 127.0.0.2';
release($h);

# 2. A header that does not arrive in time ends the connection.
my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.4', PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 10) or die $!;
print $s "GET /healthz HTTP/1.1\r\nHost: x\r\n";
my $t0 = time;
my $sel = IO::Select->new($s);
my $eof = 0;
while (time - $t0 < 15 && $sel->can_read(15 - (time - $t0))) {
	my $n = sysread($s, my $buf, 4096);
	if (!$n) { $eof = 1; last }
}
ok $eof, sprintf('a half-sent header is cut off by client_header_timeout (2 s here; after %.1f s)', time - $t0);

# 3. At most conn_per_addr requests at once per address (5 here): requests
# whose body never comes are in progress until client_body_timeout.
$h = hold('127.0.0.5', 5, 'body');
is $h->{n}, 5, '127.0.0.5 has five requests in progress';
my $resp;
# The five count once nginx has read their headers: wait for that.
ParleyTest::wait_for(sub { ($st, $resp) = get_from('127.0.0.5', '/healthz'); $st == 429 }, 'the limit to apply', 10);
is $st, 429, 'a sixth from the same address: 429';
like $resp, qr{application/problem\+json}, '... problem+json';
($st) = get_from('127.0.0.6', '/healthz');
is $st, 200, 'another address is not limited by it';
release($h);

done_testing;
