package TLSTest;
# The test harness of mod_tls: starts httpd (Debian's /usr/sbin/apache2) with a
# self-contained configuration on free 127.0.0.1 ports, and drives real TLS
# clients (curl, gnutls-cli, openssl s_client, Perl IO::Socket::SSL) at it.
#
#   use lib 't/lib';
#   use TLSTest;
#   my $h = TLSTest::Httpd->new(mpm => 'event', conf => tls_vhost());
#   $h->start;
#   my $r = tls_get(client => 'curl', port => $h->port, version => '1.3');
#   is($r->{proto}, 'TLSv1.3');
#   finish();            # stops servers, checks logs for crashes, done_testing
#
# `use TLSTest` exports the functions of its parts, each the one home of what
# it does:
#   TLSTest::Util     files, commands (run_cmd), waiting (wait_until), ports
#   TLSTest::PKI      the test PKI (build/make-pki), x509_field and its views
#   TLSTest::HTTP     http_request, the response parser (read_response for a
#                     connection, parse_responses for a tool's output),
#                     plain_get, parse_env
#   TLSTest::Clients  the client runners (curl_cmd, s_client, gnutls_cli,
#                     tls_connect; tls_get for any), the version table
#   TLSTest::Httpd    the server and its configuration (vhost, tls_vhost)
# TLSTestClient (client certificates) and TLSTestCache (resumption) build on
# them for their tests.
#
# Environment (see TLSTest::Httpd for the server's):
#   MOD_TLS_TEST_TMP  directory for test artefacts (default: a temp dir, removed)
#   MOD_TLS_ASAN_DIR  directory where ASan writes reports; finish() fails on any
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time);
use TLSTest::Util;
use TLSTest::PKI;
use TLSTest::HTTP;
use TLSTest::Clients;
use TLSTest::Httpd;
use Exporter 'import';

our @EXPORT = (@TLSTest::Util::EXPORT, @TLSTest::PKI::EXPORT, @TLSTest::HTTP::EXPORT,
               @TLSTest::Clients::EXPORT, @TLSTest::Httpd::EXPORT, 'finish');

# The suite starts httpd as the invoking user. As root httpd would switch to
# another user that cannot read the per-test files: build/run-tests runs the
# suite as an unprivileged user instead.
BAIL_OUT('do not run the suite as root: use build/run-tests (it runs prove '
         . 'as the unprivileged user tlstest)') if $> == 0;

my $START_TIME = time;
# a server that closes a connection must fail a test, not kill it
$SIG{PIPE} = 'IGNORE';

# finish(): stops every server of this test file, the last started first (a
# proxy before the backends it holds connections to, which would otherwise
# exit with those connections open), checks that none crashed (error log,
# ASan reports) and ends the test (done_testing)
sub finish {
    for my $h (reverse TLSTest::Httpd->all) {
        $h->stop if $h->running;
        my $log = $h->error_log;
        my @bad = grep { /Segmentation fault|exit signal|AddressSanitizer|child pid \d+ exit signal/ }
                  split /\n/, $log;
        ok(!@bad, "no crash in the error log of $h->{dir}")
            or diag(join("\n", @bad));
    }
    if (my $asan = $ENV{MOD_TLS_ASAN_DIR}) {
        my @reports = grep { (stat $_)[9] >= int($START_TIME) } glob("$asan/asan.*");
        ok(!@reports, 'no AddressSanitizer report')
            or diag(join("\n", map { "$_:\n" . slurp($_) } @reports));
    }
    done_testing();
}

1;
