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

#include <stddef.h>

#include <cjson/cJSON.h>

#include "app/err.h"
#include "db/db.h"
#include "catalog/resolve.h"
#include "catalog/snapshot.h"
#include "catalog/workers.h"

struct strmap;

enum eol_want {
    EOL_WANT_MOVES = 1 << 0,    /* moves, blocks and unblocks as of the date */
    EOL_WANT_UPCOMING = 1 << 1, /* workers whose line ends within the window */
};

enum eol_outcome {
    EOL_KEEP = 0, /* the current line is not ended */
    EOL_MOVE,
    EOL_BLOCK,
};

/* One distinct input resolved as of one date. */
struct eol_res {
    char *key;
    int ok;
    struct res_output out; /* when ok */
    cJSON *blocked;        /* when not ok: {code, message, packages, to} */
};

/* Workers with the same inputs and the same current lock, evaluated as of one date
 * (D for moves, the line's end for upcoming). */
struct eol_group {
    size_t res;
    const char *lock_id, *runtime, *python_line; /* current; borrowed from a row */
    int end_of_support;
    enum eol_outcome outcome;
    const char *to_runtime, *to_line; /* MOVE (and upcoming targets) */
    char to_lock_id[RES_LOCK_ID_LEN];
    char *reason;           /* MOVE: why; BLOCK: the message */
    cJSON *package_changes; /* MOVE: [{name, from, to, change}] */
    cJSON *blocked;         /* BLOCK: {code, message, packages, to} */
    char *blocked_key;      /* BLOCK: canonical {code, packages, to}, compares reasons */
    char *event_prefix;     /* MOVE/BLOCK: the event data without "worker" and '}' */
    size_t n_workers;
    int upcoming; /* evaluated as of the line's end, for upcoming */
};

struct eol_entry {
    size_t row;    /* index into plan->rows */
    size_t group;  /* index into plan->groups */
    int unchanged; /* blocked already, for the same reason: nothing to do */
};

struct eol_plan {
    int as_of;
    unsigned want;
    long long registered;    /* every registered worker */
    struct cat_worker *rows; /* the rows looked at (owned), by name */
    size_t n_rows;
    struct eol_group *groups;
    size_t n_groups, cap_groups;
    struct eol_res *res;
    size_t n_res, cap_res;
    struct eol_entry *moves, *blocked, *unblocked, *upcoming;
    size_t n_moves, n_blocked, n_unblocked, n_upcoming;
    size_t n_newly_blocked;
    struct strmap *res_map, *group_map; /* internal: key -> index */
};

/* Load a stored lock's bytes (the caller frees *bytes). */
typedef int (*eol_lock_fn)(void *ctx, const char *lock_id, char **bytes, size_t *len,
                           struct app_err *err);

/* Build the plan as of as_of (days) over rows (taken over, whatever the result),
 * resolving with `today` as today. load_lock gives current locks' bytes for the
 * package changes. Fails only on internal errors. */
int eol_plan_build(const struct snap *s, struct cat_worker *rows, size_t n_rows, int as_of,
                   int today, unsigned want, eol_lock_fn load_lock, void *lock_ctx,
                   struct eol_plan **out, struct app_err *err);

void eol_plan_free(struct eol_plan *p);

/* Read the rows a plan needs from the registry and build it. */
int eol_plan(struct db *c, const struct snap *s, int as_of, int today, unsigned want,
             struct eol_plan **out, struct app_err *err);

/* What an apply did. */
struct eol_applied {
    size_t moved, blocked, unblocked, upcoming_notified;
    size_t events, deliveries;
    long long first_seq, last_seq; /* events recorded; 0 when none */
};

enum eol_apply_flags {
    EOL_NOTIFY_UPCOMING = 1 << 0,
};

/* Carry out the plan for as_of in one transaction (see above). *out (optional)
 * receives the plan that was applied. */
int eol_apply(struct db *c, const struct snap *s, int as_of, int today, unsigned flags,
              struct eol_plan **out, struct eol_applied *res, struct app_err *err);

/* {as_of, totals: {registered, evaluated, moves, blocked, newly_blocked, unblocked},
 * groups: [{outcome, from: {runtime, python_line}, to: {runtime, python_line}|null,
 * code, workers}], moves: [{worker, from: {runtime, python_line, lock_id}, to:
 * {runtime, python_line, lock_id}, reason, package_changes: [{name, from, to,
 * change}]}], blocked: [{worker, from, to, code, reason, packages, since, new}],
 * unblocked: [{worker, runtime, python_line}]}. With summary the three lists are
 * left out. */
cJSON *eol_plan_json(const struct eol_plan *p, int summary);

/* The same document as eol_plan_json, plus "applied" (eol_applied_json) when applied
 * is not NULL, as canonical JSON text (the caller frees; *len its length), built
 * without a tree per move: fast for large plans. */
char *eol_plan_render(const struct eol_plan *p, int summary, const struct eol_applied *applied,
                      size_t *len);

/* {as_of, window_days, totals: {workers, by_line: [{python_line, end_of_support,
 * workers}]}, workers: [{worker, runtime, python_line, lock_id, end_of_support,
 * days_left, target: {runtime, python_line, lock_id}|null, blocked: {...}|null,
 * notified}]}. */
cJSON *eol_upcoming_json(const struct eol_plan *p);

/* {moved, blocked, unblocked, upcoming_notified, events, deliveries, first_seq,
 * last_seq}. */
cJSON *eol_applied_json(const struct eol_applied *a);

/* Pieces shared by the planner, the apply and the documents (eol_json.c). */

/* {runtime, python_line, lock_id?}: one side of a move. */
cJSON *eol_side_json(const char *runtime, const char *line, const char *lock_id);

/* The canonical text of obj (taken over) without its closing brace: an event's data
 * lacking only its last key, "worker", which sorts after every other key. */
char *eol_event_prefix(cJSON *obj);

/* An event's data: prefix (eol_event_prefix) + the worker's name. Caller frees. */
char *eol_event_data(const char *prefix, const char *worker);

/* One upcoming entry {worker, runtime, python_line, lock_id, end_of_support,
 * days_left, target, blocked, notified?}. */
cJSON *eol_upcoming_entry(const struct eol_plan *p, const struct eol_entry *e, int with_notified);

#endif
