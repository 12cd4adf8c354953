/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * A TLS connection's life, from one place: the GnuTLS session made at
 * pre-connection, the handshake driven forward by process_connection (on
 * the event MPM without holding a worker while the client is silent), the
 * answer to a client that spoke plain HTTP to a TLS port, and asking an
 * open connection for a client certificate. Backend connections of
 * mod_proxy take the same path as the client side: bound by
 * ssl_bind_outgoing, their session made at pre-connection, their
 * handshake run by the filters' first I/O (mod_proxy never calls
 * process_connection for them). progress() is the only code that moves a
 * connection from one state to the next. */
#include <httpd.h>
#include <apr_strings.h>
#include <http_config.h>
#include <http_connection.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_ssl.h>

#include "tls_alpn.h"
#include "tls_cache.h"
#include "tls_cred.h"
#include "tls_deadline.h"
#include "tls_handshake.h"
#include "tls_proxy.h"
#include "tls_md.h"
#include "tls_sni.h"
#include "tls_stats.h"
#include "tls_verify.h"

APLOG_USE_MODULE(tls);

/* The content type of a TLS record that carries a handshake message. */
#define TLS_RECORD_HANDSHAKE 22

static void conn_enter(tls_conn_t *tc, tls_conn_state_t state)
{
    /* states only follow each other; FAILED ends any handshake */
    AP_DEBUG_ASSERT(state > tc->state);
    tc->state = state;
    switch (state) {
    case TLS_CONN_OPEN:
        tls_filter_set_wait(tc->filter, APR_BLOCK_READ, 0);
        tls_filter_set_mode(tc->filter, TLS_FILTER_TLS);
        break;
    case TLS_CONN_PLAIN:
        tls_filter_set_wait(tc->filter, APR_BLOCK_READ, 0);
        tls_filter_set_mode(tc->filter, TLS_FILTER_PLAIN);
        break;
    case TLS_CONN_FAILED:
        tls_filter_set_mode(tc->filter, TLS_FILTER_DEAD);
        break;
    default:
        return;
    }
    /* the handshake is over, one way or the other */
    tls_deadline_cancel(tc->watch);
    tc->watch = NULL;
}

static int past_deadline(const tls_conn_t *tc)
{
    return tc->deadline && apr_time_now() >= tc->deadline;
}

/* The ClientHello, before GnuTLS reads it: the vhost it names decides
 * priorities, certificates, client authentication, resumption and ALPN. */
static int on_client_hello(tls_conn_t *tc, const gnutls_datum_t *msg)
{
    gnutls_certificate_credentials_t creds;
    tls_hello_t hello;
    int rv;

    if ((rv = tls_sni_on_hello(tc, msg, &hello)) != 0) {
        return rv;
    }
    creds = tls_cred_for_hello(tc->sc->built, &hello);
    if (creds != tc->sc->built->creds) {
        gnutls_credentials_set(tc->session, GNUTLS_CRD_CERTIFICATE, creds);
    }
    tls_verify_ask(tc, tc->sc->client_mode, tc->sc->verify_depth);
    tls_cache_bind(tc);
    if ((rv = tls_alpn_select(tc)) != 0
        || (rv = tls_md_on_hello(tc)) != 0) {
        return rv;
    }
    conn_enter(tc, TLS_CONN_HELLO_DONE);
    return 0;
}

/* GnuTLS keeps one hook per session: every handshake message comes here. */
static int on_handshake_msg(gnutls_session_t session, unsigned htype,
                            unsigned when, unsigned incoming,
                            const gnutls_datum_t *msg)
{
    tls_conn_t *tc = gnutls_session_get_ptr(session);

    if (!incoming) {
        return 0;
    }
    if (htype == GNUTLS_HANDSHAKE_NEW_SESSION_TICKET && tc->outgoing
        && when == GNUTLS_HOOK_POST && tc->state == TLS_CONN_OPEN) {
        /* TLS 1.3: the backend's session is resumable from now on */
        tls_cache_backend_keep(tc);
    }
    if (htype == GNUTLS_HANDSHAKE_CLIENT_HELLO && when == GNUTLS_HOOK_PRE
        && tc->state == TLS_CONN_HANDSHAKE && !tc->outgoing) {
        /* not a second hello (HelloRetryRequest, renegotiation): the
         * first one chose the vhost */
        return on_client_hello(tc, msg);
    }
    return 0;
}

