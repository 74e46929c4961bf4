// SPDX-License-Identifier: Apache-2.0
/*
 * engine_set.c - what one engine file is served with: the model spec, one
 * engine + detector per batch-size bucket, the canary frame, and the
 * validation (warm-up) that must pass before a set may serve.
 *
 * Model spec: from the manifest entry named by engine.model, or else from
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
 * A set is built whole by one thread (start-up: main; reload: the reload
 * thread, worker.c) and shares nothing with other sets, so a reload builds
 * beside the set being served. Building allocates; serving does not.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    (void)fclose(f);
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

void qp_srv_set_free(struct qp_srv_engine_set *set)
{
    if (!set)
        return;
    for (int32_t i = 0; i < set->n_buckets; i++) {
        qp_detector_free(set->buckets[i].detector);
        qp_engine_free(set->buckets[i].engine);
    }
    qp_engine_share_free(set->share);
    qp_model_spec_fini(&set->spec);
    qp_free(set->canary.data);
    qp_free(set->sat);
    qp_free(set);
}

/* Stage batches of frame_bytes frames for b's detector on a backend that
 * pre-processes them itself; a failure leaves them to the host, said once. */
static void stage_frames(struct qp_srv_bucket *b, size_t frame_bytes)
{
    struct qp_err why = {{0}};
    if (frame_bytes &&
        qp_detector_stage_frames(b->detector, (size_t)b->batch * frame_bytes, &why) != QP_OK)
        qp_srv_log(QP_LOG_WARN, "batch-size bucket %d: frames pre-processed on the host: %s",
                   (int)b->batch, why.msg);
}

/* Open set->path at every bucket size of c->batch_sizes. */
static enum qp_status open_buckets(struct qp_srv_engine_set *set, const struct qp_config_engine *c,
                                   size_t frame_bytes, struct qp_err *err)
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
    enum qp_status st            = qp_engine_share_new(&set->share, err);
    opt.share                    = set->share; /* the buckets run one at a time */
    for (uint32_t i = 0; st == QP_OK && i < c->batch_sizes.n; i++) {
        struct qp_srv_bucket *b = &set->buckets[set->n_buckets];
        b->batch                = (int32_t)c->batch_sizes.v[i];
        opt.batch               = b->batch;
        st                      = qp_engine_open(set->path, &opt, &b->engine, err);
        if (st == QP_OK) {
            set->n_buckets++; /* from here qp_srv_set_free() frees it */
            st = qp_detector_new(b->engine, &set->spec, &b->detector, err);
        }
        if (st == QP_OK && qp_detector_batch(b->detector) != b->batch)
            st = qp_fail(err, QP_E_INVAL, "the engine runs %d images, not %d",
                         (int)qp_detector_batch(b->detector), (int)b->batch);
        if (st != QP_OK) {
            qp_err_prefix(err, "batch-size bucket %d", (int)b->batch);
            return st;
        }
        stage_frames(b, frame_bytes);
        if (!qp_engine_arena_shared(b->engine))
            set->arena_bytes += qp_engine_arena_bytes(b->engine);
    }
    if (st == QP_OK)
        set->arena_bytes += qp_engine_share_arena_bytes(set->share);
    return st;
}

/* The saturation snapshot's array: one entry per counter of the engine
 * (every bucket runs the same graph, so the same counters). */
static enum qp_status alloc_saturation(struct qp_srv_engine_set *set, struct qp_err *err)
{
    int32_t n = qp_engine_n_saturation(set->buckets[set->n_buckets - 1].engine);
    if (n <= 0)
        return QP_OK;
    set->sat = qp_calloc((size_t)n, sizeof *set->sat);
    if (!set->sat)
        return qp_fail(err, QP_E_NOMEM, "%d saturation counters", (int)n);
    set->n_sat = n;
    qp_srv_set_saturation(set);
    return QP_OK;
}

void qp_srv_set_saturation(struct qp_srv_engine_set *set)
{
    for (int32_t i = 0; i < set->n_sat; i++) {
        struct qp_saturation sum = {NULL, 0, 0}, s;
        for (int32_t b = 0; b < set->n_buckets; b++)
            if (qp_engine_saturation(set->buckets[b].engine, i, &s)) {
                sum.tensor = s.tensor;
                sum.saturated += s.saturated;
                sum.total += s.total;
            }
        set->sat[i] = sum; /* tensor NULL: the backend does not count */
    }
}

/* runs (at least one) full batches of the canary through every bucket:
 * the validation that the set runs, and the first touch of its memory. */
