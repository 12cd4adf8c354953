# mod_tls and mod_md through httpd's certificate hooks, without an ACME
# server answering:
# - apachectl -t refuses a TLS vhost without TLSCertificate when no module
#   provides certificates (today's message), and accepts one whose
#   certificates mod_md will provide (mod_md cannot be asked in -t); such a
#   vhost whose name is in no MDomain is refused at startup, naming the
#   TLSEngine line;
# - a vhost in an MDomain whose CA cannot be reached serves mod_md's
#   self-signed fallback certificates (ECDSA and RSA) and answers every
#   request 503, over HTTP/1.1 and HTTP/2; a vhost with its own certificate
#   on the same port is served as usual;
# - tls-alpn-01 answering, made deterministic by putting a challenge
#   certificate where mod_md's store keeps them (challenges/NAME/, mod_md
#   2.6's file names; mod_md proposes acme-tls/1 only where
#   ap_ssl_conn_is_ssl is already true, during the handshake): a client
#   offering ALPN acme-tls/1 gets it, completes
#   the handshake without the client certificate the vhost requires, and
#   its request gets 503; clients without acme-tls/1 keep the vhost's
#   certificate and its client authentication; a vhost whose Protocols lack
#   acme-tls/1 never answers with it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestACME;
use Test::More;

my $dead_ca = 'https://127.0.0.1:' . free_port() . '/dir';
my $md_conf = <<"EOF";
MDStoreDir \@DIR\@/md
MDCertificateAuthority $dead_ca
MDCertificateAgreement accepted
MDContactEmail admin\@mdtest.local
MDPortMap http:\@PORT\@ https:\@PORT2\@
MDPrivateKeys secp256r1 rsa2048
<Location /md-status>
    SetHandler md-status
</Location>
EOF

# ---------------------------------------------------------------- -t

{
    my $h = TLSTest::Httpd->new(listen => 2, conf => vhost(port => '@PORT2@',
        name => 'a.mdtest.local', extra => 'TLSEngine on'));
    my $out = $h->configtest_refuses('no mod_md, no TLSCertificate', qr/TLSEngine on/,
                                     'TLSEngine', qr/no TLSCertificate configured for a\.mdtest\.local:\d+$/m);
    unlike($out, qr/no module provided/, 'without a provider module the message is as before');
}
{
    my $h = TLSTest::Httpd->new(listen => 2, modules => ['md'], global => $md_conf,
        conf => md_vhost(name => 'a.mdtest.local'));
    my ($rc, $out) = $h->configtest;
    is($rc, 0, 'apache2 -t accepts a TLS vhost in an MDomain without TLSCertificate') or diag($out);
    like($out, qr/Syntax OK/, '... Syntax OK');
}
{
    my $h = TLSTest::Httpd->new(listen => 2, modules => ['md'], global => $md_conf,
        conf => md_vhost(name => 'nomd.mdtest.local', md => 0));
    my ($rc, $out) = $h->configtest;
    is($rc, 0, 'apache2 -t: a vhost whose certificates mod_md may provide is left to startup')
        or diag($out);
    like($out, qr/Syntax OK/, '... Syntax OK');
    ok(!$h->try_start, 'startup refuses a TLS vhost that mod_md provides nothing for');
    my $line = $h->line_of(qr/TLSEngine on/);
    my $file = $h->conf_file;
    like($h->start_output . $h->error_log,
         qr/\Q$file\E:$line: TLSEngine: no TLSCertificate configured for nomd\.mdtest\.local:\d+, and no module provided one/,
         '... naming the TLSEngine line, the vhost and that no module provided one');
}

# ---------------------------------------------------------------- fallback

my $chall_own = pki_cert('chall-own', cn => 'challenge.mdtest.local', dns => ['challenge.mdtest.local']);
my $chall_answer = pki_cert('chall-answer', cn => 'acme-answer.mdtest.local', type => 'rsa',
                            dns => ['challenge.mdtest.local']);
(my $chall_answer_key = $chall_answer) =~ s/\.crt$/.key/;

my $h = TLSTest::Httpd->new(listen => 2, modules => ['md', 'http2'], global => $md_conf,
    conf => tls_vhost(port => '@PORT2@', name => 'localhost', vh => 'own')
          . md_vhost(name => 'a.mdtest.local', vh => 'a')
          . tls_vhost(port => '@PORT2@', name => 'challenge.mdtest.local', vh => 'challenge',
                      certs => ['chall-own'], extra => <<'EOF')
Protocols h2 http/1.1 acme-tls/1
TLSClientCertificate require
TLSClientCA @PKI@/client-ca.pem
TLSClientVerifyDepth 2
EOF
          . tls_vhost(port => '@PORT2@', name => 'noacme.mdtest.local', vh => 'noacme',
                      certs => ['chall-own'], extra => 'Protocols h2 http/1.1'));
$h->start;
my $tls = $h->port(1);

ok($h->wait_log(qr/a\.mdtest\.local:$tls has no certificate yet: it serves the temporary fallback certificate .* '503 Service Unavailable'/),
   'the log says the vhost serves a fallback certificate and answers 503');
