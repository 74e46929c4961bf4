// SPDX-License-Identifier: Apache-2.0
/*
 * mcap_read.c - opening an MCAP file for reading (mcap.h, qp_mcap_reader):
 * magic and Header, then the Footer and summary when they are there, else
 * a scan of the whole data section (an interrupted recording).
 *
 * Footer: the last 37 bytes must be a Footer record (opcode 0x02, length 20)
 * and the closing magic; anything else means the file has no footer and is
 * scanned. A footer that is there but points outside the file, or whose
 * summary fails its CRC or holds a malformed record, is an error: the file
 * is not what it claims (opts.ignore_summary scans it anyway).
 *
 * Summary: Schema and Channel records go to the definition tables, the first
 * Statistics record and every Chunk Index are kept (Chunk Indexes checked to
 * lie inside the data section); other records are skipped. The data section
 * walked by qp_mcap_reader_next then ends at the summary's start.
 *
 * Scan: the same walk qp_mcap_reader_next does (mcap_scan.c), run once at
 * open to learn the definitions, count the messages and index the chunks,
 * and to find where the recoverable data ends; later walks stop there.
 */
#define _POSIX_C_SOURCE 200809L
#include "clients/mcap/mcap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clients/mcap/mcap_read_int.h"
#include "core/alloc.h"

#define FOOTER_RECORD (QP_MCAP_RECORD_HEAD + QP_MCAP_FOOTER_LEN)
#define CRC_BLOCK ((size_t)1 << 20)

/* ===== I/O ===== */

enum qp_status qp_mcap_read_at(struct qp_mcap_reader *r, uint64_t off, void *buf, size_t n,
                               struct qp_err *err)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t got = pread(r->fd, p, n, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return qp_fail(err, QP_E_IO, "%s: read of %zu bytes at offset %llu failed: %s", r->path,
                           n, (unsigned long long)off, strerror(errno));
        if (got == 0)
            return qp_fail(err, QP_E_IO, "%s: the file ended at offset %llu (shrunk while read?)",
                           r->path, (unsigned long long)off);
        p += got;
        n -= (size_t)got;
        off += (uint64_t)got;
    }
    return QP_OK;
}

enum qp_status qp_mcap_reserve(struct qp_mcap_reader *r, uint8_t **buf, size_t *cap, size_t n,
                               struct qp_err *err)
{
    if (n <= *cap && *buf)
        return QP_OK;
    size_t want = *cap > n / 2 ? 2 * *cap : n; /* at most doubling, never past max_record */
    if (want > r->max_record || want < n)
        want = n;
    uint8_t *q = qp_realloc(*buf, want ? want : 1);
    if (!q)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory for a %zu-byte read buffer", r->path,
                       want);
    *buf = q;
    *cap = want;
    return QP_OK;
}

/* ===== Header and Footer ===== */

static enum qp_status read_header(struct qp_mcap_reader *r, struct qp_err *err)
{
    uint8_t head[QP_MCAP_MAGIC_LEN + QP_MCAP_RECORD_HEAD];
    if (r->size < sizeof head)
        return qp_fail(err, QP_E_FORMAT, "%s: %llu bytes, too short for an MCAP file", r->path,
                       (unsigned long long)r->size);
    enum qp_status s = qp_mcap_read_at(r, 0, head, sizeof head, err);
    if (s != QP_OK)
        return s;
    if (memcmp(head, qp_mcap_magic, 5) != 0)
        return qp_fail(err, QP_E_FORMAT, "%s: not an MCAP file (no magic)", r->path);
    if (memcmp(head, qp_mcap_magic, QP_MCAP_MAGIC_LEN) != 0)
        return qp_fail(err, QP_E_FORMAT, "%s: MCAP major version 0x%02x is not supported (0x30)",
                       r->path, head[5]);
    uint8_t  op  = head[QP_MCAP_MAGIC_LEN];
    uint64_t len = qp_mcap_get_u64(head + QP_MCAP_MAGIC_LEN + 1);
    if (op != QP_MCAP_OP_HEADER)
        return qp_fail(err, QP_E_FORMAT,
                       "%s: the first record (offset 8) is %s (0x%02x), not a Header", r->path,
                       qp_mcap_op_name(op), op);
    if (len > r->size - sizeof head || len > r->max_record)
        return qp_fail(err, QP_E_FORMAT,
                       "%s: Header record at offset 8: length %llu runs past the end of the file "
                       "(%llu bytes) or max_record_bytes",
                       r->path, (unsigned long long)len, (unsigned long long)r->size);
    if ((s = qp_mcap_reserve(r, &r->rec, &r->rec_cap, (size_t)len, err)) != QP_OK ||
        (s = qp_mcap_read_at(r, sizeof head, r->rec, (size_t)len, err)) != QP_OK)
        return s;
    struct qp_mcap_cur c = qp_mcap_cur_make(r->rec, (size_t)len);
    size_t             pn, ln;
    const uint8_t     *profile = qp_mcap_cur_lenbytes(&c, &pn);
    const uint8_t     *library = qp_mcap_cur_lenbytes(&c, &ln);
    if (c.bad)
        return qp_fail(err, QP_E_FORMAT,
                       "%s: Header record at offset 8: fields run past the record", r->path);
    r->profile = qp_alloc(pn + 1);
    r->library = qp_alloc(ln + 1);
    if (!r->profile || !r->library)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory for the Header", r->path);
    memcpy(r->profile, profile, pn);
    memcpy(r->library, library, ln);
    r->profile[pn]  = '\0';
    r->library[ln]  = '\0';
    r->info.profile = r->profile;
    r->info.library = r->library;
    r->data_start   = sizeof head + len;
    return QP_OK;
}

