# The module loads: apache2 -t accepts a TLS virtual host, -M lists
# tls_module, and mod_tls loads beside mod_ssl (its directives are TLS*).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use Test::More;

my $h = TLSTest::Httpd->new(conf => tls_vhost());
my ($rc, $out) = $h->configtest;
is($rc, 0, 'apache2 -t accepts a TLS vhost') or diag($out);
like($out, qr/Syntax OK/, 'apache2 -t says Syntax OK');
like($h->modules, qr/^\s*tls_module \(shared\)/m, 'apache2 -M lists tls_module');

my $both = TLSTest::Httpd->new(conf => tls_vhost(), modules => ['socache_shmcb', 'ssl']);
($rc, $out) = $both->configtest;
is($rc, 0, 'mod_tls and mod_ssl load together') or diag($out);

$h->start;
ok($h->running, 'httpd with mod_tls starts');
like($h->error_log, qr/resuming normal operations/, 'httpd reports normal operation');
$h->stop;
ok(!$h->running, 'httpd stops');

finish();
