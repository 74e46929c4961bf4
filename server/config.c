// SPDX-License-Identifier: Apache-2.0
/*
 * config.c - the settings table of qperceptd and everything that walks it.
 *
 * One row per setting: section, key, type, where the field lives, bounds,
 * default (as text), one line of documentation. A type is a pair of
 * functions (parse text into the field, print the field as text) in a table
 * indexed by enum type. The INI reader, qp_config_set, qp_config_print,
 * qp_config_init (defaults are parsed by the row's own type) and the
 * introspection API only ever go through those two tables.
 *
 * INI syntax: "[section]" headers, "key = value" lines, whole-line comments
 * starting with '#' or ';', blanks ignored. There are no inline comments: a
 * '#' inside a value is part of it (paths may hold one). Lines are at most
 * LINE_MAX_BYTES; a NUL byte anywhere is an error.
 *
 * Invariant: a parser writes its field only after the whole value was
 * accepted, so a rejected value leaves the old one in place.
 *
 * Tested by tests/unit/test_config.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "server/config.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

#define LINE_MAX_BYTES 4096
#define IPC_PATH_MAX 107 /* sun_path (108) less the NUL */

/* ===== The table ===== */

enum section { SEC_SERVER, SEC_ENGINE, SEC_STREAM, SEC_COUNT };

static const char *const section_names[] = {
    [SEC_SERVER] = "server", [SEC_ENGINE] = "engine", [SEC_STREAM] = "stream"};
_Static_assert(sizeof section_names / sizeof section_names[0] == SEC_COUNT, "a name per section");

enum type {
    T_UINT,
    T_FLOAT,
    T_BOOL,
    T_STRING,
    T_NAME,
    T_ENUM,
    T_ENDPOINT,
    T_HOST,
    T_LIST,
    T_COUNT
};

enum { F_REQUIRED = 1 };

struct setting {
    enum section       section;
    const char        *key;
    size_t             offset, size; /* of the field in the section's struct */
    enum type          type;
    double             min, max; /* uint, float, list elements: inclusive bounds */
    const char *const *names;    /* enum: value names indexed by value, NULL-terminated */
    const char        *def;      /* default, parsed by the row's type at init */
    unsigned           flags;
    const char        *doc;
};

static const char *const log_names[]       = {"error", "warn", "info", "debug", NULL};
static const char *const watchdog_names[]  = {"auto", "on", "off", NULL};
static const char *const backend_names[]   = {"auto", "cpu", "cuda", NULL};
static const char *const mode_names[]      = {"sub", "pull", NULL};
static const char *const transport_names[] = {"inline", "shm", NULL};
static const char *const pixel_names[]     = {"any",  "rgb8", "bgr8", "gray8",
                                              "nv12", "jpeg", "png",  NULL};
_Static_assert(sizeof log_names / sizeof *log_names == QP_LOG_LEVEL_COUNT + 1, "log level names");
_Static_assert(sizeof watchdog_names / sizeof *watchdog_names == QP_CONFIG_WATCHDOG_COUNT + 1, "");
_Static_assert(sizeof backend_names / sizeof *backend_names == QP_CONFIG_BACKEND_COUNT + 1, "");
_Static_assert(sizeof mode_names / sizeof *mode_names == QP_CONFIG_MODE_COUNT + 1, "");
_Static_assert(sizeof transport_names / sizeof *transport_names == QP_CONFIG_TRANSPORT_COUNT + 1,
               "");
_Static_assert(sizeof pixel_names / sizeof *pixel_names == QP_CONFIG_PIXEL_COUNT + 1, "");
/* enum fields are read and written as int */
_Static_assert(sizeof(enum qp_log_level) == sizeof(int) &&
                   sizeof(enum qp_config_pixel) == sizeof(int),
               "enums are int-sized");

