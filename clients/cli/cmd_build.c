// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_build.c - `qpercept build`: calibrate and quantize an ONNX detector
 * into an engine file (.qpe) with its model spec beside it (OUT.qpe.ini),
 * printing the per-layer table (which the engine file keeps for inspect).
 *
 * --target cuda (tune_cuda) opens the engine just written on this machine's
 * GPU, records its target and each GEMM's timed cuBLASLt algorithm in the
 * file; without a usable device it fails, saying why.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "core/alloc.h"
#include "engine_int.h"
#include "qpe/qpe.h"
#include "qpercept/detect.h"
#include "quant/build.h"

#define MAX_SPEC 16
#define MAX_MEASURE 10000 /* --measure images (each is run per candidate engine) */

struct build_cli {
    const char               *model, *out, *calib, *measure, *report, *manifest, *spec_file;
    enum qp_precision         precision;
    bool                      mixed, bias_correction, equalize, gptq, pick_method, cuda;
    double                    min_agreement;
    struct qp_observer_params obs;
    long                      calib_images, measure_images, threads;
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
    /* auto: every method measured on the held-out images (build.h); without
     * measured images percentile, not the observers' entropy default: on
     * YOLOX-Nano entropy's clipping of the SiLU tails loses every detection
     * (docs/quantization.md) */
    o->obs.kind        = QP_OBSERVER_PERCENTILE;
    o->pick_method     = true;
    o->precision       = QP_PREC_INT8;
    o->calib_images    = 64;
    o->measure_images  = -1; /* auto: measure_auto() */
    o->min_agreement   = 0.95;
    o->bias_correction = true;
    o->equalize        = true;
    o->gptq            = true;
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
        else if (!strcmp(a, "--measure"))
            o->measure = v;
        else if (!strcmp(a, "--report"))
            o->report = v;
        else if (!strcmp(a, "--manifest"))
            o->manifest = v;
        else if (!strcmp(a, "--spec"))
            o->spec_file = v;
        else if (!strcmp(a, "--precision")) {
            bool ok  = !strcmp(v, "mixed");
            o->mixed = ok;
            for (int p = 0; p < QP_PREC_COUNT; p++)
                if (!strcmp(v, qp_precision_name((enum qp_precision)p)))
                    o->precision = (enum qp_precision)p, ok = true;
            if (!ok)
                return usage("--precision must be fp32, fp16, int8 or mixed", v);
        } else if (!strcmp(a, "--calib-method")) {
            o->pick_method = !strcmp(v, "auto");
            if (!o->pick_method && qp_observer_kind_parse(v, &o->obs.kind, NULL) != QP_OK)
                return usage("--calib-method must be auto, minmax, percentile, entropy or mse", v);
        } else if (!strcmp(a, "--percentile") && qp_cli_parse_float(v, 1e-9, 100.0, &d))
            o->obs.percentile = d;
        else if (!strcmp(a, "--calib-images") && qp_cli_parse_int(v, 1, 100000, &o->calib_images))
            ; /* NOLINT(bugprone-branch-clone): the parse stored it */
        else if (!strcmp(a, "--measure-images") &&
                 (!strcmp(v, "auto") || qp_cli_parse_int(v, 0, 10000, &o->measure_images)))
            o->measure_images = !strcmp(v, "auto") ? -1 : o->measure_images;
        else if (!strcmp(a, "--min-agreement") && qp_cli_parse_float(v, 0.0, 1.0, &d))
            o->min_agreement = d;
        else if (!strcmp(a, "--bias-correction") && (!strcmp(v, "on") || !strcmp(v, "off")))
            o->bias_correction = !strcmp(v, "on");
        else if (!strcmp(a, "--equalize") && (!strcmp(v, "on") || !strcmp(v, "off")))
            o->equalize = !strcmp(v, "on");
        else if (!strcmp(a, "--weight-rounding") && (!strcmp(v, "gptq") || !strcmp(v, "nearest")))
            o->gptq = !strcmp(v, "gptq");
        else if (!strcmp(a, "--threads") && qp_cli_parse_int(v, 0, 1024, &o->threads))
            ;
        else if (!strcmp(a, "--target")) {
            o->cuda = !strcmp(v, "cuda");
            if (!o->cuda && strcmp(v, "cpu") != 0)
                return usage("--target must be cpu or cuda", v);
        } else if ((key = qp_cli_spec_key(a)) && o->n_spec < MAX_SPEC) {
            o->spec_keys[o->n_spec]   = key;
            o->spec_vals[o->n_spec++] = v;
        } else
            return usage("bad option or value", a);
    }
    if (!o->model || !o->out)
        return usage("give MODEL.onnx and -o OUT.qpe", NULL);
    if ((o->mixed || o->precision == QP_PREC_INT8) && !o->calib)
        return usage("int8 needs calibration images: --calib DIR|LIST|IMAGE|MCAP", NULL);
    return 0;
}

