/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 *
 * Handshake deadlines on the event MPM. A handshake that waits for the
 * client's bytes returns its connection to the MPM, which polls it with
 * the server's Timeout and never asks the module again when that expires;
 * its timed callbacks can fire tens of seconds late on a quiet server. So
 * each child process runs one thread that sleeps until the earliest
 * deadline and then shuts down the read side of that connection's socket:
 * the MPM sees it readable, hands it to a worker, and the handshake ends
 * there with the timeout's log line. The thread works on a duplicate of
 * the socket's descriptor, owned here, so that it can never touch a
 * descriptor number that a closed connection left for another. */
#include <httpd.h>
#include <http_config.h>
#include <http_connection.h>
#include <http_core.h>
#include <http_log.h>
#include <ap_mpm.h>
#include <apr_portable.h>
#include <apr_ring.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tls_config.h"
#include "tls_deadline.h"

APLOG_USE_MODULE(tls);

typedef struct tls_watcher_t tls_watcher_t;

struct tls_deadline_t {
    APR_RING_ENTRY(tls_deadline_t) link;
    tls_watcher_t *w;
    apr_time_t when;
    int fd;                     /* our duplicate; -1 once released */
    int queued;
};

APR_RING_HEAD(tls_deadline_ring, tls_deadline_t);

struct tls_watcher_t {
    apr_thread_mutex_t *mutex;
    apr_thread_cond_t *cond;
    struct tls_deadline_ring queue;     /* ordered by when */
    apr_thread_t *thread;
    int stopping;
};

#if APR_HAS_THREADS
/* This child's watcher, made at child_init; NULL where the MPM keeps
 * handshakes in a worker (worker, prefork), which need none. */
static tls_watcher_t *watcher;

