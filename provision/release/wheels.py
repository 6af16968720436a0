"""The wheels a release installs, resolved for the server's Python and platform and
fetched here, so that the server installs with no access to the package index.

Resolutions and wheels are cached: a release whose requirements did not change costs
no resolution at all. uv resolves (about three times faster than pip); pip does where
uv is not wanted (``release_installer: pip``) or where uv could not (an index only
pip's configuration knows), and fetches the wheels either way.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from provision.core.facts import HostFacts
from provision.release.artifact import CACHE, ArtifactError, Dependencies

if TYPE_CHECKING:
    from packaging.tags import Tag

# The uv that builds release virtualenvs on servers: one version, tested, shipped once to
# each server (its wheel, about 18 MB) and kept at UV_PATH.
UV_VERSION = "0.13.9"
UV_PATH = f"/usr/local/lib/provision/uv-{UV_VERSION}/uv"
UV_MEMBER = f"uv-{UV_VERSION}.data/scripts/uv"  # the program, in the wheel


@dataclass(frozen=True)
class Wheels:
    pins: list[str]  # name==version, the full resolved set
    files: list[Path]  # one wheel per pin, in the local cache

    def digest(self) -> str:
        return hashlib.sha256("\n".join(sorted(self.pins)).encode()).hexdigest()[:16]


def target_flags(host: HostFacts) -> list[str]:
    """pip flags selecting wheels for the server's Python, CPU and C library."""
    version = host.python or "3.11"
    abi = "cp" + version.replace(".", "")
    flags = ["--only-binary=:all:", "--python-version", version, "--implementation", "cp",
             "--abi", abi, "--abi", "abi3", "--abi", "none"]  # fmt: skip
    for platform in platforms(host):
        flags += ["--platform", platform]
    return flags


def platforms(host: HostFacts) -> list[str]:
    """The server's wheel platforms, best first."""
    major, _, minor = (host.glibc or "2.17").partition(".")
    found = [f"manylinux_{major}_{m}_{host.arch}" for m in range(int(minor or 17), 16, -1)]
    return [*found, *(f"{legacy}_{host.arch}" for legacy in ("manylinux2014", "manylinux2010",
                                                             "manylinux1"))]  # fmt: skip


def resolve(deps: Dependencies, packages: list[str], host: HostFacts, uv: bool = True) -> Wheels:
    """Pinned wheels for the app's dependencies plus ``packages``, cached by their inputs:
    resolved by uv (unless not ``uv``, or it fails: then by pip), fetched by pip."""
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
    found = _with_uv(args, host) if uv else None
    if found is None:
        found = _with_pip(args, flags)
    pins, urls = [f"{name}=={version}" for name, version, _ in found], [u for *_, u in found]
    files = [store / u.rsplit("/", 1)[-1] for u in urls]
    missing = [u for u, f in zip(urls, files, strict=True) if not f.exists()]
    if missing:
        store.mkdir(parents=True, exist_ok=True)
        _pip(["download", "--quiet", "--no-deps", "-d", str(store), *flags, *missing])
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(json.dumps({"pins": pins, "files": [f.name for f in files]}))
    return Wheels(pins, files)


def uv_wheel(host: HostFacts) -> Path:
    """uv's wheel for the server ``host``, from the cache or the index: the program that
    builds its release virtualenvs (``release_installer: uv``)."""
    wanted = f"uv=={UV_VERSION}"
    return resolve(Dependencies("uv", [wanted], wanted), [], host).files[0]


def _with_pip(args: list[str], flags: list[str]) -> list[tuple[str, str, str]]:
    """(name, version, wheel URL) of each package pip resolves."""
    with tempfile.TemporaryDirectory() as nowhere:  # pip wants --target with --platform
        report = _pip(["install", "--dry-run", "--ignore-installed", "--quiet", "--report", "-",
                       "--target", nowhere, *flags, *args])  # fmt: skip
    return [(i["metadata"]["name"], i["metadata"]["version"], i["download_info"]["url"])
            for i in json.loads(report)["install"]]  # fmt: skip


def _with_uv(args: list[str], host: HostFacts) -> list[tuple[str, str, str]] | None:
    """(name, version, wheel URL) of each package uv resolves; None if it could not. uv
    reads its own configuration (``UV_INDEX_URL``, the project's ``uv.toml``), not pip's."""
    try:
        from uv import find_uv_bin

        uv = find_uv_bin()
    except (ImportError, FileNotFoundError):
        return None
    version = host.python or "3.11"
    glibc = (host.glibc or "2.17").replace(".", "_")
    with tempfile.TemporaryDirectory() as tmp:
        wanted, out = Path(tmp) / "requirements.in", Path(tmp) / "pylock.toml"
        wanted.write_text("".join(f"{line}\n" for line in _lines(args)))
        done = subprocess.run(
            [uv, "pip", "compile", "--quiet", "--python-version", version,
             "--python-platform", f"{host.arch}-manylinux_{glibc}", "--only-binary", ":all:",
             "-o", str(out), str(wanted)],
            capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0 or not out.is_file():
            return None
        packages = tomllib.loads(out.read_text()).get("packages", [])
    best = _ranking(host)
    found = []
    for p in packages:  # a wheel of an index has its url; one of a folder, its path
        urls = [w.get("url") or (out.parent / w["path"]).resolve().as_uri()
                for w in p.get("wheels", []) if "url" in w or "path" in w]  # fmt: skip
        ranked = sorted((r, u) for u in urls if (r := _rank(u, best)) is not None)
        if not ranked:
            return None
        found.append((p["name"], p["version"], ranked[0][1]))
    return found


def _lines(args: list[str]) -> list[str]:
    """pip's arguments as the lines of a requirements file (``-r FILE`` kept together)."""
    lines, option = [], ""
    for arg in args:
        if arg == "-r":
            option = "-r "
            continue
        lines.append(option + arg)
        option = ""
    return lines


def _ranking(host: HostFacts) -> dict[Tag, int]:
    """The server's wheel tags, by preference (as pip ranks them)."""
    # packaging is imported where a release's wheels are picked: no other command needs it
    from packaging.tags import compatible_tags, cpython_tags

    version = tuple(int(n) for n in (host.python or "3.11").split("."))
    tags = [*cpython_tags(version, platforms=platforms(host)),
            *compatible_tags(version, platforms=platforms(host))]  # fmt: skip
    return {tag: i for i, tag in enumerate(tags)}


def _rank(url: str, best: dict[Tag, int]) -> int | None:
    from packaging.utils import parse_wheel_filename

    try:
        tags = parse_wheel_filename(url.rsplit("/", 1)[-1].split("#", 1)[0])[3]
    except ValueError:
        return None
    ranks = [best[t] for t in tags if t in best]
    return min(ranks) if ranks else None


def _pip(args: list[str]) -> str:
    done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        raise ArtifactError(f"pip {args[0]} failed:\n{tail}")
    return done.stdout
