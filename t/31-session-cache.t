# The server-side session cache (TLSSessionCache over httpd's socache
# providers) serves TLS 1.2 session-ID resumption: tickets are off here, so
# a resumption can only come from the cache. Covered: the default (shmcb when
# mod_socache_shmcb is loaded), shmcb with a path and size, dbm, none, no
# socache module at all; TLSSessionCacheTimeout (expired entries and tickets
# are not resumed); TLS 1.3 without tickets does not resume; configuration
# mistakes (provider module not loaded, directive in a virtual host).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestCache;
use Test::More;
use Time::HiRes qw(time);

my $vhost = tls_vhost(extra => resume_headers() . "TLSSessionTickets off");

# [ name, global config, resumes? ]
my @caches = (
    ['default (shmcb loaded, no TLSSessionCache)', socache_load('shmcb'), 1],
    ['shmcb:path(bytes)', socache_load('shmcb')
        . "TLSSessionCache shmcb:\@DIR\@/run/tls-scache(512000)\n", 1],
    ['dbm:path', socache_load('dbm') . "TLSSessionCache dbm:\@DIR\@/run/tls-sessions\n", 1],
    ['none (shmcb loaded)', socache_load('shmcb') . "TLSSessionCache none\n", 0],
    ['no socache module, no TLSSessionCache', '', 0],
);

