/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_HELLO_H
#define TLS_HELLO_H

#include <apr_pools.h>
#include <apr_tables.h>

/* What the virtual host choice needs of a ClientHello. */
typedef struct {
    const char *sni;            /* the host_name asked for; NULL: none */
    apr_array_header_t *alpn;   /* ALPN names (const char *); NULL: no
                                 * ALPN; empty: only names with a NUL */
    apr_array_header_t *groups; /* supported_groups (int); NULL: none */
    int tls13;                  /* supported_versions offers TLS 1.3 */
} tls_hello_t;

/* Reads a ClientHello message body (after the 4-byte handshake header),
 * checking the structure the RFCs give it (RFC 8446 4.1.2, RFC 6066 3,
 * RFC 7301 3.1) as strictly as GnuTLS does, so that no hello it accepts
 * escapes the vhost choice. Returns 0, or the GnuTLS error whose alert the
 * RFCs prescribe: GNUTLS_E_UNEXPECTED_PACKET_LENGTH (decode_error) when
 * lengths do not add up, GNUTLS_E_RECEIVED_ILLEGAL_PARAMETER or
 * GNUTLS_E_RECEIVED_DISALLOWED_NAME (illegal_parameter) for values that
 * are not allowed. Knows nothing of httpd: a pure function of its input. */
int tls_hello_parse(apr_pool_t *p, const unsigned char *msg, apr_size_t len,
                    tls_hello_t *hello);

/* Longest host name a client may send (RFC 1035's 255 octets). */
#define TLS_HELLO_MAX_HOST 255

#endif /* TLS_HELLO_H */
