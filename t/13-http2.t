# ALPN and HTTP/2 over mod_tls (mod_http2 through ap_select_protocol /
# ap_switch_protocol): curl --http2, nghttp and h2load speak h2; clients that
# offer only http/1.1, or no ALPN, get HTTP/1.1; a vhost with "Protocols
# http/1.1" never selects h2. Request variables (HTTPS, SSL_PROTOCOL,
# SSL_TLS_SNI, SSL_CIPHER) work inside HTTP/2 streams, for CGI (StdEnvVars)
# and mod_headers; SNI picks the vhost for h2 connections too.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use Test::More;

my $vars = <<'EOF';
Header always set X-P "%{SSL_PROTOCOL}s"
Header always set X-SNI "%{SSL_TLS_SNI}s"
Header always set X-HTTPS "%{HTTPS}s"
<Location /cgi-bin/>
    TLSOptions +StdEnvVars
</Location>
EOF
my $h = TLSTest::Httpd->new(listen => 3, modules => ['http2'], conf => join('',
    tls_vhost(name => 'localhost', vh => 'default', extra => "Protocols h2 http/1.1\n$vars"),
    tls_vhost(name => 'other.localhost', certs => ['other'], vh => 'other',
              extra => "Protocols h2 http/1.1\n$vars"),
    tls_vhost(port => '@PORT2@', name => 'localhost', vh => 'h1only',
              extra => "Protocols http/1.1\n$vars"),
    tls_vhost(port => '@PORT3@', name => 'localhost', vh => 'tls12',
              extra => "Protocols h2 http/1.1\nTLSProtocol TLSv1.2\n$vars"),
));
$h->start;
my ($port, $h1port, $tls12port) = ($h->port(0), $h->port(1), $h->port(2));
my $index = TLSTest::Httpd->index_content;

# curl --http2
for my $version ('1.3', '1.2') {
    my $r = tls_get(client => 'curl', port => $port, version => $version, args => ['--http2']);
    is($r->{alpn}, 'h2', "curl --http2 TLS $version: ALPN h2") or diag($r->{out});
    is($r->{http_version}, '2', "curl --http2 TLS $version: HTTP/2 response");
    is($r->{status}, 200, "curl --http2 TLS $version: status 200");
    is($r->{body}, $index, "curl --http2 TLS $version: the page");
    is($r->{proto}, "TLSv$version", "curl --http2 TLS $version: TLS $version");
    is($r->{headers}{'x-p'}, "TLSv$version", "curl --http2 TLS $version: %{SSL_PROTOCOL}s in the stream");
    is($r->{headers}{'x-sni'}, 'localhost', "curl --http2 TLS $version: %{SSL_TLS_SNI}s in the stream");
    is($r->{headers}{'x-https'}, 'on', "curl --http2 TLS $version: %{HTTPS}s in the stream");

    my $cgi = tls_get(client => 'curl', port => $port, version => $version, args => ['--http2'],
                      path => '/cgi-bin/env.cgi');
    is($cgi->{http_version}, '2', "curl --http2 TLS $version CGI: HTTP/2");
    my $env = parse_env($cgi->{body});
    is($env->{SERVER_PROTOCOL}, 'HTTP/2.0', "TLS $version h2 CGI: SERVER_PROTOCOL=HTTP/2.0");
    is($env->{HTTPS}, 'on', "TLS $version h2 CGI: HTTPS=on");
    is($env->{SSL_PROTOCOL}, "TLSv$version", "TLS $version h2 CGI: SSL_PROTOCOL");
    is($env->{SSL_TLS_SNI}, 'localhost', "TLS $version h2 CGI: SSL_TLS_SNI");
    is($env->{SSL_CIPHER}, $cgi->{cipher}, "TLS $version h2 CGI: SSL_CIPHER is what curl negotiated");
    is($env->{REQUEST_SCHEME}, 'https', "TLS $version h2 CGI: REQUEST_SCHEME=https");
}

