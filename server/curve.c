// SPDX-License-Identifier: Apache-2.0
/*
 * curve.c - CURVE on the server's tcp:// sockets and the ZAP handler that
 * admits only the client public keys of server.curve_allow_file.
 *
 * CURVE alone encrypts but authenticates nobody: any client that knows the
 * server's public key is served. libzmq asks a ZAP handler (RFC 27: a socket
 * bound at inproc://zeromq.zap.01 in the same context) about every CURVE
 * handshake, and the handler here is a REP served by the server's one loop:
 * "200" for a key in the allow-list, "400" for any other (counted in stats).
 * The handler is bound before any CURVE socket, so no handshake can happen
 * without it. ipc:// and inproc:// sockets are left as they are (file
 * permissions guard ipc://); every tcp:// socket, bound or connected, becomes
 * a CURVE server with the secret key of server.curve_secret_key_file. The
 * secret key is read once at start-up (the sockets are bound with it); the
 * allow-list at start-up and again at every reload (SIGHUP, `ctl reload`),
 * into a fresh list that replaces the served one only when the whole file
 * was read: a missing or malformed file keeps the old list, and says why.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "server/server.h"

#define CURVE_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define CURVE_ALLOW_MAX 4096 /* keys in the allow-list */
#define CURVE_ZAP_PARTS 16   /* parts read of one request (RFC 27 has 7 for CURVE) */
#define CURVE_ZAP_PART_MAX 256

struct qp_srv_curve {
    uint8_t secret[32];
    char    public_z85[41];
    uint8_t (*allow)[32];
    int32_t  n_allow;
    void    *zap;         /* REP at CURVE_ZAP_ENDPOINT */
    int64_t  log_next_ns; /* refusals are logged at most once a second */
    uint64_t log_suppressed;
};

/* A Z85 key of exactly 40 characters into 32 bytes. */
static bool decode_key(const char *z85, uint8_t out[32])
{
    return strlen(z85) == 40 && zmq_z85_decode(out, z85) != NULL;
}

/* line without leading and trailing blanks (in place) */
static char *trim(char *line)
{
    while (isspace((unsigned char)*line))
        line++;
    size_t n = strlen(line);
    while (n && isspace((unsigned char)line[n - 1]))
        line[--n] = '\0';
    return line;
}

static enum qp_status read_secret(struct qp_srv_curve *c, const char *path, struct qp_err *err)
{
    char  buf[128] = {0};
    FILE *f        = fopen(path, "r");
    if (!f)
        return qp_fail(err, QP_E_IO, "[server] curve_secret_key_file: cannot read %s", path);
    size_t k = fread(buf, 1, sizeof buf - 1, f);
    (void)fclose(f);
    buf[k]               = '\0';
    char  secret_z85[41] = {0};
    char *key            = trim(buf);
    if (!decode_key(key, c->secret))
        return qp_fail(err, QP_E_INVAL,
                       "[server] curve_secret_key_file: %s does not hold one Z85 key of 40 "
                       "characters",
                       path);
    memcpy(secret_z85, key, 40);
    if (zmq_curve_public(c->public_z85, secret_z85) != 0)
        return qp_fail(err, QP_E_INVAL, "[server] curve_secret_key_file: %s: %s", path,
                       zmq_strerror(zmq_errno()));
    memset(secret_z85, 0, sizeof secret_z85);
    memset(buf, 0, sizeof buf);
    return QP_OK;
}

/* The allow-list file into c->allow / n_allow, replacing them only when
 * all of it was read. */
