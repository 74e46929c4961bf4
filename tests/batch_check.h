// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * batch_check.h - for the e2e suites: a model or engine file opened at batch
 * n gives, for image k of the batch, bit for bit what it gives for that
 * image alone (qp_engine_options.batch). Inputs are pseudo-random values in
 * [0, 255): the comparison needs different images, not real ones. Also the
 * tensor-size and image-like-input helpers the CUDA cases share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qp_test.h"
#include "qpercept/engine.h"

static inline struct qp_engine *batch_check_open(const char *path, int32_t batch)
{
    struct qp_engine_options o = QP_ENGINE_OPTIONS_DEFAULT;
    struct qp_engine        *e = NULL;
    struct qp_err            err;
    o.backend   = QP_BACKEND_CPU;
    o.n_threads = 2;
    o.batch     = batch;
    if (qp_engine_open(path, &o, &e, &err) != QP_OK)
        fprintf(stderr, "\n  open %s at batch %d: %s", path, (int)batch, err.msg);
    return e;
}

/* Bytes of tensor t from dim `from` on (0: all of it; 1: one image's). */
static inline size_t info_bytes(const struct qp_tensor_info *t, int32_t from)
{
    size_t n = qp_dtype_size(t->dtype);
    for (int32_t d = from; d < t->rank; d++)
        n *= (size_t)t->dims[d];
    return n;
}

/* n image-like values in [0, 255) from a xorshift32 seeded with seed. */
static inline void image_like(float *x, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
        x[i] = (float)(seed >> 8) / 16777216.0f * 255.0f;
    }
}

/* Every output of path at batch n, image by image, against batch 1. */
static inline void batch_check(const char *path, int32_t n)
{
    struct qp_engine *eb = batch_check_open(path, n), *e1 = batch_check_open(path, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(eb);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e1);
    CU_ASSERT_EQUAL_FATAL(qp_engine_n_inputs(eb), 1);
    struct qp_tensor_info in;
    qp_engine_input_info(eb, 0, &in);
    CU_ASSERT_FATAL(in.dims[0] == n && in.dtype == QP_DTYPE_F32);
    size_t per = info_bytes(&in, 1) / sizeof(float);
    float *x   = malloc((size_t)n * per * sizeof *x);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    image_like(x, (size_t)n * per, 88172645u);
    CU_ASSERT_EQUAL_FATAL(qp_engine_set_input(eb, 0, x, (size_t)n * per * sizeof *x, NULL), QP_OK);
    CU_ASSERT_EQUAL_FATAL(qp_engine_run(eb, NULL), QP_OK);
    int bad = 0;
    for (int32_t k = 0; k < n; k++) {
        CU_ASSERT_EQUAL_FATAL(qp_engine_set_input(e1, 0, x + k * per, per * sizeof *x, NULL),
                              QP_OK);
        CU_ASSERT_EQUAL_FATAL(qp_engine_run(e1, NULL), QP_OK);
        for (int32_t o = 0; o < qp_engine_n_outputs(eb); o++) {
            struct qp_tensor_info y;
            qp_engine_output_info(eb, o, &y);
            size_t bytes = info_bytes(&y, 1);
            CU_ASSERT(y.dims[0] == n);
            bad += memcmp((const char *)qp_engine_output(eb, o) + (size_t)k * bytes,
                          qp_engine_output(e1, o), bytes) != 0;
        }
    }
    printf("\n  %s at batch %d: %d of %d outputs differ from batch 1", path, (int)n, bad,
           (int)(n * qp_engine_n_outputs(eb)));
    CU_ASSERT_EQUAL(bad, 0);
    free(x);
    qp_engine_free(eb);
    qp_engine_free(e1);
}
