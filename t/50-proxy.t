# TLS to proxied backends, the working path: a frontend served by mod_tls
# proxies https:// through mod_tls (TLSProxyEngine) to a backend httpd with
# mod_tls. The backend's CGI shows what it saw (protocol, cipher, SNI,
# resumption); its request log shows on how many connections the requests
# came. Checked: TLS 1.3 and 1.2 backends; keep-alive (fewer backend
# connections than requests); SNI = the backend's host name, none for an IP
# address (whose certificate must then hold that address), the request's
# host with ProxyPreserveHost, each name reaching its own backend vhost;
# TLSProxyProtocol and TLSProxyPriorities in a <Proxy> section; ALPN
# http/1.1; session resumption towards backends that get a new connection
# per request (disablereuse), TLS 1.3 and 1.2; the frontend's proxy
# counters; bodies of tens of MB both ways (uploads checked by the
# backend's CGI, downloads by the test), under the event and prefork MPMs.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestProxy;
use Test::More;

plan skip_all => 'mod_proxy_http is not installed'
    unless -f "$TLSTest::Httpd::MODDIR/mod_proxy_http.so";
plan skip_all => 'the proxy tests need mod_tls (MOD_TLS_TEST_EMULATE=ssl set)'
    if $TLSTest::Httpd::EMULATE;

pki_cert('other', cn => 'other.localhost', dns => ['other.localhost']);
my $be = tls_backend(listen => 5, conf =>
      backend_vhost(port => '@PORT@', vh => 'b13')
    . backend_vhost(port => '@PORT@', name => 'other.localhost', certs => ['other'], vh => 'other')
    . backend_vhost(port => '@PORT2@', vh => 'b12', extra => 'TLSProtocol TLSv1.2')
    . backend_vhost(port => '@PORT3@', vh => 'r13')
    . backend_vhost(port => '@PORT4@', vh => 'r12', extra => 'TLSProtocol TLSv1.2')
    . backend_vhost(port => '@PORT5@', vh => 'p'));
my @bp = map { $be->port($_) } 0 .. 4;
big_file($be, 'big.bin', 30);

# the frontend: TLS for its clients on @PORT@, plain HTTP on @PORT2@ (for
# mod_status)
my $routes = <<"EOF";
TLSProxyEngine on
TLSProxyCA \@PKI\@/ca.crt
ProxyPass /b13/ https://localhost:$bp[0]/
ProxyPass /b12/ https://localhost:$bp[1]/
ProxyPass /ip/ https://127.0.0.1:$bp[0]/
ProxyPass /r13/ https://localhost:$bp[2]/ disablereuse=On
ProxyPass /r12/ https://localhost:$bp[3]/ disablereuse=On
ProxyPass /p/ https://localhost:$bp[4]/
<Proxy https://localhost:$bp[4]/>
    TLSProxyProtocol TLSv1.2
    TLSProxyPriorities NORMAL:-CIPHER-ALL:+CHACHA20-POLY1305
</Proxy>
<Location /sni/>
    ProxyPass https://localhost:$bp[0]/
    ProxyPreserveHost On
</Location>
EOF
my $conf = tls_vhost(extra => $routes) . vhost(port => '@PORT2@', extra => $routes);

sub fe_url { my ($fe, $path) = @_; return "https://localhost:" . $fe->port . $path }

my $fe = frontend(listen => 2, conf => $conf);
my $fport = $fe->port;

# ---------------------------------------------------------------- basics

my $r = fetch(fe_url($fe, '/b13/cgi-bin/vars.cgi'));
is($r->{status}, 200, 'GET through a TLS frontend to an https:// backend: 200') or diag($r->{out});
is($r->{env}{HTTPS}, 'on', 'the backend saw HTTPS');
is($r->{env}{SSL_PROTOCOL}, 'TLSv1.3', 'TLS 1.3 to a backend that speaks it');
is($r->{env}{SSL_TLS_SNI}, 'localhost', "SNI is the backend's host name");
is($r->{env}{HTTP_X_FORWARDED_HOST}, "localhost:$fport", 'it is a proxied request');
is($r->{headers}{'x-vh'}, 'b13', 'the backend vhost answered');

