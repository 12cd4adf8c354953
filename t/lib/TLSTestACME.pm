package TLSTestACME;
# Certificates from mod_md for the tests (t/60-acme-*.t): a real ACME
# server, Debian's pebble, with pebble-challtestsrv as its DNS server
# answering 127.0.0.1 for every name, so that its validation authority
# reaches the test's httpd for the names of the tests (a.mdtest.local...);
# the configuration mod_md needs to use it; md-status read as JSON; an OCSP
# responder (openssl ocsp) signing with pebble's intermediate CA, for
# stapling.
#
#   use TLSTestACME;
#   skip_without_pebble();
#   my $ca = TLSTestACME::Pebble->new;              # its ports, not started
#   my $h = TLSTest::Httpd->new(listen => 2, modules => ['md', 'http2'],
#       global => md_global($ca), conf => md_vhost(name => 'a.mdtest.local'));
#   $ca->start(http_port => $h->port(0), tls_port => $h->port(1));
#   $h->start;
#   my $md = wait_md($h, 'a.mdtest.local', sub { md_staged($_[0]) });
#   $h->graceful;                                   # now it serves the certificate
#
# @PORT@ is the server's plain HTTP port (http-01, md-status, server-status),
# @PORT2@ its TLS port (tls-alpn-01); MDPortMap tells mod_md so. Every
# process started here is stopped when its object goes, and at exit.
use strict;
use warnings;
use JSON::PP;
use POSIX ();
use Test::More;
use TLSTest;
use TLSTest::Util qw(listening);
use Exporter 'import';

our @EXPORT = qw(skip_without_pebble md_global md_vhost md_status md_of wait_md
                 md_staged md_serials acme_curl acme_s_client serial_of key_of);

# skip_without_pebble(): skip_all when pebble is not installed
sub skip_without_pebble {
    for my $tool (qw(pebble pebble-challtestsrv)) {
        plan(skip_all => "$tool not installed (build/deps --test installs pebble)")
            unless have_tool($tool);
    }
}

# md_global(CA, challenges => 'tls-alpn-01', keys => 'secp256r1 rsa2048',
#           extra => TEXT): the server-wide mod_md lines: its store in the
# server's directory, CA (a TLSTestACME::Pebble) as the ACME server, whose
# API certificate the test PKI's root signed, the ports, md-status at
# /md-status, the status pages, short retries; the challenge types and key
# types given
sub md_global {
    my ($ca, %o) = @_;
    my $dir = $ca->dir_url;
    my $text = <<"EOF";
MDStoreDir \@DIR\@/md
MDCertificateAuthority $dir
MDCACertificateFile \@PKI\@/ca.crt
MDCertificateAgreement accepted
MDContactEmail admin\@mdtest.local
MDPortMap http:\@PORT\@ https:\@PORT2\@
MDServerStatus on
MDCertificateStatus on
MDRetryDelay 1s
<Location /md-status>
    SetHandler md-status
</Location>
EOF
    $text .= "MDCAChallenges $o{challenges}\n" if $o{challenges};
    $text .= "MDPrivateKeys $o{keys}\n" if $o{keys};
    $text .= "$o{extra}\n" if $o{extra};
    return $text;
}

