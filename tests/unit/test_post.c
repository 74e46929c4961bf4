// SPDX-License-Identifier: Apache-2.0
/*
 * test_post.c - everything after the network: YOLOX and GFL decoding on
 * synthetic outputs with known boxes, NMS (class-aware, agnostic, ties,
 * max_dets, the IoU boundary), binding outputs to a head by shape, boxes
 * mapped back through letterbox / resize, SHA-256 vectors, and the model
 * spec parser (keys, values, manifest lookup by sha256 and by name,
 * sidecars, errors naming key, file and line).
 *
 * Files this test writes go to the current directory (ctest runs it in the
 * build tree) and are removed again.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/sha256.h"
#include "image/preprocess.h"
#include "post/post.h"
#include "qp_test.h"

#define NEAR(a, b) CU_ASSERT_DOUBLE_EQUAL((a), (b), 1e-4)

static struct qp_candidate cand_of(float x0, float y0, float x1, float y1, float score, int32_t cls)
{
    return (struct qp_candidate){x0, y0, x1, y1, score, cls};
}

static void check_box(const struct qp_candidate *c, float x0, float y0, float x1, float y1)
{
    NEAR(c->x0, x0);
    NEAR(c->y0, y0);
    NEAR(c->x1, x1);
    NEAR(c->y1, y1);
}

/* ===== YOLOX ===== */

/* 64x64 input, strides 8/16/32 -> grids 8x8, 4x4, 2x2 = 84 anchors, 3 classes. */
static struct qp_head_plan yolox_plan(void)
{
    struct qp_model_spec s;
    struct qp_head_plan  plan;
    qp_model_spec_init(&s);
    s.input_w = s.input_h = 64;
    s.head                = QP_HEAD_YOLOX;
    s.n_strides           = 3;
    s.strides[0] = 8, s.strides[1] = 16, s.strides[2] = 32;
    struct qp_tensor_info out = {"output", QP_DTYPE_F32, 3, {1, 84, 8}};
    CU_ASSERT_EQUAL(qp_head_bind(&s, &out, 1, &plan, NULL), QP_OK);
    return plan;
}

static void yolox_fill(float *out)
{
    memset(out, 0, 84 * 8 * sizeof *out);
    /* stride 16, cell (2, 1): row 64 + 1 * 4 + 2 = 70 */
    float *a = out + 70 * 8;
    a[0] = 0.5f, a[1] = 0.25f, a[2] = logf(2.0f), a[3] = 0.0f, a[4] = 0.9f;
    a[5] = 0.1f, a[6] = 0.8f, a[7] = 0.5f; /* scores 0.09, 0.72, 0.45 */
    /* stride 32, cell (1, 1): the last row; score exactly 0.3 */
    float *b = out + 83 * 8;
    b[4] = 1.0f, b[5] = 0.3f;
    /* stride 8, cell (0, 0): 0.29 stays below the threshold */
    out[4] = 1.0f, out[5] = 0.29f;
}

static void test_yolox_decode(void)
{
    float               out[84 * 8];
    struct qp_candidate cand[84 * 3];
    struct qp_head_plan plan = yolox_plan();
    QP_TEST_RAN();
    CU_ASSERT_EQUAL(plan.n_anchors, 84);
    CU_ASSERT_EQUAL(plan.n_classes, 3);
    CU_ASSERT_EQUAL(plan.max_candidates, 252);
    yolox_fill(out);

    /* multi-label: every class >= 0.3, in decode order */
    int32_t n = qp_yolox_decode(out, &plan, 0.3f, true, cand);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    /* cx = (0.5 + 2) * 16 = 40, cy = (0.25 + 1) * 16 = 20, w = 32, h = 16 */
    check_box(&cand[0], 24, 12, 56, 28);
    CU_ASSERT_EQUAL(cand[0].class_id, 1);
    NEAR(cand[0].score, 0.72);
    CU_ASSERT_EQUAL(cand[1].class_id, 2);
    NEAR(cand[1].score, 0.45);
    check_box(&cand[2], 16, 16, 48, 48); /* (0 + 1) * 32 +- 16 */
    CU_ASSERT_EQUAL(cand[2].class_id, 0);

    /* best class only */
    n = qp_yolox_decode(out, &plan, 0.3f, false, cand);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(cand[0].class_id, 1);
    CU_ASSERT_EQUAL(cand[1].class_id, 0);
    CU_ASSERT_EQUAL(qp_yolox_decode(out, &plan, 0.8f, true, cand), 0);
}

