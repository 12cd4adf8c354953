package TLSTest::HTTP;
# HTTP/1.1 for the tests: request text, and the one response parser. It reads
# a response from an open connection (read_response) or finds the responses
# in what a client tool printed (parse_responses): the same code decides
# where headers and body end in both cases.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Socket::SSL ();
use Exporter 'import';

our @EXPORT = qw(http_request read_response read_buffered send_request plain_get
                 parse_responses parse_response parse_env);

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

# ---------------------------------------------------------------- parser

# _source(\BUFFER, MORE, STRICT): the parser's input: BUFFER holds what was
# read and not yet parsed; MORE appends to it and returns false at the end.
# STRICT (a connection): a response cut short is an error; otherwise (a
# tool's output) the parser keeps what there is.
sub _source {
    my ($buf, $more, $strict) = @_;
    $$buf //= '';
    my %in;
    $in{line} = sub {
        my $i;
        while (($i = index($$buf, "\n")) < 0) {
            $more->() or return undef;
        }
        return substr($$buf, 0, $i + 1, '');
    };
    $in{bytes} = sub {
        my ($n) = @_;
        while (length($$buf) < $n) {
            next if $more->();
            die "connection closed after " . length($$buf) . " of $n bytes\n" if $strict;
            last;
        }
        return substr($$buf, 0, $n, '');
    };
    $in{rest} = sub { 1 while $more->(); return substr($$buf, 0, length $$buf, '') };
    $in{short} = sub { die "$_[0]\n" if $strict };
    return \%in;
}

# _parse(INPUT, head => 1): the response at the start of INPUT as { status,
# headers => {lc name => value}, body }, undef when INPUT is empty. head: no
# body follows (a response to HEAD, or a header dump).
sub _parse {
    my ($in, %o) = @_;
    my $status_line = $in->{line}->() // return undef;
    my ($status) = $status_line =~ m{^HTTP/\d(?:\.\d)? (\d{3})} or die "bad status line: $status_line";
    my %h;
    while (defined(my $line = $in->{line}->())) {
        last if $line =~ /^\r?\n\z/;
        $h{lc $1} = $2 if $line =~ /^([!-9;-~]+):[ \t]*(.*?)\s*\z/;
    }
    my $body = '';
    if ($o{head}) {
        # nothing follows the headers
    } elsif (defined $h{'content-length'}) {
        $body = $in->{bytes}->($h{'content-length'});
    } elsif (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        while (1) {
            my $size = $in->{line}->();
            if (!defined $size) { $in->{short}->('connection closed in chunked body'); last }
            $size =~ /^([0-9a-fA-F]+)/ or die "bad chunk size: $size";
            if (!hex $1) {
                # the trailer section, up to its empty line
                while (defined(my $line = $in->{line}->())) { last if $line =~ /^\r?\n\z/ }
                last;
            }
            $body .= $in->{bytes}->(hex $1);
            $in->{line}->();
        }
    } else {
        $body = $in->{rest}->();
    }
    return { status => $status, headers => \%h, body => $body };
}

my %BUF;    # per connection: bytes read ahead of the responses parsed so far

# read_response(SOCK, head => 1 (HEAD request), timeout => SECS): reads one
# HTTP/1.x response (Content-Length, chunked or until close) from a plain or
# TLS connection; returns { status, headers => {lc name => value}, body }.
# Dies when the connection ends before the response does.
sub read_response {
    my ($sock, %o) = @_;
    my $in = _source(\$BUF{$sock}, sub {
        my $n = sysread($sock, my $chunk, 65536);
        $BUF{$sock} .= $chunk if $n;
        return $n;
    }, 1);
    local $SIG{ALRM} = sub { die "timeout reading response\n" };
    alarm($o{timeout} || 30);
    my $r = eval { _parse($in, head => $o{head}) };
    my $err = $@;
    alarm(0);
    die $err if $err;
    die "no response (connection closed)\n" unless $r;
    delete $BUF{$sock} if !$o{head} && ($r->{headers}{connection} // '') =~ /close/i;
    return $r;
}

# read_buffered(SOCK): the bytes read_response has read ahead on SOCK (the
# start of a body it did not read, after head => 1), which it then forgets
sub read_buffered { delete $BUF{$_[0]} // '' }

# parse_responses(TEXT, head => 1): every HTTP response in what a client
# printed, in order (a line "HTTP/x.y NNN" starts one), as read_response's
# results; with head, header blocks only (curl -D)
sub parse_responses {
    my ($text, %o) = @_;
    my @r;
    while (($text // '') =~ m{^HTTP/\d(?:\.\d)? \d{3}\b}m) {
        $text = substr($text, $-[0]);
        push @r, _parse(_source(\$text, sub { 0 }, 0), %o);
    }
    return \@r;
}

# parse_response(TEXT): the first HTTP response in TEXT, or undef
sub parse_response { parse_responses($_[0])->[0] }

# ---------------------------------------------------------------- requests

# send_request(SOCK, path => ..., method => ..., body => DATA, headers => {},
#              close => 0): sends one request on an open connection; returns
#              the response ({status, headers, body}) or { error => why }
sub send_request {
    my ($sock, %o) = @_;
    my $body = delete $o{body};
    $o{headers} = { %{$o{headers} || {}}, 'Content-Length' => length $body } if defined $body;
    my $req = http_request(%o) . ($body // '');
    my $off = 0;
    while ($off < length $req) {
        my $n = syswrite($sock, $req, 16384, $off);
        return { error => "write failed: " . ($! || $IO::Socket::SSL::SSL_ERROR) } unless $n;
        $off += $n;
    }
    my $resp = eval { read_response($sock, timeout => 20) };
    return $resp || { error => $@ || 'no response' };
}

# plain_get(PORT, http_request options): one request over plain HTTP to
# 127.0.0.1:PORT on a connection of its own; returns the response
sub plain_get {
    my ($port, %o) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 10)
        or die "connect 127.0.0.1:$port: $!";
    print $s http_request(%o, close => 1);
    my $r = read_response($s);
    close($s);
    return $r;
}

# parse_env(TEXT): the NAME=VALUE lines of a test CGI's answer as a hash
sub parse_env {
    my ($text) = @_;
    my %env;
    for (split /\n/, $text // '') {
        $env{$1} = $2 if /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;
    }
    return \%env;
}

1;
