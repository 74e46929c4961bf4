// SPDX-License-Identifier: Apache-2.0
/*
 * test_replay.c - `qpercept replay` (env QP_CLI) into a real qperceptd
 * (QP_SERVER, YOLOX-Nano and drives from QP_MIRROR), seen by a subscriber:
 *   - the nuScenes six-camera sample plays as six streams named after the
 *     cameras (the frame of another scene in the folder is skipped), each
 *     camera's frame comes back as Detections of its stream;
 *   - a 25 fps drive (udacity_test_video, --end 1.0) at --rate 1: every
 *     frame reaches the server (received = frames sent), and the capture
 *     stamps of the frames that come back keep the drive's timing: frame
 *     k sent k x 40 ms after frame 0, within a tolerance;
 *   - an MCAP recording made here (qpercept.v1.Frame channels for
 *     mcap_front and mcap_back, a foxglove.CompressedImage channel
 *     "/mcap_fox", real JPEGs,
 *     each stream 4 frames 600 ms apart, the streams 150 ms apart): every
 *     frame's Detections come back on its stream, and its capture stamp
 *     (the moment replay sent it) sits at its log time relative to the
 *     first frame (over --rate 0.5), within a tolerance; a garbage .mcap
 *     exits 1;
 *   - a folder with no drive exits 1 naming it; a bad option exits 2.
 * Every wait is bounded. Without QP_SERVER / QP_CLI / the data: skipped.
 */
#define _GNU_SOURCE /* mkdtemp */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clients/mcap/mcap.h"
#include "proto/wire.h"
#include "qp_test.h"
#include "qpercept/client.h"
#include "qpercept/detect.h"
#include "server_run.h"

#define N_CAMS 6
#define FPS 25
#define TOLERANCE_MS 15.0 /* scheduling slack on a shared 2-core machine */

static const char *const cams[N_CAMS] = {"cam_front", "cam_front_left", "cam_front_right",
                                         "cam_back",  "cam_back_left",  "cam_back_right"};

#define MCAP_STREAMS 3
#define MCAP_FRAMES 4
#define MCAP_PERIOD_MS 600 /* the CPU server keeps up on a loaded 2-core machine */
#define MCAP_OFFSET_MS 150
#define MCAP_RATE 0.5 /* --rate: 1.2 s apart, as YOLOX on the CPU under ASan needs */

/* streams of their own: the server drops a seq it has seen on a stream (out of order),
 * and every replay starts its seqs at 0 */
static const char *const mcap_streams[MCAP_STREAMS] = {"mcap_front", "mcap_back", "mcap_fox"};
static struct {
    bool             ok;
    char             model[1024], nuscenes[1024], drive[1024];
    struct srv_paths p;
    pid_t            pid;
    struct qp_sub   *sub;
} T;

static struct qp_detections_in msg; /* large: not on the stack */

static int suite_init(void)
{
    if (!getenv("QP_SERVER") || !getenv("QP_CLI") ||
        !qp_test_mirror_file("models/yolox_nano_416_coco.onnx", T.model, sizeof T.model) ||
        !qp_test_mirror_file("data/driving/nuscenes", T.nuscenes, sizeof T.nuscenes) ||
        !qp_test_mirror_file("data/drives/udacity_test_video", T.drive, sizeof T.drive))
        return 0;
    if (!srv_paths_make(&T.p, "replay"))
        return 1;
    FILE *f = srv_config_open(
        T.p.cfg, &T.p,
        "metrics_port = 0\nwatchdog = off\nmax_delay_us = 100000\nmax_age_ms = 60000\n"
        "max_frame_bytes = 4000000\n");
    if (!f)
        return 1;
    srv_config_engine(f, T.model, "1,6");
    for (int k = 0; k < N_CAMS; k++)
        srv_config_stream(f, &T.p, cams[k], "pull", 0, 0);
    srv_config_stream(f, &T.p, "cam0", "pull", 0, 0);
    for (int k = 0; k < MCAP_STREAMS; k++)
        srv_config_stream(f, &T.p, mcap_streams[k], "pull", 0, 0);
    if (fclose(f) != 0 || !srv_start(&T.pid, T.p.cfg, T.p.log, T.p.ctl))
        return 1;
    struct qp_sub_opts so  = QP_SUB_OPTS_DEFAULT;
    struct qp_err      err = {{0}};
    so.endpoint            = T.p.det;
    so.recv_hwm            = 1000;
    if (qp_sub_new(&so, &T.sub, &err) != QP_OK)
        return 1;
    srv_sleep_ms(300); /* the subscription reaches the server's PUB */
    T.ok = true;
    return 0;
}

