// SPDX-License-Identifier: Apache-2.0
/*
 * test_mcap.c - the MCAP writer and reader together: round trips with
 * none / zstd / lz4 chunks over several channels and many chunks (every
 * message back exactly), the summary (statistics per channel, chunk indexes
 * that point at the chunks and message indexes actually in the file), the
 * scan of a file without summary agreeing with the summary, the writer's
 * errors (bad options, unknown channel, oversized message, disk full with
 * the file cut back to its complete chunks), flush / abandon as a crash
 * leaves them, no allocation per message, and allocation failures.
 * Hostile files are in test_mcap_hostile.c; the official implementation's
 * view is in tests/e2e/test_mcap_conformance.c.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <sys/resource.h>

#include "core/alloc.h"
#include "mcap_case.h"

static const enum qp_mcap_compression all_comp[] = {
    QP_MCAP_COMPRESSION_NONE, QP_MCAP_COMPRESSION_ZSTD, QP_MCAP_COMPRESSION_LZ4};

/* The chunk indexes point at Chunk records, and their message index offsets
 * at Message Index records of the right channel right after the chunk. */
static void check_chunk_indexes(const char *path, const struct qp_mcap_info *in)
{
    size_t   n;
    uint8_t *f = mc_file_read(path, &n);
    CU_ASSERT_FATAL(f != NULL);
    uint64_t prev_end = 0;
    for (size_t i = 0; i < in->n_chunks; i++) {
        const struct qp_mcap_chunk_index *c = &in->chunks[i];
        CU_ASSERT_FATAL(c->chunk_offset + c->chunk_length <= n);
        CU_ASSERT(c->chunk_offset >= prev_end);
        CU_ASSERT(f[c->chunk_offset] == QP_MCAP_OP_CHUNK);
        CU_ASSERT(qp_mcap_get_u64(f + c->chunk_offset + 1) + 9 == c->chunk_length);
        CU_ASSERT(c->n_message_index_offsets >= 1 && c->n_message_index_offsets <= 3);
        CU_ASSERT(c->message_start_ns <= c->message_end_ns);
        uint64_t idx_end = c->chunk_offset + c->chunk_length + c->message_index_length;
        for (size_t k = 0; k < c->n_message_index_offsets; k++) {
            uint64_t o = c->message_index_offsets[k].offset;
            CU_ASSERT_FATAL(o + 11 <= n);
            CU_ASSERT(o >= c->chunk_offset + c->chunk_length && o < idx_end);
            CU_ASSERT(f[o] == QP_MCAP_OP_MESSAGE_INDEX);
            CU_ASSERT(qp_mcap_get_u16(f + o + 9) == c->message_index_offsets[k].channel_id);
        }
        prev_end = idx_end;
    }
    free(f);
}

