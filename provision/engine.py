"""The library entry point: load a project, resolve targets, apply roles to hosts.

Example::

    project = Project.load(Path("."))
    targets = project.targets("web1")
    tallies = apply(project, ["base", "app", "ssh"], targets, Options(check=True), Output())
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from fabric import Config

from .facts import HostInfo
from .inventory import Inventory, InventoryError, Target
from .output import Output, Tally
from .roles import Role, RoleContext, RoleError, load_roles, resolve_vars, schema
from .runner import Play, Task, TaskFailed, gather
from .schema import SchemaError, check_vars
from .transport import ConnectError, Session


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
    roles: list[Role], variables: dict[str, Any], host: Any
) -> tuple[list[Task], dict[str, Task]]:
    """Every role's tasks and handlers, rendered; unknown handler names are an error."""
    tasks: list[Task] = []
    handlers: dict[str, Task] = {}
    for role in roles:
        ctx = RoleContext(role, variables, host)
        tasks += [Task(role.name, op) for op in ctx.tasks()]
        handlers.update({n: Task(f"{role.name} handler", op) for n, op in ctx.handlers().items()})
    for task in tasks:
        for name in task.op.notify:
            if name not in handlers:
                raise RoleError(
                    f"roles/{task.role}: '{task.op.name}' notifies unknown handler {name!r}"
                )
    return tasks, handlers


def apply_one(
    roles: list[Role], target: Target, options: Options, out: Output, config: Config | None = None
) -> Tally:
    """Connect to one host and converge it; every failure ends up in the tally."""
    tally = Tally()
    session = Session(target, config)
    try:
        session.open()
        host = gather(session, [HostInfo()])[HostInfo()]
        variables = resolve_vars(roles, target.vars, options.overrides)
        tasks, handlers = build_tasks(roles, variables, host)
        play = Play(session, out, tasks, handlers, check=options.check, diff=options.diff)
        tally = play.tally  # keeps what was done if the connection drops mid-run
        play.run()
    except (ConnectError, TaskFailed, RoleError, SchemaError) as e:
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


def apply(
    project: Project,
    role_names: list[str],
    targets: list[Target],
    options: Options,
    out: Output,
    config: Config | None = None,
) -> dict[str, Tally]:
    """Converge every target (in parallel, one connection per host), then print the recap."""
    roles = project.pick(role_names)
    project.check_overrides(options.overrides)
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(targets)))) as pool:
        futures = {t.name: pool.submit(apply_one, roles, t, options, out, config) for t in targets}
        tallies = {name: f.result() for name, f in futures.items()}
    out.recap(tallies)
    return tallies
