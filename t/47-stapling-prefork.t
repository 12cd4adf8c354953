# OCSP stapling of mod_tls's own (TLSOCSPStapling) under the prefork MPM,
# with four child processes, each with its fetcher threads, against a real
# responder (openssl ocsp) behind relays that count the queries (the rest
# is t/46-stapling.t, under event):
# - one fetch per certificate for the whole server: the relay sees one
#   query per certificate, while four handshakes at once, so in four
#   children, all carry the response; TLS 1.3 and 1.2, ECDSA and RSA;
# - the fetchers of every child keep looking, and still nothing is fetched
#   again, while a responder that closes the connection is retried;
# - a responder that hangs costs handshakes nothing;
# - mod_status shows the same from any child;
# - a graceful restart: stapled at once, nothing fetched again but the
#   certificate new to the configuration, once.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestCache qw(prefork_children resume_log_conf resume_log);
use TLSTestOCSP;
use Test::More;
use POSIX ();
use IO::Socket::INET;
use Time::HiRes qw(time);

my %relay = map { $_ => TLSTestOCSP::Relay->new } qw(main fail hang new);
sub cert {
    my ($name, %o) = @_;
    pki_cert($name, cn => "$name.localhost", dns => ['localhost'], %o);
}
cert('pf-ecdsa', ocsp => $relay{main}->url);
cert('pf-rsa', type => 'rsa', ocsp => $relay{main}->url);
cert('pf-fail', ocsp => $relay{fail}->url);
cert('pf-hang', ocsp => $relay{hang}->url);
cert('pf-new', ocsp => $relay{new}->url);
cert('pf-later');
my $resp = TLSTestOCSP::Responder->new(ca => 'int', signer => 'ocsp',
                                       good => [qw(pf-ecdsa pf-rsa pf-fail pf-hang pf-new)]);
$relay{$_}->set('pass', to => $resp->port) for qw(main new);
$relay{fail}->set('close', to => $resp->port);
$relay{hang}->set('hang', to => $resp->port);

my $PKI = pki();
my $h = TLSTest::Httpd->new(mpm => 'prefork', listen => 5,
    global => prefork_children(4) . resume_log_conf() . "TLSOCSPStapling on\n",
    conf => tls_vhost(certs => ['pf-ecdsa', 'pf-rsa'])
          . tls_vhost(port => '@PORT2@', certs => ['pf-fail'])
          . tls_vhost(port => '@PORT3@', certs => ['pf-hang'])
          . tls_vhost(port => '@PORT4@', certs => ['pf-later'])
          . vhost(port => '@PORT5@'));
my $started = time;
$h->start;

sub stapled { staple_get(port => $h->port(shift), @_) }

my $r;
ok(wait_until(sub { $r = stapled(0, key => 'ecdsa'); $r->{staple} }, timeout => 15),
   'prefork: a response is stapled soon after the start') or diag($r->{out});
ok(time - $started < 10, sprintf('... within 10 s (%.1f s)', time - $started));
ok(wait_until(sub { stapled(0, key => 'rsa')->{staple} }, timeout => 10), '... for the RSA certificate too');
is($relay{main}->count, 2, 'prefork: one fetch per certificate for four children');

