/* tests/unit/test_eol.c: the workers registry (catalog/workers.c), end-of-support
 * plan and apply (catalog/eol.c) and the webhook outbox (catalog/hooks.c), DESIGN
 * §5 and §11, on a copy of a database loaded with the synthetic catalog of
 * tests/lib/fixtures (hermetic: no npm, no distributions, no network).
 *
 * The seed's bundles: python_workers -> pyodide-0.26.4 (3.12, ends 2028-10-02),
 * python_workers_20250116 -> 0.28.3 (3.13, ends 2029-10-07), python_workers_20260610
 * and python_workers_314 (implied after 2026-09-08) -> 314.0.7 (3.14, ends 2030-10-07);
 * 3.15 has no bundle. duckdb is in 0.26.4's and 314.0.7's sets but not in 0.28.3's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/date.h"
#include "app/json.h"
#include "app/mem.h"
#include "db/db.h"
#include "catalog/eol.h"
#include "catalog/hooks.h"
#include "catalog/resolve.h"
#include "catalog/snapload.h"
#include "catalog/workers.h"
#include "tests/lib/fixtures.h"
#include "tests/lib/unit.h"

#define TODAY "2026-11-25"

static char template_dir[64]; /* seeded once */
static char data_dir[64];     /* a fresh copy per test */
static struct db *db;
static struct snap *snap;

static int
day(const char *s)
{
    int d = 0;

    ck_assert_msg(date_parse(s, &d) == 0, "bad date %s", s);
    return d;
}

static void
run(const char *cmd)
{
    ck_assert_msg(system(cmd) == 0, "command failed: %s", cmd);
}

