"""The library entry point: load a project, resolve targets, apply roles to hosts.

Example::

    project = Project.load(Path("."))
    targets = project.targets("web1")
    tallies = apply(project, "bootstrap", targets, Options(check=True), Output())
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from fabric import Config

from .artifact import ArtifactError
from .facts import HostFacts, HostInfo, PathInfo
from .inventory import Inventory, InventoryError, Target
from .lock import LockBusy
from .operations import files
from .output import Output, Tally
from .peers import NO_PEERS, Peers
from .roles import Role, RoleContext, RoleError, load_roles, resolve_vars, schema
from .runner import PhaseFailed, Play, Task, TaskFailed, gather
from .schema import SchemaError, check_vars, closest
from .transport import ConnectError, Session
from .undo import Undo

PLAYED = "/var/lib/provision/played"  # a file per play that completed on the server

Work = Callable[[Session, Tally], None]


@dataclass
class Options:
    check: bool = False
    diff: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)
    # refuse a host whose key no known-hosts file holds, whatever the inventory says
    strict_host_keys: bool = False


@dataclass
class Playbook:
    """A play's roles, in order; ``every_role`` gives the settings (any role's setting is
    valid for every play); ``after``: a play that must have completed on a server first;
    ``peers``: the inventory's hosts, for roles that span hosts."""

    name: str
    roles: list[Role]
    every_role: list[Role]
    after: str | None = None
    peers: Peers = NO_PEERS

    def on_server(self) -> list[Role]:
        """The play's roles, then every other: all a server may run (status, logs read it)."""
        return [*self.roles, *(r for r in self.every_role if r not in self.roles)]


class Project:
    """A repository's roles, plays and inventory, loaded and checked before any connection."""

    def __init__(
        self, roles: dict[str, Role], inventory: Inventory, plays: dict[str, Any] | None = None
    ) -> None:
        self.roles = roles
        self.inventory = inventory
        self.plays = plays or {}

    @classmethod
    def load(
        cls, root: Path, inventory: str | Path = "inventory.yaml", extra: Sequence[Path] = ()
    ) -> Project:
        """``extra``: more role directories, for roles no play names yet (tests, tools)."""
        roles: dict[str, Role] = {}
        for roles_dir in [root / "roles", *extra]:
            names = sorted(p.name for p in roles_dir.iterdir() if (p / "tasks.py").is_file())
            roles.update({r.name: r for r in load_roles(roles_dir, names)})
        plays = _load_plays(root / "roles" / "plays.yaml", roles)
        inv = Inventory.load(root / inventory, schema(roles.values()))
        return cls(roles, inv, plays)

    def play(self, name: str, overrides: dict[str, Any] | None = None) -> Playbook:
        if name not in self.plays:
            raise RoleError(f"roles/plays.yaml: no play named {name!r}{closest(name, self.plays)}")
        play = self.plays[name]
        every = list(self.roles.values())
        peers = Peers(self.inventory, lambda t: resolve_vars(every, t.vars, overrides or {}))
        return Playbook(name, self.pick(play["roles"]), every, play.get("after"), peers)

    def targets(self, pattern: str) -> list[Target]:
        return self.inventory.resolve(pattern)

    def check_overrides(self, overrides: dict[str, Any]) -> None:
        try:
            check_vars(overrides, schema(self.roles.values()))
        except SchemaError as e:
            raise InventoryError(f"--set {e.key}: {e.message}") from e

    def pick(self, names: list[str]) -> list[Role]:
        missing = [n for n in names if n not in self.roles]
        if missing:
            raise RoleError(f"roles/{missing[0]}: no such role")
        return [self.roles[n] for n in names]


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``["app_workers=4", "app_name=shop"]`` -> ``{"app_workers": 4, "app_name": "shop"}``."""
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InventoryError(f"--set {pair!r}: expected NAME=VALUE")
        result[key.strip()] = yaml.safe_load(value) if value else ""
    return result


def build_tasks(
    roles: list[Role],
    variables: dict[str, Any],
    host: Any,
    out: Output | None = None,
    peers: Peers = NO_PEERS,
) -> tuple[list[Task], dict[str, Task]]:
    """Every role's tasks and handlers, rendered; unknown handler names are an error.

    Secrets the roles declare are added to ``out``'s mask before anything is shown.
    """
    tasks: list[Task] = []
    handlers: dict[str, Task] = {}
    for role in roles:
        ctx = RoleContext(role, variables, host, peers)
        if out is not None:
            for secret in ctx.secrets():
                out.mask.add(secret)
        tasks += [Task(role.name, op) for op in ctx.tasks()]
        handlers.update({n: Task(f"{role.name} handler", op) for n, op in ctx.handlers().items()})
    for task in tasks:
        for name in task.op.notify:
            if name not in handlers:
                raise RoleError(
                    f"roles/{task.role}: '{task.op.name}' notifies unknown handler {name!r}"
                )
    return tasks, handlers


def _load_plays(path: Path, roles: dict[str, Role]) -> dict[str, Any]:
    try:
        plays = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise RoleError(f"{path}: {e}") from e
    for name, play in plays.items():
        for role in play.get("roles", []):
            if role not in roles:
                raise RoleError(f"{path}: {name}: no role named {role!r}{closest(role, roles)}")
        after = play.get("after")
        if after is not None and after not in plays:
            raise RoleError(f"{path}: {name}: after: no play named {after!r}")
        play["roles"] = list(play.get("roles", []))
    return plays


class NotReady(Exception):
    """The server lacks a play that must come first; nothing was changed."""


@dataclass
class Host:
    """A connected host with its facts and resolved settings: what every command starts from."""

    session: Session
    facts: HostFacts
    vars: dict[str, Any]
    peers: Peers = NO_PEERS  # the inventory's hosts, seen from this one

    @classmethod
    def connect(cls, session: Session, book: Playbook, overrides: dict[str, Any]) -> Host:
        """Open the session and read the host's facts; refuse a host ``book.after`` did not
        complete on (one round trip for both)."""
        session.open()
        probes: list = [HostInfo()]
        if book.after:
            probes.append(PathInfo(f"{PLAYED}/{book.after}"))
        values = gather(session, probes)
        if book.after and values[probes[1]] is None:
            name = session.target.name
            raise NotReady(
                f"`fab {book.after}` has not completed on {name}: run `fab {book.after} -H "
                f"{name}` first (it sets up what `{book.name}` relies on, SSH hardening "
                "included); nothing was changed"
            )
        return cls(
            session,
            values[probes[0]],
            resolve_vars(book.every_role, session.target.vars, overrides),
            book.peers.seen_from(session.target),
        )


def played(name: str) -> list[Task]:
    """The tasks that record, at the end of a play, that it completed on the server."""
    return [
        Task("provision", files.directory(PLAYED, mode=0o755)),
        Task(
            "provision",
            files.file(f"{PLAYED}/{name}", f"{name} completed\n", name=f"played {name}"),
        ),
    ]


ERRORS = (ConnectError, TaskFailed, RoleError, SchemaError, PhaseFailed, LockBusy, ArtifactError,
          NotReady)  # fmt: skip


def attempt(name: str, out: Output, tally: Tally, work: Callable[[], None]) -> bool:
    """Run ``work`` for host ``name``; a failure is reported and counted, never raised."""
    try:
        work()
        return True
    except ERRORS as e:
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


def converge(host: Host, book: Playbook, options: Options, out: Output, tally: Tally,
             record: bool = False, undo: Undo | None = None) -> dict[str, Task]:  # fmt: skip
    """Apply the play's tasks (and notified handlers) to a connected host; with ``record``,
    note on the server that the play completed; with ``undo``, keep the files it changes
    as they were. Returns the play's handlers."""
    tasks, handlers = build_tasks(book.roles, host.vars, host.facts, out, host.peers)
    if record:
        tasks += played(book.name)
    Play(host.session, out, tasks, handlers, options.check, options.diff, tally, undo).run()
    return handlers


