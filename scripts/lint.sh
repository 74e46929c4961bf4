#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# lint.sh - cppcheck over our C: the general checks on every file (any
# finding fails), and the MISRA C:2012 addon over engine/core, proto and
# server. Every rule with findings needs its deviation, the reason the code
# keeps them, in scripts/lint/misra-deviations.txt: `style` where the house
# style itself contradicts the rule (early returns, unbraced bodies: not
# counted), `counted` where each finding is an exception, held to a ratchet:
# no (rule, file) may have more than scripts/lint/misra-baseline.txt records.
#
#   scripts/lint.sh                     check (exit 1 on any failure)
#   scripts/lint.sh --update-baseline   rewrite the baseline from this tree
#   scripts/lint.sh --table             the MISRA table of docs/reliability.md
#
# Needs the compilation database of a configured build (QP_BUILD_DIR, default
# build; scripts/test.sh configures it first) and its generated headers.
# Cppcheck's cache lives in that build dir (lint/), so reruns are quick.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=${QP_BUILD_DIR:-build}
LINT=scripts/lint
BASELINE=$LINT/misra-baseline.txt
DEVIATIONS=$LINT/misra-deviations.txt
MISRA_DIRS=(engine/core proto server)
mode=check

usage() { sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'; }
for arg in "$@"; do
    case $arg in
        --update-baseline) mode=update ;;
        --table) mode=table ;;
        -h|--help) usage; exit 0 ;;
        *) echo "lint.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
    esac
done

command -v cppcheck >/dev/null || { echo "lint.sh: cppcheck not found (scripts/setup.sh installs it)" >&2; exit 2; }
[ -f "$BUILD/compile_commands.json" ] ||
    { echo "lint.sh: $BUILD/compile_commands.json missing: configure $BUILD first (cmake -S . -B $BUILD)" >&2; exit 2; }

WORK="$BUILD/lint"
mkdir -p "$WORK/general" "$WORK/misra"
# Our C files only: generated protobuf-c code under the build dir is not ours.
python3 - "$BUILD/compile_commands.json" "$WORK/compile_commands.json" "$ROOT" <<'EOF'
import json, os, sys
src, dst, root = sys.argv[1:]
build = os.path.realpath(os.path.dirname(src))
ours = [e for e in json.load(open(src))
        if e["file"].endswith(".c")
        and not os.path.realpath(e["file"]).startswith(build + os.sep)]
json.dump(ours, open(dst, "w"), indent=1)
EOF

# The generated headers test libprotobuf-c's version with #error; cppcheck does
# not open system headers, so it is told the installed one (else it would skip
# every file that includes them). __GNUC__: the compiler we build with, so
# QP_NORETURN reads as the attribute cppcheck understands.
pbc=/usr/include/protobuf-c/protobuf-c.h
ver=$(sed -n 's/^#define PROTOBUF_C_VERSION_NUMBER[[:space:]]*\([0-9]*\).*/\1/p' "$pbc")
minc=$(sed -n 's/^#define PROTOBUF_C_MIN_COMPILER_VERSION[[:space:]]*\([0-9]*\).*/\1/p' "$pbc")
common=(--project="$WORK/compile_commands.json" --std=c11 --inline-suppr -q
        -D__GNUC__=12 -DPROTOBUF_C_VERSION_NUMBER="$ver" -DPROTOBUF_C_MIN_COMPILER_VERSION="$minc"
        -j"${QP_JOBS:-2}")
failed=0 misra_failed=0

if [ "$mode" = check ]; then
    echo "lint.sh: cppcheck $(cppcheck --version | cut -d' ' -f2) general checks, every file"
    cppcheck "${common[@]}" --cppcheck-build-dir="$WORK/general" \
        --enable=warning,style,performance,portability --library=posix --library=gnu \
        --suppressions-list=$LINT/cppcheck.supp --error-exitcode=1 \
        --template='{file}:{line}: {severity}: {id}: {message}' || failed=1
fi

# MISRA: findings as "rule file" lines, our files only, paths from the root.
filters=()
for d in "${MISRA_DIRS[@]}"; do filters+=(--file-filter="$d/*"); done
echo "lint.sh: MISRA C:2012 addon over ${MISRA_DIRS[*]}" >&2
if ! cppcheck "${common[@]}" --cppcheck-build-dir="$WORK/misra" --addon=misra "${filters[@]}" \
        --template='{file}:{line} {id}' 2> "$WORK/misra.raw"; then
    echo "lint.sh: the MISRA run of cppcheck failed" >&2
    exit 2
fi
sed -n "s|^$ROOT/||; /^$BUILD\//d; s|^\([^ ]*\):[0-9]* misra-c2012-\([0-9.]*\)$|\2 \1|p" "$WORK/misra.raw" |
    sort -V > "$WORK/misra.txt"
