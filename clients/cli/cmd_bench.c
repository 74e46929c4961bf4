// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_bench.c - `qpercept bench`: an open-loop load generator and latency
 * meter for a running qperceptd.
 *
 *   qpercept bench --endpoint DETECTIONS --frames-endpoint TEMPLATE
 *       [--streams 6] [--stream-prefix cam] [--rate 30] [--duration 60]
 *       [--warmup 2] [--size 1280x720] [--format bgr8|rgb8] [--images DIR]
 *       [--max-images 16] [--push|--pub] [--shm SLOTS] [--aligned] [--json OUT]
 *       [--senders stream|one] [--plot OUT.svg] [--label TEXT]
 *   qpercept bench --compare A.json B.json
 *   qpercept bench --recording FILE.mcap
 *
 * Stream i is PREFIX<i> and sends to TEMPLATE with "%d" replaced by i: with
 * --push (default) a PUSH that connects (the server's stream mode = pull),
 * with --pub a PUB that binds (mode = sub; the clock starts once the
 * server has subscribed to every stream); --shm SLOTS sends the pixels
 * through a shared-memory ring of that many slots per stream (the
 * server's transport = shm) instead of inline. Every frame is prepared
 * before the clock starts: --images loads up to --max-images images (spread
 * over the set), resizes them to --size and converts them to --format;
 * without it a synthetic pattern. Frames go round-robin over the streams.
 * Before the clock starts, one frame per stream is sent and its result
 * awaited (the path works, the subscription is live, the server's drop
 * counters before the run are known); after the schedule, one closing frame
 * per stream brings the counters that cover the last measured frames.
 *
 * Open loop: every stream is sent at --rate Hz on a fixed schedule
 * (absolute deadlines from one start, streams phase-offset evenly within a
 * period unless --aligned), by this thread for all (--senders one, the
 * default: one process publishing every camera) or by a thread of its own
 * (--senders stream: cameras as independent devices; aligned ones hand
 * their frames off together, not one after another), sleeping with
 * clock_nanosleep TIMER_ABSTIME on CLOCK_MONOTONIC; capture_ns is the
 * scheduled time mapped once to CLOCK_REALTIME. No sender waits for
 * results: another thread receives the Detections and matches them by
 * (stream, seq). A send that starts late is counted, so a generator that
 * cannot keep up is visible.
 * After the schedule, results are awaited up to 2 s; then the report
 * (bench_report.c) from the statistics (bench_stats.c), and with --plot
 * an SVG of the run (bench_plot.c). --compare prints two --json reports
 * side by side (bench_compare.c) and runs nothing; --recording reports the
 * latency of a run `qpercept record` kept (bench_recording.c).
 *
 * Exit status: 0 the run completed and results came back (--compare: both
 * reports read); 1 no result at all (the message names the detections
 * endpoint), a socket / file error, or a report --compare cannot use (the
 * message names the file and the key); 2 usage.
 */
#define _GNU_SOURCE /* clock_nanosleep, pthread */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_compare.h"
#include "bench_plot.h"
#include "bench_recording.h"
#include "bench_report.h"
#include "bench_stats.h"
#include "cli.h"
#include "core/alloc.h"
#include "qpercept/client.h"
#include "qpercept/detect.h"

#define LATE_RESULTS_NS 2000000000LL /* how long results are awaited after the schedule */
#define PRIME_TIMEOUT_MS 3000        /* for the priming frames' results */
#define PUB_SUBSCRIBER_TIMEOUT_MS 10000
#define START_LEAD_NS 50000000LL /* first deadline after the clock is read */
#define SUB_RECV_HWM 100000      /* results must not be lost in our own queue */
#define MAX_SIDE 16384

/* ===== Options ===== */

struct args {
    const char *endpoint, *frames_endpoint, *prefix, *images, *json, *plot, *label;
    int         n_streams, width, height, max_images, aligned;
    int         shm_slots; /* qp_pub_opts.shm_slots: 0 = pixels inline */
    double      rate_hz, duration_s, warmup_s;
    int         kind;    /* enum qp_pub_kind */
    int         format;  /* enum format */
    int         senders; /* enum sender_mode */
};

/* Who sends: a thread per stream (cameras are independent devices) or one
 * thread for all, round-robin (one process publishing every camera). */
enum sender_mode { SENDERS_STREAM = 0, SENDERS_ONE = 1, SENDERS_COUNT };
static const char *const sender_names[SENDERS_COUNT] = {
    [SENDERS_STREAM] = "stream", [SENDERS_ONE] = "one"};

enum format { FORMAT_BGR8 = 0, FORMAT_RGB8 = 1, FORMAT_COUNT };
static const char *const format_names[FORMAT_COUNT] = {
    [FORMAT_BGR8] = "bgr8", [FORMAT_RGB8] = "rgb8"};
static const struct {
    enum qp_frame_format wire;
    bool                 bgr;
} formats[FORMAT_COUNT] = {
    [FORMAT_BGR8] = {QP_FRAME_FORMAT_BGR8, true},
    [FORMAT_RGB8] = {QP_FRAME_FORMAT_RGB8, false},
};

enum opt_kind {
    OPT_STR,
    OPT_INT,
    OPT_REAL,
    OPT_SIZE,
    OPT_FORMAT,
    OPT_SENDERS,
    OPT_SET,
    OPT_KIND_COUNT
};

struct opt {
    const char   *name;
    enum opt_kind kind;
    size_t        offset; /* of the field in struct args */
    double        lo, hi; /* OPT_INT, OPT_REAL: range; OPT_SET: lo is the value set */
};

static const struct opt opts[] = {
    {"--endpoint", OPT_STR, offsetof(struct args, endpoint), 0, 0},
    {"--frames-endpoint", OPT_STR, offsetof(struct args, frames_endpoint), 0, 0},
    {"--stream-prefix", OPT_STR, offsetof(struct args, prefix), 0, 0},
    {"--images", OPT_STR, offsetof(struct args, images), 0, 0},
    {"--json", OPT_STR, offsetof(struct args, json), 0, 0},
    {"--plot", OPT_STR, offsetof(struct args, plot), 0, 0},
    {"--label", OPT_STR, offsetof(struct args, label), 0, 0},
    {"--streams", OPT_INT, offsetof(struct args, n_streams), 1, QP_BENCH_MAX_STREAMS},
    {"--max-images", OPT_INT, offsetof(struct args, max_images), 1, 100000},
    {"--shm", OPT_INT, offsetof(struct args, shm_slots), 2, 1024},
    {"--rate", OPT_REAL, offsetof(struct args, rate_hz), 0.001, 100000},
    {"--duration", OPT_REAL, offsetof(struct args, duration_s), 0.001, 86400},
    {"--warmup", OPT_REAL, offsetof(struct args, warmup_s), 0, 3600},
    {"--size", OPT_SIZE, offsetof(struct args, width), 0, 0},
    {"--format", OPT_FORMAT, offsetof(struct args, format), 0, 0},
    {"--senders", OPT_SENDERS, offsetof(struct args, senders), 0, 0},
    {"--push", OPT_SET, offsetof(struct args, kind), QP_PUB_KIND_PUSH, 0},
    {"--pub", OPT_SET, offsetof(struct args, kind), QP_PUB_KIND_PUB, 0},
    {"--aligned", OPT_SET, offsetof(struct args, aligned), 1, 0},
};

static bool set_str(const struct opt *o, const char *v, void *field)
{
    (void)o;
    *(const char **)field = v;
    return *v != '\0';
}

static bool set_int(const struct opt *o, const char *v, void *field)
{
    long n;
    if (!qp_cli_parse_int(v, (long)o->lo, (long)o->hi, &n))
        return false;
    *(int *)field = (int)n;
    return true;
}

static bool set_real(const struct opt *o, const char *v, void *field)
{
    return qp_cli_parse_float(v, o->lo, o->hi, (double *)field);
}

/* "WxH" into width and the height that follows it in struct args. */
static bool set_size(const struct opt *o, const char *v, void *field)
{
    (void)o;
    char buf[64];
    long w, h;
    if (strlen(v) >= sizeof buf)
        return false;
    memcpy(buf, v, strlen(v) + 1);
    char *x = strchr(buf, 'x');
    if (!x)
        return false;
    *x = '\0';
    if (!qp_cli_parse_int(buf, 1, MAX_SIDE, &w) || !qp_cli_parse_int(x + 1, 1, MAX_SIDE, &h))
        return false;
    struct args *a = (struct args *)((char *)field - offsetof(struct args, width));
    a->width       = (int)w;
    a->height      = (int)h;
    return true;
}

/* The index of v among n names, into *field. */
static bool set_name(const char *const *names, int n, const char *v, void *field)
{
    for (int i = 0; i < n; i++)
        if (strcmp(v, names[i]) == 0) {
            *(int *)field = i;
            return true;
        }
    return false;
}

static bool set_format(const struct opt *o, const char *v, void *field)
{
    (void)o;
    return set_name(format_names, FORMAT_COUNT, v, field);
}

static bool set_senders(const struct opt *o, const char *v, void *field)
{
    (void)o;
    return set_name(sender_names, SENDERS_COUNT, v, field);
}

static bool (*const setters[OPT_KIND_COUNT])(const struct opt *, const char *, void *) = {
    [OPT_STR] = set_str,   [OPT_INT] = set_int,       [OPT_REAL] = set_real,
    [OPT_SIZE] = set_size, [OPT_FORMAT] = set_format, [OPT_SENDERS] = set_senders,
    [OPT_SET] = NULL,
};

/* What a bad value of each kind should have been, for the message. */
static const char *const wants[OPT_KIND_COUNT] = {
    [OPT_STR]     = "a non-empty value",
    [OPT_INT]     = "an integer",
    [OPT_REAL]    = "a number",
    [OPT_SIZE]    = "WIDTHxHEIGHT, each 1..16384",
    [OPT_FORMAT]  = "bgr8 or rgb8",
    [OPT_SENDERS] = "stream or one",
    [OPT_SET]     = "",
};

static int usage(void)
{
    fprintf(stderr,
            "usage: qpercept bench --endpoint DETECTIONS_ENDPOINT --frames-endpoint TEMPLATE\n"
            "        [--streams 6] [--stream-prefix cam] [--rate 30] [--duration 60] "
            "[--warmup 2]\n"
            "        [--size 1280x720] [--format bgr8|rgb8] [--images DIR] [--max-images 16]\n"
            "        [--push|--pub] [--shm SLOTS] [--aligned] [--senders stream|one]\n"
            "        [--json OUT.json] [--plot OUT.svg] [--label TEXT]\n"
            "       qpercept bench --compare A.json B.json\n"
            "       qpercept bench --recording FILE.mcap\n");
    return 2;
}

/* The option argv[*i] (advancing *i past its value); false with a message. */
static bool parse_one(int argc, char **argv, int *i, struct args *a)
{
    const struct opt *o = NULL;
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++)
        if (strcmp(argv[*i], opts[k].name) == 0)
            o = &opts[k];
    if (!o) {
        fprintf(stderr, "qpercept bench: unknown option '%s'\n", argv[*i]);
        return false;
    }
    void *field = (char *)a + o->offset;
    if (o->kind == OPT_SET) {
        *(int *)field = (int)o->lo;
        return true;
    }
    const char *v = qp_cli_value(argc, argv, i);
    if (!v)
        return false;
    if (!setters[o->kind](o, v, field)) {
        char range[64] = "";
        if (o->kind == OPT_INT || o->kind == OPT_REAL)
            snprintf(range, sizeof range, " in [%g, %g]", o->lo, o->hi);
        fprintf(stderr, "qpercept bench: %s: '%s' is not %s%s\n", o->name, v, wants[o->kind],
                range);
        return false;
    }
    return true;
}

/* "%d" must appear exactly once in the template, and no other '%'. */
static bool template_ok(const char *t)
{
    const char *p = strchr(t, '%');
    return p && p[1] == 'd' && !strchr(p + 2, '%');
}

static bool parse_args(int argc, char **argv, struct args *a)
{
    *a = (struct args){.prefix     = "cam",
                       .n_streams  = 6,
                       .width      = 1280,
                       .height     = 720,
                       .max_images = 16,
                       .rate_hz    = 30,
                       .duration_s = 60,
                       .warmup_s   = 2,
                       .kind       = QP_PUB_KIND_PUSH,
                       .senders    = SENDERS_ONE};
    for (int i = 1; i < argc; i++)
        if (!parse_one(argc, argv, &i, a))
            return false;
    if (!a->endpoint || !a->frames_endpoint) {
        fprintf(stderr, "qpercept bench: %s is required\n",
                a->endpoint ? "--frames-endpoint" : "--endpoint");
        return false;
    }
    if (!template_ok(a->frames_endpoint)) {
        fprintf(stderr,
                "qpercept bench: --frames-endpoint: '%s' must hold \"%%d\" (the stream's "
                "index) once and no other '%%'\n",
                a->frames_endpoint);
        return false;
    }
    return true;
}

/* ===== Frames ===== */

struct frames {
    int      n;
    size_t   bytes; /* of one frame: width * height * 3 */
    uint8_t *px;    /* [n * bytes]; owned */
};

/* A pattern that changes across the image and between variants: a
 * gradient, a checkerboard and a channel tilt (a flat field would let a
 * detector or a compressor take shortcuts). */
static void synth(uint8_t *dst, int w, int h, int variant)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int base   = (x * 255 / w + y * 255 / h) / 2 + (((x / 32 + y / 32 + variant) & 1) << 6);
            uint8_t *p = dst + ((size_t)y * (size_t)w + (size_t)x) * 3;
            for (int c = 0; c < 3; c++)
                p[c] = (uint8_t)(base + c * 80 + variant * 61);
        }
}

