"""Time provision's commands on local test hosts, and the engine's own cost by simulation.

Run as root from the repository root:

    .venv/bin/python benchmarks/bench.py [--runs 3]       # one host (and one with PostgreSQL)
    .venv/bin/python benchmarks/bench.py --fleet          # 1, 2, 3 and 6 hosts at once
    .venv/bin/python benchmarks/bench.py --simulate 10 100 1000 [--rtt 0.02]

Boots fresh Debian 12 hosts with systemd-nspawn, as the tests do, and times each command
end to end as a user would see it (process start to exit, SSH connect included): a cold
bootstrap, no-op re-runs, a first deploy, code-only deploys, a deploy that adds a package,
rollbacks; and the cold run of an app with PostgreSQL and a worker. Prints Markdown
tables, each figure beside its goal, and always stops the hosts. ``--simulate`` records a
no-op bootstrap and a code-only deploy on one real host, then replays them to N scripted
hosts (see ``simulate.py``).
"""

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import hosts, simulate
from provision.sandbox import machines as sandbox
from tests.helpers import ROOT

KINDS = (("bootstrap", "no-op `fab bootstrap`"), ("deploy", "code-only `fab deploy`"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repeats of each timed step (median)")
    parser.add_argument("--fleet", action="store_true", help="1, 2, 3 and 6 hosts at once")
    parser.add_argument("--simulate", type=int, nargs="+", metavar="N", help="N scripted hosts")
    parser.add_argument("--rtt", type=float, default=0.02, help="simulated round trip, seconds")
    parser.add_argument("--at-once", type=int, default=0, help="hosts_at_once (default: its)")
    parser.add_argument("--simulate-one", nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args()
    # Time `fab` as people run it: with Python's bytecode cache (some CI images turn it off).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.simulate_one:
        kind, n, rtt, at_once, records, app, work = args.simulate_one
        figures = simulate.run(kind, int(n), float(rtt), int(at_once), Path(records), Path(app),
                               Path(work))  # fmt: skip
        print(json.dumps(figures))
        return
    work = hosts.workdir("bench")
    try:
        if args.simulate:
            simulated(args, work)
        elif args.fleet:
            fleet(args.runs, work)
        else:
            table(hosts.one_host(args.runs, work))
    finally:
        hosts.cleanup(work)


def table(rows):
    print("| what | seconds | goal |")
    print("|---|---|---|")
    for what, seconds, goal in rows:
        figure = f"{seconds:.2f}" if isinstance(seconds, float) else str(seconds)
        print(f"| {what} | {figure} | {f'at most {goal}' if goal else ''} |")


def fleet(runs, work):
    rows = hosts.fleet_rows(runs, work)
    print("| hosts | `fab bootstrap`, nothing to change | code-only `fab deploy` | "
          "`fab rollback` | `fab status` | `fab logs -n 100` |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for size, *seconds in rows:
        print(f"| {size} | " + " | ".join(f"{s:.2f}" for s in seconds) + " |")
    one, six = rows[0][2], rows[-1][2]
    print(f"\nA deploy to {rows[-1][0]} hosts took {six / one:.2f} times one host's "
          "(goal: at most 1.5).")  # fmt: skip


def simulated(args, work):
    from benchmarks.hosts import fresh_host, timed

    key = sandbox.keypair(work / "id_ed25519")
    app = work / "app"
    shutil.copytree(ROOT / "example-app", app)
    with fresh_host(work, key, "recorded") as (_boot, inv, line, _port):
        inv.write_text(f"hosts:\n{line}vars:\n  app_source: {app}\n")
        timed("-H", "recorded", "bootstrap", "--inventory", str(inv))
        timed("-H", "recorded", "deploy", "--inventory", str(inv))
        records = work / "records.json"
        records.write_text(json.dumps(simulate.record(inv, app)))
    at_once = args.at_once or simulate.DEFAULT_AT_ONCE
    trips = {k: len(v) for k, v in json.loads(records.read_text()).items()}
    print(f"Simulated: {args.rtt * 1000:g} ms a round trip, {at_once} hosts at once; a host's "
          f"no-op bootstrap is {trips['bootstrap']} round trips and its code-only deploy "
          f"{trips['deploy']}, plus {simulate.HANDSHAKE} for the connection.\n")  # fmt: skip
    print("| hosts | run | wall s | CPU s | peak MB | MB before |")
    print("|---|---|---|---|---|---|")
    for n in args.simulate:
        for kind, what in (
            ("bootstrap", "no-op `fab bootstrap`"),
            ("deploy", "code-only `fab deploy`"),
        ):
            f = simulate.figures(kind, n, args.rtt, at_once, records, app, work)
            print(f"| {n} | {what} | {f['wall']:.2f} | {f['cpu']:.2f} | {f['peak_mb']:.0f} "
                  f"| {f['before_mb']:.0f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
