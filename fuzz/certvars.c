/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The certificate variables of any DER certificate: every name mod_tls
 * answers (SSL_SERVER_* and SSL_CLIENT_* without their prefix), the
 * StdEnvVars export for either side, the extensions' values (PeerExtList),
 * the PEM and FakeBasicAuth's one-line subject. Bytes after the
 * certificate, if any, are more variable names, one per line.
 *
 * Beyond memory errors it checks the RFC 2253 strings (S_DN, I_DN and the
 * issuer in CERT_RFC4523_CEA): every special character of a value is
 * escaped, so splitting the string at its unescaped ',' and '+' gives as
 * many attributes as the DN has; a value cannot forge another. And the
 * subject is what mod_ssl makes of it, as S_DN and as FakeBasicAuth's user
 * name (tls_certvars_legacy_dn): OpenSSL's, linked in, wherever OpenSSL
 * reads the certificate and the subject has only attributes both name
 * alike and string values. */
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <openssl/x509.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>

#include "fuzz.h"
#include "../mod_tls/tls_certvars.h"

static const char *const names[] = {
    "M_VERSION", "M_SERIAL", "V_START", "V_END", "V_REMAIN", "A_SIG",
    "A_KEY", "CERT", "CERT_RFC4523_CEA", "S_DN", "I_DN",
    "SAN_DNS_0", "SAN_DNS_1", "SAN_DNS_2", "SAN_DNS_7", "SAN_DNS_39",
    "SAN_Email_0", "SAN_Email_1", "SAN_Email_2",
    "SAN_OTHER_msUPN_0", "SAN_OTHER_msUPN_1", "SAN_OTHER_dnsSRV_0",
    "SAN_OTHER_dnsSRV_1",
    /* indexes nobody has */
    "SAN_DNS_9999", "SAN_Email_0042", "SAN_OTHER_msUPN_9999",
};

/* the _DN_x components mod_ssl offers (tls_certvars.c's dn_attrs) */
static const char *const components[] = {
    "C", "ST", "L", "O", "OU", "CN", "T", "I", "G", "S", "D", "UID", "Email",
};

static const char *const index_suffixes[] = {
    "", "_0", "_1", "_2", "_10", "_2147483647", "_2147483648",
    "_4294967296", "_99999999999999999999", "_", "_x", "_1x",
};

/* names that are no certificate variable: NULL */
static const char *const not_vars[] = {
    "", "S", "S_D", "S_DNx", "I_DNS", "M_VERSIONX", "SAN_DNS_", "SAN_DNS_x",
    "SAN_URI_0", "SAN_Email_", "VERIFY", "CERT_CHAIN_0", "V_REMAIN_1",
    "SAN_DNS_1x", "SAN_DNS_10000", "SAN_DNS_2147483648",
    "SAN_DNS_99999999999999999999", "SAN_Email_-1", "SAN_OTHER_msUPN_",
    "SAN_OTHER_0", "SAN_OTHER_dnsSRV_ 1",
};

/* extensions asked for by OID (PeerExtList) besides the certificate's own */
static const char *const ext_oids[] = {
    "2.5.29.17", "2.5.29.19", "1.3.6.1.4.1.99999.1", "1.2.3", "",
};

static void check_ext_values(apr_pool_t *p, gnutls_x509_crt_t crt,
                             const char *oid)
{
    apr_array_header_t *v = tls_certvars_ext_values(p, crt, oid);
    int i;

    FUZZ_CHECK(v != NULL, "no list for extension %s", oid);
    for (i = 0; i < v->nelts; ++i) {
        (void)strlen(APR_ARRAY_IDX(v, i, const char *));
    }
}

/* Walks an RFC 2253 string as a reader would: the number of attributes,
 * or -1 where a value shows a special character unescaped (RFC 2253 2.4:
 * ',', '+', '"', '\\', '<', '>', ';', a leading '#' or space, a trailing
 * space). */
static int dn_count(const char *s)
{
    const char *hex = "0123456789ABCDEFabcdef";
    int n = *s ? 1 : 0, in_value = 0, at_start = 0, plain_space = 0;

    for (; *s; ++s) {
        if (*s == '\\') {
            if (s[1] && strchr(",+\"\\<>;#= ", s[1])) {
                ++s;
            }
            else if (s[1] && s[2] && strchr(hex, s[1]) && strchr(hex, s[2])) {
                s += 2;
            }
            else {
                return -1;
            }
            at_start = plain_space = 0;
        }
        else if (!in_value) {
            if (*s == '=') {
                in_value = at_start = 1;
            }
            else if (strchr(",+\"<>;# ", *s)) {
                return -1;
            }
        }
        else if (*s == ',' || *s == '+') {
            if (plain_space) {
                return -1;
            }
            ++n;
            in_value = 0;
        }
        else if (strchr("\"<>;", *s) || (at_start && strchr("# ", *s))) {
            return -1;
        }
        else {
            plain_space = *s == ' ';
            at_start = 0;
        }
    }
    return plain_space ? -1 : n;
}

