/* app/jsonstrict.h: a strict RFC 8259 check of untrusted JSON text, before cJSON.
 *
 * cJSON accepts what almanac must refuse at the door (STYLE.md, issue 9): invalid
 * UTF-8 (it copies bytes as they are, and they come back out in the event feed),
 * numbers that overflow a double (1e999 becomes inf, which is not JSON), a "\u0000"
 * escape (it cuts the C string short), and a repeated key (lookups see the first).
 * This checker walks the text once with a bounded depth and refuses each of those,
 * anywhere in the document (ignored fields included), with a message that names the
 * byte offset. It accepts exactly the JSON grammar: no comments, no trailing commas,
 * no leading zeros, escapes as the RFC lists them, surrogate escapes in pairs.
 */
#ifndef APP_JSONSTRICT_H
#define APP_JSONSTRICT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "app/err.h"

/* Deepest nesting of arrays and objects accepted. */
#define JSON_STRICT_MAX_DEPTH 64

/* 0 when the len bytes of s are one strict JSON value (whitespace around it
 * allowed); -1 with err (APP_EINVAL) otherwise. */
int json_strict_check(const char *s, size_t len, struct app_err *err);

/* 0 when every member of the object obj is named in fields (NULL-terminated); -1
 * with err (400, naming the first unknown member and where) otherwise. where names
 * the object in the message ("request body", "artifacts[2]"). A closed schema uses
 * this so a misspelt field is an error, never silently dropped after a 201. */
int json_known_fields(const cJSON *obj, const char *const *fields, const char *where,
                      struct app_err *err);

/* 1 when the n bytes at s are well-formed UTF-8 (no overlongs, no surrogates, at
 * most U+10FFFF), else 0. */
int utf8_valid(const char *s, size_t n);

#endif
