/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * The ClientHello as the vhost choice reads it, before GnuTLS processes
 * it. The checks follow GnuTLS's own where it has them, so that a hello is
 * refused with the alert GnuTLS would send, and go further where the RFCs
 * do (host names longer than 255 bytes). A hello this parser refuses never
 * reaches GnuTLS; one it accepts is read by GnuTLS afterwards anyway. */
#include <string.h>

#include <apr_strings.h>
#include <gnutls/gnutls.h>

#include "tls_hello.h"

#define EXT_SERVER_NAME  0
#define EXT_GROUPS       10
#define EXT_ALPN         16
#define EXT_VERSIONS     43
#define TLS1_3           0x0304
#define SNI_HOST_NAME    0

#define DECODE_ERROR     GNUTLS_E_UNEXPECTED_PACKET_LENGTH

/* A cursor over bytes that cannot be read past their end. */
typedef struct {
    const unsigned char *p;
    apr_size_t left;
} reader_t;

static int read_uint(reader_t *r, unsigned bytes, apr_size_t *v)
{
    unsigned i;

    if (r->left < bytes) {
        return DECODE_ERROR;
    }
    for (*v = 0, i = 0; i < bytes; ++i) {
        *v = (*v << 8) | r->p[i];
    }
    r->p += bytes;
    r->left -= bytes;
    return 0;
}

/* A vector with a length prefix of `bytes` bytes, min..max long. */
static int read_vector(reader_t *r, unsigned bytes, apr_size_t min,
                       apr_size_t max, reader_t *v)
{
    apr_size_t len;

    if (read_uint(r, bytes, &len) || len < min || len > max
        || len > r->left) {
        return DECODE_ERROR;
    }
    v->p = r->p;
    v->left = len;
    r->p += len;
    r->left -= len;
    return 0;
}

static int skip(reader_t *r, apr_size_t n)
{
    if (r->left < n) {
        return DECODE_ERROR;
    }
    r->p += n;
    r->left -= n;
    return 0;
}

/* Letters, digits, '-' and '.' only, as GnuTLS allows. */
static int host_name_ok(const unsigned char *name, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; ++i) {
        unsigned char ch = name[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
              || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.')) {
            return 0;
        }
    }
    return 1;
}

/* server_name (RFC 6066 3): a non-empty list of (type, name); the first
 * host_name counts. */
static int read_sni(apr_pool_t *p, reader_t *ext, tls_hello_t *hello)
{
    reader_t list, name;
    apr_size_t type;
    int rv;

    if ((rv = read_vector(ext, 2, 1, 65535, &list)) || ext->left != 0) {
        return DECODE_ERROR;
    }
    while (list.left > 0) {
        if ((rv = read_uint(&list, 1, &type))
            || (rv = read_vector(&list, 2, 1, 65535, &name))) {
            return rv;
        }
        if (type != SNI_HOST_NAME || hello->sni) {
            continue;
        }
        if (name.left > TLS_HELLO_MAX_HOST) {
            return GNUTLS_E_RECEIVED_ILLEGAL_PARAMETER;
        }
        if (!host_name_ok(name.p, name.left)) {
            return GNUTLS_E_RECEIVED_DISALLOWED_NAME;
        }
        hello->sni = apr_pstrmemdup(p, (const char *)name.p, name.left);
    }
    return 0;
}

/* application_layer_protocol_negotiation (RFC 7301 3.1): a non-empty list
 * of non-empty names. A name with a NUL byte is left out: no protocol
 * httpd speaks has one, and as a C string "h2\0x" would read as "h2". */
static int read_alpn(apr_pool_t *p, reader_t *ext, tls_hello_t *hello)
{
    reader_t list, name;
    int rv;

    if ((rv = read_vector(ext, 2, 2, 65535, &list)) || ext->left != 0) {
        return DECODE_ERROR;
    }
    hello->alpn = apr_array_make(p, 3, sizeof(const char *));
    while (list.left > 0) {
        if ((rv = read_vector(&list, 1, 1, 255, &name))) {
            return rv;
        }
        if (memchr(name.p, '\0', name.left)) {
            continue;
        }
        APR_ARRAY_PUSH(hello->alpn, const char *) =
            apr_pstrmemdup(p, (const char *)name.p, name.left);
    }
    return 0;
}

/* supported_groups (RFC 8446 4.2.7): a non-empty list of 2-byte ids. */
static int read_groups(apr_pool_t *p, reader_t *ext, tls_hello_t *hello)
{
    reader_t list;
    apr_size_t id;

    if (read_vector(ext, 2, 2, 65534, &list) || ext->left != 0
        || (list.left & 1)) {
        return DECODE_ERROR;
    }
    hello->groups = apr_array_make(p, (int)(list.left / 2), sizeof(int));
    while (!read_uint(&list, 2, &id)) {
        APR_ARRAY_PUSH(hello->groups, int) = (int)id;
    }
    return 0;
}

/* supported_versions (RFC 8446 4.2.1), as a client sends it. */
static int read_versions(reader_t *ext, tls_hello_t *hello)
{
    reader_t list;
    apr_size_t v;

    if (read_vector(ext, 1, 2, 254, &list) || ext->left != 0
        || (list.left & 1)) {
        return DECODE_ERROR;
    }
    while (!read_uint(&list, 2, &v)) {
        hello->tls13 |= (v == TLS1_3);
    }
    return 0;
}

int tls_hello_parse(apr_pool_t *p, const unsigned char *msg, apr_size_t len,
                    tls_hello_t *hello)
{
    reader_t r = { msg, len }, v, exts, ext;
    apr_size_t type;
    int rv, seen_sni = 0, seen_alpn = 0;

    hello->sni = NULL;
    hello->alpn = NULL;
    hello->groups = NULL;
    hello->tls13 = 0;
    /* legacy_version and random, then the three vectors before the
     * extensions; the version is GnuTLS's to judge */
    if (skip(&r, 2 + 32)
        || read_vector(&r, 1, 0, 32, &v)
        || read_vector(&r, 2, 2, 65534, &v) || (v.left & 1)
        || read_vector(&r, 1, 1, 255, &v)) {
        return DECODE_ERROR;
    }
    if (r.left == 0) {
        /* no extensions at all: valid up to TLS 1.2 */
        return 0;
    }
    if (read_vector(&r, 2, 0, 65535, &exts) || r.left != 0) {
        return DECODE_ERROR;
    }
    while (exts.left > 0) {
        if ((rv = read_uint(&exts, 2, &type))
            || (rv = read_vector(&exts, 2, 0, 65535, &ext))) {
            return rv;
        }
        rv = 0;
        if (type == EXT_SERVER_NAME) {
            /* a second one: what GnuTLS answers for a repeated extension */
            rv = seen_sni++ ? GNUTLS_E_RECEIVED_ILLEGAL_EXTENSION
                            : read_sni(p, &ext, hello);
        }
        else if (type == EXT_ALPN) {
            rv = seen_alpn++ ? GNUTLS_E_RECEIVED_ILLEGAL_EXTENSION
                             : read_alpn(p, &ext, hello);
        }
        else if (type == EXT_GROUPS && !hello->groups) {
            rv = read_groups(p, &ext, hello);
        }
        else if (type == EXT_VERSIONS) {
            rv = read_versions(&ext, hello);
        }
        if (rv) {
            return rv;
        }
    }
    return 0;
}
