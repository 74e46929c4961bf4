#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""mcap_check.py - the official MCAP implementation (PyPI `mcap`) as the
reference for qpercept's C library (clients/mcap), used by
tests/e2e/test_mcap_conformance.c. Test tooling only.

  mcap_check.py read FILE DUMP
      Read FILE with the official seeking and streaming readers (CRCs
      validated) and check what a qpercept file must hold: statistics that
      match the messages, chunk indexes that point at the chunks, message
      indexes that point at the messages, the summary CRC, the data section
      CRC, summary offsets that cover the summary's groups. Then write the
      contents to DUMP.
  mcap_check.py write FILE DUMP [--compression none|zstd|lz4] [--chunk-size N]
                               [--no-chunking] [--messages N]
      Write a recording with the official writer (schemas and channels go
      inside its chunks) and DUMP what it holds.

DUMP, one item a line (the C test writes the same from its side):
  header <profile> <library>
  schema <id> <name> <encoding> <hex data>
  channel <id> <schema_id> <topic> <message_encoding> <key=value,...>  (sorted)
  message <channel_id> <sequence> <log_time> <publish_time> <hex data>
Schemas and channels by id, messages in file order.
Exit status: 0 valid; 1 a check failed (the reason on stderr); 2 usage.
"""
import argparse
import io
import struct
import sys
import zlib

from mcap.data_stream import ReadDataStream
from mcap.reader import NonSeekingReader, SeekingReader
from mcap.records import Chunk, MessageIndex
from mcap.stream_reader import breakup_chunk
from mcap.writer import CompressionType, Writer

MAGIC = b"\x89MCAP0\r\n"
OP = {"footer": 0x02, "message": 0x05, "chunk": 0x06, "message_index": 0x07,
      "summary_offset": 0x0E, "data_end": 0x0F}


class CheckError(Exception):
    pass


def check(cond, what):
    if not cond:
        raise CheckError(what)


def dump_lines(header, schemas, channels, messages):
    out = [f"header {header.profile} {header.library}"]
    for s in sorted(schemas.values(), key=lambda s: s.id):
        out.append(f"schema {s.id} {s.name} {s.encoding} {bytes(s.data).hex()}")
    for c in sorted(channels.values(), key=lambda c: c.id):
        meta = ",".join(f"{k}={v}" for k, v in sorted(c.metadata.items()))
        out.append(f"channel {c.id} {c.schema_id} {c.topic} {c.message_encoding} {meta}")
    for m in messages:
        out.append(f"message {m.channel_id} {m.sequence} {m.log_time} {m.publish_time} "
                   f"{bytes(m.data).hex()}")
    return "\n".join(out) + "\n"


def records(data, start, end):
    """(opcode, offset, content) of the records in data[start:end]."""
    at = start
    while at < end:
        check(end - at >= 9, f"record header at {at} cut short")
        op, n = struct.unpack_from("<BQ", data, at)
        check(at + 9 + n <= end, f"record at {at} (op {op:#x}) runs past {end}")
        yield op, at, data[at + 9:at + 9 + n]
        at += 9 + n


def check_chunks(data, summary, messages):
    """Chunk indexes point at chunks; message indexes at their messages."""
    per_chunk = 0
    for ci in summary.chunk_indexes:
        op, n = struct.unpack_from("<BQ", data, ci.chunk_start_offset)
        check(op == OP["chunk"] and n + 9 == ci.chunk_length,
              f"chunk index -> offset {ci.chunk_start_offset}: not a chunk of that length")
        chunk = Chunk.read(io_stream(data, ci.chunk_start_offset + 9))
        check(chunk.compression == ci.compression, "chunk index compression differs")
        check(len(chunk.data) == ci.compressed_size, "chunk index compressed_size differs")
        check(chunk.uncompressed_size == ci.uncompressed_size, "uncompressed_size differs")
        check(chunk.uncompressed_crc != 0, "chunk without CRC")
        inner = [r for r in breakup_chunk(chunk, validate_crc=True)
                 if type(r).__name__ == "Message"]
        check(inner, "empty chunk")
        check(ci.message_start_time == min(m.log_time for m in inner) and
              ci.message_end_time == max(m.log_time for m in inner), "chunk times differ")
        per_chunk += len(inner)
        # the message index records follow the chunk and fill message_index_length
        idx_start = ci.chunk_start_offset + ci.chunk_length
        idx = list(records(data, idx_start, idx_start + ci.message_index_length))
        check(all(op == OP["message_index"] for op, _, _ in idx), "non-index record after chunk")
        check(sorted(ci.message_index_offsets.values()) == [at for _, at, _ in idx],
              "message_index_offsets do not match the index records")
        raw = decompress(chunk)
        channels_in_chunk = {m.channel_id for m in inner}
        check(set(ci.message_index_offsets) == channels_in_chunk, "indexed channels differ")
        n_indexed = 0
        for ch, off in ci.message_index_offsets.items():
            mi = MessageIndex.read(io_stream(data, off + 9))
            check(mi.channel_id == ch, f"message index at {off}: channel {mi.channel_id} != {ch}")
            for log_time, moff in mi.records:
                op, _ = struct.unpack_from("<BQ", raw, moff)
                mch, _, mlog = struct.unpack_from("<HIQ", raw, moff + 9)
                check(op == OP["message"] and mch == ch and mlog == log_time,
                      f"message index entry ({log_time}, {moff}) points at no such message")
                n_indexed += 1
        check(n_indexed == len(inner), "message indexes do not cover the chunk")
    check(per_chunk == len(messages), "chunks do not hold every message")


def io_stream(data, at):
    s = io.BytesIO(data)
    s.seek(at)
    return ReadDataStream(s)


def decompress(chunk):
    if chunk.compression == "zstd":
        import zstandard
        return zstandard.ZstdDecompressor().decompress(chunk.data, chunk.uncompressed_size)
    if chunk.compression == "lz4":
        import lz4.frame
        return lz4.frame.decompress(chunk.data)
    return bytes(chunk.data)


def check_footer_and_crcs(data, summary):
    check(data[-8:] == MAGIC and data[:8] == MAGIC, "magic missing")
    foot = len(data) - 8 - 29
    op, n, sstart, ostart, crc = struct.unpack_from("<BQQQI", data, foot)
    check(op == OP["footer"] and n == 20, "no footer")
    check(crc != 0 and zlib.crc32(data[sstart:foot + 25]) == crc, "summary CRC wrong or absent")
    # the data section ends with Data End, whose CRC covers everything before it
    last = None
    for op, at, content in records(data, len(MAGIC), sstart):
        last = (op, at, content)
    check(last and last[0] == OP["data_end"], "the data section does not end with Data End")
    (dcrc,) = struct.unpack_from("<I", last[2], 0)
    check(dcrc != 0 and zlib.crc32(data[:last[1]]) == dcrc, "data section CRC wrong or absent")
    # summary offsets: one per group, each covering records of its opcode only
    groups = {}
    for op, _, content in records(data, ostart, foot):
        check(op == OP["summary_offset"], "non summary-offset record in that section")
        gop, gstart, glen = struct.unpack_from("<BQQ", content, 0)
        ops = {o for o, _, _ in records(data, gstart, gstart + glen)}
        check(ops == {gop}, f"summary offset group {gop:#x} holds opcodes {ops}")
        groups[gop] = (gstart, glen)
    covered = sum(length for _, length in groups.values())
    check(covered == ostart - sstart, "summary offsets do not cover the summary")


def cmd_read(path, dump):
    with open(path, "rb") as f:
        data = f.read()
    seeking = SeekingReader(io.BytesIO(data), validate_crcs=True)
    header = seeking.get_header()
    summary = seeking.get_summary()
    check(summary is not None and summary.statistics is not None, "no summary / statistics")
    msgs = [m for _, _, m in seeking.iter_messages(log_time_order=False)]
    streamed = [m for _, _, m in NonSeekingReader(io.BytesIO(data), validate_crcs=True)
                .iter_messages(log_time_order=False)]
    key = [(m.channel_id, m.sequence, m.log_time, m.publish_time, bytes(m.data)) for m in msgs]
    check(key == [(m.channel_id, m.sequence, m.log_time, m.publish_time, bytes(m.data))
                  for m in streamed], "seeking and streaming readers disagree")
    st = summary.statistics
    check(st.message_count == len(msgs), f"statistics: {st.message_count} messages, read {len(msgs)}")
    counts = {}
    for m in msgs:
        counts[m.channel_id] = counts.get(m.channel_id, 0) + 1
    check(dict(st.channel_message_counts) == counts, "channel_message_counts differ")
    check(st.chunk_count == len(summary.chunk_indexes), "chunk_count differs")
    check(st.schema_count == len(summary.schemas) and st.channel_count == len(summary.channels),
          "schema / channel counts differ")
    if msgs:
        check(st.message_start_time == min(m.log_time for m in msgs) and
              st.message_end_time == max(m.log_time for m in msgs), "message times differ")
    check_chunks(data, summary, msgs)
    check_footer_and_crcs(data, summary)
    with open(dump, "w") as f:
        f.write(dump_lines(header, summary.schemas, summary.channels, msgs))
    print(f"mcap_check: {path}: {len(msgs)} messages, {len(summary.chunk_indexes)} chunks, "
          f"{len(summary.channels)} channels: valid")


def payload(i):
    body = bytes((i * 7 + k) & 0xFF for k in range(i % 50))
    return body + (b"x" * 2000 if i % 100 == 0 else b"")


def cmd_write(path, dump, compression, chunk_size, chunking, n):
    comp = {"none": CompressionType.NONE, "zstd": CompressionType.ZSTD,
            "lz4": CompressionType.LZ4}[compression]
    w = Writer(path, chunk_size=chunk_size, compression=comp, use_chunking=chunking)
    w.start(profile="x-conformance", library="mcap-python")
    sid = w.register_schema(name="pkg.Msg", encoding="protobuf", data=bytes(range(40)))
    a = w.register_channel(topic="/a", message_encoding="protobuf", schema_id=sid,
                           metadata={"y": "two", "x": "1"})
    b = w.register_channel(topic="/b", message_encoding="json", schema_id=0)
    lines = []
    for i in range(n):
        ch = a if i % 2 == 0 else b
        log = 1000 + i * 10 - (5 if i % 9 == 4 else 0)
        w.add_message(channel_id=ch, log_time=log, data=payload(i), publish_time=log + 1,
                      sequence=i)
        lines.append(f"message {ch} {i} {log} {log + 1} {payload(i).hex()}")
    w.finish()
    head = ["header x-conformance mcap-python",
            f"schema {sid} pkg.Msg protobuf {bytes(range(40)).hex()}",
            f"channel {a} {sid} /a protobuf x=1,y=two",
            f"channel {b} 0 /b json "]
    with open(dump, "w") as f:
        f.write("\n".join(head + lines) + "\n")
    print(f"mcap_check: wrote {path}: {n} messages, {compression}, chunking {chunking}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("read")
    r.add_argument("file")
    r.add_argument("dump")
    w = sub.add_parser("write")
    w.add_argument("file")
    w.add_argument("dump")
    w.add_argument("--compression", choices=["none", "zstd", "lz4"], default="zstd")
    w.add_argument("--chunk-size", type=int, default=4096)
    w.add_argument("--no-chunking", action="store_true")
    w.add_argument("--messages", type=int, default=500)
    a = p.parse_args()
    try:
        if a.cmd == "read":
            cmd_read(a.file, a.dump)
        else:
            cmd_write(a.file, a.dump, a.compression, a.chunk_size, not a.no_chunking, a.messages)
    except CheckError as e:
        print(f"mcap_check: {a.file}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
