/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * ALPN: httpd's protocol modules (mod_http2) choose among what the client
 * offers, through ap_select_protocol, and take the connection over through
 * ap_switch_protocol once the handshake is done. */
#include <httpd.h>
#include <apr_strings.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>

#include "tls_alpn.h"

APLOG_USE_MODULE(tls);

/* Called once the vhost is known: let httpd pick, and offer only that. */
int tls_alpn_select(tls_conn_t *tc)
{
    gnutls_datum_t proto;
    const char *chosen;

    /* an empty list (only names no protocol has) fits nothing either */
    if (!tc->alpn_offered) {
        return 0;
    }
    chosen = ap_select_protocol(tc->c, NULL, tc->s, tc->alpn_offered);
    if (!chosen || !*chosen) {
        /* RFC 7301 3.2: a client that offers only what we do not speak
         * gets a fatal alert, not a connection without a protocol */
        tc->fail_reason = apr_psprintf(tc->c->pool, "the client offers "
            "only ALPN protocols this server does not speak (%s); see "
            "Protocols", apr_array_pstrcat(tc->c->pool, tc->alpn_offered,
                                           ','));
        return GNUTLS_E_NO_APPLICATION_PROTOCOL;
    }
    proto.data = (unsigned char *)chosen;
    proto.size = (unsigned)strlen(chosen);
    if (gnutls_alpn_set_protocols(tc->session, &proto, 1, 0) < 0) {
        return GNUTLS_E_INTERNAL_ERROR;
    }
    /* As mod_ssl does, a protocol other than HTTP's takes the connection
     * now, before a certificate is chosen: a challenge protocol (ACME's
     * acme-tls/1, see tls_md.c) answers with a certificate of its own.
     * h2 waits for the handshake to be done (tls_alpn_switch). */
    if (strcmp(chosen, "h2") && strcmp(chosen, ap_get_protocol(tc->c))) {
        apr_status_t rv = ap_switch_protocol(tc->c, NULL, tc->s, chosen);

        if (rv != APR_SUCCESS) {
            tc->fail_reason = apr_psprintf(tc->c->pool, "switching to the "
                                           "protocol %s (ALPN) failed",
                                           chosen);
            tc->fail_alert = GNUTLS_A_INTERNAL_ERROR;
            return GNUTLS_E_INTERNAL_ERROR;
        }
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, tc->c,
                      "ALPN: switched to protocol %s", chosen);
    }
    return 0;
}

apr_status_t tls_alpn_switch(tls_conn_t *tc)
{
    gnutls_datum_t sel;
    const char *proto;

    if (gnutls_alpn_get_selected_protocol(tc->session, &sel) != 0) {
        return APR_SUCCESS;
    }
    proto = apr_pstrmemdup(tc->c->pool, (const char *)sel.data, sel.size);
    if (!strcmp(proto, ap_get_protocol(tc->c))) {
        return APR_SUCCESS;
    }
    ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, tc->c,
                  "ALPN: switching to protocol %s", proto);
    return ap_switch_protocol(tc->c, NULL, tc->s, proto);
}
