// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * gptq.h - INT8 weight rounding that compensates its own error against the
 * layer's inputs (GPTQ: Frantar et al., "GPTQ: Accurate Post-Training
 * Quantization for Generative Pre-trained Transformers", ICLR 2023, after
 * the Optimal Brain Quantizer of Frantar and Alistarh, 2022).
 *
 * Rounding each weight to the nearest step minimises the weight error,
 * not the output error: what matters is sum over patches of
 * ((W_q - W) x)^2 = (W_q - W) H (W_q - W)^T with H = sum x x^T, the second
 * moment of the layer's input patches (im2col columns). GPTQ quantizes the
 * K taps of each output channel one at a time (largest diag(H) first) and
 * moves each one's rounding error onto the taps not yet quantized, in the
 * proportions H^-1 gives, so correlated inputs absorb it. Per output
 * channel scales stay those of round-to-nearest (max |w| / 127); weights
 * are clamped to [-127, 127]. On YOLOX-Nano, weights alone quantized
 * (float activations) keep agreement with FP32 at 0.98 instead of 0.92
 * (docs/quantization.md).
 *
 * The moment is accumulated from the float model's input of each Conv on the
 * calibration images (quant/calib.h), per group of a grouped Conv (a
 * depthwise one has C groups of kh * kw taps). Offline code: allocates.
 */
#include <stddef.h>
#include <stdint.h>

#include "qpercept/status.h"
#include "quant/conv_math.h" /* struct qp_conv_geom */

/* Taps per output channel of a Conv of geometry g (conv_math.h; one image,
 * n = 1; m unused): c / group * kh * kw. */
int64_t qp_gptq_taps(const struct qp_conv_geom *g);

/* Doubles of a moment ([groups][k][k]) and floats of the scratch that
 * qp_gptq_moment_add needs. */
int64_t qp_gptq_moment_len(const struct qp_conv_geom *g);
int64_t qp_gptq_scratch_len(const struct qp_conv_geom *g);

/* Add the patches of one image x, NCHW [c][h][w], to m: sum x x^T per group (the
 * upper triangle; zero padding counts as inputs of 0). */
void qp_gptq_moment_add(const struct qp_conv_geom *g, const float *x, double *m, float *scratch);

/* Round w [m][k] (m output channels in `groups` equal groups, k taps, the
 * layout of a Conv weight [m][c/groups][kh][kw] with taps = kh * kw) with
 * the per-channel scales given into q, against the moment of the input
 * (qp_gptq_moment_add's m, [groups][k][k], NULL: round to nearest). div
 * (NULL: none) divides the input channel of tap i of group g
 * (g * (k / taps) + i / taps), as channel equalization does: the layer then sees x / div, so H is
 * scaled by 1 / (div_i div_j). A group whose H cannot be factored even damped is rounded to nearest
 * and counted in *n_nearest (may be NULL). */
enum qp_status qp_gptq_round(const float *w, int64_t m, int64_t k, int32_t groups, int64_t taps,
                             const double *moment, const float *div, const float *scale, int8_t *q,
                             int32_t *n_nearest, struct qp_err *err);
