# SPDX-License-Identifier: Apache-2.0
"""One camera stream's frame publisher: [stream][Frame] over ZeroMQ, never blocking.

The Python twin of the C library's qp_pub (include/qpercept/client.h), with
the same semantics:

- kind "pub": an XPUB socket that binds, with XPUB_NODROP, so a full queue
  is a refusal we count instead of a silent drop; XPUB also hands us the
  subscriptions, so a frame nobody subscribed to is dropped and counted
  (the server's stream mode = sub connects to it). kind "push": a PUSH
  socket that connects (the server's mode = pull), sent without waiting.
- Every frame that passes validation uses the next sequence number (from
  0), sent or dropped, so the receiver sees drops as gaps. send() returns
  the seq, or None when the frame was dropped.
- Frames are checked by the protocol's rules (docs/protocol.md) before
  anything is sent: a bad frame raises ValueError and uses no seq.

Pixels are bytes, bytearray, memoryview or anything with the buffer
protocol (a numpy array, whose shape can also give width and height);
numpy itself is not needed. Shared-memory transport (qp_pub's shm_slots)
is not offered here: frames travel inline.
"""
from dataclasses import dataclass

import zmq

from . import _wire
from ._proto import pb
from ._wire import PixelFormat, QperceptError


@dataclass
class PubStats:
    n_sent: int = 0  # frames handed to the transport
    n_dropped: int = 0  # n_dropped_hwm + n_no_subscriber
    n_dropped_hwm: int = 0  # a peer's queue was full (high-water mark)
    n_no_subscriber: int = 0  # pub: nobody subscribed to the stream
    next_seq: int = 0  # the seq the next frame gets
    subscribed: bool = False  # pub: a subscription covers the stream now


def _pixels_view(pixels):
    """pixels as a flat byte memoryview and its shape (C order, copied
    only when the buffer is not contiguous)."""
    try:
        mv = memoryview(pixels)
    except TypeError:
        raise ValueError(f"pixels of type {type(pixels).__name__} have no buffer") from None
    shape = mv.shape
    if not mv.c_contiguous:
        mv = memoryview(mv.tobytes())
    return mv.cast("B") if mv.ndim != 1 or mv.format != "B" else mv, shape


