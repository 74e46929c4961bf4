// SPDX-License-Identifier: Apache-2.0
/*
 * test_images_mcap.c - an MCAP recording as an image set
 * (clients/cli/images_mcap.c, through qp_cli_images_list as `qpercept
 * build --calib` and `eval --images` call it), on a recording written here
 * with qp_mcap_writer: six Frame streams (RGB8, BGR8, GRAY8 and NV12 of
 * known pixels, a JPEG and a real PNG), two rounds:
 *   - every frame becomes a file named <index>_<stream>.<ext> in time
 *     order: JPEG and PNG byte for byte, raw frames as PNGs that decode
 *     to the frame's RGB (BGR swapped, gray replicated, NV12 by BT.601
 *     with each 2x2 block's chroma, two values by hand);
 *   - max with spread picks evenly over the drive, without it the first;
 *   - free removes the files and the directory;
 *   - a file that is not MCAP, an MCAP without frames and an unusable
 *     TMPDIR fail naming the option and the file or directory.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, setenv */
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "image/yuv.h"
#include "mcap_case.h"
#include "proto/wire.h"
#include "qp_test.h"
#include "qpercept/detect.h"

#define W 4
#define H 2
#define N_STREAMS 6
#define N_ROUNDS 2

enum stream { S_RGB = 0, S_BGR, S_GRAY, S_NV12, S_JPEG, S_PNG };
static const char *const               names[N_STREAMS] = {"cam_rgb",  "cam_bgr",  "cam_gray",
                                                           "cam_nv12", "cam_jpeg", "cam_png"};
static const enum qp_wire_pixel_format fmts[N_STREAMS]  = {QP_WIRE_PIXEL_RGB8,  QP_WIRE_PIXEL_BGR8,
                                                           QP_WIRE_PIXEL_GRAY8, QP_WIRE_PIXEL_NV12,
                                                           QP_WIRE_PIXEL_JPEG,  QP_WIRE_PIXEL_PNG};

static uint8_t rgb[W * H * 3], gray[W * H], nv12[W * H * 3 / 2];
/* a JPEG is taken at its declared size (SOI + SOF0: 16 x 32) */
static const uint8_t jpeg[15] = {0xff, 0xd8, 0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00,
                                 0x20, 0x00, 0x10, 0x01, 0x01, 0x11, 0x00};
static uint8_t      *png;
static size_t        png_n;
static char          rec[1024], not_mcap[1024], empty[1024];

/* The pixels of every raw stream and a real 4 x 2 PNG of rgb. */
static void make_pixels(void)
{
    for (size_t i = 0; i < sizeof rgb; i++)
        rgb[i] = (uint8_t)(i * 11 + 3);
    for (size_t i = 0; i < sizeof gray; i++)
        gray[i] = (uint8_t)(i * 30);
    /* Y: 16 and 235 (black and white at U = V = 128), then grey; UV: the
     * left block neutral, the right one red-shifted */
    static const uint8_t y[W * H] = {16, 235, 126, 126, 126, 126, 235, 16};
    static const uint8_t uv[W]    = {128, 128, 128, 255};
    memcpy(nv12, y, sizeof y);
    memcpy(nv12 + sizeof y, uv, sizeof uv);
    spng_ctx        *ctx  = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ihdr = {W, H, 8, SPNG_COLOR_TYPE_TRUECOLOR, 0, 0, 0};
    int              rc   = ctx ? spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1) : SPNG_EMEM;
    if (!rc)
        rc = spng_set_ihdr(ctx, &ihdr);
    if (!rc)
        rc = spng_encode_image(ctx, rgb, sizeof rgb, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    int e = 0;
    png   = rc ? NULL : spng_get_png_buffer(ctx, &png_n, &e);
    spng_ctx_free(ctx);
}

/* The Frame of stream s, round k. */
static size_t frame_msg(int s, int k, uint8_t *out, size_t cap)
{
    struct qp_wire_frame f = {0};
    size_t               n = 0;
    snprintf(f.header.stream, sizeof f.header.stream, "%s", names[s]);
    f.header.seq        = (uint64_t)k;
    f.header.capture_ns = 1700000000000000000ull + (uint64_t)(k * N_STREAMS + s) * 1000000ull;
    f.format            = fmts[s];
    f.data              = QP_WIRE_DATA_INLINE;
    f.width             = s == S_JPEG ? 16 : W;
    f.height            = s == S_JPEG ? 32 : H;
    f.stride            = s == S_JPEG || s == S_PNG ? 0 : s == S_GRAY || s == S_NV12 ? W : W * 3;
    static const struct {
        const uint8_t *p;
        size_t         n;
    } px[N_STREAMS] = {{rgb, sizeof rgb},   {rgb, sizeof rgb},   {gray, sizeof gray},
                       {nv12, sizeof nv12}, {jpeg, sizeof jpeg}, {NULL, 0}};
    f.pixels        = s == S_PNG ? png : px[s].p;
    f.pixels_bytes  = s == S_PNG ? png_n : px[s].n;
    CU_ASSERT_FATAL(qp_wire_encode_frame(&f, out, cap, &n, NULL) == QP_OK);
    return n;
}

