/* server/workers_api.h: the start and stop of the registry's background jobs (the
 * sweep thread, server/sweep.c, and the webhook delivery thread, server/webhooks.c).
 * The routes are srv_workers_routes in api.h. */
#ifndef SERVER_WORKERS_API_H
#define SERVER_WORKERS_API_H

#include "app/err.h"
#include "server/http.h"

/* Start the webhook delivery thread and, when s->cfg.sweep_enabled, the sweep thread,
 * which applies the plan for today (with upcoming notices) at start and then every
 * s->cfg.sweep_interval seconds. Sets s->jobs. */
int srv_jobs_start(struct srv *s, struct app_err *err);

/* Stop both threads and free s->jobs; safe when srv_jobs_start failed or never ran.
 * Call after srv_stop. */
void srv_jobs_stop(struct srv *s);

#endif
