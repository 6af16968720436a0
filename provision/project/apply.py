"""Apply a play to hosts: connect, read facts, converge, one tally per host.

The library entry point, as the CLI uses it::

    project = Project.load(Path("."))
    tallies = apply(project, "bootstrap", project.targets("web1"), Options(check=True), Output())
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fabric import Config

from provision.core.errors import ProvisionError
from provision.core.facts import HostFacts, HostInfo, PathInfo
from provision.core.operations import files
from provision.core.output import Output, Tally, suggested
from provision.core.runner import Task, TaskRun, gather
from provision.core.transport import Session, Target
from provision.core.undo import Undo
from provision.project.build import build_tasks
from provision.project.engine_settings import at_once
from provision.project.hooks import Hook
from provision.project.peers import NO_PEERS, Peers
from provision.project.plays import Options, Play, Project
from provision.project.roles import Role, RoleContext, merged, resolve_vars

T = TypeVar("T")

PLAYED = "/var/lib/provision/played"  # a file per play that completed on the server

Work = Callable[[Session, Tally], None]


class NotReady(ProvisionError):
    """The server lacks a play that must come first; nothing was changed."""


@dataclass
class Host:
    """A connected host with its facts and resolved settings: what every command starts from."""

    session: Session
    facts: HostFacts
    vars: dict[str, Any]
    peers: Peers = NO_PEERS  # the inventory's hosts, seen from this one
    roles: list[Role] = field(default_factory=list)  # what the play runs on this host
    server_roles: list[Role] = field(default_factory=list)  # and what any play runs here
    # the settings of each app the server holds, by name, where the inventory names apps
    apps: dict[str, dict[str, Any]] = field(default_factory=dict)
    app: str = ""  # the one app of them the command is for ("": every app; ``vars``: its)

    def context(self, role: Role) -> RoleContext:
        """What ``role``'s tasks and hooks see on this host."""
        return RoleContext(role, self.vars, self.facts, self.peers, list(self.apps.values()))

    def merged(self, hook: Hook[dict[str, T]]) -> dict[str, T]:
        """What the roles any play runs here answer to ``hook``, merged (see ``merged``)."""
        every = list(self.apps.values())
        return merged(hook, self.server_roles, self.vars, self.facts, self.peers, every)

    def converging(self) -> dict[str, dict[str, Any]]:
        """The apps a play converges here, each one's settings: the one the command is
        for, or every app of the server (none named: the one of ``vars``)."""
        return {self.app: self.vars} if self.app else self.apps

    @classmethod
    def connect(cls, session: Session, play: Play, overrides: dict[str, Any]) -> Host:
        """Open the session and read the host's facts; refuse a host ``play.after`` did not
        complete on (one round trip for both)."""
        session.open()
        target = session.target
        needed = marks(play.after, [target.app] if target.app else list(target.apps))
        probes: list = [HostInfo(), *(PathInfo(mark) for mark in needed.values())]
        values = gather(session, probes)
        lacking = [
            app for app, probe in zip(needed, probes[1:], strict=True) if values[probe] is None
        ]
        if lacking:
            name, first = target.name, suggested(play.after or "")
            what = "" if "" in lacking else f"for {', '.join(lacking)} "
            raise NotReady(
                f"`{first}` has not completed {what}on {name}: run `{first} -H {name}` first "
                f"(it sets up what `{play.name}` relies on, SSH hardening included); nothing "
                "was changed"
            )
        settings = resolve_vars(play.every_role, target.vars, overrides)
        apps = {name: resolve_vars(play.every_role, given, overrides)
                for name, given in target.apps.items()}  # fmt: skip
        return cls(session, values[probes[0]], settings, play.peers.seen_from(target),
                   play.roles_of(settings), play.on_server(settings), apps, target.app)  # fmt: skip


def marks(play: str | None, apps: list[str]) -> dict[str, str]:
    """The files that say ``play`` completed on a server ("") and for each of its ``apps``
    (those of the inventory's ``apps:``), by app."""
    if not play:
        return {}
    return {"": f"{PLAYED}/{play}", **{app: f"{PLAYED}/{play}.{app}" for app in apps}}


