// SPDX-License-Identifier: Apache-2.0
/*
 * test_bench_report.c - what `qpercept bench` writes from a finished run,
 * on made-up tables (no sockets): --compare (clients/cli/bench_compare.c)
 * and --plot (clients/cli/bench_plot.c).
 *   - compare: two reports written by qp_bench_report_json from tables of
 *     known latencies and losses print side by side with the right b/a
 *     ratios (overall, per stream, drops by reason), "setup: the same" or
 *     "setup differs" naming each differing key; a foreign, non-JSON,
 *     truncated-key or wrongly typed report is QP_E_FORMAT naming the file
 *     and the key, a missing file QP_E_IO, and nothing is printed then;
 *   - plot: the SVG is well-formed (python3's xml.etree when python3 is on
 *     PATH, else structural checks in C), self-contained (no script, no
 *     href), has one CDF line per stream plus "all", each monotone, one
 *     point per received frame, loss marks for every reason present, the
 *     max ringed; a 6 x 30 Hz x 60 s run is decimated and stays small.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, popen */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_compare.h"
#include "bench_plot.h"
#include "bench_report.h"
#include "bench_stats.h"
#include "qp_test.h"

#define T0 1000000000000000000ULL /* a CLOCK_REALTIME start */
#define MS_NS 1000000LL

static char dir[256];

static int suite_init(void)
{
    snprintf(dir, sizeof dir, "/tmp/qp_test_bench_report_XXXXXX");
    return mkdtemp(dir) ? 0 : 1;
}

static int suite_clean(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}

