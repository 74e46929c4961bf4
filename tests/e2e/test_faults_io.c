// SPDX-License-Identifier: Apache-2.0
/*
 * test_faults_io.c - I/O faults at the command level, where the unit suites
 * (test_onnx_hostile, test_qpe_hostile, test_mcap_hostile, test_config)
 * do not reach:
 *   - disk full while recording: `qpercept record --frames` (env QP_CLI)
 *     from a camera PUB played here, run with RLIMIT_FSIZE set in the
 *     child (SIGXFSZ ignored, so writes fail with EFBIG): it must exit 1
 *     with an error naming the file, and the recording up to its last
 *     complete chunk must be readable (qp_mcap_reader's recovery scan),
 *     every message whole and in order;
 *   - qperceptd (env QP_SERVER) given a truncated model file refuses to
 *     start: exit status 1, an error naming the file, within a bounded
 *     time.
 * Every wait is bounded. Without QP_CLI / QP_SERVER: that test skips.
 */
#define _GNU_SOURCE /* mkdtemp, setrlimit */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clients/mcap/mcap.h"
#include "qp_test.h"
#include "qpercept/client.h"
#include "server_run.h"
#include "tiny_detector.h"

#define FRAME_SIDE 64
#define FRAME_BYTES (FRAME_SIDE * FRAME_SIDE * 3)
#define FSIZE_LIMIT (2 * 1024 * 1024) /* the "disk": tens of chunks of frames */

static struct srv_paths P;

static int suite_init(void)
{
    return srv_paths_make(&P, "faults_io") ? 0 : 1;
}

static int suite_clean(void)
{
    return srv_paths_remove(&P) ? 0 : 1;
}

/* The whole of a small text file into buf. */
static void read_text(const char *path, char *buf, size_t n)
{
    FILE  *f = fopen(path, "r");
    size_t k = f ? fread(buf, 1, n - 1, f) : 0;
    buf[k]   = '\0';
    if (f)
        fclose(f);
}

