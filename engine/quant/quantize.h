// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * quantize.h - the quantization pass: rewrite a float graph (the output of
 * the engine's front half, engine_int.h) into INT8 where calibration says
 * how, keeping every graph output's name, dtype and meaning.
 *
 * Per layer (Conv, by node name) the caller chooses a precision:
 *   INT8  weights per output channel symmetric (scale = max|w[c]| / 127,
 *         round half to even), bias i32 in units of x.scale * w_scale[c],
 *         activations per tensor with the grid of qp_quant_grid over the
 *         calibrated range (amax from the calibration observers clips it;
 *         symmetric, scale = amax / 127, unless the range is one-sided: then
 *         asymmetric with a zero point); a following exact
 *         activation (quant_math.h: ReLU, LeakyReLU, Clip, HardSigmoid,
 *         HardSwish, Sigmoid, SiLU) is fused into the epilogue, so the
 *         pre-activation is never rounded. A layer whose output no INT8 op
 *         would read (feeds_int8: a detection head's boxes and scores, through
 *         Split / Reshape / Sigmoid ... to the graph outputs) writes the real
 *         values as f32 instead: no rounding at the precision boundary;
 *   FP16  weights stored as binary16 (an f16 constant and a Cast, folded
 *         to f32 binary16 values when the graph is opened: the CPU computes
 *         in FP32 on those weights with FP32 activations; engine files keep
 *         the f16 bytes for the CUDA backend);
 *   FP32  untouched.
 * Around INT8 layers the pass keeps values INT8 as far as it can: other
 * activations on an INT8 value become QLut table ops (unless no reader of
 * their output would use it as INT8: then quantizing it would only add
 * rounding, and they stay float), Add of two INT8 values of one shape
 * becomes QAdd, and data movement (Concat, MaxPool, Resize, Slice, Split,
 * Reshape, Transpose ...) runs on INT8 when all its data inputs are INT8 (a
 * Concat only when the input scales are within a factor
 * QP_QUANT_CONCAT_RATIO of each other, requantizing the others to the
 * largest: one scale for a box regression and a class probability would
 * ruin the probability). Every other reader of an INT8 value reads the
 * float tensor of the original name, produced by a Dequantize node;
 * Quantize nodes are added where a float value enters an INT8 op. The INT8
 * twin of tensor "t" is named "t@i8", so reports and tests can find it.
 *
 * Channel equalization: a per-tensor scale is set by the widest channel, so
 * a channel whose values stay inside a step or two (a SiLU output living
 * in its small negative range: |x| < 0.28 beside channels reaching 80)
 * quantizes to a constant. When every reader of an INT8 tensor can absorb
 * it (INT8 Convs, activations that become tables, or per-channel data
 * movement - MaxPool, Resize - whose own readers can), its producer (QConv's
 * post, a QLut's per-channel tables) writes x_c / s[c] instead, and each
 * reader takes s back: depthwise weights and tables exactly (s[c] fits
 * channel c's range to the tensor's grid, so each channel fills it), other
 * convs' weights with the cross-layer-equalization balance (quantize.c,
 * equalizer). The grid of an equalized tensor is chosen with the divisors:
 * an asymmetric one halves the step of the wide channels of a SiLU output
 * but cannot amplify the narrow ones that live in [-0.28, 0]; equalizer()
 * takes the lower end (the calibrated one, or lower down to symmetric) with
 * the least relative step over all channels. A float reader, if one
 * remains, gets Dequantize then a multiply by s.
 */
#include "graph/graph.h"

#define QP_QUANT_CONCAT_RATIO 2.0f
#define QP_QUANT_EQ_MAX_GAIN 64.0f /* largest per-channel amplification */
#define QP_QUANT_EQ_MOVES 4        /* per-channel data movement in a row that divisors pass */

enum qp_precision { QP_PREC_FP32 = 0, QP_PREC_FP16 = 1, QP_PREC_INT8 = 2, QP_PREC_COUNT };

const char *qp_precision_name(enum qp_precision p); /* "fp32", "fp16", "int8" */

