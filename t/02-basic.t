# Basic HTTPS: TLS 1.3 and TLS 1.2 GETs with every client we have, checking
# the body and the negotiated protocol version.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use Test::More;

my $h = TLSTest::Httpd->new(conf => tls_vhost(certs => ['ecdsa', 'rsa']));
$h->start;

my %tool = (curl => 'curl', gnutls => 'gnutls-cli', openssl => 'openssl', perl => 'perl');
for my $client (qw(curl gnutls openssl perl)) {
  SKIP: {
    skip "$tool{$client} not installed", 2 * 3 unless have_tool($tool{$client});
    for my $version ('1.3', '1.2') {
        my $r = tls_get(client => $client, port => $h->port, version => $version);
        is($r->{proto}, "TLSv$version", "$client: TLS $version negotiated")
            or diag($r->{out});
        is($r->{status}, 200, "$client TLS $version: status 200");
        is($r->{body}, TLSTest::Httpd->index_content, "$client TLS $version: body");
    }
  }
}

# a client that offers both versions gets the highest one
my $r = tls_get(client => 'curl', port => $h->port);
is($r->{proto}, 'TLSv1.3', 'curl offering TLS 1.2 and 1.3 gets TLS 1.3');

finish();
