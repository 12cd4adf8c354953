/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The SSL_* request variables, under mod_ssl's names and in its formats,
 * for ap_ssl_var_lookup users (mod_rewrite, mod_headers, mod_http2, ...)
 * and for the CGI/SSI environment. */
#include <httpd.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_ssl.h>

#include <ap_expr.h>
#include <apr_optional.h>
#include <mod_log_config.h>

#include "tls_certvars.h"
#include "tls_conn.h"
#include "tls_vars.h"
#include "tls_verify.h"

APLOG_USE_MODULE(tls);

/* GnuTLS names TLS 1.2 suites the IANA way; mod_ssl users and mod_http2's
 * H2ModernTLSOnly know OpenSSL's spelling. TLS 1.3 names are the same. */
static const struct { const char *iana; const char *openssl; } suites[] = {
    { "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256" },
    { "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384" },
    { "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256" },
    { "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384" },
    { "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305" },
    { "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305" },
    { "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", "ECDHE-ECDSA-AES128-CCM" },
    { "TLS_ECDHE_ECDSA_WITH_AES_256_CCM", "ECDHE-ECDSA-AES256-CCM" },
    { "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256" },
    { "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "ECDHE-ECDSA-AES256-SHA384" },
    { "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256" },
    { "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "ECDHE-RSA-AES256-SHA384" },
    { "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA" },
    { "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA" },
    { "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA" },
    { "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA" },
    { "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "DHE-RSA-AES128-GCM-SHA256" },
    { "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "DHE-RSA-AES256-GCM-SHA384" },
    { "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "DHE-RSA-CHACHA20-POLY1305" },
    { "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", "DHE-RSA-AES128-SHA256" },
    { "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", "DHE-RSA-AES256-SHA256" },
    { "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", "DHE-RSA-AES128-SHA" },
    { "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "DHE-RSA-AES256-SHA" },
    { "TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256" },
    { "TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384" },
    { "TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256" },
    { "TLS_RSA_WITH_AES_256_CBC_SHA256", "AES256-SHA256" },
    { "TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA" },
    { "TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA" },
    { "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA" },
};

static const char *cipher_name(const char *iana_name)
{
    unsigned i;

    if (!iana_name) {
        return "";
    }
    for (i = 0; i < sizeof(suites) / sizeof(suites[0]); ++i) {
        if (!strcmp(suites[i].iana, iana_name)) {
            return suites[i].openssl;
        }
    }
    return iana_name;
}

static const char *protocol_name(gnutls_session_t session)
{
    switch (gnutls_protocol_get_version(session)) {
    case GNUTLS_TLS1_0: return "TLSv1";
    case GNUTLS_TLS1_1: return "TLSv1.1";
    case GNUTLS_TLS1_2: return "TLSv1.2";
    case GNUTLS_TLS1_3: return "TLSv1.3";
    default: return "";
    }
}

static const char *session_id_hex(apr_pool_t *p, gnutls_session_t session)
{
    gnutls_datum_t id = { NULL, 0 };
    char *hex;
    unsigned i;

    if (gnutls_session_get_id2(session, &id) < 0 || id.size == 0) {
        return "";
    }
    hex = apr_palloc(p, id.size * 2 + 1);
    for (i = 0; i < id.size; ++i) {
        apr_snprintf(hex + 2 * i, 3, "%02x", id.data[i]);
    }
    return hex;
}

static const char *cipher_key_bits(apr_pool_t *p, gnutls_session_t session)
{
    size_t size = gnutls_cipher_get_key_size(gnutls_cipher_get(session));

    return apr_psprintf(p, "%d", (int)(size * 8));
}

typedef const char *tls_var_fn(apr_pool_t *p, tls_conn_t *tc);

static const char *var_https(apr_pool_t *p, tls_conn_t *tc)
{
    (void)p; (void)tc;
    return "on";
}

static const char *var_protocol(apr_pool_t *p, tls_conn_t *tc)
{
    (void)p;
    return protocol_name(tc->session);
}

static const char *var_cipher(apr_pool_t *p, tls_conn_t *tc)
{
    (void)p;
    return cipher_name(gnutls_ciphersuite_get(tc->session));
}

static const char *var_cipher_bits(apr_pool_t *p, tls_conn_t *tc)
{
    return cipher_key_bits(p, tc->session);
}

static const char *var_cipher_export(apr_pool_t *p, tls_conn_t *tc)
{
    (void)p; (void)tc;
    return "false";
}

static const char *var_session_id(apr_pool_t *p, tls_conn_t *tc)
{
    return session_id_hex(p, tc->session);
}

static const char *var_resumed(apr_pool_t *p, tls_conn_t *tc)
{
    (void)p;
    return gnutls_session_is_resumed(tc->session) ? "Resumed" : "Initial";
}

static const char *var_sni(apr_pool_t *p, tls_conn_t *tc)
{
    (void)p;
    return tc->sni ? tc->sni : "";
}

static const char *var_secure_reneg(apr_pool_t *p, tls_conn_t *tc)
{
    (void)p;
    return gnutls_safe_renegotiation_status(tc->session) ? "true" : "false";
}

static const char *var_compress(apr_pool_t *p, tls_conn_t *tc)
{
    (void)p; (void)tc;
    return "NULL";
}

static const char *var_version_interface(apr_pool_t *p, tls_conn_t *tc)
{
    (void)p; (void)tc;
    return "mod_tls/" MOD_TLS_VERSION;
}

static const char *var_version_library(apr_pool_t *p, tls_conn_t *tc)
{
    (void)tc;
    return apr_pstrcat(p, "GnuTLS/", gnutls_check_version(NULL), NULL);
}

/* The connection-level variables; std marks those +StdEnvVars exports. */
static const struct {
    const char *name;
    tls_var_fn *fn;
    int std;
} conn_vars[] = {
    { "HTTPS", var_https, 0 },
    { "SSL_TLS_SNI", var_sni, 0 },
    { "SSL_PROTOCOL", var_protocol, 1 },
    { "SSL_CIPHER", var_cipher, 1 },
    { "SSL_CIPHER_EXPORT", var_cipher_export, 1 },
    { "SSL_CIPHER_USEKEYSIZE", var_cipher_bits, 1 },
    { "SSL_CIPHER_ALGKEYSIZE", var_cipher_bits, 1 },
    { "SSL_SESSION_ID", var_session_id, 1 },
    { "SSL_SESSION_RESUMED", var_resumed, 1 },
    { "SSL_SECURE_RENEG", var_secure_reneg, 1 },
    { "SSL_COMPRESS_METHOD", var_compress, 1 },
    { "SSL_VERSION_INTERFACE", var_version_interface, 1 },
    { "SSL_VERSION_LIBRARY", var_version_library, 1 },
};

#define N_CONN_VARS (sizeof(conn_vars) / sizeof(conn_vars[0]))

static gnutls_x509_crt_t server_crt(tls_conn_t *tc)
{
    if (!tc->server_crt && tls_conn_is_open(tc)) {
        tc->server_crt = tls_certvars_parse(tc->c->pool,
                                            gnutls_certificate_get_ours(
                                                tc->session));
    }
    return tc->server_crt;
}

static const char *server_cert_var(apr_pool_t *p, tls_conn_t *tc,
                                   const char *name)
{
    gnutls_x509_crt_t crt = server_crt(tc);
    const char *v;

    if (!crt) {
        return "";
    }
    v = tls_certvars_get(p, crt, name);
    return v ? v : "";
}

static const char *client_chain_pem(apr_pool_t *p, tls_conn_t *tc, int n)
{
    if (!tc->client_chain || n < 0 || n >= tc->client_chain->nelts) {
        return "";
    }
    return tls_certvars_pem(p, &APR_ARRAY_IDX(tc->client_chain, n,
                                              gnutls_datum_t));
}

/* Only a verified (or GENEROUS) certificate lends its identity; a failed
 * one shows in SSL_CLIENT_VERIFY alone. */
static const char *client_cert_var(apr_pool_t *p, tls_conn_t *tc,
                                   const char *name)
{
    const char *v;

    if (!strcmp(name, "VERIFY")) {
        return tls_verify_result_string(p, tc);
    }
    if (!strncmp(name, "CERT_CHAIN_", 11) && apr_isdigit(name[11])) {
        return client_chain_pem(p, tc, atoi(name + 11));
    }
    if (!tc->client_crt) {
        return "";
    }
    v = tls_certvars_get(p, tc->client_crt, name);
    return v ? v : "";
}

static void export_client(request_rec *r, tls_conn_t *tc, int std, int certs)
{
    int i;

    if (std) {
        apr_table_setn(r->subprocess_env, "SSL_CLIENT_VERIFY",
                       tls_verify_result_string(r->pool, tc));
    }
    if (!tc->client_crt) {
        if (certs) {
            apr_table_setn(r->subprocess_env, "SSL_CLIENT_CERT", "");
        }
        return;
    }
    if (std) {
        /* beyond what any certificate exports: client-only variables */
        tls_certvars_export(r->pool, tc->client_crt, "SSL_CLIENT_", 0,
                            r->subprocess_env);
        apr_table_setn(r->subprocess_env, "SSL_CLIENT_V_REMAIN",
                       tls_certvars_get(r->pool, tc->client_crt, "V_REMAIN"));
        apr_table_setn(r->subprocess_env, "SSL_CLIENT_CERT_RFC4523_CEA",
                       tls_certvars_get(r->pool, tc->client_crt,
                                        "CERT_RFC4523_CEA"));
    }
    if (!certs) {
        return;
    }
    apr_table_setn(r->subprocess_env, "SSL_CLIENT_CERT",
                   tls_certvars_get(r->pool, tc->client_crt, "CERT"));
    for (i = 0; tc->client_chain && i < tc->client_chain->nelts; ++i) {
        apr_table_setn(r->subprocess_env,
                       apr_psprintf(r->pool, "SSL_CLIENT_CERT_CHAIN_%d", i),
                       client_chain_pem(r->pool, tc, i));
    }
}

static const char *tls_hook_var_lookup(apr_pool_t *p, server_rec *s,
                                       conn_rec *c, request_rec *r,
                                       const char *name)
{
    tls_conn_t *tc = tls_conn_get(c);
    unsigned i;

    (void)s; (void)r;
    /* not only once open: mod_http2 asks while ALPN is negotiated */
    if (!tls_conn_is_tls(tc) || !name) {
        return NULL;
    }
    for (i = 0; i < N_CONN_VARS; ++i) {
        if (!strcmp(conn_vars[i].name, name)) {
            return conn_vars[i].fn(p, tc);
        }
    }
    if (!strncmp(name, "SSL_SERVER_", 11)) {
        return server_cert_var(p, tc, name + 11);
    }
    if (!strncmp(name, "SSL_CLIENT_", 11)) {
        return client_cert_var(p, tc, name + 11);
    }
    /* ours to answer on our connections: unknown SSL_* names are empty */
    return strncmp(name, "SSL_", 4) ? NULL : "";
}

static int tls_hook_conn_is_ssl(conn_rec *c)
{
    tls_conn_t *tc = tls_conn_get(c);

    return tls_conn_is_tls(tc) ? OK : DECLINED;
}

static int tls_hook_fixups(request_rec *r)
{
    tls_conn_t *tc = tls_conn_get(r->connection);
    int std = tls_conf_dir_opts(r) & TLS_OPT_STD_ENV_VARS;
    int certs = tls_conf_dir_opts(r) & TLS_OPT_EXPORT_CERT_DATA;
    unsigned i;

    if (!tls_conn_is_open(tc)) {
        return DECLINED;
    }
    for (i = 0; i < N_CONN_VARS; ++i) {
        const char *val;

        if (conn_vars[i].std && !std) {
            continue;
        }
        val = conn_vars[i].fn(r->pool, tc);
        if (val && *val) {
            apr_table_setn(r->subprocess_env, conn_vars[i].name, val);
        }
    }
    /* +ExportCertData exports the PEMs with or without +StdEnvVars */
    if (std && server_crt(tc)) {
        tls_certvars_export(r->pool, server_crt(tc), "SSL_SERVER_", 0,
                            r->subprocess_env);
    }
    if (certs && server_crt(tc)) {
        apr_table_setn(r->subprocess_env, "SSL_SERVER_CERT",
                       tls_certvars_get(r->pool, server_crt(tc), "CERT"));
    }
    export_client(r, tc, std, certs);
    return DECLINED;
}

/* %{SSL_...} in ap_expr (Require expr, <If>, Header expr=): core knows
 * only HTTPS. ap_ssl_var_lookup serves mod_ssl's connections too. */
static const char *expr_var(ap_expr_eval_ctx_t *ctx, const void *data)
{
    const char *v = ap_ssl_var_lookup(ctx->p, ctx->s, ctx->c, ctx->r, data);

    return v ? v : "";
}

/* The function SSL: %{SSL:SSL_PROTOCOL}, SSL('SSL_CIPHER'), as mod_ssl. */
static const char *expr_ssl_fn(ap_expr_eval_ctx_t *ctx, const void *data,
                               const char *arg)
{
    (void)data;
    return expr_var(ctx, arg);
}

/* PeerExtList('oid'): the client certificate's extension values, as
 * mod_ssl's; empty without a verified certificate. */
static apr_array_header_t *expr_peer_ext_list(ap_expr_eval_ctx_t *ctx,
                                              const void *data,
                                              const char *arg)
{
    tls_conn_t *tc = tls_conn_get(ctx->c);

    (void)data;
    if (!tls_conn_is_open(tc) || !tc->client_crt || !arg) {
        return apr_array_make(ctx->p, 0, sizeof(const char *));
    }
    return tls_certvars_ext_values(ctx->p, tc->client_crt, arg);
}

static int tls_hook_expr_lookup(ap_expr_lookup_parms *parms)
{
    switch (parms->type) {
    case AP_EXPR_FUNC_VAR:
        if (strncmp(parms->name, "SSL_", 4)) {
            return DECLINED;
        }
        *parms->func = expr_var;
        *parms->data = parms->name;
        return OK;
    case AP_EXPR_FUNC_STRING:
        if (strcmp(parms->name, "SSL")) {
            return DECLINED;
        }
        *parms->func = expr_ssl_fn;
        *parms->data = NULL;
        return OK;
    case AP_EXPR_FUNC_LIST:
        if (strcmp(parms->name, "PeerExtList")) {
            return DECLINED;
        }
        *parms->func = expr_peer_ext_list;
        *parms->data = NULL;
        return OK;
    default:
        return DECLINED;
    }
}

/* %{VAR}x in LogFormat */
static const char *log_var(request_rec *r, char *name)
{
    const char *v = ap_ssl_var_lookup(r->pool, r->server, r->connection, r,
                                      name);

    return (v && *v) ? v : NULL;
}

/* %{version|cipher|subjectdn|issuerdn|errcode|errstr}c, as mod_ssl */
static const char *log_conn(request_rec *r, char *what)
{
    static const struct { const char *what, *var; } map[] = {
        { "version", "SSL_PROTOCOL" },
        { "cipher", "SSL_CIPHER" },
        { "subjectdn", "SSL_CLIENT_S_DN" },
        { "issuerdn", "SSL_CLIENT_I_DN" },
    };
    unsigned i;

    if (!ap_ssl_conn_is_ssl(r->connection)) {
        return NULL;
    }
    for (i = 0; i < sizeof(map) / sizeof(map[0]); ++i) {
        if (!strcmp(what, map[i].what)) {
            return log_var(r, (char *)map[i].var);
        }
    }
    if (!strcmp(what, "errcode")) {
        return "-";
    }
    if (!strcmp(what, "errstr")) {
        /* the reason a client certificate failed verification */
        const char *v = log_var(r, "SSL_CLIENT_VERIFY");
        return (v && !strncmp(v, "FAILED:", 7)) ? v + 7 : NULL;
    }
    return NULL;
}

static int tls_hook_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp)
{
    APR_OPTIONAL_FN_TYPE(ap_register_log_handler) *reg =
        APR_RETRIEVE_OPTIONAL_FN(ap_register_log_handler);

    (void)plog; (void)ptemp;
    if (reg) {
        reg(pconf, "x", log_var, 0);
        reg(pconf, "c", log_conn, 0);
    }
    return OK;
}

void tls_vars_register_hooks(apr_pool_t *p)
{
    /* after mod_ssl's, so that ours (which answers for both) wins */
    static const char *const pre_log[] = { "mod_log_config.c", "mod_ssl.c",
                                           NULL };
    static const char *const before_ssl[] = { "mod_ssl.c", NULL };

    (void)p;
    ap_hook_pre_config(tls_hook_pre_config, pre_log, NULL, APR_HOOK_MIDDLE);
    ap_hook_expr_lookup(tls_hook_expr_lookup, NULL, before_ssl,
                        APR_HOOK_MIDDLE);
    ap_hook_ssl_conn_is_ssl(tls_hook_conn_is_ssl, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_ssl_var_lookup(tls_hook_var_lookup, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_fixups(tls_hook_fixups, NULL, NULL, APR_HOOK_MIDDLE);
}
