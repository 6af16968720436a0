"""One command's run: the input checked (the inventory, the ``-H`` value, ``--app``,
``--set``), then its work on the hosts, app by app where they hold several."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from provision.core.output import Output, Tally
from provision.core.transport import Target
from provision.project.apply import for_each_host
from provision.project.inventory import InventoryError
from provision.project.plays import Options, Play, Project, parse_overrides
from provision.project.roles import RoleError

INVENTORY = "inventory.yaml"


def project_root(inventory: str = INVENTORY) -> Path:
    """The project's folder: the current one, or the nearest above it that holds
    ``inventory`` (a relative path); the current one for an absolute path."""
    here = Path.cwd()
    if not Path(inventory).is_absolute():
        for folder in (here, *here.parents):
            if (folder / inventory).is_file():
                return folder
    return here


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


Hosts = Callable[[Play, list[Target], Output], dict[str, Tally]]

SERVER, EACH, ONE = "server", "each", "one"  # what a command works on: see ``run``


def run(
    c: Any,
    root: Path,
    title: str,
    play_name: str,
    options: Options,
    hosts: Hosts,
    inventory: str = "inventory.yaml",
    sets: list[str] | None = None,
    verbose: bool = False,
    preflight: bool = True,
    stream: TextIO | None = None,
    app: str = "",
    scope: str = ONE,
    before: Callable[[Project, list[Target]], None] | None = None,
) -> int:
    """Check the input, then run ``hosts`` on the ``-H`` targets; 0 when all succeeded.

    ``preflight``: also run the roles' own checks of the settings (not for a rollback,
    which must work even where the app's source is not at hand). ``stream``: where the
    lines go (stdout; stderr when stdout is kept for data, as `fab status --json`'s).
    ``app``: the one app of the inventory's ``apps:`` to work on (``--app``). Otherwise
    ``scope`` says what a command works on where hosts hold several apps: the ``SERVER``
    whole (bootstrap), ``EACH`` app in turn (deploy: a failed one stops the run), or
    ``ONE`` app, which ``--app`` must then name. ``before``: a check of the command's own
    on the project and the targets, raising ``InventoryError``, before any connection."""
    try:
        project = Project.load(root, inventory)
        targets = project.targets(target_pattern(c, project))
        if app:
            targets = project.for_app(targets, app)
        if options.strict_host_keys:
            targets = [replace(t, host_keys=t.host_keys.strictly()) for t in targets]
        options.overrides = parse_overrides(sets or [])
        if before is not None:
            before(project, targets)
        groups = [("", targets)] if scope == SERVER else project.by_app(targets)
        if scope == ONE and len(groups) > 1:
            names = ", ".join(name for name, _ in groups)
            raise InventoryError(f"{', '.join(t.name for t in targets)}: {len(groups)} apps "
                                 f"({names}): name one with --app")  # fmt: skip
        plays = [(name, project.ready(play_name, group, options.overrides, checks=preflight),
                  group) for name, group in groups]  # fmt: skip
    except (InventoryError, RoleError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Output(stream, verbose=verbose)
    mode = "  [check: nothing will change]" if options.check else ""
    out.line(f"{title} -> {', '.join(f'{t.name} ({t})' for t in targets)}{mode}")
    failed = []
    for i, (name, play, group) in enumerate(plays):
        if len(plays) > 1:
            out.line(f"-- app {name} ({i + 1} of {len(plays)})")
        tallies = hosts(play, group, out)
        if any(t.failed for t in tallies.values()):
            failed.append(name)
            if scope == EACH and play_name == "deploy" and i + 1 < len(plays):
                left = ", ".join(n for n, _, _ in plays[i + 1 :])
                out.error(title, f"{name} failed: stopped before {left}")
                break
    # The run is over: spare the interpreter's exit a full garbage collection of every
    # object it made (a tenth of a second; memory is freed all the same).
    gc.freeze()
    return 1 if failed else 0


def each_host(one: Callable[[Play, Target, Output], Tally]) -> Hosts:
    """``one`` on every target at once, each on its own."""
    return lambda play, targets, out: for_each_host(targets, lambda t: one(play, t, out), out)
