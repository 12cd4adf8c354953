# Client certificate verification: every TLSClientCertificate mode (none,
# optional, require, optional_no_ca) x every certificate case (none, valid,
# expired, not yet valid, revoked, wrong EKU, other CA, self-signed, chain
# deeper than TLSClientVerifyDepth), over TLS 1.3 and TLS 1.2: handshake
# outcome, the alert of a refusal and its log line, SSL_CLIENT_VERIFY, and
# that the identity variables (and TLSUserName's user) exist exactly when the
# result is SUCCESS or GENEROUS. Then TLSClientVerifyDepth's count,
# TLSClientKeyPurpose, and the CA names of the CertificateRequest.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestClient;
use Test::More;

my @MODES = qw(none optional require optional_no_ca);
my $DEPTH = client_depth();

# case => [certificate, CN, vhost depth, OpenSSL's reason, alert of require]
my %CASE = (
    nocert     => [undef,        undef,        $DEPTH, undef, 116],
    valid      => ['alice',      'alice',      $DEPTH, undef, undef],
    expired    => ['expired',    'expired',    $DEPTH, 'certificate has expired', 45],
    notyet     => ['notyet',     'notyet',     $DEPTH, 'certificate is not yet valid', 42],
    revoked    => ['revoked',    'revoked',    $DEPTH, 'certificate revoked', 44],
    wrongeku   => ['wrongeku',   'wrongeku',   $DEPTH, 'unsupported certificate purpose', 43],
    otherca    => ['otherca',    'otherca',    $DEPTH, 'unable to get local issuer certificate', 48],
    selfsigned => ['selfsigned', 'selfsigned', $DEPTH, 'self-signed certificate', 48],
    toodeep    => ['alice',      'alice',      1,      'certificate chain too long', 48],
);
my @CASES = qw(nocert valid expired notyet revoked wrongeku otherca selfsigned toodeep);
my %NO_CA = (otherca => 1, selfsigned => 1);

# one vhost per mode and depth; then the key purpose and depth vhosts
my (%port_of, $conf);
my $n = 0;
sub add_vhost {
    my ($extra) = @_;
    $n++;
    $conf .= tls_vhost(port => "\@PORT$n\@", extra => <<"EOF" . $extra);
TLSClientCA \@PKI\@/ca.crt
TLSClientCRL \@PKI\@/client.crl
TLSOptions +StdEnvVars +ExportCertData
TLSUserName SSL_CLIENT_S_DN_CN
EOF
    return $n - 1;
}
for my $mode (@MODES) {
    for my $depth ($DEPTH, 1) {
        $port_of{"$mode/$depth"} = add_vhost("TLSClientCertificate $mode\nTLSClientVerifyDepth $depth\n");
    }
}
my %purpose;
for my $p (['any', 'any'], ['serverAuth OID', '1.3.6.1.5.5.7.3.1'], ['clientAuth', 'clientAuth']) {
    $purpose{$p->[0]} = add_vhost("TLSClientCertificate optional\nTLSClientVerifyDepth $DEPTH\n"
                             . "TLSClientKeyPurpose $p->[1]\n");
}
my %depth;
for my $d (2, 3) {
    $depth{$d} = add_vhost("TLSClientCertificate optional\nTLSClientVerifyDepth $d\n");
}

my $h = install_scripts(TLSTest::Httpd->new(listen => $n, conf => $conf));
$h->start;

sub get_vars {
    my ($vh, $version, $cert) = @_;
    return ossl(port => $h->port($vh), version => $version, cert => $cert,
                path => '/cgi-bin/vars.cgi');
}

