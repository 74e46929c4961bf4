// SPDX-License-Identifier: Apache-2.0
/*
 * test_config.c - qperceptd's configuration (server/config.h): defaults, a
 * full file, every class of error with its message, overrides, the
 * print -> read round trip, the shipped deploy/qperceptd.conf, and hostile
 * input (long lines, NUL bytes, thousands of sections, values at their
 * bounds +-1, random bytes, failed allocations).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "qp_test.h"
#include "server/config.h"

/* The smallest file that loads: an engine and one stream. */
#define MINIMAL "[engine]\npath = m.qpe\n[stream.front]\nendpoint = ipc:///tmp/f\n"

static struct qp_config cfg, cfg2; /* ~26 KiB each: static, not on the stack */

static bool contains(const char *s, const char *sub)
{
    return strstr(s, sub) != NULL;
}

/* Load text (expected to fail with QP_E_INVAL) and check that the message
 * holds every one of the NULL-terminated substrings. */
static void expect_error_v(const char *text, const char *const *subs)
{
    struct qp_err err = {{0}};
    CU_ASSERT_EQUAL(qp_config_load_string(text, "t.conf", &cfg, &err), QP_E_INVAL);
    for (int i = 0; subs[i]; i++) {
        if (!contains(err.msg, subs[i]))
            fprintf(stderr, "\nmessage '%s' lacks '%s'\n", err.msg, subs[i]);
        CU_ASSERT(contains(err.msg, subs[i]));
    }
}
#define EXPECT_ERROR(text, ...) expect_error_v(text, (const char *const[]){__VA_ARGS__, NULL})

static void load_ok(const char *text)
{
    struct qp_err  err = {{0}};
    enum qp_status st  = qp_config_load_string(text, "t.conf", &cfg, &err);
    if (st != QP_OK)
        fprintf(stderr, "\nunexpected error: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, QP_OK);
}

/* Write n bytes to a fresh temporary file; its path into path[64]. */
static void write_temp(char path[64], const char *bytes, size_t n)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, 64, "%s/qp_config_XXXXXX", dir && *dir && strlen(dir) < 40 ? dir : "/tmp");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, bytes, n) == (ssize_t)n);
    close(fd);
}

/* ===== Defaults ===== */

static void test_defaults(void)
{
    qp_config_init(&cfg);
    CU_ASSERT_STRING_EQUAL(cfg.server.control_endpoint, "ipc:///run/qpercept/control");
    CU_ASSERT_STRING_EQUAL(cfg.server.publish_endpoint, "ipc:///run/qpercept/detections");
    CU_ASSERT_STRING_EQUAL(cfg.server.metrics_address, "127.0.0.1");
    CU_ASSERT_EQUAL(cfg.server.metrics_port, 9464);
    CU_ASSERT_EQUAL(cfg.server.max_delay_us, 5000);
    CU_ASSERT_EQUAL(cfg.server.max_age_ms, 200);
    CU_ASSERT_EQUAL(cfg.server.sync_window_us, 0);
    CU_ASSERT_EQUAL(cfg.server.max_frame_bytes, 33554432);
    CU_ASSERT_EQUAL(cfg.server.log_level, QP_LOG_INFO);
    CU_ASSERT_EQUAL(cfg.server.watchdog, QP_CONFIG_WATCHDOG_AUTO);
    CU_ASSERT_FALSE(cfg.server.curve);
    CU_ASSERT_STRING_EQUAL(cfg.server.curve_secret_key_file, "");
    CU_ASSERT_STRING_EQUAL(cfg.engine.path, "");
    CU_ASSERT_STRING_EQUAL(cfg.engine.model, "");
    CU_ASSERT_EQUAL(cfg.engine.backend, QP_CONFIG_BACKEND_AUTO);
    CU_ASSERT_EQUAL_FATAL(cfg.engine.batch_sizes.n, 5);
    const uint32_t buckets[5] = {1, 2, 4, 6, 8};
    CU_ASSERT_EQUAL(memcmp(cfg.engine.batch_sizes.v, buckets, sizeof buckets), 0);
    CU_ASSERT_EQUAL(cfg.engine.threads, 0);
    CU_ASSERT_EQUAL(cfg.engine.score_min, 0.25f);
    CU_ASSERT_EQUAL(cfg.engine.iou, 0.45f);
    CU_ASSERT_EQUAL(cfg.engine.max_dets, 100);
    CU_ASSERT_EQUAL(cfg.engine.warmup, 3);
    CU_ASSERT_EQUAL(cfg.n_streams, 0);

    /* defaults alone are not a configuration: the engine path is required */
    struct qp_err err = {{0}};
    CU_ASSERT_EQUAL(qp_config_check(&cfg, &err), QP_E_INVAL);
    CU_ASSERT(contains(err.msg, "[engine] path is required"));

    /* a stream's defaults, and every row's default prints back as written */
    load_ok(MINIMAL);
    const struct qp_config_stream *s = qp_config_stream_find(&cfg, "front");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->mode, QP_CONFIG_MODE_SUB);
    CU_ASSERT_EQUAL(s->transport, QP_CONFIG_TRANSPORT_INLINE);
    CU_ASSERT_EQUAL(s->width, 0);
    CU_ASSERT_EQUAL(s->pixel_format, QP_CONFIG_PIXEL_ANY);
    CU_ASSERT_TRUE(s->enabled);
    CU_ASSERT_PTR_NULL(qp_config_stream_find(&cfg, "rear"));
    struct qp_config_key k;
    int32_t              n = qp_config_key_count();
    CU_ASSERT_EQUAL(n, 30);
    CU_ASSERT_FALSE(qp_config_key_at(n, &k));
    CU_ASSERT_FALSE(qp_config_key_at(-1, &k));
    for (int32_t i = 0; qp_config_key_at(i, &k); i++) {
        char name[96], v[600];
        snprintf(name, sizeof name, "%s.%s%s", k.section,
                 strcmp(k.section, "stream") == 0 ? "front." : "", k.key);
        if (k.required)
            continue; /* path, endpoint: set by MINIMAL, no default */
        CU_ASSERT_EQUAL(qp_config_get(&cfg, name, v, sizeof v, NULL), QP_OK);
        CU_ASSERT_STRING_EQUAL(v, k.def);
        CU_ASSERT(strlen(k.doc) > 10);
    }
    qp_config_fini(&cfg);
    CU_ASSERT_EQUAL(cfg.n_streams, 0);
    qp_config_fini(NULL);
}

/* ===== A full file ===== */

