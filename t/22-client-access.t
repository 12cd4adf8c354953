# Access control with client certificates: Require tls, Require
# tls-verify-client, Require expr %{SSL_CLIENT_S_DN_CN} == 'alice',
# TLSUserName (REMOTE_USER, %u), TLSOptions +FakeBasicAuth with mod_auth_basic
# (mod_ssl semantics), and a vhost with TLSClientCertificate require that a
# connection negotiated (SNI) for another vhost cannot reach (421).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestClient;
use Test::More;
use MIME::Base64 ();

my $DEPTH = client_depth();
my $ca = "TLSClientCA \@PKI\@/ca.crt\nTLSClientVerifyDepth $DEPTH\n";

my $h = TLSTest::Httpd->new(listen => 2, modules => ['auth_basic', 'authn_file', 'authn_core', 'authz_user'],
    conf => tls_vhost(extra => $ca . <<'EOF')
TLSClientCertificate optional
TLSOptions +StdEnvVars
CustomLog @DIR@/logs/user.log "%u|%r"
Alias /tls @DOCROOT@/index.html
<Location /tls>
    Require tls
</Location>
Alias /verified @DOCROOT@/index.html
<Location /verified>
    Require tls-verify-client
</Location>
Alias /alice-only @DOCROOT@/index.html
<Location /alice-only>
    Require expr %{SSL_CLIENT_S_DN_CN} == 'alice'
</Location>
ScriptAlias /user/ @DIR@/cgi-bin/
<Location /user/>
    TLSUserName SSL_CLIENT_S_DN_CN
</Location>
ScriptAlias /user-alice/ @DIR@/cgi-bin/
<Location /user-alice/>
    TLSUserName SSL_CLIENT_S_DN_CN
    Require user alice
</Location>
ScriptAlias /fake/ @DIR@/cgi-bin/
<Location /fake/>
    TLSOptions +FakeBasicAuth
    AuthType Basic
    AuthName "certificates"
    AuthBasicProvider file
    AuthUserFile @DIR@/fake.passwd
    Require valid-user
</Location>
EOF
    . vhost(port => '@PORT2@',
            extra => "Alias /tls \@DOCROOT\@/index.html\n<Location /tls>\n    Require tls\n</Location>")
    # SNI: two names on the first port, the second vhost requires a certificate
    . tls_vhost(name => 'open.localhost', extra => "Header always set X-VH open\n")
    . tls_vhost(name => 'secret.localhost', extra => $ca . "TLSClientCertificate require\n"
                . "TLSOptions +StdEnvVars\nHeader always set X-VH secret\n"));
install_scripts($h);
# FakeBasicAuth: the user is alice's legacy subject (certificate order), the
# password is "password" (crypt with salt "xx", as mod_ssl's docs say)
my $legacy = legacy_dn('alice');
is($legacy, '/O=mod_tls tests/OU=dev/OU=ops/CN=alice/emailAddress=alice@example.test',
   'the PKI: alice\'s legacy subject');
spit($h->dir . '/fake.passwd', "$legacy:xxj31ZMTZzkVA\n");
$h->start;
my $port = $h->port;

sub get {
    my ($cert, $path, %o) = @_;
    my $r = ossl(port => $port, cert => $cert, %o,
                 requests => [http_request(path => $path, close => 1, headers => $o{headers})]);
    return $r->{responses}[0] || { status => 'none', out => $r->{out} };
}

# Require tls / tls-verify-client / expr
my %want = (
    '/tls'        => { alice => 200, bob => 200, expired => 200, nocert => 200 },
    '/verified'   => { alice => 200, bob => 200, expired => 403, nocert => 403, otherca => 403 },
    '/alice-only' => { alice => 200, bob => 403, expired => 403, nocert => 403 },
);
for my $path (sort keys %want) {
    for my $c (sort keys %{$want{$path}}) {
        is(get($c eq 'nocert' ? undef : $c, $path)->{status}, $want{$path}{$c}, "$path with $c");
    }
}
is(plain_get($h->port(1), path => '/tls')->{status}, 403, 'Require tls denies plain HTTP');

