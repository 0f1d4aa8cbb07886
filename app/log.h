/* app/log.h: the one place library code reports what a caller cannot see in a
 * return value (a SQL detail kept from clients, a repaired blob, a retried delivery).
 *
 * Library code never writes to stderr itself; it calls app_log and the program
 * decides where lines go. The default sink writes "PROG: message" lines to stderr,
 * PROG being set once by main() (app_log_init). A test or a program may install its
 * own sink (app_log_set_sink) to capture or redirect lines; the sink is global and
 * must be set before threads start.
 */
#ifndef APP_LOG_H
#define APP_LOG_H

enum app_log_level {
    APP_LOG_DEBUG = 0,
    APP_LOG_INFO,
    APP_LOG_WARN,
    APP_LOG_ERROR,
};

/* The longest line a sink receives; longer messages are truncated. */
#define APP_LOG_LINE_MAX 1024

typedef void (*app_log_sink)(enum app_log_level level, const char *line, void *arg);

/* Name the program whose lines these are ("almanacd"); borrowed, must outlive use.
 * Lines below min_level are dropped. */
void app_log_init(const char *prog, enum app_log_level min_level);

/* Replace the sink (NULL restores the stderr sink). */
void app_log_set_sink(app_log_sink sink, void *arg);

/* Format and hand one line to the sink. Never fails; a line too long is truncated. */
void app_log(enum app_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
