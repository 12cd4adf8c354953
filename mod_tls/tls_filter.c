/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The TLS connection filters, and GnuTLS's transport bound to the filters
 * below them: GnuTLS pulls ciphertext from the next input filter and pushes
 * records into a brigade that we pass to the next output filter. Every
 * socket timeout mod_tls sets is set here, for a deadline's reads. */
#include <httpd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <http_connection.h>
#include <http_log.h>
#include <http_core.h>
#include <http_request.h>

#include "tls_filter.h"

APLOG_USE_MODULE(tls);

/* Largest plaintext of one TLS record. */
#define TLS_RECORD_MAX          16384
/* Pass ciphertext down once this much has piled up in one filter call. */
#define TLS_OUT_PASS_THRESHOLD  (4 * TLS_RECORD_MAX)

struct tls_filter_t {
    conn_rec *c;
    gnutls_session_t session;
    tls_filter_open_fn *open;    /* the owner's way to finish the handshake */
    void *baton;
    tls_filter_mode_t mode;

    ap_filter_t *in_f;           /* our filters, whose ->next is the network */
    ap_filter_t *out_f;
    apr_bucket_brigade *raw_in;  /* ciphertext read, not yet taken by GnuTLS */
    apr_bucket_brigade *plain_in;/* plaintext not yet taken by the reader */
    apr_bucket_brigade *raw_out; /* ciphertext made, not yet passed down */
    apr_size_t raw_out_len;

    apr_read_type_e block;       /* how GnuTLS's reads may wait */
    apr_time_t deadline;         /* when blocking reads give up; 0: never */
    apr_status_t net_status;     /* the last failure seen below us */
    int net_eof;                 /* the peer closed its side */
    int would_block;             /* the last read found nothing, yet */
    int read_timeup;             /* the last read hit the socket's timeout */
    int timed_out;               /* a read or write hit the deadline */

    char *gather;                /* small writes, for one record (malloc) */
    apr_size_t gather_len;
    int renegotiation_refused;   /* logged once per connection */
    const char *label;           /* names the peer in messages, or NULL */
};

static ap_filter_rec_t *tls_in_filter_handle;
static ap_filter_rec_t *tls_out_filter_handle;

static int status_to_errno(apr_status_t rv)
{
    if (APR_STATUS_IS_EAGAIN(rv)) {
        return EAGAIN;
    }
    if (APR_STATUS_IS_TIMEUP(rv)) {
        return ETIMEDOUT;
    }
    return EIO;
}

/* Shortens the socket's timeout to what is left of the deadline, for one
 * blocking network call; APR_TIMEUP once the deadline has passed. *armed
 * says whether the timeout was changed (and deadline_disarm must undo it),
 * *saved holds the timeout to restore. */
static apr_status_t deadline_arm(tls_filter_t *f, apr_interval_time_t *saved,
                                 int *armed)
{
    apr_socket_t *sock = ap_get_conn_socket(f->c);
    apr_interval_time_t left;

    *armed = 0;
    if (!f->deadline || !sock) {
        return APR_SUCCESS;
    }
    left = f->deadline - apr_time_now();
    if (left <= 0) {
        f->timed_out = 1;
        return APR_TIMEUP;
    }
    apr_socket_timeout_get(sock, saved);
    if (*saved < 0 || left < *saved) {
        apr_socket_timeout_set(sock, left);
        *armed = 1;
    }
    return APR_SUCCESS;
}

static void deadline_disarm(tls_filter_t *f, apr_interval_time_t saved,
                            int armed, apr_status_t rv)
{
    if (armed) {
        apr_socket_timeout_set(ap_get_conn_socket(f->c), saved);
        if (APR_STATUS_IS_TIMEUP(rv)) {
            f->timed_out = 1;
        }
    }
}

