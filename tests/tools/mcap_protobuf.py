#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""mcap_protobuf.py - decode every message of an MCAP recording with the
official reader (PyPI `mcap`) and the protobuf runtime, each against the
FileDescriptorSet in its own schema record, as Foxglove and the mcap CLI do.
Used by tests/e2e/test_record.c to check what `qpercept record` writes
(qpercept.v1.Detections / Frame, foxglove.CompressedImage / RawImage /
ImageAnnotations) with code that is not ours. Test tooling only.

  mcap_protobuf.py FILE

One line per message, in file order (fields by name, so a wrong field
number shows as a missing or unknown field):
  det <topic> <seq> <n detections>
  frame <topic> <seq> <format> <width>x<height> <pixel bytes>
  cimage <topic> <stamp ns> <format> <data bytes> <frame_id or ->
  rimage <topic> <stamp ns> <encoding> <width>x<height> <step> <data bytes>
  notes <topic> <n points> <n texts> <stamps agree 0|1> <first text or ->
Exit status: 0 all decoded; 1 a message failed to decode, carried unknown
fields, or its schema is not protobuf (reason on stderr); 2 usage.
"""
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from mcap.reader import make_reader


def message_class(schema, cache):
    if schema.id not in cache:
        if schema.encoding != "protobuf":
            raise ValueError(f"schema {schema.name}: encoding {schema.encoding!r}")
        fds = descriptor_pb2.FileDescriptorSet.FromString(schema.data)
        pool = descriptor_pool.DescriptorPool()
        for f in fds.file:
            pool.Add(f)
        cache[schema.id] = message_factory.GetMessageClass(
            pool.FindMessageTypeByName(schema.name))
    return cache[schema.id]


def unknown_fields(msg):
    """Names of nested messages carrying fields their schema lacks."""
    from google.protobuf import unknown_fields as uf
    bad = [msg.DESCRIPTOR.full_name] if len(uf.UnknownFieldSet(msg)) else []
    for fd, value in msg.ListFields():
        if fd.message_type is None:
            continue
        items = value if fd.is_repeated else [value]
        for v in items:
            bad += unknown_fields(v)
    return bad


def ns(ts):
    return ts.seconds * 1000000000 + ts.nanos


def line(schema_name, topic, m):
    if schema_name == "qpercept.v1.Detections":
        return f"det {topic} {m.header.seq} {len(m.detections)}"
    if schema_name == "qpercept.v1.Frame":
        fmt = m.image.DESCRIPTOR.fields_by_name["pixel_format"].enum_type.values_by_number[
            m.image.pixel_format].name
        return (f"frame {topic} {m.header.seq} {fmt} {m.image.width}x{m.image.height} "
                f"{len(m.image.inline_data)}")
    if schema_name == "foxglove.CompressedImage":
        return (f"cimage {topic} {ns(m.timestamp)} {m.format} {len(m.data)} "
                f"{m.frame_id or '-'}")
    if schema_name == "foxglove.RawImage":
        return (f"rimage {topic} {ns(m.timestamp)} {m.encoding} {m.width}x{m.height} "
                f"{m.step} {len(m.data)}")
    if schema_name == "foxglove.ImageAnnotations":
        stamps = {ns(p.timestamp) for p in m.points} | {ns(t.timestamp) for t in m.texts}
        text = m.texts[0].text.replace(" ", "_") if m.texts else "-"
        return (f"notes {topic} {len(m.points)} {len(m.texts)} "
                f"{1 if len(stamps) <= 1 else 0} {text}")
    return f"other {topic} {schema_name}"


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    cache = {}
    with open(sys.argv[1], "rb") as f:
        for schema, channel, message in make_reader(f).iter_messages(log_time_order=False):
            try:
                cls = message_class(schema, cache)
                m = cls.FromString(message.data)
            except Exception as e:  # noqa: BLE001 - any failure is the answer
                print(f"mcap_protobuf: {channel.topic} seq {message.sequence}: {e}",
                      file=sys.stderr)
                return 1
            bad = unknown_fields(m)
            if bad:
                print(f"mcap_protobuf: {channel.topic}: unknown fields in {bad}", file=sys.stderr)
                return 1
            print(line(schema.name, channel.topic, m))
    return 0


if __name__ == "__main__":
    sys.exit(main())