/* Run argv with stdout + stderr into log and RLIMIT_FSIZE fsize (0: none). */
static pid_t spawn(char *const argv[], const char *log, rlim_t fsize)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        close(fd);
        if (fsize) { /* the log is open already: only new writes meet the limit */
            struct rlimit rl = {fsize, fsize};
            signal(SIGXFSZ, SIG_IGN); /* write() fails with EFBIG instead */
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
                _exit(126);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void test_record_disk_full(void)
{
    const char *cli = getenv("QP_CLI");
    if (!cli)
        QP_TEST_SKIP("QP_CLI not set");
    QP_TEST_RAN();
    char ep[300], out[300], log[300], text[8192];
    snprintf(ep, sizeof ep, "ipc://%s/cam", P.dir);
    snprintf(out, sizeof out, "%s/full.mcap", P.dir);
    snprintf(log, sizeof log, "%s/record.log", P.dir);
    struct qp_pub_opts po  = QP_PUB_OPTS_DEFAULT;
    struct qp_pub     *pub = NULL;
    struct qp_err      err = {{0}};
    po.endpoint            = ep;
    po.stream              = "cam";
    po.max_frame_bytes     = FRAME_BYTES;
    po.send_hwm            = 1000;
    CU_ASSERT_FATAL(qp_pub_new(&po, &pub, &err) == QP_OK);
    char *const argv[] = {(char *)cli,     "record", "--frames",   ep,   "-o", out,
                          "--compression", "none",   "--flush-ms", "50", NULL};
    pid_t       pid    = spawn(argv, log, FSIZE_LIMIT);
    CU_ASSERT_FATAL(pid > 0);
    CU_ASSERT_FATAL(qp_pub_wait_subscriber(pub, 10000, &err) == QP_OK);
    static uint8_t      px[FRAME_BYTES];
    struct qp_frame_out f = {
        FRAME_SIDE, FRAME_SIDE, FRAME_SIDE * 3, QP_FRAME_FORMAT_RGB8, px, sizeof px, 0, NULL};
    int  st = 0, sent = 0;
    bool exited = false;
    for (int64_t end = srv_now_ms() + 30000; !exited && srv_now_ms() < end; sent++) {
        memset(px, sent % 250 + 1, sizeof px); /* each frame one byte value */
        qp_pub_send(pub, &f, NULL);
        srv_sleep_ms(2);
        exited = waitpid(pid, &st, WNOHANG) == pid;
    }
    if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    qp_pub_free(pub);
    read_text(log, text, sizeof text);
    printf("\n  record after %d frames: exit %d: %s", sent,
           exited && WIFEXITED(st) ? WEXITSTATUS(st) : -1, text);
    CU_ASSERT_FATAL(exited);
    CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    CU_ASSERT(strstr(text, out) != NULL); /* the error names the file */

    /* what was written up to the last complete chunk reads back */
    struct qp_mcap_reader *r = NULL;
    CU_ASSERT_FATAL(qp_mcap_reader_open(out, NULL, &r, &err) == QP_OK ||
                    (printf("%s\n", err.msg), false));
    const struct qp_mcap_info *info = qp_mcap_reader_info(r);
    struct qp_mcap_message     m;
    bool                       got = true;
    int                        n = 0, bad = 0;
    uint32_t                   prev = 0;
    while (got && qp_mcap_reader_next(r, &m, &got, &err) == QP_OK && got) {
        /* the Frame's pixels: FRAME_BYTES of one value at its end */
        bool whole = m.len > FRAME_BYTES;
        for (size_t i = 1; whole && i < FRAME_BYTES; i++)
            whole = m.data[m.len - FRAME_BYTES + i] == m.data[m.len - FRAME_BYTES];
        bad += !whole || (n > 0 && m.sequence <= prev);
        prev = m.sequence;
        n++;
    }
    struct qp_mcap_read_stats rs;
    qp_mcap_reader_stats(r, &rs);
    printf("  file %llu bytes (limit %d), footer %s, recovered %llu bytes, %d messages read back "
           "(%d bad), %llu bad chunks, end: %s\n",
           (unsigned long long)info->file_bytes, FSIZE_LIMIT, info->has_footer ? "yes" : "no",
           (unsigned long long)info->recovered_bytes, n, bad, (unsigned long long)rs.n_bad_chunks,
           qp_mcap_end_name(rs.end));
    CU_ASSERT(info->file_bytes <= FSIZE_LIMIT);
    CU_ASSERT(!info->has_footer);
    CU_ASSERT(n >= 5);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(rs.n_bad_chunks, 0);
    qp_mcap_reader_free(r);
}

static void test_server_truncated_model(void)
{
    const char *bin = getenv("QP_SERVER");
    if (!bin)
        QP_TEST_SKIP("QP_SERVER not set");
    QP_TEST_RAN();
    char model[300], sidecar[320], text[8192];
    snprintf(model, sizeof model, "%s/tiny.onnx", P.dir);
    snprintf(sidecar, sizeof sidecar, "%s/tiny.onnx.ini", P.dir);
    CU_ASSERT_FATAL(tiny_detector_write(model, sidecar));
    long  full = 0;
    FILE *f    = fopen(model, "rb");
    if (f && fseek(f, 0, SEEK_END) == 0)
        full = ftell(f);
    if (f)
        fclose(f);
    CU_ASSERT_FATAL(full > 100 && truncate(model, full / 2) == 0);
    f = fopen(P.cfg, "w");
    CU_ASSERT_FATAL(f != NULL);
    fprintf(f,
            "[server]\ncontrol_endpoint = %s\npublish_endpoint = %s\nmetrics_port = 0\n"
            "watchdog = off\n[engine]\npath = %s\nbackend = cpu\nbatch_sizes = 1\n"
            "[stream.s0]\nendpoint = ipc://%s/s0\nmode = pull\n",
            P.ctl, P.det, model, P.dir);
    CU_ASSERT_FATAL(fclose(f) == 0);
    char *const argv[] = {(char *)bin, "--config", P.cfg, NULL};
    pid_t       pid    = spawn(argv, P.log, 0);
    int         st     = 0;
    bool        exited = false;
    for (int64_t end = srv_now_ms() + 30000; !exited && srv_now_ms() < end; srv_sleep_ms(10))
        exited = waitpid(pid, &st, WNOHANG) == pid;
    if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    read_text(P.log, text, sizeof text);
    printf("\n  truncated model: exit %d: %s", exited && WIFEXITED(st) ? WEXITSTATUS(st) : -1,
           text);
    CU_ASSERT(exited && WIFEXITED(st) && WEXITSTATUS(st) == 1);
    CU_ASSERT(strstr(text, "start-up failed") != NULL);
    CU_ASSERT(strstr(text, model) != NULL);
}

static CU_TestInfo tests[] = {
    {"disk full while recording: exit 1, the file survives", test_record_disk_full},
    {"qperceptd refuses a truncated model file", test_server_truncated_model},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"faults/io", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
