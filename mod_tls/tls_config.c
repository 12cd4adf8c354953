/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Directives and their merging. Values are checked where they are written,
 * so that `apachectl -t` points at the offending line. */
#include <httpd.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include <http_log.h>
#include <apr_lib.h>
#include <http_core.h>
#include <mod_proxy.h>

#include "tls_config.h"

APLOG_USE_MODULE(tls);

/* TLS 1.2 and 1.3, forward secrecy (ECDHE) and AEAD ciphers only, the
 * server's order; docs/directives.md explains each part and how to widen
 * it. */
#define TLS_DEFAULT_PRIORITIES \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" \
    ":-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305" \
    ":-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA" \
    ":-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1" \
    ":+GROUP-X448:+GROUP-SECP521R1" \
    ":-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:-SIGN-RSA-SHA224:-SIGN-ECDSA-SHA224" \
    ":%SERVER_PRECEDENCE"
#define TLS_DEFAULT_HS_TIMEOUT      apr_time_from_sec(10)
#define TLS_OID_CLIENT_AUTH         "1.3.6.1.5.5.7.3.2"
#define TLS_DEFAULT_OCSP_TIMEOUT    apr_time_from_sec(10)

tls_srv_conf_t *tls_conf_srv_get(server_rec *s)
{
    return ap_get_module_config(s->module_config, &tls_module);
}

void *tls_conf_create_srv(apr_pool_t *p, server_rec *s)
{
    tls_srv_conf_t *sc = apr_pcalloc(p, sizeof(*sc));

    sc->s = s;
    if (!s->is_virtual) {
        /* vhosts get it from the main server when merged */
        sc->global = apr_pcalloc(p, sizeof(*sc->global));
        sc->global->main_server = s;
    }
    sc->engine = TLS_UNSET;
    sc->protocols = TLS_UNSET;
    sc->handshake_timeout = TLS_UNSET;
    sc->strict_sni = TLS_UNSET;
    sc->client_mode = TLS_CLIENT_UNSET;
    sc->verify_depth = TLS_UNSET;
    sc->client_ocsp = TLS_CLIENT_OCSP_UNSET;
    sc->ocsp_override = TLS_UNSET;
    sc->ocsp_timeout = TLS_UNSET;
    sc->ocsp_stapling = TLS_UNSET;
    sc->session_tickets = TLS_UNSET;
    sc->cache_timeout = TLS_UNSET;
    return sc;
}

#define MERGE(field, unset) (add->field != (unset) ? add->field : base->field)

/* Takes into pc what it leaves unset from base. */
static void proxy_fill(tls_proxy_conf_t *pc, const tls_proxy_conf_t *base)
{
    if (pc->engine == TLS_UNSET) {
        pc->engine = base->engine;
    }
    if (!pc->ca_file) {
        pc->ca_file = base->ca_file;
        pc->ca_pos = base->ca_pos;
    }
    if (!pc->crl_file) {
        pc->crl_file = base->crl_file;
        pc->crl_pos = base->crl_pos;
    }
    if (pc->verify == TLS_UNSET) {
        pc->verify = base->verify;
    }
    if (pc->check_name == TLS_UNSET) {
        pc->check_name = base->check_name;
    }
    if (!pc->cert) {
        pc->cert = base->cert;
    }
    if (!pc->priorities) {
        pc->priorities = base->priorities;
        pc->priorities_pos = base->priorities_pos;
    }
    if (pc->protocols == TLS_UNSET) {
        pc->protocols = base->protocols;
    }
}

/* TLSProxy* while the configuration is read: a virtual host's lines over
 * the server config's, field by field. A resolved record (a <Proxy>
 * section's, see tls_proxy_conf_t) is taken as it is: it was completed
 * from the scope it was written in, and is built. */
static tls_proxy_conf_t *proxy_merge(apr_pool_t *p, tls_proxy_conf_t *base,
                                     tls_proxy_conf_t *add)
{
    tls_proxy_conf_t *pc;

    if (!add) {
        return base;
    }
    if (!base || add->resolved) {
        return add;
    }
    pc = apr_pmemdup(p, add, sizeof(*pc));
    proxy_fill(pc, base);
    pc->resolved = 0;
    pc->built = NULL;
    return pc;
}

void *tls_conf_merge_srv(apr_pool_t *p, void *basev, void *addv)
{
    tls_srv_conf_t *base = basev, *add = addv;
    tls_srv_conf_t *sc = apr_pcalloc(p, sizeof(*sc));

    sc->s = add->s;
    sc->global = base->global;
    sc->engine = MERGE(engine, TLS_UNSET);
    sc->engine_pos = add->engine != TLS_UNSET ? add->engine_pos : base->engine_pos;
    sc->certs = MERGE(certs, NULL);
    sc->priorities = MERGE(priorities, NULL);
    sc->priorities_pos = add->priorities ? add->priorities_pos
                                         : base->priorities_pos;
    sc->protocols = MERGE(protocols, TLS_UNSET);
    sc->handshake_timeout = MERGE(handshake_timeout, TLS_UNSET);
    sc->strict_sni = MERGE(strict_sni, TLS_UNSET);
    sc->client_mode = MERGE(client_mode, TLS_CLIENT_UNSET);
    sc->client_ca = MERGE(client_ca, NULL);
    sc->client_ca_pos = add->client_ca ? add->client_ca_pos
                                       : base->client_ca_pos;
    sc->client_crl = MERGE(client_crl, NULL);
    sc->client_crl_pos = add->client_crl ? add->client_crl_pos
                                         : base->client_crl_pos;
    sc->verify_depth = MERGE(verify_depth, TLS_UNSET);
    sc->key_purpose = MERGE(key_purpose, NULL);
    sc->client_ocsp = MERGE(client_ocsp, TLS_CLIENT_OCSP_UNSET);
    sc->ocsp_responder = MERGE(ocsp_responder, NULL);
    sc->ocsp_responder_pos = add->ocsp_responder ? add->ocsp_responder_pos
                                                 : base->ocsp_responder_pos;
    sc->ocsp_override = MERGE(ocsp_override, TLS_UNSET);
    sc->ocsp_override_pos = add->ocsp_override != TLS_UNSET
                            ? add->ocsp_override_pos : base->ocsp_override_pos;
    sc->ocsp_timeout = MERGE(ocsp_timeout, TLS_UNSET);
    sc->ocsp_stapling = MERGE(ocsp_stapling, TLS_UNSET);
    sc->stapling_responder = MERGE(stapling_responder, NULL);
    sc->stapling_responder_pos = add->stapling_responder
                                 ? add->stapling_responder_pos
                                 : base->stapling_responder_pos;
    /* a vhost's own lines first: for the same certificate, its own wins */
    if (add->response_files && base->response_files) {
        sc->response_files = apr_array_append(p, add->response_files,
                                              base->response_files);
    }
    else {
        sc->response_files = MERGE(response_files, NULL);
    }
    sc->session_tickets = MERGE(session_tickets, TLS_UNSET);
    sc->cache_timeout = MERGE(cache_timeout, TLS_UNSET);
    return sc;
}

