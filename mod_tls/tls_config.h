/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_CONFIG_H
#define TLS_CONFIG_H

#include <httpd.h>
#include <http_config.h>
#include <gnutls/gnutls.h>

struct ap_socache_provider_t;
struct ap_socache_instance_t;
struct apr_global_mutex_t;

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

/* TLSClientOCSP */
typedef enum {
    TLS_CLIENT_OCSP_UNSET = -1,
    TLS_CLIENT_OCSP_OFF = 0,
    TLS_CLIENT_OCSP_LEAF,          /* the client's certificate */
    TLS_CLIENT_OCSP_ON,            /* every one below the trust anchor */
} tls_client_ocsp_t;

/* Where a directive was written, for messages that name it after parsing. */
typedef struct {
    const char *file;
    int line;
    const char *directive;
} tls_conf_pos_t;

/* One TLSCertificate line; its files are read and checked by tls_cred.c
 * once the configuration is complete. */
typedef struct {
    const char *cert_file;
    const char *key_file;       /* the file or pkcs11: URI the key came from */
    gnutls_datum_t cert_pem;    /* leaf first, then its chain */
    gnutls_datum_t key_pem;     /* empty for a pkcs11: key */
    apr_time_t not_after;       /* leaf expiry */
    int preference;             /* lower is offered first: by key type */
    int group;                  /* an ECDSA key's curve as TLS group id; 0 */
    const char *subject;        /* leaf subject, for messages */
    tls_conf_pos_t pos;         /* for a provided one: the vhost's TLSEngine */
    int provided;               /* from another module (mod_md) through
                                 * ap_ssl_add_(fallback_)cert_files, not
                                 * from a TLSCertificate line */
} tls_cert_t;

/* One TLSOCSPResponseFile line: the DER OCSP response to staple for the
 * certificate in cert_file; both files are read at startup (tls_stapler.c),
 * where a problem is a warning, not an error. */
typedef struct {
    const char *cert_file;
    const char *resp_file;
    tls_conf_pos_t pos;
} tls_response_file_t;

/* Server-wide settings and state, one record per configuration: made with
 * the main server's config, shared (by pointer) with every vhost's. */
typedef struct tls_global_t {
    const char *cache_spec;           /* TLSSessionCache; NULL: shmcb if loaded */
    tls_conf_pos_t cache_pos;
    const struct ap_socache_provider_t *cache_provider;
    struct ap_socache_instance_t *cache_instance;
    struct apr_global_mutex_t *cache_mutex;   /* providers not MP-safe */
    server_rec *main_server;
    gnutls_datum_t ticket_key;        /* TLSSessionTicketKeyFile contents */
} tls_global_t;

/* What post_config builds for a TLS server (or for the TLSProxy*
 * settings of a scope), read-only afterwards and shared by its connections
 * (and by vhosts that configure the same). */
typedef struct {
    gnutls_certificate_credentials_t creds;
    apr_array_header_t *certs;        /* of tls_cert_t*: what creds serve, in
                                       * the order of their indexes: the
                                       * TLSCertificate lines and what other
                                       * modules provided (tls_md.c) */
    int fallback;                     /* only a provider's fallback
                                       * certificate: requests get 503 */
    const char *prio_string;          /* TLSPriorities + TLSProtocol */
    gnutls_priority_t prio;
    gnutls_datum_t ticket_key;        /* the master key bound to this vhost;
                                       * none for backends */
    /* for TLS 1.2 clients whose supported_groups lack the curve of an
     * ECDSA certificate (see tls_cred_for_hello); NULL: no ECDSA keys */
    gnutls_certificate_credentials_t creds_no_ecdsa;
    apr_array_header_t *ecdsa_groups; /* int: the ECDSA keys' curves */
    int tls13;                        /* the priorities allow TLS 1.3 */
} tls_built_t;

/* TLSProxyVerify */
#define TLS_PROXY_VERIFY_NONE     0
#define TLS_PROXY_VERIFY_REQUIRE  1

