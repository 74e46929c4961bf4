#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""python_client_test.py - the Python client (clients/python) against a running qperceptd.

  python_client_test.py --frames EP --stream NAME --detections EP --control EP
                        --jpeg FILE --rgb FILE --width W --height H --tmp DIR

Run by tests/e2e/test_python_client.c, which starts the server (one pull
stream NAME at EP) and subscribes to its detections with the C library's
qp_sub at the same time. This script:

  - asks the server for ping, status and stats through Control, and a dead
    endpoint for a ping (ControlTimeout naming it, within the timeout);
  - publishes the same road frame as JPEG, as raw RGB8 (the file the C test
    decoded), as BGR8, as BGR8 with padded rows and (when numpy is there) as
    a numpy array, through Publisher (PUSH), receives every Detections
    through Subscriber and prints each as one JSON line on stdout, for the
    C test to compare with what qp_sub received; raw frames of the same
    pixels must give the same detections;
  - checks the Publisher's validation (ValueError, no seq used), its drops
    (PUSH at the high-water mark, PUB without a subscriber), wait_subscriber
    and the bytes a raw SUB receives;
  - sends hand-made malformed messages from a raw PUB to two Subscribers
    (one filtered, one not): each is dropped and counted, none raised, and
    gaps / resets / filtered counts are exact;
  - loads the protobuf module both ways: from $QPERCEPT_PB2_DIR (the
    build's) and, without it, by running protoc; runs python3 -m qpercept.

Prints "PASS <checks>" last and exits 0; on failures "FAIL: ..." lines on
stderr and exit 1; exit 77 when pyzmq or protobuf is not installed.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

try:
    import zmq
    import google.protobuf  # noqa: F401  (the client's other dependency)
except ImportError as e:
    print(f"SKIP: {e} (Debian: python3-zmq, python3-protobuf)", file=sys.stderr)
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "clients", "python"))
sys.path.insert(0, CLIENT_DIR)

import qpercept  # noqa: E402
from qpercept import _proto  # noqa: E402
from qpercept._proto import pb  # noqa: E402

FAILS = []
CHECKS = [0]


def check(ok, what):
    CHECKS[0] += 1
    if not ok:
        FAILS.append(what)
        print(f"FAIL: {what}", file=sys.stderr)
    return ok


def raises(exc, fn, what):
    try:
        fn()
    except exc as e:
        check(True, what)
        return e
    except Exception as e:  # the wrong exception is a failure too
        check(False, f"{what}: raised {type(e).__name__}: {e}")
        return None
    check(False, f"{what}: did not raise {exc.__name__}")
    return None


def as_json(d):
    return json.dumps({
        "stream": d.stream, "seq": d.seq, "capture_ns": d.capture_ns, "frame_id": d.frame_id,
        "model": d.model, "engine_id": d.engine_id, "batch_size": d.batch_size,
        "status": d.status.name.lower(), "error": d.error, "n_missing": d.n_missing,
        "published_ns": d.stamps.published_ns, "received_ns": d.stamps.received_ns,
        "malformed_drops": d.drops.malformed,
        "detections": [[e.class_id, e.label, e.score, *e.box] for e in d.detections]})


# ===== Control =====

def test_control(a):
    ctl = qpercept.Control(a.control, timeout_ms=5000)
    ping = ctl.ping()
    check(ping.ok and ping.version and ping.server_time_ns > 0, f"ping: {ping}")
    st = ctl.status()
    check(st.state == qpercept.ServerState.SERVING, f"status state {st.state}")
    check(st.streams == 1 and st.model and st.engine_id and st.backend == "cpu",
          f"status: {st}")
    stats = ctl.stats()
    check(a.stream in stats.get("streams", {}), f"stats has stream {a.stream}: {list(stats)}")
    dead = f"ipc://{a.tmp}/nobody"
    t0 = time.monotonic()
    e = raises(qpercept.ControlTimeout, lambda: qpercept.Control(dead, timeout_ms=300).ping(),
               "ping to a dead endpoint times out")
    took = time.monotonic() - t0
    check(e is not None and dead in str(e) and 0.25 <= took < 3, f"timeout {took:.2f} s: {e}")
    raises(ValueError, lambda: ctl.reload("bad\npath"), "reload path with a control character")
    raises(ValueError, lambda: ctl.request("restart"), "unknown control kind")


