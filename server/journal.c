// SPDX-License-Identifier: Apache-2.0
/*
 * journal.c - qperceptd's log lines: one line per event on stderr, with the
 * "<P>" priority prefix journald (and systemd's stderr capture) reads, so a
 * warning shows as a warning in `journalctl -p warning` without a syslog
 * library.
 *
 * Never on the per-frame path, except the rate-limited bad-frame line:
 * at most one per stream per second, the next one saying how many were
 * held back. The engine's own qp_log lines keep their format.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "core/log.h"
#include "server/server.h"

static const int priority[] = {
    [QP_LOG_ERROR] = 3, [QP_LOG_WARN] = 4, [QP_LOG_INFO] = 6, [QP_LOG_DEBUG] = 7};
_Static_assert(sizeof priority / sizeof priority[0] == QP_LOG_LEVEL_COUNT,
               "every log level needs a journald priority");

uint64_t qp_srv_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void vlog(enum qp_log_level level, const char *fmt, va_list ap) QP_PRINTF(2, 0);
static void vlog(enum qp_log_level level, const char *fmt, va_list ap)
{
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    fprintf(stderr, "<%d>qperceptd: %s\n", priority[level < QP_LOG_LEVEL_COUNT ? level : 0], line);
}

void qp_srv_log(enum qp_log_level level, const char *fmt, ...)
{
    if (level > qp_log_threshold)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

void qp_srv_log_frame(struct qp_srv_stream *s, const char *fmt, ...)
{
    int64_t now = qp_clock_ns();
    if (QP_LOG_WARN > qp_log_threshold)
        return;
    if (now < s->log_next_ns) {
        s->log_suppressed++;
        return;
    }
    char    line[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (s->log_suppressed)
        qp_srv_log(QP_LOG_WARN, "stream '%s': %s (%llu similar lines suppressed)", s->cfg->name,
                   line, (unsigned long long)s->log_suppressed);
    else
        qp_srv_log(QP_LOG_WARN, "stream '%s': %s", s->cfg->name, line);
    s->log_suppressed = 0;
    s->log_next_ns    = now + 1000000000;
}
