// SPDX-License-Identifier: Apache-2.0
/*
 * test_mcap_hostile.c - the MCAP reader against damaged and hostile files:
 * a recording cut at every byte (refused cleanly before the Header ends,
 * else exactly the messages of the complete chunks), bit flips inside
 * chunks (caught by the CRC, the chunk skipped and named, the rest read),
 * unknown opcodes and trailing fields (read, as the spec requires), lengths
 * beyond the file or the enclosing record (refused, naming the offset and
 * the record), and random mutations (a status, never a crash: run it under
 * ASan). Leaks are checked with qp_alloc_live.
 */
#define _POSIX_C_SOURCE 200809L
#include "core/alloc.h"
#include "mcap_case.h"

/* ===== A written file's chunks ===== */

struct chunk_at {
    uint64_t off, len;     /* the Chunk record */
    uint64_t body, body_n; /* its records field */
    uint32_t first, n;     /* message numbers first .. first + n - 1 */
};

struct layout {
    uint8_t        *file;
    size_t          size;
    uint64_t        data_start, data_end_off; /* Header end; Data End record */
    size_t          n_chunks;
    struct chunk_at chunks[256];
};

/* Write the recording of message numbers and learn where its chunks are
 * (message counts from the Message Index records). */
static void layout_make(const char *path, enum qp_mcap_compression c, size_t chunk_bytes,
                        uint32_t n, bool small, struct layout *l)
{
    memset(l, 0, sizeof *l);
    CU_ASSERT_FATAL(mc_write(path, c, chunk_bytes, n, small, NULL) == QP_OK);
    l->file = mc_file_read(path, &l->size);
    CU_ASSERT_FATAL(l->file != NULL);
    struct qp_mcap_reader *r;
    CU_ASSERT_FATAL(qp_mcap_reader_open(path, NULL, &r, NULL) == QP_OK);
    const struct qp_mcap_info *in = qp_mcap_reader_info(r);
    CU_ASSERT_FATAL(in->n_chunks >= 2 && in->n_chunks <= 256);
    l->data_start  = QP_MCAP_MAGIC_LEN + QP_MCAP_RECORD_HEAD + qp_mcap_get_u64(l->file + 9);
    uint32_t first = 0;
    for (size_t i = 0; i < in->n_chunks; i++) {
        const struct qp_mcap_chunk_index *ci = &in->chunks[i];
        struct chunk_at                  *k  = &l->chunks[i];
        k->off                               = ci->chunk_offset;
        k->len                               = ci->chunk_length;
        k->body_n                            = ci->compressed_bytes;
        k->body                              = k->off + k->len - k->body_n;
        k->first                             = first;
        for (size_t j = 0; j < ci->n_message_index_offsets; j++)
            k->n += qp_mcap_get_u32(l->file + ci->message_index_offsets[j].offset + 11) / 16;
        first += k->n;
    }
    CU_ASSERT_FATAL(first == n);
    l->n_chunks                            = in->n_chunks;
    const struct qp_mcap_chunk_index *last = &in->chunks[in->n_chunks - 1];
    l->data_end_off = last->chunk_offset + last->chunk_length + last->message_index_length;
    CU_ASSERT_FATAL(l->file[l->data_end_off] == QP_MCAP_OP_DATA_END);
    qp_mcap_reader_free(r);
}

/* Read every message, expecting numbers 0 .. n-1 without those of chunk
 * skip (-1: none); returns how many, counts QP_E_FORMAT errors, checks each
 * error names *expect_err (may be NULL). */
static uint32_t read_expect(struct qp_mcap_reader *r, const struct layout *l, int skip, bool small,
                            int *n_err, const char *expect_err)
{
    uint32_t k = 0, got_n = 0;
    *n_err = 0;
    for (int guard = 0; guard < 100000; guard++) {
        struct qp_mcap_message m;
        bool                   got;
        struct qp_err          err;
        enum qp_status         s = qp_mcap_reader_next(r, &m, &got, &err);
        if (s != QP_OK) {
            CU_ASSERT(s == QP_E_FORMAT);
            if (expect_err && !strstr(err.msg, expect_err))
                fprintf(stderr, "error '%s' does not name '%s'\n", err.msg, expect_err);
            CU_ASSERT(!expect_err || strstr(err.msg, expect_err));
            if (++*n_err > 10)
                break;
            continue;
        }
        if (!got)
            break;
        if (skip >= 0 && k == l->chunks[skip].first)
            k += l->chunks[skip].n;
        CU_ASSERT(mc_is_message(k, small, &m));
        k++;
        got_n++;
    }
    return got_n;
}

/* ===== Truncation ===== */

/* Cut the file at path (a copy of l's, at most as long) to `cut` bytes and
 * check the reader: refused before the Header is complete, else exactly the
 * complete chunks' messages. Cuts go from long to short: truncate(2) is
 * cheaper than writing every prefix. */
static void check_cut(const char *path, const struct layout *l, size_t cut, bool small)
{
    CU_ASSERT_FATAL(truncate(path, (off_t)cut) == 0);
    struct qp_mcap_reader *r = NULL;
    struct qp_err          err;
    enum qp_status         s = qp_mcap_reader_open(path, NULL, &r, &err);
    if (cut < l->data_start) {
        CU_ASSERT(s == QP_E_FORMAT && strstr(err.msg, path) != NULL);
        return;
    }
    if (s != QP_OK)
        fprintf(stderr, "cut at %zu: %s\n", cut, err.msg);
    CU_ASSERT_FATAL(s == QP_OK);
    uint32_t want = 0, whole = 0;
    for (size_t i = 0; i < l->n_chunks; i++) {
        if (l->chunks[i].off + l->chunks[i].len <= cut) {
            want += l->chunks[i].n;
            whole++;
        }
    }
    const struct qp_mcap_info *in = qp_mcap_reader_info(r);
    if (cut == l->size) {
        CU_ASSERT(in->has_summary);
    } else {
        CU_ASSERT(!in->has_summary && in->recovered_bytes <= cut && in->n_bad_chunks == 0);
        CU_ASSERT(in->n_chunks == whole && in->stats.n_messages == want);
        bool past_data_end = cut >= l->data_end_off + QP_MCAP_RECORD_HEAD + 4;
        CU_ASSERT(past_data_end ? in->end == QP_MCAP_END_DATA_END
                                : in->end == QP_MCAP_END_TRUNCATED || in->end == QP_MCAP_END_EOF);
    }
    int n_err;
    if (read_expect(r, l, -1, small, &n_err, NULL) != want)
        fprintf(stderr, "cut at %zu: expected %u messages\n", cut, want);
    CU_ASSERT(n_err == 0);
    qp_mcap_reader_free(r);
}

