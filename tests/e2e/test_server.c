// SPDX-License-Identifier: Apache-2.0
/*
 * test_server.c - qperceptd as an operator and its clients meet it (env
 * QP_SERVER, models and frames from QP_MIRROR): the command line's exit
 * statuses, then one server on ipc:// endpoints in a fresh temp dir fed
 * the six nuScenes cameras as six streams (five PUSH into PULL, one PUB the
 * server's SUB connects to; one camera sends JPEG bytes, the others RGB8):
 *   - every frame's Detections equal, box for box within 1e-3, what
 *     qp_detector_run gives in this process for the same image, engine and
 *     parameters, with the header, model, engine id and ordered stamps;
 *   - once every camera is active, the six frames of a round run as one
 *     batch (batch_size 6);
 *   - malformed, oversized, wrong-size, unknown-stream, wrong-part-count
 *     and garbage messages interleaved with a valid frame are each counted
 *     under their reason in `ctl stats`, and the valid frame is served;
 *   - after the server is idle, received = published + dropped per stream;
 *   - ping / status / reload over the control socket and `qpercept ctl`;
 *   - reload under load (needs QP_CLI, which builds an INT8 engine file of
 *     YOLOX-Nano from one frame): rounds of six frames keep flowing while a
 *     thread reloads it, every frame is published (no gap), the reply, the
 *     status and the Detections carry the new model and engine id; a reload
 *     to a missing and to a corrupt file answers ok = false and the engine
 *     keeps serving; SIGHUP reloads the configured file, whose detections
 *     equal the in-process ones again;
 *   - SIGTERM ends it with exit status 0 within a bounded time.
 * Every wait is bounded. Without QP_SERVER or the mirror's files: skipped.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, kill */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "core/json.h"
#include "proto/wire.h"
#include "qp_test.h"
#include "qpercept/client.h"
#include "qpercept/detect.h"
#include "server_run.h"

#define N_CAMS 6
#define MAX_FRAME_BYTES (8u << 20)
#define JPEG_CAM 4 /* cam_back_left sends its JPEG file, not pixels */
#define SUB_CAM 3  /* cam_back: the server's SUB connects to our PUB */

static const char *const cams[N_CAMS]  = {"CAM_FRONT", "CAM_FRONT_LEFT", "CAM_FRONT_RIGHT",
                                          "CAM_BACK",  "CAM_BACK_LEFT",  "CAM_BACK_RIGHT"};
static const char *const names[N_CAMS] = {"cam_front", "cam_front_left", "cam_front_right",
                                          "cam_back",  "cam_back_left",  "cam_back_right"};

static struct {
    bool                 ok; /* data found, server started */
    char                 model[1024], images[N_CAMS][1024], ep[N_CAMS][300];
    struct srv_paths     p;
    pid_t                pid;
    struct qp_image      img[N_CAMS];
    uint8_t             *jpeg;
    size_t               jpeg_bytes;
    struct qp_detection  want[N_CAMS][256];
    int32_t              n_want[N_CAMS];
    struct qp_model_spec spec;
    struct qp_pub       *pub[N_CAMS];
    struct qp_sub       *sub;
    uint64_t             got[N_CAMS]; /* Detections received per stream */
} T;

static struct qp_detections_in msg; /* large: not on the stack */

#define INT8_MODEL "yolox_nano_416_coco_int8"

static struct {
    char                id[QP_CLIENT_ID_MAX]; /* the FP32 engine's */
    char                int8[400];            /* INT8 engine file */
    struct qp_ctl_reply reply;                /* of the reload thread */
    enum qp_status      st;
    atomic_bool         done;
} R;

/* The nuScenes file of camera k of the six-camera sample: "...__CAM_X__1532402927*.jpg". */
static bool find_cam(int k, char *out, size_t n)
{
    char dir[1024], pat[64];
    bool ok = false;
    snprintf(dir, sizeof dir, "%s/data/driving/nuscenes", qp_test_mirror());
    snprintf(pat, sizeof pat, "__%s__1532402927", cams[k]);
    DIR *d = opendir(dir);
    for (struct dirent *e; d && !ok && (e = readdir(d));)
        ok = strstr(e->d_name, pat) && snprintf(out, n, "%s/%s", dir, e->d_name) < (int)n;
    if (d)
        closedir(d);
    return ok;
}

static bool write_config(void)
{
    FILE *f = srv_config_open(
        T.p.cfg, &T.p,
        "metrics_port = 0\nmax_delay_us = 1000000\nmax_age_ms = 60000\nmax_frame_bytes = %u\n"
        "log_level = info\n[engine]\npath = %s\nwarmup = 1\nscore_min = 0.25\n"
        "iou = 0.45\nmax_dets = 100\nbatch_sizes = 1,2,4,6,8\n",
        MAX_FRAME_BYTES, T.model);
    if (!f)
        return false;
    /* camera 0 takes 1600x900 only: frames of any other size are dropped `unexpected` */
    for (int k = 0; k < N_CAMS; k++)
        srv_config_stream(f, &T.p, names[k], k == SUB_CAM ? "sub" : "pull", k == 0 ? 1600 : 0, 900);
    return fclose(f) == 0;
}

