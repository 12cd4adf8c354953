# TLS to proxied backends: client certificates (TLSProxyMachineCertificate),
# how the TLSProxy* settings merge (server config -> virtual host -> <Proxy>
# section, a <Proxy> section of the server config applying in every virtual
# host), and mod_ssl backends. The backends that require a certificate (a
# mod_ssl one over TLS 1.3 and over TLS 1.2, a mod_tls one) echo what they
# saw through their CGI (SSL_CLIENT_S_DN, SSL_CLIENT_VERIFY). A frontend
# without a certificate gets 502 and a line saying the backend asked for
# one. Resumption works towards mod_ssl (OpenSSL) backends too.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestProxy;
use Test::More;

plan skip_all => 'mod_proxy_http is not installed'
    unless -f "$TLSTest::Httpd::MODDIR/mod_proxy_http.so";
plan skip_all => 'mod_ssl is not installed' unless -f "$TLSTest::Httpd::MODDIR/mod_ssl.so";
plan skip_all => 'the proxy tests need mod_tls (MOD_TLS_TEST_EMULATE=ssl set)'
    if $TLSTest::Httpd::EMULATE;

my $want_cert = "SSLVerifyClient require\nSSLCACertificateFile \@PKI\@/ca.crt\nSSLVerifyDepth 2";
my $ssl = ssl_backend(listen => 4, conf =>
      ssl_vhost(port => '@PORT@', vh => 'ssl13', extra => $want_cert)
    . ssl_vhost(port => '@PORT2@', vh => 'ssl12', extra => "$want_cert\nSSLProtocol TLSv1.2")
    . ssl_vhost(port => '@PORT3@', vh => 'r13', extra => 'SSLProtocol TLSv1.3')
    . ssl_vhost(port => '@PORT4@', vh => 'r12', extra => 'SSLProtocol TLSv1.2'));
my ($S13, $S12, $R13, $R12) = map { $ssl->port($_) } 0 .. 3;
my $tls = tls_backend(conf => backend_vhost(vh => 'tls', extra =>
    "TLSClientCertificate require\nTLSClientCA \@PKI\@/ca.crt\nTLSClientVerifyDepth 2"));
my $T = $tls->port;

my $alice = 'TLSProxyMachineCertificate @PKI@/client-alice.crt @PKI@/client-alice.key';
my $bob = 'TLSProxyMachineCertificate @PKI@/client-bob.crt @PKI@/client-bob.key';
# the server config: on, the test CA; a <Proxy> section of its own gives
# alice's certificate towards the mod_tls backend by address
my $global = <<"EOF";
TLSProxyEngine on
TLSProxyCA \@PKI\@/ca.crt
<Proxy https://127.0.0.1:$T/>
    $alice
</Proxy>
EOF
my $fe = frontend(listen => 4, global => $global, conf =>
    # A: inherits the server config; a <Proxy> section adds alice for one
    # mod_ssl worker (by name), the other (by address) has none
      vhost(port => '@PORT1@', extra => <<"EOF")
ProxyPass /ssl13/ https://localhost:$S13/
<Proxy https://localhost:$S13/>
    $alice
</Proxy>
ProxyPass /ssl12/ https://localhost:$S12/
<Proxy https://localhost:$S12/>
    $alice
</Proxy>
ProxyPass /nocert/ https://127.0.0.1:$S13/
ProxyPass /main-section/ https://127.0.0.1:$T/
ProxyPass /r13/ https://localhost:$R13/ disablereuse=On
ProxyPass /r12/ https://localhost:$R12/ disablereuse=On
EOF
    # B: bob for the whole vhost; its <Proxy> section gives alice instead
    . vhost(port => '@PORT2@', extra => <<"EOF")
$bob
ProxyPass /bob/ https://localhost:$T/
ProxyPass /alice/ https://localhost:$S13/
<Proxy https://localhost:$S13/>
    $alice
</Proxy>
ProxyPass /bob-ssl/ https://127.0.0.1:$S13/
EOF
    # C: another CA for the vhost; a <Proxy> section trusts the test CA again
    . vhost(port => '@PORT3@', extra => <<"EOF")
TLSProxyCA \@PKI\@/other-ca.crt
ProxyPass /section-ca/ https://localhost:$R13/
<Proxy https://localhost:$R13/>
    TLSProxyCA \@PKI\@/ca.crt
</Proxy>
ProxyPass /vhost-ca/ https://127.0.0.1:$R13/
EOF
    # D: turns the server config's TLSProxyEngine off
    . vhost(port => '@PORT4@', extra => "TLSProxyEngine off\nProxyPass /off/ https://localhost:$R13/\n"));
my @fp = map { $fe->port($_) } 0 .. 3;

sub get { my ($i, $path) = @_; return fetch("http://127.0.0.1:$fp[$i]$path") }

