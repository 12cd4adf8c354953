package TLSTest::Httpd;
# The one way a test gets an httpd: TLSTest::Httpd->new writes a complete,
# self-contained httpd.conf (Debian's /usr/sbin/apache2, no /etc/apache2) on
# free 127.0.0.1 ports, and the object starts, restarts and stops it and
# reads its logs. What a test adds to that configuration comes from vhost()
# and tls_vhost(), so that every virtual host is written in one place.
#
# Environment:
#   MOD_TLS_SO        the module to test (default: <repo top>/mod_tls.so)
#   MOD_TLS_HTTPD     the httpd binary (default: /usr/sbin/apache2)
#   MOD_TLS_TEST_ENV  extra "NAME=VALUE NAME=VALUE" for httpd (ASan: LD_PRELOAD...)
#   MOD_TLS_TEST_EMULATE=ssl  developer aid: run against mod_ssl instead, the
#                     TLS* directives translated to SSL*, to check the suite
use strict;
use warnings;
use Cwd qw(abs_path);
use Test::More;
use Time::HiRes qw(time);
use TLSTest::Util qw(tmpdir slurp spit run_cmd wait_until free_port listening top_dir);
use TLSTest::PKI qw(pki);
use Exporter 'import';

our @EXPORT = qw(vhost tls_vhost);

