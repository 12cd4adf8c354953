package TLSTestCache;
# Helpers of the session resumption tests (t/3*.t), over TLSTest:
#
#   use TLSTest;
#   use TLSTestCache;
#   my $mc = TLSTestCache::Service->memcached;     # a real memcached, stopped at exit
#   my $h = TLSTest::Httpd->new(listen => 2, global => socache_load('memcache')
#       . resume_log_conf() . "TLSSessionCache " . $mc->spec . "\n",
#       conf => tls_vhost(extra => resume_headers() . "TLSSessionTickets off"));
#   my $g = gnutls_resume(port => $h->port, version => '1.2');
#   ok($g->{resumed});                             # "This is a resumed session"
#   my ($first, $second) = ossl_pair(port => $h->port, version => '1.3');
#   is($second->{reused}, 1);                      # "Reused," from s_client
#   my $c = status_counters($h);                   # TLS* of ?auto, over plain HTTP
#
# The virtual hosts add resume_headers(): every response carries X-R (the
# request's SSL_SESSION_RESUMED) and X-SID (SSL_SESSION_ID); resume_log_conf()
# writes "PID RESUMED PROTOCOL URI" per request to logs/resume.log.
use strict;
use warnings;
use Test::More;
use IO::Socket::SSL;
use Time::HiRes qw(time);
use TLSTest;
use Exporter 'import';

our @EXPORT = qw(
    socache_load resume_headers resume_log_conf resume_log plain_status_conf
    gnutls_resume ossl_conn ossl_pair status_counters status_get wait_past
    ticket_key_file perl_session_cache perl_get fleet_cache_tests
    prefork_children
);

# prefork_children(N): a prefork server that keeps N children, so that
# connections land on different processes
sub prefork_children {
    my ($n) = @_;
    my $max = 2 * $n;
    return "StartServers $n\nMinSpareServers $n\nMaxSpareServers $max\n"
         . "ServerLimit $max\nMaxRequestWorkers $max\n";
}

# socache_load(NAMES...): LoadModule lines for mod_socache_NAME (shmcb,
# memcache, redis, dbm) from Debian's module directory
sub socache_load {
    return join('', map { "LoadModule socache_${_}_module $TLSTest::Httpd::MODDIR/mod_socache_$_.so\n" } @_);
}

# resume_headers(): vhost lines that report the session state per response
sub resume_headers {
    return qq{Header always set X-R "%{SSL_SESSION_RESUMED}s"\n}
         . qq{Header always set X-SID "%{SSL_SESSION_ID}s"\n}
         . qq{Header always set X-Proto "%{SSL_PROTOCOL}s"\n};
}

# resume_log_conf(): a CustomLog (server config) with the child's pid, the
# session state, the protocol and the URI with query string of each request
sub resume_log_conf {
    return qq{LogFormat "%P %{SSL_SESSION_RESUMED}x %{SSL_PROTOCOL}x %U%q" tlsresume\n}
         . qq{CustomLog \@DIR\@/logs/resume.log tlsresume\n};
}

# resume_log(HTTPD): the lines of logs/resume.log as [{pid, resumed, proto, uri}]
sub resume_log {
    my ($h) = @_;
    my @rows;
    for (split /\n/, slurp($h->log_file('resume.log')) // '') {
        my ($pid, $resumed, $proto, $uri) = split ' ', $_, 4;
        push @rows, { pid => $pid, resumed => $resumed, proto => $proto, uri => $uri };
    }
    return \@rows;
}

# plain_status_conf(): a plain-HTTP virtual host on @PORT2@, so that the
# status counters can be read without a TLS handshake of the test's own
# (the server must be made with listen => 2)
sub plain_status_conf { vhost(port => '@PORT2@') }

# status_get(HTTPD, auto => 1): the server-status page over plain HTTP on the
# server's second port: { status, body }
sub status_get {
    my ($h, %o) = @_;
    return plain_get($h->port(1), path => '/server-status' . ($o{auto} ? '?auto' : ''));
}

# status_counters(HTTPD): the TLS* lines of server-status?auto as a hash
sub status_counters {
    my ($h) = @_;
    my $r = status_get($h, auto => 1);
    my %c;
    while ($r->{body} =~ /^(TLS\w+): (\d+)\r?$/mg) {
        $c{$1} = $2;
    }
    return \%c;
}

