// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz_config.c - fuzz target: qperceptd's configuration file
 * (server/config.h) read the way the daemon reads it (qp_config_read_file:
 * size cap, NUL bytes refused, then the INI parser and every row's bounds),
 * then the cross-field checks and the warnings.
 *
 * Oracle: a file that reads and checks must print (--print-config) to a
 * text that reads back into an identical struct (memcmp: config.h promises
 * zeroed unused bytes), and the printed text must itself pass the checks.
 */
#include "fuzz.h"

#include <string.h>

#include "server/config.h"

static struct qp_config cfg, back; /* ~40 KiB each */

static void count_warning(void *ctx, const char *msg)
{
    (*(int32_t *)ctx)++;
    FUZZ_CHECK(msg && msg[0], "an empty warning");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > QP_CONFIG_FILE_MAX + 1) /* the reader refuses bigger files unread */
        return 0;
    struct qp_err  err = {{0}};
    enum qp_status st  = qp_config_read_file(fuzz_file(data, size), &cfg, &err);
    if (st != QP_OK) {
        FUZZ_CHECK(st == QP_E_INVAL, "status %d: %s", (int)st, err.msg);
        FUZZ_CHECK(err.msg[0], "a refused file without a reason");
        return 0;
    }
    if (qp_config_check(&cfg, &err) != QP_OK) {
        FUZZ_CHECK(err.msg[0], "a refused configuration without a reason");
        return 0;
    }
    int32_t n = 0;
    FUZZ_CHECK(qp_config_warnings(&cfg, count_warning, &n) == n, "warnings miscounted");

    char  *text = NULL;
    size_t len  = 0;
    FILE  *f    = open_memstream(&text, &len);
    FUZZ_CHECK(f, "open_memstream");
    FUZZ_CHECK(qp_config_print(&cfg, f) == QP_OK, "print");
    fclose(f);
    st = qp_config_read_string(text, "printed", &back, &err);
    if (st != QP_OK)
        fprintf(stderr, "printed configuration:\n%s\n", text);
    FUZZ_CHECK(st == QP_OK, "the printed configuration does not read back: %s", err.msg);
    bool same = memcmp(&cfg, &back, sizeof cfg) == 0;
    if (!same)
        fprintf(stderr, "printed configuration:\n%s\n", text);
    free(text);
    FUZZ_CHECK(same, "the printed configuration reads back different");
    FUZZ_CHECK(qp_config_check(&back, &err) == QP_OK, "printed, no longer checks: %s", err.msg);
    qp_config_fini(&cfg);
    qp_config_fini(&back);
    return 0;
}
