/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Certificate verification, run by GnuTLS while a handshake is under way.
 * A client's certificate (or one asked for by post-handshake
 * authentication): the result is recorded as mod_ssl's SSL_CLIENT_VERIFY;
 * a certificate that fails verification never lends its identity to the
 * request, whatever the mode. A backend's certificate (mod_proxy's
 * connections): refused, the handshake fails. */
#include <httpd.h>
#include <apr_strings.h>
#include <http_log.h>
#include <gnutls/x509.h>

#include "tls_certvars.h"
#include "tls_client_ocsp.h"
#include "tls_conn.h"
#include "tls_verify.h"

APLOG_USE_MODULE(tls);

/* GnuTLS's verdicts, in the order OpenSSL would report them, with the
 * reason text mod_ssl users see and the alert that tells the client. */
static const struct {
    unsigned bit;
    gnutls_alert_description_t alert;
    const char *reason;
} faults[] = {
    { GNUTLS_CERT_SIGNER_NOT_FOUND, GNUTLS_A_UNKNOWN_CA,
      "unable to get local issuer certificate" },
    { GNUTLS_CERT_SIGNER_NOT_CA, GNUTLS_A_UNKNOWN_CA,
      "invalid CA certificate" },
    { GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE, GNUTLS_A_UNKNOWN_CA,
      "path length constraint exceeded" },
    { GNUTLS_CERT_SIGNATURE_FAILURE, GNUTLS_A_DECRYPT_ERROR,
      "certificate signature failure" },
    { GNUTLS_CERT_INSECURE_ALGORITHM, GNUTLS_A_BAD_CERTIFICATE,
      "certificate signed with an insecure algorithm" },
    { GNUTLS_CERT_NOT_ACTIVATED, GNUTLS_A_BAD_CERTIFICATE,
      "certificate is not yet valid" },
    { GNUTLS_CERT_EXPIRED, GNUTLS_A_CERTIFICATE_EXPIRED,
      "certificate has expired" },
    { GNUTLS_CERT_REVOKED, GNUTLS_A_CERTIFICATE_REVOKED,
      "certificate revoked" },
    { GNUTLS_CERT_PURPOSE_MISMATCH, GNUTLS_A_UNSUPPORTED_CERTIFICATE,
      "unsupported certificate purpose" },
};

#define UNKNOWN_ISSUER (GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNER_NOT_FOUND)

void tls_verify_ask(tls_conn_t *tc, tls_client_mode_t mode, int depth)
{
    tc->verify_mode = mode;
    tc->verify_depth = depth;
    gnutls_certificate_server_set_request(tc->session,
        mode == TLS_CLIENT_NONE ? GNUTLS_CERT_IGNORE
        : mode == TLS_CLIENT_REQUIRE ? GNUTLS_CERT_REQUIRE
        : GNUTLS_CERT_REQUEST);
}

static gnutls_x509_crt_t parse_der(const gnutls_datum_t *der)
{
    gnutls_x509_crt_t crt;

    if (gnutls_x509_crt_init(&crt) < 0) {
        return NULL;
    }
    if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) < 0) {
        gnutls_x509_crt_deinit(crt);
        return NULL;
    }
    return crt;
}

static int self_issued(const gnutls_datum_t *der)
{
    gnutls_x509_crt_t crt = parse_der(der);
    int rv = 0;

    if (crt) {
        rv = gnutls_x509_crt_check_issuer(crt, crt);
        gnutls_x509_crt_deinit(crt);
    }
    return rv;
}

/* The first of GnuTLS's verdicts in STATUS in the faults' order, with its
 * alert; an unknown issuer of a self-issued LEAF is named as such. NULL
 * when none of the faults is set. */
static const char *fault_of(unsigned status, const gnutls_datum_t *leaf,
                            int *alert)
{
    size_t i;

    for (i = 0; i < sizeof(faults) / sizeof(faults[0]); ++i) {
        if (status & faults[i].bit) {
            *alert = faults[i].alert;
            if ((status & GNUTLS_CERT_SIGNER_NOT_FOUND) && self_issued(leaf)) {
                return "self-signed certificate";
            }
            return faults[i].reason;
        }
    }
    return NULL;
}

/* Certificates above the client's on the path it proves, counted as
 * OpenSSL's verify depth does: the issuers found among what the client
 * sent (duplicates and strays ignored), plus the trust anchor unless the
 * path already ends in a self-issued one. */
