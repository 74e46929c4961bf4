// SPDX-License-Identifier: Apache-2.0
/*
 * prep_inputs.c - write qpercept's own pre-processed input tensors of a list
 * of images as .npy files: the inputs bench/quant_vs_ort.py feeds to ONNX
 * Runtime, so both engines see the same bytes.
 *
 *   prep_inputs MODEL MANIFEST LIST OUTDIR
 *
 * MODEL's spec comes from MANIFEST (qp_model_spec_find: sidecar, sha256,
 * name). LIST holds one image path a line (absolute, or relative to the
 * current directory). Image i (0-based) is decoded with qp_image_load and
 * pre-processed with qp_preprocess_run, exactly as qp_detector_run does, into
 * OUTDIR/NNNNNN.npy (float32 [1, 3, H, W], NNNNNN = i with six digits), and
 * one line "NNNNNN WIDTH HEIGHT SCALE_X SCALE_Y" goes to stdout: the source
 * size and model pixels per source pixel (qp_transform; offsets are 0), so
 * the caller maps boxes back as the detector does. Exit 0, or 1 with one
 * line on stderr naming what failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/npy.h"
#include "image/preprocess.h"
#include "qpercept/detect.h"

/* Pre-process one image into x and write it; prints its line. */
static enum qp_status one(struct qp_preprocess *pre, const char *image, int32_t i,
                          const char *outdir, float *x, int64_t dims[4], struct qp_err *err)
{
    struct qp_image     img;
    struct qp_transform xf;
    char                path[4096];
    enum qp_status      st = qp_image_load(image, &img, err);
    if (st != QP_OK)
        return st;
    st = qp_preprocess_run(pre, &img, x, &xf, err);
    qp_image_free(&img);
    snprintf(path, sizeof path, "%s/%06d.npy", outdir, (int)i);
    if (st == QP_OK)
        st = qp_npy_write(path, QP_DTYPE_F32, 4, dims, x, err);
    if (st == QP_OK)
        printf("%06d %d %d %.9g %.9g\n", (int)i, (int)xf.src_w, (int)xf.src_h, (double)xf.scale_x,
               (double)xf.scale_y);
    return st;
}

static enum qp_status run(const char *model, const char *manifest, const char *list,
                          const char *outdir, struct qp_err *err)
{
    struct qp_model_spec spec;
    struct qp_preprocess pre = {0};
    float               *x   = NULL;
    FILE                *f   = NULL;
    qp_model_spec_init(&spec);
    enum qp_status st = qp_model_spec_find(model, manifest, &spec, err);
    if (st == QP_OK)
        st = qp_preprocess_init(&pre, &spec, err);
    int64_t dims[4] = {1, 3, spec.input_h, spec.input_w};
    if (st == QP_OK && !(x = qp_alloc((size_t)(3 * dims[2] * dims[3]) * sizeof *x)))
        st = qp_fail(err, QP_E_NOMEM, "input tensor of %s", model);
    if (st == QP_OK && !(f = fopen(list, "r")))
        st = qp_fail(err, QP_E_IO, "cannot open the list %s", list);
    char line[4096];
    for (int32_t i = 0; st == QP_OK && fgets(line, sizeof line, f);) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        st = one(&pre, line, i++, outdir, x, dims, err);
    }
    if (f)
        (void)fclose(f);
    qp_free(x);
    qp_preprocess_fini(&pre);
    qp_model_spec_fini(&spec);
    return st;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: prep_inputs MODEL MANIFEST LIST OUTDIR\n");
        return 2;
    }
    struct qp_err err = {{0}};
    if (run(argv[1], argv[2], argv[3], argv[4], &err) != QP_OK) {
        fprintf(stderr, "prep_inputs: %s\n", err.msg);
        return 1;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