static void run_expected(void)
{
    char                    manifest[1200];
    struct qp_engine       *e   = NULL;
    struct qp_detector     *det = NULL;
    struct qp_err           err = {{0}};
    struct qp_detect_params p   = QP_DETECT_PARAMS_DEFAULT;
    p.score_min                 = 0.25f;
    p.iou                       = 0.45f;
    p.max_dets                  = 100;
    const char *src             = getenv("QP_SOURCE_DIR");
    snprintf(manifest, sizeof manifest, "%s/models/zoo.ini", src ? src : ".");
    struct qp_engine_options o = QP_ENGINE_OPTIONS_DEFAULT;
    o.backend                  = QP_BACKEND_CPU;
    CU_ASSERT_FATAL(qp_model_spec_find(T.model, manifest, &T.spec, &err) == QP_OK);
    CU_ASSERT_FATAL(qp_engine_open(T.model, &o, &e, &err) == QP_OK);
    CU_ASSERT_FATAL(qp_detector_new(e, &T.spec, &det, &err) == QP_OK);
    int32_t total = 0;
    for (int k = 0; k < N_CAMS; k++) {
        CU_ASSERT_EQUAL(qp_detector_run(det, &T.img[k], &p, T.want[k], 256, &T.n_want[k], &err),
                        QP_OK);
        total += T.n_want[k];
    }
    CU_ASSERT(total >= 5); /* trucks, cars, people */
    qp_detector_free(det);
    qp_engine_free(e);
}

static int suite_init(void)
{
    if (!getenv("QP_SERVER") ||
        !qp_test_mirror_file("models/yolox_nano_416_coco.onnx", T.model, sizeof T.model))
        return 0;
    for (int k = 0; k < N_CAMS; k++)
        if (!find_cam(k, T.images[k], sizeof T.images[k]))
            return 0;
    if (!srv_paths_make(&T.p, "server"))
        return 1;
    for (int k = 0; k < N_CAMS; k++)
        if (!srv_paths_endpoint(&T.p, names[k], T.ep[k], sizeof T.ep[k]))
            return 1;
    struct qp_err err = {{0}};
    for (int k = 0; k < N_CAMS; k++)
        if (qp_image_load(T.images[k], &T.img[k], &err) != QP_OK)
            return 1;
    if (!srv_read_file(T.images[JPEG_CAM], &T.jpeg, &T.jpeg_bytes) || !write_config())
        return 1;
    T.ok = true;
    return 0;
}

static int suite_clean(void)
{
    srv_kill(&T.pid);
    for (int k = 0; k < N_CAMS; k++) {
        qp_pub_free(T.pub[k]);
        qp_image_free(&T.img[k]);
    }
    qp_sub_free(T.sub);
    free(T.jpeg);
    qp_model_spec_fini(&T.spec);
    return srv_paths_remove(&T.p) ? 0 : 1; /* the INT8 engine files too */
}

/* ===== The command line ===== */

