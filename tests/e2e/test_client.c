// SPDX-License-Identifier: Apache-2.0
/*
 * test_client.c - the client library (include/qpercept/client.h) against a
 * server played by this test with raw ZeroMQ sockets on ipc:// endpoints in
 * a fresh temporary directory.
 *
 * Publisher: a 1280x720 BGR8 frame arrives as [topic][Frame] that
 * proto/wire decodes and validates to the same bytes, seq +1 per frame, in
 * PUB and PUSH modes; with nobody subscribed, or a peer that stops reading,
 * a send returns at once with QP_E_AGAIN and counts the drop, and the drops
 * show up as a seq gap. Subscriber: decodes what the test publishes,
 * filters streams exactly (cam_front is not cam_front2), reports seq gaps
 * and restarts, refuses and counts malformed messages and still returns the
 * next valid one. Control: a REP thread answers ping / status / stats /
 * reload; a request nobody answers times out within its bound. The
 * slow-joiner problem is handled by waiting for the subscription itself
 * (XPUB on whichever side publishes), never by a guessed sleep.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "proto/wire.h"
#include "qp_test.h"
#include "qpercept/client.h"

#define IMG_W 1280
#define IMG_H 720
#define IMG_STRIDE (IMG_W * 3)
#define IMG_BYTES ((size_t)IMG_STRIDE * IMG_H)
#define WAIT_MS 2000 /* bound on any wait for the other side */

static char     tmp_dir[256];
static void    *zctx; /* the test's (server's) side */
static uint8_t *image;

static const char *endpoint(const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "ipc://%s/%s", tmp_dir, name);
    return buf;
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static uint64_t realtime_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&t, NULL);
}

static int suite_init(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/qp_client_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_dir))
        return 1;
    zctx  = zmq_ctx_new();
    image = malloc(IMG_BYTES);
    if (!zctx || !image)
        return 1;
    for (size_t i = 0; i < IMG_BYTES; i++)
        image[i] = (uint8_t)(i * 31 + i / IMG_STRIDE);
    return 0;
}

static int suite_cleanup(void)
{
    free(image);
    /* A test stopped by a fatal assert may leave a socket open, on which
     * zmq_ctx_term would wait forever: then only shut the context down.
     * Without a failure every socket is closed, and term joins ZeroMQ's
     * threads (ThreadSanitizer reports threads never joined as leaks). */
    if (zctx && CU_get_number_of_failures() == 0)
        zmq_ctx_term(zctx);
    else if (zctx)
        zmq_ctx_shutdown(zctx);
    zctx   = NULL;
    DIR *d = opendir(tmp_dir);
    if (d) {
        struct dirent *e;
        char           path[512];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                snprintf(path, sizeof path, "%s/%s", tmp_dir, e->d_name);
                unlink(path);
            }
        closedir(d);
    }
    rmdir(tmp_dir);
    return 0;
}

/* A raw socket of the test's side, linger 0, bound or connected. */
static void *raw_socket(int type, const char *ep, bool bind, int rcvhwm)
{
    void *s      = zmq_socket(zctx, type);
    int   linger = 0, timeo = WAIT_MS;
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeo, sizeof timeo);
    if (rcvhwm)
        zmq_setsockopt(s, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm);
    CU_ASSERT_EQUAL_FATAL(bind ? zmq_bind(s, ep) : zmq_connect(s, ep), 0);
    return s;
}

static bool more_parts(void *s)
{
    int    more = 0;
    size_t n    = sizeof more;
    return zmq_getsockopt(s, ZMQ_RCVMORE, &more, &n) == 0 && more;
}

static struct qp_frame_out bgr_frame(uint64_t capture_ns)
{
    return (struct qp_frame_out){.width        = IMG_W,
                                 .height       = IMG_H,
                                 .stride       = IMG_STRIDE,
                                 .format       = QP_FRAME_FORMAT_BGR8,
                                 .pixels       = image,
                                 .pixels_bytes = IMG_BYTES,
                                 .capture_ns   = capture_ns,
                                 .frame_id     = "cam_front_optical"};
}

/* Receive one [topic][Frame] on s and check it is the test image from
 * stream cam_front; returns its seq (UINT64_MAX when nothing came). */
