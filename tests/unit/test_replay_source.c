// SPDX-License-Identifier: Apache-2.0
/*
 * test_replay_source.c - the drive layouts `qpercept replay` plays
 * (clients/cli/replay_source.h), on trees of empty image files made here:
 *   - a multi-camera set: one stream per camera, lower-cased, times from
 *     the names, the largest scene by default, another by name, the rest
 *     counted skipped, an unknown scene refused;
 *   - KITTI raw: one stream per image_0N, times from timestamps.txt
 *     (nanoseconds kept), a count mismatch refused naming the file;
 *   - an image folder (and frames/): frame i at i / fps, or a timestamps
 *     file's times; a bad line refused naming file:line;
 *   - time parsing: seconds, the KITTI format, garbage;
 *   - nothing playable: refused, naming what was looked for.
 */
#define _GNU_SOURCE /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qp_test.h"
#include "replay_source.h"

static char root[64];

static void touch(const char *rel)
{
    char  p[512];
    FILE *f;
    snprintf(p, sizeof p, "%s/%s", root, rel);
    CU_ASSERT_FATAL((f = fopen(p, "w")) != NULL);
    fclose(f);
}

static void mkdir_rel(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    CU_ASSERT_FATAL(mkdir(p, 0755) == 0);
}

static void write_rel(const char *rel, const char *text)
{
    char  p[512];
    FILE *f;
    snprintf(p, sizeof p, "%s/%s", root, rel);
    CU_ASSERT_FATAL((f = fopen(p, "w")) != NULL);
    fputs(text, f);
    fclose(f);
}

static const char *path_of(const char *rel)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    return p;
}

static int suite_init(void)
{
    snprintf(root, sizeof root, "/tmp/qp_test_replay_XXXXXX");
    return mkdtemp(root) ? 0 : 1;
}

static int suite_clean(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : 1;
}

static void test_multi_camera(void)
{
    struct qp_replay_source      s   = {0};
    struct qp_replay_source_opts o   = QP_REPLAY_SOURCE_OPTS_DEFAULT;
    struct qp_err                err = {{0}};
    mkdir_rel("multi");
    touch("multi/sceneB__CAM_FRONT__1000000.jpg");
    touch("multi/sceneB__CAM_BACK__1000100.jpg");
    touch("multi/sceneB__CAM_FRONT__1050000.jpg");
    touch("multi/sceneA__CAM_FRONT__5.jpg");
    touch("multi/notes.json");
    CU_ASSERT_EQUAL_FATAL(qp_replay_source_open(path_of("multi"), &o, &s, &err), QP_OK);
    CU_ASSERT_EQUAL(s.layout, QP_REPLAY_LAYOUT_MULTI_CAMERA);
    CU_ASSERT_STRING_EQUAL(s.scene, "sceneB");
    CU_ASSERT_EQUAL(s.n_skipped, 1);
    CU_ASSERT_EQUAL_FATAL(s.n_streams, 2);
    CU_ASSERT_EQUAL_FATAL(s.n_frames, 3);
    /* by time: front at 0, back at 100 us, front at 50 ms */
    CU_ASSERT_STRING_EQUAL(s.names[s.frames[0].stream], "cam_front");
    CU_ASSERT_EQUAL(s.frames[0].t_ns, 0);
    CU_ASSERT_STRING_EQUAL(s.names[s.frames[1].stream], "cam_back");
    CU_ASSERT_EQUAL(s.frames[1].t_ns, 100000);
    CU_ASSERT_EQUAL(s.frames[2].t_ns, 50000000);
    CU_ASSERT(strstr(s.frames[2].path, "sceneB__CAM_FRONT__1050000.jpg") != NULL);
    CU_ASSERT_EQUAL(s.duration_ns, 50000000);
    qp_replay_source_free(&s);

    o.scene = "sceneA";
    CU_ASSERT_EQUAL_FATAL(qp_replay_source_open(path_of("multi"), &o, &s, &err), QP_OK);
    CU_ASSERT_EQUAL(s.n_frames, 1);
    CU_ASSERT_EQUAL(s.n_skipped, 3);
    qp_replay_source_free(&s);
    o.scene = "sceneC";
    CU_ASSERT_EQUAL(qp_replay_source_open(path_of("multi"), &o, &s, &err), QP_E_INVAL);
    CU_ASSERT(strstr(err.msg, "sceneC") != NULL);
    CU_ASSERT_EQUAL(s.n_frames, 0);
}