static const char *tmp(const char *name)
{
    static char paths[64][300]; /* enough for one test's names */
    static int  next;
    char       *p = paths[next++ % 64];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

/* ===== Made runs ===== */

struct made {
    int    n_streams;
    double rate_hz, duration_s;
    /* latency of frame k of stream s, ms; <= 0: lost */
    double (*latency_ms)(int s, int64_t k);
    /* lost frames reported by the server as replaced (else unexplained) */
    bool (*reported)(int s, int64_t k);
    int64_t pub_dropped_k; /* this frame of stream 0 dropped at the publisher; -1 none */
};

/* Fill b from m: every frame sent, results with full stamps and the
 * stream's cumulative replaced counter, summarised. */
static void run_made(const struct made *m, struct qp_bench *b, struct qp_bench_summary *sum)
{
    struct qp_bench_plan p = {m->n_streams, m->rate_hz, 0, m->duration_s, false};
    CU_ASSERT_FATAL(qp_bench_init(b, &p, "cam", NULL) == QP_OK);
    qp_bench_schedule(b, T0);
    for (int s = 0; s < m->n_streams; s++) {
        struct qp_det_drops zero = {0};
        qp_bench_set_baseline(b, s, &zero);
        uint64_t replaced = 0;
        for (int64_t k = 0; k < b->n_per_stream; k++) {
            struct qp_bench_frame *f = &b->frames[k * m->n_streams + s];
            f->send    = s == 0 && k == m->pub_dropped_k ? QP_BENCH_SEND_DROPPED : QP_BENCH_SEND_OK;
            f->sent_ns = f->capture_ns;
            double lat = m->latency_ms(s, k);
            if (f->send != QP_BENCH_SEND_OK)
                continue;
            if (lat <= 0) {
                replaced += m->reported(s, k);
                continue;
            }
            static struct qp_detections_in in;
            memset(&in, 0, sizeof in);
            snprintf(in.header.stream, sizeof in.header.stream, "%s", b->streams[s].name);
            in.header.seq        = b->streams[s].first_seq + (uint64_t)k;
            in.header.capture_ns = f->capture_ns;
            uint64_t c = f->capture_ns, e2e = (uint64_t)(lat * 1e6);
            in.stamps = (struct qp_det_stamps){c + e2e / 10, c + e2e / 5, c + e2e / 4, c + e2e / 2,
                                               c + e2e * 3 / 4};
            in.batch_size     = 1;
            in.drops.replaced = replaced;
            in.status         = QP_DET_STATUS_OK;
            CU_ASSERT(qp_bench_record(b, &in, c + e2e) == QP_BENCH_MATCH_OK);
        }
    }
    qp_bench_summarize(b, sum);
}

static struct qp_bench_report report_of(const char *transport, const char *label)
{
    return (struct qp_bench_report){.endpoint        = "ipc://det",
                                    .frames_endpoint = "ipc://cam%d",
                                    .prefix          = "cam",
                                    .label           = label,
                                    .format          = "bgr8",
                                    .transport       = transport,
                                    .width           = 64,
                                    .height          = 48,
                                    .n_images        = 4,
                                    .senders         = "stream",
                                    .model           = "made<&>"};
}

static double lat_10(int s, int64_t k)
{
    return k == 7 ? 0 : 10.0 + s; /* stream 0: 10 ms, stream 1: 11 ms; frame 7 lost */
}

static double lat_20(int s, int64_t k)
{
    return k == 7 || k == 8 ? 0 : 2 * (10.0 + s);
}

static bool reported_all(int s, int64_t k)
{
    (void)s;
    (void)k;
    return true;
}

static bool reported_none(int s, int64_t k)
{
    (void)s;
    (void)k;
    return false;
}

/* Write a report of m to path. */
static void write_made(const struct made *m, const char *transport, const char *path)
{
    struct qp_bench         b;
    struct qp_bench_summary sum;
    struct qp_bench_report  r   = report_of(transport, "made");
    struct qp_err           err = {{0}};
    run_made(m, &b, &sum);
    CU_ASSERT_EQUAL(qp_bench_report_json(path, &r, &b, &sum, &err), QP_OK);
    qp_bench_fini(&b);
}

/* ===== Compare ===== */

static char out[1 << 16];

/* Compare a and b into out (NUL-terminated); the status. */
static enum qp_status compare(const char *a, const char *b, struct qp_err *err)
{
    FILE *f = fopen(tmp("compare.txt"), "w+");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    enum qp_status st = qp_bench_compare(a, b, f, err);
    rewind(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n]   = '\0';
    fclose(f);
    return st;
}

/* The row called name after the line that starts with section: its a, b
 * and ratio text; false when absent. */
static bool row(const char *section, const char *name, double *a, double *b, char ratio[16])
{
    const char *p = strstr(out, section);
    size_t      n = strlen(name);
    for (p = p ? strchr(p, '\n') : NULL; p; p = strchr(p + 1, '\n')) {
        const char *l = p + 1;
        if (l[0] == ' ' && l[1] == ' ' && strncmp(l + 2, name, n) == 0 && l[2 + n] == ' ')
            return sscanf(l + 2 + n, "%lf %lf %15s", a, b, ratio) == 3;
    }
    return false;
}

static void expect_row(const char *section, const char *name, double a, double b, const char *ratio)
{
    double ga = -1, gb = -1;
    char   gr[16] = "";
    bool   found  = row(section, name, &ga, &gb, gr);
    if (!found || ga != a || gb != b || strcmp(gr, ratio) != 0)
        fprintf(stderr, "row '%s' / '%s': found %d, %g %g %s; want %g %g %s\n%s", section, name,
                found, ga, gb, gr, a, b, ratio, out);
    CU_ASSERT(found && ga == a && gb == b && strcmp(gr, ratio) == 0);
}

static void test_compare_same_setup(void)
{
    const char *a = tmp("a.json"), *b = tmp("b.json");
    struct made ma = {2, 10, 10, lat_10, reported_all, -1};
    struct made mb = {2, 10, 10, lat_20, reported_none, 3};
    write_made(&ma, "push", a);
    write_made(&mb, "push", b);
    struct qp_err err = {{0}};
    CU_ASSERT_EQUAL_FATAL(compare(a, b, &err), QP_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "setup: the same (streams 2, rate_hz 10, duration_s 10"));
    CU_ASSERT_PTR_NULL(strstr(out, "setup differs"));
    /* a: 99 + 99 received at 10 / 11 ms; b: 97 + 98 at 20 / 22 ms, so its
     * p50 (rank 98 of 195) is the first of stream 1's */
    expect_row("end-to-end latency", "p50", 10, 22, "2.200");
    expect_row("end-to-end latency", "max", 11, 22, "2.000");
    expect_row("end-to-end latency", "n", 198, 195, "0.985");
    expect_row("throughput and frames", "throughput fps", 19.8, 19.5, "0.985");
    expect_row("throughput and frames", "lost", 2, 4, "2.000");
    /* a: both losses reported as replaced; b: none reported, one publisher drop */
    expect_row("throughput and frames", "lost_server", 2, 0, "0.000");
    expect_row("throughput and frames", "lost_unexplained", 0, 4, "-");
    expect_row("throughput and frames", "publisher_dropped", 0, 1, "-");
    expect_row("throughput and frames", "  dropped replaced", 2, 0, "0.000");
    /* stage split: received at 1/10 of the latency, published at 3/4 */
    expect_row("stages ms", "transport_in p50", 1, 2.2, "2.200");
    expect_row("stages ms", "transport_out max", 2.75, 5.5, "2.000");
    expect_row("per stream", "cam1 p99", 11, 22, "2.000");
    expect_row("per stream", "cam0 lost", 1, 2, "2.000");
}

