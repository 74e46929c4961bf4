// SPDX-License-Identifier: Apache-2.0
/*
 * worker.c - the engine side of qperceptd: the engine set named by
 * [engine] (one engine + detector per batch-size bucket), each due batch in
 * one engine run, and reloading the set between batches.
 *
 * Engine set (struct qp_srv_engine_set): the model spec (pre-processing,
 * head, labels) from the manifest entry named by engine.model, or else from
 * the sidecar / the manifest entry matching the engine file
 * (qp_model_spec_find, as the CLI does); the manifest is $QP_MANIFEST, else
 * models/zoo.ini beside the build or install tree of the executable. Then
 * for every bucket b of engine.batch_sizes the engine file opened at batch
 * b (qp_engine_options.batch) and a detector on it; the engine id (the
 * first 16 hex digits of the file's sha256); a synthetic canary frame of
 * the model's input size. Validation = qp_detector_new's shape checks plus
 * engine.warmup (at least one) full batches of the canary through every
 * bucket, which also touches every arena before the first frame.
 *
 * Batches: the frames of a batch go through the smallest bucket that holds
 * them in one qp_detector_run_batch (inference start / end stamps are the
 * batch's), then each frame is published. Raw frames run straight from
 * their payload slot; JPEG / PNG frames are decoded here into heap images
 * before the run and freed after it (the one allocation on the frame path,
 * documented).
 *
 * Reload (control `reload [ENGINE]`, SIGHUP): a second set is built beside
 * the serving one; only when all of it is built and validated does it
 * replace the serving set, and the old one is freed. The server has one
 * thread, so this happens between batches by construction; frames arriving
 * meanwhile wait in the ZeroMQ queues and the batcher, as during a long
 * batch. A failure frees the half-built set and leaves the serving one as
 * it was.
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
    const char *m = qp_model_manifest(argv0, buf, sizeof buf);
    if (c->model[0]) {
        if (!m)
            return qp_fail(err, QP_E_INVAL,
                           "engine.model = %s: no models manifest (set QP_MANIFEST)", c->model);
        return spec_by_name(m, c->model, s, err);
    }
    return qp_model_spec_find(c->path, m, s, err);
}

/* The spec for a reload to an explicit path: the file's own (sidecar,
 * manifest by sha256 or name), else engine.model's when that is set. */
static enum qp_status reload_spec(const struct qp_config_engine *c, const char *argv0,
                                  const char *path, struct qp_model_spec *s, struct qp_err *err)
{
    char           buf[PATH_MAX];
    const char    *m  = qp_model_manifest(argv0, buf, sizeof buf);
    enum qp_status st = qp_model_spec_find(path, m, s, err);
    if (st != QP_OK && c->model[0] && m) {
        qp_model_spec_fini(s);
        st = spec_by_name(m, c->model, s, err);
    }
    return st;
}

/* ===== Engine sets ===== */

static enum qp_status make_canary(struct qp_srv_engine_set *set, struct qp_err *err)
{
    int32_t wd  = set->spec.input_w > 0 ? set->spec.input_w : 64;
    int32_t ht  = set->spec.input_h > 0 ? set->spec.input_h : 64;
    size_t  n   = (size_t)wd * (size_t)ht * 3;
    set->canary = (struct qp_image){wd, ht, wd * 3, QP_PIXEL_RGB8, qp_alloc(n)};
    if (!set->canary.data)
        return qp_fail(err, QP_E_NOMEM, "canary frame of %zu bytes", n);
    for (size_t i = 0; i < n; i++) /* a smooth ramp: a plausible, detection-free image */
        set->canary.data[i] = (uint8_t)(64 + (i / 3 % (size_t)wd) * 128 / (size_t)wd);
    return QP_OK;
}

static void set_free(struct qp_srv_engine_set *set)
{
    if (!set)
        return;
    for (int32_t i = 0; i < set->n_buckets; i++) {
        qp_detector_free(set->buckets[i].detector);
        qp_engine_free(set->buckets[i].engine);
    }
    qp_model_spec_fini(&set->spec);
    qp_free(set->canary.data);
    qp_free(set);
}