static uint64_t recv_frame(void *s, struct qp_wire_decoder *dec, uint64_t capture_lo,
                           uint64_t capture_hi)
{
    char topic[64] = {0};
    int  tn        = zmq_recv(s, topic, sizeof topic - 1, 0);
    if (tn < 0)
        return UINT64_MAX;
    CU_ASSERT_EQUAL(tn, 9);
    CU_ASSERT_STRING_EQUAL(topic, "cam_front");
    CU_ASSERT_FATAL(more_parts(s));
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    CU_ASSERT_FATAL(zmq_msg_recv(&msg, s, 0) > 0);
    CU_ASSERT(!more_parts(s));
    struct qp_wire_frame f;
    struct qp_err        err;
    enum qp_status       st =
        qp_wire_decode_frame(dec, zmq_msg_data(&msg), zmq_msg_size(&msg), &f, NULL, &err);
    CU_ASSERT_EQUAL(st, QP_OK);
    if (st != QP_OK)
        printf("\n  decode: %s\n", err.msg);
    CU_ASSERT_EQUAL(qp_wire_validate_frame(&f, NULL, &err), QP_OK);
    CU_ASSERT_STRING_EQUAL(f.header.stream, "cam_front");
    CU_ASSERT_STRING_EQUAL(f.header.frame_id, "cam_front_optical");
    CU_ASSERT(f.header.capture_ns >= capture_lo && f.header.capture_ns <= capture_hi);
    CU_ASSERT_EQUAL(f.width, IMG_W);
    CU_ASSERT_EQUAL(f.height, IMG_H);
    CU_ASSERT_EQUAL(f.stride, IMG_STRIDE);
    CU_ASSERT_EQUAL(f.format, QP_WIRE_PIXEL_BGR8);
    CU_ASSERT_EQUAL(f.data, QP_WIRE_DATA_INLINE);
    CU_ASSERT_EQUAL_FATAL(f.pixels_bytes, IMG_BYTES);
    CU_ASSERT(memcmp(f.pixels, image, IMG_BYTES) == 0);
    uint64_t seq = f.header.seq;
    zmq_msg_close(&msg);
    return seq;
}

static struct qp_wire_decoder *frame_decoder(void)
{
    struct qp_wire_decoder *dec = NULL;
    struct qp_err           err;
    CU_ASSERT_EQUAL_FATAL(qp_wire_decoder_new(IMG_BYTES + 4096, 0, &dec, &err), QP_OK);
    return dec;
}

static struct qp_pub *new_pub(const char *ep, enum qp_pub_kind kind, int hwm)
{
    struct qp_pub_opts o = QP_PUB_OPTS_DEFAULT;
    struct qp_pub     *p = NULL;
    struct qp_err      err;
    o.endpoint        = ep;
    o.stream          = "cam_front";
    o.kind            = kind;
    o.send_hwm        = hwm;
    o.max_frame_bytes = IMG_BYTES;
    enum qp_status st = qp_pub_new(&o, &p, &err);
    if (st != QP_OK)
        printf("\n  qp_pub_new: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, QP_OK);
    return p;
}

/* ===== Publisher ===== */

static void test_pub_bind(void)
{
    char                ep[300];
    struct qp_err       err;
    struct qp_pub_stats ps;
    struct qp_pub      *pub = new_pub(endpoint("frames_pub", ep, sizeof ep), QP_PUB_KIND_PUB, 4);
    struct qp_wire_decoder *dec = frame_decoder();
    struct qp_frame_out     f   = bgr_frame(0);

    /* nobody subscribed yet: dropped, counted, seq 0 used */
    CU_ASSERT_EQUAL(qp_pub_send(pub, &f, &err), QP_E_AGAIN);
    CU_ASSERT(strstr(err.msg, "no subscriber") && strstr(err.msg, ep) &&
              strstr(err.msg, "cam_front"));
    CU_ASSERT_EQUAL(qp_pub_wait_subscriber(pub, 50, &err), QP_E_AGAIN);

    void *sub = raw_socket(ZMQ_SUB, ep, false, 0);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "cam_front", 9);
    CU_ASSERT_EQUAL_FATAL(qp_pub_wait_subscriber(pub, WAIT_MS, &err), QP_OK);

    for (uint64_t i = 0; i < 3; i++) {
        uint64_t stamp = i == 0 ? 0 : 1700000000000000000ull + i;
        uint64_t lo    = realtime_ns(), hi;
        f              = bgr_frame(stamp);
        CU_ASSERT_EQUAL(qp_pub_send(pub, &f, &err), QP_OK);
        hi = realtime_ns();
        if (stamp)
            lo = hi = stamp;
        CU_ASSERT_EQUAL(recv_frame(sub, dec, lo, hi), i + 1);
    }
    qp_pub_stats(pub, &ps);
    CU_ASSERT_EQUAL(ps.n_sent, 3);
    CU_ASSERT_EQUAL(ps.n_dropped, 1);
    CU_ASSERT_EQUAL(ps.n_no_subscriber, 1);
    CU_ASSERT_EQUAL(ps.n_dropped_hwm, 0);
    CU_ASSERT_EQUAL(ps.next_seq, 4);
    CU_ASSERT(ps.subscribed);

    zmq_close(sub);
    qp_wire_decoder_free(dec);
    qp_pub_free(pub);
}

