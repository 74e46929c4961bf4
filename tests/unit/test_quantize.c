// SPDX-License-Identifier: Apache-2.0
/*
 * test_quantize.c - the quantization pass (quant/quantize.h) on small ONNX
 * models built in memory: the graph it makes (ops, twins, stats, weights
 * and biases to the contract's formulas), its numbers end to end against
 * the float engine, grids (symmetric, or asymmetric for one-sided ranges),
 * channel equalization (a tiny channel survives, and no reader ever sees
 * divided values; with ranges too), QAdd and Concat, a Quantize moved
 * above Slices and a Concat (the same bytes out), bias deltas,
 * uncalibrated tensors, every allocation failing, and the graph's arrays
 * growing at any point of the pass.
 *
 * Calibration is the float model opened with all_tensors on the same input:
 * amax = max |x|, min and max per tensor and per channel (dim 1), so every number
 * the pass is given is one the test can recompute.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>

#include "core/alloc.h"
#include "core/fp16.h"
#include "engine_int.h"
#include "onnx_builder.h"
#include "qp_test.h"
#include "quant/quant.h"
#include "quant/quant_math.h"
#include "quant/quantize.h"

enum { C = 8, H = 12, W = 12, HW = H * W, N = C * H * W, MAX_T = 48 };

static const int64_t XD[4] = {1, C, H, W}, PADS[4] = {1, 1, 1, 1}, VD[1] = {C};
static char          path[1024];
static float         xin[N];

static uint32_t rng_state;
static void     fill(float *v, int n, float lo, float hi) /* xorshift32 */
{
    for (int i = 0; i < n; i++) {
        rng_state ^= rng_state << 13, rng_state ^= rng_state >> 17, rng_state ^= rng_state << 5;
        v[i] = lo + (hi - lo) * (float)(rng_state >> 8) / 16777216.0f;
    }
}

static void save_model(const char *name)
{
    CU_ASSERT_FATAL(mb_save(name, path, sizeof path));
}

/* The float model (g NULL) or graph g (consumed) on the CPU, run on xin. */
static struct qp_engine *open_run(struct qp_graph *g, bool all)
{
    struct qp_engine_options o = QP_ENGINE_OPTIONS_DEFAULT;
    struct qp_engine        *e = NULL;
    struct qp_err            err;
    o.backend = QP_BACKEND_CPU, o.n_threads = 1, o.all_tensors = all;
    if ((g ? qp_engine_open_graph(g, &o, &e, &err) : qp_engine_open(path, &o, &e, &err)) != QP_OK)
        fprintf(stderr, "\n  open %s: %s\n", path, err.msg);
    if (g)
        qp_graph_fini(g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_FATAL(qp_engine_set_input(e, 0, xin, sizeof xin, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_engine_run(e, NULL) == QP_OK);
    return e;
}

/* Copy tensor name of an all_tensors engine into dst (n bytes). */
static void read_named(const struct qp_engine *e, const char *name, void *dst, size_t n)
{
    struct qp_tensor_info ti;
    for (int32_t i = 0; i < qp_engine_n_tensors(e); i++)
        if (qp_engine_tensor_info(e, i, &ti) && strcmp(ti.name, name) == 0) {
            CU_ASSERT_FATAL(qp_engine_read_tensor(e, i, dst, n, NULL) == QP_OK);
            return;
        }
    CU_FAIL_FATAL("tensor not found");
}

/* ---- calibration: every f32 tensor of the float model on xin ---- */

static struct cal {
    char    name[64];
    float   amax, min, max, ch_min[C], ch_max[C]; /* per channel, with 0 */
    int64_t n_ch;
    float   v[2 * N];
} cal[MAX_T];
static int n_cal;

static const struct cal *find_cal(const char *name)
{
    for (int i = 0; i < n_cal; i++)
        if (strcmp(cal[i].name, name) == 0)
            return &cal[i];
    return NULL;
}

static float scale(const char *name) /* the contract's activation scale */
{
    return find_cal(name)->amax / (float)QP_Q_MAX;
}

static void calibrate(void)
{
    struct qp_engine *e = open_run(NULL, true);
    n_cal               = 0;
    for (int32_t i = 0; i < qp_engine_n_tensors(e); i++) {
        struct qp_tensor_info ti;
        int64_t               n = 1;
        if (!qp_engine_tensor_info(e, i, &ti) || ti.dtype != QP_DTYPE_F32)
            continue;
        for (int32_t d = 0; d < ti.rank; d++)
            n *= ti.dims[d];
        CU_ASSERT_FATAL(n <= 2 * N && n_cal < MAX_T && strlen(ti.name) < 64);
        struct cal *c = &cal[n_cal++];
        memset(c, 0, sizeof *c);
        strcpy(c->name, ti.name);
        c->n_ch = ti.rank == 4 && ti.dims[0] == 1 && ti.dims[1] <= C ? ti.dims[1] : 0;
        CU_ASSERT_FATAL(qp_engine_read_tensor(e, i, c->v, (size_t)n * 4, NULL) == QP_OK);
        for (int64_t k = 0; k < n; k++) {
            c->amax = fmaxf(c->amax, fabsf(c->v[k]));
            c->min  = k ? fminf(c->min, c->v[k]) : c->v[k];
            c->max  = k ? fmaxf(c->max, c->v[k]) : c->v[k];
            if (c->n_ch) {
                int64_t ch    = k * c->n_ch / n;
                c->ch_min[ch] = fminf(c->ch_min[ch], c->v[k]);
                c->ch_max[ch] = fmaxf(c->ch_max[ch], c->v[k]);
            }
        }
    }
    qp_engine_free(e);
}

/* ---- the pass's callbacks, steered by a struct steer ---- */

struct steer {
    const char       *zero;  /* tensor reported as uncalibrated */
    const char       *layer; /* the Conv given precision prec (others INT8) */
    enum qp_precision prec;
    const char       *delta_layer[2];
    const float      *delta[2];
    bool              eq;    /* provide channel_range */
    bool              range; /* provide range (asymmetric grids) */
};
static struct steer qo;

static bool is(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static float amax_cb(void *ctx, const char *name)
{
    const struct steer *s = ctx;
    const struct cal   *c = find_cal(name);
    return c && !is(name, s->zero) ? c->amax : 0.0f;
}

static enum qp_precision prec_cb(void *ctx, const char *name)
{
    const struct steer *s = ctx;
    return is(name, s->layer) ? s->prec : QP_PREC_INT8;
}

static const float *delta_cb(void *ctx, const char *name, int64_t m)
{
    const struct steer *s = ctx;
    CU_ASSERT_EQUAL(m, C);
    for (int i = 0; i < 2; i++)
        if (is(name, s->delta_layer[i]))
            return s->delta[i];
    return NULL;
}

static bool chan_cb(void *ctx, const char *name, int64_t n, const float **mn, const float **mx)
{
    const struct cal *c = find_cal(name);
    (void)ctx;
    if (!c || c->n_ch != n)
        return false;
    *mn = c->ch_min;
    *mx = c->ch_max;
    return true;
}

static bool range_cb(void *ctx, const char *name, float *mn, float *mx)
{
    const struct cal *c = find_cal(name);
    (void)ctx;
    if (!c)
        return false;
    *mn = c->min, *mx = c->max;
    return true;
}

static enum qp_status quantize(struct qp_graph *g, struct qp_quant_stats *st, struct qp_err *err)
{
    struct qp_quant_opts o = {
        amax_cb, prec_cb, delta_cb, qo.eq ? chan_cb : NULL, qo.range ? range_cb : NULL, NULL, &qo};
    return qp_pass_quantize(g, &o, st, err);
}

static void front(struct qp_graph *g)
{
    struct qp_engine_options opt = QP_ENGINE_OPTIONS_DEFAULT;
    struct qp_err            err;
    memset(g, 0, sizeof *g);
    if (qp_engine_front(path, &opt, g, NULL, &err) != QP_OK)
        fprintf(stderr, "\n  front %s: %s\n", path, err.msg);
    CU_ASSERT_FATAL(g->n_nodes > 0);
}

/* The model at path, front half and quantized as qo says. */
static void front_quant(struct qp_graph *g, struct qp_quant_stats *st)
{
    struct qp_err err;
    front(g);
    enum qp_status s = quantize(g, st, &err);
    if (s != QP_OK)
        fprintf(stderr, "\n  quantize %s: %s\n", path, err.msg);
    CU_ASSERT_EQUAL_FATAL(s, QP_OK);
}

/* ---- graph inspection and comparison ---- */

static int32_t node_named(const struct qp_graph *g, const char *name)
{
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && is(g->nodes[i].name, name))
            return i;
    return -1;
}

static int count_op(const struct qp_graph *g, enum qp_op op)
{
    int n = 0;
    for (int32_t i = 0; i < g->n_nodes; i++)
        n += !g->nodes[i].dead && g->nodes[i].op == op;
    return n;
}

static float tscale(const struct qp_graph *g, const char *name) /* -1: no such tensor */
{
    int32_t t = qp_graph_find_tensor(g, name);
    return t >= 0 && g->tensors[t].dtype == QP_DTYPE_I8 ? g->tensors[t].scale : -1.0f;
}

static bool reads(const struct qp_graph *g, int32_t node, int32_t k, const char *name)
{
    int32_t t = node >= 0 && k < g->nodes[node].n_in ? g->nodes[node].in[k] : -1;
    return t >= 0 && strcmp(g->tensors[t].name, name) == 0;
}

/* 10 log10(sum ref^2 / sum (ref - got)^2). */
static double sqnr(const float *ref, const float *got, int n)
{
    double s = 0, e = 0;
    for (int i = 0; i < n; i++) {
        s += (double)ref[i] * ref[i];
        e += ((double)ref[i] - got[i]) * ((double)ref[i] - got[i]);
    }
    return 10.0 * log10(s / fmax(e, 1e-30));
}

/* Every value of output k within tol of float. */
static void check_close(struct qp_engine *q, struct qp_engine *f, int32_t k, int64_t n, double tol)
{
    const float *a = qp_engine_output(q, k), *b = qp_engine_output(f, k);
    double       worst = 0;
    for (int64_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)a[i] - b[i]));
    printf("\n  output %d: max |int8 - f32| %.4f (bound %.4f)", (int)k, worst, tol);
    CU_ASSERT(worst <= tol);
}

