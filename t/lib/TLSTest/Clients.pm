package TLSTest::Clients;
# The TLS clients the tests talk to httpd with, one runner each:
#   curl             curl_cmd (the command line), tls_get(client => 'curl')
#   openssl s_client s_client
#   gnutls-cli       gnutls_cli
#   IO::Socket::SSL  tls_connect (a connection), perl_ssl_args (its options)
#   h2load           h2load
# tls_get runs any of the first four for one GET and answers alike for all.
# %ONLY is the one table of how each client offers a single TLS version.
use strict;
use warnings;
use IO::Socket::SSL;
use TLSTest::Util qw(tmpdir run_cmd slurp spit);
use TLSTest::PKI qw(pki client_cert pem_certs);
use TLSTest::HTTP qw(http_request read_response parse_responses);
use Exporter 'import';

our @EXPORT = qw(version_args gnutls_priority perl_ssl_args curl_cmd s_client gnutls_cli
                 tls_connect tls_get sni_args cert_args h2load);

# what makes each client offer TLS VERSION only: command line arguments (curl,
# openssl), the priority string (gnutls), the SSL_version value (perl)
my %ONLY = (
    curl    => { '1.2' => ['--tlsv1.2', '--tls-max', '1.2'], '1.3' => ['--tlsv1.3'] },
    openssl => { '1.1' => ['-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0'],
                 '1.2' => ['-tls1_2'], '1.3' => ['-tls1_3'] },
    gnutls  => { map { $_ => ["NORMAL:-VERS-ALL:+VERS-TLS$_"] } qw(1.1 1.2 1.3) },
    perl    => { '1.1' => ['TLSv1_1'], '1.2' => ['TLSv1_2'], '1.3' => ['TLSv1_3'] },
);

# version_args(CLIENT, VERSION): %ONLY's entry for CLIENT (curl, openssl,
# gnutls, perl) and VERSION ('1.1', '1.2', '1.3') as a list; () without VERSION
sub version_args {
    my ($client, $version) = @_;
    return () unless $version;
    my $args = $ONLY{$client}{$version} or die "version_args: no TLS $version for $client";
    return @$args;
}