/* ===== GFL ===== */

static void test_gfl_decode(void)
{
    /* stride 8, grid 2x2, 2 classes, reg_max 3 (4 bins, 16 values per anchor) */
    struct qp_head_level lv          = {8, 2, 2, 0, 1};
    float                cls[4 * 2]  = {0};
    float                reg[4 * 16] = {0};
    struct qp_candidate  cand[8];
    QP_TEST_RAN();
    cls[1 * 2 + 0] = 0.2f, cls[1 * 2 + 1] = 0.6f; /* anchor 1 = cell (1, 0) */
    float *r = reg + 1 * 16;
    r[2]     = 1000.0f; /* left: one-hot on bin 2 (huge logit, no overflow) -> 2 * 8 = 16 */
    /* top: all equal -> mean 1.5 -> 12 */
    r[8 + 0] = 0.0f, r[8 + 1] = logf(3.0f), r[8 + 2] = -100.0f,
          r[8 + 3] = -100.0f;    /* right: 0.75 -> 6 */
    r[12 + 3]      = logf(5.0f); /* bottom: p = 1/8, 1/8, 1/8, 5/8 -> 18/8 -> 18 */
    cls[3 * 2 + 0] = 0.9f;       /* anchor 3 = cell (1, 1): all bins equal */

    int32_t n = qp_gfl_decode_level(cls, reg, &lv, 2, 3, 0.35f, false, cand);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    /* centre ((1 + 0.5) * 8, (0 + 0.5) * 8) = (12, 4) */
    check_box(&cand[0], 12 - 16, 4 - 12, 12 + 6, 4 + 18);
    CU_ASSERT_EQUAL(cand[0].class_id, 1);
    NEAR(cand[0].score, 0.6);
    check_box(&cand[1], 0, 0, 24, 24); /* centre 12, half-size 12 */
    CU_ASSERT_EQUAL(cand[1].class_id, 0);

    /* multi-label at 0.15 adds class 0 of anchor 1 (0.2), same box */
    n = qp_gfl_decode_level(cls, reg, &lv, 2, 3, 0.15f, true, cand);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_EQUAL(cand[0].class_id, 0);
    CU_ASSERT_EQUAL(cand[1].class_id, 1);
    check_box(&cand[0], -4, -8, 18, 22);
}

/* ===== NMS ===== */

static void test_nms_same_class_suppressed(void)
{
    struct qp_candidate c[3], tmp[3];
    QP_TEST_RAN();
    c[0] = cand_of(0, 0, 10, 10, 0.6f, 1);
    c[1] = cand_of(1, 1, 11, 11, 0.9f, 1); /* IoU with c[0] = 81 / 119 */
    c[2] = cand_of(50, 50, 60, 60, 0.5f, 1);
    NEAR(qp_nms_iou(&c[0], &c[1]), 81.0 / 119.0);
    int32_t n = qp_nms_run(c, 3, tmp, 0.45f, false, 100);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    NEAR(c[0].score, 0.9);
    NEAR(c[1].score, 0.5);
}

static void test_nms_class_aware_vs_agnostic(void)
{
    struct qp_candidate c[2], tmp[2];
    QP_TEST_RAN();
    c[0] = cand_of(0, 0, 10, 10, 0.8f, 2);
    c[1] = cand_of(0, 0, 10, 10, 0.7f, 5);
    CU_ASSERT_EQUAL(qp_nms_run(c, 2, tmp, 0.5f, false, 100), 2);
    c[0] = cand_of(0, 0, 10, 10, 0.7f, 5);
    c[1] = cand_of(0, 0, 10, 10, 0.8f, 2);
    CU_ASSERT_EQUAL_FATAL(qp_nms_run(c, 2, tmp, 0.5f, true, 100), 1);
    CU_ASSERT_EQUAL(c[0].class_id, 2);
}

