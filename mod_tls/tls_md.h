/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_MD_H
#define TLS_MD_H

#include "tls_conn.h"

/* What other modules provide for a server through httpd's certificate
 * hooks (http_ssl.h): mod_md, with the certificates it obtains over ACME. */
typedef struct {
    apr_array_header_t *cert_files;  /* const char *: chain, leaf first */
    apr_array_header_t *key_files;   /* const char *: the key of each */
    int fallback;     /* only temporary fallback certificates came */
    int deferred;     /* `apachectl -t`: a provider cannot be asked yet,
                       * so what it provides is only known at startup */
} tls_md_files_t;

/* Asks the providers what server s serves, at startup: always (that is
 * how mod_md learns which vhosts speak TLS), and, when neither its
 * TLSCertificate lines nor they gave any certificate, for a fallback.
 * testing: the `apachectl -t` run, where providers not ready for it (mod_md,
 * whose registry its post_config makes) are not asked. */
void tls_md_collect(apr_pool_t *p, server_rec *s, const tls_srv_conf_t *sc,
                    int testing, tls_md_files_t *files);

/* Whether some module provides certificates through the hooks. */
int tls_md_have_providers(void);

/* In the ClientHello, after tls_alpn_select(): on a connection switched to
 * a challenge protocol (ACME's acme-tls/1), the certificate a module
 * answers the challenge with replaces the vhost's, and no client
 * certificate is asked for. 0, or a GnuTLS error ending the handshake. */
int tls_md_on_hello(tls_conn_t *tc);

void tls_md_register_hooks(apr_pool_t *p);

#endif /* TLS_MD_H */