$r = fetch(fe_url($fe, '/b12/cgi-bin/vars.cgi'));
is($r->{status}, 200, 'TLS 1.2 backend: 200') or diag($r->{out});
is($r->{env}{SSL_PROTOCOL}, 'TLSv1.2', 'TLS 1.2 to a backend limited to it');
like($r->{env}{SSL_CIPHER} // '', qr/^ECDHE-ECDSA-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)$/,
     'a forward-secret AEAD suite (the default priorities)');

$r = fetch(fe_url($fe, '/b13/index.html'));
is($r->{body}, TLSTest::Httpd->index_content, 'a static page arrives intact');

# ALPN: the backend logs the protocol switch only for h2; at debug level
# mod_tls logs what was agreed on the frontend's side
my $dbg = frontend(conf => vhost(extra => "LogLevel tls:debug\n$routes"));
my $mark = $dbg->log_mark;
$r = fetch("http://127.0.0.1:" . $dbg->port . '/b13/index.html');
is($r->{status}, 200, 'a plain-HTTP frontend proxies to https:// too');
like($dbg->wait_log(qr/TLS handshake with backend/, since => $mark),
     qr/TLS handshake with backend localhost:$bp[0] done: TLS1\.3, .*full handshake, SNI localhost, ALPN http\/1\.1/,
     'the frontend offers ALPN http/1.1 to an http backend, and logs the handshake at debug');
$dbg->stop;

# ---------------------------------------------------------------- keep-alive

