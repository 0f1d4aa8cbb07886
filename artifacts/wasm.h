/* artifacts/wasm.h: a bounded, streaming reader of the WebAssembly binary format.
 *
 * It checks what a store needs before it accepts a module (DESIGN §8): the magic and
 * version, every section's id and size (sizes within the module, known sections at
 * most once and in the order of the spec, custom sections anywhere), LEB128 integers
 * that are neither overlong nor out of range, the import and export sections in full
 * (names must be UTF-8), the count of every vector section, that the function and
 * code sections (and data count and data sections) agree, and the `dylink.0` custom
 * section of Emscripten side modules (or the legacy `dylink`). It does not validate
 * function bodies.
 *
 * Bytes are fed in chunks of any size, so an upload is checked as it streams; only
 * the import, export and dylink sections are buffered, each up to
 * ART_WASM_SECTION_MAX. Large sections (code, data) are skipped after their count.
 *
 * Facts (cJSON object):
 *   {"version": 1, "size": N,
 *    "sections": [{"id", "name", "offset", "size", "count"?, "start"?}...],
 *    "imports": {"count", "func", "table", "memory", "global", "tag",
 *                "items": [{"module", "name", "kind", ...kind details}]},
 *    "exports": {"count", "func", ..., "items": [{"name", "kind", "index"}]},
 *    "functions": N (declared bodies), "dylink": null | {"section", "mem_size",
 *    "mem_align", "table_size", "table_align", "needed": [...], ...}}
 * "offset" and "size" are those of the section body, as `wasm-objdump -h` prints
 * start and size. Item lists stop at ART_WASM_LIST_MAX entries, or once the names
 * listed reach ART_WASM_LISTED_BYTES_MAX bytes ("truncated": true); sections stop at
 * ART_WASM_SECTIONS_LIST_MAX ("sections_truncated": true, "sections_count" exact);
 * "limits" states the three caps. Counts are always exact.
 */
#ifndef ARTIFACTS_WASM_H
#define ARTIFACTS_WASM_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "app/err.h"

#define ART_WASM_SECTION_MAX (64u * 1024 * 1024) /* buffered section limit */
#define ART_WASM_NAME_MAX (64u * 1024)           /* longest name accepted */
#define ART_WASM_LIST_MAX 10000u                 /* items listed per list */
/* What the facts (a metadata row) may hold: a module of a million empty custom
 * sections must not become a 45 MB row (issue 9). Past either cap a list stops
 * ("truncated": true / "sections_truncated": true); counts stay exact. The caps are
 * stated in the facts ("limits"), so /meta says what it left out. */
#define ART_WASM_SECTIONS_LIST_MAX 1024u             /* sections listed */
#define ART_WASM_LISTED_BYTES_MAX (2u * 1024 * 1024) /* name bytes in all lists together */

struct art_wasm;

/* 1 when the bytes start with the Wasm magic "\0asm" (n may be < 4: then 0). */
int art_wasm_is_module(const void *p, size_t n);

/* A reader for one module; free with art_wasm_free. */
struct art_wasm *art_wasm_new(void);
void art_wasm_free(struct art_wasm *w);

/* Feed the next n bytes. Returns -1 with err (APP_EUNPROCESSABLE, "malformed wasm
 * module: <reason> at byte <offset>") at the first problem; every later call fails
 * the same way. */
int art_wasm_feed(struct art_wasm *w, const void *p, size_t n, struct app_err *err);

/* End of input: fails when the module stops inside its header or a section, or the
 * sections disagree. On success *facts (caller frees) describes the module. */
int art_wasm_finish(struct art_wasm *w, cJSON **facts, struct app_err *err);

/* The whole module in memory: new + feed + finish. */
int art_wasm_parse(const void *p, size_t n, cJSON **facts, struct app_err *err);

#endif
