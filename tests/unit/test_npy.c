// SPDX-License-Identifier: Apache-2.0
/*
 * test_npy.c - the .npy reader and writer: round trips for every dtype,
 * byte-exact agreement with files numpy itself wrote, and hostile files.
 *
 * The numpy_* arrays below are the complete files numpy.save (and
 * numpy.lib.format.write_array for version 2.0) produced for the arrays named
 * in their comments; our writer must reproduce the 1.0 ones byte for byte and
 * our reader must decode all of them. Every hostile case must return an
 * error status and leave no allocation behind (qp_alloc_live()).
 * Temporary files go to a fresh directory under QP_BINARY_DIR (else ".").
 */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/npy.h"
#include "qp_test.h"

/* numpy 2.4.6: np.arange(6, dtype="<f4").reshape(2, 3) * 0.5 - 1 */
static const unsigned char numpy_f32_2x3[152] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x66, 0x34, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x32, 0x2c, 0x20,
    0x33, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0x00, 0x00, 0x80, 0xbf, 0x00, 0x00, 0x00, 0xbf, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f,
    0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0xc0, 0x3f,
};
/* numpy 2.4.6: np.array([-1, 0, 1 << 40, 7], dtype="<i8") */
static const unsigned char numpy_i64_4[160] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x69, 0x38, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x34, 0x2c, 0x29,
    0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* numpy 2.4.6: np.array([[True, False], [False, True]]) */
static const unsigned char numpy_b1_2x2[132] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x7c, 0x62, 0x31, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x32, 0x2c, 0x20,
    0x32, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0x01, 0x00, 0x00, 0x01,
};
/* numpy 2.4.6: np.array(200, dtype="u1") */
static const unsigned char numpy_u1_scalar[129] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7b, 0x27, 0x64, 0x65, 0x73, 0x63,
    0x72, 0x27, 0x3a, 0x20, 0x27, 0x7c, 0x75, 0x31, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f, 0x72, 0x74,
    0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61, 0x6c, 0x73,
    0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x29, 0x2c, 0x20,
    0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0xc8,
};
/* numpy 2.4.6: np.array([1.0, -2.5, 65504], dtype="<f2"), version 2.0 */
static const unsigned char numpy_f2_3_v2[134] = {
    0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x02, 0x00, 0x74, 0x00, 0x00, 0x00, 0x7b, 0x27, 0x64, 0x65,
    0x73, 0x63, 0x72, 0x27, 0x3a, 0x20, 0x27, 0x3c, 0x66, 0x32, 0x27, 0x2c, 0x20, 0x27, 0x66, 0x6f,
    0x72, 0x74, 0x72, 0x61, 0x6e, 0x5f, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3a, 0x20, 0x46, 0x61,
    0x6c, 0x73, 0x65, 0x2c, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3a, 0x20, 0x28, 0x33,
    0x2c, 0x29, 0x2c, 0x20, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0a,
    0x00, 0x3c, 0x00, 0xc1, 0xff, 0x7b,
};

/* ===== Helpers ===== */

static char tmpdir[1024];