for my $c (@caches) {
    my ($name, $global, $resumes) = @$c;
    my $h = TLSTest::Httpd->new(global => $global, conf => $vhost);
    $h->start;
    my $port = $h->port;

    # gnutls-cli --noticket: session ids only
    my $g = gnutls_resume(port => $port, version => '1.2', noticket => 1);
    is($g->{handshakes}, 2, "$name: gnutls TLS 1.2, two handshakes") or diag($g->{out});
    is($g->{resumed}, $resumes, "$name: gnutls TLS 1.2 --noticket " . ($resumes ? 'resumes' : 'does not resume'))
        or diag($g->{out});
    is($g->{status}, 200, "$name: gnutls TLS 1.2, request on the second connection: 200");
    is($g->{headers}{'x-r'}, $resumes ? 'Resumed' : 'Initial', "$name: gnutls TLS 1.2, SSL_SESSION_RESUMED");

    # openssl: the session id of the first connection is offered again
    my ($first, $second) = ossl_pair(port => $port, version => '1.2');
    is($first->{lifetime_hint}, undef, "$name: no ticket (TLSSessionTickets off)");
    is($first->{headers}{'x-r'}, 'Initial', "$name: openssl, first connection Initial");
    is($first->{headers}{'x-sid'}, lc($first->{session_id} // ''),
       "$name: SSL_SESSION_ID is the TLS 1.2 session id (lower-case hex)");
    is($second->{reused}, $resumes, "$name: openssl -sess_in " . ($resumes ? 'reused' : 'new')) or diag($second->{out});
    is($second->{status}, 200, "$name: openssl, second connection 200");
    is($second->{headers}{'x-r'}, $resumes ? 'Resumed' : 'Initial', "$name: openssl, second SSL_SESSION_RESUMED");
    if ($resumes) {
        is($second->{headers}{'x-sid'}, $first->{headers}{'x-sid'},
           "$name: the resumed session keeps its id");
    } else {
        isnt($second->{headers}{'x-sid'}, $first->{headers}{'x-sid'},
             "$name: a full handshake gets a new session id");
    }

    # TLS 1.3 resumes by ticket only: with tickets off, a full handshake
    my $g13 = gnutls_resume(port => $port, version => '1.3');
    is($g13->{resumed}, 0, "$name: TLS 1.3 without tickets does not resume") or diag($g13->{out});
    is($g13->{status}, 200, "$name: ... and is served");

    if ($name =~ /^dbm/) {
        my @files = glob($h->dir . '/run/tls-sessions*');
        ok(@files, 'dbm: the cache file exists in the configured place') or diag(`ls -l ${\ $h->dir}/run`);
    }
    if ($name =~ /^no socache/) {
        like($h->error_log, qr/no TLS session cache/, 'no socache module: mod_tls says there is no cache');
    }
    $h->stop;
}

# ---------------------------------------------------------------- timeout

{
    my $h = TLSTest::Httpd->new(listen => 2, global => socache_load('shmcb') . "TLSSessionCacheTimeout 2\n",
        conf => $vhost . tls_vhost(port => '@PORT2@', extra => resume_headers()));
    $h->start;
    my ($port, $tickets) = ($h->port(0), $h->port(1));
    my $file = tmpdir() . '/timeout-sid.pem';
    my %file = map { $_ => tmpdir() . "/timeout-ticket-$_.pem" } '1.2', '1.3';

    my $first = ossl_conn(port => $port, version => '1.2', sess_out => $file);
    my %tfirst = map { $_ => ossl_conn(port => $tickets, version => $_, sess_out => $file{$_}) } '1.2', '1.3';
    my $t0 = time;
    is($first->{reused}, 0, 'timeout 2: full handshake');
    for my $v ('1.2', '1.3') {
        is($tfirst{$v}{lifetime_hint}, 2, "timeout 2: TLS $v ticket lifetime is the cache timeout")
            or diag($tfirst{$v}{out});
    }
    my $again = ossl_conn(port => $port, version => '1.2', sess_in => $file);
    is($again->{reused}, 1, 'timeout 2: resumed at once') or diag($again->{out});
    is($again->{headers}{'x-r'}, 'Resumed', 'timeout 2: ... SSL_SESSION_RESUMED=Resumed');
    my $tagain = ossl_conn(port => $tickets, version => '1.2', sess_in => $file{'1.2'});
    is($tagain->{reused}, 1, 'timeout 2: TLS 1.2 ticket resumed at once') or diag($tagain->{out});
    ok(time < $t0 + 2, 'timeout 2: ... within the timeout')
        or diag('the test machine is too slow for a 2 s timeout');

    # the session is older than the timeout now. (Past its lifetime hint
    # OpenSSL no longer offers a TLS 1.3 ticket at all; the TLS 1.2 ticket
    # and the session id are judged by the server.)
    wait_past($t0 + 3);
    my $late = ossl_conn(port => $port, version => '1.2', sess_in => $file);
    is($late->{reused}, 0, 'timeout 2: the expired session id is not resumed') or diag($late->{out});
    is($late->{status}, 200, 'timeout 2: ... the full handshake serves the request');
    is($late->{headers}{'x-r'}, 'Initial', 'timeout 2: ... SSL_SESSION_RESUMED=Initial');
    for my $v ('1.2', '1.3') {
        my $tlate = ossl_conn(port => $tickets, version => $v, sess_in => $file{$v});
        is($tlate->{reused}, 0, "timeout 2: the expired TLS $v ticket is not resumed") or diag($tlate->{out});
        is($tlate->{status}, 200, "timeout 2: ... TLS $v request served");
        is($tlate->{headers}{'x-r'}, 'Initial', "timeout 2: ... TLS $v Initial");
    }
    # and a fresh session resumes again
    my ($f1, $f2) = ossl_pair(port => $port, version => '1.2');
    is($f2->{reused}, 1, 'timeout 2: a new session resumes');
    $h->stop;
}

# ---------------------------------------------------------------- mistakes

sub config_error {
    my ($name, $global, $conf, $line_re, $directive, $reason) = @_;
    TLSTest::Httpd->new(global => $global, conf => $conf)
        ->configtest_refuses($name, $line_re, $directive, $reason);
}

for my $p (qw(memcache redis shmcb dbm)) {
    my $arg = $p =~ /^(memcache|redis)$/ ? "$p:127.0.0.1:1" : "$p:\@DIR\@/run/x";
    config_error("TLSSessionCache $p without mod_socache_$p", '', "TLSSessionCache $arg\n" . tls_vhost(),
                 qr/^TLSSessionCache/, 'TLSSessionCache',
                 qr/LoadModule socache_${p}_module/);
}
config_error('TLSSessionCache with an unknown provider', '', "TLSSessionCache nosuchcache:x\n" . tls_vhost(),
             qr/^TLSSessionCache/, 'TLSSessionCache', qr/nosuchcache/);
config_error('TLSSessionCache in a virtual host', socache_load('shmcb'),
             tls_vhost(extra => 'TLSSessionCache shmcb'),
             qr/^\s+TLSSessionCache/, 'TLSSessionCache', qr/not allowed|VirtualHost|server config/i);
config_error('TLSSessionCacheTimeout not a number', '', "TLSSessionCacheTimeout soon\n" . tls_vhost(),
             qr/^TLSSessionCacheTimeout/, 'TLSSessionCacheTimeout', qr/soon|number|seconds/i);

finish();
