// SPDX-License-Identifier: Apache-2.0
/*
 * bench_report.c - the text and JSON reports of `qpercept bench`
 * (bench_report.h).
 *
 * The JSON is written by a small fixed writer (jw_*): it tracks nesting and
 * commas, escapes strings, and prints numbers with printf, so no NaN or
 * infinity can appear (every mean is guarded by its count). Latencies are
 * milliseconds with 4 decimals (100 ns resolution), counts are integers.
 */
#define _POSIX_C_SOURCE 200809L
#include "bench_report.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define MS(ns) ((double)(ns) / 1e6)

/* ===== JSON writer ===== */

#define JW_MAX_DEPTH 8

struct jw {
    FILE *f;
    int   depth;
    bool  any[JW_MAX_DEPTH]; /* the open container has an item already */
};

static void jw_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* Start an item: comma, new line, indent, "key": (key NULL inside arrays). */
static void jw_item(struct jw *w, const char *key)
{
    if (w->depth > 0) {
        fprintf(w->f, "%s\n%*s", w->any[w->depth - 1] ? "," : "", 2 * w->depth, "");
        w->any[w->depth - 1] = true;
    }
    if (key) {
        jw_string(w->f, key);
        fputs(": ", w->f);
    }
}

static void jw_open(struct jw *w, const char *key, char brace)
{
    QP_ASSERT(w->depth < JW_MAX_DEPTH);
    jw_item(w, key);
    fputc(brace, w->f);
    w->any[w->depth++] = false;
}

static void jw_close(struct jw *w, char brace)
{
    QP_ASSERT(w->depth > 0);
    if (w->any[--w->depth])
        fprintf(w->f, "\n%*s", 2 * w->depth, "");
    fputc(brace, w->f);
}

static void jw_str(struct jw *w, const char *key, const char *v)
{
    jw_item(w, key);
    if (v)
        jw_string(w->f, v);
    else
        fputs("null", w->f);
}

static void jw_u64(struct jw *w, const char *key, uint64_t v)
{
    jw_item(w, key);
    fprintf(w->f, "%" PRIu64, v);
}

static void jw_num(struct jw *w, const char *key, double v)
{
    jw_item(w, key);
    fprintf(w->f, "%.4f", v);
}

static void jw_bool(struct jw *w, const char *key, bool v)
{
    jw_item(w, key);
    fputs(v ? "true" : "false", w->f);
}

/* ===== JSON report ===== */

static void json_dist(struct jw *w, const char *key, const struct qp_bench_dist *d)
{
    jw_open(w, key, '{');
    jw_u64(w, "n", d->n);
    jw_num(w, "p50", MS(d->p50));
    jw_num(w, "p90", MS(d->p90));
    jw_num(w, "p99", MS(d->p99));
    jw_num(w, "p99_9", MS(d->p999));
    jw_num(w, "max", MS(d->max));
    jw_num(w, "min", MS(d->min));
    jw_num(w, "mean", d->mean / 1e6);
    jw_close(w, '}');
}

static void json_counts(struct jw *w, const struct qp_bench_counts *c)
{
    jw_u64(w, "sent", c->sent);
    jw_u64(w, "received", c->received);
    jw_u64(w, "lost", c->lost);
    jw_u64(w, "lost_server", c->lost_server);
    jw_u64(w, "lost_unexplained", c->lost_unexplained);
    jw_open(w, "lost_server_by_reason", '{');
    for (int r = 0; r < QP_BENCH_DROP_COUNT; r++)
        jw_u64(w, qp_bench_drop_name((enum qp_bench_drop)r), c->drops[r]);
    jw_close(w, '}');
    jw_u64(w, "unmatched_server_drops", c->unmatched_drops);
    jw_u64(w, "publisher_dropped", c->pub_dropped);
    jw_u64(w, "not_sent", c->not_sent);
    jw_u64(w, "late_sends", c->late);
    jw_num(w, "max_lateness_ms", MS(c->max_lateness_ns));
    jw_num(w, "mean_batch", c->mean_batch);
}

static void json_host(struct jw *w)
{
    struct utsname u;
    char           line[512], cpu[256] = "";
    FILE          *f = fopen("/proc/cpuinfo", "r");
    while (f && !cpu[0] && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            snprintf(cpu, sizeof cpu, "%s", colon + 2);
            cpu[strcspn(cpu, "\n")] = '\0';
        }
    }
    if (f)
        (void)fclose(f);
    bool uname_ok = uname(&u) == 0;
    jw_open(w, "host", '{');
    jw_u64(w, "cores", (uint64_t)sysconf(_SC_NPROCESSORS_ONLN));
    jw_str(w, "kernel", uname_ok ? u.release : NULL);
    jw_str(w, "os", uname_ok ? u.sysname : NULL);
    jw_str(w, "machine", uname_ok ? u.machine : NULL);
    jw_str(w, "cpu", cpu[0] ? cpu : NULL);
    jw_close(w, '}');
}

