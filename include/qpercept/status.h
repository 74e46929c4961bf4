// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * status.h - the one status type of qpercept, its names, and the caller-owned
 * error text buffer.
 *
 * Every fallible function returns enum qp_status; at API boundaries the last
 * parameter is a struct qp_err * (may be NULL) that receives a one-line reason
 * naming what failed and where. Status numbers are part of the wire protocol
 * and the engine file: they never change.
 */
#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#define QP_NORETURN [[noreturn]]
#elif defined(__GNUC__) || defined(__clang__)
#define QP_NORETURN __attribute__((noreturn)) /* cppcheck 2.10 knows this, not _Noreturn */
#else
#define QP_NORETURN _Noreturn
#endif

#if defined(__GNUC__) || defined(__clang__)
#define QP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define QP_PRINTF(f, a)
#endif

enum qp_status {
    QP_OK            = 0,
    QP_E_NOMEM       = 1, /* an arena or the host ran out of memory        */
    QP_E_INVAL       = 2, /* the caller passed something malformed          */
    QP_E_UNSUPPORTED = 3, /* no backend implements this op/dtype/attribute  */
    QP_E_IO          = 4, /* file or socket failure; errno text in qp_err   */
    QP_E_FORMAT      = 5, /* model file or protobuf frame failed validation */
    QP_E_CUDA        = 6, /* CUDA runtime or cuBLASLt call failed           */
    QP_E_AGAIN       = 7, /* nothing to do now (queue full, no frame)       */
    QP_STATUS_COUNT
};

/* Static text for s ("ok", "out of memory", ...); never NULL. */
const char *qp_status_str(enum qp_status s);

struct qp_err { /* caller-owned; pass NULL to ignore */
    char msg[512];
};

/* Record a reason in err (if any) and return s: return qp_fail(err, QP_E_IO, ...). */
enum qp_status qp_fail(struct qp_err *err, enum qp_status s, const char *fmt, ...) QP_PRINTF(3, 4);

#ifdef __clang_analyzer__
/* clang-tidy's analyzer sees one file at a time: without this it cannot know
 * that qp_fail returns s, and explores every failure path as if it had
 * succeeded (scripts/tidy.sh). Never part of a real build. */
static inline enum qp_status qp_fail_returns(enum qp_status called, enum qp_status s)
{
    (void)called;
    return s;
}
#define qp_fail(err, s, ...) qp_fail_returns(qp_fail((err), (s), __VA_ARGS__), (s))
#endif

/* Prefix err->msg with "ctx: " (for callers adding where a callee failed). */
void qp_err_prefix(struct qp_err *err, const char *fmt, ...) QP_PRINTF(2, 3);

/* Our own bug: print file:line and the reason, then abort(). */
QP_NORETURN void qp_panic(const char *file, int line, const char *fmt, ...) QP_PRINTF(3, 4);

#define QP_ASSERT(x)                                                                               \
    do {                                                                                           \
        if (!(x))                                                                                  \
            qp_panic(__FILE__, __LINE__, "assertion failed: %s", #x);                              \
    } while (0)

#ifdef __cplusplus
}
#endif
