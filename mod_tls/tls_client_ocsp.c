/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Revocation of client certificates by OCSP (TLSClientOCSP): which
 * certificates of the client's chain are asked about, which responder is
 * asked, the cache that spares a returning client the query, and what an
 * answer means for SSL_CLIENT_VERIFY. Every doubt fails closed: no
 * responder, no answer in time, an error or an answer that does not check
 * out leaves the certificate unverified.
 *
 * The query runs inside GnuTLS's verify callback, which cannot pause and
 * resume: on the event MPM too it holds its worker thread, for at most
 * TLSClientOCSPTimeout and never past the handshake's deadline. The cache
 * makes that rare: an answer counts until its nextUpdate, in this process
 * (a small LRU) and, through the session cache's socache, for every child. */
#include <httpd.h>
#include <apr_strings.h>
#include <http_config.h>
#include <http_log.h>
#include <gnutls/x509.h>

#include "tls_cache.h"
#include "tls_certvars.h"
#include "tls_client_ocsp.h"
#include "tls_conn.h"
#include "tls_filter.h"
#include "tls_lru.h"
#include "tls_ocsp.h"

APLOG_USE_MODULE(tls);

/* Answers kept per child process: each slot a few dozen bytes. */
#define TLS_OCSP_CACHE_SLOTS 1024
/* Certificates of a chain looked at, at most (as tls_verify.c). */
#define TLS_OCSP_MAX_CHAIN   16
/* Key prefix of answers in the shared (session) cache. */
#define TLS_OCSP_SHARED_KEY  "mod_tls-ocsp:"
#define TLS_OCSP_SHARED_MAX  (16 * 1024)

/* ------------------------------------------------------------ cache */

/* This child's answers, made at child_init where a server checks client
 * certificates by OCSP; NULL elsewhere (and in the parent). */
static tls_lru_t *lru;

/* What the cache keeps of an answer. */
typedef struct {
    tls_ocsp_status_t status;     /* GOOD, REVOKED or UNKNOWN */
    apr_time_t revoked_at;
    apr_time_t next_update;
} kept_answer_t;

static void answer_out(const void *val, apr_size_t len, void *baton)
{
    const kept_answer_t *k = val;
    tls_ocsp_answer_t *ans = baton;

    (void)len;
    ans->status = k->status;
    ans->revoked_at = k->revoked_at;
    ans->next_update = k->next_update;
}

/* The answer kept for key and still valid at now, into *ans. */
static int lru_find(const unsigned char *key, apr_time_t now,
                    tls_ocsp_answer_t *ans)
{
    return tls_lru_get(lru, key, TLS_OCSP_KEY_SIZE, now, answer_out, ans);
}

/* Keeps an answer until its nextUpdate. */
static void lru_store(const unsigned char *key, const tls_ocsp_answer_t *ans,
                      apr_time_t now)
{
    kept_answer_t k;

    memset(&k, 0, sizeof(k));
    k.status = ans->status;
    k.revoked_at = ans->revoked_at;
    k.next_update = ans->next_update;
    tls_lru_put(lru, key, TLS_OCSP_KEY_SIZE, &k, sizeof(k), ans->next_update,
                now);
}

static void shared_key(const unsigned char *key, unsigned char *out)
{
    memcpy(out, TLS_OCSP_SHARED_KEY, sizeof(TLS_OCSP_SHARED_KEY) - 1);
    memcpy(out + sizeof(TLS_OCSP_SHARED_KEY) - 1, key, TLS_OCSP_KEY_SIZE);
}

#define SHARED_KEY_SIZE (sizeof(TLS_OCSP_SHARED_KEY) - 1 + TLS_OCSP_KEY_SIZE)

/* An answer another child fetched, checked again (the socache may be
 * shared by a fleet, or reachable by others: only signatures count). */
static int shared_find(tls_global_t *g, apr_pool_t *p,
                       const unsigned char *key, gnutls_x509_crt_t cert,
                       gnutls_x509_crt_t issuer, apr_time_t now,
                       tls_ocsp_answer_t *ans)
{
    unsigned char skey[SHARED_KEY_SIZE];
    unsigned len = TLS_OCSP_SHARED_MAX;
    unsigned char *buf = apr_palloc(p, len);
    gnutls_datum_t der;

    shared_key(key, skey);
    if (tls_cache_get(g, skey, SHARED_KEY_SIZE, buf, &len, p)
        != APR_SUCCESS) {
        return 0;
    }
    der.data = buf;
    der.size = len;
    tls_ocsp_check(p, &der, cert, issuer, NULL, now, ans);
    return ans->status != TLS_OCSP_FAILED;
}

