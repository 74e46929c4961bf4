// SPDX-License-Identifier: Apache-2.0
/*
 * features.c - what the CPU can do, found once with cpuid (qp_cpu_features).
 *
 * A feature counts only when both the CPU has it and the OS saves the
 * register state it needs (XGETBV): YMM for AVX2/FMA/F16C, ZMM and opmask
 * for AVX-512. QP_CPU_REFERENCE=1 in the environment sets force_reference,
 * which makes every kernel take its plain C reference path. The answer is
 * computed once (pthread_once) and never changes for the process.
 * On non-x86 machines every SIMD flag is false.
 */
#include "cpu/cpu.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

static struct qp_cpu_features features;
static pthread_once_t         features_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__) || defined(__i386__)
static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static void detect(struct qp_cpu_features *f)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return;
    bool osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx)
        return;
    uint64_t xcr0   = xgetbv0();
    bool     ymm_os = (xcr0 & 0x6) == 0x6;   /* XMM and YMM state */
    bool     zmm_os = (xcr0 & 0xe6) == 0xe6; /* + opmask, ZMM_Hi256, Hi16_ZMM */
    if (!ymm_os)
        return;
    f->fma  = (c >> 12) & 1;
    f->f16c = (c >> 29) & 1;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return;
    f->avx2       = (b >> 5) & 1;
    f->avx512f    = zmm_os && ((b >> 16) & 1);
    f->avx512bw   = f->avx512f && ((b >> 30) & 1);
    f->avx512vl   = f->avx512f && ((b >> 31) & 1);
    f->avx512vnni = f->avx512f && ((c >> 11) & 1);
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d))
        f->avx_vnni = f->avx2 && ((a >> 4) & 1);
}
#else
static void detect(struct qp_cpu_features *f)
{
    (void)f;
}
#endif

static void init_features(void)
{
    memset(&features, 0, sizeof features);
    detect(&features);
    const char *ref          = getenv("QP_CPU_REFERENCE");
    features.force_reference = ref && strcmp(ref, "1") == 0;
}

const struct qp_cpu_features *qp_cpu_features(void)
{
    pthread_once(&features_once, init_features);
    return &features;
}
