# SSL_CLIENT_* variables of a verified client certificate: names and value
# formats as mod_ssl (checked against openssl x509 on the same certificate),
# and every way they reach users: CGI (+StdEnvVars, +ExportCertData), SSI,
# mod_rewrite %{SSL:..}, mod_headers %{..}s and expr=, <If>, log formats
# %{..}x %{subjectdn}c %{issuerdn}c %u.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestClient;
use Test::More;
use Time::HiRes ();

my $DEPTH = client_depth();
my $SSI = join('', map { "$_=<!--#echo var=\"$_\" -->\n" }
    qw(SSL_CLIENT_VERIFY SSL_CLIENT_S_DN SSL_CLIENT_S_DN_CN SSL_CLIENT_I_DN_CN SSL_CLIENT_M_SERIAL));

my $h = install_scripts(TLSTest::Httpd->new(listen => 1, conf => tls_vhost(extra => <<"EOF")));
TLSClientCertificate optional
TLSClientCA \@PKI\@/ca.crt
TLSClientVerifyDepth $DEPTH
TLSOptions +StdEnvVars +ExportCertData
CustomLog \@DIR\@/logs/client.log "%{SSL_CLIENT_S_DN_CN}x|%{subjectdn}c|%{issuerdn}c|%u|%{SSL_CLIENT_VERIFY}x|%r"
TLSUserName SSL_CLIENT_S_DN_CN
ScriptAlias /noexport/ \@DIR\@/cgi-bin/
<Location /noexport/>
    TLSOptions -ExportCertData
</Location>
ScriptAlias /noenv/ \@DIR\@/cgi-bin/
Alias /noenv-ssi \@DOCROOT\@/client.shtml
<LocationMatch "^/noenv">
    TLSOptions -StdEnvVars -ExportCertData
</LocationMatch>
Header always set X-DN "%{SSL_CLIENT_S_DN}s"
Header always set X-I-CN "%{SSL_CLIENT_I_DN_CN}s"
Header always set X-V expr=%{SSL_CLIENT_VERIFY}
Header always set X-CN "expr=%{SSL_CLIENT_S_DN_CN}"
<If "%{SSL_CLIENT_VERIFY} == 'SUCCESS'">
    Header always set X-If "success"
</If>
<Else>
    Header always set X-If "other"
</Else>
RewriteEngine on
RewriteRule ^/rw\$ /v-%{SSL:SSL_CLIENT_VERIFY}/cn-%{SSL:SSL_CLIENT_S_DN_CN} [R=302,L]
EOF
spit($h->docroot . '/client.shtml', $SSI);
$h->start;
my $port = $h->port;
my $pki = pki();

# expected values, from openssl
sub expect {
    my ($name) = @_;
    my ($crt) = client_cert($name);
    my $text = cert_x509($name, '-text');
    my %e = (
        SSL_CLIENT_S_DN     => cert_x509($name, '-subject', '-nameopt', 'RFC2253'),
        SSL_CLIENT_I_DN     => cert_x509($name, '-issuer', '-nameopt', 'RFC2253'),
        SSL_CLIENT_M_SERIAL => cert_x509($name, '-serial'),
        SSL_CLIENT_M_VERSION => ($text =~ /Version: (\d+)/)[0],
        SSL_CLIENT_V_START  => cert_x509($name, '-startdate'),
        SSL_CLIENT_V_END    => cert_x509($name, '-enddate'),
        SSL_CLIENT_A_SIG    => ($text =~ /Signature Algorithm: (\S+)/)[0],
        SSL_CLIENT_A_KEY    => ($text =~ /Public Key Algorithm: (\S+)/)[0],
        SSL_CLIENT_I_DN_CN  => 'mod_tls Test Intermediate CA',
        SSL_CLIENT_I_DN_O   => 'mod_tls tests',
        SSL_CLIENT_CERT     => cert_pem($crt, 0),
        # what the client sent after its own certificate (mod_ssl)
        SSL_CLIENT_CERT_CHAIN_0 => cert_pem($crt, 1),
        SSL_CLIENT_VERIFY   => 'SUCCESS',
    );
    $e{end_epoch} = x509_time($e{SSL_CLIENT_V_END});
    return \%e;
}

my $alice = expect('alice');
is($alice->{SSL_CLIENT_S_DN}, 'emailAddress=alice@example.test,CN=alice,OU=ops,OU=dev,O=mod_tls tests',
   'the PKI: alice\'s subject (RFC 2253, most specific first)');
