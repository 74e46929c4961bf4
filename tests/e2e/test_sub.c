// SPDX-License-Identifier: Apache-2.0
/*
 * test_sub.c - `qpercept sub` (env QP_CLI) against a real qperceptd (env
 * QP_SERVER, YOLOX-Nano from QP_MIRROR, CPU backend) on ipc:// endpoints,
 * with two pull streams: s0 (1600x900 only) and s1 (any size). The test
 * publishes the nuScenes CAM_FRONT frame (JPEG) with qp_pub and receives
 * every Detections itself with a qp_sub, then compares the command's output:
 *   - --json --stream s0 --count K: K lines, each a JSON object (parsed with
 *     qp_json_parse) equal field by field to what the test's qp_sub got for
 *     that seq of s0; consecutive seqs; nothing of s1 (exact filtering);
 *     exit 0;
 *   - text mode: a frame of the wrong size, which the server drops, leaves a
 *     gap of one seq: the next line says so and the summary line of s0 reads
 *     "2 messages ... 1 gaps, 1 missing";
 *   - SIGINT and SIGTERM end it with exit 0 and the summary (stats lines
 *     every --stats-every before it);
 *   - --timeout-ms against a server that publishes nothing: exit 1 and a
 *     message naming the endpoint;
 *   - bad options exit 2 (these need no server).
 * The command's subscription joins while the test publishes (ZeroMQ's slow
 * joiner), so frames are sent one at a time until its first line comes;
 * results are matched by seq. Every wait is bounded.
 */
#define _GNU_SOURCE /* mkdtemp */
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "cli_run.h"
#include "core/json.h"
#include "proto/wire.h"
#include "qp_test.h"
#include "qpercept/client.h"
#include "server_run.h"

#define NUSCENES                                                                                   \
    "data/driving/nuscenes/n015-2018-07-24-11-22-45+0800__CAM_FRONT__1532402927612460.jpg"
#define W 1600
#define H 900
#define MAX_SEQ 64    /* frames one test sends at most, per stream */
#define WAIT_MS 60000 /* one frame's detections, CPU inference under sanitizers */

static struct {
    bool             ok, up;
    char             model[1024], jpeg_path[1024], ep[2][300], key[300];
    struct srv_paths p;
    uint8_t         *jpeg;
    size_t           jpeg_bytes;
    pid_t            pid;
    struct qp_pub   *pub[2];
    struct qp_sub   *sub;
} T;

/* What the test's own subscriber received, by stream and seq. */
static struct qp_detections_in got[2][MAX_SEQ];
static bool                    have[2][MAX_SEQ];
static struct qp_detections_in msg;

static const char *const STREAMS[2] = {"s0", "s1"};

static int suite_init(void)
{
    if (!srv_paths_make(&T.p, "sub"))
        return 1;
    snprintf(T.key, sizeof T.key, "%s/key", T.p.dir);
    if (!getenv("QP_SERVER") || !getenv("QP_CLI") ||
        !qp_test_mirror_file("models/yolox_nano_416_coco.onnx", T.model, sizeof T.model) ||
        !qp_test_mirror_file(NUSCENES, T.jpeg_path, sizeof T.jpeg_path))
        return 0;
    if (!srv_read_file(T.jpeg_path, &T.jpeg, &T.jpeg_bytes))
        return 1;
    for (int s = 0; s < 2; s++)
        if (!srv_paths_endpoint(&T.p, STREAMS[s], T.ep[s], sizeof T.ep[s]))
            return 1;
    FILE *f = srv_config_open_unbatched(&T.p, T.model, W * H * 3);
    if (!f)
        return 1;
    srv_config_stream(f, &T.p, STREAMS[0], "pull", W, H);
    srv_config_stream(f, &T.p, STREAMS[1], "pull", 0, 0);
    if (fclose(f) != 0)
        return 1;
    T.ok = true;
    return 0;
}

static int suite_clean(void)
{
    qp_sub_free(T.sub);
    for (int s = 0; s < 2; s++)
        qp_pub_free(T.pub[s]);
    srv_end(&T.pid, 30000);
    free(T.jpeg);
    return srv_paths_remove(&T.p) ? 0 : 1;
}

