// SPDX-License-Identifier: Apache-2.0
/*
 * common.c - option parsing helpers, CURVE key files, manifest lookup and
 * model-spec loading shared by the qpercept subcommands (cli.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qpercept/detect.h"

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

const char *qp_cli_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "qpercept: option %s needs a value\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

bool qp_cli_read_key(const char *cmd, const char *opt, const char *path, char key[41])
{
    char  buf[256] = {0};
    FILE *f        = path ? fopen(path, "r") : NULL;
    if (!f) {
        fprintf(stderr, "qpercept %s: %s %s: %s\n", cmd, opt, path ? path : "(none)",
                path ? strerror(errno) : "needs a file");
        return false;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    (void)fclose(f);
    buf[n]  = '\0';
    char *p = buf;
    while (isspace((unsigned char)*p))
        p++;
    size_t k = 0;
    while (p[k] && !isspace((unsigned char)p[k]))
        k++;
    const char *rest = p + k;
    while (isspace((unsigned char)*rest))
        rest++;
    bool ok = k == 40 && !*rest;
    if (ok) {
        memcpy(key, p, 40);
        key[40] = '\0';
    } else {
        fprintf(stderr, "qpercept %s: %s %s: want one 40-character Z85 key\n", cmd, opt, path);
    }
    memset(buf, 0, sizeof buf); /* it may hold a secret key */
    return ok;
}

/* Flags that set one model-spec key each (detect.h qp_model_spec_set). */
static const struct {
    const char *flag, *key;
} spec_flags[] = {
    {"--size", "input"},      {"--color", "color"},     {"--resize", "resize"},
    {"--pad", "pad"},         {"--mean", "mean"},       {"--std", "std"},
    {"--head", "head"},       {"--strides", "strides"}, {"--reg-max", "reg_max"},
    {"--classes", "classes"}, {"--labels", "labels"},
};

const char *qp_cli_spec_key(const char *flag)
{
    for (size_t i = 0; i < sizeof spec_flags / sizeof spec_flags[0]; i++)
        if (strcmp(flag, spec_flags[i].flag) == 0)
            return spec_flags[i].key;
    return NULL;
}

enum qp_status qp_cli_load_spec(const char *model, const char *spec_file, const char *manifest,
                                const char *const *keys, const char *const *vals, int n_keys,
                                const char *argv0, struct qp_model_spec *s, struct qp_err *err)
{
    char           buf[4096];
    enum qp_status st = QP_OK;
    qp_model_spec_init(s);
    if (spec_file) {
        FILE *f = fopen(spec_file, "r");
        if (!f)
            return qp_fail(err, QP_E_IO, "%s: %s", spec_file, strerror(errno));
        for (int line = 1; st == QP_OK && fgets(buf, sizeof buf, f); line++) {
            char *eq = strchr(buf, '='), *end;
            if (buf[0] == '#' || buf[0] == ';' || !eq)
                continue;
            *eq       = '\0';
            char *key = buf, *val = eq + 1;
            while (*key == ' ' || *key == '\t')
                key++;
            for (end = eq - 1; end >= key && (*end == ' ' || *end == '\t'); end--)
                *end = '\0';
            while (*val == ' ' || *val == '\t')
                val++;
            val[strcspn(val, "\r\n")] = '\0';
            st                        = qp_model_spec_set(s, key, val, ".", err);
            if (st != QP_OK)
                qp_err_prefix(err, "%s:%d", spec_file, line);
        }
        (void)fclose(f);
    } else {
        const char *m = manifest ? manifest : qp_model_manifest(argv0, buf, sizeof buf);
        st            = qp_model_spec_find(model, m ? m : "models/zoo.ini", s, err);
        if (st != QP_OK && n_keys > 0) {
            qp_model_spec_fini(s); /* flags alone describe an unknown model */
            qp_model_spec_init(s);
            st = QP_OK;
        }
    }
    for (int i = 0; st == QP_OK && i < n_keys; i++)
        st = qp_model_spec_set(s, keys[i], vals[i], ".", err);
    return st;
}
