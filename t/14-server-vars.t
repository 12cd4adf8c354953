# Request variables of this issue, in mod_ssl's names and formats: SSL_TLS_SNI,
# SSL_SESSION_ID, SSL_CIPHER_USEKEYSIZE / _ALGKEYSIZE, SSL_SECURE_RENEG, the
# SSL_SERVER_* family (compared with what openssl reads from the same
# certificate file) and SSL_SERVER_CERT (ExportCertData); https self-references
# (redirect Location); log formats %{VAR}x and %{version|cipher|subjectdn|
# issuerdn}c ("-" on plain HTTP); Require expr and <If> on SSL_* variables.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use Test::More;

my $main = <<'EOF';
ScriptAlias /cgi-x/ @DIR@/cgi-bin/
<Location /cgi-bin/>
    TLSOptions +StdEnvVars
</Location>
# StdEnvVars leaves SSL_SERVER_V_REMAIN out, as mod_ssl; lookups have it
RequestHeader set X-V-Remain "%{SSL_SERVER_V_REMAIN}s"
<Location /cgi-x/>
    TLSOptions +StdEnvVars +ExportCertData
</Location>
LogFormat "%q %{SSL_PROTOCOL}x %{SSL_CIPHER}x %{version}c %{cipher}c %{SSL_TLS_SNI}x %{SSL_SERVER_S_DN_CN}x" tlsvars
CustomLog @DIR@/logs/tls.log tlsvars
LogFormat "%q %{subjectdn}c %{issuerdn}c %{SSL_CLIENT_VERIFY}x %{HTTPS}x" tlsclient
CustomLog @DIR@/logs/client.log tlsclient
Alias /cn @DOCROOT@/index.html
<Location /cn>
    Require expr %{SSL_SERVER_S_DN_CN} == 'localhost'
</Location>
<If "%{SSL_PROTOCOL} == 'TLSv1.3'">
    Header always set X-If13 yes
</If>
<Else>
    Header always set X-If13 no
</Else>
EOF
my $h = TLSTest::Httpd->new(listen => 4, conf => join('', $main,
    tls_vhost(name => 'localhost', vh => 'ecdsa'),
    tls_vhost(name => 'other.localhost', certs => ['other'], vh => 'other'),
    tls_vhost(port => '@PORT2@', certs => ['rsa'], vh => 'rsa'),
    tls_vhost(port => '@PORT3@', certs => ['ed25519'], vh => 'ed25519'),
    vhost(port => '@PORT4@')));
mkdir $h->docroot . '/somedir';
TLSTest::spit($h->docroot . '/somedir/index.html', "somedir\n");
# the PEM spans lines, which "env | sort" would shuffle: a CGI that prints it alone
TLSTest::spit($h->dir . '/cgi-bin/cert.cgi',
              "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nprintf '%s' \"\$SSL_SERVER_CERT\"\n", 0755);
$h->start;
my ($port, $rsa_port, $ed_port, $plain_port) = map { $h->port($_) } 0 .. 3;
my $pki = pki();

# what openssl reads from a certificate file, in mod_ssl's formats
sub expected {
    my ($file) = @_;
    my %e;
    $e{S_DN} = x509_field($file, '-subject', '-nameopt', 'RFC2253');
    $e{I_DN} = x509_field($file, '-issuer', '-nameopt', 'RFC2253');
    ($e{M_SERIAL} = x509_field($file, '-serial')) =~ s/^(00)+(?=.)//;
    $e{V_START} = x509_field($file, '-startdate');
    $e{V_END} = x509_field($file, '-enddate');
    my $text = x509_field($file, '-text');
    ($e{A_SIG}) = $text =~ /Signature Algorithm: (\S+)/;
    ($e{A_KEY}) = $text =~ /Public Key Algorithm: (\S+)/;
    ($e{M_VERSION}) = $text =~ /Version: (\d+)/;
    $e{DNS} = [ $text =~ /DNS:([^,\s]+)/g ];
    ($e{PEM} = cert_pem($file, 0)) =~ s/\s+$//;
    $e{end_epoch} = x509_time($e{V_END});
    return \%e;
}