static void round_trip(enum qp_mcap_compression comp)
{
    char                        path[1200];
    struct qp_mcap_writer_stats ws;
    const uint32_t              n = 3000;
    mc_path("rt.mcap", path, sizeof path);
    CU_ASSERT_FATAL(mc_write(path, comp, 16 << 10, n, false, &ws) == QP_OK);
    CU_ASSERT(ws.n_messages == n && ws.n_chunks >= 5 && ws.n_schemas == 2 && ws.n_channels == 3);

    struct qp_mcap_reader *r;
    struct qp_err          err;
    CU_ASSERT_FATAL(qp_mcap_reader_open(path, NULL, &r, &err) == QP_OK);
    const struct qp_mcap_info *in = qp_mcap_reader_info(r);
    CU_ASSERT(in->has_footer && in->has_summary && in->has_statistics);
    CU_ASSERT_STRING_EQUAL(in->profile, "x-qpercept");
    CU_ASSERT_STRING_EQUAL(in->library, "qpercept");
    CU_ASSERT(in->stats.n_messages == n && in->stats.n_schemas == 2 && in->stats.n_channels == 3);
    CU_ASSERT(in->stats.n_chunks == ws.n_chunks && in->n_chunks == ws.n_chunks);
    uint64_t       t_min = UINT64_MAX, t_max = 0;
    static uint8_t buf[MC_MAX_PAYLOAD];
    for (uint32_t i = 0; i < n; i++) {
        struct qp_mcap_message m;
        mc_message(i, false, buf, &m);
        t_min = m.log_time_ns < t_min ? m.log_time_ns : t_min;
        t_max = m.log_time_ns > t_max ? m.log_time_ns : t_max;
    }
    CU_ASSERT(in->stats.message_start_ns == t_min && in->stats.message_end_ns == t_max);
    CU_ASSERT_FATAL(in->stats.n_channel_counts == 3);
    for (size_t i = 0; i < 3; i++) {
        CU_ASSERT(in->stats.channel_counts[i].channel_id == i + 1);
        CU_ASSERT(in->stats.channel_counts[i].n_messages == n / 3);
    }
    for (size_t i = 0; i < in->n_chunks; i++)
        CU_ASSERT(in->chunks[i].compression == comp);
    check_chunk_indexes(path, in);

    const struct qp_mcap_schema *s1 = qp_mcap_reader_schema(r, 1);
    CU_ASSERT_FATAL(s1 && qp_mcap_reader_n_schemas(r) == 2);
    CU_ASSERT_STRING_EQUAL(s1->name, "qpercept.v1.Frame");
    CU_ASSERT_STRING_EQUAL(s1->encoding, "protobuf");
    CU_ASSERT(s1->len == sizeof mc_fds && memcmp(s1->data, mc_fds, sizeof mc_fds) == 0);
    const struct qp_mcap_channel *c1 = qp_mcap_reader_find_topic(r, "/cam_front/frame");
    CU_ASSERT_FATAL(c1 && c1->id == 1 && c1->schema_id == 1 && c1->n_metadata == 2);
    CU_ASSERT_STRING_EQUAL(c1->message_encoding, "protobuf");
    CU_ASSERT_STRING_EQUAL(c1->metadata[1].key, "rate_hz");
    CU_ASSERT_STRING_EQUAL(c1->metadata[1].value, "30");
    const struct qp_mcap_channel *c3 = qp_mcap_reader_channel(r, 3);
    CU_ASSERT_FATAL(c3 && c3->schema_id == 0 && c3 == qp_mcap_reader_channel_at(r, 2));
    CU_ASSERT_STRING_EQUAL(c3->topic, "/log");
    CU_ASSERT(qp_mcap_reader_channel(r, 4) == NULL && qp_mcap_reader_schema(r, 0) == NULL);

    uint32_t errors;
    CU_ASSERT(mc_read_all(r, false, &errors) == n);
    CU_ASSERT(errors == 0);
    struct qp_mcap_read_stats st;
    qp_mcap_reader_stats(r, &st);
    CU_ASSERT(st.end == QP_MCAP_END_DATA_END && st.n_chunks == ws.n_chunks && st.n_bad_chunks == 0);
    qp_mcap_reader_rewind(r); /* a second pass gives the same */
    CU_ASSERT(mc_read_all(r, false, &errors) == n);
    qp_mcap_reader_free(r);
}

static void test_round_trip_none(void)
{
    round_trip(QP_MCAP_COMPRESSION_NONE);
}

static void test_round_trip_zstd(void)
{
    round_trip(QP_MCAP_COMPRESSION_ZSTD);
}

static void test_round_trip_lz4(void)
{
    round_trip(QP_MCAP_COMPRESSION_LZ4);
}

