// SPDX-License-Identifier: Apache-2.0
/*
 * make_seeds.c - the fuzz targets' seed corpora, written with the product's
 * own encoders and writers: qp_fuzz_seeds OUTDIR writes OUTDIR/<target>/
 * for wire, image, mcap, onnx, qpe and config.
 *
 * Two sources. Synthetic inputs (gradient images, hand-set messages, small
 * ONNX models from tests/onnx_builder.h, MCAP recordings of those frames,
 * engines built from those models, a full configuration) are made always;
 * they are what tests/fuzz/corpus/ was started from. With the mirror of
 * real data (env QP_MIRROR) the real images are decoded and re-encoded
 * small (JPEG 4:4:4 / 4:2:0 / gray / progressive, PNG RGB / gray / RGBA /
 * 16-bit) and sent as Frames, and the real models are built into .qpe
 * engines; tests/fuzz/make_seeds.sh adds the real files themselves. Nothing
 * made from the mirror belongs in the repository.
 *
 * Exit 0 when every synthetic seed was written (a failed mirror seed is
 * reported and skipped), 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include <spng.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>

#include "clients/mcap/mcap.h"
#include "engine_int.h"
#include "graph/passes.h"
#include "onnx_builder.h"
#include "proto/wire.h"
#include "qpe/qpe.h"
#include "qpercept/detect.h"
#include "server/config.h"

static const char *out_dir;
static bool        failed;

static void put(const char *target, const char *name, const void *data, size_t n)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
    FILE *f  = fopen(path, "wb");
    bool  ok = f && fwrite(data, 1, n, f) == n;
    ok       = (f && fclose(f) == 0) && ok;
    if (!ok) {
        fprintf(stderr, "make_seeds: cannot write %s\n", path);
        failed = true;
    }
}

/* ===== images ===== */

struct rgb {
    int      w, h;
    uint8_t *p; /* w * h * 3 */
};

static struct rgb gradient(int w, int h)
{
    struct rgb g = {w, h, malloc((size_t)w * (size_t)h * 3)};
    if (!g.p)
        abort();
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *q = g.p + 3 * ((size_t)y * (size_t)w + (size_t)x);
            q[0] = (uint8_t)(x * 255 / w), q[1] = (uint8_t)(y * 255 / h), q[2] = (uint8_t)(x ^ y);
        }
    return g;
}