static int suite_init(void)
{
    const char *base = getenv("QP_BINARY_DIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/test_npy.XXXXXX", base && *base ? base : ".");
    QP_TEST_RAN(); /* nothing here skips; every test below runs */
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_clean(void)
{
    return rmdir(tmpdir) == 0 ? 0 : -1;
}

static const char *tmp_path(const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", tmpdir, name);
    return buf;
}

static bool write_bytes(const char *path, const void *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = fwrite(buf, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* Whole file into a malloc'd buffer (test-side memory, not qp_alloc). */
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = malloc(1 << 16);
    *n                 = buf ? fread(buf, 1, 1 << 16, f) : 0;
    fclose(f);
    return buf;
}

/* A file made of the preamble for version major.0, the given header text
 * (taken as is) and data. */
static bool write_npy_text(const char *path, int major, const char *header, const void *data,
                           size_t n)
{
    size_t        hlen = strlen(header);
    unsigned char buf[4096];
    size_t        pre  = major == 1 ? 10 : 12;
    if (pre + hlen + n > sizeof buf)
        return false;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    for (size_t i = 0; i < pre - 8; i++)
        buf[8 + i] = (unsigned char)(hlen >> (8 * i));
    memcpy(buf + pre, header, hlen);
    if (n)
        memcpy(buf + pre + hlen, data, n);
    return write_bytes(path, buf, pre + hlen + n);
}

/* Read path expecting failure with status want; checks nothing leaks and the
 * struct is left zeroed. */
static void expect_read_fails(const char *path, enum qp_status want, const char *what)
{
    int64_t        live = qp_alloc_live();
    struct qp_npy  x;
    struct qp_err  err = {{0}};
    enum qp_status st  = qp_npy_read(path, &x, &err);
    if (st != want)
        fprintf(stderr, "\n  %s: got %s (%s), want %s\n", what, qp_status_str(st), err.msg,
                qp_status_str(want));
    CU_ASSERT_EQUAL(st, want);
    CU_ASSERT(err.msg[0] != '\0');
    CU_ASSERT_PTR_NULL(x.data);
    CU_ASSERT_EQUAL(x.nbytes, 0);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

static void expect_header_fails(const char *header, enum qp_status want)
{
    char path[1100];
    tmp_path("hostile.npy", path, sizeof path);
    float data[6] = {0};
    CU_ASSERT_FATAL(write_npy_text(path, 1, header, data, sizeof data));
    expect_read_fails(path, want, header);
    remove(path);
}

/* ===== Round trips ===== */

static void round_trip(enum qp_dtype t, int32_t rank, const int64_t *dims)
{
    size_t n = qp_dtype_size(t);
    for (int32_t i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    unsigned char *data = malloc(n ? n : 1);
    CU_ASSERT_FATAL(data != NULL);
    for (size_t i = 0; i < n; i++)
        data[i] = (unsigned char)(i * 37u + 11u);
    if (t == QP_DTYPE_BOOL)
        for (size_t i = 0; i < n; i++)
            data[i] &= 1;

    char          path[1100];
    struct qp_err err  = {{0}};
    int64_t       live = qp_alloc_live();
    tmp_path("rt.npy", path, sizeof path);
    CU_ASSERT_EQUAL_FATAL(qp_npy_write(path, t, rank, dims, data, &err), QP_OK);

    struct qp_npy x;
    CU_ASSERT_EQUAL_FATAL(qp_npy_read(path, &x, &err), QP_OK);
    CU_ASSERT_EQUAL(x.dtype, t);
    CU_ASSERT_EQUAL(x.rank, rank);
    for (int32_t i = 0; i < rank; i++)
        CU_ASSERT_EQUAL(x.dims[i], dims[i]);
    CU_ASSERT_EQUAL(x.nbytes, n);
    CU_ASSERT(n == 0 || memcmp(x.data, data, n) == 0);

    size_t         fsize = 0;
    unsigned char *file  = slurp(path, &fsize);
    CU_ASSERT_FATAL(file != NULL);
    CU_ASSERT_EQUAL((fsize - n) % 64, 0); /* data starts 64-byte aligned */
    free(file);

    qp_npy_fini(&x);
    CU_ASSERT_PTR_NULL(x.data);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
    free(data);
    remove(path);
}

static void test_round_trip_every_dtype(void)
{
    const int64_t d3[3] = {2, 3, 5};
    for (int t = 0; t < QP_DTYPE_COUNT; t++)
        round_trip((enum qp_dtype)t, 3, d3);
}

static void test_round_trip_shapes(void)
{
    const int64_t d1[1] = {7}, d0[2] = {3, 0};
    const int64_t d8[QP_MAX_RANK] = {1, 2, 1, 3, 1, 2, 1, 2};
    round_trip(QP_DTYPE_F32, 0, d1); /* scalar */
    round_trip(QP_DTYPE_I64, 1, d1);
    round_trip(QP_DTYPE_U8, 2, d0); /* zero elements */
    round_trip(QP_DTYPE_F16, QP_MAX_RANK, d8);
}

static void test_write_rejects_bad_args(void)
{
    char          path[1100];
    struct qp_err err     = {{0}};
    const int64_t bad[2]  = {2, -1};
    float         data[2] = {0};
    tmp_path("bad.npy", path, sizeof path);
    CU_ASSERT_EQUAL(qp_npy_write(path, QP_DTYPE_F32, 2, bad, data, &err), QP_E_INVAL);
    CU_ASSERT_EQUAL(qp_npy_write(path, QP_DTYPE_F32, QP_MAX_RANK + 1, bad, data, &err),
                    QP_E_INVAL);
    CU_ASSERT_EQUAL(qp_npy_write(path, QP_DTYPE_COUNT, 1, bad, data, &err), QP_E_INVAL);
    const int64_t ok[1] = {2};
    CU_ASSERT_EQUAL(qp_npy_write("no-such-dir/x.npy", QP_DTYPE_F32, 1, ok, data, &err), QP_E_IO);
    CU_ASSERT(strstr(err.msg, "no-such-dir/x.npy") != NULL);
}

/* ===== Files numpy wrote ===== */

static void read_numpy_bytes(const unsigned char *bytes, size_t n, struct qp_npy *x)
{
    char          path[1100];
    struct qp_err err = {{0}};
    tmp_path("numpy.npy", path, sizeof path);
    CU_ASSERT_FATAL(write_bytes(path, bytes, n));
    enum qp_status st = qp_npy_read(path, x, &err);
    if (st != QP_OK)
        fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, QP_OK);
    remove(path);
}

static void test_reads_numpy_files(void)
{
    int64_t       live = qp_alloc_live();
    struct qp_npy x;

    read_numpy_bytes(numpy_f32_2x3, sizeof numpy_f32_2x3, &x);
    CU_ASSERT(x.dtype == QP_DTYPE_F32 && x.rank == 2 && x.dims[0] == 2 && x.dims[1] == 3);
    const float *f = x.data;
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(f[i], (float)i * 0.5f - 1.0f);
    qp_npy_fini(&x);

    read_numpy_bytes(numpy_i64_4, sizeof numpy_i64_4, &x);
    const int64_t *l = x.data;
    CU_ASSERT(x.dtype == QP_DTYPE_I64 && x.rank == 1 && x.dims[0] == 4);
    CU_ASSERT(l[0] == -1 && l[1] == 0 && l[2] == (int64_t)1 << 40 && l[3] == 7);
    qp_npy_fini(&x);

    read_numpy_bytes(numpy_b1_2x2, sizeof numpy_b1_2x2, &x);
    const unsigned char *b = x.data;
    CU_ASSERT(x.dtype == QP_DTYPE_BOOL && x.rank == 2 && x.nbytes == 4);
    CU_ASSERT(b[0] == 1 && b[1] == 0 && b[2] == 0 && b[3] == 1);
    qp_npy_fini(&x);

    read_numpy_bytes(numpy_u1_scalar, sizeof numpy_u1_scalar, &x);
    CU_ASSERT(x.dtype == QP_DTYPE_U8 && x.rank == 0 && x.nbytes == 1);
    CU_ASSERT_EQUAL(((const unsigned char *)x.data)[0], 200);
    qp_npy_fini(&x);

    read_numpy_bytes(numpy_f2_3_v2, sizeof numpy_f2_3_v2, &x);
    const uint16_t *h = x.data; /* 1.0, -2.5, 65504 as IEEE half bits */
    CU_ASSERT(x.dtype == QP_DTYPE_F16 && x.rank == 1 && x.dims[0] == 3);
    CU_ASSERT(h[0] == 0x3c00 && h[1] == 0xc100 && h[2] == 0x7bff);
    qp_npy_fini(&x);

    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

/* Our writer produces exactly numpy's bytes. */
static void expect_same_file(const unsigned char *want, size_t n, enum qp_dtype t, int32_t rank,
                             const int64_t *dims)
{
    char          path[1100];
    struct qp_err err = {{0}};
    size_t        hlen = (size_t)want[8] | (size_t)want[9] << 8;
    tmp_path("ours.npy", path, sizeof path);
    CU_ASSERT_EQUAL_FATAL(qp_npy_write(path, t, rank, dims, want + 10 + hlen, &err), QP_OK);
    size_t         got_n = 0;
    unsigned char *got   = slurp(path, &got_n);
    CU_ASSERT_FATAL(got != NULL);
    CU_ASSERT_EQUAL(got_n, n);
    CU_ASSERT(got_n == n && memcmp(got, want, n) == 0);
    free(got);
    remove(path);
}

static void test_writes_numpy_bytes(void)
{
    const int64_t d23[2] = {2, 3}, d4[1] = {4}, d22[2] = {2, 2};
    expect_same_file(numpy_f32_2x3, sizeof numpy_f32_2x3, QP_DTYPE_F32, 2, d23);
    expect_same_file(numpy_i64_4, sizeof numpy_i64_4, QP_DTYPE_I64, 1, d4);
    expect_same_file(numpy_b1_2x2, sizeof numpy_b1_2x2, QP_DTYPE_BOOL, 2, d22);
    expect_same_file(numpy_u1_scalar, sizeof numpy_u1_scalar, QP_DTYPE_U8, 0, NULL);
}

/* ===== Hostile files ===== */

static void test_truncated_at_every_byte(void)
{
    char path[1100];
    tmp_path("trunc.npy", path, sizeof path);
    for (size_t n = 0; n < sizeof numpy_f32_2x3; n++) {
        CU_ASSERT_FATAL(write_bytes(path, numpy_f32_2x3, n));
        expect_read_fails(path, QP_E_FORMAT, "truncated");
    }
    remove(path);
}

static void test_bad_magic_and_version(void)
{
    char          path[1100];
    unsigned char buf[sizeof numpy_f32_2x3];
    tmp_path("magic.npy", path, sizeof path);

    memcpy(buf, numpy_f32_2x3, sizeof buf);
    buf[1] = 'n';
    CU_ASSERT_FATAL(write_bytes(path, buf, sizeof buf));
    expect_read_fails(path, QP_E_FORMAT, "bad magic");

    memcpy(buf, numpy_f32_2x3, sizeof buf);
    buf[6] = 3;
    CU_ASSERT_FATAL(write_bytes(path, buf, sizeof buf));
    expect_read_fails(path, QP_E_UNSUPPORTED, "version 3.0");

    memcpy(buf, numpy_f32_2x3, sizeof buf);
    buf[8] = 0xff, buf[9] = 0xff; /* header length beyond the file */
    CU_ASSERT_FATAL(write_bytes(path, buf, sizeof buf));
    expect_read_fails(path, QP_E_FORMAT, "header length");

    unsigned char big[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0, 0, 0, 1}; /* 16 MiB */
    CU_ASSERT_FATAL(write_bytes(path, big, sizeof big));
    expect_read_fails(path, QP_E_FORMAT, "header over the cap");

    expect_read_fails("no-such-file.npy", QP_E_IO, "missing file");
    remove(path);
}

static void test_unsupported_layouts_and_dtypes(void)
{
    expect_header_fails("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n",
                        QP_E_UNSUPPORTED);
    expect_header_fails("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }\n",
                        QP_E_UNSUPPORTED);
    expect_header_fails("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n",
                        QP_E_UNSUPPORTED);
    expect_header_fails("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,), }\n",
                        QP_E_UNSUPPORTED);
    expect_header_fails("{'descr': '<f4', 'fortran_order': False, "
                        "'shape': (1, 1, 1, 1, 1, 1, 1, 1, 6), }\n",
                        QP_E_UNSUPPORTED);
}

static void test_malformed_headers(void)
{
    static const char *const bad[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (6), }\n",  /* (6) is not a tuple */
        "{'descr': '<f4', 'fortran_order': False, }\n",                /* no shape */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}\n",
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}\n",
        "{'descr': '<f4', 'fortran_order': 0, 'shape': (6,), }\n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-6,), }\n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }\n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }",    /* no '\n' */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), } x\n",
        "{'descr': '<f4 'fortran_order': False, 'shape': (6,), }\n",
        "{'descr': '<f4', 'fortran_order': False 'shape': (6,), }\n",
        "['descr', '<f4']\n",
        "\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_header_fails(bad[i], QP_E_FORMAT);
}