static void
setup(void)
{
    struct app_err err = {0};
    char *cmd;

    snprintf(data_dir, sizeof(data_dir), "/tmp/almanac-test-eol-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(data_dir));
    cmd = xasprintf("cp '%s/almanac.db' '%s/almanac.db'", template_dir, data_dir);
    run(cmd);
    free(cmd);
    db = db_open(data_dir, &err);
    ck_assert_msg(db != NULL, "%s", err.msg);
    snap = snap_load(db, &err);
    ck_assert_msg(snap != NULL, "%s", err.msg);
}

static void
teardown(void)
{
    char *cmd = xasprintf("rm -rf '%s'", data_dir);

    snap_free(snap);
    db_close(db);
    run(cmd);
    free(cmd);
}

/* Reload the snapshot after changing the catalog behind its back. */
static void
reload(void)
{
    struct app_err err = {0};

    snap_free(snap);
    snap = snap_load(db, &err);
    ck_assert_msg(snap != NULL, "%s", err.msg);
}

static char *
json_list(const char *const *v)
{
    cJSON *a = cJSON_CreateArray();
    char *s;

    for (size_t i = 0; v && v[i]; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    s = json_canonical(a, NULL);
    cJSON_Delete(a);
    return s;
}

static size_t
count(const char *const *v)
{
    size_t n = 0;

    while (v && v[n])
        n++;
    return n;
}

/* Register a worker the way PUT /v1/workers/{name} does (resolved as of today). */
static void
deploy(const char *name, const char *date, const char *const *flags, const char *const *reqs,
       int allow_experimental)
{
    struct res_input in = {0};
    struct res_output out;
    struct app_err err = {0};
    struct cat_worker w = {0};
    const cJSON *rt;
    int created, changed;

    in.date = date;
    in.flags = flags;
    in.n_flags = count(flags);
    in.requirements = reqs;
    in.n_requirements = count(reqs);
    in.allow_experimental = allow_experimental;
    in.today = day(TODAY);
    ck_assert_msg(res_resolve(snap, &in, &out, &err) == 0, "%s: %s", name, err.msg);
    rt = cJSON_GetObjectItem(out.lock, "runtime");
    w.name = xstrdup(name);
    w.date = xstrdup(date);
    w.flags = json_list(flags);
    w.requirements = json_list(reqs);
    w.allow_experimental = allow_experimental;
    w.lock_id = out.lock_id;
    w.runtime = cJSON_IsObject(rt) ? cJSON_GetObjectItem(rt, "id")->valuestring : NULL;
    w.python_line = cJSON_IsObject(rt) ? cJSON_GetObjectItem(rt, "python_line")->valuestring : NULL;
    ck_assert_msg(cat_worker_pin(db, &w, out.lock_bytes, out.lock_len, &created, &changed, &err) ==
                      0,
                  "%s", err.msg);
    free(w.name);
    free(w.date);
    free(w.flags);
    free(w.requirements);
    res_output_release(&out);
}

static const char *const PW[] = {"python_workers", NULL};
static const char *const PW_2025[] = {"python_workers", "python_workers_20250116", NULL};
static const char *const PW_NO_2025[] = {"python_workers", "no_python_workers_20250116", NULL};
static const char *const PW_2026[] = {"python_workers", "python_workers_20260610", NULL};
static const char *const PW_EXP[] = {"python_workers", "python_zstd_snapshot", NULL};
static const char *const JS[] = {"nodejs_compat", NULL};
static const char *const NUMPY[] = {"numpy", "pydantic", NULL};
static const char *const DUCKDB[] = {"duckdb", NULL};
static const char *const NUMPY_PIN[] = {"numpy==1.26.4", NULL};

/* One worker on every seed bundle and several dates, plus blocked and JS ones. */
static void
deploy_fleet(void)
{
    deploy("a-312", "2024-04-01", PW, NUMPY, 0);            /* 0.26.4 */
    deploy("b-313-implied", "2025-10-01", PW, NULL, 0);     /* 0.28.3 by implication */
    deploy("c-313-named", "2025-06-01", PW_2025, NUMPY, 0); /* 0.28.3 */
    deploy("d-314", "2026-07-01", PW_2026, NULL, 0);        /* 314.0.7 */
    deploy("e-314-exp", "2026-09-10", PW_EXP, NULL,
           1); /* 314.0.7 (python_workers_314), experimental flag */
    deploy("f-duckdb", "2024-04-01", PW, DUCKDB, 0);             /* 0.26.4, not in 0.28.3 */
    deploy("g-312-disabled", "2025-10-01", PW_NO_2025, NULL, 0); /* 0.26.4 */
    deploy("h-js", "2024-04-01", JS, NULL, 0);                   /* no Python */
    deploy("i-numpy-pin", "2024-04-01", PW, NUMPY_PIN, 0);       /* numpy==1.26.4 */
}

static struct cat_worker
get(const char *name)
{
    struct cat_worker w;
    struct app_err err = {0};

    ck_assert_msg(cat_worker_get(db, name, &w, &err) == 0, "%s", err.msg);
    return w;
}

static void
assert_worker(const char *name, const char *runtime, const char *status)
{
    struct cat_worker w = get(name);

    if (runtime)
        ck_assert_msg(w.runtime && strcmp(w.runtime, runtime) == 0, "%s is on %s, not %s", name,
                      w.runtime ? w.runtime : "(none)", runtime);
    else
        ck_assert_ptr_null(w.runtime);
    ck_assert_msg(strcmp(w.status, status) == 0, "%s is %s, not %s", name, w.status, status);
    cat_worker_release(&w);
}

static struct eol_plan *
plan(const char *as_of, unsigned want)
{
    struct eol_plan *p = NULL;
    struct app_err err = {0};

    ck_assert_msg(eol_plan(db, snap, day(as_of), day(TODAY), want, &p, &err) == 0, "%s", err.msg);
    return p;
}

static struct eol_applied
apply(const char *as_of, unsigned flags)
{
    struct eol_applied a;
    struct app_err err = {0};

    ck_assert_msg(eol_apply(db, snap, day(as_of), day(TODAY), flags, NULL, &a, &err) == 0, "%s",
                  err.msg);
    return a;
}

/* The names of a plan list, joined by spaces. */
static char *
names(const struct eol_plan *p, const struct eol_entry *v, size_t n)
{
    char *s = xstrdup("");

    for (size_t i = 0; i < n; i++) {
        char *t = xasprintf("%s%s%s", s, i ? " " : "", p->rows[v[i].row].name);

        free(s);
        s = t;
    }
    return s;
}

#define ASSERT_NAMES(p, list, n, want)                                                             \
    do {                                                                                           \
        char *got_ = names((p), (list), (n));                                                      \
        ck_assert_str_eq(got_, (want));                                                            \
        free(got_);                                                                                \
    } while (0)

static long long
events_count(void)
{
    sqlite3_stmt *st = NULL;
    struct app_err err = {0};
    long long n;

    ck_assert_int_eq(db_prepare(db, &st, "SELECT COUNT(*) FROM events", &err), 0);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void
sql(const char *q)
{
    ck_assert_msg(sqlite3_exec(db->db, q, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", q,
                  sqlite3_errmsg(db->db));
}

START_TEST(test_fleet_registered)
{
    deploy_fleet();
    assert_worker("a-312", "pyodide-0.26.4", "active");
    assert_worker("b-313-implied", "pyodide-0.28.3", "active");
    assert_worker("c-313-named", "pyodide-0.28.3", "active");
    assert_worker("d-314", "pyodide-314.0.7", "active");
    assert_worker("e-314-exp", "pyodide-314.0.7", "active");
    assert_worker("f-duckdb", "pyodide-0.26.4", "active");
    assert_worker("g-312-disabled", "pyodide-0.26.4", "active");
    assert_worker("h-js", NULL, "active");
    assert_worker("i-numpy-pin", "pyodide-0.26.4", "active");
}
END_TEST

START_TEST(test_nothing_moves_before_the_end)
{
    struct eol_plan *p;
    struct eol_applied a;
    long long before;

    deploy_fleet();
    p = plan("2028-10-01", EOL_WANT_MOVES);
    ck_assert_uint_eq(p->n_moves, 0);
    ck_assert_uint_eq(p->n_blocked, 0);
    ck_assert_int_eq(p->registered, 9);
    eol_plan_free(p);
    before = events_count();
    a = apply("2028-10-01", 0);
    ck_assert_uint_eq(a.moved + a.blocked + a.events, 0);
    ck_assert_int_eq(events_count(), before);
}
END_TEST

START_TEST(test_end_of_312)
{
    struct eol_plan *p;
    struct eol_applied a;
    struct cat_worker w;
    cJSON *hist, *doc;
    struct app_err err = {0};

    deploy_fleet();
    p = plan("2028-10-02", EOL_WANT_MOVES);
    ASSERT_NAMES(p, p->moves, p->n_moves, "a-312 g-312-disabled");
    ASSERT_NAMES(p, p->blocked, p->n_blocked, "f-duckdb i-numpy-pin");
    for (size_t i = 0; i < p->n_moves; i++) {
        const struct eol_group *g = &p->groups[p->moves[i].group];

        ck_assert_str_eq(g->to_runtime, "pyodide-0.28.3");
        ck_assert_str_eq(g->to_line, "3.13");
    }
    {
        /* a-312's numpy and pydantic change versions. */
        const struct eol_group *g = &p->groups[p->moves[0].group];
        char *pc = json_canonical(g->package_changes, NULL);

        ck_assert_msg(strstr(pc, "{\"change\":\"changed\",\"from\":\"1.26.4\",\"name\":\"numpy\","
                                 "\"to\":\"2.2.5\"}") != NULL,
                      "%s", pc);
        ck_assert_msg(strstr(pc, "\"name\":\"pydantic\"") != NULL, "%s", pc);
        free(pc);
    }
    {
        const struct eol_group *f = &p->groups[p->blocked[0].group];
        const struct eol_group *i = &p->groups[p->blocked[1].group];
        char *fb = json_canonical(f->blocked, NULL), *ib = json_canonical(i->blocked, NULL);

        ck_assert_msg(strstr(fb, "\"code\":\"upgrade_blocked\"") &&
                          strstr(fb, "\"packages\":[\"duckdb\"]") &&
                          strstr(fb, "\"runtime\":\"pyodide-0.28.3\""),
                      "%s", fb);
        ck_assert_msg(strstr(ib, "\"code\":\"requirement_not_satisfied\"") &&
                          strstr(ib, "\"packages\":[\"numpy\"]"),
                      "%s", ib);
        free(fb);
        free(ib);
    }
    {
        /* The fast renderer writes exactly the canonical form of the tree. */
        struct eol_applied none = {0};
        cJSON *tree = eol_plan_json(p, 0);
        char *want, *got;
        size_t len;

        cJSON_AddItemToObject(tree, "applied", eol_applied_json(&none));
        want = json_canonical(tree, NULL);
        got = eol_plan_render(p, 0, &none, &len);
        ck_assert_str_eq(got, want);
        ck_assert_uint_eq(len, strlen(want));
        free(want);
        free(got);
        cJSON_Delete(tree);
    }
    /* Planning changed nothing. */
    assert_worker("a-312", "pyodide-0.26.4", "active");
    eol_plan_free(p);

    a = apply("2028-10-02", 0);
    ck_assert_uint_eq(a.moved, 2);
    ck_assert_uint_eq(a.blocked, 2);
    ck_assert_uint_eq(a.events, 4);
    assert_worker("a-312", "pyodide-0.28.3", "active");
    assert_worker("g-312-disabled", "pyodide-0.28.3", "active");
    assert_worker("f-duckdb", "pyodide-0.26.4", "blocked");
    assert_worker("i-numpy-pin", "pyodide-0.26.4", "blocked");
    assert_worker("b-313-implied", "pyodide-0.28.3", "active");
    assert_worker("d-314", "pyodide-314.0.7", "active");
    assert_worker("h-js", NULL, "active");
    w = get("f-duckdb");
    ck_assert_str_eq(w.blocked_since, "2028-10-02");
    ck_assert_ptr_nonnull(strstr(w.blocked_reason, "duckdb"));
    cat_worker_release(&w);
    /* The new lock is stored and in the history, with the move's event. */
    w = get("a-312");
    {
        char *bytes = NULL;
        size_t len = 0;

        ck_assert_int_eq(cat_lock_load(db, w.lock_id, &bytes, &len, &err), 0);
        ck_assert_ptr_nonnull(strstr(bytes, "pyodide-0.28.3"));
        free(bytes);
    }
    hist = cat_worker_history(db, "a-312", &err);
    ck_assert_int_eq(cJSON_GetArraySize(hist), 2);
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(hist, 1), "kind")->valuestring, "move");
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(hist, 1), "lock_id")->valuestring,
                     w.lock_id);
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(hist, 1), "event_seq")->valueint,
                     (int)a.first_seq);
    cJSON_Delete(hist);
    doc = cat_worker_json(&w, day("2028-10-02"));
    ck_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "support"), "end_of_support")->valuestring,
        "2029-10-07");
    cJSON_Delete(doc);
    cat_worker_release(&w);
}
END_TEST

