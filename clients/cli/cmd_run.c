// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_run.c - `qpercept run`: detections for images, or raw tensors in and
 * out as .npy (the polygraphy / trtexec way of debugging a network).
 *
 * Image mode needs the model's pre- and post-processing: from the models
 * manifest (matched by sha256 or name), a sidecar MODEL.ini, --spec FILE, or
 * flags (--size, --color, ...) that override any of those key by key.
 * Tensor mode feeds NAME=FILE.npy inputs and prints (or saves) every output,
 * with --all-tensors every intermediate tensor too, under its ONNX name.
 * --const NAME=FILE.npy fixes an input at open (a shape tensor: Reshape
 * shape, Resize scales ...) so it folds into the network.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/npy.h"
#include "graph/graph.h"
#include "qpercept/detect.h"

#define MAX_ITEMS 256

struct run_opts {
    const char              *model;
    const char              *images[MAX_ITEMS];
    const char              *inputs[MAX_ITEMS];
    const char              *consts[MAX_ITEMS]; /* NAME=FILE.npy fixed at open */
    int                      n_images, n_inputs, n_consts;
    const char              *save_dir, *manifest, *spec_file;
    const char              *spec_keys[32], *spec_vals[32];
    int                      n_spec;
    bool                     json, saturation;
    struct qp_detect_params  det;
    struct qp_engine_options eng;
};

static int parse(int argc, char **argv, struct run_opts *o)
{
    struct qp_detect_params  d = QP_DETECT_PARAMS_DEFAULT;
    struct qp_engine_options e = QP_ENGINE_OPTIONS_DEFAULT;
    o->det = d;
    o->eng = e;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL, *key;
        double      f;
        long        k;
        if (a[0] != '-') {
            if (o->model) {
                fprintf(stderr, "qpercept run: unexpected argument '%s'\n", a);
                return 2;
            }
            o->model = a;
            continue;
        }
        bool takes = strcmp(a, "--json") != 0 && strcmp(a, "--agnostic") != 0 &&
                     strcmp(a, "--all-tensors") != 0 && strcmp(a, "--saturation") != 0;
        if (takes && !(v = qp_cli_value(argc, argv, &i)))
            return 2;
        if (!strcmp(a, "--json"))
            o->json = true;
        else if (!strcmp(a, "--agnostic"))
            o->det.class_agnostic = true;
        else if (!strcmp(a, "--all-tensors"))
            o->eng.all_tensors = true;
        else if (!strcmp(a, "--saturation"))
            o->saturation = true;
        else if (!strcmp(a, "--image") && o->n_images < MAX_ITEMS)
            o->images[o->n_images++] = v;
        else if (!strcmp(a, "--input") && o->n_inputs < MAX_ITEMS)
            o->inputs[o->n_inputs++] = v;
        /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): takes, so v is set */
        else if (!strcmp(a, "--const") && o->n_consts < MAX_ITEMS && strchr(v, '='))
            o->consts[o->n_consts++] = v;
        else if (!strcmp(a, "--save-outputs"))
            o->save_dir = v;
        else if (!strcmp(a, "--manifest"))
            o->manifest = v;
        else if (!strcmp(a, "--spec"))
            o->spec_file = v;
        else if (!strcmp(a, "--score") && qp_cli_parse_float(v, 0, 1, &f))
            o->det.score_min = (float)f;
        else if (!strcmp(a, "--iou") && qp_cli_parse_float(v, 0, 1, &f))
            o->det.iou = (float)f;
        else if (!strcmp(a, "--threads") && qp_cli_parse_int(v, 0, 1024, &k))
            o->eng.n_threads = (int)k;
        else if (!strcmp(a, "--backend") && qp_cli_parse_backend(v, &o->eng.backend))
            ;
        else if ((key = qp_cli_spec_key(a)) && o->n_spec < 32) {
            o->spec_keys[o->n_spec]   = key;
            o->spec_vals[o->n_spec++] = v;
        } else {
            fprintf(stderr, "qpercept run: bad option or value: %s %s\n", a, v ? v : "");
            return 2;
        }
    }
    if (!o->model || (!o->n_images && !o->n_inputs) || (o->n_images && o->n_inputs)) {
        fprintf(stderr, "qpercept run: give a MODEL and either --image or --input\n");
        return 2;
    }
    return 0;
}

static void print_dets(const struct run_opts *o, const struct qp_model_spec *s, const char *img,
                       const struct qp_detection *d, int32_t n, double ms, bool first)
{
    if (o->json) {
        printf("%s{\"image\":\"%s\",\"model\":\"%s\",\"ms\":%.3f,\"detections\":[", first ? "" : ",\n",
               img, s->name, ms);
        for (int32_t i = 0; i < n; i++)
            printf("%s{\"class_id\":%d,\"label\":\"%s\",\"score\":%.4f,\"box\":[%.1f,%.1f,%.1f,%.1f]}",
                   i ? "," : "", (int)d[i].class_id,
                   s->labels && d[i].class_id < s->n_classes ? s->labels[d[i].class_id] : "",
                   (double)d[i].score, (double)d[i].x0, (double)d[i].y0, (double)d[i].x1,
                   (double)d[i].y1);
        printf("]}");
        return;
    }
    printf("%s: %d detection%s (%s, %.1f ms)\n", img, (int)n, n == 1 ? "" : "s", s->name, ms);
    for (int32_t i = 0; i < n; i++)
        printf("  %3d %-16s %.3f  [%7.1f, %7.1f, %7.1f, %7.1f]\n", (int)d[i].class_id,
               s->labels && d[i].class_id < s->n_classes ? s->labels[d[i].class_id] : "?",
               (double)d[i].score, (double)d[i].x0, (double)d[i].y0, (double)d[i].x1,
               (double)d[i].y1);
}

