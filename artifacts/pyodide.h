/* artifacts/pyodide.h: read an unpacked Pyodide distribution (the `package/` folder
 * of the npm `pyodide` package) into the catalog's shapes.
 *
 * DESIGN §15: the lock's info.version is not the Pyodide version (0.28.3 says
 * 0.28.0.dev0), so the version comes from the folder's package.json; info.abi_version
 * and info.platform (emscripten_X_Y_Z) are reliable.
 */
#ifndef ARTIFACTS_PYODIDE_H
#define ARTIFACTS_PYODIDE_H

#include <cjson/cJSON.h>

#include "app/err.h"

/* The largest pyodide-lock.json read (the real ones are under 1 MiB). */
#define PYO_LOCK_MAX (16 * 1024 * 1024)
/* Core files of a distribution: one per runtime role (core-wasm, core-js, loader,
 * stdlib, lock; catalog/runtimes.c). */
#define PYO_CORE_MAX 5

struct pyo_core_file {
    const char *role;
    char *path; /* absolute path of the file in the distribution */
    char *file_name;
};

struct pyo_dist {
    char *id;       /* "pyodide-<version>" */
    char *version;  /* from package.json */
    cJSON *runtime; /* body for PUT /v1/runtimes/{id} */
    cJSON *lock;    /* pyodide-lock.json as shipped */
    struct pyo_core_file core[PYO_CORE_MAX];
    size_t n_core;
};

/* A Pyodide release almanac knows, with its release date. */
struct pyo_known_release {
    const char *version; /* Pyodide version */
    const char *release_date;
};

extern const struct pyo_known_release pyo_releases[];
extern const size_t pyo_n_releases;

/* The release date of a known Pyodide version, or NULL. */
const char *pyo_release_date(const char *version);

/* Read dir (a Pyodide package folder). release_date may be NULL: then the known
 * releases' date for that version is used, and an unknown version is an error. */
int pyo_read(const char *dir, const char *release_date, struct pyo_dist *out, struct app_err *err);
void pyo_release(struct pyo_dist *d);

#endif
