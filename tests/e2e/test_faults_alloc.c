// SPDX-License-Identifier: Apache-2.0
/*
 * test_faults_alloc.c - SQLite-style allocation failures (fail allocation
 * N, for N = 1, 2, ...) where test_engine_faults.c does not reach: the
 * engine BUILD (qp_build_run, what `qpercept build --precision int8` runs)
 * and the START of qperceptd (env QP_SERVER; its QPERCEPTD_FAULT_ALLOC
 * test hook, server/main.c). Both on a tiny detector made here (one strided
 * Conv, Reshape, Transpose: a one-class YOLOX head on a 4x4 grid of a 32x32
 * input, its spec in a sidecar .onnx.ini), so every N is walked in seconds:
 *   - build: each failing run returns QP_E_NOMEM with a message, leaves
 *     nothing allocated (qp_alloc_live) and never aborts; the run past the
 *     last allocation succeeds and its graph equals a fault-free build's;
 *   - server start: each failing start exits 1 within a bounded time with a
 *     "start-up failed: <what>" (or "out of memory") line, no allocation
 *     left behind (the hook's own check at exit) and, in a sanitizer build,
 *     no ASan / LSan report; a start whose failure was absorbed, and the
 *     start past the last allocation, serve and stop on SIGTERM with 0.
 * The build calibrates on two small JPEGs written here and walks every N
 * up to 200, then a stride (its allocations number in the thousands).
 */
#define _GNU_SOURCE /* mkdtemp, setenv */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <turbojpeg.h>

#include "core/alloc.h"
#include "qp_test.h"
#include "quant/build.h"
#include "server_run.h"
#include "tiny_detector.h"

#define IMAGE_SIDE 64 /* the calibration images: small, so a build is quick */

static struct {
    char dir[256], model[300], sidecar[320], images[2][320];
} T;

/* A IMAGE_SIDE^2 JPEG of a pattern (k picks which) at path. */
static bool write_image(const char *path, int k)
{
    static uint8_t px[IMAGE_SIDE * IMAGE_SIDE * 3];
    for (int i = 0; i < IMAGE_SIDE * IMAGE_SIDE * 3; i++)
        px[i] = (uint8_t)((i % 3 == k ? i / 3 % IMAGE_SIDE : i / 3 / IMAGE_SIDE) * 4);
    unsigned char *jpeg = NULL;
    unsigned long  n    = 0;
    tjhandle       tj   = tjInitCompress();
    bool  ok = tj && tjCompress2(tj, px, IMAGE_SIDE, 0, IMAGE_SIDE, TJPF_RGB, &jpeg, &n, TJSAMP_444,
                                 90, 0) == 0;
    FILE *f  = ok ? fopen(path, "wb") : NULL;
    ok       = f && fwrite(jpeg, 1, n, f) == n;
    ok       = (f && fclose(f) == 0) && ok;
    tjFree(jpeg);
    if (tj)
        tjDestroy(tj);
    return ok;
}

static int suite_init(void)
{
    snprintf(T.dir, sizeof T.dir, "/tmp/qp_test_faults_alloc_XXXXXX");
    if (!mkdtemp(T.dir))
        return 1;
    snprintf(T.model, sizeof T.model, "%s/tiny.onnx", T.dir);
    snprintf(T.sidecar, sizeof T.sidecar, "%s/tiny.onnx.ini", T.dir);
    for (int i = 0; i < 2; i++) {
        snprintf(T.images[i], sizeof T.images[i], "%s/calib%d.jpg", T.dir, i);
        if (!write_image(T.images[i], i))
            return 1;
    }
    return tiny_detector_write(T.model, T.sidecar) ? 0 : 1;
}

static int suite_clean(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", T.dir);
    return system(cmd) == 0 ? 0 : 1;
}

/* ===== Build ===== */

