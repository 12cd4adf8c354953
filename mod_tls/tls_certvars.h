/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_CERTVARS_H
#define TLS_CERTVARS_H

#include <httpd.h>
#include <gnutls/x509.h>

/* The value of a certificate variable, named as what follows
 * "SSL_SERVER_" or "SSL_CLIENT_" (S_DN, S_DN_CN_1, V_END, SAN_DNS_0, ...);
 * NULL when the name is no certificate variable. */
const char *tls_certvars_get(apr_pool_t *p, gnutls_x509_crt_t crt,
                             const char *name);

/* Puts the variables mod_ssl's StdEnvVars exports for any certificate
 * into t, each name prefixed ("SSL_CLIENT_"): version, serial, validity,
 * algorithms, DNs and their components, SAN entries; the PEM only
 * with_pem. */
void tls_certvars_export(apr_pool_t *p, gnutls_x509_crt_t crt,
                         const char *prefix, int with_pem, apr_table_t *t);

/* The values of the certificate's extensions with this OID (mod_ssl's
 * PeerExtList): string contents, or the DER bytes in hex. */
apr_array_header_t *tls_certvars_ext_values(apr_pool_t *p,
                                            gnutls_x509_crt_t crt,
                                            const char *oid);

/* PEM text of a DER certificate. */
const char *tls_certvars_pem(apr_pool_t *p, const gnutls_datum_t *der);

/* mod_ssl's legacy one-line subject ("/C=DE/O=Org/CN=Name"), which
 * FakeBasicAuth uses as user name: OpenSSL's X509_NAME_oneline(). */
const char *tls_certvars_legacy_dn(apr_pool_t *p, gnutls_x509_crt_t crt);

/* Parses DER into a certificate freed with pool p. */
gnutls_x509_crt_t tls_certvars_parse(apr_pool_t *p, const gnutls_datum_t *der);

/* The certificate in PEM; NULL when it cannot be exported. */
const char *tls_certvars_crt_pem(apr_pool_t *p, gnutls_x509_crt_t crt);

/* Its subject in RFC 4514 form, as log lines name certificates; NULL when
 * it has none that can be read. */
const char *tls_certvars_subject(apr_pool_t *p, gnutls_x509_crt_t crt);

/* Hands a certificate (e.g. a copy GnuTLS made) to pool p, which frees it. */
void tls_certvars_adopt(apr_pool_t *p, gnutls_x509_crt_t crt);

#endif /* TLS_CERTVARS_H */