static int run_server(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s >/dev/null 2>&1", getenv("QP_SERVER"), args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_command_line(void)
{
    char args[1024];
    if (!T.ok)
        QP_TEST_SKIP("QP_SERVER, YOLOX-Nano or the nuScenes frames missing");
    QP_TEST_RAN();
    snprintf(args, sizeof args, "--config '%s' --check-config", T.p.cfg);
    CU_ASSERT_EQUAL(run_server(args), 0);
    snprintf(args, sizeof args, "--config '%s' --print-config", T.p.cfg);
    CU_ASSERT_EQUAL(run_server(args), 0);
    snprintf(args, sizeof args, "--config '%s' --check-config --server.bogus 1", T.p.cfg);
    CU_ASSERT_EQUAL(run_server(args), 2);
    snprintf(args, sizeof args, "--config '%s' --check-config --server.max_age_ms 0", T.p.cfg);
    CU_ASSERT_EQUAL(run_server(args), 2);
    snprintf(args, sizeof args, "--config '%s/none.conf' --check-config", T.p.dir);
    CU_ASSERT_EQUAL(run_server(args), 1);
    CU_ASSERT_EQUAL(run_server("--check-config"), 2);
    /* an engine that does not exist: start-up fails with 1 */
    snprintf(args, sizeof args, "--config '%s' --engine.path '%s/none.onnx'", T.p.cfg, T.p.dir);
    CU_ASSERT_EQUAL(run_server(args), 1);
}

/* ===== Serving ===== */

static void send_cam(int k)
{
    struct qp_frame_out f   = {0};
    struct qp_err       err = {{0}};
    if (k == JPEG_CAM) {
        f = (struct qp_frame_out){.width        = 1600,
                                  .height       = 900,
                                  .format       = QP_FRAME_FORMAT_JPEG,
                                  .pixels       = T.jpeg,
                                  .pixels_bytes = T.jpeg_bytes};
    } else {
        const struct qp_image *im = &T.img[k];
        f                         = (struct qp_frame_out){.width        = (uint32_t)im->width,
                                                          .height       = (uint32_t)im->height,
                                                          .stride       = (uint32_t)im->stride,
                                                          .format       = QP_FRAME_FORMAT_RGB8,
                                                          .pixels       = im->data,
                                                          .pixels_bytes = (size_t)im->stride * (size_t)im->height};
    }
    f.frame_id        = names[k];
    enum qp_status st = qp_pub_send(T.pub[k], &f, &err);
    if (st != QP_OK)
        fprintf(stderr, "send %s: %s\n", names[k], err.msg);
    CU_ASSERT_EQUAL(st, QP_OK);
}

static int cam_of(const char *stream)
{
    for (int k = 0; k < N_CAMS; k++)
        if (strcmp(stream, names[k]) == 0)
            return k;
    return -1;
}

/* Detections of camera k equal the in-process ones. */
static void check_detections(int k, const struct qp_detections_in *d)
{
    CU_ASSERT_EQUAL(d->status, QP_DET_STATUS_OK);
    CU_ASSERT_STRING_EQUAL(d->model, "yolox_nano_416_coco");
    CU_ASSERT(strncmp(d->engine_id, "sha256:", 7) == 0);
    CU_ASSERT_STRING_EQUAL(d->header.frame_id, names[k]);
    const struct qp_det_stamps *s = &d->stamps;
    CU_ASSERT(s->received_ns > 0 && s->received_ns <= s->batched_ns &&
              s->batched_ns <= s->inference_start_ns &&
              s->inference_start_ns <= s->inference_end_ns &&
              s->inference_end_ns <= s->published_ns);
    CU_ASSERT(d->header.capture_ns <= s->received_ns);
    CU_ASSERT_EQUAL_FATAL(d->n_detections, (uint32_t)T.n_want[k]);
    for (uint32_t i = 0; i < d->n_detections; i++) {
        const struct qp_detection_in *g = &d->detections[i];
        const struct qp_detection    *w = &T.want[k][i];
        CU_ASSERT_EQUAL(g->class_id, (uint32_t)w->class_id);
        CU_ASSERT_STRING_EQUAL(g->label, T.spec.labels[w->class_id]);
        CU_ASSERT(fabsf(g->score - w->score) <= 1e-3f);
        CU_ASSERT(fabsf(g->x0 - w->x0) <= 1e-3f && fabsf(g->y0 - w->y0) <= 1e-3f &&
                  fabsf(g->x1 - w->x1) <= 1e-3f && fabsf(g->y1 - w->y1) <= 1e-3f);
    }
}

/* Send the cameras in mask and wait (bounded) for their Detections; the
 * batch sizes seen go to sizes[k]. Returns how many arrived. */
static int round_trip(unsigned mask, int timeout_ms, uint32_t sizes[N_CAMS])
{
    uint64_t seq[N_CAMS];
    bool     want[N_CAMS] = {false};
    int      n_want = 0, n_got = 0;
    for (int k = 0; k < N_CAMS; k++)
        if (mask & (1u << k)) {
            struct qp_pub_stats ps;
            qp_pub_stats(T.pub[k], &ps);
            seq[k]  = ps.next_seq;
            want[k] = true;
            n_want++;
            send_cam(k);
        }
    for (int64_t end = srv_now_ms() + timeout_ms; n_got < n_want && srv_now_ms() < end;) {
        struct qp_err err = {{0}};
        if (qp_sub_recv(T.sub, &msg, 200, &err) != QP_OK)
            continue;
        int k = cam_of(msg.header.stream);
        CU_ASSERT_FATAL(k >= 0);
        T.got[k]++;
        if (!want[k] || msg.header.seq != seq[k])
            continue; /* an earlier round's message */
        want[k] = false;
        n_got++;
        if (sizes)
            sizes[k] = msg.batch_size;
        check_detections(k, &msg);
    }
    return n_got;
}

static void test_serve_six_cameras(void)
{
    struct qp_err err = {{0}};
    if (!T.ok)
        QP_TEST_SKIP("QP_SERVER, YOLOX-Nano or the nuScenes frames missing");
    QP_TEST_RAN();
    run_expected();
    CU_ASSERT_FATAL(srv_start(&T.pid, T.p.cfg, T.p.log, T.p.ctl));
    for (int k = 0; k < N_CAMS; k++) {
        struct qp_pub_opts o = QP_PUB_OPTS_DEFAULT;
        o.endpoint           = T.ep[k];
        o.stream             = names[k];
        o.kind               = k == SUB_CAM ? QP_PUB_KIND_PUB : QP_PUB_KIND_PUSH;
        o.max_frame_bytes    = MAX_FRAME_BYTES;
        CU_ASSERT_FATAL(qp_pub_new(&o, &T.pub[k], &err) == QP_OK);
    }
    CU_ASSERT_FATAL(qp_pub_wait_subscriber(T.pub[SUB_CAM], 20000, &err) == QP_OK);
    struct qp_sub_opts so = QP_SUB_OPTS_DEFAULT;
    so.endpoint           = T.p.det;
    CU_ASSERT_FATAL(qp_sub_new(&so, &T.sub, &err) == QP_OK);
    /* slow joiner: our subscription is live once one Detections arrives */
    int primed = 0;
    for (int i = 0; i < 10 && !primed; i++)
        primed = round_trip(1u << 0, 5000, NULL);
    CU_ASSERT_FATAL(primed == 1);
    /* round 1 makes every camera active; rounds 2 and 3 are one batch each */
    uint32_t sizes[N_CAMS] = {0};
    CU_ASSERT_EQUAL(round_trip(0x3f, 120000, sizes), N_CAMS);
    for (int r = 2; r <= 3; r++) {
        memset(sizes, 0, sizeof sizes);
        CU_ASSERT_EQUAL(round_trip(0x3f, 120000, sizes), N_CAMS);
        for (int k = 0; k < N_CAMS; k++)
            CU_ASSERT_EQUAL(sizes[k], N_CAMS);
    }
}

/* ===== Bad messages ===== */

static void send_raw(void *sock, const void *topic, size_t tn, const void *p, size_t n)
{
    CU_ASSERT(zmq_send(sock, topic, tn, ZMQ_SNDMORE) >= 0);
    CU_ASSERT(zmq_send(sock, p, n, 0) >= 0);
}

static void send_frame(void *sock, const char *topic, const char *stream, uint32_t w, uint32_t h,
                       uint32_t stride, const uint8_t *px, size_t n)
{
    static uint8_t       buf[4 << 20];
    static uint64_t      seq = 1000;
    size_t               len = 0;
    struct qp_wire_frame f   = {.width        = w,
                                .height       = h,
                                .stride       = stride,
                                .format       = QP_WIRE_PIXEL_RGB8,
                                .data         = QP_WIRE_DATA_INLINE,
                                .pixels       = px,
                                .pixels_bytes = n};
    struct timespec      ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(f.header.stream, sizeof f.header.stream, "%s", stream);
    f.header.seq        = seq++;
    f.header.capture_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    CU_ASSERT_FATAL(qp_wire_encode_frame(&f, buf, sizeof buf, &len, NULL) == QP_OK);
    send_raw(sock, topic, strlen(topic), buf, len);
}

/* The stats JSON; the caller frees the document. */
static const struct qp_json *stats(struct qp_json_doc **doc, struct qp_ctl_reply *r)
{
    return srv_stats(T.p.ctl, doc, r);
}

/* o.a.b.c as a number (b, c may be NULL); -1 when absent. */
static double num(const struct qp_json *o, const char *a, const char *b, const char *c)
{
    const struct qp_json *v = qp_json_get(o, a);
    if (b)
        v = qp_json_get(v, b);
    if (c)
        v = qp_json_get(v, c);
    return v && v->type == QP_JSON_NUMBER ? v->v.num : -1;
}

static double stream_num(const struct qp_json *root, const char *stream, const char *key)
{
    return num(root, "streams", stream, key);
}

static void test_bad_messages_counted(void)
{
    if (!T.ok || !T.sub)
        QP_TEST_SKIP("no server running (see the earlier tests)");
    QP_TEST_RAN();
    struct qp_json_doc   *doc;
    struct qp_ctl_reply   r    = {0};
    const struct qp_json *root = stats(&doc, &r);
    CU_ASSERT_FATAL(root != NULL);
    double before = stream_num(root, "cam_front", "received");
    qp_json_free(doc);
    qp_ctl_reply_fini(&r);

    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_PUSH);
    int   linger = 1000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    CU_ASSERT_FATAL(zmq_connect(s, T.ep[0]) == 0);
    static uint8_t px[800 * 450 * 3], junk[300];
    memset(junk, 0xff, sizeof junk);
    uint8_t *big = calloc(1, MAX_FRAME_BYTES + 4096);
    CU_ASSERT(zmq_send(s, "cam_front", 9, 0) >= 0);           /* parts: one part */
    CU_ASSERT(zmq_send(s, "cam_front", 9, ZMQ_SNDMORE) >= 0); /* parts: three */
    CU_ASSERT(zmq_send(s, junk, 10, ZMQ_SNDMORE) >= 0);
    CU_ASSERT(zmq_send(s, junk, 10, 0) >= 0);
    send_raw(s, "cam_front", 9, junk, sizeof junk);                   /* invalid: undecodable */
    send_raw(s, "cam_front", 9, big, MAX_FRAME_BYTES + 4096);         /* oversized */
    send_frame(s, "nope", "nope", 16, 16, 48, px, 16 * 48);           /* unknown_stream: topic */
    send_frame(s, "cam_front", "cam_fronx", 16, 16, 48, px, 16 * 48); /* unknown_stream: header */
    send_frame(s, "cam_front", "cam_front", 800, 450, 2400, px, sizeof px); /* unexpected size */
    send_frame(s, "cam_front", "cam_front", 16, 16, 10, px, 160); /* invalid: bad_stride */
    send_frame(s, "cam_front", "cam_front", 16, 16, 48, px, 100); /* invalid: bad_size */
    free(big);
    /* valid traffic is still served */
    CU_ASSERT_EQUAL(round_trip(1u << 0, 60000, NULL), 1);
    zmq_close(s);
    zmq_ctx_term(ctx);

    /* 9 bad messages + the valid frame, all counted once received */
    for (int64_t end = srv_now_ms() + 20000; srv_now_ms() < end; srv_sleep_ms(100)) {
        root = stats(&doc, &r);
        if (root && stream_num(root, "cam_front", "received") >= before + 10)
            break;
        qp_json_free(doc);
        qp_ctl_reply_fini(&r);
        root = NULL;
    }
    CU_ASSERT_FATAL(root != NULL);
    const struct qp_json *fr = qp_json_get(qp_json_get(root, "streams"), "cam_front");
    CU_ASSERT_EQUAL(stream_num(root, "cam_front", "received"), before + 10);
    CU_ASSERT_EQUAL(num(fr, "drops", "parts", NULL), 2);
    CU_ASSERT_EQUAL(num(fr, "drops", "invalid", NULL), 3);
    CU_ASSERT_EQUAL(num(fr, "invalid", "undecodable", NULL), 1);
    CU_ASSERT_EQUAL(num(fr, "invalid", "bad_stride", NULL), 1);
    CU_ASSERT_EQUAL(num(fr, "invalid", "bad_size", NULL), 1);
    CU_ASSERT_EQUAL(num(fr, "drops", "oversized", NULL), 1);
    CU_ASSERT_EQUAL(num(fr, "drops", "unknown_stream", NULL), 2);
    CU_ASSERT_EQUAL(num(fr, "drops", "unexpected", NULL), 1);
    qp_json_free(doc);
    qp_ctl_reply_fini(&r);
}

