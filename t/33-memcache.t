# Two httpd instances (event and prefork) share one real memcached (started by
# the suite on a free port) as TLSSessionCache memcache:127.0.0.1:PORT, with
# tickets off: a TLS 1.2 session made at one resumes at the other, both
# ways; a server with its own cache does not resume it. With memcached
# stopped, handshakes are full and requests are served (never an error), and
# the failure is logged. The tests are in TLSTestCache::fleet_cache_tests.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use TLSTest;
use TLSTestCache;
use Test::More;

fleet_cache_tests('memcached');

finish();