/* Bilinear resize of an RGB8 image into w x h, channel order swapped for BGR. */
static void resize(const struct qp_image *src, uint8_t *dst, int w, int h, bool bgr)
{
    double sx = (double)src->width / w, sy = (double)src->height / h;
    for (int y = 0; y < h; y++) {
        double fy = fmax(0, fmin((y + 0.5) * sy - 0.5, src->height - 1));
        int    y0 = (int)fy, y1 = y0 + 1 < src->height ? y0 + 1 : y0;
        double ay = fy - y0;
        for (int x = 0; x < w; x++) {
            double         fx = fmax(0, fmin((x + 0.5) * sx - 0.5, src->width - 1));
            int            x0 = (int)fx, x1 = x0 + 1 < src->width ? x0 + 1 : x0;
            double         ax = fx - x0;
            const uint8_t *r0 = src->data + (size_t)y0 * (size_t)src->stride;
            const uint8_t *r1 = src->data + (size_t)y1 * (size_t)src->stride;
            uint8_t       *p  = dst + ((size_t)y * (size_t)w + (size_t)x) * 3;
            for (int c = 0; c < 3; c++) {
                double top         = r0[x0 * 3 + c] * (1 - ax) + r0[x1 * 3 + c] * ax;
                double bot         = r1[x0 * 3 + c] * (1 - ax) + r1[x1 * 3 + c] * ax;
                p[bgr ? 2 - c : c] = (uint8_t)lround(top * (1 - ay) + bot * ay);
            }
        }
    }
}

