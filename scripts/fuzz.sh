#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# fuzz.sh - run the libFuzzer targets of tests/fuzz and record what they did.
#
#   scripts/fuzz.sh [--smoke] [SECONDS per target, default 300] [TARGET...]
#
# 1. configures build-fuzz/ with clang and -DQP_FUZZ=ON (coverage, ASan,
#    UBSan; QP_FUZZ_BUILD_DIR renames it) and builds the targets;
# 2. makes the seed corpora (tests/fuzz/make_seeds.sh: synthetic, plus the
#    mirror's real files when QP_MIRROR / ../shared is there);
# 3. runs each target for SECONDS (-max_total_time) on its working corpus
#    (build-fuzz/fuzz/corpus/T, kept between runs), the seeds and the saved
#    corpus tests/fuzz/corpus/T; leaks, UB and oracle failures are crashes;
# 4. copies every crash input (crash-, leak-, timeout-, oom-) into
#    tests/fuzz/corpus/T/ as a regression input (ctest fuzz_replay_T replays
#    it from then on; fix the bug, then commit the input);
# 5. writes executions and coverage (libFuzzer's final cov: / ft:) per target
#    to bench/results/fuzz.json and prints the table of docs/reliability.md.
#    --smoke (scripts/test.sh) skips the seed generator (the saved corpus
#    only) and the JSON: a short run only looks for crashes. --report: no build and no runs, only step 5 again from the
#    last run's logs (build-fuzz/fuzz/T.log; SECONDS as that run's).
# Exit status: 0 when no target crashed, 1 when one did, 2 when libFuzzer
# (clang with libclang_rt.fuzzer) is missing. Targets: wire config onnx qpe
# mcap image (all by default).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SMOKE=0 REPORT=0
case ${1:-} in
--smoke) SMOKE=1 && shift ;;
--report) REPORT=1 && shift ;;
esac
SECS=${1:-300}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(wire config onnx qpe mcap image)
BUILD=${QP_FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${QP_JOBS:-$(nproc)}
CC_FUZZ=${QP_FUZZ_CC:-clang}

# ---- libFuzzer present? (Debian: clang + libclang-rt-dev's libclang_rt.fuzzer)
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
    > "$probe/p.c"
if ! command -v "$CC_FUZZ" > /dev/null || ! "$CC_FUZZ" -fsanitize=fuzzer "$probe/p.c" -o "$probe/p" 2> /dev/null; then
    echo "fuzz.sh: $CC_FUZZ with libFuzzer (-fsanitize=fuzzer) is not available"
    exit 2
fi

if [ "$REPORT" -eq 0 ]; then
# ---- build
CC="$CC_FUZZ" cmake -S . -B "$BUILD" -DQP_FUZZ=ON -DQP_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
# a smoke run starts from the saved corpus only: no seed generator (it links the engine)
seeds=(qp_fuzz_seeds)
[ "$SMOKE" -eq 0 ] || seeds=()
cmake --build "$BUILD" -j"$JOBS" --target "${seeds[@]}" "${TARGETS[@]/#/fuzz_}" > "$BUILD/fuzz_build.log" 2>&1 ||
    { tail -30 "$BUILD/fuzz_build.log"; exit 1; }

# ---- seeds
rm -rf "$BUILD/fuzz/seeds"
[ "$SMOKE" -eq 1 ] || tests/fuzz/make_seeds.sh "$BUILD" "$BUILD/fuzz/seeds"

fi

# ---- runs
rows=()
crashed=0
for t in "${TARGETS[@]}"; do
    corpus="$BUILD/fuzz/corpus/$t" art="$BUILD/fuzz/artifacts/$t" log="$BUILD/fuzz/$t.log"
    mkdir -p "$corpus" "$art" "tests/fuzz/corpus/$t" "$BUILD/fuzz/seeds/$t"
    [ "$REPORT" -eq 1 ] || rm -f "$art"/*
    # libFuzzer's default -max_len stops at 1 MiB, which would cut the real models and
    # engines (a few MiB) short: those targets take whole files
    maxlen=()
    case $t in onnx | qpe) maxlen=(-max_len=$((8 << 20))) ;; esac
    cmd=("$BUILD/tests/fuzz/fuzz_$t" -max_total_time="$SECS" -print_final_stats=1 -timeout=10
         -rss_limit_mb=2560 "${maxlen[@]}" -artifact_prefix="$art/" "$corpus" "$BUILD/fuzz/seeds/$t"
         "tests/fuzz/corpus/$t")
    echo "fuzz.sh: $t for ${SECS}s: ${cmd[*]}"
    rc=0
    if [ "$REPORT" -eq 0 ]; then
        ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "${cmd[@]}" > "$log" 2>&1 || rc=$?
    fi
    execs=$(awk '/^stat::number_of_executed_units/ {print $NF}' "$log" | tail -1)
    rate=$(awk '/^stat::average_exec_per_sec/ {print $NF}' "$log" | tail -1)
    init=$(grep -Eo 'INITED cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 | awk '{print $3 "/" $5}')
    last=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 | awk '{print $2 " " $4}')
    units=$(find "$corpus" -type f | wc -l)
    found=()
    for a in "$art"/*; do
        [ -f "$a" ] || continue
        dst="tests/fuzz/corpus/$t/$(basename "$a")"
        cp "$a" "$dst"
        found+=("$dst")
    done
    if [ "$rc" -ne 0 ] || [ ${#found[@]} -gt 0 ]; then
        crashed=1
        echo "fuzz.sh: $t FAILED (exit $rc); regression inputs: ${found[*]:-none}; log $log"
        grep -E 'ERROR|SUMMARY|fuzz check failed|runtime error' "$log" | head -5 || true
    fi
    rows+=("$t ${execs:-0} ${rate:-0} ${last:-0 0} ${init:-0/0} $units ${#found[@]} $rc")
done

# ---- record
commit=$(git rev-parse --short HEAD 2> /dev/null || echo unknown)
printf '\n| target | executions | exec/s | cov (edges) | ft (features) | seeds cov/ft | corpus | crashes |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for r in "${rows[@]}"; do
    read -r t execs rate cov ft init units nfound rc <<< "$r"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$t" "$execs" "$rate" "$cov" "$ft" \
        "$init" "$units" "$nfound"
done
if [ "$SMOKE" -eq 0 ]; then
    out=bench/results/fuzz.json
    {
        printf '{\n  "command": "scripts/fuzz.sh %s %s",\n' "$SECS" "${TARGETS[*]}"
        printf '  "commit": "%s",\n  "date": "%s",\n  "seconds_per_target": %s,\n' "$commit" \
            "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$SECS"
        printf '  "compiler": "%s",\n  "targets": [\n' "$("$CC_FUZZ" --version | head -1)"
        sep=""
        for r in "${rows[@]}"; do
            read -r t execs rate cov ft init units nfound rc <<< "$r"
            printf '%s    {"target": "%s", "executions": %s, "exec_per_sec": %s, "cov": %s, "ft": %s, "seed_cov_ft": "%s", "corpus_units": %s, "crashes": %s, "exit": %s}' \
                "$sep" "$t" "$execs" "$rate" "$cov" "$ft" "$init" "$units" "$nfound" "$rc"
            sep=$',\n'
        done
        printf '\n  ]\n}\n'
    } > "$out"
    echo "fuzz.sh: wrote $out"
fi
exit $crashed
