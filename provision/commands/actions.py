"""Actions: one-off jobs a role offers on its servers, run by name (`fab backup`).

A role's ``actions(role)`` maps a name to an ``Action`` (what it does and its commands),
or to a string saying why it is not available on this host. The commands run as root,
one at a time, and what they print is shown line by line.

Example (``roles/postgres_db/tasks.py``)::

    def actions(role):
        return {"backup": Action("database hello", [Command.of("systemctl", "start", ...)])}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provision.core.command import Command
from provision.core.output import Output, Tally
from provision.core.transport import Session
from provision.project.apply import Host, Work
from provision.project.hooks import Hook
from provision.project.plays import Play
from provision.project.roles import RoleError
from provision.release.flow import Failure, FlowRun


@dataclass(frozen=True)
class Action:
    what: str  # shown after the action's name: "backup: database hello"
    commands: list[Command]


# one-off jobs by name: an Action, or why it is not available on this host
ACTIONS: Hook[dict[str, Action | str]] = Hook("actions")


def offered(play: Play, host: Host, name: str) -> Action:
    """The action ``name`` of the role that offers it; an error says why there is none."""
    reasons = []
    for _, offers in ACTIONS.answers(play.every_role, lambda role: (host.context(role),)):
        found = offers.get(name)
        if isinstance(found, Action):
            return found
        if isinstance(found, str):
            reasons.append(found)
    why = "; ".join(reasons) or "no role offers it"
    raise RoleError(f"`{name}` is not available on {host.session.target.name}: {why}")


def run_action(name: str, play: Play, overrides: dict[str, Any], out: Output) -> Work:
    """What ``guarded`` runs on one host: connect, find the action, run it with its output."""

    def work(session: Session, tally: Tally) -> None:
        host = Host.connect(session, play, overrides)
        action = offered(play, host, name)
        run = FlowRun(session, out, tally, {})
        run.label = name.replace("-", " ")  # maintenance-on: "maintenance on"
        run.run_phase(action.what, lambda: run.shown(action.commands), Failure.STOP)

    return work
