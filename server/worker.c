// SPDX-License-Identifier: Apache-2.0
/*
 * worker.c - the engine side of qperceptd: open the engine and detector
 * named by [engine], and run each due batch's frames through them.
 *
 * Start-up: the model spec (pre-processing, head, labels) comes from the
 * manifest entry named by engine.model, or else from the sidecar / the
 * manifest entry matching the engine file (qp_model_spec_find, as the CLI
 * does). The manifest is $QP_MANIFEST, else models/zoo.ini beside the
 * build or install tree of the executable. The engine id is the first 16
 * hex digits of the engine file's sha256. A synthetic canary frame of the
 * model's input size is made once; engine.warmup runs of it happen before
 * READY=1, and it is run again when the watchdog needs proof of life on an
 * idle server.
 *
 * Batches: the engine is opened at batch 1 and a batch's frames run one
 * after the other through qp_detector_run (a batched detector entry point
 * is future work, docs/server.md); each frame is published as soon as its
 * detections are ready. Raw frames run straight from their payload slot;
 * JPEG / PNG frames are decoded here into a heap image (the one allocation
 * on the frame path, documented).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/server.h"

/* ===== Model spec ===== */

static const char *manifest_path(const char *argv0, char *buf, size_t n)
{
    const char *env = getenv("QP_MANIFEST");
    if (env && *env) {
        snprintf(buf, n, "%s", env);
        return access(buf, R_OK) == 0 ? buf : NULL;
    }
    char    exe[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k <= 0)
        k = (ssize_t)snprintf(exe, sizeof exe, "%s", argv0);
    exe[k < (ssize_t)sizeof exe ? k : (ssize_t)sizeof exe - 1] = '\0';
    char *slash                                                = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(exe, sizeof exe, ".");
    static const char *const rel[] = {"/../models/zoo.ini", "/../share/qpercept/zoo.ini"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        int m = snprintf(buf, n, "%s%s", exe, rel[i]);
        if (m > 0 && (size_t)m < n && access(buf, R_OK) == 0)
            return buf;
    }
    return NULL;
}

static char *trim(char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    char *e = p + strlen(p);
    while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = '\0';
    return p;
}

/* The manifest's [model.NAME] section into *s (engine.model). */
static enum qp_status spec_by_name(const char *manifest, const char *name, struct qp_model_spec *s,
                                   struct qp_err *err)
{
    char  line[1024], section[128], dir[PATH_MAX];
    bool  in = false, found = false;
    FILE *f = fopen(manifest, "r");
    if (!f)
        return qp_fail(err, QP_E_IO, "%s: %s", manifest, strerror(errno));
    snprintf(dir, sizeof dir, "%s", manifest);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    snprintf(section, sizeof section, "[model.%s]", name);
    qp_model_spec_init(s);
    snprintf(s->name, sizeof s->name, "%s", name);
    enum qp_status st = QP_OK;
    for (int ln = 1; st == QP_OK && fgets(line, sizeof line, f); ln++) {
        char *p = trim(line), *eq;
        if (!*p || *p == ';' || *p == '#')
            continue;
        if (*p == '[') {
            in = strcmp(p, section) == 0;
            found |= in;
        } else if (in && (eq = strchr(p, '='))) {
            *eq = '\0';
            st  = qp_model_spec_set(s, trim(p), trim(eq + 1), dir, err);
            if (st != QP_OK)
                qp_err_prefix(err, "%s:%d", manifest, ln);
        }
    }
    fclose(f);
    if (st == QP_OK && !found)
        st = qp_fail(err, QP_E_INVAL, "engine.model = %s: no [model.%s] in %s", name, name,
                     manifest);
    if (st != QP_OK)
        qp_model_spec_fini(s);
    return st;
}

static enum qp_status load_spec(const struct qp_config_engine *c, const char *argv0,
                                struct qp_model_spec *s, struct qp_err *err)
{
    char        buf[PATH_MAX];
    const char *m = manifest_path(argv0, buf, sizeof buf);
    if (c->model[0]) {
        if (!m)
            return qp_fail(err, QP_E_INVAL,
                           "engine.model = %s: no models manifest (set QP_MANIFEST)", c->model);
        return spec_by_name(m, c->model, s, err);
    }
    return qp_model_spec_find(c->path, m, s, err);
}

/* ===== Start-up ===== */

