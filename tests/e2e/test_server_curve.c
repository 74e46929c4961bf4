// SPDX-License-Identifier: Apache-2.0
/*
 * test_server_curve.c - qperceptd with server.curve = yes (env QP_SERVER,
 * YOLOX-Nano from QP_MIRROR): the ingest PULL and the Detections PUB on
 * loopback tcp:// are CURVE servers, and so is the control socket (tcp://
 * too). Keys are made here with zmq_curve_keypair; the allow-list lists
 * client A only, whose keys every control request of the test uses.
 *   - client A (a PUSH publisher and a subscriber, the library's CURVE
 *     options) sends a frame and receives its Detections;
 *   - client B (keys not listed) and a plain client without CURVE send frames
 *     that the server never receives (its stream's received count stays
 *     put), B's subscriber gets nothing, and the ZAP handler's refusals are
 *     counted (stats curve.refused), while A stays served;
 *   - control over CURVE: A's keys are answered, through the library and
 *     `qpercept ctl --curve-server-key F --curve-secret-key F` (QP_CLI);
 *     B's keys and no keys get no reply (a timeout, exit status 1), and
 *     `qpercept ctl` with one key file only is a usage error;
 *   - a reload (SIGHUP) re-reads the allow-list: B, added to it, is then
 *     served; an allow-list that is not all keys leaves the old one in force
 *     (B still served, the failure counted and logged);
 *   - the client library refuses half a CURVE configuration;
 *   - SIGTERM ends the server with exit status 0.
 * Without QP_SERVER or the model: skipped.
 */
#define _GNU_SOURCE /* mkdtemp, kill */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "core/json.h"
#include "qp_test.h"
#include "qpercept/client.h"
#include "server_run.h"

#define SIDE 416

static struct {
    bool             ok; /* model and server present */
    pid_t            pid;
    char             model[1024], ingest[64];
    struct srv_paths p; /* ctl and det on loopback tcp:// (suite_init) */
    char             server_public[41], server_secret[41];
    char             server_pub_file[320], a_key_file[320], allow_file[320];
    char             a_public[41], a_secret[41], b_public[41], b_secret[41];
    uint8_t         *px;
} T;

static struct qp_detections_in msg;   /* large: not on the stack */
static struct qp_ctl_opts      ctl_a; /* control as client A (set by suite_init) */

static bool write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    fputs(text, f);
    return fclose(f) == 0;
}

