// SPDX-License-Identifier: Apache-2.0
/*
 * mcap_write.c - the MCAP writer (mcap.h, qp_mcap_writer): a recording as
 * chunks written as they fill, then a summary on close.
 *
 * Layout written: <magic><Header>, Schema / Channel records outside chunks
 * as they are added (so they reach the file at once and no damaged chunk can
 * take a definition with it), Chunks of Message records each followed by
 * its Message Index records, and on close <Data End><Schemas><Channels>
 * <Statistics><Chunk Indexes><Summary Offsets><Footer><magic>.
 *
 * Buffers (all from qp_mcap_writer_open): the chunk buffer holds the open
 * chunk's records uncompressed and is chunk_bytes + one largest Message
 * record, so a message always fits once a full chunk has been written; the
 * compression buffer holds one compressed chunk; a 64 KiB output buffer
 * gathers small records. Message indexes are not kept per message: when a
 * chunk closes, one pass over its records writes them into the index buffer
 * (per-channel counts give each channel's record position in advance).
 *
 * Durability: bytes reach the file (write(2)) at "commit" points only: after
 * the Header, after each schema / channel, after each chunk with its
 * indexes, at close. A write that fails (ENOSPC, EFBIG, EIO) makes the
 * writer fail for good and cuts the file back to the last commit point, so
 * what is in the file is always a readable (truncated) recording.
 *
 * CRCs: each chunk's uncompressed records; the data section (magic up to
 * Data End, as the official writers count it); the summary (summary section
 * start through the Footer's summary_offset_start field).
 */
#define _POSIX_C_SOURCE 200809L
#include "clients/mcap/mcap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clients/mcap/mcap_int.h"
#include "core/alloc.h"

#define OUT_CAP ((size_t)64 << 10)
#define MIN_CHUNK_BYTES ((size_t)4 << 10)
#define MAX_CHUNK_BYTES ((size_t)1 << 30)
#define MESSAGE_RECORD(len) (QP_MCAP_RECORD_HEAD + QP_MCAP_MESSAGE_HEAD + (len))
#define INDEX_RECORD(n) (QP_MCAP_RECORD_HEAD + 2 + 4 + 16 * (size_t)(n))

/* Which CRC the bytes being emitted count towards. */
enum phase {
    PHASE_DATA,    /* magic .. last record before Data End */
    PHASE_SUMMARY, /* summary and summary offset sections, Footer prefix */
    PHASE_NONE,    /* Data End, the rest of the Footer, closing magic */
};

struct wdef { /* a serialized Schema or Channel record, repeated in the summary */
    uint8_t *rec;
    size_t   len;
};

struct wchan {
    struct wdef def;
    uint64_t    n_messages; /* in the file */
    uint32_t    n_in_chunk; /* in the open chunk */
    size_t      icur;       /* while indexing a chunk: next entry in the index buffer */
    size_t      irec;       /* while indexing a chunk: its Message Index record's start */
};

struct qp_mcap_writer {
    int                      fd;
    char                    *path;
    enum qp_mcap_compression compression;
    struct qp_mcap_codec    *codec;
    size_t                   chunk_target, max_message;

    uint8_t   *out; /* OUT_CAP bytes not yet written */
    size_t     out_len;
    uint64_t   written;  /* bytes written to fd; the logical offset is written + out_len */
    uint64_t   good_off; /* last commit point */
    uint32_t   data_crc, summary_crc;
    enum phase phase;

    uint8_t *chunk; /* the open chunk's records */
    size_t   chunk_len, chunk_cap;
    uint64_t chunk_start_ns, chunk_end_ns;
    uint32_t chunk_n;
    uint8_t *zbuf; /* one compressed chunk */
    size_t   zcap;
    uint8_t *ibuf; /* one chunk's Message Index records */
    size_t   icap;

    struct wdef  *schemas;
    size_t        n_schemas, schemas_cap;
    struct wchan *chans;
    size_t        n_chans, chans_cap;

    uint8_t *cidx; /* serialized Chunk Index records */
    size_t   cidx_len, cidx_cap;

    uint64_t n_messages, start_ns, end_ns, n_chunks;

    enum qp_status failed; /* QP_OK, or the sticky QP_E_IO */
    char           failed_msg[sizeof(struct qp_err)];
};

static uint64_t offset(const struct qp_mcap_writer *w)
{
    return w->written + w->out_len;
}

/* ===== Output ===== */

