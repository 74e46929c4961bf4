// SPDX-License-Identifier: Apache-2.0
/*
 * test_server_load.c - qperceptd under load and under clients that
 * misbehave (env QP_SERVER, YOLOX-Nano from QP_MIRROR): one server on
 * ipc:// endpoints in a fresh temp dir, three PULL streams of synthetic
 * 416x416 BGR8 frames, /metrics on a free loopback port.
 *   - /metrics answers the Prometheus text format: every line is a comment
 *     or `name{labels} value`, histograms are cumulative and end at +Inf =
 *     _count; other paths 404, other methods 405, garbage 400, an endless
 *     request head 431;
 *   - HTTP clients that connect and send nothing (more of them than the
 *     listener has slots) do not stall frames: frames sent meanwhile are
 *     published; the idle connections are closed at their deadline and
 *     counted;
 *   - overload: the three streams send far faster than the engine runs;
 *     the server keeps serving, the newest frame of each stream is served,
 *     every frame sent is received and received = published + dropped per
 *     stream once idle, `replaced` drops > 0, and capture -> published
 *     latency stays under the bound stated at LATENCY_BOUND below;
 *   - meanwhile a subscriber with RCVHWM 1 that never reads does not stall
 *     anything: another subscriber gets every frame's Detections;
 *   - after the traffic, /metrics and `ctl stats` agree counter by counter;
 *   - SIGTERM: exit status 0.
 * Every wait is bounded. Without QP_SERVER or the model: skipped.
 */
#define _GNU_SOURCE /* mkdtemp, kill, memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"
#include "qp_test.h"
#include "qpercept/client.h"
#include "server_run.h"

#define N_STREAMS 3
#define SIDE 416 /* YOLOX-Nano's input: the detector's resize is the identity */
#define MAX_DELAY_US 20000
#define LOAD_MS 4000
#define SEND_PERIOD_US 3000   /* one frame per stream per period: ~330 Hz offered per stream */
#define IDLE_CONNS 5          /* one more than the listener's slots */
#define HTTP_DEADLINE_MS 2000 /* server/metrics.c METRICS_DEADLINE_MS */
#define MAX_SAMPLES 4096

static const char *const names[N_STREAMS] = {"s0", "s1", "s2"};

static struct {
    bool             ok; /* model found, config written */
    char             model[1024], ep[N_STREAMS][300];
    struct srv_paths p;
    int              port;
    pid_t            pid;
    uint8_t         *px; /* SIDE x SIDE BGR8 */
    struct qp_pub   *pub[N_STREAMS];
    struct qp_sub   *sub;     /* reads everything */
    struct qp_sub   *stalled; /* RCVHWM 1, reads one message, then never again */
    bool             stalled_live;
    uint64_t         got[N_STREAMS]; /* Detections the reading subscriber received */
    uint64_t         last_seq[N_STREAMS];
    uint64_t         max_latency_ns;
    uint64_t         n_dets; /* detections in the messages received */
    /* overload run, for the stalled-subscriber test */
    bool     loaded;
    double   published_during[N_STREAMS];
    uint64_t got_during[N_STREAMS];
} T;

static struct qp_detections_in msg; /* large: not on the stack */
static char                    http_buf[1 << 20];

/* ===== Set-up ===== */

/* A port the kernel had free a moment ago (the server binds it next). */

static bool write_config(void)
{
    FILE *f = srv_config_open(
        T.p.cfg, &T.p,
        "metrics_address = 127.0.0.1\nmetrics_port = %d\nmax_delay_us = %d\n"
        "max_age_ms = 10000\nmax_frame_bytes = %d\nwatchdog = off\nlog_level = info\n",
        T.port, MAX_DELAY_US, 2 * SIDE * SIDE * 3);
    if (!f)
        return false;
    srv_config_engine(f, T.model, "1,2,3");
    fprintf(f, "score_min = 0.001\niou = 1\nmax_dets = 256\n");
    for (int k = 0; k < N_STREAMS; k++)
        srv_config_stream(f, &T.p, names[k], "pull", SIDE, SIDE);
    return fclose(f) == 0;
}