/* Why a backend's handshake failed; *rv: APR_TIMEUP when it took too
 * long (mod_proxy answers 504 to that, 502 to the rest). */
static const char *backend_fault(tls_conn_t *tc, int err, apr_status_t *rv,
                                 int *alert)
{
    apr_pool_t *p = tc->c->pool;
    apr_status_t net = tls_filter_net_status(tc->filter);

    *rv = APR_ECONNABORTED;
    *alert = 0;
    if (tls_filter_timed_out(tc->filter) || past_deadline(tc)
        || APR_STATUS_IS_TIMEUP(net)) {
        *rv = APR_TIMEUP;
        return tc->deadline
            ? apr_psprintf(p, "no answer within %" APR_TIME_T_FMT " seconds "
                           "(the proxy's timeout)",
                           apr_time_sec(tc->deadline - tc->started))
            : "timed out (the proxy's timeout)";
    }
    /* (a close in the middle of a record makes it one cut short) */
    if (tls_filter_saw_eof(tc->filter)
        && (err == GNUTLS_E_PREMATURE_TERMINATION
            || err == GNUTLS_E_UNEXPECTED_PACKET_LENGTH)) {
        return "the backend closed the connection during the handshake";
    }
    if (net != APR_SUCCESS
        && (err == GNUTLS_E_PULL_ERROR || err == GNUTLS_E_PUSH_ERROR)) {
        return apr_psprintf(p, "network error: %pm", &net);
    }
    if (err == GNUTLS_E_FATAL_ALERT_RECEIVED) {
        return tls_filter_alert_text(tc->filter);
    }
    *alert = 1;
    if (tc->fail_reason) {
        return tc->fail_reason;
    }
    return apr_psprintf(p, "%s (%d)%s", gnutls_strerror(err), err,
                        err == GNUTLS_E_UNEXPECTED_PACKET
                        || err == GNUTLS_E_UNEXPECTED_PACKET_LENGTH
                        || err == GNUTLS_E_UNSUPPORTED_VERSION_PACKET
                        ? "; does the backend speak TLS on that port?" : "");
}

/* A backend handshake failed: one line at error level that names the
 * backend and the reason, since it is the admin's to fix and the client
 * only sees mod_proxy's 502. Aborting the connection is what makes it 502
 * (mod_proxy answers 500 when mod_ssl's "SSL_connect_rv" note says err). */
static apr_status_t backend_failed(tls_conn_t *tc, int err)
{
    conn_rec *c = tc->c;
    apr_status_t rv;
    int alert;
    const char *why = backend_fault(tc, err, &rv, &alert);

    ap_log_cerror(APLOG_MARK, APLOG_ERR, 0, c,
                  "TLS handshake with backend %s failed: %s", tc->backend,
                  why);
    if (alert) {
        if (tc->fail_alert >= 0) {
            gnutls_alert_send(tc->session, GNUTLS_AL_FATAL, tc->fail_alert);
        }
        else if (err != GNUTLS_E_PULL_ERROR && err != GNUTLS_E_PUSH_ERROR) {
            gnutls_alert_send_appropriate(tc->session, err);
        }
        tls_filter_send(tc->filter, 1);
    }
    tls_stats_count(TLS_STAT_PROXY_FAILED);
    conn_enter(tc, TLS_CONN_FAILED);
    c->keepalive = AP_CONN_CLOSE;
    c->aborted = 1;
    return rv;
}

