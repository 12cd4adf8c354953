# Certificates from a real ACME server (pebble) by tls-alpn-01, for two
# TLS vhosts without TLSCertificate on one port, each in its own MDomain,
# ECDSA and RSA (MDPrivateKeys secp256r1 rsa2048):
# - until mod_md has their certificates, both serve its fallback and answer
#   503 (HTTP/1.1, HTTP/2); a vhost with its own certificate on the same
#   port is served meanwhile;
# - pebble validates by tls-alpn-01 only (MDCAChallenges; its http-01 port
#   has nothing listening): mod_tls negotiates acme-tls/1 and answers with
#   mod_md's challenge certificates;
# - once obtained, the certificates wait in mod_md's staging area (still
#   503) until a graceful restart, after which each name gets its own
#   certificate by SNI, ECDSA or RSA as the client can use, TLS 1.3 and
#   1.2, verifying against pebble's root, with the serials md-status
#   reports; HTTP/1.1 and HTTP/2 are served;
# - md-status, /.httpd/certificate-status and mod_md's server-status
#   section report them.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestACME;
use Test::More;

skip_without_pebble();

my @NAMES = ('a.mdtest.local', 'b.mdtest.local');
my %TYPE = (ecdsa => 'secp256r1', rsa => 'rsa');

my $ca = TLSTestACME::Pebble->new;
my $h = TLSTest::Httpd->new(listen => 2, modules => ['md', 'http2'],
    global => md_global($ca, challenges => 'tls-alpn-01', keys => 'secp256r1 rsa2048'),
    conf => tls_vhost(port => '@PORT2@', name => 'localhost', vh => 'own',
                      extra => 'Protocols h2 http/1.1')
          . join('', map { md_vhost(name => $_, vh => $_) } @NAMES));
my ($rc, $out) = $h->configtest;
is($rc, 0, 'apache2 -t accepts the vhosts whose certificates mod_md provides') or diag($out);
like($out, qr/Syntax OK/, '... Syntax OK');
$ca->start(http_port => free_port(), tls_port => $h->port(1));
$h->start;
my $root = $ca->root_file;

# before the certificates are active
for my $name (@NAMES) {
    for my $h2 (0, 1) {
        my $r = acme_curl($h, $name, insecure => 1, http2 => $h2);
        is($r->{status}, 503, "$name before the certificate, " . ($h2 ? 'HTTP/2' : 'HTTP/1.1') . ': 503')
            or diag($r->{out});
    }
}
{
    my $r = tls_get(client => 'curl', port => $h->port(1), args => ['--http2']);
    is($r->{status}, 200, 'meanwhile the vhost with its own certificate serves (h2)') or diag($r->{out});
    is($r->{headers}{'x-vh'}, 'own', '... from that vhost');
}

my %staged;
for my $name (@NAMES) {
    my $md = wait_md($h, $name, sub { md_staged($_[0], 'secp256r1', 'rsa') });
    ok($md, "$name: mod_md obtained an ECDSA and an RSA certificate from pebble")
        or diag($h->error_log . $ca->log);
    $staged{$name} = md_serials($md // {}, 'renewal');
    ok($h->wait_log(qr/answering the acme-tls\/1 challenge for '\Q$name\E'/),
       "$name: validated by tls-alpn-01, answered by mod_tls");
}
# staged, not active yet
{
    my $r = acme_curl($h, $NAMES[0], insecure => 1);
    is($r->{status}, 503, 'until the graceful restart the fallback stays (503)');
}

$h->graceful;
for my $name (@NAMES) {
    for my $key ('ecdsa', 'rsa') {
        for my $v ('1.3', '1.2') {
            my $what = "$name, $key, TLS $v";
            my $s = acme_s_client($h, $name, ca => $root, key => $key, version => $v);
            ok($s->{ok}, "$what: handshake") or diag($s->{out});
            is($s->{verify}, 0, "$what: the chain verifies against pebble's root");
            is(cert_info($s->{cert})->{cn}, $name, "$what: the certificate of the name SNI asked for");
            is(key_of($s->{cert}), uc $key eq 'RSA' ? 'RSA' : 'ECDSA', "$what: the $key certificate");
            is(serial_of($s->{cert} // ''), $staged{$name}{$TYPE{$key}},
               "$what: the one mod_md obtained (md-status's serial)");
            is($s->{status}, 200, "$what: 200");
            is($s->{headers}{'x-vh'}, $name, "$what: from its vhost");
        }
    }
    for my $h2 (0, 1) {
        my $r = acme_curl($h, $name, ca => $root, http2 => $h2);
        is($r->{status}, 200, "$name, curl " . ($h2 ? '--http2' : '--http1.1') . ' verifying: 200')
            or diag($r->{out});
        is($r->{http_version}, $h2 ? '2' : '1.1', '... over ' . ($h2 ? 'HTTP/2' : 'HTTP/1.1'));
    }
    my $md = md_of($h, $name);
    is_deeply(md_serials($md), $staged{$name}, "$name: md-status reports the active certificates");
    my $r = acme_curl($h, $name, ca => $root, path => '/.httpd/certificate-status');
    is($r->{status}, 200, "$name: /.httpd/certificate-status answers");
    like($r->{body} // '', qr/"serial":\s*"\Q$staged{$name}{secp256r1}\E"/,
         "$name: ... with the ECDSA certificate's serial");
}
{
    my $r = tls_get(client => 'curl', port => $h->port(1));
    is($r->{headers}{'x-vh'}, 'own', 'the vhost with its own certificate still serves it');
    my $auto = plain_get($h->port(0), path => '/server-status?auto');
    like($auto->{body}, qr/^ManagedCertificatesTotal: 2$/m, "server-status?auto: mod_md's section");
    like($auto->{body}, qr/^ManagedCertificatesOK: 2$/m, '... both certificates good');
    my $html = plain_get($h->port(0), path => '/server-status');
    like($html->{body}, qr/Managed Certificates/, "server-status: mod_md's table");
    like($html->{body}, qr/<h2>mod_tls/, "... beside mod_tls's");
}

$ca->stop;
finish();
