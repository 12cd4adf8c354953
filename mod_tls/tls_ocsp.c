/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * An OCSP client: the request for one certificate, its HTTP POST to the
 * responder over APR sockets (plain http://, as RFC 6960 intends: the
 * answer is signed), bounded by a deadline however the responder behaves,
 * and the checks a response must pass before anyone believes it. No
 * external dependency beyond GnuTLS's OCSP codec. */
#include <httpd.h>
#include <apr_atomic.h>
#include <apr_lib.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <gnutls/crypto.h>
#include <gnutls/ocsp.h>

#include "tls_ocsp.h"

/* An answer larger than this is no OCSP response we want (they are a few
 * KiB, certificates included). */
#define TLS_OCSP_MAX_HTTP (256 * 1024)

typedef struct {
    const char *host;       /* as connected to (IPv6 without brackets) */
    apr_port_t port;
    const char *host_header;
    const char *path;       /* path and query */
} ocsp_url_t;

static const char *parse_url(apr_pool_t *p, const char *url, ocsp_url_t *u)
{
    apr_uri_t uri;
    const char *c;

    /* it goes into a request line and a Host header as it is */
    for (c = url; *c; ++c) {
        if (apr_iscntrl(*c) || apr_isspace(*c)) {
            /* (not repeated here: it would carry them into the log) */
            return "the URL holds spaces or control characters";
        }
    }
    if (apr_uri_parse(p, url, &uri) != APR_SUCCESS || !uri.scheme) {
        return apr_psprintf(p, "'%s' is not a URL", url);
    }
    if (strcasecmp(uri.scheme, "http")) {
        return apr_psprintf(p, "'%s' is not an http:// URL (OCSP responders "
                            "are asked over plain HTTP: their answers are "
                            "signed)", url);
    }
    if (!uri.hostname || !*uri.hostname) {
        return apr_psprintf(p, "'%s' names no host", url);
    }
    if (uri.user || uri.password) {
        return apr_psprintf(p, "'%s': user names and passwords are not "
                            "supported", url);
    }
    if (uri.port_str && !uri.port) {
        return apr_psprintf(p, "'%s' has an invalid port", url);
    }
    u->host = uri.hostname;
    u->port = uri.port_str ? uri.port : 80;
    u->host_header = apr_psprintf(p, strchr(u->host, ':') ? "[%s]" : "%s",
                                  u->host);
    if (u->port != 80) {
        u->host_header = apr_psprintf(p, "%s:%u", u->host_header,
                                      (unsigned)u->port);
    }
    u->path = uri.path && *uri.path ? uri.path : "/";
    if (uri.query) {
        u->path = apr_pstrcat(p, u->path, "?", uri.query, NULL);
    }
    return NULL;
}

const char *tls_ocsp_url_error(apr_pool_t *p, const char *url)
{
    ocsp_url_t u;

    return parse_url(p, url, &u);
}

const char *tls_ocsp_aia_url(apr_pool_t *p, gnutls_x509_crt_t crt)
{
    gnutls_datum_t data;
    const char *url = NULL;
    unsigned seq;
    int rv;

    for (seq = 0; seq < 32 && !url; ++seq) {
        rv = gnutls_x509_crt_get_authority_info_access(crt, seq,
                                                       GNUTLS_IA_OCSP_URI,
                                                       &data, NULL);
        if (rv == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
            break;
        }
        if (rv < 0) {
            continue;    /* another access method (caIssuers) */
        }
        if (data.size > 7 && !strncasecmp((const char *)data.data, "http://",
                                          7)) {
            url = apr_pstrmemdup(p, (const char *)data.data, data.size);
        }
        gnutls_free(data.data);
    }
    return url;
}

static void failed(tls_ocsp_answer_t *ans, tls_ocsp_error_t error,
                   const char *detail)
{
    ans->status = TLS_OCSP_FAILED;
    ans->error = error;
    ans->detail = detail;
}

/* ------------------------------------------------------------ HTTP */

/* When a fetch must be over: its deadline, and for a background fetch a
 * flag that calls it off sooner. Waits then last a slice at most, so that
 * the flag is seen soon after it is raised. */
typedef struct {
    apr_time_t deadline;
    volatile apr_uint32_t *stop;
} limit_t;

#define TLS_OCSP_STOP_SLICE apr_time_from_msec(200)

