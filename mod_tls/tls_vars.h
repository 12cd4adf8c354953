/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_VARS_H
#define TLS_VARS_H

#include <httpd.h>

void tls_vars_register_hooks(apr_pool_t *p);

#endif /* TLS_VARS_H */