# md_vhost(name => NAME, md => 1, protocols => 'h2 http/1.1 acme-tls/1',
#          extra => TEXT, and vhost's options): a TLS vhost on @PORT2@ without
# TLSCertificate (extra may add some), in an MDomain of its name unless md
# is 0, speaking the protocols given
sub md_vhost {
    my (%o) = @_;
    my $name = $o{name} or die 'md_vhost: name';
    my $text = ($o{md} // 1) ? "MDomain $name\n" : '';
    return $text . vhost(port => '@PORT2@', %o, extra => join("\n",
        'TLSEngine on', 'Protocols ' . ($o{protocols} // 'h2 http/1.1 acme-tls/1'),
        ($o{extra} ? $o{extra} : ())));
}

# md_status(H): mod_md's md-status of server H (over its plain port) as
# a hash: managed domain name -> its JSON object
sub md_status {
    my ($h) = @_;
    my $r = eval { plain_get($h->port(0), path => '/md-status') };
    return {} unless $r && ($r->{status} // 0) == 200;
    my $json = eval { decode_json($r->{body}) } or return {};
    return { map { $_->{name} => $_ } @{$json->{'managed-domains'} || []} };
}

# md_of(H, NAME): md-status's object for managed domain NAME ({} if none)
sub md_of { md_status($_[0])->{$_[1]} || {} }

# wait_md(H, NAME, CODE, timeout => 90): polls md-status until CODE, given
# NAME's object, returns true; returns the object then, undef after the
# timeout (with a diagnostic of what md-status said last)
sub wait_md {
    my ($h, $name, $code, %o) = @_;
    my $md;
    my $ok = wait_until(sub {
        $md = md_of($h, $name);
        return $code->($md);
    }, timeout => $o{timeout} // 90);
    return $md if $ok;
    diag("md-status of $name after waiting:\n" . JSON::PP->new->pretty->canonical->encode($md // {}));
    return undef;
}

# md_staged(MD, KEYS...): true when a renewal finished and has staged a
# certificate for each key type of KEYS (default: the MD's first), whose
# serial differs from the one of the active certificate of that type
sub md_staged {
    my ($md, @keys) = @_;
    my $staged = $md->{renewal} && $md->{renewal}{finished} && $md->{renewal}{cert}
        or return 0;
    @keys = ('secp256r1') unless @keys;
    for my $k (@keys) {
        my $s = $staged->{$k} && $staged->{$k}{serial} or return 0;
        my $active = ($md->{cert} && $md->{cert}{$k} && $md->{cert}{$k}{serial}) // '';
        return 0 if $s eq $active;
    }
    return 1;
}

# md_serials(MD, 'cert'|'renewal'): { key type => serial } of the active
# (or the staged) certificates in md-status's object MD
sub md_serials {
    my ($md, $which) = @_;
    my $certs = $which && $which eq 'renewal' ? ($md->{renewal} || {})->{cert} : $md->{cert};
    return { map { $_ => $certs->{$_}{serial} }
             grep { ref $certs->{$_} eq 'HASH' && $certs->{$_}{serial} } keys %{$certs || {}} };
}

# serial_of(PEM): a certificate's serial (upper-case hex, as md-status);
# key_of(PEM): its key type (RSA, ECDSA, Ed25519)
sub serial_of { x509_field($_[0], '-serial') }
sub key_of    { cert_info($_[0])->{key} // '' }

# acme_curl(H, NAME, ca => FILE, http2 => 1, path => '/', insecure => 1,
#           args => [...]): curl https://NAME:PORT2/path over 127.0.0.1,
# trusting FILE (pebble's root) or nothing (insecure); { rc, out, status,
# http_version, alpn, body }
sub acme_curl {
    my ($h, $name, %o) = @_;
    my $port = $h->port(1);
    my $body = tmpdir() . "/.acme-curl.$$";
    unlink $body;
    my ($rc, $out) = run_cmd(['curl', '-sS', '-v', '--max-time', '30',
        ($o{http2} ? '--http2' : '--http1.1'),
        ($o{insecure} ? '-k' : ('--cacert', $o{ca})),
        '--resolve', "$name:$port:127.0.0.1",
        '-o', $body, '-w', "\nCURL_RESULT %{http_code} %{http_version}\n",
        @{$o{args} || []}, "https://$name:$port" . ($o{path} // '/')], timeout => 40);
    my $r = { rc => $rc, out => $out, body => slurp($body) };
    unlink $body;
    @$r{qw(status http_version)} = ($1, $2) if $out =~ /^CURL_RESULT (\d+) (\S+)/m;
    $r->{alpn} = $out =~ /ALPN[:,] server accepted(?: to use)? (\S+)/ ? $1 : '';
    return $r;
}

# acme_s_client(H, NAME, ca => FILE, key => 'rsa'|'ecdsa', version => V,
#               status => 1, alpn => PROTOS, cert => client NAME, brief => 1,
#               args => [...]): s_client to the
# TLS port for NAME, trusting FILE, made to take the RSA or the ECDSA
# certificate (signature algorithms), asking for OCSP status when status is
# set; s_client's result, plus { cert (the leaf's PEM), staple ('good',
# 'revoked'..., undef for none) }
sub acme_s_client {
    my ($h, $name, %o) = @_;
    my @sigalgs = !$o{key} ? ()
                : $o{key} eq 'rsa' ? ('-sigalgs', 'rsa_pss_rsae_sha256:RSA+SHA256')
                : ('-sigalgs', 'ECDSA+SHA256');
    my $r = s_client(port => $h->port(1), sni => $name, ca => $o{ca}, version => $o{version},
        cert => $o{cert}, brief => $o{brief},
        requests => $o{requests} // [http_request(path => '/', close => 1, host => $name)],
        args => [@sigalgs, ($o{status} ? '-status' : ()),
                 ($o{alpn} ? ('-alpn', $o{alpn}) : ()), @{$o{args} || []}]);
    $r->{cert} = $r->{certs}[0];
    $r->{staple} = $r->{out} =~ /^\s*Cert Status: (\S+)/m ? $1 : undef;
    return $r;
}

# ---------------------------------------------------------------- processes

# _kill(PID): ends PID's process group (TERM, then KILL) and reaps it
sub _kill {
    my ($pid) = @_;
    return unless $pid;
    kill('TERM', -$pid);
    my $gone = wait_until(sub { waitpid($pid, POSIX::WNOHANG()) != 0 }, timeout => 10);
    unless ($gone) {
        kill('KILL', -$pid);
        waitpid($pid, 0);
    }
}

my @RUNNING;
END { local $?; $_->stop for grep { defined } @RUNNING }

# ---------------------------------------------------------------- pebble

package TLSTestACME::Pebble;
use strict;
use warnings;
use JSON::PP;
use TLSTest;
use TLSTest::Util qw(listening);

my $PEBBLES = 0;
# TLSTestACME::Pebble->new: pebble's ports (ACME API, management API, the
# DNS server, its management port) and directory, not started yet
sub new {
    my ($class) = @_;
    my $self = bless {}, $class;
    $self->{$_} = free_port() for qw(acme_port mgmt_port dns_port dns_mgmt_port);
    $self->{dir} = tmpdir() . '/pebble' . ++$PEBBLES;
    mkdir $self->{dir};
    push @RUNNING, $self;
    return $self;
}

# dir_url(): the ACME directory URL mod_md is configured with
sub dir_url { "https://127.0.0.1:$_[0]{acme_port}/dir" }
sub dir     { $_[0]{dir} }

# start(http_port => P, tls_port => P, ocsp_url => URL, validity => SECS):
# starts pebble-challtestsrv (DNS: every A query answers 127.0.0.1) and
# pebble, whose validation authority connects to the given ports for
# http-01 and tls-alpn-01 (a port nothing listens on makes that challenge
# fail), and which puts ocsp_url into the certificates it issues. Pebble
# validates at once (PEBBLE_VA_NOSLEEP), rejects no good nonce, and makes
# every order validate its names afresh (PEBBLE_AUTHZREUSE=0). Its API
# certificate comes from the test PKI. Returns when both serve.
sub start {
    my ($self, %o) = @_;
    my $d = $self->{dir};
    my $crt = pki_cert('pebble', cn => 'pebble', dns => ['localhost']);
    (my $key = $crt) =~ s/\.crt$/.key/;
    my %conf = (listenAddress => "127.0.0.1:$self->{acme_port}",
                managementListenAddress => "127.0.0.1:$self->{mgmt_port}",
                certificate => $crt, privateKey => $key,
                httpPort => $o{http_port} + 0, tlsPort => $o{tls_port} + 0,
                ocspResponderURL => $o{ocsp_url} // '',
                externalAccountBindingRequired => JSON::PP::false);
    $conf{certificateValidityPeriod} = $o{validity} + 0 if $o{validity};
    spit("$d/pebble.json", JSON::PP->new->canonical->encode({ pebble => \%conf }));
    $self->{dns_pid} = spawn("$d/challtestsrv.log", {},
        'pebble-challtestsrv', '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '',
        '-dns01', "127.0.0.1:$self->{dns_port}", '-http01', '', '-https01', '',
        '-tlsalpn01', '', '-management', "127.0.0.1:$self->{dns_mgmt_port}");
    $self->{pid} = spawn("$d/pebble.log",
        { PEBBLE_VA_NOSLEEP => 1, PEBBLE_WFE_NONCEREJECT => 0, PEBBLE_AUTHZREUSE => 0 },
        'pebble', '-config', "$d/pebble.json", '-dnsserver', "127.0.0.1:$self->{dns_port}");
    my $up = wait_until(sub {
        listening($self->{acme_port}) && listening($self->{mgmt_port})
            && listening($self->{dns_mgmt_port})
    }, timeout => 30);
    die "pebble did not come up:\n" . $self->log unless $up;
    spit("$d/root.pem", $self->fetch('/roots/0'));
    return $self;
}

# fetch(PATH): a document of pebble's management API (/roots/0,
# /intermediates/0, /intermediate-keys/0...), or dies
sub fetch {
    my ($self, $path) = @_;
    my ($rc, $out) = run_cmd(['curl', '-sS', '--fail', '--max-time', '20', '--cacert',
                              pki() . '/ca.crt', "https://127.0.0.1:$self->{mgmt_port}$path"]);
    die "pebble $path: $out" if $rc;
    return $out;
}

# root_file(): pebble's issuing root (PEM), the trust anchor of what it issues
sub root_file { "$_[0]{dir}/root.pem" }

# intermediate(): (certificate file, key file) of pebble's intermediate CA,
# which signs the certificates (and can sign OCSP responses for them)
sub intermediate {
    my ($self) = @_;
    my ($crt, $key) = map { "$self->{dir}/$_" } 'intermediate.pem', 'intermediate.key';
    spit($crt, $self->fetch('/intermediates/0')) unless -s $crt;
    spit($key, $self->fetch('/intermediate-keys/0'), 0600) unless -s $key;
    return ($crt, $key);
}

# log(): what pebble and its DNS server wrote
sub log {
    my ($self) = @_;
    return join('', map { slurp("$self->{dir}/$_") // '' } 'pebble.log', 'challtestsrv.log');
}

# stop(): stops pebble and its DNS server
sub stop {
    my ($self) = @_;
    TLSTestACME::_kill(delete $self->{$_}) for qw(pid dns_pid);
}

sub DESTROY { local ($?, $!, $@); $_[0]->stop }

# ---------------------------------------------------------------- OCSP

package TLSTestACME::OCSP;
use strict;
use warnings;
use TLSTest;
use TLSTest::Util qw(listening);

my $RESPONDERS = 0;
# TLSTestACME::OCSP->new: a port and a directory for an OCSP responder,
# not started yet
sub new {
    my ($class) = @_;
    my $self = bless { port => free_port(), dir => tmpdir() . '/ocsp' . ++$RESPONDERS }, $class;
    mkdir $self->{dir};
    push @RUNNING, $self;
    return $self;
}

# url(): what pebble puts into certificates as their OCSP responder
sub url { "http://127.0.0.1:$_[0]{port}/" }

# start(ca => CERTFILE, key => KEYFILE, certs => [FILES], revoked => [FILES]):
# openssl ocsp on the port, signing with the CA's key, answering "good" for
# the certificates in certs, "revoked" for those in revoked, "unknown" for
# any other. Responses are valid for a day. Returns when it listens.
sub start {
    my ($self, %o) = @_;
    my $d = $self->{dir};
    my $index = '';
    my @rows = ((map { ['V', $_] } @{$o{certs} || []}), (map { ['R', $_] } @{$o{revoked} || []}));
    for my $row (@rows) {
        my ($flag, $file) = @$row;
        $index .= join("\t", $flag, _index_time(x509_time(x509_field($file, '-enddate'))),
                       $flag eq 'R' ? _index_time(time - 3600) : '',
                       x509_field($file, '-serial'), 'unknown',
                       '/CN=' . (cert_info(slurp($file))->{cn} // 'x')) . "\n";
    }
    spit("$d/index.txt", $index);
    # the same name may be certified twice (a renewal, another key type)
    spit("$d/index.txt.attr", "unique_subject = no\n");
    $self->{pid} = spawn("$d/ocsp.log", {}, 'openssl', 'ocsp',
        '-index', "$d/index.txt", '-port', $self->{port}, '-rsigner', $o{ca},
        '-rkey', $o{key}, '-CA', $o{ca}, '-ndays', '1');
    # (openssl ocsp serves one client at a time: no probe connection)
    wait_until(sub { listening($self->{port}) }, timeout => 20)
        or die "openssl ocsp did not come up:\n" . (slurp("$d/ocsp.log") // '');
    return $self;
}

# _index_time(EPOCH): a time as openssl's index file writes it
sub _index_time {
    my @t = gmtime($_[0]);
    return sprintf('%02d%02d%02d%02d%02d%02dZ', $t[5] % 100, $t[4] + 1, @t[3, 2, 1, 0]);
}

# log(): what openssl ocsp wrote
sub log { slurp("$_[0]{dir}/ocsp.log") // '' }

sub stop { TLSTestACME::_kill(delete $_[0]{pid}) }

sub DESTROY { local ($?, $!, $@); $_[0]->stop }

1;
