// SPDX-License-Identifier: Apache-2.0
/*
 * qconv.c - the QConv kernel (INT8 convolution, NHWC): supports / ws_bytes /
 * prepare / run on top of the INT8 GEMM (qgemm.h) and the INT8 depthwise
 * kernel (qdepthwise.h).
 *
 * Paths, chosen at prepare:
 *   GEMM       1x1, stride 1, no padding: the NHWC input is the A matrix
 *              (rows = pixels, k = C/group), one GEMM per group.
 *   IM2COL     everything else that is not depthwise: blocks of output
 *              pixels spread over the pool; per block and group the rows of
 *              the im2col matrix (k = (i * kw + j) * Cg + c: taps outer,
 *              channels inner, so a tap is one contiguous run of an NHWC
 *              pixel, and with one group and no horizontal dilation a whole
 *              kernel row is one run of kw * C bytes) are written into the
 *              task's slot of the workspace, padding taps filled with the
 *              input's zero point (the real value 0), then one GEMM on them.
 *              A block is at most IM2COL_BYTES of rows, so it is still in L1
 *              / L2 when the GEMM reads it back. Runs of pixels whose every
 *              tap is inside take a loop of fixed 16-byte copies with no
 *              per-tap checks (a stem's 3 x 3 on 3 or 12 channels spent as
 *              long in im2col as in its GEMM).
 *   DEPTHWISE  group == C == M: qdepthwise.h. With a non-zero input zero
 *              point and padding, the input is first copied into a padded
 *              workspace filled with the zero point, because the depthwise
 *              kernel skips padding taps (which is exact only for 0).
 *
 * Zero points and bias fold into the epilogue once, at prepare, in double
 * and rounded once to float:
 *   sum_k (x_k - zx) w_k = acc - zx * sum_k w_k   (every tap counts: padding
 *                                                  taps hold zx as well)
 *   post[c]  = 1 / (y.scale * div[c])   (div: 1 unless equalized, graph.h)
 *   scale[c] = x.scale * w_scale[c] * post[c]   (one division)
 *   bias[c]  = (bias_i32[c] - zx * sum_k w[c][k]) * scale[c]
 * so the kernels only ever see the symmetric int8 x int8 -> int32 GEMM and
 * quant_math.h's epilogue with y's zero point. post is folded into scale
 * and bias only for a homogeneous activation (quant_math.h); any other
 * (Clip, HardSwish, Sigmoid, SiLU ...) runs on the real value and post
 * stays a vector of the epilogue. A float output (y f32: no INT8 reader)
 * gets the real value itself: post 1, stored unrounded (GEMM and IM2COL
 * paths).
 */
#include <string.h>

#include "core/alloc.h"
#include "cpu/conv.h"
#include "cpu/kernels.h"
#include "cpu/parallel.h"
#include "cpu/qdepthwise.h"
#include "cpu/qgemm.h"

enum qconv_path { QCONV_GEMM = 0, QCONV_IM2COL = 1, QCONV_DEPTHWISE = 2 };

struct qconv_prep {
    enum qconv_path      path;
    struct qp_conv_shape s;
    int8_t               zx;        /* input zero point: the padding value */
    bool                 pad_input; /* DEPTHWISE: copy into a padded workspace first */
    int64_t              kg;        /* GEMM / IM2COL: reduction length per group */
    struct qp_qgemm     *gemm;      /* GEMM / IM2COL: one per group */
    struct qp_qdw        dw;        /* DEPTHWISE */
};

static enum qconv_path path_of(const struct qp_conv_shape *s)
{
    if (s->group == s->c && s->group == s->m && s->group > 1)
        return QCONV_DEPTHWISE;
    if (s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 && s->pt == 0 && s->pl == 0 &&
        s->oh == s->h && s->ow == s->w)
        return QCONV_GEMM;
    return QCONV_IM2COL;
}

/* A float output (graph.h, QConv) is written by the GEMM paths only. */
static bool f32_out_ok(const struct qp_graph *g, const struct qp_node *n)
{
    const struct qp_tensor *w   = &g->tensors[n->in[1]];
    int32_t                 grp = n->attr.conv.group;
    return g->tensors[n->out[0]].dtype == QP_DTYPE_F32 &&
           !(grp > 1 && w->rank == 4 && w->dims[0] == grp && w->dims[1] == 1);
}

