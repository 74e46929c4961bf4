// SPDX-License-Identifier: Apache-2.0
/*
 * mcap_scan.c - walking an MCAP data section record by record: what
 * qp_mcap_reader_next does, and what the scan at open of a file without a
 * summary does (the same walk, counting instead of returning).
 *
 * Each top-level record's frame is checked against the walk limit first:
 * with a summary the limit is the summary's start and a record past it is
 * malformed (sticky error); without one the limit is the end of the file
 * (or where the scan at open stopped) and a record past it is where an
 * interrupted recording was cut (the walk ends, TRUNCATED). Only the
 * records the reader needs are read (Schema, Channel, Message, Chunk, Data
 * End), each at most max_record bytes; the rest are skipped unread.
 *
 * A chunk is checked as a whole before any of its messages is returned:
 * decompressed to exactly its declared size, CRC compared, every record
 * inside framed within the chunk, every message at least its header and on
 * a channel defined before it. So a chunk yields all its messages or none,
 * and a bad one is skipped (counted) with an error naming its offset.
 */
#include <stdarg.h>
#include <stdio.h>

#include "clients/mcap/mcap_read_int.h"
#include "core/alloc.h"

/* ===== Ending and failing ===== */

/* The walk is over (not an error). */
static enum qp_status finish(struct qp_mcap_reader *r, enum qp_mcap_end e, const char *fmt, ...)
    QP_PRINTF(3, 4);
static enum qp_status finish(struct qp_mcap_reader *r, enum qp_mcap_end e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->it.msg, sizeof r->it.msg, fmt, ap);
    va_end(ap);
    r->it.end = e;
    r->st.end = e;
    return QP_OK;
}

/* A malformed top-level record: this and every later call fail. */
static enum qp_status malformed(struct qp_mcap_reader *r, struct qp_err *err, const char *fmt, ...)
    QP_PRINTF(3, 4);
static enum qp_status malformed(struct qp_mcap_reader *r, struct qp_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->it.msg, sizeof r->it.msg, fmt, ap);
    va_end(ap);
    r->it.sticky = QP_E_FORMAT;
    r->st.end    = QP_MCAP_END_MALFORMED;
    return qp_fail(err, QP_E_FORMAT, "%s", r->it.msg);
}

/* A bad chunk: skipped and counted, the walk goes on. */
static enum qp_status bad_chunk(struct qp_mcap_reader *r, const struct qp_mcap_rec *h,
                                struct qp_err *err, const char *fmt, ...) QP_PRINTF(4, 5);
