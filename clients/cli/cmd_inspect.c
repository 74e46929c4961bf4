// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_inspect.c - `qpercept inspect MODEL.onnx|ENGINE.qpe`: what a model or
 * engine file holds and whether the engine can open it (and with what
 * activation arena), or why not.
 *
 * An ONNX model: inputs, outputs, op histogram (with what the engine does
 * not support), parameters. An engine file (told by its magic): format
 * version, target, precision, producer, creation time, source model and its
 * sha256, calibration sha256, the graph's inputs, outputs and op histogram,
 * constant (weight) bytes per dtype, and the build's per-layer report. The
 * file is loaded with every check qp_qpe_load makes (checksum included), so
 * a damaged file is an error naming it, exit 1. --json prints the same
 * fields as one object.
 */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "graph/graph.h"
#include "onnx/onnx.h"
#include "qpe/qpe.h"

static void print_io(const char *what, const struct qp_onnx_io *io, int32_t n, bool json)
{
    for (int32_t i = 0; i < n; i++) {
        char dims[160];
        qp_dims_str(io[i].dims, io[i].rank, dims, sizeof dims);
        if (json)
            printf("%s{\"name\":\"%s\",\"dtype\":\"%s\",\"dims\":%s}", i ? "," : "", io[i].name,
                   io[i].dtype < QP_DTYPE_COUNT ? qp_dtype_name(io[i].dtype) : "other", dims);
        else
            printf("  %-7s %-32s %-5s %s\n", what, io[i].name,
                   io[i].dtype < QP_DTYPE_COUNT ? qp_dtype_name(io[i].dtype) : "other", dims);
    }
}

static void print_text(const char *path, const struct qp_onnx_info *m)
{
    printf("%s\n  producer %s, ir_version %lld, opset %lld\n", path, m->producer,
           (long long)m->ir_version, (long long)m->opset);
    printf("  %d nodes, %d initializers, %lld parameters (%.2f MiB)\n", (int)m->n_nodes,
           (int)m->n_initializers, (long long)m->n_params, (double)m->param_bytes / 1048576.0);
    print_io("input", m->inputs, m->n_inputs, false);
    print_io("output", m->outputs, m->n_outputs, false);
    printf("  ops:\n");
    int unsupported = 0;
    for (int32_t i = 0; i < m->n_ops; i++) {
        printf("    %-28s %5d%s\n", m->ops[i].op_type, (int)m->ops[i].count,
               m->ops[i].supported ? "" : "  (not supported)");
        unsupported += !m->ops[i].supported;
    }
    printf("  unsupported op types: %d\n", unsupported);
}

static void print_json(const struct qp_onnx_info *m)
{
    printf("{\"producer\":\"%s\",\"ir_version\":%lld,\"opset\":%lld,\"nodes\":%d,"
           "\"parameters\":%lld,\"parameter_bytes\":%lld,\"inputs\":[",
           m->producer, (long long)m->ir_version, (long long)m->opset, (int)m->n_nodes,
           (long long)m->n_params, (long long)m->param_bytes);
    print_io("input", m->inputs, m->n_inputs, true);
    printf("],\"outputs\":[");
    print_io("output", m->outputs, m->n_outputs, true);
    printf("],\"ops\":[");
    for (int32_t i = 0; i < m->n_ops; i++)
        printf("%s{\"op\":\"%s\",\"count\":%d,\"supported\":%s}", i ? "," : "", m->ops[i].op_type,
               (int)m->ops[i].count, m->ops[i].supported ? "true" : "false");
    printf("]");
}

/* s as a JSON string (quotes included): escapes quotes, backslashes and
 * control characters (the report holds newlines). */
static void json_str(const char *s)
{
    putchar('"');
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            printf("\\%c", *c);
        else if (*c == '\n')
            fputs("\\n", stdout);
        else if (*c < 0x20)
            printf("\\u%04x", *c);
        else
            putchar(*c);
    }
    putchar('"');
}

/* Can the engine open path on the CPU? Says how, or why not; the status. */
static enum qp_status engine_check(const char *path, bool json)
{
    struct qp_engine        *e   = NULL;
    struct qp_err            err = {{0}};
    struct qp_engine_options opt = QP_ENGINE_OPTIONS_DEFAULT;
    opt.backend                  = QP_BACKEND_CPU;
    opt.n_threads                = 1;
    enum qp_status st            = qp_engine_open(path, &opt, &e, &err);
    if (json) {
        printf(",\"engine\":{\"ok\":%s,\"arena_bytes\":%zu,\"error\":",
               st == QP_OK ? "true" : "false", st == QP_OK ? qp_engine_arena_bytes(e) : (size_t)0);
        json_str(st == QP_OK ? "" : err.msg);
        printf("}}\n");
    } else if (st == QP_OK)
        printf("  engine: opens on the cpu backend; activation arena %.2f MiB (%zu bytes)\n",
               (double)qp_engine_arena_bytes(e) / 1048576.0, qp_engine_arena_bytes(e));
    else
        printf("  engine: cannot open: %s\n", err.msg);
    qp_engine_free(e);
    return st;
}

