// SPDX-License-Identifier: Apache-2.0
/*
 * test_cpu_resize.c - the Resize kernel against onnxruntime for every
 * coordinate transform x nearest rounding mode and for linear, upsampling
 * and downsampling, in NHWC (how the layout pass runs it) and PLAIN layout;
 * YOLOX's nearest/asymmetric/floor x2 by hand; threaded runs; supports().
 *
 * Fixtures: onnxruntime 1.32.0, CPU EP, one Resize node (opset 13, inputs
 * x, roi = [], scales = [1, 1, sh, sw]) on NCHW x of shape [1, 2, 3, 4]:
 *   nearest: x = arange(24); nearest_<case>[coord][mode] is channel 0's
 *            output (channel 1 is the same + 12), i.e. the source index;
 *   linear:  x = ((arange(24) * 37) % 17) * 0.5 - 4, the full NCHW output.
 * Coordinate rows: half_pixel, pytorch_half_pixel, align_corners,
 * asymmetric, tf_half_pixel_for_nn; nearest columns: round_prefer_floor,
 * round_prefer_ceil, floor, ceil. "up" scales (1.7, 1.8) give 5 x 7, "down"
 * scales (0.4, 0.6) give 1 x 2 (an output length of 1 for pytorch_half_pixel
 * and align_corners).
 */
#include <math.h>
#include <stdlib.h>

#include "cpu_case.h"