static void test_pub_push(void)
{
    char           ep[300];
    struct qp_err  err;
    void          *pull = raw_socket(ZMQ_PULL, endpoint("frames_push", ep, sizeof ep), true, 0);
    struct qp_pub *pub  = new_pub(ep, QP_PUB_KIND_PUSH, 4);
    struct qp_wire_decoder *dec = frame_decoder();

    CU_ASSERT_EQUAL(qp_pub_wait_subscriber(pub, 0, &err), QP_OK); /* PUSH: nothing to wait for */
    for (uint64_t i = 0; i < 3; i++) {
        struct qp_frame_out f = bgr_frame(1000 + i);
        CU_ASSERT_EQUAL(qp_pub_send(pub, &f, &err), QP_OK);
    }
    for (uint64_t i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(recv_frame(pull, dec, 1000 + i, 1000 + i), i);
    struct qp_pub_stats ps;
    qp_pub_stats(pub, &ps);
    CU_ASSERT_EQUAL(ps.n_sent, 3);
    CU_ASSERT_EQUAL(ps.n_dropped, 0);
    CU_ASSERT_EQUAL(ps.next_seq, 3);

    zmq_close(pull);
    qp_wire_decoder_free(dec);
    qp_pub_free(pub);
}

/* PUSH to an endpoint nobody serves: the queue fills, then every send
 * returns QP_E_AGAIN at once. */
static void test_pub_push_no_peer(void)
{
    char           ep[300];
    struct qp_err  err;
    struct qp_pub *pub     = new_pub(endpoint("frames_nobody", ep, sizeof ep), QP_PUB_KIND_PUSH, 2);
    int            n_again = 0, n_ok = 0;
    int64_t        worst = 0;
    for (int i = 0; i < 20; i++) {
        struct qp_frame_out f  = bgr_frame(0);
        int64_t             t0 = now_ms();
        enum qp_status      st = qp_pub_send(pub, &f, &err);
        worst                  = now_ms() - t0 > worst ? now_ms() - t0 : worst;
        n_ok += st == QP_OK;
        n_again += st == QP_E_AGAIN;
        if (st == QP_E_AGAIN)
            CU_ASSERT(strstr(err.msg, "queue is full") != NULL);
    }
    struct qp_pub_stats ps;
    qp_pub_stats(pub, &ps);
    printf("\n  no peer, hwm 2: %d queued, %d dropped, slowest send %lld ms\n", n_ok, n_again,
           (long long)worst);
    CU_ASSERT(n_ok >= 1 && n_ok <= 4);
    CU_ASSERT_EQUAL(n_ok + n_again, 20);
    CU_ASSERT_EQUAL(ps.n_sent, (uint64_t)n_ok);
    CU_ASSERT_EQUAL(ps.n_dropped_hwm, (uint64_t)n_again);
    CU_ASSERT_EQUAL(ps.next_seq, 20);
    CU_ASSERT(worst < 200);
    qp_pub_free(pub);
}

/* PUB with a subscriber that stops reading: sends never block, drops are
 * counted, and once the subscriber reads again the drops are a seq gap. */
static void test_pub_slow_subscriber(void)
{
    char           ep[300];
    struct qp_err  err;
    struct qp_pub *pub = new_pub(endpoint("frames_slow", ep, sizeof ep), QP_PUB_KIND_PUB, 1);
    struct qp_wire_decoder *dec = frame_decoder();
    void                   *sub = raw_socket(ZMQ_SUB, ep, false, 1);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    CU_ASSERT_EQUAL_FATAL(qp_pub_wait_subscriber(pub, WAIT_MS, &err), QP_OK);

    int64_t worst = 0;
    for (int i = 0; i < 40; i++) {
        struct qp_frame_out f  = bgr_frame(0);
        int64_t             t0 = now_ms();
        enum qp_status      st = qp_pub_send(pub, &f, &err);
        worst                  = now_ms() - t0 > worst ? now_ms() - t0 : worst;
        CU_ASSERT(st == QP_OK || st == QP_E_AGAIN);
    }
    struct qp_pub_stats ps;
    qp_pub_stats(pub, &ps);
    printf("\n  subscriber not reading, hwm 1: %llu sent, %llu dropped, slowest send %lld ms\n",
           (unsigned long long)ps.n_sent, (unsigned long long)ps.n_dropped, (long long)worst);
    CU_ASSERT(ps.n_dropped_hwm >= 30);
    CU_ASSERT_EQUAL(ps.n_sent + ps.n_dropped_hwm, 40);
    CU_ASSERT(worst < 200);

    /* The subscriber gets every frame that was sent, in seq order; the seqs
     * it does not see are exactly the drops. */
    int timeo = 100;
    zmq_setsockopt(sub, ZMQ_RCVTIMEO, &timeo, sizeof timeo);
    uint64_t n_got = 0, n_missing = 0, next = 0, seq;
    while ((seq = recv_frame(sub, dec, 1, UINT64_MAX)) != UINT64_MAX) {
        CU_ASSERT_FATAL(seq >= next);
        n_missing += seq - next;
        next = seq + 1;
        n_got++;
    }
    CU_ASSERT_EQUAL(n_got, ps.n_sent);
    /* room again (within a bound): the next frame is delivered, and every
     * seq before it is either received or counted as dropped */
    enum qp_status st = QP_E_AGAIN;
    for (int64_t t0 = now_ms(); st == QP_E_AGAIN && now_ms() - t0 < WAIT_MS;) {
        struct qp_frame_out f = bgr_frame(0);
        if ((st = qp_pub_send(pub, &f, &err)) == QP_E_AGAIN)
            sleep_ms(2);
    }
    CU_ASSERT_EQUAL_FATAL(st, QP_OK);
    qp_pub_stats(pub, &ps);
    timeo = WAIT_MS;
    zmq_setsockopt(sub, ZMQ_RCVTIMEO, &timeo, sizeof timeo);
    seq = recv_frame(sub, dec, 1, UINT64_MAX);
    CU_ASSERT_EQUAL_FATAL(seq, ps.next_seq - 1);
    n_missing += seq - next;
    CU_ASSERT_EQUAL(n_got + 1, ps.n_sent);
    CU_ASSERT_EQUAL(n_missing, ps.n_dropped_hwm);
    CU_ASSERT(n_missing >= 30);

    zmq_close(sub);
    qp_wire_decoder_free(dec);
    qp_pub_free(pub);
}

static void test_pub_refuses_bad_input(void)
{
    char               ep[300];
    struct qp_err      err;
    struct qp_pub     *p = NULL;
    struct qp_pub_opts o = QP_PUB_OPTS_DEFAULT;
    o.endpoint           = endpoint("frames_bad", ep, sizeof ep);
    o.stream             = "cam front";
    CU_ASSERT_EQUAL(qp_pub_new(&o, &p, &err), QP_E_INVAL);
    CU_ASSERT_PTR_NULL(p);
    o.stream   = "cam_front";
    o.endpoint = NULL;
    CU_ASSERT_EQUAL(qp_pub_new(&o, &p, &err), QP_E_INVAL);
    o.endpoint = "bogus://nowhere";
    CU_ASSERT_EQUAL(qp_pub_new(&o, &p, &err), QP_E_IO);
    CU_ASSERT(strstr(err.msg, "bogus://nowhere") && strstr(err.msg, "cam_front"));
    o.endpoint = ep;
    o.send_hwm = 0;
    CU_ASSERT_EQUAL(qp_pub_new(&o, &p, &err), QP_E_INVAL);

    struct qp_pub      *pub = new_pub(ep, QP_PUB_KIND_PUSH, 2);
    struct qp_frame_out f   = bgr_frame(0);
    f.stride                = IMG_W * 3 - 1; /* shorter than a row */
    CU_ASSERT_EQUAL(qp_pub_send(pub, &f, &err), QP_E_INVAL);
    CU_ASSERT(strstr(err.msg, "stride") && strstr(err.msg, ep));
    f              = bgr_frame(0);
    f.height       = IMG_H + 1;
    f.pixels_bytes = IMG_BYTES + IMG_STRIDE; /* consistent, but over max_frame_bytes */
    CU_ASSERT_EQUAL(qp_pub_send(pub, &f, &err), QP_E_INVAL);
    CU_ASSERT(strstr(err.msg, "max_frame_bytes") != NULL);
    f          = bgr_frame(0);
    f.frame_id = "a_frame_id_that_is_far_too_long_for_the_protocol_which_allows_63_bytes";
    CU_ASSERT_EQUAL(qp_pub_send(pub, &f, &err), QP_E_INVAL);
    struct qp_pub_stats ps;
    qp_pub_stats(pub, &ps);
    CU_ASSERT_EQUAL(ps.next_seq, 0); /* refused frames use no seq */
    CU_ASSERT_EQUAL(ps.n_sent + ps.n_dropped, 0);
    qp_pub_free(pub);
    qp_pub_free(NULL);
}

/* ===== Subscriber ===== */

/* Publish [topic][Detections of stream, seq] from the test's side. */
static void send_det(void *s, const char *topic, const char *stream, uint64_t seq, bool full)
{
    static struct qp_wire_detections d;
    static uint8_t                   buf[64 << 10];
    memset(&d, 0, sizeof d);
    snprintf(d.header.stream, sizeof d.header.stream, "%s", stream);
    d.header.seq        = seq;
    d.header.capture_ns = 1000 + seq;
    d.status            = QP_WIRE_DET_STATUS_OK;
    d.batch_size        = 1;
    if (full) {
        snprintf(d.header.frame_id, sizeof d.header.frame_id, "cam_front_optical");
        snprintf(d.model, sizeof d.model, "yolox_nano_416");
        snprintf(d.engine_id, sizeof d.engine_id, "sha256:0123abcd");
        snprintf(d.error, sizeof d.error, "running on the CPU backend");
        d.status       = QP_WIRE_DET_STATUS_DEGRADED;
        d.batch_size   = 6;
        d.stamps       = (struct qp_wire_stamps){2000, 2001, 2002, 2003, 2004};
        d.drops        = (struct qp_wire_drops){1, 2, 3, 4, 5, 6, 7};
        d.n_detections = 3;
        for (int i = 0; i < 3; i++)
            d.detections[i] = (struct qp_wire_detection){.class_id = (uint32_t)i * 2,
                                                         .score    = 0.9f - 0.1f * (float)i,
                                                         .x0       = 10.5f * (float)i,
                                                         .y0       = 20,
                                                         .x1       = 100 + (float)i,
                                                         .y1       = 200};
        snprintf(d.detections[0].label, sizeof d.detections[0].label, "person");
        snprintf(d.detections[1].label, sizeof d.detections[1].label, "traffic light");
        snprintf(d.detections[2].label, sizeof d.detections[2].label, "car");
    }
    size_t        len = 0;
    struct qp_err err;
    CU_ASSERT_EQUAL_FATAL(qp_wire_encode_detections(&d, buf, sizeof buf, &len, &err), QP_OK);
    CU_ASSERT_EQUAL(zmq_send(s, topic, strlen(topic), ZMQ_SNDMORE), (int)strlen(topic));
    CU_ASSERT_EQUAL(zmq_send(s, buf, len, 0), (int)len);
}

/* Wait for the subscription `expect` ("\1" + prefix) to reach the XPUB. */
static void wait_subscription(void *xpub, const char *expect, size_t n)
{
    char buf[80] = {0};
    int  got     = zmq_recv(xpub, buf, sizeof buf, 0); /* RCVTIMEO bounds it */
    CU_ASSERT_EQUAL_FATAL(got, (int)n);
    CU_ASSERT_FATAL(memcmp(buf, expect, n) == 0);
}

static struct qp_sub *new_sub(const char *ep, const char *const *streams, int n_streams)
{
    struct qp_sub_opts o = QP_SUB_OPTS_DEFAULT;
    struct qp_sub     *s = NULL;
    struct qp_err      err;
    o.endpoint        = ep;
    o.streams         = streams;
    o.n_streams       = n_streams;
    enum qp_status st = qp_sub_new(&o, &s, &err);
    if (st != QP_OK)
        printf("\n  qp_sub_new: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, QP_OK);
    return s;
}

static void check_full(const struct qp_detections_in *d)
{
    CU_ASSERT_STRING_EQUAL(d->header.stream, "cam_front");
    CU_ASSERT_EQUAL(d->header.seq, 1);
    CU_ASSERT_EQUAL(d->header.capture_ns, 1001);
    CU_ASSERT_STRING_EQUAL(d->header.frame_id, "cam_front_optical");
    CU_ASSERT_STRING_EQUAL(d->model, "yolox_nano_416");
    CU_ASSERT_STRING_EQUAL(d->engine_id, "sha256:0123abcd");
    CU_ASSERT_EQUAL(d->status, QP_DET_STATUS_DEGRADED);
    CU_ASSERT_STRING_EQUAL(qp_det_status_name(d->status), "degraded");
    CU_ASSERT_STRING_EQUAL(d->error, "running on the CPU backend");
    CU_ASSERT_EQUAL(d->batch_size, 6);
    CU_ASSERT_EQUAL(d->stamps.received_ns, 2000);
    CU_ASSERT_EQUAL(d->stamps.published_ns, 2004);
    CU_ASSERT_EQUAL(d->drops.replaced, 1);
    CU_ASSERT_EQUAL(d->drops.too_old, 2);
    CU_ASSERT_EQUAL(d->drops.engine_error, 7);
    CU_ASSERT_EQUAL_FATAL(d->n_detections, 3);
    CU_ASSERT_STRING_EQUAL(d->detections[1].label, "traffic light");
    CU_ASSERT_EQUAL(d->detections[1].class_id, 2);
    CU_ASSERT_DOUBLE_EQUAL(d->detections[1].score, 0.8, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(d->detections[2].x0, 21.0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(d->detections[2].x1, 102.0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(d->detections[2].y1, 200.0, 1e-6);
    CU_ASSERT_EQUAL(d->n_missing, 0);
}

static void test_sub_filter_gap_malformed(void)
{
    static struct qp_detections_in d;
    char                           ep[300];
    struct qp_err                  err;
    const char *const              streams[] = {"cam_front"};
    void          *xpub = raw_socket(ZMQ_XPUB, endpoint("det", ep, sizeof ep), true, 0);
    struct qp_sub *sub  = new_sub(ep, streams, 1);
    wait_subscription(xpub, "\1cam_front", 10);

    send_det(xpub, "cam_front2", "cam_front2", 7, false); /* prefix match only: skipped */
    send_det(xpub, "cam_front", "cam_front", 1, true);
    send_det(xpub, "cam_front", "cam_front", 2, false);
    send_det(xpub, "cam_front", "cam_front", 5, false); /* 3 and 4 missing */
    zmq_send(xpub, "cam_front", 9, ZMQ_SNDMORE);
    zmq_send(xpub, "\x0a\xff\xff", 3, 0);               /* truncated protobuf */
    send_det(xpub, "cam_front", "cam_side", 6, false);  /* header names another stream */
    zmq_send(xpub, "cam_front", 9, 0);                  /* no payload part */
    send_det(xpub, "cam_front", "cam_front", 6, false); /* still served */

    CU_ASSERT_EQUAL_FATAL(qp_sub_recv(sub, &d, WAIT_MS, &err), QP_OK);
    check_full(&d);
    CU_ASSERT_EQUAL(qp_sub_recv(sub, &d, WAIT_MS, &err), QP_OK);
    CU_ASSERT_EQUAL(d.header.seq, 2);
    CU_ASSERT_EQUAL(d.n_missing, 0);
    CU_ASSERT_EQUAL(d.status, QP_DET_STATUS_OK);
    CU_ASSERT_EQUAL(d.n_detections, 0);
    CU_ASSERT_EQUAL(qp_sub_recv(sub, &d, WAIT_MS, &err), QP_OK);
    CU_ASSERT_EQUAL(d.header.seq, 5);
    CU_ASSERT_EQUAL(d.n_missing, 2);
    CU_ASSERT_EQUAL(qp_sub_recv(sub, &d, WAIT_MS, &err), QP_E_FORMAT);
    CU_ASSERT(strstr(err.msg, ep) && strstr(err.msg, "cam_front"));
    CU_ASSERT_EQUAL(qp_sub_recv(sub, &d, WAIT_MS, &err), QP_E_FORMAT);
    CU_ASSERT(strstr(err.msg, "carries stream 'cam_side'") != NULL);
    CU_ASSERT_EQUAL(qp_sub_recv(sub, &d, WAIT_MS, &err), QP_E_FORMAT);
    CU_ASSERT(strstr(err.msg, "no payload") != NULL);
    CU_ASSERT_EQUAL(qp_sub_recv(sub, &d, WAIT_MS, &err), QP_OK);
    CU_ASSERT_EQUAL(d.header.seq, 6);
    CU_ASSERT_EQUAL(d.n_missing, 0);

    int64_t        t0 = now_ms();
    enum qp_status st = qp_sub_recv(sub, &d, 50, &err);
    int64_t        dt = now_ms() - t0;
    CU_ASSERT_EQUAL(st, QP_E_AGAIN);
    CU_ASSERT(dt >= 49 && dt < 300);
    CU_ASSERT(strstr(err.msg, "no detections within 50 ms") && strstr(err.msg, ep));

    struct qp_sub_stats        s;
    struct qp_sub_stream_stats ss;
    qp_sub_stats(sub, &s);
    CU_ASSERT_EQUAL(s.n_received, 4);
    CU_ASSERT_EQUAL(s.n_filtered, 1);
    CU_ASSERT_EQUAL(s.n_malformed, 3);
    CU_ASSERT_EQUAL(s.n_gaps, 1);
    CU_ASSERT_EQUAL(s.n_missing, 2);
    CU_ASSERT_EQUAL(s.n_resets, 0);
    CU_ASSERT_EQUAL_FATAL(s.n_streams, 1);
    CU_ASSERT_FATAL(qp_sub_stream_stats(sub, 0, &ss));
    CU_ASSERT_STRING_EQUAL(ss.stream, "cam_front");
    CU_ASSERT_EQUAL(ss.n_received, 4);
    CU_ASSERT_EQUAL(ss.last_seq, 6);
    CU_ASSERT_EQUAL(ss.n_missing, 2);
    CU_ASSERT(!qp_sub_stream_stats(sub, 1, &ss));

    qp_sub_free(sub);
    zmq_close(xpub);
}

static void test_sub_all_streams(void)
{
    static struct qp_detections_in d;
    char                           ep[300];
    struct qp_err                  err;
    void          *xpub = raw_socket(ZMQ_XPUB, endpoint("det_all", ep, sizeof ep), true, 0);
    struct qp_sub *sub  = new_sub(ep, NULL, 0);
    wait_subscription(xpub, "\1", 1);

    send_det(xpub, "cam_front", "cam_front", 10, false);
    send_det(xpub, "cam_front2", "cam_front2", 3, false);
    send_det(xpub, "cam_front", "cam_front", 11, false);
    send_det(xpub, "cam_front2", "cam_front2", 0, false); /* the publisher restarted */
    const char    *want_stream[] = {"cam_front", "cam_front2", "cam_front", "cam_front2"};
    const uint64_t want_seq[]    = {10, 3, 11, 0};
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL_FATAL(qp_sub_recv(sub, &d, WAIT_MS, &err), QP_OK);
        CU_ASSERT_STRING_EQUAL(d.header.stream, want_stream[i]);
        CU_ASSERT_EQUAL(d.header.seq, want_seq[i]);
        CU_ASSERT_EQUAL(d.n_missing, 0);
    }
    struct qp_sub_stats        s;
    struct qp_sub_stream_stats ss;
    qp_sub_stats(sub, &s);
    CU_ASSERT_EQUAL(s.n_received, 4);
    CU_ASSERT_EQUAL(s.n_filtered, 0);
    CU_ASSERT_EQUAL(s.n_gaps, 0);
    CU_ASSERT_EQUAL(s.n_resets, 1);
    CU_ASSERT_EQUAL_FATAL(s.n_streams, 2);
    CU_ASSERT_FATAL(qp_sub_stream_stats(sub, 1, &ss));
    CU_ASSERT_STRING_EQUAL(ss.stream, "cam_front2");
    CU_ASSERT_EQUAL(ss.n_received, 2);
    CU_ASSERT_EQUAL(ss.n_resets, 1);
    CU_ASSERT_EQUAL(ss.last_seq, 0);

    qp_sub_free(sub);
    zmq_close(xpub);
}

static void test_sub_refuses_bad_options(void)
{
    struct qp_sub_opts o = QP_SUB_OPTS_DEFAULT;
    struct qp_sub     *s = NULL;
    struct qp_err      err;
    const char *const  bad[] = {"cam_front", "cam\tside"};
    o.endpoint               = "ipc:///nonexistent/never";
    o.streams                = bad;
    o.n_streams              = 2;
    CU_ASSERT_EQUAL(qp_sub_new(&o, &s, &err), QP_E_INVAL);
    CU_ASSERT(strstr(err.msg, "stream 1") != NULL);
    CU_ASSERT_PTR_NULL(s);
    o.n_streams = QP_SUB_MAX_STREAMS + 1;
    CU_ASSERT_EQUAL(qp_sub_new(&o, &s, &err), QP_E_INVAL);
    qp_sub_free(NULL);
}

/* ===== Control ===== */

struct ctl_server {
    void *sock;
    int   n_requests;
    int   n_answered;
    char  paths[8][64]; /* engine paths the requests carried */
    int   kinds[8];
};

static void *ctl_server_main(void *arg)
{
    struct ctl_server      *s   = arg;
    struct qp_wire_decoder *dec = NULL;
    static uint8_t          in[4096], out[4096];
    static const char       json[] = "{\"streams\":{\"cam_front\":{\"received\":12}}}";
    if (qp_wire_decoder_new(sizeof in, 0, &dec, NULL) != QP_OK)
        return NULL;
    for (int i = 0; i < s->n_requests && i < 8; i++) {
        int n = zmq_recv(s->sock, in, sizeof in, 0);
        if (n < 0)
            break;
        struct qp_wire_control_request req;
        struct qp_wire_control_reply   rep = {.ok = true};
        if (qp_wire_decode_control_request(dec, in, (size_t)n, &req, NULL, NULL) != QP_OK)
            break;
        s->kinds[i] = (int)req.kind;
        snprintf(s->paths[i], sizeof s->paths[i], "%.63s", req.engine_path);
        rep.kind = req.kind;
        switch (req.kind) {
        case QP_WIRE_CONTROL_PING:
            rep.server_time_ns = 42;
            snprintf(rep.version, sizeof rep.version, "0.1.0");
            break;
        case QP_WIRE_CONTROL_STATUS:
            rep.state     = QP_WIRE_SERVER_SERVING;
            rep.uptime_ns = 5000000000ull;
            rep.n_streams = 6;
            snprintf(rep.model, sizeof rep.model, "yolox_nano_416");
            snprintf(rep.engine_id, sizeof rep.engine_id, "sha256:0123abcd");
            snprintf(rep.backend, sizeof rep.backend, "cpu");
            snprintf(rep.version, sizeof rep.version, "0.1.0");
            break;
        case QP_WIRE_CONTROL_STATS:
            rep.stats_json       = json;
            rep.stats_json_bytes = sizeof json - 1;
            if (i == s->n_requests - 1)
                rep.kind = QP_WIRE_CONTROL_PING; /* the last one: a reply of the wrong kind */
            break;
        case QP_WIRE_CONTROL_RELOAD:
            if (req.engine_path[0]) {
                rep.ok = false;
                snprintf(rep.error, sizeof rep.error, "cannot open %.400s", req.engine_path);
            } else {
                snprintf(rep.model, sizeof rep.model, "nanodet_m_416");
                snprintf(rep.engine_id, sizeof rep.engine_id, "sha256:4567");
            }
            break;
        default:
            break;
        }
        size_t len = 0;
        if (qp_wire_encode_control_reply(&rep, out, sizeof out, &len, NULL) != QP_OK ||
            zmq_send(s->sock, out, len, 0) < 0)
            break;
        s->n_answered++;
    }
    qp_wire_decoder_free(dec);
    return NULL;
}

static void test_ctl_requests(void)
{
    char                ep[300];
    struct qp_err       err;
    struct qp_ctl_reply r;
    struct ctl_server   srv = {.n_requests = 6};
    srv.sock                = raw_socket(ZMQ_REP, endpoint("ctl", ep, sizeof ep), true, 0);
    pthread_t th;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, ctl_server_main, &srv), 0);

    CU_ASSERT_EQUAL(qp_ctl_request(ep, QP_CTL_KIND_PING, NULL, WAIT_MS, &r, &err), QP_OK);
    CU_ASSERT(r.ok);
    CU_ASSERT_EQUAL(r.kind, QP_CTL_KIND_PING);
    CU_ASSERT_EQUAL(r.server_time_ns, 42);
    CU_ASSERT_STRING_EQUAL(r.version, "0.1.0");
    qp_ctl_reply_fini(&r);

    CU_ASSERT_EQUAL(qp_ctl_request(ep, QP_CTL_KIND_STATUS, NULL, WAIT_MS, &r, &err), QP_OK);
    CU_ASSERT(r.ok);
    CU_ASSERT_EQUAL(r.state, QP_SERVER_STATE_SERVING);
    CU_ASSERT_STRING_EQUAL(qp_server_state_name(r.state), "serving");
    CU_ASSERT_STRING_EQUAL(r.model, "yolox_nano_416");
    CU_ASSERT_STRING_EQUAL(r.engine_id, "sha256:0123abcd");
    CU_ASSERT_STRING_EQUAL(r.backend, "cpu");
    CU_ASSERT_EQUAL(r.uptime_ns, 5000000000ull);
    CU_ASSERT_EQUAL(r.n_streams, 6);
    CU_ASSERT_PTR_NULL(r.stats_json);
    qp_ctl_reply_fini(&r);

    CU_ASSERT_EQUAL(qp_ctl_request(ep, QP_CTL_KIND_STATS, NULL, WAIT_MS, &r, &err), QP_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.stats_json);
    CU_ASSERT_STRING_EQUAL(r.stats_json, "{\"streams\":{\"cam_front\":{\"received\":12}}}");
    CU_ASSERT_EQUAL(r.stats_json_bytes, strlen(r.stats_json));
    qp_ctl_reply_fini(&r);
    CU_ASSERT_PTR_NULL(r.stats_json);

    CU_ASSERT_EQUAL(qp_ctl_request(ep, QP_CTL_KIND_RELOAD, NULL, WAIT_MS, &r, &err), QP_OK);
    CU_ASSERT(r.ok);
    CU_ASSERT_STRING_EQUAL(r.model, "nanodet_m_416");
    CU_ASSERT_STRING_EQUAL(r.engine_id, "sha256:4567");
    qp_ctl_reply_fini(&r);

    CU_ASSERT_EQUAL(qp_ctl_request(ep, QP_CTL_KIND_RELOAD, "missing.qpe", WAIT_MS, &r, &err),
                    QP_OK);
    CU_ASSERT(!r.ok);
    CU_ASSERT_STRING_EQUAL(r.error, "cannot open missing.qpe");
    qp_ctl_reply_fini(&r);

    CU_ASSERT_EQUAL(qp_ctl_request(ep, QP_CTL_KIND_STATS, NULL, WAIT_MS, &r, &err), QP_E_FORMAT);
    CU_ASSERT(strstr(err.msg, "ping reply") && strstr(err.msg, ep));
    qp_ctl_reply_fini(&r);

    pthread_join(th, NULL);
    CU_ASSERT_EQUAL(srv.n_answered, 6);
    CU_ASSERT_EQUAL(srv.kinds[0], QP_WIRE_CONTROL_PING);
    CU_ASSERT_EQUAL(srv.kinds[1], QP_WIRE_CONTROL_STATUS);
    CU_ASSERT_EQUAL(srv.kinds[2], QP_WIRE_CONTROL_STATS);
    CU_ASSERT_EQUAL(srv.kinds[3], QP_WIRE_CONTROL_RELOAD);
    CU_ASSERT_STRING_EQUAL(srv.paths[3], "");
    CU_ASSERT_STRING_EQUAL(srv.paths[4], "missing.qpe");
    zmq_close(srv.sock);
}

/* Nobody serves the endpoint, or a server takes the request and never
 * answers: both are a timeout error within the bound, not a hang. */
static void test_ctl_timeout(void)
{
    char                ep[300], ep2[300];
    struct qp_err       err;
    struct qp_ctl_reply r;
    endpoint("ctl_nobody", ep, sizeof ep);
    int64_t        t0 = now_ms();
    enum qp_status st = qp_ctl_request(ep, QP_CTL_KIND_PING, NULL, 200, &r, &err);
    int64_t        dt = now_ms() - t0;
    printf("\n  no server: %s after %lld ms: %s\n", qp_status_str(st), (long long)dt, err.msg);
    CU_ASSERT_EQUAL(st, QP_E_AGAIN);
    CU_ASSERT(dt >= 199 && dt < 450);
    CU_ASSERT(strstr(err.msg, "no reply within 200 ms") && strstr(err.msg, ep));

    void *silent = raw_socket(ZMQ_ROUTER, endpoint("ctl_silent", ep2, sizeof ep2), true, 0);
    t0           = now_ms();
    st           = qp_ctl_request(ep2, QP_CTL_KIND_STATUS, NULL, 200, &r, &err);
    dt           = now_ms() - t0;
    CU_ASSERT_EQUAL(st, QP_E_AGAIN);
    CU_ASSERT(dt >= 199 && dt < 450);
    char req[64];
    CU_ASSERT(zmq_recv(silent, req, sizeof req, ZMQ_DONTWAIT) > 0); /* it did arrive */
    zmq_close(silent);

    CU_ASSERT_EQUAL(qp_ctl_request(ep, QP_CTL_KIND_NONE, NULL, 200, &r, &err), QP_E_INVAL);
    CU_ASSERT_EQUAL(qp_ctl_request(ep, QP_CTL_KIND_PING, NULL, 0, &r, &err), QP_E_INVAL);
    CU_ASSERT_EQUAL(qp_ctl_request(NULL, QP_CTL_KIND_PING, NULL, 10, &r, &err), QP_E_INVAL);
    qp_ctl_reply_fini(&r);
}

static CU_TestInfo pub_tests[] = {
    {"PUB: a 1280x720 BGR8 frame arrives decodable, seq +1", test_pub_bind},
    {"PUSH: frames arrive decodable, seq from 0", test_pub_push},
    {"PUSH with no peer: drops at the mark, never blocks", test_pub_push_no_peer},
    {"PUB with a stalled subscriber: drops counted, seen as a gap", test_pub_slow_subscriber},
    {"bad options and frames are refused, use no seq", test_pub_refuses_bad_input},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo sub_tests[] = {
    {"exact filter, gap, malformed then valid", test_sub_filter_gap_malformed},
    {"all streams tracked apart, restart", test_sub_all_streams},
    {"bad options are refused", test_sub_refuses_bad_options},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo ctl_tests[] = {
    {"ping, status, stats, reload, wrong kind", test_ctl_requests},
    {"no server: timeout error within the bound", test_ctl_timeout},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"client/pub", suite_init, suite_cleanup, NULL, NULL, pub_tests},
    {"client/sub", suite_init, suite_cleanup, NULL, NULL, sub_tests},
    {"client/ctl", suite_init, suite_cleanup, NULL, NULL, ctl_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
