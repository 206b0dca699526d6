"""Helpers for tests that edit model-file bytes (docs/model_file.md)."""

import struct
import zlib


def with_checksum(b):
    """Model bytes of format version 2 with the header's CRC-32 recomputed over bytes 16.. .

    A file damaged *before* its checksum was computed (by a buggy or hostile writer) must still be
    refused by the field checks, so tests that damage a field give the payload a valid checksum.
    """
    b = bytes(b)
    assert b[8:12] == struct.pack("<I", 2), "not a file of format version 2"
    return b[:12] + struct.pack("<I", zlib.crc32(b[16:])) + b[16:]