static enum qp_status fail_io(struct qp_mcap_writer *w, size_t n, int e, struct qp_err *err)
{
    snprintf(w->failed_msg, sizeof w->failed_msg,
             "%s: write of %zu bytes at offset %llu failed: %s; the file keeps its first %llu "
             "bytes (complete chunks)",
             w->path, n, (unsigned long long)w->written, strerror(e),
             (unsigned long long)w->good_off);
    w->failed = QP_E_IO;
    if (ftruncate(w->fd, (off_t)w->good_off) != 0) {
        /* best effort: a partial record at the end reads as a truncated one anyway */
    }
    return qp_fail(err, QP_E_IO, "%s", w->failed_msg);
}

static enum qp_status check_failed(const struct qp_mcap_writer *w, struct qp_err *err)
{
    return w->failed ? qp_fail(err, w->failed, "%s (failed earlier)", w->failed_msg) : QP_OK;
}

static enum qp_status write_all(struct qp_mcap_writer *w, const uint8_t *p, size_t n,
                                struct qp_err *err)
{
    while (n) {
        ssize_t r = write(w->fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return fail_io(w, n, r < 0 ? errno : ENOSPC, err);
        p += r;
        n -= (size_t)r;
        w->written += (uint64_t)r;
    }
    return QP_OK;
}

static enum qp_status flush_out(struct qp_mcap_writer *w, struct qp_err *err)
{
    enum qp_status s = write_all(w, w->out, w->out_len, err);
    w->out_len       = 0;
    return s;
}

/* Bytes of a record in order; small pieces gather in the output buffer. */
static enum qp_status emit(struct qp_mcap_writer *w, const void *p, size_t n, struct qp_err *err)
{
    if (w->phase == PHASE_DATA)
        w->data_crc = qp_mcap_crc32(w->data_crc, p, n);
    else if (w->phase == PHASE_SUMMARY)
        w->summary_crc = qp_mcap_crc32(w->summary_crc, p, n);
    if (n > OUT_CAP - w->out_len) {
        enum qp_status s = flush_out(w, err);
        if (s != QP_OK)
            return s;
        if (n > OUT_CAP)
            return write_all(w, p, n, err);
    }
    memcpy(w->out + w->out_len, p, n);
    w->out_len += n;
    return QP_OK;
}

/* Everything emitted so far reaches the file and is a complete recording prefix. */
static enum qp_status commit(struct qp_mcap_writer *w, struct qp_err *err)
{
    enum qp_status s = flush_out(w, err);
    if (s == QP_OK)
        w->good_off = w->written;
    return s;
}

/* ===== Chunks ===== */

/* One pass over the chunk's Message records fills each channel's Message
 * Index record; their positions come from the per-channel counts. */
static enum qp_status build_indexes(struct qp_mcap_writer *w, size_t *total, struct qp_err *err)
{
    size_t need = 0;
    for (size_t c = 0; c < w->n_chans; c++)
        if (w->chans[c].n_in_chunk)
            need += INDEX_RECORD(w->chans[c].n_in_chunk);
    enum qp_status s = qp_mcap_grow((void **)&w->ibuf, &w->icap, need, 1, err);
    if (s != QP_OK)
        return s;
    size_t at = 0;
    for (size_t c = 0; c < w->n_chans; c++) {
        struct wchan *ch = &w->chans[c];
        if (!ch->n_in_chunk)
            continue;
        uint64_t len = INDEX_RECORD(ch->n_in_chunk) - QP_MCAP_RECORD_HEAD;
        uint8_t *p   = qp_mcap_put_head(w->ibuf + at, QP_MCAP_OP_MESSAGE_INDEX, len);
        p            = qp_mcap_put_u16(p, (uint16_t)(c + 1));
        p            = qp_mcap_put_u32(p, 16 * ch->n_in_chunk);
        ch->irec     = at;
        ch->icur     = (size_t)(p - w->ibuf);
        at += INDEX_RECORD(ch->n_in_chunk);
    }
    for (size_t pos = 0; pos < w->chunk_len;) {
        const uint8_t *r   = w->chunk + pos;
        uint64_t       len = qp_mcap_get_u64(r + 1);
        QP_ASSERT(r[0] == QP_MCAP_OP_MESSAGE);
        struct wchan *ch = &w->chans[qp_mcap_get_u16(r + QP_MCAP_RECORD_HEAD) - 1];
        uint8_t      *e  = w->ibuf + ch->icur;
        e                = qp_mcap_put_u64(e, qp_mcap_get_u64(r + QP_MCAP_RECORD_HEAD + 6));
        qp_mcap_put_u64(e, pos);
        ch->icur += 16;
        pos += QP_MCAP_RECORD_HEAD + (size_t)len;
    }
    *total = at;
    return QP_OK;
}

/* Channels with messages in the open chunk. */
static size_t n_indexed(const struct qp_mcap_writer *w)
{
    size_t n = 0;
    for (size_t c = 0; c < w->n_chans; c++)
        n += w->chans[c].n_in_chunk != 0;
    return n;
}

/* Bytes of the open chunk's Chunk Index record. */
static size_t chunk_index_len(const struct qp_mcap_writer *w)
{
    return QP_MCAP_RECORD_HEAD + 8 * 4 + 4 + 10 * n_indexed(w) + 8 + 4 +
           strlen(qp_mcap_compression_name(w->compression)) + 8 + 8;
}

/* Append the chunk's Chunk Index record to the summary table (room made by
 * the caller before anything of the chunk was written). */
static void add_chunk_index(struct qp_mcap_writer *w, uint64_t chunk_off, uint64_t chunk_len,
                            uint64_t index_off, size_t index_len, size_t zlen)
{
    size_t len = chunk_index_len(w);
    QP_ASSERT(w->cidx_len + len <= w->cidx_cap);
    uint8_t *p = w->cidx + w->cidx_len;
    p          = qp_mcap_put_head(p, QP_MCAP_OP_CHUNK_INDEX, len - QP_MCAP_RECORD_HEAD);
    p          = qp_mcap_put_u64(p, w->chunk_start_ns);
    p          = qp_mcap_put_u64(p, w->chunk_end_ns);
    p          = qp_mcap_put_u64(p, chunk_off);
    p          = qp_mcap_put_u64(p, chunk_len);
    p          = qp_mcap_put_u32(p, (uint32_t)(10 * n_indexed(w)));
    for (size_t c = 0; c < w->n_chans; c++) {
        if (w->chans[c].n_in_chunk) {
            p = qp_mcap_put_u16(p, (uint16_t)(c + 1));
            p = qp_mcap_put_u64(p, index_off + w->chans[c].irec);
        }
    }
    p = qp_mcap_put_u64(p, index_len);
    p = qp_mcap_put_str(p, qp_mcap_compression_name(w->compression));
    p = qp_mcap_put_u64(p, zlen);
    p = qp_mcap_put_u64(p, w->chunk_len);
    QP_ASSERT((size_t)(p - (w->cidx + w->cidx_len)) == len);
    w->cidx_len += len;
}

/* Compress and write the open chunk, its Message Indexes, and commit. */
static enum qp_status write_chunk(struct qp_mcap_writer *w, struct qp_err *err)
{
    if (w->chunk_n == 0)
        return QP_OK;
    uint32_t       crc  = qp_mcap_crc32(0, w->chunk, w->chunk_len);
    const uint8_t *body = w->chunk;
    size_t         blen = w->chunk_len;
    enum qp_status s    = QP_OK;
    if (w->compression != QP_MCAP_COMPRESSION_NONE) {
        s = qp_mcap_codec_compress(w->codec, w->zbuf, w->zcap, w->chunk, w->chunk_len, &blen, err);
        body = w->zbuf;
        if (s != QP_OK)
            qp_err_prefix(err, "%s", w->path);
    }
    size_t index_len = 0; /* everything that allocates comes before the first byte out */
    if (s == QP_OK)
        s = build_indexes(w, &index_len, err);
    if (s == QP_OK)
        s = qp_mcap_grow((void **)&w->cidx, &w->cidx_cap, w->cidx_len + chunk_index_len(w), 1, err);
    if (s != QP_OK)
        return s;

