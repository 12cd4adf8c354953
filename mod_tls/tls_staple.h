/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_STAPLE_H
#define TLS_STAPLE_H

#include "tls_conn.h"

/* OCSP stapling: the certificates a server offers are registered with
 * every source of OCSP responses at startup; in a handshake whose client
 * asks for the status of the certificate it gets, the response of a
 * source that took it is stapled, if it is for that certificate and still
 * valid. No source may make a handshake wait. */

/* A server certificate, as the sources see it. */
typedef struct {
    unsigned char id[20];     /* SHA-1 of the leaf's DER: the id httpd's
                               * OCSP hooks know it by (as mod_ssl's) */
    const char *pem;          /* the leaf, then its issuer */
    gnutls_datum_t serial;    /* the leaf's serial number */
    const tls_cert_t *cert;
} tls_staple_cert_t;

/* A source of responses. prime: at startup, whether it provides responses
 * for cert on server s (1) or not (0); cert stays valid as long as p.
 * primed (or NULL): once every certificate has been shown, in the same
 * post_config. get: in a handshake, without waiting for anything: 0 with
 * a DER response in memory from gnutls_malloc(), or
 * GNUTLS_E_NO_CERTIFICATE_STATUS. */
typedef struct tls_staple_source_t {
    const char *name;
    int (*prime)(server_rec *s, apr_pool_t *p, const tls_staple_cert_t *cert);
    void (*primed)(server_rec *main_s, apr_pool_t *pconf, apr_pool_t *ptemp);
    int (*get)(tls_conn_t *tc, const tls_staple_cert_t *cert,
               gnutls_datum_t *resp);
} tls_staple_source_t;

/* Registers the hooks; sources of responses beyond provider modules add
 * themselves afterwards, in the order they are to be asked. */
void tls_staple_register_hooks(apr_pool_t *p);
void tls_staple_add_source(const tls_staple_source_t *source);

#endif /* TLS_STAPLE_H */
