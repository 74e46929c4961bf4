// SPDX-License-Identifier: Apache-2.0
/*
 * test_replay_mcap.c - MCAP recordings as `qpercept replay` sources
 * (clients/cli/replay_mcap.h), on files written here with qp_mcap_writer:
 *   - our Frame channels (two streams: RGB8 and JPEG, one frame with
 *     shared-memory pixels skipped and counted), foxglove CompressedImage
 *     (PNG) and RawImage (rgb8 with a padded step) hand-encoded in
 *     protobuf, a RawImage channel in yuyv and a JSON channel (skipped,
 *     counted, named), detections (ignored): the streams, their names (from
 *     topics, made unique), times relative to the first frame, every
 *     frame's bytes read back (forward, and again after a rewind);
 *   - a message logged out of order: raised to its predecessor's time;
 *   - --topic selection, an unknown topic refused; --start / --end spans;
 *   - the foxglove copies of `record --foxglove` beside Frame channels:
 *     left out by default, played when --topic names them;
 *   - a truncated copy: recovered count, the printed line, its frames;
 *   - garbage, a flipped chunk, an undecodable Frame: errors naming the
 *     file, never a crash (run under ASan too).
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcap_case.h"
#include "proto/wire.h"
#include "qp_test.h"
#include "replay_mcap.h"
#include "replay_source.h"

#define T0 1700000000000000000ull /* log time of the first message */
#define MS 1000000ull

/* ===== Message bytes ===== */

static uint8_t rgb_a[4 * 2 * 3], jpeg_b[15], png_c[156], raw_d[16 * 2 + 4];

/* Pixels and files: a Frame's JPEG is taken at its declared size (SOI +
 * SOF0, 16x32, will do); a CompressedImage's size comes from its header
 * (qp_image_probe), so its PNG is a real one (8x6 RGB, made with zlib); the
 * pixel bytes are a pattern. */