static int suite_init(void)
{
    if (!getenv("QP_SERVER") ||
        !qp_test_mirror_file("models/yolox_nano_416_coco.onnx", T.model, sizeof T.model))
        return 0;
    if (!srv_paths_make(&T.p, "server_load") || (T.port = srv_free_port()) <= 0)
        return 1;
    for (int k = 0; k < N_STREAMS; k++)
        if (!srv_paths_endpoint(&T.p, names[k], T.ep[k], sizeof T.ep[k]))
            return 1;
    T.px = malloc((size_t)SIDE * SIDE * 3);
    if (!T.px || !write_config())
        return 1;
    for (size_t i = 0; i < (size_t)SIDE * SIDE * 3; i++) /* a pattern, not a flat field */
        T.px[i] = (uint8_t)((i * 7 + i / (SIDE * 3) * 13) & 0xff);
    T.ok = true;
    return 0;
}

static int suite_clean(void)
{
    srv_kill(&T.pid);
    for (int k = 0; k < N_STREAMS; k++)
        qp_pub_free(T.pub[k]);
    qp_sub_free(T.sub);
    qp_sub_free(T.stalled);
    free(T.px);
    return srv_paths_remove(&T.p) ? 0 : 1;
}

/* ===== HTTP ===== */

static int http_connect(void)
{
    struct sockaddr_in a  = {.sin_family      = AF_INET,
                             .sin_port        = htons((uint16_t)T.port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int                fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Read until the server closes (or timeout_ms); returns the bytes read, -1 on error. */
static long read_all(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t n = 0;
    for (int64_t end = srv_now_ms() + timeout_ms; n + 1 < cap;) {
        int64_t       left = end - srv_now_ms();
        struct pollfd p    = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return -1;
        ssize_t k = recv(fd, buf + n, cap - 1 - n, 0);
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        n += (size_t)k;
    }
    buf[n] = '\0';
    return (long)n;
}

/* Send req, read the whole response into http_buf: the status code, *body
 * pointing into http_buf; -1 when the exchange failed. */
static int http(const char *req, size_t n, const char **body)
{
    int fd = http_connect(), code = -1;
    *body = NULL;
    if (fd < 0)
        return -1;
    long len = send(fd, req, n, MSG_NOSIGNAL) == (ssize_t)n
                   ? read_all(fd, http_buf, sizeof http_buf, 5000)
                   : -1;
    close(fd);
    char *end = len > 0 ? strstr(http_buf, "\r\n\r\n") : NULL;
    if (!end || sscanf(http_buf, "HTTP/1.1 %d ", &code) != 1)
        return -1;
    *body              = end + 4;
    const char *cl     = strstr(http_buf, "Content-Length:");
    long        clen   = cl && cl < end ? strtol(cl + 15, NULL, 10) : -1;
    long        actual = (long)(http_buf + len - *body);
    if (clen != actual) {
        fprintf(stderr, "Content-Length %ld, body %ld bytes\n", clen, actual);
        return -1;
    }
    return code;
}

static int get(const char *path, const char **body)
{
    char req[256];
    int  n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
    return http(req, (size_t)n, body);
}

/* ===== The text format ===== */

static struct {
    char   key[256]; /* name{labels} as written */
    double v;
} samples[MAX_SAMPLES];
static int n_samples;

static bool name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

/* `name{l="v",...} value`: the end of the key (the space), or NULL. */
static const char *sample_key_end(const char *p)
{
    if (!name_char(*p, true))
        return NULL;
    while (name_char(*p, false))
        p++;
    if (*p == '{') {
        for (p++; *p != '}';) {
            if (!name_char(*p, true))
                return NULL;
            while (name_char(*p, false))
                p++;
            if (p[0] != '=' || p[1] != '"')
                return NULL;
            for (p += 2; *p != '"'; p++) {
                bool esc = *p == '\\';
                p += esc; /* \\, \" and \n are the only escapes */
                if (!*p || *p == '\n' || (esc && *p != '\\' && *p != '"' && *p != 'n'))
                    return NULL;
            }
            p++;
            if (*p == ',')
                p++;
            else if (*p != '}')
                return NULL;
        }
        p++;
    }
    return *p == ' ' ? p : NULL;
}

/* Every line a comment or a sample; samples into the table. */
static bool parse_metrics(const char *text)
{
    n_samples = 0;
    if (!*text || text[strlen(text) - 1] != '\n')
        return false;
    for (const char *l = text; *l; l = strchr(l, '\n') + 1) {
        if (*l == '#')
            continue;
        const char *ke = sample_key_end(l);
        char       *ve = NULL;
        double      v  = ke ? strtod(ke + 1, &ve) : 0;
        if (!ke || ve == ke + 1 || *ve != '\n' || n_samples == MAX_SAMPLES ||
            ke - l >= (long)sizeof samples[0].key) {
            fprintf(stderr, "bad line: %.*s\n", (int)strcspn(l, "\n"), l);
            return false;
        }
        snprintf(samples[n_samples].key, sizeof samples[0].key, "%.*s", (int)(ke - l), l);
        samples[n_samples++].v = v;
    }
    return true;
}

/* The value of the sample written key; NAN when absent. */
static double sample(const char *fmt, ...) QP_PRINTF(1, 2);
static double sample(const char *fmt, ...)
{
    char    key[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(key, sizeof key, fmt, ap);
    va_end(ap);
    for (int i = 0; i < n_samples; i++)
        if (strcmp(samples[i].key, key) == 0)
            return samples[i].v;
    return NAN;
}

/* A histogram's buckets are cumulative, +Inf = _count; returns _count. */
static double check_histogram(const char *name)
{
    char   prefix[128];
    double last = 0, count = sample("%s_count", name);
    int    n   = 0;
    int    len = snprintf(prefix, sizeof prefix, "%s_bucket{le=\"", name);
    for (int i = 0; i < n_samples; i++)
        if (strncmp(samples[i].key, prefix, (size_t)len) == 0) {
            CU_ASSERT(samples[i].v >= last);
            last = samples[i].v;
            n++;
        }
    CU_ASSERT_EQUAL(n, 21); /* 20 edges + +Inf */
    CU_ASSERT_EQUAL(sample("%s_bucket{le=\"+Inf\"}", name), count);
    CU_ASSERT(sample("%s_sum", name) >= 0);
    return count;
}

static bool fetch_metrics(void)
{
    const char *body;
    int         code = get("/metrics", &body);
    CU_ASSERT_EQUAL(code, 200);
    CU_ASSERT(body && strstr(http_buf, "Content-Type: text/plain; version=0.0.4") != NULL);
    return code == 200 && parse_metrics(body);
}

/* ===== Stats JSON ===== */

static const struct qp_json *stats(struct qp_json_doc **doc, struct qp_ctl_reply *r)
{
    return srv_stats(T.p.ctl, doc, r);
}

/* o.a.b.c as a number (b, c may be NULL); NAN when absent. */
static double num(const struct qp_json *o, const char *a, const char *b, const char *c)
{
    const struct qp_json *v = qp_json_get(o, a);
    if (b)
        v = qp_json_get(v, b);
    if (c)
        v = qp_json_get(v, c);
    return v && v->type == QP_JSON_NUMBER ? v->v.num : NAN;
}

/* Wait (bounded) until nothing waits in the batcher and each stream's
 * received stays put for two reads; then the stats document. */
static const struct qp_json *stats_idle(struct qp_json_doc **doc, struct qp_ctl_reply *r)
{
    double prev[N_STREAMS] = {-1, -1, -1};
    for (int64_t end = srv_now_ms() + 60000; srv_now_ms() < end; srv_sleep_us(200000)) {
        const struct qp_json *root = stats(doc, r);
        bool                  idle = root != NULL;
        for (int k = 0; idle && k < N_STREAMS; k++) {
            double rec = num(root, "streams", names[k], "received");
            idle       = num(root, "streams", names[k], "waiting") == 0 && rec == prev[k];
        }
        for (int k = 0; root && k < N_STREAMS; k++)
            prev[k] = num(root, "streams", names[k], "received");
        if (idle)
            return root;
        qp_json_free(*doc);
        qp_ctl_reply_fini(r);
    }
    *doc = NULL;
    return NULL;
}

/* ===== Frames and Detections ===== */

/* Send one frame of stream k; its seq when handed to the transport, else 0. */
static uint64_t send_frame(int k)
{
    struct qp_pub_stats ps;
    struct qp_err       err = {{0}};
    struct qp_frame_out f   = {.width        = SIDE,
                               .height       = SIDE,
                               .stride       = SIDE * 3,
                               .format       = QP_FRAME_FORMAT_BGR8,
                               .pixels       = T.px,
                               .pixels_bytes = (size_t)SIDE * SIDE * 3};
    qp_pub_stats(T.pub[k], &ps);
    enum qp_status st = qp_pub_send(T.pub[k], &f, &err);
    CU_ASSERT(st == QP_OK || st == QP_E_AGAIN);
    return st == QP_OK ? ps.next_seq : 0;
}

static int stream_of(const char *s)
{
    for (int k = 0; k < N_STREAMS; k++)
        if (strcmp(s, names[k]) == 0)
            return k;
    return -1;
}

/* Take what the reading subscriber has (waiting at most timeout_ms for the
 * first); count it, track the latest seq and the largest latency. */
static int drain_sub(int timeout_ms)
{
    int n = 0;
    for (;;) {
        struct qp_err err = {{0}};
        if (qp_sub_recv(T.sub, &msg, n ? 0 : timeout_ms, &err) != QP_OK)
            return n;
        int k = stream_of(msg.header.stream);
        CU_ASSERT_FATAL(k >= 0);
        CU_ASSERT(msg.status == QP_DET_STATUS_OK);
        T.got[k]++;
        T.last_seq[k] = msg.header.seq;
        T.n_dets += msg.n_detections;
        uint64_t lat     = msg.stamps.published_ns - msg.header.capture_ns;
        T.max_latency_ns = lat > T.max_latency_ns ? lat : T.max_latency_ns;
        n++;
    }
}

/* Send one frame of stream k (retried while the PUSH has no connection
 * yet) and wait (bounded) for its Detections. */
static bool round_trip(int k, int timeout_ms)
{
    int64_t  end = srv_now_ms() + timeout_ms;
    uint64_t seq = 0;
    while (!(seq = send_frame(k)) && srv_now_ms() < end)
        srv_sleep_us(10000);
    while (seq && srv_now_ms() < end) {
        drain_sub(100);
        if (T.last_seq[k] >= seq)
            return true;
    }
    return false;
}

/* Publishers, both subscribers, both subscriptions live (slow joiner):
 * the first test that needs traffic calls this. */
static bool connect_clients(void)
{
    struct qp_err err = {{0}};
    if (T.sub)
        return T.stalled_live;
    for (int k = 0; k < N_STREAMS; k++) {
        struct qp_pub_opts o = QP_PUB_OPTS_DEFAULT;
        o.endpoint           = T.ep[k];
        o.stream             = names[k];
        o.kind               = QP_PUB_KIND_PUSH;
        o.max_frame_bytes    = (size_t)SIDE * SIDE * 3;
        CU_ASSERT_FATAL(qp_pub_new(&o, &T.pub[k], &err) == QP_OK);
    }
    struct qp_sub_opts so = QP_SUB_OPTS_DEFAULT;
    so.endpoint           = T.p.det;
    CU_ASSERT_FATAL(qp_sub_new(&so, &T.sub, &err) == QP_OK);
    so.recv_hwm = 1;
    CU_ASSERT_FATAL(qp_sub_new(&so, &T.stalled, &err) == QP_OK);
    bool live = false;
    for (int i = 0; i < 20 && !live; i++)
        live = round_trip(0, 5000);
    for (int k = 1; k < N_STREAMS && live; k++)
        live = round_trip(k, 30000);
    /* the stalled one reads one message, so its subscription is live too */
    for (int i = 0; i < 20 && live && !T.stalled_live; i++) {
        round_trip(0, 5000);
        T.stalled_live = qp_sub_recv(T.stalled, &msg, 500, &err) == QP_OK;
    }
    return T.stalled_live;
}

/* ===== Tests ===== */

#define NEEDS_SERVER()                                                                             \
    do {                                                                                           \
        if (!T.ok)                                                                                 \
            QP_TEST_SKIP("QP_SERVER or YOLOX-Nano missing");                                       \
        if (T.pid <= 0 && !srv_start(&T.pid, T.p.cfg, T.p.log, T.p.ctl)) {                         \
            CU_FAIL("qperceptd did not start (see its log in the temp dir)");                      \
            return;                                                                                \
        }                                                                                          \
        QP_TEST_RAN();                                                                             \
    } while (0)

static void test_metrics_http(void)
{
    const char *body;
    NEEDS_SERVER();
    CU_ASSERT_FATAL(fetch_metrics());
    CU_ASSERT(n_samples > 100);
    struct qp_ctl_reply r   = {0};
    struct qp_err       err = {{0}};
    CU_ASSERT_FATAL(qp_ctl_request(T.p.ctl, QP_CTL_KIND_STATUS, NULL, 5000, &r, &err) == QP_OK);
    CU_ASSERT_EQUAL(sample("qperceptd_info{version=\"%s\",model=\"%s\",engine_id=\"%s\","
                           "backend=\"%s\"}",
                           r.version, r.model, r.engine_id, r.backend),
                    1);
    CU_ASSERT_STRING_EQUAL(r.model, "yolox_nano_416_coco");
    qp_ctl_reply_fini(&r);
    CU_ASSERT(sample("qperceptd_uptime_seconds") > 0);
    CU_ASSERT_EQUAL(sample("qperceptd_frames_received_total{stream=\"s1\"}"), 0);
    CU_ASSERT_EQUAL(sample("qperceptd_frames_dropped_total{stream=\"s2\",reason=\"replaced\"}"), 0);
    check_histogram("qperceptd_latency_seconds");
    CU_ASSERT_EQUAL(get("/", &body), 404);
    CU_ASSERT_EQUAL(get("/metricsx", &body), 404);
    CU_ASSERT_EQUAL(get("/metrics?x=1", &body), 200);
    static const char post[] = "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
    CU_ASSERT_EQUAL(http(post, sizeof post - 1, &body), 405);
    CU_ASSERT(strstr(http_buf, "Allow: GET\r\n") != NULL);
    static const char junk[] = "\x16\x03\x01 garbage\r\n\r\n";
    CU_ASSERT_EQUAL(http(junk, sizeof junk - 1, &body), 400);
    static char big[8192];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
    CU_ASSERT_EQUAL(http(big, sizeof big, &body), 431);
    CU_ASSERT_FATAL(fetch_metrics());
    CU_ASSERT_EQUAL(sample("qperceptd_metrics_requests_total{code=\"404\"}"), 2);
    CU_ASSERT_EQUAL(sample("qperceptd_metrics_requests_total{code=\"405\"}"), 1);
    CU_ASSERT_EQUAL(sample("qperceptd_metrics_requests_total{code=\"400\"}"), 1);
    CU_ASSERT_EQUAL(sample("qperceptd_metrics_requests_total{code=\"431\"}"), 1);
    CU_ASSERT_EQUAL(sample("qperceptd_metrics_requests_total{code=\"200\"}"), 3);
}

static void test_idle_clients_do_not_stall(void)
{
    int  fds[IDLE_CONNS];
    char buf[256];
    NEEDS_SERVER();
    CU_ASSERT_FATAL(connect_clients());
    for (int i = 0; i < IDLE_CONNS; i++)
        CU_ASSERT((fds[i] = http_connect()) >= 0); /* the last waits in the backlog */
    /* the loop never waits for them: frames sent now are served at once,
     * well before the first idle connection's deadline */
    int64_t t0     = srv_now_ms();
    int     served = round_trip(1, HTTP_DEADLINE_MS) + round_trip(2, HTTP_DEADLINE_MS);
    int64_t dt     = srv_now_ms() - t0;
    fprintf(stderr, "\ntwo round trips with %d idle HTTP clients: %lld ms\n", IDLE_CONNS,
            (long long)dt);
    CU_ASSERT_EQUAL(served, 2);
    CU_ASSERT(dt < HTTP_DEADLINE_MS);
    /* each is closed at its deadline without a byte (the last after a slot freed) */
    for (int i = 0; i < IDLE_CONNS; i++) {
        if (fds[i] < 0)
            continue;
        CU_ASSERT_EQUAL(read_all(fds[i], buf, sizeof buf, 3 * HTTP_DEADLINE_MS + 2000), 0);
        close(fds[i]);
    }
    CU_ASSERT_FATAL(fetch_metrics());
    CU_ASSERT_EQUAL(sample("qperceptd_metrics_aborted_total{reason=\"timeout\"}"), IDLE_CONNS);
}

/* Bound on capture -> published latency under overload (LATENCY_BOUND):
 * a frame that arrives while a batch runs waits for it; the ZeroMQ queues
 * (sender SNDHWM 4, server RCVHWM 4) then hold frames from before that
 * batch, and the newest one the next drain sees may be one of those, so a
 * frame can wait for up to two batches besides its own. Hence 3 x the
 * longest batch the server measured, plus max_delay_us, plus 250 ms for
 * scheduling on a shared machine. max_age_ms (10 s here) is far above,
 * so freshness comes from replacement, not from the age limit. */
static double latency_bound_ms(double batch_max_ms)
{
    return 3 * batch_max_ms + MAX_DELAY_US / 1000.0 + 250;
}

/* Per stream at the start of the overload run. */
struct before {
    double              received, published;
    uint64_t            got;
    struct qp_pub_stats pub;
};

/* Each stream: everything sent arrived, received = published + dropped,
 * the drops add up, replaced > 0; the figures go to stderr. */
static void check_overload_counters(const struct qp_json *root, const struct before *b, int64_t ms)
{
    for (int k = 0; k < N_STREAMS; k++) {
        struct qp_pub_stats   ps;
        const struct qp_json *st    = qp_json_get(qp_json_get(root, "streams"), names[k]);
        const struct qp_json *drops = qp_json_get(st, "drops");
        double                rec   = num(st, "received", NULL, NULL);
        double                pub   = num(st, "published", NULL, NULL);
        double                drp = num(st, "dropped", NULL, NULL), sum = 0;
        double                rep = num(drops, "replaced", NULL, NULL);
        qp_pub_stats(T.pub[k], &ps);
        CU_ASSERT_FATAL(drops && drops->type == QP_JSON_OBJECT);
        for (uint32_t i = 0; i < drops->n; i++)
            sum += drops->v.items[i].v.num;
        uint64_t sent  = ps.n_sent - b[k].pub.n_sent,
                 tried = sent + ps.n_dropped - b[k].pub.n_dropped;
        CU_ASSERT_EQUAL(rec - b[k].received, (double)sent); /* nothing lost on the way */
        CU_ASSERT_EQUAL(rec, pub + drp);
        CU_ASSERT_EQUAL(drp, sum);
        CU_ASSERT(rep > 0);
        T.published_during[k] = pub - b[k].published;
        T.got_during[k]       = T.got[k] - b[k].got;
        fprintf(stderr,
                "%s: offered %.0f Hz, taken by the transport %.0f Hz, published %.1f Hz; "
                "received %.0f = published %.0f + dropped %.0f (replaced %.0f)\n",
                names[k], (double)tried * 1000.0 / (double)ms, (double)sent * 1000.0 / (double)ms,
                T.published_during[k] * 1000.0 / (double)ms, rec, pub, drp, rep);
    }
}

static void test_overload(void)
{
    struct qp_json_doc   *doc;
    struct qp_ctl_reply   r = {0};
    struct before         b[N_STREAMS];
    uint64_t              last_ok[N_STREAMS] = {0};
    const struct qp_json *root;
    NEEDS_SERVER();
    CU_ASSERT_FATAL(connect_clients());
    CU_ASSERT_FATAL((root = stats_idle(&doc, &r)) != NULL);
    drain_sub(0);
    for (int k = 0; k < N_STREAMS; k++) {
        b[k].received  = num(root, "streams", names[k], "received");
        b[k].published = num(root, "streams", names[k], "published");
        b[k].got       = T.got[k];
        qp_pub_stats(T.pub[k], &b[k].pub);
    }
    qp_json_free(doc);
    qp_ctl_reply_fini(&r);
    T.max_latency_ns = 0;
    int64_t t0       = srv_now_ms();
    while (srv_now_ms() - t0 < LOAD_MS) {
        for (int k = 0; k < N_STREAMS; k++) {
            uint64_t seq = send_frame(k);
            last_ok[k]   = seq ? seq : last_ok[k];
        }
        drain_sub(0);
        srv_sleep_us(SEND_PERIOD_US);
    }
    int64_t ms = srv_now_ms() - t0;
    /* the newest frame each stream sent is served */
    bool newest = false;
    for (int64_t end = srv_now_ms() + 60000; !newest && srv_now_ms() < end;) {
        drain_sub(100);
        newest = true;
        for (int k = 0; k < N_STREAMS; k++)
            newest &= T.last_seq[k] >= last_ok[k];
    }
    CU_ASSERT(newest);
    CU_ASSERT_FATAL(srv_alive(T.pid));
    CU_ASSERT_FATAL((root = stats_idle(&doc, &r)) != NULL);
    drain_sub(500); /* what was published before the server went idle */
    check_overload_counters(root, b, ms);
    double bmax = num(root, "batch_inference_ms", "max", NULL);
    fprintf(stderr,
            "latency capture -> published: max %.1f ms (bound %.1f ms); batch p50 %.1f "
            "p99 %.1f max %.1f ms; server latency_ms p50 %.1f p99 %.1f\n",
            (double)T.max_latency_ns / 1e6, latency_bound_ms(bmax),
            num(root, "batch_inference_ms", "p50", NULL),
            num(root, "batch_inference_ms", "p99", NULL), bmax,
            num(root, "latency_ms", "p50", NULL), num(root, "latency_ms", "p99", NULL));
    CU_ASSERT((double)T.max_latency_ns / 1e6 <= latency_bound_ms(bmax));
    T.loaded = true;
    qp_json_free(doc);
    qp_ctl_reply_fini(&r);
}

static void test_stalled_subscriber(void)
{
    struct qp_sub_stats ss;
    if (!T.loaded)
        QP_TEST_SKIP("no overload run (see the earlier tests)");
    QP_TEST_RAN();
    /* it was subscribed (it read one message), then held everything */
    CU_ASSERT(T.stalled_live);
    for (int k = 0; k < N_STREAMS; k++) {
        CU_ASSERT(T.published_during[k] >= 3);
        CU_ASSERT_EQUAL((double)T.got_during[k], T.published_during[k]);
    }
    qp_sub_stats(T.sub, &ss);
    fprintf(stderr, "\nthe reading subscriber: %llu messages, %.1f detections each\n",
            (unsigned long long)ss.n_received, (double)T.n_dets / (double)ss.n_received);
    CU_ASSERT_EQUAL(ss.n_malformed, 0);
    CU_ASSERT_EQUAL(ss.n_resets, 0);
}

/* Every counter of the JSON object o equals the family's sample for it. */
static void match_object(const struct qp_json *o, const char *family, const char *stream,
                         const char *label)
{
    CU_ASSERT_FATAL(o && o->type == QP_JSON_OBJECT);
    for (uint32_t i = 0; i < o->n; i++) {
        const struct qp_json *v = &o->v.items[i];
        double m = stream ? sample("%s{stream=\"%s\",%s=\"%s\"}", family, stream, label, v->key)
                          : sample("%s{%s=\"%s\"}", family, label, v->key);
        if (m != v->v.num)
            fprintf(stderr, "%s %s %s: metrics %g, stats %g\n", family, stream ? stream : "",
                    v->key, m, v->v.num);
        CU_ASSERT_EQUAL(m, v->v.num);
    }
}

static void test_metrics_match_stats(void)
{
    struct qp_json_doc   *doc;
    struct qp_ctl_reply   r = {0};
    const struct qp_json *root;
    NEEDS_SERVER();
    CU_ASSERT_FATAL((root = stats_idle(&doc, &r)) != NULL);
    CU_ASSERT_FATAL(fetch_metrics());
    for (int k = 0; k < N_STREAMS; k++) {
        const struct qp_json *st = qp_json_get(qp_json_get(root, "streams"), names[k]);
        CU_ASSERT(num(st, "received", NULL, NULL) > 0);
        CU_ASSERT_EQUAL(sample("qperceptd_frames_received_total{stream=\"%s\"}", names[k]),
                        num(st, "received", NULL, NULL));
        CU_ASSERT_EQUAL(sample("qperceptd_frames_published_total{stream=\"%s\"}", names[k]),
                        num(st, "published", NULL, NULL));
        CU_ASSERT_EQUAL(sample("qperceptd_frames_waiting{stream=\"%s\"}", names[k]), 0);
        match_object(qp_json_get(st, "drops"), "qperceptd_frames_dropped_total", names[k],
                     "reason");
        match_object(qp_json_get(st, "invalid"), "qperceptd_frames_invalid_total", names[k],
                     "reason");
    }
    const struct qp_json *batches = qp_json_get(root, "batches");
    match_object(qp_json_get(batches, "by_size"), "qperceptd_batches_total", NULL, "size");
    match_object(qp_json_get(batches, "by_trigger"), "qperceptd_batches_by_trigger_total", NULL,
                 "trigger");
    double total = 0;
    for (int b = 1; b <= 3; b++)
        total += sample("qperceptd_batches_total{size=\"%d\"}", b);
    CU_ASSERT_EQUAL(total, num(batches, "total", NULL, NULL));
    /* the CPU pre-processes every batch on the host: none counted */
    CU_ASSERT_EQUAL(num(batches, "host_preprocessed", NULL, NULL), 0);
    CU_ASSERT_EQUAL(sample("qperceptd_batches_host_preprocessed_total"), 0);
    static const char *const hist[][2] = {
        {"batch_inference_ms", "qperceptd_batch_inference_seconds"},
        {"frame_inference_ms", "qperceptd_frame_inference_seconds"},
        {"batch_capture_spread_ms", "qperceptd_batch_capture_spread_seconds"},
        {"latency_ms", "qperceptd_latency_seconds"},
    };
    for (size_t h = 0; h < sizeof hist / sizeof hist[0]; h++) {
        double count = num(root, hist[h][0], "count", NULL);
        double mean  = num(root, hist[h][0], "mean", NULL);
        CU_ASSERT(count > 0);
        CU_ASSERT_EQUAL(check_histogram(hist[h][1]), count);
        /* the JSON's mean is rounded to 1 us */
        CU_ASSERT(fabs(sample("%s_sum", hist[h][1]) * 1e3 - mean * count) <= 1e-3 * count + 1e-6);
    }
    CU_ASSERT_EQUAL(sample("qperceptd_canaries_total"), num(root, "canaries", NULL, NULL));
    double ctl = num(root, "control", "requests", NULL);
    double m   = sample("qperceptd_control_requests_total");
    CU_ASSERT(m == ctl || m == ctl + 1); /* the stats request may count itself after its reply */
    CU_ASSERT_EQUAL(sample("qperceptd_control_bad_requests_total"),
                    num(root, "control", "bad", NULL));
    /* CURVE is off here: its counters are there, and zero in both */
    static const char *const curve[][2] = {
        {"admitted", "qperceptd_curve_handshakes_total{outcome=\"admitted\"}"},
        {"refused", "qperceptd_curve_handshakes_total{outcome=\"refused\"}"},
        {"allowed_keys", "qperceptd_curve_allowed_keys"},
        {"allow_reloads", "qperceptd_curve_allow_reloads_total{outcome=\"ok\"}"},
        {"allow_reload_failures", "qperceptd_curve_allow_reloads_total{outcome=\"failed\"}"},
    };
    for (size_t c = 0; c < sizeof curve / sizeof curve[0]; c++) {
        CU_ASSERT_EQUAL(sample("%s", curve[c][1]), num(root, "curve", curve[c][0], NULL));
        CU_ASSERT_EQUAL(sample("%s", curve[c][1]), 0);
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
    {"/metrics: text format, 404, 405, 400, 431", test_metrics_http},
    {"idle HTTP clients: frames still served, closed at the deadline",
     test_idle_clients_do_not_stall},
    {"overload: newest served, received = published + dropped, latency bounded", test_overload},
    {"a stalled subscriber: the other one gets every frame", test_stalled_subscriber},
    {"/metrics equals ctl stats after traffic", test_metrics_match_stats},
    {"SIGTERM: exit 0", test_sigterm_exits_0},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"server_load", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