    const char *comp = qp_mcap_compression_name(w->compression);
    uint8_t     head[64];
    uint8_t *p = qp_mcap_put_head(head, QP_MCAP_OP_CHUNK, 8 * 3 + 4 + 4 + strlen(comp) + 8 + blen);
    p          = qp_mcap_put_u64(p, w->chunk_start_ns);
    p          = qp_mcap_put_u64(p, w->chunk_end_ns);
    p          = qp_mcap_put_u64(p, w->chunk_len);
    p          = qp_mcap_put_u32(p, crc);
    p          = qp_mcap_put_str(p, comp);
    p          = qp_mcap_put_u64(p, blen);
    uint64_t chunk_off = offset(w);
    if ((s = emit(w, head, (size_t)(p - head), err)) != QP_OK ||
        (s = emit(w, body, blen, err)) != QP_OK)
        return s;
    uint64_t chunk_len = offset(w) - chunk_off, index_off = offset(w);
    if ((s = emit(w, w->ibuf, index_len, err)) != QP_OK || (s = commit(w, err)) != QP_OK)
        return s;
    add_chunk_index(w, chunk_off, chunk_len, index_off, index_len, blen);
    w->n_chunks++;
    w->chunk_len = 0;
    w->chunk_n   = 0;
    for (size_t c = 0; c < w->n_chans; c++)
        w->chans[c].n_in_chunk = 0;
    return QP_OK;
}

/* write_chunk, and any failure of it fails the writer for good: the chunk
 * buffer stays full, so nothing more could be appended. */
static enum qp_status finish_chunk(struct qp_mcap_writer *w, struct qp_err *err)
{
    struct qp_err  e = {{0}};
    enum qp_status s = write_chunk(w, &e);
    if (s == QP_OK)
        return QP_OK;
    if (!w->failed) {
        w->failed = s;
        snprintf(w->failed_msg, sizeof w->failed_msg, "%s", e.msg);
    }
    return qp_fail(err, s, "%s", e.msg);
}

/* ===== Open ===== */

static enum qp_status validate_opts(const char *path, const struct qp_mcap_writer_opts *o,
                                    struct qp_err *err)
{
    if (!path || !*path || !o)
        return qp_fail(err, QP_E_INVAL, "mcap writer: a path and options are required");
    if ((unsigned)o->compression >= QP_MCAP_COMPRESSION_COUNT)
        return qp_fail(err, QP_E_INVAL, "%s: unknown compression %d", path, (int)o->compression);
    if (o->chunk_bytes < MIN_CHUNK_BYTES || o->chunk_bytes > MAX_CHUNK_BYTES)
        return qp_fail(err, QP_E_INVAL, "%s: chunk_bytes %zu is outside [%zu, %zu]", path,
                       o->chunk_bytes, MIN_CHUNK_BYTES, MAX_CHUNK_BYTES);
    if (o->max_message_bytes < 1 || o->max_message_bytes > QP_MCAP_MAX_MESSAGE_BYTES)
        return qp_fail(err, QP_E_INVAL, "%s: max_message_bytes %zu is outside [1, %zu]", path,
                       o->max_message_bytes, QP_MCAP_MAX_MESSAGE_BYTES);
    if (o->zstd_level < 0 || o->zstd_level > 19)
        return qp_fail(err, QP_E_INVAL, "%s: zstd_level %d is outside [0, 19]", path,
                       o->zstd_level);
    return QP_OK;
}

static enum qp_status alloc_buffers(struct qp_mcap_writer *w, const struct qp_mcap_writer_opts *o,
                                    struct qp_err *err)
{
    w->chunk_target = o->chunk_bytes;
    w->max_message  = o->max_message_bytes;
    w->chunk_cap    = o->chunk_bytes + MESSAGE_RECORD(o->max_message_bytes);
    w->icap         = 16 * (o->chunk_bytes / MESSAGE_RECORD(0) + 2) + INDEX_RECORD(0) * 16;
    w->cidx_cap     = (size_t)64 << 10;
    enum qp_status s =
        qp_mcap_codec_new(o->compression, o->zstd_level ? o->zstd_level : 3, true, &w->codec, err);
    if (s != QP_OK)
        return s;
    w->out   = qp_alloc(OUT_CAP);
    w->chunk = qp_calloc(1, w->chunk_cap); /* zeroed: the compressor warms up on it below */
    w->ibuf  = qp_alloc(w->icap);
    w->cidx  = qp_alloc(w->cidx_cap);
    if (w->compression != QP_MCAP_COMPRESSION_NONE) {
        w->zcap = qp_mcap_codec_bound(w->codec, w->chunk_cap);
        w->zbuf = w->zcap ? qp_alloc(w->zcap) : NULL;
    }
    if (!w->out || !w->chunk || !w->ibuf || !w->cidx ||
        (w->compression != QP_MCAP_COMPRESSION_NONE && !w->zbuf))
        return qp_fail(err, QP_E_NOMEM,
                       "%s: out of memory for the writer's buffers (%zu + %zu bytes)", w->path,
                       w->chunk_cap, w->zcap);
    /* One full-size compression now sizes the library's work space, so the
     * first chunk allocates nothing and a shortage shows here. */
    size_t n;
    if (w->compression != QP_MCAP_COMPRESSION_NONE &&
        (s = qp_mcap_codec_compress(w->codec, w->zbuf, w->zcap, w->chunk, w->chunk_cap, &n, err)) !=
            QP_OK)
        qp_err_prefix(err, "%s", w->path);
    return s;
}

static enum qp_status write_header(struct qp_mcap_writer *w, const struct qp_mcap_writer_opts *o,
                                   struct qp_err *err)
{
    const char *profile = o->profile ? o->profile : "";
    const char *library = o->library ? o->library : "qpercept";
    size_t      len     = 4 + strlen(profile) + 4 + strlen(library);
    if (len > OUT_CAP - QP_MCAP_MAGIC_LEN - QP_MCAP_RECORD_HEAD)
        return qp_fail(err, QP_E_INVAL, "%s: profile and library strings too long (%zu bytes)",
                       w->path, len);
    uint8_t *p = w->out;
    memcpy(p, qp_mcap_magic, QP_MCAP_MAGIC_LEN);
    p           = qp_mcap_put_head(p + QP_MCAP_MAGIC_LEN, QP_MCAP_OP_HEADER, len);
    p           = qp_mcap_put_str(p, profile);
    p           = qp_mcap_put_str(p, library);
    w->out_len  = (size_t)(p - w->out);
    w->data_crc = qp_mcap_crc32(0, w->out, w->out_len);
    return commit(w, err);
}

enum qp_status qp_mcap_writer_open(const char *path, const struct qp_mcap_writer_opts *opts,
                                   struct qp_mcap_writer **out, struct qp_err *err)
{
    enum qp_status s = validate_opts(path, opts, err);
    if (s != QP_OK)
        return s;
    struct qp_mcap_writer *w = qp_calloc(1, sizeof *w);
    if (!w)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory for the writer", path);
    w->fd          = -1;
    w->compression = opts->compression;
    w->phase       = PHASE_DATA;
    w->path        = qp_strdup(path);
    if (!w->path) {
        s = qp_fail(err, QP_E_NOMEM, "%s: out of memory for the writer", path);
        goto out;
    }
    if ((s = alloc_buffers(w, opts, err)) != QP_OK)
        goto out;
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        s = qp_fail(err, QP_E_IO, "%s: cannot create: %s", path, strerror(errno));
        goto out;
    }
    s = write_header(w, opts, err);
out:
    if (s != QP_OK) {
        qp_mcap_writer_free(w);
        return s;
    }
    *out = w;
    return QP_OK;
}

