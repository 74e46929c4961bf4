// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * qdq.h - the one convention the ONNX importer and qp_pass_fold_qdq (qdq.c)
 * share about QDQ weights.
 *
 * A QDQ model stores a convolution weight as DequantizeLinear(w int8,
 * scale [M] or scalar, zero point 0, axis 0). The IR has no per-axis
 * Dequantize, and constant folding would turn a per-tensor one into plain
 * f32 anyway, so the importer evaluates every DequantizeLinear of a constant
 * itself (f32 result, exactly (q - zp) * scale as ONNX computes it) and,
 * when the int8 data had zero point 0, keeps its scales as an f32 constant
 * named qp_qdq_scale_name(<the f32 tensor's name>). From the f32 weight and
 * those scales the pass recovers the int8 values exactly: with
 * w = fl(q * s) and |q| <= 128, fl(w / s) lies within 2^-16 of q, so
 * rint() gives q back (the pass checks fl(q * s) == w for every element).
 *
 * Nothing else reads these tensors; a graph without them simply keeps its
 * float convolutions.
 */
#include <stddef.h>

/* Appended to a tensor name to name its QDQ weight scales. */
#define QP_QDQ_SCALE_SUFFIX "|qdq_scale"

/* "<tensor>|qdq_scale" into buf; NULL when it does not fit in n bytes. */
const char *qp_qdq_scale_name(const char *tensor, char *buf, size_t n);
