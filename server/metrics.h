/* server/metrics.h: counters for GET /metrics (Prometheus text format 0.0.4).
 *
 * Hot-path counters are relaxed atomics in tables sized at start (routes x
 * methods x statuses), so counting a request takes no lock. Gauges that live in the
 * database (workers by line and status, webhook outbox) are read when scraped.
 */
#ifndef SERVER_METRICS_H
#define SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "app/buf.h"
#include "db/db.h"

/* Size the tables for n routes, named by their templates (borrowed: they must
 * outlive the metrics); call once before serving. Route index n is "unmatched". */
void srv_metrics_init(const char *const *route_names, size_t n);
void srv_metrics_fini(void);

/* One finished request of route index route (n: no route matched). */
void srv_metrics_request(size_t route, const char *method, unsigned status, double seconds);

/* The resolve response cache was consulted. */
void srv_metrics_resolve_cache(int hit);

/* Artifact body bytes sent with Content-Encoding enc (NULL: identity). */
void srv_metrics_artifact_bytes(const char *enc, uint64_t n);

/* The result of one end-of-support apply (API or sweep). ok 0: it failed. */
void srv_metrics_eol_apply(const char *origin, int ok, size_t moved, size_t blocked,
                           size_t unblocked);

/* A webhook delivery attempt failed. */
void srv_metrics_webhook_failure(void);

/* Render every metric into out; c is used for the database gauges (NULL skips them). */
void srv_metrics_render(struct buf *out, struct db *c);

#endif