void *tls_conf_create_dir(apr_pool_t *p, char *dir)
{
    tls_dir_conf_t *dc = apr_pcalloc(p, sizeof(*dc));

    (void)dir;
    dc->client_mode = TLS_CLIENT_UNSET;
    dc->verify_depth = TLS_UNSET;
    dc->reneg_buffer = TLS_UNSET;
    return dc;
}

void *tls_conf_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    tls_dir_conf_t *base = basev, *add = addv;
    tls_dir_conf_t *dc = apr_pcalloc(p, sizeof(*dc));

    /* mod_ssl semantics: an absolute list replaces, +/- adjust the parent */
    dc->client_mode = MERGE(client_mode, TLS_CLIENT_UNSET);
    dc->verify_depth = MERGE(verify_depth, TLS_UNSET);
    dc->user_name = MERGE(user_name, NULL);
    dc->reneg_buffer = MERGE(reneg_buffer, TLS_UNSET);
    if (add->opts_set) {
        dc->opts_set = 1;
        dc->opts = add->opts;
        dc->opts_add = add->opts_add;
        dc->opts_del = add->opts_del;
    }
    else {
        dc->opts_set = base->opts_set;
        dc->opts = base->opts;
        dc->opts_add = (base->opts_add & ~add->opts_del) | add->opts_add;
        dc->opts_del = (base->opts_del & ~add->opts_add) | add->opts_del;
    }
    dc->proxy = proxy_merge(p, base->proxy, add->proxy);
    return dc;
}

tls_dir_conf_t *tls_conf_dir_get(request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &tls_module);
}

apr_off_t tls_conf_reneg_buffer(request_rec *r)
{
    tls_dir_conf_t *dc = tls_conf_dir_get(r);

    /* mod_ssl's SSLRenegBufferSize default */
    return dc->reneg_buffer == TLS_UNSET ? 128 * 1024 : dc->reneg_buffer;
}

int tls_conf_dir_opts(request_rec *r)
{
    tls_dir_conf_t *dc = tls_conf_dir_get(r);

    return dc ? ((dc->opts | dc->opts_add) & ~dc->opts_del) : 0;
}

/* Whether a section (or one nested in it) asks for client certificates. */
static int sections_ask(apr_array_header_t *secs)
{
    int i;

    for (i = 0; secs && i < secs->nelts; ++i) {
        ap_conf_vector_t *v = APR_ARRAY_IDX(secs, i, ap_conf_vector_t *);
        tls_dir_conf_t *dc = ap_get_module_config(v, &tls_module);
        core_dir_config *cd = ap_get_core_module_config(v);

        if ((dc && dc->client_mode != TLS_CLIENT_UNSET
             && dc->client_mode != TLS_CLIENT_NONE)
            || (cd && (sections_ask(cd->sec_file)
                       || sections_ask(cd->sec_if)))) {
            return 1;
        }
    }
    return 0;
}

static int tls_conf_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp, server_rec *s)
{
    (void)pconf; (void)plog; (void)ptemp;
    tls_conf_apply_defaults(s);
    return OK;
}

void tls_conf_register_hooks(apr_pool_t *p)
{
    (void)p;
    /* before anything that reads the settings */
    ap_hook_post_config(tls_conf_post_config, NULL, NULL,
                        APR_HOOK_REALLY_FIRST);
}

tls_proxy_conf_t *tls_conf_proxy_of_dir(ap_conf_vector_t *dir_conf)
{
    tls_dir_conf_t *dc = dir_conf ? ap_get_module_config(dir_conf,
                                                         &tls_module)
                                  : NULL;

    return dc ? dc->proxy : NULL;
}

tls_proxy_conf_t *tls_conf_proxy_of_server(server_rec *s)
{
    return tls_conf_proxy_of_dir(s->lookup_defaults);
}

/* mod_proxy keeps the sections in its server config, the main server's
 * ahead of a vhost's own; found by name, so that mod_tls loads without
 * mod_proxy. */
apr_array_header_t *tls_conf_proxy_sections(server_rec *s)
{
    module *proxy = ap_find_linked_module("mod_proxy.c");
    proxy_server_conf *psc;

    if (!proxy) {
        return NULL;
    }
    psc = ap_get_module_config(s->module_config, proxy);
    return psc ? psc->sec_proxy : NULL;
}

/* Completes a TLSProxy* record from the scope around it (outer, resolved
 * before) and the defaults: secure ones, verification on, unlike
 * mod_ssl's. */
static void proxy_resolve(tls_proxy_conf_t *pc, const tls_proxy_conf_t *outer)
{
    if (pc->resolved) {
        return;
    }
    if (outer) {
        proxy_fill(pc, outer);
    }
    if (pc->engine == TLS_UNSET) {
        pc->engine = 0;
    }
    if (pc->verify == TLS_UNSET) {
        pc->verify = TLS_PROXY_VERIFY_REQUIRE;
    }
    if (pc->check_name == TLS_UNSET) {
        pc->check_name = 1;
    }
    pc->resolved = 1;
}

/* A server's own record first, then its <Proxy> sections from it. The
 * main server comes first and its sections lead every vhost's list, so
 * they are completed from the server config, where they were written (as
 * mod_ssl does). */
static void proxy_resolve_all(server_rec *main_s)
{
    server_rec *s;
    int i;

    for (s = main_s; s; s = s->next) {
        tls_proxy_conf_t *spc = tls_conf_proxy_of_server(s);
        apr_array_header_t *secs = tls_conf_proxy_sections(s);

        if (spc) {
            proxy_resolve(spc, NULL);
        }
        for (i = 0; secs && i < secs->nelts; ++i) {
            tls_proxy_conf_t *pc = tls_conf_proxy_of_dir(
                APR_ARRAY_IDX(secs, i, ap_conf_vector_t *));

            if (pc) {
                proxy_resolve(pc, spc);
            }
        }
    }
}

