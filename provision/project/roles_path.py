"""Where roles come from: the project's own ``roles/`` first, then provision's stock roles.

As with Ansible's roles path, a name is looked up in order and the first folder that has
it wins. A project's ``roles/<name>/`` with a ``tasks.py`` is a whole role: a new one, or
one that replaces the stock role of that name. Without ``tasks.py`` it only overlays the
stock role: its ``templates/`` and ``files/`` are searched before the stock role's, so a
project changes one template by writing that one file. The plays
(``roles/plays.yaml``) are the project's when it has them, else the stock ones.

Example, a project that changes nginx's site and nothing else::

    roles/nginx_site/templates/site.conf.j2
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from provision.project.roles import Role, RoleError, load_role

PLAYS = "plays.yaml"


def stock_roles() -> Path:
    """The roles provision ships: the installed ``provision_roles`` package, or, in a
    checkout that was not installed, the ``roles/`` folder beside ``provision/``."""
    spec = importlib.util.find_spec("provision_roles")
    if spec and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))).resolve()
    return Path(__file__).resolve().parents[2] / "roles"


def roles_path(root: Path) -> list[Path]:
    """The folders roles are looked up in, in order: the project's, then the stock ones."""
    stock = stock_roles()
    own = (root / "roles").resolve()
    return [own, stock] if own.is_dir() and own != stock else [stock]


def find_roles(root: Path, extra: Sequence[Path] = ()) -> dict[str, Role]:
    """Every role on the roles path (and in ``extra``, looked up last), by name."""
    found: dict[str, Path] = {}
    overlays: dict[str, list[Path]] = {}
    for folder in [*roles_path(root), *extra]:
        for path in sorted(p for p in folder.iterdir() if p.is_dir()):
            if path.name in found:
                continue
            if (path / "tasks.py").is_file():
                found[path.name] = path
            elif (path / "templates").is_dir() or (path / "files").is_dir():
                overlays.setdefault(path.name, []).append(path)
    for name in overlays:
        if name not in found:
            where = overlays[name][0]
            raise RoleError(f"{where}: overlays no role: no role named {name!r} has a tasks.py "
                            "(a role of your own needs one)")  # fmt: skip
    return {name: load_role(path, overlays.get(name, [])) for name, path in found.items()}


def plays_file(root: Path) -> Path:
    """The project's ``roles/plays.yaml`` if it has one, else the stock plays."""
    for folder in roles_path(root):
        if (folder / PLAYS).is_file():
            return folder / PLAYS
    return stock_roles() / PLAYS
