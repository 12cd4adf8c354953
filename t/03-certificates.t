# Certificate selection: one vhost with an RSA-2048, an ECDSA P-256 and an
# Ed25519 certificate; every client gets the certificate its signature
# algorithms allow, and the chain (leaf + intermediate) is sent. A key
# stored inside the certificate file works.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use Test::More;

my $h = TLSTest::Httpd->new(listen => 2, conf =>
      tls_vhost(certs => [qw(rsa ecdsa ed25519)])
    . tls_vhost(port => '@PORT2@', certs => ['@PKI@/server-combined.pem']));
$h->start;

# check_cert(NAME, RESULT, KEYTYPE): the handshake worked, the page came, the
# presented leaf is ours with a KEYTYPE key, and the chain was sent
sub check_cert {
    my ($name, $r, $want) = @_;
    subtest $name => sub {
        ok($r->{ok}, 'handshake') or return diag($r->{out});
        is($r->{status}, 200, 'status 200');
        my $leaf = cert_info($r->{certs}[0]);
        is($leaf->{key}, $want, "$want certificate presented") or diag($r->{out});
        like($leaf->{subject} // '', qr/O ?= ?mod_tls tests.*CN ?= ?localhost/, 'leaf subject');
        is(scalar @{$r->{certs}}, 2, 'leaf and intermediate sent');
        like(cert_info($r->{certs}[1])->{subject} // '', qr/Intermediate CA/, 'second is the intermediate');
    };
}

my @openssl = (
    ['1.3', [-sigalgs => 'ECDSA+SHA256'], 'ECDSA'],
    ['1.3', [-sigalgs => 'rsa_pss_rsae_sha256:rsa_pss_rsae_sha384'], 'RSA'],
    ['1.3', [-sigalgs => 'ed25519'], 'Ed25519'],
    ['1.2', [-sigalgs => 'ECDSA+SHA256'], 'ECDSA'],
    ['1.2', [-sigalgs => 'RSA+SHA256:rsa_pss_rsae_sha256'], 'RSA'],
    ['1.2', [-cipher => 'ECDHE-RSA-AES128-GCM-SHA256'], 'RSA'],
    ['1.2', [-cipher => 'ECDHE-ECDSA-AES128-GCM-SHA256', -sigalgs => 'ed25519'], 'Ed25519'],
);
for my $c (@openssl) {
    my ($version, $args, $want) = @$c;
    my $r = tls_get(client => 'openssl', port => $h->port, version => $version, args => $args);
    check_cert("openssl TLS $version @$args -> $want", $r, $want);
    is($r->{verify}, 0, "openssl TLS $version @$args: chain verifies against the root");
}

my %gnutls_sign = (
    ECDSA   => '+SIGN-ECDSA-SECP256R1-SHA256:+SIGN-ECDSA-SHA256',
    RSA     => '+SIGN-RSA-PSS-RSAE-SHA256:+SIGN-RSA-SHA256',
    Ed25519 => '+SIGN-EDDSA-ED25519',
);
for my $version ('1.3', '1.2') {
    for my $want (qw(ECDSA RSA Ed25519)) {
        my $prio = gnutls_priority($version) . ":-SIGN-ALL:$gnutls_sign{$want}";
        my $r = tls_get(client => 'gnutls', port => $h->port, priority => $prio);
        check_cert("gnutls-cli $prio -> $want", $r, $want);
    }
}

# A client that supports every type and lists ECDSA first (OpenSSL's
# default) should not get the slowest one, RSA.
my $r = tls_get(client => 'openssl', port => $h->port);
like(cert_info($r->{certs}[0])->{key} // '', qr/^(ECDSA|Ed25519)$/,
     'openssl with default algorithms gets ECDSA or Ed25519, not RSA');
# GnuTLS's default list starts with RSA: any of the three is right then
$r = tls_get(client => 'gnutls', port => $h->port);
like(cert_info($r->{certs}[0])->{key} // '', qr/^(ECDSA|Ed25519|RSA)$/,
     'gnutls-cli with default algorithms gets a certificate')
    and note('gnutls-cli NORMAL got ' . cert_info($r->{certs}[0])->{key});

# certificate, chain and key in one file
for my $version ('1.3', '1.2') {
    my $r = tls_get(client => 'openssl', port => $h->port(1), version => $version);
    check_cert("combined cert+key file, TLS $version", $r, 'ECDSA');
    is($r->{verify}, 0, "combined file, TLS $version: chain verifies");
}
$r = tls_get(client => 'curl', port => $h->port(1));
is($r->{body}, TLSTest::Httpd->index_content, 'combined file: curl gets the page');

finish();