my $before = @{backend_log($be)};
my $c0 = proxy_counters($fe, port => 1);
for my $i (1 .. 10) {
    $r = fetch(fe_url($fe, "/b13/index.html?ka$i"));
    is($r->{status}, 200, "keep-alive request $i: 200");
}
my @ka = grep { $_->{uri} eq '/index.html' } @{backend_log($be)}[$before .. $#{backend_log($be)}];
my %ports = map { $_->{port} => 1 } @ka;
is(scalar @ka, 10, 'the backend served the ten requests');
cmp_ok(scalar(keys %ports), '<', 10, 'on fewer connections (' . scalar(keys %ports) . ') than requests: '
       . 'backend connections are kept alive and reused');
my $c1 = proxy_counters($fe, port => 1);
cmp_ok($c1->{TLSProxyHandshakesFull} - $c0->{TLSProxyHandshakesFull}, '<', 10,
       'fewer backend handshakes than requests');

# ---------------------------------------------------------------- names

$r = fetch(fe_url($fe, '/ip/cgi-bin/vars.cgi'));
is($r->{status}, 200, 'https://127.0.0.1: the certificate holds the address: 200') or diag($r->{out});
is($r->{env}{SSL_TLS_SNI} // '', '', 'no SNI for an IP address (RFC 6066)');

$r = fetch(fe_url($fe, '/sni/cgi-bin/vars.cgi'), host => 'other.localhost');
is($r->{status}, 200, 'ProxyPreserveHost with Host other.localhost: 200') or diag($r->{out});
is($r->{env}{SSL_TLS_SNI}, 'other.localhost', "SNI is the request's host");
is($r->{headers}{'x-vh'}, 'other', 'which chose the backend vhost of that name');
is($r->{env}{SSL_SERVER_S_DN_CN}, 'other.localhost', 'with its own certificate');
$r = fetch(fe_url($fe, '/sni/cgi-bin/vars.cgi'), host => 'localhost');
is($r->{headers}{'x-vh'}, 'b13', 'and Host localhost the default one');
is($r->{env}{SSL_TLS_SNI}, 'localhost', 'with SNI localhost');

# ---------------------------------------------------------------- <Proxy> settings

$r = fetch(fe_url($fe, '/p/cgi-bin/vars.cgi'));
is($r->{status}, 200, '<Proxy> with TLSProxyProtocol and TLSProxyPriorities: 200') or diag($r->{out});
is($r->{env}{SSL_PROTOCOL}, 'TLSv1.2', 'TLSProxyProtocol TLSv1.2 in the <Proxy> section');
is($r->{env}{SSL_CIPHER}, 'ECDHE-ECDSA-CHACHA20-POLY1305', 'TLSProxyPriorities in the <Proxy> section');
$r = fetch(fe_url($fe, '/b13/cgi-bin/vars.cgi'));
is($r->{env}{SSL_PROTOCOL}, 'TLSv1.3', 'other backends keep the vhost settings');

# ---------------------------------------------------------------- resumption

for my $case (['r13', 'TLSv1.3'], ['r12', 'TLSv1.2']) {
    my ($path, $proto) = @$case;
    my $n0 = @{backend_log($be)};
    my $k0 = proxy_counters($fe, port => 1);
    for my $i (1 .. 4) {
        $r = fetch(fe_url($fe, "/$path/index.html"));
        is($r->{status}, 200, "$proto, new backend connection per request: request $i: 200");
    }
    my @rows = @{backend_log($be)}[$n0 .. $#{backend_log($be)}];
    my %conns = map { $_->{port} => 1 } @rows;
    is(scalar(keys %conns), 4, "$proto: four requests on four backend connections (disablereuse)");
    is(join(' ', map { $_->{proto} } @rows), join(' ', ($proto) x 4), "$proto: all $proto");
    is(join(' ', map { $_->{resumed} } @rows), 'Initial Resumed Resumed Resumed',
       "$proto: the first connection's session is resumed by the next ones");
    my $k1 = proxy_counters($fe, port => 1);
    is($k1->{TLSProxyHandshakesResumed} - $k0->{TLSProxyHandshakesResumed}, 3,
       "$proto: the frontend counts three resumed backend handshakes");
    is($k1->{TLSProxyHandshakesFull} - $k0->{TLSProxyHandshakesFull}, 1,
       "$proto: and one full one");
}

# ---------------------------------------------------------------- big bodies

# (not through /echo: mod_proxy_http sends the whole request body before
# it reads the response, and mod_reflector answers while it reads, so the
# two wait for each other with any backend, plain or TLS)
sub big_bodies {
    my ($h, $label, $url) = @_;
    my $src = tmpdir() . '/random-20.bin';
    make_random_file($src, 20 * 1024 * 1024);
    my $r = fetch("$url/cgi-bin/vars.cgi", upload => $src, timeout => 120);
    is($r->{status}, 200, "$label: a 20 MiB upload: 200") or diag($r->{out});
    is($r->{env}{BODY_LENGTH}, -s $src, "$label: the backend's CGI read the whole upload");
    is($r->{env}{BODY_SHA256}, sha256_file($src), "$label: intact");
    my $got = tmpdir() . "/big-$label.out";
    $r = fetch("$url/big.bin", out => $got, timeout => 120);
    is($r->{status}, 200, "$label: a 30 MiB download: 200") or diag($r->{out});
    is(-s $got, -s $be->docroot . '/big.bin', "$label: all of it");
    is(sha256_file($got), sha256_file($be->docroot . '/big.bin'), "$label: intact");
    unlink $got;
}
big_bodies($fe, 'event, TLS frontend', "https://localhost:$fport/b13");
big_bodies($fe, 'event, TLS 1.2 backend', "https://localhost:$fport/b12");

$fe->stop;
my $pre = frontend(mpm => 'prefork', conf => $conf, listen => 2);
$r = fetch(fe_url($pre, '/b13/cgi-bin/vars.cgi'));
is($r->{status}, 200, 'prefork frontend: 200') or diag($r->{out});
is($r->{env}{SSL_PROTOCOL}, 'TLSv1.3', 'prefork frontend: TLS 1.3 to the backend');
big_bodies($pre, 'prefork', "http://127.0.0.1:" . $pre->port(1) . "/b13");

is(scalar(tls_errors($_, 0)), 0, "no mod_tls error in the log of $_->{dir}") for $fe, $pre, $be;

finish();