#define DEFAULT(field, unset, value) \
    if (sc->field == (unset)) { sc->field = (value); }

void tls_conf_apply_defaults(server_rec *main_s)
{
    server_rec *s;

    proxy_resolve_all(main_s);
    for (s = main_s; s; s = s->next) {
        tls_srv_conf_t *sc = tls_conf_srv_get(s);
        core_server_config *cs = ap_get_core_module_config(s->module_config);

        DEFAULT(engine, TLS_UNSET, 0);
        DEFAULT(handshake_timeout, TLS_UNSET, TLS_DEFAULT_HS_TIMEOUT);
        DEFAULT(strict_sni, TLS_UNSET, 0);
        DEFAULT(client_mode, TLS_CLIENT_UNSET, TLS_CLIENT_NONE);
        DEFAULT(verify_depth, TLS_UNSET, 1);
        DEFAULT(key_purpose, NULL, TLS_OID_CLIENT_AUTH);
        DEFAULT(client_ocsp, TLS_CLIENT_OCSP_UNSET, TLS_CLIENT_OCSP_OFF);
        DEFAULT(ocsp_override, TLS_UNSET, 0);
        DEFAULT(ocsp_timeout, TLS_UNSET, TLS_DEFAULT_OCSP_TIMEOUT);
        DEFAULT(ocsp_stapling, TLS_UNSET, 0);
        DEFAULT(session_tickets, TLS_UNSET, 1);
        DEFAULT(cache_timeout, TLS_UNSET, 300);
        /* directory sections of the main server are merged into each
         * vhost's lists, so each server sees all that apply to it */
        sc->perdir_client_auth = sections_ask(cs->sec_dir)
                                 || sections_ask(cs->sec_url);
    }
}

const char *tls_conf_pos_error(apr_pool_t *p, const tls_conf_pos_t *pos,
                               const char *fmt, ...)
{
    va_list ap;
    const char *msg;

    va_start(ap, fmt);
    msg = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    if (!pos->file) {
        return msg;
    }
    return apr_psprintf(p, "%s:%d: %s: %s", pos->file, pos->line,
                        pos->directive, msg);
}

int tls_conf_check_post_config(apr_pool_t *ptemp, server_rec *s,
                               tls_conf_check_fn *check)
{
    const char *err = check(ptemp, s);

    if (err) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "%s", err);
        return !OK;
    }
    return OK;
}

void tls_conf_check_test_config(apr_pool_t *pconf, server_rec *s,
                                tls_conf_check_fn *check)
{
    apr_pool_t *ptemp;
    const char *err;

    apr_pool_create(&ptemp, pconf);
    err = check(ptemp, s);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "%s", err);
    }
    /* what the check built goes with the pool, also before exit() */
    apr_pool_destroy(ptemp);
    if (err) {
        exit(1);
    }
}

const char *tls_conf_server_id(apr_pool_t *p, const server_rec *s)
{
    apr_port_t port = s->port ? s->port : s->addrs ? s->addrs->host_port : 0;

    return apr_psprintf(p, "%s:%u", s->server_hostname, (unsigned)port);
}

static void conf_pos_set(cmd_parms *cmd, tls_conf_pos_t *pos)
{
    pos->file = cmd->directive->filename;
    pos->line = cmd->directive->line_num;
    pos->directive = cmd->cmd->name;
}

static tls_srv_conf_t *cmd_srv_conf(cmd_parms *cmd)
{
    return tls_conf_srv_get(cmd->server);
}

/* httpd prints file and line; the message names the directive. */
static const char *cmd_error(cmd_parms *cmd, const char *msg)
{
    return msg ? apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", msg, NULL)
               : NULL;
}

/* A whole number in [min, max], or an error naming what it should be. */
static const char *parse_number(cmd_parms *cmd, const char *arg, long min,
                                long max, const char *what, long *out)
{
    char *end;

    *out = strtol(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || *out < min || *out > max) {
        return cmd_error(cmd, apr_psprintf(cmd->pool, "'%s' is not %s "
                         "between %ld and %ld", arg, what, min, max));
    }
    return NULL;
}

static const char *set_engine(cmd_parms *cmd, void *dc, int flag)
{
    tls_srv_conf_t *sc = cmd_srv_conf(cmd);

    (void)dc;
    sc->engine = flag ? 1 : 0;
    conf_pos_set(cmd, &sc->engine_pos);
    return NULL;
}

static const char *set_strict_sni(cmd_parms *cmd, void *dc, int flag)
{
    (void)dc;
    cmd_srv_conf(cmd)->strict_sni = flag ? 1 : 0;
    return NULL;
}

int tls_conf_is_pkcs11(const char *key_file)
{
    return key_file && !strncmp(key_file, "pkcs11:", 7);
}

/* A certificate line (TLSCertificate, TLSProxyMachineCertificate): its
 * files are read and checked once the configuration is complete (see
 * tls_cred.c), with this line's position in the messages. */
static const char *make_cert(cmd_parms *cmd, const char *cert_file,
                             const char *key_file, tls_cert_t **pcert)
{
    tls_cert_t *cert = apr_pcalloc(cmd->pool, sizeof(*cert));

    /* not read from a token (and the URI, with its PIN, not echoed) */
    if (tls_conf_is_pkcs11(cert_file)) {
        return cmd_error(cmd, "the certificate must be a PEM file: only "
                         "the key can be a pkcs11: URI");
    }
    cert->cert_file = ap_server_root_relative(cmd->pool, cert_file);
    if (tls_conf_is_pkcs11(key_file)) {
        cert->key_file = key_file;
    }
    else {
        cert->key_file = key_file ? ap_server_root_relative(cmd->pool,
                                                            key_file)
                                  : cert->cert_file;
    }
    if (!cert->cert_file || !cert->key_file) {
        return cmd_error(cmd, apr_psprintf(cmd->pool, "invalid path '%s'",
                                           cert->cert_file ? key_file
                                                           : cert_file));
    }
    conf_pos_set(cmd, &cert->pos);
    *pcert = cert;
    return NULL;
}

static const char *add_certificate(cmd_parms *cmd, void *dc,
                                   const char *cert_file, const char *key_file)
{
    tls_srv_conf_t *sc = cmd_srv_conf(cmd);
    tls_cert_t *cert;
    const char *err;

    (void)dc;
    if ((err = make_cert(cmd, cert_file, key_file, &cert))) {
        return err;
    }
    if (!sc->certs) {
        sc->certs = apr_array_make(cmd->pool, 3, sizeof(tls_cert_t *));
    }
    APR_ARRAY_PUSH(sc->certs, tls_cert_t *) = cert;
    return NULL;
}

