// SPDX-License-Identifier: Apache-2.0
/*
 * bench_compare.c - `qpercept bench --compare A.json B.json`
 * (bench_compare.h): load two --json reports into fixed structs, then print
 * them side by side.
 *
 * Loading is table-driven: the setup keys, the distribution keys and the
 * count keys are rows, looked up by dotted path through one checked getter
 * that remembers the first failure (file and path), so the printer never
 * sees a missing value. Streams are paired by name; a stream in only one
 * report is said so. The ratio is b / a, "-" when a is 0.
 *
 * Tested by tests/unit/test_bench_report.c (made reports, malformed and
 * foreign files).
 */
#include "bench_compare.h"

#include <stdbool.h>
#include <string.h>

#include "bench_stats.h"
#include "core/json.h"

/* ===== What a report holds ===== */

/* The setup keys of "options" that make two runs comparable; a key with an
 * absent value came later, and a report without it had that value. */
static const struct {
    const char       *key;
    enum qp_json_type type;
    const char       *absent; /* NULL: the key must be there */
} setup_keys[] = {
    {"streams", QP_JSON_NUMBER, NULL},    {"rate_hz", QP_JSON_NUMBER, NULL},
    {"duration_s", QP_JSON_NUMBER, NULL}, {"warmup_s", QP_JSON_NUMBER, NULL},
    {"width", QP_JSON_NUMBER, NULL},      {"height", QP_JSON_NUMBER, NULL},
    {"format", QP_JSON_STRING, NULL},     {"transport", QP_JSON_STRING, NULL},
    {"shm_slots", QP_JSON_NUMBER, NULL},  {"aligned", QP_JSON_BOOL, NULL},
    {"senders", QP_JSON_STRING, "one"}, /* before --senders: one thread sent all */
};
#define N_SETUP (sizeof setup_keys / sizeof setup_keys[0])

/* Keys of a distribution object (bench_report.c json_dist), and how they print. */
enum dkey { DK_N, DK_P50, DK_P90, DK_P99, DK_P999, DK_MAX, DK_COUNT };
static const char *const dkeys[DK_COUNT]   = {"n", "p50", "p90", "p99", "p99_9", "max"};
static const char *const dlabels[DK_COUNT] = {"n", "p50", "p90", "p99", "p99.9", "max"};

/* Keys of a counts object (bench_report.c json_counts) that are compared. */
enum ckey { CK_SENT, CK_RECEIVED, CK_LOST, CK_SERVER, CK_UNEXPLAINED, CK_PUBDROP, CK_COUNT };
static const char *const ckeys[CK_COUNT] = {"sent",        "received",         "lost",
                                            "lost_server", "lost_unexplained", "publisher_dropped"};

struct counts {
    double v[CK_COUNT];
    double by_reason[QP_BENCH_DROP_COUNT];
};

struct dist {
    double v[DK_COUNT];
};

struct stream {
    const char   *name; /* borrowed from the document */
    struct counts c;
    struct dist   latency;
};

struct report {
    const char         *path;
    struct qp_json_doc *doc;
    const char         *label; /* NULL: none */
    char                setup[N_SETUP][64];
    double              throughput_fps;
    struct counts       total;
    struct dist         latency, overhead, stage[QP_BENCH_STAGE_COUNT];
    int                 n_streams;
    struct stream       streams[QP_BENCH_MAX_STREAMS];
};

/* ===== Checked lookup ===== */

/* A lookup context: the report's path and the first failure. */
struct rd {
    const char    *path;
    struct qp_err *err;
    enum qp_status st;
};

/* Member key of obj (whose dotted path is at) of type t, or NULL after
 * recording the first failure as "PATH: key 'AT.KEY': why". */
