// SPDX-License-Identifier: Apache-2.0
/*
 * backend_cuda.c - the CUDA backend (backend.h): the op table below driven
 * through the backend contract, on one device and one stream.
 *
 * init     device 0, a stream, a cuBLASLt handle and its workspace.
 * supports the op table's row; the engine falls back to the CPU (auto) or
 *          refuses (--backend cuda) when any node is not supported.
 * prepare  per node, on the host: its plan in the graph's arena (n->prep)
 *          and its workspace bytes; constants a kernel reads (packed
 *          weights, folded epilogues, tables, constant inputs) are copied to
 *          the device here, one allocation each, kept until fini.
 * alloc    the activation arena (one cudaMalloc), per-node pointer tables,
 *          saturation counters, and the cuBLASLt algorithm of every GEMM
 *          (the heuristic's candidates timed on the node's own buffers).
 * run      enqueues every node's kernels on the stream and returns: no
 *          allocation, no synchronisation. The first run is eager; after it
 *          completed, the whole graph is captured once into a CUDA graph and
 *          each run is one graph launch (eager again, with one log line, if
 *          capture fails). wait() synchronises once per run and reports what
 *          failed on the device. With opt->profile runs stay eager and a
 *          pair of events around every node gives its time (node_ns).
 * upload / download are synchronous copies outside run().
 * reserve_frames / set_image / zero: camera frames for the detector,
 *          staged in pinned memory allocated before the first frame, the
 *          frames of a batch one after another; only their bytes cross the
 *          bus (the host's copy of one frame overlaps the bus transfer of
 *          the one before), and one pre-processing kernel per image writes
 *          its part of the input on the run's stream.
 *
 * The arithmetic is the CPU's (kernels.h): INT8 nodes produce the CPU
 * backend's bytes; float nodes (convolutions through cuBLASLt FP32,
 * element-wise ops, activations) agree within rounding. Ops without a row
 * here (Softmax, Gemm, Pad, AveragePool ...) are not supported yet:
 * such graphs run on the CPU (auto) or are refused (cuda).
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include "backend.h"

#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "cpu/kernels.h" /* qp_cpu_resize_supports */
#include "cuda_plan.h"
#include "cuda_conv.h"
#include "kernels.h"
#include "lt_gemm.h"
#include "quant/quant.h"
#include "share.h"

/* Camera frames staged for their pre-processing on the device: pinned
 * memory and its device twin of `bytes`, holding the frames of a batch in
 * order, each FRAME_HEAD bytes (the norm tables) then its pixels, 256-byte
 * aligned. An engine's own, or one for all the engines of a share, which
 * take turns (share.h): the last batch's copies and kernels are done
 * before another engine stages its first frame. */
struct cuda_frames {
    unsigned char *host, *dev;
    size_t         bytes;
    size_t         used;   /* by the batch being staged */
    int32_t        next;   /* the image set_image expects next */
    cudaEvent_t    staged; /* the last staging copy is done */
};

struct cuda_ctx {
    cudaStream_t          st;
    cublasLtHandle_t      lt;
    void                 *lt_ws;
    size_t                lt_ws_bytes;
    unsigned char        *arena;
    void                **consts; /* device copies made by prepare, freed at fini */
    int32_t               n_consts, cap_consts;
    void                **ptrs;  /* per node: n_in then n_out device pointers */
    int32_t              *first; /* per node: its first pointer */
    int32_t               n_nodes;
    unsigned long long   *sat_dev;  /* per node: saturated outputs, summed on the device */
    int64_t              *sat;      /* wait()'s copy (same width; counts stay below 2^63) */
    int64_t               runs;
    bool                  profile;    /* per-node times: eager runs, events around nodes */
    cudaEvent_t          *events;     /* profile: per node, start and end */
    int64_t              *node_ns;    /* profile: per node, summed over runs */
    bool                  verified;   /* an eager run completed: the graph may be captured */
    bool                  no_graph;   /* capture failed once: stay eager (logged) */
    cudaGraphExec_t       graph;      /* every node, captured once, replayed per run */
    struct cuda_frames     *fr;    /* own, or the share's */
    struct qp_engine_share *share; /* a reference, or NULL */
    char                  target[32]; /* "cuda sm_90": this device's */
    char                 *stored;     /* an engine file's tuning (set_tuning), or NULL */
    int32_t               n_reused, n_tuned; /* GEMM algorithms: stored ones kept, chosen */
};

#define FRAME_HEAD (((sizeof(struct qp_pre_norm) + 255) / 256) * 256)

struct cuda_exec {
    struct cuda_ctx       *c;
    const struct qp_graph *g;
    const struct qp_node  *n;
    void *const           *in, *const *out;
    void                  *ws;
    unsigned long long    *sat; /* this node's counter, or NULL */
};

struct cuda_op {
    bool (*supports)(const struct qp_graph *g, const struct qp_node *n);
    enum qp_status (*prepare)(struct cuda_ctx *c, struct qp_graph *g, struct qp_node *n,
                              struct qp_err *err);
    cudaError_t (*run)(const struct cuda_exec *x, struct qp_err *err);
};

/* ===== helpers ===== */

static enum qp_status cuda_fail(struct qp_err *err, cudaError_t e, const char *what)
{
    return qp_fail(err, QP_E_CUDA, "cuda backend: %s: %s", what, cudaGetErrorString(e));
}

static const struct qp_tensor *in_t(const struct qp_graph *g, const struct qp_node *n, int32_t k)
{
    return &g->tensors[n->in[k]];
}

static const struct qp_tensor *out_t(const struct qp_graph *g, const struct qp_node *n, int32_t k)
{
    return &g->tensors[n->out[k]];
}

/* A device copy of n bytes of host memory, owned by the context. */
static enum qp_status dev_copy(struct cuda_ctx *c, const void *host, size_t n, void **out,
                               struct qp_err *err)
{
    if (c->n_consts == c->cap_consts) {
        int32_t cap = c->cap_consts ? 2 * c->cap_consts : 64;
        void  **p   = qp_realloc(c->consts, (size_t)cap * sizeof *p);
        if (!p)
            return qp_fail(err, QP_E_NOMEM, "cuda backend: out of memory");
        c->consts = p, c->cap_consts = cap;
    }
    void       *d = NULL;
    cudaError_t e = cudaMalloc(&d, n ? n : 1);
    if (e == cudaSuccess && n)
        e = cudaMemcpy(d, host, n, cudaMemcpyHostToDevice);
    if (e != cudaSuccess) {
        if (d)
            (void)cudaFree(d);
        return cuda_fail(err, e, "copying constants to the device");
    }
    c->consts[c->n_consts++] = d;
    *out                     = d;
    return QP_OK;
}