static const char *check_priorities(apr_pool_t *p, const char *prio)
{
    gnutls_priority_t cache;
    const char *err_pos = NULL;
    int rv;

    rv = gnutls_priority_init2(&cache, prio, &err_pos, 0);
    if (rv < 0) {
        if (rv == GNUTLS_E_INVALID_REQUEST && err_pos) {
            return apr_psprintf(p, "invalid priority string '%s': "
                                "error at '%s'", prio, err_pos);
        }
        return apr_psprintf(p, "invalid priority string '%s': %s", prio,
                            gnutls_strerror(rv));
    }
    gnutls_priority_deinit(cache);
    return NULL;
}

static const char *set_priorities(cmd_parms *cmd, void *dc, const char *arg)
{
    tls_srv_conf_t *sc = cmd_srv_conf(cmd);
    const char *err;

    (void)dc;
    if ((err = check_priorities(cmd->pool, arg))) {
        return cmd_error(cmd, err);
    }
    sc->priorities = arg;
    conf_pos_set(cmd, &sc->priorities_pos);
    return NULL;
}

static int protocol_bits(const char *name, int *plus)
{
    static const struct { const char *name; int bits; } names[] = {
        { "all", TLS_PROTO_ALL },
        { "TLSv1", TLS_PROTO_TLS1_0 },
        { "TLSv1.0", TLS_PROTO_TLS1_0 },
        { "TLSv1.1", TLS_PROTO_TLS1_1 },
        { "TLSv1.2", TLS_PROTO_TLS1_2 },
        { "TLSv1.3", TLS_PROTO_TLS1_3 },
    };
    apr_size_t len = strlen(name);
    unsigned i;

    *plus = (len > 1 && name[len - 1] == '+');
    if (*plus) {
        --len;
    }
    for (i = 0; i < sizeof(names) / sizeof(names[0]); ++i) {
        if (strlen(names[i].name) == len
            && !strncasecmp(names[i].name, name, len)) {
            return names[i].bits;
        }
    }
    return 0;
}

/* mod_ssl syntax ("all -TLSv1.1", "-TLSv1.2") plus "TLSv1.2+" for "this
 * version and newer"; the result narrows what the priorities allow. The
 * one parser of TLSProtocol and TLSProxyProtocol (and a pure function,
 * for fuzz/). */
const char *tls_conf_parse_protocol(apr_pool_t *p, const char *spec,
                                    int *bits_out)
{
    int set = 0, first = 1;
    const char *w;

    while (*(w = ap_getword_conf(p, &spec))) {
        char action = (*w == '+' || *w == '-') ? *w++ : 0;
        int plus, bits = protocol_bits(w, &plus);

        if (!bits || (plus && action)) {
            return apr_psprintf(p,
                "unknown protocol '%s' (use all, TLSv1, TLSv1.1, TLSv1.2, "
                "TLSv1.3, optionally with +/- in front or + after)", w);
        }
        if (plus) {
            /* the (lowest) version named and every newer one */
            bits = TLS_PROTO_ALL & ~((bits & -bits) - 1);
        }
        if (first && action == '-') {
            set = TLS_PROTO_ALL;
        }
        set = action == '-' ? (set & ~bits) : (set | bits);
        first = 0;
    }
    if (!(set & (TLS_PROTO_TLS1_2 | TLS_PROTO_TLS1_3))) {
        return "no protocol left enabled (TLSv1.2 or TLSv1.3 is needed)";
    }
    /* GnuTLS disables TLS 1.3 when an older version is enabled without
     * TLS 1.2: "-TLSv1.2" would leave TLS 1.0 and 1.1 only */
    if ((set & TLS_PROTO_TLS1_3) && !(set & TLS_PROTO_TLS1_2)
        && (set & (TLS_PROTO_TLS1_0 | TLS_PROTO_TLS1_1))) {
        return "TLSv1.3 with TLSv1 or TLSv1.1 needs TLSv1.2 too (GnuTLS "
               "turns TLSv1.3 off otherwise)";
    }
    *bits_out = set;
    return NULL;
}

/* TLSProtocol and TLSProxyProtocol: the set goes to *out. */
static const char *protocol_directive(cmd_parms *cmd, const char *arg,
                                      int *out)
{
    const char *err;
    int set;

    if ((err = tls_conf_parse_protocol(cmd->temp_pool, arg, &set))) {
        return cmd_error(cmd, err);
    }
    *out = set;
    return NULL;
}

static const char *set_protocol(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return protocol_directive(cmd, arg, &cmd_srv_conf(cmd)->protocols);
}

static const char *set_handshake_timeout(cmd_parms *cmd, void *dc,
                                         const char *arg)
{
    const char *err;
    long secs;

    (void)dc;
    if ((err = parse_number(cmd, arg, 0, 3600, "a number of seconds (0: no "
                            "deadline)", &secs))) {
        return err;
    }
    cmd_srv_conf(cmd)->handshake_timeout = apr_time_from_sec(secs);
    return NULL;
}

static const char *set_client_certificate(cmd_parms *cmd, void *dcv,
                                          const char *arg)
{
    static const struct { const char *name; tls_client_mode_t mode; } modes[] = {
        { "none", TLS_CLIENT_NONE },
        { "optional", TLS_CLIENT_OPTIONAL },
        { "require", TLS_CLIENT_REQUIRE },
        { "optional_no_ca", TLS_CLIENT_OPTIONAL_NO_CA },
    };
    tls_dir_conf_t *dc = dcv;
    const char *err;
    unsigned i;

    /* whether a vhost may renegotiate is settled at startup (see
     * tls_conf_apply_defaults), before any .htaccess is read */
    if ((err = ap_check_cmd_context(cmd, NOT_IN_HTACCESS))) {
        return err;
    }
    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); ++i) {
        if (!strcasecmp(arg, modes[i].name)) {
            /* in a vhost: the handshake asks; in a directory: the request */
            if (cmd->path) {
                dc->client_mode = modes[i].mode;
            }
            else {
                cmd_srv_conf(cmd)->client_mode = modes[i].mode;
            }
            return NULL;
        }
    }
    return cmd_error(cmd, apr_psprintf(cmd->pool, "unknown mode '%s' (use "
                     "none, optional, require or optional_no_ca)", arg));
}

