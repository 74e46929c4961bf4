// SPDX-License-Identifier: Apache-2.0
/*
 * client.c - the client library's shared pieces (client_int.h): sockets with
 * our options, deadlines, clocks, name checks; and the public name tables
 * of client.h, whose enums mirror the wire protocol's numbers (checked at
 * compile time below, so the two can never drift apart).
 */
#define _POSIX_C_SOURCE 200809L
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "clients/lib/client_int.h"
#include "proto/wire.h"

/* ===== The public enums are the wire's numbers ===== */

static_assert(QP_FRAME_FORMAT_RGB8 == (int)QP_WIRE_PIXEL_RGB8 &&
                  QP_FRAME_FORMAT_BGR8 == (int)QP_WIRE_PIXEL_BGR8 &&
                  QP_FRAME_FORMAT_GRAY8 == (int)QP_WIRE_PIXEL_GRAY8 &&
                  QP_FRAME_FORMAT_NV12 == (int)QP_WIRE_PIXEL_NV12 &&
                  QP_FRAME_FORMAT_JPEG == (int)QP_WIRE_PIXEL_JPEG &&
                  QP_FRAME_FORMAT_PNG == (int)QP_WIRE_PIXEL_PNG &&
                  QP_FRAME_FORMAT_COUNT == (int)QP_WIRE_PIXEL_COUNT,
              "enum qp_frame_format mirrors enum qp_wire_pixel_format");
static_assert(QP_DET_STATUS_OK == (int)QP_WIRE_DET_STATUS_OK &&
                  QP_DET_STATUS_DEGRADED == (int)QP_WIRE_DET_STATUS_DEGRADED &&
                  QP_DET_STATUS_ERROR == (int)QP_WIRE_DET_STATUS_ERROR &&
                  QP_DET_STATUS_COUNT == (int)QP_WIRE_DET_STATUS_COUNT,
              "enum qp_det_status mirrors enum qp_wire_det_status");
static_assert(QP_CTL_KIND_PING == (int)QP_WIRE_CONTROL_PING &&
                  QP_CTL_KIND_STATUS == (int)QP_WIRE_CONTROL_STATUS &&
                  QP_CTL_KIND_STATS == (int)QP_WIRE_CONTROL_STATS &&
                  QP_CTL_KIND_RELOAD == (int)QP_WIRE_CONTROL_RELOAD &&
                  QP_CTL_KIND_COUNT == (int)QP_WIRE_CONTROL_COUNT,
              "enum qp_ctl_kind mirrors enum qp_wire_control_kind");
static_assert(QP_SERVER_STATE_STARTING == (int)QP_WIRE_SERVER_STARTING &&
                  QP_SERVER_STATE_SERVING == (int)QP_WIRE_SERVER_SERVING &&
                  QP_SERVER_STATE_RELOADING == (int)QP_WIRE_SERVER_RELOADING &&
                  QP_SERVER_STATE_DRAINING == (int)QP_WIRE_SERVER_DRAINING &&
                  QP_SERVER_STATE_COUNT == (int)QP_WIRE_SERVER_COUNT,
              "enum qp_server_state mirrors enum qp_wire_server_state");
static_assert(QP_CLIENT_STREAM_MAX == QP_WIRE_STREAM_MAX &&
                  QP_CLIENT_FRAME_ID_MAX == QP_WIRE_FRAME_ID_MAX &&
                  QP_CLIENT_MAX_DETECTIONS == QP_WIRE_MAX_DETECTIONS &&
                  QP_CLIENT_LABEL_MAX == QP_WIRE_LABEL_MAX &&
                  QP_CLIENT_NAME_MAX == QP_WIRE_NAME_MAX && QP_CLIENT_ID_MAX == QP_WIRE_ID_MAX &&
                  QP_CLIENT_VERSION_MAX == QP_WIRE_VERSION_MAX &&
                  QP_CLIENT_ERROR_MAX == QP_WIRE_ERROR_MAX &&
                  QP_CLIENT_PATH_MAX == QP_WIRE_PATH_MAX,
              "client.h limits are the wire protocol's");

const char *qp_frame_format_name(enum qp_frame_format f)
{
    return qp_wire_pixel_format_name((enum qp_wire_pixel_format)f);
}

const char *qp_det_status_name(enum qp_det_status s)
{
    return qp_wire_det_status_name((enum qp_wire_det_status)s);
}

const char *qp_ctl_kind_name(enum qp_ctl_kind k)
{
    return qp_wire_control_kind_name((enum qp_wire_control_kind)k);
}

const char *qp_server_state_name(enum qp_server_state s)
{
    static const char *const names[QP_SERVER_STATE_COUNT] = {
        [QP_SERVER_STATE_UNSPECIFIED] = "unspecified", [QP_SERVER_STATE_STARTING] = "starting",
        [QP_SERVER_STATE_SERVING] = "serving",         [QP_SERVER_STATE_RELOADING] = "reloading",
        [QP_SERVER_STATE_DRAINING] = "draining",
    };
    return (unsigned)s < QP_SERVER_STATE_COUNT ? names[s] : "unknown";
}