/* Suppression needs IoU > threshold: exactly equal is kept (as OpenCV). */
static void test_nms_iou_boundary(void)
{
    struct qp_candidate c[2], tmp[2];
    QP_TEST_RAN();
    c[0] = cand_of(0, 0, 2, 1, 0.9f, 0);
    c[1] = cand_of(0, 0, 1, 1, 0.8f, 0); /* IoU 1 / 2 */
    CU_ASSERT_EQUAL(qp_nms_run(c, 2, tmp, 0.5f, false, 100), 2);
    c[0] = cand_of(0, 0, 2, 1, 0.9f, 0);
    c[1] = cand_of(0, 0, 1, 1, 0.8f, 0);
    CU_ASSERT_EQUAL(qp_nms_run(c, 2, tmp, 0.49f, false, 100), 1);
    /* degenerate boxes overlap nothing */
    c[0] = cand_of(5, 5, 5, 9, 0.9f, 0);
    CU_ASSERT_EQUAL(qp_nms_iou(&c[0], &c[0]), 0.0f);
}

/* Equal scores keep decode order; a big shuffled set sorts stably. */
static void test_nms_ties_are_stable(void)
{
    enum { N = 1000 };
    static struct qp_candidate c[N], tmp[N];
    QP_TEST_RAN();
    for (int i = 0; i < N; i++) /* disjoint boxes; class_id records the decode index */
        c[i] = cand_of((float)(i * 20), 0, (float)(i * 20 + 10), 10,
                       (float)((i * 7919) % 13) / 13.0f, i);
    int32_t n = qp_nms_run(c, N, tmp, 0.5f, true, N);
    CU_ASSERT_EQUAL_FATAL(n, N);
    int bad = 0;
    for (int i = 1; i < N; i++)
        bad += c[i].score > c[i - 1].score ||
               (c[i].score == c[i - 1].score && c[i].class_id < c[i - 1].class_id);
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_nms_max_dets(void)
{
    struct qp_candidate c[5], tmp[5];
    QP_TEST_RAN();
    for (int i = 0; i < 5; i++)
        c[i] = cand_of((float)(i * 20), 0, (float)(i * 20 + 10), 10, 0.1f * (float)(i + 1), 0);
    CU_ASSERT_EQUAL_FATAL(qp_nms_run(c, 5, tmp, 0.5f, false, 3), 3);
    NEAR(c[0].score, 0.5);
    NEAR(c[1].score, 0.4);
    NEAR(c[2].score, 0.3);
    CU_ASSERT_EQUAL(qp_nms_run(c, 0, tmp, 0.5f, false, 3), 0);
}

/* Decode -> NMS -> back to source pixels through a real letterbox (128x96
 * into 64x64: scale 0.5, image at the top) and a real plain resize. */
static void test_boxes_back_to_source(void)
{
    float                out[84 * 8];
    struct qp_candidate  cand[252], tmp[252];
    struct qp_head_plan  plan = yolox_plan();
    static uint8_t       pixels[128 * 96 * 3];
    static float         input[3 * 64 * 64];
    struct qp_image      img = {128, 96, 128 * 3, QP_PIXEL_RGB8, pixels};
    struct qp_model_spec s;
    struct qp_preprocess pre;
    struct qp_transform  xf;
    QP_TEST_RAN();
    yolox_fill(out);
    int32_t n = qp_yolox_decode(out, &plan, 0.3f, true, cand);
    n         = qp_nms_run(cand, n, tmp, 0.5f, false, 10);
    CU_ASSERT_EQUAL_FATAL(n, 3);

    qp_model_spec_init(&s);
    s.input_w = s.input_h = 64;
    s.letterbox           = true;
    CU_ASSERT_EQUAL_FATAL(qp_preprocess_init(&pre, &s, NULL), QP_OK);
    CU_ASSERT_EQUAL(qp_preprocess_run(&pre, &img, input, &xf, NULL), QP_OK);
    float b[4] = {cand[0].x0, cand[0].y0, cand[0].x1, cand[0].y1};
    qp_transform_to_source(&xf, b); /* (24, 12, 56, 28) / 0.5 */
    struct qp_candidate got = cand_of(b[0], b[1], b[2], b[3], 0, 0);
    check_box(&got, 48, 24, 112, 56);

    img.width   = 32; /* plain resize 32x96 -> 64x64: x * 2, y * 2/3 */
    s.letterbox = false;
    qp_preprocess_fini(&pre);
    CU_ASSERT_EQUAL_FATAL(qp_preprocess_init(&pre, &s, NULL), QP_OK);
    CU_ASSERT_EQUAL(qp_preprocess_run(&pre, &img, input, &xf, NULL), QP_OK);
    float c[4] = {cand[2].x0, cand[2].y0, cand[2].x1, cand[2].y1}; /* (16, 16, 48, 48) */
    qp_transform_to_source(&xf, c);
    got = cand_of(c[0], c[1], c[2], c[3], 0, 0);
    check_box(&got, 8, 24, 24, 72);
    qp_preprocess_fini(&pre);
}

/* ===== Binding outputs to heads ===== */

static struct qp_model_spec nanodet_spec(void)
{
    struct qp_model_spec s;
    qp_model_spec_init(&s);
    snprintf(s.name, sizeof s.name, "nanodet");
    s.input_w = s.input_h = 416;
    s.head                = QP_HEAD_GFL;
    s.n_strides           = 3;
    s.strides[0] = 8, s.strides[1] = 16, s.strides[2] = 32;
    s.reg_max = 7;
    return s;
}

static void test_bind_gfl_by_shape(void)
{
    /* NanoDet's real names; order shuffled on purpose */
    const struct qp_tensor_info outs[6] = {
        {"839", QP_DTYPE_F32, 3, {1, 169, 32}},  {"792", QP_DTYPE_F32, 3, {1, 2704, 80}},
        {"817", QP_DTYPE_F32, 3, {1, 676, 32}},  {"836", QP_DTYPE_F32, 3, {1, 169, 80}},
        {"795", QP_DTYPE_F32, 3, {1, 2704, 32}}, {"814", QP_DTYPE_F32, 3, {1, 676, 80}},
    };
    struct qp_model_spec s = nanodet_spec();
    struct qp_head_plan  plan;
    QP_TEST_RAN();
    CU_ASSERT_EQUAL_FATAL(qp_head_bind(&s, outs, 6, &plan, NULL), QP_OK);
    CU_ASSERT_EQUAL(plan.n_classes, 80);
    CU_ASSERT_EQUAL(plan.n_anchors, 2704 + 676 + 169);
    CU_ASSERT_EQUAL(plan.levels[0].cls_output, 1);
    CU_ASSERT_EQUAL(plan.levels[0].reg_output, 4);
    CU_ASSERT_EQUAL(plan.levels[1].cls_output, 5);
    CU_ASSERT_EQUAL(plan.levels[1].reg_output, 2);
    CU_ASSERT_EQUAL(plan.levels[2].cls_output, 3);
    CU_ASSERT_EQUAL(plan.levels[2].reg_output, 0);
    CU_ASSERT_EQUAL(plan.levels[2].grid_w, 13);
}

static void expect_bind_error(const struct qp_model_spec *s, const struct qp_tensor_info *outs,
                              int32_t n, const char *needle)
{
    struct qp_head_plan plan;
    struct qp_err       err = {{0}};
    CU_ASSERT_EQUAL(qp_head_bind(s, outs, n, &plan, &err), QP_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, needle));
    if (!strstr(err.msg, needle))
        fprintf(stderr, "error '%s' lacks '%s'\n", err.msg, needle);
}

