/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Certificates and keys: read and checked when the config is parsed, turned
 * into GnuTLS credentials and priority caches once per configuration, and
 * shared read-only by every connection. */
#include <httpd.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <http_log.h>
#include <http_core.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>
#include <gnutls/pkcs11.h>
#include <unixd.h>

#include "tls_certvars.h"
#include "tls_config.h"
#include "tls_cred.h"
#include "tls_md.h"
#include "tls_verify.h"

APLOG_USE_MODULE(tls);

#define TLS_EXPIRY_WARN_DAYS 30

static apr_status_t wipe_datum(void *data)
{
    gnutls_datum_t *d = data;

    if (d->data) {
        gnutls_memset(d->data, 0, d->size);
    }
    return APR_SUCCESS;
}

/* Reads a whole file into pool memory, NUL-terminated for PEM parsers. */
static const char *read_file(apr_pool_t *p, apr_pool_t *ptemp,
                             const char *path, gnutls_datum_t *out)
{
    apr_file_t *fd;
    apr_finfo_t fi;
    apr_status_t rv;
    apr_size_t len;
    char *buf;

    rv = apr_file_open(&fd, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0,
                       ptemp);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE, fd);
    }
    if (rv == APR_SUCCESS && fi.size > 10 * 1024 * 1024) {
        apr_file_close(fd);
        return apr_psprintf(p, "'%s' is too large for a certificate "
                            "or key file", path);
    }
    if (rv == APR_SUCCESS) {
        len = (apr_size_t)fi.size;
        buf = apr_palloc(p, len + 1);
        rv = apr_file_read_full(fd, buf, len, &len);
        apr_file_close(fd);
        buf[len] = '\0';
        out->data = (unsigned char *)buf;
        out->size = (unsigned int)len;
    }
    if (rv != APR_SUCCESS) {
        char ebuf[256];
        return apr_psprintf(p, "cannot read '%s': %s", path,
                            apr_strerror(rv, ebuf, sizeof(ebuf)));
    }
    return NULL;
}

/* GnuTLS offers the first certificate a client can use, so the order of
 * the TLSCertificate lines would decide. Ordering by key type gives every
 * client the best one it supports, whatever the order: ECDSA (fast, all
 * modern clients), then Ed25519, then RSA for the rest. */
static int key_preference(int pk)
{
    switch (pk) {
    case GNUTLS_PK_ECDSA: return 0;
    case GNUTLS_PK_EDDSA_ED25519: return 1;
    case GNUTLS_PK_EDDSA_ED448: return 2;
    case GNUTLS_PK_RSA_PSS: return 3;
    case GNUTLS_PK_RSA: return 4;
    default: return 5;
    }
}

/* The TLS group id of an ECDSA key's curve (RFC 8422), 0 for other keys:
 * in TLS 1.2 the client's supported_groups must name it. */
static int ecdsa_group(gnutls_x509_crt_t crt)
{
    gnutls_ecc_curve_t curve;

    if (gnutls_x509_crt_get_pk_algorithm(crt, NULL) != GNUTLS_PK_ECDSA
        || gnutls_x509_crt_get_pk_ecc_raw(crt, &curve, NULL, NULL) < 0) {
        return 0;
    }
    switch (curve) {
    case GNUTLS_ECC_CURVE_SECP256R1: return 23;
    case GNUTLS_ECC_CURVE_SECP384R1: return 24;
    case GNUTLS_ECC_CURVE_SECP521R1: return 25;
    default: return 0;
    }
}

/* Leaf expiry and subject, for the startup warning and messages. */
static const char *inspect_leaf(apr_pool_t *p, tls_cert_t *cert)
{
    gnutls_x509_crt_t crt;
    int rv;

    if ((rv = gnutls_x509_crt_init(&crt)) < 0) {
        return gnutls_strerror(rv);
    }
    rv = gnutls_x509_crt_import(crt, &cert->cert_pem, GNUTLS_X509_FMT_PEM);
    if (rv < 0) {
        gnutls_x509_crt_deinit(crt);
        return apr_psprintf(p, "cannot parse certificate in '%s': %s",
                            cert->cert_file, gnutls_strerror(rv));
    }
    cert->not_after = apr_time_from_sec(gnutls_x509_crt_get_expiration_time(crt));
    cert->preference = key_preference(
        gnutls_x509_crt_get_pk_algorithm(crt, NULL));
    cert->group = ecdsa_group(crt);
    cert->subject = tls_certvars_subject(p, crt);
    gnutls_x509_crt_deinit(crt);
    return NULL;
}

/* Adds a certificate and its key to credentials; the one place keys enter
 * GnuTLS, both for the parse-time check and for the real credentials. */
