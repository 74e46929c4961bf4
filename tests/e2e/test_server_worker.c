// SPDX-License-Identifier: Apache-2.0
/*
 * test_server_worker.c - qperceptd's worker thread (server/worker.c), seen
 * from outside (env QP_SERVER, YOLOX-Nano from QP_MIRROR): each test
 * starts its own server on ipc:// endpoints with one PULL stream of
 * synthetic 416x416 BGR8 frames.
 *   - the loop answers control requests while the worker runs a batch: a
 *     stats reply shows the batch in flight, and in every reply taken under
 *     load received = published + dropped + waiting + in_flight;
 *   - a failed inference ($QPERCEPTD_FAULT_INFERENCE = N, the server's test
 *     hook) costs exactly its frame, counted engine_error; the device probe
 *     after it succeeds, so serving goes on and the next frame's
 *     Detections carry the count;
 *   - a sticky device error (N+: that inference and every later one fail,
 *     the probe too) ends the server with exit status 3, so that systemd
 *     restarts it;
 *   - a malformed hook value fails start-up (exit status 1);
 *   - SIGHUP while frames keep the worker busy: the reload thread builds a
 *     second engine set beside the serving one and the loop swaps it in
 *     between batches; no reload failure, no engine error, served after
 *     (the one run of the reload thread among the suites of label threads,
 *     which scripts/tsan.sh runs under ThreadSanitizer);
 *   - NV12 frames (the nuScenes CAM_FRONT frame converted by the test, BT.601
 *     limited range) come back with the detections qp_detector_run gives
 *     for the same NV12 image in-process.
 * Every wait is bounded. Without QP_SERVER or the model: skipped.
 */
#define _GNU_SOURCE /* mkdtemp, setenv */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/json.h"
#include "qp_test.h"
#include "qpercept/client.h"
#include "qpercept/detect.h"
#include "qpercept/engine.h"
#include "server_run.h"

#define SIDE 416
#define STREAM "s0"
#define NV_STREAM "nv" /* pixel_format = nv12, any size */
#define NUSCENES                                                                                   \
    "data/driving/nuscenes/n015-2018-07-24-11-22-45+0800__CAM_FRONT__1532402927612460.jpg"

static struct {
    bool             ok;
    char             model[1024], ep[300], nv_ep[300];
    struct srv_paths p;
    pid_t            pid;
    uint8_t         *px;
    struct qp_pub   *pub;
    struct qp_sub   *sub;
} T;

static struct qp_detections_in msg; /* large: not on the stack */

static int suite_init(void)
{
    if (!getenv("QP_SERVER") ||
        !qp_test_mirror_file("models/yolox_nano_416_coco.onnx", T.model, sizeof T.model))
        return 0;
    if (!srv_paths_make(&T.p, "server_worker"))
        return 1;
    snprintf(T.ep, sizeof T.ep, "ipc://%s/%s", T.p.dir, STREAM);
    snprintf(T.nv_ep, sizeof T.nv_ep, "ipc://%s/%s", T.p.dir, NV_STREAM);
    FILE *f = fopen(T.p.cfg, "w");
    T.px    = malloc((size_t)SIDE * SIDE * 3);
    if (!f || !T.px)
        return 1;
    /* max_delay_us 0: a frame is a batch of one at once; no watchdog: no canaries */
    fprintf(f,
            "[server]\ncontrol_endpoint = %s\npublish_endpoint = %s\nmax_delay_us = 0\n"
            "max_age_ms = 10000\nmax_frame_bytes = %d\nwatchdog = off\nlog_level = info\n"
            "metrics_port = 0\n"
            "[engine]\npath = %s\nwarmup = 1\nbatch_sizes = 1\nbackend = cpu\n"
            "score_min = 0.25\niou = 0.45\nmax_dets = 100\n"
            "[stream.%s]\nendpoint = %s\nmode = pull\nwidth = %d\nheight = %d\n"
            "[stream.%s]\nendpoint = %s\nmode = pull\npixel_format = nv12\n",
            T.p.ctl, T.p.det, 1600 * 900 * 3, T.model, STREAM, T.ep, SIDE, SIDE, NV_STREAM,
            T.nv_ep);
    if (fclose(f) != 0)
        return 1;
    for (size_t i = 0; i < (size_t)SIDE * SIDE * 3; i++) /* a pattern, not a flat field */
        T.px[i] = (uint8_t)((i * 7 + i / (SIDE * 3) * 13) & 0xff);
    T.ok = true;
    return 0;
}

