/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * mod_tls's own OCSP stapling (TLSOCSPStapling), the source tls_staple.c
 * asks after the provider modules. A certificate's response comes from
 * its TLSOCSPResponseFile, read and checked at startup, or from the
 * responder TLSOCSPStaplingResponder or the certificate's AIA names,
 * fetched in the background; handshakes only staple what the store
 * (tls_staple_store.c) holds, and never wait for anything else.
 *
 * Fetching. Every child process runs a few threads that look at the
 * store, under its lock, at least once a second; each takes the lease of
 * a certificate whose fetch is due and that no one holds, fetches
 * without the lock (tls_ocsp.c, one deadline), writes what came and when
 * the next fetch is due, and gives the lease back. So a certificate is
 * fetched once per refresh, for the whole server, however many children
 * there are; a responder that hangs holds up one thread, not the fetches
 * for the other certificates; a process that dies holding a lease loses
 * it when the lease runs out (the fetch's deadline and a margin), and
 * another takes over. A certificate's first fetch is due when it is first
 * seen; a response is fetched again at half of what is left of its
 * validity; a failed fetch is retried after 5, 10, 20 and then every 30
 * seconds, while the response held is stapled until its nextUpdate and
 * never after. The store outlives graceful restarts: the new children
 * staple at once and fetch nothing early. Each failed fetch makes one log
 * line, by the process that fetched, and none in handshakes.
 *
 * Why threads of the children, not the parent or mod_watchdog: they run
 * as the User, not root; the parent forks children and must not hold
 * locks of a fetch meanwhile; a lease in the shared store gives the one
 * fetch per refresh that a singleton watchdog would, without requiring
 * mod_watchdog, and keeps it across generations of children. */
#include <stddef.h>

#include <httpd.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <apr_atomic.h>
#include <apr_hash.h>
#include <apr_optional_hooks.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <mod_status.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "tls_certvars.h"
#include "tls_ocsp.h"
#include "tls_staple_store.h"
#include "tls_stapler.h"

APLOG_USE_MODULE(tls);

/* One fetch, connecting to reading the answer (mod_ssl's default of
 * SSLStaplingResponderTimeout). */
#define FETCH_TIMEOUT    apr_time_from_sec(10)
/* A lease lasts a fetch and this much more. */
#define LEASE_MARGIN     apr_time_from_sec(5)
/* How often a fetcher looks at the store, at least. */
#define POLL_INTERVAL    apr_time_from_sec(1)
/* Retries after a failed fetch: the first, and at most. */
#define RETRY_FIRST      apr_time_from_sec(5)
#define RETRY_MAX        apr_time_from_sec(30)
/* A response is not fetched again sooner than this. */
#define REFRESH_MIN      apr_time_from_sec(10)
/* How long a fetched response without nextUpdate is stapled (mod_ssl's
 * SSLStaplingStandardCacheTimeout). */
#define NO_NEXT_UPDATE   apr_time_from_sec(3600)
#define NEVER            ((apr_time_t)APR_INT64_MAX)

/* A certificate of this configuration, as the first server with
 * TLSOCSPStapling on that serves it showed it. */
typedef struct {
    unsigned char id[TLS_STAPLE_ID_SIZE];
    const char *subject;
    const char *cert_file;
    const char *pem;              /* the leaf, then its issuer */
    server_rec *s;                /* that server, for log lines */
    const char *url;              /* fetched from there; NULL: a file's */
    const tls_response_file_t *file;
    const char *problem;          /* why it is not stapled (startup) */
    int taken;                    /* stapled (from the store) */
    int slot;                     /* in the store; -1: none */
    /* a file's response, checked */
    gnutls_datum_t der;
    tls_ocsp_status_t status;
    apr_time_t this_update, expires;
} entry_t;

/* A TLSOCSPResponseFile line: which certificate it names. */
typedef struct {
    unsigned char id[TLS_STAPLE_ID_SIZE];
    const char *problem;          /* its certificate file cannot be read */
    int used;
} line_t;

/* This configuration's certificates and lines, made by the parent at
 * post_config (pre_config forgets the last ones), read by its children. */
static apr_array_header_t *entries;   /* entry_t* */
static apr_hash_t *by_id;             /* id -> entry_t* */
static apr_hash_t *lines;             /* tls_response_file_t* -> line_t* */

/* The leaf and issuer from the PEM a source is given (the two of them),
 * freed with p. */
static int parse_pair(apr_pool_t *p, const char *pem, gnutls_x509_crt_t *leaf,
                      gnutls_x509_crt_t *issuer)
{
    gnutls_datum_t data = { (unsigned char *)pem, (unsigned)strlen(pem) };
    gnutls_x509_crt_t *crts = NULL;
    unsigned n = 0, i;

    if (gnutls_x509_crt_list_import2(&crts, &n, &data, GNUTLS_X509_FMT_PEM,
                                     0) < 0) {
        return 0;
    }
    for (i = 0; i < n; ++i) {
        tls_certvars_adopt(p, crts[i]);
    }
    if (n >= 2) {
        *leaf = crts[0];
        *issuer = crts[1];
    }
    gnutls_free(crts);
    return n >= 2;
}

/* ---------------------------------------------------------------- files */

/* A small file, whole, into pool memory; NULL, or why not. */
static const char *read_small(apr_pool_t *p, const char *path,
                              apr_off_t max, gnutls_datum_t *out)
{
    apr_file_t *fd;
    apr_finfo_t fi;
    apr_size_t len = 0;
    apr_status_t rv;
    char ebuf[120];

    rv = apr_file_open(&fd, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    if (rv == APR_SUCCESS) {
        if ((rv = apr_file_info_get(&fi, APR_FINFO_SIZE, fd)) == APR_SUCCESS
            && fi.size > max) {
            apr_file_close(fd);
            return apr_psprintf(p, "'%s' is too large (%" APR_OFF_T_FMT
                                " bytes, more than %" APR_OFF_T_FMT ")",
                                path, fi.size, max);
        }
        if (rv == APR_SUCCESS) {
            len = (apr_size_t)fi.size;
            out->data = apr_palloc(p, len + 1);
            rv = apr_file_read_full(fd, out->data, len, &len);
            out->data[len] = '\0';
            out->size = (unsigned)len;
        }
        apr_file_close(fd);
    }
    return rv == APR_SUCCESS ? NULL : apr_psprintf(p, "cannot read '%s': %s",
                                   path, apr_strerror(rv, ebuf, sizeof(ebuf)));
}

/* The certificate a TLSOCSPResponseFile line names, read once per line:
 * the first of its file, by the id the sources know certificates by. */
static line_t *line_of(apr_pool_t *p, const tls_response_file_t *rf)
{
    line_t *ln = apr_hash_get(lines, &rf, sizeof(rf));
    gnutls_datum_t pem = { NULL, 0 }, der = { NULL, 0 };
    gnutls_x509_crt_t crt = NULL;
    int rv;

    if (ln) {
        return ln;
    }
    ln = apr_pcalloc(p, sizeof(*ln));
    apr_hash_set(lines, apr_pmemdup(p, &rf, sizeof(rf)), sizeof(rf), ln);
    if ((ln->problem = read_small(p, rf->cert_file, 1024 * 1024, &pem))) {
        return ln;
    }
    if ((rv = gnutls_x509_crt_init(&crt)) < 0
        || (rv = gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM)) < 0
        || (rv = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der)) < 0
        || (rv = gnutls_hash_fast(GNUTLS_DIG_SHA1, der.data, der.size,
                                  ln->id)) < 0) {
        ln->problem = apr_psprintf(p, "no PEM certificate in '%s': %s",
                                   rf->cert_file, gnutls_strerror(rv));
    }
    if (crt) {
        gnutls_x509_crt_deinit(crt);
    }
    gnutls_free(der.data);
    return ln;
}

