// SPDX-License-Identifier: Apache-2.0
/*
 * resize.c - Resize over H and W of a rank-4 f32 or quantized i8 tensor:
 * nearest and (bi)linear, every coordinate transform of ONNX except
 * tf_crop_and_resize.
 *
 * Layout-aware: the layout pass hands it NHWC data, where each pixel is C
 * contiguous floats. A PLAIN (NCHW) tensor is the same problem with N*C
 * images of one channel, so both layouts share one loop over "pixels of
 * width ch". Per output pixel the source coordinate is computed the way
 * ONNX Runtime computes it, in f32 and with the same operation order:
 *   x_orig = transform(x_out, scale, in_len, out_len)        (coord table)
 *   nearest: index = round_mode(x_orig) clamped to [0, in-1] (rounding table)
 *   linear:  x_orig clamped to [0, in-1]; x0 = (int)x_orig, x1 = min(x0+1,
 *            in-1); weights |x_orig - x1|, |x_orig - x0| (0.5 each when
 *            x0 == x1); y = dx2 dy2 X00 + dx1 dy2 X01 + dx2 dy1 X10 + dx1 dy1 X11
 * scale[0], scale[1] (H, W) are output/input as the spec defines them and are
 * what the transforms divide by. Coordinates are recomputed per pixel rather
 * than tabulated, so the kernel needs no workspace; that costs a few flops
 * per pixel next to C channel copies. Rows of the output are split over the
 * thread pool.
 *
 * Quantized i8 tensors: nearest moves bytes (the output keeps the input's
 * scale and zero point; supports() insists). Linear dequantizes the four
 * neighbours (a 256-entry table of qp_q_dequantize, the same values), runs
 * the f32 expression above unchanged and quantizes the result with the
 * OUTPUT tensor's scale and zero point (qp_q_quantize); whole vectors of
 * 8 channels go through qresize_avx2.c on CPUs with AVX2 (bit-identical,
 * the proof is there). ONNX Runtime's int8 Resize interpolates the raw
 * int8 values instead, so the two agree only to +-1 LSB.
 */
#include "cpu/kernels.h"

#include <math.h>
#include <string.h>

#include "cpu/resize_i8.h"
#include "cpu/strided.h"
#include "quant/quant_math.h"

typedef float (*coord_fn)(float xo, float scale, int64_t in_len, int64_t out_len);

static float coord_half_pixel(float xo, float scale, int64_t in_len, int64_t out_len)
{
    (void)in_len;
    (void)out_len;
    return (xo + 0.5f) / scale - 0.5f;
}

static float coord_pytorch_half_pixel(float xo, float scale, int64_t in_len, int64_t out_len)
{
    (void)in_len;
    return out_len > 1 ? (xo + 0.5f) / scale - 0.5f : 0.0f;
}

static float coord_align_corners(float xo, float scale, int64_t in_len, int64_t out_len)
{
    (void)scale;
    return out_len == 1 ? 0.0f : xo * (float)(in_len - 1) / (float)(out_len - 1);
}

static float coord_asymmetric(float xo, float scale, int64_t in_len, int64_t out_len)
{
    (void)in_len;
    (void)out_len;
    return xo / scale;
}

static float coord_tf_half_pixel_for_nn(float xo, float scale, int64_t in_len, int64_t out_len)
{
    (void)in_len;
    (void)out_len;
    return (xo + 0.5f) / scale;
}

static const coord_fn coord_fns[] = {
    [QP_COORD_HALF_PIXEL]           = coord_half_pixel,
    [QP_COORD_PYTORCH_HALF_PIXEL]   = coord_pytorch_half_pixel,
    [QP_COORD_ALIGN_CORNERS]        = coord_align_corners,
    [QP_COORD_ASYMMETRIC]           = coord_asymmetric,
    [QP_COORD_TF_HALF_PIXEL_FOR_NN] = coord_tf_half_pixel_for_nn,
};
#define N_COORD ((unsigned)(sizeof coord_fns / sizeof coord_fns[0]))

/* The caller clamps v to [-1, in_len] first, so the casts are in range. */
typedef float (*round_fn)(float v);

static float round_prefer_floor(float v)
{
    return v == (float)(int64_t)v + 0.5f ? floorf(v) : roundf(v); /* ORT's exact test */
}

static float round_prefer_ceil(float v)
{
    return roundf(v); /* halves away from zero; negative halves clamp to 0 anyway */
}

static const round_fn round_fns[] = {
    [QP_NEAREST_ROUND_PREFER_FLOOR] = round_prefer_floor,
    [QP_NEAREST_ROUND_PREFER_CEIL]  = round_prefer_ceil,
    [QP_NEAREST_FLOOR]              = floorf,
    [QP_NEAREST_CEIL]               = ceilf,
};
#define N_ROUND ((unsigned)(sizeof round_fns / sizeof round_fns[0]))

struct axis_map {
    coord_fn coord;
    float    scale;
    int64_t  in, out;
};