def apply_one(
    book: Playbook, target: Target, options: Options, out: Output, config: Config | None = None
) -> Tally:
    """Connect to one host and converge it; every failure ends up in the tally."""

    def work(session: Session, tally: Tally) -> None:
        host = Host.connect(session, book, options.overrides)
        converge(host, book, options, out, tally, record=True)

    return guarded(target, out, config, work)


def for_each_host(
    targets: list[Target], one: Callable[[Target], Tally], out: Output, recap: bool = True
) -> dict[str, Tally]:
    """Run ``one`` for every target in parallel (one connection each), then print the recap.

    A single target runs in this thread, so that Ctrl-C stops it where it is (and its
    ``finally`` blocks release what it holds) instead of waiting for it to finish.
    """
    tallies = dict(zip([t.name for t in targets], in_parallel(targets, one), strict=True))
    if recap:
        out.recap(tallies)
    return tallies


def in_parallel(items: Sequence[Any], work: Callable[[Any], Any]) -> list[Any]:
    """``work`` on every item at once (a thread each, eight at most), results in order; a
    single item runs in this thread, where Ctrl-C reaches it."""
    if len(items) == 1:
        return [work(items[0])]
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(items)))) as pool:
        return list(pool.map(work, items))


def apply(project: Project, play: str, targets: list[Target], options: Options, out: Output,
          config: Config | None = None) -> dict[str, Tally]:  # fmt: skip
    """Converge every target with the play's roles (and ``options.overrides``)."""
    book = project.play(play, options.overrides)
    project.check_overrides(options.overrides)
    return for_each_host(targets, lambda t: apply_one(book, t, options, out, config), out)