/* The first of a server's TLSOCSPResponseFile lines (its own, then the
 * server config's) that names the certificate id, or NULL. */
static const tls_response_file_t *file_for(apr_pool_t *p,
                                           const tls_srv_conf_t *sc,
                                           const unsigned char *id)
{
    int i;

    for (i = 0; sc->response_files && i < sc->response_files->nelts; ++i) {
        const tls_response_file_t *rf = APR_ARRAY_IDX(sc->response_files, i,
                                                      tls_response_file_t *);
        line_t *ln = line_of(p, rf);

        if (!ln->problem && !memcmp(ln->id, id, TLS_STAPLE_ID_SIZE)) {
            ln->used = 1;
            return rf;
        }
    }
    return NULL;
}

/* Reads and checks an entry's response file as a fetched response is
 * checked (signer, certificate, times), and more strictly: past its
 * nextUpdate it is not stapled, not even within the clock skew allowed. */
static void load_file(apr_pool_t *p, entry_t *e, gnutls_x509_crt_t leaf,
                      gnutls_x509_crt_t issuer)
{
    tls_ocsp_answer_t ans;
    apr_time_t now = apr_time_now();
    char date[APR_RFC822_DATE_LEN];

    if ((e->problem = read_small(p, e->file->resp_file, TLS_STAPLE_MAX_DER,
                                 &e->der))) {
        return;
    }
    tls_ocsp_check(p, &e->der, leaf, issuer, NULL, now, &ans);
    if (ans.status == TLS_OCSP_FAILED) {
        e->problem = ans.error == TLS_OCSP_ERR_HTTP
                     ? "it holds no DER OCSP response" : ans.detail;
    }
    else if (ans.status == TLS_OCSP_UNKNOWN) {
        e->problem = "it says the certificate's status is unknown";
    }
    else if (ans.next_update && ans.next_update <= now) {
        apr_rfc822_date(date, ans.next_update);
        e->problem = apr_psprintf(p, "it has expired (nextUpdate %s)", date);
    }
    else {
        e->status = ans.status;
        e->this_update = ans.this_update;
        /* without a nextUpdate, for as long as the file is configured:
         * whoever put it there renews it */
        e->expires = ans.next_update ? ans.next_update : NEVER;
    }
}

