"""`provision remove --app NAME`: take one app off its servers, the others untouched.

Each role that runs for every app (plays.yaml's ``per_app``) answers the ``remove`` hook
with the operations that undo its part: services, site, timers, user; its data (the
app's ``shared/``, database, backups) only when the command asks for it. The roles run
in the reverse of their order in plays.yaml's ``per_app``, so what serves the app goes
first and its user last.

The app must be out of the inventory for those servers first: removing is a deliberate
act, and an app the inventory still names would come back with the next deploy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from provision.core.operations import Operation, files
from provision.core.output import Output, Tally
from provision.core.runner import Task, TaskRun
from provision.core.transport import Session, Target
from provision.project.apply import Host, Work, marks
from provision.project.hooks import Hook
from provision.project.inventory import InventoryError
from provision.project.plays import SETTINGS, Play, Project
from provision.project.roles import RoleContext, resolve_vars

# remove(role, data): the operations that take the role's part of the app off the server
REMOVE: Hook[Iterable[Operation]] = Hook("remove")


def check_gone(project: Project, targets: list[Target], app: str) -> None:
    """Refuse, before any connection, to remove an app the inventory still gives a host."""
    roles = project.roles.values()
    keeping = [t.name for t in targets if app in t.apps
               or (not t.apps and resolve_vars(roles, t.vars, {})["app_name"] == app)]  # fmt: skip
    if keeping:
        raise InventoryError(
            f"{project.inventory.path}: {', '.join(keeping)} still run{'s' * (len(keeping) == 1)} "
            f"{app}: take it out of the inventory first (apps:, or the hosts' apps:), or the "
            "next deploy brings it back"
        )


def remove_work(project: Project, play: Play, app: str, data: bool, out: Output,
                overrides: dict[str, Any]) -> Work:  # fmt: skip
    """What `provision remove` does on each host: the per-app roles' ``remove`` answers
    for ``app``, then the notes that its plays completed."""

    def work(session: Session, tally: Tally) -> None:
        host = Host.connect(session, replace(play, after=None), overrides)
        given = {**session.target.vars, **project.app_defaults(app), "app_name": app}
        settings = resolve_vars(play.every_role, given, overrides)
        every = list(host.apps.values()) or [host.vars]
        here = {r.name: r for r in host.server_roles}
        mine = [here[name] for name in play.per_app if name in here]
        tasks: list[Task] = []
        handlers: dict[str, Task] = {}
        for role in host.server_roles:
            ctx = RoleContext(role, settings if role in mine else host.vars, host.facts,
                              host.peers, every)  # fmt: skip
            handlers.update({n: Task(f"{role.name} handler", op)
                             for n, op in ctx.handlers().items()})  # fmt: skip
        for role in reversed(mine):
            ctx = RoleContext(role, settings, host.facts, host.peers, every)
            ops = REMOVE.answer(role, ctx, data) or ()
            tasks += [Task(f"{role.name}[{app}]", op) for op in ops]
        for name in (n for n in project.plays if n not in SETTINGS):
            for mark in list(marks(name, [app]).values())[1:]:
                tasks.append(Task("provision", files.absent(mark, name=f"played {name} ({app})")))
        TaskRun(session, out, tasks, handlers, tally=tally).run()

    return work
