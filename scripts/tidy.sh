#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tidy.sh - run clang-tidy with the checked-in .clang-tidy over our C files.
#
#   scripts/tidy.sh [FILE...]
#
# Takes every C file of ours in $QP_BUILD_DIR/compile_commands.json (default
# build/; engine/, server/, proto/, clients/, bench/, tests/, cuda/), each
# once, leaving out what the build generated (protobuf-c code, descriptor
# sets, the header-check stubs); FILE... narrows the run to those files.
# Runs QP_JOBS clang-tidy processes at a time (default 2), biggest files
# first. The rules are .clang-tidy (tests/.clang-tidy for tests/); every
# warning is an error there. Needs a configured build dir whose generated
# headers exist (any build of it does; scripts/test.sh runs this after its
# build). CLANG_TIDY picks the binary (default clang-tidy).
# Exit status: 0 when clean, 1 on any finding or a file clang-tidy could not
# compile, 2 when clang-tidy or the compilation database is missing.
# Output: the findings, then one summary line (files, findings per check,
# seconds).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=${QP_BUILD_DIR:-build}
JOBS=${QP_JOBS:-2}
TIDY=${CLANG_TIDY:-clang-tidy}

if ! command -v "$TIDY" > /dev/null; then
    echo "tidy.sh: $TIDY not found (Debian: apt-get install clang-tidy)"
    exit 2
fi
DB="$BUILD/compile_commands.json"
if [ ! -f "$DB" ]; then
    echo "tidy.sh: $DB missing; configure first: cmake -S . -B $BUILD"
    exit 2
fi
BUILD_ABS=$(cd "$BUILD" && pwd)
if [ ! -f "$BUILD_ABS/gen/proto/qpercept.pb-c.h" ]; then
    echo "tidy.sh: generated headers missing; build first: cmake --build $BUILD"
    exit 2
fi

# Our C files in the database, once each (some are compiled into two
# targets), biggest first so the slowest start early.
files=$(python3 - "$DB" "$ROOT" "$BUILD_ABS" "$@" << 'EOF'
import json, os, sys
db, root, build, only = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
ours = ('engine', 'server', 'proto', 'clients', 'bench', 'tests', 'cuda')
want = {os.path.realpath(f) for f in only}
seen = set()
for e in json.load(open(db)):
    f = os.path.realpath(os.path.join(e['directory'], e['file']))
    rel = os.path.relpath(f, root)
    if (f in seen or not f.endswith('.c') or f.startswith(build + os.sep)
            or rel.split(os.sep)[0] not in ours or (want and f not in want)):
        continue
    seen.add(f)
for f in sorted(seen, key=lambda f: -os.path.getsize(f)):
    print(f)
EOF
)
if [ -z "$files" ]; then
    echo "tidy.sh: no files to check in $DB"
    exit 1
fi
n_files=$(printf '%s\n' "$files" | wc -l)

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=$(date +%s)
# One clang-tidy per file, each writing FILE.log and, on failure, FILE.fail;
# findings go to stdout, the "N warnings generated" chatter to stderr.
export TIDY BUILD out
# shellcheck disable=SC2016 # the inner sh expands $1, $out and $TIDY
printf '%s\n' "$files" | xargs -d '\n' -P "$JOBS" -n 1 sh -c '
    log="$out/$(printf %s "$1" | tr / _).log"
    "$TIDY" -p "$BUILD" --quiet "$1" > "$log" 2> "$log.err" || {
        cat "$log.err" >> "$log"
        touch "$log.fail"
    }' tidy-one || true
secs=$(($(date +%s) - start))

n_failed=$(find "$out" -name '*.fail' | wc -l)
if [ "$n_failed" -eq 0 ]; then
    echo "tidy.sh: $n_files files clean in ${secs}s"
    exit 0
fi
for fail in "$out"/*.fail; do
    grep -v 'warnings\? generated\.$' "${fail%.fail}"
done
# Findings in a header show up once per file that includes it: count each
# location once.
summary=$(cat "$out"/*.log | grep -E '^/.*: (warning|error): .*\[[^]]+\]$' | sort -u |
    sed -E 's/.*\[([^],]+)[],].*/\1/' | sort | uniq -c | sort -rn |
    awk '{ printf "%s%s %d", sep, $2, $1; sep = ", " }')
echo "tidy.sh: FAILED: $n_failed of $n_files files: ${summary:-no diagnostics, see above} (${secs}s)"
exit 1