static void test_bind_errors(void)
{
    const struct qp_tensor_info gfl[5] = {
        {"a", QP_DTYPE_F32, 3, {1, 2704, 80}}, {"b", QP_DTYPE_F32, 3, {1, 676, 80}},
        {"c", QP_DTYPE_F32, 3, {1, 169, 80}},  {"d", QP_DTYPE_F32, 3, {1, 2704, 32}},
        {"e", QP_DTYPE_F16, 3, {1, 676, 32}},
    };
    struct qp_model_spec s = nanodet_spec();
    QP_TEST_RAN();
    expect_bind_error(&s, gfl, 5, "[1,676,32]"); /* f16 does not count, stride 32 missing */
    s.n_classes = 81;
    expect_bind_error(&s, gfl, 3, "stride 8");
    s      = nanodet_spec();
    s.head = QP_HEAD_NONE;
    expect_bind_error(&s, gfl, 5, "none");

    /* YOLOX: two outputs that both fit when classes are unknown; the spec's
     * class count picks the right one wherever it is */
    const struct qp_tensor_info yx[2] = {{"x", QP_DTYPE_F32, 3, {1, 84, 9}},
                                         {"y", QP_DTYPE_F32, 3, {1, 84, 8}}};
    struct qp_model_spec        y;
    struct qp_head_plan         plan;
    qp_model_spec_init(&y);
    y.input_w = y.input_h = 64;
    y.head                = QP_HEAD_YOLOX;
    y.n_strides           = 3;
    y.strides[0] = 8, y.strides[1] = 16, y.strides[2] = 32;
    expect_bind_error(&y, yx, 2, "both fit");
    y.n_classes = 3;
    CU_ASSERT_EQUAL(qp_head_bind(&y, yx, 2, &plan, NULL), QP_OK);
    CU_ASSERT_EQUAL(plan.yolox_output, 1);
    y.input_w = 96;
    expect_bind_error(&y, yx, 2, "[1,");
}

