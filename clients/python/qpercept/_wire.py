# SPDX-License-Identifier: Apache-2.0
"""The wire protocol's numbers, names and rules, shared by the client classes.

Everything here restates docs/protocol.md (and include/qpercept/client.h's
limits, which are the same numbers): the string limits in bytes without a
terminator, the pixel formats and their byte counts, the name charset, the
enums as numbered on the wire, the exceptions, and CURVE key handling as
the C client does it (40-character Z85 keys, the public key derived from
the secret). Sockets and messages are elsewhere.
"""
import enum
import os
import time

import zmq
import zmq.utils.z85

# ===== Limits (bytes, no terminator) =====
STREAM_MAX = 63
FRAME_ID_MAX = 63
MAX_DIM = 16384
MAX_DETECTIONS = 256
LABEL_MAX = 47
NAME_MAX = 63  # model name, backend
ID_MAX = 79  # engine id
VERSION_MAX = 31
ERROR_MAX = 511
PATH_MAX = 1023  # engine path of a reload
SUB_MAX_STREAMS = 64  # streams one subscriber filters or tracks (gap check)
SUB_MAX_MESSAGE_BYTES = 64 << 10  # a Detections payload above this is refused unread


class PixelFormat(enum.IntEnum):
    """Numbered as on the wire (PixelFormat); UNSPECIFIED is invalid."""
    RGB8 = 1
    BGR8 = 2
    GRAY8 = 3
    NV12 = 4  # Y plane, then interleaved UV at the same stride; even dims
    JPEG = 5  # the whole file, stride 0
    PNG = 6  # the whole file, stride 0


# bytes per pixel of the raw formats (NV12: of the Y plane); encoded formats have none
BYTES_PER_PIXEL = {PixelFormat.RGB8: 3, PixelFormat.BGR8: 3, PixelFormat.GRAY8: 1,
                   PixelFormat.NV12: 1}


class Status(enum.IntEnum):
    """A Detections message's status; UNSPECIFIED (0) is invalid."""
    OK = 1
    DEGRADED = 2  # detections valid; error says how the server is degraded
    ERROR = 3  # no detections; error says why


class ServerState(enum.IntEnum):
    """StatusReply.state; UNSPECIFIED (0) is invalid in an ok reply."""
    STARTING = 1
    SERVING = 2
    RELOADING = 3
    DRAINING = 4


class QperceptError(Exception):
    """A socket could not be made, bound, connected or used."""


class ControlTimeout(QperceptError, TimeoutError):
    """No control reply within the timeout (a dead or wedged server)."""


class ControlError(QperceptError):
    """The server answered but refused the request; .error is its reason."""

    def __init__(self, message, error=""):
        super().__init__(message)
        self.error = error


class ProtocolError(QperceptError):
    """A reply broke the protocol's rules (undecodable, wrong kind, bad value)."""


class Malformed(Exception):
    """A received message broke the rules; reason is the drop reason's name."""

    def __init__(self, reason, why):
        super().__init__(why)
        self.reason = reason


class SocketOwner:
    """One ZeroMQ socket in its own context (the publisher's, the subscriber's):
    opened by _open, closed by close() (idempotent) or by leaving ``with``."""

    _ctx = None
    _sock = None

    def _open(self, sock_type, endpoint, who, steps):
        """Create the socket and run steps, (what, fn(sock)) pairs, in order; a
        ZeroMQ error closes everything and raises QperceptError naming who, the
        endpoint and the step; a ValueError (a bad CURVE key) closes and passes."""
        self._ctx = zmq.Context()
        what = "socket options"
        try:
            self._sock = self._ctx.socket(sock_type)
            for what, fn in steps:
                fn(self._sock)
        except zmq.ZMQError as e:
            self.close()
            raise QperceptError(f"{who} on {endpoint}: {what}: {e}") from e
        except ValueError:
            self.close()
            raise

    def close(self):
        """Close the socket (what it has not sent is discarded); idempotent."""
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None
        if self._ctx is not None:
            self._ctx.term()
            self._ctx = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def realtime_ns():
    """CLOCK_REALTIME in nanoseconds, the protocol's clock."""
    return time.time_ns()


