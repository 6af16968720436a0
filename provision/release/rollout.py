"""A deploy or rollback across every host of a run: prepared together, switched in batches.

The app servers (hosts where a role runs the app) go through the release flow stage by
stage, all finishing one stage before any starts the next: build and upload in parallel,
then the steps meant to run once (the release command) on the first of them only, then
the check. Then they switch in batches (``deploy_batch``, one of the engine's own settings:
counts or percentages, the first batch is the canary), each batch health-gated before
the next starts. When more hosts fail than ``deploy_max_fail`` allows, the rollout stops
and the hosts already switched go back, so that the app servers end on one release.
Hosts without an app (load balancers) converge last, once the app servers serve, with
the failed ones drained (each role's answer to the ``down`` hook).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from provision.core.errors import ProvisionError
from provision.core.output import Output, Tally
from provision.core.transport import Session
from provision.project import engine_settings
from provision.project.apply import Host, attempt, converge, in_parallel
from provision.project.engine_settings import batch_sizes
from provision.project.hooks import Hook
from provision.project.plays import Play
from provision.release import phases
from provision.release.deploy import DEPLOY, ROLLBACK, DeployOptions
from provision.release.flow import Flow, run_stage, stages
from provision.release.release import Release, Shared, release_plan

# down(settings, names): the settings that take the app servers ``names`` out of rotation
DOWN: Hook[dict[str, Any]] = Hook("down")


OUTCOMES = {"live": "ok", "back": "gone back", "failed": "failed", "ready": "not switched"}


@dataclass
class Member:
    """One host of the run, and how far it got."""

    session: Session
    tally: Tally = field(default_factory=Tally)
    host: Host | None = None
    run: Release | None = None  # None on a host without an app (a balancer)
    state: str = "connecting"  # ready, unchanged, live, back, failed

    @property
    def name(self) -> str:
        return self.session.target.name


class Rollout:
    """``action`` ("deploy" or "rollback") on every session's host; see the module."""

    def __init__(
        self,
        action: str,
        sessions: list[Session],
        play: Play,
        options: DeployOptions,
        out: Output,
    ) -> None:
        self.action, self.play, self.options, self.out = action, play, options, out
        self.members = [Member(s) for s in sessions]
        self.shared = Shared()  # one checkout, one set of wheels, one release id
        first = sessions[0].target.vars if sessions else {}
        self.at_once = engine_settings.at_once(first, options.overrides)

    def run(self) -> dict[str, Tally]:
        try:
            self.each(self.members, self.connect)
            if self.action == "deploy":
                self.deploy()
            else:
                self.rollback()
        finally:
            in_parallel(self.members, self.record, self.at_once)
            for m in self.members:
                if m.run is not None and m.state == "failed":
                    # already reported; a lock held by a lost connection went with it
                    with contextlib.suppress(Exception):
                        m.run.stack.close()
                elif m.run is not None:
                    attempt(m.name, self.out, m.tally, m.run.stack.close)
                m.tally.round_trips = m.session.round_trips
                m.session.close()
        tallies = {m.name: m.tally for m in self.members}
        self.out.recap(tallies)
        return tallies

    def releases(self) -> tuple[list[str], list[str]]:
        """The releases the run made live or tried to, and those live before it, over
        the app servers (one of each, unless the servers differed)."""
        tried = [m.run.attempted() for m in self.members if m.run is not None and m.run.rid]
        made = sorted({release for release, _ in tried})
        return made, sorted({before for _, before in tried if before})

    def record(self, m: Member) -> None:
        """The app server's part in the app's deploy history, when it had one."""
        result = OUTCOMES.get(m.state)
        if m.run is not None and result:
            with contextlib.suppress(ProvisionError):  # a host that cannot be written to said so
                m.run.record(result, m.tally.errors[0] if m.tally.errors else "")

    def each(self, members: list[Member], work: Callable[[Member], None]) -> None:
        """``work`` on every member at once; one that fails is reported and left behind."""

        def one(m: Member) -> None:
            if not attempt(m.name, self.out, m.tally, lambda: work(m)):
                m.state = "failed"

        in_parallel(members, one, self.at_once)

    def connect(self, m: Member) -> None:
        m.host = Host.connect(m.session, self.play, self.options.overrides)
        plan = release_plan(m.host.roles, m.host)
        if plan is not None:
            m.run = Release(self.action, m.host, plan, self.play, self.options, self.out,
                            m.tally, self.shared)  # fmt: skip
        m.state = "ready"

    def apps(self, *states: str) -> list[Member]:
        return [m for m in self.members if m.run is not None and m.state in states]

    def stage(self, flow: Flow, m: Member) -> None:
        assert m.run is not None
        if not run_stage(flow, m.run):
            m.state = "unchanged"

    # -- the two flows ------------------------------------------------------------------
    def deploy(self) -> None:
        prepare, once, check, go_live, finish = stages(
            DEPLOY, "before_check", "check", "switch", "clean"
        )
        for part in (prepare, once, check):
            ready = self.apps("ready")
            for i, m in enumerate(ready):
                m.run.first = i == 0  # type: ignore[union-attr]
            self.each(ready, lambda m, p=part: self.stage(p, m))
        if self.switch(go_live):
            self.each(self.apps("live"), lambda m: self.stage(finish, m))
            self.converge_balancers()

    def rollback(self) -> None:
        pick, go_back = stages(ROLLBACK, "switch")
        self.each(self.apps("ready"), lambda m: self.stage(pick, m))
        self.switch(go_back)
        for m in self.members:
            if m.run is None and m.state == "ready":
                self.out.task(m.name, "ok", "release", "rollback", "no app runs here", True)

    def switch(self, go_live: Flow) -> bool:
        """Switch the ready app servers in batches; False when the rollout stopped."""
        apps = [m for m in self.members if m.run is not None or m.state == "failed"]
        ready = self.apps("ready")
        if not ready:
            return self.failures() <= self.allowed()
        sizes = batch_sizes(len(ready), self.setting("deploy_batch"))
        done = 0
        for number, size in enumerate(sizes, 1):
            if self.failures() > self.allowed():
                return self.stop(apps, number)
            batch = ready[done : done + size]
            done += size
            if len(sizes) > 1:
                names = ", ".join(m.name for m in batch)
                self.out.line(f"-- batch {number} of {len(sizes)}: {names}")
            for m in batch:
                m.state = "live"
            self.each(batch, lambda m: self.stage(go_live, m))
            if number < len(sizes) and self.failures() <= self.allowed():
                time.sleep(self.setting("deploy_pause"))
        if self.failures() > self.allowed():
            return self.stop(apps, len(sizes) + 1)
        if len(apps) > 1:
            self.summary(apps, f"{self.action}: {len(apps)} app servers")
        return True

    def failed(self) -> list[Member]:
        """Hosts that failed, app servers or not (one unreachable: either)."""
        return [m for m in self.members if m.state == "failed"]

    def failures(self) -> int:
        return len(self.failed())

    def allowed(self) -> int:
        runs = any(m.run is not None for m in self.members)
        return self.setting("deploy_max_fail") if runs else 0

    def setting(self, name: str) -> Any:
        """One of the engine's own settings, as the first app server has it."""
        hosts = [m.host for m in self.members if m.run is not None and m.host is not None]
        return hosts[0].vars[name] if hosts else engine_settings.DEFAULTS[name]

    def stop(self, apps: list[Member], number: int) -> bool:
        """Too many failed: the switched hosts go back; the others never switch."""
        failed = ", ".join(m.name for m in self.failed())
        if len(apps) == 1:  # its own lines said it all
            return False
        self.out.line(f"-- stopped before batch {number}: {failed} failed (deploy_max_fail: "
                      f"{self.allowed()})")  # fmt: skip
        if self.action == "deploy":
            self.each(self.apps("live"), self.go_back)
            self.each(self.apps("ready"), self.never_live)
        self.summary(apps, f"{self.action} stopped")
        for m in self.members:
            if m.run is None and m.state == "ready":
                self.out.task(m.name, "ok", "release", "converge", f"not run: the {self.action} "
                              "stopped (a balancer keeps its servers)", True)  # fmt: skip
        for m in self.apps("ready", "back", "live", "unchanged"):
            m.tally.failed += 1
            m.tally.errors.append(f"the {self.action} stopped: {failed} failed")
        return False

    def go_back(self, m: Member) -> None:
        assert m.run is not None
        m.run.go_back()
        m.state = "back"

    def never_live(self, m: Member) -> None:
        assert m.run is not None
        m.run.execute(phases.mark_bad(m.run.layout, m.run.rid))
        self.out.task(m.name, "changed", "release", "not switched",
                      f"{m.run.rid} never went live and is marked bad", True)  # fmt: skip

    def summary(self, apps: list[Member], title: str) -> None:
        """Which release each app server serves now, read from the servers."""
        live: dict[str, str] = {}

        def read(m: Member) -> None:
            # a host that cannot say failed already, and said why
            with contextlib.suppress(ProvisionError):
                live[m.name] = m.run.read_state().current or "nothing"  # type: ignore[union-attr]

        in_parallel([m for m in apps if m.run is not None], read, self.at_once)
        on: dict[str, list[str]] = {}
        for m in apps:
            on.setdefault(live.get(m.name, "unknown (unreachable)"), []).append(m.name)
        where = "; ".join(f"{', '.join(names)} on {rid}" for rid, names in on.items())
        self.out.line(f"-- {title}: {where}")

    def converge_balancers(self) -> None:
        """Hosts without an app converge (a balancer's upstreams follow the inventory),
        with the app servers that failed marked down."""
        down = [m.name for m in self.failed()]

        def one(m: Member) -> None:
            assert m.host is not None
            if down:  # each role says how it drains them: a balancer's upstream marks them
                settings = m.host.vars
                for _, drained in DOWN.answers(m.host.roles, lambda role: (settings, down)):
                    m.host.vars = {**m.host.vars, **drained}
            converge(m.host, self.play, self.options, self.out, m.tally)

        self.each([m for m in self.members if m.run is None and m.state == "ready"], one)
