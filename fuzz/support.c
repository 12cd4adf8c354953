/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * APR pools hand out pieces of large blocks, so AddressSanitizer cannot
 * see a write past the end of an apr_palloc()'d string: it lands in the
 * pool's next allocation. Debian's APR has no pool debugging, so the
 * fuzz targets replace apr_palloc() and apr_pcalloc() instead: this
 * program's definitions take precedence over libapr's for every caller,
 * libapr's own functions (apr_pstrdup, apr_array_push, ...) included, as
 * they call apr_palloc() through the PLT. While an input's pool is in use,
 * each allocation is a malloc() of its own, freed when the input is done.
 * apr_psprintf() writes into the pool's blocks directly and stays unseen. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "fuzz.h"

typedef void *(*palloc_fn)(apr_pool_t *, apr_size_t);

static palloc_fn real_palloc;
static int tracking;
static void **blocks;
static size_t nblocks, blocks_cap;

void *apr_palloc(apr_pool_t *p, apr_size_t size)
{
    void *m;

    if (!tracking) {
        return real_palloc(p, size);
    }
    if (nblocks == blocks_cap) {
        blocks_cap = blocks_cap ? 2 * blocks_cap : 1024;
        blocks = realloc(blocks, blocks_cap * sizeof(*blocks));
        if (!blocks) {
            abort();
        }
    }
    /* APR returns memory for size 0 too */
    if (!(m = malloc(size ? size : 1))) {
        abort();
    }
    return blocks[nblocks++] = m;
}

#undef apr_pcalloc
void *apr_pcalloc(apr_pool_t *p, apr_size_t size)
{
    return memset(apr_palloc(p, size), 0, size);
}

static apr_pool_t *pool;

apr_pool_t *fuzz_pool_begin(void)
{
    if (!pool) {
        real_palloc = (palloc_fn)dlsym(RTLD_NEXT, "apr_palloc");
        if (!real_palloc || apr_initialize() != APR_SUCCESS
            || apr_pool_create(&pool, NULL) != APR_SUCCESS) {
            abort();
        }
    }
    tracking = 1;
    return pool;
}

void fuzz_pool_end(apr_pool_t *p)
{
    size_t i;

    /* cleanups first: they may read what the pool allocated */
    apr_pool_clear(p);
    tracking = 0;
    for (i = 0; i < nblocks; ++i) {
        free(blocks[i]);
    }
    nblocks = 0;
}

const char *fuzz_string(apr_pool_t *p, const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);

    return apr_pstrmemdup(p, (const char *)data,
                          nul ? (apr_size_t)(nul - data) : size);
}
