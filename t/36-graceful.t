# Without TLSSessionTicketKeyFile the ticket key is made once per httpd
# lifetime: a ticket saved before a graceful restart (or two) still resumes
# after it, in the new generation's children; after a full stop and start
# it is a full handshake (and the request is served).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestCache;
use Test::More;

for my $mpm (qw(prefork event)) {
    my $h = TLSTest::Httpd->new(mpm => $mpm, global => resume_log_conf(),
                                conf => tls_vhost(extra => resume_headers()));
    $h->start;
    my $port = $h->port;
    my %file = map { $_ => tmpdir() . "/$mpm-$_.pem" } '1.3', '1.2';

    my %pid_before;
    for my $v ('1.3', '1.2') {
        my $r = ossl_conn(port => $port, version => $v, sess_out => $file{$v},
                          path => "/index.html?$mpm-before-$v");
        is($r->{reused}, 0, "$mpm TLS $v: full handshake before the restart");
        ok(-s $file{$v}, "$mpm TLS $v: ticket saved");
        my $now = ossl_conn(port => $port, version => $v, sess_in => $file{$v});
        is($now->{reused}, 1, "$mpm TLS $v: resumes before the restart");
    }
    my ($line) = $h->wait_file($h->log_file('resume.log'), qr{\?$mpm-before-1\.3$});
    my ($child_before) = ($line // '') =~ /^(\d+)/;

    my $parent = $h->pid;
    for my $round (1, 2) {
        $h->graceful;
        is($h->pid, $parent, "$mpm: graceful restart $round kept the parent process");
        for my $v ('1.3', '1.2') {
            my $tag = "$mpm-after$round-$v";
            my $r = ossl_conn(port => $port, version => $v, sess_in => $file{$v}, path => "/index.html?$tag");
            is($r->{reused}, 1, "$mpm TLS $v: the ticket from before resumes after graceful restart $round")
                or diag($r->{out});
            is($r->{headers}{'x-r'}, 'Resumed', "$mpm TLS $v: ... SSL_SESSION_RESUMED=Resumed");
            is($r->{status}, 200, "$mpm TLS $v: ... 200");
            if ($mpm eq 'prefork' && $v eq '1.3') {
                my ($l) = $h->wait_file($h->log_file('resume.log'), qr{\?\Q$tag\E$});
                my ($child) = ($l // '') =~ /^(\d+)/;
                isnt($child, $child_before, "prefork: resumed in a child of the new generation ("
                     . ($child // '?') . ", before: " . ($child_before // '?') . ')');
            }
        }
    }
    # tickets made after the restart resume as well
    for my $v ('1.3', '1.2') {
        my ($f, $s) = ossl_pair(port => $port, version => $v);
        is($s->{reused}, 1, "$mpm TLS $v: a ticket of the new generation resumes");
    }

    # a full stop and start makes a new key
    $h->stop;
    $h->start;
    isnt($h->pid, $parent, "$mpm: a new httpd process after stop/start");
    for my $v ('1.3', '1.2') {
        my $r = ossl_conn(port => $port, version => $v, sess_in => $file{$v});
        is($r->{reused}, 0, "$mpm TLS $v: after stop/start the old ticket is a full handshake") or diag($r->{out});
        is($r->{status}, 200, "$mpm TLS $v: ... and the request is served");
        is($r->{headers}{'x-r'}, 'Initial', "$mpm TLS $v: ... Initial");
    }
    $h->stop;
}

finish();
