# OCSP stapling of mod_tls's own (TLSOCSPStapling, TLSOCSPStaplingResponder,
# TLSOCSPResponseFile) under the event MPM (t/47-stapling-prefork.t: the
# prefork MPM), against real responders (openssl ocsp with an index of the
# test PKI) behind relays that count the queries and can hang, close or
# answer tryLater:
# - the first staple comes within seconds of the start, one fetch per
#   certificate (the relay's count); TLS 1.3 and 1.2 handshakes with the
#   ECDSA and with the RSA certificate carry the response about the very
#   certificate they got, also a TLS 1.2 client that cannot use the ECDSA
#   key's curve; openssl s_client -status shows it, gnutls-cli --ocsp
#   verifies it without asking the responder itself; a client that does not
#   ask gets none;
# - revoked is stapled (and logged); a response signed by a certificate
#   without the OCSP signing purpose is not; nor is anything for a server
#   with TLSOCSPStapling off (nobody is asked) or a certificate that names
#   no responder (a startup warning);
# - TLSOCSPStaplingResponder is asked instead of the certificate's AIA;
# - a responder that closes the connection: retried within seconds, and
#   stapled once it answers; one log line per failed fetch, none per
#   handshake;
# - a responder that hangs: handshakes asking for the status are served at
#   once, without a staple; the fetch gives up at its own deadline;
# - tryLater keeps the response held, stapled until its nextUpdate, and no
#   longer once that has passed;
# - TLSOCSPResponseFile: a good response is stapled as it is (and nobody
#   asked), until its nextUpdate; one about another certificate, garbage,
#   a missing file, a line for a certificate nobody serves: a startup
#   warning naming the line, and no staple;
# - mod_status: per certificate, where its responses come from, what is
#   stapled, until when, and the last fetch;
# - a graceful restart keeps the responses: stapled at once, and only a
#   certificate new to the configuration is fetched;
# - TLSOCSPStaplingResponder with an https:// URL stops apache2 -t.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestOCSP;
use Test::More;
use Time::HiRes qw(time);

my $DEAD = 'http://127.0.0.1:' . free_port() . '/';     # nobody listens there
my %relay = map { $_ => TLSTestOCSP::Relay->new }
    qw(main rev bad short fail hang forced off new);

# each certificate has a subject of its own, for the status page, and is
# valid for localhost
sub cert {
    my ($name, %o) = @_;
    pki_cert($name, cn => "$name.localhost", dns => ['localhost'], %o);
}
cert('st-ecdsa', ocsp => $relay{main}->url);
cert('st-rsa', type => 'rsa', ocsp => $relay{main}->url);
cert('st-revoked', ocsp => $relay{rev}->url);
cert('st-wrongsig', ocsp => $relay{bad}->url);
cert('st-short', ocsp => $relay{short}->url);
cert('st-fail', ocsp => $relay{fail}->url);
cert('st-hang', ocsp => $relay{hang}->url);
cert('st-forced', ocsp => $DEAD);
cert('st-off', ocsp => $relay{off}->url);
cert('st-new', ocsp => $relay{new}->url);
cert($_) for qw(st-noaia st-file st-fileother st-filegarbage st-filemissing st-fileshort st-later);

my %resp = (
    int   => TLSTestOCSP::Responder->new(ca => 'int', signer => 'ocsp',
                 good => [qw(st-ecdsa st-rsa st-fail st-hang st-forced st-off st-new)],
                 revoked => ['st-revoked']),
    # answers valid for a minute
    short => TLSTestOCSP::Responder->new(ca => 'int', signer => 'ocsp', good => ['st-short'], nmin => 1),
    # signed by a certificate of the intermediate without the OCSP signing purpose
    noeku => TLSTestOCSP::Responder->new(ca => 'int', signer => 'ocsp-noeku', good => ['st-wrongsig']),
);
$relay{$_}->set('pass', to => $resp{int}->port) for qw(main rev forced off new);
$relay{fail}->set('close', to => $resp{int}->port);
$relay{hang}->set('hang', to => $resp{int}->port);
$relay{short}->set('pass', to => $resp{short}->port);
$relay{bad}->set('pass', to => $resp{noeku}->port);

