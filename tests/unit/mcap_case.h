// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * mcap_case.h - what the MCAP suites share: a temporary directory, a
 * recording made from message numbers (message i's channel, times and bytes
 * are functions of i, so any reader's output can be checked exactly), whole
 * files in and out, and a byte builder for hand-made records. Include it
 * after defining _POSIX_C_SOURCE 200809L (mkdtemp).
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clients/mcap/mcap.h"
#include "clients/mcap/mcap_int.h"
#include "qp_test.h"

static char mc_tmpdir[1024];

static inline int mc_suite_init(void)
{
    const char *base = getenv("QP_BINARY_DIR");
    snprintf(mc_tmpdir, sizeof mc_tmpdir, "%s/test_mcap.XXXXXX", base && *base ? base : ".");
    return mkdtemp(mc_tmpdir) ? 0 : -1;
}

/* Remove the directory and the files the suite left in it. */
static inline int mc_suite_clean(void)
{
    DIR *d = opendir(mc_tmpdir);
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));) {
        char p[2048];
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(p, sizeof p, "%s/%s", mc_tmpdir, e->d_name);
            unlink(p);
        }
    }
    closedir(d);
    return rmdir(mc_tmpdir) == 0 ? 0 : -1;
}

static inline const char *mc_path(const char *name, char *buf, size_t n)
{
    QP_ASSERT(snprintf(buf, n, "%s/%s", mc_tmpdir, name) < (int)n);
    return buf;
}

/* ===== The recording of message numbers ===== */

#define MC_N_CHANNELS 3
#define MC_MAX_PAYLOAD 4000

static const uint8_t           mc_fds[]  = {0x0a, 0x10, 'q', 'p', 'e', 'r', 'c', 'e',  'p',
                                            't',  '.',  'p', 'r', 'o', 't', 'o', 0x12, 0x00};
static const struct qp_mcap_kv mc_meta[] = {{"camera", "front"}, {"rate_hz", "30"}};

/* Message i: payload bytes, partly compressible; small: at most 59 bytes. */
static inline size_t mc_payload(uint32_t i, bool small, uint8_t *buf)
{
    size_t n = small ? (i * 13u) % 60 : (i * 37u) % 300 + (i % 97 == 0 ? 3000 : 0);
    for (size_t k = 0; k < n; k++) {
        uint32_t x = (i * 2654435761u) ^ (uint32_t)(k * 40503u);
        buf[k]     = k % 16 < 8 ? (uint8_t)('a' + i % 26) : (uint8_t)(x >> 13);
    }
    return n;
}

static inline void mc_message(uint32_t i, bool small, uint8_t *buf, struct qp_mcap_message *m)
{
    m->channel_id      = (uint16_t)(1 + i % MC_N_CHANNELS);
    m->sequence        = i;
    m->log_time_ns     = 1000000u + (uint64_t)i * 1000u - (i % 7 == 3 ? 1500u : 0u);
    m->publish_time_ns = m->log_time_ns + 17;
    m->len             = mc_payload(i, small, buf);
    m->data            = buf;
}

/* Whether m is message i exactly. */
static inline bool mc_is_message(uint32_t i, bool small, const struct qp_mcap_message *m)
{
    static uint8_t         buf[MC_MAX_PAYLOAD];
    struct qp_mcap_message e;
    mc_message(i, small, buf, &e);
    bool ok = m->channel_id == e.channel_id && m->sequence == e.sequence &&
              m->log_time_ns == e.log_time_ns && m->publish_time_ns == e.publish_time_ns &&
              m->len == e.len && (e.len == 0 || memcmp(m->data, e.data, e.len) == 0);
    if (!ok)
        fprintf(stderr, "message %u differs (channel %u seq %u len %zu)\n", i, m->channel_id,
                m->sequence, m->len);
    return ok;
}

/* Two schemas, three channels (the first with metadata, the last schemaless),
 * n messages. */
