# mod_tls against mod_ssl: the same requests, with the same server and client
# certificates and the equivalent configuration, through a second httpd with
# Debian's mod_ssl. For every certificate both accept, every SSL_* variable
# (and HTTPS) of the CGI environment must have the same value, except
# library/version strings (SSL_VERSION_LIBRARY, SSL_VERSION_INTERFACE) and
# the per-connection SSL_SESSION_ID. Protocol and cipher suite are forced to
# the same on both. One documented difference: for a certificate whose only
# fault is an unknown issuer, optional_no_ca gives GENEROUS in mod_tls (the
# issue asks for it), while mod_ssl with OpenSSL 3 says FAILED:<reason> over
# TLS 1.3 (and GENEROUS over TLS 1.2).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestClient;
use Test::More;

plan skip_all => 'mod_ssl is not installed' unless -f '/usr/lib/apache2/modules/mod_ssl.so';
plan skip_all => 'this test compares mod_tls with mod_ssl (MOD_TLS_TEST_EMULATE=ssl set)'
    if $TLSTest::Httpd::EMULATE;

my $DEPTH = client_depth();
my @MODES = qw(optional optional_no_ca);

my ($tls_conf, $ssl_conf) = ('', '');
for my $i (0 .. $#MODES) {
    my $p = '@PORT' . ($i + 1) . '@';
    $tls_conf .= tls_vhost(port => $p, extra => <<"EOF");
TLSClientCertificate $MODES[$i]
TLSClientCA \@PKI\@/ca.crt
TLSClientVerifyDepth $DEPTH
TLSOptions +StdEnvVars +ExportCertData
EOF
    $ssl_conf .= vhost(port => $p, extra => <<"EOF");
SSLEngine on
SSLCertificateFile \@PKI\@/server-ecdsa.crt
SSLCertificateKeyFile \@PKI\@/server-ecdsa.key
SSLCACertificateFile \@PKI\@/ca.crt
SSLVerifyClient $MODES[$i]
SSLVerifyDepth 2
SSLOptions +StdEnvVars +ExportCertData
EOF
}
my $tls = install_scripts(TLSTest::Httpd->new(listen => 2, conf => $tls_conf));
my $ssl = install_scripts(TLSTest::Httpd->new(listen => 2, tls => 0,
    modules => ['ssl', 'socache_shmcb'], conf => "SSLSessionCache shmcb:\@DIR\@/run/ssl_scache(512000)\n$ssl_conf"));
$tls->start;
$ssl->start;

my %ALLOWED = map { $_ => 1 } qw(SSL_VERSION_LIBRARY SSL_VERSION_INTERFACE SSL_SESSION_ID);
my %FORCE = (
    '1.3' => ['-ciphersuites', 'TLS_AES_256_GCM_SHA384', '-groups', 'X25519'],
    '1.2' => ['-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384', '-groups', 'X25519:P-256'],
);

# (mode index, certificate or undef, what both must accept)
my @CASES = ([0, 'alice'], [0, 'bob'], [0, undef], [1, 'alice'], [1, 'otherca'], [1, 'selfsigned']);

wait_cert_age($_, 2) for qw(alice bob otherca selfsigned);
my @mismatches;
for my $version ('1.3', '1.2') {
    for my $case (@CASES) {
        my ($i, $cert) = @$case;
        my $what = "TLS $version, $MODES[$i], " . ($cert // 'no certificate');
        my %env;
        for my $srv (['mod_tls', $tls], ['mod_ssl', $ssl]) {
            my $r = ossl(port => $srv->[1]->port($i), version => $version, cert => $cert,
                         path => '/cgi-bin/vars.cgi', args => $FORCE{$version});
            my $resp = $r->{responses}[0] || {};
            is($resp->{status}, 200, "$what: $srv->[0] answers") or diag($r->{out});
            my $e = env_of($resp);
            $env{$srv->[0]} = { map { $_ => $e->{$_} } grep { /^SSL_/ || $_ eq 'HTTPS' } keys %$e };
        }
        my ($t, $s) = @env{qw(mod_tls mod_ssl)};
        is($t->{SSL_PROTOCOL}, "TLSv$version", "$what: mod_tls protocol forced");
        is($s->{SSL_PROTOCOL}, "TLSv$version", "$what: mod_ssl protocol forced");
        my %names = map { $_ => 1 } keys %$t, keys %$s;
        for my $name (sort keys %names) {
            next if $ALLOWED{$name};
            my ($tv, $sv) = ($t->{$name}, $s->{$name});
            if ($name eq 'SSL_CLIENT_VERIFY' && $MODES[$i] eq 'optional_no_ca'
                && ($cert eq 'otherca' || $cert eq 'selfsigned') && ($sv // '') ne 'GENEROUS') {
                is($tv, 'GENEROUS', "$what: mod_tls SSL_CLIENT_VERIFY=GENEROUS");
                like($sv // '', qr/^FAILED:(self-signed certificate|unable to verify the first certificate|unable to get local issuer certificate)$/,
                     "$what: mod_ssl SSL_CLIENT_VERIFY (OpenSSL's no-CA error)");
                next;
            }
            my $ok = is($tv, $sv, "$what: $name");
            push @mismatches, sprintf("%s: %s: mod_ssl=%s mod_tls=%s", $what, $name,
                map { defined $_ ? "'" . (length > 80 ? substr($_, 0, 60) . '...' : $_) . "'" : '(unset)' } $sv, $tv)
                unless $ok;
        }
    }
}
diag("mismatches:\n" . join("\n", @mismatches)) if @mismatches;

finish();