static enum qp_status read_allow(struct qp_srv_curve *c, const char *path, struct qp_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return qp_fail(err, QP_E_IO, "[server] curve_allow_file: cannot read %s", path);
    uint8_t(*allow)[32] = qp_alloc((size_t)CURVE_ALLOW_MAX * sizeof *allow);
    if (!allow) {
        (void)fclose(f);
        return qp_fail(err, QP_E_NOMEM, "CURVE allow-list");
    }
    char           line[256];
    int32_t        n  = 0;
    enum qp_status st = QP_OK;
    for (int32_t no = 1; st == QP_OK && fgets(line, sizeof line, f); no++) {
        char *k = trim(line);
        if (!*k || *k == '#')
            continue;
        if (n == CURVE_ALLOW_MAX)
            st = qp_fail(err, QP_E_INVAL, "[server] curve_allow_file: %s:%d: more than %d keys",
                         path, no, CURVE_ALLOW_MAX);
        else if (!decode_key(k, allow[n]))
            st = qp_fail(err, QP_E_INVAL,
                         "[server] curve_allow_file: %s:%d: not a Z85 public key of 40 "
                         "characters",
                         path, no);
        else
            n++;
    }
    (void)fclose(f);
    if (st != QP_OK) {
        qp_free(allow);
        return st;
    }
    if (n == 0)
        qp_srv_log(QP_LOG_WARN,
                   "[server] curve_allow_file: %s lists no key: no tcp:// client "
                   "will be admitted",
                   path);
    qp_free(c->allow);
    c->allow   = allow;
    c->n_allow = n;
    return QP_OK;
}

void qp_srv_curve_reload(struct qp_srv *srv)
{
    struct qp_srv_curve *c = srv->curve;
    if (!c)
        return;
    struct qp_err  err = {{0}};
    int32_t        was = c->n_allow;
    enum qp_status st  = read_allow(c, srv->cfg.server.curve_allow_file, &err);
    if (st == QP_OK) {
        srv->curve_allow_reloads++;
        qp_srv_log(QP_LOG_INFO, "CURVE: allow-list re-read: %d allowed keys (were %d)",
                   (int)c->n_allow, (int)was);
    } else {
        srv->curve_allow_failures++;
        qp_srv_log(QP_LOG_ERROR, "CURVE: allow-list not re-read, the %d keys stay allowed: %s",
                   (int)was, err.msg);
    }
}

int32_t qp_srv_curve_allowed(const struct qp_srv *srv)
{
    const struct qp_srv_curve *c = srv->curve;
    return c != NULL ? c->n_allow : 0;
}

enum qp_status qp_srv_curve_open(struct qp_srv *srv, struct qp_err *err)
{
    if (!srv->cfg.server.curve)
        return QP_OK;
    struct qp_srv_curve *c = qp_alloc(sizeof *c);
    if (!c)
        return qp_fail(err, QP_E_NOMEM, "CURVE state");
    memset(c, 0, sizeof *c);
    srv->curve        = c;
    enum qp_status st = read_secret(c, srv->cfg.server.curve_secret_key_file, err);
    if (st == QP_OK)
        st = read_allow(c, srv->cfg.server.curve_allow_file, err);
    if (st != QP_OK)
        return st;
    if (!zmq_has("curve"))
        return qp_fail(err, QP_E_UNSUPPORTED, "[server] curve = yes: libzmq lacks CURVE");
    int linger = 0;
    c->zap     = zmq_socket(srv->zctx, ZMQ_REP);
    if (!c->zap || zmq_setsockopt(c->zap, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(c->zap, CURVE_ZAP_ENDPOINT) != 0)
        return qp_fail(err, QP_E_IO, "ZAP handler %s: %s", CURVE_ZAP_ENDPOINT,
                       zmq_strerror(zmq_errno()));
    qp_srv_log(QP_LOG_INFO, "CURVE on tcp:// endpoints: server public key %s, %d allowed keys",
               c->public_z85, (int)c->n_allow);
    return QP_OK;
}

void qp_srv_curve_close(struct qp_srv *srv)
{
    struct qp_srv_curve *c = srv->curve;
    if (!c)
        return;
    if (c->zap)
        zmq_close(c->zap);
    qp_free(c->allow);
    memset(c, 0, sizeof *c);
    qp_free(c);
    srv->curve = NULL;
}

enum qp_status qp_srv_curve_socket(struct qp_srv *srv, void *sock, const char *endpoint,
                                   struct qp_err *err)
{
    if (!srv->curve || strncmp(endpoint, "tcp://", 6) != 0)
        return QP_OK;
    int one = 1;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, srv->curve->secret, 32) != 0 ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, "qperceptd", 9) != 0)
        return qp_fail(err, QP_E_IO, "%s: CURVE options: %s", endpoint, zmq_strerror(zmq_errno()));
    return QP_OK;
}

