package TLSTest::PKI;
# The test PKI. build/make-pki is the one maker of certificates: pki() runs
# it once per test file, pki_cert() asks it for an extra server certificate.
# x509_field() is the one reader of certificates (openssl x509); the other
# readers here are views of it.
use strict;
use warnings;
use Time::Local qw(timegm);
use TLSTest::Util qw(tmpdir top_dir run_cmd slurp);
use Exporter 'import';

our @EXPORT = qw(pki pki_cert pki_client client_cert x509_field x509_time cert_info pem_certs cert_pem);

# _make_pki(DIR, ARGS...): runs build/make-pki DIR ARGS, dies when it fails
sub _make_pki {
    my ($dir, @args) = @_;
    my ($rc, $out) = run_cmd([top_dir() . '/build/make-pki', $dir, @args], timeout => 60);
    die "build/make-pki @args failed: $out" if $rc;
}

my $PKI;
# pki(): the directory of this test file's PKI (its files: build/make-pki)
sub pki {
    return $PKI if $PKI;
    my $dir = tmpdir() . '/pki';
    _make_pki($dir);
    return $PKI = $dir;
}

# pki_cert(NAME, cn => CN, dns => [NAMES], type => 'ecdsa'|'rsa'|'ed25519',
# days => 365, ocsp => URL): NAME.key and NAME.crt (leaf, then the
# intermediate) in the test PKI, made by build/make-pki --leaf like its own
# server certificates (valid for 127.0.0.1 as well, unless dns lists
# 'ip:ADDR' entries or 'ip:none'), naming URL as its OCSP responder when
# given; made once. days may be a past or future validity period,
# 'YYYY-MM-DD..YYYY-MM-DD'. Returns the path of NAME.crt;
# tls_vhost(certs => [NAME]) serves it.
sub pki_cert {
    my ($name, %o) = @_;
    my $dir = pki();
    _make_pki($dir, '--leaf', $name, $o{type} || 'ecdsa', $o{days} || 365, $o{cn},
              @{$o{dns} || []}, (defined $o{ocsp} ? "ocsp:$o{ocsp}" : ()));
    return "$dir/$name.crt";
}

# pki_client(NAME, issuer => 'int'|'int2', ocsp => URL): client-NAME.key and
# client-NAME.crt (leaf, then its issuer) in the test PKI, made by
# build/make-pki --client: ECDSA, CN=NAME, EKU clientAuth, naming URL as its
# OCSP responder when given; made once. client_cert(NAME) and the clients'
# cert => NAME then find it. Returns the path of client-NAME.crt.
sub pki_client {
    my ($name, %o) = @_;
    my $dir = pki();
    _make_pki($dir, '--client', $name, $o{issuer} || 'int', (defined $o{ocsp} ? $o{ocsp} : ()));
    return "$dir/client-$name.crt";
}

# client_cert(NAME): (certificate chain file, key file) of the PKI's
# client-NAME (alice bob expired notyet revoked wrongeku otherca selfsigned)
sub client_cert {
    my ($name) = @_;
    my $dir = pki();
    my ($crt, $key) = ("$dir/client-$name.crt", "$dir/client-$name.key");
    die "no client certificate $name in $dir" unless -s $crt && -s $key;
    return ($crt, $key);
}

# x509_field(FILE_OR_PEM, ARGS...): what `openssl x509 -noout ARGS` prints for
# the first certificate of a file (or of PEM text), without a "name=" prefix
# when it prints one value (-subject, -serial, -enddate...)
sub x509_field {
    my ($cert, @args) = @_;
    my $pem = $cert =~ /^-----BEGIN/;
    my ($rc, $out) = run_cmd(['openssl', 'x509', '-noout', ($pem ? () : ('-in', $cert)), @args],
                             $pem ? (stdin => $cert) : ());
    die "openssl x509 @args failed: $out" if $rc;
    $out =~ s/\s+$//;
    $out =~ s/^\w+=// if $out !~ /\n/;
    return $out;
}

my %MONTH = (Jan => 0, Feb => 1, Mar => 2, Apr => 3, May => 4, Jun => 5,
             Jul => 6, Aug => 7, Sep => 8, Oct => 9, Nov => 10, Dec => 11);
# x509_time(TEXT): the epoch seconds of a date as openssl (-startdate,
# -enddate) and mod_ssl (SSL_*_V_START, _V_END) write it:
# "Jan  1 00:00:00 2030 GMT"
sub x509_time {
    my ($text) = @_;
    my ($mon, $d, $hh, $mm, $ss, $y) = ($text // '') =~ /^(\w{3}) +(\d+) (\d+):(\d+):(\d+) (\d{4}) GMT$/
        or die "not an x509 date: " . ($text // 'undef');
    return timegm($ss, $mm, $hh, $d, $MONTH{$mon}, $y);
}

# cert_info(PEM): { subject, cn, key => 'RSA'|'ECDSA'|'Ed25519'|'?...' } of a
# certificate ({} for none, and no key type for one openssl cannot read)
sub cert_info {
    my ($pem) = @_;
    return {} unless $pem;
    my $text = eval { x509_field($pem, '-subject', '-text') } // '';
    my %i;
    ($i{subject}) = $text =~ /^subject=(.*)$/m;
    ($i{cn}) = ($i{subject} // '') =~ /CN\s*=\s*([^,\/]+)/;
    my ($alg) = $text =~ /Public Key Algorithm: (\S+)/;
    $alg //= '';
    $i{key} = $alg eq 'rsaEncryption' ? 'RSA' : $alg eq 'id-ecPublicKey' ? 'ECDSA'
            : $alg =~ /ED25519/i ? 'Ed25519' : "?$alg";
    return \%i;
}

# pem_certs(TEXT): every PEM certificate in TEXT (a file's content, or what
# a client printed), in order
sub pem_certs {
    my ($text) = @_;
    return ($text // '') =~ /(-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?)/gs;
}

# cert_pem(FILE, N): the N-th (0-based) PEM certificate of FILE
sub cert_pem { (pem_certs(slurp($_[0])))[$_[1] // 0] }

1;