static void test_truncated_at_every_byte(void)
{
    static const enum qp_mcap_compression comp[] = {QP_MCAP_COMPRESSION_ZSTD,
                                                    QP_MCAP_COMPRESSION_LZ4};
    char                                  full[1200], cut[1200];
    struct layout                         l;
    mc_path("trunc_full.mcap", full, sizeof full);
    mc_path("trunc_cut.mcap", cut, sizeof cut);
    for (size_t c = 0; c < 2; c++) {
        int64_t live = qp_alloc_live();
        layout_make(full, comp[c], 4096, 260, true, &l);
        CU_ASSERT(l.n_chunks >= 4);
        CU_ASSERT_FATAL(mc_file_write(cut, l.file, l.size));
        for (size_t n = l.size + 1; n-- > 0;)
            check_cut(cut, &l, n, true);
        free(l.file);
        CU_ASSERT(qp_alloc_live() == live);
    }
}

/* A larger file, uncompressed: every byte around each chunk's edges and a
 * dense sample in between. */
static void test_truncated_dense_sample(void)
{
    char          full[1200], cut[1200];
    struct layout l;
    mc_path("trunc_big.mcap", full, sizeof full);
    mc_path("trunc_big_cut.mcap", cut, sizeof cut);
    layout_make(full, QP_MCAP_COMPRESSION_NONE, 16 << 10, 3000, false, &l);
    bool *at = calloc(l.size + 1, 1); /* the cuts to make */
    CU_ASSERT_FATAL(at != NULL);
    for (size_t n = 0; n <= l.size; n += 97)
        at[n] = true;
    for (size_t i = 0; i < l.n_chunks; i++) {
        const uint64_t edges[3] = {l.chunks[i].off, l.chunks[i].body,
                                   l.chunks[i].off + l.chunks[i].len};
        for (size_t e = 0; e < 3; e++)
            for (uint64_t n = edges[e] - 3; n <= edges[e] + 3 && n <= l.size; n++)
                at[n] = true;
    }
    at[l.size] = true;
    CU_ASSERT_FATAL(mc_file_write(cut, l.file, l.size));
    for (size_t n = l.size + 1; n-- > 0;)
        if (at[n])
            check_cut(cut, &l, n, false);
    free(at);
    free(l.file);
}

/* ===== Bit flips ===== */

/* Read a flipped file: the flipped chunk i is skipped with one error naming
 * it and every other message comes back exactly, or (compressed chunks only)
 * the flip left the decoded records as they were (lz4 / zstd can encode the
 * same bytes more than one way, e.g. a match offset to an equal earlier
 * run) and all come back. Returns whether the flip was harmless. */
static bool check_flip(const char *bad, const struct layout *l, size_t i, bool compressed,
                       uint32_t total)
{
    char name[64];
    snprintf(name, sizeof name, "Chunk at offset %llu", (unsigned long long)l->chunks[i].off);
    bool harmless = false;
    for (int scan = 0; scan < 2; scan++) {
        struct qp_mcap_reader     *r;
        struct qp_mcap_reader_opts o = {.ignore_summary = scan};
        CU_ASSERT_FATAL(qp_mcap_reader_open(bad, &o, &r, NULL) == QP_OK);
        uint32_t n = 0, n_err = 0, k = 0;
        bool     in_order = true;
        for (int guard = 0; guard < 10000; guard++) {
            struct qp_mcap_message m;
            bool                   got;
            struct qp_err          err;
            enum qp_status         s = qp_mcap_reader_next(r, &m, &got, &err);
            if (s != QP_OK) {
                CU_ASSERT(s == QP_E_FORMAT && strstr(err.msg, name) != NULL);
                n_err++;
                continue;
            }
            if (!got)
                break;
            if (n_err && k == l->chunks[i].first)
                k += l->chunks[i].n;
            CU_ASSERT(mc_is_message(m.sequence, false, &m)); /* content is a function of seq */
            in_order &= m.sequence == k++;
            n++;
        }
        harmless = compressed && n_err == 0;
        CU_ASSERT(in_order);
        CU_ASSERT(harmless ? n == total : n_err == 1 && n == total - l->chunks[i].n);
        struct qp_mcap_read_stats st;
        qp_mcap_reader_stats(r, &st);
        CU_ASSERT(st.n_bad_chunks == n_err && st.end == QP_MCAP_END_DATA_END);
        const struct qp_mcap_info *in = qp_mcap_reader_info(r);
        CU_ASSERT(!scan || (in->n_bad_chunks == n_err && in->stats.n_messages == n));
        qp_mcap_reader_free(r);
    }
    return harmless;
}