struct footer {
    uint64_t off, summary_start, offsets_start;
    uint32_t crc;
};

/* Whether the file ends in a Footer record and the magic. */
static enum qp_status read_footer(struct qp_mcap_reader *r, struct footer *f, bool *found,
                                  struct qp_err *err)
{
    uint8_t tail[FOOTER_RECORD + QP_MCAP_MAGIC_LEN];
    *found = false;
    if (r->size < r->data_start + sizeof tail)
        return QP_OK;
    f->off           = r->size - sizeof tail;
    enum qp_status s = qp_mcap_read_at(r, f->off, tail, sizeof tail, err);
    if (s != QP_OK)
        return s;
    if (memcmp(tail + FOOTER_RECORD, qp_mcap_magic, QP_MCAP_MAGIC_LEN) != 0 ||
        tail[0] != QP_MCAP_OP_FOOTER || qp_mcap_get_u64(tail + 1) != QP_MCAP_FOOTER_LEN)
        return QP_OK;
    f->summary_start = qp_mcap_get_u64(tail + QP_MCAP_RECORD_HEAD);
    f->offsets_start = qp_mcap_get_u64(tail + QP_MCAP_RECORD_HEAD + 8);
    f->crc           = qp_mcap_get_u32(tail + QP_MCAP_RECORD_HEAD + 16);
    *found           = true;
    return QP_OK;
}

/* ===== Summary ===== */

static enum qp_status sum_def(struct qp_mcap_reader *r, const uint8_t *p, size_t n, uint8_t op,
                              struct qp_err *err)
{
    return op == QP_MCAP_OP_SCHEMA ? qp_mcap_defs_add_schema(r, p, n, err)
                                   : qp_mcap_defs_add_channel(r, p, n, err);
}

static enum qp_status sum_statistics(struct qp_mcap_reader *r, const uint8_t *p, size_t n,
                                     uint8_t op, struct qp_err *err)
{
    if (r->info.has_statistics)
        return QP_OK; /* at most one; the first counts */
    struct qp_mcap_statistics *st = &r->info.stats;
    struct qp_mcap_cur         c  = qp_mcap_cur_make(p, n);
    size_t                     map_n;
    st->n_messages       = qp_mcap_cur_u64(&c);
    st->n_schemas        = qp_mcap_cur_u16(&c);
    st->n_channels       = qp_mcap_cur_u32(&c);
    st->n_attachments    = qp_mcap_cur_u32(&c);
    st->n_metadata       = qp_mcap_cur_u32(&c);
    st->n_chunks         = qp_mcap_cur_u32(&c);
    st->message_start_ns = qp_mcap_cur_u64(&c);
    st->message_end_ns   = qp_mcap_cur_u64(&c);
    const uint8_t *map   = qp_mcap_cur_lenbytes(&c, &map_n);
    if (c.bad || map_n % 10)
        return qp_fail(err, QP_E_FORMAT, "fields run past the record (%zu bytes)", n);
    r->counts = qp_alloc(map_n / 10 * sizeof *r->counts + 1);
    if (!r->counts)
        return qp_fail(err, QP_E_NOMEM, "out of memory for %zu channel counts", map_n / 10);
    for (size_t i = 0; i < map_n / 10; i++) {
        r->counts[i].channel_id = qp_mcap_get_u16(map + 10 * i);
        r->counts[i].n_messages = qp_mcap_get_u64(map + 10 * i + 2);
    }
    r->n_counts            = map_n / 10;
    st->channel_counts     = r->counts;
    st->n_channel_counts   = r->n_counts;
    r->info.has_statistics = true;
    return QP_OK;
}