/* Open set->path at every bucket size of c->batch_sizes. */
static enum qp_status open_buckets(struct qp_srv_engine_set *set, const struct qp_config_engine *c,
                                   struct qp_err *err)
{
    static const enum qp_backend_kind backends[] = {
        [QP_CONFIG_BACKEND_AUTO] = QP_BACKEND_AUTO,
        [QP_CONFIG_BACKEND_CPU]  = QP_BACKEND_CPU,
        [QP_CONFIG_BACKEND_CUDA] = QP_BACKEND_CUDA,
    };
    _Static_assert(sizeof backends / sizeof backends[0] == QP_CONFIG_BACKEND_COUNT, "backends");
    struct qp_engine_options opt = QP_ENGINE_OPTIONS_DEFAULT;
    opt.backend                  = backends[c->backend];
    opt.n_threads                = (int)c->threads;
    for (uint32_t i = 0; i < c->batch_sizes.n; i++) {
        struct qp_srv_bucket *b = &set->buckets[set->n_buckets];
        b->batch                = (int32_t)c->batch_sizes.v[i];
        opt.batch               = b->batch;
        enum qp_status st       = qp_engine_open(set->path, &opt, &b->engine, err);
        if (st == QP_OK) {
            set->n_buckets++; /* from here set_free() frees it */
            st = qp_detector_new(b->engine, &set->spec, &b->detector, err);
        }
        if (st == QP_OK && qp_detector_batch(b->detector) != b->batch)
            st = qp_fail(err, QP_E_INVAL, "the engine runs %d images, not %d",
                         (int)qp_detector_batch(b->detector), (int)b->batch);
        if (st != QP_OK) {
            qp_err_prefix(err, "batch-size bucket %d", (int)b->batch);
            return st;
        }
        set->arena_bytes += qp_engine_arena_bytes(b->engine);
    }
    return QP_OK;
}

/* engine.warmup (at least one) full batches of the canary through every
 * bucket: the validation that the set runs, and the first touch of its
 * memory. Uses the worker's batch scratch: call between batches. */
static enum qp_status warm_up(struct qp_srv_worker *w, const struct qp_srv_engine_set *set,
                              uint32_t runs, struct qp_err *err)
{
    for (int32_t i = 0; i < set->n_buckets; i++) {
        const struct qp_srv_bucket *b = &set->buckets[i];
        for (int32_t k = 0; k < b->batch; k++)
            w->imgs[k] = set->canary;
        for (uint32_t r = 0; r < (runs ? runs : 1); r++) {
            enum qp_status st =
                qp_detector_run_batch(b->detector, w->imgs, b->batch, &w->params, w->batch_dets,
                                      QP_WIRE_MAX_DETECTIONS, w->counts, err);
            if (st != QP_OK) {
                qp_err_prefix(err, "warm-up of batch-size bucket %d", (int)b->batch);
                return st;
            }
        }
    }
    return QP_OK;
}

/* Build and validate the set of path (NULL: engine.path) into *out. */
static enum qp_status set_build(struct qp_srv *srv, const char *path, const char *argv0,
                                struct qp_srv_engine_set **out, struct qp_err *err)
{
    const struct qp_config_engine *c   = &srv->cfg.engine;
    struct qp_srv_engine_set      *set = qp_calloc(1, sizeof *set);
    char                           hex[65];
    if (!set)
        return qp_fail(err, QP_E_NOMEM, "engine set of %zu bytes", sizeof *set);
    qp_model_spec_init(&set->spec);
    if (snprintf(set->path, sizeof set->path, "%s", path ? path : c->path) >=
        (int)sizeof set->path) {
        set_free(set);
        return qp_fail(err, QP_E_INVAL, "engine path longer than %zu bytes", sizeof set->path);
    }
    enum qp_status st =
        path ? reload_spec(c, argv0, path, &set->spec, err) : load_spec(c, argv0, &set->spec, err);
    if (st == QP_OK)
        st = qp_sha256_file(set->path, hex, err);
    if (st == QP_OK)
        st = open_buckets(set, c, err);
    if (st == QP_OK)
        st = make_canary(set, err);
    if (st == QP_OK)
        st = warm_up(&srv->worker, set, c->warmup, err);
    if (st != QP_OK) {
        if (err && !strstr(err->msg, set->path)) /* most reasons name the file already */
            qp_err_prefix(err, "%s", set->path);
        set_free(set);
        return st;
    }
    snprintf(set->model, sizeof set->model, "%s", set->spec.name);
    snprintf(set->engine_id, sizeof set->engine_id, "sha256:%.16s", hex);
    snprintf(set->backend, sizeof set->backend, "%s",
             qp_engine_backend_name(set->buckets[0].engine));
    *out = set;
    return QP_OK;
}

