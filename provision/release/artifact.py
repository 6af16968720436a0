"""A release as it leaves this machine: the app's files, generated files, and wheels.

Dependencies are resolved for the server's Python and platform and fetched as wheels
here, so the server installs with no access to the package index. Resolutions and wheels
are cached: a release whose requirements did not change costs no call to pip at all.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import os
import subprocess
import tarfile
import time
import tomllib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from provision.core.errors import ProvisionError
from provision.core.facts import HostFacts

CACHE = Path(os.environ.get("PROVISION_CACHE", Path.home() / ".cache" / "provision"))

# Never shipped: secrets, local environments, build debris, provision's own local state
# (known hosts, the sandbox's key) when the app's source is the project's folder.
EXCLUDE = [".git", ".env", ".env.*", "__pycache__", "*.pyc", ".venv", "venv", ".mypy_cache",
           ".pytest_cache", ".ruff_cache", "node_modules", "REVISION", ".provision"]  # fmt: skip


class ArtifactError(ProvisionError):
    pass


@dataclass(frozen=True)
class Source:
    path: Path
    commit: str | None
    dirty: bool = False  # the working tree differs from ``commit``


def checkout(source: str, ref: str, root: Path, workdir: Path) -> Source:
    """A local directory (relative to ``root``) or a git URL at ``ref``."""
    if is_git_url(source):
        dest = workdir / "source"
        _git("clone", "--quiet", "--no-checkout", source, str(dest))
        _git("-C", str(dest), "checkout", "--quiet", ref or "HEAD")
        return Source(dest, _git("-C", str(dest), "rev-parse", "--short", "HEAD"))
    path = (root / source).resolve()
    if not path.is_dir():
        raise ArtifactError(f"no such directory {source!r} (the app's source)")
    commit, dirty = None, False
    if (path / ".git").exists() or _inside_git(path):
        commit = _git("-C", str(path), "rev-parse", "--short", "HEAD", check=False) or None
        changes = _git("-C", str(path), "status", "--porcelain", "--", ".", check=False)
        dirty = commit is not None and bool(changes)
    return Source(path, commit, dirty)


def is_git_url(source: str) -> bool:
    """Whether ``source`` names a git repository rather than a local directory."""
    return source.endswith(".git") or "://" in source or source.startswith("git@")


def _inside_git(path: Path) -> bool:
    return _git("-C", str(path), "rev-parse", "--is-inside-work-tree", check=False) == "true"


def _git(*args: str, check: bool = True) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise ArtifactError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip() if done.returncode == 0 else ""


def release_id(commit: str | None, now: float | None = None, dirty: str = "") -> str:
    """``20261125-160501`` or, from git, ``20261125-160501-1a2b3c4``; from a working tree
    with uncommitted changes, ``20261125-160501-1a2b3c4-dirty-5e6f7a8``, ``dirty`` naming
    its content (as ``git describe --dirty`` says so, and two such trees differ)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    if not commit:
        return stamp
    return f"{stamp}-{commit}-dirty-{dirty[:7]}" if dirty else f"{stamp}-{commit}"


def files_of(path: Path, leave_out: Collection[str] = ()) -> list[Path]:
    """The app's files, relative to ``path``, without anything matching ``EXCLUDE`` nor
    the paths ``leave_out`` (relative to ``path``: files written there by provision)."""
    found = []
    for folder, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not _excluded(d))
        rel = Path(folder).relative_to(path)
        found += [rel / n for n in sorted(names)
                  if not _excluded(n) and str(rel / n) not in leave_out]  # fmt: skip
    return found


def _excluded(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in EXCLUDE)


@dataclass(frozen=True)
class Dependencies:
    """What the app depends on: the file it was read from, pip's arguments for it, and
    the text that identifies it (for the cache)."""

    found_in: str
    args: list[str]
    text: str
    pins: Callable[[HostFacts], list[str]] | None = None  # a lock's, for a server

    def args_for(self, host: HostFacts) -> list[str]:
        """pip's arguments for the server ``host``: a lock's exact pins for its platform."""
        if self.pins is None:
            return self.args
        from provision.release.lockfiles import LockError  # see ``dependencies``

        try:
            return self.pins(host)
        except LockError as e:
            raise ArtifactError(str(e)) from e


# What a lock is walked for before connecting, to catch a broken one early.
TYPICAL = HostFacts(1, 0, "debian", "12", "bookworm", "x86_64", "", "3.11", "2.36")


def dependencies(source: Path, requirements: str = "requirements.txt") -> Dependencies:
    """The app's dependencies: exact pins from its uv.lock or poetry.lock when it has one,
    else its requirements file, else ``[project] dependencies`` of its pyproject.toml; an
    error saying what was looked for when it has none of them."""
    # imported here: a lock is read with packaging, which no other command needs
    from provision.release.lockfiles import LOCKS

    for name, pins in LOCKS.items():
        lock = source / name
        if lock.is_file():
            pyproject = source / "pyproject.toml"  # a poetry lock's roots are there
            text = lock.read_text() + (pyproject.read_text() if pyproject.is_file() else "")
            found = Dependencies(name, [], text, lambda host, p=pins: p(source, host))
            found.args_for(TYPICAL)
            return found
    path = source / requirements
    if path.is_file():
        return Dependencies(requirements, ["-r", str(path)], path.read_text())
    pyproject = source / "pyproject.toml"
    if pyproject.is_file():
        try:
            project = tomllib.loads(pyproject.read_text()).get("project", {})
        except tomllib.TOMLDecodeError as e:
            raise ArtifactError(f"{pyproject}: not valid TOML: {e}") from e
        if "dependencies" in project:
            wanted = [str(d) for d in project["dependencies"]]
            return Dependencies("pyproject.toml", wanted, json.dumps(wanted))
    raise ArtifactError(
        f"{source}: no dependencies found: looked for uv.lock, poetry.lock, {requirements} "
        "and [project] dependencies in pyproject.toml"
    )


def content_digest(source: Path, generated: dict[str, str], leave_out: Collection[str] = ()
                   ) -> str:  # fmt: skip
    """What a release is made of: its files' paths, modes and bytes, and generated files."""
    h = hashlib.sha256()
    for rel in files_of(source, leave_out):
        path = source / rel
        h.update(f"{rel}\0{path.stat().st_mode & 0o111:o}\0".encode())
        h.update(path.read_bytes() if path.is_file() else os.readlink(path).encode())
    for name, text in sorted(generated.items()):
        h.update(f"{name}\0".encode() + text.encode())
    return h.hexdigest()[:16]


def tarball(source: Path, generated: dict[str, str], wheels: list[Path]) -> bytes:
    """One gzip stream: ``release/`` (the app and generated files) and ``wheels/``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for rel in files_of(source):
            tar.add(source / rel, arcname=f"release/{rel}", recursive=False, filter=_plain)
        for name, text in generated.items():
            data = text.encode()
            info = tarfile.TarInfo(f"release/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(data))
        for wheel in wheels:
            tar.add(wheel, arcname=f"wheels/{wheel.name}", filter=_plain)
    return buf.getvalue()


def _plain(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info