static void test_shape_data_mismatch(void)
{
    char  path[1100];
    float data[7] = {0};
    tmp_path("mismatch.npy", path, sizeof path);
    const char *h6 = "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }\n";
    CU_ASSERT_FATAL(write_npy_text(path, 1, h6, data, 5 * sizeof(float)));
    expect_read_fails(path, QP_E_FORMAT, "short data");
    CU_ASSERT_FATAL(write_npy_text(path, 1, h6, data, 7 * sizeof(float)));
    expect_read_fails(path, QP_E_FORMAT, "long data");
    CU_ASSERT_FATAL(write_npy_text(path, 1, h6, data, 6 * sizeof(float) + 1));
    expect_read_fails(path, QP_E_FORMAT, "one byte over");
    CU_ASSERT_FATAL(write_npy_text(path, 2, h6, data, 6 * sizeof(float)));
    struct qp_npy x;
    CU_ASSERT_EQUAL(qp_npy_read(path, &x, NULL), QP_OK); /* the same as version 2.0 is fine */
    qp_npy_fini(&x);
    remove(path);
}

static void test_huge_dims(void)
{
    expect_header_fails("{'descr': '<f4', 'fortran_order': False, "
                        "'shape': (1099511627776, 1099511627776), }\n",
                        QP_E_FORMAT);
    expect_header_fails("{'descr': '<f4', 'fortran_order': False, "
                        "'shape': (99999999999999999999999,), }\n",
                        QP_E_FORMAT);
    expect_header_fails("{'descr': '|u1', 'fortran_order': False, 'shape': (65536, 65537), }\n",
                        QP_E_FORMAT); /* 4 GiB + 64 KiB: over QP_NPY_MAX_DATA_BYTES */
    expect_header_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000,), }\n",
                        QP_E_FORMAT); /* plausible size, but the file holds 24 bytes */
}