/* The server (once per suite), two publishers and the test's subscriber. */
static bool up(void)
{
    if (T.up)
        return true;
    if (!srv_start(&T.pid, T.p.cfg, T.p.log, T.p.ctl))
        return false;
    struct qp_err err = {{0}};
    if (!srv_subscribe(T.p.det, &T.sub))
        return false;
    for (int s = 0; s < 2; s++) {
        struct qp_pub_opts po = QP_PUB_OPTS_DEFAULT;
        po.endpoint           = T.ep[s];
        po.stream             = STREAMS[s];
        po.kind               = QP_PUB_KIND_PUSH;
        po.max_frame_bytes    = (size_t)W * H * 3;
        if (qp_pub_new(&po, &T.pub[s], &err) != QP_OK) {
            fprintf(stderr, "publisher: %s\n", err.msg);
            return false;
        }
    }
    srv_sleep_ms(300); /* the subscription reaches the server's PUB */
    T.up = true;
    return true;
}

#define NEEDS_SERVER()                                                                             \
    do {                                                                                           \
        if (!T.ok)                                                                                 \
            QP_TEST_SKIP("QP_SERVER, QP_CLI, the model or the nuScenes frame missing");            \
        QP_TEST_RAN();                                                                             \
        CU_ASSERT_FATAL(up());                                                                     \
    } while (0)

/* Send the JPEG on stream s (or, with wrong_size, a 416x416 BGR frame that
 * s0 refuses): its seq. */
static uint64_t send_frame(int s, bool wrong_size)
{
    static uint8_t      small[416 * 416 * 3];
    struct qp_pub_stats ps;
    struct qp_err       err = {{0}};
    struct qp_frame_out f   = {.width        = W,
                               .height       = H,
                               .format       = QP_FRAME_FORMAT_JPEG,
                               .pixels       = T.jpeg,
                               .pixels_bytes = T.jpeg_bytes};
    if (wrong_size)
        f = (struct qp_frame_out){.width        = 416,
                                  .height       = 416,
                                  .stride       = 416 * 3,
                                  .format       = QP_FRAME_FORMAT_BGR8,
                                  .pixels       = small,
                                  .pixels_bytes = sizeof small};
    qp_pub_stats(T.pub[s], &ps);
    CU_ASSERT_EQUAL(qp_pub_send(T.pub[s], &f, &err), QP_OK);
    return ps.next_seq;
}

/* Wait until the test's subscriber has stream s's Detections of seq, keeping
 * everything it receives on the way in got[][]. */
static bool detections_of(int s, uint64_t seq)
{
    for (int64_t end = srv_now_ms() + WAIT_MS; srv_now_ms() < end;) {
        struct qp_err err = {{0}};
        if (qp_sub_recv(T.sub, &msg, 100, &err) != QP_OK)
            continue;
        int k = strcmp(msg.header.stream, "s1") == 0;
        if (msg.header.seq < MAX_SEQ) {
            got[k][msg.header.seq]  = msg;
            have[k][msg.header.seq] = true;
        }
        if (k == s && msg.header.seq == seq)
            return true;
    }
    return false;
}

/* ===== The command as a child process ===== */

struct child {
    pid_t  pid;
    int    fd; /* its stdout */
    char   out[1 << 18];
    size_t n;
    char   err_path[320]; /* its stderr */
};

static struct child C;

