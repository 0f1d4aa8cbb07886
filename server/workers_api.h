/* server/workers_api.h: the workers module's lifetime: the daily end-of-support
 * sweep thread and the webhook delivery thread (routes: workers_routes in api.h). */
#ifndef SERVER_WORKERS_API_H
#define SERVER_WORKERS_API_H

#include "app/err.h"
#include "server/http.h"

#define WK_SWEEP_INTERVAL_DEFAULT 86400u

/* Start the webhook delivery thread and, when s->cfg.sweep_enabled, the sweep thread,
 * which applies the plan for today (with upcoming notices) at start and then every
 * s->cfg.sweep_interval seconds. Sets s->workers. */
int workers_init(struct srv *s, struct app_err *err);

/* Stop both threads and free s->workers; safe when workers_init failed or never ran.
 * Call after srv_stop. */
void workers_fini(struct srv *s);

#endif