static void test_bit_flips_caught_by_crc(void)
{
    static const enum qp_mcap_compression comp[] = {
        QP_MCAP_COMPRESSION_NONE, QP_MCAP_COMPRESSION_ZSTD, QP_MCAP_COMPRESSION_LZ4};
    char          full[1200], bad[1200];
    struct layout l;
    mc_path("flip_full.mcap", full, sizeof full);
    mc_path("flip.mcap", bad, sizeof bad);
    for (size_t c = 0; c < 3; c++) {
        layout_make(full, comp[c], 4096, 600, false, &l);
        int n_flips = 0, n_harmless = 0;
        for (size_t i = 0; i < l.n_chunks; i++) {
            for (uint64_t j = 0; j < 3; j++, n_flips++) {
                uint64_t at  = l.chunks[i].body + (j * 7919 + 13) % l.chunks[i].body_n;
                uint8_t  bit = (uint8_t)(1u << (j + i) % 8);
                l.file[at] ^= bit;
                CU_ASSERT_FATAL(mc_file_write(bad, l.file, l.size));
                l.file[at] ^= bit;
                n_harmless += check_flip(bad, &l, i, comp[c] != QP_MCAP_COMPRESSION_NONE, 600);
            }
        }
        CU_ASSERT(n_harmless * 10 < n_flips); /* almost every flip changes the records */
        free(l.file);
    }
}

/* ===== Unknown records and trailing fields ===== */

/* A file with everything a reader must tolerate: extension and unknown
 * opcodes (top level, in a chunk, in the summary), trailing fields on every
 * extensible record, an Attachment, a Metadata record, an unchunked
 * message, chunks of both kinds. Messages: m0 .. m3 on channels 7, 8, 7, 7. */
