// SPDX-License-Identifier: Apache-2.0
/*
 * json.c - strict recursive-descent JSON reader into a flat "tape" of values.
 *
 * The idea: items of an array or object must end up contiguous, but their
 * own children are complete before they are. So items wait on a stack while
 * their container is open; when it closes, they move as one block to the
 * end of the tape and the container remembers where the block starts. The
 * root goes last. Indices are turned into pointers once the tape stops
 * moving. Decoded strings never outgrow their source text (an escape is
 * never shorter than what it decodes to, and the closing quote pays for the
 * NUL), so the string pool is allocated once at text length + 1 and its
 * pointers are stable while parsing.
 *
 * Invariants: every value on the stack or tape is complete; p->depth is the
 * number of open containers and never exceeds QP_JSON_MAX_DEPTH, which
 * bounds the recursion. The first error stops the parse; its byte offset
 * and reason go to the caller's qp_err through fail().
 */
#define _POSIX_C_SOURCE 200809L
#include "core/json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

#define MAX_NUMBER_CHARS 256 /* longer numbers are refused (strtod needs a copy) */

struct qp_json_doc {
    struct qp_json *tape;
    size_t          n_tape;
    char           *pool;
    const char     *text;
    size_t          len;
    char           *owned; /* text read by qp_json_read_file */
};

struct parser {
    const char     *s;
    size_t          len, pos;
    char           *pool;
    size_t          n_pool;
    struct qp_json *tape, *stack;
    size_t          n_tape, cap_tape, n_stack, cap_stack;
    int             depth;
    bool            nomem;
    size_t          err_at;
    char            msg[160];
};

static const char *const type_names[] = {
    [QP_JSON_NULL] = "null",     [QP_JSON_BOOL] = "bool",   [QP_JSON_NUMBER] = "number",
    [QP_JSON_STRING] = "string", [QP_JSON_ARRAY] = "array", [QP_JSON_OBJECT] = "object",
};
_Static_assert(sizeof type_names / sizeof type_names[0] == QP_JSON_TYPE_COUNT,
               "every qp_json_type needs a name");

const char *qp_json_type_name(enum qp_json_type t)
{
    return (unsigned)t < QP_JSON_TYPE_COUNT ? type_names[t] : "?";
}

static bool fail(struct parser *p, size_t at, const char *fmt, ...) QP_PRINTF(3, 4);
static bool fail(struct parser *p, size_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof p->msg, fmt, ap);
    va_end(ap);
    p->err_at = at;
    return false;
}

/* What stands at pos, for messages: 'x', byte 0xNN, NUL byte, end of text. */
static bool fail_unexpected(struct parser *p, const char *wanted)
{
    if (p->pos >= p->len)
        return fail(p, p->pos, "unexpected end of text (truncated?), expected %s", wanted);
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c == 0)
        return fail(p, p->pos, "NUL byte, expected %s", wanted);
    if (c >= 0x21 && c < 0x7f)
        return fail(p, p->pos, "unexpected '%c', expected %s", c, wanted);
    return fail(p, p->pos, "unexpected byte 0x%02x, expected %s", c, wanted);
}

static bool grow(struct parser *p, struct qp_json **a, size_t *cap, size_t need)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap * 2 : 64, bytes;
    if (n < need)
        n = need;
    void *q = qp_size_mul(n, sizeof **a, &bytes) ? qp_realloc(*a, bytes) : NULL;
    if (!q) {
        p->nomem = true;
        return fail(p, p->pos, "out of memory for %zu values", n);
    }
    *a   = q;
    *cap = n;
    return true;
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        p->pos++;
    }
}

static bool parse_value(struct parser *p, struct qp_json *out);

/* ===== Strings ===== */

