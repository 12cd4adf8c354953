/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_LRU_H
#define TLS_LRU_H

#include <apr_pools.h>
#include <apr_time.h>

/* A small cache in one child process's memory, shared by its threads: a
 * fixed number of slots, each a key, a value and the time it expires; when
 * all are taken, the one unused the longest gives way. For what is cheap
 * to lose and not worth a socache round trip: sessions towards backends,
 * OCSP answers already checked. */
typedef struct tls_lru_t tls_lru_t;

/* Made in p (a child's pool), which frees it and every value; NULL when
 * its lock cannot be made (then get finds nothing and put keeps nothing). */
tls_lru_t *tls_lru_create(apr_pool_t *p, unsigned slots);

/* Called with a value under the cache's lock: copy what must outlive it. */
typedef void tls_lru_use_fn(const void *val, apr_size_t len, void *baton);

/* The value of key, when one is kept that has not expired at now: use()
 * is called with it and 1 returned. An expired one is dropped. */
int tls_lru_get(tls_lru_t *l, const void *key, apr_size_t klen,
                apr_time_t now, tls_lru_use_fn *use, void *baton);

/* Keeps a copy of val under key until expires, in place of what key had. */
void tls_lru_put(tls_lru_t *l, const void *key, apr_size_t klen,
                 const void *val, apr_size_t vlen, apr_time_t expires,
                 apr_time_t now);

#endif /* TLS_LRU_H */