START_TEST(test_apply_is_idempotent)
{
    struct eol_applied a;
    struct eol_plan *p;
    long long before;

    deploy_fleet();
    a = apply("2028-10-02", 0);
    ck_assert_uint_eq(a.moved, 2);
    before = events_count();
    a = apply("2028-10-02", 0);
    ck_assert_uint_eq(a.moved + a.blocked + a.unblocked + a.events, 0);
    ck_assert_int_eq(events_count(), before);
    /* Later days before the next end change nothing either. */
    a = apply("2029-01-01", 0);
    ck_assert_uint_eq(a.events, 0);
    p = plan("2028-10-02", EOL_WANT_MOVES);
    ck_assert_uint_eq(p->n_moves, 0);
    ck_assert_uint_eq(p->n_blocked, 2);
    ck_assert_uint_eq(p->n_newly_blocked, 0);
    ck_assert_int_eq(p->blocked[0].unchanged, 1);
    eol_plan_free(p);
}
END_TEST

START_TEST(test_end_of_313_and_314)
{
    struct eol_plan *p;
    struct eol_applied a;
    struct app_err err = {0};
    cJSON *hist;

    deploy_fleet();
    apply("2028-10-02", 0);
    p = plan("2029-10-07", EOL_WANT_MOVES);
    /* 3.13 ended: everyone on 3.12 or 3.13 goes to 3.14; duckdb is back in 314.0.7's
     * set, so the blocked f moves straight from 3.12 to 3.14. */
    ASSERT_NAMES(p, p->moves, p->n_moves,
                 "a-312 b-313-implied c-313-named f-duckdb g-312-disabled");
    ASSERT_NAMES(p, p->blocked, p->n_blocked, "i-numpy-pin");
    for (size_t i = 0; i < p->n_moves; i++)
        ck_assert_str_eq(p->groups[p->moves[i].group].to_runtime, "pyodide-314.0.7");
    ck_assert_int_eq(p->blocked[0].unchanged, 1); /* same code and packages */
    eol_plan_free(p);
    a = apply("2029-10-07", 0);
    ck_assert_uint_eq(a.moved, 5);
    ck_assert_uint_eq(a.blocked, 0);
    assert_worker("f-duckdb", "pyodide-314.0.7", "active");
    hist = cat_worker_history(db, "a-312", &err);
    ck_assert_int_eq(cJSON_GetArraySize(hist), 3);
    cJSON_Delete(hist);

    /* 3.14 ended and 3.15 has no bundle: every Python worker is blocked. */
    p = plan("2030-10-07", EOL_WANT_MOVES);
    ck_assert_uint_eq(p->n_moves, 0);
    ASSERT_NAMES(p, p->blocked, p->n_blocked,
                 "a-312 b-313-implied c-313-named d-314 e-314-exp f-duckdb g-312-disabled "
                 "i-numpy-pin");
    for (size_t i = 0; i < p->n_blocked; i++)
        ck_assert_str_eq(
            cJSON_GetObjectItem(p->groups[p->blocked[i].group].blocked, "code")->valuestring,
            "no_supported_runtime");
    ck_assert_uint_eq(p->n_newly_blocked, 8);
    eol_plan_free(p);
    a = apply("2030-10-07", 0);
    ck_assert_uint_eq(a.blocked, 8);
    assert_worker("d-314", "pyodide-314.0.7", "blocked");
    assert_worker("h-js", NULL, "active");
    a = apply("2030-10-08", 0);
    ck_assert_uint_eq(a.events, 0); /* the message names the date; the reason is the same */
}
END_TEST

