# Session resumption by ticket (TLSSessionTickets, default on): TLS 1.3 and
# TLS 1.2 tickets with gnutls-cli --resume, openssl s_client -sess_out /
# -sess_in and IO::Socket::SSL; SSL_SESSION_RESUMED and SSL_SESSION_ID per
# request; one TLS 1.3 ticket per connection, also after a resumption; with
# TLSSessionTickets off (per virtual host) no tickets and no resumption, and a
# ticket of another host is a full handshake, not an error. No socache module
# is loaded here, so every resumption in this file is by ticket.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestCache;
use Test::More;

my $h = TLSTest::Httpd->new(listen => 2,
    global => resume_log_conf(),
    conf => tls_vhost(vh => 'a', extra => resume_headers() . "TLSOptions +StdEnvVars")
          . tls_vhost(vh => 'b', name => 'other.localhost', certs => ['other'], extra => resume_headers())
          . tls_vhost(port => '@PORT2@', extra => resume_headers() . "TLSSessionTickets off"));
$h->start;
my ($on, $off) = ($h->port(0), $h->port(1));
like($h->error_log, qr/no TLS session cache/, 'no socache module loaded: no session cache');

for my $v ('1.3', '1.2') {
    # gnutls-cli: connect, disconnect, resume, then one request
    my $g = gnutls_resume(port => $on, version => $v, wait => ($v eq '1.3'));
    is($g->{handshakes}, 2, "gnutls TLS $v: two handshakes") or diag($g->{out});
    is($g->{resumed}, 1, "gnutls TLS $v: the second one is resumed") or diag($g->{out});
    is($g->{status}, 200, "gnutls TLS $v: request on the resumed connection: 200");
    is($g->{headers}{'x-r'}, 'Resumed', "gnutls TLS $v: SSL_SESSION_RESUMED=Resumed");
    is($g->{headers}{'x-proto'}, "TLSv$v", "gnutls TLS $v: SSL_PROTOCOL");
    like($g->{headers}{'x-sid'} // '', qr/^[0-9a-f]{2,64}$/, "gnutls TLS $v: SSL_SESSION_ID in lower-case hex");

    # openssl: save the session of a full handshake, offer it next time
    my ($first, $second) = ossl_pair(port => $on, version => $v);
    is($first->{reused}, 0, "openssl TLS $v: first connection is a full handshake") or diag($first->{out});
    is($first->{headers}{'x-r'}, 'Initial', "openssl TLS $v: first request SSL_SESSION_RESUMED=Initial");
    ok($first->{sess_saved}, "openssl TLS $v: a session was saved");
    is($first->{proto}, "TLSv$v", "openssl TLS $v: protocol");
    is($second->{reused}, 1, "openssl TLS $v: the saved session is resumed") or diag($second->{out});
    is($second->{status}, 200, "openssl TLS $v: resumed connection: 200");
    is($second->{headers}{'x-r'}, 'Resumed', "openssl TLS $v: SSL_SESSION_RESUMED=Resumed");
    is($second->{proto}, "TLSv$v", "openssl TLS $v: resumed with the same protocol");
    if ($v eq '1.3') {
        is($first->{tickets}, 1, 'openssl TLS 1.3: exactly one ticket after a full handshake');
        is($second->{tickets}, 1, 'openssl TLS 1.3: exactly one ticket after a resumption');
    }
    # the ticket lifetime is TLSSessionCacheTimeout's default
    is($first->{lifetime_hint}, 300, "openssl TLS $v: ticket lifetime hint 300 s") or diag($first->{out});

    # the session of a resumed connection resumes again (a chain of tickets)
    my $third = ossl_conn(port => $on, version => $v, sess_in => $first->{sess_file});
    is($third->{reused}, 1, "openssl TLS $v: the same session is offered again: resumed");

    # two full handshakes: two different session ids
    my ($a, $b) = map { ossl_conn(port => $on, version => $v) } 1 .. 2;
    like($a->{headers}{'x-sid'} // '', qr/^[0-9a-f]+$/, "TLS $v: SSL_SESSION_ID is lower-case hex");
    isnt($a->{headers}{'x-sid'}, $b->{headers}{'x-sid'}, "TLS $v: two full handshakes, two session ids");
    is($a->{headers}{'x-r'}, 'Initial', "TLS $v: a client without a session: Initial");

    # IO::Socket::SSL with a client session cache
  SKIP: {
        my $cache = perl_session_cache(version => $v);
        my $p1 = perl_get(port => $on, cache => $cache);
        skip "IO::Socket::SSL: $p1->{error}", 4 if $p1->{error};
        is($p1->{headers}{'x-r'}, 'Initial', "perl TLS $v: first connection Initial");
        my $p2 = perl_get(port => $on, cache => $cache);
        is($p2->{status}, 200, "perl TLS $v: second connection: 200");
        is($p2->{reused}, 1, "perl TLS $v: client sees a reused session");
        is($p2->{headers}{'x-r'}, 'Resumed', "perl TLS $v: server says Resumed");
    }

    # the variables reach CGI with +StdEnvVars
    my ($c1, $c2) = ossl_pair(port => $on, version => $v, path => '/cgi-bin/env.cgi');
    my ($e1, $e2) = map { parse_env($_->{body}) } $c1, $c2;
    is($e1->{SSL_SESSION_RESUMED}, 'Initial', "CGI TLS $v: SSL_SESSION_RESUMED=Initial");
    is($e2->{SSL_SESSION_RESUMED}, 'Resumed', "CGI TLS $v: SSL_SESSION_RESUMED=Resumed");
    like($e2->{SSL_SESSION_ID} // '', qr/^[0-9a-f]+$/, "CGI TLS $v: SSL_SESSION_ID lower-case hex");
    is($e2->{SSL_SESSION_ID}, $c2->{headers}{'x-sid'}, "CGI TLS $v: same SSL_SESSION_ID as mod_headers sees");

    # TLSSessionTickets off on the second virtual host
    my $n = gnutls_resume(port => $off, version => $v);
    is($n->{handshakes}, 2, "tickets off, gnutls TLS $v: two handshakes") or diag($n->{out});
    is($n->{resumed}, 0, "tickets off, gnutls TLS $v: not resumed") or diag($n->{out});
    is($n->{status}, 200, "tickets off, gnutls TLS $v: 200");
    is($n->{headers}{'x-r'}, 'Initial', "tickets off, gnutls TLS $v: Initial");

    my ($o1, $o2) = ossl_pair(port => $off, version => $v);
    is($o1->{status}, 200, "tickets off, openssl TLS $v: 200");
    is($o1->{lifetime_hint}, undef, "tickets off, openssl TLS $v: no ticket sent");
    if ($v eq '1.3') {
        is($o1->{tickets}, 0, 'tickets off, openssl TLS 1.3: no post-handshake ticket');
        is($o1->{sess_saved}, 0, 'tickets off, openssl TLS 1.3: so no session to resume');
    } else {
        # a TLS 1.2 session (its id) is saved, but there is no cache to find it in
        is($o2->{reused}, 0, 'tickets off, openssl TLS 1.2: full handshake') or diag($o2->{out});
        is($o2->{status}, 200, 'tickets off, openssl TLS 1.2: 200');
        is($o2->{headers}{'x-r'}, 'Initial', 'tickets off, openssl TLS 1.2: Initial');
    }

    # a ticket of the first host offered to the second: a full handshake
    my ($t1, $t2) = ossl_pair(port => $on, port2 => $off, version => $v);
    is($t1->{reused}, 0, "TLS $v: ticket from the tickets-on host saved");
    is($t2->{reused}, 0, "TLS $v: that ticket at the tickets-off host: full handshake") or diag($t2->{out});
    is($t2->{status}, 200, "TLS $v: ... and the request is served");
    is($t2->{headers}{'x-r'}, 'Initial', "TLS $v: ... as Initial");
}

# A session belongs to the virtual host it was made with: offered with the
# server name of another name-based host on the same port, it is a full
# handshake there (RFC 6066: a server MUST NOT resume a TLS 1.2 session for a
# different server_name; mod_ssl, whose semantics mod_tls follows, gives each
# virtual host its own session id context, which refuses TLS 1.3 tickets as
# well). The client offers it (checked with -trace for TLS 1.2).
for my $v ('1.2', '1.3') {
    my $file = tmpdir() . "/cross-vhost-$v.pem";
    my $f = ossl_conn(port => $on, version => $v, sess_out => $file);
    is($f->{headers}{'x-vh'}, 'a', "TLS $v: session made at virtual host a (SNI localhost)");
    my $r = tls_get(client => 'openssl', port => $on, version => $v, sni => 'other.localhost',
                    args => ['-sess_in', $file, '-trace']);
    my ($state) = $r->{out} =~ /^(New|Reused), /m;
    like($r->{out}, qr/extension_type=(?:session_ticket\(35\), length=[1-9]|psk\(41\))/,
         "TLS $v: the client offers the session with SNI other.localhost");
    is($r->{headers}{'x-vh'}, 'b', "TLS $v: virtual host b answers");
    is($r->{status}, 200, "TLS $v: ... with 200");
    is($state, 'New', "TLS $v: a session of host a is not resumed at host b");
    is($r->{headers}{'x-r'}, 'Initial', "TLS $v: host b says Initial");
}

# %{SSL_SESSION_RESUMED}x in the access log agrees
my @log = @{resume_log($h)};
my %seen;
$seen{$_->{resumed}}++ for @log;
ok($seen{Initial} && $seen{Resumed}, "access log: %{SSL_SESSION_RESUMED}x is Initial or Resumed")
    or diag(explain(\%seen));
is(scalar(grep { $_->{resumed} !~ /^(Initial|Resumed)$/ } @log), 0, 'access log: no other value');

finish();