static void clients_free(void)
{
    qp_pub_free(T.pub);
    qp_sub_free(T.sub);
    T.pub = NULL;
    T.sub = NULL;
}

static int suite_clean(void)
{
    srv_kill(&T.pid);
    clients_free();
    free(T.px);
    return srv_paths_remove(&T.p) ? 0 : 1;
}

#define NEEDS_MODEL()                                                                              \
    do {                                                                                           \
        if (!T.ok)                                                                                 \
            QP_TEST_SKIP("QP_SERVER or models/yolox_nano_416_coco.onnx missing");                  \
        QP_TEST_RAN();                                                                             \
    } while (0)

/* Start a server with $QPERCEPTD_FAULT_INFERENCE = fault (NULL: unset)
 * and connect a publisher and a subscriber to it. */
static bool start(const char *fault)
{
    if (fault)
        setenv("QPERCEPTD_FAULT_INFERENCE", fault, 1);
    else
        unsetenv("QPERCEPTD_FAULT_INFERENCE");
    bool up = srv_start(&T.pid, T.p.cfg, T.p.log, T.p.ctl);
    unsetenv("QPERCEPTD_FAULT_INFERENCE");
    if (!up)
        return false;
    struct qp_err      err = {{0}};
    struct qp_pub_opts po  = QP_PUB_OPTS_DEFAULT;
    struct qp_sub_opts so  = QP_SUB_OPTS_DEFAULT;
    po.endpoint            = T.ep;
    po.stream              = STREAM;
    po.kind                = QP_PUB_KIND_PUSH;
    po.max_frame_bytes     = (size_t)SIDE * SIDE * 3;
    so.endpoint            = T.p.det;
    if (qp_pub_new(&po, &T.pub, &err) != QP_OK || qp_sub_new(&so, &T.sub, &err) != QP_OK) {
        fprintf(stderr, "clients: %s\n", err.msg);
        return false;
    }
    srv_sleep_ms(300); /* the subscription reaches the server's PUB */
    return true;
}

/* Stop the server: its wait status, or -1 when it did not exit. */
static int stop(void)
{
    clients_free();
    return srv_stop(&T.pid, 30000);
}

/* The one frame these tests send: SIDE x SIDE BGR8 from T.px. */
static struct qp_frame_out test_frame(void)
{
    return (struct qp_frame_out){.width        = SIDE,
                                 .height       = SIDE,
                                 .stride       = SIDE * 3,
                                 .format       = QP_FRAME_FORMAT_BGR8,
                                 .pixels       = T.px,
                                 .pixels_bytes = (size_t)SIDE * SIDE * 3};
}

static uint64_t send_frame(void)
{
    struct qp_pub_stats ps;
    struct qp_err       err = {{0}};
    struct qp_frame_out f   = test_frame();
    qp_pub_stats(T.pub, &ps);
    CU_ASSERT_EQUAL_FATAL(qp_pub_send(T.pub, &f, &err), QP_OK);
    return ps.next_seq;
}

/* The Detections of frame seq, waiting at most timeout_ms: true when it
 * came (into msg); messages of earlier frames are skipped. */
static bool detections_of(uint64_t seq, int timeout_ms)
{
    for (int64_t end = srv_now_ms() + timeout_ms; srv_now_ms() < end;) {
        struct qp_err err = {{0}};
        if (qp_sub_recv(T.sub, &msg, 100, &err) == QP_OK && msg.header.seq == seq)
            return true;
    }
    return false;
}

static const struct qp_json *stats(struct qp_json_doc **doc, struct qp_ctl_reply *r)
{
    return srv_stats(T.p.ctl, doc, r);
}

static double num(const struct qp_json *o, const char *a, const char *b)
{
    const struct qp_json *v = qp_json_get(o, a);
    if (b)
        v = qp_json_get(v, b);
    return v && v->type == QP_JSON_NUMBER ? v->v.num : NAN;
}

static const char *str(const struct qp_json *o, const char *a, const char *b)
{
    const struct qp_json *v = qp_json_get(qp_json_get(o, a), b);
    return v && v->type == QP_JSON_STRING ? v->v.str : "";
}

/* ===== Tests ===== */

