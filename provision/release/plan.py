"""What roles tell the release flow: how the app runs, and steps at its hook points.

The engine uploads, installs, checks, switches and verifies releases by a
``ReleasePlan``, knowing nothing of the server software that runs them. One role (the
one that runs the app) returns a ``ReleasePlan`` from ``release(role)``; any role may
return ``Hooks`` instead, steps to run at the flow's hook points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from provision.core.command import Command
from provision.release.layout import Layout

# Where roles may add steps, in the order a deploy reaches them. A failure before the
# switch leaves the live release serving; from the switch on it rolls the release back.
# ``with_verify`` steps run at the same time as the verify (a restart of the app's
# background processes onto the release): the release is kept once both have passed.
HOOK_POINTS = ("before_check", "before_switch", "after_switch", "with_verify", "after_verify",
               "after_rollback")  # fmt: skip
# The points whose steps a deploy's release job runs on the server (see ``golive``): they
# go on, and end in a rollback or not, even if the operator's process dies.
JOB_POINTS = ("after_switch", "with_verify")


@dataclass(frozen=True)
class HookContext:
    """What a hook step is told: the release in question and the one live before it.

    ``release`` is the new release during a deploy, and the release gone back to at
    ``after_rollback``; ``previous`` is the one live before (``None`` on a first deploy).
    """

    layout: Layout
    release: str
    previous: str | None

    @property
    def release_dir(self) -> str:
        return self.layout.release(self.release)


@dataclass(frozen=True)
class Step:
    """A named step at a hook point: its commands, made when the step runs.

    ``once``: in a deploy to several hosts, run on the first of them only, before any
    other host goes on past this point (a migration of the one shared database).

    Example: ``Step("migrate", lambda ctx: [Command.of("alembic", "upgrade", "head")])``
    """

    name: str
    commands: Callable[[HookContext], list[Command]]
    once: bool = False


@dataclass(frozen=True)
class Hooks:
    """Steps a role adds to the release flow, by hook point."""

    steps: dict[str, list[Step]] = field(default_factory=dict)


@dataclass
class ReleasePlan:
    """How to build, start, check and make live the releases of one app.

    ``check_command(release_dir, port)`` starts the release in the foreground on a spare
    local port, as the app user would; the engine asks its health URL there before it
    goes live. ``go_live`` makes the switched release serve; it prints lines
    ``mark <position>`` (where the app's log stood before it), ``pid <pid>`` (the process
    that serves the release: the health gate gives up if it exits) and ``did <what>``.
    ``logs_since(mark)`` prints the app's log from that position without ``log_noise``,
    a regular expression for lines that bury the cause (access lines). ``files`` are
    generated files added to every release; ``shared_links`` link a release's paths to
    ``shared/``.
    """

    root: str
    user: str
    service: str  # names the deploy lock and the check's files
    source: str  # a local directory (relative to the project) or a git URL
    ref: str  # with a git URL: what to check out
    port: int
    check_port: int
    health_path: str
    health_timeout: float
    keep: int
    packages: list[str]
    check_command: Callable[[str, int], list[str]]
    go_live: Command
    logs_since: Callable[[str], Command]
    log_noise: str = "^$"
    smoke_paths: list[str] = field(default_factory=list)  # asked once the check answered
    requirements: str = "requirements.txt"
    files: dict[str, str] = field(default_factory=dict)
    shared_links: dict[str, str] = field(default_factory=dict)
    hooks: dict[str, list[Step]] = field(default_factory=dict)

    @property
    def layout(self) -> Layout:
        return Layout(self.root)

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}{self.health_path}"