/* up: scales (1.7, 1.8) */
static const uint8_t nearest_up[5][4][35] = {
    /* half_pixel */
    {
        {0, 0, 1, 1, 2, 3, 3, 0,  0,  1,  1, 2, 3, 3, 4,  4,  5, 5,
         6, 7, 7, 8, 8, 9, 9, 10, 11, 11, 8, 8, 9, 9, 10, 11, 11},
        {0, 0, 1, 1, 2, 3, 3, 0,  0,  1,  1, 2, 3, 3, 4,  4,  5, 5,
         6, 7, 7, 8, 8, 9, 9, 10, 11, 11, 8, 8, 9, 9, 10, 11, 11},
        {0, 0, 0, 1, 2, 2, 3, 0, 0, 0, 1, 2, 2, 3, 0,  0,  0, 1,
         2, 2, 3, 4, 4, 4, 5, 6, 6, 7, 8, 8, 8, 9, 10, 10, 11},
        {0, 1, 1, 2, 2, 3, 3,  4,  5,  5,  6, 6, 7, 7,  4,  5,  5, 6,
         6, 7, 7, 8, 9, 9, 10, 10, 11, 11, 8, 9, 9, 10, 10, 11, 11},
    },
    /* pytorch_half_pixel */
    {
        {0, 0, 1, 1, 2, 3, 3, 0,  0,  1,  1, 2, 3, 3, 4,  4,  5, 5,
         6, 7, 7, 8, 8, 9, 9, 10, 11, 11, 8, 8, 9, 9, 10, 11, 11},
        {0, 0, 1, 1, 2, 3, 3, 0,  0,  1,  1, 2, 3, 3, 4,  4,  5, 5,
         6, 7, 7, 8, 8, 9, 9, 10, 11, 11, 8, 8, 9, 9, 10, 11, 11},
        {0, 0, 0, 1, 2, 2, 3, 0, 0, 0, 1, 2, 2, 3, 0,  0,  0, 1,
         2, 2, 3, 4, 4, 4, 5, 6, 6, 7, 8, 8, 8, 9, 10, 10, 11},
        {0, 1, 1, 2, 2, 3, 3,  4,  5,  5,  6, 6, 7, 7,  4,  5,  5, 6,
         6, 7, 7, 8, 9, 9, 10, 10, 11, 11, 8, 9, 9, 10, 10, 11, 11},
    },
    /* align_corners */
    {
        {0, 0, 1, 1, 2, 2, 3, 0, 0, 1, 1, 2, 2, 3, 4,  4,  5, 5,
         6, 6, 7, 4, 4, 5, 5, 6, 6, 7, 8, 8, 9, 9, 10, 10, 11},
        {0, 1, 1, 2, 2, 3, 3,  4,  5,  5,  6, 6, 7, 7,  4,  5,  5, 6,
         6, 7, 7, 8, 9, 9, 10, 10, 11, 11, 8, 9, 9, 10, 10, 11, 11},
        {0, 0, 1, 1, 2, 2, 3, 0, 0, 1, 1, 2, 2, 3, 4,  4,  5, 5,
         6, 6, 7, 4, 4, 5, 5, 6, 6, 7, 8, 8, 9, 9, 10, 10, 11},
        {0, 1, 1, 2, 2, 3, 3,  4,  5,  5,  6, 6, 7, 7,  4,  5,  5, 6,
         6, 7, 7, 8, 9, 9, 10, 10, 11, 11, 8, 9, 9, 10, 10, 11, 11},
    },
    /* asymmetric */
    {
        {0, 1, 1, 2, 2, 3, 3,  4,  5,  5,  6, 6, 7, 7,  4,  5,  5, 6,
         6, 7, 7, 8, 9, 9, 10, 10, 11, 11, 8, 9, 9, 10, 10, 11, 11},
        {0, 1, 1, 2, 2, 3, 3,  4,  5,  5,  6, 6, 7, 7,  4,  5,  5, 6,
         6, 7, 7, 8, 9, 9, 10, 10, 11, 11, 8, 9, 9, 10, 10, 11, 11},
        {0, 0, 1, 1, 2, 2, 3, 0, 0, 1, 1, 2, 2, 3, 4,  4,  5, 5,
         6, 6, 7, 4, 4, 5, 5, 6, 6, 7, 8, 8, 9, 9, 10, 10, 11},
        {0,  1,  2,  2, 3, 3,  3,  4,  5,  6,  6, 7, 7,  7,  8,  9,  10, 10,
         11, 11, 11, 8, 9, 10, 10, 11, 11, 11, 8, 9, 10, 10, 11, 11, 11},
    },
    /* tf_half_pixel_for_nn */
    {
        {0, 1, 1, 2, 2, 3, 3,  4,  5,  5,  6, 6, 7, 7,  4,  5,  5, 6,
         6, 7, 7, 8, 9, 9, 10, 10, 11, 11, 8, 9, 9, 10, 10, 11, 11},
        {0, 1, 1, 2, 3, 3, 3,  4,  5,  5,  6, 7, 7, 7,  4,  5,  5, 6,
         7, 7, 7, 8, 9, 9, 10, 11, 11, 11, 8, 9, 9, 10, 11, 11, 11},
        {0, 0, 1, 1, 2, 3, 3, 0,  0,  1,  1, 2, 3, 3, 4,  4,  5, 5,
         6, 7, 7, 8, 8, 9, 9, 10, 11, 11, 8, 8, 9, 9, 10, 11, 11},
        {5,  5,  6,  6, 7, 7,  7,  5,  5,  6,  6, 7, 7,  7,  9,  9,  10, 10,
         11, 11, 11, 9, 9, 10, 10, 11, 11, 11, 9, 9, 10, 10, 11, 11, 11},
    },
};
static const float linear_up[5][70] = {
    /* half_pixel */
    {-4.0f,         -3.5f,         -2.66666651f,  -1.83333313f,  -1.0f,         -0.166666627f,
     0.5f,          -1.70588267f,  -1.20588267f,  -0.372549295f, -0.98366034f,  -1.95588231f,
     -1.12254882f,  -0.455882221f, 1.82352924f,   2.32352924f,   3.15686274f,   0.323528767f,
     -3.42647052f,  -2.59313726f,  -1.92647052f,  0.602941036f,  1.10294104f,   1.93627441f,
     1.10294104f,   -0.147058487f, 0.686274886f,  1.35294151f,   -0.5f,         5.96046448e-08f,
     0.833333433f,  1.66666687f,   2.5f,          3.33333349f,   4.0f,          -3.0f,
     -2.5f,         -1.66666663f,  -0.833333194f, 0.0f,          0.833333373f,  1.5f,
     -0.705882549f, -1.2892158f,   -2.26143789f,  -1.78921545f,  -0.955882192f, -0.122548848f,
     0.544117808f,  2.82352924f,   0.573529124f,  -3.17647123f,  -3.25980377f,  -2.42647052f,
     -1.59313726f,  -0.926470518f, 1.60294104f,   0.852941155f,  -0.397058606f, 0.0196083188f,
     0.852941513f,  -0.952614367f, -2.39705896f,  0.5f,          1.0f,          1.83333349f,
     2.66666675f,   3.5f,          -0.388889074f, -3.5f},
    /* pytorch_half_pixel */
    {-4.0f,         -3.5f,         -2.66666651f,  -1.83333313f,  -1.0f,         -0.166666627f,
     0.5f,          -1.70588267f,  -1.20588267f,  -0.372549295f, -0.98366034f,  -1.95588231f,
     -1.12254882f,  -0.455882221f, 1.82352924f,   2.32352924f,   3.15686274f,   0.323528767f,
     -3.42647052f,  -2.59313726f,  -1.92647052f,  0.602941036f,  1.10294104f,   1.93627441f,
     1.10294104f,   -0.147058487f, 0.686274886f,  1.35294151f,   -0.5f,         5.96046448e-08f,
     0.833333433f,  1.66666687f,   2.5f,          3.33333349f,   4.0f,          -3.0f,
     -2.5f,         -1.66666663f,  -0.833333194f, 0.0f,          0.833333373f,  1.5f,
     -0.705882549f, -1.2892158f,   -2.26143789f,  -1.78921545f,  -0.955882192f, -0.122548848f,
     0.544117808f,  2.82352924f,   0.573529124f,  -3.17647123f,  -3.25980377f,  -2.42647052f,
     -1.59313726f,  -0.926470518f, 1.60294104f,   0.852941155f,  -0.397058606f, 0.0196083188f,
     0.852941513f,  -0.952614367f, -2.39705896f,  0.5f,          1.0f,          1.83333349f,
     2.66666675f,   3.5f,          -0.388889074f, -3.5f},
    /* align_corners */
    {-4.0f,   -3.25f,  -2.5f,  -1.75f,  -1.0f,  -0.25f, 0.5f,   -1.0f,  -0.25f, 0.5f,
     -0.875f, -2.25f,  -1.5f,  -0.75f,  2.0f,   2.75f,  3.5f,   0.0f,   -3.5f,  -2.75f,
     -2.0f,   0.75f,   1.5f,   2.25f,   0.875f, -0.5f,  0.25f,  1.0f,   -0.5f,  0.25f,
     1.0f,    1.75f,   2.5f,   3.25f,   4.0f,   -3.0f,  -2.25f, -1.5f,  -0.75f, 0.0f,
     0.75f,   1.5f,    0.0f,   -1.375f, -2.75f, -2.0f,  -1.25f, -0.5f,  0.25f,  3.0f,
     -0.5f,   -4.0f,   -3.25f, -2.5f,   -1.75f, -1.0f,  1.75f,  0.375f, -1.0f,  -0.25f,
     0.5f,    -0.875f, -2.25f, 0.5f,    1.25f,  2.0f,   2.75f,  3.5f,   0.0f,   -3.5f},
    /* asymmetric */
    {-4.0f,         -3.16666651f,  -2.33333325f,  -1.49999988f,  -0.666666508f, 0.166666865f,
     0.5f,          -0.470588446f, 0.362744868f,  0.64052242f,   -1.30392194f,  -2.13725471f,
     -1.30392134f,  -0.970588148f, 1.5588237f,    2.39215708f,   2.44771218f,   -0.607843697f,
     -2.1078434f,   -1.27451003f,  -0.941176891f, 0.0882355571f, 0.92156899f,   1.5326798f,
     1.25490141f,   1.42156816f,   2.25490141f,   2.58823466f,   -0.5f,         0.333333373f,
     1.16666675f,   2.0f,          2.83333349f,   3.66666698f,   4.0f,          -3.0f,
     -2.16666651f,  -1.33333325f,  -0.499999881f, 0.333333492f,  1.16666687f,   1.5f,
     0.529411554f,  -1.41503298f,  -2.80392122f,  -1.97058797f,  -1.13725471f,  -0.303921312f,
     0.0294118524f, 2.55882359f,   -0.496732295f, -2.77451038f,  -1.94117665f,  -1.44117689f,
     -1.44117641f,  -1.44117618f,  1.08823562f,   0.81045723f,   0.754901409f,  1.58823466f,
     0.97712332f,   -1.80065417f,  -2.91176462f,  0.5f,          1.33333337f,   2.16666675f,
     3.0f,          1.9444437f,    -1.94444549f,  -3.5f},
    /* tf_half_pixel_for_nn */
    {-1.81862748f,  -0.985294104f, -1.12418318f,  -1.67973852f,   -0.985294044f,  -0.235294074f,
     -0.235294074f, 1.71078396f,   2.54411721f,   0.460783839f,   -2.87254953f,   -2.45588231f,
     -1.70588231f,  -1.70588231f,  1.24019611f,   2.07352948f,    1.1568625f,     -0.509804249f,
     0.0735292435f, 0.823529243f,  0.823529243f,  -0.0833333135f, 0.75000006f,    1.58333349f,
     2.41666698f,   3.25f,         4.0f,          4.0f,           -0.0833333135f, 0.75000006f,
     1.58333349f,   2.41666698f,   3.25f,         4.0f,           4.0f,           -1.51307201f,
     -2.0686276f,   -1.65196061f,  -0.818627238f, 0.0147059262f,  0.764705896f,   0.764705896f,
     0.627450645f,  -2.70588255f,  -3.12254882f,  -2.28921556f,   -1.45588219f,   -0.705882192f,
     -0.705882192f, 0.99019599f,   -0.676470816f, -0.593137264f,  0.240196109f,   -0.926470637f,
     -2.17647052f,  -2.17647052f,  0.916666687f,  1.75f,          2.58333349f,    3.41666675f,
     0.0f,          -3.5f,         -3.5f,         0.916666687f,   1.75f,          2.58333349f,
     3.41666675f,   0.0f,          -3.5f,         -3.5f},
};
/* down: scales (0.4, 0.6) */
static const uint8_t nearest_down[5][4][2] = {
    /* half_pixel */
    {
        {4, 6},
        {4, 6},
        {0, 2},
        {5, 6},
    },
    /* pytorch_half_pixel */
    {
        {0, 2},
        {0, 2},
        {0, 2},
        {1, 2},
    },
    /* align_corners */
    {
        {0, 3},
        {0, 3},
        {0, 3},
        {0, 3},
    },
    /* asymmetric */
    {
        {0, 2},
        {0, 2},
        {0, 1},
        {0, 2},
    },
    /* tf_half_pixel_for_nn */
    {
        {5, 6},
        {5, 7},
        {4, 6},
        {9, 11},
    },
};
static const float linear_down[5][4] = {
    /* half_pixel */
    {0.99999994f, -2.875f, -0.12499994f, -1.875f},
    /* pytorch_half_pixel */
    {-3.5f, -1.0f, -2.5f, 0.0f},
    /* align_corners */
    {-4.0f, 0.5f, -3.0f, 1.5f},
    /* asymmetric */
    {-4.0f, -1.5f, -3.0f, -0.50000006f},
    /* tf_half_pixel_for_nn */
    {2.625f, -1.25f, -1.68750012f, -1.3125f},
};

