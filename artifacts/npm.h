/* artifacts/npm.h: fetch Pyodide distributions from the npm registry (`npm pack`). */
#ifndef ARTIFACTS_NPM_H
#define ARTIFACTS_NPM_H

#include "app/err.h"

/* Ensure the unpacked distribution of version is in cache_dir (CACHE/pyodide/VER/
 * package, fetched with `npm pack` and unpacked with tar when missing); returns its
 * package folder (caller frees), or NULL with err (503 when npm fails). */
char *art_npm_fetch_pyodide(const char *cache_dir, const char *version, struct app_err *err);

#endif