static void build_tolerant(struct mc_buf *b, bool with_crc)
{
    b->n = 0;
    mc_put(b, qp_mcap_magic, 8);
    size_t at = mc_begin(b, QP_MCAP_OP_HEADER);
    mc_str(b, "x-test");
    mc_str(b, "hand");
    mc_put(b, "abc", 3); /* a future field */
    mc_end(b, at);
    at = mc_begin(b, 0x80);
    mc_put(b, "\x01\x02\x03\x04\x05", 5);
    mc_end(b, at);
    size_t sch = b->n;
    at         = mc_begin(b, QP_MCAP_OP_SCHEMA);
    mc_u16(b, 1);
    mc_str(b, "pkg.S");
    mc_str(b, "protobuf");
    mc_u32(b, 3);
    mc_put(b, "fds", 3);
    mc_put(b, "tail", 4);
    mc_end(b, at);
    size_t sch_len = b->n - sch;
    size_t ch7     = b->n;
    at             = mc_begin(b, QP_MCAP_OP_CHANNEL);
    mc_u16(b, 7);
    mc_u16(b, 1);
    mc_str(b, "/t");
    mc_str(b, "protobuf");
    mc_u32(b, 10);
    mc_str(b, "k");
    mc_str(b, "v");
    mc_put(b, "zz", 2);
    mc_end(b, at);
    size_t ch7_len = b->n - ch7;
    at             = mc_begin(b, QP_MCAP_OP_MESSAGE);
    mc_u16(b, 7);
    mc_u32(b, 0);
    mc_u64(b, 10);
    mc_u64(b, 11);
    mc_put(b, "m0", 2);
    mc_end(b, at);
    at = mc_begin(b, QP_MCAP_OP_ATTACHMENT);
    mc_u64(b, 1);
    mc_u64(b, 2);
    mc_str(b, "calib.yaml");
    mc_str(b, "text/yaml");
    mc_u64(b, 4);
    mc_put(b, "k: 1", 4);
    mc_u32(b, 0);
    mc_end(b, at);
    at = mc_begin(b, QP_MCAP_OP_METADATA);
    mc_str(b, "drive");
    mc_u32(b, 0);
    mc_end(b, at);

    /* chunk 1, uncompressed: unknown record, channel 8 with a tail, m1, m2 */
    struct mc_buf *in = calloc(1, sizeof *in);
    size_t         a  = mc_begin(in, 0x81);
    mc_u32(in, 99);
    mc_end(in, a);
    size_t ch8 = in->n;
    a          = mc_begin(in, QP_MCAP_OP_CHANNEL);
    mc_u16(in, 8);
    mc_u16(in, 0);
    mc_str(in, "/u");
    mc_str(in, "json");
    mc_u32(in, 0);
    mc_put(in, "t", 1);
    mc_end(in, a);
    uint8_t ch8_rec[64];
    size_t  ch8_len = in->n - ch8;
    memcpy(ch8_rec, in->p + ch8, ch8_len);
    for (uint32_t k = 1; k <= 2; k++) {
        a = mc_begin(in, QP_MCAP_OP_MESSAGE);
        mc_u16(in, k == 1 ? 8 : 7);
        mc_u32(in, k);
        mc_u64(in, 10 + k);
        mc_u64(in, 11 + k);
        mc_put(in, k == 1 ? "m1" : "m2", 2);
        mc_end(in, a);
    }
    uint64_t c1 = b->n;
    at          = mc_begin(b, QP_MCAP_OP_CHUNK);
    mc_u64(b, 11);
    mc_u64(b, 12);
    mc_u64(b, in->n);
    mc_u32(b, qp_mcap_crc32(0, in->p, in->n));
    mc_str(b, "");
    mc_u64(b, in->n);
    mc_put(b, in->p, in->n);
    mc_put(b, "future", 6);
    mc_end(b, at);
    uint64_t c1_len = b->n - c1;
    at              = mc_begin(b, QP_MCAP_OP_MESSAGE_INDEX);
    mc_u16(b, 8);
    mc_u32(b, 16);
    mc_u64(b, 11);
    mc_u64(b, (uint64_t)(ch8 + ch8_len));
    mc_end(b, at);

    /* chunk 2, zstd: m3 */
    in->n = 0;
    a     = mc_begin(in, QP_MCAP_OP_MESSAGE);
    mc_u16(in, 7);
    mc_u32(in, 3);
    mc_u64(in, 13);
    mc_u64(in, 14);
    mc_put(in, "m3", 2);
    mc_end(in, a);
    struct qp_mcap_codec *k;
    uint8_t               z[512];
    size_t                zn;
    CU_ASSERT_FATAL(qp_mcap_codec_new(QP_MCAP_COMPRESSION_ZSTD, 3, true, &k, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_mcap_codec_compress(k, z, sizeof z, in->p, in->n, &zn, NULL) == QP_OK);
    qp_mcap_codec_free(k);
    uint64_t c2 = b->n;
    at          = mc_begin(b, QP_MCAP_OP_CHUNK);
    mc_u64(b, 13);
    mc_u64(b, 13);
    mc_u64(b, in->n);
    mc_u32(b, 0); /* no CRC */
    mc_str(b, "zstd");
    mc_u64(b, zn);
    mc_put(b, z, zn);
    mc_end(b, at);
    uint64_t c2_len = b->n - c2;
    free(in);
    at = mc_begin(b, QP_MCAP_OP_DATA_END);
    mc_u32(b, 0);
    mc_put(b, "more", 4);
    mc_end(b, at);

    uint64_t sum = b->n;
    at           = mc_begin(b, 0x90);
    mc_end(b, at);
    mc_put(b, b->p + sch, sch_len);
    mc_put(b, b->p + ch7, ch7_len);
    mc_put(b, ch8_rec, ch8_len);
    at = mc_begin(b, QP_MCAP_OP_STATISTICS);
    mc_u64(b, 4);
    mc_u16(b, 1);
    mc_u32(b, 2);
    mc_u32(b, 1);
    mc_u32(b, 1);
    mc_u32(b, 2);
    mc_u64(b, 10);
    mc_u64(b, 13);
    mc_u32(b, 20);
    mc_u16(b, 7);
    mc_u64(b, 3);
    mc_u16(b, 8);
    mc_u64(b, 1);
    mc_put(b, "stat-tail", 9);
    mc_end(b, at);
    for (int i = 0; i < 2; i++) {
        at = mc_begin(b, QP_MCAP_OP_CHUNK_INDEX);
        mc_u64(b, i ? 13 : 11);
        mc_u64(b, i ? 13 : 12);
        mc_u64(b, i ? c2 : c1);
        mc_u64(b, i ? c2_len : c1_len);
        mc_u32(b, 0);
        mc_u64(b, 0);
        mc_str(b, i ? "zstd" : "");
        mc_u64(b, 0);
        mc_u64(b, 0);
        mc_put(b, "idx-tail", 8);
        mc_end(b, at);
    }
    size_t foot = b->n;
    at          = mc_begin(b, QP_MCAP_OP_FOOTER);
    mc_u64(b, sum);
    mc_u64(b, 0);
    mc_u32(b, 0);
    mc_end(b, at);
    if (with_crc)
        qp_mcap_put_u32(b->p + foot + 25, qp_mcap_crc32(0, b->p + sum, foot + 25 - sum));
    mc_put(b, qp_mcap_magic, 8);
}

static void check_tolerant_messages(struct qp_mcap_reader *r)
{
    static const uint16_t ch[4] = {7, 8, 7, 7};
    for (uint32_t k = 0; k < 4; k++) {
        struct qp_mcap_message m;
        bool                   got;
        struct qp_err          err;
        char                   want[3] = {'m', (char)('0' + k), 0};
        enum qp_status         s       = qp_mcap_reader_next(r, &m, &got, &err);
        if (s != QP_OK)
            fprintf(stderr, "tolerant: %s\n", err.msg);
        CU_ASSERT_FATAL(s == QP_OK && got);
        CU_ASSERT(m.channel_id == ch[k] && m.sequence == k && m.log_time_ns == 10 + k);
        CU_ASSERT(m.publish_time_ns == 11 + k && m.len == 2 && memcmp(m.data, want, 2) == 0);
        CU_ASSERT(qp_mcap_reader_channel(r, m.channel_id) != NULL);
    }
    struct qp_mcap_message m;
    bool                   got = true;
    CU_ASSERT(qp_mcap_reader_next(r, &m, &got, NULL) == QP_OK && !got);
    struct qp_mcap_read_stats st;
    qp_mcap_reader_stats(r, &st);
    CU_ASSERT(st.end == QP_MCAP_END_DATA_END && st.n_skipped == 4 && st.n_chunks == 2);
    CU_ASSERT(st.n_messages == 4 && st.n_bad_chunks == 0);
}

static void test_unknown_records_and_trailing_fields(void)
{
    static struct mc_buf b;
    char                 path[1200];
    mc_path("tolerant.mcap", path, sizeof path);
    int64_t live = qp_alloc_live();
    build_tolerant(&b, false);
    CU_ASSERT_FATAL(mc_file_write(path, b.p, b.n));
    struct qp_mcap_reader *r;
    struct qp_err          err;
    CU_ASSERT_FATAL(qp_mcap_reader_open(path, NULL, &r, &err) == QP_OK);
    const struct qp_mcap_info *in = qp_mcap_reader_info(r);
    CU_ASSERT(in->has_summary && in->stats.n_messages == 4 && in->stats.n_channel_counts == 2);
    CU_ASSERT(in->stats.n_attachments == 1 && in->stats.n_chunks == 2);
    CU_ASSERT_STRING_EQUAL(in->profile, "x-test");
    CU_ASSERT_FATAL(in->n_chunks == 2);
    CU_ASSERT(in->chunks[0].compression == QP_MCAP_COMPRESSION_NONE);
    CU_ASSERT(in->chunks[1].compression == QP_MCAP_COMPRESSION_ZSTD);
    const struct qp_mcap_schema *s = qp_mcap_reader_schema(r, 1);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT(s->len == 3 && memcmp(s->data, "fds", 3) == 0);
    CU_ASSERT_STRING_EQUAL(s->name, "pkg.S");
    const struct qp_mcap_channel *c = qp_mcap_reader_channel(r, 7);
    CU_ASSERT_FATAL(c != NULL && c->n_metadata == 1);
    CU_ASSERT_STRING_EQUAL(c->metadata[0].key, "k");
    CU_ASSERT_STRING_EQUAL(c->metadata[0].value, "v");
    CU_ASSERT(qp_mcap_reader_find_topic(r, "/u") == qp_mcap_reader_channel(r, 8));
    check_tolerant_messages(r);
    qp_mcap_reader_free(r);

    struct qp_mcap_reader_opts o = {.ignore_summary = true};
    CU_ASSERT_FATAL(qp_mcap_reader_open(path, &o, &r, &err) == QP_OK);
    in = qp_mcap_reader_info(r);
    CU_ASSERT(!in->has_summary && in->end == QP_MCAP_END_DATA_END && in->stats.n_messages == 4);
    CU_ASSERT(in->stats.n_attachments == 1 && in->stats.n_metadata == 1 && in->n_chunks == 2);
    CU_ASSERT(in->stats.n_schemas == 1 && in->stats.n_channels == 2);
    check_tolerant_messages(r);
    qp_mcap_reader_free(r);

    /* with a summary CRC: valid, then one flipped summary byte is caught */
    build_tolerant(&b, true);
    CU_ASSERT_FATAL(mc_file_write(path, b.p, b.n));
    CU_ASSERT_FATAL(qp_mcap_reader_open(path, NULL, &r, &err) == QP_OK);
    check_tolerant_messages(r);
    qp_mcap_reader_free(r);
    b.p[b.n - 60] ^= 4;
    CU_ASSERT_FATAL(mc_file_write(path, b.p, b.n));
    CU_ASSERT(qp_mcap_reader_open(path, NULL, &r, &err) == QP_E_FORMAT);
    CU_ASSERT(strstr(err.msg, "summary CRC mismatch") != NULL);
    CU_ASSERT(qp_alloc_live() == live);
}

/* ===== Malformed lengths ===== */

/* magic + an empty Header: the data section starts at offset 25 */
#define DATA_START 25

static void begin_file(struct mc_buf *b)
{
    b->n = 0;
    mc_put(b, qp_mcap_magic, 8);
    size_t at = mc_begin(b, QP_MCAP_OP_HEADER);
    mc_str(b, "");
    mc_str(b, "");
    mc_end(b, at);
}

/* A Statistics record's fields up to its channel_message_counts, all 0. */
static void add_statistics_fields(struct mc_buf *b)
{
    mc_u64(b, 0); /* messages */
    mc_u16(b, 0); /* schemas */
    for (int i = 0; i < 4; i++)
        mc_u32(b, 0); /* channels, attachments, metadata, chunks */
    mc_u64(b, 0);
    mc_u64(b, 0);
}

/* Data End, then a summary (one Statistics record) or none, Footer, magic. */
static void end_file(struct mc_buf *b, bool summary)
{
    size_t at = mc_begin(b, QP_MCAP_OP_DATA_END);
    mc_u32(b, 0);
    mc_end(b, at);
    uint64_t sum = b->n;
    if (summary) {
        at = mc_begin(b, QP_MCAP_OP_STATISTICS);
        add_statistics_fields(b);
        mc_u32(b, 0);
        mc_end(b, at);
    }
    at = mc_begin(b, QP_MCAP_OP_FOOTER);
    mc_u64(b, summary ? sum : 0);
    mc_u64(b, 0);
    mc_u32(b, 0);
    mc_end(b, at);
    mc_put(b, qp_mcap_magic, 8);
}

static void add_channel(struct mc_buf *b, uint16_t id)
{
    size_t at = mc_begin(b, QP_MCAP_OP_CHANNEL);
    mc_u16(b, id);
    mc_u16(b, 0);
    mc_str(b, "/c");
    mc_str(b, "json");
    mc_u32(b, 0);
    mc_end(b, at);
}

static void add_message(struct mc_buf *b, uint16_t ch, uint32_t seq)
{
    size_t at = mc_begin(b, QP_MCAP_OP_MESSAGE);
    mc_u16(b, ch);
    mc_u32(b, seq);
    mc_u64(b, seq);
    mc_u64(b, seq);
    mc_put(b, "{}", 2);
    mc_end(b, at);
}

/* An uncompressed chunk of the given records (CRC 0), declared sizes as
 * given (0: the true ones). */
static void add_chunk(struct mc_buf *b, const struct mc_buf *in, const char *comp, uint64_t usize,
                      uint64_t body_len)
{
    size_t at = mc_begin(b, QP_MCAP_OP_CHUNK);
    mc_u64(b, 0);
    mc_u64(b, 0);
    mc_u64(b, usize ? usize : in->n);
    mc_u32(b, 0);
    mc_str(b, comp);
    mc_u64(b, body_len ? body_len : in->n);
    mc_put(b, in->p, in->n);
    mc_end(b, at);
}

/* Open b both ways; with the summary reading fails (sticky) naming want,
 * the scan stops there (scan_end) after n_ok messages. */
static void expect_malformed(const struct mc_buf *b, const char *want, uint32_t n_ok,
                             enum qp_mcap_end scan_end)
{
    char path[1200];
    mc_path("malformed.mcap", path, sizeof path);
    CU_ASSERT_FATAL(mc_file_write(path, b->p, b->n));
    struct qp_mcap_reader *r;
    struct qp_err          err;
    enum qp_status         os = qp_mcap_reader_open(path, NULL, &r, &err);
    if (os != QP_OK)
        fprintf(stderr, "open: %s\n", err.msg);
    CU_ASSERT_FATAL(os == QP_OK);
    CU_ASSERT(qp_mcap_reader_info(r)->has_summary);
    uint32_t n = 0;
    for (int i = 0; i < 3; i++) {
        struct qp_mcap_message m;
        bool                   got;
        enum qp_status         s;
        while ((s = qp_mcap_reader_next(r, &m, &got, &err)) == QP_OK && got)
            n++;
        CU_ASSERT(s == QP_E_FORMAT);
        if (!strstr(err.msg, want) || !strstr(err.msg, path))
            fprintf(stderr, "error '%s' does not name '%s'\n", err.msg, want);
        CU_ASSERT(strstr(err.msg, want) != NULL && strstr(err.msg, path) != NULL);
    }
    CU_ASSERT(n == n_ok);
    qp_mcap_reader_free(r);
    struct qp_mcap_reader_opts o = {.ignore_summary = true};
    CU_ASSERT_FATAL(qp_mcap_reader_open(path, &o, &r, &err) == QP_OK);
    const struct qp_mcap_info *in = qp_mcap_reader_info(r);
    CU_ASSERT(in->end == scan_end && strstr(in->end_reason, want) != NULL);
    CU_ASSERT(in->stats.n_messages == n_ok);
    struct qp_mcap_message m;
    bool                   got;
    n = 0;
    while (qp_mcap_reader_next(r, &m, &got, &err) == QP_OK && got)
        n++;
    CU_ASSERT(n == n_ok && !got); /* the walk ends where the scan did, without an error */
    qp_mcap_reader_free(r);
}

/* Open b; reading yields n_ok messages and exactly one error, naming want,
 * for a bad chunk that is skipped. */
static void expect_bad_chunk(const struct mc_buf *b, const char *want, uint32_t n_ok)
{
    char path[1200];
    mc_path("badchunk.mcap", path, sizeof path);
    CU_ASSERT_FATAL(mc_file_write(path, b->p, b->n));
    for (int scan = 0; scan < 2; scan++) {
        struct qp_mcap_reader     *r;
        struct qp_err              err;
        struct qp_mcap_reader_opts o = {.ignore_summary = scan};
        CU_ASSERT_FATAL(qp_mcap_reader_open(path, &o, &r, &err) == QP_OK);
        uint32_t n = 0, n_err = 0;
        for (int guard = 0; guard < 100; guard++) {
            struct qp_mcap_message m;
            bool                   got;
            enum qp_status         s = qp_mcap_reader_next(r, &m, &got, &err);
            if (s == QP_E_FORMAT) {
                n_err++;
                if (!strstr(err.msg, want))
                    fprintf(stderr, "error '%s' does not name '%s'\n", err.msg, want);
                CU_ASSERT(strstr(err.msg, want) != NULL &&
                          strstr(err.msg, "Chunk at offset") != NULL);
                continue;
            }
            if (s != QP_OK || !got)
                break;
            n++;
        }
        CU_ASSERT(n == n_ok && n_err == 1);
        CU_ASSERT(!scan || qp_mcap_reader_info(r)->n_bad_chunks == 1);
        qp_mcap_reader_free(r);
    }
}

static void test_malformed_records(void)
{
    static struct mc_buf b, in;
    int64_t              live = qp_alloc_live();

    /* a field beyond its record: a topic of 1000 bytes in a 20-byte record */
    begin_file(&b);
    size_t at = mc_begin(&b, QP_MCAP_OP_CHANNEL);
    mc_u16(&b, 1);
    mc_u16(&b, 0);
    mc_u32(&b, 1000);
    mc_put(&b, "/topic/x", 8);
    mc_u32(&b, 0);
    mc_end(&b, at);
    end_file(&b, true);
    expect_malformed(&b, "Channel record at offset 25: fields run past the record", 0,
                     QP_MCAP_END_MALFORMED);

    /* a metadata entry beyond its map */
    begin_file(&b);
    add_channel(&b, 1);
    add_message(&b, 1, 0);
    at = mc_begin(&b, QP_MCAP_OP_CHANNEL);
    mc_u16(&b, 2);
    mc_u16(&b, 0);
    mc_str(&b, "/m");
    mc_str(&b, "json");
    mc_u32(&b, 6);
    mc_u32(&b, 500);
    mc_put(&b, "ab", 2);
    mc_end(&b, at);
    end_file(&b, true);
    expect_malformed(&b, "Channel record at offset", 1, QP_MCAP_END_MALFORMED);

    /* a message shorter than its header, one on a channel never defined */
    begin_file(&b);
    at = mc_begin(&b, QP_MCAP_OP_MESSAGE);
    mc_u16(&b, 1);
    mc_u32(&b, 0);
    mc_end(&b, at);
    end_file(&b, true);
    expect_malformed(&b, "Message record at offset 25: 6 bytes, shorter than its header", 0,
                     QP_MCAP_END_MALFORMED);
    begin_file(&b);
    add_message(&b, 5, 0);
    end_file(&b, true);
    expect_malformed(&b, "channel 5 is not defined before it", 0, QP_MCAP_END_MALFORMED);

    /* a record longer than the data section (summary) / the file (scan) */
    begin_file(&b);
    add_channel(&b, 1);
    add_message(&b, 1, 0);
    size_t m2 = b.n;
    add_message(&b, 1, 1);
    qp_mcap_put_u64(b.p + m2 + 1, (uint64_t)1 << 40);
    end_file(&b, true);
    expect_malformed(&b, "Message record at offset", 1, QP_MCAP_END_TRUNCATED);

    /* records inside a chunk: past the chunk, on an unknown channel; chunk
     * fields: past the record, an absurd size, an unknown compression */
    struct {
        const char *comp;
        uint64_t    usize, body_len;
        int         kind; /* 0: overlong record, 1: unknown channel, 2: plain */
        const char *want;
    } cases[] = {
        {"", 0, 0, 0, "record at +0 (Message) runs past the chunk's"},
        {"", 0, 0, 1, "channel 9 is not defined before it"},
        {"", 0, (uint64_t)1 << 40, 2, "fields run past the record"},
        {"zstd", (uint64_t)1 << 40, 0, 2, "exceeds max_record_bytes"},
        {"bz2", 0, 0, 2, "unsupported compression 'bz2'"},
        {"zstd", 0, 0, 2, "zstd"},
        {"lz4", 0, 0, 2, "lz4"},
        {"", 5, 0, 2, "uncompressed chunk holds"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        in.n = 0;
        add_message(&in, cases[i].kind == 1 ? 9 : 1, 7);
        if (cases[i].kind == 0)
            qp_mcap_put_u64(in.p + 1, 1000);
        begin_file(&b);
        add_channel(&b, 1);
        add_chunk(&b, &in, cases[i].comp, cases[i].usize, cases[i].body_len);
        add_message(&b, 1, 8); /* read after the bad chunk */
        end_file(&b, true);
        expect_bad_chunk(&b, cases[i].want, 1);
    }
    CU_ASSERT(qp_alloc_live() == live);
}

/* A written recording with one chunk's length made absurd: with the summary
 * a sticky error naming it; as a scan, the recording ends there (it looks
 * like a file cut short). */
static void test_huge_length(void)
{
    char          full[1200], bad[1200], want[128];
    struct layout l;
    mc_path("huge_full.mcap", full, sizeof full);
    mc_path("huge.mcap", bad, sizeof bad);
    layout_make(full, QP_MCAP_COMPRESSION_ZSTD, 4096, 300, true, &l);
    qp_mcap_put_u64(l.file + l.chunks[1].off + 1, (uint64_t)1 << 40);
    CU_ASSERT_FATAL(mc_file_write(bad, l.file, l.size));
    snprintf(want, sizeof want, "Chunk record at offset %llu: length 1099511627776 runs past",
             (unsigned long long)l.chunks[1].off);
    struct qp_mcap_reader *r;
    struct qp_err          err;
    CU_ASSERT_FATAL(qp_mcap_reader_open(bad, NULL, &r, &err) == QP_OK);
    int n_err;
    CU_ASSERT(read_expect(r, &l, -1, true, &n_err, want) == l.chunks[0].n);
    CU_ASSERT(n_err == 11); /* sticky: every call fails again */
    qp_mcap_reader_free(r);
    struct qp_mcap_reader_opts o = {.ignore_summary = true};
    CU_ASSERT_FATAL(qp_mcap_reader_open(bad, &o, &r, &err) == QP_OK);
    const struct qp_mcap_info *in = qp_mcap_reader_info(r);
    CU_ASSERT(in->end == QP_MCAP_END_TRUNCATED && in->recovered_bytes == l.chunks[1].off);
    CU_ASSERT(in->stats.n_messages == l.chunks[0].n);
    CU_ASSERT(read_expect(r, &l, -1, true, &n_err, NULL) == l.chunks[0].n && n_err == 0);
    qp_mcap_reader_free(r);

    /* max_record_bytes below the chunk size: every chunk skipped, named */
    CU_ASSERT_FATAL(mc_write(bad, QP_MCAP_COMPRESSION_NONE, 4096, 300, true, NULL) == QP_OK);
    o = (struct qp_mcap_reader_opts){.max_record_bytes = 1024};
    CU_ASSERT_FATAL(qp_mcap_reader_open(bad, &o, &r, &err) == QP_OK);
    CU_ASSERT(read_expect(r, &l, -1, true, &n_err, "exceeds max_record_bytes 1024") == 0);
    struct qp_mcap_read_stats st;
    qp_mcap_reader_stats(r, &st);
    CU_ASSERT(st.n_bad_chunks == qp_mcap_reader_info(r)->n_chunks && st.n_bad_chunks >= 2);
    CU_ASSERT(n_err == (int)st.n_bad_chunks);
    qp_mcap_reader_free(r);
    free(l.file);
}

/* Footer and summary that point where they cannot. */
static void test_bad_summary(void)
{
    static struct mc_buf b;
    char                 path[1200];
    struct qp_err        err;
    mc_path("badsum.mcap", path, sizeof path);
    struct qp_mcap_reader *r = NULL;
    struct {
        int         kind;
        const char *want;
    } cases[] = {
        {0, "Chunk Index record at offset"},
        {1, "Statistics record at offset"},
        {2, "Footer at offset"},
        {3, "runs past the summary end"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        begin_file(&b);
        add_channel(&b, 1);
        size_t at = mc_begin(&b, QP_MCAP_OP_DATA_END);
        mc_u32(&b, 0);
        mc_end(&b, at);
        uint64_t sum = b.n;
        at = mc_begin(&b, cases[i].kind == 1 ? QP_MCAP_OP_STATISTICS : QP_MCAP_OP_CHUNK_INDEX);
        if (cases[i].kind == 1) { /* a channel count map of 7 bytes */
            add_statistics_fields(&b);
            mc_u32(&b, 7);
            mc_put(&b, "1234567", 7);
        } else {
            mc_u64(&b, 0);
            mc_u64(&b, 0);
            mc_u64(&b, 10000); /* a chunk past the data section */
            mc_u64(&b, 50);
            mc_u32(&b, 0);
            mc_u64(&b, 0);
            mc_str(&b, "");
            mc_u64(&b, 0);
            mc_u64(&b, 0);
        }
        mc_end(&b, at);
        if (cases[i].kind == 3)
            qp_mcap_put_u64(b.p + at + 1, 5000);
        at = mc_begin(&b, QP_MCAP_OP_FOOTER);
        mc_u64(&b, cases[i].kind == 2 ? 100000 : sum);
        mc_u64(&b, 0);
        mc_u32(&b, 0);
        mc_end(&b, at);
        mc_put(&b, qp_mcap_magic, 8);
        CU_ASSERT_FATAL(mc_file_write(path, b.p, b.n));
        CU_ASSERT(qp_mcap_reader_open(path, NULL, &r, &err) == QP_E_FORMAT);
        if (!strstr(err.msg, cases[i].want))
            fprintf(stderr, "error '%s' does not name '%s'\n", err.msg, cases[i].want);
        CU_ASSERT(strstr(err.msg, cases[i].want) != NULL && strstr(err.msg, path) != NULL);
        struct qp_mcap_reader_opts o = {.ignore_summary = true}; /* the data is fine */
        CU_ASSERT(qp_mcap_reader_open(path, &o, &r, &err) == QP_OK);
        qp_mcap_reader_free(r);
    }
}

/* Files that are not MCAP recordings at all. */
static void test_not_mcap(void)
{
    static struct mc_buf   b;
    char                   path[1200];
    struct qp_err          err;
    struct qp_mcap_reader *r = NULL;
    mc_path("notmcap.mcap", path, sizeof path);
    struct {
        int            kind;
        enum qp_status s;
        const char    *want;
    } cases[] = {
        {0, QP_E_FORMAT, "too short"},
        {1, QP_E_FORMAT, "not an MCAP file"},
        {2, QP_E_FORMAT, "major version 0x31"},
        {3, QP_E_FORMAT, "not a Header"},
        {4, QP_E_FORMAT, "Header record at offset 8"},
        {5, QP_E_FORMAT, "fields run past"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        b.n = 0;
        if (cases[i].kind == 1)
            mc_put(&b, "hello, this is a text file\n", 27);
        if (cases[i].kind >= 2) {
            mc_put(&b, qp_mcap_magic, 8);
            b.p[5]    = cases[i].kind == 2 ? '1' : '0';
            size_t at = mc_begin(&b, cases[i].kind == 3 ? QP_MCAP_OP_FOOTER : QP_MCAP_OP_HEADER);
            mc_u32(&b, cases[i].kind == 5 ? 100 : 0);
            mc_u32(&b, 0);
            mc_end(&b, at);
            if (cases[i].kind == 4)
                qp_mcap_put_u64(b.p + at + 1, 1000);
        }
        CU_ASSERT_FATAL(mc_file_write(path, b.p, b.n));
        CU_ASSERT(qp_mcap_reader_open(path, NULL, &r, &err) == cases[i].s);
        if (!strstr(err.msg, cases[i].want))
            fprintf(stderr, "error '%s' does not name '%s'\n", err.msg, cases[i].want);
        CU_ASSERT(strstr(err.msg, cases[i].want) != NULL && strstr(err.msg, path) != NULL);
    }
    CU_ASSERT(qp_mcap_reader_open(mc_tmpdir, NULL, &r, &err) == QP_E_IO);
    CU_ASSERT(strstr(err.msg, "not a regular file") != NULL);
    mc_path("missing.mcap", path, sizeof path);
    CU_ASSERT(qp_mcap_reader_open(path, NULL, &r, &err) == QP_E_IO);
    CU_ASSERT(strstr(err.msg, path) != NULL);
}

/* ===== Random mutations ===== */

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Mutated recordings: every call returns a status, nothing is read out of
 * bounds (ASan), nothing leaks. */
static void test_random_mutations(void)
{
    static const enum qp_mcap_compression comp[] = {
        QP_MCAP_COMPRESSION_NONE, QP_MCAP_COMPRESSION_ZSTD, QP_MCAP_COMPRESSION_LZ4};
    char          full[1200], bad[1200];
    struct layout l;
    uint64_t      seed = 0x9E3779B97F4A7C15ull;
    mc_path("fuzz_full.mcap", full, sizeof full);
    mc_path("fuzz.mcap", bad, sizeof bad);
    int64_t live = qp_alloc_live();
    for (size_t c = 0; c < 3; c++) {
        layout_make(full, comp[c], 4096, 300, true, &l);
        uint8_t *m = malloc(l.size);
        for (int it = 0; it < 700; it++) {
            memcpy(m, l.file, l.size);
            size_t n = l.size;
            for (int k = 0, n_mut = 1 + (int)(rng_next(&seed) % 4); k < n_mut; k++) {
                size_t at = (size_t)(rng_next(&seed) % n);
                m[at]     = rng_next(&seed) % 3 ? (uint8_t)(m[at] ^ (1u << (rng_next(&seed) % 8)))
                                                : (uint8_t)rng_next(&seed);
            }
            if (rng_next(&seed) % 4 == 0)
                n = (size_t)(rng_next(&seed) % n);
            CU_ASSERT_FATAL(mc_file_write(bad, m, n));
            for (int scan = 0; scan < 2; scan++) {
                struct qp_mcap_reader     *r;
                struct qp_mcap_reader_opts o = {.max_record_bytes = 1 << 20,
                                                .ignore_summary   = scan};
                enum qp_status             s = qp_mcap_reader_open(bad, &o, &r, NULL);
                CU_ASSERT(s == QP_OK || s == QP_E_FORMAT);
                if (s != QP_OK)
                    continue;
                for (int guard = 0; guard < 2000; guard++) {
                    struct qp_mcap_message msg;
                    bool                   got;
                    s = qp_mcap_reader_next(r, &msg, &got, NULL);
                    CU_ASSERT(s == QP_OK || s == QP_E_FORMAT);
                    if (s == QP_OK && !got)
                        break;
                    if (s == QP_OK)
                        CU_ASSERT(qp_mcap_reader_channel(r, msg.channel_id) != NULL);
                }
                qp_mcap_reader_free(r);
            }
        }
        free(m);
        free(l.file);
    }
    CU_ASSERT(qp_alloc_live() == live);
}

static CU_TestInfo trunc_tests[] = {
    {"truncated at every byte (zstd, lz4)", test_truncated_at_every_byte},
    {"truncated, dense sample of a larger file", test_truncated_dense_sample},
    {"bit flips caught by the chunk CRC", test_bit_flips_caught_by_crc},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo hostile_tests[] = {
    {"unknown records and trailing fields", test_unknown_records_and_trailing_fields},
    {"malformed records", test_malformed_records},
    {"absurd lengths and max_record_bytes", test_huge_length},
    {"bad footer and summary", test_bad_summary},
    {"not an MCAP file", test_not_mcap},
    {"random mutations", test_random_mutations},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"mcap/truncation", mc_suite_init, mc_suite_clean, NULL, NULL, trunc_tests},
    {"mcap/hostile", mc_suite_init, mc_suite_clean, NULL, NULL, hostile_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