static const char *const coord_names[5]   = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                             "asymmetric", "tf_half_pixel_for_nn"};
static const char *const nearest_names[4] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                             "ceil"};

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

/* NCHW <-> NHWC for the test's own bookkeeping (index arithmetic, not the
 * kernel under test). */
static void to_nhwc(const float *x, float *y, const int64_t *d)
{
    for (int64_t n = 0; n < d[0]; n++)
        for (int64_t c = 0; c < d[1]; c++)
            for (int64_t i = 0; i < d[2] * d[3]; i++)
                y[(n * d[2] * d[3] + i) * d[1] + c] = x[(n * d[1] + c) * d[2] * d[3] + i];
}

static void to_nchw(const float *x, float *y, const int64_t *d)
{
    for (int64_t n = 0; n < d[0]; n++)
        for (int64_t c = 0; c < d[1]; c++)
            for (int64_t i = 0; i < d[2] * d[3]; i++)
                y[(n * d[1] + c) * d[2] * d[3] + i] = x[(n * d[2] * d[3] + i) * d[1] + c];
}

struct resize_spec {
    enum qp_resize_mode    mode;
    enum qp_resize_coord   coord;
    enum qp_resize_nearest nearest;
    float                  sh, sw;
};

/* Resize NCHW x (logical din) to NCHW y (logical dout) through the kernel,
 * running it in layout lay (NHWC data is converted around the call). */
