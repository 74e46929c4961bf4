// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * lt_gemm.h - one INT8 GEMM through cuBLASLt: pad the shape, build the
 * descriptors, choose (and later reuse) the algorithm, enqueue the product.
 *
 * The product is the row-major NHWC convolution-as-GEMM of DESIGN §5:
 *
 *   A [m_pad rows = pixels][lda]  int8   activations (im2col rows or NHWC)
 *   W [n_pad rows = Cout  ][ldw]  int8   packed weights
 *   C [m_pad rows         ][ldc]  int32  C = A · Wᵀ, exact (no epilogue)
 *
 * cuBLASLt is column-major, so it sees the "TN" problem its IMMA (INT8
 * tensor-core) kernels require: its m = n_pad (Cout), n = m_pad (pixels),
 * k = k_pad; its matrix A = W (rows k_pad, cols n_pad, ld ldw, op T), its
 * matrix B = our A (rows k_pad, cols m_pad, ld lda, op N), C = D (rows n_pad,
 * cols m_pad, ld ldc). Compute CUBLAS_COMPUTE_32I, scale CUDA_R_32I,
 * alpha 1, beta 0 on the host.
 *
 * Padding (qp_lt_shape_plan). Source: cuBLAS docs, cublasLtMatmul(), "To use
 * IMMA kernels ... regular data ordering" (docs.nvidia.com/cuda/cublas,
 * #cublasltmatmul): m and k multiples of 4, every leading dimension a
 * multiple of 4, only TN, pointers 4-byte aligned ("16 for even better
 * performance"); and "Tensor Core Usage": (k * 1 byte) % 16, (ld * size) % 16
 * and 16-byte pointers for the best kernels.
 *  - k_pad = round_up(K, 16): the rule asks 4; 16 puts every row of A and W
 *    on a 16-byte boundary (TN: both operands are read along k). It costs
 *    only the first convolution (K = 27 -> 32); K = 9 * C with C % 16 == 0
 *    and every 1x1 convolution on padded channels are already multiples.
 *  - n_pad = round_up(Cout, 4): the IMMA rule for cuBLASLt's m and for ldc;
 *    with int32 output 4 columns are 16 bytes, so the 16-byte rules hold
 *    too. Rounding to 16 would make Cout = 3 cost 16 columns for nothing.
 *  - m_pad = round_up(max(pixels, QP_LT_MIN_ROWS), 4): the docs put no rule
 *    on cuBLASLt's n, but PyTorch's INT8 torch._int_mm (the same TN call,
 *    its M is this n) refused M <= 16 to avoid cuBLAS "not supported"
 *    failures (pytorch PR 114321) and now pads M = 1..31 to 32 zero rows,
 *    bit-identically (pytorch PR 178469). We do the same (at most 31 extra
 *    rows, only for tiny GEMMs such as a classifier head at batch 1) and
 *    round to 4 so every dimension cuBLASLt sees is a multiple of 4 (at most
 *    3 extra rows).
 *
 * What the caller lays out (the plan only computes; it owns no memory):
 *  - A holds m_pad rows of lda bytes, W n_pad rows of ldw bytes, C m_pad rows
 *    of ldc int32 (qp_lt_bytes_*). Only rows < pixels of C and columns < Cout
 *    are meaningful: row i of C depends on row i of A only, and column j on
 *    row j of W only, so the pad rows of A and W may hold anything (zeros
 *    or garbage) and produce pad results nobody reads.
 *  - The K pad (columns K..k_pad-1) of W must be zero; then the K pad of A
 *    may hold anything, as x * 0 == 0 exactly. (Zero both where cheap.)
 *  - A, W and C 16-byte aligned (QP_LT_ALIGN; the heuristic is asked only
 *    for algorithms that accept that), the workspace 256-byte aligned
 *    (QP_LT_WORKSPACE_ALIGN, cublasLtMatmul()).
 *
 * Exactness: |acc| <= K * 128 * 128 must stay below 2^31, so K <= 131071
 * (QP_LT_MAX_K). Statuses: cuBLASLt's NOT_SUPPORTED and ARCH_MISMATCH become
 * QP_E_UNSUPPORTED, any other cuBLASLt or CUDA failure QP_E_CUDA; messages
 * name the shape, the call and cuBLASLt's status string.
 *
 * Policy code in C11; the only GPU work is cuBLASLt's. Tested by
 * tests/unit/test_cuda_lt_plan.c (padding, sizes, limits; no device) and
 * tests/gpu/test_cuda_lt_gemm.c (exact against a CPU triple loop).
 */
#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <stddef.h>
#include <stdint.h>

#include "qpercept/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define QP_LT_MAX_K 131071               /* 131071 * 128 * 128 < 2^31: int32 stays exact */
#define QP_LT_MAX_DIM (INT64_C(1) << 30) /* pixels and Cout: keeps every byte count in 63 bits */
#define QP_LT_MIN_ROWS 32                /* pixels are padded to at least this many rows */
#define QP_LT_ALIGN 16                   /* bytes, A, W and C pointers */
#define QP_LT_WORKSPACE_ALIGN 256        /* bytes, workspace pointer */
#define QP_LT_CANDIDATES 8               /* heuristic results timed by qp_lt_gemm_init */

/* Element types of a GEMM: INT8 in, INT32 out (IMMA, the default), or
 * FP32 in and out (CUBLAS_COMPUTE_32F: FP32 arithmetic, no TF32), for
 * float convolutions. The same padded shape serves both. */
enum qp_lt_dtype { QP_LT_I8 = 0, QP_LT_F32 = 1 };

/* Padded problem of one GEMM; pure arithmetic, no CUDA calls. dtype is
 * QP_LT_I8 as planned: set QP_LT_F32 before _init for floats. Note the
 * names: m is pixels and n is Cout, the reverse of cuBLASLt's m and n. A
 * caller may raise lda / ldw / ldc (say, to read a channel slice of a wider
 * NHWC tensor) if they stay multiples of 16, 16 and 4; _init asserts that. */
struct qp_lt_shape {
    int64_t m, k, n;             /* logical: pixels, reduction (K), output channels */
    int64_t m_pad, k_pad, n_pad; /* what cuBLASLt sees */
    int64_t lda, ldw, ldc;       /* row strides in elements: k_pad, k_pad, n_pad */
    enum qp_lt_dtype dtype;
};

/* Plan the padded shape of C[pixels][cout] = A[pixels][k] · W[cout][k]ᵀ.
 * QP_E_INVAL when a dimension is < 1, QP_E_UNSUPPORTED when k > QP_LT_MAX_K
 * or pixels / cout > QP_LT_MAX_DIM; the message names the shape. *s is
 * written only on QP_OK. */
enum qp_status qp_lt_shape_plan(int64_t pixels, int64_t k, int64_t cout, struct qp_lt_shape *s,
                                struct qp_err *err);

/* Bytes the caller provides for A (m_pad * lda elements), W (n_pad * ldw)
 * and C (m_pad * ldc) under a plan from qp_lt_shape_plan: 1-byte A and W
 * and 4-byte C for QP_LT_I8, 4 bytes each for QP_LT_F32. */
size_t qp_lt_bytes_a(const struct qp_lt_shape *s);
size_t qp_lt_bytes_w(const struct qp_lt_shape *s);
size_t qp_lt_bytes_c(const struct qp_lt_shape *s);

/* Workspace to give cuBLASLt on a device of compute capability sm_major.x:
 * 32 MiB from Hopper (sm_90) on, 4 MiB before (the cuBLAS docs'
 * cublasSetWorkspace() recommendation: 32 MiB for Hopper and Blackwell, 4 MiB
 * for other architectures; PyTorch uses 32 MiB for major >= 9). Both are
 * multiples of QP_LT_WORKSPACE_ALIGN. */
size_t qp_lt_workspace_bytes(int sm_major);

/* A chosen algorithm as an engine file stores it: the cublasLtMatmulAlgo_t
 * bytes ("can be trivially serialized and later restored for use with the
 * same version of cuBLAS library") and the cuBLASLt version that chose it.
 * The GPU it was tuned on is the caller's key to keep. */
struct qp_lt_algo {
    uint64_t lt_version; /* cublasLtGetVersion() at choice time */
    uint64_t data[8];    /* cublasLtMatmulAlgo_t, verbatim */
};

/* One planned GEMM: descriptors and algorithm, no pointers to data. Owned by
 * the caller's storage; _fini releases the descriptors. */
struct qp_lt_gemm {
    struct qp_lt_shape     shape;
    cublasLtMatmulDesc_t   op;
    cublasLtMatrixLayout_t lay_w; /* cuBLASLt's A: weights, op T */
    cublasLtMatrixLayout_t lay_a; /* cuBLASLt's B: activations, op N */
    cublasLtMatrixLayout_t lay_c; /* C and D */
    cublasLtMatmulAlgo_t   algo;
    size_t                 workspace_bytes; /* what algo needs; <= the limit given */
    float                  time_ms;         /* algo's best timed run; 0 when not timed */
};

/* Create the descriptors for shape s on handle h and choose the algorithm:
 * ask cublasLtMatmulAlgoGetHeuristic for up to QP_LT_CANDIDATES algorithms
 * that need at most workspace_bytes and accept QP_LT_ALIGN-aligned
 * pointers; when a, w and c are device buffers of shape s, run each
 * candidate on stream st (2 warm-up runs, then the best of 5 timed runs
 * between cudaEvents) and keep the fastest; when all three are NULL keep the
 * heuristic's first. workspace (workspace_bytes, QP_LT_WORKSPACE_ALIGN-aligned)
 * is only touched when timing. Synchronizes st while timing; prepare time only.
 * QP_E_INVAL for misaligned or partly NULL buffers, QP_E_UNSUPPORTED when no
 * algorithm fits (or none of them runs), QP_E_CUDA for other cuBLASLt / CUDA
 * failures; the message names the shape and cuBLASLt's status string. On
 * failure *g is left finalised (zeroed). */
enum qp_status qp_lt_gemm_init(struct qp_lt_gemm *g, cublasLtHandle_t h,
                               const struct qp_lt_shape *s, void *workspace, size_t workspace_bytes,
                               cudaStream_t st, const void *a, const void *w, void *c,
                               struct qp_err *err);

/* As qp_lt_gemm_init, but reuse a stored algorithm instead of choosing one:
 * QP_E_UNSUPPORTED when it comes from another cuBLASLt version, when
 * cublasLtMatmulAlgoCheck rejects it for s on this device, or when it needs
 * more than workspace_bytes (re-tune with qp_lt_gemm_init then). No GPU work. */
enum qp_status qp_lt_gemm_init_algo(struct qp_lt_gemm *g, cublasLtHandle_t h,
                                    const struct qp_lt_shape *s, const struct qp_lt_algo *stored,
                                    size_t workspace_bytes, struct qp_err *err);

/* The algorithm g runs, for storing in an engine file. */
void qp_lt_gemm_algo(const struct qp_lt_gemm *g, struct qp_lt_algo *out);

/* Enqueue C = A · Wᵀ on st and return: no synchronization, no allocation,
 * so it can be captured in a CUDA graph. workspace: at least
 * g->workspace_bytes, QP_LT_WORKSPACE_ALIGN-aligned (may be NULL when that is
 * 0). QP_E_INVAL for NULL or misaligned pointers; a cuBLASLt refusal as
 * mapped at the top of this file. */
enum qp_status qp_lt_gemm_run(const struct qp_lt_gemm *g, cublasLtHandle_t h, const void *a,
                              const void *w, void *c, void *workspace, cudaStream_t st,
                              struct qp_err *err);

/* Release the descriptors and zero *g. Safe on a zeroed, partly initialised
 * or already finalised struct. */
void qp_lt_gemm_fini(struct qp_lt_gemm *g);

#ifdef __cplusplus
}
#endif
