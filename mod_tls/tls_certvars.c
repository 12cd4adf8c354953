/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Certificate fields as mod_ssl presents them: RFC 2253 distinguished names
 * with OpenSSL's attribute names, its date and serial formats, its
 * algorithm names. Applications parse these strings, so they must match. */
#include <limits.h>

#include <httpd.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_lib.h>
#include <apr_hash.h>

#include "tls_certvars.h"

typedef struct {
    const char *oid;
    const char *name;     /* OpenSSL's short name, used in DN strings */
    const char *var;      /* the _DN_x suffix mod_ssl offers, or NULL */
} dn_attr_t;

static const dn_attr_t dn_attrs[] = {
    { "2.5.4.6", "C", "C" },
    { "2.5.4.8", "ST", "ST" },
    { "2.5.4.7", "L", "L" },
    { "2.5.4.10", "O", "O" },
    { "2.5.4.11", "OU", "OU" },
    { "2.5.4.3", "CN", "CN" },
    { "2.5.4.12", "title", "T" },
    { "2.5.4.43", "initials", "I" },
    { "2.5.4.42", "GN", "G" },
    { "2.5.4.4", "SN", "S" },
    { "2.5.4.13", "description", "D" },
    { "0.9.2342.19200300.100.1.1", "UID", "UID" },
    { "1.2.840.113549.1.9.1", "emailAddress", "Email" },
    { "2.5.4.5", "serialNumber", NULL },
    { "0.9.2342.19200300.100.1.25", "DC", NULL },
    { "2.5.4.9", "street", NULL },
    { "2.5.4.17", "postalCode", NULL },
    { "2.5.4.46", "dnQualifier", NULL },
    { "2.5.4.65", "pseudonym", NULL },
    { "2.5.4.44", "generationQualifier", NULL },
};

#define N_DN_ATTRS (sizeof(dn_attrs) / sizeof(dn_attrs[0]))

/* GnuTLS's OID datum may count a terminating NUL. */
static apr_size_t oid_len(const gnutls_datum_t *oid)
{
    apr_size_t len = oid->size;

    while (len > 0 && oid->data[len - 1] == '\0') {
        --len;
    }
    return len;
}

static const dn_attr_t *dn_attr_by_oid(const gnutls_datum_t *oid)
{
    apr_size_t len = oid_len(oid);
    unsigned i;

    for (i = 0; i < N_DN_ATTRS; ++i) {
        if (strlen(dn_attrs[i].oid) == len
            && !memcmp(dn_attrs[i].oid, oid->data, len)) {
            return &dn_attrs[i];
        }
    }
    return NULL;
}

static void utf8_put(apr_array_header_t *out, unsigned long cp)
{
    if (cp < 0x80) {
        APR_ARRAY_PUSH(out, char) = (char)cp;
    }
    else if (cp < 0x800) {
        APR_ARRAY_PUSH(out, char) = (char)(0xC0 | (cp >> 6));
        APR_ARRAY_PUSH(out, char) = (char)(0x80 | (cp & 0x3F));
    }
    else if (cp < 0x10000) {
        APR_ARRAY_PUSH(out, char) = (char)(0xE0 | (cp >> 12));
        APR_ARRAY_PUSH(out, char) = (char)(0x80 | ((cp >> 6) & 0x3F));
        APR_ARRAY_PUSH(out, char) = (char)(0x80 | (cp & 0x3F));
    }
    else {
        APR_ARRAY_PUSH(out, char) = (char)(0xF0 | (cp >> 18));
        APR_ARRAY_PUSH(out, char) = (char)(0x80 | ((cp >> 12) & 0x3F));
        APR_ARRAY_PUSH(out, char) = (char)(0x80 | ((cp >> 6) & 0x3F));
        APR_ARRAY_PUSH(out, char) = (char)(0x80 | (cp & 0x3F));
    }
}

#define ASN1_TAG_NUMERICSTRING   18
#define ASN1_TAG_PRINTABLESTRING 19
#define ASN1_TAG_T61STRING       20
#define ASN1_TAG_VIDEOTEXSTRING  21
#define ASN1_TAG_IA5STRING       22
#define ASN1_TAG_GRAPHICSTRING   25
#define ASN1_TAG_VISIBLESTRING   26
#define ASN1_TAG_GENERALSTRING   27
#define ASN1_TAG_UNIVERSALSTRING 28
#define ASN1_TAG_BMPSTRING       30

