/*
 * bench-client: the TLS load client of build/bench (GnuTLS, one thread per
 * concurrent connection, blocking sockets, TCP_NODELAY).
 *
 *   bench-client MODE [options]
 *
 * MODE
 *   probe    one connection + GET; prints what was negotiated
 *   full     loop: connect, full handshake, one GET with Connection: close,
 *            read to the end, close; no resumption
 *   resume   one full handshake whose ticket (read with the response) every
 *            later connection resumes; connections that were not resumed
 *            are counted apart (not_resumed=)
 *   hold     open -n connections (handshake done; with -g one keep-alive
 *            GET each, else nothing sent), print "established=N errors=E"
 *            on stdout, keep them idle until stdin reaches EOF or -d
 *            seconds pass, then print "still_open=K closed=C" (how many
 *            the server had closed meanwhile) and close them
 *   slow     open -n plain TCP connections and write on each the first -b
 *            bytes (default 60) of a TLS 1.3 ClientHello (made by GnuTLS,
 *            with SNI), then keep them waiting; with -D (drip) write one
 *            more byte per second on each, spread evenly over the second,
 *            until the hello is complete. Prints "opened=N errors=E
 *            hello_bytes=L" once all are open, holds until stdin reaches
 *            EOF or -d seconds pass, then prints "still_open=K closed=C"
 *            and closes them
 *   seq      a normal client: new connections one at a time, each a full
 *            handshake and one GET with Connection: close read to the end,
 *            one every -i ms (start to start), at most -n of them and none
 *            started after -d seconds; each bounded by -t ms in all
 *            (connect, handshake, request, response: non-blocking, one
 *            deadline). Prints "conn=I ok=0|1 ms=T" per connection, then
 *            "ops= errors= median_ms= max_ms= ..."
 *   sign     signs SHA-256 hashes with the PEM key -K for -d seconds (default
 *            1) in one thread: GnuTLS's signing speed, the floor of a
 *            server's CPU per full handshake (prints ops_per_s, us_per_op)
 *
 * Options
 *   -p PORT        server port on 127.0.0.1 (required)
 *   -c N           concurrent connections = threads (default 8)
 *   -d SECONDS     duration bound (default 5; hold, slow: longest idle
 *                  time, 300; seq: no connection started after it)
 *   -n COUNT       bound on the number of connections (default 1000000)
 *   -u PATH        request path (default /small)
 *   -g             hold: one keep-alive GET on each connection first
 *   -b BYTES       slow: ClientHello bytes written at once (default 60)
 *   -D             slow: then drip one byte per second per connection
 *   -i MS          seq: interval between connection starts (default 200)
 *   -t MS          seq: bound on each connection (default 5000)
 *   -s NAME        SNI host name (default localhost)
 *   -k PRIORITY    GnuTLS priority string (default: TLS 1.3, X25519,
 *                  AES-128-GCM)
 *   -K KEYFILE     sign: the PEM private key
 *
 * The last line on stdout is "key=value ..." with ops, errors, not_resumed,
 * no_close_notify (responses ended by a close without TLS close_notify),
 * secs, ops_per_s and desc (the negotiated protocol/kx/signature/cipher).
 * Every loop is bounded by -n and -d; every socket operation by a 10 s
 * timeout (seq: by -t). Exit status 0 when at least one operation
 * succeeded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>

#define IO_TIMEOUT_MS 10000
#define DEFAULT_PRIO "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-X25519:" \
                     "-CIPHER-ALL:+AES-128-GCM"

enum mode { M_PROBE, M_FULL, M_RESUME, M_HOLD, M_SIGN, M_SLOW, M_SEQ };

static enum mode mode;
static int port, conns = 8;
static double duration = -1;
static long max_ops = 1000000;
static const char *keyfile;
static int hold_get, drip, hello_prefix = 60;
static long seq_interval_ms = 200, seq_timeout_ms = 5000;
static const char *path = "/small", *sni = "localhost", *prio_str = DEFAULT_PRIO;

static gnutls_certificate_credentials_t cred;
static gnutls_priority_t prio;
static struct sockaddr_in addr;
static char request[512], keep_request[512];
static size_t request_len, keep_request_len;

static double t_end;                 /* monotonic deadline */
static atomic_long started, done_ok, errors, not_resumed, no_close_notify;
static atomic_int first_error_reported;
static char desc[256];
static pthread_mutex_t desc_lock = PTHREAD_MUTEX_INITIALIZER;