#define FIELD(S, f) offsetof(struct S, f), sizeof(((struct S *)0)->f)
#define SRV(f) SEC_SERVER, #f, FIELD(qp_config_server, f)
#define ENG(f) SEC_ENGINE, #f, FIELD(qp_config_engine, f)
#define STR(f) SEC_STREAM, #f, FIELD(qp_config_stream, f)
/* One row per setting, in print order. */
static const struct setting settings[] = {
    /* [server] */
    {SRV(control_endpoint), T_ENDPOINT, 0, 0, NULL, "ipc:///run/qpercept/control", 0,
     "control socket (ROUTER, answers REQ clients) for `qpercept ctl`: ping, status, stats, "
     "reload; bound"},
    {SRV(publish_endpoint), T_ENDPOINT, 0, 0, NULL, "ipc:///run/qpercept/detections", 0,
     "detections socket (PUB, topic = stream name); bound"},
    {SRV(frame_tap_endpoint), T_ENDPOINT, 0, 0, NULL, "", 0,
     "frame tap (PUB, topic = stream name): every frame whose detections were published, sent "
     "again after them with inline pixels, for `qpercept record --frames`; bound; empty = off "
     "(it costs a copy of each frame)"},
    {SRV(metrics_address), T_HOST, 0, 0, NULL, "127.0.0.1", 0,
     "address the Prometheus /metrics HTTP listener binds"},
    {SRV(metrics_port), T_UINT, 0, 65535, NULL, "9464", 0,
     "port of the /metrics listener; 0 turns it off"},
    {SRV(max_delay_us), T_UINT, 0, 1000000, NULL, "5000", 0,
     "longest a waiting frame holds a batch open for the other streams, in microseconds; 0 = run "
     "at once"},
    {SRV(max_age_ms), T_UINT, 1, 60000, NULL, "200", 0,
     "frames older than this when batched (capture stamp to now) are dropped and counted, in ms"},
    {SRV(sync_window_us), T_UINT, 0, 1000000, NULL, "0", 0,
     "frames in one batch must be captured within this window, in microseconds; 0 = off"},
    {SRV(max_frame_bytes), T_UINT, 1024, 1073741824, NULL, "33554432", 0,
     "largest Frame message accepted, checked before decoding; bigger ones are dropped"},
    {SRV(log_level), T_ENUM, 0, 0, log_names, "info", 0,
     "log lines below this level are not written"},
    {SRV(watchdog), T_ENUM, 0, 0, watchdog_names, "auto", 0,
     "systemd watchdog pings: auto = when WatchdogSec= is set, on = refuse to start without it, "
     "off = never"},
    {SRV(curve), T_BOOL, 0, 0, NULL, "no", 0,
     "encrypt the tcp:// endpoints with CURVE and admit only clients in curve_allow_file"},
    {SRV(curve_secret_key_file), T_STRING, 0, 0, NULL, "", 0,
     "file holding the server's Z85 secret key (40 characters); required with curve = yes"},
    {SRV(curve_allow_file), T_STRING, 0, 0, NULL, "", 0,
     "file of allowed client public keys, one Z85 key a line; required with curve = yes"},
    /* [engine] */
    {ENG(path), T_STRING, 0, 0, NULL, "", F_REQUIRED,
     "engine to serve: a .qpe file from `qpercept build`, or an .onnx model built at start-up"},
    {ENG(model), T_NAME, 0, 0, NULL, "", 0,
     "model spec name in the models manifest; empty = found by the model file's sha256"},
    {ENG(backend), T_ENUM, 0, 0, backend_names, "auto", 0,
     "where the network runs: auto = CUDA where a device is present, else the CPU"},
    {ENG(batch_sizes), T_LIST, 1, QP_CONFIG_MAX_BATCH, NULL, "1,2,4,6,8", 0,
     "batch-size buckets, ascending; a batch runs in the smallest bucket that holds it"},
    {ENG(threads), T_UINT, 0, 256, NULL, "0", 0, "CPU backend threads; 0 = one per core"},
    {ENG(score_min), T_FLOAT, 0, 1, NULL, "0.25", 0,
     "detections scoring below this are not published"},
    {ENG(iou), T_FLOAT, 0, 1, NULL, "0.45", 0,
     "non-maximum suppression: of two boxes of one class overlapping more than this, the "
     "lower-scoring one is dropped"},
    {ENG(max_dets), T_UINT, 1, 10000, NULL, "100", 0,
     "most detections published per frame (highest scores first)"},
    {ENG(warmup), T_UINT, 0, 1000, NULL, "3", 0,
     "synthetic batches run per bucket before the server reports ready"},
    /* [stream.NAME] */
    {STR(endpoint), T_ENDPOINT, 0, 0, NULL, "", F_REQUIRED,
     "where this camera's frames come from (mode sub: its PUB; mode pull: bound here)"},
    {STR(mode), T_ENUM, 0, 0, mode_names, "sub", 0,
     "sub = connect to the camera's publisher; pull = bind, cameras connect and push"},
    {STR(transport), T_ENUM, 0, 0, transport_names, "inline", 0,
     "inline = pixels in the message; shm = shared-memory slot descriptor (same host only)"},
    {STR(width), T_UINT, 0, 16384, NULL, "0", 0,
     "expected image width in pixels; 0 = any; frames of another size are dropped"},
    {STR(height), T_UINT, 0, 16384, NULL, "0", 0, "expected image height in pixels; 0 = any"},
    {STR(pixel_format), T_ENUM, 0, 0, pixel_names, "any", 0,
     "expected pixel format; frames in another one are dropped"},
    {STR(enabled), T_BOOL, 0, 0, NULL, "yes", 0, "no = keep the section but do not subscribe"},
};