# wait_past(T): returns once time() is past T, polling the clock (for the
# expiry of a cache entry; there is nothing else to wait for)
sub wait_past {
    my ($t) = @_;
    wait_until(sub { time() > $t }, timeout => $t - time() + 5);
    return time();
}

# ticket_key_file(PATH): a 64-byte ticket key made with build/tls-ticket-key
sub ticket_key_file {
    my ($path) = @_;
    my ($rc, $out) = run_cmd([top_dir() . '/build/tls-ticket-key', $path]);
    die "build/tls-ticket-key $path failed ($rc): $out" if $rc || !-f $path;
    return $path;
}

# gnutls_resume(port => P, version => '1.2'|'1.3', priority => STRING,
#               noticket => 1, wait => 1, path => '/'):
# gnutls-cli --resume: a handshake, a disconnect, a resumption attempt, then
# one request on the second connection. Returns { out, rc, handshakes (count
# of completed handshakes), resumed (1: "This is a resumed session", 0: "This
# is NOT a resumed session", undef: neither), status, headers, body }
sub gnutls_resume {
    my (%o) = @_;
    my @args = ('--resume');
    push @args, '--noticket' if $o{noticket};
    push @args, '--waitresumption' if $o{wait};
    return gnutls_cli(port => $o{port}, version => $o{version}, priority => $o{priority},
                      path => $o{path} || '/', args => \@args);
}

# ossl_conn(port => P, version => V, sess_out => FILE, sess_in => FILE,
#           path => '/', args => [...]): one openssl s_client GET (request
# piped, -ign_eof, so the TLS 1.3 ticket arrives before the close), saving or
# offering a session. Returns s_client's result: reused (1 for "Reused,", 0
# for "New,", undef when no handshake), proto, tickets (TLS 1.3 tickets
# received), lifetime_hint (of the first ticket, or undef), the response...
sub ossl_conn {
    my (%o) = @_;
    my @args = @{$o{args} || []};
    push @args, '-sess_out', $o{sess_out} if $o{sess_out};
    push @args, '-sess_in', $o{sess_in} if $o{sess_in};
    return s_client(port => $o{port}, version => $o{version}, path => $o{path} || '/',
                    args => \@args);
}

my $SESS_N = 0;
# ossl_pair(port => P, version => V, port2 => P2, path => '/'): a full
# handshake that saves its session, then a connection (to port2 when given)
# that offers it. Returns (first, second) as ossl_conn's results.
sub ossl_pair {
    my (%o) = @_;
    my $file = tmpdir() . '/sess-' . $$ . '-' . ++$SESS_N . '.pem';
    unlink $file;
    my $first = ossl_conn(port => $o{port}, version => $o{version}, path => $o{path},
                          sess_out => $file, args => $o{args});
    $first->{sess_file} = $file;
    $first->{sess_saved} = -s $file ? 1 : 0;
    # (a TLS 1.3 session is saved when a ticket arrives: none, nothing to offer)
    my $second = $first->{sess_saved}
        ? ossl_conn(port => $o{port2} || $o{port}, version => $o{version},
                    path => $o{path}, sess_in => $file, args => $o{args})
        : { out => "no session saved by the first connection\n" };
    return ($first, $second);
}

# perl_session_cache(version => '1.2'|'1.3'): an IO::Socket::SSL client
# context with a session cache, for perl_get. (The context must outlive the
# connections: when IO::Socket::SSL frees a context, it drops its sessions
# from the cache, so every connection of a test shares this one.)
sub perl_session_cache {
    my (%o) = @_;
    my $ctx = IO::Socket::SSL::SSL_Context->new(perl_ssl_args($o{version}),
                                                SSL_session_cache_size => 16)
        or die "IO::Socket::SSL context: $SSL_ERROR";
    return $ctx;
}