/* ===== SHA-256 ===== */

static void sha_hex(const void *data, size_t n, size_t chunk, char hex[65])
{
    struct qp_sha256 s;
    uint8_t          d[QP_SHA256_BYTES];
    const uint8_t   *p = data;
    qp_sha256_init(&s);
    for (size_t off = 0; off < n; off += chunk)
        qp_sha256_update(&s, p + off, n - off < chunk ? n - off : chunk);
    qp_sha256_final(&s, d);
    qp_sha256_hex(d, hex);
}

static void test_sha256_vectors(void)
{
    static const struct {
        size_t      n_a; /* 0: use text */
        const char *text;
        const char *hex;
    } v[] = {
        {0, "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {0, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {0, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {55, NULL, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, NULL, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {64, NULL, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {120, NULL, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
        {1000000, NULL, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
    };
    static char a[1000000];
    char        hex[65];
    QP_TEST_RAN();
    memset(a, 'a', sizeof a);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        const char *data = v[i].text ? v[i].text : a;
        size_t      n    = v[i].text ? strlen(v[i].text) : v[i].n_a;
        sha_hex(data, n, n ? n : 1, hex);
        CU_ASSERT_STRING_EQUAL(hex, v[i].hex);
        sha_hex(data, n, 7, hex); /* odd chunks cross block edges */
        CU_ASSERT_STRING_EQUAL(hex, v[i].hex);
    }
}

/* ===== Spec parser ===== */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static void expect_set_error(const char *key, const char *value, const char *needle)
{
    struct qp_model_spec s;
    struct qp_err        err = {{0}};
    qp_model_spec_init(&s);
    CU_ASSERT_EQUAL(qp_model_spec_set(&s, key, value, NULL, &err), QP_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, needle));
    if (!strstr(err.msg, needle))
        fprintf(stderr, "%s = %s: error '%s' lacks '%s'\n", key, value, err.msg, needle);
    qp_model_spec_fini(&s);
}

