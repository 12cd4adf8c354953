package TLSTest::Util;
# Files, child processes, waiting and ports: what the rest of the harness
# stands on. Nothing here knows about TLS or httpd.
use strict;
use warnings;
use Cwd qw(abs_path);
use Digest::SHA;
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(time);
use Exporter 'import';

our @EXPORT = qw(top_dir tmpdir slurp spit sha256_file make_random_file have_tool
                 run_cmd spawn wait_until free_port);
our @EXPORT_OK = qw(listening);

my $TOP = abs_path(dirname(__FILE__) . '/../../..');
# top_dir(): the top of the source tree (where build/ and mod_tls.so are)
sub top_dir { $TOP }

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

# slurp(FILE): the bytes of FILE, or undef when it cannot be read
sub slurp {
    my ($file) = @_;
    open(my $fh, '<:raw', $file) or return undef;
    local $/;
    my $data = <$fh>;
    return defined $data ? $data : '';
}

# spit(FILE, DATA, MODE): writes FILE (with MODE when given); returns FILE
sub spit {
    my ($file, $data, $mode) = @_;
    open(my $fh, '>:raw', $file) or die "write $file: $!";
    print $fh $data;
    close($fh) or die "write $file: $!";
    chmod($mode, $file) if defined $mode;
    return $file;
}

# sha256_file(FILE): the hex SHA-256 of FILE
sub sha256_file { Digest::SHA->new(256)->addfile($_[0], 'b')->hexdigest }

# make_random_file(PATH, BYTES): PATH, holding BYTES incompressible bytes
# (made once)
sub make_random_file {
    my ($path, $bytes) = @_;
    return $path if -s $path && -s $path == $bytes;
    my ($rc, $out) = run_cmd(['head', '-c', $bytes, '/dev/urandom'], stdout => $path);
    die "cannot make $path: $out" if $rc || -s $path != $bytes;
    return $path;
}

# have_tool(NAME): true when NAME is an executable in PATH
sub have_tool {
    my ($tool) = @_;
    for my $dir (split /:/, $ENV{PATH} || '/usr/bin:/bin') {
        return 1 if -x "$dir/$tool";
    }
    return 0;
}

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

# spawn(LOG, ENV, ARGV...): starts ARGV (a server of the tests) in a process
# group of its own, so that it can be stopped with all it started; stdin
# from /dev/null, stdout and stderr appended to LOG, ENV (a hash ref) added
# to its environment; returns its pid
sub spawn {
    my ($log, $env, @argv) = @_;
    my $pid = fork() // die "fork: $!";
    if (!$pid) {
        setpgrp(0, 0);
        open(STDIN, '<', '/dev/null');
        open(STDOUT, '>>', $log) or POSIX::_exit(126);
        open(STDERR, '>&', \*STDOUT);
        $ENV{$_} = $env->{$_} for keys %{$env || {}};
        exec(@argv) or POSIX::_exit(127);
    }
    return $pid;
}

# wait_until(CODE, timeout => SECS): polls CODE (every 20 ms) until it
# returns true; returns its value, or false after the timeout.
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

# listening(PORT): true when a socket listens on 127.0.0.1:PORT (read from
# /proc/net/tcp, so that no test connection shows up in a server's logs)
sub listening {
    my ($port) = @_;
    my $want = sprintf('0100007F:%04X', $port);
    for my $file ('/proc/net/tcp', '/proc/net/tcp6') {
        open(my $fh, '<', $file) or next;
        while (my $line = <$fh>) {
            my @f = split ' ', $line;
            return 1 if $f[1] && $f[1] eq $want && $f[3] eq '0A';
            # [::]:PORT, which accepts 127.0.0.1 too
            return 1 if $f[1] && $f[1] =~ /^0{32}:(\w+)$/ && hex($1) == $port && $f[3] eq '0A';
        }
    }
    return 0;
}

1;