static int suite_clean(void)
{
    srv_end(&T.pid, 30000);
    qp_sub_free(T.sub);
    return srv_paths_remove(&T.p) ? 0 : 1;
}

#define NEEDS_ALL()                                                                                \
    do {                                                                                           \
        if (!T.ok)                                                                                 \
            QP_TEST_SKIP("QP_SERVER, QP_CLI, YOLOX-Nano or the drives missing");                   \
        QP_TEST_RAN();                                                                             \
    } while (0)

/* `qpercept replay ARGS` with stderr into the log: its exit status. */
static int replay(const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' replay %s 2>>'%s/replay.log'", getenv("QP_CLI"), args, T.p.dir);
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int cam_of(const char *s)
{
    for (int k = 0; k < N_CAMS; k++)
        if (strcmp(s, cams[k]) == 0)
            return k;
    return -1;
}

static void test_six_cameras(void)
{
    char args[2048];
    int  got[N_CAMS] = {0}, n = 0, dets_front = -1;
    NEEDS_ALL();
    snprintf(args, sizeof args, "'%s' --endpoint 'ipc://%s/%%s' --rate max", T.nuscenes, T.p.dir);
    CU_ASSERT_EQUAL_FATAL(replay(args), 0);
    for (int64_t end = srv_now_ms() + 60000; n < N_CAMS && srv_now_ms() < end;) {
        struct qp_err  err = {{0}};
        enum qp_status rs  = qp_sub_recv(T.sub, &msg, 200, &err);
        if (rs != QP_OK && rs != QP_E_AGAIN)
            fprintf(stderr, "sub: %s\n", err.msg);
        if (rs != QP_OK)
            continue;
        int k = cam_of(msg.header.stream);
        CU_ASSERT_FATAL(k >= 0);
        CU_ASSERT_EQUAL(msg.status, QP_DET_STATUS_OK);
        n += got[k]++ == 0;
        if (k == 0)
            dets_front = (int)msg.n_detections;
    }
    for (int k = 0; k < N_CAMS; k++) {
        if (got[k] != 1)
            fprintf(stderr, "%s: %d results\n", cams[k], got[k]);
        CU_ASSERT_EQUAL(got[k], 1);
    }
    CU_ASSERT(dets_front >= 1);
    struct qp_ctl_reply r = {0};
    struct qp_err       e = {{0}};
    if (n < N_CAMS && qp_ctl_request(T.p.ctl, QP_CTL_KIND_STATS, NULL, 5000, &r, &e) == QP_OK)
        fprintf(stderr, "%s\n", r.stats_json);
    qp_ctl_reply_fini(&r);
}

static void test_drive_timing(void)
{
    char                args[2048];
    struct qp_ctl_reply r = {0};
    struct qp_json_doc *doc;
    NEEDS_ALL();
    snprintf(args, sizeof args, "'%s' --endpoint 'ipc://%s/%%s' --end 1.0", T.drive, T.p.dir);
    int64_t t0 = srv_now_ms();
    CU_ASSERT_EQUAL_FATAL(replay(args), 0);
    int64_t ms = srv_now_ms() - t0;
    CU_ASSERT(ms >= 950); /* 1 s of drive at --rate 1, not faster */
    /* the results: seq k of the drive at k x 40 ms after seq 1 */
    uint64_t first_seq = 0, first_ns = 0;
    int      n = 0, off = 0;
    double   worst = 0;
    for (int64_t end = srv_now_ms() + 30000; srv_now_ms() < end;) {
        struct qp_err  err = {{0}};
        enum qp_status rs  = qp_sub_recv(T.sub, &msg, n ? 2000 : 500, &err);
        if (rs != QP_OK && rs != QP_E_AGAIN)
            fprintf(stderr, "sub: %s\n", err.msg);
        if (rs != QP_OK) {
            if (n)
                break; /* two quiet seconds after the last result: all are in */
            continue;
        }
        if (strcmp(msg.header.stream, "cam0") != 0)
            continue;
        if (!n) {
            first_seq = msg.header.seq;
            first_ns  = msg.header.capture_ns;
        }
        double want = (double)(msg.header.seq - first_seq) * 1000.0 / FPS;
        double got  = (double)(msg.header.capture_ns - first_ns) / 1e6;
        worst       = fmax(worst, fabs(got - want));
        off += fabs(got - want) > TOLERANCE_MS;
        n++;
    }
    fprintf(stderr,
            "\n%d of 26 frames came back; capture stamps off the drive's timing by %.2f ms "
            "at most\n",
            n, worst);
    CU_ASSERT(n >= 2);
    CU_ASSERT_EQUAL(off, 0);
    const struct qp_json *root = srv_stats(T.p.ctl, &doc, &r);
    CU_ASSERT_FATAL(root != NULL);
    const struct qp_json *s = qp_json_get(qp_json_get(root, "streams"), "cam0");
    const struct qp_json *v = qp_json_get(s, "received");
    fprintf(stderr, "cam0: received %g published %g dropped %g\n",
            qp_json_get(s, "received")->v.num, qp_json_get(s, "published")->v.num,
            qp_json_get(s, "dropped")->v.num);
    CU_ASSERT(v && v->type == QP_JSON_NUMBER && v->v.num == 26); /* frames 0 .. 25 of 1.0 s */
    qp_json_free(doc);
    qp_ctl_reply_fini(&r);
}

static void test_bad_sources(void)
{
    char args[2048];
    NEEDS_ALL();
    snprintf(args, sizeof args, "'%s' --endpoint 'ipc://%s/%%s'", T.p.dir, T.p.dir);
    CU_ASSERT_EQUAL(replay(args), 1); /* a folder without images */
    CU_ASSERT_EQUAL(replay("--endpoint ipc://x"), 2);
    snprintf(args, sizeof args, "'%s' --endpoint 'ipc://%s/%%s' --rate 0", T.drive, T.p.dir);
    CU_ASSERT_EQUAL(replay(args), 2);
    /* several streams need %s in the endpoint */
    snprintf(args, sizeof args, "'%s' --endpoint 'ipc://%s/one'", T.nuscenes, T.p.dir);
    CU_ASSERT_EQUAL(replay(args), 1);
}

/* ===== MCAP ===== */

static const char *const mcap_images[MCAP_STREAMS] = {
    "n015-2018-07-24-11-22-45+0800__CAM_FRONT__1532402927612460.jpg",
    "n015-2018-07-24-11-22-45+0800__CAM_BACK__1532402927637525.jpg",
    "n015-2018-07-24-11-22-45+0800__CAM_FRONT_LEFT__1532402927604844.jpg"};

static uint8_t *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long     len = ftell(f);
    uint8_t *p   = len > 0 ? malloc((size_t)len) : NULL;
    fseek(f, 0, SEEK_SET);
    if (p && fread(p, 1, (size_t)len, f) != (size_t)len) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *n = (size_t)len;
    return p;
}