static void shared_store(tls_global_t *g, apr_pool_t *p,
                         const unsigned char *key,
                         const tls_ocsp_answer_t *ans, apr_time_t now)
{
    unsigned char skey[SHARED_KEY_SIZE];

    if (ans->next_update <= now || ans->der.size > TLS_OCSP_SHARED_MAX) {
        return;
    }
    shared_key(key, skey);
    tls_cache_put(g, skey, SHARED_KEY_SIZE, ans->next_update, ans->der.data,
                  ans->der.size, p);
}

/* ------------------------------------------------------------ the chain */

/* Whether crt is itself one of the trust anchors. */
static int is_anchor(gnutls_x509_trust_list_t tl, gnutls_x509_crt_t crt)
{
    gnutls_datum_t dn = { NULL, 0 };
    gnutls_x509_crt_t found;
    int rv = 0;

    if (tl && gnutls_x509_crt_get_raw_dn(crt, &dn) >= 0
        && gnutls_x509_trust_list_get_issuer_by_dn(tl, &dn, &found,
                                                   GNUTLS_TL_GET_COPY) == 0) {
        rv = gnutls_x509_crt_equals(found, crt);
        gnutls_x509_crt_deinit(found);
    }
    gnutls_free(dn.data);
    return rv;
}

/* The certificates to ask about, each with its issuer: from the client's
 * up the chain it proves, ending below the trust anchor (the first whose
 * issuer is in TLSClientCA, or that is there itself), or after the first
 * with leaf. A self-issued certificate ends the chain unasked: only a trust
 * anchor can be one in a chain that verified, and nobody but itself
 * vouches for it (mod_ssl skips them too). Returns how many, 0 (fail
 * closed) when the chain cannot be followed to an anchor; *self: the
 * client's own certificate is self-issued. */
static unsigned chain_pairs(apr_pool_t *p, tls_conn_t *tc,
                            const gnutls_datum_t *certs, unsigned n,
                            int leaf_only, gnutls_x509_crt_t *cert,
                            gnutls_x509_crt_t *issuer, int *self)
{
    gnutls_x509_trust_list_t tl = NULL;
    gnutls_x509_crt_t peer[TLS_OCSP_MAX_CHAIN], cur, anchor;
    int used[TLS_OCSP_MAX_CHAIN] = { 0 };
    unsigned i, m = n < TLS_OCSP_MAX_CHAIN ? n : TLS_OCSP_MAX_CHAIN;
    unsigned pairs = 0;

    for (i = 0; i < m; ++i) {
        peer[i] = tls_certvars_parse(p, &certs[i]);
    }
    gnutls_certificate_get_trust_list(tc->sc->built->creds, &tl);
    cur = peer[0];
    used[0] = 1;
    *self = cur && gnutls_x509_crt_check_issuer(cur, cur);
    while (cur && pairs < TLS_OCSP_MAX_CHAIN) {
        if (gnutls_x509_crt_check_issuer(cur, cur)) {
            return pairs;
        }
        if (tl && gnutls_x509_trust_list_get_issuer(tl, cur, &anchor,
                                                    GNUTLS_TL_GET_COPY) == 0) {
            tls_certvars_adopt(p, anchor);
            cert[pairs] = cur;
            issuer[pairs++] = anchor;
            return pairs;
        }
        for (i = 1; i < m; ++i) {
            if (!used[i] && peer[i]
                && gnutls_x509_crt_check_issuer(cur, peer[i])) {
                break;
            }
        }
        if (i >= m) {
            /* nothing the client sent issued it: it had better be an
             * anchor (with an issuer to ask, it is not the client's) */
            return pairs > 0 && is_anchor(tl, cur) ? pairs : 0;
        }
        used[i] = 1;
        cert[pairs] = cur;
        issuer[pairs++] = peer[i];
        if (leaf_only) {
            return pairs;
        }
        cur = peer[i];
    }
    return 0;
}

/* ------------------------------------------------------------ verdicts */

static const char *responder_for(apr_pool_t *p, const tls_srv_conf_t *sc,
                                 gnutls_x509_crt_t crt)
{
    const char *url;

    if (sc->ocsp_override && sc->ocsp_responder) {
        return sc->ocsp_responder;
    }
    url = tls_ocsp_aia_url(p, crt);
    return url ? url : sc->ocsp_responder;
}

/* The reasons a certificate fails, as SSL_CLIENT_VERIFY shows them. */
static const char *failure_reason(tls_ocsp_error_t error)
{
    switch (error) {
    case TLS_OCSP_ERR_UNREACHABLE:
    case TLS_OCSP_ERR_URL:
        return "OCSP responder unreachable";
    case TLS_OCSP_ERR_TIMEOUT:
        return "OCSP responder timed out";
    case TLS_OCSP_ERR_HTTP:
        return "OCSP responder sent no valid response";
    case TLS_OCSP_ERR_INVALID:
        return "OCSP response not valid";
    default:
        return "OCSP check failed";
    }
}

