# SPDX-License-Identifier: Apache-2.0
"""Control requests to qperceptd: ping, status, stats, reload, each with a bounded wait.

The Python twin of the C library's qp_ctl_request_opts: every request makes
its own ZeroMQ context and a fresh REQ socket with linger 0, and closes
both before returning, so a dead or wedged server costs the timeout and
nothing more (a REQ socket's strict send/receive alternation never
outlives a timed-out request), and calls share nothing: any thread, any
number at once. Sending and receiving share one deadline.

request() returns the reply as the server gave it (ok may be False); the
named methods raise ControlError when the server refused. A reply that
breaks the protocol's rules (undecodable, a string over its limit, an ok
reply without a kind or of another kind, an unknown server state) raises
ProtocolError; no reply in time ControlTimeout, naming the endpoint.
"""
import json
from dataclasses import dataclass
from typing import Optional

import zmq

from . import _wire
from ._proto import pb
from ._wire import ControlError, ControlTimeout, ProtocolError, QperceptError, ServerState

KINDS = ("ping", "status", "stats", "reload")  # the oneof names of request and reply

# per reply kind: (field, limit in bytes) of its strings
_REPLY_STRINGS = {
    "ping": (("version", _wire.VERSION_MAX),),
    "status": (("model", _wire.NAME_MAX), ("engine_id", _wire.ID_MAX),
               ("backend", _wire.NAME_MAX), ("version", _wire.VERSION_MAX)),
    "stats": (),
    "reload": (("model", _wire.NAME_MAX), ("engine_id", _wire.ID_MAX)),
}


@dataclass(frozen=True)
class ControlReply:
    """A decoded ControlReply. Which fields a kind fills: ping server_time_ns,
    version; status state, model, engine_id, backend, uptime_ns, streams,
    version; stats stats_json; reload model, engine_id."""
    kind: Optional[str]  # None only in a reply the server refused
    ok: bool
    error: str = ""
    server_time_ns: int = 0
    version: str = ""
    state: Optional[ServerState] = None
    model: str = ""
    engine_id: str = ""
    backend: str = ""
    uptime_ns: int = 0
    streams: int = 0
    stats_json: str = ""


def _decode(payload, kind, where):
    m = pb.ControlReply()
    try:
        m.ParseFromString(payload)
    except Exception as e:  # DecodeError
        raise ProtocolError(f"{where}: bad reply: undecodable: {e}") from None
    got = m.WhichOneof("kind")
    strings = [("error", m.error, _wire.ERROR_MAX)]
    strings += [(name, getattr(getattr(m, got), name), limit)
                for name, limit in _REPLY_STRINGS.get(got, ())]
    for name, value, limit in strings:
        if len(value.encode("utf-8")) > limit:
            raise ProtocolError(f"{where}: bad reply: {name} longer than {limit} bytes")
    if m.ok and got is None:
        raise ProtocolError(f"{where}: bad reply: ok reply without a kind")
    if got is not None and got != kind:
        raise ProtocolError(f"{where}: the reply is a {got} reply")
    fields = {"kind": got, "ok": m.ok, "error": m.error}
    if got == "ping":
        fields.update(server_time_ns=m.ping.server_time_ns, version=m.ping.version)
    elif got == "status":
        s = m.status
        if m.ok and s.state not in tuple(ServerState):
            raise ProtocolError(f"{where}: bad reply: status: server state {s.state} unknown")
        fields.update(state=ServerState(s.state) if s.state in tuple(ServerState) else None,
                      model=s.model, engine_id=s.engine_id, backend=s.backend,
                      uptime_ns=s.uptime_ns, streams=s.streams, version=s.version)
    elif got == "stats":
        fields.update(stats_json=m.stats.json)
    elif got == "reload":
        fields.update(model=m.reload.model, engine_id=m.reload.engine_id)
    return ControlReply(**fields)