/* ===== Definitions ===== */

static enum qp_status add_def(struct qp_mcap_writer *w, struct wdef *d, uint8_t *rec, size_t len,
                              struct qp_err *err)
{
    d->rec           = rec;
    d->len           = len;
    enum qp_status s = emit(w, rec, len, err);
    return s == QP_OK ? commit(w, err) : s;
}

enum qp_status qp_mcap_writer_add_schema(struct qp_mcap_writer *w, const char *name,
                                         const char *encoding, const void *data, size_t len,
                                         uint16_t *id, struct qp_err *err)
{
    enum qp_status s = check_failed(w, err);
    if (s != QP_OK)
        return s;
    if (!name || !encoding || (len && !data))
        return qp_fail(err, QP_E_INVAL, "%s: a schema needs a name, an encoding and its data",
                       w->path);
    if (w->n_schemas >= UINT16_MAX || len > UINT32_MAX - 64 || strlen(name) > UINT32_MAX / 4 ||
        strlen(encoding) > UINT32_MAX / 4)
        return qp_fail(err, QP_E_INVAL, "%s: schema '%s': too many schemas or too large", w->path,
                       name);
    if ((s = qp_mcap_grow((void **)&w->schemas, &w->schemas_cap, w->n_schemas + 1,
                          sizeof *w->schemas, err)) != QP_OK)
        return s;
    size_t   clen = 2 + 4 + strlen(name) + 4 + strlen(encoding) + 4 + len;
    uint8_t *rec  = qp_alloc(QP_MCAP_RECORD_HEAD + clen);
    if (!rec)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory for schema '%s' (%zu bytes)", w->path,
                       name, clen);
    uint16_t sid = (uint16_t)(w->n_schemas + 1);
    uint8_t *p   = qp_mcap_put_head(rec, QP_MCAP_OP_SCHEMA, clen);
    p            = qp_mcap_put_u16(p, sid);
    p            = qp_mcap_put_str(p, name);
    p            = qp_mcap_put_str(p, encoding);
    qp_mcap_put_lenbytes(p, data, len);
    w->n_schemas++;
    *id = sid;
    return add_def(w, &w->schemas[sid - 1], rec, QP_MCAP_RECORD_HEAD + clen, err);
}