static enum qp_status make_canary(struct qp_srv_worker *w, struct qp_err *err)
{
    int32_t wd = w->spec.input_w > 0 ? w->spec.input_w : 64;
    int32_t ht = w->spec.input_h > 0 ? w->spec.input_h : 64;
    size_t  n  = (size_t)wd * (size_t)ht * 3;
    w->canary  = (struct qp_image){wd, ht, wd * 3, QP_PIXEL_RGB8, qp_alloc(n)};
    if (!w->canary.data)
        return qp_fail(err, QP_E_NOMEM, "canary frame of %zu bytes", n);
    for (size_t i = 0; i < n; i++) /* a smooth ramp: a plausible, detection-free image */
        w->canary.data[i] = (uint8_t)(64 + (i / 3 % (size_t)wd) * 128 / (size_t)wd);
    return QP_OK;
}

enum qp_status qp_srv_worker_open(struct qp_srv *srv, const char *argv0, struct qp_err *err)
{
    struct qp_srv_worker             *w   = &srv->worker;
    const struct qp_config_engine    *c   = &srv->cfg.engine;
    struct qp_engine_options          opt = QP_ENGINE_OPTIONS_DEFAULT;
    char                              hex[65];
    static const enum qp_backend_kind backends[] = {
        [QP_CONFIG_BACKEND_AUTO] = QP_BACKEND_AUTO,
        [QP_CONFIG_BACKEND_CPU]  = QP_BACKEND_CPU,
        [QP_CONFIG_BACKEND_CUDA] = QP_BACKEND_CUDA,
    };
    _Static_assert(sizeof backends / sizeof backends[0] == QP_CONFIG_BACKEND_COUNT, "backends");
    opt.backend       = backends[c->backend];
    opt.n_threads     = (int)c->threads;
    opt.batch         = 1;
    enum qp_status st = load_spec(c, argv0, &w->spec, err);
    if (st == QP_OK)
        st = qp_sha256_file(c->path, hex, err);
    if (st == QP_OK)
        st = qp_engine_open(c->path, &opt, &w->engine, err);
    if (st == QP_OK)
        st = qp_detector_new(w->engine, &w->spec, &w->detector, err);
    if (st == QP_OK)
        st = make_canary(w, err);
    if (st != QP_OK) {
        qp_err_prefix(err, "[engine] %s", c->path);
        return st;
    }
    snprintf(w->model, sizeof w->model, "%s", w->spec.name);
    snprintf(w->engine_id, sizeof w->engine_id, "sha256:%.16s", hex);
    snprintf(w->backend, sizeof w->backend, "%s", qp_engine_backend_name(w->engine));
    w->params           = (struct qp_detect_params)QP_DETECT_PARAMS_DEFAULT;
    w->params.score_min = c->score_min;
    w->params.iou       = c->iou;
    w->params.max_dets =
        (int32_t)(c->max_dets < QP_WIRE_MAX_DETECTIONS ? c->max_dets : QP_WIRE_MAX_DETECTIONS);
    for (uint32_t i = 0; st == QP_OK && i < c->warmup; i++)
        st = qp_srv_worker_canary(srv, err);
    if (st == QP_OK)
        qp_srv_log(QP_LOG_INFO, "engine %s: model %s, id %s, backend %s, %u warm-up run%s", c->path,
                   w->model, w->engine_id, w->backend, c->warmup, c->warmup == 1 ? "" : "s");
    return st;
}

void qp_srv_worker_close(struct qp_srv *srv)
{
    struct qp_srv_worker *w = &srv->worker;
    qp_detector_free(w->detector);
    qp_engine_free(w->engine);
    qp_model_spec_fini(&w->spec);
    qp_free(w->canary.data);
    memset(w, 0, sizeof *w);
}

enum qp_status qp_srv_worker_canary(struct qp_srv *srv, struct qp_err *err)
{
    struct qp_srv_worker *w  = &srv->worker;
    enum qp_status        st = qp_detector_run(w->detector, &w->canary, &w->params, w->dets,
                                               QP_WIRE_MAX_DETECTIONS, &w->n_dets, err);
    srv->canaries++;
    if (st == QP_OK)
        qp_srv_notify_inference_ok(srv);
    return st;
}

/* ===== Batches ===== */