def _request_message(kind, engine_path, where):
    if kind not in KINDS:
        raise ValueError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    req = pb.ControlRequest()
    if kind == "reload":
        if len(engine_path.encode("utf-8")) > _wire.PATH_MAX or \
                any(ord(c) < 0x20 or ord(c) == 0x7F for c in engine_path):
            raise ValueError(f"{where}: engine path longer than {_wire.PATH_MAX} bytes or with "
                             "control characters")
        req.reload.engine_path = engine_path
    else:
        getattr(req, kind).SetInParent()  # an empty message, set in the oneof
    return req.SerializeToString()


class Control:
    """Talk to one qperceptd's control endpoint.

    Control(endpoint, timeout_ms=5000, curve_server_key=None,
    curve_secret_key=None); timeout_ms (>= 1) bounds each whole request.
    """

    def __init__(self, endpoint, timeout_ms=5000, curve_server_key=None, curve_secret_key=None):
        if not endpoint:
            raise ValueError("control: no endpoint given")
        if not isinstance(timeout_ms, int) or timeout_ms < 1:
            raise ValueError(f"control to {endpoint}: timeout_ms {timeout_ms!r} must be >= 1")
        if (curve_server_key is None) != (curve_secret_key is None):
            raise ValueError(f"control to {endpoint}: CURVE needs both the server's public key "
                             "and this client's secret key")
        self.endpoint = endpoint
        self.timeout_ms = timeout_ms
        self._curve = (curve_server_key, curve_secret_key)

    def request(self, kind, engine_path=""):
        """One request of kind ("ping", "status", "stats", "reload"; engine_path:
        reload only, "" = the configured engine): the ControlReply, whose ok
        says whether the server did it."""
        where = f"control {kind} to {self.endpoint}"
        payload = _request_message(kind, engine_path, where)
        ctx = zmq.Context()
        sock = ctx.socket(zmq.REQ)
        try:
            sock.linger = 0
            _wire.set_curve(sock, *self._curve, where)
            sock.connect(self.endpoint)
            deadline = _wire.now_ms() + self.timeout_ms
            if not _wire.wait(sock, zmq.POLLOUT, deadline):
                raise ControlTimeout(self._timeout_text(where))
            sock.send(payload, zmq.NOBLOCK)
            if not _wire.wait(sock, zmq.POLLIN, deadline):
                raise ControlTimeout(self._timeout_text(where))
            parts = sock.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            raise ControlTimeout(self._timeout_text(where)) from None
        except zmq.ZMQError as e:
            raise QperceptError(f"{where}: {e}") from e
        finally:
            sock.close(linger=0)
            ctx.term()
        if len(parts) != 1:
            raise ProtocolError(f"{where}: reply of {len(parts)} parts, want one")
        return _decode(parts[0], kind, where)

    def _timeout_text(self, where):
        return (f"{where}: no reply within {self.timeout_ms} ms (is qperceptd running and is "
                "this its control endpoint?)")

    def _ok(self, kind, engine_path=""):
        r = self.request(kind, engine_path)
        if not r.ok:
            raise ControlError(f"control {kind} to {self.endpoint}: refused: {r.error}", r.error)
        return r

    def ping(self):
        """The server's ping reply (server_time_ns, version)."""
        return self._ok("ping")

    def status(self):
        """What is being served: state, model, engine_id, backend, uptime_ns,
        streams, version."""
        return self._ok("status")

    def stats(self):
        """The server's counters and histograms: the stats JSON as a dict."""
        text = self._ok("stats").stats_json
        try:
            return json.loads(text) if text else {}
        except ValueError as e:
            raise ProtocolError(f"control stats to {self.endpoint}: stats is not JSON: "
                                f"{e}") from None

    def reload(self, engine_path=""):
        """Build a new engine beside the old one and swap: the model and
        engine_id now serving. ControlError when the server refused."""
        return self._ok("reload", engine_path)
