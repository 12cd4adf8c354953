# Protocol versions: TLSProtocol (mod_ssl syntax) and TLSPriorities decide
# which versions a vhost speaks, and server-wide values inherit into vhosts.
# Each setting is probed with clients that offer a single version.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use Test::More;

# [ vhost settings, { version => served? }, version a client offering 1.2 and 1.3 gets ]
my @cases = (
    ['TLSProtocol TLSv1.3',               { '1.3' => 1, '1.2' => 0 }, 'TLSv1.3'],
    ['TLSProtocol -TLSv1.3',              { '1.3' => 0, '1.2' => 1 }, 'TLSv1.2'],
    ['TLSPriorities NORMAL:-VERS-TLS1.3', { '1.3' => 0, '1.2' => 1 }, 'TLSv1.2'],
    ['TLSProtocol TLSv1.2+',              { '1.3' => 1, '1.2' => 1, '1.1' => 0 }, 'TLSv1.3'],
    ['TLSProtocol all -TLSv1.3',          { '1.3' => 0, '1.2' => 1 }, 'TLSv1.2'],
    ['TLSProtocol TLSv1.2',               { '1.3' => 0, '1.2' => 1, '1.1' => 0 }, 'TLSv1.2'],
);

my $h = TLSTest::Httpd->new(listen => scalar @cases, conf => join('',
    map { tls_vhost(port => '@PORT' . ($_ + 1) . '@', extra => $cases[$_][0]) } 0 .. $#cases));
$h->start;

# check_versions(PORT, NAME, {version => served?}, default version)
sub check_versions {
    my ($port, $name, $served, $default) = @_;
    for my $version (sort keys %$served) {
        my @clients = $version eq '1.1' ? ('gnutls') : ('curl', 'openssl');
        for my $client (@clients) {
            my $r = tls_get(client => $client, port => $port, version => $version);
            if ($served->{$version}) {
                ok($r->{ok} && $r->{proto} eq "TLSv$version" && ($r->{status} // 0) == 200,
                   "$name: $client TLS $version only: served") or diag($r->{out});
            } else {
                ok(!$r->{ok} && !$r->{status}, "$name: $client TLS $version only: refused")
                    or diag($r->{out});
            }
        }
    }
    my $r = tls_get(client => 'curl', port => $port);
    is($r->{proto}, $default, "$name: curl offering 1.2 and 1.3 gets $default") or diag($r->{out});
}

for my $i (0 .. $#cases) {
    check_versions($h->port($i), @{$cases[$i]});
}

# server-wide settings inherit into vhosts that do not set their own
my $g = TLSTest::Httpd->new(listen => 2, global => 'TLSProtocol TLSv1.3',
    conf => tls_vhost() . tls_vhost(port => '@PORT2@', extra => 'TLSProtocol TLSv1.2'));
$g->start;
check_versions($g->port(0), 'server-wide TLSProtocol TLSv1.3, vhost without',
               { '1.3' => 1, '1.2' => 0 }, 'TLSv1.3');
check_versions($g->port(1), 'server-wide TLSv1.3, vhost TLSProtocol TLSv1.2',
               { '1.3' => 0, '1.2' => 1 }, 'TLSv1.2');

my $p = TLSTest::Httpd->new(global => 'TLSPriorities NORMAL:-VERS-TLS1.3', conf => tls_vhost());
$p->start;
check_versions($p->port, 'server-wide TLSPriorities NORMAL:-VERS-TLS1.3, vhost without',
               { '1.3' => 0, '1.2' => 1 }, 'TLSv1.2');

finish();