static int cred_add(gnutls_certificate_credentials_t creds,
                    const tls_cert_t *cert)
{
    if (tls_conf_is_pkcs11(cert->key_file)) {
        return gnutls_certificate_set_x509_key_file2(
            creds, cert->cert_file, cert->key_file, GNUTLS_X509_FMT_PEM,
            NULL, 0);
    }
    return gnutls_certificate_set_x509_key_mem2(
        creds, &cert->cert_pem, &cert->key_pem, GNUTLS_X509_FMT_PEM, NULL, 0);
}

/* Whether a PKCS#11 URI attribute name is "pin-value". p11-kit takes
 * names as written, but a name in capitals or percent-encoded is hidden
 * too: redacting more than the token would use costs nothing. */
static int is_pin_value(const char *name, apr_size_t len)
{
    static const char want[] = "pin-value";
    apr_size_t i = 0, j = 0;
    int c;

    while (i < len) {
        c = (unsigned char)name[i++];
        if (c == '%' && i + 1 < len && apr_isxdigit(name[i])
            && apr_isxdigit(name[i + 1])) {
            char hex[3] = { name[i], name[i + 1], '\0' };

            c = (int)strtol(hex, NULL, 16);
            i += 2;
        }
        if (j >= sizeof(want) - 1 || apr_tolower(c) != want[j]) {
            return 0;
        }
        ++j;
    }
    return j == sizeof(want) - 1;
}

/* The attributes are cut where p11-kit (RFC 7512) cuts them: at ';' in
 * the path, at the first '?' that starts the query, at '&' in the query.
 * So exactly what the token would be given as PIN is hidden, whatever the
 * order of the attributes and whether the PIN is in the path (as GnuTLS
 * accepts) or in the query; a percent-encoded PIN is hidden as written.
 * pin-source stays: it names where the PIN is kept (a file that its
 * permissions protect), not the PIN, and tells the admin which file. */
const char *tls_cred_redact_uri(apr_pool_t *p, const char *key_file)
{
    apr_array_header_t *parts;
    const char *s, *end, *eq;
    int query = 0;

    if (!tls_conf_is_pkcs11(key_file)) {
        return key_file;
    }
    parts = apr_array_make(p, 16, sizeof(const char *));
    APR_ARRAY_PUSH(parts, const char *) = "pkcs11:";
    for (s = key_file + sizeof("pkcs11:") - 1; ; s = end + 1) {
        end = s + strcspn(s, query ? "&" : ";?");
        eq = memchr(s, '=', (apr_size_t)(end - s));
        if (eq && is_pin_value(s, (apr_size_t)(eq - s))) {
            APR_ARRAY_PUSH(parts, const char *) =
                apr_pstrmemdup(p, s, (apr_size_t)(eq + 1 - s));
            APR_ARRAY_PUSH(parts, const char *) = "***";
        }
        else {
            APR_ARRAY_PUSH(parts, const char *) =
                apr_pstrmemdup(p, s, (apr_size_t)(end - s));
        }
        if (!*end) {
            break;
        }
        APR_ARRAY_PUSH(parts, const char *) = apr_pstrmemdup(p, end, 1);
        query = query || *end == '?';
    }
    return apr_array_pstrcat(p, parts, '\0');
}

/* Messages name keys through tls_cred_redact_uri() only: a pkcs11: URI
 * may hold the PIN. GnuTLS's messages describe the failure, never the key
 * material nor the URI. */
static const char *cred_add_error(apr_pool_t *p, const tls_cert_t *cert,
                                  int rv)
{
    const char *key = tls_cred_redact_uri(p, cert->key_file);

    if (rv == GNUTLS_E_CERTIFICATE_KEY_MISMATCH) {
        return apr_psprintf(p, "the private key in '%s' does not belong to "
                            "the certificate in '%s'", key, cert->cert_file);
    }
    if (rv == GNUTLS_E_BASE64_DECODING_ERROR
        || rv == GNUTLS_E_BASE64_UNEXPECTED_HEADER_ERROR) {
        return apr_psprintf(p, "no PEM private key found in '%s'", key);
    }
    return apr_psprintf(p, "cannot use certificate '%s' with key '%s': %s",
                        cert->cert_file, key, gnutls_strerror(rv));
}

/* Imports a PKCS#11 key and signs with it, as the calling process's user:
 * what a child process does in its first handshake. NULL, or why not. */