def played(name: str, apps: Sequence[str] = ()) -> list[Task]:
    """The tasks that record, at the end of a play, that it completed on the server (and
    for each of ``apps``)."""
    tasks = [Task("provision", files.directory(PLAYED, mode=0o755))]
    for app, path in marks(name, list(apps)).items():
        label = f"played {name}" + (f" ({app})" if app else "")
        tasks.append(Task("provision", files.file(path, f"{name} completed\n", name=label)))
    return tasks


def attempt(name: str, out: Output, tally: Tally, work: Callable[[], None]) -> bool:
    """Run ``work`` for host ``name``; a failure is reported and counted, never raised."""
    try:
        work()
        return True
    except ProvisionError as e:
        tally.failed += 1
        tally.errors.append(str(e))
        out.error(name, str(e))
    except Exception as e:  # one host's surprise must not hide the other hosts' results
        tally.failed += 1
        tally.errors.append(f"{type(e).__name__}: {e}")
        out.error(name, f"unexpected {type(e).__name__}: {e}")
    return False


def guarded(target: Target, out: Output, config: Config | None, work: Work) -> Tally:
    """Run ``work`` on one host; any failure is reported and counted, never raised."""
    tally = Tally()
    session = Session(target, config)
    try:
        attempt(target.name, out, tally, lambda: work(session, tally))
    finally:
        tally.round_trips = session.round_trips
        session.close()
    return tally


def converge(host: Host, play: Play, options: Options, out: Output, tally: Tally,
             record: bool = False, undo: Undo | None = None) -> dict[str, Task]:  # fmt: skip
    """Apply the play's tasks (and notified handlers) to a connected host; with ``record``,
    note on the server that the play completed; with ``undo``, keep the files it changes
    as they were. Returns the play's handlers."""
    every = list(host.apps.values())
    tasks, handlers = build_tasks(host.roles, host.vars, host.facts, out, host.peers,
                                  host.converging(), play.per_app, every)  # fmt: skip
    if record:
        tasks += played(play.name, list(host.converging()) if host.apps else [])
    TaskRun(host.session, out, tasks, handlers, options.check, options.diff, tally, undo).run()
    return handlers


def apply_one(
    play: Play, target: Target, options: Options, out: Output, config: Config | None = None
) -> Tally:
    """Connect to one host and converge it; every failure ends up in the tally."""

    def work(session: Session, tally: Tally) -> None:
        host = Host.connect(session, play, options.overrides)
        converge(host, play, options, out, tally, record=True)

    return guarded(target, out, config, work)


def for_each_host(
    targets: list[Target],
    one: Callable[[Target], Tally],
    out: Output,
    recap: bool = True,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Tally]:
    """Run ``one`` for every target in parallel (one connection each, ``hosts_at_once`` at
    a time), then print the recap.

    A single target runs in this thread, so that Ctrl-C stops it where it is (and its
    ``finally`` blocks release what it holds) instead of waiting for it to finish.
    """
    limit = at_once(targets[0].vars if targets else {}, overrides)
    tallies = dict(zip([t.name for t in targets], in_parallel(targets, one, limit), strict=True))
    if recap:
        out.recap(tallies)
    return tallies


def in_parallel(items: Sequence[Any], work: Callable[[Any], Any], limit: int = 64) -> list[Any]:
    """``work`` on every item, ``limit`` at a time (a thread each), results in order; a
    single item runs in this thread, where Ctrl-C reaches it."""
    if len(items) == 1:
        return [work(items[0])]
    with ThreadPoolExecutor(max_workers=max(1, min(limit, len(items)))) as pool:
        return list(pool.map(work, items))


def apply(project: Project, name: str, targets: list[Target], options: Options, out: Output,
          config: Config | None = None) -> dict[str, Tally]:  # fmt: skip
    """Converge every target with the play ``name`` (and ``options.overrides``), as `fab
    bootstrap` does: the settings are checked first, before any connection (raising
    ``InventoryError`` or ``RoleError``), then every host at once, one tally each."""
    return converge_all(project.ready(name, targets, options.overrides), targets, options, out,
                        config)  # fmt: skip


def converge_all(play: Play, targets: list[Target], options: Options, out: Output,
                 config: Config | None = None) -> dict[str, Tally]:  # fmt: skip
    """Converge every target with ``play``, ``hosts_at_once`` at a time; the recap printed,
    one tally each."""

    def one(target: Target) -> Tally:
        return apply_one(play, target, options, out, config)

    return for_each_host(targets, one, out, overrides=options.overrides)
