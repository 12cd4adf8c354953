# Client-certificate revocation by OCSP (TLSClientOCSP, TLSClientOCSPDefault-
# Responder, TLSClientOCSPOverrideResponder, TLSClientOCSPTimeout), against
# real responders (openssl ocsp with an index of the test PKI) behind relays
# that count queries and can hang, close, or answer tryLater:
# - good: SUCCESS with the identity; revoked: FAILED:certificate revoked and
#   no identity under optional, alert 44 (certificate_revoked) under require;
#   a certificate the responder does not know: not verified;
# - fail closed: responder down, hanging (given up at TLSClientOCSPTimeout,
#   or at the handshake's deadline when that comes first), tryLater, an
#   answer that is no OCSP response, a response signed by a certificate
#   without the OCSP signing purpose or by another CA, no responder known:
#   each with its FAILED:reason and one log line naming the certificate;
#   meanwhile other clients are served (the query holds one worker);
# - the certificate's AIA responder, the default responder without one, the
#   default for all with TLSClientOCSPOverrideResponder on;
# - leaf checks the client's certificate only, on the chain below the trust
#   anchor too (a revoked intermediate, unless it is an anchor itself); a
#   self-signed anchor is not asked about; optional_no_ca grants no GENEROUS;
# - the cache: a second handshake asks nobody (the relay's count), except
#   for answers without nextUpdate; shared by prefork's children through the
#   session cache; emptied, and the settings re-read, by a graceful restart;
# - per-directory authentication (TLS 1.3 post-handshake authentication,
#   TLS 1.2 renegotiation) gets the same checks;
# - configuration mistakes stop apache2 -t, naming the line.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestClient;
use TLSTestCache qw(socache_load prefork_children);
use TLSTestOCSP;
use Test::More;
use Time::HiRes qw(time);
use POSIX ();

my $DEPTH = client_depth();

# The relays come first: certificates name their URLs.
my %relay = map { $_ => TLSTestOCSP::Relay->new }
    qw(int aia root int2 fail bad prefork);
my $dead = 'http://127.0.0.1:' . free_port() . '/';      # nobody listens there
pki_client('viaaia', ocsp => $relay{aia}->url);           # names a responder
pki_client('deadaia', ocsp => $dead);                     # names one that is down
pki_client('carol');                                      # names none
pki_client('stranger');                                   # in no index
pki_client('under2', issuer => 'int2', ocsp => $relay{int2}->url);
pki_client('pf');                                         # prefork's own
pki_client('gr');                                         # graceful's own
pki_client($_) for qw(six named noclen);                  # ways to reach a responder

# the intermediate's responder signs through a delegated responder
# certificate; the root and int2 sign their answers themselves
my %resp = (
    int  => TLSTestOCSP::Responder->new(ca => 'int', signer => 'ocsp',
                good => [qw(alice carol viaaia deadaia pf gr six named noclen)], revoked => ['revoked']),
    root => TLSTestOCSP::Responder->new(ca => 'ca', signer => 'ca', good => ['int'],
                revoked => ['int2']),
    int2 => TLSTestOCSP::Responder->new(ca => 'int2', signer => 'int2', good => ['under2']),
    # answers without nextUpdate: nothing to cache
    nonext => TLSTestOCSP::Responder->new(ca => 'int', signer => 'ocsp', good => ['bob'], nmin => 0),
    # signed by a certificate of the intermediate without the OCSP signing purpose
    noeku => TLSTestOCSP::Responder->new(ca => 'int', signer => 'ocsp-noeku', good => ['bob']),
);
$relay{int}->set('pass', to => $resp{int}->port);
$relay{aia}->set('pass', to => $resp{int}->port);
$relay{prefork}->set('pass', to => $resp{int}->port);
$relay{root}->set('pass', to => $resp{root}->port);
$relay{int2}->set('pass', to => $resp{int2}->port);
$relay{fail}->set('pass', to => $resp{nonext}->port);
$relay{bad}->set('pass', to => $resp{noeku}->port);

# ---------------------------------------------------------------- the server

spit(pki() . '/ca-int2.pem', slurp(pki() . '/ca.crt') . slurp(pki() . '/int2.crt'));