#define N_ROWS ((int32_t)(sizeof settings / sizeof settings[0]))
#define N_ROWS_MAX 40 /* size of the parser's duplicate-key table */
_Static_assert(sizeof settings / sizeof settings[0] <= N_ROWS_MAX, "raise N_ROWS_MAX");

/* ===== Types: parse text into a field, print a field as text ===== */

struct type_ops {
    const char *name;
    /* Reason (no key, no value) in err on failure; field untouched then. */
    enum qp_status (*parse)(const struct setting *s, const char *v, void *field,
                            struct qp_err *err);
    void (*print)(const struct setting *s, const void *field, char *buf, size_t n);
};

/* Whole-string unsigned decimal within the row's bounds. */
static enum qp_status parse_u32(const struct setting *s, const char *v, uint32_t *out,
                                struct qp_err *err)
{
    char *end;
    errno         = 0;
    long long x   = strtoll(v, &end, 10);
    bool      bad = end == v || *end || (*v != '-' && *v != '+' && (*v < '0' || *v > '9'));
    if (bad)
        return qp_fail(err, QP_E_INVAL, "not an integer");
    if (errno == ERANGE || x < (long long)s->min || x > (long long)s->max)
        return qp_fail(err, QP_E_INVAL, "must be %.0f..%.0f", s->min, s->max);
    *out = (uint32_t)x;
    return QP_OK;
}

static enum qp_status uint_parse(const struct setting *s, const char *v, void *field,
                                 struct qp_err *err)
{
    uint32_t       x  = 0;
    enum qp_status st = parse_u32(s, v, &x, err);
    if (st == QP_OK)
        memcpy(field, &x, sizeof x);
    return st;
}

static void uint_print(const struct setting *s, const void *field, char *buf, size_t n)
{
    uint32_t x;
    memcpy(&x, field, sizeof x);
    snprintf(buf, n, "%u", (unsigned)x);
}

static enum qp_status float_parse(const struct setting *s, const char *v, void *field,
                                  struct qp_err *err)
{
    char *end;
    errno   = 0;
    float x = strtof(v, &end);
    if (end == v || *end || (*v != '-' && *v != '+' && *v != '.' && (*v < '0' || *v > '9')))
        return qp_fail(err, QP_E_INVAL, "not a number");
    if (errno == ERANGE || !isfinite(x) || !(x >= s->min && x <= s->max))
        return qp_fail(err, QP_E_INVAL, "must be %g..%g", s->min, s->max);
    memcpy(field, &x, sizeof x);
    return QP_OK;
}

/* The shortest %g form that reads back as the same float. */
static void float_print(const struct setting *s, const void *field, char *buf, size_t n)
{
    float x;
    memcpy(&x, field, sizeof x);
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, n, "%.*g", prec, (double)x);
        if (strtof(buf, NULL) == x)
            return;
    }
}

static const char *const bool_true[]  = {"yes", "true", "on", "1", NULL};
static const char *const bool_false[] = {"no", "false", "off", "0", NULL};

static int name_index(const char *const *names, const char *v)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], v) == 0)
            return i;
    return -1;
}

static enum qp_status bool_parse(const struct setting *s, const char *v, void *field,
                                 struct qp_err *err)
{
    bool x;
    if (name_index(bool_true, v) >= 0)
        x = true;
    else if (name_index(bool_false, v) >= 0)
        x = false;
    else
        return qp_fail(err, QP_E_INVAL, "must be yes or no (also true/false, on/off, 1/0)");
    memcpy(field, &x, sizeof x);
    return QP_OK;
}

static void bool_print(const struct setting *s, const void *field, char *buf, size_t n)
{
    bool x;
    memcpy(&x, field, sizeof x);
    snprintf(buf, n, "%s", x ? "yes" : "no");
}

/* Copy v into a char[size] field, zero-filling the rest (so memcmp compares). */
static enum qp_status copy_text(const struct setting *s, const char *v, void *field,
                                struct qp_err *err)
{
    size_t len = strlen(v);
    if (len >= s->size)
        return qp_fail(err, QP_E_INVAL, "too long (at most %zu characters)", s->size - 1);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return qp_fail(err, QP_E_INVAL, "control character 0x%02x", *p);
    memset(field, 0, s->size);
    memcpy(field, v, len);
    return QP_OK;
}