# ===== Frames through the server =====

def wait_for(sub, seq, timeout_s):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        d = sub.recv(200)
        if d is not None and d.seq == seq:
            return d
    return None


def frames(a):
    """(name, pixels, kwargs) of the frames sent through the server."""
    with open(a.jpeg, "rb") as f:
        jpeg = f.read()
    with open(a.rgb, "rb") as f:
        rgb = f.read()
    w, h = a.width, a.height
    bgr = bytearray(rgb)
    bgr[0::3], bgr[2::3] = rgb[2::3], rgb[0::3]
    pad = 64
    padded = bytearray()
    for y in range(h):
        padded += bgr[y * w * 3:(y + 1) * w * 3] + b"\x7f" * pad
    out = [("jpeg", jpeg, dict(width=w, height=h, format="JPEG")),
           ("rgb8", rgb, dict(width=w, height=h, format=qpercept.PixelFormat.RGB8)),
           ("bgr8", memoryview(bytes(bgr)), dict(width=w, height=h, format="bgr8")),
           ("bgr8 padded", padded, dict(width=w, height=h, format="BGR8", stride=w * 3 + pad,
                                        frame_id="cam_front_optical"))]
    try:
        import numpy
        arr = numpy.frombuffer(bytes(bgr), dtype=numpy.uint8).reshape(h, w, 3)
        out.append(("numpy bgr8", arr, dict(format="BGR8")))  # width, height from the shape
    except ImportError:
        print("numpy not installed: its frame is not sent", file=sys.stderr)
    return out


def test_server_frames(a):
    pub = qpercept.Publisher(a.frames, a.stream, kind="push",
                             max_frame_bytes=(a.width * 4 + 64) * a.height)
    sub = qpercept.Subscriber(a.detections, streams=[a.stream])
    time.sleep(0.3)  # the subscription reaches the server's PUB
    todo = frames(a)
    got = {}
    first = None
    for _ in range(5):  # ZeroMQ's slow joiner: resend until the first result comes
        seq = pub.send(todo[0][1], **todo[0][2])
        first = wait_for(sub, seq, 10)
        if first is not None:
            break
    if not check(first is not None, "the first frame's detections arrive"):
        return
    print(as_json(first), flush=True)
    for name, pixels, kw in todo:
        seq = pub.send(pixels, **kw)
        d = wait_for(sub, seq, 60)
        if not check(d is not None, f"{name}: detections of seq {seq}"):
            continue
        check(d.n_missing == 0 and d.status == qpercept.Status.OK, f"{name}: {d.status}")
        if kw.get("frame_id"):
            check(d.frame_id == kw["frame_id"], f"{name}: frame_id {d.frame_id!r}")
        got[name] = d
        print(as_json(d), flush=True)
    check(len(got["jpeg"].detections) > 0, "the road frame has objects in it")
    ref = got.get("rgb8")
    for name in ("bgr8", "bgr8 padded", "numpy bgr8"):
        if name in got and ref is not None:
            check(got[name].detections == ref.detections, f"{name}: same detections as rgb8")
    s = sub.stats()
    check(s.n_malformed == 0 and s.n_received >= len(got), f"subscriber stats {s}")
    check(pub.stats.n_sent == pub.stats.next_seq and pub.stats.n_dropped == 0,
          f"publisher stats {pub.stats}")
    pub.close()
    sub.close()


# ===== Publisher rules and drops (no server) =====

