// SPDX-License-Identifier: Apache-2.0
/*
 * test_cpu_shape.c - data-movement CPU kernels: Identity, Concat, Split,
 * Slice (negative steps), Transpose (2-D, blocked 3-D, general 4-D, every
 * element size), Layout (NCHW <-> NHWC), Pad (constant, reflect, edge,
 * negative pads, NHWC), Gather, Cast (every dtype family, f16 rounding),
 * Shape, ConstantOfShape and Expand, in PLAIN and NHWC layouts, threaded
 * and not.
 *
 * Expectations come from index arithmetic written here, independent of the
 * kernels' stride machinery, or from numpy 2.4.6 where noted: np.pad of
 * [1, 2, 3] and of arange(12).reshape(3, 4), and
 * np.float32(f16_in).astype(np.float16) for the f16 rounding table.
 */
#include <math.h>
#include <stdlib.h>

#include "core/fp16.h"
#include "cpu_case.h"

static struct qp_pool *pool;

static int suite_init(void)
{
    QP_TEST_RAN();
    return qp_pool_new(2, &pool, NULL) == QP_OK ? 0 : 1;
}

static int suite_fini(void)
{
    qp_pool_free(pool);
    pool = NULL;
    return 0;
}

/* A one-input one-output node; returns it for attributes. */
static struct qp_node *unary_case(struct cpu_case *c, enum qp_op op, enum qp_dtype dt,
                                  enum qp_layout li, int32_t ri, const int64_t *di,
                                  enum qp_dtype dto, enum qp_layout lo, int32_t ro,
                                  const int64_t *dout)
{
    case_init(c);
    const int32_t ti = case_tensor(c, dt, li, ri, di);
    const int32_t to = case_tensor(c, dto, lo, ro, dout);
    return case_node(c, op, 1, &ti, 1, &to);
}

static int64_t numel(const int64_t *d, int32_t r)
{
    int64_t n = 1;
    for (int32_t i = 0; i < r; i++)
        n *= d[i];
    return n;
}

/* Deterministic bytes, different for every position. */
static void fill_bytes(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)((i * 131u + seed * 17u + (i >> 8) * 7u) & 0xffu);
}

/* ===== Identity ===== */

static void test_identity_copies(void)
{
    const int64_t   d[2] = {3, 5};
    float           x[15], y[15];
    struct cpu_case c;
    for (int i = 0; i < 15; i++)
        x[i] = (float)i - 7.5f;
    unary_case(&c, QP_OP_RESHAPE, QP_DTYPE_F32, QP_LAYOUT_PLAIN, 2, d, QP_DTYPE_F32,
               QP_LAYOUT_PLAIN, 1, (const int64_t[]){15});
    c.in[0]  = x;
    c.out[0] = y;
    CU_ASSERT_EQUAL(case_run(&c, qp_cpu_identity, NULL), QP_OK);
    CU_ASSERT_EQUAL(memcmp(x, y, sizeof x), 0);
    c.out[0] = x; /* aliased by the planner: nothing to do, nothing broken */
    CU_ASSERT_EQUAL(case_run(&c, qp_cpu_identity, NULL), QP_OK);
    CU_ASSERT_EQUAL(memcmp(x, y, sizeof x), 0);
    case_fini(&c);
}

/* ===== Concat / Split ===== */

/* Concat A [2,2,3] and B [2,1,3] on axis 1 (PLAIN), then split back. */
static void test_concat_split_plain(void)
{
    const int64_t   da[3] = {2, 2, 3}, db[3] = {2, 1, 3}, dout[3] = {2, 3, 3};
    int64_t         a[12], b[6], y[18], a2[12], b2[6];
    struct cpu_case c;
    for (int i = 0; i < 12; i++)
        a[i] = 100 + i;
    for (int i = 0; i < 6; i++)
        b[i] = -1 - i;
    case_init(&c);
    int32_t ins[2] = {case_tensor(&c, QP_DTYPE_I64, QP_LAYOUT_PLAIN, 3, da),
                      case_tensor(&c, QP_DTYPE_I64, QP_LAYOUT_PLAIN, 3, db)};
    int32_t to     = case_tensor(&c, QP_DTYPE_I64, QP_LAYOUT_PLAIN, 3, dout);
    case_node(&c, QP_OP_CONCAT, 2, ins, 1, &to)->attr.axis = 1;
    c.in[0]                                                = a;
    c.in[1]                                                = b;
    c.out[0]                                               = y;
    CU_ASSERT_EQUAL(case_run(&c, qp_cpu_concat, NULL), QP_OK);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++)
                CU_ASSERT_EQUAL(y[(i * 3 + j) * 3 + k],
                                j < 2 ? a[(i * 2 + j) * 3 + k] : b[i * 3 + k]);
    c.g.nodes[c.node].attr.axis = -2; /* negative axes count from the back */
    memset(y, 0, sizeof y);
    CU_ASSERT_EQUAL(case_run(&c, qp_cpu_concat, NULL), QP_OK);
    CU_ASSERT_EQUAL(y[2 * 3], b[0]);
    c.g.nodes[c.node].attr.axis = 2; /* parts disagree off the axis */
    CU_ASSERT_EQUAL(case_run(&c, qp_cpu_concat, NULL), QP_E_INVAL);
    case_fini(&c);

    case_init(&c);
    to     = case_tensor(&c, QP_DTYPE_I64, QP_LAYOUT_PLAIN, 3, dout);
    ins[0] = case_tensor(&c, QP_DTYPE_I64, QP_LAYOUT_PLAIN, 3, da);
    ins[1] = case_tensor(&c, QP_DTYPE_I64, QP_LAYOUT_PLAIN, 3, db);
    case_node(&c, QP_OP_SPLIT, 1, &to, 2, ins)->attr.axis = 1;
    c.in[0]                                               = y;
    c.out[0]                                              = a2;
    c.out[1]                                              = b2;
    CU_ASSERT_EQUAL(case_run(&c, qp_cpu_split, NULL), QP_OK);
    CU_ASSERT_EQUAL(memcmp(a, a2, sizeof a), 0);
    CU_ASSERT_EQUAL(memcmp(b, b2, sizeof b), 0);
    case_fini(&c);
}