static int hex4(const char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int  d = c >= '0' && c <= '9'   ? c - '0'
                 : c >= 'a' && c <= 'f' ? c - 'a' + 10
                 : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                        : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* \uXXXX at p->pos (after the backslash and 'u' were seen at pos - 2):
 * one code point, a surrogate pair taking a second escape. */
static bool parse_u_escape(struct parser *p, uint32_t *cp)
{
    size_t at = p->pos - 2;
    int    hi = p->len - p->pos >= 4 ? hex4(p->s + p->pos) : -1;
    if (hi < 0)
        return fail(p, at, "bad \\u escape: expected 4 hex digits");
    p->pos += 4;
    if (hi >= 0xdc00 && hi <= 0xdfff)
        return fail(p, at, "unpaired surrogate \\u%04x", (unsigned)hi);
    if (hi >= 0xd800 && hi <= 0xdbff) {
        int lo = p->len - p->pos >= 6 && p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u'
                     ? hex4(p->s + p->pos + 2)
                     : -1;
        if (lo < 0xdc00 || lo > 0xdfff)
            return fail(p, at, "unpaired surrogate \\u%04x", (unsigned)hi);
        p->pos += 6;
        *cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
        return true;
    }
    if (hi == 0)
        return fail(p, at, "\\u0000 in a string is not supported");
    *cp = (uint32_t)hi;
    return true;
}

/* Length of the valid UTF-8 sequence at s[0, n), 0 when invalid (overlong,
 * surrogate, above U+10FFFF, bad or missing continuation byte). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t        k;
    uint32_t      cp, min;
    if (c >= 0xc2 && c <= 0xdf)
        k = 2, cp = c & 0x1fu, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        k = 3, cp = c & 0x0fu, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        k = 4, cp = c & 0x07u, min = 0x10000;
    else
        return 0;
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k;
}

static bool parse_escape(struct parser *p, char *o, size_t *k)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (p->pos + 1 >= p->len)
        return fail(p, p->pos, "unterminated string (truncated?)");
    char        c  = p->s[p->pos + 1];
    const char *at = c ? strchr(from, c) : NULL;
    p->pos += 2;
    if (at) {
        o[(*k)++] = to[at - from];
        return true;
    }
    if (c != 'u')
        return (unsigned char)c >= 0x21 && (unsigned char)c < 0x7f
                   ? fail(p, p->pos - 2, "bad escape '\\%c'", c)
                   : fail(p, p->pos - 2, "bad escape: backslash before byte 0x%02x",
                          (unsigned char)c);
    uint32_t cp = 0;
    if (!parse_u_escape(p, &cp))
        return false;
    *k += put_utf8(o + *k, cp);
    return true;
}

/* String at p->pos (the opening quote) into the pool; *str, *n its copy. */
static bool parse_string(struct parser *p, const char **str, uint32_t *n)
{
    size_t start = p->pos++;
    char  *o     = p->pool + p->n_pool;
    size_t k     = 0;
    for (;;) {
        if (p->pos >= p->len)
            return fail(p, start, "unterminated string (truncated?)");
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"')
            break;
        if (c == '\\') {
            if (!parse_escape(p, o, &k))
                return false;
        } else if (c < 0x20) {
            return c ? fail(p, p->pos, "control character 0x%02x in a string (escape it)", c)
                     : fail(p, p->pos, "NUL byte in a string");
        } else if (c < 0x80) {
            o[k++] = (char)c;
            p->pos++;
        } else {
            size_t m = utf8_len((const unsigned char *)p->s + p->pos, p->len - p->pos);
            if (!m)
                return fail(p, p->pos, "invalid UTF-8 in a string (byte 0x%02x)", c);
            memcpy(o + k, p->s + p->pos, m);
            k += m;
            p->pos += m;
        }
    }
    p->pos++; /* closing quote */
    if (k > UINT32_MAX)
        return fail(p, start, "string longer than 4 GiB");
    o[k] = '\0';
    p->n_pool += k + 1;
    *str = o;
    *n   = (uint32_t)k;
    return true;
}

/* ===== Numbers and literals ===== */

static size_t digits(const struct parser *p, size_t i)
{
    size_t j = i;
    while (j < p->len && p->s[j] >= '0' && p->s[j] <= '9')
        j++;
    return j - i;
}

static bool parse_number(struct parser *p, double *out)
{
    size_t start = p->pos, i = p->pos;
    if (i < p->len && p->s[i] == '-')
        i++;
    size_t d = digits(p, i);
    if (!d)
        return fail(p, i, "expected a digit in a number");
    if (p->s[i] == '0' && d > 1)
        return fail(p, i, "leading zero in a number");
    i += d;
    if (i < p->len && p->s[i] == '.') {
        if (!(d = digits(p, ++i)))
            return fail(p, i, "expected a digit after '.' in a number");
        i += d;
    }
    if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
        if (++i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
            i++;
        if (!(d = digits(p, i)))
            return fail(p, i, "expected a digit in the exponent of a number");
        i += d;
    }
    if (i - start > MAX_NUMBER_CHARS)
        return fail(p, start, "number longer than %d characters", MAX_NUMBER_CHARS);
    char buf[MAX_NUMBER_CHARS + 1];
    memcpy(buf, p->s + start, i - start);
    buf[i - start] = '\0';
    errno          = 0;
    double v       = strtod(buf, NULL);
    if (!isfinite(v))
        return fail(p, start, "number %.40s%s is out of range", buf, i - start > 40 ? "..." : "");
    *out   = v;
    p->pos = i;
    return true;
}

static bool parse_literal(struct parser *p, struct qp_json *out)
{
    static const struct {
        const char       *word;
        enum qp_json_type type;
        bool              b;
    } words[] = {{"true", QP_JSON_BOOL, true},
                 {"false", QP_JSON_BOOL, false},
                 {"null", QP_JSON_NULL, false}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i].word);
        if (p->len - p->pos >= n && memcmp(p->s + p->pos, words[i].word, n) == 0) {
            out->type = words[i].type;
            out->v.b  = words[i].b;
            p->pos += n;
            return true;
        }
    }
    return fail_unexpected(p, "a value");
}

