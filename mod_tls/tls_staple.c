/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * OCSP stapling delivery. At startup every certificate a TLS server
 * offers is shown to the sources of OCSP responses, in order; in a
 * handshake whose client asks for the certificate's status (TLS 1.3 and
 * 1.2), GnuTLS calls back for the certificate it chose, and the response
 * of the first source that took the certificate and has one is stapled,
 * if it is for that certificate and its nextUpdate has not passed.
 *
 * Sources, in the order they are asked:
 *  - modules that provide responses through httpd's OCSP hooks
 *    (ap_ssl_ocsp_prime / ap_ssl_ocsp_get_resp): mod_md with MDStapling
 *    on, which fetches them in its watchdog and hands them out from
 *    memory or its store;
 *  - mod_tls's own (TLSOCSPStapling, tls_stapler.c), for the certificates
 *    no module took: a TLSOCSPResponseFile, or responses it fetches in the
 *    background and keeps in shared memory.
 * A source never makes a handshake wait: what it has, it has. */
#include <httpd.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_ssl.h>
#include <gnutls/crypto.h>
#include <gnutls/ocsp.h>
#include <gnutls/x509.h>

#include "tls_certvars.h"
#include "tls_staple.h"

APLOG_USE_MODULE(tls);

/* ---------------------------------------------------------------- sources */

/* Modules behind httpd's OCSP hooks (mod_md). */
static int provider_prime(server_rec *s, apr_pool_t *p,
                          const tls_staple_cert_t *cert)
{
    return ap_ssl_ocsp_prime(s, p, (const char *)cert->id, sizeof(cert->id),
                             cert->pem) == APR_SUCCESS;
}

/* The DER a provider hands out is only valid during the call. */
static void provider_copy(const unsigned char *der, apr_size_t len,
                          void *baton)
{
    gnutls_datum_t *resp = baton;

    if (der && len && (resp->data = gnutls_malloc(len))) {
        memcpy(resp->data, der, len);
        resp->size = (unsigned)len;
    }
}

static int provider_get(tls_conn_t *tc, const tls_staple_cert_t *cert,
                        gnutls_datum_t *resp)
{
    resp->data = NULL;
    resp->size = 0;
    /* the vhost SNI chose: the provider decides per vhost (MDStapling) */
    if (ap_ssl_ocsp_get_resp(tc->s, tc->c, (const char *)cert->id,
                             sizeof(cert->id), provider_copy, resp)
        != APR_SUCCESS || !resp->data) {
        gnutls_free(resp->data);
        resp->data = NULL;
        return GNUTLS_E_NO_CERTIFICATE_STATUS;
    }
    return 0;
}

static const tls_staple_source_t provider_source = {
    "provider module (mod_md)", provider_prime, NULL, provider_get
};

/* In the order they are asked: provider modules first, then what other
 * parts of mod_tls add at hook registration (tls_stapler.c). Written only
 * while hooks are registered, when the module is loaded. */
#define MAX_SOURCES 4
static const tls_staple_source_t *sources[MAX_SOURCES] = { &provider_source };
static int n_sources = 1;

void tls_staple_add_source(const tls_staple_source_t *source)
{
    if (n_sources < MAX_SOURCES) {
        sources[n_sources++] = source;
    }
}

/* ---------------------------------------------------------------- delivery */

/* One certificate of one set of credentials (shared by the vhosts that
 * serve the same), and the sources that took it for some vhost. */
typedef struct {
    tls_staple_cert_t cert;
    gnutls_datum_t issuer_dn;  /* raw, for the response's issuer hash */
    unsigned taken;            /* bit i: sources[i] took it */
} staple_t;

/* Whether single response i of resp is about this certificate: its
 * serial and the hash of its issuer's name. 1, 0, or -1 past the last. */
static int single_matches(gnutls_ocsp_resp_t resp, unsigned i,
                          const staple_t *st, unsigned *status,
                          time_t *next_update)
{
    gnutls_digest_algorithm_t dig;
    gnutls_datum_t name_hash = { NULL, 0 }, serial = { NULL, 0 };
    unsigned char hash[64];
    time_t this_update, revoked;
    int match;

    if (gnutls_ocsp_resp_get_single(resp, i, &dig, &name_hash, NULL, &serial,
                                    status, &this_update, next_update,
                                    &revoked, NULL) < 0) {
        return -1;
    }
    match = serial.size == st->cert.serial.size
        && !memcmp(serial.data, st->cert.serial.data, serial.size)
        && name_hash.size == gnutls_hash_get_len(dig)
        && name_hash.size <= sizeof(hash)
        && gnutls_hash_fast(dig, st->issuer_dn.data, st->issuer_dn.size,
                            hash) == 0
        && !memcmp(hash, name_hash.data, name_hash.size);
    gnutls_free(name_hash.data);
    gnutls_free(serial.data);
    return match;
}

