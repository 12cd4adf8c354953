# A handshake deadline nobody can stretch: under each MPM, with
# TLSHandshakeTimeout 2, clients that send nothing, half a record header,
# half a ClientHello, a whole ClientHello and then nothing, or a ClientHello
# one byte at a time, are all closed at the deadline with a log line that
# says so. Asking an open connection for a client certificate (TLS 1.3
# post-handshake authentication, TLS 1.2 renegotiation) has the same bound.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestRaw;
use TLSTestClient;
use Test::More;
use IO::Select;
use IO::Handle;
use Time::HiRes qw(time);

my $DEADLINE = 2;

my $hello = client_hello(sni => 'localhost', tls13 => 1);
my @drip = map { [0.4 * $_, substr($hello, $_, 1)] } 0 .. length($hello) - 1;
my %shapes = (
    'silent client'                  => [],
    'half a record header'           => [[0, "\x16\x03"]],
    'half a ClientHello'             => [[0, substr($hello, 0, length($hello) / 2)]],
    'whole ClientHello, then silence' => [[0, $hello]],
    'ClientHello one byte every 0.4 s' => \@drip,
);

for my $mpm (qw(event worker prefork)) {
    # prefork: a process for each client from the start, so that none waits
    # in the listen queue (where the deadline has not started yet)
    my $h = TLSTest::Httpd->new(mpm => $mpm,
        global => $mpm eq 'prefork' ? "StartServers 7\nMinSpareServers 6\nMaxSpareServers 8\n" : '',
        conf => tls_vhost(extra => "TLSHandshakeTimeout $DEADLINE"));
    $h->start;
    my $mark = $h->log_mark;
    # every shape at once: each must end at its own deadline
    my @c = raw_clients($h->port, map { { name => $_, chunks => $shapes{$_} } } sort keys %shapes);
    for my $c (@c) {
        my $name = "$mpm, $c->{name}";
        ok(defined $c->{closed}, "$name: the server closed the connection");
        cmp_ok($c->{closed} // 99, '>=', $DEADLINE - 0.5, "$name: not before the deadline");
        cmp_ok($c->{closed} // 99, '<', $DEADLINE + 3,
               sprintf("$name: closed after %.1f s (TLSHandshakeTimeout $DEADLINE)", $c->{closed} // -1));
        my $line = $h->wait_log(qr/127\.0\.0\.1:$c->{cport}\b.*timed out/, since => $mark);
        like($line, qr/\[tls:info\].*TLS handshake timed out after \d+ seconds \(TLSHandshakeTimeout\)/,
             "$name: one log line says the handshake timed out")
            or diag($h->log_since($mark));
        my @lines = grep { /\[tls:/ && /127\.0\.0\.1:$c->{cport}\b/ } split /\n/, $h->log_since($mark);
        is(scalar @lines, 1, "$name: exactly one tls log line") or diag(join("\n", @lines));
    }
    my $r = tls_get(client => 'curl', port => $h->port);
    is($r->{body}, TLSTest::Httpd->index_content, "$mpm: a normal client is served after them");
    $h->stop;
}

# Asking for a client certificate after the handshake: a client that never
# answers is cut off at the deadline too (the request then gets nothing).
my $h = TLSTest::Httpd->new(mpm => 'event', conf => tls_vhost(extra => <<"EOF"));
TLSHandshakeTimeout $DEADLINE
TLSClientCA \@PKI\@/ca.crt
TLSClientVerifyDepth 2
<Location /secure>
    TLSClientCertificate require
</Location>
EOF
$h->start;

# stall(VERSION, %opts): sends GET /secure/ and then reads only the raw
# socket, never the TLS layer, so that the server's certificate request
# goes unanswered; returns seconds until the server closed (undef: never)
sub stall {
    my ($version, %o) = @_;
    my $s = client_connect(port => $h->port, version => $version, %o)
        or return (undef, "connect: $IO::Socket::SSL::SSL_ERROR");
    print $s http_request(path => '/secure/');
    my $t0 = time;
    my $raw = IO::Handle->new_from_fd(fileno($s), 'r');
    my $sel = IO::Select->new($raw);
    while (time - $t0 < 15) {
        next unless $sel->can_read(15 - (time - $t0));
        my $n = sysread($raw, my $buf, 65536);
        return (time - $t0, $s->sockport) unless $n;
    }
    return (undef, $s->sockport);
}

for my $case (['1.3', 'post-handshake authentication', pha => 1],
              ['1.2', 'renegotiation']) {
    my ($version, $what, @opts) = @$case;
    my $mark = $h->log_mark;
    my ($closed, $cport) = stall($version, @opts);
    ok(defined $closed, "TLS $version $what unanswered: connection closed");
    cmp_ok($closed // 99, '>=', $DEADLINE - 0.5, "TLS $version $what: not before the deadline");
    cmp_ok($closed // 99, '<', $DEADLINE + 3,
           sprintf("TLS $version $what: closed after %.1f s", $closed // -1));
    like($h->wait_log(qr/127\.0\.0\.1:$cport\b.*timed out/, since => $mark),
         qr/TLS \Q$what\E timed out/, "TLS $version $what: the log says it timed out")
        or diag($h->log_since($mark));
}

finish();