/* Fills in *fault for an answer; 1 when it is good. whose: how the log
 * line names the certificate (the client's: ""); url: the responder
 * asked, or NULL for an answer from the cache; bound: what set the
 * deadline. */
static int judge(tls_conn_t *tc, const tls_ocsp_answer_t *ans,
                 const char *whose, const char *url, const char *bound,
                 tls_client_ocsp_fault_t *fault)
{
    apr_pool_t *p = tc->c->pool;
    const char *source, *why;
    char date[APR_RFC822_DATE_LEN];

    if (ans->status == TLS_OCSP_GOOD) {
        return 1;
    }
    source = url ? apr_pstrcat(p, "answer of ", url, NULL) : "cached answer";
    fault->alert = GNUTLS_A_CERTIFICATE_UNKNOWN;
    if (ans->status == TLS_OCSP_REVOKED) {
        fault->reason = "certificate revoked";
        fault->alert = GNUTLS_A_CERTIFICATE_REVOKED;
        apr_rfc822_date(date, ans->revoked_at);
        fault->detail = apr_psprintf(p, "OCSP%s: revoked%s%s, %s", whose,
                                     ans->revoked_at ? " since " : "",
                                     ans->revoked_at ? date : "", source);
    }
    else if (ans->status == TLS_OCSP_UNKNOWN) {
        fault->reason = "certificate unknown to the OCSP responder";
        fault->detail = apr_psprintf(p, "OCSP%s: status unknown, %s", whose,
                                     source);
    }
    else if (ans->error == TLS_OCSP_ERR_RESPONDER) {
        fault->reason = apr_pstrcat(p, "OCSP responder answered ",
                                    ans->detail, NULL);
        fault->detail = apr_psprintf(p, "OCSP%s: %s answered %s", whose, url,
                                     ans->detail);
    }
    else {
        fault->reason = failure_reason(ans->error);
        why = ans->error == TLS_OCSP_ERR_TIMEOUT
              ? apr_psprintf(p, "%s (%s)", ans->detail, bound) : ans->detail;
        fault->detail = apr_psprintf(p, "OCSP%s at %s: %s", whose, url, why);
    }
    return 0;
}

/* The status of one certificate: from the cache, or asked. */
static int check_one(tls_conn_t *tc, apr_pool_t *p, gnutls_x509_crt_t cert,
                     gnutls_x509_crt_t issuer, unsigned depth,
                     apr_time_t deadline, const char *bound,
                     tls_client_ocsp_fault_t *fault)
{
    tls_srv_conf_t *sc = tc->sc;
    unsigned char key[TLS_OCSP_KEY_SIZE];
    tls_ocsp_answer_t ans;
    const char *url, *whose = "";
    apr_time_t now = apr_time_now();
    int keyed;

    memset(&ans, 0, sizeof(ans));
    if (depth > 0) {
        const char *subject = tls_certvars_subject(p, cert);

        whose = apr_psprintf(p, " for the CA certificate '%s'",
                             subject ? subject : "(no subject)");
    }
    if (!(url = responder_for(p, sc, cert))) {
        fault->reason = "no OCSP responder known";
        fault->alert = GNUTLS_A_CERTIFICATE_UNKNOWN;
        fault->detail = apr_psprintf(tc->c->pool, "OCSP%s: the certificate "
                                     "names no http:// responder and there "
                                     "is no TLSClientOCSPDefaultResponder",
                                     whose);
        return 0;
    }
    keyed = tls_ocsp_key(cert, issuer, key) == APR_SUCCESS;
    if (keyed && lru_find(key, now, &ans)) {
        ap_log_cerror(APLOG_MARK, APLOG_TRACE1, 0, tc->c, "OCSP%s: cached "
                      "answer", whose);
        return judge(tc, &ans, whose, NULL, bound, fault);
    }
    if (keyed && shared_find(sc->global, p, key, cert, issuer, now, &ans)) {
        ap_log_cerror(APLOG_MARK, APLOG_TRACE1, 0, tc->c, "OCSP%s: answer "
                      "from the shared cache", whose);
        lru_store(key, &ans, now);
        return judge(tc, &ans, whose, NULL, bound, fault);
    }
    tls_ocsp_fetch(p, url, cert, issuer, deadline, NULL, &ans);
    ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, tc->c, "OCSP%s: asked %s: %s "
                  "(%" APR_TIME_T_FMT " ms)", whose, url,
                  ans.status == TLS_OCSP_GOOD ? "good"
                  : ans.status == TLS_OCSP_REVOKED ? "revoked"
                  : ans.status == TLS_OCSP_UNKNOWN ? "unknown" : ans.detail,
                  apr_time_as_msec(apr_time_now() - now));
    if (keyed && ans.status != TLS_OCSP_FAILED) {
        now = apr_time_now();
        lru_store(key, &ans, now);
        shared_store(sc->global, p, key, &ans, now);
    }
    return judge(tc, &ans, whose, url, bound, fault);
}

