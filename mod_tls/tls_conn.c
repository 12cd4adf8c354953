/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * A TLS connection's life: the GnuTLS session made at pre-connection, the
 * handshake run before any protocol module reads, and the answer to a client
 * that spoke plain HTTP to a TLS port. */
#include <httpd.h>
#include <apr_strings.h>
#include <http_connection.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>

#include "tls_conn.h"
#include "tls_verify.h"
#include "tls_cache.h"
#include "tls_stats.h"

APLOG_USE_MODULE(tls);

tls_conn_t *tls_conn_get(conn_rec *c)
{
    tls_conn_t *tc;

    if (!c) {
        return NULL;
    }
    tc = ap_get_module_config(c->conn_config, &tls_module);
    if (!tc && c->master) {
        tc = ap_get_module_config(c->master->conn_config, &tls_module);
    }
    return tc;
}

static apr_status_t session_free(void *data)
{
    gnutls_deinit(data);
    return APR_SUCCESS;
}

static apr_status_t conn_create(conn_rec *c, tls_srv_conf_t *sc,
                                tls_conn_t **ptc)
{
    tls_conn_t *tc = apr_pcalloc(c->pool, sizeof(*tc));
    apr_interval_time_t timeout = tls_conf_handshake_timeout(sc);
    int rv;

    tc->c = c;
    tc->s = c->base_server;
    tc->sc = sc;
    tc->state = TLS_CONN_NEW;
    tc->fail_alert = -1;
    /* post-handshake authentication serves TLS 1.3 per-directory
     * client certificates, where the client offers it */
    rv = gnutls_init(&tc->session, GNUTLS_SERVER | GNUTLS_POST_HANDSHAKE_AUTH
                                   | GNUTLS_NO_AUTO_SEND_TICKET
                                   | (tls_conf_perdir_client_auth()
                                      ? GNUTLS_NO_TICKETS_TLS12 : 0));
    if (rv < 0) {
        ap_log_cerror(APLOG_MARK, APLOG_ERR, 0, c,
                      "cannot create TLS session: %s", gnutls_strerror(rv));
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(c->pool, tc->session, session_free,
                              apr_pool_cleanup_null);
    if ((rv = gnutls_priority_set(tc->session, sc->prio)) < 0
        || (rv = gnutls_credentials_set(tc->session, GNUTLS_CRD_CERTIFICATE,
                                        sc->creds)) < 0) {
        ap_log_cerror(APLOG_MARK, APLOG_ERR, 0, c,
                      "cannot set up TLS session: %s", gnutls_strerror(rv));
        return APR_EGENERAL;
    }
    tls_verify_ask(tc, tls_conf_client_mode(sc), tls_conf_verify_depth(sc));
    gnutls_handshake_set_timeout(tc->session,
                                 (unsigned)apr_time_as_msec(timeout));
    gnutls_session_set_ptr(tc->session, tc);
    tls_io_bind(tc);
    tls_sni_bind(tc);
    *ptc = tc;
    return APR_SUCCESS;
}

apr_status_t tls_conn_use_server(tls_conn_t *tc, server_rec *s)
{
    tls_srv_conf_t *sc = tls_conf_srv_get(s);
    int rv;

    if ((rv = gnutls_priority_set(tc->session, sc->prio)) < 0
        || (rv = gnutls_credentials_set(tc->session, GNUTLS_CRD_CERTIFICATE,
                                        sc->creds)) < 0) {
        ap_log_cerror(APLOG_MARK, APLOG_ERR, 0, tc->c,
                      "cannot switch TLS settings to %s: %s",
                      s->server_hostname, gnutls_strerror(rv));
        return APR_EGENERAL;
    }
    tc->s = s;
    tc->sc = sc;
    tls_verify_ask(tc, tls_conf_client_mode(sc), tls_conf_verify_depth(sc));
    /* requests without Host, and this connection's log lines, belong to
     * the vhost the client asked for */
    tc->c->base_server = s;
    return APR_SUCCESS;
}

static int tls_hook_pre_connection(conn_rec *c, void *csd)
{
    tls_srv_conf_t *sc;
    tls_conn_t *tc;

    (void)csd;
    /* HTTP/2 streams ride on their connection's TLS; outgoing (proxy)
     * connections are bound through ssl_bind_outgoing */
    if (c->master || c->outgoing) {
        return DECLINED;
    }
    sc = tls_conf_srv_get(c->base_server);
    if (!sc || sc->engine != 1) {
        return DECLINED;
    }
    if (conn_create(c, sc, &tc) != APR_SUCCESS) {
        c->aborted = 1;
        return DONE;
    }
    ap_set_module_config(c->conn_config, &tls_module, tc);
    /* We hold decrypted data the MPM cannot see; like mod_ssl, keep-alive
     * waits in the worker (a blocking read), which also saves a trip
     * through the event MPM's pollset per request. */
    c->clogging_input_filters = 1;
    return OK;
}

/* A TLS record starts with a content type byte (22 for a handshake); a
 * plain HTTP request starts with an upper-case method name. */
static int looks_like_plain_http(tls_conn_t *tc)
{
    apr_bucket *b = APR_BRIGADE_FIRST(tc->raw_in);
    const char *data;
    apr_size_t len;

    if (b == APR_BRIGADE_SENTINEL(tc->raw_in)
        || apr_bucket_read(b, &data, &len, APR_BLOCK_READ) != APR_SUCCESS
        || len == 0) {
        return 0;
    }
    return data[0] >= 'A' && data[0] <= 'Z';
}

static apr_status_t handshake_failed(tls_conn_t *tc, int err, int timed_out,
                                     apr_interval_time_t timeout)
{
    conn_rec *c = tc->c;

    if ((err == GNUTLS_E_NO_CERTIFICATE_FOUND
         || err == GNUTLS_E_CERTIFICATE_REQUIRED) && !tc->fail_reason) {
        tc->fail_reason = "the client sent no certificate, and "
                          "TLSClientCertificate is require";
        tc->fail_alert =
            gnutls_protocol_get_version(tc->session) == GNUTLS_TLS1_3
            ? GNUTLS_A_CERTIFICATE_REQUIRED : GNUTLS_A_HANDSHAKE_FAILURE;
    }
    if (timed_out) {
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c,
                      "TLS handshake timed out after %" APR_TIME_T_FMT
                      " seconds (TLSHandshakeTimeout), closing the "
                      "connection", apr_time_sec(timeout));
    }
    else if (tc->net_eof && APR_BRIGADE_EMPTY(tc->raw_in)
             && err == GNUTLS_E_PREMATURE_TERMINATION) {
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c,
                      "TLS handshake failed: the client closed the "
                      "connection during the handshake");
    }
    else if (err == GNUTLS_E_FATAL_ALERT_RECEIVED) {
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c,
                      "TLS handshake failed: the client sent the alert '%s'",
                      gnutls_alert_get_name(gnutls_alert_get(tc->session)));
    }
    else {
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c,
                      "TLS handshake failed: %s (%d), closing the connection",
                      tc->fail_reason ? tc->fail_reason : gnutls_strerror(err),
                      err);
        if (tc->fail_alert >= 0) {
            gnutls_alert_send(tc->session, GNUTLS_AL_FATAL, tc->fail_alert);
        }
        else if (err != GNUTLS_E_PULL_ERROR && err != GNUTLS_E_PUSH_ERROR) {
            gnutls_alert_send_appropriate(tc->session, err);
        }
    }
    tls_io_send_out(tc, 1);
    tls_stats_count(TLS_STAT_FAILED);
    tc->state = TLS_CONN_FAILED;
    c->keepalive = AP_CONN_CLOSE;
    c->aborted = 1;
    return APR_ECONNABORTED;
}

