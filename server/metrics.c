// SPDX-License-Identifier: Apache-2.0
/*
 * metrics.c - Prometheus /metrics: a tiny HTTP/1.x listener on
 * server.metrics_address:metrics_port, served by the server's one event loop.
 *
 * The listening TCP socket and every open connection are non-blocking raw
 * fds in the loop's zmq_poll list (qp_srv_metrics_poll_items), so a scrape
 * costs the loop a few syscalls and never waits on a client. At most
 * METRICS_CONNS connections are open at once; while all are taken the
 * listener is left out of the poll list and new clients wait in the kernel's
 * backlog. Each connection has METRICS_DEADLINE_MS from accept to the last
 * byte of its response; one that sends nothing, too much (over
 * METRICS_REQUEST_MAX bytes of request head: 431) or reads too slowly is
 * closed and counted. Every connection is closed after one response.
 *
 * GET /metrics answers the Prometheus text format 0.0.4 (docs/server.md
 * lists every metric); other paths 404, other methods 405, garbage 400.
 * The body is written into one buffer allocated at start-up, sized for the
 * streams, batch sizes and the engine's saturation counters; should it
 * ever not fit (an engine with more counters after a reload), the body is
 * cut at a line boundary and ends with a comment that says so. Only one
 * connection at a time writes from that buffer; a second finished request
 * waits (state WAIT) until the first is sent. Nothing is allocated after
 * qp_srv_metrics_open.
 */
#define _GNU_SOURCE /* accept4, memmem */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include "server/server.h"

#define METRICS_CONNS 4          /* connections open at once */
#define METRICS_REQUEST_MAX 4096 /* bytes of request line + headers */
#define METRICS_DEADLINE_MS 2000 /* accept -> response sent */
#define METRICS_HEAD_MAX 256     /* reserved before the body: status line, headers */
#define METRICS_TAIL_MAX 192     /* reserved after the body: the truncation note */
#define METRICS_LISTEN_BACKLOG 16
_Static_assert(QP_SRV_METRICS_POLL_MAX == METRICS_CONNS + 1, "listener + connections");

/* ===== Counters of the listener itself ===== */

enum http_code { HTTP_200 = 0, HTTP_400, HTTP_404, HTTP_405, HTTP_431, HTTP_COUNT };

static const struct {
    int         code;
    const char *line; /* status line's text */
} http[] = {
    [HTTP_200] = {200, "OK"},
    [HTTP_400] = {400, "Bad Request"},
    [HTTP_404] = {404, "Not Found"},
    [HTTP_405] = {405, "Method Not Allowed"},
    [HTTP_431] = {431, "Request Header Fields Too Large"},
};
_Static_assert(sizeof http / sizeof http[0] == HTTP_COUNT, "every code needs a row");

/* Why a connection ended without a response. */
enum abort_reason { ABORT_TIMEOUT = 0, ABORT_CLOSED, ABORT_ERROR, ABORT_COUNT };

static const char *const abort_names[] = {
    [ABORT_TIMEOUT] = "timeout", /* no full request, or response not taken, within the deadline */
    [ABORT_CLOSED]  = "closed",  /* the client closed before its request was complete */
    [ABORT_ERROR]   = "error",   /* recv / send failed */
};
_Static_assert(sizeof abort_names / sizeof abort_names[0] == ABORT_COUNT, "abort names");

/* ===== State ===== */

enum conn_state {
    CONN_FREE = 0,
    CONN_READ,  /* reading the request head */
    CONN_WAIT,  /* GET /metrics read; the body buffer is busy with another connection */
    CONN_WRITE, /* sending out[sent..n_out) */
    CONN_DRAIN, /* sent and shut down for writing: reading until the client closes */
};

struct conn {
    int             fd;
    enum conn_state state;
    int64_t         deadline_ns; /* qp_clock_ns */
    const char     *out;         /* the response: into body, or into req for error pages */
    size_t          n_out, sent;
    size_t          n_req;
    char            req[METRICS_REQUEST_MAX];
};

