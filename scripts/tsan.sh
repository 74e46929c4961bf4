#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tsan.sh - the suites that run threads under ThreadSanitizer: the ctest
# label threads (tests/CMakeLists.txt says which: the engine's CPU thread
# pool, qperceptd's loop, worker and reload threads beside ZeroMQ's, the
# client library), in a build directory of their own.
#
#   1. configure build-tsan/ with -DQP_SANITIZE=thread -DQP_CUDA=OFF
#      -DQP_WERROR=ON, RelWithDebInfo (line numbers in the reports);
#   2. build only those suites (names from ctest -N -L threads) and the
#      qperceptd and qpercept they start;
#   3. ctest -L threads with halt_on_error=1 (the first report ends the
#      process with exitcode 66, so the suite fails) and the suppressions
#      of tests/tsan.supp (uninstrumented libraries' own threads only).
#      Every report also goes to a file under BUILD/tsan-logs (log_path):
#      qperceptd and the CLIs run as the suites' children, with stderr in a
#      temp dir the suite removes, and a suite that SIGKILLs its server
#      never sees its exit status; any file there fails the step and is
#      printed.
#
# die_after_fork=0: test_faults_process forks shared-memory cameras that
# start ZeroMQ threads in the child of a multi-threaded process, which TSan
# otherwise refuses (glibc's fork handlers keep malloc usable there).
# ASLR: the TSan runtime of GCC 12 knows a fixed memory layout and stops
# with "unexpected memory mapping" on kernels whose mmap randomisation
# (vm.mmap_rnd_bits, 32 on some newer kernels) places libraries outside it.
# A probe run of qperceptd says whether that happens; if so, the tests run
# under `setarch -R` (personality ADDR_NO_RANDOMIZE, no privilege needed,
# inherited by every child), not sysctl, which CI cannot change.
#
# Env: QP_TSAN_BUILD_DIR (build-tsan), QP_JOBS (2, build jobs). Exit status:
# 0 clean; 1 a test failed or a report was written; a failed configure or
# build stops the script with cmake's status. 2-core timings: docs/reliability.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
JOBS=${QP_JOBS:-2}
BUILD=${QP_TSAN_BUILD_DIR:-build-tsan}

section() { printf '\n======== %s ========\n' "$*"; }

section "configure + build: $BUILD/ (QP_SANITIZE=thread, QP_CUDA=OFF)"
t0=$SECONDS
cmake -S . -B "$BUILD" -DQP_WERROR=ON -DQP_CUDA=OFF -DQP_SANITIZE=thread \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
mapfile -t suites < <(ctest --test-dir "$BUILD" -N -L threads | sed -n 's/^ *Test *#[0-9]*: *//p')
if [ ${#suites[@]} -eq 0 ]; then
    echo "tsan.sh: no test carries the label threads" >&2
    exit 1
fi
cmake --build "$BUILD" -j"$JOBS" --target "${suites[@]}" qperceptd qpercept
echo "tsan.sh: configure + build took $((SECONDS - t0)) s"

BUILD_ABS=$(cd "$BUILD" && pwd)
LOGS=$BUILD_ABS/tsan-logs
rm -rf "$LOGS"
mkdir -p "$LOGS"
base_opts="halt_on_error=1 exitcode=66 second_deadlock_stack=1 die_after_fork=0"
base_opts+=" suppressions='$ROOT/tests/tsan.supp'"

# Can a TSan binary start here at all (see ASLR above)?
run=()
probe() { TSAN_OPTIONS="$base_opts" "$@" "$BUILD/qperceptd" --no-such-option 2>&1 || true; }
if probe | grep -q ThreadSanitizer; then
    if probe setarch "$(uname -m)" -R | grep -q ThreadSanitizer; then
        echo "tsan.sh: ThreadSanitizer cannot start here, even with setarch -R:" >&2
        probe setarch "$(uname -m)" -R >&2
        exit 1
    fi
    echo "tsan.sh: ThreadSanitizer needs ASLR off on this kernel: running under setarch -R"
    run=(setarch "$(uname -m)" -R)
fi

section "tests: $BUILD/, label threads (ThreadSanitizer): ${suites[*]}"
t0=$SECONDS
rc=0
TSAN_OPTIONS="$base_opts log_path='$LOGS/tsan'" "${run[@]}" \
    ctest --test-dir "$BUILD" --output-on-failure -L threads || rc=1
echo "tsan.sh: tests took $((SECONDS - t0)) s"

reports=("$LOGS"/tsan.*)
if [ -e "${reports[0]}" ]; then
    for f in "${reports[@]}"; do
        printf '\n---- %s (process %s) ----\n' "${f#"$ROOT"/}" "${f##*.}"
        cat "$f"
    done
    echo "tsan.sh: FAILED: ThreadSanitizer wrote ${#reports[@]} report file(s), above"
    rc=1
fi
[ $rc -eq 0 ] && echo "tsan.sh: threads suites clean under ThreadSanitizer"
exit $rc
