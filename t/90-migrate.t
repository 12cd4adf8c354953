# build/tls-migrate, line by line: every mod_ssl directive with a mod_tls
# twin becomes it, the others become a comment saying why; --check lists the
# changes and fails when something cannot be translated; Include lines are
# followed (relative to ServerRoot or to the including file, or as
# apache2ctl reports them); <IfModule mod_ssl.c> blocks are converted;
# SSLRequireSSL next to Require valid-user keeps refusing requests without
# TLS; cipher strings become GnuTLS priority strings that enable the same
# suites as OpenSSL does (checked against openssl ciphers and gnutls-cli).
# The converted configurations of these cases pass apache2 -t with mod_tls.
# The real configurations (Debian's, httpd's, the SSL How-To) and the
# comparisons with mod_ssl are in t/91-migrate-sites.t.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestMigrate;
use Test::More;

my $tmp = tmpdir();

# ---------------------------------------------------------------- interface

{
    my $r = migrate('--help');
    is($r->{rc}, 0, '--help exits 0');
    like($r->{out}, qr/^usage: tls-migrate/m, '--help prints the usage');
    like($r->{out}, qr/--check/, '--help describes --check');
    like($r->{out}, qr/--from-apachectl/, '--help describes --from-apachectl');
    $r = migrate();
    is($r->{rc}, 2, 'no file: exit status 2');
    like($r->{err}, qr/usage:/, 'no file: the usage on stderr');
    $r = migrate("$tmp/no-such-file.conf");
    is($r->{rc}, 2, 'unreadable file: exit status 2');
    like($r->{err}, qr/no-such-file\.conf/, 'unreadable file: named');
}

# Lines that are not mod_ssl's pass through byte for byte, with comments,
# indentation, tabs, continuation lines and a missing final newline.
{
    my $text = "# a comment\n\tServerName www.example.org\n<Directory /srv>\n    Options  -Indexes\n"
             . "    Require ip 10.0.0.0/8 \\\n        192.168.0.0/16\n</Directory>\n\n# SSLEngine on in a comment\n"
             . "LogFormat \"%h %{SSL_PROTOCOL}x %{SSL:SSL_CIPHER}\" ssl\nHeader set X-Proto \"%{SSL_PROTOCOL}s\"";
    my $r = migrate_text($text);
    is($r->{rc}, 0, 'a configuration without mod_ssl lines: exit 0');
    is($r->{out}, "$text\n", 'it passes through unchanged (a final newline added)');
    $r = migrate_text($text, check => 1);
    is($r->{rc}, 0, '--check: exit 0');
    is($r->{out}, '', '--check: nothing to list');
}

# ---------------------------------------------------------------- one directive each