QP_CPU_SUPPORTS(qp_cpu_qconv_supports)
{
    const struct qp_tensor *x = &g->tensors[n->in[0]], *w = &g->tensors[n->in[1]];
    const struct qp_tensor *y = &g->tensors[n->out[0]];
    return qp_tensor_is_quantized(x) && (qp_tensor_is_quantized(y) || f32_out_ok(g, n)) &&
           x->layout == QP_LAYOUT_NHWC && y->layout == QP_LAYOUT_NHWC &&
           (w->flags & QP_TENSOR_CONST) && w->data;
}

/* Bottom / right padding implied by the output size. */
static int64_t pad_bottom(const struct qp_conv_shape *s)
{
    return (s->oh - 1) * s->sh + (int64_t)(s->kh - 1) * s->dh + 1 - s->h - s->pt;
}
static int64_t pad_right(const struct qp_conv_shape *s)
{
    return (s->ow - 1) * s->sw + (int64_t)(s->kw - 1) * s->dw + 1 - s->w - s->pl;
}

static bool needs_pad_copy(const struct qp_graph *g, const struct qp_node *n,
                           const struct qp_conv_shape *s)
{
    return g->tensors[n->in[0]].zero_point != 0 &&
           (s->pt > 0 || s->pl > 0 || pad_bottom(s) > 0 || pad_right(s) > 0);
}

#define IM2COL_BYTES (32 * 1024) /* im2col rows per block, at most */
#define COPY_SLACK 16            /* a run is copied in 16-byte pieces */

/* Rows per im2col block for a row of kg bytes: a multiple of the GEMM's
 * row tile, at least one tile. */
static int64_t im2col_rows(int64_t kg)
{
    int64_t rows = IM2COL_BYTES / kg / QP_QGEMM_MR * QP_QGEMM_MR;
    return rows < QP_QGEMM_MR ? QP_QGEMM_MR : rows;
}

/* One task's im2col block in the workspace (sized for QP_PARALLEL_MAX_SLOTS
 * tasks: ws_bytes is asked before any pool exists). */
static size_t im2col_slot_bytes(int64_t kg)
{
    return (size_t)(im2col_rows(kg) * kg + COPY_SLACK);
}

QP_CPU_WS(qp_cpu_qconv_ws)
{
    struct qp_conv_shape s;
    qp_conv_shape_of(g, n, &s);
    switch (path_of(&s)) {
    case QCONV_IM2COL:
        return QP_PARALLEL_MAX_SLOTS * im2col_slot_bytes(s.c / s.group * s.kh * s.kw);
    case QCONV_DEPTHWISE: {
        if (!needs_pad_copy(g, n, &s))
            return 0;
        int64_t hp = s.h + s.pt + (pad_bottom(&s) > 0 ? pad_bottom(&s) : 0);
        int64_t wp = s.w + s.pl + (pad_right(&s) > 0 ? pad_right(&s) : 0);
        return (size_t)(s.n * hp * wp * s.c);
    }
    default:
        return 0;
    }
}

static enum qp_status prepare_gemms(struct qp_graph *g, struct qp_node *n, struct qconv_prep *p,
                                    const struct qp_q_epilogue *ep, struct qp_err *err)
{
    const struct qp_conv_shape *s  = &p->s;
    int64_t                     mg = s->m / s->group, cg = s->c / s->group;
    int64_t                     kk = cg * s->kh * s->kw;
    p->kg                          = kk;
    p->gemm                        = qp_arena_alloc(&g->arena, (size_t)s->group * sizeof *p->gemm);
    int8_t *b = qp_alloc((size_t)(mg * kk)); /* one group's B in im2col order */
    if (!p->gemm || !b) {
        qp_free(b);
        return qp_fail(err, QP_E_NOMEM, "%s: node '%s': out of memory packing QConv weights",
                       g->source, n->name);
    }
    const int8_t  *w  = g->tensors[n->in[1]].data; /* [M][Cg][kh][kw] */
    enum qp_status st = QP_OK;
    for (int32_t gi = 0; gi < s->group && st == QP_OK; gi++) {
        for (int64_t o = 0; o < mg; o++)
            for (int64_t c = 0; c < cg; c++)
                for (int64_t t = 0; t < (int64_t)s->kh * s->kw; t++)
                    b[o * kk + t * cg + c] = w[((gi * mg + o) * cg + c) * s->kh * s->kw + t];
        enum qp_qgemm_impl impl  = qp_qgemm_best_impl();
        size_t             bytes = qp_qgemm_packed_bytes(impl, kk, mg);
        void              *pb    = qp_alloc(bytes); /* scratch; qp_cpu_keep keeps it */
        if (!pb) {
            st = qp_fail(err, QP_E_NOMEM, "%s: node '%s': out of memory packing QConv weights",
                         g->source, n->name);
            break;
        }
        qp_qgemm_pack(impl, b, kk, kk, mg, pb);
        const void *kept = qp_cpu_keep(g, pb, bytes, err);
        qp_free(pb);
        if (!kept) {
            st = QP_E_NOMEM;
            break;
        }
        struct qp_q_epilogue gep = *ep;
        gep.scale += gi * mg;
        gep.bias += gi * mg;
        if (gep.post)
            gep.post += gi * mg;
        st = qp_qgemm_init(&p->gemm[gi], impl, mg, kk, kept, &gep, err);
    }
    qp_free(b);
    return st;
}

