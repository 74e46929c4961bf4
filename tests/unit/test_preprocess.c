// SPDX-License-Identifier: Apache-2.0
/*
 * test_preprocess.c - image -> model input: OpenCV-exact bilinear scaling
 * (down, up, letterbox both ways), channel order, mean / std, pixel formats,
 * strides, the inverse box transform, bad input, and no allocation per frame.
 *
 * The expected 8-bit values below were computed with OpenCV's
 * cv2.resize(INTER_LINEAR) (what the reference detections used) on the
 * synthetic image of synth(); planes are in R, G, B order. The real-frame
 * checksums come from the same numpy/OpenCV pipeline as the reference
 * detections.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "image/preprocess.h"
#include "qp_test.h"

/* ===== Expected values (cv2.resize, INTER_LINEAR) ===== */

static const uint8_t down_7x5[105] = {
    37,  106, 176, 143, 59,  128, 198, 133, 191, 23,  92,  165, 188, 39,  230, 50,  123, 185,
    42,  64,  140, 70,  145, 182, 73,  98,  163, 232, 166, 90,  56,  124, 191, 148, 73,  128,
    168, 143, 80,  150, 146, 99,  202, 41,  114, 183, 205, 59,  130, 65,  141, 214, 20,  96,
    155, 231, 161, 178, 91,  113, 189, 108, 89,  103, 79,  147, 215, 128, 93,  164, 175, 33,
    102, 172, 153, 54,  124, 59,  132, 198, 18,  91,  150, 192, 156, 159, 49,  111, 187, 63,
    66,  164, 71,  138, 204, 104, 89,  158, 92,  170, 85,  50,  117, 184, 167,
};
static const uint8_t up_20x16[960] = {
    0,   17,  42,  66,  90,  114, 138, 162, 186, 210, 151, 8,   26,  50,  74,  98,  122, 146, 170,
    188, 18,  36,  60,  84,  109, 133, 157, 181, 204, 171, 112, 27,  47,  71,  95,  120, 144, 168,
    193, 210, 48,  66,  91,  115, 140, 164, 189, 214, 233, 106, 48,  57,  81,  105, 130, 155, 179,
    204, 229, 247, 78,  96,  121, 146, 171, 187, 134, 126, 148, 84,  65,  90,  115, 138, 158, 182,
    180, 127, 137, 155, 107, 126, 151, 177, 199, 201, 65,  22,  48,  73,  98,  123, 149, 170, 184,
    204, 170, 34,  28,  46,  137, 156, 182, 208, 169, 99,  57,  55,  80,  99,  122, 147, 173, 197,
    218, 156, 94,  52,  59,  73,  167, 186, 207, 207, 133, 35,  61,  86,  110, 127, 148, 174, 175,
    186, 210, 112, 46,  72,  91,  103, 197, 216, 220, 127, 81,  66,  93,  114, 133, 157, 182, 208,
    119, 74,  92,  76,  72,  99,  123, 140, 155, 174, 178, 85,  71,  97,  121, 142, 161, 188, 190,
    167, 77,  31,  50,  76,  102, 125, 152, 171, 41,  60,  83,  84,  102, 128, 146, 168, 194, 221,
    173, 51,  47,  59,  84,  111, 135, 153, 178, 198, 30,  50,  78,  106, 130, 153, 174, 160, 122,
    146, 118, 40,  64,  90,  112, 139, 165, 186, 208, 225, 60,  81,  109, 136, 157, 176, 204, 138,
    11,  28,  48,  70,  98,  121, 138, 165, 193, 221, 240, 252, 90,  111, 139, 167, 188, 197, 137,
    79,  26,  50,  75,  104, 126, 149, 172, 195, 189, 128, 136, 152, 120, 141, 166, 179, 196, 197,
    75,  33,  52,  80,  108, 136, 155, 177, 205, 211, 170, 47,  46,  67,  150, 171, 179, 99,  83,
    95,  67,  66,  84,  113, 139, 160, 185, 209, 231, 159, 92,  57,  73,  94,  168, 189, 187, 49,
    14,  33,  62,  85,  104, 133, 157, 175, 204, 229, 247, 127, 44,  62,  90,  111, 91,  109, 133,
    157, 181, 205, 229, 157, 21,  45,  69,  93,  117, 141, 165, 189, 213, 237, 127, 23,  109, 127,
    151, 175, 162, 136, 160, 121, 41,  65,  89,  114, 138, 162, 186, 160, 147, 171, 107, 45,  139,
    157, 181, 206, 132, 23,  48,  64,  73,  98,  123, 147, 172, 196, 221, 112, 38,  63,  75,  82,
    169, 187, 197, 144, 84,  31,  56,  81,  106, 131, 156, 181, 206, 196, 138, 75,  42,  67,  92,
    111, 199, 213, 203, 68,  37,  63,  88,  113, 139, 164, 186, 206, 232, 184, 38,  43,  69,  94,
    119, 138, 228, 175, 108, 66,  68,  94,  120, 146, 171, 190, 163, 90,  112, 107, 61,  79,  104,
    130, 150, 165, 218, 135, 47,  73,  100, 126, 152, 177, 200, 191, 129, 15,  35,  61,  85,  111,
    137, 163, 182, 194, 104, 89,  78,  104, 131, 157, 184, 206, 220, 123, 65,  45,  70,  93,  111,
    137, 163, 190, 213, 231, 62,  81,  108, 135, 162, 188, 212, 206, 176, 83,  48,  72,  99,  122,
    141, 167, 193, 217, 205, 190, 92,  111, 139, 166, 193, 219, 237, 178, 68,  69,  79,  96,  123,
    150, 175, 202, 226, 244, 156, 73,  121, 141, 169, 197, 177, 140, 161, 129, 61,  84,  106, 127,
    155, 180, 203, 171, 152, 173, 116, 60,  151, 172, 200, 227, 143, 19,  46,  71,  94,  111, 133,
    161, 189, 212, 230, 114, 36,  64,  78,  87,  181, 202, 213, 153, 92,  42,  70,  95,  118, 141,
    166, 195, 217, 203, 137, 81,  54,  83,  106, 123, 187, 208, 208, 85,  55,  73,  102, 124, 142,
    171, 191, 204, 222, 180, 57,  60,  81,  109, 137, 158, 73,  94,  112, 84,  86,  105, 134, 157,
    175, 204, 175, 87,  108, 108, 72,  91,  115, 136, 164, 185, 3,   24,  53,  83,  105, 124, 154,
    176, 195, 224, 165, 17,  39,  64,  82,  110, 135, 153, 181, 202, 182, 199, 191, 49,  16,  40,
    64,  88,  112, 136, 160, 184, 208, 162, 19,  24,  48,  72,  96,  114, 200, 176, 133, 48,  35,
    59,  83,  107, 132, 156, 180, 205, 174, 119, 34,  46,  70,  94,  119, 136, 230, 138, 37,  47,
    66,  90,  115, 140, 164, 189, 214, 238, 118, 49,  58,  81,  106, 130, 155, 173, 140, 93,  47,
    72,  97,  122, 147, 172, 194, 141, 127, 152, 92,  64,  84,  108, 133, 158, 183, 201, 34,  52,
    78,  103, 128, 154, 179, 201, 215, 79,  24,  49,  75,  95,  110, 134, 160, 185, 206, 220, 63,
    82,  108, 134, 159, 185, 211, 180, 108, 59,  48,  74,  99,  123, 144, 170, 195, 221, 162, 103,
    93,  112, 138, 164, 174, 177, 203, 147, 36,  53,  74,  100, 126, 152, 176, 179, 188, 214, 119,
    29,  123, 142, 169, 195, 143, 64,  91,  86,  59,  83,  108, 134, 160, 183, 202, 122, 70,  96,
    83,  66,  153, 172, 190, 170, 103, 23,  47,  68,  87,  114, 139, 163, 190, 193, 165, 80,  28,
    51,  78,  97,  183, 202, 203, 89,  51,  54,  72,  94,  120, 147, 170, 188, 214, 181, 66,  54,
    61,  79,  105, 124, 212, 183, 137, 66,  56,  79,  100, 125, 152, 175, 198, 218, 181, 126, 50,
    65,  91,  112, 135, 151, 242, 145, 41,  64,  83,  102, 129, 157, 185, 202, 224, 252, 125, 53,
    65,  91,  119, 146, 166, 178, 136, 100, 65,  93,  114, 133, 161, 186, 205, 140, 121, 150, 97,
    75,  98,  121, 145, 173, 198, 214, 46,  67,  96,  124, 146, 163, 176, 191, 204, 82,  34,  62,
    81,  103, 131, 151, 172, 200, 216, 225, 76,  97,  126, 155, 177, 183, 103, 80,  96,  68,  65,
    86,  111, 135, 157, 182, 206, 227, 167, 108, 94,  115, 144, 174, 196, 196, 59,  11,  30,  59,
    83,  101, 130, 155, 173, 201, 226, 244, 137, 37,
};
static const uint8_t lb_8x5[120] = {
    33,  94,  154, 196, 49,  81,  141, 202, 129, 192, 90,  63,  124, 182, 174, 43,  225, 51,
    102, 152, 218, 22,  79,  145, 65,  134, 188, 49,  63,  116, 178, 235, 161, 89,  77,  88,
    152, 211, 111, 78,  124, 185, 143, 50,  111, 172, 130, 85,  204, 40,  91,  154, 174, 132,
    73,  134, 60,  126, 193, 195, 53,  113, 170, 236, 156, 225, 75,  89,  144, 207, 64,  86,
    98,  74,  124, 179, 119, 104, 106, 169, 183, 29,  80,  141, 202, 93,  67,  128, 55,  119,
    182, 156, 50,  108, 164, 190, 151, 217, 28,  78,  144, 204, 5,   71,  183, 63,  114, 180,
    236, 71,  104, 161, 87,  159, 128, 97,  78,  138, 197, 154,
};
static const uint8_t lb_tall_5x8[120] = {
    31,  98,  166, 169, 44,  118, 188, 18,  76,  142, 205, 111, 95,  152, 138, 36,  111, 171,
    196, 50,  122, 198, 55,  70,  140, 164, 26,  92,  159, 158, 40,  108, 176, 230, 54,  127,
    195, 92,  73,  143, 122, 174, 177, 68,  135, 209, 36,  93,  163, 234, 107, 113, 186, 128,
    59,  127, 192, 214, 79,  140, 213, 71,  98,  161, 231, 44,  117, 183, 160, 60,  131, 195,
    11,  81,  145, 147, 94,  103, 164, 128, 181, 25,  92,  159, 178, 54,  114, 184, 62,  75,
    131, 175, 133, 78,  150, 199, 37,  97,  170, 203, 77,  124, 189, 85,  85,  135, 185, 18,
    85,  151, 216, 34,  101, 172, 220, 101, 121, 194, 115, 69,
};