/* ===== Counters, control ===== */

/* The stats of an idle server (no frame waiting on any stream, within
 * 20 s), or NULL; the caller frees *doc and *r. */
static const struct qp_json *idle_stats(struct qp_json_doc **doc, struct qp_ctl_reply *r)
{
    for (int64_t end = srv_now_ms() + 20000; srv_now_ms() < end; srv_sleep_ms(100)) {
        const struct qp_json *root = stats(doc, r);
        double                sum  = 0;
        for (int k = 0; root && k < N_CAMS; k++)
            sum += stream_num(root, names[k], "waiting");
        if (root && sum == 0)
            return root;
        qp_json_free(*doc);
        qp_ctl_reply_fini(r);
        *doc = NULL;
    }
    return NULL;
}

static void test_stats_add_up(void)
{
    if (!T.ok || !T.sub)
        QP_TEST_SKIP("no server running (see the earlier tests)");
    QP_TEST_RAN();
    struct qp_json_doc   *doc  = NULL;
    struct qp_ctl_reply   r    = {0};
    const struct qp_json *root = idle_stats(&doc, &r);
    CU_ASSERT_FATAL(root != NULL);
    for (int k = 0; k < N_CAMS; k++) {
        double rec = stream_num(root, names[k], "received");
        double pub = stream_num(root, names[k], "published");
        double drp = stream_num(root, names[k], "dropped");
        CU_ASSERT(rec > 0);
        CU_ASSERT_EQUAL(rec, pub + drp);
        CU_ASSERT(pub >= (double)T.got[k]);
    }
    CU_ASSERT(num(root, "batches", "by_size", "6") >= 2);
    CU_ASSERT(num(root, "batch_inference_ms", "count", NULL) >= 4);
    const struct qp_json *p99 = qp_json_get(qp_json_get(root, "frame_inference_ms"), "p99");
    CU_ASSERT(p99 && p99->v.num > 0);
    fprintf(stderr, "\nbatch_inference_ms p50 %.1f p99 %.1f, frame p50 %.1f\n",
            num(root, "batch_inference_ms", "p50", NULL),
            num(root, "batch_inference_ms", "p99", NULL),
            num(root, "frame_inference_ms", "p50", NULL));
    qp_json_free(doc);
    qp_ctl_reply_fini(&r);

    struct qp_err err = {{0}};
    CU_ASSERT_EQUAL(qp_ctl_request(T.p.ctl, QP_CTL_KIND_STATUS, NULL, 5000, &r, &err), QP_OK);
    CU_ASSERT(r.ok && r.state == QP_SERVER_STATE_SERVING && r.n_streams == N_CAMS);
    CU_ASSERT_STRING_EQUAL(r.model, "yolox_nano_416_coco");
    CU_ASSERT_STRING_EQUAL(r.backend, "cpu");
    /* reload without a path: the configured file again, so the same id */
    char id[QP_CLIENT_ID_MAX];
    snprintf(id, sizeof id, "%s", r.engine_id);
    CU_ASSERT_EQUAL(qp_ctl_request(T.p.ctl, QP_CTL_KIND_RELOAD, NULL, 120000, &r, &err), QP_OK);
    CU_ASSERT(r.ok && strcmp(r.engine_id, id) == 0);
    CU_ASSERT_STRING_EQUAL(r.model, "yolox_nano_416_coco");
    qp_ctl_reply_fini(&r);
    /* the CLI's ctl subcommand */
    const char *cli = getenv("QP_CLI");
    if (cli) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "'%s' ctl '%s' stats | grep -q '\"cam_back_left\"'", cli,
                 T.p.ctl);
        CU_ASSERT_EQUAL(system(cmd), 0);
        snprintf(cmd, sizeof cmd, "'%s' ctl '%s' ping >/dev/null", cli, T.p.ctl);
        CU_ASSERT_EQUAL(system(cmd), 0);
        snprintf(cmd, sizeof cmd, "'%s' ctl '%s' reload --timeout 120000 >/dev/null", cli, T.p.ctl);
        int st = system(cmd);
        CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
}

