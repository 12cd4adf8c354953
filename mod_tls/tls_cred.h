/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_CRED_H
#define TLS_CRED_H

#include "tls_config.h"
#include "tls_hello.h"

/* The credentials for a client with this ClientHello: the server's own,
 * or, for a TLS 1.2 client that cannot use the curve of one of its ECDSA
 * keys, the same without the ECDSA certificates. */
gnutls_certificate_credentials_t tls_cred_for_hello(const tls_built_t *built,
                                                    const tls_hello_t *hello);

/* post_config and test_config: every TLS server's files are read and
 * checked and its credentials and priority cache built (tls_built_t). */
void tls_cred_register_hooks(apr_pool_t *p);

/* A TLSCertificate key (a file name or a pkcs11: URI) as messages show
 * it: the value of a PKCS#11 URI's pin-value attribute replaced by "***".
 * Every message that names a key goes through this. */
const char *tls_cred_redact_uri(apr_pool_t *p, const char *key_file);
#endif /* TLS_CRED_H */