/* The TLSProxy* settings of one scope: the server config or a virtual host
 * (kept in its lookup_defaults directory record, as mod_ssl keeps its
 * SSLProxy* ones, so that httpd merges server into vhost) or a <Proxy>
 * section. Directive handlers record what their lines say, TLS_UNSET (or
 * NULL) elsewhere; tls_conf_apply_defaults() completes every record from
 * the scope around it and the defaults (resolved), tls_cred.c then builds
 * what connections use (built, when engine is on). From then on a
 * directory merge takes a resolved record as a whole, so requests never
 * need anything built at run time. */
typedef struct tls_proxy_conf_t {
    int engine;                       /* TLSProxyEngine: 0, 1 */
    const char *ca_file;              /* TLSProxyCA; NULL: system trust */
    tls_conf_pos_t ca_pos;
    const char *crl_file;             /* TLSProxyCRL; NULL: none */
    tls_conf_pos_t crl_pos;
    int verify;                       /* TLS_PROXY_VERIFY_* */
    int check_name;                   /* TLSProxyCheckPeerName: 0, 1 */
    tls_cert_t *cert;                 /* TLSProxyMachineCertificate */
    const char *priorities;           /* TLSProxyPriorities */
    tls_conf_pos_t priorities_pos;
    int protocols;                    /* TLS_PROTO_* set, TLS_UNSET: from
                                       * priorities */
    int resolved;
    tls_built_t *built;
} tls_proxy_conf_t;

/* One server's (vhost's) settings: TLS_UNSET (or NULL) where its
 * directives are silent until tls_conf_apply_defaults() resolves them to
 * plain values in post_config; from then on, read the fields directly. */
typedef struct tls_srv_conf_t {
    server_rec *s;
    tls_global_t *global;
    int engine;                       /* 0, 1 */
    tls_conf_pos_t engine_pos;
    apr_array_header_t *certs;        /* of tls_cert_t*; NULL: none */
    const char *priorities;           /* TLSPriorities */
    tls_conf_pos_t priorities_pos;
    int protocols;                    /* TLS_PROTO_* set, TLS_UNSET: from priorities */
    apr_interval_time_t handshake_timeout;  /* 0: no deadline */
    int strict_sni;                   /* 0, 1 */
    tls_client_mode_t client_mode;
    const char *client_ca;            /* PEM trust anchors; NULL: none */
    tls_conf_pos_t client_ca_pos;
    const char *client_crl;           /* PEM CRLs; NULL: none */
    tls_conf_pos_t client_crl_pos;
    int verify_depth;
    const char *key_purpose;          /* EKU OID, or "any" */
    tls_client_ocsp_t client_ocsp;    /* TLSClientOCSP */
    const char *ocsp_responder;       /* TLSClientOCSPDefaultResponder */
    tls_conf_pos_t ocsp_responder_pos;
    int ocsp_override;                /* TLSClientOCSPOverrideResponder */
    tls_conf_pos_t ocsp_override_pos;
    apr_interval_time_t ocsp_timeout; /* TLSClientOCSPTimeout */
    int ocsp_stapling;                /* TLSOCSPStapling: 0, 1 */
    const char *stapling_responder;   /* TLSOCSPStaplingResponder */
    tls_conf_pos_t stapling_responder_pos;
    apr_array_header_t *response_files; /* of tls_response_file_t*: this
                                       * server's TLSOCSPResponseFile lines,
                                       * then the server config's */
    int session_tickets;              /* 0, 1 */
    int cache_timeout;                /* seconds */
    int perdir_client_auth;           /* a section of it asks for certificates */
    tls_built_t *built;               /* TLS servers, once post_config ran */
} tls_srv_conf_t;

typedef struct {
    tls_client_mode_t client_mode;   /* in a directory: ask per request */
    int verify_depth;
    const char *user_name;           /* TLSUserName variable */
    apr_off_t reneg_buffer;          /* TLSRenegBufferSize; TLS_UNSET */
    int opts;          /* TLSOptions set absolutely */
    int opts_add;      /* +opt */
    int opts_del;      /* -opt */
    int opts_set;      /* an absolute list was given */
    tls_proxy_conf_t *proxy;         /* TLSProxy*; NULL: none here */
} tls_dir_conf_t;

extern module AP_MODULE_DECLARE_DATA tls_module;
extern const command_rec tls_conf_cmds[];

void tls_conf_register_hooks(apr_pool_t *p);

