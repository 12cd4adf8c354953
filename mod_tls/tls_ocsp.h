/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_OCSP_H
#define TLS_OCSP_H

#include <httpd.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

/* OCSP (RFC 6960) as a client, for one certificate and its issuer: the
 * responder's URL, one query by HTTP POST with a deadline, and the check
 * of what comes back. It knows nothing of connections or configuration:
 * client-certificate checks (tls_client_ocsp.c) use it during handshakes,
 * a stapling fetcher can use the same calls outside them. */

/* What an answer says about the certificate. */
typedef enum {
    TLS_OCSP_GOOD,
    TLS_OCSP_REVOKED,
    TLS_OCSP_UNKNOWN,       /* the responder does not know it */
    TLS_OCSP_FAILED,        /* no valid answer: see error and detail */
} tls_ocsp_status_t;

/* Why there is no valid answer. */
typedef enum {
    TLS_OCSP_ERR_NONE,
    TLS_OCSP_ERR_URL,         /* the URL is not one we can ask (http://) */
    TLS_OCSP_ERR_UNREACHABLE, /* name unknown, no connection */
    TLS_OCSP_ERR_TIMEOUT,     /* no whole answer before the deadline */
    TLS_OCSP_ERR_HTTP,        /* closed early, HTTP error, no OCSP response */
    TLS_OCSP_ERR_RESPONDER,   /* an error status: tryLater, internalError... */
    TLS_OCSP_ERR_INVALID,     /* signer, signature, certificate, times, nonce */
} tls_ocsp_error_t;

typedef struct {
    tls_ocsp_status_t status;
    tls_ocsp_error_t error;
    const char *detail;        /* FAILED: what went wrong, for log lines */
    apr_time_t this_update;
    apr_time_t next_update;    /* 0: the response names none */
    apr_time_t revoked_at;     /* REVOKED */
    gnutls_datum_t der;        /* the response as received (ERR_NONE) */
} tls_ocsp_answer_t;

/* Clock skew allowed for thisUpdate and nextUpdate (mod_ssl's default of
 * SSLOCSPResponseTimeSkew). */
#define TLS_OCSP_TIME_SKEW apr_time_from_sec(300)

/* The first http:// OCSP responder URL of the certificate's Authority
 * Information Access extension, or NULL (none, or only other schemes). */
const char *tls_ocsp_aia_url(apr_pool_t *p, gnutls_x509_crt_t crt);

/* NULL when url is one tls_ocsp_fetch() can ask: http://host[:port][/path];
 * else why not. */
const char *tls_ocsp_url_error(apr_pool_t *p, const char *url);

/* Asks the responder at url about cert (issued by issuer): one POST with a
 * fresh nonce, done or given up by deadline, and the answer checked as
 * tls_ocsp_check() does. Blocks the calling thread until then; memory of
 * its own comes and goes with a subpool of p. stop (NULL: none) calls it
 * off sooner: a fetch in the background is given up, as a timeout, soon
 * after *stop becomes non-zero (its process is on its way out). */
void tls_ocsp_fetch(apr_pool_t *p, const char *url, gnutls_x509_crt_t cert,
                    gnutls_x509_crt_t issuer, apr_time_t deadline,
                    volatile apr_uint32_t *stop, tls_ocsp_answer_t *ans);

/* Checks a DER OCSP response for cert at time now: a successful response,
 * signed by the issuer or by a responder certificate the issuer gave the
 * OCSP signing purpose, with a single response for this certificate,
 * current (thisUpdate not in the future, nextUpdate not past, with
 * TLS_OCSP_TIME_SKEW), echoing nonce if it carries one (NULL: no nonce
 * asked). ans->der is der. */
void tls_ocsp_check(apr_pool_t *p, const gnutls_datum_t *der,
                    gnutls_x509_crt_t cert, gnutls_x509_crt_t issuer,
                    const gnutls_datum_t *nonce, apr_time_t now,
                    tls_ocsp_answer_t *ans);

/* A short, stable key for (cert, issuer), for caches: SHA-256 over the
 * OCSP certificate id (issuer name and key hashes, serial number). */
#define TLS_OCSP_KEY_SIZE 32
apr_status_t tls_ocsp_key(gnutls_x509_crt_t cert, gnutls_x509_crt_t issuer,
                          unsigned char key[TLS_OCSP_KEY_SIZE]);

#endif /* TLS_OCSP_H */
