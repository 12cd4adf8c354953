# What per-directory client authentication costs is settled per virtual
# host when httpd starts: a vhost with TLSClientCertificate in one of its
# <Location> sections issues no TLS 1.2 session tickets (GnuTLS could not
# renegotiate with a client holding one), a vhost without keeps them. And
# since .htaccess files are read per request, after that, the directive is
# refused there with httpd's message, the same in every child.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use Test::More;

my $h = TLSTest::Httpd->new(listen => 2, conf =>
      tls_vhost(extra => <<'EOF')
TLSClientCA @PKI@/ca.crt
<Location /secure>
    TLSClientCertificate require
</Location>
EOF
    . tls_vhost(port => '@PORT2@', extra => <<'EOF'));
<Directory @DOCROOT@/ht>
    AllowOverride AuthConfig
</Directory>
EOF
mkdir($h->docroot . '/ht');
spit($h->docroot . '/ht/index.html', "behind .htaccess\n");
spit($h->docroot . '/ht/.htaccess', "TLSClientCertificate require\n");
$h->start;

my $r = s_client(port => $h->port, version => '1.2');
ok($r->{ok}, 'vhost with per-directory authentication: TLS 1.2 handshake');
ok(!defined $r->{lifetime_hint}, 'it issues no TLS 1.2 session ticket')
    or diag($r->{out});
$r = s_client(port => $h->port(1), version => '1.2');
ok($r->{ok}, 'vhost without: TLS 1.2 handshake');
ok(defined $r->{lifetime_hint}, 'it issues a TLS 1.2 session ticket') or diag($r->{out});
$r = s_client(port => $h->port, version => '1.3');
cmp_ok($r->{tickets}, '>=', 1, 'TLS 1.3 tickets on both');

# several requests, so that more than one child reads the .htaccess
my $mark = $h->log_mark;
my @st = map { tls_get(client => 'curl', port => $h->port(1), path => "/ht/?$_")->{status} } 1 .. 4;
is("@st", '500 500 500 500', 'TLSClientCertificate in .htaccess: 500, every time');
like($h->wait_log(qr/TLSClientCertificate/, since => $mark), qr/TLSClientCertificate cannot occur within htaccess files/,
     'the error log says why');

finish();