static const char *try_pkcs11_key(apr_pool_t *p, const char *url)
{
    static const char text[] = "mod_tls: can this process sign?";
    const gnutls_datum_t data = { (unsigned char *)text, sizeof(text) - 1 };
    gnutls_datum_t sig = { NULL, 0 };
    gnutls_privkey_t key;
    gnutls_sign_algorithm_t algo;
    int rv, pk;

    if ((rv = gnutls_privkey_init(&key)) < 0) {
        return gnutls_strerror(rv);
    }
    rv = gnutls_privkey_import_url(key, url, 0);
    if (rv >= 0) {
        pk = gnutls_privkey_get_pk_algorithm(key, NULL);
        algo = gnutls_pk_to_sign(pk, pk == GNUTLS_PK_EDDSA_ED25519
                                     ? GNUTLS_DIG_SHA512
                                     : pk == GNUTLS_PK_EDDSA_ED448
                                     ? GNUTLS_DIG_SHAKE_256
                                     : GNUTLS_DIG_SHA256);
        /* a key type without a signature here: importing it must do */
        if (algo != GNUTLS_SIGN_UNKNOWN) {
            rv = gnutls_privkey_sign_data2(key, algo, 0, &data, &sig);
            gnutls_free(sig.data);
        }
    }
    gnutls_privkey_deinit(key);
    if (rv == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE
        || rv == GNUTLS_E_PKCS11_REQUESTED_OBJECT_NOT_AVAILBLE) {
        /* GnuTLS says no more when the token itself is out of reach */
        return apr_psprintf(p, "%s (no key matching the URI was found: is "
                            "the token there, and readable by this user?)",
                            gnutls_strerror(rv));
    }
    if (rv == GNUTLS_E_PKCS11_PIN_ERROR && strstr(url, "pin-source=")) {
        /* also what an unreadable PIN file gives */
        return apr_psprintf(p, "%s (is the pin-source file readable by this "
                            "user?)", gnutls_strerror(rv));
    }
    return rv < 0 ? gnutls_strerror(rv) : NULL;
}

/* Becomes the User and Group of the child processes, in mod_unixd's order
 * (groups, chroot, user), in a process that started as root. */
static const char *become_child_user(apr_pool_t *p)
{
    const char *name = ap_unixd_config.user_name;
    struct passwd *pw;

    if (!name || name[0] == '#') {
        pw = getpwuid(ap_unixd_config.user_id);
        name = pw ? pw->pw_name : NULL;
    }
    if (setgid(ap_unixd_config.group_id) != 0
        || (name && initgroups(name, ap_unixd_config.group_id) != 0)) {
        return apr_psprintf(p, "cannot switch to group %s: %s",
                            ap_unixd_config.group_name, strerror(errno));
    }
    if (ap_unixd_config.chroot_dir
        && (chdir(ap_unixd_config.chroot_dir) != 0
            || chroot(ap_unixd_config.chroot_dir) != 0 || chdir("/") != 0)) {
        return apr_psprintf(p, "cannot chroot to %s: %s",
                            ap_unixd_config.chroot_dir, strerror(errno));
    }
    if (setuid(ap_unixd_config.user_id) != 0) {
        return apr_psprintf(p, "cannot switch to user id %ld: %s",
                            (long)ap_unixd_config.user_id, strerror(errno));
    }
    return NULL;
}

/* try_pkcs11_key() in a forked process that has become the child
 * processes' user, with its answer sent back through a pipe. The fork
 * leaves this process's PKCS#11 state alone: the check process
 * re-initialises the modules for itself (as the children do, GnuTLS
 * noticing the fork) and ends with _exit(), finalising nothing. */