/* Nearest-neighbour w x h copy of an RGB8 image. */
static struct rgb shrink(const struct qp_image *img, int w, int h)
{
    struct rgb s = gradient(w, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memcpy(s.p + 3 * ((size_t)y * (size_t)w + (size_t)x),
                   img->data + (size_t)(y * img->height / h) * (size_t)img->stride +
                       3 * (size_t)(x * img->width / w),
                   3);
    return s;
}

/* JPEG of im: subsampling TJSAMP_*, flags TJFLAG_PROGRESSIVE or 0. malloc'd. */
static uint8_t *jpeg(const struct rgb *im, int samp, int flags, size_t *n)
{
    tjhandle       tj  = tjInitCompress();
    unsigned char *buf = NULL;
    unsigned long  len = 0;
    if (!tj || tjCompress2(tj, im->p, im->w, im->w * 3, im->h, TJPF_RGB, &buf, &len, samp, 85,
                           flags) != 0) {
        fprintf(stderr, "make_seeds: jpeg: %s\n", tjGetErrorStr2(tj));
        exit(1);
    }
    tjDestroy(tj);
    uint8_t *out = malloc(len);
    if (!out)
        abort();
    memcpy(out, buf, len);
    tjFree(buf);
    *n = len;
    return out;
}

/* PNG of im with SPNG colour type ct (RGB, GRAY, RGBA) and bit depth 8 or 16. */
static uint8_t *png(const struct rgb *im, int ct, int depth, size_t *n)
{
    int      ch  = ct == SPNG_COLOR_TYPE_GRAYSCALE ? 1 : ct == SPNG_COLOR_TYPE_TRUECOLOR ? 3 : 4;
    size_t   bps = (size_t)depth / 8, len = (size_t)im->w * (size_t)im->h * (size_t)ch * bps;
    uint8_t *px = calloc(len, 1);
    if (!px)
        abort();
    for (size_t i = 0; i < (size_t)im->w * (size_t)im->h; i++)
        for (int c = 0; c < ch; c++) {
            uint8_t v = c < 3 ? im->p[3 * i + (size_t)(ch == 1 ? 1 : c)] : (uint8_t)(i * 7);
            for (size_t b = 0; b < bps; b++)
                px[(i * (size_t)ch + (size_t)c) * bps + b] = v;
        }
    spng_ctx        *ctx  = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ihdr = {
        (uint32_t)im->w, (uint32_t)im->h, (uint8_t)depth, (uint8_t)ct, 0, 0, 0};
    int rc = ctx ? spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1) : SPNG_EMEM;
    if (!rc)
        rc = spng_set_ihdr(ctx, &ihdr);
    if (!rc)
        rc = spng_encode_image(ctx, px, len, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    int      err = 0;
    uint8_t *out = rc ? NULL : spng_get_png_buffer(ctx, n, &err);
    if (!out) {
        fprintf(stderr, "make_seeds: png: %s\n", spng_strerror(rc ? rc : err));
        exit(1);
    }
    spng_ctx_free(ctx);
    free(px);
    return out;
}

/* Every encoding of im into image/ as <tag>_*, the first JPEG into *first. */
static void images(const char *tag, const struct rgb *im, uint8_t **first, size_t *first_n)
{
    static const struct {
        const char *name;
        int         samp, flags;
    } jp[] = {{"444.jpg", TJSAMP_444, 0},
              {"420.jpg", TJSAMP_420, 0},
              {"gray.jpg", TJSAMP_GRAY, 0},
              {"progressive.jpg", TJSAMP_420, TJFLAG_PROGRESSIVE}};
    static const struct {
        const char *name;
        int         ct, depth;
    } pn[] = {{"rgb.png", SPNG_COLOR_TYPE_TRUECOLOR, 8},
              {"gray.png", SPNG_COLOR_TYPE_GRAYSCALE, 8},
              {"rgba.png", SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, 8},
              {"rgb16.png", SPNG_COLOR_TYPE_TRUECOLOR, 16}};
    char name[256];
    for (size_t i = 0; i < sizeof jp / sizeof jp[0]; i++) {
        size_t   n;
        uint8_t *b = jpeg(im, jp[i].samp, jp[i].flags, &n);
        snprintf(name, sizeof name, "%s_%s", tag, jp[i].name);
        put("image", name, b, n);
        if (i == 0 && first) {
            *first   = b;
            *first_n = n;
        } else {
            free(b);
        }
    }
    for (size_t i = 0; i < sizeof pn / sizeof pn[0]; i++) {
        size_t   n;
        uint8_t *b = png(im, pn[i].ct, pn[i].depth, &n);
        snprintf(name, sizeof name, "%s_%s", tag, pn[i].name);
        put("image", name, b, n);
        free(b);
    }
}

/* ===== wire messages (first byte: fuzz_wire.c's kind) ===== */

enum { K_FRAME, K_DETECTIONS, K_REQUEST, K_REPLY };

static uint8_t wire_buf[(size_t)1 << 20];

static void put_wire(const char *name, int kind, enum qp_status st, size_t n)
{
    if (st != QP_OK) {
        fprintf(stderr, "make_seeds: cannot encode %s\n", name);
        failed = true;
        return;
    }
    uint8_t *b = malloc(n + 1);
    if (!b)
        abort();
    b[0] = (uint8_t)kind;
    memcpy(b + 1, wire_buf, n);
    put("wire", name, b, n + 1);
    free(b);
}

/* A Frame's encoding in wire_buf; its length. */
static size_t frame(const char *stream, uint64_t seq, enum qp_wire_pixel_format fmt, uint32_t w,
                    uint32_t h, const uint8_t *px, size_t n, enum qp_status *st)
{
    struct qp_wire_frame f = {.width = w, .height = h, .format = fmt, .data = QP_WIRE_DATA_INLINE};
    snprintf(f.header.stream, sizeof f.header.stream, "%s", stream);
    snprintf(f.header.frame_id, sizeof f.header.frame_id, "camera_%s", stream);
    f.header.seq        = seq;
    f.header.capture_ns = 1700000000000000000ull + seq * 33333333ull;
    f.stride            = (uint32_t)(qp_wire_pixel_format_bpp(fmt) * w);
    f.pixels            = px;
    f.pixels_bytes      = n;
    size_t len          = 0;
    *st                 = qp_wire_encode_frame(&f, wire_buf, sizeof wire_buf, &len, NULL);
    return len;
}

static void wire_seeds(const uint8_t *jpg, size_t jpg_n, const uint8_t *pngb, size_t png_n)
{
    static uint8_t px[16 * 8 * 3];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i * 13);
    enum qp_status st;
    size_t         n;
    n = frame("front", 1, QP_WIRE_PIXEL_RGB8, 16, 8, px, 16 * 8 * 3, &st);
    put_wire("frame_rgb8", K_FRAME, st, n);
    n = frame("rear", 7, QP_WIRE_PIXEL_BGR8, 8, 4, px, 8 * 4 * 3, &st);
    put_wire("frame_bgr8", K_FRAME, st, n);
    n = frame("left", 2, QP_WIRE_PIXEL_GRAY8, 16, 8, px, 16 * 8, &st);
    put_wire("frame_gray8", K_FRAME, st, n);
    n = frame("right", 3, QP_WIRE_PIXEL_NV12, 8, 4, px, 8 * 4 * 3 / 2, &st);
    put_wire("frame_nv12", K_FRAME, st, n);
    n = frame("front", 4, QP_WIRE_PIXEL_JPEG, 24, 16, jpg, jpg_n, &st);
    put_wire("frame_jpeg", K_FRAME, st, n);
    n = frame("front", 5, QP_WIRE_PIXEL_PNG, 24, 16, pngb, png_n, &st);
    put_wire("frame_png", K_FRAME, st, n);

