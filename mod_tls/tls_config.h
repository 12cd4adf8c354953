/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_CONFIG_H
#define TLS_CONFIG_H

#include <httpd.h>
#include <http_config.h>
#include <gnutls/gnutls.h>

#define MOD_TLS_VERSION "0.1.0"

#define TLS_UNSET (-1)

/* TLSProtocol bits */
#define TLS_PROTO_TLS1_0  (1 << 0)
#define TLS_PROTO_TLS1_1  (1 << 1)
#define TLS_PROTO_TLS1_2  (1 << 2)
#define TLS_PROTO_TLS1_3  (1 << 3)
#define TLS_PROTO_ALL     (TLS_PROTO_TLS1_0 | TLS_PROTO_TLS1_1 \
                           | TLS_PROTO_TLS1_2 | TLS_PROTO_TLS1_3)

/* TLSOptions bits */
#define TLS_OPT_STD_ENV_VARS     (1 << 0)
#define TLS_OPT_EXPORT_CERT_DATA (1 << 1)
#define TLS_OPT_FAKE_BASIC_AUTH  (1 << 2)

/* TLSClientCertificate */
typedef enum {
    TLS_CLIENT_UNSET = -1,
    TLS_CLIENT_NONE = 0,
    TLS_CLIENT_OPTIONAL,
    TLS_CLIENT_REQUIRE,
    TLS_CLIENT_OPTIONAL_NO_CA,
} tls_client_mode_t;

/* Where a directive was written, for messages that name it after parsing. */
typedef struct {
    const char *file;
    int line;
    const char *directive;
} tls_conf_pos_t;

/* One TLSCertificate line, read and checked at parse time. */
typedef struct {
    const char *cert_file;
    const char *key_file;       /* the file or pkcs11: URI the key came from */
    gnutls_datum_t cert_pem;    /* leaf first, then its chain */
    gnutls_datum_t key_pem;     /* empty for a pkcs11: key */
    apr_time_t not_after;       /* leaf expiry */
    int preference;             /* lower is offered first: by key type */
    const char *subject;        /* leaf subject, for messages */
    tls_conf_pos_t pos;
} tls_cert_t;

typedef struct tls_srv_conf_t {
    server_rec *s;
    int engine;                       /* TLS_UNSET, 0, 1 */
    tls_conf_pos_t engine_pos;
    apr_array_header_t *certs;        /* of tls_cert_t*; NULL: inherit */
    const char *priorities;           /* NULL: inherit */
    tls_conf_pos_t priorities_pos;
    int protocols;                    /* TLS_PROTO_* set, TLS_UNSET: from priorities */
    apr_interval_time_t handshake_timeout;  /* TLS_UNSET: default */
    int strict_sni;                   /* TLS_UNSET, 0, 1 */
    tls_client_mode_t client_mode;
    const char *client_ca;            /* PEM trust anchors; NULL: inherit */
    const char *client_crl;           /* PEM CRLs; NULL: inherit */
    int verify_depth;                 /* TLS_UNSET: 1 */
    const char *key_purpose;          /* EKU OID, "any"; NULL: clientAuth */
    int session_tickets;              /* TLS_UNSET: on */
    int cache_timeout;                /* seconds; TLS_UNSET: 300 */

    /* server-wide, kept in the main server's config */
    const char *cache_name;           /* TLSSessionCache, "none", NULL: default */
    const struct ap_socache_provider_t *cache_provider;
    struct ap_socache_instance_t *cache_instance;
    gnutls_datum_t ticket_key;        /* TLSSessionTicketKeyFile contents */

    /* made once in post_config, shared by every connection to this server */
    gnutls_datum_t vhost_ticket_key;  /* the master key, bound to this vhost */
    gnutls_certificate_credentials_t creds;
    const char *prio_string;          /* TLSPriorities + TLSProtocol */
    gnutls_priority_t prio;
} tls_srv_conf_t;

typedef struct {
    tls_client_mode_t client_mode;   /* in a directory: ask per request */
    int verify_depth;
    const char *user_name;           /* TLSUserName variable */
    int opts;          /* TLSOptions set absolutely */
    int opts_add;      /* +opt */
    int opts_del;      /* -opt */
    int opts_set;      /* an absolute list was given */
} tls_dir_conf_t;

extern module AP_MODULE_DECLARE_DATA tls_module;
extern const command_rec tls_conf_cmds[];

void tls_conf_register_hooks(apr_pool_t *p);

void *tls_conf_create_srv(apr_pool_t *p, server_rec *s);
void *tls_conf_merge_srv(apr_pool_t *p, void *basev, void *addv);
void *tls_conf_create_dir(apr_pool_t *p, char *dir);
void *tls_conf_merge_dir(apr_pool_t *p, void *basev, void *addv);

tls_srv_conf_t *tls_conf_srv_get(server_rec *s);
int tls_conf_dir_opts(request_rec *r);
apr_interval_time_t tls_conf_handshake_timeout(const tls_srv_conf_t *sc);
tls_client_mode_t tls_conf_client_mode(const tls_srv_conf_t *sc);
int tls_conf_session_tickets(const tls_srv_conf_t *sc);
int tls_conf_cache_timeout(const tls_srv_conf_t *sc);
int tls_conf_verify_depth(const tls_srv_conf_t *sc);
const char *tls_conf_key_purpose(const tls_srv_conf_t *sc);
tls_dir_conf_t *tls_conf_dir_get(request_rec *r);

/* Whether any <Location>/<Directory> asks for client certificates: then
 * TLS 1.2 renegotiations may be needed, which GnuTLS cannot do for a
 * client that holds a TLS 1.2 ticket. */
int tls_conf_perdir_client_auth(void);

/* Whether two servers negotiate TLS alike, so that a connection made for
 * one may serve requests for the other. */
int tls_conf_same_tls(const tls_srv_conf_t *a,
                      const tls_srv_conf_t *b);

/* The GnuTLS priority string this server uses: TLSPriorities + TLSProtocol. */
const char *tls_conf_priority_string(apr_pool_t *p, const tls_srv_conf_t *sc);

/* A config-time error message that names file, line and directive. */
const char *tls_conf_pos_error(apr_pool_t *p, const tls_conf_pos_t *pos,
                               const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* TLS_CONFIG_H */