/* An attribute value as UTF-8 (what ASN1_STRING_to_UTF8 yields). */
static apr_array_header_t *value_utf8(apr_pool_t *p, const gnutls_x509_ava_st *ava)
{
    apr_array_header_t *out = apr_array_make(p, (int)ava->value.size + 1, 1);
    const unsigned char *d = ava->value.data;
    unsigned i, n = ava->value.size;

    switch (ava->value_tag) {
    case ASN1_TAG_BMPSTRING:
        for (i = 0; i + 1 < n; i += 2) {
            utf8_put(out, ((unsigned long)d[i] << 8) | d[i + 1]);
        }
        break;
    case ASN1_TAG_UNIVERSALSTRING:
        for (i = 0; i + 3 < n; i += 4) {
            utf8_put(out, ((unsigned long)d[i] << 24) | (d[i + 1] << 16)
                          | (d[i + 2] << 8) | d[i + 3]);
        }
        break;
    case ASN1_TAG_NUMERICSTRING:
    case ASN1_TAG_PRINTABLESTRING:
    case ASN1_TAG_T61STRING:
    case ASN1_TAG_VIDEOTEXSTRING:
    case ASN1_TAG_IA5STRING:
    case ASN1_TAG_GRAPHICSTRING:
    case ASN1_TAG_VISIBLESTRING:
    case ASN1_TAG_GENERALSTRING:
        /* one byte a character, as Latin-1: bytes above 0x7F (which
         * only T61String may have) become UTF-8, as OpenSSL makes them */
        for (i = 0; i < n; ++i) {
            utf8_put(out, d[i]);
        }
        break;
    default:
        for (i = 0; i < n; ++i) {
            APR_ARRAY_PUSH(out, char) = (char)d[i];
        }
    }
    return out;
}

/* RFC 2253 escaping as OpenSSL does it with UTF-8 left alone. */
static const char *escape_2253(apr_pool_t *p, const apr_array_header_t *v)
{
    apr_array_header_t *out = apr_array_make(p, v->nelts * 2 + 1, 1);
    int i;

    for (i = 0; i < v->nelts; ++i) {
        unsigned char ch = ((const unsigned char *)v->elts)[i];

        if ((ch && strchr(",+\"\\<>;", ch))
            || (i == 0 && (ch == '#' || ch == ' '))
            || (i == v->nelts - 1 && ch == ' ')) {
            APR_ARRAY_PUSH(out, char) = '\\';
            APR_ARRAY_PUSH(out, char) = (char)ch;
        }
        else if (ch < 0x20 || ch == 0x7F) {
            char hex[4];
            apr_snprintf(hex, sizeof(hex), "\\%02X", ch);
            APR_ARRAY_PUSH(out, char) = hex[0];
            APR_ARRAY_PUSH(out, char) = hex[1];
            APR_ARRAY_PUSH(out, char) = hex[2];
        }
        else {
            APR_ARRAY_PUSH(out, char) = (char)ch;
        }
    }
    APR_ARRAY_PUSH(out, char) = '\0';
    return out->elts;
}

static const char *hex_string(apr_pool_t *p, const unsigned char *d,
                              apr_size_t n, int upper)
{
    char *hex = apr_palloc(p, n * 2 + 1);
    apr_size_t i;

    for (i = 0; i < n; ++i) {
        apr_snprintf(hex + 2 * i, 3, upper ? "%02X" : "%02x", d[i]);
    }
    hex[2 * n] = '\0';
    return hex;
}

static const char *ava_value(apr_pool_t *p, const gnutls_x509_ava_st *ava)
{
    return escape_2253(p, value_utf8(p, ava));
}

typedef struct {
    int irdn, iava;
    gnutls_x509_ava_st ava;
} dn_entry_t;

/* The DN's attributes in certificate order (most general first). */
static apr_array_header_t *dn_entries(apr_pool_t *p, gnutls_x509_dn_t dn)
{
    apr_array_header_t *entries = apr_array_make(p, 8, sizeof(dn_entry_t));
    dn_entry_t e;

    for (e.irdn = 0;; ++e.irdn) {
        for (e.iava = 0;; ++e.iava) {
            if (gnutls_x509_dn_get_rdn_ava(dn, e.irdn, e.iava, &e.ava) < 0) {
                break;
            }
            APR_ARRAY_PUSH(entries, dn_entry_t) = e;
        }
        if (e.iava == 0) {
            break;
        }
    }
    return entries;
}