/* A file read without its summary (the scan) tells the same story. */
static void test_scan_agrees_with_summary(void)
{
    char path[1200];
    mc_path("scan.mcap", path, sizeof path);
    for (size_t k = 0; k < 3; k++) {
        CU_ASSERT_FATAL(mc_write(path, all_comp[k], 8 << 10, 1000, false, NULL) == QP_OK);
        struct qp_mcap_reader     *a, *b;
        struct qp_mcap_reader_opts o = {.ignore_summary = true};
        CU_ASSERT_FATAL(qp_mcap_reader_open(path, NULL, &a, NULL) == QP_OK);
        CU_ASSERT_FATAL(qp_mcap_reader_open(path, &o, &b, NULL) == QP_OK);
        const struct qp_mcap_info *x = qp_mcap_reader_info(a), *y = qp_mcap_reader_info(b);
        CU_ASSERT(!y->has_summary && y->has_footer && y->end == QP_MCAP_END_DATA_END);
        CU_ASSERT(y->n_bad_chunks == 0);
        CU_ASSERT(x->stats.n_messages == y->stats.n_messages && y->stats.n_messages == 1000);
        CU_ASSERT(x->stats.message_start_ns == y->stats.message_start_ns);
        CU_ASSERT(x->stats.message_end_ns == y->stats.message_end_ns);
        CU_ASSERT(x->stats.n_schemas == y->stats.n_schemas &&
                  x->stats.n_channels == y->stats.n_channels);
        CU_ASSERT_FATAL(x->n_chunks == y->n_chunks && x->stats.n_chunks == y->stats.n_chunks);
        for (size_t i = 0; i < x->n_chunks; i++) {
            CU_ASSERT(x->chunks[i].chunk_offset == y->chunks[i].chunk_offset);
            CU_ASSERT(x->chunks[i].chunk_length == y->chunks[i].chunk_length);
            CU_ASSERT(x->chunks[i].message_start_ns == y->chunks[i].message_start_ns);
            CU_ASSERT(x->chunks[i].uncompressed_bytes == y->chunks[i].uncompressed_bytes);
            CU_ASSERT(x->chunks[i].compressed_bytes == y->chunks[i].compressed_bytes);
        }
        CU_ASSERT_FATAL(x->stats.n_channel_counts == y->stats.n_channel_counts);
        for (size_t i = 0; i < x->stats.n_channel_counts; i++)
            CU_ASSERT(x->stats.channel_counts[i].n_messages ==
                      y->stats.channel_counts[i].n_messages);
        /* the scan stopped after Data End, 8 bytes into... the summary starts there */
        CU_ASSERT(y->recovered_bytes > x->chunks[x->n_chunks - 1].chunk_offset);
        CU_ASSERT(mc_read_all(b, false, NULL) == 1000);
        qp_mcap_reader_free(a);
        qp_mcap_reader_free(b);
    }
}

/* No messages: a valid file with an empty data section. */
static void test_empty_recording(void)
{
    char path[1200];
    mc_path("empty.mcap", path, sizeof path);
    CU_ASSERT_FATAL(mc_write(path, QP_MCAP_COMPRESSION_ZSTD, 4096, 0, false, NULL) == QP_OK);
    struct qp_mcap_reader *r;
    CU_ASSERT_FATAL(qp_mcap_reader_open(path, NULL, &r, NULL) == QP_OK);
    const struct qp_mcap_info *in = qp_mcap_reader_info(r);
    CU_ASSERT(in->has_summary && in->stats.n_messages == 0 && in->n_chunks == 0);
    CU_ASSERT(in->stats.n_channels == 3 && in->stats.n_channel_counts == 0);
    CU_ASSERT(mc_read_all(r, false, NULL) == 0);
    qp_mcap_reader_free(r);
}

/* A message larger than the chunk target gets a chunk of its own. */
static void test_large_messages(void)
{
    char path[1200];
    mc_path("large.mcap", path, sizeof path);
    struct qp_mcap_writer_opts o = QP_MCAP_WRITER_OPTS_DEFAULT;
    o.chunk_bytes                = 4096;
    o.max_message_bytes          = 200000;
    struct qp_mcap_writer *w;
    uint16_t               ch;
    static uint8_t         big[200000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7 + (i >> 9));
    CU_ASSERT_FATAL(qp_mcap_writer_open(path, &o, &w, NULL) == QP_OK);
    CU_ASSERT_FATAL(qp_mcap_writer_add_channel(w, "/big", "x-raw", 0, NULL, 0, &ch, NULL) == QP_OK);
    for (uint32_t i = 0; i < 6; i++) {
        struct qp_mcap_message m = {ch, i, i, i, big + i, i % 2 ? sizeof big - i : 10 + i};
        CU_ASSERT(qp_mcap_writer_write(w, &m, NULL) == QP_OK);
    }
    struct qp_mcap_message too = {ch, 9, 9, 9, big, sizeof big + 1};
    struct qp_err          err;
    CU_ASSERT(qp_mcap_writer_write(w, &too, &err) == QP_E_INVAL);
    CU_ASSERT(strstr(err.msg, "max_message_bytes") != NULL);
    CU_ASSERT(qp_mcap_writer_close(w, NULL) == QP_OK);

    struct qp_mcap_reader *r;
    CU_ASSERT_FATAL(qp_mcap_reader_open(path, NULL, &r, NULL) == QP_OK);
    CU_ASSERT(qp_mcap_reader_info(r)->n_chunks >= 3);
    for (uint32_t i = 0; i < 6; i++) {
        struct qp_mcap_message m;
        bool                   got;
        CU_ASSERT_FATAL(qp_mcap_reader_next(r, &m, &got, NULL) == QP_OK && got);
        size_t len = i % 2 ? sizeof big - i : 10 + i;
        CU_ASSERT(m.sequence == i && m.len == len && memcmp(m.data, big + i, len) == 0);
    }
    qp_mcap_reader_free(r);
}

