#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# soak.sh - a bounded soak of the whole product: the six nuScenes cameras
# replayed in a loop at about 30 Hz each into qperceptd (the shipped
# configuration, YOLOX-Nano), its detections recorded to MCAP, with a
# reload of the engine every QP_SOAK_RELOAD_S seconds and a burst of
# malformed messages every QP_SOAK_BURST_S seconds. Every QP_SOAK_SAMPLE_S
# seconds the server's RSS, open descriptors and /metrics are sampled. At
# the end it checks, and says (exit 1 when one fails):
#   - RSS flat: the last minute's mean within 10 % (or 16 MiB) of the
#     second minute's (the first is warm-up);
#   - descriptors flat: the last sample within 2 of the first after start;
#   - every stream adds up: received = published + dropped + waiting +
#     in_flight, and the malformed messages sent are all counted as drops;
#   - every reload succeeded;
#   - no latency drift: the server's received -> published p50 / p99 over
#     the last minute (from /metrics histogram differences) within 1.5x +
#     5 ms of the second minute's.
#
#   scripts/soak.sh [MINUTES]     (default 5; at least 3)
#   env QP_BUILD_DIR (build), QP_MIRROR (../shared), QP_SOAK_OUT (BUILD/soak),
#       QP_PYTHON3 (Debian's /usr/bin/python3, which has python3-zmq),
#       QP_SOAK_RATE (replay rate: 1.5 gives the cameras ~30 Hz),
#       QP_SOAK_RELOAD_S (60), QP_SOAK_BURST_S (20), QP_SOAK_SAMPLE_S (10)
#
# Writes $QP_SOAK_OUT/soak.json (the samples and the verdicts) and the
# server's log beside it. Needs curl and python3 with python3-zmq (the
# malformed bursts; scripts/setup.sh installs both). On a CPU-only 2-core
# machine the server cannot keep up with 180 frames/s of 1600x900 JPEG: it
# drops the excess as `replaced`, on purpose; that steady overload is part
# of what is soaked.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib/qperceptd_ready.sh
. "$ROOT/scripts/lib/qperceptd_ready.sh"
MINUTES=${1:-5}
BUILD=${QP_BUILD_DIR:-build}
MIRROR=${QP_MIRROR:-$ROOT/../shared}
OUT=${QP_SOAK_OUT:-$BUILD/soak}
RATE=${QP_SOAK_RATE:-1.5}
RELOAD_S=${QP_SOAK_RELOAD_S:-60}
BURST_S=${QP_SOAK_BURST_S:-20}
SAMPLE_S=${QP_SOAK_SAMPLE_S:-10}
export QP_MIRROR="$MIRROR"

die() {
    echo "soak.sh: $*" >&2
    exit 2
}
[ "$MINUTES" -ge 3 ] 2> /dev/null || die "MINUTES must be an integer >= 3 (got '$MINUTES')"
command -v curl > /dev/null || die "curl is missing (scripts/setup.sh installs it)"
# Debian's python3 (its python3-zmq), not whatever python3 comes first on PATH
PY=${QP_PYTHON3:-/usr/bin/python3}
[ -x "$PY" ] || PY=python3
"$PY" -c 'import zmq' 2> /dev/null || die "$PY with python3-zmq is missing (scripts/setup.sh; or set QP_PYTHON3)"
nuscenes="$MIRROR/data/driving/nuscenes"
[ -d "$nuscenes" ] || die "$nuscenes is missing (set QP_MIRROR)"

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release > /dev/null
fi
cmake --build "$BUILD" -j"${QP_JOBS:-2}" --target qpercept qperceptd > /dev/null
QP="$BUILD/qpercept"
model=$(models/fetch.sh yolox_nano_416_coco "$BUILD/models" | tail -n 1) ||
    die "could not get yolox_nano_416_coco"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RUN=$(mktemp -d "${TMPDIR:-/tmp}/qpercept-soak.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2> /dev/null || true; done
    rm -rf "$RUN"
}
trap cleanup EXIT

