// SPDX-License-Identifier: Apache-2.0
/*
 * test_conformance.c - ONNX's own per-operator conformance cases through the
 * engine (CPU backend, one thread).
 *
 * Walks every case directory under env QP_ONNX_TESTDATA (default: Debian's
 * libonnx-testdata node cases); each holds model.onnx and
 * test_data_set_N/{input,output}_K.pb. A case is
 *   - not supported when its model's opset is outside 11..17, or when opening
 *     the engine, reading its data or running it says QP_E_UNSUPPORTED; the
 *     reason is collected and the top 20 reasons are printed as a histogram;
 *   - failed on any other error, or when an output differs in dtype, shape or
 *     value: floats must satisfy |got - want| <= atol + rtol * |want| with
 *     rtol 1e-3, atol 1e-5 (ONNX backend-test defaults; NaN matches NaN),
 *     integers and booleans must be equal;
 *   - passed otherwise.
 * Inputs are matched to the engine's inputs by name (by position when the
 * data files carry no names); data for an input the engine folded into a
 * constant has no engine input and is skipped. Any failure among supported
 * cases fails the test; all failures are listed with their reasons.
 * QP_ONNX_CASE=substring restricts the walk and QP_ONNX_VERBOSE=1 names each
 * case before it runs (debugging). At least one case must pass, so a build
 * that marks everything unsupported cannot pass. Test-side bookkeeping uses
 * libc malloc, not the engine's allocation hook.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "onnx/onnx.h"
#include "qp_test.h"
#include "qpercept/engine.h"

#define DEFAULT_TESTDATA "/usr/share/libonnx-testdata/data/node"
#define MAX_TENSORS      64
#define RTOL             1e-3
#define ATOL             1e-5
#define TOP_REASONS      20
#define REASON_LEN       160

enum verdict { VERDICT_PASS, VERDICT_FAIL, VERDICT_UNSUPPORTED, VERDICT_DIVERGES, VERDICT_COUNT };

/* Cases where ONNX's reference data and ONNX Runtime disagree and we follow
 * ONNX Runtime (the runtime users validate their exports with). Such a case
 * that fails is reported as a documented divergence, never as passed. */
static const struct {
    const char *name, *why;
} divergences[] = {
    {"test_resize_downsample_scales_linear_align_corners",
     "align_corners with a fractional scale: the reference divides by (in*scale - 1), "
     "onnxruntime (and we) by (out - 1)"},
};

static const char *divergence(const char *name)
{
    for (size_t i = 0; i < sizeof divergences / sizeof divergences[0]; i++)
        if (strcmp(name, divergences[i].name) == 0)
            return divergences[i].why;
    return NULL;
}

/* ===== Small helpers ===== */

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* dir/name into buf; a path too long for buf becomes "" (which then does
 * not exist), never a truncated, different path. */
static void join(char *buf, size_t n, const char *dir, const char *name)
{
    int r = snprintf(buf, n, "%s/%s", dir, name);
    if (r < 0 || (size_t)r >= n)
        buf[0] = '\0';
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the subdirectories of root (malloc'd array of malloc'd
 * strings); NULL when root cannot be read. */
static char **list_cases(const char *root, const char *filter, int *n)
{
    DIR *d = opendir(root);
    if (!d)
        return NULL;
    char         **names = NULL;
    int            cap   = 0;
    struct dirent *ent;
    *n = 0;
    while ((ent = readdir(d)) != NULL) {
        char dir[4096], path[4096];
        join(dir, sizeof dir, root, ent->d_name);
        join(path, sizeof path, dir, "model.onnx");
        if (ent->d_name[0] == '.' || !exists(path))
            continue;
        if (filter && !strstr(ent->d_name, filter))
            continue;
        if (*n == cap) {
            cap        = cap ? 2 * cap : 256;
            char **grown = realloc(names, (size_t)cap * sizeof *names);
            if (!grown)
                break;
            names = grown;
        }
        names[(*n)++] = strdup(ent->d_name);
    }
    closedir(d);
    if (names)
        qsort(names, (size_t)*n, sizeof *names, cmp_str);
    return names ? names : calloc(1, sizeof *names);
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static float half_to_float(uint16_t h)
{
    int      e = (h >> 10) & 0x1f;
    uint32_t m = h & 0x3ffu;
    float    v;
    if (e == 0)
        v = ldexpf((float)m, -24);
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexpf((float)(m | 0x400u), e - 25);
    return (h & 0x8000u) ? -v : v;
}

static int64_t n_elements(int32_t rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int32_t i = 0; i < rank; i++)
        n *= dims[i];
    return n;
}

static void format_dims(char *buf, size_t cap, int32_t rank, const int64_t *dims)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int32_t i = 0; i < rank && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
}