our $HTTPD   = $ENV{MOD_TLS_HTTPD} || '/usr/sbin/apache2';
our $MODDIR  = '/usr/lib/apache2/modules';
our $MODULE  = $ENV{MOD_TLS_SO} || top_dir() . '/mod_tls.so';
our $EMULATE = ($ENV{MOD_TLS_TEST_EMULATE} // '') eq 'ssl';
BAIL_OUT("$MODULE not found: build it (./configure && make) or set MOD_TLS_SO")
    unless -f $MODULE || $EMULATE;
$MODULE = abs_path($MODULE) unless $EMULATE;

# ---------------------------------------------------------------- config text

# vhost(port => '@PORT@', name => 'localhost', aliases => [NAMES], vh => LABEL,
#       extra => TEXT): the text of a <VirtualHost 127.0.0.1:PORT> with its
# ServerName and ServerAlias, and the lines of TEXT. vh adds the response
# header "X-VH: LABEL", so that a test sees which virtual host answered.
sub vhost {
    my (%o) = @_;
    my $text = "<VirtualHost 127.0.0.1:" . ($o{port} // '@PORT@') . ">\n"
             . "    ServerName " . ($o{name} // 'localhost') . "\n";
    $text .= "    ServerAlias @{$o{aliases}}\n" if $o{aliases} && @{$o{aliases}};
    $text .= "    Header always set X-VH \"$o{vh}\"\n" if defined $o{vh};
    $text .= join('', map { "    $_\n" } split /\n/, $o{extra}) if $o{extra};
    return $text . "</VirtualHost>\n";
}

# tls_vhost(certs => ['ecdsa'], extra => TEXT, and vhost's options): vhost()
# with TLSEngine on and a TLSCertificate line per entry of certs: the PKI's
# server certificates (rsa, ecdsa, ed25519), a bare name such as 'other' for
# the PKI's other.crt + other.key (see pki_cert), or "certfile [keyfile]" as
# written; then the lines of extra.
sub tls_vhost {
    my (%o) = @_;
    my @lines = ('TLSEngine on');
    for my $c (@{$o{certs} || ['ecdsa']}) {
        push @lines, $c =~ /^(rsa|ecdsa|ed25519)$/ ? "TLSCertificate \@PKI\@/server-$c.crt \@PKI\@/server-$c.key"
                   : $c =~ /^[\w.-]+$/            ? "TLSCertificate \@PKI\@/$c.crt \@PKI\@/$c.key"
                   :                                "TLSCertificate $c";
    }
    push @lines, $o{extra} if $o{extra};
    return vhost(%o, extra => join("\n", @lines));
}

# ---------------------------------------------------------------- the server

my @ALL;
# TLSTest::Httpd->all: every server this test file made
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
    $self->{dir} = tmpdir() . "/httpd$n-$self->{mpm}";
    $self->{ports} = [ map { free_port() } 1 .. $self->{listen} ];
    $self->write_files;
    push @ALL, $self;
    return $self;
}

# port(N): the server's N-th port (0-based: @PORT@ is port(0), @PORT2@ port(1))
sub port    { $_[0]{ports}[ $_[1] // 0 ] }
# dir(), docroot(), conf_file(), error_log_file(), pid_file(): where the
# server's files are
sub dir     { $_[0]{dir} }
sub docroot { "$_[0]{dir}/htdocs" }
sub conf_file { "$_[0]{dir}/httpd.conf" }
sub error_log_file { "$_[0]{dir}/logs/error.log" }
sub pid_file { "$_[0]{dir}/run/httpd.pid" }

my $INDEX = "<html><body>mod_tls test page</body></html>\n";
# TLSTest::Httpd->index_content: the body of every server's index.html
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

# _expand(TEXT): TEXT with its @...@ placeholders filled in (see new)
sub _expand {
    my ($self, $text) = @_;
    my $pki = $text =~ /\@PKI\@/ ? pki() : '';
    $text =~ s/\@PKI\@/$pki/g;
    $text =~ s/\@DIR\@/$self->{dir}/g;
    $text =~ s/\@DOCROOT\@/$self->{dir}\/htdocs/g;
    $text =~ s{\@PORT(\d*)\@}{ $self->{ports}[($1 || 1) - 1] // die "no port $1 in config" }ge;
    $text = _emulate_ssl($text) if $EMULATE;
    return $text;
}

# _emulate_ssl(TEXT): TEXT with the TLS* directives turned into mod_ssl's
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

# write_files(): writes the server's directory: httpd.conf, the document
# root (index.html, ssl.shtml) and cgi-bin/env.cgi
sub write_files {
    my ($self) = @_;
    my $d = $self->{dir};
    mkdir $_ for $d, "$d/htdocs", "$d/cgi-bin", "$d/logs", "$d/run";
    spit("$d/htdocs/index.html", $INDEX);
    spit("$d/htdocs/ssl.shtml", $SSI);
    spit("$d/cgi-bin/env.cgi", $ENV_CGI, 0755);
    my $mpm = $self->{mpm};
    my $threaded = $mpm ne 'prefork';
    my @mods = (@MODULES, ($threaded ? 'cgid' : 'cgi'), @{$self->{modules}});
    my $load = "LoadModule mpm_${mpm}_module $MODDIR/mod_mpm_$mpm.so\n"
             . join('', map { "LoadModule ${_}_module $MODDIR/mod_$_.so\n" } @mods);
    $load .= $EMULATE
           ? "LoadModule ssl_module $MODDIR/mod_ssl.so\nLoadModule socache_shmcb_module $MODDIR/mod_socache_shmcb.so\n"
           : "LoadModule tls_module $MODULE\n" if $self->{tls};
    my $listen = join('', map { "Listen 127.0.0.1:$_\n" } @{$self->{ports}});
    my $cgid = $threaded ? "ScriptSock $d/run/cgid.sock\n" : '';
    my $conf = <<"EOF";
# generated by t/lib/TLSTest/Httpd.pm
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
    spit($self->conf_file, $self->_expand($conf));
}

# line_of(REGEX): line number of the first config line matching REGEX
sub line_of {
    my ($self, $re) = @_;
    my $n = 0;
    for (split /\n/, slurp($self->conf_file)) {
        $n++;
        return $n if /$re/;
    }
    return undef;
}

# _httpd(ARGS...): (exit status, output) of apache2 -f httpd.conf ARGS
sub _httpd {
    my ($self, @args) = @_;
    my @env = ('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C');
    push @env, split ' ', $ENV{MOD_TLS_TEST_ENV} if $ENV{MOD_TLS_TEST_ENV};
    push @env, map { "$_=$self->{env}{$_}" } sort keys %{$self->{env}};
    return run_cmd(['env', '-i', @env, $HTTPD, '-f', $self->conf_file, @args],
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
    subtest("$name: apache2 -t fails and says where and why" => sub {
        isnt($rc, 0, 'apache2 -t exits non-zero');
        like($out, qr/\Q$file\E/, 'names the config file');
        like($out, qr/(\bline |:)$n\b/, "names line $n");
        like($out, qr/\b$directive\b/, "names $directive");
        like($out, $reason, 'gives the reason');
    }) or diag("apache2 -t output:\n$out");
    ok(!$self->try_start, "$name: httpd does not start");
    return $out;
}

# modules(): output of apache2 -M
sub modules { ($_[0]->_httpd('-M'))[1] }

# error_log(): the text of the error log
sub error_log { slurp($_[0]->error_log_file) // '' }

# log_mark() / log_since(MARK): the part of the error log written after MARK
sub log_mark  { -s $_[0]->error_log_file || 0 }
sub log_since { substr($_[0]->error_log, $_[1]) }

# wait_log(REGEX, since => MARK, timeout => SECS): polls the error log until a
# line after MARK matches; returns the matching lines ('' after the timeout)
sub wait_log {
    my ($self, $re, %o) = @_;
    my $found = '';
    wait_until(sub {
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
    wait_until(sub {
        my $text = slurp($path) // '';
        $found = join("\n", grep { /$re/ } split /\n/, substr($text, $o{since} // 0));
    }, timeout => $o{timeout} // 10);
    return $found;
}

# _generations(): how many times the server has started (a graceful
# restart counts)
sub _generations {
    my ($self) = @_;
    my @n = $self->error_log =~ /resuming normal operations/g;
    return scalar @n;
}

# pid(): the process id of the parent httpd, or undef
sub pid {
    my $pid = slurp($_[0]->pid_file) // '';
    return $pid =~ /^(\d+)/ ? $1 : undef;
}

# running(): true while the started server's parent process lives
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
    my $ok = wait_until(sub {
        $self->pid && $self->_generations > $gen
            && !grep { !listening($_) } @{$self->{ports}}
    }, timeout => 30);
    $self->{start_output} .= "\nhttpd did not come up within 30s" unless $ok;
    return $ok;
}

# start_output(): what the last start attempt printed
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
    wait_until(sub { $self->_generations > $gen }, timeout => 30)
        or die "no new generation after graceful:\n" . substr($self->error_log, -3000);
    return $self;
}

# stop(): apache2 -k stop, returns when the server process is gone
sub stop {
    my ($self) = @_;
    return unless $self->{started};
    my $pid = $self->pid;
    $self->_httpd('-k', 'stop');
    if ($pid && !wait_until(sub { !kill(0, $pid) }, timeout => 20)) {
        kill('KILL', $pid);
    }
    $self->{started} = 0;
}

# a server stops when its object goes away, and at exit (below)
sub DESTROY {
    my ($self) = @_;
    local ($?, $!, $@);
    $self->stop if $self->running;
}

END { local $?; $_->stop for grep { $_->running } reverse all() }

1;
