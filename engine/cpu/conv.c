// SPDX-License-Identifier: Apache-2.0
/*
 * conv.c - the Conv kernel: supports / ws_bytes / prepare / run, and the
 * GEMM-based paths (1x1 direct and implicit im2col).
 *
 * prepare() chooses a path (conv.h) and repacks the constant weight for it
 * into g->arena; run() then reads only n->prep. The GEMM paths pack, per
 * group, B[k = (i * kw + j) * Cg + c][m] = W[m][c][i][j] - the order of the
 * im2col row, whose k index walks taps outer and channels inner so that a
 * tap is one contiguous run of Cg floats of an NHWC pixel.
 *
 * Workspace (IM2COL only): QP_PARALLEL_MAX_SLOTS tables of
 * qp_gemm_block_rows(k) * taps pointers, one per running task; no data is
 * copied (the indirection table replaces the im2col matrix). Sized for the
 * maximum slot count because ws_bytes() is asked before any pool exists.
 *
 * Depthwise rows are computed in depthwise.c / depthwise_avx2.c; the
 * references are in conv_ref.c.
 */
#include "cpu/conv.h"

#include <string.h>

#include "core/alloc.h"
#include "cpu/kernels.h"
#include "cpu/parallel.h"

struct conv_prep {
    enum qp_conv_path path;
    const float      *w;      /* REF: ONNX [M][Cg][kh][kw]; DEPTHWISE: [kh*kw][cp] */
    const float      *bias;   /* REF: [M] or NULL; DEPTHWISE: [cp]; GEMM paths: [M] or NULL */
    const float      *zero;   /* IM2COL: c zeros, read by padding taps; DEPTHWISE 3x3: w * c */
    int64_t           cp;     /* DEPTHWISE: channels padded to QP_DW_CBLOCK */
    int32_t           n_gemm; /* GEMM / IM2COL: one GEMM per group */
    struct qp_gemm   *gemm;
};

/* ===== Support and path choice ===== */

static bool is_const(const struct qp_tensor *t)
{
    return (t->flags & QP_TENSOR_CONST) && t->data;
}

/* Weight and bias (if any) are constants: the fast paths need them at prepare. */
static bool const_params(const struct qp_graph *g, const struct qp_node *n)
{
    return is_const(&g->tensors[n->in[1]]) &&
           (n->n_in < 3 || n->in[2] < 0 || is_const(&g->tensors[n->in[2]]));
}

bool qp_conv_node_ok(const struct qp_graph *g, const struct qp_node *n, bool transposed)
{
    const struct qp_tensor    *x = &g->tensors[n->in[0]], *w = &g->tensors[n->in[1]];
    const struct qp_tensor    *y = &g->tensors[n->out[0]];
    const struct qp_conv_attr *a = &n->attr.conv;
    if (x->dtype != QP_DTYPE_F32 || y->dtype != QP_DTYPE_F32 || w->dtype != QP_DTYPE_F32)
        return false;
    if (x->rank != 4 || y->rank != 4 || w->rank != 4 || x->layout != y->layout)
        return false;
    if (n->n_in > 2 && n->in[2] >= 0) {
        const struct qp_tensor *b = &g->tensors[n->in[2]];
        if (b->dtype != QP_DTYPE_F32 || qp_tensor_numel(b) != y->dims[1])
            return false;
    }
    /* Conv weights are [M, C/g, kh, kw]; ConvTranspose weights [C, M/g, kh, kw] */
    int64_t w_out = transposed ? w->dims[1] * a->group : w->dims[0];
    int64_t w_in  = transposed ? w->dims[0] : w->dims[1] * a->group;
    if (a->group < 1 || x->dims[1] % a->group || y->dims[1] % a->group || w_out != y->dims[1] ||
        w_in != x->dims[1])
        return false;
    for (int i = 0; i < 2; i++)
        if (a->stride[i] < 1 || a->dilation[i] < 1 || a->pad[i] < 0 || a->pad[i + 2] < 0)
            return false;
    return (unsigned)a->act.act < QP_ACT_COUNT;
}

QP_CPU_SUPPORTS(qp_cpu_conv_supports)
{
    return qp_conv_node_ok(g, n, false);
}