/* RFC 2253: most specific RDN first, multi-valued RDNs joined by '+'. */
static const char *dn_string(apr_pool_t *p, gnutls_x509_dn_t dn)
{
    apr_array_header_t *entries = dn_entries(p, dn);
    const char *s = "";
    int i;

    for (i = entries->nelts - 1; i >= 0; --i) {
        const dn_entry_t *e = &APR_ARRAY_IDX(entries, i, dn_entry_t);
        const dn_attr_t *a = dn_attr_by_oid(&e->ava.oid);
        const char *key = a ? a->name
            : apr_pstrmemdup(p, (const char *)e->ava.oid.data,
                             oid_len(&e->ava.oid));
        const char *val = ava_value(p, &e->ava);
        const char *sep = "";

        if (i < entries->nelts - 1) {
            const dn_entry_t *prev = &APR_ARRAY_IDX(entries, i + 1, dn_entry_t);
            sep = prev->irdn == e->irdn ? "+" : ",";
        }
        s = apr_pstrcat(p, s, sep, key, "=", val, NULL);
    }
    return s;
}

/* The index in a name such as "CN_2": its leading digits (as atoi reads
 * them), no more than INT_MAX, so that counting down to the entry cannot
 * overflow; no certificate has that many entries. */
static int var_index(const char *digits)
{
    apr_int64_t n = 0;

    for (; apr_isdigit(*digits) && n < INT_MAX; ++digits) {
        n = n * 10 + (*digits - '0');
    }
    return n < INT_MAX ? (int)n : INT_MAX;
}

/* "CN" is the first CN in certificate order, "CN_1" the second. */
static const char *dn_component(apr_pool_t *p, gnutls_x509_dn_t dn,
                                const char *var)
{
    apr_array_header_t *entries = dn_entries(p, dn);
    const char *us = strrchr(var, '_');
    apr_size_t len = strlen(var);
    int idx = 0, i;

    if (us && apr_isdigit(us[1])) {
        idx = var_index(us + 1);
        len = (apr_size_t)(us - var);
    }
    for (i = 0; i < entries->nelts; ++i) {
        const dn_entry_t *e = &APR_ARRAY_IDX(entries, i, dn_entry_t);
        const dn_attr_t *a = dn_attr_by_oid(&e->ava.oid);

        if (a && a->var && strlen(a->var) == len
            && !strncmp(a->var, var, len) && idx-- == 0) {
            return ava_value(p, &e->ava);
        }
    }
    return "";
}

static void dn_export(apr_pool_t *p, gnutls_x509_dn_t dn, const char *prefix,
                      apr_table_t *t)
{
    apr_array_header_t *entries = dn_entries(p, dn);
    apr_hash_t *seen = apr_hash_make(p);
    int i;

    for (i = 0; i < entries->nelts; ++i) {
        const dn_entry_t *e = &APR_ARRAY_IDX(entries, i, dn_entry_t);
        const dn_attr_t *a = dn_attr_by_oid(&e->ava.oid);
        int *count;

        if (!a || !a->var) {
            continue;
        }
        count = apr_hash_get(seen, a->var, APR_HASH_KEY_STRING);
        if (!count) {
            count = apr_pcalloc(p, sizeof(*count));
            apr_hash_set(seen, a->var, APR_HASH_KEY_STRING, count);
        }
        apr_table_setn(t, *count ? apr_psprintf(p, "%s%s_%d", prefix, a->var,
                                                *count)
                                 : apr_pstrcat(p, prefix, a->var, NULL),
                       ava_value(p, &e->ava));
        ++*count;
    }
}

/* "Jan  5 09:08:07 2026 GMT", as OpenSSL's ASN1_TIME_print. */
static const char *cert_date(apr_pool_t *p, time_t when)
{
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May",
        "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    struct tm tm;

    if (when == (time_t)-1 || !gmtime_r(&when, &tm)) {
        return "";
    }
    return apr_psprintf(p, "%s %2d %02d:%02d:%02d %d GMT", months[tm.tm_mon],
                        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                        tm.tm_year + 1900);
}