/* Every allocation the reader makes may fail: a status, never a leak. */
static void test_allocation_failures(void)
{
    char path[1100];
    tmp_path("fault.npy", path, sizeof path);
    CU_ASSERT_FATAL(write_bytes(path, numpy_f32_2x3, sizeof numpy_f32_2x3));
    int64_t live = qp_alloc_live();
    for (int64_t n = 1;; n++) {
        struct qp_npy x;
        qp_alloc_fail_at(n);
        enum qp_status st = qp_npy_read(path, &x, NULL);
        bool           fired = qp_alloc_failed();
        qp_alloc_fail_at(0);
        if (!fired) {
            CU_ASSERT_EQUAL(st, QP_OK);
            CU_ASSERT(n > 2); /* header + data: at least two allocations were failed */
            qp_npy_fini(&x);
            break;
        }
        CU_ASSERT_EQUAL(st, QP_E_NOMEM);
        CU_ASSERT_EQUAL(qp_alloc_live(), live);
    }
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
    remove(path);
}

static CU_TestInfo rw_tests[] = {
    {"round trip, every dtype", test_round_trip_every_dtype},
    {"round trip, scalar / rank 1 / empty / rank 8", test_round_trip_shapes},
    {"write rejects bad arguments", test_write_rejects_bad_args},
    {"reads files numpy wrote (1.0 and 2.0)", test_reads_numpy_files},
    {"writes numpy's bytes exactly", test_writes_numpy_bytes},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo hostile_tests[] = {
    {"truncated at every byte", test_truncated_at_every_byte},
    {"bad magic, version, header length", test_bad_magic_and_version},
    {"fortran order, big-endian, other dtypes, rank", test_unsupported_layouts_and_dtypes},
    {"malformed header dicts", test_malformed_headers},
    {"shape / data length mismatch", test_shape_data_mismatch},
    {"huge dims", test_huge_dims},
    {"allocation failures", test_allocation_failures},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"npy/read-write", suite_init, suite_clean, NULL, NULL, rw_tests},
    {"npy/hostile", suite_init, suite_clean, NULL, NULL, hostile_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
