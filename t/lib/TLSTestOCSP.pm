package TLSTestOCSP;
# OCSP for the client-certificate revocation tests (t/45-client-ocsp.t) and
# the stapling tests (t/46-stapling.t, t/47-stapling-prefork.t): a real
# responder (openssl ocsp) over an index of the test PKI's certificates,
# and an HTTP relay in front of it that counts the queries and can hang,
# close, or answer tryLater (or garbage) instead:
#
#   use TLSTestOCSP;
#   my $relay = TLSTestOCSP::Relay->new;             # its url for certificates
#   my $resp = TLSTestOCSP::Responder->new(ca => 'int', signer => 'ocsp',
#       good => ['alice'], revoked => ['revoked']);  # client-NAME or NAME.crt
#   $relay->set('pass', to => $resp->port);
#   "TLSClientOCSPDefaultResponder " . $relay->url
#   $relay->count;                                   # queries so far
#   $relay->set('hang');                             # or close, trylater, garbage
#
# Both run in processes of their own, stopped by stop(), when the object
# goes away and at exit. The relay is not TLSTestRelay (a TCP relay that
# delays bytes): it reads each HTTP request whole before it decides, so that
# it can count queries and answer them itself.
#
# For stapling, response_file() makes a DER response offline (as the
# responder would answer), and staple_get() runs openssl s_client asking
# for the certificate status, with what it stapled parsed by staple_info().
use strict;
use warnings;
use Scalar::Util ();
use Exporter 'import';

our @EXPORT = qw(response_file staple_get staple_info staple_status staple_status_of);

# ---------------------------------------------------------------- responder

package TLSTestOCSP::Responder;
use POSIX qw(WNOHANG strftime);
use TLSTest::Util qw(tmpdir slurp spit spawn wait_until free_port);
use TLSTest::PKI qw(pki x509_field x509_time);

my @RESPONDERS;
my $N = 0;

# cert_file(NAME): the PKI file of a certificate: client-NAME.crt, else NAME.crt
sub cert_file {
    my ($name) = @_;
    my $pki = pki();
    for my $f ("$pki/client-$name.crt", "$pki/$name.crt") {
        return $f if -s $f;
    }
    die "no certificate $name in $pki";
}

# openssl's index date: YYMMDDHHMMSSZ
sub _index_date { strftime('%y%m%d%H%M%SZ', gmtime($_[0])) }

# _index_line(STATUS, NAME): a line of openssl ca's index.txt for the
# certificate (the first of its file): V for good, R for revoked an hour ago
sub _index_line {
    my ($status, $name) = @_;
    my $file = cert_file($name);
    my $serial = x509_field($file, '-serial');
    my $subject = x509_field($file, '-subject', '-nameopt', 'compat');
    my $expiry = _index_date(x509_time(x509_field($file, '-enddate')));
    my $revoked = $status eq 'R' ? _index_date(time - 3600) : '';
    return join("\t", $status, $expiry, $revoked, $serial, 'unknown', $subject) . "\n";
}

