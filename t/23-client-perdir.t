# Per-directory client authentication: a vhost that does not ask for a
# certificate in the handshake, and <Location /secure> TLSClientCertificate
# require. TLS 1.3: post-handshake authentication (openssl -enable_pha, curl,
# Perl); TLS 1.2: server-initiated renegotiation (curl, openssl, Perl). 200
# with a certificate, 403 without (or without PHA, with a log line); a request
# body arrives intact across the re-authentication; HTTP/2 cannot ask (403);
# the connection stays usable after a 403, and a second request after a
# successful authentication is not asked again.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestClient;
use Test::More;
use IO::Socket::SSL;

my $DEPTH = client_depth();
my $h = install_scripts(TLSTest::Httpd->new(modules => ['http2'], conf => tls_vhost(extra => <<"EOF")));
Protocols h2 http/1.1
TLSClientCA \@PKI\@/ca.crt
TLSClientVerifyDepth $DEPTH
TLSOptions +StdEnvVars
ScriptAlias /secure/ \@DIR\@/cgi-bin/
<Location /secure/>
    TLSClientCertificate require
</Location>
EOF
$h->start;
my $port = $h->port;
my $body_file = make_random_file(tmpdir() . '/body-64k', 65536);
my $body = slurp($body_file);
my $body_sha = sha256_file($body_file);

# --- openssl s_client
for my $version ('1.3', '1.2') {
    my $pha = $version eq '1.3';
    my $r = ossl(port => $port, version => $version, cert => 'alice', pha => $pha,
                 path => '/secure/vars.cgi');
    my $resp = $r->{responses}[0] || {};
    is($resp->{status}, 200, "openssl TLS $version" . ($pha ? ' -enable_pha' : '') . ' with alice: 200')
        or diag($r->{out});
    my $env = env_of($resp);
    is($env->{SSL_CLIENT_VERIFY}, 'SUCCESS', "openssl TLS $version with alice: SSL_CLIENT_VERIFY");
    is($env->{SSL_CLIENT_S_DN_CN}, 'alice', "openssl TLS $version with alice: SSL_CLIENT_S_DN_CN");
    is($env->{SSL_PROTOCOL}, "TLSv$version", "openssl TLS $version: SSL_PROTOCOL");

    $r = ossl(port => $port, version => $version, pha => $pha, path => '/secure/vars.cgi');
    is(($r->{responses}[0] || {})->{status}, 403, "openssl TLS $version without a certificate: 403")
        or diag($r->{out});
}
# TLS 1.3 without -enable_pha: the server cannot ask
{
    my $mark = $h->log_mark;
    my $r = ossl(port => $port, version => '1.3', cert => 'alice', path => '/secure/vars.cgi');
    is(($r->{responses}[0] || {})->{status}, 403, 'openssl TLS 1.3 without -enable_pha: 403')
        or diag($r->{out});
    ok($h->wait_log(qr/post-handshake authentication/, since => $mark),
       'the log names post-handshake authentication') or diag($h->log_since($mark));
}
# the public part of the vhost asks nothing
{
    my $r = ossl(port => $port, version => '1.3', pha => 1, path => '/cgi-bin/vars.cgi');
    my $env = env_of($r->{responses}[0]);
    is($r->{responses}[0]{status}, 200, 'public CGI: 200');
    is($env->{SSL_CLIENT_VERIFY}, 'NONE', 'public CGI: SSL_CLIENT_VERIFY=NONE');
}