/* ===== Helpers ===== */

/* p(x, y, c) = (37x + 53y + 91c + (xy mod 17)) mod 256, RGB, with stride
 * padding filled with junk so a stride bug shows. */
static void synth(struct qp_image *img, uint8_t *buf, int w, int h, int stride)
{
    memset(buf, 0xA5, (size_t)stride * (size_t)h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                buf[y * stride + x * 3 + c] =
                    (uint8_t)((x * 37 + y * 53 + c * 91 + (x * y) % 17) & 255);
    *img = (struct qp_image){w, h, stride, QP_PIXEL_RGB8, buf};
}

static struct qp_model_spec spec_of(int w, int h, bool bgr, bool letterbox, float pad)
{
    struct qp_model_spec s;
    qp_model_spec_init(&s);
    s.input_w   = w;
    s.input_h   = h;
    s.bgr       = bgr;
    s.letterbox = letterbox;
    s.pad_value = pad;
    return s;
}

/* Run the pre-processing; dst gets 3 * w * h floats. */
static void run(const struct qp_model_spec *s, const struct qp_image *img, float *dst,
                struct qp_transform *xf)
{
    struct qp_preprocess p;
    struct qp_err        err = {{0}};
    CU_ASSERT_EQUAL_FATAL(qp_preprocess_init(&p, s, &err), QP_OK);
    enum qp_status st = qp_preprocess_run(&p, img, dst, xf, &err);
    if (st != QP_OK)
        fprintf(stderr, "preprocess: %s\n", err.msg);
    CU_ASSERT_EQUAL(st, QP_OK);
    qp_preprocess_fini(&p);
}

/* Region rw x rh of dst (model w x h) equals want (RGB planes) in channel
 * order order[k], normalised by mean / std. Returns mismatches. */
static int compare(const float *dst, int w, int h, const uint8_t *want, int rw, int rh,
                   const int order[3], const float mean[3], const float std[3])
{
    int bad = 0;
    for (int k = 0; k < 3; k++)
        for (int y = 0; y < rh; y++)
            for (int x = 0; x < rw; x++) {
                float v = want[(order[k] * rh + y) * rw + x];
                float e = (v - mean[k]) / std[k];
                bad += dst[(k * h + y) * w + x] != e;
            }
    return bad;
}

static const int   rgb[3]  = {0, 1, 2};
static const int   bgr[3]  = {2, 1, 0};
static const float zero[3] = {0, 0, 0};
static const float one[3]  = {1, 1, 1};

/* ===== Geometry ===== */

static void test_resize_down(void)
{
    uint8_t              buf[13 * 9 * 3];
    float                dst[3 * 7 * 5];
    struct qp_image      img;
    struct qp_transform  xf;
    struct qp_model_spec s = spec_of(7, 5, false, false, 0);
    QP_TEST_RAN();
    synth(&img, buf, 13, 9, 13 * 3);
    run(&s, &img, dst, &xf);
    CU_ASSERT_EQUAL(compare(dst, 7, 5, down_7x5, 7, 5, rgb, zero, one), 0);
    CU_ASSERT_DOUBLE_EQUAL(xf.scale_x, 7.0 / 13, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(xf.scale_y, 5.0 / 9, 1e-7);
    CU_ASSERT_EQUAL(xf.src_w, 13);
    CU_ASSERT_EQUAL(xf.src_h, 9);
}

/* Upscaling, BGR model order, per-channel mean / std, and a padded stride. */
static void test_resize_up_bgr_mean_std(void)
{
    uint8_t              buf[9 * 64];
    float                dst[3 * 20 * 16];
    struct qp_image      img;
    struct qp_transform  xf;
    struct qp_model_spec s       = spec_of(20, 16, true, false, 0);
    const float          mean[3] = {103.53f, 116.28f, 123.675f};
    const float          std[3]  = {57.375f, 57.12f, 58.395f};
    memcpy(s.mean, mean, sizeof mean);
    memcpy(s.std, std, sizeof std);
    QP_TEST_RAN();
    synth(&img, buf, 13, 9, 64);
    run(&s, &img, dst, &xf);
    CU_ASSERT_EQUAL(compare(dst, 20, 16, up_20x16, 20, 16, bgr, mean, std), 0);
    /* spot check against numbers worked by hand: B plane (0, 0) holds the
     * blue value 182 of pixel (0, 0): (182 - 103.53) / 57.375 */
    CU_ASSERT_DOUBLE_EQUAL(dst[0], (182 - 103.53) / 57.375, 1e-5);
}

/* A wide image letterboxed into a square: scale = min(8/13, 8/9) = 8/13,
 * resized to int(13 r) x int(9 r) = 8 x 5 at the top-left, rows 5..7 pad. */
static void test_letterbox_wide(void)
{
    uint8_t              buf[13 * 9 * 3];
    float                dst[3 * 8 * 8];
    struct qp_image      img;
    struct qp_transform  xf;
    struct qp_model_spec s = spec_of(8, 8, false, true, 114);
    QP_TEST_RAN();
    synth(&img, buf, 13, 9, 13 * 3);
    run(&s, &img, dst, &xf);
    CU_ASSERT_EQUAL(compare(dst, 8, 8, lb_8x5, 8, 5, rgb, zero, one), 0);
    int pad_ok = 0;
    for (int k = 0; k < 3; k++)
        for (int y = 5; y < 8; y++)
            for (int x = 0; x < 8; x++)
                pad_ok += dst[(k * 8 + y) * 8 + x] == 114.0f;
    CU_ASSERT_EQUAL(pad_ok, 3 * 3 * 8);
    CU_ASSERT_DOUBLE_EQUAL(xf.scale_x, 8.0 / 13, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(xf.scale_y, 8.0 / 13, 1e-7);
    CU_ASSERT_EQUAL(xf.offset_x, 0.0f);
    CU_ASSERT_EQUAL(xf.offset_y, 0.0f);
}

/* A tall image: 9 x 13 -> 5 x 8 region, columns 5..7 pad (normalised). */
static void test_letterbox_tall(void)
{
    uint8_t              buf[9 * 13 * 3];
    float                dst[3 * 8 * 8];
    struct qp_image      img;
    struct qp_transform  xf;
    struct qp_model_spec s = spec_of(8, 8, false, true, 100);
    s.mean[0] = s.mean[1] = s.mean[2] = 50;
    s.std[0] = s.std[1] = s.std[2] = 2;
    const float mean[3] = {50, 50, 50}, std[3] = {2, 2, 2};
    QP_TEST_RAN();
    synth(&img, buf, 9, 13, 9 * 3);
    run(&s, &img, dst, &xf);
    CU_ASSERT_EQUAL(compare(dst, 8, 8, lb_tall_5x8, 5, 8, rgb, mean, std), 0);
    int pad_ok = 0;
    for (int k = 0; k < 3; k++)
        for (int y = 0; y < 8; y++)
            for (int x = 5; x < 8; x++)
                pad_ok += dst[(k * 8 + y) * 8 + x] == 25.0f; /* (100 - 50) / 2 */
    CU_ASSERT_EQUAL(pad_ok, 3 * 8 * 3);
}

/* ===== Pixel formats ===== */

/* A BGR8 image into an RGB model equals the RGB8 image into an RGB model. */
static void test_bgr_source(void)
{
    uint8_t              buf[13 * 9 * 3], swapped[13 * 9 * 3];
    float                a[3 * 7 * 5], b[3 * 7 * 5];
    struct qp_image      img, img2;
    struct qp_transform  xf;
    struct qp_model_spec s = spec_of(7, 5, false, false, 0);
    QP_TEST_RAN();
    synth(&img, buf, 13, 9, 13 * 3);
    for (int i = 0; i < 13 * 9; i++) {
        swapped[3 * i]     = buf[3 * i + 2];
        swapped[3 * i + 1] = buf[3 * i + 1];
        swapped[3 * i + 2] = buf[3 * i];
    }
    img2        = img;
    img2.data   = swapped;
    img2.format = QP_PIXEL_BGR8;
    run(&s, &img, a, &xf);
    run(&s, &img2, b, &xf);
    CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);
}

/* GRAY8 feeds its one channel to all three model channels. */
static void test_gray_source(void)
{
    uint8_t              gray[6 * 4];
    float                dst[3 * 6 * 4];
    struct qp_transform  xf;
    struct qp_model_spec s = spec_of(6, 4, true, false, 0);
    for (int i = 0; i < 24; i++)
        gray[i] = (uint8_t)(i * 10);
    struct qp_image img = {6, 4, 6, QP_PIXEL_GRAY8, gray};
    QP_TEST_RAN();
    run(&s, &img, dst, &xf); /* same size: an exact copy */
    int ok = 0;
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 24; i++)
            ok += dst[k * 24 + i] == (float)(i * 10);
    CU_ASSERT_EQUAL(ok, 72);
}

static void test_bad_images(void)
{
    uint8_t               buf[16 * 3] = {0};
    float                 dst[3 * 4 * 4];
    struct qp_transform   xf;
    struct qp_preprocess  p;
    struct qp_err         err     = {{0}};
    struct qp_model_spec  s       = spec_of(4, 4, false, false, 0);
    const struct qp_image cases[] = {
        {0, 4, 12, QP_PIXEL_RGB8, buf},           /* no width */
        {4, -1, 12, QP_PIXEL_RGB8, buf},          /* negative height */
        {4, 4, 11, QP_PIXEL_RGB8, buf},           /* stride too small */
        {4, 4, 12, QP_PIXEL_RGB8, NULL},          /* no data */
        {4, 4, 12, (enum qp_pixel_format)7, buf}, /* unknown format */
    };
    QP_TEST_RAN();
    CU_ASSERT_EQUAL_FATAL(qp_preprocess_init(&p, &s, &err), QP_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err.msg[0] = '\0';
        CU_ASSERT_EQUAL(qp_preprocess_run(&p, &cases[i], dst, &xf, &err), QP_E_FORMAT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "image"));
    }
    qp_preprocess_fini(&p);

    s.input_w = 0;
    CU_ASSERT_EQUAL(qp_preprocess_init(&p, &s, &err), QP_E_INVAL);
    s        = spec_of(4, 4, false, false, 0);
    s.std[1] = 0;
    CU_ASSERT_EQUAL(qp_preprocess_init(&p, &s, &err), QP_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "std"));
}

