// SPDX-License-Identifier: Apache-2.0
/*
 * replay_main.c - the corpus replay: a main() that feeds every file of the
 * given files and directories (directories in name order, not recursive) to
 * a fuzz target's LLVMFuzzerTestOneInput, once each, as libFuzzer would
 * with -runs=0. Linked with each tests/fuzz/fuzz_<target>.c into the ctest
 * tests fuzz_replay_<target> (label fuzz) when QP_FUZZ is off, so every
 * saved seed and crash input runs in the normal and the sanitizer builds.
 *
 * Exit 0 after the last input; 1 when an input cannot be read or none was
 * found (an empty corpus is a broken test, not a pass). A target that finds
 * a bug aborts (FUZZ_CHECK) or trips a sanitizer, which fails the test.
 * The input being run is printed first, so a failure names it.
 */
#include "fuzz.h" /* first: it sets _GNU_SOURCE (scandir, alphasort) */

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Targets without one leave it undefined. */
/* NOLINTNEXTLINE(readability-redundant-declaration): it adds the weak attribute */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static bool run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return false;
    }
    uint8_t *buf = NULL;
    size_t   n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap         = cap ? 2 * cap : 4096;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                fprintf(stderr, "replay: out of memory reading %s\n", path);
                free(buf);
                fclose(f);
                return false;
            }
            buf = nb;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0)
            break;
    }
    bool ok = !ferror(f);
    fclose(f);
    if (ok) {
        fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
        /* libFuzzer never passes a buffer with room past its end */
        uint8_t *exact = malloc(n ? n : 1);
        if (!exact) {
            free(buf);
            return false;
        }
        memcpy(exact, buf, n);
        LLVMFuzzerTestOneInput(exact, n);
        free(exact);
    } else {
        fprintf(stderr, "replay: read error on %s\n", path);
    }
    free(buf);
    return ok;
}

static int skip_hidden(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    int  n_run = 0;
    bool ok    = true;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: no such file or directory\n", argv[i]);
            ok = false;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            ok = run_file(argv[i]) && ok;
            n_run++;
            continue;
        }
        struct dirent **names = NULL;
        int             k     = scandir(argv[i], &names, skip_hidden, alphasort);
        if (k < 0) {
            fprintf(stderr, "replay: cannot list %s\n", argv[i]);
            ok = false;
            continue;
        }
        for (int j = 0; j < k; j++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], names[j]->d_name);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                ok = run_file(path) && ok;
                n_run++;
            }
            free(names[j]);
        }
        free(names);
    }
    if (n_run == 0) {
        fprintf(stderr, "replay: no inputs found in the arguments\n");
        return 1;
    }
    fprintf(stderr, "replay: %d inputs, %s\n", n_run, ok ? "all ran" : "some unreadable");
    return ok ? 0 : 1;
}