void *tls_conf_create_srv(apr_pool_t *p, server_rec *s);
void *tls_conf_merge_srv(apr_pool_t *p, void *basev, void *addv);
void *tls_conf_create_dir(apr_pool_t *p, char *dir);
void *tls_conf_merge_dir(apr_pool_t *p, void *basev, void *addv);

tls_srv_conf_t *tls_conf_srv_get(server_rec *s);
tls_dir_conf_t *tls_conf_dir_get(request_rec *r);
int tls_conf_dir_opts(request_rec *r);
/* TLSRenegBufferSize for the request: body kept while asking for a
 * client certificate. */
apr_off_t tls_conf_reneg_buffer(request_rec *r);

/* Resolves every server's unset settings to their defaults (and what its
 * <Location>/<Directory> sections imply), and every TLSProxy* record (a
 * <Proxy> section's from its server's); run by post_config and by the
 * configuration test, before anything reads the settings. */
void tls_conf_apply_defaults(server_rec *main_s);

/* The TLSProxy* record of a server's own scope (its lookup_defaults), and
 * of a directory configuration (a <Proxy> section's, or a request's merged
 * one); NULL when no TLSProxy* directive applies. */
tls_proxy_conf_t *tls_conf_proxy_of_server(server_rec *s);
tls_proxy_conf_t *tls_conf_proxy_of_dir(ap_conf_vector_t *dir_conf);

/* The directory configurations of the <Proxy> and <ProxyMatch> sections
 * that apply to server s (its own and the main server's), as mod_proxy
 * keeps them; NULL without mod_proxy. */
apr_array_header_t *tls_conf_proxy_sections(server_rec *s);

/* Whether a TLSCertificate key names a PKCS#11 object. */
int tls_conf_is_pkcs11(const char *key_file);

/* TLSProtocol's argument (mod_ssl's notation, "TLSv1.2+") as a set of
 * TLS_PROTO_* bits in *bits; an error message (without the directive's
 * name) or NULL. Words and message are allocated from p. */
const char *tls_conf_parse_protocol(apr_pool_t *p, const char *spec,
                                    int *bits);

/* TLSOptions' argument ([+-]StdEnvVars ...) applied to dc's option fields,
 * as one more such line in the same section; an error message or NULL. */
const char *tls_conf_parse_options(apr_pool_t *p, const char *spec,
                                   tls_dir_conf_t *dc);

/* What is wrong with a ticket key file of this size and permissions, or
 * NULL. */
#define TLS_TICKET_KEY_SIZE 64
const char *tls_conf_check_ticket_key(apr_pool_t *p, apr_off_t size,
                                      apr_fileperms_t perms);

/* Whether two servers negotiate TLS alike, so that a connection made for
 * one may serve requests for the other. */
int tls_conf_same_tls(const tls_srv_conf_t *a,
                      const tls_srv_conf_t *b);

/* The GnuTLS priority string this server uses: TLSPriorities + TLSProtocol. */
const char *tls_conf_priority_string(apr_pool_t *p, const tls_srv_conf_t *sc);
/* ... and the one its backend connections use: TLSProxyPriorities +
 * TLSProxyProtocol. */
const char *tls_conf_proxy_priority_string(apr_pool_t *p,
                                           const tls_proxy_conf_t *pc);

/* "name:port" of a server for messages: its ServerName and the port of
 * its address (a vhost's own port is mostly unset). */
const char *tls_conf_server_id(apr_pool_t *p, const server_rec *s);

/* A config-time error message that names file, line and directive. */
const char *tls_conf_pos_error(apr_pool_t *p, const tls_conf_pos_t *pos,
                               const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A check of the finished configuration: NULL, or the error (from
 * tls_conf_pos_error). `apachectl -t` runs test_config instead of
 * post_config, so a check that must stop both runs from both hooks: */
typedef const char *tls_conf_check_fn(apr_pool_t *p, server_rec *s);
/* in post_config: the error logged, !OK (httpd does not start) */
int tls_conf_check_post_config(apr_pool_t *ptemp, server_rec *s,
                               tls_conf_check_fn *check);
/* in test_config: the error logged, exit(1) */
void tls_conf_check_test_config(apr_pool_t *pconf, server_rec *s,
                                tls_conf_check_fn *check);

#endif /* TLS_CONFIG_H */