static void text_print(const struct setting *s, const void *field, char *buf, size_t n)
{
    snprintf(buf, n, "%s", (const char *)field);
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

/* 1..63 characters of [A-Za-z0-9_.-]: stream and model names. */
static bool is_name(const char *v)
{
    size_t len = strlen(v);
    if (len == 0 || len >= QP_CONFIG_NAME_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_name_char(v[i]))
            return false;
    return true;
}

#define NAME_RULE "1..63 characters of A-Z a-z 0-9 _ . -"

static enum qp_status name_parse(const struct setting *s, const char *v, void *field,
                                 struct qp_err *err)
{
    if (*v && !is_name(v))
        return qp_fail(err, QP_E_INVAL, "must be empty or " NAME_RULE);
    return copy_text(s, v, field, err);
}

static enum qp_status enum_parse(const struct setting *s, const char *v, void *field,
                                 struct qp_err *err)
{
    int x = name_index(s->names, v);
    if (x < 0) {
        char list[160] = "";
        for (int i = 0; s->names[i]; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                     s->names[i]);
        return qp_fail(err, QP_E_INVAL, "must be one of %s", list);
    }
    memcpy(field, &x, sizeof x);
    return QP_OK;
}

static void enum_print(const struct setting *s, const void *field, char *buf, size_t n)
{
    int x;
    memcpy(&x, field, sizeof x);
    snprintf(buf, n, "%s", s->names[x]);
}

/* Host name, IPv4 address, '*', or [IPv6]: no blanks, no separators. */
static bool is_host(const char *h, size_t len)
{
    if (len == 0 || len >= QP_CONFIG_HOST_LEN)
        return false;
    if (len == 1 && h[0] == '*')
        return true;
    if (h[0] == '[') {
        if (len < 3 || h[len - 1] != ']')
            return false;
        for (size_t i = 1; i + 1 < len; i++)
            if (!strchr("0123456789abcdefABCDEF:.", h[i]))
                return false;
        return true;
    }
    for (size_t i = 0; i < len; i++)
        if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') ||
              (h[i] >= '0' && h[i] <= '9') || h[i] == '.' || h[i] == '-'))
            return false;
    return true;
}

static enum qp_status host_parse(const struct setting *s, const char *v, void *field,
                                 struct qp_err *err)
{
    if (!is_host(v, strlen(v)) || strcmp(v, "*") == 0)
        return qp_fail(err, QP_E_INVAL, "must be a host name or an IP address");
    return copy_text(s, v, field, err);
}

/* Why v is not an endpoint we accept, or NULL when it is one:
 * tcp://HOST:PORT (PORT 1..65535), ipc://PATH (at most 107 bytes), inproc://NAME. */
static const char *endpoint_problem(const char *v)
{
    static const char *const usage = "must be tcp://HOST:PORT, ipc://PATH or inproc://NAME";
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return "must not contain blanks or control characters";
    if (strncmp(v, "ipc://", 6) == 0) {
        size_t len = strlen(v + 6);
        if (len == 0)
            return "ipc:// needs a path";
        return len > IPC_PATH_MAX ? "ipc:// path longer than 107 bytes (the Linux limit)" : NULL;
    }
    if (strncmp(v, "inproc://", 9) == 0)
        return v[9] ? NULL : "inproc:// needs a name";
    if (strncmp(v, "tcp://", 6) != 0)
        return usage;
    const char *host  = v + 6;
    const char *colon = strrchr(host, ':');
    if (!colon || !is_host(host, (size_t)(colon - host)))
        return "tcp:// needs HOST:PORT with a host name, an IP address or *";
    char *end;
    errno  = 0;
    long p = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end || errno || p < 1 || p > 65535)
        return "tcp:// port must be 1..65535";
    return NULL;
}

static enum qp_status endpoint_parse(const struct setting *s, const char *v, void *field,
                                     struct qp_err *err)
{
    const char *why = *v ? endpoint_problem(v) : NULL; /* "" = unset; check() requires it */
    if (why)
        return qp_fail(err, QP_E_INVAL, "%s", why);
    return copy_text(s, v, field, err);
}

static enum qp_status list_parse(const struct setting *s, const char *v, void *field,
                                 struct qp_err *err)
{
    struct qp_config_list l = {0};
    const char           *p = v;
    for (;;) {
        char   item[24];
        size_t len = strcspn(p, ",");
        while (len && (*p == ' ' || *p == '\t'))
            p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0 || len >= sizeof item)
            return qp_fail(err, QP_E_INVAL, "must be 1..%d comma-separated integers",
                           QP_CONFIG_LIST_MAX);
        if (l.n == QP_CONFIG_LIST_MAX)
            return qp_fail(err, QP_E_INVAL, "at most %d values", QP_CONFIG_LIST_MAX);
        memcpy(item, p, len);
        item[len] = '\0';
        if (parse_u32(s, item, &l.v[l.n], err) != QP_OK) {
            qp_err_prefix(err, "value %u '%s'", (unsigned)l.n + 1, item);
            return QP_E_INVAL;
        }
        l.n++;
        p += strcspn(p, ",");
        if (!*p)
            break;
        p++;
    }
    memcpy(field, &l, sizeof l);
    return QP_OK;
}

