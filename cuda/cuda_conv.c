// SPDX-License-Identifier: Apache-2.0
/*
 * cuda_conv.c - one convolution node on the device (cuda_conv.h): the
 * host-side plan (path, padded GEMM shape, packed weights, epilogue) and the
 * run that enqueues im2col, the cuBLASLt GEMM and the epilogue, or the
 * fused depthwise kernel, for QConv (INT8) and Conv (float) alike.
 */
#include "cuda_conv.h"

#include <string.h>

#include "core/hd.h"     /* qp_round_up */
#include "quant/quant.h" /* qp_qconv_fold_epilogue, qp_conv_geom_of */

static bool is_depthwise(const struct qp_conv_geom *geo)
{
    return geo->group == geo->c && geo->group == geo->m && geo->group > 1;
}

static bool is_direct(const struct qp_conv_geom *geo, const struct qp_lt_shape *s)
{
    return geo->group == 1 && geo->kh == 1 && geo->kw == 1 && geo->sh == 1 && geo->sw == 1 &&
           geo->pt == 0 && geo->pl == 0 && geo->oh == geo->h && geo->ow == geo->w &&
           s->k_pad == geo->c && s->m_pad == s->m;
}

/* W per group [n_pad][k_pad] in im2col order, zero padded; es bytes per
 * weight (1: int8, 4: float). */
static void *pack_weights(struct qp_graph *g, const struct qp_node *n,
                          const struct qp_cuda_conv *q, size_t bytes, size_t es)
{
    unsigned char *pw = qp_arena_alloc(&g->arena, bytes);
    if (!pw)
        return NULL;
    memset(pw, 0, bytes);
    const unsigned char *w  = g->tensors[n->in[1]].data; /* [M][Cg][kh][kw] */
    int64_t              cg = q->geo.c / q->geo.group, taps = (int64_t)q->geo.kh * q->geo.kw;
    int64_t              kk = cg * taps;
    for (int32_t grp = 0; grp < q->geo.group; grp++) {
        unsigned char *dst = pw + (size_t)(grp * q->shape.n_pad * q->shape.ldw) * es;
        for (int64_t o = 0; o < q->mg; o++)
            for (int64_t k = 0; k < kk; k++)
                memcpy(dst + (size_t)(o * q->shape.ldw + k) * es,
                       w + (size_t)(((grp * q->mg + o) * cg + k % cg) * taps + k / cg) * es, es);
    }
    return pw;
}

/* The float epilogue's parameters: the bias input (if any) and the act. */
static void float_epilogue(const struct qp_graph *g, const struct qp_node *n,
                           struct qp_cuda_conv *q)
{
    const struct qp_tensor *b = n->n_in > 2 && n->in[2] >= 0 ? &g->tensors[n->in[2]] : NULL;
    q->bias_host              = b ? b->data : NULL;
    q->act                    = n->attr.conv.act;
}

enum qp_status qp_cuda_conv_plan(struct qp_graph *g, const struct qp_node *n,
                                 struct qp_cuda_conv *q, struct qp_err *err)
{
    memset(q, 0, sizeof *q);
    q->geo      = qp_conv_geom_of(g, n);
    q->f32      = n->op == QP_OP_CONV;
    q->zx       = (int8_t)(q->f32 ? 0 : g->tensors[n->in[0]].zero_point);
    q->mg       = q->geo.m / q->geo.group;
    size_t  es  = q->f32 ? sizeof(float) : 1;
    bool    f32 = g->tensors[n->out[0]].dtype == QP_DTYPE_F32;
    int64_t kk  = q->geo.c / q->geo.group * q->geo.kh * q->geo.kw;
    if (q->f32)
        float_epilogue(g, n, q);
    if (is_depthwise(&q->geo)) {
        if (f32 && !q->f32)
            return qp_fail(err, QP_E_UNSUPPORTED,
                           "%s: node '%s': a depthwise QConv cannot write a float output",
                           g->source, n->name);
        if (kk > QP_Q_DW_TAPS_MAX)
            return qp_fail(err, QP_E_UNSUPPORTED, "%s: node '%s': %lld taps (at most %d)",
                           g->source, n->name, (long long)kk, QP_Q_DW_TAPS_MAX);
        q->path    = QP_CUDA_CONV_DEPTHWISE;
        q->w_host  = g->tensors[n->in[1]].data;
        q->w_bytes = (size_t)(q->geo.c * kk) * es;
        return q->f32 ? QP_OK : qp_qconv_fold_epilogue(g, n, kk, &q->ep_host, err);
    }
    struct qp_err  why = {0};
    enum qp_status s   = qp_lt_shape_plan(q->geo.n * q->geo.oh * q->geo.ow, kk, q->mg, &q->shape,
                                          &why);
    if (s != QP_OK)
        return qp_fail(err, s, "%s: node '%s': %s", g->source, n->name, why.msg);
    q->shape.dtype = q->f32 ? QP_LT_F32 : QP_LT_I8;
    q->path        = is_direct(&q->geo, &q->shape) ? QP_CUDA_CONV_DIRECT : QP_CUDA_CONV_IM2COL;
    q->w_bytes     = qp_lt_bytes_w(&q->shape) * (size_t)q->geo.group;
    q->w_host      = pack_weights(g, n, q, q->w_bytes, es);
    if (!q->w_host)
        return qp_fail(err, QP_E_NOMEM, "%s: node '%s': out of memory packing weights",
                       g->source, n->name);
    int64_t a = q->path == QP_CUDA_CONV_IM2COL ? (int64_t)qp_lt_bytes_a(&q->shape) : 0;
    q->ws_a   = (size_t)qp_round_up(a, QP_CUDA_WS_ALIGN);
    q->ws_c   = (size_t)qp_round_up((int64_t)qp_lt_bytes_c(&q->shape), QP_CUDA_WS_ALIGN);
    return q->f32 ? QP_OK : qp_qconv_fold_epilogue(g, n, kk, &q->ep_host, err);
}

