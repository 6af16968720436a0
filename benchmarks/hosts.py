"""The figures measured on real test hosts (systemd-nspawn, as the tests boot them), each
command timed end to end as a user sees it: process start to exit, SSH connect included.
"""

import io
import os
import shutil
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from provision.core.output import Output
from provision.project.apply import apply_one
from provision.project.plays import Options, Project
from provision.sandbox import fleet, network
from provision.sandbox import machines as sandbox
from tests.helpers import ROOT, fab, free_port, recap

# Each deploy and rollback is timed from a settled server, as real ones are: the workers
# a reload replaced have drained and exited (kept as before, so figures compare).
SETTLE = 2.0
# A worker as most are: it imports the app, then waits for work.
WORKER = "python -c 'import main, time; time.sleep(10**9)'"
DB_WORKER = "python -c 'import app.main, time; time.sleep(10**9)'"
# Packages a deploy adds, one per run: small, and none of them the example app's already.
ADDED = ["humanize", "six", "tomli", "colorama", "attrs", "wrapt", "decorator", "toolz"]


def settled(*args):
    time.sleep(SETTLE)
    return timed(*args)


def timed(*args):
    start = time.perf_counter()
    done = fab(*args)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"fab {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return elapsed, recap(done.stdout)


def median(times):
    return statistics.median(times)


def code_only(folder, runs, *args, file="main.py"):
    """Seconds of ``runs`` deploys, each after a one-line change to ``file`` in ``folder``."""
    took = []
    for i in range(runs):
        with open(folder / file, "a") as f:
            f.write(f"# code-only change {i}\n")
        took.append(settled(*args)[0])
    return took


@contextmanager
def fresh_host(work, key, name):
    """A freshly booted host: its boot time, an inventory file to name it in, the host's
    line for that file, and its SSH port."""
    start = time.perf_counter()
    machine = sandbox.boot(name, sandbox.base_rootfs(), work, key, port=free_port())
    try:
        boot = time.perf_counter() - start
        inventory = work / f"{name}.yaml"
        line = f"  {name}: {{address: 127.0.0.1, port: {machine.port}, key: {key}}}\n"
        yield boot, inventory, line, machine.port
    finally:
        machine.stop()


def references(key, port, runs):
    """Rows that say how fast the machine is at the time of a run (it drifts over a day):
    the two costs every command has before its own work."""
    ssh = ["ssh", "-q", "-i", str(key), "-p", str(port), "-o", "BatchMode=yes",
           "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
           "root@127.0.0.1", "true"]  # fmt: skip
    bare = [_seconds(ssh) for _ in range(max(5, runs))]
    listed = [_seconds([sys.executable, "-m", "fabric", "--list"]) for _ in range(max(5, runs))]
    return [
        ("for reference: OpenSSH's own `ssh HOST true` (connect, log in, run nothing; median "
         f"of {len(bare)})", median(bare), ""),
        (f"for reference: `fab --list` (Python started, Fabric and provision's tasks imported; "
         f"median of {len(listed)})", median(listed), ""),
    ]  # fmt: skip


def _seconds(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, timeout=60)
    return time.perf_counter() - start


def one_host(runs, work):
    """Every figure of one host: rows of (what, seconds, goal)."""
    key = sandbox.keypair(work / "id_ed25519")
    rows = []
    with fresh_host(work, key, "bench") as (boot, inv, line, port):
        # each rollback goes one release further back: keep enough for every run
        inv.write_text(f"hosts:\n{line}vars:\n  app_keep_releases: {max(5, runs + 2)}\n")
        rows.append(("boot a test host (systemd-nspawn, until SSH answers)", boot, ""))
        rows += references(key, port, runs)
        base = ("-H", "bench", "bootstrap", "--inventory", str(inv))
        cold, cold_recap = timed(*base)
        rows.append((f"`fab bootstrap`, fresh host (changed={cold_recap['bench']['changed']})",
                     cold, ""))  # fmt: skip
        rows.append((f"`fab bootstrap`, nothing to change (median of {runs})",
                     median([timed(*base)[0] for _ in range(runs)]), "0.5"))  # fmt: skip
        rows.append((f"`fab bootstrap --check`, nothing to change (median of {runs})",
                     median([timed(*base, "--check")[0] for _ in range(runs)]), ""))  # fmt: skip
        project = Project.load(ROOT, inv)
        play, target = project.play("bootstrap"), project.targets("bench")[0]
        engine = []
        for _ in range(runs):
            start = time.perf_counter()
            tally = apply_one(play, target, Options(), Output(io.StringIO()))
            engine.append(time.perf_counter() - start)
        rows.append((f"the engine alone, in process, nothing to change (median of {runs})",
                     median(engine), ""))  # fmt: skip
        app = work / "app"
        shutil.copytree(ROOT / "example-app", app)
        deploy = ("-H", "bench", "deploy", "--inventory", str(inv), "--set", f"app_source={app}")
        first = timed(*deploy)[0]
        rows.append(("`fab deploy`, first release (wheels uploaded, uv too, venv built)", first,
                     ""))  # fmt: skip
        rows.append(("**cold: bootstrap and first deploy of a fresh host**", cold + first, "10"))
        rows.append((f"`fab deploy`, code-only release (median of {runs})",
                     median(code_only(app, runs, *deploy)), "1.0"))  # fmt: skip
        command = (*deploy, "--set", "app_release_command=/bin/true")
        rows.append((f"`fab deploy`, code-only, with a release command (median of {runs})",
                     median(code_only(app, runs, *command)), ""))  # fmt: skip
        rows.append((f"`fab rollback` (median of {runs})",
                     median([settled("-H", "bench", "rollback", "--inventory", str(inv))[0]
                             for _ in range(runs)]), "0.5"))  # fmt: skip
        rows.append((f"`fab deploy`, one package added to requirements.txt (median of {runs})",
                     median(added(app, runs, deploy)), "4"))  # fmt: skip
        with_worker = work / "worker.yaml"
        with_worker.write_text(f"hosts:\n{line}vars:\n  app_processes:\n"
                               f"    worker: {WORKER!r}\n")  # fmt: skip
        worker = ("-H", "bench", "deploy", "--inventory", str(with_worker),
                  "--set", f"app_source={app}")  # fmt: skip
        settled(*worker)
        rows.append((f"`fab deploy`, code-only, with a worker (median of {runs})",
                     median(code_only(app, runs, *worker)), "1.5"))  # fmt: skip
        locked = work / "locked"
        shutil.copytree(ROOT / "tests" / "apps" / "src-uv", locked)
        lock = ("-H", "bench", "deploy", "--inventory", str(inv), "--set",
                f"app_source={locked}", "--set", "app_module=shop.main:app")  # fmt: skip
        settled(*lock)
        rows.append((f"`fab deploy`, code-only, an app pinned by uv.lock (median of {runs})",
                     median(code_only(locked / "src" / "shop", runs, *lock)), ""))  # fmt: skip
        rows.append(("SSH round trips of a run with nothing to change", tally.round_trips, ""))
    rows += with_postgres(work, key)
    return rows


