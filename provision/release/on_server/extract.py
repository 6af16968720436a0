"""Run on the server: a program shipped in a wheel (uv), put in place as it arrives.

    python3 -I extract.py METHOD CRC SIZE PATH < member

stdin is the one member of the archive, as the archive stores it (METHOD 8: deflated, 0:
stored), sent alone and inflated as it comes in: the server's work overlaps the
transfer (uv's 38 MB program: 0.48 to 0.56 s on a test host, where reading the whole
wheel, then unzipping it, took 0.64 to 0.79 s). What comes out must have the archive's
CRC-32 and SIZE. PATH is written under a temporary name beside it, made executable by
all, then renamed in: a reader never sees half of it, whoever else writes it at the same
time.
"""

import os
import sys
import tempfile
import zlib
from collections.abc import Iterator
from typing import BinaryIO

method, crc, size, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]


def inflated(stream: BinaryIO) -> Iterator[bytes]:
    """The member's bytes, as they come in."""
    inflate = zlib.decompressobj(-zlib.MAX_WBITS) if method == 8 else None
    while chunk := stream.read1(1 << 20):
        yield inflate.decompress(chunk) if inflate else chunk
    if inflate:
        yield inflate.flush()


fd, part = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".part-")
try:
    got, check = 0, 0
    with os.fdopen(fd, "wb") as f:
        for data in inflated(sys.stdin.buffer):
            f.write(data)
            got, check = got + len(data), zlib.crc32(data, check)
    if (got, check) != (size, crc):
        sys.exit(f"{path}: {got} bytes with CRC-32 {check:08x} came, where the archive "
                 f"has {size} with {crc:08x}")  # fmt: skip
    os.chmod(part, 0o755)
    os.replace(part, path)
except BaseException:
    os.unlink(part)
    raise