static int stopped(const limit_t *l)
{
    return l->stop && apr_atomic_read32(l->stop);
}

/* The socket timeout for the next call: what is left until the deadline
 * (a slice of it when the fetch can be stopped), or APR_TIMEUP past the
 * deadline or once stopped. */
static apr_status_t arm(apr_socket_t *s, const limit_t *l)
{
    apr_interval_time_t left = l->deadline - apr_time_now();

    if (left <= 0 || stopped(l)) {
        return APR_TIMEUP;
    }
    if (l->stop && left > TLS_OCSP_STOP_SLICE) {
        left = TLS_OCSP_STOP_SLICE;
    }
    return apr_socket_timeout_set(s, left);
}

/* Whether a call that timed out only ended its slice: call again. */
static int again(apr_status_t rv, const limit_t *l)
{
    return APR_STATUS_IS_TIMEUP(rv) && l->stop && !stopped(l)
           && apr_time_now() < l->deadline;
}

static const char *errtext(apr_pool_t *p, apr_status_t rv)
{
    char buf[120];

    return apr_pstrdup(p, apr_strerror(rv, buf, sizeof(buf)));
}

/* A connection to the first address of u's host that takes one. */
static apr_socket_t *connect_to(apr_pool_t *p, const ocsp_url_t *u,
                                const limit_t *l, tls_ocsp_answer_t *ans)
{
    apr_sockaddr_t *sa;
    apr_socket_t *s;
    apr_status_t rv;

    /* name resolution cannot be bounded by the deadline: name responders
     * by address, or by a name the resolver answers at once */
    rv = apr_sockaddr_info_get(&sa, u->host, APR_UNSPEC, u->port, 0, p);
    if (rv != APR_SUCCESS) {
        failed(ans, TLS_OCSP_ERR_UNREACHABLE, apr_psprintf(p,
               "cannot resolve '%s': %s", u->host, errtext(p, rv)));
        return NULL;
    }
    for (; sa; sa = sa->next) {
        if ((rv = apr_socket_create(&s, sa->family, SOCK_STREAM,
                                    APR_PROTO_TCP, p)) != APR_SUCCESS) {
            continue;
        }
        rv = arm(s, l);
        while (rv == APR_SUCCESS) {
            rv = apr_socket_connect(s, sa);
            if (rv == APR_SUCCESS || rv == EISCONN) {
                /* (EISCONN: done since the last slice ended) */
                return s;
            }
            if (!again(rv, l)) {
                break;
            }
            rv = arm(s, l);
        }
        apr_socket_close(s);
        if (stopped(l)) {
            failed(ans, TLS_OCSP_ERR_TIMEOUT, "given up: the process is "
                   "stopping");
            return NULL;
        }
        if (APR_STATUS_IS_TIMEUP(rv) || apr_time_now() >= l->deadline) {
            failed(ans, TLS_OCSP_ERR_TIMEOUT, "no connection before the "
                   "deadline");
            return NULL;
        }
    }
    failed(ans, TLS_OCSP_ERR_UNREACHABLE, apr_psprintf(p, "cannot connect: "
           "%s", errtext(p, rv)));
    return NULL;
}

static apr_status_t send_all(apr_socket_t *s, const char *data,
                             apr_size_t len, const limit_t *l)
{
    apr_status_t rv;
    apr_size_t n;

    while (len > 0) {
        if ((rv = arm(s, l)) != APR_SUCCESS) {
            return rv;
        }
        n = len;
        rv = apr_socket_send(s, data, &n);
        if (rv != APR_SUCCESS && !(APR_STATUS_IS_EAGAIN(rv) && n > 0)
            && !again(rv, l)) {
            return rv;
        }
        data += n;
        len -= n;
    }
    return APR_SUCCESS;
}

/* Where the header of an HTTP response ends (the body starts), or NULL
 * while it is incomplete. */
static const char *header_end(const char *buf, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i + 1 < len; ++i) {
        if (buf[i] == '\n' && buf[i + 1] == '\n') {
            return buf + i + 2;
        }
        if (i + 3 < len && !memcmp(buf + i, "\r\n\r\n", 4)) {
            return buf + i + 4;
        }
    }
    return NULL;
}

/* The status code and Content-Length (-1: none) of a response header
 * buf..end; NULL, or what is wrong with it. */