size_t qp_cuda_conv_ws_bytes(const struct qp_cuda_conv *q)
{
    return q->ws_a + q->ws_c;
}

static enum qp_status launched(cudaError_t e, const char *node, const char *what,
                               struct qp_err *err)
{
    return e == cudaSuccess ? QP_OK
                            : qp_fail(err, QP_E_CUDA, "node '%s': %s: %s", node, what,
                                      cudaGetErrorString(e));
}

static cudaError_t depthwise(const struct qp_cuda_conv *q, const void *x, void *y,
                             unsigned long long *sat, cudaStream_t st)
{
    if (q->f32)
        return qp_cuda_depthwise_f32(x, q->w_dev, q->bias_dev, q->geo, q->act, y, st);
    return qp_cuda_qdepthwise(x, q->w_dev, q->geo, q->zx, q->ep_dev, y, sat, st);
}

static cudaError_t im2col(const struct qp_cuda_conv *q, const void *x, int32_t grp, void *a,
                          cudaStream_t st)
{
    if (q->f32)
        return qp_cuda_im2col_f32(x, q->geo, grp, a, q->shape.lda, st);
    return qp_cuda_im2col_i8(x, q->geo, grp, q->zx, a, q->shape.lda, st);
}

/* Group grp's channels of y from the GEMM's result c. */
static cudaError_t epilogue(const struct qp_cuda_conv *q, const void *c, int32_t grp, void *y,
                            unsigned long long *sat, cudaStream_t st)
{
    int64_t first = grp * q->mg, m = q->geo.m;
    if (q->f32)
        return qp_cuda_epilogue_f32(c, q->shape.ldc, q->shape.m, q->mg,
                                    q->bias_dev ? q->bias_dev + first : NULL, q->act,
                                    (float *)y + first, m, st);
    struct qp_q_epilogue ep = q->ep_dev;
    ep.scale += first;
    ep.bias  = ep.bias ? ep.bias + first : NULL;
    ep.post  = ep.post ? ep.post + first : NULL;
    void *gy = (char *)y + (size_t)first * (ep.f32_out ? sizeof(float) : 1);
    return qp_cuda_qepilogue(c, q->shape.ldc, q->shape.m, q->mg, ep, gy, m, sat, st);
}

enum qp_status qp_cuda_conv_run(const struct qp_cuda_conv *q, const char *node,
                                cublasLtHandle_t h, const void *x, void *y, void *ws,
                                void *lt_ws, unsigned long long *sat, cudaStream_t st,
                                struct qp_err *err)
{
    if (q->path == QP_CUDA_CONV_DEPTHWISE)
        return launched(depthwise(q, x, y, sat, st), node, "depthwise kernel", err);
    void          *a  = ws, *c = (char *)ws + q->ws_a;
    size_t         es = q->f32 ? sizeof(float) : 1;
    enum qp_status s  = QP_OK;
    for (int32_t grp = 0; grp < q->geo.group && s == QP_OK; grp++) {
        const void *ga = x;
        if (q->path == QP_CUDA_CONV_IM2COL) {
            s  = launched(im2col(q, x, grp, a, st), node, "im2col kernel", err);
            ga = a;
        }
        const void *gw = (const char *)q->w_dev + (size_t)(grp * q->shape.n_pad * q->shape.ldw) * es;
        if (s == QP_OK)
            s = qp_lt_gemm_run(&q->gemm, h, ga, gw, c, lt_ws, st, err);
        if (s == QP_OK)
            s = launched(epilogue(q, c, grp, y, sat, st), node, "epilogue kernel", err);
    }
    return s;
}
