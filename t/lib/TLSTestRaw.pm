package TLSTestRaw;
# Raw TLS bytes for tests that play an odd or hostile client: ClientHello
# messages built field by field (so that a test can leave out, lengthen or
# corrupt any of them), records around them, and a reader of what the server
# answers (records, alerts).
#
#   use TLSTestRaw;
#   my $hello = client_hello(sni => 'localhost', tls13 => 1);   # a record
#   my @rec = parse_records($bytes);   # ({type, version, body}, ...)
#   my $alert = first_alert($bytes);   # { level, description } or undef
use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);
use TLSTest ();
use Exporter 'import';

our @EXPORT = qw(
    record handshake_msg client_hello_body client_hello parse_records
    first_alert server_hello_version server_hello_cipher ext raw_clients
    raw_connect is_open
    poke raw_exchange
);

# record(TYPE, BODY, version => 0x0301): one TLS record
sub record {
    my ($type, $body, %o) = @_;
    return pack('C n n', $type, $o{version} // 0x0301, length $body) . $body;
}

# handshake_msg(TYPE, BODY): a handshake message (type, 3-byte length)
sub handshake_msg {
    my ($type, $body) = @_;
    my $len = length $body;
    return pack('C C n', $type, $len >> 16, $len & 0xffff) . $body;
}

# ext(TYPE, DATA): one extension
sub ext { pack('n n', $_[0], length $_[1]) . $_[1] }

sub _vec8  { pack('C', length $_[0]) . $_[0] }
sub _vec16 { pack('n', length $_[0]) . $_[0] }

# client_hello_body(sni => NAME (undef: no SNI), alpn => [PROTOS],
#   tls13 => 1 (supported_versions + a key share), groups => [IDS] (default
#   x25519, secp256r1, secp384r1), version => 0x0303
#   (legacy_version), ciphers => [IDS], extensions => 0 (none at all),
#   extra => [EXT bytes...]): the ClientHello message body
sub client_hello_body {
    my (%o) = @_;
    my @ciphers = @{ $o{ciphers} || [ ($o{tls13} ? (0x1301, 0x1302, 0x1303) : ()),
                                      0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8 ] };
    my $exts = '';
    if ($o{extensions} // 1) {
        $exts .= ext(0, _vec16(pack('C', 0) . _vec16($o{sni}))) if defined $o{sni};
        $exts .= ext(10, _vec16(pack('n*', @{$o{groups} || [0x001d, 0x0017, 0x0018]})));
        $exts .= ext(11, _vec8(pack('C', 0)));                                # point formats
        $exts .= ext(13, _vec16(pack('n*', 0x0403, 0x0804, 0x0401, 0x0807,
                                     0x0503, 0x0805, 0x0501)));              # signatures
        $exts .= ext(16, _vec16(join('', map { _vec8($_) } @{$o{alpn}}))) if $o{alpn};
        $exts .= ext(23, '');                                                 # EMS
        $exts .= ext(0xff01, _vec8(''));                                      # reneg info
        if ($o{tls13}) {
            $exts .= ext(43, _vec8(pack('n*', 0x0304, 0x0303)));              # versions
            $exts .= ext(45, _vec8(pack('C', 1)));                            # psk modes
            # a key share: any 32 bytes are an X25519 public key
            $exts .= ext(51, _vec16(pack('n', 0x001d) . _vec16(_random(32))));
        }
        $exts .= join('', @{$o{extra} || []});
    }
    return pack('n', $o{version} // 0x0303) . _random(32) . _vec8('')
         . _vec16(pack('n*', @ciphers)) . _vec8(pack('C', 0))
         . (($o{extensions} // 1) ? _vec16($exts) : '');
}

# client_hello(%o): a whole ClientHello record (options of client_hello_body,
# plus record_version)
sub client_hello {
    my (%o) = @_;
    return record(22, handshake_msg(1, client_hello_body(%o)),
                  version => $o{record_version} // 0x0301);
}

sub _random { join('', map { chr(int(rand(256))) } 1 .. $_[0]) }

# parse_records(BYTES): the complete records in BYTES, as
# ({ type, version, body }, ...); a truncated tail is left out
sub parse_records {
    my ($bytes) = @_;
    my @r;
    while (length($bytes) >= 5) {
        my ($type, $version, $len) = unpack('C n n', $bytes);
        last if length($bytes) < 5 + $len;
        push @r, { type => $type, version => $version, body => substr($bytes, 5, $len) };
        substr($bytes, 0, 5 + $len) = '';
    }
    return @r;
}

# first_alert(BYTES): the first plaintext alert record the server sent, as
# { level => 1|2, description => N }, or undef
sub first_alert {
    my ($bytes) = @_;
    for my $r (parse_records($bytes)) {
        next unless $r->{type} == 21 && length($r->{body}) == 2;
        my ($level, $desc) = unpack('C C', $r->{body});
        return { level => $level, description => $desc };
    }
    return undef;
}

# server_hello_cipher(BYTES): the cipher suite a ServerHello chose, or undef
sub server_hello_cipher {
    my ($bytes) = @_;
    for my $r (parse_records($bytes)) {
        next unless $r->{type} == 22 && ord($r->{body}) == 2;
        my $b = substr($r->{body}, 4);
        my $sid_len = ord(substr($b, 34, 1));
        return unpack('n', substr($b, 35 + $sid_len, 2));
    }
    return undef;
}

# server_hello_version(BYTES): the version a ServerHello chose (0x0304 for
# TLS 1.3, from supported_versions), or undef when there is none
sub server_hello_version {
    my ($bytes) = @_;
    for my $r (parse_records($bytes)) {
        next unless $r->{type} == 22 && ord($r->{body}) == 2;
        my $b = substr($r->{body}, 4);
        my $version = unpack('n', $b);
        my $sid_len = ord(substr($b, 34, 1));
        my $p = 35 + $sid_len + 3;      # cipher, compression
        return $version if length($b) < $p + 2;
        my $ext = substr($b, $p + 2, unpack('n', substr($b, $p, 2)));
        while (length($ext) >= 4) {
            my ($t, $l) = unpack('n n', $ext);
            return unpack('n', substr($ext, 4, 2)) if $t == 43 && $l == 2;
            substr($ext, 0, 4 + $l) = '';
        }
        return $version;
    }
    return undef;
}

# raw_connect(PORT): a plain TCP connection to 127.0.0.1:PORT
sub raw_connect {
    my ($port) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                     Timeout => 10);
    die "connect to $port: $!" unless $sock;
    return $sock;
}

# is_open(SOCK): whether the server has not closed SOCK (reads what it sent
# meanwhile without waiting)
sub is_open {
    my ($sock) = @_;
    my $sel = IO::Select->new($sock);
    while ($sel->can_read(0)) {
        my $n = sysread($sock, my $buf, 65536);
        return 0 unless $n;
    }
    return 1;
}

# raw_clients(PORT, { name => N, chunks => [[SECONDS, BYTES], ...] }, ...):
# connects every client at once, writes each chunk when its time (seconds
# after connecting) comes, and reads until the server closes each
# connection or 20 s pass. Fills in each client's { cport (its port),
# closed (seconds until the server closed; undef: still open), data (what
# the server sent) } and returns the clients.
sub raw_clients {
    my ($port, @clients) = @_;
    my $sel = IO::Select->new;
    my %by_fd;
    for my $c (@clients) {
        $c->{sock} = raw_connect($port);
        $c->{cport} = $c->{sock}->sockport;
        $c->{t0} = time;
        $c->{data} = '';
        $c->{todo} = [ @{$c->{chunks} || []} ];
        $sel->add($c->{sock});
        $by_fd{fileno $c->{sock}} = $c;
    }
    my $end = time + 20;
    while (time < $end && grep { !defined $_->{closed} } @clients) {
        my $next = $end;
        for my $c (grep { !defined $_->{closed} } @clients) {
            while (@{$c->{todo}} && $c->{t0} + $c->{todo}[0][0] <= time) {
                my $chunk = shift @{$c->{todo}};
                syswrite($c->{sock}, $chunk->[1]);    # may fail once closed
            }
            $next = $c->{t0} + $c->{todo}[0][0]
                if @{$c->{todo}} && $c->{t0} + $c->{todo}[0][0] < $next;
        }
        my $wait = $next - time;
        for my $s ($sel->can_read($wait > 0.005 ? $wait : 0.005)) {
            my $c = $by_fd{fileno $s};
            my $n = sysread($s, my $buf, 65536);
            if ($n) {
                $c->{data} .= $buf;
                next;
            }
            $c->{closed} = time - $c->{t0};
            $sel->remove($s);
        }
    }
    close($_->{sock}) for @clients;
    return @clients;
}

# poke(PORT, [STEP...], priority => P, sni => NAME): runs t/lib/tls-poke.c
# (compiled on first use) against 127.0.0.1:PORT with the test CA. Returns
# { ok => handshake done, version, statuses => [response statuses in order],
#   key_updates => KeyUpdates the server sent, renegotiate => result,
#   alert, error, out }
my $POKE;
sub poke {
    my ($port, $steps, %o) = @_;
    if (!$POKE) {
        $POKE = TLSTest::tmpdir() . '/tls-poke';
        my ($rc, $out) = TLSTest::run_cmd(['sh', '-c', 'cc -Wall -o "$0" "$1" $(pkg-config --cflags --libs gnutls)',
                                           $POKE, TLSTest::top_dir() . '/t/lib/tls-poke.c'], timeout => 120);
        die "cannot build tls-poke: $out" if $rc;
    }
    my ($rc, $out) = TLSTest::run_cmd([$POKE, '-a', TLSTest::pki() . '/ca.crt',
        ($o{priority} ? ('-p', $o{priority}) : ()), (defined $o{sni} ? ('-n', $o{sni}) : ()),
        '127.0.0.1', $port, @$steps], timeout => 30);
    my $r = { out => $out, rc => $rc };
    ($r->{version}) = $out =~ /^HANDSHAKE (\S+)/m;
    $r->{ok} = defined $r->{version};
    $r->{statuses} = [ $out =~ /^RESPONSE (\d+)/mg ];
    ($r->{key_updates}) = $out =~ /^SERVER_KEYUPDATES (\d+)/m;
    ($r->{renegotiate}) = $out =~ /^RENEGOTIATE (.*)$/m;
    ($r->{alert}) = $out =~ /^ALERT (.*)$/m;
    ($r->{error}) = $out =~ /^ERROR (.*)$/m;
    return $r;
}

# raw_exchange(PORT, BYTES, close => 1, until => CODE): connects, sends
# BYTES (closing the write side when asked), reads until the server closes,
# CODE returns true for what was read so far, or 15 s pass.
# Returns { data, closed (seconds; undef: still open), cport }
sub raw_exchange {
    my ($port, $bytes, %o) = @_;
    my $sock = raw_connect($port);
    my $t0 = time;
    syswrite($sock, $bytes) if length $bytes;
    shutdown($sock, 1) if $o{close};
    my $sel = IO::Select->new($sock);
    my $r = { data => '', cport => $sock->sockport };
    while (time - $t0 < 15) {
        last unless $sel->can_read(15 - (time - $t0));
        my $n = sysread($sock, my $buf, 65536);
        if (!$n) {
            $r->{closed} = time - $t0;
            last;
        }
        $r->{data} .= $buf;
        last if $o{until} && $o{until}->($r->{data});
    }
    close($sock);
    return $r;
}

1;