static bool same_numel(const struct qp_graph *g, const struct qp_node *n)
{
    for (int32_t k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && qp_tensor_numel(in_t(g, n, k)) != qp_tensor_numel(out_t(g, n, 0)))
            return false;
    return n->n_out == 1;
}

static bool nhwc4(const struct qp_tensor *t)
{
    return t->rank == 4 && t->layout == QP_LAYOUT_NHWC;
}

/* ===== element-wise INT8 ===== */

static bool quantize_supports(const struct qp_graph *g, const struct qp_node *n)
{
    return n->n_in == 1 && same_numel(g, n) && in_t(g, n, 0)->dtype == QP_DTYPE_F32 &&
           qp_tensor_is_quantized(out_t(g, n, 0));
}

static cudaError_t quantize_run(const struct cuda_exec *x, struct qp_err *err)
{
    const struct qp_tensor *y = out_t(x->g, x->n, 0);
    return qp_cuda_quantize(x->in[0], x->out[0], qp_tensor_numel(y), y->scale, y->zero_point,
                            x->sat, x->c->st);
}

static bool dequantize_supports(const struct qp_graph *g, const struct qp_node *n)
{
    return n->n_in == 1 && same_numel(g, n) && qp_tensor_is_quantized(in_t(g, n, 0)) &&
           out_t(g, n, 0)->dtype == QP_DTYPE_F32;
}

static cudaError_t dequantize_run(const struct cuda_exec *x, struct qp_err *err)
{
    const struct qp_tensor *q = in_t(x->g, x->n, 0);
    return qp_cuda_dequantize(x->in[0], x->out[0], qp_tensor_numel(q), q->scale, q->zero_point,
                              x->c->st);
}

static bool qadd_supports(const struct qp_graph *g, const struct qp_node *n)
{
    return n->n_in == 2 && n->in[0] >= 0 && n->in[1] >= 0 && same_numel(g, n) &&
           qp_tensor_is_quantized(in_t(g, n, 0)) && qp_tensor_is_quantized(in_t(g, n, 1)) && qp_tensor_is_quantized(out_t(g, n, 0)) &&
           qp_q_act_is_homogeneous(n->attr.act.act);
}

static enum qp_status qadd_prepare(struct cuda_ctx *c, struct qp_graph *g, struct qp_node *n,
                                   struct qp_err *err)
{
    struct qp_q_add_params *p = qp_arena_alloc(&g->arena, sizeof *p);
    if (!p)
        return qp_fail(err, QP_E_NOMEM, "%s: node '%s': out of memory", g->source, n->name);
    *p      = qp_qadd_params(g, n);
    n->prep = p;
    return QP_OK;
}

static cudaError_t qadd_run(const struct cuda_exec *x, struct qp_err *err)
{
    const struct qp_q_add_params *p = x->n->prep;
    return qp_cuda_qadd(x->in[0], x->in[1], qp_tensor_numel(out_t(x->g, x->n, 0)), *p,
                        x->out[0], x->sat, x->c->st);
}

struct qlut_prep {
    const int8_t *tables; /* device */
    int64_t       channels, inner;
};

static bool qlut_supports(const struct qp_graph *g, const struct qp_node *n)
{
    const struct qp_tensor *x = in_t(g, n, 0);
    for (int32_t k = 1; k < n->n_in; k++)
        if (n->in[k] >= 0 && !(in_t(g, n, k)->flags & QP_TENSOR_CONST))
            return false;
    return n->n_in >= 1 && same_numel(g, n) && qp_tensor_is_quantized(x) && qp_tensor_is_quantized(out_t(g, n, 0)) &&
           (qp_qlut_n_tables(g, n) == 1 || (x->rank >= 2 && (x->layout != QP_LAYOUT_NHWC ||
                                                              x->rank == 4)));
}

static enum qp_status qlut_prepare(struct cuda_ctx *c, struct qp_graph *g, struct qp_node *n,
                                   struct qp_err *err)
{
    int64_t           nt = qp_qlut_n_tables(g, n);
    struct qlut_prep *p  = qp_arena_alloc(&g->arena, sizeof *p);
    int8_t           *t  = qp_arena_alloc(&g->arena, (size_t)nt * 256);
    if (!p || !t)
        return qp_fail(err, QP_E_NOMEM, "%s: node '%s': out of memory", g->source, n->name);
    qp_qlut_build(g, n, t);
    p->channels = nt;
    p->inner    = nt > 1 ? qp_cuda_qlut_inner(g, n) : 1;
    n->prep     = p;
    void          *d = NULL;
    enum qp_status s = dev_copy(c, t, (size_t)nt * 256, &d, err);
    p->tables        = d;
    return s;
}

static cudaError_t qlut_run(const struct cuda_exec *x, struct qp_err *err)
{
    const struct qlut_prep *p = x->n->prep;
    return qp_cuda_qlut(x->in[0], qp_tensor_numel(out_t(x->g, x->n, 0)), p->channels, p->inner,
                        p->tables, x->out[0], x->sat, x->c->st);
}

/* ===== QConv and float Conv ===== */

static bool qconv_supports(const struct qp_graph *g, const struct qp_node *n)
{
    const struct qp_tensor *x = in_t(g, n, 0), *w = in_t(g, n, 1), *y = out_t(g, n, 0);
    bool dw = n->attr.conv.group > 1 && n->attr.conv.group == x->dims[1] &&
              n->attr.conv.group == y->dims[1];
    return qp_tensor_is_quantized(x) && nhwc4(x) && nhwc4(y) && (w->flags & QP_TENSOR_CONST) && w->data &&
           (qp_tensor_is_quantized(y) || (y->dtype == QP_DTYPE_F32 && !dw));
}

/* A float Conv: f32 NHWC in and out, constant f32 weights and bias. */
static bool conv_supports(const struct qp_graph *g, const struct qp_node *n)
{
    const struct qp_tensor *x = in_t(g, n, 0), *w = in_t(g, n, 1), *y = out_t(g, n, 0);
    const struct qp_tensor *b = n->n_in > 2 && n->in[2] >= 0 ? in_t(g, n, 2) : NULL;
    return x->dtype == QP_DTYPE_F32 && y->dtype == QP_DTYPE_F32 && nhwc4(x) && nhwc4(y) &&
           w->dtype == QP_DTYPE_F32 && (w->flags & QP_TENSOR_CONST) && w->data && w->rank == 4 &&
           (!b || (b->dtype == QP_DTYPE_F32 && (b->flags & QP_TENSOR_CONST) && b->data &&
                   qp_tensor_numel(b) == y->dims[1])) &&
           (unsigned)n->attr.conv.act.act < QP_ACT_COUNT;
}