struct qp_quant_opts {
    /* Clipping threshold of the float tensor called name (> 0), or <= 0 when
     * it was not observed (then nothing that needs it is quantized). */
    float (*amax)(void *ctx, const char *name);
    /* Precision of the Conv node called name. */
    enum qp_precision (*precision)(void *ctx, const char *name);
    /* (optional, may be NULL) bias correction of the INT8 Conv called name:
     * m values added to its float bias before quantization (real units of its
     * output), or NULL for none. */
    const float *(*bias_delta)(void *ctx, const char *name, int64_t m);
    /* (optional, may be NULL) the smallest and largest value per channel
     * (dim 1, c channels; min <= 0 <= max) of the float tensor called name
     * over the calibration images, false when unknown: the input of channel
     * equalization (below). */
    bool (*channel_range)(void *ctx, const char *name, int64_t c, const float **min,
                          const float **max);
    /* (optional, may be NULL) the smallest and largest value of the float
     * tensor called name over the calibration images; false when unknown.
     * With it, a tensor whose clipped range [max(min, -amax), min(max, amax)]
     * is one-sided gets an asymmetric grid (qp_quant_grid); without it every
     * grid is symmetric. */
    bool (*range)(void *ctx, const char *name, float *min, float *max);
    /* (optional, may be NULL) rounding of the INT8 weights of the Conv
     * called name instead of round-to-nearest (quant/gptq.h): w [m][k] as
     * the layer will see them (times the divisors of an equalized input,
     * div: those divisors per input channel, else NULL), groups and taps as
     * qp_gptq_round's, scale per output channel fixed; *done = false leaves
     * round-to-nearest. */
    enum qp_status (*round)(void *ctx, const char *name, const float *w, int64_t m, int64_t k,
                            int32_t groups, int64_t taps, const float *div, const float *scale,
                            int8_t *q, bool *done, struct qp_err *err);
    void *ctx;
};

/* Asymmetric grids only where they are at least this much finer than the
 * symmetric one (a Concat or Add of a symmetric and an asymmetric tensor
 * costs a requantize, not worth a few percent). */
#define QP_QUANT_ASYM_GAIN 1.2f

/* The INT8 grid of real values in [lo, hi] (lo <= 0 <= hi, lo < hi) on
 * the 255 levels -127..127: symmetric (zero point 0, scale = max(-lo, hi) /
 * 127) unless the asymmetric grid (scale = (hi - lo) / 254, zero point =
 * round(-127 - lo / scale)) is QP_QUANT_ASYM_GAIN finer: a SiLU output in
 * [-0.28, 8], a ReLU output or an image in [0, 255] gains one bit. The zero
 * point represents the real 0 exactly (padding and ReLU's floor stay
 * exact), and -128 is left, as on a symmetric grid, to values clipped below
 * the range: the run-time saturation counters (-128 or 127) keep meaning
 * "outside the calibrated range", not "zero". */
void qp_quant_grid(float lo, float hi, float *scale, int32_t *zero_point);

struct qp_quant_stats {
    int32_t layers[QP_PREC_COUNT]; /* Conv layers per precision (an INT8 layer whose
                                    * tensors were not calibrated counts as FP32) */
    int32_t lut, add, moved;       /* QLut, QAdd, INT8 data-movement nodes made */
    int32_t quantize, dequantize;  /* boundary nodes left in the graph */
    int32_t requant;               /* Concat inputs requantized */
    int32_t equalized;             /* tensors equalized per channel */
    int32_t float_out;             /* INT8 layers writing a float output */
};

/* g must be linked and inferred, BatchNorm folded, activations not yet
 * fused into convs. Leaves g linked and inferred. */
enum qp_status qp_pass_quantize(struct qp_graph *g, const struct qp_quant_opts *o,
                                struct qp_quant_stats *st, struct qp_err *err);

/* Part of qp_pass_quantize (hoist.c): every Quantize whose input only data
 * movement made (Slice, Concat, Reshape, Transpose, ...) moved above it, so
 * the movement runs on INT8; the same bytes come out. *moved += the nodes
 * that now run INT8. Leaves dead nodes for the caller's link. */
enum qp_status qp_pass_hoist_quantize(struct qp_graph *g, int32_t *moved, struct qp_err *err);
