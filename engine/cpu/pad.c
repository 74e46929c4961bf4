// SPDX-License-Identifier: Apache-2.0
/*
 * pad.c - the Pad kernel: constant, reflect and edge modes over PHYSICAL
 * axes, negative pads crop.
 *
 * Every output index maps back to an input index per dim (src_index):
 * inside the copied window it is i - begin; outside, constant mode fills,
 * edge clamps and reflect mirrors without repeating the border (numpy
 * "reflect", periodic when a pad is longer than the dim). The output is
 * walked row by row (last physical dim): the window part of a row is one
 * memcpy, only the borders go element by element. Dtype-agnostic: elements
 * are moved as bytes and the fill value is converted once to the output's
 * dtype (cast.h), so every dtype and mode is supported. On a quantized i8
 * tensor the fill value is a real number, so it is quantized with the
 * output's scale and zero point (qp_q_quantize): a zero fill becomes the
 * zero point, not the int8 0 (which means -zp * scale).
 */
#include "cpu/kernels.h"

#include <string.h>

#include "cpu/cast.h"
#include "cpu/strided.h"
#include "quant/quant_math.h"

struct pad_job {
    int32_t          rank; /* >= 1 */
    int64_t          id[QP_MAX_RANK], od[QP_MAX_RANK], is[QP_MAX_RANK], begin[QP_MAX_RANK];
    enum qp_pad_mode mode;
    size_t           es;
    bool             zero_fill;
    _Alignas(8) unsigned char fill[8]; /* one element of the fill value */
    const char      *src;
    char            *dst;
};

/* Input index read by output index i along a dim of n input elements with
 * begin elements padded in front; -1 where constant mode fills. */
static int64_t src_index(enum qp_pad_mode mode, int64_t i, int64_t begin, int64_t n)
{
    int64_t s = i - begin;
    if (s >= 0 && s < n)
        return s;
    switch (mode) {
    case QP_PAD_CONSTANT:
        return -1;
    case QP_PAD_EDGE:
        return s < 0 ? 0 : n - 1;
    case QP_PAD_REFLECT: {
        if (n == 1)
            return 0;
        const int64_t period = 2 * (n - 1);
        s %= period;
        s = s < 0 ? s + period : s;
        return s < n ? s : period - s;
    }
    }
    return -1;
}

static void fill_elems(const struct pad_job *j, char *o, int64_t n)
{
    if (j->zero_fill) {
        memset(o, 0, (size_t)n * j->es);
        return;
    }
    for (int64_t k = 0; k < n; k++)
        memcpy(o + k * (int64_t)j->es, j->fill, j->es);
}

/* Output elements [from, to) of a row outside the copied window. */
static void pad_border(const struct pad_job *j, const char *src, char *o, int64_t from, int64_t to)
{
    const int32_t l  = j->rank - 1;
    const int64_t es = (int64_t)j->es;
    for (int64_t i = from; i < to; i++) {
        const int64_t s = src_index(j->mode, i, j->begin[l], j->id[l]);
        if (s < 0)
            fill_elems(j, o + i * es, 1);
        else
            memcpy(o + i * es, src + s * es, j->es);
    }
}

/* One output row (along the last dim) from input row src (NULL: all fill). */
static void pad_row(const struct pad_job *j, const char *src, char *o)
{
    const int32_t l = j->rank - 1;
    const int64_t m = j->od[l], n = j->id[l], b = j->begin[l], es = (int64_t)j->es;
    if (!src) {
        fill_elems(j, o, m);
        return;
    }
    /* window: output indices whose source b..b+n-1 exists, clipped to [0, m) */
    const int64_t lo = b < 0 ? 0 : (b > m ? m : b);
    int64_t       hi = b + n < 0 ? 0 : (b + n > m ? m : b + n);
    hi               = hi < lo ? lo : hi;
    if (hi > lo)
        memcpy(o + lo * es, src + (lo - b) * es, (size_t)((hi - lo) * es));
    pad_border(j, src, o, 0, lo);
    pad_border(j, src, o, hi, m);
}

static void pad_range(void *arg, int64_t begin, int64_t end)
{
    const struct pad_job *j     = arg;
    const int32_t         l     = j->rank - 1;
    const int64_t         row_b = j->od[l] * (int64_t)j->es;

    for (int64_t r = begin; r < end; r++) {
        int64_t     rem = r, off = 0;
        const char *src = j->src;
        for (int32_t d = l - 1; d >= 0 && src; d--) {
            const int64_t s = src_index(j->mode, rem % j->od[d], j->begin[d], j->id[d]);
            rem /= j->od[d];
            if (s < 0)
                src = NULL; /* this row lies in a constant border */
            off += s * j->is[d];
        }
        pad_row(j, src ? src + off * (int64_t)j->es : NULL, j->dst + r * row_b);
    }
}

QP_CPU_KERNEL(qp_cpu_pad)
{
    const struct qp_tensor   *ti = &x->g->tensors[x->n->in[0]];
    const struct qp_tensor   *to = &x->g->tensors[x->n->out[0]];
    const struct qp_pad_attr *a  = &x->n->attr.pad;
    struct pad_job            j  = {.rank = ti->rank,
                                    .mode = a->mode,
                                    .es   = qp_dtype_size(ti->dtype),
                                    .src  = x->in[0],
                                    .dst  = x->out[0]};

    if (ti->rank != to->rank || ti->dtype != to->dtype || j.es == 0 || j.es > sizeof j.fill ||
        (unsigned)a->mode > QP_PAD_EDGE)
        return QP_E_INVAL;
    if (ti->rank == 0) {
        memcpy(j.dst, j.src, j.es);
        return QP_OK;
    }
    qp_tensor_phys_dims(ti, j.id);
    qp_tensor_phys_dims(to, j.od);
    qp_cpu_dense_strides(j.id, j.rank, j.is);
    for (int32_t d = 0; d < j.rank; d++) {
        j.begin[d] = a->pads[d];
        if (j.od[d] != j.id[d] + a->pads[d] + a->pads[j.rank + d] || j.od[d] < 0)
            return QP_E_INVAL;
        if (j.od[d] == 0)
            return QP_OK;
        if (j.id[d] == 0 && a->mode != QP_PAD_CONSTANT)
            return QP_E_INVAL; /* nothing to reflect or extend */
    }
    if (qp_tensor_is_quantized(to)) {
        int8_t q = qp_q_quantize(a->value, to->scale, to->zero_point);
        memcpy(j.fill, &q, sizeof q);
    } else {
        qp_cpu_cast_from_f64(a->value, ti->dtype, j.fill);
    }
    j.zero_fill = true;
    for (size_t k = 0; k < j.es; k++)
        j.zero_fill = j.zero_fill && j.fill[k] == 0;
    const int64_t rows = qp_cpu_dims_prod(j.od, 0, j.rank - 1);
    if (x->pool && rows > 1 && rows * j.od[j.rank - 1] >= QP_CPU_PAR_MIN)
        qp_pool_for(x->pool, rows, pad_range, &j);
    else
        pad_range(&j, 0, rows);
    return QP_OK;
}

QP_CPU_SUPPORTS(qp_cpu_pad_supports)
{
    (void)g;
    (void)n;
    return true; /* every dtype in every mode: the fill is converted per dtype */
}