static int suite_init(void)
{
    if (!getenv("QP_SERVER") ||
        !qp_test_mirror_file("models/yolox_nano_416_coco.onnx", T.model, sizeof T.model))
        return 0;
    int p_in = srv_free_port(), p_det = srv_free_port(), p_ctl = srv_free_port();
    if (!srv_paths_make(&T.p, "server_curve") || p_in <= 0 || p_det <= 0 || p_ctl <= 0 ||
        p_in == p_det || p_ctl == p_in || p_ctl == p_det)
        return 1;
    if (zmq_curve_keypair(T.server_public, T.server_secret) != 0 ||
        zmq_curve_keypair(T.a_public, T.a_secret) != 0 ||
        zmq_curve_keypair(T.b_public, T.b_secret) != 0)
        return 1;
    snprintf(T.p.ctl, sizeof T.p.ctl, "tcp://127.0.0.1:%d", p_ctl);
    snprintf(T.ingest, sizeof T.ingest, "tcp://127.0.0.1:%d", p_in);
    snprintf(T.p.det, sizeof T.p.det, "tcp://127.0.0.1:%d", p_det);
    char key_file[320], text[4096];
    snprintf(T.server_pub_file, sizeof T.server_pub_file, "%s/server.pub", T.p.dir);
    snprintf(T.a_key_file, sizeof T.a_key_file, "%s/a.key", T.p.dir);
    snprintf(text, sizeof text, "%s\n", T.server_public);
    if (!write_file(T.server_pub_file, text))
        return 1;
    snprintf(text, sizeof text, "  %s\n", T.a_secret);
    if (!write_file(T.a_key_file, text))
        return 1;
    snprintf(key_file, sizeof key_file, "%s/server.key", T.p.dir);
    snprintf(T.allow_file, sizeof T.allow_file, "%s/allow", T.p.dir);
    snprintf(text, sizeof text, "%s\n", T.server_secret);
    if (!write_file(key_file, text))
        return 1;
    snprintf(text, sizeof text, "# clients allowed\n\n  %s  \n", T.a_public);
    if (!write_file(T.allow_file, text))
        return 1;
    FILE *f =
        srv_config_open(T.p.cfg, &T.p,
                        "metrics_port = 0\nmax_delay_us = 0\nmax_age_ms = 10000\nwatchdog = off\n"
                        "curve = yes\ncurve_secret_key_file = %s\ncurve_allow_file = %s\n",
                        key_file, T.allow_file);
    if (!f)
        return 1;
    srv_config_engine(f, T.model, "1");
    fprintf(f, "[stream.s0]\nendpoint = %s\nmode = pull\nwidth = %d\nheight = %d\n", T.ingest, SIDE,
            SIDE);
    if (fclose(f) != 0)
        return 1;
    T.px = malloc((size_t)SIDE * SIDE * 3);
    if (!T.px)
        return 1;
    for (size_t i = 0; i < (size_t)SIDE * SIDE * 3; i++)
        T.px[i] = (uint8_t)((i * 7 + i / (SIDE * 3) * 13) & 0xff);
    ctl_a = (struct qp_ctl_opts){.endpoint         = T.p.ctl,
                                 .timeout_ms       = 5000,
                                 .curve_server_key = T.server_public,
                                 .curve_secret_key = T.a_secret};
    T.ok  = true;
    return 0;
}

static int suite_clean(void)
{
    srv_kill(&T.pid);
    free(T.px);
    return srv_paths_remove(&T.p) ? 0 : 1;
}

#define NEEDS_SERVER()                                                                             \
    do {                                                                                           \
        if (!T.ok)                                                                                 \
            QP_TEST_SKIP("needs QP_SERVER and models/yolox_nano_416_coco.onnx in the mirror");     \
        if (T.pid == 0)                                                                            \
            CU_ASSERT_FATAL(srv_start_opts(&T.pid, T.p.cfg, T.p.log, &ctl_a));                     \
        CU_ASSERT_FATAL(srv_alive(T.pid));                                                         \
        QP_TEST_RAN();                                                                             \
    } while (0)

/* stats.streams.s0.received and stats.curve.refused; false when unreadable. */
static bool counters(double *received, double *refused, double *admitted)
{
    struct qp_ctl_reply r   = {0};
    struct qp_json_doc *doc = NULL;
    struct qp_err       err = {{0}};
    bool                ok  = false;
    struct qp_ctl_opts  o   = ctl_a;
    o.timeout_ms            = 5000;
    if (qp_ctl_request_opts(&o, QP_CTL_KIND_STATS, NULL, &r, &err) == QP_OK && r.ok &&
        qp_json_parse(r.stats_json, r.stats_json_bytes, &doc, &err) == QP_OK) {
        const struct qp_json *root = qp_json_root(doc);
        const struct qp_json *s =
            qp_json_get(qp_json_get(qp_json_get(root, "streams"), "s0"), "received");
        const struct qp_json *c  = qp_json_get(root, "curve");
        const struct qp_json *rf = qp_json_get(c, "refused"), *ad = qp_json_get(c, "admitted");
        ok = s && rf && ad && s->type == QP_JSON_NUMBER && rf->type == QP_JSON_NUMBER &&
             ad->type == QP_JSON_NUMBER;
        if (ok) {
            *received = s->v.num;
            *refused  = rf->v.num;
            *admitted = ad->v.num;
        }
    }
    qp_json_free(doc);
    qp_ctl_reply_fini(&r);
    return ok;
}