# [ name, input (in a vhost unless it starts with "@server"), expected TLS
#   lines (non-comment lines of the converted vhost), --check status ]
my $CERT = "SSLCertificateFile \@PKI\@/server-ecdsa.crt\nSSLCertificateKeyFile \@PKI\@/server-ecdsa.key";
my @CASES = (
    ['SSLEngine on', 'SSLEngine on', ['TLSEngine on', 'TLSProtocol TLSv1.2+'], 'translated'],
    ['SSLEngine off', 'SSLEngine off', ['TLSEngine off'], 'translated'],
    ['SSLEngine optional', 'SSLEngine optional', [], 'untranslatable'],
    ['SSLVerifyClient require', 'SSLVerifyClient require', ['TLSClientCertificate require'], 'translated'],
    ['SSLVerifyClient none', 'SSLVerifyClient none', ['TLSClientCertificate none'], 'translated'],
    ['SSLVerifyDepth', 'SSLVerifyDepth 3', ['TLSClientVerifyDepth 3'], 'translated'],
    ['SSLVerifyDepth too deep', 'SSLVerifyDepth 1000', [], 'untranslatable'],
    ['SSLCACertificateFile', 'SSLCACertificateFile @PKI@/ca.crt', ['TLSClientCA @PKI@/ca.crt'], 'translated'],
    ['SSLCACertificatePath', 'SSLCACertificatePath /etc/ssl/certs', [], 'untranslatable'],
    ['SSLCADNRequestFile', 'SSLCADNRequestFile @PKI@/ca.crt', [], 'untranslatable'],
    ['SSLCARevocationFile without a check mode (not checked by mod_ssl)',
     'SSLCARevocationFile @PKI@/client.crl', [], 'dropped'],
    ['SSLCARevocationFile with SSLCARevocationCheck chain',
     "SSLCARevocationCheck chain\nSSLCARevocationFile \@PKI\@/client.crl", ['TLSClientCRL @PKI@/client.crl'], 'translated'],
    ['SSLCARevocationPath', 'SSLCARevocationPath /etc/ssl/crl', [], 'untranslatable'],
    ['SSLUserName', 'SSLUserName SSL_CLIENT_S_DN_CN', ['TLSUserName SSL_CLIENT_S_DN_CN'], 'translated'],
    ['SSLUserName with a non-SSL variable', 'SSLUserName REMOTE_ADDR', [], 'untranslatable'],
    ['SSLSessionTickets off', 'SSLSessionTickets off', ['TLSSessionTickets off'], 'translated'],
    ['SSLSessionTickets on', 'SSLSessionTickets On', ['TLSSessionTickets on'], 'translated'],
    ['SSLSessionCacheTimeout', 'SSLSessionCacheTimeout 600', ['TLSSessionCacheTimeout 600'], 'translated'],
    ['SSLSessionCache shmcb', '@server SSLSessionCache shmcb:@DIR@/run/cache(512000)',
     ['TLSSessionCache shmcb:@DIR@/run/cache(512000)'], 'translated'],
    ['SSLSessionCache none', '@server SSLSessionCache none', ['TLSSessionCache none'], 'translated'],
    ['SSLSessionCache nonenotnull', '@server SSLSessionCache nonenotnull', ['TLSSessionCache none'], 'translated'],
    ['SSLSessionTicketKeyFile', '@server SSLSessionTicketKeyFile /etc/apache2/ticket.key', [], 'untranslatable'],
    ['SSLStrictSNIVHostCheck on in the server config', '@server SSLStrictSNIVHostCheck on', ['TLSStrictSNI on'], 'translated'],
    ['SSLStrictSNIVHostCheck off', 'SSLStrictSNIVHostCheck off', ['TLSStrictSNI off'], 'translated'],
    ['SSLRandomSeed', '@server SSLRandomSeed startup builtin', [], 'dropped'],
    ['SSLPassPhraseDialog', '@server SSLPassPhraseDialog builtin', [], 'dropped'],
    ['SSLCryptoDevice builtin', '@server SSLCryptoDevice builtin', [], 'dropped'],
    ['SSLCryptoDevice pkcs11', '@server SSLCryptoDevice pkcs11', [], 'untranslatable'],
    ['SSLCompression off', 'SSLCompression off', [], 'dropped'],
    ['SSLCompression on', 'SSLCompression on', [], 'untranslatable'],
    ['SSLInsecureRenegotiation on', 'SSLInsecureRenegotiation on', [], 'untranslatable'],
    ['SSLFIPS on', '@server SSLFIPS on', [], 'untranslatable'],
    ['SSLSRPVerifierFile', 'SSLSRPVerifierFile /etc/srp', [], 'untranslatable'],
    ['SSLRenegBufferSize', 'SSLRenegBufferSize 65536', ['TLSRenegBufferSize 65536'], 'translated'],
    ['SSLUseStapling', 'SSLUseStapling on', ['TLSOCSPStapling on'], 'translated'],
    ['SSLStaplingForceURL', 'SSLStaplingForceURL http://ocsp.example.net/', ['TLSOCSPStaplingResponder http://ocsp.example.net/'], 'translated'],
    ['SSLStaplingCache', '@server SSLStaplingCache shmcb:@DIR@/run/stapling(32768)', [], 'dropped'],
    ['SSLStaplingForceURL https://', 'SSLStaplingForceURL https://ocsp.example.net/', [], 'untranslatable'],
    ['SSLStaplingResponderTimeout', 'SSLStaplingResponderTimeout 5', [], 'dropped'],
    ['SSLStaplingResponseTimeSkew', 'SSLStaplingResponseTimeSkew 60', [], 'dropped'],
    ['SSLStaplingResponseMaxAge', 'SSLStaplingResponseMaxAge 86400', [], 'dropped'],
    ['SSLStaplingStandardCacheTimeout', 'SSLStaplingStandardCacheTimeout 7200', [], 'dropped'],
    ['SSLStaplingErrorCacheTimeout', 'SSLStaplingErrorCacheTimeout 60', [], 'dropped'],
    ['SSLStaplingReturnResponderErrors off', 'SSLStaplingReturnResponderErrors off', [], 'dropped'],
    ['SSLStaplingFakeTryLater off', 'SSLStaplingFakeTryLater off', [], 'dropped'],
    ['SSLOCSPEnable leaf', 'SSLOCSPEnable leaf', ['TLSClientOCSP leaf'], 'translated'],
    ['SSLOCSPEnable on', 'SSLOCSPEnable on', ['TLSClientOCSP on'], 'translated'],
    ['SSLOCSPEnable with a flag', 'SSLOCSPEnable on no_ocsp_for_cert_ok', [], 'untranslatable'],
    ['SSLOCSPDefaultResponder', 'SSLOCSPDefaultResponder http://ocsp.example.net/', ['TLSClientOCSPDefaultResponder http://ocsp.example.net/'], 'translated'],
    ['SSLOCSPOverrideResponder', 'SSLOCSPOverrideResponder on', ['TLSClientOCSPOverrideResponder on'], 'translated'],
    ['SSLOCSPResponderTimeout', 'SSLOCSPResponderTimeout 3', ['TLSClientOCSPTimeout 3'], 'translated'],
    ['SSLOCSPResponseMaxAge (not the default)', 'SSLOCSPResponseMaxAge 3600', [], 'untranslatable'],
    ['SSLOCSPUseRequestNonce on (the default)', 'SSLOCSPUseRequestNonce on', [], 'dropped'],
    ['SSLOCSPUseRequestNonce off', 'SSLOCSPUseRequestNonce off', [], 'dropped'],
    ['SSLOCSPDefaultResponder https://', 'SSLOCSPDefaultResponder https://ocsp.example.net/', [], 'untranslatable'],
    ['SSLOCSPOverrideResponder on without a default responder', "SSLOCSPEnable leaf\nSSLOCSPOverrideResponder on",
     ['TLSClientOCSP leaf'], 'untranslatable'],
    ['SSLOCSPOverrideResponder on with a default responder',
     "SSLOCSPEnable on\nSSLOCSPDefaultResponder http://ocsp.example.net/\nSSLOCSPOverrideResponder on",
     ['TLSClientOCSP on', 'TLSClientOCSPDefaultResponder http://ocsp.example.net/', 'TLSClientOCSPOverrideResponder on'],
     'translated'],
    ['SSLProxyEngine on', 'SSLProxyEngine on', ['TLSProxyEngine on', 'TLSProxyVerify none'], 'translated'],
    ['SSLProxyEngine with SSLProxyVerify require', "SSLProxyEngine on\nSSLProxyVerify require",
     ['TLSProxyEngine on', 'TLSProxyVerify require'], 'translated'],
    ['SSLProxyVerify optional', 'SSLProxyVerify optional', [], 'untranslatable'],
    ['SSLProxyVerifyDepth without verification', 'SSLProxyVerifyDepth 3', [], 'dropped'],
    ['SSLProxyVerifyDepth with verification', "SSLProxyVerify require\nSSLProxyVerifyDepth 3",
     ['TLSProxyVerify require'], 'untranslatable'],
    ['SSLProxyCACertificateFile', 'SSLProxyCACertificateFile @PKI@/ca.crt', ['TLSProxyCA @PKI@/ca.crt'], 'translated'],
    ['SSLProxyCARevocationFile with a check mode', "SSLProxyCARevocationCheck leaf\nSSLProxyCARevocationFile \@PKI\@/client.crl",
     ['TLSProxyCRL @PKI@/client.crl'], 'translated'],
    ['SSLProxyCheckPeerName off', 'SSLProxyCheckPeerName off', ['TLSProxyCheckPeerName on'], 'translated'],
    ['SSLProxyCheckPeerName and CN off', "SSLProxyCheckPeerName off\nSSLProxyCheckPeerCN off",
     ['TLSProxyCheckPeerName off'], 'translated'],
    ['SSLProxyCheckPeerCN on', 'SSLProxyCheckPeerCN on', ['TLSProxyCheckPeerName on'], 'translated'],
    ['SSLProxyCheckPeerExpire off', 'SSLProxyCheckPeerExpire off', [], 'untranslatable'],
    ['SSLProxyMachineCertificateFile', 'SSLProxyMachineCertificateFile @PKI@/server-combined.pem',
     ['TLSProxyMachineCertificate @PKI@/server-combined.pem'], 'translated'],
    ['SSLProxyMachineCertificatePath', 'SSLProxyMachineCertificatePath /etc/ssl/proxy', [], 'untranslatable'],
    ['SSLProxyProtocol', 'SSLProxyProtocol -all +TLSv1.3', ['TLSProxyProtocol -all +TLSv1.3'], 'translated'],
    ['SSLProxyCipherSuite', 'SSLProxyCipherSuite ECDHE+AESGCM',
     ['TLSProxyPriorities NORMAL:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD'],
     'translated'],
    ['SSLProtocol all -SSLv3', 'SSLProtocol all -SSLv3', ['TLSProtocol all -TLSv1 -TLSv1.1'], 'translated'],
    ['SSLProtocol -all +TLSv1.2 +TLSv1.3', 'SSLProtocol -all +TLSv1.2 +TLSv1.3', ['TLSProtocol -all +TLSv1.2 +TLSv1.3'], 'translated'],
    ['SSLProtocol TLSv1.2', 'SSLProtocol TLSv1.2', ['TLSProtocol TLSv1.2'], 'translated'],
    ["SSLProtocol's override quirk", 'SSLProtocol TLSv1.2 TLSv1.3', ['TLSProtocol TLSv1.3'], 'translated'],
    ['SSLProtocol all -TLSv1.3', 'SSLProtocol all -TLSv1.3', ['TLSProtocol all -TLSv1.3 -TLSv1 -TLSv1.1'], 'translated'],
    ['SSLProtocol TLSv1 only', 'SSLProtocol TLSv1', [], 'untranslatable'],
    ['SSLProtocol +SSLv3', 'SSLProtocol all +SSLv3', [], 'untranslatable'],
    ['SSLProtocol with @SECLEVEL=0 keeps TLS 1.0', "SSLProtocol all -SSLv3\nSSLCipherSuite DEFAULT:\@SECLEVEL=0",
     ['TLSProtocol all'], 'translated', qr/^TLSProtocol/],
    ['SSLOptions +StdEnvVars +ExportCertData', 'SSLOptions +StdEnvVars +ExportCertData',
     ['TLSOptions +StdEnvVars +ExportCertData'], 'translated'],
    ['SSLOptions without signs keeps the last (as mod_ssl does)', 'SSLOptions StdEnvVars ExportCertData',
     ['TLSOptions ExportCertData'], 'translated'],
    ['SSLOptions -FakeBasicAuth', 'SSLOptions -FakeBasicAuth', ['TLSOptions -FakeBasicAuth'], 'translated'],
    ['SSLOptions +StrictRequire +OptRenegotiate', 'SSLOptions +StrictRequire +OptRenegotiate', [], 'dropped'],
    ['SSLOptions StrictRequire (a whole set)', 'SSLOptions StrictRequire',
     ['TLSOptions -StdEnvVars -ExportCertData -FakeBasicAuth'], 'translated'],
    ['SSLOptions +LegacyDNStringFormat', 'SSLOptions +StdEnvVars +LegacyDNStringFormat', [], 'untranslatable'],
    ['SSLOptions unknown option', 'SSLOptions +CompatEnvVars', [], 'untranslatable'],
    ['SSLOpenSSLConfCmd Options -SessionTicket', 'SSLOpenSSLConfCmd Options -SessionTicket', ['TLSSessionTickets off'], 'translated'],
    ['SSLOpenSSLConfCmd DHParameters', 'SSLOpenSSLConfCmd DHParameters @PKI@/dh.pem', [], 'dropped'],
    ['SSLOpenSSLConfCmd SignatureAlgorithms', 'SSLOpenSSLConfCmd SignatureAlgorithms RSA+SHA256', [], 'untranslatable'],
    ['SSLOpenSSLConfCmd Curves', 'SSLOpenSSLConfCmd Curves X25519:secp384r1',
     ['TLSPriorities NORMAL:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP384R1'], 'translated'],
    ['SSLOpenSSLConfCmd MinProtocol', 'SSLOpenSSLConfCmd MinProtocol TLSv1.2', ['TLSProtocol TLSv1.2+'], 'translated'],
    ['SSLHonorCipherOrder alone', 'SSLHonorCipherOrder on', ['TLSPriorities NORMAL:%SERVER_PRECEDENCE'], 'translated'],
    ['SSLHonorCipherOrder off', 'SSLHonorCipherOrder off', [], 'dropped'],
    ['SSLCertificateChainFile', "$CERT\nSSLCertificateChainFile \@PKI\@/int.crt",
     ['TLSCertificate @PKI@/server-ecdsa.crt @PKI@/server-ecdsa.key'], 'untranslatable'],
    ['SSLRequire', 'SSLRequire %{SSL_CIPHER_USEKEYSIZE} >= 128', [], 'untranslatable'],
    ['an unknown SSL directive', 'SSLNoSuchThing on', [], 'untranslatable'],
    ['SSLLogLevel (gone since 2.4)', 'SSLLogLevel info', [], 'untranslatable'],
);

