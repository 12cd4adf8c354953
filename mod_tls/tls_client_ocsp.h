/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_CLIENT_OCSP_H
#define TLS_CLIENT_OCSP_H

#include <gnutls/gnutls.h>
#include "tls_conn.h"

/* Why TLSClientOCSP does not let a client certificate pass. */
typedef struct {
    const char *reason;     /* SSL_CLIENT_VERIFY's FAILED:reason */
    int alert;              /* the alert of a refusal under require */
    const char *detail;     /* for the log line: which certificate, which
                             * responder, what happened */
} tls_client_ocsp_fault_t;

/* Checks the revocation status of a client certificate chain that GnuTLS
 * has verified (certs as the client sent them), as the connection's
 * TLSClientOCSP says: the client's certificate (leaf), or every
 * certificate below the trust anchor (on). 1 when it passes (or OCSP is
 * off), else 0 and *fault says why. Runs inside the handshake: a query
 * blocks the calling thread, for at most TLSClientOCSPTimeout and never
 * past the handshake's deadline; answers are cached until their
 * nextUpdate. */
int tls_client_ocsp_check(tls_conn_t *tc, const gnutls_datum_t *certs,
                          unsigned n, tls_client_ocsp_fault_t *fault);

/* Whether the connection's TLSClientOCSP checks certificates at all. */
int tls_client_ocsp_enabled(const tls_conn_t *tc);

void tls_client_ocsp_register_hooks(apr_pool_t *p);

#endif /* TLS_CLIENT_OCSP_H */