static void json_options(struct jw *w, const struct qp_bench_report *r, const struct qp_bench *b)
{
    jw_open(w, "options", '{');
    jw_str(w, "endpoint", r->endpoint);
    jw_str(w, "frames_endpoint", r->frames_endpoint);
    jw_u64(w, "streams", (uint64_t)b->plan.n_streams);
    jw_str(w, "stream_prefix", r->prefix);
    jw_num(w, "rate_hz", b->plan.rate_hz);
    jw_num(w, "duration_s", b->plan.duration_s);
    jw_num(w, "warmup_s", b->plan.warmup_s);
    jw_u64(w, "width", (uint64_t)r->width);
    jw_u64(w, "height", (uint64_t)r->height);
    jw_str(w, "format", r->format);
    jw_str(w, "images", r->images);
    jw_u64(w, "n_images", (uint64_t)r->n_images);
    jw_str(w, "transport", r->transport);
    jw_bool(w, "aligned", b->plan.aligned);
    jw_u64(w, "shm_slots", r->shm_slots);
    jw_str(w, "senders", r->senders);
    jw_close(w, '}');
}

static void json_client(struct jw *w, const struct qp_bench_report *r, const struct qp_bench *b)
{
    jw_open(w, "publisher", '{'); /* qp_pub_stats, whole run */
    jw_u64(w, "sent", r->pub.n_sent);
    jw_u64(w, "dropped", r->pub.n_dropped);
    jw_u64(w, "dropped_hwm", r->pub.n_dropped_hwm);
    jw_u64(w, "dropped_no_subscriber", r->pub.n_no_subscriber);
    jw_close(w, '}');
    jw_open(w, "subscriber", '{'); /* qp_sub_stats and matching, whole run */
    jw_u64(w, "received", r->sub.n_received);
    jw_u64(w, "malformed", r->sub.n_malformed);
    jw_u64(w, "gaps", r->sub.n_gaps);
    jw_u64(w, "missing", r->sub.n_missing);
    jw_u64(w, "resets", r->sub.n_resets);
    jw_u64(w, "matched", b->n_matched);
    jw_u64(w, "duplicate", b->n_duplicate);
    jw_u64(w, "foreign", b->n_foreign);
    jw_close(w, '}');
}

enum qp_status qp_bench_report_json(const char *path, const struct qp_bench_report *r,
                                    const struct qp_bench *b, const struct qp_bench_summary *s,
                                    struct qp_err *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return qp_fail(err, QP_E_IO, "--json %s: %s", path, strerror(errno));
    struct jw w = {.f = f};
    jw_open(&w, NULL, '{');
    jw_str(&w, "tool", "qpercept bench");
    jw_str(&w, "label", r->label);
    json_options(&w, r, b);
    json_host(&w);
    jw_open(&w, "server", '{');
    jw_str(&w, "model", r->model);
    jw_str(&w, "engine_id", r->engine_id);
    jw_close(&w, '}');
    jw_open(&w, "total", '{');
    json_counts(&w, &s->total);
    jw_num(&w, "throughput_fps", s->throughput_fps);
    json_dist(&w, "latency_ms", &s->latency);
    json_dist(&w, "server_overhead_ms", &s->overhead);
    json_dist(&w, "latency_from_handoff_ms", &s->latency_handoff);
    json_dist(&w, "server_overhead_from_handoff_ms", &s->overhead_handoff);
    jw_close(&w, '}');
    jw_open(&w, "stages_ms", '{');
    for (int i = 0; i < QP_BENCH_STAGE_COUNT; i++)
        json_dist(&w, qp_bench_stage_name((enum qp_bench_stage)i), &s->stage[i]);
    jw_close(&w, '}');
    json_client(&w, r, b);
    jw_open(&w, "streams", '[');
    for (int k = 0; k < b->plan.n_streams; k++) {
        jw_open(&w, NULL, '{');
        jw_str(&w, "name", b->streams[k].name);
        json_counts(&w, &s->stream[k]);
        json_dist(&w, "latency_ms", &s->stream_latency[k]);
        jw_close(&w, '}');
    }
    jw_close(&w, ']');
    jw_close(&w, '}');
    fputc('\n', f);
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad)
        return qp_fail(err, QP_E_IO, "--json %s: write failed: %s", path, strerror(errno));
    return QP_OK;
}

/* ===== Text report ===== */

static void print_row(FILE *f, const char *name, const struct qp_bench_counts *c,
                      const struct qp_bench_dist *d)
{
    fprintf(f,
            "%-12s %7" PRIu64 " %7" PRIu64 " %6" PRIu64 " %6" PRIu64 " %6" PRIu64 " %6" PRIu64
            " %5" PRIu64 " %8.2f %8.2f %8.2f %8.2f %8.2f\n",
            name, c->sent, c->received, c->lost, c->lost_server, c->lost_unexplained,
            c->pub_dropped, c->late, MS(d->p50), MS(d->p90), MS(d->p99), MS(d->p999), MS(d->max));
}

