/* server/sweep.c: the daily end-of-support sweep thread (server/sweep.h). It keeps
 * its own database connection, opened at the first sweep and reopened after a
 * failure to open. */
#include "server/sweep.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "app/date.h"
#include "app/log.h"
#include "app/mem.h"
#include "catalog/eol.h"
#include "catalog/snapload.h"
#include "db/events.h"
#include "server/metrics.h"
#include "server/webhooks.h"

struct srv_sweep {
    struct srv *s;
    struct wh_sender *sender;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int stop;
};

/* One apply at a time, from the API or the sweep. */
static pthread_mutex_t apply_mu = PTHREAD_MUTEX_INITIALIZER;

int
srv_eol_apply(struct db *c, const struct snap *snap, int as_of, int today, unsigned flags,
              struct eol_plan **out, struct eol_applied *res, struct app_err *err)
{
    int rc;

    pthread_mutex_lock(&apply_mu);
    rc = eol_apply(c, snap, as_of, today, flags, out, res, err);
    pthread_mutex_unlock(&apply_mu);
    return rc;
}

/* One sweep: apply the plan for today, with upcoming notices. */
static void
sweep_once(struct srv_sweep *w, struct db **c)
{
    struct srv *s = w->s;
    struct app_err err = {0};
    struct eol_applied a;
    struct snap *snap = NULL;
    char today_s[APP_DATE_LEN];
    int today = date_today();

    date_format(today, today_s);
    if (!*c && !(*c = db_open(s->cfg.data_dir, &err)))
        goto out;
    snap = snapcache_get(s->snaps, *c, &err);
    if (!snap)
        goto out;
    if (srv_eol_apply(*c, snap, today, today, EOL_NOTIFY_UPCOMING, NULL, &a, &err) < 0)
        goto out;
    srv_metrics_eol_apply("sweep", 1, a.moved, a.blocked, a.unblocked);
    if (a.events)
        app_log(APP_LOG_INFO,
                "eol apply (sweep) %s: %zu moved, %zu blocked, %zu unblocked, %zu upcoming "
                "notices, %zu webhook deliveries queued",
                today_s, a.moved, a.blocked, a.unblocked, a.upcoming_notified, a.deliveries);
    if (a.deliveries)
        wh_sender_kick(w->sender);
out:
    if (err.code != APP_OK) {
        srv_metrics_eol_apply("sweep", 0, 0, 0, 0);
        app_log(APP_LOG_ERROR, "eol apply (sweep) %s failed: %s", today_s, err.msg);
    }
    snapcache_put(s->snaps, snap);
    app_err_release(&err);
}

static void *
sweep_main(void *arg)
{
    struct srv_sweep *w = arg;
    struct db *c = NULL;

    db_event_set_principal("sweep");
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct timespec ts;

        pthread_mutex_unlock(&w->mu);
        sweep_once(w, &c);
        pthread_mutex_lock(&w->mu);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += (time_t)w->s->cfg.sweep_interval;
        while (!w->stop && pthread_cond_timedwait(&w->cond, &w->mu, &ts) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&w->mu);
    db_close(c);
    return NULL;
}

struct srv_sweep *
srv_sweep_start(struct srv *s, struct wh_sender *sender, struct app_err *err)
{
    struct srv_sweep *w = xcalloc(1, sizeof(*w));

    w->s = s;
    w->sender = sender;
    if (s->cfg.sweep_interval == 0)
        s->cfg.sweep_interval = SRV_SWEEP_INTERVAL_DEFAULT;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
    if (pthread_create(&w->thread, NULL, sweep_main, w) != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cond);
        free(w);
        app_fail(err, APP_EINTERNAL, "cannot start the sweep thread");
        return NULL;
    }
    return w;
}

void
srv_sweep_stop(struct srv_sweep *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cond);
    free(w);
}