static int chain_depth(const gnutls_datum_t *certs, unsigned n)
{
    gnutls_x509_crt_t crt[16];
    int used[16] = { 0 };
    unsigned i, cur = 0, m = n < 16 ? n : 16;
    int depth = 0, found = 1;

    for (i = 0; i < m; ++i) {
        crt[i] = parse_der(&certs[i]);
    }
    used[0] = 1;
    while (found && crt[cur] && !gnutls_x509_crt_check_issuer(crt[cur],
                                                              crt[cur])) {
        found = 0;
        for (i = 1; i < m; ++i) {
            if (!used[i] && crt[i]
                && gnutls_x509_crt_check_issuer(crt[cur], crt[i])) {
                used[i] = 1;
                cur = i;
                ++depth;
                found = 1;
                break;
            }
        }
    }
    if (crt[cur] && !gnutls_x509_crt_check_issuer(crt[cur], crt[cur])) {
        ++depth;
    }
    for (i = 0; i < m; ++i) {
        if (crt[i]) {
            gnutls_x509_crt_deinit(crt[i]);
        }
    }
    return depth;
}

static const char *subject_of(apr_pool_t *p, const gnutls_datum_t *der)
{
    gnutls_x509_crt_t crt = parse_der(der);
    const char *s = NULL;

    if (crt) {
        s = tls_certvars_subject(p, crt);
        gnutls_x509_crt_deinit(crt);
    }
    return s ? s : "(unparsable certificate)";
}

/* Keeps what the request variables need of an accepted certificate. */
static void keep_identity(tls_conn_t *tc, const gnutls_datum_t *certs,
                          unsigned n)
{
    apr_pool_t *p = tc->c->pool;
    unsigned i;

    tc->client_crt = tls_certvars_parse(p, &certs[0]);
    tc->client_chain = apr_array_make(p, (int)n, sizeof(gnutls_datum_t));
    for (i = 1; i < n; ++i) {
        gnutls_datum_t *d = apr_array_push(tc->client_chain);

        d->size = certs[i].size;
        d->data = apr_pmemdup(p, certs[i].data, certs[i].size);
    }
}

static unsigned check_peer(tls_conn_t *tc, unsigned *status)
{
    gnutls_typed_vdata_st purpose;
    const char *oid = tc->sc->key_purpose;
    int any = !strcmp(oid, "any");

    purpose.type = GNUTLS_DT_KEY_PURPOSE_OID;
    purpose.data = (unsigned char *)oid;
    purpose.size = (unsigned)strlen(oid);
    return gnutls_certificate_verify_peers(tc->session, any ? NULL : &purpose,
                                           any ? 0 : 1, status) < 0;
}

int tls_verify_peer(gnutls_session_t session)
{
    tls_conn_t *tc = gnutls_session_get_ptr(session);
    const gnutls_datum_t *certs;
    unsigned n = 0, status = 0;
    const char *reason = NULL, *detail = "";
    int alert = GNUTLS_A_BAD_CERTIFICATE;
    tls_client_ocsp_fault_t ocsp;

    tc->client_crt = NULL;
    tc->client_chain = NULL;
    certs = gnutls_certificate_get_peers(session, &n);
    tc->verify_reason = NULL;
    if (!certs || n == 0) {
        tc->verify = TLS_VERIFY_NONE;
        return 0;
    }
    if (check_peer(tc, &status)) {
        status = GNUTLS_CERT_INVALID;
        reason = "certificate could not be verified";
    }
    else {
        reason = fault_of(status, &certs[0], &alert);
    }
    if (!reason && status) {
        reason = "certificate verify failed";
    }
    if (!reason && chain_depth(certs, n) > tc->verify_depth) {
        reason = "certificate chain too long";
        alert = GNUTLS_A_UNKNOWN_CA;
    }
    /* revocation by OCSP (TLSClientOCSP), of a chain found valid */
    if (!reason && !tls_client_ocsp_check(tc, certs, n, &ocsp)) {
        reason = ocsp.reason;
        alert = ocsp.alert;
        detail = apr_pstrcat(tc->c->pool, " (", ocsp.detail, ")", NULL);
    }
    if (!reason) {
        tc->verify = TLS_VERIFY_SUCCESS;
        keep_identity(tc, certs, n);
        return 0;
    }
    if (tc->verify_mode == TLS_CLIENT_OPTIONAL_NO_CA
        && (status & ~UNKNOWN_ISSUER) == 0 && status) {
        if (!tls_client_ocsp_enabled(tc)) {
            tc->verify = TLS_VERIFY_GENEROUS;
            keep_identity(tc, certs, n);
            return 0;
        }
        /* as mod_ssl: nobody can vouch for it */
        detail = " (TLSClientOCSP cannot check a certificate whose issuer "
                 "is unknown)";
    }
    tc->verify = TLS_VERIFY_FAILED;
    tc->verify_reason = reason;
    if (tc->verify_mode != TLS_CLIENT_REQUIRE) {
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, tc->c,
                      "client certificate '%s' not verified: %s%s (identity "
                      "withheld from the request)",
                      subject_of(tc->c->pool, &certs[0]), reason, detail);
        return 0;
    }
    tc->fail_reason = apr_psprintf(tc->c->pool, "client certificate '%s' "
                                   "refused: %s%s",
                                   subject_of(tc->c->pool, &certs[0]),
                                   reason, detail);
    tc->fail_alert = alert;
    return GNUTLS_E_CERTIFICATE_ERROR;
}

