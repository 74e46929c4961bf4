// SPDX-License-Identifier: Apache-2.0
/*
 * test_bench_fake.c - `qpercept bench` (env QP_CLI) against a fake server
 * whose delays and drops are known, so the report's numbers can be checked
 * against the truth.
 *
 * The fake (a thread of this test, raw ZeroMQ on ipc:// endpoints in a
 * fresh temp dir) binds a PULL per stream as qperceptd's stream mode = pull
 * does and a PUB for Detections, decodes each Frame with proto/wire and
 * answers it with a Detections encoded by proto/wire's encoder, as
 * server/publish.c does, published at capture + delay(seq):
 *   - delay by seq (r = seq x 37 mod 100, every residue once per 100
 *     seqs): 85% 2 ms, 12% 25 ms, 3% 100 ms;
 *   - stage stamps fixed relative to the capture stamp: received +0.3 ms,
 *     batched = received + queue(seq, stream) (a distinct multiple of
 *     200 ns below 0.82 ms for every frame), inference start +1.25 ms,
 *     inference end = published - 0.25 ms, published = capture + delay;
 *   - drops by seq mod 100: 11 and 47 dropped and counted "replaced",
 *     61 dropped and counted "too_old" (in the stream's cumulative counters
 *     of the next Detections), 35 dropped silently.
 * Then, from the frames the fake actually saw (a publisher drop of the
 * generator changes nothing below):
 *   - end-to-end p50 / p90 / p99 / max are never below the injected
 *     delays' nearest-rank percentiles (each frame's latency is at least
 *     its delay, so each order statistic is too) and within a slack above
 *     them; the three levels sit 23 and 75 ms apart and the checked ranks
 *     lie well inside a level (p50 in 2 ms, p90 in 25 ms, p99 in 100 ms),
 *     so the slack (15 / 40 / 60 / 250 ms, for a loaded 2-core machine
 *     under ASan) still fails a percentile taken from the wrong level;
 *   - the stage split is exact to the JSON's 100 ns: transport_in 0.3 ms,
 *     publish 0.25 ms, and queue, batch_wait and inference percentiles
 *     (min, p50, p90, p99, p99.9, max) equal the nearest-rank values the
 *     test computes itself: queue values are all distinct, so a rank off by
 *     one, an interpolation, or a result matched to the wrong frame fails;
 *   - every reported drop is charged to its reason (replaced, too_old),
 *     the silent ones are unexplained, nothing else is lost, per stream and
 *     in total;
 *   - --plot writes an SVG with a CDF line per stream and "all";
 *   - --compare of the report with itself exits 0, with a missing file 1
 *     naming it, with one file 2.
 * Every wait is bounded (the run takes ~6 s). Without QP_CLI: skipped.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, popen */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cli_run.h"
#include "core/json.h"
#include "proto/wire.h"
#include "qp_test.h"

#define N_STREAMS 2
#define RATE_HZ 100
#define DURATION_S 3
#define N_MEASURED (RATE_HZ * DURATION_S) /* per stream: seqs 1 .. N_MEASURED (0 primes) */
#define IMG_W 64
#define IMG_H 48
#define MAX_SEQ 2048 /* seqs the fake tracks per stream; queue() is distinct below it */
#define MAX_PENDING 4096
#define MS_NS 1000000ULL

/* ===== The fake's rules (the truth the report is checked against) ===== */

static uint64_t delay_ns(uint64_t seq)
{
    uint64_t r = seq * 37 % 100;
    return r < 3 ? 100 * MS_NS : r < 15 ? 25 * MS_NS : 2 * MS_NS;
}

/* A distinct value per (seq, stream) for seq < MAX_SEQ: 7919 is odd, so
 * multiplying by it permutes the residues mod 4096. */
static uint64_t queue_ns(uint64_t seq, int stream)
{
    return 200 * ((seq * 2 + (uint64_t)stream) * 7919 % 4096);
}

