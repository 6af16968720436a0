"""The release job of a deploy or rollback: the commands that make a release live, verify
it, and go back when it fails, run on the server as one job (see ``supervised``).

Example::

    job = golive.job(release_run, to="20261130-101500", back_to="20261130-090000")
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from . import phases
from .command import Command
from .layout import UNVERIFIED, Layout
from .supervised import FILES, PID, Job, Step

if TYPE_CHECKING:
    from .release_run import Release

BACK = "verify-back"  # the event name of the verify of the release gone back to


def job(r: Release, to: str, back_to: str | None, leaving: str | None = None) -> Job:
    """Make ``to`` live and verify it (with the steps roles add at ``after_switch`` in
    between); when that fails, mark it bad and make ``back_to`` live again (or, with no
    ``back_to``, leave it live, marked bad). ``leaving``: the release a rollback leaves,
    marked rolled back from."""
    p, layout, user = r.plan, r.layout, r.plan.user
    if leaving:
        switch = phases.roll_back(layout, user, leaving, to)
    else:
        switch = phases.switch(layout, user, to)
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    intent = {"action": r.action, "release": to, "from": back_to or "", "by": r.by, "at": at}
    context = r.hook_context()
    hooks = [Step(f"after_switch: {s.name}", tuple(s.commands(context)))
             for s in p.hooks.get("after_switch", []) if r.action == "deploy"]  # fmt: skip
    steps = [
        Step("switch", (write_intent(layout, intent), *switch)),
        Step("reload", (p.go_live,), says_pid=True),
        *hooks,
        Step("verify", (phases.poll(p.url(p.port), to, p.health_timeout, PID),)),
    ]
    back = []
    if back_to:
        again = (*phases.mark_bad(layout, to), *phases.roll_back(layout, user, None, back_to))
        back = [
            Step("rollback", (*again, p.go_live), says_pid=True),
            Step(BACK, (phases.poll(p.url(p.port), back_to, p.health_timeout, PID),)),
        ]
    going = f"the operator's process ended during the {r.action} of {to}"
    gone = {
        "kept": f"its release job verified {to} and kept it",
        "back": f"{to} failed its verify; its release job went back to {back_to}",
        "stays": f"{to} failed its verify and stays live, marked bad (nothing to go back to)",
        "failed": f"{to} failed its verify, and so did going back to {back_to}",
    }
    return Job(
        p.service,
        steps,
        back,
        failed=() if back_to else tuple(phases.mark_bad(layout, to)),
        done=(Command.of("rm", "-f", layout.release(to, UNVERIFIED)),),
        holder=f"/run/lock/provision-{p.service}.lock.info",
        gone={k: noted(layout, intent, f"{going}; {why}") for k, why in gone.items()},
    )


def write_intent(layout: Layout, intent: dict[str, str]) -> Command:
    """Note what this run is about to do, until it ends (a re-run reads it)."""
    return Command.script("printf '%s\\n' {text} > {path}", text=json.dumps(intent, sort_keys=True),
                          path=layout.intent)  # fmt: skip


def noted(layout: Layout, intent: dict[str, str], why: str) -> Command:
    """The run of ``intent`` noted in the deploy history as interrupted; and, in the intent
    itself, that it was."""
    entry = {**intent, "result": "interrupted", "why": why}
    return Command.script("{record}; echo noted >> {path}", record=phases.record(layout, entry),
                          path=layout.intent)  # fmt: skip


def job_log(service: str) -> str:
    return f"{FILES.format(service=service)}.log"
