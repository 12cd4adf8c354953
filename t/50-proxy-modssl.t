# TLS to proxied backends with mod_ssl loaded in the same frontend: a
# virtual host with SSLProxyEngine keeps going through mod_ssl, one with
# TLSProxyEngine through mod_tls, one with both through mod_tls (the
# documented choice), one with neither gets mod_proxy's 500. A frontend
# vhost served by mod_ssl can proxy through mod_tls and one served by
# mod_tls through mod_ssl. Which module made a backend connection shows in
# the protocol the backend saw (mod_ssl's side asks for TLS 1.2 here) and
# in mod_tls's proxy handshake counters.
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

my $be = tls_backend(conf => backend_vhost(vh => 'be'));
my $B = $be->port;

my $ssl_proxy = "SSLProxyEngine on\nSSLProxyCACertificateFile \@PKI\@/ca.crt\n"
              . "SSLProxyProtocol TLSv1.2\nSSLProxyCheckPeerName on";
my $tls_proxy = "TLSProxyEngine on\nTLSProxyCA \@PKI\@/ca.crt";
my $route = "ProxyPass /be/ https://localhost:$B/";
my $ssl_frontend = "SSLEngine on\nSSLCertificateFile \@PKI\@/server-ecdsa.crt\n"
                 . "SSLCertificateKeyFile \@PKI\@/server-ecdsa.key";
my $fe = frontend(listen => 7, modules => ['ssl', 'socache_shmcb'],
    global => "SSLSessionCache shmcb:\@DIR\@/run/ssl_scache(512000)\n",
    conf => vhost(port => '@PORT1@', extra => "$ssl_proxy\n$route")
          . vhost(port => '@PORT2@', extra => "$tls_proxy\n$route")
          . vhost(port => '@PORT3@', extra => "$ssl_proxy\n$tls_proxy\n$route")
          . vhost(port => '@PORT4@', extra => $route)
          . vhost(port => '@PORT5@', extra => "$ssl_frontend\n$tls_proxy\n$route")
          . tls_vhost(port => '@PORT6@', extra => "$ssl_proxy\n$route")
          . vhost(port => '@PORT7@'));
my @fp = map { $fe->port($_) } 0 .. 6;

# through(PORT, SCHEME, WHAT, PROTO, TLS_HANDSHAKES): a request through the
# frontend vhost on PORT reaches the backend over PROTO, with mod_tls making
# TLS_HANDSHAKES backend handshakes for it
sub through {
    my ($port, $scheme, $what, $proto, $by_tls) = @_;
    my $c0 = proxy_counters($fe, port => 6);
    my $mark = $fe->log_mark;
    my $r = fetch("$scheme://localhost:$port/be/cgi-bin/vars.cgi");
    is($r->{status}, 200, "$what: 200") or diag($r->{out} . $fe->log_since($mark));
    is($r->{env}{SSL_PROTOCOL}, $proto, "$what: the backend saw $proto");
    my $c1 = proxy_counters($fe, port => 6);
    is($c1->{TLSProxyHandshakesFull} - $c0->{TLSProxyHandshakesFull}, $by_tls,
       "$what: " . ($by_tls ? 'mod_tls made the backend connection' : 'not mod_tls'));
    is(scalar(tls_errors($fe, $mark)), 0, "$what: no mod_tls error");
}

through($fp[0], 'http', 'SSLProxyEngine on', 'TLSv1.2', 0);
through($fp[1], 'http', 'TLSProxyEngine on', 'TLSv1.3', 1);
through($fp[2], 'http', 'both on', 'TLSv1.3', 1);
through($fp[4], 'https', 'a mod_ssl frontend proxying through mod_tls', 'TLSv1.3', 1);
through($fp[5], 'https', 'a mod_tls frontend proxying through mod_ssl', 'TLSv1.2', 0);

my $mark = $fe->log_mark;
my $r = fetch("http://localhost:$fp[3]/be/index.html");
is($r->{status}, 500, 'neither: mod_proxy answers 500');
like($fe->wait_log(qr/AH01961/, since => $mark), qr/SSLProxyEngine/, "with mod_proxy's hint");

# the mod_ssl routes again: kept-alive connections stay with their module
through($fp[0], 'http', 'SSLProxyEngine on, again', 'TLSv1.2', 0);
through($fp[1], 'http', 'TLSProxyEngine on, again (a kept-alive connection)', 'TLSv1.3', 0);

finish();
