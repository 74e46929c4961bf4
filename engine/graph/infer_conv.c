// SPDX-License-Identifier: Apache-2.0
/*
 * infer_conv.c - shape inference for the image ops: Conv, ConvTranspose,
 * BatchNormalization, the pools and Resize.
 *
 * Each op resolves its attributes in place so kernels never look at ONNX
 * defaults again: kernel size from the weight, stride / dilation 0 -> 1,
 * group 0 -> 1, auto_pad SAME_* / VALID -> explicit pad[] (top, left,
 * bottom, right), Resize scale[] from scales or sizes. Only 2-D spatial ops
 * on [N, C, H, W] are supported; other ranks are QP_E_UNSUPPORTED.
 *
 * Output sizes follow the ONNX operator docs:
 *   conv / pool: floor((in + pads - ((k-1)*dil+1)) / stride) + 1, pools with
 *     ceil_mode round up but drop a last window that would start in the
 *     right padding;
 *   SAME_*: output ceil(in / stride), total pad
 *     max(0, (out-1)*stride + (k-1)*dil + 1 - in), the odd unit at the end
 *     for SAME_UPPER and at the beginning for SAME_LOWER;
 *   ConvTranspose: stride*(in-1) + out_pad + (k-1)*dil + 1 - pads, or
 *     in*stride with SAME_* and the pads solved from that.
 */
#include <math.h>

#include "graph/infer_int.h"

/* The sliding-window attributes conv and pool attrs both carry. */
struct window {
    int32_t         *kernel, *stride, *dilation, *pad; /* [2], [2], [2], [4] */
    enum qp_auto_pad auto_pad;
    bool             ceil_mode;
};

static const char *const axis_name[2] = {"H", "W"};

/* Split a total padding between the two sides of axis i per auto_pad. */
static void split_pad(enum qp_auto_pad ap, int64_t total, int32_t *pad, int32_t i)
{
    int32_t small = (int32_t)(total / 2), big = (int32_t)(total - total / 2);
    pad[i]     = ap == QP_AUTO_PAD_SAME_UPPER ? small : big;
    pad[i + 2] = ap == QP_AUTO_PAD_SAME_UPPER ? big : small;
}

/* Strides and dilations: 0 means the ONNX default 1; negative is invalid.
 * Explicit pads must be non-negative. */
static enum qp_status check_window(struct qp_graph *g, struct qp_node *n, struct window *w,
                                   struct qp_err *err)
{
    for (int32_t i = 0; i < 2; i++) {
        if (w->stride[i] == 0)
            w->stride[i] = 1;
        if (w->dilation[i] == 0)
            w->dilation[i] = 1;
        if (w->kernel[i] <= 0 || w->stride[i] < 0 || w->dilation[i] < 0)
            return qp_infer_fail(g, n, err, QP_E_FORMAT,
                                 "kernel %d, stride %d and dilation %d along %s must be positive",
                                 (int)w->kernel[i], (int)w->stride[i], (int)w->dilation[i],
                                 axis_name[i]);
    }
    for (int32_t i = 0; i < 4; i++)
        if (w->pad[i] < 0)
            return qp_infer_fail(g, n, err, QP_E_FORMAT, "pads %d,%d,%d,%d must not be negative",
                                 (int)w->pad[0], (int)w->pad[1], (int)w->pad[2], (int)w->pad[3]);
    return QP_OK;
}

/* Resolve the pads of a conv / pool window over in[2] (H, W) and compute the
 * output size out[2]. */