bool qp_conv_path_fits(const struct qp_conv_shape *s, enum qp_conv_path p)
{
    switch (p) {
    case QP_CONV_PATH_REF:
    case QP_CONV_PATH_IM2COL:
        return true;
    case QP_CONV_PATH_GEMM:
        return s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 && s->pt == 0 && s->pl == 0 &&
               s->oh == s->h && s->ow == s->w;
    case QP_CONV_PATH_DEPTHWISE:
        return s->group == s->c && s->m == s->c;
    case QP_CONV_PATH_COUNT:
        break;
    }
    return false;
}

enum qp_conv_path qp_conv_default_path(const struct qp_conv_shape *s)
{
    if (qp_cpu_features()->force_reference)
        return QP_CONV_PATH_REF;
    if (qp_conv_path_fits(s, QP_CONV_PATH_DEPTHWISE))
        return QP_CONV_PATH_DEPTHWISE;
    if (qp_conv_path_fits(s, QP_CONV_PATH_GEMM))
        return QP_CONV_PATH_GEMM;
    return QP_CONV_PATH_IM2COL;
}

static enum qp_conv_path node_path(const struct qp_graph *g, const struct qp_node *n)
{
    if (n->prep)
        return ((const struct conv_prep *)n->prep)->path;
    if (g->tensors[n->in[0]].layout != QP_LAYOUT_NHWC || !const_params(g, n))
        return QP_CONV_PATH_REF;
    struct qp_conv_shape s;
    qp_conv_shape_of(g, n, &s);
    return qp_conv_default_path(&s);
}

enum qp_conv_path qp_conv_prepared_path(const void *prep)
{
    return prep ? ((const struct conv_prep *)prep)->path : QP_CONV_PATH_REF;
}

/* Rows per IM2COL block (a multiple of QP_GEMM_MR). */
static int64_t im2col_block_rows(const struct qp_conv_shape *s)
{
    return qp_gemm_block_rows((int64_t)s->kh * s->kw * (s->c / s->group));
}

QP_CPU_WS(qp_cpu_conv_ws)
{
    if (node_path(g, n) != QP_CONV_PATH_IM2COL)
        return 0;
    struct qp_conv_shape s;
    qp_conv_shape_of(g, n, &s);
    size_t per_slot = (size_t)im2col_block_rows(&s) * (size_t)(s.kh * s.kw) * sizeof(float *);
    return per_slot * QP_PARALLEL_MAX_SLOTS;
}

/* ===== prepare ===== */

/* Scratch for a constant being packed; keep_floats keeps it when filled. */
static float *scratch_floats(const struct qp_graph *g, int64_t count, struct qp_err *err)
{
    float *p = qp_alloc((size_t)(count > 0 ? count : 1) * sizeof(float));
    if (!p)
        qp_fail(err, QP_E_NOMEM, "%s: out of memory packing conv weights (%lld bytes)", g->source,
                (long long)count * 4);
    return p;
}

/* The kept copy of count floats of scratch (qp_cpu_keep: once per engine
 * share), scratch freed; NULL with err set (also when scratch is NULL). */
static const float *keep_floats(struct qp_graph *g, float *scratch, int64_t count,
                                struct qp_err *err)
{
    const float *k =
        scratch ? qp_cpu_keep(g, scratch, (size_t)(count > 0 ? count : 1) * sizeof(float), err)
                : NULL;
    qp_free(scratch);
    return k;
}

/* count zeros, kept. */
static const float *keep_zeros(struct qp_graph *g, int64_t count, struct qp_err *err)
{
    float *z = scratch_floats(g, count, err);
    if (z)
        memset(z, 0, (size_t)(count > 0 ? count : 1) * sizeof(float));
    return keep_floats(g, z, count, err);
}

static enum qp_status prepare_ref(struct qp_graph *g, const struct qp_conv_shape *s, const float *w,
                                  const float *bias, struct conv_prep *p, struct qp_err *err)
{
    int64_t nw = s->m * (s->c / s->group) * s->kh * s->kw;
    p->w       = qp_cpu_keep(g, w, (size_t)nw * sizeof(float), err);
    if (!p->w)
        return QP_E_NOMEM;
    if (bias && !(p->bias = qp_cpu_keep(g, bias, (size_t)s->m * sizeof(float), err)))
        return QP_E_NOMEM;
    return QP_OK;
}

