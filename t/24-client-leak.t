# The client certificate of one connection never shows in another: connections
# in sequence (alice, then none, bob, an expired certificate) and side by side,
# keep-alive requests, on the event and the prefork MPM (where one process
# serves the connections one after the other).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestClient;
use Test::More;
use IO::Socket::SSL;

my $DEPTH = client_depth();
my $conf = tls_vhost(extra => <<"EOF");
TLSClientCertificate optional
TLSClientCA \@PKI\@/ca.crt
TLSClientVerifyDepth $DEPTH
TLSOptions +StdEnvVars +ExportCertData
TLSUserName SSL_CLIENT_S_DN_CN
Header always set X-CN "%{SSL_CLIENT_S_DN_CN}s"
EOF

# what a connection with each certificate must see
my %want = (
    alice   => ['SUCCESS', 'alice'],
    bob     => ['SUCCESS', 'bob'],
    none    => ['NONE', undef],
    expired => ['FAILED:certificate has expired', undef],
);

sub check {
    my ($what, $name, $r) = @_;
    my ($verify, $cn) = @{$want{$name}};
    my $env = env_of($r);
    is($r->{status}, 200, "$what: 200") or diag($r->{error});
    is($env->{SSL_CLIENT_VERIFY}, $verify, "$what: SSL_CLIENT_VERIFY=$verify");
    if ($cn) {
        is($env->{SSL_CLIENT_S_DN_CN}, $cn, "$what: SSL_CLIENT_S_DN_CN=$cn");
        is($env->{REMOTE_USER}, $cn, "$what: REMOTE_USER=$cn");
        like($env->{SSL_CLIENT_S_DN} // '', qr/\bCN=\Q$cn\E\b/, "$what: SSL_CLIENT_S_DN is $cn\'s");
        is(($r->{headers} || {})->{'x-cn'}, $cn, "$what: %{SSL_CLIENT_S_DN_CN}s");
    } else {
        is(join(' ', identity_vars($env)), '', "$what: no identity variable");
        ok(!defined $env->{REMOTE_USER}, "$what: no REMOTE_USER");
        like(($r->{headers} || {})->{'x-cn'} // '', qr/^(|\(null\))$/, "$what: %{SSL_CLIENT_S_DN_CN}s empty");
    }
}

for my $mpm ('event', 'prefork') {
    my $h = install_scripts(TLSTest::Httpd->new(mpm => $mpm, conf => $conf));
    $h->start;
    my $port = $h->port;
    for my $version ('1.3', '1.2') {
        my $tag = "$mpm TLS $version";
        my %conn;
        # in sequence, two keep-alive requests per connection
        for my $name (qw(alice none bob expired alice none)) {
            my $s = client_connect(port => $port, version => $version,
                                   ($name eq 'none' ? () : (cert => $name)))
                or die "connect: $SSL_ERROR";
            check("$tag $name, request 1", $name, send_request($s, path => '/cgi-bin/vars.cgi'));
            check("$tag $name, request 2", $name, send_request($s, path => '/cgi-bin/vars.cgi', close => 1));
            close $s;
        }
        # side by side, requests alternating
        for my $name (qw(alice none bob expired)) {
            $conn{$name} = client_connect(port => $port, version => $version,
                                          ($name eq 'none' ? () : (cert => $name)))
                or die "connect: $SSL_ERROR";
        }
        for my $round (1 .. 3) {
            for my $name (qw(none alice expired bob)) {
                check("$tag side by side, round $round, $name", $name,
                      send_request($conn{$name}, path => '/cgi-bin/vars.cgi'));
            }
        }
        close $_ for values %conn;
    }
}

finish();