static int dn_size(gnutls_x509_dn_t dn)
{
    gnutls_x509_ava_st ava;
    int irdn, iava, n = 0;

    for (irdn = 0;; ++irdn) {
        for (iava = 0; gnutls_x509_dn_get_rdn_ava(dn, irdn, iava, &ava) >= 0;
             ++iava) {
            ++n;
        }
        if (iava == 0) {
            return n;
        }
    }
}

static void check_dn(gnutls_x509_crt_t crt, const char *name, const char *v)
{
    gnutls_x509_dn_t dn;
    int got, want;

    if ((name[0] == 'I' ? gnutls_x509_crt_get_issuer(crt, &dn)
                        : gnutls_x509_crt_get_subject(crt, &dn)) < 0) {
        return;
    }
    got = dn_count(v);
    want = dn_size(dn);
    FUZZ_CHECK(got == want, "%s has %d attributes, %d read from '%s'",
               name, want, got, v);
}

static void check_var(apr_pool_t *p, gnutls_x509_crt_t crt, const char *name,
                      int known)
{
    const char *v = tls_certvars_get(p, crt, name);

    if (known) {
        FUZZ_CHECK(v != NULL, "no value for %s", name);
    }
    if (v) {
        /* a whole string: ASan sees the read past a missing NUL */
        (void)strlen(v);
    }
    if (v && (!strcmp(name, "S_DN") || !strcmp(name, "I_DN"))) {
        check_dn(crt, name, v);
    }
}

static void check_cea(gnutls_x509_crt_t crt, const char *cea)
{
    const char *start = strstr(cea, "rdnSequence:\"");
    size_t len = strlen(cea);
    char *issuer;

    if (!*cea) {
        return;
    }
    FUZZ_CHECK(!strncmp(cea, "{ serialNumber ", 15) && start
               && len >= 3 && !strcmp(cea + len - 3, "\" }"),
               "CERT_RFC4523_CEA '%s'", cea);
    start += strlen("rdnSequence:\"");
    issuer = strndup(start, (size_t)(cea + len - 3 - start));
    check_dn(crt, "I_DN", issuer);
    free(issuer);
}

/* the ASN.1 string types (universal tags) */
static int string_tag(unsigned long tag)
{
    static const unsigned char tags[] = { 12, 18, 19, 20, 21, 22, 25, 26, 27,
                                          28, 30 };

    return tag <= 30 && memchr(tags, (int)tag, sizeof(tags));
}

/* the attributes tls_certvars.c names (dn_attrs), as OpenSSL does */
static const char *const known_oids[] = {
    "2.5.4.6", "2.5.4.8", "2.5.4.7", "2.5.4.10", "2.5.4.11", "2.5.4.3",
    "2.5.4.12", "2.5.4.43", "2.5.4.42", "2.5.4.4", "2.5.4.13",
    "0.9.2342.19200300.100.1.1", "1.2.840.113549.1.9.1", "2.5.4.5",
    "0.9.2342.19200300.100.1.25", "2.5.4.9", "2.5.4.17", "2.5.4.46",
    "2.5.4.65", "2.5.4.44",
};

/* Whether OpenSSL would present the subject as mod_tls does: attributes
 * it names alike (known_oids), values of the string types. Other values
 * OpenSSL shows as the hex of their DER (RFC 2253) or with their DER
 * header (one-line form); certificates have none. */
static int comparable(gnutls_x509_crt_t crt)
{
    gnutls_x509_dn_t dn;
    gnutls_x509_ava_st ava;
    int irdn, iava;
    size_t i;

    if (gnutls_x509_crt_get_subject(crt, &dn) < 0) {
        return 0;
    }
    for (irdn = 0;; ++irdn) {
        for (iava = 0; gnutls_x509_dn_get_rdn_ava(dn, irdn, iava, &ava) >= 0;
             ++iava) {
            size_t len = strnlen((const char *)ava.oid.data, ava.oid.size);

            for (i = 0; i < sizeof(known_oids) / sizeof(known_oids[0]); ++i) {
                if (strlen(known_oids[i]) == len
                    && !memcmp(known_oids[i], ava.oid.data, len)) {
                    break;
                }
            }
            if (i == sizeof(known_oids) / sizeof(known_oids[0])
                || !string_tag(ava.value_tag)) {
                return 0;
            }
        }
        if (iava == 0) {
            return 1;
        }
    }
}

/* The subject as mod_ssl shows it: SSL_*_S_DN (X509_NAME_print_ex with
 * XN_FLAG_RFC2253 but UTF-8 left alone) and FakeBasicAuth's user name
 * (X509_NAME_oneline). */