START_TEST(test_grouping)
{
    struct eol_plan *p;
    char name[32];

    /* 300 workers over 30 distinct inputs: 30 resolutions, 30 groups. */
    for (int i = 0; i < 300; i++) {
        char date[16];

        snprintf(name, sizeof(name), "w%03d", i);
        snprintf(date, sizeof(date), "2024-04-%02d", 1 + i % 30);
        deploy(name, date, PW, NUMPY, 0);
    }
    p = plan("2028-10-02", EOL_WANT_MOVES);
    ck_assert_uint_eq(p->n_moves, 300);
    ck_assert_uint_eq(p->n_res, 30);
    ck_assert_uint_eq(p->n_groups, 30);
    ck_assert_uint_eq(p->groups[0].n_workers, 10);
    for (size_t i = 0; i < p->n_moves; i++) {
        const struct eol_group *g = &p->groups[p->moves[i].group];

        ck_assert_str_eq(g->to_lock_id, p->res[g->res].out.lock_id);
    }
    {
        cJSON *j = eol_plan_json(p, 1);
        cJSON *groups = cJSON_GetObjectItem(j, "groups");

        ck_assert_int_eq(cJSON_GetArraySize(groups), 1);
        ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(groups, 0), "workers")->valueint,
                         300);
        ck_assert_ptr_null(cJSON_GetObjectItem(j, "moves"));
        cJSON_Delete(j);
    }
    eol_plan_free(p);
    {
        struct eol_applied a = apply("2028-10-02", 0);

        ck_assert_uint_eq(a.moved, 300);
        assert_worker("w299", "pyodide-0.28.3", "active");
    }
}
END_TEST

