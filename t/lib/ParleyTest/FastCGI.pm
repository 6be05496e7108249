package ParleyTest::FastCGI;
# A minimal FastCGI client (responder role), to talk to parleyd's socket
# directly: lets a test hold a request half-sent while it signals parleyd.
use strict;
use warnings;
use IO::Socket::UNIX;

use constant { FCGI_BEGIN => 1, FCGI_END => 3, FCGI_PARAMS => 4, FCGI_STDIN => 5, FCGI_STDOUT => 6 };

sub new {
	my ($class, $path) = @_;
	my $s = IO::Socket::UNIX->new(Peer => $path, Type => SOCK_STREAM)
	    or die "connect $path: $!";
	return bless { s => $s }, $class;
}

sub _record {
	my ($self, $type, $content) = @_;
	my $len = length $content;
	my $pad = (8 - $len % 8) % 8;
	$self->{s}->syswrite(pack('CCnnCC', 1, $type, 1, $len, $pad, 0) . $content . ("\0" x $pad));
}

sub _nv_len {
	my $l = shift;
	return $l < 128 ? pack('C', $l) : pack('N', $l | 0x80000000);
}

# begin(%params): sends BEGIN_REQUEST and all parameters.
sub begin {
	my ($self, %p) = @_;
	$self->_record(FCGI_BEGIN, pack('nCx5', 1, 0));
	my $nv = join '', map { _nv_len(length $_) . _nv_len(length $p{$_}) . $_ . $p{$_} } sort keys %p;
	$self->_record(FCGI_PARAMS, $nv) if length $nv;
	$self->_record(FCGI_PARAMS, '');
}

# stdin(bytes): sends body bytes; stdin('') ends the body.
sub stdin { my ($self, $b) = @_; $self->_record(FCGI_STDIN, $b) }

# response(): reads until END_REQUEST; returns the STDOUT bytes.
sub response {
	my ($self) = @_;
	my $out = '';
	while (1) {
		my $hdr = _read($self->{s}, 8) // return $out;
		my (undef, $type, undef, $len, $pad) = unpack('CCnnCC', $hdr);
		my $body = _read($self->{s}, $len + $pad) // return $out;
		$out .= substr($body, 0, $len) if $type == FCGI_STDOUT;
		return $out if $type == FCGI_END;
	}
}

sub _read {
	my ($s, $n) = @_;
	my $buf = '';
	while (length($buf) < $n) {
		my $r = $s->sysread($buf, $n - length $buf, length $buf);
		return undef unless $r;
	}
	return $buf;
}

1;
