package TLSTestMigrate;
# Helpers of the tls-migrate tests (t/9x-migrate*.t), over TLSTest:
#
#   my $r = migrate_text("SSLEngine on\n");        # convert a text
#   $r->{rc}, $r->{out} (the converted text), $r->{err}
#   my $c = migrate_text($text, check => 1);       # --check
#   my $l = change_for($c, 'SSLEngine');           # its line about SSLEngine
#   $l->{status} (translated|dropped|untranslatable), $l->{new}, $l->{reason}
#   my %impl = implemented();                      # TLS* directives mod_tls has
#   my ($text, @gone) = without_unimplemented($converted);
#
# and the two sides of a cipher comparison: openssl_suites(STRING) and
# gnutls_suites(PRIORITY).
use strict;
use warnings;
use Test::More;
use TLSTest;
use Exporter 'import';

our @EXPORT = qw(
    migrate migrate_text migrate_file check_lines change_for changes_for
    implemented without_unimplemented tls_lines site_defines
    openssl_suites gnutls_suites fill_httpd_ssl_conf data_file
);

my $TOOL = top_dir() . '/build/tls-migrate';
my $N = 0;

sub data_file { top_dir() . "/t/data/$_[0]" }

# migrate(ARGS...): runs build/tls-migrate; { rc, out (stdout), err }
sub migrate {
    my (@args) = @_;
    my $dir = tmpdir();
    my $out = "$dir/.migrate-out." . ++$N;
    my ($rc, $err) = run_cmd([$^X, $TOOL, @args], stdout => $out, timeout => 60);
    my $r = { rc => $rc, out => slurp($out) // '', err => $err };
    unlink $out;
    return $r;
}

# migrate_text(TEXT, check => 1, args => [...], name => 'x.conf'): writes TEXT
# to a file of its own and converts it; with check, also {changes}
sub migrate_text {
    my ($text, %o) = @_;
    my $dir = tmpdir() . '/migrate-in';
    mkdir $dir;
    my $file = "$dir/" . ($o{name} // ('conf' . ++$N . '.conf'));
    spit($file, $text);
    return migrate_file($file, %o);
}

sub migrate_file {
    my ($file, %o) = @_;
    my $r = migrate(@{$o{args} || []}, ($o{check} ? '--check' : ()), $file);
    utf8::decode($r->{out}) if $o{check};
    $r->{file} = $file;
    $r->{changes} = check_lines($r->{out}) if $o{check};
    return $r;
}

# check_lines(TEXT): the lines of --check as [{file, line, old, new,
# status, reason, notes}]
sub check_lines {
    my ($text) = @_;
    my @c;
    utf8::decode($text) unless utf8::is_utf8($text);
    for my $l (split /\n/, $text) {
        if ($l =~ /^(.+?):(\d+): cannot translate: (.*)$/) {
            my ($f, $n, $rest) = ($1, $2, $3);
            push @c, { file => $f, line => $n, status => 'untranslatable', text => $rest };
        } elsif ($l =~ /^(.+?):(\d+): (.*?) \x{2192} \(dropped: (.*)\)$/) {
            push @c, { file => $1, line => $2, old => $3, status => 'dropped', reason => $4 };
        } elsif ($l =~ /^(.+?):(\d+): (.*?) \x{2192} (.*?)(?: \[note: (.*)\])?$/) {
            push @c, { file => $1, line => $2, old => $3, new => $4, notes => $5, status => 'translated' };
        } else {
            push @c, { status => 'unparsed', text => $l };
        }
    }
    return \@c;
}

# change_for(RESULT, DIRECTIVE_RE): the first --check line whose old text
# (or, for untranslatable ones, whose text) starts with DIRECTIVE_RE
sub changes_for {
    my ($r, $re) = @_;
    return grep { (($_->{old} // $_->{text} // '') =~ /^$re/) } @{$r->{changes} || []};
}
sub change_for { (changes_for(@_))[0] }

# tls_lines(TEXT): the non-comment lines of a converted text, trimmed
sub tls_lines {
    my ($text) = @_;
    return grep { $_ ne '' && !/^#/ } map { s/^\s+|\s+$//gr } split /\n/, $text;
}

my %IMPL;
# implemented(): the TLS* directives the module under test knows (apache2 -L)
sub implemented {
    return %IMPL if %IMPL;
    my $h = TLSTest::Httpd->new;
    my ($rc, $out) = $h->_httpd('-L');
    $IMPL{$1} = 1 while $out =~ /^(TLS\w+)\b/mg;
    die "apache2 -L lists no TLS directive:\n$out" unless %IMPL;
    return %IMPL;
}

# without_unimplemented(TEXT): TEXT with the lines of TLS* directives that
# mod_tls does not have yet commented out; (text, names of those directives)
sub without_unimplemented {
    my ($text) = @_;
    my %impl = implemented();
    my %gone;
    $text =~ s{^(\s*)(TLS\w+)\b}{ $impl{$2} ? "$1$2" : do { $gone{$2} = 1; "$1#(not in mod_tls yet) $2" } }mge;
    return ($text, sort keys %gone);
}

# site_defines(NAME => VALUE...): Define lines for the site files that both
# servers of a comparison include unchanged (${SITE_PORT}, ${SITE_DIR}...;
# the harness fills in each server's own values)
sub site_defines {
    my (%v) = @_;
    my %d = (SITE_PORT => '@PORT@', SITE_DIR => '@DIR@', SITE_DOCROOT => '@DOCROOT@', SITE_PKI => '@PKI@',
             APACHE_RUN_DIR => '@DIR@/run', APACHE_LOG_DIR => '@DIR@/logs', %v);
    return join('', map { "Define $_ $d{$_}\n" } sort keys %d);
}

# fill_httpd_ssl_conf(TEXT, port => P, dir => D, cert => C, key => K): the
# placeholders of httpd's conf/extra/httpd-ssl.conf.in filled as httpd's
# build fills them, with the server's own directories
sub fill_httpd_ssl_conf {
    my ($text, %o) = @_;
    my %v = (
        '@@SSLPort@@' => $o{port},
        '@exp_runtimedir@' => "$o{dir}/run",
        '@exp_htdocsdir@' => "$o{dir}/htdocs",
        '@exp_logfiledir@' => "$o{dir}/logs",
        '@exp_sysconfdir@' => "$o{dir}/conf",
        '@exp_cgidir@' => "$o{dir}/cgi-bin",
    );
    $text =~ s/(\@\@SSLPort\@\@|\@exp_\w+\@)/$v{$1} \/\/ die "unknown placeholder $1"/ge;
    return $text;
}

# openssl_suites(STRING): { id => name } of the TLS 1.2-and-older suites
# with RSA or ECDSA authentication that OpenSSL enables for an SSLCipherSuite
# value (with mod_ssl's !aNULL:!eNULL:!EXP)
sub openssl_suites {
    my ($spec) = @_;
    my ($rc, $out) = run_cmd(['openssl', 'ciphers', '-V', '-s', '-ciphersuites', '',
                              "$spec:!aNULL:!eNULL:!EXP"]);
    my %s;
    for (split /\n/, $out) {
        my ($a, $b, $name, $kx, $au) = /0x(\w\w),0x(\w\w) - (\S+)\s+\S+\s+Kx=(\S+)\s+Au=(\S+)/ or next;
        next unless $kx =~ /^(RSA|DH|ECDH)$/ && $au =~ /^(RSA|ECDSA)$/;
        $s{uc "$a$b"} = $name;
    }
    return \%s;
}

# gnutls_suites(PRIORITY): ({ id => name } of TLS 1.2-and-older suites,
# { id => name } of TLS 1.3 suites) that a GnuTLS priority string enables
sub gnutls_suites {
    my ($prio) = @_;
    my ($rc, $out) = run_cmd(['gnutls-cli', '--list', '--priority', $prio]);
    my (%s, %s13);
    for (split /\n/, $out) {
        my ($name, $a, $b, $ver) = /^(TLS_\S+)\s+0x(\w\w), 0x(\w\w)\s+(\S+)/ or next;
        if ($ver eq 'TLS1.3') { $s13{uc "$a$b"} = $name } else { $s{uc "$a$b"} = $name }
    }
    return (\%s, \%s13);
}

1;
