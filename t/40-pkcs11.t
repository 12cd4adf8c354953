# Keys in a PKCS#11 token (SoftHSM v2, a token of this test's own): an
# ECDSA and an RSA server key imported into it serve HTTPS under the event
# and the prefork MPM, in every child process and after a graceful restart.
# A configuration error about a pkcs11: key never shows the PIN (pin-value
# is redacted to "***", wherever it stands in the URI and however it is
# written). A token, or a pin-source file, that the user httpd runs as
# cannot use refuses startup with one clear line (the root -> User case is
# build/check-pkcs11-root).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestPkcs11;
use Test::More;

skip_without_softhsm();

my $pki = pki();
my $PIN = '26047153';
my $tok = softhsm_token(pin => $PIN, keys => { ecdsa => "$pki/server-ecdsa.key",
                                               rsa   => "$pki/server-rsa.key" });
my $user = getpwuid($>) // "#$>";

# the PIN must not appear in any of these forms
my @pin_forms = ($PIN, join('', map { sprintf('%%%02X', ord) } split //, $PIN));
sub no_pin {
    my ($name, $text, @more) = @_;
    my @seen = grep { index($text, $_) >= 0 } @pin_forms, @more;
    ok(!@seen, "$name: no PIN shown") or diag("found '@seen' in:\n$text");
}

# the PIN in the path (as most examples write it) for the ECDSA key, in the
# query (RFC 7512's place for it) for the RSA key
my $ecdsa_uri = $tok->{uri}->('ecdsa');
my $rsa_uri = $tok->{uri}->('rsa', 'pin-value' => undef) . "?pin-value=$PIN";
my $certs = ["\@PKI\@/server-ecdsa.crt \"$ecdsa_uri\"", "\@PKI\@/server-rsa.crt \"$rsa_uri\""];

my %gnutls_sign = (
    ECDSA => '+SIGN-ECDSA-SECP256R1-SHA256:+SIGN-ECDSA-SHA256',
    RSA   => '+SIGN-RSA-PSS-RSAE-SHA256:+SIGN-RSA-SHA256',
);
my %openssl_sigalgs = (ECDSA => 'ECDSA+SHA256', RSA => 'rsa_pss_rsae_sha256:RSA+SHA256');

# served(NAME, RESULT, KEY): the handshake worked, our leaf with a KEY key
# was presented, and the page came
sub served {
    my ($name, $r, $want) = @_;
    subtest $name => sub {
        ok($r->{ok}, 'handshake') or return diag($r->{out});
        my $leaf = cert_info($r->{certs}[0]);
        is($leaf->{key}, $want, "$want certificate presented");
        like($leaf->{subject} // '', qr/O ?= ?mod_tls tests.*CN ?= ?localhost/, 'leaf subject');
        is($r->{status}, 200, 'status 200');
        is($r->{body}, TLSTest::Httpd::index_content(), 'the page');
    } or diag($r->{out});
}

# every client, protocol and key type once
sub serve_all {
    my ($h, $what) = @_;
    for my $v ('1.3', '1.2') {
        for my $key (qw(ECDSA RSA)) {
            served("$what: openssl TLS $v $key",
                   tls_get(client => 'openssl', port => $h->port, version => $v,
                           path => '/index.html', args => [-sigalgs => $openssl_sigalgs{$key}]), $key);
            served("$what: gnutls-cli TLS $v $key",
                   tls_get(client => 'gnutls', port => $h->port, path => '/index.html',
                           priority => "NORMAL:-VERS-ALL:+VERS-TLS$v:-SIGN-ALL:$gnutls_sign{$key}"), $key);
        }
    }
}

for my $mpm (qw(event prefork)) {
    my $h = TLSTest::Httpd->new(mpm => $mpm, env => $tok->{env},
        global => "CustomLog \@DIR\@/logs/pids.log \"%P %U%q\"\n",
        conf => tls_vhost(certs => $certs));
    my ($rc, $out) = $h->configtest;
    is($rc, 0, "$mpm: apache2 -t passes") or diag($out);
    $h->start;
    serve_all($h, $mpm);

    # handshakes at once, in threads (event) or processes (prefork)
    SKIP: {
        skip 'h2load not installed', 1 unless have_tool('h2load');
        my $r = h2load('https://localhost:' . $h->port . '/index.html', '--h1', '-n', 60, '-c', 6);
        is($r->{succeeded}, 60, "$mpm: 60 requests on 6 connections made at once")
            or diag($r->{out});
    }

    # connections held open at once: on prefork each is another child, so
    # the keys work in every child process, not only in the first
    my (@held, %pids);
    for my $i (1 .. 3) {
        my $rsa = $i % 2 == 0;
        my $s = tls_connect(port => $h->port, version => '1.2',
                            $rsa ? (SSL_cipher_list => 'ECDHE-RSA-AES128-GCM-SHA256') : ());
        ok($s, "$mpm: held connection $i") or diag($IO::Socket::SSL::SSL_ERROR);
        next unless $s;
        my $leaf = cert_info(Net::SSLeay::PEM_get_string_X509($s->peer_certificate));
        is($leaf->{key}, $rsa ? 'RSA' : 'ECDSA', "$mpm: held connection $i has the "
           . ($rsa ? 'RSA' : 'ECDSA') . ' certificate');
        print $s http_request(path => "/index.html?$mpm-held-$i");
        my $resp = eval { read_response($s) };
        is($resp && $resp->{status}, 200, "$mpm: held connection $i answered") or diag($@);
        my $line = $h->wait_file($h->log_file('pids.log'), qr{ /index\.html\?\Q$mpm-held-$i\E$});
        $pids{$1} = 1 if $line =~ /^(\d+) /;
        push @held, $s;
    }
    if ($mpm eq 'prefork') {
        is(scalar keys %pids, 3, 'prefork: three child processes signed with the token\'s keys')
            or diag('pids: ' . join(' ', keys %pids));
    }
    close($_) for @held;

    $h->graceful;
    serve_all($h, "$mpm after graceful");
    no_pin("$mpm: error log", $h->error_log);
    unlike($h->error_log, qr/handshake.*fail|fail.*handshake/i, "$mpm: no failed handshake logged");
    $h->stop;
}

# ------------------------------------------------------------ redaction

my $WRONG = '91827364';
my $line_re = qr/TLSCertificate/;
my @errors = (
    ['wrong object name', $tok->{uri}->('nosuch'),
     qr/PKCS#11 key 'pkcs11:token=modtls;object=nosuch;type=private;pin-value=\*\*\*' cannot be used by user \Q$user\E \(the user child processes run as\): .*not available/],
    ['wrong PIN', $tok->{uri}->('ecdsa', 'pin-value' => $WRONG),
     qr/'pkcs11:token=modtls;object=ecdsa;type=private;pin-value=\*\*\*'.*PIN/],
    ['PIN in the query, attributes in another order',
     "pkcs11:object=nosuch;type=private;token=modtls?pin-value=$PIN&module-name=softhsm2",
     qr/'pkcs11:object=nosuch;type=private;token=modtls\?pin-value=\*\*\*&module-name=softhsm2'/],
    ['percent-encoded PIN, PIN first',
     "pkcs11:pin-value=$pin_forms[1];token=modtls;object=nosuch;type=private",
     qr/'pkcs11:pin-value=\*\*\*;token=modtls;object=nosuch;type=private'/],
    ['a ; and a ? in a PIN in the query',
     "pkcs11:token=modtls;object=nosuch;type=private?pin-value=$PIN;x?y",
     qr/'pkcs11:token=modtls;object=nosuch;type=private\?pin-value=\*\*\*'/],
    ['key of another certificate',
     $tok->{uri}->('rsa'),
     qr/the private key in 'pkcs11:token=modtls;object=rsa;type=private;pin-value=\*\*\*' does not belong to the certificate/],
);
# a certificate named by a pkcs11: URI: refused while parsing, URI not echoed
{
    my $h = TLSTest::Httpd->new(env => $tok->{env},
        conf => tls_vhost(certs => ['"' . $tok->{uri}->('ecdsa', type => 'cert') . "\" \"$ecdsa_uri\""]));
    my $out = $h->configtest_refuses('certificate as a pkcs11: URI', $line_re, 'TLSCertificate',
                                     qr/certificate must be a PEM file/);
    no_pin('certificate as a pkcs11: URI: apache2 -t', $out);
}

for my $c (@errors) {
    my ($name, $uri, $reason) = @$c;
    my $h = TLSTest::Httpd->new(env => $tok->{env},
        conf => tls_vhost(certs => ["\@PKI\@/server-ecdsa.crt \"$uri\""]));
    my $out = $h->configtest_refuses($name, $line_re, 'TLSCertificate', $reason);
    no_pin("$name: apache2 -t", $out, $WRONG);
    no_pin("$name: startup", $h->start_output . $h->error_log, $WRONG);
}

# --------------------------------------------- a token the user cannot use

{
    my $h = TLSTest::Httpd->new(env => $tok->{env}, conf => tls_vhost(certs => $certs));
    my ($rc, $out) = $h->configtest;
    is($rc, 0, 'readable token: apache2 -t passes') or diag($out);
    chmod(0000, $tok->{dir}) or die "chmod $tok->{dir}: $!";
    my $reason = qr/TLSCertificate: the PKCS#11 key 'pkcs11:token=modtls;object=ecdsa;type=private;pin-value=\*\*\*' cannot be used by user \Q$user\E \(the user child processes run as\): \S/;
    $out = $h->configtest_refuses('token directory unreadable', qr/ecdsa\.crt/, 'TLSCertificate', $reason);
    my $start = $h->start_output . $h->error_log;
    like($start, $reason, 'token directory unreadable: startup refused with the same message');
    no_pin('token directory unreadable', $out . $start);
    chmod(0700, $tok->{dir}) or die "chmod $tok->{dir}: $!";
    ok($h->try_start, 'token readable again: httpd starts') or diag($h->start_output);
    served('token readable again: a request', tls_get(client => 'openssl', port => $h->port,
                                                       path => '/index.html'), 'ECDSA');
}

# a PIN kept in a file (pin-source): the path is shown, the file must be
# readable by the user too
{
    my $pinfile = spit(tmpdir() . '/token.pin', $PIN, 0600);
    my $uri = $tok->{uri}->('ecdsa', 'pin-value' => undef, 'pin-source' => $pinfile);
    my $h = TLSTest::Httpd->new(env => $tok->{env},
        conf => tls_vhost(certs => ["\@PKI\@/server-ecdsa.crt \"$uri\""]));
    my ($rc, $out) = $h->configtest;
    is($rc, 0, 'pin-source: apache2 -t passes') or diag($out);
    $h->start;
    served('pin-source: a request', tls_get(client => 'openssl', port => $h->port,
                                            path => '/index.html'), 'ECDSA');
    $h->stop;
    chmod(0000, $pinfile);
    $h->configtest_refuses('pin-source file unreadable', qr/ecdsa\.crt/, 'TLSCertificate',
        qr/the PKCS#11 key '\Q$uri\E' cannot be used by user \Q$user\E .*PIN.*pin-source file readable/);
}

finish();
