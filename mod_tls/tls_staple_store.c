/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The store of the OCSP responses mod_tls staples itself: a table of
 * slots in anonymous shared memory and a global mutex, both made once per
 * httpd lifetime and hung off the process pool (as tls_stats.c's
 * counters), because httpd reloads the module, and clears every
 * configuration pool, on each restart. Children inherit both when they
 * are forked; old children still finishing after a graceful restart
 * share them with the new ones, which is why slots are claimed per
 * configuration (a generation) and one of the configuration before is
 * not given away. */
#include <stddef.h>

#include <httpd.h>
#include <apr_global_mutex.h>
#include <apr_shm.h>
#include <http_config.h>
#include <http_log.h>
#include <util_mutex.h>

#include "tls_staple_store.h"

APLOG_USE_MODULE(tls);

#define TLS_STAPLE_MUTEX     "tls-stapling"
#define TLS_STAPLE_USERDATA  "mod_tls-staple-store"
#define TLS_STAPLE_MAGIC     0x746c7353u
#define TLS_STAPLE_MIN_SLOTS 16

typedef struct {
    apr_uint32_t magic;
    apr_uint32_t slot_size;   /* sizeof(tls_staple_slot_t) of the module
                               * that made it: another layout (an upgraded
                               * module after a graceful restart) is not
                               * read, but replaced */
    apr_uint32_t nslots;
    apr_uint32_t generation;  /* of the latest configuration */
} header_t;

#define HEADER_SIZE APR_ALIGN_DEFAULT(sizeof(header_t))

/* What lives as long as httpd, as process pool userdata. */
typedef struct {
    apr_shm_t *shm;
    apr_global_mutex_t *mutex;
} lifetime_t;

/* This configuration's view, set in the parent by tls_staple_store_open()
 * and inherited by its children. */
static header_t *head;
static tls_staple_slot_t *slots;
static apr_global_mutex_t *mutex;   /* this process's handle */

void tls_staple_store_pre_config(apr_pool_t *pconf)
{
    ap_mutex_register(pconf, TLS_STAPLE_MUTEX, NULL, APR_LOCK_DEFAULT, 0);
    head = NULL;
    slots = NULL;
    mutex = NULL;
}

int tls_staple_store_ready(void)
{
    return head != NULL;
}

apr_status_t tls_staple_store_lock(void)
{
    return mutex ? apr_global_mutex_lock(mutex) : APR_ENOLOCK;
}

apr_status_t tls_staple_store_trylock(void)
{
    return mutex ? apr_global_mutex_trylock(mutex) : APR_ENOLOCK;
}

void tls_staple_store_unlock(void)
{
    apr_global_mutex_unlock(mutex);
}

static int is_free(const tls_staple_slot_t *slot)
{
    static const unsigned char zero[TLS_STAPLE_ID_SIZE];

    return !memcmp(slot->id, zero, sizeof(zero));
}

/* A table with room for nslots, holding the slots of the configuration
 * before from old (NULL: none), replacing it. */
static apr_status_t make_table(apr_pool_t *pp, lifetime_t *life,
                               header_t *old, unsigned nslots)
{
    apr_size_t size = HEADER_SIZE + nslots * sizeof(tls_staple_slot_t);
    tls_staple_slot_t *from, *to;
    header_t *h;
    apr_shm_t *shm;
    apr_status_t rv;
    unsigned i, n = 0;

    if ((rv = apr_shm_create(&shm, size, NULL, pp)) != APR_SUCCESS) {
        return rv;
    }
    /* anonymous memory comes zeroed: the slots are free */
    h = apr_shm_baseaddr_get(shm);
    memset(h, 0, HEADER_SIZE);
    h->magic = TLS_STAPLE_MAGIC;
    h->slot_size = sizeof(tls_staple_slot_t);
    h->nslots = nslots;
    if (old) {
        from = (tls_staple_slot_t *)((char *)old + HEADER_SIZE);
        to = (tls_staple_slot_t *)((char *)h + HEADER_SIZE);
        for (i = 0; i < old->nslots; ++i) {
            if (!is_free(&from[i]) && from[i].generation == old->generation) {
                to[n++] = from[i];
            }
        }
        h->generation = old->generation;
    }
    /* Children of the configuration before keep the old table mapped
     * until they are gone; what they still fetch is lost to the new one,
     * which fetches for itself: at most one more fetch per certificate,
     * once, when the table grows. */
    if (life->shm) {
        apr_shm_destroy(life->shm);
    }
    life->shm = shm;
    return APR_SUCCESS;
}