START_TEST(test_unblock_when_the_end_moves)
{
    struct eol_applied a;

    deploy_fleet();
    apply("2028-10-02", 0);
    assert_worker("f-duckdb", "pyodide-0.26.4", "blocked");
    /* An admin extends 3.12: f is no longer past its end; applying an earlier date
     * than the block does not unblock, a later one does. */
    sql("UPDATE python_lines SET end_of_support = '2029-01-01' WHERE line = '3.12'");
    reload();
    a = apply("2028-10-01", 0);
    ck_assert_uint_eq(a.unblocked, 0);
    a = apply("2028-10-03", 0);
    ck_assert_uint_eq(a.unblocked, 2);
    assert_worker("f-duckdb", "pyodide-0.26.4", "active");
    assert_worker("i-numpy-pin", "pyodide-0.26.4", "active");
}
END_TEST

START_TEST(test_never_moves_backwards)
{
    struct eol_plan *p;

    deploy_fleet();
    apply("2028-10-02", 0);
    /* a-312 is on 3.13 now. Make 3.13 end before 3.12 does: a-312's inputs resolve to
     * 3.12 again, which is older than where it is: blocked, not moved back. */
    sql("UPDATE python_lines SET end_of_support = '2031-01-01' WHERE line = '3.12'");
    sql("UPDATE python_lines SET end_of_support = '2029-01-01' WHERE line = '3.13'");
    reload();
    p = plan("2029-02-01", EOL_WANT_MOVES);
    {
        int found = 0;

        for (size_t i = 0; i < p->n_blocked; i++) {
            const struct eol_group *g = &p->groups[p->blocked[i].group];

            if (strcmp(p->rows[p->blocked[i].row].name, "a-312") == 0) {
                found = 1;
                ck_assert_str_eq(cJSON_GetObjectItem(g->blocked, "code")->valuestring,
                                 "no_supported_runtime");
            }
        }
        ck_assert_msg(found, "a-312 is not blocked");
        for (size_t i = 0; i < p->n_moves; i++)
            ck_assert_str_ne(p->groups[p->moves[i].group].to_runtime, "pyodide-0.26.4");
    }
    eol_plan_free(p);
}
END_TEST

