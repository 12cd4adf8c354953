# Renewal: with a renew window longer than the certificates live
# (MDRenewWindow 3000d, pebble's certificates last five years), mod_md
# renews as soon as a certificate is active. Under the event MPM: the
# first certificate is obtained, a graceful restart serves it; mod_md
# renews it, and the next graceful restart serves the new one (new serial,
# ECDSA and RSA), while until then the old one is served.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestACME;
use Test::More;

skip_without_pebble();

my $name = 'r.mdtest.local';
my $ca = TLSTestACME::Pebble->new;
my $h = TLSTest::Httpd->new(listen => 2, modules => ['md'],
    global => md_global($ca, challenges => 'tls-alpn-01', keys => 'secp256r1 rsa2048',
                        extra => 'MDRenewWindow 3000d'),
    conf => md_vhost(name => $name));
$ca->start(http_port => free_port(), tls_port => $h->port(1));
$h->start;
my $root = $ca->root_file;

# served(KEY): the serial of the certificate served for KEY (ecdsa, rsa)
sub served {
    my ($key) = @_;
    my $s = acme_s_client($h, $name, key => $key, ca => $root);
    return $s->{verify} eq '0' ? serial_of($s->{cert}) : "unverified: $s->{out}";
}

my $md = wait_md($h, $name, sub { md_staged($_[0], 'secp256r1', 'rsa') });
ok($md, 'the first certificates were obtained') or diag($h->error_log . $ca->log);
my $first = md_serials($md // {}, 'renewal');
$h->graceful;
is(served('ecdsa'), $first->{secp256r1}, 'after a graceful restart: the first ECDSA certificate');
is(served('rsa'), $first->{rsa}, '... and the first RSA one');

$md = wait_md($h, $name, sub { md_staged($_[0], 'secp256r1', 'rsa') });
ok($md, 'mod_md renewed them (its renew window says so at once)') or diag($h->error_log);
my $second = md_serials($md // {}, 'renewal');
isnt($second->{$_}, $first->{$_}, "renewed $_ certificate: a new serial") for 'secp256r1', 'rsa';
is(served('ecdsa'), $first->{secp256r1}, 'until the next graceful restart the old one is served');

$h->graceful;
is(served('ecdsa'), $second->{secp256r1}, 'after it: the renewed ECDSA certificate');
is(served('rsa'), $second->{rsa}, '... and the renewed RSA one');
is_deeply(md_serials(md_of($h, $name)), $second, 'md-status reports them as active');
is(acme_curl($h, $name, ca => $root)->{status}, 200, 'curl, verifying: 200');

# mod_md renews once more at once; stop when that is done: a child that
# exits while mod_md's watchdog thread talks to the CA can crash under
# AddressSanitizer (with mod_ssl as well: it is mod_md's thread)
ok(wait_md($h, $name, sub { md_staged($_[0], 'secp256r1', 'rsa') }),
   'and renews them again (its window still says so)');
$ca->stop;
finish();
