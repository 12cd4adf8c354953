# TLS to proxied backends, verification and its failures. A mod_tls backend
# serves a certificate per port: a good one, one for another name (and no
# IP address), an expired one, one not yet valid, a revoked one (in
# server.crl); one port speaks TLS 1.2 only, one plain HTTP. A frontend with
# a virtual host per setting proxies to each: every refused certificate (an
# unknown CA, by TLSProxyCA and by the system trust store that is the
# default; another name; an address the certificate does not hold; expired;
# not yet valid; revoked, with TLSProxyCRL) gives 502 Bad Gateway and one
# mod_tls line in the error log that names the backend (host:port) and the
# reason, for every request. TLSProxyVerify none accepts what only the chain
# has against it, the name still checked; TLSProxyCheckPeerName off accepts
# another name, the chain still checked. Also: no protocol in common, a
# plain-HTTP backend (502), a backend that never answers the handshake
# (504 within the worker's timeout=), TLSProxyEngine off (mod_proxy's 500,
# as with mod_ssl's SSLProxyEngine off), and apachectl -t refusing each
# TLSProxy* mistake with file, line, directive and reason.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use Time::HiRes qw(time);
use TLSTest;
use TLSTestProxy;
use Test::More;

plan skip_all => 'mod_proxy_http is not installed'
    unless -f "$TLSTest::Httpd::MODDIR/mod_proxy_http.so";
plan skip_all => 'the proxy tests need mod_tls (MOD_TLS_TEST_EMULATE=ssl set)'
    if $TLSTest::Httpd::EMULATE;

pki_cert('elsewhere', cn => 'elsewhere.example', dns => ['elsewhere.example', 'ip:none']);
pki_cert('expired-srv', cn => 'localhost', dns => ['localhost'], days => '2020-01-01..2021-01-01');
pki_cert('notyet-srv', cn => 'localhost', dns => ['localhost'], days => '2035-01-01..2036-01-01');

my @NAMES = qw(good name expired notyet revoked tls12 plain);
my $be = tls_backend(listen => scalar(@NAMES), conf =>
      backend_vhost(port => '@PORT1@', vh => 'good')
    . backend_vhost(port => '@PORT2@', vh => 'name', certs => ['elsewhere'])
    . backend_vhost(port => '@PORT3@', vh => 'expired', certs => ['expired-srv'])
    . backend_vhost(port => '@PORT4@', vh => 'notyet', certs => ['notyet-srv'])
    . backend_vhost(port => '@PORT5@', vh => 'revoked', certs => ['server-revoked'])
    . backend_vhost(port => '@PORT6@', vh => 'tls12', extra => 'TLSProtocol TLSv1.2')
    . vhost(port => '@PORT7@', vh => 'plain'));
my %bp = map { $NAMES[$_] => $be->port($_) } 0 .. $#NAMES;
for my $dir (qw(otherca tls13)) {
    mkdir $be->docroot . "/$dir";
    spit($be->docroot . "/$dir/index.html", TLSTest::Httpd->index_content);
}

# a backend that accepts (the kernel does) and never answers
my $silent = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 8)
    or die "listen: $!";
my $silent_port = $silent->sockport;

# routes(SETTINGS): a frontend vhost's TLSProxy* lines and its routes: /NAME/
# to each backend port, /ip-name/ to the other name's port by address,
# /otherca/ with TLSProxyCA of another CA, /tls13/ to the TLS 1.2 port with
# TLSProxyProtocol TLSv1.3, /silent/ with timeout=2
# The <Proxy> sections' workers come first: mod_proxy makes a worker whose
# URL starts with an earlier one's share that one (and its pooled
# connections, whose settings were fixed by their handshake).
sub routes {
    my ($settings) = @_;
    my $text = <<"EOF";
TLSProxyEngine on
$settings
ProxyPass /otherca/ https://localhost:$bp{good}/otherca/
<Proxy https://localhost:$bp{good}/otherca/>
    TLSProxyCA \@PKI\@/other-ca.crt
</Proxy>
ProxyPass /tls13/ https://localhost:$bp{tls12}/tls13/
<Proxy https://localhost:$bp{tls12}/tls13/>
    TLSProxyProtocol TLSv1.3
</Proxy>
ProxyPass /ip-name/ https://127.0.0.1:$bp{name}/
ProxyPass /silent/ https://localhost:$silent_port/ timeout=2
EOF
    $text .= "ProxyPass /$_/ https://localhost:$bp{$_}/\n" for @NAMES;
    return $text;
}
my %SETTINGS = (
    ca      => "TLSProxyCA \@PKI\@/ca.crt",
    crl     => "TLSProxyCA \@PKI\@/ca.crt\nTLSProxyCRL \@PKI\@/server.crl",
    none    => "TLSProxyCA \@PKI\@/ca.crt\nTLSProxyVerify none",
    noname  => "TLSProxyCA \@PKI\@/ca.crt\nTLSProxyCheckPeerName off",
    system  => '',
);
my @KINDS = sort keys %SETTINGS;
my $fe = frontend(listen => scalar(@KINDS) + 1, conf => join('', map {
    vhost(port => '@PORT' . ($_ + 1) . '@', extra => routes($SETTINGS{$KINDS[$_]}))
} 0 .. $#KINDS) . vhost(port => '@PORT' . (@KINDS + 1) . '@', extra =>
    "ProxyPass /good/ https://localhost:$bp{good}/"));
