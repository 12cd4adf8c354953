/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_SNI_H
#define TLS_SNI_H

#include <httpd.h>
#include <gnutls/gnutls.h>

#include "tls_conn.h"
#include "tls_hello.h"

/* Reads the client's server name and ALPN offer from its ClientHello,
 * before GnuTLS processes it, and binds the connection to the vhost it
 * names. Returns 0 or a GnuTLS error that ends the handshake. */
int tls_sni_on_hello(tls_conn_t *tc, const gnutls_datum_t *msg,
                     tls_hello_t *hello);

/* A request for another vhost than the handshake's: DECLINED if that
 * vhost negotiates TLS alike, else 421 Misdirected Request. */
int tls_sni_check_request(request_rec *r, tls_conn_t *tc);

#endif /* TLS_SNI_H */
