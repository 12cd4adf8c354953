# Connection errors: plain HTTP to the TLS port gets a 400 page that says
# so; garbage and malformed ClientHellos close the connection with one log
# line; TLSHandshakeTimeout closes stalled handshakes; client-initiated
# renegotiation is refused. The server keeps serving after each.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(time);

my $h = TLSTest::Httpd->new(listen => 2, conf =>
      tls_vhost()
    . tls_vhost(port => '@PORT2@', extra => 'TLSHandshakeTimeout 2'));
$h->start;

# raw_exchange(PORT, BYTES): connects, sends BYTES, reads until the server
# closes (at most 20 s). Returns { data, elapsed, cport (client port), eof }
sub raw_exchange {
    my ($port, $bytes) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 10)
        or die "connect: $!";
    my $t0 = time;
    syswrite($s, $bytes) if length $bytes;
    my ($data, $eof) = ('', 0);
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm(20);
        while (1) {
            my $n = sysread($s, $data, 4096, length $data);
            if (!$n) { $eof = 1; last }     # EOF or reset
        }
        alarm(0);
    };
    return { data => $data, elapsed => time - $t0, cport => $s->sockport, eof => $eof };
}

# still_serves(NAME): a normal client still gets the page
sub still_serves {
    my ($name) = @_;
    my $r = tls_get(client => 'curl', port => $h->port);
    is($r->{body}, TLSTest::Httpd->index_content, "$name: server still serves");
}

# log_lines(MARK, CPORT): the tls log lines about the client at port CPORT
sub log_lines {
    my ($mark, $cport, $re) = @_;
    my $lines = $h->wait_log(qr/\[tls:.*127\.0\.0\.1:$cport\b.*$re/i, since => $mark);
    return grep { /\[tls:/ && /127\.0\.0\.1:$cport\b/ } split /\n/, $h->log_since($mark);
}

# plain HTTP to a TLS port
my $r = raw_exchange($h->port, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
like($r->{data}, qr{^HTTP/1\.[01] 400 }, 'plain HTTP: 400 response') or diag($r->{data});
like($r->{data}, qr/plain HTTP/i, 'plain HTTP: the page says plain HTTP was sent');
ok($r->{eof}, 'plain HTTP: connection closed');
still_serves('after plain HTTP');

# garbage and malformed handshakes
my %bad = (
    'garbage bytes'          => "\x00\x01\x02\x03\x04\x05garbage\xff\xfe\r\n\r\n",
    'malformed ClientHello'  => "\x16\x03\x01\x00\x08" . "\x01\x00\x00\x04\x03\x03\x00\x00",
    'record of wrong type'   => "\x17\x03\x03\x00\x05hello",
);
for my $name (sort keys %bad) {
    my $mark = $h->log_mark;
    $r = raw_exchange($h->port, $bad{$name});
    ok($r->{eof}, "$name: connection closed");
    cmp_ok($r->{elapsed}, '<', 5, "$name: closed at once, not by a timeout");
    unlike($r->{data}, qr/HTTP\//, "$name: no HTTP response");
    my @lines = log_lines($mark, $r->{cport}, 'handshake');
    is(scalar @lines, 1, "$name: one tls log line about the client") or diag($h->log_since($mark));
    like($lines[0] // '', qr/\[tls:info\].*handshake/i, "$name: logged at info, says handshake");
    still_serves("after $name");
}

# TLSHandshakeTimeout 2: a client that sends nothing, or half a ClientHello
my %stall = (
    'silent client'       => '',
    'half a ClientHello'  => "\x16\x03\x01\x01\x2c" . "\x01\x00\x01\x28\x03\x03" . ("\x42" x 40),
);
for my $name (sort keys %stall) {
    my $mark = $h->log_mark;
    $r = raw_exchange($h->port(1), $stall{$name});
    ok($r->{eof}, "$name: connection closed by the server");
    cmp_ok($r->{elapsed}, '>=', 1.5, "$name: not before the 2 s handshake timeout");
    cmp_ok($r->{elapsed}, '<', 10, sprintf("$name: closed after %.1f s (TLSHandshakeTimeout 2)", $r->{elapsed}));
    my @lines = log_lines($mark, $r->{cport}, 'timed out');
    ok((grep { /timed out/i } @lines), "$name: log says timed out") or diag($h->log_since($mark));
}

# client-initiated renegotiation (TLS 1.2) is refused
SKIP: {
    skip 'gnutls-cli not installed', 4 unless have_tool('gnutls-cli');
    my $mark = $h->log_mark;
    my $r = tls_get(client => 'gnutls', port => $h->port, version => '1.2', args => ['--rehandshake']);
    ok($r->{ok}, 'renegotiation: the first handshake completes') or diag($r->{out});
    like($r->{out}, qr/ReHandshake has failed/i, 'gnutls-cli --rehandshake: refused')
        or diag($r->{out});
    my $lines = $h->wait_log(qr/\[tls:.*renegotiat/i, since => $mark);
    like($lines, qr/renegotiat/i, 'renegotiation: refusal logged') or diag($h->log_since($mark));
    still_serves('after a renegotiation attempt');
}

finish();