/* A recording of n_rounds rounds of the six streams at path. */
static void write_rec(const char *path, int n_rounds)
{
    struct qp_mcap_writer_opts o = QP_MCAP_WRITER_OPTS_DEFAULT;
    struct qp_mcap_writer     *w;
    struct qp_err              err = {{0}};
    uint16_t                   sid, cid[N_STREAMS];
    static uint8_t             buf[4096];
    CU_ASSERT_FATAL(qp_mcap_writer_open(path, &o, &w, &err) == QP_OK);
    CU_ASSERT_FATAL(
        qp_mcap_writer_add_schema(w, "qpercept.v1.Frame", "protobuf", "x", 1, &sid, &err) == QP_OK);
    for (int s = 0; s < N_STREAMS; s++) {
        char              topic[64];
        struct qp_mcap_kv kv = {"stream", names[s]};
        snprintf(topic, sizeof topic, "/qpercept/frames/%s", names[s]);
        CU_ASSERT_FATAL(
            qp_mcap_writer_add_channel(w, topic, "protobuf", sid, &kv, 1, &cid[s], &err) == QP_OK);
    }
    for (int k = 0; k < n_rounds; k++)
        for (int s = 0; s < N_STREAMS; s++) {
            struct qp_mcap_message m = {.channel_id = cid[s], .sequence = (uint32_t)k};
            m.len                    = frame_msg(s, k, buf, sizeof buf);
            m.data                   = buf;
            m.log_time_ns     = 1700000000000000000ull + (uint64_t)(k * N_STREAMS + s) * 1000000ull;
            m.publish_time_ns = m.log_time_ns;
            CU_ASSERT_FATAL(qp_mcap_writer_write(w, &m, &err) == QP_OK);
        }
    CU_ASSERT_FATAL(qp_mcap_writer_close(w, &err) == QP_OK);
}

static int suite_init(void)
{
    if (mc_suite_init() != 0)
        return -1;
    make_pixels();
    if (!png)
        return -1;
    mc_path("rec.mcap", rec, sizeof rec);
    mc_path("not_mcap.mcap", not_mcap, sizeof not_mcap);
    mc_path("empty.mcap", empty, sizeof empty);
    FILE *f = fopen(not_mcap, "w");
    if (!f || fputs("not an MCAP recording\n", f) < 0 || fclose(f) != 0)
        return -1;
    return 0;
}

static int suite_clean(void)
{
    free(png);
    return mc_suite_clean();
}

/* Stream s's expected RGB8 of pixel i. */
static void want_rgb(int s, int i, uint8_t out[3])
{
    switch (s) {
    case S_BGR:
        out[0] = rgb[3 * i + 2], out[1] = rgb[3 * i + 1], out[2] = rgb[3 * i];
        break;
    case S_GRAY:
        out[0] = out[1] = out[2] = gray[i];
        break;
    case S_NV12:
        qp_yuv_to_rgb(nv12[i], nv12[W * H + (i % W & ~1)], nv12[W * H + (i % W | 1)], out);
        break;
    default:
        memcpy(out, rgb + 3 * i, 3);
        break;
    }
}

/* File path holds exactly n bytes equal to p. */
static bool file_is(const char *path, const uint8_t *p, size_t n)
{
    uint8_t buf[4096];
    FILE   *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t got = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return got == n && memcmp(buf, p, n) == 0;
}