static const char *try_pkcs11_key_forked(apr_pool_t *p, const char *url)
{
    char buf[1024];
    const char *err;
    apr_size_t len = 0;
    ssize_t n;
    int fds[2], status;
    pid_t pid, w;

    if (pipe(fds) != 0) {
        return apr_psprintf(p, "cannot check it: pipe: %s", strerror(errno));
    }
    if ((pid = fork()) < 0) {
        err = apr_psprintf(p, "cannot check it: fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return err;
    }
    if (pid == 0) {
        close(fds[0]);
        err = become_child_user(p);
        if (!err) {
            gnutls_pkcs11_reinit();
            err = try_pkcs11_key(p, url);
        }
        if (err) {
            n = write(fds[1], err, strlen(err));
        }
        _exit(err ? 1 : 0);
    }
    close(fds[1]);
    while (len < sizeof(buf) - 1
           && ((n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0
               || (n < 0 && errno == EINTR))) {
        len += n > 0 ? (apr_size_t)n : 0;
    }
    buf[len] = '\0';
    close(fds[0]);
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
    }
    /* a message is a failure; the status tells of a check that died */
    if (len) {
        return apr_pstrdup(p, buf);
    }
    if (w == pid && WIFSIGNALED(status)) {
        return apr_psprintf(p, "the process checking it was killed by "
                            "signal %d", WTERMSIG(status));
    }
    if (w == pid && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
        return "the process checking it failed";
    }
    return NULL;
}

/* Refuses a PKCS#11 key that the child processes could not use: a token
 * that only root may read passes every check made by the parent (root)
 * and then fails every handshake. Started as root, httpd checks in a
 * process that has become the User; otherwise every process runs as this
 * user, and the check runs here. */
static const char *check_key_user(apr_pool_t *p, const tls_cert_t *cert)
{
    const char *user, *why;
    struct passwd *pw;

    if (geteuid() == 0) {
        user = ap_unixd_config.user_name ? ap_unixd_config.user_name
             : apr_psprintf(p, "#%ld", (long)ap_unixd_config.user_id);
        why = try_pkcs11_key_forked(p, cert->key_file);
    }
    else {
        pw = getpwuid(geteuid());
        user = pw ? apr_pstrdup(p, pw->pw_name)
                  : apr_psprintf(p, "#%ld", (long)geteuid());
        why = try_pkcs11_key(p, cert->key_file);
    }
    if (!why) {
        return NULL;
    }
    return apr_psprintf(p, "the PKCS#11 key '%s' cannot be used by user %s "
                        "(the user child processes run as): %s",
                        tls_cred_redact_uri(p, cert->key_file), user, why);
}

/* Reads a TLSCertificate's files and checks that they make a usable
 * certificate and key; once per line, however many vhosts inherit it. */
static const char *cert_load(apr_pool_t *p, apr_pool_t *ptemp,
                             tls_cert_t *cert)
{
    gnutls_certificate_credentials_t creds;
    const char *err;
    int rv;

    if (cert->cert_pem.data) {
        return NULL;
    }
    if ((err = read_file(p, ptemp, cert->cert_file, &cert->cert_pem))) {
        return err;
    }
    if (!tls_conf_is_pkcs11(cert->key_file)) {
        if ((err = read_file(p, ptemp, cert->key_file, &cert->key_pem))) {
            return err;
        }
        apr_pool_cleanup_register(p, &cert->key_pem, wipe_datum,
                                  apr_pool_cleanup_null);
    }
    if ((err = inspect_leaf(p, cert))) {
        return err;
    }
    /* Not root: the check as the child user is the first look at the
     * token, so that its failure names the user. */
    if (tls_conf_is_pkcs11(cert->key_file) && geteuid() != 0
        && (err = check_key_user(p, cert))) {
        return err;
    }
    /* Loading into throw-away credentials checks the key matches. */
    if ((rv = gnutls_certificate_allocate_credentials(&creds)) < 0) {
        return gnutls_strerror(rv);
    }
    rv = cred_add(creds, cert);
    gnutls_certificate_free_credentials(creds);
    if (rv < 0) {
        return cred_add_error(p, cert, rv);
    }
    /* Root: what root can use, the User may still not. */
    if (tls_conf_is_pkcs11(cert->key_file) && geteuid() == 0) {
        return check_key_user(p, cert);
    }
    return NULL;
}

/* Checks that a PEM file of CA certificates (or CRLs) can be used. */
static const char *check_pem_file(apr_pool_t *p, const char *path, int crl)
{
    gnutls_certificate_credentials_t creds;
    int rv;

    if ((rv = gnutls_certificate_allocate_credentials(&creds)) < 0) {
        return gnutls_strerror(rv);
    }
    rv = crl ? gnutls_certificate_set_x509_crl_file(creds, path,
                                                    GNUTLS_X509_FMT_PEM)
             : gnutls_certificate_set_x509_trust_file(creds, path,
                                                      GNUTLS_X509_FMT_PEM);
    gnutls_certificate_free_credentials(creds);
    if (rv == GNUTLS_E_FILE_ERROR) {
        return apr_psprintf(p, "cannot read '%s'", path);
    }
    if (rv < 0) {
        return apr_psprintf(p, "cannot use '%s': %s", path,
                            gnutls_strerror(rv));
    }
    if (rv == 0) {
        return apr_psprintf(p, "no PEM %s found in '%s'",
                            crl ? "CRL" : "certificate", path);
    }
    return NULL;
}

static apr_status_t free_creds(void *data)
{
    gnutls_certificate_free_credentials(data);
    return APR_SUCCESS;
}

static apr_status_t free_prio(void *data)
{
    gnutls_priority_deinit(data);
    return APR_SUCCESS;
}

static void warn_expiry(server_rec *s, const tls_cert_t *cert)
{
    apr_time_t left = cert->not_after - apr_time_now();
    char date[APR_RFC822_DATE_LEN];

    if (left > apr_time_from_sec(TLS_EXPIRY_WARN_DAYS * 86400)) {
        return;
    }
    apr_rfc822_date(date, cert->not_after);
    if (left <= 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "certificate %s (%s) has expired on %s", cert->cert_file,
                     cert->subject, date);
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "certificate %s (%s) expires in %d days, on %s",
                     cert->cert_file, cert->subject,
                     (int)(apr_time_sec(left) / 86400), date);
    }
}

/* Orders certificates by key type, keeping the order they came in for
 * the same type (the config's, then the providers'): a stable insertion
 * sort of a handful of entries. */
static void sort_by_preference(apr_array_header_t *certs)
{
    tls_cert_t **c = (tls_cert_t **)certs->elts;
    int i, j;

    for (i = 1; i < certs->nelts; ++i) {
        tls_cert_t *x = c[i];

        for (j = i; j > 0 && c[j - 1]->preference > x->preference; --j) {
            c[j] = c[j - 1];
        }
        c[j] = x;
    }
}