static void test_control_during_batch(void)
{
    NEEDS_MODEL();
    CU_ASSERT_FATAL(start(NULL));
    int  replies = 0, in_flight = 0, unbalanced = 0;
    bool seen = false;
    for (int64_t end = srv_now_ms() + 10000; srv_now_ms() < end && (!seen || replies < 50);) {
        struct qp_json_doc   *doc;
        struct qp_ctl_reply   r = {0};
        const struct qp_json *root;
        if (replies % 4 == 0)
            send_frame();
        CU_ASSERT_FATAL((root = stats(&doc, &r)) != NULL);
        const struct qp_json *s      = qp_json_get(qp_json_get(root, "streams"), STREAM);
        double                flight = num(s, "in_flight", NULL);
        replies++;
        if (flight == 1 && strcmp(str(root, "worker", "job"), "batch") == 0) {
            in_flight++;
            seen = true;
        }
        if (num(s, "received", NULL) !=
            num(s, "published", NULL) + num(s, "dropped", NULL) + num(s, "waiting", NULL) + flight)
            unbalanced++;
        qp_json_free(doc);
        qp_ctl_reply_fini(&r);
    }
    fprintf(stderr, "\n%d stats replies under load, %d during a batch, %d unbalanced\n", replies,
            in_flight, unbalanced);
    CU_ASSERT(seen);
    CU_ASSERT_EQUAL(unbalanced, 0);
    CU_ASSERT_EQUAL(WEXITSTATUS(stop()), 0);
}

/* Wait (bounded) until stream s0 has n frames published or lost to the
 * engine; false when that never happens. *published, *errors: the counts. */
static bool settled(int n, double *published, double *errors)
{
    for (int64_t end = srv_now_ms() + 60000; srv_now_ms() < end && srv_alive(T.pid);
         srv_sleep_ms(20)) {
        struct qp_json_doc   *doc;
        struct qp_ctl_reply   r    = {0};
        const struct qp_json *root = stats(&doc, &r);
        const struct qp_json *s    = qp_json_get(qp_json_get(root, "streams"), STREAM);
        *published                 = num(s, "published", NULL);
        *errors                    = num(qp_json_get(s, "drops"), "engine_error", NULL);
        qp_json_free(doc);
        qp_ctl_reply_fini(&r);
        if (*published + *errors == n)
            return true;
    }
    return false;
}

static void test_transient_fault(void)
{
    double published = 0, errors = 0;
    NEEDS_MODEL();
    CU_ASSERT_FATAL(start("3"));
    uint64_t last = 0;
    for (int i = 1; i <= 5; i++) {
        last = send_frame();
        /* inference 3 fails; the probe after it is inference 4 and succeeds */
        CU_ASSERT_FATAL(settled(i, &published, &errors));
        CU_ASSERT_EQUAL(errors, i >= 3 ? 1 : 0);
        CU_ASSERT_EQUAL(published, i >= 3 ? i - 1 : i);
    }
    CU_ASSERT(srv_alive(T.pid));
    /* the last frame's Detections carry the count (the subscription is live by now) */
    CU_ASSERT_FATAL(detections_of(last, 30000));
    CU_ASSERT_EQUAL(msg.drops.engine_error, 1);
    CU_ASSERT_EQUAL(WEXITSTATUS(stop()), 0);
}

static void test_sticky_fault_exits_3(void)
{
    double published = 0, errors = 0;
    NEEDS_MODEL();
    CU_ASSERT_FATAL(start("2+"));
    send_frame();
    CU_ASSERT_FATAL(settled(1, &published, &errors));
    CU_ASSERT_EQUAL(published, 1);
    send_frame(); /* inference 2 fails, and so does the probe */
    int st = -1;
    for (int64_t end = srv_now_ms() + 30000; srv_now_ms() < end; srv_sleep_ms(50))
        if (waitpid(T.pid, &st, WNOHANG) == T.pid) {
            T.pid = 0;
            break;
        }
    CU_ASSERT_FATAL(T.pid == 0);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 3);
    char  line[1024];
    bool  said = false;
    FILE *f    = fopen(T.p.log, "r");
    while (f && fgets(line, sizeof line, f))
        said |= strstr(line, "sticky") != NULL && strncmp(line, "<3>", 3) == 0;
    if (f)
        fclose(f);
    CU_ASSERT(said);
    clients_free();
}

static void test_bad_hook_value(void)
{
    NEEDS_MODEL();
    setenv("QPERCEPTD_FAULT_INFERENCE", "soon", 1);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *lf = freopen(T.p.log, "w", stderr);
        (void)lf;
        const char *bin = getenv("QP_SERVER"); /* checked before the fork */
        if (bin)
            execl(bin, "qperceptd", "--config", T.p.cfg, (char *)NULL);
        _exit(127);
    }
    unsetenv("QPERCEPTD_FAULT_INFERENCE");
    int st = -1;
    CU_ASSERT_FATAL(pid > 0 && waitpid(pid, &st, 0) == pid);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
}