/* ===== Reload ===== */

/* Build the INT8 engine file of YOLOX-Nano (calibrated on one frame: fast,
 * and the numbers do not matter here, only that it is another file). */
static bool build_int8(void)
{
    char        cmd[4096];
    const char *cli = getenv("QP_CLI");
    snprintf(R.int8, sizeof R.int8, "%s/" INT8_MODEL ".qpe", T.p.dir);
    snprintf(cmd, sizeof cmd,
             "'%s' build '%s' -o '%s' --precision int8 --calib '%s' --measure-images 0 "
             ">/dev/null 2>&1",
             cli, T.model, R.int8, T.images[0]);
    return system(cmd) == 0;
}

static void *reload_thread(void *arg)
{
    struct qp_err err = {{0}};
    srv_sleep_ms(50); /* most likely while the round's batch runs: it finishes on the old engine */
    R.st = qp_ctl_request(T.p.ctl, QP_CTL_KIND_RELOAD, (const char *)arg, 120000, &R.reply, &err);
    if (R.st != QP_OK)
        fprintf(stderr, "reload: %s\n", err.msg);
    atomic_store(&R.done, true);
    return NULL;
}

/* Like round_trip, for either engine: a frame served by the FP32 one (id
 * R.id) must give the in-process detections, any other must come from
 * new_id (NULL: not known yet) and carry the INT8 model's name. Every
 * message must follow the previous of its stream without a gap. Counts
 * the frames each served into served[0] (FP32) and served[1]. With spawn,
 * the reload thread starts right after the frames are sent. */
