# tls-migrate on real configurations: Debian's default-ssl.conf with its
# ssl.conf and ssl.load, httpd's conf/extra/httpd-ssl.conf, the examples
# of the SSL How-To, a client-certificate site and a proxy site. Each
# converted configuration passes apache2 -t with mod_tls (the original
# passes it with mod_ssl). Debian's site, httpd-ssl.conf and the
# client-certificate site are then served twice, by mod_ssl on the original
# and by mod_tls on the conversion, and must answer the same: the same
# pages, the same SSL_* variables, the same protocol versions and cipher
# suites (one documented exception), the same access decisions for clients
# without a certificate, with a good one, with one from another CA, and for
# a password area that needs TLS. The proxy site is served by both too: a
# verified backend answers alike, and a backend whose certificate names
# another host is refused by both (mod_ssl answers 500, mod_tls 502 Bad
# Gateway, as docs/proxy.md says). A site that checks client certificates
# with OCSP gets the same answers from both whatever the responder does. A
# site that staples OCSP responses staples good and revoked alike, and
# differs where docs/ocsp.md says. Directives mod_tls does not have would
# be commented out for apache2 -t, and the cases that need them TODO or
# skipped with their name.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestClient;
use TLSTestMigrate;
use TLSTestOCSP;
use Test::More;
use IO::Socket::INET;
use MIME::Base64 qw(encode_base64);

my $MODSSL = '/usr/lib/apache2/modules/mod_ssl.so';
plan skip_all => "mod_ssl is not installed ($MODSSL)" unless -f $MODSSL;
plan skip_all => 'this test compares mod_tls with mod_ssl (MOD_TLS_TEST_EMULATE=ssl set)' if $TLSTest::Httpd::EMULATE;

my %IMPL = implemented();
my $orig = tmpdir() . '/orig';
mkdir $orig;
my @AUTH = qw(auth_basic authn_core authn_file authz_user access_compat);

# pair(name => N, original => TEXT, listen => N, modules => [...],
#      defines => {...}, setup => CODE): writes the original configuration to a file,
# converts it (LoadModule tls_module naming the module under test), and
# makes two servers: mod_ssl on the original, mod_tls on the conversion
# (with directives mod_tls lacks commented out). Both get the same Define
# lines for ${SITE_*}.
sub pair {
    my (%o) = @_;
    my $main = spit("$orig/$o{name}.conf", $o{original});
    my @args = ('--module-path', $TLSTest::Httpd::MODULE);
    my $conv = migrate_file($main, args => \@args);
    my $check = migrate_file($main, check => 1, args => \@args);
    # a define's value may differ per server: { ssl => ..., tls => ... }
    my %defs;
    for my $srv ('ssl', 'tls') {
        my %d = map { my $v = $o{defines}{$_}; ($_ => ref $v ? $v->{$srv} : $v) } keys %{$o{defines} || {}};
        $d{SITE_PORT2} = '@PORT2@' if ($o{listen} || 1) > 1;
        $defs{$srv} = site_defines(%d);
    }
    my %common = (listen => $o{listen} || 1, modules => [@{$o{modules} || []}, 'socache_shmcb']);
    my $ssl = install_scripts(TLSTest::Httpd->new(%common, tls => 0, conf => $defs{ssl} . $o{original}));
    my ($text, @gone) = without_unimplemented($conv->{out});
    my $tls = install_scripts(TLSTest::Httpd->new(%common, tls => 0, conf => $defs{tls} . $text));
    is($conv->{rc}, 0, "$o{name}: converted");
    # files the configuration names, in each server's directory
    if ($o{setup}) { $o{setup}->($_) for $ssl, $tls }
    for my $srv (['mod_ssl', $ssl, 'the original'], ['mod_tls', $tls, 'the conversion']) {
        my ($rc, $out) = $srv->[1]->configtest;
        is($rc, 0, "$o{name}: apache2 -t with $srv->[0] accepts $srv->[2]") or diag($out);
        like($out, qr/Syntax OK/, "$o{name}: ... Syntax OK");
    }
    return { ssl => $ssl, tls => $tls, conv => $conv, check => $check, gone => \@gone, name => $o{name} };
}