    struct qp_wire_frame s = {.width  = 640,
                              .height = 480,
                              .stride = 1920,
                              .format = QP_WIRE_PIXEL_RGB8,
                              .data   = QP_WIRE_DATA_SHM};
    snprintf(s.header.stream, sizeof s.header.stream, "front");
    s.header.seq = 9;
    snprintf(s.shm.segment, sizeof s.shm.segment, "/qpercept.front");
    s.shm = (struct qp_wire_shm_slot){
        .slot = 2, .offset_bytes = 2 * 921600, .size_bytes = 921600, .generation = 6};
    snprintf(s.shm.segment, sizeof s.shm.segment, "/qpercept.front");
    st = qp_wire_encode_frame(&s, wire_buf, sizeof wire_buf, &n, NULL);
    put_wire("frame_shm", K_FRAME, st, n);

    static struct qp_wire_detections d;
    snprintf(d.header.stream, sizeof d.header.stream, "front");
    d.header.seq = 4;
    snprintf(d.model, sizeof d.model, "nanodet_m_416_coco");
    snprintf(d.engine_id, sizeof d.engine_id, "nanodet_m_416_coco/cpu/fp32");
    d.stamps       = (struct qp_wire_stamps){1, 2, 3, 4, 5};
    d.batch_size   = 2;
    d.drops        = (struct qp_wire_drops){1, 2, 3, 4, 5, 6, 7};
    d.status       = QP_WIRE_DET_STATUS_OK;
    d.n_detections = 3;
    for (uint32_t i = 0; i < 3; i++) {
        d.detections[i] = (struct qp_wire_detection){.class_id = i * 2,
                                                     .score    = 0.9f - 0.2f * (float)i,
                                                     .x0       = 1.5f * (float)i,
                                                     .y0       = 2.0f,
                                                     .x1       = 10.0f + (float)i,
                                                     .y1       = 20.0f};
        snprintf(d.detections[i].label, sizeof d.detections[i].label, "%s",
                 (const char *[]){"person", "car", "traffic light"}[i]);
    }
    st = qp_wire_encode_detections(&d, wire_buf, sizeof wire_buf, &n, NULL);
    put_wire("detections", K_DETECTIONS, st, n);
    d.status = QP_WIRE_DET_STATUS_ERROR, d.n_detections = 0;
    snprintf(d.error, sizeof d.error, "engine: injected device fault");
    st = qp_wire_encode_detections(&d, wire_buf, sizeof wire_buf, &n, NULL);
    put_wire("detections_error", K_DETECTIONS, st, n);