/* Load, resize and convert the images of a->images (or synthesise four
 * frames) into fr. Errors name --images and the file. */
static enum qp_status frames_load(const struct args *a, struct frames *fr, struct qp_err *err)
{
    struct qp_cli_images l  = {0};
    enum qp_status       st = QP_OK;
    fr->bytes               = (size_t)a->width * (size_t)a->height * 3;
    fr->n                   = 4;
    if (a->images &&
        (st = qp_cli_images_list("--images", a->images, a->max_images, true, &l, err)) != QP_OK)
        return st;
    if (a->images)
        fr->n = l.n;
    fr->px = qp_calloc((size_t)fr->n, fr->bytes);
    if (!fr->px) {
        st = qp_fail(err, QP_E_NOMEM, "out of memory for %d frames of %dx%d", fr->n, a->width,
                     a->height);
        goto out;
    }
    for (int i = 0; i < fr->n; i++) {
        uint8_t        *dst = fr->px + (size_t)i * fr->bytes;
        struct qp_image img = {0};
        if (!a->images) {
            synth(dst, a->width, a->height, i);
            continue;
        }
        if ((st = qp_image_load(l.paths[i], &img, err)) != QP_OK) {
            qp_err_prefix(err, "--images");
            goto out;
        }
        resize(&img, dst, a->width, a->height, formats[a->format].bgr);
        qp_image_free(&img);
    }
out:
    qp_cli_images_free(&l);
    return st;
}