static gnutls_datum_t ticket;        /* resume: the seed session */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void report_error(const char *what, const char *detail)
{
    /* the first few errors go to stderr, the rest are only counted */
    if (atomic_fetch_add(&first_error_reported, 1) < 5)
        fprintf(stderr, "bench-client: %s: %s\n", what, detail);
}

static int tcp_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        report_error("socket", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct timeval tv = { IO_TIMEOUT_MS / 1000, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        report_error("connect", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* A TLS session over a fresh connection, handshake done; NULL on error. */
static gnutls_session_t tls_open(int *pfd, const gnutls_datum_t *resume)
{
    gnutls_session_t s;
    int fd = tcp_connect(), rv;
    if (fd < 0)
        return NULL;
    if (gnutls_init(&s, GNUTLS_CLIENT) < 0) {
        report_error("gnutls_init", "failed");
        close(fd);
        return NULL;
    }
    gnutls_priority_set(s, prio);
    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
    gnutls_server_name_set(s, GNUTLS_NAME_DNS, sni, strlen(sni));
    gnutls_transport_set_int(s, fd);
    gnutls_handshake_set_timeout(s, IO_TIMEOUT_MS);
    if (resume && resume->size)
        gnutls_session_set_data(s, resume->data, resume->size);
    /* bounded: blocking socket, gnutls_handshake_set_timeout() */
    for (int tries = 0; tries < 100; tries++) {
        rv = gnutls_handshake(s);
        if (rv >= 0 || gnutls_error_is_fatal(rv) || rv == GNUTLS_E_AGAIN)
            break;
    }
    if (rv < 0) {
        report_error("handshake", gnutls_strerror(rv));
        gnutls_deinit(s);
        close(fd);
        return NULL;
    }
    *pfd = fd;
    return s;
}

/* Sends REQ and reads the response: to the server's close when KEEP is 0,
 * else to the end of its Content-Length body. 0 when it was an HTTP 200.
 * Ends of connection without close_notify are counted in no_close_notify. */
static int tls_get(gnutls_session_t s, const char *req, size_t req_len, int keep)
{
    size_t off = 0, total = 0, hlen = 0;
    ssize_t n;
    char buf[16384], head[8192];
    long body_len = -1;

    while (off < req_len) {
        n = gnutls_record_send(s, req + off, req_len - off);
        if (n == GNUTLS_E_INTERRUPTED)
            continue;
        if (n < 0) {
            report_error("send", gnutls_strerror((int)n));
            return -1;
        }
        off += (size_t)n;
    }
    for (int loops = 0; loops < 100000; loops++) {
        double t0 = now();
        n = gnutls_record_recv(s, buf, sizeof(buf));
        if (n == GNUTLS_E_INTERRUPTED)
            continue;
        if (n == GNUTLS_E_AGAIN) {
            /* after a TLS 1.3 NewSessionTicket, or SO_RCVTIMEO expired */
            if (now() - t0 < IO_TIMEOUT_MS / 1000.0 - 0.5)
                continue;
            report_error("recv", "timeout");
            return -1;
        }
        if (n == GNUTLS_E_PREMATURE_TERMINATION) {
            atomic_fetch_add(&no_close_notify, 1);
            break;
        }
        if (n == 0)
            break;                       /* close_notify */
        if (n < 0) {
            report_error("recv", gnutls_strerror((int)n));
            return -1;
        }
        if (hlen < sizeof(head) - 1) {   /* the start of the response */
            size_t c = (size_t)n < sizeof(head) - 1 - hlen
                       ? (size_t)n : sizeof(head) - 1 - hlen;
            memcpy(head + hlen, buf, c);
            hlen += c;
            head[hlen] = 0;
        }
        total += (size_t)n;
        if (keep) {
            char *end = strstr(head, "\r\n\r\n"), *cl;
            if (end && body_len < 0) {
                cl = strcasestr(head, "\r\nContent-Length:");
                body_len = cl && cl < end ? atol(cl + 17) : 0;
            }
            if (end && total >= (size_t)(end + 4 - head) + (size_t)body_len)
                break;
        }
    }
    if (hlen < 12 || memcmp(head, "HTTP/1.1 200", 12)) {
        report_error("response", "not HTTP/1.1 200");
        return -1;
    }
    return 0;
}

static void tls_close(gnutls_session_t s, int fd)
{
    gnutls_deinit(s);
    close(fd);
}

static void note_desc(gnutls_session_t s)
{
    pthread_mutex_lock(&desc_lock);
    if (!desc[0]) {
        char *d = gnutls_session_get_desc(s);
        const char *g = gnutls_group_get_name(gnutls_group_get(s));
        if (d) {
            /* a resumed session's description names no key exchange */
            if (gnutls_session_is_resumed(s))
                snprintf(desc, sizeof(desc), "%s-resumed-(%s)", d,
                         g ? g : "no-(EC)DHE");
            else
                snprintf(desc, sizeof(desc), "%s", d);
            gnutls_free(d);
        }
    }
    pthread_mutex_unlock(&desc_lock);
}

/* One connection of the full/resume/probe loops; 0 on success. */
static int one_connection(void)
{
    int fd, rv;
    gnutls_session_t s = tls_open(&fd, mode == M_RESUME ? &ticket : NULL);
    if (!s)
        return -1;
    note_desc(s);
    if (mode == M_RESUME && !gnutls_session_is_resumed(s))
        atomic_fetch_add(&not_resumed, 1);
    rv = tls_get(s, request, request_len, 0);
    tls_close(s, fd);
    return rv;
}

static void *loop_thread(void *arg)
{
    (void)arg;
    while (now() < t_end) {
        if (atomic_fetch_add(&started, 1) >= max_ops)
            break;
        if (one_connection() == 0)
            atomic_fetch_add(&done_ok, 1);
        else
            atomic_fetch_add(&errors, 1);
    }
    return NULL;
}

/* resume: a full handshake whose ticket, read with the response, seeds
 * every later connection. */
static int get_ticket(void)
{
    int fd;
    gnutls_session_t s = tls_open(&fd, NULL);
    if (!s)
        return -1;
    char req[512];
    int len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n",
                       path, sni);
    /* keep-alive: the session must not end with an error (a missing
     * close_notify would make GnuTLS drop it) before it is saved */
    if (tls_get(s, req, (size_t)len, 1) < 0) {
        tls_close(s, fd);
        return -1;
    }
    int rv = gnutls_session_get_data2(s, &ticket);
    tls_close(s, fd);
    if (rv < 0 || !ticket.size) {
        report_error("session data", rv < 0 ? gnutls_strerror(rv) : "none");
        return -1;
    }
    return 0;
}

/* hold: each thread opens its share of the connections */
struct held { gnutls_session_t s; int fd; };
static struct held *held;

static void *hold_thread(void *arg)
{
    long idx;
    (void)arg;
    while ((idx = atomic_fetch_add(&started, 1)) < max_ops && now() < t_end) {
        int fd;
        gnutls_session_t s = tls_open(&fd, NULL);
        if (!s) {
            atomic_fetch_add(&errors, 1);
            continue;
        }
        note_desc(s);
        if (hold_get && tls_get(s, keep_request, keep_request_len, 1) < 0) {
            tls_close(s, fd);
            atomic_fetch_add(&errors, 1);
            continue;
        }
        held[idx].s = s;
        held[idx].fd = fd;
        atomic_fetch_add(&done_ok, 1);
    }
    return NULL;
}

static void raise_nofile(long need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)need) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)need ? rl.rlim_max : (rlim_t)need;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Whether the server has closed (or reset) fd; reads nothing. */
static int peer_closed(int fd)
{
    struct pollfd p = { fd, POLLRDHUP, 0 };
    return poll(&p, 1, 0) > 0
           && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* Waits until stdin reaches EOF or the time `until` (monotonic) passes;
 * with tick, calls it at each time it returns (monotonic, 0: none). */
static void idle_until(double until, double (*tick)(void))
{
    struct pollfd pfd = { 0, POLLIN, 0 };
    char c[256];
    double next = tick ? tick() : 0;

    while (now() < until) {
        double t = next > 0 && next < until ? next : until;
        int left = (int)((t - now()) * 1000) + 1;
        if (poll(&pfd, 1, left > 0 ? left : 0) > 0) {
            ssize_t n = read(0, c, sizeof(c));
            if (n <= 0)
                return;
        }
        if (next > 0 && now() >= next)
            next = tick();
    }
}

/* slow: raw connections that stop, or crawl, in their ClientHello */
static unsigned char hello[4096];
static size_t hello_len;
static int *slow_fd;
static size_t *slow_sent;
static long slow_n, drip_idx, drip_round;
static double drip_t0;

static ssize_t capture_push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
    (void)p;
    if (hello_len + len > sizeof(hello))
        len = sizeof(hello) - hello_len;
    memcpy(hello + hello_len, data, len);
    hello_len += len;
    return (ssize_t)len;
}