/* Serve set from now on; the previous set is freed. */
static void set_swap(struct qp_srv_worker *w, struct qp_srv_engine_set *set)
{
    struct qp_srv_engine_set *old = w->set;
    w->set                        = set;
    w->engine                     = set->buckets[set->n_buckets - 1].engine;
    w->spec                       = set->spec;
    memcpy(w->model, set->model, sizeof w->model);
    memcpy(w->engine_id, set->engine_id, sizeof w->engine_id);
    memcpy(w->backend, set->backend, sizeof w->backend);
    set_free(old);
}

static void log_set(const struct qp_srv *srv, const char *what)
{
    const struct qp_srv_engine_set *set = srv->worker.set;
    char                            sizes[128];
    int                             n = 0;
    sizes[0]                          = '\0';
    for (int32_t i = 0; i < set->n_buckets && n < (int)sizeof sizes - 8; i++)
        n += snprintf(sizes + n, sizeof sizes - (size_t)n, "%s%d", i ? "," : "",
                      (int)set->buckets[i].batch);
    qp_srv_log(QP_LOG_INFO,
               "%s %s: model %s, id %s, backend %s, batch sizes %s (arenas %.1f MiB), %u "
               "warm-up batch%s each",
               what, set->path, set->model, set->engine_id, set->backend, sizes,
               (double)set->arena_bytes / (1 << 20), srv->cfg.engine.warmup,
               srv->cfg.engine.warmup == 1 ? "" : "es");
}

/* ===== Start-up, reload ===== */

enum qp_status qp_srv_worker_open(struct qp_srv *srv, const char *argv0, struct qp_err *err)
{
    struct qp_srv_worker          *w = &srv->worker;
    const struct qp_config_engine *c = &srv->cfg.engine;
    uint32_t max = c->batch_sizes.n ? c->batch_sizes.v[c->batch_sizes.n - 1] : 0;
    w->argv0     = argv0;
    if (max < 1 || max > QP_BATCHER_MAX_BATCH)
        return qp_fail(err, QP_E_INVAL, "[engine] batch_sizes: largest %u is outside [1, %d]", max,
                       QP_BATCHER_MAX_BATCH);
    w->params           = (struct qp_detect_params)QP_DETECT_PARAMS_DEFAULT;
    w->params.score_min = c->score_min;
    w->params.iou       = c->iou;
    w->params.max_dets =
        (int32_t)(c->max_dets < QP_WIRE_MAX_DETECTIONS ? c->max_dets : QP_WIRE_MAX_DETECTIONS);
    /* sized by the largest bucket, which a reload cannot change */
    w->batch_dets = qp_calloc((size_t)max * QP_WIRE_MAX_DETECTIONS, sizeof *w->batch_dets);
    if (!w->batch_dets)
        return qp_fail(err, QP_E_NOMEM, "detections of %u frames", max);
    struct qp_srv_engine_set *set = NULL;
    enum qp_status            st  = set_build(srv, NULL, argv0, &set, err);
    if (st != QP_OK) {
        qp_err_prefix(err, "[engine]");
        return st;
    }
    set_swap(w, set);
    log_set(srv, "engine");
    return QP_OK;
}

void qp_srv_worker_close(struct qp_srv *srv)
{
    struct qp_srv_worker *w = &srv->worker;
    set_free(w->set);
    qp_free(w->batch_dets);
    memset(w, 0, sizeof *w);
}

enum qp_status qp_srv_worker_reload(struct qp_srv *srv, const char *path, struct qp_err *err)
{
    struct qp_srv_worker     *w   = &srv->worker;
    struct qp_srv_engine_set *set = NULL;
    int64_t                   t0  = qp_clock_ns();
    enum qp_status            st = set_build(srv, path && *path ? path : NULL, w->argv0, &set, err);
    if (st != QP_OK) {
        w->reload_failures++;
        qp_srv_log(QP_LOG_ERROR, "reload failed, still serving %s (%s): %s", w->engine_id, w->model,
                   err ? err->msg : qp_status_str(st));
        return st;
    }
    char old[QP_WIRE_ID_MAX];
    memcpy(old, w->engine_id, sizeof old);
    set_swap(w, set);
    w->reloads++;
    log_set(srv, "reloaded");
    qp_srv_log(QP_LOG_INFO, "reload: %s replaced %s in %.0f ms", w->engine_id, old,
               (double)(qp_clock_ns() - t0) / 1e6);
    return QP_OK;
}