struct progress {
    bool tty;
};

static void on_progress(void *ctx, const char *phase, int32_t done, int32_t total)
{
    const struct progress *p = ctx;
    if (p->tty) {
        int bar = total > 0 ? (int)(30 * (done < total ? done : total) / total) : 30;
        fprintf(stderr, "\r%-12s [%.*s%*s] %d/%d", phase, bar,
                "==============================", 30 - bar, "", (int)done, (int)total);
        if (done >= total)
            fputc('\n', stderr);
    } else if (done % 10 == 0 || done >= total) {
        fprintf(stderr, "%s: %d/%d\n", phase, (int)done, (int)total);
    }
}

/* "%.1f" of a dB value, "-" for NaN. */
static const char *dbs(double v, char *buf, size_t n)
{
    if (v != v)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.1f", v);
    return buf;
}

/* "%.3f" of an agreement, "-" for NaN. */
static const char *maps(double v, char *buf, size_t n)
{
    if (v != v)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.3f", v);
    return buf;
}

/* The per-layer table, as printed and as stored in the engine file. */
static char *table(const struct qp_build_result *r, const struct build_cli *o)
{
    char  *buf = NULL, a[32], b[32], c[32];
    size_t len = 0;
    FILE  *f   = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "%-36s %-5s %10s %10s %10s %9s %8s %8s %8s\n", "layer", "prec", "in scale",
            "out scale", "out amax", "saturated", "SQNR dB", "sens mAP", "sens dB");
    for (int32_t i = 0; i < r->n_layers; i++) {
        const struct qp_build_layer *l = &r->layers[i];
        char                         ys[32];
        if (l->y_scale > 0.0f)
            snprintf(ys, sizeof ys, "%.4g", (double)l->y_scale);
        else
            snprintf(ys, sizeof ys, "f32"); /* a float output (precision boundary) */
        if (l->precision == QP_PREC_INT8)
            fprintf(f, "%-36.36s %-5s %10.4g %10s %10.4g %8.4f%% %8s %8s %8s\n", l->name,
                    qp_precision_name(l->precision), (double)l->x_scale, ys, (double)l->amax,
                    100.0 * l->saturation, dbs(l->sqnr_db, a, sizeof a),
                    maps(l->sensitivity_map, c, sizeof c), dbs(l->sensitivity_db, b, sizeof b));
        else
            fprintf(f, "%-36.36s %-5s %10s %10s %10s %9s %8s %8s %8s\n", l->name,
                    qp_precision_name(l->precision), "-", "-", "-", "-", "-",
                    maps(l->sensitivity_map, c, sizeof c), dbs(l->sensitivity_db, b, sizeof b));
    }
    fprintf(f,
            "%d layers: %d int8, %d fp16, %d fp32; %d QLut, %d QAdd, %d int8 data-movement "
            "nodes, %d Quantize, %d Dequantize, %d requantized concat inputs, %d equalized "
            "tensors, %d float outputs; calibration: %s, %ld images\n",
            (int)r->n_layers, (int)r->stats.layers[QP_PREC_INT8],
            (int)r->stats.layers[QP_PREC_FP16], (int)r->stats.layers[QP_PREC_FP32],
            (int)r->stats.lut, (int)r->stats.add, (int)r->stats.moved, (int)r->stats.quantize,
            (int)r->stats.dequantize, (int)r->stats.requant, (int)r->stats.equalized,
            (int)r->stats.float_out,
            o->mixed || o->precision == QP_PREC_INT8 ? qp_observer_kind_name(r->method) : "none",
            (long)r->n_calibrated);
    if (r->n_measured)
        fprintf(f,
                "vs FP32 on %d %s images: output SQNR %s dB, agreement mAP %.3f "
                "(lower bound %s; AP50 %.3f, AP75 %.3f), recall@0.5 %.3f%s\n",
                (int)r->n_measured,
                r->measure_held_out ? "held-out (not calibrated on)" : "calibration",
                dbs(r->m.out_sqnr_db, a, sizeof a), r->m.agreement,
                maps(r->m.agreement_low, c, sizeof c), r->m.ap50, r->m.ap75, r->m.recall50,
                !o->mixed       ? ""
                : r->target_met ? " (target met)"
                : r->search_met ? " (target NOT met: the search's plan met it; the bias "
                                  "correction or weight rounding picked after it lowered the bound)"
                                : " (target NOT met: at most a fifth of the layers may be fp16)");
    if (r->method_agreement[0] == r->method_agreement[0]) {
        fprintf(f, "clipping (agreement all int8):");
        for (int k = 0; k < QP_OBSERVER_COUNT; k++)
            fprintf(f, " %s %.3f", qp_observer_kind_name((enum qp_observer_kind)k),
                    r->method_agreement[k]);
        fprintf(f, ": %s kept\n", qp_observer_kind_name(r->method));
    }
    if (r->n_measured && o->equalize && r->agreement_unequalized == r->agreement_unequalized)
        fprintf(f, "channel equalization: agreement %.3f without, %.3f with\n",
                r->agreement_unequalized, r->m.agreement);
    if (r->n_measured && o->gptq && r->agreement_nearest == r->agreement_nearest)
        fprintf(f, "weight rounding: agreement %.3f nearest, %.3f gptq: %s kept\n",
                r->agreement_nearest, r->agreement_gptq, r->gptq_kept ? "gptq" : "nearest");
    if (r->n_measured && o->bias_correction)
        fprintf(f, "bias correction: agreement %.3f without, %.3f with: %s\n", r->agreement_plain,
                r->agreement_corrected, r->bias_corrected ? "kept" : "not kept");
    if (o->mixed)
        fprintf(f, "mixed: the layers with the lowest 'sens mAP' (agreement with that layer "
                   "alone int8), then the lowest 'sens dB' (output SQNR), moved to fp16 first\n");
    if (fclose(f) != 0) { /* the table is only complete once the stream is closed */
        free(buf);
        return NULL;
    }
    return buf;
}

