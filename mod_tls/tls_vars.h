/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_VARS_H
#define TLS_VARS_H

#include <httpd.h>

void tls_vars_register_hooks(apr_pool_t *p);

/* OpenSSL's name of the negotiated cipher suite, as mod_ssl reports it */
const char *tls_vars_cipher_name(apr_pool_t *p, const char *iana_name);

#endif /* TLS_VARS_H */
