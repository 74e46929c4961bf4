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

/* "cpu" | "cuda" | "auto" -> kind; false on anything else. */
bool        qp_cli_parse_backend(const char *s, enum qp_backend_kind *out);
/* Strict integer / float parsing of a whole string within [lo, hi]. */
bool        qp_cli_parse_int(const char *s, long lo, long hi, long *out);
bool        qp_cli_parse_float(const char *s, double lo, double hi, double *out);
/* The models manifest: $QP_MANIFEST, else models/zoo.ini beside the build or
 * install tree of this executable; NULL when none exists. */
const char *qp_cli_manifest(const char *argv0, char *buf, unsigned n);
/* Value of option argv[*i] (advancing *i), or NULL with a usage message. */
const char *qp_cli_value(int argc, char **argv, int *i);
