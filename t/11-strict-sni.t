# TLSStrictSNI on: a ClientHello without a server name, or with a name that
# no virtual host of the address has, is refused with the unrecognized_name
# alert (112) and one [tls:info] line saying why; known names (ServerName,
# ServerAlias, wildcard alias) still work. Set on the default vhost of the
# address, and in the server config (S context). Off (the default): unknown
# names get the default vhost.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use Test::More;

my $vhosts = sub {
    my ($strict_on_default) = @_;
    return join('',
        tls_vhost(name => 'localhost', vh => 'default',
                  extra => $strict_on_default ? 'TLSStrictSNI on' : ''),
        tls_vhost(name => 'other.localhost', aliases => ['*.wild.test'],
                  certs => ['other'], vh => 'other'));
};
my $strict = TLSTest::Httpd->new(conf => $vhosts->(1));
my $global = TLSTest::Httpd->new(global => 'TLSStrictSNI on', conf => $vhosts->(0));
my $lax    = TLSTest::Httpd->new(conf => $vhosts->(0));
$_->start for $strict, $global, $lax;

my $NOSNI = 'the client sent no server name (SNI)';

# refused(HTTPD, CLIENT, SNI, VERSION): the handshake fails with alert 112,
# and exactly one [tls:info] TLSStrictSNI line names the reason
sub refused {
    my ($h, $label, $client, $sni, $version) = @_;
    my $what = "$label, $client" . ($version ? " TLS $version" : '') . ', '
             . ($sni eq '' ? 'no SNI' : "SNI '$sni'");
    subtest "$what: refused with unrecognized_name" => sub {
        my $mark = $h->log_mark;
        my $r = tls_get(client => $client, port => $h->port, sni => $sni, version => $version,
                        verify_name => 'localhost', host => 'localhost');
        ok(!$r->{ok}, 'no handshake');
        ok(!defined $r->{status}, 'no HTTP response') or diag($r->{out});
        my %alert = (
            openssl => qr/unrecognized name.*alert number 112|alert number 112/i,
            gnutls  => qr/Received alert \[112\]/,
            curl    => qr/unrecognized name/i,
            perl    => qr/unrecognized name/i,
        );
        like($r->{out}, $alert{$client}, 'the client reports the unrecognized_name alert (112)');
        my $why = $sni eq '' ? qr/\Q$NOSNI\E/ : qr/server name '\Q$sni\E' names no virtual host here/;
        my $line = $h->wait_log(qr/TLSStrictSNI/, since => $mark);
        like($line, qr/\[tls:info\]/, 'logged at [tls:info]');
        like($line, $why, 'the log line says why');
        # a later handshake on a known name is the barrier: by then every
        # line about the refused one is written
        my $ok = tls_get(client => 'curl', port => $h->port);
        is($ok->{status}, 200, 'then a request for localhost works');
        my @lines = grep { /TLSStrictSNI/ } split /\n/, $h->log_since($mark);
        is(scalar @lines, 1, 'exactly one TLSStrictSNI line') or diag(join("\n", @lines));
    };
}

# accepted(HTTPD, CLIENT, SNI, VHOST, CN)
sub accepted {
    my ($h, $label, $client, $sni, $vh, $cn, $verify) = @_;
    my $r = tls_get(client => $client, port => $h->port, sni => $sni,
                    verify_name => $verify // $sni, host => lc $sni);
    is($r->{status}, 200, "$label, $client, SNI '$sni': status 200") or diag($r->{out});
    is($r->{headers}{'x-vh'}, $vh, "$label, $client, SNI '$sni': vhost $vh");
    is(cert_info($r->{certs}[0])->{cn}, $cn, "$label, $client, SNI '$sni': certificate CN=$cn")
        if $r->{certs};
}

for my $c ([$strict, 'TLSStrictSNI on in the default vhost'], [$global, 'TLSStrictSNI on in the server config']) {
    my ($h, $label) = @$c;
    for my $client (qw(openssl gnutls curl perl)) {
        refused($h, $label, $client, '');
        refused($h, $label, $client, 'unknown.test');
    }
    refused($h, $label, 'openssl', '', '1.2');
    refused($h, $label, 'openssl', 'nowhere.localhost', '1.2');
    refused($h, $label, 'gnutls', 'unknown.test', '1.2');
    # a wildcard alias does not cover its parent name
    refused($h, $label, 'openssl', 'wild.test');
    for my $client (qw(openssl gnutls)) {
        accepted($h, $label, $client, 'localhost', 'default', 'localhost');
        accepted($h, $label, $client, 'other.localhost', 'other', 'other.localhost');
        accepted($h, $label, $client, 'OTHER.LOCALHOST', 'other', 'other.localhost', 'other.localhost');
        accepted($h, $label, $client, 'a.wild.test', 'other', 'other.localhost', 'localhost');
    }
    for my $client (qw(curl perl)) {
        accepted($h, $label, $client, 'localhost', 'default');
        accepted($h, $label, $client, 'other.localhost', 'other');
    }
    my $r = tls_get(client => 'openssl', port => $h->port, sni => 'localhost', version => '1.2');
    is($r->{proto}, 'TLSv1.2', "$label: TLS 1.2 with a known name works");
}

# TLSStrictSNI off: no SNI and unknown names get the default vhost, and nothing is logged
{
    my $mark = $lax->log_mark;
    for my $client (qw(openssl gnutls)) {
        accepted($lax, 'TLSStrictSNI off', $client, 'unknown.test', 'default', 'localhost', 'localhost');
        my $r = tls_get(client => $client, port => $lax->port, sni => '', host => 'localhost');
        is($r->{status}, 200, "TLSStrictSNI off, $client, no SNI: status 200") or diag($r->{out});
        is($r->{headers}{'x-vh'}, 'default', "TLSStrictSNI off, $client, no SNI: default vhost");
    }
    unlike($lax->log_since($mark), qr/TLSStrictSNI/, 'TLSStrictSNI off: no TLSStrictSNI line');
}

finish();
