"""Settings checked before any connection: what a role can tell from them alone.

A role module may define ``check(settings, project_root)``, raising ``SchemaError`` for
a value it cannot work with (an unknown choice, a missing directory),
``check_peers(settings, peers)`` for one that names other hosts, and
``check_apps(apps)`` for the apps one server holds together (two that claim one port).
The error names where the value was set: the inventory's file, line and key, ``--set``,
or the role's defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from provision.core.transport import Target
from provision.project import engine_settings
from provision.project.hooks import Hook
from provision.project.inventory import Inventory, InventoryError
from provision.project.peers import NO_PEERS, Peers
from provision.project.roles import Role, RoleError, resolve_vars
from provision.project.schema import SchemaError

# before any connection: raise SchemaError(key, why) for a setting the role cannot take
CHECK: Hook[None] = Hook("check")  # check(settings, project_root)
CHECK_PEERS: Hook[None] = Hook("check_peers")  # check_peers(settings, peers)
# check_apps(apps): {name: settings} of the apps one server holds; SchemaError(.., app=)
CHECK_APPS: Hook[None] = Hook("check_apps")


def check_settings(
    roles_of: Callable[[dict[str, Any]], list[Role]],
    every_role: list[Role],
    targets: list[Target],
    inventory: Inventory,
    overrides: dict[str, Any],
    root: Path,
    peers: Peers = NO_PEERS,
) -> None:
    """Run the ``check`` (and ``check_peers``) of each role a target runs (``roles_of`` its
    settings) on its settings, each app's where it holds several (the one it is narrowed
    to, ``Target.app``), then their ``check_apps`` on every app; raise the first fault."""
    for target in targets:
        apps = target.apps if len(target.apps) > 1 else {target.app: target.vars}
        together: dict[str, dict[str, Any]] = {}
        roles: list[Role] = []
        for app, given in apps.items():
            try:
                settings = resolve_vars(every_role, given, overrides)
                engine_settings.check(settings)
                roles = roles_of(settings)
            except SchemaError as e:
                raise _placed(e, target, inventory, overrides, app=app) from e
            together[app] = settings
            if target.app and app != target.app:
                continue  # another app of the server: only checked beside this one, below
            for role in roles:
                try:
                    CHECK.answer(role, settings, root)
                    CHECK_PEERS.answer(role, settings, peers)
                except SchemaError as e:
                    raise _placed(e, target, inventory, overrides, role, app) from e
        if len(together) > 1:
            for role in roles:
                try:
                    CHECK_APPS.answer(role, together)
                except SchemaError as e:
                    raise _placed(e, target, inventory, overrides, role, e.app) from e


def _placed(
    e: SchemaError,
    target: Target,
    inventory: Inventory,
    overrides: dict[str, Any],
    role: Role | None = None,
    app: str = "",
) -> InventoryError | RoleError:
    if e.key in overrides:
        return InventoryError(f"--set {e.key}: {e.message}")
    place = inventory.setter(target.name, e.key, app)
    if place is not None:
        return inventory.error(place, e.message)
    if role is not None and e.key in role.defaults:
        return RoleError(f"roles/{role.name}/defaults.yaml: {e.key}: {e.message}")
    return InventoryError(f"{e.key}: {e.message}")
