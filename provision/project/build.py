"""A play's tasks on one host: every role's operations and handlers, rendered in the
roles' order, once a server or once for each app (see ``build_tasks``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any

from provision.core.facts import HostFacts
from provision.core.output import Output
from provision.core.runner import Task
from provision.project.peers import NO_PEERS, Peers
from provision.project.roles import Role, RoleContext, RoleError


def build_tasks(
    roles: list[Role],
    variables: dict[str, Any],
    facts: HostFacts,
    out: Output | None = None,
    peers: Peers = NO_PEERS,
    apps: dict[str, dict[str, Any]] | None = None,
    per_app: Collection[str] = (),
    on_server: Sequence[dict[str, Any]] = (),
) -> tuple[list[Task], dict[str, Task]]:
    """Every role's tasks and handlers, rendered, in the roles' order; unknown handler
    names are an error.

    ``apps``: the apps to converge, each one's settings by its name (default: the one of
    ``variables``). A role in ``per_app`` runs once for each, with its settings; the others
    run once, with ``variables``. Where there are several, an app's tasks are labelled
    ``role[app]`` and the handlers of its roles are its own. ``on_server``: the settings of
    every app the server holds (``RoleContext.apps``; default: those of ``apps``). Secrets
    the roles declare are added to ``out``'s mask before anything is shown.
    """
    apps = apps or {"": variables}
    on_server = list(on_server) or list(apps.values())
    tasks: list[Task] = []
    handlers: dict[str, Task] = {}
    for role in roles:
        each = apps.items() if role.name in per_app else [("", variables)]
        for app, settings in each:
            ctx = RoleContext(role, settings, facts, peers, on_server)
            if out is not None:
                for secret in ctx.secrets():
                    out.mask.add(secret)
            mark = f"[{app}]" if app and len(apps) > 1 else ""
            own = ctx.handlers()
            handlers.update({n + mark: Task(f"{role.name}{mark} handler", op)
                             for n, op in own.items()})  # fmt: skip
            tasks += [Task(role.name + mark, op) for op in ctx.tasks()]
    if len(apps) > 1:
        tasks = [_own_handlers(task, handlers) for task in tasks]
    for task in tasks:
        for name in task.op.notify:
            if name not in handlers:
                raise RoleError(
                    f"roles/{task.role}: '{task.op.name}' notifies unknown handler {name!r}"
                )
    return tasks, handlers


def _own_handlers(task: Task, handlers: dict[str, Task]) -> Task:
    """``task`` notifying its app's handler of a name where its app has one (``role[app]``
    tasks), the server's otherwise."""
    mark = task.role[task.role.find("[") :] if task.role.endswith("]") else ""
    if not mark:
        return task
    notify = tuple(n + mark if n + mark in handlers else n for n in task.op.notify)
    return Task(task.role, replace(task.op, notify=notify))