    for (int k = QP_WIRE_CONTROL_PING; k < QP_WIRE_CONTROL_COUNT; k++) {
        struct qp_wire_control_request r = {.kind = (enum qp_wire_control_kind)k};
        if (k == QP_WIRE_CONTROL_RELOAD)
            snprintf(r.engine_path, sizeof r.engine_path, "models/nanodet.qpe");
        st = qp_wire_encode_control_request(&r, wire_buf, sizeof wire_buf, &n, NULL);
        char name[64];
        snprintf(name, sizeof name, "request_%s", qp_wire_control_kind_name(r.kind));
        put_wire(name, K_REQUEST, st, n);

        static const char            stats[] = "{\"streams\":{\"front\":{\"frames\":10}}}";
        struct qp_wire_control_reply y       = {.kind           = r.kind,
                                                .ok             = true,
                                                .server_time_ns = 1700000000000000000ull,
                                                .state          = QP_WIRE_SERVER_SERVING,
                                                .uptime_ns      = 5000000000ull,
                                                .n_streams      = 2};
        snprintf(y.version, sizeof y.version, "0.1.0");
        snprintf(y.model, sizeof y.model, "nanodet_m_416_coco");
        snprintf(y.engine_id, sizeof y.engine_id, "nanodet/cpu/fp32");
        snprintf(y.backend, sizeof y.backend, "cpu");
        if (k == QP_WIRE_CONTROL_STATS)
            y.stats_json = stats, y.stats_json_bytes = sizeof stats - 1;
        st = qp_wire_encode_control_reply(&y, wire_buf, sizeof wire_buf, &n, NULL);
        snprintf(name, sizeof name, "reply_%s", qp_wire_control_kind_name(r.kind));
        put_wire(name, K_REPLY, st, n);
    }
    struct qp_wire_control_reply bad = {.ok = false};
    snprintf(bad.error, sizeof bad.error, "unknown request");
    st = qp_wire_encode_control_reply(&bad, wire_buf, sizeof wire_buf, &n, NULL);
    put_wire("reply_failed", K_REPLY, st, n);
}

/* ===== MCAP recordings of Frames ===== */

static void mcap_seeds(const uint8_t *jpg, size_t jpg_n)
{
    static const char *names[] = {"none.mcap", "zstd.mcap", "lz4.mcap"};
    static uint8_t     px[8 * 4 * 3];
    for (int c = 0; c < QP_MCAP_COMPRESSION_COUNT; c++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/mcap", out_dir);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/mcap/%s", out_dir, names[c]);
        struct qp_mcap_writer_opts o = QP_MCAP_WRITER_OPTS_DEFAULT;
        o.compression                = (enum qp_mcap_compression)c;
        o.chunk_bytes                = 4096;
        o.max_message_bytes          = (size_t)1 << 20;
        struct qp_mcap_writer *w     = NULL;
        struct qp_err          err   = {{0}};
        uint16_t               sid = 0, cid = 0, did = 0;
        struct qp_mcap_kv      kv    = {"camera", "front"};
        static const uint8_t   fds[] = {0x0a, 0x05, 'a', '.', 'p', 'r', 'o'};
        enum qp_status         st    = qp_mcap_writer_open(path, &o, &w, &err);
        if (st == QP_OK)
            st = qp_mcap_writer_add_schema(w, "qpercept.v1.Frame", "protobuf", fds, sizeof fds,
                                           &sid, &err);
        if (st == QP_OK)
            st = qp_mcap_writer_add_channel(w, "/front/frame", "protobuf", sid, &kv, 1, &cid, &err);
        if (st == QP_OK)
            st = qp_mcap_writer_add_channel(w, "/front/jpeg", "protobuf", sid, NULL, 0, &did, &err);
        for (uint32_t i = 0; st == QP_OK && i < 6; i++) {
            size_t n = i % 2 ? frame("front", i, QP_WIRE_PIXEL_JPEG, 24, 16, jpg, jpg_n, &st)
                             : frame("front", i, QP_WIRE_PIXEL_RGB8, 8, 4, px, sizeof px, &st);
            struct qp_mcap_message m = {i % 2 ? did : cid, i, 1000 + i, 1000 + i, wire_buf, n};
            if (st == QP_OK)
                st = qp_mcap_writer_write(w, &m, &err);
            if (st == QP_OK && i == 2)
                st = qp_mcap_writer_flush(w, &err);
        }
        if (st == QP_OK)
            st = qp_mcap_writer_close(w, &err);
        else
            qp_mcap_writer_free(w);
        if (st != QP_OK) {
            fprintf(stderr, "make_seeds: %s: %s\n", path, err.msg);
            failed = true;
        }
    }
}

/* ===== ONNX models and the engines built from them ===== */

