/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_ALPN_H
#define TLS_ALPN_H

#include "tls_conn.h"

/* The ClientHello's ALPN list, in the client's order. */
void tls_alpn_read_offer(tls_conn_t *tc, const unsigned char *data,
                         unsigned size);
/* Once the vhost is known: httpd picks among the offer (0, or a GnuTLS
 * error ending the handshake). */
int tls_alpn_select(tls_conn_t *tc);
/* After the handshake: the chosen protocol takes the connection over. */
apr_status_t tls_alpn_switch(tls_conn_t *tc);

#endif /* TLS_ALPN_H */
