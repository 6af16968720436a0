"""Run on the server: restart the app's processes onto the live release, then wait until
each has started.

    python3 -I restart.py SETTLE UNIT...

A unit whose file is gone is stopped instead. A process has started once it has done
its start-up work (some CPU, as a Python program's imports take) and then stayed quiet
(asleep, with next to no CPU: waiting for work) for QUIET seconds, or once it has
stayed up SETTLE seconds, whichever comes first. Until then each must stay active with
the process it started with; one that does not fails the step, with its log since the
restart. A process that fails at import or on its first connection does so during its
start-up work, before it is quiet.
"""

import os
import subprocess
import sys
import time

QUIET = 0.2  # seconds asleep, with next to no CPU, that count as waiting for work
WORK = 0.01  # seconds of CPU, at least, that a start-up takes (Python's alone: 10-30 ms)
IDLE = 0.005  # seconds of CPU, at most, in a quiet stretch
TICK = os.sysconf("SC_CLK_TCK")
CGROUPS = ("/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd")


def show(unit, *props):
    done = subprocess.run(["systemctl", "show", unit, *(f"-p{p}" for p in props)],
                          capture_output=True, text=True)  # fmt: skip
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


def procs_file(unit):
    """The file that lists the processes of ``unit`` (its cgroup's), or None."""
    group = show(unit, "ControlGroup").get("ControlGroup", "")
    for root in CGROUPS:
        if group and os.path.exists(f"{root}{group}/cgroup.procs"):
            return f"{root}{group}/cgroup.procs"
    return None


def members(path):
    """The pids of the unit's processes, or None once its cgroup is gone."""
    try:
        with open(path) as f:
            return f.read().split()
    except (OSError, TypeError):
        return None


def cpu(pids):
    """Seconds of CPU the processes ``pids`` used (schedstat's nanoseconds, else stat's
    clock ticks), and whether each is asleep waiting (state S: not running, nor blocked
    on the disk as an import from a cold cache can be)."""
    total, asleep = 0.0, bool(pids)
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()  # after the command's name
        except (OSError, IndexError):
            continue
        asleep = asleep and fields[0] == "S"
        try:
            with open(f"/proc/{pid}/schedstat") as f:
                total += int(f.read().split()[0]) / 1e9
        except (OSError, IndexError, ValueError):
            total += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    return total, asleep


def up_still(unit, pid, pids):
    """Whether ``unit`` still runs the process ``pid`` it started with: read from its
    cgroup while all looks well (no process started per look), asked of systemd when
    not."""
    if pids is not None and pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                    return True
        except (OSError, IndexError):
            pass
    return show(unit, "MainPID", "ActiveState") == {"MainPID": pid, "ActiveState": "active"}


def failed(unit, since):
    """The unit's journal since the restart, then the verdict: last, so that the error's
    tail of the output (a few lines) always names the unit, however long its journal."""
    state = show(unit, "ActiveState", "Result")
    subprocess.run(["journalctl", "-u", unit, "--since", f"@{int(since)}", "-n", "30",
                    "--no-pager", "-o", "cat"])  # fmt: skip
    print(f"{unit} did not stay up: Result={state.get('Result')} "
          f"ActiveState={state.get('ActiveState')}", flush=True)  # fmt: skip
    sys.exit(1)


def main():
    settle, units = float(sys.argv[1]), sys.argv[2:]
    since = time.time()
    kept = []
    for unit in units:
        if os.path.exists(f"/etc/systemd/system/{unit}"):
            kept.append(unit)
        else:
            subprocess.run(["systemctl", "stop", unit], stderr=subprocess.DEVNULL)
            print(f"{unit}: stopped (its unit file is gone)")
    if not kept:
        return
    subprocess.run(["systemctl", "restart", *kept])
    up = time.monotonic()
    pids = {unit: show(unit, "MainPID").get("MainPID", "0") for unit in kept}
    groups = {unit: procs_file(unit) for unit in kept}
    # The unit's processes are all new: the CPU they used is all their start-up work's.
    # (Counting it from a first look instead made a start-up that was done before that
    # look, a light one on a busy server, never count as started before SETTLE.)
    last = dict.fromkeys(kept, 0.0)  # the CPU used when it last grew by more than IDLE
    grew = dict.fromkeys(kept, up)  # and when
    started = {}
    while True:
        now = time.monotonic()
        for unit in kept:
            found = members(groups[unit])
            if pids[unit] in ("0", "") or not up_still(unit, pids[unit], found):
                failed(unit, since)
            used, asleep = cpu(found or [])
            if used - last[unit] > IDLE or not asleep:
                last[unit], grew[unit] = used, now
            if unit not in started and used >= WORK and now - grew[unit] >= QUIET:
                started[unit] = f"quiet after {now - up:.1f} s"
        if len(started) == len(kept):
            break
        if now - up >= settle:
            started = {unit: started.get(unit, f"up {settle:g} s") for unit in kept}
            break
        time.sleep(0.02)
    for unit in kept:  # systemd's own word, once, on each: still up with its first process
        if show(unit, "MainPID", "ActiveState") != {"MainPID": pids[unit], "ActiveState": "active"}:
            failed(unit, since)
    for unit in kept:
        print(f"{unit}: running, pid {pids[unit]}, {started[unit]}")


main()
