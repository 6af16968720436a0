"""The deploy lock: one deploy or rollback per app and server at a time.

The lock is a ``flock`` held by a process on the server whose life is tied to our SSH
channel: closing the channel (the normal end, Ctrl-C, or a dropped connection) ends
that process, and the kernel releases the lock. So a dead deploy never leaves a stale
lock behind that blocks the next one. Who holds it, and since when, is written beside it.
A holder that is still alive but abandoned (a hung connection) can be taken over.
"""

from __future__ import annotations

import getpass
import shlex
import socket
import time

import paramiko

from .transport import Session

BUSY = 75


class LockBusy(Exception):
    """Someone else holds the lock; the message says who and since when."""


class DeployLock:
    """Hold ``/run/lock/provision-<name>.lock`` for the duration of a ``with`` block.

    Example::

        with DeployLock(session, "hello", "deploy 20261125-160501", wait=0):
            ...
    """

    def __init__(
        self, session: Session, name: str, action: str, wait: float = 0, take_over: bool = False
    ) -> None:
        self.session = session
        self.path = f"/run/lock/provision-{name}.lock"
        self.action = action
        self.wait = wait
        self.take_over = take_over
        self._chan: paramiko.Channel | None = None
        self.taken_from = ""  # with take_over: who held the lock, if anyone

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
        lock, info = shlex.quote(self.path), shlex.quote(self.path + ".info")
        try_lock = f"flock -w {self.wait:g} 9" if self.wait else "flock -n 9"
        script = (
            f"exec 9>>{lock}; "
            f"if ! {try_lock}; then cat {info} 2>/dev/null; exit {BUSY}; fi; "
            f"printf '%s\\n' {shlex.quote(who)} {shlex.quote(since)} \"$$\" > {info}; "
            "echo locked; exec cat >/dev/null"
        )
        chan = self.session.start_as_root(script)
        out = chan.makefile("r")
        first = out.readline().strip()
        if first == "locked":
            self._chan = chan
            return
        lines = [first, *(line.strip() for line in out)]
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
        info = shlex.quote(self.path + ".info")
        done = self.session.run_as_root(
            f"pid=$(sed -n 3p {info} 2>/dev/null); "
            'if [ -n "$pid" ] && [ "$(cat /proc/$pid/comm 2>/dev/null)" = cat ]; then '
            f'kill "$pid"; head -n 2 {info} | paste -sd " "; fi; true'
        )
        self.taken_from = done.stdout.strip()