/* ===== Comparing one output ===== */

static double element(enum qp_dtype t, const void *p, int64_t i)
{
    switch (t) {
    case QP_DTYPE_F32: return ((const float *)p)[i];
    case QP_DTYPE_F16: return half_to_float(((const uint16_t *)p)[i]);
    case QP_DTYPE_I8: return ((const int8_t *)p)[i];
    case QP_DTYPE_U8: return ((const uint8_t *)p)[i];
    case QP_DTYPE_I32: return ((const int32_t *)p)[i];
    case QP_DTYPE_I64: return (double)((const int64_t *)p)[i];
    case QP_DTYPE_BOOL: return ((const uint8_t *)p)[i] != 0;
    case QP_DTYPE_COUNT: break;
    }
    QP_ASSERT(!"dtype out of range");
    return 0;
}

static bool close_enough(enum qp_dtype t, double got, double want)
{
    if (t != QP_DTYPE_F32 && t != QP_DTYPE_F16) {
        return got == want;
    }
    if (isnan(want) || isnan(got))
        return isnan(want) && isnan(got);
    if (isinf(want) || isinf(got))
        return got == want;
    return fabs(got - want) <= ATOL + RTOL * fabs(want);
}

/* false with a reason when got (engine output info + data) differs from want. */
static bool compare_output(const struct qp_tensor_info *info, const void *got,
                           const struct qp_host_tensor *want, char *reason, size_t n)
{
    char gd[128], wd[128];
    format_dims(gd, sizeof gd, info->rank, info->dims);
    format_dims(wd, sizeof wd, want->rank, want->dims);
    if (info->dtype != want->dtype) {
        snprintf(reason, n, "output '%s': dtype %s, want %s", info->name,
                 qp_dtype_name(info->dtype), qp_dtype_name(want->dtype));
        return false;
    }
    if (strcmp(gd, wd) != 0) {
        snprintf(reason, n, "output '%s': shape %s, want %s", info->name, gd, wd);
        return false;
    }
    if (!got) {
        snprintf(reason, n, "output '%s': no data after run", info->name);
        return false;
    }
    int64_t count = n_elements(want->rank, want->dims), bad = 0, first = -1;
    for (int64_t i = 0; i < count; i++) {
        if (!close_enough(want->dtype, element(want->dtype, got, i),
                          element(want->dtype, want->data, i))) {
            bad++;
            first = first < 0 ? i : first;
        }
    }
    if (bad) {
        snprintf(reason, n, "output '%s': %lld of %lld elements off; first [%lld] got %.8g want %.8g",
                 info->name, (long long)bad, (long long)count, (long long)first,
                 element(want->dtype, got, first), element(want->dtype, want->data, first));
        return false;
    }
    return true;
}

/* ===== One case ===== */

/* Tensors kind_0.pb, kind_1.pb, ... of a data set, until one is missing. */
struct tensor_set {
    int                   n;
    struct qp_host_tensor t[MAX_TENSORS];
};

static void tensor_set_fini(struct tensor_set *s)
{
    for (int i = 0; i < s->n; i++)
        qp_host_tensor_fini(&s->t[i]);
    s->n = 0;
}

static enum verdict read_tensors(const char *set_dir, const char *kind, struct tensor_set *s,
                                 char *reason, size_t n)
{
    s->n = 0;
    for (int i = 0; i < MAX_TENSORS; i++) {
        char name[64], path[4096];
        snprintf(name, sizeof name, "%s_%d.pb", kind, i);
        join(path, sizeof path, set_dir, name);
        if (!exists(path))
            break;
        struct qp_err  err = {{0}};
        enum qp_status st  = qp_onnx_read_tensor_file(path, &s->t[i], &err);
        if (st != QP_OK) {
            snprintf(reason, n, "%s_%d.pb: %s", kind, i, err.msg);
            return st == QP_E_UNSUPPORTED ? VERDICT_UNSUPPORTED : VERDICT_FAIL;
        }
        s->n++;
    }
    return VERDICT_PASS;
}