static const char *oid_name(const char *oid)
{
    static const struct { const char *oid, *name; } names[] = {
        { "1.2.840.113549.1.1.1", "rsaEncryption" },
        { "1.2.840.113549.1.1.5", "sha1WithRSAEncryption" },
        { "1.2.840.113549.1.1.10", "rsassaPss" },
        { "1.2.840.113549.1.1.11", "sha256WithRSAEncryption" },
        { "1.2.840.113549.1.1.12", "sha384WithRSAEncryption" },
        { "1.2.840.113549.1.1.13", "sha512WithRSAEncryption" },
        { "1.2.840.10045.2.1", "id-ecPublicKey" },
        { "1.2.840.10045.4.1", "ecdsa-with-SHA1" },
        { "1.2.840.10045.4.3.2", "ecdsa-with-SHA256" },
        { "1.2.840.10045.4.3.3", "ecdsa-with-SHA384" },
        { "1.2.840.10045.4.3.4", "ecdsa-with-SHA512" },
        { "1.3.101.112", "ED25519" },
        { "1.3.101.113", "ED448" },
    };
    unsigned i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); ++i) {
        if (!strcmp(names[i].oid, oid)) {
            return names[i].name;
        }
    }
    return oid;
}

static const char *cert_alg(apr_pool_t *p, gnutls_x509_crt_t crt, int key)
{
    char oid[128];
    size_t len = sizeof(oid);
    int rv = key ? gnutls_x509_crt_get_pk_oid(crt, oid, &len)
                 : gnutls_x509_crt_get_signature_oid(crt, oid, &len);

    return rv < 0 ? "" : apr_pstrdup(p, oid_name(oid));
}

/* Upper-case hex without the sign byte DER may carry. */
static const char *cert_serial(apr_pool_t *p, gnutls_x509_crt_t crt)
{
    unsigned char buf[64];
    size_t len = sizeof(buf), off = 0;

    if (gnutls_x509_crt_get_serial(crt, buf, &len) < 0 || len == 0) {
        return "";
    }
    while (off + 1 < len && buf[off] == 0) {
        ++off;
    }
    return hex_string(p, buf + off, len - off, 1);
}

static const char *cert_remain(apr_pool_t *p, gnutls_x509_crt_t crt)
{
    time_t end = gnutls_x509_crt_get_expiration_time(crt);
    apr_time_t left = apr_time_from_sec(end) - apr_time_now();

    return apr_psprintf(p, "%ld", left > 0 ? (long)(apr_time_sec(left) / 86400)
                                           : 0L);
}

/* The n-th SAN entry of a type, 0-based as mod_ssl counts. */
/* The text of a DER string (UTF8String, IA5String, PrintableString,
 * VisibleString, OCTET STRING), inside an explicit [0] tag if there is
 * one; NULL for anything else. For extension values (PeerExtList). */
static const char *der_string(apr_pool_t *p, const unsigned char *d,
                              apr_size_t len)
{
    apr_size_t n, hdr;
    unsigned i;

    while (len >= 2) {
        hdr = 2;
        n = d[1];
        if (n & 0x80) {
            unsigned bytes = n & 0x7f;

            if (bytes == 0 || bytes > 3 || len < 2 + bytes) {
                return NULL;
            }
            for (n = 0, i = 0; i < bytes; ++i) {
                n = (n << 8) | d[2 + i];
            }
            hdr += bytes;
        }
        if (n > len - hdr) {
            return NULL;
        }
        switch (d[0]) {
        case 0xa0:                       /* [0] EXPLICIT: look inside */
            d += hdr;
            len = n;
            continue;
        case 0x04: case 0x0c: case 0x13: case 0x16: case 0x1a:
            return apr_pstrmemdup(p, (const char *)d + hdr, n);
        default:
            return NULL;
        }
    }
    return NULL;
}

/* The n-th subjectAltName of a type; GnuTLS decodes the otherNames it
 * knows (msUPN, dnsSRV) into types of their own. */
static const char *cert_san(apr_pool_t *p, gnutls_x509_crt_t crt,
                            unsigned want, int n)
{
    char buf[1024];
    unsigned seq, type;
    size_t len;
    int rv;

    for (seq = 0;; ++seq) {
        len = sizeof(buf) - 1;
        rv = gnutls_x509_crt_get_subject_alt_name2(crt, seq, buf, &len,
                                                   &type, NULL);
        if (rv == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
            return NULL;
        }
        if (rv >= 0 && type == want && n-- == 0) {
            return apr_pstrmemdup(p, buf, len);
        }
    }
}

