// SPDX-License-Identifier: Apache-2.0
/*
 * test_cuda_plan.c - the CUDA backend's host-side plans (cuda/cuda_plan.h)
 * executed on the CPU through the kernels' own index functions
 * (qp_cuda_copy_at, qp_max_window_*, qp_cuda_resize_src), held to the CPU
 * backend's kernels byte for byte: Layout both ways, Transpose, Concat and
 * Split on NHWC (physical axes) and PLAIN tensors, Slice with steps
 * (negative too), Reshape, MaxPool (int8 and f32, padding, strides,
 * dilation), nearest Resize (int8, two coordinate modes), linear Resize
 * (int8 with zero points, and f32; two coordinate modes), binary ops with
 * broadcasting. Needs no device.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu_case.h"
#include "cuda_plan.h"
#include "qp_test.h"

static uint32_t seed = 7;

static void fill(void *p, size_t n)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (unsigned char)(seed >> 16);
    }
}

static size_t nbytes(struct cpu_case *c, int32_t t)
{
    return qp_tensor_nbytes(&c->g.tensors[t]);
}

/* Input and output buffers for every tensor of the case's node. */
static void buffers(struct cpu_case *c, const int32_t *ins, int32_t n_in, const int32_t *outs,
                    int32_t n_out)
{
    for (int32_t k = 0; k < n_in; k++) {
        c->in[k] = malloc(nbytes(c, ins[k]) + 1);
        CU_ASSERT_FATAL(c->in[k] != NULL);
        fill(c->in[k], nbytes(c, ins[k]));
    }
    for (int32_t k = 0; k < n_out; k++) {
        c->out[k] = calloc(1, nbytes(c, outs[k]) + 1);
        CU_ASSERT_FATAL(c->out[k] != NULL);
    }
}

static void free_buffers(struct cpu_case *c)
{
    for (int32_t k = 0; k < CASE_MAX_IO; k++) {
        free(c->in[k]);
        free(c->out[k]);
    }
}

/* Run the copy plan of the case's node on the host and compare every
 * output with the CPU kernel's. */
static void check_copies(struct cpu_case *c, qp_cpu_kernel_fn kernel, const char *what)
{
    const struct qp_node *n     = &c->g.nodes[c->node];
    int32_t               count = qp_cuda_copy_count(&c->g, n);
    CU_ASSERT_FATAL(count > 0);
    CU_ASSERT_FATAL(case_run(c, kernel, NULL) == QP_OK);
    struct qp_cuda_copy plan[CASE_MAX_IO];
    qp_cuda_copy_plan(&c->g, n, plan);
    unsigned char *got = NULL; /* a Concat's copies fill one output */
    for (int32_t j = 0; j < count; j++) {
        int32_t        src = n->op == QP_OP_CONCAT ? j : 0, dst = n->op == QP_OP_SPLIT ? j : 0;
        size_t         size = nbytes(c, n->out[dst]), es = (size_t)plan[j].elem;
        unsigned char *y = c->out[dst], *x = c->in[src];
        int64_t        total = 1;
        if (!got)
            got = calloc(1, size + 1);
        CU_ASSERT_FATAL(got != NULL);
        for (int32_t k = 0; k < plan[j].rank; k++)
            total *= plan[j].dims[k];
        for (int64_t i = 0; i < total; i++) {
            int64_t xo, yo;
            qp_cuda_copy_at(&plan[j], i, &xo, &yo);
            CU_ASSERT_FATAL(yo >= 0 && (size_t)(yo + 1) * es <= size);
            memcpy(got + yo * (int64_t)es, x + xo * (int64_t)es, es);
        }
        if (n->op != QP_OP_CONCAT || j == count - 1) {
            bool same = memcmp(got, y, size) == 0;
            if (!same)
                fprintf(stderr, "%s: output %d differs from the CPU kernel\n", what, dst);
            CU_ASSERT(same);
            free(got);
            got = NULL;
        }
    }
}

