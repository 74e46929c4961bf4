# SPDX-License-Identifier: Apache-2.0
"""The detections subscriber: exact stream filtering, validation, per-stream gaps.

The Python twin of the C library's qp_sub (include/qpercept/client.h):

- ZeroMQ's subscription is a byte-prefix match on the topic, so a
  subscriber of "cam_front" also gets "cam_front2": the topic is compared
  exactly against the stream list (others are skipped and counted
  n_filtered before any decoding), and the decoded header's stream must
  equal the topic.
- A message is [topic][Detections]. One that breaks docs/protocol.md's
  rules (not two parts, a topic that is no stream name, a payload over
  SUB_MAX_MESSAGE_BYTES, undecodable, a rule of "Validation and drop
  reasons", a header naming another stream) is dropped and counted
  n_malformed, its reason kept in last_error; recv() never raises for it,
  it goes on waiting for a good message within its timeout.
- Per stream the last seq is kept: a jump is a gap (the message's
  n_missing, and n_gaps / n_missing in the stats), a seq not above the last
  one a publisher restart (n_resets). At most SUB_MAX_STREAMS streams are
  tracked; messages of further streams are returned but counted
  n_untracked, without a gap check.

One difference from the C decoder: Python's protobuf refuses a string
field that is not UTF-8 (e.g. in error) as undecodable, where protobuf-c
takes the bytes as they are. Every string the server sends is ASCII.
"""
import dataclasses
import math
from dataclasses import dataclass, field
from typing import List, Tuple

import zmq

from . import _wire
from ._proto import pb
from ._wire import Malformed, QperceptError, Status


@dataclass(frozen=True)
class Detection:
    class_id: int  # index into the model's label list
    label: str  # class name from the model card, e.g. "car"
    score: float  # confidence in [0, 1]
    box: Tuple[float, float, float, float]  # x0, y0, x1, y1: source-image pixels

    @property
    def x0(self):
        return self.box[0]

    @property
    def y0(self):
        return self.box[1]

    @property
    def x1(self):
        return self.box[2]

    @property
    def y1(self):
        return self.box[3]


@dataclass(frozen=True)
class Stamps:
    """Server stage stamps, CLOCK_REALTIME ns; 0 for a stage not reached."""
    received_ns: int = 0
    batched_ns: int = 0
    inference_start_ns: int = 0
    inference_end_ns: int = 0
    published_ns: int = 0


@dataclass(frozen=True)
class Drops:
    """The stream's server-side drops since the server started (cumulative)."""
    replaced: int = 0
    too_old: int = 0
    malformed: int = 0
    oversized: int = 0
    unknown_stream: int = 0
    shm_torn: int = 0
    engine_error: int = 0


@dataclass(frozen=True)
class Detections:
    """One Detections message, decoded and validated."""
    stream: str  # header: the source frame's
    seq: int
    capture_ns: int
    frame_id: str
    model: str
    engine_id: str
    stamps: Stamps
    batch_size: int
    drops: Drops
    status: Status
    error: str  # "" when OK
    detections: List[Detection] = field(default_factory=list)  # best score first
    # seqs of this stream skipped right before this message (0: none)
    n_missing: int = 0

    @property
    def latency_ns(self):
        """Capture to publication, by the server's stamp."""
        return self.stamps.published_ns - self.capture_ns


@dataclass
class SubStats:
    n_received: int = 0  # messages returned by recv
    n_filtered: int = 0  # other streams that matched a filter's prefix, skipped
    n_malformed: int = 0  # refused: undecodable, invalid, oversized, topic mismatch
    n_gaps: int = 0  # seq jumps seen (messages with n_missing > 0)
    n_missing: int = 0  # seqs skipped in total
    n_resets: int = 0  # seq not above the last one: the publisher restarted
    n_untracked: int = 0  # messages of streams beyond SUB_MAX_STREAMS (no gap check)
    n_streams: int = 0  # streams in the per-stream table


@dataclass
class StreamStats:
    stream: str
    n_received: int = 0
    n_gaps: int = 0
    n_missing: int = 0
    n_resets: int = 0
    last_seq: int = 0  # of the last message; meaningful when n_received > 0


# ===== Decoding and the protocol's rules =====

def _printable(s, lo):
    return all(lo <= ord(c) <= 0x7E for c in s)


def _nbytes(s):
    return len(s.encode("utf-8"))