static const struct qp_json *get(struct rd *rd, const struct qp_json *obj, const char *at,
                                 const char *key, enum qp_json_type t)
{
    if (rd->st != QP_OK || !obj)
        return NULL;
    const struct qp_json *v = qp_json_get(obj, key);
    if (v && v->type == t)
        return v;
    rd->st = qp_fail(rd->err, QP_E_FORMAT, "%s: key '%s%s%s': %s%s, want %s", rd->path, at,
                     at[0] ? "." : "", key, v ? "is " : "missing",
                     v ? qp_json_type_name(v->type) : "", qp_json_type_name(t));
    return NULL;
}

static double num(struct rd *rd, const struct qp_json *obj, const char *at, const char *key)
{
    const struct qp_json *v = get(rd, obj, at, key, QP_JSON_NUMBER);
    return v ? v->v.num : 0;
}

static void load_dist(struct rd *rd, const struct qp_json *obj, const char *at, const char *key,
                      struct dist *d)
{
    char                  path[128];
    const struct qp_json *o = get(rd, obj, at, key, QP_JSON_OBJECT);
    snprintf(path, sizeof path, "%s%s%s", at, at[0] ? "." : "", key);
    for (int k = 0; k < DK_COUNT; k++)
        d->v[k] = num(rd, o, path, dkeys[k]);
}

static void load_counts(struct rd *rd, const struct qp_json *obj, const char *at, struct counts *c)
{
    char path[128];
    for (int k = 0; k < CK_COUNT; k++)
        c->v[k] = num(rd, obj, at, ckeys[k]);
    const struct qp_json *by = get(rd, obj, at, "lost_server_by_reason", QP_JSON_OBJECT);
    snprintf(path, sizeof path, "%s.lost_server_by_reason", at);
    for (int r = 0; r < QP_BENCH_DROP_COUNT; r++)
        c->by_reason[r] = num(rd, by, path, qp_bench_drop_name((enum qp_bench_drop)r));
}

/* One setup value as text ("30", "push", "true"). */
static void load_setup(struct rd *rd, const struct qp_json *opt, struct report *r)
{
    for (size_t i = 0; i < N_SETUP; i++) {
        if (setup_keys[i].absent && rd->st == QP_OK && opt &&
            !qp_json_get(opt, setup_keys[i].key)) {
            snprintf(r->setup[i], sizeof r->setup[i], "%s", setup_keys[i].absent);
            continue;
        }
        const struct qp_json *v = get(rd, opt, "options", setup_keys[i].key, setup_keys[i].type);
        if (!v)
            return;
        if (v->type == QP_JSON_NUMBER)
            snprintf(r->setup[i], sizeof r->setup[i], "%g", v->v.num);
        else if (v->type == QP_JSON_STRING)
            snprintf(r->setup[i], sizeof r->setup[i], "%s", v->v.str);
        else
            snprintf(r->setup[i], sizeof r->setup[i], "%s", v->v.b ? "true" : "false");
    }
}

static void load_streams(struct rd *rd, const struct qp_json *root, struct report *r)
{
    const struct qp_json *arr = get(rd, root, "", "streams", QP_JSON_ARRAY);
    if (!arr)
        return;
    if (arr->n > QP_BENCH_MAX_STREAMS) {
        rd->st = qp_fail(rd->err, QP_E_FORMAT, "%s: key 'streams': %u entries, at most %d",
                         rd->path, arr->n, QP_BENCH_MAX_STREAMS);
        return;
    }
    r->n_streams = (int)arr->n;
    for (int s = 0; s < r->n_streams && rd->st == QP_OK; s++) {
        char                  at[32];
        const struct qp_json *o = &arr->v.items[s];
        snprintf(at, sizeof at, "streams[%d]", s);
        if (o->type != QP_JSON_OBJECT) {
            rd->st = qp_fail(rd->err, QP_E_FORMAT, "%s: key '%s': is %s, want object", rd->path, at,
                             qp_json_type_name(o->type));
            return;
        }
        const struct qp_json *name = get(rd, o, at, "name", QP_JSON_STRING);
        r->streams[s].name         = name ? name->v.str : "";
        load_counts(rd, o, at, &r->streams[s].c);
        load_dist(rd, o, at, "latency_ms", &r->streams[s].latency);
    }
}