static void test_layout_transpose_reshape(void)
{
    static const int64_t d[4] = {2, 5, 3, 4};
    for (int dir = 0; dir < 2; dir++)
        for (int dt = 0; dt < 2; dt++) {
            struct cpu_case c;
            case_init(&c);
            enum qp_dtype t  = dt ? QP_DTYPE_F32 : QP_DTYPE_I8;
            int32_t       ti = case_tensor(&c, t, dir ? QP_LAYOUT_NHWC : QP_LAYOUT_PLAIN, 4, d);
            int32_t       to = case_tensor(&c, t, dir ? QP_LAYOUT_PLAIN : QP_LAYOUT_NHWC, 4, d);
            case_node(&c, QP_OP_LAYOUT, 1, &ti, 1, &to)->attr.layout.to_nhwc = !dir;
            buffers(&c, &ti, 1, &to, 1);
            check_copies(&c, qp_cpu_layout, "layout");
            free_buffers(&c);
            case_fini(&c);
        }
    static const int32_t perms[][4] = {{0, 2, 3, 1}, {3, 1, 0, 2}, {0, 1, 2, 3}};
    for (size_t p = 0; p < sizeof perms / sizeof perms[0]; p++) {
        struct cpu_case c;
        case_init(&c);
        int64_t od[4];
        for (int k = 0; k < 4; k++)
            od[k] = d[perms[p][k]];
        int32_t         ti = case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, 4, d);
        int32_t         to = case_tensor(&c, QP_DTYPE_F32, QP_LAYOUT_PLAIN, 4, od);
        struct qp_node *n  = case_node(&c, QP_OP_TRANSPOSE, 1, &ti, 1, &to);
        for (int k = 0; k < 4; k++)
            n->attr.transpose.perm[k] = perms[p][k];
        buffers(&c, &ti, 1, &to, 1);
        check_copies(&c, qp_cpu_transpose, "transpose");
        free_buffers(&c);
        case_fini(&c);
    }
    struct cpu_case c;
    case_init(&c);
    int32_t ti = case_tensor(&c, QP_DTYPE_I8, QP_LAYOUT_PLAIN, 4, d);
    int32_t to = case_tensor(&c, QP_DTYPE_I8, QP_LAYOUT_PLAIN, 2, (const int64_t[]){10, 12});
    case_node(&c, QP_OP_RESHAPE, 1, &ti, 1, &to);
    buffers(&c, &ti, 1, &to, 1);
    check_copies(&c, qp_cpu_identity, "reshape");
    free_buffers(&c);
    case_fini(&c);
}

static void test_concat_split(void)
{
    for (int lay = 0; lay < 2; lay++) { /* NHWC on channels (physical axis 3), PLAIN on dim 1 */
        enum qp_layout l    = lay ? QP_LAYOUT_NHWC : QP_LAYOUT_PLAIN;
        int32_t        axis = lay ? 3 : 1;
        struct cpu_case c;
        case_init(&c);
        int32_t ins[3], out;
        for (int k = 0; k < 3; k++)
            ins[k] = case_tensor(&c, QP_DTYPE_I8, l, 4, (const int64_t[]){2, 3 + 2 * k, 5, 6});
        out               = case_tensor(&c, QP_DTYPE_I8, l, 4, (const int64_t[]){2, 15, 5, 6});
        struct qp_node *n = case_node(&c, QP_OP_CONCAT, 3, ins, 1, &out);
        n->attr.axis      = axis;
        n->phys_axes      = lay == 1;
        buffers(&c, ins, 3, &out, 1);
        check_copies(&c, qp_cpu_concat, "concat");
        free_buffers(&c);
        case_fini(&c);

        case_init(&c);
        int32_t x = case_tensor(&c, QP_DTYPE_F32, l, 4, (const int64_t[]){2, 9, 5, 6}), outs[2];
        outs[0]   = case_tensor(&c, QP_DTYPE_F32, l, 4, (const int64_t[]){2, 4, 5, 6});
        outs[1]   = case_tensor(&c, QP_DTYPE_F32, l, 4, (const int64_t[]){2, 5, 5, 6});
        n         = case_node(&c, QP_OP_SPLIT, 1, &x, 2, outs);
        n->attr.axis = axis;
        n->phys_axes = lay == 1;
        buffers(&c, &x, 1, outs, 2);
        check_copies(&c, qp_cpu_split, "split");
        free_buffers(&c);
        case_fini(&c);
    }
}