static enum qp_status run_resize(const struct resize_spec *s, enum qp_layout lay,
                                 const int64_t *din, const int64_t *dout, const float *x, float *y,
                                 struct qp_pool *p)
{
    const size_t ni = (size_t)(din[0] * din[1] * din[2] * din[3]);
    const size_t no = (size_t)(dout[0] * dout[1] * dout[2] * dout[3]);
    float       *xi = malloc(ni * sizeof *xi), *yo = malloc(no * sizeof *yo);
    CU_ASSERT_FATAL(xi && yo);
    if (lay == QP_LAYOUT_NHWC)
        to_nhwc(x, xi, din);
    else
        memcpy(xi, x, ni * sizeof *xi);
    struct cpu_case c;
    case_init(&c);
    const int32_t   ti = case_tensor(&c, QP_DTYPE_F32, lay, 4, din);
    const int32_t   to = case_tensor(&c, QP_DTYPE_F32, lay, 4, dout);
    struct qp_node *n  = case_node(&c, QP_OP_RESIZE, 1, &ti, 1, &to);
    n->attr.resize     = (struct qp_resize_attr){s->mode, s->coord, s->nearest, {s->sh, s->sw}};
    c.in[0]            = xi;
    c.out[0]           = yo;
    CU_ASSERT(case_supports(&c, qp_cpu_resize_supports));
    const enum qp_status st = case_run(&c, qp_cpu_resize, p);
    if (lay == QP_LAYOUT_NHWC)
        to_nchw(yo, y, dout);
    else
        memcpy(y, yo, no * sizeof *y);
    case_fini(&c);
    free(xi);
    free(yo);
    return st;
}

