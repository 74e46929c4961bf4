// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_record.c - `qpercept record [--endpoint DETECTIONS_ENDPOINT] [--frames
 * FRAMES_ENDPOINT] [--foxglove] -o FILE.mcap [--stream NAME ...]
 * [--compression zstd|lz4|none] [--duration S] [--count N] [--flush-ms MS]
 * [--max-frame-bytes N] [--curve-server-key FILE --curve-secret-key FILE]`:
 * record qperceptd's Detections, and the frames they were computed from,
 * into an MCAP file (clients/mcap).
 *
 * --endpoint: Detections from the server's PUB. --frames: Frames from the
 * server's frame tap (server.frame_tap_endpoint: each frame whose
 * detections were published, sent after them) or straight from a camera's
 * PUB (`qpercept replay --pub`); at least one of the two. Per stream and
 * kind a channel, added on its first message, metadata stream = NAME:
 *   /qpercept/detections/NAME   qpercept.v1.Detections (protobuf)
 *   /qpercept/frames/NAME       qpercept.v1.Frame, pixels inline
 * and with --foxglove, what Foxglove shows (clients/cli/foxglove.h):
 *   /qpercept/image/NAME        foxglove.CompressedImage or RawImage
 *   /qpercept/annotations/NAME  foxglove.ImageAnnotations (boxes, labels)
 * Our messages are stored as the exact bytes received (qp_sub_last_payload)
 * with the FileDescriptorSets of proto/qpercept.proto and
 * proto/foxglove/foxglove.proto (protoc at build time, embedded). Log time =
 * when received; publish time = the server's published stamp (Detections)
 * or the capture stamp (frames, images, annotations); sequence = the
 * frame's seq (low 32 bits). The open chunk is written out every
 * --flush-ms (default 1000) so a crash loses at most that much; SIGINT /
 * SIGTERM (Ctrl-C), --duration or --count (messages received: Detections
 * and Frames, each written with its Foxglove twin under --foxglove) end the
 * recording with a complete file (summary, indexes). Buffers are allocated
 * before the first message.
 *
 * Exit status: 0 recorded (even nothing: the file is then valid and
 * empty), 1 a socket or the file failed, 2 usage.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "clients/mcap/mcap.h"
#include "core/alloc.h"
#include "foxglove.h"
#include "qpercept/client.h"

extern const unsigned char qp_proto_fds[];
extern const unsigned long qp_proto_fds_len;
extern const unsigned char qp_foxglove_fds[];
extern const unsigned long qp_foxglove_fds_len;

#define RECORD_MAX_STREAMS QP_SUB_MAX_STREAMS
#define RECORD_MAX_FRAME_BYTES ((long)32 << 20) /* qperceptd's max_frame_bytes default */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct args {
    const char              *endpoint, *frames, *out;
    const char              *streams[RECORD_MAX_STREAMS];
    int                      n_streams;
    enum qp_mcap_compression compression;
    double                   duration_s;
    long                     count, flush_ms, max_frame_bytes;
    char                     server_key[41], secret_key[41];
    bool                     has_server, has_secret, foxglove;
};

static int usage(const char *why)
{
    fprintf(stderr,
            "qpercept record: %s\n"
            "usage: qpercept record [--endpoint DETECTIONS_ENDPOINT] [--frames FRAMES_ENDPOINT]\n"
            "         [--foxglove] -o FILE.mcap [--stream NAME ...] [--compression zstd|lz4|none]\n"
            "         [--duration S] [--count N] [--flush-ms MS] [--max-frame-bytes N]\n"
            "         [--curve-server-key FILE --curve-secret-key FILE]\n",
            why);
    return 2;
}

static int parse(int argc, char **argv, struct args *a)
{
    static const struct {
        const char              *name;
        enum qp_mcap_compression c;
    } comp[]           = {{"zstd", QP_MCAP_COMPRESSION_ZSTD},
                          {"lz4", QP_MCAP_COMPRESSION_LZ4},
                          {"none", QP_MCAP_COMPRESSION_NONE}};
    a->compression     = QP_MCAP_COMPRESSION_ZSTD;
    a->flush_ms        = 1000;
    a->max_frame_bytes = RECORD_MAX_FRAME_BYTES;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--foxglove") == 0) {
            a->foxglove = true;
            continue;
        }
        const char *o = argv[i], *v = qp_cli_value(argc, argv, &i);
        if (!v)
            return 2;
        bool ok = true;
        if (strcmp(o, "--endpoint") == 0)
            a->endpoint = v;
        else if (strcmp(o, "--frames") == 0)
            a->frames = v;
        else if (strcmp(o, "--max-frame-bytes") == 0)
            ok = qp_cli_parse_int(v, 1024, 1L << 29, &a->max_frame_bytes);
        else if (strcmp(o, "-o") == 0 || strcmp(o, "--out") == 0)
            a->out = v;
        else if (strcmp(o, "--stream") == 0 && a->n_streams < RECORD_MAX_STREAMS)
            a->streams[a->n_streams++] = v;
        else if (strcmp(o, "--duration") == 0)
            ok = qp_cli_parse_float(v, 1e-3, 1e7, &a->duration_s);
        else if (strcmp(o, "--count") == 0)
            ok = qp_cli_parse_int(v, 1, 1000000000, &a->count);
        else if (strcmp(o, "--flush-ms") == 0)
            ok = qp_cli_parse_int(v, 10, 3600000, &a->flush_ms);
        else if (strcmp(o, "--curve-server-key") == 0)
            ok = a->has_server = qp_cli_read_key("record", o, v, a->server_key);
        else if (strcmp(o, "--curve-secret-key") == 0)
            ok = a->has_secret = qp_cli_read_key("record", o, v, a->secret_key);
        else if (strcmp(o, "--compression") == 0) {
            ok = false;
            for (size_t k = 0; k < sizeof comp / sizeof comp[0]; k++)
                if (strcmp(v, comp[k].name) == 0) {
                    a->compression = comp[k].c;
                    ok             = true;
                }
        } else {
            fprintf(stderr, "qpercept record: unexpected argument '%s'\n", o);
            return usage("see above");
        }
        if (!ok) {
            fprintf(stderr, "qpercept record: %s %s: not a valid value\n", o, v);
            return 2;
        }
    }
    if ((!a->endpoint && !a->frames) || !a->out)
        return usage("give --endpoint (detections) or --frames (frames) or both, and -o FILE.mcap");
    if (a->has_server != a->has_secret)
        return usage("CURVE needs both --curve-server-key and --curve-secret-key");
    return 0;
}

/* What a channel carries: its topic prefix and schema. */
enum kind { K_DETECTIONS = 0, K_FRAMES, K_IMAGE_COMPRESSED, K_IMAGE_RAW, K_ANNOTATIONS, K_COUNT };

static const struct {
    const char *prefix, *schema;
} kinds[K_COUNT] = {
    [K_DETECTIONS]       = {"/qpercept/detections/", "qpercept.v1.Detections"},
    [K_FRAMES]           = {"/qpercept/frames/", "qpercept.v1.Frame"},
    [K_IMAGE_COMPRESSED] = {"/qpercept/image/", "foxglove.CompressedImage"},
    [K_IMAGE_RAW]        = {"/qpercept/image/", "foxglove.RawImage"},
    [K_ANNOTATIONS]      = {"/qpercept/annotations/", "foxglove.ImageAnnotations"},
};

/* The recording: the file, its schemas, one channel per (kind, stream),
 * added on the stream's first message of that kind, and the buffers the
 * Foxglove messages are encoded into. */
struct rec {
    struct qp_mcap_writer *w;
    uint16_t               schema[K_COUNT];
    int                    n;
    enum kind              kind[RECORD_MAX_STREAMS * K_COUNT];
    char                   stream[RECORD_MAX_STREAMS * K_COUNT][QP_CLIENT_STREAM_MAX];
    uint16_t               id[RECORD_MAX_STREAMS * K_COUNT];
    uint8_t               *image, *notes; /* --foxglove */
    size_t                 image_cap, notes_cap;
    uint64_t               n_msgs[K_COUNT], n_unshowable;
};

/* The schemas of the kinds this recording can hold. */
static enum qp_status add_schemas(const struct args *a, struct rec *r, struct qp_err *err)
{
    const bool used[K_COUNT] = {
        [K_DETECTIONS]       = a->endpoint != NULL,
        [K_FRAMES]           = a->frames != NULL,
        [K_IMAGE_COMPRESSED] = a->foxglove && a->frames,
        [K_IMAGE_RAW]        = a->foxglove && a->frames,
        [K_ANNOTATIONS]      = a->foxglove && a->endpoint,
    };
    enum qp_status st = QP_OK;
    for (int k = 0; k < K_COUNT && st == QP_OK; k++) {
        bool ours = k == K_DETECTIONS || k == K_FRAMES;
        if (!used[k])
            continue;
        st = qp_mcap_writer_add_schema(
            r->w, kinds[k].schema, "protobuf", ours ? qp_proto_fds : qp_foxglove_fds,
            ours ? qp_proto_fds_len : qp_foxglove_fds_len, &r->schema[k], err);
    }
    return st;
}

static enum qp_status channel_of(struct rec *r, enum kind k, const char *stream, uint16_t *id,
                                 struct qp_err *err)
{
    for (int i = 0; i < r->n; i++)
        if (r->kind[i] == k && strcmp(r->stream[i], stream) == 0) {
            *id = r->id[i];
            return QP_OK;
        }
    if (r->n == RECORD_MAX_STREAMS * K_COUNT)
        return qp_fail(err, QP_E_INVAL, "more than %d streams (at '%s')", RECORD_MAX_STREAMS,
                       stream);
    char                    topic[QP_CLIENT_STREAM_MAX + 32];
    const struct qp_mcap_kv meta[] = {{"stream", stream}};
    snprintf(topic, sizeof topic, "%s%s", kinds[k].prefix, stream);
    enum qp_status st =
        qp_mcap_writer_add_channel(r->w, topic, "protobuf", r->schema[k], meta, 1, id, err);
    if (st == QP_OK) {
        r->kind[r->n] = k;
        snprintf(r->stream[r->n], sizeof r->stream[0], "%s", stream);
        r->id[r->n++] = *id;
    }
    return st;
}

static enum qp_status put(struct rec *r, enum kind k, const struct qp_stream_header *h,
                          uint64_t publish_ns, const void *data, size_t len, struct qp_err *err)
{
    uint16_t       id;
    enum qp_status st = channel_of(r, k, h->stream, &id, err);
    if (st != QP_OK)
        return st;
    struct qp_mcap_message m = {
        .channel_id      = id,
        .sequence        = (uint32_t)h->seq,
        .log_time_ns     = real_ns(),
        .publish_time_ns = publish_ns,
        .data            = data,
        .len             = len,
    };
    st = qp_mcap_writer_write(r->w, &m, err);
    r->n_msgs[k] += st == QP_OK;
    return st;
}

static enum qp_status put_detections(struct rec *r, struct qp_sub *sub,
                                     const struct qp_detections_in *d, struct qp_err *err)
{
    const void    *data;
    size_t         len;
    enum qp_status st = QP_OK;
    qp_sub_last_payload(sub, &data, &len);
    st = put(r, K_DETECTIONS, &d->header, d->stamps.published_ns, data, len, err);
    if (st == QP_OK && r->notes) {
        size_t n  = 0;
        bool   ok = qp_fox_annotations(d, r->notes, r->notes_cap, &n);
        QP_ASSERT(ok); /* notes_cap holds the most detections a message carries */
        st = put(r, K_ANNOTATIONS, &d->header, d->header.capture_ns, r->notes, n, err);
    }
    return st;
}

static enum qp_status put_frame(struct rec *r, struct qp_sub *sub, const struct qp_frame_in *f,
                                struct qp_err *err)
{
    const void    *data;
    size_t         len;
    enum qp_status st = QP_OK;
    qp_sub_last_payload(sub, &data, &len);
    st = put(r, K_FRAMES, &f->header, f->header.capture_ns, data, len, err);
    if (st == QP_OK && r->image) {
        enum qp_fox_schema sch;
        size_t             n = qp_fox_image(f, r->image, r->image_cap, &sch);
        if (n == 0) { /* not a format Foxglove shows (validated frames always are) */
            r->n_unshowable++;
            return QP_OK;
        }
        st = put(r, sch == QP_FOX_COMPRESSED_IMAGE ? K_IMAGE_COMPRESSED : K_IMAGE_RAW, &f->header,
                 f->header.capture_ns, r->image, n, err);
    }
    return st;
}

/* One message from sub (detections or frames), waiting at most wait_ms. */
static enum qp_status take(struct rec *r, struct qp_sub *sub, bool frames, int wait_ms, bool *got,
                           struct qp_err *err)
{
    static struct qp_detections_in det; /* large: not on the stack */
    struct qp_frame_in             f;
    enum qp_status                 st =
        frames ? qp_sub_recv_frame(sub, &f, wait_ms, err) : qp_sub_recv(sub, &det, wait_ms, err);
    *got = st == QP_OK;
    if (st == QP_E_AGAIN || st == QP_E_FORMAT) /* nothing yet / one bad message: go on */
        return QP_OK;
    if (st != QP_OK)
        return st;
    return frames ? put_frame(r, sub, &f, err) : put_detections(r, sub, &det, err);
}

/* Messages received and recorded: Detections and Frames (not their Foxglove twins). */
static uint64_t received(const struct rec *r)
{
    return r->n_msgs[K_DETECTIONS] + r->n_msgs[K_FRAMES];
}

/* --count reached: checked before every take, so two sockets cannot overshoot it. */
static bool counted_out(const struct args *a, const struct rec *r)
{
    return a->count && (long)received(r) >= a->count;
}

static enum qp_status record(const struct args *a, struct qp_sub *subs[2], struct rec *r,
                             struct qp_err *err)
{
    enum qp_status st    = add_schemas(a, r, err);
    int64_t        start = mono_ms(), next_flush = start + a->flush_ms;
    while (st == QP_OK && !stop && !counted_out(a, r) &&
           (a->duration_s <= 0 || (double)(mono_ms() - start) < a->duration_s * 1000)) {
        /* both sockets without waiting; when neither had anything, wait a
         * little on one (their queues hold what arrives meanwhile) */
        bool any = false;
        for (int k = 0; k < 2 && st == QP_OK && !counted_out(a, r); k++) {
            bool got = false;
            if (subs[k])
                st = take(r, subs[k], k == 1, 0, &got, err);
            any = any || got;
        }
        if (st == QP_OK && !any) {
            bool got;
            int  k = subs[0] ? 0 : 1;
            st     = take(r, subs[k], k == 1, subs[0] && subs[1] ? 5 : 100, &got, err);
        }
        if (st == QP_OK && mono_ms() >= next_flush) {
            st         = qp_mcap_writer_flush(r->w, err);
            next_flush = mono_ms() + a->flush_ms;
        }
    }
    return st;
}

static void report(const struct args *a, const struct rec *r, struct qp_sub *subs[2])
{
    static const char *const what[2] = {"Detections", "Frames"};
    fprintf(stderr, "qpercept record: %s:", a->out);
    for (int k = 0; k < 2; k++) {
        struct qp_sub_stats ss;
        if (!subs[k])
            continue;
        qp_sub_stats(subs[k], &ss);
        fprintf(stderr, "%s %llu %s (%llu gaps, %llu seqs missing, %llu malformed)", k ? ";" : "",
                (unsigned long long)r->n_msgs[k ? K_FRAMES : K_DETECTIONS], what[k],
                (unsigned long long)ss.n_gaps, (unsigned long long)ss.n_missing,
                (unsigned long long)ss.n_malformed);
    }
    if (a->foxglove)
        fprintf(stderr, "; Foxglove: %llu images, %llu annotations",
                (unsigned long long)r->n_msgs[K_IMAGE_COMPRESSED] + r->n_msgs[K_IMAGE_RAW],
                (unsigned long long)r->n_msgs[K_ANNOTATIONS]);
    fputc('\n', stderr);
}

static enum qp_status open_sub(const struct args *a, const char *endpoint, bool frames,
                               struct qp_sub **out, struct qp_err *err)
{
    struct qp_sub_opts so = QP_SUB_OPTS_DEFAULT;
    so.endpoint           = endpoint;
    so.streams            = a->n_streams ? a->streams : NULL;
    so.n_streams          = a->n_streams;
    /* a recorder must not lose messages to a hiccup; a frame queue holds frames */
    so.recv_hwm         = frames ? 64 : 10000;
    so.max_frame_bytes  = frames ? (size_t)a->max_frame_bytes : 0;
    so.curve_server_key = a->has_server ? a->server_key : NULL;
    so.curve_secret_key = a->has_secret ? a->secret_key : NULL;
    return qp_sub_new(&so, out, err);
}

int qp_cli_record(int argc, char **argv)
{
    struct args a  = {0};
    int         rc = parse(argc, argv, &a);
    if (rc)
        return rc;
    static struct rec          r;
    struct qp_mcap_writer_opts wo        = QP_MCAP_WRITER_OPTS_DEFAULT;
    struct qp_sub             *subs[2]   = {NULL, NULL}; /* detections, frames */
    struct qp_err              err       = {{0}};
    enum qp_status             st        = QP_OK;
    size_t                     frame_msg = (size_t)a.max_frame_bytes + 4096;
    if (a.foxglove && a.frames) {
        r.image_cap = qp_fox_image_cap((size_t)a.max_frame_bytes);
        if (!(r.image = qp_alloc(r.image_cap)))
            st = qp_fail(&err, QP_E_NOMEM, "--foxglove: image buffer of %zu bytes", r.image_cap);
    }
    if (st == QP_OK && a.foxglove && a.endpoint) {
        r.notes_cap = qp_fox_annotations_cap();
        if (!(r.notes = qp_alloc(r.notes_cap)))
            st = qp_fail(&err, QP_E_NOMEM, "--foxglove: annotations buffer");
    }
    wo.profile           = "x-qpercept";
    wo.compression       = a.compression;
    wo.max_message_bytes = (size_t)1 << 20; /* a Detections is at most ~30 KB */
    if (a.frames)
        wo.max_message_bytes = r.image_cap > frame_msg ? r.image_cap : frame_msg;
    if (st == QP_OK && a.endpoint)
        st = open_sub(&a, a.endpoint, false, &subs[0], &err);
    if (st == QP_OK && a.frames)
        st = open_sub(&a, a.frames, true, &subs[1], &err);
    if (st == QP_OK)
        st = qp_mcap_writer_open(a.out, &wo, &r.w, &err);
    if (st == QP_OK) {
        (void)signal(SIGINT, on_signal);
        (void)signal(SIGTERM, on_signal);
        st = record(&a, subs, &r, &err);
    }
    if (r.w) {
        struct qp_err cerr = {{0}};
        if (qp_mcap_writer_close(r.w, &cerr) != QP_OK && st == QP_OK) {
            st  = QP_E_IO;
            err = cerr;
        }
    }
    if (st == QP_OK)
        report(&a, &r, subs);
    qp_sub_free(subs[0]);
    qp_sub_free(subs[1]);
    qp_free(r.image);
    qp_free(r.notes);
    if (st != QP_OK) {
        fprintf(stderr, "qpercept record: %s\n", err.msg);
        return 1;
    }
    return 0;
}