/* ===== The run ===== */

struct run {
    const struct args *a;
    struct qp_bench    b;
    struct frames      fr;
    struct qp_pub     *pub[QP_BENCH_MAX_STREAMS];
    struct qp_sub     *sub;
    int64_t            start_mono_ns;
    /* publisher -> subscriber */
    atomic_uint_fast64_t n_sent;  /* frames sent, warm-up included; valid once stop_ns != 0 */
    atomic_int_fast64_t  stop_ns; /* CLOCK_MONOTONIC: stop receiving then; 0 = still sending */
    atomic_bool          failed;  /* a sender met an error: the others stop too */
    char model[QP_CLIENT_NAME_MAX], engine_id[QP_CLIENT_ID_MAX]; /* of the first result */
    /* subscriber's outcome */
    enum qp_status sub_st;
    struct qp_err  sub_err;
};

static int64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* CLOCK_REALTIME - CLOCK_MONOTONIC, from the tightest of a few paired readings. */
static int64_t realtime_offset_ns(void)
{
    int64_t best_gap = INT64_MAX, off = 0;
    for (int i = 0; i < 5; i++) {
        int64_t m0 = now_ns(CLOCK_MONOTONIC), r = now_ns(CLOCK_REALTIME);
        int64_t m1 = now_ns(CLOCK_MONOTONIC);
        if (m1 - m0 < best_gap) {
            best_gap = m1 - m0;
            off      = r - (m0 + (m1 - m0) / 2);
        }
    }
    return off;
}