static struct qp_pub *publisher(const char *server_key, const char *secret)
{
    struct qp_pub_opts o = QP_PUB_OPTS_DEFAULT;
    o.endpoint           = T.ingest;
    o.stream             = "s0";
    o.kind               = QP_PUB_KIND_PUSH;
    o.max_frame_bytes    = (size_t)SIDE * SIDE * 3;
    o.curve_server_key   = server_key;
    o.curve_secret_key   = secret;
    struct qp_pub *p     = NULL;
    struct qp_err  err   = {{0}};
    CU_ASSERT_EQUAL(qp_pub_new(&o, &p, &err), QP_OK);
    return p;
}

static struct qp_sub *subscriber(const char *server_key, const char *secret)
{
    struct qp_sub_opts o = QP_SUB_OPTS_DEFAULT;
    o.endpoint           = T.p.det;
    o.curve_server_key   = server_key;
    o.curve_secret_key   = secret;
    struct qp_sub *s     = NULL;
    struct qp_err  err   = {{0}};
    CU_ASSERT_EQUAL(qp_sub_new(&o, &s, &err), QP_OK);
    return s;
}

static enum qp_status send_frame(struct qp_pub *p)
{
    struct qp_frame_out f   = {.width        = SIDE,
                               .height       = SIDE,
                               .stride       = SIDE * 3,
                               .format       = QP_FRAME_FORMAT_BGR8,
                               .pixels       = T.px,
                               .pixels_bytes = (size_t)SIDE * SIDE * 3};
    struct qp_err       err = {{0}};
    return qp_pub_send(p, &f, &err);
}

/* Frames from p until sub has a Detections of s0 (bounded); true when one came. */
static bool served(struct qp_pub *p, struct qp_sub *s, int timeout_ms)
{
    for (int64_t end = srv_now_ms() + timeout_ms; srv_now_ms() < end;) {
        send_frame(p);
        struct qp_err err = {{0}};
        if (qp_sub_recv(s, &msg, 300, &err) == QP_OK && strcmp(msg.header.stream, "s0") == 0)
            return true;
    }
    return false;
}

/* A publisher and a subscriber with secret's keys: is a frame served? */
static bool served_with(const char *secret)
{
    struct qp_pub *p  = publisher(T.server_public, secret);
    struct qp_sub *s  = subscriber(T.server_public, secret);
    bool           ok = p && s && served(p, s, 30000);
    qp_pub_free(p);
    qp_sub_free(s);
    return ok;
}

static void test_listed_key_served(void)
{
    NEEDS_SERVER();
    struct qp_pub *p = publisher(T.server_public, T.a_secret);
    struct qp_sub *s = subscriber(T.server_public, T.a_secret);
    CU_ASSERT_FATAL(p && s);
    CU_ASSERT(served(p, s, 30000));
    CU_ASSERT_EQUAL(msg.status, QP_DET_STATUS_OK);
    double received = NAN, refused = NAN, admitted = NAN;
    CU_ASSERT_FATAL(counters(&received, &refused, &admitted));
    CU_ASSERT(received >= 1);
    CU_ASSERT(admitted >= 2); /* the publisher's and the subscriber's handshakes */
    CU_ASSERT_EQUAL(refused, 0);
    qp_pub_free(p);
    qp_sub_free(s);
}

static bool log_has(const char *text)
{
    FILE *lf = fopen(T.p.log, "r");
    char  line[1024];
    bool  found = false;
    while (lf && fgets(line, sizeof line, lf))
        found |= strstr(line, text) != NULL;
    if (lf)
        fclose(lf);
    return found;
}