static enum qp_status conv_prepare(struct cuda_ctx *c, struct qp_graph *g, struct qp_node *n,
                                   struct qp_err *err)
{
    struct qp_cuda_conv *q = qp_arena_alloc(&g->arena, sizeof *q);
    if (!q)
        return qp_fail(err, QP_E_NOMEM, "%s: node '%s': out of memory", g->source, n->name);
    enum qp_status s = qp_cuda_conv_plan(g, n, q, err);
    size_t         m = (size_t)q->geo.m * sizeof(float);
    void          *w = NULL, *sc = NULL, *bi = NULL, *po = NULL, *fb = NULL;
    if (s == QP_OK)
        s = dev_copy(c, q->w_host, q->w_bytes, &w, err);
    if (s == QP_OK && !q->f32)
        s = dev_copy(c, q->ep_host.scale, m, &sc, err);
    if (s == QP_OK && q->ep_host.bias)
        s = dev_copy(c, q->ep_host.bias, m, &bi, err);
    if (s == QP_OK && q->ep_host.post)
        s = dev_copy(c, q->ep_host.post, m, &po, err);
    if (s == QP_OK && q->bias_host)
        s = dev_copy(c, q->bias_host, m, &fb, err);
    q->w_dev        = w;
    q->ep_dev       = q->ep_host;
    q->ep_dev.scale = sc, q->ep_dev.bias = bi, q->ep_dev.post = po;
    q->bias_dev     = fb;
    n->prep         = q;
    n->ws_bytes     = s == QP_OK ? qp_cuda_conv_ws_bytes(q) : 0;
    return s;
}

/* A tuning line (tuning()): node name, TAB, the GEMM's m k n dtype, TAB,
 * the cuBLASLt version, then the algorithm's 8 words in hex. */
#define TUNING_LINE "%s\t%lld %lld %lld %d\t%llu %llx %llx %llx %llx %llx %llx %llx %llx\n"

/* The stored algorithm of node name for shape s, if text has one. */
static bool stored_algo(const char *text, const char *name, const struct qp_lt_shape *s,
                        struct qp_lt_algo *out)
{
    size_t len = strlen(name);
    for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        if (strncmp(l, name, len) != 0 || l[len] != '\t')
            continue;
        long long          m, k, n;
        int                dt;
        unsigned long long v, w[8];
        /* NOLINTNEXTLINE(cert-err34-c): shape compared below; cuBLASLt checks the algo */
        if (sscanf(l + len + 1, "%lld %lld %lld %d\t%llu %llx %llx %llx %llx %llx %llx %llx %llx",
                   &m, &k, &n, &dt, &v, &w[0], &w[1], &w[2], &w[3], &w[4], &w[5], &w[6],
                   &w[7]) != 13 ||
            m != s->m || k != s->k || n != s->n || dt != (int)s->dtype)
            return false;
        out->lt_version = v;
        for (int i = 0; i < 8; i++)
            out->data[i] = w[i];
        return true;
    }
    return false;
}

/* The algorithm of every GEMM: an engine file's, where it still fits this
 * device and cuBLASLt, else the fastest candidate timed on the node's own
 * buffers (alloc). */
static enum qp_status conv_tune(struct cuda_ctx *c, const struct qp_graph *g,
                                const struct qp_node *n, void *const *in, void *ws,
                                struct qp_err *err)
{
    struct qp_cuda_conv *q = n->prep;
    if (q->path == QP_CUDA_CONV_DEPTHWISE)
        return QP_OK;
    struct qp_lt_algo algo;
    struct qp_err     why = {0};
    if (c->stored && stored_algo(c->stored, n->name, &q->shape, &algo)) {
        if (qp_lt_gemm_init_algo(&q->gemm, c->lt, &q->shape, &algo, c->lt_ws_bytes, &why) ==
            QP_OK) {
            c->n_reused++;
            return QP_OK;
        }
        qp_log(QP_LOG_INFO, "cuda", "%s: node '%s': stored algorithm not usable (%s): timing "
               "candidates", g->source, n->name, why.msg);
    }
    const void    *a   = q->path == QP_CUDA_CONV_DIRECT ? in[0] : ws;
    void          *acc = (char *)ws + q->ws_a;
    enum qp_status s   = qp_lt_gemm_init(&q->gemm, c->lt, &q->shape, c->lt_ws, c->lt_ws_bytes,
                                         c->st, a, q->w_dev, acc, &why);
    c->n_tuned += s == QP_OK;
    return s == QP_OK ? s
                      : qp_fail(err, s, "%s: node '%s': %s", g->source, n->name, why.msg);
}

static cudaError_t conv_run(const struct cuda_exec *x, struct qp_err *err)
{
    enum qp_status s = qp_cuda_conv_run(x->n->prep, x->n->name, x->c->lt, x->in[0], x->out[0],
                                        x->ws, x->c->lt_ws, x->sat, x->c->st, err);
    return s == QP_OK ? cudaSuccess : cudaErrorLaunchFailure;
}

/* ===== float binary element-wise ===== */

static bool binary_supports(const struct qp_graph *g, const struct qp_node *n)
{
    return n->n_in == 2 && n->in[0] >= 0 && n->in[1] >= 0 && n->n_out == 1 &&
           in_t(g, n, 0)->dtype == QP_DTYPE_F32 && in_t(g, n, 1)->dtype == QP_DTYPE_F32 &&
           out_t(g, n, 0)->dtype == QP_DTYPE_F32 && qp_cuda_bcast_plan(g, n, NULL);
}

static enum qp_status binary_prepare(struct cuda_ctx *c, struct qp_graph *g, struct qp_node *n,
                                     struct qp_err *err)
{
    struct qp_cuda_bcast *p = qp_arena_alloc(&g->arena, sizeof *p);
    if (!p)
        return qp_fail(err, QP_E_NOMEM, "%s: node '%s': out of memory", g->source, n->name);
    qp_cuda_bcast_plan(g, n, p);
    n->prep = p;
    return QP_OK;
}

