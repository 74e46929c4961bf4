// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_replay.c - `qpercept replay SOURCE --endpoint TEMPLATE [--push|--pub]
 * [--rate R|max] [--loop] [--start S] [--end S] [--raw] [--shm SLOTS]
 * [--fps F] [--timestamps FILE] [--scene NAME] [--stream NAME] [--topic T
 * ...]`: publish a recorded drive (replay_source.h: a multi-camera set,
 * KITTI raw, an image folder, an MCAP recording) to qperceptd as its
 * cameras would, one stream per camera (per MCAP image channel: --topic
 * selects them, default all).
 *
 * Timing: each frame is sent at its time in the drive, from --start, over
 * --rate (1: the original timing; 2: twice as fast; max: as fast as the
 * transport takes them), on absolute deadlines from one start, so no error
 * accumulates; capture_ns is the moment of sending (CLOCK_REALTIME), as a
 * live camera stamps its frames. --loop plays the span again and again
 * (seqs go on). Frames go as their files (JPEG / PNG, the server decodes
 * them) or, with --raw, decoded here to RGB8 before the clock starts (what
 * a camera driver sends; memory: every frame's pixels). An MCAP recording
 * is not preloaded: each frame is read from the file (and with --raw a
 * JPEG / PNG decoded) just before its deadline, so memory stays one chunk
 * and one frame however large the file (replay_mcap.c). Frames carry the
 * replay's own seqs (per stream from 0, going on across loops), never the
 * recorded ones, as for the other sources. Stream s publishes
 * to TEMPLATE with "%s" replaced by its name (cam_front, image_02, ...);
 * a template without "%s" serves a one-stream source only. --push (default)
 * connects a PUSH to the server's PULL; --pub binds a PUB for a server
 * stream of mode = sub (waiting up to 10 s for its subscription). --shm
 * SLOTS sends through shared-memory rings (the server's transport = shm).
 * Never blocks: a frame the transport cannot take is dropped and counted,
 * as a camera would. Progress on stderr when it is a terminal.
 *
 * Exit status: 0 played, 1 the source or a socket failed, 2 usage.
 */
#define _GNU_SOURCE /* clock_nanosleep */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "core/alloc.h"
#include "qpercept/client.h"
#include "qpercept/detect.h"
#include "replay_mcap.h"
#include "replay_source.h"

#define MAX_TOPICS 64

struct args {
    const char *source, *endpoint, *timestamps, *scene, *stream;
    const char *topics[MAX_TOPICS];
    int32_t     n_topics;
    double      rate, start_s, end_s, fps;
    bool        max_rate, loop, raw, pub;
    long        shm_slots;
};

/* One frame's bytes, read (and with --raw decoded) before the clock starts. */
struct payload {
    uint8_t             *bytes;
    size_t               n;
    uint32_t             width, height, stride;
    enum qp_frame_format format;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int usage(const char *why)
{
    fprintf(
        stderr,
        "qpercept replay: %s\n"
        "usage: qpercept replay SOURCE --endpoint TEMPLATE (\"%%s\": stream name) [--push|--pub]\n"
        "         [--rate R|max] [--loop] [--start S] [--end S] [--raw] [--shm SLOTS]\n"
        "         [--fps F] [--timestamps FILE] [--scene NAME] [--stream NAME] [--topic T ...]\n",
        why);
    return 2;
}

static int parse(int argc, char **argv, struct args *a)
{
    *a = (struct args){.rate = 1.0, .end_s = -1, .fps = 25.0};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = NULL;
        bool        needs = strncmp(o, "--", 2) == 0 && strcmp(o, "--loop") != 0 &&
                     strcmp(o, "--raw") != 0 && strcmp(o, "--push") != 0 && strcmp(o, "--pub") != 0;
        if (needs && !(v = qp_cli_value(argc, argv, &i)))
            return usage("an option lacks its value");
        long k;
        if (strcmp(o, "--endpoint") == 0)
            a->endpoint = v;
        else if (strcmp(o, "--timestamps") == 0)
            a->timestamps = v;
        else if (strcmp(o, "--scene") == 0)
            a->scene = v;
        else if (strcmp(o, "--stream") == 0)
            a->stream = v;
        else if (strcmp(o, "--topic") == 0) {
            if (a->n_topics == MAX_TOPICS)
                return usage("at most 64 --topic");
            a->topics[a->n_topics++] = v;
            /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): needs, so v is set */
        } else if (strcmp(o, "--rate") == 0 && strcmp(v, "max") == 0)
            a->max_rate = true;
        else if (strcmp(o, "--rate") == 0) {
            if (!qp_cli_parse_float(v, 1e-3, 1e3, &a->rate))
                return usage("--rate wants a factor in [0.001, 1000] or max");
        } else if (strcmp(o, "--start") == 0) {
            if (!qp_cli_parse_float(v, 0, 1e9, &a->start_s))
                return usage("--start wants seconds >= 0");
        } else if (strcmp(o, "--end") == 0) {
            if (!qp_cli_parse_float(v, 0, 1e9, &a->end_s))
                return usage("--end wants seconds >= 0");
        } else if (strcmp(o, "--fps") == 0) {
            if (!qp_cli_parse_float(v, 1e-3, 1e5, &a->fps))
                return usage("--fps wants frames per second in [0.001, 100000]");
        } else if (strcmp(o, "--shm") == 0) {
            if (!qp_cli_parse_int(v, 2, 1024, &k))
                return usage("--shm wants a ring of 2..1024 slots");
            a->shm_slots = k;
        } else if (strcmp(o, "--loop") == 0)
            a->loop = true;
        else if (strcmp(o, "--raw") == 0)
            a->raw = true;
        else if (strcmp(o, "--push") == 0)
            a->pub = false;
        else if (strcmp(o, "--pub") == 0)
            a->pub = true;
        else if (!needs && !a->source && o[0] != '-')
            a->source = o;
        else {
            fprintf(stderr, "qpercept replay: unexpected argument '%s'\n", o);
            return usage("see above");
        }
    }
    if (!a->source || !a->endpoint)
        return usage("give SOURCE and --endpoint");
    if (a->end_s >= 0 && a->end_s <= a->start_s)
        return usage("--end must come after --start");
    return 0;
}

static enum qp_status load(const char *path, bool raw, struct payload *p, struct qp_err *err)
{
    if (raw) {
        struct qp_image img;
        enum qp_status  st = qp_image_load(path, &img, err);
        if (st != QP_OK)
            return st;
        *p = (struct payload){img.data,
                              (size_t)img.stride * (size_t)img.height,
                              (uint32_t)img.width,
                              (uint32_t)img.height,
                              (uint32_t)img.stride,
                              img.format == QP_PIXEL_GRAY8  ? QP_FRAME_FORMAT_GRAY8
                              : img.format == QP_PIXEL_BGR8 ? QP_FRAME_FORMAT_BGR8
                                                            : QP_FRAME_FORMAT_RGB8};
        return QP_OK;
    }
    FILE *f = fopen(path, "rb");
    if (!f)
        return qp_fail(err, QP_E_IO, "%s: %s", path, strerror(errno));
    long n   = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    p->bytes = n > 0 && fseek(f, 0, SEEK_SET) == 0 ? qp_alloc((size_t)n) : NULL;
    bool ok  = p->bytes && fread(p->bytes, 1, (size_t)n, f) == (size_t)n;
    (void)fclose(f);
    if (!ok)
        return qp_fail(err, QP_E_IO, "%s: cannot read it", path);
    /* the protocol wants the declared size of an encoded frame: from its header */
    int32_t w, h;
    bool    png;
    if (qp_image_probe(p->bytes, (size_t)n, &w, &h, &png, err) != QP_OK) {
        qp_err_prefix(err, "%s", path);
        return QP_E_FORMAT;
    }
    p->n      = (size_t)n;
    p->width  = (uint32_t)w;
    p->height = (uint32_t)h;
    p->stride = 0;
    p->format = png ? QP_FRAME_FORMAT_PNG : QP_FRAME_FORMAT_JPEG;
    return QP_OK;
}

static enum qp_status open_pubs(const struct qp_replay_source *s, const struct args *a,
                                size_t max_bytes, struct qp_pub **pub, struct qp_err *err)
{
    const char *pct = strstr(a->endpoint, "%s");
    if (!pct && s->n_streams > 1)
        return qp_fail(err, QP_E_INVAL, "--endpoint %s: %d streams need \"%%s\" for their names",
                       a->endpoint, (int)s->n_streams);
    for (int32_t i = 0; i < s->n_streams; i++) {
        char               ep[1024];
        struct qp_pub_opts o = QP_PUB_OPTS_DEFAULT;
        if (pct)
            snprintf(ep, sizeof ep, "%.*s%s%s", (int)(pct - a->endpoint), a->endpoint, s->names[i],
                     pct + 2);
        else
            snprintf(ep, sizeof ep, "%s", a->endpoint);
        o.endpoint        = ep;
        o.stream          = s->names[i];
        o.kind            = a->pub ? QP_PUB_KIND_PUB : QP_PUB_KIND_PUSH;
        o.max_frame_bytes = max_bytes;
        o.shm_slots       = (uint32_t)a->shm_slots;
        o.linger_ms       = 5000; /* the last frames still go out after play() */
        enum qp_status st = qp_pub_new(&o, &pub[i], err);
        if (st == QP_OK && a->pub && qp_pub_wait_subscriber(pub[i], 10000, err) != QP_OK)
            fprintf(stderr, "qpercept replay: %s: no subscriber yet, sending anyway\n", ep);
        if (st != QP_OK)
            return st;
    }
    return QP_OK;
}

/* Frame j as it goes out: preloaded (files), or read from the MCAP file
 * now (with --raw a JPEG / PNG decoded into *rgb, the caller's to free). */
static enum qp_status frame_out(struct qp_replay_source *s, const struct args *a, int64_t j,
                                const struct payload *p, struct qp_frame_out *fo,
                                struct qp_image *rgb, struct qp_err *err)
{
    struct qp_replay_payload m;
    enum qp_status           st;
    if (!s->mcap) {
        *fo = (struct qp_frame_out){.width        = p->width,
                                    .height       = p->height,
                                    .stride       = p->stride,
                                    .format       = p->format,
                                    .pixels       = p->bytes,
                                    .pixels_bytes = p->n};
        return QP_OK;
    }
    if ((st = qp_replay_mcap_read(s, j, &m, err)) != QP_OK)
        return st;
    if (a->raw && (m.format == QP_FRAME_FORMAT_JPEG || m.format == QP_FRAME_FORMAT_PNG)) {
        if ((st = qp_image_decode(m.bytes, m.n, rgb, err)) != QP_OK) {
            qp_err_prefix(err, "%s: frame %lld of %s", a->source, (long long)j,
                          s->names[s->frames[j].stream]);
            return st;
        }
        m = (struct qp_replay_payload){rgb->data,
                                       (size_t)rgb->stride * (size_t)rgb->height,
                                       (uint32_t)rgb->width,
                                       (uint32_t)rgb->height,
                                       (uint32_t)rgb->stride,
                                       rgb->format == QP_PIXEL_GRAY8  ? QP_FRAME_FORMAT_GRAY8
                                       : rgb->format == QP_PIXEL_BGR8 ? QP_FRAME_FORMAT_BGR8
                                                                      : QP_FRAME_FORMAT_RGB8};
    }
    *fo = (struct qp_frame_out){.width        = m.width,
                                .height       = m.height,
                                .stride       = m.stride,
                                .format       = m.format,
                                .pixels       = m.bytes,
                                .pixels_bytes = m.n};
    return QP_OK;
}

/* Send frames [lo, hi) of s, looping with --loop, on the schedule. */
static enum qp_status play(struct qp_replay_source *s, const struct args *a, int64_t lo, int64_t hi,
                           const struct payload *pl, struct qp_pub **pub, struct qp_err *err)
{
    bool    tty = isatty(STDERR_FILENO);
    int64_t t0 = s->frames[lo].t_ns, span_ns = s->frames[hi - 1].t_ns - t0;
    /* a loop's period: the span plus one mean frame interval, so the first
     * frame does not land on the last one */
    int64_t period = span_ns + (hi - lo > 1 ? span_ns / (hi - lo - 1) : 40000000);
    int64_t start = -1, next_progress = 0, sent = 0, dropped = 0;
    for (int64_t round = 0; !stop; round++) {
        for (int64_t j = lo; j < hi && !stop; j++) {
            const struct qp_replay_frame *f   = &s->frames[j];
            struct qp_image               rgb = {0};
            struct qp_frame_out           fo;
            /* read (MCAP) before the wait, so the deadline is kept */
            enum qp_status st = frame_out(s, a, j, pl ? &pl[j - lo] : NULL, &fo, &rgb, err);
            if (st != QP_OK)
                return st;
            if (start < 0) /* the clock starts once the first frame is in hand (MCAP: --start) */
                start = now_ns(CLOCK_MONOTONIC);
            if (!a->max_rate) {
                int64_t         t  = (int64_t)((double)(round * period + f->t_ns - t0) / a->rate);
                int64_t         dl = start + t;
                struct timespec ts = {dl / 1000000000LL, dl % 1000000000LL};
                while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                    ;
            }
            st = qp_pub_send(pub[f->stream], &fo, err);
            qp_image_free(&rgb);
            if (st == QP_E_AGAIN)
                dropped++;
            else if (st != QP_OK)
                return st;
            else
                sent++;
            int64_t now = now_ns(CLOCK_MONOTONIC);
            if (tty && now >= next_progress) {
                fprintf(stderr, "\rreplay: %lld sent, %lld dropped, %.1f s of %.1f s%s",
                        (long long)sent, (long long)dropped, (double)(f->t_ns - t0) / 1e9,
                        (double)span_ns / 1e9, a->loop ? " (looping)" : "");
                next_progress = now + 250000000LL;
            }
        }
        if (!a->loop)
            break;
    }
    if (tty)
        fputc('\n', stderr);
    fprintf(stderr, "qpercept replay: %lld frames sent, %lld dropped at the publisher%s\n",
            (long long)sent, (long long)dropped, stop ? " (interrupted)" : "");
    return QP_OK;
}

int qp_cli_replay(int argc, char **argv)
{
    struct args a;
    int         rc = parse(argc, argv, &a);
    if (rc)
        return rc;
    struct qp_replay_source_opts so                         = QP_REPLAY_SOURCE_OPTS_DEFAULT;
    struct qp_replay_source      s                          = {0};
    struct qp_err                err                        = {{0}};
    struct qp_pub               *pub[QP_REPLAY_MAX_STREAMS] = {0};
    struct payload              *pl                         = NULL;
    int64_t                      lo = 0, hi = 0;
    so.fps            = a.fps;
    so.timestamps     = a.timestamps;
    so.scene          = a.scene;
    so.stream         = a.stream;
    so.topics         = a.topics;
    so.n_topics       = a.n_topics;
    enum qp_status st = qp_replay_source_open(a.source, &so, &s, &err);
    if (st == QP_OK) {
        qp_replay_source_span(&s, a.start_s, a.end_s, &lo, &hi);
        if (hi == lo)
            st = qp_fail(&err, QP_E_INVAL, "%s: no frame between --start and --end", a.source);
    }
    if (st == QP_OK) {
        fprintf(stderr, "qpercept replay: %s: %s%s%s, %d stream%s, %lld frames over %.2f s",
                a.source, qp_replay_layout_name(s.layout), s.scene[0] ? " " : "", s.scene,
                (int)s.n_streams, s.n_streams == 1 ? "" : "s", (long long)(hi - lo),
                (double)(s.frames[hi - 1].t_ns - s.frames[lo].t_ns) / 1e9);
        if (s.n_skipped)
            fprintf(stderr, " (%lld frames of other scenes skipped)", (long long)s.n_skipped);
        fputc('\n', stderr);
        if (s.mcap)
            qp_replay_mcap_print(&s, stderr);
        else if (!(pl = qp_calloc((size_t)(hi - lo), sizeof *pl)))
            st = qp_fail(&err, QP_E_NOMEM, "%lld frames", (long long)(hi - lo));
    }
    size_t max_bytes = 1;
    if (st == QP_OK && s.mcap) { /* read while playing: the largest frame sizes the transport */
        const struct qp_replay_mcap_info *mi = qp_replay_mcap_info(s.mcap);
        max_bytes = a.raw && mi->max_rgb_bytes > mi->max_bytes ? mi->max_rgb_bytes : mi->max_bytes;
    }
    for (int64_t j = lo; st == QP_OK && pl && j < hi; j++) {
        st = load(s.frames[j].path, a.raw, &pl[j - lo], &err);
        if (st == QP_OK && pl[j - lo].n > max_bytes)
            max_bytes = pl[j - lo].n;
    }
    if (st == QP_OK)
        st = open_pubs(&s, &a, max_bytes, pub, &err);
    if (st == QP_OK) {
        (void)signal(SIGINT, on_signal);
        (void)signal(SIGTERM, on_signal);
        st = play(&s, &a, lo, hi, pl, pub, &err);
    }
    if (st != QP_OK)
        fprintf(stderr, "qpercept replay: %s\n", err.msg);
    for (int32_t i = 0; i < s.n_streams; i++)
        qp_pub_free(pub[i]);
    for (int64_t j = 0; pl && j < hi - lo; j++)
        qp_free(pl[j].bytes);
    qp_free(pl);
    qp_replay_source_free(&s);
    return st == QP_OK ? 0 : 1;
}