static const char *parse_header(apr_pool_t *p, const char *buf,
                                const char *end, int *status,
                                apr_off_t *clen)
{
    char *head = apr_pstrmemdup(p, buf, (apr_size_t)(end - buf));
    char *line, *last, *v;

    line = apr_strtok(head, "\r\n", &last);
    if (!line || strncmp(line, "HTTP/1.", 7) || strlen(line) < 12
        || line[8] != ' ' || !apr_isdigit(line[9]) || !apr_isdigit(line[10])
        || !apr_isdigit(line[11])) {
        return "not an HTTP response";
    }
    *status = atoi(line + 9);
    *clen = -1;
    while ((line = apr_strtok(NULL, "\r\n", &last))) {
        if (!(v = strchr(line, ':'))) {
            continue;
        }
        *v++ = '\0';
        while (apr_isspace(*v)) {
            ++v;
        }
        if (!strcasecmp(line, "Content-Length")) {
            char *e;

            *clen = (apr_off_t)apr_strtoi64(v, &e, 10);
            if (e == v || *clen < 0) {
                return "invalid Content-Length";
            }
        }
        else if (!strcasecmp(line, "Transfer-Encoding")
                 && strcasecmp(v, "identity")) {
            return apr_psprintf(p, "Transfer-Encoding '%s' in an HTTP/1.0 "
                                "answer", v);
        }
    }
    return NULL;
}

/* POSTs the request and reads the whole answer's body (Content-Length or
 * until the responder closes), all by the deadline. */
static apr_status_t http_post(apr_pool_t *p, const ocsp_url_t *u,
                              const gnutls_datum_t *req, const limit_t *l,
                              gnutls_datum_t *body, tls_ocsp_answer_t *ans)
{
    char *buf = apr_palloc(p, TLS_OCSP_MAX_HTTP);
    const char *head, *start = NULL, *err;
    apr_size_t len = 0, n;
    apr_off_t clen = -1;
    int status = 0;
    apr_socket_t *s;
    apr_status_t rv;

    if (!(s = connect_to(p, u, l, ans))) {
        return APR_EGENERAL;
    }
    head = apr_psprintf(p, "POST %s HTTP/1.0\r\n"
                        "Host: %s\r\n"
                        "Content-Type: application/ocsp-request\r\n"
                        "Accept: application/ocsp-response\r\n"
                        "Content-Length: %u\r\n"
                        "Connection: close\r\n"
                        "\r\n", u->path, u->host_header, req->size);
    if ((rv = send_all(s, head, strlen(head), l)) != APR_SUCCESS
        || (rv = send_all(s, (const char *)req->data, req->size, l))
           != APR_SUCCESS) {
        goto net_error;
    }
    for (;;) {
        if (start && clen >= 0 && (apr_off_t)(len - (start - buf)) >= clen) {
            break;
        }
        if (len == TLS_OCSP_MAX_HTTP) {
            failed(ans, TLS_OCSP_ERR_HTTP, apr_psprintf(p, "answer larger "
                   "than %d bytes", TLS_OCSP_MAX_HTTP));
            goto done;
        }
        if ((rv = arm(s, l)) != APR_SUCCESS) {
            goto net_error;
        }
        n = TLS_OCSP_MAX_HTTP - len;
        rv = apr_socket_recv(s, buf + len, &n);
        len += n;
        if (!start && (start = header_end(buf, len))) {
            if ((err = parse_header(p, buf, start, &status, &clen))) {
                failed(ans, TLS_OCSP_ERR_HTTP, err);
                goto done;
            }
            if (status != 200) {
                failed(ans, TLS_OCSP_ERR_HTTP, apr_psprintf(p, "HTTP status "
                       "%d", status));
                goto done;
            }
        }
        if (APR_STATUS_IS_EOF(rv)) {
            if (!start) {
                failed(ans, TLS_OCSP_ERR_HTTP, len ? "connection closed "
                       "within the HTTP header" : "connection closed "
                       "without an answer");
                goto done;
            }
            if (clen >= 0 && (apr_off_t)(len - (start - buf)) < clen) {
                failed(ans, TLS_OCSP_ERR_HTTP, "connection closed before "
                       "the whole body");
                goto done;
            }
            break;
        }
        if (rv != APR_SUCCESS && !(APR_STATUS_IS_EAGAIN(rv) && n > 0)
            && !again(rv, l)) {
            goto net_error;
        }
    }
    body->data = (unsigned char *)start;
    body->size = (unsigned)(clen >= 0 ? clen : (apr_off_t)(len - (start - buf)));
    apr_socket_close(s);
    return APR_SUCCESS;

net_error:
    if (stopped(l)) {
        failed(ans, TLS_OCSP_ERR_TIMEOUT, "given up: the process is "
               "stopping");
    }
    else if (APR_STATUS_IS_TIMEUP(rv) || apr_time_now() >= l->deadline) {
        failed(ans, TLS_OCSP_ERR_TIMEOUT, len ? "the answer did not arrive "
               "whole before the deadline" : "no answer before the deadline");
    }
    else if (len == 0 && !start) {
        failed(ans, TLS_OCSP_ERR_HTTP, apr_psprintf(p, "connection lost "
               "before an answer: %s", errtext(p, rv)));
    }
    else {
        failed(ans, TLS_OCSP_ERR_HTTP, apr_psprintf(p, "connection lost: %s",
                                                     errtext(p, rv)));
    }
done:
    apr_socket_close(s);
    return APR_EGENERAL;
}

