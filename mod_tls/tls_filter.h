/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_FILTER_H
#define TLS_FILTER_H

#include <httpd.h>
#include <util_filter.h>
#include <gnutls/gnutls.h>

/* The connection filters and GnuTLS's transport over them. The filter
 * context owns every piece of I/O state (brigades, end of stream, errors,
 * the deadline of the handshake's reads); the connection layer above
 * queries it through the functions below and never reaches into it. */
typedef struct tls_filter_t tls_filter_t;

typedef enum {
    TLS_FILTER_WAITING,  /* no handshake yet: the owner must open first */
    TLS_FILTER_TLS,      /* application data travels in TLS records */
    TLS_FILTER_PLAIN,    /* the client spoke plain HTTP: bytes pass as is */
    TLS_FILTER_CLOSED,   /* close_notify sent: nothing more goes out */
    TLS_FILTER_DEAD,     /* failed: nothing flows either way */
} tls_filter_mode_t;

/* Called by a filter that finds the connection still WAITING: the owner
 * completes the handshake (blocking) or fails the connection. */
typedef apr_status_t tls_filter_open_fn(void *baton);

void tls_filter_register(apr_pool_t *p);

/* Adds the filters to c and makes them session's transport. */
tls_filter_t *tls_filter_attach(conn_rec *c, gnutls_session_t session,
                                tls_filter_open_fn *open, void *baton);

void tls_filter_set_mode(tls_filter_t *f, tls_filter_mode_t mode);
tls_filter_mode_t tls_filter_mode(const tls_filter_t *f);

/* How GnuTLS's reads wait during a handshake: blocking ones end at the
 * deadline (0: none) however the bytes trickle in; non-blocking ones
 * return at once, GnuTLS then saying GNUTLS_E_AGAIN. */
void tls_filter_set_wait(tls_filter_t *f, apr_read_type_e block,
                         apr_time_t deadline);
/* The deadline the handshake (or post-handshake authentication) under
 * way must keep; 0: none. */
apr_time_t tls_filter_deadline(const tls_filter_t *f);

/* The first byte the client sent, reading it as the wait allows:
 * APR_SUCCESS, APR_EAGAIN, APR_EOF, APR_TIMEUP or a network error. */
apr_status_t tls_filter_first_byte(tls_filter_t *f, char *byte);

/* Passes the records made so far to the network; flush: now. */
apr_status_t tls_filter_send(tls_filter_t *f, int flush);

/* What the last reads found. */
int tls_filter_saw_eof(const tls_filter_t *f);    /* the peer closed */
int tls_filter_timed_out(const tls_filter_t *f);  /* the deadline passed */
int tls_filter_would_block(const tls_filter_t *f);/* nothing to read yet */
/* The last failure of a network read or write, APR_SUCCESS if none. */
apr_status_t tls_filter_net_status(const tls_filter_t *f);
/* Whether the client's bytes wait beyond what GnuTLS has used. */
int tls_filter_input_pending(const tls_filter_t *f);

/* During post-handshake authentication, the client may still be sending
 * the request body: reads one record of it and keeps it for the request,
 * or APR_ENOSPC once more than limit bytes are kept. */
apr_status_t tls_filter_keep_app_data(tls_filter_t *f, apr_off_t limit);

/* A fatal error of the session once open (reading, writing, asking for a
 * certificate): tells the peer, says why in one log line (at error level,
 * naming the peer by its label, for a backend: mod_proxy's client only
 * sees a 502), stops all I/O; returns APR_ECONNABORTED. */
apr_status_t tls_filter_fail(tls_filter_t *f, int err, const char *what);

/* How messages name the peer, e.g. "backend localhost:8443". */
void tls_filter_set_label(tls_filter_t *f, const char *label);

/* "the client (backend) sent the alert 'NAME'", for a backend with what
 * it had asked of our certificate, for the message of a failure. */
const char *tls_filter_alert_text(tls_filter_t *f);

#endif /* TLS_FILTER_H */