/* Whether the backend's certificate carries its name (or address), for
 * TLSProxyVerify none, which leaves the rest of it unchecked. */
static int backend_name_ok(const tls_conn_t *tc, const gnutls_datum_t *leaf)
{
    gnutls_x509_crt_t crt = parse_der(leaf);
    int ok = 0;

    if (crt) {
        ok = tc->peer_ip_len
             ? gnutls_x509_crt_check_ip(crt, tc->peer_ip, tc->peer_ip_len, 0)
             : gnutls_x509_crt_check_hostname2(crt, tc->peer_name, 0);
        gnutls_x509_crt_deinit(crt);
    }
    return ok;
}

/* The certificate chain is judged by GnuTLS against TLSProxyCA (or the
 * system's trust store) and TLSProxyCRL, dates included, with the name in
 * the same call: a DNS name against the certificate's DNS names (its CN
 * only when it has none), an IP address against its IP addresses. The
 * first fault in OpenSSL's order is the reason; a wrong name only when the
 * chain itself is fine. */
int tls_verify_backend(gnutls_session_t session)
{
    tls_conn_t *tc = gnutls_session_get_ptr(session);
    const tls_proxy_conf_t *pc = tc->proxy;
    gnutls_typed_vdata_st name;
    const gnutls_datum_t *certs;
    unsigned n = 0, status = 0, nname = 0;
    const char *reason = NULL;
    int alert = GNUTLS_A_BAD_CERTIFICATE;

    certs = gnutls_certificate_get_peers(session, &n);
    if (!certs || n == 0) {
        tc->fail_reason = "the backend sent no certificate";
        return GNUTLS_E_NO_CERTIFICATE_FOUND;
    }
    if (pc->check_name && tc->peer_name) {
        name.type = tc->peer_ip_len ? GNUTLS_DT_IP_ADDRESS
                                    : GNUTLS_DT_DNS_HOSTNAME;
        name.data = tc->peer_ip_len ? tc->peer_ip
                                    : (unsigned char *)tc->peer_name;
        name.size = tc->peer_ip_len ? tc->peer_ip_len
                                    : (unsigned)strlen(tc->peer_name);
        nname = 1;
    }
    if (pc->verify == TLS_PROXY_VERIFY_REQUIRE) {
        if (gnutls_certificate_verify_peers(session, nname ? &name : NULL,
                                            nname, &status) < 0) {
            status = GNUTLS_CERT_INVALID;
            reason = "certificate could not be verified";
        }
        else {
            reason = fault_of(status, &certs[0], &alert);
        }
    }
    else if (nname && !backend_name_ok(tc, &certs[0])) {
        status = GNUTLS_CERT_UNEXPECTED_OWNER;
    }
    if (!reason && (status & GNUTLS_CERT_UNEXPECTED_OWNER)) {
        reason = apr_psprintf(tc->c->pool, "it is not valid for %s '%s' "
                              "(TLSProxyCheckPeerName)", tc->peer_ip_len
                              ? "the address" : "the name", tc->peer_name);
    }
    if (!reason && status) {
        reason = "certificate verify failed";
    }
    if (!reason) {
        return 0;
    }
    tc->fail_reason = apr_psprintf(tc->c->pool, "the backend's certificate "
                                   "'%s' is not accepted: %s",
                                   subject_of(tc->c->pool, &certs[0]),
                                   reason);
    tc->fail_alert = alert;
    return GNUTLS_E_CERTIFICATE_ERROR;
}

int tls_verify_accepts(const tls_conn_t *tc, tls_client_mode_t mode)
{
    return tc->client_crt
        && (tc->verify == TLS_VERIFY_SUCCESS
            || (mode == TLS_CLIENT_OPTIONAL_NO_CA
                && tc->verify == TLS_VERIFY_GENEROUS));
}

const char *tls_verify_result_string(apr_pool_t *p, const tls_conn_t *tc)
{
    switch (tc->verify) {
    case TLS_VERIFY_SUCCESS:
        return "SUCCESS";
    case TLS_VERIFY_GENEROUS:
        return "GENEROUS";
    case TLS_VERIFY_FAILED:
        return apr_pstrcat(p, "FAILED:", tc->verify_reason, NULL);
    default:
        return "NONE";
    }
}
