"""What the Fabric tasks call: turn options into engine calls and an exit status."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .engine import Options, Project, apply, parse_overrides
from .inventory import InventoryError, Target
from .output import Output
from .roles import RoleError


def target_pattern(c: Any, project: Project) -> str:
    """The ``-H`` value as the inventory sees it: a name, or ``user@host:port``."""
    host = getattr(c, "original_host", None)
    if not host:
        raise InventoryError(
            "no host given: use -H NAME (from the inventory) or -H user@host[:port]"
        )
    if host in project.inventory.names() or not any(ch in host for ch in ".:"):
        return host
    address = f"[{host}]" if ":" in host else host
    return f"{c.user}@{address}:{c.port}"


def converge(
    c: Any,
    root: Path,
    title: str,
    roles: list[str],
    inventory: str = "inventory.yaml",
    check: bool = False,
    diff: bool = False,
    sets: list[str] | None = None,
    verbose: bool = False,
) -> int:
    """Apply ``roles`` to the ``-H`` target(s); 0 when every host succeeded."""
    try:
        project = Project.load(root, inventory)
        targets: list[Target] = project.targets(target_pattern(c, project))
        options = Options(check=check, diff=diff, overrides=parse_overrides(sets or []))
        project.check_overrides(options.overrides)
        project.pick(roles)
    except (InventoryError, RoleError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Output(verbose=verbose)
    mode = "  [check: nothing will change]" if check else ""
    out.line(f"{title} -> {', '.join(f'{t.name} ({t})' for t in targets)}{mode}")
    tallies = apply(project, roles, targets, options, out, config=getattr(c, "config", None))
    return 1 if any(t.failed for t in tallies.values()) else 0