#define RECEIVED_AFTER_NS 300000ULL     /* received - capture */
#define INFER_START_AFTER_NS 1250000ULL /* inference start - capture */
#define PUBLISH_NS 250000ULL            /* published - inference end */

enum fate { FATE_ANSWER, FATE_REPLACED, FATE_TOO_OLD, FATE_SILENT };

static enum fate fate_of(uint64_t seq)
{
    switch (seq % 100) {
    case 11:
    case 47:
        return FATE_REPLACED;
    case 61:
        return FATE_TOO_OLD;
    case 35:
        return FATE_SILENT;
    default:
        return FATE_ANSWER;
    }
}

/* ===== The fake server ===== */

struct pending {
    int                   stream;
    uint64_t              due_ns;
    struct qp_wire_header header;
};

static struct {
    void                     *zctx, *pull[N_STREAMS], *pub;
    pthread_t                 th;
    atomic_bool               stop;
    struct qp_wire_decoder   *dec;
    struct qp_wire_drops      drops[N_STREAMS];
    bool                      seen[N_STREAMS][MAX_SEQ]; /* frames received */
    struct pending            pending[MAX_PENDING];
    int                       n_pending;
    struct qp_wire_detections out;
    uint8_t                   buf[1 << 16];
    /* problems, asserted by the main thread after the join */
    uint64_t n_bad_frames, n_bad_publish, n_overflow;
} F;

static uint64_t realtime_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void publish(const struct pending *p)
{
    struct qp_wire_detections *d = &F.out;
    uint64_t                   c = p->header.capture_ns, pub = c + delay_ns(p->header.seq);
    memset(d, 0, sizeof *d);
    d->header = p->header;
    snprintf(d->model, sizeof d->model, "fake");
    snprintf(d->engine_id, sizeof d->engine_id, "fake-engine");
    d->stamps = (struct qp_wire_stamps){
        .received_ns        = c + RECEIVED_AFTER_NS,
        .batched_ns         = c + RECEIVED_AFTER_NS + queue_ns(p->header.seq, p->stream),
        .inference_start_ns = c + INFER_START_AFTER_NS,
        .inference_end_ns   = pub - PUBLISH_NS,
        .published_ns       = pub,
    };
    d->batch_size = 1;
    d->drops      = F.drops[p->stream];
    d->status     = QP_WIRE_DET_STATUS_OK;
    size_t len    = 0;
    if (qp_wire_validate_detections(d, NULL, NULL) != QP_OK ||
        qp_wire_encode_detections(d, F.buf, sizeof F.buf, &len, NULL) != QP_OK ||
        zmq_send(F.pub, d->header.stream, strlen(d->header.stream), ZMQ_SNDMORE) < 0 ||
        zmq_send(F.pub, F.buf, len, 0) < 0)
        F.n_bad_publish++;
}

/* Publish every pending answer that is due; ns until the next one. */
static uint64_t publish_due(void)
{
    uint64_t now = realtime_ns(), next = UINT64_MAX;
    for (int i = 0; i < F.n_pending;) {
        if (F.pending[i].due_ns <= now) {
            publish(&F.pending[i]);
            F.pending[i] = F.pending[--F.n_pending];
            continue;
        }
        if (F.pending[i].due_ns - now < next)
            next = F.pending[i].due_ns - now;
        i++;
    }
    return next;
}

