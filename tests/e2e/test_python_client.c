// SPDX-License-Identifier: Apache-2.0
/*
 * test_python_client.c - the Python client (clients/python) against a real
 * qperceptd (env QP_SERVER, YOLOX-Nano from QP_MIRROR, CPU backend), checked
 * against the C client library.
 *
 * The test starts the server with one pull stream, subscribes to its
 * detections with qp_sub, and runs tests/tools/python_client_test.py with
 * the system python3 (env QP_PYTHON3, set by CMake: Debian's python3-zmq and
 * python3-protobuf, not the test venv; the protobuf module from the build,
 * env QPERCEPT_PB2_DIR). The script publishes the nuScenes CAM_FRONT frame
 * through the Python Publisher (as JPEG, and as raw RGB8 / BGR8 pixels that
 * this test decoded with qp_image_load), receives every Detections through
 * the Python Subscriber, prints each as a JSON line, and runs its own checks
 * (control, validation, drops, malformed messages counted and not raised;
 * its header says which). This test then requires, for every line, the
 * same message from qp_sub: stream, seq, stamps, model, engine, status and
 * every detection (class, label, score and box within 1e-5), and the
 * script's "PASS".
 *
 * Skipped (exit 77; a failure with QP_REQUIRE_DATA=1) when the server, the
 * model, the frame, python3 or its zmq / protobuf modules are missing.
 */
#define _GNU_SOURCE /* mkdtemp */
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
#include "server_run.h"

#define NUSCENES                                                                                   \
    "data/driving/nuscenes/n015-2018-07-24-11-22-45+0800__CAM_FRONT__1532402927612460.jpg"
#define STREAM "cam_front"
#define MAX_SEQ 32

static struct {
    bool             ok;
    const char      *python;
    char             model[1024], jpeg[1024], ep[300], rgb[300];
    struct srv_paths p;
    int32_t          width, height;
    pid_t            pid;
    struct qp_sub   *sub;
} T;

static struct qp_detections_in got[MAX_SEQ]; /* what qp_sub received, by seq */
static bool                    have[MAX_SEQ];
static char                    out[1 << 20]; /* the script's stdout */

/* python3 with the modules the client needs: true when it imports them. */
static bool python_ready(void)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' -c 'import zmq, google.protobuf' >/dev/null 2>&1", T.python);
    int rc = system(cmd);
    return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

/* The frame decoded to raw RGB8 rows in T.rgb, its size in T.width/height. */
static bool write_rgb(void)
{
    struct qp_image img = {0};
    struct qp_err   err = {{0}};
    if (qp_image_load(T.jpeg, &img, &err) != QP_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return false;
    }
    FILE *f  = fopen(T.rgb, "wb");
    bool  ok = f != NULL;
    for (int32_t y = 0; ok && y < img.height; y++)
        ok = fwrite(img.data + (size_t)y * (size_t)img.stride, 1, (size_t)img.width * 3, f) ==
             (size_t)img.width * 3;
    ok       = f && fclose(f) == 0 && ok;
    T.width  = img.width;
    T.height = img.height;
    qp_image_free(&img);
    return ok;
}

static int suite_init(void)
{
    const char *py = getenv("QP_PYTHON3");
    T.python       = py && *py ? py : "python3";
    if (!getenv("QP_SERVER") || !getenv("QP_SOURCE_DIR") ||
        !qp_test_mirror_file("models/yolox_nano_416_coco.onnx", T.model, sizeof T.model) ||
        !qp_test_mirror_file(NUSCENES, T.jpeg, sizeof T.jpeg) || !python_ready())
        return 0;
    if (!srv_paths_make(&T.p, "pyc") || !srv_paths_endpoint(&T.p, STREAM, T.ep, sizeof T.ep))
        return 1;
    snprintf(T.rgb, sizeof T.rgb, "%s/frame.rgb", T.p.dir);
    if (!write_rgb())
        return 1;
    FILE *f = srv_config_open_unbatched(&T.p, T.model, (T.width * 4 + 64) * T.height);
    if (!f)
        return 1;
    srv_config_stream(f, &T.p, STREAM, "pull", 0, 0);
    if (fclose(f) != 0)
        return 1;
    T.ok = true;
    return 0;
}

static int suite_clean(void)
{
    qp_sub_free(T.sub);
    srv_end(&T.pid, 30000);
    return srv_paths_remove(&T.p) ? 0 : 1;
}

/* Run the script to its end: its exit code (-1: it did not run), stdout in
 * out. */
static int run_script(void)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "'%s' '%s/tests/tools/python_client_test.py' --frames '%s' --stream %s "
             "--detections '%s' --control '%s' --jpeg '%s' --rgb '%s' --width %d --height %d "
             "--tmp '%s'",
             T.python, getenv("QP_SOURCE_DIR"), T.ep, STREAM, T.p.det, T.p.ctl, T.jpeg, T.rgb,
             T.width, T.height, T.p.dir);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n]   = '\0';
    int rc   = pclose(p);
    return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Everything qp_sub has received by now (it stops after a quiet second). */
static void drain_sub(void)
{
    struct qp_detections_in *m = malloc(sizeof *m);
    CU_ASSERT_FATAL(m != NULL);
    struct qp_err err = {{0}};
    for (;;) {
        enum qp_status st = qp_sub_recv(T.sub, m, 1000, &err);
        if (st == QP_E_AGAIN)
            break;
        CU_ASSERT_EQUAL(st, QP_OK);
        if (st == QP_OK && m->header.seq < MAX_SEQ) {
            got[m->header.seq]  = *m;
            have[m->header.seq] = true;
        }
    }
    free(m);
}

