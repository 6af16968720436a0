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
import sys
import tarfile
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from provision.core.errors import ProvisionError
from provision.core.facts import HostFacts
from provision.release.lockfiles import LOCKS, LockError

CACHE = Path(os.environ.get("PROVISION_CACHE", Path.home() / ".cache" / "provision"))

# The uv that builds release virtualenvs on servers: one version, tested, shipped once to
# each server (its wheel, about 18 MB) and kept at UV_PATH.
UV_VERSION = "0.13.9"
UV_PATH = f"/usr/local/lib/provision/uv-{UV_VERSION}/uv"
UV_MEMBER = f"uv-{UV_VERSION}.data/scripts/uv"  # the program, in the wheel

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


def files_of(path: Path) -> list[Path]:
    """The app's files, relative to ``path``, without anything matching ``EXCLUDE``."""
    found = []
    for folder, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not _excluded(d))
        rel = Path(folder).relative_to(path)
        found += [rel / n for n in sorted(names) if not _excluded(n)]
    return found


def _excluded(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in EXCLUDE)


def target_flags(host: HostFacts) -> list[str]:
    """pip flags selecting wheels for the server's Python, CPU and C library."""
    version = host.python or "3.11"
    abi = "cp" + version.replace(".", "")
    flags = ["--only-binary=:all:", "--python-version", version, "--implementation", "cp",
             "--abi", abi, "--abi", "abi3", "--abi", "none"]  # fmt: skip
    major, _, minor = (host.glibc or "2.17").partition(".")
    for m in range(int(minor or 17), 16, -1):
        flags += ["--platform", f"manylinux_{major}_{m}_{host.arch}"]
    for legacy in ("manylinux2014", "manylinux2010", "manylinux1"):
        flags += ["--platform", f"{legacy}_{host.arch}"]
    return flags


@dataclass(frozen=True)
class Wheels:
    pins: list[str]  # name==version, the full resolved set
    files: list[Path]  # one wheel per pin, in the local cache

    def digest(self) -> str:
        return hashlib.sha256("\n".join(sorted(self.pins)).encode()).hexdigest()[:16]


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


def resolve_wheels(deps: Dependencies, packages: list[str], host: HostFacts) -> Wheels:
    """Pinned wheels for the app's dependencies plus ``packages``, cached by their inputs."""
    flags = target_flags(host)
    key = hashlib.sha256(json.dumps([deps.text, packages, flags]).encode()).hexdigest()[:24]
    store = CACHE / "wheels"
    lock = CACHE / "locks" / f"{key}.json"
    if lock.exists():
        saved = json.loads(lock.read_text())
        wheels = Wheels(saved["pins"], [store / f for f in saved["files"]])
        if all(f.exists() for f in wheels.files):
            return wheels
    args = [*deps.args_for(host), *packages]
    with tempfile.TemporaryDirectory() as nowhere:  # pip wants --target with --platform
        report = _pip(["install", "--dry-run", "--ignore-installed", "--quiet", "--report", "-",
                       "--target", nowhere, *flags, *args])  # fmt: skip
    items = json.loads(report)["install"]
    urls = [i["download_info"]["url"] for i in items]
    files = [store / u.rsplit("/", 1)[-1] for u in urls]
    missing = [u for u, f in zip(urls, files, strict=True) if not f.exists()]
    if missing:
        store.mkdir(parents=True, exist_ok=True)
        _pip(["download", "--quiet", "--no-deps", "-d", str(store), *flags, *missing])
    pins = [f"{i['metadata']['name']}=={i['metadata']['version']}" for i in items]
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(json.dumps({"pins": pins, "files": [f.name for f in files]}))
    return Wheels(pins, files)


def uv_wheel(host: HostFacts) -> Path:
    """uv's wheel for the server ``host``, from the cache or the index: the program that
    builds its release virtualenvs (``release_installer: uv``)."""
    wanted = f"uv=={UV_VERSION}"
    return resolve_wheels(Dependencies("uv", [wanted], wanted), [], host).files[0]


def _pip(args: list[str]) -> str:
    done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        raise ArtifactError(f"pip {args[0]} failed:\n{tail}")
    return done.stdout


def content_digest(source: Path, generated: dict[str, str]) -> str:
    """What a release is made of: its files' paths, modes and bytes, and generated files."""
    h = hashlib.sha256()
    for rel in files_of(source):
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