static enum qp_status prepare_depthwise(struct qp_graph *g, struct qp_node *n, struct qconv_prep *p,
                                        const struct qp_q_epilogue *ep, struct qp_err *err)
{
    const struct qp_conv_shape *s   = &p->s;
    struct qp_qdw_geom          geo = {s->n,  s->h,  s->w,  s->c,  s->kh, s->kw, s->sh, s->sw,
                                       s->dh, s->dw, s->pt, s->pl, 0,     0,     0,     0};
    int64_t                     pb = pad_bottom(s), pr = pad_right(s);
    geo.pb       = (int32_t)(pb > 0 ? pb : 0);
    geo.pr       = (int32_t)(pr > 0 ? pr : 0);
    p->pad_input = needs_pad_copy(g, n, s);
    if (p->pad_input) { /* the kernel sees the padded copy and no padding */
        geo.h += geo.pt + geo.pb;
        geo.w += geo.pl + geo.pr;
        geo.pt = geo.pl = geo.pb = geo.pr = 0;
    }
    enum qp_status st = qp_qdw_geom_resolve(&geo, err);
    if (st != QP_OK)
        return st;
    size_t   bytes = qp_qdw_packed_bytes(&geo);
    int16_t *pw    = qp_alloc(bytes); /* scratch; qp_cpu_keep keeps it */
    if (!pw)
        return qp_fail(err, QP_E_NOMEM, "%s: node '%s': out of memory packing QConv weights",
                       g->source, n->name);
    qp_qdw_pack(&geo, g->tensors[n->in[1]].data, pw);
    const int16_t *kept = qp_cpu_keep(g, pw, bytes, err);
    qp_free(pw);
    return kept ? qp_qdw_init(&p->dw, &geo, kept, ep, err) : QP_E_NOMEM;
}

QP_CPU_PREPARE(qp_cpu_qconv_prepare)
{
    struct qconv_prep *p = qp_arena_alloc(&g->arena, sizeof *p);
    if (!p)
        return qp_fail(err, QP_E_NOMEM, "%s: node '%s': out of memory preparing QConv", g->source,
                       n->name);
    memset(p, 0, sizeof *p);
    qp_conv_shape_of(g, n, &p->s);
    p->path = path_of(&p->s);
    p->zx   = (int8_t)g->tensors[n->in[0]].zero_point;
    struct qp_q_epilogue ep;
    int64_t              kk = p->s.c / p->s.group * p->s.kh * p->s.kw;
    enum qp_status       st = qp_qconv_fold_epilogue(g, n, kk, &ep, err);
    if (st == QP_OK)
        st = p->path == QCONV_DEPTHWISE ? prepare_depthwise(g, n, p, &ep, err)
                                        : prepare_gemms(g, n, p, &ep, err);
    if (st != QP_OK)
        return st;
    n->prep = p;
    return QP_OK;
}

/* ===== run ===== */

/* Element off of the output (int8, or float at a float output). */
static void *out_at(const struct qconv_prep *p, void *y, int64_t off)
{
    return (char *)y + off * (p->gemm[0].ep.f32_out ? (int64_t)sizeof(float) : 1);
}