def _check_strings(m):
    """What the C decoder checks while copying out, in its order."""
    h = m.header
    if _nbytes(h.stream) > _wire.STREAM_MAX:
        raise Malformed("bad_stream", f"stream name of {_nbytes(h.stream)} bytes, at most "
                                      f"{_wire.STREAM_MAX}")
    if _nbytes(h.frame_id) > _wire.FRAME_ID_MAX:
        raise Malformed("bad_header", f"frame_id of {_nbytes(h.frame_id)} bytes, at most "
                                      f"{_wire.FRAME_ID_MAX}")
    if (_nbytes(m.model) > _wire.NAME_MAX or _nbytes(m.engine_id) > _wire.ID_MAX or
            _nbytes(m.error) > _wire.ERROR_MAX):
        raise Malformed("bad_value", f"model ({_wire.NAME_MAX}), engine_id ({_wire.ID_MAX}) or "
                                     f"error ({_wire.ERROR_MAX} bytes at most) too long")
    if len(m.detections) > _wire.MAX_DETECTIONS:
        raise Malformed("bad_value", f"{len(m.detections)} detections, at most "
                                     f"{_wire.MAX_DETECTIONS}")
    for i, d in enumerate(m.detections):
        if _nbytes(d.label) > _wire.LABEL_MAX:
            raise Malformed("bad_value", f"detection {i}: label of {_nbytes(d.label)} bytes, at "
                                         f"most {_wire.LABEL_MAX}")


def _check_values(m):
    """docs/protocol.md's rules for a Detections, in proto/wire.c's order."""
    h = m.header
    if not h.stream:
        raise Malformed("bad_stream", "empty stream name")
    if not _printable(h.stream, 0x21):
        raise Malformed("bad_stream", "stream name has a byte outside 0x21-0x7E")
    if not _printable(h.frame_id, 0x21):
        raise Malformed("bad_header", "frame_id has a byte outside 0x21-0x7E")
    if h.capture_ns == 0:
        raise Malformed("missing_field", "capture_ns is 0 (unset)")
    if m.status not in (Status.OK, Status.DEGRADED, Status.ERROR):
        raise Malformed("bad_value", f"status {m.status} is unspecified or unknown")
    if m.status != Status.ERROR and m.batch_size == 0:
        raise Malformed("bad_value", f"batch_size 0 with status {Status(m.status).name}")
    for i, d in enumerate(m.detections):
        if not _printable(d.label, 0x20):
            raise Malformed("bad_value", f"detection {i}: label not printable ASCII")
        if not 0.0 <= d.score <= 1.0:  # NaN fails too
            raise Malformed("bad_value", f"detection {i}: score {d.score} outside [0, 1]")
        box = (d.x0, d.y0, d.x1, d.y1)
        if not all(math.isfinite(v) for v in box) or not (d.x0 <= d.x1 and d.y0 <= d.y1):
            raise Malformed("bad_value", f"detection {i}: box {box} is not finite with "
                                         "x0 <= x1, y0 <= y1")


def decode_detections(payload, n_missing=0):
    """Decode and validate one Detections payload; raises Malformed."""
    if len(payload) > _wire.SUB_MAX_MESSAGE_BYTES:
        raise Malformed("oversized", f"{len(payload)} payload bytes, over the cap of "
                                     f"{_wire.SUB_MAX_MESSAGE_BYTES}")
    m = pb.Detections()
    try:
        m.ParseFromString(payload)
    except Exception as e:  # DecodeError, or RuntimeWarning-like errors of some backends
        raise Malformed("undecodable", f"not a Detections message: {e}") from None
    if not m.HasField("header"):
        raise Malformed("missing_field", "no header")
    _check_strings(m)
    _check_values(m)
    s, d = m.stamps, m.drops
    return Detections(
        stream=m.header.stream, seq=m.header.seq, capture_ns=m.header.capture_ns,
        frame_id=m.header.frame_id, model=m.model, engine_id=m.engine_id,
        stamps=Stamps(s.received_ns, s.batched_ns, s.inference_start_ns, s.inference_end_ns,
                      s.published_ns),
        batch_size=m.batch_size,
        drops=Drops(d.replaced, d.too_old, d.malformed, d.oversized, d.unknown_stream,
                    d.shm_torn, d.engine_error),
        status=Status(m.status), error=m.error,
        detections=[Detection(e.class_id, e.label, e.score, (e.x0, e.y0, e.x1, e.y1))
                    for e in m.detections],
        n_missing=n_missing)


# ===== The subscriber =====