static cudaError_t binary_run(const struct cuda_exec *x, struct qp_err *err)
{
    const struct qp_cuda_bcast *p = x->n->prep;
    return qp_cuda_binary_f32(x->in[0], x->in[1], x->out[0], *p, x->c->st);
}

/* ===== data movement: logical copies ===== */

struct copy_prep {
    int32_t             n;
    struct qp_cuda_copy c[]; /* one per (input, output) pair the op moves */
};

static bool copy_supports(const struct qp_graph *g, const struct qp_node *n)
{
    return qp_cuda_copy_count(g, n) > 0;
}

static enum qp_status copy_prepare(struct cuda_ctx *c, struct qp_graph *g, struct qp_node *n,
                                   struct qp_err *err)
{
    int32_t           count = qp_cuda_copy_count(g, n);
    struct copy_prep *p =
        qp_arena_alloc(&g->arena, sizeof *p + (size_t)count * sizeof(struct qp_cuda_copy));
    if (!p)
        return qp_fail(err, QP_E_NOMEM, "%s: node '%s': out of memory", g->source, n->name);
    p->n = count;
    qp_cuda_copy_plan(g, n, p->c);
    n->prep = p;
    return QP_OK;
}

static cudaError_t copy_run(const struct cuda_exec *x, struct qp_err *err)
{
    const struct copy_prep *p = x->n->prep;
    cudaError_t             e = cudaSuccess;
    for (int32_t j = 0; j < p->n && e == cudaSuccess; j++) {
        const void *src = x->n->op == QP_OP_CONCAT ? x->in[j] : x->in[0];
        void       *dst = x->n->op == QP_OP_SPLIT ? x->out[j] : x->out[0];
        if (src != dst) /* an aliased reshape moves nothing */
            e = qp_cuda_copy(src, dst, p->c[j], x->c->st);
    }
    return e;
}

/* ===== MaxPool, nearest Resize, float activations ===== */

static bool maxpool_supports(const struct qp_graph *g, const struct qp_node *n)
{
    const struct qp_tensor *x = in_t(g, n, 0), *y = out_t(g, n, 0);
    bool i8 = qp_tensor_is_quantized(x) && qp_tensor_is_quantized(y) && x->scale == y->scale &&
              x->zero_point == y->zero_point;
    return n->n_out == 1 && nhwc4(x) && nhwc4(y) &&
           (i8 || (x->dtype == QP_DTYPE_F32 && y->dtype == QP_DTYPE_F32));
}

static enum qp_status maxpool_prepare(struct cuda_ctx *c, struct qp_graph *g, struct qp_node *n,
                                      struct qp_err *err)
{
    struct qp_conv_geom *geo = qp_arena_alloc(&g->arena, sizeof *geo);
    if (!geo)
        return qp_fail(err, QP_E_NOMEM, "%s: node '%s': out of memory", g->source, n->name);
    *geo    = qp_cuda_pool_geom(g, n);
    n->prep = geo;
    return QP_OK;
}

static cudaError_t maxpool_run(const struct cuda_exec *x, struct qp_err *err)
{
    const struct qp_conv_geom *geo = x->n->prep;
    return qp_cuda_maxpool(x->in[0], x->out[0], *geo,
                           (int32_t)qp_dtype_size(in_t(x->g, x->n, 0)->dtype), x->c->st);
}

struct resize_prep {
    const int32_t                 *iy, *ix; /* nearest: device index tables */
    const struct qp_cuda_lerp_tap *ty, *tx; /* linear: device tap tables */
    struct qp_cuda_resize_lerp       r;
};

/* Nearest on f32 or int8 (bytes move); linear on f32 or quantized int8. */
static bool resize_supports(const struct qp_graph *g, const struct qp_node *n)
{
    const struct qp_tensor *x = in_t(g, n, 0), *y = out_t(g, n, 0);
    bool f32 = x->dtype == QP_DTYPE_F32 && y->dtype == QP_DTYPE_F32;
    bool nearest = n->attr.resize.mode == QP_RESIZE_NEAREST &&
                   (f32 || (qp_tensor_is_quantized(x) && x->dtype == y->dtype));
    bool lerp = n->attr.resize.mode == QP_RESIZE_LINEAR && (f32 || (qp_tensor_is_quantized(x) && qp_tensor_is_quantized(y)));
    return (nearest || lerp) && nhwc4(x) && nhwc4(y) && qp_cpu_resize_supports(g, n) &&
           x->dims[2] < INT32_MAX && x->dims[3] < INT32_MAX;
}

static enum qp_status resize_prepare(struct cuda_ctx *c, struct qp_graph *g, struct qp_node *n,
                                     struct qp_err *err)
{
    const struct qp_tensor *y    = out_t(g, n, 0);
    int64_t                 oh   = y->dims[2], ow = y->dims[3];
    bool                    lerp = n->attr.resize.mode == QP_RESIZE_LINEAR;
    size_t                  es   = lerp ? sizeof(struct qp_cuda_lerp_tap) : sizeof(int32_t);
    struct resize_prep     *p    = qp_arena_alloc(&g->arena, sizeof *p);
    unsigned char          *t    = qp_arena_alloc(&g->arena, (size_t)(oh + ow + 1) * es);
    if (!p || !t)
        return qp_fail(err, QP_E_NOMEM, "%s: node '%s': out of memory", g->source, n->name);
    memset(p, 0, sizeof *p);
    if (lerp)
        qp_cuda_resize_lerp_plan(g, n, &p->r, (struct qp_cuda_lerp_tap *)(void *)t,
                                 (struct qp_cuda_lerp_tap *)(void *)(t + (size_t)oh * es));
    else
        qp_cuda_resize_tables(g, n, (int32_t *)(void *)t, (int32_t *)(void *)(t + (size_t)oh * es));
    n->prep            = p;
    void          *d   = NULL;
    enum qp_status s   = dev_copy(c, t, (size_t)(oh + ow) * es, &d, err);
    unsigned char *dev = d;
    if (lerp) {
        p->ty = d;
        p->tx = dev ? (const void *)(dev + (size_t)oh * es) : NULL;
    } else {
        p->iy = d;
        p->ix = dev ? (const void *)(dev + (size_t)oh * es) : NULL;
    }
    return s;
}

