/* Licensed under the Apache License, Version 2.0 (see LICENSE). */
#ifndef TLS_DEADLINE_H
#define TLS_DEADLINE_H

#include <httpd.h>
#include <ap_mmn.h>

/* httpd 2.4.63 and newer: the event MPM waits for I/O on a module's behalf
 * (CONN_STATE_ASYNC_WAITIO, AP_MPMQ_CAN_WAITIO) */
#define TLS_HAVE_WAITIO AP_MODULE_MAGIC_AT_LEAST(20120211, 137)

/* A handshake deadline kept while its connection waits in the event MPM. */
typedef struct tls_deadline_t tls_deadline_t;

/* Whether the MPM can wait for a connection's I/O on a module's behalf
 * (event, httpd 2.4.63 and newer). */
int tls_deadline_mpm_waits(void);

/* At `when`, wakes the connection's wait in the MPM (its read then ends
 * the stream), so that the handshake can end with its deadline rather than
 * with the MPM's Timeout. Ends by itself with c's pool. */
apr_status_t tls_deadline_watch(conn_rec *c, apr_time_t when,
                                tls_deadline_t **pd);

/* The handshake is over: forget the deadline. */
void tls_deadline_cancel(tls_deadline_t *d);

void tls_deadline_register_hooks(apr_pool_t *p);

#endif /* TLS_DEADLINE_H */
