// SPDX-License-Identifier: Apache-2.0
/*
 * test_deploy.c - the files in deploy/ as an operator installs them (sources
 * from env QP_SOURCE_DIR, the built server from env QP_SERVER):
 *   - `systemd-analyze verify` accepts deploy/qperceptd.service without a
 *     single line of output (any warning or error fails). The unit's
 *     ExecStart= names /usr/bin/qperceptd, which does not exist on a build
 *     machine and which verify reports as an error, so a temporary copy is
 *     verified whose ExecStart= names the built qperceptd instead; every other
 *     line is the shipped unit's. Without systemd-analyze the case is skipped
 *     (exit 77, even though the cases below passed: they do not call
 *     QP_TEST_RAN, so a missing verify shows as skipped, never as passed),
 *     except where skips must fail (QP_REQUIRE_DATA=1 as in tests/qp_test.h,
 *     or CI set): there it fails;
 *   - the unit's RuntimeDirectory= is where the default ipc:// endpoints live
 *     (server/config.c's defaults, as `qperceptd --print-config` shows them,
 *     and deploy/qperceptd.conf's values);
 *   - `qperceptd --check-config` accepts deploy/qperceptd.conf with only
 *     engine.path and the example stream's endpoint overridden.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qp_test.h"

static char src_dir[1024], server[1024], tmp_dir[1024];

static int setup(void)
{
    const char *s = getenv("QP_SOURCE_DIR"), *q = getenv("QP_SERVER");
    if (!s || !*s || !q || !*q) {
        fprintf(stderr, "QP_SOURCE_DIR and QP_SERVER must be set (ctest sets them)\n");
        return 1;
    }
    snprintf(src_dir, sizeof src_dir, "%s", s);
    snprintf(server, sizeof server, "%s", q);
    const char *t = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/qp_deploy_XXXXXX", t && *t ? t : "/tmp");
    return mkdtemp(tmp_dir) ? 0 : 1;
}

static int teardown(void)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    return system(cmd) == 0 ? 0 : 1;
}

/* Run cmd through the shell with stderr joined to stdout; its output into out
 * (NUL-terminated, at most n - 1 bytes); its exit status, -1 when it did not
 * run or exit. */
static int run(const char *cmd, char *out, size_t n)
{
    char full[8192];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p)
        return -1;
    size_t k = fread(out, 1, n - 1, p);
    out[k]   = '\0';
    while (fgetc(p) != EOF) /* drain what did not fit, so the child can exit */
        ;
    int rc = pclose(p);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* The whole of a small text file, malloc'd; NULL when it cannot be read. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char  *buf = malloc(1 << 20);
    size_t k   = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[k] = '\0';
    return buf;
}

/* The value of the first line "key=VALUE" (unit) or "key = VALUE" (config)
 * into out; false when there is none. */
static bool line_value(const char *text, const char *key, char *out, size_t n)
{
    size_t kl = strlen(key);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, key, kl) != 0)
            continue;
        const char *v = l + kl;
        while (*v == ' ')
            v++;
        if (*v != '=')
            continue;
        v++;
        while (*v == ' ')
            v++;
        size_t len = strcspn(v, "\n");
        snprintf(out, n, "%.*s", (int)len, v);
        return true;
    }
    return false;
}

/* Skips must fail where the project says so (qp_test.h's QP_REQUIRE_DATA=1,
 * as scripts/test.sh sets in CI) and wherever CI is set. */
static bool skips_fail(void)
{
    const char *req = getenv("QP_REQUIRE_DATA"), *ci = getenv("CI");
    return (req && req[0] == '1') || (ci && *ci);
}

static bool on_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path)
        return false;
    char buf[1024];
    for (const char *p = path; *p;) {
        size_t len = strcspn(p, ":");
        snprintf(buf, sizeof buf, "%.*s/%s", (int)len, len ? p : ".", prog);
        if (access(buf, X_OK) == 0)
            return true;
        p += len;
        if (*p == ':')
            p++;
    }
    return false;
}