static enum qp_status prepare_depthwise(struct qp_graph *g, const struct qp_conv_shape *s,
                                        const float *w, const float *bias, struct conv_prep *p,
                                        struct qp_err *err)
{
    int64_t taps = (int64_t)s->kh * s->kw;
    p->cp        = (s->c + QP_DW_CBLOCK - 1) / QP_DW_CBLOCK * QP_DW_CBLOCK;
    float *wd    = scratch_floats(g, taps * p->cp, err);
    float *bd    = wd ? scratch_floats(g, p->cp, err) : NULL;
    if (!bd) {
        qp_free(wd);
        return QP_E_NOMEM;
    }
    memset(wd, 0, (size_t)(taps * p->cp) * sizeof(float));
    memset(bd, 0, (size_t)p->cp * sizeof(float));
    for (int64_t c = 0; c < s->c; c++) {
        for (int64_t t = 0; t < taps; t++)
            wd[t * p->cp + c] = w[c * taps + t];
        bd[c] = bias ? bias[c] : 0.0f;
    }
    p->w    = keep_floats(g, wd, taps * p->cp, err);
    p->bias = keep_floats(g, bd, p->cp, err); /* frees bd also when w failed */
    if (!p->w || !p->bias)
        return QP_E_NOMEM;
    if (qp_dw_fast3(s) && !(p->zero = keep_zeros(g, s->w * s->c, err)))
        return QP_E_NOMEM;
    return QP_OK;
}

/* Pack group gi's weights as the GEMM's B (k = taps * cg rows, mg columns). */
static enum qp_status pack_group(struct qp_graph *g, const struct qp_conv_shape *s, const float *w,
                                 int64_t gi, struct qp_gemm *gm, struct qp_err *err)
{
    int64_t cg = s->c / s->group, mg = s->m / s->group, taps = (int64_t)s->kh * s->kw;
    int64_t k  = taps * cg;
    int64_t np = (int64_t)qp_gemm_packed_floats(k, mg);
    float  *b  = qp_alloc((size_t)(k * mg) * sizeof(float)); /* row-major [k][mg] */
    float  *pb = b ? scratch_floats(g, np, err) : NULL;
    if (!pb) {
        qp_free(b);
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory packing conv weights", g->source);
    }
    for (int64_t m = 0; m < mg; m++)
        for (int64_t c = 0; c < cg; c++)
            for (int64_t t = 0; t < taps; t++)
                b[(t * cg + c) * mg + m] = w[((gi * mg + m) * cg + c) * taps + t];
    qp_gemm_pack_b(b, mg, 1, k, mg, 1.0f, pb);
    qp_free(b);
    gm->pb = keep_floats(g, pb, np, err);
    if (!gm->pb)
        return QP_E_NOMEM;
    gm->n    = mg;
    gm->taps = taps;
    gm->kc   = cg;
    gm->act  = s->act;
    gm->impl = qp_gemm_best_impl();
    return QP_OK;
}

static enum qp_status prepare_gemm(struct qp_graph *g, const struct qp_conv_shape *s,
                                   const float *w, const float *bias, struct conv_prep *p,
                                   struct qp_err *err)
{
    enum qp_status st;
    if (bias && !(p->bias = qp_cpu_keep(g, bias, (size_t)s->m * sizeof(float), err)))
        return QP_E_NOMEM;
    p->n_gemm = s->group;
    p->gemm   = qp_arena_zalloc(&g->arena, (size_t)s->group * sizeof *p->gemm);
    if (!p->gemm)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory preparing conv", g->source);
    int64_t mg = s->m / s->group;
    for (int64_t gi = 0; gi < s->group; gi++) {
        if ((st = pack_group(g, s, w, gi, &p->gemm[gi], err)) != QP_OK)
            return st;
        p->gemm[gi].bias = p->bias ? p->bias + gi * mg : NULL;
    }
    if (p->path == QP_CONV_PATH_IM2COL && !(p->zero = keep_zeros(g, s->c, err)))
        return QP_E_NOMEM;
    return QP_OK;
}

