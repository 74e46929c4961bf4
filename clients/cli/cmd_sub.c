// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_sub.c - `qpercept sub --endpoint E [--stream NAME ...] [--json]
 * [--count N] [--timeout-ms MS] [--stats-every S] [--curve-server-key FILE
 * --curve-secret-key FILE]`: print qperceptd's detections as they arrive.
 *
 * One qp_sub (client.h) does the receiving, exact stream filtering,
 * validation and per-stream gap counting; this file only prints. Text mode:
 * one line per message (stream, seq, capture time, latency from capture to
 * receipt here, detection count and the best few "label score [x0,y0,x1,y1]"),
 * stats lines on stdout. --json: one JSON object per message on stdout with
 * every field of the Detections (docs/protocol.md) plus n_missing, and the
 * stats lines on stderr, so stdout stays one object per line.
 *
 * Every --stats-every seconds (default 5, 0 = off) and at the end, a line
 * per stream (messages, rate over the interval, gaps and missing seqs) and
 * a total line that adds the malformed messages dropped. The loop waits in
 * slices of at most SLICE_MS, so SIGINT / SIGTERM (a flag set by the
 * handler) end it within that time, with the summary.
 *
 * Exit status: 0 --count reached or a signal; 1 nothing arrived within
 * --timeout-ms (the message names the endpoint) or a socket error; 2 usage.
 */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "core/alloc.h"
#include "qpercept/client.h"

#define SLICE_MS 100          /* longest wait before looking at the signal flag again */
#define TOP_TEXT 3            /* detections listed on a text line */
#define MALFORMED_LOG_MS 1000 /* at most one malformed-message line per second */

struct sub_args {
    const char *endpoint;
    const char *streams[QP_SUB_MAX_STREAMS];
    int         n_streams;
    bool        json;
    long        count;      /* 0: until a signal */
    long        timeout_ms; /* 0: wait forever */
    double      stats_every_s;
    char        server_key[41], secret_key[41];
    bool        has_server_key, has_secret_key;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static uint64_t realtime_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* ===== Options ===== */

static int usage_error(const char *what)
{
    fprintf(stderr, "qpercept sub: %s\n", what);
    return 2;
}

enum sub_opt {
    SUB_OPT_ENDPOINT,
    SUB_OPT_STREAM,
    SUB_OPT_JSON,
    SUB_OPT_COUNT,
    SUB_OPT_TIMEOUT,
    SUB_OPT_STATS_EVERY,
    SUB_OPT_SERVER_KEY,
    SUB_OPT_SECRET_KEY,
    SUB_OPT_COUNT_
};

static const char *const sub_opt_names[SUB_OPT_COUNT_] = {
    [SUB_OPT_ENDPOINT]    = "--endpoint",
    [SUB_OPT_STREAM]      = "--stream",
    [SUB_OPT_JSON]        = "--json",
    [SUB_OPT_COUNT]       = "--count",
    [SUB_OPT_TIMEOUT]     = "--timeout-ms",
    [SUB_OPT_STATS_EVERY] = "--stats-every",
    [SUB_OPT_SERVER_KEY]  = "--curve-server-key",
    [SUB_OPT_SECRET_KEY]  = "--curve-secret-key",
};

/* The value v of option k: 0 taken, 2 usage error (said). */
static int take_value(enum sub_opt k, const char *v, struct sub_args *a)
{
    switch (k) {
    case SUB_OPT_ENDPOINT:
        a->endpoint = v;
        return 0;
    case SUB_OPT_STREAM:
        if (a->n_streams >= QP_SUB_MAX_STREAMS)
            return usage_error("at most 64 --stream options");
        a->streams[a->n_streams++] = v;
        return 0;
    case SUB_OPT_COUNT:
        return qp_cli_parse_int(v, 1, LONG_MAX, &a->count)
                   ? 0
                   : usage_error("--count wants a number of messages >= 1");
    case SUB_OPT_TIMEOUT:
        return qp_cli_parse_int(v, 1, 86400000, &a->timeout_ms)
                   ? 0
                   : usage_error("--timeout-ms wants milliseconds, 1..86400000");
    case SUB_OPT_STATS_EVERY:
        return qp_cli_parse_float(v, 0, 86400, &a->stats_every_s) &&
                       (a->stats_every_s == 0 || a->stats_every_s >= 0.01)
                   ? 0
                   : usage_error("--stats-every wants seconds, 0.01..86400 (0: off)");
    case SUB_OPT_SERVER_KEY:
        a->has_server_key = true;
        return qp_cli_read_key("sub", sub_opt_names[k], v, a->server_key) ? 0 : 2;
    case SUB_OPT_SECRET_KEY:
        a->has_secret_key = true;
        return qp_cli_read_key("sub", sub_opt_names[k], v, a->secret_key) ? 0 : 2;
    case SUB_OPT_JSON:
    case SUB_OPT_COUNT_:
        break;
    }
    return 2;
}

/* One option at argv[*i]: 0 taken, 2 usage error (said). */
static int parse_one(int argc, char **argv, int *i, struct sub_args *a)
{
    for (int k = 0; k < SUB_OPT_COUNT_; k++) {
        if (strcmp(argv[*i], sub_opt_names[k]) != 0)
            continue;
        if (k == SUB_OPT_JSON) {
            a->json = true;
            return 0;
        }
        const char *v = qp_cli_value(argc, argv, i);
        return v ? take_value((enum sub_opt)k, v, a) : 2;
    }
    fprintf(stderr, "qpercept sub: unknown option '%s'\n", argv[*i]);
    return 2;
}

static int parse_args(int argc, char **argv, struct sub_args *a)
{
    a->stats_every_s = 5;
    for (int i = 1; i < argc; i++) {
        int rc = parse_one(argc, argv, &i, a);
        if (rc)
            return rc;
    }
    if (!a->endpoint)
        return usage_error("give --endpoint, the server's detections endpoint");
    if (a->has_server_key != a->has_secret_key)
        return usage_error("CURVE needs both --curve-server-key and --curve-secret-key");
    return 0;
}

/* ===== Output ===== */

/* Length of the valid UTF-8 sequence at s (1-4), or 0 (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
static int utf8_len(const unsigned char *s)
{
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (s[0] < 0x80)
        return 1;
    int      n  = s[0] >= 0xc2 && s[0] < 0xe0    ? 2
                  : s[0] >= 0xe0 && s[0] < 0xf0  ? 3
                  : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
                                                 : 0;
    uint32_t cp = s[0] & (0x7fu >> n);
    for (int i = 1; i < n; i++) { /* a NUL stops here: not a continuation byte */
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    return n && cp >= min_cp[n] && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? n : 0;
}

/* s as a JSON string. The server's strings are ASCII, but error texts may
 * carry anything: bytes that are not UTF-8 become U+FFFD, so every line
 * stays valid JSON. */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = utf8_len(p);
        if (n == 0) {
            fputs("\\ufffd", f);
            p++;
        } else if (*p == '"' || *p == '\\') {
            fprintf(f, "\\%c", *p++);
        } else if (*p < 0x20) {
            fprintf(f, "\\u%04x", *p++);
        } else {
            (void)fwrite(p, 1, (size_t)n, f); /* as the fputc/fprintf around it */
            p += n;
        }
    }
    fputc('"', f);
}

static void print_json(FILE *f, const struct qp_detections_in *m)
{
    const struct qp_det_stamps *t = &m->stamps;
    const struct qp_det_drops  *d = &m->drops;
    fputs("{\"header\":{\"stream\":", f);
    json_str(f, m->header.stream);
    fprintf(f, ",\"seq\":%llu,\"capture_ns\":%llu,\"frame_id\":", (unsigned long long)m->header.seq,
            (unsigned long long)m->header.capture_ns);
    json_str(f, m->header.frame_id);
    fputs("},\"model\":", f);
    json_str(f, m->model);
    fputs(",\"engine_id\":", f);
    json_str(f, m->engine_id);
    fprintf(f,
            ",\"stamps\":{\"received_ns\":%llu,\"batched_ns\":%llu,\"inference_start_ns\":%llu,"
            "\"inference_end_ns\":%llu,\"published_ns\":%llu},\"batch_size\":%u",
            (unsigned long long)t->received_ns, (unsigned long long)t->batched_ns,
            (unsigned long long)t->inference_start_ns, (unsigned long long)t->inference_end_ns,
            (unsigned long long)t->published_ns, m->batch_size);
    fprintf(f,
            ",\"drops\":{\"replaced\":%llu,\"too_old\":%llu,\"malformed\":%llu,\"oversized\":%llu,"
            "\"unknown_stream\":%llu,\"shm_torn\":%llu,\"engine_error\":%llu},\"status\":",
            (unsigned long long)d->replaced, (unsigned long long)d->too_old,
            (unsigned long long)d->malformed, (unsigned long long)d->oversized,
            (unsigned long long)d->unknown_stream, (unsigned long long)d->shm_torn,
            (unsigned long long)d->engine_error);
    json_str(f, qp_det_status_name(m->status));
    fputs(",\"error\":", f);
    json_str(f, m->error);
    fprintf(f, ",\"n_missing\":%llu,\"detections\":[", (unsigned long long)m->n_missing);
    for (uint32_t i = 0; i < m->n_detections; i++) {
        const struct qp_detection_in *e = &m->detections[i];
        fprintf(f, "%s{\"class_id\":%u,\"label\":", i ? "," : "", e->class_id);
        json_str(f, e->label);
        /* %.9g: a float survives the round trip through text exactly */
        fprintf(f, ",\"score\":%.9g,\"box\":[%.9g,%.9g,%.9g,%.9g]}", (double)e->score,
                (double)e->x0, (double)e->y0, (double)e->x1, (double)e->y1);
    }
    fputs("]}\n", f);
}

static void print_text(FILE *f, const struct qp_detections_in *m, uint64_t now_ns)
{
    double latency_ms = ((double)now_ns - (double)m->header.capture_ns) / 1e6; /* any sign */
    fprintf(f, "%s seq %llu capture %llu.%09llu latency %.1f ms", m->header.stream,
            (unsigned long long)m->header.seq,
            (unsigned long long)(m->header.capture_ns / 1000000000u),
            (unsigned long long)(m->header.capture_ns % 1000000000u), latency_ms);
    if (m->n_missing)
        fprintf(f, " (%llu missing before)", (unsigned long long)m->n_missing);
    if (m->status != QP_DET_STATUS_OK)
        fprintf(f, " %s: %s", qp_det_status_name(m->status), m->error);
    fprintf(f, ": %u detection%s", m->n_detections, m->n_detections == 1 ? "" : "s");
    for (uint32_t i = 0; i < m->n_detections && i < TOP_TEXT; i++) {
        const struct qp_detection_in *e = &m->detections[i];
        fprintf(f, "%s %s %.2f [%.0f,%.0f,%.0f,%.0f]", i ? "," : "", e->label, (double)e->score,
                (double)e->x0, (double)e->y0, (double)e->x1, (double)e->y1);
    }
    if (m->n_detections > TOP_TEXT)
        fprintf(f, ", ... %u more", m->n_detections - TOP_TEXT);
    fputc('\n', f);
}

/* The per-stream lines and the total line. what: "stats" or "summary";
 * rates over span_s, counting messages above prev[] (per stream table
 * index, then the total at QP_SUB_MAX_STREAMS), which is then updated. */
static void print_stats(FILE *f, const struct qp_sub *sub, const char *what, double elapsed_s,
                        double span_s, uint64_t prev[QP_SUB_MAX_STREAMS + 1])
{
    struct qp_sub_stats        s;
    struct qp_sub_stream_stats t;
    double                     span = span_s > 1e-9 ? span_s : 1e-9;
    qp_sub_stats(sub, &s);
    for (int i = 0; qp_sub_stream_stats(sub, i, &t); i++) {
        fprintf(f, "%s %.1fs %s: %llu messages, %.1f msg/s, %llu gaps, %llu missing\n", what,
                elapsed_s, t.stream, (unsigned long long)t.n_received,
                (double)(t.n_received - prev[i]) / span, (unsigned long long)t.n_gaps,
                (unsigned long long)t.n_missing);
        prev[i] = t.n_received;
    }
    fprintf(f,
            "%s %.1fs total: %llu messages, %.1f msg/s, %llu gaps, %llu missing, %llu malformed, "
            "%llu resets\n",
            what, elapsed_s, (unsigned long long)s.n_received,
            (double)(s.n_received - prev[QP_SUB_MAX_STREAMS]) / span, (unsigned long long)s.n_gaps,
            (unsigned long long)s.n_missing, (unsigned long long)s.n_malformed,
            (unsigned long long)s.n_resets);
    prev[QP_SUB_MAX_STREAMS] = s.n_received;
    (void)fflush(f);
}

/* ===== The loop ===== */

struct sub_run {
    const struct sub_args   *a;
    struct qp_sub           *sub;
    struct qp_detections_in *msg;
    FILE                    *stats_out;
    int64_t                  start_ms, last_stats_ms, last_arrival_ms, last_malformed_log_ms;
    uint64_t                 prev[QP_SUB_MAX_STREAMS + 1];
    long                     n_printed;
};

static int64_t stats_every_ms(const struct sub_args *a)
{
    return (int64_t)(a->stats_every_s * 1000.0 + 0.5);
}

/* How long the next receive may wait: up to the next stats line or the
 * idle deadline, at most SLICE_MS, at least 1 ms. */
static int next_wait_ms(const struct sub_run *r, int64_t now)
{
    int64_t wait = SLICE_MS;
    if (r->a->stats_every_s > 0) {
        int64_t due = r->last_stats_ms + stats_every_ms(r->a);
        wait        = due - now < wait ? due - now : wait;
    }
    if (r->a->timeout_ms > 0) {
        int64_t due = r->last_arrival_ms + r->a->timeout_ms;
        wait        = due - now < wait ? due - now : wait;
    }
    return wait < 1 ? 1 : (int)wait;
}

/* Receive and print until the count, a signal or the idle timeout: the
 * exit status. */
static int run_loop(struct sub_run *r)
{
    const struct sub_args *a = r->a;
    while (!stop_signal && (a->count == 0 || r->n_printed < a->count)) {
        int64_t now = mono_ms();
        if (a->stats_every_s > 0 && now - r->last_stats_ms >= stats_every_ms(a)) {
            print_stats(r->stats_out, r->sub, "stats", (double)(now - r->start_ms) / 1e3,
                        (double)(now - r->last_stats_ms) / 1e3, r->prev);
            r->last_stats_ms = now;
        }
        if (a->timeout_ms > 0 && now - r->last_arrival_ms >= a->timeout_ms) {
            fprintf(stderr,
                    "qpercept sub: nothing arrived from %s within %ld ms (is qperceptd "
                    "running and publishing there?)\n",
                    a->endpoint, a->timeout_ms);
            return 1;
        }
        struct qp_err  err = {{0}};
        enum qp_status st  = qp_sub_recv(r->sub, r->msg, next_wait_ms(r, now), &err);
        if (st == QP_E_AGAIN)
            continue;
        r->last_arrival_ms = mono_ms();
        if (st == QP_E_FORMAT) { /* counted by qp_sub; shown in the stats */
            if (r->last_arrival_ms - r->last_malformed_log_ms >= MALFORMED_LOG_MS) {
                fprintf(stderr, "qpercept sub: dropped a malformed message: %s\n", err.msg);
                r->last_malformed_log_ms = r->last_arrival_ms;
            }
            continue;
        }
        if (st != QP_OK) {
            fprintf(stderr, "qpercept sub: %s\n", err.msg);
            return 1;
        }
        if (a->json)
            print_json(stdout, r->msg);
        else
            print_text(stdout, r->msg, realtime_ns());
        (void)fflush(stdout);
        r->n_printed++;
    }
    return 0;
}

int qp_cli_sub(int argc, char **argv)
{
    struct sub_args a  = {0};
    int             rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;
    struct qp_sub_opts o = QP_SUB_OPTS_DEFAULT;
    o.endpoint           = a.endpoint;
    o.streams            = a.n_streams ? a.streams : NULL;
    o.n_streams          = a.n_streams;
    o.curve_server_key   = a.has_server_key ? a.server_key : NULL;
    o.curve_secret_key   = a.has_secret_key ? a.secret_key : NULL;
    struct qp_sub *sub   = NULL;
    struct qp_err  err   = {{0}};
    enum qp_status st    = qp_sub_new(&o, &sub, &err);
    memset(a.secret_key, 0, sizeof a.secret_key);
    if (st != QP_OK) {
        fprintf(stderr, "qpercept sub: %s\n", err.msg);
        return st == QP_E_INVAL ? 2 : 1;
    }
    struct sub_run r = {.a = &a, .sub = sub, .stats_out = a.json ? stderr : stdout};
    r.msg            = qp_alloc(sizeof *r.msg);
    if (!r.msg) {
        fprintf(stderr, "qpercept sub: out of memory\n");
        qp_sub_free(sub);
        return 1;
    }
    /* the handler only sets the flag; the loop looks at it between waits of at most SLICE_MS
     * (the signal may go to one of ZeroMQ's threads and wake no wait of ours) */
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    r.start_ms = r.last_stats_ms = r.last_arrival_ms = mono_ms();
    r.last_malformed_log_ms                          = r.start_ms - MALFORMED_LOG_MS;
    rc                                               = run_loop(&r);
    int64_t end                                      = mono_ms();
    print_stats(r.stats_out, sub, "summary", (double)(end - r.start_ms) / 1e3,
                (double)(end - r.start_ms) / 1e3, (uint64_t[QP_SUB_MAX_STREAMS + 1]){0});
    qp_free(r.msg);
    qp_sub_free(sub);
    return rc;
}