/* Feed the data set's inputs; data without an engine input (folded) is skipped. */
static enum verdict set_inputs(struct qp_engine *e, const struct tensor_set *in, char *reason,
                               size_t n)
{
    int32_t n_inputs = qp_engine_n_inputs(e);
    bool    fed[MAX_TENSORS] = {false};
    for (int k = 0; k < in->n; k++) {
        const struct qp_host_tensor *t = &in->t[k];
        int32_t i = t->name[0] ? qp_engine_find_input(e, t->name) : (k < n_inputs ? k : -1);
        if (i < 0 || i >= MAX_TENSORS)
            continue;
        struct qp_tensor_info info;
        struct qp_err         err = {{0}};
        qp_engine_input_info(e, i, &info);
        char gd[128], wd[128];
        format_dims(gd, sizeof gd, info.rank, info.dims);
        format_dims(wd, sizeof wd, t->rank, t->dims);
        if (info.dtype != t->dtype || strcmp(gd, wd) != 0) {
            snprintf(reason, n, "input '%s': engine wants %s%s, data is %s%s", info.name,
                     qp_dtype_name(info.dtype), gd, qp_dtype_name(t->dtype), wd);
            return VERDICT_FAIL;
        }
        enum qp_status st = qp_engine_set_input(e, i, t->data, t->nbytes, &err);
        if (st != QP_OK) {
            snprintf(reason, n, "set input '%s': %s", info.name, err.msg);
            return VERDICT_FAIL;
        }
        fed[i] = true;
    }
    for (int32_t i = 0; i < n_inputs && i < MAX_TENSORS; i++) {
        if (!fed[i]) {
            struct qp_tensor_info info;
            qp_engine_input_info(e, i, &info);
            snprintf(reason, n, "engine input '%s' has no data", info.name);
            return VERDICT_FAIL;
        }
    }
    return VERDICT_PASS;
}

static enum verdict check_outputs(struct qp_engine *e, const struct tensor_set *out, char *reason,
                                  size_t n)
{
    int32_t n_outputs = qp_engine_n_outputs(e);
    if (n_outputs != out->n) {
        snprintf(reason, n, "engine has %d outputs, the data set %d", (int)n_outputs, out->n);
        return VERDICT_FAIL;
    }
    for (int32_t i = 0; i < n_outputs; i++) {
        struct qp_tensor_info info;
        qp_engine_output_info(e, i, &info);
        const struct qp_host_tensor *want = NULL;
        for (int k = 0; k < out->n && !want; k++)
            if (strcmp(out->t[k].name, info.name) == 0)
                want = &out->t[k];
        if (!want && out->t[i].name[0] == '\0')
            want = &out->t[i];
        if (!want) {
            snprintf(reason, n, "engine output '%s' is not in the data set", info.name);
            return VERDICT_FAIL;
        }
        if (!compare_output(&info, qp_engine_output(e, i), want, reason, n))
            return VERDICT_FAIL;
    }
    return VERDICT_PASS;
}

static enum verdict run_data_set(struct qp_engine *e, const char *set_dir, char *reason, size_t n)
{
    static struct tensor_set in, out; /* 2 x 64 tensors: too big for the stack */
    enum verdict             v = read_tensors(set_dir, "input", &in, reason, n);
    if (v == VERDICT_PASS)
        v = read_tensors(set_dir, "output", &out, reason, n);
    if (v == VERDICT_PASS)
        v = set_inputs(e, &in, reason, n);
    if (v == VERDICT_PASS) {
        struct qp_err  err = {{0}};
        enum qp_status st  = qp_engine_run(e, &err);
        if (st != QP_OK) {
            snprintf(reason, n, "run: %s", err.msg);
            v = st == QP_E_UNSUPPORTED ? VERDICT_UNSUPPORTED : VERDICT_FAIL;
        }
    }
    if (v == VERDICT_PASS)
        v = check_outputs(e, &out, reason, n);
    tensor_set_fini(&in);
    tensor_set_fini(&out);
    return v;
}

/* Opset outside what the importer accepts: not supported (inspect errors are
 * left for qp_engine_open to report). */
static bool opset_out_of_range(const char *model, char *reason, size_t n)
{
    struct qp_onnx_info info;
    memset(&info, 0, sizeof info);
    bool out = false;
    if (qp_onnx_inspect(model, &info, NULL) == QP_OK &&
        (info.opset < QP_ONNX_OPSET_MIN || info.opset > QP_ONNX_OPSET_MAX)) {
        snprintf(reason, n, "opset %lld outside %d..%d", (long long)info.opset, QP_ONNX_OPSET_MIN,
                 QP_ONNX_OPSET_MAX);
        out = true;
    }
    qp_onnx_info_fini(&info);
    return out;
}

