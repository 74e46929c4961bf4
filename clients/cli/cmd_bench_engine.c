// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_bench_engine.c - `qpercept bench-engine`: time qp_engine_run on one
 * model at one or more batch sizes; also the harness behind
 * bench/cpu_vs_ort.py, quant_vs_ort.py and scripts/gpu-check.sh (built a
 * second time as build/bench/bench_engine, the same code).
 *
 *   qpercept bench-engine MODEL [--batch 1,2,4,6,8] [--runs 50] [--warmup 5]
 *                [--threads N] [--json OUT] [--layers [--top 10]]
 *                [--backend cpu|cuda|auto]
 *
 * Per batch size b, opens MODEL at batch b (qp_engine_options.batch: its
 * own engine, its own CUDA graph) on the backend (default cpu) with N
 * threads (0: one per online CPU),
 * fills every input once with a fixed pseudo-random pattern (seeded, so
 * every run of the program sees the same bytes), runs --warmup untimed
 * iterations, then times each of --runs iterations with the monotonic clock.
 * Prints one summary line per batch size (median, p90, p99, images/s; with
 * --layers also time per op type and the --top slowest nodes) and, with
 * --json, writes median, p90, p99, mean, min and max in milliseconds
 * (nearest-rank percentiles) and the samples: the first batch size at the
 * top level (the format the scripts read), every one under "batches". Only
 * the model's base name goes into the JSON: results are committed, paths
 * are not.
 * On the CUDA backend inputs are uploaded once too, and a timed run is
 * qp_engine_run: the node launches (a CUDA graph replay from the second run
 * on), one stream synchronisation that also brings back the saturation
 * counters, then one synchronous download per output into the engine's
 * host buffers. Timing policy lives here, comparison policy in the scripts
 * (cpu_vs_ort.py, scripts/gpu-check.sh).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/alloc.h"
#include "core/log.h"
#include "qpercept/engine.h"

enum { MAX_BATCHES = 16 };

struct args {
    const char          *model, *json;
    int                  runs, warmup, threads, top;
    enum qp_backend_kind backend;
    bool                 layers; /* per-op and per-node time table (the top slowest nodes) */
    int                  batch[MAX_BATCHES], n_batch;
};

struct stats {
    double median, p90, p99, mean, min, max;
};

static int usage(void)
{
    fprintf(stderr, "usage: bench-engine MODEL [--batch 1,2,4,6,8] [--runs N] [--warmup N] "
                    "[--threads N] [--json OUT] [--layers [--top N]] [--backend cpu|cuda|auto]\n");
    return 2;
}

static bool parse_int(const char *s, int lo, int hi, int *out)
{
    long v;
    if (!qp_cli_parse_int(s, lo, hi, &v))
        return false;
    *out = (int)v;
    return true;
}

/* Integer options: one row each, parsed by one loop. */
static const struct {
    const char *name;
    size_t      offset; /* of the int in struct args */
    int         lo, hi;
} int_options[] = {
    {"--runs", offsetof(struct args, runs), 1, 1000000},
    {"--warmup", offsetof(struct args, warmup), 0, 1000000},
    {"--threads", offsetof(struct args, threads), 0, 4096},
    {"--top", offsetof(struct args, top), 1, 1000000},
};

static bool parse_option(const char *opt, const char *val, struct args *a)
{
    if (strcmp(opt, "--json") == 0) {
        a->json = val;
        return true;
    }
    if (strcmp(opt, "--batch") == 0) { /* sizes, comma-separated */
        char buf[256], *save = NULL;
        if (strlen(val) >= sizeof buf)
            return false;
        memcpy(buf, val, strlen(val) + 1);
        a->n_batch = 0;
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
            if (a->n_batch == MAX_BATCHES || !parse_int(t, 1, 4096, &a->batch[a->n_batch++]))
                return false;
        return a->n_batch > 0;
    }
    if (strcmp(opt, "--backend") == 0)
        return qp_cli_parse_backend(val, &a->backend);
    for (size_t k = 0; k < sizeof int_options / sizeof int_options[0]; k++)
        if (strcmp(opt, int_options[k].name) == 0)
            return parse_int(val, int_options[k].lo, int_options[k].hi,
                             (int *)((char *)a + int_options[k].offset));
    return false;
}

static bool parse_args(int argc, char **argv, struct args *a)
{
    *a = (struct args){NULL, NULL, 50, 5, 0, 10, QP_BACKEND_CPU, false, {1}, 1};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--layers") == 0) {
            a->layers = true;
        } else if (argv[i][0] != '-') {
            if (a->model)
                return false;
            a->model = argv[i];
        } else if (i + 1 >= argc || !parse_option(argv[i], argv[i + 1], a)) {
            fprintf(stderr, "bench-engine: bad option %s\n", argv[i]);
            return false;
        } else {
            i++;
        }
    }
    return a->model != NULL;
}

