# TLS to proxied backends over HTTP/2: mod_proxy_http2's h2:// through
# mod_tls. mod_proxy_http2 asks for ALPN h2 (the note
# "proxy-request-alpn-protos"); the backends (mod_tls and mod_ssl, with
# mod_http2) see HTTP/2 requests; one backend connection carries many
# requests (mod_proxy_http2 polls it with short socket timeouts, which must
# not end the TLS session); a backend that does not agree to h2 is refused
# with a line that says so, whether it sends an alert (httpd) or ignores
# ALPN (gnutls-serv); bodies of tens of MB go both ways intact, also
# through a frontend that speaks HTTP/2 to its client.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use POSIX ();
use TLSTest;
use TLSTestProxy;
use Test::More;

for my $m (qw(proxy_http2 http2)) {
    plan skip_all => "mod_$m is not installed" unless -f "$TLSTest::Httpd::MODDIR/mod_$m.so";
}
plan skip_all => 'mod_ssl is not installed' unless -f "$TLSTest::Httpd::MODDIR/mod_ssl.so";
plan skip_all => 'the proxy tests need mod_tls (MOD_TLS_TEST_EMULATE=ssl set)'
    if $TLSTest::Httpd::EMULATE;

my $h2 = "Protocols h2 http/1.1\nH2Direct off\n";
my $be = tls_backend(listen => 2, modules => ['http2'], global => $h2,
    conf => backend_vhost(port => '@PORT1@', vh => 'h2')
          . backend_vhost(port => '@PORT2@', vh => 'h1only', extra => 'Protocols http/1.1'));
my ($B, $B1) = ($be->port(0), $be->port(1));
big_file($be, 'big.bin', 30);
my $ssl = ssl_backend(modules => ['http2'], global => $h2, conf => ssl_vhost(vh => 'ssl'));
my $S = $ssl->port;

# gnutls-serv speaks HTTP/1 and ignores ALPN
my $G = free_port();
my $gpid = fork() // die "fork: $!";
if (!$gpid) {
    open(STDOUT, '>', '/dev/null');
    open(STDERR, '>', '/dev/null');
    exec('gnutls-serv', '-p', $G, '--http', '--x509certfile', pki() . '/server-ecdsa.crt',
         '--x509keyfile', pki() . '/server-ecdsa.key') or POSIX::_exit(127);
}
END { if ($gpid) { local $?; kill('TERM', $gpid); waitpid($gpid, 0) } }
ok(wait_until(sub { IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $G) }, timeout => 10),
   'gnutls-serv listens');

my $routes = <<"EOF";
TLSProxyEngine on
TLSProxyCA \@PKI\@/ca.crt
ProxyPass /h2/ h2://localhost:$B/
ProxyPass /h2ssl/ h2://localhost:$S/
ProxyPass /noh2/ h2://localhost:$B1/
ProxyPass /noalpn/ h2://localhost:$G/
EOF
my $fe = frontend(listen => 2, modules => ['proxy_http2', 'http2'], global => $h2,
    conf => tls_vhost(extra => $routes) . vhost(port => '@PORT2@', extra => $routes));
my ($F, $F2) = ($fe->port(0), $fe->port(1));

my $r = fetch("http://127.0.0.1:$F2/h2/cgi-bin/vars.cgi");
is($r->{status}, 200, 'h2:// to a mod_tls backend: 200') or diag($r->{out} . $fe->error_log);
is($r->{env}{SERVER_PROTOCOL}, 'HTTP/2.0', 'the backend saw an HTTP/2 request');
is($r->{env}{SSL_PROTOCOL}, 'TLSv1.3', 'over TLS 1.3');
is($r->{env}{SSL_TLS_SNI}, 'localhost', "SNI is the backend's host name");
is($r->{headers}{'x-vh'}, 'h2', 'from the backend vhost');

$r = fetch("http://127.0.0.1:$F2/h2ssl/cgi-bin/vars.cgi");
is($r->{status}, 200, 'h2:// to a mod_ssl backend: 200') or diag($r->{out});
is($r->{env}{SERVER_PROTOCOL}, 'HTTP/2.0', 'the mod_ssl backend saw HTTP/2');

# many requests, few connections
my $n0 = @{backend_log($be)};
for my $i (1 .. 10) {
    $r = fetch("http://127.0.0.1:$F2/h2/index.html?$i");
    is($r->{status}, 200, "h2 request $i: 200");
}
my @rows = @{backend_log($be)}[$n0 .. $#{backend_log($be)}];
my %conns = map { $_->{port} => 1 } @rows;
is(scalar @rows, 10, 'the backend served ten requests');
cmp_ok(scalar(keys %conns), '<', 10, 'on ' . scalar(keys %conns) . ' backend connection(s)');

# backends that do not speak h2 (mod_proxy_http2 answers 503 and tries
# twice per request, so there is a line per try)
for my $case (['noh2', $B1, 'httpd without h2',
               qr/the backend sent the alert 'No supported application protocol could be negotiated'/],
              ['noalpn', $G, 'gnutls-serv, which ignores ALPN',
               qr/the backend agreed to none of the protocols offered by ALPN \(h2\); does it speak HTTP\/2 \(Protocols h2\)\?/]) {
    my ($path, $port, $what, $reason) = @$case;
    my $mark = $fe->log_mark;
    $r = fetch("http://127.0.0.1:$F2/$path/index.html");
    like($r->{status} // '', qr/^50[23]$/, "h2:// to $what: " . ($r->{status} // 'none'));
    my @lines;
    wait_until(sub { @lines = tls_errors($fe, $mark) }, timeout => 5);
    ok(@lines >= 1, "h2:// to $what: mod_tls says why");
    is(scalar(grep { !/TLS handshake with backend localhost:$port failed: $reason/ } @lines), 0,
       "h2:// to $what: each line names the backend and the reason") or diag(join("\n", @lines));
}

# big bodies, through a frontend that speaks HTTP/1.1 and one that speaks h2
my $src = make_random_file(tmpdir() . '/random-20.bin', 20 * 1024 * 1024);
my $want = sha256_file($src);
for my $case (['HTTP/1.1 client', "http://127.0.0.1:$F2", []],
              ['h2 client', "https://localhost:$F", ['--http2']]) {
    my ($label, $base, $args) = @$case;
    $r = fetch("$base/h2/cgi-bin/vars.cgi", upload => $src, args => $args, timeout => 120);
    is($r->{status}, 200, "$label: 20 MiB upload over h2 to the backend: 200") or diag($r->{out});
    is($r->{env}{BODY_LENGTH}, -s $src, "$label: the backend's CGI read all of it");
    is($r->{env}{BODY_SHA256}, $want, "$label: intact");
    my $got = tmpdir() . '/big.out';
    $r = fetch("$base/h2/big.bin", out => $got, args => $args, timeout => 120);
    is($r->{status}, 200, "$label: 30 MiB download over h2 from the backend: 200") or diag($r->{out});
    is(sha256_file($got), sha256_file($be->docroot . '/big.bin'), "$label: intact");
    unlink $got;
}

is(scalar(grep { !/localhost:($B1|$G) failed/ } tls_errors($fe, 0)), 0, 'no other mod_tls error at the frontend');

finish();