/* Loads every file the server's credentials need, checked, with the
 * position of the line that names a broken one. */
static const char *load_files(apr_pool_t *p, apr_pool_t *ptemp,
                              tls_srv_conf_t *sc)
{
    const char *err;
    int i;

    for (i = 0; sc->certs && i < sc->certs->nelts; ++i) {
        tls_cert_t *cert = APR_ARRAY_IDX(sc->certs, i, tls_cert_t *);

        if ((err = cert_load(p, ptemp, cert))) {
            return tls_conf_pos_error(p, &cert->pos, "%s", err);
        }
    }
    if (sc->client_ca && (err = check_pem_file(p, sc->client_ca, 0))) {
        return tls_conf_pos_error(p, &sc->client_ca_pos, "%s", err);
    }
    if (sc->client_crl && (err = check_pem_file(p, sc->client_crl, 1))) {
        return tls_conf_pos_error(p, &sc->client_crl_pos, "%s", err);
    }
    return NULL;
}

/* What the server serves: its TLSCertificate lines and what other modules
 * provide (tls_md.c), loaded and checked, in the order the credentials
 * offer them. As with mod_ssl, where a provided certificate has the key
 * type of one of the server's own, it replaces it (OpenSSL keeps one
 * certificate per key type, the last one set, and mod_ssl sets the
 * provided ones last); the rest stay side by side. */
static const char *served_certs(apr_pool_t *p, apr_pool_t *ptemp,
                                tls_srv_conf_t *sc,
                                const tls_md_files_t *provided,
                                apr_array_header_t **pcerts)
{
    apr_array_header_t *certs = sc->certs ? apr_array_copy(p, sc->certs)
                              : apr_array_make(p, 2, sizeof(tls_cert_t *));
    const char *err;
    int i, j, k;

    for (i = 0; i < provided->cert_files->nelts; ++i) {
        tls_cert_t *cert = apr_pcalloc(p, sizeof(*cert));

        cert->cert_file = APR_ARRAY_IDX(provided->cert_files, i,
                                        const char *);
        cert->key_file = APR_ARRAY_IDX(provided->key_files, i, const char *);
        cert->pos = sc->engine_pos;
        cert->provided = 1;
        if ((err = cert_load(p, ptemp, cert))) {
            return tls_conf_pos_error(p, &cert->pos, "the %scertificate "
                                      "another module (mod_md) provided: %s",
                                      provided->fallback ? "fallback " : "",
                                      err);
        }
        for (j = k = 0; j < certs->nelts; ++j) {
            tls_cert_t *own = APR_ARRAY_IDX(certs, j, tls_cert_t *);

            if (own->provided || own->preference != cert->preference) {
                APR_ARRAY_IDX(certs, k++, tls_cert_t *) = own;
            }
        }
        certs->nelts = k;
        APR_ARRAY_PUSH(certs, tls_cert_t *) = cert;
    }
    sort_by_preference(certs);
    *pcerts = certs;
    return NULL;
}

/* Credentials offering built->certs, each at the index of its place
 * (without the ECDSA ones when no_ecdsa, see setup_ecdsa_fallback). */
static const char *setup_creds(apr_pool_t *p, server_rec *s,
                               tls_srv_conf_t *sc, const tls_built_t *built,
                               int no_ecdsa,
                               gnutls_certificate_credentials_t *pcreds)
{
    gnutls_certificate_credentials_t creds;
    int i, rv;

    if ((rv = gnutls_certificate_allocate_credentials(&creds)) < 0) {
        return gnutls_strerror(rv);
    }
    apr_pool_cleanup_register(p, creds, free_creds, apr_pool_cleanup_null);
    gnutls_certificate_set_flags(creds, GNUTLS_CERTIFICATE_API_V2);
    gnutls_certificate_set_known_dh_params(creds, GNUTLS_SEC_PARAM_MEDIUM);
    if (sc->client_ca
        && (rv = gnutls_certificate_set_x509_trust_file(
                creds, sc->client_ca, GNUTLS_X509_FMT_PEM)) < 0) {
        return tls_conf_pos_error(p, &sc->client_ca_pos, "%s: %s",
                                  sc->client_ca, gnutls_strerror(rv));
    }
    if (sc->client_crl
        && (rv = gnutls_certificate_set_x509_crl_file(
                creds, sc->client_crl, GNUTLS_X509_FMT_PEM)) < 0) {
        return tls_conf_pos_error(p, &sc->client_crl_pos, "%s: %s",
                                  sc->client_crl, gnutls_strerror(rv));
    }
    gnutls_certificate_set_verify_function(creds, tls_verify_peer);
    for (i = 0; i < built->certs->nelts; ++i) {
        const tls_cert_t *cert = APR_ARRAY_IDX(built->certs, i, tls_cert_t *);

        if (no_ecdsa && cert->group) {
            continue;
        }
        /* with GNUTLS_CERTIFICATE_API_V2 the index it gets (tls_staple.c
         * relies on it being its place among the certificates offered) */
        if ((rv = cred_add(creds, cert)) < 0) {
            return tls_conf_pos_error(p, &cert->pos, "%s",
                                      cred_add_error(p, cert, rv));
        }
        /* a provider renews its certificates, and warns itself */
        if (!cert->provided && !no_ecdsa
            && ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
            warn_expiry(s, cert);
        }
    }
    *pcreds = creds;
    return NULL;
}