static void test_unlisted_key_refused(void)
{
    NEEDS_SERVER();
    double rec0 = NAN, ref0 = NAN, adm0 = NAN, rec1 = NAN, ref1 = NAN, adm1 = NAN;
    CU_ASSERT_FATAL(counters(&rec0, &ref0, &adm0));
    struct qp_pub *pb    = publisher(T.server_public, T.b_secret); /* B: not listed */
    struct qp_sub *sb    = subscriber(T.server_public, T.b_secret);
    struct qp_pub *plain = publisher(NULL, NULL); /* no CURVE at all */
    CU_ASSERT_FATAL(pb && sb && plain);
    int got_b = 0;
    for (int64_t end = srv_now_ms() + 2000; srv_now_ms() < end;) {
        send_frame(pb);
        send_frame(plain);
        struct qp_err err = {{0}};
        if (qp_sub_recv(sb, &msg, 100, &err) == QP_OK)
            got_b++;
    }
    CU_ASSERT_EQUAL(got_b, 0);
    CU_ASSERT_FATAL(counters(&rec1, &ref1, &adm1));
    CU_ASSERT_EQUAL(rec1, rec0);     /* not one frame of B's or the plain client's arrived */
    CU_ASSERT(ref1 >= ref0 + 2);     /* B's publisher and B's subscriber, at least once each */
    CU_ASSERT_EQUAL(adm1, adm0 + 1); /* only the stats request's own handshake (client A) */
    qp_pub_free(pb);
    qp_sub_free(sb);
    qp_pub_free(plain);

    /* A is still served meanwhile, and the server logged the refusals */
    CU_ASSERT(served_with(T.a_secret));
    CU_ASSERT(log_has("CURVE: refused a client from 127.0.0.1"));
}

/* qpercept ctl ARGS: its exit status, -1 when it did not run. */
static int ctl_cli(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' ctl %s status %s >/dev/null 2>&1", getenv("QP_CLI"), T.p.ctl,
             args);
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_control_over_curve(void)
{
    struct qp_ctl_reply r   = {0};
    struct qp_err       err = {{0}};
    NEEDS_SERVER();
    CU_ASSERT_EQUAL(qp_ctl_request_opts(&ctl_a, QP_CTL_KIND_STATUS, NULL, &r, &err), QP_OK);
    CU_ASSERT(r.ok && r.state == QP_SERVER_STATE_SERVING);
    qp_ctl_reply_fini(&r);
    struct qp_ctl_opts b = ctl_a;
    b.curve_secret_key   = T.b_secret;
    b.timeout_ms         = 1500;
    CU_ASSERT_EQUAL(qp_ctl_request_opts(&b, QP_CTL_KIND_STATUS, NULL, &r, &err), QP_E_AGAIN);
    qp_ctl_reply_fini(&r);
    CU_ASSERT_EQUAL(qp_ctl_request(T.p.ctl, QP_CTL_KIND_STATUS, NULL, 1500, &r, &err), QP_E_AGAIN);
    qp_ctl_reply_fini(&r);
    b.curve_secret_key = NULL; /* half a configuration */
    CU_ASSERT_EQUAL(qp_ctl_request_opts(&b, QP_CTL_KIND_STATUS, NULL, &r, &err), QP_E_INVAL);
    qp_ctl_reply_fini(&r);
    if (!getenv("QP_CLI"))
        return;
    char args[1024];
    snprintf(args, sizeof args, "--curve-server-key '%s' --curve-secret-key '%s'",
             T.server_pub_file, T.a_key_file);
    CU_ASSERT_EQUAL(ctl_cli(args), 0);
    CU_ASSERT_EQUAL(ctl_cli("--timeout 1500"), 1);
    snprintf(args, sizeof args, "--curve-server-key '%s'", T.server_pub_file);
    CU_ASSERT_EQUAL(ctl_cli(args), 2);
    snprintf(args, sizeof args, "--curve-server-key '%s' --curve-secret-key '%s'",
             T.server_pub_file, T.p.cfg); /* not a key */
    CU_ASSERT_EQUAL(ctl_cli(args), 2);
}

static void test_half_curve_options_refused(void)
{
    if (!T.ok)
        QP_TEST_SKIP("needs QP_SERVER and models/yolox_nano_416_coco.onnx in the mirror");
    QP_TEST_RAN();
    struct qp_pub_opts o = QP_PUB_OPTS_DEFAULT;
    o.endpoint           = T.ingest;
    o.stream             = "s0";
    o.kind               = QP_PUB_KIND_PUSH;
    o.curve_server_key   = T.server_public; /* no secret key */
    struct qp_pub *p     = NULL;
    struct qp_err  err   = {{0}};
    CU_ASSERT_EQUAL(qp_pub_new(&o, &p, &err), QP_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "CURVE"));
    struct qp_sub_opts so = QP_SUB_OPTS_DEFAULT;
    so.endpoint           = T.p.det;
    so.curve_server_key   = T.server_public;
    so.curve_secret_key   = "too short";
    struct qp_sub *s      = NULL;
    CU_ASSERT_EQUAL(qp_sub_new(&so, &s, &err), QP_E_INVAL);
}