# TLSUserName: REMOTE_USER and %u
{
    my $log = $h->log_file('user.log');
    my $mark = $h->file_mark($log);
    my $env = env_of(get('alice', '/user/vars.cgi'));
    is($env->{REMOTE_USER}, 'alice', 'TLSUserName SSL_CLIENT_S_DN_CN: REMOTE_USER=alice');
    is($h->wait_file($log, qr{GET /user/vars\.cgi}, since => $mark), 'alice|GET /user/vars.cgi HTTP/1.1',
       'TLSUserName: %u in the access log');
    $env = env_of(get('expired', '/user/vars.cgi'));
    ok(!defined $env->{REMOTE_USER}, 'TLSUserName: no user for a failed certificate')
        or diag("REMOTE_USER=$env->{REMOTE_USER}");
    $env = env_of(get(undef, '/user/vars.cgi'));
    ok(!defined $env->{REMOTE_USER}, 'TLSUserName: no user without a certificate');
    # set in the access phase, as mod_ssl: authorization sees the user
    is(get('alice', '/user-alice/vars.cgi')->{status}, 200,
       'TLSUserName + Require user alice: alice granted');
    is(get('bob', '/user-alice/vars.cgi')->{status}, 403,
       'TLSUserName + Require user alice: bob refused');
    # outside the Location, no TLSUserName
    $env = env_of(get('alice', '/cgi-bin/vars.cgi'));
    ok(!defined $env->{REMOTE_USER}, 'TLSUserName is per directory');
}

# FakeBasicAuth
{
    my $r = get('alice', '/fake/vars.cgi');
    is($r->{status}, 200, 'FakeBasicAuth: alice granted by AuthUserFile');
    my $env = env_of($r);
    is($env->{REMOTE_USER}, $legacy, 'FakeBasicAuth: REMOTE_USER is the legacy subject');
    is($env->{AUTH_TYPE}, 'Basic', 'FakeBasicAuth: AUTH_TYPE Basic');
    is(get('bob', '/fake/vars.cgi')->{status}, 401, 'FakeBasicAuth: bob is not in the user file: 401');
    is(get(undef, '/fake/vars.cgi')->{status}, 401, 'FakeBasicAuth: no certificate: 401');
    is(get('expired', '/fake/vars.cgi')->{status}, 401, 'FakeBasicAuth: failed certificate: 401');
    # a client that forges the certificate user name with its own Basic header
    my $forged = 'Basic ' . MIME::Base64::encode_base64("$legacy:password", '');
    is(get(undef, '/fake/vars.cgi', headers => { Authorization => $forged })->{status}, 403,
       'FakeBasicAuth: Basic credentials with a "/" user name from the client: 403');
    is(get('bob', '/fake/vars.cgi', headers => { Authorization => $forged })->{status}, 403,
       'FakeBasicAuth: bob forging alice\'s subject: 403');
}

# SNI: secret.localhost requires a certificate; a connection negotiated for
# open.localhost without one cannot ask for it by Host
{
    my $r = ossl(port => $port, sni => 'open.localhost', verify_name => 'localhost',
                 requests => [http_request(path => '/', close => 1, host => 'secret.localhost')]);
    is($r->{responses}[0]{status}, 421, 'Host of a require vhost on a connection for another: 421')
        or diag($r->{out});
    $r = ossl(port => $port, sni => 'secret.localhost', cert => 'alice', path => '/cgi-bin/vars.cgi',
              requests => [http_request(path => '/cgi-bin/vars.cgi', close => 1, host => 'secret.localhost')]);
    is($r->{responses}[0]{headers}{'x-vh'}, 'secret', 'SNI secret.localhost with alice reaches the vhost');
    is(env_of($r->{responses}[0])->{SSL_CLIENT_VERIFY}, 'SUCCESS', 'SNI secret.localhost: SUCCESS');
    $r = ossl(port => $port, sni => 'secret.localhost');
    is(scalar @{$r->{responses}}, 0, 'SNI secret.localhost without a certificate: refused');
    is($r->{alert}, 116, 'SNI secret.localhost without a certificate: certificate_required');
}

finish();
