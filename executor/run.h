/* executor/run.h: one run of a worker on a verified lock, the pipeline of `almanac
 * run` and `almanac dev` after resolution, as phases the client calls in order:
 *
 *   exe_run_init(&r, &plan)         what to run (struct exe_plan, borrowed)
 *   exe_run_open                    find host.mjs, open the cache
 *   exe_run_request                 the request for the host (run only)
 *   exe_run_lock_files              the lock's files (executor/lockfiles.h)
 *   exe_run_fetch                   them into the cache (r.fetch set up by the caller)
 *   exe_run_layout                  the worker's directory (executor/layout.h)
 *   exe_run_snapshot_key            the snapshot's path and mode (executor/snapkey.h)
 *   exe_run_host_config             the host's config (executor/README.md)
 *   exe_run_worker / exe_run_serve  run the host once (a stale snapshot is remade
 *                                   once) / keep it serving
 *   exe_run_release(&r)
 *
 * Resolution, pinned keys and printing are the client's: the executor gets a lock
 * the client verified and returns the host's result document. Each phase fills
 * part of struct exe_run, which the client reads for its report (timings, fetch
 * totals, the layout). Failures: APP_EINVAL for bad input (a request line, a
 * .dev.vars line, a worker directory that cannot be read), as the called modules
 * say otherwise.
 */
#ifndef EXECUTOR_RUN_H
#define EXECUTOR_RUN_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "app/err.h"
#include "executor/cache.h"
#include "executor/lockfiles.h"

/* A --data file is read whole into the request: no bigger than this. */
#define EXE_BODY_MAX (64u * 1024 * 1024)
/* .dev.vars is a short file of secrets. */
#define EXE_DEV_VARS_MAX (1024u * 1024)

/* What to run. Every pointer is borrowed and must outlive the run. */
struct exe_plan {
    const cJSON *lock;       /* the verified lock: runtime, artifacts, packages, enabled_flags */
    const char *lock_id;     /* its id, "sha256:<hex>" */
    const char *worker;      /* absolute path of the worker module (.py) */
    const char *project_dir; /* the config's directory, else the worker's */
    const cJSON *config;     /* the worker's config as JSON; NULL for a bare .py */
    /* The request (run): "METHOD /path" or "METHOD URL" (default GET /, POST / with
     * data), "Name: value" headers, a body or @FILE. */
    const char *request;
    const char *const *headers;
    size_t n_headers;
    const char *data;
    const char *cron;        /* send a scheduled event with this cron instead */
    const char *env_name;    /* --env NAME: .dev.vars.NAME is read instead of .dev.vars */
    const char *const *vars; /* NAME=VALUE: win over the config's vars and .dev.vars */
    size_t n_vars;
    const char *state_dir; /* the local bindings' state; NULL: PROJECT/.almanac/state */
    long long timeout_ms;  /* bound on import + handler; 0: none */
    int fresh;             /* empty the local bindings' state first */
    int allow_net;         /* let the worker reach the network */
    int snapshot;          /* save or reuse a memory snapshot after the imports */
    int status;            /* the host draws a status line on the terminal */
    const char *serve_ip;  /* serve_port > 0: `dev`, keep serving on serve_ip:serve_port */
    int serve_port;
    /* Called with a one-line note for the user (a stale snapshot is remade); NULL:
     * no notes. */
    void (*note)(void *ctx, const char *text);
    void *note_ctx;
};

/* What the executor's phases took, in ms. */
struct exe_run_times {
    double fetch, layout, node;
};

/* One run's state: each phase fills its part; exe_run_release frees it all. */
struct exe_run {
    const struct exe_plan *plan;
    char *host;              /* host.mjs */
    struct exe_cache *cache; /* the local cache */
    struct exe_lock_file *files;
    size_t n_files;
    struct exe_fetch fetch; /* set up by the caller before exe_run_fetch; its totals after */
    char *dir;              /* the layout */
    int reused;             /* the layout was already right */
    cJSON *packages;        /* names of the packages the host installs */
    char *snap_path;        /* NULL without a snapshot */
    const char *snap_mode;  /* "none", "make" or "load" */
    cJSON *request;         /* the host's request document */
    cJSON *config;          /* the host's config */
    char *config_path;      /* where it is written for the host (removed after) */
    struct exe_run_times t;
};

void exe_run_init(struct exe_run *r, const struct exe_plan *plan);
void exe_run_release(struct exe_run *r);

/* Find host.mjs (exe_find_host) and open the cache at ALMANAC_CACHE (or the default). */
int exe_run_open(struct exe_run *r, struct app_err *err);

/* The request document {method, url, headers: [[name, value]], body, body_encoding}
 * from the plan's request, headers and data into r->request: a method is upper-cased;
 * a path becomes http://localhost/path; a @FILE body is read (at most EXE_BODY_MAX)
 * and sent base64-encoded (it may be binary). APP_EINVAL for a request that is not
 * "METHOD /path" or "METHOD URL", a header without ':', an unreadable file. */
int exe_run_request(struct exe_run *r, struct app_err *err);

/* The lock's files into r->files (exe_lock_files). */
int exe_run_lock_files(struct exe_run *r, struct app_err *err);

/* r->files into the cache with r->fetch (exe_fetch_files); r->t.fetch. */
int exe_run_fetch(struct exe_run *r, struct app_err *err);

/* The worker's directory (exe_layout_lock) into r->dir, r->reused, r->packages;
 * r->t.layout. */
int exe_run_layout(struct exe_run *r, struct app_err *err);

/* With plan->snapshot: r->snap_path under the cache's snapshots/, named by
 * exe_snapshot_key, and r->snap_mode "load" when the file is there, else "make".
 * Without: nothing (mode "none"). */
int exe_run_snapshot_key(struct exe_run *r, struct app_err *err);

/* The host's config (executor/README.md, CONFIG.json) into r->config and the path it
 * is written to into r->config_path: the layout, the packages, the worker, the
 * request (taken from r->request) or the cron, the env (the config's vars, then
 * .dev.vars or .dev.vars.NAME, then the plan's vars), the flags, the config, the
 * project and state directories, the snapshot, the status label, the timeout, and
 * serve {ip, port} for `dev` (else timings). APP_EINVAL for a bad .dev.vars. */
int exe_run_host_config(struct exe_run *r, struct app_err *err);

/* 1 when a host result says the snapshot it loaded is stale, invalid or gone: the
 * run is worth doing again with a new one. 0 for any other result, and whenever
 * snap_mode is not "load" (a snapshot being made is not remade). */
int exe_snapshot_retry(const char *snap_mode, const cJSON *result);

/* Run the host once on r->config (exe_run_host); when it loaded a snapshot that
 * turns out stale (exe_snapshot_retry), say so through plan->note and run it once
 * more making a new one. *result (caller frees) is the host's result document;
 * r->t.node the time in node. The config file is removed after. Fails as
 * exe_run_host (node could not run or gave no result). */
int exe_run_worker(struct exe_run *r, cJSON **result, struct app_err *err);

/* Keep the host serving on r->config until it ends (exe_serve_host); *exit_code
 * as there (EXE_SERVE_RERESOLVE: resolve again). The config file is removed after. */
int exe_run_serve(struct exe_run *r, int *exit_code, struct app_err *err);

#endif
