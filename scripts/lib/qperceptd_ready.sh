# SPDX-License-Identifier: Apache-2.0
# qperceptd_ready.sh - sourced by the scripts that start a qperceptd (demo.sh,
# soak.sh, bench/server_latency.sh): wait until it answers on its control
# socket, or say why not.
#
#   qp_wait_ready QPERCEPT CONTROL_ENDPOINT PID LOG SECONDS
#
# Pings CONTROL_ENDPOINT with `QPERCEPT ctl ... ping` every 0.1 s until it
# answers (return 0), the server PID exits, or SECONDS pass; then prints LOG
# (the server's stderr) and why on stderr and returns 1. An ONNX model is
# built at start-up, so give it time.
qp_wait_ready() {
    local cli=$1 ctl=$2 pid=$3 log=$4 secs=$5 t
    for ((t = 0; t < secs * 10; t++)); do
        "$cli" ctl "$ctl" ping --timeout 500 > /dev/null 2>&1 && return 0
        if ! kill -0 "$pid" 2> /dev/null; then
            cat "$log" >&2
            echo "qperceptd exited before it answered on $ctl (its log is above)" >&2
            return 1
        fi
        sleep 0.1
    done
    cat "$log" >&2
    echo "qperceptd did not answer on $ctl within $secs s (its log is above)" >&2
    return 1
}