static void test_sighup_under_load(void)
{
    NEEDS_MODEL();
    CU_ASSERT_FATAL(start(NULL));
    send_frame();
    CU_ASSERT_FATAL(kill(T.pid, SIGHUP) == 0);
    double reloads = 0, failures = 0;
    int    sent = 1, busy = 0;
    for (int64_t end = srv_now_ms() + 120000; srv_now_ms() < end && reloads + failures < 1;) {
        /* a frame every 20 ms keeps the worker busy meanwhile (one refused
         * at the high-water mark is fine: the batcher serves the newest) */
        struct qp_err       err = {{0}};
        struct qp_frame_out f   = test_frame();
        sent += qp_pub_send(T.pub, &f, &err) == QP_OK;
        srv_sleep_ms(20);
        struct qp_json_doc   *doc;
        struct qp_ctl_reply   r = {0};
        const struct qp_json *root;
        CU_ASSERT_FATAL((root = stats(&doc, &r)) != NULL);
        reloads  = num(root, "worker", "reloads");
        failures = num(root, "worker", "reload_failures");
        busy += strcmp(str(root, "worker", "job"), "batch") == 0;
        qp_json_free(doc);
        qp_ctl_reply_fini(&r);
    }
    fprintf(stderr,
            "\nSIGHUP: %.0f reload(s), %.0f failed, %d frames sent, worker busy in %d "
            "stats replies meanwhile\n",
            reloads, failures, sent, busy);
    CU_ASSERT_EQUAL(reloads, 1);
    CU_ASSERT_EQUAL(failures, 0);
    CU_ASSERT(busy > 0);
    uint64_t seq = send_frame(); /* the new set serves */
    CU_ASSERT(detections_of(seq, 60000));
    CU_ASSERT_EQUAL(msg.drops.engine_error, 0);
    CU_ASSERT_EQUAL(WEXITSTATUS(stop()), 0);
}

/* img (RGB8, even size) as NV12 into a new buffer: BT.601 limited range,
 * chroma the mean of each 2x2 block (as a camera's ISP would). */
static uint8_t *to_nv12(const struct qp_image *img)
{
    int32_t  w = img->width, h = img->height;
    uint8_t *nv = malloc((size_t)w * (size_t)h * 3 / 2);
    if (!nv)
        return NULL;
    for (int32_t y = 0; y < h; y++)
        for (int32_t x = 0; x < w; x++) {
            const uint8_t *p = img->data + (size_t)y * (size_t)img->stride + (size_t)x * 3;
            double         v = 16 + (65.481 * p[0] + 128.553 * p[1] + 24.966 * p[2]) / 255;
            nv[(size_t)y * (size_t)w + (size_t)x] = (uint8_t)lround(v);
        }
    uint8_t *uv = nv + (size_t)w * (size_t)h;
    for (int32_t y = 0; y < h; y += 2)
        for (int32_t x = 0; x < w; x += 2) {
            double r = 0, g = 0, b = 0;
            for (int k = 0; k < 4; k++) {
                const uint8_t *p =
                    img->data + (size_t)(y + k / 2) * (size_t)img->stride + (size_t)(x + k % 2) * 3;
                r += p[0] / 4.0;
                g += p[1] / 4.0;
                b += p[2] / 4.0;
            }
            size_t o  = (size_t)(y / 2) * (size_t)w + (size_t)x;
            uv[o]     = (uint8_t)lround(128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255);
            uv[o + 1] = (uint8_t)lround(128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255);
        }
    return nv;
}

/* qp_detector_run of the model on img, as the server runs it. */
static bool run_in_process(const struct qp_image *img, struct qp_detection *out, int32_t *n)
{
    char                     manifest[1200];
    const char              *src = getenv("QP_SOURCE_DIR");
    struct qp_model_spec     spec;
    struct qp_engine        *e   = NULL;
    struct qp_detector      *det = NULL;
    struct qp_err            err = {{0}};
    struct qp_detect_params  p   = QP_DETECT_PARAMS_DEFAULT;
    struct qp_engine_options o   = QP_ENGINE_OPTIONS_DEFAULT;
    p.score_min                  = 0.25f;
    p.iou                        = 0.45f;
    p.max_dets                   = 100;
    o.backend                    = QP_BACKEND_CPU;
    snprintf(manifest, sizeof manifest, "%s/models/zoo.ini", src ? src : ".");
    qp_model_spec_init(&spec);
    bool ok = qp_model_spec_find(T.model, manifest, &spec, &err) == QP_OK &&
              qp_engine_open(T.model, &o, &e, &err) == QP_OK &&
              qp_detector_new(e, &spec, &det, &err) == QP_OK &&
              qp_detector_run(det, img, &p, out, 256, n, &err) == QP_OK;
    if (!ok)
        fprintf(stderr, "in-process run: %s\n", err.msg);
    qp_detector_free(det);
    qp_engine_free(e);
    qp_model_spec_fini(&spec);
    return ok;
}