/* Start `qpercept ARGS` (argv NULL-terminated, without the program). */
static bool child_start(struct child *c, const char *const *args)
{
    const char *argv[32] = {"qpercept"};
    int         n        = 1;
    for (; args[n - 1] && n < 31; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    int p[2];
    c->n      = 0;
    c->out[0] = '\0';
    snprintf(c->err_path, sizeof c->err_path, "%s/stderr", T.p.dir);
    if (pipe(p) != 0)
        return false;
    c->pid = fork();
    if (c->pid == 0) {
        int e = open(c->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(p[1], 1);
        dup2(e, 2);
        close(p[0]);
        close(p[1]);
        execv(getenv("QP_CLI"), (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    c->fd = p[0];
    return c->pid > 0;
}

/* Read what the child wrote within wait_ms; false at end of file. */
static bool child_read(struct child *c, int wait_ms)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    if (poll(&pfd, 1, wait_ms) <= 0)
        return true;
    ssize_t k = read(c->fd, c->out + c->n, sizeof c->out - 1 - c->n);
    if (k <= 0)
        return false;
    c->n += (size_t)k;
    c->out[c->n] = '\0';
    return true;
}

static int child_lines(const struct child *c)
{
    int n = 0;
    for (size_t i = 0; i < c->n; i++)
        n += c->out[i] == '\n';
    return n;
}

/* Read to the end and reap: the exit code, or -1 (killed) when it did not
 * end within timeout_ms or died of a signal. */
static int child_wait(struct child *c, int timeout_ms)
{
    int64_t end = srv_now_ms() + timeout_ms;
    while (srv_now_ms() < end && child_read(c, 100))
        ;
    int st = -1;
    while (waitpid(c->pid, &st, WNOHANG) == 0 && srv_now_ms() < end)
        srv_sleep_ms(20);
    if (srv_now_ms() >= end && kill(c->pid, 0) == 0) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &st, 0);
        st = -1;
    }
    close(c->fd);
    c->pid = 0;
    return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The child's stderr file. */
static void child_stderr(const struct child *c, char *buf, size_t n)
{
    buf[0]  = '\0';
    FILE *f = fopen(c->err_path, "r");
    if (!f)
        return;
    size_t k = fread(buf, 1, n - 1, f);
    buf[k]   = '\0';
    fclose(f);
}

/* Send s0 frames one at a time (and with also_s1 one s1 frame each) until
 * the child has printed want lines: false when that never happens. */
static bool feed_until(int want, bool also_s1)
{
    for (int i = 0; i < MAX_SEQ - 4; i++) {
        uint64_t seq = send_frame(0, false);
        if (!detections_of(0, seq))
            return false;
        if (also_s1 && !detections_of(1, send_frame(1, false)))
            return false;
        for (int64_t end = srv_now_ms() + 1000; srv_now_ms() < end && child_lines(&C) < want;)
            if (!child_read(&C, 50))
                break;
        if (child_lines(&C) >= want)
            return true;
    }
    return false;
}

/* ===== JSON ===== */

/* One JSON line against what the test's subscriber got for its seq: the
 * number of mismatches (each said on stderr). */
static int compare_line(const struct qp_json *o, uint64_t *seq)
{
    const struct qp_json *h = qp_json_get(o, "header");
    *seq                    = (uint64_t)srv_json_num(h, "seq");
    if (strcmp(srv_json_str(h, "stream"), "s0") != 0 || *seq >= MAX_SEQ || !have[0][*seq]) {
        fprintf(stderr, "line of stream %s seq %llu: not a message of s0 we saw\n",
                srv_json_str(h, "stream"), (unsigned long long)*seq);
        return 1;
    }
    const struct qp_detections_in *m   = &got[0][*seq];
    const struct qp_json          *d   = qp_json_get(o, "detections");
    const struct qp_json          *st  = qp_json_get(o, "stamps");
    const struct qp_json          *dr  = qp_json_get(o, "drops");
    int                            bad = 0;
    /* a uint64 becomes the nearest double both in the parser and in the cast */
    bad += srv_json_num(h, "capture_ns") != (double)m->header.capture_ns;
    bad += strcmp(srv_json_str(h, "frame_id"), m->header.frame_id) != 0;
    bad += strcmp(srv_json_str(o, "model"), m->model) != 0 ||
           strcmp(srv_json_str(o, "engine_id"), m->engine_id) != 0;
    bad += srv_json_num(st, "received_ns") != (double)m->stamps.received_ns;
    bad += srv_json_num(st, "published_ns") != (double)m->stamps.published_ns;
    bad += srv_json_num(st, "inference_end_ns") != (double)m->stamps.inference_end_ns;
    bad += srv_json_num(o, "batch_size") != m->batch_size;
    bad += srv_json_num(dr, "malformed") != (double)m->drops.malformed;
    bad += srv_json_num(dr, "replaced") != (double)m->drops.replaced;
    bad += strcmp(srv_json_str(o, "status"), qp_det_status_name(m->status)) != 0;
    bad += strcmp(srv_json_str(o, "error"), m->error) != 0;
    if (!d || d->type != QP_JSON_ARRAY || d->n != m->n_detections) {
        fprintf(stderr, "seq %llu: %u detections in JSON, %u received\n", (unsigned long long)*seq,
                d ? d->n : 0, m->n_detections);
        return bad + 1;
    }
    for (uint32_t i = 0; i < d->n; i++) {
        const struct qp_json         *e = &d->v.items[i], *b = qp_json_get(e, "box");
        const struct qp_detection_in *r       = &m->detections[i];
        const float                   want[4] = {r->x0, r->y0, r->x1, r->y1};
        bad += srv_json_num(e, "class_id") != r->class_id ||
               strcmp(srv_json_str(e, "label"), r->label) != 0;
        bad += (float)srv_json_num(e, "score") != r->score; /* %.9g: exact */
        bad += !b || b->type != QP_JSON_ARRAY || b->n != 4;
        for (uint32_t j = 0; b && j < b->n && j < 4; j++)
            bad += b->v.items[j].type != QP_JSON_NUMBER || (float)b->v.items[j].v.num != want[j];
    }
    if (bad)
        fprintf(stderr, "seq %llu: %d fields differ\n", (unsigned long long)*seq, bad);
    return bad;
}

/* ===== Tests ===== */

static void test_json_matches_qp_sub(void)
{
    enum { K = 4 };
    NEEDS_SERVER();
    const char *args[] = {"sub",           "--endpoint", T.p.det, "--stream",     "s0",
                          "--json",        "--count",    "4",     "--timeout-ms", "120000",
                          "--stats-every", "0",          NULL};
    CU_ASSERT_FATAL(child_start(&C, args));
    CU_ASSERT(feed_until(K, true));
    CU_ASSERT_EQUAL(child_wait(&C, WAIT_MS), 0);
    CU_ASSERT_EQUAL(child_lines(&C), K);
    char    *line = C.out, *nl;
    uint64_t prev = 0;
    int      n = 0, n_dets = 0;
    while ((nl = strchr(line, '\n')) != NULL) {
        struct qp_json_doc *doc = NULL;
        struct qp_err       err = {{0}};
        if (qp_json_parse(line, (size_t)(nl - line), &doc, &err) != QP_OK) {
            fprintf(stderr, "not JSON: %.*s: %s\n", (int)(nl - line), line, err.msg);
            CU_FAIL("a line is not a JSON object");
            break;
        }
        const struct qp_json *o   = qp_json_root(doc);
        uint64_t              seq = 0;
        CU_ASSERT_EQUAL(compare_line(o, &seq), 0);
        if (n > 0) { /* after the first line, every frame of s0 is there */
            CU_ASSERT_EQUAL(seq, prev + 1);
            CU_ASSERT_EQUAL(srv_json_num(o, "n_missing"), 0);
        }
        n_dets += (int)qp_json_get(o, "detections")->n;
        prev = seq;
        n++;
        qp_json_free(doc);
        line = nl + 1;
    }
    CU_ASSERT_EQUAL(n, K);
    CU_ASSERT(n_dets >= K); /* the road frame has cars in it: the comparison compared boxes */
}

static void test_text_gap_summary(void)
{
    NEEDS_SERVER();
    const char *args[] = {"sub", "--endpoint",   T.p.det,  "--stream",      "s0", "--count",
                          "2",   "--timeout-ms", "120000", "--stats-every", "0",  NULL};
    CU_ASSERT_FATAL(child_start(&C, args));
    CU_ASSERT_FATAL(feed_until(1, false));
    send_frame(0, true); /* its seq is used, the server drops the frame */
    uint64_t seq = send_frame(0, false);
    CU_ASSERT_FATAL(detections_of(0, seq));
    CU_ASSERT_EQUAL(got[0][seq].n_missing, 1); /* the premise: the server dropped it */
    CU_ASSERT_EQUAL(child_wait(&C, WAIT_MS), 0);
    char want[160];
    snprintf(want, sizeof want, "s0 seq %llu capture ", (unsigned long long)seq);
    const char *line = strstr(C.out, want);
    CU_ASSERT_PTR_NOT_NULL_FATAL(line);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "(1 missing before)"));
    snprintf(want, sizeof want, ": %u detection%s", got[0][seq].n_detections,
             got[0][seq].n_detections == 1 ? "" : "s");
    CU_ASSERT_PTR_NOT_NULL(strstr(line, want));
    const char *sum = strstr(C.out, "summary ");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sum);
    CU_ASSERT_PTR_NOT_NULL(strstr(sum, " s0: 2 messages, "));
    CU_ASSERT_PTR_NOT_NULL(strstr(sum, "1 gaps, 1 missing\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sum, " total: 2 messages, "));
    CU_ASSERT_PTR_NOT_NULL(strstr(sum, "0 malformed"));
    if (!strstr(C.out, "1 gaps, 1 missing"))
        fprintf(stderr, "output:\n%s\n", C.out);
}

static void test_signals_end_with_summary(void)
{
    static const int sigs[2] = {SIGINT, SIGTERM};
    NEEDS_SERVER();
    for (int i = 0; i < 2; i++) {
        const char *args[] = {"sub", "--endpoint",        T.p.det, "--stats-every",
                              "0.2", i ? "--json" : NULL, NULL};
        CU_ASSERT_FATAL(child_start(&C, args));
        for (int64_t end = srv_now_ms() + 700; srv_now_ms() < end;)
            child_read(&C, 50);
        kill(C.pid, sigs[i]);
        CU_ASSERT_EQUAL(child_wait(&C, 10000), 0);
        char err[8192];
        child_stderr(&C, err, sizeof err);
        const char *where = i ? err : C.out; /* --json: stats on stderr */
        CU_ASSERT_PTR_NOT_NULL(strstr(where, "stats "));
        CU_ASSERT_PTR_NOT_NULL(strstr(where, "summary "));
        CU_ASSERT_PTR_NOT_NULL(strstr(where, " total: 0 messages"));
        if (i)
            CU_ASSERT_EQUAL(C.n, 0); /* stdout: detections only */
    }
}

static void test_timeout_names_endpoint(void)
{
    NEEDS_SERVER();
    const char *args[] = {"sub", "--endpoint",   T.p.det, "--stream",
                          "s0",  "--timeout-ms", "500",   NULL};
    int64_t     t0     = srv_now_ms();
    CU_ASSERT_FATAL(child_start(&C, args));
    CU_ASSERT_EQUAL(child_wait(&C, 20000), 1);
    int64_t took = srv_now_ms() - t0;
    CU_ASSERT(took >= 450 && took < 10000);
    char err[8192];
    child_stderr(&C, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, T.p.det));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "within 500 ms"));
    CU_ASSERT_PTR_NOT_NULL(strstr(C.out, "summary "));
}

