#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test.sh - the test command of the README, and what CI runs (.ci/run).
#
#   1. scripts/setup.sh (packages + .venv);
#   2. build/ with -DQP_WERROR=ON -DQP_CUDA=AUTO (every .cu compiles where
#      nvcc exists), then ctest -L 'unit|e2e|fuzz' (fuzz: the saved fuzz
#      corpora replayed, tests/fuzz);
#   3. scripts/lint.sh over build/'s compilation database: cppcheck's
#      general checks (any finding fails) and its MISRA C:2012 addon over
#      engine/core, proto and server against the ratchet of scripts/lint/;
#      then scripts/tidy.sh: clang-tidy with .clang-tidy on the same files
#      (tests/ without the static analyzer);
#   4. build-asan/ with -DQP_SANITIZE=address,undefined -DQP_CUDA=OFF, then
#      the unit, e2e and fuzz labels again with leak detection on;
#   5. build-tsan/ with -DQP_SANITIZE=thread -DQP_CUDA=OFF: the suites of
#      the ctest label threads (thread pool, qperceptd's threads, clients)
#      under ThreadSanitizer (scripts/tsan.sh; a failed TSan build counts as
#      a failed step);
#   6. a short libFuzzer smoke run (scripts/fuzz.sh --smoke,
#      QP_FUZZ_SMOKE_SECS per target, default 20) of the targets that build
#      without the engine (wire, config, mcap; QP_FUZZ_SMOKE_TARGETS), in
#      build-fuzz/, skipped with a line where clang's libFuzzer is missing;
#      the engine's targets (onnx, qpe, image) run from scripts/fuzz.sh.
# Sized for CI: 2 cores (QP_JOBS, default 2), 90 minutes in all; the whole
# script took 51 minutes on such a machine (2026-11-30, from a clean clone, with the
# mirror, a clang-tidy job running beside it). Every step runs even after a
# failed test step, so one run reports everything; the exit status is
# non-zero when anything failed. A build failure stops the script.
# Env: QP_BUILD_DIR / QP_ASAN_BUILD_DIR / QP_TSAN_BUILD_DIR rename the build
# directories.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
JOBS=${QP_JOBS:-2}
BUILD=${QP_BUILD_DIR:-build}
ASAN_BUILD=${QP_ASAN_BUILD_DIR:-build-asan}
TSAN_BUILD=${QP_TSAN_BUILD_DIR:-build-tsan}
failed=()

section() { printf '\n======== %s ========\n' "$*"; }

# With the mirror of real models and frames present (as in CI), a test that
# skips for missing data is a failure, not a silent pass (tests/qp_test.h).
MIRROR=${QP_MIRROR:-$ROOT/../shared}
if [ -d "$MIRROR/models" ] && [ -d "$MIRROR/data" ]; then
    export QP_REQUIRE_DATA=1
    echo "test.sh: mirror $MIRROR present: skipped tests fail (QP_REQUIRE_DATA=1)"
fi

section "setup (scripts/setup.sh)"
if ! scripts/setup.sh; then
    echo "test.sh: setup.sh failed; continuing, tests that need what is missing fail or skip"
    failed+=("setup")
fi

section "configure + build: $BUILD/ (QP_WERROR=ON, QP_CUDA=AUTO)"
cmake -S . -B "$BUILD" -DQP_WERROR=ON -DQP_CUDA=AUTO
cmake --build "$BUILD" -j"$JOBS"

section "tests: $BUILD/, labels unit|e2e|fuzz"
if ! ctest --test-dir "$BUILD" --output-on-failure -L 'unit|e2e|fuzz'; then
    failed+=("unit|e2e|fuzz tests")
fi

section "static analysis: scripts/lint.sh (cppcheck general + MISRA C:2012 ratchet)"
if ! QP_BUILD_DIR="$BUILD" QP_JOBS="$JOBS" scripts/lint.sh; then
    failed+=("cppcheck (scripts/lint.sh)")
fi

section "static analysis: scripts/tidy.sh (clang-tidy, .clang-tidy)"
if ! QP_BUILD_DIR="$BUILD" QP_JOBS="$JOBS" scripts/tidy.sh; then
    failed+=("clang-tidy (scripts/tidy.sh)")
fi

section "configure + build: $ASAN_BUILD/ (QP_SANITIZE=address,undefined, QP_CUDA=OFF)"
cmake -S . -B "$ASAN_BUILD" -DQP_WERROR=ON -DQP_CUDA=OFF -DQP_SANITIZE=address,undefined
cmake --build "$ASAN_BUILD" -j"$JOBS"

section "tests: $ASAN_BUILD/, labels unit|e2e|fuzz (ASan + UBSan, leak detection on)"
if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --test-dir "$ASAN_BUILD" --output-on-failure -L 'unit|e2e|fuzz'; then
    failed+=("sanitizer tests")
fi

section "ThreadSanitizer: scripts/tsan.sh ($TSAN_BUILD/, label threads)"
if ! QP_TSAN_BUILD_DIR="$TSAN_BUILD" QP_JOBS="$JOBS" scripts/tsan.sh; then
    failed+=("tsan tests")
fi

smoke_targets=${QP_FUZZ_SMOKE_TARGETS:-wire config mcap}
section "fuzz smoke run (scripts/fuzz.sh --smoke ${QP_FUZZ_SMOKE_SECS:-20} $smoke_targets)"
fuzz_rc=0
# shellcheck disable=SC2086 # a list of target names
scripts/fuzz.sh --smoke "${QP_FUZZ_SMOKE_SECS:-20}" $smoke_targets || fuzz_rc=$?
if [ "$fuzz_rc" -eq 2 ]; then
    echo "test.sh: fuzz smoke run SKIPPED: clang with libFuzzer not found"
elif [ "$fuzz_rc" -ne 0 ]; then
    failed+=("fuzz smoke run")
fi

section "result"
if [ ${#failed[@]} -gt 0 ]; then
    printf 'test.sh: FAILED: %s\n' "${failed[@]}"
    exit 1
fi
echo "test.sh: all passed"