/* ---------------------------------------------------------------- source */

/* Takes the certificate for server s when s has TLSOCSPStapling on and
 * there is a response to staple: a valid response file, or a responder to
 * ask. A certificate that several servers serve is set up by the first. */
static int stapler_prime(server_rec *s, apr_pool_t *p,
                         const tls_staple_cert_t *cert)
{
    tls_srv_conf_t *sc = tls_conf_srv_get(s);
    gnutls_x509_crt_t leaf, issuer;
    apr_pool_t *tmp;
    entry_t *e;

    if (sc->ocsp_stapling != 1) {
        return 0;
    }
    if (!entries) {
        entries = apr_array_make(p, 8, sizeof(entry_t *));
        by_id = apr_hash_make(p);
    }
    if ((e = apr_hash_get(by_id, cert->id, TLS_STAPLE_ID_SIZE))) {
        return e->taken;
    }
    e = apr_pcalloc(p, sizeof(*e));
    memcpy(e->id, cert->id, TLS_STAPLE_ID_SIZE);
    e->subject = cert->cert->subject;
    e->cert_file = cert->cert->cert_file;
    e->pem = cert->pem;
    e->s = s;
    e->slot = -1;
    apr_hash_set(by_id, e->id, TLS_STAPLE_ID_SIZE, e);
    APR_ARRAY_PUSH(entries, entry_t *) = e;
    apr_pool_create(&tmp, p);
    if (!parse_pair(tmp, cert->pem, &leaf, &issuer)) {
        e->problem = "its certificate or its issuer's cannot be parsed";
    }
    else if ((e->file = file_for(p, sc, cert->id))) {
        load_file(p, e, leaf, issuer);
    }
    else if (!(e->url = sc->stapling_responder)
             && !(e->url = tls_ocsp_aia_url(p, leaf))) {
        e->problem = "it names no http:// OCSP responder (Authority "
                     "Information Access) and no TLSOCSPStaplingResponder "
                     "is set";
    }
    apr_pool_destroy(tmp);
    e->taken = !e->problem;
    return e->taken;
}

static int quiet(void)
{
    /* the first of the two configuration passes at startup */
    return ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG;
}

/* The startup warnings for response file lines that name no certificate
 * this module staples: unreadable, or served by nobody who staples. */
static void warn_lines(server_rec *main_s, apr_pool_t *ptemp)
{
    apr_hash_t *told = apr_hash_make(ptemp);
    server_rec *s;
    int i;

    for (s = main_s; s; s = s->next) {
        const tls_srv_conf_t *sc = tls_conf_srv_get(s);

        for (i = 0; sc->response_files && i < sc->response_files->nelts;
             ++i) {
            const tls_response_file_t *rf = APR_ARRAY_IDX(
                sc->response_files, i, tls_response_file_t *);
            line_t *ln = lines ? apr_hash_get(lines, &rf, sizeof(rf)) : NULL;

            if (apr_hash_get(told, &rf, sizeof(rf)) || (ln && ln->used)) {
                continue;
            }
            apr_hash_set(told, apr_pmemdup(ptemp, &rf, sizeof(rf)),
                         sizeof(rf), rf);
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, main_s, "%s",
                         tls_conf_pos_error(ptemp, &rf->pos, "%s",
                             ln && ln->problem ? ln->problem
                             : "no virtual host with TLSOCSPStapling on "
                               "serves this certificate: the response is "
                               "not stapled"));
        }
    }
}

/* Puts what a certificate's response file holds into its slot: the
 * response replaces any other the slot had, and is never fetched. */
