/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * tls-poke: a GnuTLS client that does at the record level what the tests
 * of odd clients need and no command line client offers: TLS 1.3
 * KeyUpdate (with or without update_requested), empty application-data
 * records, a request spread over records, a TLS 1.2 renegotiation attempt.
 * The test harness compiles it (t/lib/TLSTestRaw.pm, poke()).
 *
 *   tls-poke [-p PRIORITY] [-n SNI] [-a CAFILE] HOST PORT STEP...
 *
 * Steps, run in order:
 *   send:TEXT        TEXT in one record (\r and \n written as such)
 *   bytes:TEXT       TEXT with one record per byte
 *   keyupdate        a KeyUpdate, update_not_requested
 *   keyupdate-req    a KeyUpdate, update_requested
 *   empty            an empty application-data record (TLS 1.3)
 *   renegotiate      a new handshake on the connection (TLS 1.2)
 *   read             reads one HTTP/1.1 response (Content-Length bodies)
 * Output, one line each: HANDSHAKE <version>, RESPONSE <status> <body
 * bytes>, RENEGOTIATE <result>, SERVER_KEYUPDATES <n> (at the end), ERROR
 * <step> <GnuTLS error> (and exit 1). */
#define _GNU_SOURCE
#include <gnutls/gnutls.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int server_key_updates;

static int on_msg(gnutls_session_t s, unsigned htype, unsigned when,
                  unsigned incoming, const gnutls_datum_t *msg)
{
    (void)s; (void)msg;
    if (incoming && when == GNUTLS_HOOK_POST
        && htype == GNUTLS_HANDSHAKE_KEY_UPDATE) {
        ++server_key_updates;
    }
    return 0;
}

static void fail(const char *step, int rv)
{
    printf("ERROR %s %s\n", step, gnutls_strerror(rv));
    printf("SERVER_KEYUPDATES %d\n", server_key_updates);
    exit(1);
}

/* \r and \n in a command line argument, turned into CR and LF. */
static char *unescape(const char *in, size_t *len)
{
    char *out = malloc(strlen(in) + 1), *o = out;

    while (*in) {
        if (in[0] == '\\' && (in[1] == 'r' || in[1] == 'n')) {
            *o++ = in[1] == 'r' ? '\r' : '\n';
            in += 2;
        }
        else {
            *o++ = *in++;
        }
    }
    *len = (size_t)(o - out);
    return out;
}

static void send_all(gnutls_session_t s, const char *data, size_t len,
                     size_t per_record)
{
    while (len > 0) {
        size_t n = len < per_record ? len : per_record;
        ssize_t rv = gnutls_record_send(s, data, n);

        if (rv == GNUTLS_E_AGAIN || rv == GNUTLS_E_INTERRUPTED) {
            continue;
        }
        if (rv < 0) {
            fail("send", (int)rv);
        }
        data += rv;
        len -= (size_t)rv;
    }
}

/* Reads until a whole response (head and Content-Length body) is in. */
static void read_response(gnutls_session_t s)
{
    /* what came after one response belongs to the next */
    static char buf[1 << 20];
    static size_t got;
    size_t used;
    char *end = NULL;
    long clen = 0;
    int status = 0;

    for (;;) {
        ssize_t n;

        if (!end && (end = strstr(buf, "\r\n\r\n"))) {
            char *cl = strcasestr(buf, "\r\nContent-Length:");

            sscanf(buf, "HTTP/1.%*d %d", &status);
            clen = cl && cl < end ? strtol(cl + 17, NULL, 10) : 0;
        }
        if (end && got >= (size_t)(end + 4 - buf) + (size_t)clen) {
            break;
        }
        if (got >= sizeof(buf) - 1) {
            fail("read", GNUTLS_E_LARGE_PACKET);
        }
        n = gnutls_record_recv(s, buf + got, sizeof(buf) - 1 - got);
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
            continue;
        }
        if (n <= 0) {
            fail("read", n == 0 ? GNUTLS_E_PREMATURE_TERMINATION : (int)n);
        }
        got += (size_t)n;
        buf[got] = '\0';
    }
    printf("RESPONSE %d %ld\n", status, clen);
    used = (size_t)(end + 4 - buf) + (size_t)clen;
    memmove(buf, buf + used, got - used);
    got -= used;
    buf[got] = '\0';
}