static void list_print(const struct setting *s, const void *field, char *buf, size_t n)
{
    const struct qp_config_list *l = field;
    buf[0]                         = '\0';
    for (uint32_t i = 0; i < l->n; i++)
        snprintf(buf + strlen(buf), n - strlen(buf), "%s%u", i ? "," : "", (unsigned)l->v[i]);
}

static const struct type_ops types[] = {
    [T_UINT]     = {"uint", uint_parse, uint_print},
    [T_FLOAT]    = {"float", float_parse, float_print},
    [T_BOOL]     = {"bool", bool_parse, bool_print},
    [T_STRING]   = {"string", copy_text, text_print},
    [T_NAME]     = {"name", name_parse, text_print},
    [T_ENUM]     = {"enum", enum_parse, enum_print},
    [T_ENDPOINT] = {"endpoint", endpoint_parse, text_print},
    [T_HOST]     = {"host", host_parse, text_print},
    [T_LIST]     = {"list", list_parse, list_print},
};
_Static_assert(sizeof types / sizeof types[0] == T_COUNT, "every type needs parse and print");

/* ===== Lookups ===== */

/* Base of the struct a section's rows point into. */
static void *section_base(struct qp_config *cfg, enum section sec, int32_t stream)
{
    switch (sec) {
    case SEC_SERVER:
        return &cfg->server;
    case SEC_ENGINE:
        return &cfg->engine;
    default:
        return &cfg->streams[stream];
    }
}

static int32_t row_find(enum section sec, const char *key)
{
    for (int32_t i = 0; i < N_ROWS; i++)
        if (settings[i].section == sec && strcmp(settings[i].key, key) == 0)
            return i;
    return -1;
}

/* Edit distance, for "did you mean"; both strings short (callers check). */
static int distance(const char *a, const char *b)
{
    int    row[LINE_MAX_BYTES / 64 + 1];
    size_t la = strlen(a), lb = strlen(b);
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0]   = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag   = up;
            row[j] = best;
        }
    }
    return row[lb];
}

/* The key of section sec nearest to key (distance <= 2), or NULL. */
static const char *suggest_key(enum section sec, const char *key)
{
    const char *best = NULL;
    int         d    = 3;
    if (strlen(key) >= LINE_MAX_BYTES / 64)
        return NULL;
    for (int32_t i = 0; i < N_ROWS; i++) {
        int di = settings[i].section == sec ? distance(key, settings[i].key) : 3;
        if (di < d)
            d = di, best = settings[i].key;
    }
    return best;
}

const struct qp_config_stream *qp_config_stream_find(const struct qp_config *cfg, const char *name)
{
    for (int32_t i = 0; i < cfg->n_streams; i++)
        if (strcmp(cfg->streams[i].name, name) == 0)
            return &cfg->streams[i];
    return NULL;
}

/* Append a stream named name with default settings; its index, or -1 when full. */
static int32_t stream_add(struct qp_config *cfg, const char *name)
{
    if (cfg->n_streams == QP_CONFIG_MAX_STREAMS)
        return -1;
    int32_t i = cfg->n_streams++;
    for (int32_t r = 0; r < N_ROWS; r++)
        if (settings[r].section == SEC_STREAM) {
            void *f = (char *)&cfg->streams[i] + settings[r].offset;
            QP_ASSERT(types[settings[r].type].parse(&settings[r], settings[r].def, f, NULL) ==
                      QP_OK);
        }
    memcpy(cfg->streams[i].name, name, strlen(name) + 1);
    return i;
}

/* Parse value into row r of the given section instance; the message says
 * "[section] key = value: reason". */
static enum qp_status apply(struct qp_config *cfg, int32_t r, int32_t stream, const char *value,
                            struct qp_err *err)
{
    const struct setting *s = &settings[r];
    void                 *f = (char *)section_base(cfg, s->section, stream) + s->offset;
    if (types[s->type].parse(s, value, f, err) == QP_OK)
        return QP_OK;
    bool long_value = strlen(value) > 80;
    if (s->section == SEC_STREAM)
        qp_err_prefix(err, "[stream.%s] %s = %.80s%s", cfg->streams[stream].name, s->key, value,
                      long_value ? "..." : "");
    else
        qp_err_prefix(err, "[%s] %s = %.80s%s", section_names[s->section], s->key, value,
                      long_value ? "..." : "");
    return QP_E_INVAL;
}

/* ===== Defaults ===== */

void qp_config_init(struct qp_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (int32_t r = 0; r < N_ROWS; r++)
        if (settings[r].section != SEC_STREAM) {
            void *f = (char *)section_base(cfg, settings[r].section, 0) + settings[r].offset;
            /* a default outside its own row's rules is our bug */
            QP_ASSERT(types[settings[r].type].parse(&settings[r], settings[r].def, f, NULL) ==
                      QP_OK);
        }
}

void qp_config_fini(struct qp_config *cfg)
{
    if (cfg)
        qp_config_init(cfg);
}