/* The subjectAltName kinds of mod_ssl's SAN_* variables, and for which
 * side StdEnvVars exports them, as mod_ssl does. */
static const struct {
    const char *var;       /* after "SAN_", before the number */
    unsigned type;
    const char *export_for; /* prefix: "SSL_CLIENT_", "SSL_SERVER_"; NULL */
} sans[] = {
    { "DNS", GNUTLS_SAN_DNSNAME, NULL },
    { "Email", GNUTLS_SAN_RFC822NAME, NULL },
    { "OTHER_msUPN", GNUTLS_SAN_OTHERNAME_MSUSERPRINCIPAL, "SSL_CLIENT_" },
    { "OTHER_dnsSRV", GNUTLS_SAN_OTHERNAME_SRV, "SSL_SERVER_" },
};

/* SAN_DNS_0, SAN_OTHER_msUPN_1, ... (name without "SAN_"); NULL when name
 * is none of them. */
static const char *san_var(apr_pool_t *p, gnutls_x509_crt_t crt,
                           const char *name)
{
    unsigned i;

    for (i = 0; i < sizeof(sans) / sizeof(sans[0]); ++i) {
        apr_size_t len = strlen(sans[i].var);
        const char *num = name + len + 1;

        if (!strncmp(name, sans[i].var, len) && name[len] == '_'
            && apr_isdigit(*num) && strspn(num, "0123456789") == strlen(num)
            && strlen(num) <= 4) {
            const char *v = cert_san(p, crt, sans[i].type, atoi(num));
            return v ? v : "";
        }
    }
    return NULL;
}

apr_array_header_t *tls_certvars_ext_values(apr_pool_t *p,
                                            gnutls_x509_crt_t crt,
                                            const char *oid)
{
    apr_array_header_t *values = apr_array_make(p, 1, sizeof(const char *));
    char eoid[128];
    size_t oidlen;
    unsigned i, j;

    for (i = 0;; ++i) {
        gnutls_datum_t der = { NULL, 0 };
        const char *v;

        oidlen = sizeof(eoid);
        if (gnutls_x509_crt_get_extension_info(crt, i, eoid, &oidlen,
                                               NULL) < 0) {
            break;
        }
        if (strcmp(eoid, oid)
            || gnutls_x509_crt_get_extension_data2(crt, i, &der) < 0) {
            continue;
        }
        if (!(v = der_string(p, der.data, der.size))) {
            /* not a string: its bytes in hex, something to compare with */
            char *hex = apr_palloc(p, der.size * 2 + 1);

            for (j = 0; j < der.size; ++j) {
                apr_snprintf(hex + 2 * j, 3, "%02X", der.data[j]);
            }
            hex[der.size * 2] = '\0';
            v = hex;
        }
        gnutls_free(der.data);
        APR_ARRAY_PUSH(values, const char *) = v;
    }
    return values;
}

/* A big-endian unsigned number in decimal. */
static const char *decimal_string(apr_pool_t *p, const unsigned char *d,
                                  apr_size_t n)
{
    unsigned char *num = apr_pmemdup(p, d, n);
    char *out = apr_palloc(p, n * 3 + 2);
    apr_size_t len = 0, i, first = 0;

    while (first < n) {
        unsigned rem = 0;

        for (i = first; i < n; ++i) {
            unsigned cur = (rem << 8) | num[i];

            num[i] = (unsigned char)(cur / 10);
            rem = cur % 10;
        }
        out[len++] = (char)('0' + rem);
        while (first < n && num[first] == 0) {
            ++first;
        }
    }
    if (len == 0) {
        out[len++] = '0';
    }
    out[len] = '\0';
    for (i = 0; i < len / 2; ++i) {
        char t = out[i];
        out[i] = out[len - 1 - i];
        out[len - 1 - i] = t;
    }
    return out;
}

/* RFC 4523 CertificateExactAssertion, as mod_ssl writes it. */
static const char *cert_cea(apr_pool_t *p, gnutls_x509_crt_t crt)
{
    unsigned char buf[64];
    size_t len = sizeof(buf);
    gnutls_x509_dn_t issuer;

    if (gnutls_x509_crt_get_serial(crt, buf, &len) < 0
        || gnutls_x509_crt_get_issuer(crt, &issuer) < 0) {
        return "";
    }
    return apr_pstrcat(p, "{ serialNumber ", decimal_string(p, buf, len),
                       ", issuer rdnSequence:\"", dn_string(p, issuer),
                       "\" }", NULL);
}