static void make_images(void)
{
    static const uint8_t jpeg[15] = {0xff, 0xd8, 0xff, 0xc0, 0x00, 0x0b, 0x08, 0x00,
                                     0x20, 0x00, 0x10, 0x01, 0x01, 0x11, 0x00};
    static const uint8_t png[156] = {
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x06, 0x08, 0x02, 0x00, 0x00, 0x00, 0x71,
        0x67, 0x48, 0xac, 0x00, 0x00, 0x00, 0x63, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x60,
        0x90, 0xb3, 0x89, 0xaa, 0x98, 0xb6, 0xe5, 0xd2, 0x07, 0x3e, 0x1d, 0xaf, 0x8c, 0xb6, 0x25,
        0x87, 0x1e, 0xfc, 0x93, 0xb1, 0x8a, 0x28, 0x9b, 0xb2, 0x89, 0x81, 0x4b, 0xc3, 0x2d, 0xa5,
        0x69, 0xc1, 0xbe, 0x3b, 0xbf, 0x24, 0xcc, 0x42, 0x8a, 0x26, 0xac, 0x3b, 0xf3, 0x8a, 0x43,
        0xcd, 0x25, 0xa9, 0x61, 0xde, 0x1e, 0x06, 0x11, 0xa3, 0x80, 0xbc, 0x9e, 0x55, 0x27, 0x9e,
        0xb1, 0x28, 0x39, 0xc4, 0xd5, 0xcc, 0xda, 0x71, 0xed, 0x8b, 0x90, 0x81, 0x5f, 0x4e, 0xd7,
        0x8a, 0x63, 0xb8, 0x4c, 0xba, 0xc0, 0x80, 0xc3, 0xa4, 0x5b, 0x0c, 0x38, 0x4c, 0x7a, 0x02,
        0x00, 0xfa, 0x53, 0x46, 0x21, 0x09, 0x38, 0x2a, 0xfc, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
        0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
    for (size_t i = 0; i < sizeof rgb_a; i++)
        rgb_a[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof raw_d; i++)
        raw_d[i] = (uint8_t)(200 - i);
    memcpy(jpeg_b, jpeg, sizeof jpeg);
    memcpy(png_c, png, sizeof png);
}

static size_t frame_msg(const char *stream, uint64_t seq, enum qp_wire_pixel_format fmt, bool shm,
                        uint8_t *out, size_t cap)
{
    struct qp_wire_frame f = {0};
    size_t               n = 0;
    snprintf(f.header.stream, sizeof f.header.stream, "%s", stream);
    f.header.seq        = seq;
    f.header.capture_ns = T0 + seq;
    f.format            = fmt;
    f.width             = fmt == QP_WIRE_PIXEL_JPEG ? 16 : 4;
    f.height            = fmt == QP_WIRE_PIXEL_JPEG ? 32 : 2;
    f.stride            = fmt == QP_WIRE_PIXEL_JPEG ? 0 : 12;
    f.data              = shm ? QP_WIRE_DATA_SHM : QP_WIRE_DATA_INLINE;
    f.pixels            = fmt == QP_WIRE_PIXEL_JPEG ? jpeg_b : rgb_a;
    f.pixels_bytes      = fmt == QP_WIRE_PIXEL_JPEG ? sizeof jpeg_b : sizeof rgb_a;
    if (shm) {
        snprintf(f.shm.segment, sizeof f.shm.segment, "/qp_test");
        f.shm.size_bytes = sizeof rgb_a;
        f.shm.generation = 2;
    }
    CU_ASSERT_FATAL(qp_wire_encode_frame(&f, out, cap, &n, NULL) == QP_OK);
    return n;
}

/* Protobuf by hand: tag, then a varint, fixed32 or length-delimited bytes. */
static void pb_key(struct mc_buf *b, uint32_t field, uint32_t wt)
{
    for (uint32_t v = field << 3 | wt;; v >>= 7) {
        mc_u8(b, (uint8_t)(v > 0x7f ? (v & 0x7f) | 0x80 : v));
        if (v <= 0x7f)
            break;
    }
}

static void pb_bytes(struct mc_buf *b, uint32_t field, const void *p, size_t n)
{
    pb_key(b, field, 2);
    for (size_t v = n;; v >>= 7) {
        mc_u8(b, (uint8_t)(v > 0x7f ? (v & 0x7f) | 0x80 : v));
        if (v <= 0x7f)
            break;
    }
    mc_put(b, p, n);
}

static void pb_fixed32(struct mc_buf *b, uint32_t field, uint32_t v)
{
    pb_key(b, field, 5);
    mc_u32(b, v);
}

/* foxglove.CompressedImage: timestamp 1 (left out), data 2, format 3, frame_id 4. */
static void compressed_msg(struct mc_buf *b, const char *format)
{
    b->n = 0;
    pb_bytes(b, 4, "cam", 3);
    pb_bytes(b, 2, png_c, sizeof png_c);
    pb_bytes(b, 3, format, strlen(format));
}

/* foxglove.RawImage: width 2, height 3, encoding 4, step 5, data 6, frame_id 7. */
static void raw_msg(struct mc_buf *b, const char *encoding)
{
    b->n = 0;
    pb_bytes(b, 7, "cam", 3);
    pb_fixed32(b, 2, 4);
    pb_fixed32(b, 3, 2);
    pb_bytes(b, 4, encoding, strlen(encoding));
    pb_fixed32(b, 5, 16);
    pb_bytes(b, 6, raw_d, sizeof raw_d);
}

/* ===== The recording ===== */

enum ch { CH_A = 0, CH_B, CH_FOX_PNG, CH_FOX_RAW, CH_YUV, CH_JSON, CH_DET, CH_COUNT };

static const struct {
    const char *topic, *schema, *schema_enc, *msg_enc;
} chans[CH_COUNT] = {
    [CH_A]       = {"/qpercept/frames/cam_a", "qpercept.v1.Frame", "protobuf", "protobuf"},
    [CH_B]       = {"/qpercept/frames/cam_b", "qpercept.v1.Frame", "protobuf", "protobuf"},
    [CH_FOX_PNG] = {"cam_a", "foxglove.CompressedImage", "protobuf", "protobuf"},
    [CH_FOX_RAW] = {"/cam/raw image", "foxglove.RawImage", "protobuf", "protobuf"},
    [CH_YUV]     = {"/cam/yuv", "foxglove.RawImage", "protobuf", "protobuf"},
    [CH_JSON]    = {"/cam/json", "foxglove.CompressedImage", "jsonschema", "json"},
    [CH_DET]     = {"/qpercept/detections/cam_a", "qpercept.v1.Detections", "protobuf", "protobuf"},
};

/* Message i of the recording: its channel and log time (ms after T0).
 * Round k (i = 7k .. 7k+6) has one message per channel, i at 40 k + i % 7
 * + 10 ms, except message 22 (cam_b's of round 3), logged 5 ms before
 * message 21 (cam_a's); cam_a's frame of round 2 is in shm. */
#define N_ROUNDS 6
#define N_MSGS (N_ROUNDS * CH_COUNT)

static uint64_t log_ms(int i)
{
    return (uint64_t)(i / CH_COUNT) * 40 + (uint64_t)(i % CH_COUNT) + 10 - (i == 22 ? 6 : 0);
}

/* Write the recording: chunks of ~4 KiB flushed after messages 20 and 34
 * when flush; stop after n messages; abandon (no summary) when cut. */
static void write_rec(const char *path, int n, bool flush, bool cut, uint64_t *bytes_at_34)
{
    struct qp_mcap_writer_opts o = QP_MCAP_WRITER_OPTS_DEFAULT;
    struct qp_mcap_writer     *w;
    struct qp_err              err = {{0}};
    uint16_t                   sid[CH_COUNT], cid[CH_COUNT];
    static uint8_t             frame[4096];
    static struct mc_buf       b;
    o.chunk_bytes = 4096;
    CU_ASSERT_FATAL(qp_mcap_writer_open(path, &o, &w, &err) == QP_OK);
    for (int c = 0; c < CH_COUNT; c++) {
        struct qp_mcap_kv kv = {"stream", c == CH_A ? "cam_a" : "cam_b"};
        CU_ASSERT_FATAL(qp_mcap_writer_add_schema(w, chans[c].schema, chans[c].schema_enc, "x", 1,
                                                  &sid[c], &err) == QP_OK);
        CU_ASSERT_FATAL(qp_mcap_writer_add_channel(w, chans[c].topic, chans[c].msg_enc, sid[c], &kv,
                                                   c <= CH_B, &cid[c], &err) == QP_OK);
    }
    for (int i = 0; i < n; i++) {
        int                    c = i % CH_COUNT, k = i / CH_COUNT;
        struct qp_mcap_message m = {.channel_id = cid[c], .sequence = (uint32_t)k};
        /* the sender's time drives replay; the recorder logged each a
         * little later, by a varying amount that must not show */
        m.publish_time_ns = T0 + log_ms(i) * MS;
        m.log_time_ns     = m.publish_time_ns + (uint64_t)(i * 7 % 5) * MS;
        b.n               = 0;
        if (c == CH_A || c == CH_B) {
            m.len  = frame_msg(c == CH_A ? "cam_a" : "cam_b", (uint64_t)k,
                              c == CH_A ? QP_WIRE_PIXEL_RGB8 : QP_WIRE_PIXEL_JPEG,
                              c == CH_A && k == 2, frame, sizeof frame);
            m.data = frame;
        } else {
            if (c == CH_FOX_PNG || c == CH_JSON)
                compressed_msg(&b, "png");
            else if (c == CH_FOX_RAW)
                raw_msg(&b, "rgb8");
            else if (c == CH_YUV)
                raw_msg(&b, k == 0 ? "rgb8" : "yuyv"); /* found unsupported at its 2nd frame */
            else
                mc_put(&b, "det", 3);
            m.data = b.p;
            m.len  = b.n;
        }
        CU_ASSERT_FATAL(qp_mcap_writer_write(w, &m, &err) == QP_OK);
        if (flush && (i == 20 || i == 34)) {
            struct qp_mcap_writer_stats ws;
            CU_ASSERT_FATAL(qp_mcap_writer_flush(w, &err) == QP_OK);
            qp_mcap_writer_stats(w, &ws);
            if (i == 34 && bytes_at_34)
                *bytes_at_34 = ws.bytes_written;
        }
    }
    if (cut)
        qp_mcap_writer_free(w);
    else
        CU_ASSERT_FATAL(qp_mcap_writer_close(w, &err) == QP_OK);
}

static char rec[1024];

static int suite_init(void)
{
    if (mc_suite_init() != 0)
        return -1;
    make_images();
    return 0;
}

static int32_t stream_idx(const struct qp_replay_source *s, const char *name)
{
    for (int32_t i = 0; i < s->n_streams; i++)
        if (strcmp(s->names[i], name) == 0)
            return i;
    return -1;
}

static const struct qp_replay_channel *chan(const struct qp_replay_source *s, const char *topic)
{
    const struct qp_replay_mcap_info *mi = qp_replay_mcap_info(s->mcap);
    for (int32_t i = 0; i < mi->n_channels; i++)
        if (strcmp(mi->channels[i].topic, topic) == 0)
            return &mi->channels[i];
    return NULL;
}

/* Frame j's bytes are those written for its stream. */
static void check_payload(struct qp_replay_source *s, int64_t j)
{
    struct qp_replay_payload p;
    struct qp_err            err  = {{0}};
    const char              *name = s->names[s->frames[j].stream];
    CU_ASSERT_FATAL(qp_replay_mcap_read(s, j, &p, &err) == QP_OK);
    if (strcmp(name, "cam_a") == 0) {
        CU_ASSERT(p.format == QP_FRAME_FORMAT_RGB8 && p.width == 4 && p.height == 2 &&
                  p.stride == 12 && p.n == sizeof rgb_a && memcmp(p.bytes, rgb_a, p.n) == 0);
    } else if (strcmp(name, "cam_b") == 0) {
        CU_ASSERT(p.format == QP_FRAME_FORMAT_JPEG && p.width == 16 && p.height == 32 &&
                  p.stride == 0 && p.n == sizeof jpeg_b && memcmp(p.bytes, jpeg_b, p.n) == 0);
    } else if (strcmp(name, "cam_a_2") == 0) {
        CU_ASSERT(p.format == QP_FRAME_FORMAT_PNG && p.width == 8 && p.height == 6 &&
                  p.stride == 0 && p.n == sizeof png_c && memcmp(p.bytes, png_c, p.n) == 0);
    } else {
        CU_ASSERT_STRING_EQUAL(name, "cam_raw_image");
        /* 2 rows of step 16; the 4 bytes after them are not sent */
        CU_ASSERT(p.format == QP_FRAME_FORMAT_RGB8 && p.width == 4 && p.height == 2 &&
                  p.stride == 16 && p.n == 32 && memcmp(p.bytes, raw_d, 32) == 0);
    }
}

static void test_channels_streams_times(void)
{
    struct qp_replay_source_opts o   = QP_REPLAY_SOURCE_OPTS_DEFAULT;
    struct qp_replay_source      s   = {0};
    struct qp_err                err = {{0}};
    mc_path("rec.mcap", rec, sizeof rec);
    write_rec(rec, N_MSGS, false, false, NULL);
    CU_ASSERT_FATAL(qp_replay_is_mcap(rec));
    CU_ASSERT_FATAL(qp_replay_source_open(rec, &o, &s, &err) == QP_OK);
    const struct qp_replay_mcap_info *mi = qp_replay_mcap_info(s.mcap);
    CU_ASSERT_EQUAL(s.layout, QP_REPLAY_LAYOUT_MCAP);
    CU_ASSERT_FALSE(mi->truncated);
    CU_ASSERT_EQUAL(mi->n_messages, N_MSGS);
    /* Frame streams by their headers, foxglove ones by topic: "cam_a" taken -> cam_a_2 */
    CU_ASSERT_EQUAL_FATAL(s.n_streams, 4);
    CU_ASSERT_STRING_EQUAL(s.names[0], "cam_a");
    CU_ASSERT_STRING_EQUAL(s.names[1], "cam_b");
    CU_ASSERT_STRING_EQUAL(s.names[2], "cam_a_2");
    CU_ASSERT_STRING_EQUAL(s.names[3], "cam_raw_image");
    CU_ASSERT_EQUAL(mi->stream_frames[0], N_ROUNDS - 1); /* one in shm */
    CU_ASSERT_EQUAL(mi->stream_frames[1], N_ROUNDS);
    CU_ASSERT_EQUAL(mi->stream_frames[2], N_ROUNDS);
    CU_ASSERT_EQUAL(mi->stream_frames[3], N_ROUNDS);
    CU_ASSERT_EQUAL(mi->stream_formats[1], 1u << QP_FRAME_FORMAT_JPEG);
    CU_ASSERT_EQUAL(mi->n_shm, 1);
    CU_ASSERT_EQUAL(s.n_frames, 4 * N_ROUNDS - 1);
    /* skipped and ignored channels, counted */
    CU_ASSERT_EQUAL(chan(&s, "/cam/yuv")->kind, QP_REPLAY_CHANNEL_UNSUPPORTED);
    CU_ASSERT_STRING_EQUAL(chan(&s, "/cam/yuv")->why, "encoding 'yuyv'");
    CU_ASSERT_EQUAL(chan(&s, "/cam/yuv")->n_messages, N_ROUNDS);
    CU_ASSERT_EQUAL(chan(&s, "/cam/json")->kind, QP_REPLAY_CHANNEL_UNSUPPORTED);
    CU_ASSERT_EQUAL(chan(&s, "/qpercept/detections/cam_a")->kind, QP_REPLAY_CHANNEL_OTHER);
    CU_ASSERT_EQUAL(stream_idx(&s, "cam_yuv"), -1); /* its rgb8 first frame went too */
    /* times: file order, relative to the first frame (cam_a at 10 ms); message 22
     * (cam_b's, logged 5 ms before message 21) is raised to message 21's time */
    CU_ASSERT_EQUAL(mi->n_reordered, 1);
    int64_t prev = 0, n = 0;
    for (int i = 0; i < N_MSGS; i++) {
        int c = i % CH_COUNT;
        if (c > CH_FOX_RAW || (c == CH_A && i / CH_COUNT == 2))
            continue;
        const struct qp_replay_frame *f    = &s.frames[n++];
        int64_t                       want = (int64_t)(log_ms(i) - 10) * (int64_t)MS;
        if (i == 22)
            want = prev;
        CU_ASSERT_EQUAL(f->t_ns, want);
        CU_ASSERT_EQUAL(f->msg, i);
        prev = f->t_ns;
    }
    CU_ASSERT_EQUAL(n, s.n_frames);
    CU_ASSERT_EQUAL(s.duration_ns, s.frames[n - 1].t_ns);
    /* every frame's bytes, forward, then again from the start (a loop) */
    for (int64_t j = 0; j < s.n_frames; j++)
        check_payload(&s, j);
    check_payload(&s, 0);
    check_payload(&s, 5);
    check_payload(&s, 2); /* back again: rewinds */
    /* the summary */
    char  *text = NULL;
    size_t len  = 0;
    FILE  *out  = open_memstream(&text, &len);
    CU_ASSERT_FATAL(out != NULL);
    qp_replay_mcap_print(&s, out);
    fclose(out);
    CU_ASSERT(strstr(text, "stream cam_b: 6 frames, JPEG") != NULL);
    CU_ASSERT(strstr(text, "skipped channel /cam/yuv: foxglove.RawImage encoding 'yuyv'") != NULL);
    CU_ASSERT(strstr(text, "skipped channel /cam/json") != NULL);
    CU_ASSERT(strstr(text, "ignored (not images): /qpercept/detections/cam_a") != NULL);
    CU_ASSERT(strstr(text, "truncated") == NULL);
    free(text);
    qp_replay_source_free(&s);
    CU_ASSERT_PTR_NULL(s.mcap);
}

static void test_topics_and_span(void)
{
    const char                  *topics[] = {"/cam/raw image", "/qpercept/frames/cam_b"};
    struct qp_replay_source_opts o        = QP_REPLAY_SOURCE_OPTS_DEFAULT;
    struct qp_replay_source      s        = {0};
    struct qp_err                err      = {{0}};
    int64_t                      lo, hi;
    o.topics   = topics;
    o.n_topics = 2;
    CU_ASSERT_FATAL(qp_replay_source_open(rec, &o, &s, &err) == QP_OK);
    CU_ASSERT_EQUAL_FATAL(s.n_streams, 2);
    CU_ASSERT_STRING_EQUAL(s.names[0], "cam_b");
    CU_ASSERT_STRING_EQUAL(s.names[1], "cam_raw_image");
    CU_ASSERT_EQUAL(s.n_frames, 2 * N_ROUNDS);
    CU_ASSERT_EQUAL(chan(&s, "/qpercept/frames/cam_a")->kind, QP_REPLAY_CHANNEL_UNSELECTED);
    /* relative to cam_b's first frame (11 ms): cam_b's of round k at 40 k ms
     * (round 3's logged 6 ms early: 114 ms), the raw image's at 40 k + 2 ms */
    CU_ASSERT_EQUAL(s.frames[0].t_ns, 0);
    CU_ASSERT_EQUAL(s.frames[1].t_ns, 2 * (int64_t)MS);
    qp_replay_source_span(&s, 0.039, 0.081, &lo, &hi); /* rounds 1 and 2 */
    CU_ASSERT_EQUAL(lo, 2);
    CU_ASSERT_EQUAL(hi, 5); /* 40, 42, 80 ms; 82 is past the end */
    qp_replay_source_span(&s, 0.1, -1, &lo, &hi);
    CU_ASSERT_EQUAL(lo, 6);
    CU_ASSERT_EQUAL(hi, s.n_frames);
    qp_replay_source_span(&s, 5, -1, &lo, &hi);
    CU_ASSERT_EQUAL(lo, hi);
    check_payload(&s, 7);
    check_payload(&s, 4);
    qp_replay_source_free(&s);
    const char *missing[] = {"/nope"};
    o.topics              = missing;
    o.n_topics            = 1;
    CU_ASSERT_EQUAL(qp_replay_source_open(rec, &o, &s, &err), QP_E_INVAL);
    CU_ASSERT(strstr(err.msg, "--topic /nope") != NULL);
    CU_ASSERT_PTR_NULL(s.mcap);
}

static void test_truncated(void)
{
    struct qp_replay_source_opts o   = QP_REPLAY_SOURCE_OPTS_DEFAULT;
    struct qp_replay_source      s   = {0};
    struct qp_err                err = {{0}};
    char                         cut[1024], full[1024];
    uint64_t                     at34 = 0;
    /* the writer killed after message 39: chunks up to message 34 are complete */
    mc_path("cut.mcap", cut, sizeof cut);
    write_rec(cut, 40, true, true, NULL);
    CU_ASSERT_FATAL(qp_replay_source_open(cut, &o, &s, &err) == QP_OK);
    const struct qp_replay_mcap_info *mi = qp_replay_mcap_info(s.mcap);
    CU_ASSERT(mi->truncated);
    CU_ASSERT_EQUAL(mi->recovered_messages, 35);
    CU_ASSERT_EQUAL(mi->n_messages, 35);
    CU_ASSERT_EQUAL(s.n_frames, 5 * 4 - 1); /* rounds 0..4, cam_a's shm frame out */
    char  *text = NULL;
    size_t len  = 0;
    FILE  *out  = open_memstream(&text, &len);
    qp_replay_mcap_print(&s, out);
    fclose(out);
    char want[1200];
    snprintf(want, sizeof want,
             "replay: %s is truncated: recovered 35 messages (%llu of %llu bytes)", cut,
             (unsigned long long)mi->recovered_bytes, (unsigned long long)mi->file_bytes);
    CU_ASSERT(strstr(text, want) != NULL);
    CU_ASSERT(mi->recovered_bytes <= mi->file_bytes);
    free(text);
    for (int64_t j = 0; j < s.n_frames; j++)
        check_payload(&s, j);
    qp_replay_source_free(&s);

    /* a complete file cut inside the chunk after message 34 */
    size_t   n = 0;
    uint8_t *bytes;
    mc_path("full.mcap", full, sizeof full);
    write_rec(full, N_MSGS, true, false, &at34);
    CU_ASSERT_FATAL((bytes = mc_file_read(full, &n)) != NULL);
    CU_ASSERT_FATAL(at34 > 0 && at34 + 40 < n);
    CU_ASSERT_FATAL(mc_file_write(cut, bytes, (size_t)at34 + 40));
    free(bytes);
    CU_ASSERT_FATAL(qp_replay_source_open(cut, &o, &s, &err) == QP_OK);
    mi = qp_replay_mcap_info(s.mcap);
    CU_ASSERT(mi->truncated);
    CU_ASSERT_EQUAL(mi->recovered_messages, 35);
    CU_ASSERT_EQUAL(mi->file_bytes, at34 + 40);
    qp_replay_source_free(&s);
}

static void test_corrupt(void)
{
    struct qp_replay_source_opts o   = QP_REPLAY_SOURCE_OPTS_DEFAULT;
    struct qp_replay_source      s   = {0};
    struct qp_err                err = {{0}};
    char                         p[1024];
    uint8_t                      junk[3000];
    size_t                       n = 0;
    /* garbage, named .mcap */
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 2654435761u >> 13);
    mc_path("garbage.mcap", p, sizeof p);
    CU_ASSERT_FATAL(mc_file_write(p, junk, sizeof junk));
    CU_ASSERT_EQUAL(qp_replay_source_open(p, &o, &s, &err), QP_E_FORMAT);
    CU_ASSERT(strstr(err.msg, p) != NULL);
    CU_ASSERT_PTR_NULL(s.mcap);
    /* the magic, then garbage (no .mcap name: found by its magic) */
    memcpy(junk, "\x89MCAP0\r\n", 8);
    mc_path("garbage.bin", p, sizeof p);
    CU_ASSERT_FATAL(mc_file_write(p, junk, sizeof junk));
    CU_ASSERT(qp_replay_is_mcap(p));
    CU_ASSERT_NOT_EQUAL(qp_replay_source_open(p, &o, &s, &err), QP_OK);
    CU_ASSERT(strstr(err.msg, p) != NULL);
    /* a valid recording with bytes flipped in its first chunk (chunk CRC) */
    uint8_t *bytes = mc_file_read(rec, &n);
    CU_ASSERT_FATAL(bytes != NULL);
    uint8_t *chunk = NULL;
    for (size_t i = 8; i + 9 <= n && !chunk; i += 9 + qp_mcap_get_u64(bytes + i + 1))
        if (bytes[i] == 0x06) /* the first Chunk record */
            chunk = bytes + i;
    CU_ASSERT_FATAL(chunk != NULL);
    for (int k = 80; k < 120; k++)
        chunk[k] ^= 0x5a;
    mc_path("flipped.mcap", p, sizeof p);
    CU_ASSERT_FATAL(mc_file_write(p, bytes, n));
    free(bytes);
    CU_ASSERT_NOT_EQUAL(qp_replay_source_open(p, &o, &s, &err), QP_OK);
    CU_ASSERT(strstr(err.msg, p) != NULL);
    fprintf(stderr, "\n  flipped: %s\n", err.msg);
    /* an undecodable Frame: the error names the file and the topic */
    struct qp_mcap_writer_opts wo = QP_MCAP_WRITER_OPTS_DEFAULT;
    struct qp_mcap_writer     *w;
    uint16_t                   sid, cid;
    mc_path("badframe.mcap", p, sizeof p);
    CU_ASSERT_FATAL(qp_mcap_writer_open(p, &wo, &w, &err) == QP_OK);
    CU_ASSERT_FATAL(
        qp_mcap_writer_add_schema(w, "qpercept.v1.Frame", "protobuf", "x", 1, &sid, &err) == QP_OK);
    CU_ASSERT_FATAL(qp_mcap_writer_add_channel(w, "/qpercept/frames/x", "protobuf", sid, NULL, 0,
                                               &cid, &err) == QP_OK);
    struct qp_mcap_message m = {.channel_id = cid, .log_time_ns = T0, .publish_time_ns = T0};
    m.data                   = junk + 100;
    m.len                    = 200;
    CU_ASSERT_FATAL(qp_mcap_writer_write(w, &m, &err) == QP_OK);
    CU_ASSERT_FATAL(qp_mcap_writer_close(w, &err) == QP_OK);
    CU_ASSERT_EQUAL(qp_replay_source_open(p, &o, &s, &err), QP_E_FORMAT);
    CU_ASSERT(strstr(err.msg, p) != NULL && strstr(err.msg, "/qpercept/frames/x") != NULL);
    fprintf(stderr, "  bad frame: %s\n", err.msg);
    CU_ASSERT_PTR_NULL(s.mcap);
}