/* ===== Against a raw publisher (no server) ===== */

/* A raw XPUB bound at ep, a CURVE server with secret_key when given. */
static void *raw_pub(void *ctx, const char *ep, const char *secret_key)
{
    void *pub = zmq_socket(ctx, ZMQ_XPUB);
    int   one = 1, zero = 0;
    if (!pub || zmq_setsockopt(pub, ZMQ_LINGER, &zero, sizeof zero) != 0)
        return NULL;
    if (secret_key && (zmq_setsockopt(pub, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
                       zmq_setsockopt(pub, ZMQ_CURVE_SECRETKEY, secret_key, 40) != 0))
        return NULL;
    return zmq_bind(pub, ep) == 0 ? pub : NULL;
}

/* Wait for the child's subscription to reach pub (bounded). */
static bool subscribed(void *pub)
{
    uint8_t        b[64];
    zmq_pollitem_t item = {.socket = pub, .events = ZMQ_POLLIN};
    return zmq_poll(&item, 1, 10000) == 1 && zmq_recv(pub, b, sizeof b, 0) >= 1;
}

/* Send [cam][Detections] of seq 7 with status DEGRADED and error text. */
static void send_raw_detections(void *pub, const char *error)
{
    static struct qp_wire_detections d;
    static uint8_t                   buf[64 << 10];
    size_t                           len = 0;
    memset(&d, 0, sizeof d);
    snprintf(d.header.stream, sizeof d.header.stream, "cam");
    d.header.seq        = 7;
    d.header.capture_ns = 1;
    d.batch_size        = 1;
    d.status            = QP_WIRE_DET_STATUS_DEGRADED;
    d.n_detections      = 1;
    d.detections[0]     = (struct qp_wire_detection){3, "traffic light", 0.5f, 1, 2, 3, 4};
    snprintf(d.error, sizeof d.error, "%s", error);
    CU_ASSERT_FATAL(qp_wire_encode_detections(&d, buf, sizeof buf, &len, NULL) == QP_OK);
    zmq_send(pub, "cam", 3, ZMQ_SNDMORE);
    zmq_send(pub, buf, len, 0);
}

/* A malformed message, then a valid Detections whose error text needs
 * escaping (a quote, a backslash, a control byte, UTF-8 and a byte that is
 * not UTF-8). */
static void test_malformed_and_escapes(void)
{
    char ep[320], err[8192];
    if (!getenv("QP_CLI"))
        QP_TEST_SKIP("QP_CLI not set");
    QP_TEST_RAN();
    snprintf(ep, sizeof ep, "ipc://%s/raw", T.p.dir);
    void *ctx = zmq_ctx_new(), *pub = raw_pub(ctx, ep, NULL);
    CU_ASSERT_FATAL(pub != NULL);
    const char *args[] = {"sub",   "--endpoint",    ep,  "--json", "--count", "1", "--timeout-ms",
                          "20000", "--stats-every", "0", NULL};
    CU_ASSERT_FATAL(child_start(&C, args));
    CU_ASSERT_FATAL(subscribed(pub));
    zmq_send(pub, "cam", 3, ZMQ_SNDMORE);
    zmq_send(pub, "\xff\xff", 2, 0);
    send_raw_detections(pub, "say \"hi\" \\ \x01 \xc3\xa9 \xff!");
    CU_ASSERT_EQUAL(child_wait(&C, 20000), 0);
    zmq_close(pub);
    zmq_ctx_term(ctx);
    struct qp_json_doc *doc = NULL;
    CU_ASSERT_FATAL(qp_json_parse(C.out, C.n, &doc, NULL) == QP_OK);
    const struct qp_json *o = qp_json_root(doc);
    CU_ASSERT_STRING_EQUAL(srv_json_str(o, "error"), "say \"hi\" \\ \x01 \xc3\xa9 \xef\xbf\xbd!");
    CU_ASSERT_STRING_EQUAL(srv_json_str(o, "status"), "degraded");
    CU_ASSERT_EQUAL(srv_json_num(qp_json_get(o, "header"), "seq"), 7);
    const struct qp_json *e = &qp_json_get(o, "detections")->v.items[0];
    CU_ASSERT_STRING_EQUAL(srv_json_str(e, "label"), "traffic light");
    CU_ASSERT_EQUAL(srv_json_num(e, "score"), 0.5);
    qp_json_free(doc);
    child_stderr(&C, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "dropped a malformed message"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, " total: 1 messages, "));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, " 1 malformed, "));
}

