# Configuration mistakes stop apache2 -t (and startup) with one message that
# names the config file, the line, the directive and the reason, and never
# shows a private key. A certificate that expires soon gives a warning.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use Test::More;

my $pki = pki();
my $tmp = tmpdir();
my $unreadable = spit("$tmp/unreadable.key", TLSTest::slurp("$pki/server-ecdsa.key"), 0000);

my $cert = '@PKI@/server-ecdsa.crt @PKI@/server-ecdsa.key';
# [ name, vhost lines, directive on the bad line, bad line (regex), reason (regex) ]
my @cases = (
    ['missing certificate file', "TLSCertificate \@PKI\@/nonexistent.crt \@PKI\@/server-ecdsa.key",
     'TLSCertificate', qr/nonexistent\.crt/, qr/nonexistent\.crt.*(no such|not exist|not found|missing|cannot|unable)|(no such|not exist|not found|missing|cannot|unable).*nonexistent\.crt/i],
    ['missing key file', "TLSCertificate \@PKI\@/server-ecdsa.crt \@PKI\@/nonexistent.key",
     'TLSCertificate', qr/nonexistent\.key/, qr/nonexistent\.key/],
    ['unreadable key', "TLSCertificate \@PKI\@/server-ecdsa.crt $unreadable",
     'TLSCertificate', qr/unreadable\.key/, qr/unreadable\.key.*(permission|denied|read)|(permission|denied|read).*unreadable\.key/i],
    ['key not matching the certificate', "TLSCertificate \@PKI\@/server-ecdsa.crt \@PKI\@/mismatch.key",
     'TLSCertificate', qr/mismatch\.key/, qr/match/i],
    ['TLSEngine on without a certificate', '',
     'TLSEngine', qr/TLSEngine on/, qr/certificate/i],
    ['bad priority string', "TLSCertificate $cert\nTLSPriorities NORMAL:+NO-SUCH-THING",
     'TLSPriorities', qr/TLSPriorities/, qr/NO-SUCH-THING|priorit/i],
    ['bad protocol word', "TLSCertificate $cert\nTLSProtocol TLSv1.9",
     'TLSProtocol', qr/TLSProtocol/, qr/TLSv1\.9/],
    ['TLS 1.3 and older versions without 1.2', "TLSCertificate $cert\nTLSProtocol -TLSv1.2",
     'TLSProtocol', qr/TLSProtocol/, qr/needs TLSv1\.2/],
    ['non-numeric handshake timeout', "TLSCertificate $cert\nTLSHandshakeTimeout soon",
     'TLSHandshakeTimeout', qr/TLSHandshakeTimeout/, qr/soon|number|invalid|integer/i],
    ['negative handshake timeout', "TLSCertificate $cert\nTLSHandshakeTimeout -5",
     'TLSHandshakeTimeout', qr/TLSHandshakeTimeout/, qr/-5|negative|invalid|number/i],
    ['unknown TLSOptions option', "TLSCertificate $cert\nTLSOptions +NoSuchOption",
     'TLSOptions', qr/TLSOptions/, qr/NoSuchOption/],
);

# the base64 lines of every private key of the PKI: none may show up anywhere
my @secrets = map { grep { length > 20 && !/^-----/ } split /\n/, TLSTest::slurp($_) } glob("$pki/*.key");

sub no_key_material {
    my ($name, $text) = @_;
    my @leaked = grep { index($text, $_) >= 0 } @secrets;
    ok(!@leaked, "$name: no private key material shown");
}

for my $c (@cases) {
    my ($name, $lines, $directive, $line_re, $reason) = @$c;
    my $h = TLSTest::Httpd->new(conf => vhost(extra => "TLSEngine on\n$lines"));
    my $file = $h->conf_file;
    my $n = $h->line_of($line_re);
    my ($rc, $out) = $h->configtest;
    subtest "$name: apache2 -t fails and says where and why" => sub {
        isnt($rc, 0, 'apache2 -t exits non-zero');
        like($out, qr/\Q$file\E/, 'output names the config file');
        if ($directive eq 'TLSEngine') {
            # the check runs when the vhost is complete: its line or TLSEngine's
            my $vhost_line = $h->line_of(qr/<VirtualHost/);
            like($out, qr/(\bline |:)($n|$vhost_line)\b/, "output names line $n (or $vhost_line)");
        } else {
            like($out, qr/(\bline |:)$n\b/, "output names line $n");
        }
        like($out, qr/\b$directive\b/, "output names $directive");
        like($out, $reason, 'output gives the reason');
    } or diag("apache2 -t output:\n$out");
    no_key_material("$name: apache2 -t", $out);

    ok(!$h->try_start, "$name: httpd does not start");
    no_key_material("$name: startup", $h->start_output . $h->error_log);
}

# a certificate that expires in 10 days: a warning, but the server runs
my $h = TLSTest::Httpd->new(conf => tls_vhost(certs => ['@PKI@/expiring.crt @PKI@/expiring.key']));
my ($rc, $out) = $h->configtest;
is($rc, 0, 'expiring certificate: apache2 -t passes') or diag($out);
$h->start;
my $warning = $h->wait_log(qr/expire/i);
like($warning, qr/\[tls:warn\]/, 'expiring certificate: a tls warning at startup') or diag($h->error_log);
like($warning, qr/expiring\.crt/, 'expiring certificate: the warning names the file');
my $r = tls_get(client => 'openssl', port => $h->port);
like(cert_info($r->{certs}[0])->{cn} // '', qr/^expiring\.localhost/, 'expiring certificate: served');

finish();