static enum qp_status resolve_window(struct qp_graph *g, struct qp_node *n, struct window *w,
                                     const int64_t *in, int64_t *out, struct qp_err *err)
{
    enum qp_status st = check_window(g, n, w, err);
    if (st != QP_OK)
        return st;
    for (int32_t i = 0; i < 2; i++) {
        int64_t s = w->stride[i], ext = (int64_t)(w->kernel[i] - 1) * w->dilation[i] + 1;
        bool    ceil_mode = w->ceil_mode;
        if (w->auto_pad == QP_AUTO_PAD_VALID)
            w->pad[i] = w->pad[i + 2] = 0;
        if (w->auto_pad == QP_AUTO_PAD_SAME_UPPER || w->auto_pad == QP_AUTO_PAD_SAME_LOWER) {
            int64_t total = ((in[i] + s - 1) / s - 1) * s + ext - in[i];
            if (total > INT32_MAX)
                return qp_infer_fail(g, n, err, QP_E_UNSUPPORTED, "SAME padding %lld along %s",
                                     (long long)total, axis_name[i]);
            split_pad(w->auto_pad, total > 0 ? total : 0, w->pad, i);
        }
        /* With auto_pad the docs' ceil and floor formulas agree; use floor. */
        if (w->auto_pad != QP_AUTO_PAD_NOTSET)
            ceil_mode = false;
        int64_t begin = w->pad[i], span = in[i] + begin + w->pad[i + 2] - ext;
        if (span < 0)
            return qp_infer_fail(g, n, err, QP_E_FORMAT,
                                 "window %lld (kernel %d, dilation %d) exceeds the padded input "
                                 "%lld along %s",
                                 (long long)ext, (int)w->kernel[i], (int)w->dilation[i],
                                 (long long)in[i] + begin + w->pad[i + 2], axis_name[i]);
        out[i] = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
        if (ceil_mode && (out[i] - 1) * s >= in[i] + begin)
            out[i]--; /* the last window would start in the right padding */
    }
    return QP_OK;
}

/* x must be [N, C, H, W]; rank 3 or 5 is legal ONNX we do not run. */
static enum qp_status need_4d(struct qp_graph *g, struct qp_node *n, const struct qp_tensor *x,
                              struct qp_err *err)
{
    char d[QP_INFER_DIMS_LEN];
    if (x->rank == 4)
        return QP_OK;
    return qp_infer_fail(g, n, err, x->rank < 3 ? QP_E_FORMAT : QP_E_UNSUPPORTED,
                         "input '%s' %s is not [N,C,H,W]; only 2-D spatial ops are supported",
                         x->name, qp_dims_str(x->dims, x->rank, d, sizeof d));
}

/* Weight w of x: 4-D, same dtype, no zero dims, and optional bias [m]. */
static enum qp_status check_weight(struct qp_graph *g, struct qp_node *n, int64_t m,
                                   struct qp_err *err)
{
    const struct qp_tensor *x = qp_infer_in(g, n, 0), *w = qp_infer_in(g, n, 1);
    const struct qp_tensor *b = qp_infer_in(g, n, 2);
    char                    d[QP_INFER_DIMS_LEN];
    if (w->dtype != x->dtype)
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "weight dtype %s differs from x dtype %s",
                             qp_dtype_name(w->dtype), qp_dtype_name(x->dtype));
    if (b && (b->rank != 1 || b->dims[0] != m))
        return qp_infer_fail(g, n, err, QP_E_FORMAT,
                             "bias '%s' is %s, expected [%lld] (one per output channel)", b->name,
                             qp_dims_str(b->dims, b->rank, d, sizeof d), (long long)m);
    return QP_OK;
}

/* The weight's kernel dims fill an absent kernel_shape and must match a given one. */
static enum qp_status kernel_from_weight(struct qp_graph *g, struct qp_node *n, int32_t *kernel,
                                         struct qp_err *err)
{
    const struct qp_tensor *w = qp_infer_in(g, n, 1);
    char                    d[QP_INFER_DIMS_LEN];
    for (int32_t i = 0; i < 2; i++) {
        if (kernel[i] == 0 && w->dims[2 + i] <= INT32_MAX)
            kernel[i] = (int32_t)w->dims[2 + i];
        if (kernel[i] != w->dims[2 + i])
            return qp_infer_fail(g, n, err, QP_E_FORMAT,
                                 "kernel_shape %dx%d does not match weight '%s' %s", (int)kernel[0],
                                 (int)kernel[1], w->name,
                                 qp_dims_str(w->dims, w->rank, d, sizeof d));
    }
    return QP_OK;
}

