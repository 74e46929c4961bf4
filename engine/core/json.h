// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * json.h - a small strict JSON reader (RFC 8259) that builds a read-only tree.
 *
 * For offline files (label files, reports read back by tests): parsing
 * allocates through core/alloc.h. Strict: one value per text, no comments,
 * no trailing commas, no NaN / Infinity, no leading zeros, valid UTF-8 in
 * strings, no raw control characters in strings, surrogate escapes must
 * pair. Limits: nesting at most QP_JSON_MAX_DEPTH, text at most
 * QP_JSON_MAX_BYTES, numbers at most 256 characters long; a number that
 * overflows a double is an error (one that underflows becomes 0 or a
 * subnormal, as strtod gives), and strings may not contain U+0000 (they
 * are handed out as NUL-terminated C strings). A UTF-8
 * byte-order mark at the start is skipped. Duplicate object keys are kept;
 * qp_json_get returns the first.
 *
 * Every error is QP_E_FORMAT with "line L, column C (byte B): reason"; the
 * byte offset counts from 0, line and column from 1 (column in bytes).
 * Every value remembers its byte offset, so callers can report semantic
 * errors (a bbox that is not 4 numbers) at the same kind of position with
 * qp_json_where.
 *
 * Tested by tests/unit/test_json.c (valid documents, hostile inputs).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qpercept/status.h"

#define QP_JSON_MAX_DEPTH 64                /* arrays and objects nested */
#define QP_JSON_MAX_BYTES ((size_t)1 << 31) /* 2 GiB of text */

enum qp_json_type {
    QP_JSON_NULL,
    QP_JSON_BOOL,
    QP_JSON_NUMBER,
    QP_JSON_STRING,
    QP_JSON_ARRAY,
    QP_JSON_OBJECT,
    QP_JSON_TYPE_COUNT
};

/* One value of the tree; owned by its document, valid until qp_json_free.
 * The items of an array or object are contiguous: items[0 .. n). */
struct qp_json {
    enum qp_json_type type;
    uint32_t          n;      /* array / object: items; string: bytes (no NUL) */
    size_t            offset; /* byte offset of the value's first character */
    const char       *key;    /* item of an object: its key; otherwise NULL */
    union {
        bool                  b;     /* QP_JSON_BOOL */
        double                num;   /* QP_JSON_NUMBER */
        const char           *str;   /* QP_JSON_STRING, NUL-terminated UTF-8 */
        const struct qp_json *items; /* QP_JSON_ARRAY, QP_JSON_OBJECT */
        size_t                at;    /* private to json.c while parsing */
    } v;
};

struct qp_json_doc; /* a parsed document; opaque */

/* Parse text[0, len) (need not be NUL-terminated; a NUL byte in it is an
 * error) into *out, which the caller frees with qp_json_free. The text is
 * borrowed only for qp_json_where and must outlive the document for that.
 * QP_E_FORMAT (see above), QP_E_NOMEM. On failure *out is untouched. */
enum qp_status qp_json_parse(const char *text, size_t len, struct qp_json_doc **out,
                             struct qp_err *err);

/* Read and parse a file; errors are prefixed with the path ("PATH: line L,
 * ..."). QP_E_IO when it cannot be read, QP_E_FORMAT also when it is larger
 * than QP_JSON_MAX_BYTES. The document owns the text. */
enum qp_status qp_json_read_file(const char *path, struct qp_json_doc **out, struct qp_err *err);

/* Free the document and its text if owned; NULL is a no-op. */
void qp_json_free(struct qp_json_doc *d);

/* The top-level value; never NULL for a parsed document. */
const struct qp_json *qp_json_root(const struct qp_json_doc *d);

/* Item of object obj whose key is key (the first such), or NULL when there
 * is none or obj is NULL or not an object. */
const struct qp_json *qp_json_get(const struct qp_json *obj, const char *key);

/* Line and column (from 1; the column counts bytes) of a byte offset of
 * the document's text. */
void qp_json_where(const struct qp_json_doc *d, size_t offset, int64_t *line, int64_t *col);

/* "null", "bool", "number", "string", "array", "object"; never NULL. */
const char *qp_json_type_name(enum qp_json_type t);
