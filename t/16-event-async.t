# On the event MPM a TLS connection holds a worker thread only while it has
# work: with 4 worker threads, a dozen clients stuck in their handshake and
# a dozen idle keep-alive connections do not keep a new client from being
# served, and every one of them stays usable. Requests split across records
# at every byte, and pipelined ones, are read right through the MPM's
# keep-alive wait; HTTP/2 and client-certificate handshakes go through the
# MPM's wait too.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestRaw;
use TLSTestClient;
use TLSTestRelay;
use Test::More;

my $THREADS = 4;
my $MANY = 3 * $THREADS;

my $h = TLSTest::Httpd->new(mpm => 'event', modules => ['http2'],
    global => <<"EOF",
ServerLimit 1
StartServers 1
ThreadLimit $THREADS
ThreadsPerChild $THREADS
MinSpareThreads 1
MaxSpareThreads $THREADS
MaxRequestWorkers $THREADS
# waiting connections count against what a process accepts (docs/connections.md)
AsyncRequestWorkerFactor 16
KeepAliveTimeout 30
LogLevel info tls:trace2
EOF
    conf => tls_vhost(extra => <<"EOF"));
Protocols h2 http/1.1
TLSHandshakeTimeout 20
TLSClientCA \@PKI\@/ca.crt
TLSClientVerifyDepth 2
TLSClientCertificate optional
TLSOptions +StdEnvVars
EOF
$h->start;
my $port = $h->port;
my $index = TLSTest::Httpd->index_content;

# more handshakes pending than worker threads
{
    my $half = substr(client_hello(sni => 'localhost', tls13 => 1), 0, 60);
    my @slow = map { raw_connect($port) } 1 .. $MANY;
    syswrite($_, $half) for @slow;
    my $r = tls_get(client => 'curl', port => $port);
    is($r->{status}, 200, "$MANY pending handshakes, $THREADS threads: a new client is served");
    is($r->{body}, $index, 'its body');
    is(scalar(grep { is_open($_) } @slow), $MANY,
       "all $MANY pending handshakes are still open after it was served");
    # One at a time, each until the server has ended it: a dozen closes at
    # once, with a connection right behind them, can leave httpd 2.4's
    # event listener with its listening socket disabled ("all workers
    # busy") and nothing to wake it (docs/connections.md); that is the
    # MPM's race, not what this test is about.
    my $ended = 0;
    for my $sock (@slow) {
        my ($mark, $cport) = ($h->log_mark, $sock->sockport);
        close($sock);
        $ended++ if $h->wait_log(qr/127\.0\.0\.1:$cport\b.*TLS handshake failed/,
                                 since => $mark);
    }
    is($ended, $MANY, 'each pending handshake its client closed ends with a log line');
}

# more idle keep-alive connections than worker threads
{
    my @idle;
    for my $i (1 .. $MANY) {
        my $s = tls_connect(port => $port) or die "connect: $IO::Socket::SSL::SSL_ERROR";
        print $s http_request(path => "/index.html?first=$i");
        my $resp = eval { read_response($s) } || { status => $@ };
        push @idle, $s if $resp->{status} eq '200';
    }
    is(scalar @idle, $MANY, "$MANY keep-alive connections made a request each");
    my $r = tls_get(client => 'curl', port => $port);
    is($r->{status}, 200, "$MANY idle keep-alive connections, $THREADS threads: a new client is served");
    is(scalar(grep { is_open($_) } @idle), $MANY, 'the idle connections are still open');
    my $second = 0;
    # each closed after its answer, not all at once at the end (see above)
    while (my $s = shift @idle) {
        print $s http_request(path => '/index.html?second', close => 1);
        my $resp = eval { read_response($s) } || { status => $@ };
        $second++ if $resp->{status} eq '200' && $resp->{body} eq $index;
        close($s);
    }
    is($second, $MANY, 'each idle connection then serves its second request');
}

# a request split into two records at every byte boundary, and one record
# per byte, on one keep-alive connection
{
    my $req = http_request(path => '/index.html');
    my $s = tls_connect(port => $port) or die "connect: $IO::Socket::SSL::SSL_ERROR";
    my @bad;
    for my $k (1 .. length($req) - 1) {
        syswrite($s, substr($req, 0, $k));
        syswrite($s, substr($req, $k));
        my $resp = eval { read_response($s) } || { status => $@ };
        push @bad, "$k: $resp->{status}" unless $resp->{status} eq '200' && $resp->{body} eq $index;
    }
    syswrite($s, $_) for split //, $req;
    my $resp = eval { read_response($s) } || { status => $@ };
    push @bad, "one byte per record: $resp->{status}" unless $resp->{status} eq '200';
    is_deeply(\@bad, [], 'every split request answered with the page') or diag(join("\n", @bad));

    # three pipelined requests in one record, then three in three records
    for my $records (1, 3) {
        my @reqs = map { http_request(path => "/index.html?p$_") } 1 .. 3;
        if ($records == 1) { syswrite($s, join('', @reqs)) } else { syswrite($s, $_) for @reqs }
        my @st = map { (eval { read_response($s) } || { status => 'none' })->{status} } 1 .. 3;
        is("@st", '200 200 200', "pipelining, requests in $records record(s): three responses");
    }
    close($s);
}

# handshakes that waited in the MPM, HTTP/2 and with a client certificate:
# a relay holds each of the client's flights a moment, as a distant client
# would, so that the server finds nothing to read and must wait
{
    my $relay = TLSTestRelay->new(to => $port, delay => 0.3);
    install_scripts($h);
    my @cases = (
        ['HTTP/2', sub {
            my $r = tls_get(client => 'curl', port => $relay->port, args => ['--http2']);
            is($r->{alpn}, 'h2', 'HTTP/2 negotiated');
            is($r->{http_version}, '2', 'HTTP/2 response');
            is($r->{body}, $index, 'HTTP/2 body');
        }],
        ['client-certificate', sub {
            my $o = ossl(port => $relay->port, cert => 'alice',
                         requests => [http_request(path => '/cgi-bin/vars.cgi', close => 1)]);
            is(env_of($o->{responses}[0])->{SSL_CLIENT_VERIFY}, 'SUCCESS',
               'client certificate verified') or diag($o->{out});
        }],
    );
    for my $case (@cases) {
        my ($name, $run) = @$case;
        my $mark = $h->log_mark;
        $run->();
        my ($cport) = $h->wait_log(qr/TLS handshake done/, since => $mark) =~ /127\.0\.0\.1:(\d+)/;
        $cport //= 0;
        like($h->log_since($mark), qr/127\.0\.0\.1:$cport\b.*TLS handshake waits in the MPM/,
             "the $name handshake waited in the MPM, not in a worker");
    }
    $relay->stop;
}

finish();