/* The pixels of frame k of stream s: the images round-robin, shifted per stream. */
static const uint8_t *pixels_of(const struct run *r, int s, int64_t k)
{
    return r->fr.px + (size_t)((s + k) % r->fr.n) * r->fr.bytes;
}

static void *sub_main(void *arg)
{
    struct run                    *r = arg;
    static struct qp_detections_in m; /* large; one subscriber thread per process */
    for (;;) {
        struct qp_err  err = {{0}};
        enum qp_status st  = qp_sub_recv(r->sub, &m, 50, &err);
        if (st == QP_OK) {
            qp_bench_record(&r->b, &m, (uint64_t)now_ns(CLOCK_REALTIME));
        } else if (st == QP_E_IO) {
            r->sub_st  = st;
            r->sub_err = err;
            break;
        } /* QP_E_AGAIN: nothing yet; QP_E_FORMAT: counted by qp_sub, go on */
        int64_t stop = atomic_load(&r->stop_ns);
        if (stop && (r->b.n_matched >= atomic_load(&r->n_sent) || now_ns(CLOCK_MONOTONIC) >= stop))
            break;
    }
    return NULL;
}

/* One sending thread: the rows first, first + step, ... of the schedule
 * (a stream's, or all), each at its deadline. */
struct sender {
    struct run    *r;
    int64_t        first, step;
    uint64_t       sent;
    enum qp_status st;
    struct qp_err  err;
};

/* QP_E_IO / QP_E_INVAL stop the run (the error names the endpoint);
 * QP_E_AGAIN is a counted drop. A thread writes only its own rows
 * (bench_stats.h). */
static void *send_rows(void *arg)
{
    struct sender     *sd = arg;
    struct run        *r  = sd->r;
    const struct args *a  = r->a;
    int                n  = a->n_streams;
    for (int64_t j = sd->first; j < r->b.n_frames && !atomic_load(&r->failed); j += sd->step) {
        int64_t         deadline = r->start_mono_ns + qp_bench_offset_ns(&r->b, j);
        struct timespec ts       = {deadline / 1000000000LL, deadline % 1000000000LL};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        struct qp_bench_frame *f  = &r->b.frames[j];
        int                    s  = (int)(j % n);
        int64_t                k  = j / n;
        struct qp_frame_out    fo = {
               .width        = (uint32_t)a->width,
               .height       = (uint32_t)a->height,
               .stride       = (uint32_t)a->width * 3,
               .format       = formats[a->format].wire,
               .pixels       = pixels_of(r, s, k),
               .pixels_bytes = r->fr.bytes,
               .capture_ns   = f->capture_ns,
        };
        f->lateness_ns = now_ns(CLOCK_MONOTONIC) - deadline;
        sd->st         = qp_pub_send(r->pub[s], &fo, &sd->err);
        if (sd->st == QP_E_AGAIN) {
            f->send = QP_BENCH_SEND_DROPPED;
            sd->st  = QP_OK;
            continue;
        }
        if (sd->st != QP_OK) {
            atomic_store(&r->failed, true);
            break;
        }
        f->sent_ns = now_ns(CLOCK_REALTIME);
        f->send    = QP_BENCH_SEND_OK;
        sd->sent++;
    }
    return NULL;
}