my $COMMON = <<"EOF";
TLSClientCA \@PKI\@/ca.crt
TLSClientVerifyDepth $DEPTH
TLSOptions +StdEnvVars
TLSUserName SSL_CLIENT_S_DN_CN
EOF
my @VHOSTS = (
    opt       => "TLSClientCertificate optional\nTLSClientOCSP leaf\nTLSClientOCSPDefaultResponder " . $relay{int}->url,
    req       => "TLSClientCertificate require\nTLSClientOCSP leaf\nTLSClientOCSPDefaultResponder " . $relay{int}->url,
    nobody    => "TLSClientCertificate optional\nTLSClientOCSP leaf",
    override  => "TLSClientCertificate optional\nTLSClientOCSP leaf\nTLSClientOCSPDefaultResponder " . $relay{int}->url
                 . "\nTLSClientOCSPOverrideResponder on",
    chain     => "TLSClientCertificate optional\nTLSClientOCSP on\nTLSClientOCSPDefaultResponder " . $relay{root}->url,
    leafonly  => "TLSClientCertificate optional\nTLSClientOCSP leaf\nTLSClientOCSPDefaultResponder " . $relay{root}->url,
    # the second intermediate is a trust anchor itself here
    anchor2   => "TLSClientCertificate optional\nTLSClientOCSP on\nTLSClientOCSPDefaultResponder " . $relay{root}->url
                 . "\nTLSClientCA \@PKI\@/ca-int2.pem",
    fail      => "TLSClientCertificate optional\nTLSClientOCSP leaf\nTLSClientOCSPTimeout 2\n"
                 . "TLSClientOCSPDefaultResponder " . $relay{fail}->url,
    failreq   => "TLSClientCertificate require\nTLSClientOCSP leaf\nTLSClientOCSPTimeout 2\n"
                 . "TLSClientOCSPDefaultResponder " . $relay{fail}->url,
    slow      => "TLSClientCertificate optional\nTLSClientOCSP leaf\nTLSClientOCSPTimeout 8\n"
                 . "TLSClientOCSPDefaultResponder " . $relay{fail}->url,
    deadline  => "TLSClientCertificate optional\nTLSClientOCSP leaf\nTLSClientOCSPTimeout 10\n"
                 . "TLSHandshakeTimeout 2\nTLSClientOCSPDefaultResponder " . $relay{fail}->url,
    down      => "TLSClientCertificate optional\nTLSClientOCSP leaf\nTLSClientOCSPDefaultResponder $dead",
    noeku     => "TLSClientCertificate optional\nTLSClientOCSP leaf\nTLSClientOCSPDefaultResponder " . $relay{bad}->url,
    othersig  => "TLSClientCertificate optional\nTLSClientOCSP leaf\nTLSClientOCSPDefaultResponder " . $relay{root}->url,
    off       => "TLSClientCertificate optional",
    # the intermediate's responder itself, which listens on IPv6 too
    ipv6      => "TLSClientCertificate optional\nTLSClientOCSP leaf\nTLSClientOCSPDefaultResponder http://[::1]:"
                 . $resp{int}->port . "/",
    byname    => "TLSClientCertificate optional\nTLSClientOCSP leaf\nTLSClientOCSPDefaultResponder http://localhost:"
                 . $relay{aia}->port . "/ocsp/path?q=1",
    noca      => "TLSClientCertificate optional_no_ca\nTLSClientOCSP leaf\nTLSClientOCSPDefaultResponder " . $relay{int}->url,
    selfca    => "TLSClientCertificate optional\nTLSClientOCSP on\nTLSClientCA \@PKI\@/client-selfsigned.crt",
    perdir    => "TLSClientOCSP leaf\nTLSClientOCSPDefaultResponder " . $relay{int}->url
                 . "\nScriptAlias /secure/ \@DIR\@/cgi-bin/\n<Location /secure/>\n"
                 . "    TLSClientCertificate require\n</Location>\n"
                 . "ScriptAlias /maybe/ \@DIR\@/cgi-bin/\n<Location /maybe/>\n"
                 . "    TLSClientCertificate optional\n</Location>",
);
my (%PORT, $conf);
for (my $i = 0; $i < @VHOSTS; $i += 2) {
    my ($name, $extra) = @VHOSTS[$i, $i + 1];
    my $n = $i / 2;
    $PORT{$name} = $n;
    $conf .= tls_vhost(port => '@PORT' . ($n + 1) . '@', extra => $COMMON . $extra);
}
my $h = install_scripts(TLSTest::Httpd->new(mpm => 'event', listen => scalar(keys %PORT), conf => $conf));
$h->start;