my %fp = map { $KINDS[$_] => $fe->port($_) } 0 .. $#KINDS;
my $engine_off_port = $fe->port(scalar @KINDS);

# get(KIND, PATH): a request to the frontend vhost of KIND
sub get { fetch("http://127.0.0.1:$fp{$_[0]}$_[1]") }

# ok_through(KIND, ROUTE, WHAT): the backend answers
sub ok_through {
    my ($kind, $route, $what) = @_;
    my $mark = $fe->log_mark;
    my $r = get($kind, "/$route/index.html");
    is($r->{status}, 200, "$kind: $what: 200") or diag($r->{out} . $fe->log_since($mark));
    is($r->{body}, TLSTest::Httpd->index_content, "$kind: $what: the page");
    is(scalar(tls_errors($fe, $mark)), 0, "$kind: $what: no mod_tls error");
    return $r;
}

# refused(KIND, ROUTE, WHAT, STATUS, BACKEND, REASON_RE): twice, each request
# gets STATUS and makes exactly one mod_tls error line naming BACKEND and
# matching REASON_RE
sub refused {
    my ($kind, $route, $what, $status, $backend, $reason) = @_;
    for my $n (1, 2) {
        my $mark = $fe->log_mark;
        my $r = get($kind, "/$route/index.html");
        is($r->{status}, $status, "$kind: $what (request $n): $status") or diag($r->{out});
        my @lines;
        wait_until(sub { @lines = tls_errors($fe, $mark) }, timeout => 5);
        is(scalar @lines, 1, "$kind: $what (request $n): one mod_tls error line")
            or diag(join("\n", @lines));
        like($lines[0] // '', qr/TLS handshake with backend \Q$backend\E failed: .*$reason/,
             "$kind: $what (request $n): it names the backend and the reason");
    }
}

my $loc = sub { "localhost:$bp{$_[0]}" };

# ---------------------------------------------------------------- TLSProxyCA

ok_through('ca', 'good', 'certificate from TLSProxyCA, for the name');
refused('ca', 'otherca', 'unknown CA (TLSProxyCA of another CA)', 502, $loc->('good'),
        qr/'CN=localhost,O=mod_tls tests' is not accepted: unable to get local issuer certificate/);
refused('system', 'good', 'unknown CA (the system trust store, the default)', 502, $loc->('good'),
        qr/is not accepted: unable to get local issuer certificate/);
refused('ca', 'name', 'certificate for another name', 502, $loc->('name'),
        qr/'CN=elsewhere\.example,O=mod_tls tests' is not accepted: it is not valid for the name 'localhost'/);
refused('ca', 'ip-name', 'certificate without the address', 502, "127.0.0.1:$bp{name}",
        qr/is not accepted: it is not valid for the address '127\.0\.0\.1'/);
refused('ca', 'expired', 'expired certificate', 502, $loc->('expired'),
        qr/is not accepted: certificate has expired/);
refused('ca', 'notyet', 'certificate not yet valid', 502, $loc->('notyet'),
        qr/is not accepted: certificate is not yet valid/);
ok_through('ca', 'revoked', 'a revoked certificate without TLSProxyCRL');

# ---------------------------------------------------------------- TLSProxyCRL

refused('crl', 'revoked', 'revoked certificate (TLSProxyCRL)', 502, $loc->('revoked'),
        qr/is not accepted: certificate revoked/);
ok_through('crl', 'good', 'a certificate the CRL does not list');

# ---------------------------------------------------------------- TLSProxyVerify none

ok_through('none', 'otherca', 'TLSProxyVerify none: unknown CA');
ok_through('none', 'expired', 'TLSProxyVerify none: expired');
refused('none', 'name', 'TLSProxyVerify none still checks the name', 502, $loc->('name'),
        qr/it is not valid for the name 'localhost' \(TLSProxyCheckPeerName\)/);

# ---------------------------------------------------------------- TLSProxyCheckPeerName off