static void test_compare_setup_differs(void)
{
    const char *a = tmp("a.json"), *b = tmp("b2.json");
    struct made ma = {2, 10, 10, lat_10, reported_all, -1};
    struct made mb = {3, 20, 10, lat_10, reported_all, -1};
    write_made(&ma, "push", a);
    write_made(&mb, "pub", b);
    struct qp_err err = {{0}};
    CU_ASSERT_EQUAL_FATAL(compare(a, b, &err), QP_OK);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(out, "setup differs: streams 2 vs 3, rate_hz 10 vs 20, transport push vs pub\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "  cam2: only in b\n"));
    expect_row("throughput and frames", "sent", 200, 600, "3.000");
}

/* Write text to a new file under the temp dir; its path. */
static const char *write_text(const char *name, const char *text)
{
    const char *p = tmp(name);
    FILE       *f = fopen(p, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    return p;
}

/* The text of file path with the first `from` replaced by `to`, written to name. */
static const char *edited(const char *path, const char *from, const char *to, const char *name)
{
    static char text[1 << 16];
    FILE       *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n]  = '\0';
    char *at = strstr(text, from);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    static char res[1 << 16];
    snprintf(res, sizeof res, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return write_text(name, res);
}

/* compare(good, bad) fails with st, a message holding every want[], and no output. */
static void expect_error(const char *good, const char *bad, enum qp_status st,
                         const char *const *want, int n_want)
{
    struct qp_err err = {{0}};
    CU_ASSERT_EQUAL(compare(good, bad, &err), st);
    CU_ASSERT_EQUAL(out[0], '\0');
    for (int i = 0; i < n_want; i++) {
        if (!strstr(err.msg, want[i]))
            fprintf(stderr, "error '%s' lacks '%s'\n", err.msg, want[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want[i]));
    }
}

/* A report from before --senders (no "senders" key): one thread sent all. */
static void test_compare_senders_absent(void)
{
    const char *a  = tmp("a.json");
    struct made ma = {2, 10, 10, lat_10, reported_all, -1};
    write_made(&ma, "push", a);
    const char   *old = edited(a, "\"senders\": \"stream\"", "\"x\": 0", "old.json");
    struct qp_err err = {{0}};
    CU_ASSERT_EQUAL_FATAL(compare(old, a, &err), QP_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "setup differs: senders one vs stream\n"));
    CU_ASSERT_EQUAL_FATAL(compare(old, old, &err), QP_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, ", senders one)\n"));
    /* there, it must be a string */
    const char *bad = edited(a, "\"senders\": \"stream\"", "\"senders\": 1", "bad_senders.json");
    expect_error(a, bad, QP_E_FORMAT,
                 (const char *[]){bad, "key 'options.senders': is number, want string"}, 2);
}

