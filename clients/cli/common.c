// SPDX-License-Identifier: Apache-2.0
/*
 * common.c - option parsing helpers and manifest lookup shared by the
 * qpercept subcommands (cli.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool qp_cli_parse_backend(const char *s, enum qp_backend_kind *out)
{
    static const struct {
        const char          *name;
        enum qp_backend_kind kind;
    } rows[] = {{"auto", QP_BACKEND_AUTO}, {"cpu", QP_BACKEND_CPU}, {"cuda", QP_BACKEND_CUDA}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (strcmp(s, rows[i].name) == 0) {
            *out = rows[i].kind;
            return true;
        }
    return false;
}

bool qp_cli_parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno  = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

bool qp_cli_parse_float(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno    = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

static bool exists(const char *p)
{
    return access(p, R_OK) == 0;
}

const char *qp_cli_manifest(const char *argv0, char *buf, unsigned n)
{
    const char *env = getenv("QP_MANIFEST");
    if (env && *env) {
        snprintf(buf, n, "%s", env);
        return exists(buf) ? buf : NULL;
    }
    char exe[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k <= 0) {
        snprintf(exe, sizeof exe, "%s", argv0);
        k = (ssize_t)strlen(exe);
    }
    exe[k]      = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(exe, sizeof exe, ".");
    /* build tree (build/qpercept -> models/zoo.ini), then install tree */
    static const char *const rel[] = {"/../models/zoo.ini", "/../share/qpercept/zoo.ini"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        snprintf(buf, n, "%s%s", exe, rel[i]);
        if (exists(buf))
            return buf;
    }
    return NULL;
}

const char *qp_cli_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "qpercept: option %s needs a value\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}