apr_status_t tls_filter_send(tls_filter_t *f, int flush)
{
    apr_interval_time_t saved = 0;
    apr_status_t rv;
    int armed = 0;

    if (flush) {
        APR_BRIGADE_INSERT_TAIL(f->raw_out,
                                apr_bucket_flush_create(f->c->bucket_alloc));
    }
    if (APR_BRIGADE_EMPTY(f->raw_out)) {
        return APR_SUCCESS;
    }
    /* a client that does not read cannot hold a handshake's write longer
     * than its deadline either */
    if (flush && (rv = deadline_arm(f, &saved, &armed)) != APR_SUCCESS) {
        apr_brigade_cleanup(f->raw_out);
        f->raw_out_len = 0;
        return rv;
    }
    rv = ap_pass_brigade(f->out_f->next, f->raw_out);
    deadline_disarm(f, saved, armed, rv);
    apr_brigade_cleanup(f->raw_out);
    f->raw_out_len = 0;
    return rv;
}

/* Reads ciphertext (or the first bytes of a plain HTTP request) into raw_in;
 * EOF and errors are remembered so that GnuTLS sees them in order. */
static apr_status_t read_raw(tls_filter_t *f, apr_read_type_e block,
                             apr_off_t len)
{
    apr_interval_time_t saved = 0;
    apr_status_t rv;
    int armed = 0;

    f->would_block = 0;
    if (!APR_BRIGADE_EMPTY(f->raw_out)) {
        /* the peer waits for what we owe it before it answers */
        if ((rv = tls_filter_send(f, 1)) != APR_SUCCESS) {
            f->net_status = rv;
            return rv;
        }
    }
    if (block == APR_BLOCK_READ
        && (rv = deadline_arm(f, &saved, &armed)) != APR_SUCCESS) {
        f->net_status = rv;
        return rv;
    }
    rv = ap_get_brigade(f->in_f->next, f->raw_in, AP_MODE_READBYTES, block,
                        len);
    deadline_disarm(f, saved, armed, rv);
    if (rv == APR_SUCCESS && APR_BRIGADE_EMPTY(f->raw_in)) {
        rv = block == APR_BLOCK_READ ? APR_EOF : APR_EAGAIN;
    }
    if (APR_STATUS_IS_EOF(rv)) {
        f->net_eof = 1;
    }
    else if (APR_STATUS_IS_EAGAIN(rv)) {
        f->would_block = 1;
    }
    else if (rv != APR_SUCCESS) {
        f->net_status = rv;
    }
    return rv;
}

/* Moves up to len bytes from the head of bb into buf. */
static apr_size_t brigade_take(apr_bucket_brigade *bb, char *buf,
                               apr_size_t len)
{
    apr_size_t got = 0;

    while (got < len && !APR_BRIGADE_EMPTY(bb)) {
        apr_bucket *b = APR_BRIGADE_FIRST(bb);
        const char *data;
        apr_size_t n;

        if (!APR_BUCKET_IS_METADATA(b)) {
            if (apr_bucket_read(b, &data, &n, APR_BLOCK_READ) != APR_SUCCESS) {
                break;
            }
            if (n > len - got) {
                apr_bucket_split(b, len - got);
                n = len - got;
            }
            memcpy(buf + got, data, n);
            got += n;
        }
        apr_bucket_delete(b);
    }
    return got;
}

/* GnuTLS pulls a record's header, then its body: asked for no more than
 * that, the core reads the socket once (up to 8000 bytes, kept for the
 * next pull); asked for more than one read brings, it would read again to
 * be greedy, which costs a failed read for every small message.
 *
 * Once the connection is open, a socket timeout is the caller's to judge:
 * mod_proxy_http2 polls its backend with short timeouts and reads on,
 * mod_reqtimeout gives up. GnuTLS hears "try again" (a fatal pull error
 * would end the session for good) and read_record() passes the timeout
 * up. A handshake's timeout (and a deadline's) stays fatal. */