enum qp_status qp_conv_prepare_path(struct qp_graph *g, struct qp_node *n, enum qp_conv_path path,
                                    struct qp_err *err)
{
    struct qp_conv_shape s;
    qp_conv_shape_of(g, n, &s);
    bool nhwc = g->tensors[n->in[0]].layout == QP_LAYOUT_NHWC, consts = const_params(g, n);
    if ((unsigned)path >= QP_CONV_PATH_COUNT || !qp_conv_path_fits(&s, path) ||
        (path != QP_CONV_PATH_REF && (!nhwc || !consts)))
        return qp_fail(err, QP_E_INVAL, "%s: node '%s': conv path %d does not fit this node",
                       g->source, n->name, (int)path);
    if (!consts) {
        n->prep = NULL; /* run-time weights: run() reads its inputs */
        return QP_OK;
    }
    const float      *w    = g->tensors[n->in[1]].data;
    const float      *bias = n->n_in > 2 && n->in[2] >= 0 ? g->tensors[n->in[2]].data : NULL;
    struct conv_prep *p    = qp_arena_zalloc(&g->arena, sizeof *p);
    if (!p)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory preparing conv", g->source);
    p->path           = path;
    enum qp_status st = QP_OK;
    switch (path) {
    case QP_CONV_PATH_REF:
        st = prepare_ref(g, &s, w, bias, p, err);
        break;
    case QP_CONV_PATH_DEPTHWISE:
        st = prepare_depthwise(g, &s, w, bias, p, err);
        break;
    case QP_CONV_PATH_GEMM:
    case QP_CONV_PATH_IM2COL:
        st = prepare_gemm(g, &s, w, bias, p, err);
        break;
    case QP_CONV_PATH_COUNT:
        break;
    }
    if (st == QP_OK)
        n->prep = p;
    return st;
}

QP_CPU_PREPARE(qp_cpu_conv_prepare)
{
    n->prep = NULL;
    return qp_conv_prepare_path(g, n, node_path(g, n), err);
}

/* ===== run ===== */

struct im2col_job {
    const struct qp_conv_shape *s;
    const struct conv_prep     *p;
    const float                *x;
    float                      *y;
    const float               **ws;
    int64_t                     rows, rows_per_block, slot_ptrs;
};

/* Fill the indirection table for output pixels [r0, r0 + mb). */
static void fill_indirection(const struct im2col_job *j, int64_t r0, int64_t mb, const float **ind)
{
    const struct qp_conv_shape *s    = j->s;
    const int64_t               taps = (int64_t)s->kh * s->kw, step = s->sw * s->c;
    /* columns whose kw taps are all inside the row: [lo, hi) */
    int64_t last = s->w - 1 + s->pl - (int64_t)(s->kw - 1) * s->dw;
    int64_t lo = (s->pl + s->sw - 1) / s->sw, hi = last < 0 ? 0 : last / s->sw + 1;
    /* divide once, then step (n, oh, ow) like an odometer */
    int64_t ow = r0 % s->ow, t = r0 / s->ow, oh = t % s->oh, n = t / s->oh;
    bool    rows_in = false;
    for (int64_t r = 0; r < mb; r++, ind += taps) {
        if (r == 0 || ow == 0) {
            int64_t top = oh * s->sh - s->pt, bottom = top + (int64_t)(s->kh - 1) * s->dh;
            rows_in = top >= 0 && bottom < s->h;
        }
        if (r > 0 && rows_in && ow > lo && ow < hi) {
            /* interior: the previous pixel's taps moved one stride right */
            for (int64_t k = 0; k < taps; k++)
                ind[k] = ind[k - taps] + step;
        } else {
            const float *img = j->x + n * s->h * s->w * s->c;
            for (int64_t i = 0, k = 0; i < s->kh; i++) {
                int64_t ih     = oh * s->sh - s->pt + i * s->dh;
                bool    row_in = ih >= 0 && ih < s->h;
                for (int64_t jj = 0; jj < s->kw; jj++, k++) {
                    int64_t iw = ow * s->sw - s->pl + jj * s->dw;
                    bool    in = row_in && iw >= 0 && iw < s->w;
                    ind[k]     = in ? img + (ih * s->w + iw) * s->c : j->p->zero;
                }
            }
        }
        if (++ow == s->ow) {
            ow = 0;
            if (++oh == s->oh)
                oh = 0, n++;
        }
    }
}

