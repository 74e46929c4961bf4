// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * tiny_detector.h - a detector small enough to start, build and run in
 * milliseconds, for the fault suites that start qperceptd or build an
 * engine hundreds of times: x [1,3,32,32] -> Conv 8x8 stride 8 -> Reshape
 * -> Transpose -> y [1,16,6], a one-class YOLOX head on a 4x4 grid. Its
 * spec (tiny_spec) goes into a sidecar MODEL.onnx.ini beside it.
 */
#include "onnx_builder.h"

#define TINY_SIDE 32 /* the model's input, pixels */

static const char *const tiny_spec[][2] = {
    {"input", "32x32"},       {"color", "rgb"},  {"resize", "plain"}, {"mean", "0, 0, 0"},
    {"std", "255, 255, 255"}, {"head", "yolox"}, {"strides", "8"},    {"classes", "1"},
};

/* Write the model to model and its spec to sidecar (MODEL.onnx.ini). */
static bool tiny_detector_write(const char *model, const char *sidecar)
{
    /* x [1,3,32,32] -> Conv 8x8 stride 8 -> [1,6,4,4] -> [1,6,16] -> y [1,16,6] */
    static const int64_t in_dims[4] = {1, 3, TINY_SIDE, TINY_SIDE}, w_dims[4] = {6, 3, 8, 8},
                         b_dims[1] = {6};
    static const int64_t kernel[2] = {8, 8}, strides[2] = {8, 8}, perm[3] = {0, 2, 1};
    static const int64_t shape[3] = {1, 6, 16}, shape_dims[1] = {3};
    static float         w[6 * 3 * 8 * 8];
    float                b[6] = {0.5f, 0.5f, 0.3f, 0.3f, -1.0f, 0.2f};
    for (int i = 0; i < 6 * 3 * 8 * 8; i++)
        w[i] = (float)((i * 37) % 17 - 8) / 256.0f;
    mb_begin(13);
    mb_input("x", 4, in_dims);
    init_raw("w", DT(FLOAT), 4, w_dims, w, sizeof w);
    init_raw("b", DT(FLOAT), 1, b_dims, b, sizeof b);
    init_raw("shape", DT(INT64), 1, shape_dims, shape, sizeof shape);
    Onnx__NodeProto *c = mb_node("Conv", "conv", "x,w,b", "c");
    attr_ints(c, "kernel_shape", 2, kernel);
    attr_ints(c, "strides", 2, strides);
    mb_node("Reshape", "reshape", "c,shape", "r");
    attr_ints(mb_node("Transpose", "transpose", "r", "y"), "perm", 3, perm);
    mb_output("y");
    size_t   n;
    uint8_t *buf = mb_pack(&n);
    FILE    *f   = fopen(model, "wb");
    bool     ok  = f && fwrite(buf, 1, n, f) == n;
    ok           = (f && fclose(f) == 0) && ok;
    free(buf);
    if (!ok || !(f = fopen(sidecar, "w")))
        return false;
    for (size_t i = 0; i < sizeof tiny_spec / sizeof tiny_spec[0]; i++)
        fprintf(f, "%s = %s\n", tiny_spec[i][0], tiny_spec[i][1]);
    return fclose(f) == 0;
}
