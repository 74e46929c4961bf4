// SPDX-License-Identifier: Apache-2.0
/*
 * test_cli_eval.c - `qpercept eval` as a user runs it (env QP_CLI), on the
 * mirror's models and frames: YOLOX-Nano agrees with itself exactly (1.0),
 * NanoDet-m agrees with YOLOX-Nano partly (strictly between 0 and 1), true
 * mAP of YOLOX-Nano on the KITTI frames with their gt2d labels is in (0, 1],
 * and both equal what pycocotools computes from the boxes the --json report
 * holds (tests/tools/eval_coco.py in QP_VENV). Then image lists, and the
 * errors a user meets: usage (exit 2), a missing images directory, a broken
 * label file, an image that is not one, labels that name no image (exit 1,
 * the message naming the culprit, no report left behind). Few frames: the
 * suite runs in a few seconds on two cores.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_run.h"
#include "core/json.h"
#include "qp_test.h"

static char yolox[1024], nanodet[1024], frames[1024], kitti[1024], gt2d[1024], names[1024],
    tmpdir[1024];

static int setup(void)
{
    const char *bin = getenv("QP_BINARY_DIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/test_cli_eval_tmp", bin ? bin : ".");
    mkdir(tmpdir, 0777);
    return 0;
}

static bool have_data(void)
{
    char frame[1200];
    bool ok = getenv("QP_CLI") &&
              qp_test_mirror_file("models/yolox_nano_416_coco.onnx", yolox, sizeof yolox) &&
              qp_test_mirror_file("models/nanodet_m_416_coco.onnx", nanodet, sizeof nanodet) &&
              qp_test_mirror_file("models/coco80.names", names, sizeof names) &&
              qp_test_mirror_file("data/driving/kitti/000007_gt2d.json", gt2d, sizeof gt2d) &&
              qp_test_mirror_file("data/drives/udacity_test_video/frames/000000.jpg", frame,
                                  sizeof frame);
    snprintf(frames, sizeof frames, "%s/data/drives/udacity_test_video/frames", qp_test_mirror());
    snprintf(kitti, sizeof kitti, "%s/data/driving/kitti", qp_test_mirror());
    return ok;
}

/* A number of the report: section.key (section NULL: top level). */
static double num(const struct qp_json_doc *d, const char *section, const char *key)
{
    const struct qp_json *s = section ? qp_json_get(qp_json_root(d), section) : qp_json_root(d);
    const struct qp_json *v = qp_json_get(s, key);
    CU_ASSERT_PTR_NOT_NULL(v);
    return v && v->type == QP_JSON_NUMBER ? v->v.num : NAN;
}

static struct qp_json_doc *report(const char *path)
{
    struct qp_json_doc *d   = NULL;
    struct qp_err       err = {{0}};
    if (qp_json_read_file(path, &d, &err) != QP_OK)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_PTR_NOT_NULL(d);
    return d;
}

/* pycocotools' "agreement" / "true" line for a report, into v[4] (mAP,
 * AP50, AP75, recall50); false when QP_VENV has no python. */
static bool pycocotools(const char *json, bool with_labels, const char *which, double v[5])
{
    const char *venv = getenv("QP_VENV"), *src = getenv("QP_SOURCE_DIR");
    char        py[1200], cmd[6000], line[512];
    snprintf(py, sizeof py, "%s/bin/python", venv ? venv : "");
    if (!venv || !src || access(py, X_OK) != 0)
        return false;
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/tools/eval_coco.py' '%s' %s%s%s%s%s", py, src, json,
             with_labels ? "'" : "", with_labels ? gt2d : "", with_labels ? "' '" : "",
             with_labels ? names : "", with_labels ? "'" : "");
    FILE *p     = popen(cmd, "r");
    bool  found = false;
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    while (fgets(line, sizeof line, p)) {
        char name[32];
        if (sscanf(line, "%31s %lf %lf %lf %lf %lf", name, &v[0], &v[1], &v[2], &v[3], &v[4]) ==
                6 &&
            strcmp(name, which) == 0)
            found = true;
    }
    CU_ASSERT_EQUAL(pclose(p), 0);
    CU_ASSERT(found);
    return found;
}