/* Image i of l is frame j of the recording: name, then bytes or pixels. */
static void check_file(const struct qp_cli_images *l, int i, int j)
{
    int  s = j % N_STREAMS;
    char want[128];
    snprintf(want, sizeof want, "%s/%06d_%s.%s", l->tmpdir, j, names[s],
             s == S_JPEG ? "jpg" : "png");
    CU_ASSERT_STRING_EQUAL(l->paths[i], want);
    if (s == S_JPEG) {
        CU_ASSERT(file_is(l->paths[i], jpeg, sizeof jpeg));
        return;
    }
    if (s == S_PNG) {
        CU_ASSERT(file_is(l->paths[i], png, png_n));
        return;
    }
    struct qp_image img;
    struct qp_err   err = {{0}};
    CU_ASSERT_EQUAL_FATAL(qp_image_load(l->paths[i], &img, &err), QP_OK);
    CU_ASSERT(img.width == W && img.height == H && img.format == QP_PIXEL_RGB8);
    for (int p = 0; p < W * H; p++) {
        uint8_t e[3];
        want_rgb(s, p, e);
        CU_ASSERT(memcmp(img.data + (size_t)(p / W) * (size_t)img.stride + (size_t)(p % W) * 3, e,
                         3) == 0);
    }
    qp_image_free(&img);
}

static void test_every_frame(void)
{
    struct qp_cli_images l   = {0};
    struct qp_err        err = {{0}};
    write_rec(rec, N_ROUNDS);
    CU_ASSERT_EQUAL_FATAL(qp_cli_images_list("--calib", rec, 0, true, &l, &err), QP_OK);
    CU_ASSERT_EQUAL_FATAL(l.n, N_ROUNDS * N_STREAMS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l.tmpdir);
    for (int i = 0; i < l.n; i++)
        check_file(&l, i, i);
    /* NV12 by hand: Y 16 / 235 with neutral chroma are black / white */
    uint8_t e[3];
    want_rgb(S_NV12, 0, e);
    CU_ASSERT(e[0] == 0 && e[1] == 0 && e[2] == 0);
    want_rgb(S_NV12, 1, e);
    CU_ASSERT(e[0] == 255 && e[1] == 255 && e[2] == 255);
    char dir[256];
    snprintf(dir, sizeof dir, "%s", l.tmpdir);
    qp_cli_images_free(&l);
    struct stat sb;
    CU_ASSERT(stat(dir, &sb) != 0); /* gone, with its files */
    CU_ASSERT(l.n == 0 && !l.paths && !l.tmpdir);
}

static void test_max_spread(void)
{
    struct qp_cli_images l   = {0};
    struct qp_err        err = {{0}};
    /* 4 of 12, spread: frames 0, 3, 6, 9 */
    CU_ASSERT_EQUAL_FATAL(qp_cli_images_list("--calib", rec, 4, true, &l, &err), QP_OK);
    CU_ASSERT_EQUAL_FATAL(l.n, 4);
    for (int i = 0; i < 4; i++)
        check_file(&l, i, 3 * i);
    qp_cli_images_free(&l);
    /* the first 3 */
    CU_ASSERT_EQUAL_FATAL(qp_cli_images_list("--images", rec, 3, false, &l, &err), QP_OK);
    CU_ASSERT_EQUAL_FATAL(l.n, 3);
    for (int i = 0; i < 3; i++)
        check_file(&l, i, i);
    qp_cli_images_free(&l);
}

/* qp_cli_images_list(what, path) fails with st, the message holding a and b. */
static void expect_fail(const char *path, enum qp_status st, const char *a, const char *b)
{
    struct qp_cli_images l   = {0};
    struct qp_err        err = {{0}};
    CU_ASSERT_EQUAL(qp_cli_images_list("--calib", path, 0, true, &l, &err), st);
    CU_ASSERT(l.n == 0 && !l.tmpdir);
    if (!strstr(err.msg, a) || !strstr(err.msg, b))
        fprintf(stderr, "message '%s' lacks '%s' or '%s'\n", err.msg, a, b);
    CU_ASSERT(strstr(err.msg, a) && strstr(err.msg, b));
}

static void test_errors(void)
{
    expect_fail(not_mcap, QP_E_FORMAT, "--calib", not_mcap);
    write_rec(empty, 0);
    expect_fail(empty, QP_E_INVAL, "--calib", empty);
    /* nowhere to write the frames */
    char nodir[1100];
    snprintf(nodir, sizeof nodir, "%s/no/such/dir", mc_tmpdir);
    const char *old = getenv("TMPDIR");
    char        keep[1024];
    snprintf(keep, sizeof keep, "%s", old ? old : "");
    CU_ASSERT_FATAL(setenv("TMPDIR", nodir, 1) == 0);
    expect_fail(rec, QP_E_IO, "--calib", nodir);
    if (old)
        setenv("TMPDIR", keep, 1);
    else
        unsetenv("TMPDIR");
}

static CU_TestInfo tests[] = {
    {"every frame a file: bytes, pixels, names, removed", test_every_frame},
    {"max: spread over the drive, or the first", test_max_spread},
    {"not MCAP, no frames, no temp dir: named", test_errors},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"images/mcap", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