static int inspect_onnx(const char *path, bool json)
{
    struct qp_onnx_info m;
    struct qp_err       err = {{0}};
    if (qp_onnx_inspect(path, &m, &err) != QP_OK) {
        fprintf(stderr, "qpercept inspect: %s\n", err.msg);
        return 1;
    }
    json ? print_json(&m) : print_text(path, &m);
    qp_onnx_info_fini(&m);
    return engine_check(path, json) == QP_OK ? 0 : 1;
}

/* ===== engine files ===== */

/* What the graph of an engine file holds, counted once for both outputs. */
struct qpe_summary {
    int32_t n_nodes, n_constants;
    int32_t ops[QP_OP_COUNT];            /* live nodes per op */
    size_t  const_bytes[QP_DTYPE_COUNT]; /* constant bytes per dtype */
    size_t  const_total;
};

static void summarize(const struct qp_graph *g, struct qpe_summary *s)
{
    memset(s, 0, sizeof *s);
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct qp_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        QP_ASSERT((int)n->op >= 0 && n->op < QP_OP_COUNT); /* qp_qpe_load bounds every op */
        s->n_nodes++;
        s->ops[n->op]++;
    }
    for (int32_t i = 0; i < g->n_tensors; i++) {
        const struct qp_tensor *t = &g->tensors[i];
        if (!(t->flags & QP_TENSOR_CONST))
            continue;
        QP_ASSERT((int)t->dtype >= 0 && t->dtype < QP_DTYPE_COUNT);
        s->n_constants++;
        s->const_bytes[t->dtype] += qp_tensor_nbytes(t);
        s->const_total += qp_tensor_nbytes(t);
    }
}

static void utc_time(int64_t t, char *buf, size_t n)
{
    time_t    tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(buf, n, "?");
}

static void print_tensors(const struct qp_graph *g, const int32_t *idx, int32_t n, const char *what,
                          bool json)
{
    for (int32_t i = 0; i < n; i++) {
        const struct qp_tensor *t = &g->tensors[idx[i]];
        char                    dims[160];
        qp_dims_str(t->dims, t->rank, dims, sizeof dims);
        if (json) {
            printf("%s{\"name\":", i ? "," : "");
            json_str(t->name);
            printf(",\"dtype\":\"%s\",\"dims\":%s}", qp_dtype_name(t->dtype), dims);
        } else
            printf("  %-7s %-32s %-5s %s\n", what, t->name, qp_dtype_name(t->dtype), dims);
    }
}

/* A cuda tuning text: its lines (one per GEMM) and the first line's
 * cuBLASLt version, its third TAB-separated field (backend_cuda.c). */
static int tuning_lines(const char *text, unsigned long long *version)
{
    int n = 0;
    for (const char *c = text; *c; c++)
        n += *c == '\n';
    const char *t = strchr(text, '\t');
    t             = t ? strchr(t + 1, '\t') : NULL;
    *version      = t ? strtoull(t + 1, NULL, 10) : 0;
    return n;
}

