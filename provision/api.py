"""The role contract: everything a role's ``tasks.py`` may use of the engine, and no more.

A role (``roles/<name>/``: ``defaults.yaml``, ``templates/*.j2``, ``tasks.py``) imports
this module and nothing else of provision; what is not here is the engine's own and may
change. A role's ``tasks.py`` follows ``RoleModule``: ``tasks(role)`` yields operations,
and the other functions it lists are hooks the role may answer.

Example (``roles/motd/tasks.py``)::

    from provision.api import ServiceProbe, files

    def tasks(role):
        yield files.file("/etc/motd", role.template("motd.j2"), mode=0o644)

    def status(role):
        return {"cron": ServiceProbe("cron")}
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from provision.commands.actions import Action
from provision.commands.doctor import Finding, SourceCheck
from provision.commands.init import AppSource, Detected
from provision.commands.logs import LogSource
from provision.containers import kube
from provision.containers.parts import Containers, Image, Secret
from provision.core.command import Command, Shell, quote, sh
from provision.core.facts import (
    Fact,
    FileContent,
    HostFacts,
    NetworkHome,
    PathInfo,
    SshdPorts,
    Succeeds,
)
from provision.core.numbers import is_number
from provision.core.operations import (
    Change,
    NoChange,
    Operation,
    OperationError,
    apt,
    files,
    made_from,
    only_if,
    secret,
    server,
    shell,
    skip_if,
    systemd,
)
from provision.core.probes import (
    STAMP,
    CertificateProbe,
    DiskProbe,
    Fields,
    Probe,
    ServiceProbe,
    TimerProbe,
    UpdatesProbe,
    integer,
    iso_time,
    pairs,
    when,
)
from provision.project.peers import Peer, Peers
from provision.project.roles import RoleContext, RoleError
from provision.project.schema import SchemaError, closest
from provision.project.secret_sources import secret_value
from provision.project.shapes import Shape, shaped, shaped_each
from provision.release.artifact import ArtifactError, dependencies, is_git_url
from provision.release.layout import Layout, inside
from provision.release.phases import RUN_IN_RELEASE, in_release
from provision.release.plan import HOOK_POINTS, HookContext, Hooks, ReleasePlan, Step


class RoleModule(Protocol):
    """What a role's ``tasks.py`` defines: ``tasks``, and any of the hooks below.

    A hook a role does not define is not asked; each is declared once in the engine, by
    the part that asks it, as a ``Hook`` of the same name.
    """

    def tasks(self, role: RoleContext) -> Iterable[Operation]:
        """The role's operations, in the order they run."""

    def handlers(self, role: RoleContext) -> dict[str, Operation]:
        """Operations run once after the tasks, when a task notified them by name."""

    def secrets(self, role: RoleContext) -> Iterable[str]:
        """Values masked in everything shown (and kept out of diffs)."""

    def check(self, settings: dict[str, Any], project_root: Path) -> None:
        """Refuse, before any connection, a setting the role cannot work with: raise
        ``SchemaError(key, why)``; provision names the file and line that set it."""

    def check_peers(self, settings: dict[str, Any], peers: Peers) -> None:
        """As ``check``, for settings that name other hosts (a balancer's app servers)."""

    def app_defaults(self, name: str) -> dict[str, Any]:
        """Settings the role gives an app of the inventory's ``apps:`` by its name (ports
        of its own), below every value the inventory sets."""

    def check_apps(self, apps: dict[str, dict[str, Any]]) -> None:
        """As ``check``, for the apps one server holds together (``{name: settings}``):
        raise ``SchemaError(key, why, app=name)`` for two that cannot share it."""

    def release(self, role: RoleContext) -> ReleasePlan | Hooks | None:
        """How the app's releases run (the one role that runs the app returns a
        ``ReleasePlan``), or the role's ``Step``\\ s at the release flow's hook points."""

    def down(self, settings: dict[str, Any], names: list[str]) -> dict[str, Any]:
        """The settings that take the app servers ``names`` out of rotation: a deploy's
        servers that failed their health gate, drained from the balancers."""

    def actions(self, role: RoleContext) -> dict[str, Action | str]:
        """One-off jobs run by name (`fab backup`): an ``Action``, or why it is not
        available on this host."""

    def logs(self, role: RoleContext) -> dict[str, LogSource]:
        """The logs the role's processes write, by name (`fab logs --process NAME`)."""

    def status(self, role: RoleContext) -> dict[str, Probe]:
        """What `fab status` shows of the role's part, by label; `fab doctor` judges the
        same readings (a service down, a certificate about to expire, a full disk)."""

    def source(self, settings: dict[str, Any], project_root: Path) -> SourceCheck | None:
        """What `fab doctor` reads of the app's source before any connection, or None on a
        host that runs no app."""

    def remove(self, role: RoleContext, data: bool) -> Iterable[Operation]:
        """The operations that take the role's part of one app off a server (`provision
        remove`): its services, site, timers, user; its data (files, database, backups)
        only with ``data``. Asked of the roles that run for each app (plays.yaml's
        ``per_app``), with the app's settings."""

    def containers(self, role: RoleContext) -> Containers:
        """The role's part of the container road (`provision image`, `compose`, `kube`):
        how the app's image is built, services, Kubernetes objects, the app's secrets.
        ``role.facts`` are the image's system; ``role.vars["container_image_ref"]`` names
        the app's image (empty while its tag is not known yet)."""

    def detect(self, source: AppSource) -> Detected | None:
        """What `provision init` writes into a new inventory for the app at
        ``source.path``: the settings the role can tell from the source, without running
        it, a comment for each, and warnings."""


__all__ = [
    "HOOK_POINTS",
    "RUN_IN_RELEASE",
    "STAMP",
    "Action",
    "AppSource",
    "ArtifactError",
    "CertificateProbe",
    "Change",
    "Command",
    "Containers",
    "Detected",
    "DiskProbe",
    "Fact",
    "Fields",
    "FileContent",
    "Finding",
    "HookContext",
    "Hooks",
    "HostFacts",
    "Image",
    "Layout",
    "LogSource",
    "NetworkHome",
    "NoChange",
    "Operation",
    "OperationError",
    "PathInfo",
    "Peer",
    "Peers",
    "Probe",
    "ReleasePlan",
    "RoleContext",
    "RoleError",
    "RoleModule",
    "SchemaError",
    "Secret",
    "ServiceProbe",
    "Shape",
    "Shell",
    "SourceCheck",
    "SshdPorts",
    "Step",
    "Succeeds",
    "TimerProbe",
    "UpdatesProbe",
    "apt",
    "closest",
    "dependencies",
    "files",
    "in_release",
    "inside",
    "integer",
    "is_git_url",
    "is_number",
    "iso_time",
    "kube",
    "made_from",
    "only_if",
    "pairs",
    "quote",
    "secret",
    "secret_value",
    "server",
    "sh",
    "shaped",
    "shaped_each",
    "shell",
    "skip_if",
    "systemd",
    "when",
]
