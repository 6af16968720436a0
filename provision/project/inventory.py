"""inventory.yaml: hosts, groups, vars and apps, checked before any connection is made.

Without ``apps:`` an inventory holds one app, from ``vars``. With it, each app has its
own settings (what ``vars`` takes for one app), and a host or group may list the apps it
runs (``apps: [shop]``; default: every app)::

    apps:
      hello: {app_source: example-app, app_domain: hello.example.com}
      shop: {app_source: ../shop, app_domain: shop.example.com}
    hosts:
      web1: {address: 203.0.113.10, apps: [shop]}
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from provision.core.errors import ProvisionError
from provision.core.hostkeys import CHECKING, STRICT, HostKeyCheck
from provision.core.numbers import is_number
from provision.core.transport import Target
from provision.project import yaml_text
from provision.project.schema import SchemaError, check_vars, closest, type_name

HOST_KEYS = {"address": str, "user": str, "port": int, "key": str, "vars": dict, "apps": list}
GROUP_KEYS = {"hosts": list, "vars": dict, "apps": list}
HOST_KEY_KEYS = {"checking": str, "file": str}
TOP_KEYS = {"vars": dict, "hosts": dict, "groups": dict, "host_keys": dict, "apps": dict}
# An app's name names its user, its folder and its units on the server.
APP_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
# The project's own state, beside the inventory and ignored by git: known hosts here, the
# sandbox's key and state in sandbox/.
STATE = ".provision"
KNOWN_HOSTS = f"{STATE}/known_hosts"  # the project's known-hosts file
OLD_KNOWN_HOSTS = "known_hosts"  # where it was before 0.2, still read when it is there
ADHOC = re.compile(
    r"^(?:(?P<user>[^@\s]+)@)?(?P<host>\[[0-9a-fA-F:.]+\]|[^:@\s]+)(?::(?P<port>\d+))?$"
)


class InventoryError(ProvisionError):
    """Bad inventory or target: the one-line message names the file, the key and the fault."""


class Inventory:
    """A loaded, validated inventory. ``resolve`` turns a ``-H`` value into targets.

    Example::

        inv = Inventory.load("inventory.yaml", schema={"app_name": "hello"})
        [web1] = inv.resolve("web1")
    """

    def __init__(self, path: Path, data: dict[str, Any], lines: dict[tuple, int]) -> None:
        self.path = path
        self.data = data
        self._lines = lines

    @classmethod
    def load(cls, path: str | Path, schema: dict[str, Any]) -> Inventory:
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as e:
            raise InventoryError(f"{path}: cannot read the inventory: {e.strerror}") from e
        try:
            lines = _key_lines(yaml.compose(text, Loader=yaml.SafeLoader))  # its own messages
            data = yaml_text.load(text)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            where = f"{path}:{mark.line + 1}" if mark else str(path)
            raise InventoryError(f"{where}: YAML syntax error: {e.problem or e}") from e
        except _DuplicateKey as e:
            raise InventoryError(f"{path}:{e.line}: {e.dotted}: key given twice") from e
        inv = cls(path, data if data is not None else {}, lines)
        inv._validate(schema)
        return inv

    def error(self, keys: tuple, message: str) -> InventoryError:
        line = self._lines.get(keys)
        where = f"{self.path}:{line}" if line else str(self.path)
        dotted = ".".join(str(k) for k in keys)
        return InventoryError(f"{where}: {dotted}: {message}" if dotted else f"{where}: {message}")

    def _validate(self, schema: dict[str, Any]) -> None:
        if not isinstance(self.data, dict):
            raise self.error((), f"expected a mapping at the top, got {type_name(self.data)}")
        self._check_mapping((), self.data, TOP_KEYS)
        checking = self.data.get("host_keys") or {}
        self._check_mapping(("host_keys",), checking, HOST_KEY_KEYS)
        if checking.get("checking", CHECKING[0]) not in CHECKING:
            given = str(checking["checking"])
            raise self.error(("host_keys", "checking"), f"expected {' or '.join(CHECKING)}, "
                             f"got {given!r}{closest(given, CHECKING)}")  # fmt: skip
        self._check_vars(("vars",), self.data.get("vars") or {}, schema)
        hosts = self.data.get("hosts") or {}
        for name, host in hosts.items():
            if not isinstance(host, dict):
                raise self.error(("hosts", name), f"expected a mapping, got {type_name(host)}")
            self._check_mapping(("hosts", name), host, HOST_KEYS)
            if not host.get("address"):
                raise self.error(("hosts", name), "missing required key 'address'")
            if not 0 < host.get("port", 22) < 65536:
                raise self.error(("hosts", name, "port"), "must be between 1 and 65535")
            self._check_vars(("hosts", name, "vars"), host.get("vars") or {}, schema)
        for name, group in (self.data.get("groups") or {}).items():
            if name in hosts:
                raise self.error(("groups", name), "a host has this name already")
            if not isinstance(group, dict):
                raise self.error(("groups", name), f"expected a mapping, got {type_name(group)}")
            self._check_mapping(("groups", name), group, GROUP_KEYS)
            for i, member in enumerate(group.get("hosts") or []):
                if member not in hosts:
                    hint = closest(str(member), hosts)
                    raise self.error(("groups", name, "hosts", i), f"unknown host '{member}'{hint}")
            self._check_vars(("groups", name, "vars"), group.get("vars") or {}, schema)
        self._check_apps(schema)

    def _check_apps(self, schema: dict[str, Any]) -> None:
        apps = self.data.get("apps")
        for name, settings in (apps or {}).items():
            if not APP_NAME.match(str(name)):
                why = "lower-case letters, digits and -, from a letter (it names its units)"
                raise self.error(("apps", name), f"an app's name is {why}")
            if settings is not None and not isinstance(settings, dict):
                raise self.error(("apps", name), f"expected a mapping of settings, got "
                                 f"{type_name(settings)}")  # fmt: skip
            self._check_vars(("apps", name), settings or {}, schema)
        for kind in ("hosts", "groups"):
            for owner, entry in (self.data.get(kind) or {}).items():
                for i, app in enumerate(entry.get("apps") or []):
                    if app not in (apps or {}):
                        known = f"{closest(str(app), apps or {})} (apps: {', '.join(apps or {})})"
                        raise self.error(
                            (kind, owner, "apps", i),
                            f"no app named '{app}'"
                            + (known if apps else " (the inventory has no apps:)"),
                        )

    def apps_of(self, host: str) -> list[str]:
        """The apps ``host`` runs: those it lists, else those its groups list, else all;
        none for an inventory of one app (no ``apps:``)."""
        apps = self.data.get("apps") or {}
        own = (self.data.get("hosts") or {}).get(host, {}).get("apps")
        if own is not None:
            return list(own)
        groups = [g for g in (self.data.get("groups") or {}).values()
                  if host in (g.get("hosts") or []) and g.get("apps") is not None]  # fmt: skip
        return list(dict.fromkeys(a for g in groups for a in g["apps"])) if groups else list(apps)

    def _check_mapping(self, keys: tuple, data: dict, allowed: dict[str, type]) -> None:
        for key, value in data.items():
            if key not in allowed:
                raise self.error((*keys, key), f"unknown key{closest(str(key), allowed)}")
            want = allowed[key]
            if value is not None and not _is(value, want):
                raise self.error(
                    (*keys, key), f"expected {type_name(want())}, got {type_name(value)} {value!r}"
                )

    def _check_vars(self, keys: tuple, data: dict, schema: dict[str, Any]) -> None:
        try:
            check_vars(data, schema)
        except SchemaError as e:
            raise self.error((*keys, e.key), e.message) from e

    def setter(self, host: str, key: str, app: str = "") -> tuple | None:
        """Where the inventory sets ``key`` for ``host`` (and its ``app``), the place that
        wins (host vars, then its groups in file order, the app's, the top-level vars), or
        None."""
        places = [("hosts", host, "vars")] if host in (self.data.get("hosts") or {}) else []
        groups = self.data.get("groups") or {}
        places += [("groups", name, "vars") for name in reversed(list(groups))
                   if host in (groups[name].get("hosts") or [])]  # fmt: skip
        places += [("apps", app)] if app else []
        places.append(("vars",))
        return next(((*p, key) for p in places if (*p, key) in self._lines), None)

    def _key_path(self, key: str) -> str:
        expanded = os.path.expanduser(key)
        return str((self.path.parent / expanded).resolve())

    def host_keys(self) -> HostKeyCheck:
        """How this inventory's hosts have their SSH keys checked (``host_keys:``)."""
        given = self.data.get("host_keys") or {}
        record = Path(self._key_path(given.get("file") or KNOWN_HOSTS))
        old = self.path.parent / OLD_KNOWN_HOSTS
        if "file" not in given and not record.exists() and old.is_file():
            record = old.resolve()
        return HostKeyCheck(record=record, strict=given.get("checking") == STRICT)

    def names(self) -> list[str]:
        return [*(self.data.get("hosts") or {}), *(self.data.get("groups") or {})]

    def resolve(self, pattern: str) -> list[Target]:
        """Targets for one ``-H`` value: a host name, a group name, or ``user@host[:port]``."""
        hosts = self.data.get("hosts") or {}
        groups = self.data.get("groups") or {}
        if pattern in hosts:
            return [self._target(pattern)]
        if pattern in groups:
            return [self._target(h) for h in groups[pattern].get("hosts") or []]
        adhoc = ADHOC.match(pattern)
        if adhoc and ("@" in pattern or ":" in pattern or "." in pattern):
            return [
                Target(
                    name=pattern,
                    address=adhoc["host"].strip("[]"),
                    user=adhoc["user"] or "root",
                    port=int(adhoc["port"] or 22),
                    vars=dict(self.data.get("vars") or {}),
                    host_keys=self.host_keys(),
                    apps=self._apps({}, list(self.data.get("apps") or {})),
                )
            ]
        known = ", ".join(self.names()) or "none"
        hint = closest(pattern, self.names())
        raise InventoryError(
            f"{self.path}: no host or group named '{pattern}'{hint} (known: {known}); "
            "an address works too: user@host[:port]"
        )

    def _target(self, name: str) -> Target:
        host = self.data["hosts"][name]
        key = self._key_path(host["key"]) if host.get("key") else None
        if key and not Path(key).is_file():
            raise self.error(("hosts", name, "key"), f"no such key file '{host['key']}'")
        own: dict[str, Any] = {}  # the groups' vars and the host's, later wins
        for group in (self.data.get("groups") or {}).values():
            if name in (group.get("hosts") or []):
                own.update(group.get("vars") or {})
        own.update(host.get("vars") or {})
        merged = {**(self.data.get("vars") or {}), **own}
        return Target(
            name=name,
            address=host["address"],
            user=host.get("user") or "root",
            port=int(host.get("port") or 22),
            key=key,
            vars=merged,
            host_keys=self.host_keys(),
            apps=self._apps(own, self.apps_of(name)),
        )

    def _apps(self, own: dict[str, Any], names: list[str]) -> dict[str, dict[str, Any]]:
        """Each app's settings on a host: vars < apps.<app> < the host's groups' and its own
        vars (``own``)."""
        apps = self.data.get("apps") or {}
        base = self.data.get("vars") or {}
        return {app: {**base, **(apps[app] or {}), **own} for app in names}


def _is(value: Any, want: type) -> bool:
    if want is int:
        return is_number(value, whole=True)
    return isinstance(value, want)


class _DuplicateKey(Exception):
    def __init__(self, dotted: str, line: int) -> None:
        super().__init__(dotted)
        self.dotted = dotted
        self.line = line


def _key_lines(node: yaml.Node | None, keys: tuple = ()) -> dict[tuple, int]:
    """Line of every mapping key and list item, by its path of keys."""
    lines: dict[tuple, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = (*keys, key_node.value)
            if path in lines:
                dotted = ".".join(str(k) for k in path)
                raise _DuplicateKey(dotted, key_node.start_mark.line + 1)
            lines[path] = key_node.start_mark.line + 1
            lines.update(_key_lines(value_node, path))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*keys, i)] = item.start_mark.line + 1
            lines.update(_key_lines(item, (*keys, i)))
    return lines
