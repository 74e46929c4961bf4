// SPDX-License-Identifier: Apache-2.0
/*
 * test_labels.c - ground truth from label files: each format (KITTI
 * directory and single file, gt2d file and directory, COCO instances)
 * written from small strings into a temporary directory, the class mapping
 * (KITTI / nuScenes types, COCO names against darknet's), DontCare as a
 * crowd region that absorbs detections, images matched by name, and the
 * errors, each naming the file, the line (or JSON position) and what is
 * wrong. Every load, failed or not, must leave no allocation behind.
 * Temporary files go under QP_BINARY_DIR (else ".").
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "eval/labels.h"
#include "qp_test.h"

static char tmp[1024];

/* A model's class list: a slice of coco80.names (darknet spelling). */
static const char names[][QP_LABEL_LEN] = {"person",        "bicycle", "car",      "motorbike",
                                           "aeroplane",     "bus",     "train",    "truck",
                                           "traffic light", "sofa",    "tvmonitor"};
enum { PERSON, BICYCLE, CAR, MOTORBIKE, AEROPLANE, BUS, TRAIN, TRUCK, LIGHT, SOFA, TV, N_NAMES };

static int setup(void)
{
    const char *bin = getenv("QP_BINARY_DIR");
    snprintf(tmp, sizeof tmp, "%s/test_labels_tmp", bin ? bin : ".");
    mkdir(tmp, 0777);
    return 0;
}

