"""The release job of a deploy or rollback: the commands that make a release live, verify
it, and go back when it fails, run on the server as one job (see ``supervised``).

``start`` starts it and gives the run a ``Live``: the job followed step by step, so that
what a person sees is the same as when this machine ran each step itself.

Example::

    r.rid = "20261130-101500"
    golive.start(r, back_to="20261130-090000")   # the switch, followed to its end
    r.reload()                                   # r.job.reload(): the job's reload
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from provision.core.command import Command
from provision.core.runner import PhaseFailed
from provision.release import phases
from provision.release.flow import Failure, StepFailed
from provision.release.layout import UNVERIFIED, Layout
from provision.release.plan import HookContext
from provision.release.releases import Releases
from provision.release.supervised import PID, Follow, Job, Step

if TYPE_CHECKING:
    from provision.release.release import Release

BACK = "verify-back"  # the event name of the verify of the release gone back to


def job(r: Release, to: str, back_to: str | None, leaving: str | None = None) -> Job:
    """Make ``to`` live and verify it (a deploy's job runs the steps roles add at
    ``after_switch`` before the verify, and those at ``with_verify`` beside it); when that
    fails, mark it bad and make ``back_to`` live again (or, with no ``back_to``, leave it
    live, marked bad). ``leaving``: the release a rollback leaves, marked rolled back
    from."""
    p, layout, user = r.plan, r.layout, r.plan.user
    if leaving:
        switch = phases.roll_back(layout, user, leaving, to)
    else:
        switch = phases.switch(layout, user, to)
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    intent = {"action": r.action, "release": to, "from": back_to or "", "by": r.by, "at": at}
    context = r.hook_context()
    steps = [
        Step("switch", (write_intent(layout, intent), *switch)),
        Step("reload", (p.go_live,), says_pid=True),
        *hooked(r, "after_switch", context),
        *hooked(r, "with_verify", context),
        Step("verify", (phases.poll(p.url(p.port), to, p.health_timeout, PID),)),
    ]
    back = []
    if back_to:
        again = (*phases.mark_bad(layout, to), *phases.roll_back(layout, user, None, back_to))
        back = [
            Step("rollback", (*again, p.go_live), says_pid=True),
            Step(BACK, (phases.poll(p.url(p.port), back_to, p.health_timeout, PID),)),
        ]
    return Job(
        p.service,
        steps,
        back,
        failed=() if back_to else tuple(phases.mark_bad(layout, to)),
        done=(Command.of("rm", "-f", layout.release(to, UNVERIFIED)),),
        holder=f"/run/lock/provision-{p.service}.lock.info",
        gone={k: noted(layout, intent, interrupted(intent, k)) for k in OUTCOMES if k},
        # gone back, and nobody follows: what the operator's process would run then (the
        # processes restarted beside the verify go back too)
        gone_back=hooked(r, "after_rollback", HookContext(layout, back_to, to)) if back_to else (),
    )


def hooked(r: Release, point: str, context: HookContext) -> list[Step]:
    """The steps roles add at ``point`` that a deploy's job runs (those meant to run once
    on the first host only), made for ``context``; ``with_verify`` ones run beside the
    verify."""
    if r.action != "deploy":
        return []
    return [Step(f"{point}: {s.name}", tuple(s.commands(context)), beside=point == "with_verify")
            for s in r.hooks.get(point, []) if r.first or not s.once]  # fmt: skip


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


def interrupted(intent: dict[str, str], result: str) -> str:
    """Why the run of ``intent`` is noted as interrupted, with what its job decided."""
    to, back_to = intent.get("release"), intent.get("from") or "nothing"
    what = OUTCOMES.get(result, OUTCOMES[""]).format(to=to, back_to=back_to)
    return f"the operator's process ended during the {intent.get('action')} of {to}; {what}"


OUTCOMES = {
    "kept": "its release job verified {to} and kept it",
    "back": "{to} failed its verify; its release job went back to {back_to}",
    "stays": "{to} failed its verify and stays live, marked bad (nothing to go back to)",
    "failed": "{to} failed its verify, and so did going back to {back_to}",
    "": "its release job did not finish",
}


def settle(r: Release, state: Releases) -> dict | None:
    """What a run that died after its switch left: noted in the deploy history (unless its
    job did), and a live release that never passed verify verified now, or rolled back.
    Returns that run's intent (None when there was none)."""
    intent = state.intent
    if intent and not state.intent_noted:
        r.execute([noted(r.layout, intent, interrupted(intent, state.job_result))])
    live = state.get(state.current) if state.current else None
    if live is not None and live.unverified:
        verify_now(r, state, live.id)
    return intent