static enum qp_status open_case(const char *model, const struct tensor_set *bind,
                                struct qp_engine **e, struct qp_err *err)
{
    static struct qp_const_input consts[MAX_TENSORS];
    struct qp_engine_options     opt = QP_ENGINE_OPTIONS_DEFAULT;
    opt.backend                      = QP_BACKEND_CPU;
    opt.n_threads                    = 1;
    for (int k = 1; bind && k < bind->n; k++) { /* every input but the data */
        const struct qp_host_tensor *t = &bind->t[k];
        consts[k - 1]                  = (struct qp_const_input){t->name, t->dtype, t->rank, {0},
                                                                 t->data};
        memcpy(consts[k - 1].dims, t->dims, sizeof t->dims);
        opt.n_constants = k;
    }
    opt.constants = consts;
    return qp_engine_open(model, &opt, e, err);
}

/* Cases whose shape-driving inputs (Reshape shape, Resize scales, Slice
 * starts, Clip bounds ...) are graph inputs: each data set's values for
 * every input but the first are bound as constants at open, the way a
 * deployment fixes them (qp_const_input), and the set runs on that engine. */
static enum verdict run_bound(const char *dir, const char *model, char *reason, size_t n)
{
    static struct tensor_set in;
    enum verdict             v = VERDICT_PASS;
    for (int k = 0; v == VERDICT_PASS; k++) {
        char name[64], set_dir[4096];
        snprintf(name, sizeof name, "test_data_set_%d", k);
        join(set_dir, sizeof set_dir, dir, name);
        if (!exists(set_dir))
            break;
        if ((v = read_tensors(set_dir, "input", &in, reason, n)) != VERDICT_PASS)
            break;
        struct qp_engine *e   = NULL;
        struct qp_err     err = {{0}};
        enum qp_status    st  = open_case(model, &in, &e, &err);
        tensor_set_fini(&in);
        if (st != QP_OK) {
            snprintf(reason, n, "open (shape inputs bound): %s", err.msg);
            return st == QP_E_UNSUPPORTED ? VERDICT_UNSUPPORTED : VERDICT_FAIL;
        }
        v = run_data_set(e, set_dir, reason, n);
        qp_engine_free(e);
    }
    return v;
}

static enum verdict run_case(const char *dir, char *reason, size_t n)
{
    char model[4096];
    join(model, sizeof model, dir, "model.onnx");
    if (opset_out_of_range(model, reason, n))
        return VERDICT_UNSUPPORTED;

    struct qp_engine *e   = NULL;
    struct qp_err     err = {{0}};
    enum qp_status    st  = open_case(model, NULL, &e, &err);
    if (st == QP_E_UNSUPPORTED && strstr(err.msg, "dynamic shape input"))
        return run_bound(dir, model, reason, n);
    if (st != QP_OK) {
        snprintf(reason, n, "open: %s", err.msg);
        return st == QP_E_UNSUPPORTED ? VERDICT_UNSUPPORTED : VERDICT_FAIL;
    }
    enum verdict v = VERDICT_PASS;
    for (int k = 0; v == VERDICT_PASS; k++) {
        char name[64], set_dir[4096];
        snprintf(name, sizeof name, "test_data_set_%d", k);
        join(set_dir, sizeof set_dir, dir, name);
        if (!exists(set_dir)) {
            if (k == 0) {
                snprintf(reason, n, "no test_data_set_0");
                v = VERDICT_FAIL;
            }
            break;
        }
        v = run_data_set(e, set_dir, reason, n);
    }
    qp_engine_free(e);
    return v;
}

/* ===== Report ===== */

struct reason_count {
    char key[REASON_LEN];
    int  count;
};

struct report {
    int                  n[VERDICT_COUNT];
    char               **failures; /* "case: reason", malloc'd */
    int                  n_failures;
    struct reason_count *reasons;
    int                  n_reasons;
};

/* The reason without the case's path (and the separators after it). With
 * generic set, quoted names ('x') and shapes ([1,3,5]) become '*' and [*],
 * so that one cause is one row of the histogram. */
static void reason_text(const char *reason, const char *dir, bool generic, char *out, size_t cap)
{
    size_t dl = strlen(dir), k = 0;
    for (const char *p = reason; *p && k + 4 < cap;) {
        const char *close = NULL;
        if (strncmp(p, dir, dl) == 0) {
            p += dl;
            while (*p == '/' || *p == ':' || *p == ' ')
                p++;
        } else if (generic && (*p == '\'' || *p == '[') &&
                   (close = strchr(p + 1, *p == '[' ? ']' : '\'')) != NULL) {
            k += (size_t)snprintf(out + k, cap - k, "%s", *p == '[' ? "[*]" : "*");
            p = close + 1;
        } else {
            out[k++] = *p++;
        }
    }
    out[k] = '\0';
}

