// SPDX-License-Identifier: Apache-2.0
/*
 * test_bench.c - `qpercept bench` (env QP_CLI) against a real qperceptd
 * (env QP_SERVER, YOLOX-Nano from QP_MIRROR on the CPU backend): one server
 * on ipc:// endpoints in a fresh temp dir with two PULL streams, and
 *   - a 3 s run at 5 Hz per stream (1 s warm-up, 320x240 synthetic
 *     frames) exits 0 and writes JSON that parses, with every key the
 *     report promises; every frame scheduled after the warm-up was sent
 *     (or counted as a publisher drop), every frame sent was received or
 *     is a drop the server reported, nothing is unexplained; p50 <= p99 <=
 *     max for latency and every stage, no stage negative; the per-stream
 *     rows add up to the total;
 *   - against an endpoint nobody publishes on it exits 1 naming it;
 *   - a malformed option exits 2 naming the option.
 * Every wait is bounded (~15 s in all). Without QP_SERVER, QP_CLI or the
 * model: skipped.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, kill */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_run.h"
#include "core/json.h"
#include "qp_test.h"
#include "qpercept/client.h"
#include "server_run.h"

#define N_STREAMS 2
#define RATE_HZ 5
#define DURATION_S 3
#define SIDE_W 320
#define SIDE_H 240

static struct {
    bool             ok; /* model found, server started */
    char             model[1024], json[300], name[N_STREAMS][16];
    char             ep[N_STREAMS][300];
    struct srv_paths p;
    pid_t            pid;
} T;

static char out[1 << 16]; /* the CLI's output */

static bool write_config(void)
{
    FILE *f = srv_config_open(
        T.p.cfg, &T.p,
        "metrics_port = 0\nmax_delay_us = 5000\nmax_age_ms = 60000\nmax_frame_bytes = %d\n"
        "watchdog = off\nlog_level = info\n",
        2 * SIDE_W * SIDE_H * 3);
    if (!f)
        return false;
    srv_config_engine(f, T.model, "1,2");
    fprintf(f, "threads = 2\n");
    for (int k = 0; k < N_STREAMS; k++)
        srv_config_stream(f, &T.p, T.name[k], "pull", SIDE_W, SIDE_H);
    return fclose(f) == 0;
}

static int suite_init(void)
{
    if (!getenv("QP_SERVER") || !getenv("QP_CLI") ||
        !qp_test_mirror_file("models/yolox_nano_416_coco.onnx", T.model, sizeof T.model))
        return 0;
    if (!srv_paths_make(&T.p, "bench"))
        return 1;
    snprintf(T.json, sizeof T.json, "%s/bench.json", T.p.dir);
    for (int k = 0; k < N_STREAMS; k++) {
        snprintf(T.name[k], sizeof T.name[k], "cam%d", k);
        if (!srv_paths_endpoint(&T.p, T.name[k], T.ep[k], sizeof T.ep[k]))
            return 1;
    }
    if (!write_config())
        return 1;
    if (!srv_start(&T.pid, T.p.cfg, T.p.log, T.p.ctl)) {
        fprintf(stderr, "qperceptd did not start; its log is %s\n", T.p.log);
        return 1;
    }
    T.ok = true;
    return 0;
}

static int suite_clean(void)
{
    srv_end(&T.pid, 10000);
    return srv_paths_remove(&T.p) ? 0 : 1;
}

/* ===== JSON ===== */

/* Member key of o, which must exist with type t (a failed assertion names it). */
static const struct qp_json *get(const struct qp_json *o, const char *key, enum qp_json_type t)
{
    const struct qp_json *v = qp_json_get(o, key);
    if (!v || v->type != t) {
        fprintf(stderr, "JSON key '%s': %s, want %s\n", key,
                v ? qp_json_type_name(v->type) : "missing", qp_json_type_name(t));
        CU_FAIL("JSON key missing or of the wrong type");
        return NULL;
    }
    return v;
}

/* Number member key of o; -1e300 when missing (and a failure recorded). */
static double num(const struct qp_json *o, const char *key)
{
    const struct qp_json *v = o ? get(o, key, QP_JSON_NUMBER) : NULL;
    return v ? v->v.num : -1e300;
}

