# TLSSessionTicketKeyFile: servers reading the same 64-byte key file accept
# each other's tickets (TLS 1.3 and 1.2; no session cache is loaded, so only
# tickets resume); a server with another key, or none, makes such a ticket a
# full handshake. Replacing the file and a graceful restart turn old tickets
# into full handshakes, never errors. build/tls-ticket-key makes the file; a
# missing, unreadable, world-readable or wrong-sized file, or the directive
# in a virtual host, stops apache2 -t with file, line, directive and reason.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestCache;
use Test::More;
use File::Copy qw(copy);

my $tmp = tmpdir();

# ---------------------------------------------------------------- build/tls-ticket-key

my $key1 = ticket_key_file("$tmp/key1");
is(-s $key1, 64, 'build/tls-ticket-key writes 64 bytes');
is((stat $key1)[2] & 07777, 0600, 'build/tls-ticket-key: mode 0600');
my $key2 = ticket_key_file("$tmp/key2");
isnt(slurp($key1), slurp($key2), 'build/tls-ticket-key: two runs, two different keys');
my ($rc, $out) = run_cmd([top_dir() . '/build/tls-ticket-key']);
is($rc, 2, 'build/tls-ticket-key without a file name: exit 2');
like($out, qr/usage/i, '... and a usage line');

# ---------------------------------------------------------------- a fleet sharing a key

# live keys of three servers: A and B share key1, C has key2
copy($key1, "$tmp/a.key") or die; chmod 0600, "$tmp/a.key";
copy($key1, "$tmp/b.key") or die; chmod 0600, "$tmp/b.key";
copy($key2, "$tmp/c.key") or die; chmod 0600, "$tmp/c.key";

sub server {
    my ($mpm, $keyfile) = @_;
    return TLSTest::Httpd->new(mpm => $mpm, listen => 2,
        global => ($keyfile ? "TLSSessionTicketKeyFile $keyfile\n" : ''),
        conf => tls_vhost(extra => resume_headers()) . plain_status_conf())->start;
}
my $A = server('event', "$tmp/a.key");
my $B = server('prefork', "$tmp/b.key");
my $C = server('event', "$tmp/c.key");
my $D = server('event', undef);
my ($pa, $pb, $pc, $pd) = map { $_->port } $A, $B, $C, $D;
for my $h ($A, $B, $C, $D) {
    unlike($h->error_log, qr/\[tls:(?:emerg|alert|crit|error)\]/, 'server ' . $h->dir . ' starts cleanly');
}

my %saved;   # TLS version => session file of a ticket from A, saved before any key change
for my $v ('1.3', '1.2') {
    my ($f, $s) = ossl_pair(port => $pa, port2 => $pb, version => $v);
    is($f->{reused}, 0, "TLS $v: full handshake at A");
    ok($f->{sess_saved}, "TLS $v: A's ticket saved");
    is($s->{reused}, 1, "TLS $v: B (same key file) resumes A's ticket") or diag($s->{out});
    is($s->{headers}{'x-r'}, 'Resumed', "TLS $v: B says Resumed");
    is($s->{status}, 200, "TLS $v: B serves the request");

    my ($f2, $s2) = ossl_pair(port => $pb, port2 => $pa, version => $v);
    is($s2->{reused}, 1, "TLS $v: A resumes B's ticket") or diag($s2->{out});
    is($s2->{headers}{'x-r'}, 'Resumed', "TLS $v: A says Resumed");

    # a ticket issued on a resumption at B resumes at A (TLS 1.3 sends one
    # per connection; s_client saves no session of a resumed TLS 1.2 one)
    if ($v eq '1.3') {
        my $file = "$tmp/chain-$v.pem";
        ossl_conn(port => $pa, version => $v, sess_out => $file);
        my $hop = ossl_conn(port => $pb, version => $v, sess_in => $file, sess_out => "$file.2");
        my $back = ossl_conn(port => $pa, version => $v, sess_in => "$file.2");
        is($hop->{reused}, 1, "TLS $v: A's ticket resumed at B");
        is($hop->{tickets}, 1, "TLS $v: B sent a new ticket on the resumption");
        is($back->{reused}, 1, "TLS $v: the ticket B sent on that resumption resumes at A") or diag($back->{out});
    }

    for my $other ([C => $pc, 'another key file'], [D => $pd, 'no key file']) {
        my ($name, $port, $what) = @$other;
        my $r = ossl_conn(port => $port, version => $v, sess_in => $f->{sess_file});
        is($r->{reused}, 0, "TLS $v: $name ($what) does not resume A's ticket") or diag($r->{out});
        is($r->{status}, 200, "TLS $v: $name serves the request with a full handshake");
        is($r->{headers}{'x-r'}, 'Initial', "TLS $v: $name says Initial");
    }

    # keep a ticket of A for after the key change
    $saved{$v} = "$tmp/saved-$v.pem";
    my $keep = ossl_conn(port => $pa, version => $v, sess_out => $saved{$v});
    ok(-s $saved{$v}, "TLS $v: a ticket of A saved for later");
}

