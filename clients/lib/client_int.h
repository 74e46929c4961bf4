// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * client_int.h - what the publisher, subscriber and control client share:
 * a ZeroMQ context and socket set up with our options (linger 0 unless asked, a
 * high-water mark), polling against a deadline, clocks, stream-name checks
 * and the endpoint text that every error message names.
 *
 * Internal to clients/lib: the one place besides server/ where zmq.h is
 * included.
 */
#include <stdbool.h>
#include <stdint.h>

#include "qpercept/client.h"

/* Endpoint text kept for messages; longer endpoints are shown cut. */
#define QP_CLIENT_ENDPOINT_SHOWN 160

/* A context with one socket of ZeroMQ type `type`. */
struct qp_client_sock {
    void *ctx;
    void *sock;
    char  endpoint[QP_CLIENT_ENDPOINT_SHOWN]; /* for messages */
};

/* Socket options applied before bind / connect; 0 leaves ZeroMQ's value. */
struct qp_client_sock_opts {
    int         type;             /* ZMQ_XPUB, ZMQ_PUSH, ZMQ_SUB, ZMQ_REQ */
    bool        bind;             /* bind instead of connect */
    int         sndhwm;           /* messages */
    int         rcvhwm;           /* messages */
    bool        nodrop;           /* XPUB: EAGAIN instead of silent drops at the high-water mark */
    const char *who;              /* "publisher 'cam_front'", ... : starts every error message */
    const char *curve_server_key; /* Z85; with curve_secret_key: a CURVE client */
    const char *curve_secret_key; /* Z85 */
    int         linger_ms;        /* ZMQ_LINGER: 0 discards unsent messages at close */
};

/* Make the context and socket, set the linger (0 unless asked) and the options, then bind or
 * connect to endpoint. QP_E_INVAL for a NULL / empty endpoint, QP_E_IO with
 * ZeroMQ's reason otherwise; on failure nothing is left open. */
enum qp_status qp_client_sock_open(struct qp_client_sock *s, const char *endpoint,
                                   const struct qp_client_sock_opts *o, struct qp_err *err);

/* Close the socket and terminate the context (prompt with linger 0). Safe on a
 * zeroed or already closed struct. */
void qp_client_sock_close(struct qp_client_sock *s);

/* ZeroMQ's text for the current errno. */
const char *qp_client_zmq_error(void);

/* CLOCK_MONOTONIC milliseconds; CLOCK_REALTIME nanoseconds. */
int64_t  qp_client_now_ms(void);
uint64_t qp_client_realtime_ns(void);

/* Deadline in CLOCK_MONOTONIC ms for a wait of timeout_ms; < 0: none (-1). */
int64_t qp_client_deadline(int timeout_ms);

/* Wait until sock has `events` (ZMQ_POLLIN / ZMQ_POLLOUT) or the deadline
 * (-1: none) passes: 1 ready, 0 deadline passed, -1 error (errno set;
 * EINTR is retried here). */
int qp_client_poll(void *sock, short events, int64_t deadline_ms);

/* Does s name a stream as the protocol allows (1-63 bytes, 0x21-0x7E)? */
bool qp_client_stream_ok(const char *s);

/* Copy src (may be NULL) into dst[cap] when it fits, NUL included. */
bool qp_client_copy_str(char *dst, size_t cap, const char *src);