/* Parse and check the whole report at path into r (which owns the document). */
static enum qp_status load(const char *path, struct report *r, struct qp_err *err)
{
    memset(r, 0, sizeof *r);
    r->path           = path;
    enum qp_status st = qp_json_read_file(path, &r->doc, err);
    if (st != QP_OK)
        return st;
    struct rd             rd   = {path, err, QP_OK};
    const struct qp_json *root = qp_json_root(r->doc);
    if (root->type != QP_JSON_OBJECT)
        return qp_fail(err, QP_E_FORMAT, "%s: the top level is %s, want an object", path,
                       qp_json_type_name(root->type));
    const struct qp_json *tool = get(&rd, root, "", "tool", QP_JSON_STRING);
    if (tool && strcmp(tool->v.str, "qpercept bench") != 0)
        return qp_fail(err, QP_E_FORMAT,
                       "%s: key 'tool': \"%s\", want \"qpercept bench\" (not a bench report)", path,
                       tool->v.str);
    const struct qp_json *label = qp_json_get(root, "label");
    r->label                    = label && label->type == QP_JSON_STRING ? label->v.str : NULL;
    load_setup(&rd, get(&rd, root, "", "options", QP_JSON_OBJECT), r);
    const struct qp_json *total = get(&rd, root, "", "total", QP_JSON_OBJECT);
    load_counts(&rd, total, "total", &r->total);
    r->throughput_fps = num(&rd, total, "total", "throughput_fps");
    load_dist(&rd, total, "total", "latency_ms", &r->latency);
    load_dist(&rd, total, "total", "server_overhead_ms", &r->overhead);
    const struct qp_json *stages = get(&rd, root, "", "stages_ms", QP_JSON_OBJECT);
    for (int i = 0; i < QP_BENCH_STAGE_COUNT; i++)
        load_dist(&rd, stages, "stages_ms", qp_bench_stage_name((enum qp_bench_stage)i),
                  &r->stage[i]);
    load_streams(&rd, root, r);
    return rd.st;
}

/* ===== Printing ===== */

#define COL_NAME "%-30s"

/* One row: a, b and b / a ("-" when a is 0). Counts print as integers. */
static void row(FILE *f, const char *name, double a, double b, bool count)
{
    char ratio[32] = "-";
    if (a != 0)
        snprintf(ratio, sizeof ratio, "%.3f", b / a);
    if (count)
        fprintf(f, "  " COL_NAME " %12.0f %12.0f %8s\n", name, a, b, ratio);
    else
        fprintf(f, "  " COL_NAME " %12.3f %12.3f %8s\n", name, a, b, ratio);
}

static void rows_dist(FILE *f, const char *prefix, const struct dist *a, const struct dist *b)
{
    for (int k = 0; k < DK_COUNT; k++) {
        char name[96];
        snprintf(name, sizeof name, "%s%s", prefix, dlabels[k]);
        row(f, name, a->v[k], b->v[k], k == DK_N);
    }
}

/* Counts, then the drop reasons either side reported. */
static void rows_counts(FILE *f, const char *prefix, const struct counts *a, const struct counts *b)
{
    for (int k = 0; k < CK_COUNT; k++) {
        char name[96];
        snprintf(name, sizeof name, "%s%s", prefix, ckeys[k]);
        row(f, name, a->v[k], b->v[k], true);
    }
    for (int r = 0; r < QP_BENCH_DROP_COUNT; r++) {
        char name[96];
        if (a->by_reason[r] == 0 && b->by_reason[r] == 0)
            continue;
        snprintf(name, sizeof name, "%s  dropped %s", prefix,
                 qp_bench_drop_name((enum qp_bench_drop)r));
        row(f, name, a->by_reason[r], b->by_reason[r], true);
    }
}

