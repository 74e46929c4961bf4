// SPDX-License-Identifier: Apache-2.0
/*
 * test_cli.c - the qpercept command as a user runs it (env QP_CLI): image
 * detections as text and JSON, raw tensors in and out as .npy (with and
 * without --all-tensors), inspect of an ONNX model and of an engine file
 * (built here with `qpercept build`, two calibration images at most), a
 * model described by flags alone, bench-engine at two batch sizes, and the
 * errors a user meets (truncated model, damaged engine file, no CUDA
 * backend, no spec, bad option), each checked for exit status and the
 * words of its message.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_run.h"
#include "core/alloc.h"
#include "core/json.h"
#include "core/npy.h"
#include "qp_test.h"
#include "qpercept/detect.h"
#include "quant/observer.h"

static char yolox[1024], dog[1024], tmpdir[1024], engine[1200], report[1200];

static int setup(void)
{
    const char *bin = getenv("QP_BINARY_DIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/test_cli_tmp", bin ? bin : ".");
    mkdir(tmpdir, 0777);
    return 0;
}

static bool have_data(void)
{
    return getenv("QP_CLI") &&
           qp_test_mirror_file("models/yolox_nano_416_coco.onnx", yolox, sizeof yolox) &&
           qp_test_mirror_file("data/images/dog.jpg", dog, sizeof dog);
}

static void test_run_image_text_and_json(void)
{
    static char out[1 << 16];
    if (!have_data())
        QP_TEST_SKIP("QP_CLI, YOLOX-Nano or dog.jpg missing");
    QP_TEST_RAN();
    CU_ASSERT_EQUAL(cli(out, sizeof out, "run '%s' --image '%s'", yolox, dog), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "dog"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "0.855"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "[  132.8,   206.6,   325.7,   543.1]"));
    CU_ASSERT_EQUAL(cli(out, sizeof out, "run '%s' --image '%s' --json --score 0.5", yolox, dog),
                    0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"label\":\"dog\",\"score\":0.855"));
    CU_ASSERT_PTR_NULL(strstr(out, "truck")); /* 0.306 is below --score 0.5 */
    CU_ASSERT(out[0] == '[');
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int  n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += strstr(e->d_name, ".npy") != NULL;
    closedir(d);
    return n;
}

static void test_run_tensors_npy(void)
{
    static char out[1 << 16];
    char        in[1200], dir[1200], dir_all[1200], res[1300];
    if (!have_data())
        QP_TEST_SKIP("QP_CLI or YOLOX-Nano missing");
    QP_TEST_RAN();
    float *x = qp_alloc(3 * 416 * 416 * sizeof *x);
    for (int i = 0; i < 3 * 416 * 416; i++)
        x[i] = (float)(i % 255);
    snprintf(in, sizeof in, "%s/x.npy", tmpdir);
    CU_ASSERT_EQUAL_FATAL(qp_npy_write(in, QP_DTYPE_F32, 4, (int64_t[]){1, 3, 416, 416}, x, NULL),
                          QP_OK);
    qp_free(x);
    snprintf(dir, sizeof dir, "%s/out", tmpdir);
    CU_ASSERT_EQUAL(
        cli(out, sizeof out, "run '%s' --input images='%s' --save-outputs '%s'", yolox, in, dir),
        0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "output"));
    snprintf(res, sizeof res, "%s/output.npy", dir);
    struct qp_npy y;
    CU_ASSERT_EQUAL_FATAL(qp_npy_read(res, &y, NULL), QP_OK);
    CU_ASSERT_EQUAL(y.rank, 3);
    CU_ASSERT_EQUAL(y.dims[1], 3549);
    CU_ASSERT_EQUAL(y.dims[2], 85);
    qp_npy_fini(&y);
    CU_ASSERT_EQUAL(count_files(dir), 1);

    /* every intermediate tensor under its ONNX name */
    snprintf(dir_all, sizeof dir_all, "%s/all", tmpdir);
    CU_ASSERT_EQUAL(cli(out, sizeof out, "run '%s' --input '%s' --save-outputs '%s' --all-tensors",
                        yolox, in, dir_all),
                    0);
    CU_ASSERT(count_files(dir_all) > 300); /* YOLOX-Nano has 369 nodes */

    /* wrong shape: the message names both shapes */
    CU_ASSERT_EQUAL(cli(out, sizeof out, "run '%s' --input '%s'", yolox, res), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "[1,3549,85]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "[1,3,416,416]"));
}

