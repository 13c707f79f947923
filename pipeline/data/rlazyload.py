"""Read objects from an installed R package's lazy-load database (data/Rdata.rdb + .rdx).

Debian ships R data sets that way, not as .rda files; PyPI `rdata` parses R's serialization
but not the database around it, which is a few lines: the .rdx index maps each object name
to (offset, length) in the .rdb, and each chunk is a 4-byte length, a compression tag, and
the compressed serialized object.
"""

from __future__ import annotations

import bz2
import lzma
import struct
import warnings
import zlib
from pathlib import Path


def _decompress(chunk: bytes, compressed: int) -> bytes:
    if compressed == 1:  # plain zlib after the 4-byte length
        return zlib.decompress(chunk[4:])
    tag = chunk[4:5]
    body = chunk[5:]
    if tag == b"Z":  # R's xz: raw LZMA2, no container
        return lzma.decompress(body, format=lzma.FORMAT_RAW,
                               filters=[{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}])
    if tag == b"2":
        return bz2.decompress(body)
    if tag == b"1":
        return zlib.decompress(body)
    if tag == b"0":
        return body
    raise ValueError(f"unknown R lazy-load compression tag {tag!r}")


def read_lazyload(base: str | Path, names: list[str]) -> dict[str, object]:
    """`base`: the path without extension (…/data/Rdata). Returns each object converted by
    `rdata` (a data.frame becomes a pandas DataFrame)."""
    import rdata

    base = Path(base)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdata warns that .rdx is not a .rds name; it is one
        index = rdata.conversion.convert(rdata.parser.parse_file(base.with_suffix(".rdx")))
    variables, compressed = index["variables"], int(index["compressed"][0])
    blob = base.with_suffix(".rdb").read_bytes()
    out = {}
    for name in names:
        if name not in variables:
            raise KeyError(f"{base}: no object '{name}' (has: {', '.join(sorted(map(str, variables)))})")
        offset, length = (int(x) for x in variables[name])
        raw = _decompress(blob[offset:offset + length], compressed)
        expected = struct.unpack(">I", blob[offset:offset + 4])[0]
        if len(raw) != expected:
            raise ValueError(f"{base}: '{name}' decompressed to {len(raw)} bytes, expected {expected}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tibbles convert as data.frames, which they are
            out[name] = rdata.conversion.convert(rdata.parser.parse_data(raw))
    return out