# one request through openssl s_client; the outcome is the status, or
# "refused" when no response came (handshake refused or connection closed)
sub req {
    my ($h, %o) = @_;
    my %hdr = %{$o{headers} || {}};
    $hdr{Authorization} = 'Basic ' . encode_base64($o{user}, '') if $o{user};
    my $r = ossl(port => $o{to} // $h->port($o{port} // 0), version => $o{version}, cert => $o{cert},
                 pha => ($o{version} // '') eq '1.3' ? 1 : 0, args => $o{args},
                 requests => [http_request(path => $o{path} // '/', close => 1, headers => \%hdr)]);
    my $resp = $r->{responses}[0];
    $r->{outcome} = $resp ? $resp->{status} : 'refused';
    $r->{resp} = $resp;
    return $r;
}

sub plain_req {
    my ($h, $port_index, $path, %hdr) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $h->port($port_index), Timeout => 10)
        or return { status => 'refused' };
    print $s http_request(path => $path, close => 1, headers => \%hdr);
    my $r = eval { read_response($s) } || { status => 'no response' };
    close($s);
    return $r;
}

my @VARS = qw(HTTPS SSL_PROTOCOL SSL_CIPHER SSL_CLIENT_VERIFY SSL_CLIENT_S_DN SSL_CLIENT_I_DN SSL_TLS_SNI SSL_SERVER_S_DN);
my %FORCE = (
    '1.3' => ['-ciphersuites', 'TLS_AES_256_GCM_SHA384'],
    '1.2' => ['-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384'],
);

# compare_vars(PAIR, what, %req): the SSL_* variables of vars.cgi, from both
sub compare_vars {
    my ($p, $what, %o) = @_;
    my %env;
    for my $srv ('ssl', 'tls') {
        my $r = req($p->{$srv}, %o, path => '/cgi-bin/vars.cgi', args => $FORCE{$o{version}},
                    to => ref $o{to} ? $o{to}{$srv} : $o{to});
        is($r->{outcome}, 200, "$p->{name}: $what: vars.cgi answers ($srv)") or diag($r->{out});
        $env{$srv} = env_of($r->{resp});
    }
    for my $v (@VARS) {
        is($env{tls}{$v}, $env{ssl}{$v}, "$p->{name}: $what: $v is the same ("
           . ($env{ssl}{$v} // 'unset') . ')');
    }
    return \%env;
}

# ====================================================================== Debian

SKIP: {
    my %deb = map { $_ => "/etc/apache2/$_" }
        qw(sites-available/default-ssl.conf mods-available/ssl.conf mods-available/ssl.load);
    skip "Debian's apache2 configuration files are not installed", 1 if grep { !-f } values %deb;

    # the site as Debian ships it, pointed at this server and the test PKI
    my $site = slurp($deb{'sites-available/default-ssl.conf'});
    my $n = 0;
    $n += $site =~ s/<VirtualHost \*:443>/<VirtualHost *:\${SITE_PORT}>/;
    $n += $site =~ s{/var/www/html}{\${SITE_DOCROOT}};
    $n += $site =~ s{/etc/ssl/certs/ssl-cert-snakeoil\.pem}{\${SITE_PKI}/server-rsa.crt};
    $n += $site =~ s{/etc/ssl/private/ssl-cert-snakeoil\.key}{\${SITE_PKI}/server-rsa.key};
    is($n, 4, 'default-ssl.conf: port, document root, certificate and key pointed at the test');
    spit("$orig/default-ssl.conf", $site);
    my $p = pair(name => 'debian', original => "Include $deb{'mods-available/ssl.load'}\n"
                 . "Include $deb{'mods-available/ssl.conf'}\nInclude $orig/default-ssl.conf\n");
    is($p->{check}{rc}, 0, 'debian: --check: everything translates') or diag($p->{check}{out});
    is_deeply($p->{gone}, [], 'debian: the conversion uses only directives mod_tls has');
    my @tls = tls_lines($p->{conv}{out});
    ok((grep { $_ eq 'TLSSessionTickets off' } @tls), 'debian: SSLSessionTickets off carries over');
    ok((grep { $_ eq 'TLSProtocol all -TLSv1 -TLSv1.1' } @tls), 'debian: SSLProtocol all -SSLv3 as mod_ssl with OpenSSL 3 had it');
    ok((grep { m{^TLSSessionCache shmcb:\$\{APACHE_RUN_DIR\}/ssl_scache\(512000\)$} } @tls), 'debian: the session cache');
    ok((grep { m{^TLSCertificate \$\{SITE_PKI\}/server-rsa\.crt \$\{SITE_PKI\}/server-rsa\.key$} } @tls), 'debian: the certificate');
    my ($prio) = map { /^TLSPriorities (\S+)$/ ? $1 : () } @tls;
    ok($prio, 'debian: SSLCipherSuite HIGH:!aNULL as a priority string');
    is(scalar(changes_for($p->{check}, 'SSLRandomSeed')), 4, 'debian: the four SSLRandomSeed lines dropped');
    is((change_for($p->{check}, 'SSLRandomSeed') // {})->{status}, 'dropped', 'debian: ... as dropped, not failed');
    like($p->{conv}{out}, qr/^\t\tTLSOptions \+StdEnvVars$/m, 'debian: the indentation of the site is kept');

    $p->{ssl}->start;
    $p->{tls}->start;
    for my $v ('1.3', '1.2') {
        my %r = map { $_ => req($p->{$_}, version => $v) } qw(ssl tls);
        is($r{tls}{outcome}, 200, "debian: TLS $v: the page (mod_tls)");
        is($r{ssl}{outcome}, 200, "debian: TLS $v: the page (mod_ssl)");
        is($r{tls}{resp}{body}, $r{ssl}{resp}{body}, "debian: TLS $v: the same page");
        my $env = compare_vars($p, "TLS $v", version => $v);
        is($env->{tls}{SSL_CLIENT_VERIFY}, 'NONE', "debian: TLS $v: no client certificate asked for");
    }
    # TLS 1.0 and 1.1: refused by both (OpenSSL 3 refuses them, the
    # conversion says so)
    for my $old (['-tls1', '1.0'], ['-tls1_1', '1.1']) {
        for my $srv ('ssl', 'tls') {
            my $r = req($p->{$srv}, args => [$old->[0], '-cipher', 'DEFAULT:@SECLEVEL=0']);
            is($r->{outcome}, 'refused', "debian: TLS $old->[1] refused ($srv)");
        }
    }
    # cipher suites (TLS 1.2, RSA certificate): what HIGH:!aNULL allows
    for my $c (qw(ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-CHACHA20-POLY1305 ECDHE-RSA-AES128-SHA
                  ECDHE-RSA-AES256-SHA384 ECDHE-RSA-CAMELLIA256-SHA384 AES128-GCM-SHA256 AES256-SHA AES128-CCM8)) {
        for my $srv ('ssl', 'tls') {
            my $r = req($p->{$srv}, version => '1.2', args => ['-cipher', $c]);
            is($r->{outcome}, 200, "debian: TLS 1.2 with only $c: accepted ($srv)") or diag($r->{out});
            is($r->{cipher}, $c, "debian: TLS 1.2 with only $c: negotiated ($srv)");
        }
    }
    for my $c ('NULL-SHA256:@SECLEVEL=0', 'ADH-AES128-GCM-SHA256:@SECLEVEL=0', 'PSK-AES128-GCM-SHA256') {
        for my $srv ('ssl', 'tls') {
            is(req($p->{$srv}, version => '1.2', args => ['-cipher', $c])->{outcome}, 'refused',
               "debian: TLS 1.2 with only $c: refused ($srv)");
        }
    }
    # the documented difference: ARIA, which GnuTLS lacks, and the note that says so
    is(req($p->{ssl}, version => '1.2', args => ['-cipher', 'ECDHE-ARIA128-GCM-SHA256'])->{outcome}, 200,
       'debian: ECDHE-ARIA128-GCM-SHA256 only: mod_ssl accepts it');
    is(req($p->{tls}, version => '1.2', args => ['-cipher', 'ECDHE-ARIA128-GCM-SHA256'])->{outcome}, 'refused',
       'debian: ECDHE-ARIA128-GCM-SHA256 only: mod_tls does not (GnuTLS has no ARIA)');
    like($p->{conv}{out} =~ s/\n# tls-migrate:   / /gr, qr/^# tls-migrate: note: .*not implemented by GnuTLS.*ECDHE-ARIA128-GCM-SHA256/m,
         'debian: ... which the conversion notes');
    # SSLSessionTickets off: no TLS 1.2 ticket from either; a server with
    # tickets on gives one (the check can see them)
    my $ctl = TLSTest::Httpd->new(conf => tls_vhost(certs => ['rsa']));
    $ctl->start;
    for my $srv (['mod_ssl', $p->{ssl}, 0], ['mod_tls', $p->{tls}, 0], ['mod_tls with tickets on', $ctl, 1]) {
        my $sess = tmpdir() . "/sess.$srv->[0]";
        $sess =~ s/ /_/g;
        unlink $sess;
        req($srv->[1], version => '1.2', args => ['-sess_out', $sess]);
        my ($rc, $text) = run_cmd(['openssl', 'sess_id', '-in', $sess, '-noout', '-text']);
        is($rc, 0, "tickets: $srv->[0]: a TLS 1.2 session was saved");
        is(($text =~ /TLS session ticket:/) ? 1 : 0, $srv->[2], "tickets: $srv->[0]: " . ($srv->[2] ? 'a ticket' : 'no ticket'));
    }
}

# ====================================================================== httpd-ssl.conf

{
    my $in = slurp(data_file('httpd-ssl.conf.in'));
    # both servers read the same text; their directories and the port of the
    # file's Listen line come in through Define lines
    my $text = fill_httpd_ssl_conf($in, port => '${SITE_SSLPORT}', dir => '${SITE_DIR}');
    my %port = (ssl => free_port(), tls => free_port());
    # the certificate the file names (conf/server.crt): the test PKI's RSA one
    my $certs = sub {
        my ($h) = @_;
        mkdir $h->dir . '/conf';
        spit($h->dir . '/conf/server.crt', slurp(pki() . '/server-rsa.crt'));
        spit($h->dir . '/conf/server.key', slurp(pki() . '/server-rsa.key'), 0600);
    };
    my $p = pair(name => 'httpd-ssl', original => "LoadModule ssl_module $MODSSL\n$text",
                 defines => { SITE_SSLPORT => { %port } }, setup => $certs);
    is_deeply($p->{gone}, [], 'httpd-ssl: mod_tls has every directive of the conversion');
    is($p->{check}{rc}, 0, 'httpd-ssl: --check: everything translates') or diag($p->{check}{out});
    like($p->{conv}{out}, qr/^TLSPriorities \S+:%SERVER_PRECEDENCE$/m, 'httpd-ssl: SSLHonorCipherOrder on is in the priority string');
    {
        my $full = TLSTest::Httpd->new(tls => 0, modules => ['socache_shmcb'],
                                       conf => site_defines(SITE_SSLPORT => free_port()) . $p->{conv}{out});
        $certs->($full);
        my ($rc, $out) = $full->configtest;
        is($rc, 0, 'httpd-ssl: apache2 -t accepts the whole conversion, proxy lines included') or diag($out);
        like($out, qr/Syntax OK/, 'httpd-ssl: ... Syntax OK');
    }
    $p->{ssl}->start;
    $p->{tls}->start;
    for my $v ('1.3', '1.2') {
        my %r = map { $_ => req($p->{$_}, to => $port{$_}, version => $v) } qw(ssl tls);
        is($r{ssl}{outcome}, 200, "httpd-ssl: TLS $v: the page (mod_ssl)");
        is($r{tls}{outcome}, 200, "httpd-ssl: TLS $v: the page (mod_tls)");
        is($r{tls}{resp}{body}, $r{ssl}{resp}{body}, "httpd-ssl: TLS $v: the same page");
        compare_vars($p, "TLS $v", version => $v, to => \%port);
    }
}

# ====================================================================== client certificates

{
    my $p = pair(name => 'clientcert', listen => 2, modules => [@AUTH],
                 original => "LoadModule ssl_module $MODSSL\n" . slurp(data_file('clientcert-site.conf')));
    is($p->{check}{rc}, 0, 'clientcert: --check: everything translates') or diag($p->{check}{out});
    is_deeply($p->{gone}, [], 'clientcert: the conversion uses only directives mod_tls has');
    my $alice_dn = legacy_dn('alice');
    for my $h ($p->{ssl}, $p->{tls}) {
        mkdir $h->docroot . "/$_" for qw(secure members area);
        spit($h->docroot . "/$_/index.html", "$_ page\n") for qw(secure members area);
        spit($h->dir . '/members.passwd', 'member:' . crypt('secret', 'ab') . "\n");
        # the How-To's password file: the certificate's subject, "password"
        spit($h->dir . '/area.passwd', "$alice_dn:xxj31ZMTZzkVA\n");
        $h->start;
    }
    wait_cert_age($_, 2) for qw(alice bob);
    my $member = 'member:secret';
    # [ path, certificate, user, mod_ssl's outcome, mod_tls's outcome ] with
    # a TLS version's own outcomes where they differ ({ '1.2' => [...] }).
    # mod_ssl refuses the handshake for a certificate from another CA, where
    # mod_tls's conversion answers 403. On /area/ (SSLVerifyClient require
    # in a directory of a vhost with optional) mod_ssl asks for the
    # certificate again: over TLS 1.2 by renegotiation, which a client
    # without a certificate fails; over TLS 1.3 by post-handshake
    # authentication, which OpenSSL refuses after a handshake that already
    # asked ("Cannot perform Post-Handshake Authentication", 403 even for a
    # good certificate). mod_tls judges the certificate of the handshake:
    # the one documented difference (docs/migrate.md).
    my @CASES = (
        ['/', undef, undef, 200, 200],
        ['/', 'alice', undef, 200, 200],
        ['/', 'otherca', undef, 'refused', 403],
        ['/secure/', undef, undef, 403, 403],
        ['/secure/', 'alice', undef, 200, 200],
        ['/secure/', 'otherca', undef, 'refused', 403],
        ['/members/', undef, undef, 401, 401],
        ['/members/', undef, $member, 200, 200],
        ['/members/', undef, 'member:wrong', 401, 401],
        ['/members/', undef, 'other:secret', 401, 401],
        ['/members/', 'alice', undef, 401, 401],
        ['/members/', 'alice', $member, 200, 200],
        ['/members/', 'otherca', $member, 'refused', 403],
        ['/area/', undef, undef, { '1.3' => [403, 403], '1.2' => ['refused', 403] }],
        ['/area/', 'alice', undef, { '1.3' => [403, 200, 'PHA'], '1.2' => [200, 200] }],
        ['/area/', 'bob', undef, { '1.3' => [403, 401, 'PHA'], '1.2' => [401, 401] }],
        ['/area/', 'otherca', undef, 'refused', 403],
    );
    for my $v ('1.3', '1.2') {
        for my $c (@CASES) {
            my ($path, $cert, $user, @want) = @$c;
            my ($want_ssl, $want_tls, $exception) = ref $want[0] ? @{$want[0]{$v}} : @want;
            my $what = "clientcert: TLS $v, $path, " . ($cert // 'no certificate') . ($user ? ", user $user" : '');
            my $s = req($p->{ssl}, version => $v, path => $path, cert => $cert, user => $user);
            my $t = req($p->{tls}, version => $v, path => $path, cert => $cert, user => $user);
            is($s->{outcome}, $want_ssl, "$what: mod_ssl: $want_ssl") or diag($s->{out});
            is($t->{outcome}, $want_tls, "$what: mod_tls: $want_tls") or diag($t->{out});
            if ($exception) {
                like($s->{resp}{body} // '', qr/Cannot perform Post-Handshake Authentication/,
                     "$what: mod_ssl's 403 is its failed post-handshake authentication (the documented difference)");
                next;
            }
            is(($t->{outcome} eq '200') ? 'allowed' : 'denied', ($s->{outcome} eq '200') ? 'allowed' : 'denied',
               "$what: the same access decision");
            is($t->{resp}{body}, $s->{resp}{body}, "$what: the same page") if $want_ssl eq '200';
        }
        for my $cert (undef, 'alice') {
            my $env = compare_vars($p, "TLS $v, " . ($cert // 'no certificate'), version => $v, cert => $cert);
            is($env->{tls}{SSL_CLIENT_VERIFY}, $cert ? 'SUCCESS' : 'NONE', "clientcert: TLS $v: SSL_CLIENT_VERIFY");
            like($env->{tls}{SSL_CLIENT_S_DN} // '', qr/CN=alice/, "clientcert: TLS $v: SSL_CLIENT_S_DN") if $cert;
        }
    }
    # plain HTTP: SSLRequireSSL refuses /members/ before asking for a password
    for my $srv ('ssl', 'tls') {
        is(plain_req($p->{$srv}, 1, '/')->{status}, 200, "clientcert: plain HTTP, /: 200 ($srv)");
        is(plain_req($p->{$srv}, 1, '/members/')->{status}, 403, "clientcert: plain HTTP, /members/: 403, no password asked ($srv)");
        is(plain_req($p->{$srv}, 1, '/members/', Authorization => 'Basic ' . encode_base64($member, ''))->{status}, 403,
           "clientcert: plain HTTP, /members/ with the right password: still 403 ($srv)");
    }
}

# ====================================================================== a proxy site

{
    my $backend = TLSTest::Httpd->new(conf => tls_vhost());
    pki_cert('wrongname', cn => 'wrong.test', dns => ['wrong.test'], ip => ['10.9.9.9']);
    my $wrong = TLSTest::Httpd->new(conf => tls_vhost(certs => ['wrongname']));
    $_->start for $backend, $wrong;
    my $p = pair(name => 'proxy', modules => [qw(proxy proxy_http)],
                 defines => { BACKEND_PORT => $backend->port, WRONGNAME_PORT => $wrong->port },
                 original => "LoadModule ssl_module $MODSSL\n" . slurp(data_file('proxy-site.conf')));
    my @bad = grep { $_->{status} eq 'untranslatable' } @{$p->{check}{changes}};
    is(scalar(@bad), 1, 'proxy: --check: one line cannot be translated');
    like($bad[0]{text} // '', qr/^SSLProxyVerifyDepth 2: mod_tls has no TLSProxyVerifyDepth/,
         'proxy: ... SSLProxyVerifyDepth, as mod_tls has no verify depth for backends');
    is_deeply([tls_lines(join "\n", grep { /TLSProxy/ } split /\n/, $p->{conv}{out})],
              ['TLSProxyEngine on', 'TLSProxyVerify require', 'TLSProxyCA "${SITE_PKI}/ca.crt"', 'TLSProxyCheckPeerName on',
               'TLSProxyProtocol all -TLSv1 -TLSv1.1'],
              'proxy: the TLSProxy* lines');
    TODO: {
        local $TODO = 'mod_tls has no ' . join(', ', @{$p->{gone}}) . ' yet (TLS to proxy backends)' if @{$p->{gone}};
        my $full = TLSTest::Httpd->new(tls => 0, modules => [qw(proxy proxy_http socache_shmcb)],
            conf => site_defines(BACKEND_PORT => $backend->port, WRONGNAME_PORT => $wrong->port) . $p->{conv}{out});
        my ($rc) = $full->configtest;
        is($rc, 0, 'proxy: apache2 -t accepts the whole conversion, TLSProxy* lines included');
    }
    # mod_ssl on the original: the comparison's reference
    $p->{ssl}->start;
    my $ok = req($p->{ssl}, version => '1.3', path => '/backend/');
    is($ok->{outcome}, 200, 'proxy: mod_ssl: a verified backend answers');
    is($ok->{resp}{body}, TLSTest::Httpd->index_content, "proxy: mod_ssl: the backend's page");
    my $wrongname = req($p->{ssl}, version => '1.3', path => '/wrongname/')->{outcome};
    like($wrongname, qr/^5\d\d$/, "proxy: mod_ssl: a backend whose certificate names another host: $wrongname");
    like($p->{ssl}->error_log, qr/AH02411: SSL Proxy: Peer certificate does not match for hostname localhost/,
         'proxy: mod_ssl: ... because of the name check');
    SKIP: {
        skip 'mod_tls has no ' . join(', ', @{$p->{gone}}) . ' yet (TLS to proxy backends): the converted proxy site '
             . 'cannot run', 5 if @{$p->{gone}};
        $p->{tls}->start;
        my $t = req($p->{tls}, version => '1.3', path => '/backend/');
        is($t->{outcome}, 200, 'proxy: mod_tls: a verified backend answers');
        is($t->{resp}{body}, $ok->{resp}{body}, "proxy: mod_tls: the backend's page");
        # mod_ssl's "SSL_connect_rv" note makes mod_proxy answer 500; mod_tls
        # aborts the backend connection, which mod_proxy answers with 502
        is(req($p->{tls}, version => '1.3', path => '/wrongname/')->{outcome}, 502,
           "proxy: mod_tls: a backend whose certificate names another host: 502 (mod_ssl: $wrongname)");
        like($p->{tls}->error_log, qr/\[tls:error\].*TLS handshake with backend localhost:\d+ failed: .*it is not valid for the name 'localhost'/,
             'proxy: mod_tls: ... because of the name check');
        is(req($p->{tls}, version => '1.2', path => '/backend/')->{outcome}, 200, 'proxy: mod_tls: over TLS 1.2 too');
    }
}

# ====================================================================== OCSP

# client certificates checked by OCSP (SSLOCSPEnable leaf, a default
# responder, its timeout), with require: the same outcomes from mod_ssl on
# the original and mod_tls on the conversion, whatever the responder says
# or does. (Under optional mod_ssl aborts the handshake where mod_tls goes
# on with FAILED:reason; and mod_tls keeps good answers until nextUpdate
# where mod_ssl asks every time: the failure cases use certificates the
# responder never vouched for.)
SKIP: {
    skip 'mod_tls has no TLSClientOCSP yet', 1 unless $IMPL{TLSClientOCSP};
    my $relay = TLSTestOCSP::Relay->new;
    # signed by the intermediate itself: mod_ssl verifies the signer
    # against SSLCACertificateFile (the root) and the response's certificates
    my $resp = TLSTestOCSP::Responder->new(ca => 'int', signer => 'int', good => ['alice'],
                                           revoked => ['revoked']);
    $relay->set('pass', to => $resp->port);
    my $p = pair(name => 'clientocsp', defines => { SITE_OCSP => $relay->url },
                 original => "LoadModule ssl_module $MODSSL\n" . slurp(data_file('clientocsp-site.conf')));
    is($p->{check}{rc}, 0, 'clientocsp: --check: everything translates') or diag($p->{check}{out});
    is_deeply($p->{gone}, [], 'clientocsp: the conversion uses only directives mod_tls has');
    is_deeply([grep { /OCSP/ } tls_lines($p->{conv}{out})],
              ['TLSClientOCSP leaf', 'TLSClientOCSPDefaultResponder "${SITE_OCSP}"', 'TLSClientOCSPTimeout 2'],
              'clientocsp: the TLSClientOCSP lines');
    $_->start for $p->{ssl}, $p->{tls};
    # certificates the responder never answered about for the failures
    pki_client($_) for qw(trylater close hang);
    for my $case (['pass', 'alice', 200], ['pass', 'revoked', 'refused'], ['pass', 'bob', 'refused'],
                  ['trylater', 'trylater', 'refused'], ['close', 'close', 'refused'], ['hang', 'hang', 'refused']) {
        my ($mode, $cert, $want) = @$case;
        $relay->set($mode);
        for my $v ('1.3', '1.2') {
            my (%out, %asked);
            for my $srv ('ssl', 'tls') {
                my $before = $relay->count;
                $out{$srv} = req($p->{$srv}, version => $v, cert => $cert, path => '/')->{outcome};
                $asked{$srv} = $relay->count - $before;
            }
            my $what = "clientocsp: TLS $v, responder $mode, $cert";
            is($out{ssl}, $want, "$what: mod_ssl: $want");
            is($out{tls}, $out{ssl}, "$what: mod_tls the same");
            is($asked{ssl}, 1, "$what: mod_ssl asked the responder");
            # mod_tls keeps answers, not failures
            is($asked{tls}, $mode ne 'pass' || $v eq '1.3' ? 1 : 0,
               "$what: mod_tls asked " . ($mode ne 'pass' || $v eq '1.3' ? 'the responder' : 'nobody (cached)'));
        }
    }
}

# OCSP stapling (SSLUseStapling on, mod_ssl's SSLStapling* defaults but a
# 3-second responder timeout): good and revoked are stapled alike; where
# docs/ocsp.md says they differ, they do: mod_ssl staples a response whose
# signer it never checked, makes handshakes wait for a responder that
# hangs, staples a (made-up) tryLater, and fetches again after a graceful
# restart; mod_tls does none of these.
SKIP: {
    skip 'mod_tls has no TLSOCSPStapling yet', 1 unless $IMPL{TLSOCSPStapling};
    my %relay = map { $_ => TLSTestOCSP::Relay->new } qw(good revoked wrongsig hang trylater);
    pki_cert("ms-$_", cn => "ms-$_.localhost", dns => ['localhost'], ocsp => $relay{$_}->url) for keys %relay;
    my $resp = TLSTestOCSP::Responder->new(ca => 'int', signer => 'ocsp', good => ['ms-good'],
                                           revoked => ['ms-revoked']);
    my $noeku = TLSTestOCSP::Responder->new(ca => 'int', signer => 'ocsp-noeku', good => ['ms-wrongsig']);
    $relay{$_}->set('pass', to => $resp->port) for qw(good revoked);
    $relay{wrongsig}->set('pass', to => $noeku->port);
    $relay{hang}->set('hang');
    $relay{trylater}->set('trylater');
    my $p = pair(name => 'stapling', listen => 5,
                 defines => { map { ("SITE_PORT$_" => "\@PORT$_\@") } 3 .. 5 },
                 original => "LoadModule ssl_module $MODSSL\n" . slurp(data_file('stapling-site.conf')));
    is($p->{check}{rc}, 0, 'stapling: --check: everything translates') or diag($p->{check}{out});
    is_deeply($p->{gone}, [], 'stapling: the conversion uses only directives mod_tls has');
    is_deeply([grep { /OCSP|Stapl/ } tls_lines($p->{conv}{out})], ['TLSOCSPStapling on'],
              'stapling: SSLUseStapling on becomes TLSOCSPStapling on, the SSLStapling* tuning is dropped');
    my %port = (good => 0, revoked => 1, wrongsig => 2, hang => 3, trylater => 4);
    my $get = sub {
        my ($srv, $case, %o) = @_;
        return staple_get(port => $p->{$srv}->port($port{$case}), %o);
    };
    # mod_tls fetches from its start on, in the background
    $p->{tls}->start;
    ok(wait_until(sub { $get->('tls', 'good')->{staple} && $get->('tls', 'revoked')->{staple} }, timeout => 15),
       'stapling: mod_tls has its responses soon after its start');
    $p->{ssl}->start;
    for my $case (['good', 'good'], ['revoked', 'revoked']) {
        my ($name, $want) = @$case;
        for my $v ('1.3', '1.2') {
            my %st = map { $_ => ($get->($_, $name, version => $v)->{staple} || {})->{status} } 'ssl', 'tls';
            is($st{ssl}, $want, "stapling, TLS $v, $name: mod_ssl staples $want");
            is($st{tls}, $st{ssl}, "stapling, TLS $v, $name: mod_tls the same");
        }
    }
    my %r = map { $_ => $get->($_, 'wrongsig') } 'ssl', 'tls';
    is(($r{ssl}{staple} || {})->{status}, 'good', 'stapling, a response signed without the OCSP signing purpose: '
       . 'mod_ssl staples it');
    ok($r{tls}{ok} && !$r{tls}{staple}, '... mod_tls does not');
    %r = map { $_ => $get->($_, 'hang') } 'tls', 'ssl';
    ok($r{ssl}{elapsed} >= 2.5, sprintf('stapling, a responder that hangs: mod_ssl\'s handshake waits for it '
       . '(SSLStaplingResponderTimeout 3: %.1f s)', $r{ssl}{elapsed}));
    ok($r{tls}{ok} && $r{tls}{elapsed} < 2, sprintf('... mod_tls\'s does not (%.2f s), and staples nothing',
       $r{tls}{elapsed}));
    is($r{tls}{staple}, undef, '... (nothing stapled by mod_tls)');
    %r = map { $_ => $get->($_, 'trylater') } 'ssl', 'tls';
    is(($r{ssl}{staple} || {})->{response_status}, 'trylater', 'stapling, a responder that answers tryLater: '
       . 'mod_ssl staples that answer');
    ok($r{tls}{ok} && !$r{tls}{staple}, '... mod_tls staples nothing');
    for my $srv ('ssl', 'tls') {
        my $before = $relay{good}->count;
        $p->{$srv}->graceful;
        is(($get->($srv, 'good')->{staple} || {})->{status}, 'good', "stapling, after a graceful restart: $srv staples");
        is($relay{good}->count - $before, $srv eq 'ssl' ? 1 : 0, $srv eq 'ssl'
           ? '... mod_ssl asked the responder again' : '... mod_tls did not ask again');
    }
}

# ====================================================================== the SSL How-To

{
    my @files = sort glob(data_file('ssl-howto') . '/*.conf');
    is(scalar(@files), 11, 'the SSL How-To has 11 configuration examples');
    for my $f (@files) {
        (my $name = $f) =~ s{.*/}{};
        my $text = slurp($f);
        # the example certificate files become the test PKI's
        $text =~ s{"/path/to/www\.example\.com\.cert"}{"\${SITE_PKI}/server-ecdsa.crt"};
        $text =~ s{"/path/to/www\.example\.com\.key"}{"\${SITE_PKI}/server-ecdsa.key"};
        $text = "LoadModule ssl_module $MODSSL\n$text" unless $text =~ /^LoadModule ssl_module/m;
        # the relative paths of the examples (conf/ssl.crt/ca.crt,
        # modules/mod_ssl.so), under each ServerRoot
        my $files = sub {
            my ($h) = @_;
            mkdir $_ for $h->dir . '/conf', $h->dir . '/conf/ssl.crt', $h->dir . '/modules';
            spit($h->dir . "/conf/ssl.crt/$_", slurp(pki() . '/ca.crt')) for qw(ca.crt company-ca.crt);
            symlink($MODSSL, $h->dir . '/modules/mod_ssl.so');
            symlink($TLSTest::Httpd::MODULE, $h->dir . '/modules/mod_tls.so');
        };
        my $p = pair(name => "howto-$name", original => $text, modules => [@AUTH, 'socache_dbm'], setup => $files);
        if (@{$p->{gone}}) {
            TODO: {
                local $TODO = "mod_tls has no @{$p->{gone}} yet";
                my $full = TLSTest::Httpd->new(tls => 0, modules => [@AUTH, 'socache_dbm'], conf => site_defines() . $p->{conv}{out});
                $files->($full);
                my ($rc) = $full->configtest;
                is($rc, 0, "howto-$name: apache2 -t accepts the whole conversion");
            }
        }
    }
}

finish();
