"""Commands a role writes itself, run only when their guard says so."""

from __future__ import annotations

from collections.abc import Iterable

from provision.core.command import Command
from provision.core.facts import PathInfo, PathState, Succeeds
from provision.core.operations.base import Change, NoChange, Operation, notify_names


def command(
    name: str,
    run: str | Command,
    creates: str | None = None,
    unless: str | None = None,
    notify: str | Iterable[str] | None = None,
) -> Operation:
    """Run ``run`` unless ``creates`` exists or the shell test ``unless`` succeeds.

    One guard is required: a command that always runs can never report ``ok``.

    Example: ``command("make dhparams", "openssl dhparam -out /etc/x.pem 2048",
    creates="/etc/x.pem")``
    """
    if (creates is None) == (unless is None):
        raise ValueError(f"{name}: give exactly one guard, creates= or unless=")
    cmd = run if isinstance(run, Command) else Command.shell(run)
    if creates is not None:

        def decide_creates(state: PathState | None) -> Change | NoChange:
            if state is not None:
                return NoChange(f"{creates} exists")
            return Change([cmd], name)

        facts: dict = {"state": PathInfo(creates)}
        return Operation(name, facts, decide_creates, notify_names(notify))

    def decide_unless(passed: bool) -> Change | NoChange:
        if passed:
            return NoChange(f"`{unless}` succeeds")
        return Change([cmd], name)

    return Operation(name, {"passed": Succeeds(unless)}, decide_unless, notify_names(notify))


def note(name: str, text: str) -> Operation:
    """A line of information in the run's output; changes nothing.

    Example: ``note("HTTPS", "no app_domain: HTTP only")``
    """

    def decide() -> NoChange:
        return NoChange(text)

    return Operation(name, {}, decide, loud=True)