class Subscriber(_wire.SocketOwner):
    """Subscribe to qperceptd's detections.

    Subscriber(endpoint, streams=None, recv_timeout_ms=1000, recv_hwm=100,
    curve_server_key=None, curve_secret_key=None): connects a SUB socket to
    the server's detections endpoint; streams: exact stream names (None or
    empty: all). One thread at a time per subscriber. Iterating yields
    messages forever.
    """

    def __init__(self, endpoint, streams=None, recv_timeout_ms=1000, recv_hwm=100,
                 curve_server_key=None, curve_secret_key=None):
        self.who = "subscriber"
        streams = list(streams or [])
        if len(streams) > _wire.SUB_MAX_STREAMS:
            raise ValueError(f"subscriber on {endpoint}: {len(streams)} streams, at most "
                             f"{_wire.SUB_MAX_STREAMS}")
        for s in streams:
            _wire.check_stream(s, f"subscriber on {endpoint}")
        if not isinstance(recv_hwm, int) or recv_hwm < 1:
            raise ValueError(f"subscriber on {endpoint}: recv_hwm {recv_hwm!r} must be >= 1")
        if not endpoint:
            raise ValueError("subscriber: no endpoint given")
        self.endpoint = endpoint
        self.recv_timeout_ms = recv_timeout_ms
        self.last_error = ""  # why the last malformed message was dropped
        self._filter = {s.encode("ascii") for s in streams}
        self._stats = SubStats()
        self._streams = {}  # name -> StreamStats, in order of appearance (or the list's)
        for s in streams:
            self._streams.setdefault(s, StreamStats(s))
        def options(sock):
            sock.linger = 0
            sock.rcvhwm = recv_hwm
            _wire.set_curve(sock, curve_server_key, curve_secret_key, f"subscriber on {endpoint}")

        def subscribe(sock):
            for topic in sorted(self._filter) or [b""]:
                sock.setsockopt(zmq.SUBSCRIBE, topic)

        self._open(zmq.SUB, endpoint, "subscriber",
                   [("socket options", options), ("connect", lambda sock: sock.connect(endpoint)),
                    ("subscribe", subscribe)])

    def __iter__(self):
        while True:
            d = self.recv(-1)
            if d is not None:
                yield d

    def stats(self):
        """Counters since creation (a copy)."""
        s = SubStats(**vars(self._stats))
        s.n_streams = len(self._streams)
        return s

    def stream_stats(self):
        """The per-stream table (copies): the stream list in order, else the
        streams as they appeared."""
        return [StreamStats(**vars(t)) for t in self._streams.values()]

    def _track(self, stream, seq):
        """Per-stream seq tracking: the seqs skipped before this one."""
        t = self._streams.get(stream)
        if t is None and len(self._streams) < _wire.SUB_MAX_STREAMS:
            t = self._streams[stream] = StreamStats(stream)
        if t is None:
            self._stats.n_untracked += 1
            return 0
        missing = 0
        if t.n_received > 0 and seq > t.last_seq:
            missing = seq - t.last_seq - 1
        elif t.n_received > 0:
            t.n_resets += 1
            self._stats.n_resets += 1
        if missing:
            t.n_gaps += 1
            t.n_missing += missing
            self._stats.n_gaps += 1
            self._stats.n_missing += missing
        t.last_seq = seq
        t.n_received += 1
        return missing

    def _malformed(self, topic, why):
        self._stats.n_malformed += 1
        shown = topic[:_wire.STREAM_MAX].decode("ascii", "backslashreplace")
        self.last_error = f"subscriber on {self.endpoint}: topic '{shown}': {why}"
        return None

    def _read_one(self):
        """One message poll said is there: a Detections, or None (another
        stream, a malformed message)."""
        try:
            parts = self._sock.recv_multipart(zmq.NOBLOCK, copy=False)
        except zmq.Again:
            return None
        except zmq.ZMQError as e:
            raise QperceptError(f"subscriber on {self.endpoint}: receive: {e}") from e
        topic = parts[0].bytes
        fits = len(topic) <= _wire.STREAM_MAX and b"\0" not in topic
        if self._filter and (not fits or topic not in self._filter):
            self._stats.n_filtered += 1
            return None
        if not fits or len(parts) < 2:
            return self._malformed(topic, "no payload part" if fits
                                   else "topic is not a stream name")
        if len(parts) > 2:
            return self._malformed(topic, "more than two parts")
        try:
            if len(parts[1]) > _wire.SUB_MAX_MESSAGE_BYTES:  # refused unread
                raise Malformed("oversized", f"{len(parts[1])} payload bytes, over the cap of "
                                             f"{_wire.SUB_MAX_MESSAGE_BYTES}")
            d = decode_detections(parts[1].bytes)
        except Malformed as e:
            return self._malformed(topic, f"{e.reason}: {e}")
        if d.stream.encode("utf-8") != topic:
            return self._malformed(topic, f"carries stream '{d.stream}'")
        missing = self._track(d.stream, d.seq)
        self._stats.n_received += 1
        return dataclasses.replace(d, n_missing=missing) if missing else d

    def recv(self, timeout_ms=None):
        """The next Detections of a subscribed stream, waiting at most
        timeout_ms (None: recv_timeout_ms; 0: poll; < 0: forever); None when
        nothing valid came within the wait. Malformed messages are counted
        and skipped (last_error says why), never raised. QperceptError when
        the socket fails."""
        if self._sock is None:
            raise QperceptError(f"subscriber on {self.endpoint}: closed")
        if timeout_ms is None:
            timeout_ms = self.recv_timeout_ms
        deadline = None if timeout_ms < 0 else _wire.now_ms() + timeout_ms
        while True:
            try:
                if not _wire.wait(self._sock, zmq.POLLIN, deadline):
                    return None
            except zmq.ZMQError as e:
                raise QperceptError(f"subscriber on {self.endpoint}: poll: {e}") from e
            d = self._read_one()
            if d is not None:
                return d
