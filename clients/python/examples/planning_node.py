#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""planning_node.py - the closest object ahead per camera, as a planning node consumes detections.

  planning_node.py DETECTIONS_ENDPOINT [--stream NAME ...] [--image-width 1600]
                   [--corridor 0.3] [--min-score 0.4] [--max-age-ms 200]

A forward camera sees the road ahead in a corridor around the image's
vertical centre line (--corridor: its width as a fraction of the image).
Among the road users whose box overlaps the corridor, the one whose bottom
edge is lowest in the image stands on the ground closest to the camera (flat
road, camera level). For every message it prints that object (or "clear")
with the message's age; a message older than --max-age-ms is reported as
stale instead of being acted on, and a gap in the stream's seqs is said,
since a planner must know when it is missing frames.

Run from a checkout (the package generates its protobuf module itself):
  PYTHONPATH=clients/python clients/python/examples/planning_node.py ipc:///run/qpercept/detections
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import qpercept  # noqa: E402

ROAD_USERS = {"person", "bicycle", "car", "motorcycle", "bus", "truck", "train"}


def closest_ahead(d, image_width, corridor, min_score):
    """The detection ahead with the lowest bottom edge, or None."""
    left = image_width * (0.5 - corridor / 2)
    right = image_width * (0.5 + corridor / 2)
    ahead = [e for e in d.detections
             if e.label in ROAD_USERS and e.score >= min_score and e.x1 >= left and e.x0 <= right]
    return max(ahead, key=lambda e: e.y1, default=None)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("endpoint", help="qperceptd's detections endpoint")
    p.add_argument("--stream", action="append", help="camera stream (repeat); all if none")
    p.add_argument("--image-width", type=float, default=1600, help="source image width, px")
    p.add_argument("--corridor", type=float, default=0.3, help="corridor width / image width")
    p.add_argument("--min-score", type=float, default=0.4)
    p.add_argument("--max-age-ms", type=float, default=200)
    a = p.parse_args()
    with qpercept.Subscriber(a.endpoint, a.stream) as sub:
        try:
            for d in sub:
                age_ms = (time.time_ns() - d.capture_ns) / 1e6
                gap = f" [{d.n_missing} frames missing]" if d.n_missing else ""
                if d.status == qpercept.Status.ERROR or age_ms > a.max_age_ms:
                    why = d.error if d.status == qpercept.Status.ERROR else "stale"
                    print(f"{d.stream} seq {d.seq}: ignored ({why}, {age_ms:.0f} ms old){gap}")
                    continue
                e = closest_ahead(d, a.image_width, a.corridor, a.min_score)
                what = (f"{e.label} {e.score:.2f}, bottom at y={e.y1:.0f} px, "
                        f"x {e.x0:.0f}-{e.x1:.0f}") if e else "clear"
                print(f"{d.stream} seq {d.seq}: closest ahead {what} ({age_ms:.0f} ms old){gap}",
                      flush=True)
        except KeyboardInterrupt:
            s = sub.stats()
            print(f"{s.n_received} messages, {s.n_missing} missing, {s.n_malformed} malformed",
                  file=sys.stderr)


if __name__ == "__main__":
    main()