static enum qp_status bad_chunk(struct qp_mcap_reader *r, const struct qp_mcap_rec *h,
                                struct qp_err *err, const char *fmt, ...)
{
    char    why[sizeof(struct qp_err)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    r->st.n_bad_chunks++;
    return qp_fail(err, QP_E_FORMAT, "%s: Chunk at offset %llu: %s (chunk skipped)", r->path,
                   (unsigned long long)h->off, why);
}

/* ===== Frames ===== */

/* The next top-level record's frame, or the end of the walk (it.end set). */
static enum qp_status next_frame(struct qp_mcap_reader *r, struct qp_mcap_rec *h,
                                 struct qp_err *err)
{
    uint64_t off = r->it.off, lim = r->data_end;
    if (off >= lim)
        return finish(r, r->limit_end, "%s", r->limit_msg);
    uint8_t head[QP_MCAP_RECORD_HEAD];
    if (lim - off < QP_MCAP_RECORD_HEAD) {
        if (r->strict_end)
            return malformed(r, err,
                             "%s: record header at offset %llu runs past the data section end %llu",
                             r->path, (unsigned long long)off, (unsigned long long)lim);
        return finish(
            r, QP_MCAP_END_TRUNCATED,
            "%s: record header at offset %llu cut short by the end of the file (%llu bytes)",
            r->path, (unsigned long long)off, (unsigned long long)lim);
    }
    enum qp_status s = qp_mcap_read_at(r, off, head, sizeof head, err);
    if (s != QP_OK)
        return s;
    h->op  = head[0];
    h->len = qp_mcap_get_u64(head + 1);
    h->off = off;
    if (h->len > lim - off - QP_MCAP_RECORD_HEAD) {
        if (r->strict_end)
            return malformed(r, err,
                             "%s: %s record at offset %llu: length %llu runs past the data "
                             "section end %llu",
                             r->path, qp_mcap_op_name(h->op), (unsigned long long)off,
                             (unsigned long long)h->len, (unsigned long long)lim);
        return finish(r, QP_MCAP_END_TRUNCATED,
                      "%s: %s record at offset %llu: %llu bytes, cut short by the end of the "
                      "file (%llu bytes)",
                      r->path, qp_mcap_op_name(h->op), (unsigned long long)off,
                      (unsigned long long)h->len, (unsigned long long)lim);
    }
    h->end = off + QP_MCAP_RECORD_HEAD + h->len;
    return QP_OK;
}

/* Read a record's content into the record buffer. */
static enum qp_status load(struct qp_mcap_reader *r, const struct qp_mcap_rec *h,
                           struct qp_err *err)
{
    if (h->len > r->max_record)
        return malformed(r, err,
                         "%s: %s record at offset %llu: length %llu exceeds max_record_bytes %zu",
                         r->path, qp_mcap_op_name(h->op), (unsigned long long)h->off,
                         (unsigned long long)h->len, r->max_record);
    enum qp_status s = qp_mcap_reserve(r, &r->rec, &r->rec_cap, (size_t)h->len, err);
    if (s == QP_OK)
        s = qp_mcap_read_at(r, h->off + QP_MCAP_RECORD_HEAD, r->rec, (size_t)h->len, err);
    return s;
}

/* ===== Messages ===== */

static void fill_message(const uint8_t *p, size_t n, struct qp_mcap_message *m)
{
    m->channel_id      = qp_mcap_get_u16(p);
    m->sequence        = qp_mcap_get_u32(p + 2);
    m->log_time_ns     = qp_mcap_get_u64(p + 6);
    m->publish_time_ns = qp_mcap_get_u64(p + 14);
    m->data            = p + QP_MCAP_MESSAGE_HEAD;
    m->len             = n - QP_MCAP_MESSAGE_HEAD;
}

/* A message is returned: count it (the scan at open also per channel). */
static void count_message(struct qp_mcap_reader *r, const struct qp_mcap_message *m)
{
    struct qp_mcap_statistics *st = &r->info.stats;
    if (r->scanning) {
        if (st->n_messages == 0 || m->log_time_ns < st->message_start_ns)
            st->message_start_ns = m->log_time_ns;
        if (st->n_messages == 0 || m->log_time_ns > st->message_end_ns)
            st->message_end_ns = m->log_time_ns;
        st->n_messages++;
        qp_mcap_defs_channel(r, m->channel_id)->n_counted++;
    }
    r->st.n_messages++;
}

/* The next Message of the current chunk (already validated), if any. */
static bool chunk_next(struct qp_mcap_reader *r, struct qp_mcap_message *m)
{
    while (r->it.cpos < r->it.clen) {
        const uint8_t *p   = r->cbuf + r->it.cpos;
        size_t         len = (size_t)qp_mcap_get_u64(p + 1);
        r->it.cpos += QP_MCAP_RECORD_HEAD + len;
        if (p[0] == QP_MCAP_OP_MESSAGE) {
            fill_message(p + QP_MCAP_RECORD_HEAD, len, m);
            return true;
        }
    }
    return false;
}

/* ===== Chunks ===== */

/* Frame every record inside the chunk, add its definitions, check its
 * messages; *why says what failed. */
static enum qp_status check_chunk_records(struct qp_mcap_reader *r, size_t n, char *why,
                                          size_t why_n)
{
    struct qp_err e = {{0}};
    for (size_t pos = 0; pos < n;) {
        const uint8_t *p = r->cbuf + pos;
        uint64_t       len;
        if (n - pos < QP_MCAP_RECORD_HEAD ||
            (len = qp_mcap_get_u64(p + 1)) > n - pos - QP_MCAP_RECORD_HEAD) {
            snprintf(why, why_n, "record at +%zu (%s) runs past the chunk's %zu bytes", pos,
                     n - pos < 1 ? "?" : qp_mcap_op_name(p[0]), n);
            return QP_E_FORMAT;
        }
        const uint8_t *c = p + QP_MCAP_RECORD_HEAD;
        enum qp_status s = QP_OK;
        if (p[0] == QP_MCAP_OP_SCHEMA)
            s = qp_mcap_defs_add_schema(r, c, (size_t)len, &e);
        else if (p[0] == QP_MCAP_OP_CHANNEL)
            s = qp_mcap_defs_add_channel(r, c, (size_t)len, &e);
        else if (p[0] == QP_MCAP_OP_MESSAGE && len < QP_MCAP_MESSAGE_HEAD)
            s = qp_fail(&e, QP_E_FORMAT, "%llu bytes, shorter than a message header",
                        (unsigned long long)len);
        else if (p[0] == QP_MCAP_OP_MESSAGE && !qp_mcap_defs_channel(r, qp_mcap_get_u16(c)))
            s = qp_fail(&e, QP_E_FORMAT, "channel %u is not defined before it", qp_mcap_get_u16(c));
        if (s != QP_OK) {
            snprintf(why, why_n, "%s record at +%zu: %.400s", qp_mcap_op_name(p[0]), pos, e.msg);
            return s;
        }
        pos += QP_MCAP_RECORD_HEAD + (size_t)len;
    }
    return QP_OK;
}

/* The scan at open indexes every good chunk it meets. */
static enum qp_status index_chunk(struct qp_mcap_reader *r, const struct qp_mcap_rec *h,
                                  const struct qp_mcap_chunk_index *ci, struct qp_err *err)
{
    enum qp_status s =
        qp_mcap_grow((void **)&r->chunks, &r->chunks_cap, r->n_chunks + 1, sizeof *ci, err);
    if (s == QP_OK)
        r->chunks[r->n_chunks++] = *ci;
    return s;
}

static enum qp_status on_chunk(struct qp_mcap_reader *r, const struct qp_mcap_rec *h,
                               struct qp_mcap_message *m, bool *got, struct qp_err *err)
{
    if (h->len > r->max_record)
        return bad_chunk(r, h, err, "length %llu exceeds max_record_bytes %zu",
                         (unsigned long long)h->len, r->max_record);
    enum qp_status s = load(r, h, err);
    if (s != QP_OK)
        return s;
    struct qp_mcap_cur         c = qp_mcap_cur_make(r->rec, (size_t)h->len);
    struct qp_mcap_chunk_index ci;
    memset(&ci, 0, sizeof ci);
    size_t comp_n, body_n;
    ci.message_start_ns     = qp_mcap_cur_u64(&c);
    ci.message_end_ns       = qp_mcap_cur_u64(&c);
    ci.uncompressed_bytes   = qp_mcap_cur_u64(&c);
    uint32_t       crc      = qp_mcap_cur_u32(&c);
    const uint8_t *comp     = qp_mcap_cur_lenbytes(&c, &comp_n);
    uint64_t       body_len = qp_mcap_cur_u64(&c);
    const uint8_t *body     = qp_mcap_cur_take(&c, body_len);
    body_n                  = (size_t)body_len;
    if (c.bad)
        return bad_chunk(r, h, err, "fields run past the record (%llu bytes)",
                         (unsigned long long)h->len);
    if (!qp_mcap_compression_parse(comp, comp_n, &ci.compression))
        return bad_chunk(r, h, err, "unsupported compression '%.*s'",
                         (int)(comp_n > 32 ? 32 : comp_n), (const char *)comp);
    if (ci.uncompressed_bytes > r->max_record)
        return bad_chunk(r, h, err, "uncompressed size %llu exceeds max_record_bytes %zu",
                         (unsigned long long)ci.uncompressed_bytes, r->max_record);
    size_t un = (size_t)ci.uncompressed_bytes;
    if ((s = qp_mcap_reserve(r, &r->cbuf, &r->cbuf_cap, un, err)) != QP_OK)
        return s;
    struct qp_err e = {{0}};
    if (qp_mcap_codec_decompress(r->codec, ci.compression, r->cbuf, un, body, body_n, &e) != QP_OK)
        return bad_chunk(r, h, err, "%s", e.msg);
    uint32_t got_crc = crc ? qp_mcap_crc32(0, r->cbuf, un) : 0;
    if (got_crc != crc)
        return bad_chunk(r, h, err, "CRC mismatch: records hash to 0x%08x, the chunk says 0x%08x",
                         got_crc, crc);
    char why[sizeof(struct qp_err)];
    if (check_chunk_records(r, un, why, sizeof why) != QP_OK)
        return bad_chunk(r, h, err, "%s", why);
    r->it.in_chunk = true;
    r->it.cpos     = 0;
    r->it.clen     = un;
    r->st.n_chunks++;
    if (!r->scanning)
        return QP_OK;
    ci.chunk_offset     = h->off;
    ci.chunk_length     = h->end - h->off;
    ci.compressed_bytes = body_n;
    return index_chunk(r, h, &ci, err);
}

/* ===== Other records ===== */

static enum qp_status on_def(struct qp_mcap_reader *r, const struct qp_mcap_rec *h,
                             struct qp_mcap_message *m, bool *got, struct qp_err *err)
{
    enum qp_status s = load(r, h, err);
    if (s != QP_OK)
        return s;
    struct qp_err e = {{0}};
    s = h->op == QP_MCAP_OP_SCHEMA ? qp_mcap_defs_add_schema(r, r->rec, (size_t)h->len, &e)
                                   : qp_mcap_defs_add_channel(r, r->rec, (size_t)h->len, &e);
    if (s == QP_E_FORMAT)
        return malformed(r, err, "%s: %s record at offset %llu: %s", r->path,
                         qp_mcap_op_name(h->op), (unsigned long long)h->off, e.msg);
    return s == QP_OK ? QP_OK : qp_fail(err, s, "%s: %s", r->path, e.msg);
}

static enum qp_status on_message(struct qp_mcap_reader *r, const struct qp_mcap_rec *h,
                                 struct qp_mcap_message *m, bool *got, struct qp_err *err)
{
    enum qp_status s = load(r, h, err);
    if (s != QP_OK)
        return s;
    if (h->len < QP_MCAP_MESSAGE_HEAD)
        return malformed(r, err,
                         "%s: Message record at offset %llu: %llu bytes, shorter than its header",
                         r->path, (unsigned long long)h->off, (unsigned long long)h->len);
    if (!qp_mcap_defs_channel(r, qp_mcap_get_u16(r->rec)))
        return malformed(r, err,
                         "%s: Message record at offset %llu: channel %u is not defined before it",
                         r->path, (unsigned long long)h->off, qp_mcap_get_u16(r->rec));
    fill_message(r->rec, (size_t)h->len, m);
    *got = true;
    return QP_OK;
}

static enum qp_status on_data_end(struct qp_mcap_reader *r, const struct qp_mcap_rec *h,
                                  struct qp_mcap_message *m, bool *got, struct qp_err *err)
{
    return finish(r, QP_MCAP_END_DATA_END, "%s: Data End at offset %llu", r->path,
                  (unsigned long long)h->off);
}

/* A Footer (or Header) inside the data section: a writer that wrote no
 * Data End; the data is over. */
static enum qp_status on_footer(struct qp_mcap_reader *r, const struct qp_mcap_rec *h,
                                struct qp_mcap_message *m, bool *got, struct qp_err *err)
{
    return finish(r, QP_MCAP_END_EOF, "%s: %s record at offset %llu ends the data", r->path,
                  qp_mcap_op_name(h->op), (unsigned long long)h->off);
}

static enum qp_status on_skip(struct qp_mcap_reader *r, const struct qp_mcap_rec *h,
                              struct qp_mcap_message *m, bool *got, struct qp_err *err)
{
    r->n_attachments += h->op == QP_MCAP_OP_ATTACHMENT;
    r->n_metadata += h->op == QP_MCAP_OP_METADATA;
    r->st.n_skipped++;
    return QP_OK;
}

typedef enum qp_status (*on_record_fn)(struct qp_mcap_reader *r, const struct qp_mcap_rec *h,
                                       struct qp_mcap_message *m, bool *got, struct qp_err *err);

/* What the walk does per opcode; NULL (and every opcode past the table):
 * skip unread. */
static const on_record_fn on_record[QP_MCAP_OP_COUNT] = {
    [QP_MCAP_OP_HEADER] = on_footer,     [QP_MCAP_OP_FOOTER] = on_footer,
    [QP_MCAP_OP_SCHEMA] = on_def,        [QP_MCAP_OP_CHANNEL] = on_def,
    [QP_MCAP_OP_MESSAGE] = on_message,   [QP_MCAP_OP_CHUNK] = on_chunk,
    [QP_MCAP_OP_DATA_END] = on_data_end,
};

/* ===== The walk ===== */

enum qp_status qp_mcap_scan_step(struct qp_mcap_reader *r, struct qp_mcap_message *m, bool *got,
                                 struct qp_err *err)
{
    *got = false;
    for (;;) {
        if (r->it.in_chunk) {
            if (chunk_next(r, m)) {
                *got = true;
                count_message(r, m);
                return QP_OK;
            }
            r->it.in_chunk = false;
        }
        if (r->it.sticky)
            return qp_fail(err, r->it.sticky, "%s", r->it.msg);
        if (r->it.end)
            return QP_OK;
        struct qp_mcap_rec h;
        enum qp_status     s = next_frame(r, &h, err);
        if (s != QP_OK || r->it.end)
            return s;
        /* next_frame fills h unless finish() ended the walk, which the analyzer
         * cannot see (it does not enter variadic functions) */
        /* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): see above */
        on_record_fn fn = h.op < QP_MCAP_OP_COUNT && on_record[h.op] ? on_record[h.op] : on_skip;
        s               = fn(r, &h, m, got, err);
        if (r->it.sticky)
            return s;
        if (s == QP_OK || s == QP_E_FORMAT) /* past it, also past a bad chunk; an I/O
                                             * error leaves it to be read again */
            /* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign): h is set, as above */
            r->it.off = r->st.offset = h.end;
        if (*got)
            count_message(r, m);
        if (s != QP_OK || *got)
            return s;
    }
}

void qp_mcap_scan_rewind(struct qp_mcap_reader *r)
{
    memset(&r->it, 0, sizeof r->it);
    memset(&r->st, 0, sizeof r->st);
    r->it.off = r->st.offset = r->data_start;
    r->n_attachments = r->n_metadata = 0;
}