/* ------------------------------------------------------------ checks */

/* The OCSP certificate id of cert under the digest dig, in gnutls memory. */
static int cert_id(gnutls_digest_algorithm_t dig, gnutls_x509_crt_t cert,
                   gnutls_x509_crt_t issuer, gnutls_datum_t *name_hash,
                   gnutls_datum_t *key_hash, gnutls_datum_t *serial)
{
    gnutls_ocsp_req_t req;
    gnutls_digest_algorithm_t d;
    int rv;

    if ((rv = gnutls_ocsp_req_init(&req)) < 0) {
        return rv;
    }
    if ((rv = gnutls_ocsp_req_add_cert(req, dig, issuer, cert)) >= 0) {
        rv = gnutls_ocsp_req_get_cert_id(req, 0, &d, name_hash, key_hash,
                                         serial);
    }
    gnutls_ocsp_req_deinit(req);
    return rv;
}

static int same(const gnutls_datum_t *a, const gnutls_datum_t *b)
{
    return a->size == b->size && !memcmp(a->data, b->data, a->size);
}

apr_status_t tls_ocsp_key(gnutls_x509_crt_t cert, gnutls_x509_crt_t issuer,
                          unsigned char key[TLS_OCSP_KEY_SIZE])
{
    gnutls_datum_t nh = { NULL, 0 }, kh = { NULL, 0 }, sn = { NULL, 0 };
    gnutls_hash_hd_t h;
    int rv;

    rv = cert_id(GNUTLS_DIG_SHA1, cert, issuer, &nh, &kh, &sn);
    if (rv >= 0 && (rv = gnutls_hash_init(&h, GNUTLS_DIG_SHA256)) >= 0) {
        gnutls_hash(h, nh.data, nh.size);
        gnutls_hash(h, kh.data, kh.size);
        gnutls_hash(h, sn.data, sn.size);
        gnutls_hash_deinit(h, key);
    }
    gnutls_free(nh.data);
    gnutls_free(kh.data);
    gnutls_free(sn.data);
    return rv < 0 ? APR_EGENERAL : APR_SUCCESS;
}

/* Which single response of resp is about cert: its index, or -1. */
static int find_single(gnutls_ocsp_resp_t resp, gnutls_x509_crt_t cert,
                       gnutls_x509_crt_t issuer)
{
    gnutls_datum_t rn, rk, rs, nh, kh, sn;
    gnutls_digest_algorithm_t dig;
    int i, found = -1, rv;

    for (i = 0; i < 64 && found < 0; ++i) {
        rv = gnutls_ocsp_resp_get_single(resp, (unsigned)i, &dig, &rn, &rk,
                                         &rs, NULL, NULL, NULL, NULL, NULL);
        if (rv < 0) {
            break;
        }
        if (cert_id(dig, cert, issuer, &nh, &kh, &sn) >= 0) {
            if (same(&rn, &nh) && same(&rk, &kh) && same(&rs, &sn)) {
                found = i;
            }
            gnutls_free(nh.data);
            gnutls_free(kh.data);
            gnutls_free(sn.data);
        }
        gnutls_free(rn.data);
        gnutls_free(rk.data);
        gnutls_free(rs.data);
    }
    return found;
}