/* Send every scheduled frame at its deadline: a thread per stream (each
 * qp_pub used by its thread only) or this thread for all. The first
 * error of any sender is the run's. */
static enum qp_status send_all(struct run *r, struct qp_err *err)
{
    int            n = r->a->senders == SENDERS_ONE ? 1 : r->a->n_streams;
    struct sender  sd[QP_BENCH_MAX_STREAMS];
    pthread_t      th[QP_BENCH_MAX_STREAMS] = {0}; /* cppcheck: only [0, started) are read */
    int            started                  = 0;
    enum qp_status st                       = QP_OK;
    uint64_t       sent                     = 0;
    for (int i = 0; i < n; i++)
        sd[i] = (struct sender){.r = r, .first = i, .step = n, .st = QP_OK};
    if (n == 1)
        send_rows(&sd[0]);
    else
        for (; started < n; started++)
            if (pthread_create(&th[started], NULL, send_rows, &sd[started]) != 0) {
                atomic_store(&r->failed, true);
                st = qp_fail(err, QP_E_IO, "cannot start the sender thread of stream %s",
                             r->b.streams[started].name);
                break;
            }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < n; i++) {
        sent += sd[i].sent;
        if (st == QP_OK && sd[i].st != QP_OK) {
            st   = sd[i].st;
            *err = sd[i].err;
        }
    }
    atomic_store(&r->n_sent, sent);
    return st;
}

/* Frames endpoint of stream i: the template with "%d" replaced. */
static void stream_endpoint(const char *tmpl, int i, char *out, size_t n)
{
    const char *p = strstr(tmpl, "%d");
    snprintf(out, n, "%.*s%d%s", (int)(p - tmpl), tmpl, i, p + 2);
}

/* Subscriber, then the publishers; with --pub wait for the server's
 * subscriptions. */
static enum qp_status connect_all(struct run *r, struct qp_err *err)
{
    const struct args *a = r->a;
    const char        *names[QP_BENCH_MAX_STREAMS];
    for (int s = 0; s < a->n_streams; s++)
        names[s] = r->b.streams[s].name;
    struct qp_sub_opts so = QP_SUB_OPTS_DEFAULT;
    so.endpoint           = a->endpoint;
    so.streams            = names;
    so.n_streams          = a->n_streams;
    so.recv_hwm           = SUB_RECV_HWM;
    enum qp_status st     = qp_sub_new(&so, &r->sub, err);
    for (int s = 0; st == QP_OK && s < a->n_streams; s++) {
        char               ep[1024];
        struct qp_pub_opts po = QP_PUB_OPTS_DEFAULT;
        stream_endpoint(a->frames_endpoint, s, ep, sizeof ep);
        po.endpoint        = ep;
        po.stream          = names[s];
        po.kind            = (enum qp_pub_kind)a->kind;
        po.max_frame_bytes = r->fr.bytes;
        po.shm_slots       = (uint32_t)a->shm_slots;
        st                 = qp_pub_new(&po, &r->pub[s], err);
        if (st == QP_OK && a->kind == QP_PUB_KIND_PUB &&
            (st = qp_pub_wait_subscriber(r->pub[s], PUB_SUBSCRIBER_TIMEOUT_MS, err)) != QP_OK)
            st = qp_fail(err, QP_E_IO,
                         "stream %s: nobody subscribed to %s within %d s (is the server's "
                         "[stream.%s] mode = sub, endpoint = %s?)",
                         names[s], ep, PUB_SUBSCRIBER_TIMEOUT_MS / 1000, names[s], ep);
    }
    return st;
}

