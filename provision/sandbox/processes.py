"""The sandbox's processes: stopped by their pid, never by name, and reaped.

A pid is checked against the process's name before any signal, so that a pid reused by
another process is never signalled.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from provision.core.errors import ProvisionError


class SandboxError(ProvisionError):
    pass


def stop(pid: int, timeout: float = 30) -> None:
    """Halt the host of this systemd-nspawn pid (SIGTERM: a clean shutdown)."""
    stop_process(pid, "systemd-nspawn", timeout)


def is_running(pid: int) -> bool:
    """A live systemd-nspawn at this pid (a zombie, or a reused pid, is not)."""
    return is_process(pid, "systemd-nspawn")


def stop_process(pid: int, comm: str, timeout: float = 30) -> None:
    """Stop the process ``comm`` at ``pid`` (SIGTERM, then SIGKILL after ``timeout``)."""
    if not is_process(pid, comm):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _reap(pid, comm):
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    while not _reap(pid, comm):
        time.sleep(0.1)


def is_process(pid: int, comm: str) -> bool:
    """A live process named ``comm`` at this pid (a zombie, or a reused pid, is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    name, state = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2]
    return name == comm and state != "Z"


def _reap(pid: int, comm: str) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return True
    except ChildProcessError:
        pass
    return not is_process(pid, comm)
