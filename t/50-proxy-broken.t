# TLS to proxied backends that break: a relay between the frontend and a
# mod_tls backend cuts the connection (a close, or a TCP reset) during the
# handshake, or in the middle of a 4 MiB response, over HTTP/1.1 and h2. The
# client gets 502 (nothing had been sent yet) or a truncated response, the
# request ends at once, never a crash or a worker left busy; the frontend
# serves on. A kept-alive backend connection that the backend closes while
# it idles in mod_proxy's pool is noticed and replaced without an error.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Time::HiRes qw(time sleep);
use TLSTest;
use TLSTestProxy;
use TLSTestRelay;
use Test::More;

plan skip_all => 'mod_proxy_http is not installed'
    unless -f "$TLSTest::Httpd::MODDIR/mod_proxy_http.so";
plan skip_all => 'the proxy tests need mod_tls (MOD_TLS_TEST_EMULATE=ssl set)'
    if $TLSTest::Httpd::EMULATE;
my $H2 = -f "$TLSTest::Httpd::MODDIR/mod_proxy_http2.so" && -f "$TLSTest::Httpd::MODDIR/mod_http2.so";

my $be = tls_backend(listen => 2, modules => [$H2 ? 'http2' : ()],
    global => $H2 ? "Protocols h2 http/1.1\n" : '',
    conf => backend_vhost(port => '@PORT1@', vh => 'be')
          . backend_vhost(port => '@PORT2@', vh => 'short', extra => 'KeepAliveTimeout 1'));
my ($B, $BS) = ($be->port(0), $be->port(1));
my $big = big_file($be, 'big.bin', 4);
my $full = -s $big;

# relays: the backend's first flight (its certificates) is well over 200
# bytes; 600000 bytes is inside the response
my %relay = (
    'cut-hs'    => TLSTestRelay->new(to => $B, cut_after => 200),
    'reset-hs'  => TLSTestRelay->new(to => $B, cut_after => 200, reset => 1),
    'cut'       => TLSTestRelay->new(to => $B, cut_after => 600000),
    'reset'     => TLSTestRelay->new(to => $B, cut_after => 600000, reset => 1),
);
my $routes = "TLSProxyEngine on\nTLSProxyCA \@PKI\@/ca.crt\n"
           . join('', map { "ProxyPass /$_/ https://localhost:" . $relay{$_}->port . "/\n" } sort keys %relay)
           . "ProxyPass /short/ https://localhost:$BS/\n";
$routes .= join('', map { "ProxyPass /h2-$_/ h2://localhost:" . $relay{$_}->port . "/\n" } sort keys %relay)
    if $H2;
my $fe = frontend(modules => [$H2 ? ('proxy_http2', 'http2') : ()], conf => vhost(extra => $routes));
my $F = $fe->port;

sub busy_workers {
    my $r = plain_get($F, path => '/server-status?auto');
    return $r->{body} =~ /^BusyWorkers: (\d+)/m ? $1 : -1;
}

my @CASES = (['cut-hs', 'closed during the handshake', 'hs'],
             ['reset-hs', 'reset during the handshake', 'hs'],
             ['cut', 'closed in the middle of the response', 'body'],
             ['reset', 'reset in the middle of the response', 'body']);
for my $proto ('HTTP/1.1', $H2 ? 'h2' : ()) {
    for my $case (@CASES) {
        my ($name, $what, $when) = @$case;
        my $path = $proto eq 'h2' ? "/h2-$name/big.bin" : "/$name/big.bin";
        my $label = "$proto backend $what";
        my $mark = $fe->log_mark;
        my $got = tmpdir() . '/got.bin';
        my $t0 = time;
        my $r = fetch("http://127.0.0.1:$F$path", out => $got, timeout => 60);
        my $took = time - $t0;
        cmp_ok($took, '<', 10, sprintf('%s: the request ended after %.1f s', $label, $took));
        if ($when eq 'hs') {
            like($r->{status} // '', qr/^50[23]$/, "$label: " . ($r->{status} // 'no response'));
            my @lines;
            wait_until(sub { @lines = tls_errors($fe, $mark) }, timeout => 5);
            ok(@lines >= 1, "$label: mod_tls says why");
            like($lines[0] // '', qr/TLS handshake with backend localhost:\d+ failed: (the backend closed the connection during the handshake|network error: (Connection reset by peer|Broken pipe))/,
                 "$label: the backend closed or reset the connection");
        }
        else {
            ok(($r->{status} // 0) == 502 || (($r->{size} // 0) < $full && $r->{rc} != 0),
               "$label: 502 or a truncated response (status " . ($r->{status} // 'none')
               . ", $r->{size} of $full bytes, curl exit $r->{rc})");
        }
        unlink $got;
        # the frontend goes on: the worker is free again, others are served
        ok(wait_until(sub { busy_workers() == 1 }, timeout => 10),
           "$label: no worker left busy (but the one reading server-status)");
    }
}

my $r = fetch("http://127.0.0.1:$F/short/index.html");
is($r->{status}, 200, 'the frontend serves on after the broken backends');

# an idle kept-alive backend connection closed by the backend
my $n0 = @{backend_log($be)};
$r = fetch("http://127.0.0.1:$F/short/index.html?1");
is($r->{status}, 200, 'short keep-alive backend: first request: 200');
# the backend's KeepAliveTimeout (1 s) ends it: the frontend's end of it
# leaves the established state when the backend's FIN arrives
my $established = sub { scalar grep { /\S/ } `ss -Htn state established '( dport = :$BS )'` };
ok($established->() >= 1, 'the frontend keeps its backend connection alive');
ok(wait_until(sub { $established->() == 0 }, timeout => 10), 'until the backend closes it');
my $mark = $fe->log_mark;
$r = fetch("http://127.0.0.1:$F/short/index.html?2");
is($r->{status}, 200, 'after the backend closed the idle connection: 200');
my @rows = @{backend_log($be)}[$n0 .. $#{backend_log($be)}];
is(scalar @rows, 2, 'the backend saw both requests');
isnt($rows[0]{port}, $rows[1]{port}, 'on a new backend connection');
is(scalar(tls_errors($fe, $mark)), 0, 'and no mod_tls error');

$_->stop for values %relay;
finish();
