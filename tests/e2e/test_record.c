// SPDX-License-Identifier: Apache-2.0
/*
 * test_record.c - replay -> qperceptd -> record, read back (env QP_CLI,
 * QP_SERVER; YOLOX-Nano and the nuScenes six-camera sample from QP_MIRROR):
 *   - `qpercept record --count 6` runs while `qpercept replay` plays the
 *     six cameras (round after round until the recorder, whose subscription
 *     reaches the server at some point, has its six); the MCAP file it
 *     leaves has a footer and summary, the qpercept.v1.Detections protobuf
 *     schema (a FileDescriptorSet naming qpercept.proto), one channel
 *     /qpercept/detections/<camera> per stream recorded, and six messages,
 *     each decoding (proto/wire.h) to an OK Detections of its channel's
 *     stream with publish time = the server's published stamp;
 *   - SIGINT ends a recording that got nothing with a valid, empty file;
 *   - bad options exit 2.
 * Every wait is bounded. Without QP_SERVER / QP_CLI / the data: skipped.
 */
#define _GNU_SOURCE /* mkdtemp, popen */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clients/mcap/mcap.h"
#include "proto/wire.h"
#include "qp_test.h"
#include "server_run.h"

#define N_CAMS 6

static const char *const cams[N_CAMS] = {"cam_front", "cam_front_left", "cam_front_right",
                                         "cam_back",  "cam_back_left",  "cam_back_right"};

static struct {
    bool             ok;
    char             model[1024], nuscenes[1024];
    char             mcap[300];
    struct srv_paths p;
    pid_t            pid;
} T;

static int suite_init(void)
{
    if (!getenv("QP_SERVER") || !getenv("QP_CLI") ||
        !qp_test_mirror_file("models/yolox_nano_416_coco.onnx", T.model, sizeof T.model) ||
        !qp_test_mirror_file("data/driving/nuscenes", T.nuscenes, sizeof T.nuscenes))
        return 0;
    if (!srv_paths_make(&T.p, "record"))
        return 1;
    snprintf(T.mcap, sizeof T.mcap, "%s/drive.mcap", T.p.dir);
    FILE *f = fopen(T.p.cfg, "w");
    if (!f)
        return 1;
    fprintf(f,
            "[server]\ncontrol_endpoint = %s\npublish_endpoint = %s\nmetrics_port = 0\n"
            "watchdog = off\nmax_delay_us = 100000\nmax_frame_bytes = 4000000\n[engine]\n"
            "path = %s\nwarmup = 1\nbatch_sizes = 1,6\nbackend = cpu\n",
            T.p.ctl, T.p.det, T.model);
    for (int k = 0; k < N_CAMS; k++)
        fprintf(f, "[stream.%s]\nendpoint = ipc://%s/%s\nmode = pull\n", cams[k], T.p.dir, cams[k]);
    if (fclose(f) != 0 || !srv_start(&T.pid, T.p.cfg, T.p.log, T.p.ctl))
        return 1;
    T.ok = true;
    return 0;
}

static int suite_clean(void)
{
    if (T.pid > 0)
        srv_stop(&T.pid, 30000);
    srv_kill(&T.pid);
    return srv_paths_remove(&T.p) ? 0 : 1;
}

#define NEEDS_ALL()                                                                                \
    do {                                                                                           \
        if (!T.ok)                                                                                 \
            QP_TEST_SKIP("QP_SERVER, QP_CLI, YOLOX-Nano or the nuScenes sample missing");          \
        QP_TEST_RAN();                                                                             \
    } while (0)

/* Start `qpercept record ARGS` in the background: its pid. */
static pid_t start_record(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "exec '%s' record %s 2>>'%s/record.log'", getenv("QP_CLI"), args,
             T.p.dir);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Wait up to ms for pid: its exit status, -1 when it is still running. */
static int wait_exit(pid_t pid, int64_t ms)
{
    int st;
    for (int64_t end = srv_now_ms() + ms; srv_now_ms() < end; srv_sleep_ms(20))
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return -1;
}

static int cam_of(const char *s)
{
    for (int k = 0; k < N_CAMS; k++)
        if (strcmp(s, cams[k]) == 0)
            return k;
    return -1;
}