/* The report's section against pycocotools, to rounding of the mean. */
static void check_pycocotools(const struct qp_json_doc *d, const char *json, const char *section,
                              bool with_labels, const char *which)
{
    double v[5];
    if (!pycocotools(json, with_labels, which, v))
        QP_TEST_SKIP("QP_VENV python (pycocotools) missing: %s not cross-checked", section);
    static const char *const keys[5] = {"map", "ap50", "ap75", "recall50", "map_boxes"};
    for (int i = 0; i < 5; i++) {
        double c = num(d, section, keys[i]);
        if (!(fabs(c - v[i]) <= 1e-12)) {
            fprintf(stderr, "%s.%s: qpercept %.17g, pycocotools %.17g\n", section, keys[i], c,
                    v[i]);
            CU_FAIL("differs from pycocotools");
        }
    }
}

static void test_self_agreement(void)
{
    static char out[1 << 16];
    char        json[1200];
    if (!have_data())
        QP_TEST_SKIP("QP_CLI, models or frames missing");
    QP_TEST_RAN();
    snprintf(json, sizeof json, "%s/self.json", tmpdir);
    CU_ASSERT_EQUAL(cli(out, sizeof out,
                        "eval '%s' --images '%s' --max-images 3 --reference '%s' "
                        "--json '%s' --threads 2",
                        yolox, frames, yolox, json),
                    0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "agreement       1.0000    1.0000    1.0000    1.0000"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "qpercept eval: 3/3 images"));
    struct qp_json_doc *d = report(json);
    if (!d)
        return;
    CU_ASSERT_EQUAL(num(d, "agreement", "map"), 1.0);
    CU_ASSERT_EQUAL(num(d, "agreement", "ap50"), 1.0);
    CU_ASSERT_EQUAL(num(d, "agreement", "recall50"), 1.0);
    double ref = num(d, "agreement", "reference_boxes"), model = num(d, "agreement", "model_boxes");
    CU_ASSERT(ref > 0 && model > ref); /* --min-score 0.05 keeps more than --score 0.3 */
    CU_ASSERT_EQUAL(num(d, "settings", "n_images"), 3);
    CU_ASSERT_EQUAL(num(d, "settings", "score"), 0.3);
    CU_ASSERT_EQUAL(num(d, "settings", "min_score"), 0.05);
    const struct qp_json *set = qp_json_get(qp_json_root(d), "settings");
    const struct qp_json *sha = qp_json_get(set, "model_sha256");
    CU_ASSERT(sha && sha->type == QP_JSON_STRING && sha->n == 64);
    CU_ASSERT(sha && strcmp(sha->v.str, qp_json_get(set, "reference_sha256")->v.str) == 0);
    CU_ASSERT_EQUAL(qp_json_get(qp_json_root(d), "images")->n, 3);
    CU_ASSERT_EQUAL(qp_json_get(qp_json_root(d), "true_map")->type, QP_JSON_NULL);
    check_pycocotools(d, json, "agreement", false, "agreement");
    qp_json_free(d);
}

static void test_cross_agreement(void)
{
    static char out[1 << 16];
    char        json[1200];
    if (!have_data())
        QP_TEST_SKIP("QP_CLI, models or frames missing");
    QP_TEST_RAN();
    snprintf(json, sizeof json, "%s/cross.json", tmpdir);
    CU_ASSERT_EQUAL(cli(out, sizeof out,
                        "eval '%s' --images '%s' --max-images 3 --reference '%s' "
                        "--json '%s' --per-class",
                        nanodet, frames, yolox, json),
                    0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "reference yolox_nano_416_coco"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "agreement per class:"));
    struct qp_json_doc *d = report(json);
    if (!d)
        return;
    double map = num(d, "agreement", "map");
    CU_ASSERT(map > 0.0 && map < 1.0);
    /* per class: the reference's boxes split by class, the mAP their mean */
    const struct qp_json *pc = qp_json_get(qp_json_get(qp_json_root(d), "agreement"), "per_class");
    CU_ASSERT_FATAL(pc && pc->type == QP_JSON_ARRAY && pc->n == num(d, "agreement", "n_classes"));
    double sum = 0, truths = 0, weighted = 0;
    for (uint32_t i = 0; i < pc->n; i++) {
        const struct qp_json *m = qp_json_get(&pc->v.items[i], "map"),
                             *t = qp_json_get(&pc->v.items[i], "truths");
        CU_ASSERT_FATAL(m && t && m->type == QP_JSON_NUMBER && t->type == QP_JSON_NUMBER);
        sum += m->v.num, truths += t->v.num, weighted += m->v.num * t->v.num;
    }
    CU_ASSERT_DOUBLE_EQUAL(sum / pc->n, map, 1e-9);
    /* and weighted by their boxes, printed too */
    CU_ASSERT_DOUBLE_EQUAL(weighted / truths, num(d, "agreement", "map_boxes"), 1e-9);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "agreement mAP weighted by truth boxes"));
    CU_ASSERT_EQUAL(truths, num(d, "agreement", "reference_boxes"));
    check_pycocotools(d, json, "agreement", false, "agreement");
    qp_json_free(d);
}