static void print_drops(FILE *f, const struct qp_bench_counts *c)
{
    fprintf(f, "dropped by the server: %" PRIu64, c->lost_server);
    const char *sep = " (";
    for (int r = 0; r < QP_BENCH_DROP_COUNT; r++)
        if (c->drops[r]) {
            fprintf(f, "%s%s %" PRIu64, sep, qp_bench_drop_name((enum qp_bench_drop)r),
                    c->drops[r]);
            sep = ", ";
        }
    fprintf(f, "%s", sep[0] == ',' ? ")" : "");
    if (c->unmatched_drops)
        fprintf(f, "; %" PRIu64 " more drops reported than frames of ours lost (another sender?)",
                c->unmatched_drops);
    fputc('\n', f);
}

void qp_bench_report_print(FILE *f, const struct qp_bench_report *r, const struct qp_bench *b,
                           const struct qp_bench_summary *s)
{
    const struct qp_bench_plan *p = &b->plan;
    fprintf(f,
            "qpercept bench%s%s: %d stream%s x %g Hz for %g s (+%g s warm-up), %dx%d %s, %s%s, "
            "%s, senders: %s\n",
            r->label ? " " : "", r->label ? r->label : "", p->n_streams,
            p->n_streams == 1 ? "" : "s", p->rate_hz, p->duration_s, p->warmup_s, r->width,
            r->height, r->format, r->transport, r->shm_slots ? " (shm)" : "",
            p->aligned ? "aligned" : "phase-offset", r->senders ? r->senders : "?");
    if (r->model)
        fprintf(f, "server: model %s, engine %s\n", r->model, r->engine_id ? r->engine_id : "?");
    fprintf(f, "%-12s %7s %7s %6s %6s %6s %6s %5s %8s %8s %8s %8s %8s\n", "stream", "sent", "recv",
            "lost", "server", "unexpl", "pubdrop", "late", "p50", "p90", "p99", "p99.9", "max ms");
    for (int k = 0; k < p->n_streams; k++)
        print_row(f, b->streams[k].name, &s->stream[k], &s->stream_latency[k]);
    print_row(f, "all", &s->total, &s->latency);
    fprintf(f,
            "throughput %.2f frames/s, mean batch %.2f, lost %" PRIu64 " (%" PRIu64
            " dropped by the server, %" PRIu64 " unexplained)\n",
            s->throughput_fps, s->total.mean_batch, s->total.lost, s->total.lost_server,
            s->total.lost_unexplained);
    print_drops(f, &s->total);
    fprintf(f, "%-14s %7s %9s %9s %9s\n", "stage", "n", "p50", "p99", "max ms");
    for (int i = 0; i < QP_BENCH_STAGE_COUNT; i++)
        fprintf(f, "%-14s %7" PRIu64 " %9.3f %9.3f %9.3f\n",
                qp_bench_stage_name((enum qp_bench_stage)i), s->stage[i].n, MS(s->stage[i].p50),
                MS(s->stage[i].p99), MS(s->stage[i].max));
    fprintf(f, "server overhead (end to end - inference): p50 %.3f, p99 %.3f, max %.3f ms\n",
            MS(s->overhead.p50), MS(s->overhead.p99), MS(s->overhead.max));
    fprintf(f,
            "from the hand-off (qp_pub_send returned; no generator lateness): latency p50 %.3f, "
            "p99 %.3f, max %.3f ms; overhead p50 %.3f, p99 %.3f, max %.3f ms\n",
            MS(s->latency_handoff.p50), MS(s->latency_handoff.p99), MS(s->latency_handoff.max),
            MS(s->overhead_handoff.p50), MS(s->overhead_handoff.p99), MS(s->overhead_handoff.max));
    fprintf(f,
            "client: publisher sent %" PRIu64 ", dropped %" PRIu64 " (hwm %" PRIu64
            ", no subscriber %" PRIu64 "); subscriber received %" PRIu64 ", gaps %" PRIu64
            " (%" PRIu64 " seqs), malformed %" PRIu64 ", foreign %" PRIu64 ", duplicate %" PRIu64
            "\n",
            r->pub.n_sent, r->pub.n_dropped, r->pub.n_dropped_hwm, r->pub.n_no_subscriber,
            r->sub.n_received, r->sub.n_gaps, r->sub.n_missing, r->sub.n_malformed, b->n_foreign,
            b->n_duplicate);
    if (s->total.late > 0 || s->total.not_sent > 0)
        fprintf(f,
                "warning: the load generator fell behind its schedule: %" PRIu64
                " sends started >= %.1f ms late (worst %.3f ms), %" PRIu64
                " not sent; their latency includes that delay\n",
                s->total.late, MS(QP_BENCH_LATE_NS), MS(s->total.max_lateness_ns),
                s->total.not_sent);
    else
        fprintf(f, "generator: on schedule (worst lateness %.3f ms)\n",
                MS(s->total.max_lateness_ns));
}
