package TLSTestProxy;
# Helpers of the proxy tests (t/50-proxy*.t), over TLSTest: backends (httpd
# instances with mod_tls or mod_ssl), a frontend that proxies to them with
# mod_proxy, and what each of them saw.
#
#   use TLSTest;
#   use TLSTestProxy;
#   my $be = tls_backend(conf => backend_vhost(vh => 'b1'));   # started
#   my $fe = frontend(conf => vhost(extra => "TLSProxyEngine on\n"
#       . "TLSProxyCA \@PKI\@/ca.crt\nProxyPass /b/ https://localhost:" . $be->port . "/"));
#   my $r = fetch("http://127.0.0.1:" . $fe->port . "/b/cgi-bin/vars.cgi");
#   $r->{status}; $r->{env}{SSL_TLS_SNI};      # what the backend's CGI saw
#   my $mark = $fe->log_mark; ...; tls_errors($fe, $mark);   # mod_tls's error lines
#   backend_log($be);                          # one row per request it served
#
# Backends serve cgi-bin/vars.cgi (every variable of the request, and the
# length and SHA-256 of a request body: TLSTestClient's), /echo (the request
# body back, mod_reflector) and what the test puts in their document root;
# each request is logged to logs/conn.log with the client's port, so that a
# test sees how many connections the requests came on.
use strict;
use warnings;
use Test::More;
use TLSTest;
use TLSTestClient qw(install_scripts);
use Exporter 'import';

our @EXPORT = qw(proxy_modules tls_backend ssl_backend backend_vhost ssl_vhost
                 frontend fetch tls_errors backend_log proxy_counters
                 big_file);

# proxy_modules(MORE...): the modules a frontend loads: mod_proxy and
# mod_proxy_http, then MORE (proxy_http2, http2, ssl ...)
sub proxy_modules { return ['proxy', 'proxy_http', @_] }

# the request log of every backend: "PORT PROTOCOL RESUMED SNI URI", with
# the client's (the frontend's) port, "-" for what is unset
my $CONN_LOG = qq{LogFormat "%{remote}p %{SSL_PROTOCOL}x %{SSL_SESSION_RESUMED}x %{SSL_TLS_SNI}x %U" connlog\n}
             . qq{CustomLog \@DIR\@/logs/conn.log connlog\n};

# backend_vhost(vhost and tls_vhost options): a mod_tls backend's virtual
# host: tls_vhost() with the SSL_* variables in the CGI environment
sub backend_vhost {
    my (%o) = @_;
    my $extra = "TLSOptions +StdEnvVars";
    $extra .= "\n$o{extra}" if $o{extra};
    return tls_vhost(%o, extra => $extra);
}

# ssl_vhost(port => '@PORT@', name =>, aliases =>, vh =>, cert => 'server-ecdsa',
#           extra => TEXT): a mod_ssl backend's virtual host with the PKI's
# certificate NAME (.crt with its chain, .key) and +StdEnvVars
sub ssl_vhost {
    my (%o) = @_;
    my $cert = $o{cert} || 'server-ecdsa';
    my $extra = "SSLEngine on\nSSLCertificateFile \@PKI\@/$cert.crt\n"
              . "SSLCertificateKeyFile \@PKI\@/$cert.key\nSSLOptions +StdEnvVars";
    $extra .= "\n$o{extra}" if $o{extra};
    return vhost(%o, extra => $extra);
}

# tls_backend(conf => VHOSTS, listen => N, mpm =>, modules => [...], global =>):
# a started mod_tls backend serving VHOSTS (backend_vhost texts)
sub tls_backend {
    my (%o) = @_;
    return _backend(%o, tls => 1);
}