static void *APR_THREAD_FUNC watch(apr_thread_t *thread, void *data)
{
    tls_watcher_t *w = data;
    struct tls_deadline_ring *q = &w->queue;
    tls_deadline_t *d;
    apr_time_t now;

    apr_thread_mutex_lock(w->mutex);
    while (!w->stopping) {
        if (APR_RING_EMPTY(q, tls_deadline_t, link)) {
            apr_thread_cond_wait(w->cond, w->mutex);
            continue;
        }
        d = APR_RING_FIRST(q);
        now = apr_time_now();
        if (d->when > now) {
            apr_thread_cond_timedwait(w->cond, w->mutex, d->when - now);
            continue;
        }
        APR_RING_REMOVE(d, link);
        d->queued = 0;
        shutdown(d->fd, SHUT_RD);
    }
    apr_thread_mutex_unlock(w->mutex);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

/* Takes d off the queue and closes its descriptor; idempotent. */
static void release(tls_deadline_t *d)
{
    tls_watcher_t *w = d->w;

    apr_thread_mutex_lock(w->mutex);
    if (d->queued) {
        APR_RING_REMOVE(d, link);
        d->queued = 0;
    }
    if (d->fd >= 0) {
        close(d->fd);
        d->fd = -1;
    }
    apr_thread_mutex_unlock(w->mutex);
}

static apr_status_t release_cleanup(void *data)
{
    release(data);
    return APR_SUCCESS;
}

/* Inserts d in deadline order; scanning from the end, since deadlines
 * mostly come in the order of their connections. */
static void enqueue(tls_watcher_t *w, tls_deadline_t *d)
{
    struct tls_deadline_ring *q = &w->queue;
    tls_deadline_t *before = APR_RING_LAST(q);

    while (before != APR_RING_SENTINEL(q, tls_deadline_t, link)
           && before->when > d->when) {
        before = APR_RING_PREV(before, link);
    }
    APR_RING_INSERT_AFTER(before, d, link);
    d->queued = 1;
    if (APR_RING_FIRST(q) == d) {
        /* the thread sleeps for a later deadline */
        apr_thread_cond_signal(w->cond);
    }
}

apr_status_t tls_deadline_watch(conn_rec *c, apr_time_t when,
                                tls_deadline_t **pd)
{
    apr_socket_t *sock = ap_get_conn_socket(c);
    apr_os_sock_t fd;
    tls_deadline_t *d;

    if (!watcher || !sock || apr_os_sock_get(&fd, sock) != APR_SUCCESS) {
        return APR_ENOTIMPL;
    }
    d = apr_pcalloc(c->pool, sizeof(*d));
    d->w = watcher;
    d->when = when;
    d->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (d->fd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    apr_pool_cleanup_register(c->pool, d, release_cleanup,
                              apr_pool_cleanup_null);
    apr_thread_mutex_lock(watcher->mutex);
    enqueue(watcher, d);
    apr_thread_mutex_unlock(watcher->mutex);
    *pd = d;
    return APR_SUCCESS;
}

void tls_deadline_cancel(tls_deadline_t *d)
{
    if (d) {
        release(d);
    }
}

/* Runs before the child pool's subpools (the thread's among them) go. */
static apr_status_t watcher_stop(void *data)
{
    tls_watcher_t *w = data;
    apr_status_t rv;

    apr_thread_mutex_lock(w->mutex);
    w->stopping = 1;
    apr_thread_cond_signal(w->cond);
    apr_thread_mutex_unlock(w->mutex);
    apr_thread_join(&rv, w->thread);
    watcher = NULL;
    return APR_SUCCESS;
}

int tls_deadline_mpm_waits(void)
{
#if TLS_HAVE_WAITIO
    int can = 0;

    return ap_mpm_query(AP_MPMQ_CAN_WAITIO, &can) == APR_SUCCESS && can;
#else
    return 0;
#endif
}

static int uses_deadlines(server_rec *s)
{
    for (; s; s = s->next) {
        tls_srv_conf_t *sc = tls_conf_srv_get(s);

        if (sc->engine == 1 && sc->handshake_timeout > 0) {
            return 1;
        }
    }
    return 0;
}

static void tls_deadline_child_init(apr_pool_t *pchild, server_rec *s)
{
    tls_watcher_t *w;
    apr_status_t rv;

    watcher = NULL;
    if (!tls_deadline_mpm_waits() || !uses_deadlines(s)) {
        return;
    }
    w = apr_pcalloc(pchild, sizeof(*w));
    APR_RING_INIT(&w->queue, tls_deadline_t, link);
    if ((rv = apr_thread_mutex_create(&w->mutex, APR_THREAD_MUTEX_DEFAULT,
                                      pchild)) != APR_SUCCESS
        || (rv = apr_thread_cond_create(&w->cond, pchild)) != APR_SUCCESS
        || (rv = apr_thread_create(&w->thread, NULL, watch, w,
                                   pchild)) != APR_SUCCESS) {
        /* handshakes then stay in their worker, with the same deadline */
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, "cannot start the "
                     "TLS handshake deadline thread; handshakes will hold "
                     "a worker thread until they are done");
        return;
    }
    apr_pool_pre_cleanup_register(pchild, w, watcher_stop);
    watcher = w;
    ap_log_error(APLOG_MARK, APLOG_TRACE1, 0, s, "TLS handshake deadline "
                 "thread started");
}

void tls_deadline_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_child_init(tls_deadline_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}

#else /* !APR_HAS_THREADS */

int tls_deadline_mpm_waits(void)
{
    return 0;
}

apr_status_t tls_deadline_watch(conn_rec *c, apr_time_t when,
                                tls_deadline_t **pd)
{
    (void)c; (void)when; (void)pd;
    return APR_ENOTIMPL;
}

void tls_deadline_cancel(tls_deadline_t *d)
{
    (void)d;
}

void tls_deadline_register_hooks(apr_pool_t *p)
{
    (void)p;
}

#endif /* APR_HAS_THREADS */