static enum qp_status build(const char *const *images, struct qp_build_result *r,
                            struct qp_err *err)
{
    struct qp_model_spec spec;
    qp_model_spec_init(&spec);
    enum qp_status st = QP_OK;
    for (size_t i = 0; st == QP_OK && i < sizeof tiny_spec / sizeof tiny_spec[0]; i++)
        st = qp_model_spec_set(&spec, tiny_spec[i][0], tiny_spec[i][1], T.dir, err);
    /* as `qpercept build --precision int8` with its defaults: every
     * clipping method tried, bias correction, equalization, GPTQ weight
     * rounding, measured */
    struct qp_build_opts o = {.model           = T.model,
                              .spec            = &spec,
                              .precision       = QP_PREC_INT8,
                              .min_agreement   = 0.95,
                              .bias_correction = true,
                              .equalize        = true,
                              .gptq            = true,
                              .observer        = QP_OBSERVER_PARAMS_DEFAULT,
                              .pick_method     = true,
                              .images          = images,
                              .n_images        = 2,
                              .n_measure       = 2,
                              .n_threads       = 1};
    memset(r, 0, sizeof *r);
    if (st == QP_OK)
        st = qp_build_run(&o, r, err);
    qp_model_spec_fini(&spec);
    return st;
}

static void test_build_every_allocation(void)
{
    QP_TEST_RAN();
    const char *const      images[2] = {T.images[0], T.images[1]};
    struct qp_build_result ref, r;
    struct qp_err          err  = {{0}};
    int64_t                live = qp_alloc_live();
    qp_alloc_reset_counters();
    enum qp_status st = build(images, &ref, &err);
    if (st != QP_OK)
        fprintf(stderr, "fault-free build: %s\n", err.msg);
    CU_ASSERT_FATAL(st == QP_OK);
    /* every N up to EVERY, then a stride that keeps the walk near 2 x EVERY runs */
    enum { EVERY = 200 };
    int64_t total = qp_alloc_count(), base = qp_alloc_live();
    int64_t step  = total > EVERY ? (total - EVERY) / EVERY + 1 : 1;
    int     fails = 0, bad = 0, leaks = 0, differ = 0;
    for (int64_t n = 1;; n += n < EVERY ? 1 : step) {
        memset(&err, 0, sizeof err);
        qp_alloc_fail_at(n);
        st         = build(images, &r, &err);
        bool fired = qp_alloc_failed();
        qp_alloc_fail_at(0);
        if (st == QP_OK) {
            differ += r.g.n_nodes != ref.g.n_nodes || r.n_layers != ref.n_layers ||
                      r.layers[0].x_scale != ref.layers[0].x_scale ||
                      r.layers[0].y_scale != ref.layers[0].y_scale;
            qp_build_result_fini(&r);
            if (!fired)
                break; /* n is past the last allocation of the build */
        } else {
            fails++;
            if (st != QP_E_NOMEM || !err.msg[0]) {
                bad++;
                printf("\n  allocation %lld: %s: %s", (long long)n, qp_status_str(st), err.msg);
            }
        }
        if (qp_alloc_live() != base) {
            leaks++;
            printf("\n  allocation %lld: %lld blocks leaked (%s)", (long long)n,
                   (long long)(qp_alloc_live() - base), err.msg);
            base = qp_alloc_live();
        }
        CU_ASSERT_FATAL(n < 200000);
    }
    qp_build_result_fini(&ref);
    printf("\n  build: %lld allocations, %d injected failures (every one up to %d, then every "
           "%lld-th), every one QP_E_NOMEM: %s\n",
           (long long)total, fails, EVERY, (long long)step, bad ? "no" : "yes");
    CU_ASSERT(fails > 50);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(leaks, 0);
    CU_ASSERT_EQUAL(differ, 0);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

/* ===== Server start ===== */

static bool write_config(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    fprintf(f,
            "[server]\ncontrol_endpoint = ipc://%s/control\npublish_endpoint = ipc://%s/det\n"
            "frame_tap_endpoint = ipc://%s/tap\nmetrics_port = 0\nwatchdog = off\n"
            "log_level = info\n[engine]\npath = %s\nwarmup = 1\nbatch_sizes = 1\n"
            "backend = cpu\nthreads = 1\n[stream.s0]\nendpoint = ipc://%s/s0\nmode = pull\n"
            "[stream.s1]\nendpoint = ipc://%s/s1\nmode = pull\n",
            T.dir, T.dir, T.dir, T.model, T.dir, T.dir);
    return fclose(f) == 0;
}

/* The whole log into buf (NUL-terminated). */
static void read_log(const char *path, char *buf, size_t n)
{
    FILE  *f = fopen(path, "r");
    size_t k = f ? fread(buf, 1, n - 1, f) : 0;
    buf[k]   = '\0';
    if (f)
        fclose(f);
}

/* What one start with allocation n failing did. */
enum outcome { OUT_FAILED, OUT_ABSORBED, OUT_NOT_REACHED, OUT_BAD };

static enum outcome start_once(const char *cfg, const char *log, int64_t n, char *text, size_t tn)
{
    char v[32];
    snprintf(v, sizeof v, "%lld", (long long)n);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("QPERCEPTD_FAULT_ALLOC", v, 1);
        FILE *lf = freopen(log, "w", stderr);
        (void)lf;
        const char *bin = getenv("QP_SERVER"); /* checked before the fork */
        if (bin)
            execl(bin, "qperceptd", "--config", cfg, (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        return OUT_BAD;
    int  st = 0, reaped = 0;
    bool started = false;
    /* over once the hook reports, or the process exits; bounded */
    for (int64_t end = srv_now_ms() + 60000; srv_now_ms() < end && !started && !reaped;) {
        srv_sleep_ms(5);
        read_log(log, text, tn);
        started = strstr(text, "test hook: start-up succeeded") != NULL;
        reaped  = waitpid(pid, &st, WNOHANG) == pid;
    }
    if (started) { /* serving: it must drain and exit 0 */
        srv_sleep_ms(20);
        kill(pid, SIGTERM);
        for (int64_t end = srv_now_ms() + 30000; !reaped && srv_now_ms() < end; srv_sleep_ms(5))
            reaped = waitpid(pid, &st, WNOHANG) == pid;
    }
    if (!reaped) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        printf("\n  allocation %lld: qperceptd did not exit in time", (long long)n);
        return OUT_BAD;
    }
    read_log(log, text, tn);
    int         code   = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    bool        san    = strstr(text, "Sanitizer") != NULL || strstr(text, "runtime error") != NULL;
    bool        leak   = strstr(text, "not freed at exit") != NULL;
    bool        failed = strstr(text, "test hook: start-up failed") != NULL;
    const char *w      = strstr(text, "start-up failed: ");
    bool        named  = (w && strlen(w) > sizeof "start-up failed: " + 8) ||
                 strstr(text, "qperceptd: out of memory (");
    if (san || leak || (failed && (code != 1 || !named)) || (started && code != 0) ||
        (!failed && !started)) {
        printf("\n  allocation %lld: exit %d%s%s%s, log:\n%s", (long long)n, code,
               san ? ", sanitizer report" : "", leak ? ", leak" : "",
               failed && !named ? ", no reason" : "", text);
        return OUT_BAD;
    }
    if (failed && strstr(text, "was not reached")) {
        printf("\n  allocation %lld: start-up failed without an injected failure:\n%s",
               (long long)n, text);
        return OUT_BAD;
    }
    if (failed)
        return OUT_FAILED;
    return strstr(text, "was not reached") ? OUT_NOT_REACHED : OUT_ABSORBED;
}

static void test_server_start_every_allocation(void)
{
    if (!getenv("QP_SERVER"))
        QP_TEST_SKIP("QP_SERVER not set");
    QP_TEST_RAN();
    char cfg[300], log[300];
    snprintf(cfg, sizeof cfg, "%s/qperceptd.conf", T.dir);
    snprintf(log, sizeof log, "%s/qperceptd.log", T.dir);
    CU_ASSERT_FATAL(write_config(cfg));
    static char  text[1 << 16];
    int          n_out[OUT_BAD + 1] = {0};
    enum outcome o                  = OUT_BAD;
    int64_t      n                  = 1;
    for (; n < 100000; n++) {
        o = start_once(cfg, log, n, text, sizeof text);
        n_out[o]++;
        if (o == OUT_NOT_REACHED || n_out[OUT_BAD] > 5)
            break;
    }
    printf("\n  server start: %d failed cleanly, %d absorbed, %d bad, the start past the "
           "last allocation (%lld) served: %s\n",
           n_out[OUT_FAILED], n_out[OUT_ABSORBED], n_out[OUT_BAD], (long long)n - 1,
           o == OUT_NOT_REACHED ? "yes" : "no");
    CU_ASSERT_EQUAL(o, OUT_NOT_REACHED);
    CU_ASSERT_EQUAL(n_out[OUT_BAD], 0);
    CU_ASSERT(n_out[OUT_FAILED] > 20);
}

static CU_TestInfo tests[] = {
    {"every allocation of an INT8 build can fail cleanly", test_build_every_allocation},
    {"every allocation of qperceptd's start can fail cleanly", test_server_start_every_allocation},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"faults/alloc", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
