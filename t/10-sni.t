# Name-based virtual hosts by SNI: several TLS vhosts on one address, each
# with its own certificate, priorities and protocol versions. The server name
# of the ClientHello picks the vhost by ServerName, ServerAlias and wildcard
# alias, case-insensitively; no SNI or an unknown name gets the address's
# first vhost; a vhost with TLSEngine off never matches. Checked by the
# presented certificate's subject (gnutls-cli and openssl s_client), by the
# answering vhost (X-VH header) and by the negotiated protocol and cipher.
# Then IP-based vhosts: each port presents its own certificate.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use Test::More;

pki_cert('wild', cn => '*.wild.test', dns => ['*.wild.test', 'wild.test']);
pki_cert('old', cn => 'old.test', dns => ['old.test']);

my $h = TLSTest::Httpd->new(listen => 3, conf => join('',
    tls_vhost(name => 'localhost', vh => 'default'),
    tls_vhost(name => 'other.localhost', aliases => ['alias.test', 'alias2.test'],
              certs => ['other'], vh => 'other'),
    tls_vhost(name => 'wild.test', aliases => ['*.wild.test'], certs => ['wild'], vh => 'wild'),
    tls_vhost(name => 'old.test', certs => ['old'], vh => 'old', extra => 'TLSProtocol TLSv1.2'),
    tls_vhost(name => 'prio.test', certs => ['rsa'], vh => 'prio',
              extra => 'TLSPriorities NORMAL:-CIPHER-ALL:+CHACHA20-POLY1305'),
    # same address, no TLS: its name must not pick it (nor its missing certificate)
    vhost(name => 'plain.test', vh => 'plain', extra => 'TLSEngine off'),
    # IP-based: one vhost per port
    tls_vhost(port => '@PORT2@', name => 'other.localhost', certs => ['other'], vh => 'port2'),
    tls_vhost(port => '@PORT3@', name => 'localhost', certs => ['ed25519'], vh => 'port3'),
));
$h->start;
my $port = $h->port;

