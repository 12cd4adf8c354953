/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Session resumption: TLS 1.3 and 1.2 tickets sealed under a master key
 * that every child (and, with TLSSessionTicketKeyFile, every server of a
 * fleet) shares, and httpd's socache providers (shmcb, memcache, redis,
 * dbm) as GnuTLS's session database for TLS 1.2 session IDs. Towards
 * backends, each process keeps the last session per backend. */
#include <httpd.h>
#include <apr_strings.h>
#include <apr_file_info.h>
#include <apr_global_mutex.h>
#include <ap_provider.h>
#include <ap_socache.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <util_mutex.h>
#include <gnutls/crypto.h>

#include "tls_cache.h"
#include "tls_conn.h"
#include "tls_filter.h"
#include "tls_lru.h"
#include "tls_stats.h"

APLOG_USE_MODULE(tls);

#define TLS_CACHE_MUTEX      "tls-cache"
#define TLS_CACHE_ID         "mod_tls-sess"
#define TLS_SESSION_MAX      (16 * 1024)

#define TLS_TICKET_KEY_USERDATA "mod_tls-ticket-key"

/* Made once per httpd lifetime: a graceful restart (daily, by logrotate)
 * must not invalidate every client's ticket. httpd reloads modules on a
 * restart, so the key lives in the process pool, not in a static. */
static const gnutls_datum_t *lifetime_key(server_rec *s)
{
    apr_pool_t *pp = s->process->pool;
    gnutls_datum_t *key = NULL;
    gnutls_datum_t fresh;

    apr_pool_userdata_get((void **)&key, TLS_TICKET_KEY_USERDATA, pp);
    if (key) {
        return key;
    }
    if (gnutls_session_ticket_key_generate(&fresh) < 0) {
        return NULL;
    }
    key = apr_palloc(pp, sizeof(*key));
    key->size = fresh.size;
    key->data = apr_pmemdup(pp, fresh.data, fresh.size);
    gnutls_memset(fresh.data, 0, fresh.size);
    gnutls_free(fresh.data);
    apr_pool_userdata_set(key, TLS_TICKET_KEY_USERDATA, apr_pool_cleanup_null,
                          pp);
    return key;
}

static const char *provider_lookup(apr_pool_t *p, const char *name,
                                   const ap_socache_provider_t **pprov)
{
    *pprov = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                AP_SOCACHE_PROVIDER_VERSION);
    if (!*pprov) {
        return apr_psprintf(p, "no socache provider '%s' is loaded (add "
                            "'LoadModule socache_%s_module "
                            "modules/mod_socache_%s.so' before this line)",
                            name, name, name);
    }
    return NULL;
}

/* The provider and instance TLSSessionCache names (NULL for "none"), or
 * why there can be none; made in pool p. */
static const char *cache_create(apr_pool_t *p, apr_pool_t *ptemp,
                                const char *spec,
                                const ap_socache_provider_t **pprov,
                                ap_socache_instance_t **pinst)
{
    const char *sep = ap_strchr_c(spec, ':');
    const char *name = sep ? apr_pstrmemdup(ptemp, spec, sep - spec) : spec;
    const char *err;

    *pprov = NULL;
    *pinst = NULL;
    if (!strcasecmp(name, "none")) {
        return NULL;
    }
    if ((err = provider_lookup(p, name, pprov))) {
        return err;
    }
    err = (*pprov)->create(pinst, sep ? sep + 1 : NULL, ptemp, p);
    return err ? apr_psprintf(p, "'%s': %s", spec, err) : NULL;
}

static void cache_lock(tls_global_t *g)
{
    if (g->cache_mutex) {
        apr_global_mutex_lock(g->cache_mutex);
    }
}

static void cache_unlock(tls_global_t *g)
{
    if (g->cache_mutex) {
        apr_global_mutex_unlock(g->cache_mutex);
    }
}

apr_status_t tls_cache_put(tls_global_t *g, const unsigned char *key,
                           unsigned klen, apr_time_t expiry,
                           const unsigned char *data, unsigned len,
                           apr_pool_t *p)
{
    apr_status_t rv;

    if (!g->cache_instance) {
        return APR_ENOTIMPL;
    }
    cache_lock(g);
    rv = g->cache_provider->store(g->cache_instance, g->main_server, key,
                                  klen, expiry, (unsigned char *)data, len,
                                  p);
    cache_unlock(g);
    return rv;
}

