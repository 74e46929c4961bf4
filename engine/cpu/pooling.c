// SPDX-License-Identifier: Apache-2.0
/*
 * pooling.c - MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool on
 * rank-4 f32 tensors, NHWC (the normal case) or PLAIN NCHW (constant
 * folding before the layout pass); MaxPool and GlobalMaxPool also on
 * quantized i8 tensors.
 *
 * NHWC windows run per output row with channels innermost (contiguous),
 * through pooling_avx2.c when the CPU has AVX2 (portable twin here);
 * PLAIN tensors take a generic loop with element strides. Output dims come
 * from shape inference, which has already
 * resolved auto_pad and ceil_mode, so a window may run past the padded
 * input: it is clipped. Semantics follow onnxruntime:
 *  - MaxPool: padding never wins (as if padded with -inf); a window with no
 *    cell inside the input gives -FLT_MAX; NaN inputs are skipped
 *    (`if (v > m) m = v`).
 *  - AveragePool: the sum of the cells inside the input, divided by the
 *    cells inside the input (count_include_pad = 0) or by the cells inside
 *    the padded input [-pad_begin, size + pad_end) (count_include_pad = 1):
 *    cells beyond the padding, which only ceil_mode creates, never count.
 *    A window with nothing to count (all padding, count_include_pad = 0)
 *    gives 0 where onnxruntime divides 0 by 0.
 *  - Global pools reduce H x W per (n, c) in double.
 *  - INT8 max pools: max is exact on quantized values (one scale and zero
 *    point, and real = (q - zp) * scale grows with q), so they compare the
 *    int8 values and the output keeps the input's scale and zero point
 *    (inference copies them; supports() insists). A window with no cell
 *    inside the input gives -128, the int8 image of -FLT_MAX. NHWC rows
 *    take qpooling_avx2.c (32 channels per vpmaxsb) when the CPU has AVX2;
 *    the plain C loop here is the reference and the PLAIN-layout path.
 */
#include "cpu/pooling.h"

#include <float.h>
#include <string.h>

#include "cpu/kernels.h"

/* Element strides of n, c, h, w for a tensor of logical [N, C, H, W]. */
static void strides_of(enum qp_layout l, int64_t C, int64_t H, int64_t W, int64_t s[4])
{
    bool nhwc = l == QP_LAYOUT_NHWC;
    s[0]      = C * H * W;
    s[1]      = nhwc ? 1 : H * W;
    s[2]      = nhwc ? W * C : W;
    s[3]      = nhwc ? C : 1;
}

/* A max pool on a quantized i8 tensor whose output keeps its parameters. */
static bool i8_max_pool(const struct qp_graph *g, const struct qp_node *n)
{
    const struct qp_tensor *x = &g->tensors[n->in[0]], *y = &g->tensors[n->out[0]];
    return (n->op == QP_OP_MAX_POOL || n->op == QP_OP_GLOBAL_MAX_POOL) &&
           qp_tensor_is_quantized(x) && y->dtype == QP_DTYPE_I8 && y->scale == x->scale &&
           y->zero_point == x->zero_point;
}

QP_CPU_SUPPORTS(qp_cpu_pool_supports)
{
    const struct qp_tensor *x = &g->tensors[n->in[0]], *y = &g->tensors[n->out[0]];
    bool                    f32 = x->dtype == QP_DTYPE_F32 && y->dtype == QP_DTYPE_F32;
    if ((!f32 && !i8_max_pool(g, n)) || x->rank != 4 || y->rank != 4)
        return false;
    if (n->op == QP_OP_GLOBAL_AVG_POOL || n->op == QP_OP_GLOBAL_MAX_POOL)
        return true;
    const struct qp_pool_attr *a = &n->attr.pool;
    for (int i = 0; i < 2; i++)
        if (a->kernel[i] < 1 || a->stride[i] < 1 || a->dilation[i] < 1 || a->pad[i] < 0 ||
            a->pad[i + 2] < 0)
            return false;
    return true;
}

/* ===== windowed pools ===== */

