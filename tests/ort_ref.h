// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * ort_ref.h - what the e2e suites that compare with ONNX Runtime share: the
 * test venv's python (QP_VENV) and whether it has onnxruntime, directories
 * and file names for the tensors they exchange as .npy, a real frame
 * written as RGB8 .npy, and shape checks.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/npy.h"
#include "qpercept/detect.h"
#include "qpercept/engine.h"

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* The venv's python when it exists, else python3 from PATH. */
static const char *python(void)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/bin/python", env_or("QP_VENV", ".venv"));
    return access(buf, X_OK) == 0 ? buf : "python3";
}

/* Whether the venv's python imports onnxruntime and numpy; reason otherwise. */
static bool have_ort(char *reason, size_t n)
{
    const char *venv = getenv("QP_VENV");
    char        py[1024], cmd[2200];
    if (!venv || !*venv) {
        snprintf(reason, n, "QP_VENV is not set (run scripts/setup.sh)");
        return false;
    }
    snprintf(py, sizeof py, "%s/bin/python", venv);
    if (access(py, X_OK) != 0) {
        snprintf(reason, n, "%s missing (run scripts/setup.sh)", py);
        return false;
    }
    snprintf(cmd, sizeof cmd, "'%s' -c 'import onnxruntime, numpy' >/dev/null 2>&1", py);
    if (system(cmd) != 0) {
        snprintf(reason, n, "%s cannot import onnxruntime and numpy (run scripts/setup.sh)", py);
        return false;
    }
    return true;
}

/* mkdir -p */
static bool make_dirs(const char *path)
{
    char buf[2048];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return false; /* longer than any path the tests make */
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p     = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return false;
            *p = c;
            if (!c)
                return true;
        }
    }
}

static void sanitise(const char *name, char *out, size_t n)
{
    size_t k = 0;
    for (; name[k] && k + 1 < n; k++) {
        char c  = name[k];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        out[k] = (char)(ok ? c : '_');
    }
    out[k] = '\0';
}

/* Decode the frame with our decoder and store it as uint8 [H, W, 3] RGB. */
static bool write_frame_npy(const char *frame, const char *npy)
{
    struct qp_image img;
    struct qp_err   err = {{0}};
    if (qp_image_load(frame, &img, &err) != QP_OK) {
        fprintf(stderr, "\n  %s\n", err.msg);
        return false;
    }
    bool     ok   = img.format == QP_PIXEL_RGB8;
    if (!ok)
        fprintf(stderr, "\n  %s: qp_image_load gave format %d, not RGB8\n", frame, (int)img.format);
    size_t   row  = (size_t)img.width * 3;
    uint8_t *data = ok ? malloc(row * (size_t)img.height) : NULL;
    if (data) {
        for (int32_t y = 0; y < img.height; y++)
            memcpy(data + (size_t)y * row, img.data + (size_t)y * (size_t)img.stride, row);
        const int64_t dims[3] = {img.height, img.width, 3};
        ok = qp_npy_write(npy, QP_DTYPE_U8, 3, dims, data, &err) == QP_OK;
        if (!ok)
            fprintf(stderr, "\n  %s\n", err.msg);
    }
    free(data);
    qp_image_free(&img);
    return ok && data;
}

static bool same_shape(const struct qp_tensor_info *info, const struct qp_npy *x)
{
    if (info->rank != x->rank || info->dtype != x->dtype)
        return false;
    for (int32_t i = 0; i < x->rank; i++)
        if (info->dims[i] != x->dims[i])
            return false;
    return true;
}

/* Read DIR/<sanitised tensor name>.npy into x; prints why not. */
static bool read_named_npy(const char *dir, const char *tensor, struct qp_npy *x)
{
    struct qp_err err = {{0}};
    char          name[256], path[2600];
    sanitise(tensor, name, sizeof name);
    if (snprintf(path, sizeof path, "%s/%s.npy", dir, name) >= (int)sizeof path) {
        fprintf(stderr, "\n  path too long: %s/%s.npy\n", dir, name);
        return false;
    }
    if (qp_npy_read(path, x, &err) == QP_OK)
        return true;
    fprintf(stderr, "\n  %s\n", err.msg);
    return false;
}

/* Set every input of e from DIR/inputs/<sanitised name>.npy (as written by
 * tests/tools/ort_run.py), which must have the input's dtype and shape. */
static bool feed_inputs(struct qp_engine *e, const char *dir)
{
    char in_dir[2400];
    snprintf(in_dir, sizeof in_dir, "%s/inputs", dir);
    for (int32_t i = 0; i < qp_engine_n_inputs(e); i++) {
        struct qp_tensor_info info;
        struct qp_npy         x;
        struct qp_err         err = {{0}};
        qp_engine_input_info(e, i, &info);
        if (!read_named_npy(in_dir, info.name, &x))
            return false;
        bool ok = same_shape(&info, &x) &&
                  qp_engine_set_input(e, i, x.data, x.nbytes, &err) == QP_OK;
        if (!ok)
            fprintf(stderr, "\n  input '%s': shape/dtype differs from ORT's or set failed: %s\n",
                    info.name, err.msg);
        qp_npy_fini(&x);
        if (!ok)
            return false;
    }
    return true;
}