/* ---- model A: Conv(+bias) -> Relu -> Conv -> Sigmoid -> MaxPool 3x3/1 ---- */

static float w1[C * C * 9], b1[C], w2[C * C * 9];

static void model_a(void)
{
    static const int64_t wd[4] = {C, C, 3, 3};
    rng_state                  = 2463534242u;
    fill(xin, N, -1.0f, 1.0f);
    fill(w1, C * C * 9, -0.25f, 0.25f);
    fill(b1, C, -0.5f, 0.5f);
    fill(w2, C * C * 9, -0.15f, 0.15f);
    /* output channel 0 of conv1: (m + 1/2) / 128 for m = -8..7, max 127/128, so
     * its scale is exactly 1/128 and every other weight is a rounding tie */
    for (int k = 0; k < C * 9; k++)
        w1[k] = ((float)(k % 16 - 8) + 0.5f) / 128.0f;
    w1[0] = 127.0f / 128.0f;
    mb_begin(13);
    mb_input("x", 4, XD);
    mb_output("y");
    init_raw("w1", DT(FLOAT), 4, wd, w1, sizeof w1);
    init_raw("b1", DT(FLOAT), 1, VD, b1, sizeof b1);
    init_raw("w2", DT(FLOAT), 4, wd, w2, sizeof w2);
    attr_ints(mb_node("Conv", "conv1", "x,w1,b1", "c1"), "pads", 4, PADS);
    mb_node("Relu", "relu", "c1", "r1");
    attr_ints(mb_node("Conv", "conv2", "r1,w2", "c2"), "pads", 4, PADS);
    mb_node("Sigmoid", "sig", "c2", "s");
    Onnx__NodeProto *n = mb_node("MaxPool", "pool", "s", "y");
    attr_ints(n, "kernel_shape", 2, (const int64_t[]){3, 3});
    attr_ints(n, "pads", 4, PADS);
    save_model("test_quantize_a.onnx");
    calibrate();
    memset(&qo, 0, sizeof qo);
}

