# Protocol conformance with unusual and broken clients: TLS 1.3 KeyUpdate
# and empty records before, between and inside requests (under a threaded
# and a process MPM); a declined client renegotiation that leaves the
# connection serving; ClientHellos without extensions, with odd versions,
# split over records, truncated or with corrupted lengths, each answered
# with the alert the RFCs give it; host names over 255 bytes; no ALPN
# overlap; bytes that cannot start a TLS record.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestRaw;
use Test::More;

my %A = (unexpected_message => 10, record_overflow => 22, handshake_failure => 40,
         illegal_parameter => 47, decode_error => 50, protocol_version => 70,
         unsupported_extension => 110, unrecognized_name => 112,
         no_application_protocol => 120, no_renegotiation => 100);

my $GET = 'GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n';
my ($HEAD, $TAIL) = ('GET /index.html HTTP/1.1\r\n', 'Host: localhost\r\n\r\n');

for my $mpm (qw(event prefork)) {
    my $h = TLSTest::Httpd->new(mpm => $mpm, conf => tls_vhost());
    $h->start;
    my $port = $h->port;
    my %cases = (
        'KeyUpdate before the first request'     => [['keyupdate', "send:$GET", 'read'], 1],
        'KeyUpdate between requests'             => [["send:$GET", 'read', 'keyupdate', "send:$GET", 'read'], 2],
        'KeyUpdate asking for ours, between requests' =>
            [["send:$GET", 'read', 'keyupdate-req', "send:$GET", 'read'], 2],
        'KeyUpdate asking for ours, first'       => [['keyupdate-req', "send:$GET", 'read'], 1],
        'KeyUpdate inside a request'             => [["send:$HEAD", 'keyupdate', "send:$TAIL", 'read'], 1],
        'KeyUpdates between every byte'          => [[(map { ("bytes:$_", 'keyupdate') } 'GET / HTTP/1.1\r\n'),
                                                      "send:$TAIL", 'read'], 1],
        'empty record before a request'          => [['empty', "send:$GET", 'read'], 1],
        'empty records inside a request'         => [["send:$HEAD", 'empty', 'empty', "send:$TAIL", 'read'], 1],
        'request one byte per record'            => [["bytes:$GET", 'read', "send:$GET", 'read'], 2],
    );
    for my $name (sort keys %cases) {
        my ($steps, $n) = @{$cases{$name}};
        my $mark = $h->log_mark;
        my $r = poke($port, $steps, priority => 'NORMAL:-VERS-ALL:+VERS-TLS1.3');
        is($r->{version}, 'TLS1.3', "$mpm, $name: TLS 1.3");
        is("@{$r->{statuses}}", join(' ', ('200') x $n), "$mpm, $name: every request answered")
            or diag($r->{out} . $h->log_since($mark));
        if ($name =~ /asking for ours/) {
            cmp_ok($r->{key_updates} // 0, '>=', 1, "$mpm, $name: the server answered with a KeyUpdate of its own");
        }
    }
    # (no TLS 1.2 client here sends empty records: GnuTLS and OpenSSL make
    # none, and a raw client would need the session keys)

    # the client asks for renegotiation: declined with a warning, and the
    # connection serves on
    my $mark = $h->log_mark;
    my $r = poke($port, ["send:$GET", 'read', 'renegotiate', "send:$GET", 'read'],
              priority => 'NORMAL:-VERS-ALL:+VERS-TLS1.2');
    like($r->{alert} // '', qr/renegotiation/i, "$mpm, renegotiation: declined with no_renegotiation");
    is("@{$r->{statuses}}", '200 200', "$mpm, renegotiation: the connection serves on") or diag($r->{out});
    like($h->wait_log(qr/renegotiation refused/, since => $mark), qr/\[tls:info\].*no_renegotiation warning/,
         "$mpm, renegotiation: one log line");
    $h->stop;
}

# ClientHellos, raw
my $h = TLSTest::Httpd->new(listen => 4, conf => tls_vhost()
    . tls_vhost(port => '@PORT2@', extra => "TLSStrictSNI on")
    . tls_vhost(port => '@PORT3@', extra => "Protocols http/1.1\nTLSHandshakeTimeout 20")
    . tls_vhost(port => '@PORT4@', certs => ['rsa'], extra => "TLSPriorities NORMAL"));
$h->start;

# answer(BYTES, port => P): what the server sends back to a raw hello:
# { alert => description or undef, version => the ServerHello's, closed }
sub answer {
    my ($bytes, %o) = @_;
    # a ServerHello is all we wait for: the server then waits for us
    my $r = raw_exchange($o{port} // $h->port, $bytes, close => $o{close},
                         until => sub { defined server_hello_version($_[0]) });
    $r->{alert} = first_alert($r->{data});
    $r->{version} = server_hello_version($r->{data});
    $r->{cipher} = server_hello_cipher($r->{data});
    return $r;
}

# the record framing around a message body
sub hello_record { client_hello(%{$_[0] || {}}) }
sub body_record { record(22, handshake_msg(1, $_[0])) }

my $ok13 = answer(hello_record({ sni => 'localhost', tls13 => 1 }));
is(sprintf('%04x', $ok13->{version} // 0), '0304', 'a well-formed TLS 1.3 hello gets a TLS 1.3 ServerHello');

# without extensions there is no supported_groups, hence no ECDHE: the
# secure default has nothing in common with such a client, NORMAL does
my @rsa_kx = (0x009c, 0x002f);
my $r = answer(hello_record({ extensions => 0, ciphers => [@rsa_kx] }), port => $h->port(3));
is(sprintf('%04x', $r->{version} // 0), '0303', 'a hello without extensions gets a TLS 1.2 ServerHello (TLSPriorities NORMAL)');
ok(!$r->{alert}, 'and no alert');
$r = answer(hello_record({ extensions => 0, ciphers => [0xc02b, 0xc02f, @rsa_kx] }));
is($r->{alert}{description} // 'none', $A{handshake_failure},
   'a hello without extensions, secure default: handshake_failure (nothing in common), not a parse error');
$r = answer(hello_record({ extensions => 0 }), port => $h->port(1));
is($r->{alert}{description}, $A{unrecognized_name}, 'TLSStrictSNI: a hello without extensions (no SNI) gets unrecognized_name');

for my $v ([0x0304, 'TLS 1.3 as legacy version'], [0x0305, 'a future version'], [0x03ff, 'version 3.255'],
           [0x0400, 'version 4.0'], [0x0301, 'TLS 1.0'], [0x0300, 'SSL 3.0'], [0x0200, 'SSL 2.0']) {
    my ($version, $what) = @$v;
    $r = answer(hello_record({ sni => 'localhost', version => $version }));
    ok((($r->{version} // 0) == 0x0303 && !$r->{alert})
       || ($r->{alert} && $r->{alert}{description} == $A{protocol_version}),
       sprintf("legacy_version %04x (%s): a TLS 1.2 ServerHello or protocol_version", $version, $what))
        or diag(sprintf('version %s, alert %s', $r->{version} // '-', $r->{alert} ? $r->{alert}{description} : '-'));
}

# a hello split over three records is one hello
{
    my $msg = handshake_msg(1, client_hello_body(sni => 'localhost', tls13 => 1));
    my $third = int(length($msg) / 3);
    $r = answer(record(22, substr($msg, 0, $third)) . record(22, substr($msg, $third, $third))
              . record(22, substr($msg, 2 * $third)));
    is(sprintf('%04x', $r->{version} // 0), '0304', 'a hello split over three records gets its ServerHello');
}

# corrupted hellos: the body is built, then one field is broken
my $sni300 = 'a' x 300;
my @bad = (
    ['session id of 33 bytes', sub { my $b = client_hello_body(sni => 'localhost');
        substr($b, 34, 1) = "\x21" . ("\0" x 33); $b }, 'decode_error'],
    ['odd cipher suites length', sub { my $b = client_hello_body(sni => 'localhost');
        my $n = unpack('n', substr($b, 35, 2)); substr($b, 35, 2) = pack('n', $n - 1); $b }, 'decode_error'],
    ['no compression method', sub { my $b = client_hello_body(extensions => 0);
        substr($b, -2, 2) = "\x00"; $b }, 'decode_error'],
    ['extensions longer than the hello', sub { my $b = client_hello_body(sni => 'localhost');
        my $p = _ext_offset($b); substr($b, $p, 2) = pack('n', unpack('n', substr($b, $p, 2)) + 10); $b }, 'decode_error'],
    ['trailing bytes after the extensions', sub { client_hello_body(sni => 'localhost') . "\0\0\0" }, 'decode_error'],
    ['a hello of 20 bytes', sub { substr(client_hello_body(), 0, 20) }, 'decode_error'],
    ['SNI list length wrong', sub { client_hello_body(extra => [ext(0, pack('n', 20) . "\0" . pack('n', 9) . 'localhost')]) }, 'decode_error'],
    ['SNI empty name', sub { client_hello_body(extra => [ext(0, pack('n', 3) . "\0\0\0")]) }, 'decode_error'],
    ['SNI of 300 bytes', sub { client_hello_body(sni => $sni300) }, 'illegal_parameter'],
    ['SNI with a slash', sub { client_hello_body(sni => 'local/host') }, 'illegal_parameter'],
    ['two SNI extensions', sub { client_hello_body(sni => 'localhost', extra => [ext(0, pack('n', 12) . "\0" . pack('n', 9) . 'localhost')]) },
     'unsupported_extension'],
    ['ALPN with an empty name', sub { client_hello_body(sni => 'localhost', extra => [ext(16, pack('n', 3) . "\x02h2\x00")]) }, 'decode_error'],
    ['ALPN list empty', sub { client_hello_body(sni => 'localhost', extra => [ext(16, pack('n', 0))]) }, 'decode_error'],
);
for my $case (@bad) {
    my ($name, $make, $want) = @$case;
    my $mark = $h->log_mark;
    $r = answer(body_record($make->()));
    is($r->{alert}{description} // 'none', $A{$want}, "$name: alert $want");
    ok(defined $r->{closed}, "$name: connection closed");
    my @lines = grep { /127\.0\.0\.1:$r->{cport}\b/ } split /\n/, $h->log_since($mark);
    if (!@lines) {
        $h->wait_log(qr/127\.0\.0\.1:$r->{cport}\b/, since => $mark);
        @lines = grep { /127\.0\.0\.1:$r->{cport}\b/ } split /\n/, $h->log_since($mark);
    }
    is(scalar @lines, 1, "$name: one log line") or diag(join("\n", @lines));
}

# the extensions' length field of a body made by client_hello_body
sub _ext_offset {
    my ($b) = @_;
    my $p = 34 + 1 + ord(substr($b, 34, 1));
    $p += 2 + unpack('n', substr($b, $p, 2));
    $p += 1 + ord(substr($b, $p, 1));
    return $p;
}

# a hello that claims more than the client sends, then the client leaves
{
    my $msg = handshake_msg(1, client_hello_body(sni => 'localhost'));
    my $mark = $h->log_mark;
    $r = answer(record(22, substr($msg, 0, 40)), close => 1);
    ok(defined $r->{closed}, 'truncated hello, client gone: connection closed');
    like($h->wait_log(qr/127\.0\.0\.1:$r->{cport}\b/, since => $mark), qr/closed the connection during the handshake/,
         'truncated hello: the log says the client left');
}

# no protocol in common: fatal no_application_protocol (RFC 7301)
$r = answer(hello_record({ sni => 'localhost', tls13 => 1, alpn => ['h3', 'spdy/3'] }), port => $h->port(2));
is($r->{alert}{description} // 'none', $A{no_application_protocol}, 'ALPN without overlap: no_application_protocol');
$r = answer(hello_record({ sni => 'localhost', tls13 => 1, alpn => ['h2', 'http/1.1'] }), port => $h->port(2));
is(sprintf('%04x', $r->{version} // 0), '0304', 'ALPN with http/1.1 among the offer: handshake goes on');
my $o = tls_get(client => 'openssl', port => $h->port(2), args => ['-alpn', 'h3']);
like($o->{out}, qr/no application protocol/i, 'openssl s_client -alpn h3: no application protocol alert');
# a name with a NUL byte fits no protocol, whatever it starts with
# ("http/1.1\0x" is not http/1.1); next to a name that fits, it is left out
$r = answer(hello_record({ sni => 'localhost', tls13 => 1, alpn => ["http/1.1\0x"] }), port => $h->port(2));
is($r->{alert}{description} // 'none', $A{no_application_protocol}, 'ALPN http/1.1\0x only: no_application_protocol');
$r = answer(hello_record({ sni => 'localhost', tls13 => 1, alpn => ["http/1.1\0x", 'http/1.1'] }),
            port => $h->port(2));
is(sprintf('%04x', $r->{version} // 0), '0304', 'ALPN http/1.1\0x and http/1.1: handshake goes on');

# TLS 1.2 and an ECDSA P-256 key: only for clients whose supported_groups
# name P-256 (RFC 8422 5.3); others get the RSA key, or, where there is
# none, handshake_failure, as from mod_ssl
{
    my $both = TLSTest::Httpd->new(listen => 2, conf => tls_vhost(certs => ['ecdsa', 'rsa'])
        . tls_vhost(port => '@PORT2@', certs => ['ecdsa']));
    $both->start;
    my %suite = (0xc02b => 'ECDHE-ECDSA', 0xc02f => 'ECDHE-RSA');
    my @ciphers = (0xc02b, 0xc02f);
    my $with = answer(hello_record({ sni => 'localhost', ciphers => \@ciphers, groups => [0x1d, 0x17] }),
                      port => $both->port);
    is($suite{$with->{cipher} // 0} // 'none', 'ECDHE-ECDSA', 'TLS 1.2, client with P-256: the ECDSA key');
    my $without = answer(hello_record({ sni => 'localhost', ciphers => \@ciphers, groups => [0x1d, 0x18] }),
                         port => $both->port);
    is($suite{$without->{cipher} // 0} // 'none', 'ECDHE-RSA', 'TLS 1.2, client without P-256: the RSA key');
    $without = answer(hello_record({ sni => 'localhost', ciphers => \@ciphers, groups => [0x1d, 0x18] }),
                      port => $both->port(1));
    is($without->{alert}{description} // 'none', $A{handshake_failure},
       'TLS 1.2, client without P-256, ECDSA key only: handshake_failure');
    my $tls13 = answer(hello_record({ sni => 'localhost', tls13 => 1, groups => [0x1d, 0x18] }),
                       port => $both->port(1));
    is(sprintf('%04x', $tls13->{version} // 0), '0304',
       'TLS 1.3 without P-256 in supported_groups: the signature algorithms decide, the ECDSA key serves');
    $both->stop;
}

# bytes that cannot start a TLS record are refused at once
for my $bytes ("\x00", "\x17", "\x01\x02\x03", "\xff") {
    my $mark = $h->log_mark;
    $r = raw_exchange($h->port(2), $bytes);
    my $hex = unpack('H*', $bytes);
    ok(defined $r->{closed}, "first bytes $hex: closed");
    cmp_ok($r->{closed} // 99, '<', 5, "first bytes $hex: at once, not at the 20 s deadline");
    like($h->wait_log(qr/127\.0\.0\.1:$r->{cport}\b/, since => $mark),
         qr/starts neither a TLS handshake nor an HTTP request/, "first bytes $hex: logged");
}

finish();