static const char *set_client_file(cmd_parms *cmd, void *dc, const char *arg)
{
    tls_srv_conf_t *sc = cmd_srv_conf(cmd);
    const char *path = ap_server_root_relative(cmd->pool, arg);

    (void)dc;
    if (!path) {
        return cmd_error(cmd, apr_psprintf(cmd->pool, "invalid path '%s'",
                                           arg));
    }
    /* read and checked with the credentials (tls_cred.c) */
    if (cmd->info) {
        sc->client_crl = path;
        conf_pos_set(cmd, &sc->client_crl_pos);
    }
    else {
        sc->client_ca = path;
        conf_pos_set(cmd, &sc->client_ca_pos);
    }
    return NULL;
}

static const char *set_verify_depth(cmd_parms *cmd, void *dcv, const char *arg)
{
    tls_dir_conf_t *dc = dcv;
    const char *err;
    long n;

    if ((err = parse_number(cmd, arg, 0, 100, "a depth", &n))) {
        return err;
    }
    if (cmd->path) {
        dc->verify_depth = (int)n;
    }
    else {
        cmd_srv_conf(cmd)->verify_depth = (int)n;
    }
    return NULL;
}

static const char *set_key_purpose(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *oid = arg;
    const char *p;

    (void)dc;
    if (!strcasecmp(arg, "clientAuth")) {
        oid = TLS_OID_CLIENT_AUTH;
    }
    else if (!strcasecmp(arg, "any")) {
        oid = "any";
    }
    else {
        for (p = arg; *p && (apr_isdigit(*p) || *p == '.'); ++p)
            ;
        if (*p || !apr_isdigit(*arg)) {
            return cmd_error(cmd, apr_psprintf(cmd->pool, "'%s' is neither "
                             "clientAuth, any, nor a dotted OID", arg));
        }
    }
    cmd_srv_conf(cmd)->key_purpose = oid;
    return NULL;
}

static const char *set_client_ocsp(cmd_parms *cmd, void *dc, const char *arg)
{
    tls_srv_conf_t *sc = cmd_srv_conf(cmd);

    (void)dc;
    if (!strcasecmp(arg, "off")) {
        sc->client_ocsp = TLS_CLIENT_OCSP_OFF;
    }
    else if (!strcasecmp(arg, "leaf")) {
        sc->client_ocsp = TLS_CLIENT_OCSP_LEAF;
    }
    else if (!strcasecmp(arg, "on")) {
        sc->client_ocsp = TLS_CLIENT_OCSP_ON;
    }
    else {
        return cmd_error(cmd, apr_psprintf(cmd->pool, "unknown value '%s' "
                         "(use off, leaf or on)", arg));
    }
    return NULL;
}

/* The URL is checked with the rest of the OCSP settings
 * (tls_client_ocsp.c), with this line named. */
static const char *set_ocsp_responder(cmd_parms *cmd, void *dc,
                                      const char *arg)
{
    tls_srv_conf_t *sc = cmd_srv_conf(cmd);

    (void)dc;
    sc->ocsp_responder = arg;
    conf_pos_set(cmd, &sc->ocsp_responder_pos);
    return NULL;
}

static const char *set_ocsp_override(cmd_parms *cmd, void *dc, int flag)
{
    tls_srv_conf_t *sc = cmd_srv_conf(cmd);

    (void)dc;
    sc->ocsp_override = flag ? 1 : 0;
    conf_pos_set(cmd, &sc->ocsp_override_pos);
    return NULL;
}

static const char *set_ocsp_timeout(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err;
    long secs;

    (void)dc;
    if ((err = parse_number(cmd, arg, 1, 300, "a number of seconds",
                            &secs))) {
        return err;
    }
    cmd_srv_conf(cmd)->ocsp_timeout = apr_time_from_sec(secs);
    return NULL;
}

static const char *set_ocsp_stapling(cmd_parms *cmd, void *dc, int flag)
{
    (void)dc;
    cmd_srv_conf(cmd)->ocsp_stapling = flag ? 1 : 0;
    return NULL;
}

/* The URL is checked with the other stapling settings (tls_stapler.c),
 * with this line named. */
static const char *set_stapling_responder(cmd_parms *cmd, void *dc,
                                          const char *arg)
{
    tls_srv_conf_t *sc = cmd_srv_conf(cmd);

    (void)dc;
    sc->stapling_responder = arg;
    conf_pos_set(cmd, &sc->stapling_responder_pos);
    return NULL;
}

/* The files are read at startup (tls_stapler.c): a response file is
 * replaced while the server runs, and a broken one must not stop it. */
static const char *add_response_file(cmd_parms *cmd, void *dc,
                                     const char *cert_file,
                                     const char *resp_file)
{
    tls_srv_conf_t *sc = cmd_srv_conf(cmd);
    tls_response_file_t *rf = apr_pcalloc(cmd->pool, sizeof(*rf));

    (void)dc;
    rf->cert_file = ap_server_root_relative(cmd->pool, cert_file);
    rf->resp_file = ap_server_root_relative(cmd->pool, resp_file);
    if (!rf->cert_file || !rf->resp_file) {
        return cmd_error(cmd, apr_psprintf(cmd->pool, "invalid path '%s'",
                                           rf->cert_file ? resp_file
                                                         : cert_file));
    }
    conf_pos_set(cmd, &rf->pos);
    if (!sc->response_files) {
        sc->response_files = apr_array_make(cmd->pool, 2,
                                            sizeof(tls_response_file_t *));
    }
    APR_ARRAY_PUSH(sc->response_files, tls_response_file_t *) = rf;
    return NULL;
}

static const char *set_user_name(cmd_parms *cmd, void *dcv, const char *arg)
{
    tls_dir_conf_t *dc = dcv;

    if (strncmp(arg, "SSL_", 4)) {
        return cmd_error(cmd, apr_psprintf(cmd->pool, "'%s' is no SSL_* "
                         "variable", arg));
    }
    dc->user_name = arg;
    return NULL;
}

static const char *set_reneg_buffer(cmd_parms *cmd, void *dcv, const char *arg)
{
    tls_dir_conf_t *dc = dcv;
    const char *err;
    long n;

    if ((err = parse_number(cmd, arg, 0, 1024L * 1024 * 1024,
                            "a number of bytes", &n))) {
        return err;
    }
    /* in the server config and vhosts, the directory default */
    dc->reneg_buffer = n;
    return NULL;
}