# subject CN of the leaf certificate a tool saw
sub leaf_cn { cert_info($_[0]{certs}[0])->{cn} // '(none)' }

# check(NAME SENT, expected leaf CN, expected vhost, verify name): with
# gnutls-cli and openssl s_client
sub check {
    my ($sni, $cn, $vh, $verify, %more) = @_;
    my $what = $sni eq '' ? 'no SNI' : "SNI '$sni'";
    for my $client (qw(gnutls openssl)) {
        subtest "$client, $what: certificate CN=$cn, vhost $vh" => sub {
            my $r = tls_get(client => $client, port => $more{port} // $port, sni => $sni,
                            host => $more{host} // ($sni eq '' ? 'localhost' : lc $sni),
                            verify_name => $verify);
            ok($r->{ok}, 'handshake, certificate verified') or return diag($r->{out});
            is($r->{verify}, 0, 'openssl: verify return code 0') if $client eq 'openssl';
            is(leaf_cn($r), $cn, "leaf subject CN=$cn");
            like(cert_info($r->{certs}[0])->{subject} // '', qr/O ?= ?mod_tls tests/, 'leaf organization');
            is($r->{status}, 200, 'status 200') or diag($r->{out});
            is($r->{headers}{'x-vh'}, $vh, "answered by vhost $vh");
        };
    }
}

check('localhost', 'localhost', 'default', 'localhost');
check('other.localhost', 'other.localhost', 'other', 'other.localhost');
check('alias.test', 'other.localhost', 'other', 'localhost', host => 'other.localhost');
check('alias2.test', 'other.localhost', 'other', 'localhost', host => 'alias2.test');
check('wild.test', '*.wild.test', 'wild', 'wild.test');
check('a.wild.test', '*.wild.test', 'wild', 'a.wild.test');
check('www.wild.test', '*.wild.test', 'wild', 'www.wild.test');
check('old.test', 'old.test', 'old', 'old.test');
# case-insensitive
check('OTHER.LocalHost', 'other.localhost', 'other', 'other.localhost');
check('Alias.TEST', 'other.localhost', 'other', 'localhost', host => 'alias.test');
check('B.Wild.Test', '*.wild.test', 'wild', 'b.wild.test');
# no SNI, unknown names, near misses: the first vhost of the address
check('', 'localhost', 'default', 'localhost');
check('unknown.test', 'localhost', 'default', 'localhost', host => 'localhost');
check('wild.test.evil', 'localhost', 'default', 'localhost', host => 'localhost');
check('xwild.test', 'localhost', 'default', 'localhost', host => 'localhost');
check('other', 'localhost', 'default', 'localhost', host => 'localhost');
# a vhost with TLSEngine off is no candidate
check('plain.test', 'localhost', 'default', 'localhost', host => 'localhost');

# curl and Perl see the same choice
for my $c (['localhost', 'default'], ['other.localhost', 'other'],
           ['wild.test', 'wild'], ['z.wild.test', 'wild'], ['old.test', 'old']) {
    my ($sni, $vh) = @$c;
    for my $client (qw(curl perl)) {
        my $r = tls_get(client => $client, port => $port, sni => $sni);
        is($r->{status}, 200, "$client, SNI $sni: status 200 (certificate verified for $sni)")
            or diag($r->{out});
        is($r->{headers}{'x-vh'}, $vh, "$client, SNI $sni: vhost $vh");
    }
}

# the vhost's protocol versions apply: the hello is matched before GnuTLS
# negotiates (old.test allows TLS 1.2 only; the others do TLS 1.3)
for my $client (qw(curl openssl gnutls perl)) {
    my $r = tls_get(client => $client, port => $port, sni => 'old.test');
    is($r->{proto}, 'TLSv1.2', "$client, SNI old.test (TLSProtocol TLSv1.2): TLS 1.2 negotiated")
        or diag($r->{out});
    $r = tls_get(client => $client, port => $port, sni => 'other.localhost');
    is($r->{proto}, 'TLSv1.3', "$client, SNI other.localhost: TLS 1.3 negotiated") or diag($r->{out});
    $r = tls_get(client => $client, port => $port, sni => '', host => 'localhost');
    is($r->{proto}, 'TLSv1.3', "$client, no SNI (default vhost): TLS 1.3 negotiated") or diag($r->{out});
}
# a client that insists on TLS 1.3 cannot reach old.test
{
    my $r = tls_get(client => 'openssl', port => $port, sni => 'old.test', version => '1.3');
    ok(!$r->{ok}, 'openssl -tls1_3, SNI old.test: no handshake');
    like($r->{out}, qr/protocol version|alert number 70|handshake failure|alert number 40/i,
         'openssl -tls1_3, SNI old.test: refused with a protocol_version/handshake_failure alert');
    $r = tls_get(client => 'openssl', port => $port, sni => 'localhost', version => '1.3');
    is($r->{proto}, 'TLSv1.3', 'openssl -tls1_3, SNI localhost: TLS 1.3');
}

# the vhost's priorities apply: prio.test allows only CHACHA20-POLY1305 and
# serves the RSA certificate, the default vhost prefers AES-GCM with ECDSA
for my $version ('1.3', '1.2') {
    my $r = tls_get(client => 'openssl', port => $port, sni => 'prio.test', verify_name => 'localhost',
                    version => $version, host => 'prio.test');
    like($r->{cipher} // '', qr/CHACHA20/, "openssl TLS $version, SNI prio.test: ChaCha20 cipher ($r->{cipher})")
        or diag($r->{out});
    is(cert_info($r->{certs}[0])->{key}, 'RSA', "openssl TLS $version, SNI prio.test: RSA certificate");
    is($r->{headers}{'x-vh'}, 'prio', "openssl TLS $version, SNI prio.test: vhost prio");
    $r = tls_get(client => 'openssl', port => $port, sni => 'localhost', version => $version);
    unlike($r->{cipher} // 'CHACHA20', qr/CHACHA20/, "openssl TLS $version, SNI localhost: not ChaCha20 ($r->{cipher})");
    is(cert_info($r->{certs}[0])->{key}, 'ECDSA', "openssl TLS $version, SNI localhost: ECDSA certificate");
    my $g = tls_get(client => 'gnutls', port => $port, sni => 'prio.test', verify_name => 'localhost',
                    version => $version, host => 'prio.test');
    like($g->{gnutls_cipher} // '', qr/CHACHA20/, "gnutls-cli TLS $version, SNI prio.test: ChaCha20")
        or diag($g->{out});
}
# a client without ChaCha20 cannot reach prio.test, but can the default vhost
{
    my @aes = ('-ciphersuites', 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384');
    my $r = tls_get(client => 'openssl', port => $port, sni => 'prio.test', verify_name => 'localhost',
                    version => '1.3', args => \@aes);
    ok(!$r->{ok}, 'openssl with AES-GCM only, SNI prio.test: no handshake');
    $r = tls_get(client => 'openssl', port => $port, sni => 'localhost', version => '1.3', args => \@aes);
    like($r->{cipher} // '', qr/^TLS_AES_/, 'openssl with AES-GCM only, SNI localhost: AES-GCM');
}

# IP-based vhosts: each port has its own certificate, whatever name is sent
for my $c ([1, 'other.localhost', 'port2', 'ECDSA'], [2, 'localhost', 'port3', 'Ed25519']) {
    my ($i, $cn, $vh, $key) = @$c;
    my $p = $h->port($i);
    for my $sni ('', 'localhost', 'other.localhost', 'unknown.test') {
        for my $client (qw(gnutls openssl)) {
            my $r = tls_get(client => $client, port => $p, sni => $sni, verify_name => 'localhost',
                            host => 'localhost');
            my $what = "port " . ($i + 1) . ", $client, " . ($sni eq '' ? 'no SNI' : "SNI $sni");
            is(leaf_cn($r), $cn, "$what: certificate CN=$cn") or diag($r->{out});
            is(cert_info($r->{certs}[0])->{key}, $key, "$what: $key key");
            is($r->{headers}{'x-vh'}, $vh, "$what: vhost $vh");
        }
    }
}
# and the first port still presents its own
is(leaf_cn(tls_get(client => 'openssl', port => $port, sni => '')), 'localhost',
   'port 1, no SNI: CN=localhost');

finish();
