"""The sandbox's processes: stopped by their pid, never by name, and reaped.

A pid is checked against the process's name before any signal, so that a pid reused by
another process is never signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from provision.core.errors import ProvisionError


class SandboxError(ProvisionError):
    pass


def tool(*args: str, check: bool = True) -> str:
    """What the command ``args`` printed; ``SandboxError`` with its message if it failed
    (unless not ``check``)."""
    done = subprocess.run(list(args), capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SandboxError(f"{' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def stop(pid: int, timeout: float = 30) -> None:
    """Halt the host of this systemd-nspawn pid (SIGTERM: a clean shutdown)."""
    stop_tree(pid, "systemd-nspawn", timeout)


def stop_tree(pid: int, comm: str, timeout: float = 30) -> None:
    """Stop ``comm`` at ``pid``; if it has to be killed, kill its children too.

    systemd-nspawn killed by SIGKILL leaves its container's init running, with its veth;
    so the children are noted before the first signal and killed after nspawn is.
    """
    kin = children(pid)
    if stop_process(pid, comm, timeout):
        return
    for child, started in kin:
        if _started(child) == started:
            os.kill(child, signal.SIGKILL)


def is_running(pid: int) -> bool:
    """A live systemd-nspawn at this pid (a zombie, or a reused pid, is not)."""
    return is_process(pid, "systemd-nspawn")


def stop_process(pid: int, comm: str, timeout: float = 30) -> bool:
    """Stop the process ``comm`` at ``pid`` (SIGTERM, then SIGKILL after ``timeout``).

    True when it stopped on SIGTERM (or was not running), False when it had to be killed.
    """
    if not is_process(pid, comm):
        return True
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _reap(pid, comm):
            return True
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    while not _reap(pid, comm):
        time.sleep(0.1)
    return False


def is_process(pid: int, comm: str) -> bool:
    """A live process named ``comm`` at this pid (a zombie, or a reused pid, is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    name, state = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2]
    return name == comm and state != "Z"


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the name: state, ppid, ..."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def _started(pid: int) -> str | None:
    """When the process at ``pid`` started (in clock ticks since boot): tells reused pids."""
    fields = _stat(pid)
    return fields[19] if fields else None


def children(pid: int) -> list[tuple[int, str]]:
    """The children of ``pid``, each with its start time."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields and fields[1] == str(pid):
                found.append((int(entry.name), fields[19]))
    return found


def _reap(pid: int, comm: str) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return True
    except ChildProcessError:
        pass
    return not is_process(pid, comm)