enum qp_status qp_mcap_writer_add_channel(struct qp_mcap_writer *w, const char *topic,
                                          const char *message_encoding, uint16_t schema_id,
                                          const struct qp_mcap_kv *metadata, size_t n_metadata,
                                          uint16_t *id, struct qp_err *err)
{
    enum qp_status s = check_failed(w, err);
    if (s != QP_OK)
        return s;
    if (!topic || !message_encoding || (n_metadata && !metadata))
        return qp_fail(err, QP_E_INVAL, "%s: a channel needs a topic and a message encoding",
                       w->path);
    if (schema_id > w->n_schemas)
        return qp_fail(err, QP_E_INVAL, "%s: channel '%s': unknown schema %u (%zu added)", w->path,
                       topic, schema_id, w->n_schemas);
    if (w->n_chans >= UINT16_MAX)
        return qp_fail(err, QP_E_INVAL, "%s: channel '%s': 65535 channels already", w->path, topic);
    size_t map = 0;
    for (size_t i = 0; i < n_metadata; i++) {
        if (!metadata[i].key || !metadata[i].value)
            return qp_fail(err, QP_E_INVAL, "%s: channel '%s': metadata %zu has a NULL string",
                           w->path, topic, i);
        map += 8 + strlen(metadata[i].key) + strlen(metadata[i].value);
        if (map > UINT32_MAX / 2)
            return qp_fail(err, QP_E_INVAL, "%s: channel '%s': metadata too large", w->path, topic);
    }
    if (strlen(topic) > UINT32_MAX / 4 || strlen(message_encoding) > UINT32_MAX / 4)
        return qp_fail(err, QP_E_INVAL, "%s: channel topic or encoding too long", w->path);
    if ((s = qp_mcap_grow((void **)&w->chans, &w->chans_cap, w->n_chans + 1, sizeof *w->chans,
                          err)) != QP_OK)
        return s;
    size_t   clen = 2 + 2 + 4 + strlen(topic) + 4 + strlen(message_encoding) + 4 + map;
    uint8_t *rec  = qp_alloc(QP_MCAP_RECORD_HEAD + clen);
    if (!rec)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory for channel '%s'", w->path, topic);
    uint16_t cid = (uint16_t)(w->n_chans + 1);
    uint8_t *p   = qp_mcap_put_head(rec, QP_MCAP_OP_CHANNEL, clen);
    p            = qp_mcap_put_u16(p, cid);
    p            = qp_mcap_put_u16(p, schema_id);
    p            = qp_mcap_put_str(p, topic);
    p            = qp_mcap_put_str(p, message_encoding);
    p            = qp_mcap_put_u32(p, (uint32_t)map);
    for (size_t i = 0; i < n_metadata; i++) {
        p = qp_mcap_put_str(p, metadata[i].key);
        p = qp_mcap_put_str(p, metadata[i].value);
    }
    struct wchan *ch = &w->chans[cid - 1];
    memset(ch, 0, sizeof *ch);
    w->n_chans++;
    *id = cid;
    return add_def(w, &ch->def, rec, QP_MCAP_RECORD_HEAD + clen, err);
}