/* NHWC channel concat: logical [1,2,2,3] + [1,3,2,3] -> [1,5,2,3], axis 3
 * physical; element (h, w, c) of the output comes from A for c < 2. Then the
 * same split back, as u8 to cover 1-byte elements. */
static void test_concat_split_nhwc_channels(void)
{
    const int64_t   da[4] = {1, 2, 2, 3}, db[4] = {1, 3, 2, 3}, dout[4] = {1, 5, 2, 3};
    float           a[12], b[18], y[30];
    uint8_t         ya[30], pa[12], pb[18];
    struct cpu_case c;
    for (int i = 0; i < 12; i++)
        a[i] = (float)i;
    for (int i = 0; i < 18; i++)
        b[i] = 100.0f + (float)i;
    case_init(&c);
    int32_t ins[2] = {case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_NHWC, 4, da),
                      case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_NHWC, 4, db)};
    int32_t to     = case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_NHWC, 4, dout);
    case_node(&c, QP_OP_CONCAT, 2, ins, 1, &to)->attr.axis = 3;
    c.in[0]                                                = a;
    c.in[1]                                                = b;
    c.out[0]                                               = y;
    CU_ASSERT_EQUAL(case_run(&c, qp_cpu_concat, NULL), QP_OK);
    for (int p = 0; p < 6; p++) /* pixel (h, w) */
        for (int ch = 0; ch < 5; ch++)
            CU_ASSERT_EQUAL(y[p * 5 + ch], ch < 2 ? a[p * 2 + ch] : b[p * 3 + ch - 2]);
    case_fini(&c);

    for (int i = 0; i < 30; i++)
        ya[i] = (uint8_t)(i * 3);
    case_init(&c);
    to     = case_tensor(&c, QP_DTYPE_U8, QP_LAYOUT_NHWC, 4, dout);
    ins[0] = case_tensor(&c, QP_DTYPE_U8, QP_LAYOUT_NHWC, 4, da);
    ins[1] = case_tensor(&c, QP_DTYPE_U8, QP_LAYOUT_NHWC, 4, db);
    case_node(&c, QP_OP_SPLIT, 1, &to, 2, ins)->attr.axis = 3;
    c.in[0]                                               = ya;
    c.out[0]                                              = pa;
    c.out[1]                                              = pb;
    CU_ASSERT_EQUAL(case_run(&c, qp_cpu_split, NULL), QP_OK);
    for (int p = 0; p < 6; p++)
        for (int ch = 0; ch < 5; ch++)
            CU_ASSERT_EQUAL(ya[p * 5 + ch], ch < 2 ? pa[p * 2 + ch] : pb[p * 3 + ch - 2]);
    case_fini(&c);
}

/* ===== Slice ===== */

static enum qp_status run_slice(enum qp_layout lay, int32_t rank, const int64_t *din,
                                const int64_t *dout, const int64_t *start, const int64_t *step,
                                const void *x, void *y)
{
    struct cpu_case c;
    struct qp_node *n =
        unary_case(&c, QP_OP_SLICE, QP_DTYPE_F32, lay, rank, din, QP_DTYPE_F32, lay, rank, dout);
    for (int32_t d = 0; d < rank; d++) {
        n->attr.slice.start[d] = start[d];
        n->attr.slice.step[d]  = step[d];
    }
    n->phys_axes      = lay == QP_LAYOUT_NHWC;
    c.in[0]           = (void *)x;
    c.out[0]          = y;
    enum qp_status st = case_run(&c, qp_cpu_slice, NULL);
    case_fini(&c);
    return st;
}

static void test_slice_negative_steps(void)
{
    float x[60];
    for (int i = 0; i < 60; i++)
        x[i] = (float)i;
    /* [3,4]: rows 2,1,0 and columns 3,1 */
    float y[6];
    CU_ASSERT_EQUAL(run_slice(QP_LAYOUT_PLAIN, 2, (const int64_t[]){3, 4}, (const int64_t[]){3, 2},
                              (const int64_t[]){2, 3}, (const int64_t[]){-1, -2}, x, y),
                    QP_OK);
    const float want[6] = {11, 9, 7, 5, 3, 1};
    CU_ASSERT_EQUAL(memcmp(y, want, sizeof want), 0);
    /* [5,3] rows 1 and 3, all columns: contiguous runs */
    CU_ASSERT_EQUAL(run_slice(QP_LAYOUT_PLAIN, 2, (const int64_t[]){5, 3}, (const int64_t[]){2, 3},
                              (const int64_t[]){1, 0}, (const int64_t[]){2, 1}, x, y),
                    QP_OK);
    const float want2[6] = {3, 4, 5, 9, 10, 11};
    CU_ASSERT_EQUAL(memcmp(y, want2, sizeof want2), 0);
    /* reading past the end, or step 0: refused */
    CU_ASSERT_EQUAL(run_slice(QP_LAYOUT_PLAIN, 2, (const int64_t[]){3, 4}, (const int64_t[]){2, 4},
                              (const int64_t[]){2, 0}, (const int64_t[]){1, 1}, x, y),
                    QP_E_INVAL);
    CU_ASSERT_EQUAL(run_slice(QP_LAYOUT_PLAIN, 2, (const int64_t[]){3, 4}, (const int64_t[]){2, 4},
                              (const int64_t[]){1, 0}, (const int64_t[]){-2, 1}, x, y),
                    QP_E_INVAL);
    CU_ASSERT_EQUAL(run_slice(QP_LAYOUT_PLAIN, 2, (const int64_t[]){3, 4}, (const int64_t[]){2, 4},
                              (const int64_t[]){0, 0}, (const int64_t[]){0, 1}, x, y),
                    QP_E_INVAL);
}

/* NHWC: logical [1,4,3,5] is stored [1,3,5,4]; slice physical H reversed
 * (start 2 step -1), W every second (start 0 step 2) and channels 1, 3. */