sub sees {
    my ($i, $path, $who, $what) = @_;
    my $mark = $fe->log_mark;
    my $r = get($i, "$path/cgi-bin/vars.cgi");
    is($r->{status}, 200, "$what: 200") or diag($r->{out} . $fe->log_since($mark));
    is($r->{env}{SSL_CLIENT_VERIFY}, $who ? 'SUCCESS' : 'NONE', "$what: the backend verified it");
    is($r->{env}{SSL_CLIENT_S_DN_CN} // '', $who // '', "$what: the backend saw " . ($who // 'none'));
    is(scalar(tls_errors($fe, $mark)), 0, "$what: no mod_tls error");
    return $r;
}

# ---------------------------------------------------------------- certificates

my $r = sees(0, '/ssl13', 'alice', 'mod_ssl backend requiring a certificate, TLS 1.3');
is($r->{env}{SSL_PROTOCOL}, 'TLSv1.3', 'over TLS 1.3');
like($r->{env}{SSL_CLIENT_S_DN}, qr/^emailAddress=alice\@example\.test,CN=alice,OU=ops,OU=dev,O=mod_tls tests$/,
     "mod_ssl's SSL_CLIENT_S_DN is alice's subject");
$r = sees(0, '/ssl12', 'alice', 'mod_ssl backend requiring a certificate, TLS 1.2');
is($r->{env}{SSL_PROTOCOL}, 'TLSv1.2', 'over TLS 1.2');

# the same over TLS 1.2, where the refusal ends the handshake
my $fe12 = frontend(conf => vhost(extra => "TLSProxyEngine on\nTLSProxyCA \@PKI\@/ca.crt\n"
                                  . "ProxyPass /nocert12/ https://localhost:$S12/\n"));
my $m12 = $fe12->log_mark;
$r = fetch("http://127.0.0.1:" . $fe12->port . '/nocert12/index.html');
is($r->{status}, 502, 'no certificate, TLS 1.2 backend: 502');
my @l12;
wait_until(sub { @l12 = tls_errors($fe12, $m12) }, timeout => 5);
is(scalar @l12, 1, 'no certificate, TLS 1.2: one mod_tls line') or diag(join("\n", @l12));
like($l12[0] // '', qr/TLS handshake with backend localhost:$S12 failed: the backend sent the alert '[^']+' after asking for a client certificate, which we do not have/,
     'no certificate, TLS 1.2: the handshake failed, the backend had asked for one');
$fe12->stop;

for my $n (1, 2) {
    my $mark = $fe->log_mark;
    $r = get(0, '/nocert/index.html');
    is($r->{status}, 502, "no TLSProxyMachineCertificate, the backend requires one ($n): 502");
    my @lines;
    wait_until(sub { @lines = tls_errors($fe, $mark) }, timeout => 5);
    is(scalar @lines, 1, "no certificate ($n): one mod_tls line") or diag(join("\n", @lines));
    # (over TLS 1.3 the backend's alert comes after our side of the
    # handshake is done, when the response is read)
    like($lines[0] // '', qr/TLS read with backend 127\.0\.0\.1:$S13 failed: the backend sent the alert '[^']+' after asking for a client certificate, which we do not have \(see TLSProxyMachineCertificate\)/,
         "no certificate ($n): the line names the backend and says it asked for one");
}

# ---------------------------------------------------------------- merging

sees(0, '/main-section', 'alice', "a <Proxy> section of the server config, in a vhost (mod_tls backend)");
sees(1, '/bob', 'bob', 'the vhost\'s TLSProxyMachineCertificate (mod_tls backend)');
sees(1, '/alice', 'alice', "the vhost's <Proxy> section overrides it");
sees(1, '/bob-ssl', 'bob', 'the vhost\'s certificate towards mod_ssl');

$r = get(2, '/section-ca/index.html');
is($r->{status}, 200, "a <Proxy> section's TLSProxyCA over the vhost's") or diag($r->{out});
my $mark = $fe->log_mark;
$r = get(2, '/vhost-ca/index.html');
is($r->{status}, 502, "the vhost's TLSProxyCA over the server config's: 502 for the test CA's certificate");
like(join("\n", tls_errors($fe, $mark)), qr/unable to get local issuer certificate/, 'unknown CA');

$mark = $fe->log_mark;
$r = get(3, '/off/index.html');
is($r->{status}, 500, "the vhost's TLSProxyEngine off over the server config's on: no TLS, 500");
is(scalar(tls_errors($fe, $mark)), 0, 'nothing from mod_tls');

# ---------------------------------------------------------------- mod_ssl resumption

for my $case (['r13', 'TLSv1.3'], ['r12', 'TLSv1.2']) {
    my ($path, $proto) = @$case;
    my $n0 = @{backend_log($ssl)};
    for my $i (1 .. 3) {
        $r = get(0, "/$path/index.html");
        is($r->{status}, 200, "mod_ssl backend, $proto, connection $i: 200");
    }
    my @rows = @{backend_log($ssl)}[$n0 .. $#{backend_log($ssl)}];
    is(scalar(keys %{{ map { $_->{port} => 1 } @rows }}), 3, "mod_ssl backend, $proto: three connections");
    is(join(' ', map { $_->{resumed} } @rows), 'Initial Resumed Resumed',
       "mod_ssl backend, $proto: sessions resumed");
}

is(scalar(tls_errors($tls, 0)), 0, 'no mod_tls error at the mod_tls backend');

finish();