static void store_file(entry_t *e, tls_staple_slot_t *slot, apr_time_t now)
{
    slot->origin = TLS_STAPLE_FILE;
    memcpy(slot->der, e->der.data, e->der.size);
    slot->der_len = e->der.size;
    slot->status = e->status;
    slot->this_update = e->this_update;
    slot->expires = e->expires;
    slot->received = now;
    slot->next_fetch = NEVER;
    slot->lease_until = 0;
    slot->last_fetch = now;
    slot->last_ok = 1;
    slot->failures = 0;
    apr_snprintf(slot->last_result, sizeof(slot->last_result), "%s, read "
                 "from %s", e->status == TLS_OCSP_GOOD ? "good" : "revoked",
                 e->file->resp_file);
}

/* Once every certificate was shown: the warnings, then a slot in the
 * store for each certificate taken, where its file's response goes. */
static void stapler_primed(server_rec *main_s, apr_pool_t *pconf,
                           apr_pool_t *ptemp)
{
    apr_time_t now = apr_time_now();
    tls_staple_slot_t *slot;
    unsigned n = 0;
    apr_status_t rv;
    int i;

    if (!quiet()) {
        warn_lines(main_s, ptemp);
    }
    for (i = 0; entries && i < entries->nelts; ++i) {
        entry_t *e = APR_ARRAY_IDX(entries, i, entry_t *);

        n += e->taken;
        if (e->problem && !quiet()) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, e->s, "%s",
                e->file ? tls_conf_pos_error(ptemp, &e->file->pos,
                              "not stapling the response in '%s' for '%s': "
                              "%s", e->file->resp_file, e->subject,
                              e->problem)
                        : apr_psprintf(ptemp, "TLSOCSPStapling on for %s, "
                              "but no OCSP response can be stapled for '%s' "
                              "(%s): %s", tls_conf_server_id(ptemp, e->s),
                              e->subject, e->cert_file, e->problem));
        }
    }
    if (n == 0) {
        return;
    }
    if ((rv = tls_staple_store_open(main_s, pconf, n)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, main_s, "no shared memory "
                     "or lock for OCSP stapling: mod_tls staples no "
                     "response of its own (TLSOCSPStapling)");
        return;
    }
    for (i = 0; i < entries->nelts; ++i) {
        entry_t *e = APR_ARRAY_IDX(entries, i, entry_t *);

        if (!e->taken) {
            continue;
        }
        if ((e->slot = tls_staple_store_claim(e->id)) < 0) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, e->s, "no room left "
                         "for the OCSP response of '%s': not stapled",
                         e->subject);
            continue;
        }
        if (tls_staple_store_lock() != APR_SUCCESS) {
            continue;
        }
        if ((slot = tls_staple_store_slot(e->slot, e->id))) {
            if (e->file) {
                store_file(e, slot, now);
            }
            else if (slot->origin == TLS_STAPLE_FILE) {
                /* the file is gone from the configuration: from now on
                 * fetched, the file's response stapled meanwhile */
                slot->origin = TLS_STAPLE_FETCHED;
                slot->next_fetch = 0;
                slot->failures = 0;
            }
        }
        tls_staple_store_unlock();
    }
}

/* In a handshake: the response held, if it has not expired. */
static int stapler_get(tls_conn_t *tc, const tls_staple_cert_t *cert,
                       gnutls_datum_t *resp)
{
    entry_t *e = by_id ? apr_hash_get(by_id, cert->id, TLS_STAPLE_ID_SIZE)
                       : NULL;
    apr_time_t now = apr_time_now();
    tls_staple_slot_t *slot;
    int rv = GNUTLS_E_NO_CERTIFICATE_STATUS;

    resp->data = NULL;
    resp->size = 0;
    /* the server SNI chose: another one serving the same certificate
     * (the same credentials) may have TLSOCSPStapling off */
    if (!e || e->slot < 0 || tc->sc->ocsp_stapling != 1
        || tls_staple_store_lock() != APR_SUCCESS) {
        return rv;
    }
    slot = tls_staple_store_slot(e->slot, e->id);
    if (slot && slot->der_len && slot->expires > now
        && (resp->data = gnutls_malloc(slot->der_len))) {
        memcpy(resp->data, slot->der, slot->der_len);
        resp->size = slot->der_len;
        rv = 0;
    }
    tls_staple_store_unlock();
    return rv;
}

static const tls_staple_source_t tls_stapler_source = {
    "store of TLSOCSPStapling (fetched, or a TLSOCSPResponseFile)",
    stapler_prime, stapler_primed, stapler_get
};

/* ---------------------------------------------------------------- fetching */

/* A child's fetchers: a few threads, so that a responder that hangs holds
 * up one of them, not the fetches for every other certificate. */
