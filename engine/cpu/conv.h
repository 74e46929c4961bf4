// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * conv.h - inside the Conv kernels: the resolved shape of one conv node, the
 * execution paths and how one is chosen, and the reference every path is
 * tested against.
 *
 * Paths (chosen at prepare time, recorded in n->prep):
 *   REF        direct 7-loop over logical indices (conv_ref.c); taken when
 *              qp_cpu_features()->force_reference, for PLAIN layouts, and
 *              whenever prep is NULL: constant folding runs kernels without
 *              prepare(), and a weight or bias that is not a constant is
 *              read from the run-time inputs.
 *   GEMM       1x1, stride 1, no padding: the NHWC input already is the A
 *              matrix (rows = N*H*W pixels, k = C/group), one GEMM per group.
 *   IM2COL     any k x k / stride / dilation / padding: implicit im2col, an
 *              indirection table of input-pixel pointers (padding taps point
 *              at a zero row) feeding the same GEMM, one per group.
 *   DEPTHWISE  group == C == M: a dedicated NHWC kernel vectorised over
 *              channels (depthwise.c, depthwise_avx2.c).
 * All paths apply bias and the fused activation (attr.conv.act) before the
 * single store of each output.
 */
#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"
#include "cpu/gemm.h"

struct qp_conv_shape {
    int64_t              n, c, h, w; /* input, logical NCHW */
    int64_t              m, oh, ow;  /* output channels and size */
    int32_t              kh, kw, sh, sw, dh, dw;
    int32_t              pt, pl; /* top and left padding (bottom/right are implied by oh/ow) */
    int32_t              group;
    struct qp_act_params act;
};

enum qp_conv_path {
    QP_CONV_PATH_REF       = 0,
    QP_CONV_PATH_GEMM      = 1,
    QP_CONV_PATH_IM2COL    = 2,
    QP_CONV_PATH_DEPTHWISE = 3,
    QP_CONV_PATH_COUNT
};

/* Resolved shape of Conv (or ConvTranspose: c/h/w input, m/oh/ow output). */
void qp_conv_shape_of(const struct qp_graph *g, const struct qp_node *n, struct qp_conv_shape *s);

/* Can path p run shape s? (REF and IM2COL run everything.) */
bool qp_conv_path_fits(const struct qp_conv_shape *s, enum qp_conv_path p);
/* The path prepare() picks: REF when forced, else the most specialised fit. */
enum qp_conv_path qp_conv_default_path(const struct qp_conv_shape *s);

/* prepare() with an explicit path (tests run every path on the same node).
 * QP_E_INVAL when the path does not fit the node (only REF fits a run-time
 * weight or bias; it leaves n->prep NULL), QP_E_NOMEM when the arena is
 * full. */
enum qp_status qp_conv_prepare_path(struct qp_graph *g, struct qp_node *n, enum qp_conv_path p,
                                    struct qp_err *err);

/* The path a prepared node runs (REF when prep is NULL). */
enum qp_conv_path qp_conv_prepared_path(const void *prep);

/* Reference convolution. x and y are in the given layouts (NHWC or PLAIN
 * NCHW); w is ONNX [M, C/group, kh, kw]; bias [M] or NULL. Accumulates in
 * double, then adds the bias and applies qp_act_ref. */
void qp_conv_ref(const struct qp_conv_shape *s, const float *x, enum qp_layout x_layout,
                 const float *w, const float *bias, float *y, enum qp_layout y_layout);

/* Reference ConvTranspose: w is ONNX [C, M/group, kh, kw]; y dims in s. */
void qp_conv_transpose_ref(const struct qp_conv_shape *s, const float *x, enum qp_layout x_layout,
                           const float *w, const float *bias, float *y, enum qp_layout y_layout);

/* Dtypes, ranks, layouts, channel / group / weight agreement and attribute
 * ranges that every conv path relies on (supports() of Conv and, with
 * transposed, of ConvTranspose). */
bool qp_conv_node_ok(const struct qp_graph *g, const struct qp_node *n, bool transposed);

/* ---- depthwise (depthwise.c, depthwise_avx2.c) ---- */

#define QP_DW_CBLOCK 8 /* channels are padded to a multiple of this in prep */

struct qp_dw {
    const struct qp_conv_shape *s;
    const float                *w;    /* [kh * kw][cp], zero-padded channels */
    const float                *bias; /* [cp], zeros when the node has none */
    int64_t                     cp;   /* c rounded up to QP_DW_CBLOCK */
    const float *zero_row;            /* w * c zeros when the 3x3 fast path applies, else NULL */
};

/* Does the AVX2 3x3 fast path (and its zero row) apply to s? */
bool qp_dw_fast3(const struct qp_conv_shape *s);

/* Output rows [r0, r1) of the NHWC output; row r is (n, oh) = (r / oh, r % oh). */
void qp_dw_rows_c(const struct qp_dw *d, const float *x, float *y, int64_t r0, int64_t r1);
void qp_dw_rows_avx2(const struct qp_dw *d, const float *x, float *y, int64_t r0, int64_t r1);
