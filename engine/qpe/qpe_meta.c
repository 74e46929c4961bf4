// SPDX-License-Identifier: Apache-2.0
/*
 * qpe_meta.c - the engine file's META section: what the file was built from
 * and for (target, model and calibration hashes, precision, producer, time,
 * source model, the build report), as key / value strings.
 *
 * One table of keys drives both directions. The writer refuses values the
 * reader would refuse (QP_E_INVAL: our caller's mistake); the reader bounds
 * every value by its field, checks hashes and the precision word, requires
 * the required keys once, and ignores keys it does not know so metadata can
 * grow without a format version change.
 */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include "qpe/qpe_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

enum meta_key {
    KEY_TARGET,
    KEY_MODEL_SHA256,
    KEY_CALIB_SHA256,
    KEY_PRECISION,
    KEY_PRODUCER,
    KEY_CREATED_UNIX,
    KEY_SOURCE,
    KEY_REPORT,
    KEY_TUNING,
    KEY_COUNT
};

/* What a value must look like. */
enum meta_kind {
    KIND_WORD,   /* printable ASCII, 1 .. cap-1 bytes */
    KIND_SHA256, /* 64 lower-case hex digits ("" too when optional) */
    KIND_INT,    /* decimal int64 */
    KIND_TEXT,   /* any bytes, truncated to the field (source) or allocated (report) */
};

static const struct {
    const char    *name;
    enum meta_kind kind;
    bool           required;
} keys[KEY_COUNT] = {
    [KEY_TARGET]       = {"target", KIND_WORD, true},
    [KEY_MODEL_SHA256] = {"model_sha256", KIND_SHA256, true},
    [KEY_CALIB_SHA256] = {"calib_sha256", KIND_SHA256, false},
    [KEY_PRECISION]    = {"precision", KIND_WORD, true},
    [KEY_PRODUCER]     = {"producer", KIND_WORD, true},
    [KEY_CREATED_UNIX] = {"created_unix", KIND_INT, true},
    [KEY_SOURCE]       = {"source", KIND_TEXT, false},
    [KEY_REPORT]       = {"report", KIND_TEXT, false},
    [KEY_TUNING]       = {"tuning", KIND_TEXT, false},
};

static const char *const precisions[] = {"fp32", "fp16", "int8", "mixed"};

/* Longest source string written (longer paths are cut: it is informational). */
#define MAX_SOURCE_BYTES 4096

/* The fixed-size field of key k in meta (NULL for created_unix, report and
 * tuning). */
static char *field(struct qp_qpe_meta *m, enum meta_key k, size_t *cap)
{
    switch (k) {
    case KEY_TARGET:
        *cap = sizeof m->target;
        return m->target;
    case KEY_MODEL_SHA256:
        *cap = sizeof m->model_sha256;
        return m->model_sha256;
    case KEY_CALIB_SHA256:
        *cap = sizeof m->calib_sha256;
        return m->calib_sha256;
    case KEY_PRECISION:
        *cap = sizeof m->precision;
        return m->precision;
    case KEY_PRODUCER:
        *cap = sizeof m->producer;
        return m->producer;
    case KEY_SOURCE:
        *cap = sizeof m->source;
        return m->source;
    default:
        *cap = 0;
        return NULL;
    }
}

/* Decimal int64 with an optional '-', nothing else; false on overflow. */
static bool parse_i64(const char *v, size_t n, int64_t *out)
{
    size_t  i   = v[0] == '-';
    int64_t x   = 0;
    int     neg = v[0] == '-' ? -1 : 1;
    if (n == i || n - i > 19)
        return false;
    for (; i < n; i++) {
        int d = v[i] - '0';
        if (d < 0 || d > 9)
            return false;
        /* accumulate towards the sign so INT64_MIN parses too */
        if (neg > 0 ? x > (INT64_MAX - d) / 10 : x < (INT64_MIN + d) / 10)
            return false;
        x = x * 10 + neg * d;
    }
    *out = x;
    return true;
}

/* NULL when value (n bytes) is acceptable for key k, else the reason. */
static const char *check_value(enum meta_key k, const char *v, size_t n, size_t cap)
{
    switch (keys[k].kind) {
    case KIND_WORD:
        if (n == 0 || n >= cap)
            return "is empty or too long for its field";
        for (size_t i = 0; i < n; i++)
            if (v[i] < 0x20 || v[i] > 0x7e)
                return "holds a byte that is not printable ASCII";
        if (k == KEY_PRECISION) {
            for (size_t i = 0; i < sizeof precisions / sizeof precisions[0]; i++)
                if (strcmp(v, precisions[i]) == 0)
                    return NULL;
            return "is not one of fp32, fp16, int8, mixed";
        }
        return NULL;
    case KIND_SHA256:
        if (n == 0 && !keys[k].required)
            return NULL;
        if (n != 64)
            return "is not 64 hex digits";
        for (size_t i = 0; i < n; i++)
            if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
                return "is not 64 lower-case hex digits";
        return NULL;
    case KIND_INT: {
        int64_t x;
        return parse_i64(v, n, &x) ? NULL : "is not a decimal integer within int64";
    }
    case KIND_TEXT:
        return NULL;
    }
    return "has an unknown kind";
}

/* ===== writing ===== */

static enum qp_status put_checked(struct qp_qpe_buf *b, enum meta_key k, const char *v, size_t cap,
                                  const char *path, struct qp_err *err)
{
    size_t      n   = strnlen(v, cap);
    const char *why = n == cap ? "is not NUL-terminated" : check_value(k, v, n, cap);
    if (why)
        return qp_fail(err, QP_E_INVAL, "%s: engine metadata %s '%.80s' %s", path, keys[k].name, v,
                       why);
    qp_qpe_put_str(b, keys[k].name);
    qp_qpe_put_str(b, v);
    return QP_OK;
}