enum qp_status qp_srv_worker_canary(struct qp_srv *srv, struct qp_err *err)
{
    struct qp_srv_worker *w = &srv->worker;
    enum qp_status        st =
        qp_detector_run_batch(w->set->buckets[0].detector, &w->set->canary, 1, &w->params,
                              w->batch_dets, QP_WIRE_MAX_DETECTIONS, w->counts, err);
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

/* The waiting frame's image into *img: its slot's pixels, or a JPEG / PNG
 * decoded into a heap image (*decoded). QP_E_FORMAT: it does not decode. */
static enum qp_status frame_image(const struct qp_wire_frame *f, struct qp_image *img,
                                  bool *decoded, struct qp_err *err)
{
    *decoded = false;
    if (qp_wire_pixel_format_is_encoded(f->format)) {
        if (qp_image_decode(f->pixels, f->pixels_bytes, img, err) != QP_OK)
            return QP_E_FORMAT;
        *decoded = true;
        return QP_OK;
    }
    /* ingest admits RGB8, BGR8 and GRAY8 only (NV12 is refused there) */
    QP_ASSERT(f->format >= QP_WIRE_PIXEL_RGB8 && f->format <= QP_WIRE_PIXEL_GRAY8);
    *img = (struct qp_image){(int32_t)f->width, (int32_t)f->height, (int32_t)f->stride,
                             raw_formats[f->format], (uint8_t *)f->pixels};
    return QP_OK;
}

/* The batch's images into w->imgs[0, n) (frames that do not decode are
 * dropped bad_image); returns n. */
static int32_t gather(struct qp_srv *srv)
{
    struct qp_srv_worker *w = &srv->worker;
    int32_t               n = 0;
    for (int32_t k = 0; k < srv->batch.n_frames; k++) {
        struct qp_srv_stream *s   = &srv->streams[srv->batch.frames[k].stream];
        struct qp_err         err = {{0}};
        if (frame_image(&s->waiting, &w->imgs[n], &w->decoded[n], &err) != QP_OK) {
            s->st.drops[QP_SRV_DROP_BAD_IMAGE]++;
            qp_srv_log_frame(s, "frame seq %llu: image does not decode: %s",
                             (unsigned long long)s->waiting.header.seq, err.msg);
            continue;
        }
        w->frame_of[n++] = k;
    }
    return n;
}

/* The serving set's smallest bucket holding n frames (the batcher never
 * forms a batch above the largest). */
static const struct qp_srv_bucket *bucket_for(const struct qp_srv_engine_set *set, int32_t n)
{
    for (int32_t i = 0; i < set->n_buckets; i++)
        if (set->buckets[i].batch >= n)
            return &set->buckets[i];
    QP_ASSERT(!"a batch above the largest bucket");
    return NULL;
}

/* n gathered images in one run, then each frame published; true when the
 * run succeeded. */
static bool infer(struct qp_srv *srv, int32_t n)
{
    struct qp_srv_worker       *w     = &srv->worker;
    const struct qp_srv_bucket *b     = bucket_for(w->set, n);
    struct qp_err               err   = {{0}};
    int64_t                     t0    = qp_clock_ns();
    uint64_t                    start = qp_srv_realtime_ns();
    enum qp_status st  = qp_detector_run_batch(b->detector, w->imgs, n, &w->params, w->batch_dets,
                                               QP_WIRE_MAX_DETECTIONS, w->counts, &err);
    uint64_t       end = qp_srv_realtime_ns();
    uint64_t       ns  = (uint64_t)(qp_clock_ns() - t0);
    for (int32_t i = 0; i < n; i++)
        if (w->decoded[i])
            qp_image_free(&w->imgs[i]);
    if (st != QP_OK) {
        for (int32_t i = 0; i < n; i++)
            srv->streams[srv->batch.frames[w->frame_of[i]].stream]
                .st.drops[QP_SRV_DROP_ENGINE_ERROR]++;
        qp_srv_log(QP_LOG_ERROR, "batch of %d frames (bucket %d): inference failed: %s", (int)n,
                   (int)b->batch, err.msg);
        return false;
    }
    for (int32_t i = 0; i < n; i++) {
        /* each frame's share of the batch: its cost per frame */
        qp_srv_hist_add(&srv->frame_inference, ns / (uint64_t)n);
        qp_srv_publish_frame(srv, w->frame_of[i],
                             w->batch_dets + (size_t)i * QP_WIRE_MAX_DETECTIONS, w->counts[i],
                             start, end);
    }
    return true;
}

static void run_batch(struct qp_srv *srv)
{
    struct qp_batch *b  = &srv->batch;
    int64_t          t0 = qp_clock_ns();
    int32_t          n  = gather(srv);
    bool             ok = n > 0 && infer(srv, n);
    uint64_t         ns = (uint64_t)(qp_clock_ns() - t0);
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