/* Checks shared by Conv and ConvTranspose: shapes, group; fills the kernel. */
static enum qp_status conv_common(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x = qp_infer_in(g, n, 0), *w = qp_infer_in(g, n, 1);
    struct qp_conv_attr    *a = &n->attr.conv;
    char                    dx[QP_INFER_DIMS_LEN], dw[QP_INFER_DIMS_LEN];
    enum qp_status          st = need_4d(g, n, x, err);
    if (st != QP_OK)
        return st;
    if (w->rank != 4 || qp_tensor_numel(w) == 0)
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "weight '%s' %s does not fit x %s", w->name,
                             qp_dims_str(w->dims, w->rank, dw, sizeof dw),
                             qp_dims_str(x->dims, x->rank, dx, sizeof dx));
    if (a->group == 0)
        a->group = 1;
    if (a->group < 0)
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "group %d is negative", (int)a->group);
    return kernel_from_weight(g, n, a->kernel, err);
}

enum qp_status qp_infer_conv(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x = qp_infer_in(g, n, 0), *w = qp_infer_in(g, n, 1);
    struct qp_conv_attr    *a = &n->attr.conv;
    char                    dx[QP_INFER_DIMS_LEN], dw[QP_INFER_DIMS_LEN];
    enum qp_status          st = conv_common(g, n, err);
    if (st != QP_OK)
        return st;
    int64_t c = x->dims[1], m = w->dims[0];
    /* w is [M, C/group, kH, kW] */
    if (w->dims[1] * a->group != c)
        return qp_infer_fail(g, n, err, QP_E_FORMAT,
                             "channel mismatch: x %s has %lld channels, weight %s with group %d "
                             "expects %lld",
                             qp_dims_str(x->dims, 4, dx, sizeof dx), (long long)c,
                             qp_dims_str(w->dims, 4, dw, sizeof dw), (int)a->group,
                             (long long)w->dims[1] * a->group);
    if (m % a->group != 0)
        return qp_infer_fail(g, n, err, QP_E_FORMAT,
                             "group mismatch: %lld output channels are not divisible by group %d",
                             (long long)m, (int)a->group);
    st = check_weight(g, n, m, err);
    if (st != QP_OK)
        return st;
    struct window win  = {a->kernel, a->stride, a->dilation, a->pad, a->auto_pad, false};
    int64_t       y[4] = {x->dims[0], m, 0, 0};
    st                 = resolve_window(g, n, &win, x->dims + 2, y + 2, err);
    return st != QP_OK ? st : qp_infer_set_out(g, n, 0, x->dtype, 4, y, err);
}

/* ConvTranspose output size along axis i, pads resolved for SAME_* / VALID. */
static enum qp_status deconv_axis(struct qp_graph *g, struct qp_node *n, int64_t in, int32_t i,
                                  int64_t *out, struct qp_err *err)
{
    struct qp_conv_attr *a = &n->attr.conv;
    int64_t              s = a->stride[i], ext = (int64_t)(a->kernel[i] - 1) * a->dilation[i] + 1;
    int64_t full = s * (in - 1) + a->out_pad[i] + ext; /* output before cropping the pads */
    if (a->out_pad[i] < 0 || (a->out_pad[i] >= s && a->out_pad[i] >= a->dilation[i]))
        return qp_infer_fail(g, n, err, QP_E_FORMAT,
                             "output_padding %d along %s must be below stride %d or dilation %d",
                             (int)a->out_pad[i], axis_name[i], (int)s, (int)a->dilation[i]);
    if (a->auto_pad == QP_AUTO_PAD_VALID)
        a->pad[i] = a->pad[i + 2] = 0;
    if (a->auto_pad == QP_AUTO_PAD_SAME_UPPER || a->auto_pad == QP_AUTO_PAD_SAME_LOWER) {
        int64_t total = full - in * s;
        if (total < 0 || total > INT32_MAX)
            return qp_infer_fail(g, n, err, QP_E_UNSUPPORTED,
                                 "SAME padding would be %lld along %s (stride %lld, kernel %d)",
                                 (long long)total, axis_name[i], (long long)s, (int)a->kernel[i]);
        split_pad(a->auto_pad, total, a->pad, i);
    }
    *out = full - a->pad[i] - a->pad[i + 2];
    if (*out <= 0)
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "output size %lld along %s is not positive",
                             (long long)*out, axis_name[i]);
    return QP_OK;
}

