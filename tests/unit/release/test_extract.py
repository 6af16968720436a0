"""The server's side of shipping a program in a wheel (uv): one member of the archive read
on stdin, put in place whole and executable."""

import io
import stat
import subprocess
import sys
import zipfile

from provision.release import phases


def wheel(**members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name.replace("__", "/"), data)
    return buf.getvalue()


def extract(member, path, data):
    return subprocess.run([sys.executable, "-I", "-c", phases.EXTRACT, member, str(path)],
                          input=data, capture_output=True)  # fmt: skip


def test_the_member_is_put_in_place_executable(tmp_path):
    path = tmp_path / "uv"
    path.write_bytes(b"old")
    done = extract(
        "uv-1.data/scripts/uv", path, wheel(uv_1__x=b"-", **{"uv-1.data__scripts__uv": b"ELF"})
    )
    assert done.returncode == 0, done.stderr
    assert path.read_bytes() == b"ELF"
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    assert sorted(p.name for p in tmp_path.iterdir()) == ["uv"]


def test_a_missing_member_leaves_nothing_behind(tmp_path):
    path = tmp_path / "uv"
    done = extract("uv-1.data/scripts/uv", path, wheel(other=b"x"))
    assert done.returncode != 0 and b"KeyError" in done.stderr
    assert list(tmp_path.iterdir()) == []