static const char *setup_prio(apr_pool_t *p, tls_srv_conf_t *sc,
                              tls_built_t *built)
{
    const char *err_pos = NULL;
    int rv;

    rv = gnutls_priority_init2(&built->prio, built->prio_string, &err_pos, 0);
    if (rv < 0) {
        return tls_conf_pos_error(p, &sc->priorities_pos,
                                  "invalid priorities '%s' (with TLSProtocol "
                                  "applied): %s", built->prio_string,
                                  gnutls_strerror(rv));
    }
    apr_pool_cleanup_register(p, built->prio, free_prio,
                              apr_pool_cleanup_null);
    return NULL;
}

/* Credentials without the ECDSA certificates, for TLS 1.2 clients that
 * cannot use their curve: mod_ssl (OpenSSL) then offers another key type
 * or refuses, where GnuTLS alone would offer the ECDSA key anyway. */
static const char *setup_ecdsa_fallback(apr_pool_t *p, server_rec *s,
                                        tls_srv_conf_t *sc, tls_built_t *built)
{
    int i;

    for (i = 0; i < built->certs->nelts; ++i) {
        const tls_cert_t *cert = APR_ARRAY_IDX(built->certs, i, tls_cert_t *);

        if (cert->group) {
            if (!built->ecdsa_groups) {
                built->ecdsa_groups = apr_array_make(p, 2, sizeof(int));
            }
            APR_ARRAY_PUSH(built->ecdsa_groups, int) = cert->group;
        }
    }
    return built->ecdsa_groups
           ? setup_creds(p, s, sc, built, 1, &built->creds_no_ecdsa) : NULL;
}

static int allows_tls13(gnutls_priority_t prio)
{
    const unsigned *list;
    int i, n = gnutls_priority_protocol_list(prio, &list);

    for (i = 0; i < n; ++i) {
        if (list[i] == GNUTLS_TLS1_3) {
            return 1;
        }
    }
    return 0;
}

static int has_group(const apr_array_header_t *groups, int group)
{
    int i;

    for (i = 0; i < groups->nelts; ++i) {
        if (APR_ARRAY_IDX(groups, i, int) == group) {
            return 1;
        }
    }
    return 0;
}

gnutls_certificate_credentials_t tls_cred_for_hello(const tls_built_t *built,
                                                    const tls_hello_t *hello)
{
    int i;

    /* TLS 1.3 matches keys to the client's signature algorithms, which
     * name the curve; no supported_groups: any curve is fine (RFC 8422) */
    if (!built->creds_no_ecdsa || !hello->groups
        || (hello->tls13 && built->tls13)) {
        return built->creds;
    }
    for (i = 0; i < built->ecdsa_groups->nelts; ++i) {
        if (!has_group(hello->groups,
                       APR_ARRAY_IDX(built->ecdsa_groups, i, int))) {
            return built->creds_no_ecdsa;
        }
    }
    return built->creds;
}

/* Whether two lists hold the same certificates, in the same order. */
static int same_list(const apr_array_header_t *a, const apr_array_header_t *b)
{
    return a->nelts == b->nelts
        && !memcmp(a->elts, b->elts, (size_t)a->nelts * sizeof(tls_cert_t *));
}

/* Builds a TLS server's credentials and priority cache; vhosts that
 * serve the same as the main server share its objects. testing: the
 * `apachectl -t` run. */