/* Every mutation of one byte in a region of the file: a status, no crash. */
static void test_mutations(void)
{
    struct qp_replay_source_opts o = QP_REPLAY_SOURCE_OPTS_DEFAULT;
    char                         p[1024];
    size_t                       n     = 0;
    uint8_t                     *bytes = mc_file_read(rec, &n);
    int                          ok = 0, failed = 0;
    CU_ASSERT_FATAL(bytes != NULL);
    mc_path("mutant.mcap", p, sizeof p);
    for (size_t i = 0; i < n; i += n / 300 + 1) {
        struct qp_replay_source s   = {0};
        struct qp_err           err = {{0}};
        bytes[i] ^= 0xff;
        CU_ASSERT_FATAL(mc_file_write(p, bytes, n));
        bytes[i] ^= 0xff;
        if (qp_replay_source_open(p, &o, &s, &err) != QP_OK) {
            failed++;
            CU_ASSERT(err.msg[0] != '\0');
            continue;
        }
        ok++;
        for (int64_t j = 0; j < s.n_frames; j++) {
            struct qp_replay_payload pl;
            if (qp_replay_mcap_read(&s, j, &pl, &err) != QP_OK)
                break;
        }
        qp_replay_source_free(&s);
    }
    free(bytes);
    fprintf(stderr, "\n  mutants: %d opened, %d refused\n", ok, failed);
    CU_ASSERT(failed > 0);
}