static void im2col_block(void *arg, int64_t block, int slot)
{
    const struct im2col_job *j  = arg;
    int64_t                  r0 = block * j->rows_per_block;
    int64_t       mb  = j->rows - r0 < j->rows_per_block ? j->rows - r0 : j->rows_per_block;
    const float **ind = j->ws + (int64_t)slot * j->slot_ptrs;
    fill_indirection(j, r0, mb, ind);
    int64_t cg = j->s->c / j->s->group, mg = j->s->m / j->s->group;
    for (int64_t gi = 0; gi < j->p->n_gemm; gi++)
        qp_gemm_run_indirect(&j->p->gemm[gi], mb, (const float *const *)ind, gi * cg,
                             j->y + r0 * j->s->m + gi * mg, j->s->m);
}

static void run_im2col(const struct qp_exec *x, const struct qp_conv_shape *s,
                       const struct conv_prep *p)
{
    int64_t rows          = s->n * s->oh * s->ow;
    int64_t max_b         = im2col_block_rows(s);
    int64_t slots         = qp_parallel_slots(x->pool);
    int64_t fair          = (rows + 3 * slots - 1) / (3 * slots);
    fair                  = (fair + QP_GEMM_MR - 1) / QP_GEMM_MR * QP_GEMM_MR;
    int64_t           rpb = slots > 1 && fair < max_b ? fair : max_b;
    struct im2col_job j   = {s, p, x->in[0], x->out[0], x->ws, rows, rpb, max_b * s->kh * s->kw};
    qp_parallel_blocks(x->pool, (rows + rpb - 1) / rpb, im2col_block, &j);
}

static void run_gemm(const struct qp_exec *x, const struct qp_conv_shape *s,
                     const struct conv_prep *p)
{
    int64_t      cg = s->c / s->group, mg = s->m / s->group, rows = s->n * s->h * s->w;
    const float *in = x->in[0];
    float       *y  = x->out[0];
    for (int64_t gi = 0; gi < p->n_gemm; gi++)
        qp_gemm_parallel(x->pool, &p->gemm[gi], rows, in + gi * cg, s->c, y + gi * mg, s->m);
}

struct dw_job {
    struct qp_dw d;
    const float *x;
    float       *y;
    bool         avx2;
};

static void dw_block(void *arg, int64_t block, int slot)
{
    (void)slot;
    const struct dw_job *j = arg;
    if (j->avx2)
        qp_dw_rows_avx2(&j->d, j->x, j->y, block, block + 1);
    else
        qp_dw_rows_c(&j->d, j->x, j->y, block, block + 1);
}

static void run_depthwise(const struct qp_exec *x, const struct qp_conv_shape *s,
                          const struct conv_prep *p)
{
    const struct qp_cpu_features *f = qp_cpu_features();
    struct dw_job j = {{s, p->w, p->bias, p->cp, p->zero}, x->in[0], x->out[0], f->avx2 && f->fma};
    qp_parallel_blocks(x->pool, s->n * s->oh, dw_block, &j);
}

QP_CPU_KERNEL(qp_cpu_conv)
{
    const struct qp_graph  *g = x->g;
    const struct qp_node   *n = x->n;
    const struct conv_prep *p = x->prep;
    struct qp_conv_shape    s;
    qp_conv_shape_of(g, n, &s);
    if (!p || p->path == QP_CONV_PATH_REF) {
        const float *w    = p ? p->w : x->in[1];
        const float *bias = p ? p->bias : n->n_in > 2 ? x->in[2] : NULL;
        qp_conv_ref(&s, x->in[0], g->tensors[n->in[0]].layout, w, bias, x->out[0],
                    g->tensors[n->out[0]].layout);
        return QP_OK;
    }
    switch (p->path) {
    case QP_CONV_PATH_GEMM:
        run_gemm(x, &s, p);
        break;
    case QP_CONV_PATH_IM2COL:
        run_im2col(x, &s, p);
        break;
    case QP_CONV_PATH_DEPTHWISE:
        run_depthwise(x, &s, p);
        break;
    case QP_CONV_PATH_REF:
    case QP_CONV_PATH_COUNT:
        QP_ASSERT(!"unreachable conv path");
    }
    return QP_OK;
}