static const char *set_session_tickets(cmd_parms *cmd, void *dc, int flag)
{
    (void)dc;
    cmd_srv_conf(cmd)->session_tickets = flag ? 1 : 0;
    return NULL;
}

static const char *set_cache_timeout(cmd_parms *cmd, void *dc,
                                     const char *arg)
{
    const char *err;
    long secs;

    (void)dc;
    if ((err = parse_number(cmd, arg, 1, 7 * 86400, "a number of seconds",
                            &secs))) {
        return err;
    }
    cmd_srv_conf(cmd)->cache_timeout = (int)secs;
    return NULL;
}

/* Checked, with this line named, when the cache is made (tls_cache.c). */
static const char *set_session_cache(cmd_parms *cmd, void *dc,
                                     const char *arg)
{
    tls_global_t *g = cmd_srv_conf(cmd)->global;
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dc;
    if (err) {
        return err;
    }
    g->cache_spec = arg;
    conf_pos_set(cmd, &g->cache_pos);
    return NULL;
}

const char *tls_conf_check_ticket_key(apr_pool_t *p, apr_off_t size,
                                      apr_fileperms_t perms)
{
    if (perms & APR_WREAD) {
        return "it is readable by everyone; the ticket key must be secret "
               "(chmod 600)";
    }
    if (size != TLS_TICKET_KEY_SIZE) {
        return apr_psprintf(p, "it holds %" APR_OFF_T_FMT " bytes, a ticket "
                            "key has %d (make one with tls-ticket-key)",
                            size, TLS_TICKET_KEY_SIZE);
    }
    return NULL;
}

/* TLSSessionTicketKeyFile: 64 secret bytes, read as the line is. */
static const char *set_ticket_key_file(cmd_parms *cmd, void *dc,
                                       const char *arg)
{
    tls_global_t *g = cmd_srv_conf(cmd)->global;
    const char *file = ap_server_root_relative(cmd->pool, arg);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_size_t len = TLS_TICKET_KEY_SIZE;
    apr_finfo_t fi;
    apr_file_t *fd;
    apr_status_t rv;
    char ebuf[128];

    (void)dc;
    if (err) {
        return err;
    }
    if (!file) {
        return cmd_error(cmd, apr_psprintf(cmd->pool, "invalid path '%s'",
                                           arg));
    }
    rv = apr_stat(&fi, file, APR_FINFO_SIZE | APR_FINFO_PROT, cmd->temp_pool);
    if (rv == APR_SUCCESS
        && (err = tls_conf_check_ticket_key(cmd->pool, fi.size,
                                            fi.protection))) {
        return cmd_error(cmd, apr_psprintf(cmd->pool, "'%s': %s", file, err));
    }
    g->ticket_key.data = apr_palloc(cmd->pool, TLS_TICKET_KEY_SIZE);
    g->ticket_key.size = TLS_TICKET_KEY_SIZE;
    if (rv == APR_SUCCESS) {
        rv = apr_file_open(&fd, file, APR_FOPEN_READ | APR_FOPEN_BINARY, 0,
                           cmd->temp_pool);
    }
    if (rv == APR_SUCCESS) {
        rv = apr_file_read_full(fd, g->ticket_key.data, len, &len);
        apr_file_close(fd);
    }
    if (rv != APR_SUCCESS) {
        g->ticket_key.data = NULL;
        g->ticket_key.size = 0;
        return cmd_error(cmd, apr_psprintf(cmd->pool, "cannot read '%s': %s",
                         file, apr_strerror(rv, ebuf, sizeof(ebuf))));
    }
    return NULL;
}

/* mod_ssl semantics: the first absolute word of a section starts its set
 * afresh, +/- words adjust what the parent has. */
const char *tls_conf_parse_options(apr_pool_t *p, const char *spec,
                                   tls_dir_conf_t *dc)
{
    static const struct { const char *name; int bit; } names[] = {
        { "StdEnvVars", TLS_OPT_STD_ENV_VARS },
        { "ExportCertData", TLS_OPT_EXPORT_CERT_DATA },
        { "FakeBasicAuth", TLS_OPT_FAKE_BASIC_AUTH },
    };
    const char *w;
    unsigned i;

    while (*(w = ap_getword_conf(p, &spec))) {
        char action = (*w == '+' || *w == '-') ? *w++ : 0;
        int bit = 0;

        for (i = 0; i < sizeof(names) / sizeof(names[0]); ++i) {
            if (!strcasecmp(w, names[i].name)) {
                bit = names[i].bit;
            }
        }
        if (!bit) {
            return apr_psprintf(p, "unknown option '%s' (known: StdEnvVars, "
                                "ExportCertData, FakeBasicAuth)", w);
        }
        if (action == '+') {
            dc->opts_add |= bit;
            dc->opts_del &= ~bit;
        }
        else if (action == '-') {
            dc->opts_del |= bit;
            dc->opts_add &= ~bit;
        }
        else {
            if (!dc->opts_set) {
                dc->opts = 0;
                dc->opts_add = dc->opts_del = 0;
            }
            dc->opts_set = 1;
            dc->opts |= bit;
            /* a "-name" earlier in the section no longer holds */
            dc->opts_del &= ~bit;
        }
    }
    return NULL;
}

static const char *set_options(cmd_parms *cmd, void *dcv, const char *arg)
{
    return cmd_error(cmd, tls_conf_parse_options(cmd->temp_pool, arg, dcv));
}

/* A priority string (NULL: the default) narrowed to the protocol
 * versions of a TLSProtocol-style set (TLS_UNSET: as it is). */
static const char *priority_string(apr_pool_t *p, const char *prio,
                                   int protocols)
{
    static const struct { int bit; const char *name; } versions[] = {
        { TLS_PROTO_TLS1_3, "+VERS-TLS1.3" },
        { TLS_PROTO_TLS1_2, "+VERS-TLS1.2" },
        { TLS_PROTO_TLS1_1, "+VERS-TLS1.1" },
        { TLS_PROTO_TLS1_0, "+VERS-TLS1.0" },
    };
    unsigned i;

    if (!prio) {
        prio = TLS_DEFAULT_PRIORITIES;
    }
    if (protocols == TLS_UNSET) {
        return prio;
    }
    prio = apr_pstrcat(p, prio, ":-VERS-ALL", NULL);
    for (i = 0; i < sizeof(versions) / sizeof(versions[0]); ++i) {
        if (protocols & versions[i].bit) {
            prio = apr_pstrcat(p, prio, ":", versions[i].name, NULL);
        }
    }
    return prio;
}