static bool write_key(const char *path, const char *key)
{
    FILE *f = fopen(path, "w");
    return f && fprintf(f, "%s\n", key) == 41 && fclose(f) == 0;
}

/* The keys come from the files: with the server's public key the message
 * arrives; with another key the handshake fails and nothing does. */
static void test_curve_key_files(void)
{
    char ep[320], srv_pub[41], srv_sec[41], cli_pub[41], cli_sec[41], other[41], tmp[41];
    char server_file[320], secret_file[320], other_file[320];
    if (!getenv("QP_CLI") || !zmq_has("curve"))
        QP_TEST_SKIP("QP_CLI not set or libzmq without CURVE");
    QP_TEST_RAN();
    CU_ASSERT_FATAL(zmq_curve_keypair(srv_pub, srv_sec) == 0 &&
                    zmq_curve_keypair(cli_pub, cli_sec) == 0 && zmq_curve_keypair(other, tmp) == 0);
    snprintf(ep, sizeof ep, "ipc://%s/curve", T.p.dir);
    snprintf(server_file, sizeof server_file, "%s/server.pub", T.p.dir);
    snprintf(secret_file, sizeof secret_file, "%s/client.sec", T.p.dir);
    snprintf(other_file, sizeof other_file, "%s/other.pub", T.p.dir);
    CU_ASSERT_FATAL(write_key(server_file, srv_pub) && write_key(secret_file, cli_sec) &&
                    write_key(other_file, other));
    void *ctx = zmq_ctx_new(), *pub = raw_pub(ctx, ep, srv_sec);
    CU_ASSERT_FATAL(pub != NULL);
    for (int wrong = 0; wrong < 2; wrong++) {
        const char *args[] = {"sub",
                              "--endpoint",
                              ep,
                              "--count",
                              "1",
                              "--timeout-ms",
                              wrong ? "1500" : "20000",
                              "--stats-every",
                              "0",
                              "--curve-server-key",
                              wrong ? other_file : server_file,
                              "--curve-secret-key",
                              secret_file,
                              NULL};
        CU_ASSERT_FATAL(child_start(&C, args));
        if (!wrong) {
            CU_ASSERT_FATAL(subscribed(pub));
            send_raw_detections(pub, "");
        }
        CU_ASSERT_EQUAL(child_wait(&C, 20000), wrong ? 1 : 0);
        CU_ASSERT_EQUAL(strncmp(C.out, "cam seq 7 ", 10) == 0, !wrong);
    }
    zmq_close(pub);
    zmq_ctx_term(ctx);
    unlink(server_file);
    unlink(secret_file);
    unlink(other_file);
}

