// SPDX-License-Identifier: Apache-2.0
#pragma once
/*
 * fuzz.h - what every fuzz target (tests/fuzz/fuzz_*.c) shares: the
 * libFuzzer entry points' prototypes, an oracle check that aborts (libFuzzer
 * and the corpus replay both report an abort as a crash), and a per-process
 * in-memory file for the parsers that take a path (.qpe, MCAP, ONNX inspect).
 *
 * Built two ways (tests/fuzz/CMakeLists.txt): with QP_FUZZ=ON, linked with
 * libFuzzer; otherwise with replay_main.c, which feeds every file of the
 * saved corpus to LLVMFuzzerTestOneInput under ctest.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An oracle of the target failed: a bug, reported as a crash. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz check failed at %s:%d: %s: ", __FILE__, __LINE__, #cond);        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Replace the contents of this process's memory file with data[0, n) and
 * return a path that opens it ("/proc/self/fd/N"); the file lives as long as
 * the process. Aborts when the file cannot be made (not an input's fault). */
static inline const char *fuzz_file(const uint8_t *data, size_t n)
{
    static int  fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("qp_fuzz", 0);
        FUZZ_CHECK(fd >= 0, "memfd_create");
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    FUZZ_CHECK(ftruncate(fd, 0) == 0, "ftruncate");
    for (size_t done = 0; done < n;) {
        ssize_t k = pwrite(fd, data + done, n - done, (off_t)done);
        FUZZ_CHECK(k > 0, "pwrite");
        done += (size_t)k;
    }
    return path;
}