# gnutls_priority(VERSION): gnutls-cli's priority for TLS VERSION only, or
# NORMAL without VERSION
sub gnutls_priority { (version_args('gnutls', $_[0]))[0] // 'NORMAL' }

# perl_ssl_args(VERSION): the IO::Socket::SSL options of every Perl client:
# the server's certificate must verify against the test CA; TLS VERSION only
# when given
sub perl_ssl_args {
    my ($version) = @_;
    return (SSL_verify_mode => SSL_VERIFY_PEER, SSL_ca_file => pki() . '/ca.crt',
            ($version ? (SSL_version => version_args('perl', $version)) : ()));
}

# _names(%o): (server name to send or '', Host header, name to verify) from
# the sni, host and verify_name options (see tls_get)
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

# cert_args(TOOL, NAME): command line arguments that make TOOL (openssl, curl,
# gnutls) present the PKI's client-NAME with its chain; () for an undefined NAME
sub cert_args {
    my ($tool, $name) = @_;
    return () unless defined $name;
    my ($crt, $key) = client_cert($name);
    if ($tool eq 'openssl') {
        # -cert takes the leaf only; the issuers go to -cert_chain (giving it
        # the whole file would send the leaf twice)
        my @pem = pem_certs(slurp($crt));
        shift @pem;
        my $issuers = tmpdir() . "/client-$name.issuers";
        spit($issuers, join('', @pem)) if @pem && !-s $issuers;
        return ('-cert', $crt, (@pem ? ('-cert_chain', $issuers) : ()), '-key', $key);
    }
    return ('--cert', $crt, '--key', $key) if $tool eq 'curl';
    return ("--x509certfile=$crt", "--x509keyfile=$key") if $tool eq 'gnutls';
    die "cert_args: unknown tool $tool";
}

# _first_response(RESULT): the first of RESULT's responses as its status,
# headers and body (none of them when there is no response)
sub _first_response {
    my ($r) = @_;
    my $first = $r->{responses}[0] or return $r;
    @$r{qw(status headers body)} = @$first{qw(status headers body)};
    return $r;
}

# ---------------------------------------------------------------- curl

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
    my $url_host = 'localhost';
    my @names;
    if (defined $o{sni} || defined $o{host} || defined $o{verify_name}) {
        my ($sni, $host, $verify) = _names(%o);
        $url_host = $sni eq '' ? '127.0.0.1' : $sni;
        push @names, '--resolve', "$sni:$o{port}:127.0.0.1" if $sni ne '' && $sni ne 'localhost';
        push @names, '-H', "Host: $host" if defined $o{host};
        push @names, '-k' if defined $o{verify_name} && lc $verify ne lc $url_host;
    }
    my ($rc, $out) = run_cmd(curl_cmd($o{port}, '-v', version_args('curl', $o{version}), @names,
        '-o', $body, '-D', $head,
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

# ---------------------------------------------------------------- s_client

# s_client(port => P, version => V, sni => NAME ('' sends none), verify_name =>
#          NAME, host => NAME, path => '/', requests => [TEXT...], ca => FILE,
#          cert => client NAME, pha => 1, strict => 1, brief => 1, args => [...]):
# openssl s_client with the requests on stdin (default: a GET of path with
# Connection: close), reading until the server closes (-ign_eof). sni, host,
# verify_name as for tls_get; ca: the trust anchors (default: the test CA);
# pha: offer TLS 1.3 post-handshake authentication; strict: a certificate
# that does not verify ends the handshake (-verify_return_error). Returns
#   { ok => handshake completed, proto, cipher, reused (1 "Reused,", 0
#     "New,"), alpn ('' for none), verify (return code), certs => [PEM...],
#     peer_sig, session_id, tickets (TLS 1.3 tickets received), lifetime_hint
#     (of the first ticket), alert (number of the alert the server sent),
#     alert_text, responses => [{status, headers, body}...], and status,
#     headers, body of the first response, out, rc }
# brief (-brief) leaves out all but ok, proto, cipher, alert and the
# responses. It is for responses that must arrive whole: without it s_client
# prints the session of each TLS 1.3 ticket through a buffer of its own,
# which can end up inside a response when the ticket is large (one that
# carries a client certificate).
sub s_client {
    my (%o) = @_;
    my ($sni, $host, $verify) = _names(%o);
    my $reqs = $o{requests} || [http_request(path => $o{path} // '/', close => 1, host => $host)];
    my ($rc, $out) = run_cmd(['openssl', 's_client', '-connect', "127.0.0.1:$o{port}",
        sni_args('openssl', $sni, $verify), '-CAfile', $o{ca} // pki() . '/ca.crt',
        ($o{strict} ? '-verify_return_error' : ()), ($o{brief} ? '-brief' : '-showcerts'), '-ign_eof',
        version_args('openssl', $o{version}), ($o{pha} ? '-enable_pha' : ()),
        cert_args('openssl', $o{cert}), @{$o{args} || []}],
        stdin => join('', @$reqs), timeout => 30);
    my $r = { out => $out, rc => $rc };
    if ($out =~ /^(New|Reused), (TLSv[\d.]+), Cipher is (\S+)/m && $3 ne '(NONE)') {
        @$r{qw(ok reused proto cipher)} = (1, $1 eq 'Reused' ? 1 : 0, $2, $3);
        $r->{alpn} = $out =~ /^ALPN protocol: (\S+)/m ? $1 : '';
    } elsif ($out =~ /^CONNECTION ESTABLISHED$/m) {
        # what -brief says instead
        $r->{ok} = 1;
        ($r->{proto}) = $out =~ /^Protocol version: (\S+)/m;
        ($r->{cipher}) = $out =~ /^Ciphersuite: (\S+)/m;
    }
    ($r->{verify}) = $out =~ /^\s*Verify return code: (\d+)/m;
    $r->{certs} = [ pem_certs($out) ];
    ($r->{peer_sig}) = $out =~ /^Peer signature type: (\S+)/m;
    ($r->{session_id}) = $out =~ /^\s*Session-ID: ([0-9A-F]*)\s*$/m;
    my @tickets = $out =~ /^Post-Handshake New Session Ticket arrived/mg;
    $r->{tickets} = scalar @tickets;
    ($r->{lifetime_hint}) = $out =~ /^\s*TLS session ticket lifetime hint: (\d+)/m;
    if ($out =~ /alert ([a-z0-9 ]+?):[^\n]*SSL alert number (\d+)/) {
        ($r->{alert_text}, $r->{alert}) = ($1, $2);
    }
    $r->{responses} = parse_responses($out);
    return _first_response($r);
}

# ---------------------------------------------------------------- gnutls-cli

# gnutls_cli(port => P, version => V, priority => STRING, sni => NAME,
#            verify_name => NAME, host => NAME, path => '/', request => TEXT,
#            cert => client NAME, args => [...]):
# gnutls-cli with the request on stdin (default: a GET of path with
# Connection: close). priority replaces the one of version; sni, host,
# verify_name as for tls_get. Returns
#   { ok => handshake completed, proto, gnutls_cipher (GnuTLS's name), alpn
#     ('' for none), certs => [PEM...], handshakes (completed, resumptions
#     included), resumed (1: "This is a resumed session", 0: a resumption
#     handshake without it, undef: no resumption handshake), alert (number
#     received), alert_text, responses, and status, headers, body of the
#     first response, out, rc }
sub gnutls_cli {
    my (%o) = @_;
    my $certs = tmpdir() . "/.gnutls-certs.$$";
    unlink $certs;
    my ($sni, $host, $verify) = _names(%o);
    my @names = (defined $o{sni} || defined $o{verify_name}) ? sni_args('gnutls', $sni, $verify) : ();
    my ($rc, $out) = run_cmd(['gnutls-cli', '--x509cafile', pki() . '/ca.crt',
        '--priority', $o{priority} || gnutls_priority($o{version}), '--save-cert', $certs,
        '-p', $o{port}, @names, cert_args('gnutls', $o{cert}), @{$o{args} || []}, 'localhost'],
        stdin => $o{request} // http_request(path => $o{path} // '/', close => 1, host => $host),
        timeout => 30);
    my $r = { out => $out, rc => $rc };
    if ($out =~ /^- Handshake was completed/m) {
        $r->{ok} = 1;
        if ($out =~ /^- Description: \((TLS1\.\d)/m) {
            ($r->{proto} = $1) =~ s/^TLS/TLSv/;
        }
        ($r->{gnutls_cipher}) = $out =~ /^- Description: .*-\(([^()]+)\)\s*$/m;
        $r->{alpn} = $out =~ /^- Application protocol: (\S+)/m ? $1 : '';
    }
    my @hs = $out =~ /^- (?:Resume )?Handshake was completed/mg;
    $r->{handshakes} = scalar @hs;
    # (gnutls-cli says "This is NOT a resumed session" only now and then)
    $r->{resumed} = $out =~ /^\*\*\* This is a resumed session/m ? 1
                  : $out =~ /^- Resume Handshake was completed/m ? 0 : undef;
    if ($out =~ /Received alert \[(\d+)\]: ([^\n]*)/) {
        ($r->{alert}, $r->{alert_text}) = ($1, $2);
    }
    $r->{certs} = [ pem_certs(slurp($certs)) ];
    unlink $certs;
    $r->{responses} = parse_responses($out);
    return _first_response($r);
}

# ---------------------------------------------------------------- Perl

# tls_connect(port => P, version => '1.2'|'1.3', %IO::Socket::SSL options):
# a verified TLS connection to localhost, or undef ($SSL_ERROR says why)
sub tls_connect {
    my (%o) = @_;
    my $port    = delete $o{port};
    my $version = delete $o{version};
    return IO::Socket::SSL->new(
        PeerHost            => '127.0.0.1',
        PeerPort            => $port,
        SSL_hostname        => 'localhost',
        SSL_verifycn_name   => 'localhost',
        SSL_verifycn_scheme => 'http',
        Timeout             => 10,
        perl_ssl_args($version),
        %o,
    );
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

# ---------------------------------------------------------------- any client

# tls_get(client => curl|gnutls|openssl|perl, port => P, version => '1.2'|'1.3',
#         path => '/', priority => GNUTLS_PRIORITY, args => [extra args],
#         sni => NAME, host => NAME, verify_name => NAME):
# one GET https://localhost:P/path with a Connection: close request. Returns
#   { ok => handshake completed, proto => 'TLSv1.3', cipher => OpenSSL-style
#     name (openssl, curl, perl), status, body, headers => {lc name => value},
#     certs => [PEM ...] (openssl, gnutls), alpn => negotiated protocol ('' for
#     none; curl, openssl, gnutls), http_version (curl), out => the output },
#   and what s_client and gnutls_cli say besides.
# sni: the server name the client sends (default localhost; '' sends none,
# then curl asks for https://127.0.0.1:P/). host: the Host header (default:
# the server name, or localhost). verify_name: the name the certificate must
# be valid for (default: the server name, or localhost); curl cannot check a
# name other than the one it sends and then skips verification (-k).
my %CLIENT = (curl => \&_curl, gnutls => \&gnutls_cli, openssl => \&s_client, perl => \&_perl);
sub tls_get {
    my (%o) = @_;
    my $c = $CLIENT{$o{client}} or die "unknown client $o{client}";
    $o{path} //= '/';
    return $c->(%o);
}

# ---------------------------------------------------------------- h2load

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