static enum qp_status write_report(const char *path, const struct qp_build_result *r,
                                   const struct qp_qpe_meta *m, struct qp_err *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return qp_fail(err, QP_E_IO, "--report %s: cannot write", path);
    fprintf(
        f,
        "{\"model_sha256\":\"%s\",\"calib_sha256\":\"%s\",\"precision\":\"%s\",\"target\":\"%s\",",
        m->model_sha256, m->calib_sha256, m->precision, m->target);
    if (m->calib_sha256[0]) {
        fprintf(f, "\"calib_method\":\"%s\",", qp_observer_kind_name(r->method));
        if (r->agreement_nearest == r->agreement_nearest)
            fprintf(f,
                    "\"weight_rounding\":\"%s\",\"agreement_gptq\":%.6g,"
                    "\"agreement_nearest\":%.6g,",
                    r->gptq_kept ? "gptq" : "nearest", r->agreement_gptq, r->agreement_nearest);
        for (int k = 0; k < QP_OBSERVER_COUNT && r->method_agreement[0] == r->method_agreement[0];
             k++)
            fprintf(f, "%s\"%s\":%.6g%s", k ? "" : "\"method_agreement\":{",
                    qp_observer_kind_name((enum qp_observer_kind)k), r->method_agreement[k],
                    k + 1 < QP_OBSERVER_COUNT ? "," : "},");
    }
    fprintf(f, "\"layers\":[");
    for (int32_t i = 0; i < r->n_layers; i++) {
        const struct qp_build_layer *l = &r->layers[i];
        fprintf(f, "%s\n{\"name\":\"", i ? "," : "");
        for (const char *c = l->name; *c; c++)
            fprintf(f,
                    *c == '"' || *c == '\\'    ? "\\%c"
                    : (unsigned char)*c < 0x20 ? "?"
                                               : "%c",
                    *c);
        fprintf(f,
                "\",\"precision\":\"%s\",\"in_scale\":%.9g,\"out_scale\":%.9g,\"amax\":%.9g,"
                "\"saturation\":%.9g",
                qp_precision_name(l->precision), (double)l->x_scale, (double)l->y_scale,
                (double)l->amax, l->saturation);
        if (l->sqnr_db == l->sqnr_db && isfinite(l->sqnr_db))
            fprintf(f, ",\"sqnr_db\":%.6g", l->sqnr_db);
        if (l->sensitivity_db == l->sensitivity_db && isfinite(l->sensitivity_db))
            fprintf(f, ",\"sensitivity_db\":%.6g", l->sensitivity_db);
        if (l->sensitivity_map == l->sensitivity_map)
            fprintf(f, ",\"sensitivity_map\":%.6g", l->sensitivity_map);
        fprintf(f, "}");
    }
    fprintf(f, "\n]");
    if (r->n_measured)
        fprintf(f,
                ",\"measured_images\":%d,\"measured_held_out\":%s,\"agreement\":%.6g,"
                "\"agreement_low\":%.6g,\"ap50\":%.6g,\"ap75\":%.6g,"
                "\"recall50\":%.6g%s%.6g",
                (int)r->n_measured, r->measure_held_out ? "true" : "false", r->m.agreement,
                isfinite(r->m.agreement_low) ? r->m.agreement_low : -1.0, r->m.ap50, r->m.ap75,
                r->m.recall50,
                isfinite(r->m.out_sqnr_db) ? ",\"output_sqnr_db\":" : ",\"output_sqnr_inf\":",
                isfinite(r->m.out_sqnr_db) ? r->m.out_sqnr_db : 1.0);
    fprintf(f, "}\n");
    return fclose(f) == 0 ? QP_OK : qp_fail(err, QP_E_IO, "--report %s: write failed", path);
}