my $alice_expect = { %$alice,
    SSL_CLIENT_S_DN_CN => 'alice', SSL_CLIENT_S_DN_O => 'mod_tls tests',
    SSL_CLIENT_S_DN_OU => 'dev', SSL_CLIENT_S_DN_OU_1 => 'ops',
    SSL_CLIENT_S_DN_Email => 'alice@example.test',
    SSL_CLIENT_SAN_Email_0 => 'alice@example.test',
    SSL_CLIENT_SAN_DNS_0 => 'alice.example.test',
    REMOTE_USER => 'alice',
};
my $bob = expect('bob');
my $bob_expect = { %$bob, SSL_CLIENT_S_DN_CN => 'bob', SSL_CLIENT_S_DN_O => 'mod_tls tests',
                   REMOTE_USER => 'bob' };
like($bob->{SSL_CLIENT_A_KEY}, qr/^rsaEncryption$/, 'the PKI: bob has an RSA key');

wait_cert_age($_, 2) for 'alice', 'bob';
for my $t (['alice', '1.3', $alice_expect], ['alice', '1.2', $alice_expect],
           ['bob', '1.3', $bob_expect], ['bob', '1.2', $bob_expect]) {
    my ($name, $version, $want) = @$t;
    my $t0 = Time::HiRes::time;
    my $r = ossl(port => $port, version => $version, cert => $name, path => '/cgi-bin/vars.cgi');
    my $t1 = Time::HiRes::time;
    my $env = env_of($r->{responses}[0]);
    is($r->{responses}[0]{status}, 200, "$name TLS $version: CGI answers") or diag($r->{out});
    for my $var (sort grep { /^[A-Z]/ } keys %$want) {
        is($env->{$var}, $want->{$var}, "$name TLS $version CGI: $var");
    }
    # V_REMAIN: whole days left at the time of the request
    my @days = map { int(($want->{end_epoch} - $_) / 86400) } $t0, $t1;
    ok(defined $env->{SSL_CLIENT_V_REMAIN} && grep({ $_ eq $env->{SSL_CLIENT_V_REMAIN} } @days),
       "$name TLS $version CGI: SSL_CLIENT_V_REMAIN is $days[0]")
        or diag('SSL_CLIENT_V_REMAIN=' . ($env->{SSL_CLIENT_V_REMAIN} // 'undef'));
    # nothing more in the chain (the trust anchor is not part of what the
    # client sent)
    ok(!exists $env->{SSL_CLIENT_CERT_CHAIN_1}, "$name TLS $version CGI: no SSL_CLIENT_CERT_CHAIN_1")
        or diag(substr($env->{SSL_CLIENT_CERT_CHAIN_1}, 0, 200));
    ok(!exists $env->{SSL_CLIENT_S_DN_OU_2}, "$name TLS $version CGI: no SSL_CLIENT_S_DN_OU_2");
}

# without ExportCertData: identity, but no PEM
{
    my $env = env_of(ossl(port => $port, cert => 'alice', path => '/noexport/vars.cgi')->{responses}[0]);
    is($env->{SSL_CLIENT_S_DN_CN}, 'alice', '-ExportCertData: identity variables');
    ok(!exists $env->{SSL_CLIENT_CERT} && !exists $env->{SSL_CLIENT_CERT_CHAIN_0},
       '-ExportCertData: no SSL_CLIENT_CERT, no chain');
    ok(!exists $env->{SSL_SERVER_CERT}, '-ExportCertData: no SSL_SERVER_CERT');
}
# without StdEnvVars: none of it in CGI and SSI (HTTPS only)
{
    my $env = env_of(ossl(port => $port, cert => 'alice', path => '/noenv/vars.cgi')->{responses}[0]);
    is($env->{HTTPS}, 'on', '-StdEnvVars: HTTPS=on');
    is(join(' ', grep { /^SSL_CLIENT/ } sort keys %$env), '', '-StdEnvVars: no SSL_CLIENT_* in CGI');
    my $ssi = parse_env(ossl(port => $port, cert => 'alice', path => '/noenv-ssi')->{responses}[0]{body});
    is($ssi->{SSL_CLIENT_S_DN_CN}, '(none)', '-StdEnvVars: SSI echoes (none)');
}

# SSI
for my $name ('alice', undef) {
    my $ssi = parse_env(ossl(port => $port, cert => $name, path => '/client.shtml')->{responses}[0]{body});
    my $w = $name ? $alice : {};
    is($ssi->{SSL_CLIENT_VERIFY}, $name ? 'SUCCESS' : 'NONE', 'SSI: SSL_CLIENT_VERIFY ' . ($name // 'no cert'));
    is($ssi->{SSL_CLIENT_S_DN}, $name ? $w->{SSL_CLIENT_S_DN} : '(none)', 'SSI: SSL_CLIENT_S_DN ' . ($name // 'no cert'));
    is($ssi->{SSL_CLIENT_S_DN_CN}, $name ? 'alice' : '(none)', 'SSI: SSL_CLIENT_S_DN_CN ' . ($name // 'no cert'));
    is($ssi->{SSL_CLIENT_I_DN_CN}, $name ? 'mod_tls Test Intermediate CA' : '(none)', 'SSI: SSL_CLIENT_I_DN_CN ' . ($name // 'no cert'));
    is($ssi->{SSL_CLIENT_M_SERIAL}, $name ? $w->{SSL_CLIENT_M_SERIAL} : '(none)', 'SSI: SSL_CLIENT_M_SERIAL ' . ($name // 'no cert'));
}

# mod_headers, <If>, mod_rewrite; with alice, with no certificate, and with a
# certificate that failed (expired): no identity through any of them
my %case = (
    alice   => ['SUCCESS', $alice->{SSL_CLIENT_S_DN}, 'alice', 'success'],
    nocert  => ['NONE', '', '', 'other'],
    expired => ['FAILED:certificate has expired', '', '', 'other'],
);
for my $c (sort keys %case) {
    my ($verify, $dn, $cn, $if) = @{$case{$c}};
    my $cert = $c eq 'nocert' ? undef : $c;
    my $resp = ossl(port => $port, cert => $cert)->{responses}[0] || {};
    my $hd = $resp->{headers} || {};
    is($resp->{status}, 200, "$c: page served");
    # mod_headers writes "(null)" for a variable without a value
    is(($hd->{'x-dn'} // '') =~ s/^\(null\)$//r, $dn, "$c: Header %{SSL_CLIENT_S_DN}s");
    is(($hd->{'x-i-cn'} // '') =~ s/^\(null\)$//r, $cert && $c eq 'alice' ? 'mod_tls Test Intermediate CA' : '',
       "$c: Header %{SSL_CLIENT_I_DN_CN}s");
    is($hd->{'x-v'}, $verify, "$c: Header expr=%{SSL_CLIENT_VERIFY}");
    is($hd->{'x-cn'} // '', $cn, "$c: Header expr=%{SSL_CLIENT_S_DN_CN}");
    is($hd->{'x-if'}, $if, "$c: <If \"%{SSL_CLIENT_VERIFY} == 'SUCCESS'\">");
    my $rw = ossl(port => $port, cert => $cert, path => '/rw')->{responses}[0] || {};
    is($rw->{status}, 302, "$c: RewriteRule with %{SSL:...}");
    like($rw->{headers}{location} // '', qr{/v-\Q${\ ($verify =~ s/ /%20/gr)}\E/cn-\Q$cn\E$}, "$c: %{SSL:SSL_CLIENT_VERIFY} and %{SSL:SSL_CLIENT_S_DN_CN} in the rewrite");
}

# the access log: %{SSL_CLIENT_S_DN_CN}x %{subjectdn}c %{issuerdn}c %u
{
    my $log = $h->log_file('client.log');
    my $mark = $h->file_mark($log);
    my $r = ossl(port => $port, cert => 'alice', path => '/logged-alice');
    is($r->{responses}[0]{status}, 404, 'a request to log');
    my $line = $h->wait_file($log, qr{\|GET /logged-alice }, since => $mark);
    is($line, "alice|$alice->{SSL_CLIENT_S_DN}|$alice->{SSL_CLIENT_I_DN}|alice|SUCCESS|GET /logged-alice HTTP/1.1",
       'access log: %{SSL_CLIENT_S_DN_CN}x|%{subjectdn}c|%{issuerdn}c|%u|%{SSL_CLIENT_VERIFY}x');
    $mark = $h->file_mark($log);
    ossl(port => $port, cert => 'expired', path => '/logged-expired');
    $line = $h->wait_file($log, qr{\|GET /logged-expired }, since => $mark);
    like($line, qr{^(-|)\|(-|)\|(-|)\|-\|FAILED:certificate has expired\|GET /logged-expired },
         'access log of a failed certificate: no identity, no user');
}

finish();
