package TLSTest::HTTP;
# HTTP/1.1 for the tests: request text, responses read from a connection,
# and the CGI output they carry.
use strict;
use warnings;
use Exporter 'import';

our @EXPORT = qw(http_request read_response read_buffered parse_env);
our @EXPORT_OK = qw(_parse_response_text);

# A small buffered reader over sysread (works the same for plain and TLS
# sockets, and keeps what was read ahead for the next pipelined response).
my %BUF;
sub _fill {
    my ($sock) = @_;
    my $n = sysread($sock, my $chunk, 65536);
    return 0 unless $n;
    $BUF{$sock} .= $chunk;
    return $n;
}

sub _getline {
    my ($sock) = @_;
    my $i;
    while (($i = index($BUF{$sock} // '', "\n")) < 0) {
        _fill($sock) or return undef;
    }
    return substr($BUF{$sock}, 0, $i + 1, '');
}

sub _read_exact {
    my ($sock, $len) = @_;
    while (length($BUF{$sock} // '') < $len) {
        _fill($sock) or die "connection closed after " . length($BUF{$sock} // '') . " of $len bytes\n";
    }
    return substr($BUF{$sock}, 0, $len, '');
}

# read_buffered(SOCK): what the reader holds already for SOCK (and forgets it)
sub read_buffered { delete $BUF{$_[0]} // '' }

# read_response(SOCK, head => 1 (HEAD request), timeout => SECS): reads one
# HTTP/1.x response (Content-Length, chunked or until close) and returns
# { status, headers => {lc name => value}, body }
sub read_response {
    my ($sock, %o) = @_;
    local $SIG{ALRM} = sub { die "timeout reading response\n" };
    alarm($o{timeout} || 30);
    my $status_line = _getline($sock);
    die "no response (connection closed)\n" unless defined $status_line;
    my ($status) = $status_line =~ m{^HTTP/1\.[01] (\d{3})} or die "bad status line: $status_line";
    my %h;
    while (defined(my $line = _getline($sock))) {
        $line =~ s/\r?\n$//;
        last if $line eq '';
        my ($k, $v) = split /:\s*/, $line, 2;
        $h{lc $k} = $v;
    }
    my $body = '';
    if ($o{head}) {
    } elsif (defined $h{'content-length'}) {
        $body = _read_exact($sock, $h{'content-length'});
    } elsif (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        while (1) {
            my $size = _getline($sock);
            die "connection closed in chunked body\n" unless defined $size;
            $size = hex($size =~ /^([0-9a-fA-F]+)/ ? $1 : die "bad chunk size: $size");
            last if $size == 0;
            $body .= _read_exact($sock, $size);
            _getline($sock);
        }
        while (defined(my $line = _getline($sock))) { last if $line =~ /^\r?\n$/ }
    } else {
        1 while _fill($sock);
        $body = delete $BUF{$sock} // '';
    }
    alarm(0);
    delete $BUF{$sock} if !$o{head} && ($h{connection} // '') =~ /close/i;
    return { status => $status, headers => \%h, body => $body };
}

# http_request(path => '/', method => 'GET', close => 0, headers => {},
#              host => 'localhost'): the request text
sub http_request {
    my (%o) = @_;
    my $req = sprintf("%s %s HTTP/1.1\r\nHost: %s\r\n",
                      $o{method} || 'GET', $o{path} || '/', $o{host} // 'localhost');
    $req .= "Connection: close\r\n" if $o{close};
    $req .= "$_: $o{headers}{$_}\r\n" for sort keys %{$o{headers} || {}};
    return "$req\r\n";
}

# parse_response(TEXT): status and body of an HTTP response in a tool's output
sub _parse_response_text {
    my ($text, $r) = @_;
    return unless $text =~ m{^(HTTP/1\.[01] (\d{3}).*?)\r?\n\r?\n}ms;
    $r->{status} = $2;
    my $head = $1;
    my $body = substr($text, $+[0]);
    my %h;
    for my $line (split /\r?\n/, $head) {
        $h{lc $1} = $2 if $line =~ /^([!-9;-~]+):\s*(.*?)\s*$/;
    }
    $r->{headers} = \%h;
    if ($head =~ /^Content-Length:\s*(\d+)/mi) {
        $body = substr($body, 0, $1);
    }
    $r->{body} = $body;
}

# parse_env(TEXT): the KEY=VALUE lines of the env CGI as a hash
sub parse_env {
    my ($text) = @_;
    my %env;
    for (split /\n/, $text // '') {
        $env{$1} = $2 if /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;
    }
    return \%env;
}

1;
