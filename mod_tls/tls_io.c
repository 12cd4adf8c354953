/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The TLS connection filters, and GnuTLS's transport bound to the filters
 * below them: GnuTLS pulls ciphertext from the next input filter and pushes
 * records into a brigade that we pass to the next output filter. */
#include <httpd.h>
#include <errno.h>

#include <apr_strings.h>
#include <http_connection.h>
#include <http_log.h>
#include <http_core.h>
#include <http_request.h>

#include "tls_conn.h"

APLOG_USE_MODULE(tls);

/* Largest plaintext of one TLS record. */
#define TLS_RECORD_MAX          16384
/* Pass ciphertext down once this much has piled up in one filter call. */
#define TLS_OUT_PASS_THRESHOLD  (4 * TLS_RECORD_MAX)
/* Raw bytes asked for per network read. */
#define TLS_NET_READ_SIZE       (TLS_RECORD_MAX + 512)

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

apr_status_t tls_io_send_out(tls_conn_t *tc, int flush)
{
    apr_status_t rv;

    if (flush) {
        APR_BRIGADE_INSERT_TAIL(tc->raw_out,
                                apr_bucket_flush_create(tc->c->bucket_alloc));
    }
    if (APR_BRIGADE_EMPTY(tc->raw_out)) {
        return APR_SUCCESS;
    }
    rv = ap_pass_brigade(tc->out_f->next, tc->raw_out);
    apr_brigade_cleanup(tc->raw_out);
    tc->raw_out_len = 0;
    return rv;
}

/* Reads ciphertext (or the first bytes of a plain HTTP request) into raw_in;
 * EOF and errors are remembered so that GnuTLS sees them in order. */
apr_status_t tls_io_read_raw(tls_conn_t *tc, apr_read_type_e block,
                             apr_off_t len)
{
    apr_status_t rv;

    if (!APR_BRIGADE_EMPTY(tc->raw_out)) {
        /* the peer waits for what we owe it before it answers */
        if ((rv = tls_io_send_out(tc, 1)) != APR_SUCCESS) {
            tc->net_status = rv;
            return rv;
        }
    }
    rv = ap_get_brigade(tc->in_f->next, tc->raw_in, AP_MODE_READBYTES, block,
                        len);
    if (rv == APR_SUCCESS && APR_BRIGADE_EMPTY(tc->raw_in)) {
        rv = block == APR_BLOCK_READ ? APR_EOF : APR_EAGAIN;
    }
    if (APR_STATUS_IS_EOF(rv)) {
        tc->net_eof = 1;
    }
    else if (rv != APR_SUCCESS && !APR_STATUS_IS_EAGAIN(rv)) {
        tc->net_status = rv;
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

static ssize_t tls_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
    tls_conn_t *tc = ptr;

    if (APR_BRIGADE_EMPTY(tc->raw_in) && !tc->net_eof) {
        apr_status_t rv = tls_io_read_raw(tc, tc->block, TLS_NET_READ_SIZE);

        if (rv != APR_SUCCESS && !APR_STATUS_IS_EOF(rv)) {
            gnutls_transport_set_errno(tc->session, status_to_errno(rv));
            return -1;
        }
    }
    return (ssize_t)brigade_take(tc->raw_in, buf, len);
}

/* GnuTLS calls this to wait for data while a handshake deadline runs. */
static int tls_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
    tls_conn_t *tc = ptr;
    apr_socket_t *sock = ap_get_conn_socket(tc->c);
    apr_interval_time_t saved;
    apr_status_t rv;

    if (!APR_BRIGADE_EMPTY(tc->raw_in) || tc->net_eof) {
        return 1;
    }
    if (ms == GNUTLS_INDEFINITE_TIMEOUT || !sock) {
        rv = tls_io_read_raw(tc, APR_BLOCK_READ, TLS_NET_READ_SIZE);
    }
    else {
        apr_socket_timeout_get(sock, &saved);
        apr_socket_timeout_set(sock, apr_time_from_msec(ms));
        rv = tls_io_read_raw(tc, APR_BLOCK_READ, TLS_NET_READ_SIZE);
        apr_socket_timeout_set(sock, saved);
    }
    if (rv == APR_SUCCESS || APR_STATUS_IS_EOF(rv)) {
        return 1;
    }
    if (APR_STATUS_IS_TIMEUP(rv) || APR_STATUS_IS_EAGAIN(rv)) {
        return 0;
    }
    gnutls_transport_set_errno(tc->session, EIO);
    return -1;
}

