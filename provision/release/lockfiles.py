"""Exact pins from an app's lock file (uv.lock, poetry.lock), for the server's platform.

The lock is walked from the project's own dependencies, following each package's
dependencies and the extras asked of it, keeping those whose environment markers hold on
the server (its Python, Linux, its CPU); development groups are left out. Markers are
evaluated by ``packaging``, the reference implementation pip itself uses.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from provision.core.errors import ProvisionError
from provision.core.facts import HostFacts


class LockError(ProvisionError):
    pass


@dataclass(frozen=True)
class Edge:
    """A dependency as a lock writes it: a name, extras asked of it, a marker, and the
    version when the lock holds several of that name."""

    name: str
    extras: tuple[str, ...] = ()
    marker: str | None = None
    version: str | None = None


def environment(host: HostFacts) -> dict[str, str]:
    """The server, as environment markers see it."""
    python = host.python or "3.11"
    return {
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": host.arch or "x86_64",
        "platform_release": "",
        "platform_version": "",
        "implementation_version": f"{python}.0",
    }


def holds(marker: str | None, env: dict[str, str], extra: str = "") -> bool:
    if not marker:
        return True
    try:
        return Marker(marker).evaluate({**env, "extra": extra})
    except InvalidMarker as e:
        raise LockError(f"cannot read the marker {marker!r}: {e}") from e


def walk(
    roots: Iterable[Edge],
    packages: dict[str, list[dict]],
    edges: Callable[[dict, str], list[Edge]],
    env: dict[str, str],
    lock: str,
) -> list[str]:
    """``name==version`` of every package reachable from ``roots`` on this server."""
    seen: dict[str, str] = {}
    done: set[tuple[str, str, str]] = set()
    todo = [e for e in roots if holds(e.marker, env)]
    while todo:
        edge = todo.pop()
        name = canonicalize_name(edge.name)
        entry = pick(packages.get(name, []), edge, lock)
        seen[name] = entry["version"]
        for extra in ("", *edge.extras):
            if (name, entry["version"], extra) in done:
                continue
            done.add((name, entry["version"], extra))
            todo += [e for e in edges(entry, extra) if holds(e.marker, env)]
    return [f"{name}=={version}" for name, version in sorted(seen.items())]


def pick(entries: list[dict], edge: Edge, lock: str) -> dict:
    if not entries:
        raise LockError(f"{lock}: {edge.name} is needed but not locked: lock again")
    if edge.version:
        entries = [e for e in entries if e.get("version") == edge.version] or entries
    return entries[0]


def by_name(packages: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for package in packages:
        found.setdefault(canonicalize_name(package["name"]), []).append(package)
    return found


def _load(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise LockError(f"{path.name}: not valid TOML: {e}") from e


def uv_pins(source: Path, host: HostFacts) -> list[str]:
    """Pins from ``uv.lock``: its project (the package whose source is the app's own
    directory) is the root."""
    lock = _load(source / "uv.lock")
    packages = lock.get("package", [])
    local = [p for p in packages if {"editable", "virtual"} & set(p.get("source", {}))
             and p["source"].get("editable", p["source"].get("virtual")) == "."]  # fmt: skip
    if not local:
        raise LockError("uv.lock: no package for the project itself (source '.')")

    def edges(entry: dict, extra: str) -> list[Edge]:
        wanted = entry.get("optional-dependencies", {}).get(extra, []) if extra else (
            entry.get("dependencies", []))  # fmt: skip
        return [Edge(d["name"], tuple(d.get("extra", ())), d.get("marker"), d.get("version"))
                for d in wanted]  # fmt: skip

    roots = edges(local[0], "")
    project = canonicalize_name(local[0]["name"])
    pins = walk(roots, by_name(packages), edges, environment(host), "uv.lock")
    return [p for p in pins if p.split("==")[0] != project]


def poetry_pins(source: Path, host: HostFacts) -> list[str]:
    """Pins from ``poetry.lock``, rooted at the main dependencies of pyproject.toml
    (``[project] dependencies`` or ``[tool.poetry.dependencies]``)."""
    lock = _load(source / "poetry.lock")
    pyproject = _load(source / "pyproject.toml") if (source / "pyproject.toml").is_file() else {}
    roots = [*_pep508_roots(pyproject), *_poetry_roots(pyproject)]
    if not roots:
        raise LockError("poetry.lock: pyproject.toml names no dependencies to start from")

    def edges(entry: dict, extra: str) -> list[Edge]:
        if extra:
            names = entry.get("extras", {}).get(extra, [])
            return [_requirement(n) for n in names]
        found = []
        for name, spec in entry.get("dependencies", {}).items():
            for one in spec if isinstance(spec, list) else [spec]:
                table = one if isinstance(one, dict) else {}
                if table.get("optional"):
                    continue  # only through an extra
                found.append(Edge(name, tuple(table.get("extras", ())), table.get("markers")))
        return found

    return walk(roots, by_name(lock.get("package", [])), edges, environment(host), "poetry.lock")


def _requirement(text: str) -> Edge:
    """``"sqlalchemy[asyncio] (>=2) ; python_version >= '3.8'"``, as poetry writes extras."""
    try:
        req = Requirement(text.replace(" (", " ").replace(")", ""))
    except InvalidRequirement as e:
        raise LockError(f"cannot read the requirement {text!r}: {e}") from e
    return Edge(req.name, tuple(sorted(req.extras)), str(req.marker) if req.marker else None)


def _pep508_roots(pyproject: dict) -> list[Edge]:
    return [_requirement(d) for d in pyproject.get("project", {}).get("dependencies", [])]


def _poetry_roots(pyproject: dict) -> list[Edge]:
    deps = pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {})
    roots = []
    for name, spec in deps.items():
        if name.lower() == "python":
            continue
        table = spec if isinstance(spec, dict) else {}
        if not table.get("optional"):
            roots.append(Edge(name, tuple(table.get("extras", ())), table.get("markers")))
    return roots


LOCKS = {"uv.lock": uv_pins, "poetry.lock": poetry_pins}
