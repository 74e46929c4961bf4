// SPDX-License-Identifier: Apache-2.0
/*
 * bench_recording.c - the latency report of a recorded run
 * (bench_recording.h).
 *
 * Two passes over the file: the first counts the Detections messages (so
 * the table is allocated once), the second decodes each into one row
 * (stream, capture stamp, server stamps, batch size, log time, drop
 * counters). Distributions come from bench_stats.h (nearest-rank, exact
 * samples) over a scratch array as long as the table.
 */
#include "bench_recording.h"

#include <inttypes.h>
#include <string.h>

#include "bench_stats.h"
#include "clients/mcap/mcap.h"
#include "core/alloc.h"
#include "proto/wire.h"

#define MS(ns) ((double)(ns) / 1e6)

struct row {
    int32_t              stream;
    uint32_t             batch;
    uint64_t             capture_ns, recv_ns;
    struct qp_det_stamps stamps;
};

struct stream {
    char     name[QP_WIRE_STREAM_MAX];
    uint64_t n, first_seq, last_seq, gaps, missing;
    uint64_t first[QP_BENCH_DROP_COUNT], last[QP_BENCH_DROP_COUNT]; /* drop counters */
};

struct table {
    struct row   *rows;
    int64_t      *scratch;
    size_t        n, cap;
    int32_t       n_streams;
    struct stream streams[QP_BENCH_MAX_STREAMS];
    char          model[QP_WIRE_NAME_MAX], engine_id[QP_WIRE_ID_MAX];
    uint64_t      first_log, last_log, n_untracked;
};

static bool is_detections(const struct qp_mcap_reader *r, uint16_t channel)
{
    const struct qp_mcap_channel *c = qp_mcap_reader_channel(r, channel);
    const struct qp_mcap_schema  *s = c ? qp_mcap_reader_schema(r, c->schema_id) : NULL;
    return s && strcmp(s->name, "qpercept.v1.Detections") == 0 &&
           strcmp(c->message_encoding, "protobuf") == 0;
}

static void drops_of(const struct qp_wire_drops *d, uint64_t out[QP_BENCH_DROP_COUNT])
{
    out[QP_BENCH_DROP_REPLACED]       = d->replaced;
    out[QP_BENCH_DROP_TOO_OLD]        = d->too_old;
    out[QP_BENCH_DROP_MALFORMED]      = d->malformed;
    out[QP_BENCH_DROP_OVERSIZED]      = d->oversized;
    out[QP_BENCH_DROP_UNKNOWN_STREAM] = d->unknown_stream;
    out[QP_BENCH_DROP_SHM_TORN]       = d->shm_torn;
    out[QP_BENCH_DROP_ENGINE_ERROR]   = d->engine_error;
}

static int32_t stream_of(struct table *t, const char *name)
{
    for (int32_t i = 0; i < t->n_streams; i++)
        if (strcmp(t->streams[i].name, name) == 0)
            return i;
    if (t->n_streams == QP_BENCH_MAX_STREAMS)
        return -1;
    snprintf(t->streams[t->n_streams].name, sizeof t->streams[0].name, "%s", name);
    return t->n_streams++;
}

static void add(struct table *t, const struct qp_wire_detections *d, uint64_t log_ns)
{
    int32_t s = stream_of(t, d->header.stream);
    if (s < 0) {
        t->n_untracked++;
        return;
    }
    struct stream *st  = &t->streams[s];
    uint64_t       seq = d->header.seq;
    if (st->n == 0) {
        st->first_seq = seq;
        drops_of(&d->drops, st->first);
    } else if (seq > st->last_seq + 1) {
        st->gaps++;
        st->missing += seq - st->last_seq - 1;
    }
    st->last_seq = seq;
    drops_of(&d->drops, st->last);
    st->n++;
    if (!t->model[0]) {
        memcpy(t->model, d->model, sizeof t->model);
        memcpy(t->engine_id, d->engine_id, sizeof t->engine_id);
    }
    if (t->n == 0 || log_ns < t->first_log)
        t->first_log = log_ns;
    t->last_log     = log_ns > t->last_log ? log_ns : t->last_log;
    t->rows[t->n++] = (struct row){.stream     = s,
                                   .batch      = d->batch_size,
                                   .capture_ns = d->header.capture_ns,
                                   .recv_ns    = log_ns,
                                   .stamps     = {d->stamps.received_ns, d->stamps.batched_ns,
                                                  d->stamps.inference_start_ns,
                                                  d->stamps.inference_end_ns, d->stamps.published_ns}};
}

/* Pass over the file: count (rows NULL) or fill the table. */
static enum qp_status pass(struct qp_mcap_reader *r, struct qp_wire_decoder *dec, struct table *t,
                           const char *path, struct qp_err *err)
{
    static struct qp_wire_detections d; /* large: not on the stack */
    qp_mcap_reader_rewind(r);
    for (;;) {
        struct qp_mcap_message m;
        bool                   got = false;
        enum qp_status         st  = qp_mcap_reader_next(r, &m, &got, err);
        if (st != QP_OK || !got)
            return st;
        if (!is_detections(r, m.channel_id))
            continue;
        if (!t->rows) {
            t->cap++;
            continue;
        }
        struct qp_err why;
        if (qp_wire_decode_detections(dec, m.data, m.len, &d, NULL, &why) != QP_OK)
            return qp_fail(err, QP_E_FORMAT, "%s: Detections with log time %" PRIu64 ": %s", path,
                           m.log_time_ns, why.msg);
        if (t->n < t->cap)
            add(t, &d, m.log_time_ns);
    }
}

