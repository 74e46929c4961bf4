// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * log.h - one line per event: monotonic time, level letter, module, text.
 *
 * qp_log tests the level before evaluating its arguments. The hot path does
 * not log; it counts. Output goes to stderr.
 */
#include <stdint.h>

#include "qpercept/status.h"

enum qp_log_level {
    QP_LOG_ERROR = 0,
    QP_LOG_WARN  = 1,
    QP_LOG_INFO  = 2,
    QP_LOG_DEBUG = 3,
    QP_LOG_LEVEL_COUNT
};

extern enum qp_log_level qp_log_threshold;

void qp_log_set_level(enum qp_log_level level);
void qp_log_write(enum qp_log_level level, const char *module, const char *fmt, ...)
    QP_PRINTF(3, 4);

#define qp_log(level, module, ...)                                                                 \
    do {                                                                                           \
        if ((level) <= qp_log_threshold)                                                           \
            qp_log_write((level), (module), __VA_ARGS__);                                          \
    } while (0)

/* Monotonic clock in nanoseconds. */
int64_t qp_clock_ns(void);
