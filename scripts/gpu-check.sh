#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# gpu-check.sh - the device check: build the CUDA backend for the GPU that is
# present and run its tests there, in one command, on a bare machine.
#
#   scripts/gpu-check.sh OUTDIR
#
# Phases (each printed with a timestamp):
#   1. device: nvidia-smi's name, compute capability and driver; the build
#      targets exactly that architecture (9.0 -> QP_CUDA_ARCHS=90-real), or the
#      project's default without a GPU (QP_GPU_ARCHS overrides both);
#   2. deps: the system's pkg-config modules, protoc-c and onnx.proto when all
#      are there; else (or with QP_GPU_FORCE_PACK=1) every gpu-pack/debs/*.deb
#      unpacked with dpkg-deb -x into a private prefix (QP_GPU_DEPS_PREFIX,
#      default /tmp/qp-deps; never /), its .pc files rewritten to point into
#      it, and CMake pointed there (PKG_CONFIG_EXECUTABLE, PROTOC_C,
#      QP_ONNX_PROTO, CMAKE_PREFIX_PATH);
#   3. configure + build build-gpu/ (QP_GPU_BUILD_DIR): QP_CUDA=ON,
#      QP_WERROR=ON, Release, QP_MIRROR=gpu-pack/mirror when present. If only
#      the -Werror build fails, it builds again without -Werror so the device
#      tests still run, and the check fails;
#   4. ctest -L gpu (a skipped gpu test fails the check where a GPU exists);
#   5. bench: two INT8 engines built with the new CLI (calibrated on the
#      mirror's frames; --target cuda where a device is, so they carry its
#      GEMM algorithms, and --target cpu again if that build fails), then
#      bench_engine on YOLOX-Nano and NanoDet-m, FP32
#      and INT8, CPU (batch 1, all cores, few runs) and CUDA (batch 1 and 6,
#      six cameras; device present only);
#      skipped when less than BENCH_MIN_S of the budget is left;
#   6. compute-sanitizer memcheck and racecheck over each gpu test (device
#      present only), findings fail the check;
#   7. ctest -L unit (the CPU suites, last: CI runs them anyway; on this
#      host test_cpu_qgemm_vnni runs the VNNI kernels CI's CPUs lack), and
#      the INT8 GEMM kernels' GOPS on this CPU into OUTDIR/cpu-qgemm.txt.
# Writes OUTDIR/gpu-check.json (what ran, per test, and "ok"), gpu-bench.json
# (the timings), gpu-check.log (everything printed), ctest-gpu.xml and
# ctest-unit.xml (JUnit). Exit status 0 only when "ok": a GPU was present,
# every gpu test passed, every engine build and bench run that was started
# succeeded, the sanitizers were clean, no unit test failed and the -Werror
# build succeeded. Phases are cut to fit QP_GPU_CHECK_BUDGET_S (default 480 s)
# so the JSON is always written.
#
# On the device machine (the device tool copies the working tree; gpu-pack/
# is git-ignored and must be carried), after scripts/gpu-pack.sh here:
#   command   scripts/gpu-check.sh $OUT
#   carry     ["gpu-pack"]
#   timeout_s 540
# Commit what comes back under bench/results/gpu/ (docs/gpu.md).
# Here, without a GPU, the same command is a dry run: it builds and runs
# everything it can, the gpu tests skip, and "ok" is false ("no device").
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
if [ $# -ne 1 ]; then
    sed -n '3,6p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
mkdir -p "$1" || exit 2
OUTDIR=$(cd "$1" && pwd)
BUILD=${QP_GPU_BUILD_DIR:-build-gpu}
DEPS=${QP_GPU_DEPS_PREFIX:-/tmp/qp-deps}
BUDGET_S=${QP_GPU_CHECK_BUDGET_S:-480}
PACK=$ROOT/gpu-pack
JOBS=$(nproc)
T0=$(date +%s)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/qp-gpu-check.XXXXXX") || exit 2
trap 'rm -rf "$WORK"' EXIT

now() { date +%s; }
trim() { sed 's/^ *//; s/ *$//' <<<"$1"; }
first_exe() { # the first argument that is an executable file, or nothing
    local p
    for p in "$@"; do
        if [ -n "$p" ] && [ -x "$p" ]; then echo "$p"; return; fi
    done
}
# Seconds a phase may take: its cap, cut so that 20 s stay for the report.
budget() {
    local left=$((T0 + BUDGET_S - $(now) - 20))
    if [ "$left" -lt "$1" ]; then echo "$left"; else echo "$1"; fi
}
PHASE=""
PHASE_T=0
phase() {
    local t
    t=$(now)
    [ -z "$PHASE" ] || printf '%s\t%s\n' "$PHASE" "$((t - PHASE_T))" >>"$WORK/phases.tsv"
    PHASE=$1
    PHASE_T=$t
    [ "$1" = end ] || printf '\n======== %s (+%ss) %s ========\n' "$(date -u +%H:%M:%SZ)" "$((t - T0))" "$1"
}

# ---- 2. build dependencies -------------------------------------------------
have_system_deps() {
    command -v pkg-config >/dev/null 2>&1 &&
        pkg-config --exists libprotobuf-c libturbojpeg spng cunit 2>/dev/null &&
        command -v protoc-c >/dev/null 2>&1 && [ -f /usr/include/onnx/onnx.proto ]
}

# Rewrite prefix=/usr (and literal /usr paths) in the unpacked .pc files.
relocate_pc_files() {
    local f
    for f in "$DEPS"/usr/lib/*/pkgconfig/*.pc "$DEPS"/usr/lib/pkgconfig/*.pc "$DEPS"/usr/share/pkgconfig/*.pc; do
        [ -f "$f" ] || continue
        sed -i -E -e "s#^([A-Za-z_][A-Za-z0-9_.]*)=/usr(/|\$)#\1=$DEPS/usr\2#" \
                  -e "s#(-[IL])/usr/#\1$DEPS/usr/#g" "$f"
    done
}

# Wrappers that work from any environment: pkg-config sees only the pack's
# .pc files; both find the pack's shared libraries.
write_wrappers() {
    mkdir -p "$DEPS/wrap"
    cat >"$DEPS/wrap/pkg-config" <<EOF
#!/bin/sh
LD_LIBRARY_PATH="$LIBDIR\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" PKG_CONFIG_LIBDIR="$LIBDIR/pkgconfig:$DEPS/usr/share/pkgconfig" exec "$DEPS/usr/bin/pkgconf" "\$@"
EOF
    cat >"$DEPS/wrap/protoc-c" <<EOF
#!/bin/sh
LD_LIBRARY_PATH="$LIBDIR\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$DEPS/usr/bin/protoc-c" "\$@"
EOF
    chmod +x "$DEPS/wrap/pkg-config" "$DEPS/wrap/protoc-c"
}

unpack_pack() {
    local d
    case $DEPS in
        /*) ;;
        *) echo "gpu-check: QP_GPU_DEPS_PREFIX must be an absolute path"; return 1 ;;
    esac
    case ${DEPS%/} in
        ''|/usr|/usr/local|/opt|/tmp|/home|/root) echo "gpu-check: refusing prefix '$DEPS'"; return 1 ;;
    esac
    if ! ls "$PACK"/debs/*.deb >/dev/null 2>&1; then
        echo "gpu-check: no gpu-pack/debs/*.deb: run scripts/gpu-pack.sh and carry gpu-pack"
        return 1
    fi
    rm -rf "$DEPS" && mkdir -p "$DEPS" || return 1
    for d in "$PACK"/debs/*.deb; do
        if command -v dpkg-deb >/dev/null 2>&1; then
            dpkg-deb -x "$d" "$DEPS" || return 1
        else # no dpkg: a .deb is an ar archive holding data.tar.*
            (cd "$WORK" && rm -f data.tar.* && ar x "$d" && tar -xf data.tar.* -C "$DEPS") || return 1
        fi
    done
    local libdirs=("$DEPS"/usr/lib/*-linux-gnu) debs=("$PACK"/debs/*.deb)
    LIBDIR=${libdirs[0]}
    relocate_pc_files
    write_wrappers
    export PATH="$DEPS/wrap:$DEPS/usr/bin:$PATH"
    export LD_LIBRARY_PATH="$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export PKG_CONFIG_PATH="$LIBDIR/pkgconfig:$DEPS/usr/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    export PKG_CONFIG_LIBDIR="$LIBDIR/pkgconfig:$DEPS/usr/share/pkgconfig"
    DEP_ARGS=(-DPKG_CONFIG_EXECUTABLE="$DEPS/wrap/pkg-config" -DPROTOC_C="$DEPS/wrap/protoc-c"
              -DQP_ONNX_PROTO="$PACK/onnx/onnx.proto" -DCMAKE_PREFIX_PATH="$DEPS/usr")
    echo "gpu-check: unpacked ${#debs[@]} .debs into $DEPS"
    echo "gpu-check: pkg-config --cflags --libs libprotobuf-c: $(pkg-config --cflags --libs libprotobuf-c)"
    local v
    v=$(protoc-c --version 2>&1) || { echo "gpu-check: the pack's protoc-c does not run: $v"; return 1; }
    echo "gpu-check: protoc-c: ${v%%$'\n'*}"
}

deps_phase() {
    phase "deps"
    DEP_ARGS=()
    R_DEPS=system
    if [ "${QP_GPU_FORCE_PACK:-0}" = 1 ]; then
        echo "gpu-check: QP_GPU_FORCE_PACK=1: using gpu-pack/ even if the system has the packages"
        R_DEPS=pack
    elif ! have_system_deps; then
        echo "gpu-check: build dependencies missing from the system: using gpu-pack/"
        R_DEPS=pack
    else
        echo "gpu-check: build dependencies found on the system"
    fi
    if [ $R_DEPS = pack ] && ! unpack_pack; then
        R_FAIL="gpu-pack/ could not be unpacked"
        return 1
    fi
    return 0
}

# ---- 1. device ---------------------------------------------------------------
device_phase() {
    phase "device"
    R_GPU_NAME="" R_GPU_CC="" R_GPU_DRIVER=""
    local q="" cc archs=""
    local smi
    smi=$(first_exe "$(command -v nvidia-smi)" /usr/local/nvidia/bin/nvidia-smi)
    if [ -n "$smi" ]; then
        q=$("$smi" --query-gpu=name,compute_cap,driver_version --format=csv,noheader 2>&1) || q=""
    fi
    if [ -n "$q" ] && [[ $(head -n 1 <<<"$q") == *,*,* ]]; then
        IFS=, read -r R_GPU_NAME R_GPU_CC R_GPU_DRIVER <<<"$(head -n 1 <<<"$q")"
        R_GPU_NAME=$(trim "$R_GPU_NAME")
        R_GPU_CC=$(trim "$R_GPU_CC")
        R_GPU_DRIVER=$(trim "$R_GPU_DRIVER")
        # every distinct compute capability present, as N-real
        for cc in $(cut -d, -f2 <<<"$q" | tr -d ' .' | sort -u); do
            archs+="${archs:+;}${cc}-real"
        done
        echo "gpu-check: device $R_GPU_NAME, compute capability $R_GPU_CC, driver $R_GPU_DRIVER" \
             "($(wc -l <<<"$q") GPU(s))"
    else
        echo "gpu-check: no GPU (nvidia-smi missing or it listed none): the gpu tests will skip"
    fi
    R_ARCHS=${QP_GPU_ARCHS:-$archs}
    if [ -n "${QP_GPU_ARCHS:-}" ]; then echo "gpu-check: archs $R_ARCHS (QP_GPU_ARCHS)"
    elif [ -n "$R_ARCHS" ]; then echo "gpu-check: archs $R_ARCHS (this device only)"
    else echo "gpu-check: archs: the project's default (QP_CUDA_ARCHS)"
    fi
    if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
        export PATH="$PATH:/usr/local/cuda/bin"
    fi
    R_NVCC=$(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*, V[0-9.]*' || echo "")
    R_CMAKE=$(cmake --version | head -n 1 | awk '{print $3}')
    echo "gpu-check: nvcc ${R_NVCC:-not found}; cmake $R_CMAKE; ${JOBS} cores"
}

# ---- 3. configure + build ----------------------------------------------------
configure_build() { # $1: ON|OFF for QP_WERROR
    local gen=() archs=() t
    command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
    [ -n "$R_ARCHS" ] && archs=(-DQP_CUDA_ARCHS="$R_ARCHS")
    t=$(budget 120)
    if [ "$t" -lt 10 ]; then R_FAIL="out of time before configure"; return 1; fi
    if ! timeout -k 10 "$t" cmake --fresh -S . -B "$BUILD" "${gen[@]}" -DQP_CUDA=ON -DQP_WERROR="$1" \
            -DCMAKE_BUILD_TYPE=Release -DQP_MIRROR="$R_MIRROR" "${archs[@]}" "${DEP_ARGS[@]}"; then
        R_FAIL="configure failed"
        return 1
    fi
    t=$(budget 300)
    if [ "$t" -lt 10 ]; then R_FAIL="out of time before the build"; return 1; fi
    timeout -k 10 "$t" cmake --build "$BUILD" -j"$JOBS" && return 0
    local rc=$?
    if [ $rc = 124 ] || [ $rc = 137 ]; then R_FAIL="build timed out after $t s"; fi
    return $rc
}

# Where the build found its dependencies (paths, from the CMake cache).
record_cache() {
    local c=$BUILD/CMakeCache.txt k
    : >"$WORK/cache.tsv"
    for k in PKG_CONFIG_EXECUTABLE PROTOC_C QP_ONNX_PROTO PROTOBUF_C_INCLUDE_DIRS TURBOJPEG_INCLUDE_DIRS \
             SPNG_INCLUDE_DIRS CUNIT_INCLUDE_DIRS pkgcfg_lib_PROTOBUF_C_protobuf-c \
             pkgcfg_lib_TURBOJPEG_turbojpeg pkgcfg_lib_SPNG_spng pkgcfg_lib_CUNIT_cunit \
             CMAKE_CUDA_COMPILER QP_CUDA_ARCHS; do
        printf '%s\t%s\n' "$k" "$(grep -m1 "^$k:" "$c" 2>/dev/null | cut -d= -f2-)" >>"$WORK/cache.tsv"
    done
    echo "gpu-check: from $c:"
    sed 's/^/    /' "$WORK/cache.tsv"
}

build_phase() {
    phase "build"
    if [ -d "$PACK/mirror" ]; then R_MIRROR=$PACK/mirror; else R_MIRROR=${QP_MIRROR:-$ROOT/../shared}; fi
    echo "gpu-check: mirror $R_MIRROR"
    R_WERROR=passed
    if configure_build ON; then
        record_cache
        return 0
    fi
    [ -z "$R_FAIL" ] || return 1
    R_WERROR=failed
    echo "gpu-check: the QP_WERROR=ON build failed; building again with QP_WERROR=OFF so the tests still run"
    if configure_build OFF; then
        record_cache
        return 0
    fi
    R_FAIL="build failed (also without -Werror)"
    return 1
}

# ---- 4 + 7. ctest --------------------------------------------------------------
# ctest_label LABEL CAP_S [ctest args...]: output in $WORK/ctest-LABEL.txt, the
# tests ctest knows in $WORK/list-LABEL.txt.
ctest_label() {
    local label=$1 cap=$2 t junit=()
    shift 2
    ctest --test-dir "$BUILD" -N -L "$label" | sed -n 's/^ *Test *#[0-9]*: *//p' >"$WORK/list-$label.txt"
    t=$(budget "$cap")
    if [ "$t" -lt 10 ]; then
        echo "gpu-check: out of time: ctest -L $label not run"
        : >"$WORK/ctest-$label.txt"
        return
    fi
    if [ "$CTEST_JUNIT" = 1 ]; then junit=(--output-junit "$OUTDIR/ctest-$label.xml"); fi
    timeout -k 10 "$t" ctest --test-dir "$BUILD" -L "$label" --output-on-failure "${junit[@]}" "$@" \
        2>&1 | tee "$WORK/ctest-$label.txt"
    echo "gpu-check: ctest -L $label exit ${PIPESTATUS[0]}"
}

# ---- 5. bench -------------------------------------------------------------------
BENCH_MIN_S=150   # the phase runs only with this much of the budget left
BENCH_CAP_S=120   # and takes at most this long
BENCH_MODELS=(yolox_nano_416_coco nanodet_m_416_coco)
FRAMES=data/drives/udacity_solidWhiteRight/frames

# A command as the reports show it: the mirror as <mirror>, the repository's
# paths relative to it, a build directory elsewhere as <build>.
shown() {
    local a out=""
    for a in "$@"; do
        [ -z "$R_MIRROR" ] || a=${a/#"$R_MIRROR"/<mirror>}
        case $BUILD in /*) a=${a/#"$BUILD"/<build>} ;; esac
        a=${a/#"$ROOT"\//}
        out+="${out:+ }$a"
    done
    echo "$out"
}

# The same anywhere in a line of text.
scrub() {
    local a=$1
    [ -z "$R_MIRROR" ] || a=${a//"$R_MIRROR"/<mirror>}
    case $BUILD in /*) a=${a//"$BUILD"/<build>} ;; esac
    a=${a//"$ROOT"\//}
    echo "${a//"$ROOT"/.}"
}

# bench_cmd CAP LOG CMD...: run CMD (its output in LOG, of which the tail is
# printed) with a timeout of CAP s, cut to the phase's end. Sets B_STATUS (ok,
# failed, timeout; out_of_time when the phase's end, not CAP, stopped it),
# B_SECS and B_WHY (for what is not ok: the exit status and the output's last
# line); returns 0 only when ok.
bench_cmd() {
    local cap=$1 log=$2 t t1 rc
    shift 2
    t=$((BENCH_END - $(now)))
    [ "$t" -lt "$cap" ] || t=$cap
    B_SECS=0 B_WHY=""
    if [ "$t" -lt 5 ]; then
        echo "gpu-check: out of time: $(shown "$@") not run"
        B_STATUS=out_of_time B_WHY="not run: the phase's time was up"
        return 1
    fi
    echo "---- $(shown "$@")"
    t1=$(now)
    timeout -k 5 "$t" "$@" >"$log" 2>&1
    rc=$?
    B_SECS=$(($(now) - t1))
    if [ $rc = 0 ]; then B_STATUS=ok
    elif [ $rc = 124 ] || [ $rc = 137 ]; then
        if [ "$t" -lt "$cap" ]; then B_STATUS=out_of_time; else B_STATUS=timeout; fi
    else B_STATUS=failed
    fi
    tail -n "$([ $B_STATUS = ok ] && echo 3 || echo 40)" "$log"
    echo "---- $B_STATUS (exit $rc, $B_SECS s)"
    if [ $B_STATUS != ok ]; then
        B_WHY="exit $rc after $B_SECS s (limit $t s): $(tail -n 1 "$log" | tr '\t' ' ' | cut -c1-300)"
        B_WHY=$(scrub "$B_WHY")
    fi
    [ $B_STATUS = ok ]
}

bench_phase() {
    phase "bench"
    local left=$((T0 + BUDGET_S - $(now))) bw=$BUILD/gpu-bench m short prec be file why cmd=()
    : >"$WORK/bench-builds.tsv"
    : >"$WORK/bench-rows.tsv"
    R_BENCH_SKIP="" R_BENCH_FAIL=""
    if [ "$left" -lt "$BENCH_MIN_S" ]; then
        R_BENCH_SKIP="out of time: ${left} s of the budget left, the phase needs ${BENCH_MIN_S} s"
        write_bench
        return
    fi
    BENCH_END=$(($(now) + $(budget "$BENCH_CAP_S")))
    if ! { rm -rf "$bw" && mkdir -p "$bw"; }; then
        R_BENCH_FAIL="cannot create $(shown "$bw")"
        write_bench
        return
    fi
    # 1. the INT8 engines: for this GPU (its algorithms stored) where there
    # is one, for the CPU if that fails (the INT8 rows still get an engine)
    local target targets
    for m in "${BENCH_MODELS[@]}"; do
        short=${m%_416_coco}
        targets="cpu"
        [ -z "$R_GPU_NAME" ] || targets="cuda cpu"
        for target in $targets; do
            cmd=("$BUILD/qpercept" build "$R_MIRROR/models/$m.onnx" -o "$bw/${short}_int8.qpe"
                 --precision int8 --calib "$R_MIRROR/$FRAMES" --calib-images 8 --measure-images 4
                 --threads "$JOBS" --target "$target")
            bench_cmd 60 "$bw/$short-build-$target.log" "${cmd[@]}"
            printf '%s\t%s\t%s\t%s\t%s\n' "$m" "$B_STATUS" "$B_WHY" "$B_SECS" "$(shown "${cmd[@]}")" \
                >>"$WORK/bench-builds.tsv"
            [ "$B_STATUS" != ok ] || break
        done
    done
    # 2. every model, precision and backend (CUDA first: those numbers are
    # the point when time runs short)
    for m in "${BENCH_MODELS[@]}"; do
        short=${m%_416_coco}
        for prec in fp32 int8; do
            if [ $prec = fp32 ]; then file=$R_MIRROR/models/$m.onnx; else file=$bw/${short}_int8.qpe; fi
            for be in cuda cpu; do
                if [ $be = cuda ]; then
                    cmd=("$BUILD/bench/bench_engine" "$file" --batch 1,6 --runs 200 --warmup 20 --backend cuda)
                else
                    cmd=("$BUILD/bench/bench_engine" "$file" --runs 30 --warmup 3 --threads "$JOBS" --backend cpu)
                fi
                cmd+=(--json "$bw/$short-$prec-$be.json")
                why=""
                if [ $be = cuda ] && [ -z "$R_GPU_NAME" ]; then why="no device"
                elif [ $prec = int8 ] && [ ! -f "$file" ]; then why="no INT8 engine (its build did not succeed)"
                fi
                if [ -n "$why" ]; then
                    B_STATUS=skipped B_SECS=0
                    echo "---- skipped ($why): $(shown "${cmd[@]}")"
                else
                    bench_cmd 60 "$bw/$short-$prec-$be.log" "${cmd[@]}"
                    why=$B_WHY
                fi
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "$prec" "$be" "$B_STATUS" "$why" "$B_SECS" \
                    "$bw/$short-$prec-$be.json" "$(shown "${cmd[@]}")" >>"$WORK/bench-rows.tsv"
            done
        done
    done
    write_bench
}

# OUTDIR/gpu-bench.json from $WORK/bench-*.tsv and bench_engine's JSON files;
# the phase's status and reason into $WORK/bench-status.tsv.
write_bench() {
    if ! command -v python3 >/dev/null 2>&1; then
        printf 'failed\tpython3 missing: no gpu-bench.json\n' >"$WORK/bench-status.tsv"
        return
    fi
    export R_BENCH_SKIP R_BENCH_FAIL R_GPU_NAME R_GPU_CC R_GPU_DRIVER R_MIRROR R_CUDA_GRAPH ROOT WORK OUTDIR JOBS
    python3 - <<'EOF'
import json, os, platform, time
E = os.environ
work, root = E["WORK"], E["ROOT"]

def tsv(name):
    try:
        with open(os.path.join(work, name)) as f:
            return [l.rstrip("\n").split("\t") for l in f if l.strip()]
    except OSError:
        return []

def cpu_model():
    try:
        for l in open("/proc/cpuinfo"):
            if l.lower().startswith("model name"):
                return l.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None

builds = []
for m, st, why, secs, cmd in tsv("bench-builds.tsv"):
    b = {"model": m, "status": st}
    if why:
        b["reason"] = why
    builds.append(dict(b, seconds=int(secs), command=cmd))
rows = []
for m, prec, be, st, why, secs, path, cmd in tsv("bench-rows.tsv"):
    r = {"model": m, "precision": prec, "backend": be, "status": st}
    if st == "ok":
        try:
            with open(path) as f:
                j = json.load(f)
            r.update(runs=j["runs"], warmup=j["warmup"], threads=j["threads"],
                     **{k: j["ms"][k] for k in ("median", "p90", "p99", "mean", "min", "max")},
                     arena_bytes=j.get("arena_bytes"))
            # every batch size (the CUDA rows: 1 and 6, six cameras)
            r["batches"] = [{"batch": b["batch"], "images_per_s": b["images_per_s"],
                             **{k: b["ms"][k] for k in ("median", "p90", "p99")}}
                            for b in j.get("batches", [])]
            if j.get("backend") != be:
                r["status"], why = "failed", f'bench_engine ran on {j.get("backend")!r}, not {be!r}'
        except (OSError, ValueError, KeyError, TypeError) as ex:
            r["status"], why = "failed", f"bench_engine's JSON unreadable: {ex}"
    if why:
        r["reason"] = why
    r["seconds"] = int(secs)
    r["command"] = cmd
    rows.append(r)

ratios = []
for m in dict.fromkeys(r["model"] for r in rows):
    for prec in ("fp32", "int8"):
        med = {r["backend"]: r.get("median") for r in rows
               if r["model"] == m and r["precision"] == prec and r["status"] == "ok"}
        cpu, cuda = med.get("cpu"), med.get("cuda")
        ratios.append({"model": m, "precision": prec, "cpu_median_ms": cpu, "cuda_median_ms": cuda,
                       "cpu_over_cuda": round(cpu / cuda, 2) if cpu and cuda else None})

bad = [f'build {b["model"]} {b["status"]}' for b in builds if b["status"] not in ("ok", "out_of_time")]
bad += [f'{r["model"]} {r["precision"]} {r["backend"]} {r["status"]}' for r in rows
        if r["status"] not in ("ok", "skipped", "out_of_time")]
late = sum(x["status"] == "out_of_time" for x in builds + rows)
if E.get("R_BENCH_FAIL"):
    status, reason = "failed", E["R_BENCH_FAIL"]
elif E.get("R_BENCH_SKIP"):
    status, reason = "skipped", E["R_BENCH_SKIP"]
elif bad:
    status, reason = "failed", ", ".join(bad)
else:
    status, notes = "ok", []
    if any(r.get("reason") == "no device" for r in rows):
        notes.append("no device: cuda rows skipped")
    if late:
        notes.append(f"{late} commands not run or cut short by the phase's time limit")
    reason = "; ".join(notes) or None

graph = E.get("R_CUDA_GRAPH") == "true"
timed = ("bench_engine opens the engine, sets every input once (a fixed pseudo-random pattern; on "
         "CUDA that is the only host-to-device copy of it), runs --warmup untimed iterations, then "
         "times each of --runs calls of qp_engine_run with the monotonic clock. CPU: the whole graph "
         "on the thread pool (--threads: every core). CUDA: every node's kernels enqueued on one stream"
         + (" (the first run eagerly; after one has completed, the graph is captured once into a "
            "CUDA graph and each later run, every timed one included, is one graph launch; should "
            "capture fail the backend stays eager, logged at info level, which bench_engine does "
            "not print)" if graph else " with eager launches (no CUDA graph yet)")
         + ", then one stream synchronisation, a synchronous copy of the per-node saturation "
         "counters to the host, and each output's download (an asynchronous copy and a stream "
         "synchronisation per output). Not timed: opening the engine (on CUDA that includes the "
         "cuBLASLt algorithm selection), setting the inputs, pre-processing (decode, letterbox) and "
         "post-processing (box decoding, NMS). Batch 1, 416x416.")
device = None
if E.get("R_GPU_NAME"):
    device = {"name": E["R_GPU_NAME"], "compute_capability": E["R_GPU_CC"], "driver": E["R_GPU_DRIVER"]}
report = {
    "status": status,
    "reason": reason,
    "revision": E.get("R_REV") or "unknown",
    "revision_from": E.get("R_REV_FROM") if E.get("R_REV") else None,
    "dirty": {"true": True, "false": False}.get(E.get("R_DIRTY", "")),
    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "device": device,
    "cpu": {"model": cpu_model(), "cores": int(E["JOBS"])},
    "mirror": "gpu-pack/mirror" if E.get("R_MIRROR") == root + "/gpu-pack/mirror" else "<mirror>",
    "what_is_timed": timed,
    "cuda_graph": graph,
    "cuda_graph_from": "cuda/backend_cuda.c " + ("calls" if graph else "does not call")
                       + " cudaGraphLaunch",
    "runs_note": "cuda rows: 200 timed runs after 20 warm-up runs; cpu rows: 30 after 3, to keep "
                 "the phase short (so their p99 is the slowest run)",
    "builds": builds,
    "rows": rows,
    "ratios": ratios,
}
with open(os.path.join(E["OUTDIR"], "gpu-bench.json"), "w") as f:
    json.dump(report, f, indent=1)
    f.write("\n")
with open(os.path.join(work, "bench-status.tsv"), "w") as f:
    f.write(f"{status}\t{reason or ''}\n")
print(f"gpu-check: bench {status}" + (f" ({reason})" if reason else ""))
for r in rows:
    v = (f'median {r["median"]:.3f} ms, p90 {r["p90"]:.3f}, p99 {r["p99"]:.3f}' if "median" in r
         else r.get("reason", ""))
    print(f'    {r["model"]:20s} {r["precision"]:5s} {r["backend"]:5s} {r["status"]:11s} {v}')
for q in ratios:
    if q["cpu_over_cuda"] is not None:
        print(f'    {q["model"]:20s} {q["precision"]:5s} cpu/cuda median {q["cpu_over_cuda"]}')
EOF
}

# ---- 6. compute-sanitizer --------------------------------------------------------
# One line per gpu test: name, env assignments, command (shell-quoted).
gpu_test_commands() {
    ctest --test-dir "$BUILD" -L gpu --show-only=json-v1 | python3 -c '
import json, os, shlex, sys
for t in json.load(sys.stdin)["tests"]:
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    env = props.get("ENVIRONMENT", [])
    wd = props.get("WORKING_DIRECTORY", os.path.dirname(t["command"][0]))
    print("\t".join([t["name"], shlex.quote(wd), " ".join(shlex.quote(e) for e in env),
                     " ".join(shlex.quote(c) for c in t["command"])]))'
}

sanitizer_phase() {
    phase "sanitizers"
    : >"$WORK/sanitizers.tsv"
    R_SANITIZER=""
    if [ -z "$R_GPU_NAME" ]; then
        echo "gpu-check: no device: sanitizers not run"
        return
    fi
    R_SANITIZER=$(first_exe "$(command -v compute-sanitizer)" /usr/local/cuda/bin/compute-sanitizer \
                            /usr/local/cuda/compute-sanitizer/compute-sanitizer)
    if [ -z "$R_SANITIZER" ]; then
        echo "gpu-check: compute-sanitizer not found"
        return
    fi
    R_SANITIZER_VERSION=$("$R_SANITIZER" --version 2>&1 | grep -m1 -i 'version' || echo "")
    echo "gpu-check: $R_SANITIZER: $R_SANITIZER_VERSION"
    # The tests run side by side, each under memcheck then racecheck, so the
    # phase takes as long as the slowest test, not the sum (one GPU has room
    # for all; gpu tests must not share output files).
    local name wd envs cmd
    while IFS=$'\t' read -r name wd envs cmd; do
        sanitize_test "$name" "$wd" "$envs" "$cmd" &
    done < <(gpu_test_commands)
    wait
    while read -r name; do
        cat "$WORK/san-$name.txt" 2>/dev/null
        cat "$WORK/san-$name.tsv" >>"$WORK/sanitizers.tsv" 2>/dev/null
    done <"$WORK/list-gpu.txt"
}

# sanitize_test NAME DIR ENV CMD: memcheck, then racecheck; the output in
# $WORK/san-NAME.txt, one row per tool in $WORK/san-NAME.tsv.
sanitize_test() {
    local name=$1 wd=$2 envs=$3 cmd=$4 tool t rc errors status t1 out=$WORK/san-$1
    : >"$out.txt"
    : >"$out.tsv"
    for tool in memcheck racecheck; do
        t=$(budget 150)
        if [ "$t" -lt 10 ]; then
            printf '%s\t%s\tout_of_time\t\t\t0\n' "$name" "$tool" >>"$out.tsv"
            continue
        fi
        echo "---- compute-sanitizer --tool $tool $name" >>"$out.txt"
        t1=$(now)
        eval "(cd $wd && timeout -k 10 $t env $envs \"\$R_SANITIZER\" --tool $tool --error-exitcode 86 $cmd)" \
            >"$out.run" 2>&1
        rc=$?
        cat "$out.run" >>"$out.txt"
        errors=$(grep -o 'ERROR SUMMARY: [0-9]*' "$out.run" | tail -n 1 | awk '{print $3}')
        if grep -q 'Device not supported' "$out.run"; then status=unsupported
        elif [ $rc = 0 ] && [ "${errors:-0}" = 0 ]; then status=clean
        elif [ $rc = 86 ] || [ "${errors:-0}" != 0 ]; then status=errors
        elif [ $rc = 124 ] || [ $rc = 137 ]; then status=timeout
        elif [ $rc = 77 ]; then status=skipped
        else status=failed
        fi
        echo "---- $tool $name: $status (exit $rc, ${errors:-?} errors, $(($(now) - t1)) s)" >>"$out.txt"
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$tool" "$status" "$rc" "$errors" "$(($(now) - t1))" >>"$out.tsv"
    done
}

# ---- the report ------------------------------------------------------------------
# R_REV, R_DIRTY, R_REV_FROM (exported): what is built, read at the start;
# R_CUDA_GRAPH: whether the CUDA backend replays a CUDA graph (gpu-bench.json).
revision() {
    R_CUDA_GRAPH=false
    if grep -q 'cudaGraphLaunch' cuda/backend_cuda.c 2>/dev/null; then R_CUDA_GRAPH=true; fi
    R_REV=$(git rev-parse HEAD 2>/dev/null || echo "")
    R_DIRTY="" R_REV_FROM=git
    if [ -n "$R_REV" ]; then
        if [ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then R_DIRTY=false; else R_DIRTY=true; fi
    elif [ -f "$PACK/REVISION" ]; then # no .git here: what gpu-pack.sh saw
        R_REV=$(sed -n 's/^revision=//p' "$PACK/REVISION")
        R_DIRTY=$(sed -n 's/^dirty=//p' "$PACK/REVISION")
        R_REV_FROM="gpu-pack/REVISION, written $(sed -n 's/^packed=//p' "$PACK/REVISION")"
    fi
    export R_REV R_DIRTY R_REV_FROM
}

write_report() {
    phase end
    export R_DEPS R_FAIL R_GPU_NAME R_GPU_CC R_GPU_DRIVER R_ARCHS R_NVCC R_CMAKE R_WERROR R_SANITIZER
    export R_MIRROR ROOT DEPS WORK OUTDIR JOBS T0
    export R_SANITIZER_VERSION
    if ! command -v python3 >/dev/null 2>&1; then
        printf '{"ok": false, "reason": "python3 missing: no report; see gpu-check.log"}\n' >"$OUTDIR/gpu-check.json"
        return 1
    fi
    python3 - <<'EOF'
import json, os, platform, re, time
E = os.environ
work, root, deps = E["WORK"], E["ROOT"], E["DEPS"]

def rel(s):  # no machine paths in the report
    if not s:
        return s
    s = s.replace(deps, "<deps>") if E.get("R_DEPS") == "pack" else s
    return s.replace(root + "/", "").replace(root, ".")

def read(name):
    try:
        with open(os.path.join(work, name)) as f:
            return f.read()
    except OSError:
        return ""

LINE = re.compile(r"^\s*\d+/\d+\s+Test\s+#\d+:\s+(\S+)\s+\.*\s*(\*\*\*)?(.+?)\s+([0-9.]+)\s+sec\s*$")
def tests(label):
    seen = {}
    for line in read(f"ctest-{label}.txt").splitlines():
        m = LINE.match(line)
        if m:
            raw = m.group(3).strip()
            status = {"Passed": "passed", "Skipped": "skipped"}.get(raw, "failed")
            t = {"name": m.group(1), "status": status, "seconds": float(m.group(4))}
            if status == "failed":
                t["detail"] = raw
            seen[t["name"]] = t
    out = []
    for name in read(f"list-{label}.txt").split():
        out.append(seen.pop(name, {"name": name, "status": "not_run", "seconds": None}))
    return out + list(seen.values())

def counts(ts):
    c = {}
    for t in ts:
        c[t["status"]] = c.get(t["status"], 0) + 1
    return c

gpu, unit = tests("gpu"), tests("unit")
sanitizers = []
for line in read("sanitizers.tsv").splitlines():
    name, tool, status, rc, errors, secs = (line.split("\t") + [""] * 6)[:6]
    sanitizers.append({"test": name, "tool": tool, "status": status,
                       "exit": int(rc) if rc else None, "errors": int(errors) if errors else None,
                       "seconds": int(secs) if secs else None})
cache = dict(l.split("\t", 1) for l in read("cache.tsv").splitlines() if "\t" in l)
phases = {p: int(s) for p, s in (l.split("\t") for l in read("phases.tsv").splitlines())}
bench_status, bench_reason = (read("bench-status.tsv").rstrip("\n").split("\t") + ["", ""])[:2]
bench = {"status": bench_status or "not_run", "reason": bench_reason or None,
         "seconds": phases.get("bench"),
         "file": "gpu-bench.json" if os.path.exists(os.path.join(E["OUTDIR"], "gpu-bench.json")) else None}
device = None
if E.get("R_GPU_NAME"):
    device = {"name": E["R_GPU_NAME"], "compute_capability": E["R_GPU_CC"], "driver": E["R_GPU_DRIVER"]}

reasons = []
if E.get("R_FAIL"):
    reasons.append(E["R_FAIL"])
if device is None:
    reasons.insert(0, "no device")
if E.get("R_WERROR") == "failed" and not E.get("R_FAIL"):
    reasons.append("the QP_WERROR=ON build failed (tests ran on a build without -Werror)")
if device is not None and not E.get("R_FAIL"):
    if not gpu:
        reasons.append("no gpu tests")
    bad = [f'{t["name"]} {t["status"]}' for t in gpu if t["status"] != "passed"]
    if bad:
        reasons.append("gpu tests not passed: " + ", ".join(bad))
    if not E.get("R_SANITIZER"):
        reasons.append("compute-sanitizer not found")
    elif not sanitizers:
        reasons.append("no sanitizer runs")
    bad = [f'{s["tool"]} {s["test"]} {s["status"]}' for s in sanitizers if s["status"] != "clean"]
    if bad:
        reasons.append("sanitizers not clean: " + ", ".join(bad))
if bench_status == "failed":
    reasons.append("bench failed: " + bench_reason)
bad = [f'{t["name"]} {t["status"]}' for t in unit if t["status"] in ("failed", "not_run")]
if bad and not E.get("R_FAIL"):
    reasons.append("unit tests failed: " + ", ".join(bad))

osname = ""
try:
    osname = dict(l.rstrip().split("=", 1) for l in open("/etc/os-release") if "=" in l).get("PRETTY_NAME", "").strip('"')
except OSError:
    pass
report = {
    "ok": not reasons,
    "reason": "; ".join(reasons) or None,
    "revision": E.get("R_REV") or "unknown",
    "revision_from": E.get("R_REV_FROM") if E.get("R_REV") else None,
    "dirty": {"true": True, "false": False}.get(E.get("R_DIRTY", "")),
    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(E["T0"]))),
    "device": device,
    "host": {"os": osname, "kernel": platform.release(), "cores": int(E["JOBS"])},
    "nvcc": E.get("R_NVCC") or None,
    "cmake": E.get("R_CMAKE") or None,
    "cuda_archs": E.get("R_ARCHS") or "project default",
    "dependencies": E.get("R_DEPS"),
    "cache": {k: rel(v) for k, v in cache.items()},
    "werror_build": E.get("R_WERROR") or None,
    "mirror": "gpu-pack/mirror" if E.get("R_MIRROR") == root + "/gpu-pack/mirror" else "<mirror>",
    "gpu_tests": {"counts": counts(gpu), "tests": gpu},
    "bench": bench,
    "sanitizers": {"tool": rel(E.get("R_SANITIZER")) or None,
                   "version": E.get("R_SANITIZER_VERSION") or None, "runs": sanitizers},
    "unit_tests": {"counts": counts(unit), "tests": unit},
    "phases_seconds": phases,
    "total_seconds": int(time.time()) - int(E["T0"]),
}
with open(os.path.join(E["OUTDIR"], "gpu-check.json"), "w") as f:
    json.dump(report, f, indent=1)
    f.write("\n")
print(f'gpu-check: ok={str(report["ok"]).lower()}' + (f' ({report["reason"]})' if report["reason"] else ""))
print(f'gpu-check: gpu tests {counts(gpu)}, unit tests {counts(unit)}, sanitizer runs {len(sanitizers)},'
      f' {report["total_seconds"]} s')
raise SystemExit(0 if report["ok"] else 1)
EOF
}

main() {
    R_FAIL="" R_ARCHS="" R_WERROR="" R_SANITIZER="" R_SANITIZER_VERSION="" R_MIRROR="" R_GPU_NAME=""
    CTEST_JUNIT=0
    rm -f "$OUTDIR/gpu-bench.json" # written by the bench phase only
    revision
    echo "gpu-check: $(date -u +%Y-%m-%dT%H:%M:%SZ) in $ROOT, output in $OUTDIR, budget ${BUDGET_S} s"
    device_phase
    if deps_phase; then
        # --output-junit: ctest 3.21+
        if printf '%s\n3.21\n' "$(ctest --version | head -n 1 | awk '{print $3}')" | sort -V -C -r; then
            CTEST_JUNIT=1
        else
            echo "gpu-check: ctest older than 3.21: no JUnit files"
        fi
        if build_phase; then
            phase "ctest -L gpu"
            ctest_label gpu 150
            bench_phase
            sanitizer_phase
            phase "ctest -L unit"
            ctest_label unit 150 -j"$JOBS"
            # the host CPU's INT8 GEMM kernels, VNNI ones included where it
            # has them (their tests ran above as test_cpu_qgemm_vnni): GOPS
            phase "int8 gemm kernels of this CPU"
            timeout 60 "$BUILD/tests/test_cpu_qgemm" --vnni >"$OUTDIR/cpu-qgemm.txt" 2>&1
            grep -E "GOPS|skipped|Run Summary" -A2 "$OUTDIR/cpu-qgemm.txt" | grep -v "^--"
        fi
    fi
    phase "report"
    write_report
}

main 2>&1 | tee "$OUTDIR/gpu-check.log"
exit "${PIPESTATUS[0]}"