static void test_true_map_kitti(void)
{
    static char out[1 << 16];
    char        json[1200];
    if (!have_data())
        QP_TEST_SKIP("QP_CLI, models or KITTI labels missing");
    QP_TEST_RAN();
    snprintf(json, sizeof json, "%s/kitti.json", tmpdir);
    CU_ASSERT_EQUAL(cli(out, sizeof out, "eval '%s' --images '%s' --labels '%s' --json '%s'", yolox,
                        kitti, gt2d, json),
                    0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "(gt2d, 1 file): 1 of 2 images labelled, 4 boxes"));
    struct qp_json_doc *d = report(json);
    if (!d)
        return;
    double map = num(d, "true_map", "map");
    CU_ASSERT(map > 0.0 && map <= 1.0);
    CU_ASSERT_EQUAL(num(d, "true_map", "n_images"), 1);
    CU_ASSERT_EQUAL(num(d, "true_map", "boxes"), 4); /* 3 Car, 1 Cyclist (a person) */
    CU_ASSERT_EQUAL(num(d, "true_map", "n_classes"), 2);
    CU_ASSERT_EQUAL(qp_json_get(qp_json_root(d), "agreement")->type, QP_JSON_NULL);
    check_pycocotools(d, json, "true_map", true, "true");
    qp_json_free(d);
}

