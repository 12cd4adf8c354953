package TLSTestPkcs11;
# PKCS#11 tokens for the tests: a SoftHSM v2 token of the test's own, in its
# tmpdir, with keys of the test PKI imported into it.
#
#   use TLSTestPkcs11;
#   skip_without_softhsm();           # skip_all when softhsm2/p11tool are missing
#   my $tok = softhsm_token(keys => { ecdsa => "$pki/server-ecdsa.key" });
#   TLSTest::Httpd->new(env => $tok->{env}, conf => ...
#       "TLSCertificate \@PKI\@/server-ecdsa.crt " . $tok->{uri}->('ecdsa'));
#
# Nothing system-wide changes: SoftHSM reads the configuration file named by
# SOFTHSM2_CONF (in the test's tmpdir), which puts the token directory there
# too; the same variable goes to p11tool here and to httpd through
# TLSTest::Httpd's env option. GnuTLS finds SoftHSM through p11-kit's module
# registration that Debian's softhsm2 package installs.
use strict;
use warnings;
use Test::More;
use TLSTest;
use Exporter 'import';

our @EXPORT = qw(skip_without_softhsm softhsm_token);

sub skip_without_softhsm {
    for my $tool (qw(softhsm2-util p11tool)) {
        plan(skip_all => "$tool not installed (build/deps --test installs "
                         . "softhsm2 and gnutls-bin)") unless have_tool($tool);
    }
    my @mods = grep { -r } glob('/usr/share/p11-kit/modules/softhsm2.module');
    plan(skip_all => 'SoftHSM is not registered with p11-kit '
                     . '(/usr/share/p11-kit/modules/softhsm2.module)') unless @mods;
}

my $N = 0;
# softhsm_token(label => 'modtls', pin => '1234', keys => { NAME => PEMFILE }):
# a new token holding each key as object NAME. Returns { dir (the token
# directory), conf (SoftHSM's config file), env ({ SOFTHSM2_CONF => conf }),
# label, pin, uri (NAME, %attrs -> "pkcs11:token=LABEL;object=NAME;
# type=private;pin-value=PIN", attributes in %attrs replacing or adding to
# those; undef values leave one out) }
sub softhsm_token {
    my (%o) = @_;
    my $label = $o{label} // 'modtls';
    my $pin   = $o{pin} // '1234';
    my $base  = tmpdir() . '/softhsm' . ++$N;
    mkdir $base or die "mkdir $base: $!";
    mkdir "$base/tokens" or die "mkdir $base/tokens: $!";
    my $conf = spit("$base/softhsm2.conf", "directories.tokendir = $base/tokens\n"
                    . "objectstore.backend = file\nlog.level = ERROR\n");
    my %env = (SOFTHSM2_CONF => $conf);
    my ($rc, $out) = run_cmd(['softhsm2-util', '--init-token', '--free', '--label', $label,
                              '--pin', $pin, '--so-pin', '87654321'], env => \%env);
    die "softhsm2-util --init-token failed: $out" if $rc;
    for my $name (sort keys %{$o{keys} || {}}) {
        ($rc, $out) = run_cmd(['p11tool', '--login', "--set-pin=$pin", '--write',
                               '--load-privkey', $o{keys}{$name}, '--label', $name,
                               "pkcs11:token=$label"], env => \%env, timeout => 60);
        die "p11tool --write ($name) failed: $out" if $rc;
    }
    my $tok = { dir => "$base/tokens", conf => $conf, env => \%env,
                label => $label, pin => $pin };
    $tok->{uri} = sub {
        my ($object, %attr) = @_;
        my @a = (token => $label, object => $object, type => 'private',
                 'pin-value' => $pin);
        my @out;
        while (my ($k, $v) = splice(@a, 0, 2)) {
            $v = delete $attr{$k} if exists $attr{$k};
            push @out, "$k=$v" if defined $v;
        }
        push @out, map { "$_=$attr{$_}" } grep { defined $attr{$_} } sort keys %attr;
        return 'pkcs11:' . join(';', @out);
    };
    return $tok;
}

1;
