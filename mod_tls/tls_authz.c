/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Client certificates in access control: per-directory authentication
 * (TLSClientCertificate in <Location>/<Directory>), the user name taken
 * from a certificate (TLSUserName, FakeBasicAuth), and the authz providers
 * `Require tls` and `Require tls-verify-client`. */
#include <httpd.h>
#include <apr_strings.h>
#include <apr_base64.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_ssl.h>
#include <mod_auth.h>

#include "tls_authz.h"
#include "tls_certvars.h"
#include "tls_conn.h"
#include "tls_handshake.h"
#include "tls_verify.h"

APLOG_USE_MODULE(tls);

/* The request body cannot be kept while the client is asked for a
 * certificate (TLSRenegBufferSize): 413, and the connection ends. */
static int body_too_large(request_rec *r)
{
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "request body larger than "
                  "%" APR_OFF_T_FMT " bytes (TLSRenegBufferSize) while asking "
                  "for a client certificate", tls_conf_reneg_buffer(r));
    r->connection->keepalive = AP_CONN_CLOSE;
    return HTTP_REQUEST_ENTITY_TOO_LARGE;
}

/* Asks an open connection for a certificate; on any failure the request
 * is refused, and the connection is closed if it cannot be trusted. */
static int ask_client(request_rec *r, tls_conn_t *tc, tls_client_mode_t mode,
                      int depth)
{
    const char *cl;
    apr_status_t rv;

    if (r->connection->master) {
        /* HTTP/2 forbids renegotiation; mod_http2 reads this note */
        apr_table_setn(r->notes, "ssl-renegotiate-forbidden", "verify-client");
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "client certificate "
                      "needed for %s, but HTTP/2 cannot ask for one after the "
                      "handshake; use TLSClientCertificate on the vhost",
                      r->uri);
        return HTTP_FORBIDDEN;
    }
    if ((cl = apr_table_get(r->headers_in, "Content-Length"))
        && apr_atoi64(cl) > tls_conf_reneg_buffer(r)) {
        /* as mod_ssl: refused before asking, not halfway */
        return body_too_large(r);
    }
    tc->reauth_done = 1;
    /* ask, never abort: the answer is the request's 403, not a dead
     * connection */
    tls_verify_ask(tc, mode == TLS_CLIENT_REQUIRE ? TLS_CLIENT_OPTIONAL : mode,
                   depth);
    rv = tls_handshake_reauth(tc, tls_conf_reneg_buffer(r));
    if (rv == APR_ENOTIMPL) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "client certificate "
                      "needed for %s, but the client did not offer TLS 1.3 "
                      "post-handshake authentication", r->uri);
        return HTTP_FORBIDDEN;
    }
    if (rv == APR_ENOSPC) {
        return body_too_large(r);
    }
    if (rv == APR_EACCES) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "client declined to "
                      "renegotiate for a client certificate");
        return HTTP_FORBIDDEN;
    }
    if (rv != APR_SUCCESS) {
        r->connection->keepalive = AP_CONN_CLOSE;
        return HTTP_FORBIDDEN;
    }
    return OK;
}

/* TLSUserName: REMOTE_USER and %u from a certificate variable. Set in the
 * access phase, as mod_ssl does, so that `Require user` can use it. */
static void set_user_name(request_rec *r)
{
    tls_dir_conf_t *dc = tls_conf_dir_get(r);
    const char *user;

    if (!dc->user_name || !ap_ssl_conn_is_ssl(r->connection)) {
        return;
    }
    user = ap_ssl_var_lookup(r->pool, r->server, r->connection, r,
                             dc->user_name);
    if (user && *user) {
        r->user = apr_pstrdup(r->pool, user);
    }
}

/* Per-directory TLSClientCertificate: ask an open connection that was not
 * asked in its handshake, then refuse what `require` cannot accept. */
