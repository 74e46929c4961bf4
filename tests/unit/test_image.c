// SPDX-License-Identifier: Apache-2.0
/*
 * test_image.c - JPEG / PNG decoding: real frames from the mirror, every PNG
 * colour type and bit depth (small PNGs built here, byte by byte), and
 * hostile input (truncated, garbage, huge headers, failing allocations):
 * each must end in a clean status with a reason and no leak.
 *
 * Expected pixels of the real frames were read with OpenCV's imread and
 * PIL (which agree exactly); 16-bit samples keep their high byte, as
 * cv2.imread(IMREAD_COLOR) does.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "qp_test.h"
#include "qpercept/detect.h"

/* ===== Helpers ===== */

static uint8_t *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = size > 0 ? malloc((size_t)size) : NULL;
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *n = buf ? (size_t)size : 0;
    return buf;
}

static const uint8_t *px(const struct qp_image *img, int x, int y)
{
    return img->data + (size_t)y * (size_t)img->stride + (size_t)x * 3;
}

static void check_px(const struct qp_image *img, int x, int y, int r, int g, int b)
{
    const uint8_t *p = px(img, x, y);
    CU_ASSERT_EQUAL(p[0], r);
    CU_ASSERT_EQUAL(p[1], g);
    CU_ASSERT_EQUAL(p[2], b);
}

static long long byte_sum(const struct qp_image *img)
{
    long long s = 0;
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width * 3; x++)
            s += img->data[(size_t)y * (size_t)img->stride + (size_t)x];
    return s;
}

/* ---- a minimal PNG writer: stored (uncompressed) deflate, real CRCs */

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xffffffffu;
}

static size_t put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return 4;
}

static size_t chunk(uint8_t *p, const char *type, const uint8_t *data, size_t n)
{
    size_t k = put32(p, (uint32_t)n);
    memcpy(p + k, type, 4);
    if (n)
        memcpy(p + k + 4, data, n);
    k += put32(p + k + 4 + n, crc32_of(p + 4, 4 + n));
    return k + 4 + n;
}

/* rows: h rows, each a filter byte (0) then the samples. */
static size_t png_make(uint8_t *out, uint32_t w, uint32_t h, int depth, int color,
                       const uint8_t *rows, size_t n_rows, const uint8_t *plte, size_t n_plte)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t              ihdr[13], z[1024];
    size_t               k = 0;
    memcpy(out, sig, 8);
    k = 8;
    put32(ihdr, w);
    put32(ihdr + 4, h);
    ihdr[8]  = (uint8_t)depth;
    ihdr[9]  = (uint8_t)color;
    ihdr[10] = ihdr[11] = ihdr[12] = 0;
    k += chunk(out + k, "IHDR", ihdr, sizeof ihdr);
    if (plte)
        k += chunk(out + k, "PLTE", plte, n_plte);
    /* zlib: header, one final stored block, adler32 */
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n_rows; i++) {
        a = (a + rows[i]) % 65521;
        b = (b + a) % 65521;
    }
    size_t m = 0;
    z[m++]   = 0x78;
    z[m++]   = 0x01;
    z[m++]   = 0x01;
    z[m++]   = (uint8_t)n_rows;
    z[m++]   = (uint8_t)(n_rows >> 8);
    z[m++]   = (uint8_t)~n_rows;
    z[m++]   = (uint8_t)(~n_rows >> 8);
    memcpy(z + m, rows, n_rows);
    m += n_rows;
    m += put32(z + m, b << 16 | a);
    k += chunk(out + k, "IDAT", z, m);
    k += chunk(out + k, "IEND", NULL, 0);
    return k;
}

