/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_CONN_H
#define TLS_CONN_H

#include <httpd.h>
#include <util_filter.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "tls_config.h"

typedef enum {
    TLS_CONN_NEW,        /* filters in place, no byte read yet */
    TLS_CONN_OPEN,       /* handshake done, application data flows */
    TLS_CONN_PLAIN,      /* the client spoke plain HTTP: answer 400 in clear */
    TLS_CONN_FAILED,     /* handshake or record layer failed: nothing flows */
    TLS_CONN_CLOSED,     /* close_notify sent */
} tls_conn_state_t;

typedef struct tls_conn_t {
    conn_rec *c;
    server_rec *s;               /* the server whose TLS settings apply */
    tls_srv_conf_t *sc;
    gnutls_session_t session;
    tls_conn_state_t state;

    ap_filter_t *in_f;           /* our filters, whose ->next is the network */
    ap_filter_t *out_f;
    apr_bucket_brigade *raw_in;  /* ciphertext read, not yet taken by GnuTLS */
    apr_bucket_brigade *plain_in;/* plaintext not yet taken by the reader */
    apr_bucket_brigade *raw_out; /* ciphertext made, not yet passed down */
    apr_size_t raw_out_len;
    apr_read_type_e block;       /* how the current read may wait */
    apr_status_t net_status;     /* the last failure seen below us */
    int net_eof;
    int corked;
    apr_size_t corked_len;       /* plaintext GnuTLS holds for one record */
    const char *sni;             /* server name the client asked for */
    apr_array_header_t *alpn_offered; /* the client's ALPN list, in order */
    const char *fail_reason;     /* why we ended the handshake ourselves */
    gnutls_x509_crt_t server_crt;/* ours, parsed when a variable asks */
    int fail_alert;              /* the alert our own refusal sends, or -1 */

    /* client authentication, set by tls_verify.c */
    tls_client_mode_t verify_mode;   /* what the current handshake asks */
    int verify_depth;
    const char *verify;          /* SSL_CLIENT_VERIFY; NULL: none asked */
    gnutls_x509_crt_t client_crt;/* only when verified (or GENEROUS) */
    apr_array_header_t *client_chain; /* gnutls_datum_t DER above the leaf */
    int reauth_done;             /* per-directory authentication ran */
    int renegotiating;           /* a TLS 1.2 renegotiation is under way */
} tls_conn_t;

/* The TLS state of a connection, following HTTP/2 streams to their
 * connection; NULL when mod_tls does not serve it. */
tls_conn_t *tls_conn_get(conn_rec *c);

/* Runs the handshake if it has not run; APR_SUCCESS once it has succeeded
 * (or the client spoke plain HTTP, which the request hook answers). */
apr_status_t tls_conn_handshake(tls_conn_t *tc);

void tls_conn_register_hooks(apr_pool_t *p);

/* Makes the connection use server s's TLS settings (SNI chose it). */
apr_status_t tls_conn_use_server(tls_conn_t *tc, server_rec *s);

/* tls_authz.c: client certificates in access control */
void tls_authz_register_hooks(apr_pool_t *p);

/* tls_sni.c: the ClientHello picks the vhost; requests must fit it */
void tls_sni_bind(tls_conn_t *tc);
int tls_sni_check_request(request_rec *r, tls_conn_t *tc);

/* tls_alpn.c: the ClientHello's ALPN list, httpd's choice, the switch */
void tls_alpn_read_offer(tls_conn_t *tc, const unsigned char *data,
                         unsigned size);
int tls_alpn_select(tls_conn_t *tc);
apr_status_t tls_alpn_switch(tls_conn_t *tc);

/* tls_io.c: the filters and GnuTLS's transport over them */
void tls_io_register(apr_pool_t *p);
void tls_io_bind(tls_conn_t *tc);
apr_status_t tls_io_send_out(tls_conn_t *tc, int flush);
/* Asks for a client certificate on an open connection: TLS 1.3
 * post-handshake authentication, or a TLS 1.2 renegotiation. Request body
 * arriving meanwhile is kept, up to limit bytes. */
apr_status_t tls_io_reauth(tls_conn_t *tc, apr_off_t limit);
apr_status_t tls_io_read_raw(tls_conn_t *tc, apr_read_type_e block,
                             apr_off_t len);

#endif /* TLS_CONN_H */