struct qp_srv_metrics {
    int         listen_fd;
    struct conn conns[METRICS_CONNS];
    char       *buf; /* METRICS_HEAD_MAX + body_cap + METRICS_TAIL_MAX */
    size_t      body_cap;
    uint64_t    requests[HTTP_COUNT];
    uint64_t    aborted[ABORT_COUNT];
    uint64_t    truncated; /* responses cut short for want of buffer */
};

/* ===== Text output ===== */

struct out {
    char  *p;
    size_t n, cap;
    bool   full; /* something did not fit: everything after it is dropped */
};

static void put(struct out *o, const char *fmt, ...) QP_PRINTF(2, 3);
static void put(struct out *o, const char *fmt, ...)
{
    if (o->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(o->p + o->n, o->cap - o->n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= o->cap - o->n)
        o->full = true;
    else
        o->n += (size_t)k;
}

/* A label value with \, " and newline escaped (exposition format 0.0.4),
 * into dst of n bytes; cut short (still terminated) when it does not fit. */
static const char *escape(const char *s, char *dst, size_t n)
{
    size_t k = 0;
    for (; *s && k + 3 < n; s++) {
        if (*s == '\\' || *s == '"' || *s == '\n')
            dst[k++] = '\\';
        dst[k++] = (char)(*s == '\n' ? 'n' : *s);
    }
    dst[k] = '\0';
    return dst;
}

/* "# HELP" and "# TYPE" of a family. */
static void family(struct out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* ns as exact decimal seconds. */
#define SECONDS_FMT "%llu.%09llu"
#define SECONDS(ns)                                                                                \
    (unsigned long long)((ns) / 1000000000u), (unsigned long long)((ns) % 1000000000u)

/* ===== The body ===== */

static void render_info(struct out *o, const struct qp_srv *srv)
{
    const struct qp_srv_worker *w = &srv->worker;
    char m[2 * QP_WIRE_NAME_MAX], id[2 * QP_WIRE_ID_MAX], be[2 * QP_WIRE_NAME_MAX];
    family(o, "qperceptd_info", "gauge", "Version, model, engine id and backend being served.");
    put(o, "qperceptd_info{version=\"%s\",model=\"%s\",engine_id=\"%s\",backend=\"%s\"} 1\n",
        QP_VERSION, escape(w->model, m, sizeof m), escape(w->engine_id, id, sizeof id),
        escape(w->backend, be, sizeof be));
    family(o, "qperceptd_start_time_seconds", "gauge", "Start time, seconds since the epoch.");
    put(o, "qperceptd_start_time_seconds " SECONDS_FMT "\n", SECONDS(srv->start_real_ns));
    uint64_t up = (uint64_t)(qp_clock_ns() - srv->start_mono_ns);
    family(o, "qperceptd_uptime_seconds", "gauge", "Seconds since start.");
    put(o, "qperceptd_uptime_seconds " SECONDS_FMT "\n", SECONDS(up));
}

static void render_streams(struct out *o, const struct qp_srv *srv)
{
    family(o, "qperceptd_frames_received_total", "counter",
           "Messages the stream's socket delivered.");
    for (int32_t i = 0; i < srv->n_streams; i++)
        put(o, "qperceptd_frames_received_total{stream=\"%s\"} %llu\n", srv->streams[i].cfg->name,
            (unsigned long long)srv->streams[i].st.received);
    family(o, "qperceptd_frames_published_total", "counter", "Frames whose Detections were sent.");
    for (int32_t i = 0; i < srv->n_streams; i++)
        put(o, "qperceptd_frames_published_total{stream=\"%s\"} %llu\n", srv->streams[i].cfg->name,
            (unsigned long long)srv->streams[i].st.published);
    family(o, "qperceptd_frames_dropped_total", "counter",
           "Messages or frames not published, by reason.");
    for (int32_t i = 0; i < srv->n_streams; i++)
        for (int d = 0; d < QP_SRV_DROP_COUNT; d++)
            put(o, "qperceptd_frames_dropped_total{stream=\"%s\",reason=\"%s\"} %llu\n",
                srv->streams[i].cfg->name, qp_srv_drop_name((enum qp_srv_drop)d),
                (unsigned long long)srv->streams[i].st.drops[d]);
    family(o, "qperceptd_frames_invalid_total", "counter",
           "Frames dropped as invalid, by the decoder's reason.");
    for (int32_t i = 0; i < srv->n_streams; i++)
        for (int r = 1; r < QP_WIRE_REASON_COUNT; r++)
            put(o, "qperceptd_frames_invalid_total{stream=\"%s\",reason=\"%s\"} %llu\n",
                srv->streams[i].cfg->name, qp_wire_reason_name((enum qp_wire_reason)r),
                (unsigned long long)srv->streams[i].st.invalid[r]);
    family(o, "qperceptd_frames_waiting", "gauge", "Frames held by the batcher (0 or 1).");
    for (int32_t i = 0; i < srv->n_streams; i++) {
        struct qp_batcher_counters bc;
        qp_batcher_counters(srv->batcher, i, &bc);
        put(o, "qperceptd_frames_waiting{stream=\"%s\"} %llu\n", srv->streams[i].cfg->name,
            (unsigned long long)bc.waiting);
    }
    family(o, "qperceptd_stream_restarts_total", "counter",
           "Times the stream's seqs began again while its capture stamps went on.");
    for (int32_t i = 0; i < srv->n_streams; i++) {
        struct qp_batcher_counters bc;
        qp_batcher_counters(srv->batcher, i, &bc);
        put(o, "qperceptd_stream_restarts_total{stream=\"%s\"} %llu\n",
            srv->streams[i].cfg->name, (unsigned long long)bc.restarts);
    }
    family(o, "qperceptd_frames_in_flight", "gauge",
           "Frames in the batch the worker is running (0 or 1).");
    for (int32_t i = 0; i < srv->n_streams; i++)
        put(o, "qperceptd_frames_in_flight{stream=\"%s\"} %d\n", srv->streams[i].cfg->name,
            qp_srv_stream_in_flight(srv, i) ? 1 : 0);
}

static void render_batches(struct out *o, const struct qp_srv *srv)
{
    const struct qp_config_list *bs  = &srv->cfg.engine.batch_sizes;
    uint32_t                     top = bs->n ? bs->v[bs->n - 1] : 1;
    family(o, "qperceptd_batches_total", "counter", "Batches run, by their number of frames.");
    for (uint32_t b = 1; b <= top && b <= QP_CONFIG_MAX_BATCH; b++)
        put(o, "qperceptd_batches_total{size=\"%u\"} %llu\n", b,
            (unsigned long long)srv->batches_by_size[b]);
    family(o, "qperceptd_batches_by_trigger_total", "counter", "Batches run, by what formed them.");
    for (int t = 0; t < QP_BATCHER_TRIGGER_COUNT; t++)
        put(o, "qperceptd_batches_by_trigger_total{trigger=\"%s\"} %llu\n",
            qp_batcher_trigger_name((enum qp_batcher_trigger)t),
            (unsigned long long)srv->batches_by_trigger[t]);
    family(o, "qperceptd_batches_host_preprocessed_total", "counter",
           "Batches pre-processed on the host: their frames outgrew the device's staging.");
    put(o, "qperceptd_batches_host_preprocessed_total %llu\n",
        (unsigned long long)srv->batches_host_pre);
}

/* A fixed-bucket histogram as a Prometheus one: cumulative buckets in seconds. */
static void render_hist(struct out *o, const char *name, const char *help,
                        const struct qp_srv_hist *h)
{
    uint64_t cum = 0;
    family(o, name, "histogram", help);
    for (int32_t b = 0; b < QP_SRV_HIST_BUCKETS; b++) {
        uint64_t e = qp_srv_hist_edge_ns(b);
        cum += h->bucket[b];
        /* edges are 1-2-5 steps from 100 us: %g writes them exactly ("0.0001", "200") */
        put(o, "%s_bucket{le=\"%g\"} %llu\n", name, (double)e / 1e9, (unsigned long long)cum);
    }
    put(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->n);
    put(o, "%s_sum " SECONDS_FMT "\n%s_count %llu\n", name, SECONDS(h->sum_ns), name,
        (unsigned long long)h->n);
}

static void render_engine(struct out *o, const struct qp_srv *srv)
{
    const struct qp_srv_engine_set *set = srv->worker.set;
    int32_t                         n   = set ? set->n_sat : 0;
    char                            t[512];
    family(o, "qperceptd_canaries_total", "counter", "Canary (warm-up, watchdog) inferences.");
    put(o, "qperceptd_canaries_total %llu\n", (unsigned long long)srv->canaries);
    if (n == 0 || !set->sat[0].tensor)
        return; /* a float engine, or a backend that does not count */
    family(o, "qperceptd_engine_saturated_elements_total", "counter",
           "INT8 elements at -128 or 127, by tensor, all runs of every bucket.");
    for (int32_t i = 0; i < n; i++)
        if (set->sat[i].tensor)
            put(o, "qperceptd_engine_saturated_elements_total{tensor=\"%s\"} %lld\n",
                escape(set->sat[i].tensor, t, sizeof t), (long long)set->sat[i].saturated);
    family(o, "qperceptd_engine_elements_total", "counter",
           "INT8 elements produced, by tensor, all runs of every bucket.");
    for (int32_t i = 0; i < n; i++)
        if (set->sat[i].tensor)
            put(o, "qperceptd_engine_elements_total{tensor=\"%s\"} %lld\n",
                escape(set->sat[i].tensor, t, sizeof t), (long long)set->sat[i].total);
}

/* A counter family of two outcomes: NAME{outcome="A"} a, NAME{outcome="B"} b. */
static void outcomes(struct out *o, const char *name, const char *help, const char *la, uint64_t a,
                     const char *lb, uint64_t b)
{
    family(o, name, "counter", help);
    put(o, "%s{outcome=\"%s\"} %llu\n", name, la, (unsigned long long)a);
    put(o, "%s{outcome=\"%s\"} %llu\n", name, lb, (unsigned long long)b);
}

static void render_server(struct out *o, const struct qp_srv *srv)
{
    const struct qp_srv_metrics *m = srv->metrics;
    family(o, "qperceptd_control_requests_total", "counter", "Control requests answered.");
    put(o, "qperceptd_control_requests_total %llu\n", (unsigned long long)srv->ctl_requests);
    family(o, "qperceptd_control_bad_requests_total", "counter",
           "Control messages that were not a valid request.");
    put(o, "qperceptd_control_bad_requests_total %llu\n", (unsigned long long)srv->ctl_bad);
    outcomes(o, "qperceptd_reloads_total", "Engine reloads, by outcome.", "ok", srv->worker.reloads,
             "failed", srv->worker.reload_failures);
    family(o, "qperceptd_metrics_requests_total", "counter",
           "HTTP requests to this listener, by status code.");
    for (int c = 0; c < HTTP_COUNT; c++)
        put(o, "qperceptd_metrics_requests_total{code=\"%d\"} %llu\n", http[c].code,
            (unsigned long long)m->requests[c]);
    family(o, "qperceptd_metrics_aborted_total", "counter",
           "HTTP connections closed without a response, by reason.");
    for (int a = 0; a < ABORT_COUNT; a++)
        put(o, "qperceptd_metrics_aborted_total{reason=\"%s\"} %llu\n", abort_names[a],
            (unsigned long long)m->aborted[a]);
    outcomes(o, "qperceptd_curve_handshakes_total",
             "CURVE handshakes the ZAP handler answered, by outcome (server.curve).", "admitted",
             srv->curve_admitted, "refused", srv->curve_refused);
    family(o, "qperceptd_curve_allowed_keys", "gauge",
           "Client public keys in the CURVE allow-list (0 without CURVE).");
    put(o, "qperceptd_curve_allowed_keys %d\n", (int)qp_srv_curve_allowed(srv));
    outcomes(o, "qperceptd_curve_allow_reloads_total",
             "Allow-list re-reads at a reload, by outcome (failed: the old list stays).", "ok",
             srv->curve_allow_reloads, "failed", srv->curve_allow_failures);
    family(o, "qperceptd_metrics_truncated_total", "counter",
           "Responses cut short because the buffer was too small.");
    put(o, "qperceptd_metrics_truncated_total %llu\n", (unsigned long long)m->truncated);
}

/* The body into buf + METRICS_HEAD_MAX; returns its length. Cut at the last
 * whole line, plus a note, when it does not fit. */
static size_t render(struct qp_srv *srv)
{
    struct qp_srv_metrics *m = srv->metrics;
    struct out             o = {m->buf + METRICS_HEAD_MAX, 0, m->body_cap, false};
    render_info(&o, srv);
    render_server(&o, srv); /* early: its truncation counter survives a cut */
    render_streams(&o, srv);
    render_batches(&o, srv);
    render_hist(&o, "qperceptd_batch_inference_seconds", "One batch, all its frames.",
                &srv->batch_inference);
    render_hist(&o, "qperceptd_frame_inference_seconds",
                "Inference cost per frame (frame_inference_ms of ctl stats).",
                &srv->frame_inference);
    render_hist(&o, "qperceptd_batch_capture_spread_seconds",
                "Per batch: its latest capture stamp minus its earliest.", &srv->batch_spread);
    render_hist(&o, "qperceptd_latency_seconds", "Received to published, per frame.",
                &srv->latency);
    render_engine(&o, srv);
    if (o.full) {
        m->truncated++;
        const char *nl = memrchr(o.p, '\n', o.n);
        o.n            = nl ? (size_t)(nl - o.p) + 1 : 0;
        o.cap += METRICS_TAIL_MAX;
        o.full = false;
        put(&o,
            "# qperceptd: output truncated: the %zu-byte buffer sized at start-up is too "
            "small\n",
            m->body_cap);
    }
    return o.n;
}

/* Body bytes for this server: every line's longest form, bounded by streams x reasons. */
static size_t body_cap(const struct qp_srv *srv)
{
    const size_t line = 96 + QP_CONFIG_NAME_LEN + 40; /* name, stream, reason, 20 digits */
    size_t       n    = 20480 + (size_t)QP_CONFIG_MAX_BATCH * 64; /* 4 histograms + the rest */
    n += (size_t)srv->n_streams * (5 + QP_SRV_DROP_COUNT + QP_WIRE_REASON_COUNT) * line;
    const struct qp_srv_engine_set *set = srv->worker.set;
    for (int32_t i = 0; set && i < set->n_sat; i++)
        if (set->sat[i].tensor)
            n += 2 * (96 + 2 * strlen(set->sat[i].tensor));
    return n;
}

/* ===== Connections ===== */

static void conn_close(struct conn *c)
{
    close(c->fd);
    c->fd    = -1;
    c->state = CONN_FREE;
}

static void conn_abort(struct qp_srv_metrics *m, struct conn *c, enum abort_reason r)
{
    m->aborted[r]++;
    conn_close(c);
}

/* Read and discard until the client closes (or the deadline does it).
 * Closing with unread input would make the kernel send a reset, and the
 * client could lose the response still in flight (a 431 for a request it
 * is still sending). */
static void conn_drain(struct conn *c)
{
    for (int i = 0; i < 16; i++) { /* bounded: a client that keeps sending waits for poll */
        ssize_t k = recv(c->fd, c->req, sizeof c->req, MSG_DONTWAIT);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (k <= 0) {
            conn_close(c);
            return;
        }
    }
}

/* Send what the socket takes now; when all is sent, shut down and drain. */
static void conn_write(struct qp_srv_metrics *m, struct conn *c)
{
    while (c->sent < c->n_out) {
        ssize_t k = send(c->fd, c->out + c->sent, c->n_out - c->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (k <= 0) {
            conn_abort(m, c, ABORT_ERROR);
            return;
        }
        c->sent += (size_t)k;
    }
    c->state = CONN_DRAIN;
    shutdown(c->fd, SHUT_WR);
    conn_drain(c);
}

/* An error page, written into the request buffer (no longer needed). */
static void respond_error(struct qp_srv_metrics *m, struct conn *c, enum http_code code)
{
    static const char fmt[] = "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                              "Content-Length: %d\r\n%sConnection: close\r\n\r\n%s";
    const char       *allow = code == HTTP_405 ? "Allow: GET\r\n" : "";
    char              body[64];
    int               nb = snprintf(body, sizeof body, "%d %s\n", http[code].code, http[code].line);
    int k = snprintf(c->req, sizeof c->req, fmt, http[code].code, http[code].line, nb, allow, body);
    QP_ASSERT(k > 0 && (size_t)k < sizeof c->req);
    m->requests[code]++;
    c->out   = c->req;
    c->n_out = (size_t)k;
    c->sent  = 0;
    c->state = CONN_WRITE;
    conn_write(m, c);
}

/* GET /metrics: render into the shared buffer, put the head right before
 * the body, and start sending. */
static void respond_metrics(struct qp_srv *srv, struct conn *c)
{
    static const char      fmt[] = "HTTP/1.1 200 OK\r\n"
                                   "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                                   "Content-Length: %zu\r\nConnection: close\r\n\r\n";
    struct qp_srv_metrics *m     = srv->metrics;
    char                   head[METRICS_HEAD_MAX];
    m->requests[HTTP_200]++; /* before rendering: the response counts itself */
    size_t n = render(srv);
    int    k = snprintf(head, sizeof head, fmt, n);
    QP_ASSERT(k > 0 && (size_t)k < sizeof head);
    char *start = m->buf + METRICS_HEAD_MAX - k;
    memcpy(start, head, (size_t)k);
    c->out   = start;
    c->n_out = (size_t)k + n;
    c->sent  = 0;
    c->state = CONN_WRITE;
    conn_write(m, c);
}

/* The request head is complete: what does it ask for? */
static void dispatch(struct qp_srv *srv, struct conn *c)
{
    char       *line = c->req, *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    const char *eol = strpbrk(line, "\r\n");
    if (!sp1 || !sp2 || !eol || sp2 > eol || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        respond_error(srv->metrics, c, HTTP_400);
        return;
    }
    size_t path = strcspn(sp1 + 1, " ?");
    if ((size_t)(sp1 - line) != 3 || memcmp(line, "GET", 3) != 0)
        respond_error(srv->metrics, c, HTTP_405);
    else if (path != 8 || memcmp(sp1 + 1, "/metrics", 8) != 0)
        respond_error(srv->metrics, c, HTTP_404);
    else
        c->state = CONN_WAIT; /* the body is rendered when the buffer is free */
}

/* Read what arrived; dispatch once the head ends with an empty line. */
static void conn_read(struct qp_srv *srv, struct conn *c)
{
    for (;;) {
        /* room is never 0 here: a full buffer was answered 431 below */
        ssize_t k = recv(c->fd, c->req + c->n_req, sizeof c->req - 1 - c->n_req, MSG_DONTWAIT);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (k <= 0) {
            conn_abort(srv->metrics, c, k < 0 ? ABORT_ERROR : ABORT_CLOSED);
            return;
        }
        size_t from = c->n_req > 3 ? c->n_req - 3 : 0;
        c->n_req += (size_t)k;
        c->req[c->n_req] = '\0';
        if (memmem(c->req + from, c->n_req - from, "\r\n\r\n", 4) ||
            memmem(c->req + from, c->n_req - from, "\n\n", 2)) {
            dispatch(srv, c);
            return;
        }
        if (c->n_req == sizeof c->req - 1) {
            respond_error(srv->metrics, c, HTTP_431);
            return;
        }
    }
}

static void accept_all(struct qp_srv_metrics *m)
{
    for (int i = 0; i < METRICS_CONNS; i++) {
        struct conn *c = &m->conns[i];
        if (c->state != CONN_FREE)
            continue;
        /* cppcheck-suppress nullPointer ; accept4(2) takes NULL addr/addrlen (gnu.cfg says not) */
        int fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN: no more; ECONNABORTED, EMFILE, ...: next turn */
        *c = (struct conn){.fd          = fd,
                           .state       = CONN_READ,
                           .deadline_ns = qp_clock_ns() + (int64_t)METRICS_DEADLINE_MS * 1000000};
    }
}

/* ===== The loop's side ===== */

/* A non-blocking listening socket on the first address of host:port that binds. */
static enum qp_status listen_on(const struct qp_config_server *cfg, int *out, struct qp_err *err)
{
    struct addrinfo  hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai    = NULL;
    char             host[QP_CONFIG_HOST_LEN], port[8];
    /* "[::1]" is how the config writes an IPv6 address */
    size_t hl = strlen(cfg->metrics_address);
    bool   v6 = hl >= 2 && cfg->metrics_address[0] == '[';
    snprintf(host, sizeof host, "%.*s", (int)(v6 ? hl - 2 : hl), cfg->metrics_address + v6);
    snprintf(port, sizeof port, "%u", cfg->metrics_port);
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0)
        return qp_fail(err, QP_E_IO, "[server] metrics_address = %s: %s", cfg->metrics_address,
                       gai_strerror(rc));
    int e = 0, one = 1, fd = -1;
    for (const struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd >= 0 &&
            (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
             bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, METRICS_LISTEN_BACKLOG) != 0)) {
            e = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return qp_fail(err, QP_E_IO, "[server] metrics: cannot listen on %s:%u: %s",
                       cfg->metrics_address, cfg->metrics_port, strerror(e ? e : errno));
    *out = fd;
    return QP_OK;
}

enum qp_status qp_srv_metrics_open(struct qp_srv *srv, struct qp_err *err)
{
    const struct qp_config_server *cfg = &srv->cfg.server;
    if (cfg->metrics_port == 0)
        return QP_OK;
    struct qp_srv_metrics *m = qp_calloc(1, sizeof *m);
    if (!m)
        return qp_fail(err, QP_E_NOMEM, "metrics listener state of %zu bytes", sizeof *m);
    srv->metrics = m;
    m->listen_fd = -1;
    for (int i = 0; i < METRICS_CONNS; i++)
        m->conns[i].fd = -1;
    m->body_cap = body_cap(srv);
    size_t n    = METRICS_HEAD_MAX + m->body_cap + METRICS_TAIL_MAX;
    if (!(m->buf = qp_alloc(n)))
        return qp_fail(err, QP_E_NOMEM, "metrics buffer of %zu bytes", n);
    enum qp_status st = listen_on(cfg, &m->listen_fd, err);
    if (st == QP_OK)
        qp_srv_log(QP_LOG_INFO, "metrics: http://%s:%u/metrics (%zu-byte buffer)",
                   cfg->metrics_address, cfg->metrics_port, n);
    return st;
}

void qp_srv_metrics_close(struct qp_srv *srv)
{
    struct qp_srv_metrics *m = srv->metrics;
    if (!m)
        return;
    for (int i = 0; i < METRICS_CONNS; i++)
        if (m->conns[i].state != CONN_FREE)
            conn_close(&m->conns[i]);
    if (m->listen_fd >= 0)
        close(m->listen_fd);
    qp_free(m->buf);
    qp_free(m);
    srv->metrics = NULL;
}

int32_t qp_srv_metrics_poll_items(const struct qp_srv *srv, struct zmq_pollitem_t *items)
{
    const struct qp_srv_metrics *m    = srv->metrics;
    int32_t                      n    = 0;
    bool                         room = false;
    if (!m)
        return 0;
    for (int i = 0; i < METRICS_CONNS; i++) {
        const struct conn *c = &m->conns[i];
        room |= c->state == CONN_FREE;
        if (c->state == CONN_READ || c->state == CONN_DRAIN)
            items[n++] = (zmq_pollitem_t){NULL, c->fd, ZMQ_POLLIN, 0};
        else if (c->state == CONN_WRITE)
            items[n++] = (zmq_pollitem_t){NULL, c->fd, ZMQ_POLLOUT, 0};
    }
    /* full: leave new clients in the backlog rather than spin on a readable listener */
    if (room)
        items[n++] = (zmq_pollitem_t){NULL, m->listen_fd, ZMQ_POLLIN, 0};
    return n;
}

int64_t qp_srv_metrics_timeout_ms(const struct qp_srv *srv)
{
    const struct qp_srv_metrics *m     = srv->metrics;
    int64_t                      first = -1, now = qp_clock_ns();
    for (int i = 0; m && i < METRICS_CONNS; i++)
        if (m->conns[i].state != CONN_FREE && (first < 0 || m->conns[i].deadline_ns < first))
            first = m->conns[i].deadline_ns;
    if (first < 0)
        return -1;
    return first <= now ? 0 : (first - now + 999999) / 1000000;
}

static struct conn *conn_of(struct qp_srv_metrics *m, int fd)
{
    for (int i = 0; i < METRICS_CONNS; i++)
        if (m->conns[i].state != CONN_FREE && m->conns[i].fd == fd)
            return &m->conns[i];
    return NULL;
}

void qp_srv_metrics_serve(struct qp_srv *srv, const struct zmq_pollitem_t *items, int32_t n)
{
    struct qp_srv_metrics *m        = srv->metrics;
    bool                   listener = false;
    if (!m)
        return;
    for (int32_t i = 0; i < n; i++) {
        if (!items[i].revents)
            continue;
        struct conn *c = items[i].fd == m->listen_fd ? NULL : conn_of(m, items[i].fd);
        if (!c)
            listener |= items[i].fd == m->listen_fd;
        else if (c->state == CONN_READ)
            conn_read(srv, c);
        else if (c->state == CONN_WRITE)
            conn_write(m, c);
        else if (c->state == CONN_DRAIN)
            conn_drain(c);
    }
    /* one connection at a time sends from the body buffer; then the next waiting one */
    bool busy = false;
    for (int i = 0; i < METRICS_CONNS; i++)
        busy |= m->conns[i].state == CONN_WRITE && m->conns[i].out != m->conns[i].req;
    for (int i = 0; i < METRICS_CONNS && !busy; i++)
        if (m->conns[i].state == CONN_WAIT) {
            respond_metrics(srv, &m->conns[i]);
            busy = m->conns[i].state == CONN_WRITE;
        }
    int64_t now = qp_clock_ns();
    for (int i = 0; i < METRICS_CONNS; i++)
        if (m->conns[i].state == CONN_DRAIN && now >= m->conns[i].deadline_ns)
            conn_close(&m->conns[i]); /* answered; the client just did not close */
        else if (m->conns[i].state != CONN_FREE && now >= m->conns[i].deadline_ns)
            conn_abort(m, &m->conns[i], ABORT_TIMEOUT);
    if (listener)
        accept_all(m);
}
