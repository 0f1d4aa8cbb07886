/* catalog/eol_plan.h: the end-of-support plan, pure: built from a catalog snapshot
 * and registry rows (catalog/worker.h) with stored locks through a callback, and
 * rendered to documents (eol_json.c). No SQL: the policy is described in
 * catalog/eol.h, which reads the rows and applies the plan. */
#ifndef CATALOG_EOL_PLAN_H
#define CATALOG_EOL_PLAN_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "app/err.h"
#include "catalog/resolve.h"
#include "catalog/snapshot.h"
#include "catalog/worker.h"

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

/* What an apply did. */
struct eol_applied {
    size_t moved, blocked, unblocked, upcoming_notified;
    size_t events, deliveries;
    long long first_seq, last_seq; /* events recorded; 0 when none */
};

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