# SNI picks the vhost for h2 connections as well
{
    my $r = tls_get(client => 'curl', port => $port, sni => 'other.localhost', args => ['--http2']);
    is($r->{http_version}, '2', 'curl --http2, SNI other.localhost: HTTP/2');
    is($r->{headers}{'x-vh'}, 'other', 'curl --http2, SNI other.localhost: vhost other');
    is($r->{headers}{'x-sni'}, 'other.localhost', 'curl --http2, SNI other.localhost: SSL_TLS_SNI');
    my $env = parse_env(tls_get(client => 'curl', port => $port, sni => 'other.localhost',
                                args => ['--http2'], path => '/cgi-bin/env.cgi')->{body});
    is($env->{SSL_TLS_SNI}, 'other.localhost', 'h2 CGI, SNI other.localhost: SSL_TLS_SNI');
    is($env->{SSL_SERVER_S_DN_CN}, 'other.localhost', 'h2 CGI, SNI other.localhost: SSL_SERVER_S_DN_CN');
    # a stream for a vhost with another certificate is misdirected
    $r = tls_get(client => 'curl', port => $port, args => ['--http2'], host => 'other.localhost');
    is($r->{http_version}, '2', 'curl --http2, SNI localhost, Host other.localhost: HTTP/2');
    is($r->{status}, 421, 'curl --http2, SNI localhost, Host other.localhost: 421') or diag($r->{out});
}

# curl --http1.1 on the same vhost
{
    my $r = tls_get(client => 'curl', port => $port, args => ['--http1.1']);
    is($r->{alpn}, 'http/1.1', 'curl --http1.1: ALPN http/1.1') or diag($r->{out});
    is($r->{http_version}, '1.1', 'curl --http1.1: HTTP/1.1 response');
    is($r->{status}, 200, 'curl --http1.1: status 200');
    is($r->{headers}{'x-p'}, 'TLSv1.3', 'curl --http1.1: X-P');
}

# openssl s_client: no ALPN -> HTTP/1.1; http/1.1 -> http/1.1; h2 -> h2
{
    my $r = tls_get(client => 'openssl', port => $port);
    is($r->{alpn}, '', 'openssl without -alpn: no ALPN negotiated') or diag($r->{out});
    like($r->{out}, qr/^No ALPN negotiated/m, 'openssl without -alpn: "No ALPN negotiated"');
    is($r->{status}, 200, 'openssl without -alpn: HTTP/1.1 200');
    is($r->{body}, $index, 'openssl without -alpn: the page');

    $r = tls_get(client => 'openssl', port => $port, args => ['-alpn', 'http/1.1']);
    like($r->{out}, qr{^ALPN protocol: http/1\.1$}m, 'openssl -alpn http/1.1: "ALPN protocol: http/1.1"');
    is($r->{status}, 200, 'openssl -alpn http/1.1: HTTP/1.1 200');

    $r = tls_get(client => 'openssl', port => $port, args => ['-alpn', 'h2']);
    like($r->{out}, qr{^ALPN protocol: h2$}m, 'openssl -alpn h2: "ALPN protocol: h2"') or diag($r->{out});
    ok(!defined $r->{status}, 'openssl -alpn h2: no HTTP/1.1 response to an HTTP/1.1 request');

    $r = tls_get(client => 'openssl', port => $port, args => ['-alpn', 'h2,http/1.1'], version => '1.2');
    like($r->{out}, qr{^ALPN protocol: h2$}m, 'openssl TLS 1.2 -alpn h2,http/1.1: h2');

    $r = tls_get(client => 'gnutls', port => $port, args => ['--alpn=h2', '--alpn=http/1.1']);
    is($r->{alpn}, 'h2', 'gnutls-cli --alpn=h2 --alpn=http/1.1: h2') or diag($r->{out});
    $r = tls_get(client => 'gnutls', port => $port, args => ['--alpn=http/1.1']);
    is($r->{alpn}, 'http/1.1', 'gnutls-cli --alpn=http/1.1: http/1.1');
    is($r->{status}, 200, 'gnutls-cli --alpn=http/1.1: HTTP/1.1 200');
}