static void test_unit_verifies(void)
{
    if (!on_path("systemd-analyze")) {
        if (skips_fail()) {
            CU_FAIL_FATAL("systemd-analyze is not installed (CI must verify the unit)");
        }
        QP_TEST_SKIP("systemd-analyze is not installed");
    }
    QP_TEST_RAN();
    char path[1200];
    snprintf(path, sizeof path, "%s/deploy/qperceptd.service", src_dir);
    char *unit = slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(unit);

    /* The copy: the file name is the unit name verify checks against. */
    char copy[1200];
    snprintf(copy, sizeof copy, "%s/qperceptd.service", tmp_dir);
    FILE *f = fopen(copy, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    const char *shipped  = "ExecStart=/usr/bin/qperceptd ";
    int         n_starts = 0;
    for (const char *l = unit; *l;) {
        size_t len = strcspn(l, "\n");
        if (strncmp(l, "ExecStart=", 10) == 0) {
            n_starts++;
            /* exactly the shipped binary, then the rest of the line kept */
            CU_ASSERT_EQUAL(strncmp(l, shipped, strlen(shipped)), 0);
            const char *rest = l + strlen(shipped) - 1;
            fprintf(f, "ExecStart=\"%s\"%.*s\n", server, (int)(len - (size_t)(rest - l)), rest);
        } else {
            fprintf(f, "%.*s\n", (int)len, l);
        }
        l += len;
        if (*l == '\n')
            l++;
    }
    fclose(f);
    CU_ASSERT_EQUAL(n_starts, 1);

    char cmd[2600], out[8192];
    snprintf(cmd, sizeof cmd, "systemd-analyze verify '%s'", copy);
    int rc = run(cmd, out, sizeof out);
    if (rc != 0 || out[0])
        fprintf(stderr, "systemd-analyze verify (exit %d):\n%s\n", rc, out);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(out, ""); /* no warning either */

    /* settings the server relies on */
    char v[256];
    CU_ASSERT(line_value(unit, "Type", v, sizeof v) && strcmp(v, "notify") == 0);
    CU_ASSERT(line_value(unit, "NotifyAccess", v, sizeof v) && strcmp(v, "main") == 0);
    CU_ASSERT(line_value(unit, "WatchdogSec", v, sizeof v) && v[0]);
    CU_ASSERT(line_value(unit, "ExecReload", v, sizeof v) &&
              strcmp(v, "/bin/kill -HUP $MAINPID") == 0);
    CU_ASSERT(line_value(unit, "LimitMEMLOCK", v, sizeof v) && strcmp(v, "infinity") == 0);
    CU_ASSERT(line_value(unit, "DevicePolicy", v, sizeof v) && strcmp(v, "closed") == 0);
    free(unit);
}

/* Every default ipc:// endpoint, in the server and in the shipped config,
 * lies in the unit's RuntimeDirectory=. */
static void test_runtime_directory(void)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/deploy/qperceptd.service", src_dir);
    char *unit = slurp(path);
    snprintf(path, sizeof path, "%s/deploy/qperceptd.conf", src_dir);
    char *conf = slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(unit);
    CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
    char rdir[256], prefix[300];
    CU_ASSERT_FATAL(line_value(unit, "RuntimeDirectory", rdir, sizeof rdir));
    snprintf(prefix, sizeof prefix, "ipc:///run/%s/", rdir);

    char cmd[2600], *printed = malloc(1 << 16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(printed);
    snprintf(cmd, sizeof cmd, "'%s' --config '%s' --print-config", server, path);
    CU_ASSERT_EQUAL(run(cmd, printed, 1 << 16), 0);
    const char *keys[] = {"control_endpoint", "publish_endpoint", "endpoint"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char v[512];
        CU_ASSERT(line_value(printed, keys[i], v, sizeof v) &&
                  strncmp(v, prefix, strlen(prefix)) == 0);
        CU_ASSERT(line_value(conf, keys[i], v, sizeof v) &&
                  strncmp(v, prefix, strlen(prefix)) == 0);
    }
    free(printed);
    free(unit);
    free(conf);
}

static void test_check_config(void)
{
    char model[1200], cmd[5200], out[8192];
    snprintf(model, sizeof model, "%s/model.qpe", tmp_dir);
    FILE *f = fopen(model, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "'%s' --config '%s/deploy/qperceptd.conf' --check-config --engine.path '%s' "
             "--stream.front.endpoint 'ipc://%s/front.frames'",
             server, src_dir, model, tmp_dir);
    int rc = run(cmd, out, sizeof out);
    if (rc != 0)
        fprintf(stderr, "%s\n", out);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "configuration OK (1 stream)"));
    /* nothing to warn about in the shipped file */
    CU_ASSERT_PTR_NULL(strstr(out, "<4>"));
}

static CU_TestInfo tests[] = {
    {"systemd-analyze verify deploy/qperceptd.service", test_unit_verifies},
    {"RuntimeDirectory= holds the default ipc:// endpoints", test_runtime_directory},
    {"qperceptd --check-config accepts deploy/qperceptd.conf", test_check_config},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"deploy", setup, teardown, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

QP_TEST_MAIN(suites)
