// SPDX-License-Identifier: Apache-2.0
/*
 * worker.c - the engine side of qperceptd: the worker thread that runs
 * batches and canaries on the serving engine set, the loop's half of the
 * hand-over (form a batch, collect and publish it), and reloads built on a
 * thread of their own.
 *
 * Hand-over (server.h, "Two threads"): the loop fills the job's inputs,
 * sets posted under the mutex and signals; the worker runs it, sets done
 * under the mutex and writes the eventfd; the loop, woken by the eventfd,
 * sees done under the mutex and only then reads the outputs. The mutex
 * orders every byte either way, so nothing else needs atomics. One job at
 * a time: the loop forms the next batch only after collecting the last.
 *
 * A batch job: JPEG / PNG frames are decoded into heap images (the one
 * allocation on the frame path, documented), raw frames run straight from
 * their stream's busy slot, or, shared-memory frames, straight from the
 * publisher's slot (mapped read-only); the images go through the smallest
 * bucket that holds them: qp_detector_prepare_batch (pre-processing, the
 * last read of the pixels), then qp_detector_finish_batch (inference start
 * / end stamps are the batch's). Shared-memory frames are read under the
 * SIGBUS guard, and between the two steps each one's slot generation is
 * checked again (shm.h, qp_srv_shm_recheck): a frame whose slot the
 * publisher reused meanwhile, or whose read faulted, has its detections
 * dropped (shm_torn, shm_unreadable); the rest of the batch is published.
 * The loop then publishes each frame.
 *
 * Device errors: an inference that fails with QP_E_CUDA is followed at
 * once by a canary inference on the smallest bucket. If that fails with
 * QP_E_CUDA too, the device is taken to be in a sticky error state (a CUDA
 * context that faulted stays faulted): the job reports it, and the server
 * exits non-zero so systemd restarts it on a fresh context. Any other
 * failure costs the batch's frames (engine_error) and serving goes on.
 *
 * Reload (control `reload [ENGINE]`, SIGHUP): a reload thread builds and
 * validates a second set (engine_set.c) while the serving one keeps
 * running batches; when it is done the loop swaps it in at the next moment
 * the worker is idle, and frees the old one. A failure frees the half-built
 * set and leaves the serving one as it was. One reload at a time.
 */
#define _GNU_SOURCE /* eventfd */
#include <errno.h>
#include <poll.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "server/server.h"

