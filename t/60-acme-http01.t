# http-01 (mod_md alone, on the plain port) under the prefork MPM, and a
# vhost with certificates of its own that is also in an MDomain:
# - pebble validates by http-01 only (MDCAChallenges; its tls-alpn-01 port
#   has nothing listening); mod_md answers on the plain port;
# - c.mdtest.local has no TLSCertificate: fallback and 503 until the
#   graceful restart, then mod_md's ECDSA and RSA certificates;
# - d.mdtest.local has its own ECDSA and Ed25519 certificates and is in an
#   MDomain with an ECDSA key only: it serves its own certificates (and no
#   503) until mod_md has one; afterwards mod_md's ECDSA certificate
#   replaces the vhost's own ECDSA one, as with mod_ssl, and its own
#   Ed25519 one stays; mod_md knows that both vhosts speak TLS (mod_tls
#   asks it for the certificates of every TLS vhost).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestACME;
use Test::More;

skip_without_pebble();

for my $t (['d-ecdsa', 'ecdsa'], ['d-ed25519', 'ed25519']) {
    pki_cert($t->[0], cn => 'd.mdtest.local', dns => ['d.mdtest.local'], type => $t->[1]);
}
my $own_ecdsa = x509_field(pki() . '/d-ecdsa.crt', '-serial');
my $own_ed25519 = x509_field(pki() . '/d-ed25519.crt', '-serial');

my $ca = TLSTestACME::Pebble->new;
my $h = TLSTest::Httpd->new(mpm => 'prefork', listen => 2, modules => ['md'],
    global => md_global($ca, challenges => 'http-01', keys => 'secp256r1 rsa2048'),
    conf => md_vhost(name => 'c.mdtest.local', vh => 'c')
          . "<MDomain d.mdtest.local>\n    MDPrivateKeys secp256r1\n</MDomain>\n"
          . md_vhost(name => 'd.mdtest.local', vh => 'd', md => 0, extra => join("\n",
                     'TLSCertificate @PKI@/d-ed25519.crt @PKI@/d-ed25519.key',
                     'TLSCertificate @PKI@/d-ecdsa.crt @PKI@/d-ecdsa.key')));
$ca->start(http_port => $h->port(0), tls_port => free_port());
$h->start;
my $root = $ca->root_file;
my $test_ca = pki() . '/ca.crt';

{
    my $r = acme_curl($h, 'c.mdtest.local', insecure => 1);
    is($r->{status}, 503, 'c: no certificate yet: 503') or diag($r->{out});
    my $s = acme_s_client($h, 'd.mdtest.local', key => 'ecdsa', ca => $test_ca);
    is(serial_of($s->{cert} // ''), $own_ecdsa, 'd: its own ECDSA certificate meanwhile') or diag($s->{out});
    is($s->{verify}, 0, 'd: ... verifying against the test CA');
    is($s->{status}, 200, 'd: served (own certificates: no fallback, no 503)');
}

# mod_md learns which vhosts speak TLS from being asked for their
# certificates: it lists the names it could validate by tls-alpn-01 (a TLS
# vhost with acme-tls/1 in its Protocols), the one with its own
# certificates included
for my $name ('c.mdtest.local', 'd.mdtest.local') {
    my $md = md_of($h, $name);
    ok(grep({ $_ eq $name } @{($md->{proto} || {})->{'acme-tls/1'} || []}),
       "$name: mod_md knows its vhost speaks TLS (md-status: acme-tls/1 names)")
        or diag(explain($md->{proto}));
}

my %md;
for my $t (['c.mdtest.local', 'secp256r1', 'rsa'], ['d.mdtest.local', 'secp256r1']) {
    my ($name, @keys) = @$t;
    my $md = wait_md($h, $name, sub { md_staged($_[0], @keys) });
    ok($md, "$name: mod_md obtained its certificates (@keys) by http-01")
        or diag($h->error_log . $ca->log);
    $md{$name} = md_serials($md // {}, 'renewal');
}
like(slurp($h->log_file('access.log')) // '',
     qr{"GET /\.well-known/acme-challenge/\S+ HTTP/1\.1" 200 },
     'the http-01 challenges were answered on the plain port');
unlike($h->error_log, qr/answering the acme-tls\/1 challenge/, 'no tls-alpn-01 challenge was asked');

$h->graceful;
for my $key ('ecdsa', 'rsa') {
    for my $v ('1.3', '1.2') {
        my $s = acme_s_client($h, 'c.mdtest.local', key => $key, ca => $root, version => $v);
        is($s->{verify}, 0, "c, $key, TLS $v: verifies against pebble's root") or diag($s->{out});
        is(serial_of($s->{cert} // ''), $md{'c.mdtest.local'}{$key eq 'rsa' ? 'rsa' : 'secp256r1'},
           "c, $key, TLS $v: mod_md's certificate");
        is($s->{status}, 200, "c, $key, TLS $v: 200");
    }
}
{
    my $s = acme_s_client($h, 'd.mdtest.local', key => 'ecdsa', ca => $root);
    is(serial_of($s->{cert} // ''), $md{'d.mdtest.local'}{secp256r1},
       "d, ECDSA: mod_md's certificate replaced the vhost's own of that key type") or diag($s->{out});
    is($s->{verify}, 0, "d, ECDSA: verifies against pebble's root");
    is($s->{status}, 200, 'd, ECDSA: 200');
    $s = acme_s_client($h, 'd.mdtest.local', ca => $test_ca, args => ['-sigalgs', 'ed25519']);
    is(serial_of($s->{cert} // ''), $own_ed25519, "d, Ed25519: the vhost's own certificate stays")
        or diag($s->{out});
    is($s->{status}, 200, 'd, Ed25519: 200');
    my $r = acme_curl($h, 'd.mdtest.local', ca => $root);
    is($r->{status}, 200, 'd: curl verifying against pebble\'s root: 200') or diag($r->{out});
}

$ca->stop;
finish();