static ssize_t capture_pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
    (void)data; (void)len;
    gnutls_transport_set_errno((gnutls_session_t)p, EAGAIN);
    return -1;
}

/* The ClientHello GnuTLS sends with this client's priorities and SNI. */
static int make_hello(void)
{
    gnutls_session_t s;
    int rv;

    if (gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0)
        return -1;
    gnutls_priority_set(s, prio);
    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
    gnutls_server_name_set(s, GNUTLS_NAME_DNS, sni, strlen(sni));
    gnutls_transport_set_ptr(s, s);
    gnutls_transport_set_push_function(s, capture_push);
    gnutls_transport_set_pull_function(s, capture_pull);
    rv = gnutls_handshake(s);
    gnutls_deinit(s);
    if (rv != GNUTLS_E_AGAIN || hello_len < 10 || hello[0] != 22) {
        fprintf(stderr, "bench-client: cannot make a ClientHello (%s)\n",
                gnutls_strerror(rv));
        return -1;
    }
    return 0;
}

/* drip: the next connection's byte; returns when the next one is due */
static double drip_tick(void)
{
    long i = drip_idx;

    if (drip_round > 0 && slow_fd[i] >= 0 && slow_sent[i] < hello_len) {
        if (send(slow_fd[i], hello + slow_sent[i], 1, MSG_NOSIGNAL) == 1)
            slow_sent[i]++;
        else if (errno != EAGAIN && errno != EINTR) {
            close(slow_fd[i]);
            slow_fd[i] = -2;              /* closed by the server */
        }
    }
    if (++drip_idx >= slow_n) {
        drip_idx = 0;
        drip_round++;
    }
    return drip_t0 + drip_round + (double)drip_idx / slow_n;
}