/* --target cuda: open the engine file just written at path on this
 * machine's GPU, which times each GEMM's cuBLASLt candidates, and take its
 * target ("cuda sm_90") and choices into meta. */
static enum qp_status tune_cuda(const char *path, struct qp_qpe_meta *meta, struct qp_err *err)
{
    struct qp_engine        *e   = NULL;
    struct qp_engine_options opt = QP_ENGINE_OPTIONS_DEFAULT;
    opt.backend                  = QP_BACKEND_CUDA;
    enum qp_status s             = qp_engine_open(path, &opt, &e, err);
    if (s == QP_OK)
        s = qp_engine_tuning(e, meta->target, &meta->tuning, err);
    qp_engine_free(e);
    if (s != QP_OK)
        return s;
    int n = 0;
    for (const char *c = meta->tuning; *c; c++)
        n += *c == '\n';
    printf("target %s: %d GEMM algorithms chosen by timing and stored\n", meta->target, n);
    return QP_OK;
}

/* --measure-images auto: a quarter of the calibration images, 8 to 32. The
 * pooled mAP of a few frames runs high (YOLOX-Nano mixed: 0.97 on 8-frame
 * subsets of the evaluation frames, 0.93 on all 233 of them), so a search
 * that stops on 8 frames stops early. */
static int32_t measure_auto(int32_t n_calib)
{
    int32_t m = n_calib / 4;
    return m < 8 ? 8 : m > 32 ? 32 : m;
}

static enum qp_status build(const struct build_cli *o, const char *argv0, struct qp_err *err)
{
    struct qp_model_spec   spec;
    struct qp_cli_images   imgs = {0}, mimgs = {0};
    struct qp_build_result r;
    struct qp_qpe_meta     meta;
    memset(&r, 0, sizeof r);
    memset(&meta, 0, sizeof meta);
    enum qp_status s = qp_cli_load_spec(o->model, o->spec_file, o->manifest, o->spec_keys,
                                        o->spec_vals, o->n_spec, argv0, &spec, err);
    if (s != QP_OK)
        return s;
    if (o->mixed || o->precision == QP_PREC_INT8)
        s = qp_cli_images_list("--calib", o->calib, (int32_t)o->calib_images, true, &imgs, err);
    if (s == QP_OK && o->measure && (o->mixed || o->precision == QP_PREC_INT8))
        s = qp_cli_images_list("--measure", o->measure, MAX_MEASURE, true, &mimgs, err);
    struct progress      pr = {isatty(2) != 0};
    struct qp_build_opts bo = {o->model,
                               &spec,
                               o->precision,
                               o->mixed,
                               o->min_agreement,
                               o->bias_correction,
                               o->equalize,
                               o->gptq,
                               o->obs,
                               o->pick_method,
                               (const char *const *)imgs.paths,
                               imgs.n,
                               o->measure_images < 0 ? measure_auto(imgs.n)
                                                     : (int32_t)o->measure_images,
                               (int)o->threads,
                               on_progress,
                               &pr,
                               (const char *const *)mimgs.paths,
                               mimgs.n};
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
        snprintf(meta.precision, sizeof meta.precision, "%s",
                 o->mixed ? "mixed" : qp_precision_name(o->precision));
        snprintf(meta.producer, sizeof meta.producer, "qpercept build");
        meta.created_unix = (int64_t)time(NULL);
        meta.report       = tab;
        fputs(tab, stdout);
        s = qp_qpe_save(o->out, &r.g, &meta, err);
    }
    if (s == QP_OK && o->cuda) { /* the same graph again, with the GPU's choices */
        s = tune_cuda(o->out, &meta, err);
        if (s == QP_OK)
            s = qp_qpe_save(o->out, &r.g, &meta, err);
        if (s != QP_OK)
            (void)remove(o->out);
        qp_free(meta.tuning);
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
    qp_cli_images_free(&mimgs);
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