static void test_sigterm(void)
{
    NEEDS_SERVER();
    CU_ASSERT(srv_stop_clean(&T.pid));
}

/* stats.curve.NAME; NAN when unreadable. */
static double curve_stat(const char *name)
{
    struct qp_ctl_reply r   = {0};
    struct qp_json_doc *doc = NULL;
    struct qp_err       err = {{0}};
    double              v   = NAN;
    if (qp_ctl_request_opts(&ctl_a, QP_CTL_KIND_STATS, NULL, &r, &err) == QP_OK && r.ok &&
        qp_json_parse(r.stats_json, r.stats_json_bytes, &doc, &err) == QP_OK) {
        const struct qp_json *x = qp_json_get(qp_json_get(qp_json_root(doc), "curve"), name);
        if (x && x->type == QP_JSON_NUMBER)
            v = x->v.num;
    }
    qp_json_free(doc);
    qp_ctl_reply_fini(&r);
    return v;
}

/* SIGHUP, then wait (bounded) until stats.curve.NAME reaches want. */
static bool sighup_until(const char *name, double want)
{
    if (kill(T.pid, SIGHUP) != 0)
        return false;
    for (int64_t end = srv_now_ms() + 10000; srv_now_ms() < end; srv_sleep_ms(50))
        if (curve_stat(name) >= want)
            return true;
    return false;
}

static void test_reload_rereads_allow_list(void)
{
    char text[256];
    NEEDS_SERVER();
    CU_ASSERT_EQUAL(curve_stat("allowed_keys"), 1);
    snprintf(text, sizeof text, "%s\n%s\n", T.a_public, T.b_public); /* B joins */
    CU_ASSERT_FATAL(write_file(T.allow_file, text));
    CU_ASSERT_FATAL(sighup_until("allow_reloads", 1));
    CU_ASSERT_EQUAL(curve_stat("allowed_keys"), 2);
    CU_ASSERT(served_with(T.b_secret));
    /* a list that is not all keys: the served one stays (A and B) */
    snprintf(text, sizeof text, "%s\nnot a key\n", T.a_public);
    CU_ASSERT_FATAL(write_file(T.allow_file, text));
    CU_ASSERT_FATAL(sighup_until("allow_reload_failures", 1));
    CU_ASSERT_EQUAL(curve_stat("allowed_keys"), 2);
    CU_ASSERT_EQUAL(curve_stat("allow_reloads"), 1);
    CU_ASSERT(log_has("allow-list not re-read, the 2 keys stay allowed"));
    CU_ASSERT(log_has(":2: not a Z85 public key"));
    CU_ASSERT(served_with(T.b_secret));
    snprintf(text, sizeof text, "%s\n", T.a_public); /* as the other tests expect */
    CU_ASSERT_FATAL(write_file(T.allow_file, text));
    CU_ASSERT_FATAL(sighup_until("allow_reloads", 2));
    CU_ASSERT_EQUAL(curve_stat("allowed_keys"), 1);
}

static CU_TestInfo tests[] = {
    {"listed client key: frames in, detections out", test_listed_key_served},
    {"unlisted and plain clients: nothing, refusals counted", test_unlisted_key_refused},
    {"control over CURVE: A answered (library, qpercept ctl), B and plain not",
     test_control_over_curve},
    {"SIGHUP re-reads the allow-list; a bad one keeps the old", test_reload_rereads_allow_list},
    {"client library: half a CURVE configuration refused", test_half_curve_options_refused},
    {"SIGTERM: exit 0", test_sigterm},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"server curve", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