static const char *setup_server(apr_pool_t *p, apr_pool_t *ptemp,
                                server_rec *s, tls_srv_conf_t *sc,
                                const tls_srv_conf_t *base, int testing)
{
    tls_built_t *built = apr_pcalloc(p, sizeof(*built));
    tls_md_files_t provided;
    const char *err;

    if ((err = load_files(p, ptemp, sc))) {
        return err;
    }
    tls_md_collect(p, s, sc, testing, &provided);
    if ((err = served_certs(p, ptemp, sc, &provided, &built->certs))) {
        return err;
    }
    built->fallback = provided.fallback;
    if (built->certs->nelts == 0 && !provided.deferred) {
        return tls_conf_pos_error(p, &sc->engine_pos,
                                  "no TLSCertificate configured for %s%s",
                                  tls_conf_server_id(p, s),
                                  tls_md_have_providers()
                                  ? ", and no module provided one (mod_md: "
                                    "is the name in an MDomain?)" : "");
    }
    if (provided.deferred && built->certs->nelts == 0) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "%s has no "
                     "TLSCertificate: its certificates are left to the "
                     "modules that provide them (mod_md), and checked at "
                     "startup", tls_conf_server_id(ptemp, s));
    }
    if (base && base != sc && base->built
        && same_list(base->built->certs, built->certs)
        && base->client_ca == sc->client_ca
        && base->client_crl == sc->client_crl) {
        built->creds = base->built->creds;
        built->creds_no_ecdsa = base->built->creds_no_ecdsa;
        built->ecdsa_groups = base->built->ecdsa_groups;
    }
    else if ((err = setup_creds(p, s, sc, built, 0, &built->creds))
             || (err = setup_ecdsa_fallback(p, s, sc, built))) {
        return err;
    }
    built->prio_string = tls_conf_priority_string(p, sc);
    if (base && base != sc && base->built
        && !strcmp(base->built->prio_string, built->prio_string)) {
        built->prio = base->built->prio;
    }
    else if ((err = setup_prio(p, sc, built))) {
        return err;
    }
    built->tls13 = allows_tls13(built->prio);
    sc->built = built;
    return NULL;
}

/* ---------------------------------------------------------------- backends */

/* Reads and checks the files of a TLSProxy* record; once per record,
 * however many scopes share it, whether its engine is on or not (a
 * mistake is refused before someone turns it on). */
static const char *proxy_load_files(apr_pool_t *p, apr_pool_t *ptemp,
                                    tls_proxy_conf_t *pc)
{
    const char *err;

    if (pc->cert && (err = cert_load(p, ptemp, pc->cert))) {
        return tls_conf_pos_error(p, &pc->cert->pos, "%s", err);
    }
    if (pc->ca_file && (err = check_pem_file(p, pc->ca_file, 0))) {
        return tls_conf_pos_error(p, &pc->ca_pos, "%s", err);
    }
    if (pc->crl_file && (err = check_pem_file(p, pc->crl_file, 1))) {
        return tls_conf_pos_error(p, &pc->crl_pos, "%s", err);
    }
    return NULL;
}

static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* Records that trust and present the same share their credentials: the
 * system trust store is read once, not once per virtual host. */
static int same_proxy_creds(const tls_proxy_conf_t *a,
                            const tls_proxy_conf_t *b)
{
    return same_str(a->ca_file, b->ca_file)
        && same_str(a->crl_file, b->crl_file) && a->cert == b->cert;
}

static const char *proxy_setup_creds(apr_pool_t *p, server_rec *s,
                                     tls_proxy_conf_t *pc,
                                     gnutls_certificate_credentials_t *pcreds)
{
    gnutls_certificate_credentials_t creds;
    int rv;

    if ((rv = gnutls_certificate_allocate_credentials(&creds)) < 0) {
        return gnutls_strerror(rv);
    }
    apr_pool_cleanup_register(p, creds, free_creds, apr_pool_cleanup_null);
    if (pc->ca_file) {
        if ((rv = gnutls_certificate_set_x509_trust_file(
                creds, pc->ca_file, GNUTLS_X509_FMT_PEM)) < 0) {
            return tls_conf_pos_error(p, &pc->ca_pos, "%s: %s", pc->ca_file,
                                      gnutls_strerror(rv));
        }
    }
    else if ((rv = gnutls_certificate_set_x509_system_trust(creds)) <= 0) {
        /* not fatal: a TLSProxyCA elsewhere may be all that is meant */
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "the system's trust store has no CA certificates for "
                     "mod_tls (%s): backends can only be verified against a "
                     "TLSProxyCA", rv < 0 ? gnutls_strerror(rv) : "empty");
    }
    if (pc->crl_file
        && (rv = gnutls_certificate_set_x509_crl_file(
                creds, pc->crl_file, GNUTLS_X509_FMT_PEM)) < 0) {
        return tls_conf_pos_error(p, &pc->crl_pos, "%s: %s", pc->crl_file,
                                  gnutls_strerror(rv));
    }
    if (pc->cert && (rv = cred_add(creds, pc->cert)) < 0) {
        return tls_conf_pos_error(p, &pc->cert->pos, "%s",
                                  cred_add_error(p, pc->cert, rv));
    }
    if (pc->cert && ap_state_query(AP_SQ_MAIN_STATE)
                    != AP_SQ_MS_CREATE_PRE_CONFIG) {
        warn_expiry(s, pc->cert);
    }
    gnutls_certificate_set_verify_function(creds, tls_verify_backend);
    *pcreds = creds;
    return NULL;
}

/* Builds what the backend connections of a TLSProxy* record use, sharing
 * with the records built before it (done) where they configure the
 * same. */
