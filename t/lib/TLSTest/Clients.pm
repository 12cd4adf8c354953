package TLSTest::Clients;
# The TLS clients the tests talk to httpd with: curl, openssl s_client,
# gnutls-cli and Perl's IO::Socket::SSL (tls_get for one GET with any of
# them, tls_connect for a Perl connection), and h2load.
use strict;
use warnings;
use IO::Socket::SSL;
use TLSTest::Util qw(tmpdir run_cmd slurp);
use TLSTest::PKI qw(pki);
use TLSTest::HTTP qw(http_request read_response parse_responses parse_response);
use Exporter 'import';

our @EXPORT = qw(tls_connect tls_get curl_cmd sni_args h2load);

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
    my ($body, $head) = map { tmpdir() . "/.curl-$_.$$" } 'body', 'head';
    unlink $body, $head;
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
    my ($rc, $out) = run_cmd(curl_cmd($o{port}, '-v', @v, @names, '-o', $body, '-D', $head,
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
        # the last header block -D wrote is the final response's
        my $last = parse_responses(slurp($head), head => 1)->[-1];
        $r->{headers} = $last ? $last->{headers} : {};
    }
    unlink $body, $head;
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
    unlink $certs;
    return _with_response($r);
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
    return _with_response($r);
}

# _with_response(RESULT): RESULT with the status, headers and body of the
# first HTTP response in its output (none of them when there is none)
sub _with_response {
    my ($r) = @_;
    my $first = parse_response($r->{out}) or return $r;
    @$r{qw(status headers body)} = @$first{qw(status headers body)};
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


1;
