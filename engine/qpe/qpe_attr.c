// SPDX-License-Identifier: Apache-2.0
/*
 * qpe_attr.c - node attributes in the engine file, field by field per op
 * family (the list is in qpe.h).
 *
 * union qp_attr is never copied as bytes: its padding, bool and enum sizes
 * belong to the compiler. Each family is one function that visits its fields
 * in file order through a small reader-or-writer, so the two directions
 * cannot disagree. Reading checks every enum against its count and every
 * boolean for 0 / 1; values that depend on shapes (axes, perms, pads) are
 * checked later by the inference cross-check (qpe_graph.c).
 */
#include "qpe/qpe_int.h"

#include <stdio.h>
#include <string.h>

struct attr_io {
    struct qp_qpe_buf *w; /* writing when set, else reading from r */
    struct qp_qpe_rd  *r;
    const char        *bad; /* reading: the first field with an invalid value */
    uint32_t           bad_value;
};

static void io_i32(struct attr_io *io, int32_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (io->w)
            qp_qpe_put_i32(io->w, v[i]);
        else
            v[i] = qp_qpe_get_i32(io->r);
}

static void io_i64(struct attr_io *io, int64_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (io->w)
            qp_qpe_put_i64(io->w, v[i]);
        else
            v[i] = qp_qpe_get_i64(io->r);
}

static void io_f32(struct attr_io *io, float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (io->w)
            qp_qpe_put_f32(io->w, v[i]);
        else
            v[i] = qp_qpe_get_f32(io->r);
}

static void io_f64(struct attr_io *io, double *v)
{
    if (io->w)
        qp_qpe_put_f64(io->w, *v);
    else
        *v = qp_qpe_get_f64(io->r);
}

static void invalid(struct attr_io *io, const char *name, uint32_t v)
{
    if (!io->bad) {
        io->bad       = name;
        io->bad_value = v;
    }
}

static void io_bool(struct attr_io *io, bool *v, const char *name)
{
    if (io->w) {
        qp_qpe_put_u8(io->w, *v ? 1 : 0);
        return;
    }
    uint8_t u = qp_qpe_get_u8(io->r);
    if (u > 1)
        invalid(io, name, u);
    *v = u == 1;
}

/* An enum stored as u32, < count; returns the value to store (0 when invalid). */
static uint32_t io_enum(struct attr_io *io, uint32_t v, uint32_t count, const char *name)
{
    if (io->w) {
        qp_qpe_put_u32(io->w, v);
        return v;
    }
    uint32_t u = qp_qpe_get_u32(io->r);
    if (u >= count) {
        invalid(io, name, u);
        return 0;
    }
    return u;
}

/* ===== one function per family ===== */

static void fam_none(struct attr_io *io, union qp_attr *a)
{
    (void)io;
    (void)a;
}

static void fam_unary(struct attr_io *io, union qp_attr *a)
{
    io_f32(io, &a->unary.alpha, 1);
    io_f32(io, &a->unary.beta, 1);
}

static void act_params(struct attr_io *io, struct qp_act_params *p)
{
    p->act = (enum qp_act)io_enum(io, (uint32_t)p->act, QP_ACT_COUNT, "act");
    io_f32(io, &p->alpha, 1);
    io_f32(io, &p->beta, 1);
}

static void fam_act(struct attr_io *io, union qp_attr *a)
{
    act_params(io, &a->act);
}

static enum qp_auto_pad auto_pad(struct attr_io *io, enum qp_auto_pad v)
{
    return (enum qp_auto_pad)io_enum(io, (uint32_t)v, QP_AUTO_PAD_VALID + 1, "auto_pad");
}

static void fam_conv(struct attr_io *io, union qp_attr *a)
{
    struct qp_conv_attr *c = &a->conv;
    io_i32(io, c->kernel, 2);
    io_i32(io, c->stride, 2);
    io_i32(io, c->dilation, 2);
    io_i32(io, c->pad, 4);
    io_i32(io, c->out_pad, 2);
    io_i32(io, &c->group, 1);
    c->auto_pad = auto_pad(io, c->auto_pad);
    act_params(io, &c->act);
}