static int run_images(const struct run_opts *o, struct qp_engine *e, const char *argv0)
{
    struct qp_model_spec spec;
    struct qp_err        err = {{0}};
    struct qp_detector  *det = NULL;
    struct qp_detection  dets[1024];
    int                  rc  = 1;
    if (qp_cli_load_spec(o->model, o->spec_file, o->manifest, o->spec_keys, o->spec_vals,
                         o->n_spec, argv0, &spec, &err) != QP_OK ||
        qp_detector_new(e, &spec, &det, &err) != QP_OK) {
        fprintf(stderr, "qpercept run: %s\n", err.msg);
        goto out;
    }
    if (o->json)
        printf("[");
    rc = 0;
    for (int i = 0; i < o->n_images; i++) {
        struct qp_image img;
        int32_t         n = 0;
        if (qp_image_load(o->images[i], &img, &err) != QP_OK) {
            fprintf(stderr, "qpercept run: %s\n", err.msg);
            rc = 1;
            continue;
        }
        int64_t        t0 = qp_clock_ns();
        enum qp_status st = qp_detector_run(det, &img, &o->det, dets, 1024, &n, &err);
        double         ms = (double)(qp_clock_ns() - t0) / 1e6;
        qp_image_free(&img);
        if (st != QP_OK) {
            fprintf(stderr, "qpercept run: %s: %s\n", o->images[i], err.msg);
            rc = 1;
            continue;
        }
        print_dets(o, &spec, o->images[i], dets, n, ms, i == 0);
    }
    if (o->json)
        printf("]\n");
out:
    qp_detector_free(det);
    qp_model_spec_fini(&spec);
    return rc;
}

/* "NAME=FILE" or "FILE" (single-input models) -> engine input index. */
static int32_t input_index(struct qp_engine *e, const char *arg, const char **file)
{
    const char *eq = strchr(arg, '=');
    if (!eq) {
        *file = arg;
        return qp_engine_n_inputs(e) == 1 ? 0 : -1;
    }
    char name[512];
    snprintf(name, sizeof name, "%.*s", (int)(eq - arg), arg);
    *file = eq + 1;
    return qp_engine_find_input(e, name);
}

static bool same_dims(const struct qp_npy *a, const struct qp_tensor_info *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank)
        return false;
    for (int32_t i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return true;
}

static enum qp_status feed(struct qp_engine *e, const struct run_opts *o, struct qp_err *err)
{
    for (int i = 0; i < o->n_inputs; i++) {
        const char           *file;
        struct qp_tensor_info info;
        struct qp_npy         x;
        int32_t               k = input_index(e, o->inputs[i], &file);
        if (k < 0)
            return qp_fail(err, QP_E_INVAL, "--input %s: no such input (name it NAME=FILE)",
                           o->inputs[i]);
        enum qp_status st = qp_npy_read(file, &x, err);
        if (st != QP_OK)
            return st;
        qp_engine_input_info(e, k, &info);
        char a[128], b[128];
        if (!same_dims(&x, &info))
            st = qp_fail(err, QP_E_INVAL, "%s: %s %s, but input '%s' is %s %s", file,
                         qp_dtype_name(x.dtype), qp_dims_str(x.dims, x.rank, a, sizeof a),
                         info.name, qp_dtype_name(info.dtype),
                         qp_dims_str(info.dims, info.rank, b, sizeof b));
        else
            st = qp_engine_set_input(e, k, x.data, x.nbytes, err);
        qp_npy_fini(&x);
        if (st != QP_OK)
            return st;
    }
    return QP_OK;
}

static size_t info_bytes(const struct qp_tensor_info *t)
{
    size_t n = qp_dtype_size(t->dtype);
    for (int32_t i = 0; i < t->rank; i++)
        n *= (size_t)t->dims[i];
    return n;
}