static void test_compare_errors(void)
{
    const char *a  = tmp("a.json");
    struct made ma = {2, 10, 10, lat_10, reported_all, -1};
    write_made(&ma, "push", a);

    const char *foreign = write_text("foreign.json", "{\"tool\": \"qpercept eval\"}\n");
    expect_error(a, foreign, QP_E_FORMAT,
                 (const char *[]){foreign, "key 'tool'", "not a bench report"}, 3);
    const char *no_tool = write_text("no_tool.json", "{\"options\": {}}\n");
    expect_error(a, no_tool, QP_E_FORMAT, (const char *[]){no_tool, "key 'tool': missing"}, 2);
    const char *array = write_text("array.json", "[1, 2]\n");
    expect_error(array, a, QP_E_FORMAT, (const char *[]){array, "top level is array"}, 2);
    const char *text = write_text("text.json", "not json\n");
    expect_error(a, text, QP_E_FORMAT, (const char *[]){text, "line 1"}, 2);
    expect_error(a, tmp("absent.json"), QP_E_IO, (const char *[]){"absent.json"}, 1);

    const char *no_tput = edited(a, "\"throughput_fps\"", "\"throughput\"", "no_tput.json");
    expect_error(a, no_tput, QP_E_FORMAT,
                 (const char *[]){no_tput, "key 'total.throughput_fps': missing"}, 2);
    const char *str_rate = edited(a, "\"rate_hz\": 10.0000", "\"rate_hz\": \"10\"", "rate.json");
    expect_error(str_rate, a, QP_E_FORMAT,
                 (const char *[]){str_rate, "key 'options.rate_hz': is string, want number"}, 2);
    const char *no_p99 = edited(a, "\"p99\"", "\"p98\"", "no_p99.json");
    expect_error(a, no_p99, QP_E_FORMAT,
                 (const char *[]){no_p99, "key 'total.latency_ms.p99': missing"}, 2);
    const char *no_stage = edited(a, "\"batch_wait\"", "\"batchwait\"", "no_stage.json");
    expect_error(a, no_stage, QP_E_FORMAT, (const char *[]){"key 'stages_ms.batch_wait': missing"},
                 1);
    const char *bad_stream = edited(a, "\"name\": \"cam1\"", "\"name\": 1", "stream.json");
    expect_error(a, bad_stream, QP_E_FORMAT,
                 (const char *[]){"key 'streams[1].name': is number, want string"}, 1);
}

/* ===== Plot ===== */

static char svg[1 << 20];

