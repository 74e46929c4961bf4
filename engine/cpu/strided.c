// SPDX-License-Identifier: Apache-2.0
/*
 * strided.c - stride arithmetic and the one dtype-agnostic strided copy
 * behind Transpose, Layout, Slice and Expand (strided.h).
 *
 * The copy first collapses the iteration space (size-1 dims dropped,
 * neighbours that stay contiguous merged), then takes one of three paths:
 *  - flat: walk the dense output in order; each innermost run is a memcpy
 *    (source stride 1), a replicated element (stride 0) or a strided gather;
 *  - zip: 1-byte elements whose last output dim is 2 or 3 and whose one
 *    before it has source stride 1 (an RGB NCHW -> NHWC Layout, a channel
 *    shuffle of two groups): rows interleaved with vector shuffles;
 *  - blocked: when the source's unit-stride dim q is not the output's last
 *    dim (a real transpose, e.g. NCHW <-> NHWC), copy TILE x TILE blocks of
 *    the (q, last) plane so both sides stay in cache; 1-byte elements (int8
 *    tensors) go 16 x 16 (or 16 x fewer rows) at a time through registers
 *    (transpose_avx2.c) where the CPU has AVX2.
 * Both split their work over the thread pool by contiguous ranges; the
 * output of each range is disjoint, so threads never share a cache line's
 * worth of writes except at range edges.
 */
#include "cpu/strided.h"

#include <string.h>

#include "cpu/cpu.h"

#define TILE 32 /* block edge of the blocked transpose, in elements */

void qp_cpu_dense_strides(const int64_t *dims, int32_t rank, int64_t *stride)
{
    int64_t s = 1;
    for (int32_t d = rank - 1; d >= 0; d--) {
        stride[d] = s;
        s *= dims[d];
    }
}

int64_t qp_cpu_dims_prod(const int64_t *dims, int32_t from, int32_t to)
{
    int64_t p = 1;
    for (int32_t d = from; d < to; d++)
        p *= dims[d];
    return p;
}

bool qp_cpu_bcast_strides(const int64_t *odims, int32_t orank, const int64_t *idims, int32_t irank,
                          int64_t *stride)
{
    int64_t dense[QP_MAX_RANK];
    if (irank > orank || orank > QP_MAX_RANK)
        return false;
    qp_cpu_dense_strides(idims, irank, dense);
    for (int32_t d = 0; d < orank; d++) {
        const int32_t k = d - (orank - irank);
        if (k < 0 || idims[k] == 1)
            stride[d] = 0;
        else if (idims[k] == odims[d])
            stride[d] = dense[k];
        else
            return false;
    }
    return true;
}

int32_t qp_cpu_collapse(int32_t rank, int64_t *dims, int64_t *const *stride, int32_t n_ops)
{
    int32_t r = 0;
    for (int32_t d = 0; d < rank; d++) {
        if (dims[d] == 1)
            continue;
        bool merge = r > 0;
        for (int32_t k = 0; k < n_ops && merge; k++)
            merge = stride[k][r - 1] == stride[k][d] * dims[d];
        if (merge) {
            dims[r - 1] *= dims[d];
            for (int32_t k = 0; k < n_ops; k++)
                stride[k][r - 1] = stride[k][d];
            continue;
        }
        dims[r] = dims[d];
        for (int32_t k = 0; k < n_ops; k++)
            stride[k][r] = stride[k][d];
        r++;
    }
    return r;
}

/* ===== runs: n elements of size es from src with stride s to dense dst ===== */

/* memcpy with a constant size compiles to one load and store, and keeps
 * the copy free of type punning whatever the dtype is. */
#define GATHER_SIZED(SZ)                                                                           \
    for (int64_t k = 0; k < n; k++)                                                                \
        memcpy(o + k * (SZ), i + k * s * (SZ), SZ);

static void copy_run(char *o, const char *i, int64_t s, int64_t n, size_t es)
{
    if (s == 1) {
        memcpy(o, i, (size_t)n * es);
        return;
    }
    switch (es) {
    case 1:
        GATHER_SIZED(1) break;
    case 2:
        GATHER_SIZED(2) break;
    case 4:
        GATHER_SIZED(4) break;
    case 8:
        GATHER_SIZED(8) break;
    default:
        for (int64_t k = 0; k < n; k++)
            memcpy(o + k * (int64_t)es, i + k * s * (int64_t)es, es);
        break;
    }
}

/* ===== flat path ===== */