const char *tls_certvars_crt_pem(apr_pool_t *p, gnutls_x509_crt_t crt)
{
    gnutls_datum_t out = { NULL, 0 };
    const char *pem;

    if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &out) < 0) {
        return NULL;
    }
    pem = apr_pstrmemdup(p, (const char *)out.data, out.size);
    gnutls_free(out.data);
    return pem;
}

const char *tls_certvars_subject(apr_pool_t *p, gnutls_x509_crt_t crt)
{
    gnutls_datum_t dn = { NULL, 0 };
    const char *s;

    if (gnutls_x509_crt_get_dn3(crt, &dn, 0) < 0) {
        return NULL;
    }
    s = apr_pstrmemdup(p, (const char *)dn.data, dn.size);
    gnutls_free(dn.data);
    return s;
}

/* the variables' form: empty when it cannot be had */
static const char *cert_pem(apr_pool_t *p, gnutls_x509_crt_t crt)
{
    const char *pem = tls_certvars_crt_pem(p, crt);

    return pem ? pem : "";
}

static const char *dn_var(apr_pool_t *p, gnutls_x509_crt_t crt,
                          const char *name)
{
    gnutls_x509_dn_t dn;
    int issuer = name[0] == 'I';

    if ((issuer ? gnutls_x509_crt_get_issuer(crt, &dn)
                : gnutls_x509_crt_get_subject(crt, &dn)) < 0) {
        return "";
    }
    if (name[4] == '\0') {
        return dn_string(p, dn);
    }
    return name[4] == '_' ? dn_component(p, dn, name + 5) : NULL;
}

const char *tls_certvars_get(apr_pool_t *p, gnutls_x509_crt_t crt,
                             const char *name)
{
    if (!strncmp(name, "S_DN", 4) || !strncmp(name, "I_DN", 4)) {
        return dn_var(p, crt, name);
    }
    if (!strcmp(name, "M_VERSION")) {
        return apr_psprintf(p, "%d", gnutls_x509_crt_get_version(crt));
    }
    if (!strcmp(name, "M_SERIAL")) {
        return cert_serial(p, crt);
    }
    if (!strcmp(name, "V_START")) {
        return cert_date(p, gnutls_x509_crt_get_activation_time(crt));
    }
    if (!strcmp(name, "V_END")) {
        return cert_date(p, gnutls_x509_crt_get_expiration_time(crt));
    }
    if (!strcmp(name, "V_REMAIN")) {
        return cert_remain(p, crt);
    }
    if (!strcmp(name, "A_SIG")) {
        return cert_alg(p, crt, 0);
    }
    if (!strcmp(name, "A_KEY")) {
        return cert_alg(p, crt, 1);
    }
    if (!strcmp(name, "CERT")) {
        return cert_pem(p, crt);
    }
    if (!strcmp(name, "CERT_RFC4523_CEA")) {
        return cert_cea(p, crt);
    }
    if (!strncmp(name, "SAN_", 4)) {
        return san_var(p, crt, name + 4);
    }
    return NULL;
}

static void san_export(apr_pool_t *p, gnutls_x509_crt_t crt,
                       const char *prefix, apr_table_t *t)
{
    const char *v;
    unsigned i;
    int n;

    for (i = 0; i < sizeof(sans) / sizeof(sans[0]); ++i) {
        if (sans[i].export_for && strcmp(sans[i].export_for, prefix)) {
            continue;
        }
        for (n = 0; (v = cert_san(p, crt, sans[i].type, n)); ++n) {
            apr_table_setn(t, apr_psprintf(p, "%sSAN_%s_%d", prefix,
                                           sans[i].var, n), v);
        }
    }
}

void tls_certvars_export(apr_pool_t *p, gnutls_x509_crt_t crt,
                         const char *prefix, int with_pem, apr_table_t *t)
{
    static const char *const simple[] = { "M_VERSION", "M_SERIAL", "V_START",
        "V_END", "A_SIG", "A_KEY", "S_DN", "I_DN" };
    gnutls_x509_dn_t dn;
    unsigned i;

    for (i = 0; i < sizeof(simple) / sizeof(simple[0]); ++i) {
        apr_table_setn(t, apr_pstrcat(p, prefix, simple[i], NULL),
                       tls_certvars_get(p, crt, simple[i]));
    }
    if (gnutls_x509_crt_get_subject(crt, &dn) >= 0) {
        dn_export(p, dn, apr_pstrcat(p, prefix, "S_DN_", NULL), t);
    }
    if (gnutls_x509_crt_get_issuer(crt, &dn) >= 0) {
        dn_export(p, dn, apr_pstrcat(p, prefix, "I_DN_", NULL), t);
    }
    san_export(p, crt, prefix, t);
    if (with_pem) {
        apr_table_setn(t, apr_pstrcat(p, prefix, "CERT", NULL),
                       cert_pem(p, crt));
    }
}