static void test_slice_nhwc_physical(void)
{
    float x[60], y[3 * 3 * 2];
    for (int i = 0; i < 60; i++)
        x[i] = (float)i;
    CU_ASSERT_EQUAL(run_slice(QP_LAYOUT_NHWC, 4, (const int64_t[]){1, 4, 3, 5},
                              (const int64_t[]){1, 2, 3, 3}, (const int64_t[]){0, 2, 0, 1},
                              (const int64_t[]){1, -1, 2, 2}, x, y),
                    QP_OK);
    int bad = 0;
    for (int h = 0; h < 3; h++)
        for (int w = 0; w < 3; w++)
            for (int ch = 0; ch < 2; ch++)
                bad += y[(h * 3 + w) * 2 + ch] != x[((2 - h) * 5 + 2 * w) * 4 + 1 + 2 * ch];
    CU_ASSERT_EQUAL(bad, 0);
}

/* ===== Transpose / Layout ===== */

/* Transpose bytes of element size es through qp_cpu_transpose and compare
 * with out[i] = in[sum idx_out[d] * stride_in[perm[d]]]. */
static void check_transpose(const int64_t *din, int32_t rank, const int32_t *perm, enum qp_dtype dt,
                            struct qp_pool *p)
{
    int64_t       dout[QP_MAX_RANK], sin[QP_MAX_RANK];
    const size_t  es = qp_dtype_size(dt);
    const int64_t n  = numel(din, rank);
    for (int32_t d = 0; d < rank; d++)
        dout[d] = din[perm[d]];
    sin[rank - 1] = 1;
    for (int32_t d = rank - 2; d >= 0; d--)
        sin[d] = sin[d + 1] * din[d + 1];
    unsigned char *x = malloc((size_t)n * es), *y = malloc((size_t)n * es);
    CU_ASSERT_FATAL(x && y);
    fill_bytes(x, (size_t)n * es, (unsigned)rank);
    struct cpu_case c;
    struct qp_node *nd = unary_case(&c, QP_OP_TRANSPOSE, dt, QP_LAYOUT_PLAIN, rank, din, dt,
                                    QP_LAYOUT_PLAIN, rank, dout);
    memcpy(nd->attr.transpose.perm, perm, (size_t)rank * sizeof *perm);
    c.in[0]  = x;
    c.out[0] = y;
    CU_ASSERT_EQUAL(case_run(&c, qp_cpu_transpose, p), QP_OK);
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t rem = i, src = 0;
        for (int32_t d = rank - 1; d >= 0; d--) {
            src += (rem % dout[d]) * sin[perm[d]];
            rem /= dout[d];
        }
        bad += memcmp(y + i * (int64_t)es, x + src * (int64_t)es, es) != 0;
    }
    CU_ASSERT_EQUAL(bad, 0);
    case_fini(&c);
    free(x);
    free(y);
}

static void test_transpose_shapes_and_sizes(void)
{
    check_transpose((const int64_t[]){5, 7}, 2, (const int32_t[]){1, 0}, QP_DTYPE_F32, NULL);
    check_transpose((const int64_t[]){2, 33, 35}, 3, (const int32_t[]){0, 2, 1}, QP_DTYPE_F16,
                    NULL);
    static const enum qp_dtype dts[] = {QP_DTYPE_U8, QP_DTYPE_F16, QP_DTYPE_F32, QP_DTYPE_I64};
    for (size_t k = 0; k < sizeof dts / sizeof dts[0]; k++) {
        check_transpose((const int64_t[]){2, 3, 4, 5}, 4, (const int32_t[]){2, 0, 3, 1}, dts[k],
                        NULL);
        check_transpose((const int64_t[]){6, 1, 9, 40}, 4, (const int32_t[]){3, 1, 0, 2}, dts[k],
                        NULL);
        check_transpose((const int64_t[]){3, 4, 5}, 3, (const int32_t[]){1, 0, 2}, dts[k], NULL);
    }
    /* large enough for the pool: blocked and run paths */
    check_transpose((const int64_t[]){1, 64, 100, 40}, 4, (const int32_t[]){0, 2, 3, 1},
                    QP_DTYPE_F32, pool);
    check_transpose((const int64_t[]){70, 30, 50}, 3, (const int32_t[]){1, 0, 2}, QP_DTYPE_F32,
                    pool);
    /* 1-byte blocked path: 16 x 16 register blocks (strided.c, transpose_avx2.c)
     * with ragged edges in both directions */
    check_transpose((const int64_t[]){1, 64, 100, 40}, 4, (const int32_t[]){0, 2, 3, 1},
                    QP_DTYPE_I8, pool);
    check_transpose((const int64_t[]){3, 45, 33}, 3, (const int32_t[]){0, 2, 1}, QP_DTYPE_I8,
                    NULL);
    /* the zip path: a channel shuffle of two groups on NHWC bytes (layout.c),
     * rows of 58 (16-byte pieces and a tail) on the pool and of 16 alone,
     * and one of 15 (below the zip path: blocked) */
    check_transpose((const int64_t[]){1, 52, 52, 2, 58}, 5, (const int32_t[]){0, 1, 2, 4, 3},
                    QP_DTYPE_I8, pool);
    check_transpose((const int64_t[]){2, 3, 5, 2, 16}, 5, (const int32_t[]){0, 1, 2, 4, 3},
                    QP_DTYPE_U8, NULL);
    check_transpose((const int64_t[]){1, 4, 3, 2, 15}, 5, (const int32_t[]){0, 1, 2, 4, 3},
                    QP_DTYPE_I8, NULL);
    /* three rows (an RGB input's NCHW -> NHWC, zip3), per image and for one
     * image on the pool in 4096-byte pieces; two or three rows of rank 2 */
    check_transpose((const int64_t[]){2, 3, 37, 29}, 4, (const int32_t[]){0, 2, 3, 1}, QP_DTYPE_I8,
                    NULL);
    check_transpose((const int64_t[]){1, 3, 96, 101}, 4, (const int32_t[]){0, 2, 3, 1}, QP_DTYPE_U8,
                    pool);
    check_transpose((const int64_t[]){3, 100}, 2, (const int32_t[]){1, 0}, QP_DTYPE_I8, NULL);
    check_transpose((const int64_t[]){2, 40}, 2, (const int32_t[]){1, 0}, QP_DTYPE_I8, NULL);
    /* fewer than 16 rows through the registers: 12 channels (YOLOX-Nano's
     * stem input), and 5 */
    check_transpose((const int64_t[]){1, 12, 20, 21}, 4, (const int32_t[]){0, 2, 3, 1}, QP_DTYPE_I8,
                    pool);
    check_transpose((const int64_t[]){2, 5, 7, 9}, 4, (const int32_t[]){0, 2, 3, 1}, QP_DTYPE_I8,
                    NULL);
}