static void check_openssl(apr_pool_t *p, gnutls_x509_crt_t crt,
                          const gnutls_datum_t *der)
{
    const unsigned char *d = der->data;
    const char *legacy = tls_certvars_legacy_dn(p, crt);
    const char *s_dn = tls_certvars_get(p, crt, "S_DN");
    X509 *x;
    BIO *bio;
    char *theirs;
    long len;

    (void)strlen(legacy);
    if (!comparable(crt) || !(x = d2i_X509(NULL, &d, (long)der->size))) {
        return;
    }
    theirs = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
    if (theirs) {
        FUZZ_CHECK(!strcmp(legacy, theirs), "legacy subject '%s', mod_ssl "
                   "(OpenSSL) makes '%s'", legacy, theirs);
        OPENSSL_free(theirs);
    }
    if ((bio = BIO_new(BIO_s_mem()))
        && X509_NAME_print_ex(bio, X509_get_subject_name(x), 0,
                              XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
        len = BIO_get_mem_data(bio, &theirs);
        FUZZ_CHECK(strlen(s_dn) == (size_t)len
                   && (len == 0 || !memcmp(s_dn, theirs, (size_t)len)),
                   "S_DN '%s', mod_ssl (OpenSSL) makes '%.*s'", s_dn,
                   (int)len, theirs);
    }
    BIO_free(bio);
    X509_free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    gnutls_datum_t der = { (unsigned char *)data, (unsigned)size };
    gnutls_x509_crt_t crt;
    apr_table_t *t;
    size_t cert_len = size, i, j;
    char *extra, *line, *last;

    /* DER: SEQUENCE, length in short or long form, so that what follows
     * the certificate can be told apart */
    if (size >= 2 && data[0] == 0x30) {
        if (data[1] < 0x80) {
            cert_len = 2 + (size_t)data[1];
        }
        else if (data[1] == 0x82 && size >= 4) {
            cert_len = 4 + ((size_t)data[2] << 8 | data[3]);
        }
        else if (data[1] == 0x81 && size >= 3) {
            cert_len = 3 + (size_t)data[2];
        }
        if (cert_len > size) {
            cert_len = size;
        }
    }
    der.size = (unsigned)cert_len;
    /* any bytes are something to write as PEM */
    (void)strlen(tls_certvars_pem(p, &der));
    if (!(crt = tls_certvars_parse(p, &der))) {
        fuzz_pool_end(p);
        return 0;
    }
    for (i = 0; i < sizeof(names) / sizeof(names[0]); ++i) {
        check_var(p, crt, names[i], 1);
    }
    for (i = 0; i < sizeof(components) / sizeof(components[0]); ++i) {
        for (j = 0; j < sizeof(index_suffixes) / sizeof(index_suffixes[0]);
             ++j) {
            check_var(p, crt, apr_pstrcat(p, "S_DN_", components[i],
                                          index_suffixes[j], NULL), 1);
            check_var(p, crt, apr_pstrcat(p, "I_DN_", components[i],
                                          index_suffixes[j], NULL), 1);
        }
    }
    for (i = 0; i < sizeof(not_vars) / sizeof(not_vars[0]); ++i) {
        FUZZ_CHECK(!tls_certvars_get(p, crt, not_vars[i]),
                   "a value for '%s'", not_vars[i]);
    }
    check_cea(crt, tls_certvars_get(p, crt, "CERT_RFC4523_CEA"));
    extra = apr_pstrmemdup(p, (const char *)data + cert_len,
                           size - cert_len);
    for (i = 0, line = apr_strtok(extra, "\n", &last); line && i < 16;
         line = apr_strtok(NULL, "\n", &last), ++i) {
        check_var(p, crt, line, 0);
    }
    for (i = 0; i < sizeof(ext_oids) / sizeof(ext_oids[0]); ++i) {
        check_ext_values(p, crt, ext_oids[i]);
    }
    for (i = 0; i < 32; ++i) {
        char oid[128];
        size_t oid_size = sizeof(oid);

        if (gnutls_x509_crt_get_extension_info(crt, (unsigned)i, oid,
                                               &oid_size, NULL) < 0) {
            break;
        }
        check_ext_values(p, crt, oid);
    }
    t = apr_table_make(p, 40);
    tls_certvars_export(p, crt, "SSL_SERVER_", 0, t);
    tls_certvars_export(p, crt, "SSL_CLIENT_", 1, t);
    for (i = 0; i < (size_t)apr_table_elts(t)->nelts; ++i) {
        const apr_table_entry_t *e =
            &APR_ARRAY_IDX(apr_table_elts(t), i, apr_table_entry_t);

        FUZZ_CHECK(e->val != NULL, "%s without a value", e->key);
        (void)strlen(e->val);
    }
    check_openssl(p, crt, &der);
    fuzz_pool_end(p);
    return 0;
}