# --- curl
for my $version ('1.3', '1.2') {
    my @v = version_args('curl', $version);
    my $url = "https://localhost:$port/secure/vars.cgi";
    my $out = tmpdir() . '/curl.out';
    my ($rc, $err) = run_cmd(curl_cmd($port, @v, cert_args('curl', 'alice'),
        '-o', $out, '-w', '%{http_code}', $url));
    is($err, '200', "curl TLS $version with alice: 200");
    my $env = parse_env(slurp($out));
    is($env->{SSL_CLIENT_S_DN_CN}, 'alice', "curl TLS $version with alice: SSL_CLIENT_S_DN_CN");
    ($rc, $err) = run_cmd(curl_cmd($port, @v, '-o', '/dev/null', '-w', '%{http_code}', $url));
    is($err, '403', "curl TLS $version without a certificate: 403");
    # a 64 KiB POST body arrives intact across the re-authentication
    ($rc, $err) = run_cmd(curl_cmd($port, @v, cert_args('curl', 'alice'),
        '--data-binary', "\@$body_file", '-H', 'Content-Type: application/octet-stream',
        '-o', $out, '-w', '%{http_code}', $url));
    is($err, '200', "curl TLS $version POST 64 KiB with alice: 200");
    $env = parse_env(slurp($out));
    is($env->{BODY_LENGTH}, 65536, "curl TLS $version POST: body length");
    is($env->{BODY_SHA256}, $body_sha, "curl TLS $version POST: body sha256");
}
# HTTP/2 cannot re-authenticate: the stream is refused (403, which mod_http2
# turns into HTTP_1_1_REQUIRED: curl then repeats the request over HTTP/1.1,
# where post-handshake authentication works), and the log says why
{
    my $mark = $h->log_mark;
    my $alog = $h->dir . '/logs/access.log';
    my $amark = $h->file_mark($alog);
    my ($rc, $res) = run_cmd(curl_cmd($port, '--http2', '-v', cert_args('curl', 'alice'),
        '-o', '/dev/null', '-w', 'RESULT %{http_code} %{http_version}\n', "https://localhost:$port/secure/vars.cgi"));
    ok($h->wait_file($alog, qr{"GET /secure/vars\.cgi HTTP/2\.0" 403 }, since => $amark),
       'HTTP/2, per-directory require: the h2 request is answered 403')
        or diag(substr(slurp($alog), $amark));
    like($res, qr/HTTP_1_1_REQUIRED/, 'HTTP/2: the client is told to use HTTP/1.1');
    like($res, qr/^RESULT 200 1\.1$/m, 'HTTP/2: curl repeats over HTTP/1.1 and gets 200')
        or diag($res);
    ok($h->wait_log(qr/\[tls:info\].*HTTP\/2 cannot ask/, since => $mark), 'the log says that HTTP/2 cannot ask')
        or diag($h->log_since($mark));
    ($rc, $res) = run_cmd(curl_cmd($port, '--http2', '-o', '/dev/null', '-w', '%{http_code} %{http_version}',
        "https://localhost:$port/"));
    is($res, '200 2', 'HTTP/2, public page: 200');
}

# --- Perl: requests one after the other on one connection
for my $version ('1.3', '1.2') {
    my $asked = 0;
    my $s = client_connect(port => $port, version => $version, cert => 'alice', requests_seen => \$asked)
        or die "connect: $SSL_ERROR";
    my $r = send_request($s, path => '/cgi-bin/vars.cgi');
    is($r->{status}, 200, "Perl TLS $version alice: public page first");
    is($asked, 0, "Perl TLS $version alice: not asked for the public page");
    $r = send_request($s, path => '/secure/vars.cgi', method => 'POST', body => $body);
    is($r->{status}, 200, "Perl TLS $version alice: POST /secure/ 200") or diag($r->{error});
    my $env = env_of($r);
    is($env->{BODY_SHA256}, $body_sha, "Perl TLS $version alice: POST body intact");
    is($env->{SSL_CLIENT_S_DN_CN}, 'alice', "Perl TLS $version alice: SSL_CLIENT_S_DN_CN");
    is($asked, 1, "Perl TLS $version alice: asked once");
    $r = send_request($s, path => '/secure/vars.cgi');
    is($r->{status}, 200, "Perl TLS $version alice: second /secure/ request 200");
    is(env_of($r)->{SSL_CLIENT_VERIFY}, 'SUCCESS', "Perl TLS $version alice: still SUCCESS");
    is($asked, 1, "Perl TLS $version alice: not asked again");
    $r = send_request($s, path => '/cgi-bin/vars.cgi', close => 1);
    is(env_of($r)->{SSL_CLIENT_S_DN_CN}, 'alice', "Perl TLS $version alice: the public page now sees alice too");
    close $s;

    # no certificate (TLS 1.3: PHA offered, an empty Certificate is the answer)
    $asked = 0;
    $s = client_connect(port => $port, version => $version, pha => 1, requests_seen => \$asked)
        or die "connect: $SSL_ERROR";
    $r = send_request($s, path => '/secure/vars.cgi', method => 'POST', body => $body);
    is($r->{status}, 403, "Perl TLS $version no certificate: 403") or diag($r->{error});
    is($asked, 1, "Perl TLS $version no certificate: was asked");
    $r = send_request($s, path => '/cgi-bin/vars.cgi');
    is($r->{status}, 200, "Perl TLS $version no certificate: the connection still serves a public page");
    is(env_of($r)->{SSL_CLIENT_VERIFY}, 'NONE', "Perl TLS $version no certificate: SSL_CLIENT_VERIFY=NONE after the 403");
    $r = send_request($s, path => '/secure/vars.cgi', close => 1);
    is($r->{status}, 403, "Perl TLS $version no certificate: /secure/ again: 403");
    close $s;

    # a certificate that fails verification: 403, and no identity afterwards
    $s = client_connect(port => $port, version => $version, cert => 'expired') or die "connect: $SSL_ERROR";
    $r = send_request($s, path => '/secure/vars.cgi');
    is($r->{status}, 403, "Perl TLS $version expired: 403");
    $r = send_request($s, path => '/cgi-bin/vars.cgi', close => 1);
    is($r->{status}, 200, "Perl TLS $version expired: public page after the 403");
    is(join(' ', identity_vars(env_of($r))), '', "Perl TLS $version expired: no identity after the 403");
    close $s;
}

finish();