def added(app, runs, deploy):
    """Seconds of deploys that each add one package, resolved against the index (the
    comment makes the requirements new to the cache of resolutions)."""
    requirements = app / "requirements.txt"
    before = requirements.read_text()
    took = []
    for package in ADDED[:runs]:
        requirements.write_text(f"{before}{package}\n# added by bench {os.getpid()}\n")
        took.append(settled(*deploy)[0])
    requirements.write_text(before)
    return took


def with_postgres(work, key):
    """A fresh host's bootstrap and first deploy of the app with PostgreSQL, its
    migrations and a worker."""
    with fresh_host(work, key, "benchdb") as (_boot, inv, line, _port):
        app = work / "db-app"
        shutil.copytree(ROOT / "example-db-app", app)
        inv.write_text(
            f"hosts:\n{line}vars:\n  app_source: {app}\n  app_module: app.main:app\n"
            "  app_release_command: alembic upgrade head\n  postgres_enabled: true\n"
            f"  app_processes:\n    worker: {DB_WORKER!r}\n"
        )
        bootstrap = timed("-H", "benchdb", "bootstrap", "--inventory", str(inv))[0]
        first = timed("-H", "benchdb", "deploy", "--inventory", str(inv))[0]
    return [
        ("`fab bootstrap`, fresh host, with PostgreSQL", bootstrap, ""),
        ("`fab deploy`, first release of example-db-app (migrations, a worker)", first, ""),
        ("**cold with PostgreSQL and a worker**", bootstrap + first, "20"),
    ]


def fleet_rows(runs, work, sizes=(1, 2, 3, 6)):
    """No-op bootstrap, code-only deploy and rollback, on 1, 2, 3 and 6 hosts at once: rows
    of (hosts, seconds of each)."""
    net = network.Network.create(f"provbench{os.getpid() % 10**5}", None,
                                 sandbox.CACHE / "apt-cacher-ng", work / "network")  # fmt: skip
    machines = []
    try:
        key = sandbox.keypair(work / "id_ed25519")
        names = [f"bench{n + 1}" for n in range(max(sizes))]
        machines = fleet.boot_on(net, names, sandbox.base_rootfs(), work, key)
        inv = work / "inventory.yaml"
        hosts = "".join(f"  {m.name}: {{address: {m.address}, key: {key}}}\n" for m in machines)
        groups = "".join(f"  g{size}: {{hosts: [{', '.join(m.name for m in machines[:size])}]}}\n"
                         for size in sizes)  # fmt: skip
        inv.write_text(f"hosts:\n{hosts}groups:\n{groups}")
        every = ("-H", f"g{max(sizes)}", "--inventory", str(inv))
        timed(*every[:2], "bootstrap", *every[2:])
        app = work / "app"
        shutil.copytree(ROOT / "example-app", app)
        source = ("--set", f"app_source={app}")
        timed(*every[:2], "deploy", *every[2:], *source)
        rows = []
        for size in sizes:
            group = ("-H", f"g{size}")
            noop = [timed(*group, "bootstrap", "--inventory", str(inv))[0] for _ in range(runs)]
            deploys = code_only(app, runs, *group, "deploy", "--inventory", str(inv), *source)
            rollbacks = [settled(*group, "rollback", "--inventory", str(inv))[0]
                         for _ in range(runs - 1)]  # fmt: skip
            status = [timed(*group, "status", "--inventory", str(inv))[0] for _ in range(runs)]
            logs = [timed(*group, "logs", "-n", "100", "--inventory", str(inv))[0]
                    for _ in range(runs)]  # fmt: skip
            rows.append((size, *(median(t) for t in (noop, deploys, rollbacks, status, logs))))
        return rows
    finally:
        for machine in machines:
            machine.stop()
        net.remove()


def workdir(name):
    work = sandbox.CACHE / "bench" / f"{name}-{os.getpid()}"
    work.mkdir(parents=True)
    return work


def cleanup(work: Path):
    shutil.rmtree(work, ignore_errors=True)
    if work.parent.exists() and not any(work.parent.iterdir()):
        work.parent.rmdir()