# four handshakes at once: four connections held open together, each past
# its handshake and before its request, so four children hold one each
{
    my $dir = tmpdir();
    my (@kids, @in);
    for my $k (1 .. 4) {
        pipe(my $rd, my $wr) or die "pipe: $!";
        my $pid = fork() // die "fork: $!";
        if (!$pid) {
            close $wr;
            open(STDIN, '<&', $rd) or die;
            open(STDOUT, '>', "$dir/together$k.out") or die;
            open(STDERR, '>&', \*STDOUT) or die;
            exec('openssl', 's_client', '-connect', '127.0.0.1:' . $h->port(0), '-servername', 'localhost',
                 '-CAfile', "$PKI/ca.crt", '-verify_return_error', '-status', '-ign_eof')
                or POSIX::_exit(127);
        }
        close $rd;
        push @kids, $pid;
        push @in, $wr;
    }
    my $shaken = sub { scalar grep { (slurp("$dir/together$_.out") // '') =~ /^Verify return code: 0/m } 1 .. 4 };
    ok(wait_until(sub { $shaken->() == 4 }, timeout => 30), 'four handshakes done, four connections open at once')
        or diag('handshakes done: ' . $shaken->());
    for my $k (1 .. 4) {
        print { $in[$k - 1] } "GET /index.html?together$k HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        close $in[$k - 1];
    }
    my $reaped = wait_until(sub { !grep { waitpid($_, POSIX::WNOHANG()) == 0 } @kids }, timeout => 30);
    kill('KILL', @kids) unless $reaped;
    waitpid($_, 0) for @kids;
    my %pid;
    for my $k (1 .. 4) {
        my $out = slurp("$dir/together$k.out") // '';
        is((staple_info($out) || {})->{status}, 'good', "handshake $k of four at once: stapled, good");
        like($out, qr/^HTTP\/1.1 200/m, "handshake $k of four at once: 200");
        my $row;
        wait_until(sub { ($row) = grep { $_->{uri} eq "/index.html?together$k" } @{resume_log($h)}; $row },
                   timeout => 5);
        $pid{$row->{pid}} = 1 if $row;
    }
    is(scalar(keys %pid), 4, 'the four handshakes were served by four children');
}

for my $v ('1.3', '1.2') {
    for my $key ('ecdsa', 'rsa') {
        $r = stapled(0, version => $v, key => $key);
        is($r->{served}, "pf-$key.localhost", "prefork, TLS $v, $key: the $key certificate");
        is(($r->{staple} || {})->{status}, 'good', "prefork, TLS $v, $key: its response stapled");
        is(lc($r->{staple}{serial} // ''), lc x509_field("$PKI/pf-$key.crt", '-serial'),
           "prefork, TLS $v, $key: ... about it");
    }
}

# a closing responder is retried: the children's fetchers are at work,
# and fetch nothing else again
ok(wait_until(sub { $relay{fail}->count >= 2 }, timeout => 20), 'prefork: a failed fetch is retried');
is($relay{main}->count, 2, '... and meanwhile nothing else was fetched again');
$r = stapled(1);
ok($r->{ok}, '... its certificate serves handshakes');
is($r->{staple}, undef, '... without a staple');
$relay{fail}->set('pass');
ok(wait_until(sub { stapled(1)->{staple} }, timeout => 35), '... until its responder answers');

{
    ok(wait_until(sub { $relay{hang}->count >= 1 }, timeout => 10), 'prefork, hanging responder: a fetch is under way');
    my $slowest = 0;
    for my $i (1 .. 4) {
        $r = stapled(2);
        ok($r->{ok} && !$r->{staple}, "prefork, hanging responder: handshake $i served without a staple");
        $slowest = $r->{elapsed} if $r->{elapsed} > $slowest;
    }
    ok($slowest < 3, sprintf('... at once: the slowest took %.2f s', $slowest));
}

# four status requests on four connections open at once: four children
# answer (the request log names them), and all say the same
{
    my @socks = map {
        IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $h->port(4)) or die "connect: $!"
    } 1 .. 4;
    print {$socks[$_ - 1]} "GET /server-status?auto&c$_ HTTP/1.0\r\nHost: localhost\r\n\r\n" for 1 .. 4;
    my (%seen, %pid);
    for my $k (1 .. 4) {
        my $page = do { local $/; readline($socks[$k - 1]) } // '';
        my $st = staple_status_of($page);
        is(scalar(keys %$st), 5, "mod_status from connection $k: a line for each of the five certificates")
            or diag($page);
        $seen{join ' ', map { "$_=$st->{$_}{Status}" } sort keys %$st} = 1;
        my $row;
        wait_until(sub { ($row) = grep { $_->{uri} eq "/server-status?auto&c$k" } @{resume_log($h)}; $row },
                   timeout => 5);
        $pid{$row->{pid}} = 1 if $row;
    }
    is(scalar(keys %pid), 4, 'mod_status: four children answered');
    is(scalar(keys %seen), 1, 'mod_status: the same from whichever child answers');
    my $st = staple_status($h->port(4));
    is($st->{'CN=pf-ecdsa.localhost,O=mod_tls tests'}{Status}, 'good', 'mod_status: ECDSA good');
    is($st->{'CN=pf-rsa.localhost,O=mod_tls tests'}{Status}, 'good', 'mod_status: RSA good');
    is($st->{'CN=pf-hang.localhost,O=mod_tls tests'}{Status}, 'none', 'mod_status: the hanging one: none');
}

{
    my $before = stapled(0)->{staple} || {};
    my $main = $relay{main}->count;
    my $text = slurp($h->conf_file);
    $text =~ s{\Q$PKI\E/pf-later\.(crt|key)}{$PKI/pf-new.$1}g;
    spit($h->conf_file, $text);
    $h->graceful;
    $r = stapled(0);
    is(($r->{staple} || {})->{status}, 'good', 'prefork, graceful restart: stapled at once');
    is($r->{staple}{produced}, $before->{produced}, '... the response held before');
    ok(wait_until(sub { $relay{new}->count >= 1 }, timeout => 10),
       '... the new children fetched the certificate new to the configuration');
    ok(wait_until(sub { stapled(3)->{staple} }, timeout => 10), '... and staple it');
    is($relay{main}->count, $main, '... nothing else was fetched again');
    is($relay{new}->count, 1, '... and the new one once');
}

finish();