static void test_bad_options(void)
{
    static const char *const bad[] = {
        "sub",
        "sub --endpoint",
        "sub --endpoint ipc:///nowhere --count 0",
        "sub --endpoint ipc:///nowhere --count -3",
        "sub --endpoint ipc:///nowhere --count many",
        "sub --endpoint ipc:///nowhere --timeout-ms 0",
        "sub --endpoint ipc:///nowhere --stats-every -1",
        "sub --endpoint ipc:///nowhere --bogus",
        "sub --endpoint ipc:///nowhere --stream 'a b'",
        "sub --endpoint ipc:///nowhere --curve-server-key /nonexistent/key",
    };
    char out[4096];
    if (!getenv("QP_CLI"))
        QP_TEST_SKIP("QP_CLI not set");
    QP_TEST_RAN();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = cli(out, sizeof out, "%s", bad[i]);
        if (rc != 2)
            fprintf(stderr, "'%s': exit %d: %s\n", bad[i], rc, out);
        CU_ASSERT_EQUAL(rc, 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "qpercept"));
    }
    /* half a CURVE configuration, with a well-formed key file */
    FILE *f = fopen(T.key, "w");
    CU_ASSERT_FATAL(f != NULL);
    fprintf(f, "  %s\n", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
    fclose(f);
    CU_ASSERT_EQUAL(
        cli(out, sizeof out, "sub --endpoint ipc:///nowhere --curve-server-key %s", T.key), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "needs both"));
    CU_ASSERT_EQUAL(cli(out, sizeof out, "--help"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "sub --endpoint"));
}

static CU_TestInfo tests[] = {
    {"--json lines equal what qp_sub receives; exact stream filter", test_json_matches_qp_sub},
    {"text mode: a dropped frame is a gap in the line and the summary", test_text_gap_summary},
    {"SIGINT / SIGTERM end it with the summary", test_signals_end_with_summary},
    {"--timeout-ms: exit 1 naming the endpoint", test_timeout_names_endpoint},
    {"a malformed message is counted; JSON strings escaped", test_malformed_and_escapes},
    {"CURVE keys from files", test_curve_key_files},
    {"bad options exit 2", test_bad_options},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"sub", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