static void test_inspect(void)
{
    static char out[1 << 16];
    if (!have_data())
        QP_TEST_SKIP("QP_CLI or YOLOX-Nano missing");
    QP_TEST_RAN();
    CU_ASSERT_EQUAL(cli(out, sizeof out, "inspect '%s'", yolox), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Conv                           113"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "unsupported op types: 0"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "904481 parameters"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "engine: opens"));
    CU_ASSERT_EQUAL(cli(out, sizeof out, "inspect '%s' --json", yolox), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "{\"op\":\"Conv\",\"count\":113,\"supported\":true}"));
}

/* Build an INT8 engine of YOLOX-Nano once (calibrated on dog.jpg: fast)
 * into engine[], its build report into report[]; false when that failed. */
static bool built_engine(void)
{
    static int  state; /* 0 not tried, 1 built, -1 failed */
    static char out[1 << 16];
    if (state == 0) {
        snprintf(engine, sizeof engine, "%s/yolox_int8.qpe", tmpdir);
        snprintf(report, sizeof report, "%s/yolox_int8_report.json", tmpdir);
        int rc = cli(out, sizeof out,
                     "build '%s' -o '%s' --precision int8 --calib '%s' --calib-images 2 "
                     "--report '%s' --threads 2",
                     yolox, engine, dog, report);
        if (rc != 0)
            fprintf(stderr, "qpercept build failed (exit %d):\n%s\n", rc, out);
        state = rc == 0 ? 1 : -1;
    }
    return state == 1;
}

/* Copy the first n bytes of src to dst (all when n is 0), flipping the byte
 * at flip (when >= 0). */
static bool copy_file(const char *src, const char *dst, long n, long flip)
{
    FILE *in = fopen(src, "rb"), *o = fopen(dst, "wb");
    bool  ok = in && o;
    for (long i = 0, c; ok && (n == 0 || i < n) && (c = fgetc(in)) != EOF; i++)
        ok = fputc((int)(i == flip ? c ^ 0x5a : c), o) != EOF;
    if (in)
        fclose(in);
    if (o)
        ok = fclose(o) == 0 && ok;
    return ok;
}

static const struct qp_json *get_type(const struct qp_json *o, const char *key, enum qp_json_type t)
{
    const struct qp_json *v = qp_json_get(o, key);
    CU_ASSERT_PTR_NOT_NULL(v);
    if (v && v->type != t) {
        fprintf(stderr, "inspect --json: \"%s\" is a %s, want a %s\n", key,
                qp_json_type_name(v->type), qp_json_type_name(t));
        CU_FAIL("inspect --json: field of the wrong type");
        return NULL;
    }
    return v;
}

/* The JSON fields of an INT8 YOLOX-Nano engine file, checked against the
 * model's own sha256 and the build report's calibration hash. */