/* The INT8 weights, scales and bias of QConv node ci against the contract. */
static void check_weights(const struct qp_graph *g, int32_t ci, const float *wf, const float *bf,
                          const float *delta, float sx)
{
    const struct qp_node *n   = &g->nodes[ci];
    const int8_t         *wq  = g->tensors[n->in[1]].data;
    const float          *ws  = g->tensors[n->in[2]].data;
    const int32_t        *bq  = n->in[3] >= 0 ? g->tensors[n->in[3]].data : NULL;
    int                   bad = 0;
    CU_ASSERT_EQUAL(g->tensors[n->in[1]].dtype, QP_DTYPE_I8);
    CU_ASSERT_EQUAL(bq != NULL, bf != NULL || delta != NULL);
    for (int c = 0; c < C; c++) {
        float amax = 0.0f;
        for (int k = 0; k < C * 9; k++)
            amax = fmaxf(amax, fabsf(wf[c * C * 9 + k]));
        bad += ws[c] != amax / 127.0f;
        for (int k = 0; k < C * 9; k++) {
            float v = rintf(wf[c * C * 9 + k] / ws[c]);
            bad += wq[c * C * 9 + k] != (int8_t)fminf(fmaxf(v, -128.0f), 127.0f);
        }
        double b = (bf ? bf[c] : 0.0) + (delta ? delta[c] : 0.0);
        bad += bq && bq[c] != (int32_t)nearbyint(b / ((double)sx * ws[c]));
    }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_structure(void)
{
    model_a();
    struct qp_graph       g;
    struct qp_quant_stats st;
    front_quant(&g, &st);
    /* Quantize, QConv(+Relu), QConv(+Sigmoid), MaxPool: nothing else. conv2's
     * output reaches the graph output through MaxPool alone, so no INT8 op
     * reads it: conv2 writes s as f32, unrounded, and the pool runs float */
    CU_ASSERT(g.n_nodes == 4 && count_op(&g, QP_OP_QUANTIZE) == 1 &&
              count_op(&g, QP_OP_QCONV) == 2 && count_op(&g, QP_OP_QLUT) == 0 &&
              count_op(&g, QP_OP_DEQUANTIZE) == 0);
    int32_t c1 = node_named(&g, "conv1"), c2 = node_named(&g, "conv2"), mp = node_named(&g, "pool");
    CU_ASSERT_FATAL(c1 >= 0 && c2 >= 0 && mp >= 0);
    CU_ASSERT(node_named(&g, "sig") < 0); /* inside conv2's epilogue */
    CU_ASSERT(g.nodes[c1].op == QP_OP_QCONV && g.nodes[c1].attr.conv.act.act == QP_ACT_RELU);
    CU_ASSERT(g.nodes[c2].attr.conv.act.act == QP_ACT_SIGMOID && g.nodes[c2].in[3] == -1);
    CU_ASSERT(reads(&g, g.tensors[g.nodes[c1].in[0]].producer, 0, "x"));
    CU_ASSERT(reads(&g, c1, 0, "x@i8") && reads(&g, c2, 0, "r1@i8"));
    CU_ASSERT(qp_graph_find_tensor(&g, "c2@i8") < 0); /* the pre-activation is never rounded */
    const struct qp_tensor *sf = &g.tensors[g.nodes[c2].out[0]];
    CU_ASSERT(strcmp(sf->name, "s") == 0 && sf->dtype == QP_DTYPE_F32 && sf->scale == 0.0f);
    CU_ASSERT(g.nodes[mp].op == QP_OP_MAX_POOL && reads(&g, mp, 0, "s"));
    const char *twins[2] = {"x", "r1"}; /* scale amax / 127, zero point 0 */
    for (int i = 0; i < 2; i++) {
        char name[16];
        snprintf(name, sizeof name, "%s@i8", twins[i]);
        CU_ASSERT_EQUAL(tscale(&g, name), scale(twins[i]));
        CU_ASSERT_EQUAL(g.tensors[qp_graph_find_tensor(&g, name)].zero_point, 0);
    }
    /* the output: same name, f32, same shape, from the float pool */
    CU_ASSERT_EQUAL_FATAL(g.n_outputs, 1);
    const struct qp_tensor *y = &g.tensors[g.outputs[0]];
    CU_ASSERT(strcmp(y->name, "y") == 0 && y->dtype == QP_DTYPE_F32 && y->rank == 4 &&
              memcmp(y->dims, XD, sizeof XD) == 0);
    CU_ASSERT(y->producer == mp);
    CU_ASSERT(st.layers[QP_PREC_INT8] == 2 && st.layers[QP_PREC_FP16] == 0 &&
              st.layers[QP_PREC_FP32] == 0);
    CU_ASSERT(st.lut == 0 && st.add == 0 && st.moved == 0 && st.quantize == 1 &&
              st.dequantize == 0 && st.requant == 0 && st.equalized == 0 && st.float_out == 1);
    /* weights and bias to the formulas; channel 0's ties go to even */
    check_weights(&g, c1, w1, b1, NULL, scale("x"));
    check_weights(&g, c2, w2, NULL, NULL, scale("r1"));
    const int8_t *wq  = g.tensors[g.nodes[c1].in[1]].data;
    int           odd = 0;
    CU_ASSERT_EQUAL(((const float *)g.tensors[g.nodes[c1].in[2]].data)[0], 1.0f / 128.0f);
    for (int k = 1; k < C * 9; k++) {
        int m = k % 16 - 8; /* w / s = m + 1/2: m when m is even, else m + 1 */
        odd += wq[k] != ((m & 1) ? m + 1 : m);
    }
    CU_ASSERT_EQUAL(odd, 0);
    qp_graph_fini(&g);
}

static void test_precisions(void)
{
    model_a();
    struct qp_graph       g;
    struct qp_quant_stats st;
    qo.layer = "conv2", qo.prec = QP_PREC_FP32;
    front_quant(&g, &st);
    int32_t c2 = node_named(&g, "conv2");
    CU_ASSERT_FATAL(c2 >= 0);
    CU_ASSERT(g.nodes[c2].op == QP_OP_CONV && reads(&g, c2, 0, "r1") && reads(&g, c2, 1, "w2"));
    /* conv1's output only feeds a float layer: conv1 writes r1 as f32 */
    CU_ASSERT_EQUAL(g.nodes[g.tensors[g.nodes[c2].in[0]].producer].op, QP_OP_QCONV);
    CU_ASSERT(g.tensors[g.nodes[c2].in[0]].dtype == QP_DTYPE_F32 && st.float_out == 1);
    CU_ASSERT_EQUAL(count_op(&g, QP_OP_SIGMOID), 1); /* its input is float */
    CU_ASSERT(st.layers[QP_PREC_INT8] == 1 && st.layers[QP_PREC_FP32] == 1 && st.lut == 0);
    qp_graph_fini(&g);

    qo.prec = QP_PREC_FP16;
    front_quant(&g, &st);
    c2 = node_named(&g, "conv2");
    CU_ASSERT_FATAL(c2 >= 0);
    CU_ASSERT(g.nodes[c2].op == QP_OP_CONV && st.layers[QP_PREC_INT8] == 1 &&
              st.layers[QP_PREC_FP16] == 1);
    /* the weight is an f16 constant read through a Cast to f32 */
    const struct qp_tensor *cast_w = &g.tensors[g.nodes[c2].in[1]];
    CU_ASSERT_FATAL(cast_w->producer >= 0 && g.nodes[cast_w->producer].op == QP_OP_CAST &&
                    g.nodes[cast_w->producer].attr.cast_to == QP_DTYPE_F32);
    const struct qp_tensor *w = &g.tensors[g.nodes[cast_w->producer].in[0]];
    CU_ASSERT_EQUAL_FATAL(w->dtype, QP_DTYPE_F16);
    CU_ASSERT_EQUAL_FATAL(qp_tensor_numel(w), C * C * 9);
    const uint16_t *wv  = w->data;
    int             bad = 0, changed = 0;
    for (int k = 0; k < C * C * 9; k++) {
        bad += wv[k] != qp_f32_to_f16(w2[k]);
        changed += qp_f16_to_f32(wv[k]) != w2[k];
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(changed > C * C * 9 / 2); /* random floats rarely fit 11 bits */
    qp_graph_fini(&g);
}

static void test_numerics(void)
{
    model_a();
    struct qp_graph g;
    front_quant(&g, NULL);
    struct qp_engine *f = open_run(NULL, false), *q = open_run(&g, false);
    const float      *yf = qp_engine_output(f, 0), *yq = qp_engine_output(q, 0);
    /* y = maxpool(sigmoid(c2)): the table rounds once (1/2 step of y) and
     * passes c2's error at slope <= 1/4; c2's error is its own 1/2 step plus
     * the roundings of x, r1 and the weights summed over 72 taps twice, a few
     * c2 steps at worst. So: within 1/2 + (a few c2 steps)/4 of y, 2 y steps. */
    double sy = scale("s"), worst = 0, mean = 0;
    for (int i = 0; i < N; i++) {
        worst = fmax(worst, fabs((double)yq[i] - yf[i]));
        mean += fabs((double)yq[i] - yf[i]) / N;
    }
    printf("\n  max |int8 - f32| %.2f, mean %.3f steps of y (c2 step %.3g, y step %.3g), "
           "SQNR %.1f dB",
           worst / sy, mean / sy, (double)scale("c2"), sy, sqnr(yf, yq, N));
    CU_ASSERT(worst <= 2.0 * sy && mean <= 0.5 * sy);
    qp_engine_free(f);
    qp_engine_free(q);
}

/* qp_quant_grid: symmetric unless one-sided enough; the real 0 exact;
 * -128 never reached by a value inside the range. */
static void test_grid(void)
{
    static const struct {
        float lo, hi;
        bool  asym;
    } cases[] = {
        {-1.0f, 1.0f, false}, {-4.0f, 5.0f, false}, /* 9/254 * 1.2 > 5/127 */
        {-3.0f, 5.0f, true},  {0.0f, 254.0f, true}, {-0.2785f, 8.0f, true},
        {-6.0f, 0.0f, true},  {-1.0f, 0.5f, true},  {0.0f, 1e-3f, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        float   lo = cases[i].lo, hi = cases[i].hi, s;
        int32_t zp;
        qp_quant_grid(lo, hi, &s, &zp);
        bool asym = zp != 0 || s != fmaxf(-lo, hi) / 127.0f;
        CU_ASSERT_EQUAL(asym, cases[i].asym);
        CU_ASSERT(zp >= -127 && zp <= 127);
        CU_ASSERT_EQUAL(qp_q_dequantize(qp_q_quantize(0.0f, s, zp), s, zp), 0.0f);
        int8_t ql = qp_q_quantize(lo, s, zp), qh = qp_q_quantize(hi, s, zp);
        CU_ASSERT(ql >= -127 && qh == 127);
        /* the ends are within half a step of the grid's ends */
        CU_ASSERT(fabsf(qp_q_dequantize(ql, s, zp) - lo) <= 0.5f * s * 1.0001f || ql == -127);
        CU_ASSERT(fabsf(qp_q_dequantize(qh, s, zp) - hi) <= 0.5f * s * 1.0001f);
        if (asym)
            CU_ASSERT(fabsf(s - (hi - lo) / 254.0f) <= 1e-6f * s && ql == -127);
    }
    float   s;
    int32_t zp;
    qp_quant_grid(0.0f, 254.0f, &s, &zp); /* an image: every pixel value exact */
    CU_ASSERT(s == 1.0f && zp == -127);
}

/* SQNR of the first n values of INT8 twin "t@i8" (an all_tensors engine,
 * grid sc, zp; n = HW: channel 0), dequantized and times div, against the
 * float t. */
static double twin_db(struct qp_engine *e, const char *t, float sc, int32_t zp, float div, int n)
{
    static int8_t q[N];
    static float  v[N];
    char          name[32];
    snprintf(name, sizeof name, "%s@i8", t);
    read_named(e, name, q, N);
    for (int i = 0; i < n; i++)
        v[i] = qp_q_dequantize(q[i], sc, zp) * div;
    return sqnr(find_cal(t)->v, v, n);
}

/* With calibrated ranges, a one-sided tensor (ReLU's output) gets an
 * asymmetric grid: half the step (r1's error is mostly x's and the
 * weights' carried through conv1, so its SQNR rises less than the 6 dB of
 * its own rounding); a two-sided one stays symmetric; the network's output
 * stays within 2 steps. */
static void test_asymmetric(void)
{
    model_a();
    struct qp_graph g0, g;
    front_quant(&g0, NULL);
    qo.range = true;
    front_quant(&g, NULL);
    const struct qp_tensor *r1 = &g.tensors[qp_graph_find_tensor(&g, "r1@i8")];
    const struct qp_tensor *x  = &g.tensors[qp_graph_find_tensor(&g, "x@i8")];
    float                   s1 = r1->scale;
    int32_t                 z1 = r1->zero_point;
    CU_ASSERT(find_cal("r1")->min == 0.0f); /* a ReLU output */
    CU_ASSERT(z1 == -127 && s1 == find_cal("r1")->max / 254.0f && s1 == 0.5f * scale("r1"));
    CU_ASSERT(x->zero_point == 0 && x->scale == scale("x")); /* x in [-1, 1] */
    struct qp_engine *f = open_run(NULL, false), *q0 = open_run(&g0, true), *q = open_run(&g, true);
    double db0 = twin_db(q0, "r1", scale("r1"), 0, 1, N), db = twin_db(q, "r1", s1, z1, 1, N);
    /* conv2 folds r1's zero point into its bias */
    const float *yf = qp_engine_output(f, 0), *yq = qp_engine_output(q, 0);
    double       worst = 0, sy = scale("s");
    for (int i = 0; i < N; i++)
        worst = fmax(worst, fabs((double)yq[i] - yf[i]));
    printf("\n  r1: SQNR %.1f dB symmetric, %.1f dB asymmetric; output within %.2f steps", db0, db,
           worst / sy);
    CU_ASSERT(db > db0 && worst <= 2.0 * sy);
    qp_engine_free(f);
    qp_engine_free(q0);
    qp_engine_free(q);
}

static void test_bias_delta(void)
{
    static float    d1[C], d2[C];
    struct qp_graph g0, g;
    model_a();
    for (int c = 0; c < C; c++)
        d1[c] = 0.05f * (float)c - 0.2f, d2[c] = 0.3f - 0.07f * (float)c;
    front_quant(&g0, NULL);
    qo.delta_layer[0] = "conv1", qo.delta[0] = d1;
    qo.delta_layer[1] = "conv2", qo.delta[1] = d2;
    front_quant(&g, NULL);
    int32_t c1 = node_named(&g, "conv1"), c2 = node_named(&g, "conv2");
    CU_ASSERT_FATAL(c1 >= 0 && c2 >= 0 && g.nodes[c2].in[3] >= 0); /* a bias made for conv2 */
    check_weights(&g, c1, w1, b1, d1, scale("x"));
    check_weights(&g, c2, w2, NULL, d2, scale("r1"));
    /* shifted by round(delta / (x.scale * w_scale)), give or take the one rounding */
    const int32_t *b0  = g0.tensors[g0.nodes[node_named(&g0, "conv1")].in[3]].data;
    const int32_t *bd  = g.tensors[g.nodes[c1].in[3]].data;
    const float   *ws  = g.tensors[g.nodes[c1].in[2]].data;
    int            far = 0, moved = 0;
    for (int c = 0; c < C; c++) {
        far +=
            fabs((double)(bd[c] - b0[c]) - nearbyint(d1[c] / ((double)scale("x") * ws[c]))) > 1.0;
        moved += bd[c] != b0[c];
    }
    CU_ASSERT(far == 0 && moved >= C - 1);
    qp_graph_fini(&g0);
    qp_graph_fini(&g);
}

/* ---- model E: Conv_a -> SiLU -> depthwise Conv_b -> SiLU -> 1x1 Conv_c ---- */

static float wa[C * C], ba[C], wb[C * 9], bb[C], wc[C * C], bc[C];
static bool  e_pool; /* sa -> MaxPool 3x3/1 -> sp -> conv_b (ShuffleNet's stem) */

/* outputs: sa also a graph output, and z = Add(a, sa) */
static void model_e(bool outputs)
{
    static const int64_t w1d[4] = {C, C, 1, 1}, wdd[4] = {C, 1, 3, 3};
    rng_state = 88172645u;
    fill(xin, N, -1.0f, 1.0f);
    fill(wa, C * C, -4.4f, 4.4f);
    fill(ba, C, -0.5f, 0.5f);
    fill(wb, C * 9, -0.4f, 0.4f);
    fill(bb, C, -0.2f, 0.2f);
    fill(wc, C * C, -0.5f, 0.5f);
    fill(bc, C, -0.2f, 0.2f);
    /* channel 0 of a: 0.0095 x0, |a0| < 0.01 beside channels reaching ~10;
     * conv_b amplifies it back to the others' range (a zero-sum filter: a
     * systematic rounding bias would otherwise add up over its taps) */
    for (int i = 0; i < C; i++)
        wa[i] = 0.0f;
    wa[0] = 0.0095f, ba[0] = 0.0f, bb[0] = 0.0f;
    for (int k = 0; k < 9; k++)
        wb[k] = (k % 2 ? -1.0f : 1.0f) * (250.0f + 20.0f * (float)k);
    for (int o = 0; o < C; o++)
        wc[o * C] = o % 2 ? 1.0f : -1.0f;
    mb_begin(13);
    mb_input("x", 4, XD);
    mb_output("y");
    init_raw("wa", DT(FLOAT), 4, w1d, wa, sizeof wa);
    init_raw("ba", DT(FLOAT), 1, VD, ba, sizeof ba);
    init_raw("wb", DT(FLOAT), 4, wdd, wb, sizeof wb);
    init_raw("bb", DT(FLOAT), 1, VD, bb, sizeof bb);
    init_raw("wc", DT(FLOAT), 4, w1d, wc, sizeof wc);
    init_raw("bc", DT(FLOAT), 1, VD, bc, sizeof bc);
    mb_node("Conv", "conv_a", "x,wa,ba", "a");
    mb_node("Sigmoid", "sig_a", "a", "a_s");
    mb_node("Mul", "mul_a", "a,a_s", "sa");
    Onnx__NodeProto *n;
    if (e_pool) {
        n = mb_node("MaxPool", "pool", "sa", "sp");
        attr_ints(n, "kernel_shape", 2, (const int64_t[]){3, 3});
        attr_ints(n, "pads", 4, PADS);
    }
    n = mb_node("Conv", "conv_b", e_pool ? "sp,wb,bb" : "sa,wb,bb", "b");
    attr_ints(n, "pads", 4, PADS);
    attr_i(n, "group", C);
    mb_node("Sigmoid", "sig_b", "b", "b_s");
    mb_node("Mul", "mul_b", "b,b_s", "sb");
    mb_node("Conv", "conv_c", "sb,wc,bc", "y");
    if (outputs) {
        mb_output("sa");
        mb_node("Add", "add", "a,sa", "z");
        mb_output("z");
    }
    save_model(outputs  ? "test_quantize_e2.onnx"
               : e_pool ? "test_quantize_e3.onnx"
                        : "test_quantize_e.onnx");
    calibrate();
    memset(&qo, 0, sizeof qo);
}

static void test_equalization(void)
{
    struct qp_graph       g;
    struct qp_quant_stats st, st0;
    model_e(false);
    front_quant(&g, &st0); /* channel_range NULL */
    CU_ASSERT_EQUAL(st0.equalized, 0);
    struct qp_engine *f = open_run(NULL, false), *q0 = open_run(&g, true);
    double            db0 = sqnr(qp_engine_output(f, 0), qp_engine_output(q0, 0), N),
           tiny0          = twin_db(q0, "sa", scale("sa"), 0, 1, HW);

    qo.eq = true;
    front_quant(&g, &st);
    int32_t ca = node_named(&g, "conv_a"), cb = node_named(&g, "conv_b");
    CU_ASSERT_FATAL(ca >= 0 && cb >= 0);
    CU_ASSERT(st.equalized >= 2);
    /* sa = SiLU(a) is divided in conv_a's epilogue (after the activation:
     * a itself is never rounded), conv_b's weights take it back */
    CU_ASSERT(g.nodes[ca].op == QP_OP_QCONV && g.nodes[ca].n_in == 5 && g.nodes[ca].in[4] >= 0 &&
              g.nodes[ca].attr.conv.act.act == QP_ACT_SILU);
    CU_ASSERT(node_named(&g, "sig_a") < 0 && count_op(&g, QP_OP_QLUT) == 0);
    CU_ASSERT_EQUAL(g.nodes[cb].op, QP_OP_QCONV);
    CU_ASSERT_EQUAL(count_op(&g, QP_OP_MUL), 0); /* nobody reads a divided value as float */
    float dsa = ((const float *)g.tensors[g.nodes[ca].in[4]].data)[0];
    CU_ASSERT(dsa == 1.0f / QP_QUANT_EQ_MAX_GAIN); /* 0.005 / 10: gain capped */
    struct qp_engine *q  = open_run(&g, true);
    const float      *yf = qp_engine_output(f, 0), *yq = qp_engine_output(q, 0);
    double db = sqnr(yf, yq, N), worst = 1e9, tiny_sa = twin_db(q, "sa", scale("sa"), 0, dsa, HW);
    for (int c = 0; c < C; c++)
        worst = fmin(worst, sqnr(yf + c * HW, yq + c * HW, HW));
    printf("\n  output SQNR %.1f dB -> %.1f dB equalized (%d tensors; worst channel %.1f dB); "
           "channel 0 of sa %.1f dB -> %.1f dB",
           db0, db, (int)st.equalized, worst, tiny0, tiny_sa);
    /* without: sa0 rounds to 0 (|sa0| < step / 16): 0 dB, and all conv_b
     * makes of channel 0 is lost. With: sa0 ~ a0 / 2 spans +-3.9 steps, and
     * a signal spread over +-n steps, rounded, has an SQNR near
     * 20 log10(2n): 18 dB. */
    CU_ASSERT(tiny0 < 1.0 && tiny_sa >= 15.0);
    CU_ASSERT(db >= db0 + 10.0);
    CU_ASSERT(worst >= 12.0); /* about channel 0 of sa's: conv_c mixes it into every channel */

    /* with ranges: sa (SiLU: [-0.28, ~10]) takes an asymmetric grid, and
     * the divisors fit each channel into it; the tiny channel still fills
     * its share, and the wide channels' half step shows in the output (+7.5
     * dB when written) */
    qo.range = true;
    front_quant(&g, &st);
    ca = node_named(&g, "conv_a");
    CU_ASSERT_FATAL(ca >= 0 && g.nodes[ca].n_in == 5 && g.nodes[ca].in[4] >= 0);
    const struct qp_tensor *sa = &g.tensors[g.nodes[ca].out[0]];
    float             ssa = sa->scale, da = ((const float *)g.tensors[g.nodes[ca].in[4]].data)[0];
    int32_t           zsa = sa->zero_point;
    struct qp_engine *qr  = open_run(&g, true);
    double dbr = sqnr(yf, qp_engine_output(qr, 0), N), tiny_r = twin_db(qr, "sa", ssa, zsa, da, HW);
    printf("; with ranges: sa zero point %d, output %.1f dB, channel 0 of sa %.1f dB", (int)zsa,
           dbr, tiny_r);
    CU_ASSERT(st.equalized >= 2 && zsa != 0 && tiny_r >= 15.0 && dbr >= db + 3.0);
    qp_engine_free(qr);
    qp_engine_free(q0);
    qp_engine_free(q);
    qp_engine_free(f);
}

/* Model E quantized as qo says, before equalization: the float engine,
 * the INT8 one (all tensors), its output SQNR and that of channel 0 of t
 * (on sa's grid: t is sa or what data movement makes of it). */
static void unequalized(const char *t, struct qp_engine **f, struct qp_engine **q0, double *db0,
                        double *tiny0)
{
    struct qp_graph       g;
    struct qp_quant_stats st;
    front_quant(&g, &st);
    *f     = open_run(NULL, false);
    *q0    = open_run(&g, true);
    *db0   = sqnr(qp_engine_output(*f, 0), qp_engine_output(*q0, 0), N);
    *tiny0 = twin_db(*q0, t, scale("sa"), 0, 1, HW);
}

/* The equalized engine of g (taken) against unequalized()'s: channel 0 of
 * t (grid sc, zp, divisor div0) from nothing to >= 15 dB, the output 10 dB
 * better; frees the three engines. */
static void equalized(const char *what, struct qp_graph *g, const char *t, float sc, int32_t zp,
                      float div0, struct qp_engine *f, struct qp_engine *q0, double db0,
                      double tiny0)
{
    struct qp_engine *q  = open_run(g, true);
    double            db = sqnr(qp_engine_output(f, 0), qp_engine_output(q, 0), N),
           tiny          = twin_db(q, t, sc, zp, div0, HW);
    printf("\n  %s: output SQNR %.1f dB -> %.1f dB equalized; channel 0 of %s %.1f dB -> %.1f dB",
           what, db0, db, t, tiny0, tiny);
    CU_ASSERT(tiny0 < 1.0 && tiny >= 15.0 && db >= db0 + 10.0);
    qp_engine_free(q);
    qp_engine_free(q0);
    qp_engine_free(f);
}

/* A float layer's output read by INT8 layers is equalized as an INT8
 * layer's is: divided by its divisors before its Quantize (a Div node),
 * the readers' weights take them back, so conv_a running float (an FP16
 * layer of a mixed plan) does not cost conv_b channel 0 of sa. */
static void test_equalization_float_producer(void)
{
    struct qp_graph       g;
    struct qp_quant_stats st;
    struct qp_engine     *f, *q0;
    double                db0, tiny0;
    model_e(false);
    qo.layer = "conv_a", qo.prec = QP_PREC_FP32;
    unequalized("sa", &f, &q0, &db0, &tiny0);

    qo.eq = true;
    front_quant(&g, &st);
    int32_t ca = node_named(&g, "conv_a"), t = qp_graph_find_tensor(&g, "sa@i8");
    CU_ASSERT_FATAL(ca >= 0 && t >= 0 && g.tensors[t].producer >= 0);
    const struct qp_node *qn = &g.nodes[g.tensors[t].producer];
    int32_t               dn = g.tensors[qn->in[0]].producer;
    CU_ASSERT(g.nodes[ca].op == QP_OP_CONV && qn->op == QP_OP_QUANTIZE && dn >= 0 &&
              g.nodes[dn].op == QP_OP_DIV && reads(&g, dn, 0, "sa"));
    const float *div = qp_quant_divisors(&g, t);
    CU_ASSERT_PTR_NOT_NULL_FATAL(div);
    float d0 = div[0];
    CU_ASSERT(d0 == 1.0f / QP_QUANT_EQ_MAX_GAIN && st.equalized >= 2);
    equalized("conv_a float", &g, "sa", scale("sa"), 0, d0, f, q0, db0, tiny0);
}

/* Divisors pass per-channel data movement: sa -> MaxPool -> depthwise
 * conv_b. The pool runs INT8 on the divided values, its output carries
 * conv_a's divisors and conv_b's weights take them back, so the tiny
 * channel survives the pool as it does without one. */
static void test_equalization_pool(void)
{
    struct qp_graph       g;
    struct qp_quant_stats st;
    struct qp_engine     *f, *q0;
    double                db0, tiny0;
    e_pool = true;
    model_e(false);
    unequalized("sp", &f, &q0, &db0, &tiny0);

    qo.eq = true;
    front_quant(&g, &st);
    int32_t ca = node_named(&g, "conv_a"), pn = node_named(&g, "pool"),
            t = qp_graph_find_tensor(&g, "sp@i8");
    CU_ASSERT_FATAL(ca >= 0 && pn >= 0 && t >= 0);
    CU_ASSERT_FATAL(g.nodes[ca].op == QP_OP_QCONV && g.nodes[ca].n_in == 5 &&
                    g.nodes[ca].in[4] >= 0);
    CU_ASSERT(g.nodes[pn].op == QP_OP_MAX_POOL && reads(&g, pn, 0, "sa@i8") &&
              g.tensors[t].producer == pn);
    const float *div = g.tensors[g.nodes[ca].in[4]].data;
    CU_ASSERT(qp_quant_divisors(&g, t) == div && div[0] == 1.0f / QP_QUANT_EQ_MAX_GAIN);
    CU_ASSERT(count_op(&g, QP_OP_MUL) == 0 && st.equalized >= 2);
    float   ssp = g.tensors[t].scale, d0 = div[0]; /* equalized() takes g */
    int32_t zsp = g.tensors[t].zero_point;
    equalized("through MaxPool", &g, "sp", ssp, zsp, d0, f, q0, db0, tiny0);
    e_pool = false;
}

/* Worst-case error of channel c of a = conv_a(x) with INT8 x and weights:
 * the output's rounding (half a step, times its divisor), x's (half a step
 * through every weight) and the weights' (half a step each, |x| <= 1). */
static float err_a(int c, float div)
{
    float sum = 0.0f, wmax = 0.0f;
    for (int i = 0; i < C; i++)
        sum += fabsf(wa[c * C + i]), wmax = fmaxf(wmax, fabsf(wa[c * C + i]));
    return 0.5f * scale("a") * div + 0.5f * scale("x") * sum + 0.5f * wmax / 127.0f * C + 1e-6f;
}

/* Readers that cannot absorb divisors: a graph output and an Add stop
 * equalization; a float reader of an equalized value gets Dequantize + Mul.
 * Either way every value is within its worst-case rounding of float, per
 * channel (divided values would be 64x off in channel 0). */
static void test_equalization_readers(void)
{
    struct qp_graph       g;
    struct qp_quant_stats st;
    model_e(true);
    qo.eq = true;
    front_quant(&g, &st);
    int32_t la = node_named(&g, "sig_a"), ad = node_named(&g, "add");
    CU_ASSERT_FATAL(la >= 0 && ad >= 0);
    CU_ASSERT(g.nodes[la].op == QP_OP_QLUT && g.nodes[la].n_in == 1); /* neither a nor sa */
    CU_ASSERT(g.nodes[ad].op == QP_OP_QADD && reads(&g, ad, 0, "a@i8") &&
              reads(&g, ad, 1, "sa@i8"));
    CU_ASSERT(qp_graph_find_tensor(&g, "a@eq") < 0 && qp_graph_find_tensor(&g, "sa@eq") < 0);
    CU_ASSERT(st.equalized >= 1); /* b still is */
    struct qp_engine *f = open_run(NULL, false), *q = open_run(&g, false);
    const float      *sq = qp_engine_output(q, 1), *sf = qp_engine_output(f, 1);
    const float      *zq = qp_engine_output(q, 2), *zf = qp_engine_output(f, 2);
    int               bad = 0;
    for (int i = 0; i < N; i++) { /* SiLU's slope is within [-0.1, 1.1] */
        float ea = err_a(i / HW, 1.0f), es = 0.5f * scale("sa") + 1.1f * ea;
        bad += fabsf(sq[i] - sf[i]) > es;
        bad += fabsf(zq[i] - zf[i]) > 0.5f * scale("z") + ea + es;
    }
    CU_ASSERT_EQUAL(bad, 0);
    qp_engine_free(q);
    qp_engine_free(f);

    /* sa uncalibrated: its SiLU stays float, reading a through Dequantize
     * and a Mul by the divisors */
    model_e(false);
    qo.eq = true, qo.zero = "sa";
    front_quant(&g, &st);
    int32_t ca = node_named(&g, "conv_a");
    CU_ASSERT_FATAL(ca >= 0 && g.nodes[ca].n_in == 5 && g.nodes[ca].in[4] >= 0);
    CU_ASSERT(count_op(&g, QP_OP_MUL) == 1 && count_op(&g, QP_OP_SILU) == 2);
    static float div[C], sa[N];
    memcpy(div, g.tensors[g.nodes[ca].in[4]].data, sizeof div);
    CU_ASSERT(div[0] < 0.5f);
    q = open_run(&g, true);
    read_named(q, "sa", sa, sizeof sa);
    bad = 0;
    for (int i = 0; i < N; i++)
        bad += fabsf(sa[i] - find_cal("sa")->v[i]) > 1.1f * err_a(i / HW, div[i / HW]);
    CU_ASSERT_EQUAL(bad, 0);
    qp_engine_free(q);
}

/* ---- model C: p, q = two 1x1 Convs of x; Add(p, q); Concat(p, q) ---- */

static void model_c(float ratio)
{
    static const int64_t wd[4] = {C, C, 1, 1};
    static float         wp[C * C], bp[C], wq[C * C], bq[C];
    rng_state = 1234567u;
    fill(xin, N, -1.0f, 1.0f);
    fill(wp, C * C, -1.0f, 1.0f);
    fill(bp, C, -0.2f, 0.2f);
    for (int i = 0; i < C * C; i++)
        wq[i] = ratio * wp[(i * 5 + 3) % (C * C)]; /* q's range: ratio times p's */
    for (int c = 0; c < C; c++)
        bq[c] = ratio * bp[C - 1 - c];
    mb_begin(13);
    mb_input("x", 4, XD);
    mb_output("s");
    mb_output("k");
    init_raw("wp", DT(FLOAT), 4, wd, wp, sizeof wp);
    init_raw("bp", DT(FLOAT), 1, VD, bp, sizeof bp);
    init_raw("wq", DT(FLOAT), 4, wd, wq, sizeof wq);
    init_raw("bq", DT(FLOAT), 1, VD, bq, sizeof bq);
    mb_node("Conv", "cp", "x,wp,bp", "p");
    mb_node("Conv", "cq", "x,wq,bq", "q");
    mb_node("Add", "add", "p,q", "s");
    attr_i(mb_node("Concat", "cat", "p,q", "k"), "axis", 1);
    save_model("test_quantize_c.onnx");
    calibrate();
    memset(&qo, 0, sizeof qo);
}

static void test_add_concat(void)
{
    for (int far = 0; far < 2; far++) {
        struct qp_graph       g;
        struct qp_quant_stats st;
        model_c(far ? 0.2f : 0.6f);
        float sp = scale("p"), sq = scale("q");
        CU_ASSERT_FATAL(far ? sp > sq * QP_QUANT_CONCAT_RATIO : sp <= sq * QP_QUANT_CONCAT_RATIO);
        front_quant(&g, &st);
        int32_t ad = node_named(&g, "add"), ct = node_named(&g, "cat");
        CU_ASSERT_FATAL(ad >= 0 && ct >= 0 && g.nodes[ct].op == QP_OP_CONCAT);
        CU_ASSERT(g.nodes[ad].op == QP_OP_QADD && reads(&g, ad, 0, "p@i8") &&
                  reads(&g, ad, 1, "q@i8"));
        CU_ASSERT(st.add == 1 && st.quantize == 1 && st.layers[QP_PREC_INT8] == 2);
        if (!far) { /* INT8, q requantized to p's (the larger) scale */
            int32_t rq = g.tensors[g.nodes[ct].in[1]].producer;
            CU_ASSERT(reads(&g, ct, 0, "p@i8") && g.nodes[rq].op == QP_OP_QLUT &&
                      reads(&g, rq, 0, "q@i8"));
            CU_ASSERT(g.tensors[g.nodes[ct].in[1]].scale == sp && tscale(&g, "k@i8") == sp);
            CU_ASSERT(st.moved == 1 && st.requant == 1);
        } else { /* one scale for both would ruin q: float */
            CU_ASSERT(reads(&g, ct, 0, "p") && reads(&g, ct, 1, "q"));
            CU_ASSERT(st.moved == 0 && st.requant == 0);
        }
        struct qp_engine *f = open_run(NULL, false), *q = open_run(&g, false);
        /* p and q: their own 1/2 step, plus x's 1/2 step through <= 8 weights
         * of |w| <= 1 (uncorrelated: ~sqrt(8) / 2 steps of x), plus, for q in
         * k, the requantization's 1/2 step of p; s its 1/2 step more. Bounded
         * by 2 steps of the output's scale. */
        check_close(q, f, 0, N, 2.0 * scale("s"));
        check_close(q, f, 1, 2 * N, 2.0 * sp);
        qp_engine_free(q);
        qp_engine_free(f);
    }
}

/* ---- errors ---- */

static void test_uncalibrated(void)
{
    struct qp_graph       g;
    struct qp_quant_stats st;
    model_a();
    qo.zero = "r1"; /* the Relu's output: it runs float after conv1 (INT8, its
                     * own output c1 calibrated); conv2 has no INT8 input: float */
    front_quant(&g, &st);
    CU_ASSERT(count_op(&g, QP_OP_QCONV) == 1 && count_op(&g, QP_OP_CONV) == 1);
    CU_ASSERT(count_op(&g, QP_OP_SIGMOID) == 1 && count_op(&g, QP_OP_QLUT) == 0);
    CU_ASSERT(st.layers[QP_PREC_INT8] == 1 && st.layers[QP_PREC_FP32] == 1 && st.lut == 0);
    struct qp_engine *f = open_run(NULL, false), *q = open_run(&g, false);
    check_close(q, f, 0, N, 2.0 * scale("s"));
    qp_engine_free(q);

    qo.zero = "x"; /* conv1 and the Relu stay float; r1 is quantized for conv2 */
    front_quant(&g, &st);
    int32_t cv = node_named(&g, "conv2");
    CU_ASSERT_FATAL(cv >= 0 && g.nodes[cv].op == QP_OP_QCONV);
    CU_ASSERT(count_op(&g, QP_OP_CONV) == 1 && count_op(&g, QP_OP_RELU) == 1 &&
              count_op(&g, QP_OP_QCONV) == 1 && count_op(&g, QP_OP_QUANTIZE) == 1);
    CU_ASSERT(reads(&g, g.tensors[g.nodes[cv].in[0]].producer, 0, "r1"));
    CU_ASSERT(st.layers[QP_PREC_INT8] == 1 && st.quantize == 1);
    q = open_run(&g, false);
    check_close(q, f, 0, N, 2.0 * scale("s"));
    qp_engine_free(q);
    qp_engine_free(f);
}

/* x -> Slice rows 0, 2, .. and Slice rows 1, 3, .. -> Concat (channels)
 * -> Conv -> y, YOLOX's Focus in small; with cat_out the Concat's output
 * is a graph output too, which keeps the Quantize below the Concat. */
static float wf[C * 2 * C * 9];

static void model_focus(bool cat_out)
{
    static const int64_t wd[4] = {C, 2 * C, 3, 3}, one[1] = {1};
    static const int64_t s0 = 0, s1 = 1, end = H, ax = 2, step = 2;
    rng_state = 99991u;
    fill(xin, N, -0.5f, 2.0f);
    fill(wf, C * 2 * C * 9, -0.2f, 0.2f);
    mb_begin(13);
    mb_input("x", 4, XD);
    mb_output("y");
    if (cat_out)
        mb_output("cat");
    init_raw("wf", DT(FLOAT), 4, wd, wf, sizeof wf);
    init_raw("s0", DT(INT64), 1, one, &s0, sizeof s0);
    init_raw("s1", DT(INT64), 1, one, &s1, sizeof s1);
    init_raw("end", DT(INT64), 1, one, &end, sizeof end);
    init_raw("ax", DT(INT64), 1, one, &ax, sizeof ax);
    init_raw("step", DT(INT64), 1, one, &step, sizeof step);
    mb_node("Slice", "even", "x,s0,end,ax,step", "xe");
    mb_node("Slice", "odd", "x,s1,end,ax,step", "xo");
    attr_i(mb_node("Concat", "cat", "xe,xo", "cat"), "axis", 1);
    attr_ints(mb_node("Conv", "conv", "cat,wf", "y"), "pads", 4, PADS);
    save_model(cat_out ? "test_quantize_focus_out.onnx" : "test_quantize_focus.onnx");
    calibrate();
    memset(&qo, 0, sizeof qo);
}

/* The live Quantize's input. */
static const char *quantize_input(const struct qp_graph *g)
{
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && g->nodes[i].op == QP_OP_QUANTIZE)
            return g->tensors[g->nodes[i].in[0]].name;
    return "";
}

static void test_hoist(void)
{
    struct qp_graph       g, h;
    struct qp_quant_stats st;
    model_focus(false);
    front_quant(&g, &st);
    /* one Quantize, of the image; both Slices and the Concat on INT8 */
    CU_ASSERT_EQUAL(count_op(&g, QP_OP_QUANTIZE), 1);
    CU_ASSERT_STRING_EQUAL(quantize_input(&g), "x");
    for (int32_t i = 0; i < g.n_nodes; i++)
        if (!g.nodes[i].dead && (g.nodes[i].op == QP_OP_SLICE || g.nodes[i].op == QP_OP_CONCAT))
            CU_ASSERT_EQUAL(g.tensors[g.nodes[i].out[0]].dtype, QP_DTYPE_I8);
    CU_ASSERT_EQUAL(st.moved, 3);
    CU_ASSERT_EQUAL(count_op(&g, QP_OP_QCONV), 1);
    /* the same model, the Concat's output also read as float: not moved */
    model_focus(true);
    front_quant(&h, &st);
    CU_ASSERT_EQUAL(count_op(&h, QP_OP_QUANTIZE), 1);
    CU_ASSERT_STRING_EQUAL(quantize_input(&h), "cat");
    CU_ASSERT_EQUAL(st.moved, 0);
    /* and the conv's output is the same, bit for bit: quantizing commutes
     * with moving elements on one grid */
    struct qp_engine *a = open_run(&g, false), *b = open_run(&h, false);
    CU_ASSERT_EQUAL(memcmp(qp_engine_output(a, 0), qp_engine_output(b, 0), N / 2 * sizeof(float)),
                    0);
    qp_engine_free(a);
    qp_engine_free(b);
}

/* Fail allocation k = 1, 2, ... of the pass until it succeeds: every failing
 * run says QP_E_NOMEM and leaks nothing. */
static void fault_injection(const char *what)
{
    struct qp_quant_stats want, st;
    struct qp_graph       g;
    front_quant(&g, &want);
    qp_graph_fini(&g);
    int64_t live = qp_alloc_live(), fails = 0;
    for (int64_t k = 1; k < 10000; k++) {
        struct qp_err err = {{0}};
        front(&g);
        qp_alloc_fail_at(k);
        enum qp_status s     = quantize(&g, &st, &err);
        bool           fired = qp_alloc_failed();
        qp_alloc_fail_at(0);
        qp_graph_fini(&g);
        CU_ASSERT_EQUAL(qp_alloc_live(), live);
        if (s == QP_OK) {
            CU_ASSERT(!fired && memcmp(&st, &want, sizeof st) == 0);
            break;
        }
        fails++;
        if (s != QP_E_NOMEM)
            fprintf(stderr, "\n  fail_at %lld: %s: %s\n", (long long)k, qp_status_str(s), err.msg);
        CU_ASSERT(s == QP_E_NOMEM && fired);
    }
    printf("\n  %s: %lld failing allocations", what, (long long)fails);
    CU_ASSERT(fails > 10);
}

static void test_fault_injection(void)
{
    model_e(false);
    qo.eq = true;
    fault_injection("equalized");
    model_c(0.6f);
    fault_injection("add + concat");
    model_focus(false);
    fault_injection("Quantize moved above Slices and a Concat");
}

/* The pass adds tensors and nodes while holding on to others: with the graph
 * padded so that its arrays grow at each point in turn, nothing changes
 * (and ASan sees any pointer held across the growth). */
static void test_growth(void)
{
    struct qp_quant_stats want, st;
    struct qp_graph       g;
    model_e(true);
    qo.eq = true;
    front_quant(&g, &want);
    qp_graph_fini(&g);
    for (int pad = 0; pad < 48; pad++) {
        struct qp_err err;
        int64_t       one = 1;
        front(&g);
        for (int i = 0; i < pad; i++) {
            int32_t t, nd;
            void   *data;
            char    name[16];
            snprintf(name, sizeof name, "pad%d", i);
            CU_ASSERT_FATAL(qp_graph_add_tensor(&g, name, &t, NULL) == QP_OK);
            CU_ASSERT_FATAL(qp_graph_set_const(&g, t, QP_DTYPE_F32, 1, &one, &data, NULL) == QP_OK);
            memset(data, 0, sizeof(float));
            CU_ASSERT_FATAL(qp_graph_add_node(&g, QP_OP_IDENTITY, NULL, 1, 1, &nd, NULL) == QP_OK);
            g.nodes[nd].dead = true;
        }
        enum qp_status s = quantize(&g, &st, &err);
        if (s != QP_OK)
            fprintf(stderr, "\n  pad %d: %s\n", pad, err.msg);
        CU_ASSERT(s == QP_OK && memcmp(&st, &want, sizeof st) == 0);
        CU_ASSERT(qp_graph_find_tensor(&g, "wa@scale") >= 0 && /* names read right */
                  qp_graph_find_tensor(&g, "wb@scale") >= 0 &&
                  qp_graph_find_tensor(&g, "wc@scale") >= 0);
        qp_graph_fini(&g);
    }
}

static CU_TestInfo tests[] = {
    {"structure: QConv+Relu, QConv, QLut, boundaries, weights", test_structure},
    {"FP32 and FP16 layers", test_precisions},
    {"INT8 output within 2 steps of float", test_numerics},
    {"grids: symmetric or asymmetric, zero exact", test_grid},
    {"asymmetric grids for one-sided tensors", test_asymmetric},
    {"bias deltas shift the i32 bias", test_bias_delta},
    {"equalization keeps a tiny channel", test_equalization},
    {"equalization and readers that cannot absorb it", test_equalization_readers},
    {"equalization of a float layer's output", test_equalization_float_producer},
    {"equalization through MaxPool", test_equalization_pool},
    {"QAdd; Concat INT8 or float by scale ratio", test_add_concat},
    {"Quantize moved above Slice and Concat: same bytes", test_hoist},
    {"uncalibrated tensors stay float", test_uncalibrated},
    {"every allocation failure is QP_E_NOMEM without leaks", test_fault_injection},
    {"arrays growing at any point of the pass", test_growth},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"quant/quantize", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
