# mod_status shows mod_tls's counters: server-status?auto lists
# TLSHandshakesFull/Resumed/Failed, TLSSessionCacheHits/Misses/Stores,
# TLSConnections (open TLS connections) and, for backends (t/50-proxy.t
# counts those), TLSProxyHandshakesFull/Resumed/Failed; the HTML page has a
# mod_tls section.
# The counters are read over a plain-HTTP port (no handshake of their own)
# of a prefork server with four children, so they must add up across child
# processes; they survive a graceful restart.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestCache;
use Test::More;

my @NAMES = qw(TLSHandshakesFull TLSHandshakesResumed TLSHandshakesFailed
               TLSSessionCacheHits TLSSessionCacheMisses TLSSessionCacheStores TLSConnections
               TLSProxyHandshakesFull TLSProxyHandshakesResumed TLSProxyHandshakesFailed);

my $h = TLSTest::Httpd->new(mpm => 'prefork', listen => 3,
    global => socache_load('shmcb') . resume_log_conf() . prefork_children(4),
    conf => tls_vhost(extra => resume_headers())                      # @PORT@: tickets
          . plain_status_conf()                                       # @PORT2@: plain HTTP
          . tls_vhost(port => '@PORT3@', extra => resume_headers() . 'TLSSessionTickets off'));
$h->start;
my ($tickets, $ids) = ($h->port(0), $h->port(2));
# another server, for a session id this one has never seen
my $other = TLSTest::Httpd->new(global => socache_load('shmcb'),
                                conf => tls_vhost(extra => 'TLSSessionTickets off'))->start;

my $c0 = status_counters($h);
is_deeply([sort keys %$c0], [sort @NAMES], '?auto lists the ten TLS counters') or diag(explain($c0));
is($c0->{$_}, 0, "fresh server: $_ is 0") for @NAMES;

# delta(BEFORE, AFTER): the change of every counter, as "Name=+N ..." for the non-zero ones
sub delta {
    my ($b, $a) = @_;
    return join(' ', map { "$_=+" . ($a->{$_} - $b->{$_}) } grep { $a->{$_} != $b->{$_} } @NAMES);
}
sub after_settling {
    my ($want) = @_;
    # connection counts drop when the server has cleaned up the connection
    my $c;
    wait_until(sub { $c = status_counters($h); $c->{TLSConnections} == $want }, timeout => 10);
    return $c;
}

# eight full handshakes, spread over the children
my $c = status_counters($h);
for my $i (1 .. 8) {
    my $r = tls_get(client => 'curl', port => $tickets, version => ($i % 2 ? '1.3' : '1.2'),
                    path => "/index.html?full$i");
    is($r->{status}, 200, "full handshake $i: 200");
}
my $c1 = after_settling(0);
# (a full TLS 1.2 handshake also puts its session in the cache, for clients
# that resume by session id)
is(delta($c, $c1), 'TLSHandshakesFull=+8 TLSSessionCacheStores=+4',
   'eight full handshakes counted as eight, the four TLS 1.2 sessions stored');
my %pids = map { $_->{pid} => 1 } grep { $_->{uri} =~ /\?full\d$/ } @{resume_log($h)};
cmp_ok(scalar(keys %pids), '>', 1, 'they ran in ' . scalar(keys %pids) . ' child processes');

# a resumption by ticket
my ($f, $s) = ossl_pair(port => $tickets, version => '1.3');
is($s->{reused}, 1, 'ticket resumption happened');
my $c2 = after_settling(0);
is(delta($c1, $c2), 'TLSHandshakesFull=+1 TLSHandshakesResumed=+1', 'ticket: one full, one resumed');

# session ids through the shmcb cache: a store, then a hit
my ($f2, $s2) = ossl_pair(port => $ids, version => '1.2');
is($s2->{reused}, 1, 'session id resumption happened');
my $c3 = after_settling(0);
is(delta($c2, $c3), 'TLSHandshakesFull=+1 TLSHandshakesResumed=+1 TLSSessionCacheHits=+1 TLSSessionCacheStores=+1',
   'session id: one full handshake stored, one resumed from a cache hit');

# an unknown session id: a miss, a full handshake, a store
my $foreign = tmpdir() . '/foreign.pem';
ossl_conn(port => $other->port, version => '1.2', sess_out => $foreign);
my $m = ossl_conn(port => $ids, version => '1.2', sess_in => $foreign);
is($m->{reused}, 0, 'a session id of another server is not resumed');
my $c4 = after_settling(0);
is(delta($c3, $c4), 'TLSHandshakesFull=+1 TLSSessionCacheMisses=+1 TLSSessionCacheStores=+1',
   'unknown session id: a cache miss, then a full handshake that is stored');

# failed handshakes: no cipher in common (an ECDSA-only server, a client with
# only RSA suites); a client that rejects the certificate
my $none = s_client(port => $tickets, version => '1.2', args => ['-cipher', 'ECDHE-RSA-AES128-GCM-SHA256'])->{out};
like($none, qr/alert handshake failure/i, 'a client without a cipher in common gets a handshake_failure alert')
    or diag($none);
# (the PKI's "Other CA" is a root that did not sign the server's certificate)
my $rejected = s_client(port => $tickets, ca => pki() . '/other-ca.crt', strict => 1)->{out};
like($rejected, qr/verify error|certificate verify failed/i, 'a client that does not trust the server aborts');
my $c5;
wait_until(sub { $c5 = status_counters($h); $c5->{TLSHandshakesFailed} - $c4->{TLSHandshakesFailed} >= 2 }, timeout => 10);
$c5 = after_settling(0);
is(delta($c4, $c5), 'TLSHandshakesFailed=+2', 'two failed handshakes counted, nothing else');

# open connections
my $ctx = perl_session_cache(version => '1.3');
my @open = map { perl_get(port => $tickets, cache => $ctx, keep => 1, path => "/index.html?open$_")->{sock} } 1 .. 3;
is(scalar(grep { defined } @open), 3, 'three TLS connections held open');
my $c6 = after_settling(3);
is($c6->{TLSConnections}, 3, 'TLSConnections: 3 while three are open');
my $self = tls_get(client => 'curl', port => $tickets, path => '/server-status?auto');
like($self->{body} // '', qr/^TLSConnections: 4\s*$/m, 'over TLS, the status request counts its own connection: 4');
close($_) for grep { defined } @open;
my $c7 = after_settling(0);
is($c7->{TLSConnections}, 0, 'TLSConnections: 0 after they closed');
is($c7->{TLSHandshakesFull} - $c6->{TLSHandshakesFull}, 1, 'the status request over TLS was a full handshake');

# the HTML page
my $html = status_get($h);
is($html->{status}, 200, 'server-status HTML page');
like($html->{body}, qr{<h2>mod_tls</h2>}, 'HTML page has a mod_tls section');
like($html->{body}, qr{<th>TLSHandshakesFull</th><td>$c7->{TLSHandshakesFull}</td>}, 'HTML page shows the full handshakes');
like($html->{body}, qr{<th>TLSSessionCacheHits</th><td>$c7->{TLSSessionCacheHits}</td>}, 'HTML page shows the cache hits');

# a graceful restart keeps the totals
$h->graceful;
my $c8 = after_settling(0);
is(delta($c7, $c8), '', 'graceful restart: every counter kept its value') or diag(explain($c7, $c8));
tls_get(client => 'curl', port => $tickets);
my $c9 = after_settling(0);
is(delta($c8, $c9), 'TLSHandshakesFull=+1', 'after the restart counting goes on');

finish();
