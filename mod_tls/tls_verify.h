/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_VERIFY_H
#define TLS_VERIFY_H

#include <gnutls/gnutls.h>
#include "tls_config.h"

struct tls_conn_t;

/* The credentials' verify function: judges the client's certificate while
 * the handshake runs, as the connection's TLSClientCertificate says. */
int tls_verify_peer(gnutls_session_t session);

/* Makes the next handshake (or post-handshake authentication) ask for a
 * client certificate as mode says. */
void tls_verify_ask(struct tls_conn_t *tc, tls_client_mode_t mode, int depth);

#endif /* TLS_VERIFY_H */