class Publisher(_wire.SocketOwner):
    """Publish one camera stream's frames.

    Publisher(endpoint, stream, kind="pub"|"push", send_hwm=4,
    max_frame_bytes=1920*1080*3, curve_server_key=None, curve_secret_key=None)

    A handle is used by one thread at a time (ZeroMQ sockets are not
    thread-safe); each owns its ZeroMQ context. Close it (or use ``with``).
    """

    def __init__(self, endpoint, stream, kind="pub", send_hwm=4,
                 max_frame_bytes=1920 * 1080 * 3, curve_server_key=None, curve_secret_key=None):
        _wire.check_stream(stream, "publisher")
        self.who = f"publisher '{stream}'"
        if kind not in ("pub", "push"):
            raise ValueError(f"{self.who}: kind {kind!r} is not 'pub' or 'push'")
        if not isinstance(send_hwm, int) or send_hwm < 1:
            raise ValueError(f"{self.who}: send_hwm {send_hwm!r} must be an int >= 1")
        if not isinstance(max_frame_bytes, int) or max_frame_bytes < 1:
            raise ValueError(f"{self.who}: max_frame_bytes {max_frame_bytes!r} must be >= 1")
        if not endpoint:
            raise ValueError(f"{self.who}: no endpoint given")
        self.endpoint = endpoint
        self.stream = stream
        self.kind = kind
        self.max_frame_bytes = max_frame_bytes
        self._topic = stream.encode("ascii")
        self._stats = PubStats()
        self._n_covering = 0  # live subscriptions whose prefix covers the stream

        def options(sock):
            sock.linger = 0
            sock.sndhwm = send_hwm
            if kind == "pub":
                sock.setsockopt(zmq.XPUB_NODROP, 1)
            _wire.set_curve(sock, curve_server_key, curve_secret_key, self.who)

        self._open(zmq.XPUB if kind == "pub" else zmq.PUSH, endpoint, self.who,
                   [("socket options", options),
                    ("bind", lambda sock: sock.bind(endpoint)) if kind == "pub" else
                    ("connect", lambda sock: sock.connect(endpoint))])

    @property
    def stats(self):
        """Counters since creation (a copy)."""
        return PubStats(**vars(self._stats))

    def _drain_subscriptions(self):
        """Read the (un)subscriptions XPUB queued: [1|0][prefix]; only
        prefixes of our stream count."""
        while True:
            try:
                m = self._sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            except zmq.ZMQError as e:
                raise QperceptError(f"{self.who} on {self.endpoint}: reading subscriptions: "
                                    f"{e}") from e
            if not m or not self._topic.startswith(m[1:]):
                continue
            if m[0] == 1:
                self._n_covering += 1
            elif m[0] == 0 and self._n_covering > 0:
                self._n_covering -= 1
        self._stats.subscribed = self._n_covering > 0

    def wait_subscriber(self, timeout_ms):
        """pub: wait up to timeout_ms (< 0: forever) until a subscription
        covers the stream, so frames sent next are delivered (ZeroMQ's slow
        joiner): True, or False on timeout. push: True at once."""
        if self.kind != "pub":
            return True
        deadline = None if timeout_ms < 0 else _wire.now_ms() + timeout_ms
        while True:
            self._drain_subscriptions()
            if self._n_covering > 0:
                return True
            if not _wire.wait(self._sock, zmq.POLLIN, deadline):
                return False

    def _frame(self, mv, shape, width, height, fmt, stride, capture_ns, frame_id):
        """The Frame message for these pixels, checked by the protocol's
        rules in its order (header, format, dimensions, stride, size)."""
        where = f"{self.who} on {self.endpoint}"
        if width is None or height is None:
            if len(shape) < 2:
                raise ValueError(f"{where}: give width and height (the pixels have no 2-D shape)")
            height, width = shape[0], shape[1]
        if not _wire.name_ok(frame_id, _wire.FRAME_ID_MAX, allow_empty=True):
            raise ValueError(f"{where}: frame_id {frame_id!r} is not 0-{_wire.FRAME_ID_MAX} "
                             "bytes of printable ASCII without spaces")
        if mv.nbytes > self.max_frame_bytes:
            raise ValueError(f"{where}: {mv.nbytes} pixel bytes, more than max_frame_bytes "
                             f"{self.max_frame_bytes}")
        if capture_ns is not None and not 0 <= capture_ns < 1 << 64:
            raise ValueError(f"{where}: capture_ns {capture_ns} is not a uint64")
        if not all(isinstance(v, int) and 1 <= v <= _wire.MAX_DIM for v in (width, height)):
            raise ValueError(f"{where}: {width}x{height} {fmt.name}: width and height must be "
                             f"in [1, {_wire.MAX_DIM}]")
        if fmt == PixelFormat.NV12 and (width % 2 or height % 2):
            raise ValueError(f"{where}: {width}x{height} NV12: width and height must be even")
        raw = fmt in _wire.BYTES_PER_PIXEL
        row = width * _wire.BYTES_PER_PIXEL[fmt] if raw else 0
        stride = row if stride is None else stride
        if not raw and stride != 0:
            raise ValueError(f"{where}: {width}x{height} {fmt.name}: stride {stride}, must be 0 "
                             "for an encoded format")
        if raw and (not isinstance(stride, int) or not row <= stride < 1 << 32):
            raise ValueError(f"{where}: {width}x{height} {fmt.name}: stride {stride} is less "
                             f"than the {row} bytes of a row (or over 32 bits)")
        need = _wire.image_bytes(fmt, stride, height)
        if (need is not None and mv.nbytes != need) or (need is None and mv.nbytes == 0):
            raise ValueError(f"{where}: {width}x{height} {fmt.name} needs "
                             f"{need if need is not None else 'a non-empty file of'} bytes, got "
                             f"{mv.nbytes}")
        return pb.Frame(
            header=pb.FrameHeader(stream=self.stream, seq=self._stats.next_seq,
                                  capture_ns=capture_ns or _wire.realtime_ns(),
                                  frame_id=frame_id),
            image=pb.Image(width=width, height=height, stride=stride, pixel_format=int(fmt),
                           inline_data=bytes(mv)))

    def _dropped(self, counter):
        setattr(self._stats, counter, getattr(self._stats, counter) + 1)
        self._stats.n_dropped += 1
        return None

    def send(self, pixels, width=None, height=None, format="BGR8", stride=None,
             capture_ns=None, frame_id=""):
        """Publish one frame as [stream][Frame] with the next seq; never blocks.

        width / height: pixels (declared for JPEG / PNG); taken from a 2-D+
        shape (height, width, ...) when None. stride: bytes per row, default
        width x bytes per pixel (0 for JPEG / PNG). capture_ns: CLOCK_REALTIME
        ns, None or 0 = now. Returns the seq, or None when the frame was
        dropped and counted (a peer's queue is full, or for pub nobody
        subscribed); a dropped frame still used its seq. Raises ValueError
        for a frame that breaks the protocol's rules (no seq used) and
        QperceptError when the socket fails.
        """
        if self._sock is None:
            raise QperceptError(f"{self.who}: closed")
        fmt = _wire.pixel_format(format)
        mv, shape = _pixels_view(pixels)
        frame = self._frame(mv, shape, width, height, fmt, stride, capture_ns, frame_id)
        if self.kind == "pub":
            self._drain_subscriptions()
        seq = self._stats.next_seq
        self._stats.next_seq += 1  # from here on the frame is sent or dropped
        if self.kind == "pub" and self._n_covering == 0:
            return self._dropped("n_no_subscriber")
        payload = frame.SerializeToString()
        try:
            self._sock.send(self._topic, zmq.SNDMORE | zmq.NOBLOCK)
        except zmq.Again:
            return self._dropped("n_dropped_hwm")
        except zmq.ZMQError as e:
            raise QperceptError(f"{self.who} on {self.endpoint}: send seq {seq}: {e}") from e
        try:
            # once the first part is in, the rest of the message is accepted
            # too: the high-water mark counts whole messages
            self._sock.send(payload, zmq.NOBLOCK)
        except zmq.ZMQError as e:
            raise QperceptError(f"{self.who} on {self.endpoint}: send seq {seq}: {e}") from e
        self._stats.n_sent += 1
        return seq
