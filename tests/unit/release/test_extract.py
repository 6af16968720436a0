"""The server's side of shipping a program in a wheel (uv): the one member of the archive
sent on stdin as the archive stores it, inflated as it comes, put in place whole and
executable, and checked against the archive."""

import io
import stat
import subprocess
import sys
import zipfile
import zlib

import pytest

from provision.core.runner import TaskFailed
from provision.release import phases

MEMBER = "uv-1.data/scripts/uv"
PROGRAM = b"\x7fELF" + bytes(range(256)) * 400  # compresses, as a real program does


def wheel(compression=zipfile.ZIP_DEFLATED, **members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name.replace("__", "/"), data)
    return buf.getvalue()


def extract(path, archive, spoil=lambda data: data):
    """Run on this machine what ``phases.tool`` sends the server."""
    _, command = phases.tool(str(path), archive, MEMBER)
    argv = [sys.executable if arg == "python3" else arg for arg in command.parts]
    return subprocess.run(argv, input=spoil(command.stdin), capture_output=True)


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_the_member_alone_is_sent_and_put_in_place_executable(tmp_path, compression):
    path = tmp_path / "uv"
    path.write_bytes(b"old")
    archive = wheel(compression, uv_1__x=b"-" * 5000, **{"uv-1.data__scripts__uv": PROGRAM})
    _, command = phases.tool(str(path), archive, MEMBER)
    sent = command.stdin if compression == zipfile.ZIP_STORED else zlib.decompress(
        command.stdin, -zlib.MAX_WBITS)  # fmt: skip
    assert sent == PROGRAM  # nothing else of the wheel
    done = extract(path, archive)
    assert done.returncode == 0, done.stderr
    assert path.read_bytes() == PROGRAM
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    assert sorted(p.name for p in tmp_path.iterdir()) == ["uv"]


def test_what_does_not_inflate_to_the_archives_member_leaves_nothing_behind(tmp_path):
    path = tmp_path / "uv"
    archive = wheel(zipfile.ZIP_STORED, **{"uv-1.data__scripts__uv": PROGRAM})
    done = extract(path, archive, spoil=lambda data: data[:-1] + b"!")
    assert done.returncode == 1
    assert b"where the archive has" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_missing_member_is_said_before_anything_is_sent():
    with pytest.raises(TaskFailed, match=f"cannot read {MEMBER} of the wheel"):
        phases.tool("/usr/local/lib/provision/uv-1/uv", wheel(other=b"x"), MEMBER)