static void test_image_list(void)
{
    static char out[1 << 16];
    char        list[1200], link[1200], json[1200];
    if (!have_data())
        QP_TEST_SKIP("QP_CLI, models or frames missing");
    QP_TEST_RAN();
    /* relative paths resolve against the list's directory */
    snprintf(link, sizeof link, "%s/frames_link", tmpdir);
    remove(link);
    CU_ASSERT_EQUAL_FATAL(symlink(frames, link), 0);
    snprintf(list, sizeof list, "%s/list.txt", tmpdir);
    FILE *f = fopen(list, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fprintf(f, "# two frames\n\nframes_link/000001.jpg\n  %s/000002.jpg  \n%s/000003.jpg\n", frames,
            frames);
    fclose(f);
    snprintf(json, sizeof json, "%s/list.json", tmpdir);
    CU_ASSERT_EQUAL(cli(out, sizeof out,
                        "eval '%s' --images '%s' --max-images 2 --reference '%s' "
                        "--json '%s'",
                        yolox, list, yolox, json),
                    0);
    struct qp_json_doc *d = report(json);
    if (!d)
        return;
    const struct qp_json *imgs = qp_json_get(qp_json_root(d), "images");
    CU_ASSERT_FATAL(imgs && imgs->n == 2);
    const char *first = qp_json_get(&imgs->v.items[0], "file")->v.str;
    CU_ASSERT(strstr(first, "test_cli_eval_tmp/frames_link/000001.jpg") != NULL);
    CU_ASSERT_EQUAL(num(d, "agreement", "map"), 1.0);
    qp_json_free(d);
}

static bool exists(const char *p)
{
    return access(p, F_OK) == 0;
}

static void test_errors(void)
{
    static char out[1 << 16];
    char        bad[1200], json[1200], tmp[1300], list[1200];
    if (!have_data())
        QP_TEST_SKIP("QP_CLI, models or frames missing");
    QP_TEST_RAN();
    /* usage errors exit 2 */
    CU_ASSERT_EQUAL(cli(out, sizeof out, "eval"), 2);
    CU_ASSERT_EQUAL(cli(out, sizeof out, "eval '%s' --reference '%s'", yolox, yolox), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--images"));
    CU_ASSERT_EQUAL(cli(out, sizeof out, "eval '%s' --images '%s'", yolox, frames), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--reference REF_MODEL"));
    CU_ASSERT_EQUAL(cli(out, sizeof out, "eval '%s' --images '%s' --reference '%s' --score 7",
                        yolox, frames, yolox),
                    2);
    CU_ASSERT_EQUAL(cli(out, sizeof out, "eval '%s' --images '%s' --reference '%s' --max-images 0",
                        yolox, frames, yolox),
                    2);
    CU_ASSERT_EQUAL(cli(out, sizeof out, "eval '%s' --images '%s' --frobnicate 1", yolox, frames),
                    2);
    CU_ASSERT_EQUAL(cli(out, sizeof out, "eval '%s' --images", yolox), 2);

    /* a missing images directory */
    CU_ASSERT_EQUAL(cli(out, sizeof out, "eval '%s' --images '%s/no_such_frames' --reference '%s'",
                        yolox, tmpdir, yolox),
                    1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "no_such_frames: No such file or directory"));

    /* a broken label file: its name, line, column and what is wrong; no report left */
    snprintf(bad, sizeof bad, "%s/broken_gt2d.json", tmpdir);
    snprintf(json, sizeof json, "%s/broken.json", tmpdir);
    snprintf(tmp, sizeof tmp, "%s.tmp", json);
    FILE *f = fopen(bad, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("{\"image\": \"000007.png\",\n \"objects\": [{\"class\": \"Car\", \"bbox\": [1, 2]}]}\n",
          f);
    fclose(f);
    remove(json);
    CU_ASSERT_EQUAL(cli(out, sizeof out, "eval '%s' --images '%s' --labels '%s' --json '%s'", yolox,
                        kitti, bad, json),
                    1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "broken_gt2d.json: line 2, column 39"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "objects[0].bbox: expected [x1, y1, x2, y2]"));
    CU_ASSERT(!exists(json) && !exists(tmp));

    /* labels for other images */
    CU_ASSERT_EQUAL(cli(out, sizeof out, "eval '%s' --images '%s' --max-images 2 --labels '%s'",
                        yolox, frames, gt2d),
                    1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "name none of the 2 images"));

    /* an image that is not one: named, exit 1, no report left */
    snprintf(bad, sizeof bad, "%s/not_an_image.jpg", tmpdir);
    f = fopen(bad, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("plain text\n", f);
    fclose(f);
    snprintf(list, sizeof list, "%s/bad_list.txt", tmpdir);
    f = fopen(list, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fprintf(f, "%s/000000.jpg\nnot_an_image.jpg\n", frames);
    fclose(f);
    CU_ASSERT_EQUAL(cli(out, sizeof out, "eval '%s' --images '%s' --reference '%s' --json '%s'",
                        yolox, list, yolox, json),
                    1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "not_an_image.jpg"));
    CU_ASSERT(!exists(json) && !exists(tmp));

    /* an empty list */
    f = fopen(list, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("# nothing\n", f);
    fclose(f);
    CU_ASSERT_EQUAL(
        cli(out, sizeof out, "eval '%s' --images '%s' --reference '%s'", yolox, list, yolox), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "bad_list.txt: no image paths in the list"));
}

static CU_TestInfo tests[] = {
    {"agreement: YOLOX-Nano with itself is exactly 1", test_self_agreement},
    {"agreement: NanoDet-m with YOLOX-Nano is in (0, 1)", test_cross_agreement},
    {"true mAP: YOLOX-Nano on KITTI gt2d labels", test_true_map_kitti},
    {"image list file, --max-images", test_image_list},
    {"errors: usage, images, labels, bad image", test_errors},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"cli eval", setup, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