static ssize_t tls_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
    tls_filter_t *f = ptr;

    if (APR_BRIGADE_EMPTY(f->raw_in) && !f->net_eof) {
        apr_status_t rv = read_raw(f, f->block, (apr_off_t)len);

        if (rv != APR_SUCCESS && !APR_STATUS_IS_EOF(rv)) {
            int err = status_to_errno(rv);

            if (APR_STATUS_IS_TIMEUP(rv) && f->mode == TLS_FILTER_TLS
                && !f->timed_out) {
                f->read_timeup = 1;
                err = EAGAIN;
            }
            gnutls_transport_set_errno(f->session, err);
            return -1;
        }
    }
    return (ssize_t)brigade_take(f->raw_in, buf, len);
}

static ssize_t tls_push(gnutls_transport_ptr_t ptr, const giovec_t *iov,
                        int iovcnt)
{
    tls_filter_t *f = ptr;
    apr_size_t total = 0, off = 0;
    char *buf;
    int i;

    /* one heap bucket per write, however GnuTLS slices the record */
    for (i = 0; i < iovcnt; ++i) {
        total += iov[i].iov_len;
    }
    if (total == 0) {
        return 0;
    }
    buf = apr_bucket_alloc(total, f->c->bucket_alloc);
    for (i = 0; i < iovcnt; ++i) {
        memcpy(buf + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    APR_BRIGADE_INSERT_TAIL(f->raw_out,
                            apr_bucket_heap_create(buf, total, apr_bucket_free,
                                                   f->c->bucket_alloc));
    f->raw_out_len += total;
    return (ssize_t)total;
}

void tls_filter_set_label(tls_filter_t *f, const char *label)
{
    f->label = label;
}

/* A backend that asked for our certificate in the handshake may refuse it
 * (or its absence) only later: in TLS 1.3 its alert comes after our side
 * of the handshake is done. */
const char *tls_filter_alert_text(tls_filter_t *f)
{
    const char *peer = f->c->outgoing ? "backend" : "client";
    const char *hint = "";

    if (f->c->outgoing
        && gnutls_certificate_client_get_request_status(f->session)) {
        hint = gnutls_certificate_get_ours(f->session)
               ? " after asking for our client certificate (see "
                 "TLSProxyMachineCertificate)"
               : " after asking for a client certificate, which we do not "
                 "have (see TLSProxyMachineCertificate)";
    }
    return apr_psprintf(f->c->pool, "the %s sent the alert '%s'%s", peer,
                        gnutls_alert_get_name(gnutls_alert_get(f->session)),
                        hint);
}

apr_status_t tls_filter_fail(tls_filter_t *f, int err, const char *what)
{
    /* a backend's failure is the admin's to fix, a client's the client's */
    int level = f->c->outgoing ? APLOG_ERR : APLOG_INFO;
    const char *with = f->label ? apr_pstrcat(f->c->pool, " with ", f->label,
                                              NULL) : "";

    if (err == GNUTLS_E_INVALID_SESSION) {
        /* the peer's close_notify ended the session: nothing to report */
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, f->c,
                      "TLS %s after the %s closed the session", what,
                      f->c->outgoing ? "backend" : "client");
    }
    else if (f->timed_out) {
        ap_log_cerror(APLOG_MARK, level, 0, f->c,
                      "TLS %s%s timed out, closing the connection", what,
                      with);
    }
    else if (err == GNUTLS_E_FATAL_ALERT_RECEIVED) {
        ap_log_cerror(APLOG_MARK, level, 0, f->c,
                      "TLS %s%s failed: %s, closing the connection", what,
                      with, tls_filter_alert_text(f));
    }
    else {
        ap_log_cerror(APLOG_MARK, level, 0, f->c,
                      "TLS %s%s failed: %s (%d), closing the connection",
                      what, with, gnutls_strerror(err), err);
        if (err != GNUTLS_E_PUSH_ERROR && err != GNUTLS_E_PULL_ERROR) {
            gnutls_alert_send_appropriate(f->session, err);
            tls_filter_send(f, 1);
        }
    }
    f->mode = TLS_FILTER_DEAD;
    f->c->aborted = 1;
    return APR_ECONNABORTED;
}

/* Client renegotiation has been a CPU-exhaustion vector: it is declined
 * with a warning (RFC 5246 7.2.2), and the connection goes on. GnuTLS
 * keeps the declined ClientHello for the next read; its packet reader
 * would drop it without freeing it (3.7), its copying reader frees it, so
 * that one reads it away here and reports the expected unexpected packet. */
static apr_status_t refuse_renegotiation(tls_filter_t *f)
{
    char byte;
    ssize_t n;

    if (!f->renegotiation_refused) {
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, f->c,
                      "%s renegotiation refused with a "
                      "no_renegotiation warning; the connection goes on",
                      f->c->outgoing ? "a backend's (HelloRequest)"
                                     : "client-initiated");
        f->renegotiation_refused = 1;
    }
    gnutls_alert_send(f->session, GNUTLS_AL_WARNING,
                      GNUTLS_A_NO_RENEGOTIATION);
    tls_filter_send(f, 1);
    n = gnutls_record_recv(f->session, &byte, 1);
    if (n != GNUTLS_E_UNEXPECTED_PACKET) {
        /* GnuTLS holds something else than the hello it reported */
        return tls_filter_fail(f, n < 0 ? (int)n : GNUTLS_E_INTERNAL_ERROR,
                               "read");
    }
    return APR_SUCCESS;
}

