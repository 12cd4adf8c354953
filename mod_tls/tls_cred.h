/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_CRED_H
#define TLS_CRED_H

#include "tls_config.h"

/* Reads and checks a TLSCertificate's files at parse time, so that a broken
 * file stops the config test at its own line. Returns an error or NULL. */
const char *tls_cred_load(cmd_parms *cmd, const char *cert_file,
                          const char *key_file, tls_cert_t **pcert);

/* Checks that a PEM file of CA certificates (or CRLs) can be used. */
const char *tls_cred_check_pem_file(apr_pool_t *p, const char *path, int crl);

/* Builds the server's shared credentials and priority cache, once per
 * configuration. On error returns a message naming the directive. */
const char *tls_cred_setup_server(apr_pool_t *p, server_rec *s,
                                  tls_srv_conf_t *sc, tls_srv_conf_t *base);



/* post_config and test_config: every TLS server gets its credentials */
void tls_cred_register_hooks(apr_pool_t *p);
#endif /* TLS_CRED_H */
