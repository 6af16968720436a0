"""Run on the server: one file of a zip archive (a wheel) read on stdin, put in place.

    python3 -I extract.py MEMBER PATH < archive.whl

PATH is written under a temporary name beside it, made executable by all, then renamed
in: a reader never sees half of it, whoever else writes it at the same time.
"""

import io
import os
import sys
import tempfile
import zipfile

member, path = sys.argv[1:3]
data = zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read())).read(member)
fd, part = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".part-")
try:
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(part, 0o755)
    os.replace(part, path)
except BaseException:
    os.unlink(part)
    raise