static const char full_text[] = "\xEF\xBB\xBF# a full configuration\r\n"
                                "; both comment styles\n"
                                "  [server]  \n"
                                "control_endpoint = tcp://127.0.0.1:7001\n"
                                "publish_endpoint=ipc:///run/q/det\n"
                                "\tmetrics_address = localhost\t\n"
                                "metrics_port = 0\n"
                                "max_delay_us = 2500\n"
                                "max_age_ms = 150\n"
                                "sync_window_us = 30000\n"
                                "max_frame_bytes = 1048576\n"
                                "log_level = debug\n"
                                "watchdog = on\n"
                                "curve = yes\n"
                                "curve_secret_key_file = /etc/qpercept/server.key\n"
                                "curve_allow_file = /etc/qpercept/clients#1.txt\n"
                                "\n"
                                "[engine]\n"
                                "path = /var/lib/qpercept/yolox.onnx\n"
                                "model = yolox_nano_416_coco\n"
                                "backend = cuda\n"
                                "batch_sizes = 1, 3 ,6\n"
                                "threads = 4\n"
                                "score_min = 0.3\n"
                                "iou = 0.6\n"
                                "max_dets = 300\n"
                                "warmup = 0\n"
                                "[stream.cam.left-1]\n"
                                "endpoint = tcp://[::1]:6001\n"
                                "mode = pull\n"
                                "transport = shm\n"
                                "width = 1280\n"
                                "height = 720\n"
                                "pixel_format = nv12\n"
                                "enabled = off\n"
                                "[stream.rear]\n"
                                "endpoint = inproc://rear\n";

static void test_full_file(void)
{
    load_ok(full_text);
    const struct qp_config_server *sv = &cfg.server;
    CU_ASSERT_STRING_EQUAL(sv->control_endpoint, "tcp://127.0.0.1:7001");
    CU_ASSERT_STRING_EQUAL(sv->publish_endpoint, "ipc:///run/q/det");
    CU_ASSERT_STRING_EQUAL(sv->metrics_address, "localhost");
    CU_ASSERT_EQUAL(sv->metrics_port, 0);
    CU_ASSERT_EQUAL(sv->max_delay_us, 2500);
    CU_ASSERT_EQUAL(sv->max_age_ms, 150);
    CU_ASSERT_EQUAL(sv->sync_window_us, 30000);
    CU_ASSERT_EQUAL(sv->max_frame_bytes, 1048576);
    CU_ASSERT_EQUAL(sv->log_level, QP_LOG_DEBUG);
    CU_ASSERT_EQUAL(sv->watchdog, QP_CONFIG_WATCHDOG_ON);
    CU_ASSERT_TRUE(sv->curve);
    CU_ASSERT_STRING_EQUAL(sv->curve_secret_key_file, "/etc/qpercept/server.key");
    CU_ASSERT_STRING_EQUAL(sv->curve_allow_file, "/etc/qpercept/clients#1.txt");
    const struct qp_config_engine *e = &cfg.engine;
    CU_ASSERT_STRING_EQUAL(e->path, "/var/lib/qpercept/yolox.onnx");
    CU_ASSERT_STRING_EQUAL(e->model, "yolox_nano_416_coco");
    CU_ASSERT_EQUAL(e->backend, QP_CONFIG_BACKEND_CUDA);
    CU_ASSERT_EQUAL_FATAL(e->batch_sizes.n, 3);
    CU_ASSERT_EQUAL(e->batch_sizes.v[0], 1);
    CU_ASSERT_EQUAL(e->batch_sizes.v[1], 3);
    CU_ASSERT_EQUAL(e->batch_sizes.v[2], 6);
    CU_ASSERT_EQUAL(e->threads, 4);
    CU_ASSERT_EQUAL(e->score_min, 0.3f);
    CU_ASSERT_EQUAL(e->iou, 0.6f);
    CU_ASSERT_EQUAL(e->max_dets, 300);
    CU_ASSERT_EQUAL(e->warmup, 0);
    CU_ASSERT_EQUAL_FATAL(cfg.n_streams, 2);
    const struct qp_config_stream *l = &cfg.streams[0];
    CU_ASSERT_STRING_EQUAL(l->name, "cam.left-1");
    CU_ASSERT_STRING_EQUAL(l->endpoint, "tcp://[::1]:6001");
    CU_ASSERT_EQUAL(l->mode, QP_CONFIG_MODE_PULL);
    CU_ASSERT_EQUAL(l->transport, QP_CONFIG_TRANSPORT_SHM);
    CU_ASSERT_EQUAL(l->width, 1280);
    CU_ASSERT_EQUAL(l->height, 720);
    CU_ASSERT_EQUAL(l->pixel_format, QP_CONFIG_PIXEL_NV12);
    CU_ASSERT_FALSE(l->enabled);
    CU_ASSERT_PTR_EQUAL(qp_config_stream_find(&cfg, "rear"), &cfg.streams[1]);
    CU_ASSERT_STRING_EQUAL(cfg.streams[1].endpoint, "inproc://rear");
    CU_ASSERT_TRUE(cfg.streams[1].enabled);
    CU_ASSERT_EQUAL(qp_config_warnings(&cfg, NULL, NULL), 0); /* loopback, ipc, inproc only */
}

static void test_load_file(void)
{
    char path[64];
    write_temp(path, MINIMAL, strlen(MINIMAL));
    struct qp_err err = {{0}};
    CU_ASSERT_EQUAL(qp_config_load_file(path, &cfg, &err), QP_OK);
    CU_ASSERT_STRING_EQUAL(cfg.engine.path, "m.qpe");
    unlink(path);
    CU_ASSERT_EQUAL(qp_config_load_file(path, &cfg, &err), QP_E_IO);
    CU_ASSERT(contains(err.msg, path));
    /* errors in a file name the path and the line */
    const char bad[] = "[server]\nmax_age_ms = 0\n";
    write_temp(path, bad, strlen(bad));
    CU_ASSERT_EQUAL(qp_config_load_file(path, &cfg, &err), QP_E_INVAL);
    char want[160];
    snprintf(want, sizeof want, "%s:2: [server] max_age_ms = 0: must be 1..60000", path);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    unlink(path);
}

/* ===== Errors, one class at a time ===== */