static cudaError_t resize_run(const struct cuda_exec *x, struct qp_err *err)
{
    const struct resize_prep *p  = x->n->prep;
    const struct qp_tensor   *ti = in_t(x->g, x->n, 0), *to = out_t(x->g, x->n, 0);
    if (p->ty)
        return qp_cuda_resize_linear(x->in[0], x->out[0], p->r, p->ty, p->tx,
                                     (int32_t)qp_dtype_size(ti->dtype), x->c->st);
    return qp_cuda_resize_nearest(x->in[0], x->out[0], ti->dims[0], ti->dims[2], ti->dims[3],
                                  to->dims[2], to->dims[3],
                                  ti->dims[1] * (int64_t)qp_dtype_size(ti->dtype), p->iy, p->ix,
                                  x->c->st);
}

/* The float unary ops as their activation (cpu/act.h). */
static bool act_of(const struct qp_node *n, struct qp_act_params *a)
{
    static const enum qp_act acts[QP_OP_COUNT] = {
        [QP_OP_RELU] = QP_ACT_RELU,       [QP_OP_LEAKY_RELU] = QP_ACT_LEAKY,
        [QP_OP_SIGMOID] = QP_ACT_SIGMOID, [QP_OP_HARD_SIGMOID] = QP_ACT_HARD_SIGMOID,
        [QP_OP_HARD_SWISH] = QP_ACT_HARD_SWISH, [QP_OP_TANH] = QP_ACT_TANH,
        [QP_OP_CLIP] = QP_ACT_CLIP,       [QP_OP_SILU] = QP_ACT_SILU,
    };
    *a = (struct qp_act_params){acts[n->op], n->attr.unary.alpha, n->attr.unary.beta};
    return acts[n->op] != QP_ACT_NONE;
}

static bool act_supports(const struct qp_graph *g, const struct qp_node *n)
{
    struct qp_act_params a;
    return act_of(n, &a) && same_numel(g, n) && in_t(g, n, 0)->dtype == QP_DTYPE_F32 &&
           out_t(g, n, 0)->dtype == QP_DTYPE_F32;
}

static cudaError_t act_run(const struct cuda_exec *x, struct qp_err *err)
{
    struct qp_act_params a;
    act_of(x->n, &a);
    return qp_cuda_act_f32(x->in[0], x->out[0], qp_tensor_numel(out_t(x->g, x->n, 0)), a,
                           x->c->st);
}

#define COPY {copy_supports, copy_prepare, copy_run}
#define ACT {act_supports, NULL, act_run}
#define BINARY {binary_supports, binary_prepare, binary_run}

static const struct cuda_op cuda_ops[QP_OP_COUNT] = {
    [QP_OP_QUANTIZE]     = {quantize_supports, NULL, quantize_run},
    [QP_OP_DEQUANTIZE]   = {dequantize_supports, NULL, dequantize_run},
    [QP_OP_QADD]         = {qadd_supports, qadd_prepare, qadd_run},
    [QP_OP_QLUT]         = {qlut_supports, qlut_prepare, qlut_run},
    [QP_OP_QCONV]        = {qconv_supports, conv_prepare, conv_run},
    [QP_OP_CONV]         = {conv_supports, conv_prepare, conv_run},
    [QP_OP_ADD]          = BINARY,
    [QP_OP_SUB]          = BINARY,
    [QP_OP_MUL]          = BINARY,
    [QP_OP_DIV]          = BINARY,
    [QP_OP_MAX]          = BINARY,
    [QP_OP_MIN]          = BINARY,
    [QP_OP_IDENTITY]     = COPY,
    [QP_OP_RESHAPE]      = COPY,
    [QP_OP_FLATTEN]      = COPY,
    [QP_OP_SQUEEZE]      = COPY,
    [QP_OP_UNSQUEEZE]    = COPY,
    [QP_OP_TRANSPOSE]    = COPY,
    [QP_OP_LAYOUT]       = COPY,
    [QP_OP_CONCAT]       = COPY,
    [QP_OP_SPLIT]        = COPY,
    [QP_OP_SLICE]        = COPY,
    [QP_OP_MAX_POOL]     = {maxpool_supports, maxpool_prepare, maxpool_run},
    [QP_OP_RESIZE]       = {resize_supports, resize_prepare, resize_run},
    [QP_OP_RELU]         = ACT,
    [QP_OP_LEAKY_RELU]   = ACT,
    [QP_OP_SIGMOID]      = ACT,
    [QP_OP_HARD_SIGMOID] = ACT,
    [QP_OP_HARD_SWISH]   = ACT,
    [QP_OP_TANH]         = ACT,
    [QP_OP_CLIP]         = ACT,
    [QP_OP_SILU]         = ACT,
};

/* ===== the backend contract ===== */

/* Free fr's buffers (the device idle first: another engine of a share may
 * have used them last); it stays, empty. */
static void frames_release(struct cuda_frames *fr)
{
    if (fr->host || fr->dev)
        (void)cudaDeviceSynchronize();
    if (fr->host)
        (void)cudaFreeHost(fr->host);
    if (fr->dev)
        (void)cudaFree(fr->dev);
    fr->host = fr->dev = NULL;
    fr->bytes          = 0;
}

static void frames_destroy(void *p)
{
    struct cuda_frames *fr = p;
    frames_release(fr);
    if (fr->staged)
        (void)cudaEventDestroy(fr->staged);
    qp_free(fr);
}

/* The frame staging: the share's (made by its first CUDA engine, freed
 * with it), else the engine's own, empty until reserve_frames. */
static enum qp_status frames_attach(struct cuda_ctx *c, struct qp_engine_share *sh,
                                    struct qp_err *err)
{
    if (sh && sh->frames && sh->frames_free != frames_destroy)
        return qp_fail(err, QP_E_INVAL, "engine share: its frame staging is another backend's");
    c->fr = sh && sh->frames ? sh->frames : qp_calloc(1, sizeof *c->fr);
    if (!c->fr)
        return qp_fail(err, QP_E_NOMEM, "cuda backend: out of memory");
    if (sh) {
        sh->frames      = c->fr;
        sh->frames_free = frames_destroy;
        qp_engine_share_ref(sh);
        c->share = sh;
    }
    return QP_OK;
}

