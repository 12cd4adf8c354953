/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_CONN_H
#define TLS_CONN_H

#include <httpd.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "tls_config.h"
#include "tls_filter.h"

struct tls_deadline_t;

/* What verifying the client's certificate found (SSL_CLIENT_VERIFY). */
typedef enum {
    TLS_VERIFY_NONE,        /* no certificate, or none was asked for */
    TLS_VERIFY_SUCCESS,
    TLS_VERIFY_GENEROUS,    /* optional_no_ca took an unverifiable one */
    TLS_VERIFY_FAILED,      /* verify_reason says why */
} tls_verify_result_t;

/* A connection's life. It only moves forward (FAILED may follow any state
 * before OPEN), and only tls_handshake.c moves it. A backend connection
 * (outgoing) goes NEW, HANDSHAKE, then OPEN or FAILED. */
typedef enum {
    TLS_CONN_NEW,        /* filters in place, no byte read yet */
    TLS_CONN_HANDSHAKE,  /* the client speaks TLS (or, outgoing, we sent
                          * our hello): handshake under way */
    TLS_CONN_HELLO_DONE, /* its ClientHello chose the vhost and protocol */
    TLS_CONN_OPEN,       /* handshake done, application data flows */
    TLS_CONN_PLAIN,      /* the client spoke plain HTTP: answer 400 in clear */
    TLS_CONN_FAILED,     /* the handshake failed: nothing flows */
} tls_conn_state_t;

typedef struct tls_conn_t {
    conn_rec *c;
    server_rec *s;               /* the server whose TLS settings apply */
    tls_srv_conf_t *sc;
    gnutls_session_t session;
    tls_conn_state_t state;
    tls_filter_t *filter;        /* owns all I/O state */
    apr_time_t started;          /* when the handshake's clock started */
    apr_time_t deadline;         /* when it must be done; 0: no limit */
    int waited;                  /* it waited for the client in the MPM */
    struct tls_deadline_t *watch;/* keeps the deadline meanwhile */

    const char *sni;             /* server name the client asked for */
    apr_array_header_t *alpn_offered; /* the client's ALPN list, in order */
    const char *fail_reason;     /* why we ended the handshake ourselves */
    int fail_alert;              /* the alert our own refusal sends, or -1 */
    gnutls_x509_crt_t server_crt;/* ours, parsed when a variable asks */

    /* client authentication, set by tls_verify.c */
    tls_client_mode_t verify_mode;   /* what the current handshake asks */
    int verify_depth;
    tls_verify_result_t verify;
    const char *verify_reason;   /* why it FAILED */
    gnutls_x509_crt_t client_crt;/* only when verified (or GENEROUS) */
    apr_array_header_t *client_chain; /* gnutls_datum_t DER above the leaf */
    int reauth_done;             /* per-directory authentication ran */
    int renegotiating;           /* a TLS 1.2 renegotiation is under way */

    /* a backend connection of mod_proxy's (ssl_bind_outgoing); sni is
     * then the name we send, alpn_offered our offer */
    int outgoing;
    const tls_proxy_conf_t *proxy;   /* its TLSProxy* settings */
    const char *backend;         /* "host:port", for messages */
    const char *peer_name;       /* what its certificate must be valid for:
                                  * a host name or an IP address; NULL:
                                  * nothing (mod_proxy gave no name) */
    unsigned char peer_ip[16];   /* peer_name as an address, when it is */
    unsigned peer_ip_len;        /* 4, 16, or 0 for a host name */
    int alpn_needed;             /* the backend must agree to our offer */
    const char *resume_key;      /* its sessions in the backend cache */
    int challenge;               /* it answers an ACME challenge (tls_md.c):
                                  * no request is served */
} tls_conn_t;

/* The TLS state of a connection, following HTTP/2 streams to their
 * connection; NULL when mod_tls does not serve it. */
tls_conn_t *tls_conn_get(conn_rec *c);

/* Makes the connection use server s's TLS settings (SNI chose it). */
apr_status_t tls_conn_use_server(tls_conn_t *tc, server_rec *s);

/* Whether application data may flow (OPEN) or, for variables, a
 * handshake is at least under way on a TLS connection. */
int tls_conn_is_open(const tls_conn_t *tc);
int tls_conn_is_tls(const tls_conn_t *tc);

#endif /* TLS_CONN_H */