static void test_error_unknown(void)
{
    EXPECT_ERROR(MINIMAL "endpiont = ipc:///x\n", "t.conf:5:",
                 "[stream.front] key 'endpiont' is unknown (did you mean 'endpoint'?)");
    EXPECT_ERROR("[server]\nbogus_setting_xyz = 1\n",
                 "t.conf:2:", "[server] key 'bogus_setting_xyz' is unknown");
    /* a key of another section is unknown here */
    EXPECT_ERROR("[server]\npath = m.qpe\n", "t.conf:2:", "[server] key 'path' is unknown");
    EXPECT_ERROR("[srever]\n", "t.conf:1:", "unknown section [srever]", "did you mean [server]?");
    EXPECT_ERROR("# c\n[cameras]\n", "t.conf:2:", "unknown section [cameras]");
    EXPECT_ERROR("[streams.a]\n", "t.conf:1:", "unknown section [streams.a]", "[stream.NAME]");
    EXPECT_ERROR("max_dets = 1\n", "t.conf:1:", "before the first [section]");
    EXPECT_ERROR("[engine]\njust words\n", "t.conf:2:", "expected 'key = value'");
    EXPECT_ERROR("[engine]\n= 5\n", "t.conf:2:", "missing key");
    EXPECT_ERROR("[server\n", "t.conf:1:", "malformed section header");
    EXPECT_ERROR("[server] x\n", "t.conf:1:", "malformed section header");

    struct qp_err err = {{0}};
    CU_ASSERT_EQUAL(qp_config_load_string("[server]\nbogus = 1\n", "t.conf", &cfg, &err),
                    QP_E_INVAL);
    CU_ASSERT(!contains(err.msg, "did you mean")); /* nothing near 'bogus' */
}

static void test_error_duplicates(void)
{
    EXPECT_ERROR("[server]\nmax_delay_us = 1\nmax_age_ms = 5\nmax_delay_us = 2\n",
                 "t.conf:4:", "[server] key 'max_delay_us' is set twice (first at line 2)");
    EXPECT_ERROR(MINIMAL "[stream.front]\n",
                 "t.conf:5:", "duplicate stream [stream.front] (first at line 3)");
    EXPECT_ERROR("[server]\n[engine]\n[server]\n",
                 "t.conf:3:", "section [server] appears twice (first at line 1)");
    /* the same key in two streams is no duplicate */
    load_ok(MINIMAL "mode = pull\n[stream.b]\nendpoint = ipc:///tmp/b\nmode = pull\n");
    CU_ASSERT_EQUAL(cfg.streams[1].mode, QP_CONFIG_MODE_PULL);
}

static void test_error_bounds_and_numbers(void)
{
    EXPECT_ERROR("[server]\nmax_delay_us = 99999999\n",
                 "t.conf:2:", "[server] max_delay_us = 99999999: must be 0..1000000");
    EXPECT_ERROR("[server]\nmetrics_port = -1\n", "metrics_port = -1: must be 0..65535");
    EXPECT_ERROR("[server]\nmetrics_port = 99999999999999999999999\n", "must be 0..65535");
    const char *malformed[] = {"12abc", "0x10", "1.5", "1e3", "--5", "", "five", "5 5", "+"};
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        char text[96], want[64];
        snprintf(text, sizeof text, "[engine]\nmax_dets = %s\n", malformed[i]);
        snprintf(want, sizeof want, "max_dets = %s: not an integer", malformed[i]);
        EXPECT_ERROR(text, "t.conf:2:", "[engine]", want);
    }
    const char *bad_float[] = {"abc", "0.5x", "nan", "inf", "", "0,5"};
    for (size_t i = 0; i < sizeof bad_float / sizeof *bad_float; i++) {
        char text[96];
        snprintf(text, sizeof text, "[engine]\nscore_min = %s\n", bad_float[i]);
        EXPECT_ERROR(text, "t.conf:2:", "score_min", "not a number");
    }
    EXPECT_ERROR("[engine]\niou = 1.0001\n", "iou = 1.0001: must be 0..1");
    EXPECT_ERROR("[engine]\niou = -0.5\n", "iou = -0.5: must be 0..1");
    EXPECT_ERROR("[engine]\nbackend = gpu\n",
                 "t.conf:2:", "[engine] backend = gpu: must be one of auto, cpu, cuda");
    EXPECT_ERROR("[server]\nlog_level = INFO\n", "must be one of error, warn, info, debug");
    EXPECT_ERROR(MINIMAL "pixel_format = yuv\n", "t.conf:5:", "[stream.front] pixel_format",
                 "any, rgb8, bgr8, gray8, nv12, jpeg, png");
    EXPECT_ERROR(MINIMAL "enabled = maybe\n", "enabled = maybe: must be yes or no");
    EXPECT_ERROR("[engine]\nmodel = has space\n", "model = has space: must be empty or 1..63");
    EXPECT_ERROR("[engine]\nbatch_sizes = 1,,2\n", "batch_sizes = 1,,2: must be 1..16");
    EXPECT_ERROR("[engine]\nbatch_sizes = 1,2,65\n", "value 3 '65': must be 1..64");
    EXPECT_ERROR("[engine]\nbatch_sizes = 0\n", "value 1 '0': must be 1..64");
    EXPECT_ERROR("[engine]\nbatch_sizes =\n", "batch_sizes = : must be 1..16");
    EXPECT_ERROR("[engine]\nbatch_sizes = 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\n",
                 "at most 16 values");
    EXPECT_ERROR("[server]\nmetrics_address = 0.0.0.0:80\n", "must be a host name");
}

