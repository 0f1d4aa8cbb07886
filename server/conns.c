/* server/conns.c: head deadline and reserve for new clients (conns.h). */
#include "server/conns.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "app/mem.h"

#define CONNS_TICK_MS 250

struct conns;

struct conn_entry {
    struct conn_entry *prev, *next;
    struct conns *owner;
    int fd;
    int in_request; /* head complete, request being served */
    int shut;       /* shut down already */
    double since;   /* when the current head started (connection or last request end) */
};

struct conns {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int running, stop;
    unsigned max_conns, head_deadline, count;
    struct conn_entry *head;
};

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct conns *
conns_new(unsigned max_conns, unsigned head_deadline_s)
{
    struct conns *c = xcalloc(1, sizeof(*c));

    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->max_conns = max_conns;
    c->head_deadline = head_deadline_s;
    return c;
}

void
conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
             enum MHD_ConnectionNotificationCode code)
{
    struct conns *c = cls;
    struct conn_entry *e;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

        e = xcalloc(1, sizeof(*e));
        e->owner = c;
        e->fd = ci ? ci->connect_fd : -1;
        e->since = now_s();
        pthread_mutex_lock(&c->mu);
        e->next = c->head;
        if (c->head)
            c->head->prev = e;
        c->head = e;
        c->count++;
        pthread_mutex_unlock(&c->mu);
        *socket_context = e;
        return;
    }
    e = *socket_context;
    if (!e)
        return;
    pthread_mutex_lock(&c->mu);
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    c->count--;
    pthread_mutex_unlock(&c->mu);
    free(e);
    *socket_context = NULL;
}

static struct conn_entry *
entry_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci ? ci->socket_context : NULL;
}

void
conns_head_done(struct MHD_Connection *conn)
{
    struct conn_entry *e = entry_of(conn);

    if (!e)
        return;
    pthread_mutex_lock(&e->owner->mu);
    e->in_request = 1;
    pthread_mutex_unlock(&e->owner->mu);
}

void
conns_request_done(struct MHD_Connection *conn)
{
    struct conn_entry *e = entry_of(conn);

    if (!e)
        return;
    pthread_mutex_lock(&e->owner->mu);
    e->in_request = 0;
    e->since = now_s();
    pthread_mutex_unlock(&e->owner->mu);
}

static void
shut(struct conn_entry *e)
{
    if (e->shut || e->fd < 0)
        return;
    e->shut = 1;
    shutdown(e->fd, SHUT_RDWR);
}

/* One pass: the head deadline, then the reserve. Called with c->mu held. */
static void
reap(struct conns *c)
{
    double now = now_s();
    unsigned open = 0, keep = c->max_conns > CONNS_RESERVE ? c->max_conns - CONNS_RESERVE : 1;

    for (struct conn_entry *e = c->head; e; e = e->next) {
        if (!e->in_request && !e->shut && now - e->since > (double)c->head_deadline)
            shut(e);
        open += !e->shut;
    }
    /* Over the reserve line: close the connections waiting longest for a head. The
     * list is newest first, so walk to the tail. */
    if (open > keep) {
        struct conn_entry *e = c->head;

        while (e && e->next)
            e = e->next;
        for (; e && open > keep; e = e->prev) {
            if (!e->shut && !e->in_request) {
                shut(e);
                open--;
            }
        }
    }
}

static void *
reaper(void *arg)
{
    struct conns *c = arg;

    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += CONNS_TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&c->cv, &c->mu, &ts);
        if (!c->stop)
            reap(c);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int
conns_start(struct conns *c)
{
    if (pthread_create(&c->thread, NULL, reaper, c) != 0)
        return -1;
    c->running = 1;
    return 0;
}

void
conns_free(struct conns *c)
{
    if (!c)
        return;
    if (c->running) {
        pthread_mutex_lock(&c->mu);
        c->stop = 1;
        pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
    }
    while (c->head) {
        struct conn_entry *e = c->head;

        c->head = e->next;
        free(e);
    }
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