void *qp_srv_curve_zap_socket(const struct qp_srv *srv)
{
    return srv->curve ? srv->curve->zap : NULL;
}

static bool allowed(const struct qp_srv_curve *c, const uint8_t key[32])
{
    for (int32_t i = 0; i < c->n_allow; i++)
        if (memcmp(c->allow[i], key, 32) == 0)
            return true;
    return false;
}

/* One ZAP request read and answered; false when none was waiting. */
static bool serve_one(struct qp_srv *srv)
{
    struct qp_srv_curve *c = srv->curve;
    uint8_t              part[CURVE_ZAP_PARTS][CURVE_ZAP_PART_MAX];
    int                  len[CURVE_ZAP_PARTS];
    int                  n = 0, more = 0;
    size_t               more_size = sizeof more;
    do {
        uint8_t sink[CURVE_ZAP_PART_MAX];
        /* cppcheck-suppress legacyUninitvar ; part[n] is zmq_recv's output buffer */
        int r = zmq_recv(c->zap, n < CURVE_ZAP_PARTS ? part[n] : sink, CURVE_ZAP_PART_MAX,
                         n == 0 ? ZMQ_DONTWAIT : 0);
        if (r < 0)
            return false; /* nothing waiting (or the context is ending) */
        if (n < CURVE_ZAP_PARTS)
            len[n] = r > CURVE_ZAP_PART_MAX ? CURVE_ZAP_PART_MAX : r;
        n++;
        if (zmq_getsockopt(c->zap, ZMQ_RCVMORE, &more, &more_size) != 0)
            more = 0;
    } while (more);
    /* [version][request_id][domain][address][identity][mechanism][credentials...] */
    bool        ok     = false;
    const char *reason = "malformed ZAP request";
    if (n >= 6 && len[0] == 3 && memcmp(part[0], "1.0", 3) == 0) {
        if (len[5] == 5 && memcmp(part[5], "CURVE", 5) == 0) {
            ok     = n >= 7 && len[6] == 32 && allowed(c, part[6]);
            reason = ok ? "OK" : "client key not allowed";
        } else {
            /* NULL mechanism: a socket without CURVE (ipc://), guarded by the file system */
            ok     = len[5] == 4 && memcmp(part[5], "NULL", 4) == 0;
            reason = ok ? "OK" : "mechanism not allowed";
        }
    }
    if (ok)
        srv->curve_admitted++;
    else {
        srv->curve_refused++;
        int64_t now = qp_clock_ns();
        if (now < c->log_next_ns) {
            c->log_suppressed++;
        } else {
            char addr[64] = "?";
            if (n >= 4)
                snprintf(addr, sizeof addr, "%.*s", len[3] < 63 ? len[3] : 63,
                         (const char *)part[3]);
            qp_srv_log(QP_LOG_WARN, "CURVE: refused a client from %s: %s (%llu more held back)",
                       addr, reason, (unsigned long long)c->log_suppressed);
            c->log_suppressed = 0;
            c->log_next_ns    = now + 1000000000;
        }
    }
    const char *status = ok ? "200" : "400";
    zmq_send(c->zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(c->zap, n >= 2 ? part[1] : (const uint8_t *)"", n >= 2 ? (size_t)len[1] : 0,
             ZMQ_SNDMORE);
    zmq_send(c->zap, status, 3, ZMQ_SNDMORE);
    zmq_send(c->zap, reason, strlen(reason), ZMQ_SNDMORE);
    zmq_send(c->zap, "", 0, ZMQ_SNDMORE); /* user id */
    zmq_send(c->zap, "", 0, 0);           /* metadata */
    return true;
}

void qp_srv_curve_serve(struct qp_srv *srv)
{
    if (!srv->curve)
        return;
    for (int i = 0; i < 64 && serve_one(srv); i++)
        ;
}