apr_status_t tls_cache_get(tls_global_t *g, const unsigned char *key,
                           unsigned klen, unsigned char *buf, unsigned *len,
                           apr_pool_t *p)
{
    apr_status_t rv;

    if (!g->cache_instance) {
        return APR_ENOTIMPL;
    }
    cache_lock(g);
    rv = g->cache_provider->retrieve(g->cache_instance, g->main_server, key,
                                     klen, buf, len, p);
    cache_unlock(g);
    return rv;
}

static int db_store(void *ptr, gnutls_datum_t key, gnutls_datum_t data)
{
    tls_conn_t *tc = ptr;
    tls_global_t *g = tc->sc->global;
    apr_time_t expiry = apr_time_now()
                        + apr_time_from_sec(tc->sc->cache_timeout);
    apr_status_t rv;

    rv = tls_cache_put(g, key.data, key.size, expiry, data.data, data.size,
                       tc->c->pool);
    if (rv != APR_SUCCESS) {
        /* the client will do a full handshake next time, nothing worse */
        ap_log_cerror(APLOG_MARK, APLOG_INFO, rv, tc->c,
                      "storing the TLS session in the %s cache failed",
                      g->cache_provider->name);
        return -1;
    }
    tls_stats_count(TLS_STAT_CACHE_STORES);
    return 0;
}

static gnutls_datum_t db_fetch(void *ptr, gnutls_datum_t key)
{
    tls_conn_t *tc = ptr;
    tls_global_t *g = tc->sc->global;
    gnutls_datum_t out = { NULL, 0 };
    unsigned char *buf;
    unsigned int len = TLS_SESSION_MAX;
    apr_status_t rv;

    if (tc->renegotiating) {
        /* resuming would skip the CertificateRequest it is for */
        return out;
    }
    buf = apr_palloc(tc->c->pool, TLS_SESSION_MAX);
    rv = tls_cache_get(g, key.data, key.size, buf, &len, tc->c->pool);
    if (rv != APR_SUCCESS) {
        if (!APR_STATUS_IS_NOTFOUND(rv)) {
            ap_log_cerror(APLOG_MARK, APLOG_INFO, rv, tc->c,
                          "looking up the TLS session in the %s cache "
                          "failed; doing a full handshake",
                          g->cache_provider->name);
        }
        tls_stats_count(TLS_STAT_CACHE_MISSES);
        return out;
    }
    /* GnuTLS frees what we return */
    if ((out.data = gnutls_malloc(len))) {
        memcpy(out.data, buf, len);
        out.size = len;
    }
    tls_stats_count(TLS_STAT_CACHE_HITS);
    return out;
}

static int db_remove(void *ptr, gnutls_datum_t key)
{
    tls_conn_t *tc = ptr;
    tls_global_t *g = tc->sc->global;
    apr_status_t rv;

    cache_lock(g);
    rv = g->cache_provider->remove(g->cache_instance, g->main_server,
                                   key.data, key.size, tc->c->pool);
    cache_unlock(g);
    return rv == APR_SUCCESS ? 0 : -1;
}

void tls_cache_bind(tls_conn_t *tc)
{
    gnutls_db_set_cache_expiration(tc->session, tc->sc->cache_timeout);
    if (tc->sc->session_tickets) {
        gnutls_session_ticket_enable_server(tc->session,
                                            &tc->sc->built->ticket_key);
    }
    if (tc->sc->global->cache_instance) {
        gnutls_db_set_ptr(tc->session, tc);
        gnutls_db_set_store_function(tc->session, db_store);
        gnutls_db_set_retrieve_function(tc->session, db_fetch);
        gnutls_db_set_remove_function(tc->session, db_remove);
    }
}

/* GnuTLS would send TLS 1.3 tickets with its Finished, ahead of the
 * client's; a client leaving Nagle on then holds its request until our
 * delayed ACK, 40 ms per connection. Sent after the client's Finished,
 * they acknowledge it at once, as OpenSSL's do. They leave at once even
 * when more of the client's bytes wait: those may be its close_notify
 * rather than a request that a response would answer (a client that only
 * wants a session to resume, as testssl's check), and the ticket would
 * then never leave. */