/* Decrypts one record of application data into plain_in. */
static apr_status_t read_record(tls_filter_t *f, apr_read_type_e block)
{
    gnutls_packet_t pkt;
    gnutls_datum_t data;
    apr_status_t rv;
    ssize_t n;

    f->block = block;
    for (;;) {
        apr_size_t made = f->raw_out_len;

        f->would_block = 0;
        f->read_timeup = 0;
        n = gnutls_record_recv_packet(f->session, &pkt);
        if (f->raw_out_len != made) {
            /* an alert made while reading; what was there before (a
             * ticket) may wait for the response */
            tls_filter_send(f, 1);
        }
        if (n > 0) {
            gnutls_packet_get(pkt, &data, NULL);
            APR_BRIGADE_INSERT_TAIL(f->plain_in,
                apr_bucket_heap_create((const char *)data.data, data.size,
                                       NULL, f->c->bucket_alloc));
            gnutls_packet_deinit(pkt);
            return APR_SUCCESS;
        }
        switch (n) {
        case 0:
        case GNUTLS_E_PREMATURE_TERMINATION:
            return APR_EOF;
        case GNUTLS_E_AGAIN:
            /* also said after a record without application data (a
             * KeyUpdate, an empty record, part of a handshake message):
             * only the network's EAGAIN means there is nothing to read */
            if (f->would_block) {
                return APR_EAGAIN;
            }
            if (f->read_timeup) {
                return APR_TIMEUP;
            }
            continue;
        case GNUTLS_E_INTERRUPTED:
        case GNUTLS_E_WARNING_ALERT_RECEIVED:
            continue;
        case GNUTLS_E_REHANDSHAKE:
            if ((rv = refuse_renegotiation(f)) != APR_SUCCESS) {
                return rv;
            }
            continue;
        case GNUTLS_E_PULL_ERROR:
            if (f->net_status != APR_SUCCESS && !f->timed_out) {
                return f->net_status;
            }
            /* fall through */
        default:
            return tls_filter_fail(f, (int)n, "read");
        }
    }
}

apr_status_t tls_filter_keep_app_data(tls_filter_t *f, apr_off_t limit)
{
    apr_off_t held = 0;

    apr_brigade_length(f->plain_in, 0, &held);
    return held > limit ? APR_ENOSPC : read_record(f, APR_BLOCK_READ);
}