typedef struct {
    apr_thread_mutex_t *mutex;    /* for cond */
    apr_thread_cond_t *cond;      /* wakes them to stop */
    volatile apr_uint32_t stop;
    apr_int32_t pid;
    int n;
    struct worker_t *workers;
} fetcher_t;

typedef struct worker_t {
    fetcher_t *f;
    apr_pool_t *pool;             /* its own, with its own allocator */
    apr_thread_t *thread;
    gnutls_x509_crt_t *leaf;      /* per entry; NULL: not fetched */
    gnutls_x509_crt_t *issuer;
    apr_time_t lease;             /* the lease it holds: until then */
} worker_t;

static int fetched(const entry_t *e)
{
    return e->taken && e->url && e->slot >= 0;
}

/* The store's lock, for a worker: given up once it is told to stop. On
 * prefork, the child's exit runs in a signal handler that may have
 * interrupted its main thread while it held the lock (stapling in a
 * handshake), and then waits for the workers: one waiting for the lock
 * would never come. */
static int worker_lock(worker_t *w)
{
    apr_status_t rv;

    while ((rv = tls_staple_store_trylock()) != APR_SUCCESS) {
        if (rv == APR_ENOTIMPL) {
            return tls_staple_store_lock() == APR_SUCCESS;
        }
        if (!APR_STATUS_IS_EBUSY(rv) || apr_atomic_read32(&w->f->stop)) {
            return 0;
        }
        apr_sleep(apr_time_from_msec(2));
    }
    return 1;
}

/* Takes the lease of the first certificate due that nobody fetches, and
 * returns its index; else -1, with *wake when to look again. */
static int take_due(worker_t *w, apr_time_t now, apr_time_t *wake)
{
    tls_staple_slot_t *slot;
    int i, chosen = -1;

    *wake = now + POLL_INTERVAL;
    if (!worker_lock(w)) {
        return -1;
    }
    for (i = 0; i < entries->nelts && chosen < 0; ++i) {
        entry_t *e = APR_ARRAY_IDX(entries, i, entry_t *);

        if (!w->leaf[i] || !(slot = tls_staple_store_slot(e->slot, e->id))
            || slot->origin != TLS_STAPLE_FETCHED) {
            continue;
        }
        if (slot->lease_until > now) {
            *wake = slot->lease_until < *wake ? slot->lease_until : *wake;
        }
        else if (slot->next_fetch <= now) {
            /* (its time tells this lease from a later one) */
            w->lease = slot->lease_until = now + FETCH_TIMEOUT + LEASE_MARGIN;
            slot->lease_pid = w->f->pid;
            chosen = i;
        }
        else if (slot->next_fetch < *wake) {
            *wake = slot->next_fetch;
        }
    }
    tls_staple_store_unlock();
    return chosen;
}

/* Why a fetch brought nothing to staple, for the log and mod_status. */
static const char *fetch_problem(apr_pool_t *p, const tls_ocsp_answer_t *ans,
                                 apr_time_t now)
{
    static const char *const reasons[] = {
        [TLS_OCSP_ERR_URL] = "OCSP responder URL not usable",
        [TLS_OCSP_ERR_UNREACHABLE] = "OCSP responder unreachable",
        [TLS_OCSP_ERR_TIMEOUT] = "OCSP responder timed out",
        [TLS_OCSP_ERR_HTTP] = "OCSP responder sent no valid response",
        [TLS_OCSP_ERR_INVALID] = "OCSP response not valid",
    };

    switch (ans->status) {
    case TLS_OCSP_GOOD:
    case TLS_OCSP_REVOKED:
        if (ans->next_update && ans->next_update <= now) {
            return "OCSP response not valid (its nextUpdate has passed)";
        }
        if (ans->der.size > TLS_STAPLE_MAX_DER) {
            return apr_psprintf(p, "OCSP response too large to keep (%u "
                                "bytes, more than %d)", ans->der.size,
                                TLS_STAPLE_MAX_DER);
        }
        return NULL;
    case TLS_OCSP_UNKNOWN:
        return "the responder does not know the certificate (status "
               "unknown)";
    default:
        if (ans->error == TLS_OCSP_ERR_RESPONDER) {
            return apr_pstrcat(p, "OCSP responder answered ", ans->detail,
                               NULL);
        }
        return apr_psprintf(p, "%s (%s)", (apr_size_t)ans->error
                            < sizeof(reasons) / sizeof(reasons[0])
                            && reasons[ans->error]
                            ? reasons[ans->error] : "OCSP fetch failed",
                            ans->detail ? ans->detail : "?");
    }
}

/* Fetches entry i, whose lease the worker holds, and records what came
 * (or how it failed) and when it is due again; then the log line. */