/* ===== Arrays and objects ===== */

/* Move the items pushed since base to the tape as one block. */
static bool close_container(struct parser *p, size_t base, struct qp_json *out)
{
    size_t n = p->n_stack - base;
    if (n > UINT32_MAX)
        return fail(p, out->offset, "more than 2^32 items in one %s", qp_json_type_name(out->type));
    if (!grow(p, &p->tape, &p->cap_tape, p->n_tape + n))
        return false;
    if (n) /* an empty container may come before any array exists */
        memcpy(p->tape + p->n_tape, p->stack + base, n * sizeof *p->stack);
    out->v.at = p->n_tape;
    out->n    = (uint32_t)n;
    p->n_tape += n;
    p->n_stack = base;
    p->depth--;
    return true;
}

static bool push(struct parser *p, const struct qp_json *v)
{
    if (!grow(p, &p->stack, &p->cap_stack, p->n_stack + 1))
        return false;
    p->stack[p->n_stack++] = *v;
    return true;
}

/* Items of an array or object from after its opening bracket to its close. */
/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped at QP_JSON_MAX_DEPTH */
static bool parse_items(struct parser *p, struct qp_json *out)
{
    bool   obj   = out->type == QP_JSON_OBJECT;
    char   close = obj ? '}' : ']';
    size_t base  = p->n_stack;
    if (++p->depth > QP_JSON_MAX_DEPTH)
        return fail(p, out->offset, "nesting deeper than %d", QP_JSON_MAX_DEPTH);
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return close_container(p, base, out);
    }
    for (;;) {
        struct qp_json item;
        const char    *key = NULL;
        uint32_t       key_len;
        skip_ws(p);
        if (obj) {
            if (p->pos >= p->len || p->s[p->pos] != '"')
                return fail_unexpected(p, "a string key");
            if (!parse_string(p, &key, &key_len))
                return false;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':')
                return fail_unexpected(p, "':' after the key");
            p->pos++;
        }
        if (!parse_value(p, &item))
            return false;
        item.key = key;
        if (!push(p, &item))
            return false;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == close) {
            p->pos++;
            return close_container(p, base, out);
        }
        return fail_unexpected(p, obj ? "',' or '}'" : "',' or ']'");
    }
}

/* NOLINTNEXTLINE(misc-no-recursion): nesting is capped at QP_JSON_MAX_DEPTH */
static bool parse_value(struct parser *p, struct qp_json *out)
{
    skip_ws(p);
    memset(out, 0, sizeof *out);
    out->offset = p->pos;
    if (p->pos >= p->len)
        return fail_unexpected(p, "a value");
    char c = p->s[p->pos];
    switch (c) {
    case '{':
    case '[':
        out->type = c == '{' ? QP_JSON_OBJECT : QP_JSON_ARRAY;
        return parse_items(p, out);
    case '"':
        out->type = QP_JSON_STRING;
        return parse_string(p, &out->v.str, &out->n);
    case 't':
    case 'f':
    case 'n':
        return parse_literal(p, out);
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            out->type = QP_JSON_NUMBER;
            return parse_number(p, &out->v.num);
        }
        return fail_unexpected(p, "a value");
    }
}

/* ===== Documents ===== */

static void fix_items(struct qp_json *v, struct qp_json *tape)
{
    if (v->type == QP_JSON_ARRAY || v->type == QP_JSON_OBJECT)
        v->v.items = tape + v->v.at;
}

static void where(const char *text, size_t offset, int64_t *line, int64_t *col)
{
    int64_t l   = 1;
    size_t  bol = 0;
    for (size_t i = 0; i < offset; i++)
        if (text[i] == '\n') {
            l++;
            bol = i + 1;
        }
    *line = l;
    *col  = (int64_t)(offset - bol) + 1;
}