static void test_error_endpoints(void)
{
    const char *bad[][2] = {
        {"tcp://127.0.0.1", "tcp:// needs HOST:PORT"},
        {"tcp://127.0.0.1:0", "tcp:// port must be 1..65535"},
        {"tcp://127.0.0.1:65536", "tcp:// port must be 1..65535"},
        {"tcp://127.0.0.1:80x", "tcp:// port must be 1..65535"},
        {"tcp://:5555", "tcp:// needs HOST:PORT"},
        {"tcp://eth0;10.0.0.1:5555", "tcp:// needs HOST:PORT"},
        {"udp://127.0.0.1:5555", "must be tcp://HOST:PORT, ipc://PATH or inproc://NAME"},
        {"127.0.0.1:5555", "must be tcp://HOST:PORT"},
        {"ipc://", "ipc:// needs a path"},
        {"inproc://", "inproc:// needs a name"},
        {"ipc:///run/a b", "must not contain blanks"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[160], want[160];
        snprintf(text, sizeof text, "[server]\ncontrol_endpoint = %s\n", bad[i][0]);
        snprintf(want, sizeof want, "[server] control_endpoint = %s: %s", bad[i][0], bad[i][1]);
        EXPECT_ERROR(text, "t.conf:2:", want);
    }
    char   text[300] = "[server]\npublish_endpoint = ipc://";
    size_t n         = strlen(text);
    memset(text + n, 'p', 108);
    strcpy(text + n + 108, "\n");
    EXPECT_ERROR(text, "t.conf:2:", "longer than 107 bytes");
    text[n + 107] = '\n', text[n + 108] = '\0'; /* 107 bytes: the limit itself is fine */
    struct qp_err err = {{0}};
    CU_ASSERT_EQUAL(qp_config_read_string(text, "t.conf", &cfg, &err), QP_OK);
    CU_ASSERT_EQUAL(strlen(cfg.server.publish_endpoint), 6 + 107);
    load_ok(MINIMAL "[stream.b]\nendpoint = tcp://camera-3.local:7000\n");
    CU_ASSERT_STRING_EQUAL(cfg.streams[1].endpoint, "tcp://camera-3.local:7000");
}

static void test_error_names(void)
{
    EXPECT_ERROR("[stream.]\n", "t.conf:1:", "[stream.]: the name must be 1..63 characters");
    EXPECT_ERROR("[stream.a b]\n", "[stream.a b]: the name must be");
    EXPECT_ERROR("[stream.cam/1]\n", "the name must be");
    char text[200];
    snprintf(text, sizeof text, "[stream.%064d]\n", 0);
    EXPECT_ERROR(text, "t.conf:1:", "the name must be");
    snprintf(text, sizeof text, "[engine]\npath = m.qpe\n[stream.%063d]\nendpoint = ipc:///tmp/x\n",
             7);
    load_ok(text);
    CU_ASSERT_EQUAL(strlen(cfg.streams[0].name), 63);
}

static void test_error_required(void)
{
    EXPECT_ERROR("[stream.front]\nendpoint = ipc:///tmp/f\n", "t.conf: [engine] path is required");
    EXPECT_ERROR("[engine]\npath = m.qpe\n", "t.conf: no [stream.NAME] section");
    EXPECT_ERROR("[engine]\npath = m.qpe\n[stream.a]\nmode = pull\n",
                 "t.conf: [stream.a] endpoint is required");
    EXPECT_ERROR(MINIMAL "enabled = no\n", "every stream has enabled = no");
    EXPECT_ERROR("[engine]\npath =\n[stream.a]\nendpoint = ipc:///a\n",
                 "[engine] path is required");
}

static void test_error_cross_field(void)
{
    EXPECT_ERROR("[engine]\npath = m.txt\n[stream.a]\nendpoint = ipc:///a\n",
                 "[engine] path = m.txt: must name a .qpe or .onnx file");
    EXPECT_ERROR(MINIMAL "[engine]\n", "appears twice");
    EXPECT_ERROR("[engine]\npath = m.qpe\nbatch_sizes = 1,4,2\n[stream.a]\nendpoint = ipc:///a\n",
                 "[engine] batch_sizes: 2 after 4: must be strictly ascending");
    EXPECT_ERROR("[engine]\npath = m.qpe\nbatch_sizes = 2,2\n[stream.a]\nendpoint = ipc:///a\n",
                 "strictly ascending");
    EXPECT_ERROR("[server]\ncurve = yes\ncurve_allow_file = /k\n" MINIMAL,
                 "[server] curve = yes needs curve_secret_key_file and curve_allow_file");
    EXPECT_ERROR("[server]\nmax_age_ms = 10\nsync_window_us = 10001\n" MINIMAL,
                 "sync_window_us = 10001: must not exceed max_age_ms (10 ms)");
    load_ok("[server]\nmax_age_ms = 10\nsync_window_us = 10000\n" MINIMAL);
    EXPECT_ERROR(MINIMAL "width = 640\n", "[stream.front] width = 640, height = 0: set both");
    EXPECT_ERROR(MINIMAL "[stream.b]\nendpoint = tcp://10.1.2.3:5000\ntransport = shm\n",
                 "[stream.b] transport = shm: endpoint tcp://10.1.2.3:5000 is not on this host");
    /* binds: two pull streams, a pull stream and a server socket, wildcard vs host, metrics */
    EXPECT_ERROR(MINIMAL "mode = pull\n[stream.b]\nendpoint = ipc:///tmp/f\nmode = pull\n",
                 "[stream.front] endpoint = ipc:///tmp/f and [stream.b] endpoint = ipc:///tmp/f "
                 "bind the same address");
    EXPECT_ERROR("[server]\ncontrol_endpoint = ipc:///tmp/f\n" MINIMAL "mode = pull\n",
                 "[server] control_endpoint = ipc:///tmp/f and [stream.front] endpoint");
    EXPECT_ERROR("[server]\ncontrol_endpoint = tcp://*:5000\n"
                 "publish_endpoint = tcp://127.0.0.1:5000\n" MINIMAL,
                 "control_endpoint = tcp://*:5000 and [server] publish_endpoint");
    EXPECT_ERROR("[server]\nframe_tap_endpoint = ipc:///run/qpercept/detections\n" MINIMAL,
                 "[server] publish_endpoint = ipc:///run/qpercept/detections and [server] "
                 "frame_tap_endpoint = ipc:///run/qpercept/detections bind the same address");
    load_ok("[server]\nframe_tap_endpoint = ipc:///run/qpercept/frames\n" MINIMAL);
    EXPECT_ERROR("[server]\npublish_endpoint = tcp://127.0.0.1:9464\n" MINIMAL,
                 "[server] publish_endpoint = tcp://127.0.0.1:9464 and [server] metrics_port = "
                 "9464 bind the same address");
    /* sub streams connect, so they may share a publisher; a disabled pull binds nothing */
    load_ok(MINIMAL "[stream.b]\nendpoint = ipc:///tmp/f\n[stream.c]\nendpoint = "
                    "ipc:///run/qpercept/control\nmode = pull\nenabled = no\n");
    load_ok("[server]\npublish_endpoint = tcp://127.0.0.1:9464\nmetrics_port = 0\n" MINIMAL);
}

/* ===== Warnings ===== */

struct warn_log {
    int  n;
    char last[512];
};

static void collect(void *ctx, const char *msg)
{
    struct warn_log *w = ctx;
    w->n++;
    snprintf(w->last, sizeof w->last, "%s", msg);
}

static void test_warnings(void)
{
    struct warn_log w = {0};
    load_ok(MINIMAL);
    CU_ASSERT_EQUAL(qp_config_warnings(&cfg, collect, &w), 0);
    CU_ASSERT_EQUAL(w.n, 0);
    load_ok("[server]\ncontrol_endpoint = tcp://0.0.0.0:5555\n" MINIMAL);
    CU_ASSERT_EQUAL(qp_config_warnings(&cfg, collect, &w), 1);
    CU_ASSERT_EQUAL(w.n, 1);
    CU_ASSERT_STRING_EQUAL(w.last,
                           "[server] control_endpoint = tcp://0.0.0.0:5555 binds a "
                           "non-loopback address: reachable from other hosts, CURVE is off");
    load_ok("[server]\nmetrics_address = 192.168.1.20\n" MINIMAL "[stream.b]\nmode = pull\n"
            "endpoint = tcp://*:6000\n[stream.c]\nendpoint = tcp://10.0.0.9:6000\n");
    w.n = 0; /* metrics and the pull stream; stream c only connects */
    CU_ASSERT_EQUAL(qp_config_warnings(&cfg, collect, &w), 2);
    CU_ASSERT_EQUAL(w.n, 2);
    CU_ASSERT(contains(w.last, "[server] metrics_address = 192.168.1.20: /metrics"));
    CU_ASSERT_EQUAL(qp_config_set(&cfg, "server.metrics_port", "0", NULL), QP_OK);
    CU_ASSERT_EQUAL(qp_config_warnings(&cfg, NULL, NULL), 1); /* listener off */
    CU_ASSERT_EQUAL(qp_config_set(&cfg, "server.curve", "yes", NULL), QP_OK);
    CU_ASSERT_EQUAL(qp_config_warnings(&cfg, collect, &w), 1);
    CU_ASSERT(contains(w.last, "[stream.b] endpoint = tcp://*:6000 binds a non-loopback "
                               "address (CURVE on)"));
}

/* ===== Overrides ===== */

static void test_overrides(void)
{
    load_ok(MINIMAL);
    struct qp_err err = {{0}};
    CU_ASSERT_EQUAL(qp_config_set(&cfg, "server.max_delay_us", "2000", &err), QP_OK);
    CU_ASSERT_EQUAL(cfg.server.max_delay_us, 2000);
    CU_ASSERT_EQUAL(qp_config_set(&cfg, "server.max_delay_us", " 3000 ", &err), QP_OK);
    CU_ASSERT_EQUAL(cfg.server.max_delay_us, 3000);
    CU_ASSERT_EQUAL(qp_config_set(&cfg, "server.max_delay_us", "99999999", &err), QP_E_INVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "[server] max_delay_us = 99999999: must be 0..1000000");
    CU_ASSERT_EQUAL(cfg.server.max_delay_us, 3000); /* unchanged */
    CU_ASSERT_EQUAL(qp_config_set(&cfg, "engine.batch_sizes", "1,2,x", &err), QP_E_INVAL);
    CU_ASSERT_EQUAL(cfg.engine.batch_sizes.n, 5);
    CU_ASSERT_EQUAL(qp_config_set(&cfg, "stream.front.endpoint", "ipc://x", &err), QP_OK);
    CU_ASSERT_STRING_EQUAL(cfg.streams[0].endpoint, "ipc://x");
    CU_ASSERT_EQUAL(cfg.n_streams, 1);
    /* a new stream, with a dotted name */
    CU_ASSERT_EQUAL(qp_config_set(&cfg, "stream.cam.left.mode", "pull", &err), QP_OK);
    CU_ASSERT_EQUAL_FATAL(cfg.n_streams, 2);
    CU_ASSERT_STRING_EQUAL(cfg.streams[1].name, "cam.left");
    CU_ASSERT_EQUAL(cfg.streams[1].mode, QP_CONFIG_MODE_PULL);
    CU_ASSERT_TRUE(cfg.streams[1].enabled);
    CU_ASSERT_EQUAL(qp_config_check(&cfg, &err), QP_E_INVAL); /* no endpoint yet */
    CU_ASSERT_STRING_EQUAL(err.msg, "[stream.cam.left] endpoint is required (where this "
                                    "camera's frames come from (mode sub: its PUB; mode pull: "
                                    "bound here))");
    CU_ASSERT_EQUAL(qp_config_set(&cfg, "stream.cam.left.endpoint", "ipc:///l", &err), QP_OK);
    CU_ASSERT_EQUAL(qp_config_check(&cfg, &err), QP_OK);
    /* a rejected value does not add the stream */
    CU_ASSERT_EQUAL(qp_config_set(&cfg, "stream.new.width", "-3", &err), QP_E_INVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "[stream.new] width = -3: must be 0..16384");
    CU_ASSERT_EQUAL(cfg.n_streams, 2);
    CU_ASSERT_PTR_NULL(qp_config_stream_find(&cfg, "new"));
    /* malformed keys */
    CU_ASSERT_EQUAL(qp_config_set(&cfg, "server.max_dealy_us", "1", &err), QP_E_INVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "server.max_dealy_us: unknown key 'max_dealy_us' (did you "
                                    "mean 'max_delay_us'?)");
    CU_ASSERT_EQUAL(qp_config_set(&cfg, "engine.endpoint", "1", &err), QP_E_INVAL);
    CU_ASSERT(contains(err.msg, "unknown key 'endpoint'"));
    CU_ASSERT_EQUAL(qp_config_set(&cfg, "max_delay_us", "1", &err), QP_E_INVAL);
    CU_ASSERT(contains(err.msg, "want server.KEY, engine.KEY or stream.NAME.KEY"));
    CU_ASSERT_EQUAL(qp_config_set(&cfg, "stream.mode", "sub", &err), QP_E_INVAL);
    CU_ASSERT_EQUAL(qp_config_set(&cfg, "stream.a b.mode", "sub", &err), QP_E_INVAL);
    CU_ASSERT(contains(err.msg, "the stream name must be"));
    CU_ASSERT_EQUAL(qp_config_set(&cfg, "stream..mode", "sub", &err), QP_E_INVAL);
    CU_ASSERT_EQUAL(cfg.n_streams, 2);
    /* get reads what set wrote, in file syntax */
    char v[64];
    CU_ASSERT_EQUAL(qp_config_get(&cfg, "stream.cam.left.mode", v, sizeof v, &err), QP_OK);
    CU_ASSERT_STRING_EQUAL(v, "pull");
    CU_ASSERT_EQUAL(qp_config_get(&cfg, "engine.batch_sizes", v, sizeof v, &err), QP_OK);
    CU_ASSERT_STRING_EQUAL(v, "1,2,4,6,8");
    CU_ASSERT_EQUAL(qp_config_get(&cfg, "stream.nope.mode", v, sizeof v, &err), QP_E_INVAL);
    CU_ASSERT(contains(err.msg, "no stream 'nope'"));
    /* overrides can add streams up to the limit and no further */
    for (int i = 0; cfg.n_streams < QP_CONFIG_MAX_STREAMS; i++) {
        char key[64];
        snprintf(key, sizeof key, "stream.s%d.endpoint", i);
        CU_ASSERT_EQUAL_FATAL(qp_config_set(&cfg, key, "ipc:///s", NULL), QP_OK);
    }
    CU_ASSERT_EQUAL(qp_config_set(&cfg, "stream.one_more.endpoint", "ipc:///s", &err), QP_E_INVAL);
    CU_ASSERT(contains(err.msg, "too many streams (at most 64)"));
}

/* ===== Print -> read round trip ===== */

static void assert_streams_equal(const struct qp_config_stream *a, const struct qp_config_stream *b)
{
    CU_ASSERT_STRING_EQUAL(a->name, b->name);
    CU_ASSERT_STRING_EQUAL(a->endpoint, b->endpoint);
    CU_ASSERT_EQUAL(a->mode, b->mode);
    CU_ASSERT_EQUAL(a->transport, b->transport);
    CU_ASSERT_EQUAL(a->width, b->width);
    CU_ASSERT_EQUAL(a->height, b->height);
    CU_ASSERT_EQUAL(a->pixel_format, b->pixel_format);
    CU_ASSERT_EQUAL(a->enabled, b->enabled);
}

static void assert_configs_equal(const struct qp_config *a, const struct qp_config *b)
{
    const struct qp_config_server *sa = &a->server, *sb = &b->server;
    CU_ASSERT_STRING_EQUAL(sa->control_endpoint, sb->control_endpoint);
    CU_ASSERT_STRING_EQUAL(sa->publish_endpoint, sb->publish_endpoint);
    CU_ASSERT_STRING_EQUAL(sa->metrics_address, sb->metrics_address);
    CU_ASSERT_EQUAL(sa->metrics_port, sb->metrics_port);
    CU_ASSERT_EQUAL(sa->max_delay_us, sb->max_delay_us);
    CU_ASSERT_EQUAL(sa->max_age_ms, sb->max_age_ms);
    CU_ASSERT_EQUAL(sa->sync_window_us, sb->sync_window_us);
    CU_ASSERT_EQUAL(sa->max_frame_bytes, sb->max_frame_bytes);
    CU_ASSERT_EQUAL(sa->log_level, sb->log_level);
    CU_ASSERT_EQUAL(sa->watchdog, sb->watchdog);
    CU_ASSERT_EQUAL(sa->curve, sb->curve);
    CU_ASSERT_STRING_EQUAL(sa->curve_secret_key_file, sb->curve_secret_key_file);
    CU_ASSERT_STRING_EQUAL(sa->curve_allow_file, sb->curve_allow_file);
    const struct qp_config_engine *ea = &a->engine, *eb = &b->engine;
    CU_ASSERT_STRING_EQUAL(ea->path, eb->path);
    CU_ASSERT_STRING_EQUAL(ea->model, eb->model);
    CU_ASSERT_EQUAL(ea->backend, eb->backend);
    CU_ASSERT_EQUAL_FATAL(ea->batch_sizes.n, eb->batch_sizes.n);
    for (uint32_t i = 0; i < ea->batch_sizes.n; i++)
        CU_ASSERT_EQUAL(ea->batch_sizes.v[i], eb->batch_sizes.v[i]);
    CU_ASSERT_EQUAL(ea->threads, eb->threads);
    CU_ASSERT_EQUAL(ea->score_min, eb->score_min); /* exact: floats print to round-trip */
    CU_ASSERT_EQUAL(ea->iou, eb->iou);
    CU_ASSERT_EQUAL(ea->max_dets, eb->max_dets);
    CU_ASSERT_EQUAL(ea->warmup, eb->warmup);
    CU_ASSERT_EQUAL_FATAL(a->n_streams, b->n_streams);
    for (int32_t i = 0; i < a->n_streams; i++)
        assert_streams_equal(&a->streams[i], &b->streams[i]);
    CU_ASSERT_EQUAL(memcmp(a, b, sizeof *a), 0); /* and no stray bytes anywhere */
}

/* Print a into a string (caller frees), then read it back into b. */
static char *round_trip(const struct qp_config *a, struct qp_config *b)
{
    char  *text = NULL;
    size_t n    = 0;
    FILE  *f    = open_memstream(&text, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(qp_config_print(a, f), QP_OK);
    fclose(f);
    struct qp_err  err = {{0}};
    enum qp_status st  = qp_config_load_string(text, "printed", b, &err);
    if (st != QP_OK)
        fprintf(stderr, "\nprinted config does not load: %s\n", err.msg);
    CU_ASSERT_EQUAL(st, QP_OK);
    return text;
}

static void test_round_trip(void)
{
    load_ok(full_text);
    char *text = round_trip(&cfg, &cfg2);
    assert_configs_equal(&cfg, &cfg2);
    /* every key is written, defaults included, under its doc line */
    struct qp_config_key k;
    for (int32_t i = 0; qp_config_key_at(i, &k); i++) {
        char line[160];
        snprintf(line, sizeof line, "# %s\n%s = ", k.doc, k.key);
        CU_ASSERT(contains(text, line));
    }
    CU_ASSERT(contains(text, "\n[stream.cam.left-1]\n"));
    CU_ASSERT(contains(text, "\ncurve_allow_file = /etc/qpercept/clients#1.txt\n"));
    free(text);

    /* awkward values: floats without a short decimal form, empty strings, bounds */
    load_ok(MINIMAL);
    CU_ASSERT_EQUAL(qp_config_set(&cfg, "engine.score_min", "0.1", NULL), QP_OK);
    CU_ASSERT_EQUAL(qp_config_set(&cfg, "engine.iou", "0.333333343", NULL), QP_OK);
    CU_ASSERT_EQUAL(qp_config_set(&cfg, "server.max_frame_bytes", "1073741824", NULL), QP_OK);
    CU_ASSERT_EQUAL(
        qp_config_set(&cfg, "engine.batch_sizes", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,64", NULL),
        QP_OK);
    text = round_trip(&cfg, &cfg2);
    assert_configs_equal(&cfg, &cfg2);
    CU_ASSERT(contains(text, "\nscore_min = 0.1\n"));
    CU_ASSERT(contains(text, "\nmodel = \n"));
    free(text);

    /* printing to a stream that fails reports it */
    FILE *ro = fopen("/dev/full", "w");
    if (ro) {
        setvbuf(ro, NULL, _IONBF, 0);
        CU_ASSERT_EQUAL(qp_config_print(&cfg, ro), QP_E_IO);
        fclose(ro);
    }
}

/* ===== The shipped configuration ===== */

static void test_deploy_conf(void)
{
    const char *src = getenv("QP_SOURCE_DIR");
    if (!src || !*src)
        QP_TEST_SKIP("QP_SOURCE_DIR is not set (ctest sets it)");
    QP_TEST_RAN();
    char path[1024];
    snprintf(path, sizeof path, "%s/deploy/qperceptd.conf", src);
    struct qp_err  err = {{0}};
    enum qp_status st  = qp_config_load_file(path, &cfg, &err);
    if (st != QP_OK)
        fprintf(stderr, "\n%s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, QP_OK);
    CU_ASSERT_EQUAL(qp_config_warnings(&cfg, NULL, NULL), 0); /* loopback and ipc only */

    /* every key of the table is set in a section of its kind, under a comment,
     * to its default (except those without one) */
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    enum { N = 64 };
    bool found[N] = {0}, documented[N] = {0};
    char line[1024], kind[16]          = "";
    bool in_comment_block = false; /* a comment, then key lines, no blank line between */
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#')
            in_comment_block = true;
        else if (line[0] == '\0')
            in_comment_block = false;
        if (line[0] == '[') {
            in_comment_block = false;
            snprintf(kind, sizeof kind, "%.*s", (int)strcspn(line + 1, ".]"), line + 1);
        }
        struct qp_config_key k;
        for (int32_t i = 0; i < N && qp_config_key_at(i, &k); i++) {
            size_t kl = strlen(k.key);
            if (strcmp(kind, k.section) == 0 && strncmp(line, k.key, kl) == 0 &&
                strncmp(line + kl, " =", 2) == 0) {
                found[i]      = true;
                documented[i] = in_comment_block;
            }
        }
    }
    fclose(f);
    struct qp_config_key k;
    for (int32_t i = 0; i < N && qp_config_key_at(i, &k); i++) {
        if (!found[i] || !documented[i])
            fprintf(stderr, "\ndeploy/qperceptd.conf lacks [%s] %s or its comment\n", k.section,
                    k.key);
        CU_ASSERT(found[i]);
        CU_ASSERT(documented[i]);
        if (k.required)
            continue;
        char name[96], v[600];
        snprintf(name, sizeof name, "%s.%s%s", k.section,
                 strcmp(k.section, "stream") == 0 ? "front." : "", k.key);
        CU_ASSERT_EQUAL(qp_config_get(&cfg, name, v, sizeof v, NULL), QP_OK);
        if (strcmp(v, k.def) != 0)
            fprintf(stderr, "\n%s = %s in deploy/qperceptd.conf, default %s\n", name, v, k.def);
        CU_ASSERT_STRING_EQUAL(v, k.def);
    }
}

/* ===== Hostile input ===== */

static void test_hostile_lines(void)
{
    /* a 100 KB line */
    size_t n    = 100000;
    char  *text = malloc(n + 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    strcpy(text, "[engine]\npath = ");
    memset(text + strlen(text), 'a', n);
    strcpy(text + 16 + n, ".qpe\n");
    EXPECT_ERROR(text, "t.conf:2: line longer than 4095 bytes");
    /* strings at their capacity and one past it */
    strcpy(text, "[engine]\npath = ");
    memset(text + 16, 'p', QP_CONFIG_PATH_LEN - 1 - 4);
    strcpy(text + 16 + QP_CONFIG_PATH_LEN - 1 - 4, ".qpe\n[stream.a]\nendpoint = ipc:///a\n");
    load_ok(text);
    CU_ASSERT_EQUAL(strlen(cfg.engine.path), QP_CONFIG_PATH_LEN - 1);
    strcpy(text + 16 + QP_CONFIG_PATH_LEN - 4, ".qpe\n");
    EXPECT_ERROR(text, "t.conf:2: [engine] path = ", "...: too long (at most 511 characters)");
    /* control characters */
    EXPECT_ERROR("[engine]\npath = a\x01"
                 "b.qpe\n",
                 "control character 0x01");
    EXPECT_ERROR("[engine]\npath = a\x1b[31m.qpe\n", "control character 0x1b");
    free(text);

    /* NUL bytes (only a file can hold them) */
    static const char nul[] = "[engine]\npath = m.q\0pe\n[stream.a]\nendpoint = ipc:///a\n";
    char              path[64];
    write_temp(path, nul, sizeof nul - 1);
    struct qp_err err = {{0}};
    CU_ASSERT_EQUAL(qp_config_load_file(path, &cfg, &err), QP_E_INVAL);
    CU_ASSERT(contains(err.msg, ":2: NUL byte in the line"));
    unlink(path);
    /* a file over the size cap */
    char *big = malloc(QP_CONFIG_FILE_MAX + 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, '#', QP_CONFIG_FILE_MAX + 2);
    write_temp(path, big, QP_CONFIG_FILE_MAX + 2);
    CU_ASSERT_EQUAL(qp_config_load_file(path, &cfg, &err), QP_E_INVAL);
    CU_ASSERT(contains(err.msg, "larger than 1048576 bytes"));
    unlink(path);
    free(big);
}

/* prefix, then n copies of head, the copy's number (when numbered), tail. */
static char *repeat(const char *prefix, const char *head, bool numbered, const char *tail, int n)
{
    size_t cap  = strlen(prefix) + (size_t)n * (strlen(head) + strlen(tail) + 12) + 1;
    char  *text = malloc(cap), *p = text;
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    p += sprintf(p, "%s", prefix);
    for (int i = 0; i < n; i++) {
        p += sprintf(p, "%s", head);
        if (numbered)
            p += sprintf(p, "%d", i);
        p += sprintf(p, "%s", tail);
    }
    return text;
}

static void test_hostile_sections(void)
{
    char *t =
        repeat("[engine]\npath = m.qpe\n", "[stream.s", true, "]\nendpoint = ipc:///s\n", 10000);
    EXPECT_ERROR(t, "t.conf:131: [stream.s64]: too many streams (at most 64)");
    free(t);
    t = repeat("[engine]\npath = m.qpe\n", "[stream.s", true, "]\nendpoint = ipc:///s\n", 64);
    load_ok(t);
    CU_ASSERT_EQUAL(cfg.n_streams, 64);
    CU_ASSERT_STRING_EQUAL(cfg.streams[63].name, "s63");
    free(t);
    t = repeat("", "[server]\n", false, "", 10000);
    EXPECT_ERROR(t, "t.conf:2: section [server] appears twice");
    free(t);
    t = repeat("", "[x", true, "]\n", 10000);
    EXPECT_ERROR(t, "t.conf:1: unknown section [x0]");
    free(t);
    t = repeat("[server]\n", "max_dets", true, " = 1\n", 10000);
    EXPECT_ERROR(t, "t.conf:2: [server] key 'max_dets0' is unknown");
    free(t);
    t = repeat("", "\n", false, "", 100000); /* only blank lines */
    EXPECT_ERROR(t, "[engine] path is required");
    free(t);
}

/* Every numeric row at min-1, min, max, max+1, through the file and through set. */
static void test_hostile_bounds(void)
{
    struct qp_config_key k;
    int                  checked = 0;
    for (int32_t i = 0; qp_config_key_at(i, &k); i++) {
        bool is_uint = strcmp(k.type, "uint") == 0, is_list = strcmp(k.type, "list") == 0;
        bool is_float = strcmp(k.type, "float") == 0;
        if (!is_uint && !is_list && !is_float)
            continue;
        bool   stream  = strcmp(k.section, "stream") == 0;
        double step    = is_float ? 1e-3 : 1;
        double vals[4] = {k.min - step, k.min, k.max, k.max + step};
        for (int j = 0; j < 4; j++) {
            char v[32], key[96], text[256];
            snprintf(v, sizeof v, is_float ? "%.4f" : "%.0f", vals[j]);
            snprintf(key, sizeof key, "%s.%s%s", k.section, stream ? "front." : "", k.key);
            snprintf(text, sizeof text, "[%s%s]\n%s = %s\n", k.section, stream ? ".front" : "",
                     k.key, v);
            bool           inside = j == 1 || j == 2;
            struct qp_err  err    = {{0}};
            enum qp_status st     = qp_config_read_string(text, "t.conf", &cfg, &err);
            CU_ASSERT_EQUAL(st, inside ? QP_OK : QP_E_INVAL);
            if (!inside)
                CU_ASSERT(contains(err.msg, k.key) && contains(err.msg, "must be"));
            qp_config_init(&cfg2);
            CU_ASSERT_EQUAL(qp_config_set(&cfg2, key, v, NULL), inside ? QP_OK : QP_E_INVAL);
            checked++;
        }
    }
    CU_ASSERT_EQUAL(checked, 4 * 13); /* 10 uint rows, 2 float rows, 1 list row */
}

/* Random bytes and single-byte mutations of a valid file never crash and
 * fail with a message that names the input. */
static void test_hostile_random(void)
{
    uint64_t     s          = 0x9E3779B97F4A7C15u;
    const char   alphabet[] = "[]=.#; \t\nabcdemnoprstuvwxyz_0123456789:/-*\x01\xff";
    char         buf[512];
    int          failed = 0;
    const size_t base_n = sizeof full_text - 1;
    for (int iter = 0; iter < 4000; iter++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        const char *text;
        char        mutated[sizeof full_text];
        if (iter % 2) {
            size_t n = (size_t)(s % (sizeof buf - 1));
            for (size_t i = 0; i < n; i++) {
                s ^= s << 13, s ^= s >> 7, s ^= s << 17;
                buf[i] = alphabet[s % (sizeof alphabet - 1)];
            }
            buf[n] = '\0';
            text   = buf;
        } else {
            memcpy(mutated, full_text, sizeof full_text);
            mutated[(s >> 8) % base_n] = alphabet[(s >> 32) % (sizeof alphabet - 1)];
            text                       = mutated;
        }
        struct qp_err  err = {{0}};
        enum qp_status st  = qp_config_load_string(text, "fuzz", &cfg, &err);
        CU_ASSERT(st == QP_OK || st == QP_E_INVAL);
        if (st != QP_OK) {
            failed++;
            CU_ASSERT(strncmp(err.msg, "fuzz", 4) == 0);
        }
        CU_ASSERT(cfg.n_streams >= 0 && cfg.n_streams <= QP_CONFIG_MAX_STREAMS);
    }
    CU_ASSERT(failed > 2000); /* random bytes are almost never a configuration */
}

/* Allocation N fails: a clean QP_E_NOMEM, nothing leaked. */
static void test_hostile_nomem(void)
{
    char path[64];
    write_temp(path, MINIMAL, strlen(MINIMAL));
    int64_t live = qp_alloc_live();
    for (int64_t n = 1; n <= 2; n++) {
        struct qp_err err = {{0}};
        qp_alloc_fail_at(n);
        CU_ASSERT_EQUAL(qp_config_load_file(path, &cfg, &err), QP_E_NOMEM);
        qp_alloc_fail_at(0);
        CU_ASSERT(contains(err.msg, "bytes"));
        CU_ASSERT_EQUAL(qp_alloc_live(), live);
    }
    qp_alloc_fail_at(3);
    CU_ASSERT_EQUAL(qp_config_load_file(path, &cfg, NULL), QP_OK); /* two allocations in all */
    qp_alloc_fail_at(0);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
    unlink(path);
}

static CU_TestInfo load_tests[] = {
    {"defaults", test_defaults},
    {"a full file", test_full_file},
    {"load from a file", test_load_file},
    {"print -> read round trip", test_round_trip},
    {"deploy/qperceptd.conf loads and documents every key", test_deploy_conf},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo error_tests[] = {
    {"unknown sections and keys, syntax", test_error_unknown},
    {"duplicate keys, sections, streams", test_error_duplicates},
    {"bounds, numbers, enums, lists", test_error_bounds_and_numbers},
    {"endpoints", test_error_endpoints},
    {"stream names", test_error_names},
    {"required settings", test_error_required},
    {"cross-field rules", test_error_cross_field},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo use_tests[] = {
    {"overrides", test_overrides},
    {"non-loopback warnings", test_warnings},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo hostile_tests[] = {
    {"long lines, NUL bytes, big files", test_hostile_lines},
    {"10,000 sections", test_hostile_sections},
    {"every bound +-1", test_hostile_bounds},
    {"random bytes and mutations", test_hostile_random},
    {"failed allocations", test_hostile_nomem},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"config/load", NULL, NULL, NULL, NULL, load_tests},
    {"config/errors", NULL, NULL, NULL, NULL, error_tests},
    {"config/use", NULL, NULL, NULL, NULL, use_tests},
    {"config/hostile", NULL, NULL, NULL, NULL, hostile_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