/* Both sides decode the same float32: only text conversion could differ. */
static bool close_to(double a, double b)
{
    return fabs(a - b) <= 1e-5;
}

/* One detection [class_id, label, score, x0, y0, x1, y1] against qp_sub's. */
static int compare_detection(const struct qp_json *e, const struct qp_detection_in *r)
{
    const double want[5] = {r->score, r->x0, r->y0, r->x1, r->y1};
    if (e->type != QP_JSON_ARRAY || e->n != 7 || e->v.items[0].type != QP_JSON_NUMBER ||
        e->v.items[1].type != QP_JSON_STRING)
        return 1;
    int bad = e->v.items[0].v.num != r->class_id || strcmp(e->v.items[1].v.str, r->label) != 0;
    for (int j = 0; j < 5; j++)
        bad +=
            e->v.items[2 + j].type != QP_JSON_NUMBER || !close_to(e->v.items[2 + j].v.num, want[j]);
    return bad;
}

/* One line of the script against the message qp_sub received for its seq:
 * the number of differences (said on stderr); *n_dets its detections. */
static int compare_line(const struct qp_json *o, uint32_t *n_dets)
{
    double   s   = srv_json_num(o, "seq");
    uint64_t seq = s >= 0 && s < MAX_SEQ ? (uint64_t)s : MAX_SEQ;
    if (seq >= MAX_SEQ || !have[seq] || strcmp(srv_json_str(o, "stream"), STREAM) != 0) {
        fprintf(stderr, "python line of %s seq %g: qp_sub has no such message\n",
                srv_json_str(o, "stream"), s);
        return 1;
    }
    const struct qp_detections_in *m   = &got[seq];
    const struct qp_json          *d   = qp_json_get(o, "detections");
    int                            bad = 0;
    /* a uint64 becomes the nearest double in the parser and in the cast alike */
    bad += srv_json_num(o, "capture_ns") != (double)m->header.capture_ns;
    bad += srv_json_num(o, "published_ns") != (double)m->stamps.published_ns;
    bad += srv_json_num(o, "received_ns") != (double)m->stamps.received_ns;
    bad += srv_json_num(o, "batch_size") != m->batch_size;
    bad += srv_json_num(o, "malformed_drops") != (double)m->drops.malformed;
    bad += strcmp(srv_json_str(o, "frame_id"), m->header.frame_id) != 0;
    bad += strcmp(srv_json_str(o, "model"), m->model) != 0 ||
           strcmp(srv_json_str(o, "engine_id"), m->engine_id) != 0;
    bad += strcmp(srv_json_str(o, "status"), qp_det_status_name(m->status)) != 0;
    bad += strcmp(srv_json_str(o, "error"), m->error) != 0;
    if (!d || d->type != QP_JSON_ARRAY || d->n != m->n_detections) {
        fprintf(stderr, "seq %llu: python %u detections, qp_sub %u\n", (unsigned long long)seq,
                d && d->type == QP_JSON_ARRAY ? d->n : 0, m->n_detections);
        return bad + 1;
    }
    for (uint32_t i = 0; i < d->n; i++)
        bad += compare_detection(&d->v.items[i], &m->detections[i]);
    if (bad)
        fprintf(stderr, "seq %llu: %d fields differ from qp_sub's\n", (unsigned long long)seq, bad);
    *n_dets = d->n;
    return bad;
}

static void test_python_client_matches_c(void)
{
    if (!T.ok)
        QP_TEST_SKIP("QP_SERVER, the model, the nuScenes frame or %s with zmq and protobuf "
                     "missing",
                     T.python ? T.python : "python3");
    QP_TEST_RAN();
    CU_ASSERT_FATAL(srv_start(&T.pid, T.p.cfg, T.p.log, T.p.ctl));
    struct qp_err      err = {{0}};
    struct qp_sub_opts so  = QP_SUB_OPTS_DEFAULT;
    so.endpoint            = T.p.det;
    CU_ASSERT_FATAL(qp_sub_new(&so, &T.sub, &err) == QP_OK);
    srv_sleep_ms(300); /* the subscription reaches the server's PUB */

    int rc = run_script();
    if (rc == 77)
        QP_TEST_SKIP("python_client_test.py skipped (see its message)");
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\nPASS "));
    drain_sub();

    int      n_lines = 0;
    uint32_t n_dets  = 0;
    for (char *line = out, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        if (line[0] != '{')
            continue;
        struct qp_json_doc *doc = NULL;
        if (qp_json_parse(line, (size_t)(nl - line), &doc, &err) != QP_OK) {
            fprintf(stderr, "not JSON: %.*s: %s\n", (int)(nl - line), line, err.msg);
            CU_FAIL("a line of the script is not JSON");
            continue;
        }
        uint32_t k = 0;
        CU_ASSERT_EQUAL(compare_line(qp_json_root(doc), &k), 0);
        n_dets += k;
        n_lines++;
        qp_json_free(doc);
    }
    /* the first frame, then JPEG, RGB8, BGR8, padded BGR8 (and numpy) */
    CU_ASSERT(n_lines >= 5);
    CU_ASSERT(n_dets >= (uint32_t)n_lines); /* cars on the road: boxes were compared */
    const char *pass = strstr(out, "\nPASS ");
    fprintf(stderr, "\n%d messages compared, %u detections; script: %.*s\n", n_lines, n_dets,
            pass ? (int)strcspn(pass + 1, "\n") : 4, pass ? pass + 1 : "none");
    CU_ASSERT_EQUAL(WEXITSTATUS(srv_stop(&T.pid, 30000)), 0);
}

static CU_TestInfo tests[] = {
    {"Python client: detections equal qp_sub's; control, rules, malformed",
     test_python_client_matches_c},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"python_client", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