static const int64_t din[4] = {1, 2, 3, 4};

static void check_nearest(const char *what, const struct resize_spec *s, const int64_t *dout,
                          const uint8_t *map)
{
    float         x[24], y[70];
    const int64_t hw = dout[2] * dout[3];
    for (int i = 0; i < 24; i++)
        x[i] = (float)i;
    for (int l = 0; l < 2; l++) {
        const enum qp_layout lay = l ? QP_LAYOUT_NHWC : QP_LAYOUT_PLAIN;
        CU_ASSERT_EQUAL(run_resize(s, lay, din, dout, x, y, NULL), QP_OK);
        int bad = 0;
        for (int64_t c = 0; c < 2; c++)
            for (int64_t i = 0; i < hw; i++)
                if (y[c * hw + i] != (float)(c * 12 + map[i]) && bad++ == 0)
                    fprintf(stderr, "\n  %s %s: out[%lld] = %g, want %d\n", what,
                            l ? "nhwc" : "plain", (long long)c * hw + i, y[c * hw + i],
                            (int)(c * 12 + map[i]));
        CU_ASSERT_EQUAL(bad, 0);
    }
}

static void check_linear(const char *what, const struct resize_spec *s, const int64_t *dout,
                         const float *want)
{
    float         x[24], y[70];
    const int64_t n = 2 * dout[2] * dout[3];
    for (int i = 0; i < 24; i++)
        x[i] = (float)((i * 37) % 17) * 0.5f - 4.0f;
    for (int l = 0; l < 2; l++) {
        const enum qp_layout lay = l ? QP_LAYOUT_NHWC : QP_LAYOUT_PLAIN;
        CU_ASSERT_EQUAL(run_resize(s, lay, din, dout, x, y, NULL), QP_OK);
        int bad = 0;
        for (int64_t i = 0; i < n; i++)
            if (fabsf(y[i] - want[i]) > 2e-6f && bad++ == 0)
                fprintf(stderr, "\n  %s %s: out[%lld] = %.9g, want %.9g\n", what,
                        l ? "nhwc" : "plain", (long long)i, y[i], want[i]);
        CU_ASSERT_EQUAL(bad, 0);
    }
}

