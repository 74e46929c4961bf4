// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * cli.h - what the qpercept subcommands share: the command signature, option
 * helpers, and where the models manifest is found.
 *
 * Each subcommand lives in its own cmd_<name>.c and is one row of the table
 * in main.c. Subcommands print results on stdout and errors on stderr (one
 * line naming what failed), and return the process exit status: 0 ok,
 * 1 failure, 2 usage error.
 */
#include <stdbool.h>

#include "qpercept/engine.h"

typedef int (*qp_cli_fn)(int argc, char **argv);

int qp_cli_run(int argc, char **argv);
int qp_cli_inspect(int argc, char **argv);
int qp_cli_eval(int argc, char **argv);
int qp_cli_build(int argc, char **argv);
int qp_cli_bench_engine(int argc, char **argv);
int qp_cli_ctl(int argc, char **argv);
int qp_cli_bench(int argc, char **argv);
int qp_cli_sub(int argc, char **argv);
int qp_cli_replay(int argc, char **argv);
int qp_cli_record(int argc, char **argv);

/* "cpu" | "cuda" | "auto" -> kind; false on anything else. */
bool qp_cli_parse_backend(const char *s, enum qp_backend_kind *out);
/* Strict integer / float parsing of a whole string within [lo, hi]. */
bool qp_cli_parse_int(const char *s, long lo, long hi, long *out);
bool qp_cli_parse_float(const char *s, double lo, double hi, double *out);
/* Value of option argv[*i] (advancing *i), or NULL with a usage message. */
const char *qp_cli_value(int argc, char **argv, int *i);
/* The CURVE key in file path (NULL: missing) into key[41]: 40 Z85
 * characters, blanks around them ignored, as the server's key files. False,
 * said on stderr as "qpercept CMD: OPT PATH: why", otherwise. Keys come from
 * files, never from the command line, which every user can read in /proc. */
bool qp_cli_read_key(const char *cmd, const char *opt, const char *path, char key[41]);

struct qp_model_spec;
/* The model-spec key a flag sets (--size -> "input", ... --labels ->
 * "labels"), or NULL when flag is not a spec flag. */
const char *qp_cli_spec_key(const char *flag);
/* A model's spec: from spec_file when given, else the manifest (manifest,
 * else qp_model_manifest) by sha256 or name, then keys[i] = vals[i] set over
 * it; with keys and no manifest entry, the keys alone describe the model.
 * *s needs no initialisation and is the caller's to qp_model_spec_fini. */
enum qp_status qp_cli_load_spec(const char *model, const char *spec_file, const char *manifest,
                                const char *const *keys, const char *const *vals, int n_keys,
                                const char *argv0, struct qp_model_spec *s, struct qp_err *err);

/* An image set (images.c): a directory, a list file, one image, or an
 * MCAP recording (images_mcap.c: its frames written as files into tmpdir). */
struct qp_cli_images {
    char  **paths;
    int32_t n;
    char   *tmpdir; /* MCAP: the directory of the frames' files, removed by free; else NULL */
};
/* List path into *l (what names the option in errors, e.g. "--calib"); at
 * most max images (<= 0: all), the first ones or, with spread, evenly
 * spaced over the set. */
enum qp_status qp_cli_images_list(const char *what, const char *path, int32_t max, bool spread,
                                  struct qp_cli_images *l, struct qp_err *err);
/* Free the list; an MCAP set's files and directory are removed. */
void qp_cli_images_free(struct qp_cli_images *l);
bool qp_cli_is_image_name(const char *name);
/* Add a copy of path to l. */
enum qp_status qp_cli_images_add(struct qp_cli_images *l, const char *path, struct qp_err *err);
/* Which of n items is the i-th of the max kept: i, or with spread i * n / max. */
int64_t qp_cli_images_pick(int64_t i, int64_t n, int64_t max, bool spread);
/* The frames of the MCAP recording at path into l (images_mcap.c). */
enum qp_status qp_cli_images_mcap(const char *path, int32_t max, bool spread,
                                  struct qp_cli_images *l, struct qp_err *err);