static enum qp_status warm_up(const struct qp_srv_engine_set *set,
                              const struct qp_detect_params *params, uint32_t runs,
                              struct qp_err *err)
{
    struct qp_image imgs[QP_BATCHER_MAX_BATCH];
    int32_t         counts[QP_BATCHER_MAX_BATCH];
    int32_t         max  = set->buckets[set->n_buckets - 1].batch;
    size_t          n    = (size_t)max * QP_WIRE_MAX_DETECTIONS;
    struct qp_detection *dets = qp_calloc(n, sizeof *dets);
    if (!dets)
        return qp_fail(err, QP_E_NOMEM, "warm-up detections of %d frames", (int)max);
    enum qp_status st = QP_OK;
    for (int32_t i = 0; st == QP_OK && i < set->n_buckets; i++) {
        const struct qp_srv_bucket *b = &set->buckets[i];
        for (int32_t k = 0; k < b->batch; k++)
            imgs[k] = set->canary;
        for (uint32_t r = 0; st == QP_OK && r < (runs ? runs : 1); r++) {
            st = qp_detector_run_batch(b->detector, imgs, b->batch, params, dets,
                                       QP_WIRE_MAX_DETECTIONS, counts, err);
            if (st != QP_OK)
                qp_err_prefix(err, "warm-up of batch-size bucket %d", (int)b->batch);
        }
    }
    qp_free(dets);
    return st;
}

enum qp_status qp_srv_set_build(const struct qp_config_engine *c,
                                const struct qp_detect_params *params, const char *path,
                                const char *argv0, size_t frame_bytes,
                                struct qp_srv_engine_set **out, struct qp_err *err)
{
    struct qp_srv_engine_set *set = qp_calloc(1, sizeof *set);
    char                      hex[65];
    *out = NULL;
    if (!set)
        return qp_fail(err, QP_E_NOMEM, "engine set of %zu bytes", sizeof *set);
    qp_model_spec_init(&set->spec);
    if (snprintf(set->path, sizeof set->path, "%s", path ? path : c->path) >=
        (int)sizeof set->path) {
        qp_srv_set_free(set);
        return qp_fail(err, QP_E_INVAL, "engine path longer than %zu bytes", sizeof set->path);
    }
    enum qp_status st =
        path ? reload_spec(c, argv0, path, &set->spec, err) : load_spec(c, argv0, &set->spec, err);
    if (st == QP_OK)
        st = qp_sha256_file(set->path, hex, err);
    if (st == QP_OK)
        st = open_buckets(set, c, frame_bytes, err);
    if (st == QP_OK)
        st = make_canary(set, err);
    if (st == QP_OK)
        st = warm_up(set, params, c->warmup, err);
    if (st == QP_OK)
        st = alloc_saturation(set, err);
    if (st != QP_OK) {
        if (err && !strstr(err->msg, set->path)) /* most reasons name the file already */
            qp_err_prefix(err, "%s", set->path);
        qp_srv_set_free(set);
        return st;
    }
    snprintf(set->model, sizeof set->model, "%s", set->spec.name);
    snprintf(set->engine_id, sizeof set->engine_id, "sha256:%.16s", hex);
    snprintf(set->backend, sizeof set->backend, "%s",
             qp_engine_backend_name(set->buckets[0].engine));
    *out = set;
    return QP_OK;
}

void qp_srv_set_log(const struct qp_srv_engine_set *set, const char *what, uint32_t warmup)
{
    char   sizes[128], weights[64];
    int    n       = 0;
    size_t w_bytes = qp_engine_share_weight_bytes(set->share);
    sizes[0]       = '\0';
    weights[0]     = '\0';
    for (int32_t i = 0; i < set->n_buckets && n < (int)sizeof sizes - 8; i++)
        n += snprintf(sizes + n, sizeof sizes - (size_t)n, "%s%d", i ? "," : "",
                      (int)set->buckets[i].batch);
    if (w_bytes > 0)
        (void)snprintf(weights, sizeof weights, ", packed weights %.1f MiB once",
                       (double)w_bytes / 1048576.0);
    qp_srv_log(QP_LOG_INFO,
               "%s %s: model %s, id %s, backend %s, batch sizes %s (arenas %.1f MiB%s), %u "
               "warm-up batch%s each",
               what, set->path, set->model, set->engine_id, set->backend, sizes,
               (double)set->arena_bytes / (1 << 20), weights, warmup, warmup == 1 ? "" : "es");
}
