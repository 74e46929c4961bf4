// SPDX-License-Identifier: Apache-2.0
/*
 * config_check.c - the rules that span settings: what qp_config_check
 * refuses and what qp_config_warnings reports.
 *
 * Single values were already checked against their row's bounds when they
 * were read (config.c); this file checks combinations: required settings,
 * batch buckets in order, one binder per endpoint and port, shared memory
 * only on same-host endpoints, and which sockets are reachable from other
 * hosts. Required-ness comes from the settings table (qp_config_key_at), so
 * a new required row is checked here without a change to this file.
 *
 * Tested by tests/unit/test_config.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "server/config.h"

#include <stdlib.h>
#include <string.h>

/* ===== Endpoints ===== */

struct tcp_addr {
    char host[QP_CONFIG_HOST_LEN];
    long port;
};

/* Host and port of a tcp:// endpoint (already validated when read); false for ipc / inproc. */
static bool tcp_split(const char *ep, struct tcp_addr *a)
{
    if (strncmp(ep, "tcp://", 6) != 0)
        return false;
    const char *colon = strrchr(ep + 6, ':');
    size_t      n     = colon ? (size_t)(colon - (ep + 6)) : 0;
    if (!colon || n >= sizeof a->host)
        return false;
    memcpy(a->host, ep + 6, n);
    a->host[n] = '\0';
    a->port    = strtol(colon + 1, NULL, 10);
    return true;
}

static bool is_wildcard(const char *host)
{
    return strcmp(host, "*") == 0 || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "[::]") == 0;
}

static bool is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "localhost") == 0 ||
           strcmp(host, "[::1]") == 0;
}

/* Would binding a and b collide? tcp: same port on the same or a wildcard host. */
static bool binds_clash(const char *a, const char *b)
{
    struct tcp_addr ta, tb;
    if (tcp_split(a, &ta) && tcp_split(b, &tb))
        return ta.port == tb.port &&
               (strcmp(ta.host, tb.host) == 0 || is_wildcard(ta.host) || is_wildcard(tb.host));
    return strcmp(a, b) == 0;
}

/* ===== The sockets qperceptd binds ===== */

struct bind {
    char        what[96]; /* "[server] control_endpoint", "[stream.front] endpoint" */
    const char *endpoint;
};

/* Every endpoint the server binds; returns how many (at most 3 + streams). */
static int32_t binds_of(const struct qp_config *cfg, struct bind *b)
{
    int32_t n = 0;
    snprintf(b[n].what, sizeof b[n].what, "[server] control_endpoint");
    b[n++].endpoint = cfg->server.control_endpoint;
    snprintf(b[n].what, sizeof b[n].what, "[server] publish_endpoint");
    b[n++].endpoint = cfg->server.publish_endpoint;
    if (cfg->server.frame_tap_endpoint[0]) {
        snprintf(b[n].what, sizeof b[n].what, "[server] frame_tap_endpoint");
        b[n++].endpoint = cfg->server.frame_tap_endpoint;
    }
    for (int32_t i = 0; i < cfg->n_streams; i++) {
        const struct qp_config_stream *s = &cfg->streams[i];
        if (s->mode != QP_CONFIG_MODE_PULL || !s->enabled)
            continue;
        snprintf(b[n].what, sizeof b[n].what, "[stream.%s] endpoint", s->name);
        b[n++].endpoint = s->endpoint;
    }
    return n;
}

static enum qp_status check_binds(const struct qp_config *cfg, struct qp_err *err)
{
    struct bind b[3 + QP_CONFIG_MAX_STREAMS];
    int32_t     n = binds_of(cfg, b);
    for (int32_t i = 0; i < n; i++) {
        for (int32_t j = i + 1; j < n; j++)
            if (binds_clash(b[i].endpoint, b[j].endpoint))
                return qp_fail(err, QP_E_INVAL, "%s = %s and %s = %s bind the same address",
                               b[i].what, b[i].endpoint, b[j].what, b[j].endpoint);
        struct tcp_addr t;
        const char     *m = cfg->server.metrics_address;
        if (cfg->server.metrics_port && tcp_split(b[i].endpoint, &t) &&
            t.port == (long)cfg->server.metrics_port &&
            (strcmp(t.host, m) == 0 || is_wildcard(t.host) || is_wildcard(m)))
            return qp_fail(err, QP_E_INVAL,
                           "%s = %s and [server] metrics_port = %u bind the same "
                           "address",
                           b[i].what, b[i].endpoint, (unsigned)cfg->server.metrics_port);
    }
    return QP_OK;
}

/* ===== Required settings and cross-field rules ===== */

static enum qp_status check_required(const struct qp_config *cfg, struct qp_err *err)
{
    struct qp_config_key k;
    char                 name[160], v[8];
    for (int32_t r = 0; qp_config_key_at(r, &k); r++) {
        if (!k.required)
            continue;
        bool    stream = strcmp(k.section, "stream") == 0;
        int32_t n      = stream ? cfg->n_streams : 1;
        for (int32_t i = 0; i < n; i++) {
            if (stream)
                snprintf(name, sizeof name, "stream.%s.%s", cfg->streams[i].name, k.key);
            else
                snprintf(name, sizeof name, "%s.%s", k.section, k.key);
            if (qp_config_get(cfg, name, v, sizeof v, err) != QP_OK)
                return QP_E_INVAL;
            if (!v[0])
                return qp_fail(err, QP_E_INVAL, "[%s%s%s] %s is required (%s)", k.section,
                               stream ? "." : "", stream ? cfg->streams[i].name : "", k.key, k.doc);
        }
    }
    return QP_OK;
}