/* Stream s's index in the table for a result of a priming frame, or -1. */
static int primed_stream(const struct run *r, const struct qp_detections_in *m, const uint64_t *seq,
                         const bool *waiting)
{
    for (int s = 0; s < r->a->n_streams; s++)
        if (waiting[s] && m->header.seq == seq[s] &&
            !strcmp(m->header.stream, r->b.streams[s].name))
            return s;
    return -1;
}

/* One frame per stream before the clock starts, its result awaited: that
 * proves the path (our subscription has reached the server's PUB, so no
 * result of the run is lost to ZeroMQ's slow joiner), and its drop counters
 * are the stream's baseline for the loss accounting. A stream without a
 * result within PRIME_TIMEOUT_MS is reported and the run goes on. Then the
 * run's first seq of every stream. */
static void prime(struct run *r)
{
    static struct qp_detections_in m; /* large; used before the subscriber thread starts */
    const struct args             *a = r->a;
    uint64_t                       seq[QP_BENCH_MAX_STREAMS];
    bool                           waiting[QP_BENCH_MAX_STREAMS] = {false};
    int                            n_left                        = 0;
    for (int s = 0; s < a->n_streams; s++) {
        struct qp_pub_stats ps;
        struct qp_frame_out fo = {(uint32_t)a->width,
                                  (uint32_t)a->height,
                                  (uint32_t)a->width * 3,
                                  formats[a->format].wire,
                                  pixels_of(r, s, 0),
                                  r->fr.bytes,
                                  0,
                                  NULL};
        qp_pub_stats(r->pub[s], &ps);
        seq[s]     = ps.next_seq;
        waiting[s] = qp_pub_send(r->pub[s], &fo, NULL) == QP_OK;
        n_left += waiting[s];
    }
    for (int64_t end = now_ns(CLOCK_MONOTONIC) + PRIME_TIMEOUT_MS * 1000000LL; n_left > 0;) {
        int64_t left_ms = (end - now_ns(CLOCK_MONOTONIC)) / 1000000;
        if (left_ms <= 0 || qp_sub_recv(r->sub, &m, (int)left_ms, NULL) == QP_E_IO)
            break;
        int s = primed_stream(r, &m, seq, waiting);
        if (s >= 0) {
            snprintf(r->model, sizeof r->model, "%s", m.model);
            snprintf(r->engine_id, sizeof r->engine_id, "%s", m.engine_id);
            qp_bench_set_baseline(&r->b, s, &m.drops);
            waiting[s] = false;
            n_left--;
        }
    }
    for (int s = 0; s < a->n_streams; s++) {
        struct qp_pub_stats ps;
        qp_pub_stats(r->pub[s], &ps);
        r->b.streams[s].first_seq = ps.next_seq;
        if (!r->b.streams[s].has_baseline)
            fprintf(stderr,
                    "qpercept bench: warning: stream %s: no result for its first frame on %s "
                    "within %d s; going on\n",
                    r->b.streams[s].name, a->endpoint, PRIME_TIMEOUT_MS / 1000);
    }
}

/* Schedule, send, collect; the subscriber thread runs meanwhile. */
static enum qp_status run_schedule(struct run *r, struct qp_err *err)
{
    prime(r);
    r->start_mono_ns = now_ns(CLOCK_MONOTONIC) + START_LEAD_NS;
    qp_bench_schedule(&r->b, (uint64_t)(r->start_mono_ns + realtime_offset_ns()));
    pthread_t th;
    if (pthread_create(&th, NULL, sub_main, r) != 0)
        return qp_fail(err, QP_E_IO, "cannot start the subscriber thread");
    enum qp_status st = send_all(r, err);
    atomic_store(&r->stop_ns, now_ns(CLOCK_MONOTONIC) + (st == QP_OK ? LATE_RESULTS_NS : 1));
    pthread_join(th, NULL);
    if (st == QP_OK && r->sub_st != QP_OK) {
        st   = r->sub_st;
        *err = r->sub_err;
    }
    return st;
}

