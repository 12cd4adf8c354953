/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_STAPLER_H
#define TLS_STAPLER_H

#include "tls_staple.h"

/* mod_tls's own source of stapled OCSP responses (TLSOCSPStapling), for
 * the certificates of the servers that turn it on and that no provider
 * module took: each certificate's TLSOCSPResponseFile, or the responses
 * of its responder (TLSOCSPStaplingResponder, else the certificate's AIA),
 * fetched outside handshakes by a thread of the child processes, once per
 * refresh for the whole server, and kept across graceful restarts
 * (tls_staple_store.c). Handshakes staple what is held; mod_status shows,
 * per certificate, what is held and how the last fetch went. Registering
 * its hooks adds it to tls_staple.c's sources, after provider modules. */
void tls_stapler_register_hooks(apr_pool_t *p);

#endif /* TLS_STAPLER_H */
