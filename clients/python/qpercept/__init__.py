# SPDX-License-Identifier: Apache-2.0
"""qpercept: the Python client of qperceptd, over pyzmq and protobuf.

Publish camera frames, subscribe to detections, send control requests,
speaking the wire protocol (docs/protocol.md) with the semantics of the C
client library (include/qpercept/client.h):

    Publisher(endpoint, stream, kind="pub"|"push", send_hwm=4).send(pixels, width, height)
        -> seq, or None when the frame was dropped (never blocks; counted)
    Subscriber(endpoint, streams=None).recv(timeout_ms) -> Detections or None
        (exact stream filter, validation, per-stream gaps in n_missing;
        malformed messages are counted in stats().n_malformed, never raised)
    Control(endpoint, timeout_ms=5000).ping() / status() / stats() / reload(path)

The protobuf module is generated from proto/qpercept.proto at build time or,
from a plain checkout, on first import (qpercept._proto). See README.md.
"""
from ._wire import (ControlError, ControlTimeout, PixelFormat, ProtocolError, QperceptError,
                    ServerState, Status, read_key)
from .control import Control, ControlReply
from .publisher import Publisher, PubStats
from .subscriber import (Detection, Detections, Drops, Stamps, StreamStats, Subscriber,
                         SubStats)

__version__ = "0.1.0"

__all__ = [
    "Control", "ControlError", "ControlReply", "ControlTimeout", "Detection", "Detections",
    "Drops", "PixelFormat", "ProtocolError", "PubStats", "Publisher", "QperceptError",
    "ServerState", "Stamps", "Status", "StreamStats", "SubStats", "Subscriber", "read_key",
]
