// SPDX-License-Identifier: Apache-2.0
/*
 * test_server_shm.c - qperceptd's shared-memory transport end to end (env
 * QP_SERVER, YOLOX-Nano and a nuScenes frame from QP_MIRROR): one server on
 * ipc:// endpoints in a fresh temp dir with four PULL streams:
 *   cam_shm     transport = shm: a qp_pub with shm_slots = 4;
 *   cam_inline  inline: the same image's pixels in the message;
 *   cam_hand    transport = shm: Frames made here, their descriptors
 *               pointing into a ring this test writes (stale, missing,
 *               out of range, truncated under the server);
 *   cam_slow    transport = shm, Frames made here as for cam_hand; the
 *               server runs with $QPERCEPTD_FAULT_SHM_PAUSE = cam_slow:MS,
 *               so the worker, having pre-processed a cam_slow frame in
 *               place, waits MS ms before it re-checks the slot.
 * It checks:
 *   - RGB8 frames of the image through the shm ring, and its JPEG file
 *     through the ring, get the same detections as the inline RGB8 frame;
 *     the server's frame tap (a frame subscriber, qp_sub_recv_frame) gets
 *     each of them after its detections, pixels inline and byte for byte;
 *   - a descriptor whose slot was rewritten since (stale generation) is
 *     counted shm_torn and its detections are never published; one naming
 *     a missing segment, one naming a slot the ring does not have, and one
 *     into a segment truncated after the server mapped it (SIGBUS in the
 *     worker's in-place read, caught) are counted shm_unreadable, and the
 *     server lives on;
 *   - a cam_slow slot rewritten while the worker holds its frame (after
 *     pre-processing, before the re-check) is counted shm_torn and never
 *     published; a cam_slow segment truncated to nothing at that moment
 *     (SIGBUS in the re-check) is counted shm_unreadable, the server lives
 *     on, and a new ring of the stream is served;
 *     the Detections' DropCounters carry shm_torn, and malformed for the
 *     unreadable ones;
 *   - valid frames keep being served after all of that (the truncated ring
 *     is mapped again once whole);
 *   - once idle, received = published + dropped per stream;
 *   - SIGTERM ends it with exit status 0.
 * Every wait is bounded. Without QP_SERVER or the mirror's files: skipped.
 */
#define _GNU_SOURCE /* mkdtemp, kill, shm_open */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "clients/lib/shm_ring.h"
#include "core/json.h"
#include "proto/wire.h"
#include "qp_test.h"
#include "qpercept/client.h"
#include "qpercept/detect.h"
#include "server_run.h"

#define MAX_FRAME_BYTES (8u << 20)
#define IMAGE "data/driving/nuscenes/n015-2018-07-24-11-22-45+0800__CAM_FRONT__1532402927612460.jpg"
#define MAX_SEEN 256  /* cam_hand / cam_slow seqs whose Detections arrived */
#define PAUSE_MS 1500 /* the worker's wait before re-checking a cam_slow slot */

enum { SHM, INL, HAND, SLOW, N_STREAMS };
static const char *const names[N_STREAMS] = {"cam_shm", "cam_inline", "cam_hand", "cam_slow"};

static struct {
    bool               ok; /* data found */
    char               model[1024], image[1024], dir[256], cfg[300], log[300];
    char               ctl[300], det[300], tap_ep[300], ep[N_STREAMS][300];
    pid_t              pid;
    struct qp_image    img;
    size_t             img_bytes;
    uint8_t           *jpeg;
    size_t             jpeg_bytes;
    struct qp_pub     *pub[2];                 /* SHM, INL */
    struct qp_sub     *sub, *tap;              /* detections; the frame tap's frames */
    void              *zctx, *sock[N_STREAMS]; /* raw PUSH into cam_hand, cam_slow */
    struct qp_shm_ring hand, slow;
    uint64_t           raw_seq[N_STREAMS];
    uint64_t           seen[N_STREAMS][MAX_SEEN]; /* cam_hand, cam_slow seqs published */
    int                n_seen[N_STREAMS];
} T;

static struct qp_detections_in msg, ref; /* large: not on the stack */

