// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_record.c - `qpercept record --endpoint DETECTIONS_ENDPOINT -o FILE.mcap
 * [--stream NAME ...] [--compression zstd|lz4|none] [--duration S]
 * [--count N] [--flush-ms MS] [--curve-server-key FILE --curve-secret-key
 * FILE]`: record qperceptd's Detections into an MCAP file (clients/mcap).
 *
 * Each stream gets a channel on its first message: topic
 * "/qpercept/detections/<stream>", message encoding protobuf, schema
 * qpercept.v1.Detections with the wire schema's FileDescriptorSet (built by
 * protoc at build time and embedded: generated qpercept_fds.c), metadata
 * stream = NAME. Each message is stored as the exact bytes the server sent
 * (qp_sub_last_payload), log time = when it was received, publish time =
 * the server's published stamp, sequence = the frame's seq (low 32 bits).
 * The open chunk is written out every --flush-ms (default 1000) so a crash
 * loses at most that much; SIGINT / SIGTERM (Ctrl-C), --duration or
 * --count end the recording with a complete file (summary, indexes).
 *
 * Exit status: 0 recorded (even nothing: the file is then valid and
 * empty), 1 a socket or the file failed, 2 usage.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "clients/mcap/mcap.h"
#include "qpercept/client.h"

extern const unsigned char qp_proto_fds[];
extern const unsigned long qp_proto_fds_len;

#define RECORD_MAX_STREAMS QP_SUB_MAX_STREAMS

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct args {
    const char              *endpoint, *out;
    const char              *streams[RECORD_MAX_STREAMS];
    int                      n_streams;
    enum qp_mcap_compression compression;
    double                   duration_s;
    long                     count, flush_ms;
    char                     server_key[41], secret_key[41];
    bool                     has_server, has_secret;
};

static int usage(const char *why)
{
    fprintf(
        stderr,
        "qpercept record: %s\n"
        "usage: qpercept record --endpoint DETECTIONS_ENDPOINT -o FILE.mcap [--stream NAME ...]\n"
        "         [--compression zstd|lz4|none] [--duration S] [--count N] [--flush-ms MS]\n"
        "         [--curve-server-key FILE --curve-secret-key FILE]\n",
        why);
    return 2;
}

static int parse(int argc, char **argv, struct args *a)
{
    static const struct {
        const char              *name;
        enum qp_mcap_compression c;
    } comp[]       = {{"zstd", QP_MCAP_COMPRESSION_ZSTD},
                      {"lz4", QP_MCAP_COMPRESSION_LZ4},
                      {"none", QP_MCAP_COMPRESSION_NONE}};
    a->compression = QP_MCAP_COMPRESSION_ZSTD;
    a->flush_ms    = 1000;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = qp_cli_value(argc, argv, &i);
        if (!v)
            return 2;
        bool ok = true;
        if (strcmp(o, "--endpoint") == 0)
            a->endpoint = v;
        else if (strcmp(o, "-o") == 0 || strcmp(o, "--out") == 0)
            a->out = v;
        else if (strcmp(o, "--stream") == 0 && a->n_streams < RECORD_MAX_STREAMS)
            a->streams[a->n_streams++] = v;
        else if (strcmp(o, "--duration") == 0)
            ok = qp_cli_parse_float(v, 1e-3, 1e7, &a->duration_s);
        else if (strcmp(o, "--count") == 0)
            ok = qp_cli_parse_int(v, 1, 1000000000, &a->count);
        else if (strcmp(o, "--flush-ms") == 0)
            ok = qp_cli_parse_int(v, 10, 3600000, &a->flush_ms);
        else if (strcmp(o, "--curve-server-key") == 0)
            ok = a->has_server = qp_cli_read_key("record", o, v, a->server_key);
        else if (strcmp(o, "--curve-secret-key") == 0)
            ok = a->has_secret = qp_cli_read_key("record", o, v, a->secret_key);
        else if (strcmp(o, "--compression") == 0) {
            ok = false;
            for (size_t k = 0; k < sizeof comp / sizeof comp[0]; k++)
                if (strcmp(v, comp[k].name) == 0) {
                    a->compression = comp[k].c;
                    ok             = true;
                }
        } else {
            fprintf(stderr, "qpercept record: unexpected argument '%s'\n", o);
            return usage("see above");
        }
        if (!ok) {
            fprintf(stderr, "qpercept record: %s %s: not a valid value\n", o, v);
            return 2;
        }
    }
    if (!a->endpoint || !a->out)
        return usage("give --endpoint and -o FILE.mcap");
    if (a->has_server != a->has_secret)
        return usage("CURVE needs both --curve-server-key and --curve-secret-key");
    return 0;
}

/* The channel of stream name, added on its first message. */
struct channels {
    int      n;
    char     name[RECORD_MAX_STREAMS][QP_CLIENT_STREAM_MAX];
    uint16_t id[RECORD_MAX_STREAMS];
};

static enum qp_status channel_of(struct qp_mcap_writer *w, uint16_t schema, struct channels *c,
                                 const char *stream, uint16_t *id, struct qp_err *err)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->name[i], stream) == 0) {
            *id = c->id[i];
            return QP_OK;
        }
    if (c->n == RECORD_MAX_STREAMS)
        return qp_fail(err, QP_E_INVAL, "more than %d streams (at '%s')", RECORD_MAX_STREAMS,
                       stream);
    char                    topic[QP_CLIENT_STREAM_MAX + 32];
    const struct qp_mcap_kv meta[] = {{"stream", stream}};
    snprintf(topic, sizeof topic, "/qpercept/detections/%s", stream);
    enum qp_status st = qp_mcap_writer_add_channel(w, topic, "protobuf", schema, meta, 1, id, err);
    if (st == QP_OK) {
        snprintf(c->name[c->n], sizeof c->name[0], "%s", stream);
        c->id[c->n++] = *id;
    }
    return st;
}

static enum qp_status record(const struct args *a, struct qp_sub *sub, struct qp_mcap_writer *w,
                             uint64_t *n, struct qp_err *err)
{
    static struct qp_detections_in msg; /* large: not on the stack */
    static struct channels         ch;
    uint16_t                       schema = 0;
    enum qp_status st    = qp_mcap_writer_add_schema(w, "qpercept.v1.Detections", "protobuf",
                                                     qp_proto_fds, qp_proto_fds_len, &schema, err);
    int64_t        start = mono_ms(), next_flush = start + a->flush_ms;
    while (st == QP_OK && !stop && (!a->count || (long)*n < a->count) &&
           (a->duration_s <= 0 || (double)(mono_ms() - start) < a->duration_s * 1000)) {
        st = qp_sub_recv(sub, &msg, 100, err);
        if (st == QP_E_AGAIN || st == QP_E_FORMAT) { /* nothing yet / one bad message: go on */
            st = QP_OK;
        } else if (st == QP_OK) {
            const void *data;
            size_t      len;
            uint16_t    id;
            qp_sub_last_payload(sub, &data, &len);
            st                       = channel_of(w, schema, &ch, msg.header.stream, &id, err);
            struct qp_mcap_message m = {
                .channel_id      = id,
                .sequence        = (uint32_t)msg.header.seq,
                .log_time_ns     = real_ns(),
                .publish_time_ns = msg.stamps.published_ns,
                .data            = data,
                .len             = len,
            };
            if (st == QP_OK)
                st = qp_mcap_writer_write(w, &m, err);
            *n += st == QP_OK;
        }
        if (st == QP_OK && mono_ms() >= next_flush) {
            st         = qp_mcap_writer_flush(w, err);
            next_flush = mono_ms() + a->flush_ms;
        }
    }
    return st;
}

int qp_cli_record(int argc, char **argv)
{
    struct args a  = {0};
    int         rc = parse(argc, argv, &a);
    if (rc)
        return rc;
    struct qp_sub_opts         so  = QP_SUB_OPTS_DEFAULT;
    struct qp_mcap_writer_opts wo  = QP_MCAP_WRITER_OPTS_DEFAULT;
    struct qp_sub             *sub = NULL;
    struct qp_mcap_writer     *w   = NULL;
    struct qp_err              err = {{0}};
    uint64_t                   n   = 0;
    so.endpoint                    = a.endpoint;
    so.streams                     = a.n_streams ? a.streams : NULL;
    so.n_streams                   = a.n_streams;
    so.recv_hwm                    = 10000; /* a recorder must not lose messages to a hiccup */
    so.curve_server_key            = a.has_server ? a.server_key : NULL;
    so.curve_secret_key            = a.has_secret ? a.secret_key : NULL;
    wo.profile                     = "x-qpercept";
    wo.compression                 = a.compression;
    wo.max_message_bytes           = (size_t)1 << 20; /* a Detections is at most ~30 KB */
    enum qp_status st              = qp_sub_new(&so, &sub, &err);
    if (st == QP_OK)
        st = qp_mcap_writer_open(a.out, &wo, &w, &err);
    if (st == QP_OK) {
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        st = record(&a, sub, w, &n, &err);
    }
    if (w) {
        struct qp_err cerr = {{0}};
        if (qp_mcap_writer_close(w, &cerr) != QP_OK && st == QP_OK) {
            st  = QP_E_IO;
            err = cerr;
        }
    }
    struct qp_sub_stats ss = {0};
    if (sub)
        qp_sub_stats(sub, &ss);
    qp_sub_free(sub);
    if (st != QP_OK) {
        fprintf(stderr, "qpercept record: %s\n", err.msg);
        return 1;
    }
    fprintf(stderr,
            "qpercept record: %s: %llu Detections (%llu gaps, %llu seqs missing, %llu malformed)\n",
            a.out, (unsigned long long)n, (unsigned long long)ss.n_gaps,
            (unsigned long long)ss.n_missing, (unsigned long long)ss.n_malformed);
    return 0;
}