struct im2col_job {
    const struct qconv_prep *p;
    const int8_t            *x, *x_end; /* the input and one past its last byte */
    void                    *y;
    int8_t                  *ws;
    int64_t                  cg, run; /* channels per group; bytes per kernel row (kw * cg) */
    bool                     whole;   /* one group, no horizontal dilation: runs of kw pixels */
};

/* n bytes from src to dst in 16-byte pieces: may write up to 15 bytes past
 * dst + n (the caller's slack, or bytes it writes next) and read past
 * src + n, but never past end. */
static void copy_run(int8_t *dst, const int8_t *src, int64_t n, const int8_t *end)
{
    if (src + ((n + 15) & ~(int64_t)15) > end) {
        memcpy(dst, src, (size_t)n);
        return;
    }
    for (int64_t o = 0; o < n; o += 16)
        memcpy(dst + o, src + o, 16);
}

/* Im2col row of output pixel (b, oh, ow) for group gi into dst (kg bytes,
 * writing up to COPY_SLACK past it). */
static void im2col_row(const struct im2col_job *j, int64_t b, int64_t oh, int64_t ow, int32_t gi,
                       int8_t *dst)
{
    const struct qp_conv_shape *s  = &j->p->s;
    int64_t                     cg = j->cg, run = j->run;
    const int8_t               *img = j->x + b * s->h * s->w * s->c + gi * cg;
    int64_t                     iw0 = ow * s->sw - s->pl;
    /* one run per kernel row when its taps are adjacent and inside */
    bool rows_whole = j->whole && iw0 >= 0 && iw0 + s->kw <= s->w;
    for (int64_t i = 0; i < s->kh; i++, dst += run) {
        int64_t ih = oh * s->sh - s->pt + i * s->dh;
        if (ih < 0 || ih >= s->h) {
            memset(dst, j->p->zx, (size_t)run);
            continue;
        }
        const int8_t *src = img + (ih * s->w + iw0) * s->c;
        if (rows_whole) {
            copy_run(dst, src, run, j->x_end);
            continue;
        }
        for (int64_t jj = 0; jj < s->kw; jj++) {
            int64_t iw = iw0 + jj * s->dw;
            if (iw < 0 || iw >= s->w)
                memset(dst + jj * cg, j->p->zx, (size_t)cg);
            else
                copy_run(dst + jj * cg, src + jj * s->dw * s->c, cg, j->x_end);
        }
    }
}

/* The pixels of output row (b, oh) from ow on that the fast loop below
 * may take (im2col_interior): every tap inside the image, and every
 * 16-byte piece read before the input's end. */
static int64_t interior_end(const struct im2col_job *j, int64_t b, int64_t oh, int64_t ow)
{
    const struct qp_conv_shape *s   = &j->p->s;
    int64_t                     ih0 = oh * s->sh - s->pt, ihl = ih0 + (s->kh - 1) * s->dh;
    int64_t                     lim = s->w - s->kw + s->pl; /* iw0 + kw <= w: ow * sw <= lim */
    if (!j->whole || ih0 < 0 || ihl >= s->h || ow * s->sw < s->pl || lim < 0)
        return ow;
    int64_t end = lim / s->sw + 1;
    end         = end < s->ow ? end : s->ow;
    /* the last piece of pixel e - 1's last kernel row ends by x_end */
    int64_t last = ((b * s->h + ihl) * s->w) * s->c + ((j->run + 15) & ~(int64_t)15);
    int64_t room = (int64_t)(j->x_end - j->x) - last; /* bytes for (e - 1) * sw - pl pixels */
    int64_t fit  = room < 0 ? 0 : (room / s->c + s->pl) / s->sw + 1;
    return end < fit ? end : fit;
}

/* Im2col rows of output pixels (b, oh, [ow, e)) of group 0, all inside
 * (interior_end): kh runs of kw * C bytes each, in 16-byte pieces. */
static void im2col_interior(const struct im2col_job *j, int64_t b, int64_t oh, int64_t ow,
                            int64_t e, int8_t *dst)
{
    const struct qp_conv_shape *s   = &j->p->s;
    int64_t                     run = j->run, kg = j->p->kg;
    int64_t                     step = s->sw * s->c, dh = s->dh * s->w * s->c;
    const int8_t *src = j->x + ((b * s->h + oh * s->sh - s->pt) * s->w + ow * s->sw - s->pl) * s->c;
    for (; ow < e; ow++, src += step, dst += kg)
        for (int64_t i = 0; i < s->kh; i++)
            for (int64_t o = 0; o < run; o += 16)
                memcpy(dst + i * run + o, src + i * dh + o, 16);
}