/* One output (or intermediate tensor): a summary line, and the .npy file. */
static enum qp_status emit(const struct run_opts *o, const struct qp_tensor_info *t,
                           const void *data, struct qp_err *err)
{
    char   dims[128];
    size_t n = info_bytes(t) / qp_dtype_size(t->dtype);
    printf("%-40s %s %s", t->name, qp_dtype_name(t->dtype), qp_dims_str(t->dims, t->rank, dims, sizeof dims));
    if (t->dtype == QP_DTYPE_F32 && n) {
        const float *f  = data;
        double       lo = f[0], hi = f[0], sum = 0;
        for (size_t i = 0; i < n; i++) {
            lo = f[i] < lo ? f[i] : lo;
            hi = f[i] > hi ? f[i] : hi;
            sum += f[i];
        }
        printf("  min %.6g max %.6g mean %.6g", lo, hi, sum / (double)n);
    }
    printf("\n");
    if (!o->save_dir)
        return QP_OK;
    char path[4096], name[256];
    size_t k = 0;
    for (const char *c = t->name; *c && k < sizeof name - 1; c++)
        name[k++] = (char)((strchr("._-", *c) || (*c >= '0' && *c <= '9') ||
                            (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z'))
                               ? *c
                               : '_');
    name[k] = '\0';
    snprintf(path, sizeof path, "%s/%s.npy", o->save_dir, name);
    return qp_npy_write(path, t->dtype, t->rank, t->dims, data, err);
}

static enum qp_status emit_all(struct qp_engine *e, const struct run_opts *o, struct qp_err *err)
{
    enum qp_status st = QP_OK;
    for (int32_t i = 0; st == QP_OK && i < qp_engine_n_outputs(e); i++) {
        struct qp_tensor_info t;
        qp_engine_output_info(e, i, &t);
        st = emit(o, &t, qp_engine_output(e, i), err);
    }
    for (int32_t i = 0; st == QP_OK && i < qp_engine_n_tensors(e); i++) {
        struct qp_tensor_info t;
        if (!qp_engine_tensor_info(e, i, &t))
            continue;
        void *buf = qp_alloc(info_bytes(&t) + 1);
        if (!buf)
            return qp_fail(err, QP_E_NOMEM, "out of memory reading '%s'", t.name);
        st = qp_engine_read_tensor(e, i, buf, info_bytes(&t), err);
        if (st == QP_OK)
            st = emit(o, &t, buf, err);
        qp_free(buf);
    }
    return st;
}

static int run_tensors(const struct run_opts *o, struct qp_engine *e)
{
    struct qp_err err = {{0}};
    if (o->save_dir && mkdir(o->save_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "qpercept run: %s: %s\n", o->save_dir, strerror(errno));
        return 1;
    }
    if (feed(e, o, &err) != QP_OK || qp_engine_run(e, &err) != QP_OK ||
        emit_all(e, o, &err) != QP_OK) {
        fprintf(stderr, "qpercept run: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* --const NAME=FILE.npy: inputs fixed at open (shape tensors). */
static enum qp_status read_consts(struct run_opts *o, struct qp_npy *npy,
                                  struct qp_const_input *c, struct qp_err *err)
{
    for (int i = 0; i < o->n_consts; i++) {
        const char    *eq = strchr(o->consts[i], '=');
        enum qp_status st = qp_npy_read(eq + 1, &npy[i], err);
        if (st != QP_OK)
            return st;
        c[i].name  = o->consts[i];
        c[i].dtype = npy[i].dtype;
        c[i].rank  = npy[i].rank;
        c[i].data  = npy[i].data;
        memcpy(c[i].dims, npy[i].dims, sizeof c[i].dims);
        o->consts[i] = eq + 1; /* keep the file name for messages */
        /* cppcheck-suppress unreadVariable ; read as o->consts' names (argv storage) */
        ((char *)eq)[0] = '\0'; /* argv storage: NAME now ends at '=' */
    }
    o->eng.constants   = c;
    o->eng.n_constants = o->n_consts;
    return QP_OK;
}

/* --saturation: the run-time counters of a quantized engine, on stderr. */
static void print_saturation(const struct qp_engine *e)
{
    int32_t n = qp_engine_n_saturation(e), shown = 0;
    for (int32_t i = 0; i < n; i++) {
        struct qp_saturation s;
        if (!qp_engine_saturation(e, i, &s) || s.saturated == 0 || s.total == 0)
            continue;
        fprintf(stderr, "saturation %-40s %8.4f%% (%lld of %lld)\n", s.tensor,
                100.0 * (double)s.saturated / (double)s.total, (long long)s.saturated,
                (long long)s.total);
        shown++;
    }
    fprintf(stderr, "saturation: %d of %d INT8 tensors saturated at least once\n", (int)shown,
            (int)n);
}

int qp_cli_run(int argc, char **argv)
{
    static struct qp_npy         npy[MAX_ITEMS];
    static struct qp_const_input consts[MAX_ITEMS];
    struct run_opts              o;
    memset(&o, 0, sizeof o);
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    struct qp_engine *e   = NULL;
    struct qp_err     err = {{0}};
    if (read_consts(&o, npy, consts, &err) != QP_OK ||
        qp_engine_open(o.model, &o.eng, &e, &err) != QP_OK) {
        fprintf(stderr, "qpercept run: %s\n", err.msg);
        rc = 1;
    } else {
        rc = o.n_images ? run_images(&o, e, argv[0]) : run_tensors(&o, e);
        if (o.saturation)
            print_saturation(e);
    }
    qp_engine_free(e);
    for (int i = 0; i < o.n_consts; i++)
        qp_npy_fini(&npy[i]);
    return rc;
}