/* ===== Messages ===== */

enum qp_status qp_mcap_writer_write(struct qp_mcap_writer *w, const struct qp_mcap_message *m,
                                    struct qp_err *err)
{
    enum qp_status s = check_failed(w, err);
    if (s != QP_OK)
        return s;
    if (m->channel_id == 0 || m->channel_id > w->n_chans)
        return qp_fail(err, QP_E_INVAL, "%s: message on unknown channel %u (%zu added)", w->path,
                       m->channel_id, w->n_chans);
    if (m->len > w->max_message || (m->len && !m->data))
        return qp_fail(err, QP_E_INVAL,
                       "%s: message of %zu bytes on channel %u exceeds max_message_bytes %zu",
                       w->path, m->len, m->channel_id, w->max_message);
    /* chunk_len < chunk_target here (a full chunk is written at once), and
     * the buffer holds chunk_target + the largest message record */
    QP_ASSERT(w->chunk_len + MESSAGE_RECORD(m->len) <= w->chunk_cap);
    uint8_t *p = w->chunk + w->chunk_len;
    p          = qp_mcap_put_head(p, QP_MCAP_OP_MESSAGE, QP_MCAP_MESSAGE_HEAD + m->len);
    p          = qp_mcap_put_u16(p, m->channel_id);
    p          = qp_mcap_put_u32(p, m->sequence);
    p          = qp_mcap_put_u64(p, m->log_time_ns);
    p          = qp_mcap_put_u64(p, m->publish_time_ns);
    if (m->len)
        memcpy(p, m->data, m->len);
    w->chunk_len += MESSAGE_RECORD(m->len);