static enum qp_status cu_init(void *ctx, const struct qp_engine_options *opt, struct qp_err *err)
{
    struct cuda_ctx *c     = ctx;
    int              major = 0, minor = 0;
    cudaError_t      e     = cudaSetDevice(0);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0);
    if (e == cudaSuccess)
        e = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, 0);
    snprintf(c->target, sizeof c->target, "cuda sm_%d%d", major, minor);
    if (e == cudaSuccess)
        e = cudaStreamCreateWithFlags(&c->st, cudaStreamNonBlocking);
    if (e != cudaSuccess)
        return cuda_fail(err, e, "opening device 0");
    if (cublasLtCreate(&c->lt) != CUBLAS_STATUS_SUCCESS) {
        c->lt = NULL;
        return qp_fail(err, QP_E_CUDA, "cuda backend: cublasLtCreate failed");
    }
    c->lt_ws_bytes = qp_lt_workspace_bytes(major);
    e              = cudaMalloc(&c->lt_ws, c->lt_ws_bytes);
    c->profile     = opt && opt->profile;
    if (e != cudaSuccess)
        return cuda_fail(err, e, "allocating the cuBLASLt workspace");
    return frames_attach(c, opt ? opt->share : NULL, err);
}

static void cu_fini(void *ctx)
{
    struct cuda_ctx *c = ctx;
    if (c->st)
        (void)cudaStreamSynchronize(c->st);
    if (c->share)
        qp_engine_share_unref(c->share);
    else if (c->fr)
        frames_destroy(c->fr);
    if (c->graph)
        (void)cudaGraphExecDestroy(c->graph);
    for (int32_t i = 0; i < c->n_consts; i++)
        (void)cudaFree(c->consts[i]);
    if (c->arena)
        (void)cudaFree(c->arena);
    if (c->sat_dev)
        (void)cudaFree(c->sat_dev);
    if (c->lt_ws)
        (void)cudaFree(c->lt_ws);
    if (c->lt)
        (void)cublasLtDestroy(c->lt);
    if (c->st)
        (void)cudaStreamDestroy(c->st);
    qp_free(c->consts);
    qp_free(c->ptrs);
    qp_free(c->first);
    for (int32_t i = 0; c->events && i < 2 * c->n_nodes; i++)
        if (c->events[i])
            (void)cudaEventDestroy(c->events[i]);
    qp_free(c->events);
    qp_free(c->node_ns);
    qp_free(c->sat);
    qp_free(c->stored);
    memset(c, 0, sizeof *c);
}

static enum qp_status cu_set_tuning(void *ctx, const char *target, const char *text,
                                    struct qp_err *err)
{
    struct cuda_ctx *c = ctx;
    if (strcmp(target, c->target) != 0)
        return qp_fail(err, QP_E_UNSUPPORTED, "engine built for '%s', this GPU is '%s': rebuild "
                       "it here with `qpercept build --target cuda` (or run it with --backend "
                       "cpu)", target, c->target);
    size_t n  = text ? strlen(text) + 1 : 0;
    c->stored = n ? qp_alloc(n) : NULL;
    if (n && !c->stored)
        return qp_fail(err, QP_E_NOMEM, "out of memory for the engine's tuning");
    if (n)
        memcpy(c->stored, text, n);
    return QP_OK;
}

/* One TUNING_LINE per GEMM (names with a TAB or newline are left out: they
 * are timed again at load). */
static enum qp_status cu_tuning(void *ctx, const struct qp_graph *g, char target[32], char **text,
                                struct qp_err *err)
{
    struct cuda_ctx *c   = ctx;
    char            *buf = NULL;
    size_t           len = 0;
    FILE            *f   = open_memstream(&buf, &len);
    if (!f)
        return qp_fail(err, QP_E_NOMEM, "out of memory for the tuning");
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct qp_node *n = &g->nodes[i];
        const struct qp_cuda_conv *q =
            n->op == QP_OP_QCONV || n->op == QP_OP_CONV ? n->prep : NULL;
        if (!q || q->path == QP_CUDA_CONV_DEPTHWISE || strpbrk(n->name, "\t\n"))
            continue;
        struct qp_lt_algo a;
        qp_lt_gemm_algo(&q->gemm, &a);
        fprintf(f, TUNING_LINE, n->name, (long long)q->shape.m, (long long)q->shape.k,
                (long long)q->shape.n, (int)q->shape.dtype, (unsigned long long)a.lt_version,
                (unsigned long long)a.data[0], (unsigned long long)a.data[1],
                (unsigned long long)a.data[2], (unsigned long long)a.data[3],
                (unsigned long long)a.data[4], (unsigned long long)a.data[5],
                (unsigned long long)a.data[6], (unsigned long long)a.data[7]);
    }
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return qp_fail(err, QP_E_NOMEM, "out of memory for the tuning");
    }
    *text = qp_alloc(len + 1);
    if (*text)
        memcpy(*text, buf, len + 1);
    free(buf);
    snprintf(target, 32, "%s", c->target);
    return *text ? QP_OK : qp_fail(err, QP_E_NOMEM, "out of memory for the tuning");
}

static bool cu_supports(const void *ctx, const struct qp_graph *g, const struct qp_node *n)
{
    (void)ctx;
    if ((unsigned)n->op >= QP_OP_COUNT || !cuda_ops[n->op].run)
        return false;
    for (int32_t k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0 && (out_t(g, n, k)->flags & QP_TENSOR_CONST))
            return false;
    return cuda_ops[n->op].supports(g, n);
}

static enum qp_status cu_prepare(void *ctx, struct qp_graph *g, struct qp_err *err)
{
    struct cuda_ctx *c = ctx;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        struct qp_node *n = &g->nodes[i];
        if (cuda_ops[n->op].prepare) {
            enum qp_status s = cuda_ops[n->op].prepare(c, g, n, err);
            if (s != QP_OK)
                return s;
        }
    }
    return QP_OK;
}

/* Device pointer of tensor t: a constant's device copy, or arena + offset. */
static enum qp_status tensor_ptr(struct cuda_ctx *c, const struct qp_graph *g, int32_t t,
                                 void **out, struct qp_err *err)
{
    *out = NULL;
    if (t < 0)
        return QP_OK;
    const struct qp_tensor *x = &g->tensors[t];
    if (!(x->flags & QP_TENSOR_CONST)) {
        *out = c->arena + x->offset;
        return QP_OK;
    }
    return dev_copy(c, x->data, qp_tensor_nbytes(x), out, err);
}

