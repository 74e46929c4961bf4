#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# test_deb.sh - the Debian package as an integrator installs it: build it with
# CPack, check what is in it, install it with the real dpkg into a scratch root
# (never the running system), run what it installed, remove it, purge it.
#
#   tests/pkg/test_deb.sh [BUILD_DIR]      (default: build; configured already)
#
# Steps, each failing the script with a message naming what was wrong:
#   1. cpack -G DEB in BUILD_DIR (builds what is out of date first);
#      `cmake --install` with DESTDIR lays out the same files as the package.
#   2. dpkg-deb -c / -I: every file where docs/operations.md says, nothing
#      else; conffiles lists /etc/qpercept/qperceptd.conf; postinst, prerm and
#      postrm present, mode 0755, `sh -n` clean; Depends names the shared
#      libraries the binaries link, each installed here at a version that
#      satisfies it (so it is no made-up list).
#   3. dpkg --root=SCRATCH --force-script-chrootless -i, with DPKG_ROOT set as
#      dpkg sets it: the maintainer scripts run for real (deb-systemd-helper
#      enables the unit inside SCRATCH) and must not touch this system
#      (/etc/systemd/system and deb-systemd-helper's state are compared before
#      and after). --force-depends: the scratch root's dpkg database is empty.
#   4. the unit: ExecStart= names the installed qperceptd and its config;
#      `systemd-analyze verify` of a copy whose ExecStart= points into SCRATCH
#      prints nothing (skipped without systemd-analyze).
#   5. the installed binaries (from SCRATCH, not under systemd; the mirror's
#      YOLOX-Nano, $QP_MIRROR/models, default ../shared of the repository):
#      `qpercept build` finds the model's spec in the installed manifest
#      (SCRATCH/usr/share/qpercept/zoo.ini) and writes an engine;
#      `qperceptd --check-config` accepts the installed config with only
#      engine.path overridden; qperceptd starts from the installed config
#      (sockets, port and engine overridden into the scratch dir) on the ONNX
#      file, whose spec it too finds in the installed manifest; `qpercept ctl
#      ENDPOINT status` says serving the manifest's model; /metrics answers;
#      `qpercept ctl ENDPOINT reload ENGINE` swaps in the built engine;
#      `stats` has the drop counters; SIGTERM ends it with status 0. Without
#      the model this step is skipped (exit 77 at the end, after the others
#      passed), except with QP_REQUIRE_DATA=1 or CI set: then it fails.
#   6. an edited conffile survives reinstalling the package; dpkg -r removes
#      the binaries and masks the unit but keeps the config; dpkg -P removes
#      the config, the unit's enablement and /var/lib/qpercept.
#
# Not exercised: starting the unit under systemd (no systemd runs here as PID
# 1), dpkg -i on a real system (it would change it), the dependency
# resolution of apt. Needs root or fakeroot (dpkg --root). About 7 s here
# with the package already built (docs/operations.md, "Testing the package").
set -eu

repo=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$repo/build}
mirror=${QP_MIRROR:-$repo/../shared}
model_src=$mirror/models/yolox_nano_416_coco.onnx

fail() {
    echo "test_deb: FAIL: $*" >&2
    exit 1
}
note() { echo "test_deb: $*"; }

[ -f "$build/CPackConfig.cmake" ] || fail "$build: not a configured build directory (no CPackConfig.cmake)"
for t in cpack dpkg dpkg-deb cmake; do
    command -v "$t" >/dev/null 2>&1 || { echo "test_deb: SKIP: $t not found" >&2; exit 77; }
done
if [ "$(id -u)" = 0 ]; then
    dpkg_as=""
elif command -v fakeroot >/dev/null 2>&1; then
    dpkg_as=fakeroot
else
    echo "test_deb: SKIP: dpkg --root needs root or fakeroot" >&2
    exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/qp_deb_XXXXXX")
root=$work/root
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill -KILL "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