    uint64_t t = m->log_time_ns;
    if (w->chunk_n == 0 || t < w->chunk_start_ns)
        w->chunk_start_ns = t;
    if (w->chunk_n == 0 || t > w->chunk_end_ns)
        w->chunk_end_ns = t;
    if (w->n_messages == 0 || t < w->start_ns)
        w->start_ns = t;
    if (w->n_messages == 0 || t > w->end_ns)
        w->end_ns = t;
    w->chunk_n++;
    w->n_messages++;
    w->chans[m->channel_id - 1].n_in_chunk++;
    w->chans[m->channel_id - 1].n_messages++;
    return w->chunk_len >= w->chunk_target ? finish_chunk(w, err) : QP_OK;
}

enum qp_status qp_mcap_writer_flush(struct qp_mcap_writer *w, struct qp_err *err)
{
    enum qp_status s = check_failed(w, err);
    return s == QP_OK ? finish_chunk(w, err) : s;
}

void qp_mcap_writer_stats(const struct qp_mcap_writer *w, struct qp_mcap_writer_stats *out)
{
    out->n_messages    = w->n_messages;
    out->n_chunks      = w->n_chunks;
    out->bytes_written = offset(w);
    out->n_schemas     = (uint16_t)w->n_schemas;
    out->n_channels    = (uint16_t)w->n_chans;
}

/* ===== Close: Data End, summary, footer ===== */

static enum qp_status emit_statistics(struct qp_mcap_writer *w, struct qp_err *err)
{
    size_t n_counts = 0;
    for (size_t c = 0; c < w->n_chans; c++)
        n_counts += w->chans[c].n_messages != 0;
    uint8_t  head[64];
    size_t   len     = 8 + 2 + 4 * 4 + 8 + 8 + 4 + 10 * n_counts;
    uint8_t *p       = qp_mcap_put_head(head, QP_MCAP_OP_STATISTICS, len);
    p                = qp_mcap_put_u64(p, w->n_messages);
    p                = qp_mcap_put_u16(p, (uint16_t)w->n_schemas);
    p                = qp_mcap_put_u32(p, (uint32_t)w->n_chans);
    p                = qp_mcap_put_u32(p, 0); /* attachments */
    p                = qp_mcap_put_u32(p, 0); /* metadata */
    p                = qp_mcap_put_u32(p, (uint32_t)w->n_chunks);
    p                = qp_mcap_put_u64(p, w->start_ns);
    p                = qp_mcap_put_u64(p, w->end_ns);
    p                = qp_mcap_put_u32(p, (uint32_t)(10 * n_counts));
    enum qp_status s = emit(w, head, (size_t)(p - head), err);
    for (size_t c = 0; c < w->n_chans && s == QP_OK; c++) {
        if (w->chans[c].n_messages) {
            uint8_t e[10];
            qp_mcap_put_u64(qp_mcap_put_u16(e, (uint16_t)(c + 1)), w->chans[c].n_messages);
            s = emit(w, e, sizeof e, err);
        }
    }
    return s;
}

static enum qp_status emit_schemas(struct qp_mcap_writer *w, struct qp_err *err)
{
    enum qp_status s = QP_OK;
    for (size_t i = 0; i < w->n_schemas && s == QP_OK; i++)
        s = emit(w, w->schemas[i].rec, w->schemas[i].len, err);
    return s;
}

static enum qp_status emit_channels(struct qp_mcap_writer *w, struct qp_err *err)
{
    enum qp_status s = QP_OK;
    for (size_t i = 0; i < w->n_chans && s == QP_OK; i++)
        s = emit(w, w->chans[i].def.rec, w->chans[i].def.len, err);
    return s;
}

static enum qp_status emit_chunk_indexes(struct qp_mcap_writer *w, struct qp_err *err)
{
    return emit(w, w->cidx, w->cidx_len, err);
}

/* The summary's groups in the order written; Channels precede Statistics,
 * as a non-empty channel_message_counts requires. */