/* ===== The INI reader ===== */

struct reader {
    struct qp_config *cfg;
    enum section      sec;   /* current section; SEC_COUNT before the first header */
    int32_t           scope; /* 0 server, 1 engine, 2 + i stream i */
    int32_t           header[2 + QP_CONFIG_MAX_STREAMS];           /* line of each section header */
    int32_t           seen[2 + QP_CONFIG_MAX_STREAMS][N_ROWS_MAX]; /* line a key was set, 0 = not */
};

static char *trim(char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    char *e = p + strlen(p);
    while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return p;
}

static enum qp_status read_header(struct reader *rd, char *p, int32_t line, struct qp_err *err)
{
    char *close = strchr(p, ']');
    if (!close || *trim(close + 1))
        return qp_fail(err, QP_E_INVAL,
                       "malformed section header (want [server], [engine] or "
                       "[stream.NAME])");
    *close     = '\0';
    char *name = trim(p + 1);
    if (strncmp(name, "stream.", 7) == 0) {
        const char *sname = name + 7;
        if (!is_name(sname))
            return qp_fail(err, QP_E_INVAL, "[stream.%.80s]: the name must be " NAME_RULE, sname);
        const struct qp_config_stream *old = qp_config_stream_find(rd->cfg, sname);
        if (old)
            return qp_fail(err, QP_E_INVAL, "duplicate stream [stream.%s] (first at line %d)",
                           sname, (int)rd->header[2 + (old - rd->cfg->streams)]);
        int32_t i = stream_add(rd->cfg, sname);
        if (i < 0)
            return qp_fail(err, QP_E_INVAL, "[stream.%s]: too many streams (at most %d)", sname,
                           QP_CONFIG_MAX_STREAMS);
        rd->sec = SEC_STREAM, rd->scope = 2 + i;
    } else if (strcmp(name, "server") == 0 || strcmp(name, "engine") == 0) {
        rd->sec   = name[0] == 's' ? SEC_SERVER : SEC_ENGINE;
        rd->scope = rd->sec == SEC_SERVER ? 0 : 1;
        if (rd->header[rd->scope])
            return qp_fail(err, QP_E_INVAL, "section [%s] appears twice (first at line %d)", name,
                           (int)rd->header[rd->scope]);
    } else {
        int         ds   = strlen(name) < 64 ? distance(name, "server") : 9;
        int         de   = strlen(name) < 64 ? distance(name, "engine") : 9;
        int         dt   = strlen(name) < 64 ? distance(name, "stream") : 9;
        const char *hint = ds <= 2   ? " (did you mean [server]?)"
                           : de <= 2 ? " (did you mean [engine]?)"
                           : dt <= 2 || strncmp(name, "stream", 6) == 0
                               ? " (did you mean [stream.NAME]?)"
                               : " (sections are [server], [engine] and [stream.NAME])";
        return qp_fail(err, QP_E_INVAL, "unknown section [%.80s]%s", name, hint);
    }
    rd->header[rd->scope] = line;
    return QP_OK;
}

/* The "[section]" text of the current section, for messages. */
static const char *scope_text(const struct reader *rd, char *buf, size_t n)
{
    if (rd->sec == SEC_STREAM)
        snprintf(buf, n, "[stream.%s]", rd->cfg->streams[rd->scope - 2].name);
    else
        snprintf(buf, n, "[%s]", section_names[rd->sec]);
    return buf;
}

static enum qp_status read_line(struct reader *rd, char *line, int32_t no, struct qp_err *err)
{
    char *p = trim(line);
    if (!*p || *p == '#' || *p == ';')
        return QP_OK;
    if (*p == '[')
        return read_header(rd, p, no, err);
    char *eq = strchr(p, '=');
    if (!eq)
        return qp_fail(err, QP_E_INVAL, "expected 'key = value', a [section] or a comment");
    *eq         = '\0';
    char *key   = trim(p);
    char *value = trim(eq + 1);
    if (!*key)
        return qp_fail(err, QP_E_INVAL, "missing key before '='");
    if (rd->sec == SEC_COUNT)
        return qp_fail(err, QP_E_INVAL, "key '%.80s' before the first [section]", key);
    char    where[96];
    int32_t r = row_find(rd->sec, key);
    if (r < 0) {
        const char *hint = suggest_key(rd->sec, key);
        if (hint)
            return qp_fail(err, QP_E_INVAL, "%s key '%.80s' is unknown (did you mean '%s'?)",
                           scope_text(rd, where, sizeof where), key, hint);
        return qp_fail(err, QP_E_INVAL, "%s key '%.80s' is unknown",
                       scope_text(rd, where, sizeof where), key);
    }
    if (rd->seen[rd->scope][r])
        return qp_fail(err, QP_E_INVAL, "%s key '%s' is set twice (first at line %d)",
                       scope_text(rd, where, sizeof where), key, (int)rd->seen[rd->scope][r]);
    rd->seen[rd->scope][r] = no;
    return apply(rd->cfg, r, rd->scope - 2, value, err);
}