static void test_spec_set_values(void)
{
    struct qp_model_spec s;
    QP_TEST_RAN();
    qp_model_spec_init(&s);
    CU_ASSERT_EQUAL(s.std[2], 1.0f);
    CU_ASSERT_EQUAL(qp_model_spec_set(&s, "input", "320x192", NULL, NULL), QP_OK);
    CU_ASSERT_EQUAL(qp_model_spec_set(&s, "color", "bgr", NULL, NULL), QP_OK);
    CU_ASSERT_EQUAL(qp_model_spec_set(&s, "resize", "letterbox", NULL, NULL), QP_OK);
    CU_ASSERT_EQUAL(qp_model_spec_set(&s, "pad", "114", NULL, NULL), QP_OK);
    CU_ASSERT_EQUAL(qp_model_spec_set(&s, "mean", "103.53, 116.28 123.675", NULL, NULL), QP_OK);
    CU_ASSERT_EQUAL(qp_model_spec_set(&s, "std", "58", NULL, NULL), QP_OK);
    CU_ASSERT_EQUAL(qp_model_spec_set(&s, "head", "gfl", NULL, NULL), QP_OK);
    CU_ASSERT_EQUAL(qp_model_spec_set(&s, "strides", "8,16, 32 64", NULL, NULL), QP_OK);
    CU_ASSERT_EQUAL(qp_model_spec_set(&s, "reg_max", "7", NULL, NULL), QP_OK);
    CU_ASSERT_EQUAL(qp_model_spec_set(&s, "classes", "80", NULL, NULL), QP_OK);
    CU_ASSERT_EQUAL(
        qp_model_spec_set(&s, "sha256",
                          "E8AF074932D4ED7E232278E3055CEFCDEA3EDF178874A3694AE292649FB464DD", NULL,
                          NULL),
        QP_OK);
    CU_ASSERT_EQUAL(s.input_w, 320);
    CU_ASSERT_EQUAL(s.input_h, 192);
    CU_ASSERT_TRUE(s.bgr);
    CU_ASSERT_TRUE(s.letterbox);
    CU_ASSERT_EQUAL(s.pad_value, 114.0f);
    CU_ASSERT_EQUAL(s.mean[2], 123.675f);
    CU_ASSERT_EQUAL(s.std[0], 58.0f);
    CU_ASSERT_EQUAL(s.std[2], 58.0f);
    CU_ASSERT_EQUAL(s.head, QP_HEAD_GFL);
    CU_ASSERT_EQUAL(s.n_strides, 4);
    CU_ASSERT_EQUAL(s.strides[3], 64);
    CU_ASSERT_EQUAL(s.reg_max, 7);
    CU_ASSERT_EQUAL(s.n_classes, 80);
    CU_ASSERT_STRING_EQUAL(s.sha256,
                           "e8af074932d4ed7e232278e3055cefcdea3edf178874a3694ae292649fb464dd");
    qp_model_spec_fini(&s);
}

static void test_spec_set_errors(void)
{
    QP_TEST_RAN();
    expect_set_error("colour", "bgr", "unknown key 'colour'");
    expect_set_error("input", "0x416", "input");
    expect_set_error("input", "416x", "input");
    expect_set_error("color", "grey", "color");
    expect_set_error("resize", "crop", "resize");
    expect_set_error("pad", "300", "pad");
    expect_set_error("mean", "1, 2", "mean");
    expect_set_error("std", "1, 0, 1", "std");
    expect_set_error("head", "ssd", "head");
    expect_set_error("strides", "16, 8", "strides");
    expect_set_error("strides", "8.5", "strides");
    expect_set_error("reg_max", "7 bins", "reg_max");
    expect_set_error("classes", "0", "classes");
    expect_set_error("sha256", "abc", "sha256");

    struct qp_model_spec s;
    struct qp_err        err = {{0}};
    qp_model_spec_init(&s);
    CU_ASSERT_EQUAL(qp_model_spec_set(&s, "labels", "no/such.names", NULL, &err), QP_E_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "labels: open no/such.names"));
}

/* Files of the manifest tests (current directory). */
#define MODEL_A "test_post_alpha.onnx" /* content matches [model.first] by sha256 */
#define MODEL_B "beta.onnx"            /* matches [model.beta] by name only */
#define MODEL_C "test_post_gamma.onnx" /* matches nothing */
#define MANIFEST "test_post_zoo.ini"
#define LABELS "test_post.names"

static void write_fixtures(void)
{
    write_file(MODEL_A, "not really onnx\n");
    write_file(MODEL_B, "another model\n");
    write_file(MODEL_C, "a third one\n");
    write_file(LABELS, "cat\n\ntraffic light \ndog\n");
    write_file(MANIFEST,
               "; comment\n"
               "[model.first]\n"
               "sha256  = b15e9583b077061a69a6377141531e7e6b6a0a2002e85b9b644048906612a796\n"
               "input   = 64x32\n"
               "head    = yolox\n"
               "labels  = " LABELS "\n"
               "\n"
               "# another comment\n"
               "[model.beta]\n"
               "sha256  = 0000000000000000000000000000000000000000000000000000000000000000\n"
               "color   = bgr\n"
               "url     = https://example.org/beta.onnx#frag\n");
}

