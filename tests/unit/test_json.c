// SPDX-License-Identifier: Apache-2.0
/*
 * test_json.c - the strict JSON reader: a document with every kind of value
 * read back through the tree, escapes and UTF-8, positions of values, and
 * hostile texts (truncation at every byte, deep nesting, huge numbers, bad
 * escapes and UTF-8, NUL bytes, trailing data), each of which must be
 * QP_E_FORMAT naming line, column and byte, leaving no allocation behind;
 * plus allocation failure at every step and reading from a file.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/json.h"
#include "qp_test.h"

static const char doc_text[] =
    "\xef\xbb\xbf{\"images\": [{\"id\": 7, \"file_name\": \"a/b.png\"}],\n"
    " \"n\": -12.5e-1, \"t\": true, \"f\": false, \"z\": null,\n"
    " \"s\": \"q\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\xc3\xa9\",\n"
    " \"empty\": {}, \"list\": [], \"nested\": [[1], [2, [3]]]}";

static struct qp_json_doc *parse_ok(const char *s)
{
    struct qp_json_doc *d   = NULL;
    struct qp_err       err = {{0}};
    enum qp_status      st  = qp_json_parse(s, strlen(s), &d, &err);
    if (st != QP_OK)
        fprintf(stderr, "unexpected parse error: %s\n", err.msg);
    CU_ASSERT_EQUAL(st, QP_OK);
    return d;
}

static void test_document(void)
{
    struct qp_json_doc *d = parse_ok(doc_text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    const struct qp_json *r = qp_json_root(d);
    CU_ASSERT_EQUAL(r->type, QP_JSON_OBJECT);
    CU_ASSERT_EQUAL(r->n, 9);
    const struct qp_json *img = qp_json_get(r, "images");
    CU_ASSERT_FATAL(img && img->type == QP_JSON_ARRAY && img->n == 1);
    CU_ASSERT_EQUAL(qp_json_get(&img->v.items[0], "id")->v.num, 7.0);
    CU_ASSERT_STRING_EQUAL(qp_json_get(&img->v.items[0], "file_name")->v.str, "a/b.png");
    CU_ASSERT_EQUAL(qp_json_get(r, "n")->v.num, -1.25);
    CU_ASSERT(qp_json_get(r, "t")->type == QP_JSON_BOOL && qp_json_get(r, "t")->v.b);
    CU_ASSERT(qp_json_get(r, "f")->type == QP_JSON_BOOL && !qp_json_get(r, "f")->v.b);
    CU_ASSERT_EQUAL(qp_json_get(r, "z")->type, QP_JSON_NULL);
    const struct qp_json *s = qp_json_get(r, "s");
    CU_ASSERT_STRING_EQUAL(s->v.str, "q\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\xc3\xa9");
    CU_ASSERT_EQUAL(s->n, strlen(s->v.str));
    CU_ASSERT_EQUAL(qp_json_get(r, "empty")->n, 0);
    CU_ASSERT_EQUAL(qp_json_get(r, "list")->type, QP_JSON_ARRAY);
    const struct qp_json *nest = qp_json_get(r, "nested");
    CU_ASSERT_EQUAL(nest->n, 2);
    CU_ASSERT_EQUAL(nest->v.items[1].v.items[1].v.items[0].v.num, 3.0);
    CU_ASSERT_PTR_NULL(qp_json_get(r, "missing"));
    CU_ASSERT_PTR_NULL(qp_json_get(nest, "nested")); /* not an object */
    CU_ASSERT_PTR_NULL(qp_json_get(NULL, "x"));
    CU_ASSERT_STRING_EQUAL(img->key, "images");
    CU_ASSERT_PTR_NULL(img->v.items[0].key); /* array items have no key */
    CU_ASSERT_PTR_NULL(r->key);

    /* positions: "n" value starts line 2, column 7 */
    int64_t line, col;
    qp_json_where(d, qp_json_get(r, "n")->offset, &line, &col);
    CU_ASSERT_EQUAL(line, 2);
    CU_ASSERT_EQUAL(col, 7);
    CU_ASSERT_STRING_EQUAL(qp_json_type_name(QP_JSON_OBJECT), "object");
    qp_json_free(d);
    qp_json_free(NULL);
}