static int connect_to(const char *host, int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1
        || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("connect");
        exit(2);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

int main(int argc, char **argv)
{
    const char *prio = "NORMAL", *sni = "localhost", *ca = NULL;
    gnutls_certificate_credentials_t cred;
    gnutls_session_t s;
    int opt, rv, i, fd;

    while ((opt = getopt(argc, argv, "p:n:a:")) != -1) {
        if (opt == 'p') prio = optarg;
        else if (opt == 'n') sni = optarg;
        else if (opt == 'a') ca = optarg;
        else return 2;
    }
    if (argc - optind < 2) {
        fprintf(stderr, "usage: tls-poke [-p PRIO] [-n SNI] [-a CA] HOST "
                        "PORT STEP...\n");
        return 2;
    }
    gnutls_certificate_allocate_credentials(&cred);
    if (ca) {
        gnutls_certificate_set_x509_trust_file(cred, ca, GNUTLS_X509_FMT_PEM);
    }
    gnutls_init(&s, GNUTLS_CLIENT);
    if ((rv = gnutls_priority_set_direct(s, prio, NULL)) < 0) {
        fail("priority", rv);
    }
    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
    if (*sni) {
        gnutls_server_name_set(s, GNUTLS_NAME_DNS, sni, strlen(sni));
    }
    if (ca) {
        gnutls_session_set_verify_cert(s, sni, 0);
    }
    gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_ANY,
                                       GNUTLS_HOOK_BOTH, on_msg);
    /* a macro that names its argument twice: connect once, before */
    fd = connect_to(argv[optind], atoi(argv[optind + 1]));
    gnutls_transport_set_int(s, fd);
    do {
        rv = gnutls_handshake(s);
    } while (rv < 0 && !gnutls_error_is_fatal(rv));
    if (rv < 0) {
        fail("handshake", rv);
    }
    printf("HANDSHAKE %s\n",
           gnutls_protocol_get_name(gnutls_protocol_get_version(s)));
    for (i = optind + 2; i < argc; ++i) {
        const char *step = argv[i];
        size_t len;

        if (!strncmp(step, "send:", 5) || !strncmp(step, "bytes:", 6)) {
            char *data = unescape(strchr(step, ':') + 1, &len);

            send_all(s, data, len, step[0] == 'b' ? 1 : len);
            free(data);
        }
        else if (!strcmp(step, "keyupdate") || !strcmp(step, "keyupdate-req")) {
            rv = gnutls_session_key_update(s, step[9] ? GNUTLS_KU_PEER : 0);
            if (rv < 0) {
                fail(step, rv);
            }
        }
        else if (!strcmp(step, "empty")) {
            /* GnuTLS makes no empty record; TLS 1.3 padding without data
             * is one (RFC 8446 5.4) */
            rv = (int)gnutls_record_send2(s, "", 0, 16, 0);
            if (rv < 0) {
                fail(step, rv);
            }
        }
        else if (!strcmp(step, "renegotiate")) {
            do {
                rv = gnutls_handshake(s);
            } while (rv == GNUTLS_E_AGAIN || rv == GNUTLS_E_INTERRUPTED);
            printf("RENEGOTIATE %s\n", rv < 0 ? gnutls_strerror(rv) : "done");
            if (rv == GNUTLS_E_WARNING_ALERT_RECEIVED) {
                printf("ALERT %s\n",
                       gnutls_alert_get_name(gnutls_alert_get(s)));
            }
        }
        else if (!strcmp(step, "read")) {
            read_response(s);
        }
        else {
            fprintf(stderr, "tls-poke: unknown step '%s'\n", step);
            return 2;
        }
        fflush(stdout);
    }
    printf("SERVER_KEYUPDATES %d\n", server_key_updates);
    gnutls_bye(s, GNUTLS_SHUT_WR);
    gnutls_deinit(s);
    gnutls_certificate_free_credentials(cred);
    return 0;
}
