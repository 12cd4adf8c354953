/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Backend connections from mod_proxy's side: what it asks of one through
 * the notes it sets on the backend connection (mod_ssl reads the same):
 * "proxy-request-hostname", the host name of the backend (or, with
 * ProxyPreserveHost, of the request), which is our SNI and the name its
 * certificate must carry; "proxy-request-alpn-protos", set by
 * mod_proxy_http2 to "h2" for h2:// backends. Set up before the
 * handshake, checked once it is done. */
#include <httpd.h>
#include <arpa/inet.h>
#include <apr_strings.h>
#include <http_protocol.h>

#include "tls_proxy.h"

/* Reads a name as an IP address into tc->peer_ip, if it is one. */
static void peer_address(tls_conn_t *tc, const char *name)
{
    if (inet_pton(AF_INET, name, tc->peer_ip) == 1) {
        tc->peer_ip_len = 4;
    }
    else if (inet_pton(AF_INET6, name, tc->peer_ip) == 1) {
        tc->peer_ip_len = 16;
    }
}

/* Our ALPN offer: what mod_proxy's note lists, else HTTP/1.1, which
 * every module but mod_proxy_http2 speaks to its backends. */
static const char *offer_alpn(tls_conn_t *tc)
{
    apr_pool_t *p = tc->c->pool;
    const char *note = apr_table_get(tc->c->notes,
                                     "proxy-request-alpn-protos");
    char *list = apr_pstrdup(p, note ? note : AP_PROTOCOL_HTTP1);
    char *tok, *last;
    gnutls_datum_t *protos;
    int i, rv;

    tc->alpn_offered = apr_array_make(p, 2, sizeof(const char *));
    for (tok = apr_strtok(list, ", ", &last); tok;
         tok = apr_strtok(NULL, ", ", &last)) {
        if (strlen(tok) > 255) {
            return apr_psprintf(p, "the ALPN protocol name '%s' from "
                                "mod_proxy is too long", tok);
        }
        APR_ARRAY_PUSH(tc->alpn_offered, const char *) = tok;
    }
    if (tc->alpn_offered->nelts == 0) {
        return NULL;
    }
    /* a backend that ignores ALPN speaks HTTP/1.1: fine, unless only
     * other protocols were asked for (RFC 7301 lets a server ignore it) */
    tc->alpn_needed = 1;
    protos = apr_pcalloc(p, sizeof(*protos) * tc->alpn_offered->nelts);
    for (i = 0; i < tc->alpn_offered->nelts; ++i) {
        const char *name = APR_ARRAY_IDX(tc->alpn_offered, i, const char *);

        protos[i].data = (unsigned char *)name;
        protos[i].size = (unsigned)strlen(name);
        if (!strcmp(name, AP_PROTOCOL_HTTP1)) {
            tc->alpn_needed = 0;
        }
    }
    rv = gnutls_alpn_set_protocols(tc->session, protos,
                                   (unsigned)tc->alpn_offered->nelts, 0);
    if (rv < 0) {
        return apr_psprintf(p, "cannot offer the ALPN protocols %s: %s",
                            apr_array_pstrcat(p, tc->alpn_offered, ','),
                            gnutls_strerror(rv));
    }
    return NULL;
}

const char *tls_proxy_setup(tls_conn_t *tc)
{
    conn_rec *c = tc->c;
    const char *name = apr_table_get(c->notes, "proxy-request-hostname");
    apr_port_t port = c->client_addr ? c->client_addr->port : 0;
    apr_size_t len;
    int rv;

    if (name && name[0] == '[' && (len = strlen(name)) > 2
        && name[len - 1] == ']') {
        name = apr_pstrmemdup(c->pool, name + 1, len - 2);
    }
    tc->peer_name = (name && *name) ? name : NULL;
    if (tc->peer_name) {
        peer_address(tc, tc->peer_name);
    }
    tc->backend = apr_psprintf(c->pool, tc->peer_ip_len == 16 ? "[%s]:%u"
                               : "%s:%u", tc->peer_name ? tc->peer_name
                               : c->client_ip, (unsigned)port);
    /* RFC 6066 3: no IP addresses in SNI */
    if (tc->peer_name && !tc->peer_ip_len) {
        rv = gnutls_server_name_set(tc->session, GNUTLS_NAME_DNS,
                                    tc->peer_name, strlen(tc->peer_name));
        if (rv < 0) {
            return apr_psprintf(c->pool, "cannot send the server name '%s': "
                                "%s", tc->peer_name, gnutls_strerror(rv));
        }
        tc->sni = tc->peer_name;
    }
    return offer_alpn(tc);
}

const char *tls_proxy_alpn(tls_conn_t *tc)
{
    gnutls_datum_t sel;

    if (gnutls_alpn_get_selected_protocol(tc->session, &sel) != 0
        || sel.size == 0) {
        return "";
    }
    return apr_pstrmemdup(tc->c->pool, (const char *)sel.data, sel.size);
}

/* GnuTLS refuses a protocol we did not offer; a backend that chose none
 * may only do so where HTTP/1.1 would do. */
const char *tls_proxy_check(tls_conn_t *tc)
{
    const char *offer;

    if (!tc->alpn_needed || *tls_proxy_alpn(tc)) {
        return NULL;
    }
    offer = apr_array_pstrcat(tc->c->pool, tc->alpn_offered, ',');
    return apr_psprintf(tc->c->pool, "the backend agreed to none of the "
                        "protocols offered by ALPN (%s)%s", offer,
                        strcmp(offer, "h2") ? ""
                        : "; does it speak HTTP/2 (Protocols h2)?");
}
