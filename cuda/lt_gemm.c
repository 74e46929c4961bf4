// SPDX-License-Identifier: Apache-2.0
/*
 * lt_gemm.c - the cuBLASLt INT8 GEMM plan: padded shape, descriptors,
 * algorithm choice by heuristic + timing (or a stored algorithm), enqueue.
 *
 * The why of every padding rule and of the "TN" mapping is in lt_gemm.h.
 * Resources: each qp_lt_gemm owns four cuBLASLt descriptors (created in
 * _init, destroyed in _fini); timing borrows two cudaEvents for the length
 * of _init. _run calls nothing but cublasLtMatmul: no allocation, no sync.
 * Exactness of the result is the GPU test's business
 * (tests/gpu/test_cuda_lt_gemm.c), the padding arithmetic the unit test's.
 */
#include "lt_gemm.h"

#include <float.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "core/hd.h" /* qp_round_up */

#define K_ALIGN 16  /* k_pad: 16-byte rows of A and W (IMMA asks 4) */
#define DIM_ALIGN 4 /* n_pad, m_pad: the IMMA multiple */
#define WARMUP 2    /* untimed runs per candidate */
#define TIMED 5     /* timed runs per candidate; the best one counts */

_Static_assert(sizeof(cublasLtMatmulAlgo_t) == sizeof(((struct qp_lt_algo *)0)->data),
               "qp_lt_algo.data must hold a cublasLtMatmulAlgo_t");
_Static_assert(sizeof(size_t) >= 8, "byte counts of QP_LT_MAX_DIM shapes need a 64-bit size_t");

#define SHAPE_FMT "gemm (pixels %" PRId64 ", K %" PRId64 ", Cout %" PRId64 ")"
#define SHAPE_ARGS(s) (s)->m, (s)->k, (s)->n