static void test_scalars_at_top(void)
{
    static const struct {
        const char       *text;
        enum qp_json_type type;
        double            num;
    } cases[] = {
        {"0", QP_JSON_NUMBER, 0},
        {" -0.0 ", QP_JSON_NUMBER, 0},
        {"1E+2", QP_JSON_NUMBER, 100},
        {"2e-400", QP_JSON_NUMBER, 0}, /* underflow: 0 */
        {"\"\"", QP_JSON_STRING, 0},
        {"null", QP_JSON_NULL, 0},
        {"\t[\n]\r\n", QP_JSON_ARRAY, 0},
        {"123456789012345678901234567890", QP_JSON_NUMBER, 1.2345678901234568e29},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct qp_json_doc *d = parse_ok(cases[i].text);
        if (!d)
            continue;
        CU_ASSERT_EQUAL(qp_json_root(d)->type, cases[i].type);
        if (cases[i].type == QP_JSON_NUMBER) {
            CU_ASSERT_DOUBLE_EQUAL(qp_json_root(d)->v.num, cases[i].num,
                                   fabs(cases[i].num) * 1e-15);
        }
        qp_json_free(d);
    }
}

/* Each hostile text: QP_E_FORMAT, the words of the reason, and the byte. */
static void expect_error(const char *text, size_t len, const char *words, const char *where)
{
    struct qp_json_doc *d    = NULL;
    struct qp_err       err  = {{0}};
    int64_t             live = qp_alloc_live();
    enum qp_status      st   = qp_json_parse(text, len, &d, &err);
    CU_ASSERT_EQUAL(st, QP_E_FORMAT);
    CU_ASSERT_PTR_NULL(d);
    if (!strstr(err.msg, words) || (where && !strstr(err.msg, where))) {
        fprintf(stderr, "text %.40s: got '%s', want '%s' at '%s'\n", text, err.msg, words,
                where ? where : "");
        CU_FAIL("error message");
    }
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
    qp_json_free(d);
}