static int reload_round(const char *new_id, int served[2], pthread_t *spawn)
{
    uint64_t seq[N_CAMS];
    bool     want[N_CAMS];
    int      n_got = 0;
    for (int k = 0; k < N_CAMS; k++) {
        struct qp_pub_stats ps;
        qp_pub_stats(T.pub[k], &ps);
        seq[k]  = ps.next_seq;
        want[k] = true;
        send_cam(k);
    }
    /* the reload request races with this round's frames */
    if (spawn)
        CU_ASSERT_FATAL(pthread_create(spawn, NULL, reload_thread, R.int8) == 0);
    for (int64_t end = srv_now_ms() + 180000; n_got < N_CAMS && srv_now_ms() < end;) {
        struct qp_err err = {{0}};
        if (qp_sub_recv(T.sub, &msg, 200, &err) != QP_OK)
            continue;
        int k = cam_of(msg.header.stream);
        CU_ASSERT_FATAL(k >= 0);
        T.got[k]++;
        if (!want[k] || msg.header.seq != seq[k])
            continue;
        want[k] = false;
        n_got++;
        CU_ASSERT_EQUAL(msg.n_missing, 0);
        if (strcmp(msg.engine_id, R.id) == 0) {
            served[0]++;
            check_detections(k, &msg);
        } else {
            served[1]++;
            CU_ASSERT(strncmp(msg.engine_id, "sha256:", 7) == 0);
            if (new_id)
                CU_ASSERT_STRING_EQUAL(msg.engine_id, new_id);
            CU_ASSERT_STRING_EQUAL(msg.model, INT8_MODEL);
            CU_ASSERT_EQUAL(msg.status, QP_DET_STATUS_OK);
            CU_ASSERT(msg.stamps.inference_start_ns <= msg.stamps.inference_end_ns);
        }
    }
    return n_got;
}