static void test_nearest_every_mode(void)
{
    const int64_t up[4] = {1, 2, 5, 7}, down[4] = {1, 2, 1, 2};
    for (int c = 0; c < 5; c++)
        for (int m = 0; m < 4; m++) {
            char                     what[80];
            const struct resize_spec su = {QP_RESIZE_NEAREST, (enum qp_resize_coord)c,
                                           (enum qp_resize_nearest)m, 1.7f, 1.8f};
            const struct resize_spec sd = {QP_RESIZE_NEAREST, (enum qp_resize_coord)c,
                                           (enum qp_resize_nearest)m, 0.4f, 0.6f};
            snprintf(what, sizeof what, "up %s/%s", coord_names[c], nearest_names[m]);
            check_nearest(what, &su, up, nearest_up[c][m]);
            snprintf(what, sizeof what, "down %s/%s", coord_names[c], nearest_names[m]);
            check_nearest(what, &sd, down, nearest_down[c][m]);
        }
}

static void test_linear_every_coord(void)
{
    const int64_t up[4] = {1, 2, 5, 7}, down[4] = {1, 2, 1, 2};
    for (int c = 0; c < 5; c++) {
        char                     what[80];
        const struct resize_spec su = {QP_RESIZE_LINEAR, (enum qp_resize_coord)c,
                                       QP_NEAREST_ROUND_PREFER_FLOOR, 1.7f, 1.8f};
        const struct resize_spec sd = {QP_RESIZE_LINEAR, (enum qp_resize_coord)c,
                                       QP_NEAREST_ROUND_PREFER_FLOOR, 0.4f, 0.6f};
        snprintf(what, sizeof what, "linear up %s", coord_names[c]);
        check_linear(what, &su, up, linear_up[c]);
        snprintf(what, sizeof what, "linear down %s", coord_names[c]);
        check_linear(what, &sd, down, linear_down[c]);
    }
}

/* YOLOX's upsample: nearest, asymmetric, floor, x2, worked by hand. */
static void test_yolox_nearest_x2(void)
{
    const int64_t            d1[4] = {1, 2, 2, 2}, d2[4] = {1, 2, 4, 4};
    const float              x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const struct resize_spec s    = {QP_RESIZE_NEAREST, QP_COORD_ASYMMETRIC, QP_NEAREST_FLOOR, 2.0f,
                                     2.0f};
    static const float       want[32] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4,
                                         5, 5, 6, 6, 5, 5, 6, 6, 7, 7, 8, 8, 7, 7, 8, 8};
    float                    y[32];
    for (int l = 0; l < 2; l++) {
        CU_ASSERT_EQUAL(run_resize(&s, l ? QP_LAYOUT_NHWC : QP_LAYOUT_PLAIN, d1, d2, x, y, NULL),
                        QP_OK);
        CU_ASSERT_EQUAL(memcmp(y, want, sizeof want), 0);
    }
}

/* NanoDet's upsample (linear, pytorch_half_pixel, x2) on a feature map big
 * enough for the pool: threaded NHWC equals single-threaded NHWC equals
 * PLAIN, bit for bit (same arithmetic per output element). */
