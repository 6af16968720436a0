"""What the Fabric tasks call: turn options into engine calls and an exit status."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import deploy as releases
from .actions import run_action
from .engine import (
    Options,
    Playbook,
    Project,
    apply_one,
    for_each_host,
    guarded,
    parse_overrides,
)
from .inventory import InventoryError, Target
from .output import Output, Tally
from .preflight import check_settings
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


def run(
    c: Any,
    root: Path,
    title: str,
    play: str,
    options: Options,
    one: Callable[[Playbook, Target, Output], Tally],
    inventory: str = "inventory.yaml",
    sets: list[str] | None = None,
    verbose: bool = False,
    preflight: bool = True,
) -> int:
    """Check the input, then run ``one`` on every ``-H`` target; 0 when all succeeded.

    ``preflight``: also run the roles' own checks of the settings (not for a rollback,
    which must work even where the app's source is not at hand)."""
    try:
        project = Project.load(root, inventory)
        targets = project.targets(target_pattern(c, project))
        options.overrides = parse_overrides(sets or [])
        project.check_overrides(options.overrides)
        book = project.play(play)
        if preflight:
            check_settings(book.roles, book.every_role, targets, project.inventory,
                           options.overrides, root)  # fmt: skip
    except (InventoryError, RoleError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Output(verbose=verbose)
    mode = "  [check: nothing will change]" if options.check else ""
    out.line(f"{title} -> {', '.join(f'{t.name} ({t})' for t in targets)}{mode}")
    tallies = for_each_host(targets, lambda t: one(book, t, out), out)
    # The run is over: spare the interpreter's exit a full garbage collection of every
    # object it made (a tenth of a second; memory is freed all the same).
    gc.freeze()
    return 1 if any(t.failed for t in tallies.values()) else 0


def bootstrap(c: Any, root: Path, options: Options, **kw: Any) -> int:
    config = getattr(c, "config", None)

    def one(book: Playbook, target: Target, out: Output) -> Tally:
        return apply_one(book, target, options, out, config)

    return run(c, root, "bootstrap", "bootstrap", options, one, **kw)


def _release_task(
    c: Any, root: Path, title: str, options: releases.DeployOptions, work: Callable, **kw: Any
) -> int:
    config = getattr(c, "config", None)
    options.project_root = root

    def one(book: Playbook, target: Target, out: Output) -> Tally:
        return guarded(target, out, config, lambda s, tally: work(s, book, options, out, tally))

    # rollback and releases read the releases by the deploy play's roles
    return run(c, root, title, "deploy", options, one, **kw)


def deploy(c: Any, root: Path, options: releases.DeployOptions, **kw: Any) -> int:
    return _release_task(c, root, "deploy", options, releases.deploy_one, **kw)


def rollback(c: Any, root: Path, options: releases.DeployOptions, **kw: Any) -> int:
    return _release_task(c, root, "rollback", options, releases.rollback_one, preflight=False, **kw)


def list_releases(c: Any, root: Path, options: releases.DeployOptions, **kw: Any) -> int:
    return _release_task(
        c, root, "releases", options, releases.list_releases, preflight=False, **kw
    )


def action(c: Any, root: Path, name: str, options: Options, **kw: Any) -> int:
    """Run a role's action (``fab backup``) on every target."""
    config = getattr(c, "config", None)

    def one(book: Playbook, target: Target, out: Output) -> Tally:
        return guarded(target, out, config, run_action(name, book, options.overrides, out))

    # an action needs a server set up (the deploy play's `after`) and no app source
    return run(c, root, name, "deploy", options, one, preflight=False, **kw)
