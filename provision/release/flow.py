"""A flow: named phases and hook points, run in order on one host.

Every phase is timed, printed and failed the same way: one line when it is done
(``[web1] changed   release: switch  (r1 -> r2, 0.1 s)``), and on failure a ``failed``
line, then what its ``Failure`` says happens next. At a hook point, the steps roles added
there (``plan.Hooks``) run as phases of their own.

Example::

    FLOW = [Phase("upload", upload), HookPoint("before_switch", Failure.NEVER_LIVE), ...]
    run_flow(FLOW, my_run)
"""

from __future__ import annotations

import contextlib
import enum
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from provision.core.command import Command
from provision.core.output import Output, Tally
from provision.core.runner import PhaseFailed, TaskFailed, execute
from provision.core.transport import Session
from provision.release.plan import HookContext, Step


class Failure(enum.Enum):
    """What a failed phase leads to."""

    STOP = "stop"  # the flow ends there; nothing was switched
    NEVER_LIVE = "never live"  # the new release is marked bad; the live one keeps serving
    ROLL_BACK = "roll back"  # the new release was switched to: go back to the one before


@dataclass(frozen=True)
class Phase:
    """A named phase. ``run(flow_run)`` does its work and returns what to show of it.

    ``quiet``: printed only when it has something to say (a returned detail), and not
    counted; for phases that print their own lines or usually pass unseen (the lock).
    """

    name: str
    run: Callable[[Any], str | None]
    changes: bool = True
    failure: Failure = Failure.STOP
    quiet: bool = False


@dataclass(frozen=True)
class HookPoint:
    """Where the steps roles add at ``name`` run, failing as ``failure`` says."""

    name: str
    failure: Failure


class StepFailed(PhaseFailed):
    """A role's hook step failed; its message carries the step's own output."""


class Done(Exception):
    """Ends a flow early with nothing left to do (say, the live release is this one)."""


class FlowRun:
    """One host's way through a flow: its session, output, counts and hook steps.

    A flow of releases subclasses this, and says in ``fail`` what a ``Failure`` means.
    ``stack`` holds what the flow must give back when it ends (the lock, a work folder).
    ``label`` names the kind of work in its lines.
    """

    label = "release"

    def __init__(
        self, session: Session, out: Output, tally: Tally, hooks: dict[str, list[Step]]
    ) -> None:
        self.session = session
        self.name = session.target.name
        self.out = out
        self.tally = tally
        self.hooks = hooks
        self.stack = contextlib.ExitStack()
        self.first = True  # runs the steps meant to run once (``Step.once``)

    def execute(self, commands: list[Command]) -> str:
        return execute(self.session, commands)

    def shown(self, commands: list[Command]) -> None:
        """Run commands, showing what they print (a role's hook step, a migration say, is
        worth reading); a failure shows its last lines."""
        execute(self.session, commands, self.show)

    def show(self, line: str) -> None:
        """A line a step printed, under its phase's line."""
        self.out.line(f"[{self.name}]           | {line}")

    def hook_context(self) -> HookContext:
        raise NotImplementedError

    def fail(self, failure: Failure, error: PhaseFailed) -> NoReturn:
        raise error

    def phase(
        self, name: str, step: Callable[[], str | None], changes: bool = True, quiet: bool = False
    ) -> None:
        """Run one phase and print its line; a failure names the phase."""
        start = time.monotonic()
        try:
            detail = step()
        except TaskFailed as e:
            self.out.task(self.name, "failed", self.label, name)
            raise PhaseFailed(f"{name}: {e}") from e
        if quiet and not detail:
            return
        took = f"{time.monotonic() - start:.1f} s"
        status = "changed" if changes else "ok"
        if not quiet:
            self.tally.changed += changes
            self.tally.ok += not changes
        self.out.task(self.name, status, self.label, name, f"{detail}, {took}" if detail else took,
                      always=True)  # fmt: skip

    def hook(self, point: str, failure: Failure) -> None:
        """Run the steps roles added at ``point``, each as a phase."""
        for step in self.hooks.get(point, []):
            if step.once and not self.first:
                continue
            commands = step.commands(self.hook_context())
            try:
                self.phase(f"{point}: {step.name}", lambda c=commands: self.shown(c))
            except PhaseFailed as e:
                self.fail(failure, StepFailed(str(e)))

    def run_phase(
        self,
        name: str,
        step: Callable[[], str | None],
        failure: Failure,
        changes: bool = True,
        quiet: bool = False,
    ) -> None:
        """A phase whose failure leads where ``failure`` says (see ``fail``)."""
        try:
            self.phase(name, step, changes, quiet)
        except PhaseFailed as e:
            self.fail(failure, e)


Flow = Sequence[Phase | HookPoint]


def run_flow(flow: Flow, run: FlowRun) -> None:
    """Run ``flow`` in order on ``run``'s host; whatever it holds is released at the end."""
    with run.stack:
        run_stage(flow, run)


def run_stage(flow: Flow, run: FlowRun) -> bool:
    """Run part of a flow (what ``stages`` cut); False when it ended early (``Done``).
    What the run holds stays held: the caller closes ``run.stack``."""
    for item in flow:
        if isinstance(item, HookPoint):
            run.hook(item.name, item.failure)
            continue
        try:
            run.run_phase(item.name, lambda i=item: i.run(run), item.failure, item.changes,
                        item.quiet)  # fmt: skip
        except Done:
            return False
    return True


def stages(flow: Flow, *starts: str) -> list[Flow]:
    """``flow`` cut before each item named in ``starts``: the stages a run of several hosts
    takes together (all hosts finish one before any starts the next)."""
    names = [item.name for item in flow]
    cuts = [0, *(names.index(name) for name in starts), len(flow)]
    return [flow[a:b] for a, b in itertools.pairwise(cuts)]