static void geom_of(const struct qp_exec *x, bool avg, struct qp_pooling_geom *g)
{
    const struct qp_tensor    *in  = &x->g->tensors[x->n->in[0]];
    const struct qp_tensor    *out = &x->g->tensors[x->n->out[0]];
    const struct qp_pool_attr *a   = &x->n->attr.pool;
    *g = (struct qp_pooling_geom){in->dims[0],  in->dims[1],         in->dims[2],    in->dims[3],
                                  out->dims[2], out->dims[3],        a->kernel[0],   a->kernel[1],
                                  a->stride[0], a->stride[1],        a->dilation[0], a->dilation[1],
                                  a->pad[0],    a->pad[1],           a->pad[2],      a->pad[3],
                                  avg,          a->count_include_pad};
}

/* Cells of a window starting at `start` (step d, k cells) inside [lo, hi). */
static int64_t cells_in(int64_t start, int64_t k, int64_t d, int64_t lo, int64_t hi)
{
    int64_t count = 0;
    for (int64_t i = 0; i < k; i++)
        count += start + i * d >= lo && start + i * d < hi;
    return count;
}

int64_t qp_pooling_divisor(const struct qp_pooling_geom *g, int64_t h0, int64_t w0)
{
    bool pad = g->include_pad;
    return cells_in(h0, g->kh, g->dh, pad ? -g->pt : 0, g->h + (pad ? g->pb : 0)) *
           cells_in(w0, g->kw, g->dw, pad ? -g->pl : 0, g->w + (pad ? g->pr : 0));
}

/* One output element over channels [0, C) at element strides: the generic
 * path (PLAIN layout); xs/ys are the n, c, h, w strides of x and y. */
static void window_strided(const struct qp_pooling_geom *g, const float *x, const int64_t xs[4],
                           float *y, const int64_t ys[4], int64_t n, int64_t oh, int64_t ow)
{
    int64_t h0 = oh * g->sh - g->pt, w0 = ow * g->sw - g->pl;
    int64_t div = g->avg ? qp_pooling_divisor(g, h0, w0) : 1;
    for (int64_t c = 0; c < g->c; c++) {
        float v = g->avg ? 0.0f : -FLT_MAX;
        for (int64_t i = 0; i < g->kh; i++) {
            int64_t ih = h0 + i * g->dh;
            for (int64_t j = 0; j < g->kw && ih >= 0 && ih < g->h; j++) {
                int64_t iw = w0 + j * g->dw;
                if (iw < 0 || iw >= g->w)
                    continue;
                float e = x[n * xs[0] + c * xs[1] + ih * xs[2] + iw * xs[3]];
                if (g->avg)
                    v += e;
                else if (e > v)
                    v = e;
            }
        }
        y[n * ys[0] + c * ys[1] + oh * ys[2] + ow * ys[3]] =
            g->avg ? (div > 0 ? v / (float)div : 0.0f) : v;
    }
}

void qp_pooling_row_nhwc_c(const struct qp_pooling_geom *g, const float *x, float *y, int64_t r)
{
    int64_t      n = r / g->oh, oh = r % g->oh;
    const float *xb = x + n * g->h * g->w * g->c;
    for (int64_t ow = 0; ow < g->ow; ow++) {
        int64_t h0 = oh * g->sh - g->pt, w0 = ow * g->sw - g->pl;
        float  *out = y + (r * g->ow + ow) * g->c;
        for (int64_t c = 0; c < g->c; c++)
            out[c] = g->avg ? 0.0f : -FLT_MAX;
        for (int64_t i = 0; i < g->kh; i++) {
            int64_t ih = h0 + i * g->dh;
            for (int64_t j = 0; j < g->kw && ih >= 0 && ih < g->h; j++) {
                int64_t iw = w0 + j * g->dw;
                if (iw < 0 || iw >= g->w)
                    continue;
                const float *p = xb + (ih * g->w + iw) * g->c;
                for (int64_t c = 0; c < g->c; c++)
                    if (g->avg)
                        out[c] += p[c];
                    else if (p[c] > out[c])
                        out[c] = p[c];
            }
        }
        if (g->avg) {
            int64_t div = qp_pooling_divisor(g, h0, w0);
            for (int64_t c = 0; c < g->c; c++)
                out[c] = div > 0 ? out[c] / (float)div : 0.0f;
        }
    }
}

