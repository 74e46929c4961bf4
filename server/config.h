// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * config.h - qperceptd's configuration: one struct, one table of settings.
 *
 * The INI file ([server], [engine], one [stream.NAME] per camera),
 * command-line overrides (--section.key value), --print-config, the
 * defaults and the documentation all walk the same table in config.c, so a
 * setting exists in every one of those places or in none. Every row carries
 * bounds; unknown sections and keys, duplicates, malformed numbers and
 * out-of-range values are errors that name file:line, section and key.
 *
 * Everything lives in fixed-size fields of struct qp_config (no pointers),
 * so a configuration is copied with = and compared field by field, and
 * loading allocates nothing that outlives the call.
 *
 * Typical use in the daemon:
 *     qp_config_read_file(path, &cfg, &err);           // defaults + file
 *     qp_config_set(&cfg, "server.max_delay_us", "2000", &err);  // overrides
 *     qp_config_check(&cfg, &err);                     // required + cross-field
 *     qp_config_warnings(&cfg, log_warning, NULL);     // e.g. non-loopback binds
 * qp_config_load_file() is read + check in one call (--check-config).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/log.h"
#include "qpercept/status.h"

#define QP_CONFIG_MAX_STREAMS 64   /* [stream.NAME] sections */
#define QP_CONFIG_NAME_LEN 64      /* stream / model names: 1..63 of [A-Za-z0-9_.-] + NUL */
#define QP_CONFIG_ENDPOINT_LEN 128 /* ipc:// paths are at most 107 bytes on Linux */
#define QP_CONFIG_HOST_LEN 64
#define QP_CONFIG_PATH_LEN 512
#define QP_CONFIG_LIST_MAX 16        /* values in a list setting (batch_sizes) */
#define QP_CONFIG_MAX_BATCH 64       /* largest batch-size bucket */
#define QP_CONFIG_FILE_MAX (1 << 20) /* bytes; a bigger file is refused */

enum qp_config_watchdog {
    QP_CONFIG_WATCHDOG_AUTO = 0, /* ping when systemd set WatchdogSec= (WATCHDOG_USEC) */
    QP_CONFIG_WATCHDOG_ON   = 1, /* require the systemd watchdog: refuse to start without it */
    QP_CONFIG_WATCHDOG_OFF  = 2,
    QP_CONFIG_WATCHDOG_COUNT
};

enum qp_config_backend {
    QP_CONFIG_BACKEND_AUTO = 0, /* CUDA where a device is present, else the CPU */
    QP_CONFIG_BACKEND_CPU  = 1,
    QP_CONFIG_BACKEND_CUDA = 2,
    QP_CONFIG_BACKEND_COUNT
};

enum qp_config_mode {
    QP_CONFIG_MODE_SUB  = 0, /* connect a SUB to the camera's PUB */
    QP_CONFIG_MODE_PULL = 1, /* bind a PULL; cameras connect and PUSH */
    QP_CONFIG_MODE_COUNT
};

enum qp_config_transport {
    QP_CONFIG_TRANSPORT_INLINE = 0, /* pixels inside the Frame message */
    QP_CONFIG_TRANSPORT_SHM    = 1, /* Frame carries a shared-memory slot descriptor */
    QP_CONFIG_TRANSPORT_COUNT
};

enum qp_config_pixel {
    QP_CONFIG_PIXEL_ANY   = 0, /* accept every format the wire protocol knows */
    QP_CONFIG_PIXEL_RGB8  = 1,
    QP_CONFIG_PIXEL_BGR8  = 2,
    QP_CONFIG_PIXEL_GRAY8 = 3,
    QP_CONFIG_PIXEL_NV12  = 4,
    QP_CONFIG_PIXEL_JPEG  = 5,
    QP_CONFIG_PIXEL_PNG   = 6,
    QP_CONFIG_PIXEL_COUNT
};

struct qp_config_list { /* a list setting: n values in v[0..n) */
    uint32_t n;
    uint32_t v[QP_CONFIG_LIST_MAX];
};

struct qp_config_server {
    char                    control_endpoint[QP_CONFIG_ENDPOINT_LEN]; /* ROUTER, bound */
    char                    publish_endpoint[QP_CONFIG_ENDPOINT_LEN]; /* PUB, bound */
    char                    frame_tap_endpoint[QP_CONFIG_ENDPOINT_LEN]; /* PUB, bound; "" = off */
    char                    metrics_address[QP_CONFIG_HOST_LEN];
    uint32_t                metrics_port; /* 0 = no /metrics listener */
    uint32_t                max_delay_us;
    uint32_t                max_age_ms;
    uint32_t                sync_window_us; /* 0 = off */
    uint32_t                max_frame_bytes;
    enum qp_log_level       log_level;
    enum qp_config_watchdog watchdog;
    bool                    curve;
    char                    curve_secret_key_file[QP_CONFIG_PATH_LEN];
    char                    curve_allow_file[QP_CONFIG_PATH_LEN];
};