static const char *resp_status_name(int status)
{
    switch (status) {
    case GNUTLS_OCSP_RESP_MALFORMEDREQUEST: return "malformedRequest";
    case GNUTLS_OCSP_RESP_INTERNALERROR: return "internalError";
    case GNUTLS_OCSP_RESP_TRYLATER: return "tryLater";
    case GNUTLS_OCSP_RESP_SIGREQUIRED: return "sigRequired";
    case GNUTLS_OCSP_RESP_UNAUTHORIZED: return "unauthorized";
    default: return NULL;
    }
}

static const char *signer_problem(unsigned verify)
{
    if (verify & GNUTLS_OCSP_VERIFY_SIGNER_KEYUSAGE_ERROR) {
        return "signed by a certificate without the OCSP signing purpose";
    }
    if (verify & (GNUTLS_OCSP_VERIFY_UNTRUSTED_SIGNER
                  | GNUTLS_OCSP_VERIFY_SIGNER_NOT_FOUND)) {
        return "signed by a certificate the issuer did not issue";
    }
    if (verify & GNUTLS_OCSP_VERIFY_INSECURE_ALGORITHM) {
        return "signed with an insecure algorithm";
    }
    if (verify & GNUTLS_OCSP_VERIFY_CERT_NOT_ACTIVATED) {
        return "the responder certificate is not yet valid";
    }
    if (verify & GNUTLS_OCSP_VERIFY_CERT_EXPIRED) {
        return "the responder certificate has expired";
    }
    return "its signature is not the issuer's nor that of a responder "
           "the issuer authorized";
}

static apr_time_t from_time_t(time_t t)
{
    return t == (time_t)-1 ? 0 : apr_time_from_sec(t);
}

static void check_resp(apr_pool_t *p, gnutls_ocsp_resp_t resp,
                       gnutls_x509_crt_t cert, gnutls_x509_crt_t issuer,
                       const gnutls_datum_t *nonce, apr_time_t now,
                       tls_ocsp_answer_t *ans)
{
    gnutls_datum_t rnonce;
    unsigned verify = 0, cstatus = 0, reason = 0;
    time_t this_update, next_update, revoked_at;
    int rv, i;

    rv = gnutls_ocsp_resp_get_status(resp);
    if (rv != GNUTLS_OCSP_RESP_SUCCESSFUL) {
        const char *name = resp_status_name(rv);

        failed(ans, TLS_OCSP_ERR_RESPONDER, name ? name
               : apr_psprintf(p, "status %d", rv));
        return;
    }
    rv = gnutls_ocsp_resp_verify_direct(resp, issuer, &verify, 0);
    if (rv < 0) {
        failed(ans, TLS_OCSP_ERR_INVALID, apr_psprintf(p, "the response "
               "cannot be verified: %s", gnutls_strerror(rv)));
        return;
    }
    if (verify) {
        failed(ans, TLS_OCSP_ERR_INVALID, apr_pstrcat(p, "the response is ",
               signer_problem(verify), NULL));
        return;
    }
    if ((i = find_single(resp, cert, issuer)) < 0) {
        failed(ans, TLS_OCSP_ERR_INVALID, "the response is not about this "
               "certificate");
        return;
    }
    rv = gnutls_ocsp_resp_get_single(resp, (unsigned)i, NULL, NULL, NULL,
                                     NULL, &cstatus, &this_update,
                                     &next_update, &revoked_at, &reason);
    if (rv < 0) {
        failed(ans, TLS_OCSP_ERR_INVALID, gnutls_strerror(rv));
        return;
    }
    ans->this_update = from_time_t(this_update);
    ans->next_update = from_time_t(next_update);
    if (!ans->this_update || ans->this_update > now + TLS_OCSP_TIME_SKEW) {
        failed(ans, TLS_OCSP_ERR_INVALID, "the response's thisUpdate is in "
               "the future");
        return;
    }
    if (ans->next_update && ans->next_update < now - TLS_OCSP_TIME_SKEW) {
        failed(ans, TLS_OCSP_ERR_INVALID, "the response is out of date "
               "(its nextUpdate has passed)");
        return;
    }
    if (nonce && gnutls_ocsp_resp_get_nonce(resp, NULL, &rnonce) >= 0) {
        int match = same(&rnonce, nonce);

        gnutls_free(rnonce.data);
        if (!match) {
            failed(ans, TLS_OCSP_ERR_INVALID, "the response carries another "
                   "nonce than the request's");
            return;
        }
    }
    switch (cstatus) {
    case GNUTLS_OCSP_CERT_GOOD:
        ans->status = TLS_OCSP_GOOD;
        break;
    case GNUTLS_OCSP_CERT_REVOKED:
        ans->status = TLS_OCSP_REVOKED;
        ans->revoked_at = from_time_t(revoked_at);
        break;
    default:
        ans->status = TLS_OCSP_UNKNOWN;
        break;
    }
    ans->error = TLS_OCSP_ERR_NONE;
}

