/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Certificates from other modules, through httpd's certificate hooks
 * (http_ssl.h), as mod_ssl uses them: mod_md obtains certificates over
 * ACME (Let's Encrypt...) and hands their files to the TLS module of each
 * vhost. At startup a TLS vhost serves what the providers add to its own
 * TLSCertificate lines; while they have nothing yet, a fallback
 * certificate, and every request on it is answered 503. In a handshake an
 * ACME tls-alpn-01 challenge (RFC 8737) is answered with the certificate
 * the provider made for it. tls_cred.c turns the files into credentials. */
#include <httpd.h>
#include <apr_strings.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_ssl.h>

#include "tls_md.h"
#include "tls_verify.h"

APLOG_USE_MODULE(tls);

/* Providers that can only answer once their own post_config ran, which
 * `apachectl -t` does not run: mod_md makes its registry there (and
 * asserts that it exists when asked). */
static const char *const unready_when_testing[] = { "mod_md.c", NULL };

typedef struct {
    int any;          /* some module implements a certificate hook */
    int unready;      /* one of them cannot be asked in `apachectl -t` */
} providers_t;

static void provider_seen(providers_t *pr, const char *name)
{
    int i;

    pr->any = 1;
    for (i = 0; name && unready_when_testing[i]; ++i) {
        if (!strcmp(name, unready_when_testing[i])) {
            pr->unready = 1;
        }
    }
}

/* The modules registered for the two hooks that give files, by the name
 * httpd records for each registration (the module's source file). */
static providers_t providers(void)
{
    apr_array_header_t *a = ap_hook_get_ssl_add_cert_files();
    apr_array_header_t *f = ap_hook_get_ssl_add_fallback_cert_files();
    providers_t pr = { 0, 0 };
    int i;

    for (i = 0; a && i < a->nelts; ++i) {
        provider_seen(&pr, ((ap_LINK_ssl_add_cert_files_t *)a->elts)[i].szName);
    }
    for (i = 0; f && i < f->nelts; ++i) {
        provider_seen(&pr,
            ((ap_LINK_ssl_add_fallback_cert_files_t *)f->elts)[i].szName);
    }
    return pr;
}

int tls_md_have_providers(void)
{
    return providers().any;
}

/* The entries from n on, keys defaulting to the chain file (mod_ssl's
 * rule: a provider may keep the key in the certificate's file). */
static void take_added(apr_pool_t *p, apr_array_header_t *certs,
                       apr_array_header_t *keys, int n, tls_md_files_t *f)
{
    int i;

    f->cert_files = apr_array_make(p, 2, sizeof(const char *));
    f->key_files = apr_array_make(p, 2, sizeof(const char *));
    for (i = n; i < certs->nelts; ++i) {
        const char *cert = APR_ARRAY_IDX(certs, i, const char *);

        APR_ARRAY_PUSH(f->cert_files, const char *) = cert;
        APR_ARRAY_PUSH(f->key_files, const char *) =
            i < keys->nelts ? APR_ARRAY_IDX(keys, i, const char *) : cert;
    }
}

void tls_md_collect(apr_pool_t *p, server_rec *s, const tls_srv_conf_t *sc,
                    int testing, tls_md_files_t *f)
{
    providers_t pr = providers();
    int i, n = sc->certs ? sc->certs->nelts : 0;
    apr_array_header_t *certs, *keys;

    memset(f, 0, sizeof(*f));
    certs = apr_array_make(p, n + 2, sizeof(const char *));
    keys = apr_array_make(p, n + 2, sizeof(const char *));
    if (testing && pr.unready) {
        /* what it will provide is known at startup, which checks again */
        f->deferred = 1;
        take_added(p, certs, keys, 0, f);
        return;
    }
    /* as mod_ssl calls them: the server's own files first, which a
     * provider may look at; what it adds follows them */
    for (i = 0; i < n; ++i) {
        const tls_cert_t *c = APR_ARRAY_IDX(sc->certs, i, tls_cert_t *);

        APR_ARRAY_PUSH(certs, const char *) = c->cert_file;
        APR_ARRAY_PUSH(keys, const char *) = c->key_file;
    }
    /* the status says only whether a provider ended the run (mod_md
     * returns DONE once it added its files): what came is in the arrays */
    ap_ssl_add_cert_files(s, p, certs, keys);
    if (certs->nelts == 0) {
        ap_ssl_add_fallback_cert_files(s, p, certs, keys);
        f->fallback = certs->nelts > 0;
    }
    take_added(p, certs, keys, n, f);
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return;
    }
    if (f->fallback) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "%s has no "
                     "certificate yet: it serves the temporary fallback "
                     "certificate another module (mod_md) provided, and "
                     "answers every request with '503 Service Unavailable' "
                     "until that module has its certificate (and a graceful "
                     "restart loads it)", tls_conf_server_id(p, s));
    }
    else if (f->cert_files->nelts) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "%s serves %d "
                     "certificate(s) another module (mod_md) provided: %s",
                     tls_conf_server_id(p, s), f->cert_files->nelts,
                     apr_array_pstrcat(p, f->cert_files, ' '));
    }
}