static enum qp_status sum_chunk_index(struct qp_mcap_reader *r, const uint8_t *p, size_t n,
                                      uint8_t op, struct qp_err *err)
{
    struct qp_mcap_chunk_index ci;
    memset(&ci, 0, sizeof ci);
    struct qp_mcap_cur c = qp_mcap_cur_make(p, n);
    size_t             map_n, comp_n;
    ci.message_start_ns     = qp_mcap_cur_u64(&c);
    ci.message_end_ns       = qp_mcap_cur_u64(&c);
    ci.chunk_offset         = qp_mcap_cur_u64(&c);
    ci.chunk_length         = qp_mcap_cur_u64(&c);
    const uint8_t *map      = qp_mcap_cur_lenbytes(&c, &map_n);
    ci.message_index_length = qp_mcap_cur_u64(&c);
    const uint8_t *comp     = qp_mcap_cur_lenbytes(&c, &comp_n);
    ci.compressed_bytes     = qp_mcap_cur_u64(&c);
    ci.uncompressed_bytes   = qp_mcap_cur_u64(&c);
    if (c.bad || map_n % 10)
        return qp_fail(err, QP_E_FORMAT, "fields run past the record (%zu bytes)", n);
    uint64_t data_end = r->data_end;
    if (ci.chunk_offset < r->data_start || ci.chunk_offset > data_end ||
        ci.chunk_length > data_end - ci.chunk_offset)
        return qp_fail(err, QP_E_FORMAT,
                       "the chunk it points to (offset %llu, %llu bytes) is outside the data "
                       "section [%llu, %llu)",
                       (unsigned long long)ci.chunk_offset, (unsigned long long)ci.chunk_length,
                       (unsigned long long)r->data_start, (unsigned long long)data_end);
    if (!qp_mcap_compression_parse(comp, comp_n, &ci.compression))
        ci.compression = QP_MCAP_COMPRESSION_COUNT;
    ci.n_message_index_offsets = map_n / 10;
    enum qp_status s           = qp_mcap_grow((void **)&r->ioffs, &r->ioffs_cap,
                                              r->n_ioffs + ci.n_message_index_offsets, sizeof *r->ioffs, err);
    if (s == QP_OK)
        s = qp_mcap_grow((void **)&r->chunks, &r->chunks_cap, r->n_chunks + 1, sizeof ci, err);
    if (s != QP_OK)
        return s;
    for (size_t i = 0; i < ci.n_message_index_offsets; i++) {
        r->ioffs[r->n_ioffs].channel_id = qp_mcap_get_u16(map + 10 * i);
        r->ioffs[r->n_ioffs].offset     = qp_mcap_get_u64(map + 10 * i + 2);
        r->n_ioffs++;
    }
    r->chunks[r->n_chunks++] = ci; /* message_index_offsets set once the table stops moving */
    return QP_OK;
}

typedef enum qp_status (*sum_fn)(struct qp_mcap_reader *r, const uint8_t *p, size_t n, uint8_t op,
                                 struct qp_err *err);

/* The summary records the reader keeps; the others are skipped. */
static const sum_fn on_summary[QP_MCAP_OP_COUNT] = {
    [QP_MCAP_OP_SCHEMA]      = sum_def,
    [QP_MCAP_OP_CHANNEL]     = sum_def,
    [QP_MCAP_OP_STATISTICS]  = sum_statistics,
    [QP_MCAP_OP_CHUNK_INDEX] = sum_chunk_index,
};

/* CRC of the summary through the Footer's summary_offset_start field. */
static enum qp_status check_summary_crc(struct qp_mcap_reader *r, const struct footer *f,
                                        struct qp_err *err)
{
    uint64_t       end = f->off + QP_MCAP_RECORD_HEAD + 16;
    uint32_t       crc = 0;
    uint64_t       n0  = end - f->summary_start;
    enum qp_status s =
        qp_mcap_reserve(r, &r->rec, &r->rec_cap, n0 < CRC_BLOCK ? (size_t)n0 : CRC_BLOCK, err);
    for (uint64_t at = f->summary_start; at < end && s == QP_OK;) {
        size_t n = end - at < r->rec_cap ? (size_t)(end - at) : r->rec_cap;
        if ((s = qp_mcap_read_at(r, at, r->rec, n, err)) == QP_OK)
            crc = qp_mcap_crc32(crc, r->rec, n);
        at += n;
    }
    if (s == QP_OK && crc != f->crc)
        s = qp_fail(err, QP_E_FORMAT,
                    "%s: summary CRC mismatch: bytes %llu..%llu hash to 0x%08x, the Footer at "
                    "offset %llu says 0x%08x",
                    r->path, (unsigned long long)f->summary_start, (unsigned long long)end, crc,
                    (unsigned long long)f->off, f->crc);
    return s;
}