static void decode_ok(const uint8_t *buf, size_t n, struct qp_image *img)
{
    struct qp_err  err = {{0}};
    enum qp_status st  = qp_image_decode(buf, n, img, &err);
    if (st != QP_OK)
        fprintf(stderr, "decode: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, QP_OK);
    CU_ASSERT_EQUAL(img->format, QP_PIXEL_RGB8);
    CU_ASSERT_EQUAL(img->stride, img->width * 3);
}

/* ===== Real frames ===== */

static void test_dog_jpeg(void)
{
    char path[512];
    if (!qp_test_mirror_file("data/images/dog.jpg", path, sizeof path))
        QP_TEST_SKIP("mirror has no data/images/dog.jpg");
    QP_TEST_RAN();
    int64_t         live = qp_alloc_live();
    struct qp_image img;
    struct qp_err   err = {{0}};
    CU_ASSERT_EQUAL_FATAL(qp_image_load(path, &img, &err), QP_OK);
    CU_ASSERT_EQUAL(img.width, 768);
    CU_ASSERT_EQUAL(img.height, 576);
    CU_ASSERT_EQUAL(img.stride, 768 * 3);
    check_px(&img, 0, 0, 57, 58, 50);
    check_px(&img, 767, 575, 50, 39, 35);
    check_px(&img, 100, 200, 201, 196, 200);
    check_px(&img, 384, 288, 119, 6, 10);
    check_px(&img, 333, 111, 125, 166, 72);
    CU_ASSERT_EQUAL(byte_sum(&img), 169954419LL);
    qp_image_free(&img);
    CU_ASSERT_PTR_NULL(img.data);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

static void test_kitti_png(void)
{
    char path[512];
    if (!qp_test_mirror_file("data/driving/kitti/000008.png", path, sizeof path))
        QP_TEST_SKIP("mirror has no data/driving/kitti/000008.png");
    QP_TEST_RAN();
    int64_t         live = qp_alloc_live();
    struct qp_image img;
    CU_ASSERT_EQUAL_FATAL(qp_image_load(path, &img, NULL), QP_OK);
    CU_ASSERT_EQUAL(img.width, 1242);
    CU_ASSERT_EQUAL(img.height, 375);
    check_px(&img, 0, 0, 19, 16, 12);
    check_px(&img, 1241, 374, 20, 13, 14);
    check_px(&img, 621, 187, 59, 235, 208);
    check_px(&img, 0, 374, 106, 16, 9);
    CU_ASSERT_EQUAL(byte_sum(&img), 124640890LL);
    qp_image_free(&img);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

/* Same bytes from memory and from a file give the same pixels. */
static void test_decode_from_memory(void)
{
    char path[512];
    if (!qp_test_mirror_file("data/images/dog.jpg", path, sizeof path))
        QP_TEST_SKIP("mirror has no data/images/dog.jpg");
    QP_TEST_RAN();
    size_t          n;
    uint8_t        *buf = read_all(path, &n);
    struct qp_image a, b;
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    decode_ok(buf, n, &a);
    CU_ASSERT_EQUAL_FATAL(qp_image_load(path, &b, NULL), QP_OK);
    CU_ASSERT_EQUAL(memcmp(a.data, b.data, (size_t)a.stride * (size_t)a.height), 0);
    qp_image_free(&a);
    qp_image_free(&b);
    free(buf);
}

/* qp_image_probe: the size from the header, as decoding gives it, for both
 * formats, leaving nothing allocated; garbage and an oversized header
 * refused. */
static void test_probe(void)
{
    char jpg[512], png[512];
    if (!qp_test_mirror_file("data/images/dog.jpg", jpg, sizeof jpg) ||
        !qp_test_mirror_file("data/driving/kitti/000008.png", png, sizeof png))
        QP_TEST_SKIP("mirror has no data/images/dog.jpg or data/driving/kitti/000008.png");
    QP_TEST_RAN();
    const char *paths[2] = {jpg, png};
    for (int k = 0; k < 2; k++) {
        size_t          n;
        uint8_t        *buf = read_all(paths[k], &n);
        struct qp_image img;
        int32_t         w = 0, h = 0;
        bool            is_png = !k;
        CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
        decode_ok(buf, n, &img);
        int64_t live = qp_alloc_live();
        CU_ASSERT_EQUAL(qp_image_probe(buf, n, &w, &h, &is_png, NULL), QP_OK);
        CU_ASSERT_EQUAL(qp_alloc_live(), live);
        CU_ASSERT(w == img.width && h == img.height && is_png == (k == 1));
        qp_image_free(&img);
        free(buf);
    }
    uint8_t       junk[64] = {0};
    const uint8_t rows[]   = {0, 0};
    uint8_t       huge[512];
    size_t        n   = png_make(huge, 100000, 100000, 8, 0, rows, sizeof rows, NULL, 0);
    struct qp_err err = {{0}};
    int32_t       w = 7, h = 7;
    bool          is_png = false;
    CU_ASSERT_EQUAL(qp_image_probe(junk, sizeof junk, &w, &h, &is_png, &err), QP_E_FORMAT);
    CU_ASSERT(strstr(err.msg, "not a JPEG or PNG") != NULL);
    CU_ASSERT_EQUAL(qp_image_probe(huge, n, &w, &h, &is_png, &err), QP_E_FORMAT);
    CU_ASSERT(w == 7 && h == 7); /* untouched on failure */
}

/* ===== PNG colour types ===== */

static void test_png_gray8(void)
{
    const uint8_t   rows[] = {0, 0, 100, 0, 200, 255};
    uint8_t         png[512];
    struct qp_image img;
    QP_TEST_RAN();
    decode_ok(png, png_make(png, 2, 2, 8, 0, rows, sizeof rows, NULL, 0), &img);
    CU_ASSERT_EQUAL(img.width, 2);
    CU_ASSERT_EQUAL(img.height, 2);
    check_px(&img, 0, 0, 0, 0, 0);
    check_px(&img, 1, 0, 100, 100, 100);
    check_px(&img, 0, 1, 200, 200, 200);
    check_px(&img, 1, 1, 255, 255, 255);
    qp_image_free(&img);
}

static void test_png_16bit(void)
{
    /* gray 16: 0x1234 0xABCD 0x80FF -> 0x12 0xAB 0x80 (high byte) */
    const uint8_t gray[] = {0, 0x12, 0x34, 0xAB, 0xCD, 0x80, 0xFF};
    /* RGB 16: (0x1234, 0xABCD, 0x00FF) */
    const uint8_t   rgb[] = {0, 0x12, 0x34, 0xAB, 0xCD, 0x00, 0xFF};
    uint8_t         png[512];
    struct qp_image img;
    QP_TEST_RAN();
    decode_ok(png, png_make(png, 3, 1, 16, 0, gray, sizeof gray, NULL, 0), &img);
    check_px(&img, 0, 0, 0x12, 0x12, 0x12);
    check_px(&img, 1, 0, 0xAB, 0xAB, 0xAB);
    check_px(&img, 2, 0, 0x80, 0x80, 0x80);
    qp_image_free(&img);
    decode_ok(png, png_make(png, 1, 1, 16, 2, rgb, sizeof rgb, NULL, 0), &img);
    check_px(&img, 0, 0, 0x12, 0xAB, 0x00);
    qp_image_free(&img);
}

static void test_png_palette_and_alpha(void)
{
    const uint8_t   plte[] = {10, 20, 30, 40, 50, 60, 70, 80, 90};
    const uint8_t   idx[]  = {0, 2, 0, 1};                  /* 3x1, 8-bit indices */
    const uint8_t   rgba[] = {0, 1, 2, 3, 0, 4, 5, 6, 255}; /* alpha is dropped */
    const uint8_t   ga[]   = {0, 77, 128};                  /* gray + alpha */
    uint8_t         png[512];
    struct qp_image img;
    QP_TEST_RAN();
    decode_ok(png, png_make(png, 3, 1, 8, 3, idx, sizeof idx, plte, sizeof plte), &img);
    check_px(&img, 0, 0, 70, 80, 90);
    check_px(&img, 1, 0, 10, 20, 30);
    check_px(&img, 2, 0, 40, 50, 60);
    qp_image_free(&img);
    decode_ok(png, png_make(png, 2, 1, 8, 6, rgba, sizeof rgba, NULL, 0), &img);
    check_px(&img, 0, 0, 1, 2, 3);
    check_px(&img, 1, 0, 4, 5, 6);
    qp_image_free(&img);
    decode_ok(png, png_make(png, 1, 1, 8, 4, ga, sizeof ga, NULL, 0), &img);
    check_px(&img, 0, 0, 77, 77, 77);
    qp_image_free(&img);
}

/* ===== Hostile input ===== */

/* Decoding buf must fail with want, a reason containing needle, no leak. */
static void expect_fail(const uint8_t *buf, size_t n, enum qp_status want, const char *needle)
{
    int64_t         live = qp_alloc_live();
    struct qp_image img  = {0};
    struct qp_err   err  = {{0}};
    enum qp_status  st   = qp_image_decode(buf, n, &img, &err);
    CU_ASSERT_EQUAL(st, want);
    CU_ASSERT_PTR_NULL(img.data);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, needle));
    if (!strstr(err.msg, needle))
        fprintf(stderr, "error text '%s' lacks '%s'\n", err.msg, needle);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

static void test_truncated_jpeg(void)
{
    char path[512];
    if (!qp_test_mirror_file("data/images/dog.jpg", path, sizeof path))
        QP_TEST_SKIP("mirror has no data/images/dog.jpg");
    QP_TEST_RAN();
    size_t   n;
    uint8_t *buf = read_all(path, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    expect_fail(buf, n / 2, QP_E_FORMAT, "jpeg: ");
    expect_fail(buf, 40, QP_E_FORMAT, "jpeg: ");
    free(buf);
}

static void test_truncated_png(void)
{
    const uint8_t rows[] = {0, 1, 2, 3, 0, 4, 5, 6};
    uint8_t       png[512];
    size_t        n = png_make(png, 1, 2, 8, 2, rows, sizeof rows, NULL, 0);
    QP_TEST_RAN();
    expect_fail(png, n - 20, QP_E_FORMAT, "png: ");
    png[40] ^= 0x55; /* inside IDAT: CRC no longer matches */
    expect_fail(png, n, QP_E_FORMAT, "png: ");
}

static void test_garbage(void)
{
    uint8_t junk[256];
    for (int i = 0; i < 256; i++)
        junk[i] = (uint8_t)(i * 73 + 11);
    QP_TEST_RAN();
    expect_fail(junk, sizeof junk, QP_E_FORMAT, "not a JPEG or PNG");
    expect_fail(junk, 0, QP_E_FORMAT, "not a JPEG or PNG");
    junk[0] = 0xff, junk[1] = 0xd8, junk[2] = 0xff; /* JPEG magic, junk after */
    expect_fail(junk, sizeof junk, QP_E_FORMAT, "jpeg: ");
}

static void test_huge_png_header(void)
{
    const uint8_t rows[] = {0, 0};
    uint8_t       png[512];
    size_t        n = png_make(png, 100000, 100000, 8, 0, rows, sizeof rows, NULL, 0);
    QP_TEST_RAN();
    qp_alloc_reset_counters();
    expect_fail(png, n, QP_E_FORMAT, "png: ");
    n = png_make(png, 20000, 1, 8, 0, rows, sizeof rows, NULL, 0);
    expect_fail(png, n, QP_E_FORMAT, "png: ");
}

/* A JPEG whose frame header claims 60000 x 60000 is refused before any
 * pixel memory is allocated. */
static void test_huge_jpeg_header(void)
{
    char path[512];
    if (!qp_test_mirror_file("data/images/dog.jpg", path, sizeof path))
        QP_TEST_SKIP("mirror has no data/images/dog.jpg");
    QP_TEST_RAN();
    size_t   n;
    uint8_t *buf = read_all(path, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    size_t sof = 0;
    for (size_t i = 2; i + 9 < n && !sof; i++)
        sof = buf[i] == 0xff && (buf[i + 1] == 0xc0 || buf[i + 1] == 0xc2) ? i : 0;
    CU_ASSERT_FATAL(sof != 0);
    buf[sof + 5] = 0xea, buf[sof + 6] = 0x60; /* height 60000 */
    buf[sof + 7] = 0xea, buf[sof + 8] = 0x60; /* width 60000 */
    qp_alloc_reset_counters();
    expect_fail(buf, n, QP_E_FORMAT, "60000x60000");
    CU_ASSERT_EQUAL(qp_alloc_count(), 0);
    free(buf);
}

static void test_load_errors_name_the_file(void)
{
    static const char name[] = "test_image_garbage.bin";
    struct qp_image   img;
    struct qp_err     err = {{0}};
    QP_TEST_RAN();
    CU_ASSERT_EQUAL(qp_image_load("no/such/image.jpg", &img, &err), QP_E_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no/such/image.jpg"));

    FILE *f = fopen(name, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("GIF89a definitely not supported", f);
    fclose(f);
    CU_ASSERT_EQUAL(qp_image_load(name, &img, &err), QP_E_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, name));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not a JPEG or PNG"));
    remove(name);
}

/* Fail allocation k = 1, 2, ... of a PNG decode: a clean NOMEM each time,
 * no leak, and success once k passes the number of allocations. */
static void test_png_alloc_failures(void)
{
    const uint8_t rows[] = {0, 1, 2, 3, 4, 5, 6, 0, 7, 8, 9, 10, 11, 12};
    uint8_t       png[512];
    size_t        n  = png_make(png, 2, 2, 8, 2, rows, sizeof rows, NULL, 0);
    bool          ok = false;
    QP_TEST_RAN();
    for (int64_t k = 1; k < 64 && !ok; k++) {
        int64_t         live = qp_alloc_live();
        struct qp_image img  = {0};
        qp_alloc_fail_at(k);
        struct qp_err  err   = {{0}};
        enum qp_status st    = qp_image_decode(png, n, &img, &err);
        bool           fired = qp_alloc_failed();
        qp_alloc_fail_at(0);
        if (st == QP_OK) {
            CU_ASSERT_FALSE(fired);
            check_px(&img, 1, 1, 10, 11, 12);
            qp_image_free(&img);
            ok = true;
        } else {
            CU_ASSERT_TRUE(fired);
            if (st != QP_E_NOMEM)
                fprintf(stderr, "k=%lld st=%d %s\n", (long long)k, st, err.msg);
            CU_ASSERT_EQUAL(st, QP_E_NOMEM);
            CU_ASSERT_PTR_NULL(img.data);
        }
        CU_ASSERT_EQUAL(qp_alloc_live(), live);
    }
    CU_ASSERT_TRUE(ok);
}

static CU_TestInfo frame_tests[] = {
    {"dog.jpg decodes to known pixels", test_dog_jpeg},
    {"KITTI png decodes to known pixels", test_kitti_png},
    {"memory and file decode agree", test_decode_from_memory},
    {"probe: the size from the header alone", test_probe},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo png_tests[] = {
    {"gray 8-bit", test_png_gray8},
    {"16-bit keeps the high byte", test_png_16bit},
    {"palette, RGBA and gray+alpha", test_png_palette_and_alpha},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo hostile_tests[] = {
    {"truncated jpeg", test_truncated_jpeg},
    {"truncated / corrupt png", test_truncated_png},
    {"garbage and empty input", test_garbage},
    {"huge png header", test_huge_png_header},
    {"huge jpeg header", test_huge_jpeg_header},
    {"load errors name the file", test_load_errors_name_the_file},
    {"png allocation failures", test_png_alloc_failures},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"image/frames", NULL, NULL, NULL, NULL, frame_tests},
    {"image/png", NULL, NULL, NULL, NULL, png_tests},
    {"image/hostile", NULL, NULL, NULL, NULL, hostile_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
