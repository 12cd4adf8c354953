/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The per-child cache of tls_lru.h. A lookup walks every slot: the caches
 * are a few hundred slots at most, and a walk costs less than the trip to
 * the peer that a hit saves. Key and value share one malloc()ed block, so
 * that a slot is replaced or freed in one step, outside any request pool. */
#include <stdlib.h>
#include <string.h>

#include <apr_thread_mutex.h>

#include "tls_lru.h"

typedef struct {
    unsigned char *buf;         /* key, then value; NULL: a free slot */
    apr_size_t klen, vlen;
    apr_time_t expires;
    apr_time_t used;
} lru_slot_t;

struct tls_lru_t {
#if APR_HAS_THREADS
    apr_thread_mutex_t *mutex;
#endif
    unsigned n;
    lru_slot_t *slot;
};

static void lock(tls_lru_t *l)
{
#if APR_HAS_THREADS
    apr_thread_mutex_lock(l->mutex);
#else
    (void)l;
#endif
}

static void unlock(tls_lru_t *l)
{
#if APR_HAS_THREADS
    apr_thread_mutex_unlock(l->mutex);
#else
    (void)l;
#endif
}

static void slot_clear(lru_slot_t *e)
{
    free(e->buf);
    memset(e, 0, sizeof(*e));
}

static apr_status_t lru_free(void *data)
{
    tls_lru_t *l = data;
    unsigned i;

    for (i = 0; i < l->n; ++i) {
        slot_clear(&l->slot[i]);
    }
    return APR_SUCCESS;
}

tls_lru_t *tls_lru_create(apr_pool_t *p, unsigned slots)
{
    tls_lru_t *l = apr_pcalloc(p, sizeof(*l));

#if APR_HAS_THREADS
    if (apr_thread_mutex_create(&l->mutex, APR_THREAD_MUTEX_DEFAULT, p)
        != APR_SUCCESS) {
        return NULL;
    }
#endif
    l->n = slots;
    l->slot = apr_pcalloc(p, slots * sizeof(*l->slot));
    apr_pool_cleanup_register(p, l, lru_free, apr_pool_cleanup_null);
    return l;
}

static lru_slot_t *find(tls_lru_t *l, const void *key, apr_size_t klen)
{
    unsigned i;

    for (i = 0; i < l->n; ++i) {
        lru_slot_t *e = &l->slot[i];

        if (e->buf && e->klen == klen && !memcmp(e->buf, key, klen)) {
            return e;
        }
    }
    return NULL;
}

int tls_lru_get(tls_lru_t *l, const void *key, apr_size_t klen,
                apr_time_t now, tls_lru_use_fn *use, void *baton)
{
    lru_slot_t *e;
    int found = 0;

    if (!l) {
        return 0;
    }
    lock(l);
    if ((e = find(l, key, klen))) {
        if (e->expires <= now) {
            slot_clear(e);
        }
        else {
            e->used = now;
            use(e->buf + e->klen, e->vlen, baton);
            found = 1;
        }
    }
    unlock(l);
    return found;
}

void tls_lru_put(tls_lru_t *l, const void *key, apr_size_t klen,
                 const void *val, apr_size_t vlen, apr_time_t expires,
                 apr_time_t now)
{
    lru_slot_t *e;
    unsigned i;

    if (!l || expires <= now) {
        return;
    }
    lock(l);
    if (!(e = find(l, key, klen))) {
        /* a free slot, else the one unused the longest */
        e = &l->slot[0];
        for (i = 1; i < l->n && e->buf; ++i) {
            if (!l->slot[i].buf || l->slot[i].used < e->used) {
                e = &l->slot[i];
            }
        }
    }
    slot_clear(e);
    if ((e->buf = malloc(klen + vlen))) {
        memcpy(e->buf, key, klen);
        memcpy(e->buf + klen, val, vlen);
        e->klen = klen;
        e->vlen = vlen;
        e->expires = expires;
        e->used = now;
    }
    unlock(l);
}
