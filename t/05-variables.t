# Request variables in mod_ssl's names and spellings: the CGI/SSI environment
# (TLSOptions +StdEnvVars), mod_rewrite %{HTTPS} / %{SSL:...}, Require expr
# %{HTTPS}, mod_headers %{...}s, and their absence on a plain HTTP vhost.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use Test::More;

my $common = <<'EOF';
ScriptAlias /cgi-plain/ @DIR@/cgi-bin/
<Location /cgi-bin/>
    TLSOptions +StdEnvVars
</Location>
<Location /ssl.shtml>
    TLSOptions +StdEnvVars
</Location>
Header always set X-Proto "%{SSL_PROTOCOL}s"
Header always set X-Cipher "%{SSL_CIPHER}s"
RewriteEngine on
RewriteCond %{HTTPS} =on
RewriteRule ^/rw$ /https-%{SSL:SSL_PROTOCOL} [R=302,L]
Alias /secure @DOCROOT@/index.html
<Location /secure>
    Require expr %{HTTPS} == 'on'
</Location>
EOF

my $h = TLSTest::Httpd->new(listen => 2, conf =>
      tls_vhost(certs => ['ecdsa', 'rsa'], extra => $common)
    . vhost(port => '@PORT2@', extra => $common));
$h->start;
my $port = $h->port;

for my $version ('1.3', '1.2') {
    # the client's view of the connection
    my $seen = tls_get(client => 'curl', port => $port, version => $version);
    is($seen->{proto}, "TLSv$version", "curl TLS $version connects") or diag($seen->{out});

    my $r = tls_get(client => 'curl', port => $port, version => $version, path => '/cgi-bin/env.cgi');
    my $env = parse_env($r->{body});
    is($env->{HTTPS}, 'on', "TLS $version CGI: HTTPS=on");
    is($env->{SSL_PROTOCOL}, "TLSv$version", "TLS $version CGI: SSL_PROTOCOL");
    is($env->{SSL_CIPHER}, $r->{cipher}, "TLS $version CGI: SSL_CIPHER is what curl negotiated");
    like($env->{SSL_VERSION_LIBRARY} // '', qr{^GnuTLS/\d+\.\d+}, "TLS $version CGI: SSL_VERSION_LIBRARY");
    is($env->{SSL_TLS_SNI}, 'localhost', "TLS $version CGI: SSL_TLS_SNI");

    # openssl names the cipher in the same spelling
    my $o = tls_get(client => 'openssl', port => $port, version => $version, path => '/cgi-bin/env.cgi');
    is(parse_env($o->{body})->{SSL_CIPHER}, $o->{cipher}, "TLS $version: SSL_CIPHER is what openssl negotiated");

    # SSI sees the same values
    my $ssi = parse_env(tls_get(client => 'perl', port => $port, version => $version, path => '/ssl.shtml')->{body});
    is($ssi->{HTTPS}, 'on', "TLS $version SSI: HTTPS");
    is($ssi->{SSL_PROTOCOL}, "TLSv$version", "TLS $version SSI: SSL_PROTOCOL");
    is($ssi->{SSL_TLS_SNI}, 'localhost', "TLS $version SSI: SSL_TLS_SNI");

    # mod_headers
    my $p = tls_get(client => 'perl', port => $port, version => $version);
    is($p->{headers}{'x-proto'}, "TLSv$version", "TLS $version: Header %{SSL_PROTOCOL}s");
    is($p->{headers}{'x-cipher'}, $seen->{cipher}, "TLS $version: Header %{SSL_CIPHER}s");

    # mod_rewrite
    $p = tls_get(client => 'perl', port => $port, version => $version, path => '/rw');
    is($p->{status}, 302, "TLS $version: RewriteCond %{HTTPS} =on matches");
    like($p->{headers}{location} // '', qr{/https-TLSv\Q$version\E$}, "TLS $version: %{SSL:SSL_PROTOCOL} in RewriteRule");
}

# without StdEnvVars: HTTPS and SSL_TLS_SNI only
my $env = parse_env(tls_get(client => 'curl', port => $port, path => '/cgi-plain/env.cgi')->{body});
is($env->{HTTPS}, 'on', 'no StdEnvVars: HTTPS=on');
is($env->{SSL_TLS_SNI}, 'localhost', 'no StdEnvVars: SSL_TLS_SNI');
ok(!exists $env->{SSL_PROTOCOL}, 'no StdEnvVars: no SSL_PROTOCOL');
ok(!exists $env->{SSL_CIPHER}, 'no StdEnvVars: no SSL_CIPHER');

# Require expr
is(tls_get(client => 'curl', port => $port, path => '/secure')->{status}, 200,
   "Require expr %{HTTPS} == 'on' grants over TLS");

# the plain HTTP vhost on the second port
my $plain = $h->port(1);
$env = parse_env(plain_get($plain, path => '/cgi-bin/env.cgi')->{body});
ok(!defined $env->{HTTPS} || $env->{HTTPS} eq 'off', 'plain vhost CGI: no HTTPS=on');
ok(!exists $env->{SSL_PROTOCOL}, 'plain vhost CGI: no SSL_PROTOCOL');
# mod_headers writes an empty value as "(null)"
like(plain_get($plain, path => '/')->{headers}{'x-proto'} // '', qr/^(|\(null\))$/, 'plain vhost: Header %{SSL_PROTOCOL}s is empty');
is(plain_get($plain, path => '/rw')->{status}, 404, 'plain vhost: RewriteCond %{HTTPS} =on does not match');
is(plain_get($plain, path => '/secure')->{status}, 403, "plain vhost: Require expr %{HTTPS} == 'on' denies");

finish();