static void test_writer_rejects_bad_use(void)
{
    char path[1200];
    mc_path("bad.mcap", path, sizeof path);
    struct qp_mcap_writer     *w = NULL;
    struct qp_err              err;
    struct qp_mcap_writer_opts o = QP_MCAP_WRITER_OPTS_DEFAULT;
    o.chunk_bytes                = 100;
    CU_ASSERT(qp_mcap_writer_open(path, &o, &w, &err) == QP_E_INVAL);
    CU_ASSERT(strstr(err.msg, "chunk_bytes") != NULL);
    o             = (struct qp_mcap_writer_opts)QP_MCAP_WRITER_OPTS_DEFAULT;
    o.compression = QP_MCAP_COMPRESSION_COUNT;
    CU_ASSERT(qp_mcap_writer_open(path, &o, &w, &err) == QP_E_INVAL);
    o = (struct qp_mcap_writer_opts)QP_MCAP_WRITER_OPTS_DEFAULT;
    CU_ASSERT(qp_mcap_writer_open("/nonexistent-dir/x.mcap", &o, &w, &err) == QP_E_IO);
    CU_ASSERT(strstr(err.msg, "/nonexistent-dir/x.mcap") != NULL);

    CU_ASSERT_FATAL(qp_mcap_writer_open(path, &o, &w, &err) == QP_OK);
    uint16_t id;
    CU_ASSERT(qp_mcap_writer_add_channel(w, "/a", "protobuf", 1, NULL, 0, &id, &err) == QP_E_INVAL);
    CU_ASSERT(strstr(err.msg, "unknown schema") != NULL);
    CU_ASSERT(qp_mcap_writer_add_channel(w, "/a", "json", 0, NULL, 0, &id, &err) == QP_OK);
    struct qp_mcap_message m = {.channel_id = 2, .data = (const uint8_t *)"x", .len = 1};
    CU_ASSERT(qp_mcap_writer_write(w, &m, &err) == QP_E_INVAL);
    CU_ASSERT(strstr(err.msg, "unknown channel 2") != NULL);
    m.channel_id = id;
    CU_ASSERT(qp_mcap_writer_write(w, &m, &err) == QP_OK);
    CU_ASSERT(qp_mcap_writer_close(w, &err) == QP_OK);
    CU_ASSERT(qp_mcap_writer_close(NULL, &err) == QP_OK);
    qp_mcap_writer_free(NULL);
}

/* Writing past the file size limit (as a full disk): a clear error naming
 * the file, every later call fails, and the file holds exactly the complete
 * chunks. */