static enum qp_status read_summary(struct qp_mcap_reader *r, const struct footer *f,
                                   struct qp_err *err)
{
    uint64_t end = f->offsets_start ? f->offsets_start : f->off;
    if (f->summary_start < r->data_start || f->summary_start > f->off ||
        (f->offsets_start && (f->offsets_start < f->summary_start || f->offsets_start > f->off)))
        return qp_fail(err, QP_E_FORMAT,
                       "%s: Footer at offset %llu: summary_start %llu / summary_offset_start %llu "
                       "lie outside [%llu, %llu]",
                       r->path, (unsigned long long)f->off, (unsigned long long)f->summary_start,
                       (unsigned long long)f->offsets_start, (unsigned long long)r->data_start,
                       (unsigned long long)f->off);
    enum qp_status s = f->crc ? check_summary_crc(r, f, err) : QP_OK;
    r->data_end      = f->summary_start;
    for (uint64_t at = f->summary_start; at < end && s == QP_OK;) {
        uint8_t head[QP_MCAP_RECORD_HEAD];
        if (end - at < sizeof head)
            return qp_fail(err, QP_E_FORMAT, "%s: summary record at offset %llu is cut short",
                           r->path, (unsigned long long)at);
        if ((s = qp_mcap_read_at(r, at, head, sizeof head, err)) != QP_OK)
            return s;
        uint64_t len = qp_mcap_get_u64(head + 1);
        if (len > end - at - sizeof head || len > r->max_record)
            return qp_fail(err, QP_E_FORMAT,
                           "%s: %s record at offset %llu in the summary: length %llu runs past "
                           "the summary end %llu (or max_record_bytes)",
                           r->path, qp_mcap_op_name(head[0]), (unsigned long long)at,
                           (unsigned long long)len, (unsigned long long)end);
        sum_fn fn = head[0] < QP_MCAP_OP_COUNT ? on_summary[head[0]] : NULL;
        if (fn && (s = qp_mcap_reserve(r, &r->rec, &r->rec_cap, (size_t)len, err)) == QP_OK &&
            (s = qp_mcap_read_at(r, at + sizeof head, r->rec, (size_t)len, err)) == QP_OK &&
            (s = fn(r, r->rec, (size_t)len, head[0], err)) != QP_OK)
            qp_err_prefix(err, "%s: %s record at offset %llu in the summary", r->path,
                          qp_mcap_op_name(head[0]), (unsigned long long)at);
        at += sizeof head + len;
    }
    struct qp_mcap_index_offset *io = r->ioffs;
    for (size_t i = 0; i < r->n_chunks; i++) {
        r->chunks[i].message_index_offsets = io;
        io += r->chunks[i].n_message_index_offsets;
    }
    r->info.has_summary = true;
    r->strict_end       = true;
    r->limit_end        = QP_MCAP_END_EOF;
    snprintf(r->limit_msg, sizeof r->limit_msg,
             "%s: the data section ends at offset %llu without Data End", r->path,
             (unsigned long long)r->data_end);
    return s;
}

/* ===== Scan ===== */

static enum qp_status scan_counts(struct qp_mcap_reader *r, struct qp_err *err)
{
    struct qp_mcap_statistics *st = &r->info.stats;
    r->counts                     = qp_alloc(r->n_chans * sizeof *r->counts + 1);
    if (!r->counts)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory for channel counts", r->path);
    for (size_t i = 0; i < r->n_chans; i++)
        if (r->chans[i]->n_counted)
            r->counts[r->n_counts++] =
                (struct qp_mcap_channel_count){r->chans[i]->pub.id, r->chans[i]->n_counted};
    st->channel_counts     = r->counts;
    st->n_channel_counts   = r->n_counts;
    st->n_schemas          = (uint16_t)r->n_schemas;
    st->n_channels         = (uint32_t)r->n_chans;
    st->n_chunks           = (uint32_t)r->n_chunks;
    st->n_attachments      = (uint32_t)r->n_attachments;
    st->n_metadata         = (uint32_t)r->n_metadata;
    r->info.has_statistics = true;
    return QP_OK;
}