static void remove_fixtures(void)
{
    remove(MODEL_A), remove(MODEL_B), remove(MODEL_C), remove(LABELS), remove(MANIFEST);
    remove(MODEL_A ".ini");
}

static void test_manifest_lookup(void)
{
    struct qp_model_spec s;
    struct qp_err        err  = {{0}};
    int64_t              live = qp_alloc_live();
    QP_TEST_RAN();
    write_fixtures();
    CU_ASSERT_EQUAL_FATAL(qp_model_spec_find(MODEL_A, MANIFEST, &s, &err), QP_OK);
    CU_ASSERT_STRING_EQUAL(s.name, "first");
    CU_ASSERT_EQUAL(s.input_w, 64);
    CU_ASSERT_EQUAL(s.input_h, 32);
    CU_ASSERT_EQUAL(s.head, QP_HEAD_YOLOX);
    CU_ASSERT_EQUAL_FATAL(s.n_classes, 3);
    CU_ASSERT_STRING_EQUAL(s.labels[1], "traffic light");
    CU_ASSERT_STRING_EQUAL(s.labels[2], "dog");
    qp_model_spec_fini(&s);

    CU_ASSERT_EQUAL_FATAL(qp_model_spec_find(MODEL_B, MANIFEST, &s, &err), QP_OK);
    CU_ASSERT_STRING_EQUAL(s.name, "beta");
    CU_ASSERT_TRUE(s.bgr);
    CU_ASSERT_STRING_EQUAL(s.url, "https://example.org/beta.onnx#frag");
    qp_model_spec_fini(&s);

    CU_ASSERT_EQUAL(qp_model_spec_find(MODEL_C, MANIFEST, &s, &err), QP_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "test_post_gamma"));
    CU_ASSERT_EQUAL(qp_model_spec_find("no_such_model.onnx", MANIFEST, &s, &err), QP_E_IO);
    remove_fixtures();
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

/* A sidecar wins over the manifest and takes the model's base name. */
static void test_sidecar(void)
{
    struct qp_model_spec s;
    struct qp_err        err = {{0}};
    QP_TEST_RAN();
    write_fixtures();
    write_file(MODEL_A ".ini", "input = 128x96\nresize = letterbox\npad = 114\n");
    CU_ASSERT_EQUAL_FATAL(qp_model_spec_find(MODEL_A, MANIFEST, &s, &err), QP_OK);
    CU_ASSERT_STRING_EQUAL(s.name, "test_post_alpha");
    CU_ASSERT_EQUAL(s.input_w, 128);
    CU_ASSERT_TRUE(s.letterbox);
    CU_ASSERT_EQUAL(s.head, QP_HEAD_NONE); /* nothing from [model.first] */
    qp_model_spec_fini(&s);
    CU_ASSERT_EQUAL(qp_model_spec_find(MODEL_A, NULL, &s, &err), QP_OK);
    qp_model_spec_fini(&s);

    write_file(MODEL_A ".ini", "input = 128x96\n[model.x]\n");
    CU_ASSERT_EQUAL(qp_model_spec_find(MODEL_A, MANIFEST, &s, &err), QP_E_INVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, MODEL_A ".ini:2"));
    remove_fixtures();
}

/* Errors in a manifest name the file, the line and the key. */
static void test_manifest_errors(void)
{
    static const struct {
        const char *text;
        const char *needle;
    } cases[] = {
        {"[model.a]\ninput = 64\ncolour = bgr\n", MANIFEST ":3: unknown key 'colour'"},
        {"[model.a]\n\n\nstrides = 32, 16\n", MANIFEST ":4: strides"},
        {"input = 64\n", MANIFEST ":1: 'input' outside"},
        {"[server]\n", MANIFEST ":1: unknown section [server]"},
        {"[model.a\n", MANIFEST ":1: malformed section"},
        {"[model.a]\njust words\n", MANIFEST ":2: 'just words' is not key = value"},
        {"[model.a]\nclasses = 2\nlabels = " LABELS "\n", MANIFEST ":3: labels"},
    };
    struct qp_model_spec s;
    struct qp_err        err  = {{0}};
    int64_t              live = qp_alloc_live();
    QP_TEST_RAN();
    write_fixtures();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(MANIFEST, cases[i].text);
        CU_ASSERT_EQUAL(qp_model_spec_find(MODEL_C, MANIFEST, &s, &err), QP_E_INVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].needle));
        if (!strstr(err.msg, cases[i].needle))
            fprintf(stderr, "error '%s' lacks '%s'\n", err.msg, cases[i].needle);
    }
    remove_fixtures();
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

