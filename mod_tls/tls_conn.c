/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The TLS connection record: found from any conn_rec (HTTP/2 streams lead
 * to their connection), and bound to the vhost whose settings apply. */
#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "tls_conn.h"

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

apr_status_t tls_conn_use_server(tls_conn_t *tc, server_rec *s)
{
    tls_srv_conf_t *sc = tls_conf_srv_get(s);
    int rv;

    if ((rv = gnutls_priority_set(tc->session, sc->built->prio)) < 0
        || (rv = gnutls_credentials_set(tc->session, GNUTLS_CRD_CERTIFICATE,
                                        sc->built->creds)) < 0) {
        ap_log_cerror(APLOG_MARK, APLOG_ERR, 0, tc->c,
                      "cannot switch TLS settings to %s: %s",
                      s->server_hostname, gnutls_strerror(rv));
        return APR_EGENERAL;
    }
    tc->s = s;
    tc->sc = sc;
    /* requests without Host, and this connection's log lines, belong to
     * the vhost the client asked for */
    tc->c->base_server = s;
    return APR_SUCCESS;
}

int tls_conn_is_open(const tls_conn_t *tc)
{
    return tc && tc->state == TLS_CONN_OPEN;
}

/* (a backend connection is bound before pre_connection makes its
 * session: it is no TLS connection until then) */
int tls_conn_is_tls(const tls_conn_t *tc)
{
    return tc && tc->session && tc->state != TLS_CONN_PLAIN
           && tc->state != TLS_CONN_FAILED;
}