struct qp_config_engine {
    char                   path[QP_CONFIG_PATH_LEN];  /* .qpe or .onnx; required */
    char                   model[QP_CONFIG_NAME_LEN]; /* "" = found by the model's sha256 */
    enum qp_config_backend backend;
    struct qp_config_list  batch_sizes; /* ascending buckets, each 1..QP_CONFIG_MAX_BATCH */
    uint32_t               threads;     /* 0 = one per core */
    float                  score_min;
    float                  iou;
    uint32_t               max_dets;
    uint32_t               warmup;
};

struct qp_config_stream {
    char                     name[QP_CONFIG_NAME_LEN];         /* the NAME of [stream.NAME] */
    char                     endpoint[QP_CONFIG_ENDPOINT_LEN]; /* required */
    enum qp_config_mode      mode;
    enum qp_config_transport transport;
    uint32_t                 width, height; /* expected image size; 0 = any */
    enum qp_config_pixel     pixel_format;
    bool                     enabled;
};

struct qp_config {
    struct qp_config_server server;
    struct qp_config_engine engine;
    int32_t                 n_streams;
    struct qp_config_stream streams[QP_CONFIG_MAX_STREAMS]; /* file order; unused slots zero */
};

/* Every setting at its default, no streams. Unused bytes are zero, so two
 * configurations built the same way compare equal with memcmp as well. */
void qp_config_init(struct qp_config *cfg);

/* Release what cfg holds (nothing today: all fields are fixed-size) and
 * reset it to qp_config_init's state. NULL is a no-op. */
void qp_config_fini(struct qp_config *cfg);

/* Defaults, then the INI text. name is used in messages ("name:line: ...");
 * text is a NUL-terminated string. Does not run qp_config_check. Errors:
 * QP_E_INVAL (syntax, unknown section or key, duplicate, bad value), with
 * "name:line: [section] ..." in err. On error cfg holds a partial result. */
enum qp_status qp_config_read_string(const char *text, const char *name, struct qp_config *cfg,
                                     struct qp_err *err);

/* As qp_config_read_string for the file at path (at most QP_CONFIG_FILE_MAX
 * bytes; a NUL byte is an error). QP_E_IO when it cannot be read. */
enum qp_status qp_config_read_file(const char *path, struct qp_config *cfg, struct qp_err *err);

/* read + qp_config_check: a configuration ready to serve, or an error. */
enum qp_status qp_config_load_string(const char *text, const char *name, struct qp_config *cfg,
                                     struct qp_err *err);
enum qp_status qp_config_load_file(const char *path, struct qp_config *cfg, struct qp_err *err);

/* One override: key is "server.KEY", "engine.KEY" or "stream.NAME.KEY"
 * (a new NAME adds a stream with default settings). The value goes through
 * the same parser and bounds as the file's; leading and trailing blanks are
 * ignored. On error (QP_E_INVAL) cfg is unchanged. Run qp_config_check after
 * the last override. */
enum qp_status qp_config_set(struct qp_config *cfg, const char *key, const char *value,
                             struct qp_err *err);

/* The value of one setting ("server.KEY", "engine.KEY", "stream.NAME.KEY")
 * as it would be written in a config file, into buf (truncated to n).
 * QP_E_INVAL for an unknown key or stream. */
enum qp_status qp_config_get(const struct qp_config *cfg, const char *key, char *buf, size_t n,
                             struct qp_err *err);

/* Required settings (engine path, at least one enabled stream, each stream's
 * endpoint, CURVE key files when curve is on) and cross-field rules (batch
 * sizes ascending; expected width and height both set or both 0; shm only
 * on same-host endpoints; sync window within max_age; no two sockets bind
 * the same endpoint or port). QP_E_INVAL naming the section and key. */
enum qp_status qp_config_check(const struct qp_config *cfg, struct qp_err *err);

/* Things an operator should hear about but that are allowed: a tcp:// bind
 * or the /metrics listener on a non-loopback address. Calls fn(ctx, msg)
 * for each (fn may be NULL) and returns how many there are; 0 means the
 * server listens on loopback and ipc:// only. */
typedef void (*qp_config_warn_fn)(void *ctx, const char *msg);
int32_t qp_config_warnings(const struct qp_config *cfg, qp_config_warn_fn fn, void *ctx);

/* Write every setting, defaults included, each under a "# doc" comment, as
 * a config file that qp_config_read_* turns back into an identical struct.
 * Returns QP_E_IO when writing fails. */
enum qp_status qp_config_print(const struct qp_config *cfg, FILE *f);

/* The stream named name, or NULL. Borrowed pointer into cfg. */
const struct qp_config_stream *qp_config_stream_find(const struct qp_config *cfg, const char *name);

/* ===== Introspection of the settings table (docs, tests, `ctl`) ===== */

struct qp_config_key {
    const char        *section; /* "server", "engine" or "stream" (every [stream.NAME]) */
    const char        *key;
    const char        *type;     /* "uint", "float", "bool", "string", "name", "enum", ... */
    const char        *def;      /* default as written in a config file; "" if none */
    const char        *doc;      /* one line */
    double             min, max; /* bounds of uint / float values and of list elements */
    const char *const *choices;  /* enum values, NULL-terminated; NULL for other types */
    bool               required;
};

int32_t qp_config_key_count(void);

/* Row i (0 <= i < qp_config_key_count()) in print order; false if i is out of range. */
bool qp_config_key_at(int32_t i, struct qp_config_key *out);