# ---- 1. build the package; the install tree
t0=$(date +%s)
(cd "$build" && cpack -G DEB >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log" >&2; fail "cpack -G DEB"; }
deb=$(sed -n 's/^CPack: - package: \(.*\.deb\) generated\.$/\1/p' "$work/cpack.log")
[ -f "$deb" ] || fail "cpack did not say which .deb it wrote"
note "built $(basename "$deb") ($(stat -c %s "$deb") bytes) in $(($(date +%s) - t0)) s"

DESTDIR=$work/inst cmake --install "$build" --prefix /usr >/dev/null || fail "cmake --install"
(cd "$work/inst" && find . -type f | sort) >"$work/inst.list"

# ---- 2. contents and control
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sort >"$work/deb.list"
for f in ./usr/bin/qperceptd ./usr/bin/qpercept ./etc/qpercept/qperceptd.conf \
    ./usr/lib/systemd/system/qperceptd.service ./usr/share/qpercept/zoo.ini \
    ./usr/share/qpercept/coco80.names ./usr/share/doc/qpercept/README.md \
    ./usr/share/doc/qpercept/LICENSE ./usr/share/doc/qpercept/operations.md \
    ./usr/share/doc/qpercept/server.md; do
    grep -qx "$f" "$work/deb.list" || fail "$f is not in the package"
done
stray=$(grep -v -e '^\./usr/bin/qpercept$' -e '^\./usr/bin/qperceptd$' -e '^\./etc/qpercept/' \
    -e '^\./usr/lib/systemd/system/' -e '^\./usr/share/qpercept/' -e '^\./usr/share/doc/qpercept/' \
    "$work/deb.list" || true)
[ -z "$stray" ] || fail "files outside the layout in the package: $stray"
diff "$work/deb.list" "$work/inst.list" >/dev/null ||
    fail "cmake --install and the package lay out different files: $(diff "$work/deb.list" "$work/inst.list" | tr '\n' ' ')"
[ "$(dpkg-deb -c "$deb" | awk '$6 == "./etc/qpercept/qperceptd.conf" {print $1}')" = "-rw-r--r--" ] ||
    fail "qperceptd.conf is not mode 0644 in the package"

mkdir "$work/control"
dpkg-deb -e "$deb" "$work/control"
[ "$(cat "$work/control/conffiles")" = "/etc/qpercept/qperceptd.conf" ] ||
    fail "conffiles is '$(cat "$work/control/conffiles")', not /etc/qpercept/qperceptd.conf"
for s in postinst prerm postrm; do
    [ -f "$work/control/$s" ] || fail "no $s in the package"
    [ "$(stat -c %a "$work/control/$s")" = 755 ] || fail "$s is mode $(stat -c %a "$work/control/$s"), not 755"
    sh -n "$work/control/$s" || fail "$s: sh -n"
done

depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libzmq5 libprotobuf-c1 libturbojpeg0 libspng0 libzstd1 liblz4-1 libsystemd0; do
    echo "$depends" | grep -q "\(^\|, \)$lib\( \|,\|$\)" || fail "Depends lacks $lib: $depends"
done
# Each dependency is installed here at a version it accepts.
echo "$depends" | tr ',' '\n' | while read -r name op ver; do
    installed=$(dpkg-query -W -f '${Version}' "$name" 2>/dev/null) || fail "Depends names $name, not installed here"
    [ -z "$op" ] && continue
    op=${op#(}
    ver=${ver%)}
    case $op in '>=') op=ge ;; '<=') op=le ;; '=') op=eq ;; '>>') op=gt ;; '<<') op=lt ;; esac
    dpkg --compare-versions "$installed" "$op" "$ver" || fail "Depends $name $op $ver, but $installed is installed"
done
note "contents, conffiles, maintainer scripts, Depends: ok ($depends)"

# ---- 3. install into the scratch root
host_state() {
    find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled -printf '%p %l %s %T@\n' 2>/dev/null |
        sort || true
}
host_state >"$work/host.before"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
dpkg_root() {
    DPKG_ROOT=$root $dpkg_as dpkg --root="$root" --force-depends --force-script-chrootless "$@" \
        >>"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg $*"; }
}
dpkg_root -i "$deb"
[ "$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${db:Status-Status}' qpercept)" = installed ] ||
    fail "qpercept is not 'installed' in the scratch root's dpkg database"
while read -r f; do
    [ -f "$root/${f#./}" ] || fail "installed package lacks $f"
done <"$work/deb.list"
wants=$root/etc/systemd/system/multi-user.target.wants/qperceptd.service
[ -L "$wants" ] || fail "postinst did not enable qperceptd.service (no $wants)"
note "dpkg -i into the scratch root: ok, unit enabled"

# ---- 4. the unit
unit=$root/usr/lib/systemd/system/qperceptd.service
grep -qx 'ExecStart=/usr/bin/qperceptd --config /etc/qpercept/qperceptd.conf' "$unit" ||
    fail "the unit's ExecStart= does not name /usr/bin/qperceptd --config /etc/qpercept/qperceptd.conf"
if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir "$work/unit"
    sed "s|^ExecStart=/usr/bin/qperceptd |ExecStart=$root/usr/bin/qperceptd |" "$unit" >"$work/unit/qperceptd.service"
    out=$(systemd-analyze verify "$work/unit/qperceptd.service" 2>&1) || fail "systemd-analyze verify: $out"
    [ -z "$out" ] || fail "systemd-analyze verify said: $out"
    note "systemd-analyze verify of the installed unit: ok"
else
    note "systemd-analyze not found: the unit is not verified"
fi