static enum qp_status run_parser(struct parser *p, struct qp_json_doc *d, struct qp_err *err)
{
    struct qp_json root;
    if (p->len >= 3 && memcmp(p->s, "\xef\xbb\xbf", 3) == 0)
        p->pos = 3; /* byte-order mark */
    bool ok = parse_value(p, &root);
    if (ok) {
        skip_ws(p);
        if (p->pos < p->len)
            ok = p->s[p->pos] ? fail(p, p->pos, "unexpected data after the top-level value")
                              : fail(p, p->pos, "NUL byte after the top-level value");
    }
    ok = ok && grow(p, &p->tape, &p->cap_tape, p->n_tape + 1);
    if (!ok) {
        int64_t line, col;
        where(p->s, p->err_at, &line, &col);
        return qp_fail(err, p->nomem ? QP_E_NOMEM : QP_E_FORMAT,
                       "line %lld, column %lld (byte %zu): %s", (long long)line, (long long)col,
                       p->err_at, p->msg);
    }
    p->tape[p->n_tape++] = root;
    for (size_t i = 0; i < p->n_tape; i++)
        fix_items(&p->tape[i], p->tape);
    d->tape   = p->tape;
    d->n_tape = p->n_tape;
    d->pool   = p->pool;
    p->tape   = NULL;
    p->pool   = NULL;
    return QP_OK;
}

enum qp_status qp_json_parse(const char *text, size_t len, struct qp_json_doc **out,
                             struct qp_err *err)
{
    if (!text && len)
        return qp_fail(err, QP_E_INVAL, "json: NULL text");
    if (len > QP_JSON_MAX_BYTES)
        return qp_fail(err, QP_E_FORMAT, "json text of %zu bytes is over the %zu-byte limit", len,
                       QP_JSON_MAX_BYTES);
    struct parser       p = {.s = text, .len = len};
    struct qp_json_doc *d = qp_calloc(1, sizeof *d);
    p.pool                = qp_alloc(len + 1);
    if (!d || !p.pool) {
        qp_free(d);
        qp_free(p.pool);
        return qp_fail(err, QP_E_NOMEM, "json: out of memory for %zu bytes of text", len);
    }
    enum qp_status st = run_parser(&p, d, err);
    qp_free(p.stack);
    qp_free(p.tape);
    qp_free(p.pool);
    if (st != QP_OK) {
        qp_free(d);
        return st;
    }
    d->text = text;
    d->len  = len;
    *out    = d;
    return QP_OK;
}

enum qp_status qp_json_read_file(const char *path, struct qp_json_doc **out, struct qp_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return qp_fail(err, QP_E_IO, "%s: %s", path, strerror(errno));
    char          *buf = NULL;
    size_t         n = 0, cap = 0;
    enum qp_status st = QP_OK;
    for (;;) {
        if (n == cap) {
            size_t want = cap ? cap * 2 : 1 << 16;
            if (cap > QP_JSON_MAX_BYTES) {
                st = qp_fail(err, QP_E_FORMAT, "%s: larger than the %zu-byte limit", path,
                             QP_JSON_MAX_BYTES);
                break;
            }
            char *q = qp_realloc(buf, want);
            if (!q) {
                st = qp_fail(err, QP_E_NOMEM, "%s: out of memory reading %zu bytes", path, want);
                break;
            }
            buf = q;
            cap = want;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0) {
            if (ferror(f))
                st = qp_fail(err, QP_E_IO, "%s: read error", path);
            break;
        }
    }
    (void)fclose(f);
    struct qp_json_doc *d = NULL;
    if (st == QP_OK && (st = qp_json_parse(buf, n, &d, err)) != QP_OK)
        qp_err_prefix(err, "%s", path);
    if (st != QP_OK) {
        qp_free(buf);
        return st;
    }
    d->owned = buf;
    *out     = d;
    return QP_OK;
}

void qp_json_free(struct qp_json_doc *d)
{
    if (!d)
        return;
    qp_free(d->tape);
    qp_free(d->pool);
    qp_free(d->owned);
    qp_free(d);
}

const struct qp_json *qp_json_root(const struct qp_json_doc *d)
{
    return &d->tape[d->n_tape - 1];
}

const struct qp_json *qp_json_get(const struct qp_json *obj, const char *key)
{
    if (!obj || obj->type != QP_JSON_OBJECT)
        return NULL;
    for (uint32_t i = 0; i < obj->n; i++)
        if (strcmp(obj->v.items[i].key, key) == 0)
            return &obj->v.items[i];
    return NULL;
}

void qp_json_where(const struct qp_json_doc *d, size_t offset, int64_t *line, int64_t *col)
{
    where(d->text, offset < d->len ? offset : d->len, line, col);
}
