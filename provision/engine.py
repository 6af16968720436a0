"""The library entry point: load a project, resolve targets, apply roles to hosts.

Example::

    project = Project.load(Path("."))
    targets = project.targets("web1")
    tallies = apply(project, ["base", "app", "ssh"], targets, Options(check=True), Output())
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from fabric import Config

from .artifact import ArtifactError
from .facts import HostFacts, HostInfo
from .inventory import Inventory, InventoryError, Target
from .lock import LockBusy
from .output import Output, Tally
from .roles import Role, RoleContext, RoleError, load_roles, resolve_vars, schema
from .runner import PhaseFailed, Play, Task, TaskFailed, gather
from .schema import SchemaError, check_vars
from .transport import ConnectError, Session

Work = Callable[[Session, Tally], None]


@dataclass
class Options:
    check: bool = False
    diff: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)


class Project:
    """A repository's roles and inventory, loaded and checked before any connection."""

    def __init__(self, roles: dict[str, Role], inventory: Inventory) -> None:
        self.roles = roles
        self.inventory = inventory

    @classmethod
    def load(cls, root: Path, inventory: str | Path = "inventory.yaml") -> Project:
        roles_dir = root / "roles"
        names = sorted(p.name for p in roles_dir.iterdir() if (p / "tasks.py").is_file())
        roles = {r.name: r for r in load_roles(roles_dir, names)}
        inv = Inventory.load(root / inventory, schema(roles.values()))
        return cls(roles, inv)

    def targets(self, pattern: str) -> list[Target]:
        return self.inventory.resolve(pattern)

    def check_overrides(self, overrides: dict[str, Any]) -> None:
        try:
            check_vars(overrides, schema(self.roles.values()))
        except SchemaError as e:
            raise InventoryError(f"--set {e.key}: {e.message}") from e

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


def build_tasks(
    roles: list[Role], variables: dict[str, Any], host: Any, out: Output | None = None
) -> tuple[list[Task], dict[str, Task]]:
    """Every role's tasks and handlers, rendered; unknown handler names are an error.

    Secrets the roles declare are added to ``out``'s mask before anything is shown.
    """
    tasks: list[Task] = []
    handlers: dict[str, Task] = {}
    for role in roles:
        ctx = RoleContext(role, variables, host)
        if out is not None:
            for secret in ctx.secrets():
                out.mask.add(secret)
        tasks += [Task(role.name, op) for op in ctx.tasks()]
        handlers.update({n: Task(f"{role.name} handler", op) for n, op in ctx.handlers().items()})
    for task in tasks:
        for name in task.op.notify:
            if name not in handlers:
                raise RoleError(
                    f"roles/{task.role}: '{task.op.name}' notifies unknown handler {name!r}"
                )
    return tasks, handlers


@dataclass
class Host:
    """A connected host with its facts and resolved settings: what every command starts from."""

    session: Session
    facts: HostFacts
    vars: dict[str, Any]

    @classmethod
    def connect(cls, session: Session, roles: list[Role], overrides: dict[str, Any]) -> Host:
        session.open()
        facts = gather(session, [HostInfo()])[HostInfo()]
        return cls(session, facts, resolve_vars(roles, session.target.vars, overrides))


def guarded(target: Target, out: Output, config: Config | None, work: Work) -> Tally:
    """Run ``work`` on one host; any failure is reported and counted, never raised."""
    tally = Tally()
    session = Session(target, config)
    try:
        work(session, tally)
    except (
        ConnectError,
        TaskFailed,
        RoleError,
        SchemaError,
        PhaseFailed,
        LockBusy,
        ArtifactError,
    ) as e:
        tally.failed += 1
        tally.errors.append(str(e))
        out.error(target.name, str(e))
    except Exception as e:  # one host's surprise must not hide the other hosts' results
        tally.failed += 1
        tally.errors.append(f"{type(e).__name__}: {e}")
        out.error(target.name, f"unexpected {type(e).__name__}: {e}")
    finally:
        tally.round_trips = session.round_trips
        session.close()
    return tally


def converge(host: Host, roles: list[Role], options: Options, out: Output, tally: Tally) -> None:
    """Apply the roles' tasks (and notified handlers) to a connected host."""
    tasks, handlers = build_tasks(roles, host.vars, host.facts, out)
    Play(host.session, out, tasks, handlers, options.check, options.diff, tally).run()


def apply_one(
    roles: list[Role], target: Target, options: Options, out: Output, config: Config | None = None
) -> Tally:
    """Connect to one host and converge it; every failure ends up in the tally."""

    def work(session: Session, tally: Tally) -> None:
        converge(Host.connect(session, roles, options.overrides), roles, options, out, tally)

    return guarded(target, out, config, work)


def for_each_host(
    targets: list[Target], one: Callable[[Target], Tally], out: Output
) -> dict[str, Tally]:
    """Run ``one`` for every target in parallel (one connection each), then print the recap.

    A single target runs in this thread, so that Ctrl-C stops it where it is (and its
    ``finally`` blocks release what it holds) instead of waiting for it to finish.
    """
    if len(targets) == 1:
        tallies = {targets[0].name: one(targets[0])}
    else:
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(targets)))) as pool:
            futures = {t.name: pool.submit(one, t) for t in targets}
            tallies = {name: f.result() for name, f in futures.items()}
    out.recap(tallies)
    return tallies


def apply(
    project: Project,
    role_names: list[str],
    targets: list[Target],
    options: Options,
    out: Output,
    config: Config | None = None,
) -> dict[str, Tally]:
    """Converge every target, then print the recap."""
    roles = project.pick(role_names)
    project.check_overrides(options.overrides)
    return for_each_host(targets, lambda t: apply_one(roles, t, options, out, config), out)