for my $h2 (0, 1) {
    my $what = $h2 ? 'HTTP/2' : 'HTTP/1.1';
    my $r = acme_curl($h, 'a.mdtest.local', insecure => 1, http2 => $h2);
    is($r->{status}, 503, "fallback vhost, $what: 503 Service Unavailable") or diag($r->{out});
    is($r->{http_version}, $h2 ? '2' : '1.1', "fallback vhost, $what: over $what");
    $r = acme_curl($h, 'a.mdtest.local', insecure => 1, http2 => $h2, path => '/index.html?x=1');
    is($r->{status}, 503, "fallback vhost, $what: any path gets 503");
}
for my $key ('ecdsa', 'rsa') {
    my $s = acme_s_client($h, 'a.mdtest.local', key => $key);
    ok($s->{ok}, "fallback vhost, $key: the handshake completes") or diag($s->{out});
    is(key_of($s->{cert}), uc($key) eq 'RSA' ? 'RSA' : 'ECDSA', "fallback vhost: mod_md's $key fallback certificate");
    like(x509_field($s->{cert}, '-subject'), qr/Fallback/i, "fallback vhost, $key: its subject says fallback");
    like(x509_field($s->{cert}, '-ext', 'subjectAltName'), qr/a\.mdtest\.local/, "fallback vhost, $key: for the name");
    is($s->{status}, 503, "fallback vhost, $key: 503");
}
{
    my $r = tls_get(client => 'curl', port => $tls);
    is($r->{status}, 200, 'the vhost with its own certificate on the same port: 200') or diag($r->{out});
    is($r->{headers}{'x-vh'}, 'own', '... from that vhost');
    my $st = plain_get($h->port(0), path => '/md-status');
    is($st->{status}, 200, 'md-status answers on the plain port');
    like($st->{body}, qr/"a\.mdtest\.local"/, '... and lists the MDomain');
}

# ---------------------------------------------------------------- tls-alpn-01

# where mod_md 2.6 keeps a tls-alpn-01 answer: challenges/NAME/, with the
# file names of the default (RSA) key
my $cdir = $h->dir . '/md/challenges/challenge.mdtest.local';
mkdir $cdir or die "mkdir $cdir: $!";
spit("$cdir/acme-tls-alpn-01-pubcert.pem", slurp($chall_answer));
spit("$cdir/acme-tls-alpn-01-privkey.pem", slurp($chall_answer_key), 0600);
my $answer_serial = x509_field($chall_answer, '-serial');
my $own_serial = x509_field($chall_own, '-serial');

for my $v ('1.3', '1.2') {
    my $s = acme_s_client($h, 'challenge.mdtest.local', version => $v, alpn => 'acme-tls/1');
    ok($s->{ok}, "TLS $v, ALPN acme-tls/1: the handshake completes without a client certificate")
        or diag($s->{out});
    is($s->{alpn}, 'acme-tls/1', "TLS $v: acme-tls/1 negotiated");
    is(serial_of($s->{cert} // ''), $answer_serial, "TLS $v: the challenge certificate mod_md answers with");
    is($s->{status}, 503, "TLS $v: a request on the challenge connection gets 503");
    unlike($s->{out}, qr/Acceptable client certificate CA names/,
           "TLS $v: no client certificate asked for");
}
ok($h->wait_log(qr/answering the acme-tls\/1 challenge for 'challenge\.mdtest\.local'/),
   'the log names the challenge answered');
{
    # an ordinary client of the same vhost, at the same time
    my $s = acme_s_client($h, 'challenge.mdtest.local', cert => 'alice', alpn => 'http/1.1',
                          ca => pki() . '/ca.crt');
    ok($s->{ok}, 'ALPN http/1.1 with a client certificate: handshake') or diag($s->{out});
    is(serial_of($s->{cert} // ''), $own_serial, '... the vhost\'s own certificate');
    is($s->{verify}, 0, '... which verifies against the test CA');
    # (brief: a TLS 1.3 ticket carrying a client certificate would end up
    # in the response s_client prints)
    $s = acme_s_client($h, 'challenge.mdtest.local', cert => 'alice', alpn => 'http/1.1',
                       ca => pki() . '/ca.crt', brief => 1);
    is($s->{status}, 200, '... and its request is served') or diag($s->{out});
    $s = acme_s_client($h, 'challenge.mdtest.local', cert => 'alice', ca => pki() . '/ca.crt');
    is(serial_of($s->{cert} // ''), $own_serial, 'no ALPN: the vhost\'s own certificate');
    my $r = tls_get(client => 'openssl', port => $tls, sni => 'challenge.mdtest.local',
                    args => ['-alpn', 'h2,http/1.1']);
    ok(!$r->{responses}[0], 'without a client certificate the vhost still refuses (require)')
        or diag($r->{out});
}
{
    my $s = acme_s_client($h, 'noacme.mdtest.local', alpn => 'acme-tls/1,http/1.1',
                          ca => pki() . '/ca.crt');
    is($s->{alpn}, 'http/1.1', 'a vhost without acme-tls/1 in Protocols does not negotiate it')
        or diag($s->{out});
    is(serial_of($s->{cert} // ''), $own_serial, '... and serves its own certificate');
}

finish();