static enum qp_status cu_alloc(void *ctx, const struct qp_graph *g, size_t arena_bytes,
                               struct qp_err *err)
{
    struct cuda_ctx *c     = ctx;
    int64_t          total = 0;
    for (int32_t i = 0; i < g->n_nodes; i++)
        total += g->nodes[i].n_in + g->nodes[i].n_out;
    c->ptrs  = qp_calloc((size_t)total + 1, sizeof *c->ptrs);
    c->first = qp_calloc((size_t)g->n_nodes + 1, sizeof *c->first);
    c->sat   = qp_calloc((size_t)g->n_nodes + 1, sizeof *c->sat);
    if (!c->ptrs || !c->first || !c->sat)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory", g->source);
    cudaError_t e = cudaMalloc((void **)&c->arena, arena_bytes ? arena_bytes : 1);
    if (e == cudaSuccess)
        e = cudaMemset(c->arena, 0, arena_bytes);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&c->sat_dev, (size_t)(g->n_nodes + 1) * sizeof *c->sat_dev);
    if (e == cudaSuccess)
        e = cudaMemset(c->sat_dev, 0, (size_t)(g->n_nodes + 1) * sizeof *c->sat_dev);
    if (e != cudaSuccess)
        return cuda_fail(err, e, "allocating the activation arena");
    enum qp_status s = QP_OK;
    int32_t        k = 0;
    for (int32_t i = 0; i < g->n_nodes && s == QP_OK; i++) {
        const struct qp_node *n = &g->nodes[i];
        c->first[i]             = k;
        for (int32_t j = 0; j < n->n_in && s == QP_OK; j++)
            s = (n->op == QP_OP_QCONV || n->op == QP_OP_CONV) && j > 0
                    ? QP_OK /* weights and bias live in the plan */
                                              : tensor_ptr(c, g, n->in[j], &c->ptrs[k + j], err);
        k += n->n_in;
        for (int32_t j = 0; j < n->n_out && s == QP_OK; j++)
            s = tensor_ptr(c, g, n->out[j], &c->ptrs[k + j], err);
        k += n->n_out;
        if (s == QP_OK && (n->op == QP_OP_QCONV || n->op == QP_OP_CONV))
            s = conv_tune(c, g, n, c->ptrs + c->first[i],
                           n->ws_bytes ? c->arena + n->ws_offset : NULL, err);
    }
    c->n_nodes = g->n_nodes;
    if (s == QP_OK && c->profile) {
        /* NOLINTNEXTLINE(bugprone-sizeof-expression): cudaEvent_t is a pointer, as meant */
        c->events  = qp_calloc((size_t)(2 * g->n_nodes) + 1, sizeof *c->events);
        c->node_ns = qp_calloc((size_t)g->n_nodes + 1, sizeof *c->node_ns);
        if (!c->events || !c->node_ns)
            return qp_fail(err, QP_E_NOMEM, "%s: out of memory", g->source);
        for (int32_t i = 0; i < 2 * g->n_nodes && e == cudaSuccess; i++)
            e = cudaEventCreate(&c->events[i]);
        if (e != cudaSuccess)
            return cuda_fail(err, e, "creating the profiling events");
    }
    return s;
}