static size_t read_svg(const char *path)
{
    FILE *f = fopen(path, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t n = fread(svg, 1, sizeof svg - 1, f);
    svg[n]   = '\0';
    CU_ASSERT(feof(f)); /* the whole file fit */
    fclose(f);
    return n;
}

static int count(const char *needle)
{
    int n = 0;
    for (const char *p = strstr(svg, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The checks python3's xml.etree makes: parses, svg root, n_cdf CDF
 * polylines each monotone (x up, y up the page), no script / image /
 * href, a title; prints the number of class="pt" circles. */
static const char *const checker =
    "import sys, xml.etree.ElementTree as ET\n"
    "ns = '{http://www.w3.org/2000/svg}'\n"
    "root = ET.parse(sys.argv[1]).getroot()\n"
    "assert root.tag == ns + 'svg', root.tag\n"
    "cdf = [e for e in root.iter(ns + 'polyline') if e.get('class') == 'cdf']\n"
    "assert len(cdf) == int(sys.argv[2]), len(cdf)\n"
    "for e in cdf:\n"
    "    pts = [tuple(map(float, p.split(','))) for p in e.get('points').split()]\n"
    "    assert len(pts) >= 2, e.get('data-stream')\n"
    "    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):\n"
    "        assert x1 >= x0 and y1 <= y0, (e.get('data-stream'), x0, y0, x1, y1)\n"
    "for e in root.iter():\n"
    "    assert e.tag not in (ns + 'script', ns + 'image', ns + 'foreignObject'), e.tag\n"
    "    assert not any('href' in k for k in e.attrib), e.attrib\n"
    "assert any('qpercept bench' in (t.text or '') for t in root.iter(ns + 'text'))\n"
    "print(sum(1 for e in root.iter(ns + 'circle') if e.get('class') == 'pt'))\n";

/* Points python3 counted in a well-formed, monotone SVG; -1 when python3
 * is not there (the C checks stand alone then), -2 when it failed. */
static int python_check(const char *path, int n_cdf)
{
    const char *script = write_text("check_svg.py", checker);
    char        cmd[1024];
    snprintf(cmd, sizeof cmd, "python3 '%s' '%s' %d 2>&1", script, path, n_cdf);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char   text[4096] = "";
    size_t n          = fread(text, 1, sizeof text - 1, p);
    text[n]           = '\0';
    int rc            = pclose(p);
    if (WIFEXITED(rc) && WEXITSTATUS(rc) == 127) {
        fprintf(stderr, "python3 not found: structural checks only\n");
        return -1;
    }
    if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
        fprintf(stderr, "python3 SVG check failed:\n%s", text);
        return -2;
    }
    return atoi(text);
}

/* The checks every plot passes, in C and (when there) python3. */
static void check_svg(const char *path, int n_streams, int n_points)
{
    size_t n = read_svg(path);
    CU_ASSERT(strncmp(svg, "<?xml", 5) == 0);
    CU_ASSERT(n > 7 && strcmp(svg + n - 7, "</svg>\n") == 0);
    CU_ASSERT_PTR_NULL(strstr(svg, "<script"));
    CU_ASSERT_PTR_NULL(strstr(svg, "href"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "made&lt;&amp;&gt;")); /* the model's name, escaped */
    CU_ASSERT_EQUAL(count("class=\"cdf\""), n_streams + 1);
    CU_ASSERT_EQUAL(count("class=\"pt\""), n_points);
    CU_ASSERT_EQUAL(count("class=\"pmark\""), 2);
    CU_ASSERT_EQUAL(count("class=\"maxpt\""), 1);
    CU_ASSERT_EQUAL(count("<g"), count("</g>"));
    int py = python_check(path, n_streams + 1);
    CU_ASSERT(py == -1 || py == n_points);
}

/* 10 ms, every 10th frame 30 ms, frame 50 of stream 1 the max (250 ms);
 * frames 20 and 40 lost (20 reported), 33 of stream 0 dropped at the
 * publisher. */
static double lat_varied(int s, int64_t k)
{
    if (k == 20 || k == 40)
        return 0;
    if (s == 1 && k == 50)
        return 250;
    return k % 10 == 0 ? 30 : 10 + 0.01 * (double)(k % 7);
}

static bool reported_20(int s, int64_t k)
{
    (void)s;
    return k == 20;
}

static void test_plot_small(void)
{
    struct qp_bench         b;
    struct qp_bench_summary sum;
    struct made             m   = {2, 30, 10, lat_varied, reported_20, 33};
    struct qp_bench_report  r   = report_of("push", "small");
    struct qp_err           err = {{0}};
    const char             *p   = tmp("small.svg");
    run_made(&m, &b, &sum);
    CU_ASSERT_EQUAL_FATAL(sum.total.received, 2 * 300 - 4 - 1);
    CU_ASSERT_EQUAL(qp_bench_plot_svg(p, &r, &b, &sum, &err), QP_OK);
    check_svg(p, 2, (int)sum.total.received);
    CU_ASSERT(count("data-reason=\"replaced\"") >= 1);
    CU_ASSERT(count("data-reason=\"unexplained\"") >= 1);
    CU_ASSERT_EQUAL(count("data-reason=\"publisher\""), 1);
    CU_ASSERT_EQUAL(count("data-reason=\"too_old\""), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "<title>max 250.000 ms at 1.683 s, stream cam1</title>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "(log scale)")); /* 10 .. 250 ms */
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "p50 10.0"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "p99 30.000 ms"));
    CU_ASSERT_EQUAL(qp_bench_plot_svg(tmp("no/such/dir.svg"), &r, &b, &sum, &err), QP_E_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--plot"));
    qp_bench_fini(&b);
}

/* The brief's size: 6 streams x 30 Hz x 60 s, 10800 frames. */
static void test_plot_decimated(void)
{
    struct qp_bench         b;
    struct qp_bench_summary sum;
    struct made             m   = {6, 30, 60, lat_varied, reported_20, 33};
    struct qp_bench_report  r   = report_of("push", "big");
    struct qp_err           err = {{0}};
    const char             *p   = tmp("big.svg");
    run_made(&m, &b, &sum);
    CU_ASSERT_EQUAL(qp_bench_plot_svg(p, &r, &b, &sum, &err), QP_OK);
    struct stat st;
    CU_ASSERT_FATAL(stat(p, &st) == 0);
    fprintf(stderr, "(%lld bytes) ", (long long)st.st_size);
    CU_ASSERT(st.st_size < 200 * 1024);
    check_svg(p, 6, 3 * QP_BENCH_PLOT_BINS);
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "decimated"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "<title>max 250.000 ms"));
    qp_bench_fini(&b);
}

static CU_TestInfo compare_tests[] = {
    {"same setup: ratios overall, per stream, drops", test_compare_same_setup},
    {"setup differs: named keys, stream only in b", test_compare_setup_differs},
    {"a report without senders: one thread sent all", test_compare_senders_absent},
    {"malformed or foreign: file and key named", test_compare_errors},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo plot_tests[] = {
    {"small run: every point, losses, max", test_plot_small},
    {"6 x 30 Hz x 60 s: decimated, small", test_plot_decimated},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"bench/compare", suite_init, suite_clean, NULL, NULL, compare_tests},
    {"bench/plot", suite_init, suite_clean, NULL, NULL, plot_tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
