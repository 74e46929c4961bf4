// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_build.c - `qpercept build`: calibrate and quantize an ONNX detector
 * into an engine file (.qpe) with its model spec beside it (OUT.qpe.ini),
 * printing the per-layer table (which the engine file keeps for inspect).
 *
 * Mixed precision (the per-layer sensitivity search) and the CUDA target
 * are not built yet: asking for them is refused with a message saying so.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "core/alloc.h"
#include "qpe/qpe.h"
#include "qpercept/detect.h"
#include "quant/build.h"

#define MAX_SPEC 16

struct build_cli {
    const char               *model, *out, *calib, *report, *manifest, *spec_file;
    enum qp_precision         precision;
    struct qp_observer_params obs;
    long                      calib_images, threads;
    const char               *spec_keys[MAX_SPEC], *spec_vals[MAX_SPEC];
    int                       n_spec;
};

static int usage(const char *what, const char *v)
{
    fprintf(stderr, "qpercept build: %s%s%s\n", what, v ? ": " : "", v ? v : "");
    return 2;
}

static int parse(int argc, char **argv, struct build_cli *o)
{
    struct qp_observer_params def = QP_OBSERVER_PARAMS_DEFAULT;
    o->obs                        = def;
    o->precision                  = QP_PREC_INT8;
    o->calib_images               = 64;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v, *key;
        double      d;
        if (a[0] != '-') {
            if (o->model)
                return usage("more than one MODEL", a);
            o->model = a;
            continue;
        }
        if (!(v = qp_cli_value(argc, argv, &i)))
            return 2;
        if (!strcmp(a, "-o"))
            o->out = v;
        else if (!strcmp(a, "--calib"))
            o->calib = v;
        else if (!strcmp(a, "--report"))
            o->report = v;
        else if (!strcmp(a, "--manifest"))
            o->manifest = v;
        else if (!strcmp(a, "--spec"))
            o->spec_file = v;
        else if (!strcmp(a, "--precision")) {
            if (!strcmp(v, "mixed"))
                return usage("--precision mixed: the mixed-precision search is not implemented "
                             "yet; use int8, fp16 or fp32", NULL);
            bool ok = false;
            for (int p = 0; p < QP_PREC_COUNT; p++)
                if (!strcmp(v, qp_precision_name((enum qp_precision)p)))
                    o->precision = (enum qp_precision)p, ok = true;
            if (!ok)
                return usage("--precision must be fp32, fp16 or int8", v);
        } else if (!strcmp(a, "--calib-method")) {
            if (qp_observer_kind_parse(v, &o->obs.kind, NULL) != QP_OK)
                return usage("--calib-method must be minmax, percentile, entropy or mse", v);
        } else if (!strcmp(a, "--percentile") && qp_cli_parse_float(v, 1e-9, 100.0, &d))
            o->obs.percentile = d;
        else if (!strcmp(a, "--calib-images") && qp_cli_parse_int(v, 1, 100000, &o->calib_images))
            ;
        else if (!strcmp(a, "--threads") && qp_cli_parse_int(v, 0, 1024, &o->threads))
            ;
        else if (!strcmp(a, "--target")) {
            if (strcmp(v, "cpu") != 0)
                return usage("--target: only cpu engines can be built yet (the CUDA backend has "
                             "not landed)", v);
        } else if ((key = qp_cli_spec_key(a)) && o->n_spec < MAX_SPEC) {
            o->spec_keys[o->n_spec]   = key;
            o->spec_vals[o->n_spec++] = v;
        } else
            return usage("bad option or value", a);
    }
    if (!o->model || !o->out)
        return usage("give MODEL.onnx and -o OUT.qpe", NULL);
    if (o->precision == QP_PREC_INT8 && !o->calib)
        return usage("int8 needs calibration images: --calib DIR|LIST|IMAGE", NULL);
    return 0;
}

struct progress {
    bool tty;
};

static void on_progress(void *ctx, int32_t done, int32_t total)
{
    const struct progress *p = ctx;
    if (p->tty) {
        int bar = (int)(30 * done / (total ? total : 1));
        fprintf(stderr, "\rcalibrating [%.*s%*s] %d/%d", bar, "==============================",
                30 - bar, "", (int)done, (int)total);
        if (done == total)
            fputc('\n', stderr);
    } else if (done % 10 == 0 || done == total) {
        fprintf(stderr, "calibrating: %d/%d images\n", (int)done, (int)total);
    }
}

