# 421 Misdirected Request: a request whose Host names another vhost than the
# one SNI chose is refused when the two differ in TLS settings (certificate,
# priorities, protocol versions), and served by the Host's vhost when they do
# not. Without SNI, a Host naming a vhost whose TLS settings differ from the
# default vhost's gets 421 and an error-log line pointing at front proxies
# that omit SNI.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use Test::More;

my $h = TLSTest::Httpd->new(conf => join('',
    tls_vhost(name => 'localhost', vh => 'default'),
    # same certificate file, same (default) priorities as localhost
    tls_vhost(name => 'same.localhost', vh => 'same'),
    tls_vhost(name => 'other.localhost', certs => ['other'], vh => 'other'),
    # same certificate, other priorities / protocol versions
    tls_vhost(name => 'prio.localhost', vh => 'prio',
              extra => 'TLSPriorities NORMAL:-CIPHER-ALL:+CHACHA20-POLY1305:+AES-256-GCM'),
    tls_vhost(name => 'proto.localhost', vh => 'proto', extra => 'TLSProtocol TLSv1.2'),
));
$h->start;
my $port = $h->port;

# req(CLIENT, SNI, HOST): the response, with the error log lines it caused
sub req {
    my ($client, $sni, $host, %o) = @_;
    my $mark = $h->log_mark;
    my $r = tls_get(client => $client, port => $port, sni => $sni, host => $host,
                    verify_name => $o{verify} // 'localhost', %o);
    $r->{mark} = $mark;
    return $r;
}

# misdirected(CLIENT, SNI, HOST): 421, and the [tls:info] line names both
sub misdirected {
    my ($client, $sni, $host, $version) = @_;
    subtest "$client" . ($version ? " TLS $version" : '') . ", SNI '$sni', Host '$host': 421" => sub {
        my $r = req($client, $sni, $host, version => $version);
        ok($r->{ok}, 'handshake') or return diag($r->{out});
        is($r->{status}, 421, 'status 421 Misdirected Request') or diag($r->{out});
        like($r->{body} // '', qr/Misdirected Request/i, 'the 421 error page');
        (my $hostname = $host) =~ s/:\d+$//;
        my $line = $h->wait_log(qr/421: request for host/, since => $r->{mark});
        like($line, qr/\[tls:info\].*421: request for host '\Q$hostname\E(?::\d+)?' on a connection negotiated for SNI '\Q$sni\E', whose TLS settings differ/i,
             'logged at [tls:info] with the host and the SNI');
    };
}

# served(CLIENT, SNI, HOST, VHOST)
sub served {
    my ($client, $sni, $host, $vh) = @_;
    subtest "$client, " . ($sni eq '' ? 'no SNI' : "SNI '$sni'") . ", Host '$host': served by $vh" => sub {
        my $r = req($client, $sni, $host);
        is($r->{status}, 200, 'status 200') or diag($r->{out});
        is($r->{headers}{'x-vh'}, $vh, "answered by vhost $vh");
        is($r->{body}, TLSTest::Httpd->index_content, 'the page');
        # the request is complete, so any 421 line would be written by now
        unlike($h->log_since($r->{mark}), qr/421/, 'no 421 line in the error log');
    };
}

# certificates differ
for my $client (qw(curl openssl gnutls perl)) {
    misdirected($client, 'other.localhost', 'localhost');
    misdirected($client, 'localhost', 'other.localhost');
}
misdirected('openssl', 'localhost', 'other.localhost', '1.2');
misdirected('curl', 'localhost', "OTHER.localhost:$port");
misdirected('curl', 'same.localhost', 'other.localhost');
# priorities differ, protocol versions differ
misdirected('curl', 'localhost', 'prio.localhost');
misdirected('openssl', 'prio.localhost', 'localhost');
misdirected('curl', 'localhost', 'proto.localhost');
misdirected('openssl', 'proto.localhost', 'localhost', '1.2');

# same certificate file, same priorities: the Host's vhost serves
for my $client (qw(curl openssl gnutls perl)) {
    served($client, 'localhost', 'same.localhost', 'same');
    served($client, 'same.localhost', 'localhost', 'default');
    served($client, 'same.localhost', 'same.localhost', 'same');
    served($client, 'other.localhost', 'other.localhost', 'other');
}
served('curl', 'localhost', "SAME.localhost:$port", 'same');
# the names match case-insensitively: no 421
served('openssl', 'OTHER.LOCALHOST', 'other.localhost', 'other');
served('curl', 'other.localhost', "Other.LocalHost:$port", 'other');

# several requests on one connection negotiated for localhost: every one is
# checked, not just the first (httpd ends a connection after a 421 of
# post_read_request, so the misdirected request comes last)
for my $last ('other.localhost', 'prio.localhost') {
    my $s = tls_connect(port => $port);
    ok($s, 'connection with SNI localhost') or diag($IO::Socket::SSL::SSL_ERROR);
    my @seq = (['localhost', 200, 'default'], ['same.localhost', 200, 'same'],
               ['localhost', 200, 'default'], [$last, 421, undef]);
    for my $i (0 .. $#seq) {
        my ($host, $status, $vh) = @{$seq[$i]};
        print $s http_request(host => $host);
        my $r = eval { read_response($s) };
        is($r && $r->{status}, $status, "keep-alive request " . ($i + 1) . ", Host $host: $status")
            or diag($@);
        is($r->{headers}{'x-vh'}, $vh, "keep-alive request " . ($i + 1) . ": vhost $vh") if $vh && $r;
    }
    close($s);
}

# without SNI: a Host whose vhost has other TLS settings than the default -> 421
for my $c (['curl', 'other.localhost'], ['openssl', 'other.localhost'], ['gnutls', 'other.localhost'],
           ['perl', 'other.localhost'], ['curl', 'prio.localhost'], ['openssl', 'proto.localhost']) {
    my ($client, $host) = @$c;
    subtest "$client, no SNI, Host '$host': 421 with a hint at front proxies" => sub {
        my $r = req($client, '', $host);
        ok($r->{ok}, 'handshake') or return diag($r->{out});
        is($r->{status}, 421, 'status 421') or diag($r->{out});
        my $line = $h->wait_log(qr/421/, since => $r->{mark});
        like($line, qr/\[tls:error\]/, 'logged at [tls:error]');
        like($line, qr/the client sent no SNI/, 'says that the client sent no SNI');
        like($line, qr/front proxy/, 'names front proxies as the usual cause');
        like($line, qr/\Q$host\E/, 'names the requested host');
    };
}
# ... and a Host of the default vhost, or of one with its TLS settings, is served
served('curl', '', 'localhost', 'default');
served('openssl', '', 'localhost', 'default');
served('gnutls', '', 'localhost', 'default');
served('curl', '', "localhost:$port", 'default');
served('curl', '', 'same.localhost', 'same');
served('openssl', '', 'same.localhost', 'same');
# curl's own Host for https://127.0.0.1:PORT/ names no vhost: the default serves
{
    my $mark = $h->log_mark;
    my $r = tls_get(client => 'curl', port => $port, sni => '');
    is($r->{status}, 200, 'curl https://127.0.0.1:PORT/ (no SNI, Host 127.0.0.1): 200');
    is($r->{headers}{'x-vh'}, 'default', 'curl https://127.0.0.1:PORT/: default vhost');
    unlike($h->log_since($mark), qr/421/, 'curl https://127.0.0.1:PORT/: no 421 line');
}

finish();
