/* server/ui.h: the dashboard's static files at /ui/ (issue 13).
 *
 * The files are built by `make ui` into build/ui (index.html, favicon.svg and
 * favicon.ico, assets/<name>-<hash>.js|css, each with a precompressed .gz sibling)
 * and read into memory once at start: the whole UI is a few hundred KB. The directory
 * is --ui-dir, or found next to the binary (<exe dir>/ui, <exe dir>/../ui,
 * <exe dir>/../share/almanac/ui). Without one, almanacd serves the API alone and
 * /ui/ is a 404 problem saying how to build it.
 *
 *   GET /                 302 to /ui/
 *   GET /ui               302 to /ui/
 *   GET /ui/assets/NAME   the file; hashed names: Cache-Control immutable, one year
 *   GET /ui/NAME.EXT      a top-level file (favicon.svg, ...)
 *   GET /ui/any/page      index.html (the page's own URL; the client routes)
 *   GET /favicon.ico      the favicon
 * Every answer has a strong ETag (If-None-Match: 304) and, when the client accepts
 * gzip and a .gz sibling exists, the precompressed bytes (Vary: Accept-Encoding).
 */
#ifndef SERVER_UI_H
#define SERVER_UI_H

#include "app/err.h"
#include "server/http.h"

#define UI_FILES_MAX 256
#define UI_FILE_MAX (8u * 1024 * 1024)
#define UI_PATH_MAX 512

struct ui_files;

/* Load the UI: from dir when given (missing or empty is an error), else from the
 * first candidate next to the binary (none found: *out NULL, returns 0). */
int ui_open(const char *dir, struct ui_files **out, struct app_err *err);
void ui_free(struct ui_files *u);
/* The directory the files came from (for the start-up log). */
const char *ui_dir(const struct ui_files *u);

/* The hook http.c calls, ui_route, is declared in server/http.h. */

#endif
