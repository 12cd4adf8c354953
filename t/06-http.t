# HTTP over TLS under the event, worker and prefork MPMs: keep-alive,
# pipelining, an 8 MiB upload echoed byte for byte, a 64 MiB download.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use Test::More;

my $tmp = tmpdir();
my $big    = make_random_file("$tmp/big.bin", 64 * 1024 * 1024);
my $upload = make_random_file("$tmp/upload.bin", 8 * 1024 * 1024);
my $index  = TLSTest::Httpd->index_content;

for my $mpm (qw(event worker prefork)) {
    my $h = TLSTest::Httpd->new(mpm => $mpm,
        conf => tls_vhost(extra => "Alias /big.bin $big\n<Location /big.bin>\n    Require all granted\n</Location>"));
    $h->start;
    my $port = $h->port;
    my $url = "https://localhost:$port";

    # keep-alive: three requests, one connection
    my @out = map { "$tmp/ka$_.$mpm" } 1 .. 3;
    my ($rc, $text) = run_cmd(curl_cmd($port, '-w', 'RESULT %{http_code} %{num_connects}\n',
        map { ('-o', $out[$_], "$url/index.html?$_") } 0 .. 2));
    my @results = $text =~ /^RESULT (\d+ \d+)$/mg;
    is_deeply(\@results, ['200 1', '200 0', '200 0'],
              "$mpm keep-alive: 3 requests, 200 each, one connection") or diag($text);
    is(TLSTest::slurp($_), $index, "$mpm keep-alive: body $_") for @out;

    # pipelining: three requests written at once, three responses read
    my $s = tls_connect(port => $port) or die "connect: $IO::Socket::SSL::SSL_ERROR";
    print $s http_request(path => '/index.html'), http_request(path => '/cgi-bin/env.cgi'),
             http_request(path => '/index.html?last', close => 1);
    my @r = map { eval { read_response($s) } || { status => "error: $@" } } 1 .. 3;
    is(join(' ', map { $_->{status} } @r), '200 200 200', "$mpm pipelining: 3 responses");
    is($r[0]{body}, $index, "$mpm pipelining: first body");
    like($r[1]{body} // '', qr/^REQUEST_URI=\/cgi-bin\/env\.cgi$/m, "$mpm pipelining: second body (CGI)");
    is($r[2]{body}, $index, "$mpm pipelining: third body");
    close($s);

    # 8 MiB POST echoed by mod_reflector
    my $echo = "$tmp/echo.$mpm";
    ($rc, $text) = run_cmd(curl_cmd($port, '--data-binary', "\@$upload",
        '-H', 'Content-Type: application/octet-stream', '-o', $echo,
        '-w', 'RESULT %{http_code}\n', "$url/echo"), timeout => 120);
    like($text, qr/RESULT 200/, "$mpm upload: status 200") or diag($text);
    is(-s $echo, -s $upload, "$mpm upload: 8 MiB echoed");
    is(sha256_file($echo), sha256_file($upload), "$mpm upload: echoed byte for byte (sha256)");

    # 64 MiB download
    my $down = "$tmp/down.$mpm";
    ($rc, $text) = run_cmd(curl_cmd($port, '-o', $down, '-w', 'RESULT %{http_code}\n',
        "$url/big.bin"), timeout => 120);
    like($text, qr/RESULT 200/, "$mpm download: status 200") or diag($text);
    is(-s $down, -s $big, "$mpm download: 64 MiB received");
    is(sha256_file($down), sha256_file($big), "$mpm download: sha256 equal");
    unlink $down, $echo;

    $h->stop;
}

finish();
