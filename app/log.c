/* app/log.c: one logging hook for library code (see app/log.h). */
#include "app/log.h"

#include <stdarg.h>
#include <stdio.h>

static const char *log_prog = "almanac";
static enum app_log_level log_min = APP_LOG_INFO;
static app_log_sink log_sink;
static void *log_sink_arg;

void
app_log_init(const char *prog, enum app_log_level min_level)
{
    log_prog = prog ? prog : "almanac";
    log_min = min_level;
}

void
app_log_set_sink(app_log_sink sink, void *arg)
{
    log_sink = sink;
    log_sink_arg = arg;
}

void
app_log(enum app_log_level level, const char *fmt, ...)
{
    char line[APP_LOG_LINE_MAX];
    va_list ap;

    if (level < log_min)
        return;
    va_start(ap, fmt);
    /* Truncation is acceptable for a log line; the sink always gets a string. */
    (void)vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (log_sink) {
        log_sink(level, line, log_sink_arg);
        return;
    }
    /* One fprintf per line: stdio locks the stream, so threads do not interleave. */
    fprintf(stderr, "%s: %s\n", log_prog, line);
}
