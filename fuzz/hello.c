/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * tls_hello_parse() on any bytes as a ClientHello body. Beyond memory
 * errors it checks what the vhost choice relies on: the answer is one of
 * the parser's four errors or success; what it accepts, GnuTLS's own
 * extension parser accepts too; the SNI and ALPN values are those of the
 * extensions GnuTLS finds, byte for byte (ALPN names with a NUL byte left
 * out), and SNI a host name of at most 255 bytes; the supported groups
 * are those of the first supported_groups, and TLS 1.3 counts as offered
 * exactly when a supported_versions has it. */
#include <string.h>

#include <apr_strings.h>
#include <gnutls/gnutls.h>

#include "fuzz.h"
#include "../mod_tls/tls_hello.h"

typedef struct {
    const unsigned char *sni_ext, *alpn_ext, *groups_ext;
    unsigned sni_len, alpn_len, groups_len;
    int tls13;          /* some supported_versions has 0x0304 */
} exts_t;

static int on_ext(void *ctx, unsigned id, const unsigned char *data,
                  unsigned size)
{
    exts_t *e = ctx;

    /* the first of each: a repeat is refused before it matters */
    if (id == 0 && !e->sni_ext) {
        e->sni_ext = data;
        e->sni_len = size;
    }
    else if (id == 16 && !e->alpn_ext) {
        e->alpn_ext = data;
        e->alpn_len = size;
    }
    else if (id == 10 && !e->groups_ext) {
        e->groups_ext = data;
        e->groups_len = size;
    }
    else if (id == 43) {
        unsigned i;

        for (i = 1; i + 1 < size; i += 2) {
            e->tls13 |= data[i] == 3 && data[i + 1] == 4;
        }
    }
    return 0;
}

static unsigned get16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

/* The first host_name of the extension GnuTLS found. */
static void check_sni(const tls_hello_t *h, const exts_t *e)
{
    const unsigned char *p, *end;
    size_t i, len;

    FUZZ_CHECK(e->sni_ext || !h->sni, "SNI '%s' without the extension",
               h->sni);
    if (!h->sni) {
        return;
    }
    len = strlen(h->sni);
    FUZZ_CHECK(len >= 1 && len <= TLS_HELLO_MAX_HOST, "SNI of %zu bytes",
               len);
    for (i = 0; i < len; ++i) {
        FUZZ_CHECK(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          "0123456789-.", h->sni[i]), "SNI byte 0x%02x",
                   (unsigned char)h->sni[i]);
    }
    p = e->sni_ext + 2;
    end = e->sni_ext + e->sni_len;
    while (p + 3 <= end) {
        unsigned type = p[0], n = get16(p + 1);

        p += 3;
        FUZZ_CHECK(p + n <= end, "accepted a name past the extension");
        if (type == 0) {
            FUZZ_CHECK(n == len && !memcmp(p, h->sni, n),
                       "SNI '%s' is not the first host_name", h->sni);
            return;
        }
        p += n;
    }
    FUZZ_CHECK(0, "SNI '%s' but no host_name in the extension", h->sni);
}

/* The names of the extension GnuTLS found, in order. */
static void check_alpn(const tls_hello_t *h, const exts_t *e)
{
    const unsigned char *p, *end;
    int i = 0;

    FUZZ_CHECK(!e->alpn_ext == !h->alpn, "ALPN list %s, extension %s",
               h->alpn ? "parsed" : "missing", e->alpn_ext ? "sent" : "not");
    if (!h->alpn) {
        return;
    }
    FUZZ_CHECK(e->alpn_len >= 2, "ALPN extension of %u bytes", e->alpn_len);
    p = e->alpn_ext + 2;
    end = e->alpn_ext + e->alpn_len;
    for (; p < end; p += 1 + p[0]) {
        const char *name;

        FUZZ_CHECK(p[0] >= 1 && p + 1 + p[0] <= end, "bad ALPN name");
        if (memchr(p + 1, '\0', p[0])) {
            continue;       /* no protocol has one: left out */
        }
        FUZZ_CHECK(i < h->alpn->nelts, "ALPN name %d missing", i);
        name = APR_ARRAY_IDX(h->alpn, i, const char *);
        FUZZ_CHECK(strlen(name) == p[0] && !memcmp(name, p + 1, p[0]),
                   "ALPN name %d is '%s', %u bytes were sent", i, name, p[0]);
        ++i;
    }
    FUZZ_CHECK(i == h->alpn->nelts, "%d ALPN names, %d sent",
               h->alpn->nelts, i);
}

/* The ids of the first supported_groups, in order; TLS 1.3 offered
 * where a supported_versions has it. */
static void check_groups(const tls_hello_t *h, const exts_t *e)
{
    unsigned i;

    FUZZ_CHECK(h->tls13 == e->tls13, "tls13 %d, offered %d", h->tls13,
               e->tls13);
    FUZZ_CHECK(!e->groups_ext == !h->groups, "groups %s, extension %s",
               h->groups ? "parsed" : "missing",
               e->groups_ext ? "sent" : "not");
    if (!h->groups) {
        return;
    }
    FUZZ_CHECK(e->groups_len >= 2
               && (unsigned)h->groups->nelts == (e->groups_len - 2) / 2,
               "%d groups in %u bytes", h->groups->nelts, e->groups_len);
    for (i = 0; i < (unsigned)h->groups->nelts; ++i) {
        FUZZ_CHECK(APR_ARRAY_IDX(h->groups, i, int)
                   == (int)get16(e->groups_ext + 2 + 2 * i),
                   "group %u is %d", i, APR_ARRAY_IDX(h->groups, i, int));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool_begin();
    gnutls_datum_t msg = { (unsigned char *)data, (unsigned)size };
    exts_t e = { NULL, NULL, NULL, 0, 0, 0, 0 };
    tls_hello_t hello;
    int rv, grv;

    rv = tls_hello_parse(p, data, size, &hello);
    FUZZ_CHECK(rv == 0 || rv == GNUTLS_E_UNEXPECTED_PACKET_LENGTH
               || rv == GNUTLS_E_RECEIVED_ILLEGAL_PARAMETER
               || rv == GNUTLS_E_RECEIVED_DISALLOWED_NAME
               || rv == GNUTLS_E_RECEIVED_ILLEGAL_EXTENSION,
               "unexpected error %d", rv);
    if (rv == 0) {
        /* legacy_version is left to GnuTLS's handshake; its extension
         * parser refuses what is not 3.x */
        unsigned char *copy = apr_pmemdup(p, data, size);

        copy[0] = 3;
        msg.data = copy;
        grv = gnutls_ext_raw_parse(&e, on_ext, &msg,
                                   GNUTLS_EXT_RAW_FLAG_TLS_CLIENT_HELLO);
        FUZZ_CHECK(grv == 0 || grv == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE,
                   "accepted a hello GnuTLS cannot parse (%s)",
                   gnutls_strerror(grv));
        check_sni(&hello, &e);
        check_alpn(&hello, &e);
        check_groups(&hello, &e);
    }
    fuzz_pool_end(p);
    return 0;
}