static apr_status_t handshake_failed(tls_conn_t *tc, int err)
{
    conn_rec *c = tc->c;
    apr_status_t net = tls_filter_net_status(tc->filter);

    if (tc->outgoing) {
        return backend_failed(tc, err);
    }

    if ((err == GNUTLS_E_NO_CERTIFICATE_FOUND
         || err == GNUTLS_E_CERTIFICATE_REQUIRED) && !tc->fail_reason) {
        tc->fail_reason = "the client sent no certificate, and "
                          "TLSClientCertificate is require";
        tc->fail_alert =
            gnutls_protocol_get_version(tc->session) == GNUTLS_TLS1_3
            ? GNUTLS_A_CERTIFICATE_REQUIRED : GNUTLS_A_HANDSHAKE_FAILURE;
    }
    if (tls_filter_timed_out(tc->filter) || past_deadline(tc)) {
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c,
                      "TLS handshake timed out after %" APR_TIME_T_FMT
                      " seconds (TLSHandshakeTimeout), closing the "
                      "connection", apr_time_sec(tc->deadline - tc->started));
    }
    else if (APR_STATUS_IS_TIMEUP(net)) {
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c,
                      "TLS handshake timed out waiting for the client "
                      "(Timeout, or mod_reqtimeout's handshake stage), "
                      "closing the connection");
    }
    else if (tls_filter_saw_eof(tc->filter)
             && err == GNUTLS_E_PREMATURE_TERMINATION) {
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c,
                      "TLS handshake failed: the client closed the "
                      "connection during the handshake");
    }
    else if (err == GNUTLS_E_FATAL_ALERT_RECEIVED) {
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c, "TLS handshake failed: %s",
                      tls_filter_alert_text(tc->filter));
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
        tls_filter_send(tc->filter, 1);
    }
    tls_stats_count(TLS_STAT_FAILED);
    conn_enter(tc, TLS_CONN_FAILED);
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
    if (tc->verify_mode == TLS_CLIENT_REQUIRE
        && !tls_verify_accepts(tc, TLS_CLIENT_REQUIRE)) {
        tc->fail_reason = "the resumed session carries no client "
                          "certificate, and TLSClientCertificate is require";
        return 0;
    }
    return 1;
}

/* A backend's handshake is done: it must have agreed to what mod_proxy
 * needs (h2), and its session is kept for the next connection. */
static apr_status_t backend_done(tls_conn_t *tc)
{
    int resumed = gnutls_session_is_resumed(tc->session);
    const char *why;

    if ((why = tls_proxy_check(tc))) {
        tc->fail_reason = why;
        tc->fail_alert = GNUTLS_A_NO_APPLICATION_PROTOCOL;
        return backend_failed(tc, GNUTLS_E_NO_APPLICATION_PROTOCOL);
    }
    conn_enter(tc, TLS_CONN_OPEN);
    tls_stats_count(resumed ? TLS_STAT_PROXY_RESUMED
                            : TLS_STAT_PROXY_HANDSHAKES);
    /* TLS 1.3 sessions become resumable with a ticket, later */
    if (!resumed && gnutls_protocol_get_version(tc->session) != GNUTLS_TLS1_3) {
        tls_cache_backend_keep(tc);
    }
    ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, tc->c,
                  "TLS handshake with backend %s done: %s, %s, %s, SNI %s, "
                  "ALPN %s", tc->backend,
                  gnutls_protocol_get_name(gnutls_protocol_get_version(
                      tc->session)),
                  gnutls_ciphersuite_get(tc->session),
                  resumed ? "resumed" : "full handshake",
                  tc->sni ? tc->sni : "(none)", *tls_proxy_alpn(tc)
                  ? tls_proxy_alpn(tc) : "(none)");
    return APR_SUCCESS;
}

static apr_status_t handshake_done(tls_conn_t *tc)
{
    apr_status_t rv;

    if (tc->outgoing) {
        return backend_done(tc);
    }
    if (!resumed_client_ok(tc)) {
        return handshake_failed(tc, GNUTLS_E_CERTIFICATE_ERROR);
    }
    conn_enter(tc, TLS_CONN_OPEN);
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
        tls_filter_set_mode(tc->filter, TLS_FILTER_DEAD);
        tc->c->aborted = 1;
        return APR_ECONNABORTED;
    }
    return APR_SUCCESS;
}

/* A client's first TLS record carries its ClientHello; a plain HTTP
 * request starts with an upper-case method name. */