static ssize_t tls_push(gnutls_transport_ptr_t ptr, const giovec_t *iov,
                        int iovcnt)
{
    tls_conn_t *tc = ptr;
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
    buf = apr_bucket_alloc(total, tc->c->bucket_alloc);
    for (i = 0; i < iovcnt; ++i) {
        memcpy(buf + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
    }
    APR_BRIGADE_INSERT_TAIL(tc->raw_out,
                            apr_bucket_heap_create(buf, total, apr_bucket_free,
                                                   tc->c->bucket_alloc));
    tc->raw_out_len += total;
    return (ssize_t)total;
}

/* A fatal record-layer error: tell the peer, say why once, stop. */
static apr_status_t record_failed(tls_conn_t *tc, int err, const char *what)
{
    if (err == GNUTLS_E_INVALID_SESSION) {
        /* the peer's close_notify ended the session: nothing to report */
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, tc->c,
                      "TLS %s after the client closed the session", what);
        tc->state = TLS_CONN_CLOSED;
        tc->c->aborted = 1;
        return APR_ECONNABORTED;
    }
    ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, tc->c,
                  "TLS %s failed: %s (%d), closing the connection", what,
                  gnutls_strerror(err), err);
    if (err != GNUTLS_E_PUSH_ERROR && err != GNUTLS_E_PULL_ERROR) {
        gnutls_alert_send_appropriate(tc->session, err);
        tls_io_send_out(tc, 1);
    }
    tc->state = TLS_CONN_FAILED;
    tc->c->aborted = 1;
    return APR_ECONNABORTED;
}

/* Decrypts one record into plain_in. */
static apr_status_t fill_tls(tls_conn_t *tc, apr_read_type_e block)
{
    gnutls_packet_t pkt;
    gnutls_datum_t data;
    ssize_t n;

    tc->block = block;
    tc->net_status = APR_SUCCESS;
    for (;;) {
        apr_size_t pending = tc->raw_out_len;

        n = gnutls_record_recv_packet(tc->session, &pkt);
        if (tc->raw_out_len != pending) {
            /* a TLS 1.3 KeyUpdate or alert answered while reading; what
             * was there before (a ticket) may wait for the response */
            tls_io_send_out(tc, 1);
        }
        if (n > 0) {
            gnutls_packet_get(pkt, &data, NULL);
            APR_BRIGADE_INSERT_TAIL(tc->plain_in,
                apr_bucket_heap_create((const char *)data.data, data.size,
                                       NULL, tc->c->bucket_alloc));
            gnutls_packet_deinit(pkt);
            return APR_SUCCESS;
        }
        switch (n) {
        case 0:
        case GNUTLS_E_PREMATURE_TERMINATION:
            return APR_EOF;
        case GNUTLS_E_INTERRUPTED:
            continue;
        case GNUTLS_E_AGAIN:
            if (tc->net_eof) {
                return APR_EOF;
            }
            return tc->net_status != APR_SUCCESS ? tc->net_status : APR_EAGAIN;
        case GNUTLS_E_WARNING_ALERT_RECEIVED:
            continue;
        case GNUTLS_E_REHANDSHAKE:
            /* client renegotiation has been a CPU-exhaustion vector */
            ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, tc->c,
                          "client-initiated renegotiation refused, "
                          "closing the connection");
            gnutls_alert_send(tc->session, GNUTLS_AL_FATAL,
                              GNUTLS_A_NO_RENEGOTIATION);
            tls_io_send_out(tc, 1);
            tc->state = TLS_CONN_FAILED;
            tc->c->aborted = 1;
            return APR_ECONNABORTED;
        case GNUTLS_E_PULL_ERROR:
            if (tc->net_status != APR_SUCCESS) {
                return tc->net_status;
            }
            /* fall through */
        default:
            return record_failed(tc, (int)n, "read");
        }
    }
}