# server_vars(LABEL, ENV, CERTFILE, CN): SSL_SERVER_* in ENV describe CERTFILE
sub server_vars {
    my ($label, $env, $file, $cn) = @_;
    my $e = expected($file);
    subtest "$label: SSL_SERVER_* describe $file" => sub {
        is($env->{SSL_SERVER_S_DN}, "CN=$cn,O=mod_tls tests", 'SSL_SERVER_S_DN (RFC 2253, most specific first)');
        is($env->{SSL_SERVER_S_DN}, $e->{S_DN}, 'SSL_SERVER_S_DN as openssl -nameopt RFC2253');
        is($env->{SSL_SERVER_S_DN_CN}, $cn, 'SSL_SERVER_S_DN_CN');
        is($env->{SSL_SERVER_S_DN_O}, 'mod_tls tests', 'SSL_SERVER_S_DN_O');
        is($env->{SSL_SERVER_I_DN}, $e->{I_DN}, 'SSL_SERVER_I_DN as openssl -nameopt RFC2253');
        is($env->{SSL_SERVER_I_DN}, 'CN=mod_tls Test Intermediate CA,O=mod_tls tests', 'SSL_SERVER_I_DN');
        is($env->{SSL_SERVER_I_DN_CN}, 'mod_tls Test Intermediate CA', 'SSL_SERVER_I_DN_CN');
        is($env->{SSL_SERVER_M_VERSION}, $e->{M_VERSION}, 'SSL_SERVER_M_VERSION');
        is($env->{SSL_SERVER_M_VERSION}, 3, 'SSL_SERVER_M_VERSION=3');
        is($env->{SSL_SERVER_M_SERIAL}, $e->{M_SERIAL}, 'SSL_SERVER_M_SERIAL as openssl -serial');
        like($env->{SSL_SERVER_M_SERIAL} // '', qr/^[0-9A-F]+$/, 'SSL_SERVER_M_SERIAL upper-case hex');
        is($env->{SSL_SERVER_V_START}, $e->{V_START}, 'SSL_SERVER_V_START as openssl -startdate');
        is($env->{SSL_SERVER_V_END}, $e->{V_END}, 'SSL_SERVER_V_END as openssl -enddate');
        like($env->{SSL_SERVER_V_END} // '', qr/^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} GMT$/,
             'SSL_SERVER_V_END format');
        my $days = ($e->{end_epoch} - time) / 86400;
        ok(!exists $env->{SSL_SERVER_V_REMAIN}, 'SSL_SERVER_V_REMAIN not exported by StdEnvVars (as mod_ssl)');
        my $remain = $env->{HTTP_X_V_REMAIN};
        like($remain // '', qr/^\d+$/, 'SSL_SERVER_V_REMAIN (by lookup) is a number of days');
        ok(abs(($remain // -99) - $days) <= 1,
           "SSL_SERVER_V_REMAIN=" . ($remain // '') . " (expiry in " . sprintf('%.2f', $days) . ' days)');
        is($env->{SSL_SERVER_A_SIG}, $e->{A_SIG}, "SSL_SERVER_A_SIG ($e->{A_SIG})");
        is($env->{SSL_SERVER_A_KEY}, $e->{A_KEY}, "SSL_SERVER_A_KEY ($e->{A_KEY})");
        for my $i (0 .. $#{$e->{DNS}}) {
            is($env->{"SSL_SERVER_SAN_DNS_$i"}, $e->{DNS}[$i], "SSL_SERVER_SAN_DNS_$i");
        }
        ok(!exists $env->{'SSL_SERVER_SAN_DNS_' . @{$e->{DNS}}}, 'no further SSL_SERVER_SAN_DNS_n');
    };
    return $e;
}

my %file = (ecdsa => "$pki/server-ecdsa.crt", rsa => "$pki/server-rsa.crt",
            ed25519 => "$pki/server-ed25519.crt", other => "$pki/other.crt");
is(expected($file{ecdsa})->{A_SIG}, 'ecdsa-with-SHA256', 'openssl: the ECDSA certificate is signed ecdsa-with-SHA256');

# the certificate served, by vhost
for my $c (['ecdsa', $port, 'localhost', 'localhost', 'id-ecPublicKey'],
           ['other', $port, 'other.localhost', 'other.localhost', 'id-ecPublicKey'],
           ['rsa', $rsa_port, 'localhost', 'localhost', 'rsaEncryption'],
           ['ed25519', $ed_port, 'localhost', 'localhost', 'ED25519']) {
    my ($name, $p, $sni, $cn, $key) = @$c;
    my $r = tls_get(client => 'curl', port => $p, sni => $sni, path => '/cgi-x/env.cgi');
    is($r->{status}, 200, "$name vhost: CGI 200") or diag($r->{out});
    my $env = parse_env($r->{body});
    my $e = server_vars("$name vhost (curl)", $env, $file{$name}, $cn);
    is($env->{SSL_SERVER_A_KEY}, $key, "$name vhost: SSL_SERVER_A_KEY=$key");
    is($env->{SSL_SERVER_A_SIG}, 'ecdsa-with-SHA256', "$name vhost: SSL_SERVER_A_SIG=ecdsa-with-SHA256");
    is($env->{SSL_SERVER_SAN_DNS_0}, $cn, "$name vhost: SSL_SERVER_SAN_DNS_0=$cn");
    # ExportCertData: the PEM is the leaf of the file (and of what the client saw)
    ok(exists $env->{SSL_SERVER_CERT}, "$name vhost: SSL_SERVER_CERT with ExportCertData");
    (my $pem = tls_get(client => 'curl', port => $p, sni => $sni, path => '/cgi-x/cert.cgi')->{body} // '')
        =~ s/\s+$//;
    is($pem, $e->{PEM}, "$name vhost: SSL_SERVER_CERT is the leaf PEM of $file{$name}");
    my $o = tls_get(client => 'openssl', port => $p, sni => $sni, path => '/cgi-bin/env.cgi');
    (my $seen = $o->{certs}[0] // '') =~ s/\s+$//;
    is($seen, $e->{PEM}, "$name vhost: openssl received that certificate");
    my $plain = parse_env($o->{body});
    ok(!exists $plain->{SSL_SERVER_CERT}, "$name vhost: no SSL_SERVER_CERT without ExportCertData");
    is($plain->{SSL_SERVER_S_DN}, $env->{SSL_SERVER_S_DN}, "$name vhost: SSL_SERVER_S_DN also without ExportCertData");
}
# the certificate chosen among several in one vhost by the client's algorithms
# is tested in 03; here the SSL_SERVER_* of Perl's and gnutls' connections
for my $client (qw(perl gnutls)) {
    my $r = tls_get(client => $client, port => $port, path => '/cgi-bin/env.cgi');
    my $env = parse_env($r->{body});
    is($env->{SSL_SERVER_S_DN}, 'CN=localhost,O=mod_tls tests', "$client: SSL_SERVER_S_DN");
    is($env->{SSL_SERVER_M_SERIAL}, expected($file{ecdsa})->{M_SERIAL}, "$client: SSL_SERVER_M_SERIAL");
}

# connection variables
for my $version ('1.3', '1.2') {
    for my $client (qw(curl openssl)) {
        # without a ticket, openssl shows the session id the server sent
        # (with one it shows a hash of the ticket)
        my @args = $client eq 'openssl' ? ('-no_ticket') : ();
        my $r = tls_get(client => $client, port => $port, version => $version, path => '/cgi-bin/env.cgi',
                        args => \@args);
        my $env = parse_env($r->{body});
        my $what = "$client TLS $version";
        is($env->{SSL_PROTOCOL}, "TLSv$version", "$what: SSL_PROTOCOL") or diag($r->{out});
        is($env->{HTTPS}, 'on', "$what: HTTPS=on");
        is($env->{REQUEST_SCHEME}, 'https', "$what: REQUEST_SCHEME=https");
        is($env->{SSL_TLS_SNI}, 'localhost', "$what: SSL_TLS_SNI");
        like($env->{SSL_SESSION_ID} // '', qr/^[0-9a-f]{2,64}$/, "$what: SSL_SESSION_ID is lower-case hex");
        if ($client eq 'openssl' && $version eq '1.2') {
            is($env->{SSL_SESSION_ID}, lc($r->{session_id} // ''), "$what: SSL_SESSION_ID is openssl's Session-ID");
        }
        is($env->{SSL_SECURE_RENEG}, 'true', "$what: SSL_SECURE_RENEG=true") if $version eq '1.2';
        is($env->{SSL_CIPHER}, $r->{cipher}, "$what: SSL_CIPHER is what the client negotiated");
    }
}
# the SNI sent, whatever its case... and none without SNI
{
    my $env = parse_env(tls_get(client => 'openssl', port => $port, sni => 'other.localhost',
                                path => '/cgi-bin/env.cgi')->{body});
    is($env->{SSL_TLS_SNI}, 'other.localhost', 'SSL_TLS_SNI=other.localhost');
    $env = parse_env(tls_get(client => 'openssl', port => $port, sni => '', path => '/cgi-bin/env.cgi')->{body});
    ok(!$env->{SSL_TLS_SNI}, 'no SNI: no SSL_TLS_SNI') or diag("SSL_TLS_SNI=$env->{SSL_TLS_SNI}");
    is($env->{SSL_SERVER_S_DN_CN}, 'localhost', 'no SNI: the default vhost certificate');
}

# key sizes by cipher
for my $c (['1.3', ['-ciphersuites', 'TLS_AES_128_GCM_SHA256'], 128],
           ['1.3', ['-ciphersuites', 'TLS_AES_256_GCM_SHA384'], 256],
           ['1.3', ['-ciphersuites', 'TLS_CHACHA20_POLY1305_SHA256'], 256],
           ['1.2', ['-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256'], 128],
           ['1.2', ['-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384'], 256],
           ['1.2', ['-cipher', 'ECDHE-ECDSA-CHACHA20-POLY1305'], 256]) {
    my ($version, $args, $bits) = @$c;
    my $r = tls_get(client => 'openssl', port => $port, version => $version, args => $args,
                    path => '/cgi-bin/env.cgi');
    my $env = parse_env($r->{body});
    is($env->{SSL_CIPHER}, $r->{cipher}, "TLS $version $args->[1]: SSL_CIPHER") or diag($r->{out});
    is($env->{SSL_CIPHER_USEKEYSIZE}, $bits, "TLS $version $args->[1]: SSL_CIPHER_USEKEYSIZE=$bits");
    is($env->{SSL_CIPHER_ALGKEYSIZE}, $bits, "TLS $version $args->[1]: SSL_CIPHER_ALGKEYSIZE=$bits");
}

# self-referencing URLs are https; a Host without a port means 443
for my $host ('localhost', 'other.localhost') {
    # curl sends Host: NAME:PORT
    my $r = tls_get(client => 'curl', port => $port, sni => $host, path => '/somedir');
    is($r->{status}, 301, "curl, $host: GET /somedir redirects") or diag($r->{out});
    is($r->{headers}{location}, "https://$host:$port/somedir/", "curl, Host $host:PORT: Location https://$host:PORT/somedir/");
    # openssl (http_request) sends Host: NAME
    $r = tls_get(client => 'openssl', port => $port, sni => $host, path => '/somedir');
    is($r->{status}, 301, "openssl, $host: GET /somedir redirects") or diag($r->{out});
    is($r->{headers}{location}, "https://$host/somedir/", "openssl, Host $host: Location https://$host/somedir/ (default port 443)");
}

# log formats: the values the client negotiated
my $tag = 0;
sub logged {
    my ($file, $p, %o) = @_;
    my $t = 't' . ++$tag;
    my $path = $h->log_file($file);
    my $mark = $h->file_mark($path);
    my $r = tls_get(port => $p, path => "/?$t", %o);
    my $line = $h->wait_file($path, qr{^\?\Q$t\E }, since => $mark);
    return ($r, $line);
}
for my $version ('1.3', '1.2') {
    for my $client (qw(curl openssl perl)) {
        my ($r, $line) = logged('tls.log', $port, client => $client, version => $version);
        my $cipher = $r->{cipher} // '?';
        like($line, qr{^\?t\d+ TLSv\Q$version\E \Q$cipher\E TLSv\Q$version\E \Q$cipher\E localhost localhost$},
             "$client TLS $version: %{SSL_PROTOCOL}x %{SSL_CIPHER}x %{version}c %{cipher}c %{SSL_TLS_SNI}x %{SSL_SERVER_S_DN_CN}x")
            or diag($r->{out});
    }
}
{
    my ($r, $line) = logged('tls.log', $port, client => 'openssl', sni => 'other.localhost');
    like($line, qr{ TLSv1\.3 \S+ TLSv1\.3 \S+ other\.localhost other\.localhost$}, 'SNI other.localhost: logged');
    ($r, $line) = logged('tls.log', $port, client => 'openssl', sni => '');
    like($line, qr{ TLSv1\.3 \S+ TLSv1\.3 \S+ - localhost$}, 'no SNI: %{SSL_TLS_SNI}x is "-"');
    ($r, $line) = logged('client.log', $port, client => 'curl');
    like($line, qr{^\?t\d+ - - NONE on$}, 'no client certificate: %{subjectdn}c %{issuerdn}c are "-", SSL_CLIENT_VERIFY NONE');
}
# plain HTTP: every field is "-"
{
    my $t = 't' . ++$tag;
    my $mark = $h->file_mark($h->log_file('tls.log'));
    my $r = plain_get($plain_port, path => "/?$t");
    is($r->{status}, 200, 'plain HTTP: 200');
    is($r->{headers}{'x-if13'}, 'no', "plain HTTP: <If \"%{SSL_PROTOCOL} == 'TLSv1.3'\"> is false");
    my $line = $h->wait_file($h->log_file('tls.log'), qr{^\?\Q$t\E }, since => $mark);
    is($line, "?$t - - - - - -", 'plain HTTP: every TLS field of the log is "-"');
}

# Require expr and <If> on SSL_* variables
{
    my $r = tls_get(client => 'curl', port => $port, path => '/cn');
    is($r->{status}, 200, "Require expr %{SSL_SERVER_S_DN_CN} == 'localhost': granted on localhost");
    $r = tls_get(client => 'curl', port => $rsa_port, path => '/cn');
    is($r->{status}, 200, 'Require expr: granted on the RSA localhost vhost');
    $r = tls_get(client => 'curl', port => $port, sni => 'other.localhost', path => '/cn');
    is($r->{status}, 403, 'Require expr: denied on other.localhost');
    for my $version ('1.3', '1.2') {
        my $want = $version eq '1.3' ? 'yes' : 'no';
        $r = tls_get(client => 'curl', port => $port, version => $version);
        is($r->{headers}{'x-if13'}, $want, "<If \"%{SSL_PROTOCOL} == 'TLSv1.3'\"> over TLS $version: $want");
    }
}

finish();
