/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_PROXY_H
#define TLS_PROXY_H

#include "tls_conn.h"

/* Before a backend connection's handshake: what mod_proxy asks for, from
 * the connection's notes: the backend's name (sent as SNI unless it is an
 * IP address, and what its certificate must be valid for) and the ALPN
 * protocols (h2 for mod_proxy_http2, else http/1.1). NULL, or why it
 * cannot be done. */
const char *tls_proxy_setup(tls_conn_t *tc);

/* After it: NULL when the backend agreed to what mod_proxy needs, else
 * why not. */
const char *tls_proxy_check(tls_conn_t *tc);

/* The protocol ALPN chose on the connection, or "" for none. */
const char *tls_proxy_alpn(tls_conn_t *tc);

#endif /* TLS_PROXY_H */