const char *tls_certvars_pem(apr_pool_t *p, const gnutls_datum_t *der)
{
    gnutls_datum_t out = { NULL, 0 };
    const char *pem;

    if (gnutls_pem_base64_encode2("CERTIFICATE", der, &out) < 0) {
        return "";
    }
    pem = apr_pstrmemdup(p, (const char *)out.data, out.size);
    gnutls_free(out.data);
    return pem;
}

static void push_str(apr_array_header_t *out, const char *s)
{
    for (; *s; ++s) {
        APR_ARRAY_PUSH(out, char) = *s;
    }
}

/* As OpenSSL's X509_NAME_oneline(), which mod_ssl uses: the values' bytes
 * as encoded (no conversion to UTF-8), '/' and '+' escaped with a
 * backslash, bytes outside printable ASCII as \xNN (so that a NUL cannot
 * cut a name short: "CN=alice\0.evil" is not alice's), the members of a
 * multi-valued RDN joined by '+'; of a GeneralString whose bytes are all
 * zero but every fourth, only every fourth byte, as OpenSSL reads it. */
const char *tls_certvars_legacy_dn(apr_pool_t *p, gnutls_x509_crt_t crt)
{
    gnutls_x509_dn_t dn;
    apr_array_header_t *entries, *out;
    int i;

    if (gnutls_x509_crt_get_subject(crt, &dn) < 0) {
        return "";
    }
    entries = dn_entries(p, dn);
    out = apr_array_make(p, 128, 1);
    for (i = 0; i < entries->nelts; ++i) {
        const dn_entry_t *e = &APR_ARRAY_IDX(entries, i, dn_entry_t);
        const dn_attr_t *a = dn_attr_by_oid(&e->ava.oid);
        const unsigned char *d = e->ava.value.data;
        unsigned n = e->ava.value.size, j, first = 0, step = 1;

        if (e->ava.value_tag == ASN1_TAG_GENERALSTRING && n % 4 == 0) {
            for (j = 0; j < n && (j % 4 == 3 || !d[j]); ++j) {
            }
            if (j == n) {
                first = 3;
                step = 4;
            }
        }
        APR_ARRAY_PUSH(out, char) =
            i > 0 && APR_ARRAY_IDX(entries, i - 1, dn_entry_t).irdn == e->irdn
            ? '+' : '/';
        push_str(out, a ? a->name
                        : apr_pstrmemdup(p, (const char *)e->ava.oid.data,
                                         oid_len(&e->ava.oid)));
        APR_ARRAY_PUSH(out, char) = '=';
        for (j = first; j < n; j += step) {
            if (d[j] < ' ' || d[j] > '~') {
                push_str(out, apr_psprintf(p, "\\x%02X", d[j]));
            }
            else {
                if (d[j] == '/' || d[j] == '+') {
                    APR_ARRAY_PUSH(out, char) = '\\';
                }
                APR_ARRAY_PUSH(out, char) = (char)d[j];
            }
        }
    }
    APR_ARRAY_PUSH(out, char) = '\0';
    return out->elts;
}

static apr_status_t crt_free(void *data)
{
    gnutls_x509_crt_deinit(data);
    return APR_SUCCESS;
}

void tls_certvars_adopt(apr_pool_t *p, gnutls_x509_crt_t crt)
{
    apr_pool_cleanup_register(p, crt, crt_free, apr_pool_cleanup_null);
}

gnutls_x509_crt_t tls_certvars_parse(apr_pool_t *p, const gnutls_datum_t *der)
{
    gnutls_x509_crt_t crt;

    if (!der || gnutls_x509_crt_init(&crt) < 0) {
        return NULL;
    }
    if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) < 0) {
        gnutls_x509_crt_deinit(crt);
        return NULL;
    }
    tls_certvars_adopt(p, crt);
    return crt;
}