/* ===== Sockets ===== */

const char *qp_client_zmq_error(void)
{
    return zmq_strerror(zmq_errno());
}

static bool set_int(void *sock, int opt, int v)
{
    return zmq_setsockopt(sock, opt, &v, sizeof v) == 0;
}

static bool z85_key(const char *k)
{
    uint8_t bin[32];
    return k && strlen(k) == 40 && zmq_z85_decode(bin, k) != NULL;
}

/* The CURVE client options: server key, this client's public and secret. */
static bool set_curve(void *sock, const char *server_key, const char *secret_key)
{
    char public_key[41], secret[41];
    snprintf(secret, sizeof secret, "%s", secret_key);
    bool ok = zmq_curve_public(public_key, secret) == 0 &&
              zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_key, 40) == 0 &&
              zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, public_key, 40) == 0 &&
              zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret, 40) == 0;
    memset(secret, 0, sizeof secret);
    return ok;
}

enum qp_status qp_client_sock_open(struct qp_client_sock *s, const char *endpoint,
                                   const struct qp_client_sock_opts *o, struct qp_err *err)
{
    memset(s, 0, sizeof *s);
    if (!endpoint || !*endpoint)
        return qp_fail(err, QP_E_INVAL, "%s: no endpoint given", o->who);
    bool curve = o->curve_server_key || o->curve_secret_key;
    if (curve && (!z85_key(o->curve_server_key) || !z85_key(o->curve_secret_key)))
        return qp_fail(err, QP_E_INVAL,
                       "%s: CURVE needs both the server's public key and this client's secret "
                       "key, each 40 characters of Z85",
                       o->who);
    snprintf(s->endpoint, sizeof s->endpoint, "%s", endpoint);

    const char *what = "zmq_ctx_new";
    s->ctx           = zmq_ctx_new();
    if (!s->ctx)
        goto fail;
    what    = "zmq_socket";
    s->sock = zmq_socket(s->ctx, o->type);
    if (!s->sock)
        goto fail;
    what = "socket options";
    if (!set_int(s->sock, ZMQ_LINGER, o->linger_ms > 0 ? o->linger_ms : 0) ||
        (o->sndhwm && !set_int(s->sock, ZMQ_SNDHWM, o->sndhwm)) ||
        (o->rcvhwm && !set_int(s->sock, ZMQ_RCVHWM, o->rcvhwm)) ||
        (o->nodrop && !set_int(s->sock, ZMQ_XPUB_NODROP, 1)))
        goto fail;
    what = "CURVE keys";
    if (curve && !set_curve(s->sock, o->curve_server_key, o->curve_secret_key))
        goto fail;
    what = o->bind ? "bind" : "connect";
    if ((o->bind ? zmq_bind(s->sock, endpoint) : zmq_connect(s->sock, endpoint)) != 0)
        goto fail;
    return QP_OK;
fail:;
    enum qp_status st =
        qp_fail(err, QP_E_IO, "%s on %s: %s: %s", o->who, s->endpoint, what, qp_client_zmq_error());
    qp_client_sock_close(s);
    return st;
}

void qp_client_sock_close(struct qp_client_sock *s)
{
    if (s->sock)
        zmq_close(s->sock);
    if (s->ctx)
        zmq_ctx_term(s->ctx);
    s->sock = NULL;
    s->ctx  = NULL;
}

/* ===== Time ===== */

int64_t qp_client_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

uint64_t qp_client_realtime_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int64_t qp_client_deadline(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : qp_client_now_ms() + timeout_ms;
}

int qp_client_poll(void *sock, short events, int64_t deadline_ms)
{
    for (;;) {
        long wait_ms = -1;
        if (deadline_ms >= 0) {
            int64_t left = deadline_ms - qp_client_now_ms();
            wait_ms      = left > 0 ? (long)left : 0;
        }
        zmq_pollitem_t item = {.socket = sock, .events = events};
        int            rc   = zmq_poll(&item, 1, wait_ms);
        if (rc > 0)
            return 1;
        if (rc == 0 && wait_ms >= 0 && qp_client_now_ms() >= deadline_ms)
            return 0;
        if (rc < 0 && zmq_errno() != EINTR)
            return -1;
    }
}

/* ===== Names ===== */

bool qp_client_stream_ok(const char *s)
{
    if (!s || !*s)
        return false;
    size_t n = 0;
    for (; s[n]; n++)
        if ((unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e)
            return false;
    return n < QP_CLIENT_STREAM_MAX;
}

bool qp_client_copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        return false;
    memcpy(dst, src ? src : "", n + 1);
    return true;
}
