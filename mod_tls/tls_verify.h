/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_VERIFY_H
#define TLS_VERIFY_H

#include <gnutls/gnutls.h>
#include "tls_conn.h"

/* The credentials' verify function: judges the client's certificate while
 * the handshake runs, as the connection's TLSClientCertificate says. */
int tls_verify_peer(gnutls_session_t session);

/* The credentials' verify function for backend connections: judges the
 * backend's certificate as their TLSProxyVerify and TLSProxyCheckPeerName
 * say, against TLSProxyCA (or the system's trust store) and TLSProxyCRL;
 * a refusal leaves its reason in tc->fail_reason. */
int tls_verify_backend(gnutls_session_t session);

/* Makes the next handshake (or post-handshake authentication) ask for a
 * client certificate as mode says. */
void tls_verify_ask(tls_conn_t *tc, tls_client_mode_t mode, int depth);

/* Whether the connection's client certificate is accepted under mode:
 * verified, or, for optional_no_ca, also GENEROUS. The one test that
 * access control, authz providers and resumption use. */
int tls_verify_accepts(const tls_conn_t *tc, tls_client_mode_t mode);

/* SSL_CLIENT_VERIFY as mod_ssl writes it: NONE, SUCCESS, GENEROUS or
 * FAILED:reason. */
const char *tls_verify_result_string(apr_pool_t *p, const tls_conn_t *tc);

#endif /* TLS_VERIFY_H */
