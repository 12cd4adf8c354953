package TLSTest;
# The test harness of mod_tls: starts httpd (Debian's /usr/sbin/apache2) with a
# self-contained configuration on free 127.0.0.1 ports, and drives real TLS
# clients (curl, gnutls-cli, openssl s_client, Perl IO::Socket::SSL) at it.
#
#   use lib 't/lib';
#   use TLSTest;
#   my $h = TLSTest::Httpd->new(mpm => 'event', conf => tls_vhost());
#   $h->start;
#   my $r = tls_get(client => 'curl', port => $h->port, version => '1.3');
#   is($r->{proto}, 'TLSv1.3');
#   finish();            # stops servers, checks logs for crashes, done_testing
#
# Environment:
#   MOD_TLS_SO        the module to test (default: <repo top>/mod_tls.so)
#   MOD_TLS_TEST_TMP  directory for test artefacts (default: a temp dir, removed)
#   MOD_TLS_TEST_ENV  extra "NAME=VALUE NAME=VALUE" for httpd (ASan: LD_PRELOAD...)
#   MOD_TLS_ASAN_DIR  directory where ASan writes reports; finish() fails on any
use strict;
use warnings;
use Test::More;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use IO::Socket::SSL;
use Digest::SHA;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time);
use Exporter 'import';

our @EXPORT = qw(
    tmpdir pki free_port top_dir run_cmd slurp spit sha256_file make_random_file
    wait_until tls_vhost tls_get tls_connect http_request read_response curl_cmd
    parse_env cert_info finish have_tool
    pki_cert x509_field h2load sni_args
);

my $TOP = abs_path(dirname(__FILE__) . '/../..');
sub top_dir { $TOP }

# The suite starts httpd as the invoking user. As root httpd would switch to
# another user that cannot read the per-test files: build/run-tests runs the
# suite as an unprivileged user instead.
BAIL_OUT('do not run the suite as root: use build/run-tests (it runs prove '
         . 'as the unprivileged user tlstest)') if $> == 0;

our $HTTPD   = $ENV{MOD_TLS_HTTPD} || '/usr/sbin/apache2';
our $MODDIR  = '/usr/lib/apache2/modules';
our $MODULE  = $ENV{MOD_TLS_SO} || "$TOP/mod_tls.so";
# Developer aid: MOD_TLS_TEST_EMULATE=ssl runs the suite against mod_ssl
# (TLS* directives translated to SSL*), to check the suite itself.
our $EMULATE = ($ENV{MOD_TLS_TEST_EMULATE} // '') eq 'ssl';
BAIL_OUT("$MODULE not found: build it (./configure && make) or set MOD_TLS_SO")
    unless -f $MODULE || $EMULATE;
$MODULE = abs_path($MODULE) unless $EMULATE;

my $START_TIME = time;
# a server that closes a connection must fail a test, not kill it
$SIG{PIPE} = 'IGNORE';

# ---------------------------------------------------------------- files

my $TMP;
# tmpdir(): this test file's own scratch directory
sub tmpdir {
    return $TMP if $TMP;
    (my $name = $0) =~ s{.*/}{};
    $name =~ s/\.t$//;
    if (my $base = $ENV{MOD_TLS_TEST_TMP}) {
        $TMP = tempdir("$name-XXXXXX", DIR => $base);
    } else {
        $TMP = tempdir("mod_tls-$name-XXXXXX", TMPDIR => 1, CLEANUP => 1);
    }
    return $TMP;
}

sub slurp {
    my ($file) = @_;
    open(my $fh, '<:raw', $file) or return undef;
    local $/;
    my $data = <$fh>;
    return defined $data ? $data : '';
}

sub spit {
    my ($file, $data, $mode) = @_;
    open(my $fh, '>:raw', $file) or die "write $file: $!";
    print $fh $data;
    close($fh) or die "write $file: $!";
    chmod($mode, $file) if defined $mode;
    return $file;
}

sub sha256_file { Digest::SHA->new(256)->addfile($_[0], 'b')->hexdigest }

# make_random_file(PATH, BYTES): incompressible content, made once
sub make_random_file {
    my ($path, $bytes) = @_;
    return $path if -s $path && -s $path == $bytes;
    my ($rc, $out) = run_cmd(['head', '-c', $bytes, '/dev/urandom'], stdout => $path);
    die "cannot make $path: $out" if $rc || -s $path != $bytes;
    return $path;
}

my $PKI;
# pki(): the test PKI of build/make-pki, made once per test file
sub pki {
    return $PKI if $PKI;
    my $dir = tmpdir() . '/pki';
    my ($rc, $out) = run_cmd(["$TOP/build/make-pki", $dir], timeout => 60);
    die "build/make-pki failed: $out" if $rc;
    return $PKI = $dir;
}

sub have_tool {
    my ($tool) = @_;
    for my $dir (split /:/, $ENV{PATH} || '/usr/bin:/bin') {
        return 1 if -x "$dir/$tool";
    }
    return 0;
}

# ---------------------------------------------------------------- processes

# run_cmd(\@argv, stdin => DATA, stdout => FILE, timeout => SECS, env => \%env)
# Returns (exit status, stdout + stderr) or, when stdout goes to a file,
# (exit status, stderr). The command is killed after the timeout (status 137).
sub run_cmd {
    my ($argv, %o) = @_;
    my $dir = tmpdir();
    my $in  = "$dir/.stdin.$$";
    my $out = "$dir/.out.$$";
    spit($in, defined $o{stdin} ? $o{stdin} : '');
    my $pid = fork() // die "fork: $!";
    if (!$pid) {
        open(STDIN, '<', $in) or die;
        if ($o{stdout}) {
            open(STDOUT, '>', $o{stdout}) or die;
            open(STDERR, '>', $out) or die;
        } else {
            open(STDOUT, '>', $out) or die;
            open(STDERR, '>&', \*STDOUT) or die;
        }
        if ($o{env}) { $ENV{$_} = $o{env}{$_} for keys %{$o{env}} }
        setpgrp(0, 0);
        exec(@$argv) or do { print STDERR "exec $argv->[0]: $!\n"; POSIX::_exit(127) };
    }
    my $deadline = time + ($o{timeout} || 30);
    my $timed_out = 0;
    local $SIG{ALRM} = sub { $timed_out = 1; kill('KILL', -$pid) };
    alarm($o{timeout} || 30);
    waitpid($pid, 0);
    alarm(0);
    my $rc = $timed_out ? 137 : ($? & 127 ? 128 + ($? & 127) : $? >> 8);
    my $text = slurp($out) // '';
    $text .= "\n[run_cmd: killed after " . ($o{timeout} || 30) . "s]\n" if $timed_out;
    unlink($in, $out);
    return ($rc, $text);
}

# wait_until(CODE, timeout => SECS, what => TEXT): polls CODE (every 20 ms) until
# it returns true; returns its value, or false after the timeout.
sub wait_until {
    my ($code, %o) = @_;
    my $deadline = time + ($o{timeout} // 20);
    while (1) {
        my $v = $code->();
        return $v if $v;
        return 0 if time > $deadline;
        select(undef, undef, undef, 0.02);
    }
}

# ---------------------------------------------------------------- ports

my %PORTS_GIVEN;
# free_port(): a TCP port on 127.0.0.1 that nobody listens on right now and
# that this process has not handed out before
sub free_port {
    for (1 .. 50) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                      Proto => 'tcp', Listen => 1, ReuseAddr => 0)
            or die "cannot bind 127.0.0.1: $!";
        my $port = $s->sockport;
        close($s);
        next if $PORTS_GIVEN{$port}++;
        return $port;
    }
    die "no free port found";
}