my %IMPL = implemented();
for my $c (@CASES) {
    my ($name, $in, $want, $status, $only) = @$c;
    my $server = $in =~ s/^\@server //;
    my $text = $server ? "$in\n" : "<VirtualHost *:443>\n$in\n</VirtualHost>\n";
    my $r = migrate_text($text);
    my @got = grep { !/^<\/?VirtualHost/ && !/^<\/?If\b/ && $_ ne 'Require all denied' } tls_lines($r->{out});
    @got = grep { /$only/ } @got if $only;
    is_deeply(\@got, $want, "$name: the mod_tls lines") or diag($r->{out});
    is($r->{rc}, 0, "$name: converting exits 0");
    my $k = migrate_text($text, check => 1);
    # the case's subject is its last line; any line that cannot be
    # translated makes the case untranslatable
    my $subject = (split /\n/, $in)[-1];
    my ($last) = grep { ($_->{old} // $_->{text} // '') =~ /^\Q$subject\E/ } @{$k->{changes}};
    my $worst = (grep { $_->{status} eq 'untranslatable' } @{$k->{changes}}) ? 'untranslatable' : ($last // {})->{status};
    is($worst // '', $status, "$name: --check says $status") or diag($k->{out});
    is($k->{rc}, $status eq 'untranslatable' ? 1 : 0, "$name: --check exit status");
    ok(!grep({ $_->{status} eq 'unparsed' } @{$k->{changes}}), "$name: --check prints only file:line lines")
        or diag($k->{out});
    if ($status ne 'translated') {
        my ($shown) = grep { $_->{status} eq $status } @{$k->{changes}};
        like($shown->{reason} // $shown->{text} // '', qr/\w{4,}.*\w{4,}/, "$name: --check gives a reason");
        like($r->{out}, qr/^\s*# tls-migrate: (dropped|cannot translate): \S/m, "$name: a comment in the output says why");
    }
}

# malformed lines (httpd refuses them too): reported, never a Perl warning
for my $line ('SSLEngine', 'SSLEngine on off', 'SSLCipherSuite', 'SSLCipherSuite a b c', 'SSLOpenSSLConfCmd CipherString',
              'SSLRequireSSL now', 'SSLCertificateFile', 'SSLProtocol', 'SSLOptions', 'SSLCipherSuite TLSv1.3',
              'SSLProtocol +', 'SSLOptions +', 'SSLVerifyDepth deep') {
    my $text = "<VirtualHost *:443>\n$line\n</VirtualHost>\n<Directory /srv>\n$line\n</Directory>\n";
    my $r = migrate_text($text);
    is($r->{err}, '', "'$line': nothing on stderr");
    my $k = migrate_text($text, check => 1);
    is($k->{rc}, 1, "'$line': --check exit 1");
    is(scalar(grep { $_->{status} eq 'untranslatable' } @{$k->{changes}}), 2, "'$line': cannot translate (twice)")
        or diag($k->{out});
}

# every converted case that translates (and whose directives exist in mod_tls
# today) passes apache2 -t, in one server with a vhost per case
{
    my ($conf, @skipped) = ('');
    my $i = 0;
    for my $c (@CASES) {
        my ($name, $in, $want, $status) = @$c;
        next if $status eq 'untranslatable' || $in =~ /^\@server/;
        my $r = migrate_text("<VirtualHost 127.0.0.1:\@PORT\@>\nServerName case$i.test\n$CERT\nSSLEngine on\n$in\n</VirtualHost>\n");
        my ($text, @gone) = without_unimplemented($r->{out});
        push @skipped, @gone;
        $conf .= $text;
        $i++;
    }
    my $h = TLSTest::Httpd->new(conf => $conf, modules => ['socache_shmcb']);
    my ($rc, $out) = $h->configtest;
    is($rc, 0, "apache2 -t accepts the converted cases ($i virtual hosts)") or diag($out);
    note('not checked by apache2 -t yet, mod_tls lacks: ' . join(' ', sort { $a cmp $b } keys %{{ map { $_ => 1 } @skipped }}))
        if @skipped;
}

# ---------------------------------------------------------------- --check format and exit status

{
    my $r = migrate_text("<VirtualHost *:443>\n    SSLEngine on\n    SSLCertificateChainFile /etc/ssl/chain.pem\n</VirtualHost>\n",
                         check => 1, name => 'check-format.conf');
    is($r->{rc}, 1, '--check: exit 1 when a line cannot be translated');
    like($r->{out}, qr{^\Q$tmp\E/migrate-in/check-format\.conf:2: SSLEngine on \x{2192} TLSEngine on; TLSProtocol TLSv1\.2\+}m,
         '--check: "file:line: old -> new" for a translated line');
    like($r->{out}, qr{^\Q$tmp\E/migrate-in/check-format\.conf:3: cannot translate: SSLCertificateChainFile /etc/ssl/chain\.pem: .*append}m,
         '--check: "file:line: cannot translate: reason" (which tells what to do)');
    is(scalar(split /\n/, $r->{out}), 2, '--check: one line per directive');
    like($r->{err}, qr/2 line\(s\) change, 1 cannot be translated/, '--check: a summary on stderr');
    my $c = migrate_text("<VirtualHost *:443>\n    SSLEngine on\n    SSLCertificateChainFile /etc/ssl/chain.pem\n</VirtualHost>\n");
    is($c->{rc}, 0, 'converting exits 0 even with lines it cannot translate');
    like($c->{out}, qr{^    # tls-migrate: cannot translate: mod_tls reads the chain from the certificate file.*\n(    # tls-migrate:   .*\n)*    #SSLCertificateChainFile /etc/ssl/chain\.pem\n}m,
         'the untranslatable line stays as a comment, indented as it was, after the reason');
}

# ---------------------------------------------------------------- certificates

{
    my $r = migrate_text(<<'EOF');
<VirtualHost *:443>
    SSLCertificateFile   "/etc/ssl/rsa.crt"
    SSLCertificateFile   /etc/ssl/ecdsa.crt
    SSLCertificateKeyFile /etc/ssl/rsa.key
    SSLCertificateKeyFile /etc/ssl/ecdsa.key
    SSLCertificateFile   /etc/ssl/combined.pem
</VirtualHost>
EOF
    is_deeply([grep { /^TLS/ } tls_lines($r->{out})],
              ['TLSCertificate "/etc/ssl/rsa.crt" /etc/ssl/rsa.key', 'TLSCertificate /etc/ssl/ecdsa.crt /etc/ssl/ecdsa.key',
               'TLSCertificate /etc/ssl/combined.pem'],
              'certificates pair with keys in order (quotes kept), a certificate without key file keeps its key inside');
    like($r->{out}, qr/^    #SSLCertificateKeyFile \/etc\/ssl\/rsa\.key$/m, 'the key lines remain as comments');

    # mod_ssl: a vhost's i-th certificate replaces the server's i-th, the
    # server's further ones remain; mod_tls's replace all inherited ones
    $r = migrate_text(<<'EOF', check => 1);
SSLCertificateFile /etc/ssl/server-rsa.crt
SSLCertificateKeyFile /etc/ssl/server-rsa.key
SSLCertificateFile /etc/ssl/server-ecdsa.crt
SSLCertificateKeyFile /etc/ssl/server-ecdsa.key
<VirtualHost *:443>
    SSLCertificateFile /etc/ssl/vh-rsa.crt
    SSLCertificateKeyFile /etc/ssl/vh-rsa.key
</VirtualHost>
EOF
    my ($vh) = grep { $_->{line} == 6 } @{$r->{changes}};
    is($vh->{new}, 'TLSCertificate /etc/ssl/vh-rsa.crt /etc/ssl/vh-rsa.key; TLSCertificate /etc/ssl/server-ecdsa.crt /etc/ssl/server-ecdsa.key',
       "a vhost's certificate replaces the server's first; the server's second is repeated in the vhost");
    like($vh->{notes} // '', qr/comes from the server config/, 'and a note says why');

    # an encrypted key cannot be used by mod_tls
    my $enc = "$tmp/encrypted.key";
    run_cmd(['openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256',
             '-aes-128-cbc', '-pass', 'pass:secret', '-out', $enc]);
    $r = migrate_text("<VirtualHost *:443>\nSSLCertificateFile ${\ pki()}/server-ecdsa.crt\nSSLCertificateKeyFile $enc\n</VirtualHost>\n", check => 1);
    my $l = change_for($r, 'SSLCertificateFile');
    is($l->{status}, 'untranslatable', 'an encrypted key: cannot translate');
    like($l->{text}, qr/encrypted.*unencrypted key/, 'an encrypted key: the reason says what to do');

    $r = migrate_text("<VirtualHost *:443>\nSSLCertificateFile /a.crt\nSSLCertificateChainFile /a.crt\n</VirtualHost>\n", check => 1);
    is(change_for($r, 'SSLCertificateChainFile')->{status}, 'dropped', 'a chain file that is the certificate file: dropped');
}

# ---------------------------------------------------------------- cipher strings

# The TLS 1.2-and-older suites GnuTLS enables for the converted string are
# the ones OpenSSL enables for the mod_ssl string, except suites GnuTLS does
# not implement (named in a note) and forward-secret combinations GnuTLS
# cannot leave out (named in a note); TLS 1.3 keeps at least OpenSSL's
# default suites.
my @FAITHFUL = (
    'HIGH:!aNULL',                            # Debian's ssl.conf
    'HIGH:!aNULL:!MD5',                       # SSL How-To
    'HIGH:MEDIUM:!MD5:!RC4:!3DES',            # httpd's httpd-ssl.conf
    'ECDHE+AESGCM',
    'EECDH+AESGCM:EDH+AESGCM',
    'EECDH+AESGCM:EDH+AESGCM:AES256+EECDH:AES256+EDH',
    'DEFAULT',
    'ALL:!aNULL:!eNULL',
    'HIGH:!aNULL:!MD5:!RC4:!3DES:!CAMELLIA:!ARIA:!kRSA',
    # Mozilla intermediate (v5.0 .. v5.6) and old "modern" (v4)
    'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305',
    'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256',
);
my %OPENSSL_TLS13 = map { $_ => 1 } qw(1301 1302 1303);
# OpenSSL's names of the suites, by id (the converter's notes use them)
my %OSSL_NAME;
for (split /\n/, (run_cmd(['openssl', 'ciphers', '-V', 'ALL:COMPLEMENTOFALL']))[1]) {
    $OSSL_NAME{uc "$1$2"} = $3 if /0x(\w\w),0x(\w\w) - (\S+)/;
}
for my $spec (@FAITHFUL) {
    my $r = migrate_text("SSLCipherSuite $spec\n", check => 1);
    my $c = change_for($r, 'SSLCipherSuite');
    my ($prio) = ($c->{new} // '') =~ /^TLSPriorities (\S+)$/;
    ok($prio, "SSLCipherSuite $spec: translated") or do { diag($r->{out}); next };
    my $o = openssl_suites($spec);
    my ($g, $g13) = gnutls_suites($prio);
    ok(%$g, "$spec: gnutls-cli accepts $prio");
    my $notes = $c->{notes} // '';
    my @lost = grep { !$g->{$_} } sort keys %$o;
    my @added = grep { !$o->{$_} } sort keys %$g;
    ok(!grep({ $o->{$_} !~ /ARIA/ } @lost), "$spec: every suite left out is one GnuTLS lacks (ARIA)")
        or diag("left out: @$o{@lost}");
    ok(!grep({ index($notes, $o->{$_}) < 0 } @lost), "$spec: the note names the suites left out") or diag($notes);
    ok(!grep({ $g->{$_} !~ /^TLS_(ECDHE|DHE)_/ } @added), "$spec: suites GnuTLS adds are forward-secret")
        or diag("added: @$g{@added}");
    my @unnamed = grep { index($notes, $OSSL_NAME{$_} // $g->{$_}) < 0 } @added;
    ok(!@unnamed, "$spec: the note names the suites GnuTLS adds") or diag("$notes\nunnamed: @$g{@unnamed}");
    ok(!grep({ !$g13->{$_} } keys %OPENSSL_TLS13), "$spec: TLS 1.3 keeps OpenSSL's default suites");
}

# strings that cannot be expressed: GnuTLS would add non-forward-secret or
# weaker suites, or the string names ciphers GnuTLS lacks
for my $c (['AES256-SHA', qr/would add AES128-GCM-SHA256 AES256-GCM-SHA384/],
           ['HIGH:MEDIUM:!SSLv3:!kRSA', qr/would add DHE-RSA-CAMELLIA128-SHA/],
           ['ECDHE-ECDSA-ARIA256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384', qr/does not implement: ECDHE-ECDSA-ARIA256-GCM-SHA384/],
           ['ARIA:HIGH', qr/does not implement: ARIA/],
           ['NO-SUCH-CIPHER', qr/selects no cipher suite/]) {
    my ($spec, $why) = @$c;
    my $r = migrate_text("SSLCipherSuite $spec\n", check => 1);
    my $l = change_for($r, 'SSLCipherSuite');
    is($l->{status}, 'untranslatable', "SSLCipherSuite $spec: cannot translate");
    like($l->{text} // '', $why, "SSLCipherSuite $spec: the reason");
    like($l->{text} // '', qr/write TLSPriorities by hand/, "SSLCipherSuite $spec: what to do");
    is($r->{rc}, 1, "SSLCipherSuite $spec: --check exit 1");
}

# without the openssl command only lists of suite names translate
{
    my $list = 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305';
    my $with = change_for(migrate_text("SSLCipherSuite $list\n", check => 1), 'SSLCipherSuite');
    my $without = change_for(migrate_text("SSLCipherSuite $list\n", check => 1, args => ['--openssl', 'none']), 'SSLCipherSuite');
    is($without->{new}, $with->{new}, 'a list of suite names: the same translation without the openssl command');
    my $k = change_for(migrate_text("SSLCipherSuite HIGH:!aNULL\n", check => 1, args => ['--openssl', 'none']), 'SSLCipherSuite');
    like($k->{text} // '', qr/without the openssl command/, 'a keyword string without the openssl command: cannot translate, and why');
}

# SSLCipherSuite TLSv1.3, honor order, curves: one TLSPriorities per scope,
# server settings inherited by virtual hosts as mod_ssl merges them
{
    my $r = migrate_text(<<'EOF', check => 1);
SSLHonorCipherOrder on
SSLOpenSSLConfCmd Curves X25519:P-256
<VirtualHost *:443>
    SSLCipherSuite ECDHE+AESGCM
</VirtualHost>
<VirtualHost *:8443>
    SSLCipherSuite TLSv1.3 TLS_AES_256_GCM_SHA384
    SSLHonorCipherOrder off
</VirtualHost>
EOF
    my ($srv) = grep { $_->{line} == 1 } @{$r->{changes}};
    is($srv->{new}, 'TLSPriorities NORMAL:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:%SERVER_PRECEDENCE',
       'server config: honor order and curves in one TLSPriorities');
    my ($curves) = grep { $_->{line} == 2 } @{$r->{changes}};
    like($curves->{new}, qr/part of the TLSPriorities line at line 1/, 'the Curves line is folded into it');
    my ($vh1) = grep { $_->{line} == 4 } @{$r->{changes}};
    is($vh1->{new}, 'TLSPriorities NORMAL:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:%SERVER_PRECEDENCE',
       "a vhost's own cipher suite, with the server's curves and honor order");
    my ($vh2) = grep { $_->{line} == 7 } @{$r->{changes}};
    is($vh2->{new}, 'TLSPriorities NORMAL:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1',
       'a vhost with TLS 1.3 suites only and honor order off');
    like($vh2->{notes} // '', qr/TLS 1\.3 also allows TLS_AES_128_CCM_SHA256 TLS_AES_128_GCM_SHA256 TLS_CHACHA20_POLY1305_SHA256/,
         'the note says which TLS 1.3 suites GnuTLS adds');
    # TLS 1.3 only: the TLS 1.2 cipher string does not matter
    $r = migrate_text("SSLProtocol -all +TLSv1.3\nSSLCipherSuite AES256-SHA\n", check => 1);
    is(change_for($r, 'SSLCipherSuite')->{new}, 'TLSPriorities NORMAL', 'TLS 1.3 only: SSLCipherSuite (TLS 1.2) is irrelevant');
    # per directory: cannot
    $r = migrate_text("<Location /strong>\nSSLCipherSuite HIGH\n</Location>\n", check => 1);
    like(change_for($r, 'SSLCipherSuite')->{text}, qr/not per directory/, 'SSLCipherSuite in a <Location>: cannot translate');
}

# Mozilla's generated configurations for Apache (intermediate v5.7 and
# modern), certificates pointed at the test PKI: everything translates and
# apache2 -t accepts the result, TLSOCSPStapling on included
{
    my $vhost = "<VirtualHost 127.0.0.1:\@PORT\@>\n    SSLEngine on\n    SSLCertificateFile \@PKI\@/server-ecdsa.crt\n"
              . "    SSLCertificateKeyFile \@PKI\@/server-ecdsa.key\n    Protocols h2 http/1.1\n"
              . "    Header always set Strict-Transport-Security \"max-age=63072000\"\n</VirtualHost>\n\n";
    my $inter = $vhost . <<'EOF';
SSLProtocol             -all +TLSv1.2 +TLSv1.3
SSLOpenSSLConfCmd       Curves X25519:prime256v1:secp384r1
SSLCipherSuite          ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305
SSLHonorCipherOrder     off
SSLSessionTickets       off

SSLUseStapling On
SSLStaplingCache "shmcb:logs/ssl_stapling(32768)"
EOF
    (my $modern = $inter) =~ s/^SSLCipherSuite .*\n//m;
    $modern =~ s/-all \+TLSv1\.2 \+TLSv1\.3/-all +TLSv1.3/;
    for my $c (['intermediate', $inter, 'TLSPriorities NORMAL:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:+DHE-RSA:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1', 'TLSProtocol -all +TLSv1.2 +TLSv1.3'],
               ['modern', $modern, 'TLSPriorities NORMAL:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1', 'TLSProtocol -all +TLSv1.3']) {
        my ($name, $text, $prio, $proto) = @$c;
        my $k = migrate_text($text, check => 1);
        is($k->{rc}, 0, "Mozilla $name: everything translates") or diag($k->{out});
        my $r = migrate_text($text);
        my @l = tls_lines($r->{out});
        ok((grep { $_ eq $prio } @l), "Mozilla $name: $prio") or diag($r->{out});
        ok((grep { $_ eq $proto } @l), "Mozilla $name: $proto");
        ok((grep { $_ eq 'TLSSessionTickets off' } @l), "Mozilla $name: tickets off");
        my ($conf) = without_unimplemented($r->{out});
        my $h = TLSTest::Httpd->new(conf => $conf, modules => ['http2']);
        my ($rc, $out) = $h->configtest;
        is($rc, 0, "Mozilla $name: apache2 -t accepts the conversion") or diag($out);
    }
}

# ---------------------------------------------------------------- client certificates, access

# optional: mod_ssl refused a failing certificate in the handshake, mod_tls
# admits it with FAILED: an <If> at the end of the section keeps it out
{
    my $r = migrate_text(<<'EOF');
<VirtualHost *:443>
    SSLVerifyClient optional
    SSLCACertificateFile /etc/ssl/ca.crt
    <Location /app>
        SSLVerifyClient optional_no_ca
    </Location>
</VirtualHost>
EOF
    like($r->{out}, qr{^    TLSClientCertificate optional\n    TLSClientCA /etc/ssl/ca\.crt\n}m, 'optional: translated in place');
    like($r->{out}, qr{^        TLSClientCertificate optional_no_ca\n(        # tls-migrate: .*\n)+        <If "%\{SSL_CLIENT_VERIFY\} =~ /\^FAILED/">\n            Require all denied\n        </If>\n    </Location>\n}m,
         'optional_no_ca in a <Location>: an <If> that denies FAILED at its end');
    like($r->{out}, qr{    </Location>\n(    # tls-migrate: .*\n)+    <If "%\{SSL_CLIENT_VERIFY\} =~ /\^FAILED/">\n        Require all denied\n    </If>\n</VirtualHost>\n}m,
         'optional in the vhost: the same <If> at the end of the vhost');
}

# SSLRequireSSL next to Require valid-user: the Require lines stay as they
# are, requests without TLS are refused by an <If> (merged last), so no
# other user gets in and no password is asked for over plain HTTP
{
    my $in = <<'EOF';
<Directory "@DOCROOT@/members">
    SSLRequireSSL
    AuthType Basic
    AuthName "Members"
    AuthUserFile @DIR@/passwd
    Require valid-user
    Require ip 10.0.0.0/8
</Directory>
EOF
    my $r = migrate_text($in);
    my $want = $in;
    $want =~ s{    SSLRequireSSL\n}{    # tls-migrate: SSLRequireSSL: see the <If> at the end of this <Directory>\n    #SSLRequireSSL\n};
    $want =~ s{</Directory>}{    # tls-migrate: SSLRequireSSL: requests that do not come over TLS are refused (403) before any
    # tls-migrate: authentication, whatever the Require lines of this and later sections say, as
    # tls-migrate: mod_ssl's access check did (an <If> section is merged last and replaces them).
    <If "%{HTTPS} != 'on'">
        Require all denied
    </If>
</Directory>};
    is($r->{out}, $want, 'SSLRequireSSL: the Require lines untouched, an <If> denying requests without TLS at the end');
    my $k = migrate_text($in, check => 1);
    is($k->{rc}, 0, 'SSLRequireSSL: translatable');
    like(change_for($k, 'SSLRequireSSL')->{new}, qr/^<If "%\{HTTPS\} != 'on'"> Require all denied <\/If> at the end of this <Directory>$/,
         'SSLRequireSSL: --check shows the <If>');
    # the semantics are checked against mod_ssl in t/91-migrate-sites.t

    # Satisfy Any: access checks and authorization are alternatives there
    $k = migrate_text("<Directory /srv>\nSSLRequireSSL\nSatisfy Any\nRequire valid-user\n</Directory>\n", check => 1);
    my $l = change_for($k, 'SSLRequireSSL');
    is($l->{status}, 'untranslatable', 'SSLRequireSSL with Satisfy Any: cannot translate');
    like($l->{text}, qr/Satisfy Any/, 'SSLRequireSSL with Satisfy Any: says why');
    $k = migrate_text("<Directory /srv>\nSSLVerifyClient optional\nSatisfy Any\n</Directory>\n", check => 1);
    is(change_for($k, 'SSLVerifyClient')->{status}, 'untranslatable', 'SSLVerifyClient optional with Satisfy Any: cannot translate');
}

# SSLRequire: never emitted silently; a simple expression gets a suggestion
# that is valid mod_tls configuration
{
    my $in = qq{<Directory /srv/area>\n  SSLRequire       %{SSL_CLIENT_S_DN_O}  eq "Snake Oil, Ltd." \\\n               and %{SSL_CLIENT_S_DN_OU} in {"Staff", "CA", "Dev"}\n</Directory>\n};
    my $r = migrate_text($in);
    my @active = grep { !/^<\/?Directory/ } tls_lines($r->{out});
    is_deeply(\@active, [], 'SSLRequire: no active line is emitted');
    like($r->{out}, qr/^  #SSLRequire       %\{SSL_CLIENT_S_DN_O\}  eq "Snake Oil, Ltd." \\\n               #and %\{SSL_CLIENT_S_DN_OU\} in \{"Staff", "CA", "Dev"\}\n/m,
         'SSLRequire: both physical lines commented out');
    my ($sugg) = $r->{out} =~ /^  # tls-migrate:   (<If .*>)$/m;
    is($sugg, q{<If "%{HTTPS} == 'on' && !(%{SSL_CLIENT_S_DN_O} == 'Snake Oil, Ltd.' && %{SSL_CLIENT_S_DN_OU} -in {'Staff', 'CA', 'Dev'})">},
       'SSLRequire: the suggested <If> (eq as ==, and as &&, quotes as single quotes)');
    my $h = TLSTest::Httpd->new(conf => "<Directory /srv/area>\n$sugg\n    Require all denied\n</If>\n</Directory>\n");
    my ($rc, $out) = $h->configtest;
    is($rc, 0, 'SSLRequire: the suggestion passes apache2 -t with mod_tls') or diag($out);
    $r = migrate_text("<Location />\nSSLRequire %{SSL_CIPHER_USEKEYSIZE} >= 128\n</Location>\n");
    like($r->{out}, qr/!\(%\{SSL_CIPHER_USEKEYSIZE\} -ge 128\)/, 'SSLRequire with >= and a number: -ge');
    $r = migrate_text("<Location />\nSSLRequire %{SSL_CLIENT_CERT} eq file(\"/etc/ssl/alice.pem\")\n</Location>\n");
    like($r->{out}, qr/write an equivalent .* by hand/, 'SSLRequire with a function: no suggestion, a hint');
}

# Require ssl / ssl-verify-client
{
    my $r = migrate_text("<Location /a>\n  Require ssl\n</Location>\n<Location /b>\n  <RequireAll>\n    Require ssl-verify-client\n    Require not ssl\n    Require user ssl\n  </RequireAll>\n</Location>\n");
    is_deeply([tls_lines($r->{out})],
              ['<Location /a>', 'Require tls', '</Location>', '<Location /b>', '<RequireAll>', 'Require tls-verify-client',
               'Require not tls', 'Require user ssl', '</RequireAll>', '</Location>'],
              'Require ssl -> tls, ssl-verify-client -> tls-verify-client, "not" kept, a user named ssl untouched');
}

# ---------------------------------------------------------------- modules and IfModule

{
    my $in = <<'EOF';
LoadModule ssl_module modules/mod_ssl.so
LoadModule ssl_module "/usr/lib/apache2/modules/mod_ssl.so"
<IfModule mod_ssl.c>
    Listen 443
    SSLSessionTickets off
    <IfModule !ssl_module>
        SSLRandomSeed startup builtin
    </IfModule>
</IfModule>
<IfModule ssl_module>
    SSLProtocol TLSv1.3
</IfModule>
<IfModule mod_gnutls.c>
    Listen 443
</IfModule>
EOF
    my $r = migrate_text($in);
    is_deeply([tls_lines($r->{out})],
              ['LoadModule tls_module modules/mod_tls.so', 'LoadModule tls_module /usr/lib/apache2/modules/mod_tls.so',
               '<IfModule tls_module>', 'Listen 443', 'TLSSessionTickets off', '<IfModule !tls_module>', '</IfModule>', '</IfModule>',
               '<IfModule tls_module>', 'TLSProtocol TLSv1.3', '</IfModule>', '<IfModule mod_gnutls.c>', 'Listen 443', '</IfModule>'],
              'LoadModule ssl_module and <IfModule mod_ssl.c|ssl_module|!ssl_module> become tls_module, their contents converted');
    $r = migrate_text("LoadModule ssl_module modules/mod_ssl.so\n", args => ['--module-path', '/opt/mod_tls.so']);
    is((tls_lines($r->{out}))[0], 'LoadModule tls_module /opt/mod_tls.so', '--module-path names the module file');
}

# ---------------------------------------------------------------- Include

{
    my $root = "$tmp/inc";
    mkdir $_ for $root, "$root/conf.d", "$root/sites", "$root/sites/more";
    spit("$root/conf.d/a.conf", "SSLProtocol TLSv1.2\n");
    spit("$root/conf.d/b.conf", "SSLSessionTickets off\n");
    spit("$root/conf.d/ignored.txt", "SSLEngine on\n");
    spit("$root/sites/site.conf", "<VirtualHost *:443>\n    SSLEngine on\n    Include more/extra.conf\n</VirtualHost>\n");
    spit("$root/sites/more/extra.conf", "SSLVerifyClient require\n");
    spit("$root/main.conf", "ServerRoot $root\nInclude conf.d/*.conf\nIncludeOptional none/*.conf\nIncludeOptional sites/site.conf\n");
    my $r = migrate_file("$root/main.conf");
    is($r->{rc}, 0, 'Include: exit 0');
    my @l = tls_lines($r->{out});
    is_deeply(\@l, ["ServerRoot $root", 'TLSProtocol TLSv1.2', 'TLSSessionTickets off', "IncludeOptional none/*.conf",
                    '<VirtualHost *:443>', 'TLSEngine on', 'TLSClientCertificate require', '</VirtualHost>'],
              'Include: the converted files take the place of the Include lines (glob relative to ServerRoot, nested '
              . 'include relative to the including file), an IncludeOptional matching nothing stays');
    like($r->{out}, qr/^# tls-migrate: begin of \Q$root\E\/conf\.d\/a\.conf\n/m, 'Include: each file is marked');
    like($r->{out}, qr/^    # tls-migrate: end of \Q$root\E\/sites\/more\/extra\.conf\n/m, 'Include: nested, indented as the Include line');
    my $k = migrate_file("$root/main.conf", check => 1);
    ok((grep { $_->{file} eq "$root/sites/more/extra.conf" && $_->{line} == 1 && $_->{new} eq 'TLSClientCertificate require' }
        @{$k->{changes}}), '--check: lines of included files carry their own file and line');
    # no ServerRoot directive: relative to the main file's directory
    spit("$root/main2.conf", "Include conf.d/a.conf\n");
    is_deeply([tls_lines(migrate_file("$root/main2.conf")->{out})], ['TLSProtocol TLSv1.2'],
              'Include without ServerRoot: relative to the including file');
    # a missing Include: reported
    spit("$root/main3.conf", "Include missing.conf\n");
    $k = migrate_file("$root/main3.conf", check => 1);
    is($k->{rc}, 1, 'Include of a missing file: --check exit 1');
    like($k->{out}, qr/main3\.conf:1: cannot translate: Include missing\.conf: cannot follow Include: no file matches 'missing\.conf'/,
         'Include of a missing file: named');
    # --no-includes
    $r = migrate_file("$root/main.conf", args => ['--no-includes']);
    like($r->{out}, qr/^Include conf\.d\/\*\.conf$/m, '--no-includes: the Include lines stay');
    # a snippet included by two virtual hosts: converted in each
    spit("$root/common.conf", "SSLVerifyClient require\n");
    spit("$root/twice.conf", "<VirtualHost *:443>\nInclude common.conf\n</VirtualHost>\n<VirtualHost *:8443>\nInclude common.conf\n</VirtualHost>\n");
    is(scalar(grep { $_ eq 'TLSClientCertificate require' } tls_lines(migrate_file("$root/twice.conf")->{out})), 2,
       'a file included twice is converted twice');
    # a file that includes itself
    spit("$root/loop.conf", "Include loop.conf\nSSLEngine on\n");
    $k = migrate_file("$root/loop.conf", check => 1);
    like($k->{out}, qr/included recursively/, 'an Include loop is reported, not followed forever');
}

# --from-apachectl: the files the server reads, as apache2ctl names them
{
    my $sites = "$tmp/actl";
    mkdir $sites;
    spit("$sites/site.conf", "<VirtualHost 127.0.0.1:\@PORT\@>\n    SSLEngine on\n    SSLCertificateFile ${\ pki()}/server-ecdsa.crt\n"
         . "    SSLCertificateKeyFile ${\ pki()}/server-ecdsa.key\n</VirtualHost>\n");
    spit("$sites/global.conf", "SSLProtocol all -SSLv3\n");
    my $h = TLSTest::Httpd->new(tls => 0, modules => ['ssl', 'socache_shmcb'],
                                conf => "Include $sites/global.conf\n<IfModule ssl_module>\nInclude $sites/site.conf\n</IfModule>\n"
                                      . "<IfModule nonexistent_module>\nInclude $sites/not-read.conf\n</IfModule>\n");
    my $actl = spit("$tmp/fake-apachectl", "#!/bin/sh\nexec $TLSTest::Httpd::HTTPD -f " . $h->conf_file . " \"\$\@\"\n", 0755);
    my $k = migrate('--check', '--from-apachectl', '--apachectl', $actl);
    utf8::decode($k->{out});
    my $c = check_lines($k->{out});
    is($k->{rc}, 0, '--from-apachectl --check: exit 0') or diag("$k->{out}\n$k->{err}");
    ok((grep { $_->{file} eq "$sites/site.conf" && $_->{line} == 2 && $_->{new} =~ /^TLSEngine on/ } @$c),
       '--from-apachectl: the site file apachectl names is converted');
    ok((grep { $_->{file} eq "$sites/global.conf" && $_->{new} eq 'TLSProtocol all -TLSv1 -TLSv1.1' } @$c),
       '--from-apachectl: the global file too');
    my $r = migrate('--from-apachectl', '--apachectl', $actl);
    like($r->{out}, qr/^Include \Q$sites\E\/not-read\.conf$/m, '--from-apachectl: an Include the server does not read stays as it is');
    like($r->{out}, qr/^    TLSCertificate /m, '--from-apachectl: the whole configuration, includes inlined');
}

# ---------------------------------------------------------------- contexts

{
    my $r = migrate_text(<<'EOF', check => 1);
<VirtualHost *:443>
    SSLStrictSNIVHostCheck off
</VirtualHost>
<VirtualHost *:443>
    SSLStrictSNIVHostCheck on
</VirtualHost>
<Directory /srv>
    SSLCACertificateFile /etc/ssl/ca.crt
    SSLVerifyClient require
    SSLOptions +StdEnvVars
    SSLUserName SSL_CLIENT_S_DN_CN
</Directory>
EOF
    my ($strict) = grep { $_->{line} == 5 } @{$r->{changes}};
    is($strict->{status}, 'untranslatable', 'SSLStrictSNIVHostCheck on in a second vhost of an address: cannot translate');
    like($strict->{text}, qr/default \(first\) virtual host/, '... because mod_tls decides it on the default vhost');
    is(change_for($r, 'SSLCACertificateFile')->{status}, 'untranslatable', 'SSLCACertificateFile in a directory: cannot translate');
    is(change_for($r, 'SSLVerifyClient')->{new}, 'TLSClientCertificate require', 'SSLVerifyClient in a directory: translated');
    is(change_for($r, 'SSLOptions')->{new}, 'TLSOptions +StdEnvVars', 'SSLOptions in a directory: translated');
    is(change_for($r, 'SSLUserName')->{new}, 'TLSUserName SSL_CLIENT_S_DN_CN', 'SSLUserName in a directory: translated');
}

finish();