# perl_get(port => P, cache => CONTEXT, path => '/', keep => 1, session_key =>
# KEY): a GET over IO::Socket::SSL with the context of perl_session_cache,
# which offers the session of the context's last connection to the same port
# (or under the same KEY) and keeps the new one. Returns
# { sock (still open with keep, for a later request), status, headers, body,
# reused (the client's own view: SSL_session_reused), error }
sub perl_get {
    my (%o) = @_;
    my $s = tls_connect(port => $o{port}, SSL_reuse_ctx => $o{cache},
                        SSL_session_key => $o{session_key} // "tls-resume-test:$o{port}")
        or return { error => "connect: $SSL_ERROR" };
    my $reused = $s->get_session_reused ? 1 : 0;
    print $s http_request(path => $o{path} || '/', close => !$o{keep});
    my $resp = eval { read_response($s) } || { error => "response: $@" };
    $resp->{reused} = $reused;
    if ($o{keep}) { $resp->{sock} = $s } else { close($s) }
    return $resp;
}

# ====================================================================== fleets

# fleet_cache_tests(KIND): the tests of t/33 (memcached) and t/34 (redis):
# two httpd instances with tickets off share one real KIND daemon as their
# TLSSessionCache; a TLS 1.2 session made at one resumes at the other (both
# ways), a server with its own shmcb cache does not resume it; with the
# daemon stopped, handshakes are full and requests served, with a log line.
sub fleet_cache_tests {
    my ($kind) = @_;
    plan skip_all => "$kind not installed (build/deps --test installs it)"
        unless TLSTestCache::Service->available($kind);
    my $svc = TLSTestCache::Service->$kind;
    my $provider = $kind eq 'memcached' ? 'memcache' : 'redis';
    my $global = socache_load($provider) . resume_log_conf()
               . 'TLSSessionCache ' . $svc->spec . "
";
    my $vhost = tls_vhost(extra => resume_headers() . 'TLSSessionTickets off')
              . plain_status_conf();
    my $a = TLSTest::Httpd->new(mpm => 'event', listen => 2, global => $global, conf => $vhost);
    my $b = TLSTest::Httpd->new(mpm => 'prefork', listen => 2, global => $global, conf => $vhost);
    my $c = TLSTest::Httpd->new(mpm => 'event', listen => 2,
                                global => socache_load('shmcb'), conf => $vhost);
    $_->start for $a, $b, $c;
    my ($pa, $pb, $pc) = map { $_->port } $a, $b, $c;

    my $items0 = $svc->item_count;
    ok(defined $items0, "$kind answers the item count ($items0)");
    my ($sa0, $sb0) = map { status_counters($_) } $a, $b;

    # A -> B
    my ($first, $second) = ossl_pair(port => $pa, port2 => $pb, version => '1.2');
    is($first->{reused}, 0, "$kind: full handshake at server A");
    is($first->{lifetime_hint}, undef, "$kind: no ticket (tickets off): only the cache can resume");
    cmp_ok($svc->item_count, '>', $items0, "$kind: the session was stored in $kind");
    is($second->{reused}, 1, "$kind: server B resumes the session made at A") or diag($second->{out});
    is($second->{status}, 200, "$kind: B serves the resumed connection");
    is($second->{headers}{'x-r'}, 'Resumed', "$kind: B says SSL_SESSION_RESUMED=Resumed");
    is($second->{headers}{'x-sid'}, $first->{headers}{'x-sid'}, "$kind: with A's session id");
    my ($sa1, $sb1) = map { status_counters($_) } $a, $b;
    cmp_ok($sa1->{TLSSessionCacheStores}, '>', $sa0->{TLSSessionCacheStores}, "$kind: A counted a cache store");
    is($sb1->{TLSSessionCacheHits} - $sb0->{TLSSessionCacheHits}, 1, "$kind: B counted one cache hit");
    is($sb1->{TLSHandshakesResumed} - $sb0->{TLSHandshakesResumed}, 1, "$kind: B counted one resumed handshake");

    # B -> A, several times (B is prefork: any of its children stores)
    for my $i (1 .. 3) {
        my ($f, $s) = ossl_pair(port => $pb, port2 => $pa, version => '1.2');
        is($s->{reused}, 1, "$kind: round $i: server A resumes a session made at B") or diag($s->{out});
        is($s->{headers}{'x-r'}, 'Resumed', "$kind: round $i: A says Resumed");
    }
    # with gnutls-cli: session ids only, both connections at A
    my $g = gnutls_resume(port => $pa, version => '1.2', noticket => 1);
    is($g->{resumed}, 1, "$kind: gnutls-cli --noticket resumes at A") or diag($g->{out});

    # control: a server with its own cache does not know the session
    my ($f3, $s3) = ossl_pair(port => $pa, port2 => $pc, version => '1.2');
    is($s3->{reused}, 0, "$kind: a server with its own shmcb cache does not resume A's session");
    is($s3->{status}, 200, "$kind: ... and serves the request");

    # a session saved now, offered after the cache server went away
    my $saved = tmpdir() . "/fleet-$kind-saved.pem";
    my $before = ossl_conn(port => $pa, version => '1.2', sess_out => $saved);
    is($before->{reused}, 0, "$kind: a session saved before the outage");

    # the cache server goes away
    my ($ma, $mb) = map { $_->log_mark } $a, $b;
    $svc->stop;
    ok(!$svc->ping, "$kind stopped");
    my ($da0, $db0) = map { status_counters($_) } $a, $b;
    my $lost = ossl_conn(port => $pb, version => '1.2', sess_in => $saved);
    is($lost->{reused}, 0, "$kind down: the saved session is a full handshake at B") or diag($lost->{out});
    is($lost->{status}, 200, "$kind down: ... and B serves the request");
    is($lost->{headers}{'x-r'}, 'Initial', "$kind down: ... SSL_SESSION_RESUMED=Initial");
    my ($df, $ds) = ossl_pair(port => $pa, port2 => $pb, version => '1.2');
    is($df->{status}, 200, "$kind down: A serves a new connection");
    is($df->{headers}{'x-r'}, 'Initial', "$kind down: ... Initial");
    is($ds->{reused}, 0, "$kind down: B cannot resume A's new session") or diag($ds->{out});
    is($ds->{status}, 200, "$kind down: ... and serves the request");
    my $gd = gnutls_resume(port => $pa, version => '1.2', noticket => 1);
    is($gd->{handshakes}, 2, "$kind down: gnutls-cli, both handshakes complete") or diag($gd->{out});
    is($gd->{resumed}, 0, "$kind down: ... the second is not resumed");
    is($gd->{status}, 200, "$kind down: ... request served");
    for my $v ('1.3', '1.2') {
        my $r = tls_get(client => 'curl', port => $pb, version => $v);
        is($r->{status}, 200, "$kind down: curl TLS $v at B: 200");
    }
    my ($da1, $db1) = map { status_counters($_) } $a, $b;
    is($da1->{TLSHandshakesFailed}, $da0->{TLSHandshakesFailed}, "$kind down: no failed handshake at A");
    is($db1->{TLSHandshakesFailed}, $db0->{TLSHandshakesFailed}, "$kind down: no failed handshake at B");
    cmp_ok($db1->{TLSHandshakesFull} - $db0->{TLSHandshakesFull}, '>=', 4, "$kind down: B counted full handshakes");
    my $failre = qr/\[(?:tls|socache_\w+):\w+\].*(?:cache.*fail|fail.*cache|$provider.*(?:error|fail|unable|refused))/i;
    my $la = $a->wait_log($failre, since => $ma);
    my $lb = $b->wait_log($failre, since => $mb);
    ok($la, "$kind down: A logs the cache failure") or diag($a->log_since($ma));
    ok($lb, "$kind down: B logs the cache failure") or diag($b->log_since($mb));
    note("A: $la
B: $lb");
    # (the socache providers log their own failures at error or crit)
    unlike($a->log_since($ma) . $b->log_since($mb), qr/\[tls:(?:emerg|alert|crit|error|warn)\]/,
           "$kind down: mod_tls logs the failure below warn");
}

# ====================================================================== services

package TLSTestCache::Service;
# A real memcached or redis-server on 127.0.0.1, on a free port, for this test
# file: started by memcached() / redis(), ready when they return (the daemon
# answered), stopped by stop(), when the object goes away, and at exit.
use strict;
use warnings;
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Scalar::Util ();
use Time::HiRes qw(time);
use TLSTest::Util qw(free_port tmpdir slurp spawn wait_until listening);

my %BIN = (memcached => '/usr/bin/memcached', redis => '/usr/bin/redis-server');
my @ALL;

sub memcached { $_[0]->_start('memcached') }
sub redis     { $_[0]->_start('redis') }

sub available { -x $BIN{$_[1]} }

sub _start {
    my ($class, $kind) = @_;
    die "$BIN{$kind} not installed (build/deps --test installs it)" unless -x $BIN{$kind};
    my $port = free_port();
    my $dir  = tmpdir() . "/$kind-$port";
    mkdir $dir or die "mkdir $dir: $!";
    my @argv = $kind eq 'memcached'
        ? ($BIN{$kind}, '-l', '127.0.0.1', '-p', $port, '-U', '0', '-m', '16',
           ($> == 0 ? ('-u', 'tlstest') : ()))
        : ($BIN{$kind}, '--port', $port, '--bind', '127.0.0.1', '--save', '',
           '--appendonly', 'no', '--daemonize', 'no', '--dir', $dir,
           '--protected-mode', 'yes');
    my $log = "$dir/$kind.log";
    my $pid = spawn($log, {}, @argv);
    my $self = bless { kind => $kind, port => $port, pid => $pid, log => $log,
                       owner => $$, argv => \@argv }, $class;
    push @ALL, $self;
    Scalar::Util::weaken($ALL[-1]);
    my $ready = wait_until(sub {
        return 1 if $self->ping;
        if (waitpid($pid, WNOHANG) == $pid) { $self->{pid} = undef; return -1 }
        return 0;
    }, timeout => 20);
    if (!$ready || $ready == -1 || !$self->{pid}) {
        my $text = slurp($log) // '';
        $self->stop;
        die "$kind (@argv) did not come up:\n$text\n";
    }
    return $self;
}

sub kind { $_[0]{kind} }
sub port { $_[0]{port} }
sub pid  { $_[0]{pid} }
sub log  { slurp($_[0]{log}) // '' }

# spec(): the TLSSessionCache argument for this service
sub spec {
    my ($self) = @_;
    return ($self->{kind} eq 'memcached' ? 'memcache' : 'redis') . ":127.0.0.1:$self->{port}";
}

# command(TEXT): one request line, the reply up to its end (memcached: "END"
# or a single line; redis: one RESP reply); undef when nobody answers
sub command {
    my ($self, $cmd) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{port},
                                  Timeout => 2) or return undef;
    print $s "$cmd\r\n";
    my $reply = '';
    my $deadline = time + 5;
    while (time < $deadline) {
        my $rin = '';
        vec($rin, fileno($s), 1) = 1;
        last unless select(my $rout = $rin, undef, undef, 0.5);
        my $n = sysread($s, my $chunk, 65536);
        last unless $n;
        $reply .= $chunk;
        last if $self->{kind} eq 'memcached' && $reply =~ /^(?:END|ERROR|VERSION [^\r\n]*|[^\r\n]*ERROR[^\r\n]*)\r\n\z/m;
        last if $self->{kind} eq 'redis' && $reply =~ /\A[+\-:][^\r\n]*\r\n\z/;
        last if $self->{kind} eq 'redis' && $reply =~ /\A\$(-?\d+)\r\n/ && ($1 < 0 || length($reply) >= length("\$$1\r\n") + $1 + 2);
    }
    close($s);
    return length $reply ? $reply : undef;
}

# ping(): true when the daemon answers
sub ping {
    my ($self) = @_;
    my $r = $self->command($self->{kind} eq 'memcached' ? 'version' : 'PING');
    return 0 unless defined $r;
    return $self->{kind} eq 'memcached' ? $r =~ /^VERSION /m : $r =~ /^\+PONG/;
}

# item_count(): entries stored right now (memcached curr_items, redis DBSIZE)
sub item_count {
    my ($self) = @_;
    if ($self->{kind} eq 'memcached') {
        my $r = $self->command('stats') // return undef;
        return $r =~ /^STAT curr_items (\d+)/m ? $1 : undef;
    }
    my $r = $self->command('DBSIZE') // return undef;
    return $r =~ /^:(\d+)/ ? $1 : undef;
}

sub running { my $p = $_[0]{pid}; return $p && kill(0, $p) && waitpid($p, WNOHANG) != $p }

# stop(): ends the daemon and waits until it is gone and its port closed
sub stop {
    my ($self) = @_;
    my $pid = $self->{pid};
    return unless $pid && $self->{owner} == $$;
    kill('TERM', $pid);
    my $gone = wait_until(sub { waitpid($pid, WNOHANG) == $pid || !kill(0, $pid) },
                                   timeout => 10);
    if (!$gone) {
        kill('KILL', $pid);
        waitpid($pid, 0);
    }
    $self->{pid} = undef;
    wait_until(sub { !listening($self->{port}) }, timeout => 10);
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $!, $@);
    $self->stop;
}

END {
    local $?;
    $_->stop for grep { defined } @ALL;
}

1;