/* The client spoke plain HTTP: its bytes are passed up as they come. */
static apr_status_t read_plain(tls_filter_t *f, apr_read_type_e block)
{
    apr_status_t rv;

    if (APR_BRIGADE_EMPTY(f->raw_in)) {
        rv = read_raw(f, block, AP_IOBUFSIZE);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    APR_BRIGADE_CONCAT(f->plain_in, f->raw_in);
    return APR_SUCCESS;
}

static apr_status_t fill(tls_filter_t *f, apr_read_type_e block)
{
    return f->mode == TLS_FILTER_PLAIN ? read_plain(f, block)
                                       : read_record(f, block);
}

/* Whether no plaintext waits: splitting a line at a bucket's end leaves
 * empty buckets behind, which must not count as data. */
static int plain_empty(tls_filter_t *f)
{
    apr_bucket *b;

    while (!APR_BRIGADE_EMPTY(f->plain_in)) {
        b = APR_BRIGADE_FIRST(f->plain_in);
        if (b->length != 0) {
            return 0;
        }
        apr_bucket_delete(b);
    }
    return 1;
}

/* Moves (or, to peek, copies) up to len bytes from plain_in into bb. */
static apr_status_t hand_over(tls_filter_t *f, apr_bucket_brigade *bb,
                              apr_off_t len, int copy)
{
    apr_bucket *b, *next, *end, *cp;
    apr_status_t rv;

    rv = apr_brigade_partition(f->plain_in, len, &end);
    if (rv != APR_SUCCESS && rv != APR_INCOMPLETE) {
        return rv;
    }
    for (b = APR_BRIGADE_FIRST(f->plain_in);
         b != end && b != APR_BRIGADE_SENTINEL(f->plain_in); b = next) {
        next = APR_BUCKET_NEXT(b);
        if (!copy) {
            APR_BUCKET_REMOVE(b);
            APR_BRIGADE_INSERT_TAIL(bb, b);
        }
        else if ((rv = apr_bucket_copy(b, &cp)) != APR_SUCCESS) {
            return rv;
        }
        else {
            APR_BRIGADE_INSERT_TAIL(bb, cp);
        }
    }
    return APR_SUCCESS;
}

static int ends_with_lf(apr_bucket_brigade *bb)
{
    apr_bucket *b;
    const char *data;
    apr_size_t len;

    if (APR_BRIGADE_EMPTY(bb)) {
        return 0;
    }
    b = APR_BRIGADE_LAST(bb);
    if (apr_bucket_read(b, &data, &len, APR_BLOCK_READ) != APR_SUCCESS) {
        return 0;
    }
    return len > 0 && data[len - 1] == APR_ASCII_LF;
}

static apr_status_t read_line(tls_filter_t *f, apr_bucket_brigade *bb,
                              apr_read_type_e block)
{
    apr_off_t got = 0, len;
    apr_status_t rv;

    for (;;) {
        if (!plain_empty(f)) {
            rv = apr_brigade_split_line(bb, f->plain_in, block,
                                        HUGE_STRING_LEN - got);
            if (rv != APR_SUCCESS) {
                return rv;
            }
            apr_brigade_length(bb, 1, &len);
            got = len;
            if (ends_with_lf(bb) || got >= HUGE_STRING_LEN) {
                return APR_SUCCESS;
            }
        }
        rv = fill(f, block);
        if (rv != APR_SUCCESS) {
            /* a partial line is data; the caller asks again */
            return (got > 0 && APR_STATUS_IS_EAGAIN(rv)) ? APR_SUCCESS : rv;
        }
    }
}

/* Drops CR and LF between pipelined requests, without waiting for more. */
static apr_status_t eat_crlf(tls_filter_t *f)
{
    const char *data;
    apr_size_t len, i;
    apr_bucket *b;

    if (plain_empty(f)) {
        fill(f, APR_NONBLOCK_READ);
    }
    while (!APR_BRIGADE_EMPTY(f->plain_in)) {
        b = APR_BRIGADE_FIRST(f->plain_in);
        if (apr_bucket_read(b, &data, &len, APR_BLOCK_READ) != APR_SUCCESS) {
            break;
        }
        for (i = 0; i < len && (data[i] == APR_ASCII_CR
                                || data[i] == APR_ASCII_LF); ++i)
            ;
        if (i < len) {
            if (i > 0) {
                apr_bucket_split(b, i);
                apr_bucket_delete(b);
            }
            break;
        }
        apr_bucket_delete(b);
    }
    return APR_SUCCESS;
}

static apr_status_t gather_flush(tls_filter_t *f);

static apr_status_t tls_filter_in(ap_filter_t *fl, apr_bucket_brigade *bb,
                                  ap_input_mode_t mode, apr_read_type_e block,
                                  apr_off_t readbytes)
{
    tls_filter_t *f = fl->ctx;
    apr_status_t rv;

    if (f->mode == TLS_FILTER_WAITING && (rv = f->open(f->baton))) {
        return rv;
    }
    /* whoever reads may be waiting for the answer to what it wrote last,
     * unflushed (a backend, for mod_proxy's request): it goes out, as
     * read_raw() does with the records made */
    if (f->gather_len && f->mode == TLS_FILTER_TLS
        && (rv = gather_flush(f)) != APR_SUCCESS) {
        return rv;
    }
    if (f->mode == TLS_FILTER_DEAD || f->mode == TLS_FILTER_WAITING) {
        return APR_ECONNABORTED;
    }
    if (f->mode == TLS_FILTER_CLOSED) {
        return APR_EOF;
    }
    switch (mode) {
    case AP_MODE_INIT:
        return APR_SUCCESS;
    case AP_MODE_EATCRLF:
        return eat_crlf(f);
    case AP_MODE_GETLINE:
        return read_line(f, bb, block);
    case AP_MODE_READBYTES:
    case AP_MODE_SPECULATIVE:
        if (plain_empty(f) && (rv = fill(f, block)) != APR_SUCCESS) {
            return rv;
        }
        return hand_over(f, bb, readbytes, mode == AP_MODE_SPECULATIVE);
    default:
        return APR_ENOTIMPL;
    }
}

/* Encrypts data into records, passed down as they pile up so memory
 * stays bounded. */
static apr_status_t send_plain(tls_filter_t *f, const char *data,
                               apr_size_t len)
{
    apr_status_t rv;
    ssize_t n;

    while (len > 0) {
        n = gnutls_record_send(f->session, data, len);
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
            continue;
        }
        if (n < 0) {
            return tls_filter_fail(f, (int)n, "write");
        }
        data += n;
        len -= (apr_size_t)n;
        if (f->raw_out_len >= TLS_OUT_PASS_THRESHOLD
            && (rv = tls_filter_send(f, 0)) != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

/* The gather buffer goes back to the heap, so that an idle connection
 * holds none (GnuTLS's own corking would keep its buffer, as large as the
 * largest record, per session). Also the connection pool's cleanup. */
static apr_status_t gather_free(void *data)
{
    tls_filter_t *f = data;

    free(f->gather);
    f->gather = NULL;
    f->gather_len = 0;
    return APR_SUCCESS;
}

/* The gathered writes go out as one record. */
static apr_status_t gather_flush(tls_filter_t *f)
{
    apr_status_t rv;

    if (!f->gather_len) {
        return APR_SUCCESS;
    }
    rv = send_plain(f, f->gather, f->gather_len);
    gather_free(f);
    return rv;
}

/* Small writes gather into full records, across filter calls (response
 * headers and body arrive apart), until a record is full or the stream
 * says flush; large ones go out record by record. */
static apr_status_t write_data(tls_filter_t *f, const char *data,
                               apr_size_t len)
{
    apr_status_t rv;
    apr_size_t take;

    if (len >= TLS_RECORD_MAX) {
        if ((rv = gather_flush(f)) != APR_SUCCESS) {
            return rv;
        }
        return send_plain(f, data, len);
    }
    while (len > 0) {
        if (!f->gather && !(f->gather = malloc(TLS_RECORD_MAX))) {
            return send_plain(f, data, len);
        }
        take = TLS_RECORD_MAX - f->gather_len;
        take = take < len ? take : len;
        memcpy(f->gather + f->gather_len, data, take);
        f->gather_len += take;
        data += take;
        len -= take;
        if (f->gather_len == TLS_RECORD_MAX
            && (rv = gather_flush(f)) != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

/* Buckets after which the client must have all data before them. */
static int ends_output(apr_bucket *b)
{
    return APR_BUCKET_IS_FLUSH(b) || AP_BUCKET_IS_EOC(b) || AP_BUCKET_IS_EOR(b);
}

static apr_status_t pass_meta(tls_filter_t *f, apr_bucket *b)
{
    apr_status_t rv;

    if (ends_output(b) && (rv = gather_flush(f)) != APR_SUCCESS) {
        return rv;
    }
    if (AP_BUCKET_IS_EOC(b) && f->mode == TLS_FILTER_TLS) {
        /* close_notify, so the peer can tell our end from a truncation;
         * flushed, since the core closes the socket right after EOC */
        gnutls_bye(f->session, GNUTLS_SHUT_WR);
        f->mode = TLS_FILTER_CLOSED;
        if ((rv = tls_filter_send(f, 1)) != APR_SUCCESS) {
            return rv;
        }
    }
    APR_BUCKET_REMOVE(b);
    APR_BRIGADE_INSERT_TAIL(f->raw_out, b);
    if (APR_BUCKET_IS_FLUSH(b) || AP_BUCKET_IS_EOC(b)) {
        return tls_filter_send(f, 0);
    }
    return APR_SUCCESS;
}

/* A FLUSH right before EOC (ap_flush_conn) would cost a write of its own;
 * the close_notify that EOC brings is flushed anyway. */
static int flush_before_eoc(apr_bucket_brigade *bb, apr_bucket *b)
{
    apr_bucket *next = APR_BUCKET_NEXT(b);

    return APR_BUCKET_IS_FLUSH(b) && next != APR_BRIGADE_SENTINEL(bb)
           && AP_BUCKET_IS_EOC(next);
}

static apr_status_t write_bucket(tls_filter_t *f, apr_bucket *b)
{
    const char *data;
    apr_size_t len;
    apr_status_t rv;

    rv = apr_bucket_read(b, &data, &len, APR_NONBLOCK_READ);
    if (APR_STATUS_IS_EAGAIN(rv)) {
        /* a slow source (CGI): let the client have what we have */
        if ((rv = gather_flush(f)) == APR_SUCCESS
            && (rv = tls_filter_send(f, 1)) == APR_SUCCESS) {
            rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
        }
    }
    if (rv == APR_SUCCESS && len > 0) {
        rv = write_data(f, data, len);
    }
    return rv;
}

static apr_status_t tls_filter_out(ap_filter_t *fl, apr_bucket_brigade *bb)
{
    tls_filter_t *f = fl->ctx;
    apr_status_t rv = APR_SUCCESS;
    apr_bucket *b;

    if (f->mode == TLS_FILTER_PLAIN) {
        return ap_pass_brigade(fl->next, bb);
    }
    while (!APR_BRIGADE_EMPTY(bb) && rv == APR_SUCCESS) {
        b = APR_BRIGADE_FIRST(bb);
        if (flush_before_eoc(bb, b) && f->mode == TLS_FILTER_TLS) {
            apr_bucket_delete(b);
            continue;
        }
        if (APR_BUCKET_IS_METADATA(b)) {
            /* an unopened connection's EOC closes it without a handshake */
            rv = pass_meta(f, b);
            continue;
        }
        if (f->mode == TLS_FILTER_WAITING && (rv = f->open(f->baton))) {
            break;
        }
        if (f->mode != TLS_FILTER_TLS) {
            /* failed or closed: data has nowhere to go */
            rv = APR_ECONNABORTED;
            break;
        }
        if ((rv = write_bucket(f, b)) == APR_SUCCESS) {
            apr_bucket_delete(b);
        }
    }
    if (rv == APR_SUCCESS) {
        rv = tls_filter_send(f, 0);
    }
    else {
        apr_brigade_cleanup(bb);
    }
    return rv;
}

tls_filter_t *tls_filter_attach(conn_rec *c, gnutls_session_t session,
                                tls_filter_open_fn *open, void *baton)
{
    tls_filter_t *f = apr_pcalloc(c->pool, sizeof(*f));

    f->c = c;
    f->session = session;
    f->open = open;
    f->baton = baton;
    f->mode = TLS_FILTER_WAITING;
    f->raw_in = apr_brigade_create(c->pool, c->bucket_alloc);
    f->plain_in = apr_brigade_create(c->pool, c->bucket_alloc);
    f->raw_out = apr_brigade_create(c->pool, c->bucket_alloc);
    f->block = APR_BLOCK_READ;
    apr_pool_cleanup_register(c->pool, f, gather_free, apr_pool_cleanup_null);
    f->in_f = ap_add_input_filter_handle(tls_in_filter_handle, f, NULL, c);
    f->out_f = ap_add_output_filter_handle(tls_out_filter_handle, f, NULL, c);
    gnutls_transport_set_ptr(session, f);
    gnutls_transport_set_pull_function(session, tls_pull);
    gnutls_transport_set_vec_push_function(session, tls_push);
    return f;
}

void tls_filter_set_mode(tls_filter_t *f, tls_filter_mode_t mode)
{
    f->mode = mode;
}

tls_filter_mode_t tls_filter_mode(const tls_filter_t *f)
{
    return f->mode;
}

void tls_filter_set_wait(tls_filter_t *f, apr_read_type_e block,
                         apr_time_t deadline)
{
    f->block = block;
    f->deadline = deadline;
}

apr_time_t tls_filter_deadline(const tls_filter_t *f)
{
    return f->deadline;
}

apr_status_t tls_filter_first_byte(tls_filter_t *f, char *byte)
{
    apr_bucket *b;
    const char *data;
    apr_size_t len = 0;
    apr_status_t rv;

    if (APR_BRIGADE_EMPTY(f->raw_in)
        && (rv = read_raw(f, f->block, AP_IOBUFSIZE)) != APR_SUCCESS) {
        return rv;
    }
    b = APR_BRIGADE_FIRST(f->raw_in);
    rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
    if (rv == APR_SUCCESS && len == 0) {
        rv = APR_EOF;
    }
    if (rv == APR_SUCCESS) {
        *byte = data[0];
    }
    return rv;
}

int tls_filter_saw_eof(const tls_filter_t *f)
{
    return f->net_eof && APR_BRIGADE_EMPTY(f->raw_in);
}

int tls_filter_timed_out(const tls_filter_t *f)
{
    return f->timed_out;
}

int tls_filter_would_block(const tls_filter_t *f)
{
    return f->would_block;
}

apr_status_t tls_filter_net_status(const tls_filter_t *f)
{
    return f->net_status;
}

int tls_filter_input_pending(const tls_filter_t *f)
{
    return !APR_BRIGADE_EMPTY(f->raw_in)
           || gnutls_record_check_pending(f->session) > 0;
}

void tls_filter_register(apr_pool_t *p)
{
    (void)p;
    tls_in_filter_handle = ap_register_input_filter(
        "TLS_IN", tls_filter_in, NULL, AP_FTYPE_CONNECTION + 5);
    tls_out_filter_handle = ap_register_output_filter(
        "TLS_OUT", tls_filter_out, NULL, AP_FTYPE_CONNECTION + 5);
}
