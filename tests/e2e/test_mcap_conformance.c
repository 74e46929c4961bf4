// SPDX-License-Identifier: Apache-2.0
/*
 * test_mcap_conformance.c - clients/mcap against the official MCAP
 * implementation (PyPI mcap, in QP_VENV), both ways, through
 * tests/tools/mcap_check.py:
 *   - files our writer makes (none / zstd / lz4, many chunks) are read by
 *     the official seeking and streaming readers, which must find them valid
 *     (CRCs, statistics, chunk and message indexes, summary offsets) and
 *     return exactly the messages we wrote;
 *   - files the official writer makes (chunked none / zstd / lz4, with the
 *     schemas and channels inside its chunks, and unchunked) are read by our
 *     reader, which must return exactly what it wrote; one of them cut in
 *     half gives a prefix of it.
 * Contents are compared as text dumps (format in mcap_check.py). Skips (77)
 * when the venv's python or its mcap module is missing.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "unit/mcap_case.h"

static char py[1100], script[1100];

static bool have_mcap(char *why, size_t n)
{
    const char *venv = getenv("QP_VENV"), *src = getenv("QP_SOURCE_DIR");
    if (!venv || !*venv || !src) {
        snprintf(why, n, "QP_VENV / QP_SOURCE_DIR not set (run through ctest)");
        return false;
    }
    snprintf(py, sizeof py, "%s/bin/python", venv);
    snprintf(script, sizeof script, "%s/tests/tools/mcap_check.py", src);
    if (access(py, X_OK) != 0) {
        if (snprintf(why, n, "%s missing (run scripts/setup.sh)", py) >= (int)n)
            why[n - 1] = '\0';
        return false;
    }
    char cmd[2400];
    snprintf(cmd, sizeof cmd, "'%s' -c 'import mcap' >/dev/null 2>&1", py);
    if (system(cmd) != 0) {
        if (snprintf(why, n, "%s cannot import mcap (run scripts/setup.sh)", py) >= (int)n)
            why[n - 1] = '\0';
        return false;
    }
    return true;
}

/* Run mcap_check.py with the arguments; its exit status. */
static int run_check(const char *fmt, ...) QP_PRINTF(1, 2);
static int run_check(const char *fmt, ...)
{
    char    args[3000], cmd[6000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' '%s' %s", py, script, args);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ===== Dumps ===== */

static void hex(FILE *f, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

static void dump_message(FILE *f, const struct qp_mcap_message *m)
{
    fprintf(f, "message %u %u %llu %llu ", m->channel_id, m->sequence,
            (unsigned long long)m->log_time_ns, (unsigned long long)m->publish_time_ns);
    hex(f, m->data, m->len);
    fputc('\n', f);
}

/* What our reader makes of path, as a dump; the number of messages. */
static long dump_ours(const char *path, const char *dump)
{
    struct qp_mcap_reader *r;
    struct qp_err          err;
    if (qp_mcap_reader_open(path, NULL, &r, &err) != QP_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    FILE *f = fopen(dump, "w");
    CU_ASSERT_FATAL(f != NULL);
    const struct qp_mcap_info *in = qp_mcap_reader_info(r);
    fprintf(f, "header %s %s\n", in->profile, in->library);
    for (size_t i = 0; i < qp_mcap_reader_n_schemas(r); i++) {
        const struct qp_mcap_schema *s = qp_mcap_reader_schema_at(r, i);
        fprintf(f, "schema %u %s %s ", s->id, s->name, s->encoding);
        hex(f, s->data, s->len);
        fputc('\n', f);
    }
    for (size_t i = 0; i < qp_mcap_reader_n_channels(r); i++) {
        const struct qp_mcap_channel *c = qp_mcap_reader_channel_at(r, i);
        fprintf(f, "channel %u %u %s %s ", c->id, c->schema_id, c->topic, c->message_encoding);
        const char *last = NULL; /* pairs by key, as the dump wants them */
        for (size_t k = 0; k < c->n_metadata; k++) {
            const struct qp_mcap_kv *next = NULL;
            for (size_t j = 0; j < c->n_metadata; j++)
                if ((!last || strcmp(c->metadata[j].key, last) > 0) &&
                    (!next || strcmp(c->metadata[j].key, next->key) < 0))
                    next = &c->metadata[j];
            if (!next)
                break; /* a repeated key: the rest are printed */
            fprintf(f, "%s%s=%s", k ? "," : "", next->key, next->value);
            last = next->key;
        }
        fputc('\n', f);
    }
    long n = 0;
    for (;;) {
        struct qp_mcap_message m;
        bool                   got;
        if (qp_mcap_reader_next(r, &m, &got, &err) != QP_OK) {
            fprintf(stderr, "%s\n", err.msg);
            n = -1;
            break;
        }
        if (!got)
            break;
        dump_message(f, &m);
        n++;
    }
    fclose(f);
    qp_mcap_reader_free(r);
    return n;
}

/* The dump of mc_write's recording, from the numbers alone. */
static void dump_expected(const char *dump, uint32_t n)
{
    FILE *f = fopen(dump, "w");
    CU_ASSERT_FATAL(f != NULL);
    fprintf(f, "header x-qpercept qpercept\nschema 1 qpercept.v1.Frame protobuf ");
    hex(f, mc_fds, sizeof mc_fds);
    fprintf(f, "\nschema 2 qpercept.v1.Detections protobuf ");
    hex(f, mc_fds, sizeof mc_fds - 2);
    fprintf(f, "\nchannel 1 1 /cam_front/frame protobuf camera=front,rate_hz=30\n"
               "channel 2 2 /cam_front/detections protobuf \n"
               "channel 3 0 /log json \n");
    static uint8_t buf[MC_MAX_PAYLOAD];
    for (uint32_t i = 0; i < n; i++) {
        struct qp_mcap_message m;
        mc_message(i, false, buf, &m);
        dump_message(f, &m);
    }
    fclose(f);
}

/* Whether two dumps are identical; else the first line that differs. The
 * first `lines` message lines only when prefix (a recovered prefix). */
static bool same_dump(const char *a, const char *b, bool prefix)
{
    size_t na, nb;
    char  *x = (char *)mc_file_read(a, &na), *y = (char *)mc_file_read(b, &nb);
    bool   ok =
        x && y && (prefix ? na <= nb && memcmp(x, y, na) == 0 : na == nb && memcmp(x, y, na) == 0);
    if (!ok && x && y) {
        size_t i = 0, line = 1;
        while (i < na && i < nb && x[i] == y[i])
            line += x[i++] == '\n';
        fprintf(stderr, "%s and %s differ at line %zu (byte %zu)\n", a, b, line, i);
    }
    free(x);
    free(y);
    return ok;
}

/* ===== Tests ===== */

static char tmp[1024];

static int suite_init(void)
{
    return mc_suite_init();
}

static void test_official_reads_ours(void)
{
    char why[512];
    if (!have_mcap(why, sizeof why))
        QP_TEST_SKIP("%s", why);
    QP_TEST_RAN();
    static const enum qp_mcap_compression comp[] = {
        QP_MCAP_COMPRESSION_NONE, QP_MCAP_COMPRESSION_ZSTD, QP_MCAP_COMPRESSION_LZ4};
    char file[1200], theirs[1200], expect[1200];
    for (size_t c = 0; c < 3; c++) {
        snprintf(tmp, sizeof tmp, "ours_%s.mcap", c ? qp_mcap_compression_name(comp[c]) : "none");
        mc_path(tmp, file, sizeof file);
        mc_path("ours_theirs.dump", theirs, sizeof theirs);
        mc_path("ours_expect.dump", expect, sizeof expect);
        struct qp_mcap_writer_stats ws;
        CU_ASSERT_FATAL(mc_write(file, comp[c], 16 << 10, 2000, false, &ws) == QP_OK);
        CU_ASSERT(ws.n_chunks >= 5);
        CU_ASSERT(run_check("read '%s' '%s'", file, theirs) == 0);
        dump_expected(expect, 2000);
        CU_ASSERT(same_dump(theirs, expect, false));
    }
}

static void test_ours_reads_official(void)
{
    char why[512];
    if (!have_mcap(why, sizeof why))
        QP_TEST_SKIP("%s", why);
    QP_TEST_RAN();
    static const char *const modes[] = {"--compression zstd", "--compression lz4",
                                        "--compression none", "--no-chunking"};
    char                     file[1200], theirs[1200], ours[1200];
    mc_path("official_theirs.dump", theirs, sizeof theirs);
    mc_path("official_ours.dump", ours, sizeof ours);
    for (size_t k = 0; k < 4; k++) {
        snprintf(tmp, sizeof tmp, "official_%zu.mcap", k);
        mc_path(tmp, file, sizeof file);
        CU_ASSERT_FATAL(run_check("write '%s' '%s' %s --messages 600", file, theirs, modes[k]) ==
                        0);
        CU_ASSERT(dump_ours(file, ours) == 600);
        CU_ASSERT(same_dump(ours, theirs, false));
        struct qp_mcap_reader *r;
        CU_ASSERT_FATAL(qp_mcap_reader_open(file, NULL, &r, NULL) == QP_OK);
        const struct qp_mcap_info *in = qp_mcap_reader_info(r);
        CU_ASSERT(in->has_summary && in->stats.n_messages == 600 && in->stats.n_channels == 2);
        CU_ASSERT(k == 3 ? in->n_chunks == 0 : in->n_chunks >= 5);
        CU_ASSERT(in->stats.n_channel_counts == 2 && in->stats.channel_counts[0].n_messages == 300);
        qp_mcap_reader_free(r);
    }
}

/* The official writer's file cut in half: our reader recovers a prefix of it. */
static void test_ours_recovers_official_truncated(void)
{
    char why[512];
    if (!have_mcap(why, sizeof why))
        QP_TEST_SKIP("%s", why);
    QP_TEST_RAN();
    char file[1200], cut[1200], theirs[1200], ours[1200];
    mc_path("official_cut_full.mcap", file, sizeof file);
    mc_path("official_cut.mcap", cut, sizeof cut);
    mc_path("official_cut_theirs.dump", theirs, sizeof theirs);
    mc_path("official_cut_ours.dump", ours, sizeof ours);
    CU_ASSERT_FATAL(run_check("write '%s' '%s' --compression zstd --messages 600", file, theirs) ==
                    0);
    size_t   n;
    uint8_t *p = mc_file_read(file, &n);
    CU_ASSERT_FATAL(p && mc_file_write(cut, p, n / 2));
    free(p);
    long got = dump_ours(cut, ours);
    CU_ASSERT(got > 100 && got < 600);
    CU_ASSERT(same_dump(ours, theirs, true));
}

static CU_TestInfo tests[] = {
    {"the official reader reads ours", test_official_reads_ours},
    {"ours reads the official writer's", test_ours_reads_official},
    {"ours recovers a cut official file", test_ours_recovers_official_truncated},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"mcap/conformance", suite_init, mc_suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