static void test_hostile(void)
{
    static const struct {
        const char *text, *words, *where;
    } cases[] = {
        {"", "unexpected end of text", "byte 0"},
        {"[1, 2", "unexpected end of text", "byte 5"},
        {"{\"a\" 1}", "expected ':' after the key", "column 6"},
        {"{1: 2}", "expected a string key", "byte 1"},
        {"[1,]", "unexpected ']', expected a value", "byte 3"},
        {"[1 2]", "expected ',' or ']'", "byte 3"},
        {"{\"a\":1,}", "expected a string key", "byte 7"},
        {"[1]x", "unexpected data after the top-level value", "byte 3"},
        {"01", "leading zero", "byte 0"},
        {"-", "expected a digit", "byte 1"},
        {"1.", "expected a digit after '.'", "byte 2"},
        {"1e", "exponent", "byte 2"},
        {"+1", "unexpected '+'", "byte 0"},
        {"NaN", "unexpected 'N'", "byte 0"},
        {"1e999", "out of range", "byte 0"},
        {"-1e400", "out of range", NULL},
        {"tru", "unexpected 't'", NULL},
        {"\"abc", "unterminated string", "byte 0"},
        {"\"a\\x\"", "bad escape '\\x'", "byte 2"},
        {"\"\\u12g4\"", "bad \\u escape", "byte 1"},
        {"\"\\u12\"", "bad \\u escape", "byte 1"},
        {"\"\\ud800\"", "unpaired surrogate \\ud800", NULL},
        {"\"\\ud800\\u0041\"", "unpaired surrogate", NULL},
        {"\"\\udc00\"", "unpaired surrogate \\udc00", NULL},
        {"\"\\u0000\"", "\\u0000 in a string is not supported", NULL},
        {"\"a\tb\"", "control character 0x09", "byte 2"},
        {"\"\xc3\"", "invalid UTF-8", "byte 1"},
        {"\"\xc0\xaf\"", "invalid UTF-8", NULL},         /* overlong '/' */
        {"\"\xed\xa0\x80\"", "invalid UTF-8", NULL},     /* encoded surrogate */
        {"\"\xf4\x90\x80\x80\"", "invalid UTF-8", NULL}, /* above U+10FFFF */
        {"\"\xff\"", "invalid UTF-8", NULL},
        {"[1,\n 2,\n x]", "unexpected 'x'", "line 3, column 2 (byte 9)"},
        {"\x01", "unexpected byte 0x01", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error(cases[i].text, strlen(cases[i].text), cases[i].words, cases[i].where);

    /* NUL bytes: inside a string, between values, after the value */
    expect_error("\"a\0b\"", 5, "NUL byte in a string", "byte 2");
    expect_error("[1,\0 2]", 7, "NUL byte, expected a value", "byte 3");
    expect_error("{}\0", 3, "NUL byte after the top-level value", "byte 2");

    /* a number too long to convert */
    char long_num[400];
    memset(long_num, '1', sizeof long_num);
    expect_error(long_num, sizeof long_num, "number longer than 256", "byte 0");
}

static void test_depth_limit(void)
{
    char deep[2 * QP_JSON_MAX_DEPTH + 4];
    for (int depth = QP_JSON_MAX_DEPTH; depth <= QP_JSON_MAX_DEPTH + 1; depth++) {
        size_t k = 0;
        for (int i = 0; i < depth; i++)
            deep[k++] = '[';
        for (int i = 0; i < depth; i++)
            deep[k++] = ']';
        struct qp_json_doc *d  = NULL;
        enum qp_status      st = qp_json_parse(deep, k, &d, NULL);
        CU_ASSERT_EQUAL(st, depth <= QP_JSON_MAX_DEPTH ? QP_OK : QP_E_FORMAT);
        qp_json_free(d);
    }
    /* a hostile nest far past the limit fails fast, without recursion past it */
    static char huge[1 << 20];
    memset(huge, '[', sizeof huge);
    expect_error(huge, sizeof huge, "nesting deeper than 64", "byte 64");
    memset(huge, '{', sizeof huge);
    expect_error(huge, sizeof huge, "expected a string key", "byte 1");
}

/* Every prefix of a valid document is an error (never a crash or a leak),
 * except the prefixes that are themselves complete documents. */
static void test_truncation_everywhere(void)
{
    size_t  len  = strlen(doc_text);
    int64_t live = qp_alloc_live();
    for (size_t k = 0; k < len; k++) {
        struct qp_json_doc *d   = NULL;
        struct qp_err       err = {{0}};
        CU_ASSERT_EQUAL(qp_json_parse(doc_text, k, &d, &err), QP_E_FORMAT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "(byte "));
        qp_json_free(d);
    }
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

static void test_alloc_failures(void)
{
    int64_t live = qp_alloc_live();
    bool    done = false;
    for (int64_t n = 1; n < 200 && !done; n++) {
        struct qp_json_doc *d = NULL;
        qp_alloc_reset_counters();
        qp_alloc_fail_at(n);
        enum qp_status st     = qp_json_parse(doc_text, strlen(doc_text), &d, NULL);
        bool           failed = qp_alloc_failed();
        qp_alloc_fail_at(0);
        if (failed) {
            CU_ASSERT_EQUAL(st, QP_E_NOMEM);
        } else {
            CU_ASSERT_EQUAL(st, QP_OK);
            done = true;
        }
        qp_json_free(d);
    }
    CU_ASSERT(done);
    CU_ASSERT_EQUAL(qp_alloc_live(), live);
}

static void test_read_file(void)
{
    const char *bin = getenv("QP_BINARY_DIR");
    char        path[1024];
    snprintf(path, sizeof path, "%s/test_json_tmp.json", bin ? bin : ".");
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(doc_text, f);
    fclose(f);
    struct qp_json_doc *d   = NULL;
    struct qp_err       err = {{0}};
    CU_ASSERT_EQUAL_FATAL(qp_json_read_file(path, &d, &err), QP_OK);
    CU_ASSERT_EQUAL(qp_json_root(d)->n, 9);
    int64_t line, col;
    qp_json_where(d, qp_json_get(qp_json_root(d), "empty")->offset, &line, &col);
    CU_ASSERT_EQUAL(line, 4);
    CU_ASSERT_EQUAL(col, 11);
    qp_json_free(d);

    f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("{\"a\": [1, 2,\n  ]}", f);
    fclose(f);
    d = NULL;
    CU_ASSERT_EQUAL(qp_json_read_file(path, &d, &err), QP_E_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "test_json_tmp.json: line 2, column 3 (byte 15)"));
    CU_ASSERT_PTR_NULL(d);
    remove(path);
    CU_ASSERT_EQUAL(qp_json_read_file(path, &d, &err), QP_E_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "test_json_tmp.json"));
}

static CU_TestInfo tests[] = {
    {"document: every kind of value, escapes, positions", test_document},
    {"scalars at the top level", test_scalars_at_top},
    {"hostile texts: reason and byte", test_hostile},
    {"depth limit", test_depth_limit},
    {"truncated at every byte", test_truncation_everywhere},
    {"allocation failure at every step", test_alloc_failures},
    {"read from a file, errors name it", test_read_file},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"json", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