# ---- 5. run what was installed
skipped=""
if [ -f "$model_src" ]; then
    run=$work/run
    mkdir -p "$run"
    cp "$model_src" "$run/yolox.onnx" # no sidecar: the spec must come from the manifest
    "$root/usr/bin/qpercept" build "$run/yolox.onnx" -o "$run/yolox.qpe" --precision fp32 >"$run/build.log" 2>&1 ||
        { cat "$run/build.log" >&2; fail "installed qpercept build"; }
    conf=$root/etc/qpercept/qperceptd.conf
    "$root/usr/bin/qperceptd" --config "$conf" --check-config --engine.path "$run/yolox.onnx" >"$run/check.log" 2>&1 ||
        { cat "$run/check.log" >&2; fail "installed qperceptd --check-config on the installed config"; }
    port=$((20000 + $$ % 20000))
    ctl=ipc://$run/control
    "$root/usr/bin/qperceptd" --config "$conf" --engine.path "$run/yolox.onnx" \
        --engine.batch_sizes 1 --engine.warmup 1 --server.control_endpoint "$ctl" \
        --server.publish_endpoint "ipc://$run/detections" --server.metrics_port "$port" \
        --stream.front.endpoint "ipc://$run/front.frames" >"$run/server.log" 2>&1 &
    server_pid=$!
    i=0
    until "$root/usr/bin/qpercept" ctl "$ctl" ping --timeout 1000 >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -ge 120 ] || ! kill -0 "$server_pid" 2>/dev/null; then
            cat "$run/server.log" >&2
            fail "the installed qperceptd did not answer ping within $i s"
        fi
        sleep 1
    done
    status=$("$root/usr/bin/qpercept" ctl "$ctl" status) || fail "qpercept ctl status"
    note "ctl status: $status"
    case $status in
    "state serving, model yolox_nano_416_coco,"*) ;;
    *) fail "status does not say serving yolox_nano_416_coco (the installed manifest's entry): $status" ;;
    esac
    if command -v curl >/dev/null 2>&1; then
        curl -sf "http://127.0.0.1:$port/metrics" >"$run/metrics" || fail "GET /metrics on port $port"
        grep -q '^qperceptd_info{.*model="yolox_nano_416_coco"' "$run/metrics" || fail "/metrics has no qperceptd_info"
        grep -q '^qperceptd_frames_dropped_total{stream="front",reason="too_old"} 0$' "$run/metrics" ||
            fail "/metrics has no too_old drop counter for stream front"
    fi
    reload=$("$root/usr/bin/qpercept" ctl "$ctl" reload "$run/yolox.qpe" --timeout 60000) ||
        fail "qpercept ctl reload $run/yolox.qpe: $reload"
    note "ctl reload: $reload"
    status=$("$root/usr/bin/qpercept" ctl "$ctl" status)
    case $status in "state serving, model yolox,"*) ;; *) fail "after the reload status says: $status" ;; esac
    stats=$("$root/usr/bin/qpercept" ctl "$ctl" stats)
    echo "$stats" | grep -q '"drops":{' || fail "stats has no drop counters: $stats"
    kill -TERM "$server_pid"
    rc=0
    wait "$server_pid" || rc=$?
    server_pid=""
    [ $rc = 0 ] || { cat "$run/server.log" >&2; fail "qperceptd exited $rc on SIGTERM"; }
    note "installed qpercept build, qperceptd --check-config, start, ctl status / reload / stats, /metrics, SIGTERM: ok"
elif [ "${QP_REQUIRE_DATA:-0}" = 1 ] || [ -n "${CI:-}" ]; then
    fail "$model_src not found (QP_MIRROR)"
else
    skipped="the installed binaries were not run: $model_src not found (set QP_MIRROR)"
    note "$skipped"
fi

# ---- 6. conffile kept on reinstall; remove; purge
echo "# a local edit" >>"$root/etc/qpercept/qperceptd.conf"
dpkg_root -i "$deb"
tail -n 1 "$root/etc/qpercept/qperceptd.conf" | grep -qx "# a local edit" ||
    fail "reinstalling the package lost the local edit of qperceptd.conf"
dpkg_root -r qpercept
[ ! -e "$root/usr/bin/qperceptd" ] || fail "dpkg -r left /usr/bin/qperceptd"
[ -f "$root/etc/qpercept/qperceptd.conf" ] || fail "dpkg -r removed the conffile (only purge may)"
[ "$(readlink "$root/etc/systemd/system/qperceptd.service")" = /dev/null ] || fail "dpkg -r did not mask the unit"
mkdir -p "$root/var/lib/qpercept"
touch "$root/var/lib/qpercept/model.qpe"
dpkg_root -P qpercept
for f in /etc/qpercept /var/lib/qpercept /etc/systemd/system/qperceptd.service \
    /etc/systemd/system/multi-user.target.wants/qperceptd.service; do
    if [ -e "$root$f" ] || [ -L "$root$f" ]; then fail "dpkg -P left $f"; fi
done
[ -z "$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${db:Status-Status}' qpercept 2>/dev/null)" ] ||
    [ "$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${db:Status-Status}' qpercept)" = not-installed ] ||
    fail "qpercept still known to the scratch dpkg database after purge"
host_state >"$work/host.after"
diff "$work/host.before" "$work/host.after" >/dev/null || fail "this system's systemd state changed"
note "conffile kept on reinstall; remove keeps the config and masks; purge removes config, enablement, state: ok"

if [ -n "$skipped" ]; then
    echo "test_deb: SKIP: $skipped" >&2
    exit 77
fi
note "PASS in $(($(date +%s) - t0)) s"
