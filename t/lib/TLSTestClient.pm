package TLSTestClient;
# Helpers of the client-certificate tests (t/2*.t), over TLSTest:
#
#   use TLSTest;
#   use TLSTestClient;
#   my ($crt, $key) = client_cert('alice');     # build/make-pki's client-alice.*
#   my $r = ossl(port => $p, version => '1.3', cert => 'alice',
#                requests => [http_request(path => '/cgi-bin/env.cgi', close => 1)]);
#   $r->{alert}             # alert number the server sent, or undef
#   $r->{responses}[0]{status}
#   my $s = client_connect(port => $p, cert => 'alice', version => '1.2');
#   my $resp = send_request($s, path => '/secure/');
#
# Client certificate names: alice bob expired notyet revoked wrongeku otherca
# selfsigned (files client-NAME.crt = leaf + issuer, client-NAME.key), and
# those a test makes with pki_client (TLSTest::PKI). The
# clients and the certificate reader are TLSTest's (s_client, cert_args,
# x509_field); what is here is how these tests use them.
use strict;
use warnings;
use Test::More;
use IO::Socket::SSL;
use TLSTest;
use Exporter 'import';

our @EXPORT = qw(
    ossl client_connect identity_vars cert_x509 legacy_dn alert_name env_of %ALERT
    install_scripts client_depth wait_cert_age
);

# wait_cert_age(NAME, SECONDS): waits until client-NAME's notBefore is at least
# SECONDS in the past (the PKI is made at test time; mod_ssl counts
# SSL_CLIENT_V_REMAIN in whole seconds, so a certificate issued in the same
# second as the request has one day more left than a sub-second count says)
sub wait_cert_age {
    my ($name, $secs) = @_;
    my $start = x509_time(cert_x509($name, '-startdate'));
    return wait_until(sub { time >= $start + $secs }, timeout => $secs + 5);
}

# client_depth(): the TLSClientVerifyDepth (SSLVerifyDepth) that accepts the
# PKI's intermediate-issued client certificates with only the root as trust
# anchor: 2 (mod_ssl's semantics: CA certificates above the client's, the
# trust anchor included)
sub client_depth { 2 }

# the CGI that install_scripts() puts in cgi-bin/vars.cgi: every environment
# variable as NAME=VALUE, with backslash and newline escaped (\\, \n) so that
# PEM values survive; for a request body also BODY_LENGTH and BODY_SHA256
my $VARS_CGI = <<'CGI';
#!/usr/bin/perl
use strict;
use Digest::SHA;
binmode STDIN; binmode STDOUT;
my $out = '';
if (my $len = $ENV{CONTENT_LENGTH}) {
    my $body = '';
    while (length($body) < $len) {
        my $n = read(STDIN, $body, $len - length($body), length($body));
        last unless $n;
    }
    $out .= 'BODY_LENGTH=' . length($body) . "\n";
    $out .= 'BODY_SHA256=' . Digest::SHA::sha256_hex($body) . "\n";
}
for my $k (sort keys %ENV) {
    (my $v = $ENV{$k}) =~ s/\\/\\\\/g;
    $v =~ s/\n/\\n/g;
    $out .= "$k=$v\n";
}
print "Content-Type: text/plain\nContent-Length: " . length($out) . "\n\n$out";
CGI

# install_scripts(HTTPD): cgi-bin/vars.cgi (see above) in a TLSTest::Httpd
sub install_scripts {
    my ($h) = @_;
    spit($h->dir . '/cgi-bin/vars.cgi', $VARS_CGI, 0755);
    return $h;
}

# TLS alert numbers and their names (RFC 8446 6.2) as openssl prints them
our %ALERT = (
    40 => 'handshake failure', 42 => 'bad certificate',
    43 => 'unsupported certificate', 44 => 'certificate revoked',
    45 => 'certificate expired', 46 => 'certificate unknown',
    48 => 'unknown ca', 116 => 'certificate required',
);
sub alert_name { $ALERT{$_[0]} // "alert $_[0]" }

# cert_x509(NAME_OR_FILE, ARGS...): `openssl x509 -noout ARGS` for the leaf of
# client-NAME (or of a file), without a "name=" prefix of a one-line answer
sub cert_x509 {
    my ($cert, @args) = @_;
    return x509_field(-f $cert ? $cert : (client_cert($cert))[0], @args);
}

# legacy_dn(NAME): mod_ssl's FakeBasicAuth user name of client-NAME: the subject
# in certificate order, "/O=../OU=../CN=.." (openssl -nameopt compat)
sub legacy_dn { cert_x509($_[0], '-subject', '-nameopt', 'compat') }

# identity_vars(ENV): the names of every non-empty identity variable of the
# client certificate in an environment hash (SSL_CLIENT_* except VERIFY)
sub identity_vars {
    my ($env) = @_;
    return sort grep {
        /^SSL_CLIENT_(S_DN|I_DN|CERT|SAN|M_|V_|A_)/ && ($env->{$_} // '') ne ''
    } keys %$env;
}

# env_of(RESPONSE): the NAME=VALUE body of a response of vars.cgi (or env.cgi)
# as a hash, escapes undone ({} without a body)
sub env_of {
    my $env = parse_env(($_[0] || {})->{body} // '');
    for (values %$env) {
        s/\\(\\|n)/$1 eq 'n' ? "\n" : "\\"/ge;
    }
    return $env;
}

# ossl(s_client's options): openssl s_client as these tests run it: brief
# (their tickets carry the client certificate: see s_client), and the
# server's certificate must verify (-verify_return_error), for localhost
# unless verify_name says otherwise (every virtual host here serves the
# localhost certificate). Returns s_client's result.
sub ossl { s_client(brief => 1, strict => 1, verify_name => 'localhost', @_) }

# client_connect(port => P, version => '1.2'|'1.3', cert => NAME, pha => 0|1,
#                requests_seen => \$N, %IO::Socket::SSL options): a Perl TLS
# connection presenting client-NAME when asked. TLS 1.3 post-handshake
# authentication is offered when a certificate is given (IO::Socket::SSL does
# that), or when pha => 1. requests_seen: a counter of the CertificateRequest
# messages the server sends on the connection. Returns the socket or undef
# ($SSL_ERROR says why).
sub client_connect {
    my (%o) = @_;
    my $port = delete $o{port};
    my $version = delete $o{version};
    my $name = delete $o{cert};
    my $pha = delete $o{pha};
    my $count = delete $o{requests_seen};
    my @cert;
    if (defined $name) {
        my ($crt, $key) = client_cert($name);
        @cert = (SSL_cert_file => $crt, SSL_key_file => $key);
    }
    my @cb = ($pha || $count) ? (SSL_create_ctx_callback => sub {
        my ($ctx) = @_;
        Net::SSLeay::CTX_set_post_handshake_auth($ctx, 1) if $pha;
        # handshake message type 13: CertificateRequest
        Net::SSLeay::CTX_set_msg_callback($ctx, sub {
            my ($write_p, $version, $type, $buf) = @_;
            $$count++ if !$write_p && $type == 22 && length($buf // '') && ord($buf) == 13;
        }) if $count;
    }) : ();
    return tls_connect(port => $port, version => $version, @cert, @cb, %o);
}

1;