def test_publisher_rules(a):
    ep = f"ipc://{a.tmp}/rules"
    for bad in ("", "a b", "x" * 64, "caméra", None):
        raises(ValueError, lambda b=bad: qpercept.Publisher(ep, b, kind="push"),
               f"stream name {bad!r} refused")
    raises(ValueError, lambda: qpercept.Publisher(ep, "cam", kind="req"), "kind 'req' refused")
    raises(ValueError, lambda: qpercept.Publisher(ep, "cam", send_hwm=0), "send_hwm 0 refused")
    # a socket that cannot bind / connect: the error names who, where and the step
    for kind, step in (("pub", "bind"), ("push", "connect")):
        e = raises(qpercept.QperceptError, lambda k=kind: qpercept.Publisher("nope://x", "cam", k),
                   f"{kind} publisher on a bad endpoint refused")
        check(e is not None and str(e).startswith(f"publisher 'cam' on nope://x: {step}: "),
              f"{kind} publisher's error names the step: {e}")
    e = raises(qpercept.QperceptError, lambda: qpercept.Subscriber("nope://x"),
               "subscriber on a bad endpoint refused")
    check(e is not None and str(e).startswith("subscriber on nope://x: connect: "),
          f"subscriber's error names the step: {e}")
    pub = qpercept.Publisher(ep, "cam", kind="push", max_frame_bytes=64 * 64 * 3)
    px = bytes(16 * 8 * 3)
    bad_frames = {
        "byte count": dict(pixels=px[:-1], width=16, height=8),
        "width 0": dict(pixels=b"", width=0, height=8),
        "width 16385": dict(pixels=px, width=16385, height=8),
        "NV12 odd": dict(pixels=bytes(15 * 8 * 3 // 2), width=15, height=8, format="NV12",
                         stride=15),
        "stride < row": dict(pixels=px, width=16, height=8, stride=47),
        "JPEG stride": dict(pixels=b"\xff\xd8", width=16, height=8, format="JPEG", stride=3),
        "empty JPEG": dict(pixels=b"", width=16, height=8, format="JPEG"),
        "frame_id space": dict(pixels=px, width=16, height=8, frame_id="a b"),
        "frame_id 64": dict(pixels=px, width=16, height=8, frame_id="f" * 64),
        "over max_frame_bytes": dict(pixels=bytes(65 * 64 * 3), width=65 * 64, height=3),
        "format YUV9": dict(pixels=px, width=16, height=8, format="YUV9"),
        "no shape": dict(pixels=px),
        "not a buffer": dict(pixels=[1, 2, 3], width=1, height=1),
    }
    for name, kw in bad_frames.items():
        raises(ValueError, lambda k=kw: pub.send(**k), f"frame with {name} refused")
    check(pub.stats.next_seq == 0, f"refused frames use no seq: {pub.stats}")
    # PUSH without a peer: the queue fills (send_hwm 4), later frames drop, counted, seq used
    results = [pub.send(px, 16, 8) for _ in range(12)]
    st = pub.stats
    check(results[0] == 0 and None in results and st.next_seq == 12 and
          st.n_sent + st.n_dropped == 12 and st.n_dropped_hwm == st.n_dropped > 0,
          f"push drops at the high-water mark: {results} {st}")
    check(all(r is None or r == i for i, r in enumerate(results)), f"seqs: {results}")
    pub.close()


def test_pub_kind(a):
    ep = f"ipc://{a.tmp}/pubcam"
    ctx = zmq.Context()
    pub = qpercept.Publisher(ep, "pubcam", kind="pub")
    px = bytearray(range(256)) * 3  # 16x16 GRAY8 x 3 = 768 bytes: 32x8 BGR8
    check(pub.send(px, 32, 8) is None, "pub without a subscriber drops")
    check(pub.stats.n_no_subscriber == 1 and pub.stats.next_seq == 1, f"{pub.stats}")
    other = ctx.socket(zmq.SUB)
    other.connect(ep)
    other.setsockopt(zmq.SUBSCRIBE, b"zzz")
    check(not pub.wait_subscriber(300), "a subscription of another stream does not count")
    raw = ctx.socket(zmq.SUB)
    raw.connect(ep)
    raw.setsockopt(zmq.SUBSCRIBE, b"pub")  # a prefix of the stream covers it
    check(pub.wait_subscriber(5000) and pub.stats.subscribed, "wait_subscriber sees it")
    seq = pub.send(memoryview(bytes(px)), 32, 8, format="BGR8", capture_ns=123456789,
                   frame_id="optical")
    check(seq == 1, f"seq {seq}")
    if raw.poll(5000):
        topic, payload = raw.recv_multipart()
        f = pb.Frame.FromString(payload)
        check(topic == b"pubcam" and f.header.stream == "pubcam" and f.header.seq == 1 and
              f.header.capture_ns == 123456789 and f.header.frame_id == "optical" and
              f.image.width == 32 and f.image.height == 8 and f.image.stride == 96 and
              f.image.pixel_format == pb.PIXEL_FORMAT_BGR8 and f.image.inline_data == bytes(px),
              "the frame a raw SUB receives")
    else:
        check(False, "raw SUB received the frame")
    for s in (other, raw):
        s.close(linger=0)
    pub.close()
    ctx.term()


# ===== Subscriber: malformed messages, gaps, filtering (no server) =====

def det(stream="cam", seq=1, **kw):
    m = pb.Detections(model="m", engine_id="e", batch_size=1, status=pb.STATUS_OK)
    m.header.stream = stream
    m.header.seq = seq
    m.header.capture_ns = 1700000000000000000
    d = m.detections.add(class_id=2, label="car", score=0.5, x0=1, y0=2, x1=3, y1=4)
    for k, v in kw.items():
        if k.startswith("d_"):
            setattr(d, k[2:], v)
        elif k.startswith("h_"):
            setattr(m.header, k[2:], v)
        else:
            setattr(m, k, v)
    return m.SerializeToString()


def many_dets():
    m = pb.Detections.FromString(det())
    for _ in range(300):
        m.detections.add(class_id=1, label="x", score=0.1, x0=0, y0=0, x1=1, y1=1)
    return m.SerializeToString()


def test_subscriber_malformed(a):
    ep = f"ipc://{a.tmp}/raw"
    ctx = zmq.Context()
    xpub = ctx.socket(zmq.XPUB)
    xpub.bind(ep)
    filtered = qpercept.Subscriber(ep, streams=["cam"])
    everything = qpercept.Subscriber(ep)
    subs = set()
    end = time.monotonic() + 5
    while len(subs) < 2 and time.monotonic() < end:  # both subscriptions are live
        if xpub.poll(100):
            subs.add(xpub.recv())
    check(subs == {b"\x01cam", b"\x01"}, f"subscriptions {subs}")
    no_header = pb.Detections(model="m", batch_size=1, status=pb.STATUS_OK).SerializeToString()
    malformed = [
        [b"cam", b"\xff\x00garbage"],
        [b"cam"],
        [b"cam", det(), b"x"],
        [b"cam", det(stream="other")],
        [b"cam", det(d_score=1.5)],
        [b"cam", det(d_score=math.nan)],
        [b"cam", det(status=0)],
        [b"cam", det(batch_size=0)],
        [b"cam", det(h_capture_ns=0)],
        [b"cam", det(d_label="ca\x01r")],
        [b"cam", det(d_x0=5.0)],
        [b"cam", det(d_y1=math.inf)],
        [b"cam", det(error="e" * 512)],
        [b"cam", det(h_frame_id="a b")],
        [b"cam", many_dets()],
        [b"cam", no_header],
        [b"cam", b"\0" * 70000],
    ]
    sends = [[b"cam", det(seq=5)]] + malformed + [
        [b"cam2", det(stream="cam2", seq=1)],  # a prefix match: filtered, not malformed
        [b"cam" + b"x" * 70, det()],  # no stream name: filtered / malformed
        [b"cam", det(seq=8)],  # two seqs missing
        [b"cam", det(seq=3)],  # not above the last: a publisher restart
    ]
    for parts in sends:
        xpub.send_multipart(parts)
    got = {"filtered": [], "all": []}
    for name, sub in (("filtered", filtered), ("all", everything)):
        end = time.monotonic() + 5
        while time.monotonic() < end:
            try:
                d = sub.recv(100)
            except Exception as e:  # never: malformed messages are counted, not raised
                check(False, f"{name}: recv raised {type(e).__name__}: {e}")
                break
            if d is not None:
                got[name].append((d.stream, d.seq, d.n_missing))
            if sub.stats().n_received + sub.stats().n_malformed + sub.stats().n_filtered == \
                    len(sends):
                break
    n_bad = len(malformed)
    fs, es = filtered.stats(), everything.stats()
    check(got["filtered"] == [("cam", 5, 0), ("cam", 8, 2), ("cam", 3, 0)],
          f"filtered subscriber received {got['filtered']}")
    check(fs.n_malformed == n_bad and fs.n_filtered == 2 and fs.n_gaps == 1 and
          fs.n_missing == 2 and fs.n_resets == 1 and fs.n_received == 3,
          f"filtered stats {fs}")
    check("oversized" in filtered.last_error, f"last_error {filtered.last_error!r}")
    check(got["all"] == [("cam", 5, 0), ("cam2", 1, 0), ("cam", 8, 2), ("cam", 3, 0)],
          f"unfiltered subscriber received {got['all']}")
    check(es.n_malformed == n_bad + 1 and es.n_filtered == 0 and es.n_streams == 2,
          f"unfiltered stats {es}")
    t = {s.stream: s for s in everything.stream_stats()}
    check(t["cam"].n_received == 3 and t["cam"].last_seq == 3 and t["cam2"].n_received == 1,
          f"per-stream stats {t}")
    check(filtered.recv(0) is None, "poll with nothing there: None")
    for s in (filtered, everything):
        s.close()
    xpub.close(linger=0)
    ctx.term()


# ===== CURVE (no server) =====

def test_curve(a):
    srv_pub, srv_sec = zmq.curve_keypair()
    cli_pub, cli_sec = zmq.curve_keypair()
    other_pub, _ = zmq.curve_keypair()
    key_file = os.path.join(a.tmp, "server.pub")
    with open(key_file, "wb") as f:
        f.write(b"  " + srv_pub + b"\n")
    check(qpercept.read_key(key_file) == srv_pub.decode(), "read_key reads a key file")
    os.unlink(key_file)
    ep = f"ipc://{a.tmp}/curve"
    ctx = zmq.Context()
    xpub = ctx.socket(zmq.XPUB)
    xpub.curve_server = True
    xpub.curve_secretkey = srv_sec
    xpub.bind(ep)
    raises(ValueError, lambda: qpercept.Subscriber(ep, curve_server_key=srv_pub),
           "half a CURVE configuration")
    raises(ValueError, lambda: qpercept.Subscriber(ep, curve_server_key="short",
                                                   curve_secret_key=cli_sec), "a short key")
    wrong = qpercept.Subscriber(ep, curve_server_key=other_pub, curve_secret_key=cli_sec)
    right = qpercept.Subscriber(ep, curve_server_key=srv_pub.decode(), curve_secret_key=cli_sec)
    check(xpub.poll(5000) and xpub.recv() == b"\x01", "the right key subscribes")
    xpub.send_multipart([b"cam", det(seq=11)])
    d = right.recv(5000)
    check(d is not None and d.seq == 11, f"message over CURVE: {d}")
    check(wrong.recv(300) is None, "a wrong server key gets nothing")
    for sock in (wrong, right):
        sock.close()
    xpub.close(linger=0)
    ctx.term()


# ===== Packaging =====

def test_loader_and_cli(a):
    if os.environ.get("QPERCEPT_PB2_DIR"):
        check(_proto.source == "QPERCEPT_PB2_DIR", f"protobuf module from {_proto.source}")
    env = {k: v for k, v in os.environ.items() if k != "QPERCEPT_PB2_DIR"}
    run = subprocess.run([sys.executable, "-c", "import qpercept._proto as p; print(p.source)"],
                         cwd=CLIENT_DIR, env=env, capture_output=True, text=True, timeout=60)
    check(run.returncode == 0 and run.stdout.strip() == "protoc",
          f"without QPERCEPT_PB2_DIR protoc makes the module: {run.stdout} {run.stderr}")
    run = subprocess.run([sys.executable, "-m", "qpercept", "ctl", a.control, "status"],
                         cwd=CLIENT_DIR, env=env, capture_output=True, text=True, timeout=60)
    check(run.returncode == 0 and run.stdout.startswith("state serving"),
          f"python3 -m qpercept ctl status: {run.returncode} {run.stdout} {run.stderr}")
    run = subprocess.run([sys.executable, "-m", "qpercept", "ctl", a.control, "bogus"],
                         cwd=CLIENT_DIR, env=env, capture_output=True, text=True, timeout=60)
    check(run.returncode == 2, f"python3 -m qpercept ctl bogus: exit {run.returncode}")


def main():
    p = argparse.ArgumentParser()
    for name in ("frames", "stream", "detections", "control", "jpeg", "rgb", "tmp"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--width", type=int, required=True)
    p.add_argument("--height", type=int, required=True)
    a = p.parse_args()
    for test in (test_control, test_server_frames, test_publisher_rules, test_pub_kind,
                 test_subscriber_malformed, test_curve, test_loader_and_cli):
        try:
            test(a)
        except Exception as e:  # a test that crashed fails, the others still run
            check(False, f"{test.__name__} raised {type(e).__name__}: {e}")
    if FAILS:
        print(f"{len(FAILS)} of {CHECKS[0]} checks failed", file=sys.stderr)
        return 1
    print(f"PASS {CHECKS[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
