// SPDX-License-Identifier: Apache-2.0
/*
 * status.c - status names, qp_fail() and the panic rule.
 *
 * The name table is indexed by enum qp_status and its size is checked at
 * compile time, so a new status without a name is a build error.
 */
#define _POSIX_C_SOURCE 200809L
#include "qpercept/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {
    [QP_OK]            = "ok",
    [QP_E_NOMEM]       = "out of memory",
    [QP_E_INVAL]       = "invalid argument",
    [QP_E_UNSUPPORTED] = "unsupported",
    [QP_E_IO]          = "i/o error",
    [QP_E_FORMAT]      = "malformed input",
    [QP_E_CUDA]        = "cuda error",
    [QP_E_AGAIN]       = "try again",
};
_Static_assert(sizeof names / sizeof names[0] == QP_STATUS_COUNT, "every qp_status needs a name");

const char *qp_status_str(enum qp_status s)
{
    if ((unsigned)s >= QP_STATUS_COUNT)
        return "unknown status";
    return names[s];
}

/* (qp_fail): status.h makes qp_fail a macro for the static analyzer. */
enum qp_status(qp_fail)(struct qp_err *err, enum qp_status s, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return s;
}

void qp_err_prefix(struct qp_err *err, const char *fmt, ...)
{
    if (!err)
        return;
    char    head[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t k = strlen(head);
    if (k > sizeof err->msg - 3)
        k = sizeof err->msg - 3;
    memcpy(err->msg, head, k);
    memcpy(err->msg + k, ": ", 2);
    size_t room = sizeof err->msg - k - 2;
    size_t m    = strnlen(old, room - 1);
    memcpy(err->msg + k + 2, old, m);
    err->msg[k + 2 + m] = '\0';
}

void qp_panic(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "qpercept panic at %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
