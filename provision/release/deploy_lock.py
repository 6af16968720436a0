"""The deploy lock: one deploy or rollback per app and server at a time.

The lock is a ``flock`` held by a process on the server whose life is tied to our SSH
channel: closing the channel (the normal end, Ctrl-C, or a dropped connection) ends
that process, and the kernel releases the lock. So a dead deploy never leaves a stale
lock behind that blocks the next one. Who holds it, and since when, is written beside it.
A holder that is still alive but abandoned (a hung connection) can be taken over.
"""

from __future__ import annotations

import getpass
import socket
import time
from collections.abc import Callable

import paramiko

from provision.core.command import Command, sh
from provision.core.errors import ProvisionError
from provision.core.transport import Session

BUSY = 75


class LockBusy(ProvisionError):
    """Someone else holds the lock; the message says who and since when."""


class DeployLock:
    """Hold ``/run/lock/provision-<name>.lock`` for the duration of a ``with`` block.

    Example::

        with DeployLock(session, "hello", "deploy 20261125-160501", wait=0):
            ...
    """

    def __init__(
        self,
        session: Session,
        name: str,
        action: str,
        wait: float = 0,
        take_over: bool = False,
        on_wait: Callable[[str], None] | None = None,
        then: Command | None = None,
    ) -> None:
        self.session = session
        self.path = f"/run/lock/provision-{name}.lock"
        self.action = action
        self.wait = wait
        self.take_over = take_over
        self.on_wait = on_wait  # told who holds the lock, when it has to wait
        self.then = then  # run once the lock is held, before it says so (in the same trip)
        self._chan: paramiko.Channel | None = None
        self.taken_from = ""  # with take_over: who held the lock, if anyone
        self.waited = 0.0  # seconds it waited for another holder

    def __enter__(self) -> DeployLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        if self.take_over:
            self._kill_holder()
        who = f"{getpass.getuser()}@{socket.gethostname()} ({self.action})"
        since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        script = sh(
            "exec 9>>{lock}; "
            "if ! flock -n 9; then "
            "if [ {wait} = 0 ]; then cat {info} 2>/dev/null; exit {busy}; fi; "
            "echo waiting; head -n 2 {info} 2>/dev/null; echo --; "
            "flock -w {wait} 9 || exit {busy}; fi; "
            "printf '%s\\n' {who} {since} \"$$\" > {info}; {then} >&2; echo locked; "
            "exec cat >/dev/null",
            lock=self.path,
            info=self.path + ".info",
            wait=self.wait,
            busy=BUSY,
            who=who,
            since=since,
            then=self.then or Command.of("true"),
        )
        chan = self.session.start_as_root(script)
        out = chan.makefile("r")
        first = out.readline().strip()
        lines: list[str] = []
        if first == "waiting":
            while (line := out.readline().strip()) not in ("--", ""):
                lines.append(line)
            start = time.monotonic()
            if self.on_wait:
                self.on_wait(", since ".join(lines) or "someone")
            first = out.readline().strip()
            self.waited = time.monotonic() - start
        if first == "locked":
            self._chan = chan
            return
        lines = lines or [first, *(line.strip() for line in out)]
        chan.recv_exit_status()
        chan.close()
        holder = lines[0] or "someone"
        when = lines[1] if len(lines) > 1 else "an unknown time"
        waited = f" (waited {self.wait:g} s)" if self.wait else ""
        raise LockBusy(
            f"{self.session.target.name}: another deploy holds the lock{waited}: {holder}, "
            f"since {when}. Wait for it (--wait SECONDS), or if it is dead: --take-over"
        )

    def release(self) -> None:
        if self._chan is not None:
            self._chan.shutdown_write()
            self._chan.recv_exit_status()
            self._chan.close()
            self._chan = None

    def _kill_holder(self) -> None:
        done = self.session.run_as_root(
            sh(
                "pid=$(sed -n 3p {info} 2>/dev/null); "
                'if [ -n "$pid" ] && [ "$(cat /proc/$pid/comm 2>/dev/null)" = cat ]; then '
                'kill "$pid"; head -n 2 {info} | paste -sd " "; fi; true',
                info=self.path + ".info",
            )
        )
        self.taken_from = done.stdout.strip()