static enum qp_status check_server(const struct qp_config_server *s, struct qp_err *err)
{
    if ((uint64_t)s->sync_window_us > (uint64_t)s->max_age_ms * 1000u)
        return qp_fail(err, QP_E_INVAL,
                       "[server] sync_window_us = %u: must not exceed max_age_ms "
                       "(%u ms): such frames are dropped as stale anyway",
                       (unsigned)s->sync_window_us, (unsigned)s->max_age_ms);
    if (s->curve && (!s->curve_secret_key_file[0] || !s->curve_allow_file[0]))
        return qp_fail(err, QP_E_INVAL,
                       "[server] curve = yes needs curve_secret_key_file and "
                       "curve_allow_file");
    return QP_OK;
}

static enum qp_status check_engine(const struct qp_config_engine *e, struct qp_err *err)
{
    size_t len = strlen(e->path);
    bool   qpe = len > 4 && strcmp(e->path + len - 4, ".qpe") == 0;
    bool   onx = len > 5 && strcmp(e->path + len - 5, ".onnx") == 0;
    if (len && !qpe && !onx)
        return qp_fail(err, QP_E_INVAL, "[engine] path = %s: must name a .qpe or .onnx file",
                       e->path);
    const struct qp_config_list *b = &e->batch_sizes;
    if (b->n < 1)
        return qp_fail(err, QP_E_INVAL, "[engine] batch_sizes: needs at least one bucket");
    for (uint32_t i = 1; i < b->n; i++)
        if (b->v[i] <= b->v[i - 1])
            return qp_fail(err, QP_E_INVAL,
                           "[engine] batch_sizes: %u after %u: must be strictly "
                           "ascending",
                           (unsigned)b->v[i], (unsigned)b->v[i - 1]);
    if (b->v[b->n - 1] < 1 || b->v[b->n - 1] > QP_CONFIG_MAX_BATCH)
        return qp_fail(err, QP_E_INVAL, "[engine] batch_sizes: the largest must be 1..%d",
                       QP_CONFIG_MAX_BATCH);
    return QP_OK;
}

static enum qp_status check_stream(const struct qp_config_stream *s, struct qp_err *err)
{
    if ((s->width == 0) != (s->height == 0))
        return qp_fail(err, QP_E_INVAL, "[stream.%s] width = %u, height = %u: set both or neither",
                       s->name, (unsigned)s->width, (unsigned)s->height);
    struct tcp_addr t;
    if (s->transport == QP_CONFIG_TRANSPORT_SHM && tcp_split(s->endpoint, &t) &&
        !is_loopback(t.host))
        return qp_fail(err, QP_E_INVAL,
                       "[stream.%s] transport = shm: endpoint %s is not on this "
                       "host (use ipc:// or a loopback address)",
                       s->name, s->endpoint);
    return QP_OK;
}

enum qp_status qp_config_check(const struct qp_config *cfg, struct qp_err *err)
{
    enum qp_status st;
    if ((st = check_required(cfg, err)) != QP_OK || (st = check_server(&cfg->server, err)) ||
        (st = check_engine(&cfg->engine, err)))
        return st;
    int32_t enabled = 0;
    for (int32_t i = 0; i < cfg->n_streams; i++) {
        if ((st = check_stream(&cfg->streams[i], err)) != QP_OK)
            return st;
        enabled += cfg->streams[i].enabled;
    }
    if (cfg->n_streams == 0)
        return qp_fail(err, QP_E_INVAL,
                       "no [stream.NAME] section: at least one stream is required");
    if (enabled == 0)
        return qp_fail(err, QP_E_INVAL, "every stream has enabled = no: at least one must be on");
    return check_binds(cfg, err);
}

/* ===== Warnings ===== */

int32_t qp_config_warnings(const struct qp_config *cfg, qp_config_warn_fn fn, void *ctx)
{
    struct bind b[3 + QP_CONFIG_MAX_STREAMS];
    int32_t     n = binds_of(cfg, b), count = 0;
    char        msg[384];
    for (int32_t i = 0; i < n; i++) {
        struct tcp_addr t;
        if (!tcp_split(b[i].endpoint, &t) || is_loopback(t.host))
            continue;
        snprintf(msg, sizeof msg, "%.95s = %.127s binds a non-loopback address%s", b[i].what,
                 b[i].endpoint,
                 cfg->server.curve ? " (CURVE on)" : ": reachable from other hosts, CURVE is off");
        count++;
        if (fn)
            fn(ctx, msg);
    }
    if (cfg->server.metrics_port && !is_loopback(cfg->server.metrics_address)) {
        snprintf(msg, sizeof msg,
                 "[server] metrics_address = %s: /metrics (no authentication) is "
                 "reachable from other hosts",
                 cfg->server.metrics_address);
        count++;
        if (fn)
            fn(ctx, msg);
    }
    return count;
}