static const struct {
    uint8_t op;
    enum qp_status (*emit)(struct qp_mcap_writer *w, struct qp_err *err);
} summary_groups[] = {
    {QP_MCAP_OP_SCHEMA, emit_schemas},
    {QP_MCAP_OP_CHANNEL, emit_channels},
    {QP_MCAP_OP_STATISTICS, emit_statistics},
    {QP_MCAP_OP_CHUNK_INDEX, emit_chunk_indexes},
};
#define N_GROUPS (sizeof summary_groups / sizeof summary_groups[0])

/* One summary group, remembered for its Summary Offset record. */
struct group {
    uint8_t  op;
    uint64_t start, len;
};

static enum qp_status emit_summary(struct qp_mcap_writer *w, struct group *g, size_t *n_groups,
                                   struct qp_err *err)
{
    enum qp_status s = QP_OK;
    *n_groups        = 0;
    for (size_t k = 0; k < N_GROUPS && s == QP_OK; k++) {
        uint64_t start = offset(w);
        s              = summary_groups[k].emit(w, err);
        if (offset(w) > start)
            g[(*n_groups)++] = (struct group){summary_groups[k].op, start, offset(w) - start};
    }
    return s;
}

static enum qp_status finish_file(struct qp_mcap_writer *w, struct qp_err *err)
{
    enum qp_status s = finish_chunk(w, err);
    if (s != QP_OK)
        return s;
    uint8_t  rec[64];
    uint8_t *p = qp_mcap_put_u32(qp_mcap_put_head(rec, QP_MCAP_OP_DATA_END, 4), w->data_crc);
    w->phase   = PHASE_NONE;
    if ((s = emit(w, rec, (size_t)(p - rec), err)) != QP_OK)
        return s;

    w->phase               = PHASE_SUMMARY;
    uint64_t     sum_start = offset(w);
    struct group g[N_GROUPS];
    size_t       n_groups;
    if ((s = emit_summary(w, g, &n_groups, err)) != QP_OK)
        return s;
    uint64_t offsets_start = offset(w);
    for (size_t i = 0; i < n_groups && s == QP_OK; i++) {
        p = qp_mcap_put_head(rec, QP_MCAP_OP_SUMMARY_OFFSET, 1 + 8 + 8);
        p = qp_mcap_put_u64(qp_mcap_put_u64(qp_mcap_put_u8(p, g[i].op), g[i].start), g[i].len);
        s = emit(w, rec, (size_t)(p - rec), err);
    }
    if (s != QP_OK)
        return s;
    p        = qp_mcap_put_head(rec, QP_MCAP_OP_FOOTER, QP_MCAP_FOOTER_LEN);
    p        = qp_mcap_put_u64(qp_mcap_put_u64(p, sum_start), offsets_start);
    s        = emit(w, rec, (size_t)(p - rec), err); /* counted in the summary CRC */
    w->phase = PHASE_NONE;
    p        = qp_mcap_put_u32(rec, w->summary_crc);
    memcpy(p, qp_mcap_magic, QP_MCAP_MAGIC_LEN);
    if (s == QP_OK)
        s = emit(w, rec, 4 + QP_MCAP_MAGIC_LEN, err);
    if (s == QP_OK)
        s = commit(w, err);
    if (s == QP_OK && fsync(w->fd) != 0 && errno != EINVAL && errno != EROFS)
        s = qp_fail(err, QP_E_IO, "%s: fsync failed: %s", w->path, strerror(errno));
    return s;
}

enum qp_status qp_mcap_writer_close(struct qp_mcap_writer *w, struct qp_err *err)
{
    if (!w)
        return QP_OK;
    enum qp_status s = check_failed(w, err);
    if (s == QP_OK)
        s = finish_file(w, err);
    if (s == QP_OK && close(w->fd) != 0)
        s = qp_fail(err, QP_E_IO, "%s: close failed: %s", w->path, strerror(errno));
    else if (s != QP_OK)
        close(w->fd);
    w->fd = -1;
    qp_mcap_writer_free(w);
    return s;
}

void qp_mcap_writer_free(struct qp_mcap_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    for (size_t i = 0; i < w->n_schemas; i++)
        qp_free(w->schemas[i].rec);
    for (size_t i = 0; i < w->n_chans; i++)
        qp_free(w->chans[i].def.rec);
    qp_free(w->schemas);
    qp_free(w->chans);
    qp_mcap_codec_free(w->codec);
    qp_free(w->out);
    qp_free(w->chunk);
    qp_free(w->zbuf);
    qp_free(w->ibuf);
    qp_free(w->cidx);
    qp_free(w->path);
    qp_free(w);
}
