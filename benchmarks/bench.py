"""Time `fab bootstrap`, `fab deploy` and `fab rollback` on a local test host.

Run as root from the repository root:  .venv/bin/python benchmarks/bench.py [--runs 5]
With --fleet: the same commands on 1, 3 and 6 hosts at once, on a private network, and
`fab status` and `fab logs -n 100` there too.

Boots a fresh Debian 12 host with systemd-nspawn (as the tests do), times each command
end to end as a user would see it (process start to exit, SSH connect included): a cold
bootstrap, no-op re-runs, a first deploy, code-only deploys of a copy of the example
app, and rollbacks. Prints a Markdown table, and always stops the host.
"""

import argparse
import io
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from provision.core.output import Output
from provision.project.apply import apply_one
from provision.project.plays import Options, Project
from provision.sandbox import fleet, network
from provision.sandbox import machines as sandbox
from tests.helpers import ROOT, fab, free_port, recap

# Each deploy and rollback is timed from a settled server, as real ones are: the workers
# a reload replaced have drained and exited (kept as before, so figures compare).
SETTLE = 2.0


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


def code_only(folder, runs, *args):
    """Seconds of ``runs`` deploys, each after a one-line change to main.py in ``folder``."""
    took = []
    for i in range(runs):
        with open(folder / "main.py", "a") as f:
            f.write(f"# code-only change {i}\n")
        took.append(settled(*args)[0])
    return took


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="no-op re-runs to time (median)")
    parser.add_argument("--fleet", action="store_true", help="1, 3 and 6 hosts at once")
    args = parser.parse_args()
    runs = args.runs
    # Time `fab` as people run it: with Python's bytecode cache (some CI images turn it off).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

    if args.fleet:
        return fleet_figures(runs)
    work = sandbox.CACHE / "bench" / str(os.getpid())
    work.mkdir(parents=True)
    machine = None
    try:
        key = sandbox.keypair(work / "id_ed25519")
        start = time.perf_counter()
        machine = sandbox.boot("bench", sandbox.base_rootfs(), work, key, port=free_port())
        boot = time.perf_counter() - start
        inv = work / "inventory.yaml"
        inv.write_text(
            f"hosts:\n  bench: {{address: 127.0.0.1, port: {machine.port}, key: {key}}}\n"
        )
        base = ("-H", "bench", "bootstrap", "--inventory", str(inv))
        cold, cold_recap = timed(*base)
        noop = [timed(*base) for _ in range(runs)]
        check = [timed(*base, "--check") for _ in range(runs)]
        project = Project.load(ROOT, inv)
        play = project.play("bootstrap")
        target = project.targets("bench")[0]
        engine = []
        for _ in range(runs):
            start = time.perf_counter()
            tally = apply_one(play, target, Options(), Output(io.StringIO()))
            engine.append(time.perf_counter() - start)

        print("| what | seconds | recap |")
        print("|---|---|---|")
        print(f"| boot a test host (systemd-nspawn, until SSH answers) | {boot:.2f} | |")
        print(f"| `fab bootstrap`, fresh host (apt install included) | {cold:.2f} | "
              f"changed={cold_recap['bench']['changed']} |")  # fmt: skip
        med = statistics.median(t for t, _ in noop)
        print(f"| `fab bootstrap`, nothing to change (median of {runs}) | {med:.2f} | "
              f"changed={noop[-1][1]['bench']['changed']} |")  # fmt: skip
        med = statistics.median(t for t, _ in check)
        print(f"| `fab bootstrap --check`, nothing to change (median of {runs}) | {med:.2f} | |")
        med = statistics.median(engine)
        print(f"| the engine alone, in-process, nothing to change (median of {runs}) | {med:.2f} | "
              f"changed={tally.changed} |")  # fmt: skip
        app = work / "app"
        shutil.copytree(ROOT / "example-app", app)
        source = ("--set", f"app_source={app}")
        first, _ = timed("-H", "bench", "deploy", "--inventory", str(inv), *source)
        deploys = code_only(app, runs, "-H", "bench", "deploy", "--inventory", str(inv), *source)
        rollbacks = [settled("-H", "bench", "rollback", "--inventory", str(inv))[0]
                     for _ in range(runs - 1)]  # fmt: skip
        # The same with a release command that does nothing: what the hook step costs.
        with_command = [*source, "--set", "app_release_command=/bin/true"]
        commanded = code_only(app, runs, "-H", "bench", "deploy", "--inventory", str(inv),
                              *with_command)  # fmt: skip
        # An app whose dependencies come from a uv.lock, in a src/ layout.
        locked = work / "locked"
        shutil.copytree(ROOT / "tests" / "apps" / "src-uv", locked)
        lock_args = ("-H", "bench", "deploy", "--inventory", str(inv), "--set",
                     f"app_source={locked}", "--set", "app_module=shop.main:app")  # fmt: skip
        settled(*lock_args)
        from_lock = code_only(locked / "src" / "shop", runs, *lock_args)
        print(f"| `fab deploy`, first release (wheels uploaded, venv built) | {first:.2f} | |")
        print(f"| `fab deploy`, code-only release (median of {runs}) | "
              f"{statistics.median(deploys):.2f} | |")  # fmt: skip
        print(f"| `fab deploy`, code-only release with a release command (`/bin/true`) (median of "
              f"{runs}) | {statistics.median(commanded):.2f} | |")  # fmt: skip
        print(f"| `fab deploy`, code-only release of an app pinned by uv.lock (median of {runs}) "
              f"| {statistics.median(from_lock):.2f} | |")  # fmt: skip
        print(f"| `fab rollback` (median of {runs - 1}) | {statistics.median(rollbacks):.2f} | |")
        print(f"\nSSH round trips of a run with nothing to change: {tally.round_trips}")
    finally:
        if machine is not None:
            machine.stop()
        shutil.rmtree(work, ignore_errors=True)
        if not any(work.parent.iterdir()):
            work.parent.rmdir()


def fleet_figures(runs, sizes=(1, 3, 6)):
    """No-op bootstrap, code-only deploy and rollback, each on 1, 3 and 6 hosts at once."""
    work = sandbox.CACHE / "bench" / f"fleet-{os.getpid()}"
    work.mkdir(parents=True)
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
        print("| hosts | `fab bootstrap`, nothing to change | code-only `fab deploy` | "
              "`fab rollback` | `fab status` | `fab logs -n 100` |")  # fmt: skip
        print("|---|---|---|---|---|---|")
        for size in sizes:
            group = ("-H", f"g{size}")
            noop = [timed(*group, "bootstrap", "--inventory", str(inv))[0] for _ in range(runs)]
            deploys = code_only(app, runs, *group, "deploy", "--inventory", str(inv), *source)
            rollbacks = [settled(*group, "rollback", "--inventory", str(inv))[0]
                         for _ in range(runs - 1)]  # fmt: skip
            status = [timed(*group, "status", "--inventory", str(inv))[0] for _ in range(runs)]
            logs = [timed(*group, "logs", "-n", "100", "--inventory", str(inv))[0]
                    for _ in range(runs)]  # fmt: skip
            print(f"| {size} | {statistics.median(noop):.2f} | {statistics.median(deploys):.2f} "
                  f"| {statistics.median(rollbacks):.2f} | {statistics.median(status):.2f} "
                  f"| {statistics.median(logs):.2f} |")  # fmt: skip
    finally:
        for machine in machines:
            machine.stop()
        net.remove()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