/* The per-layer table, as printed and as stored in the engine file. */
static char *table(const struct qp_build_result *r, const struct build_cli *o)
{
    char  *buf = NULL;
    size_t len = 0;
    FILE  *f   = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "%-40s %-5s %10s %10s %10s %9s\n", "layer", "prec", "in scale", "out scale",
            "out amax", "saturated");
    for (int32_t i = 0; i < r->n_layers; i++) {
        const struct qp_build_layer *l = &r->layers[i];
        if (l->precision == QP_PREC_INT8)
            fprintf(f, "%-40.40s %-5s %10.4g %10.4g %10.4g %8.4f%%\n", l->name,
                    qp_precision_name(l->precision), (double)l->x_scale, (double)l->y_scale,
                    (double)l->amax, 100.0 * l->saturation);
        else
            fprintf(f, "%-40.40s %-5s %10s %10s %10s %9s\n", l->name,
                    qp_precision_name(l->precision), "-", "-", "-", "-");
    }
    fprintf(f,
            "%d layers: %d int8, %d fp16, %d fp32; %d QLut, %d QAdd, %d int8 data-movement "
            "nodes, %d Quantize, %d Dequantize, %d requantized concat inputs; calibration: %s, "
            "%ld images\n",
            (int)r->n_layers, (int)r->stats.layers[QP_PREC_INT8],
            (int)r->stats.layers[QP_PREC_FP16], (int)r->stats.layers[QP_PREC_FP32],
            (int)r->stats.lut, (int)r->stats.add, (int)r->stats.moved, (int)r->stats.quantize,
            (int)r->stats.dequantize, (int)r->stats.requant,
            o->precision == QP_PREC_INT8 ? qp_observer_kind_name(o->obs.kind) : "none",
            o->precision == QP_PREC_INT8 ? o->calib_images : 0L);
    fclose(f);
    return buf;
}

static enum qp_status write_report(const char *path, const struct qp_build_result *r,
                                   const struct qp_qpe_meta *m, struct qp_err *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return qp_fail(err, QP_E_IO, "--report %s: cannot write", path);
    fprintf(f, "{\"model_sha256\":\"%s\",\"calib_sha256\":\"%s\",\"precision\":\"%s\",\"target\":\"%s\",\"layers\":[",
            m->model_sha256, m->calib_sha256, m->precision, m->target);
    for (int32_t i = 0; i < r->n_layers; i++) {
        const struct qp_build_layer *l = &r->layers[i];
        fprintf(f, "%s\n{\"name\":\"", i ? "," : "");
        for (const char *c = l->name; *c; c++)
            fprintf(f, *c == '"' || *c == '\\' ? "\\%c" : (unsigned char)*c < 0x20 ? "?" : "%c", *c);
        fprintf(f, "\",\"precision\":\"%s\",\"in_scale\":%.9g,\"out_scale\":%.9g,\"amax\":%.9g,\"saturation\":%.9g}",
                qp_precision_name(l->precision), (double)l->x_scale, (double)l->y_scale,
                (double)l->amax, l->saturation);
    }
    fprintf(f, "\n]}\n");
    return fclose(f) == 0 ? QP_OK : qp_fail(err, QP_E_IO, "--report %s: write failed", path);
}

static enum qp_status build(const struct build_cli *o, const char *argv0, struct qp_err *err)
{
    struct qp_model_spec   spec;
    struct qp_cli_images   imgs = {0};
    struct qp_build_result r;
    struct qp_qpe_meta     meta;
    memset(&r, 0, sizeof r);
    memset(&meta, 0, sizeof meta);
    enum qp_status s = qp_cli_load_spec(o->model, o->spec_file, o->manifest, o->spec_keys,
                                        o->spec_vals, o->n_spec, argv0, &spec, err);
    if (s != QP_OK)
        return s;
    if (o->precision == QP_PREC_INT8)
        s = qp_cli_images_list("--calib", o->calib, (int32_t)o->calib_images, true, &imgs, err);
    struct progress      pr = {isatty(2) != 0};
    struct qp_build_opts bo = {o->model, &spec, o->precision, o->obs, (const char *const *)imgs.paths,
                               imgs.n, (int)o->threads, on_progress, &pr};
    if (s == QP_OK)
        s = qp_build_run(&bo, &r, err);
    if (s == QP_OK)
        s = qp_sha256_file(o->model, meta.model_sha256, err);
    char *tab = s == QP_OK ? table(&r, o) : NULL;
    if (s == QP_OK && !tab)
        s = qp_fail(err, QP_E_NOMEM, "out of memory for the report");
    if (s == QP_OK) {
        snprintf(meta.target, sizeof meta.target, "cpu");
        snprintf(meta.calib_sha256, sizeof meta.calib_sha256, "%s", r.calib_sha256);
        snprintf(meta.precision, sizeof meta.precision, "%s", qp_precision_name(o->precision));
        snprintf(meta.producer, sizeof meta.producer, "qpercept build");
        meta.created_unix = (int64_t)time(NULL);
        meta.report       = tab;
        fputs(tab, stdout);
        s = qp_qpe_save(o->out, &r.g, &meta, err);
    }
    if (s == QP_OK)
        s = qp_model_spec_write_sidecar(&spec, o->out, err);
    if (s == QP_OK && o->report)
        s = write_report(o->report, &r, &meta, err);
    if (s == QP_OK)
        printf("wrote %s (and its spec %s.ini)\n", o->out, o->out);
    free(tab);
    qp_build_result_fini(&r);
    qp_cli_images_free(&imgs);
    qp_model_spec_fini(&spec);
    return s;
}

int qp_cli_build(int argc, char **argv)
{
    struct build_cli o;
    memset(&o, 0, sizeof o);
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    struct qp_err err = {{0}};
    if (build(&o, argv[0], &err) != QP_OK) {
        fprintf(stderr, "qpercept build: %s\n", err.msg);
        return 1;
    }
    return 0;
}