def verify_now(r: Release, state: Releases, rid: str) -> None:
    """The live release never passed verify (its job was cut short: the server went down,
    say): verify it now; if it fails, go back to the last release that served."""
    p = r.plan
    r.rid, r.live = rid, state.previous()

    def verify() -> str:
        poll = phases.poll(p.url(p.port), rid, p.health_timeout)
        r.execute([poll, Command.of("rm", "-f", r.layout.release(rid, UNVERIFIED))])
        return f"{r.answers()} (live, and never verified before)"

    try:
        r.phase("verify", verify, changes=False)
    except PhaseFailed as e:
        if r.live is None:
            r.execute(phases.mark_bad(r.layout, rid))
            raise PhaseFailed(
                f"{e}\nthe live release {rid} never passed verify and fails it; "
                "it is marked bad, with no release that served to go back to"
            ) from e
        back = r.live
        r.go_back()
        raise PhaseFailed(
            f"{e}\nthe live release {rid} never passed verify and fails it: rolled "
            f"back to {back}; {rid} is marked bad"
        ) from e
    r.rid, r.live = "", rid


def start(r: Release, back_to: str | None, leaving: str | None = None) -> str:
    """Start the job that makes ``r.rid`` live and follow it to the end of its switch;
    ``r.job`` follows the rest."""
    job_ = job(r, r.rid, back_to, leaving)
    chan = r.session.start_as_root(job_.start())
    r.stack.callback(chan.close)
    stderr = chan.makefile_stderr("rb")

    def said() -> str:  # what the job's start printed on stderr (systemd-run's refusal)
        return stderr.read().decode(errors="replace")[-2000:]

    live = Live(r, Follow(iter(chan.makefile("r")), job_.labels(), said))
    r.job = live
    live.follow.step("switch")
    return f"{r.live or 'nothing'} -> {r.rid}"


class Live:
    """A release job ``r`` started, followed from this machine step by step."""

    def __init__(self, r: Release, follow: Follow) -> None:
        self.r = r
        self.follow = follow

    def reload(self) -> str:
        return self.r.said(self.follow.step("reload"))

    def verify(self) -> None:
        self.follow.step("verify")
        if not self.named("with_verify"):  # else they end it: see ``steps``
            self.ended()

    def named(self, point: str) -> list[str]:
        """The names of the job's steps at hook ``point``, in order."""
        return [name for name in self.follow.labels if name.startswith(f"{point}: ")]

    def ended(self) -> str:
        self.r.job = None
        return self.follow.outcome()

    def back(self) -> None:
        """The job went back to the release live before ``r``'s: follow it there."""
        r, follow = self.r, self.follow
        assert r.live is not None
        bad, live = r.rid, r.live
        r.tried = (bad, live)
        r.rid, r.live = live, bad
        r.phase("rollback", lambda: f"{bad} -> {live}, " + r.said(follow.step("rollback")))
        r.phase("verify", lambda: (follow.step(BACK), r.answers())[1], changes=False)
        self.ended()
        r.restore()

    def steps(self, point: str, failure: Failure) -> None:
        """The steps roles add at ``point``, run in the job: each shown as a phase. Those
        beside the verify came to their end with it: the job's verdict follows them."""
        r, follow = self.r, self.follow
        for name in self.named(point):

            def shown(name: str = name) -> None:
                for line in follow.step(name):
                    r.show(line)

            try:
                r.phase(name, shown)
            except PhaseFailed as e:
                r.fail(failure, StepFailed(str(e)))
        if point == "with_verify":
            self.ended()