void tls_cache_handshake_done(tls_conn_t *tc)
{
    if (tc->sc->session_tickets
        && gnutls_protocol_get_version(tc->session) == GNUTLS_TLS1_3
        && gnutls_session_ticket_send(tc->session, 1, 0) == 0) {
        tls_filter_send(tc->filter, 1);
    }
}

static int tls_cache_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp)
{
    (void)plog; (void)ptemp;
    ap_mutex_register(pconf, TLS_CACHE_MUTEX, NULL, APR_LOCK_DEFAULT, 0);
    return OK;
}

static apr_status_t cache_destroy(void *data)
{
    tls_global_t *g = data;

    if (g->cache_instance) {
        g->cache_provider->destroy(g->cache_instance, g->main_server);
    }
    g->cache_provider = NULL;
    g->cache_instance = NULL;
    g->cache_mutex = NULL;
    return APR_SUCCESS;
}

static int uses_tls(server_rec *s)
{
    for (; s; s = s->next) {
        if (tls_conf_srv_get(s)->engine == 1) {
            return 1;
        }
    }
    return 0;
}

/* The session cache: the configured provider, or shmcb when loaded. */
static apr_status_t cache_init(apr_pool_t *pconf, apr_pool_t *ptemp,
                               server_rec *s, tls_global_t *g)
{
    static const struct ap_socache_hints hints = { 32, 2048, 30 };
    const char *err;
    apr_status_t rv;

    if (g->cache_spec) {
        err = cache_create(pconf, ptemp, g->cache_spec, &g->cache_provider,
                           &g->cache_instance);
        if (err) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "%s",
                         tls_conf_pos_error(ptemp, &g->cache_pos, "%s", err));
            return APR_EGENERAL;
        }
    }
    else if (provider_lookup(ptemp, "shmcb", &g->cache_provider)) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "no TLS session "
                     "cache: mod_socache_shmcb is not loaded (tickets "
                     "still resume sessions)");
        return APR_SUCCESS;
    }
    else if ((err = g->cache_provider->create(&g->cache_instance, NULL,
                                              ptemp, pconf))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "TLS session "
                     "cache: %s", err);
        return APR_EGENERAL;
    }
    if (!g->cache_instance) {
        return APR_SUCCESS;
    }
    if (g->cache_provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&g->cache_mutex, NULL, TLS_CACHE_MUTEX,
                                    NULL, s, pconf, 0);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    rv = g->cache_provider->init(g->cache_instance, TLS_CACHE_ID, &hints, s,
                                 pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "cannot initialise the "
                     "TLS session cache (%s)", g->cache_provider->name);
        return rv;
    }
    apr_pool_cleanup_register(pconf, g, cache_destroy, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

/* Each vhost seals tickets under its own key, derived from the master key
 * and its ServerName, so that a session made for one vhost is never
 * resumed at another (mod_ssl gets the same from its session id context);
 * servers of a fleet, whatever their ports, derive the same keys from the
 * same file. */
static apr_status_t derive_vhost_keys(apr_pool_t *p, server_rec *s,
                                      const gnutls_datum_t *ticket_key)
{
    for (; s; s = s->next) {
        tls_srv_conf_t *sc = tls_conf_srv_get(s);
        const char *id;
        unsigned char *in;
        apr_size_t idlen;

        if (sc->engine != 1) {
            continue;
        }
        id = apr_pstrcat(p, "mod_tls ticket key for ", s->server_hostname,
                         NULL);
        idlen = strlen(id);
        in = apr_palloc(p, ticket_key->size + idlen);
        memcpy(in, ticket_key->data, ticket_key->size);
        memcpy(in + ticket_key->size, id, idlen);
        sc->built->ticket_key.size = TLS_TICKET_KEY_SIZE;
        sc->built->ticket_key.data = apr_palloc(p, TLS_TICKET_KEY_SIZE);
        if (gnutls_hash_fast(GNUTLS_DIG_SHA512, in, ticket_key->size + idlen,
                             sc->built->ticket_key.data) < 0) {
            return APR_EGENERAL;
        }
        gnutls_memset(in, 0, ticket_key->size);
    }
    return APR_SUCCESS;
}

static int tls_cache_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                 apr_pool_t *ptemp, server_rec *s)
{
    tls_global_t *g = tls_conf_srv_get(s)->global;
    const gnutls_datum_t *ticket_key;

    (void)plog;
    if (!uses_tls(s)) {
        return OK;
    }
    if (g->ticket_key.data) {
        ticket_key = &g->ticket_key;
    }
    else if (!(ticket_key = lifetime_key(s))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "cannot make a TLS session ticket key");
        return !OK;
    }
    if (derive_vhost_keys(pconf, s, ticket_key) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "cannot derive the TLS session ticket keys");
        return !OK;
    }
    return cache_init(pconf, ptemp, s, g) == APR_SUCCESS ? OK : !OK;
}