def now_ms():
    """CLOCK_MONOTONIC in milliseconds, for deadlines."""
    return time.monotonic_ns() // 1000000


# Longest single wait inside the library. A signal may be delivered to one of
# ZeroMQ's own threads, which leaves a blocking poll in the main thread
# asleep; Python runs its handlers (Ctrl-C's KeyboardInterrupt) only
# between calls, so waits are sliced.
SLICE_MS = 100


def ms_left(deadline_ms):
    """The next wait towards deadline_ms (None: forever): 0..SLICE_MS."""
    if deadline_ms is None:
        return SLICE_MS
    return min(SLICE_MS, max(0, deadline_ms - now_ms()))


def wait(sock, event, deadline_ms):
    """Poll sock for event (zmq.POLLIN / POLLOUT) until deadline_ms (None:
    forever), in slices: True when ready, False at the deadline."""
    while not sock.poll(ms_left(deadline_ms), event):
        if deadline_ms is not None and now_ms() >= deadline_ms:
            return False
    return True


def name_ok(s, max_bytes, allow_empty=False):
    """A stream name / frame_id: at most max_bytes of 0x21-0x7E (printable
    ASCII without spaces); empty only with allow_empty."""
    if not isinstance(s, str) or len(s) > max_bytes or (not s and not allow_empty):
        return False
    return all(0x21 <= ord(c) <= 0x7E for c in s)


def check_stream(stream, who):
    if not name_ok(stream, STREAM_MAX):
        raise ValueError(f"{who}: stream name {stream!r} is not 1-{STREAM_MAX} bytes of "
                         "printable ASCII without spaces (0x21-0x7E)")
    return stream


def pixel_format(value):
    """A PixelFormat from an int or a name ("BGR8", "bgr8", PixelFormat.BGR8)."""
    try:
        if isinstance(value, str):
            return PixelFormat[value.upper()]
        return PixelFormat(value)
    except (KeyError, ValueError):
        names = ", ".join(f.name for f in PixelFormat)
        raise ValueError(f"pixel format {value!r} is not one of {names}") from None


def image_bytes(fmt, stride, height):
    """The exact pixel byte count of a raw format; None for JPEG / PNG."""
    if fmt not in BYTES_PER_PIXEL:
        return None
    return stride * height * 3 // 2 if fmt == PixelFormat.NV12 else stride * height


# ===== CURVE =====

def _z85_key(key, what):
    if isinstance(key, str):
        key = key.encode("ascii", "replace")
    try:
        ok = isinstance(key, bytes) and len(key) == 40 and len(zmq.utils.z85.decode(key)) == 32
    except (ValueError, KeyError, TypeError, IndexError):
        ok = False
    if not ok:
        raise ValueError(f"{what}: a CURVE key is 40 characters of Z85")
    return key


def set_curve(sock, server_key, secret_key, who):
    """Make sock a CURVE client (both keys or neither; None: none)."""
    if server_key is None and secret_key is None:
        return
    if server_key is None or secret_key is None:
        raise ValueError(f"{who}: CURVE needs both the server's public key and this client's "
                         "secret key")
    server = _z85_key(server_key, who)
    secret = _z85_key(secret_key, who)
    sock.curve_serverkey = server
    sock.curve_publickey = zmq.curve_public(secret)
    sock.curve_secretkey = secret


def read_key(path):
    """The Z85 key in a key file (one 40-character key, blanks around it
    ignored), as the server's key files and `qpercept ctl --curve-*-key`."""
    with open(path, "rb") as f:
        words = f.read(4096).split()
    if len(words) != 1 or len(words[0]) != 40:
        raise ValueError(f"{os.fspath(path)}: want one 40-character Z85 key")
    return words[0].decode("ascii", "replace")