/* foxglove.CompressedImage by hand: data = 2 (bytes), format = 3 (string). */
static size_t compressed_image(const uint8_t *jpeg, size_t n, uint8_t *out)
{
    size_t k = 0;
    out[k++] = 2 << 3 | 2;
    for (size_t v = n;; v >>= 7) {
        out[k++] = (uint8_t)(v > 0x7f ? (v & 0x7f) | 0x80 : v);
        if (v <= 0x7f)
            break;
    }
    memcpy(out + k, jpeg, n);
    k += n;
    out[k++] = 3 << 3 | 2;
    out[k++] = 4;
    memcpy(out + k, "jpeg", 4);
    return k + 4;
}

/* The recording: stream s's frame k logged at k x PERIOD + s x OFFSET ms. */
static bool write_mcap(const char *path)
{
    struct qp_mcap_writer_opts o   = QP_MCAP_WRITER_OPTS_DEFAULT;
    struct qp_mcap_writer     *w   = NULL;
    struct qp_err              err = {{0}};
    uint16_t                   sid[MCAP_STREAMS], cid[MCAP_STREAMS];
    uint8_t                   *jpeg[MCAP_STREAMS] = {0}, *buf = malloc(4 << 20);
    size_t                     n[MCAP_STREAMS];
    bool                       ok = buf && qp_mcap_writer_open(path, &o, &w, &err) == QP_OK;
    for (int s = 0; ok && s < MCAP_STREAMS; s++) {
        char              p[2048], topic[128];
        struct qp_mcap_kv kv  = {"stream", mcap_streams[s]};
        bool              fox = s == 2;
        snprintf(p, sizeof p, "%s/%s", T.nuscenes, mcap_images[s]);
        snprintf(topic, sizeof topic, fox ? "/%s" : "/qpercept/frames/%s", mcap_streams[s]);
        ok = (jpeg[s] = read_all(p, &n[s])) != NULL &&
             qp_mcap_writer_add_schema(w, fox ? "foxglove.CompressedImage" : "qpercept.v1.Frame",
                                       "protobuf", "x", 1, &sid[s], &err) == QP_OK &&
             qp_mcap_writer_add_channel(w, topic, "protobuf", sid[s], &kv, fox ? 0 : 1, &cid[s],
                                        &err) == QP_OK;
    }
    for (int k = 0; ok && k < MCAP_FRAMES; k++)
        for (int s = 0; ok && s < MCAP_STREAMS; s++) {
            struct qp_mcap_message m = {.channel_id = cid[s], .sequence = (uint32_t)k, .data = buf};
            m.log_time_ns            = 1700000000000000000ull +
                            (uint64_t)(k * MCAP_PERIOD_MS + s * MCAP_OFFSET_MS) * 1000000ull;
            m.publish_time_ns = m.log_time_ns;
            if (s == 2) {
                m.len = compressed_image(jpeg[s], n[s], buf);
            } else {
                struct qp_image      img;
                struct qp_wire_frame f = {.format       = QP_WIRE_PIXEL_JPEG,
                                          .data         = QP_WIRE_DATA_INLINE,
                                          .pixels       = jpeg[s],
                                          .pixels_bytes = n[s]};
                ok                     = qp_image_decode(jpeg[s], n[s], &img, &err) == QP_OK;
                f.width                = (uint32_t)img.width;
                f.height               = (uint32_t)img.height;
                qp_image_free(&img);
                snprintf(f.header.stream, sizeof f.header.stream, "%s", mcap_streams[s]);
                f.header.seq        = (uint64_t)k;
                f.header.capture_ns = m.log_time_ns;
                ok = ok && qp_wire_encode_frame(&f, buf, 4 << 20, &m.len, &err) == QP_OK;
            }
            ok = ok && qp_mcap_writer_write(w, &m, &err) == QP_OK;
        }
    if (!ok)
        fprintf(stderr, "write_mcap: %s\n", err.msg);
    ok = w && qp_mcap_writer_close(w, &err) == QP_OK && ok;
    for (int s = 0; s < MCAP_STREAMS; s++)
        free(jpeg[s]);
    free(buf);
    return ok;
}