static apr_status_t read_first_byte(tls_conn_t *tc)
{
    apr_status_t rv;
    char byte;

    rv = tls_filter_first_byte(tc->filter, &byte);
    if (APR_STATUS_IS_EAGAIN(rv) && !past_deadline(tc)) {
        return rv;
    }
    if (APR_STATUS_IS_EOF(rv) && !past_deadline(tc)) {
        /* connected and closed: probes and health checks do this */
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, tc->c,
                      "client closed the connection before the TLS "
                      "handshake");
        conn_enter(tc, TLS_CONN_FAILED);
        tc->c->aborted = 1;
        return APR_ECONNABORTED;
    }
    if (rv != APR_SUCCESS) {
        return handshake_failed(tc, GNUTLS_E_PULL_ERROR);
    }
    if (byte >= 'A' && byte <= 'Z') {
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, tc->c,
                      "plain HTTP request on a TLS port, answering 400");
        conn_enter(tc, TLS_CONN_PLAIN);
        return APR_SUCCESS;
    }
    if (byte != TLS_RECORD_HANDSHAKE) {
        /* nothing that follows can make this a handshake: no need to
         * wait for more, or for the deadline */
        tc->fail_reason = apr_psprintf(tc->c->pool, "the client's first "
                                       "byte (0x%02x) starts neither a TLS "
                                       "handshake nor an HTTP request",
                                       (unsigned char)byte);
        tc->fail_alert = GNUTLS_A_UNEXPECTED_MESSAGE;
        return handshake_failed(tc, GNUTLS_E_UNEXPECTED_PACKET);
    }
    conn_enter(tc, TLS_CONN_HANDSHAKE);
    return APR_SUCCESS;
}

/* A backend connection's first I/O: our hello goes out, with what
 * mod_proxy asks for (tls_proxy.c) and the session this process last had
 * with that backend. The whole handshake is bounded by the socket's
 * timeout, which mod_proxy set from the worker's timeout=, ProxyTimeout
 * or Timeout: a backend that trickles its bytes cannot stretch it. */
static apr_status_t start_outgoing(tls_conn_t *tc)
{
    apr_socket_t *sock = ap_get_conn_socket(tc->c);
    apr_interval_time_t timeout = 0;

    tc->started = apr_time_now();
    if (sock) {
        apr_socket_timeout_get(sock, &timeout);
    }
    tc->deadline = timeout > 0 ? tc->started + timeout : 0;
    tc->fail_reason = tls_proxy_setup(tc);
    tls_filter_set_label(tc->filter, apr_pstrcat(tc->c->pool, "backend ",
                                                 tc->backend, NULL));
    if (tc->fail_reason) {
        return handshake_failed(tc, GNUTLS_E_INTERNAL_ERROR);
    }
    tls_cache_backend_resume(tc);
    conn_enter(tc, TLS_CONN_HANDSHAKE);
    return APR_SUCCESS;
}

/* Runs GnuTLS's handshake as far as the client's bytes allow. */
static apr_status_t run_handshake(tls_conn_t *tc)
{
    int ret, spins = 0;

    for (;;) {
        ret = gnutls_handshake(tc->session);
        if (ret >= 0) {
            return handshake_done(tc);
        }
        if (ret == GNUTLS_E_AGAIN && tls_filter_would_block(tc->filter)
            && !past_deadline(tc)) {
            return APR_EAGAIN;
        }
        if ((ret != GNUTLS_E_AGAIN && ret != GNUTLS_E_INTERRUPTED
             && ret != GNUTLS_E_WARNING_ALERT_RECEIVED)
            || ++spins >= 10000 || past_deadline(tc)) {
            return handshake_failed(tc, ret);
        }
    }
}

/* Moves the connection as far as it can go: APR_SUCCESS once it is open
 * (or speaks plain HTTP), APR_EAGAIN when a non-blocking read found the
 * client's bytes not there yet, else the connection has failed
 * (APR_TIMEUP for a backend that took too long, else APR_ECONNABORTED). */
static apr_status_t progress(tls_conn_t *tc, apr_read_type_e block)
{
    apr_status_t rv = APR_SUCCESS;

    if (tc->state == TLS_CONN_NEW && tc->outgoing) {
        rv = start_outgoing(tc);
    }
    tls_filter_set_wait(tc->filter, block, tc->deadline);
    if (rv == APR_SUCCESS && tc->state == TLS_CONN_NEW) {
        rv = read_first_byte(tc);
    }
    if (rv == APR_SUCCESS && (tc->state == TLS_CONN_HANDSHAKE
                              || tc->state == TLS_CONN_HELLO_DONE)) {
        rv = run_handshake(tc);
    }
    if (APR_STATUS_IS_EAGAIN(rv)) {
        return rv;
    }
    if ((tc->state == TLS_CONN_OPEN || tc->state == TLS_CONN_PLAIN)
        && !tc->c->aborted) {
        return APR_SUCCESS;
    }
    return rv != APR_SUCCESS ? rv : APR_ECONNABORTED;
}

/* A filter found the connection unopened: finish it in this worker. */
static apr_status_t open_blocking(void *baton)
{
    return progress(baton, APR_BLOCK_READ);
}