static void check_engine_json(const char *text, const char *model_sha, const char *calib_sha)
{
    struct qp_json_doc *doc = NULL;
    struct qp_err       err = {{0}};
    if (qp_json_parse(text, strlen(text), &doc, &err) != QP_OK) {
        fprintf(stderr, "inspect --json: %s\n%s\n", err.msg, text);
        CU_FAIL("inspect --json is not one JSON document");
        return;
    }
    const struct qp_json *r = qp_json_root(doc), *v;
    if ((v = get_type(r, "format_version", QP_JSON_NUMBER)))
        CU_ASSERT_EQUAL(v->v.num, 1.0);
    if ((v = get_type(r, "target", QP_JSON_STRING)))
        CU_ASSERT_STRING_EQUAL(v->v.str, "cpu");
    if ((v = get_type(r, "precision", QP_JSON_STRING)))
        CU_ASSERT_STRING_EQUAL(v->v.str, "int8");
    if ((v = get_type(r, "producer", QP_JSON_STRING)))
        CU_ASSERT_PTR_NOT_NULL(strstr(v->v.str, "qpercept"));
    if ((v = get_type(r, "created_unix", QP_JSON_NUMBER)))
        CU_ASSERT(v->v.num > 1.7e9); /* after 2023 */
    if ((v = get_type(r, "source", QP_JSON_STRING)))
        CU_ASSERT_PTR_NOT_NULL(strstr(v->v.str, "yolox_nano_416_coco.onnx"));
    if ((v = get_type(r, "model_sha256", QP_JSON_STRING)))
        CU_ASSERT_STRING_EQUAL(v->v.str, model_sha);
    if ((v = get_type(r, "calib_sha256", QP_JSON_STRING)))
        CU_ASSERT_STRING_EQUAL(v->v.str, calib_sha);
    get_type(r, "tuning", QP_JSON_NULL); /* a cpu engine: no device tuning stored */
    if ((v = get_type(r, "report", QP_JSON_STRING)))
        CU_ASSERT_PTR_NOT_NULL(strstr(v->v.str, "int8"));
    /* every Conv of the model is in the histogram, as QConv or Conv */
    double n_conv = 0, n_qconv = 0;
    if ((v = get_type(r, "ops", QP_JSON_ARRAY)))
        for (uint32_t i = 0; i < v->n; i++) {
            const struct qp_json *op = qp_json_get(&v->v.items[i], "op"),
                                 *n  = qp_json_get(&v->v.items[i], "count");
            CU_ASSERT_FATAL(op && n && op->type == QP_JSON_STRING && n->type == QP_JSON_NUMBER);
            n_conv +=
                strcmp(op->v.str, "Conv") == 0 || strcmp(op->v.str, "QConv") == 0 ? n->v.num : 0;
            n_qconv += strcmp(op->v.str, "QConv") == 0 ? n->v.num : 0;
        }
    CU_ASSERT_EQUAL(n_conv, 113.0);
    CU_ASSERT(n_qconv > 0);
    /* constant bytes: the per-dtype split adds up, INT8 weights among them */
    const struct qp_json *total = get_type(r, "constant_bytes", QP_JSON_NUMBER),
                         *split = get_type(r, "constant_bytes_by_dtype", QP_JSON_OBJECT);
    if (total && split) {
        double sum = 0;
        for (uint32_t i = 0; i < split->n; i++)
            sum += split->v.items[i].v.num;
        CU_ASSERT_EQUAL(sum, total->v.num);
        const struct qp_json *i8 = qp_json_get(split, "i8");
        CU_ASSERT(i8 && i8->v.num > 100000); /* YOLOX-Nano: about 0.9 M weights */
    }
    const struct qp_json *eng = get_type(r, "engine", QP_JSON_OBJECT);
    if ((v = get_type(eng, "ok", QP_JSON_BOOL)))
        CU_ASSERT(v->v.b);
    if ((v = get_type(eng, "arena_bytes", QP_JSON_NUMBER)))
        CU_ASSERT(v->v.num > 1e6); /* 416x416 activations need megabytes */
    qp_json_free(doc);
}