static void report_add(struct report *r, const char *name, const char *dir, enum verdict v,
                       const char *reason)
{
    r->n[v]++;
    if (v == VERDICT_FAIL) {
        char text[1024], line[1200];
        reason_text(reason, dir, false, text, sizeof text);
        snprintf(line, sizeof line, "%s: %s", name, text);
        char **grown = realloc(r->failures, (size_t)(r->n_failures + 1) * sizeof *grown);
        QP_ASSERT(grown != NULL);
        r->failures                  = grown;
        r->failures[r->n_failures++] = strdup(line);
    } else if (v == VERDICT_UNSUPPORTED) {
        char key[REASON_LEN];
        reason_text(reason, dir, true, key, sizeof key);
        for (int i = 0; i < r->n_reasons; i++) {
            if (strcmp(r->reasons[i].key, key) == 0) {
                r->reasons[i].count++;
                return;
            }
        }
        struct reason_count *grown =
            realloc(r->reasons, (size_t)(r->n_reasons + 1) * sizeof *grown);
        QP_ASSERT(grown != NULL);
        r->reasons = grown;
        snprintf(r->reasons[r->n_reasons].key, REASON_LEN, "%s", key);
        r->reasons[r->n_reasons++].count = 1;
    }
}

static int cmp_reason(const void *a, const void *b)
{
    const struct reason_count *x = a, *y = b;
    return x->count != y->count ? y->count - x->count : strcmp(x->key, y->key);
}

static void report_print(struct report *r)
{
    printf("\nconformance: %d passed, %d failed, %d not supported, %d documented divergences\n",
           r->n[VERDICT_PASS], r->n[VERDICT_FAIL], r->n[VERDICT_UNSUPPORTED],
           r->n[VERDICT_DIVERGES]);
    for (int i = 0; i < r->n_failures; i++)
        printf("  FAIL %s\n", r->failures[i]);
    if (r->n_reasons) {
        qsort(r->reasons, (size_t)r->n_reasons, sizeof *r->reasons, cmp_reason);
        printf("not supported, top reasons:\n");
    }
    for (int i = 0; i < r->n_reasons && i < TOP_REASONS; i++)
        printf("  %5d  %s\n", r->reasons[i].count, r->reasons[i].key);
    fflush(stdout);
}

static void report_fini(struct report *r)
{
    free_names(r->failures, r->n_failures);
    free(r->reasons);
}

/* ===== The test ===== */

static void test_node_cases(void)
{
    const char *root   = getenv("QP_ONNX_TESTDATA");
    const char *filter = getenv("QP_ONNX_CASE");
    const char *v_env  = getenv("QP_ONNX_VERBOSE");
    bool        verbose = v_env && *v_env && strcmp(v_env, "0") != 0;
    root               = root && *root ? root : DEFAULT_TESTDATA;
    int    n_cases     = 0;
    char **cases       = list_cases(root, filter && *filter ? filter : NULL, &n_cases);
    if (!cases)
        QP_TEST_SKIP("ONNX conformance data not found at %s (Debian package libonnx-testdata, "
                     "or set QP_ONNX_TESTDATA)",
                     root);
    if (n_cases == 0) {
        free(cases);
        QP_TEST_SKIP("no case under %s matches QP_ONNX_CASE", root);
    }
    QP_TEST_RAN();

    struct report r;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < n_cases; i++) {
        char dir[4096], reason[1024] = "";
        join(dir, sizeof dir, root, cases[i]);
        if (verbose)
            fprintf(stderr, "case %s\n", cases[i]);
        enum verdict v   = run_case(dir, reason, sizeof reason);
        const char  *why = divergence(cases[i]);
        if (v == VERDICT_FAIL && why) {
            printf("  DIVERGES %s: %s (%s)\n", cases[i], why, reason);
            v = VERDICT_DIVERGES;
        }
        report_add(&r, cases[i], dir, v, reason);
    }
    report_print(&r);
    CU_ASSERT_EQUAL(r.n[VERDICT_PASS] + r.n[VERDICT_FAIL] + r.n[VERDICT_UNSUPPORTED] +
                        r.n[VERDICT_DIVERGES],
                    n_cases);
    if (r.n[VERDICT_FAIL])
        CU_FAIL("conformance failures among supported cases (listed above)");
    if (r.n[VERDICT_PASS] == 0)
        CU_FAIL("no conformance case passed");
    report_fini(&r);
    free_names(cases, n_cases);
}

static CU_TestInfo tests[] = {
    {"onnx node cases (rtol 1e-3, atol 1e-5)", test_node_cases},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"conformance/onnx-node", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
