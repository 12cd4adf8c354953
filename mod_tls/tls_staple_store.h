/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_STAPLE_STORE_H
#define TLS_STAPLE_STORE_H

#include <httpd.h>

/* Where the OCSP responses mod_tls staples itself live: a table in shared
 * memory that lives as long as httpd, one slot per server certificate.
 * Every child process staples from it and sees who fetches what, and a
 * graceful restart keeps it, so that the new children staple at once and
 * nobody fetches again what is still fresh. A slot belongs to the
 * certificate whose id (the SHA-1 of its DER) it holds; one lock, which
 * lives as long, guards every slot. What a slot's fields mean to fetching
 * is tls_stapler.c's business. */

#define TLS_STAPLE_ID_SIZE      20
#define TLS_STAPLE_MAX_DER      (10 * 1024)
#define TLS_STAPLE_RESULT_SIZE  256

/* Where a slot's response comes from. */
#define TLS_STAPLE_FETCHED 0
#define TLS_STAPLE_FILE    1

typedef struct {
    unsigned char id[TLS_STAPLE_ID_SIZE]; /* the certificate; 0s: free */
    apr_uint32_t generation;     /* the last configuration that claimed it */
    int origin;                  /* TLS_STAPLE_FETCHED or TLS_STAPLE_FILE */
    /* the response, when der_len > 0 */
    apr_uint32_t der_len;
    int status;                  /* tls_ocsp_status_t: GOOD or REVOKED */
    apr_time_t this_update;
    apr_time_t expires;          /* not stapled from then on */
    apr_time_t received;         /* when it was fetched (or read) */
    /* fetching */
    apr_time_t next_fetch;       /* due from then on; 0: at once */
    apr_time_t lease_until;      /* a process fetches it until then */
    apr_int32_t lease_pid;       /* ... this one */
    apr_time_t last_fetch;       /* when the last attempt ended; 0: none */
    int last_ok;                 /* ... and whether it brought a response */
    apr_uint32_t failures;       /* attempts in a row that did not */
    char last_result[TLS_STAPLE_RESULT_SIZE];   /* what it brought */
    unsigned char der[TLS_STAPLE_MAX_DER];
} tls_staple_slot_t;

/* pre_config: the lock's type for the Mutex directive ("tls-stapling"). */
void tls_staple_store_pre_config(apr_pool_t *pconf);

/* post_config, in the parent: opens the store (made at the first start,
 * or again when a graceful restart needs more room than it has, the slots
 * in use copied over) for a configuration of n certificates, and begins
 * its claims. */
apr_status_t tls_staple_store_open(server_rec *s, apr_pool_t *pconf,
                                   unsigned n);

/* After tls_staple_store_open(), in the parent: the slot of certificate
 * id for this configuration: the one it had before (with its response
 * and fetch times), else a fresh one; -1 when the store is full. */
int tls_staple_store_claim(const unsigned char *id);

/* child_init: the lock, for this process. */
void tls_staple_store_child_init(apr_pool_t *pchild);

/* Whether there is a store (tls_staple_store_open() succeeded). */
int tls_staple_store_ready(void);

/* The lock around every use of a slot; unlock only after APR_SUCCESS.
 * trylock: APR_EBUSY (or another error) at once when it is held. */
apr_status_t tls_staple_store_lock(void);
apr_status_t tls_staple_store_trylock(void);
void tls_staple_store_unlock(void);

/* Under the lock: slot i, while it still belongs to certificate id (a
 * later configuration may have given it to another); else NULL. */
tls_staple_slot_t *tls_staple_store_slot(int i, const unsigned char *id);

#endif /* TLS_STAPLE_STORE_H */