apr_status_t tls_staple_store_open(server_rec *s, apr_pool_t *pconf,
                                   unsigned n)
{
    apr_pool_t *pp = s->process->pool;
    lifetime_t *life = NULL;
    header_t *h = NULL;
    unsigned i, used = 0;
    apr_status_t rv;

    (void)pconf;
    apr_pool_userdata_get((void **)&life, TLS_STAPLE_USERDATA, pp);
    if (!life) {
        life = apr_pcalloc(pp, sizeof(*life));
        rv = ap_global_mutex_create(&life->mutex, NULL, TLS_STAPLE_MUTEX,
                                    NULL, s, pp, 0);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        apr_pool_userdata_set(life, TLS_STAPLE_USERDATA,
                              apr_pool_cleanup_null, pp);
    }
    mutex = life->mutex;
    if ((rv = tls_staple_store_lock()) != APR_SUCCESS) {
        return rv;
    }
    if (life->shm) {
        h = apr_shm_baseaddr_get(life->shm);
        if (h->magic != TLS_STAPLE_MAGIC
            || h->slot_size != sizeof(tls_staple_slot_t)) {
            h = NULL;
        }
        for (i = 0; h && i < h->nslots; ++i) {
            const tls_staple_slot_t *slot = (tls_staple_slot_t *)
                ((char *)h + HEADER_SIZE) + i;

            used += !is_free(slot) && slot->generation == h->generation;
        }
    }
    /* room for this configuration's certificates besides those of the one
     * before, whose children may still be at work */
    if (!h || h->nslots < used + n) {
        rv = make_table(pp, life, h, (used + n) * 2 > TLS_STAPLE_MIN_SLOTS
                                     ? (used + n) * 2 : TLS_STAPLE_MIN_SLOTS);
        if (rv != APR_SUCCESS) {
            tls_staple_store_unlock();
            return rv;
        }
        h = apr_shm_baseaddr_get(life->shm);
    }
    ++h->generation;
    head = h;
    slots = (tls_staple_slot_t *)((char *)h + HEADER_SIZE);
    tls_staple_store_unlock();
    return APR_SUCCESS;
}

int tls_staple_store_claim(const unsigned char *id)
{
    int i, found = -1, spare = -1;

    if (!head || tls_staple_store_lock() != APR_SUCCESS) {
        return -1;
    }
    for (i = 0; i < (int)head->nslots && found < 0; ++i) {
        if (!memcmp(slots[i].id, id, TLS_STAPLE_ID_SIZE)) {
            found = i;
        }
        /* free, or left by a configuration two or more ago */
        else if (spare < 0
                 && (is_free(&slots[i])
                     || slots[i].generation + 1 < head->generation)) {
            spare = i;
        }
    }
    if (found < 0 && spare >= 0) {
        found = spare;
        memset(&slots[found], 0, offsetof(tls_staple_slot_t, der));
        memcpy(slots[found].id, id, TLS_STAPLE_ID_SIZE);
    }
    if (found >= 0) {
        slots[found].generation = head->generation;
    }
    tls_staple_store_unlock();
    return found;
}

void tls_staple_store_child_init(apr_pool_t *pchild)
{
    if (mutex) {
        apr_global_mutex_child_init(&mutex, apr_global_mutex_lockfile(mutex),
                                    pchild);
    }
}

tls_staple_slot_t *tls_staple_store_slot(int i, const unsigned char *id)
{
    if (!head || i < 0 || i >= (int)head->nslots
        || memcmp(slots[i].id, id, TLS_STAPLE_ID_SIZE)) {
        return NULL;
    }
    return &slots[i];
}