static bool write_config(void)
{
    FILE *f = fopen(T.cfg, "w");
    if (!f)
        return false;
    fprintf(f,
            "[server]\ncontrol_endpoint = %s\npublish_endpoint = %s\nmetrics_port = 0\n"
            "frame_tap_endpoint = %s\n"
            "max_delay_us = 20000\nmax_age_ms = 60000\nmax_frame_bytes = %u\n"
            "log_level = info\n[engine]\npath = %s\nwarmup = 1\nscore_min = 0.25\n"
            "iou = 0.45\nmax_dets = 100\nbatch_sizes = 1,2,3\n",
            T.ctl, T.det, T.tap_ep, MAX_FRAME_BYTES, T.model);
    for (int k = 0; k < N_STREAMS; k++)
        fprintf(f, "[stream.%s]\nendpoint = %s\nmode = pull\ntransport = %s\n", names[k], T.ep[k],
                k == INL ? "inline" : "shm");
    return fclose(f) == 0;
}

static int suite_init(void)
{
    char tmpl[] = "/tmp/qp_test_server_shm_XXXXXX";
    if (!getenv("QP_SERVER") ||
        !qp_test_mirror_file("models/yolox_nano_416_coco.onnx", T.model, sizeof T.model) ||
        !qp_test_mirror_file(IMAGE, T.image, sizeof T.image))
        return 0;
    if (!mkdtemp(tmpl))
        return 1;
    snprintf(T.dir, sizeof T.dir, "%s", tmpl);
    snprintf(T.cfg, sizeof T.cfg, "%s/qperceptd.conf", T.dir);
    snprintf(T.log, sizeof T.log, "%s/qperceptd.log", T.dir);
    snprintf(T.ctl, sizeof T.ctl, "ipc://%s/control", T.dir);
    snprintf(T.det, sizeof T.det, "ipc://%s/detections", T.dir);
    snprintf(T.tap_ep, sizeof T.tap_ep, "ipc://%s/tap", T.dir);
    for (int k = 0; k < N_STREAMS; k++)
        snprintf(T.ep[k], sizeof T.ep[k], "ipc://%s/%s", T.dir, names[k]);
    struct qp_err err = {{0}};
    if (qp_image_load(T.image, &T.img, &err) != QP_OK ||
        !srv_read_file(T.image, &T.jpeg, &T.jpeg_bytes) || !write_config())
        return 1;
    T.img_bytes = (size_t)T.img.stride * (size_t)T.img.height;
    T.ok        = true;
    return 0;
}

static int suite_clean(void)
{
    srv_kill(&T.pid);
    for (int k = 0; k < 2; k++)
        qp_pub_free(T.pub[k]);
    qp_sub_free(T.sub);
    qp_sub_free(T.tap);
    for (int k = 0; k < N_STREAMS; k++)
        if (T.sock[k])
            zmq_close(T.sock[k]);
    if (T.zctx)
        zmq_ctx_term(T.zctx);
    qp_shm_ring_fini(&T.hand);
    qp_shm_ring_fini(&T.slow);
    qp_image_free(&T.img);
    free(T.jpeg);
    if (T.dir[0]) {
        for (int k = 0; k < N_STREAMS; k++)
            unlink(T.ep[k] + 6); /* ipc:// */
        unlink(T.ctl + 6);
        unlink(T.det + 6);
        unlink(T.tap_ep + 6);
        unlink(T.cfg);
        if (unlink(T.log) == 0)
            rmdir(T.dir);
    }
    return 0;
}

/* ===== Helpers ===== */

static int stream_of(const char *s)
{
    for (int k = 0; k < N_STREAMS; k++)
        if (strcmp(s, names[k]) == 0)
            return k;
    return -1;
}

static struct qp_detections_in last[N_STREAMS]; /* each stream's latest Detections */
static bool                    have[N_STREAMS];

/* Wait (bounded) for the Detections of stream k, seq into msg. Messages of
 * other streams are kept (a batch publishes its frames in stream order). */
static bool recv_for(int k, uint64_t seq, int timeout_ms)
{
    for (int64_t end = srv_now_ms() + timeout_ms;;) {
        if (have[k] && last[k].header.seq == seq) {
            msg = last[k];
            return true;
        }
        if (srv_now_ms() >= end)
            return false;
        struct qp_err err = {{0}};
        if (qp_sub_recv(T.sub, &msg, 200, &err) != QP_OK)
            continue;
        int s = stream_of(msg.header.stream);
        CU_ASSERT_FATAL(s >= 0);
        if ((s == HAND || s == SLOW) && T.n_seen[s] < MAX_SEEN)
            T.seen[s][T.n_seen[s]++] = msg.header.seq;
        last[s] = msg;
        have[s] = true;
    }
}