static void fetch_one(worker_t *w, int i)
{
    entry_t *e = APR_ARRAY_IDX(entries, i, entry_t *);
    char date[APR_RFC822_DATE_LEN];
    tls_staple_slot_t *slot;
    tls_ocsp_answer_t ans;
    const char *why;
    apr_time_t now, delay = 0, held = 0;
    apr_uint32_t failures = 0;
    apr_pool_t *p;
    int stopped, recorded = 0;

    apr_pool_create(&p, w->pool);
    now = apr_time_now();
    tls_ocsp_fetch(p, e->url, w->leaf[i], w->issuer[i], now + FETCH_TIMEOUT,
                   &w->f->stop, &ans);
    now = apr_time_now();
    stopped = apr_atomic_read32(&w->f->stop);
    why = stopped ? NULL : fetch_problem(p, &ans, now);
    if (!worker_lock(w)) {
        apr_pool_destroy(p);
        return;
    }
    slot = tls_staple_store_slot(e->slot, e->id);
    if (slot && slot->lease_pid == w->f->pid
        && slot->lease_until == w->lease) {
        /* stopped: another process fetches it, at once */
        slot->lease_until = 0;
        recorded = !stopped;
    }
    if (recorded && !why) {
        memcpy(slot->der, ans.der.data, ans.der.size);
        slot->der_len = ans.der.size;
        slot->status = ans.status;
        slot->this_update = ans.this_update;
        slot->expires = ans.next_update ? ans.next_update
                                        : now + NO_NEXT_UPDATE;
        slot->received = now;
        delay = (slot->expires - now) / 2;
        delay = delay < REFRESH_MIN ? REFRESH_MIN : delay;
        failures = slot->failures;
        slot->failures = 0;
        held = slot->expires;
    }
    else if (recorded) {
        failures = ++slot->failures;
        delay = failures > 3 ? RETRY_MAX : RETRY_FIRST << (failures - 1);
        delay = delay > RETRY_MAX ? RETRY_MAX : delay;
        held = slot->der_len && slot->expires > now ? slot->expires : 0;
    }
    if (recorded) {
        slot->next_fetch = now + delay;
        slot->last_fetch = now;
        slot->last_ok = !why;
        apr_cpystrn(slot->last_result, why ? why : ans.status
                    == TLS_OCSP_GOOD ? "good" : "revoked",
                    sizeof(slot->last_result));
    }
    tls_staple_store_unlock();
    if (!recorded) {
        apr_pool_destroy(p);
        return;
    }
    if (why) {
        if (held) {
            apr_rfc822_date(date, held);
        }
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, e->s, "fetching the OCSP "
                     "response for '%s' from %s failed: %s; %s%s; next "
                     "attempt in %d s", e->subject, e->url, why,
                     held ? "stapling the response held until "
                          : "no response to staple",
                     held ? date : "", (int)apr_time_sec(delay));
    }
    else {
        apr_rfc822_date(date, held);
        if (ans.status == TLS_OCSP_REVOKED) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, e->s, "the OCSP "
                         "responder at %s says the certificate '%s' (%s) is "
                         "REVOKED: stapling that answer, valid until %s",
                         e->url, e->subject, e->cert_file, date);
        }
        ap_log_error(APLOG_MARK, failures ? APLOG_INFO : APLOG_DEBUG, 0,
                     e->s, "fetched the OCSP response for '%s' from %s%s: "
                     "%s, valid until %s; next fetch in %d s", e->subject,
                     e->url, failures ? " again" : "",
                     ans.status == TLS_OCSP_GOOD ? "good" : "revoked", date,
                     (int)apr_time_sec(delay));
    }
    apr_pool_destroy(p);
}

/* Sleeps until wake, POLL_INTERVAL at most, or until told to stop. */
static void doze(fetcher_t *f, apr_time_t wake)
{
    apr_interval_time_t t = wake - apr_time_now();

    if (t <= 0) {
        return;
    }
    apr_thread_mutex_lock(f->mutex);
    if (!apr_atomic_read32(&f->stop)) {
        apr_thread_cond_timedwait(f->cond, f->mutex,
                                  t < POLL_INTERVAL ? t : POLL_INTERVAL);
    }
    apr_thread_mutex_unlock(f->mutex);
}