static void test_nv12_frames(void)
{
    char                       path[1024];
    struct qp_image            rgb = {0};
    struct qp_err              err = {{0}};
    static struct qp_detection want[256];
    int32_t                    n_want = 0;
    NEEDS_MODEL();
    if (!qp_test_mirror_file(NUSCENES, path, sizeof path))
        QP_TEST_SKIP("the nuScenes CAM_FRONT frame is not in the mirror");
    CU_ASSERT_FATAL(qp_image_load(path, &rgb, &err) == QP_OK);
    CU_ASSERT_FATAL(rgb.format == QP_PIXEL_RGB8 && rgb.width % 2 == 0 && rgb.height % 2 == 0);
    uint8_t *nv = to_nv12(&rgb);
    CU_ASSERT_FATAL(nv != NULL);
    struct qp_image img = {rgb.width, rgb.height, rgb.width, QP_PIXEL_NV12, nv};
    CU_ASSERT_FATAL(run_in_process(&img, want, &n_want));
    CU_ASSERT(n_want >= 3);

    CU_ASSERT_FATAL(start(NULL));
    struct qp_pub     *pub = NULL;
    struct qp_pub_opts po  = QP_PUB_OPTS_DEFAULT;
    po.endpoint            = T.nv_ep;
    po.stream              = NV_STREAM;
    po.kind                = QP_PUB_KIND_PUSH;
    po.max_frame_bytes     = (size_t)img.width * (size_t)img.height * 3 / 2;
    CU_ASSERT_FATAL(qp_pub_new(&po, &pub, &err) == QP_OK);
    struct qp_frame_out f = {.width        = (uint32_t)img.width,
                             .height       = (uint32_t)img.height,
                             .stride       = (uint32_t)img.width,
                             .format       = QP_FRAME_FORMAT_NV12,
                             .pixels       = nv,
                             .pixels_bytes = po.max_frame_bytes};
    struct qp_pub_stats ps;
    qp_pub_stats(pub, &ps);
    CU_ASSERT_FATAL(qp_pub_send(pub, &f, &err) == QP_OK);
    bool got = false;
    for (int64_t end = srv_now_ms() + 30000; !got && srv_now_ms() < end;)
        got = qp_sub_recv(T.sub, &msg, 100, &err) == QP_OK &&
              strcmp(msg.header.stream, NV_STREAM) == 0 && msg.header.seq == ps.next_seq;
    CU_ASSERT_FATAL(got);
    CU_ASSERT_EQUAL(msg.status, QP_DET_STATUS_OK);
    CU_ASSERT_EQUAL_FATAL(msg.n_detections, (uint32_t)n_want);
    for (int32_t i = 0; i < n_want; i++) {
        const struct qp_detection_in *d = &msg.detections[i];
        CU_ASSERT_EQUAL(d->class_id, (uint32_t)want[i].class_id);
        CU_ASSERT(fabsf(d->score - want[i].score) < 1e-3f);
        CU_ASSERT(fabsf(d->x0 - want[i].x0) < 1e-2f && fabsf(d->y0 - want[i].y0) < 1e-2f &&
                  fabsf(d->x1 - want[i].x1) < 1e-2f && fabsf(d->y1 - want[i].y1) < 1e-2f);
    }
    fprintf(stderr, "\nNV12 %dx%d: %d detections, as in-process\n", (int)img.width, (int)img.height,
            (int)n_want);
    qp_pub_free(pub);
    free(nv);
    qp_image_free(&rgb);
    CU_ASSERT_EQUAL(WEXITSTATUS(stop()), 0);
}

static CU_TestInfo tests[] = {
    {"control answered while a batch runs; counters balance under load", test_control_during_batch},
    {"a failed inference costs its frame; serving goes on", test_transient_fault},
    {"a sticky device error: exit status 3", test_sticky_fault_exits_3},
    {"a malformed fault hook fails start-up", test_bad_hook_value},
    {"SIGHUP under load: reload thread beside the worker, swapped in", test_sighup_under_load},
    {"NV12 frames: detections as in-process", test_nv12_frames},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"server_worker", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