/* Report on stdout and in --json; 1 when no result came back at all. */
static int report(struct run *r, struct qp_err *err)
{
    const struct args      *a = r->a;
    struct qp_bench_summary sum;
    struct qp_bench_report  rep = {
         .endpoint        = a->endpoint,
         .frames_endpoint = a->frames_endpoint,
         .prefix          = a->prefix,
         .images          = a->images,
         .label           = a->label,
         .format          = format_names[a->format],
         .transport       = a->kind == QP_PUB_KIND_PUSH ? "push" : "pub",
         .width           = a->width,
         .height          = a->height,
         .n_images        = r->fr.n,
         .shm_slots       = (uint32_t)a->shm_slots,
         .senders         = sender_names[a->senders],
         .model           = r->model[0] ? r->model : NULL,
         .engine_id       = r->engine_id[0] ? r->engine_id : NULL,
    };
    for (int s = 0; s < a->n_streams; s++) {
        struct qp_pub_stats ps;
        qp_pub_stats(r->pub[s], &ps);
        rep.pub.n_sent += ps.n_sent;
        rep.pub.n_dropped += ps.n_dropped;
        rep.pub.n_dropped_hwm += ps.n_dropped_hwm;
        rep.pub.n_no_subscriber += ps.n_no_subscriber;
    }
    qp_sub_stats(r->sub, &rep.sub);
    qp_bench_summarize(&r->b, &sum);
    qp_bench_report_print(stdout, &rep, &r->b, &sum);
    (void)fflush(stdout);
    if (a->json && qp_bench_report_json(a->json, &rep, &r->b, &sum, err) != QP_OK)
        return 1;
    if (a->plot && qp_bench_plot_svg(a->plot, &rep, &r->b, &sum, err) != QP_OK)
        return 1;
    if (r->b.n_matched == 0) {
        qp_fail(err, QP_E_IO,
                "no Detections came back on %s for the %llu frames sent to %s: is qperceptd "
                "publishing there, with streams %s0..%s%d?",
                a->endpoint, (unsigned long long)rep.pub.n_sent, a->frames_endpoint, a->prefix,
                a->prefix, a->n_streams - 1);
        return 1;
    }
    return 0;
}

/* `qpercept bench --compare A.json B.json`: nothing else on the line. */
static int compare(int argc, char **argv)
{
    struct qp_err err = {{0}};
    if (argc != 4 || strcmp(argv[1], "--compare") != 0) {
        fprintf(stderr, "qpercept bench: --compare takes two report files (written by --json) "
                        "and no other option\n");
        return usage();
    }
    if (qp_bench_compare(argv[2], argv[3], stdout, &err) != QP_OK) {
        fprintf(stderr, "qpercept bench --compare: %s\n", err.msg);
        return 1;
    }
    return 0;
}

/* `qpercept bench --recording FILE.mcap`: nothing else on the line. */
static int recording(int argc, char **argv)
{
    struct qp_err err = {{0}};
    if (argc != 3 || strcmp(argv[1], "--recording") != 0) {
        fprintf(stderr, "qpercept bench: --recording takes one MCAP file (written by qpercept "
                        "record) and no other option\n");
        return usage();
    }
    if (qp_bench_recording(argv[2], stdout, &err) != QP_OK) {
        fprintf(stderr, "qpercept bench --recording: %s\n", err.msg);
        return 1;
    }
    return 0;
}

int qp_cli_bench(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--compare") == 0)
            return compare(argc, argv);
        if (strcmp(argv[i], "--recording") == 0)
            return recording(argc, argv);
    }
    struct args a;
    if (!parse_args(argc, argv, &a))
        return usage();
    struct run           r    = {.a = &a};
    struct qp_err        err  = {{0}};
    struct qp_bench_plan plan = {a.n_streams, a.rate_hz, a.warmup_s, a.duration_s, a.aligned};
    int                  rc   = 1;
    if (qp_bench_init(&r.b, &plan, a.prefix, &err) != QP_OK ||
        frames_load(&a, &r.fr, &err) != QP_OK || connect_all(&r, &err) != QP_OK ||
        run_schedule(&r, &err) != QP_OK || (rc = report(&r, &err)) != 0)
        fprintf(stderr, "qpercept bench: %s\n", err.msg);
    for (int s = 0; s < a.n_streams; s++)
        qp_pub_free(r.pub[s]);
    qp_sub_free(r.sub);
    qp_free(r.fr.px);
    qp_bench_fini(&r.b);
    return rc;
}