struct window_job {
    const struct qp_pooling_geom *g;
    const void                   *x; /* float, or int8_t when i8 */
    void                         *y;
    int64_t                       xs[4], ys[4];
    bool                          nhwc, avx2, i8;
};

/* ===== INT8 max pools ===== */

/* The max of window (n, oh, ow) over channels [0, C): x is read at the
 * element strides xs, the C results go to y with stride ys_c (1 in NHWC,
 * where the channel loops are contiguous). */
static void max_window_i8(const struct qp_pooling_geom *g, const int8_t *x, const int64_t xs[4],
                          int8_t *y, int64_t ys_c, int64_t n, int64_t oh, int64_t ow)
{
    int64_t h0 = oh * g->sh - g->pt, w0 = ow * g->sw - g->pl;
    for (int64_t c = 0; c < g->c; c++)
        y[c * ys_c] = INT8_MIN;
    for (int64_t i = 0; i < g->kh; i++) {
        int64_t ih = h0 + i * g->dh;
        for (int64_t j = 0; j < g->kw && ih >= 0 && ih < g->h; j++) {
            int64_t iw = w0 + j * g->dw;
            if (iw < 0 || iw >= g->w)
                continue;
            const int8_t *p = x + n * xs[0] + ih * xs[2] + iw * xs[3];
            if (xs[1] == 1 && ys_c == 1) /* NHWC: contiguous channels, vectorised */
                for (int64_t c = 0; c < g->c; c++)
                    y[c] = (int8_t)(p[c] > y[c] ? p[c] : y[c]);
            else
                for (int64_t c = 0; c < g->c; c++)
                    y[c * ys_c] = (int8_t)(p[c * xs[1]] > y[c * ys_c] ? p[c * xs[1]] : y[c * ys_c]);
        }
    }
}

/* Output row r = n * oh + oh_index of an i8 max pool, any layout. */
static void max_row_i8(const struct window_job *j, int64_t r)
{
    int64_t n = r / j->g->oh, oh = r % j->g->oh;
    for (int64_t ow = 0; ow < j->g->ow; ow++)
        max_window_i8(j->g, j->x, j->xs,
                      (int8_t *)j->y + n * j->ys[0] + oh * j->ys[2] + ow * j->ys[3], j->ys[1], n,
                      oh, ow);
}

static void window_rows(void *arg, int64_t begin, int64_t end)
{
    const struct window_job *j = arg;
    for (int64_t r = begin; r < end; r++) {
        if (j->i8 && j->nhwc && j->avx2)
            qp_pooling_max_row_i8_avx2(j->g, j->x, j->y, r);
        else if (j->i8)
            max_row_i8(j, r);
        else if (j->nhwc && j->avx2)
            qp_pooling_row_nhwc_avx2(j->g, j->x, j->y, r);
        else if (j->nhwc)
            qp_pooling_row_nhwc_c(j->g, j->x, j->y, r);
        else
            for (int64_t ow = 0; ow < j->g->ow; ow++)
                window_strided(j->g, j->x, j->xs, j->y, j->ys, r / j->g->oh, r % j->g->oh, ow);
    }
}

static enum qp_status run_window(const struct qp_exec *x, bool avg)
{
    const struct qp_tensor       *in  = &x->g->tensors[x->n->in[0]];
    const struct qp_tensor       *out = &x->g->tensors[x->n->out[0]];
    const struct qp_cpu_features *f   = qp_cpu_features();
    struct qp_pooling_geom        g;
    geom_of(x, avg, &g);
    struct window_job j = {&g,
                           x->in[0],
                           x->out[0],
                           {0},
                           {0},
                           in->layout == QP_LAYOUT_NHWC && out->layout == QP_LAYOUT_NHWC,
                           f->avx2 && f->fma && !f->force_reference,
                           in->dtype == QP_DTYPE_I8};
    if (j.i8 && (avg || out->dtype != QP_DTYPE_I8))
        return QP_E_INVAL;
    strides_of(in->layout, g.c, g.h, g.w, j.xs);
    strides_of(out->layout, g.c, g.oh, g.ow, j.ys);
    qp_pool_for(x->pool, g.n * g.oh, window_rows, &j);
    return QP_OK;
}