if grep -v ' misra-c2012-' "$WORK/misra.raw" | grep -v "^\($ROOT/\)\?$BUILD/" | grep -q .; then
    echo "lint.sh: cppcheck said more than MISRA findings during the MISRA run:" >&2
    grep -v ' misra-c2012-' "$WORK/misra.raw" >&2
    failed=1
fi
uniq -c "$WORK/misra.txt" | awk '{print $2, $3, $1}' > "$WORK/misra.counts"
bad_kind=$(awk '$1 !~ /^#/ && NF && $2 != "style" && $2 != "counted" { print $1 }' "$DEVIATIONS")
if [ -n "$bad_kind" ]; then
    echo "lint.sh: $DEVIATIONS: rules whose kind is not style or counted: ${bad_kind//$'\n'/ }" >&2
    exit 2
fi
# the (rule, file) counts the ratchet holds: those of counted rules
awk 'NR == FNR { if ($2 == "counted") c[$1] = 1; next } c[$1]' \
    "$DEVIATIONS" "$WORK/misra.counts" > "$WORK/misra.ratchet"

case $mode in
update)
    { echo "# misra-baseline.txt - MISRA C:2012 findings of the counted rules, per rule and"
      echo "# file, that scripts/lint.sh accepts (rule file count); scripts/lint.sh --update-baseline."
      cat "$WORK/misra.ratchet"; } > "$BASELINE"
    echo "lint.sh: $BASELINE: $(awk '{n += $3} END {print n + 0}' "$WORK/misra.ratchet") findings in $(wc -l < "$WORK/misra.ratchet") (rule, file) pairs"
    exit $failed ;;
table)
    echo "| Rule | Findings | Kind | Deviation (why the code keeps it) |"
    echo "|---|---:|---|---|"
    awk '{n[$1] += $3} END {for (r in n) print r, n[r]}' "$WORK/misra.counts" | sort -V |
        while read -r rule n; do
            printf '| %s | %s | %s |\n' "$rule" "$n" \
                "$(awk -v r="$rule" '$1 "" == r "" {k = $2; sub(/^[^ ]+ +[^ ]+ +/, ""); print k " | " $0}' \
                   "$DEVIATIONS")"
        done
    exit $failed ;;
esac

# The ratchet: more findings than the baseline for a (rule, file) fail and are
# listed; fewer are progress (lower the baseline with --update-baseline).
over=$(awk 'NR == FNR { if ($1 !~ /^#/) base[$1 " " $2] = $3; next }
            { k = $1 " " $2; if ($3 > base[k] + 0) print "  " k, $3 " > " base[k] + 0 }' \
        "$BASELINE" "$WORK/misra.ratchet")
if [ -n "$over" ]; then
    echo "lint.sh: MISRA findings above the baseline (rule file now > allowed):"
    echo "$over"
    while read -r rule file _; do
        sed "s|^$ROOT/||" "$WORK/misra.raw" | grep "^$file:[0-9]* misra-c2012-$rule\$" |
            sed 's/^/    /'
    done <<< "$over"
    misra_failed=1
fi
under=$(awk 'NR == FNR { now[$1 " " $2] = $3; next }
             $1 !~ /^#/ { if (now[$1 " " $2] + 0 < $3) n++ } END { print n + 0 }' \
        "$WORK/misra.ratchet" "$BASELINE")
[ "$under" -eq 0 ] ||
    echo "lint.sh: $under (rule, file) pairs now below the baseline: scripts/lint.sh --update-baseline"
missing=$(awk 'NR == FNR { if ($1 !~ /^#/) dev[$1] = 1; next } !dev[$1] { print $1 }' \
          "$DEVIATIONS" "$WORK/misra.counts" | sort -uV)
if [ -n "$missing" ]; then
    echo "lint.sh: MISRA rules with findings but no deviation in $DEVIATIONS: $missing"
    misra_failed=1
fi
stale=$(awk 'NR == FNR { seen[$1] = 1; next } $1 !~ /^#/ && !seen[$1] { print $1 }' \
        "$WORK/misra.counts" "$DEVIATIONS")
if [ -n "$stale" ]; then
    echo "lint.sh: deviations in $DEVIATIONS for rules without findings (delete them): ${stale//$'\n'/ }"
    misra_failed=1
fi
echo "lint.sh: MISRA: $(wc -l < "$WORK/misra.txt") findings of $(cut -d' ' -f1 "$WORK/misra.counts" | sort -u | wc -l) rules (counted rules: $(awk '{n += $3} END {print n + 0}' "$WORK/misra.ratchet")); within the baseline and deviated: $([ $misra_failed -eq 0 ] && echo yes || echo NO)"
[ $misra_failed -eq 0 ] && exit $failed
exit 1