for my $version ('1.3', '1.2') {
    for my $mode (@MODES) {
        for my $case (@CASES) {
            my ($cert, $cn, $depth, $reason, $alert) = @{$CASE{$case}};
            my $what = "TLS $version, $mode, $case";
            # what the server must answer
            my $verify = !$cert || $mode eq 'none' ? 'NONE'
                       : !$reason ? 'SUCCESS'
                       : ($mode eq 'optional_no_ca' && $NO_CA{$case}) ? 'GENEROUS'
                       : "FAILED:$reason";
            my $refuse = $mode eq 'require' && $verify ne 'SUCCESS';
            $alert = 40 if $refuse && $case eq 'nocert' && $version eq '1.2';

            my $mark = $h->log_mark;
            my $r = get_vars($port_of{"$mode/$depth"}, $version, $cert);
            if ($refuse) {
                is(scalar @{$r->{responses}}, 0, "$what: refused, no response")
                    or diag($r->{out});
                is($r->{alert}, $alert, "$what: alert $alert (" . alert_name($alert) . ')')
                    or diag($r->{out});
                my $re = $cert
                    ? qr/\[tls:info\].*TLS handshake failed: client certificate '[^']*\bCN=\Q$cn\E\b[^']*' refused: \Q$reason\E/
                    : qr/\[tls:info\].*TLS handshake failed: the client sent no certificate, and TLSClientCertificate is require/;
                ok($h->wait_log($re, since => $mark), "$what: log line names the refusal")
                    or diag($h->log_since($mark));
                next;
            }
            my $resp = $r->{responses}[0] || {};
            is($resp->{status}, 200, "$what: handshake completes, 200")
                or diag($r->{out});
            is($r->{proto}, "TLSv$version", "$what: protocol");
            my $env = env_of($resp);
            is($env->{SSL_CLIENT_VERIFY}, $verify, "$what: SSL_CLIENT_VERIFY=$verify");
            my @id = identity_vars($env);
            if ($verify eq 'SUCCESS' || $verify eq 'GENEROUS') {
                is($env->{SSL_CLIENT_S_DN_CN}, $cn, "$what: SSL_CLIENT_S_DN_CN");
                ok(($env->{SSL_CLIENT_S_DN} // '') =~ /\bCN=\Q$cn\E\b/
                   && ($env->{SSL_CLIENT_I_DN} // '') ne ''
                   && ($env->{SSL_CLIENT_M_SERIAL} // '') ne ''
                   && ($env->{SSL_CLIENT_CERT} // '') =~ /^-----BEGIN CERTIFICATE-----/,
                   "$what: S_DN, I_DN, M_SERIAL, CERT present")
                    or diag(join("\n", map { "$_=" . ($env->{$_} // '') } @id));
                is($env->{REMOTE_USER}, $cn, "$what: TLSUserName sets REMOTE_USER");
            } else {
                is("@id", '', "$what: no identity variable");
                ok(!defined $env->{REMOTE_USER}, "$what: no REMOTE_USER")
                    or diag("REMOTE_USER=$env->{REMOTE_USER}");
            }
        }
    }
}

# TLSClientVerifyDepth counts the CA certificates above the client's,
# the trust anchor included (OpenSSL/mod_ssl): root -> intermediate -> alice
# needs 2
{
    my $env = env_of(get_vars($port_of{"optional/1"}, '1.3', 'alice')->{responses}[0]);
    is($env->{SSL_CLIENT_VERIFY}, 'FAILED:certificate chain too long', 'depth 1: alice is one CA too deep');
    for my $d (2, 3) {
        $env = env_of(get_vars($depth{$d}, '1.3', 'alice')->{responses}[0]);
        is($env->{SSL_CLIENT_VERIFY}, 'SUCCESS', "TLSClientVerifyDepth $d accepts root -> intermediate -> alice");
    }
}

# a client that sends its certificate twice (openssl s_client -cert_chain
# with the whole chain file: alice, alice, intermediate): the path to the
# trust anchor is still root -> intermediate -> alice; mod_ssl accepts it at
# depth 2
{
    my ($crt) = client_cert('alice');
    my $r = ossl(port => $h->port($depth{2}), version => '1.3', cert => 'alice',
                 path => '/cgi-bin/vars.cgi', args => ['-cert_chain', $crt]);
    is(env_of($r->{responses}[0])->{SSL_CLIENT_VERIFY}, 'SUCCESS',
       'depth 2: a chain with the leaf sent twice is verified along its real path');
}

# TLSClientKeyPurpose
{
    my %want = (
        'any'            => { alice => 'SUCCESS', wrongeku => 'SUCCESS' },
        'serverAuth OID' => { alice => 'FAILED:unsupported certificate purpose', wrongeku => 'SUCCESS' },
        'clientAuth'     => { alice => 'SUCCESS', wrongeku => 'FAILED:unsupported certificate purpose' },
    );
    for my $p (sort keys %want) {
        for my $cert (sort keys %{$want{$p}}) {
            my $env = env_of(get_vars($purpose{$p}, '1.3', $cert)->{responses}[0]);
            is($env->{SSL_CLIENT_VERIFY}, $want{$p}{$cert}, "TLSClientKeyPurpose $p: $cert");
        }
    }
}

# the CertificateRequest names TLSClientCA's subjects (root only here)
for my $version ('1.3', '1.2') {
    my $out = s_client(port => $h->port($port_of{"optional/$DEPTH"}), version => $version)->{out};
    my ($names) = $out =~ /^Acceptable client certificate CA names\n((?:[^\n]+\n)*?)(?=\S[^\n]*:\s*$|Requested|Client Certificate Types|Shared)/m;
    my @names = split /\n/, $names // '';
    is_deeply(\@names, ['O = mod_tls tests, CN = mod_tls Test Root CA'],
              "TLS $version: CertificateRequest names the TLSClientCA subject")
        or diag($out);
}

finish();
