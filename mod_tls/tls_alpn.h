/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_ALPN_H
#define TLS_ALPN_H

#include "tls_conn.h"

/* Once the vhost is known: httpd picks among the client's offer
 * (tc->alpn_offered); a pick other than h2 and HTTP/1.1 (a challenge
 * protocol) takes the connection over at once. 0, or a GnuTLS error
 * ending the handshake. */
int tls_alpn_select(tls_conn_t *tc);
/* After the handshake: the chosen protocol takes the connection over,
 * unless it did already. */
apr_status_t tls_alpn_switch(tls_conn_t *tc);

#endif /* TLS_ALPN_H */