# IO::Socket::SSL moving between A and B with one client session (one key for
# both servers in its cache): each connection resumes the previous one's ticket
for my $v ('1.3', '1.2') {
    my $ctx = perl_session_cache(version => $v);
    my @got = map { perl_get(port => $_, cache => $ctx, session_key => 'fleet')->{headers}{'x-r'} // 'none' }
              $pa, $pb, $pa, $pb;
    is("@got", 'Initial Resumed Resumed Resumed', "perl TLS $v: A, B, A, B with one session cache");
}

# ---------------------------------------------------------------- key rotation

my ($mb, $ma) = ($B->log_mark, $A->log_mark);
my $sb0 = status_counters($B);
ticket_key_file("$tmp/b.key");            # B gets a new key ...
isnt(slurp("$tmp/b.key"), slurp($key1), 'B\'s key file replaced');
$B->graceful;                              # ... read at the graceful restart
for my $v ('1.3', '1.2') {
    my $r = ossl_conn(port => $pb, version => $v, sess_in => $saved{$v});
    is($r->{reused}, 0, "new key at B, TLS $v: the old ticket is a full handshake") or diag($r->{out});
    is($r->{status}, 200, "new key at B, TLS $v: ... the request is served");
    is($r->{headers}{'x-r'}, 'Initial', "new key at B, TLS $v: ... Initial");

    my $still = ossl_conn(port => $pa, version => $v, sess_in => $saved{$v});
    is($still->{reused}, 1, "TLS $v: A (old key, no restart) still resumes the old ticket");

    my ($f, $s) = ossl_pair(port => $pb, port2 => $pa, version => $v);
    is($s->{reused}, 0, "TLS $v: a ticket of B's new key is a full handshake at A");
    is($s->{status}, 200, "TLS $v: ... and served");
    my ($f2, $s2) = ossl_pair(port => $pb, version => $v);
    is($s2->{reused}, 1, "TLS $v: B resumes tickets of its new key") or diag($s2->{out});
}
my $sb1 = status_counters($B);
is($sb1->{TLSHandshakesFailed}, $sb0->{TLSHandshakesFailed}, 'key rotation: no failed handshake at B');
unlike($B->log_since($mb), qr/\[tls:(?:emerg|alert|crit|error)\]/, 'key rotation: no error in B\'s log');

# A gets the new key too: the fleet agrees again
copy("$tmp/b.key", "$tmp/a.key") or die;
$A->graceful;
for my $v ('1.3', '1.2') {
    my ($f, $s) = ossl_pair(port => $pb, port2 => $pa, version => $v);
    is($s->{reused}, 1, "TLS $v: after A's graceful with the new key, A resumes B's ticket") or diag($s->{out});
    my $old = ossl_conn(port => $pa, version => $v, sess_in => $saved{$v});
    is($old->{reused}, 0, "TLS $v: ... and A no longer resumes the old ticket");
    is($old->{status}, 200, "TLS $v: ... but serves it");
}
$_->stop for $A, $B, $C, $D;

# ---------------------------------------------------------------- mistakes

spit("$tmp/short.key", 'x' x 32, 0600);
spit("$tmp/long.key", 'x' x 65, 0600);
spit("$tmp/world.key", slurp($key1), 0644);
spit("$tmp/secret.key", slurp($key1), 0000);
spit("$tmp/empty.key", '', 0600);

# [ name, global lines, vhost lines, bad line, reason ]
my @cases = (
    ['missing key file', "TLSSessionTicketKeyFile $tmp/nonexistent.key", '',
     qr/nonexistent\.key/, qr/nonexistent\.key.*(no such|not exist|cannot)/i],
    ['world-readable key file (0644)', "TLSSessionTicketKeyFile $tmp/world.key", '',
     qr/world\.key/, qr/world\.key.*readable by everyone/],
    ['unreadable key file (0000)', "TLSSessionTicketKeyFile $tmp/secret.key", '',
     qr/secret\.key/, qr/secret\.key.*(permission denied|cannot read)/i],
    ['32-byte key file', "TLSSessionTicketKeyFile $tmp/short.key", '',
     qr/short\.key/, qr/short\.key.*holds 32 bytes, a ticket key has 64/],
    ['65-byte key file', "TLSSessionTicketKeyFile $tmp/long.key", '',
     qr/long\.key/, qr/long\.key.*holds 65 bytes, a ticket key has 64/],
    ['empty key file', "TLSSessionTicketKeyFile $tmp/empty.key", '',
     qr/empty\.key/, qr/empty\.key.*holds 0 bytes, a ticket key has 64/],
    ['key file in a virtual host', '', "TLSSessionTicketKeyFile $key1",
     qr/^\s+TLSSessionTicketKeyFile/, qr/not allowed|VirtualHost|server config/i],
);
for my $c (@cases) {
    my ($name, $global, $vlines, $line_re, $reason) = @$c;
    my $h = TLSTest::Httpd->new(global => $global, conf => tls_vhost(extra => $vlines));
    my $out = $h->configtest_refuses($name, $line_re, 'TLSSessionTicketKeyFile', $reason);
    my $bytes = slurp($key1);
    ok(index($h->start_output . $h->error_log . $out, $bytes) < 0, "$name: no key bytes shown");
}

# modes that keep the key from everyone else are fine
for my $mode (0600, 0400, 0640) {
    my $f = sprintf("$tmp/mode-%04o.key", $mode);
    spit($f, slurp($key1), $mode);
    my $h = TLSTest::Httpd->new(global => "TLSSessionTicketKeyFile $f", conf => tls_vhost());
    my ($rc, $out) = $h->configtest;
    is($rc, 0, sprintf('key file with mode %04o: apache2 -t passes', $mode)) or diag($out);
}

finish();