static int slow_main(void)
{
    long opened = 0, bad = 0, still = 0, closed = 0;
    size_t first;

    if (make_hello() < 0)
        return 1;
    first = (size_t)hello_prefix < hello_len ? (size_t)hello_prefix : hello_len - 1;
    raise_nofile(max_ops + 64);
    slow_fd = calloc((size_t)max_ops, sizeof(*slow_fd));
    slow_sent = calloc((size_t)max_ops, sizeof(*slow_sent));
    if (!slow_fd || !slow_sent)
        return 1;
    double t0 = now();
    for (long i = 0; i < max_ops; i++) {
        slow_fd[i] = -1;
        if (now() - t0 > 60)
            continue;                     /* bounded: connect takes long */
        int fd = tcp_connect();
        if (fd < 0) {
            bad++;
            continue;
        }
        if (send(fd, hello, first, MSG_NOSIGNAL) != (ssize_t)first) {
            report_error("send", strerror(errno));
            close(fd);
            bad++;
            continue;
        }
        slow_fd[i] = fd;
        slow_sent[i] = first;
        opened++;
    }
    printf("opened=%ld errors=%ld hello_bytes=%zu sent_bytes=%zu secs=%.2f\n",
           opened, bad, hello_len, first, now() - t0);
    fflush(stdout);
    slow_n = max_ops;
    drip_t0 = now();
    drip_idx = 0;
    drip_round = 0;
    idle_until(now() + duration, drip ? drip_tick : NULL);
    for (long i = 0; i < max_ops; i++) {       /* all, then close */
        if (slow_fd[i] == -2)
            closed++;
        else if (slow_fd[i] >= 0) {
            if (peer_closed(slow_fd[i]))
                closed++;
            else
                still++;
        }
    }
    for (long i = 0; i < max_ops; i++)
        if (slow_fd[i] >= 0)
            close(slow_fd[i]);
    printf("still_open=%ld closed=%ld\n", still, closed);
    return opened > 0 ? 0 : 1;
}