static void onnx_model(const char *name)
{
    size_t   n;
    uint8_t *b = mb_pack(&n);
    put("onnx", name, b, n);
    free(b);
}

/* Build path (an ONNX model) as the CPU engine path does and save it. */
static void qpe_from(const char *path, const char *name, bool must)
{
    struct qp_engine_options opt = {0};
    struct qp_pass_stats     ps  = {0};
    struct qp_graph          g;
    struct qp_err            err = {{0}};
    enum qp_status           st  = qp_engine_front(path, &opt, &g, &ps, &err);
    if (st == QP_OK) {
        struct qp_qpe_meta m = {.created_unix = 1700000000};
        snprintf(m.target, sizeof m.target, "cpu");
        snprintf(m.precision, sizeof m.precision, "fp32");
        snprintf(m.producer, sizeof m.producer, "qpercept make_seeds");
        st = qp_sha256_file(path, m.model_sha256, &err);
        char out[2048];
        snprintf(out, sizeof out, "%s/qpe", out_dir);
        mkdir(out, 0755);
        snprintf(out, sizeof out, "%s/qpe/%s", out_dir, name);
        if (st == QP_OK)
            st = qp_qpe_save(out, &g, &m, &err);
        qp_graph_fini(&g);
    }
    if (st != QP_OK) {
        fprintf(stderr, "make_seeds: engine from %s: %s\n", path, err.msg);
        failed = failed || must;
    }
}

static void onnx_seeds(void)
{
    static const int64_t nchw[] = {1, 3, 8, 8}, wd[] = {4, 3, 3, 3}, bd[] = {4};
    static float         w[4 * 3 * 3 * 3], b[4];
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        w[i] = (float)((int)(i % 7) - 3) / 8.0f;
    char path[2048];

    mb_begin(13); /* Conv + Relu + MaxPool */
    mb_input("x", 4, nchw);
    init_raw("w", DT(FLOAT), 4, wd, w, sizeof w);
    init_raw("b", DT(FLOAT), 1, bd, b, sizeof b);
    Onnx__NodeProto *c = mb_node("Conv", "conv", "x,w,b", "c");
    attr_ints(c, "kernel_shape", 2, (const int64_t[]){3, 3});
    attr_ints(c, "pads", 4, (const int64_t[]){1, 1, 1, 1});
    mb_node("Relu", "relu", "c", "r");
    Onnx__NodeProto *p = mb_node("MaxPool", "pool", "r", "y");
    attr_ints(p, "kernel_shape", 2, (const int64_t[]){2, 2});
    attr_ints(p, "strides", 2, (const int64_t[]){2, 2});
    mb_output("y");
    onnx_model("conv_relu_pool.onnx");
    snprintf(path, sizeof path, "%s/conv.onnx.tmp", out_dir);
    setenv("QP_BINARY_DIR", out_dir, 1);
    if (mb_save("conv.onnx.tmp", path, sizeof path))
        qpe_from(path, "conv_relu_pool.qpe", true);
    remove(path);

    mb_begin(13); /* Sigmoid * x (SiLU), Concat, Transpose, Reshape, Softmax */
    mb_input("x", 4, nchw);
    mb_node("Sigmoid", "sig", "x", "s");
    mb_node("Mul", "silu", "x,s", "m");
    attr_i(mb_node("Concat", "cat", "m,x", "k"), "axis", 1);
    attr_ints(mb_node("Transpose", "t", "k", "tt"), "perm", 4, (const int64_t[]){0, 2, 3, 1});
    static const int64_t shape[] = {1, 64, 6}, sd[] = {3};
    init_raw("shape", DT(INT64), 1, sd, shape, sizeof shape);
    mb_node("Reshape", "reshape", "tt,shape", "rs");
    attr_i(mb_node("Softmax", "softmax", "rs", "y"), "axis", -1);
    mb_output("y");
    onnx_model("silu_concat_softmax.onnx");
    snprintf(path, sizeof path, "%s/silu.onnx.tmp", out_dir);
    if (mb_save("silu.onnx.tmp", path, sizeof path))
        qpe_from(path, "silu_concat_softmax.qpe", true);
    remove(path);

    mb_begin(13); /* Resize with scales, Add with broadcast, Constant */
    mb_input("x", 4, nchw);
    static const float   sc[] = {1, 1, 2, 2}, one[] = {1};
    static const int64_t sn[] = {4}, on[] = {1};
    init_raw("scales", DT(FLOAT), 1, sn, sc, sizeof sc);
    attr_s(mb_node("Resize", "resize", "x,,scales", "u"), "mode", "nearest");
    init_raw("one", DT(FLOAT), 1, on, one, sizeof one);
    mb_node("Add", "add", "u,one", "y");
    mb_output("y");
    onnx_model("resize_add.onnx");
}