/* A distribution object: n > 0, 0 <= min <= p50 <= p90 <= p99 <= p99.9 <= max. */
static void check_dist(const struct qp_json *o, const char *key, bool nonneg)
{
    const struct qp_json *d = o ? get(o, key, QP_JSON_OBJECT) : NULL;
    if (!d)
        return;
    double min = num(d, "min"), p50 = num(d, "p50"), p90 = num(d, "p90"), p99 = num(d, "p99"),
           p999 = num(d, "p99_9"), max = num(d, "max"), mean = num(d, "mean");
    CU_ASSERT(num(d, "n") > 0);
    CU_ASSERT(min <= p50 && p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max);
    CU_ASSERT(min <= mean && mean <= max);
    if (nonneg && min < 0)
        fprintf(stderr, "%s: min %.4f ms is negative\n", key, min);
    CU_ASSERT(!nonneg || min >= 0);
}

/* The counts every row has: sent frames are received or server drops. */
static void check_counts(const struct qp_json *c, double scheduled)
{
    double sent = num(c, "sent"), received = num(c, "received"), lost = num(c, "lost");
    CU_ASSERT_EQUAL(sent + num(c, "publisher_dropped") + num(c, "not_sent"), scheduled);
    CU_ASSERT_EQUAL(lost, sent - received);
    CU_ASSERT_EQUAL(received + num(c, "lost_server"), sent);
    CU_ASSERT_EQUAL(num(c, "lost_unexplained"), 0);
    CU_ASSERT(received > 0);
    CU_ASSERT(num(c, "mean_batch") >= 1 && num(c, "mean_batch") <= N_STREAMS);
    const struct qp_json *by  = get(c, "lost_server_by_reason", QP_JSON_OBJECT);
    double                sum = 0;
    for (uint32_t i = 0; by && i < by->n; i++)
        sum += by->v.items[i].v.num;
    CU_ASSERT_EQUAL(sum, num(c, "lost_server"));
    CU_ASSERT_EQUAL(num(c, "unmatched_server_drops"), 0);
}

/* ===== Tests ===== */

static void test_bench_run(void)
{
    if (!T.ok)
        QP_TEST_SKIP("QP_SERVER, QP_CLI or %s/models/yolox_nano_416_coco.onnx missing",
                     qp_test_mirror());
    QP_TEST_RAN();
    int64_t t0 = srv_now_ms();
    int     rc = cli(out, sizeof out,
                     "bench --endpoint '%s' --frames-endpoint 'ipc://%s/cam%%d' --streams %d "
                         "--rate %d --duration %d --warmup 1 --size %dx%d --json '%s' --label e2e "
                         "--senders stream",
                     T.p.det, T.p.dir, N_STREAMS, RATE_HZ, DURATION_S, SIDE_W, SIDE_H, T.json);
    fprintf(stderr, "\n%s(%lld ms)\n", out, (long long)(srv_now_ms() - t0));
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "throughput"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "server overhead"));

    struct qp_json_doc *doc = NULL;
    struct qp_err       err = {{0}};
    if (qp_json_read_file(T.json, &doc, &err) != QP_OK)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const struct qp_json *root    = qp_json_root(doc);
    const struct qp_json *opt     = get(root, "options", QP_JSON_OBJECT),
                         *host    = get(root, "host", QP_JSON_OBJECT),
                         *total   = get(root, "total", QP_JSON_OBJECT),
                         *stages  = get(root, "stages_ms", QP_JSON_OBJECT),
                         *streams = get(root, "streams", QP_JSON_ARRAY),
                         *label   = get(root, "label", QP_JSON_STRING);
    CU_ASSERT(num(opt, "streams") == N_STREAMS && num(opt, "rate_hz") == RATE_HZ);
    const struct qp_json *senders = get(opt, "senders", QP_JSON_STRING);
    CU_ASSERT(senders && strcmp(senders->v.str, "stream") == 0); /* a thread per camera */
    CU_ASSERT(host && num(host, "cores") >= 1 && get(host, "kernel", QP_JSON_STRING));
    CU_ASSERT(label && strcmp(label->v.str, "e2e") == 0);
    get(root, "publisher", QP_JSON_OBJECT);
    const struct qp_json *sub = get(root, "subscriber", QP_JSON_OBJECT);
    CU_ASSERT(num(sub, "foreign") == 0 && num(sub, "duplicate") == 0);

    const double per_stream = RATE_HZ * DURATION_S;
    if (total) {
        check_counts(total, N_STREAMS * per_stream);
        CU_ASSERT(num(total, "throughput_fps") > 0);
        check_dist(total, "latency_ms", true);
        check_dist(total, "server_overhead_ms", true);
    }
    for (int i = 0; stages && i < 6; i++) {
        static const char *const names[6] = {"transport_in", "queue",   "batch_wait",
                                             "inference",    "publish", "transport_out"};
        check_dist(stages, names[i], true);
    }
    CU_ASSERT_FATAL(streams && streams->n == N_STREAMS);
    double sent = 0, received = 0;
    for (int k = 0; k < N_STREAMS; k++) {
        const struct qp_json *s    = &streams->v.items[k];
        const struct qp_json *name = get(s, "name", QP_JSON_STRING);
        char                  want[16];
        snprintf(want, sizeof want, "cam%d", k);
        CU_ASSERT(name && strcmp(name->v.str, want) == 0);
        check_counts(s, per_stream);
        check_dist(s, "latency_ms", true);
        sent += num(s, "sent");
        received += num(s, "received");
    }
    CU_ASSERT_EQUAL(sent, num(total, "sent"));
    CU_ASSERT_EQUAL(received, num(total, "received"));
    qp_json_free(doc);
}