static void test_transpose_rejects_bad_perm(void)
{
    const int64_t   d[3]  = {2, 3, 4};
    float           x[24] = {0}, y[24];
    struct cpu_case c;
    struct qp_node *n         = unary_case(&c, QP_OP_TRANSPOSE, QP_DTYPE_F32, QP_LAYOUT_PLAIN, 3, d,
                                           QP_DTYPE_F32, QP_LAYOUT_PLAIN, 3, (const int64_t[]){2, 2, 4});
    n->attr.transpose.perm[0] = 0;
    n->attr.transpose.perm[1] = 0;
    n->attr.transpose.perm[2] = 2;
    c.in[0]                   = x;
    c.out[0]                  = y;
    CU_ASSERT_EQUAL(case_run(&c, qp_cpu_transpose, NULL), QP_E_INVAL);
    case_fini(&c);
}

/* NCHW -> NHWC -> NCHW over logical [n,c,h,w]: the NHWC bytes are checked
 * element by element and the round trip must restore the input exactly. */
static void check_layout(const int64_t *d, enum qp_dtype dt, struct qp_pool *p)
{
    const size_t   es = qp_dtype_size(dt);
    const int64_t  n  = numel(d, 4);
    unsigned char *x = malloc((size_t)n * es), *y = malloc((size_t)n * es),
                  *z = malloc((size_t)n * es);
    CU_ASSERT_FATAL(x && y && z);
    fill_bytes(x, (size_t)n * es, 5);
    struct cpu_case c;
    for (int dir = 0; dir < 2; dir++) {
        struct qp_node *nd =
            unary_case(&c, QP_OP_LAYOUT, dt, dir ? QP_LAYOUT_NHWC : QP_LAYOUT_PLAIN, 4, d, dt,
                       dir ? QP_LAYOUT_PLAIN : QP_LAYOUT_NHWC, 4, d);
        nd->attr.layout.to_nhwc = dir == 0;
        c.in[0]                 = dir ? y : x;
        c.out[0]                = dir ? z : y;
        CU_ASSERT_EQUAL(case_run(&c, qp_cpu_layout, p), QP_OK);
        case_fini(&c);
    }
    int bad = 0;
    for (int64_t b = 0; b < d[0]; b++)
        for (int64_t ch = 0; ch < d[1]; ch++)
            for (int64_t h = 0; h < d[2]; h++)
                for (int64_t w = 0; w < d[3]; w++) {
                    const int64_t nchw = ((b * d[1] + ch) * d[2] + h) * d[3] + w;
                    const int64_t nhwc = ((b * d[2] + h) * d[3] + w) * d[1] + ch;
                    bad += memcmp(y + nhwc * (int64_t)es, x + nchw * (int64_t)es, es) != 0;
                }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(memcmp(x, z, (size_t)n * es), 0);
    free(x);
    free(y);
    free(z);
}

static void test_layout_round_trip(void)
{
    check_layout((const int64_t[]){2, 3, 5, 7}, QP_DTYPE_F32, NULL);
    check_layout((const int64_t[]){1, 5, 9, 37}, QP_DTYPE_U8, NULL);
    check_layout((const int64_t[]){2, 17, 6, 6}, QP_DTYPE_I64, NULL);
    check_layout((const int64_t[]){1, 3, 416, 416}, QP_DTYPE_F32, pool); /* a network input */
    check_layout((const int64_t[]){1, 64, 52, 52}, QP_DTYPE_F32, pool);
    check_layout((const int64_t[]){1, 58, 52, 52}, QP_DTYPE_I8, pool); /* int8 NHWC <-> NCHW */
    check_layout((const int64_t[]){2, 37, 19, 23}, QP_DTYPE_I8, NULL);
}

/* ===== Pad ===== */

static enum qp_status run_pad(enum qp_dtype dt, enum qp_layout lay, int32_t rank,
                              const int64_t *din, const int64_t *dout, enum qp_pad_mode mode,
                              float value, const int64_t *pads, const void *x, void *y,
                              bool *supported)
{
    struct cpu_case c;
    struct qp_node *n = unary_case(&c, QP_OP_PAD, dt, lay, rank, din, dt, lay, rank, dout);
    n->attr.pad.mode  = mode;
    n->attr.pad.value = value;
    memcpy(n->attr.pad.pads, pads, 2 * (size_t)rank * sizeof *pads);
    c.in[0]           = (void *)x;
    c.out[0]          = y;
    *supported        = case_supports(&c, qp_cpu_pad_supports);
    enum qp_status st = case_run(&c, qp_cpu_pad, NULL);
    case_fini(&c);
    return st;
}

static void test_pad_modes_1d(void)
{
    const float x[3] = {1, 2, 3};
    float       y[9];
    bool        sup;
    static const struct {
        enum qp_pad_mode mode;
        float            want[9];
    } rows[] = {
        {QP_PAD_REFLECT, {3, 2, 1, 2, 3, 2, 1, 2, 3}}, /* numpy: periodic past the dim */
        {QP_PAD_EDGE, {1, 1, 1, 2, 3, 3, 3, 3, 3}},
        {QP_PAD_CONSTANT, {1.5f, 1.5f, 1, 2, 3, 1.5f, 1.5f, 1.5f, 1.5f}},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        CU_ASSERT_EQUAL(run_pad(QP_DTYPE_F32, QP_LAYOUT_PLAIN, 1, (const int64_t[]){3},
                                (const int64_t[]){9}, rows[r].mode, 1.5f, (const int64_t[]){2, 4},
                                x, y, &sup),
                        QP_OK);
        CU_ASSERT(sup);
        CU_ASSERT_EQUAL(memcmp(y, rows[r].want, sizeof y), 0);
    }
}