/* Publish the image through publisher k (SHM or INL), as RGB8 or its JPEG
 * file; the seq it used. */
static uint64_t send_pub(int k, bool jpeg)
{
    struct qp_pub_stats ps;
    struct qp_err       err = {{0}};
    struct qp_frame_out f   = {.width        = (uint32_t)T.img.width,
                               .height       = (uint32_t)T.img.height,
                               .stride       = jpeg ? 0 : (uint32_t)T.img.stride,
                               .format       = jpeg ? QP_FRAME_FORMAT_JPEG : QP_FRAME_FORMAT_RGB8,
                               .pixels       = jpeg ? (const void *)T.jpeg : T.img.data,
                               .pixels_bytes = jpeg ? T.jpeg_bytes : T.img_bytes};
    qp_pub_stats(T.pub[k], &ps);
    enum qp_status st = qp_pub_send(T.pub[k], &f, &err);
    if (st != QP_OK)
        fprintf(stderr, "send %s: %s\n", names[k], err.msg);
    CU_ASSERT_EQUAL(st, QP_OK);
    return ps.next_seq;
}

/* A Frame of the image whose pixels descriptor d names, sent into stream k
 * (HAND, SLOW) as a publisher in another language would; its seq. */
static uint64_t send_raw(int k, const struct qp_wire_shm_slot *d)
{
    static uint8_t       buf[4096];
    size_t               len = 0;
    struct qp_wire_frame f   = {.width  = (uint32_t)T.img.width,
                                .height = (uint32_t)T.img.height,
                                .stride = (uint32_t)T.img.stride,
                                .format = QP_WIRE_PIXEL_RGB8,
                                .data   = QP_WIRE_DATA_SHM,
                                .shm    = *d};
    struct timespec      ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (!T.zctx)
        T.zctx = zmq_ctx_new();
    if (!T.sock[k]) {
        int linger = 1000;
        T.sock[k]  = zmq_socket(T.zctx, ZMQ_PUSH);
        zmq_setsockopt(T.sock[k], ZMQ_LINGER, &linger, sizeof linger);
        CU_ASSERT_FATAL(zmq_connect(T.sock[k], T.ep[k]) == 0);
    }
    snprintf(f.header.stream, sizeof f.header.stream, "%s", names[k]);
    f.header.seq        = ++T.raw_seq[k];
    f.header.capture_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    CU_ASSERT_FATAL(qp_wire_validate_frame(&f, NULL, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_wire_encode_frame(&f, buf, sizeof buf, &len, NULL) == QP_OK);
    CU_ASSERT(zmq_send(T.sock[k], names[k], strlen(names[k]), ZMQ_SNDMORE) >= 0);
    CU_ASSERT(zmq_send(T.sock[k], buf, len, 0) >= 0);
    return f.header.seq;
}

static uint64_t send_hand(const struct qp_wire_shm_slot *d)
{
    return send_raw(HAND, d);
}

/* msg's detections equal ref's (the inline frame's). */
static void same_as_ref(void)
{
    CU_ASSERT_EQUAL(msg.status, QP_DET_STATUS_OK);
    CU_ASSERT_EQUAL_FATAL(msg.n_detections, ref.n_detections);
    for (uint32_t i = 0; i < msg.n_detections; i++) {
        const struct qp_detection_in *g = &msg.detections[i], *w = &ref.detections[i];
        CU_ASSERT_EQUAL(g->class_id, w->class_id);
        CU_ASSERT(fabsf(g->score - w->score) <= 1e-4f);
        CU_ASSERT(fabsf(g->x0 - w->x0) <= 1e-3f && fabsf(g->y0 - w->y0) <= 1e-3f &&
                  fabsf(g->x1 - w->x1) <= 1e-3f && fabsf(g->y1 - w->y1) <= 1e-3f);
    }
}

/* The stats JSON; the caller frees the document and reply. */
static const struct qp_json *stats(struct qp_json_doc **doc, struct qp_ctl_reply *r)
{
    return srv_stats(T.ctl, doc, r);
}

/* streams.NAME.a[.b] as a number; -1 when absent. */
static double snum(const struct qp_json *root, int k, const char *a, const char *b)
{
    const struct qp_json *v = qp_json_get(qp_json_get(qp_json_get(root, "streams"), names[k]), a);
    if (b)
        v = qp_json_get(v, b);
    return v && v->type == QP_JSON_NUMBER ? v->v.num : -1;
}

/* Stream k's counts in the server's stats now: shm_torn and shm_unreadable
 * drops, received and published. */
static void expect_shm_counts(int k, double torn, double unreadable, double received,
                              double published)
{
    struct qp_json_doc   *doc  = NULL;
    struct qp_ctl_reply   r    = {0};
    const struct qp_json *root = stats(&doc, &r);
    CU_ASSERT_FATAL(root != NULL);
    CU_ASSERT_EQUAL(snum(root, k, "drops", "shm_torn"), torn);
    CU_ASSERT_EQUAL(snum(root, k, "drops", "shm_unreadable"), unreadable);
    CU_ASSERT_EQUAL(snum(root, k, "received", NULL), received);
    CU_ASSERT_EQUAL(snum(root, k, "published", NULL), published);
    qp_json_free(doc);
    qp_ctl_reply_fini(&r);
}

/* Wait (bounded) until stream k has received n messages. */
static bool received_at_least(int k, double n)
{
    for (int64_t end = srv_now_ms() + 20000; srv_now_ms() < end; srv_sleep_ms(50)) {
        struct qp_json_doc   *doc  = NULL;
        struct qp_ctl_reply   r    = {0};
        const struct qp_json *root = stats(&doc, &r);
        double                got  = root ? snum(root, k, "received", NULL) : -1;
        qp_json_free(doc);
        qp_ctl_reply_fini(&r);
        if (got >= n)
            return true;
    }
    return false;
}

/* Wait (bounded) until streams.NAME.a[.b] of stream k is at least n. */
static bool stat_at_least(int k, const char *a, const char *b, double n)
{
    for (int64_t end = srv_now_ms() + 30000; srv_now_ms() < end; srv_sleep_ms(20)) {
        struct qp_json_doc   *doc  = NULL;
        struct qp_ctl_reply   r    = {0};
        const struct qp_json *root = stats(&doc, &r);
        double                got  = root ? snum(root, k, a, b) : -1;
        qp_json_free(doc);
        qp_ctl_reply_fini(&r);
        if (got >= n)
            return true;
    }
    return false;
}

static bool log_has(const char *what)
{
    uint8_t *text = NULL;
    size_t   n    = 0;
    bool     has  = false;
    if (srv_read_file(T.log, &text, &n)) {
        uint8_t *z = realloc(text, n + 1);
        if (z) {
            text    = z;
            text[n] = 0;
            has     = strstr((const char *)text, what) != NULL;
        }
    }
    free(text);
    return has;
}

/* ===== Tests ===== */

/* The frame tap delivers stream k's frame seq with exactly these pixels
 * (other frames on the way are passed over). */
static bool tapped(int k, uint64_t seq, const void *px, size_t n)
{
    struct qp_frame_in f;
    struct qp_err      err = {{0}};
    for (int64_t end = srv_now_ms() + 10000; srv_now_ms() < end;) {
        if (qp_sub_recv_frame(T.tap, &f, 200, &err) != QP_OK)
            continue;
        if (strcmp(f.header.stream, names[k]) != 0 || f.header.seq < seq)
            continue;
        return f.header.seq == seq && f.n_bytes == n && memcmp(f.pixels, px, n) == 0 &&
               f.width == (uint32_t)T.img.width && f.height == (uint32_t)T.img.height;
    }
    return false;
}

static void test_shm_equals_inline(void)
{
    struct qp_err err = {{0}};
    if (!T.ok)
        QP_TEST_SKIP("QP_SERVER, YOLOX-Nano or the nuScenes frame missing");
    QP_TEST_RAN();
    char pause[64];
    snprintf(pause, sizeof pause, "%s:%d", names[SLOW], PAUSE_MS);
    setenv("QPERCEPTD_FAULT_SHM_PAUSE", pause, 1);
    bool started = srv_start(&T.pid, T.cfg, T.log, T.ctl);
    unsetenv("QPERCEPTD_FAULT_SHM_PAUSE");
    CU_ASSERT_FATAL(started);
    for (int k = 0; k < 2; k++) {
        struct qp_pub_opts o = QP_PUB_OPTS_DEFAULT;
        o.endpoint           = T.ep[k];
        o.stream             = names[k];
        o.kind               = QP_PUB_KIND_PUSH;
        o.max_frame_bytes    = MAX_FRAME_BYTES;
        o.shm_slots          = k == SHM ? 4 : 0;
        if (qp_pub_new(&o, &T.pub[k], &err) != QP_OK)
            fprintf(stderr, "publisher %s: %s\n", names[k], err.msg);
        CU_ASSERT_FATAL(T.pub[k] != NULL);
    }
    struct qp_sub_opts so = QP_SUB_OPTS_DEFAULT;
    so.endpoint           = T.det;
    CU_ASSERT_FATAL(qp_sub_new(&so, &T.sub, &err) == QP_OK);
    so.endpoint        = T.tap_ep;
    so.max_frame_bytes = MAX_FRAME_BYTES;
    CU_ASSERT_FATAL(qp_sub_new(&so, &T.tap, &err) == QP_OK);
    /* slow joiner: our subscription is live once one Detections arrives */
    bool primed = false;
    for (int i = 0; i < 20 && !primed; i++)
        primed = recv_for(INL, send_pub(INL, false), 3000);
    CU_ASSERT_FATAL(primed);
    ref = msg;
    CU_ASSERT_FATAL(ref.n_detections >= 3); /* cars, people */

    /* more rounds than the ring has slots: every slot is used, some twice */
    for (int round = 0; round < 6; round++) {
        uint64_t si = send_pub(INL, false), ss = send_pub(SHM, false);
        CU_ASSERT_FATAL(recv_for(INL, si, 60000));
        same_as_ref();
        CU_ASSERT_FATAL(recv_for(SHM, ss, 60000));
        same_as_ref();
        CU_ASSERT_EQUAL(msg.drops.shm_torn, 0);
        CU_ASSERT_EQUAL(msg.drops.malformed, 0);
        if (round > 0) /* the tap's subscription is surely live by now */
            CU_ASSERT(tapped(SHM, ss, T.img.data, T.img_bytes));
    }
    /* the JPEG file through the ring: decoded by the server as qp_image_load did here */
    uint64_t sj = send_pub(SHM, true);
    CU_ASSERT_FATAL(recv_for(SHM, sj, 60000));
    same_as_ref();
    CU_ASSERT(tapped(SHM, sj, T.jpeg, T.jpeg_bytes));
}

static void test_torn_and_unreadable(void)
{
    struct qp_err           err = {{0}};
    struct qp_wire_shm_slot stale, cur, d;
    if (!T.ok || !T.sub || !srv_alive(T.pid))
        QP_TEST_SKIP("no server running (see the earlier tests)");
    QP_TEST_RAN();
    CU_ASSERT_FATAL(qp_shm_ring_init(&T.hand, names[HAND], 2, T.img_bytes, 0, &err) == QP_OK);
    qp_shm_ring_write(&T.hand, T.img.data, T.img_bytes, &stale); /* slot 0, generation 2 */
    qp_shm_ring_write(&T.hand, T.img.data, T.img_bytes, &d);     /* slot 1 */
    qp_shm_ring_write(&T.hand, T.img.data, T.img_bytes, &cur);   /* slot 0, generation 4 */
    CU_ASSERT_FATAL(stale.slot == cur.slot && stale.generation == 2 && cur.generation == 4);

    /* the slot was rewritten behind the server's back: torn, never published */
    uint64_t torn_seq = send_hand(&stale);
    uint64_t ok_seq   = send_hand(&cur);
    CU_ASSERT_FATAL(recv_for(HAND, ok_seq, 60000));
    same_as_ref();
    CU_ASSERT_EQUAL(msg.drops.shm_torn, 1);

    /* a segment that does not exist; a slot the ring does not have */
    struct qp_wire_shm_slot none = cur, far = cur;
    snprintf(none.segment, sizeof none.segment, "/qpercept.none.%ld", (long)getpid());
    far.slot          = 5;
    uint64_t none_seq = send_hand(&none);
    uint64_t far_seq  = send_hand(&far); /* maps the hand ring again */
    CU_ASSERT_FATAL(received_at_least(HAND, 4));

    /* the ring shrinks to its header page after the server mapped it: the
     * loop still reads the slot's generation there, the worker's in-place
     * read of the pixels faults (SIGBUS) and the server goes on. A second
     * later, so the log line is not held back by the one-a-second limit;
     * the drop is counted when the worker's job ends. */
    srv_sleep_ms(1100);
    int fd = shm_open(T.hand.name, O_RDWR, 0);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(ftruncate(fd, 4096) == 0);
    uint64_t bus_seq = send_hand(&d);
    CU_ASSERT_FATAL(received_at_least(HAND, 5));
    CU_ASSERT_FATAL(stat_at_least(HAND, "drops", "shm_unreadable", 3));
    CU_ASSERT_FATAL(srv_alive(T.pid));
    CU_ASSERT(log_has("bytes in place: the segment shrank"));

    /* whole again: mapped anew, served */
    CU_ASSERT_FATAL(ftruncate(fd, (off_t)T.hand.bytes) == 0);
    close(fd);
    qp_shm_ring_write(&T.hand, T.img.data, T.img_bytes, &d);
    uint64_t again = send_hand(&d);
    CU_ASSERT_FATAL(recv_for(HAND, again, 60000));
    same_as_ref();
    CU_ASSERT_EQUAL(msg.drops.shm_torn, 1);
    CU_ASSERT_EQUAL(msg.drops.malformed, 3); /* shm_unreadable folds into malformed */

    /* none of the dropped frames' detections ever appeared */
    for (int i = 0; i < T.n_seen[HAND]; i++)
        CU_ASSERT(T.seen[HAND][i] != torn_seq && T.seen[HAND][i] != none_seq &&
                  T.seen[HAND][i] != far_seq && T.seen[HAND][i] != bus_seq);

    expect_shm_counts(HAND, 1, 3, 6, 2);
}

/* Send a cam_slow frame of slot d and wait (bounded) until the worker holds
 * it (stats: in_flight): it has pre-processed it, or is about to, and
 * re-checks the slot PAUSE_MS after that. Its seq. */
static uint64_t send_slow_held(const struct qp_wire_shm_slot *d)
{
    uint64_t seq = send_raw(SLOW, d);
    CU_ASSERT_FATAL(stat_at_least(SLOW, "in_flight", NULL, 1));
    return seq;
}

static void test_rewritten_or_shrunk_while_read(void)
{
    struct qp_err           err = {{0}};
    struct qp_wire_shm_slot d, other;
    if (!T.ok || !T.sub || !srv_alive(T.pid))
        QP_TEST_SKIP("no server running (see the earlier tests)");
    QP_TEST_RAN();
    CU_ASSERT_FATAL(qp_shm_ring_init(&T.slow, names[SLOW], 2, T.img_bytes, 0, &err) == QP_OK);

    /* untouched while held: published as the inline frame */
    qp_shm_ring_write(&T.slow, T.img.data, T.img_bytes, &d);
    uint64_t ok1 = send_raw(SLOW, &d);
    CU_ASSERT_FATAL(recv_for(SLOW, ok1, 60000));
    same_as_ref();
    CU_ASSERT_EQUAL(msg.drops.shm_torn, 0);

    /* rewritten while held: both slots written again, so d's slot has a
     * new generation before the worker re-checks it */
    qp_shm_ring_write(&T.slow, T.img.data, T.img_bytes, &d);
    uint64_t torn_seq = send_slow_held(&d);
    qp_shm_ring_write(&T.slow, T.img.data, T.img_bytes, &other);
    qp_shm_ring_write(&T.slow, T.img.data, T.img_bytes, &other);
    CU_ASSERT_FATAL(other.slot == d.slot && other.generation == d.generation + 2);
    CU_ASSERT_FATAL(stat_at_least(SLOW, "drops", "shm_torn", 1));
    srv_sleep_ms(1100); /* past the one-line-a-second limit */
    CU_ASSERT(log_has("while read in place: the publisher reused the slot"));

    /* truncated to nothing while held: the re-check's load of the
     * generation faults (SIGBUS, caught); counted, the server lives on */
    qp_shm_ring_write(&T.slow, T.img.data, T.img_bytes, &d);
    uint64_t bus_seq = send_slow_held(&d);
    int      fd      = shm_open(T.slow.name, O_RDWR, 0);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(ftruncate(fd, 0) == 0);
    close(fd);
    CU_ASSERT_FATAL(stat_at_least(SLOW, "drops", "shm_unreadable", 1));
    CU_ASSERT_FATAL(srv_alive(T.pid));
    CU_ASSERT(log_has("SIGBUS while reading"));

    /* the camera restarts with a new ring: mapped, served */
    qp_shm_ring_fini(&T.slow); /* unmaps without touching the truncated pages */
    CU_ASSERT_FATAL(qp_shm_ring_init(&T.slow, names[SLOW], 2, T.img_bytes, 0, &err) == QP_OK);
    qp_shm_ring_write(&T.slow, T.img.data, T.img_bytes, &d);
    uint64_t ok2 = send_raw(SLOW, &d);
    CU_ASSERT_FATAL(recv_for(SLOW, ok2, 60000));
    same_as_ref();
    CU_ASSERT_EQUAL(msg.drops.shm_torn, 1);
    CU_ASSERT_EQUAL(msg.drops.malformed, 1); /* shm_unreadable */
    for (int i = 0; i < T.n_seen[SLOW]; i++)
        CU_ASSERT(T.seen[SLOW][i] != torn_seq && T.seen[SLOW][i] != bus_seq);

    expect_shm_counts(SLOW, 1, 1, 4, 2);
}

static void test_still_serving_and_adds_up(void)
{
    if (!T.ok || !T.sub || !srv_alive(T.pid))
        QP_TEST_SKIP("no server running (see the earlier tests)");
    QP_TEST_RAN();
    for (int round = 0; round < 2; round++) {
        uint64_t ss = send_pub(SHM, false), si = send_pub(INL, false);
        CU_ASSERT_FATAL(recv_for(SHM, ss, 60000));
        same_as_ref();
        CU_ASSERT_FATAL(recv_for(INL, si, 60000));
        same_as_ref();
    }
    struct qp_json_doc   *doc  = NULL;
    struct qp_ctl_reply   r    = {0};
    const struct qp_json *root = NULL;
    for (int64_t end = srv_now_ms() + 20000; srv_now_ms() < end; srv_sleep_ms(100)) {
        root       = stats(&doc, &r);
        double sum = 0;
        for (int k = 0; root && k < N_STREAMS; k++)
            sum += snum(root, k, "waiting", NULL);
        if (root && sum == 0)
            break;
        qp_json_free(doc);
        qp_ctl_reply_fini(&r);
        root = NULL;
    }
    CU_ASSERT_FATAL(root != NULL);
    for (int k = 0; k < N_STREAMS; k++) {
        double rec = snum(root, k, "received", NULL), pub = snum(root, k, "published", NULL);
        double drp = snum(root, k, "dropped", NULL);
        CU_ASSERT(rec > 0);
        CU_ASSERT_EQUAL(rec, pub + drp);
        if (k != HAND && k != SLOW)
            CU_ASSERT_EQUAL(drp, 0);
        fprintf(stderr, "\n%s: received %.0f, published %.0f, dropped %.0f", names[k], rec, pub,
                drp);
    }
    CU_ASSERT_EQUAL(snum(root, SHM, "drops", "shm_torn"), 0);
    CU_ASSERT_EQUAL(snum(root, SHM, "drops", "shm_unreadable"), 0);
    qp_json_free(doc);
    qp_ctl_reply_fini(&r);
}

static void test_sigterm_exits_0(void)
{
    if (!T.ok || T.pid <= 0 || !srv_alive(T.pid))
        QP_TEST_SKIP("no server running (see the earlier tests)");
    QP_TEST_RAN();
    CU_ASSERT(srv_stop_clean(&T.pid));
}

static CU_TestInfo tests[] = {
    {"shm ring frames (RGB8, JPEG): detections as inline", test_shm_equals_inline},
    {"stale generation torn; missing, out of range, SIGBUS unreadable", test_torn_and_unreadable},
    {"slot rewritten / segment shrunk while read in place: torn / unreadable",
     test_rewritten_or_shrunk_while_read},
    {"still serving; received = published + dropped", test_still_serving_and_adds_up},
    {"SIGTERM: exit 0", test_sigterm_exits_0},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"server_shm", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