/* tmp/rel with text; returns the path in a static ring of buffers. */
static const char *put(const char *rel, const char *text)
{
    static char paths[8][1200];
    static int  next;
    char       *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", tmp, rel);
    for (char *s = p + strlen(tmp) + 1; (s = strchr(s, '/')); s++) {
        *s = '\0'; /* mkdir -p */
        mkdir(p, 0777);
        *s = '/';
    }
    FILE *f = fopen(p, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static const char *dir_of(const char *rel)
{
    static char p[1200];
    snprintf(p, sizeof p, "%s/%s", tmp, rel);
    return p;
}

/* Load path for images; status, with the message checked for words. */
static enum qp_status load(const char *path, const char *const *images, int32_t n, bool *labelled,
                           struct qp_labels_stats *st, struct qp_metrics **m, const char *words)
{
    struct qp_err err  = {{0}};
    int64_t       live = qp_alloc_live();
    CU_ASSERT_EQUAL_FATAL(qp_metrics_new(m, NULL), QP_OK);
    enum qp_status s = qp_labels_load(path, names, N_NAMES, images, n, *m, labelled, st, &err);
    if (words && !strstr(err.msg, words)) {
        fprintf(stderr, "%s: got '%s', want '%s'\n", path, err.msg, words);
        CU_FAIL("error message");
    }
    if (s != QP_OK) {
        qp_metrics_free(*m);
        *m = NULL;
        CU_ASSERT_EQUAL(qp_alloc_live(), live);
    }
    return s;
}

static void test_class_mapping(void)
{
    static const struct {
        const char *name;
        int32_t     id;
        bool        crowd;
    } cases[] = {
        {"Car", CAR, false},
        {"Van", CAR, false},
        {"Truck", TRUCK, false},
        {"Pedestrian", PERSON, false},
        {"Person_sitting", PERSON, false},
        {"Cyclist", PERSON, false},
        {"Tram", TRAIN, false},
        {"Misc", -1, false},
        {"DontCare", -1, true},
        {"traffic_cone", -1, false},
        {"barrier", -1, false},
        {"pedestrian", PERSON, false},
        {"bus", BUS, false},
        {"bicycle", BICYCLE, false},
        {"motorcycle", MOTORBIKE, false},
        {"airplane", AEROPLANE, false},
        {"couch", SOFA, false},
        {"tv", TV, false},
        {"traffic_light", LIGHT, false},
        {"TRAFFIC-LIGHT", LIGHT, false},
        {"unicorn", -1, false},
        {"", -1, false},
        {"a name far longer than any label of a model could ever be, really", -1, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool    crowd = !cases[i].crowd;
        int32_t id    = qp_labels_class_id(names, N_NAMES, cases[i].name, &crowd);
        if (id != cases[i].id || crowd != cases[i].crowd) {
            fprintf(stderr, "%s -> %d crowd %d\n", cases[i].name, (int)id, crowd);
            CU_FAIL("class mapping");
        }
    }
    /* a model spelled the COCO way takes darknet's names */
    static const char coco[][QP_LABEL_LEN] = {"person", "motorcycle", "tv", "couch"};
    bool              crowd;
    CU_ASSERT_EQUAL(qp_labels_class_id(coco, 4, "motorbike", &crowd), 1);
    CU_ASSERT_EQUAL(qp_labels_class_id(coco, 4, "tvmonitor", &crowd), 2);
    CU_ASSERT_EQUAL(qp_labels_class_id(coco, 4, "sofa", &crowd), 3);
    CU_ASSERT_EQUAL(qp_labels_class_id(coco, 4, "Van", &crowd), -1); /* no car here */
    CU_ASSERT_STRING_EQUAL(qp_labels_format_name(QP_LABELS_KITTI), "kitti");
}

static const char kitti_1[] =
    "Car 0.00 0 -1.58 100.00 100.00 200.00 150.00 1.5 1.6 3.9 1.0 1.5 20.0 -1.5\n"
    "Van 0.00 0 1.0 300 100 400 160 2.0 1.8 4.5 -3.0 1.6 25.0 1.6\n"
    "Pedestrian 0.00 1 0.3 500 90 530 170 1.7 0.6 0.8 4.0 1.6 15.0 0.5 0.97\n"
    "\n"
    "Misc 0.00 0 0 600 100 650 140 1 1 1 1 1 1 1\r\n"
    "DontCare -1 -1 -10 700.5 100.0 800.5 140.0 -1 -1 -1 -1000 -1000 -1000 -10\n";

static void test_kitti(void)
{
    put("kitti/label_2/000001.txt", kitti_1);
    put("kitti/label_2/000002.txt", "");
    put("kitti/label_2/000009.txt", "Car 0 0 0 1 1 2 2 1 1 1 1 1 1 1\n");
    put("kitti/label_2/readme.md", "not a label file\n");
    const char            *images[] = {"img/000002.jpg", "img/000001.png", "img/000003.png"};
    bool                   labelled[3];
    struct qp_labels_stats st;
    struct qp_metrics     *m;
    int64_t                live = qp_alloc_live();
    CU_ASSERT_EQUAL_FATAL(load(dir_of("kitti/label_2"), images, 3, labelled, &st, &m, NULL), QP_OK);
    CU_ASSERT_EQUAL(st.format, QP_LABELS_KITTI);
    CU_ASSERT_EQUAL(st.n_files, 3);
    CU_ASSERT_EQUAL(st.n_unmatched, 1); /* 000009 */
    CU_ASSERT_EQUAL(st.n_labelled, 2);
    CU_ASSERT(labelled[0] && labelled[1] && !labelled[2]);
    CU_ASSERT_EQUAL(st.n_boxes, 3);
    CU_ASSERT_EQUAL(st.n_crowd, 1);
    CU_ASSERT_EQUAL(st.n_unmapped, 1);
    CU_ASSERT_EQUAL(st.n_unmapped_names, 1);
    CU_ASSERT_STRING_EQUAL(st.unmapped[0].name, "Misc");
    /* 3 boxes + DontCare once per model class */
    CU_ASSERT_EQUAL(qp_metrics_n_truths(m), 3 + N_NAMES);

    /* detections: every box found, and two in the DontCare region, which
     * are ignored rather than false positives: AP stays 1 */
    static const float dets[][5] = {{CAR, 100, 100, 200, 150},
                                    {CAR, 300, 100, 400, 160},
                                    {PERSON, 500, 90, 530, 170},
                                    {CAR, 710, 105, 760, 135},
                                    {TRUCK, 720, 100, 790, 140}};
    for (size_t i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(qp_metrics_add_detection(m, 1, (int32_t)dets[i][0], 0.9f - 0.1f * (float)i,
                                                 &dets[i][1], NULL),
                        QP_OK);
    struct qp_metrics_result r;
    CU_ASSERT_EQUAL_FATAL(qp_metrics_compute(m, &r, NULL), QP_OK);
    CU_ASSERT_DOUBLE_EQUAL(r.map, 1.0, 1e-12);
    CU_ASSERT_EQUAL(r.n_classes, 2); /* car and person have ground truth */
    /* one more car outside the region: now a false positive ranked above */
    const float fp[4] = {900, 100, 950, 150};
    CU_ASSERT_EQUAL(qp_metrics_add_detection(m, 1, CAR, 0.95f, fp, NULL), QP_OK);
    CU_ASSERT_EQUAL_FATAL(qp_metrics_compute(m, &r, NULL), QP_OK);
    CU_ASSERT(r.map < 1.0);
    qp_metrics_free(m);

    /* one file: its stem names the image */
    CU_ASSERT_EQUAL_FATAL(
        load(dir_of("kitti/label_2/000001.txt"), images, 3, labelled, &st, &m, NULL), QP_OK);
    CU_ASSERT_EQUAL(st.n_files, 1);
    CU_ASSERT(!labelled[0] && labelled[1] && !labelled[2]);
    CU_ASSERT_EQUAL(st.n_boxes, 3);
    qp_metrics_free(m);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

static void test_kitti_errors(void)
{
    const char            *images[] = {"000001.png"};
    bool                   labelled[1];
    struct qp_labels_stats st;
    struct qp_metrics     *m;
    static const struct {
        const char *text, *words;
    } cases[] = {
        {"Car 0 0 0 1 1 2 2 1 1 1 1 1 1 1\nCar 0 0 0 1 1 2 2 1 1 1 1 1 1\n",
         "bad/000001.txt:2: 14 fields; a KITTI label line has 15 (16 with a score)"},
        {"Car 0 0 0 abc 1 2 2 1 1 1 1 1 1 1\n",
         "bad/000001.txt:1: field 5 (x1) 'abc' is not a number"},
        {"Car 0 0 0 1 1 2 2 1 1 1 1 1 1 nan\n", "field 15 (ry) 'nan' is not a number"},
        {"\n\nCar 0 0 0 10 1 2 2 1 1 1 1 1 1 1\n",
         "bad/000001.txt:3: box x1 10 y1 1 x2 2 y2 2 has x2 < x1"},
        {"Car 0 0 0 1 1 2 2 1 1 1 1 1 1 1 0.5 7\n", ":1: 17 fields"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CU_ASSERT_EQUAL(load(put("bad/000001.txt", cases[i].text), images, 1, labelled, &st, &m,
                             cases[i].words),
                        QP_E_FORMAT);
    /* a NUL byte in a text file */
    const char *p = put("bad/000001.txt", "");
    FILE       *f = fopen(p, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fwrite("Car 0\0 0", 1, 8, f);
    fclose(f);
    CU_ASSERT_EQUAL(load(p, images, 1, labelled, &st, &m, "000001.txt:1: NUL byte"), QP_E_FORMAT);
    /* a directory without label files, a path that does not exist */
    mkdir(dir_of("empty"), 0777);
    CU_ASSERT_EQUAL(load(dir_of("empty"), images, 1, labelled, &st, &m,
                         "empty: no *_gt2d.json or KITTI *.txt label files"),
                    QP_E_FORMAT);
    CU_ASSERT_EQUAL(
        load(dir_of("no/such/labels"), images, 1, labelled, &st, &m, "no/such/labels: "), QP_E_IO);
}

static void test_gt2d(void)
{
    put("gt2d/a_gt2d.json", "{\"image\": \"CAM_FRONT__1.jpg\", \"width\": 1600, \"objects\": [\n"
                            " {\"class\": \"pedestrian\", \"bbox\": [10, 20, 30, 80]},\n"
                            " {\"class\": \"traffic_cone\", \"bbox\": [50, 50, 60, 70]},\n"
                            " {\"class\": \"car\", \"bbox\": [100.5, 100.25, 300, 200]}]}");
    put("gt2d/b_gt2d.json",
        "{\"image\": \"sweeps/CAM_BACK__2.jpg\", \"objects\": [{\"class\": \"DontCare\", "
        "\"bbox\": [0, 0, 5, 5]}, {\"class\": \"barrier\", \"bbox\": [1, 1, 2, 2]}]}");
    put("gt2d/notes.txt", "a .txt beside gt2d files is not read as KITTI\n");
    const char *images[] = {"n/CAM_BACK__2.jpg", "n/CAM_FRONT__1.jpg", "n/CAM_FRONT__1.png"};
    bool        labelled[3];
    struct qp_labels_stats st;
    struct qp_metrics     *m;
    int64_t                live = qp_alloc_live();
    CU_ASSERT_EQUAL_FATAL(load(dir_of("gt2d"), images, 3, labelled, &st, &m, NULL), QP_OK);
    CU_ASSERT_EQUAL(st.format, QP_LABELS_GT2D);
    CU_ASSERT_EQUAL(st.n_files, 2);
    CU_ASSERT(labelled[0] && labelled[1] && !labelled[2]); /* .png is another image */
    CU_ASSERT_EQUAL(st.n_boxes, 2);
    CU_ASSERT_EQUAL(st.n_crowd, 1);
    CU_ASSERT_EQUAL(st.n_unmapped, 2);
    CU_ASSERT_EQUAL(st.n_unmapped_names, 2);
    CU_ASSERT_EQUAL(qp_metrics_n_truths(m), 2 + N_NAMES);
    qp_metrics_free(m);

    /* one file */
    CU_ASSERT_EQUAL_FATAL(load(dir_of("gt2d/a_gt2d.json"), images, 3, labelled, &st, &m, NULL),
                          QP_OK);
    CU_ASSERT(!labelled[0] && labelled[1] && !labelled[2]);
    CU_ASSERT_EQUAL(st.n_boxes, 2);
    qp_metrics_free(m);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);

    static const struct {
        const char *text, *words;
    } bad[] = {
        {"{\"image\": \"x.jpg\", \"objects\": [\n {\"class\": \"car\", \"bbox\": [1, 2, 3, 4]},\n"
         " {\"class\": \"car\", \"bbox\": [1, 2, 3]}]}",
         "bad_gt2d.json: line 3, column 27 (byte 99): objects[1].bbox: expected [x1, y1, x2, y2]"},
        {"{\"image\": \"x.jpg\", \"objects\": [{\"class\": \"car\", \"bbox\": [5, 2, 3, 4]}]}",
         "objects[0].bbox: box x2 < x1"},
        {"{\"image\": \"x.jpg\", \"objects\": [{\"class\": 3, \"bbox\": [1, 2, 3, 4]}]}",
         "objects[0].class: expected a string"},
        {"{\"image\": 7, \"objects\": []}", "column 11 (byte 10): \"image\": expected"},
        {"{\"image\": \"x.jpg\", \"objects\": {}}", "\"objects\": expected an array"},
        {"{\"image\": \"x.jpg\", \"objects\": [",
         "bad_gt2d.json: line 1, column 32 (byte 31): unexpected end"},
        {"{\"what\": 1}", "expected an object with images / annotations (COCO) or image / objects"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_EQUAL(
            load(put("bad/bad_gt2d.json", bad[i].text), images, 3, labelled, &st, &m, bad[i].words),
            QP_E_FORMAT);
}

static const char coco_text[] =
    "{\"info\": {}, \"images\": [\n"
    "  {\"id\": 42, \"file_name\": \"val2017/000000000042.jpg\", \"width\": 640},\n"
    "  {\"id\": 7, \"file_name\": \"000000000007.jpg\"},\n"
    "  {\"id\": 9, \"file_name\": \"not_in_the_list.jpg\"}],\n"
    " \"annotations\": [\n"
    "  {\"id\": 1, \"image_id\": 42, \"category_id\": 3, \"bbox\": [10, 20, 30, 40], \"iscrowd\": "
    "0},\n"
    "  {\"id\": 2, \"image_id\": 42, \"category_id\": 4, \"bbox\": [50, 50, 10, 10]},\n"
    "  {\"id\": 3, \"image_id\": 42, \"category_id\": 1, \"bbox\": [0, 0, 100, 100], \"iscrowd\": "
    "1,\n"
    "   \"segmentation\": {\"counts\": [1, 2], \"size\": [100, 100]}},\n"
    "  {\"id\": 4, \"image_id\": 7, \"category_id\": 99, \"bbox\": [1, 1, 1, 1]},\n"
    "  {\"id\": 5, \"image_id\": 9, \"category_id\": 3, \"bbox\": [1, 1, 1, 1]}],\n"
    " \"categories\": [{\"id\": 1, \"name\": \"person\"}, {\"id\": 3, \"name\": \"car\"},\n"
    "  {\"id\": 4, \"name\": \"motorcycle\"}, {\"id\": 99, \"name\": \"unicorn\"}]}\n";

static void test_coco(void)
{
    const char *path     = put("coco/instances.json", coco_text);
    const char *images[] = {"frames/000000000007.jpg", "frames/000000000042.jpg", "frames/x.jpg"};
    bool        labelled[3];
    struct qp_labels_stats st;
    struct qp_metrics     *m;
    int64_t                live = qp_alloc_live();
    CU_ASSERT_EQUAL_FATAL(load(path, images, 3, labelled, &st, &m, NULL), QP_OK);
    CU_ASSERT_EQUAL(st.format, QP_LABELS_COCO);
    CU_ASSERT(labelled[0] && labelled[1] && !labelled[2]);
    CU_ASSERT_EQUAL(st.n_unmatched, 1);
    CU_ASSERT_EQUAL(st.n_boxes, 2);    /* car, motorcycle -> motorbike */
    CU_ASSERT_EQUAL(st.n_crowd, 1);    /* person crowd */
    CU_ASSERT_EQUAL(st.n_unmapped, 1); /* unicorn */
    CU_ASSERT_STRING_EQUAL(st.unmapped[0].name, "unicorn");
    CU_ASSERT_EQUAL(qp_metrics_n_truths(m), 3);
    /* bbox is x, y, w, h: a detection at [10, 20, 40, 60] matches the car */
    const float car[4] = {10, 20, 40, 60}, bike[4] = {50, 50, 60, 60}, in_crowd[4] = {5, 5, 20, 20};
    CU_ASSERT_EQUAL(qp_metrics_add_detection(m, 1, CAR, 0.9f, car, NULL), QP_OK);
    CU_ASSERT_EQUAL(qp_metrics_add_detection(m, 1, MOTORBIKE, 0.8f, bike, NULL), QP_OK);
    CU_ASSERT_EQUAL(qp_metrics_add_detection(m, 1, PERSON, 0.95f, in_crowd, NULL), QP_OK);
    struct qp_metrics_result r;
    CU_ASSERT_EQUAL_FATAL(qp_metrics_compute(m, &r, NULL), QP_OK);
    CU_ASSERT_DOUBLE_EQUAL(r.map, 1.0, 1e-12);
    CU_ASSERT_EQUAL(r.n_classes, 2);
    qp_metrics_free(m);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

static void test_coco_errors(void)
{
    const char            *images[] = {"000000000042.jpg"};
    bool                   labelled[1];
    struct qp_labels_stats st;
    struct qp_metrics     *m;
    static const struct {
        const char *text, *words;
    } cases[] = {
        {"{\"images\": [{\"id\": 1, \"file_name\": \"a.jpg\"}], \"annotations\": [\n"
         "{\"image_id\": 2, \"category_id\": 1, \"bbox\": [0, 0, 1, 1]}], \"categories\": "
         "[{\"id\": 1, \"name\": \"car\"}]}",
         "bad.json: line 2, column 1 (byte 63): annotations[0]: image_id 2 is not in images"},
        {"{\"images\": [{\"id\": 1, \"file_name\": \"a.jpg\"}], \"annotations\": ["
         "{\"image_id\": 1, \"category_id\": 5, \"bbox\": [0, 0, 1, 1]}], \"categories\": []}",
         "annotations[0]: category_id 5 is not in categories"},
        {"{\"images\": [{\"id\": 1, \"file_name\": \"a.jpg\"}], \"annotations\": ["
         "{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, -1, 1]}], \"categories\": "
         "[{\"id\": 1, \"name\": \"car\"}]}",
         "annotations[0].bbox: w and h must not be negative"},
        {"{\"images\": [{\"id\": 1, \"file_name\": \"a.jpg\"}], \"annotations\": ["
         "{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], \"iscrowd\": 2}], "
         "\"categories\": [{\"id\": 1, \"name\": \"car\"}]}",
         "annotations[0].iscrowd: expected 0 or 1"},
        {"{\"images\": [{\"id\": 1.5, \"file_name\": \"a.jpg\"}], \"annotations\": [], "
         "\"categories\": []}",
         "images[0]: expected an integer id and a file_name"},
        {"{\"images\": [{\"id\": 1, \"file_name\": \"a.jpg\"}, {\"id\": 1, \"file_name\": "
         "\"b.jpg\"}], "
         "\"annotations\": [], \"categories\": []}",
         "images[1]: id 1 repeats images[0]"},
        {"{\"images\": [], \"annotations\": [], \"categories\": [{\"id\": 1, \"name\": \"a\"}, "
         "{\"id\": 1, \"name\": \"b\"}]}",
         "categories[1]: id 1 repeats categories[0]"},
        {"{\"images\": [], \"annotations\": []}", "\"categories\": expected an array"},
        {"{\"images\": [], \"annotations\": [], \"categories\": [}",
         "bad.json: line 1, column 50 (byte 49): unexpected '}', expected a value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CU_ASSERT_EQUAL(
            load(put("bad/bad.json", cases[i].text), images, 1, labelled, &st, &m, cases[i].words),
            QP_E_FORMAT);
}

/* Allocation failure at every step of a COCO and a KITTI load: a status,
 * never a crash or a leak. */
static void test_alloc_failures(void)
{
    const char            *paths[]  = {put("fail/instances.json", coco_text),
                                       put("fail/k/000001.txt", kitti_1)};
    const char            *images[] = {"000000000042.jpg", "000001.png"};
    bool                   labelled[2];
    struct qp_labels_stats st;
    for (size_t p = 0; p < 2; p++) {
        bool done = false;
        for (int64_t n = 1; n < 500 && !done; n++) {
            struct qp_metrics *m    = NULL;
            int64_t            live = qp_alloc_live();
            CU_ASSERT_EQUAL_FATAL(qp_metrics_new(&m, NULL), QP_OK);
            qp_alloc_reset_counters();
            qp_alloc_fail_at(n);
            enum qp_status s      = qp_labels_load(p ? dir_of("fail/k") : paths[0], names, N_NAMES,
                                              images, 2, m, labelled, &st, NULL);
            bool           failed = qp_alloc_failed();
            qp_alloc_fail_at(0);
            if (failed) {
                CU_ASSERT_EQUAL(s, QP_E_NOMEM);
            } else {
                CU_ASSERT_EQUAL(s, QP_OK);
                done = true;
            }
            qp_metrics_free(m);
            CU_ASSERT_EQUAL(qp_alloc_live(), live);
        }
        CU_ASSERT(done);
    }
}

static CU_TestInfo tests[] = {
    {"class mapping: KITTI, nuScenes, COCO and darknet names", test_class_mapping},
    {"kitti: directory and one file, DontCare is crowd", test_kitti},
    {"kitti: errors name file and line", test_kitti_errors},
    {"gt2d: directory and one file, errors at JSON positions", test_gt2d},
    {"coco: instances file, crowd, class names", test_coco},
    {"coco: errors at JSON positions", test_coco_errors},
    {"allocation failure at every step", test_alloc_failures},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"labels", setup, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