cams=(cam_front cam_front_left cam_front_right cam_back cam_back_left cam_back_right)
port=19464
while (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; do port=$((port + 1)); done
args=(--config deploy/qperceptd.conf --engine.path "$model"
    --server.control_endpoint "ipc://$RUN/control" --server.publish_endpoint "ipc://$RUN/detections"
    --server.metrics_port "$port" --server.watchdog off --server.max_frame_bytes 8000000
    --stream.front.enabled no)
for s in "${cams[@]}"; do
    args+=(--stream."$s".endpoint "ipc://$RUN/$s" --stream."$s".mode pull)
done
"$BUILD/qperceptd" "${args[@]}" 2> "$OUT/qperceptd.log" &
server=$!
pids+=("$server")
qp_wait_ready "$QP" "ipc://$RUN/control" "$server" "$OUT/qperceptd.log" 60 ||
    die "qperceptd did not start"
"$QP" record --endpoint "ipc://$RUN/detections" -o "$OUT/soak.mcap" 2> "$OUT/record.log" &
recorder=$!
pids+=("$recorder")
"$QP" replay "$nuscenes" --endpoint "ipc://$RUN/%s" --loop --rate "$RATE" 2> "$OUT/replay.log" &
replay=$!
pids+=("$replay")

# One burst of malformed messages into cam_front's PULL: each kind a few times.
# Prints how many it sent (all of them must come back as drops).
burst() {
    "$PY" - "ipc://$RUN/cam_front" << 'EOF'
import sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
s.setsockopt(zmq.LINGER, 2000)
s.connect(sys.argv[1])
kinds = [
    [b"cam_front"],                                # one part: parts
    [b"cam_front", b"\xff\x00garbage\x01" * 7],    # not a Frame: invalid
    [b"cam_front", b"x" * 9000000],                # over max_frame_bytes: oversized
    [b"cam_front", b"", b"third part"],            # three parts: parts
]
n = 0
for _ in range(5):
    for k in kinds:
        s.send_multipart(k)
        n += 1
s.close()
ctx.term()
print(n)
EOF
}

metrics() { curl -s --max-time 5 "http://127.0.0.1:$port/metrics"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$server/status"; }
fds() { ls "/proc/$server/fd" | wc -l; }

samples="$OUT/samples.tsv" # t rss_kb fds
: > "$samples"
mkdir -p "$OUT/metrics"
start=$(date +%s)
end=$((start + MINUTES * 60))
next_reload=$((start + RELOAD_S)) next_burst=$((start + BURST_S))
reloads=0 reload_fail=0 malformed=0
echo "soak.sh: $MINUTES min; qperceptd pid $server, /metrics on port $port; output in $OUT"
while [ "$(date +%s)" -lt "$end" ]; do
    now=$(date +%s)
    kill -0 "$server" 2> /dev/null || { tail -20 "$OUT/qperceptd.log" >&2; die "qperceptd died"; }
    t=$((now - start))
    printf '%s\t%s\t%s\n' "$t" "$(rss_kb)" "$(fds)" >> "$samples"
    metrics > "$OUT/metrics/$t.prom" || true
    if [ "$now" -ge "$next_reload" ]; then
        if "$QP" ctl "ipc://$RUN/control" reload > /dev/null 2>> "$OUT/reload.log"; then
            reloads=$((reloads + 1))
        else
            reload_fail=$((reload_fail + 1))
        fi
        next_reload=$((next_reload + RELOAD_S))
    fi
    if [ "$now" -ge "$next_burst" ]; then
        malformed=$((malformed + $(burst)))
        next_burst=$((next_burst + BURST_S))
    fi
    sleep "$SAMPLE_S"
done

kill -INT "$replay" 2> /dev/null || true
wait "$replay" 2> /dev/null || true
sleep 2 # the last frames: batched, published, or too old
"$QP" ctl "ipc://$RUN/control" stats > "$OUT/stats.json"
kill -INT "$recorder" 2> /dev/null || true
wait "$recorder" 2> /dev/null || true
kill -TERM "$server"
server_rc=0
wait "$server" || server_rc=$?

# ---- verdicts
t_end=$(tail -n 1 "$samples" | cut -f1)
"$PY" - "$OUT" "$samples" "$t_end" "$reloads" "$reload_fail" "$malformed" "$server_rc" \
    "$MINUTES" "$RATE" << 'EOF'
import glob, json, os, sys
out, samples, t_end = sys.argv[1], sys.argv[2], int(sys.argv[3])
reloads, reload_fail, malformed, server_rc = map(int, sys.argv[4:8])
minutes, rate = int(sys.argv[8]), float(sys.argv[9])
rows = [tuple(map(int, l.split("\t"))) for l in open(samples) if l.strip()]
def mean(xs): return sum(xs) / len(xs) if xs else 0.0
second = [r for r in rows if 60 <= r[0] < 120]
last = [r for r in rows if r[0] >= t_end - 60]
rss2, rssl = mean([r[1] for r in second]), mean([r[1] for r in last])
fd0, fdl = rows[0][2], rows[-1][2]
verdicts = {}
verdicts["rss_flat"] = rssl <= max(rss2 * 1.10, rss2 + 16384)
verdicts["fds_flat"] = abs(fdl - fd0) <= 2

def hist(path):
    """le -> cumulative count of qperceptd_latency_seconds."""
    h = {}
    for line in open(path):
        if line.startswith("qperceptd_latency_seconds_bucket{"):
            le = line.split('le="')[1].split('"')[0]
            h[float("inf") if le == "+Inf" else float(le)] = int(line.split()[-1])
    return h
def window(a, b):
    ha, hb = hist(a), hist(b)
    return sorted((le, hb[le] - ha.get(le, 0)) for le in hb)
def quantile(w, q):
    n = w[-1][1] if w else 0
    for le, c in w:
        if n and c >= q * n:
            return le * 1e3
    return float("nan")
proms = sorted(glob.glob(os.path.join(out, "metrics", "*.prom")),
               key=lambda p: int(os.path.basename(p)[:-5]))
at = {int(os.path.basename(p)[:-5]): p for p in proms if os.path.getsize(p) > 0}
def near(t): return at[min(at, key=lambda k: abs(k - t))]
w2 = window(near(60), near(120))
wl = window(near(t_end - 60), near(t_end))
lat = {"second_minute": {"p50_ms": quantile(w2, 0.5), "p99_ms": quantile(w2, 0.99),
                         "frames": w2[-1][1] if w2 else 0},
       "last_minute": {"p50_ms": quantile(wl, 0.5), "p99_ms": quantile(wl, 0.99),
                       "frames": wl[-1][1] if wl else 0}}
verdicts["latency_no_drift"] = all(
    lat["last_minute"][k] <= 1.5 * lat["second_minute"][k] + 5 for k in ("p50_ms", "p99_ms"))

st = json.load(open(os.path.join(out, "stats.json")))
adds_up, counted = True, 0
for name, s in st["streams"].items():
    if s["received"] != s["published"] + s["dropped"] + s["waiting"] + s["in_flight"]:
        adds_up = False
    if name == "cam_front":
        d = s["drops"]
        counted = d["parts"] + d["invalid"] + d["oversized"]
verdicts["streams_add_up"] = adds_up
verdicts["malformed_all_counted"] = counted >= malformed
verdicts["reloads_ok"] = reload_fail == 0 and reloads >= 1
verdicts["clean_stop"] = server_rc == 0
res = {"command": f"scripts/soak.sh {minutes}", "replay_rate": rate, "seconds": t_end,
       "rss_kb": {"second_minute_mean": rss2, "last_minute_mean": rssl},
       "fds": {"first": fd0, "last": fdl}, "latency_received_to_published": lat,
       "reloads": reloads, "reload_failures": reload_fail, "malformed_sent": malformed,
       "malformed_counted_cam_front": counted,
       "streams": {n: {k: s[k] for k in ("received", "published", "dropped")}
                   for n, s in st["streams"].items()},
       "verdicts": verdicts}
json.dump(res, open(os.path.join(out, "soak.json"), "w"), indent=1)
print(json.dumps(res, indent=1))
bad = [k for k, v in verdicts.items() if not v]
print("soak.sh: " + ("FAILED: " + ", ".join(bad) if bad else "every check passed"))
sys.exit(1 if bad else 0)
EOF