enum qp_status qp_qpe_meta_write(struct qp_qpe_buf *b, const struct qp_qpe_meta *meta,
                                 const char *source, const char *path, struct qp_err *err)
{
    struct qp_qpe_meta m        = *meta; /* field() wants a mutable struct; only read here */
    size_t             count_at = b->n;
    uint32_t           count    = 0;
    enum qp_status     st       = QP_OK;
    qp_qpe_put_u32(b, 0);
    for (int k = 0; k < KEY_COUNT && st == QP_OK; k++) {
        size_t cap;
        char  *f = field(&m, (enum meta_key)k, &cap);
        if (k == KEY_CREATED_UNIX) {
            char num[32];
            snprintf(num, sizeof num, "%" PRId64, meta->created_unix);
            st = put_checked(b, KEY_CREATED_UNIX, num, sizeof num, path, err);
        } else if (k == KEY_SOURCE) {
            char src[MAX_SOURCE_BYTES + 1];
            snprintf(src, sizeof src, "%s", source ? source : "");
            qp_qpe_put_str(b, keys[k].name);
            qp_qpe_put_str(b, src);
        } else if (k == KEY_REPORT || k == KEY_TUNING) {
            const char *text = k == KEY_REPORT ? meta->report : meta->tuning;
            if (!text)
                continue;
            qp_qpe_put_str(b, keys[k].name);
            qp_qpe_put_str(b, text);
        } else {
            st = put_checked(b, (enum meta_key)k, f, cap, path, err);
        }
        count++;
    }
    qp_qpe_patch_u32(b, count_at, count);
    return st;
}

/* ===== reading ===== */

static enum qp_status meta_fail(struct qp_qpe_rd *r, size_t at, const char *path,
                                struct qp_err *err, const char *what, const char *why)
{
    return qp_fail(err, QP_E_FORMAT,
                   "%s: section META at byte %" PRIu64 ": %s %s: rebuild it with `qpercept build`",
                   path, r->base + at, what, why);
}

/* Store value v (n bytes, checked) of key k into meta. */
static enum qp_status store(struct qp_qpe_meta *m, enum meta_key k, const char *v, uint32_t n,
                            const char *path, struct qp_err *err)
{
    size_t cap;
    char  *f = field(m, k, &cap);
    if (f) {
        snprintf(f, cap, "%s", v); /* source is cut to its field; the others fit (checked) */
        return QP_OK;
    }
    if (k == KEY_CREATED_UNIX) {
        bool ok = parse_i64(v, n, &m->created_unix);
        QP_ASSERT(ok); /* check_value accepted it */
        return QP_OK;
    }
    char **text = k == KEY_REPORT ? &m->report : &m->tuning;
    *text       = qp_alloc((size_t)n + 1);
    if (!*text)
        return qp_fail(err, QP_E_NOMEM, "%s: out of memory for the %s (%u bytes)", path,
                       keys[k].name, (unsigned)n);
    memcpy(*text, v, (size_t)n + 1);
    return QP_OK;
}

static int find_key(const char *name)
{
    for (int k = 0; k < KEY_COUNT; k++)
        if (strcmp(keys[k].name, name) == 0)
            return k;
    return -1;
}

static enum qp_status read_entries(struct qp_qpe_rd *r, const char *path, struct qp_qpe_meta *meta,
                                   struct qp_err *err)
{
    char        what[96];
    bool        seen[KEY_COUNT] = {false};
    const char *why;
    memset(meta, 0, sizeof *meta);
    uint32_t count = qp_qpe_get_u32(r);
    if (r->bad || count > qp_qpe_rd_left(r) / 10) /* an entry holds at least 10 bytes */
        return meta_fail(r, 0, path, err, "entry count", "is larger than the section");
    for (uint32_t i = 0; i < count; i++) {
        size_t      at = r->pos;
        uint32_t    kn, vn;
        const char *key = qp_qpe_get_str(r, &kn, &why);
        const char *val = key ? qp_qpe_get_str(r, &vn, &why) : NULL;
        snprintf(what, sizeof what, "entry %u:", (unsigned)i);
        if (!val)
            return meta_fail(r, r->pos, path, err, what, why);
        int k = find_key(key);
        if (k < 0)
            continue;
        snprintf(what, sizeof what, "key '%s'", keys[k].name);
        size_t cap;
        if (!field(meta, (enum meta_key)k, &cap))
            cap = SIZE_MAX;
        if (seen[k])
            return meta_fail(r, at, path, err, what, "appears twice");
        if ((why = check_value((enum meta_key)k, val, vn, cap)) != NULL)
            return meta_fail(r, at, path, err, what, why);
        seen[k]           = true;
        enum qp_status st = store(meta, (enum meta_key)k, val, vn, path, err);
        if (st != QP_OK)
            return st;
    }
    for (int k = 0; k < KEY_COUNT; k++)
        if (keys[k].required && !seen[k]) {
            snprintf(what, sizeof what, "key '%s'", keys[k].name);
            return meta_fail(r, 0, path, err, what, "is missing");
        }
    return QP_OK;
}

enum qp_status qp_qpe_meta_read(struct qp_qpe_rd *r, const char *path, struct qp_qpe_meta *meta,
                                struct qp_err *err)
{
    enum qp_status st = read_entries(r, path, meta, err);
    if (st != QP_OK)
        qp_qpe_meta_fini(meta); /* a report read before the failure */
    return st;
}

void qp_qpe_meta_fini(struct qp_qpe_meta *meta)
{
    if (!meta)
        return;
    qp_free(meta->report);
    qp_free(meta->tuning);
    meta->report = meta->tuning = NULL;
}