static apr_status_t session_free(void *data)
{
    gnutls_deinit(data);
    return APR_SUCCESS;
}

/* The GnuTLS session of a connection, with the settings built for its
 * server (or, outgoing, its TLSProxy* scope), and its filters. */
static apr_status_t session_create(tls_conn_t *tc, unsigned flags,
                                   const tls_built_t *built)
{
    conn_rec *c = tc->c;
    int rv;

    if ((rv = gnutls_init(&tc->session, flags)) < 0) {
        ap_log_cerror(APLOG_MARK, APLOG_ERR, 0, c,
                      "cannot create TLS session: %s", gnutls_strerror(rv));
        tc->session = NULL;
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(c->pool, tc->session, session_free,
                              apr_pool_cleanup_null);
    if ((rv = gnutls_priority_set(tc->session, built->prio)) < 0
        || (rv = gnutls_credentials_set(tc->session, GNUTLS_CRD_CERTIFICATE,
                                        built->creds)) < 0) {
        ap_log_cerror(APLOG_MARK, APLOG_ERR, 0, c,
                      "cannot set up TLS session: %s", gnutls_strerror(rv));
        return APR_EGENERAL;
    }
    gnutls_session_set_ptr(tc->session, tc);
    gnutls_handshake_set_hook_function(tc->session, GNUTLS_HANDSHAKE_ANY,
                                       GNUTLS_HOOK_BOTH, on_handshake_msg);
    tc->filter = tls_filter_attach(c, tc->session, open_blocking, tc);
    return APR_SUCCESS;
}

static apr_status_t conn_create(conn_rec *c, tls_srv_conf_t *sc,
                                tls_conn_t **ptc)
{
    tls_conn_t *tc = apr_pcalloc(c->pool, sizeof(*tc));
    apr_interval_time_t timeout = sc->handshake_timeout;
    apr_status_t rv;

    tc->c = c;
    tc->s = c->base_server;
    tc->sc = sc;
    tc->state = TLS_CONN_NEW;
    tc->fail_alert = -1;
    /* with the default AcceptFilter, accept() comes with the client's
     * first bytes: the clock starts there */
    tc->started = apr_time_now();
    tc->deadline = timeout > 0 ? tc->started + timeout : 0;
    /* post-handshake authentication serves TLS 1.3 per-directory
     * client certificates, where the client offers it */
    rv = session_create(tc, GNUTLS_SERVER | GNUTLS_POST_HANDSHAKE_AUTH
                            | GNUTLS_NO_AUTO_SEND_TICKET
                            | (sc->perdir_client_auth
                               ? GNUTLS_NO_TICKETS_TLS12 : 0), sc->built);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    tls_verify_ask(tc, sc->client_mode, sc->verify_depth);
    *ptc = tc;
    return APR_SUCCESS;
}

/* A backend connection bound by ssl_bind_outgoing: the client side. No
 * post-handshake authentication: a backend asks for our certificate in
 * the handshake. */
static int outgoing_pre_connection(conn_rec *c)
{
    tls_conn_t *tc = ap_get_module_config(c->conn_config, &tls_module);

    if (!tc || tc->session) {
        return DECLINED;
    }
    if (session_create(tc, GNUTLS_CLIENT, tc->proxy->built) != APR_SUCCESS) {
        /* nothing may reach the backend in clear */
        ap_set_module_config(c->conn_config, &tls_module, NULL);
        c->aborted = 1;
        return DONE;
    }
    return OK;
}

static int tls_hook_pre_connection(conn_rec *c, void *csd)
{
    tls_srv_conf_t *sc;
    tls_conn_t *tc;

    (void)csd;
    /* HTTP/2 streams ride on their connection's TLS */
    if (c->master) {
        return DECLINED;
    }
    /* outgoing (proxy) connections are ours once bound (below) */
    if (c->outgoing) {
        return outgoing_pre_connection(c);
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
    return OK;
}

#if AP_MODULE_MAGIC_AT_LEAST(20120211, 116)
/* mod_proxy binds each backend connection it makes before pre_connection,
 * and again on every reuse and release, with the directory configuration
 * of the moment (the request's, which holds the <Proxy> sections that
 * matched; the worker's section; NULL: the server's). mod_tls takes the
 * connection when TLSProxyEngine is on there, and leaves it to mod_ssl
 * (SSLProxyEngine) otherwise. Once its session exists the binding stays:
 * the handshake uses (or used) the settings it was bound with. */
static int tls_hook_bind_outgoing(conn_rec *c, ap_conf_vector_t *dir_conf,
                                  int enable)
{
    tls_conn_t *tc = ap_get_module_config(c->conn_config, &tls_module);
    const tls_proxy_conf_t *pc;

    if (tc && tc->session) {
        return OK;
    }
    pc = tls_conf_proxy_of_dir(dir_conf ? dir_conf
                                        : c->base_server->lookup_defaults);
    if (!enable || !pc || pc->engine != 1) {
        ap_set_module_config(c->conn_config, &tls_module, NULL);
        return DECLINED;
    }
    if (!pc->built) {
        ap_log_cerror(APLOG_MARK, APLOG_ERR, 0, c, "TLSProxyEngine is on, "
                      "but mod_tls found these TLSProxy* settings too late "
                      "to prepare them at startup");
        return DECLINED;
    }
    if (!tc) {
        tc = apr_pcalloc(c->pool, sizeof(*tc));
        tc->c = c;
        tc->outgoing = 1;
        tc->state = TLS_CONN_NEW;
        tc->fail_alert = -1;
        ap_set_module_config(c->conn_config, &tls_module, tc);
    }
    tc->s = c->base_server;
    tc->sc = tls_conf_srv_get(c->base_server);
    tc->proxy = pc;
    return OK;
}
#endif

/* Gives the connection back to the MPM until the client's next bytes
 * arrive, or its deadline wakes it; the worker serves others meanwhile. */
static int wait_in_mpm(tls_conn_t *tc)
{
#if TLS_HAVE_WAITIO
    conn_rec *c = tc->c;

    if (tc->deadline && !tc->watch
        && tls_deadline_watch(c, tc->deadline, &tc->watch) != APR_SUCCESS) {
        return 0;
    }
    tc->waited = 1;
    c->cs->state = CONN_STATE_ASYNC_WAITIO;
    c->cs->sense = gnutls_record_get_direction(tc->session)
                   ? CONN_SENSE_WANT_WRITE : CONN_SENSE_WANT_READ;
    ap_log_cerror(APLOG_MARK, APLOG_TRACE2, 0, c, "TLS handshake waits in "
                  "the MPM for the client to %s",
                  c->cs->sense == CONN_SENSE_WANT_WRITE ? "read" : "write");
    return 1;
#else
    (void)tc;
    return 0;
#endif
}

/* On every entry from the MPM: the handshake goes as far as it can; while
 * it waits for the client, the MPM holds the connection (OK); once it is
 * done, http or h2 go on in the same call (DECLINED). */
static int tls_hook_process_connection(conn_rec *c)
{
    tls_conn_t *tc = ap_get_module_config(c->conn_config, &tls_module);
    int async;
    apr_status_t rv;

    if (!tc || tc->state == TLS_CONN_OPEN || tc->state == TLS_CONN_PLAIN) {
        return DECLINED;
    }
    if (tc->state == TLS_CONN_FAILED) {
        return DONE;
    }
    async = c->cs && tls_deadline_mpm_waits();
    rv = progress(tc, async ? APR_NONBLOCK_READ : APR_BLOCK_READ);
    if (APR_STATUS_IS_EAGAIN(rv)) {
        if (wait_in_mpm(tc)) {
            return OK;
        }
        rv = progress(tc, APR_BLOCK_READ);
    }
    return rv == APR_SUCCESS ? DECLINED : DONE;
}

/* The MPM closes a connection whose wait outlived its Timeout without
 * asking the module again: this is the last word of such a handshake. */
static int tls_hook_pre_close_connection(conn_rec *c)
{
    tls_conn_t *tc = ap_get_module_config(c->conn_config, &tls_module);

    if (tc && tc->waited && tc->state < TLS_CONN_OPEN) {
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c,
                      "TLS handshake timed out after %" APR_TIME_T_FMT
                      " seconds waiting for the client (Timeout), closing "
                      "the connection",
                      apr_time_sec(apr_time_now() - tc->started));
        tls_stats_count(TLS_STAT_FAILED);
        conn_enter(tc, TLS_CONN_FAILED);
    }
    return OK;
}

static apr_status_t run_reauth(tls_conn_t *tc, int tls13, apr_off_t limit)
{
    apr_status_t rv;
    int ret;

    if (!tls13 && (ret = gnutls_rehandshake(tc->session)) < 0) {
        return tls_filter_fail(tc->filter, ret, "renegotiation");
    }
    for (;;) {
        ret = tls13 ? gnutls_reauth(tc->session, 0)
                    : gnutls_handshake(tc->session);
        if (ret == GNUTLS_E_GOT_APPLICATION_DATA) {
            if ((rv = tls_filter_keep_app_data(tc->filter, limit))
                != APR_SUCCESS) {
                return rv;
            }
            continue;
        }
        if (ret == GNUTLS_E_WARNING_ALERT_RECEIVED
            && gnutls_alert_get(tc->session) == GNUTLS_A_NO_RENEGOTIATION) {
            /* the client declined: it keeps its connection, we have no
             * certificate */
            return APR_EACCES;
        }
        if (ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED
            || ret == GNUTLS_E_WARNING_ALERT_RECEIVED) {
            continue;
        }
        break;
    }
    tls_filter_send(tc->filter, 1);
    return ret < 0 ? tls_filter_fail(tc->filter, ret, tls13
                                     ? "post-handshake authentication"
                                     : "renegotiation")
                   : APR_SUCCESS;
}

apr_status_t tls_handshake_reauth(tls_conn_t *tc, apr_off_t limit)
{
    int tls13 = gnutls_protocol_get_version(tc->session) == GNUTLS_TLS1_3;
    apr_interval_time_t timeout = tc->sc->handshake_timeout;
    apr_status_t rv;

    if (tls13 && !(gnutls_session_get_flags(tc->session)
                   & GNUTLS_SFLAGS_POST_HANDSHAKE_AUTH)) {
        return APR_ENOTIMPL;
    }
    /* the same bound as the handshake's, on this worker */
    tls_filter_set_wait(tc->filter, APR_BLOCK_READ,
                        timeout > 0 ? apr_time_now() + timeout : 0);
    /* a TLS 1.2 renegotiation must be a full handshake: the session cache
     * is bypassed meanwhile, and TLS 1.2 tickets are off where this can
     * happen (perdir_client_auth) */
    tc->renegotiating = !tls13;
    rv = run_reauth(tc, tls13, limit);
    tc->renegotiating = 0;
    tls_filter_set_wait(tc->filter, APR_BLOCK_READ, 0);
    return rv;
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
    return tls_conn_is_open(tls_conn_get(r->connection)) ? "https" : NULL;
}

static apr_port_t tls_hook_default_port(const request_rec *r)
{
    return tls_conn_is_open(tls_conn_get(r->connection)) ? 443 : 0;
}

void tls_handshake_register_hooks(apr_pool_t *p)
{
    /* mod_reqtimeout adds its filter, whose handshake stage bounds our
     * reads too, in its own process_connection hook; the handshake must
     * be over before mod_http2 or HTTP/1 reads */
    static const char *const after[] = { "mod_reqtimeout.c", NULL };
    static const char *const before[] = { "mod_http2.c", "http_core.c", NULL };
#if AP_MODULE_MAGIC_AT_LEAST(20120211, 116)
    /* with TLSProxyEngine and SSLProxyEngine both on, mod_tls takes it */
    static const char *const before_ssl[] = { "mod_ssl.c", NULL };
#endif

    (void)p;
    ap_hook_pre_connection(tls_hook_pre_connection, NULL, NULL,
                           APR_HOOK_MIDDLE);
#if AP_MODULE_MAGIC_AT_LEAST(20120211, 116)
    ap_hook_ssl_bind_outgoing(tls_hook_bind_outgoing, NULL, before_ssl,
                              APR_HOOK_MIDDLE);
#endif
    ap_hook_process_connection(tls_hook_process_connection, after, before,
                               APR_HOOK_FIRST);
    ap_hook_pre_close_connection(tls_hook_pre_close_connection, NULL, NULL,
                                 APR_HOOK_MIDDLE);
    ap_hook_post_read_request(tls_hook_post_read_request, NULL, NULL,
                              APR_HOOK_FIRST);
    ap_hook_http_scheme(tls_hook_http_scheme, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_default_port(tls_hook_default_port, NULL, NULL, APR_HOOK_MIDDLE);
    tls_deadline_register_hooks(p);
}
