// SPDX-License-Identifier: Apache-2.0
/*
 * test_cli.c - the qpercept command as a user runs it (env QP_CLI): image
 * detections as text and JSON, raw tensors in and out as .npy (with and
 * without --all-tensors), inspect, a model described by flags alone, and
 * the errors a user meets (truncated model, no CUDA backend, no spec, bad
 * option), each checked for exit status and the words of its message.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/npy.h"
#include "qp_test.h"

static char yolox[1024], dog[1024], tmpdir[1024];

/* Run the CLI with args; stdout+stderr into out (NUL-terminated); exit code. */
static int cli(char *out, size_t n, const char *fmt, ...) QP_PRINTF(3, 4);
static int cli(char *out, size_t n, const char *fmt, ...)
{
    char    args[4096], cmd[6144];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", getenv("QP_CLI"), args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t k = fread(out, 1, n - 1, p);
    out[k]   = '\0';
    int rc   = pclose(p);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int setup(void)
{
    const char *bin = getenv("QP_BINARY_DIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/test_cli_tmp", bin ? bin : ".");
    mkdir(tmpdir, 0777);
    return 0;
}

static bool have_data(void)
{
    return getenv("QP_CLI") && qp_test_mirror_file("models/yolox_nano_416_coco.onnx", yolox, sizeof yolox) &&
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
    CU_ASSERT_EQUAL(cli(out, sizeof out, "run '%s' --image '%s' --json --score 0.5", yolox, dog), 0);
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
    CU_ASSERT_EQUAL(cli(out, sizeof out, "run '%s' --input images='%s' --save-outputs '%s'", yolox,
                        in, dir),
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
    CU_ASSERT_EQUAL(cli(out, sizeof out, "run '%s' --image '%s' --manifest /nonexistent", yolox, dog),
                    1);
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

    /* usage errors exit 2 */
    CU_ASSERT_EQUAL(cli(out, sizeof out, "run '%s' --score 7 --image '%s'", yolox, dog), 2);
    CU_ASSERT_EQUAL(cli(out, sizeof out, "frobnicate"), 2);
    CU_ASSERT_EQUAL(cli(out, sizeof out, "run '%s'", yolox), 2);
}

static CU_TestInfo tests[] = {
    {"run: image detections, text and JSON", test_run_image_text_and_json},
    {"run: .npy tensors in and out, --all-tensors", test_run_tensors_npy},
    {"inspect: histogram, parameters, engine check", test_inspect},
    {"run: model described by flags alone", test_spec_from_flags},
    {"errors: truncated model, no cuda, usage", test_errors},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"cli", setup, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