/* One [stream][Frame] from stream s's PULL: drop it by the rules or queue its answer. */
static void take_frame(int s)
{
    char      topic[QP_WIRE_STREAM_MAX];
    zmq_msg_t msg;
    if (zmq_recv(F.pull[s], topic, sizeof topic, ZMQ_DONTWAIT) < 0)
        return;
    zmq_msg_init(&msg);
    struct qp_wire_frame fr;
    if (zmq_msg_recv(&msg, F.pull[s], 0) < 0 ||
        qp_wire_decode_frame(F.dec, zmq_msg_data(&msg), zmq_msg_size(&msg), &fr, NULL, NULL) !=
            QP_OK ||
        fr.header.seq >= MAX_SEQ) {
        F.n_bad_frames++;
        zmq_msg_close(&msg);
        return;
    }
    zmq_msg_close(&msg);
    F.seen[s][fr.header.seq] = true;
    switch (fate_of(fr.header.seq)) {
    case FATE_REPLACED:
        F.drops[s].replaced++;
        return;
    case FATE_TOO_OLD:
        F.drops[s].too_old++;
        return;
    case FATE_SILENT:
        return;
    case FATE_ANSWER:
        break;
    }
    if (F.n_pending == MAX_PENDING) {
        F.n_overflow++;
        return;
    }
    F.pending[F.n_pending++] = (struct pending){
        .stream = s, .due_ns = fr.header.capture_ns + delay_ns(fr.header.seq), .header = fr.header};
}

static void *fake_main(void *arg)
{
    (void)arg;
    zmq_pollitem_t items[N_STREAMS];
    for (int s = 0; s < N_STREAMS; s++)
        items[s] = (zmq_pollitem_t){.socket = F.pull[s], .events = ZMQ_POLLIN};
    while (!atomic_load(&F.stop)) {
        uint64_t next_ns = publish_due();
        long     wait_ms = next_ns == UINT64_MAX ? 20 : (long)((next_ns + MS_NS - 1) / MS_NS);
        if (zmq_poll(items, N_STREAMS, wait_ms > 20 ? 20 : wait_ms) <= 0)
            continue;
        for (int s = 0; s < N_STREAMS; s++)
            if (items[s].revents & ZMQ_POLLIN)
                take_frame(s);
    }
    return NULL;
}

/* ===== Suite ===== */

static struct {
    bool ok;
    char dir[256], det[300], json[300], svg[300];
    char cam[N_STREAMS][300];
} T;

static char out[1 << 16];

