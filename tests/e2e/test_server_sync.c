// SPDX-License-Identifier: Apache-2.0
/*
 * test_server_sync.c - qperceptd's time-sync window (server.sync_window_us),
 * seen from outside (env QP_SERVER, YOLOX-Nano from QP_MIRROR): three PULL
 * streams of small BGR8 frames whose capture stamps the test sets, batches
 * of up to three (batch_sizes 1,2,4), max_delay_us 300 ms so that batches
 * form when every camera has a frame (or a leftover's delay ran out).
 *
 * After a first round that makes all three cameras active (until a
 * camera has sent, nobody waits for it), each round
 * sends cam0, cam1 captured 1 ms later and cam2 captured 20 ms later:
 *   - sync_window_us 5000: cam0 and cam1 form a batch of two, cam2 runs
 *     alone after the delay (never with the next round's frames, which
 *     arrive later); no batch spans more than the window: the stats'
 *     batch_capture_spread_ms max is at most 1 ms, the same on /metrics;
 *   - sync_window_us 0: the three form one batch, spread 20 ms.
 * Every Detections carries its batch's size, which is what is checked;
 * nothing is dropped. Every wait is bounded. Without QP_SERVER or the
 * model: skipped.
 */
#define _GNU_SOURCE /* mkdtemp */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "qp_test.h"
#include "qpercept/client.h"
#include "server_run.h"

#define SIDE 64
#define N_CAMS 3
#define ROUNDS 3

static const char *const cams[N_CAMS] = {"cam0", "cam1", "cam2"};
/* each round: cam k captured offset_ms[k] after cam0 */
static const int offset_ms[N_CAMS] = {0, 1, 20};

static struct {
    bool             ok;
    char             model[1024];
    struct srv_paths p;
    pid_t            pid;
    uint8_t          px[SIDE * SIDE * 3];
    struct qp_pub   *pub[N_CAMS];
    struct qp_sub   *sub;
} T;

static struct qp_detections_in msg; /* large: not on the stack */

static int suite_init(void)
{
    if (!getenv("QP_SERVER") ||
        !qp_test_mirror_file("models/yolox_nano_416_coco.onnx", T.model, sizeof T.model))
        return 0;
    if (!srv_paths_make(&T.p, "server_sync"))
        return 1;
    for (size_t i = 0; i < sizeof T.px; i++)
        T.px[i] = (uint8_t)(i * 7 + i / (SIDE * 3) * 13);
    T.ok = true;
    return 0;
}

static void clients_free(void)
{
    for (int k = 0; k < N_CAMS; k++) {
        qp_pub_free(T.pub[k]);
        T.pub[k] = NULL;
    }
    qp_sub_free(T.sub);
    T.sub = NULL;
}

static int suite_clean(void)
{
    srv_kill(&T.pid);
    clients_free();
    return !T.ok || srv_paths_remove(&T.p) ? 0 : 1;
}

/* Start a server with sync_window_us = window and connect the cameras and
 * a subscriber. */
static bool start(unsigned window)
{
    FILE *f = srv_config_open(T.p.cfg, &T.p,
                              "max_delay_us = 300000\nmax_age_ms = 5000\nsync_window_us = %u\n"
                              "max_frame_bytes = 65536\nwatchdog = off\nmetrics_port = 0\n",
                              window);
    if (!f)
        return false;
    srv_config_engine(f, T.model, "1,2,4");
    for (int k = 0; k < N_CAMS; k++)
        srv_config_stream(f, &T.p, cams[k], "pull", SIDE, SIDE);
    if (fclose(f) != 0 || !srv_start(&T.pid, T.p.cfg, T.p.log, T.p.ctl))
        return false;
    if (!srv_subscribe(T.p.det, &T.sub))
        return false;
    for (int k = 0; k < N_CAMS; k++) {
        struct qp_err      err = {{0}};
        char               ep[300];
        struct qp_pub_opts po = QP_PUB_OPTS_DEFAULT;
        if (!srv_paths_endpoint(&T.p, cams[k], ep, sizeof ep))
            return false;
        po.endpoint        = ep;
        po.stream          = cams[k];
        po.kind            = QP_PUB_KIND_PUSH;
        po.max_frame_bytes = sizeof T.px;
        if (qp_pub_new(&po, &T.pub[k], &err) != QP_OK) {
            fprintf(stderr, "%s: %s\n", cams[k], err.msg);
            return false;
        }
    }
    srv_sleep_ms(300); /* the subscription reaches the server's PUB */
    return true;
}

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One round: every camera's frame, cam k captured offsets[k] ms after
 * the first; then each one's Detections: its batch size into sizes[k]
 * (0: none came within 5 s). */
