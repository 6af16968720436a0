"""`fab exec`: a one-off command in the live release, as the app's processes run.

The command runs as the app's user in the live release's directory, with its virtualenv
first on PATH and the settings of ``shared/.env`` (``phases.in_release``). Its output
streams through as it comes, unmarked, so that it can be piped; with a TTY it is a
terminal session (``python``, ``bash``). The exit status is the command's.

Example: ``run_oneoff(play, targets, "alembic current", out, config, overrides)``
"""

from __future__ import annotations

import shlex
from typing import Any

from provision.core.command import sh
from provision.core.errors import ProvisionError
from provision.core.output import Output, suggested
from provision.core.transport import Session, Target
from provision.project.apply import Host
from provision.project.plays import Play
from provision.release import phases
from provision.release.release import release_plan

UNREACHED = 255  # as ssh says it: the command could not be run at all


def command_line(args: list[str]) -> str:
    """What `fab exec -- ARGS` runs: one argument is a shell command line, as typed inside
    its quotes (``"alembic upgrade head && echo done"``); several reach the command each as
    it was typed (``python -c 'import os; print(1)'``)."""
    return args[0] if len(args) == 1 else shlex.join(args)


def oneoff_fault(command: str, targets: int, one: bool, tty: bool) -> str:
    """Why the command cannot be run as asked, or ""."""
    if not command.strip():
        example = suggested("exec -H web1 -- alembic current")
        return f"no command: put it after --, as in `{example}`"
    if tty and targets > 1 and not one:
        return f"--tty talks with one host at a time; -H names {targets} (add --one)"
    return ""


def run_oneoff(
    play: Play,
    targets: list[Target],
    command: str,
    out: Output,
    config: Any,
    overrides: dict[str, Any],
    tty: bool = False,
) -> int:
    """Run ``command`` on each app server of ``targets`` in turn; the first non-zero exit
    status, else 0. A host without an app is passed over, said; none at all is an error."""
    status, ran = 0, 0
    for target in targets:
        session = Session(target, config)
        try:
            code = _one(session, play, command, out, overrides, tty, len(targets) > 1)
        except ProvisionError as e:
            out.error(target.name, str(e))
            code = UNREACHED
        finally:
            session.close()
        if code is None:
            continue
        ran += 1
        status = status or code
    if not ran and status == 0:
        out.error("exec", "no app runs on any host given: nothing ran")
        return 1
    return status


def _one(
    session: Session,
    play: Play,
    command: str,
    out: Output,
    overrides: dict[str, Any],
    tty: bool,
    several: bool,
) -> int | None:
    host = Host.connect(session, play, overrides)
    name = session.target.name
    plan = release_plan(host.roles, host)
    if plan is None:
        out.line(f"[{name}] no app runs here: passed over")
        return None
    layout = plan.layout
    script = phases.in_release(layout, plan.user, layout.current, command)
    live = sh("[ -e {current} ] || {{ echo {none} >&2; exit 1; }}; ", current=layout.current,
              none=f"no release is live on {name}")  # fmt: skip
    if several:
        out.line(f"-- {name}: {command}")
    code = session.interact(live + script.render(), tty)
    if several and code:
        out.line(f"-- {name}: exited {code}")
    return code
