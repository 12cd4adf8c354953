/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Counters for mod_status, in shared memory that every child process adds
 * to; made once per httpd lifetime, so graceful restarts keep the totals. */
#include <httpd.h>
#include <apr_atomic.h>
#include <apr_optional_hooks.h>
#include <apr_shm.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <mod_status.h>

#include "tls_stats.h"

APLOG_USE_MODULE(tls);

static volatile apr_uint32_t *counters;

void tls_stats_count(tls_stat_t which)
{
    if (counters) {
        apr_atomic_inc32(&counters[which]);
    }
}

static apr_status_t connection_gone(void *data)
{
    (void)data;
    if (counters) {
        apr_atomic_dec32(&counters[TLS_STAT_CONNECTIONS]);
    }
    return APR_SUCCESS;
}

void tls_stats_connection(apr_pool_t *p)
{
    tls_stats_count(TLS_STAT_CONNECTIONS);
    apr_pool_cleanup_register(p, NULL, connection_gone, apr_pool_cleanup_null);
}

#define TLS_STATS_USERDATA "mod_tls-stats-shm"

/* httpd reloads modules on a restart: the segment hangs off the process
 * pool, which lives as long as httpd. */
static int tls_stats_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                 apr_pool_t *ptemp, server_rec *s)
{
    apr_pool_t *pp = s->process->pool;
    apr_shm_t *shm = NULL;
    apr_status_t rv;

    (void)pconf; (void)plog; (void)ptemp;
    apr_pool_userdata_get((void **)&shm, TLS_STATS_USERDATA, pp);
    if (shm) {
        counters = apr_shm_baseaddr_get(shm);
        return OK;
    }
    rv = apr_shm_create(&shm, sizeof(apr_uint32_t) * TLS_STAT_COUNT, NULL, pp);
    if (rv != APR_SUCCESS) {
        /* status counters are a convenience: serve without them */
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "no shared memory for TLS status counters");
        return OK;
    }
    apr_pool_userdata_set(shm, TLS_STATS_USERDATA, apr_pool_cleanup_null, pp);
    counters = apr_shm_baseaddr_get(shm);
    memset((void *)counters, 0, sizeof(apr_uint32_t) * TLS_STAT_COUNT);
    return OK;
}

static const char *const labels[TLS_STAT_COUNT] = {
    "TLSHandshakesFull", "TLSHandshakesResumed", "TLSHandshakesFailed",
    "TLSSessionCacheHits", "TLSSessionCacheMisses", "TLSSessionCacheStores",
    "TLSConnections", "TLSProxyHandshakesFull", "TLSProxyHandshakesResumed",
    "TLSProxyHandshakesFailed",
};

static int tls_stats_status(request_rec *r, int flags)
{
    int i;

    if (!counters) {
        return OK;
    }
    if (flags & AP_STATUS_SHORT) {
        for (i = 0; i < TLS_STAT_COUNT; ++i) {
            ap_rprintf(r, "%s: %u\n", labels[i], (unsigned)counters[i]);
        }
        return OK;
    }
    ap_rputs("<hr />\n<h2>mod_tls</h2>\n<table>\n", r);
    for (i = 0; i < TLS_STAT_COUNT; ++i) {
        ap_rprintf(r, "<tr><th>%s</th><td>%u</td></tr>\n", labels[i],
                   (unsigned)counters[i]);
    }
    ap_rputs("</table>\n", r);
    return OK;
}

void tls_stats_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(tls_stats_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, tls_stats_status, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