/* `record --foxglove` files: Frame channels and their foxglove copies */
static void test_foxglove_copies(void)
{
    struct qp_replay_source_opts o   = QP_REPLAY_SOURCE_OPTS_DEFAULT;
    struct qp_replay_source      s   = {0};
    struct qp_err                err = {{0}};
    struct qp_mcap_writer_opts   wo  = QP_MCAP_WRITER_OPTS_DEFAULT;
    struct qp_mcap_writer       *w;
    static struct mc_buf         b;
    static uint8_t               frame[4096];
    uint16_t                     s1, s2, c1, c2;
    char                         p[1024];
    const char                  *copy[] = {"/qpercept/image/cam_a"};
    mc_path("copies.mcap", p, sizeof p);
    CU_ASSERT_FATAL(qp_mcap_writer_open(p, &wo, &w, &err) == QP_OK);
    CU_ASSERT_FATAL(
        qp_mcap_writer_add_schema(w, "qpercept.v1.Frame", "protobuf", "x", 1, &s1, &err) == QP_OK);
    CU_ASSERT_FATAL(qp_mcap_writer_add_schema(w, "foxglove.CompressedImage", "protobuf", "x", 1,
                                              &s2, &err) == QP_OK);
    CU_ASSERT_FATAL(qp_mcap_writer_add_channel(w, "/qpercept/frames/cam_a", "protobuf", s1, NULL, 0,
                                               &c1, &err) == QP_OK);
    CU_ASSERT_FATAL(qp_mcap_writer_add_channel(w, copy[0], "protobuf", s2, NULL, 0, &c2, &err) ==
                    QP_OK);
    compressed_msg(&b, "png");
    for (int k = 0; k < 3; k++) {
        /* no publish time (0): the log time stands in */
        struct qp_mcap_message m = {.channel_id = c1, .log_time_ns = T0 + (uint64_t)k * 40 * MS};
        m.len  = frame_msg("cam_a", (uint64_t)k, QP_WIRE_PIXEL_RGB8, false, frame, sizeof frame);
        m.data = frame;
        CU_ASSERT_FATAL(qp_mcap_writer_write(w, &m, &err) == QP_OK);
        m.channel_id = c2;
        m.data       = b.p;
        m.len        = b.n;
        CU_ASSERT_FATAL(qp_mcap_writer_write(w, &m, &err) == QP_OK);
    }
    CU_ASSERT_FATAL(qp_mcap_writer_close(w, &err) == QP_OK);
    CU_ASSERT_FATAL(qp_replay_source_open(p, &o, &s, &err) == QP_OK);
    CU_ASSERT_EQUAL(s.n_streams, 1);
    CU_ASSERT_EQUAL(s.n_frames, 3);
    CU_ASSERT_EQUAL(chan(&s, copy[0])->kind, QP_REPLAY_CHANNEL_UNSELECTED);
    qp_replay_source_free(&s);
    o.topics   = copy;
    o.n_topics = 1;
    CU_ASSERT_FATAL(qp_replay_source_open(p, &o, &s, &err) == QP_OK);
    CU_ASSERT_EQUAL_FATAL(s.n_streams, 1);
    CU_ASSERT_STRING_EQUAL(s.names[0], "qpercept_image_cam_a");
    CU_ASSERT_EQUAL(s.n_frames, 3);
    CU_ASSERT_EQUAL(s.frames[2].t_ns, 80 * (int64_t)MS);
    qp_replay_source_free(&s);
}

static CU_TestInfo tests[] = {
    {"channels, streams, names, times, bytes", test_channels_streams_times},
    {"--topic selection, --start / --end spans", test_topics_and_span},
    {"truncated recordings: recovered count, line, frames", test_truncated},
    {"garbage, flipped chunk, bad frame: errors naming the file", test_corrupt},
    {"single-byte mutations: a status, never a crash", test_mutations},
    {"record --foxglove copies: left out unless named", test_foxglove_copies},
    CU_TEST_INFO_NULL,
};

static int suite_clean(void)
{
    return mc_suite_clean();
}

static CU_SuiteInfo suites[] = {
    {"replay/mcap", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
