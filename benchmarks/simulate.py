"""The engine's own cost toward hundreds of hosts: the real engine (inventory, facts,
operations, runner, rollout) against scripted sessions that answer as a real host did.

One real test host is set up and a no-op bootstrap and a code-only deploy are recorded
on it, every round trip in order (``Recording``). Then, in a fresh process for each
figure, N hosts of an inventory each get a ``Replay`` of that record: every round trip
waits ``rtt`` seconds (the network) and answers what the real host answered. Nothing is
sent anywhere. An SSH connection costs three round trips (TCP, key exchange, auth) and
none of the handshake's CPU: see the README for what a real one adds.
"""

import io
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

from provision.core.output import Output, Tally
from provision.core.runner import FACT
from provision.core.transport import Result, Session
from provision.project import engine_settings
from provision.project.apply import Host, attempt, converge, for_each_host
from provision.project.plays import Options, Project
from provision.release.deploy import DeployOptions
from provision.release.rollout import Rollout
from tests.fakes import FakeChannel
from tests.helpers import ROOT

TOKEN = re.compile(rf"{FACT}-\w+")
HANDSHAKE = 3  # round trips of an SSH connection: TCP, key exchange, authentication
DEFAULT_AT_ONCE = engine_settings.DEFAULTS["hosts_at_once"]


class Recording(Session):
    """A real session that notes every round trip: what it answered, in order."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.record = []

    def run_as_root(self, text, stdin=None):
        result = super().run_as_root(text, stdin)
        self.record.append(["run", text, result.rc, result.stdout, result.stderr])
        return result

    def start_as_root(self, text):
        lines = []
        self.record.append(["start", text, lines])
        return Tee(super().start_as_root(text), lines)


class Tee:
    """A channel whose output lines are noted as they are read."""

    def __init__(self, chan, lines):
        self.chan, self.lines = chan, lines

    def makefile(self, mode):
        return TeeFile(self.chan.makefile(mode), self.lines)

    def __getattr__(self, name):
        return getattr(self.chan, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.chan.close()


class TeeFile:
    def __init__(self, f, lines):
        self.f, self.lines = f, lines

    def readline(self):
        line = self.f.readline()
        self.lines.append(line)
        return line

    def __iter__(self):
        return iter(self.readline, "")


class Replay:
    """A scripted session: each round trip waits ``rtt`` and answers as the record says,
    in order; a reading of facts the record has elsewhere (a deploy to several hosts
    reads each one's release once more, for its summary) is answered as it was there."""

    def __init__(self, target, record, rtt):
        self.target, self.record, self.rtt = target, list(record), rtt
        self.round_trips = 0
        self.readings = {
            TOKEN.sub("", e[1]): e for e in record if e[0] == "run" and e[1].startswith("echo @@")
        }

    def open(self):
        time.sleep(HANDSHAKE * self.rtt)

    def close(self):
        pass

    def _next(self, kind, text):
        time.sleep(self.rtt)
        self.round_trips += 1
        if not self.record or self.record[0][0] != kind:
            raise RuntimeError(f"{self.target.name}: not in the record: {text[:80]!r}")
        return self.record.pop(0)

    def run_as_root(self, text, stdin=None):
        key = TOKEN.sub("", text)
        if key in self.readings and (not self.record or TOKEN.sub("", self.record[0][1]) != key):
            time.sleep(self.rtt)
            self.round_trips += 1
            _, recorded, rc, stdout, stderr = self.readings[key]
        else:
            _, recorded, rc, stdout, stderr = self._next("run", text)
        was, now = TOKEN.search(recorded), TOKEN.search(text)
        if was and now:  # each reading of facts has a token of its own
            stdout = stdout.replace(was[0], now[0])
        return Result(rc, stdout, stderr)

    def start_as_root(self, text):
        return FakeChannel("".join(self._next("start", text)[2]))


def record(inventory, app):
    """The round trips of a no-op bootstrap and of a code-only deploy of ``app`` on the
    one host of ``inventory``: {"bootstrap": [...], "deploy": [...]}."""
    project = Project.load(ROOT, inventory)
    [target] = project.targets("recorded")
    out = Output(io.StringIO())
    play = project.play("bootstrap")
    with Recording(target) as session:
        tally = Tally()
        converge(Host.connect(session, play, {}), play, Options(), out, tally, record=True)
        noop = session.record
    assert tally.changed == 0 and not tally.failed, tally.errors
    with open(app / "main.py", "a") as f:
        f.write("# a change, recorded\n")
    session = Recording(target)
    options = DeployOptions(project_root=ROOT, overrides={"app_source": str(app)})
    try:
        [tally] = Rollout("deploy", [session], project.play("deploy"), options, out).run().values()
    finally:
        session.close()
    assert tally.changed and not tally.failed, tally.errors
    return {"bootstrap": noop, "deploy": session.record}


def inventory_of(n, path):
    """An inventory of ``n`` hosts (never reached: their sessions are replays)."""
    names = [f"h{i:04}" for i in range(n)]
    hosts = "".join(f"  {name}: {{address: 127.1.{i // 250}.{i % 250 + 1}}}\n"
                    for i, name in enumerate(names))  # fmt: skip
    path.write_text(f"hosts:\n{hosts}groups:\n  every: {{hosts: [{', '.join(names)}]}}\n")
    return path


def run(kind, n, rtt, at_once, records, app, work):
    """One figure, in this process: wall and CPU seconds, peak memory (MB), and the
    memory before the run."""
    recorded = json.loads(records.read_text())[kind]
    inventory = inventory_of(n, work / f"hosts-{n}.yaml")
    before = peak_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    project = Project.load(ROOT, inventory)
    targets = project.targets("every")
    out = Output(io.StringIO())
    settings = {"hosts_at_once": at_once}
    if kind == "bootstrap":
        play = project.ready("bootstrap", targets, settings)

        def one(target):
            tally, session = Tally(), Replay(target, recorded, rtt)

            def work():
                session.open()
                host = Host.connect(session, play, settings)
                converge(host, play, Options(overrides=settings), out, tally, record=True)

            attempt(target.name, out, tally, work)
            return tally

        tallies = for_each_host(targets, one, out, overrides=settings)
        assert all(t.changed == 0 for t in tallies.values()), out.stream.getvalue()[-2000:]
    else:
        with open(app / "main.py", "a") as f:
            f.write(f"# a change, simulated on {n}\n")
        overrides = {**settings, "app_source": str(app)}
        play = project.ready("deploy", targets, overrides)
        sessions = [Replay(t, recorded, rtt) for t in targets]
        options = DeployOptions(project_root=ROOT, overrides=overrides)
        tallies = Rollout("deploy", sessions, play, options, out).run()
    failed = [t.errors for t in tallies.values() if t.failed]
    assert not failed, failed[0]
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
            "peak_mb": peak_mb(), "before_mb": before}  # fmt: skip


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def figures(kind, n, rtt, at_once, records, app, work):
    """``run`` in a fresh process, so that each figure's peak memory is its own."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "bench.py"), "--simulate-one", kind, str(n),
         str(rtt), str(at_once), str(records), str(app), str(work)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"--simulate {kind} {n} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
