/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_HANDSHAKE_H
#define TLS_HANDSHAKE_H

#include "tls_conn.h"

void tls_handshake_register_hooks(apr_pool_t *p);

/* Asks an open connection for a client certificate: TLS 1.3
 * post-handshake authentication, or a TLS 1.2 renegotiation, blocking and
 * within TLSHandshakeTimeout. Request body arriving meanwhile is kept, up
 * to limit bytes (else APR_ENOSPC). APR_ENOTIMPL: the client cannot be
 * asked; APR_EACCES: it declined. */
apr_status_t tls_handshake_reauth(tls_conn_t *tc, apr_off_t limit);

#endif /* TLS_HANDSHAKE_H */