# nghttp: several streams on one connection, headers and CGI in streams
SKIP: {
    skip 'nghttp not installed', 6 unless have_tool('nghttp');
    my ($rc, $out) = run_cmd(['nghttp', '-v', '-y', "https://localhost:$port/cgi-bin/env.cgi",
                              "https://localhost:$port/index.html"], timeout => 30);
    like($out, qr/negotiated protocol: h2$/im, 'nghttp: negotiated h2') or diag($out);
    my @status = $out =~ /recv \(stream_id=\d+\) :status: (\d+)/g;
    is("@status", '200 200', 'nghttp: two streams, both 200');
    like($out, qr/recv \(stream_id=\d+\) x-p: TLSv1\.3/, 'nghttp: x-p: TLSv1.3 in a stream');
    my $env = parse_env($out);
    is($env->{SSL_PROTOCOL}, 'TLSv1.3', 'nghttp CGI: SSL_PROTOCOL');
    is($env->{HTTPS}, 'on', 'nghttp CGI: HTTPS');
    is($env->{SSL_TLS_SNI}, 'localhost', 'nghttp CGI: SSL_TLS_SNI');
}

# h2load: 200 requests on 4 connections, 10 concurrent streams each
SKIP: {
    skip 'h2load not installed', 12 unless have_tool('h2load');
    my $r = h2load("https://localhost:$port/", '-n', 200, '-c', 4, '-m', 10);
    is($r->{proto}, 'TLSv1.3', 'h2load: TLS Protocol: TLSv1.3') or diag($r->{out});
    is($r->{alpn}, 'h2', 'h2load: Application protocol: h2');
    is($r->{total}, 200, 'h2load: 200 requests');
    is($r->{succeeded}, 200, 'h2load: 200 succeeded');
    is($r->{s2xx}, 200, 'h2load: 200 2xx status codes');
    is(($r->{failed} // -1) + ($r->{errored} // -1), 0, 'h2load: none failed or errored');
    $r = h2load("https://localhost:$port/", '-n', 100, '-c', 2, '--h1');
    is($r->{alpn}, 'http/1.1', 'h2load --h1: Application protocol: http/1.1') or diag($r->{out});
    is($r->{s2xx}, 100, 'h2load --h1: 100 2xx');
    # h2 on TLS 1.2 too (a vhost with TLSProtocol TLSv1.2)
    $r = h2load("https://localhost:$tls12port/", '-n', 50, '-c', 2, '-m', 5);
    is($r->{proto}, 'TLSv1.2', 'h2load, TLSProtocol TLSv1.2 vhost: TLS Protocol: TLSv1.2') or diag($r->{out});
    like($r->{cipher} // '', qr/^ECDHE-ECDSA-.*GCM|CHACHA20/, "h2load TLS 1.2: an AEAD ECDHE-ECDSA cipher ($r->{cipher})");
    is($r->{alpn}, 'h2', 'h2load TLS 1.2: Application protocol: h2');
    is($r->{s2xx}, 50, 'h2load TLS 1.2: 50 2xx');
}

# the vhost with "Protocols http/1.1" never selects h2
{
    my $r = tls_get(client => 'curl', port => $h1port, args => ['--http2']);
    is($r->{status}, 200, 'Protocols http/1.1, curl --http2: status 200') or diag($r->{out});
    is($r->{http_version}, '1.1', 'Protocols http/1.1, curl --http2: HTTP/1.1 response');
    isnt($r->{alpn} // '', 'h2', 'Protocols http/1.1, curl --http2: h2 not negotiated');
    is($r->{headers}{'x-vh'}, 'h1only', 'Protocols http/1.1: the h1only vhost');
    my $o = tls_get(client => 'openssl', port => $h1port, args => ['-alpn', 'h2,http/1.1']);
    is($o->{status}, 200, 'Protocols http/1.1, openssl -alpn h2,http/1.1: HTTP/1.1 200');
    unlike($o->{out}, qr/^ALPN protocol: h2/m, 'Protocols http/1.1, openssl -alpn h2,http/1.1: not h2');
    if (have_tool('h2load')) {
        my $l = h2load("https://localhost:$h1port/", '-n', 10, '-c', 1);
        is($l->{alpn}, 'http/1.1', 'Protocols http/1.1, h2load (offers h2, http/1.1): http/1.1')
            or diag($l->{out});
        is($l->{s2xx}, 10, 'Protocols http/1.1, h2load: 10 2xx over HTTP/1.1');
    }
}

finish();