START_TEST(test_upcoming)
{
    struct eol_plan *p;
    struct eol_applied a;
    cJSON *j;

    deploy_fleet();
    /* 180 days before 2028-10-02 is 2028-04-05. */
    p = plan("2028-04-04", EOL_WANT_UPCOMING);
    ck_assert_uint_eq(p->n_upcoming, 0);
    eol_plan_free(p);
    p = plan("2028-04-05", EOL_WANT_UPCOMING);
    ASSERT_NAMES(p, p->upcoming, p->n_upcoming, "a-312 f-duckdb g-312-disabled i-numpy-pin");
    j = eol_upcoming_json(p);
    {
        const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "workers"), 0);
        const cJSON *f = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "workers"), 1);

        ck_assert_str_eq(cJSON_GetObjectItem(first, "end_of_support")->valuestring, "2028-10-02");
        ck_assert_int_eq(cJSON_GetObjectItem(first, "days_left")->valueint, 180);
        ck_assert_str_eq(
            cJSON_GetObjectItem(cJSON_GetObjectItem(first, "target"), "runtime")->valuestring,
            "pyodide-0.28.3");
        ck_assert(cJSON_IsNull(cJSON_GetObjectItem(f, "target")));
        ck_assert_str_eq(
            cJSON_GetObjectItem(cJSON_GetObjectItem(f, "blocked"), "code")->valuestring,
            "upgrade_blocked");
    }
    cJSON_Delete(j);
    eol_plan_free(p);
    /* The sweep announces each worker's coming end once. */
    a = apply("2028-04-05", EOL_NOTIFY_UPCOMING);
    ck_assert_uint_eq(a.upcoming_notified, 4);
    a = apply("2028-04-06", EOL_NOTIFY_UPCOMING);
    ck_assert_uint_eq(a.upcoming_notified, 0);
    ck_assert_uint_eq(a.events, 0);
}
END_TEST