/* The distribution of stage (or of capture -> published when stage < 0)
 * over the rows of stream s (every stream when s < 0). */
static struct qp_bench_dist dist(struct table *t, int32_t s, int stage)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct row *w = &t->rows[i];
        int64_t           v[QP_BENCH_STAGE_COUNT];
        bool              ok[QP_BENCH_STAGE_COUNT];
        if (s >= 0 && w->stream != s)
            continue;
        if (stage < 0) {
            if (w->capture_ns && w->stamps.published_ns >= w->capture_ns)
                t->scratch[n++] = (int64_t)(w->stamps.published_ns - w->capture_ns);
            continue;
        }
        qp_bench_stages(w->capture_ns, &w->stamps, w->recv_ns, v, ok);
        if (ok[stage])
            t->scratch[n++] = v[stage];
    }
    return qp_bench_dist_of(t->scratch, n);
}

static void print_dist(FILE *f, const char *name, uint64_t n, const struct qp_bench_dist *d)
{
    fprintf(f, "%-20s %7" PRIu64 " %8.2f %8.2f %8.2f %8.2f %8.2f\n", name, n, MS(d->p50),
            MS(d->p90), MS(d->p99), MS(d->p999), MS(d->max));
}

static void print(FILE *f, struct table *t, const char *path)
{
    uint64_t drops[QP_BENCH_DROP_COUNT] = {0}, gaps = 0, missing = 0, batch = 0;
    for (size_t i = 0; i < t->n; i++)
        batch += t->rows[i].batch;
    fprintf(
        f, "recording %s: %" PRIu64 " Detections of %d stream%s over %.1f s; model %s, engine %s\n",
        path, (uint64_t)t->n, (int)t->n_streams, t->n_streams == 1 ? "" : "s",
        MS(t->last_log - t->first_log) / 1e3, t->model, t->engine_id);
    fprintf(f, "%-20s %7s %8s %8s %8s %8s %8s\n", "capture -> published", "n", "p50", "p90", "p99",
            "p99.9", "max ms");
    for (int32_t s = 0; s < t->n_streams; s++) {
        struct qp_bench_dist d = dist(t, s, -1);
        print_dist(f, t->streams[s].name, d.n, &d);
        gaps += t->streams[s].gaps;
        missing += t->streams[s].missing;
        for (int r = 0; r < QP_BENCH_DROP_COUNT; r++)
            drops[r] += t->streams[s].last[r] - t->streams[s].first[r];
    }
    struct qp_bench_dist all = dist(t, -1, -1);
    print_dist(f, "all", all.n, &all);
    fprintf(f, "%-20s %7s %8s %8s %8s %8s %8s\n", "stage", "n", "p50", "p90", "p99", "p99.9",
            "max ms");
    for (int i = 0; i < QP_BENCH_STAGE_COUNT; i++) {
        struct qp_bench_dist d = dist(t, -1, i);
        print_dist(f,
                   i == QP_BENCH_STAGE_TRANSPORT_OUT ? "to the recorder"
                                                     : qp_bench_stage_name((enum qp_bench_stage)i),
                   d.n, &d);
    }
    uint64_t dropped = 0;
    for (int r = 0; r < QP_BENCH_DROP_COUNT; r++)
        dropped += drops[r];
    fprintf(f, "mean batch %.2f; the server dropped %" PRIu64 " frames meanwhile",
            t->n ? (double)batch / (double)t->n : 0.0, dropped);
    const char *sep = " (";
    for (int r = 0; r < QP_BENCH_DROP_COUNT; r++)
        if (drops[r]) {
            fprintf(f, "%s%s %" PRIu64, sep, qp_bench_drop_name((enum qp_bench_drop)r), drops[r]);
            sep = ", ";
        }
    fprintf(f, "%s; seq gaps %" PRIu64 " (%" PRIu64 " frames without Detections here)\n",
            sep[0] == ',' ? ")" : "", gaps, missing);
    if (t->n_untracked)
        fprintf(f, "(%" PRIu64 " Detections of streams beyond the first %d not counted)\n",
                t->n_untracked, QP_BENCH_MAX_STREAMS);
}

enum qp_status qp_bench_recording(const char *path, FILE *out, struct qp_err *err)
{
    static struct table     t;
    struct qp_mcap_reader  *r   = NULL;
    struct qp_wire_decoder *dec = NULL;
    memset(&t, 0, sizeof t);
    enum qp_status st = qp_mcap_reader_open(path, NULL, &r, err);
    if (st == QP_OK)
        st = qp_wire_decoder_new((size_t)1 << 20, 0, &dec, err);
    if (st == QP_OK)
        st = pass(r, dec, &t, path, err); /* count */
    if (st == QP_OK && t.cap == 0)
        st = qp_fail(err, QP_E_INVAL, "%s holds no qpercept.v1.Detections messages", path);
    if (st == QP_OK) {
        t.rows    = qp_alloc(t.cap * sizeof *t.rows);
        t.scratch = qp_alloc(t.cap * sizeof *t.scratch);
        if (!t.rows || !t.scratch)
            st = qp_fail(err, QP_E_NOMEM, "%s: a table of %zu Detections", path, t.cap);
    }
    if (st == QP_OK)
        st = pass(r, dec, &t, path, err); /* fill */
    if (st == QP_OK)
        print(out, &t, path);
    qp_free(t.rows);
    qp_free(t.scratch);
    qp_wire_decoder_free(dec);
    qp_mcap_reader_free(r);
    return st;
}