static void test_disk_full(void)
{
    char path[1200];
    mc_path("full.mcap", path, sizeof path);
    struct rlimit old, lim;
    CU_ASSERT_FATAL(getrlimit(RLIMIT_FSIZE, &old) == 0);
    void (*prev)(int)            = signal(SIGXFSZ, SIG_IGN);
    lim                          = old;
    lim.rlim_cur                 = 60000;
    struct qp_mcap_writer_opts o = QP_MCAP_WRITER_OPTS_DEFAULT;
    o.compression                = QP_MCAP_COMPRESSION_NONE;
    o.chunk_bytes                = 4096;
    struct qp_mcap_writer *w;
    struct qp_err          err;
    CU_ASSERT_FATAL(qp_mcap_writer_open(path, &o, &w, &err) == QP_OK);
    CU_ASSERT_FATAL(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    enum qp_status s = mc_write_to(w, 100000, false);
    CU_ASSERT(s == QP_E_IO);
    struct qp_mcap_writer_stats ws;
    qp_mcap_writer_stats(w, &ws);
    struct qp_mcap_message m = {.channel_id = 1};
    CU_ASSERT(qp_mcap_writer_write(w, &m, &err) == QP_E_IO);
    CU_ASSERT(strstr(err.msg, path) != NULL && strstr(err.msg, "failed") != NULL);
    CU_ASSERT(qp_mcap_writer_close(w, &err) == QP_E_IO);
    CU_ASSERT(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, prev);

    struct qp_mcap_reader *r;
    CU_ASSERT_FATAL(qp_mcap_reader_open(path, NULL, &r, &err) == QP_OK);
    const struct qp_mcap_info *in = qp_mcap_reader_info(r);
    CU_ASSERT(!in->has_footer && in->end == QP_MCAP_END_EOF); /* cut at a chunk boundary */
    CU_ASSERT(in->recovered_bytes == in->file_bytes && in->file_bytes <= 60000);
    CU_ASSERT(in->n_chunks == ws.n_chunks && in->n_chunks >= 5);
    uint32_t got = mc_read_all(r, false, NULL);
    CU_ASSERT(got == in->stats.n_messages && got > 0 && got < ws.n_messages);
    qp_mcap_reader_free(r);
}

/* A full device fails at open, naming the file. */
static void test_dev_full(void)
{
    if (access("/dev/full", W_OK) != 0)
        QP_TEST_SKIP("no writable /dev/full");
    QP_TEST_RAN();
    struct qp_mcap_writer_opts o = QP_MCAP_WRITER_OPTS_DEFAULT;
    struct qp_mcap_writer     *w;
    struct qp_err              err;
    CU_ASSERT(qp_mcap_writer_open("/dev/full", &o, &w, &err) == QP_E_IO);
    CU_ASSERT(strstr(err.msg, "/dev/full") != NULL && strstr(err.msg, "No space") != NULL);
}

/* What a killed recorder leaves: flushed chunks readable while the writer is
 * still open, and after it is abandoned. */
static void test_flush_and_abandon(void)
{
    char path[1200];
    mc_path("killed.mcap", path, sizeof path);
    struct qp_mcap_writer_opts o = QP_MCAP_WRITER_OPTS_DEFAULT;
    o.compression                = QP_MCAP_COMPRESSION_LZ4;
    struct qp_mcap_writer *w;
    CU_ASSERT_FATAL(qp_mcap_writer_open(path, &o, &w, NULL) == QP_OK);
    CU_ASSERT_FATAL(mc_write_to(w, 40, false) == QP_OK);
    CU_ASSERT(qp_mcap_writer_flush(w, NULL) == QP_OK);
    CU_ASSERT(qp_mcap_writer_flush(w, NULL) == QP_OK); /* nothing to do */
    static uint8_t buf[MC_MAX_PAYLOAD];
    for (uint32_t i = 40; i < 50; i++) { /* stay in the open chunk: lost */
        struct qp_mcap_message m;
        mc_message(i, false, buf, &m);
        CU_ASSERT(qp_mcap_writer_write(w, &m, NULL) == QP_OK);
    }
    struct qp_mcap_reader *r;
    CU_ASSERT_FATAL(qp_mcap_reader_open(path, NULL, &r, NULL) == QP_OK);
    const struct qp_mcap_info *in = qp_mcap_reader_info(r);
    CU_ASSERT(!in->has_footer && in->end == QP_MCAP_END_EOF && in->n_chunks == 1);
    CU_ASSERT(strstr(in->end_reason, "without Data End") != NULL);
    CU_ASSERT(mc_read_all(r, false, NULL) == 40);
    struct qp_mcap_read_stats st;
    qp_mcap_reader_stats(r, &st);
    CU_ASSERT(st.end == QP_MCAP_END_EOF);
    qp_mcap_reader_free(r);
    qp_mcap_writer_free(w);
    CU_ASSERT_FATAL(qp_mcap_reader_open(path, NULL, &r, NULL) == QP_OK);
    CU_ASSERT(mc_read_all(r, false, NULL) == 40);
    qp_mcap_reader_free(r);
}

/* Writing messages that stay in the open chunk allocates nothing; reading
 * allocates only when a chunk outgrows the buffers. */
static void test_no_allocation_per_message(void)
{
    char path[1200];
    mc_path("noalloc.mcap", path, sizeof path);
    for (size_t k = 0; k < 3; k++) {
        struct qp_mcap_writer_opts o = QP_MCAP_WRITER_OPTS_DEFAULT;
        o.compression                = all_comp[k];
        o.chunk_bytes                = 64 << 10;
        struct qp_mcap_writer *w;
        CU_ASSERT_FATAL(qp_mcap_writer_open(path, &o, &w, NULL) == QP_OK);
        CU_ASSERT_FATAL(mc_write_to(w, 2, false) == QP_OK);
        static uint8_t buf[MC_MAX_PAYLOAD];
        qp_alloc_reset_counters();
        for (uint32_t i = 2; i < 200; i++) {
            struct qp_mcap_message m;
            mc_message(i, false, buf, &m);
            CU_ASSERT(qp_mcap_writer_write(w, &m, NULL) == QP_OK);
        }
        struct qp_mcap_writer_stats ws;
        qp_mcap_writer_stats(w, &ws);
        CU_ASSERT(ws.n_chunks == 0); /* all in the open chunk */
        CU_ASSERT(qp_alloc_count() == 0);
        CU_ASSERT(qp_mcap_writer_close(w, NULL) == QP_OK);

        struct qp_mcap_reader *r;
        CU_ASSERT_FATAL(qp_mcap_reader_open(path, NULL, &r, NULL) == QP_OK);
        struct qp_mcap_message m;
        bool                   got;
        CU_ASSERT(qp_mcap_reader_next(r, &m, &got, NULL) == QP_OK && got);
        qp_alloc_reset_counters();
        for (uint32_t i = 1; i < 200; i++)
            CU_ASSERT(qp_mcap_reader_next(r, &m, &got, NULL) == QP_OK && got && m.sequence == i);
        CU_ASSERT(qp_alloc_count() == 0);
        qp_mcap_reader_free(r);
    }
}

/* Fail the Nth allocation of a whole write-then-read cycle, for every N:
 * a status, never a crash, and nothing leaked. */
static void test_allocation_failures(void)
{
    char path[1200];
    mc_path("oom.mcap", path, sizeof path);
    for (int64_t k = 1; k < 200; k++) {
        int64_t live = qp_alloc_live();
        qp_alloc_reset_counters();
        qp_alloc_fail_at(k);
        enum qp_status         s = mc_write(path, QP_MCAP_COMPRESSION_ZSTD, 4096, 300, true, NULL);
        struct qp_mcap_reader *r = NULL;
        if (s == QP_OK)
            s = qp_mcap_reader_open(path, NULL, &r, NULL);
        uint32_t n     = r ? mc_read_all(r, true, NULL) : 0;
        bool     fired = qp_alloc_failed();
        qp_alloc_fail_at(0);
        qp_mcap_reader_free(r);
        CU_ASSERT(s == QP_OK || s == QP_E_NOMEM);
        CU_ASSERT(s != QP_OK || n == 300 || fired);
        CU_ASSERT(qp_alloc_live() == live);
        if (!fired)
            break; /* the whole cycle has fewer than k allocations */
    }
}

static CU_TestInfo rw_tests[] = {
    {"round trip, no compression", test_round_trip_none},
    {"round trip, zstd", test_round_trip_zstd},
    {"round trip, lz4", test_round_trip_lz4},
    {"scan agrees with the summary", test_scan_agrees_with_summary},
    {"empty recording", test_empty_recording},
    {"messages larger than a chunk", test_large_messages},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo writer_tests[] = {
    {"bad options and calls", test_writer_rejects_bad_use},
    {"disk full keeps complete chunks", test_disk_full},
    {"/dev/full", test_dev_full},
    {"flush, then abandon (killed)", test_flush_and_abandon},
    {"no allocation per message", test_no_allocation_per_message},
    {"allocation failures", test_allocation_failures},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"mcap/round-trip", mc_suite_init, mc_suite_clean, NULL, NULL, rw_tests},
    {"mcap/writer", mc_suite_init, mc_suite_clean, NULL, NULL, writer_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
