/* cli/output.h: what the client prints: error reports and their exit codes, notes,
 * JSON and aligned tables. */
#ifndef CLI_OUTPUT_H
#define CLI_OUTPUT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "app/err.h"
#include "cli/state.h"

/* The exit code for an error class as the CLI uses them: APP_EINVAL local input,
 * 4xx from the server (EAUTH, EFORBIDDEN, ENOTFOUND, ECONFLICT, EUNPROCESSABLE,
 * ...), EUNAVAILABLE and EINTERNAL network and I/O, EVERIFY verification. */
int cli_exit_code(enum app_code code);

/* Put a prefix before err's message: "<prefix>: <old message>", with code (keep
 * the old class by passing err->code). Returns -1. */
int cli_wrap(struct app_err *err, enum app_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Print err to stderr as "almanac: <message>" and, one per line, "  <code>:
 * <message>" for each entry of err->errors; returns cli_exit_code(err->code). */
int cli_report(const struct app_err *err);

/* cli_report, then release err (it may be reused); returns the exit code. For
 * commands that stop at their first error. */
int cli_report_release(struct app_err *err);

/* Print "almanac: <msg>" to stderr (unless c->quiet and not an error). */
void cli_note(const struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print v to stdout as indented JSON followed by a newline. */
void cli_print_json(const cJSON *v);

/* A table printed with aligned columns; cells are copied. */
struct cli_table;
struct cli_table *cli_table_new(size_t n_cols, const char *const *headers);
void cli_table_add(struct cli_table *t, const char *const *cells);
/* Print to stdout, fitted to the terminal's width (or COLUMNS): the widest columns
 * after the first wrap; a width too narrow for that prints one card per row. Frees
 * the table. */
void cli_table_print(struct cli_table *t);

/* Set by --json: errors are also printed as problem documents on stdout. */
extern int cli_json_errors;

/* --color WHEN: "auto" (stdout a terminal, NO_COLOR unset, TERM not dumb),
 * "always", "never"; -1 for another word. */
int cli_set_color(struct cli *c, const char *when);

/* The SGR escape for code ("1" bold, "31" red, "1;32" bold green; NULL resets)
 * when c->color, else "". The result is static: use it before the next call. */
const char *cli_sgr(const struct cli *c, const char *code);

/* 1 when TERM=dumb (no colour). */
int cli_dumb_term(void);

/* `almanac --version`: version, commit, build date, compiler, libraries (JSON with
 * c->json). */
void cli_print_version(const struct cli *c);

/* Print "almanac: <msg>" to stderr (and a problem document under --json); returns
 * CLI_EUSAGE. */
int cli_fail_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* obj[key] as a string, "-" when missing or null (for tables). */
const char *cli_str(const cJSON *obj, const char *key);

#endif
