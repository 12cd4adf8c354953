/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_STATS_H
#define TLS_STATS_H

#include <httpd.h>

typedef enum {
    TLS_STAT_HANDSHAKES,       /* full handshakes */
    TLS_STAT_RESUMED,          /* abbreviated (resumed) handshakes */
    TLS_STAT_FAILED,           /* handshakes that failed */
    TLS_STAT_CACHE_HITS,
    TLS_STAT_CACHE_MISSES,
    TLS_STAT_CACHE_STORES,
    TLS_STAT_CONNECTIONS,      /* TLS connections open now */
    TLS_STAT_PROXY_HANDSHAKES, /* full handshakes with backends */
    TLS_STAT_PROXY_RESUMED,    /* resumed ones */
    TLS_STAT_PROXY_FAILED,     /* failed ones */
    TLS_STAT_COUNT
} tls_stat_t;

void tls_stats_count(tls_stat_t which);
/* Counts an open TLS connection until pool p goes. */
void tls_stats_connection(apr_pool_t *p);
void tls_stats_register_hooks(apr_pool_t *p);

#endif /* TLS_STATS_H */