static int check_client(request_rec *r)
{
    tls_conn_t *tc = tls_conn_get(r->connection);
    tls_dir_conf_t *dc = tls_conf_dir_get(r);
    tls_client_mode_t mode = dc->client_mode;
    int rv;

    if (!tls_conn_is_open(tc) || mode == TLS_CLIENT_UNSET
        || mode == TLS_CLIENT_NONE || tls_verify_accepts(tc, mode)) {
        return DECLINED;
    }
    if (tc->verify_mode == TLS_CLIENT_NONE && !tc->reauth_done) {
        int depth = dc->verify_depth != TLS_UNSET
                    ? dc->verify_depth : tc->sc->verify_depth;

        if ((rv = ask_client(r, tc, mode, depth)) != OK) {
            return mode == TLS_CLIENT_REQUIRE ? rv : DECLINED;
        }
    }
    if (mode == TLS_CLIENT_REQUIRE && !tls_verify_accepts(tc, mode)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "access to %s refused: "
                      "client certificate %s", r->uri,
                      tc->verify == TLS_VERIFY_NONE ? "missing"
                      : tls_verify_result_string(r->pool, tc));
        return HTTP_FORBIDDEN;
    }
    return DECLINED;
}

static int tls_hook_check_access(request_rec *r)
{
    int rv = check_client(r);

    if (rv == DECLINED) {
        set_user_name(r);
    }
    return rv;
}

/* Subrequests and internal redirects skip the access phase where nothing
 * changed; keep their user too. */
static int tls_hook_fixups(request_rec *r)
{
    if (!r->user) {
        set_user_name(r);
    }
    return DECLINED;
}

/* FakeBasicAuth: the certificate's legacy subject becomes a Basic login
 * with the password "password", for mod_auth_basic to check against a
 * password file, as mod_ssl does. */
static int tls_hook_fake_basic(request_rec *r)
{
    tls_conn_t *tc = tls_conn_get(r->connection);
    const char *auth, *user, *creds;
    char *dec;
    int len;

    if (!tls_conn_is_open(tc) || r->user
        || !(tls_conf_dir_opts(r) & TLS_OPT_FAKE_BASIC_AUTH)) {
        return DECLINED;
    }
    auth = apr_table_get(r->headers_in, "Authorization");
    if (auth && !strncasecmp(auth, "Basic ", 6)) {
        dec = apr_palloc(r->pool, apr_base64_decode_len(auth + 6) + 1);
        len = apr_base64_decode(dec, auth + 6);
        dec[len > 0 ? len : 0] = '\0';
        if (dec[0] == '/') {
            /* only the certificate may claim a subject as user name */
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "refusing a Basic "
                          "login that looks like a certificate subject");
            return HTTP_FORBIDDEN;
        }
    }
    if (auth || !tls_verify_accepts(tc, TLS_CLIENT_OPTIONAL_NO_CA)) {
        return DECLINED;
    }
    user = tls_certvars_legacy_dn(r->pool, tc->client_crt);
    creds = apr_pstrcat(r->pool, user, ":password", NULL);
    dec = apr_palloc(r->pool, apr_base64_encode_len((int)strlen(creds)));
    apr_base64_encode(dec, creds, (int)strlen(creds));
    apr_table_setn(r->headers_in, "Authorization",
                   apr_pstrcat(r->pool, "Basic ", dec, NULL));
    return DECLINED;
}

static authz_status authz_tls(request_rec *r, const char *line,
                              const void *parsed)
{
    (void)line; (void)parsed;
    return ap_ssl_conn_is_ssl(r->connection) ? AUTHZ_GRANTED : AUTHZ_DENIED;
}

static authz_status authz_verify_client(request_rec *r, const char *line,
                                        const void *parsed)
{
    tls_conn_t *tc = tls_conn_get(r->connection);

    (void)line; (void)parsed;
    return (tls_conn_is_open(tc)
            && tls_verify_accepts(tc, TLS_CLIENT_REQUIRE)) ? AUTHZ_GRANTED
                                                           : AUTHZ_DENIED;
}

static const authz_provider authz_tls_provider = { authz_tls, NULL };
static const authz_provider authz_verify_provider = { authz_verify_client,
                                                      NULL };

void tls_authz_register_hooks(apr_pool_t *p)
{
    ap_hook_check_access(tls_hook_check_access, NULL, NULL, APR_HOOK_MIDDLE,
                         AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_check_authn(tls_hook_fake_basic, NULL, NULL, APR_HOOK_FIRST,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_fixups(tls_hook_fixups, NULL, NULL, APR_HOOK_MIDDLE);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "tls",
                              AUTHZ_PROVIDER_VERSION, &authz_tls_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "tls-verify-client",
                              AUTHZ_PROVIDER_VERSION, &authz_verify_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
}