static enum qp_status scan(struct qp_mcap_reader *r, struct qp_err *err)
{
    r->data_end   = r->size;
    r->strict_end = false;
    r->limit_end  = QP_MCAP_END_EOF;
    snprintf(r->limit_msg, sizeof r->limit_msg, "%s: the file ends at offset %llu without Data End",
             r->path, (unsigned long long)r->size);
    r->scanning = true;
    qp_mcap_scan_rewind(r);
    for (;;) {
        struct qp_mcap_message m;
        bool                   got;
        struct qp_err          e = {{0}};
        enum qp_status         s = qp_mcap_scan_step(r, &m, &got, &e);
        if (s == QP_OK && !got)
            break;
        if (s == QP_E_FORMAT && r->it.sticky)
            break;                          /* malformed: the recoverable data ends here */
        if (s != QP_OK && s != QP_E_FORMAT) /* a bad chunk is counted, the scan goes on */
            return qp_fail(err, s, "%s", e.msg);
    }
    r->scanning             = false;
    r->info.end             = r->it.sticky ? QP_MCAP_END_MALFORMED : r->it.end;
    r->info.recovered_bytes = r->it.off;
    r->info.n_bad_chunks    = r->st.n_bad_chunks;
    snprintf(r->info.end_reason, sizeof r->info.end_reason, "%s", r->it.msg);
    if (r->info.end != QP_MCAP_END_DATA_END) { /* later walks stop where this one did */
        r->data_end  = r->it.off;
        r->limit_end = r->info.end;
        snprintf(r->limit_msg, sizeof r->limit_msg, "%s", r->it.msg);
    }
    return scan_counts(r, err);
}

/* ===== Public ===== */

enum qp_status qp_mcap_reader_open(const char *path, const struct qp_mcap_reader_opts *opts,
                                   struct qp_mcap_reader **out, struct qp_err *err)
{
    struct qp_mcap_reader_opts o = {0};
    if (opts)
        o = *opts;
    if (!path || !*path)
        return qp_fail(err, QP_E_INVAL, "mcap reader: no path");
    struct qp_mcap_reader *r = qp_calloc(1, sizeof *r);
    if (!r)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory for the reader", path);
    r->fd            = -1;
    r->max_record    = o.max_record_bytes ? o.max_record_bytes : QP_MCAP_MAX_RECORD_BYTES_DEFAULT;
    enum qp_status s = QP_OK;
    struct stat    sb;
    if (!(r->path = qp_strdup(path))) {
        s = qp_fail(err, QP_E_NOMEM, "%s: out of memory for the reader", path);
        goto out;
    }
    if ((r->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(r->fd, &sb) != 0) {
        s = qp_fail(err, QP_E_IO, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        s = qp_fail(err, QP_E_IO, "%s: not a regular file", path);
        goto out;
    }
    r->size = r->info.file_bytes = (uint64_t)sb.st_size;
    if ((s = qp_mcap_codec_new(QP_MCAP_COMPRESSION_NONE, 0, false, &r->codec, err)) != QP_OK ||
        (s = read_header(r, err)) != QP_OK)
        goto out;
    struct footer f;
    bool          found;
    if ((s = read_footer(r, &f, &found, err)) != QP_OK)
        goto out;
    r->info.has_footer = found;
    if (found && f.summary_start && !o.ignore_summary)
        s = read_summary(r, &f, err);
    else
        s = scan(r, err);
    r->info.chunks   = r->chunks;
    r->info.n_chunks = r->n_chunks;
    qp_mcap_scan_rewind(r);
out:
    if (s != QP_OK) {
        qp_mcap_reader_free(r);
        return s;
    }
    *out = r;
    return QP_OK;
}

void qp_mcap_reader_free(struct qp_mcap_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    qp_mcap_defs_free(r);
    qp_mcap_codec_free(r->codec);
    qp_free(r->chunks);
    qp_free(r->ioffs);
    qp_free(r->counts);
    qp_free(r->profile);
    qp_free(r->library);
    qp_free(r->rec);
    qp_free(r->cbuf);
    qp_free(r->path);
    qp_free(r);
}

const struct qp_mcap_info *qp_mcap_reader_info(const struct qp_mcap_reader *r)
{
    return &r->info;
}

enum qp_status qp_mcap_reader_next(struct qp_mcap_reader *r, struct qp_mcap_message *msg, bool *got,
                                   struct qp_err *err)
{
    return qp_mcap_scan_step(r, msg, got, err);
}

void qp_mcap_reader_rewind(struct qp_mcap_reader *r)
{
    qp_mcap_scan_rewind(r);
}

void qp_mcap_reader_stats(const struct qp_mcap_reader *r, struct qp_mcap_read_stats *out)
{
    *out = r->st;
}