static void test_pad_modes_2d(void)
{
    float x[12], y[48];
    bool  sup;
    for (int i = 0; i < 12; i++)
        x[i] = (float)i;
    /* numpy: np.pad(arange(12).reshape(3,4), ((1,2),(3,1)), 'reflect') */
    static const float reflect[6][8] = {{7, 6, 5, 4, 5, 6, 7, 6}, {3, 2, 1, 0, 1, 2, 3, 2},
                                        {7, 6, 5, 4, 5, 6, 7, 6}, {11, 10, 9, 8, 9, 10, 11, 10},
                                        {7, 6, 5, 4, 5, 6, 7, 6}, {3, 2, 1, 0, 1, 2, 3, 2}};
    CU_ASSERT_EQUAL(run_pad(QP_DTYPE_F32, QP_LAYOUT_PLAIN, 2, (const int64_t[]){3, 4},
                            (const int64_t[]){6, 8}, QP_PAD_REFLECT, 0,
                            (const int64_t[]){1, 3, 2, 1}, x, y, &sup),
                    QP_OK);
    CU_ASSERT_EQUAL(memcmp(y, reflect, sizeof reflect), 0);
    /* numpy: np.pad(..., ((2,0),(0,2)), 'edge') */
    static const float edge[5][6] = {{0, 1, 2, 3, 3, 3},
                                     {0, 1, 2, 3, 3, 3},
                                     {0, 1, 2, 3, 3, 3},
                                     {4, 5, 6, 7, 7, 7},
                                     {8, 9, 10, 11, 11, 11}};
    CU_ASSERT_EQUAL(run_pad(QP_DTYPE_F32, QP_LAYOUT_PLAIN, 2, (const int64_t[]){3, 4},
                            (const int64_t[]){5, 6}, QP_PAD_EDGE, 0, (const int64_t[]){2, 0, 0, 2},
                            x, y, &sup),
                    QP_OK);
    CU_ASSERT_EQUAL(memcmp(y, edge, sizeof edge), 0);
    /* negative pads crop: drop row 0 and columns 2, 3; one fill column in front */
    static const float crop[2][3] = {{-1, 4, 5}, {-1, 8, 9}};
    CU_ASSERT_EQUAL(run_pad(QP_DTYPE_F32, QP_LAYOUT_PLAIN, 2, (const int64_t[]){3, 4},
                            (const int64_t[]){2, 3}, QP_PAD_CONSTANT, -1,
                            (const int64_t[]){-1, 1, 0, -2}, x, y, &sup),
                    QP_OK);
    CU_ASSERT_EQUAL(memcmp(y, crop, sizeof crop), 0);
    /* output size that does not match the pads */
    CU_ASSERT_EQUAL(run_pad(QP_DTYPE_F32, QP_LAYOUT_PLAIN, 2, (const int64_t[]){3, 4},
                            (const int64_t[]){3, 3}, QP_PAD_CONSTANT, 0,
                            (const int64_t[]){0, 0, 0, 0}, x, y, &sup),
                    QP_E_INVAL);
}

/* NHWC i64, zero fill: pads are physical [N, H, W, C]: one W column in front
 * and one H row behind. Logical [1,2,2,2] -> [1,2,3,3]. */
