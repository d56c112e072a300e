"""A tiny TensorBoard event-file writer for tests: TFRecord framing with CRC32C, and
hand-encoded ``Event``/``Summary`` protobufs (classic ``simple_value`` and TF2 tensors).

The module is also copied into job folders, so it imports only the standard library.
"""

from __future__ import annotations

import struct
import time

_TABLE = []
for _byte in range(256):
    _crc = _byte
    for _ in range(8):
        _crc = (_crc >> 1) ^ 0x82F63B78 if _crc & 1 else _crc >> 1
    _TABLE.append(_crc)


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), the checksum of TFRecord files."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(value: int) -> bytes:
    out = b""
    while True:
        bits, value = value & 0x7F, value >> 7
        out += bytes([bits | (0x80 if value else 0)])
        if not value:
            return out


def _field(number: int, wire: int, payload: bytes) -> bytes:
    key = _varint(number << 3 | wire)
    return key + (_varint(len(payload)) + payload if wire == 2 else payload)


def record(payload: bytes) -> bytes:
    """One TFRecord: length, masked CRC of the length, payload, masked CRC of the payload."""
    length = struct.pack("<Q", len(payload))
    return length + struct.pack("<I", _masked(length)) + payload + struct.pack("<I", _masked(payload))


def scalar_event(tag: str, value: float, step: int, tensor: bool = False, wall_time: float | None = None) -> bytes:
    """An ``Event`` holding one scalar, as ``simple_value`` or as a TF2 float tensor."""
    if tensor:
        proto = _field(1, 0, _varint(1)) + _field(2, 2, b"") + _field(5, 2, struct.pack("<f", value))
        inner = _field(8, 2, proto)
    else:
        inner = _field(2, 5, struct.pack("<f", value))
    summary = _field(1, 2, _field(1, 2, tag.encode()) + inner)
    moment = time.time() if wall_time is None else wall_time
    return _field(1, 1, struct.pack("<d", moment)) + _field(2, 0, _varint(step)) + _field(5, 2, summary)


def write_events(path: str, scalars: list[tuple[str, float, int]], tensor: bool = False) -> None:
    """Write a file version record and one event per ``(tag, value, step)``."""
    with open(path, "wb") as handle:
        handle.write(record(_field(1, 1, struct.pack("<d", time.time())) + _field(3, 2, b"brain.Event:2")))
        for i, (tag, value, step) in enumerate(scalars):
            handle.write(record(scalar_event(tag, value, step, tensor, wall_time=1000.0 + i)))