/* While authentication runs after the handshake, the client may still be
 * sending the request body: keep it for the request, up to limit bytes. */
static apr_status_t keep_app_data(tls_conn_t *tc, apr_off_t limit)
{
    apr_off_t held = 0;

    apr_brigade_length(tc->plain_in, 0, &held);
    return held > limit ? APR_ENOSPC : fill_tls(tc, APR_BLOCK_READ);
}

static apr_status_t run_reauth(tls_conn_t *tc, int tls13, apr_off_t limit)
{
    apr_status_t rv;
    int ret;

    if (!tls13 && (ret = gnutls_rehandshake(tc->session)) < 0) {
        return record_failed(tc, ret, "renegotiation");
    }
    for (;;) {
        ret = tls13 ? gnutls_reauth(tc->session, 0)
                    : gnutls_handshake(tc->session);
        if (ret == GNUTLS_E_GOT_APPLICATION_DATA) {
            if ((rv = keep_app_data(tc, limit)) != APR_SUCCESS) {
                return rv;
            }
            continue;
        }
        if (ret == GNUTLS_E_WARNING_ALERT_RECEIVED
            && gnutls_alert_get(tc->session) == GNUTLS_A_NO_RENEGOTIATION) {
            /* the client declined: it keeps its connection, we have no
             * certificate */
            return APR_EACCES;
        }
        if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED
            || ret == GNUTLS_E_WARNING_ALERT_RECEIVED) {
            continue;
        }
        break;
    }
    tls_io_send_out(tc, 1);
    return ret < 0 ? record_failed(tc, ret, tls13 ? "post-handshake "
                                   "authentication" : "renegotiation")
                   : APR_SUCCESS;
}

apr_status_t tls_io_reauth(tls_conn_t *tc, apr_off_t limit)
{
    int tls13 = gnutls_protocol_get_version(tc->session) == GNUTLS_TLS1_3;
    apr_status_t rv;

    if (tls13 && !(gnutls_session_get_flags(tc->session)
                   & GNUTLS_SFLAGS_POST_HANDSHAKE_AUTH)) {
        return APR_ENOTIMPL;
    }
    tc->block = APR_BLOCK_READ;
    /* a TLS 1.2 renegotiation must be a full handshake: the session cache
     * is bypassed meanwhile, and TLS 1.2 tickets are off where this can
     * happen (see tls_conf_perdir_client_auth) */
    tc->renegotiating = !tls13;
    rv = run_reauth(tc, tls13, limit);
    tc->renegotiating = 0;
    return rv;
}