static void test_pad_nhwc_any_dtype(void)
{
    int64_t x[8], y[18];
    bool    sup;
    for (int i = 0; i < 8; i++)
        x[i] = 10 + i;
    CU_ASSERT_EQUAL(run_pad(QP_DTYPE_I64, QP_LAYOUT_NHWC, 4, (const int64_t[]){1, 2, 2, 2},
                            (const int64_t[]){1, 2, 3, 3}, QP_PAD_CONSTANT, 0,
                            (const int64_t[]){0, 0, 1, 0, 0, 1, 0, 0}, x, y, &sup),
                    QP_OK);
    CU_ASSERT(sup);
    int bad = 0;
    for (int h = 0; h < 3; h++)
        for (int w = 0; w < 3; w++)
            for (int ch = 0; ch < 2; ch++) {
                const int64_t want = (h < 2 && w >= 1) ? x[(h * 2 + (w - 1)) * 2 + ch] : 0;
                bad += y[(h * 3 + w) * 2 + ch] != want;
            }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_pad_supports(void)
{
    const uint16_t h[2] = {0x3c00, 0x4000};
    uint16_t       hy[4];
    int32_t        iy[4];
    bool           sup;
    const int64_t  din[1] = {2}, dout[1] = {4}, pads[2] = {1, 1};
    CU_ASSERT_EQUAL(
        run_pad(QP_DTYPE_F16, QP_LAYOUT_PLAIN, 1, din, dout, QP_PAD_CONSTANT, 0, pads, h, hy, &sup),
        QP_OK);
    CU_ASSERT(sup);
    CU_ASSERT(hy[0] == 0 && hy[1] == 0x3c00 && hy[2] == 0x4000 && hy[3] == 0);
    CU_ASSERT_EQUAL(
        run_pad(QP_DTYPE_F16, QP_LAYOUT_PLAIN, 1, din, dout, QP_PAD_REFLECT, 0, pads, h, hy, &sup),
        QP_OK);
    CU_ASSERT(sup); /* every dtype in every mode */
    CU_ASSERT(hy[0] == 0x4000 && hy[1] == 0x3c00 && hy[2] == 0x4000 && hy[3] == 0x3c00);
    const int32_t i[2] = {5, 6};
    CU_ASSERT_EQUAL(run_pad(QP_DTYPE_I32, QP_LAYOUT_PLAIN, 1, din, dout, QP_PAD_CONSTANT, 2.0f,
                            pads, i, iy, &sup),
                    QP_OK);
    CU_ASSERT(sup);
    CU_ASSERT(iy[0] == 2 && iy[1] == 5 && iy[2] == 6 && iy[3] == 2);
}

/* ===== Gather ===== */

static void test_gather_axes_and_bounds(void)
{
    float           x[12], y[24];
    struct cpu_case c;
    for (int i = 0; i < 12; i++)
        x[i] = (float)i;
    /* axis 0, i64 indices with a negative one: rows 2, 2, 0 */
    const int64_t i64[3] = {2, -1, 0};
    case_init(&c);
    int32_t ins[2] = {case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, 2, (const int64_t[]){3, 4}),
                      case_tensor(&c, QP_DTYPE_I64, QP_LAYOUT_PLAIN, 1, (const int64_t[]){3})};
    int32_t to     = case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, 2, (const int64_t[]){3, 4});
    case_node(&c, QP_OP_GATHER, 2, ins, 1, &to)->attr.axis = 0;
    c.in[0]                                                = x;
    c.in[1]                                                = (void *)i64;
    c.out[0]                                               = y;
    CU_ASSERT_EQUAL(case_run(&c, qp_cpu_gather, NULL), QP_OK);
    const float want0[12] = {8, 9, 10, 11, 8, 9, 10, 11, 0, 1, 2, 3};
    CU_ASSERT_EQUAL(memcmp(y, want0, sizeof want0), 0);
    /* an index past the end: refused before anything is written */
    const int64_t oob[3] = {0, 3, 1};
    for (int i = 0; i < 12; i++)
        y[i] = -1.0f;
    c.in[1] = (void *)oob;
    CU_ASSERT_EQUAL(case_run(&c, qp_cpu_gather, NULL), QP_E_INVAL);
    CU_ASSERT_EQUAL(y[0], -1.0f);
    const int64_t low[3] = {0, -4, 1};
    c.in[1]              = (void *)low;
    CU_ASSERT_EQUAL(case_run(&c, qp_cpu_gather, NULL), QP_E_INVAL);
    case_fini(&c);

    /* axis 1, i32 indices of shape [2,2]: out [3,2,2] */
    const int32_t i32[4] = {3, 0, -4, 1};
    case_init(&c);
    ins[0] = case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, 2, (const int64_t[]){3, 4});
    ins[1] = case_tensor(&c, QP_DTYPE_I32, QP_LAYOUT_PLAIN, 2, (const int64_t[]){2, 2});
    to     = case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, 3, (const int64_t[]){3, 2, 2});
    case_node(&c, QP_OP_GATHER, 2, ins, 1, &to)->attr.axis = 1;
    c.in[0]                                                = x;
    c.in[1]                                                = (void *)i32;
    c.out[0]                                               = y;
    CU_ASSERT_EQUAL(case_run(&c, qp_cpu_gather, NULL), QP_OK);
    const float want1[12] = {3, 0, 0, 1, 7, 4, 4, 5, 11, 8, 8, 9};
    CU_ASSERT_EQUAL(memcmp(y, want1, sizeof want1), 0);
    c.g.tensors[ins[1]].dtype = QP_DTYPE_U8;
    CU_ASSERT_EQUAL(case_run(&c, qp_cpu_gather, NULL), QP_E_UNSUPPORTED);
    case_fini(&c);
}

/* ===== Cast ===== */

static enum qp_status run_cast(enum qp_dtype from, enum qp_dtype to, int64_t n, const void *x,
                               void *y)
{
    struct cpu_case c;
    unary_case(&c, QP_OP_CAST, from, QP_LAYOUT_PLAIN, 1, &n, to, QP_LAYOUT_PLAIN, 1, &n)
        ->attr.cast_to = to;
    c.in[0]            = (void *)x;
    c.out[0]           = y;
    CU_ASSERT(case_supports(&c, qp_cpu_any_dtype_supports));
    enum qp_status st = case_run(&c, qp_cpu_cast, NULL);
    case_fini(&c);
    return st;
}

/* numpy: np.float32(f16_in).astype(np.float16).view(np.uint16) */
static const float f16_in[27] = {
    0.100000001f,    0.333333343f,    -2.5f,           65504.0f,         65519.9961f,
    65520.0f,        100000.0f,       5.96046448e-08f, 2.98023224e-08f,  2.98023259e-08f,
    8.94069672e-08f, 1.49011612e-07f, 6.10053539e-05f, 6.10351562e-05f,  6.09755516e-05f,
    1.00048828f,     1.00146484f,     1.00000001e-10f, -5.99999979e-08f, 3.14159274f,
    2049.0f,         2051.0f,         -0.0f,           INFINITY,         -INFINITY,
    1023.75f,        0.0999755859f};
static const uint16_t f16_want[27] = {0x2e66, 0x3555, 0xc100, 0x7bff, 0x7bff, 0x7c00, 0x7c00,
                                      0x0001, 0x0000, 0x0001, 0x0002, 0x0002, 0x0400, 0x0400,
                                      0x03ff, 0x3c00, 0x3c02, 0x0000, 0x8001, 0x4248, 0x6800,
                                      0x6802, 0x8000, 0x7c00, 0xfc00, 0x6400, 0x2e66};