START_TEST(test_outbox)
{
    struct app_err err = {0};
    struct eol_applied a;
    struct cat_delivery *ds = NULL;
    cJSON *body, *h;
    size_t n = 0;
    int64_t next;
    int created;

    deploy_fleet();
    body = cJSON_Parse("{\"url\":\"http://127.0.0.1:9/x\",\"events\":[\"worker.blocked\"],"
                       "\"secret\":\"0123456789abcdef\"}");
    h = cat_hook_put(db, "ops", body, &created, &err);
    ck_assert_msg(h != NULL, "%s", err.msg);
    ck_assert_int_eq(created, 1);
    ck_assert_ptr_null(cJSON_GetObjectItem(h, "secret"));
    cJSON_Delete(h);
    cJSON_Delete(body);
    /* Bad webhooks are refused. */
    body = cJSON_Parse(
        "{\"url\":\"ftp://x/\",\"events\":[\"worker.moved\"],\"secret\":\"0123456789abcdef\"}");
    ck_assert_ptr_null(cat_hook_put(db, "bad", body, &created, &err));
    ck_assert_int_eq(err.code, APP_EINVAL);
    cJSON_Delete(body);
    body = cJSON_Parse(
        "{\"url\":\"http://x/\",\"events\":[\"worker.nope\"],\"secret\":\"0123456789abcdef\"}");
    ck_assert_ptr_null(cat_hook_put(db, "bad", body, &created, &err));
    cJSON_Delete(body);
    body =
        cJSON_Parse("{\"url\":\"http://x/\",\"events\":[\"worker.moved\"],\"secret\":\"short\"}");
    ck_assert_ptr_null(cat_hook_put(db, "bad", body, &created, &err));
    cJSON_Delete(body);

    a = apply("2028-10-02", 0);
    ck_assert_uint_eq(a.deliveries, 2); /* two blocked, no subscription to moved */
    ck_assert_int_eq(cat_outbox_due(db, cat_now_ms() + 1000, 10, &ds, &n, &next, &err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(ds[0].kind, "worker.blocked");
    ck_assert_ptr_nonnull(strstr(ds[0].body, "\"event\":\"worker.blocked\""));
    ck_assert_ptr_nonnull(strstr(ds[0].body, "\"worker\":\"f-duckdb\""));
    ck_assert_int_eq(
        cat_outbox_record(db, &ds[0], 500, "http status 500", 3, 0, cat_now_ms() + 60000, &err), 0);
    ck_assert_int_eq(cat_outbox_record(db, &ds[1], 204, NULL, 2, 1, -1, &err), 0);
    for (size_t i = 0; i < n; i++)
        cat_delivery_release(&ds[i]);
    free(ds);
    ck_assert_int_eq(cat_outbox_due(db, cat_now_ms(), 10, &ds, &n, &next, &err), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert(next > cat_now_ms());
    free(ds);
    h = cat_hook_deliveries(db, "ops", NULL, NULL, 10, &err);
    ck_assert_ptr_nonnull(h);
    {
        const cJSON *d = cJSON_GetObjectItem(h, "deliveries");

        ck_assert_int_eq(cJSON_GetArraySize(d), 2);
        ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 0), "state")->valuestring,
                         "delivered");
        ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 1), "state")->valuestring,
                         "pending");
        ck_assert_int_eq(
            cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 1), "attempts")), 1);
    }
    cJSON_Delete(h);
    /* Deleting the webhook drops its deliveries; an attempt finishing afterwards is
     * ignored. */
    ck_assert_int_eq(cat_outbox_due(db, cat_now_ms() + 120000, 10, &ds, &n, &next, &err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(cat_hook_delete(db, "ops", &err), 0);
    ck_assert_int_eq(cat_outbox_record(db, &ds[0], 204, NULL, 1, 1, -1, &err), 0);
    cat_delivery_release(&ds[0]);
    free(ds);
    ck_assert_int_eq(cat_hook_delete(db, "ops", &err), -1);
    ck_assert_int_eq(err.code, APP_ENOTFOUND);
}
END_TEST

START_TEST(test_registry_list)
{
    struct cat_worker_query q = {0};
    struct cat_worker *rows = NULL;
    struct app_err err = {0};
    char *next = NULL, *cursor = NULL, *seen = xstrdup("");
    size_t n, total = 0;
    int created, changed;

    deploy_fleet();
    /* Pages of 2 walk every worker once, in name order. */
    q.limit = 2;
    do {
        ck_assert_int_eq(cat_worker_list(db, &q, &rows, &n, &next, &err), 0);
        for (size_t i = 0; i < n; i++) {
            char *t = xasprintf("%s%s,", seen, rows[i].name);

            free(seen);
            seen = t;
        }
        total += n;
        cat_workers_free(rows, n);
        free(cursor);
        q.cursor = cursor = next;
    } while (next);
    ck_assert_uint_eq(total, 9);
    ck_assert_str_eq(seen, "a-312,b-313-implied,c-313-named,d-314,e-314-exp,f-duckdb,"
                           "g-312-disabled,h-js,i-numpy-pin,");
    free(seen);
    memset(&q, 0, sizeof(q));
    q.python_line = "3.13";
    ck_assert_int_eq(cat_worker_list(db, &q, &rows, &n, &next, &err), 0);
    ck_assert_uint_eq(n, 2);
    cat_workers_free(rows, n);
    memset(&q, 0, sizeof(q));
    q.ends_before = "2029-10-07"; /* 3.12 only */
    ck_assert_int_eq(cat_worker_list(db, &q, &rows, &n, &next, &err), 0);
    ck_assert_uint_eq(n, 4);
    cat_workers_free(rows, n);
    memset(&q, 0, sizeof(q));
    q.ends_before = "2029-10-08"; /* 3.12 and 3.13 */
    q.runtime = "pyodide-0.28.3";
    ck_assert_int_eq(cat_worker_list(db, &q, &rows, &n, &next, &err), 0);
    ck_assert_uint_eq(n, 2);
    cat_workers_free(rows, n);
    memset(&q, 0, sizeof(q));
    q.status = "paused";
    ck_assert_int_eq(cat_worker_list(db, &q, &rows, &n, &next, &err), -1);
    ck_assert_int_eq(err.code, APP_EINVAL);
    q.status = NULL;
    q.cursor = "!!!";
    ck_assert_int_eq(cat_worker_list(db, &q, &rows, &n, &next, &err), -1);

    /* Redeploying the same inputs changes nothing; delete removes. */
    {
        struct cat_worker w = get("a-312");

        ck_assert_int_eq(cat_worker_pin(db, &w, "x", 1, &created, &changed, &err), 0);
        ck_assert_int_eq(changed, 0);
        ck_assert_int_eq(created, 0);
        cat_worker_release(&w);
    }
    ck_assert_int_eq(cat_worker_delete(db, "a-312", &err), 0);
    ck_assert_int_eq(cat_worker_delete(db, "a-312", &err), -1);
    ck_assert_int_eq(err.code, APP_ENOTFOUND);
    ck_assert(cat_worker_name_valid("my-worker_1.x"));
    ck_assert(!cat_worker_name_valid("-x"));
    ck_assert(!cat_worker_name_valid("a/b"));
    ck_assert(!cat_worker_name_valid(""));
}
END_TEST

static Suite *
eol_suite(void)
{
    Suite *s = suite_create("eol");
    TCase *tc = tcase_create("eol");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fleet_registered);
    tcase_add_test(tc, test_nothing_moves_before_the_end);
    tcase_add_test(tc, test_end_of_312);
    tcase_add_test(tc, test_apply_is_idempotent);
    tcase_add_test(tc, test_end_of_313_and_314);
    tcase_add_test(tc, test_grouping);
    tcase_add_test(tc, test_unblock_when_the_end_moves);
    tcase_add_test(tc, test_never_moves_backwards);
    tcase_add_test(tc, test_upcoming);
    tcase_add_test(tc, test_outbox);
    tcase_add_test(tc, test_registry_list);
    suite_add_tcase(s, tc);
    return s;
}

/* Load one template database (the fixture catalog) for every test to copy. */
static int
seed_template(void)
{
    struct app_err err = {0};
    struct snap *fx = fx_snap_new();
    struct db *c;
    int ret = -1;

    setenv("ALMANAC_TODAY", TODAY, 1);
    snprintf(template_dir, sizeof(template_dir), "/tmp/almanac-test-eol-seed-XXXXXX");
    if (!mkdtemp(template_dir))
        goto out;
    c = db_open(template_dir, &err);
    if (!c)
        goto out;
    ret = fx_db_load(c, fx, &err);
    db_close(c);
out:
    if (ret < 0)
        fprintf(stderr, "test_eol: cannot load the fixture catalog: %s\n", err.msg);
    app_err_release(&err);
    snap_free(fx);
    return ret;
}

int
main(void)
{
    int failed;
    char *cmd;

    if (seed_template() < 0)
        return 1;
    failed = unit_failed(eol_suite());
    cmd = xasprintf("rm -rf '%s'", template_dir);
    if (system(cmd) != 0)
        failed++;
    free(cmd);
    return failed ? 1 : 0;
}