static void *APR_THREAD_FUNC worker_run(apr_thread_t *thread, void *data)
{
    worker_t *w = data;
    apr_time_t wake;
    int i;

    /* its own certificate objects: GnuTLS's are not for sharing */
    for (i = 0; i < entries->nelts; ++i) {
        entry_t *e = APR_ARRAY_IDX(entries, i, entry_t *);

        if (fetched(e) && !parse_pair(w->pool, e->pem, &w->leaf[i],
                                      &w->issuer[i])) {
            w->leaf[i] = NULL;
        }
    }
    while (!apr_atomic_read32(&w->f->stop)) {
        if ((i = take_due(w, apr_time_now(), &wake)) >= 0) {
            fetch_one(w, i);
        }
        else {
            doze(w->f, wake);
        }
    }
    /* a return, not apr_thread_exit(): pthread_exit() from this frame
     * leaves it poisoned for AddressSanitizer, whose own clean-up at the
     * thread's end then reports it; the thread's pool goes with the
     * child's */
    (void)thread;
    return NULL;
}

/* Before the child's pool goes (its subpools, the threads' among them,
 * go first): stops the threads, whose fetches give up within a fraction
 * of a second. */
static apr_status_t fetcher_stop(void *data)
{
    fetcher_t *f = data;
    apr_status_t rv;
    int i;

    apr_thread_mutex_lock(f->mutex);
    apr_atomic_set32(&f->stop, 1);
    apr_thread_cond_broadcast(f->cond);
    apr_thread_mutex_unlock(f->mutex);
    for (i = 0; i < f->n; ++i) {
        apr_thread_join(&rv, f->workers[i].thread);
    }
    return APR_SUCCESS;
}

static apr_status_t worker_make(apr_pool_t *pchild, fetcher_t *f,
                                worker_t *w)
{
    apr_allocator_t *alloc;
    apr_status_t rv;

    w->f = f;
    w->leaf = apr_pcalloc(pchild, entries->nelts * sizeof(*w->leaf));
    w->issuer = apr_pcalloc(pchild, entries->nelts * sizeof(*w->issuer));
    if ((rv = apr_allocator_create(&alloc)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = apr_pool_create_ex(&w->pool, pchild, NULL, alloc))
        != APR_SUCCESS) {
        apr_allocator_destroy(alloc);
        return rv;
    }
    apr_allocator_owner_set(alloc, w->pool);
    return apr_thread_create(&w->thread, NULL, worker_run, w, pchild);
}

/* The threads, in each child, when this configuration fetches anything:
 * one per certificate fetched, TLS_STAPLE_WORKERS at most. They take no
 * signal: the MPM's are for the child's main thread (prefork's wait for
 * them in accept()). */
#define TLS_STAPLE_WORKERS 4

static void fetcher_start(apr_pool_t *pchild, server_rec *s)
{
    sigset_t all, old;
    fetcher_t *f;
    apr_status_t rv;
    int i, n = 0;

    for (i = 0; i < entries->nelts; ++i) {
        n += fetched(APR_ARRAY_IDX(entries, i, entry_t *));
    }
    if (n == 0) {
        return;
    }
    f = apr_pcalloc(pchild, sizeof(*f));
    f->pid = (apr_int32_t)getpid();
    f->workers = apr_pcalloc(pchild, TLS_STAPLE_WORKERS * sizeof(worker_t));
    if ((rv = apr_thread_mutex_create(&f->mutex, APR_THREAD_MUTEX_DEFAULT,
                                      pchild)) != APR_SUCCESS
        || (rv = apr_thread_cond_create(&f->cond, pchild)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "cannot set up the OCSP "
                     "stapling fetchers of this process");
        return;
    }
    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    sigdelset(&all, SIGABRT);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (rv = APR_SUCCESS; rv == APR_SUCCESS && f->n < n
                           && f->n < TLS_STAPLE_WORKERS; ) {
        if ((rv = worker_make(pchild, f, &f->workers[f->n])) == APR_SUCCESS) {
            ++f->n;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "cannot start %s OCSP "
                     "stapling fetcher of this process",
                     f->n ? "another" : "the");
    }
    if (f->n) {
        apr_pool_pre_cleanup_register(pchild, f, fetcher_stop);
    }
}

/* ---------------------------------------------------------------- status */

/* What mod_status shows of one certificate. */
typedef struct {
    const char *status;     /* good, revoked, expired, none */
    const char *until;      /* the held response's end, or "-" */
    const char *last;       /* the last fetch (or reading) and its result */
} report_t;

