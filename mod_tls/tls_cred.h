/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_CRED_H
#define TLS_CRED_H

#include "tls_config.h"

/* post_config and test_config: every TLS server's files are read and
 * checked and its credentials and priority cache built (tls_built_t). */
void tls_cred_register_hooks(apr_pool_t *p);
#endif /* TLS_CRED_H */