static void test_kitti_raw(void)
{
    struct qp_replay_source      s   = {0};
    struct qp_replay_source_opts o   = QP_REPLAY_SOURCE_OPTS_DEFAULT;
    struct qp_err                err = {{0}};
    mkdir_rel("kitti");
    mkdir_rel("kitti/image_02");
    mkdir_rel("kitti/image_02/data");
    mkdir_rel("kitti/image_03");
    mkdir_rel("kitti/image_03/data");
    touch("kitti/image_02/data/0000000000.png");
    touch("kitti/image_02/data/0000000001.png");
    touch("kitti/image_03/data/0000000000.png");
    touch("kitti/image_03/data/0000000001.png");
    write_rel("kitti/image_02/timestamps.txt",
              "2011-09-26 13:02:25.964389445\n2011-09-26 13:02:26.067999000\n");
    write_rel("kitti/image_03/timestamps.txt",
              "2011-09-26 13:02:25.964389446\n2011-09-26 13:02:26.068000000\n");
    CU_ASSERT_EQUAL_FATAL(qp_replay_source_open(path_of("kitti"), &o, &s, &err), QP_OK);
    CU_ASSERT_EQUAL(s.layout, QP_REPLAY_LAYOUT_KITTI_RAW);
    CU_ASSERT_EQUAL_FATAL(s.n_streams, 2);
    CU_ASSERT_STRING_EQUAL(s.names[0], "image_02");
    CU_ASSERT_EQUAL_FATAL(s.n_frames, 4);
    CU_ASSERT_EQUAL(s.frames[0].t_ns, 0);
    CU_ASSERT_EQUAL(s.frames[1].t_ns, 1); /* image_03, one nanosecond later */
    CU_ASSERT_EQUAL(s.frames[2].t_ns, 103609555);
    CU_ASSERT_EQUAL(s.frames[3].t_ns, 103610555);
    qp_replay_source_free(&s);
    write_rel("kitti/image_03/timestamps.txt", "2011-09-26 13:02:25.964389446\n");
    CU_ASSERT_EQUAL(qp_replay_source_open(path_of("kitti"), &o, &s, &err), QP_E_INVAL);
    CU_ASSERT(strstr(err.msg, "image_03/timestamps.txt") && strstr(err.msg, "1 times for 2"));
}

static void test_folder(void)
{
    struct qp_replay_source      s   = {0};
    struct qp_replay_source_opts o   = QP_REPLAY_SOURCE_OPTS_DEFAULT;
    struct qp_err                err = {{0}};
    mkdir_rel("drive");
    mkdir_rel("drive/frames");
    touch("drive/frames/000002.jpg");
    touch("drive/frames/000000.jpg");
    touch("drive/frames/000001.jpg");
    o.fps = 20;
    CU_ASSERT_EQUAL_FATAL(qp_replay_source_open(path_of("drive"), &o, &s, &err), QP_OK);
    CU_ASSERT_EQUAL(s.layout, QP_REPLAY_LAYOUT_FOLDER);
    CU_ASSERT_STRING_EQUAL(s.names[0], "cam0");
    CU_ASSERT_EQUAL_FATAL(s.n_frames, 3);
    CU_ASSERT(strstr(s.frames[1].path, "frames/000001.jpg") != NULL);
    CU_ASSERT_EQUAL(s.frames[2].t_ns, 100000000);
    qp_replay_source_free(&s);

    write_rel("times.txt", "# seconds\n0.0\n0.5\n\n2.25\n");
    o.stream = "front";
    char dir[512];
    snprintf(dir, sizeof dir, "%s/drive/frames", root);
    o.timestamps = strdup(path_of("times.txt"));
    CU_ASSERT_EQUAL_FATAL(qp_replay_source_open(dir, &o, &s, &err), QP_OK);
    CU_ASSERT_STRING_EQUAL(s.names[0], "front");
    CU_ASSERT_EQUAL(s.frames[2].t_ns, 2250000000LL);
    qp_replay_source_free(&s);
    write_rel("times.txt", "0.0\nsoon\n2.25\n");
    CU_ASSERT_EQUAL(qp_replay_source_open(dir, &o, &s, &err), QP_E_INVAL);
    CU_ASSERT(strstr(err.msg, "times.txt:2") != NULL);
    free((void *)o.timestamps);
}

static void test_nothing(void)
{
    struct qp_replay_source      s   = {0};
    struct qp_replay_source_opts o   = QP_REPLAY_SOURCE_OPTS_DEFAULT;
    struct qp_err                err = {{0}};
    mkdir_rel("empty");
    touch("empty/readme.txt");
    CU_ASSERT_EQUAL(qp_replay_source_open(path_of("empty"), &o, &s, &err), QP_E_INVAL);
    CU_ASSERT(strstr(err.msg, "no drive found") != NULL);
    CU_ASSERT_EQUAL(qp_replay_source_open(path_of("none"), &o, &s, &err), QP_E_IO);
}

static void test_times(void)
{
    int64_t ns = 0;
    CU_ASSERT(qp_replay_parse_time("12.5", &ns) && ns == 12500000000LL);
    CU_ASSERT(qp_replay_parse_time("  0 \n", &ns) && ns == 0);
    CU_ASSERT(qp_replay_parse_time("1970-01-01 00:00:01.000000001", &ns) && ns == 1000000001LL);
    CU_ASSERT(!qp_replay_parse_time("2011-13-26 13:02:25.9", &ns));
    CU_ASSERT(!qp_replay_parse_time("12.5s", &ns));
    CU_ASSERT(!qp_replay_parse_time("-1", &ns));
    CU_ASSERT(!qp_replay_parse_time("", &ns));
    CU_ASSERT_STRING_EQUAL(qp_replay_layout_name(QP_REPLAY_LAYOUT_KITTI_RAW), "KITTI raw");
    CU_ASSERT_STRING_EQUAL(qp_replay_layout_name(QP_REPLAY_LAYOUT_COUNT), "unknown");
}

static CU_TestInfo tests[] = {
    {"multi-camera set: streams, times, scenes", test_multi_camera},
    {"KITTI raw: streams per camera, nanosecond times", test_kitti_raw},
    {"image folder: fps, frames/, timestamps file", test_folder},
    {"nothing playable: refused", test_nothing},
    {"time formats", test_times},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"replay_source", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