void tls_ocsp_check(apr_pool_t *p, const gnutls_datum_t *der,
                    gnutls_x509_crt_t cert, gnutls_x509_crt_t issuer,
                    const gnutls_datum_t *nonce, apr_time_t now,
                    tls_ocsp_answer_t *ans)
{
    gnutls_ocsp_resp_t resp;
    int rv;

    memset(ans, 0, sizeof(*ans));
    ans->der = *der;
    if ((rv = gnutls_ocsp_resp_init(&resp)) < 0) {
        failed(ans, TLS_OCSP_ERR_INVALID, gnutls_strerror(rv));
        return;
    }
    if ((rv = gnutls_ocsp_resp_import(resp, der)) < 0) {
        failed(ans, TLS_OCSP_ERR_HTTP, apr_psprintf(p, "the answer is no "
               "OCSP response: %s", gnutls_strerror(rv)));
    }
    else {
        check_resp(p, resp, cert, issuer, nonce, now, ans);
    }
    gnutls_ocsp_resp_deinit(resp);
}

/* ------------------------------------------------------------ fetch */

/* A request for cert with a fresh nonce, DER in pool p. */
static const char *make_request(apr_pool_t *p, gnutls_x509_crt_t cert,
                                gnutls_x509_crt_t issuer,
                                gnutls_datum_t *der, gnutls_datum_t *nonce)
{
    gnutls_ocsp_req_t req;
    gnutls_datum_t d = { NULL, 0 }, n = { NULL, 0 };
    int rv;

    if ((rv = gnutls_ocsp_req_init(&req)) < 0) {
        return gnutls_strerror(rv);
    }
    /* SHA-1 certificate ids: what every responder knows (RFC 5019) */
    if ((rv = gnutls_ocsp_req_add_cert(req, GNUTLS_DIG_SHA1, issuer,
                                       cert)) >= 0
        && (rv = gnutls_ocsp_req_randomize_nonce(req)) >= 0
        && (rv = gnutls_ocsp_req_get_nonce(req, NULL, &n)) >= 0
        && (rv = gnutls_ocsp_req_export(req, &d)) >= 0) {
        der->data = apr_pmemdup(p, d.data, d.size);
        der->size = d.size;
        nonce->data = apr_pmemdup(p, n.data, n.size);
        nonce->size = n.size;
    }
    gnutls_free(d.data);
    gnutls_free(n.data);
    gnutls_ocsp_req_deinit(req);
    return rv < 0 ? gnutls_strerror(rv) : NULL;
}

void tls_ocsp_fetch(apr_pool_t *p, const char *url, gnutls_x509_crt_t cert,
                    gnutls_x509_crt_t issuer, apr_time_t deadline,
                    volatile apr_uint32_t *stop, tls_ocsp_answer_t *ans)
{
    gnutls_datum_t req = { NULL, 0 }, nonce = { NULL, 0 }, body;
    limit_t limit = { deadline, stop };
    apr_pool_t *tmp;
    ocsp_url_t u;
    const char *err;

    memset(ans, 0, sizeof(*ans));
    if ((err = parse_url(p, url, &u))) {
        failed(ans, TLS_OCSP_ERR_URL, err);
        return;
    }
    apr_pool_create(&tmp, p);
    if ((err = make_request(tmp, cert, issuer, &req, &nonce))) {
        failed(ans, TLS_OCSP_ERR_INVALID, apr_pstrcat(p, "cannot make the "
               "request: ", err, NULL));
    }
    else if (http_post(tmp, &u, &req, &limit, &body, ans) == APR_SUCCESS) {
        tls_ocsp_check(p, &body, cert, issuer, &nonce, apr_time_now(), ans);
        ans->der.data = apr_pmemdup(p, body.data, body.size);
    }
    else if (ans->detail) {
        /* out of the pool about to go */
        ans->detail = apr_pstrdup(p, ans->detail);
    }
    apr_pool_destroy(tmp);
}