/* xorshift64*: a fixed, portable pseudo-random stream. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

/* Image-like values: f32 in [0, 255), f16 in [0.5, 1), small integers, 0/1. */
static void fill_random(enum qp_dtype t, void *buf, size_t n, uint64_t *s)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t r = next_random(s);
        switch (t) {
        case QP_DTYPE_F32:
            ((float *)buf)[i] = (float)(r >> 40) * (255.0f / 16777216.0f);
            break;
        case QP_DTYPE_F16:
            ((uint16_t *)buf)[i] = (uint16_t)(0x3800u | (r >> 54));
            break;
        case QP_DTYPE_I8:
            ((int8_t *)buf)[i] = (int8_t)(r >> 61);
            break;
        case QP_DTYPE_U8:
            ((uint8_t *)buf)[i] = (uint8_t)(r >> 56);
            break;
        case QP_DTYPE_I32:
            ((int32_t *)buf)[i] = (int32_t)(r >> 62);
            break;
        case QP_DTYPE_I64:
            ((int64_t *)buf)[i] = (int64_t)(r >> 62);
            break;
        case QP_DTYPE_BOOL:
            ((uint8_t *)buf)[i] = (uint8_t)(r >> 63);
            break;
        case QP_DTYPE_COUNT:
            break;
        }
    }
}