QP_CPU_KERNEL(qp_cpu_max_pool)
{
    return run_window(x, false);
}

QP_CPU_KERNEL(qp_cpu_avg_pool)
{
    return run_window(x, true);
}

/* ===== global pools ===== */

#define GLOBAL_CHUNK 256 /* channels reduced together (stack accumulators) */

struct global_job {
    const void *x; /* float, or int8_t when i8 */
    void       *y;
    int64_t     c, hw;
    int64_t     xs_n, xs_c, xs_p; /* element strides of n, c and pixel */
    bool        avg, i8;
};

/* The i8 max of global_chunk: exact in int8 (see the top of the file). */
static void global_chunk_i8(const struct global_job *j, int64_t n, int64_t c0, int64_t nc)
{
    int8_t acc[GLOBAL_CHUNK];
    for (int64_t c = 0; c < nc; c++)
        acc[c] = INT8_MIN;
    const int8_t *xb = (const int8_t *)j->x + n * j->xs_n + c0 * j->xs_c;
    for (int64_t p = 0; p < j->hw; p++)
        for (int64_t c = 0; c < nc; c++) {
            int8_t v = xb[p * j->xs_p + c * j->xs_c];
            acc[c]   = (int8_t)(v > acc[c] ? v : acc[c]);
        }
    memcpy((int8_t *)j->y + n * j->c + c0, acc, (size_t)nc);
}

/* Channels [c0, c0 + nc) of image n: pixels outer, channels inner. */
static void global_chunk(const struct global_job *j, int64_t n, int64_t c0, int64_t nc)
{
    if (j->i8) {
        global_chunk_i8(j, n, c0, nc);
        return;
    }
    double acc[GLOBAL_CHUNK];
    for (int64_t c = 0; c < nc; c++)
        acc[c] = j->avg ? 0.0 : -(double)FLT_MAX;
    const float *xb = (const float *)j->x + n * j->xs_n + c0 * j->xs_c;
    for (int64_t p = 0; p < j->hw; p++)
        for (int64_t c = 0; c < nc; c++) {
            double v = xb[p * j->xs_p + c * j->xs_c];
            if (j->avg)
                acc[c] += v;
            else if (v > acc[c])
                acc[c] = v;
        }
    for (int64_t c = 0; c < nc; c++) /* [N, C, 1, 1] is the same bytes in both layouts */
        ((float *)j->y)[n * j->c + c0 + c] = (float)(j->avg ? acc[c] / (double)j->hw : acc[c]);
}

static void global_tasks(void *arg, int64_t begin, int64_t end)
{
    const struct global_job *j      = arg;
    int64_t                  chunks = (j->c + GLOBAL_CHUNK - 1) / GLOBAL_CHUNK;
    for (int64_t t = begin; t < end; t++) {
        int64_t n = t / chunks, c0 = t % chunks * GLOBAL_CHUNK;
        global_chunk(j, n, c0, j->c - c0 < GLOBAL_CHUNK ? j->c - c0 : GLOBAL_CHUNK);
    }
}

static enum qp_status run_global(const struct qp_exec *x, bool avg)
{
    const struct qp_tensor *in = &x->g->tensors[x->n->in[0]];
    int64_t                 s[4];
    strides_of(in->layout, in->dims[1], in->dims[2], in->dims[3], s);
    struct global_job j = {x->in[0],
                           x->out[0],
                           in->dims[1],
                           in->dims[2] * in->dims[3],
                           s[0],
                           s[1],
                           in->layout == QP_LAYOUT_NHWC ? in->dims[1] : 1,
                           avg,
                           in->dtype == QP_DTYPE_I8};
    if (j.i8 && (avg || x->g->tensors[x->n->out[0]].dtype != QP_DTYPE_I8))
        return QP_E_INVAL;
    int64_t           chunks = (j.c + GLOBAL_CHUNK - 1) / GLOBAL_CHUNK;
    qp_pool_for(x->pool, in->dims[0] * chunks, global_tasks, &j);
    return QP_OK;
}

QP_CPU_KERNEL(qp_cpu_global_avg_pool)
{
    return run_global(x, true);
}

QP_CPU_KERNEL(qp_cpu_global_max_pool)
{
    return run_global(x, false);
}