# ssl_backend(same options): a started mod_ssl backend (ssl_vhost texts)
sub ssl_backend {
    my (%o) = @_;
    return _backend(%o, tls => 0, modules => ['ssl', 'socache_shmcb', @{$o{modules} || []}],
        global => "SSLSessionCache shmcb:\@DIR\@/run/ssl_scache(512000)\n" . ($o{global} // ''));
}

sub _backend {
    my (%o) = @_;
    my $h = TLSTest::Httpd->new(mpm => $o{mpm} || 'event', listen => $o{listen} || 1,
                                tls => $o{tls}, modules => $o{modules} || [],
                                global => $CONN_LOG . ($o{global} // ''), conf => $o{conf});
    install_scripts($h);
    return $h->start;
}

# frontend(conf => TEXT, modules => [MORE], mpm =>, listen =>, global =>,
# tls => 1, start => 1): the proxying httpd (mod_proxy, mod_proxy_http and
# MORE), started unless start => 0
sub frontend {
    my (%o) = @_;
    my $h = TLSTest::Httpd->new(mpm => $o{mpm} || 'event', listen => $o{listen} || 1,
                                tls => $o{tls} // 1, modules => proxy_modules(@{$o{modules} || []}),
                                global => $o{global} // '', conf => $o{conf});
    return $o{start} // 1 ? $h->start : $h;
}

# fetch(URL, host => NAME, upload => FILE (POSTed), out => FILE (the body
# goes there), args => [curl args], timeout => SECS): one request with curl
# (the test CA trusted, localhost resolved to 127.0.0.1); returns { status
# (undef without a response), headers => {lc name => value}, body (unless
# out), env (body's NAME=VALUE lines), size (bytes received), rc, out }
sub fetch {
    my ($url, %o) = @_;
    my ($port) = $url =~ m{^\w+://[^/]+:(\d+)} or die "fetch: no port in $url";
    my $dir = tmpdir();
    my $head = "$dir/.fetch-head.$$";
    my $body = $o{out} // "$dir/.fetch-body.$$";
    unlink $head, ($o{out} ? () : $body);
    my @args = ('-o', $body, '-D', $head, '-w', "\nFETCH_RESULT %{http_code} %{size_download}\n");
    push @args, '--data-binary', "\@$o{upload}", '-H', 'Content-Type: application/octet-stream'
        if $o{upload};
    push @args, '-H', "Host: $o{host}" if $o{host};
    my ($rc, $out) = run_cmd(curl_cmd($port, @args, @{$o{args} || []}, $url),
                             timeout => $o{timeout} || 90);
    my $r = { rc => $rc, out => $out };
    if ($out =~ /^FETCH_RESULT (\d+) (\d+)/m) {
        $r->{status} = $1 eq '000' ? undef : $1;
        $r->{size} = $2;
    }
    my $last = parse_responses(slurp($head) // '', head => 1)->[-1];
    $r->{headers} = $last ? $last->{headers} : {};
    unless ($o{out}) {
        $r->{body} = slurp($body) // '';
        $r->{env} = parse_env($r->{body});
        unlink $body;
    }
    unlink $head;
    return $r;
}

# tls_errors(HTTPD, MARK): mod_tls's error-level lines of the log since MARK
sub tls_errors {
    my ($h, $mark) = @_;
    return grep { /\[tls:error\]/ } split /\n/, $h->log_since($mark // 0);
}

# backend_log(HTTPD): the rows of a backend's logs/conn.log, as
# [{ port, proto, resumed, sni, uri }] ('' for what was unset)
sub backend_log {
    my ($h) = @_;
    my @rows;
    for (split /\n/, slurp($h->log_file('conn.log')) // '') {
        my %r;
        @r{qw(port proto resumed sni uri)} = map { $_ eq '-' ? '' : $_ } split ' ', $_, 5;
        push @rows, \%r;
    }
    return \@rows;
}

# proxy_counters(HTTPD, port => N): the TLS* lines of server-status?auto,
# read over plain HTTP on the server's port N (default 0); dies when the
# backend counters are not there, so that no difference of two missing
# values can pass for "no handshake"
sub proxy_counters {
    my ($h, %o) = @_;
    my $r = plain_get($h->port($o{port} // 0), path => '/server-status?auto');
    my %c;
    $c{$1} = $2 while ($r->{body} // '') =~ /^(TLS\w+): (\d+)\r?$/mg;
    for (qw(TLSProxyHandshakesFull TLSProxyHandshakesResumed TLSProxyHandshakesFailed)) {
        die "proxy_counters: no $_ on server-status (HTTP " . ($r->{status} // 'none') . ")\n"
            unless defined $c{$_};
    }
    return \%c;
}

# big_file(HTTPD, NAME, MB): NAME in the server's document root, MB MiB of
# random bytes (made once per test file, then linked); returns its path
sub big_file {
    my ($h, $name, $mb) = @_;
    my $src = make_random_file(tmpdir() . "/random-$mb.bin", $mb * 1024 * 1024);
    my $dst = $h->docroot . "/$name";
    link($src, $dst) or spit($dst, slurp($src)) unless -e $dst;
    return $dst;
}

1;
