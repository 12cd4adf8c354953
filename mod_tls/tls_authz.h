/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_AUTHZ_H
#define TLS_AUTHZ_H

#include <httpd.h>

/* Client certificates in access control: per-directory authentication,
 * TLSUserName, FakeBasicAuth, Require tls / tls-verify-client. */
void tls_authz_register_hooks(apr_pool_t *p);

#endif /* TLS_AUTHZ_H */