static void cu_upload(void *ctx, size_t dst_off, const void *src, size_t n)
{
    struct cuda_ctx *c = ctx;
    cudaError_t      e = cudaMemcpyAsync(c->arena + dst_off, src, n, cudaMemcpyHostToDevice, c->st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(c->st);
    if (e != cudaSuccess)
        qp_log(QP_LOG_ERROR, "cuda", "upload of %zu bytes failed: %s", n, cudaGetErrorString(e));
}

static void cu_download(void *ctx, void *dst, size_t src_off, size_t n)
{
    struct cuda_ctx *c = ctx;
    cudaError_t      e = cudaMemcpyAsync(dst, c->arena + src_off, n, cudaMemcpyDeviceToHost, c->st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(c->st);
    if (e != cudaSuccess) {
        qp_log(QP_LOG_ERROR, "cuda", "download of %zu bytes failed: %s", n, cudaGetErrorString(e));
        memset(dst, 0, n);
    }
}

static enum qp_status cu_reserve_frames(void *ctx, size_t bytes, struct qp_err *err)
{
    struct cuda_frames *fr = ((struct cuda_ctx *)ctx)->fr;
    if (bytes <= fr->bytes)
        return QP_OK;
    frames_release(fr);
    cudaError_t e = cudaSuccess;
    if (!fr->staged)
        e = cudaEventCreateWithFlags(&fr->staged, cudaEventDisableTiming);
    if (e == cudaSuccess)
        e = cudaMallocHost((void **)&fr->host, bytes);
    if (e == cudaSuccess)
        e = cudaMalloc((void **)&fr->dev, bytes);
    if (e != cudaSuccess) {
        frames_release(fr);
        return cuda_fail(err, e, "allocating the frame staging");
    }
    fr->bytes = bytes;
    fr->next  = 0;
    return QP_OK;
}

/* Image k of a batch: its place in the staging after the batch's frames
 * before it (image 0: once the last batch's copies out of it are done),
 * the frame and the norm tables copied there and sent in one copy, and the
 * pre-processing kernel enqueued into the image at dst_off: all on the
 * run's stream, ahead of the run. */
static enum qp_status cu_set_image(void *ctx, int32_t k, size_t dst_off,
                                   const struct qp_pre_frame *f, const struct qp_pre_norm *nm,
                                   const uint8_t *img, struct qp_err *err)
{
    struct cuda_ctx    *c  = ctx;
    struct cuda_frames *fr = c->fr;
    if (k != 0 && k != fr->next)
        return qp_fail(err, QP_E_INVAL, "image %d after image %d: a batch's images go in order",
                       (int)k, (int)fr->next - 1);
    size_t at   = k == 0 ? 0 : fr->used;
    size_t need = (size_t)qp_pre_frame_bytes(f); /* both planes of an NV12 frame */
    size_t end  = at + FRAME_HEAD + (need + 255) / 256 * 256;
    if (!fr->host || end > fr->bytes)
        return qp_fail(err, QP_E_UNSUPPORTED,
                       "a %dx%d frame (%zu bytes) as image %d exceeds the %zu staged bytes",
                       (int)f->src_w, (int)f->src_h, need, (int)k, fr->bytes);
    cudaError_t e = k == 0 ? cudaEventSynchronize(fr->staged) : cudaSuccess;
    if (e == cudaSuccess) {
        memcpy(fr->host + at, nm, sizeof *nm);
        memcpy(fr->host + at + FRAME_HEAD, img, need);
        e = cudaMemcpyAsync(fr->dev + at, fr->host + at, FRAME_HEAD + need,
                            cudaMemcpyHostToDevice, c->st);
    }
    if (e == cudaSuccess)
        e = cudaEventRecord(fr->staged, c->st);
    if (e == cudaSuccess)
        e = qp_cuda_preprocess(fr->dev + at + FRAME_HEAD, *f,
                               (const struct qp_pre_norm *)(const void *)(fr->dev + at),
                               (float *)(void *)(c->arena + dst_off), c->st);
    if (e != cudaSuccess)
        return cuda_fail(err, e, "pre-processing a frame");
    fr->used = end;
    fr->next = k + 1;
    return QP_OK;
}

static enum qp_status cu_zero(void *ctx, size_t off, size_t n, struct qp_err *err)
{
    struct cuda_ctx *c = ctx;
    cudaError_t      e = cudaMemsetAsync(c->arena + off, 0, n, c->st);
    return e == cudaSuccess ? QP_OK : cuda_fail(err, e, "zeroing input images");
}

/* Enqueue every node's kernels on the stream (eagerly, or into a capture). */
static enum qp_status enqueue(struct cuda_ctx *c, const struct qp_graph *g, struct qp_err *err)
{
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const struct qp_node *n = &g->nodes[i];
        struct cuda_exec      x = {
            .c   = c,
            .g   = g,
            .n   = n,
            .in  = c->ptrs + c->first[i],
            .out = c->ptrs + c->first[i] + n->n_in,
            .ws  = n->ws_bytes ? c->arena + n->ws_offset : NULL,
            .sat = qp_saturation_counted(g, n) ? c->sat_dev + i : NULL,
        };
        struct qp_err why = {0};
        cudaError_t   e   = c->events ? cudaEventRecord(c->events[2 * i], c->st) : cudaSuccess;
        if (e == cudaSuccess)
            e = cuda_ops[n->op].run(&x, &why);
        if (e == cudaSuccess && c->events)
            e = cudaEventRecord(c->events[2 * i + 1], c->st);
        if (e != cudaSuccess)
            return qp_fail(err, QP_E_CUDA, "%s: node '%s' (%s): %s", g->source, n->name,
                           qp_op_name(n->op), why.msg[0] ? why.msg : cudaGetErrorString(e));
    }
    return QP_OK;
}

/* Capture the whole graph once into a CUDA graph (after an eager run has
 * completed, so a failure there was not a capture problem). On any failure
 * the backend stays eager and says so once. */
static void capture(struct cuda_ctx *c, const struct qp_graph *g)
{
    cudaGraph_t   graph = NULL;
    struct qp_err why   = {0};
    /* a frame's copy and pre-processing (set_image) may be pending: the
     * capture starts on an idle stream, once */
    cudaError_t e = cudaStreamSynchronize(c->st);
    if (e == cudaSuccess)
        e = cudaStreamBeginCapture(c->st, cudaStreamCaptureModeThreadLocal);
    if (e == cudaSuccess) {
        enum qp_status s  = enqueue(c, g, &why);
        cudaError_t    e2 = cudaStreamEndCapture(c->st, &graph); /* always end it */
        e                 = s != QP_OK ? cudaErrorStreamCaptureInvalidated : e2;
    }
    if (e == cudaSuccess)
        e = cudaGraphInstantiate(&c->graph, graph, 0);
    if (graph)
        (void)cudaGraphDestroy(graph); /* the executable graph keeps its own copy */
    if (e != cudaSuccess) {
        c->graph    = NULL;
        c->no_graph = true;
        (void)cudaGetLastError(); /* clear the sticky launch error of a failed capture */
        qp_log(QP_LOG_INFO, "cuda", "%s: running eagerly, CUDA graph capture failed: %s%s%s",
               g->source, cudaGetErrorString(e), why.msg[0] ? ": " : "", why.msg);
    }
}

/* The first run is eager; once one has completed (wait()), every node is
 * captured into a CUDA graph that each later run replays with one launch
 * (addresses never change: the arena and the plans are fixed at alloc). */
static enum qp_status cu_run(void *ctx, const struct qp_graph *g, struct qp_err *err)
{
    struct cuda_ctx *c = ctx;
    QP_ASSERT(c->n_nodes == g->n_nodes);
    if (!c->graph && c->verified && !c->no_graph && !c->profile)
        capture(c, g);
    enum qp_status s = QP_OK;
    if (c->graph) {
        cudaError_t e = cudaGraphLaunch(c->graph, c->st);
        if (e != cudaSuccess)
            s = qp_fail(err, QP_E_CUDA, "%s: launching the CUDA graph: %s", g->source,
                        cudaGetErrorString(e));
    } else {
        s = enqueue(c, g, err);
    }
    c->runs += s == QP_OK;
    return s;
}

static enum qp_status cu_wait(void *ctx, struct qp_err *err)
{
    struct cuda_ctx *c = ctx;
    /* the counters ride behind the run on the stream: one synchronisation */
    _Static_assert(sizeof *c->sat == sizeof *c->sat_dev, "counters copied as they are");
    cudaError_t e = cudaMemcpyAsync(c->sat, c->sat_dev, (size_t)c->n_nodes * sizeof *c->sat,
                                    cudaMemcpyDeviceToHost, c->st);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(c->st);
    for (int32_t i = 0; c->events && i < c->n_nodes && e == cudaSuccess; i++) {
        float ms = 0.0f;
        e        = cudaEventElapsedTime(&ms, c->events[2 * i], c->events[2 * i + 1]);
        c->node_ns[i] += (int64_t)((double)ms * 1e6);
    }
    c->verified = c->verified || e == cudaSuccess;
    return e == cudaSuccess ? QP_OK : cuda_fail(err, e, "running the graph");
}

static const int64_t *cu_node_ns(const void *ctx, int64_t *runs)
{
    const struct cuda_ctx *c = ctx;
    *runs                    = c->runs;
    return c->node_ns;
}

static const int64_t *cu_saturated(const void *ctx, int64_t *runs)
{
    const struct cuda_ctx *c = ctx;
    *runs                    = c->runs;
    return c->sat;
}

const struct qp_backend_ops qp_backend_cuda = {
    .name           = "cuda",
    .ctx_size       = sizeof(struct cuda_ctx),
    .init           = cu_init,
    .fini           = cu_fini,
    .supports       = cu_supports,
    .prepare        = cu_prepare,
    .alloc          = cu_alloc,
    .upload         = cu_upload,
    .download       = cu_download,
    .reserve_frames = cu_reserve_frames,
    .set_image      = cu_set_image,
    .zero           = cu_zero,
    .tuning         = cu_tuning,
    .set_tuning     = cu_set_tuning,
    .run            = cu_run,
    .wait           = cu_wait,
    .node_ns        = cu_node_ns,
    .saturated      = cu_saturated,
};