static int suite_init(void)
{
    if (!getenv("QP_CLI"))
        return 0;
    snprintf(T.dir, sizeof T.dir, "/tmp/qp_test_bench_fake_XXXXXX");
    if (!mkdtemp(T.dir))
        return 1;
    snprintf(T.det, sizeof T.det, "ipc://%s/det", T.dir);
    snprintf(T.json, sizeof T.json, "%s/bench.json", T.dir);
    snprintf(T.svg, sizeof T.svg, "%s/bench.svg", T.dir);
    F.zctx     = zmq_ctx_new();
    F.pub      = F.zctx ? zmq_socket(F.zctx, ZMQ_PUB) : NULL;
    int linger = 0, hwm = 100000;
    if (!F.pub || zmq_setsockopt(F.pub, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_bind(F.pub, T.det) != 0)
        return 1;
    zmq_setsockopt(F.pub, ZMQ_LINGER, &linger, sizeof linger);
    for (int s = 0; s < N_STREAMS; s++) {
        snprintf(T.cam[s], sizeof T.cam[s], "ipc://%s/cam%d", T.dir, s);
        F.pull[s] = zmq_socket(F.zctx, ZMQ_PULL);
        if (!F.pull[s] || zmq_setsockopt(F.pull[s], ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
            zmq_bind(F.pull[s], T.cam[s]) != 0)
            return 1;
        zmq_setsockopt(F.pull[s], ZMQ_LINGER, &linger, sizeof linger);
    }
    if (qp_wire_decoder_new(IMG_W * IMG_H * 3 + 4096, 0, &F.dec, NULL) != QP_OK ||
        pthread_create(&F.th, NULL, fake_main, NULL) != 0)
        return 1;
    T.ok = true;
    return 0;
}

/* Stop the fake (idempotent). */
static void fake_stop(void)
{
    if (!T.ok || atomic_exchange(&F.stop, true))
        return;
    pthread_join(F.th, NULL);
}

static int suite_clean(void)
{
    fake_stop();
    for (int s = 0; s < N_STREAMS; s++)
        if (F.pull[s])
            zmq_close(F.pull[s]);
    if (F.pub)
        zmq_close(F.pub);
    if (F.zctx)
        zmq_ctx_term(F.zctx);
    qp_wire_decoder_free(F.dec);
    if (T.dir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", T.dir);
        if (system(cmd) != 0)
            return 1;
    }
    return 0;
}

/* ===== The truth ===== */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest rank, written again here (not bench_stats.c's): the
 * ceil(permille x n / 1000)-th smallest. */
static double rank_ms(const uint64_t *sorted, size_t n, int permille)
{
    size_t r = ((size_t)permille * n + 999) / 1000;
    return (double)sorted[r - 1] / 1e6;
}

/* What the fake's rules say of the measured frames it saw. */
struct truth {
    size_t   n; /* answered */
    uint64_t delay[N_STREAMS * N_MEASURED], queue[N_STREAMS * N_MEASURED],
        batch_wait[N_STREAMS * N_MEASURED], inference[N_STREAMS * N_MEASURED];
    uint64_t replaced[N_STREAMS + 1], too_old[N_STREAMS + 1], silent[N_STREAMS + 1],
        seen[N_STREAMS + 1], answered[N_STREAMS + 1]; /* per stream, then the total */
};

static void truth_of(struct truth *t)
{
    memset(t, 0, sizeof *t);
    for (int s = 0; s < N_STREAMS; s++)
        for (uint64_t seq = 1; seq <= N_MEASURED; seq++) {
            if (!F.seen[s][seq])
                continue;
            enum fate fa = fate_of(seq);
            t->seen[s]++;
            t->replaced[s] += fa == FATE_REPLACED;
            t->too_old[s] += fa == FATE_TOO_OLD;
            t->silent[s] += fa == FATE_SILENT;
            if (fa != FATE_ANSWER)
                continue;
            t->answered[s]++;
            uint64_t q          = queue_ns(seq, s);
            t->delay[t->n]      = delay_ns(seq);
            t->queue[t->n]      = q;
            t->batch_wait[t->n] = INFER_START_AFTER_NS - RECEIVED_AFTER_NS - q;
            t->inference[t->n]  = delay_ns(seq) - PUBLISH_NS - INFER_START_AFTER_NS;
            t->n++;
        }
    for (int s = 0; s < N_STREAMS; s++) {
        t->replaced[N_STREAMS] += t->replaced[s];
        t->too_old[N_STREAMS] += t->too_old[s];
        t->silent[N_STREAMS] += t->silent[s];
        t->seen[N_STREAMS] += t->seen[s];
        t->answered[N_STREAMS] += t->answered[s];
    }
    qsort(t->delay, t->n, sizeof t->delay[0], cmp_u64);
    qsort(t->queue, t->n, sizeof t->queue[0], cmp_u64);
    qsort(t->batch_wait, t->n, sizeof t->batch_wait[0], cmp_u64);
    qsort(t->inference, t->n, sizeof t->inference[0], cmp_u64);
}

/* ===== JSON ===== */

static const struct qp_json *obj(const struct qp_json *o, const char *key)
{
    const struct qp_json *v = qp_json_get(o, key);
    if (!v || (v->type != QP_JSON_OBJECT && v->type != QP_JSON_ARRAY))
        fprintf(stderr, "JSON key '%s' missing or not an object / array\n", key);
    CU_ASSERT_FATAL(v && (v->type == QP_JSON_OBJECT || v->type == QP_JSON_ARRAY));
    return v;
}

static double num(const struct qp_json *o, const char *key)
{
    const struct qp_json *v = qp_json_get(o, key);
    if (!v || v->type != QP_JSON_NUMBER) {
        fprintf(stderr, "JSON key '%s' missing or not a number\n", key);
        CU_FAIL("JSON key missing or not a number");
        return NAN;
    }
    return v->v.num;
}

/* The percentile keys of a distribution and their permille. */
static const struct {
    const char *key;
    int         permille; /* 0: min */
} pct[] = {{"min", 0}, {"p50", 500}, {"p90", 900}, {"p99", 990}, {"p99_9", 999}, {"max", 1000}};

/* Distribution key of stages_ms equals the sorted truth exactly (the JSON
 * has 100 ns resolution). */
static void expect_exact(const struct qp_json *stages, const char *key, const uint64_t *sorted,
                         size_t n)
{
    const struct qp_json *d = obj(stages, key);
    CU_ASSERT_EQUAL(num(d, "n"), (double)n);
    for (size_t i = 0; i < sizeof pct / sizeof pct[0]; i++) {
        double want =
            pct[i].permille ? rank_ms(sorted, n, pct[i].permille) : (double)sorted[0] / 1e6;
        double got = num(d, pct[i].key);
        if (fabs(got - want) > 0.00006)
            fprintf(stderr, "stage %s %s: %.4f ms, want %.4f\n", key, pct[i].key, got, want);
        CU_ASSERT(fabs(got - want) <= 0.00006);
    }
}

/* A constant stage: every percentile is v_ns. */
static void expect_const(const struct qp_json *stages, const char *key, uint64_t v_ns, size_t n)
{
    const struct qp_json *d = obj(stages, key);
    CU_ASSERT_EQUAL(num(d, "n"), (double)n);
    for (size_t i = 0; i < sizeof pct / sizeof pct[0]; i++)
        CU_ASSERT(fabs(num(d, pct[i].key) - (double)v_ns / 1e6) <= 0.00006);
}

/* The end-to-end percentile key: within [truth, truth + slack]. */
static void expect_latency(const struct qp_json *lat, const char *key, int permille,
                           const struct truth *t, double slack_ms)
{
    double want = rank_ms(t->delay, t->n, permille), got = num(lat, key);
    fprintf(stderr, "latency %s: %.3f ms (injected %.3f, slack %.0f)\n", key, got, want, slack_ms);
    CU_ASSERT(got >= want && got <= want + slack_ms);
}

/* Counts of one row (a stream, or the total) against the truth's column i. */
static void expect_counts(const struct qp_json *c, const struct truth *t, int i)
{
    const struct qp_json *by   = obj(c, "lost_server_by_reason");
    double                sent = num(c, "sent"), lost_server = (double)(t->replaced[i] + t->too_old[i]);
    double                scheduled = (i == N_STREAMS ? N_STREAMS : 1) * N_MEASURED;
    CU_ASSERT_EQUAL(sent + num(c, "publisher_dropped") + num(c, "not_sent"), scheduled);
    CU_ASSERT_EQUAL(sent, (double)t->seen[i]); /* what was sent arrived */
    CU_ASSERT_EQUAL(num(c, "received"), (double)t->answered[i]);
    CU_ASSERT_EQUAL(num(by, "replaced"), (double)t->replaced[i]);
    CU_ASSERT_EQUAL(num(by, "too_old"), (double)t->too_old[i]);
    CU_ASSERT_EQUAL(num(c, "lost_server"), lost_server);
    CU_ASSERT_EQUAL(num(c, "lost_unexplained"), (double)t->silent[i]);
    CU_ASSERT_EQUAL(num(c, "lost"), lost_server + (double)t->silent[i]);
    CU_ASSERT_EQUAL(num(c, "unmatched_server_drops"), 0);
    CU_ASSERT(t->replaced[i] > 0 && t->too_old[i] > 0 && t->silent[i] > 0);
}

/* ===== Tests ===== */

static void test_fake_run(void)
{
    if (!T.ok)
        QP_TEST_SKIP("QP_CLI is not set");
    QP_TEST_RAN();
    int rc = cli(out, sizeof out,
                 "bench --endpoint '%s' --frames-endpoint 'ipc://%s/cam%%d' --streams %d "
                 "--rate %d --duration %d --warmup 0 --size %dx%d --json '%s' --plot '%s' "
                 "--label fake",
                 T.det, T.dir, N_STREAMS, RATE_HZ, DURATION_S, IMG_W, IMG_H, T.json, T.svg);
    fake_stop();
    fprintf(stderr, "\n%s", out);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(F.n_bad_frames + F.n_bad_publish + F.n_overflow, 0);

    static struct truth t;
    truth_of(&t);
    CU_ASSERT_FATAL(t.n > 0.8 * N_STREAMS * N_MEASURED);
    struct qp_json_doc *doc = NULL;
    struct qp_err       err = {{0}};
    if (qp_json_read_file(T.json, &doc, &err) != QP_OK)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const struct qp_json *root = qp_json_root(doc), *total = obj(root, "total");
    const struct qp_json *lat = obj(total, "latency_ms"), *stages = obj(root, "stages_ms");

    expect_latency(lat, "p50", 500, &t, 15);
    expect_latency(lat, "p90", 900, &t, 40);
    expect_latency(lat, "p99", 990, &t, 60);
    expect_latency(lat, "max", 1000, &t, 250);
    CU_ASSERT(num(lat, "min") >= (double)t.delay[0] / 1e6);
    CU_ASSERT_EQUAL(num(lat, "n"), (double)t.n);

    expect_const(stages, "transport_in", RECEIVED_AFTER_NS, t.n);
    expect_exact(stages, "queue", t.queue, t.n);
    expect_exact(stages, "batch_wait", t.batch_wait, t.n);
    expect_exact(stages, "inference", t.inference, t.n);
    expect_const(stages, "publish", PUBLISH_NS, t.n);
    CU_ASSERT(num(obj(stages, "transport_out"), "min") >= 0);
    /* end to end - inference: at least the 1.5 ms of stamps around inference */
    CU_ASSERT(num(obj(total, "server_overhead_ms"), "min") >= 1.5);

    expect_counts(total, &t, N_STREAMS);
    const struct qp_json *streams = obj(root, "streams");
    CU_ASSERT_FATAL(streams->n == N_STREAMS);
    for (int s = 0; s < N_STREAMS; s++)
        expect_counts(&streams->v.items[s], &t, s);
    qp_json_free(doc);
}

static void test_fake_plot(void)
{
    if (!T.ok)
        QP_TEST_SKIP("QP_CLI is not set");
    QP_TEST_RAN();
    static char svg[1 << 20];
    FILE       *f = fopen(T.svg, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = fread(svg, 1, sizeof svg - 1, f);
    svg[n]   = '\0';
    fclose(f);
    CU_ASSERT(strncmp(svg, "<?xml", 5) == 0 && strstr(svg, "</svg>\n"));
    int n_cdf = 0;
    for (const char *p = strstr(svg, "class=\"cdf\""); p; p = strstr(p + 1, "class=\"cdf\""))
        n_cdf++;
    CU_ASSERT_EQUAL(n_cdf, N_STREAMS + 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "data-reason=\"replaced\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "data-reason=\"too_old\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "data-reason=\"unexplained\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "qpercept bench fake: 2 streams x 100 Hz"));
}

static void test_fake_compare(void)
{
    if (!T.ok)
        QP_TEST_SKIP("QP_CLI is not set");
    QP_TEST_RAN();
    CU_ASSERT_EQUAL(cli(out, sizeof out, "bench --compare '%s' '%s'", T.json, T.json), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "setup: the same (streams 2, rate_hz 100"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "dropped too_old"));
    CU_ASSERT_EQUAL(cli(out, sizeof out, "bench --compare '%s' '%s/none.json'", T.json, T.dir), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "none.json"));
    CU_ASSERT_EQUAL(cli(out, sizeof out, "bench --compare '%s'", T.json), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--compare takes two report files"));
}

static CU_TestInfo fake_tests[] = {
    {"known delays and drops: percentiles, stages, losses", test_fake_run},
    {"--plot of that run", test_fake_plot},
    {"--compare: exit 0, 1 naming the file, 2", test_fake_compare},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"bench/fake", suite_init, suite_clean, NULL, NULL, fake_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