static void fam_bn(struct attr_io *io, union qp_attr *a)
{
    io_f32(io, &a->bn.epsilon, 1);
}

static void fam_pool(struct attr_io *io, union qp_attr *a)
{
    struct qp_pool_attr *p = &a->pool;
    io_i32(io, p->kernel, 2);
    io_i32(io, p->stride, 2);
    io_i32(io, p->dilation, 2);
    io_i32(io, p->pad, 4);
    p->auto_pad = auto_pad(io, p->auto_pad);
    io_bool(io, &p->ceil_mode, "ceil_mode");
    io_bool(io, &p->count_include_pad, "count_include_pad");
}

static void fam_resize(struct attr_io *io, union qp_attr *a)
{
    struct qp_resize_attr *z = &a->resize;
    z->mode  = (enum qp_resize_mode)io_enum(io, (uint32_t)z->mode, QP_RESIZE_CUBIC + 1, "mode");
    z->coord = (enum qp_resize_coord)io_enum(io, (uint32_t)z->coord,
                                             QP_COORD_TF_HALF_PIXEL_FOR_NN + 1, "coord");
    z->nearest =
        (enum qp_resize_nearest)io_enum(io, (uint32_t)z->nearest, QP_NEAREST_CEIL + 1, "nearest");
    io_f32(io, z->scale, 2);
}

static void fam_axis(struct attr_io *io, union qp_attr *a)
{
    io_i32(io, &a->axis, 1);
}

static void fam_slice(struct attr_io *io, union qp_attr *a)
{
    io_i64(io, a->slice.start, QP_MAX_RANK);
    io_i64(io, a->slice.step, QP_MAX_RANK);
}

static void fam_reshape(struct attr_io *io, union qp_attr *a)
{
    io_bool(io, &a->allowzero, "allowzero");
}

static void fam_transpose(struct attr_io *io, union qp_attr *a)
{
    io_i32(io, a->transpose.perm, QP_MAX_RANK);
}

static void fam_pad(struct attr_io *io, union qp_attr *a)
{
    struct qp_pad_attr *p = &a->pad;
    p->mode = (enum qp_pad_mode)io_enum(io, (uint32_t)p->mode, QP_PAD_EDGE + 1, "mode");
    io_f32(io, &p->value, 1);
    io_i64(io, p->pads, 2 * QP_MAX_RANK);
}

static void fam_cast(struct attr_io *io, union qp_attr *a)
{
    a->cast_to = (enum qp_dtype)io_enum(io, (uint32_t)a->cast_to, QP_DTYPE_COUNT, "to");
}

static void fam_fill(struct attr_io *io, union qp_attr *a)
{
    io_f64(io, &a->fill);
}

static void fam_softmax(struct attr_io *io, union qp_attr *a)
{
    io_i32(io, &a->softmax.axis, 1);
    io_bool(io, &a->softmax.legacy, "legacy");
}

static void fam_gemm(struct attr_io *io, union qp_attr *a)
{
    io_f32(io, &a->gemm.alpha, 1);
    io_f32(io, &a->gemm.beta, 1);
    io_bool(io, &a->gemm.trans_a, "trans_a");
    io_bool(io, &a->gemm.trans_b, "trans_b");
}

static void fam_layout(struct attr_io *io, union qp_attr *a)
{
    io_bool(io, &a->layout.to_nhwc, "to_nhwc");
}

typedef void (*family_fn)(struct attr_io *io, union qp_attr *a);

