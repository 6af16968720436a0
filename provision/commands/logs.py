"""`fab logs`: what a role's processes wrote, from one or several hosts, each line marked
with its host.

A role names its logs (``RoleModule.logs``): a systemd unit's journal or a file. The
engine turns a ``LogQuery`` into the one command that reads it, and prints.

Example::

    query = LogQuery(source="web", lines=50, grep="Traceback")
    log_command(LogSource(unit="hello"), query).render()
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from provision.core.command import Command
from provision.core.output import Output, Tally
from provision.core.transport import Session, Target
from provision.project.apply import Host, Work
from provision.project.hooks import Hook
from provision.project.plays import Play
from provision.project.roles import RoleError
from provision.project.schema import closest

SINCE = re.compile(r"^\d+(s|m|min|h|d|w)$")


@dataclass(frozen=True)
class LogSource:
    """Where a log is: a systemd ``unit``'s journal, or a file at ``path``."""

    unit: str = ""
    path: str = ""


LOGS: Hook[dict[str, LogSource]] = Hook("logs")  # the logs a role's processes write, by name


@dataclass(frozen=True)
class LogQuery:
    """What to show: the ``source`` by name, the last ``lines``, those ``since`` a time
    span ago (``10m``, ``2h``, ``1d``), those containing ``grep``; ``follow``: then wait
    for more."""

    source: str = "web"
    lines: int = 100
    since: str = ""
    grep: str = ""
    follow: bool = False

    def fault(self) -> str:
        """Why the query cannot be asked, or ""."""
        if self.lines < 1:
            return f"-n {self.lines}: at least one line"
        if self.since and not SINCE.match(self.since):
            return f"--since {self.since!r}: a time span such as 30s, 10m, 2h or 1d"
        return ""


def log_command(source: LogSource, query: LogQuery) -> Command:
    """The command that prints the lines ``query`` asks of ``source``."""
    if source.unit:
        args = ["journalctl", "-u", source.unit, "--no-pager", "-o", "short-iso"]
        if query.since:
            args.append(f"--since=-{query.since}")
        if query.grep:
            args += ["--grep", re.escape(query.grep)]
        if query.grep and not query.follow:
            # the last matching lines, oldest first (with -n, journalctl's --grep gives them
            # newest first)
            return Command.script("{journal} | tail -n {n}", journal=Command.of(*args),
                                  n=str(query.lines))  # fmt: skip
        args += ["-n", str(query.lines)]
        if query.follow:
            args.append("--follow")
        return Command.of(*args)
    follow = ("-F",) if query.follow else ()
    if not query.grep:
        return Command.of("tail", "-n", str(query.lines), *follow, source.path)
    # the last lines that match, not the matches among the last lines
    whole = Command.of("tail", "-n", "+1", *follow, source.path)
    last = "" if query.follow else " | tail -n {n}"
    return Command.script("{whole} | grep --line-buffered -F -e {text}" + last,
                          whole=whole, text=query.grep, n=str(query.lines))  # fmt: skip


def sources(play: Play, host: Host) -> dict[str, LogSource]:
    """Every log the roles name on this host."""
    return host.merged(LOGS)


def follow_each(
    targets: list[Target], one: Callable[[Target], Tally], out: Output, recap: bool = False
) -> dict[str, Tally]:
    """``one`` (a host's --follow) on every target at once, until Ctrl-C: each in a thread
    of its own that ends with the program, as the channels it reads close with it."""
    tallies: dict[str, Tally] = {}
    threads = [threading.Thread(target=lambda t=t: tallies.update({t.name: one(t)}),
                                daemon=True) for t in targets]  # fmt: skip
    for thread in threads:
        thread.start()
    with contextlib.suppress(KeyboardInterrupt):
        for thread in threads:
            while thread.is_alive():
                thread.join(0.5)  # in steps, so that Ctrl-C gets through
    return {t.name: tallies.get(t.name, Tally()) for t in targets}


def show_logs(
    play: Play, query: LogQuery, out: Output, overrides: dict, lacking: list[str] | None = None
) -> Work:
    """What ``guarded`` runs on one host: read the log and print it, line by line.

    ``lacking``: in a run of several hosts, a host without the log (a balancer has no
    app's log) is noted there and said, not failed; with None, it fails."""

    def work(session: Session, tally: Tally) -> None:
        host = Host.connect(session, play, overrides)
        known = sources(play, host)
        name = session.target.name
        if query.source not in known:
            hint = closest(query.source, known)
            why = (f"no log named {query.source!r} on {name}{hint} (logs here: "
                   f"{', '.join(known) or 'none'})")  # fmt: skip
            if lacking is None:
                raise RoleError(why)
            lacking.append(name)
            out.line(f"[{name}] {why}")
            return
        command = log_command(known[query.source], query).render()
        if not query.follow:
            result = session.run_as_root(command)
            for line in result.stdout.splitlines():
                out.line(f"[{name}] {line}")
            if not result.ok and result.stderr.strip():
                raise RoleError(result.stderr.strip())
            return
        with session.start_as_root(command) as chan, contextlib.suppress(KeyboardInterrupt):
            for line in chan.makefile("r"):  # until Ctrl-C
                out.line(f"[{name}] {line.rstrip(chr(10))}")

    return work