/* A resumed session skips certificate verification in the handshake;
 * judge the certificate it carries by this vhost's rules now. */
static int resumed_client_ok(tls_conn_t *tc)
{
    if (!gnutls_session_is_resumed(tc->session)
        || tc->verify_mode == TLS_CLIENT_NONE) {
        return 1;
    }
    if (tls_verify_peer(tc->session) != 0) {
        return 0;
    }
    if (tc->verify_mode == TLS_CLIENT_REQUIRE && !tc->client_crt) {
        tc->fail_reason = "the resumed session carries no client "
                          "certificate, and TLSClientCertificate is require";
        return 0;
    }
    return 1;
}

static apr_status_t handshake_done(tls_conn_t *tc)
{
    apr_status_t rv;

    if (!resumed_client_ok(tc)) {
        return handshake_failed(tc, GNUTLS_E_CERTIFICATE_ERROR, 0, 0);
    }
    tc->state = TLS_CONN_OPEN;
    if (!tc->verify) {
        tc->verify = "NONE";
    }
    tls_stats_count(gnutls_session_is_resumed(tc->session)
                    ? TLS_STAT_RESUMED : TLS_STAT_HANDSHAKES);
    tls_stats_connection(tc->c->pool);
    tls_cache_handshake_done(tc);
    ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, tc->c,
                  "TLS handshake done: %s, %s, SNI %s",
                  gnutls_protocol_get_name(gnutls_protocol_get_version(
                      tc->session)),
                  gnutls_ciphersuite_get(tc->session),
                  tc->sni ? tc->sni : "(none)");
    if ((rv = tls_alpn_switch(tc)) != APR_SUCCESS) {
        ap_log_cerror(APLOG_MARK, APLOG_ERR, rv, tc->c,
                      "switching to the protocol negotiated by ALPN failed");
        tc->state = TLS_CONN_FAILED;
        tc->c->aborted = 1;
        return APR_ECONNABORTED;
    }
    return APR_SUCCESS;
}

/* Runs the handshake to its end, blocking, within TLSHandshakeTimeout:
 * GnuTLS keeps the deadline across its reads, and the socket timeout stops
 * any single read from outliving it. */