const char *tls_conf_priority_string(apr_pool_t *p, const tls_srv_conf_t *sc)
{
    return priority_string(p, sc->priorities, sc->protocols);
}

const char *tls_conf_proxy_priority_string(apr_pool_t *p,
                                           const tls_proxy_conf_t *pc)
{
    return priority_string(p, pc->priorities, pc->protocols);
}

/* ---------------------------------------------------------------- TLSProxy*
 * In the server config and virtual hosts, dcv is the server's
 * lookup_defaults record; in a <Proxy> section, the section's. */

static tls_proxy_conf_t *cmd_proxy_conf(cmd_parms *cmd, void *dcv)
{
    tls_dir_conf_t *dc = dcv;

    if (!dc->proxy) {
        dc->proxy = apr_pcalloc(cmd->pool, sizeof(*dc->proxy));
        dc->proxy->engine = TLS_UNSET;
        dc->proxy->verify = TLS_UNSET;
        dc->proxy->check_name = TLS_UNSET;
        dc->proxy->protocols = TLS_UNSET;
    }
    return dc->proxy;
}

static const char *set_proxy_engine(cmd_parms *cmd, void *dc, int flag)
{
    cmd_proxy_conf(cmd, dc)->engine = flag ? 1 : 0;
    return NULL;
}

static const char *set_proxy_check_name(cmd_parms *cmd, void *dc, int flag)
{
    cmd_proxy_conf(cmd, dc)->check_name = flag ? 1 : 0;
    return NULL;
}

/* TLSProxyCA, TLSProxyCRL (cmd->info): read and checked with the
 * credentials (tls_cred.c). */
static const char *set_proxy_file(cmd_parms *cmd, void *dc, const char *arg)
{
    tls_proxy_conf_t *pc = cmd_proxy_conf(cmd, dc);
    const char *path = ap_server_root_relative(cmd->pool, arg);

    if (!path) {
        return cmd_error(cmd, apr_psprintf(cmd->pool, "invalid path '%s'",
                                           arg));
    }
    if (cmd->info) {
        pc->crl_file = path;
        conf_pos_set(cmd, &pc->crl_pos);
    }
    else {
        pc->ca_file = path;
        conf_pos_set(cmd, &pc->ca_pos);
    }
    return NULL;
}

static const char *set_proxy_verify(cmd_parms *cmd, void *dc, const char *arg)
{
    tls_proxy_conf_t *pc = cmd_proxy_conf(cmd, dc);

    if (!strcasecmp(arg, "require")) {
        pc->verify = TLS_PROXY_VERIFY_REQUIRE;
    }
    else if (!strcasecmp(arg, "none")) {
        pc->verify = TLS_PROXY_VERIFY_NONE;
    }
    else {
        return cmd_error(cmd, apr_psprintf(cmd->pool, "unknown mode '%s' "
                         "(use require or none; mod_ssl's optional and "
                         "optional_no_ca have no equivalent: a backend's "
                         "certificate is verified, or it is not)", arg));
    }
    return NULL;
}

static const char *set_proxy_cert(cmd_parms *cmd, void *dc,
                                  const char *cert_file, const char *key_file)
{
    return make_cert(cmd, cert_file, key_file,
                     &cmd_proxy_conf(cmd, dc)->cert);
}

static const char *set_proxy_priorities(cmd_parms *cmd, void *dc,
                                        const char *arg)
{
    tls_proxy_conf_t *pc = cmd_proxy_conf(cmd, dc);
    const char *err;

    if ((err = check_priorities(cmd->pool, arg))) {
        return cmd_error(cmd, err);
    }
    pc->priorities = arg;
    conf_pos_set(cmd, &pc->priorities_pos);
    return NULL;
}

static const char *set_proxy_protocol(cmd_parms *cmd, void *dc,
                                      const char *arg)
{
    return protocol_directive(cmd, arg, &cmd_proxy_conf(cmd, dc)->protocols);
}

static int has_cert(const apr_array_header_t *certs, const tls_cert_t *c)
{
    int i;

    for (i = 0; i < certs->nelts; ++i) {
        const tls_cert_t *x = APR_ARRAY_IDX(certs, i, tls_cert_t *);

        if (x->cert_pem.size == c->cert_pem.size
            && !memcmp(x->cert_pem.data, c->cert_pem.data, c->cert_pem.size)) {
            return 1;
        }
    }
    return 0;
}

/* The same certificates, in whatever order the lines list them (they are
 * offered by key type anyway). */
static int same_certs(const apr_array_header_t *a,
                      const apr_array_header_t *b)
{
    int i;

    if (a == b) {
        return 1;
    }
    if (!a || !b || a->nelts != b->nelts) {
        return 0;
    }
    for (i = 0; i < a->nelts; ++i) {
        if (!has_cert(b, APR_ARRAY_IDX(a, i, tls_cert_t *))) {
            return 0;
        }
    }
    return 1;
}

int tls_conf_same_tls(const tls_srv_conf_t *a,
                      const tls_srv_conf_t *b)
{
    if (a == b) {
        return 1;
    }
    /* what the credentials serve, so that vhosts with certificates of
     * their own from mod_md differ */
    return a->engine == 1 && b->engine == 1
        && same_certs(a->built->certs, b->built->certs)
        && a->built->fallback == b->built->fallback
        && a->client_mode == b->client_mode
        && a->verify_depth == b->verify_depth
        && !strcmp(a->key_purpose, b->key_purpose)
        && a->client_ocsp == b->client_ocsp
        && a->ocsp_override == b->ocsp_override
        && !apr_strnatcmp(a->ocsp_responder ? a->ocsp_responder : "",
                          b->ocsp_responder ? b->ocsp_responder : "")
        && !apr_strnatcmp(a->client_ca ? a->client_ca : "",
                          b->client_ca ? b->client_ca : "")
        && !apr_strnatcmp(a->client_crl ? a->client_crl : "",
                          b->client_crl ? b->client_crl : "")
        && !strcmp(a->built->prio_string, b->built->prio_string);
}