static void test_inspect_engine(void)
{
    static char out[1 << 17];
    char        model_sha[65], want[256];
    if (!have_data())
        QP_TEST_SKIP("QP_CLI, YOLOX-Nano or dog.jpg missing");
    QP_TEST_RAN();
    CU_ASSERT_FATAL(built_engine());
    CU_ASSERT_EQUAL_FATAL(qp_sha256_file(yolox, model_sha, NULL), QP_OK);
    struct qp_json_doc *rep = NULL;
    CU_ASSERT_EQUAL_FATAL(qp_json_read_file(report, &rep, NULL), QP_OK);
    const struct qp_json *calib = qp_json_get(qp_json_root(rep), "calib_sha256");
    CU_ASSERT_FATAL(calib && calib->type == QP_JSON_STRING && strlen(calib->v.str) == 64);
    /* --calib-method auto (the default): every method measured, the best kept */
    const struct qp_json *method = qp_json_get(qp_json_root(rep), "calib_method"),
                         *tried  = qp_json_get(qp_json_root(rep), "method_agreement");
    CU_ASSERT_FATAL(method && method->type == QP_JSON_STRING && tried &&
                    tried->type == QP_JSON_OBJECT && tried->n == QP_OBSERVER_COUNT);
    const struct qp_json *kept = qp_json_get(tried, method->v.str);
    CU_ASSERT_FATAL(kept && kept->type == QP_JSON_NUMBER);
    for (uint32_t i = 0; i < tried->n; i++) {
        const struct qp_json *a = &tried->v.items[i];
        CU_ASSERT(a->type == QP_JSON_NUMBER && a->v.num >= 0.0 && a->v.num <= 1.0);
        CU_ASSERT(a->v.num <= kept->v.num);
    }
    /* GPTQ weight rounding (the default) and round-to-nearest both
     * measured, the better kept */
    const struct qp_json *wr = qp_json_get(qp_json_root(rep), "weight_rounding"),
                         *an = qp_json_get(qp_json_root(rep), "agreement_nearest"),
                         *ag = qp_json_get(qp_json_root(rep), "agreement_gptq");
    CU_ASSERT_FATAL(wr && wr->type == QP_JSON_STRING && an && an->type == QP_JSON_NUMBER && ag &&
                    ag->type == QP_JSON_NUMBER);
    CU_ASSERT(an->v.num >= 0.0 && an->v.num <= 1.0 && ag->v.num >= 0.0 && ag->v.num <= 1.0);
    CU_ASSERT(strcmp(wr->v.str, "gptq") == 0 || strcmp(wr->v.str, "nearest") == 0);
    if (ag->v.num != an->v.num) /* a tie goes to the output SQNR */
        CU_ASSERT(strcmp(wr->v.str, ag->v.num > an->v.num ? "gptq" : "nearest") == 0);
    /* the agreement's bootstrap lower bound: a quantile of resampled
     * agreements, so within [0, 1] */
    const struct qp_json *al = qp_json_get(qp_json_root(rep), "agreement_low");
    CU_ASSERT_FATAL(al && al->type == QP_JSON_NUMBER);
    CU_ASSERT(al->v.num >= 0.0 && al->v.num <= 1.0);

    CU_ASSERT_EQUAL(cli(out, sizeof out, "inspect '%s'", engine), 0);
    static const char *const words[] = {"engine file, format version 1",
                                        "target cpu",
                                        "precision int8",
                                        "producer qpercept",
                                        "created 20",
                                        "source model ",
                                        "yolox_nano_416_coco.onnx",
                                        "QConv",
                                        "constants:",
                                        " i8 ",
                                        "input   images",
                                        "output  output",
                                        "build report:",
                                        "9 float outputs", /* the head convs */
                                        "clipping (agreement all int8): minmax ",
                                        "weight rounding: agreement ",
                                        "activation arena"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strstr(out, words[i])) {
            fprintf(stderr, "inspect of an engine file lacks '%s':\n%s\n", words[i], out);
            CU_FAIL("inspect text lacks a field");
        }
    snprintf(want, sizeof want, "model sha256 %s", model_sha);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
    snprintf(want, sizeof want, "calibration sha256 %s", calib->v.str);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, want));

    CU_ASSERT_EQUAL(cli(out, sizeof out, "inspect '%s' --json", engine), 0);
    check_engine_json(out, model_sha, calib->v.str);
    qp_json_free(rep);
}

static void test_inspect_damaged_engine(void)
{
    static char out[1 << 16];
    char        cut[1200], flip[1200];
    if (!have_data())
        QP_TEST_SKIP("QP_CLI, YOLOX-Nano or dog.jpg missing");
    QP_TEST_RAN();
    CU_ASSERT_FATAL(built_engine());
    struct stat sb;
    CU_ASSERT_EQUAL_FATAL(stat(engine, &sb), 0);
    /* cut in half: the magic is there, the size is not */
    snprintf(cut, sizeof cut, "%s/cut_in_half.qpe", tmpdir);
    CU_ASSERT_FATAL(copy_file(engine, cut, (long)sb.st_size / 2, -1));
    CU_ASSERT_EQUAL(cli(out, sizeof out, "inspect '%s'", cut), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "cut_in_half.qpe"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "truncated"));
    CU_ASSERT_EQUAL(cli(out, sizeof out, "inspect '%s' --json", cut), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "cut_in_half.qpe"));
    /* one byte of the weights changed: the checksum says so */
    snprintf(flip, sizeof flip, "%s/one_byte_flipped.qpe", tmpdir);
    CU_ASSERT_FATAL(copy_file(engine, flip, 0, (long)sb.st_size / 2));
    CU_ASSERT_EQUAL(cli(out, sizeof out, "inspect '%s'", flip), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "one_byte_flipped.qpe"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "checksum"));
}

static void test_spec_from_flags(void)
{
    static char out[1 << 16];
    if (!have_data())
        QP_TEST_SKIP("QP_CLI or YOLOX-Nano missing");
    QP_TEST_RAN();
    /* no manifest: flags alone describe the model */
    CU_ASSERT_EQUAL(cli(out, sizeof out,
                        "run '%s' --image '%s' --manifest /nonexistent --size 416x416 --color bgr "
                        "--resize letterbox --pad 114 --head yolox --strides 8,16,32 --classes 80",
                        yolox, dog),
                    0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "0.855  [  132.8,   206.6,   325.7,   543.1]"));
    /* and nothing at all: a clear error */
    CU_ASSERT_EQUAL(
        cli(out, sizeof out, "run '%s' --image '%s' --manifest /nonexistent", yolox, dog), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "qpercept run:"));
}