static void test_cast_f16_rounding(void)
{
    uint16_t h[27];
    CU_ASSERT_EQUAL(run_cast(QP_DTYPE_F32, QP_DTYPE_F16, 27, f16_in, h), QP_OK);
    for (int i = 0; i < 27; i++)
        if (h[i] != f16_want[i])
            fprintf(stderr, "\n  f16(%.9g) = 0x%04x, want 0x%04x\n", f16_in[i], h[i], f16_want[i]);
    CU_ASSERT_EQUAL(memcmp(h, f16_want, sizeof h), 0);
    /* NaN stays a NaN */
    const float nan_in = NAN;
    CU_ASSERT_EQUAL(run_cast(QP_DTYPE_F32, QP_DTYPE_F16, 1, &nan_in, h), QP_OK);
    CU_ASSERT((h[0] & 0x7c00) == 0x7c00 && (h[0] & 0x3ff) != 0);
    /* every half widens exactly and narrows back to itself (NaNs stay NaN) */
    int bad = 0;
    for (uint32_t b = 0; b < 65536; b++) {
        const float f = qp_f16_to_f32((uint16_t)b);
        if ((b & 0x7c00) == 0x7c00 && (b & 0x3ff))
            bad += !isnan(f);
        else
            bad += qp_f32_to_f16(f) != b;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(qp_f16_to_f32(0x0001), 5.96046448e-08f);
    CU_ASSERT_EQUAL(qp_f16_to_f32(0x7bff), 65504.0f);
    CU_ASSERT_EQUAL(qp_f16_to_f32(0xc100), -2.5f);
}

/* float sources: truncation, saturation, NaN, bool */
static void test_cast_pairs_from_float(void)
{
    const float fx[6] = {1.9f, -1.9f, 3e9f, -3e9f, NAN, INFINITY};
    int32_t     i32[6];
    CU_ASSERT_EQUAL(run_cast(QP_DTYPE_F32, QP_DTYPE_I32, 6, fx, i32), QP_OK);
    const int32_t want_i32[6] = {1, -1, INT32_MAX, INT32_MIN, 0, INT32_MAX}; /* saturating */
    CU_ASSERT_EQUAL(memcmp(i32, want_i32, sizeof i32), 0);

    const float ux[4] = {-5.0f, 300.0f, 254.9f, 0.5f};
    uint8_t     u8[4];
    CU_ASSERT_EQUAL(run_cast(QP_DTYPE_F32, QP_DTYPE_U8, 4, ux, u8), QP_OK);
    CU_ASSERT(u8[0] == 0 && u8[1] == 255 && u8[2] == 254 && u8[3] == 0);

    const float bx[4] = {0.0f, -0.0f, NAN, -2.0f};
    uint8_t     bo[4];
    CU_ASSERT_EQUAL(run_cast(QP_DTYPE_F32, QP_DTYPE_BOOL, 4, bx, bo), QP_OK);
    CU_ASSERT(bo[0] == 0 && bo[1] == 0 && bo[2] == 1 && bo[3] == 1);
    const uint16_t hx[3] = {0x4248, 0xc100, 0x7c00};
    int32_t        hi[3];
    int64_t        hl[3];
    CU_ASSERT_EQUAL(run_cast(QP_DTYPE_F16, QP_DTYPE_I32, 3, hx, hi), QP_OK);
    CU_ASSERT(hi[0] == 3 && hi[1] == -2 && hi[2] == INT32_MAX);
    CU_ASSERT_EQUAL(run_cast(QP_DTYPE_F16, QP_DTYPE_I64, 3, hx, hl), QP_OK);
    CU_ASSERT(hl[0] == 3 && hl[1] == -2 && hl[2] == INT64_MAX);
}

/* integer and bool sources, and chunked spans */
static void test_cast_pairs_from_int(void)
{
    const int64_t lx[4] = {300, -129, 127, -1};
    int8_t        i8[4];
    uint8_t       lu8[4];
    CU_ASSERT_EQUAL(run_cast(QP_DTYPE_I64, QP_DTYPE_I8, 4, lx, i8), QP_OK);
    CU_ASSERT(i8[0] == 44 && i8[1] == 127 && i8[2] == 127 && i8[3] == -1); /* wraps */
    CU_ASSERT_EQUAL(run_cast(QP_DTYPE_I64, QP_DTYPE_U8, 4, lx, lu8), QP_OK);
    CU_ASSERT(lu8[0] == 44 && lu8[1] == 127 && lu8[2] == 127 && lu8[3] == 255);

    const int32_t ix[3] = {2049, 2051, 70000};
    uint16_t      ih[3];
    CU_ASSERT_EQUAL(run_cast(QP_DTYPE_I32, QP_DTYPE_F16, 3, ix, ih), QP_OK);
    CU_ASSERT(ih[0] == 0x6800 && ih[1] == 0x6802 && ih[2] == 0x7c00); /* ties to even, inf */

    const uint8_t bb[3] = {0, 1, 7};
    float         bf[3];
    int64_t       bl[3];
    CU_ASSERT_EQUAL(run_cast(QP_DTYPE_BOOL, QP_DTYPE_F32, 3, bb, bf), QP_OK);
    CU_ASSERT(bf[0] == 0.0f && bf[1] == 1.0f && bf[2] == 1.0f);
    CU_ASSERT_EQUAL(run_cast(QP_DTYPE_BOOL, QP_DTYPE_I64, 3, bb, bl), QP_OK);
    CU_ASSERT(bl[0] == 0 && bl[1] == 1 && bl[2] == 1);

    const int8_t sx[3] = {-128, -1, 100};
    float        sf[3];
    int32_t      si[3];
    CU_ASSERT_EQUAL(run_cast(QP_DTYPE_I8, QP_DTYPE_F32, 3, sx, sf), QP_OK);
    CU_ASSERT(sf[0] == -128.0f && sf[1] == -1.0f && sf[2] == 100.0f);
    CU_ASSERT_EQUAL(run_cast(QP_DTYPE_I8, QP_DTYPE_I32, 3, sx, si), QP_OK);
    CU_ASSERT(si[0] == -128 && si[1] == -1 && si[2] == 100);

    /* same dtype: a copy; a long span crosses the kernel's chunks */
    enum { N = 1000 };
    static float   big[N], back[N];
    static int64_t mid[N];
    for (int i = 0; i < N; i++)
        big[i] = (float)(i - 500);
    CU_ASSERT_EQUAL(run_cast(QP_DTYPE_F32, QP_DTYPE_I64, N, big, mid), QP_OK);
    CU_ASSERT_EQUAL(run_cast(QP_DTYPE_I64, QP_DTYPE_F32, N, mid, back), QP_OK);
    CU_ASSERT_EQUAL(memcmp(big, back, sizeof big), 0);
    CU_ASSERT_EQUAL(run_cast(QP_DTYPE_F32, QP_DTYPE_F32, N, big, back), QP_OK);
    CU_ASSERT_EQUAL(memcmp(big, back, sizeof big), 0);
}

/* ===== Shape, ConstantOfShape, Expand ===== */

static void test_shape_reports_logical_dims(void)
{
    const int64_t   d[4] = {1, 3, 4, 5};
    int64_t         y[4] = {0};
    struct cpu_case c;
    unary_case(&c, QP_OP_SHAPE, QP_DTYPE_F32, QP_LAYOUT_NHWC, 4, d, QP_DTYPE_I64, QP_LAYOUT_PLAIN,
               1, (const int64_t[]){4});
    c.in[0]  = NULL; /* Shape never reads the data */
    c.out[0] = y;
    CU_ASSERT_EQUAL(case_run(&c, qp_cpu_shape, NULL), QP_OK);
    CU_ASSERT(y[0] == 1 && y[1] == 3 && y[2] == 4 && y[3] == 5);
    c.g.tensors[c.g.nodes[c.node].out[0]].dims[0] = 3;
    CU_ASSERT_EQUAL(case_run(&c, qp_cpu_shape, NULL), QP_E_INVAL);
    case_fini(&c);
}

static void test_constant_of_shape_fills(void)
{
    static const struct {
        enum qp_dtype dt;
        double        fill;
        int64_t       n;
        unsigned char elem[8]; /* expected bytes of one element (little endian) */
    } rows[] = {
        {QP_DTYPE_F32, 1.5, 5, {0x00, 0x00, 0xc0, 0x3f}},
        {QP_DTYPE_I64, 7.0, 3, {7}},
        {QP_DTYPE_F16, 1.0, 7, {0x00, 0x3c}},
        {QP_DTYPE_BOOL, 1.0, 4, {1}},
        {QP_DTYPE_I32, -2.7, 9, {0xfe, 0xff, 0xff, 0xff}}, /* truncates toward zero */
        {QP_DTYPE_U8, 300.0, 2, {0xff}},                   /* saturates */
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        unsigned char   y[9 * 8];
        struct cpu_case c;
        unary_case(&c, QP_OP_CONSTANT_OF_SHAPE, QP_DTYPE_I64, QP_LAYOUT_PLAIN, 1,
                   (const int64_t[]){1}, rows[r].dt, QP_LAYOUT_PLAIN, 1, &rows[r].n)
            ->attr.fill = rows[r].fill;
        memset(y, 0xaa, sizeof y);
        c.out[0] = y;
        CU_ASSERT_EQUAL(case_run(&c, qp_cpu_constant_of_shape, NULL), QP_OK);
        const size_t es = qp_dtype_size(rows[r].dt);
        for (int64_t i = 0; i < rows[r].n; i++)
            CU_ASSERT_EQUAL(memcmp(y + (size_t)i * es, rows[r].elem, es), 0);
        CU_ASSERT_EQUAL(y[(size_t)rows[r].n * es], 0xaa); /* nothing past the end */
        case_fini(&c);
    }
}

static void test_expand_broadcasts(void)
{
    const int32_t   x[3] = {4, 5, 6};
    int32_t         y[24];
    struct cpu_case c;
    unary_case(&c, QP_OP_EXPAND, QP_DTYPE_I32, QP_LAYOUT_PLAIN, 2, (const int64_t[]){3, 1},
               QP_DTYPE_I32, QP_LAYOUT_PLAIN, 3, (const int64_t[]){2, 3, 4});
    c.in[0]  = (void *)x;
    c.out[0] = y;
    CU_ASSERT_EQUAL(case_run(&c, qp_cpu_expand, NULL), QP_OK);
    int bad = 0;
    for (int i = 0; i < 24; i++)
        bad += y[i] != x[(i / 4) % 3];
    CU_ASSERT_EQUAL(bad, 0);
    case_fini(&c);

    const double s = 2.5;
    double       ys[5];
    unary_case(&c, QP_OP_EXPAND, QP_DTYPE_I64, QP_LAYOUT_PLAIN, 0, NULL, QP_DTYPE_I64,
               QP_LAYOUT_PLAIN, 1, (const int64_t[]){5});
    c.in[0]  = (void *)&s; /* 8-byte elements: the bytes are moved, never read as i64 */
    c.out[0] = ys;
    CU_ASSERT_EQUAL(case_run(&c, qp_cpu_expand, NULL), QP_OK);
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(ys[i], 2.5);
    case_fini(&c);

    unary_case(&c, QP_OP_EXPAND, QP_DTYPE_I32, QP_LAYOUT_PLAIN, 1, (const int64_t[]){3},
               QP_DTYPE_I32, QP_LAYOUT_PLAIN, 1, (const int64_t[]){4});
    c.in[0]  = (void *)x;
    c.out[0] = y;
    CU_ASSERT_EQUAL(case_run(&c, qp_cpu_expand, NULL), QP_E_INVAL);
    case_fini(&c);
}

static CU_TestInfo move_tests[] = {
    {"identity copies, tolerates aliasing", test_identity_copies},
    {"concat/split plain", test_concat_split_plain},
    {"concat/split nhwc channels", test_concat_split_nhwc_channels},
    {"slice negative steps, bounds", test_slice_negative_steps},
    {"slice nhwc physical axes", test_slice_nhwc_physical},
    {"transpose shapes x element sizes", test_transpose_shapes_and_sizes},
    {"transpose rejects bad perm", test_transpose_rejects_bad_perm},
    {"layout nchw <-> nhwc", test_layout_round_trip},
    {"gather axes, negative and bad indices", test_gather_axes_and_bounds},
    {"expand broadcasts", test_expand_broadcasts},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo pad_tests[] = {
    {"reflect/edge/constant 1-d", test_pad_modes_1d},
    {"2-d modes, crop", test_pad_modes_2d},
    {"nhwc, i64", test_pad_nhwc_any_dtype},
    {"supports", test_pad_supports},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo cast_tests[] = {
    {"f16 rounding", test_cast_f16_rounding},
    {"pairs from float", test_cast_pairs_from_float},
    {"pairs from int, long spans", test_cast_pairs_from_int},
    {"shape", test_shape_reports_logical_dims},
    {"constant of shape", test_constant_of_shape_fills},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"cpu/move", suite_init, suite_fini, NULL, NULL, move_tests},
    {"cpu/pad", suite_init, suite_fini, NULL, NULL, pad_tests},
    {"cpu/cast", suite_init, suite_fini, NULL, NULL, cast_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