/* NULL when a DER response is worth stapling: it is about this
 * certificate, says good or revoked, and its nextUpdate has not passed (a
 * client rejects the others, or learns nothing from them); else why not. */
static const char *response_unusable(const staple_t *st,
                                     const gnutls_datum_t *der)
{
    gnutls_ocsp_resp_t resp;
    const char *why = "it is about another certificate";
    unsigned status, i;
    time_t next_update;
    int m;

    if (gnutls_ocsp_resp_init(&resp) < 0) {
        return "out of memory";
    }
    if (gnutls_ocsp_resp_import(resp, der) < 0) {
        why = "it cannot be parsed";
    }
    else if (gnutls_ocsp_resp_get_status(resp)
             != GNUTLS_OCSP_RESP_SUCCESSFUL) {
        why = "the responder reported an error";
    }
    else {
        for (i = 0; (m = single_matches(resp, i, st, &status,
                                        &next_update)) >= 0; ++i) {
            if (m) {
                why = status == GNUTLS_OCSP_CERT_UNKNOWN
                      ? "the certificate's status is unknown"
                      : next_update != (time_t)-1 && next_update < time(NULL)
                      ? "its nextUpdate has passed" : NULL;
                break;
            }
        }
    }
    gnutls_ocsp_resp_deinit(resp);
    return why;
}

/* GnuTLS asks for the certificate it chose, in TLS 1.2's ServerHello
 * extension or TLS 1.3's Certificate entry. */
static int staple_cb(gnutls_session_t session, void *ptr,
                     gnutls_datum_t *resp)
{
    tls_conn_t *tc = gnutls_session_get_ptr(session);
    staple_t *st = ptr;
    const char *why;
    int i;

    for (i = 0; tc && i < n_sources; ++i) {
        if (!(st->taken & (1u << i))
            || sources[i]->get(tc, &st->cert, resp) != 0) {
            continue;
        }
        if (!(why = response_unusable(st, resp))) {
            ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, tc->c, "stapling the "
                          "OCSP response for '%s' from the %s",
                          st->cert.cert->subject, sources[i]->name);
            return 0;
        }
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, tc->c, "not stapling the "
                      "OCSP response for '%s' from the %s: %s",
                      st->cert.cert->subject, sources[i]->name, why);
        gnutls_free(resp->data);
        resp->data = NULL;
        resp->size = 0;
    }
    return GNUTLS_E_NO_CERTIFICATE_STATUS;
}

/* What the sources need to know of a certificate: its id, serial, issuer
 * name, and the PEM of it and its issuer (which must be in its chain file;
 * one without, a self-signed fallback say, cannot be stapled). */
static staple_t *staple_make(apr_pool_t *p, const tls_cert_t *cert)
{
    gnutls_x509_crt_t *crts = NULL;
    unsigned n = 0, i;
    gnutls_datum_t der = { NULL, 0 }, dn = { NULL, 0 };
    const char *leaf_pem, *issuer_pem = NULL;
    staple_t *st = NULL;
    size_t len;

    if (gnutls_x509_crt_list_import2(&crts, &n, &cert->cert_pem,
                                     GNUTLS_X509_FMT_PEM, 0) < 0) {
        return NULL;
    }
    for (i = 1; i < n && !issuer_pem; ++i) {
        if (gnutls_x509_crt_check_issuer(crts[0], crts[i])
            && !gnutls_x509_crt_check_issuer(crts[0], crts[0])) {
            issuer_pem = tls_certvars_crt_pem(p, crts[i]);
        }
    }
    leaf_pem = tls_certvars_crt_pem(p, crts[0]);
    if (issuer_pem && leaf_pem
        && gnutls_x509_crt_export2(crts[0], GNUTLS_X509_FMT_DER, &der) >= 0) {
        st = apr_pcalloc(p, sizeof(*st));
        st->cert.cert = cert;
        st->cert.pem = apr_pstrcat(p, leaf_pem, issuer_pem, NULL);
        len = 64;
        st->cert.serial.data = apr_palloc(p, len);
        if (gnutls_hash_fast(GNUTLS_DIG_SHA1, der.data, der.size,
                             st->cert.id) < 0
            || gnutls_x509_crt_get_serial(crts[0], st->cert.serial.data,
                                          &len) < 0
            || gnutls_x509_crt_get_raw_issuer_dn(crts[0], &dn) < 0) {
            st = NULL;
        }
        else {
            st->cert.serial.size = (unsigned)len;
            st->issuer_dn.data = apr_pmemdup(p, dn.data, dn.size);
            st->issuer_dn.size = dn.size;
        }
        gnutls_free(dn.data);
        gnutls_free(der.data);
    }
    for (i = 0; i < n; ++i) {
        gnutls_x509_crt_deinit(crts[i]);
    }
    gnutls_free(crts);
    return st;
}