static int run_handshake(tls_conn_t *tc, apr_interval_time_t timeout,
                         int *timed_out)
{
    apr_time_t deadline = apr_time_now() + timeout;
    int ret, spins = 0;

    tc->block = APR_BLOCK_READ;
    do {
        ret = gnutls_handshake(tc->session);
        if (ret == GNUTLS_E_TIMEDOUT
            || APR_STATUS_IS_TIMEUP(tc->net_status)
            || (timeout > 0 && apr_time_now() > deadline)) {
            *timed_out = (ret < 0);
            break;
        }
    } while (ret < 0 && ++spins < 10000
             && (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED
                 || ret == GNUTLS_E_WARNING_ALERT_RECEIVED));
    return ret;
}

apr_status_t tls_conn_handshake(tls_conn_t *tc)
{
    apr_interval_time_t timeout = tls_conf_handshake_timeout(tc->sc);
    apr_socket_t *sock = ap_get_conn_socket(tc->c);
    apr_interval_time_t saved = 0;
    apr_status_t rv;
    int ret = GNUTLS_E_PREMATURE_TERMINATION, timed_out = 0;

    if (tc->state != TLS_CONN_NEW) {
        return tc->state == TLS_CONN_FAILED ? APR_ECONNABORTED : APR_SUCCESS;
    }
    if (sock && timeout > 0) {
        apr_socket_timeout_get(sock, &saved);
        apr_socket_timeout_set(sock, timeout);
    }
    rv = tls_io_read_raw(tc, APR_BLOCK_READ, AP_IOBUFSIZE);
    if (rv == APR_SUCCESS && looks_like_plain_http(tc)) {
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, tc->c,
                      "plain HTTP request on a TLS port, answering 400");
        tc->state = TLS_CONN_PLAIN;
    }
    else if (APR_STATUS_IS_TIMEUP(rv)) {
        timed_out = 1;
    }
    else if (rv == APR_SUCCESS) {
        ret = run_handshake(tc, timeout, &timed_out);
    }
    if (sock && timeout > 0) {
        apr_socket_timeout_set(sock, saved);
    }
    if (tc->state == TLS_CONN_PLAIN) {
        return APR_SUCCESS;
    }
    if (ret < 0 || timed_out) {
        if (APR_STATUS_IS_EOF(rv)) {
            /* connected and closed: probes and health checks do this */
            ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, tc->c,
                          "client closed the connection before the TLS "
                          "handshake");
            tc->state = TLS_CONN_FAILED;
            tc->c->aborted = 1;
            return APR_ECONNABORTED;
        }
        return handshake_failed(tc, ret, timed_out, timeout);
    }
    return handshake_done(tc);
}

static int tls_hook_process_connection(conn_rec *c)
{
    tls_conn_t *tc = ap_get_module_config(c->conn_config, &tls_module);

    if (tc && tc->state == TLS_CONN_NEW
        && tls_conn_handshake(tc) != APR_SUCCESS) {
        return DONE;
    }
    return DECLINED;
}

static int tls_hook_post_read_request(request_rec *r)
{
    tls_conn_t *tc = tls_conn_get(r->connection);

    if (!tc) {
        return DECLINED;
    }
    if (tc->state == TLS_CONN_OPEN) {
        return tls_sni_check_request(r, tc);
    }
    if (tc->state == TLS_CONN_PLAIN) {
        apr_table_setn(r->notes, "error-notes",
                       "You are speaking plain HTTP to a TLS-enabled server "
                       "port.<br />\nUse the https:// scheme to access this "
                       "URL, please.<br />\n");
        r->connection->keepalive = AP_CONN_CLOSE;
        return HTTP_BAD_REQUEST;
    }
    return DECLINED;
}

/* Self-referencing URLs (redirects, REQUEST_SCHEME) say https. */
static const char *tls_hook_http_scheme(const request_rec *r)
{
    tls_conn_t *tc = tls_conn_get(r->connection);

    return (tc && tc->state == TLS_CONN_OPEN) ? "https" : NULL;
}

static apr_port_t tls_hook_default_port(const request_rec *r)
{
    tls_conn_t *tc = tls_conn_get(r->connection);

    return (tc && tc->state == TLS_CONN_OPEN) ? 443 : 0;
}

void tls_conn_register_hooks(apr_pool_t *p)
{
    /* the handshake must be over before mod_http2 or HTTP/1 reads */
    static const char *const before[] = { "mod_http2.c", "http_core.c", NULL };

    (void)p;
    ap_hook_pre_connection(tls_hook_pre_connection, NULL, NULL,
                           APR_HOOK_MIDDLE);
    ap_hook_process_connection(tls_hook_process_connection, NULL, before,
                               APR_HOOK_FIRST);
    ap_hook_post_read_request(tls_hook_post_read_request, NULL, NULL,
                              APR_HOOK_FIRST);
    ap_hook_http_scheme(tls_hook_http_scheme, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_default_port(tls_hook_default_port, NULL, NULL, APR_HOOK_MIDDLE);
}
