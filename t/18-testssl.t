# testssl.sh against a configuration as minimal as the README's (TLSEngine,
# one RSA and one ECDSA certificate, no TLSPriorities): no protocol, cipher
# or vulnerability finding rated LOW or above. What it says about the test
# CA's certificates (trust chain, revocation URLs, CAA records) is set aside:
# that belongs to the certificates, not to mod_tls.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use Test::More;
use JSON::PP;

plan skip_all => 'testssl (Debian package testssl.sh) not installed' unless have_tool('testssl');

my $h = TLSTest::Httpd->new(conf => tls_vhost(certs => ['rsa', 'ecdsa']));
$h->start;

my $json = tmpdir() . '/testssl.json';
# protocols, cipher categories, forward secrecy, server preferences, server
# defaults, vulnerabilities
my ($rc, $out) = run_cmd(['testssl', '--quiet', '--color', '0', '--warnings', 'off',
    '--jsonfile', $json, '-p', '-s', '-f', '-P', '-S', '-U',
    '--ip', '127.0.0.1', 'localhost:' . $h->port], timeout => 600);
my $findings = eval { decode_json(slurp($json) // '[]') } || [];
ok(scalar @$findings > 50, 'testssl ran its checks (' . scalar(@$findings) . ' findings)')
    or diag($out);

# a certificate's own business, not the server's
my $cert_only = qr/^(cert_|DNS_CAArecord|intermediate_cert)/;
# testssl's session-ticket check races the ticket with its own client's
# exit, against mod_ssl as well: a failed check, not a finding
my $scan_race = qr/^sessionresumption_ticket$/;
my @bad = grep {
    $_->{severity} !~ /^(OK|INFO|DEBUG)$/
        && $_->{id} !~ $cert_only
        && !($_->{severity} eq 'WARN' && $_->{id} =~ $scan_race)
} @$findings;
is_deeply([map { "$_->{severity} $_->{id}: $_->{finding}" } @bad], [],
          'no finding rated LOW or above, apart from the test certificates');

my %by_id = map { $_->{id} => $_ } @$findings;
for my $p (qw(SSLv2 SSLv3 TLS1 TLS1_1)) {
    like($by_id{$p}{finding} // '', qr/not offered/, "$p not offered");
}
like($by_id{TLS1_2}{finding} // '', qr/^offered/, 'TLS 1.2 offered');
like($by_id{TLS1_3}{finding} // '', qr/^offered/, 'TLS 1.3 offered');
is($by_id{cipher_order}{severity} // '', 'OK', 'the server orders the ciphers')
    or diag(encode_json($by_id{cipher_order} // {}));
like($by_id{PFS}{finding} // '', qr/^offered/, 'forward secrecy offered');
is($by_id{BEAST}{severity} // '', 'OK', 'not vulnerable to BEAST');

finish();