static int fill_inputs(struct qp_engine *e)
{
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    for (int32_t i = 0; i < qp_engine_n_inputs(e); i++) {
        struct qp_tensor_info info;
        struct qp_err         err = {{0}};
        qp_engine_input_info(e, i, &info);
        size_t n = 1;
        for (int32_t d = 0; d < info.rank; d++)
            n *= (size_t)info.dims[d];
        size_t nbytes = n * qp_dtype_size(info.dtype);
        void  *buf    = qp_alloc(nbytes);
        if (!buf) {
            fprintf(stderr, "bench-engine: %zu bytes for input '%s'\n", nbytes, info.name);
            return 1;
        }
        fill_random(info.dtype, buf, n, &seed);
        enum qp_status st = qp_engine_set_input(e, i, buf, nbytes, &err);
        qp_free(buf);
        if (st != QP_OK) {
            fprintf(stderr, "bench-engine: input '%s': %s\n", info.name, err.msg);
            return 1;
        }
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted ms[n]. */
static double percentile(const double *ms, int n, double p)
{
    int k = (int)ceil(p * n) - 1;
    return ms[k < 0 ? 0 : k >= n ? n - 1 : k];
}

static struct stats summarise(double *ms, int n)
{
    struct stats s = {0};
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    for (int i = 0; i < n; i++)
        s.mean += ms[i] / n;
    s.median = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
    s.p90    = percentile(ms, n, 0.90);
    s.p99    = percentile(ms, n, 0.99);
    s.min    = ms[0];
    s.max    = ms[n - 1];
    return s;
}

static int time_runs(struct qp_engine *e, const struct args *a, double *ms)
{
    struct qp_err err = {{0}};
    for (int i = 0; i < a->warmup + a->runs; i++) {
        int64_t t0 = qp_clock_ns();
        if (qp_engine_run(e, &err) != QP_OK) {
            fprintf(stderr, "bench-engine: run %d: %s\n", i, err.msg);
            return 1;
        }
        if (i >= a->warmup)
            ms[i - a->warmup] = (double)(qp_clock_ns() - t0) / 1e6;
    }
    return 0;
}

struct node_time {
    int64_t ns;
    int32_t node;
};

static int slower_first(const void *a, const void *b)
{
    const struct node_time *x = a, *y = b;
    return x->ns != y->ns ? (x->ns < y->ns ? 1 : -1) : x->node - y->node;
}

/* Time per op type (sorted, with share of the total) and the top slowest
 * nodes, as milliseconds per run. */
static void print_layers(const struct qp_engine *e, int top)
{
    enum { MAX_OPS = 64 };
    struct {
        const char *op;
        int64_t     ns;
        int         n;
    } ops[MAX_OPS];
    int                    n_ops = 0;
    int64_t                total = 0, runs = 1;
    struct qp_node_profile p;
    int32_t                n  = qp_engine_n_nodes(e);
    struct node_time      *by = qp_calloc((size_t)n + 1, sizeof *by);
    int32_t                nb = 0;
    for (int32_t i = 0; i < n && qp_engine_node_profile(e, i, &p); i++) {
        int k = 0;
        while (k < n_ops && strcmp(ops[k].op, p.op) != 0)
            k++;
        if (k == n_ops && n_ops < MAX_OPS)
            ops[n_ops++] = (__typeof__(ops[0])){p.op, 0, 0};
        if (k < n_ops) {
            ops[k].ns += p.total_ns;
            ops[k].n++;
        }
        total += p.total_ns;
        runs = p.runs ? p.runs : 1;
        if (by)
            by[nb++] = (struct node_time){p.total_ns, i};
    }
    for (int a = 0; a < n_ops; a++) /* insertion sort, slowest first */
        for (int b = a; b > 0 && ops[b].ns > ops[b - 1].ns; b--) {
            __typeof__(ops[0]) t = ops[b];
            ops[b]               = ops[b - 1];
            ops[b - 1]           = t;
        }
    printf("%-20s %6s %10s %7s\n", "op", "nodes", "ms/run", "share");
    for (int k = 0; k < n_ops; k++)
        printf("%-20s %6d %10.3f %6.1f%%\n", ops[k].op, ops[k].n,
               (double)ops[k].ns / 1e6 / (double)runs,
               100.0 * (double)ops[k].ns / (double)(total ? total : 1));
    if (!by) {
        fprintf(stderr, "bench-engine: out of memory for the node table\n");
        return;
    }
    qsort(by, (size_t)nb, sizeof *by, slower_first);
    printf("\nslowest nodes:\n");
    for (int32_t r = 0; r < top && r < nb; r++) {
        qp_engine_node_profile(e, by[r].node, &p);
        printf("  %-40s %-14s %8.3f ms\n", p.name, p.op, (double)p.total_ns / 1e6 / (double)runs);
    }
    qp_free(by);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* One batch size's result. */
struct result {
    int          batch;
    size_t       arena_bytes;
    const char  *backend;
    struct stats s;
    double      *ms; /* [runs] */
};

static void json_stats(FILE *f, const struct args *a, const struct result *r, const char *indent)
{
    fprintf(f,
            "%s\"batch\": %d,\n%s\"images_per_s\": %.2f,\n%s\"arena_bytes\": %zu,\n"
            "%s\"ms\": {\"median\": %.4f, \"p90\": %.4f, \"p99\": %.4f, \"mean\": %.4f, "
            "\"min\": %.4f, \"max\": %.4f},\n%s\"samples_ms\": [",
            indent, r->batch, indent, r->batch * 1000.0 / r->s.median, indent, r->arena_bytes,
            indent, r->s.median, r->s.p90, r->s.p99, r->s.mean, r->s.min, r->s.max, indent);
    for (int i = 0; i < a->runs; i++)
        fprintf(f, "%s%.4f", i ? ", " : "", r->ms[i]);
    fprintf(f, "]");
}

static int write_json(const struct args *a, const struct result *r, int n)
{
    QP_ASSERT(n > 0); /* parse_args wants at least one batch size */
    FILE *f = fopen(a->json, "w");
    if (!f) {
        fprintf(stderr, "bench-engine: create %s: %s\n", a->json, strerror(errno));
        return 1;
    }
    fprintf(f,
            "{\n  \"model\": \"%s\",\n  \"backend\": \"%s\",\n  \"threads\": %d,\n"
            "  \"runs\": %d,\n  \"warmup\": %d,\n",
            base_name(a->model), r[0].backend, a->threads, a->runs, a->warmup);
    json_stats(f, a, &r[0], "  ");
    fprintf(f, ",\n  \"batches\": [");
    for (int k = 0; k < n; k++) {
        fprintf(f, "%s\n    {\n", k ? "," : "");
        json_stats(f, a, &r[k], "      ");
        fprintf(f, "\n    }");
    }
    fprintf(f, "\n  ]\n}\n");
    if (fclose(f) != 0) {
        fprintf(stderr, "bench-engine: write %s: %s\n", a->json, strerror(errno));
        return 1;
    }
    return 0;
}

/* Open, fill, time one batch size into r (r->ms allocated by the caller). */
static int bench_one(const struct args *a, int batch, struct result *r)
{
    struct qp_engine_options opt = QP_ENGINE_OPTIONS_DEFAULT;
    struct qp_engine        *e   = NULL;
    struct qp_err            err = {{0}};
    opt.backend                  = a->backend;
    opt.n_threads                = a->threads;
    opt.profile                  = a->layers;
    opt.batch                    = batch;
    if (qp_engine_open(a->model, &opt, &e, &err) != QP_OK) {
        fprintf(stderr, "bench-engine: %s\n", err.msg);
        return 1;
    }
    int rc = fill_inputs(e);
    if (rc == 0)
        rc = time_runs(e, a, r->ms);
    if (rc == 0) {
        r->batch       = batch;
        r->arena_bytes = qp_engine_arena_bytes(e);
        r->backend     = qp_engine_backend_name(e); /* a static string */
        r->s           = summarise(r->ms, a->runs);
        printf("bench-engine %s: batch %d, %d runs, %d threads: median %.3f ms, p90 %.3f, "
               "p99 %.3f, mean %.3f, min %.3f; %.1f images/s\n",
               base_name(a->model), batch, a->runs, a->threads, r->s.median, r->s.p90, r->s.p99,
               r->s.mean, r->s.min, batch * 1000.0 / r->s.median);
        if (a->layers)
            print_layers(e, a->top);
    }
    qp_engine_free(e);
    return rc;
}

int qp_cli_bench_engine(int argc, char **argv)
{
    struct args a;
    if (!parse_args(argc, argv, &a))
        return usage();
    struct result r[MAX_BATCHES];
    double       *ms = qp_calloc((size_t)a.runs * (size_t)a.n_batch, sizeof *ms);
    int           rc = ms ? 0 : 1;
    for (int k = 0; rc == 0 && k < a.n_batch; k++) {
        r[k].ms = ms + (size_t)k * (size_t)a.runs;
        rc      = bench_one(&a, a.batch[k], &r[k]);
    }
    if (rc == 0 && a.json)
        rc = write_json(&a, r, a.n_batch);
    qp_free(ms);
    return rc;
}