/* Every named op needs a row (NULL: a new op nobody taught this file). */
static const family_fn op_family[QP_OP_COUNT] = {
    [QP_OP_IDENTITY]          = fam_unary,
    [QP_OP_RELU]              = fam_unary,
    [QP_OP_LEAKY_RELU]        = fam_unary,
    [QP_OP_SIGMOID]           = fam_unary,
    [QP_OP_HARD_SIGMOID]      = fam_unary,
    [QP_OP_HARD_SWISH]        = fam_unary,
    [QP_OP_TANH]              = fam_unary,
    [QP_OP_CLIP]              = fam_unary,
    [QP_OP_SQRT]              = fam_unary,
    [QP_OP_EXP]               = fam_unary,
    [QP_OP_NEG]               = fam_unary,
    [QP_OP_ABS]               = fam_unary,
    [QP_OP_LOG]               = fam_unary,
    [QP_OP_RECIPROCAL]        = fam_unary,
    [QP_OP_FLOOR]             = fam_unary,
    [QP_OP_CEIL]              = fam_unary,
    [QP_OP_ELU]               = fam_unary,
    [QP_OP_SILU]              = fam_unary,
    [QP_OP_ADD]               = fam_none,
    [QP_OP_SUB]               = fam_none,
    [QP_OP_MUL]               = fam_none,
    [QP_OP_DIV]               = fam_none,
    [QP_OP_POW]               = fam_none,
    [QP_OP_PRELU]             = fam_none,
    [QP_OP_MAX]               = fam_none,
    [QP_OP_MIN]               = fam_none,
    [QP_OP_QADD]              = fam_act,
    [QP_OP_CONV]              = fam_conv,
    [QP_OP_CONV_TRANSPOSE]    = fam_conv,
    [QP_OP_BATCHNORM]         = fam_bn,
    [QP_OP_QCONV]             = fam_conv,
    [QP_OP_MAX_POOL]          = fam_pool,
    [QP_OP_AVG_POOL]          = fam_pool,
    [QP_OP_GLOBAL_AVG_POOL]   = fam_pool,
    [QP_OP_GLOBAL_MAX_POOL]   = fam_pool,
    [QP_OP_RESIZE]            = fam_resize,
    [QP_OP_CONCAT]            = fam_axis,
    [QP_OP_SPLIT]             = fam_axis,
    [QP_OP_SLICE]             = fam_slice,
    [QP_OP_RESHAPE]           = fam_reshape,
    [QP_OP_FLATTEN]           = fam_axis,
    [QP_OP_SQUEEZE]           = fam_none,
    [QP_OP_UNSQUEEZE]         = fam_none,
    [QP_OP_TRANSPOSE]         = fam_transpose,
    [QP_OP_PAD]               = fam_pad,
    [QP_OP_GATHER]            = fam_axis,
    [QP_OP_CAST]              = fam_cast,
    [QP_OP_SHAPE]             = fam_none,
    [QP_OP_CONSTANT_OF_SHAPE] = fam_fill,
    [QP_OP_EXPAND]            = fam_none,
    [QP_OP_SOFTMAX]           = fam_softmax,
    [QP_OP_GEMM]              = fam_gemm,
    [QP_OP_MATMUL]            = fam_none,
    [QP_OP_LAYOUT]            = fam_layout,
    [QP_OP_QUANTIZE]          = fam_none,
    [QP_OP_DEQUANTIZE]        = fam_none,
    [QP_OP_QLUT]              = fam_act,
};

static family_fn family_of(enum qp_op op)
{
    QP_ASSERT(qp_op_info(op) != NULL); /* callers check the op first */
    QP_ASSERT(op_family[op] != NULL);  /* a named op without a row: add one above */
    return op_family[op];
}

void qp_qpe_attr_write(struct qp_qpe_buf *b, const struct qp_node *n)
{
    struct attr_io io = {.w = b};
    union qp_attr  a  = n->attr; /* the visitors take a mutable union; only read here */
    family_of(n->op)(&io, &a);
}

bool qp_qpe_attr_read(struct qp_qpe_rd *r, struct qp_node *n, char *why, size_t why_n)
{
    struct attr_io io = {.r = r};
    memset(&n->attr, 0, sizeof n->attr);
    family_of(n->op)(&io, &n->attr);
    if (r->bad) {
        snprintf(why, why_n, "attributes run past their end");
        return false;
    }
    if (io.bad) {
        snprintf(why, why_n, "attribute %s = %u is not a valid value", io.bad,
                 (unsigned)io.bad_value);
        return false;
    }
    return true;
}