static int64_t nearest_index(const struct axis_map *m, round_fn rnd, int64_t o)
{
    float v         = m->coord((float)o, m->scale, m->in, m->out);
    v               = fminf(fmaxf(v, -1.0f), (float)m->in); /* also maps NaN into range */
    const int64_t i = (int64_t)rnd(v);
    return i < 0 ? 0 : (i >= m->in ? m->in - 1 : i);
}

struct linear_tap {
    int64_t i0, i1;
    float   d0, d1; /* d0 = |v - i0| weighs i1; d1 = |v - i1| weighs i0 */
};

static struct linear_tap linear_taps(const struct axis_map *m, int64_t o)
{
    float v = m->coord((float)o, m->scale, m->in, m->out);
    v       = fmaxf(0.0f, fminf(v, (float)(m->in - 1)));
    struct linear_tap t;
    t.i0 = (int64_t)v < m->in - 1 ? (int64_t)v : m->in - 1;
    t.i1 = t.i0 + 1 < m->in - 1 ? t.i0 + 1 : m->in - 1;
    t.d0 = fabsf(v - (float)t.i0);
    t.d1 = fabsf(v - (float)t.i1);
    if (t.i0 == t.i1)
        t.d0 = t.d1 = 0.5f;
    return t;
}

void qp_resize_linear_src(const struct qp_resize_attr *a, int32_t axis, int64_t in, int64_t out,
                          int64_t o, int64_t *i0, int64_t *i1, float *d0, float *d1)
{
    const struct axis_map   m = {coord_fns[a->coord], a->scale[axis], in, out};
    const struct linear_tap t = linear_taps(&m, o);
    *i0 = t.i0, *i1 = t.i1, *d0 = t.d0, *d1 = t.d1;
}

int64_t qp_resize_nearest_src(const struct qp_resize_attr *a, int32_t axis, int64_t in,
                              int64_t out, int64_t o)
{
    const struct axis_map m = {coord_fns[a->coord], a->scale[axis], in, out};
    return nearest_index(&m, round_fns[a->nearest], o);
}

struct resize_job {
    const char         *x;
    char               *y;
    size_t              es; /* bytes per element: 4 (f32) or 1 (i8) */
    int64_t             ch; /* elements per pixel */
    struct axis_map     h, w;
    enum qp_resize_mode mode;
    round_fn            rnd;
    /* quantized i8 linear: qp_q_dequantize of every input value (index
     * q + 128) and the parameters; the AVX2 channel loop when avx2 */
    float   deq[256];
    float   in_scale, out_scale;
    int32_t in_zp, out_zp;
    bool    avx2;
};

static void nearest_row(const struct resize_job *j, const char *src, char *dst, int64_t oy)
{
    const size_t pix = (size_t)j->ch * j->es;
    const char  *row = src + nearest_index(&j->h, j->rnd, oy) * j->w.in * (int64_t)pix;
    for (int64_t ox = 0; ox < j->w.out; ox++)
        memcpy(dst + ox * (int64_t)pix, row + nearest_index(&j->w, j->rnd, ox) * (int64_t)pix, pix);
}

/* linear_row on quantized i8: the same weights and expression on the
 * dequantized neighbours, quantized with the output's parameters. */
static void linear_row_i8(const struct resize_job *j, const int8_t *src, int8_t *dst, int64_t oy)
{
    const struct linear_tap ty = linear_taps(&j->h, oy);
    const int8_t           *r0 = src + ty.i0 * j->w.in * j->ch, *r1 = src + ty.i1 * j->w.in * j->ch;
    const float            *d = j->deq - QP_Q_MIN;
    for (int64_t ox = 0; ox < j->w.out; ox++) {
        const struct linear_tap tx  = linear_taps(&j->w, ox);
        const int8_t           *p00 = r0 + tx.i0 * j->ch, *p01 = r0 + tx.i1 * j->ch;
        const int8_t           *p10 = r1 + tx.i0 * j->ch, *p11 = r1 + tx.i1 * j->ch;
        int8_t                 *o = dst + ox * j->ch;
        int64_t                 c = 0;
        if (j->avx2) {
            const struct qp_resize_lerp_i8 l = {
                {p00, p01, p10, p11},
                {tx.d1 * ty.d1, tx.d0 * ty.d1, tx.d1 * ty.d0, tx.d0 * ty.d0},
                j->ch, j->in_scale, j->out_scale, j->in_zp, j->out_zp};
            c = qp_resize_lerp_i8_avx2(&l, o);
        }
        const float w[4] = {tx.d1 * ty.d1, tx.d0 * ty.d1, tx.d1 * ty.d0, tx.d0 * ty.d0};
        for (; c < j->ch; c++)
            o[c] = qp_q_quantize(qp_resize_lerp(w, d[p00[c]], d[p01[c]], d[p10[c]], d[p11[c]]),
                                 j->out_scale, j->out_zp);
    }
}