ok_through('noname', 'name', 'TLSProxyCheckPeerName off: another name');
ok_through('noname', 'ip-name', 'TLSProxyCheckPeerName off: no address');
refused('noname', 'expired', 'TLSProxyCheckPeerName off still checks the chain', 502,
        $loc->('expired'), qr/certificate has expired/);

# ---------------------------------------------------------------- other failures

refused('ca', 'tls13', 'no protocol version in common', 502, $loc->('tls12'),
        qr/the backend sent the alert '[^']*'$/);
refused('ca', 'plain', 'a plain-HTTP backend', 502, $loc->('plain'),
        qr/does the backend speak TLS on that port\?/);

my $t0 = time;
refused('ca', 'silent', 'a backend that never answers the handshake', 504,
        "localhost:$silent_port", qr/no answer within 2 seconds \(the proxy's timeout\)/);
my $took = time - $t0;
cmp_ok($took, '<', 12, sprintf('two requests to it took %.1f s: each within its timeout=2', $took));

# TLSProxyEngine off (the default): https:// is refused, as mod_ssl does
my $mark = $fe->log_mark;
my $r = fetch("http://127.0.0.1:$engine_off_port/good/index.html");
is($r->{status}, 500, 'TLSProxyEngine off: mod_proxy answers 500 (as with SSLProxyEngine off)');
like($fe->wait_log(qr/AH01961|AH00961/, since => $mark), qr/failed to enable ssl support/,
     "TLSProxyEngine off: mod_proxy's line says so");
is(scalar(tls_errors($fe, $mark)), 0, 'TLSProxyEngine off: nothing from mod_tls');

# the frontend serves on: the good backend still answers everywhere
ok_through($_, 'good', 'after the failures') for qw(ca crl noname);

# the counters: one failed backend handshake per refused request
my $c = proxy_counters($fe, port => 0);
is($c->{TLSProxyHandshakesFailed}, 24, 'the frontend counted the 24 failed backend handshakes');

# ---------------------------------------------------------------- apachectl -t

my @MISTAKES = (
    ['TLSProxyCA', 'TLSProxyCA @PKI@/nonexistent.pem', qr/cannot read '.*nonexistent\.pem'/],
    ['TLSProxyCA', 'TLSProxyCA @PKI@/ca.key', qr/no PEM certificate found/],
    ['TLSProxyCRL', 'TLSProxyCRL @PKI@/missing.crl', qr/cannot read '.*missing\.crl'/],
    ['TLSProxyVerify', 'TLSProxyVerify optional', qr/unknown mode 'optional' \(use require or none/],
    ['TLSProxyCheckPeerName', 'TLSProxyCheckPeerName maybe', qr/must be On or Off/i],
    ['TLSProxyEngine', 'TLSProxyEngine yes', qr/must be On or Off/i],
    ['TLSProxyMachineCertificate', 'TLSProxyMachineCertificate @PKI@/client-alice.crt @PKI@/mismatch.key',
     qr/the private key in '.*mismatch\.key' does not belong to the certificate/],
    ['TLSProxyMachineCertificate', 'TLSProxyMachineCertificate @PKI@/none.crt @PKI@/none.key',
     qr/cannot read '.*none\.crt'/],
    ['TLSProxyPriorities', 'TLSProxyPriorities NORMAL:+NOSUCH', qr/invalid priority string 'NORMAL:\+NOSUCH': error at '\+NOSUCH'/],
    ['TLSProxyProtocol', 'TLSProxyProtocol TLSv1.1', qr/no protocol left enabled/],
    ['TLSProxyProtocol', 'TLSProxyProtocol TLSv2', qr/unknown protocol 'TLSv2'/],
);
for my $m (@MISTAKES) {
    my ($directive, $line, $reason) = @$m;
    my $engine = $directive eq 'TLSProxyEngine' ? '' : "TLSProxyEngine on\n";
    for my $where ('vhost', '<Proxy>') {
        my $text = $where eq 'vhost' ? "$engine$line\n"
                 : "$engine<Proxy https://localhost:1/>\n$line\n</Proxy>\n";
        my $h = frontend(start => 0, conf => vhost(extra => $text));
        $h->configtest_refuses("$line in a $where", qr/^\s*$directive\s/, $directive, $reason);
    }
}
# outside the server config, virtual hosts and <Proxy>: not allowed
my $h = frontend(start => 0, conf => vhost(extra => "<Location /x>\nTLSProxyEngine on\n</Location>\n"));
$h->configtest_refuses('TLSProxyEngine in <Location>', qr/^\s*TLSProxyEngine/, 'TLSProxyEngine',
                       qr/not allowed/);

finish();
