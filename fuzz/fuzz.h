/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * What the fuzz targets share (support.c): APR started once, a pool per
 * input whose allocations AddressSanitizer can see, and a check that
 * aborts with a message, so that a broken property is a crash that
 * libFuzzer keeps as an artifact like any other. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <apr_pools.h>

/* Starts APR (once) and returns a pool for one input. While it is in use,
 * every apr_palloc() (of ours or of APR's own functions) is a malloc() of
 * its own, so an overflow of a pool allocation is an ASan report rather
 * than a silent write into the pool's next allocation. */
apr_pool_t *fuzz_pool_begin(void);

/* Clears the input's pool (running its cleanups) and frees its blocks. */
void fuzz_pool_end(apr_pool_t *p);

/* A copy of the input as a NUL-terminated string, from the input's pool;
 * it ends at the input's first NUL, as a configuration line would. */
const char *fuzz_string(apr_pool_t *p, const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...) do {                                      \
        if (!(cond)) {                                                  \
            fprintf(stderr, "%s:%d: property broken: %s\n",             \
                    __FILE__, __LINE__, #cond);                         \
            fprintf(stderr, "  " __VA_ARGS__);                          \
            fprintf(stderr, "\n");                                      \
            abort();                                                    \
        }                                                               \
    } while (0)

#endif /* FUZZ_H */