/* Fail allocation k = 1, 2, ... of a manifest lookup: NOMEM each time until
 * k passes the last allocation, never a leak (SQLite-style). */
static void test_manifest_alloc_failures(void)
{
    struct qp_model_spec s;
    bool                 ok = false;
    QP_TEST_RAN();
    write_fixtures();
    for (int64_t k = 1; k < 32 && !ok; k++) {
        int64_t live = qp_alloc_live();
        qp_alloc_fail_at(k);
        enum qp_status st    = qp_model_spec_find(MODEL_A, MANIFEST, &s, NULL);
        bool           fired = qp_alloc_failed();
        qp_alloc_fail_at(0);
        CU_ASSERT_EQUAL(st, fired ? QP_E_NOMEM : QP_OK);
        ok = st == QP_OK;
        if (ok)
            CU_ASSERT_STRING_EQUAL(s.labels[2], "dog");
        qp_model_spec_fini(&s);
        CU_ASSERT_EQUAL(qp_alloc_live(), live);
    }
    CU_ASSERT_TRUE(ok);
    remove_fixtures();
}

/* The shipped manifest finds the mirror's models by their sha256. */
static void test_real_manifest(void)
{
    char        model[512], manifest[512];
    const char *src = getenv("QP_SOURCE_DIR");
    if (!qp_test_mirror_file("models/yolox_nano_416_coco.onnx", model, sizeof model))
        QP_TEST_SKIP("mirror has no models/yolox_nano_416_coco.onnx");
    if (!src)
        QP_TEST_SKIP("QP_SOURCE_DIR is not set (run through ctest)");
    QP_TEST_RAN();
    snprintf(manifest, sizeof manifest, "%s/models/zoo.ini", src);
    struct qp_model_spec s;
    struct qp_err        err = {{0}};
    enum qp_status       st  = qp_model_spec_find(model, manifest, &s, &err);
    if (st != QP_OK)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, QP_OK);
    CU_ASSERT_STRING_EQUAL(s.name, "yolox_nano_416_coco");
    CU_ASSERT_TRUE(s.bgr && s.letterbox);
    CU_ASSERT_EQUAL(s.pad_value, 114.0f);
    CU_ASSERT_EQUAL(s.head, QP_HEAD_YOLOX);
    CU_ASSERT_EQUAL_FATAL(s.n_classes, 80);
    CU_ASSERT_STRING_EQUAL(s.labels[16], "dog");
    qp_model_spec_fini(&s);
}

static CU_TestInfo decode_tests[] = {
    {"yolox decode", test_yolox_decode},
    {"gfl decode", test_gfl_decode},
    {"boxes back to source pixels", test_boxes_back_to_source},
    {"gfl outputs bound by shape", test_bind_gfl_by_shape},
    {"binding errors", test_bind_errors},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo nms_tests[] = {
    {"same class suppressed", test_nms_same_class_suppressed},
    {"class-aware vs agnostic", test_nms_class_aware_vs_agnostic},
    {"IoU boundary", test_nms_iou_boundary},
    {"ties are stable", test_nms_ties_are_stable},
    {"max_dets", test_nms_max_dets},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo spec_tests[] = {
    {"sha256 vectors", test_sha256_vectors},
    {"set values", test_spec_set_values},
    {"set errors", test_spec_set_errors},
    {"manifest lookup by sha256 and name", test_manifest_lookup},
    {"sidecar", test_sidecar},
    {"manifest errors name file and line", test_manifest_errors},
    {"manifest allocation failures", test_manifest_alloc_failures},
    {"shipped manifest", test_real_manifest},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"post/decode", NULL, NULL, NULL, NULL, decode_tests},
    {"post/nms", NULL, NULL, NULL, NULL, nms_tests},
    {"post/spec", NULL, NULL, NULL, NULL, spec_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