/* seq: one connection, non-blocking, everything before `deadline` */
static int wait_io(int fd, short events, double deadline)
{
    struct pollfd p = { fd, events, 0 };
    int ms = (int)((deadline - now()) * 1000) + 1;
    if (ms <= 0)
        return -1;
    return poll(&p, 1, ms) > 0 ? 0 : -1;
}

static int seq_one(double deadline, const char **why)
{
    int fd, rv, err = 0, ok = -1;
    socklen_t elen = sizeof(err);
    gnutls_session_t s = NULL;
    char buf[16384], head[64];
    size_t hlen = 0, off = 0;
    ssize_t n;

    *why = "socket";
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *why = "connect";
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        if (errno != EINPROGRESS || wait_io(fd, POLLOUT, deadline) < 0
            || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err)
            goto out;
    }
    *why = "handshake";
    if (gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0)
        goto out;
    gnutls_priority_set(s, prio);
    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
    gnutls_server_name_set(s, GNUTLS_NAME_DNS, sni, strlen(sni));
    gnutls_transport_set_int(s, fd);
    while ((rv = gnutls_handshake(s)) < 0) {
        if ((rv != GNUTLS_E_AGAIN && rv != GNUTLS_E_INTERRUPTED)
            || wait_io(fd, gnutls_record_get_direction(s) ? POLLOUT : POLLIN,
                       deadline) < 0)
            goto out;
    }
    note_desc(s);
    *why = "send";
    int again = 0;
    while (off < request_len) {
        /* after GNUTLS_E_AGAIN GnuTLS resends what it has with NULL, 0 */
        n = again ? gnutls_record_send(s, NULL, 0)
                  : gnutls_record_send(s, request + off, request_len - off);
        if (n > 0) {
            off += (size_t)n;
            again = 0;
            continue;
        }
        if ((n != GNUTLS_E_AGAIN && n != GNUTLS_E_INTERRUPTED)
            || wait_io(fd, POLLOUT, deadline) < 0)
            goto out;
        again = 1;
    }
    *why = "response";
    for (;;) {
        n = gnutls_record_recv(s, buf, sizeof(buf));
        if (n > 0) {
            size_t c = (size_t)n < sizeof(head) - hlen ? (size_t)n : sizeof(head) - hlen;
            memcpy(head + hlen, buf, c);
            hlen += c;
            continue;
        }
        if (n == 0 || n == GNUTLS_E_PREMATURE_TERMINATION)
            break;
        if ((n != GNUTLS_E_AGAIN && n != GNUTLS_E_INTERRUPTED)
            || wait_io(fd, POLLIN, deadline) < 0)
            goto out;
    }
    *why = "not HTTP/1.1 200";
    if (hlen >= 12 && !memcmp(head, "HTTP/1.1 200", 12))
        ok = 0;
out:
    if (ok < 0 && now() >= deadline)
        *why = "timeout";
    if (s)
        gnutls_deinit(s);
    close(fd);
    return ok;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int seq_main(void)
{
    double *ms = calloc((size_t)max_ops, sizeof(*ms));
    long ok = 0, bad = 0, i;
    double t0 = now(), next = t0;

    if (!ms)
        return 1;
    for (i = 0; i < max_ops && now() - t0 < duration; i++) {
        while (now() < next)
            usleep((useconds_t)((next - now()) * 1e6) + 1);
        next += seq_interval_ms / 1000.0;
        double a = now();
        const char *why = "";
        int rv = seq_one(a + seq_timeout_ms / 1000.0, &why);
        double t = (now() - a) * 1000;
        printf("conn=%ld ok=%d ms=%.2f%s%s\n", i, rv == 0, t,
               rv ? " error=" : "", rv ? why : "");
        if (rv == 0)
            ms[ok++] = t;
        else
            bad++;
    }
    qsort(ms, (size_t)ok, sizeof(*ms), cmp_double);
    printf("ops=%ld errors=%ld started=%ld median_ms=%.2f max_ms=%.2f "
           "secs=%.2f desc=%s\n", ok, bad, i,
           ok ? (ok % 2 ? ms[ok / 2] : (ms[ok / 2 - 1] + ms[ok / 2]) / 2) : -1,
           ok ? ms[ok - 1] : -1, now() - t0, desc[0] ? desc : "none");
    free(ms);
    return ok > 0 ? 0 : 1;
}