/* Output pixels [r0, r0 + mb): per group, im2col into the slot, then GEMM. */
static void im2col_block(void *arg, int64_t r0, int64_t r1, int slot)
{
    const struct im2col_job    *j   = arg;
    const struct qp_conv_shape *s   = &j->p->s;
    int64_t                     mb  = r1 - r0;
    int8_t                     *col = j->ws + (size_t)slot * im2col_slot_bytes(j->p->kg);
    int64_t                     mg  = s->m / s->group;
    for (int32_t gi = 0; gi < s->group; gi++) {
        /* divide once, then step (b, oh, ow) like an odometer */
        int64_t ow = r0 % s->ow, t = r0 / s->ow, oh = t % s->oh, b = t / s->oh;
        for (int64_t r = 0; r < mb;) {
            int64_t e = interior_end(j, b, oh, ow);
            e         = e - ow < mb - r ? e : ow + (mb - r);
            if (e > ow) { /* a run of inside pixels (one group: gi == 0) */
                im2col_interior(j, b, oh, ow, e, col + r * j->p->kg);
                r += e - ow, ow = e;
            } else {
                im2col_row(j, b, oh, ow, gi, col + r * j->p->kg);
                r++, ow++;
            }
            if (ow == s->ow) {
                ow = 0;
                if (++oh == s->oh)
                    oh = 0, b++;
            }
        }
        qp_qgemm_run(&j->p->gemm[gi], mb, col, j->p->kg, out_at(j->p, j->y, r0 * s->m + gi * mg),
                     s->m);
    }
}

static void run_gemms(const struct qp_exec *x, const struct qconv_prep *p)
{
    const struct qp_conv_shape *s    = &p->s;
    const int8_t               *in   = x->in[0];
    void                       *out  = x->out[0];
    int64_t                     rows = s->n * s->oh * s->ow, cg = s->c / s->group;
    int64_t                     mg = s->m / s->group;
    if (p->path == QCONV_GEMM) {
        for (int32_t gi = 0; gi < s->group; gi++)
            qp_qgemm_parallel(x->pool, &p->gemm[gi], rows, in + gi * cg, s->c,
                              out_at(p, out, gi * mg), s->m);
        return;
    }
    struct im2col_job j = {p,  in,         in + s->n * s->h * s->w * s->c, out, x->ws,
                           cg, cg * s->kw, s->group == 1 && s->dw == 1};
    qp_parallel_ranges(x->pool, rows,
                       qp_parallel_rows(x->pool, rows, im2col_rows(p->kg), QP_QGEMM_MR),
                       im2col_block, &j);
}

/* Copy x into the padded workspace (zero point around it). */
static const int8_t *pad_copy(const struct qp_exec *x, const struct qconv_prep *p)
{
    const struct qp_conv_shape *s  = &p->s;
    const struct qp_qdw_geom   *g  = &p->dw.geo;
    int8_t                     *ws = x->ws;
    const int8_t               *in = x->in[0];
    memset(ws, p->zx, (size_t)(g->n * g->h * g->w * g->c));
    for (int64_t b = 0; b < s->n; b++)
        for (int64_t h = 0; h < s->h; h++)
            memcpy(ws + ((b * g->h + h + s->pt) * g->w + s->pl) * g->c,
                   in + (b * s->h + h) * s->w * s->c, (size_t)(s->w * s->c));
    return ws;
}

QP_CPU_KERNEL(qp_cpu_qconv)
{
    const struct qconv_prep *p = x->prep;
    if (!p) /* constant folding runs kernels unprepared: QConv is never folded */
        return qp_fail(NULL, QP_E_UNSUPPORTED, "QConv needs prepare()");
    if (p->path == QCONV_DEPTHWISE)
        qp_qdw_parallel(x->pool, &p->dw, p->pad_input ? pad_copy(x, p) : x->in[0], x->out[0]);
    else
        run_gemms(x, p);
    return QP_OK;
}