static void round_of(const int offsets[N_CAMS], uint32_t sizes[N_CAMS])
{
    uint64_t t0          = realtime_ns(), seq[N_CAMS];
    bool     got[N_CAMS] = {false};
    for (int k = 0; k < N_CAMS; k++) {
        struct qp_pub_stats ps;
        struct qp_err       err = {{0}};
        struct qp_frame_out fr  = {.width        = SIDE,
                                   .height       = SIDE,
                                   .stride       = SIDE * 3,
                                   .format       = QP_FRAME_FORMAT_BGR8,
                                   .pixels       = T.px,
                                   .pixels_bytes = sizeof T.px,
                                   .capture_ns   = t0 + (uint64_t)offsets[k] * 1000000u};
        qp_pub_stats(T.pub[k], &ps);
        seq[k] = ps.next_seq;
        CU_ASSERT_EQUAL_FATAL(qp_pub_send(T.pub[k], &fr, &err), QP_OK);
        sizes[k] = 0;
    }
    int n = 0;
    for (int64_t end = srv_now_ms() + 5000; n < N_CAMS && srv_now_ms() < end;) {
        struct qp_err err = {{0}};
        if (qp_sub_recv(T.sub, &msg, 100, &err) != QP_OK)
            continue;
        for (int k = 0; k < N_CAMS; k++)
            if (!got[k] && strcmp(msg.header.stream, cams[k]) == 0 && msg.header.seq == seq[k]) {
                got[k]   = true;
                sizes[k] = msg.batch_size;
                n++;
            }
    }
}

/* The spread histogram's max in ms (stats), checked against /metrics' count. */
static double spread_max_ms(double *batches)
{
    struct qp_json_doc   *doc = NULL;
    struct qp_ctl_reply   r;
    const struct qp_json *root = srv_stats(T.p.ctl, &doc, &r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    const struct qp_json *h = qp_json_get(root, "batch_capture_spread_ms");
    double                m = srv_json_num(h, "max");
    *batches                = srv_json_num(qp_json_get(root, "batches"), "total");
    CU_ASSERT_EQUAL(srv_json_num(h, "count"), *batches);
    double dropped = 0;
    for (int k = 0; k < N_CAMS; k++)
        dropped += srv_json_num(qp_json_get(qp_json_get(root, "streams"), cams[k]), "dropped");
    CU_ASSERT_EQUAL(dropped, 0);
    qp_json_free(doc);
    qp_ctl_reply_fini(&r);
    return m;
}

static void check(unsigned window)
{
    if (!T.ok)
        QP_TEST_SKIP("QP_SERVER or models/yolox_nano_416_coco.onnx missing");
    QP_TEST_RAN();
    CU_ASSERT_FATAL(start(window));
    static const int together[N_CAMS] = {0, 0, 0};
    uint32_t         sizes[N_CAMS];
    round_of(together, sizes); /* all three active from here (before, cam0 alone was) */
    for (int k = 0; k < N_CAMS; k++)
        CU_ASSERT(sizes[k] >= 1);
    double first = 0;
    spread_max_ms(&first);
    for (int r = 0; r < ROUNDS; r++) {
        round_of(offset_ms, sizes);
        bool want = window ? sizes[0] == 2 && sizes[1] == 2 && sizes[2] == 1
                           : sizes[0] == 3 && sizes[1] == 3 && sizes[2] == 3;
        CU_ASSERT(want);
        printf("\n  window %u us, round %d: batch sizes %u %u %u", window, r, sizes[0], sizes[1],
               sizes[2]);
    }
    double batches = 0, max = spread_max_ms(&batches);
    printf("\n  %g batches after the first round, capture spread max %.3f ms", batches - first,
           max);
    CU_ASSERT_EQUAL(batches - first, window ? 2 * ROUNDS : ROUNDS);
    double spread = window ? 1.0 : 20.0; /* cam0 + cam1, or all three */
    CU_ASSERT(fabs(max - spread) <= 0.1);
    clients_free();
    CU_ASSERT_EQUAL(srv_stop(&T.pid, 30000), 0);
}

static void test_window(void)
{
    check(5000);
}

static void test_no_window(void)
{
    check(0);
}

static CU_TestInfo tests[] = {
    {"sync_window_us 5000: the late camera runs alone", test_window},
    {"sync_window_us 0: all three in one batch", test_no_window},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"qperceptd/sync", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