static void report(apr_pool_t *p, const entry_t *e, apr_time_t now,
                   report_t *r)
{
    tls_staple_slot_t *slot, copy;
    char date[APR_RFC822_DATE_LEN];
    int have = 0;

    r->status = "none";
    r->until = "-";
    r->last = e->problem ? apr_pstrcat(p, "not stapled: ", e->problem, NULL)
                         : "not yet";
    if (e->slot >= 0 && tls_staple_store_lock() == APR_SUCCESS) {
        if ((slot = tls_staple_store_slot(e->slot, e->id))) {
            memcpy(&copy, slot, offsetof(tls_staple_slot_t, der));
            have = 1;
        }
        tls_staple_store_unlock();
    }
    if (!have) {
        return;
    }
    if (copy.der_len) {
        r->status = copy.expires <= now ? "expired"
                  : copy.status == TLS_OCSP_REVOKED ? "revoked" : "good";
        if (copy.expires == NEVER) {
            r->until = "no nextUpdate";
        }
        else {
            apr_rfc822_date(date, copy.expires);
            r->until = apr_pstrdup(p, date);
        }
    }
    if (copy.last_fetch) {
        apr_rfc822_date(date, copy.last_fetch);
        r->last = apr_psprintf(p, "%s %s: %s", date,
                               copy.last_ok ? "ok" : "failed",
                               copy.last_result);
    }
    else if (copy.lease_until > now) {
        r->last = "under way";
    }
}

static int stapler_status(request_rec *r, int flags)
{
    apr_time_t now = apr_time_now();
    report_t rep;
    int i;

    if (!entries || entries->nelts == 0) {
        return OK;
    }
    if (!(flags & AP_STATUS_SHORT)) {
        ap_rputs("<hr />\n<h2>mod_tls OCSP stapling</h2>\n<table>\n"
                 "<tr><th>Certificate</th><th>Responses from</th>"
                 "<th>Stapled</th><th>Valid until</th>"
                 "<th>Last fetch</th></tr>\n", r);
    }
    for (i = 0; i < entries->nelts; ++i) {
        const entry_t *e = APR_ARRAY_IDX(entries, i, entry_t *);
        const char *from = e->file ? e->file->resp_file
                         : e->url ? e->url : "-";

        report(r->pool, e, now, &rep);
        if (flags & AP_STATUS_SHORT) {
            ap_rprintf(r, "TLSOCSPStapling%dCertificate: %s\n"
                       "TLSOCSPStapling%dSource: %s\n"
                       "TLSOCSPStapling%dStatus: %s\n"
                       "TLSOCSPStapling%dNextUpdate: %s\n"
                       "TLSOCSPStapling%dLastFetch: %s\n",
                       i + 1, e->subject, i + 1, from, i + 1, rep.status,
                       i + 1, rep.until, i + 1, rep.last);
        }
        else {
            ap_rprintf(r, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                       "<td>%s</td></tr>\n", ap_escape_html(r->pool,
                       e->subject), ap_escape_html(r->pool, from), rep.status,
                       ap_escape_html(r->pool, rep.until),
                       ap_escape_html(r->pool, rep.last));
        }
    }
    if (!(flags & AP_STATUS_SHORT)) {
        ap_rputs("</table>\n", r);
    }
    return OK;
}

/* ---------------------------------------------------------------- hooks */

/* TLSOCSPStaplingResponder must be a URL the client can ask, for
 * `apachectl -t` and startup alike; the line is named. */
static const char *check_settings(apr_pool_t *p, server_rec *main_s)
{
    server_rec *s;
    const char *err;

    for (s = main_s; s; s = s->next) {
        tls_srv_conf_t *sc = tls_conf_srv_get(s);

        if (sc->stapling_responder
            && (err = tls_ocsp_url_error(p, sc->stapling_responder))) {
            return tls_conf_pos_error(p, &sc->stapling_responder_pos, "%s",
                                      err);
        }
    }
    return NULL;
}

static int stapler_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp)
{
    (void)plog; (void)ptemp;
    entries = NULL;
    by_id = NULL;
    lines = apr_hash_make(pconf);
    tls_staple_store_pre_config(pconf);
    return OK;
}

static int stapler_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s)
{
    (void)pconf; (void)plog;
    return tls_conf_check_post_config(ptemp, s, check_settings);
}

static void stapler_test_config(apr_pool_t *pconf, server_rec *s)
{
    tls_conf_check_test_config(pconf, s, check_settings);
}

static void stapler_child_init(apr_pool_t *pchild, server_rec *s)
{
    if (!entries || !tls_staple_store_ready()) {
        return;
    }
    tls_staple_store_child_init(pchild);
    fetcher_start(pchild, s);
}

void tls_stapler_register_hooks(apr_pool_t *p)
{
    (void)p;
    tls_staple_add_source(&tls_stapler_source);
    ap_hook_pre_config(stapler_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* before tls_staple.c's, which shows it the certificates */
    ap_hook_post_config(stapler_post_config, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_test_config(stapler_test_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(stapler_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, stapler_status, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