static void test_slice(void)
{
    /* NHWC, physical axes (n, h, w, c): rows 1.. step 2, columns reversed,
     * channels 2..5; and a PLAIN slice of the same shape */
    for (int lay = 0; lay < 2; lay++) {
        struct cpu_case c;
        case_init(&c);
        enum qp_layout l  = lay ? QP_LAYOUT_NHWC : QP_LAYOUT_PLAIN;
        int32_t        x  = case_tensor(&c, QP_DTYPE_I8, l, 4, (const int64_t[]){2, 7, 9, 6});
        int32_t        y  = case_tensor(&c, QP_DTYPE_I8, l, 4,
                                        lay ? (const int64_t[]){2, 3, 4, 6}
                                            : (const int64_t[]){2, 3, 4, 3});
        struct qp_node *n = case_node(&c, QP_OP_SLICE, 1, &x, 1, &y);
        n->phys_axes      = lay == 1;
        static const int64_t start[4] = {0, 1, 5, 2}, step[4] = {1, 2, -1, 1};
        for (int k = 0; k < 4; k++)
            n->attr.slice.start[k] = start[k], n->attr.slice.step[k] = step[k];
        buffers(&c, &x, 1, &y, 1);
        check_copies(&c, qp_cpu_slice, "slice");
        free_buffers(&c);
        case_fini(&c);
    }
}