/* ===== Box transform ===== */

static void test_transform_to_source(void)
{
    /* letterbox: model = source * 0.5 */
    struct qp_transform lb   = {0.5f, 0.5f, 0, 0, 100, 80};
    float               b[4] = {10, 20, 30, 35};
    QP_TEST_RAN();
    qp_transform_to_source(&lb, b);
    CU_ASSERT_DOUBLE_EQUAL(b[0], 20, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(b[1], 40, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(b[2], 60, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(b[3], 70, 1e-6);
    /* plain resize 1242 x 375 -> 416 x 416, clipped at the borders */
    struct qp_transform rs   = {416.0f / 1242, 416.0f / 375, 0, 0, 1242, 375};
    float               c[4] = {-3, 104, 420, 500};
    qp_transform_to_source(&rs, c);
    CU_ASSERT_DOUBLE_EQUAL(c[0], 0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(c[1], 104 * 375 / 416.0, 1e-3);
    CU_ASSERT_DOUBLE_EQUAL(c[2], 1242, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(c[3], 375, 1e-6);
    /* an offset (a centred letterbox) is subtracted before scaling */
    struct qp_transform off  = {2.0f, 2.0f, 10, 4, 50, 50};
    float               d[4] = {30, 24, 50, 44};
    qp_transform_to_source(&off, d);
    CU_ASSERT_DOUBLE_EQUAL(d[0], 10, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(d[1], 10, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(d[2], 20, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(d[3], 20, 1e-6);
}

/* ===== Real frames, and no allocation per frame ===== */

/* Integer sum and position-weighted sum of round(x * std + mean). */
static void checksum(const float *dst, size_t n, const struct qp_model_spec *s, long long *sum,
                     long long *weighted)
{
    *sum = *weighted = 0;
    for (size_t i = 0; i < n; i++) {
        int  k = (int)(i / (n / 3));
        long v = lrintf(dst[i] * s->std[k] + s->mean[k]);
        *sum += v;
        *weighted += v * (long long)(i % 251);
    }
}

static void real_frame(const char *rel, const struct qp_model_spec *s, long long want_sum,
                       long long want_weighted)
{
    char path[512];
    if (!qp_test_mirror_file(rel, path, sizeof path))
        QP_TEST_SKIP("mirror has no %s", rel);
    QP_TEST_RAN();
    struct qp_image      img;
    struct qp_preprocess p;
    struct qp_transform  xf;
    size_t               n   = (size_t)3 * 416 * 416;
    float               *dst = malloc(n * sizeof *dst);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dst);
    CU_ASSERT_EQUAL_FATAL(qp_image_load(path, &img, NULL), QP_OK);
    CU_ASSERT_EQUAL_FATAL(qp_preprocess_init(&p, s, NULL), QP_OK);
    qp_alloc_reset_counters();
    CU_ASSERT_EQUAL(qp_preprocess_run(&p, &img, dst, &xf, NULL), QP_OK);
    CU_ASSERT_EQUAL(qp_alloc_count(), 0);
    long long sum, weighted;
    checksum(dst, n, s, &sum, &weighted);
    CU_ASSERT_EQUAL(sum, want_sum);
    CU_ASSERT_EQUAL(weighted, want_weighted);
    qp_preprocess_fini(&p);
    qp_image_free(&img);
    free(dst);
}

/* YOLOX-style: BGR, letterbox 416 pad 114, dog.jpg 768x576 -> 416x312. */
static void test_dog_letterbox(void)
{
    struct qp_model_spec s = spec_of(416, 416, true, true, 114);
    real_frame("data/images/dog.jpg", &s, 64613589LL, 8075866117LL);
}

/* NanoDet-style: BGR, plain resize to 416x416, mean / std. */
static void test_kitti_resize(void)
{
    struct qp_model_spec s       = spec_of(416, 416, true, false, 0);
    const float          mean[3] = {103.53f, 116.28f, 123.675f};
    const float          std[3]  = {57.375f, 57.12f, 58.395f};
    memcpy(s.mean, mean, sizeof mean);
    memcpy(s.std, std, sizeof std);
    real_frame("data/driving/kitti/000008.png", &s, 46249711LL, 5780808339LL);
}

static CU_TestInfo geometry_tests[] = {
    {"plain resize down", test_resize_down},
    {"plain resize up, BGR, mean/std, stride", test_resize_up_bgr_mean_std},
    {"letterbox wide", test_letterbox_wide},
    {"letterbox tall with normalised pad", test_letterbox_tall},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo format_tests[] = {
    {"BGR8 source", test_bgr_source},
    {"GRAY8 source", test_gray_source},
    {"bad images and specs", test_bad_images},
    {"box transform back to source", test_transform_to_source},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo frame_tests[] = {
    {"dog.jpg letterbox matches OpenCV", test_dog_letterbox},
    {"KITTI resize matches OpenCV", test_kitti_resize},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"preprocess/geometry", NULL, NULL, NULL, NULL, geometry_tests},
    {"preprocess/formats", NULL, NULL, NULL, NULL, format_tests},
    {"preprocess/frames", NULL, NULL, NULL, NULL, frame_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