static void test_bench_no_server(void)
{
    if (!T.ok)
        QP_TEST_SKIP("no server (see test_bench_run)");
    QP_TEST_RAN();
    /* frames go to the real server, results are awaited where nobody publishes;
     * one thread sends them all (the default) */
    int  rc = cli(out, sizeof out,
                  "bench --endpoint 'ipc://%s/nobody' --frames-endpoint 'ipc://%s/cam%%d' "
                   "--streams %d --rate 5 --duration 0.5 --warmup 0 --size %dx%d",
                  T.p.dir, T.p.dir, N_STREAMS, SIDE_W, SIDE_H);
    char want[320];
    snprintf(want, sizeof want, "ipc://%s/nobody", T.p.dir);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "no Detections came back"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "senders: one\n"));
    /* every scheduled frame was sent: 5 Hz x 0.5 s = 3 per stream */
    const char *all  = strstr(out, "\nall ");
    int         sent = -1;
    CU_ASSERT(all && sscanf(all, " all %d", &sent) == 1 && sent == 3 * N_STREAMS);
}

static void test_bench_bad_options(void)
{
    if (!getenv("QP_CLI"))
        QP_TEST_SKIP("QP_CLI is not set");
    QP_TEST_RAN();
    CU_ASSERT_EQUAL(cli(out, sizeof out,
                        "bench --endpoint ipc://x --frames-endpoint 'ipc://y%%d' "
                        "--rate fast"),
                    2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--rate: 'fast'"));
    CU_ASSERT_EQUAL(cli(out, sizeof out, "bench --endpoint ipc://x --frames-endpoint ipc://y"), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--frames-endpoint"));
    CU_ASSERT_EQUAL(cli(out, sizeof out, "bench --frames-endpoint 'ipc://y%%d' --size 0x10"), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--size"));
    CU_ASSERT_EQUAL(cli(out, sizeof out,
                        "bench --endpoint ipc://x --frames-endpoint 'ipc://y%%d' --senders two"),
                    2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--senders: 'two'"));
}

static CU_TestInfo bench_tests[] = {
    {"a run: exit 0, JSON, every frame accounted", test_bench_run},
    {"nobody publishing: exit 1 naming the endpoint", test_bench_no_server},
    {"bad options name the option", test_bench_bad_options},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"bench/e2e", suite_init, suite_clean, NULL, NULL, bench_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