/* The engine id status reports ("" when it does not answer). */
static void status_id(char id[QP_CLIENT_ID_MAX], char model[QP_CLIENT_NAME_MAX])
{
    struct qp_ctl_reply r   = {0};
    struct qp_err       err = {{0}};
    id[0] = model[0] = '\0';
    if (qp_ctl_request(T.p.ctl, QP_CTL_KIND_STATUS, NULL, 5000, &r, &err) == QP_OK && r.ok) {
        snprintf(id, QP_CLIENT_ID_MAX, "%s", r.engine_id);
        snprintf(model, QP_CLIENT_NAME_MAX, "%s", r.model);
    }
    qp_ctl_reply_fini(&r);
}

static void test_reload_under_load(void)
{
    char model[QP_CLIENT_NAME_MAX];
    if (!T.ok || !T.sub || !srv_alive(T.pid))
        QP_TEST_SKIP("no server running (see the earlier tests)");
    if (!getenv("QP_CLI"))
        QP_TEST_SKIP("QP_CLI (qpercept, to build the INT8 engine file) not set");
    QP_TEST_RAN();
    status_id(R.id, model);
    CU_ASSERT_FATAL(strncmp(R.id, "sha256:", 7) == 0);
    CU_ASSERT_FATAL(build_int8());

    /* rounds of six frames while a thread waits for the reload's reply */
    pthread_t th;
    int       served[2] = {0, 0}, rounds = 0, after = 0;
    atomic_store(&R.done, false);
    /* the new engine id is known once the reply is in: until then any other id is taken */
    char new_id[QP_CLIENT_ID_MAX] = "";
    int  reloading = 0; /* status replies that said "reloading" before the reload's reply */
    while (after < 2 && rounds < 200) {
        bool done_before = atomic_load(&R.done);
        if (done_before)
            snprintf(new_id, sizeof new_id, "%s", R.reply.engine_id);
        int got = reload_round(done_before ? new_id : NULL, served, rounds == 0 ? &th : NULL);
        CU_ASSERT_EQUAL_FATAL(got, N_CAMS);
        rounds++;
        after += done_before;
        /* the control socket answers others while the reload is built */
        struct qp_ctl_reply r   = {0};
        struct qp_err       err = {{0}};
        if (!atomic_load(&R.done) &&
            qp_ctl_request(T.p.ctl, QP_CTL_KIND_STATUS, NULL, 5000, &r, &err) == QP_OK && r.ok &&
            r.state == QP_SERVER_STATE_RELOADING && !atomic_load(&R.done))
            reloading++;
        qp_ctl_reply_fini(&r);
    }
    CU_ASSERT(reloading >= 1);
    pthread_join(th, NULL);
    CU_ASSERT_EQUAL_FATAL(R.st, QP_OK);
    CU_ASSERT(R.reply.ok);
    if (!R.reply.ok)
        fprintf(stderr, "reload refused: %s\n", R.reply.error);
    CU_ASSERT(strncmp(R.reply.engine_id, "sha256:", 7) == 0 &&
              strcmp(R.reply.engine_id, R.id) != 0);
    CU_ASSERT_STRING_EQUAL(R.reply.model, INT8_MODEL);
    CU_ASSERT(served[1] >= 2 * N_CAMS); /* the rounds after the reply */
    /* the old engine kept serving while the new set was built beside it */
    CU_ASSERT(served[0] >= 2 * N_CAMS);
    fprintf(stderr,
            "\nreload: %d rounds, %d frames by the old engine, %d by the new; %d status "
            "replies during the build\n",
            rounds, served[0], served[1], reloading);
    char id[QP_CLIENT_ID_MAX];
    status_id(id, model);
    CU_ASSERT_STRING_EQUAL(id, R.reply.engine_id);
    CU_ASSERT_STRING_EQUAL(model, INT8_MODEL);
    qp_ctl_reply_fini(&R.reply);
}

/* A missing file and a corrupt one (the INT8 file cut in half, with its
 * spec beside it): ok = false, the reason, and the engine keeps serving. */