static const char *proxy_setup(apr_pool_t *p, apr_pool_t *ptemp,
                               server_rec *s, tls_proxy_conf_t *pc,
                               apr_array_header_t *done)
{
    tls_built_t *built;
    const char *err, *err_pos = NULL;
    int i, rv;

    if (!pc || pc->built) {
        return NULL;
    }
    for (i = 0; i < done->nelts; ++i) {
        if (APR_ARRAY_IDX(done, i, tls_proxy_conf_t *) == pc) {
            return NULL;
        }
    }
    if ((err = proxy_load_files(p, ptemp, pc))) {
        return err;
    }
    APR_ARRAY_PUSH(done, tls_proxy_conf_t *) = pc;
    if (pc->engine != 1) {
        return NULL;
    }
    built = apr_pcalloc(p, sizeof(*built));
    built->prio_string = tls_conf_proxy_priority_string(p, pc);
    for (i = 0; i < done->nelts; ++i) {
        tls_proxy_conf_t *x = APR_ARRAY_IDX(done, i, tls_proxy_conf_t *);

        if (x->built && !built->creds && same_proxy_creds(x, pc)) {
            built->creds = x->built->creds;
        }
        if (x->built && !built->prio
            && !strcmp(x->built->prio_string, built->prio_string)) {
            built->prio = x->built->prio;
        }
    }
    if (!built->creds
        && (err = proxy_setup_creds(p, s, pc, &built->creds))) {
        return err;
    }
    if (!built->prio) {
        rv = gnutls_priority_init2(&built->prio, built->prio_string,
                                   &err_pos, 0);
        if (rv < 0) {
            return tls_conf_pos_error(p, &pc->priorities_pos,
                                      "invalid priorities '%s' (with "
                                      "TLSProxyProtocol applied): %s",
                                      built->prio_string,
                                      gnutls_strerror(rv));
        }
        apr_pool_cleanup_register(p, built->prio, free_prio,
                                  apr_pool_cleanup_null);
    }
    pc->built = built;
    return NULL;
}

/* Every TLSProxy* record: each server's own, and those of the <Proxy>
 * sections (found in mod_proxy's configuration; see
 * tls_conf_apply_defaults, which resolved them). */
static const char *proxy_setup_all(apr_pool_t *p, apr_pool_t *ptemp,
                                   server_rec *main_s)
{
    apr_array_header_t *done = apr_array_make(ptemp, 8,
                                              sizeof(tls_proxy_conf_t *));
    const char *err;
    server_rec *s;
    int i;

    for (s = main_s; s; s = s->next) {
        apr_array_header_t *secs = tls_conf_proxy_sections(s);

        if ((err = proxy_setup(p, ptemp, s, tls_conf_proxy_of_server(s),
                               done))) {
            return err;
        }
        for (i = 0; secs && i < secs->nelts; ++i) {
            if ((err = proxy_setup(p, ptemp, s, tls_conf_proxy_of_dir(
                    APR_ARRAY_IDX(secs, i, ap_conf_vector_t *)), done))) {
                return err;
            }
        }
    }
    return NULL;
}

/* Runs every TLS server's setup, then the backends'; the first error ends
 * it. */
static const char *setup_all(apr_pool_t *p, apr_pool_t *ptemp,
                             server_rec *main_s, int testing)
{
    tls_srv_conf_t *base = tls_conf_srv_get(main_s);
    const char *err;
    server_rec *s;

    for (s = main_s; s; s = s->next) {
        tls_srv_conf_t *sc = tls_conf_srv_get(s);

        if (sc->engine == 1
            && (err = setup_server(p, ptemp, s, sc, base, testing))) {
            return err;
        }
    }
    return proxy_setup_all(p, ptemp, main_s);
}

/* After mod_md's first post_config (it names mod_tls.c as its successor),
 * so that its registry is ready when the certificate hooks run. */
static int tls_hook_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp, server_rec *s)
{
    const char *err;

    (void)plog;
    if ((err = setup_all(pconf, ptemp, s, 0))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "%s", err);
        return !OK;
    }
    ap_add_version_component(pconf, "mod_tls/" MOD_TLS_VERSION);
    return OK;
}

/* `apachectl -t` does not run post_config, yet must fail on a TLS server
 * that cannot start; the check runs in a pool thrown away after. */
static const char *check_all(apr_pool_t *ptemp, server_rec *s)
{
    tls_conf_apply_defaults(s);
    return setup_all(ptemp, ptemp, s, 1);
}

static void tls_hook_test_config(apr_pool_t *pconf, server_rec *s)
{
    tls_conf_check_test_config(pconf, s, check_all);
}

void tls_cred_register_hooks(apr_pool_t *p)
{
    (void)p;
    /* before the cache derives ticket keys into what this builds */
    ap_hook_post_config(tls_hook_post_config, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_test_config(tls_hook_test_config, NULL, NULL, APR_HOOK_MIDDLE);
}