static void wake_loop(struct qp_srv_worker *w)
{
    uint64_t one = 1;
    /* a full counter (never: the loop reads it every turn) still wakes the loop */
    if (write(w->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        QP_ASSERT(!"eventfd write");
}

/* ===== The worker thread ===== */

_Static_assert(QP_SRV_SHM_GUARD_MAX >= QP_BATCHER_MAX_BATCH, "the guard holds a batch's frames");

static const enum qp_pixel_format raw_formats[] = {
    [QP_WIRE_PIXEL_RGB8]  = QP_PIXEL_RGB8,
    [QP_WIRE_PIXEL_BGR8]  = QP_PIXEL_BGR8,
    [QP_WIRE_PIXEL_GRAY8] = QP_PIXEL_GRAY8,
    [QP_WIRE_PIXEL_NV12]  = QP_PIXEL_NV12,
};

/* The in-flight frame's image into *img: its busy slot's pixels, or a JPEG
 * / PNG decoded into a heap image (*decoded). QP_E_FORMAT: it does not
 * decode. */
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
    /* the raw formats: RGB8, BGR8, GRAY8, NV12 (the decoder checked sizes) */
    QP_ASSERT(f->format >= QP_WIRE_PIXEL_RGB8 && f->format <= QP_WIRE_PIXEL_NV12);
    *img = (struct qp_image){(int32_t)f->width, (int32_t)f->height, (int32_t)f->stride,
                             raw_formats[f->format], (uint8_t *)f->pixels};
    return QP_OK;
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

/* The bucket's detector: the worker's to run while the job is out. */
static struct qp_detector *detector_of(const struct qp_srv_bucket *b)
{
    return b->detector;
}

/* Inference on the images prepared (the fault hook sits here: every
 * inference passes). */
static enum qp_status infer(struct qp_srv_worker *w, const struct qp_srv_bucket *b,
                            struct qp_err *err)
{
    w->n_inferences++;
    if (w->fault_at &&
        (w->n_inferences == w->fault_at || (w->fault_sticky && w->n_inferences > w->fault_at)))
        return qp_fail(err, QP_E_CUDA, "injected device fault (inference %llu)",
                       (unsigned long long)w->n_inferences);
    return qp_detector_finish_batch(detector_of(b), &w->params, w->batch_dets,
                                    QP_WIRE_MAX_DETECTIONS, w->counts, err);
}

/* One detector run: pre-process, then inference. */
static enum qp_status run(struct qp_srv_worker *w, const struct qp_srv_bucket *b,
                          const struct qp_image *imgs, int32_t n, struct qp_err *err)
{
    enum qp_status st = qp_detector_prepare_batch(detector_of(b), imgs, n, err);
    return st == QP_OK ? infer(w, b, err) : st;
}

/* After a device failure: does the device still run the canary? */
static bool device_alive(struct qp_srv_worker *w)
{
    struct qp_err err = {{0}};
    return run(w, &w->set->buckets[0], &w->set->canary, 1, &err) != QP_E_CUDA;
}

/* Every frame's image (a shm frame's in its mapping, guarded) and the
 * bucket's pre-processing of them; then each shm frame's re-check. The
 * guard covers JPEG / PNG decoding too: it reads the pixels. */
static enum qp_status prepare(struct qp_srv *srv, const struct qp_srv_bucket **b)
{
    struct qp_srv_worker *w     = &srv->worker;
    int32_t               n     = 0, guard[QP_BATCHER_MAX_BATCH];
    bool                  pause = false;
    enum qp_status        st    = QP_OK;
    qp_srv_shm_guard_begin();
    for (int32_t k = 0; k < srv->batch.n_frames; k++) {
        int32_t                     i = srv->batch.frames[k].stream;
        const struct qp_srv_stream *s = &srv->streams[i];
        w->shm_res[k]                 = QP_SRV_SHM_OK;
        guard[k]                      = -1;
        if (s->inflight.data == QP_WIRE_DATA_SHM) {
            guard[k] = qp_srv_shm_guard_add(&s->inflight_shm);
            pause |= i == w->pause_stream;
        }
        w->bad[k] = frame_image(&s->inflight, &w->imgs[n], &w->decoded[n], &w->bad_err[k]) != QP_OK;
        if (!w->bad[k])
            w->frame_of[n++] = k;
    }
    w->n_run    = n;
    *b          = n ? bucket_for(w->set, n) : NULL;
    w->host_pre = false;
    if (n) {
        struct qp_detector *d    = detector_of(*b);
        int64_t             host = qp_detector_host_batches(d);
        w->start_ns = qp_srv_realtime_ns(); /* inference: pre-processing, run, NMS */
        st                       = qp_detector_prepare_batch(d, w->imgs, n, &w->err);
        w->host_pre              = qp_detector_host_batches(d) > host;
    }
    if (pause) /* the test hook: the publisher may rewrite the slot now */
        (void)poll(NULL, 0, (int)w->pause_ms);
    for (int32_t k = 0; k < srv->batch.n_frames; k++) {
        const struct qp_srv_stream *s = &srv->streams[srv->batch.frames[k].stream];
        if (guard[k] >= 0)
            w->shm_res[k] =
                qp_srv_shm_recheck(&s->inflight_shm, guard[k], &s->inflight.shm, &w->shm_err[k]);
    }
    qp_srv_shm_guard_end();
    return st;
}

static void job_batch(struct qp_srv *srv)
{
    struct qp_srv_worker       *w = &srv->worker;
    const struct qp_srv_bucket *b = NULL;
    w->st                         = prepare(srv, &b);
    if (w->n_run == 0)
        return;
    if (w->st == QP_OK)
        w->st = infer(w, b, &w->err);
    w->end_ns = qp_srv_realtime_ns();
    for (int32_t i = 0; i < w->n_run; i++)
        if (w->decoded[i])
            qp_image_free(&w->imgs[i]);
}

static void *worker_main(void *arg)
{
    struct qp_srv        *srv = arg;
    struct qp_srv_worker *w   = &srv->worker;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->posted && !w->quit)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->quit)
            break;
        enum qp_srv_job job = w->job;
        pthread_mutex_unlock(&w->mu);

        int64_t t0 = qp_clock_ns();
        w->sticky  = false;
        if (job == QP_SRV_JOB_BATCH) {
            job_batch(srv);
        } else {
            w->start_ns = qp_srv_realtime_ns();
            w->st       = run(w, &w->set->buckets[0], &w->set->canary, 1, &w->err);
            w->end_ns   = qp_srv_realtime_ns();
        }
        if (w->st == QP_E_CUDA)
            w->sticky = !device_alive(w);
        w->job_ns = qp_clock_ns() - t0;

        pthread_mutex_lock(&w->mu);
        w->posted = false;
        w->done   = true;
        wake_loop(w);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void post(struct qp_srv_worker *w, enum qp_srv_job job)
{
    w->job = job;
    pthread_mutex_lock(&w->mu);
    w->posted = true;
    w->done   = false;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* ===== The loop's side: batches ===== */

/* The batch srv->batch just formed goes to the worker: each stream's
 * waiting frame moves to its busy slot, so ingest goes on filling the other. */
static void dispatch_batch(struct qp_srv *srv)
{
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int32_t k = 0; k < srv->batch.n_frames; k++) {
        uint64_t c = srv->batch.frames[k].capture_ns;
        lo         = c < lo ? c : lo;
        hi         = c > hi ? c : hi;
    }
    qp_srv_hist_add(&srv->batch_spread, hi - lo); /* n_frames >= 1 */
    for (int32_t k = 0; k < srv->batch.n_frames; k++) {
        struct qp_srv_stream *s = &srv->streams[srv->batch.frames[k].stream];
        uint8_t              *t = s->busy;
        s->busy                 = s->slot;
        s->slot                 = t;
        s->inflight             = s->waiting;
        s->inflight_received_ns = s->waiting_received_ns;
        s->inflight_shm         = s->waiting_shm;
    }
    post(&srv->worker, QP_SRV_JOB_BATCH);
}

/* Count and log the batch's frames that have no detections to publish
 * whatever the inference did: shm reads that failed their re-check, then
 * images that did not decode. */
static void count_unusable(struct qp_srv *srv)
{
    struct qp_srv_worker *w = &srv->worker;
    struct qp_batch      *b = &srv->batch;
    for (int32_t k = 0; k < b->n_frames; k++) {
        struct qp_srv_stream *s = &srv->streams[b->frames[k].stream];
        if (w->shm_res[k] != QP_SRV_SHM_OK) {
            enum qp_srv_drop why = qp_srv_shm_drop(w->shm_res[k]);
            s->st.drops[why]++;
            if (w->shm_res[k] == QP_SRV_SHM_UNREADABLE) /* the read faulted */
                qp_srv_shm_forget(&s->shm, s->inflight_shm.map);
            qp_srv_log_frame(s, "frame seq %llu dropped (%s): %s",
                             (unsigned long long)s->inflight.header.seq, qp_srv_drop_name(why),
                             w->shm_err[k].msg);
        } else if (w->bad[k]) {
            s->st.drops[QP_SRV_DROP_BAD_IMAGE]++;
            qp_srv_log_frame(s, "frame seq %llu: image does not decode: %s",
                             (unsigned long long)s->inflight.header.seq, w->bad_err[k].msg);
        }
    }
}

static void complete_batch(struct qp_srv *srv)
{
    struct qp_srv_worker *w = &srv->worker;
    struct qp_batch      *b = &srv->batch;
    count_unusable(srv);
    if (w->n_run > 0 && w->st != QP_OK) {
        for (int32_t i = 0; i < w->n_run; i++)
            if (w->shm_res[w->frame_of[i]] == QP_SRV_SHM_OK)
                srv->streams[b->frames[w->frame_of[i]].stream].st.drops[QP_SRV_DROP_ENGINE_ERROR]++;
        qp_srv_log(QP_LOG_ERROR, "batch of %d frames: inference failed: %s", (int)w->n_run,
                   w->err.msg);
    } else {
        uint64_t ns = w->end_ns > w->start_ns ? w->end_ns - w->start_ns : 0;
        bool     sent[QP_BATCHER_MAX_BATCH];
        for (int32_t i = 0; i < w->n_run; i++) {
            /* each frame's share of the batch: its cost per frame */
            qp_srv_hist_add(&srv->frame_inference, ns / (uint64_t)w->n_run);
            sent[i] = w->shm_res[w->frame_of[i]] == QP_SRV_SHM_OK &&
                      qp_srv_publish_frame(srv, w->frame_of[i],
                                           w->batch_dets + (size_t)i * QP_WIRE_MAX_DETECTIONS,
                                           w->counts[i], w->start_ns, w->end_ns);
        }
        for (int32_t i = 0; i < w->n_run; i++) /* every detection first, then the frames */
            if (sent[i]) /* NOLINT(clang-analyzer-core.uninitialized.Branch): n_run is fixed */
                qp_srv_publish_tap(srv, w->frame_of[i]);
    }
    qp_srv_hist_add(&srv->batch_inference, (uint64_t)w->job_ns);
    srv->batches_by_size[b->n_frames]++;
    srv->batches_by_trigger[b->trigger]++;
    if (w->host_pre && srv->batches_host_pre++ == 0) /* the first one says why; stats count */
        qp_srv_log(QP_LOG_WARN,
                   "a batch of %d frames outgrew the device's frame staging and was "
                   "pre-processed on the host (slower); give every stream its width and height "
                   "so that the staging fits the largest batch (stats: "
                   "batches.host_preprocessed)",
                   (int)w->n_run);
    srv->last_batch_frames = (uint64_t)b->n_frames;
    srv->last_batch_ns     = (uint64_t)w->job_ns;
    if (w->n_run > 0 && w->st == QP_OK)
        qp_srv_notify_inference_ok(srv);
    qp_srv_log(QP_LOG_DEBUG, "batch of %d (%s) in %.1f ms", (int)b->n_frames,
               qp_batcher_trigger_name(b->trigger), (double)w->job_ns / 1e6);
}

static void complete_canary(struct qp_srv *srv)
{
    struct qp_srv_worker *w = &srv->worker;
    srv->canaries++;
    if (w->st == QP_OK)
        qp_srv_notify_inference_ok(srv);
    else
        qp_srv_log(QP_LOG_ERROR, "canary inference failed: %s", w->err.msg);
}

/* The job the worker finished, if any: false when it found the device dead. */
static bool collect_job(struct qp_srv *srv)
{
    struct qp_srv_worker *w = &srv->worker;
    if (w->job == QP_SRV_JOB_NONE)
        return true;
    pthread_mutex_lock(&w->mu);
    bool done = w->done;
    pthread_mutex_unlock(&w->mu);
    if (!done)
        return true;
    if (w->job == QP_SRV_JOB_BATCH)
        complete_batch(srv);
    else
        complete_canary(srv);
    w->job = QP_SRV_JOB_NONE;
    /* the in-flight frames' mappings may be unused now */
    for (int32_t k = 0; k < srv->batch.n_frames; k++) {
        int32_t i = srv->batch.frames[k].stream;
        if (srv->streams[i].inflight.data == QP_WIRE_DATA_SHM)
            qp_srv_shm_sweep(&srv->streams[i].shm, qp_srv_ingest_shm_busy(srv, i));
    }
    qp_srv_set_saturation(w->set); /* the engines are idle now */
    if (w->sticky) {
        w->fatal = true;
        qp_srv_log(QP_LOG_ERROR,
                   "the device failed and still fails a canary inference (%s): a sticky "
                   "error; exiting so that a fresh process gets a fresh device context",
                   w->err.msg);
        return false;
    }
    return true;
}

/* ===== Reload ===== */

static void *reload_main(void *arg)
{
    struct qp_srv            *srv = arg;
    struct qp_srv_worker     *w   = &srv->worker;
    struct qp_srv_reload     *r   = &w->reload;
    struct qp_srv_engine_set *set = NULL;
    struct qp_err             err = {{0}};
    enum qp_status st = qp_srv_set_build(&srv->cfg.engine, &w->params, r->path[0] ? r->path : NULL,
                                         w->argv0, w->frame_bytes, &set, &err);
    pthread_mutex_lock(&w->mu);
    r->st   = st;
    r->err  = err;
    r->set  = set;
    r->done = true;
    wake_loop(w);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Serve set from now on (the worker is idle); the previous set is freed. */
static void set_swap(struct qp_srv_worker *w, struct qp_srv_engine_set *set)
{
    struct qp_srv_engine_set *old = w->set;
    w->set                        = set;
    w->spec                       = set->spec;
    memcpy(w->model, set->model, sizeof w->model);
    memcpy(w->engine_id, set->engine_id, sizeof w->engine_id);
    memcpy(w->backend, set->backend, sizeof w->backend);
    qp_srv_set_free(old);
#ifdef __GLIBC__
    /* The old set's arenas (hundreds of MB for a detector's batch buckets)
     * go back to the system: glibc keeps freed memory of a size it has seen
     * freed before in its heaps, so without this every reload would leave
     * the resident size at two sets (scripts/soak.sh measured 440 -> 620 MB
     * over two reloads, flat after). Once per reload, between batches. */
    malloc_trim(0);
#endif
}

enum qp_status qp_srv_worker_reload(struct qp_srv *srv, const char *path, bool from_control,
                                    struct qp_err *err)
{
    struct qp_srv_worker *w = &srv->worker;
    struct qp_srv_reload *r = &w->reload;
    if (r->running)
        return qp_fail(err, QP_E_AGAIN, "a reload (of %s) is already in progress",
                       r->path[0] ? r->path : srv->cfg.engine.path);
    if (snprintf(r->path, sizeof r->path, "%s", path ? path : "") >= (int)sizeof r->path)
        return qp_fail(err, QP_E_INVAL, "engine path longer than %zu bytes", sizeof r->path - 1);
    r->from_control = from_control;
    r->done         = false;
    r->set          = NULL;
    r->t0           = qp_clock_ns();
    int e           = pthread_create(&r->thread, NULL, reload_main, srv);
    if (e != 0)
        return qp_fail(err, QP_E_IO, "reload thread: %s", strerror(e));
    r->running = true;
    srv->state = QP_WIRE_SERVER_RELOADING;
    return QP_OK;
}

/* A finished reload, once the worker is idle: swap or keep, and say so. */
static void collect_reload(struct qp_srv *srv)
{
    struct qp_srv_worker *w = &srv->worker;
    struct qp_srv_reload *r = &w->reload;
    if (!r->running || w->job != QP_SRV_JOB_NONE)
        return;
    pthread_mutex_lock(&w->mu);
    bool done = r->done;
    pthread_mutex_unlock(&w->mu);
    if (!done)
        return;
    pthread_join(r->thread, NULL);
    r->running = false;
    if (srv->state == QP_WIRE_SERVER_RELOADING)
        srv->state = QP_WIRE_SERVER_SERVING;
    if (r->st != QP_OK) {
        w->reload_failures++;
        qp_srv_log(QP_LOG_ERROR, "reload failed, still serving %s (%s): %s", w->engine_id, w->model,
                   r->err.msg);
    } else {
        char old[QP_WIRE_ID_MAX];
        memcpy(old, w->engine_id, sizeof old);
        set_swap(w, r->set);
        w->reloads++;
        qp_srv_set_log(w->set, "reloaded", srv->cfg.engine.warmup);
        qp_srv_log(QP_LOG_INFO, "reload: %s replaced %s after %.0f ms", w->engine_id, old,
                   (double)(qp_clock_ns() - r->t0) / 1e6);
    }
    if (r->from_control)
        qp_srv_control_reload_done(srv, r->st == QP_OK, r->err.msg);
}

/* ===== The loop's turn ===== */

static void expire(struct qp_srv *srv)
{
    for (int32_t k = 0; k < srv->batch.n_expired; k++)
        srv->streams[srv->batch.expired[k].stream].st.drops[QP_SRV_DROP_TOO_OLD]++;
}

bool qp_srv_worker_turn(struct qp_srv *srv)
{
    struct qp_srv_worker *w = &srv->worker;
    uint64_t              n;
    if (read(w->wake_fd, &n, sizeof n) < 0 && errno != EAGAIN)
        qp_srv_log(QP_LOG_WARN, "eventfd read: %s", strerror(errno));
    if (!collect_job(srv))
        return false;
    collect_reload(srv);
    if (w->job != QP_SRV_JOB_NONE)
        return true;
    bool formed = qp_batcher_poll(srv->batcher, qp_srv_realtime_ns(), &srv->batch);
    expire(srv);
    if (formed)
        dispatch_batch(srv);
    else if (srv->state != QP_WIRE_SERVER_DRAINING && qp_srv_notify_canary_in_ms(srv) == 0)
        post(w, QP_SRV_JOB_CANARY);
    return true;
}

int64_t qp_srv_worker_timeout_ms(const struct qp_srv *srv)
{
    if (srv->worker.job != QP_SRV_JOB_NONE)
        return -1; /* the eventfd says when it is done */
    int64_t dl = qp_batcher_next_deadline(srv->batcher, qp_srv_realtime_ns());
    int64_t ms = dl < 0 ? -1 : (dl + 999999) / 1000000;
    int64_t cm = srv->state == QP_WIRE_SERVER_DRAINING ? -1 : qp_srv_notify_canary_in_ms(srv);
    if (cm >= 0 && (ms < 0 || cm < ms))
        ms = cm;
    return ms;
}

bool qp_srv_worker_pending(const struct qp_srv *srv)
{
    return srv->worker.job != QP_SRV_JOB_NONE || srv->worker.reload.running;
}

int qp_srv_worker_fd(const struct qp_srv *srv)
{
    return srv->worker.wake_fd;
}

/* ===== Start-up, shutdown ===== */

/* The most bytes of pixels one frame of the enabled streams can bring,
 * where every one declares its size: 3 per pixel (RGB8 / BGR8, and what a
 * JPEG or PNG decodes to; GRAY8 and NV12 take less) and 1/32 more for
 * padded rows; 0 when a stream takes any size. */
static size_t frame_bytes_max(const struct qp_config *cfg)
{
    size_t most = 0;
    for (int32_t i = 0; i < cfg->n_streams; i++) {
        const struct qp_config_stream *s = &cfg->streams[i];
        size_t                         n = (size_t)s->width * s->height * 3;
        if (!s->enabled)
            continue;
        if (n == 0)
            return 0;
        n += n / 32;
        most = n > most ? n : most;
    }
    return most;
}

/* $QPERCEPTD_FAULT_INFERENCE = N (inference N fails) or N+ (N and every
 * later one): the test hook of docs/server.md. */
static enum qp_status read_fault(struct qp_srv_worker *w, struct qp_err *err)
{
    const char *v = getenv("QPERCEPTD_FAULT_INFERENCE");
    char       *end;
    if (!v || !*v)
        return QP_OK;
    unsigned long long n = strtoull(v, &end, 10);
    if (n == 0 || (*end && strcmp(end, "+") != 0))
        return qp_fail(err, QP_E_INVAL, "QPERCEPTD_FAULT_INFERENCE = '%s': want N or N+, N >= 1",
                       v);
    w->fault_at     = n;
    w->fault_sticky = *end == '+';
    qp_srv_log(QP_LOG_WARN, "test hook: inference %llu%s will fail", n,
               w->fault_sticky ? " and every later one" : "");
    return QP_OK;
}

/* $QPERCEPTD_FAULT_SHM_PAUSE = STREAM:MS: the test hook of docs/server.md
 * (a batch holding a shm frame of STREAM sleeps MS ms, at most 60000,
 * between pre-processing and the re-check of its slots). */
static enum qp_status read_shm_pause(struct qp_srv *srv, struct qp_err *err)
{
    struct qp_srv_worker *w = &srv->worker;
    const char           *v = getenv("QPERCEPTD_FAULT_SHM_PAUSE");
    const char           *colon;
    char                 *end = NULL;
    unsigned long long    m   = 0;
    w->pause_stream           = -1;
    if (!v || !*v)
        return QP_OK;
    colon = strrchr(v, ':');
    if (colon) {
        errno = 0;
        m     = strtoull(&colon[1], &end, 10);
        if (errno != 0)
            m = 0; /* out of range: refused below */
    }
    size_t n_name = colon ? strlen(v) - strlen(colon) : 0; /* STREAM's length */
    for (int32_t i = 0; colon && i < srv->n_streams; i++) {
        const char *name = srv->streams[i].cfg->name;
        if (strlen(name) == n_name && memcmp(name, v, n_name) == 0)
            w->pause_stream = i;
    }
    if (w->pause_stream < 0 || m < 1 || m > 60000 || !end || *end)
        return qp_fail(err, QP_E_INVAL,
                       "QPERCEPTD_FAULT_SHM_PAUSE = '%s': want STREAM:MS, an enabled stream and "
                       "1 <= MS <= 60000",
                       v);
    w->pause_ms = (uint32_t)m;
    qp_srv_log(QP_LOG_WARN,
               "test hook: batches with a shm frame of '%s' pause %u ms before its "
               "re-check",
               srv->streams[w->pause_stream].cfg->name, w->pause_ms);
    return QP_OK;
}

enum qp_status qp_srv_worker_open(struct qp_srv *srv, const char *argv0, struct qp_err *err)
{
    struct qp_srv_worker          *w = &srv->worker;
    const struct qp_config_engine *c = &srv->cfg.engine;
    uint32_t max   = c->batch_sizes.n ? c->batch_sizes.v[c->batch_sizes.n - 1] : 0;
    w->argv0       = argv0;
    w->wake_fd     = -1;
    w->frame_bytes = frame_bytes_max(&srv->cfg);
    if (max < 1 || max > QP_BATCHER_MAX_BATCH)
        return qp_fail(err, QP_E_INVAL, "[engine] batch_sizes: largest %u is outside [1, %d]", max,
                       QP_BATCHER_MAX_BATCH);
    enum qp_status st = read_fault(w, err);
    if (st == QP_OK)
        st = read_shm_pause(srv, err);
    if (st != QP_OK)
        return st;
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
    st = qp_srv_set_build(c, &w->params, NULL, argv0, w->frame_bytes, &set, err);
    if (st != QP_OK) {
        qp_err_prefix(err, "[engine]");
        return st;
    }
    set_swap(w, set);
    qp_srv_set_log(set, "engine", c->warmup);
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->wake_fd < 0)
        return qp_fail(err, QP_E_IO, "eventfd: %s", strerror(errno));
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    int e = pthread_create(&w->thread, NULL, worker_main, srv);
    if (e != 0)
        return qp_fail(err, QP_E_IO, "worker thread: %s", strerror(e));
    w->started = true;
    return QP_OK;
}

void qp_srv_worker_close(struct qp_srv *srv)
{
    struct qp_srv_worker *w = &srv->worker;
    if (w->reload.running) { /* before the mutex goes: the thread ends under it */
        pthread_join(w->reload.thread, NULL);
        qp_srv_set_free(w->reload.set);
    }
    if (w->started) {
        pthread_mutex_lock(&w->mu);
        w->quit = true;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL); /* after the job it may be running */
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
    }
    if (w->wake_fd >= 0)
        close(w->wake_fd);
    qp_srv_set_free(w->set);
    qp_free(w->batch_dets);
    memset(w, 0, sizeof *w);
}
