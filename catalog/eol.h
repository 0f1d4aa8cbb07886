/* catalog/eol.h: end-of-support enforcement for registered workers (DESIGN §5, §11).
 *
 * The policy for a pinned worker as of D: let L be the Python line of its current
 * lock. When D >= end_of_support(L) the worker moves to what its own inputs (date,
 * flags, requirements) resolve to as of D (res_resolve applies §5: the oldest newer
 * line still supported, its first bundle). That resolution either gives a runtime
 * on a line newer than L (a move, to that exact lock), or fails (upgrade_blocked,
 * no_supported_runtime, requirement_not_satisfied, ...: the worker is blocked, keeps
 * its lock, and the reason is recorded). A resolution that lands on L or an older
 * line (only possible when end dates are not in line order) also blocks, with
 * no_supported_runtime: a worker never moves backwards.
 *
 * Planning is pure over a catalog snapshot and the worker rows. It is fast for a
 * large registry: rows are grouped by identical inputs and current lock, and each
 * distinct input is resolved once per date; package changes are computed once per
 * group.
 *
 * Applying runs the plan inside one transaction (BEGIN IMMEDIATE, rows read inside
 * it): each move stores the new lock, updates the worker, appends a history entry,
 * records a "worker.moved" event and queues its webhook deliveries; each newly
 * blocked worker is marked and gets a "worker.blocked" event. A crash leaves every
 * worker either moved or not. Applying the same date again changes nothing: moved
 * workers are on a supported line, blocked ones are already blocked for the same
 * reason. A blocked worker whose line is no longer ended as of a date on or after
 * the one that blocked it (an admin moved the end date) is unblocked.
 *
 * Upcoming: workers whose line ends within CAT_WARNING_DAYS after D, with the end
 * date and the target they would move to on that date (resolved as of it). Applying
 * with EOL_NOTIFY_UPCOMING also records one "worker.upcoming" event per worker and
 * line (the daily sweep does this).
 *
 * Events (kind, subject = the worker, data), also the "data" of webhook deliveries:
 *   worker.moved     {as_of, from: {runtime, python_line}, to: {runtime, python_line},
 *                     old_lock_id, new_lock_id, reason, worker}
 *   worker.blocked   {as_of, code, message, packages, from: {runtime, python_line,
 *                     lock_id}, to: {runtime, python_line} | null, worker}
 *   worker.unblocked {as_of, runtime, python_line, worker}
 *   worker.upcoming  {as_of, worker, runtime, python_line, lock_id, end_of_support,
 *                     days_left, target: {runtime, python_line, lock_id} | null,
 *                     blocked: {code, message, packages, to} | null}
 */
#ifndef CATALOG_EOL_H
#define CATALOG_EOL_H

#include "app/err.h"
#include "catalog/eol_plan.h"
#include "catalog/snapshot.h"
#include "db/db.h"

/* Read the rows a plan needs from the registry and build it. */
int eol_plan(struct db *c, const struct snap *s, int as_of, int today, unsigned want,
             struct eol_plan **out, struct app_err *err);

enum eol_apply_flags {
    EOL_NOTIFY_UPCOMING = 1 << 0,
};

/* Carry out the plan for as_of in one transaction (see above). *out (optional)
 * receives the plan that was applied. */
int eol_apply(struct db *c, const struct snap *s, int as_of, int today, unsigned flags,
              struct eol_plan **out, struct eol_applied *res, struct app_err *err);

#endif
