// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * cli_run.h - run the qpercept command (env QP_CLI) as a user does, for the
 * e2e suites that test it: stdout and stderr captured, exit status back.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "qpercept/status.h" /* QP_PRINTF */

/* Run the CLI with args (printf-style); stdout+stderr into out
 * (NUL-terminated, at most n - 1 bytes kept); its exit code, -1 when it
 * could not run or did not exit. */
static int cli(char *out, size_t n, const char *fmt, ...) QP_PRINTF(3, 4);
static int cli(char *out, size_t n, const char *fmt, ...)
{
    char    args[4096], cmd[6144];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", getenv("QP_CLI"), args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t k = fread(out, 1, n - 1, p);
    out[k]   = '\0';
    int rc   = pclose(p);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}