/* The client spoke plain HTTP: its bytes are passed up as they come. */
static apr_status_t fill_plain(tls_conn_t *tc, apr_read_type_e block)
{
    apr_status_t rv;

    if (APR_BRIGADE_EMPTY(tc->raw_in)) {
        rv = tls_io_read_raw(tc, block, AP_IOBUFSIZE);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    APR_BRIGADE_CONCAT(tc->plain_in, tc->raw_in);
    return APR_SUCCESS;
}

static apr_status_t fill(tls_conn_t *tc, apr_read_type_e block)
{
    return tc->state == TLS_CONN_PLAIN ? fill_plain(tc, block)
                                       : fill_tls(tc, block);
}

/* Whether no plaintext waits: splitting a line at a bucket's end leaves
 * empty buckets behind, which must not count as data. */
static int plain_empty(tls_conn_t *tc)
{
    apr_bucket *b;

    while (!APR_BRIGADE_EMPTY(tc->plain_in)) {
        b = APR_BRIGADE_FIRST(tc->plain_in);
        if (b->length != 0) {
            return 0;
        }
        apr_bucket_delete(b);
    }
    return 1;
}

/* Moves (or, to peek, copies) up to len bytes from plain_in into bb. */
static apr_status_t hand_over(tls_conn_t *tc, apr_bucket_brigade *bb,
                              apr_off_t len, int copy)
{
    apr_bucket *b, *next, *end, *cp;
    apr_status_t rv;

    rv = apr_brigade_partition(tc->plain_in, len, &end);
    if (rv != APR_SUCCESS && rv != APR_INCOMPLETE) {
        return rv;
    }
    for (b = APR_BRIGADE_FIRST(tc->plain_in);
         b != end && b != APR_BRIGADE_SENTINEL(tc->plain_in); b = next) {
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

static apr_status_t read_line(tls_conn_t *tc, apr_bucket_brigade *bb,
                              apr_read_type_e block)
{
    apr_off_t got = 0, len;
    apr_status_t rv;

    for (;;) {
        if (!plain_empty(tc)) {
            rv = apr_brigade_split_line(bb, tc->plain_in, block,
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
        rv = fill(tc, block);
        if (rv != APR_SUCCESS) {
            /* a partial line is data; the caller asks again */
            return (got > 0 && APR_STATUS_IS_EAGAIN(rv)) ? APR_SUCCESS : rv;
        }
    }
}

/* Drops CR and LF between pipelined requests, without waiting for more. */
static apr_status_t eat_crlf(tls_conn_t *tc)
{
    const char *data;
    apr_size_t len, i;
    apr_bucket *b;

    if (plain_empty(tc)) {
        fill(tc, APR_NONBLOCK_READ);
    }
    while (!APR_BRIGADE_EMPTY(tc->plain_in)) {
        b = APR_BRIGADE_FIRST(tc->plain_in);
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

static apr_status_t tls_filter_in(ap_filter_t *f, apr_bucket_brigade *bb,
                                  ap_input_mode_t mode, apr_read_type_e block,
                                  apr_off_t readbytes)
{
    tls_conn_t *tc = f->ctx;
    apr_status_t rv;

    if (tc->state == TLS_CONN_NEW && (rv = tls_conn_handshake(tc))) {
        return rv;
    }
    if (tc->state == TLS_CONN_FAILED) {
        return APR_ECONNABORTED;
    }
    switch (mode) {
    case AP_MODE_INIT:
        return APR_SUCCESS;
    case AP_MODE_EATCRLF:
        return eat_crlf(tc);
    case AP_MODE_GETLINE:
        return read_line(tc, bb, block);
    case AP_MODE_READBYTES:
    case AP_MODE_SPECULATIVE:
        if (plain_empty(tc) && (rv = fill(tc, block)) != APR_SUCCESS) {
            return rv;
        }
        return hand_over(tc, bb, readbytes, mode == AP_MODE_SPECULATIVE);
    default:
        return APR_ENOTIMPL;
    }
}

static apr_status_t uncork(tls_conn_t *tc)
{
    int rv;

    if (!tc->corked) {
        return APR_SUCCESS;
    }
    tc->corked = 0;
    tc->corked_len = 0;
    do {
        rv = gnutls_record_uncork(tc->session, GNUTLS_RECORD_WAIT);
    } while (rv == GNUTLS_E_AGAIN || rv == GNUTLS_E_INTERRUPTED);
    return rv < 0 ? record_failed(tc, rv, "write") : APR_SUCCESS;
}

/* Small writes gather into full records, across filter calls (response
 * headers and body arrive apart), until a record is full or the stream
 * says flush; large ones go out record by record, passed down as they
 * pile up so memory stays bounded. */
static apr_status_t write_data(tls_conn_t *tc, const char *data,
                               apr_size_t len)
{
    apr_status_t rv;
    ssize_t n;

    if (len < TLS_RECORD_MAX) {
        if (!tc->corked) {
            gnutls_record_cork(tc->session);
            tc->corked = 1;
        }
    }
    else if ((rv = uncork(tc)) != APR_SUCCESS) {
        return rv;
    }
    while (len > 0) {
        n = gnutls_record_send(tc->session, data, len);
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
            continue;
        }
        if (n < 0) {
            return record_failed(tc, (int)n, "write");
        }
        data += n;
        len -= (apr_size_t)n;
        if (tc->corked && (tc->corked_len += (apr_size_t)n) >= TLS_RECORD_MAX
            && (rv = uncork(tc)) != APR_SUCCESS) {
            return rv;
        }
        if (tc->raw_out_len >= TLS_OUT_PASS_THRESHOLD
            && (rv = tls_io_send_out(tc, 0)) != APR_SUCCESS) {
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

static apr_status_t pass_meta(tls_conn_t *tc, apr_bucket *b)
{
    apr_status_t rv;

    if (ends_output(b) && (rv = uncork(tc)) != APR_SUCCESS) {
        return rv;
    }
    if (AP_BUCKET_IS_EOC(b) && tc->state == TLS_CONN_OPEN) {
        /* close_notify, so the peer can tell our end from a truncation;
         * flushed, since the core closes the socket right after EOC */
        gnutls_bye(tc->session, GNUTLS_SHUT_WR);
        tc->state = TLS_CONN_CLOSED;
        if ((rv = tls_io_send_out(tc, 1)) != APR_SUCCESS) {
            return rv;
        }
    }
    APR_BUCKET_REMOVE(b);
    APR_BRIGADE_INSERT_TAIL(tc->raw_out, b);
    if (APR_BUCKET_IS_FLUSH(b) || AP_BUCKET_IS_EOC(b)) {
        return tls_io_send_out(tc, 0);
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

static apr_status_t tls_filter_out(ap_filter_t *f, apr_bucket_brigade *bb)
{
    tls_conn_t *tc = f->ctx;
    apr_status_t rv = APR_SUCCESS;
    const char *data;
    apr_size_t len;
    apr_bucket *b;

    if (tc->state == TLS_CONN_PLAIN) {
        return ap_pass_brigade(f->next, bb);
    }
    if (tc->state == TLS_CONN_NEW && (rv = tls_conn_handshake(tc))) {
        apr_brigade_cleanup(bb);
        return rv;
    }
    while (!APR_BRIGADE_EMPTY(bb) && rv == APR_SUCCESS) {
        b = APR_BRIGADE_FIRST(bb);
        if (flush_before_eoc(bb, b) && tc->state == TLS_CONN_OPEN) {
            apr_bucket_delete(b);
            continue;
        }
        if (APR_BUCKET_IS_METADATA(b)) {
            rv = pass_meta(tc, b);
            continue;
        }
        if (tc->state != TLS_CONN_OPEN) {
            /* failed or closed: data has nowhere to go */
            rv = APR_ECONNABORTED;
            break;
        }
        rv = apr_bucket_read(b, &data, &len, APR_NONBLOCK_READ);
        if (APR_STATUS_IS_EAGAIN(rv)) {
            /* a slow source (CGI): let the client have what we have */
            if ((rv = uncork(tc)) == APR_SUCCESS
                && (rv = tls_io_send_out(tc, 1)) == APR_SUCCESS) {
                rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
            }
        }
        if (rv == APR_SUCCESS && len > 0) {
            rv = write_data(tc, data, len);
        }
        if (rv == APR_SUCCESS) {
            apr_bucket_delete(b);
        }
    }
    if (rv == APR_SUCCESS) {
        rv = tls_io_send_out(tc, 0);
    }
    else {
        apr_brigade_cleanup(bb);
    }
    return rv;
}

void tls_io_bind(tls_conn_t *tc)
{
    conn_rec *c = tc->c;

    tc->raw_in = apr_brigade_create(c->pool, c->bucket_alloc);
    tc->plain_in = apr_brigade_create(c->pool, c->bucket_alloc);
    tc->raw_out = apr_brigade_create(c->pool, c->bucket_alloc);
    tc->block = APR_BLOCK_READ;
    tc->in_f = ap_add_input_filter_handle(tls_in_filter_handle, tc, NULL, c);
    tc->out_f = ap_add_output_filter_handle(tls_out_filter_handle, tc, NULL,
                                            c);
    gnutls_transport_set_ptr(tc->session, tc);
    gnutls_transport_set_pull_function(tc->session, tls_pull);
    gnutls_transport_set_pull_timeout_function(tc->session, tls_pull_timeout);
    gnutls_transport_set_vec_push_function(tc->session, tls_push);
}

void tls_io_register(apr_pool_t *p)
{
    (void)p;
    tls_in_filter_handle = ap_register_input_filter(
        "TLS_IN", tls_filter_in, NULL, AP_FTYPE_CONNECTION + 5);
    tls_out_filter_handle = ap_register_output_filter(
        "TLS_OUT", tls_filter_out, NULL, AP_FTYPE_CONNECTION + 5);
}
