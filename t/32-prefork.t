# Resumption across prefork children: a ticket (TLS 1.3 and 1.2) or a TLS 1.2
# session id (shmcb, tickets off) made by one child process resumes on
# another. The original connection is held open (keep-alive), so prefork must
# hand every further connection to a different child; logs/resume.log has
# the child's pid (%P) of each request.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestCache;
use Test::More;

my $h = TLSTest::Httpd->new(mpm => 'prefork', listen => 2,
    global => socache_load('shmcb') . resume_log_conf() . prefork_children(4),
    conf => tls_vhost(extra => resume_headers())
          . tls_vhost(port => '@PORT2@', extra => resume_headers() . "TLSSessionTickets off"));
$h->start;

# the children of the httpd parent process
sub children {
    my $ppid = $h->pid or return ();
    my @kids;
    for my $stat (glob('/proc/[0-9]*/stat')) {
        my $text = TLSTest::slurp($stat) // next;
        push @kids, $1 if $text =~ /^(\d+) \(.*\) \S+ (\d+)/ && $2 == $ppid;
    }
    return @kids;
}
ok(wait_until(sub { children() >= 4 }, timeout => 20), 'prefork runs 4 children')
    or diag('children: ' . join(' ', children()));

# pid_of(TAG): the child pid that logged the request for /index.html?TAG
sub pid_of {
    my ($tag) = @_;
    my $line = $h->wait_file($h->log_file('resume.log'), qr{ /index\.html\?\Q$tag\E$});
    return $line =~ /^(\d+) / ? $1 : undef;
}

my $n = 0;
for my $case (['TLS 1.3 ticket', '1.3', 0], ['TLS 1.2 ticket', '1.2', 0],
              ['TLS 1.2 session id (shmcb)', '1.2', 1]) {
    my ($name, $v, $port_i) = @$case;
    my $port = $h->port($port_i);
    my $ctx = perl_session_cache(version => $v);

    # the original connection, kept open after its request
    my $tag0 = 'orig' . ++$n;
    my $orig = perl_get(port => $port, cache => $ctx, keep => 1, path => "/index.html?$tag0");
    is($orig->{headers}{'x-r'}, 'Initial', "$name: original connection is a full handshake")
        or diag($orig->{error} // '');
    my $pid0 = pid_of($tag0);
    ok($pid0, "$name: original connection served by child $pid0");

    # three more connections, all held open at once: three more children
    my (@held, %pids);
    for my $i (1 .. 3) {
        my $tag = "res$n-$i";
        my $r = perl_get(port => $port, cache => $ctx, keep => 1, path => "/index.html?$tag");
        push @held, $r->{sock} if $r->{sock};
        is($r->{status}, 200, "$name: connection $i served") or diag($r->{error} // '');
        is($r->{reused}, 1, "$name: connection $i: the client resumed");
        is($r->{headers}{'x-r'}, 'Resumed', "$name: connection $i: SSL_SESSION_RESUMED=Resumed");
        my $pid = pid_of($tag);
        isnt($pid, $pid0, "$name: connection $i resumed on child " . ($pid // '?')
             . ", not on the original child $pid0");
        $pids{$pid}++ if $pid;
    }
    is(scalar(keys %pids), 3, "$name: the three resumptions ran in three different children")
        or diag(explain(\%pids));
    close($_) for @held;
    close($orig->{sock}) if $orig->{sock};
}

# many short connections in a row with openssl: every one resumes, whichever
# child takes it
for my $case (['TLS 1.3 ticket', '1.3', 0], ['TLS 1.2 session id (shmcb)', '1.2', 1]) {
    my ($name, $v, $port_i) = @$case;
    my $port = $h->port($port_i);
    my $file = tmpdir() . "/many-$port_i-$v.pem";
    my $tag0 = 'many' . ++$n;
    my $first = ossl_conn(port => $port, version => $v, sess_out => $file, path => "/index.html?$tag0");
    is($first->{reused}, 0, "$name: openssl, first connection full");
    my $pid0 = pid_of($tag0);
    my (%pids, @not);
    for my $i (1 .. 16) {
        my $tag = "many$n-$i";
        my $r = ossl_conn(port => $port, version => $v, sess_in => $file, path => "/index.html?$tag");
        push @not, "$i: reused=" . ($r->{reused} // 'undef') . ' X-R=' . ($r->{headers}{'x-r'} // 'undef')
            unless ($r->{reused} // 0) == 1 && ($r->{headers}{'x-r'} // '') eq 'Resumed';
        my $pid = pid_of($tag);
        $pids{$pid}++ if $pid;
    }
    is(scalar(@not), 0, "$name: 16 openssl connections all resumed") or diag(join("\n", @not));
    note("$name: original child $pid0, resumptions on children: " . join(' ', sort keys %pids));
    ok(scalar(grep { $_ ne $pid0 } keys %pids), "$name: some resumed on another child than the original")
        or diag(explain(\%pids));
}

finish();
