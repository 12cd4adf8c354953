/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_CACHE_H
#define TLS_CACHE_H

#include "tls_config.h"

struct tls_conn_t;

/* Resumption for a session, with its vhost's settings: tickets under the
 * shared master key, and the socache for TLS 1.2 session IDs. */
void tls_cache_bind(struct tls_conn_t *tc);

/* After the handshake: TLS 1.3 tickets go out now, once the client's
 * Finished is in (see tls_cache.c why). */
void tls_cache_handshake_done(struct tls_conn_t *tc);

/* Backend connections: before the handshake, offers the session this
 * process last had with the same backend (address, SNI, TLSProxy*
 * settings); whenever the session has become resumable (TLS 1.2: the
 * handshake is done; TLS 1.3: a ticket came), keeps it for the next. */
void tls_cache_backend_resume(struct tls_conn_t *tc);
void tls_cache_backend_keep(struct tls_conn_t *tc);
/* The session cache (TLSSessionCache) as a store that every child shares
 * for other small data that expires (OCSP responses): stores and finds
 * data under key (which callers prefix, so as not to meet session ids),
 * until expiry. APR_ENOTIMPL when there is no cache; get: APR_NOTFOUND
 * when there is nothing, *len in: the room in buf, out: the bytes. */
apr_status_t tls_cache_put(tls_global_t *g, const unsigned char *key,
                           unsigned klen, apr_time_t expiry,
                           const unsigned char *data, unsigned len,
                           apr_pool_t *p);
apr_status_t tls_cache_get(tls_global_t *g, const unsigned char *key,
                           unsigned klen, unsigned char *buf, unsigned *len,
                           apr_pool_t *p);

void tls_cache_register_hooks(apr_pool_t *p);

#endif /* TLS_CACHE_H */