static void flat_range(void *arg, int64_t begin, int64_t end)
{
    const struct qp_strided_copy *c     = arg;
    const int32_t                 r     = c->rank;
    const int64_t                 es    = (int64_t)c->esize;
    const int64_t                 inner = c->dims[r - 1], is = c->stride[r - 1];
    int64_t                       idx[QP_MAX_RANK];
    int64_t                       row = begin / inner, col = begin % inner, off = 0;

    for (int32_t d = r - 2; d >= 0; d--) {
        idx[d] = row % c->dims[d];
        row /= c->dims[d];
        off += idx[d] * c->stride[d];
    }
    char       *o   = (char *)c->dst + begin * es;
    const char *src = c->src;
    for (int64_t pos = begin; pos < end;) {
        const int64_t len = inner - col < end - pos ? inner - col : end - pos;
        copy_run(o, src + (off + col * is) * es, is, len, c->esize);
        o += len * es;
        pos += len;
        col = 0;
        for (int32_t d = r - 2; d >= 0; d--) { /* odometer over the outer dims */
            off += c->stride[d];
            if (++idx[d] < c->dims[d])
                break;
            off -= c->stride[d] * c->dims[d];
            idx[d] = 0;
        }
    }
}

/* ===== blocked path: dim q has source stride 1, the last dim does not ===== */

struct block_job {
    const struct qp_strided_copy *c;
    int32_t                       q;
    int64_t                       dst_stride[QP_MAX_RANK];
    int64_t                       n_qt; /* TILE-row blocks along q */
    bool                          simd; /* 1-byte tiles in 16 x 16 register blocks */
};

#define TILE_SIZED(SZ)                                                                             \
    for (int64_t l = l0; l < l1; l++)                                                              \
        for (int64_t k = q0; k < q1; k++)                                                          \
            memcpy(o + (k * dq + l) * (SZ), i + (k + l * sl) * (SZ), SZ);

/* The 1-byte tile: 16 x 16 blocks in registers (transpose_avx2.c), the
 * last fewer than 16 source rows as blocks of 16 x that many, the last
 * fewer than 16 columns byte by byte. */
static void copy_tile_i8(char *o, const char *i, int64_t dq, int64_t sl, int64_t q0, int64_t q1,
                         int64_t l0, int64_t l1)
{
    int64_t q16 = q0 + (q1 - q0) / 16 * 16, l16 = l0 + (l1 - l0) / 16 * 16;
    for (int64_t k = q0; k < q16; k += 16) {
        for (int64_t l = l0; l < l16; l += 16)
            qp_transpose16_i8_avx2((const int8_t *)(i + k + l * sl), sl, (int8_t *)(o + k * dq + l),
                                   dq);
        if (l16 < l1)
            qp_transpose16xn_i8_avx2((const int8_t *)(i + k + l16 * sl), sl, (int)(l1 - l16),
                                     (int8_t *)(o + k * dq + l16), dq);
    }
    for (int64_t l = l0; l < l1; l++)
        for (int64_t k = q16; k < q1; k++)
            o[k * dq + l] = i[k + l * sl];
}

static void copy_tile(char *o, const char *i, int64_t dq, int64_t sl, int64_t q0, int64_t q1,
                      int64_t l0, int64_t l1, size_t es, bool simd)
{
    switch (es) {
    case 1:
        if (simd) {
            copy_tile_i8(o, i, dq, sl, q0, q1, l0, l1);
            break;
        }
        TILE_SIZED(1) break;
    case 2:
        TILE_SIZED(2) break;
    case 4:
        TILE_SIZED(4) break;
    case 8:
        TILE_SIZED(8) break;
    default:
        for (int64_t l = l0; l < l1; l++)
            for (int64_t k = q0; k < q1; k++)
                memcpy(o + (k * dq + l) * (int64_t)es, i + (k + l * sl) * (int64_t)es, es);
        break;
    }
}

static void block_range(void *arg, int64_t begin, int64_t end)
{
    const struct block_job       *j = arg;
    const struct qp_strided_copy *c = j->c;
    const int32_t                 r = c->rank, q = j->q;
    const int64_t                 es = (int64_t)c->esize;
    const int64_t                 nl = c->dims[r - 1], nq = c->dims[q];

    for (int64_t t = begin; t < end; t++) {
        int64_t outer = t / j->n_qt, soff = 0, doff = 0;
        for (int32_t d = r - 2; d >= 0; d--) {
            if (d == q)
                continue;
            const int64_t id = outer % c->dims[d];
            outer /= c->dims[d];
            soff += id * c->stride[d];
            doff += id * j->dst_stride[d];
        }
        const int64_t q0 = (t % j->n_qt) * TILE;
        const int64_t q1 = q0 + TILE < nq ? q0 + TILE : nq;
        char         *o  = (char *)c->dst + doff * es;
        const char   *i  = (const char *)c->src + soff * es;
        for (int64_t l0 = 0; l0 < nl; l0 += TILE)
            copy_tile(o, i, j->dst_stride[q], c->stride[r - 1], q0, q1, l0,
                      l0 + TILE < nl ? l0 + TILE : nl, c->esize, j->simd);
    }
}