/* ===== configuration ===== */

static void config_seeds(void)
{
    static struct qp_config cfg;
    static const char      *set[][2] = {
             {"engine.path", "models/nanodet.qpe"},
             {"engine.batch_sizes", "1,2,4"},
             {"stream.front.endpoint", "tcp://127.0.0.1:5601"},
             {"stream.rear.endpoint", "ipc:///tmp/qp-rear"},
             {"stream.rear.mode", "pull"},
             {"stream.rear.width", "640"},
             {"stream.rear.height", "480"},
    };
    qp_config_init(&cfg);
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
        struct qp_err err = {{0}};
        if (qp_config_set(&cfg, set[i][0], set[i][1], &err) != QP_OK) {
            fprintf(stderr, "make_seeds: config %s: %s\n", set[i][0], err.msg);
            failed = true;
        }
    }
    char  *text = NULL;
    size_t len  = 0;
    FILE  *f    = open_memstream(&text, &len);
    if (!f || qp_config_print(&cfg, f) != QP_OK) {
        failed = true;
        return;
    }
    fclose(f);
    put("config", "printed.conf", text, len);
    free(text);
}

/* ===== the mirror's images and models ===== */

static void mirror_seeds(const char *mirror)
{
    static const char *imgs[][2] = {{"data/images/dog.jpg", "dog"},
                                    {"data/driving/kitti/000007.png", "kitti"},
                                    {"data/drives/nuscenes_mini/frames/000000.jpg", "nuscenes"}};
    for (size_t i = 0; i < sizeof imgs / sizeof imgs[0]; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", mirror, imgs[i][0]);
        struct qp_image img = {0};
        struct qp_err   err = {{0}};
        if (qp_image_load(path, &img, &err) != QP_OK) {
            fprintf(stderr, "make_seeds: skipped %s: %s\n", path, err.msg);
            continue;
        }
        struct rgb s  = shrink(&img, 64, 48);
        uint8_t   *jb = NULL;
        size_t     jn = 0;
        images(imgs[i][1], &s, &jb, &jn);
        enum qp_status st;
        size_t         n = frame("front", 100 + i, QP_WIRE_PIXEL_JPEG, 64, 48, jb, jn, &st);
        snprintf(path, sizeof path, "frame_%s_jpeg", imgs[i][1]);
        put_wire(path, K_FRAME, st, n);
        n = frame("front", 100 + i, QP_WIRE_PIXEL_RGB8, 64, 48, s.p, 64 * 48 * 3, &st);
        snprintf(path, sizeof path, "frame_%s_rgb8", imgs[i][1]);
        put_wire(path, K_FRAME, st, n);
        free(jb);
        free(s.p);
        qp_image_free(&img);
    }
    static const char *models[] = {"nanodet_m_416_coco", "yolox_nano_416_coco"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char path[2048], name[256];
        snprintf(path, sizeof path, "%s/models/%s.onnx", mirror, models[i]);
        snprintf(name, sizeof name, "%s.qpe", models[i]);
        qpe_from(path, name, false);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: qp_fuzz_seeds OUTDIR  (env QP_MIRROR: real data to add)\n");
        return 2;
    }
    out_dir = argv[1];
    mkdir(out_dir, 0755);
    struct rgb g  = gradient(24, 16);
    uint8_t   *jb = NULL, *pb;
    size_t     jn = 0, pn;
    images("gradient", &g, &jb, &jn);
    pb = png(&g, SPNG_COLOR_TYPE_TRUECOLOR, 8, &pn);
    wire_seeds(jb, jn, pb, pn);
    mcap_seeds(jb, jn);
    onnx_seeds();
    config_seeds();
    free(jb);
    free(pb);
    free(g.p);
    const char *mirror = getenv("QP_MIRROR");
    if (mirror && *mirror)
        mirror_seeds(mirror);
    fprintf(stderr, "make_seeds: %s %s\n", out_dir, failed ? "INCOMPLETE" : "written");
    return failed ? 1 : 0;
}