/* sign: the private-key operation of a server's full handshake */
static int sign_loop(void)
{
    gnutls_datum_t pem, hash, sig;
    gnutls_privkey_t key;
    unsigned char h[32];
    long n = 0;
    int rv;

    if ((rv = gnutls_load_file(keyfile, &pem)) < 0
        || (rv = gnutls_privkey_init(&key)) < 0
        || (rv = gnutls_privkey_import_x509_raw(key, &pem, GNUTLS_X509_FMT_PEM,
                                                NULL, 0)) < 0) {
        fprintf(stderr, "bench-client: key %s: %s\n", keyfile, gnutls_strerror(rv));
        return 1;
    }
    /* TLS 1.3 signs with RSA-PSS (RSA keys) or ECDSA */
    gnutls_sign_algorithm_t algo =
        gnutls_privkey_get_pk_algorithm(key, NULL) == GNUTLS_PK_RSA
        ? GNUTLS_SIGN_RSA_PSS_RSAE_SHA256 : GNUTLS_SIGN_ECDSA_SECP256R1_SHA256;
    memset(h, 0x5a, sizeof(h));
    hash.data = h;
    hash.size = sizeof(h);
    double t0 = now(), t = t0;
    while (t - t0 < duration && n < max_ops) {
        if ((rv = gnutls_privkey_sign_hash2(key, algo, 0, &hash, &sig)) < 0) {
            fprintf(stderr, "bench-client: sign: %s\n", gnutls_strerror(rv));
            return 1;
        }
        gnutls_free(sig.data);
        h[0]++;
        n++;
        if ((n & 7) == 0)
            t = now();
    }
    t = now() - t0;
    printf("ops=%ld secs=%.3f ops_per_s=%.1f us_per_op=%.1f\n", n, t, n / t,
           t * 1e6 / n);
    gnutls_privkey_deinit(key);
    gnutls_free(pem.data);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench-client probe|full|resume|hold|slow|seq -p PORT "
            "[-c CONNS] [-d SECS] [-n COUNT] [-u PATH] [-s SNI] [-k PRIO]\n"
            "                   [-g] [-b BYTES] [-D] [-i MS] [-t MS]\n"
            "       bench-client sign -K KEYFILE [-d SECS] [-n COUNT]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int opt, rv;
    const char *err;

    if (argc < 2)
        usage();
    if (!strcmp(argv[1], "probe")) mode = M_PROBE;
    else if (!strcmp(argv[1], "full")) mode = M_FULL;
    else if (!strcmp(argv[1], "resume")) mode = M_RESUME;
    else if (!strcmp(argv[1], "hold")) mode = M_HOLD;
    else if (!strcmp(argv[1], "sign")) mode = M_SIGN;
    else if (!strcmp(argv[1], "slow")) mode = M_SLOW;
    else if (!strcmp(argv[1], "seq")) mode = M_SEQ;
    else usage();
    optind = 2;
    while ((opt = getopt(argc, argv, "p:c:d:n:u:s:k:K:gb:Di:t:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'c': conns = atoi(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'n': max_ops = atol(optarg); break;
        case 'u': path = optarg; break;
        case 's': sni = optarg; break;
        case 'k': prio_str = optarg; break;
        case 'K': keyfile = optarg; break;
        case 'g': hold_get = 1; break;
        case 'b': hello_prefix = atoi(optarg); break;
        case 'D': drip = 1; break;
        case 'i': seq_interval_ms = atol(optarg); break;
        case 't': seq_timeout_ms = atol(optarg); break;
        default: usage();
        }
    }
    if (mode == M_SIGN) {
        if (!keyfile)
            usage();
        if (duration <= 0)
            duration = 1;
        gnutls_global_init();
        return sign_loop();
    }
    if (port <= 0 || port > 65535 || conns < 1 || conns > 4096 || max_ops < 1
        || hello_prefix < 1 || seq_interval_ms < 0 || seq_timeout_ms < 1
        || ((mode == M_SLOW || mode == M_HOLD) && max_ops > 100000))
        usage();
    if (duration <= 0)
        duration = mode == M_HOLD || mode == M_SLOW ? 300 : 5;
    if (duration > 3600)
        duration = 3600;
    if (mode == M_PROBE) {
        conns = 1;
        max_ops = 1;
    }
    signal(SIGPIPE, SIG_IGN);

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    request_len = (size_t)snprintf(request, sizeof(request),
        "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, sni);
    keep_request_len = (size_t)snprintf(keep_request, sizeof(keep_request),
        "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, sni);

    gnutls_global_init();
    gnutls_certificate_allocate_credentials(&cred);   /* no verification */
    if ((rv = gnutls_priority_init(&prio, prio_str, &err)) < 0) {
        fprintf(stderr, "bench-client: bad priority string at '%s'\n", err);
        return 2;
    }

    if (mode == M_SLOW)
        return slow_main();
    if (mode == M_SEQ)
        return seq_main();
    if (mode == M_RESUME && get_ticket() < 0) {
        printf("ops=0 errors=1 not_resumed=0 no_close_notify=0 secs=0 ops_per_s=0 "
               "desc=none\n");
        return 1;
    }

    pthread_t *tids = calloc((size_t)conns, sizeof(*tids));
    if (mode == M_HOLD) {
        raise_nofile(max_ops + 64);
        held = calloc((size_t)max_ops, sizeof(*held));
        if (!held || !tids)
            return 1;
    }
    double t0 = now();
    t_end = t0 + (mode == M_HOLD ? 120 : duration);   /* hold: to connect */
    for (int i = 0; i < conns; i++) {
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setstacksize(&a, 256 * 1024);
        if (pthread_create(&tids[i], &a, mode == M_HOLD ? hold_thread
                                                        : loop_thread, NULL)) {
            fprintf(stderr, "bench-client: cannot start thread %d\n", i);
            conns = i;
            break;
        }
        pthread_attr_destroy(&a);
    }
    for (int i = 0; i < conns; i++)
        pthread_join(tids[i], NULL);
    double secs = now() - t0;

    long ok = atomic_load(&done_ok), bad = atomic_load(&errors);
    if (mode == M_HOLD) {
        printf("established=%ld errors=%ld secs=%.2f desc=%s\n", ok, bad, secs,
               desc[0] ? desc : "none");
        fflush(stdout);
        /* idle until stdin ends (the caller is done measuring) or the
         * duration bound passes */
        idle_until(now() + duration, NULL);
        /* all looked at before any is closed: closing some makes work for
         * the server, and the event MPM closes its idle keep-alive
         * connections when it finds all its workers busy */
        long still = 0, closed = 0;
        for (long i = 0; i < max_ops; i++)
            if (held[i].s) {
                if (peer_closed(held[i].fd))
                    closed++;
                else
                    still++;
            }
        for (long i = 0; i < max_ops; i++)
            if (held[i].s)
                tls_close(held[i].s, held[i].fd);
        printf("still_open=%ld closed=%ld\n", still, closed);
        return ok > 0 ? 0 : 1;
    }
    printf("ops=%ld errors=%ld not_resumed=%ld no_close_notify=%ld secs=%.3f "
           "ops_per_s=%.1f desc=%s\n", ok, bad, atomic_load(&not_resumed),
           atomic_load(&no_close_notify), secs, secs > 0 ? ok / secs : 0,
           desc[0] ? desc : "none");
    gnutls_free(ticket.data);
    gnutls_priority_deinit(prio);
    gnutls_certificate_free_credentials(cred);
    gnutls_global_deinit();
    return ok > 0 ? 0 : 1;
}
