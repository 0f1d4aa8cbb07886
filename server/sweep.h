/* server/sweep.h: the daily end-of-support sweep thread, and the one lock that keeps
 * it and the API's applies apart.
 *
 * Applies the plan for today (with upcoming notices) once at start and then every
 * s->cfg.sweep_interval seconds, as principal "sweep", through srv_eol_apply (so it
 * never runs beside an apply from the API). Failures are logged and counted in the
 * metrics; the next sweep tries again. Started and stopped by srv_jobs_start/stop.
 */
#ifndef SERVER_SWEEP_H
#define SERVER_SWEEP_H

#include "app/err.h"
#include "catalog/eol.h"
#include "server/http.h"

/* A day, the interval of a sweep unless --sweep-interval says otherwise. */
#define SRV_SWEEP_INTERVAL_DEFAULT 86400u

/* eol_apply (catalog/eol.h) under the one mutex that serializes applies from the
 * API and the sweep, so two never plan from the same rows at once. */
int srv_eol_apply(struct db *c, const struct snap *snap, int as_of, int today, unsigned flags,
                  struct eol_plan **out, struct eol_applied *res, struct app_err *err);

struct srv_sweep;
struct wh_sender;

/* Start the thread; s and sender (kicked when a sweep queues deliveries) are
 * borrowed and must outlive srv_sweep_stop. NULL with err when the thread cannot be
 * started. */
struct srv_sweep *srv_sweep_start(struct srv *s, struct wh_sender *sender, struct app_err *err);

/* Wake the thread, wait for it to finish its current sweep and free it; NULL does
 * nothing. */
void srv_sweep_stop(struct srv_sweep *w);

#endif