static int mcap_stream_of(const char *s)
{
    for (int k = 0; k < MCAP_STREAMS; k++)
        if (strcmp(s, mcap_streams[k]) == 0)
            return k;
    return -1;
}

static void test_mcap(void)
{
    char     path[1024], args[2048];
    int      got[MCAP_STREAMS][MCAP_FRAMES] = {{0}}, n = 0, off = 0;
    uint64_t cap[MCAP_STREAMS][MCAP_FRAMES] = {{0}}, first = UINT64_MAX;
    NEEDS_ALL();
    snprintf(path, sizeof path, "%s/drive.mcap", T.p.dir);
    CU_ASSERT_FATAL(write_mcap(path));
    snprintf(args, sizeof args, "'%s' --endpoint 'ipc://%s/%%s' --rate %g", path, T.p.dir,
             MCAP_RATE);
    CU_ASSERT_EQUAL_FATAL(replay(args), 0);
    for (int64_t end = srv_now_ms() + 60000;
         n < MCAP_STREAMS * MCAP_FRAMES && srv_now_ms() < end;) {
        struct qp_err  err = {{0}};
        enum qp_status rs  = qp_sub_recv(T.sub, &msg, 200, &err);
        if (rs != QP_OK)
            continue;
        int s = mcap_stream_of(msg.header.stream);
        CU_ASSERT_FATAL(s >= 0);
        CU_ASSERT_FATAL(msg.header.seq < MCAP_FRAMES); /* replay's seqs: from 0 per stream */
        CU_ASSERT_EQUAL(msg.status, QP_DET_STATUS_OK);
        n += got[s][msg.header.seq]++ == 0;
        cap[s][msg.header.seq] = msg.header.capture_ns;
        if (msg.header.capture_ns < first)
            first = msg.header.capture_ns;
    }
    double worst = 0;
    for (int s = 0; s < MCAP_STREAMS; s++)
        for (int k = 0; k < MCAP_FRAMES; k++) {
            CU_ASSERT_EQUAL(got[s][k], 1);
            if (got[s][k] != 1) {
                fprintf(stderr, "%s frame %d: %d results\n", mcap_streams[s], k, got[s][k]);
                continue;
            }
            double want = (double)(k * MCAP_PERIOD_MS + s * MCAP_OFFSET_MS) / MCAP_RATE;
            double at   = (double)(cap[s][k] - first) / 1e6;
            worst       = fmax(worst, fabs(at - want));
            off += fabs(at - want) > TOLERANCE_MS;
        }
    fprintf(stderr, "\nMCAP: %d of %d frames came back; %.2f ms off their log times at most\n", n,
            MCAP_STREAMS * MCAP_FRAMES, worst);
    CU_ASSERT_EQUAL(off, 0);
    if (n < MCAP_STREAMS * MCAP_FRAMES) {
        struct qp_ctl_reply r = {0};
        struct qp_err       e = {{0}};
        if (qp_ctl_request(T.p.ctl, QP_CTL_KIND_STATS, NULL, 5000, &r, &e) == QP_OK)
            fprintf(stderr, "%s\n", r.stats_json);
        qp_ctl_reply_fini(&r);
        char cat[1100];
        snprintf(cat, sizeof cat, "cat '%s/replay.log' >&2", T.p.dir);
        CU_ASSERT(system(cat) == 0);
    }
    /* garbage named .mcap: exit 1 */
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    fputs("not an MCAP file, not at all", f);
    fclose(f);
    CU_ASSERT_EQUAL(replay(args), 1);
}

static CU_TestInfo tests[] = {
    {"nuScenes six cameras: six streams, one result each", test_six_cameras},
    {"a 25 fps drive at rate 1: every frame in, timing kept", test_drive_timing},
    {"bad sources and options: exit 1 / 2", test_bad_sources},
    {"an MCAP of Frame and foxglove channels: every frame back, on time", test_mcap},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"replay", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
