"""One host's run of the release flow: its plan, state, and what a failure means.

``deploy`` declares the flows and their phases; a ``Release`` carries what they share.
"""

from __future__ import annotations

import getpass
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, Protocol

from provision.core.command import Command
from provision.core.facts import Succeeds
from provision.core.output import Output, Tally
from provision.core.runner import PhaseFailed, Task, TaskRun, gather
from provision.core.undo import Undo
from provision.project.apply import Host
from provision.project.hooks import Hook
from provision.project.plays import Options, Play
from provision.project.roles import Role, RoleError
from provision.release import artifact, phases, supervised, wheels
from provision.release.flow import Failure, FlowRun, StepFailed
from provision.release.log_excerpt import log_excerpt
from provision.release.plan import HOOK_POINTS, JOB_POINTS, HookContext, Hooks, ReleasePlan
from provision.release.releases import Releases, ReleaseState

BY = f"{getpass.getuser()}@{socket.gethostname()}"  # who deploys, in the deploy history


@dataclass
class DeployOptions(Options):
    wait: float = 0
    take_over: bool = False
    to: str | None = None  # rollback target
    force: bool = False  # ship a new release even if the live one has the same content
    project_root: Path = field(default_factory=Path.cwd)


RELEASE: Hook[ReleasePlan | Hooks] = Hook("release")  # how the app's releases run


def release_plan(roles: list[Role], host: Host) -> ReleasePlan | None:
    """The ``ReleasePlan`` of the one role that runs the app, with every role's hooks; None
    on a host that runs no app (a load balancer)."""
    plans, hooks = [], []
    asked = RELEASE.answers(roles, lambda role: (host.context(role),))
    for role, made in asked:
        if isinstance(made, ReleasePlan):
            plans.append(made)
        elif isinstance(made, Hooks):
            hooks.append((role.name, made))
        else:
            raise RoleError(f"roles/{role.name}: release() must return a ReleasePlan or Hooks")
    if len(plans) > 1:
        raise RoleError(f"one role at most may return a ReleasePlan; found {len(plans)}")
    if not plans:
        return None
    plan = plans[0]
    for name, made in hooks:
        for point, steps in made.steps.items():
            if point not in HOOK_POINTS:
                raise RoleError(f"roles/{name}: unknown hook point {point!r} (one of: "
                                f"{', '.join(HOOK_POINTS)})")  # fmt: skip
            plan.hooks.setdefault(point, []).extend(steps)
    return plan


class Going(Protocol):
    """The release job a run started at its switch (``golive.start``), followed here."""

    def reload(self) -> str:
        """Follow the job's reload; what it said (see ``Release.said``)."""

    def verify(self) -> None:
        """Follow the job's verify, then read its verdict to the end."""

    def ended(self) -> str:
        """The job's verdict (``kept``, ``back``, ``stays``, ``failed``), read to its end."""

    def back(self) -> None:
        """The job went back to the release live before: follow it there."""

    def steps(self, point: str, failure: Failure) -> None:
        """The steps roles add at ``point``, run in the job: each shown as a phase."""


class Shared:
    """What the hosts of one run share, each made once by whichever host needs it first
    (the checkout, the wheels for a platform, the release id).

    Example: ``source = shared.once(("source", url), lambda: checkout(url))``
    """

    def __init__(self) -> None:
        self._made: dict[tuple, Any] = {}
        self._locks: dict[tuple, threading.Lock] = {}
        self._lock = threading.Lock()

    def once(self, key: tuple, make: Callable[[], Any]) -> Any:
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._made:
                self._made[key] = make()
            return self._made[key]