/* A TLSSessionCache that cannot be made. */
static const char *check_cache(apr_pool_t *p, server_rec *s)
{
    tls_global_t *g = tls_conf_srv_get(s)->global;
    const ap_socache_provider_t *prov;
    ap_socache_instance_t *inst;
    const char *err;

    if (g->cache_spec
        && (err = cache_create(p, p, g->cache_spec, &prov, &inst))) {
        return tls_conf_pos_error(p, &g->cache_pos, "%s", err);
    }
    return NULL;
}

/* `apachectl -t`: a TLSSessionCache that cannot be made stops it too. */
static void tls_cache_test_config(apr_pool_t *pconf, server_rec *s)
{
    tls_conf_check_test_config(pconf, s, check_cache);
}

/* ---------------------------------------------------------------- backends
 *
 * Resuming towards a backend saves both sides a full handshake whenever
 * mod_proxy opens a new connection (keep-alive ended, more parallel
 * requests than pooled connections, disablereuse). A session needs no
 * sharing between processes to be useful here: each child keeps, in
 * memory, the latest session of each of the last TLS_BACKEND_SESSIONS
 * backends it talked to. The key holds the TLSProxy* settings the
 * session's certificate was verified under, since a resumed handshake
 * shows no certificate to verify again. */

#define TLS_BACKEND_SESSIONS 64

/* This child's, made at child_init; NULL elsewhere. */
static tls_lru_t *backends;

static void session_set(const void *val, apr_size_t len, void *baton)
{
    /* a session the backend no longer knows costs a full handshake */
    gnutls_session_set_data(baton, val, len);
}

void tls_cache_backend_resume(tls_conn_t *tc)
{
    tc->resume_key = apr_psprintf(tc->c->pool, "%pp %pI %s", tc->proxy,
                                  tc->c->client_addr, tc->sni ? tc->sni : "");
    tls_lru_get(backends, tc->resume_key, strlen(tc->resume_key),
                apr_time_now(), session_set, tc->session);
}

static apr_status_t backends_gone(void *data)
{
    (void)data;
    backends = NULL;
    return APR_SUCCESS;
}

void tls_cache_backend_keep(tls_conn_t *tc)
{
    gnutls_datum_t data;

    if (!backends || !tc->resume_key
        || gnutls_session_get_data2(tc->session, &data) < 0) {
        return;
    }
    /* kept until another backend needs the slot */
    tls_lru_put(backends, tc->resume_key, strlen(tc->resume_key), data.data,
                data.size, APR_INT64_MAX, apr_time_now());
    gnutls_free(data.data);
}

static void tls_cache_child_init(apr_pool_t *p, server_rec *s)
{
    tls_global_t *g = tls_conf_srv_get(s)->global;

    if ((backends = tls_lru_create(p, TLS_BACKEND_SESSIONS))) {
        apr_pool_cleanup_register(p, NULL, backends_gone,
                                  apr_pool_cleanup_null);
    }
    if (g->cache_mutex) {
        apr_global_mutex_child_init(&g->cache_mutex,
                                    apr_global_mutex_lockfile(g->cache_mutex),
                                    p);
    }
}

void tls_cache_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_pre_config(tls_cache_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(tls_cache_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_test_config(tls_cache_test_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(tls_cache_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}
