package TLSTestRelay;
# A TCP relay between a test's client and a server, in a process of its own,
# that plays a slow or broken network:
#
#   my $relay = TLSTestRelay->new(to => $port, delay => 0.3);
#   tls_get(client => 'curl', port => $relay->port);   # through the relay
#   $relay->stop;                                      # also at exit
#
# Options: delay => SECONDS (each chunk the client sends is held that long
# before it goes on: the server sees its client wait), cut_after => BYTES
# (the connection is closed once that many bytes came back from the server;
# both sides see it end), reset => 1 (cut with a TCP reset instead of a
# close). Each client connection gets a process of its own.
use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;
use POSIX qw(_exit WNOHANG);
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes qw(time);
use TLSTest ();

my @ALL;

sub new {
    my ($class, %o) = @_;
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                       Listen => 64, ReuseAddr => 1)
        or die "relay: cannot listen: $!";
    my $self = bless { %o, port => $listen->sockport }, $class;
    my $pid = fork() // die "relay: fork: $!";
    if (!$pid) {
        $SIG{CHLD} = 'IGNORE';
        while (my $client = $listen->accept) {
            my $kid = fork();
            if (defined $kid && !$kid) {
                close($listen);
                _relay($self, $client);
                _exit(0);
            }
            close($client);
        }
        _exit(0);
    }
    close($listen);
    $self->{pid} = $pid;
    push @ALL, $self;
    return $self;
}

sub port { $_[0]{port} }

sub _relay {
    my ($self, $client) = @_;
    my $server = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{to},
                                       Timeout => 10) or return;
    my $sel = IO::Select->new($client, $server);
    my ($held, $held_until, $back) = ('', 0, 0);
    while (1) {
        my $wait = $held ne '' ? $held_until - time : 30;
        if ($held ne '' && $wait <= 0) {
            syswrite($server, $held);
            $held = '';
            next;
        }
        my @ready = $sel->can_read($wait);
        last if !@ready && $held eq '';
        for my $s (@ready) {
            my $n = sysread($s, my $buf, 65536);
            return unless $n;
            if ($s == $client) {
                if ($self->{delay}) {
                    $held_until = time + $self->{delay} if $held eq '';
                    $held .= $buf;
                } else {
                    syswrite($server, $buf);
                }
            } else {
                if (defined $self->{cut_after} && $back + length($buf) > $self->{cut_after}) {
                    syswrite($client, substr($buf, 0, $self->{cut_after} - $back));
                    if ($self->{reset}) {
                        # a zero linger time makes close() send RST
                        setsockopt($_, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0)) for $client, $server;
                    }
                    close($client);
                    close($server);
                    return;
                }
                $back += length $buf;
                syswrite($client, $buf);
            }
        }
    }
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid};
    kill('TERM', $self->{pid});
    waitpid($self->{pid}, 0);
    $self->{pid} = undef;
}

END { local $?; $_->stop for @ALL }

1;