static void print_setup(FILE *f, const struct report *a, const struct report *b)
{
    bool same = true;
    for (size_t i = 0; i < N_SETUP; i++)
        if (strcmp(a->setup[i], b->setup[i]) != 0) {
            fprintf(f, "%s %s %s vs %s", same ? "setup differs:" : ",", setup_keys[i].key,
                    a->setup[i], b->setup[i]);
            same = false;
        }
    if (same) {
        fprintf(f, "setup: the same (");
        for (size_t i = 0; i < N_SETUP; i++)
            fprintf(f, "%s%s %s", i ? ", " : "", setup_keys[i].key, a->setup[i]);
        fputc(')', f);
    }
    fputc('\n', f);
}

/* Stream name's index in r, or -1. */
static int find_stream(const struct report *r, const char *name)
{
    for (int s = 0; s < r->n_streams; s++)
        if (strcmp(r->streams[s].name, name) == 0)
            return s;
    return -1;
}

static void print_streams(FILE *f, const struct report *a, const struct report *b)
{
    fprintf(f, "per stream (latency ms, frames)\n");
    for (int s = 0; s < a->n_streams; s++) {
        const struct stream *sa = &a->streams[s];
        int                  k  = find_stream(b, sa->name);
        char                 prefix[96];
        if (k < 0) {
            fprintf(f, "  %s: only in a\n", sa->name);
            continue;
        }
        snprintf(prefix, sizeof prefix, "%s ", sa->name);
        rows_dist(f, prefix, &sa->latency, &b->streams[k].latency);
        rows_counts(f, prefix, &sa->c, &b->streams[k].c);
    }
    for (int s = 0; s < b->n_streams; s++)
        if (find_stream(a, b->streams[s].name) < 0)
            fprintf(f, "  %s: only in b\n", b->streams[s].name);
}

static void print(FILE *f, const struct report *a, const struct report *b)
{
    fprintf(f, "qpercept bench --compare\n  a: %s%s%s\n  b: %s%s%s\n", a->path,
            a->label ? ", label " : "", a->label ? a->label : "", b->path,
            b->label ? ", label " : "", b->label ? b->label : "");
    print_setup(f, a, b);
    fprintf(f, "  " COL_NAME " %12s %12s %8s\n", "", "a", "b", "b/a");
    fprintf(f, "end-to-end latency ms, all streams\n");
    rows_dist(f, "", &a->latency, &b->latency);
    fprintf(f, "throughput and frames, all streams\n");
    row(f, "throughput fps", a->throughput_fps, b->throughput_fps, false);
    rows_counts(f, "", &a->total, &b->total);
    fprintf(f, "stages ms (p50, p99, max)\n");
    for (int i = 0; i < QP_BENCH_STAGE_COUNT; i++) {
        static const enum dkey shown[] = {DK_P50, DK_P99, DK_MAX};
        for (size_t k = 0; k < sizeof shown / sizeof shown[0]; k++) {
            char name[96];
            snprintf(name, sizeof name, "%s %s", qp_bench_stage_name((enum qp_bench_stage)i),
                     dlabels[shown[k]]);
            row(f, name, a->stage[i].v[shown[k]], b->stage[i].v[shown[k]], false);
        }
    }
    fprintf(f, "server overhead ms (end to end - inference)\n");
    rows_dist(f, "", &a->overhead, &b->overhead);
    print_streams(f, a, b);
}

enum qp_status qp_bench_compare(const char *path_a, const char *path_b, FILE *out,
                                struct qp_err *err)
{
    struct report  a = {0}, b = {0}; /* ~11 KiB each */
    enum qp_status st = load(path_a, &a, err);
    if (st == QP_OK)
        st = load(path_b, &b, err);
    if (st == QP_OK)
        print(out, &a, &b);
    qp_json_free(a.doc);
    qp_json_free(b.doc);
    return st;
}