int tls_client_ocsp_enabled(const tls_conn_t *tc)
{
    return tc->sc->client_ocsp == TLS_CLIENT_OCSP_LEAF
           || tc->sc->client_ocsp == TLS_CLIENT_OCSP_ON;
}

int tls_client_ocsp_check(tls_conn_t *tc, const gnutls_datum_t *certs,
                          unsigned n, tls_client_ocsp_fault_t *fault)
{
    tls_srv_conf_t *sc = tc->sc;
    gnutls_x509_crt_t cert[TLS_OCSP_MAX_CHAIN], issuer[TLS_OCSP_MAX_CHAIN];
    apr_time_t deadline, hs_deadline;
    const char *bound;
    unsigned pairs, i;
    apr_pool_t *p;
    int ok = 1, self = 0;

    if (!tls_client_ocsp_enabled(tc)) {
        return 1;
    }
    /* one budget for all the chain's queries, within the handshake's */
    deadline = apr_time_now() + sc->ocsp_timeout;
    bound = "TLSClientOCSPTimeout";
    hs_deadline = tls_filter_deadline(tc->filter);
    if (hs_deadline && hs_deadline < deadline) {
        deadline = hs_deadline;
        bound = "TLSHandshakeTimeout";
    }
    apr_pool_create(&p, tc->c->pool);
    pairs = chain_pairs(p, tc, certs, n,
                        sc->client_ocsp == TLS_CLIENT_OCSP_LEAF, cert, issuer,
                        &self);
    if (pairs == 0 && !self) {
        fault->reason = "certificate verify failed";
        fault->alert = GNUTLS_A_CERTIFICATE_UNKNOWN;
        fault->detail = "OCSP: the certificate's issuer was not found";
        ok = 0;
    }
    for (i = 0; ok && i < pairs; ++i) {
        ok = check_one(tc, p, cert[i], issuer[i], i, deadline, bound, fault);
    }
    apr_pool_destroy(p);
    return ok;
}

/* ------------------------------------------------------------ setup */

static int checks_ocsp(server_rec *s)
{
    for (; s; s = s->next) {
        tls_srv_conf_t *sc = tls_conf_srv_get(s);

        if (sc->engine == 1 && (sc->client_ocsp == TLS_CLIENT_OCSP_LEAF
                                || sc->client_ocsp == TLS_CLIENT_OCSP_ON)) {
            return 1;
        }
    }
    return 0;
}

/* The settings that can only be judged together, with the line to blame. */
static const char *check_settings(apr_pool_t *p, server_rec *main_s)
{
    server_rec *s;
    const char *err;

    for (s = main_s; s; s = s->next) {
        tls_srv_conf_t *sc = tls_conf_srv_get(s);

        if (sc->ocsp_responder
            && (err = tls_ocsp_url_error(p, sc->ocsp_responder))) {
            return tls_conf_pos_error(p, &sc->ocsp_responder_pos, "%s", err);
        }
        if (sc->engine == 1 && sc->ocsp_override == 1 && !sc->ocsp_responder
            && (sc->client_ocsp == TLS_CLIENT_OCSP_LEAF
                || sc->client_ocsp == TLS_CLIENT_OCSP_ON)) {
            return tls_conf_pos_error(p, &sc->ocsp_override_pos, "on needs "
                                      "a TLSClientOCSPDefaultResponder to "
                                      "ask (for %s)",
                                      tls_conf_server_id(p, s));
        }
    }
    return NULL;
}

static int tls_client_ocsp_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                       apr_pool_t *ptemp, server_rec *s)
{
    (void)pconf; (void)plog;
    return tls_conf_check_post_config(ptemp, s, check_settings);
}

static void tls_client_ocsp_test_config(apr_pool_t *pconf, server_rec *s)
{
    tls_conf_check_test_config(pconf, s, check_settings);
}

static void tls_client_ocsp_child_init(apr_pool_t *p, server_rec *s)
{
    if (!checks_ocsp(s)) {
        return;
    }
    /* without a lock, no cache */
    lru = tls_lru_create(p, TLS_OCSP_CACHE_SLOTS);
}

void tls_client_ocsp_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(tls_client_ocsp_post_config, NULL, NULL,
                        APR_HOOK_MIDDLE);
    ap_hook_test_config(tls_client_ocsp_test_config, NULL, NULL,
                        APR_HOOK_MIDDLE);
    ap_hook_child_init(tls_client_ocsp_child_init, NULL, NULL,
                       APR_HOOK_MIDDLE);
}