my $PKI = pki();
my $FILES = tmpdir() . '/responses';
mkdir $FILES;
response_file("$FILES/good.der", ca => 'int', signer => 'ocsp', cert => 'st-file');
# valid for a minute from now
my $fileshort_made = time;
response_file("$FILES/short.der", ca => 'int', signer => 'ocsp', cert => 'st-fileshort', nmin => 1);
spit("$FILES/garbage.der", "this is no OCSP response\n");

# ---------------------------------------------------------------- the server

my @VHOSTS = (
    a           => { certs => ['st-ecdsa', 'st-rsa'] },
    revoked     => { certs => ['st-revoked'] },
    wrongsig    => { certs => ['st-wrongsig'] },
    short       => { certs => ['st-short'] },
    fail        => { certs => ['st-fail'] },
    hang        => { certs => ['st-hang'] },
    forced      => { certs => ['st-forced'], extra => 'TLSOCSPStaplingResponder ' . $relay{forced}->url },
    noaia       => { certs => ['st-noaia'] },
    off         => { certs => ['st-off'], extra => 'TLSOCSPStapling off' },
    file        => { certs => ['st-file'], extra => "TLSOCSPResponseFile $PKI/st-file.crt $FILES/good.der" },
    fileother   => { certs => ['st-fileother'],      # the response of st-file
                     extra => "TLSOCSPResponseFile $PKI/st-fileother.crt $FILES/good.der" },
    filegarbage => { certs => ['st-filegarbage'],
                     extra => "TLSOCSPResponseFile $PKI/st-filegarbage.crt $FILES/garbage.der" },
    filemissing => { certs => ['st-filemissing'],
                     extra => "TLSOCSPResponseFile $PKI/st-filemissing.crt $FILES/missing.der" },
    fileshort   => { certs => ['st-fileshort'], extra => "TLSOCSPResponseFile $PKI/st-fileshort.crt $FILES/short.der" },
    # its certificate is replaced before a graceful restart
    later       => { certs => ['st-later'] },
);
my (%PORT, %SUBJECT, $conf);
for (my $i = 0; $i < @VHOSTS; $i += 2) {
    my ($name, $v) = @VHOSTS[$i, $i + 1];
    $PORT{$name} = $i / 2;
    $conf .= tls_vhost(port => '@PORT' . ($i / 2 + 1) . '@', certs => $v->{certs},
                       extra => $v->{extra} // '');
}
my $STATUS = keys %PORT;
$conf .= vhost(port => '@PORT' . ($STATUS + 1) . '@');
# on for every vhost but one; and a response file line in the server
# config for a certificate that no vhost serves
my $h = TLSTest::Httpd->new(mpm => 'event', listen => $STATUS + 1, conf => $conf,
    global => "TLSOCSPStapling on\nTLSOCSPResponseFile $PKI/server-rsa.crt $FILES/good.der\n");
my $started = time;
$h->start;

sub port { $h->port($PORT{$_[0]}) }
sub subject { "CN=$_[0].localhost,O=mod_tls tests" }
sub serial { x509_field("$PKI/$_[0].crt", '-serial') }
sub status { staple_status($h->port($STATUS)) }
sub stapled { staple_get(port => port(shift), @_) }

# log_lines(RE): the error log's lines that match RE
sub log_lines { grep { /$_[0]/ } split /\n/, $h->error_log }

# ---------------------------------------------------------------- first staple

my $first;
ok(wait_until(sub { $first = stapled('a', version => '1.3', key => 'ecdsa'); $first->{staple} }, timeout => 15),
   'a: a response is stapled soon after the start') or diag($first->{out});
my $after = time - $started;
ok($after < 10, sprintf('... within 10 s of the start (%.1f s)', $after));
my $short0;
ok(wait_until(sub { $short0 = stapled('short')->{staple} }, timeout => 10), 'short: stapled too');
# from now on its responder says tryLater: the response held must do
$relay{short}->set('trylater');
ok(wait_until(sub { stapled('a', version => '1.2', key => 'rsa')->{staple} }, timeout => 10),
   'a: the RSA certificate\'s response too');
is($relay{main}->count, 2, 'a: one fetch per certificate (ECDSA and RSA)');

for my $v ('1.3', '1.2') {
    for my $key ('ecdsa', 'rsa') {
        my $what = "a, TLS $v, $key";
        my $r = stapled('a', version => $v, key => $key);
        my $s = $r->{staple} || {};
        ok($r->{ok}, "$what: handshake") or diag($r->{out});
        is($r->{served}, "st-$key.localhost", "$what: the $key certificate");
        is($s->{response_status}, 'successful', "$what: a response is stapled");
        is($s->{status}, 'good', "$what: ... it says good");
        is(lc($s->{serial} // ''), lc serial("st-$key"), "$what: ... about the certificate served");
        like($s->{responder} // '', qr/CN = mod_tls Test OCSP Responder/, "$what: ... signed by the delegated responder");
        is($r->{responses}[0]{status}, 200, "$what: 200");

        my $before = $relay{main}->count;
        my $sig = $key eq 'rsa' ? '-SIGN-ALL:+SIGN-RSA-PSS-RSAE-SHA256:+SIGN-RSA-SHA256'
                                : '-SIGN-ALL:+SIGN-ECDSA-SECP256R1-SHA256:+SIGN-ECDSA-SHA256';
        my $g = gnutls_cli(port => port('a'), priority => gnutls_priority($v) . ":$sig",
                           args => ['--ocsp', '-V']);
        ok($g->{ok}, "$what: gnutls-cli --ocsp: handshake") or diag($g->{out});
        like($g->{out}, qr/Certificate Status: good/, "$what: gnutls-cli --ocsp: the stapled response says good");
        like($g->{out}, qr/- Status: The certificate is trusted/, "$what: gnutls-cli --ocsp: ... and checks out");
        is($relay{main}->count, $before, "$what: gnutls-cli did not ask the responder itself");
    }
}
{
    # GnuTLS cannot offer this client the ECDSA key (TLS 1.2 without P-256):
    # the credentials without it staple too
    my $r = stapled('a', version => '1.2', args => ['-groups', 'X25519']);
    is($r->{served}, 'st-rsa.localhost', 'a, TLS 1.2 without P-256: the RSA certificate');
    is(($r->{staple} || {})->{status}, 'good', '... with its response stapled');
    my $plain = s_client(port => port('a'), version => '1.3');
    ok($plain->{ok}, 'a client that does not ask for the status: handshake');
    unlike($plain->{out}, qr/OCSP response|Cert Status/, '... and no staple');
}

# ---------------------------------------------------------------- revoked, wrong signer, off

{
    my $r;
    ok(wait_until(sub { $r = stapled('revoked'); $r->{staple} }, timeout => 10), 'revoked: stapled');
    is($r->{staple}{status}, 'revoked', '... the response says revoked');
    like(join("\n", log_lines(qr/st-revoked\.crt/)), qr/\[tls:warn\].*the OCSP responder at \Q${\ $relay{rev}->url}\E says the certificate '\Q${\ subject('st-revoked')}\E' \(.*st-revoked\.crt\) is REVOKED/,
         '... and the log says so');
    my $g = gnutls_cli(port => port('revoked'), args => ['--ocsp']);
    like($g->{out}, qr/The certificate chain is revoked|\*\*\* Certificate was revoked at/,
         '... a client that checks refuses the certificate');

    my $bad = qr/\[tls:warn\].*fetching the OCSP response for '\Q${\ subject('st-wrongsig')}\E' from \Q${\ $relay{bad}->url}\E failed: OCSP response not valid \(the response is signed by a certificate without the OCSP signing purpose\); no response to staple; next attempt in \d+ s/;
    ok($h->wait_log($bad), 'wrong signer: the fetch failed, said the log') or diag($h->error_log);
    $r = stapled('wrongsig');
    ok($r->{ok}, 'wrong signer: handshake');
    is($r->{staple}, undef, '... without a staple');

    $r = stapled('off');
    ok($r->{ok}, 'TLSOCSPStapling off: handshake');
    is($r->{staple}, undef, '... without a staple');
    is($relay{off}->count, 0, '... and nobody asked its responder');

    like($h->error_log, qr/\[tls:warn\].*TLSOCSPStapling on for localhost:\d+, but no OCSP response can be stapled for '\Q${\ subject('st-noaia')}\E' \(.*st-noaia\.crt\): it names no http:\/\/ OCSP responder/,
         'a certificate that names no responder: a startup warning');
    $r = stapled('noaia');
    ok($r->{ok}, '... its handshake');
    is($r->{staple}, undef, '... and no staple');
}

# ---------------------------------------------------------------- TLSOCSPStaplingResponder

{
    my $r;
    ok(wait_until(sub { $r = stapled('forced'); $r->{staple} }, timeout => 10),
       'TLSOCSPStaplingResponder: stapled (its certificate names a responder that is down)');
    is($r->{staple}{status}, 'good', '... good');
    is($relay{forced}->count, 1, '... from the responder it names, asked once');
}

# ---------------------------------------------------------------- response files

{
    my $r = stapled('file');
    my (undef, $text) = TLSTest::Util::run_cmd(['openssl', 'ocsp', '-respin', "$FILES/good.der", '-resp_text', '-noverify']);
    my ($produced) = $text =~ /Produced At: (.*?)\s*$/m;
    is(($r->{staple} || {})->{status}, 'good', 'TLSOCSPResponseFile: its response is stapled');
    is($r->{staple}{produced}, $produced, '... as it is in the file');
    is(lc($r->{staple}{serial} // ''), lc serial('st-file'), '... about the certificate served');

    my %bad = (fileother => qr/the response is not about this certificate/,
               filegarbage => qr/it holds no DER OCSP response/,
               filemissing => qr/cannot read '\Q$FILES\E\/missing\.der': No such file or directory/);
    for my $vh (sort keys %bad) {
        my $n = $h->line_of(qr/TLSOCSPResponseFile .*st-$vh\.crt/);
        like($h->error_log, qr/\[tls:warn\].*\Q${\ $h->conf_file}\E:$n: TLSOCSPResponseFile: not stapling the response in '[^']*' for '\Q${\ subject("st-$vh")}\E': $bad{$vh}/,
             "TLSOCSPResponseFile, $vh: a startup warning names the line and the reason");
        $r = stapled($vh);
        ok($r->{ok}, "TLSOCSPResponseFile, $vh: handshake");
        is($r->{staple}, undef, "TLSOCSPResponseFile, $vh: no staple");
    }
    my $n = $h->line_of(qr/TLSOCSPResponseFile .*server-rsa\.crt/);
    like($h->error_log, qr/\[tls:warn\].*\Q${\ $h->conf_file}\E:$n: TLSOCSPResponseFile: no virtual host with TLSOCSPStapling on serves this certificate/,
         'TLSOCSPResponseFile for a certificate nobody serves: a startup warning');
    is(stapled('fileshort')->{staple}{status}, 'good', 'TLSOCSPResponseFile, valid for a minute: stapled');
}

# ---------------------------------------------------------------- a responder that hangs

{
    ok(wait_until(sub { $relay{hang}->count >= 1 }, timeout => 10), 'hang: a fetch is under way, and hangs');
    my $slowest = 0;
    for my $i (1 .. 5) {
        my $r = stapled('hang', version => $i % 2 ? '1.3' : '1.2');
        ok($r->{ok} && !$r->{staple}, "hang: handshake $i asking for the status: served without a staple");
        $slowest = $r->{elapsed} if $r->{elapsed} > $slowest;
    }
    ok($slowest < 3, sprintf('hang: ... at once: the slowest took %.2f s (a fetch may take 10)', $slowest));
}

# ---------------------------------------------------------------- retried

{
    my $fails = qr/\[tls:warn\].*fetching the OCSP response for '\Q${\ subject('st-fail')}\E' from \Q${\ $relay{fail}->url}\E failed: OCSP responder sent no valid response \(connection closed without an answer\); no response to staple; next attempt in \d+ s/;
    ok(wait_until(sub { $relay{fail}->count >= 2 }, timeout => 20),
       'closing responder: a failed fetch is retried within seconds');
    for my $v ('1.3', '1.2') {
        my $r = stapled('fail', version => $v);
        ok($r->{ok} && !$r->{staple}, "closing responder, TLS $v: served without a staple");
    }
    $relay{fail}->set('pass');
    my $closed = $relay{fail}->count('close');
    my $r;
    ok(wait_until(sub { $r = stapled('fail'); $r->{staple} }, timeout => 35),
       'closing responder: once it answers, stapled (retried at least every 30 s)') or diag($h->error_log);
    is(($r->{staple} || {})->{status}, 'good', '... good');
    is(scalar(log_lines($fails)), $closed, "... and $closed failed fetches made as many log lines, whatever the handshakes")
        or diag(join("\n", log_lines(qr/st-fail/)));
    like($h->error_log, qr/\[tls:info\].*fetched the OCSP response for '\Q${\ subject('st-fail')}\E' from \S+ again: good/,
         '... the first one since says so');
    ok(wait_until(sub { scalar(() = log_lines(qr/for '\Q${\ subject('st-wrongsig')}\E' .* failed/)) == $relay{bad}->count },
                  timeout => 10),
       'wrong signer: one log line per fetch (' . $relay{bad}->count . '), none per handshake');
}

# ---------------------------------------------------------------- mod_status

{
    my $st = status();
    my %want = (
        'st-ecdsa'    => ['good', qr/^\Q${\ $relay{main}->url}\E$/, qr/ ok: good$/],
        'st-revoked'  => ['revoked', qr/^\Q${\ $relay{rev}->url}\E$/, qr/ ok: revoked$/],
        'st-wrongsig' => ['none', qr/^\Q${\ $relay{bad}->url}\E$/, qr/ failed: OCSP response not valid \(the response is signed by a certificate without the OCSP signing purpose\)$/],
        'st-forced'   => ['good', qr/^\Q${\ $relay{forced}->url}\E$/, qr/ ok: good$/],
        'st-noaia'    => ['none', qr/^-$/, qr/^not stapled: it names no http:\/\/ OCSP responder/],
        'st-file'     => ['good', qr/^\Q$FILES\E\/good\.der$/, qr/ ok: good, read from \Q$FILES\E\/good\.der$/],
        'st-filegarbage' => ['none', qr/^\Q$FILES\E\/garbage\.der$/, qr/^not stapled: it holds no DER OCSP response$/],
    );
    for my $c (sort keys %want) {
        my $e = $st->{subject($c)} || {};
        my ($status, $source, $last) = @{$want{$c}};
        is($e->{Status}, $status, "mod_status: $c: $status");
        like($e->{Source} // '', $source, "mod_status: $c: its source");
        like($e->{LastFetch} // '', $last, "mod_status: $c: the last fetch");
        if ($status eq 'none') {
            is($e->{NextUpdate}, '-', "mod_status: $c: nothing held");
        } else {
            like($e->{NextUpdate} // '', qr/^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/, "mod_status: $c: the response's nextUpdate");
        }
    }
    ok(!exists $st->{subject('st-off')}, 'mod_status: nothing for TLSOCSPStapling off');
    my $html = plain_get($h->port($STATUS), path => '/server-status')->{body};
    like($html, qr/<h2>mod_tls OCSP stapling<\/h2>/, 'mod_status: the HTML page has the section');
    like($html, qr/<td>\Q${\ subject('st-revoked')}\E<\/td><td>[^<]*<\/td><td>revoked<\/td>/, '... with a row per certificate');
}

# ---------------------------------------------------------------- graceful restart

{
    my $before = stapled('a')->{staple} || {};
    my %count = map { $_ => $relay{$_}->count } qw(main rev forced);
    # a certificate new to the configuration, which only the new children
    # can fetch
    my $text = slurp($h->conf_file);
    $text =~ s{\Q$PKI\E/st-later\.(crt|key)}{$PKI/st-new.$1}g;
    spit($h->conf_file, $text);
    $h->graceful;
    my $r = stapled('a');
    is(($r->{staple} || {})->{status}, 'good', 'graceful restart: stapled at once');
    is($r->{staple}{produced}, $before->{produced}, '... the response held before');
    ok(wait_until(sub { $relay{new}->count >= 1 }, timeout => 10),
       '... the new children fetched the certificate new to the configuration');
    ok(wait_until(sub { stapled('later')->{staple} }, timeout => 10), '... and staple it');
    is($relay{$_}->count, $count{$_}, "... nothing was fetched again from $_") for sort keys %count;
    is(stapled('file')->{staple}{status}, 'good', '... the response file: read again, stapled');
}

# ---------------------------------------------------------------- tryLater, expiry

{
    my $trylater = qr/\[tls:warn\].*fetching the OCSP response for '\Q${\ subject('st-short')}\E' from \Q${\ $relay{short}->url}\E failed: OCSP responder answered tryLater; stapling the response held until .* GMT; next attempt in \d+ s/;
    ok(wait_until(sub { $relay{short}->count('trylater') >= 1 }, timeout => 45),
       'tryLater: the response (valid for a minute) is fetched again at half its validity');
    ok($h->wait_log($trylater), '... and the responder answered tryLater, said the log');
    my $r = stapled('short');
    is(($r->{staple} || {})->{status}, 'good', 'tryLater: the response held is stapled');
    is($r->{staple}{produced}, $short0->{produced}, '... the one from before');
    my $expiry = x509_time($short0->{next_update});
    ok(wait_until(sub { time > $expiry + 1 }, timeout => $expiry - time + 10), '(its nextUpdate passes)');
    $r = stapled('short');
    ok($r->{ok}, 'its nextUpdate has passed: handshake');
    is($r->{staple}, undef, '... no longer stapled');
    is(status()->{subject('st-short')}{Status}, 'expired', '... mod_status: expired');
    ok(scalar(log_lines($trylater)) <= $relay{short}->count('trylater'), '... one log line per fetch at most');

    my $file_expiry = $fileshort_made + 60;
    ok(wait_until(sub { time > $file_expiry + 2 }, timeout => $file_expiry - time + 10), '(the response file\'s passes too)');
    $r = stapled('fileshort');
    ok($r->{ok}, 'TLSOCSPResponseFile past its nextUpdate: handshake');
    is($r->{staple}, undef, '... not stapled');
}

# ---------------------------------------------------------------- configuration

{
    ok($h->wait_log(qr/fetching the OCSP response for '\Q${\ subject('st-hang')}\E' from \S+ failed: OCSP responder timed out \(no answer before the deadline\)/, timeout => 5),
       'hang: the fetch gave up at its deadline, said the log');
    my $bad = TLSTest::Httpd->new(conf => tls_vhost(extra => "TLSOCSPStapling on\nTLSOCSPStaplingResponder https://ocsp.example.org/"));
    $bad->configtest_refuses('TLSOCSPStaplingResponder https://', qr/TLSOCSPStaplingResponder/, 'TLSOCSPStaplingResponder',
                             qr/not an http:\/\/ URL/);
}

finish();