enum qp_status qp_infer_conv_transpose(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x = qp_infer_in(g, n, 0), *w = qp_infer_in(g, n, 1);
    struct qp_conv_attr    *a = &n->attr.conv;
    char                    dx[QP_INFER_DIMS_LEN], dw[QP_INFER_DIMS_LEN];
    enum qp_status          st = conv_common(g, n, err);
    if (st != QP_OK)
        return st;
    /* w is [C, M/group, kH, kW] */
    int64_t c = x->dims[1], m = w->dims[1] * a->group;
    if (w->dims[0] != c)
        return qp_infer_fail(g, n, err, QP_E_FORMAT,
                             "channel mismatch: x %s has %lld channels, weight %s has %lld",
                             qp_dims_str(x->dims, 4, dx, sizeof dx), (long long)c,
                             qp_dims_str(w->dims, 4, dw, sizeof dw), (long long)w->dims[0]);
    if (c % a->group != 0)
        return qp_infer_fail(g, n, err, QP_E_FORMAT,
                             "group mismatch: %lld input channels are not divisible by group %d",
                             (long long)c, (int)a->group);
    st                = check_weight(g, n, m, err);
    struct window win = {a->kernel, a->stride, a->dilation, a->pad, a->auto_pad, false};
    if (st == QP_OK)
        st = check_window(g, n, &win, err);
    int64_t y[4] = {x->dims[0], m, 0, 0};
    for (int32_t i = 0; i < 2 && st == QP_OK; i++)
        st = deconv_axis(g, n, x->dims[2 + i], i, &y[2 + i], err);
    return st != QP_OK ? st : qp_infer_set_out(g, n, 0, x->dtype, 4, y, err);
}

enum qp_status qp_infer_batchnorm(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    static const char *const what[5] = {"x", "scale", "bias", "mean", "var"};
    const struct qp_tensor  *x       = qp_infer_in(g, n, 0);
    char                     d[QP_INFER_DIMS_LEN];
    if (x->rank < 2)
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "x %s has no channel dim",
                             qp_dims_str(x->dims, x->rank, d, sizeof d));
    for (int32_t i = 1; i < 5; i++) {
        const struct qp_tensor *p = qp_infer_in(g, n, i);
        if (p->rank != 1 || p->dims[0] != x->dims[1])
            return qp_infer_fail(g, n, err, QP_E_FORMAT, "%s '%s' is %s, expected [%lld]", what[i],
                                 p->name, qp_dims_str(p->dims, p->rank, d, sizeof d),
                                 (long long)x->dims[1]);
    }
    return qp_infer_set_out(g, n, 0, x->dtype, x->rank, x->dims, err);
}

enum qp_status qp_infer_pool(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x  = qp_infer_in(g, n, 0);
    struct qp_pool_attr    *a  = &n->attr.pool;
    enum qp_status          st = need_4d(g, n, x, err);
    if (st != QP_OK)
        return st;
    struct window win  = {a->kernel, a->stride, a->dilation, a->pad, a->auto_pad, a->ceil_mode};
    int64_t       y[4] = {x->dims[0], x->dims[1], 0, 0};
    st                 = resolve_window(g, n, &win, x->dims + 2, y + 2, err);
    return st != QP_OK ? st : qp_infer_set_out(g, n, 0, x->dtype, 4, y, err);
}

enum qp_status qp_infer_global_pool(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x    = qp_infer_in(g, n, 0);
    enum qp_status          st   = need_4d(g, n, x, err);
    int64_t                 y[4] = {x->dims[0], x->dims[1], 1, 1};
    return st != QP_OK ? st : qp_infer_set_out(g, n, 0, x->dtype, 4, y, err);
}

/* Output dims from constant scales (f32 [4]): floor(in * scale), computed in
 * float as the ONNX reference and ONNX Runtime both do. */
