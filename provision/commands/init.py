"""`provision init`: an inventory for the app in this folder, read from its source.

Nothing of the app is run. The engine reads what any Python project says of itself (its
name, its dependency file and what it names); each role then answers ``detect`` with the
settings it can tell from the source, a comment for each, and warnings. The inventory is
written from those answers, annotated like the shipped one, beside a one-line
``fabfile.py`` (for `fab`); ``.gitignore`` gets provision's local state. A file that is
there is never overwritten: a second run changes nothing and says so.

Example::

    $ provision init
    wrote inventory.yaml: app_name hello, app_module app.main:app, ...
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import jinja2
import yaml

from provision.core.errors import ProvisionError
from provision.project.hooks import Hook
from provision.project.inventory import STATE
from provision.project.roles_path import find_roles
from provision.release.artifact import TYPICAL, ArtifactError, dependencies

INVENTORY = "inventory.yaml"
FABFILE = "fabfile.py"
FABFILE_LINE = "from provision.tasks import *  # noqa: F403  (provision's tasks, for `fab`)\n"
IGNORED = f"{STATE}/"  # provision's local state: known hosts, the sandbox's key and state


@dataclass(frozen=True)
class AppSource:
    """What init knows of the app before asking the roles: its folder, its project name
    (pyproject.toml's, or the folder's), the file its dependencies are read from (as a
    deploy reads them; "" when none) and the names of those dependencies."""

    path: Path
    name: str
    dependency_file: str
    dependencies: frozenset[str]


@dataclass
class Detected:
    """A role's answer to ``detect``: the settings it found, a comment for each (said
    above it in the inventory), and what the person should know (a route missing)."""

    settings: dict[str, Any] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)  # commented-out lines, shown after


DETECT: Hook[Detected] = Hook("detect")  # detect(source: AppSource) -> Detected


class InitError(ProvisionError):
    pass


def read_source(path: Path) -> AppSource:
    """The project's name and its dependencies, as a deploy would read them."""
    name = path.resolve().name
    pyproject = path / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text())
        except tomllib.TOMLDecodeError as e:
            raise InitError(f"{pyproject}: not valid TOML: {e}") from e
        poetry = data.get("tool", {}).get("poetry", {})
        name = data.get("project", {}).get("name") or poetry.get("name") or name
    try:
        deps = dependencies(path)
    except ArtifactError:
        return AppSource(path, name, "", frozenset())
    if deps.pins is not None:  # a lock: every package it pins, for a typical server
        wanted = [pin.partition("==")[0] for pin in deps.args_for(TYPICAL)]
    elif deps.found_in == "pyproject.toml":
        wanted = deps.args
    else:
        wanted = (path / deps.found_in).read_text().splitlines()
    return AppSource(path, name, deps.found_in, frozenset(_names(wanted)))


def _names(lines: list[str]) -> list[str]:
    # imported here: only `provision init` reads requirements with it, and every command
    # imports this module (its types are in the role contract): 10 ms of each one's start
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    found = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        try:
            found.append(canonicalize_name(Requirement(line).name))
        except InvalidRequirement:
            continue
    return found


def detect(path: Path) -> tuple[AppSource, list[Detected]]:
    """The app at ``path``, and what each role (the project's, then the stock ones) found."""
    source = read_source(path)
    roles = find_roles(path)
    return source, [made for _, made in DETECT.answers(roles.values(), lambda role: (source,))]


def settings_of(found: list[Detected]) -> list[tuple[str, str]]:
    """(comment, ``key: value`` as YAML writes it) of every setting the roles found."""
    settings = []
    for answer in found:
        for key, value in answer.settings.items():
            value_text = yaml.safe_dump({key: value}, default_flow_style=True, width=1000)
            settings.append((answer.comments.get(key, ""), value_text.strip()[1:-1]))
    return settings


def render(source: AppSource, found: list[Detected]) -> str:
    """The annotated inventory for ``source``, from the roles' answers."""
    settings = settings_of(found)
    examples = [line for answer in found for line in answer.examples]
    template = jinja2.Environment(
        loader=jinja2.PackageLoader("provision.commands", ""),
        keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False,
    ).get_template("inventory.yaml.j2")  # fmt: skip
    return template.render(source=source, settings=settings, examples=examples, state=STATE)


def init(folder: Path, out: TextIO = sys.stdout) -> int:
    """Write the inventory, the fabfile and the .gitignore line that ``folder`` lacks."""
    try:
        source, found = detect(folder)
        inventory = render(source, found)
    except ProvisionError as e:  # a role that does not load, a pyproject.toml that does not parse
        print(f"error: {e}", file=sys.stderr)
        return 2
    said = []
    for name, text in ((INVENTORY, inventory), (FABFILE, FABFILE_LINE)):
        path = folder / name
        if path.exists():
            said.append(f"kept {name}: it is there already (init never overwrites a file)")
        else:
            path.write_text(text)
            said.append(f"wrote {name}")
    said.append(_ignore(folder / ".gitignore"))
    for line in said:
        print(line, file=out)
    print(f"\nfound in {source.path.resolve().name}/:", file=out)
    print(f"  dependencies: {source.dependency_file or 'none found'}", file=out)
    for _, setting in settings_of(found):
        print(f"  {setting}", file=out)
    warnings = [w for answer in found for w in answer.warnings]
    if not source.dependency_file:
        warnings.insert(0, "no dependencies found: a deploy reads uv.lock, poetry.lock, "
                        "requirements.txt or [project] dependencies in pyproject.toml")  # fmt: skip
    for warning in warnings:
        print(f"warning: {warning}", file=out)
    print("\nnext:\n  provision sandbox                  a local Debian server to rehearse on "
          "(root)\n  provision bootstrap -H sandbox     set it up\n"
          "  provision deploy -H sandbox        ship the app", file=out)  # fmt: skip
    return 0


def _ignore(path: Path) -> str:
    text = path.read_text() if path.exists() else ""
    lines = text.splitlines()
    if any(line.strip().rstrip("/") in (STATE, f"/{STATE}") for line in lines):
        return f"kept .gitignore: it ignores {IGNORED} already"
    if text and not text.endswith("\n"):
        text += "\n"
    path.write_text(f"{text}# provision's local state: known hosts, the sandbox\n{IGNORED}\n")
    return f"added {IGNORED} to .gitignore" if lines else f"wrote .gitignore ({IGNORED})"
