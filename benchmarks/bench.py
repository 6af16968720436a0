"""Time `fab bootstrap` on a local test host: a cold run, then re-runs with nothing to do.

Run as root from the repository root:  .venv/bin/python benchmarks/bench.py [--runs 5]

Boots a fresh Debian 12 host with systemd-nspawn (as the tests do), times each command
end to end as a user would see it (process start to exit, SSH connect included), prints
a Markdown table, and always stops the host.
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

from provision import sandbox
from provision.engine import Options, Project, apply_one
from provision.output import Output
from tests.helpers import ROOT, fab, free_port, recap


def timed(*args):
    start = time.perf_counter()
    done = fab(*args)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"fab {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return elapsed, recap(done.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="no-op re-runs to time (median)")
    runs = parser.parse_args().runs

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
        roles = project.pick(["base", "app", "ssh"])
        target = project.targets("bench")[0]
        engine = []
        for _ in range(runs):
            start = time.perf_counter()
            tally = apply_one(roles, target, Options(), Output(io.StringIO()))
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
        print(f"\nSSH round trips of a run with nothing to change: {tally.round_trips}")
    finally:
        if machine is not None:
            machine.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