static void test_round_trip(void)
{
    char args[2048];
    NEEDS_ALL();
    snprintf(args, sizeof args, "--endpoint '%s' -o '%s' --count %d --duration 120", T.p.det,
             T.mcap, N_CAMS);
    pid_t rec = start_record(args);
    CU_ASSERT_FATAL(rec > 0);
    /* rounds of the six cameras until the recorder has its six messages: its
     * subscription reaches the server at some point of the first round(s) */
    snprintf(args, sizeof args, "'%s' replay '%s' --endpoint 'ipc://%s/%%s' --rate max 2>/dev/null",
             getenv("QP_CLI"), T.nuscenes, T.p.dir);
    int rc = -1, rounds = 0;
    while (rc < 0 && rounds++ < 30) {
        CU_ASSERT_EQUAL_FATAL(system(args), 0);
        rc = wait_exit(rec, 2000);
    }
    CU_ASSERT_EQUAL_FATAL(rc, 0);

    struct qp_mcap_reader *r   = NULL;
    struct qp_err          err = {{0}};
    CU_ASSERT_EQUAL_FATAL(qp_mcap_reader_open(T.mcap, NULL, &r, &err), QP_OK);
    const struct qp_mcap_info *info = qp_mcap_reader_info(r);
    CU_ASSERT(info->has_footer && info->has_summary);
    CU_ASSERT_EQUAL(info->stats.n_messages, N_CAMS);
    size_t n_channels = qp_mcap_reader_n_channels(r);
    CU_ASSERT(n_channels >= 1 && n_channels <= N_CAMS);
    CU_ASSERT_EQUAL_FATAL(qp_mcap_reader_n_schemas(r), 1);
    const struct qp_mcap_schema *sc = qp_mcap_reader_schema_at(r, 0);
    CU_ASSERT_STRING_EQUAL(sc->name, "qpercept.v1.Detections");
    CU_ASSERT_STRING_EQUAL(sc->encoding, "protobuf");
    /* a FileDescriptorSet: it names the file and the package */
    CU_ASSERT(sc->len > 100 && memmem(sc->data, sc->len, "qpercept.proto", 14) &&
              memmem(sc->data, sc->len, "qpercept.v1", 11));

    struct qp_wire_decoder *dec = NULL;
    CU_ASSERT_EQUAL_FATAL(qp_wire_decoder_new(1 << 20, 0, &dec, &err), QP_OK);
    int seen[N_CAMS] = {0}, n = 0;
    for (;;) {
        struct qp_mcap_message m;
        bool                   got = false;
        CU_ASSERT_EQUAL_FATAL(qp_mcap_reader_next(r, &m, &got, &err), QP_OK);
        if (!got)
            break;
        n++;
        const struct qp_mcap_channel *ch = qp_mcap_reader_channel(r, m.channel_id);
        CU_ASSERT_FATAL(ch != NULL);
        CU_ASSERT_STRING_EQUAL(ch->message_encoding, "protobuf");
        CU_ASSERT(ch->n_metadata == 1 && strcmp(ch->metadata[0].key, "stream") == 0);
        struct qp_wire_detections d;
        CU_ASSERT_EQUAL_FATAL(qp_wire_decode_detections(dec, m.data, m.len, &d, NULL, &err), QP_OK);
        int k = cam_of(d.header.stream);
        CU_ASSERT_FATAL(k >= 0);
        seen[k]++;
        char topic[128];
        snprintf(topic, sizeof topic, "/qpercept/detections/%s", cams[k]);
        CU_ASSERT_STRING_EQUAL(ch->topic, topic);
        CU_ASSERT_STRING_EQUAL(ch->metadata[0].value, cams[k]);
        CU_ASSERT_EQUAL(d.status, QP_WIRE_DET_STATUS_OK);
        CU_ASSERT_EQUAL(m.publish_time_ns, d.stamps.published_ns);
        CU_ASSERT(m.log_time_ns >= d.stamps.published_ns);
        CU_ASSERT_EQUAL(m.sequence, (uint32_t)d.header.seq);
    }
    CU_ASSERT_EQUAL(n, N_CAMS);
    int distinct = 0; /* a channel per stream recorded, no more */
    for (int k = 0; k < N_CAMS; k++)
        distinct += seen[k] > 0;
    CU_ASSERT_EQUAL((size_t)distinct, n_channels);
    fprintf(stderr, "\n%d replay round%s, %d streams recorded\n", rounds, rounds == 1 ? "" : "s",
            distinct);
    qp_wire_decoder_free(dec);
    qp_mcap_reader_free(r);
}

static void test_sigint_leaves_valid_file(void)
{
    char args[2048], path[320];
    NEEDS_ALL();
    snprintf(path, sizeof path, "%s/empty.mcap", T.p.dir);
    snprintf(args, sizeof args, "--endpoint '%s' -o '%s' --compression lz4", T.p.det, path);
    pid_t rec = start_record(args);
    CU_ASSERT_FATAL(rec > 0);
    srv_sleep_ms(500);
    kill(rec, SIGINT);
    CU_ASSERT_EQUAL(wait_exit(rec, 10000), 0);
    struct qp_mcap_reader *r   = NULL;
    struct qp_err          err = {{0}};
    CU_ASSERT_EQUAL_FATAL(qp_mcap_reader_open(path, NULL, &r, &err), QP_OK);
    CU_ASSERT(qp_mcap_reader_info(r)->has_footer);
    CU_ASSERT_EQUAL(qp_mcap_reader_info(r)->stats.n_messages, 0);
    qp_mcap_reader_free(r);
}

static void test_bad_options(void)
{
    NEEDS_ALL();
    CU_ASSERT_EQUAL(wait_exit(start_record("--endpoint ipc://x"), 10000), 2);
    CU_ASSERT_EQUAL(
        wait_exit(start_record("--endpoint ipc://x -o y.mcap --compression brotli"), 10000), 2);
}

static CU_TestInfo tests[] = {
    {"replay -> qperceptd -> record: six channels, six messages, decodable", test_round_trip},
    {"SIGINT: a valid, empty recording", test_sigint_leaves_valid_file},
    {"bad options: exit 2", test_bad_options},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"record", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