static void test_maxpool(void)
{
    struct pool_case {
        int64_t h, w, oh, ow;
        int32_t k, s, d, pt, pl;
    } cases[] = {
        {13, 13, 13, 13, 5, 1, 1, 2, 2}, /* YOLOX SPP */
        {12, 10, 6, 5, 3, 2, 1, 1, 1},
        {9, 11, 3, 4, 3, 3, 2, 1, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int dt = 0; dt < 2; dt++) {
            const struct pool_case *p = &cases[i];
            struct cpu_case         c;
            case_init(&c);
            enum qp_dtype t  = dt ? QP_DTYPE_F32 : QP_DTYPE_I8;
            int32_t       ti = case_tensor(&c, t, QP_LAYOUT_NHWC, 4, (const int64_t[]){2, 7, p->h, p->w});
            int32_t       to = case_tensor(&c, t, QP_LAYOUT_NHWC, 4, (const int64_t[]){2, 7, p->oh, p->ow});
            c.g.tensors[ti].scale = c.g.tensors[to].scale = dt ? 0.0f : 0.1f;
            struct qp_node *n = case_node(&c, QP_OP_MAX_POOL, 1, &ti, 1, &to);
            n->attr.pool.kernel[0] = n->attr.pool.kernel[1] = p->k;
            n->attr.pool.stride[0] = n->attr.pool.stride[1] = p->s;
            n->attr.pool.dilation[0] = n->attr.pool.dilation[1] = p->d;
            n->attr.pool.pad[0] = n->attr.pool.pad[2] = p->pt;
            n->attr.pool.pad[1] = n->attr.pool.pad[3] = p->pl;
            buffers(&c, &ti, 1, &to, 1);
            if (dt) /* finite floats */
                for (int64_t e = 0; e < 2 * 7 * p->h * p->w; e++)
                    ((float *)c.in[0])[e] = (float)(e * 7919 % 1000) - 500.0f;
            CU_ASSERT_FATAL(case_run(&c, qp_cpu_max_pool, NULL) == QP_OK);
            struct qp_conv_geom geo = qp_cuda_pool_geom(&c.g, n);
            size_t              size = nbytes(&c, to);
            unsigned char      *got  = malloc(size);
            CU_ASSERT_FATAL(got != NULL);
            for (int64_t e = 0; e < geo.n * geo.oh * geo.ow * geo.c; e++) {
                if (dt)
                    ((float *)(void *)got)[e] = qp_max_window_f32(c.in[0], &geo, e / geo.c, e % geo.c);
                else
                    ((int8_t *)got)[e] = qp_max_window_i8(c.in[0], &geo, e / geo.c, e % geo.c);
            }
            CU_ASSERT(memcmp(got, c.out[0], size) == 0);
            free(got);
            free_buffers(&c);
            case_fini(&c);
        }
}

static void test_resize_nearest(void)
{
    static const struct qp_resize_attr modes[] = {
        {QP_RESIZE_NEAREST, QP_COORD_ASYMMETRIC, QP_NEAREST_FLOOR, {2.0f, 2.0f}},
        {QP_RESIZE_NEAREST, QP_COORD_HALF_PIXEL, QP_NEAREST_ROUND_PREFER_FLOOR, {1.5f, 2.5f}},
    };
    static const int64_t outs[][4] = {{1, 6, 10, 14}, {1, 6, 7, 17}};
    for (size_t m = 0; m < 2; m++) {
        struct cpu_case c;
        case_init(&c);
        int32_t ti = case_tensor(&c, QP_DTYPE_I8, QP_LAYOUT_NHWC, 4, (const int64_t[]){1, 6, 5, 7});
        int32_t to = case_tensor(&c, QP_DTYPE_I8, QP_LAYOUT_NHWC, 4, outs[m]);
        c.g.tensors[ti].scale = c.g.tensors[to].scale = 0.25f;
        struct qp_node *n     = case_node(&c, QP_OP_RESIZE, 1, &ti, 1, &to);
        n->attr.resize        = modes[m];
        buffers(&c, &ti, 1, &to, 1);
        CU_ASSERT_FATAL(case_run(&c, qp_cpu_resize, NULL) == QP_OK);
        int32_t iy[16], ix[32];
        qp_cuda_resize_tables(&c.g, n, iy, ix);
        size_t         size = nbytes(&c, to);
        unsigned char *got  = malloc(size);
        CU_ASSERT_FATAL(got != NULL);
        for (int64_t i = 0; i < (int64_t)size; i++)
            got[i] = ((unsigned char *)c.in[0])[qp_cuda_resize_src(i, 5, 7, outs[m][2], outs[m][3],
                                                                   6, iy, ix)];
        CU_ASSERT(memcmp(got, c.out[0], size) == 0);
        free(got);
        free_buffers(&c);
        case_fini(&c);
    }
}

static void test_resize_linear(void)
{
    static const struct qp_resize_attr modes[] = {
        {QP_RESIZE_LINEAR, QP_COORD_HALF_PIXEL, QP_NEAREST_ROUND_PREFER_FLOOR, {2.0f, 2.0f}},
        {QP_RESIZE_LINEAR, QP_COORD_ALIGN_CORNERS, QP_NEAREST_FLOOR, {1.5f, 2.5f}},
    };
    static const int64_t outs[][4] = {{2, 19, 10, 14}, {2, 19, 7, 17}};
    for (size_t t = 0; t < 4; t++) {
        size_t          m = t % 2;
        bool            f = t >= 2; /* f32 */
        enum qp_dtype   dt = f ? QP_DTYPE_F32 : QP_DTYPE_I8;
        struct cpu_case c;
        case_init(&c);
        int32_t ti = case_tensor(&c, dt, QP_LAYOUT_NHWC, 4, (const int64_t[]){2, 19, 5, 7});
        int32_t to = case_tensor(&c, dt, QP_LAYOUT_NHWC, 4, outs[m]);
        if (!f) {
            c.g.tensors[ti].scale = 0.25f, c.g.tensors[ti].zero_point = 3;
            c.g.tensors[to].scale = 0.11f, c.g.tensors[to].zero_point = -5;
        }
        struct qp_node *n     = case_node(&c, QP_OP_RESIZE, 1, &ti, 1, &to);
        n->attr.resize        = modes[m];
        buffers(&c, &ti, 1, &to, 1);
        if (f) /* finite floats */
            for (int64_t e = 0; e < 2 * 19 * 5 * 7; e++)
                ((float *)c.in[0])[e] = (float)(e * 7919 % 1000) * 0.013f - 6.0f;
        CU_ASSERT_FATAL(case_run(&c, qp_cpu_resize, NULL) == QP_OK);
        struct qp_cuda_resize_lerp r;
        struct qp_cuda_lerp_tap  ty[16], tx[32];
        qp_cuda_resize_lerp_plan(&c.g, n, &r, ty, tx);
        size_t size = nbytes(&c, to);
        void  *got  = malloc(size);
        CU_ASSERT_FATAL(got != NULL);
        for (int64_t i = 0; i < (int64_t)(size / (f ? sizeof(float) : 1)); i++) {
            if (f)
                ((float *)got)[i] = qp_cuda_resize_lerp_f32(c.in[0], &r, ty, tx, i);
            else
                ((int8_t *)got)[i] = qp_cuda_resize_lerp_at(c.in[0], &r, ty, tx, i);
        }
        CU_ASSERT(memcmp(got, c.out[0], size) == 0);
        free(got);
        free_buffers(&c);
        case_fini(&c);
    }
}

/* Add / Mul / Max with numpy broadcasting, PLAIN and NHWC, against the
 * CPU's binary kernel (the element ops are single IEEE operations). */
static void test_binary_broadcast(void)
{
    static const struct {
        enum qp_op     op;
        enum qp_layout lay;
        int32_t        rb;
        int64_t        b[4];
    } cases[] = {
        {QP_OP_ADD, QP_LAYOUT_NHWC, 4, {2, 6, 5, 7}}, /* same shape (residual) */
        {QP_OP_MUL, QP_LAYOUT_PLAIN, 3, {6, 1, 7}},   /* right-aligned, broadcast dim */
        {QP_OP_MAX, QP_LAYOUT_NHWC, 4, {1, 6, 1, 1}}, /* per channel */
        {QP_OP_SUB, QP_LAYOUT_PLAIN, 1, {1}},         /* a single value */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cpu_case c;
        case_init(&c);
        int32_t ins[2], out;
        static const int64_t shape[4] = {2, 6, 5, 7};
        enum qp_layout       lb = cases[i].rb == 4 ? cases[i].lay : QP_LAYOUT_PLAIN;
        ins[0]            = case_tensor(&c, QP_DTYPE_F32, cases[i].lay, 4, shape);
        ins[1]            = case_tensor(&c, QP_DTYPE_F32, lb, cases[i].rb, cases[i].b);
        out               = case_tensor(&c, QP_DTYPE_F32, cases[i].lay, 4, shape);
        struct qp_node *n = case_node(&c, cases[i].op, 2, ins, 1, &out);
        n->phys_axes      = cases[i].lay == QP_LAYOUT_NHWC;
        buffers(&c, ins, 2, &out, 1);
        for (int k = 0; k < 2; k++) /* finite values */
            for (size_t e = 0; e < nbytes(&c, ins[k]) / sizeof(float); e++)
                ((float *)c.in[k])[e] = (float)((int64_t)((e * 7919 + (size_t)k * 31) % 201) - 100) * 0.37f;
        bool planned = qp_cuda_bcast_plan(&c.g, n, NULL);
        bool cpu_ok  = case_supports(&c, qp_cpu_binary_supports);
        CU_ASSERT(cpu_ok);
        CU_ASSERT_FATAL(planned);
        if (cpu_ok) {
            CU_ASSERT_FATAL(case_run(&c, qp_cpu_binary, NULL) == QP_OK);
            struct qp_cuda_bcast bc;
            CU_ASSERT_FATAL(qp_cuda_bcast_plan(&c.g, n, &bc));
            size_t size = nbytes(&c, out);
            float *got  = malloc(size);
            CU_ASSERT_FATAL(got != NULL);
            for (int64_t e = 0; e < (int64_t)(size / sizeof *got); e++) {
                int64_t ao, bo;
                qp_cuda_bcast_at(&bc, e, &ao, &bo);
                got[e] = qp_cuda_binary_op(bc.op, ((float *)c.in[0])[ao], ((float *)c.in[1])[bo]);
            }
            CU_ASSERT(memcmp(got, c.out[0], size) == 0);
            free(got);
        }
        free_buffers(&c);
        case_fini(&c);
    }
}

/* What the device cannot copy is refused, not guessed. */
static void test_refusals(void)
{
    struct cpu_case c;
    case_init(&c);
    int32_t ti = case_tensor(&c, QP_DTYPE_I8, QP_LAYOUT_NHWC, 4, (const int64_t[]){1, 4, 2, 2});
    int32_t to = case_tensor(&c, QP_DTYPE_I8, QP_LAYOUT_NHWC, 4, (const int64_t[]){1, 4, 2, 2});
    struct qp_node *n = case_node(&c, QP_OP_SLICE, 1, &ti, 1, &to);
    CU_ASSERT_EQUAL(qp_cuda_copy_count(&c.g, n), 0); /* NHWC attributes not made physical */
    n->phys_axes = true;
    CU_ASSERT_EQUAL(qp_cuda_copy_count(&c.g, n), 1);
    n->op = QP_OP_GATHER;
    CU_ASSERT_EQUAL(qp_cuda_copy_count(&c.g, n), 0);
    case_fini(&c);
}

static CU_TestInfo tests[] = {
    {"layout, transpose, reshape", test_layout_transpose_reshape},
    {"concat and split, NHWC and plain", test_concat_split},
    {"slice with steps", test_slice},
    {"max pool int8 and f32", test_maxpool},
    {"nearest resize tables", test_resize_nearest},
    {"linear resize taps, int8 and f32", test_resize_linear},
    {"binary ops with broadcasting", test_binary_broadcast},
    {"refusals", test_refusals},
    CU_TEST_INFO_NULL,
};
static CU_SuiteInfo suites[] = {{"cuda_plan", NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};
QP_TEST_MAIN(suites)
