// SPDX-License-Identifier: Apache-2.0
/*
 * log.c - the line logger and the monotonic clock.
 */
#define _POSIX_C_SOURCE 200809L
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

enum qp_log_level qp_log_threshold = QP_LOG_WARN;

static const char letters[] = {
    [QP_LOG_ERROR] = 'E', [QP_LOG_WARN] = 'W', [QP_LOG_INFO] = 'I', [QP_LOG_DEBUG] = 'D'};
_Static_assert(sizeof letters == QP_LOG_LEVEL_COUNT, "every log level needs a letter");

void qp_log_set_level(enum qp_log_level level)
{
    qp_log_threshold = level;
}

int64_t qp_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void qp_log_write(enum qp_log_level level, const char *module, const char *fmt, ...)
{
    char    line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    double t = (double)qp_clock_ns() / 1e9;
    fprintf(stderr, "%.6f %c %s: %s\n", t, letters[level < QP_LOG_LEVEL_COUNT ? level : 0],
            module, line);
}
