"""Plays: the roles ``roles/plays.yaml`` names for each command, and the project they come from.

A ``Project`` is a repository's roles, plays and inventory, loaded and checked before any
connection; ``Project.play(name)`` gives a ``Play``: the roles that command applies, in
order, on each kind of host (``kind: serves`` in plays.yaml names the setting that gives a
host's kind), with every role's settings.

Example::

    project = Project.load(Path("."))
    play = project.play("bootstrap")
    play.roles_of({"serves": "balancer", ...})   # base, nginx, ssh, firewall
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from provision.core.transport import Target
from provision.project import yaml_text
from provision.project.hooks import Hook
from provision.project.inventory import Inventory, InventoryError
from provision.project.peers import NO_PEERS, Peers
from provision.project.preflight import check_settings
from provision.project.roles import Role, RoleError, resolve_vars, schema
from provision.project.roles_path import find_roles, plays_file
from provision.project.schema import SchemaError, check_vars, closest

KIND_BY = "kind"  # in plays.yaml: the setting that gives a host's kind
APP_BY = "app"  # in plays.yaml: the setting an app's name (its key under apps:) fills
PER_APP = "per_app"  # in plays.yaml: the roles that run once for each app of a server
ROAD = "containers"  # in plays.yaml: the roles that give the container road its parts
SETTINGS = (KIND_BY, APP_BY, PER_APP, ROAD)  # plays.yaml's keys that are not plays
# app_defaults(name): settings a role gives each app of the inventory's apps: by its name
APP_DEFAULTS: Hook[dict[str, Any]] = Hook("app_defaults")


@dataclass
class Options:
    check: bool = False
    diff: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)
    # refuse a host whose key no known-hosts file holds, whatever the inventory says
    strict_host_keys: bool = False


@dataclass
class Play:
    """A command's roles, in order, for each kind of host: ``kinds`` maps a kind to its
    roles, and ``kind_by`` names the setting that gives a host's kind (none: one kind,
    ""). ``every_role`` gives the settings (any role's setting is valid for every play);
    ``after``: a play that must have completed on a server first; ``peers``: the
    inventory's hosts, for roles that span hosts; ``elsewhere``: for each kind, the roles
    the other plays run there (what `fab status` and `fab logs` read too); ``per_app``:
    the roles that run once for each app of a server (the others, once a server)."""

    name: str
    kinds: dict[str, list[Role]]
    every_role: list[Role]
    after: str | None = None
    peers: Peers = NO_PEERS
    kind_by: str = ""
    elsewhere: dict[str, list[Role]] = field(default_factory=dict)
    per_app: tuple[str, ...] = ()  # in plays.yaml's order

    def kind(self, settings: dict[str, Any]) -> str:
        """The kind of a host with these settings; ``SchemaError`` for one the plays lack."""
        if not self.kind_by:
            return ""
        value = settings.get(self.kind_by)
        if value not in self.kinds:
            raise SchemaError(self.kind_by, f"expected one of {', '.join(self.kinds)}; got "
                              f"{value!r}")  # fmt: skip
        return str(value)

    def roles_of(self, settings: dict[str, Any]) -> list[Role]:
        """The roles this play runs on a host with these settings, in order."""
        return self.kinds[self.kind(settings)]

    def on_server(self, settings: dict[str, Any]) -> list[Role]:
        """This play's roles on such a host, then those the other plays run there."""
        mine = self.roles_of(settings)
        return [*mine, *(r for r in self.elsewhere.get(self.kind(settings), []) if r not in mine)]


class Project:
    """A repository's roles, plays and inventory, loaded and checked before any connection."""

    def __init__(self, roles: dict[str, Role], inventory: Inventory,
                 plays: dict[str, Any] | None = None, root: Path = Path(".")) -> None:  # fmt: skip
        self.roles = roles
        self.inventory = inventory
        self.plays = plays or {}
        self.root = root
        self._app_defaults: dict[str, dict[str, Any]] = {}

    @classmethod
    def load(
        cls, root: Path, inventory: str | Path = "inventory.yaml", extra: Sequence[Path] = ()
    ) -> Project:
        """The roles on the project's roles path (see ``roles_path``), and in ``extra``:
        more role directories, for roles no play names yet (tests, tools)."""
        roles = find_roles(root, extra)
        plays = _load_plays(plays_file(root), roles)
        inv = Inventory.load(root / inventory, schema(roles.values()))
        _check_apps_settings(inv, roles, plays.get(PER_APP, []))
        return cls(roles, inv, plays, root)

    def play(self, name: str, overrides: dict[str, Any] | None = None) -> Play:
        if name not in self.plays or name in SETTINGS:
            raise RoleError(f"roles/plays.yaml: no play named {name!r}{closest(name, self.plays)}")
        spec, kind_by = self.plays[name], self.plays.get(KIND_BY, "")
        every = list(self.roles.values())
        peers = Peers(self.inventory, lambda given: resolve_vars(every, given, overrides or {}),
                      prepare=self.with_apps)  # fmt: skip
        kinds = {kind: self.pick(names) for kind, names in spec["roles"].items()}
        elsewhere: dict[str, list[Role]] = {}
        for other, play in self.plays.items():
            if other != name and other not in SETTINGS:
                for kind, names in play["roles"].items():
                    elsewhere.setdefault(kind, []).extend(self.pick(names))
        return Play(name, kinds, every, spec.get("after"), peers, kind_by, elsewhere,
                    tuple(self.plays.get(PER_APP, ())))  # fmt: skip

    def ready(self, name: str, targets: list[Target], overrides: dict[str, Any],
              checks: bool = True) -> Play:  # fmt: skip
        """The play ``name``, once the command-line overrides and (with ``checks``) the
        roles' own checks of every target's settings passed: before any connection."""
        self.check_overrides(overrides)
        play = self.play(name, overrides)
        if checks:
            check_settings(play.roles_of, play.every_role, targets, self.inventory, overrides,
                           self.root, play.peers)  # fmt: skip
        return play

    def targets(self, pattern: str) -> list[Target]:
        """The ``-H`` value's hosts, each with its apps' settings (an app's name in the
        setting plays.yaml's ``app`` names); a host that runs one app of the inventory's
        ``apps:`` has that app's settings and is narrowed to it (``Target.app``)."""
        return [self.with_apps(target) for target in self.inventory.resolve(pattern)]

    def with_apps(self, target: Target) -> Target:
        """``target`` (as the inventory gives it) with its apps' settings: the roles'
        ``app_defaults`` below them, the app's name in the setting plays.yaml's ``app``
        names; narrowed to its app where it runs one."""
        app_by = self.plays.get(APP_BY, "")
        if app_by:
            apps = {name: {**self.app_defaults(name), **given, app_by: name}
                    for name, given in target.apps.items()}  # fmt: skip
            target = replace(target, apps=apps)
        if len(target.apps) == 1:
            [(name, settings)] = target.apps.items()
            target = replace(target, vars=settings, app=name)
        return target

    def for_app(self, targets: list[Target], app: str) -> list[Target]:
        """Those of ``targets`` that run ``app`` (``--app``), narrowed to it."""
        apps = self.inventory.data.get("apps") or {}
        if app not in apps:
            known = f"{closest(app, apps)} (apps: {', '.join(apps)})" if apps else (
                " (the inventory has no apps: section: it holds one app)")  # fmt: skip
            raise InventoryError(f"{self.inventory.path}: --app {app}: no such app{known}")
        found = [replace(t, vars=t.apps[app], app=app) for t in targets if app in t.apps]
        if not found:
            names = ", ".join(t.name for t in targets)
            raise InventoryError(f"{self.inventory.path}: --app {app}: {names} "
                                 f"run{'s' * (len(targets) == 1)} other apps")  # fmt: skip
        return found

    @staticmethod
    def by_app(targets: list[Target]) -> list[tuple[str, list[Target]]]:
        """The targets app by app, each narrowed to the app, in the order the hosts
        name them: what a command that works on one app at a time goes through. An
        inventory of one app (no ``apps:``) is one group, named ""."""
        if not any(t.apps for t in targets):
            return [("", targets)]
        each = {t.name: [t.app] if t.app else list(t.apps) for t in targets}
        names = dict.fromkeys(name for t in targets for name in each[t.name])
        return [(name, [replace(t, vars=t.apps[name], app=name) for t in targets
                        if name in each[t.name]]) for name in names]  # fmt: skip

    def apps_given(self) -> dict[str, dict[str, Any]]:
        """Each app's settings as the inventory gives every host (``vars``, then the app's
        own), by name; for an inventory of one app, ``vars`` (named "")."""
        base = self.inventory.data.get("vars") or {}
        apps = self.inventory.data.get("apps") or {}
        if not apps:
            return {"": base}
        app_by = self.plays.get(APP_BY, "")
        return {name: {**self.app_defaults(name), **base, **(given or {}),
                       **({app_by: name} if app_by else {})}
                for name, given in apps.items()}  # fmt: skip

    def app_defaults(self, name: str) -> dict[str, Any]:
        """What the roles give an app of the inventory's ``apps:`` by its name (its own
        ports, say), below every value the inventory sets; asked once per app."""
        if name not in self._app_defaults:
            found: dict[str, Any] = {}
            for _, given in APP_DEFAULTS.answers(self.roles.values(), lambda role: (name,)):
                found.update(given)
            self._app_defaults[name] = found
        return self._app_defaults[name]

    def check_overrides(self, overrides: dict[str, Any]) -> None:
        try:
            check_vars(overrides, schema(self.roles.values()))
        except SchemaError as e:
            raise InventoryError(f"--set {e.key}: {e.message}") from e

    def road(self) -> list[Role]:
        """The roles of the container road (plays.yaml's ``containers``), in order."""
        return self.pick(self.plays.get(ROAD, []))

    def pick(self, names: list[str]) -> list[Role]:
        missing = [n for n in names if n not in self.roles]
        if missing:
            raise RoleError(f"roles/{missing[0]}: no such role")
        return [self.roles[n] for n in names]


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``["app_workers=4", "app_name=shop"]`` -> ``{"app_workers": 4, "app_name": "shop"}``."""
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InventoryError(f"--set {pair!r}: expected NAME=VALUE")
        result[key.strip()] = yaml.safe_load(value) if value else ""
    return result


def _check_apps_settings(inventory: Inventory, roles: dict[str, Role], per_app: list[str]) -> None:
    """Refuse, under ``apps:``, a setting only roles that run once a server take: it is the
    server's, the same for every app there (``base_packages``, say)."""
    if not per_app:
        return
    apps_own = {key for name in per_app if name in roles for key in roles[name].defaults}
    owner = {key: role.name for role in roles.values() if role.name not in per_app
             for key in role.defaults if key not in apps_own}  # fmt: skip
    for app, given in (inventory.data.get("apps") or {}).items():
        for key in given or {}:
            if key in owner:
                raise inventory.error(("apps", app, key), f"a setting of the server (roles/"
                                      f"{owner[key]}), the same for every app there: set it in "
                                      "vars, or in a group's or the host's vars")  # fmt: skip


def _load_plays(path: Path, roles: dict[str, Role]) -> dict[str, Any]:
    try:
        plays = yaml_text.load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise RoleError(f"{path}: {e}") from e
    kind_by = plays.get(KIND_BY, "")
    for key in (PER_APP, ROAD):
        for role in plays.get(key, []):
            if role not in roles:
                raise RoleError(f"{path}: {key}: no role named {role!r}{closest(role, roles)}")
    for name, play in plays.items():
        if name in SETTINGS:
            continue
        given = play.get("roles", [])
        kinds = given if isinstance(given, dict) else {"": given}
        if kind_by and "" in kinds:
            kinds = {kind: given for kind in _kinds(plays)}  # one list for every kind
        for names in kinds.values():
            for role in names:
                if role not in roles:
                    raise RoleError(f"{path}: {name}: no role named {role!r}"
                                    f"{closest(role, roles)}")  # fmt: skip
        after = play.get("after")
        if after is not None and after not in plays:
            raise RoleError(f"{path}: {name}: after: no play named {after!r}")
        play["roles"] = {kind: list(names) for kind, names in kinds.items()}
    return plays


def _kinds(plays: dict[str, Any]) -> list[str]:
    """The kinds the plays name, in their order."""
    found: list[str] = []
    for name, play in plays.items():
        if name not in SETTINGS and isinstance(play.get("roles"), dict):
            found += [kind for kind in play["roles"] if kind not in found]
    return found