static void qpe_text(const char *path, const struct qp_graph *g, const struct qp_qpe_meta *m,
                     const struct qpe_summary *s)
{
    char when[64];
    utc_time(m->created_unix, when, sizeof when);
    printf("%s\n  engine file, format version %u, target %s, precision %s\n", path, QP_QPE_VERSION,
           m->target, m->precision);
    printf("  producer %s, created %s (%lld)\n", m->producer, when, (long long)m->created_unix);
    unsigned long long v = 0;
    int                n = m->tuning ? tuning_lines(m->tuning, &v) : 0;
    if (m->tuning)
        printf("  tuning: %d GEMM algorithms chosen on this target (cuBLASLt %llu)\n", n, v);
    printf("  source model %s\n  model sha256 %s\n  calibration sha256 %s\n",
           m->source[0] ? m->source : "(not recorded)", m->model_sha256,
           m->calib_sha256[0] ? m->calib_sha256 : "none (not calibrated)");
    printf("  %d nodes, %d constants: %zu bytes (%.2f MiB) of weights and other constants\n",
           (int)s->n_nodes, (int)s->n_constants, s->const_total,
           (double)s->const_total / 1048576.0);
    for (int d = 0; d < QP_DTYPE_COUNT; d++)
        if (s->const_bytes[d])
            printf("    %-5s %12zu bytes\n", qp_dtype_name((enum qp_dtype)d), s->const_bytes[d]);
    print_tensors(g, g->inputs, g->n_inputs, "input", false);
    print_tensors(g, g->outputs, g->n_outputs, "output", false);
    printf("  ops:\n");
    for (int op = 0; op < QP_OP_COUNT; op++)
        if (s->ops[op])
            printf("    %-28s %5d\n", qp_op_name((enum qp_op)op), (int)s->ops[op]);
    if (m->report && m->report[0]) {
        printf("  build report:\n");
        for (const char *l = m->report; *l;) {
            size_t k = strcspn(l, "\n");
            printf("    %.*s\n", (int)k, l);
            l += k + (l[k] == '\n');
        }
    } else
        printf("  build report: none stored\n");
}

static void qpe_json(const char *path, const struct qp_graph *g, const struct qp_qpe_meta *m,
                     const struct qpe_summary *s)
{
    char when[64];
    utc_time(m->created_unix, when, sizeof when);
    printf("{\"file\":");
    json_str(path);
    printf(",\"format\":\"qpe\",\"format_version\":%u,\"target\":", QP_QPE_VERSION);
    json_str(m->target);
    printf(",\"precision\":\"%s\",\"producer\":", m->precision);
    json_str(m->producer);
    printf(",\"created_unix\":%lld,\"created_utc\":\"%s\",\"source\":", (long long)m->created_unix,
           when);
    json_str(m->source);
    unsigned long long v = 0;
    int                n = m->tuning ? tuning_lines(m->tuning, &v) : 0;
    if (m->tuning)
        printf(",\"tuning\":{\"gemms\":%d,\"cublaslt_version\":%llu}", n, v);
    else
        printf(",\"tuning\":null");
    printf(",\"model_sha256\":\"%s\",\"calib_sha256\":", m->model_sha256);
    if (m->calib_sha256[0])
        printf("\"%s\"", m->calib_sha256);
    else
        printf("null");
    printf(",\"nodes\":%d,\"constants\":%d,\"constant_bytes\":%zu,\"constant_bytes_by_dtype\":{",
           (int)s->n_nodes, (int)s->n_constants, s->const_total);
    for (int d = 0, k = 0; d < QP_DTYPE_COUNT; d++)
        if (s->const_bytes[d])
            printf("%s\"%s\":%zu", k++ ? "," : "", qp_dtype_name((enum qp_dtype)d),
                   s->const_bytes[d]);
    printf("},\"inputs\":[");
    print_tensors(g, g->inputs, g->n_inputs, "input", true);
    printf("],\"outputs\":[");
    print_tensors(g, g->outputs, g->n_outputs, "output", true);
    printf("],\"ops\":[");
    for (int op = 0, k = 0; op < QP_OP_COUNT; op++)
        if (s->ops[op])
            printf("%s{\"op\":\"%s\",\"count\":%d}", k++ ? "," : "", qp_op_name((enum qp_op)op),
                   (int)s->ops[op]);
    printf("],\"report\":");
    if (m->report)
        json_str(m->report);
    else
        printf("null");
}

static int inspect_engine(const char *path, bool json)
{
    struct qp_graph    g;
    struct qp_qpe_meta m;
    struct qp_err      err = {{0}};
    qp_graph_init(&g, path);
    if (qp_qpe_load(path, NULL, &g, &m, &err) != QP_OK) {
        fprintf(stderr, "qpercept inspect: %s\n", err.msg);
        qp_graph_fini(&g);
        return 1;
    }
    struct qpe_summary s;
    summarize(&g, &s);
    json ? qpe_json(path, &g, &m, &s) : qpe_text(path, &g, &m, &s);
    qp_qpe_meta_fini(&m);
    qp_graph_fini(&g);
    (void)fflush(stdout);
    return engine_check(path, json) == QP_OK ? 0 : 1;
}

int qp_cli_inspect(int argc, char **argv)
{
    const char *path = NULL;
    bool        json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else {
            fprintf(stderr, "qpercept inspect: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "usage: qpercept inspect MODEL.onnx|ENGINE.qpe [--json]\n");
        return 2;
    }
    return qp_qpe_is_engine(path) ? inspect_engine(path, json) : inspect_onnx(path, json);
}
