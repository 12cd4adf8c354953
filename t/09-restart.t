# Graceful restart: replaced certificate files are picked up by new
# connections, and connections in flight (a keep-alive connection between
# requests, a download in progress) finish on the old generation.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use Test::More;

my $pki = pki();
my $tmp = tmpdir();
my $big = make_random_file("$tmp/big.bin", 16 * 1024 * 1024);
my $index = TLSTest::Httpd->index_content;

# install(NAME): copies NAME.crt/.key of the PKI to the live files
sub install {
    my ($name) = @_;
    spit("$tmp/live.crt", TLSTest::slurp("$pki/$name.crt"));
    spit("$tmp/live.key", TLSTest::slurp("$pki/$name.key"), 0600);
}

sub served_cn {
    my ($port) = @_;
    my $r = tls_get(client => 'openssl', port => $port);
    return cert_info($r->{certs}[0])->{cn} // "none: $r->{out}";
}

# the peer certificate's CN seen on an open Perl connection
sub peer_cn { ($_[0]->peer_certificate('subject') =~ /CN\s*=\s*([^\/,]+)/)[0] // '' }

for my $mpm (qw(event worker prefork)) {
    install('server-ecdsa');
    my $h = TLSTest::Httpd->new(mpm => $mpm, conf =>
        tls_vhost(certs => ["$tmp/live.crt $tmp/live.key"],
                  extra => "Alias /big.bin $big\n<Location /big.bin>\n    Require all granted\n</Location>"));
    $h->start;
    my $port = $h->port;
    is(served_cn($port), 'localhost', "$mpm: serves CN=localhost before the restart");

    # a keep-alive connection with its first request done
    my $ka = tls_connect(port => $port) or die "connect: $IO::Socket::SSL::SSL_ERROR";
    print $ka http_request(path => '/index.html?1');
    my $r = eval { read_response($ka) } || { status => $@ };
    is($r->{status}, 200, "$mpm: keep-alive connection, first request");

    # a download in progress: headers and a first part read
    my $dl = tls_connect(port => $port) or die "connect: $IO::Socket::SSL::SSL_ERROR";
    print $dl http_request(path => '/big.bin', close => 1);
    my $head = eval { read_response($dl, head => 1) } || { status => $@ };
    is($head->{status}, 200, "$mpm: download started");

    install('other');
    $h->graceful;

    is(served_cn($port), 'other.localhost', "$mpm: new connections get the replaced certificate");
    my $new = tls_get(client => 'curl', port => $port);
    is($new->{body}, $index, "$mpm: new connections are served");

    # the old connections finish on the old generation. (The event MPM
    # closes idle keep-alive connections at a graceful restart, with
    # mod_ssl too: there only the download is in flight.)
    if ($mpm ne 'event') {
        print $ka http_request(path => '/index.html?2', close => 1);
        $r = eval { read_response($ka) } || { status => $@ };
        is($r->{status}, 200, "$mpm: keep-alive connection, second request after the restart");
        is($r->{body}, $index, "$mpm: keep-alive connection, second body");
        is(peer_cn($ka), 'localhost', "$mpm: keep-alive connection still on the old certificate");
    }

    my $sha = Digest::SHA->new(256);
    my $got = 0;
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm(60);
        # what read_response(head => 1) already buffered comes first
        my $buffered = read_buffered($dl);
        $sha->add($buffered);
        $got += length $buffered;
        while (1) {
            my $n = sysread($dl, my $chunk, 65536);
            last unless $n;
            $sha->add($chunk);
            $got += $n;
        }
        alarm(0);
    };
    is($got, -s $big, "$mpm: download in progress completes after the restart");
    is($sha->hexdigest, sha256_file($big), "$mpm: download sha256 equal");
    close($ka);
    close($dl);
    $h->stop;
}

finish();