const command_rec tls_conf_cmds[] = {
    AP_INIT_FLAG("TLSEngine", set_engine, NULL, RSRC_CONF,
                 "on: connections to this server's addresses speak TLS"),
    AP_INIT_FLAG("TLSStrictSNI", set_strict_sni, NULL, RSRC_CONF,
                 "on: refuse handshakes that name no configured host"),
    AP_INIT_TAKE12("TLSCertificate", add_certificate, NULL, RSRC_CONF,
                   "certificate file (leaf first, then chain) and key file; "
                   "key omitted: it is in the certificate file"),
    AP_INIT_TAKE1("TLSPriorities", set_priorities, NULL, RSRC_CONF,
                  "GnuTLS priority string"),
    AP_INIT_RAW_ARGS("TLSProtocol", set_protocol, NULL, RSRC_CONF,
                     "enabled protocol versions, e.g. 'TLSv1.2+' or "
                     "'all -TLSv1.1'"),
    AP_INIT_TAKE1("TLSHandshakeTimeout", set_handshake_timeout, NULL,
                  RSRC_CONF, "seconds a TLS handshake may take (0: no limit)"),
    AP_INIT_TAKE1("TLSClientCertificate", set_client_certificate, NULL,
                  RSRC_CONF | OR_AUTHCFG,
                  "none, optional, require or optional_no_ca"),
    AP_INIT_TAKE1("TLSClientCA", set_client_file, NULL, RSRC_CONF,
                  "PEM file of CA certificates trusted for client certificates"),
    AP_INIT_TAKE1("TLSClientCRL", set_client_file, (void *)"crl", RSRC_CONF,
                  "PEM file of CRLs checked for client certificates"),
    AP_INIT_TAKE1("TLSClientVerifyDepth", set_verify_depth, NULL,
                  RSRC_CONF | OR_AUTHCFG,
                  "how many CA certificates may stand above a client's"),
    AP_INIT_TAKE1("TLSClientKeyPurpose", set_key_purpose, NULL, RSRC_CONF,
                  "extended key usage client certificates need: clientAuth, "
                  "any or an OID"),
    AP_INIT_TAKE1("TLSClientOCSP", set_client_ocsp, NULL, RSRC_CONF,
                  "check client certificates with OCSP: off, leaf (the "
                  "client's) or on (the whole chain)"),
    AP_INIT_TAKE1("TLSClientOCSPDefaultResponder", set_ocsp_responder, NULL,
                  RSRC_CONF, "http:// URL of the OCSP responder for client "
                  "certificates that name none"),
    AP_INIT_FLAG("TLSClientOCSPOverrideResponder", set_ocsp_override, NULL,
                 RSRC_CONF, "on: ask TLSClientOCSPDefaultResponder about "
                 "every client certificate"),
    AP_INIT_TAKE1("TLSClientOCSPTimeout", set_ocsp_timeout, NULL, RSRC_CONF,
                  "seconds the OCSP queries for a client certificate may "
                  "take (default 10)"),
    AP_INIT_FLAG("TLSOCSPStapling", set_ocsp_stapling, NULL, RSRC_CONF,
                 "on: staple OCSP responses for this server's certificates, "
                 "fetched outside handshakes"),
    AP_INIT_TAKE1("TLSOCSPStaplingResponder", set_stapling_responder, NULL,
                  RSRC_CONF, "http:// URL of the OCSP responder to ask for "
                  "stapled responses instead of the certificate's"),
    AP_INIT_TAKE2("TLSOCSPResponseFile", add_response_file, NULL, RSRC_CONF,
                  "certificate file and the file of a DER OCSP response to "
                  "staple for it"),
    AP_INIT_TAKE1("TLSUserName", set_user_name, NULL, RSRC_CONF | OR_AUTHCFG,
                  "SSL_* variable whose value becomes the request's user"),
    AP_INIT_TAKE1("TLSRenegBufferSize", set_reneg_buffer, NULL,
                  RSRC_CONF | OR_AUTHCFG,
                  "bytes of request body kept while a client certificate is "
                  "asked for (default 131072)"),
    AP_INIT_FLAG("TLSSessionTickets", set_session_tickets, NULL, RSRC_CONF,
                 "on: resume sessions by tickets (TLS 1.3 and 1.2)"),
    AP_INIT_TAKE1("TLSSessionTicketKeyFile", set_ticket_key_file, NULL,
                  RSRC_CONF, "file with the 64-byte ticket master key a fleet "
                  "shares"),
    AP_INIT_TAKE1("TLSSessionCache", set_session_cache, NULL, RSRC_CONF,
                  "none, or a socache provider and its argument: "
                  "shmcb:path(bytes), memcache:host:port, redis:host:port, "
                  "dbm:path"),
    AP_INIT_TAKE1("TLSSessionCacheTimeout", set_cache_timeout, NULL,
                  RSRC_CONF, "seconds a session can be resumed"),
    AP_INIT_RAW_ARGS("TLSOptions", set_options, NULL, RSRC_CONF | OR_OPTIONS,
                     "[+-]StdEnvVars, ExportCertData, FakeBasicAuth"),
    AP_INIT_FLAG("TLSProxyEngine", set_proxy_engine, NULL,
                 RSRC_CONF | PROXY_CONF,
                 "on: mod_proxy's https:// and h2:// backends through "
                 "mod_tls"),
    AP_INIT_TAKE1("TLSProxyCA", set_proxy_file, NULL, RSRC_CONF | PROXY_CONF,
                  "PEM file of CA certificates trusted for backends "
                  "(default: the system's trust store)"),
    AP_INIT_TAKE1("TLSProxyCRL", set_proxy_file, (void *)"crl",
                  RSRC_CONF | PROXY_CONF,
                  "PEM file of CRLs checked for backend certificates"),
    AP_INIT_TAKE1("TLSProxyVerify", set_proxy_verify, NULL,
                  RSRC_CONF | PROXY_CONF,
                  "require (default) or none: verify backend certificates"),
    AP_INIT_FLAG("TLSProxyCheckPeerName", set_proxy_check_name, NULL,
                 RSRC_CONF | PROXY_CONF,
                 "on (default): a backend's certificate must be valid for "
                 "its host name or IP address"),
    AP_INIT_TAKE12("TLSProxyMachineCertificate", set_proxy_cert, NULL,
                   RSRC_CONF | PROXY_CONF,
                   "client certificate file (leaf first, then chain) and "
                   "key file presented to backends that ask"),
    AP_INIT_TAKE1("TLSProxyPriorities", set_proxy_priorities, NULL,
                  RSRC_CONF | PROXY_CONF,
                  "GnuTLS priority string for backend connections"),
    AP_INIT_RAW_ARGS("TLSProxyProtocol", set_proxy_protocol, NULL,
                     RSRC_CONF | PROXY_CONF,
                     "protocol versions for backend connections, e.g. "
                     "'TLSv1.2+' or 'all -TLSv1.1'"),
    { NULL }
};