static void linear_row(const struct resize_job *j, const float *src, float *dst, int64_t oy)
{
    const struct linear_tap ty = linear_taps(&j->h, oy);
    const float            *r0 = src + ty.i0 * j->w.in * j->ch, *r1 = src + ty.i1 * j->w.in * j->ch;
    for (int64_t ox = 0; ox < j->w.out; ox++) {
        const struct linear_tap tx  = linear_taps(&j->w, ox);
        const float            *p00 = r0 + tx.i0 * j->ch, *p01 = r0 + tx.i1 * j->ch;
        const float            *p10 = r1 + tx.i0 * j->ch, *p11 = r1 + tx.i1 * j->ch;
        float                  *o = dst + ox * j->ch;
        const float             w[4] = {tx.d1 * ty.d1, tx.d0 * ty.d1, tx.d1 * ty.d0, tx.d0 * ty.d0};
        for (int64_t c = 0; c < j->ch; c++)
            o[c] = qp_resize_lerp(w, p00[c], p01[c], p10[c], p11[c]);
    }
}

static void resize_range(void *arg, int64_t begin, int64_t end)
{
    const struct resize_job *j = arg;
    for (int64_t t = begin; t < end; t++) {
        const int64_t img = t / j->h.out, oy = t % j->h.out;
        const char   *src = j->x + img * j->h.in * j->w.in * j->ch * (int64_t)j->es;
        char         *dst = j->y + t * j->w.out * j->ch * (int64_t)j->es;
        if (j->mode == QP_RESIZE_NEAREST)
            nearest_row(j, src, dst, oy);
        else if (j->es == 1)
            linear_row_i8(j, (const int8_t *)src, (int8_t *)dst, oy);
        else
            linear_row(j, (const float *)(const void *)src, (float *)(void *)dst, oy);
    }
}

QP_CPU_KERNEL(qp_cpu_resize)
{
    const struct qp_tensor      *ti = &x->g->tensors[x->n->in[0]];
    const struct qp_tensor      *to = &x->g->tensors[x->n->out[0]];
    const struct qp_resize_attr *a  = &x->n->attr.resize;

    if (!qp_cpu_resize_supports(x->g, x->n))
        return QP_E_UNSUPPORTED;
    if (ti->layout != to->layout || !(a->scale[0] > 0.0f) || !(a->scale[1] > 0.0f))
        return QP_E_INVAL;
    /* logical N, C, H, W; a PLAIN tensor is N*C one-channel images */
    const bool        nhwc   = ti->layout == QP_LAYOUT_NHWC;
    const int64_t     images = nhwc ? ti->dims[0] : ti->dims[0] * ti->dims[1];
    struct resize_job j      = {
             .x    = x->in[0],
             .y    = x->out[0],
             .es   = qp_dtype_size(ti->dtype),
             .ch   = nhwc ? ti->dims[1] : 1,
             .h    = {coord_fns[a->coord], a->scale[0], ti->dims[2], to->dims[2]},
             .w    = {coord_fns[a->coord], a->scale[1], ti->dims[3], to->dims[3]},
             .mode = a->mode,
             .rnd  = round_fns[a->nearest],
    };
    const int64_t rows = images * j.h.out;
    if (rows == 0 || j.w.out == 0 || j.ch == 0)
        return QP_OK;
    if (j.h.in <= 0 || j.w.in <= 0)
        return QP_E_INVAL;
    if (ti->dtype == QP_DTYPE_I8) {
        for (int32_t q = QP_Q_MIN; q <= QP_Q_MAX; q++)
            j.deq[q - QP_Q_MIN] = qp_q_dequantize((int8_t)q, ti->scale, ti->zero_point);
        const struct qp_cpu_features *f = qp_cpu_features();
        j.in_scale  = ti->scale;
        j.in_zp     = ti->zero_point;
        j.out_scale = to->scale;
        j.out_zp    = to->zero_point;
        j.avx2      = f->avx2 && f->fma && !f->force_reference;
    }
    if (x->pool && rows > 1 && rows * j.w.out * j.ch >= QP_CPU_PAR_MIN)
        qp_pool_for(x->pool, rows, resize_range, &j);
    else
        resize_range(&j, 0, rows);
    return QP_OK;
}

QP_CPU_SUPPORTS(qp_cpu_resize_supports)
{
    const struct qp_tensor      *ti = &g->tensors[n->in[0]];
    const struct qp_tensor      *to = &g->tensors[n->out[0]];
    const struct qp_resize_attr *a  = &n->attr.resize;
    /* i8: quantized in and out; nearest moves values, so the parameters agree */
    const bool i8 = qp_tensor_is_quantized(ti) && qp_tensor_is_quantized(to) &&
                    (a->mode != QP_RESIZE_NEAREST ||
                     (ti->scale == to->scale && ti->zero_point == to->zero_point));
    return ((ti->dtype == QP_DTYPE_F32 && to->dtype == QP_DTYPE_F32) || i8) && ti->rank == 4 &&
           to->rank == 4 && ti->dims[0] == to->dims[0] && ti->dims[1] == to->dims[1] &&
           (a->mode == QP_RESIZE_NEAREST || a->mode == QP_RESIZE_LINEAR) &&
           (unsigned)a->coord < N_COORD && coord_fns[a->coord] && (unsigned)a->nearest < N_ROUND &&
           round_fns[a->nearest];
}
