# SPDX-License-Identifier: Apache-2.0
"""python3 -m qpercept: the Python client from the command line.

    python3 -m qpercept sub ENDPOINT [--stream NAME ...] [--count N] [--timeout-ms MS]
    python3 -m qpercept ctl ENDPOINT ping|status|stats|reload [ENGINE] [--timeout MS]
    (both: [--curve-server-key FILE --curve-secret-key FILE])

sub prints one line per Detections (as `qpercept sub` does) and a summary
at the end (Ctrl-C, --count); ctl prints the reply. Exit status: 0 ok, 1 a
timeout or a refused request, 2 usage. Works from a checkout:
cd clients/python && python3 -m qpercept ...
"""
import argparse
import json
import sys

from . import _wire
from .control import KINDS, Control
from .subscriber import Subscriber


def _keys(args):
    if (args.curve_server_key is None) != (args.curve_secret_key is None):
        raise ValueError("CURVE needs both --curve-server-key and --curve-secret-key")
    if args.curve_server_key is None:
        return {}
    return {"curve_server_key": _wire.read_key(args.curve_server_key),
            "curve_secret_key": _wire.read_key(args.curve_secret_key)}


def _line(d):
    top = ", ".join(f"{e.label} {e.score:.2f} [{e.x0:.0f},{e.y0:.0f},{e.x1:.0f},{e.y1:.0f}]"
                    for e in d.detections[:3])
    more = f", ... {len(d.detections) - 3} more" if len(d.detections) > 3 else ""
    gap = f" ({d.n_missing} missing before)" if d.n_missing else ""
    latency_ms = (_wire.realtime_ns() - d.capture_ns) / 1e6
    return (f"{d.stream} seq {d.seq} latency {latency_ms:.1f} ms{gap}: "
            f"{len(d.detections)} detections{': ' if top else ''}{top}{more}")


def _sub(args):
    n = 0
    with Subscriber(args.endpoint, args.stream, **_keys(args)) as sub:
        try:
            while args.count is None or n < args.count:
                d = sub.recv(args.timeout_ms if args.timeout_ms else -1)
                if d is None:
                    print(f"qpercept sub: nothing arrived from {args.endpoint} within "
                          f"{args.timeout_ms} ms", file=sys.stderr)
                    return 1
                print(_line(d), flush=True)
                n += 1
        except KeyboardInterrupt:
            pass
        finally:
            for t in sub.stream_stats():
                print(f"summary {t.stream}: {t.n_received} messages, {t.n_gaps} gaps, "
                      f"{t.n_missing} missing")
            s = sub.stats()
            print(f"summary total: {s.n_received} messages, {s.n_gaps} gaps, {s.n_missing} "
                  f"missing, {s.n_malformed} malformed")
    return 0


def _ctl(args):
    if args.engine is not None and args.what != "reload":
        raise ValueError("ENGINE goes with reload only")
    r = Control(args.endpoint, args.timeout, **_keys(args)).request(args.what,
                                                                    args.engine or "")
    if not r.ok:
        print(f"qpercept ctl: {args.endpoint} refused {args.what}: {r.error}", file=sys.stderr)
        return 1
    if r.kind == "stats":
        print(json.dumps(json.loads(r.stats_json or "{}"), indent=1))
    elif r.kind == "status":
        print(f"state {r.state.name.lower()}, model {r.model}, engine {r.engine_id}, backend "
              f"{r.backend}, {r.streams} streams, up {r.uptime_ns / 1e9:.1f} s, version "
              f"{r.version}")
    else:
        print({"ping": f"pong: qperceptd {r.version}, server time {r.server_time_ns} ns",
               "reload": f"serving model {r.model}, engine {r.engine_id}"}[r.kind])
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m qpercept")
    cmds = p.add_subparsers(dest="cmd", required=True)
    sub = cmds.add_parser("sub", help="print detections as they arrive")
    sub.add_argument("endpoint")
    sub.add_argument("--stream", action="append", help="exact stream name (repeat); all if none")
    sub.add_argument("--count", type=int, help="stop after N messages")
    sub.add_argument("--timeout-ms", type=int, default=0, help="exit 1 after MS without one")
    ctl = cmds.add_parser("ctl", help="one control request")
    ctl.add_argument("endpoint")
    ctl.add_argument("what", choices=KINDS)
    ctl.add_argument("engine", nargs="?")
    ctl.add_argument("--timeout", type=int, default=5000, help="milliseconds")
    for c in (sub, ctl):
        c.add_argument("--curve-server-key", metavar="FILE")
        c.add_argument("--curve-secret-key", metavar="FILE")
    args = p.parse_args(argv)
    try:
        return _sub(args) if args.cmd == "sub" else _ctl(args)
    except _wire.QperceptError as e:  # timeouts (a TimeoutError, so first), sockets, protocol
        print(f"qpercept {args.cmd}: {e}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as e:  # usage, key files
        print(f"qpercept {args.cmd}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