# listening(PORT): true when a socket listens on 127.0.0.1:PORT (/proc/net/tcp,
# so that no test connection shows up in the server's logs)
sub listening {
    my ($port) = @_;
    my $want = sprintf('0100007F:%04X', $port);
    for my $file ('/proc/net/tcp', '/proc/net/tcp6') {
        open(my $fh, '<', $file) or next;
        while (my $line = <$fh>) {
            my @f = split ' ', $line;
            return 1 if $f[1] && $f[1] eq $want && $f[3] eq '0A';
            return 1 if $f[1] && $f[1] =~ /^0{24}:(\w+)$/ && hex($1) == $port && $f[3] eq '0A';
        }
    }
    return 0;
}

# ---------------------------------------------------------------- config

# tls_vhost(port => '@PORT@', certs => ['ecdsa'], extra => TEXT,
#           name => 'localhost', aliases => [NAMES], vh => LABEL): the text of a
# TLS virtual host with the PKI's server certificates (rsa, ecdsa, ed25519;
# a bare name such as 'other' for the PKI's other.crt + other.key, see also
# pki_cert; or "certfile [keyfile]" as written). vh adds the response header
# "X-VH: LABEL", so that a test sees which virtual host answered.
sub tls_vhost {
    my (%o) = @_;
    my $port  = $o{port} // '@PORT@';
    my $certs = $o{certs} || ['ecdsa'];
    my $text  = "<VirtualHost 127.0.0.1:$port>\n    ServerName " . ($o{name} // 'localhost') . "\n";
    $text .= "    ServerAlias @{$o{aliases}}\n" if $o{aliases} && @{$o{aliases}};
    $text .= "    TLSEngine on\n";
    $text .= "    Header always set X-VH \"$o{vh}\"\n" if defined $o{vh};
    for my $c (@$certs) {
        if ($c =~ /^(rsa|ecdsa|ed25519)$/) {
            $text .= "    TLSCertificate \@PKI\@/server-$c.crt \@PKI\@/server-$c.key\n";
        } elsif ($c =~ /^[\w.-]+$/) {
            $text .= "    TLSCertificate \@PKI\@/$c.crt \@PKI\@/$c.key\n";
        } else {
            $text .= "    TLSCertificate $c\n";
        }
    }
    $text .= join('', map { "    $_\n" } split /\n/, $o{extra}) if $o{extra};
    return $text . "</VirtualHost>\n";
}

# ---------------------------------------------------------------- HTTP

# tls_connect(port => P, version => '1.2'|'1.3', %IO::Socket::SSL options):
# a verified TLS connection to localhost, or undef ($SSL_ERROR says why)
sub tls_connect {
    my (%o) = @_;
    my $port    = delete $o{port};
    my $version = delete $o{version};
    my %ver = ('1.2' => 'TLSv1_2', '1.3' => 'TLSv1_3', '1.1' => 'TLSv1_1');
    return IO::Socket::SSL->new(
        PeerHost        => '127.0.0.1',
        PeerPort        => $port,
        SSL_hostname    => 'localhost',
        SSL_verifycn_name => 'localhost',
        SSL_verifycn_scheme => 'http',
        SSL_verify_mode => SSL_VERIFY_PEER,
        SSL_ca_file     => pki() . '/ca.crt',
        Timeout         => 10,
        ($version ? (SSL_version => $ver{$version}) : ()),
        %o,
    );
}

# A small buffered reader over sysread (works the same for plain and TLS
# sockets, and keeps what was read ahead for the next pipelined response).
my %BUF;
sub _fill {
    my ($sock) = @_;
    my $n = sysread($sock, my $chunk, 65536);
    return 0 unless $n;
    $BUF{$sock} .= $chunk;
    return $n;
}

sub _getline {
    my ($sock) = @_;
    my $i;
    while (($i = index($BUF{$sock} // '', "\n")) < 0) {
        _fill($sock) or return undef;
    }
    return substr($BUF{$sock}, 0, $i + 1, '');
}

sub _read_exact {
    my ($sock, $len) = @_;
    while (length($BUF{$sock} // '') < $len) {
        _fill($sock) or die "connection closed after " . length($BUF{$sock} // '') . " of $len bytes\n";
    }
    return substr($BUF{$sock}, 0, $len, '');
}

# _read_buffered(SOCK): what the reader holds already for SOCK (and forgets it)
sub _read_buffered { delete $BUF{$_[0]} // '' }

# read_response(SOCK, head => 1 (HEAD request), timeout => SECS): reads one
# HTTP/1.x response (Content-Length, chunked or until close) and returns
# { status, headers => {lc name => value}, body }
sub read_response {
    my ($sock, %o) = @_;
    local $SIG{ALRM} = sub { die "timeout reading response\n" };
    alarm($o{timeout} || 30);
    my $status_line = _getline($sock);
    die "no response (connection closed)\n" unless defined $status_line;
    my ($status) = $status_line =~ m{^HTTP/1\.[01] (\d{3})} or die "bad status line: $status_line";
    my %h;
    while (defined(my $line = _getline($sock))) {
        $line =~ s/\r?\n$//;
        last if $line eq '';
        my ($k, $v) = split /:\s*/, $line, 2;
        $h{lc $k} = $v;
    }
    my $body = '';
    if ($o{head}) {
    } elsif (defined $h{'content-length'}) {
        $body = _read_exact($sock, $h{'content-length'});
    } elsif (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        while (1) {
            my $size = _getline($sock);
            die "connection closed in chunked body\n" unless defined $size;
            $size = hex($size =~ /^([0-9a-fA-F]+)/ ? $1 : die "bad chunk size: $size");
            last if $size == 0;
            $body .= _read_exact($sock, $size);
            _getline($sock);
        }
        while (defined(my $line = _getline($sock))) { last if $line =~ /^\r?\n$/ }
    } else {
        1 while _fill($sock);
        $body = delete $BUF{$sock} // '';
    }
    alarm(0);
    delete $BUF{$sock} if !$o{head} && ($h{connection} // '') =~ /close/i;
    return { status => $status, headers => \%h, body => $body };
}

# http_request(path => '/', method => 'GET', close => 0, headers => {},
#              host => 'localhost'): the request text
sub http_request {
    my (%o) = @_;
    my $req = sprintf("%s %s HTTP/1.1\r\nHost: %s\r\n",
                      $o{method} || 'GET', $o{path} || '/', $o{host} // 'localhost');
    $req .= "Connection: close\r\n" if $o{close};
    $req .= "$_: $o{headers}{$_}\r\n" for sort keys %{$o{headers} || {}};
    return "$req\r\n";
}

# parse_response(TEXT): status and body of an HTTP response in a tool's output
sub _parse_response_text {
    my ($text, $r) = @_;
    return unless $text =~ m{^(HTTP/1\.[01] (\d{3}).*?)\r?\n\r?\n}ms;
    $r->{status} = $2;
    my $head = $1;
    my $body = substr($text, $+[0]);
    my %h;
    for my $line (split /\r?\n/, $head) {
        $h{lc $1} = $2 if $line =~ /^([!-9;-~]+):\s*(.*?)\s*$/;
    }
    $r->{headers} = \%h;
    if ($head =~ /^Content-Length:\s*(\d+)/mi) {
        $body = substr($body, 0, $1);
    }
    $r->{body} = $body;
}

# parse_env(TEXT): the KEY=VALUE lines of the env CGI as a hash
sub parse_env {
    my ($text) = @_;
    my %env;
    for (split /\n/, $text // '') {
        $env{$1} = $2 if /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;
    }
    return \%env;
}

# ---------------------------------------------------------------- clients

# tls_get(client => curl|gnutls|openssl|perl, port => P, version => '1.2'|'1.3',
#         path => '/', priority => GNUTLS_PRIORITY, args => [extra args],
#         sni => NAME, host => NAME, verify_name => NAME):
# one GET https://localhost:P/path with a Connection: close request. Returns
#   { ok => handshake completed, proto => 'TLSv1.3', cipher => OpenSSL-style
#     name (openssl, curl, perl), status, body, headers => {lc name => value},
#     certs => [PEM ...] (openssl, gnutls), alpn => negotiated protocol ('' for
#     none; curl, openssl, gnutls), http_version (curl), out => the output }
# sni: the server name the client sends (default localhost; '' sends none,
# then curl asks for https://127.0.0.1:P/). host: the Host header (default:
# the server name, or localhost). verify_name: the name the certificate must
# be valid for (default: the server name, or localhost); curl cannot check a
# name other than the one it sends and then skips verification (-k).
my %CLIENT = (curl => \&_curl, gnutls => \&_gnutls, openssl => \&_openssl, perl => \&_perl);
sub tls_get {
    my (%o) = @_;
    my $c = $CLIENT{$o{client}} or die "unknown client $o{client}";
    $o{path} //= '/';
    return $c->(%o);
}

# _names(%o): (server name to send or '', Host header, name to verify)
sub _names {
    my (%o) = @_;
    my $sni = $o{sni} // 'localhost';
    my $host = $o{host} // ($sni eq '' ? 'localhost' : $sni);
    my $verify = $o{verify_name} // ($sni eq '' ? 'localhost' : $sni);
    return ($sni, $host, $verify);
}

# sni_args(CLIENT, SNI, VERIFY_NAME): command line arguments of gnutls-cli or
# openssl s_client that send SNI (none for '') and check the certificate for
# VERIFY_NAME
sub sni_args {
    my ($client, $sni, $verify) = @_;
    if ($client eq 'gnutls') {
        return (($sni eq '' ? '--disable-sni' : "--sni-hostname=$sni"),
                "--verify-hostname=$verify");
    }
    return (($sni eq '' ? '-noservername' : ('-servername', $sni)),
            '-verify_hostname', $verify);
}

# curl_cmd(PORT, args...): a curl command line that trusts the test CA and
# resolves localhost:PORT to 127.0.0.1
sub curl_cmd {
    my ($port, @args) = @_;
    return ['curl', '-sS', '--http1.1', '--cacert', pki() . '/ca.crt',
            '--resolve', "localhost:$port:127.0.0.1", '--max-time', '60', @args];
}

sub _curl {
    my (%o) = @_;
    my $body = tmpdir() . "/.curl-body.$$";
    unlink $body;
    my @v = !$o{version} ? ()
          : $o{version} eq '1.2' ? ('--tlsv1.2', '--tls-max', '1.2')
          : ('--tlsv1.3');
    my $url_host = 'localhost';
    my @names;
    if (defined $o{sni} || defined $o{host} || defined $o{verify_name}) {
        my ($sni, $host, $verify) = _names(%o);
        $url_host = $sni eq '' ? '127.0.0.1' : $sni;
        push @names, '--resolve', "$sni:$o{port}:127.0.0.1" if $sni ne '' && $sni ne 'localhost';
        push @names, '-H', "Host: $host" if defined $o{host};
        push @names, '-k' if defined $o{verify_name} && lc $verify ne lc $url_host;
    }
    my ($rc, $out) = run_cmd(curl_cmd($o{port}, '-v', @v, @names, '-o', $body,
        '-w', "\nCURL_RESULT %{http_code} %{num_connects} %{http_version}\n",
        @{$o{args} || []}, "https://$url_host:$o{port}$o{path}"), timeout => 70);
    my $r = { out => $out, rc => $rc };
    if ($out =~ m{SSL connection using (TLSv[\d.]+) / (\S+)}) {
        @$r{qw(ok proto cipher)} = (1, $1, $2);
    }
    $r->{alpn} = $out =~ /ALPN[:,] server accepted(?: to use)? (\S+)/ ? $1
               : $out =~ /ALPN[:,] server did not agree/ ? '' : undef;
    if ($out =~ /^CURL_RESULT (\d+) (\d+) (\S+)/m && $1 ne '000') {
        $r->{status} = $1;
        $r->{http_version} = $3;
        $r->{body} = slurp($body);
        my %h;
        for (split /\n/, $out) {
            %h = () if m{^< HTTP/};
            $h{lc $1} = $2 if /^< ([!-9;-~]+):\s*(.*?)\s*$/;
        }
        $r->{headers} = \%h;
    }
    unlink $body;
    return $r;
}

sub _gnutls {
    my (%o) = @_;
    my $certs = tmpdir() . "/.gnutls-certs.$$";
    unlink $certs;
    my $prio = $o{priority}
        || (!$o{version} ? 'NORMAL' : "NORMAL:-VERS-ALL:+VERS-TLS$o{version}");
    my ($sni, $host, $verify) = _names(%o);
    my @names = (defined $o{sni} || defined $o{verify_name}) ? sni_args('gnutls', $sni, $verify) : ();
    my ($rc, $out) = run_cmd(['gnutls-cli', '--x509cafile', pki() . '/ca.crt',
        '--priority', $prio, '--save-cert', $certs, '-p', $o{port}, @names,
        @{$o{args} || []}, 'localhost'],
        stdin => http_request(path => $o{path}, close => 1, host => $host), timeout => 30);
    my $r = { out => $out, rc => $rc };
    if ($out =~ /^- Handshake was completed/m) {
        $r->{ok} = 1;
        if ($out =~ /^- Description: \((TLS1\.\d)/m) {
            ($r->{proto} = $1) =~ s/^TLS/TLSv/;
        }
        ($r->{gnutls_cipher}) = $out =~ /^- Description: .*-\(([^()]+)\)\s*$/m;
        $r->{alpn} = $out =~ /^- Application protocol: (\S+)/m ? $1 : '';
    }
    $r->{certs} = [ (slurp($certs) // '') =~ /(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?)/gs ];
    _parse_response_text($out, $r);
    unlink $certs;
    return $r;
}

sub _openssl {
    my (%o) = @_;
    my @v = !$o{version} ? () : $o{version} eq '1.2' ? ('-tls1_2')
          : $o{version} eq '1.1' ? ('-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0')
          : ('-tls1_3');
    my ($sni, $host, $verify) = _names(%o);
    my ($rc, $out) = run_cmd(['openssl', 's_client', '-connect', "127.0.0.1:$o{port}",
        sni_args('openssl', $sni, $verify),
        '-CAfile', pki() . '/ca.crt', '-showcerts', '-ign_eof', @v,
        @{$o{args} || []}],
        stdin => http_request(path => $o{path}, close => 1, host => $host), timeout => 30);
    my $r = { out => $out, rc => $rc };
    if ($out =~ /^New, (TLSv[\d.]+), Cipher is (\S+)/m && $2 ne '(NONE)') {
        @$r{qw(ok proto cipher)} = (1, $1, $2);
        $r->{alpn} = $out =~ /^ALPN protocol: (\S+)/m ? $1 : '';
    }
    ($r->{verify}) = $out =~ /^\s*Verify return code: (\d+)/m;
    $r->{certs} = [ $out =~ /(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?)/gs ];
    ($r->{peer_sig}) = $out =~ /^Peer signature type: (\S+)/m;
    ($r->{session_id}) = $out =~ /^\s*Session-ID: ([0-9A-F]*)\s*$/m;
    _parse_response_text($out, $r);
    return $r;
}

sub _perl {
    my (%o) = @_;
    my ($sni, $host, $verify) = _names(%o);
    my @names = (defined $o{sni} || defined $o{verify_name})
              ? (SSL_hostname => $sni, SSL_verifycn_name => $verify) : ();
    my $s = tls_connect(port => $o{port}, version => $o{version}, @names, @{$o{args} || []});
    my $r = { out => $s ? '' : "$SSL_ERROR" };
    return $r unless $s;
    @$r{qw(ok proto cipher)} = (1, $s->get_sslversion, $s->get_cipher);
    $r->{proto} =~ s/^TLSv(\d)_(\d)$/TLSv$1.$2/;
    print $s http_request(path => $o{path}, close => 1, host => $host);
    my $resp = eval { read_response($s) };
    if ($resp) {
        @$r{qw(status body headers)} = @$resp{qw(status body headers)};
    } else {
        $r->{out} .= $@;
    }
    close($s);
    return $r;
}

# cert_info(PEM): { subject, cn, key => 'RSA'|'ECDSA'|'Ed25519'|'?' }
sub cert_info {
    my ($pem) = @_;
    return {} unless $pem;
    my ($rc, $text) = run_cmd(['openssl', 'x509', '-noout', '-subject', '-text'], stdin => $pem);
    my %i;
    ($i{subject}) = $text =~ /^subject=(.*)$/m;
    ($i{cn}) = ($i{subject} // '') =~ /CN\s*=\s*([^,\/]+)/;
    my ($alg) = $text =~ /Public Key Algorithm: (\S+)/;
    $alg //= '';
    $i{key} = $alg eq 'rsaEncryption' ? 'RSA' : $alg eq 'id-ecPublicKey' ? 'ECDSA'
            : $alg =~ /ED25519/i ? 'Ed25519' : "?$alg";
    return \%i;
}

# pki_cert(NAME, cn => CN, dns => [NAMES], ip => ['127.0.0.1'], type =>
# 'ecdsa'|'rsa'|'ed25519', days => 365): NAME.key and NAME.crt (leaf, then the
# intermediate) in the test PKI, signed by its intermediate CA like the
# certificates of build/make-pki (organization "mod_tls tests"); made once.
# Returns the path of NAME.crt; tls_vhost(certs => [NAME]) serves it.
sub pki_cert {
    my ($name, %o) = @_;
    my $dir = pki();
    my ($crt, $key) = ("$dir/$name.crt", "$dir/$name.key");
    return $crt if -s $crt && -s $key;
    my $type = $o{type} || 'ecdsa';
    my @kt = $type eq 'rsa' ? ('--key-type', 'rsa', '--bits', 2048)
           : $type eq 'ed25519' ? ('--key-type', 'ed25519')
           : ('--key-type', 'ecdsa', '--curve', 'secp256r1');
    my ($rc, $out) = run_cmd(['certtool', '--generate-privkey', @kt, '--no-text',
                              '--outfile', $key]);
    die "certtool (key for $name) failed: $out" if $rc;
    my @t = ('organization = "mod_tls tests"', "cn = \"$o{cn}\"", 'tls_www_server',
             'signing_key', 'expiration_days = ' . ($o{days} || 365));
    push @t, 'encryption_key' if $type eq 'rsa';
    push @t, map { "dns_name = \"$_\"" } @{$o{dns} || []};
    push @t, map { "ip_address = \"$_\"" } @{$o{ip} || ['127.0.0.1']};
    my $tmpl = spit("$dir/$name.tmpl", join("\n", @t) . "\n");
    ($rc, $out) = run_cmd(['certtool', '--generate-certificate', '--no-text',
        '--load-privkey', $key, '--load-ca-certificate', "$dir/int.crt",
        '--load-ca-privkey', "$dir/int.key", '--template', $tmpl,
        '--outfile', "$dir/$name.leaf"]);
    die "certtool (certificate $name) failed: $out" if $rc;
    spit($crt, slurp("$dir/$name.leaf") . slurp("$dir/int.crt"));
    unlink("$dir/$name.leaf", $tmpl);
    return $crt;
}

# x509_field(FILE_OR_PEM, ARGS...): what `openssl x509 -noout ARGS` prints for
# the first certificate of a file (or of PEM text), without a "name=" prefix
# when it prints one value (-subject, -serial, -enddate...)
sub x509_field {
    my ($cert, @args) = @_;
    my @in = $cert =~ /^-----BEGIN/ ? () : ('-in', $cert);
    my ($rc, $out) = run_cmd(['openssl', 'x509', '-noout', @in, @args],
                             $cert =~ /^-----BEGIN/ ? (stdin => $cert) : ());
    die "openssl x509 @args failed: $out" if $rc;
    $out =~ s/\s+$//;
    $out =~ s/^\w+=// if $out !~ /\n/;
    return $out;
}

# h2load(URL, args...): runs nghttp2's h2load and returns { out, rc, proto
# (TLS protocol), cipher, alpn (application protocol), total, succeeded,
# failed, errored, s2xx, s3xx, s4xx, s5xx }
sub h2load {
    my ($url, @args) = @_;
    my ($rc, $out) = run_cmd(['h2load', @args, $url], timeout => 120);
    my $r = { out => $out, rc => $rc };
    ($r->{proto})  = $out =~ /^TLS Protocol: (\S+)/m;
    ($r->{cipher}) = $out =~ /^Cipher: (\S+)/m;
    ($r->{alpn})   = $out =~ /^Application protocol: (\S+)/m;
    if ($out =~ /^requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/m) {
        @$r{qw(total succeeded failed errored)} = ($1, $2, $3, $4);
    }
    if ($out =~ /^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/m) {
        @$r{qw(s2xx s3xx s4xx s5xx)} = ($1, $2, $3, $4);
    }
    return $r;
}

# ---------------------------------------------------------------- the end

# finish(): stops every server of this test file, checks that none crashed
# (error log, ASan reports) and ends the test (done_testing)
sub finish {
    for my $h (TLSTest::Httpd->all) {
        $h->stop if $h->running;
        my $log = $h->error_log;
        my @bad = grep { /Segmentation fault|exit signal|AddressSanitizer|child pid \d+ exit signal/ }
                  split /\n/, $log;
        ok(!@bad, "no crash in the error log of $h->{dir}")
            or diag(join("\n", @bad));
    }
    if (my $asan = $ENV{MOD_TLS_ASAN_DIR}) {
        my @reports = grep { (stat $_)[9] >= int($START_TIME) } glob("$asan/asan.*");
        ok(!@reports, 'no AddressSanitizer report')
            or diag(join("\n", map { "$_:\n" . slurp($_) } @reports));
    }
    done_testing();
}

END { $_->stop for grep { $_->running } TLSTest::Httpd->all }

# ====================================================================== httpd

package TLSTest::Httpd;
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time);

my @ALL;
sub all { grep { defined } @ALL }

my %MPM_CONF = (
    event => <<'EOF',
StartServers 1
ServerLimit 4
ThreadLimit 16
ThreadsPerChild 16
MinSpareThreads 4
MaxSpareThreads 64
MaxRequestWorkers 32
EOF
    prefork => <<'EOF',
StartServers 2
MinSpareServers 1
MaxSpareServers 4
ServerLimit 8
MaxRequestWorkers 8
EOF
);
$MPM_CONF{worker} = $MPM_CONF{event};

my @MODULES = qw(authz_core authz_host mime dir alias headers rewrite
                 include reflector status setenvif env);

# TLSTest::Httpd->new(mpm => 'event', conf => TEXT, listen => 1,
#                     modules => [more], tls => 1, env => { NAME => VALUE })
# conf is appended to a complete server configuration; in it @PORT@, @PORT2@,
# @PORT3@... are the server's ports, @PKI@ the test PKI, @DIR@ the server's
# directory, @DOCROOT@ its document root. listen: how many ports. tls => 0
# leaves mod_tls out. env: variables httpd runs with (besides PATH, LANG and
# MOD_TLS_TEST_ENV's), e.g. SOFTHSM2_CONF.
sub new {
    my ($class, %o) = @_;
    my $self = bless {
        mpm     => $o{mpm} || 'event',
        listen  => $o{listen} || 1,
        modules => $o{modules} || [],
        tls     => $o{tls} // 1,
        conf    => $o{conf} // '',
        global  => $o{global} // '',
        env     => $o{env} || {},
    }, $class;
    die "unknown mpm $self->{mpm}" unless $MPM_CONF{$self->{mpm}};
    my $n = 1 + grep { $_->{dir} } @ALL;
    $self->{dir} = TLSTest::tmpdir() . "/httpd$n-$self->{mpm}";
    $self->{ports} = [ map { TLSTest::free_port() } 1 .. $self->{listen} ];
    $self->write_files;
    push @ALL, $self;
    return $self;
}

sub port    { $_[0]{ports}[ $_[1] // 0 ] }
sub dir     { $_[0]{dir} }
sub docroot { "$_[0]{dir}/htdocs" }
sub conf_file { "$_[0]{dir}/httpd.conf" }
sub error_log_file { "$_[0]{dir}/logs/error.log" }
sub pid_file { "$_[0]{dir}/run/httpd.pid" }

my $INDEX = "<html><body>mod_tls test page</body></html>\n";
sub index_content { $INDEX }

my $ENV_CGI = <<'EOF';
#!/bin/sh
printf 'Content-Type: text/plain\n\n'
env | sort
EOF

my $SSI = <<'EOF';
HTTPS=<!--#echo var="HTTPS" -->
SSL_PROTOCOL=<!--#echo var="SSL_PROTOCOL" -->
SSL_CIPHER=<!--#echo var="SSL_CIPHER" -->
SSL_TLS_SNI=<!--#echo var="SSL_TLS_SNI" -->
SSL_VERSION_LIBRARY=<!--#echo var="SSL_VERSION_LIBRARY" -->
EOF

sub _expand {
    my ($self, $text) = @_;
    my $pki = $text =~ /\@PKI\@/ ? TLSTest::pki() : '';
    $text =~ s/\@PKI\@/$pki/g;
    $text =~ s/\@DIR\@/$self->{dir}/g;
    $text =~ s/\@DOCROOT\@/$self->{dir}\/htdocs/g;
    $text =~ s{\@PORT(\d*)\@}{ $self->{ports}[($1 || 1) - 1] // die "no port $1 in config" }ge;
    $text = _emulate_ssl($text) if $TLSTest::EMULATE;
    return $text;
}

sub _emulate_ssl {
    my ($text) = @_;
    $text =~ s/^(\s*)TLSCertificate[ \t]+(\S+)[ \t]+(\S+)/$1SSLCertificateFile $2\n$1SSLCertificateKeyFile $3/mg;
    $text =~ s/^(\s*)TLSCertificate\s/$1SSLCertificateFile /mg;
    $text =~ s/^(\s*)TLS(Engine|Protocol|Options)\s/$1SSL$2 /mg;
    $text =~ s/^(\s*)(TLS\w+)/$1# $2/mg;
    $text =~ s/TLSv1\.2\+/-all +TLSv1.2 +TLSv1.3/g;
    $text =~ s/(SSLProtocol)\s+-/$1 all -/g;
    $text =~ s/\btls:/ssl:/g;
    return $text;
}

sub write_files {
    my ($self) = @_;
    my $d = $self->{dir};
    mkdir $_ for $d, "$d/htdocs", "$d/cgi-bin", "$d/logs", "$d/run";
    TLSTest::spit("$d/htdocs/index.html", $INDEX);
    TLSTest::spit("$d/htdocs/ssl.shtml", $SSI);
    TLSTest::spit("$d/cgi-bin/env.cgi", $ENV_CGI, 0755);
    my $mpm = $self->{mpm};
    my $threaded = $mpm ne 'prefork';
    my @mods = (@MODULES, ($threaded ? 'cgid' : 'cgi'), @{$self->{modules}});
    my $load = "LoadModule mpm_${mpm}_module $MODDIR/mod_mpm_$mpm.so\n"
             . join('', map { "LoadModule ${_}_module $MODDIR/mod_$_.so\n" } @mods);
    $load .= $TLSTest::EMULATE
           ? "LoadModule ssl_module $MODDIR/mod_ssl.so\nLoadModule socache_shmcb_module $MODDIR/mod_socache_shmcb.so\n"
           : "LoadModule tls_module $TLSTest::MODULE\n" if $self->{tls};
    my $listen = join('', map { "Listen 127.0.0.1:$_\n" } @{$self->{ports}});
    my $cgid = $threaded ? "ScriptSock $d/run/cgid.sock\n" : '';
    my $conf = <<"EOF";
# generated by t/lib/TLSTest.pm
ServerRoot $d
$load
ServerName localhost
$listen
PidFile $d/run/httpd.pid
DefaultRuntimeDir $d/run
Mutex file:$d/run default
ScoreBoardFile $d/run/scoreboard
$cgid
ErrorLog $d/logs/error.log
LogLevel info
LogFormat "%h %l %u %t \\"%r\\" %>s %b %{ms}T" common
CustomLog $d/logs/access.log common

# Linux defers accept() until the client sends a byte; the handshake
# deadline is measured from accept, so tests of it need accept at once.
AcceptFilter http none
AcceptFilter https none

Timeout 20
KeepAlive On
KeepAliveTimeout 10
MaxKeepAliveRequests 100
GracefulShutdownTimeout 10
$MPM_CONF{$mpm}
TypesConfig /etc/mime.types
AddType text/html .html
AddOutputFilter INCLUDES .shtml
AddType text/plain .shtml
DirectoryIndex index.html
DocumentRoot $d/htdocs
<Directory />
    Require all denied
    AllowOverride None
</Directory>
<Directory $d/htdocs>
    Require all granted
    Options +Includes
</Directory>
<Directory $d/cgi-bin>
    Require all granted
    Options +ExecCGI
</Directory>
ScriptAlias /cgi-bin/ $d/cgi-bin/
<Location /echo>
    SetHandler reflector
</Location>
<Location /server-status>
    SetHandler server-status
</Location>

$self->{global}
EOF
    $conf .= $self->{conf};
    TLSTest::spit($self->conf_file, $self->_expand($conf));
}

# line_of(REGEX): line number of the first config line matching REGEX
sub line_of {
    my ($self, $re) = @_;
    my $n = 0;
    for (split /\n/, TLSTest::slurp($self->conf_file)) {
        $n++;
        return $n if /$re/;
    }
    return undef;
}

sub _httpd {
    my ($self, @args) = @_;
    my @env = ('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C');
    push @env, split ' ', $ENV{MOD_TLS_TEST_ENV} if $ENV{MOD_TLS_TEST_ENV};
    push @env, map { "$_=$self->{env}{$_}" } sort keys %{$self->{env}};
    return TLSTest::run_cmd(['env', '-i', @env, $TLSTest::HTTPD, '-f', $self->conf_file, @args],
                            timeout => 60);
}

# configtest(): (exit status, output) of apache2 -t
sub configtest { $_[0]->_httpd('-t') }

# configtest_refuses(NAME, LINE_RE, DIRECTIVE, REASON_RE): apache2 -t fails
# naming the config file, the line matching LINE_RE, DIRECTIVE and a reason,
# and httpd does not start; returns the output for further checks.
sub configtest_refuses {
    my ($self, $name, $line_re, $directive, $reason) = @_;
    my $file = $self->conf_file;
    my $n = $self->line_of($line_re);
    my ($rc, $out) = $self->configtest;
    Test::More::subtest("$name: apache2 -t fails and says where and why" => sub {
        Test::More::isnt($rc, 0, 'apache2 -t exits non-zero');
        Test::More::like($out, qr/\Q$file\E/, 'names the config file');
        Test::More::like($out, qr/(\bline |:)$n\b/, "names line $n");
        Test::More::like($out, qr/\b$directive\b/, "names $directive");
        Test::More::like($out, $reason, 'gives the reason');
    }) or Test::More::diag("apache2 -t output:\n$out");
    Test::More::ok(!$self->try_start, "$name: httpd does not start");
    return $out;
}

# modules(): output of apache2 -M
sub modules { ($_[0]->_httpd('-M'))[1] }

sub error_log { TLSTest::slurp($_[0]->error_log_file) // '' }

# log_mark() / log_since(MARK): the part of the error log written after MARK
sub log_mark  { -s $_[0]->error_log_file || 0 }
sub log_since { substr($_[0]->error_log, $_[1]) }

# wait_log(REGEX, since => MARK, timeout => SECS): polls the error log until a
# line after MARK matches; returns the matching lines ('' after the timeout)
sub wait_log {
    my ($self, $re, %o) = @_;
    my $found = '';
    TLSTest::wait_until(sub {
        $found = join("\n", grep { /$re/ } split /\n/, $self->log_since($o{since} // 0));
    }, timeout => $o{timeout} // 10);
    return $found;
}

# log_file(NAME): path of a file in the server's logs directory (for
# CustomLog @DIR@/logs/NAME); file_mark(PATH) / wait_file(PATH, REGEX, since
# => MARK, timeout => SECS): like log_mark / wait_log for such a file
sub log_file  { "$_[0]{dir}/logs/$_[1]" }
sub file_mark { -s $_[1] || 0 }
sub wait_file {
    my ($self, $path, $re, %o) = @_;
    my $found = '';
    TLSTest::wait_until(sub {
        my $text = TLSTest::slurp($path) // '';
        $found = join("\n", grep { /$re/ } split /\n/, substr($text, $o{since} // 0));
    }, timeout => $o{timeout} // 10);
    return $found;
}

sub _generations {
    my ($self) = @_;
    my @n = $self->error_log =~ /resuming normal operations/g;
    return scalar @n;
}

sub pid {
    my $pid = TLSTest::slurp($_[0]->pid_file) // '';
    return $pid =~ /^(\d+)/ ? $1 : undef;
}

sub running {
    my ($self) = @_;
    return $self->{started} && $self->pid && kill(0, $self->pid);
}

# try_start(): starts httpd; returns true when it runs and listens; else
# false, with start_output() saying why
sub try_start {
    my ($self) = @_;
    my $gen = $self->_generations;
    my ($rc, $out) = $self->_httpd('-k', 'start');
    $self->{start_output} = $out;
    # a non-zero status does not prove that no daemon was left running
    # (a sanitizer report at exit, say): stop() must still look for it
    $self->{started} = 1;
    return 0 if $rc;
    my $ok = TLSTest::wait_until(sub {
        $self->pid && $self->_generations > $gen
            && !grep { !TLSTest::listening($_) } @{$self->{ports}}
    }, timeout => 30);
    $self->{start_output} .= "\nhttpd did not come up within 30s" unless $ok;
    return $ok;
}

sub start_output { $_[0]{start_output} // '' }

# start(): starts httpd or dies with the reason
sub start {
    my ($self) = @_;
    return $self if $self->try_start;
    my $log = $self->error_log;
    die "httpd ($self->{mpm}) failed to start:\n" . $self->start_output
        . "\nerror log:\n" . substr($log, -3000) . "\n";
}

# graceful(): apache2 -k graceful, returns when the new generation runs
sub graceful {
    my ($self) = @_;
    my $gen = $self->_generations;
    my ($rc, $out) = $self->_httpd('-k', 'graceful');
    die "graceful failed ($rc): $out" if $rc;
    TLSTest::wait_until(sub { $self->_generations > $gen }, timeout => 30)
        or die "no new generation after graceful:\n" . substr($self->error_log, -3000);
    return $self;
}

# stop(): apache2 -k stop, returns when the server process is gone
sub stop {
    my ($self) = @_;
    return unless $self->{started};
    my $pid = $self->pid;
    $self->_httpd('-k', 'stop');
    if ($pid && !TLSTest::wait_until(sub { !kill(0, $pid) }, timeout => 20)) {
        kill('KILL', $pid);
    }
    $self->{started} = 0;
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $!, $@);
    $self->stop if $self->running;
}

1;