# TLSTestOCSP::Responder->new(ca => NAME, signer => NAME, good => [NAMES],
#     revoked => [NAMES], nmin => MINUTES): openssl ocsp on a free port for
# the certificates CA issued, signing with the signer's certificate and key
# (the CA's own, or a responder it delegated to), its answers valid for nmin
# minutes (default 60; 0: no nextUpdate, "always ask again"). Certificates
# outside good and revoked are unknown to it.
sub new {
    my ($class, %o) = @_;
    my $pki = pki();
    my $dir = tmpdir() . '/ocsp-responder' . ++$N;
    mkdir $dir or die "mkdir $dir: $!";
    spit("$dir/index.txt", join('', (map { _index_line('V', $_) } @{$o{good} || []}),
                                    (map { _index_line('R', $_) } @{$o{revoked} || []})));
    spit("$dir/index.txt.attr", "unique_subject = no\n");
    my $port = free_port();
    my $nmin = $o{nmin} // 60;
    my @argv = ('openssl', 'ocsp', '-index', "$dir/index.txt", '-port', $port,
                '-CA', cert_file($o{ca}), '-rsigner', cert_file($o{signer}),
                '-rkey', "$pki/$o{signer}.key", ($nmin ? ('-nmin', $nmin) : ()),
                '-ignore_err', '-timeout', 5);
    my $log = "$dir/responder.log";
    my $pid = spawn($log, {}, @argv);
    my $self = bless { port => $port, pid => $pid, dir => $dir, log => $log,
                       owner => $$, argv => \@argv }, $class;
    push @RESPONDERS, $self;
    Scalar::Util::weaken($RESPONDERS[-1]);
    # openssl ocsp serves one connection at a time: a probe of our own
    # would hold it up; it says when it listens
    my $ready = wait_until(sub {
        return -1 if waitpid($pid, WNOHANG) == $pid;
        return (slurp($log) // '') =~ /waiting for OCSP client connections/;
    }, timeout => 20);
    if (!$ready || $ready == -1) {
        my $text = slurp($log) // '';
        $self->{pid} = undef if $ready;
        $self->stop;
        die "openssl ocsp (@argv) did not come up:\n$text\n";
    }
    return $self;
}

sub port { $_[0]{port} }
sub url  { "http://127.0.0.1:$_[0]{port}/" }
sub log  { slurp($_[0]{log}) // '' }

sub stop {
    my ($self) = @_;
    my $pid = $self->{pid};
    return unless $pid && $self->{owner} == $$;
    kill('TERM', $pid);
    if (!wait_until(sub { waitpid($pid, WNOHANG) == $pid }, timeout => 10)) {
        kill('KILL', $pid);
        waitpid($pid, 0);
    }
    $self->{pid} = undef;
}

sub DESTROY { local ($?, $!, $@); $_[0]->stop }

END { local $?; $_->stop for grep { defined } @RESPONDERS }

# ---------------------------------------------------------------- stapling

package TLSTestOCSP;
use TLSTest::Util qw(tmpdir run_cmd spit);
use TLSTest::PKI qw(pki);
use TLSTest::Clients qw(s_client);
use TLSTest::HTTP qw(http_request plain_get);
use Time::HiRes ();

my $F = 0;

# response_file(FILE, ca => NAME, signer => NAME, cert => NAME, status =>
# 'good'|'revoked', nmin => MINUTES): writes FILE, the DER response
# `openssl ocsp` gives as the responder of CA (signing with the signer's
# key) about the certificate (NAME as for Responder: client-NAME.crt or
# NAME.crt), valid for nmin minutes (default 60); made offline, without a
# nonce. Returns FILE.
sub response_file {
    my ($file, %o) = @_;
    my $pki = pki();
    my $dir = tmpdir() . '/ocsp-file' . ++$F;
    mkdir $dir or die "mkdir $dir: $!";
    my $cert = TLSTestOCSP::Responder::cert_file($o{cert});
    spit("$dir/index.txt", TLSTestOCSP::Responder::_index_line(
        ($o{status} // 'good') eq 'revoked' ? 'R' : 'V', $o{cert}));
    spit("$dir/index.txt.attr", "unique_subject = no\n");
    my ($rc, $out) = run_cmd(['openssl', 'ocsp', '-issuer', TLSTestOCSP::Responder::cert_file($o{ca}),
                              '-cert', $cert, '-no_nonce', '-reqout', "$dir/req.der"]);
    die "openssl ocsp -reqout: $out" if $rc;
    ($rc, $out) = run_cmd(['openssl', 'ocsp', '-index', "$dir/index.txt", '-CA',
                           TLSTestOCSP::Responder::cert_file($o{ca}),
                           '-rsigner', TLSTestOCSP::Responder::cert_file($o{signer}),
                           '-rkey', "$pki/$o{signer}.key", '-nmin', $o{nmin} // 60,
                           '-reqin', "$dir/req.der", '-respout', $file]);
    die "openssl ocsp -respout: $out" if $rc || !-s $file;
    return $file;
}

# staple_info(TEXT): what openssl s_client -status printed of the stapled
# response: { status ('good', 'revoked'...), response_status ('successful'),
# serial, responder, produced, this_update, next_update }, or undef when
# the server sent none
sub staple_info {
    my ($out) = @_;
    return undef if ($out // '') !~ /^OCSP response:\s*\n=+\n/m;
    my %s;
    ($s{response_status}) = $out =~ /OCSP Response Status: (\w+)/;
    ($s{status}) = $out =~ /^\s*Cert Status: (\S+)/m;
    ($s{serial}) = $out =~ /^\s*Serial Number: (\S+)/m;
    ($s{responder}) = $out =~ /^\s*Responder Id: (.*?)\s*$/m;
    ($s{produced}) = $out =~ /^\s*Produced At: (.*?)\s*$/m;
    ($s{this_update}) = $out =~ /^\s*This Update: (.*?)\s*$/m;
    ($s{next_update}) = $out =~ /^\s*Next Update: (.*?)\s*$/m;
    return \%s;
}

# staple_get(port => P, version => V, key => 'ecdsa'|'rsa', sni => NAME,
# args => [...]): openssl s_client asking for the certificate status (made
# to take the ECDSA or the RSA certificate when key is given), verifying
# against the test CA, one GET; s_client's result plus { staple
# (staple_info), served (the CN of the certificate served), elapsed
# (seconds) }
sub staple_get {
    my (%o) = @_;
    my @sigalgs = !$o{key} ? ()
                : $o{key} eq 'rsa' ? ('-sigalgs', 'rsa_pss_rsae_sha256:RSA+SHA256')
                : ('-sigalgs', 'ECDSA+SHA256');
    my $t0 = Time::HiRes::time();
    my $r = s_client(port => $o{port}, version => $o{version}, strict => 1,
                     (defined $o{sni} ? (sni => $o{sni}) : ()),
                     args => ['-status', @sigalgs, @{$o{args} || []}]);
    $r->{elapsed} = Time::HiRes::time() - $t0;
    $r->{staple} = staple_info($r->{out});
    # (the response's certificates come first in the output)
    ($r->{served}) = $r->{out} =~ /^Certificate chain\n 0 s:.*?\bCN\s*=\s*([^,\s]+)/m;
    return $r;
}

# staple_status(PORT): mod_tls's stapling lines of server-status?auto,
# read over the plain-HTTP port PORT, by certificate subject:
# { SUBJECT => { Source, Status, NextUpdate, LastFetch } }
sub staple_status {
    my ($port) = @_;
    return staple_status_of(plain_get($port, path => '/server-status?auto')->{body});
}

# staple_status_of(BODY): the same, from a server-status?auto page
sub staple_status_of {
    my ($body) = @_;
    my (%n, %by);
    while (($body // '') =~ /^TLSOCSPStapling(\d+)(\w+): (.*?)\r?$/mg) {
        $n{$1}{$2} = $3;
    }
    $by{$_->{Certificate} // '?'} = $_ for values %n;
    return \%by;
}

# ---------------------------------------------------------------- relay

package TLSTestOCSP::Relay;
use IO::Select;
use IO::Socket::INET;
use POSIX qw(WNOHANG _exit);
use Time::HiRes qw(time);
use TLSTest::Util qw(tmpdir slurp spit wait_until);

my @RELAYS;
my $R = 0;

# what a responder says when it is too busy (RFC 6960: responseStatus 3, no
# responseBytes)
my $TRY_LATER = "\x30\x03\x0a\x01\x03";

# TLSTestOCSP::Relay->new(to => PORT, mode => MODE): an HTTP relay on a free
# port of 127.0.0.1. Each request is read whole, counted, and then, as the
# mode says (see set), passed on to the responder on PORT, or answered by
# the relay itself. Each connection gets a process of its own.
sub new {
    my ($class, %o) = @_;
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                       Listen => 64, ReuseAddr => 1)
        or die "ocsp relay: cannot listen: $!";
    my $n = ++$R;
    my $self = bless { port => $listen->sockport, owner => $$,
                       ctl => tmpdir() . "/ocsp-relay$n.ctl",
                       count => tmpdir() . "/ocsp-relay$n.count" }, $class;
    spit($self->{count}, '');
    $self->set($o{mode} // 'pass', to => $o{to});
    my $pid = fork() // die "ocsp relay: fork: $!";
    if (!$pid) {
        # stop() ends the relay and its connections' processes as a group
        setpgrp(0, 0);
        $SIG{CHLD} = 'IGNORE';
        while (1) {
            my $client = $listen->accept or next;
            my $kid = fork();
            if (defined $kid && !$kid) {
                close($listen);
                eval { $self->_serve($client) };
                _exit(0);
            }
            close($client);
        }
    }
    close($listen);
    $self->{pid} = $pid;
    push @RELAYS, $self;
    Scalar::Util::weaken($RELAYS[-1]);
    return $self;
}

sub port { $_[0]{port} }
# url(): what a certificate or TLSClientOCSPDefaultResponder names
sub url  { "http://127.0.0.1:$_[0]{port}/" }

# set(MODE, to => PORT): how the next requests are handled:
#   pass      passed on to the responder on PORT (the last one given)
#   noclen    the same, with the answer's Content-Length taken out: its
#             body ends when the connection does
#   hang      never answered: the connection stays open until the client
#             gives up (or two minutes pass)
#   close     the connection is closed without an answer
#   trylater  an OCSP response with status tryLater
#   garbage   200 with a body that is no OCSP response
sub set {
    my ($self, $mode, %o) = @_;
    die "ocsp relay: unknown mode $mode" unless $mode =~ /^(pass|noclen|hang|close|trylater|garbage)$/;
    $self->{to} = $o{to} if defined $o{to};
    spit("$self->{ctl}.tmp", "$mode " . ($self->{to} // 0) . "\n");
    rename("$self->{ctl}.tmp", $self->{ctl}) or die "rename: $!";
    return $self;
}

# count(MODE): how many requests the relay has received (whatever it did),
# or of those only the ones it handled in MODE
sub count {
    my ($self, $mode) = @_;
    my @lines = split /\n/, slurp($self->{count}) // '';
    @lines = grep { $_ eq $mode } @lines if defined $mode;
    return scalar @lines;
}

# _read_request(SOCKET): the whole HTTP request (header and Content-Length
# body), or undef when the client stops sending for 30 seconds or closes
sub _read_request {
    my ($s) = @_;
    my $sel = IO::Select->new($s);
    my $buf = '';
    my $deadline = time + 30;
    while (time < $deadline) {
        if ($buf =~ /\r?\n\r?\n/) {
            my $head_len = $+[0];
            my ($len) = substr($buf, 0, $head_len) =~ /^Content-Length:\s*(\d+)/mi;
            return $buf if length($buf) >= $head_len + ($len // 0);
        }
        $sel->can_read($deadline - time) or return undef;
        sysread($s, $buf, 65536, length $buf) or return undef;
    }
    return undef;
}

sub _serve {
    my ($self, $client) = @_;
    my $req = _read_request($client) // return;
    my ($mode, $to) = split ' ', slurp($self->{ctl}) // 'close 0';
    # one line per request, appended at once
    open(my $fh, '>>', $self->{count}) or return;
    syswrite($fh, "$mode\n");
    close($fh);
    if ($mode eq 'hang') {
        IO::Select->new($client)->can_read(120);
    } elsif ($mode eq 'trylater') {
        syswrite($client, "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\n"
                 . "Content-Length: " . length($TRY_LATER) . "\r\n\r\n$TRY_LATER");
    } elsif ($mode eq 'garbage') {
        syswrite($client, "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\n"
                 . "Content-Length: 12\r\n\r\nno response\n");
    } elsif (($mode eq 'pass' || $mode eq 'noclen') && $to) {
        my $server = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $to,
                                           Timeout => 10) or return;
        syswrite($server, $req);
        my $sel = IO::Select->new($server);
        my $deadline = time + 30;
        my $resp = '';
        while (time < $deadline && $sel->can_read($deadline - time)) {
            my $n = sysread($server, $resp, 65536, length $resp);
            last unless $n;
        }
        $resp =~ s/^Content-Length:[^\n]*\n//mi if $mode eq 'noclen';
        syswrite($client, $resp);
    }
    close($client);
}

sub stop {
    my ($self) = @_;
    my $pid = $self->{pid};
    return unless $pid && $self->{owner} == $$;
    kill('TERM', -$pid);
    if (!wait_until(sub { waitpid($pid, WNOHANG) == $pid }, timeout => 10)) {
        kill('KILL', -$pid);
        waitpid($pid, 0);
    }
    $self->{pid} = undef;
}

sub DESTROY { local ($?, $!, $@); $_[0]->stop }

END { local $?; $_->stop for grep { defined } @RELAYS }

1;