static void test_errors(void)
{
    static char out[1 << 16];
    char        trunc[1200];
    if (!have_data())
        QP_TEST_SKIP("QP_CLI or YOLOX-Nano missing");
    QP_TEST_RAN();
    /* a model cut in half: error names the file, nothing crashes */
    snprintf(trunc, sizeof trunc, "%s/truncated.onnx", tmpdir);
    FILE *in = fopen(yolox, "rb"), *o = fopen(trunc, "wb");
    CU_ASSERT_FATAL(in && o);
    static char buf[1 << 20];
    size_t      k = fread(buf, 1, sizeof buf, in);
    fwrite(buf, 1, k, o);
    fclose(in);
    fclose(o);
    CU_ASSERT_EQUAL(cli(out, sizeof out, "run '%s' --image '%s'", trunc, dog), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "truncated.onnx"));
    CU_ASSERT_EQUAL(cli(out, sizeof out, "inspect '%s'", trunc), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "truncated.onnx"));

    /* --backend cuda without a CUDA backend says so, auto falls back */
    CU_ASSERT_EQUAL(cli(out, sizeof out, "run '%s' --image '%s' --backend cuda", yolox, dog), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "backend cuda"));
    CU_ASSERT_EQUAL(cli(out, sizeof out, "-v run '%s' --image '%s' --backend auto", yolox, dog), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "running on the CPU"));
    /* an engine for a GPU needs one: a clear error, no file left behind */
    char gpu_engine[1200];
    snprintf(gpu_engine, sizeof gpu_engine, "%s/for_gpu.qpe", tmpdir);
    CU_ASSERT_EQUAL(cli(out, sizeof out, "build '%s' -o '%s' --precision fp32 --target cuda", yolox,
                        gpu_engine),
                    1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "cuda"));
    CU_ASSERT(access(gpu_engine, F_OK) != 0);
    CU_ASSERT_EQUAL(cli(out, sizeof out, "build '%s' -o '%s' --target tpu", yolox, gpu_engine), 2);
    /* --measure images must be held out; a relative image path ("./x.jpg")
     * is an image, not a list file */
    char copy[1200], cwd[1024], model[PATH_MAX], target[PATH_MAX];
    snprintf(copy, sizeof copy, "%s/dog_copy.jpg", tmpdir);
    CU_ASSERT_FATAL(copy_file(dog, copy, 0, -1) && realpath(yolox, model) &&
                    realpath(tmpdir, target) && getcwd(cwd, sizeof cwd) && chdir(tmpdir) == 0);
    int rc = cli(out, sizeof out,
                 "build '%s' -o '%s/m.qpe' --calib ./dog_copy.jpg --measure ./dog_copy.jpg", model,
                 target);
    CU_ASSERT_FATAL(chdir(cwd) == 0);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "./dog_copy.jpg is both a calibration and a measurement"));

    /* usage errors exit 2 */
    CU_ASSERT_EQUAL(cli(out, sizeof out, "run '%s' --score 7 --image '%s'", yolox, dog), 2);
    CU_ASSERT_EQUAL(cli(out, sizeof out, "frobnicate"), 2);
    CU_ASSERT_EQUAL(
        cli(out, sizeof out, "build '%s' -o x.qpe --calib '%s' --weight-rounding up", yolox, dog),
        2);
    CU_ASSERT_EQUAL(cli(out, sizeof out, "run '%s'", yolox), 2);
}

/* Images a build measures on: by default (auto) a quarter of the
 * calibration images, at least 8 and at most 32, held out of calibration;
 * --measure-images N names the count. */
