"""Stopping the sandbox's processes: by pid, and nothing of theirs left running."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from provision.sandbox import processes

# A parent that ignores SIGTERM and starts a child, as systemd-nspawn does its container.
STUBBORN = """
import signal, subprocess, sys
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print(child.pid, flush=True)
sys.stdin.read()
"""

# A parent that stops on SIGTERM, its child left to its own shutdown.
OBEDIENT = STUBBORN.replace("signal.signal(signal.SIGTERM, signal.SIG_IGN)", "")


def start(script: str) -> tuple[subprocess.Popen, int]:
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    return parent, int(parent.stdout.readline())


def comm(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.index("(") + 1 : stat.rindex(")")]


def gone(pid: int, name: str) -> bool:
    deadline = time.monotonic() + 10
    while processes.is_process(pid, name):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_killed_parent_takes_its_children_with_it():
    parent, child = start(STUBBORN)
    name = comm(child)
    try:
        processes.stop_tree(parent.pid, comm(parent.pid), timeout=0.5)
        assert parent.poll() is not None
        assert gone(child, name)
    finally:
        parent.kill()
        parent.wait()


def test_a_parent_that_stops_cleanly_leaves_its_children_to_it():
    parent, child = start(OBEDIENT)
    name = comm(child)
    try:
        processes.stop_tree(parent.pid, comm(parent.pid), timeout=10)
        assert parent.poll() is not None
        assert processes.is_process(child, name)
    finally:
        parent.kill()
        parent.wait()
        processes.stop_process(child, name, timeout=0)


def test_stop_process_says_whether_it_had_to_kill():
    (stubborn, one), (obedient, other) = start(STUBBORN), start(OBEDIENT)
    name = comm(one)
    try:
        assert processes.stop_process(stubborn.pid, comm(stubborn.pid), timeout=0.3) is False
        assert processes.stop_process(obedient.pid, comm(obedient.pid), timeout=10) is True
        assert processes.stop_process(obedient.pid, comm(one), timeout=10) is True
    finally:
        for proc in (stubborn, obedient):
            proc.kill()
            proc.wait()
        for child in (one, other):
            processes.stop_process(child, name, timeout=0)