/* Read len bytes of INI text; messages are "name:line: ...". */
static enum qp_status read_text(const char *text, size_t len, const char *name,
                                struct qp_config *cfg, struct qp_err *err)
{
    qp_config_init(cfg);
    struct reader *rd = qp_calloc(1, sizeof *rd);
    if (!rd)
        return qp_fail(err, QP_E_NOMEM, "%s: %zu bytes for the reader", name, sizeof *rd);
    rd->cfg = cfg, rd->sec = SEC_COUNT;
    enum qp_status st  = QP_OK;
    size_t         pos = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3; /* UTF-8 byte order mark */
    for (int32_t no = 1; st == QP_OK && pos < len; no++) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t      n  = nl ? (size_t)(nl - (text + pos)) : len - pos;
        char        line[LINE_MAX_BYTES];
        if (n >= sizeof line)
            st = qp_fail(err, QP_E_INVAL, "line longer than %d bytes", LINE_MAX_BYTES - 1);
        else if (memchr(text + pos, '\0', n))
            st = qp_fail(err, QP_E_INVAL, "NUL byte in the line");
        else {
            memcpy(line, text + pos, n);
            line[n] = '\0';
            st      = read_line(rd, line, no, err);
        }
        if (st != QP_OK)
            qp_err_prefix(err, "%s:%d", name, (int)no);
        pos += n + 1;
    }
    qp_free(rd);
    return st;
}

enum qp_status qp_config_read_string(const char *text, const char *name, struct qp_config *cfg,
                                     struct qp_err *err)
{
    return read_text(text, strlen(text), name, cfg, err);
}

enum qp_status qp_config_read_file(const char *path, struct qp_config *cfg, struct qp_err *err)
{
    qp_config_init(cfg);
    FILE *f = fopen(path, "rb");
    if (!f)
        return qp_fail(err, QP_E_IO, "open %s: %s", path, strerror(errno));
    enum qp_status st  = QP_OK;
    char          *buf = qp_alloc(QP_CONFIG_FILE_MAX + 1);
    if (!buf) {
        st = qp_fail(err, QP_E_NOMEM, "%s: %d bytes to read it", path, QP_CONFIG_FILE_MAX + 1);
        goto out;
    }
    size_t n = fread(buf, 1, QP_CONFIG_FILE_MAX + 1, f);
    if (ferror(f))
        st = qp_fail(err, QP_E_IO, "read %s: %s", path, strerror(errno));
    else if (n > QP_CONFIG_FILE_MAX)
        st = qp_fail(err, QP_E_INVAL, "%s: larger than %d bytes", path, QP_CONFIG_FILE_MAX);
    else
        st = read_text(buf, n, path, cfg, err);
out:
    qp_free(buf);
    (void)fclose(f);
    return st;
}

enum qp_status qp_config_load_string(const char *text, const char *name, struct qp_config *cfg,
                                     struct qp_err *err)
{
    enum qp_status st = qp_config_read_string(text, name, cfg, err);
    if (st == QP_OK && (st = qp_config_check(cfg, err)) != QP_OK)
        qp_err_prefix(err, "%s", name);
    return st;
}

enum qp_status qp_config_load_file(const char *path, struct qp_config *cfg, struct qp_err *err)
{
    enum qp_status st = qp_config_read_file(path, cfg, err);
    if (st == QP_OK && (st = qp_config_check(cfg, err)) != QP_OK)
        qp_err_prefix(err, "%s", path);
    return st;
}

/* ===== Overrides and single values ===== */

/* Split "server.KEY", "engine.KEY" or "stream.NAME.KEY" into a row and a
 * stream name (sname, "" for the other sections). */
