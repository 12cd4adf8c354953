# OCSP stapling from mod_md (MDStapling on). Pebble has no OCSP responder
# of its own, but puts a responder URL of our choice into what it issues and
# hands out its intermediate CA's key: openssl ocsp signs with that key and
# answers "good" for the certificates mod_md obtained (ECDSA and RSA).
# - while the responder is down, handshakes asking for the status complete
#   without a staple (mod_md fetches in its watchdog, never in a handshake);
# - once mod_md has the responses, TLS 1.3 and 1.2 handshakes, with the
#   ECDSA and with the RSA certificate, carry the response for the
#   certificate they got ("good"), which openssl verifies; a client that
#   does not ask gets none;
# - md-status and server-status report the stapling;
# - the vhost's own certificate (from the test PKI, which names no
#   responder) has no staple; mod_md is not asked for it;
# - with TLSOCSPStapling on as well, mod_md's certificates are left to
#   mod_md: mod_tls keeps and fetches no response of its own for them.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestACME;
use Test::More;

skip_without_pebble();

my $name = 's.mdtest.local';
my %TYPE = (ecdsa => 'secp256r1', rsa => 'rsa');
my $ca = TLSTestACME::Pebble->new;
my $ocsp = TLSTestACME::OCSP->new;
my $h = TLSTest::Httpd->new(listen => 2, modules => ['md', 'http2'],
    global => md_global($ca, challenges => 'tls-alpn-01', keys => 'secp256r1 rsa2048',
                        extra => "MDStapling on\nTLSOCSPStapling on"),
    conf => tls_vhost(port => '@PORT2@', name => 'localhost', vh => 'own')
          . md_vhost(name => $name, vh => 's'));
$ca->start(http_port => free_port(), tls_port => $h->port(1), ocsp_url => $ocsp->url);
$h->start;
my $root = $ca->root_file;

my $md = wait_md($h, $name, sub { md_staged($_[0], 'secp256r1', 'rsa') });
ok($md, 'the certificates were obtained') or diag($h->error_log . $ca->log);
my $serials = md_serials($md // {}, 'renewal');
$h->graceful;

# the served certificates, to give the responder
my %pem;
for my $key ('ecdsa', 'rsa') {
    my $s = acme_s_client($h, $name, key => $key, ca => $root, status => 1);
    ok($s->{ok}, "$key: handshake asking for the status while the responder is down")
        or diag($s->{out});
    is($s->{staple}, undef, "$key: ... no staple");
    like($s->{out}, qr/OCSP response: no response sent/, "$key: ... the server said so");
    is($s->{status}, 200, "$key: ... and the request is served");
    is(serial_of($s->{cert} // ''), $serials->{$TYPE{$key}}, "$key: mod_md's certificate");
    $pem{$key} = tmpdir() . "/served-$key.pem";
    spit($pem{$key}, $s->{cert} // '');
    like(x509_field($pem{$key}, '-ocsp_uri'), qr/^\Q${\ $ocsp->url}\E$/,
         "$key: it names the test's responder");
}

my ($int_crt, $int_key) = $ca->intermediate;
$ocsp->start(ca => $int_crt, key => $int_key, certs => [values %pem]);
$md = wait_md($h, $name, sub {
    my $c = $_[0]{cert} || {};
    return !grep { (($c->{$_} || {})->{ocsp} || {})->{status} ne 'good' } values %TYPE;
});
ok($md, 'mod_md fetched a good response for each certificate') or diag($ocsp->log);

for my $key ('ecdsa', 'rsa') {
    for my $v ('1.3', '1.2') {
        my $what = "$key, TLS $v";
        my $s = acme_s_client($h, $name, key => $key, ca => $root, version => $v, status => 1,
                              args => ['-verify_return_error']);
        ok($s->{ok}, "$what: handshake") or diag($s->{out});
        is($s->{staple}, 'good', "$what: the stapled response says good");
        like($s->{out}, qr/Serial Number: \Q$serials->{$TYPE{$key}}\E/i,
             "$what: ... about the certificate served");
        like($s->{out}, qr/Responder Id: CN\s*=\s*Pebble Intermediate CA/,
             "$what: ... signed by the issuer");
        is($s->{status}, 200, "$what: 200");
    }
}
{
    my $s = acme_s_client($h, $name, key => 'ecdsa', ca => $root);
    unlike($s->{out}, qr/OCSP response|Cert Status/,
           'a client that does not ask for the status gets no staple');
    my $g = gnutls_cli(port => $h->port(1), sni => $name, args => ['--ocsp', '--x509cafile', $root]);
    like($g->{out}, qr/OCSP status request/, 'gnutls-cli sees the status request answered')
        or diag($g->{out});
}
{
    my $auto = plain_get($h->port(0), path => '/server-status?auto');
    like($auto->{body}, qr/^ManagedStaplingsOK: 2$/m, "server-status: mod_md's stapling section, both good")
        or diag($auto->{body});
    my $s = acme_s_client($h, 'localhost', status => 1, ca => pki() . '/ca.crt');
    ok($s->{ok}, 'own certificate: handshake');
    is($s->{staple}, undef, 'own certificate (no responder in it): no staple');
    my @own = $auto->{body} =~ /^TLSOCSPStapling\d+Certificate: (.*?)\r?$/mg;
    is_deeply(\@own, ['CN=localhost,O=mod_tls tests'],
              "TLSOCSPStapling on too: mod_tls's own stapling has only the vhost's own certificate, not mod_md's");
    unlike($h->error_log, qr/(fetching|fetched) the OCSP response for/, '... and fetched nothing');
}

$ocsp->stop;
$ca->stop;
finish();