static void test_threaded_matches_single(void)
{
    const int64_t            d1[4] = {1, 24, 26, 26}, d2[4] = {1, 24, 52, 52};
    const size_t             ni = 24 * 26 * 26, no = 24 * 52 * 52;
    const struct resize_spec s = {QP_RESIZE_LINEAR, QP_COORD_PYTORCH_HALF_PIXEL,
                                  QP_NEAREST_ROUND_PREFER_FLOOR, 2.0f, 2.0f};
    float *x = malloc(ni * 4), *a = malloc(no * 4), *b = malloc(no * 4), *c = malloc(no * 4);
    CU_ASSERT_FATAL(x && a && b && c);
    for (size_t i = 0; i < ni; i++)
        x[i] = (float)((i * 7919) % 1009) * 0.01f - 5.0f;
    CU_ASSERT_EQUAL(run_resize(&s, QP_LAYOUT_NHWC, d1, d2, x, a, pool), QP_OK);
    CU_ASSERT_EQUAL(run_resize(&s, QP_LAYOUT_NHWC, d1, d2, x, b, NULL), QP_OK);
    CU_ASSERT_EQUAL(run_resize(&s, QP_LAYOUT_PLAIN, d1, d2, x, c, pool), QP_OK);
    CU_ASSERT_EQUAL(memcmp(a, b, no * 4), 0);
    CU_ASSERT_EQUAL(memcmp(a, c, no * 4), 0);
    /* spot check against the formula: output (y, x) = 2y+1, 2x+1 maps to
     * source (y + 0.25, x + 0.25) for interior pixels */
    const float *p = x + 5 * 26 * 26; /* channel 5, NCHW */
    const float  v = 0.75f * 0.75f * p[3 * 26 + 4] + 0.25f * 0.75f * p[3 * 26 + 5] +
                    0.75f * 0.25f * p[4 * 26 + 4] + 0.25f * 0.25f * p[4 * 26 + 5];
    CU_ASSERT(fabsf(a[5 * 52 * 52 + 7 * 52 + 9] - v) < 1e-5f);
    free(x);
    free(a);
    free(b);
    free(c);
}

static void test_supports_and_rejects(void)
{
    static const struct {
        enum qp_dtype       dt;
        int64_t             dout[4];
        enum qp_resize_mode mode;
        bool                ok;
    } rows[] = {
        {QP_DTYPE_F32, {1, 2, 6, 8}, QP_RESIZE_NEAREST, true},
        {QP_DTYPE_F32, {1, 2, 6, 8}, QP_RESIZE_LINEAR, true},
        {QP_DTYPE_F32, {1, 2, 6, 8}, QP_RESIZE_CUBIC, false},
        {QP_DTYPE_F16, {1, 2, 6, 8}, QP_RESIZE_NEAREST, false},
        {QP_DTYPE_F32, {1, 4, 6, 8}, QP_RESIZE_NEAREST, false}, /* C scaled */
        {QP_DTYPE_F32, {2, 2, 6, 8}, QP_RESIZE_NEAREST, false}, /* N scaled */
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        struct cpu_case c;
        case_init(&c);
        const int32_t   ti = case_tensor(&c, rows[r].dt, QP_LAYOUT_NHWC, 4, din);
        const int32_t   to = case_tensor(&c, rows[r].dt, QP_LAYOUT_NHWC, 4, rows[r].dout);
        struct qp_node *n  = case_node(&c, QP_OP_RESIZE, 1, &ti, 1, &to);
        n->attr.resize     = (struct qp_resize_attr){
                rows[r].mode, QP_COORD_ASYMMETRIC, QP_NEAREST_FLOOR, {2.0f, 2.0f}};
        CU_ASSERT_EQUAL(case_supports(&c, qp_cpu_resize_supports), rows[r].ok);
        if (!rows[r].ok)
            CU_ASSERT_EQUAL(case_run(&c, qp_cpu_resize, NULL), QP_E_UNSUPPORTED);
        case_fini(&c);
    }
    /* a zero scale cannot define source coordinates */
    float                    x[24] = {0}, y[96];
    const struct resize_spec s = {QP_RESIZE_NEAREST, QP_COORD_ASYMMETRIC, QP_NEAREST_FLOOR, 0.0f,
                                  2.0f};
    CU_ASSERT_EQUAL(run_resize(&s, QP_LAYOUT_NHWC, din, (const int64_t[]){1, 2, 6, 8}, x, y, NULL),
                    QP_E_INVAL);
}

static CU_TestInfo resize_tests[] = {
    {"nearest: every coord x rounding mode", test_nearest_every_mode},
    {"linear: every coord mode", test_linear_every_coord},
    {"yolox nearest x2", test_yolox_nearest_x2},
    {"threaded nhwc = single = plain", test_threaded_matches_single},
    {"supports, bad scale", test_supports_and_rejects},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"cpu/resize", suite_init, suite_fini, NULL, NULL, resize_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