static enum qp_status resolve(const char *key, int32_t *row, char sname[QP_CONFIG_NAME_LEN],
                              struct qp_err *err)
{
    enum section sec;
    const char  *k;
    sname[0] = '\0';
    if (strncmp(key, "server.", 7) == 0)
        sec = SEC_SERVER, k = key + 7;
    else if (strncmp(key, "engine.", 7) == 0)
        sec = SEC_ENGINE, k = key + 7;
    else if (strncmp(key, "stream.", 7) == 0 && strrchr(key + 7, '.')) {
        sec = SEC_STREAM, k = strrchr(key + 7, '.') + 1;
        size_t n = (size_t)(k - 1 - (key + 7));
        if (n < QP_CONFIG_NAME_LEN)
            memcpy(sname, key + 7, n), sname[n] = '\0';
        if (!is_name(sname))
            return qp_fail(err, QP_E_INVAL, "%.80s: the stream name must be " NAME_RULE, key);
    } else
        return qp_fail(err, QP_E_INVAL, "%.80s: want server.KEY, engine.KEY or stream.NAME.KEY",
                       key);
    if ((*row = row_find(sec, k)) >= 0)
        return QP_OK;
    const char *hint = suggest_key(sec, k);
    return qp_fail(err, QP_E_INVAL, "%.80s: unknown key '%.80s'%s%s%s", key, k,
                   hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
}

enum qp_status qp_config_set(struct qp_config *cfg, const char *key, const char *value,
                             struct qp_err *err)
{
    int32_t r;
    char    sname[QP_CONFIG_NAME_LEN];
    if (resolve(key, &r, sname, err) != QP_OK)
        return QP_E_INVAL;
    if (strlen(value) >= LINE_MAX_BYTES)
        return qp_fail(err, QP_E_INVAL, "%s: value longer than %d bytes", key, LINE_MAX_BYTES - 1);
    char v[LINE_MAX_BYTES];
    memcpy(v, value, strlen(value) + 1);
    int32_t si    = 0;
    bool    added = false;
    if (settings[r].section == SEC_STREAM) {
        const struct qp_config_stream *s = qp_config_stream_find(cfg, sname);
        si                               = s ? (int32_t)(s - cfg->streams) : stream_add(cfg, sname);
        if (si < 0)
            return qp_fail(err, QP_E_INVAL, "%s: too many streams (at most %d)", key,
                           QP_CONFIG_MAX_STREAMS);
        added = !s;
    }
    enum qp_status st = apply(cfg, r, si, trim(v), err);
    if (st != QP_OK && added) { /* leave cfg as it was */
        cfg->n_streams--;
        memset(&cfg->streams[si], 0, sizeof cfg->streams[si]);
    }
    return st;
}

enum qp_status qp_config_get(const struct qp_config *cfg, const char *key, char *buf, size_t n,
                             struct qp_err *err)
{
    int32_t r;
    char    sname[QP_CONFIG_NAME_LEN];
    if (resolve(key, &r, sname, err) != QP_OK)
        return QP_E_INVAL;
    const struct setting          *s  = &settings[r];
    const struct qp_config_stream *st = qp_config_stream_find(cfg, sname);
    if (s->section == SEC_STREAM && !st)
        return qp_fail(err, QP_E_INVAL, "%.80s: no stream '%s'", key, sname);
    int32_t     si = st ? (int32_t)(st - cfg->streams) : 0;
    const void *field =
        (const char *)section_base((struct qp_config *)cfg, s->section, si) + s->offset;
    types[s->type].print(s, field, buf, n);
    return QP_OK;
}

/* ===== Printing ===== */

static bool print_section(const struct qp_config *cfg, enum section sec, int32_t stream, FILE *f)
{
    bool ok = sec == SEC_STREAM ? fprintf(f, "\n[stream.%s]\n", cfg->streams[stream].name) > 0
                                : fprintf(f, "\n[%s]\n", section_names[sec]) > 0;
    for (int32_t r = 0; ok && r < N_ROWS; r++) {
        const struct setting *s = &settings[r];
        if (s->section != sec)
            continue;
        char        v[QP_CONFIG_PATH_LEN + 16];
        const void *field =
            (const char *)section_base((struct qp_config *)cfg, sec, stream) + s->offset;
        types[s->type].print(s, field, v, sizeof v);
        ok = fprintf(f, "# %s\n%s = %s\n", s->doc, s->key, v) > 0;
    }
    return ok;
}

enum qp_status qp_config_print(const struct qp_config *cfg, FILE *f)
{
    bool ok = fprintf(f, "# qperceptd configuration: every setting, defaults included\n") > 0;
    ok      = ok && print_section(cfg, SEC_SERVER, 0, f) && print_section(cfg, SEC_ENGINE, 0, f);
    for (int32_t i = 0; ok && i < cfg->n_streams; i++)
        ok = print_section(cfg, SEC_STREAM, i, f);
    return ok && fflush(f) == 0 ? QP_OK : QP_E_IO;
}

/* ===== Introspection ===== */

int32_t qp_config_key_count(void)
{
    return N_ROWS;
}

bool qp_config_key_at(int32_t i, struct qp_config_key *out)
{
    if (i < 0 || i >= N_ROWS)
        return false;
    const struct setting *s = &settings[i];
    *out                    = (struct qp_config_key){
                           .section  = section_names[s->section],
                           .key      = s->key,
                           .type     = types[s->type].name,
                           .def      = s->def,
                           .doc      = s->doc,
                           .min      = s->min,
                           .max      = s->max,
                           .choices  = s->names,
                           .required = (s->flags & F_REQUIRED) != 0,
    };
    return true;
}