static const enum qp_pixel_format raw_formats[] = {
    [QP_WIRE_PIXEL_RGB8]  = QP_PIXEL_RGB8,
    [QP_WIRE_PIXEL_BGR8]  = QP_PIXEL_BGR8,
    [QP_WIRE_PIXEL_GRAY8] = QP_PIXEL_GRAY8,
};

/* Detect on a waiting frame. QP_E_FORMAT means only "the JPEG / PNG does
 * not decode" (counted bad_image); a detector failure of any kind comes
 * back as another status (counted engine_error). */
static enum qp_status detect(struct qp_srv_worker *w, const struct qp_wire_frame *f,
                             struct qp_err *err)
{
    if (qp_wire_pixel_format_is_encoded(f->format)) {
        struct qp_image img;
        if (qp_image_decode(f->pixels, f->pixels_bytes, &img, err) != QP_OK)
            return QP_E_FORMAT;
        enum qp_status st = qp_detector_run(w->detector, &img, &w->params, w->dets,
                                            QP_WIRE_MAX_DETECTIONS, &w->n_dets, err);
        qp_image_free(&img);
        return st == QP_E_FORMAT ? QP_E_IO : st;
    }
    /* ingest admits RGB8, BGR8 and GRAY8 only (NV12 is refused there) */
    QP_ASSERT(f->format >= QP_WIRE_PIXEL_RGB8 && f->format <= QP_WIRE_PIXEL_GRAY8);
    struct qp_image img = {(int32_t)f->width, (int32_t)f->height, (int32_t)f->stride,
                           raw_formats[f->format], (uint8_t *)f->pixels};
    enum qp_status  st  = qp_detector_run(w->detector, &img, &w->params, w->dets,
                                          QP_WIRE_MAX_DETECTIONS, &w->n_dets, err);
    return st == QP_E_FORMAT ? QP_E_IO : st;
}

static void run_batch(struct qp_srv *srv)
{
    struct qp_batch *b  = &srv->batch;
    int64_t          t0 = qp_clock_ns();
    bool             ok = false;
    for (int32_t k = 0; k < b->n_frames; k++) {
        struct qp_srv_stream *s     = &srv->streams[b->frames[k].stream];
        struct qp_err         err   = {{0}};
        int64_t               f0    = qp_clock_ns();
        uint64_t              start = qp_srv_realtime_ns();
        enum qp_status        st    = detect(&srv->worker, &s->waiting, &err);
        uint64_t              end   = qp_srv_realtime_ns();
        if (st == QP_E_FORMAT) {
            s->st.drops[QP_SRV_DROP_BAD_IMAGE]++;
            qp_srv_log_frame(s, "frame seq %llu: image does not decode: %s",
                             (unsigned long long)s->waiting.header.seq, err.msg);
            continue;
        }
        if (st != QP_OK) {
            s->st.drops[QP_SRV_DROP_ENGINE_ERROR]++;
            qp_srv_log(QP_LOG_ERROR, "stream '%s' seq %llu: inference failed: %s", s->cfg->name,
                       (unsigned long long)s->waiting.header.seq, err.msg);
            continue;
        }
        ok = true;
        qp_srv_hist_add(&srv->frame_inference, (uint64_t)(qp_clock_ns() - f0));
        qp_srv_publish_frame(srv, k, start, end);
    }
    uint64_t ns = (uint64_t)(qp_clock_ns() - t0);
    qp_srv_hist_add(&srv->batch_inference, ns);
    srv->batches_by_size[b->n_frames]++;
    srv->batches_by_trigger[b->trigger]++;
    srv->last_batch_frames = (uint64_t)b->n_frames;
    srv->last_batch_ns     = ns;
    if (ok)
        qp_srv_notify_inference_ok(srv);
    qp_srv_log(QP_LOG_DEBUG, "batch of %d (%s) in %.1f ms", (int)b->n_frames,
               qp_batcher_trigger_name(b->trigger), (double)ns / 1e6);
}

static void expire(struct qp_srv *srv)
{
    for (int32_t k = 0; k < srv->batch.n_expired; k++)
        srv->streams[srv->batch.expired[k].stream].st.drops[QP_SRV_DROP_TOO_OLD]++;
}

void qp_srv_worker_run_due(struct qp_srv *srv)
{
    for (;;) {
        bool formed = qp_batcher_poll(srv->batcher, qp_srv_realtime_ns(), &srv->batch);
        expire(srv);
        if (!formed)
            return;
        run_batch(srv);
    }
}
