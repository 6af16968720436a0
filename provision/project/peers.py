"""The inventory as roles see it: the other hosts, with their settings resolved.

A role that spans hosts (a load balancer and the app servers behind it) reads them here,
never the inventory file: ``role.peers.group("app")`` is the group's hosts, in order.

Example::

    for peer in role.peers.group(role.vars["balancer_upstream"]):
        print(peer.name, peer.private_address, peer.vars["app_port"])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from provision.core.transport import Target
from provision.project.inventory import Inventory


@dataclass(frozen=True)
class Peer:
    """One inventory host: its name, the address provision reaches it at, its settings."""

    name: str
    address: str
    vars: dict[str, Any] = field(compare=False)
    # the settings of each app it runs, where the inventory names apps
    apps: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)

    def app(self, name: str) -> dict[str, Any]:
        """The settings of the app ``name`` on this host (its own, for one app)."""
        return self.apps.get(name, self.vars)

    @property
    def private_address(self) -> str:
        """Where other hosts reach it: ``private_address`` when set, else its address."""
        return self.vars.get("private_address") or self.address


class Peers:
    """Hosts and groups of an inventory; settings resolved as for a run (``resolve``)."""

    def __init__(
        self,
        inventory: Inventory | None,
        resolve: Callable[[dict[str, Any]], dict[str, Any]],
        me: Target | None = None,
        prepare: Callable[[Target], Target] = lambda target: target,
    ) -> None:
        self._inventory = inventory
        self._resolve = resolve  # a host's (or app's) settings, as a run has them
        self._me = me
        self._prepare = prepare  # a host as a run sees it: its apps' settings given

    def seen_from(self, target: Target) -> Peers:
        """The same hosts, as seen from ``target`` (``me``)."""
        return Peers(self._inventory, self._resolve, target, self._prepare)

    @property
    def me(self) -> Peer:
        """The host being worked on (its name and address; no settings)."""
        assert self._me is not None, "peers seen from no host"
        return Peer(self._me.name, self._me.address, {})

    def groups(self) -> list[str]:
        if self._inventory is None:
            return []
        return list(self._inventory.data.get("groups") or {})

    def group(self, name: str) -> list[Peer] | None:
        """The group's hosts, in the inventory's order; None if there is no such group."""
        if name not in self.groups():
            return None
        assert self._inventory is not None
        return [self._peer(t) for t in self._inventory.resolve(name)]

    def all(self) -> list[Peer]:
        if self._inventory is None:
            return []
        hosts = self._inventory.data.get("hosts") or {}
        return [self._peer(t) for name in hosts for t in self._inventory.resolve(name)]

    def naming_me(self, setting: str) -> list[Peer]:
        """The hosts whose ``setting`` names a group this host is in (the balancers whose
        ``balancer_upstream`` is this app server's group)."""
        me = self.me.name
        return [p for p in self.all() if p.vars.get(setting) and me in
                [member.name for member in self.group(str(p.vars[setting])) or []]]  # fmt: skip

    def _peer(self, target: Target) -> Peer:
        target = self._prepare(target)
        apps = {name: self._resolve(given) for name, given in target.apps.items()}
        return Peer(target.name, target.address, self._resolve(target.vars), apps)


NO_PEERS = Peers(None, lambda settings: {})