static enum qp_status resize_by_scales(struct qp_graph *g, struct qp_node *n,
                                       const struct qp_tensor *s, int64_t *y, struct qp_err *err)
{
    const struct qp_tensor *x = qp_infer_in(g, n, 0);
    if (s->dtype != QP_DTYPE_F32 || s->rank != 1 || s->dims[0] != 4)
        return qp_infer_fail(g, n, err, QP_E_FORMAT,
                             "scales '%s' must be f32 [4], not %s with %lld values", s->name,
                             qp_dtype_name(s->dtype), (long long)qp_tensor_numel(s));
    for (int32_t i = 0; i < 4; i++) {
        float sc = ((const float *)s->data)[i];
        float v  = floorf((float)x->dims[i] * sc);
        if (!(sc > 0.0f) || !(v >= 1.0f && v < 9.0e18f))
            return qp_infer_fail(g, n, err, QP_E_FORMAT, "scale %g on dim %d of size %lld gives %g",
                                 (double)sc, (int)i, (long long)x->dims[i], (double)v);
        y[i] = (int64_t)v;
    }
    n->attr.resize.scale[0] = ((const float *)s->data)[2];
    n->attr.resize.scale[1] = ((const float *)s->data)[3];
    return QP_OK;
}

/* Output dims from constant sizes (int64 [4]); the scale is out / in. */
static enum qp_status resize_by_sizes(struct qp_graph *g, struct qp_node *n,
                                      const struct qp_tensor *s, int64_t *y, struct qp_err *err)
{
    const struct qp_tensor *x = qp_infer_in(g, n, 0);
    int32_t                 cnt;
    enum qp_status          st = qp_infer_ints(g, n, s, "sizes", 4, y, &cnt, err);
    if (st != QP_OK)
        return st;
    if (cnt != 4)
        return qp_infer_fail(g, n, err, QP_E_FORMAT, "sizes '%s' has %d values for rank 4", s->name,
                             (int)cnt);
    for (int32_t i = 0; i < 4; i++)
        if (y[i] <= 0 || x->dims[i] == 0)
            return qp_infer_fail(g, n, err, QP_E_FORMAT, "size %lld for dim %d of size %lld",
                                 (long long)y[i], (int)i, (long long)x->dims[i]);
    n->attr.resize.scale[0] = (float)y[2] / (float)x->dims[2];
    n->attr.resize.scale[1] = (float)y[3] / (float)x->dims[3];
    return QP_OK;
}

enum qp_status qp_infer_resize(struct qp_graph *g, struct qp_node *n, struct qp_err *err)
{
    const struct qp_tensor *x = qp_infer_in(g, n, 0), *scales, *sizes;
    char                    dx[QP_INFER_DIMS_LEN], dy[QP_INFER_DIMS_LEN];
    int64_t                 y[4];
    if (x->rank != 4)
        return qp_infer_fail(g, n, err, QP_E_UNSUPPORTED, "only 4-D inputs, not %s",
                             qp_dims_str(x->dims, x->rank, dx, sizeof dx));
    /* roi (input 1) only matters for tf_crop_and_resize, which the importer refuses. */
    enum qp_status st = qp_infer_const(g, n, 2, "scales", &scales, err);
    if (st == QP_OK)
        st = qp_infer_const(g, n, 3, "sizes", &sizes, err);
    if (st != QP_OK)
        return st;
    if (scales && qp_tensor_numel(scales) == 0)
        scales = NULL; /* an empty scales tensor stands for "not given" */
    if (sizes && qp_tensor_numel(sizes) == 0)
        sizes = NULL;
    if (!scales == !sizes)
        return qp_infer_fail(g, n, err, QP_E_FORMAT,
                             "exactly one of scales and sizes must be given, not %s",
                             scales ? "both" : "neither");
    st = scales ? resize_by_scales(g, n, scales, y, err) : resize_by_sizes(g, n, sizes, y, err);
    if (st != QP_OK)
        return st;
    if (y[0] != x->dims[0] || y[1] != x->dims[1])
        return qp_infer_fail(
            g, n, err, QP_E_UNSUPPORTED, "resizing N or C (%s -> %s); only H and W may change",
            qp_dims_str(x->dims, 4, dx, sizeof dx), qp_dims_str(y, 4, dy, sizeof dy));
    return qp_infer_set_out(g, n, 0, x->dtype, 4, y, err);
}