/* Users declare `enum qp_status st`, `err`, `s` and an `out:` label. */
#define LT_TRY(call)                                                                               \
    do {                                                                                           \
        cublasStatus_t cs_ = (call);                                                               \
        if (cs_ != CUBLAS_STATUS_SUCCESS) {                                                        \
            st = lt_fail(err, s, #call, cs_);                                                      \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

#define CU_TRY(call)                                                                               \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            st = qp_fail(err, QP_E_CUDA, SHAPE_FMT ": %s: %s", SHAPE_ARGS(s), #call,               \
                         cudaGetErrorString(e_));                                                  \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

/* The device buffers one product (or a timing run) works on. */
struct lt_bufs {
    const void *a, *w;
    void       *c;
    void         *ws;
    cudaStream_t  st;
};

static enum qp_status lt_fail(struct qp_err *err, const struct qp_lt_shape *s, const char *call,
                              cublasStatus_t cs)
{
    /* "no kernel for this" is a capability answer, anything else a failure */
    const enum qp_status code =
        cs == CUBLAS_STATUS_NOT_SUPPORTED || cs == CUBLAS_STATUS_ARCH_MISMATCH ? QP_E_UNSUPPORTED
                                                                               : QP_E_CUDA;
    return qp_fail(err, code, SHAPE_FMT ": %s: %s", SHAPE_ARGS(s), call,
                   cublasLtGetStatusString(cs));
}

static bool misaligned(const void *p, size_t to)
{
    return (uintptr_t)p % to != 0;
}

/* ===== Shape (pure) ===== */

enum qp_status qp_lt_shape_plan(int64_t pixels, int64_t k, int64_t cout, struct qp_lt_shape *s,
                                struct qp_err *err)
{
    const struct qp_lt_shape want = {.m = pixels, .k = k, .n = cout};
    if (pixels < 1 || k < 1 || cout < 1)
        return qp_fail(err, QP_E_INVAL, SHAPE_FMT ": every dimension must be >= 1",
                       SHAPE_ARGS(&want));
    if (k > QP_LT_MAX_K)
        return qp_fail(err, QP_E_UNSUPPORTED,
                       SHAPE_FMT ": K > %d would overflow the exact int32 accumulator",
                       SHAPE_ARGS(&want), QP_LT_MAX_K);
    if (pixels > QP_LT_MAX_DIM || cout > QP_LT_MAX_DIM)
        return qp_fail(err, QP_E_UNSUPPORTED, SHAPE_FMT ": pixels and Cout are limited to %" PRId64,
                       SHAPE_ARGS(&want), QP_LT_MAX_DIM);

    struct qp_lt_shape p = want;
    p.m_pad              = qp_round_up(pixels < QP_LT_MIN_ROWS ? QP_LT_MIN_ROWS : pixels, DIM_ALIGN);
    p.k_pad              = qp_round_up(k, K_ALIGN);
    p.n_pad              = qp_round_up(cout, DIM_ALIGN);
    p.lda                = p.k_pad;
    p.ldw                = p.k_pad;
    p.ldc                = p.n_pad;
    *s                   = p;
    return QP_OK;
}

static size_t in_bytes(const struct qp_lt_shape *s)
{
    return s->dtype == QP_LT_F32 ? sizeof(float) : sizeof(int8_t);
}

size_t qp_lt_bytes_a(const struct qp_lt_shape *s)
{
    return (size_t)s->m_pad * (size_t)s->lda * in_bytes(s);
}

size_t qp_lt_bytes_w(const struct qp_lt_shape *s)
{
    return (size_t)s->n_pad * (size_t)s->ldw * in_bytes(s);
}

size_t qp_lt_bytes_c(const struct qp_lt_shape *s)
{
    return (size_t)s->m_pad * (size_t)s->ldc * sizeof(int32_t); /* int32 or float */
}

size_t qp_lt_workspace_bytes(int sm_major)
{
    return (size_t)(sm_major >= 9 ? 32 : 4) << 20;
}

/* ===== Descriptors and algorithm ===== */

/* A shape not from qp_lt_shape_plan (or with strides raised against the
 * IMMA rules) is the caller's bug, not a runtime condition. */
static void assert_planned(const struct qp_lt_shape *s)
{
    QP_ASSERT(s->m >= 1 && s->m <= s->m_pad && s->m_pad % DIM_ALIGN == 0);
    QP_ASSERT(s->k >= 1 && s->k <= QP_LT_MAX_K && s->k <= s->k_pad && s->k_pad % K_ALIGN == 0);
    QP_ASSERT(s->n >= 1 && s->n <= s->n_pad && s->n_pad % DIM_ALIGN == 0);
    QP_ASSERT(s->lda >= s->k_pad && s->lda % K_ALIGN == 0);
    QP_ASSERT(s->ldw >= s->k_pad && s->ldw % K_ALIGN == 0);
    QP_ASSERT(s->ldc >= s->n_pad && s->ldc % DIM_ALIGN == 0);
}

/* The operation (TN, int32 compute and scale, host alpha/beta) and the
 * three layouts; see the mapping in lt_gemm.h. */
static enum qp_status descs_create(struct qp_lt_gemm *g, const struct qp_lt_shape *s,
                                   struct qp_err *err)
{
    const int32_t  op_t = CUBLAS_OP_T, op_n = CUBLAS_OP_N, host = CUBLASLT_POINTER_MODE_HOST;
    enum qp_status st = QP_OK;

    const bool           f32 = s->dtype == QP_LT_F32;
    const cudaDataType_t in  = f32 ? CUDA_R_32F : CUDA_R_8I, out = f32 ? CUDA_R_32F : CUDA_R_32I;
    assert_planned(s);
    g->shape = *s;
    LT_TRY(cublasLtMatmulDescCreate(&g->op, f32 ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_32I, out));
    LT_TRY(cublasLtMatmulDescSetAttribute(g->op, CUBLASLT_MATMUL_DESC_TRANSA, &op_t, sizeof op_t));
    LT_TRY(cublasLtMatmulDescSetAttribute(g->op, CUBLASLT_MATMUL_DESC_TRANSB, &op_n, sizeof op_n));
    LT_TRY(cublasLtMatmulDescSetAttribute(g->op, CUBLASLT_MATMUL_DESC_POINTER_MODE, &host,
                                          sizeof host));
    LT_TRY(cublasLtMatrixLayoutCreate(&g->lay_w, in, (uint64_t)s->k_pad, (uint64_t)s->n_pad,
                                      s->ldw));
    LT_TRY(cublasLtMatrixLayoutCreate(&g->lay_a, in, (uint64_t)s->k_pad, (uint64_t)s->m_pad,
                                      s->lda));
    LT_TRY(cublasLtMatrixLayoutCreate(&g->lay_c, out, (uint64_t)s->n_pad, (uint64_t)s->m_pad,
                                      s->ldc));
out:
    return st;
}

/* Up to QP_LT_CANDIDATES usable algorithms, best estimate first; *n >= 1 on
 * QP_OK. */
static enum qp_status heuristic(const struct qp_lt_gemm *g, cublasLtHandle_t h, size_t ws_bytes,
                                cublasLtMatmulHeuristicResult_t *res, int *n, struct qp_err *err)
{
    static const cublasLtMatmulPreferenceAttributes_t aligns[] = {
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
    const struct qp_lt_shape  *s     = &g->shape;
    const uint64_t             ws    = ws_bytes;
    const uint32_t             align = QP_LT_ALIGN; /* cuBLASLt assumes 256 unless told */
    cublasLtMatmulPreference_t pref  = NULL;
    enum qp_status             st    = QP_OK;
    int                        got   = 0;

    *n = 0;
    LT_TRY(cublasLtMatmulPreferenceCreate(&pref));
    LT_TRY(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                                sizeof ws));
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++)
        LT_TRY(cublasLtMatmulPreferenceSetAttribute(pref, aligns[i], &align, sizeof align));
    LT_TRY(cublasLtMatmulAlgoGetHeuristic(h, g->op, g->lay_w, g->lay_a, g->lay_c, g->lay_c, pref,
                                          QP_LT_CANDIDATES, res, &got));
    for (int i = 0; i < got; i++) /* keep the usable ones, in order */
        if (res[i].state == CUBLAS_STATUS_SUCCESS && res[i].workspaceSize <= ws_bytes)
            res[(*n)++] = res[i];
    if (*n == 0)
        st = qp_fail(err, QP_E_UNSUPPORTED,
                     SHAPE_FMT ": no cuBLASLt algorithm within %zu workspace bytes",
                     SHAPE_ARGS(s), ws_bytes);
out:
    if (pref)
        (void)cublasLtMatmulPreferenceDestroy(pref); /* documented to return only SUCCESS */
    return st;
}

static cublasStatus_t matmul(const struct qp_lt_gemm *g, cublasLtHandle_t h,
                             const struct lt_bufs *b)
{
    const int32_t one = 1, zero = 0;        /* CUDA_R_32I scale: int32 alpha and beta */
    const float   onef = 1.0f, zerof = 0.0f; /* CUDA_R_32F scale */
    const bool    f32 = g->shape.dtype == QP_LT_F32;
    return cublasLtMatmul(h, g->op, f32 ? (const void *)&onef : (const void *)&one, b->w, g->lay_w,
                          b->a, g->lay_a, f32 ? (const void *)&zerof : (const void *)&zero, b->c,
                          g->lay_c, b->c, g->lay_c, &g->algo, b->ws, g->workspace_bytes, b->st);
}

/* Best of TIMED runs of g's current algorithm after WARMUP runs, in *ms; a
 * negative *ms (and *refused) when cuBLASLt will not run it, so the caller
 * moves on to the next candidate. */
static enum qp_status time_algo(const struct qp_lt_gemm *g, cublasLtHandle_t h,
                                const struct lt_bufs *b, cudaEvent_t ev[2], float *ms,
                                cublasStatus_t *refused, struct qp_err *err)
{
    const struct qp_lt_shape *s    = &g->shape;
    enum qp_status            st   = QP_OK;
    float                     best = FLT_MAX;

    *ms = -1.0f;
    for (int r = 0; r < WARMUP + TIMED; r++) {
        if (r >= WARMUP)
            CU_TRY(cudaEventRecord(ev[0], b->st));
        cublasStatus_t cs = matmul(g, h, b);
        if (cs != CUBLAS_STATUS_SUCCESS) {
            *refused = cs;
            goto out;
        }
        if (r < WARMUP)
            continue;
        float t = 0;
        CU_TRY(cudaEventRecord(ev[1], b->st));
        CU_TRY(cudaEventSynchronize(ev[1])); /* also surfaces a kernel fault */
        CU_TRY(cudaEventElapsedTime(&t, ev[0], ev[1]));
        best = t < best ? t : best;
    }
    *ms = best;
out:
    return st;
}

/* Run every candidate on b and keep the fastest in g. */
static enum qp_status choose_timed(struct qp_lt_gemm *g, cublasLtHandle_t h,
                                   const cublasLtMatmulHeuristicResult_t *res, int n,
                                   const struct lt_bufs *b, struct qp_err *err)
{
    const struct qp_lt_shape *s       = &g->shape;
    cudaEvent_t               ev[2]   = {NULL, NULL};
    cublasStatus_t            refused = CUBLAS_STATUS_SUCCESS;
    enum qp_status            st      = QP_OK;
    float                     best_ms = FLT_MAX;
    int                       best    = -1;

    CU_TRY(cudaEventCreate(&ev[0]));
    CU_TRY(cudaEventCreate(&ev[1]));
    for (int i = 0; i < n; i++) {
        float ms           = -1.0f;
        g->algo            = res[i].algo;
        g->workspace_bytes = res[i].workspaceSize;
        st                 = time_algo(g, h, b, ev, &ms, &refused, err);
        if (st != QP_OK)
            goto out;
        if (ms >= 0 && ms < best_ms) {
            best_ms = ms;
            best    = i;
        }
    }
    if (best < 0) {
        st =
            qp_fail(err, QP_E_UNSUPPORTED, SHAPE_FMT ": cuBLASLt ran none of its %d candidates: %s",
                    SHAPE_ARGS(s), n, cublasLtGetStatusString(refused));
        goto out;
    }
    g->algo            = res[best].algo;
    g->workspace_bytes = res[best].workspaceSize;
    g->time_ms         = best_ms;
out:
    for (int i = 0; i < 2; i++)
        if (ev[i])
            (void)cudaEventDestroy(ev[i]); /* nothing to do if it fails */
    return st;
}

/* Timing buffers: all three or none, each QP_LT_ALIGN-aligned, and then a
 * workspace that cuBLASLt accepts. */
static enum qp_status check_timing_bufs(const struct qp_lt_shape *s, const struct lt_bufs *b,
                                        size_t ws_bytes, struct qp_err *err)
{
    const int n_null = !b->a + !b->w + !b->c;
    if (n_null == 3)
        return QP_OK;
    if (n_null != 0)
        return qp_fail(err, QP_E_INVAL, SHAPE_FMT ": timing needs all of A, W and C (or none)",
                       SHAPE_ARGS(s));
    if (misaligned(b->a, QP_LT_ALIGN) || misaligned(b->w, QP_LT_ALIGN) ||
        misaligned(b->c, QP_LT_ALIGN))
        return qp_fail(err, QP_E_INVAL, SHAPE_FMT ": A, W and C must be %d-byte aligned",
                       SHAPE_ARGS(s), QP_LT_ALIGN);
    if (ws_bytes > 0 && (!b->ws || misaligned(b->ws, QP_LT_WORKSPACE_ALIGN)))
        return qp_fail(err, QP_E_INVAL,
                       SHAPE_FMT ": workspace of %zu bytes must be %d-byte aligned", SHAPE_ARGS(s),
                       ws_bytes, QP_LT_WORKSPACE_ALIGN);
    return QP_OK;
}

enum qp_status qp_lt_gemm_init(struct qp_lt_gemm *g, cublasLtHandle_t h,
                               const struct qp_lt_shape *s, void *workspace, size_t workspace_bytes,
                               cudaStream_t st, const void *a, const void *w, void *c,
                               struct qp_err *err)
{
    const struct lt_bufs            b = {.a = a, .w = w, .c = c, .ws = workspace, .st = st};
    cublasLtMatmulHeuristicResult_t res[QP_LT_CANDIDATES];
    int                             n = 0;

    QP_ASSERT(g && h && s);
    memset(g, 0, sizeof *g);
    enum qp_status rc = check_timing_bufs(s, &b, workspace_bytes, err);
    if (rc == QP_OK)
        rc = descs_create(g, s, err);
    if (rc == QP_OK)
        rc = heuristic(g, h, workspace_bytes, res, &n, err);
    if (rc == QP_OK && a) {
        rc = choose_timed(g, h, res, n, &b, err);
    } else if (rc == QP_OK) {
        g->algo            = res[0].algo;
        g->workspace_bytes = res[0].workspaceSize;
    }
    if (rc != QP_OK)
        qp_lt_gemm_fini(g);
    return rc;
}

/* cublasLtMatmulAlgoCheck on g's descriptors; a rejection (including
 * "descriptors don't match algo") means the stored algorithm is unusable. */
static enum qp_status check_stored(struct qp_lt_gemm *g, cublasLtHandle_t h, size_t ws_bytes,
                                   struct qp_err *err)
{
    const struct qp_lt_shape       *s = &g->shape;
    cublasLtMatmulHeuristicResult_t r;

    memset(&r, 0, sizeof r);
    cublasStatus_t cs =
        cublasLtMatmulAlgoCheck(h, g->op, g->lay_w, g->lay_a, g->lay_c, g->lay_c, &g->algo, &r);
    if (cs == CUBLAS_STATUS_SUCCESS)
        cs = r.state;
    if (cs == CUBLAS_STATUS_INVALID_VALUE)
        return qp_fail(err, QP_E_UNSUPPORTED,
                       SHAPE_FMT ": stored algorithm does not match the shape: %s", SHAPE_ARGS(s),
                       cublasLtGetStatusString(cs));
    if (cs != CUBLAS_STATUS_SUCCESS)
        return lt_fail(err, s, "cublasLtMatmulAlgoCheck (stored algorithm)", cs);
    if (r.workspaceSize > ws_bytes)
        return qp_fail(err, QP_E_UNSUPPORTED,
                       SHAPE_FMT ": stored algorithm needs %zu workspace bytes, %zu given",
                       SHAPE_ARGS(s), r.workspaceSize, ws_bytes);
    g->workspace_bytes = r.workspaceSize;
    return QP_OK;
}

enum qp_status qp_lt_gemm_init_algo(struct qp_lt_gemm *g, cublasLtHandle_t h,
                                    const struct qp_lt_shape *s, const struct qp_lt_algo *stored,
                                    size_t workspace_bytes, struct qp_err *err)
{
    QP_ASSERT(g && h && s && stored);
    memset(g, 0, sizeof *g);
    const uint64_t version = cublasLtGetVersion();
    if (stored->lt_version != version)
        return qp_fail(err, QP_E_UNSUPPORTED,
                       SHAPE_FMT ": stored algorithm is from cuBLASLt %" PRIu64
                                 ", this is %" PRIu64,
                       SHAPE_ARGS(s), stored->lt_version, version);

    enum qp_status rc = descs_create(g, s, err);
    if (rc == QP_OK) {
        memcpy(&g->algo, stored->data, sizeof g->algo);
        rc = check_stored(g, h, workspace_bytes, err);
    }
    if (rc != QP_OK)
        qp_lt_gemm_fini(g);
    return rc;
}

void qp_lt_gemm_algo(const struct qp_lt_gemm *g, struct qp_lt_algo *out)
{
    memset(out, 0, sizeof *out);
    out->lt_version = cublasLtGetVersion();
    memcpy(out->data, &g->algo, sizeof out->data);
}

/* ===== Run and release ===== */

enum qp_status qp_lt_gemm_run(const struct qp_lt_gemm *g, cublasLtHandle_t h, const void *a,
                              const void *w, void *c, void *workspace, cudaStream_t st,
                              struct qp_err *err)
{
    const struct qp_lt_shape *s = &g->shape;
    const struct lt_bufs      b = {.a = a, .w = w, .c = c, .ws = workspace, .st = st};

    if (!a || !w || !c || misaligned(a, QP_LT_ALIGN) || misaligned(w, QP_LT_ALIGN) ||
        misaligned(c, QP_LT_ALIGN))
        return qp_fail(err, QP_E_INVAL,
                       SHAPE_FMT ": A, W and C must be non-NULL and %d-byte aligned", SHAPE_ARGS(s),
                       QP_LT_ALIGN);
    if (g->workspace_bytes > 0 && (!workspace || misaligned(workspace, QP_LT_WORKSPACE_ALIGN)))
        return qp_fail(err, QP_E_INVAL,
                       SHAPE_FMT ": needs a %d-byte aligned workspace of %zu bytes", SHAPE_ARGS(s),
                       QP_LT_WORKSPACE_ALIGN, g->workspace_bytes);
    cublasStatus_t cs = matmul(g, h, &b);
    if (cs != CUBLAS_STATUS_SUCCESS)
        return lt_fail(err, s, "cublasLtMatmul", cs);
    return QP_OK;
}

void qp_lt_gemm_fini(struct qp_lt_gemm *g)
{
    /* The Destroy calls are documented to return only SUCCESS. */
    if (g->lay_c)
        (void)cublasLtMatrixLayoutDestroy(g->lay_c);
    if (g->lay_a)
        (void)cublasLtMatrixLayoutDestroy(g->lay_a);
    if (g->lay_w)
        (void)cublasLtMatrixLayoutDestroy(g->lay_w);
    if (g->op)
        (void)cublasLtMatmulDescDestroy(g->op);
    memset(g, 0, sizeof *g);
}