# ---------------------------------------------------------------- helpers

# get(VHOST, CERT, version => V, path => P, server => H): the vars.cgi page
# through openssl s_client presenting client-CERT, with {env} (its
# variables) and {elapsed} (seconds the whole exchange took)
sub get {
    my ($vh, $cert, %o) = @_;
    my $srv = $o{server} || $h;
    my $t0 = time;
    my $r = ossl(port => $srv->port($o{port} // $PORT{$vh}), version => $o{version} // '1.3',
                 cert => $cert, path => $o{path} // '/cgi-bin/vars.cgi', ($o{pha} ? (pha => 1) : ()));
    $r->{elapsed} = time - $t0;
    $r->{env} = env_of($r->{responses}[0]);
    return $r;
}

sub cn_of { my ($name) = @_; return $name }

# verified(VHOST, CERT, WHAT, %get): SUCCESS, with the identity
sub verified {
    my ($vh, $cert, $what, %o) = @_;
    my $r = get($vh, $cert, %o);
    my $env = $r->{env};
    subtest "$what: SUCCESS" => sub {
        is(($r->{responses}[0] || {})->{status}, 200, 'status 200') or diag($r->{out});
        is($env->{SSL_CLIENT_VERIFY}, 'SUCCESS', 'SSL_CLIENT_VERIFY=SUCCESS');
        is($env->{SSL_CLIENT_S_DN_CN}, cn_of($cert), 'identity: SSL_CLIENT_S_DN_CN');
        is($env->{REMOTE_USER}, cn_of($cert), 'identity: REMOTE_USER (TLSUserName)');
    };
    return $r;
}

# not_verified(VHOST, CERT, REASON, WHAT, log => RE, %get): the handshake
# completes (optional), SSL_CLIENT_VERIFY=FAILED:REASON, no identity, and
# exactly one log line names the certificate and the reason (and matches RE)
sub not_verified {
    my ($vh, $cert, $reason, $what, %o) = @_;
    my $srv = $o{server} || $h;
    my $mark = $srv->log_mark;
    my $r = get($vh, $cert, %o);
    my $env = $r->{env};
    my $cn = cn_of($cert);
    my $line = qr/\[tls:info\].*client certificate '[^']*\bCN=\Q$cn\E\b[^']*' not verified: \Q$reason\E\b/;
    subtest "$what: FAILED:$reason, no identity, one log line" => sub {
        is(($r->{responses}[0] || {})->{status}, 200, 'the handshake completes: 200') or diag($r->{out});
        is($env->{SSL_CLIENT_VERIFY}, "FAILED:$reason", "SSL_CLIENT_VERIFY=FAILED:$reason");
        is(join(' ', identity_vars($env)), '', 'no identity variable');
        ok(!defined $env->{REMOTE_USER}, 'no REMOTE_USER');
        ok($srv->wait_log($line, since => $mark), 'the log names the certificate and the reason')
            or diag($srv->log_since($mark));
        my @lines = grep { /$line/ } split /\n/, $srv->log_since($mark);
        is(scalar @lines, 1, 'one log line') or diag(join("\n", @lines));
        like($lines[0] // '', $o{log}, 'the log line says more') if $o{log};
    };
    return $r;
}

# refused(VHOST, CERT, REASON, ALERT, WHAT): require refuses the handshake
# with ALERT, and one log line names the certificate and the reason
sub refused {
    my ($vh, $cert, $reason, $alert, $what, %o) = @_;
    my $mark = $h->log_mark;
    my $r = get($vh, $cert, %o);
    my $cn = cn_of($cert);
    my $line = qr/\[tls:info\].*TLS handshake failed: client certificate '[^']*\bCN=\Q$cn\E\b[^']*' refused: \Q$reason\E\b/;
    subtest "$what: refused with alert $alert, one log line" => sub {
        is(scalar @{$r->{responses}}, 0, 'no response') or diag($r->{out});
        is($r->{alert}, $alert, "alert $alert (" . alert_name($alert) . ')') or diag($r->{out});
        ok($h->wait_log($line, since => $mark), 'the log names the certificate and the reason')
            or diag($h->log_since($mark));
        my @lines = grep { /$line/ } split /\n/, $h->log_since($mark);
        is(scalar @lines, 1, 'one log line') or diag(join("\n", @lines));
    };
    return $r;
}

# queried(RELAY, N, WHAT, CODE): CODE runs and RELAY counts N more queries
sub queried {
    my ($relay, $n, $what, $code) = @_;
    my $before = $relay->count;
    my $r = $code->();
    is($relay->count - $before, $n, "$what: $n quer" . ($n == 1 ? 'y' : 'ies') . ' to the responder');
    return $r;
}

# ---------------------------------------------------------------- good, revoked

queried($relay{int}, 1, 'first handshake with alice', sub {
    verified('opt', 'alice', 'TLS 1.3, good certificate (default responder)');
});
queried($relay{int}, 0, 'second handshake with alice (cached until nextUpdate)', sub {
    verified('opt', 'alice', 'TLS 1.3, good certificate again');
});
queried($relay{int}, 0, 'TLS 1.2 handshake with alice (cached)', sub {
    verified('opt', 'alice', 'TLS 1.2, good certificate', version => '1.2');
});
queried($relay{int}, 1, 'revoked certificate', sub {
    not_verified('opt', 'revoked', 'certificate revoked', 'optional, revoked certificate',
                 log => qr/\(OCSP: revoked since .* GMT, answer of \Q${\ $relay{int}->url}\E\)/);
});
queried($relay{int}, 0, 'revoked certificate again (the revocation is cached too)', sub {
    not_verified('opt', 'revoked', 'certificate revoked', 'optional, revoked certificate again',
                 log => qr/\(OCSP: revoked since .* GMT, cached answer\)/);
});
not_verified('opt', 'stranger', 'certificate unknown to the OCSP responder',
             'a certificate the responder does not know');
verified('off', 'revoked', 'TLSClientOCSP off: nobody asks');
# optional_no_ca: as mod_ssl, a certificate of an unknown issuer is not
# GENEROUS when OCSP is on (nobody can vouch for it)
verified('noca', 'alice', 'optional_no_ca, good certificate');
not_verified('noca', 'otherca', 'unable to get local issuer certificate',
             'optional_no_ca, unknown issuer: not GENEROUS with TLSClientOCSP',
             log => qr/TLSClientOCSP cannot check a certificate whose issuer is unknown/);
verified('selfca', 'selfsigned', 'a self-signed certificate trusted as it is: nobody to ask, not asked');

verified('req', 'alice', 'require, good certificate');
refused('req', 'revoked', 'certificate revoked', 44, 'require, revoked certificate');
refused('req', 'revoked', 'certificate revoked', 44, 'require, revoked certificate, TLS 1.2', version => '1.2');

# ---------------------------------------------------------------- which responder

queried($relay{aia}, 1, "the certificate's own responder (AIA)", sub {
    queried($relay{int}, 0, '... and not the default responder', sub {
        verified('opt', 'viaaia', 'a certificate naming its responder');
    });
});
queried($relay{int}, 1, 'without AIA: the default responder', sub {
    verified('opt', 'carol', 'a certificate naming no responder');
});
not_verified('opt', 'deadaia', 'OCSP responder unreachable', "AIA wins over the default: the certificate's responder is down",
             log => qr/\Q$dead\E: cannot connect/);
queried($relay{int}, 1, 'TLSClientOCSPOverrideResponder on: the default responder', sub {
    verified('override', 'deadaia', 'TLSClientOCSPOverrideResponder on ignores the AIA responder');
});
not_verified('nobody', 'alice', 'no OCSP responder known', 'no AIA and no default responder',
             log => qr/names no http:\/\/ responder and there is no TLSClientOCSPDefaultResponder/);
verified('nobody', 'viaaia', 'no default responder, but the AIA one');

verified('ipv6', 'six', 'a default responder at an IPv6 address');
queried($relay{aia}, 1, 'a responder named by host name, with a path and a query', sub {
    verified('byname', 'named', 'a default responder named by host name');
});
$relay{aia}->set('noclen');
queried($relay{aia}, 1, 'an answer without Content-Length (ends with the connection)', sub {
    verified('byname', 'noclen', 'an answer without Content-Length');
});
$relay{aia}->set('pass');

# ---------------------------------------------------------------- leaf and on

queried($relay{root}, 1, 'TLSClientOCSP on asks about the intermediate', sub {
    verified('chain', 'viaaia', 'TLSClientOCSP on, good chain');
});
not_verified('chain', 'under2', 'certificate revoked', 'TLSClientOCSP on, revoked intermediate',
             log => qr/OCSP for the CA certificate '[^']*CN=mod_tls Test Intermediate CA 2[^']*': revoked since/);
queried($relay{root}, 0, 'TLSClientOCSP on stops below the trust anchor', sub {
    verified('anchor2', 'under2', 'TLSClientOCSP on, the revoked intermediate is a trust anchor itself');
});
queried($relay{root}, 0, 'TLSClientOCSP leaf does not ask about the intermediate', sub {
    queried($relay{int2}, 0, '... and its answer about under2 is cached', sub {
        verified('leafonly', 'under2', 'TLSClientOCSP leaf, revoked intermediate, good leaf');
    });
});

# ---------------------------------------------------------------- fail closed

# bob's responder gives answers without nextUpdate: asked every time
queried($relay{fail}, 2, 'answers without nextUpdate are not cached', sub {
    verified('fail', 'bob', 'good answer without nextUpdate');
    verified('fail', 'bob', 'good answer without nextUpdate, again');
});
$relay{fail}->set('trylater');
not_verified('fail', 'bob', 'OCSP responder answered tryLater', 'the responder answers tryLater');
$relay{fail}->set('close');
not_verified('fail', 'bob', 'OCSP responder sent no valid response', 'the responder closes without an answer',
             log => qr/connection closed without an answer/);
$relay{fail}->set('garbage');
not_verified('fail', 'bob', 'OCSP responder sent no valid response', 'the answer is no OCSP response',
             log => qr/no OCSP response/);
not_verified('down', 'bob', 'OCSP responder unreachable', 'nobody listens at the responder URL',
             log => qr/cannot connect/);
$relay{fail}->set('hang');
{
    my $r = not_verified('fail', 'bob', 'OCSP responder timed out', 'the responder hangs',
                         log => qr/no answer before the deadline \(TLSClientOCSPTimeout\)/);
    ok($r->{elapsed} >= 1.9 && $r->{elapsed} < 10,
       sprintf('... given up after TLSClientOCSPTimeout 2 (%.1f s)', $r->{elapsed}));
    $r = refused('failreq', 'bob', 'OCSP responder timed out', 46, 'require, the responder hangs');
    ok($r->{elapsed} >= 1.9 && $r->{elapsed} < 10,
       sprintf('... refused after TLSClientOCSPTimeout 2 (%.1f s)', $r->{elapsed}));
    # TLSHandshakeTimeout 2 comes before TLSClientOCSPTimeout 10
    my $mark = $h->log_mark;
    $r = get('deadline', 'bob');
    ok($r->{elapsed} < 8, sprintf('the handshake deadline (2 s) ends the query, not TLSClientOCSPTimeout 10 (%.1f s)',
                                  $r->{elapsed}));
    ok($h->wait_log(qr/client certificate '[^']*CN=bob\b[^']*' not verified: OCSP responder timed out .*\(TLSHandshakeTimeout\)/,
                    since => $mark),
       '... and the log says that the responder timed out') or diag($h->log_since($mark));
    my $verify = $r->{env}{SSL_CLIENT_VERIFY};
    ok(!defined $verify || $verify eq 'FAILED:OCSP responder timed out',
       '... and the certificate is not verified (' . ($verify // 'no response: the handshake timed out') . ')');
}
# a handshake waiting for the responder holds its worker, not the server
{
    my $before = $relay{fail}->count;
    my $pid = fork() // die "fork: $!";
    if (!$pid) {
        get('slow', 'bob');
        POSIX::_exit(0);
    }
    ok(wait_until(sub { $relay{fail}->count > $before }, timeout => 20), 'a handshake waits for a hanging responder');
    my $t0 = time;
    my $r = get('off', 'alice');
    my $took = time - $t0;
    is(($r->{responses}[0] || {})->{status}, 200, '... meanwhile another client is served');
    ok($took < 6, sprintf('... at once, not after the 8 s the other waits (%.1f s)', $took));
    waitpid($pid, 0);
}
$relay{fail}->set('pass');
queried($relay{fail}, 1, 'the responder is back', sub {
    verified('fail', 'bob', 'the responder answers again');
});

# responses that must not be believed
not_verified('noeku', 'bob', 'OCSP response not valid', 'signed by a certificate without the OCSP signing purpose',
             log => qr/without the OCSP signing purpose/);
not_verified('othersig', 'bob', 'OCSP response not valid', "signed by another CA (the root, for the intermediate's certificate)",
             log => qr/the issuer did not issue|not the issuer's/);

# ---------------------------------------------------------------- per directory

{
    my $r = get('perdir', 'alice', pha => 1, path => '/secure/vars.cgi');
    is(($r->{responses}[0] || {})->{status}, 200, 'per-directory require, TLS 1.3 post-handshake auth, alice: 200')
        or diag($r->{out});
    is($r->{env}{SSL_CLIENT_VERIFY}, 'SUCCESS', '... SUCCESS');
    my $mark = $h->log_mark;
    $r = get('perdir', 'revoked', pha => 1, path => '/secure/vars.cgi');
    is(($r->{responses}[0] || {})->{status}, 403, 'per-directory require, TLS 1.3 post-handshake auth, revoked: 403')
        or diag($r->{out});
    ok($h->wait_log(qr/client certificate '[^']*CN=revoked\b[^']*' not verified: certificate revoked \(OCSP/, since => $mark),
       '... the log says why') or diag($h->log_since($mark));
    $r = get('perdir', 'revoked', version => '1.2', path => '/secure/vars.cgi');
    is(($r->{responses}[0] || {})->{status}, 403, 'per-directory require, TLS 1.2 renegotiation, revoked: 403')
        or diag($r->{out});
    $r = get('perdir', 'alice', version => '1.2', path => '/secure/vars.cgi');
    is(($r->{responses}[0] || {})->{status}, 200, 'per-directory require, TLS 1.2 renegotiation, alice: 200')
        or diag($r->{out});
    $r = get('perdir', 'revoked', pha => 1, path => '/maybe/vars.cgi');
    is($r->{env}{SSL_CLIENT_VERIFY}, 'FAILED:certificate revoked',
       'per-directory optional, revoked: FAILED:certificate revoked');
    is(join(' ', identity_vars($r->{env})), '', '... without identity');
    $relay{fail}->set('hang');
}

# ---------------------------------------------------------------- graceful restart

{
    # the cache goes with the old generation; the new one reads its settings
    my $text = slurp($h->conf_file);
    my $old = $relay{int}->url;
    my $new = $relay{aia}->url;
    $text =~ s/(TLSClientOCSPDefaultResponder) \Q$old\E/$1 $new/g;
    spit($h->conf_file, $text);
    $h->graceful;
    queried($relay{aia}, 1, 'after a graceful restart, the new default responder', sub {
        queried($relay{int}, 0, '... not the old one', sub {
            verified('opt', 'gr', 'after a graceful restart');
        });
    });
    queried($relay{aia}, 1, 'after a graceful restart, the cache starts empty', sub {
        verified('opt', 'alice', 'alice after a graceful restart');
    });
    queried($relay{aia}, 0, '... and fills again', sub {
        verified('opt', 'alice', 'alice again after a graceful restart');
    });
    not_verified('opt', 'revoked', 'certificate revoked', 'revoked after a graceful restart');
    not_verified('fail', 'bob', 'OCSP responder timed out', 'a hanging responder after a graceful restart');
}

# ---------------------------------------------------------------- prefork

{
    my $p = install_scripts(TLSTest::Httpd->new(mpm => 'prefork', global => socache_load('shmcb') . prefork_children(4),
        conf => tls_vhost(extra => $COMMON . "TLSClientCertificate optional\nTLSClientOCSP leaf\n"
                          . "TLSClientOCSPTimeout 2\nTLSClientOCSPDefaultResponder " . $relay{prefork}->url)));
    $p->start;
    # the children share answers through the session cache (shmcb)
    queried($relay{prefork}, 1, 'prefork, four children, eight handshakes', sub {
        verified('', 'pf', "prefork, handshake $_", server => $p, port => 0) for 1 .. 8;
    });
    not_verified('', 'revoked', 'certificate revoked', 'prefork, revoked', server => $p, port => 0);
    $relay{prefork}->set('hang');
    my $r = not_verified('', 'stranger', 'OCSP responder timed out', 'prefork, the responder hangs',
                         server => $p, port => 0);
    ok($r->{elapsed} < 10, sprintf('... given up after TLSClientOCSPTimeout 2 (%.1f s)', $r->{elapsed}));
    $relay{prefork}->set('pass');
    $p->graceful;
    queried($relay{prefork}, 1, 'prefork, after a graceful restart: asked once more, then cached', sub {
        verified('', 'pf', "prefork after graceful, handshake $_", server => $p, port => 0) for 1 .. 4;
    });
}

# ---------------------------------------------------------------- 421

# a connection negotiated without OCSP must not serve a vhost that checks
# certificates by OCSP (its client certificate was never asked about)
{
    my $ocsp = "TLSClientOCSP leaf\nTLSClientOCSPDefaultResponder " . $relay{int}->url;
    my $m = TLSTest::Httpd->new(conf => join('',
        tls_vhost(name => 'localhost', vh => 'plain', extra => $COMMON . "TLSClientCertificate optional"),
        tls_vhost(name => 'ocsp.localhost', vh => 'ocsp', extra => $COMMON . "TLSClientCertificate optional\n$ocsp"),
        tls_vhost(name => 'ocsp2.localhost', vh => 'ocsp2', extra => $COMMON . "TLSClientCertificate optional\n$ocsp"),
    ))->start;
    my $r = tls_get(client => 'curl', port => $m->port, sni => 'localhost', host => 'ocsp.localhost',
                    verify_name => 'localhost');
    is($r->{status}, 421, 'SNI of a vhost without OCSP, Host of one with: 421') or diag($r->{out});
    $r = tls_get(client => 'curl', port => $m->port, sni => 'ocsp.localhost', host => 'ocsp2.localhost',
                 verify_name => 'localhost');
    is($r->{status}, 200, 'the same OCSP settings: served') or diag($r->{out});
    is($r->{headers}{'x-vh'}, 'ocsp2', '... by the Host\'s vhost');
}

# ---------------------------------------------------------------- configuration

{
    my %bad = (
        'TLSClientOCSP maybe'                        => qr/unknown value 'maybe' \(use off, leaf or on\)/,
        'TLSClientOCSPTimeout 0'                     => qr/'0' is not a number of seconds between 1 and 300/,
        'TLSClientOCSPDefaultResponder https://ocsp.example.net/' => qr/not an http:\/\/ URL/,
        'TLSClientOCSPDefaultResponder ocsp.example.net'          => qr/not a URL/,
        "TLSClientOCSP on\nTLSClientOCSPOverrideResponder on"     => qr/needs a TLSClientOCSPDefaultResponder/,
    );
    for my $line (sort keys %bad) {
        my $bad = TLSTest::Httpd->new(conf => tls_vhost(extra => "TLSClientCertificate optional\n$line"));
        my ($last) = (split /\n/, $line)[-1];
        my ($directive) = $last =~ /^(\S+)/;
        $bad->configtest_refuses($line =~ s/\n/ + /r, qr/^\s*\Q$last\E\s*$/, $directive, $bad{$line});
    }
    my $ok = TLSTest::Httpd->new(conf => tls_vhost(extra => "TLSClientCertificate optional\nTLSClientOCSP leaf\n"
        . "TLSClientOCSPDefaultResponder http://[::1]:8080/ocsp?x=1\nTLSClientOCSPOverrideResponder on\n"
        . "TLSClientOCSPTimeout 300"));
    my ($rc, $out) = $ok->configtest;
    is($rc, 0, 'apache2 -t accepts every TLSClientOCSP* directive, an IPv6 responder URL with path and query')
        or diag($out);
    like($out, qr/Syntax OK/, '... Syntax OK');
}

finish();