/* ===== zip path: [outer][n][g] from g unit-stride rows per outer ===== */

/* A 1-byte view of dims [outer, n, g] (rank 3, or rank 2 with outer 1
 * after collapsing), g 2 or 3, whose n dim has source stride 1: per outer
 * index, g source rows of n bytes interleaved. A channel shuffle of two
 * groups on NHWC (layout.c), and the NCHW -> NHWC Layout of an RGB input. */
#define ZIP_PIECE 4096 /* bytes of a row per task */

struct zip_job {
    const int8_t *src;
    int8_t       *dst;
    int64_t       n, outer_stride, row_stride, pieces;
    int           g;
};

static bool zip_view(const struct qp_strided_copy *c, struct zip_job *z)
{
    int32_t r = c->rank;
    if (c->esize != 1 || r < 2 || r > 3 || (c->dims[r - 1] != 2 && c->dims[r - 1] != 3) ||
        c->stride[r - 2] != 1 || c->dims[r - 2] < 16)
        return false;
    *z = (struct zip_job){c->src,
                          c->dst,
                          c->dims[r - 2],
                          r == 3 ? c->stride[0] : 0,
                          c->stride[r - 1],
                          (c->dims[r - 2] + ZIP_PIECE - 1) / ZIP_PIECE,
                          (int)c->dims[r - 1]};
    return true;
}

static void zip_range(void *arg, int64_t begin, int64_t end)
{
    const struct zip_job *z = arg;
    for (int64_t u = begin; u < end; u++) {
        int64_t       p = u / z->pieces, k0 = u % z->pieces * ZIP_PIECE;
        int64_t       len = z->n - k0 < ZIP_PIECE ? z->n - k0 : ZIP_PIECE;
        const int8_t *a   = z->src + p * z->outer_stride + k0;
        int8_t       *o   = z->dst + (p * z->n + k0) * z->g;
        if (z->g == 2)
            qp_zip2_i8_avx2(a, a + z->row_stride, o, len);
        else
            qp_zip3_i8_avx2(a, a + z->row_stride, a + 2 * z->row_stride, o, len);
    }
}

/* The dim (not the last) whose source stride is 1, when the last one's is
 * not 1 or 0 (a replicate is cheaper flat) and both are long enough for
 * blocking to pay; -1 otherwise. */
static int32_t unit_dim(const struct qp_strided_copy *c)
{
    const int32_t r = c->rank;
    if (r < 2 || c->stride[r - 1] == 1 || c->stride[r - 1] == 0 || c->dims[r - 1] < 2)
        return -1;
    for (int32_t d = r - 2; d >= 0; d--)
        if (c->stride[d] == 1 && c->dims[d] >= 4)
            return d;
    return -1;
}

void qp_cpu_strided_copy(struct qp_strided_copy *c, struct qp_pool *pool)
{
    int64_t  dst_stride[QP_MAX_RANK];
    int64_t *st[2] = {c->stride, dst_stride};

    for (int32_t d = 0; d < c->rank; d++)
        if (c->dims[d] == 0)
            return;
    qp_cpu_dense_strides(c->dims, c->rank, dst_stride);
    c->rank = qp_cpu_collapse(c->rank, c->dims, st, 2);
    if (c->rank == 0) {
        memcpy(c->dst, c->src, c->esize);
        return;
    }
    const int64_t                 n = qp_cpu_dims_prod(c->dims, 0, c->rank);
    const struct qp_cpu_features *f = qp_cpu_features();
    struct zip_job                z;
    if (f->avx2 && !f->force_reference && zip_view(c, &z)) {
        int64_t units = n / (z.n * z.g) * z.pieces;
        if (pool && n >= QP_CPU_PAR_MIN)
            qp_pool_for(pool, units, zip_range, &z);
        else
            zip_range(&z, 0, units);
        return;
    }
    const int32_t q = unit_dim(c);
    if (q < 0) {
        if (pool && n >= QP_CPU_PAR_MIN)
            qp_pool_for(pool, n, flat_range, c);
        else
            flat_range(c, 0, n);
        return;
    }
    struct block_job j = {.c = c, .q = q, .n_qt = (c->dims[q] + TILE - 1) / TILE,
                          .simd = f->avx2 && !f->force_reference};
    qp_cpu_dense_strides(c->dims, c->rank, j.dst_stride);
    const int64_t tasks = n / (c->dims[q] * c->dims[c->rank - 1]) * j.n_qt;
    if (pool && n >= QP_CPU_PAR_MIN)
        qp_pool_for(pool, tasks, block_range, &j);
    else
        block_range(&j, 0, tasks);
}
