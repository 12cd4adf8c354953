# mod_ssl features that configurations use, side by side with mod_ssl:
# the ap_expr function SSL (%{SSL:VAR} in Header expr=, <If>, Require expr),
# PeerExtList(), the subjectAltName otherName variables (msUPN, dnsSRV), and
# TLSRenegBufferSize (SSLRenegBufferSize).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestClient;
use Test::More;

# a client certificate with otherName SANs and a private extension
my $dir = pki();
my ($crt, $key) = ("$dir/client-carol.crt", "$dir/client-carol.key");
unless (-s $crt) {
    my ($rc, $out) = run_cmd(['certtool', '--generate-privkey', '--key-type', 'ecdsa',
                              '--no-text', '--outfile', $key]);
    die "certtool: $out" if $rc;
    my $tmpl = spit(tmpdir() . '/carol.tmpl', join("\n",
        'organization = "mod_tls tests"', 'cn = "carol"', 'tls_www_client', 'signing_key',
        'expiration_days = 30',
        'other_name_utf8 = "1.3.6.1.4.1.311.20.2.3 carol@example.org"',
        # id-on-dnsSRV: an IA5String
        'other_name = "1.3.6.1.5.5.7.8.7 ' . unpack('H*', "\x16\x11_imap.example.org") . '"',
        # a private extension with a UTF8String "gold"
        'add_extension = "1.3.6.1.4.1.99999.1 0x0c04676f6c64"', '') . "\n");
    ($rc, $out) = run_cmd(['certtool', '--generate-certificate', '--no-text',
        '--load-privkey', $key, '--load-ca-certificate', "$dir/int.crt",
        '--load-ca-privkey', "$dir/int.key", '--template', $tmpl, '--outfile', "$crt.leaf"]);
    die "certtool: $out" if $rc;
    spit($crt, slurp("$crt.leaf") . slurp("$dir/int.crt"));
}

my $common = <<'EOF';
Header always set X-Proto "expr=%{SSL:SSL_PROTOCOL}"
Header always set X-SRV "expr=%{SSL:SSL_CLIENT_SAN_OTHER_dnsSRV_0}"
<If "%{SSL:SSL_CLIENT_S_DN_CN} == 'carol'">
    Header always set X-Carol "yes"
</If>
Alias /gold @DOCROOT@/index.html
<Location /gold>
    Require expr "'gold' in PeerExtList('1.3.6.1.4.1.99999.1')"
</Location>
<Location /small>
    SetHandler reflector
</Location>
EOF
my $h = TLSTest::Httpd->new(conf => tls_vhost(extra => <<"EOF"));
TLSClientCA \@PKI\@/ca.crt
TLSClientVerifyDepth 2
TLSClientCertificate optional
TLSOptions +StdEnvVars
$common
<Location /small>
    TLSRenegBufferSize 1024
</Location>
EOF
install_scripts($h);
$h->start;

my @ssl;
if (-f '/usr/lib/apache2/modules/mod_ssl.so' && !$TLSTest::Httpd::EMULATE) {
    my $s = TLSTest::Httpd->new(tls => 0, modules => ['ssl', 'socache_shmcb'], conf => vhost(extra => <<"EOF"));
SSLEngine on
SSLCertificateFile \@PKI\@/server-ecdsa.crt
SSLCertificateKeyFile \@PKI\@/server-ecdsa.key
SSLCACertificateFile \@PKI\@/ca.crt
SSLVerifyDepth 2
SSLVerifyClient optional
SSLOptions +StdEnvVars
$common
EOF
    install_scripts($s);
    $s->start;
    push @ssl, $s;
}

for my $srv (['mod_tls', $h], map { ['mod_ssl', $_] } @ssl) {
    my ($name, $server) = @$srv;
    my $r = s_client(port => $server->port, cert => 'carol', version => '1.3', brief => 1,
                     requests => [http_request(path => '/cgi-bin/vars.cgi', close => 1)]);
    my $env = env_of($r);
    is($env->{SSL_CLIENT_VERIFY}, 'SUCCESS', "$name: carol verified") or diag($r->{out});
    is($r->{headers}{'x-proto'}, 'TLSv1.3', "$name: Header expr=%{SSL:SSL_PROTOCOL}");
    is($r->{headers}{'x-carol'}, 'yes', "$name: <If> with %{SSL:SSL_CLIENT_S_DN_CN}");
    is($env->{SSL_CLIENT_SAN_OTHER_msUPN_0}, 'carol@example.org', "$name: SSL_CLIENT_SAN_OTHER_msUPN_0");
    # mod_ssl exports a client's msUPN names, a server's dnsSRV ones; each
    # can be asked for by name
    ok(!exists $env->{SSL_CLIENT_SAN_OTHER_dnsSRV_0}, "$name: no client dnsSRV in the environment");
    is($r->{headers}{'x-srv'}, '_imap.example.org', "$name: %{SSL:SSL_CLIENT_SAN_OTHER_dnsSRV_0}");
    $r = s_client(port => $server->port, cert => 'carol', version => '1.3', brief => 1, path => '/gold');
    is($r->{status}, 200, "$name: Require expr with PeerExtList: carol's extension admits her");
    $r = s_client(port => $server->port, cert => 'alice', version => '1.3', brief => 1, path => '/gold');
    is($r->{status}, 403, "$name: alice has no such extension: 403");
}

# TLSRenegBufferSize: the body kept while renegotiating for a certificate
{
    my $h2 = TLSTest::Httpd->new(conf => tls_vhost(extra => <<"EOF"));
TLSClientCA \@PKI\@/ca.crt
TLSClientVerifyDepth 2
<Location /small>
    TLSClientCertificate require
    TLSRenegBufferSize 1024
    SetHandler reflector
</Location>
<Location /large>
    TLSClientCertificate require
    SetHandler reflector
</Location>
EOF
    $h2->start;
    for my $case (['/small', 4096, 413], ['/small', 512, 200], ['/large', 65536, 200]) {
        my ($path, $len, $want) = @$case;
        my $s = client_connect(port => $h2->port, version => '1.2', cert => 'alice')
            or die "connect: $IO::Socket::SSL::SSL_ERROR";
        my $body = 'x' x $len;
        my $r = send_request($s, path => $path, method => 'POST', body => $body, close => 1);
        is($r->{status} // $r->{error}, $want, "TLS 1.2 renegotiation, $len-byte body to $path: $want");
        is($r->{body}, $body, "$path: the body came through intact") if $want == 200;
    }
    like($h2->error_log, qr/larger than 1024 bytes \(TLSRenegBufferSize\)/, 'the 413 is logged with the limit');
}

finish();
