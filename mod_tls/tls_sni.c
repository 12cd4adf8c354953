/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Name-based virtual hosts: the server name in the ClientHello picks the
 * vhost whose certificates and settings the handshake uses, and requests
 * on the connection must stay with vhosts that negotiate TLS alike. */
#include <httpd.h>
#include <apr_strings.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_vhost.h>

#include "tls_sni.h"

APLOG_USE_MODULE(tls);

static int name_in(const apr_array_header_t *names, const char *name,
                   int wild)
{
    int i;

    for (i = 0; names && i < names->nelts; ++i) {
        const char *n = APR_ARRAY_IDX(names, i, const char *);

        if (wild ? !ap_strcasecmp_match(name, n) : !strcasecmp(name, n)) {
            return 1;
        }
    }
    return 0;
}

static int server_has_name(server_rec *s, const char *name)
{
    return (s->server_hostname && !strcasecmp(s->server_hostname, name))
        || name_in(s->names, name, 0)
        || name_in(s->wild_names, name, 1);
}

typedef struct {
    const char *name;
    server_rec *found;
} sni_lookup_t;

static int match_vhost(void *baton, conn_rec *c, server_rec *s)
{
    sni_lookup_t *lookup = baton;
    tls_srv_conf_t *sc = tls_conf_srv_get(s);

    (void)c;
    if (sc->engine == 1 && server_has_name(s, lookup->name)) {
        lookup->found = s;
        return 1;
    }
    return 0;
}

/* The TLS vhost on this connection's address that has the name, or NULL. */
static server_rec *find_vhost(conn_rec *c, const char *name)
{
    sni_lookup_t lookup = { name, NULL };

    ap_vhost_iterate_given_conn(c, match_vhost, &lookup);
    return lookup.found;
}

/* Why a ClientHello that tls_hello_parse() refused is refused. */
static const char *hello_error(int rv)
{
    switch (rv) {
    case GNUTLS_E_RECEIVED_ILLEGAL_PARAMETER:
        return "the server name in the ClientHello is longer than 255 bytes";
    case GNUTLS_E_RECEIVED_DISALLOWED_NAME:
        return "the server name in the ClientHello is no host name";
    case GNUTLS_E_RECEIVED_ILLEGAL_EXTENSION:
        return "the ClientHello repeats an extension";
    default:
        return "the ClientHello is malformed (its lengths do not add up)";
    }
}

int tls_sni_on_hello(tls_conn_t *tc, const gnutls_datum_t *msg,
                     tls_hello_t *hello)
{
    server_rec *s = NULL;
    int rv;

    if ((rv = tls_hello_parse(tc->c->pool, msg->data, msg->size, hello))) {
        tc->fail_reason = hello_error(rv);
        return rv;
    }
    tc->sni = hello->sni;
    tc->alpn_offered = hello->alpn;
    if (tc->sni) {
        s = find_vhost(tc->c, tc->sni);
    }
    if (!s && tc->sc->strict_sni == 1) {
        tc->fail_reason = tc->sni
            ? apr_psprintf(tc->c->pool, "server name '%s' names no virtual "
                           "host here, and TLSStrictSNI is on", tc->sni)
            : "the client sent no server name (SNI), and TLSStrictSNI is on";
        return GNUTLS_E_UNRECOGNIZED_NAME;
    }
    if (s && s != tc->s && tls_conn_use_server(tc, s) != APR_SUCCESS) {
        return GNUTLS_E_INTERNAL_ERROR;
    }
    return 0;
}

/* A request for another vhost than the handshake was made for is fine
 * only if that vhost would have negotiated the same TLS; otherwise the
 * client must open a connection for it (421), which keeps, say, a vhost
 * with client certificates from being reached through another's. */
int tls_sni_check_request(request_rec *r, tls_conn_t *tc)
{
    if (r->server == tc->s
        || tls_conf_same_tls(tls_conf_srv_get(r->server), tc->sc)) {
        return DECLINED;
    }
    if (!tc->sni) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "421: the client sent no SNI, and the request for "
                      "host '%s' needs other TLS settings than the default "
                      "server %s:%u; a front proxy that omits SNI is the "
                      "usual cause", r->hostname ? r->hostname : "",
                      tc->s->server_hostname,
                      (unsigned)tc->c->local_addr->port);
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "421: request for host '%s' on a connection negotiated "
                      "for SNI '%s', whose TLS settings differ",
                      r->hostname ? r->hostname : "", tc->sni);
    }
    return HTTP_MISDIRECTED_REQUEST;
}