/* Challenge credentials live as long as the connection. */
typedef struct {
    gnutls_session_t session;
    gnutls_certificate_credentials_t creds;
} challenge_creds_t;

static apr_status_t challenge_creds_free(void *data)
{
    challenge_creds_t *cc = data;

    /* the session goes later (its cleanup was registered first): it must
     * not point at the credentials meanwhile */
    gnutls_credentials_clear(cc->session);
    gnutls_certificate_free_credentials(cc->creds);
    return APR_SUCCESS;
}

int tls_md_on_hello(tls_conn_t *tc)
{
    conn_rec *c = tc->c;
    const char *proto = ap_get_protocol(c);
    const char *cert_pem = NULL, *key_pem = NULL;
    gnutls_datum_t cert, key;
    challenge_creds_t *cc;
    int rv;

    /* mod_ssl's rule: a connection switched to a protocol other than
     * HTTP's may be a challenge; the provider knows (mod_md answers only
     * on connections it switched to acme-tls/1) */
    if (!strcmp(proto, AP_PROTOCOL_HTTP1) || !strcmp(proto, "h2")
        || !tc->sni
        || !ap_ssl_answer_challenge(c, tc->sni, &cert_pem, &key_pem)
        || !cert_pem) {
        return 0;
    }
    cert.data = (unsigned char *)cert_pem;
    cert.size = (unsigned)strlen(cert_pem);
    /* no key: it is in the certificate's PEM */
    key.data = (unsigned char *)(key_pem ? key_pem : cert_pem);
    key.size = (unsigned)strlen((const char *)key.data);
    cc = apr_pcalloc(c->pool, sizeof(*cc));
    cc->session = tc->session;
    if ((rv = gnutls_certificate_allocate_credentials(&cc->creds)) < 0) {
        return rv;
    }
    apr_pool_cleanup_register(c->pool, cc, challenge_creds_free,
                              apr_pool_cleanup_null);
    if ((rv = gnutls_certificate_set_x509_key_mem2(
             cc->creds, &cert, &key, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0
        || (rv = gnutls_credentials_set(tc->session, GNUTLS_CRD_CERTIFICATE,
                                        cc->creds)) < 0) {
        tc->fail_reason = apr_psprintf(c->pool, "the certificate answering "
                                       "the %s challenge for '%s' cannot be "
                                       "used: %s", proto, tc->sni,
                                       gnutls_strerror(rv));
        tc->fail_alert = GNUTLS_A_INTERNAL_ERROR;
        return GNUTLS_E_INTERNAL_ERROR;
    }
    /* the challenge certificate only: a validator has no client
     * certificate to show */
    tls_verify_ask(tc, TLS_CLIENT_NONE, 0);
    tc->challenge = 1;
    ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c, "answering the %s challenge "
                  "for '%s' with the certificate another module (mod_md) "
                  "made for it", proto, tc->sni);
    return 0;
}

/* mod_ssl serves no request on a vhost that only has a fallback
 * certificate, nor on a challenge connection: neither is the site. Before
 * the other post_read_request checks of the module (421, 400). */
static int tls_md_post_read_request(request_rec *r)
{
    tls_conn_t *tc = tls_conn_get(r->connection);

    if (!tls_conn_is_open(tc) || !(tc->challenge || tc->sc->built->fallback)) {
        return DECLINED;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "503: %s", tc->challenge
                  ? "a challenge connection serves no requests"
                  : "the vhost has only a fallback certificate yet");
    return HTTP_SERVICE_UNAVAILABLE;
}

void tls_md_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_read_request(tls_md_post_read_request, NULL, NULL,
                              APR_HOOK_REALLY_FIRST);
}