static void test_reload_failures(void)
{
    char                bad[400], cmd[1200], id[QP_CLIENT_ID_MAX], model[QP_CLIENT_NAME_MAX];
    struct qp_ctl_reply r   = {0};
    struct qp_err       err = {{0}};
    if (!T.ok || !T.sub || !srv_alive(T.pid) || !R.int8[0])
        QP_TEST_SKIP("no server running or no INT8 engine (see the earlier tests)");
    QP_TEST_RAN();
    char serving[QP_CLIENT_ID_MAX];
    status_id(serving, model);
    snprintf(bad, sizeof bad, "%s/none.qpe", T.p.dir);
    CU_ASSERT_EQUAL(qp_ctl_request(T.p.ctl, QP_CTL_KIND_RELOAD, bad, 120000, &r, &err), QP_OK);
    CU_ASSERT(!r.ok && strstr(r.error, "none.qpe") != NULL);
    CU_ASSERT_STRING_EQUAL(r.engine_id, serving);
    qp_ctl_reply_fini(&r);

    uint8_t *bytes = NULL;
    size_t   n     = 0;
    snprintf(bad, sizeof bad, "%s/corrupt.qpe", T.p.dir);
    CU_ASSERT_FATAL(srv_read_file(R.int8, &bytes, &n));
    FILE *f = fopen(bad, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(fwrite(bytes, 1, n / 2, f) == n / 2);
    fclose(f);
    free(bytes);
    snprintf(cmd, sizeof cmd, "cp '%s.ini' '%s.ini'", R.int8, bad);
    CU_ASSERT_FATAL(system(cmd) == 0);
    CU_ASSERT_EQUAL(qp_ctl_request(T.p.ctl, QP_CTL_KIND_RELOAD, bad, 120000, &r, &err), QP_OK);
    CU_ASSERT(!r.ok && strstr(r.error, "corrupt.qpe") != NULL);
    fprintf(stderr, "\ncorrupt reload: %s\n", r.error);
    CU_ASSERT_STRING_EQUAL(r.engine_id, serving);
    qp_ctl_reply_fini(&r);
    unlink(bad);
    snprintf(cmd, sizeof cmd, "%s.ini", bad);
    unlink(cmd);

    status_id(id, model);
    CU_ASSERT_STRING_EQUAL(id, serving);
    int served[2] = {0, 0};
    CU_ASSERT_EQUAL(reload_round(serving, served, NULL), N_CAMS);
    CU_ASSERT_EQUAL(served[1], N_CAMS);
}

/* SIGHUP: the configured (FP32) file again; its detections are the in-process ones. */
static void test_sighup_reloads(void)
{
    char id[QP_CLIENT_ID_MAX], model[QP_CLIENT_NAME_MAX];
    if (!T.ok || !T.sub || !srv_alive(T.pid) || !R.id[0])
        QP_TEST_SKIP("no server running (see the earlier tests)");
    QP_TEST_RAN();
    CU_ASSERT_EQUAL_FATAL(kill(T.pid, SIGHUP), 0);
    for (int64_t end = srv_now_ms() + 120000; srv_now_ms() < end; srv_sleep_ms(100)) {
        status_id(id, model);
        if (strcmp(id, R.id) == 0)
            break;
    }
    CU_ASSERT_STRING_EQUAL(id, R.id);
    CU_ASSERT_STRING_EQUAL(model, "yolox_nano_416_coco");
    CU_ASSERT_EQUAL(round_trip(0x3f, 120000, NULL), N_CAMS);
    /* nothing lost anywhere: received = published + dropped, per stream */
    struct qp_json_doc   *doc  = NULL;
    struct qp_ctl_reply   r    = {0};
    const struct qp_json *root = idle_stats(&doc, &r);
    CU_ASSERT_FATAL(root != NULL);
    for (int k = 0; k < N_CAMS; k++) {
        CU_ASSERT_EQUAL(stream_num(root, names[k], "received"),
                        stream_num(root, names[k], "published") +
                            stream_num(root, names[k], "dropped"));
        CU_ASSERT_EQUAL(
            num(qp_json_get(qp_json_get(root, "streams"), names[k]), "drops", "engine_error", NULL),
            0);
    }
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
    {"command line: exit statuses", test_command_line},
    {"six cameras: detections as in-process, batches of six", test_serve_six_cameras},
    {"bad messages: counted by reason, valid ones served", test_bad_messages_counted},
    {"stats add up; status, reload, ctl", test_stats_add_up},
    {"reload under load: INT8 engine in, no frame lost", test_reload_under_load},
    {"reload to a missing / corrupt file: refused, still serving", test_reload_failures},
    {"SIGHUP: reload the configured engine", test_sighup_reloads},
    {"SIGTERM: exit 0", test_sigterm_exits_0},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"server", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
