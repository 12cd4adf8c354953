package TLSTest::PKI;
# The test PKI (build/make-pki makes it, once per test file) and what the
# tests read from certificates.
use strict;
use warnings;
use TLSTest::Util qw(tmpdir top_dir run_cmd);
use Exporter 'import';

our @EXPORT = qw(pki pki_cert client_cert cert_info x509_field);

my $TOP = top_dir();

my $PKI;
# pki(): the test PKI of build/make-pki, made once per test file
sub pki {
    return $PKI if $PKI;
    my $dir = tmpdir() . '/pki';
    my ($rc, $out) = run_cmd(["$TOP/build/make-pki", $dir], timeout => 60);
    die "build/make-pki failed: $out" if $rc;
    return $PKI = $dir;
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

# pki_cert(NAME, cn => CN, dns => [NAMES], type => 'ecdsa'|'rsa'|'ed25519',
# days => 365): NAME.key and NAME.crt (leaf, then the intermediate) in the
# test PKI, made by build/make-pki --leaf like its own server certificates
# (valid for 127.0.0.1 as well); made once. Returns the path of NAME.crt;
# tls_vhost(certs => [NAME]) serves it.
sub pki_cert {
    my ($name, %o) = @_;
    my $dir = pki();
    my ($rc, $out) = run_cmd(["$TOP/build/make-pki", $dir, '--leaf', $name, $o{type} || 'ecdsa',
                              $o{days} || 365, $o{cn}, @{$o{dns} || []}], timeout => 60);
    die "build/make-pki --leaf $name failed: $out" if $rc;
    return "$dir/$name.crt";
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

1;