/* Shows every certificate of every TLS server to the sources; where one
 * takes it, GnuTLS asks this module for its status in handshakes. Once per
 * configuration, after tls_cred.c built the credentials and before
 * mod_md's last post_config starts fetching what it was given. */
static int tls_staple_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                  apr_pool_t *ptemp, server_rec *main_s)
{
    apr_hash_t *seen = apr_hash_make(ptemp);
    server_rec *s;
    int i, j, ecdsa_before;

    (void)plog;
    for (s = main_s; s; s = s->next) {
        tls_srv_conf_t *sc = tls_conf_srv_get(s);
        tls_built_t *b = sc->built;

        if (sc->engine != 1 || !b || b->fallback) {
            continue;
        }
        for (i = 0, ecdsa_before = 0; i < b->certs->nelts;
             ecdsa_before += !!APR_ARRAY_IDX(b->certs, i, tls_cert_t *)->group,
             ++i) {
            const tls_cert_t *cert = APR_ARRAY_IDX(b->certs, i, tls_cert_t *);
            const char *key = apr_psprintf(ptemp, "%pp/%d", (void *)b->creds,
                                           i);
            staple_t *st = apr_hash_get(seen, key, APR_HASH_KEY_STRING);
            unsigned before;

            if (!st) {
                if (!(st = staple_make(pconf, cert))) {
                    /* a provider's fallback comes without; a line of the
                     * configuration that asks for stapling should not */
                    int level = sc->ocsp_stapling == 1
                                && ap_state_query(AP_SQ_MAIN_STATE)
                                   != AP_SQ_MS_CREATE_PRE_CONFIG
                                ? APLOG_WARNING : APLOG_DEBUG;

                    ap_log_error(APLOG_MARK, level, 0, s,
                                 "no OCSP stapling for '%s' (%s): its "
                                 "issuer's certificate is not in its file "
                                 "(append it)", cert->subject,
                                 cert->cert_file);
                    continue;
                }
                apr_hash_set(seen, key, APR_HASH_KEY_STRING, st);
            }
            before = st->taken;
            for (j = 0; j < n_sources; ++j) {
                if (sources[j]->prime(s, pconf, &st->cert)) {
                    st->taken |= 1u << j;
                    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "OCSP "
                                 "responses for '%s' come from the %s",
                                 cert->subject, sources[j]->name);
                    /* the first taker serves it for this vhost */
                    break;
                }
            }
            if (!before && st->taken) {
                gnutls_certificate_set_ocsp_status_request_function2(
                    b->creds, (unsigned)i, staple_cb, st);
                if (b->creds_no_ecdsa && !cert->group) {
                    /* there, the certificates without the ECDSA ones */
                    gnutls_certificate_set_ocsp_status_request_function2(
                        b->creds_no_ecdsa, (unsigned)(i - ecdsa_before),
                        staple_cb, st);
                }
            }
        }
    }
    for (j = 0; j < n_sources; ++j) {
        if (sources[j]->primed) {
            sources[j]->primed(main_s, pconf, ptemp);
        }
    }
    return OK;
}

void tls_staple_register_hooks(apr_pool_t *p)
{
    (void)p;
    /* a reloaded module starts again from its provider source */
    n_sources = 1;
    /* after tls_cred.c's (APR_HOOK_FIRST); mod_md's last one follows all
     * of mod_tls's */
    ap_hook_post_config(tls_staple_post_config, NULL, NULL, APR_HOOK_MIDDLE);
}
