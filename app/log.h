/* app/log.h: the one place library and server code report what a caller cannot see
 * in a return value (a SQL detail kept from clients, a repaired blob, a retried
 * delivery), and where almanacd writes its access lines.
 *
 * Library code never writes to stderr itself; it calls app_log and the program
 * decides where lines go. The default sink writes one line per event with a single
 * write(2) (or, once app_log_start_writer ran, several whole lines at once from a
 * writer thread), so lines from several threads never interleave and nothing waits
 * in a stdio buffer. Formats: APP_LOG_PLAIN "PROG: message" (the default: command-line
 * tools), APP_LOG_TEXT "2026-11-28T02:36:26.098Z info PROG: message" and APP_LOG_JSON
 * {"time":...,"level":...,"msg":...} (the server). The destination is stderr unless
 * app_log_open_file names a file; app_log_reopen reopens it (SIGHUP after a
 * rotation). PROG is set once by main() (app_log_init). A test or a program may
 * install its own sink (app_log_set_sink) to capture or redirect lines; the sink,
 * the format and the file are global and set before threads start.
 */
#ifndef APP_LOG_H
#define APP_LOG_H

#include <stddef.h>
#include <stdint.h>

enum app_log_level {
    APP_LOG_DEBUG = 0,
    APP_LOG_INFO,
    APP_LOG_WARN,
    APP_LOG_ERROR,
};

enum app_log_format {
    APP_LOG_PLAIN = 0,
    APP_LOG_TEXT,
    APP_LOG_JSON,
};

/* The longest line a sink receives; longer messages are truncated. */
#define APP_LOG_LINE_MAX 4096
/* Each half of the writer thread's double buffer (app_log_start_writer). */
#define APP_LOG_QUEUE_BYTES (256 * 1024)
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" and its NUL, with room to spare. */
#define APP_LOG_TIME_LEN 32

typedef void (*app_log_sink)(enum app_log_level level, const char *line, void *arg);

/* Name the program whose lines these are ("almanacd"); borrowed, must outlive use.
 * Lines below min_level are dropped. */
void app_log_init(const char *prog, enum app_log_level min_level);

/* Replace the sink (NULL restores the default sink). */
void app_log_set_sink(app_log_sink sink, void *arg);

/* Format and hand one line to the sink. Never fails; a line too long is truncated. */
void app_log(enum app_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "debug|info|warn|error" and "text|json"; -1 when unknown. */
int app_log_parse_level(const char *s, enum app_log_level *out);
int app_log_parse_format(const char *s, enum app_log_format *out);
void app_log_set_format(enum app_log_format f);
int app_log_enabled(enum app_log_level level);

/* Send lines to path (appended, created 0640) instead of stderr; -1 with errno set
 * when it cannot be opened (the previous destination stays). */
int app_log_open_file(const char *path);
/* Reopen the file given to app_log_open_file onto the same descriptor (no-op on
 * stderr); -1 with errno set keeps the old file. Safe while other threads log. */
int app_log_reopen(void);

/* Hand lines to a writer thread from now on (the server, where a write(2) per
 * request is a measurable share of a cached resolve). Lines are held back at most
 * about a millisecond: the writer wakes for a line when idle, and after each write
 * lets the lines of the next moment gather for one write(2). When its buffer
 * (APP_LOG_QUEUE_BYTES) is full the logging thread writes its line itself; nothing
 * is dropped. exit() flushes (atexit), and so do app_log_reopen and
 * app_log_flush; a crash (abort, SIGKILL) may lose the lines not yet written. -1
 * with errno when the thread cannot start (lines are then written directly). */
int app_log_start_writer(void);
/* Wait until every line logged before the call has been written. */
void app_log_flush(void);

/* One access line for a finished request (info level; principal NULL is "-"). */
struct app_log_access {
    const char *request_id;
    const char *client;
    const char *method;
    const char *path;
    const char *route;
    unsigned status;
    uint64_t bytes;
    double seconds;
    const char *principal;
    /* NULL: the response went out whole. Else why it was cut ("client_closed",
     * "connection_error", "timeout", "shutdown"); bytes then counts the body bytes
     * the client acknowledged. Text lines end with " cut=REASON"; JSON lines carry
     * "completed":false and "cut":REASON (else "completed":true). */
    const char *cut;
};
void app_log_access(const struct app_log_access *a);

/* The wall clock as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC). */
void app_log_time(char out[APP_LOG_TIME_LEN]);

#endif