class Release(FlowRun):
    """A deploy or rollback of one app on one connected host."""

    def __init__(
        self,
        action: str,
        host: Host,
        plan: ReleasePlan,
        play: Play,
        options: DeployOptions,
        out: Output,
        tally: Tally,
        shared: Shared | None = None,
    ) -> None:
        """``plan``: the host's ``release_plan``, read once by the caller."""
        self.shared = shared or Shared()
        self.plan = plan
        super().__init__(host.session, out, tally, self.plan.hooks)
        self.action, self.host, self.play, self.options = action, host, play, options
        self.layout = self.plan.layout
        self.state = Releases(None, (), frozenset(), frozenset())
        self.live: str | None = None  # live before this run
        self.rid = ""  # the release this run makes live
        self.mark = ""  # where the app's log stood when the release went live
        self.pid = ""  # the process serving the live release, as go_live said
        self.tried: tuple[str, str | None] | None = None  # (release, live before), gone back
        self.source: artifact.Source | None = None
        self.wheels = wheels.Wheels([], [])
        self.uv_wheel: Path | None = None  # to upload, when the server has no uv yet
        self.has_uv = False
        self.files: dict[str, str] = {}
        self.undo: Undo | None = None  # the files this deploy's converge changed, as before
        self.handlers: dict[str, Task] = {}  # the play's, to run again once they are back
        self.by = BY
        self.job: Going | None = None  # the release job, while it runs (see ``golive``)

    @property
    def uv(self) -> bool:
        """Whether uv builds this host's virtualenvs (the ``release_installer`` setting)."""
        return self.host.vars["release_installer"] == "uv"

    def read_state(self) -> Releases:
        fact = ReleaseState(self.plan.root, supervised.job_log(self.plan.service))
        has_uv = Succeeds(f"test -x {wheels.UV_PATH}")
        found = gather(self.session, [fact, has_uv] if self.uv else [fact])
        self.has_uv = found.get(has_uv, False)
        self.state = found[fact]
        return self.state

    def hook_context(self) -> HookContext:
        return HookContext(self.layout, self.rid, self.live)

    # -- what failures mean ---------------------------------------------------------
    def fail(self, failure: Failure, error: PhaseFailed) -> NoReturn:
        if failure is not Failure.ROLL_BACK:
            self.restore()
        if failure is Failure.NEVER_LIVE:
            self.execute(phases.mark_bad(self.layout, self.rid))
            still = f"{self.live} is still live" if self.live else "no release was live before"
            raise PhaseFailed(f"{error}\nrelease {self.rid} never went live and is marked bad; "
                              f"{still}") from error  # fmt: skip
        if failure is Failure.ROLL_BACK:
            self.roll_back_bad(error)
        raise error

    def roll_back_bad(self, error: PhaseFailed) -> NoReturn:
        bad, live = self.rid, self.live
        # a role's step failed with its own output; else the app's log tells why
        log = "" if isinstance(error, StepFailed) else self.log_tail(self.mark)
        shown = f"\n--- the app's log:\n{log}" if log else ""
        if live is None:  # it stays live, and the units stay as it needs them
            if self.job is not None:
                self.job.ended()  # which marked it bad
            else:
                self.execute(phases.mark_bad(self.layout, bad))
            raise PhaseFailed(f"{error}\nrelease {bad} is marked bad; no earlier release to go "
                              f"back to.{shown}")  # fmt: skip
        if self.job is not None:
            self.job.back()
        else:
            self.go_back(hooks=False)
        then = ""
        try:
            self.hook("after_rollback", Failure.STOP)
        except PhaseFailed as e:  # back and serving: the steps after it failed as well
            then = f"\nthen, after the rollback: {e}"
        where = ", where the rollback started" if self.action == "rollback" else ""
        raise PhaseFailed(f"{error}\nrolled back to {live}{where}; release {bad} is marked bad."
                          f"{then}{shown}")  # fmt: skip

    def go_back(self, hooks: bool = True) -> None:
        """Make the release live before this run serve again, marking this run's bad (a
        failed release here, or one that failed on another host of a rollout)."""
        bad, live = self.rid, self.live
        assert live is not None
        self.tried = (bad, live)
        self.rid, self.live = live, bad
        back = [
            *phases.mark_bad(self.layout, bad),
            *phases.switch(self.layout, self.plan.user, live),
        ]
        self.phase("rollback", lambda: f"{bad} -> {live}, " + self.go_live(back))
        self.phase("verify", self.verify, changes=False)
        self.restore()
        if hooks:
            self.hook("after_rollback", Failure.STOP)

    # -- the release job: from the switch to the verdict, on the server ----------------
    def said(self, lines: list[str]) -> str:
        """What the reload said: where the log stood, the process that serves."""
        said = dict(line.partition(" ")[::2] for line in lines if line)
        self.mark, self.pid = said.get("mark", ""), said.get("pid", "")
        return said.get("did", "live")

    def reload(self) -> str:
        assert self.job is not None
        return self.job.reload()

    def hook(self, point: str, failure: Failure) -> None:
        """The steps of ``after_switch`` and ``with_verify`` run in the release job: follow."""
        if point in JOB_POINTS and self.job is not None and self.action == "deploy":
            self.job.steps(point, failure)
        else:
            super().hook(point, failure)

    def stands(self) -> list[Command]:
        """This deploy's converge stands: nothing to put back. The commands that drop the
        copies kept of what it changed (none when it changed nothing)."""
        undo, self.undo = self.undo, None
        return [undo.discard()] if undo is not None and undo.paths else []

    def restore(self) -> None:
        """The files this deploy's converge changed put back as they were before it, and
        the handlers their tasks notified run again (units read again, restarted)."""
        undo, self.undo = self.undo, None
        if undo is None or not undo.paths:
            return

        def put_back() -> str:
            self.execute(undo.restore())
            again = [self.handlers[name] for name in undo.notified if name in self.handlers]
            TaskRun(self.session, self.out, again, {}, tally=Tally()).run()
            return f"{len(undo.paths)} file(s) as they were before this deploy"

        self.phase("restore", put_back)

    # -- helpers the phases share ---------------------------------------------------
    def go_live(self, first: list[Command] | None = None) -> str:
        """The role's way of making the switched release serve (after ``first``, in the same
        round trip); notes where the log stood and which process serves."""
        printed = self.execute([*(first or []), self.plan.go_live])
        return self.said(printed.splitlines())

    def verify(self) -> str:
        """Wait until the live service answers from the release (giving up if it exits):
        the release job's verify when it runs one, else here."""
        if self.job is not None:
            self.job.verify()
        else:
            p = self.plan
            self.execute([phases.poll(p.url(p.port), self.rid, p.health_timeout, self.pid)])
        return self.answers()

    def answers(self) -> str:
        p = self.plan
        return f"{self.rid} answers on 127.0.0.1:{p.port}{p.health_path}"

    def attempted(self) -> tuple[str, str | None]:
        """The release this run made live or tried to (even if it went back), and the one
        live before it; the first is "" when the run ended before choosing one."""
        return self.tried or (self.rid, self.live)

    def record(self, result: str, why: str = "") -> None:
        """Note this run in the app's deploy history on the server (``fab status``)."""
        if not self.rid:
            return  # ended before it chose a release: nothing to say
        release, before = self.attempted()
        entry = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "by": BY,
                 "action": self.action, "release": release, "from": before or "",
                 "result": result, "why": why.splitlines()[0] if why else ""}  # fmt: skip
        # the run ended: a re-run has nothing of it to finish
        self.execute([phases.record(self.layout, entry), phases.forget(self.layout)])

    def log_tail(self, mark: str) -> str:
        """The app's log since ``mark``, without noise: see ``log_excerpt``."""
        result = self.session.run_as_root(self.plan.logs_since(mark).render())
        return log_excerpt(result.stdout.splitlines())
