// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * kernels.h - the launchers of the CUDA backend's leaf kernels, one per .cu
 * file, callable from C (internal header: it names CUDA types, the public
 * ones never do).
 *
 * Every launcher enqueues one kernel on stream st and returns at once with
 * the launch's status (cudaGetLastError): no allocation, no
 * synchronisation, so a run can be captured into a CUDA graph. Pointers
 * are device memory; struct arguments are passed by value (their vectors,
 * e.g. an epilogue's scale, are device pointers). The arithmetic of every
 * element is a QP_HD function the CPU backend runs too (quant/quant_math.h,
 * quant/quant.h, quant/conv_math.h), so INT8 results are the CPU's bytes.
 *
 * sat (every launcher that makes INT8 values from wider ones, may be
 * NULL): the number of outputs equal to -128 or 127 is added to *sat
 * (the run-time saturation counters, backend.h).
 *
 * Sizes: element counts are int64_t; a launch covers at most
 * QP_CUDA_MAX_ELEMS elements (launchers return cudaErrorInvalidValue
 * beyond, the backend refuses such nodes at plan time).
 */
#include <cuda_runtime_api.h>
#include <stdint.h>

#include "cpu/act.h"       /* qp_act_ref */
#include "cpu/resize_i8.h" /* qp_resize_lerp */
#include "image/pre_math.h"
#include "quant/conv_math.h"
#include "quant/quant.h"

#ifdef __cplusplus
extern "C" {
#endif

#define QP_CUDA_MAX_ELEMS ((int64_t)1 << 40)

/* One frame's pre-processing (image/pre_math.h) straight into a model's
 * f32 input: dst is [3][f.dst_h][f.dst_w], value (k, y, x) = channel k of
 * qp_pre_pixel(&f, nm, img, x, y, v); img holds the frame's
 * qp_pre_frame_bytes(&f) bytes (an NV12 frame's two planes, read in place).
 * cudaErrorInvalidValue for an empty region or an NV12 frame of odd size.
 * img, nm and dst are device memory. */
cudaError_t qp_cuda_preprocess(const uint8_t *img, struct qp_pre_frame f,
                               const struct qp_pre_norm *nm, float *dst, cudaStream_t st);

/* y[i] = qp_q_quantize(x[i], scale, zp), i < n (QuantizeLinear). */
cudaError_t qp_cuda_quantize(const float *x, int8_t *y, int64_t n, float scale, int32_t zp,
                             unsigned long long *sat, cudaStream_t st);

/* y[i] = qp_q_dequantize(x[i], scale, zp), i < n (DequantizeLinear). */
cudaError_t qp_cuda_dequantize(const int8_t *x, float *y, int64_t n, float scale, int32_t zp,
                               cudaStream_t st);

/* The INT8 layer epilogue after a GEMM: acc is [rows][ldacc] int32 (row =
 * output pixel, column = output channel; a cuBLASLt TN result), y row r
 * at y + r * ldy, columns [0, cols): qp_q_ep_store(&ep, ...) with channel
 * c, int8 or (ep.f32_out) float. ldy > cols writes into a wider tensor
 * (a Concat's slice); y may be offset by the caller for the same reason. */
cudaError_t qp_cuda_qepilogue(const int32_t *acc, int64_t ldacc, int64_t rows, int64_t cols,
                              struct qp_q_epilogue ep, void *y, int64_t ldy,
                              unsigned long long *sat, cudaStream_t st);

/* Group grp's im2col matrix a [rows = n * oh * ow][lda] int8: column
 * k < lda is qp_im2col_i8(x, &g, grp, r, k, zx) (0 in the reduction's
 * padding up to lda). */
cudaError_t qp_cuda_im2col_i8(const int8_t *x, struct qp_conv_geom g, int32_t grp, int8_t zx,
                              int8_t *a, int64_t lda, cudaStream_t st);

/* Depthwise INT8 convolution (g.group == g.c == g.m) with its epilogue:
 * y[r][c] = qp_q_ep_apply(&ep, c, qp_q_dw_acc(x, w, &g, r, c, zx)), NHWC,
 * int8 only (ep.f32_out must be false). w is [c][kh][kw]. */
cudaError_t qp_cuda_qdepthwise(const int8_t *x, const int8_t *w, struct qp_conv_geom g,
                               int32_t zx, struct qp_q_epilogue ep, int8_t *y,
                               unsigned long long *sat, cudaStream_t st);

/* y[i] = qp_q_add(a[i], b[i], &p), i < n (QAdd, QLinearAdd). */
cudaError_t qp_cuda_qadd(const int8_t *a, const int8_t *b, int64_t n, struct qp_q_add_params p,
                         int8_t *y, unsigned long long *sat, cudaStream_t st);

/* y[i] = table[ch][x[i] + 128] with ch = i / inner % channels (NHWC:
 * inner 1, the channel is the innermost index; PLAIN NCHW: inner = H * W);
 * channels 1: one table for the tensor. tables is [channels][256] int8
 * (quant.h: qp_qlut_build). */
cudaError_t qp_cuda_qlut(const int8_t *x, int64_t n, int64_t channels, int64_t inner,
                         const int8_t *tables, int8_t *y, unsigned long long *sat,
                         cudaStream_t st);

/* A logical copy (the data-movement ops: Concat, Split, Slice,
 * Transpose, Layout, Reshape ...): for every index (i_0 .. i_{rank-1}) <
 * dims, y[y0 + sum i_k ys[k]] = x[x0 + sum i_k xs[k]], elem bytes (1, 2, 4
 * or 8) each; offsets and strides count elements. */
#define QP_CUDA_COPY_RANK 8
struct qp_cuda_copy {
    int64_t dims[QP_CUDA_COPY_RANK], xs[QP_CUDA_COPY_RANK], ys[QP_CUDA_COPY_RANK];
    int64_t x0, y0;
    int32_t rank, elem;
};
cudaError_t qp_cuda_copy(const void *x, void *y, struct qp_cuda_copy c, cudaStream_t st);

/* Element offsets in x and y of element i of copy c (i unravelled over
 * dims, the last dim fastest): the kernel's index arithmetic. */
QP_HD void qp_cuda_copy_at(const struct qp_cuda_copy *c, int64_t i, int64_t *xo, int64_t *yo)
{
    int64_t x = c->x0, y = c->y0;
    for (int32_t k = c->rank - 1; k >= 0; k--) {
        int64_t idx = i % c->dims[k];
        i /= c->dims[k];
        x += idx * c->xs[k];
        y += idx * c->ys[k];
    }
    *xo = x, *yo = y;
}

/* MaxPool on NHWC (g with m == c == group): int8 (elem 1) through
 * qp_max_window_i8 or f32 (elem 4) through qp_max_window_f32
 * (quant/conv_math.h: cpu/pooling.c's semantics). */
cudaError_t qp_cuda_maxpool(const void *x, void *y, struct qp_conv_geom g, int32_t elem,
                            cudaStream_t st);

/* Nearest Resize of NHWC images: y[b, oy, ox, :] = x[b, iy[oy], ix[ox], :]
 * with pixels of pixel_bytes; iy [oh] and ix [ow] are device tables the
 * host filled with the CPU's own coordinate code (qp_resize_nearest_src). */
cudaError_t qp_cuda_resize_nearest(const void *x, void *y, int64_t images, int64_t h, int64_t w,
                                   int64_t oh, int64_t ow, int64_t pixel_bytes,
                                   const int32_t *iy, const int32_t *ix, cudaStream_t st);

/* The x byte that output byte i of that Resize copies. */
QP_HD int64_t qp_cuda_resize_src(int64_t i, int64_t h, int64_t w, int64_t oh, int64_t ow,
                                 int64_t pixel_bytes, const int32_t *iy, const int32_t *ix)
{
    int64_t byte = i % pixel_bytes, p = i / pixel_bytes;
    int64_t ox = p % ow, oy = p / ow % oh, b = p / (ow * oh);
    return ((b * h + iy[oy]) * w + ix[ox]) * pixel_bytes + byte;
}

/* Linear Resize of NHWC images, quantized int8 or f32: per output row and column
 * the two source indices and distances (host tables from the CPU's
 * qp_resize_linear_src); each output channel is the CPU's value:
 * qp_resize_lerp(w, p00, p01, p10, p11) with w = {dx1 dy1, dx0 dy1,
 * dx1 dy0, dx0 dy0} (f32, elem 4), or for int8 (elem 1) that on the
 * dequantized neighbours, quantized with out_scale, out_zp. */
struct qp_cuda_lerp_tap {
    int32_t i0, i1;
    float   d0, d1;
};
struct qp_cuda_resize_lerp {
    int64_t images, h, w, oh, ow, ch;
    float   in_scale, out_scale;
    int32_t in_zp, out_zp;
};
cudaError_t qp_cuda_resize_linear(const void *x, void *y, struct qp_cuda_resize_lerp r,
                                  const struct qp_cuda_lerp_tap *ty,
                                  const struct qp_cuda_lerp_tap *tx, int32_t elem,
                                  cudaStream_t st);

/* The four neighbours' offsets of output element i and its weights. */
QP_HD void qp_cuda_resize_taps(const struct qp_cuda_resize_lerp *r, const struct qp_cuda_lerp_tap *ty,
                               const struct qp_cuda_lerp_tap *tx, int64_t i, int64_t at[4],
                               float w[4])
{
    int64_t                        c = i % r->ch, p = i / r->ch;
    int64_t                        ox = p % r->ow, oy = p / r->ow % r->oh, b = p / (r->ow * r->oh);
    const struct qp_cuda_lerp_tap *v = &ty[oy], *u = &tx[ox];
    int64_t                        img = b * r->h * r->w * r->ch;
    int64_t row0 = img + v->i0 * r->w * r->ch, row1 = img + v->i1 * r->w * r->ch;
    at[0] = row0 + u->i0 * r->ch + c, at[1] = row0 + u->i1 * r->ch + c;
    at[2] = row1 + u->i0 * r->ch + c, at[3] = row1 + u->i1 * r->ch + c;
    w[0] = QP_FMUL(u->d1, v->d1), w[1] = QP_FMUL(u->d0, v->d1);
    w[2] = QP_FMUL(u->d1, v->d0), w[3] = QP_FMUL(u->d0, v->d0);
}

/* Output element i of that Resize on f32. */
QP_HD float qp_cuda_resize_lerp_f32(const float *x, const struct qp_cuda_resize_lerp *r,
                                    const struct qp_cuda_lerp_tap *ty,
                                    const struct qp_cuda_lerp_tap *tx, int64_t i)
{
    int64_t at[4];
    float   w[4];
    qp_cuda_resize_taps(r, ty, tx, i, at, w);
    return qp_resize_lerp(w, x[at[0]], x[at[1]], x[at[2]], x[at[3]]);
}

/* Output element i of that Resize on quantized int8. */
QP_HD int8_t qp_cuda_resize_lerp_at(const int8_t *x, const struct qp_cuda_resize_lerp *r,
                                    const struct qp_cuda_lerp_tap *ty,
                                    const struct qp_cuda_lerp_tap *tx, int64_t i)
{
    int64_t at[4];
    float   w[4], d[4];
    qp_cuda_resize_taps(r, ty, tx, i, at, w);
    for (int k = 0; k < 4; k++)
        d[k] = qp_q_dequantize(x[at[k]], r->in_scale, r->in_zp);
    return qp_q_quantize(qp_resize_lerp(w, d[0], d[1], d[2], d[3]), r->out_scale, r->out_zp);
}

/* Float convolution pieces (float Conv nodes: FP32 layers, and the FP16
 * layers of mixed engines, whose weights are FP16 values computed in FP32
 * as on the CPU):
 *   im2col  a [rows][lda] f32 = qp_im2col_f32 (0 in padding and past K);
 *   epilogue y[r * ldy + c] = act(acc[r * ldacc + c] + bias[c]) after the
 *           cuBLASLt FP32 GEMM (bias may be NULL);
 *   depthwise y[r][c] = act(qp_dw_acc_f32(...) + bias[c]), w [c][kh][kw]. */
cudaError_t qp_cuda_im2col_f32(const float *x, struct qp_conv_geom g, int32_t grp, float *a,
                               int64_t lda, cudaStream_t st);
cudaError_t qp_cuda_epilogue_f32(const float *acc, int64_t ldacc, int64_t rows, int64_t cols,
                                 const float *bias, struct qp_act_params act, float *y,
                                 int64_t ldy, cudaStream_t st);
cudaError_t qp_cuda_depthwise_f32(const float *x, const float *w, const float *bias,
                                  struct qp_conv_geom g, struct qp_act_params act, float *y,
                                  cudaStream_t st);

/* Element-wise binary ops on f32 with numpy broadcasting: for every index
 * (i_0 .. i_{rank-1}) < dims of the output (row-major), y[i] =
 * op(a[sum i_k as[k]], b[sum i_k bs[k]]) (stride 0 on a broadcast dim).
 * op: QP_OP_ADD, SUB, MUL, DIV, MAX, MIN. */
struct qp_cuda_bcast {
    int64_t dims[QP_CUDA_COPY_RANK], as[QP_CUDA_COPY_RANK], bs[QP_CUDA_COPY_RANK];
    int32_t rank;
    int32_t op; /* enum qp_op */
};
cudaError_t qp_cuda_binary_f32(const float *a, const float *b, float *y, struct qp_cuda_bcast c,
                               cudaStream_t st);

/* Offsets in a and b of output element i, and the op applied. */
QP_HD void qp_cuda_bcast_at(const struct qp_cuda_bcast *c, int64_t i, int64_t *ao, int64_t *bo)
{
    int64_t a = 0, b = 0;
    for (int32_t k = c->rank - 1; k >= 0; k--) {
        int64_t idx = i % c->dims[k];
        i /= c->dims[k];
        a += idx * c->as[k];
        b += idx * c->bs[k];
    }
    *ao = a, *bo = b;
}

QP_HD float qp_cuda_binary_op(int32_t op, float a, float b)
{
    switch (op) {
    case QP_OP_ADD: return a + b;
    case QP_OP_SUB: return a - b;
    case QP_OP_MUL: return a * b;
    case QP_OP_DIV: return a / b;
    case QP_OP_MAX: return fmaxf(a, b);
    case QP_OP_MIN: return fminf(a, b);
    default: return a;
    }
}

/* y[i] = qp_act_ref(&act, x[i]) on f32 (cpu/act.h: the float unary ops;
 * the device's expf / tanhf may differ from libm's in the last bits). */
cudaError_t qp_cuda_act_f32(const float *x, float *y, int64_t n, struct qp_act_params act,
                            cudaStream_t st);

#ifdef __cplusplus
}
#endif
