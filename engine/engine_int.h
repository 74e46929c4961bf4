// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * engine_int.h - the engine pipeline in two halves, for the tools that work
 * between them (calibration and quantization, engine files):
 *
 *   front  ONNX import, constants fixed at open, inference with constant
 *          folding, QDQ folding (graph/qdq.h), and (unless all_tensors) no-op elimination, BatchNorm
 *          folding and SiLU fusion: a float graph whose every tensor still
 *          has a meaning a quantizer can observe and rewrite;
 *   back   (unless all_tensors) conv + activation fusion, the NHWC layout,
 *          the backend, the memory plan.
 *
 * qp_engine_open is front + back. A calibration engine is front + back with
 * all_tensors, so every tensor of the graph the quantizer rewrites can be
 * read; a quantized graph (or one loaded from an engine file) enters at back.
 */
#include "graph/graph.h"
#include "graph/passes.h"
#include "image/pre_math.h"
#include "qpercept/engine.h"

enum qp_status qp_engine_front(const char *path, const struct qp_engine_options *opt,
                               struct qp_graph *g, struct qp_pass_stats *st, struct qp_err *err);

/* Open an engine on g (moved into the engine: g is left empty and
 * re-initialised, on failure too; the caller still calls qp_graph_fini). */
enum qp_status qp_engine_open_graph(struct qp_graph *g, const struct qp_engine_options *opt,
                                    struct qp_engine **out, struct qp_err *err);

/* The engine's graph (after the back half: NHWC, planned), read-only. */
const struct qp_graph *qp_engine_graph(const struct qp_engine *e);

/* The share the engine was opened with (its backend holds a reference
 * for the engine's life), or NULL. */
struct qp_engine_share *qp_engine_share_of(const struct qp_engine *e);

/* Camera frames pre-processed by the backend (backend.h: reserve_frames,
 * set_image), for the detector. qp_engine_reserve_frames: staging of bytes
 * for the frames of one batch; QP_E_UNSUPPORTED when the backend has no
 * such path (the CPU fills its input in place). qp_engine_set_image: image
 * k of input i, which must be f32 [batch, 3, f->dst_h, f->dst_w], k <
 * batch; a batch's images go in order from 0; QP_E_UNSUPPORTED when this
 * frame does not fit what the batch left of the staging.
 * qp_engine_zero_images: images [from, batch) of input i become zeros
 * (ahead of the next run, like set_image). */
enum qp_status qp_engine_reserve_frames(struct qp_engine *e, size_t bytes, struct qp_err *err);
enum qp_status qp_engine_set_image(struct qp_engine *e, int32_t i, int32_t k,
                                   const struct qp_pre_frame *f, const struct qp_pre_norm *nm,
                                   const uint8_t *img, struct qp_err *err);
enum qp_status qp_engine_zero_images(struct qp_engine *e, int32_t i, int32_t from,
                                     struct qp_err *err);

/* The engine's target and its backend's tuning text (backend.h tuning),
 * for an engine file built for this device: QP_E_UNSUPPORTED when the
 * backend keeps none (the CPU). *text is qp_alloc'ed. */
enum qp_status qp_engine_tuning(struct qp_engine *e, char target[32], char **text,
                                struct qp_err *err);
