#!/usr/bin/env python3
"""Writes the seed corpus of rpc_frame_fuzz into tests/fuzz/rpc_corpus/.

Each seed is a control byte (see tests/fuzz/rpc_frame_fuzz.cc) and a stream
of frames as a client or a server sends them: a 4-byte big-endian length,
then a ServerFrame (proto/raft.proto) whose payload is an RpcRequest or an
RpcResponse (proto/rpc.proto). Protobuf is encoded by hand so the script
needs nothing installed. Rerun it after changing the wire format:
    python3 tests/fuzz/make_rpc_corpus.py
"""
import os
import struct

CLUSTER = b"fuzz-cluster"  # as in rpc_frame_fuzz.cc
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rpc_corpus")


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_varint(number, value):
    return varint(number << 3) + varint(value) if value else b""


def field_bytes(number, value):
    return varint((number << 3) | 2) + varint(len(value)) + value if value else b""


def request(call_id, method, from_node, payload):
    return field_varint(1, call_id) + field_bytes(2, method) + field_bytes(3, from_node) + field_bytes(4, payload)


def response(call_id, code, message, payload):
    return field_varint(1, call_id) + field_varint(2, code) + field_bytes(3, message) + field_bytes(4, payload)


def frame(kind, payload, cluster=CLUSTER):
    body = field_bytes(1, cluster) + field_varint(3, kind) + field_bytes(4, payload)
    return struct.pack(">I", len(body)) + body


SEEDS = {
    # limit 4096, whole stream at once
    "one_request": b"\x01" + frame(2, request(1, b"Catalog.Register", b"web-1", b"\x0a\x03web")),
    "ok_response": b"\x01" + frame(3, response(1, 0, b"", b"result bytes")),
    "not_leader_response": b"\x01" + frame(3, response(7, 8, b"leader is 127.0.0.1:8300", b"")),
    # pieces, three calls and a foreign cluster's frame
    "three_requests_pieces": b"\x05"
    + frame(2, request(1, b"KV.Get", b"db-2", b"key"))
    + frame(2, request(2, b"KV.Put", b"db-2", b"key=value"))
    + frame(2, request(3, b"Health.Service", b"db-2", b""), cluster=b"other-dc"),
    # bit 3: the payload of one frame, prefix added by the target
    "request_payload_only": b"\x09" + field_bytes(1, CLUSTER) + field_varint(3, 2)
    + field_bytes(4, request(9, b"Status.Leader", b"", b"")),
    # bit 4: straight to the decoders
    "bare_response": b"\x11" + response(3, 6, b"no leader", b""),
}

if __name__ == "__main__":
    os.makedirs(HERE, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(HERE, name), "wb") as out:
            out.write(data)
    print(f"wrote {len(SEEDS)} seeds to {HERE}")