static inline enum qp_status mc_write_to(struct qp_mcap_writer *w, uint32_t n, bool small)
{
    struct qp_err  err;
    uint16_t       s1, s2, c;
    enum qp_status s = qp_mcap_writer_add_schema(w, "qpercept.v1.Frame", "protobuf", mc_fds,
                                                 sizeof mc_fds, &s1, &err);
    if (s == QP_OK)
        s = qp_mcap_writer_add_schema(w, "qpercept.v1.Detections", "protobuf", mc_fds,
                                      sizeof mc_fds - 2, &s2, &err);
    if (s == QP_OK)
        s = qp_mcap_writer_add_channel(w, "/cam_front/frame", "protobuf", s1, mc_meta, 2, &c, &err);
    if (s == QP_OK)
        s = qp_mcap_writer_add_channel(w, "/cam_front/detections", "protobuf", s2, NULL, 0, &c,
                                       &err);
    if (s == QP_OK)
        s = qp_mcap_writer_add_channel(w, "/log", "json", 0, NULL, 0, &c, &err);
    static uint8_t buf[MC_MAX_PAYLOAD];
    for (uint32_t i = 0; i < n && s == QP_OK; i++) {
        struct qp_mcap_message m;
        mc_message(i, small, buf, &m);
        s = qp_mcap_writer_write(w, &m, &err);
    }
    if (s != QP_OK && s != QP_E_NOMEM)
        fprintf(stderr, "mc_write_to: %s\n", err.msg);
    return s;
}

static inline enum qp_status mc_write(const char *path, enum qp_mcap_compression c,
                                      size_t chunk_bytes, uint32_t n, bool small,
                                      struct qp_mcap_writer_stats *st)
{
    struct qp_mcap_writer_opts o = QP_MCAP_WRITER_OPTS_DEFAULT;
    o.compression                = c;
    o.chunk_bytes                = chunk_bytes;
    o.profile                    = "x-qpercept";
    struct qp_mcap_writer *w;
    struct qp_err          err;
    enum qp_status         s = qp_mcap_writer_open(path, &o, &w, &err);
    if (s != QP_OK)
        return s;
    s = mc_write_to(w, n, small);
    if (s == QP_OK && st)
        s = qp_mcap_writer_flush(w, &err); /* what close does first: stats then count all */
    if (st)
        qp_mcap_writer_stats(w, st);
    if (s != QP_OK) {
        qp_mcap_writer_free(w);
        return s;
    }
    return qp_mcap_writer_close(w, &err);
}

/* Read every message and check message k is number k; returns the count
 * read (stops at the first error), *errors counts QP_E_FORMAT returns. */
static inline uint32_t mc_read_all(struct qp_mcap_reader *r, bool small, uint32_t *errors)
{
    uint32_t k = 0, n_err = 0;
    for (int guard = 0; guard < 1000000; guard++) {
        struct qp_mcap_message m;
        bool                   got;
        struct qp_err          err;
        enum qp_status         s = qp_mcap_reader_next(r, &m, &got, &err);
        if (s != QP_OK) {
            n_err++;
            if (n_err > 1000)
                break;
            continue;
        }
        if (!got)
            break;
        CU_ASSERT(mc_is_message(k, small, &m));
        k++;
    }
    if (errors)
        *errors = n_err;
    return k;
}

/* ===== Files ===== */

static inline uint8_t *mc_file_read(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long     len = ftell(f);
    uint8_t *p   = malloc(len > 0 ? (size_t)len : 1);
    fseek(f, 0, SEEK_SET);
    *n = fread(p, 1, (size_t)len, f);
    fclose(f);
    return p;
}

static inline bool mc_file_write(const char *path, const void *p, size_t n)
{
    unlink(path); /* a fresh file: ext4 flushes a file truncated and rewritten on close */
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* ===== Building records by hand ===== */

struct mc_buf {
    uint8_t p[1 << 16];
    size_t  n;
};

static inline void mc_put(struct mc_buf *b, const void *p, size_t n)
{
    QP_ASSERT(b->n + n <= sizeof b->p);
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static inline void mc_u8(struct mc_buf *b, uint8_t v)
{
    mc_put(b, &v, 1);
}

static inline void mc_u16(struct mc_buf *b, uint16_t v)
{
    uint8_t t[2];
    qp_mcap_put_u16(t, v);
    mc_put(b, t, 2);
}

static inline void mc_u32(struct mc_buf *b, uint32_t v)
{
    uint8_t t[4];
    qp_mcap_put_u32(t, v);
    mc_put(b, t, 4);
}

static inline void mc_u64(struct mc_buf *b, uint64_t v)
{
    uint8_t t[8];
    qp_mcap_put_u64(t, v);
    mc_put(b, t, 8);
}

static inline void mc_str(struct mc_buf *b, const char *s)
{
    mc_u32(b, (uint32_t)strlen(s));
    mc_put(b, s, strlen(s));
}

/* Start a record; mc_end patches its length. */
static inline size_t mc_begin(struct mc_buf *b, uint8_t op)
{
    size_t at = b->n;
    mc_u8(b, op);
    mc_u64(b, 0);
    return at;
}

static inline void mc_end(struct mc_buf *b, size_t at)
{
    qp_mcap_put_u64(b->p + at + 1, b->n - at - QP_MCAP_RECORD_HEAD);
}