static int32_t measured_of(const char *list, const char *flag)
{
    static char out[1 << 16];
    char        eng[1200], rep[1200];
    snprintf(eng, sizeof eng, "%s/measured.qpe", tmpdir);
    snprintf(rep, sizeof rep, "%s/measured.json", tmpdir);
    int rc = cli(out, sizeof out,
                 "build '%s' -o '%s' --precision int8 --calib '%s' --calib-images 1000 "
                 "--calib-method percentile --report '%s' --threads 2 %s",
                 yolox, eng, list, rep, flag);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    struct qp_json_doc *doc = NULL;
    CU_ASSERT_EQUAL_FATAL(qp_json_read_file(rep, &doc, NULL), QP_OK);
    const struct qp_json *n = qp_json_get(qp_json_root(doc), "measured_images"),
                         *h = qp_json_get(qp_json_root(doc), "measured_held_out");
    int32_t got = n && n->type == QP_JSON_NUMBER && h && h->type == QP_JSON_BOOL && h->v.b
                      ? (int32_t)n->v.num
                      : -1;
    qp_json_free(doc);
    return got;
}

static void test_measure_images(void)
{
    if (!have_data())
        QP_TEST_SKIP("QP_CLI, YOLOX-Nano or dog.jpg missing");
    QP_TEST_RAN();
    char  list[1200];
    FILE *f;
    snprintf(list, sizeof list, "%s/forty.txt", tmpdir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(list, "w"));
    for (int i = 0; i < 40; i++)
        fprintf(f, "%s\n", dog);
    CU_ASSERT_FATAL(fclose(f) == 0);
    CU_ASSERT_EQUAL(measured_of(list, ""), 10);
    CU_ASSERT_EQUAL(measured_of(list, "--measure-images 3"), 3);
}

/* bench-engine at batch 1 and 2: one line per batch, JSON with both (the
 * first at the top level, as the benchmark scripts read it); bad sizes are
 * usage errors. */
static void test_bench_engine(void)
{
    static char out[1 << 16];
    char        json[1200];
    if (!have_data())
        QP_TEST_SKIP("QP_CLI or YOLOX-Nano missing");
    QP_TEST_RAN();
    snprintf(json, sizeof json, "%s/bench.json", tmpdir);
    CU_ASSERT_EQUAL(cli(out, sizeof out,
                        "bench-engine '%s' --batch 1,2 --runs 2 --warmup 0 --threads 2 --json '%s'",
                        yolox, json),
                    0);
    CU_ASSERT(strstr(out, "batch 1, 2 runs") && strstr(out, "batch 2, 2 runs") &&
              strstr(out, "images/s"));
    struct qp_json_doc *doc = NULL;
    CU_ASSERT_FATAL(qp_json_read_file(json, &doc, NULL) == QP_OK);
    const struct qp_json *r = qp_json_root(doc), *v;
    if ((v = get_type(r, "batch", QP_JSON_NUMBER)))
        CU_ASSERT_EQUAL(v->v.num, 1.0);
    if ((v = get_type(r, "samples_ms", QP_JSON_ARRAY)))
        CU_ASSERT_EQUAL(v->n, 2);
    if ((v = get_type(r, "batches", QP_JSON_ARRAY)) && v->n == 2) {
        const struct qp_json *b2 = &v->v.items[1], *ms = qp_json_get(b2, "ms"), *ips;
        const struct qp_json *med = ms ? qp_json_get(ms, "median") : NULL;
        CU_ASSERT(qp_json_get(b2, "batch") && qp_json_get(b2, "batch")->v.num == 2.0);
        CU_ASSERT((ips = qp_json_get(b2, "images_per_s")) && med && med->v.num > 0 &&
                  fabs(ips->v.num - 2000.0 / med->v.num) <= 0.01 * ips->v.num);
    } else {
        CU_FAIL("bench-engine --json: batches is not an array of 2");
    }
    qp_json_free(doc);
    CU_ASSERT_EQUAL(cli(out, sizeof out, "bench-engine '%s' --batch 0", yolox), 2);
    CU_ASSERT_EQUAL(cli(out, sizeof out, "bench-engine '%s' --batch 1,,x", yolox), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--batch"));
}

static CU_TestInfo tests[] = {
    {"run: image detections, text and JSON", test_run_image_text_and_json},
    {"run: .npy tensors in and out, --all-tensors", test_run_tensors_npy},
    {"inspect: histogram, parameters, engine check", test_inspect},
    {"inspect: engine file, text and JSON", test_inspect_engine},
    {"inspect: damaged engine file", test_inspect_damaged_engine},
    {"run: model described by flags alone", test_spec_from_flags},
    {"errors: truncated model, no cuda (run, build), usage", test_errors},
    {"bench-engine: batch sizes, text and JSON", test_bench_engine},
    {"build: images measured, auto and named", test_measure_images},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"cli", setup, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
