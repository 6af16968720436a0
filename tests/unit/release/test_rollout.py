"""A deploy across several hosts against scripted sessions: stages, batches, stopping.

The project's own roles make the plan; each host is a scripted session with release
OLD live, and every command sent is also noted in one list across hosts, in order.
"""

import io

import pytest

from provision.core.output import Output
from provision.core.transport import ConnectError
from provision.project.engine_settings import batch_fault, batch_sizes
from provision.project.plays import Project
from provision.release import artifact, phases
from provision.release.deploy import DEPLOY, DeployOptions
from provision.release.flow import stages
from provision.release.rollout import Rollout
from tests.fakes import RELEASE_STATE, FakeSession, release_state
from tests.helpers import ROOT
from tests.unit.release.test_flow import GO_LIVE, HOST, OLD, STATE


@pytest.mark.parametrize(
    "total, spec, sizes",
    [
        (1, [1, "100%"], [1]),
        (3, [1, "100%"], [1, 2]),
        (3, [1], [1, 1, 1]),
        (10, [1, "30%"], [1, 3, 3, 3]),
        (10, ["25%"], [3, 3, 3, 1]),
        (100, [1, 5, "20%"], [1, 5, 20, 20, 20, 20, 14]),
        (2, [5], [2]),
    ],
)
def test_batch_sizes(total, spec, sizes):
    assert batch_sizes(total, spec) == sizes


@pytest.mark.parametrize(
    "spec, fault",
    [
        ([1, "100%"], ""),
        (["12.5%"], ""),
        ([], "expected a list of counts or percentages"),
        ([0], "0 hosts: a batch takes one host at least"),
        (["half"], "'half': a percentage is written like \"25%\""),
        (["150%"], "'150%': a percentage is written like \"25%\" (above 0, at most 100)"),
        ([True], "0: expected an integer or a string, got a boolean (a list of counts or"),
        ("all", "expected a list, got a string (a list of counts or percentages"),
    ],
)
def test_batch_fault(spec, fault):
    assert batch_fault(spec).startswith(fault) and bool(batch_fault(spec)) == bool(fault)


def test_the_deploy_flow_cuts_into_its_stages():
    cut = stages(DEPLOY, "before_check", "check", "switch", "clean")
    assert [[item.name for item in part] for part in cut] == [
        ["build", "lock", "converge", "compare", "upload", "install", "venv", "link"],
        ["before_check"],
        ["check", "before_switch"],
        ["switch", "reload", "after_switch", "verify", "with_verify", "after_verify"],
        ["clean"],
    ]


@pytest.fixture
def play(tmp_path, monkeypatch, no_index):
    ids = iter(range(100))  # a new id on every call: hosts must share one
    monkeypatch.setattr(artifact, "release_id",
                        lambda commit, dirty="": f"20260101-0000{next(ids):02}")  # fmt: skip
    inventory = tmp_path / "inventory.yaml"
    hosts = "".join(f"  web{i}: {{address: 10.0.0.{i}}}\n" for i in (1, 2, 3))
    inventory.write_text(f"hosts:\n{hosts}")
    return Project.load(ROOT, inventory).play("deploy")


def fleet(sent, *failing):
    """Three servers with OLD live; ``failing`` hosts' new release fails its verify."""

    def one(name):
        rules = [(":8000/health 2026", 1)] if name in failing else []
        s = FakeSession([*rules,
                         ("nproc", HOST),
                         ("/var/lib/provision/played/bootstrap", "file\nroot root 644\nx\n"),
                         (RELEASE_STATE, release_state(STATE)),
                         ("journalctl -u hello -n 0", GO_LIVE)], name=name)  # fmt: skip
        answer = s.answer
        s.answer = lambda command: (sent.append((name, command)), answer(command))[1]
        return s

    return [one(f"web{i}") for i in (1, 2, 3)]


def rollout(play, sessions, **settings):
    out = io.StringIO()
    options = DeployOptions(project_root=ROOT, overrides=settings)
    tallies = Rollout("deploy", sessions, play, options, Output(out)).run()
    return out.getvalue(), tallies


def when(sent, name, pattern):
    found = [i for i, (host, c) in enumerate(sent) if host == name and pattern in c]
    assert found, f"{name} never sent {pattern}"
    return found[0]


def test_every_host_is_prepared_before_the_canary_switches_then_the_rest(play):
    sent = []
    out, tallies = rollout(play, fleet(sent), app_release_command="alembic upgrade head")
    assert not any(t.failed for t in tallies.values()), out
    rids = {c.rsplit("/", 1)[1] for _, c in sent if "tar -xzf - -C /srv/hello/incoming/" in c}
    assert len(rids) == 1  # one release id across the fleet
    [rid] = rids
    switch = f"ln -sfn releases/{rid} /srv/hello/current.provision-new"
    checked = max(when(sent, h, ":8001/health") for h in ("web1", "web2", "web3"))
    assert checked < when(sent, "web1", switch) < when(sent, "web1", ":8000/health")
    assert when(sent, "web1", ":8000/health") < when(sent, "web2", switch)
    assert when(sent, "web1", ":8000/health") < when(sent, "web3", switch)
    # the release command: once, on the first, before any host is checked
    migrated = [h for h, c in sent if "alembic upgrade head" in c]
    assert migrated == ["web1"]
    assert when(sent, "web1", "alembic upgrade head") < min(
        when(sent, h, ":8001/health") for h in ("web1", "web2", "web3")
    )
    assert "-- batch 1 of 2: web1\n" in out and "-- batch 2 of 2: web2, web3\n" in out
    assert f"-- deploy: 3 app servers: web1, web2, web3 on {OLD}" in out  # the fake's state


def test_a_host_failing_its_gate_stops_the_rollout_and_the_switched_go_back(play):
    sent = []
    out, tallies = rollout(play, fleet(sent, "web2"), deploy_batch=[1])
    [rid] = {c.rsplit("/", 1)[1] for _, c in sent if "tar -xzf - -C /srv/hello/incoming/" in c}
    back = f"ln -sfn releases/{OLD} /srv/hello/current.provision-new"
    new = f"ln -sfn releases/{rid} /srv/hello/current.provision-new"
    # web2 failed in batch 2 and rolled itself back; then web1 went back too
    assert when(sent, "web2", new) < when(sent, "web2", back) < when(sent, "web1", back)
    assert when(sent, "web1", new) < when(sent, "web1", back)
    assert not [c for h, c in sent if h == "web3" and new in c]  # web3 never switched
    assert when(sent, "web3", f"touch /srv/hello/releases/{rid}/.provision-bad")
    assert "-- stopped before batch 3: web2 failed (deploy_max_fail: 0)\n" in out
    assert "[web3] changed   release: not switched" in out
    assert all(t.failed for t in tallies.values())
    assert not [c for _, c in sent if "rm -rf /srv/hello/venvs/.[!.]*" in c]  # no clean


@pytest.fixture
def history(monkeypatch):
    """{host's app root: [entry, ...]}: what each deploy noted in the deploy history."""
    notes = []
    record = phases.record

    def noting(layout, entry):
        # a release job's note of an interrupted run is written only when its operator
        # is gone, which a scripted session's job never sees
        if entry["result"] != "interrupted":
            notes.append(entry)
        return record(layout, entry)

    monkeypatch.setattr(phases, "record", noting)
    return notes


def test_each_host_notes_its_part_in_the_deploy_history(play, history):
    sent = []
    rollout(play, fleet(sent, "web2"), deploy_batch=[1])
    [rid] = {c.rsplit("/", 1)[1] for _, c in sent if "tar -xzf - -C /srv/hello/incoming/" in c}
    assert sorted((e["result"], e["release"], e["from"], e["action"]) for e in history) == [
        ("failed", rid, OLD, "deploy"), ("gone back", rid, OLD, "deploy"),
        ("not switched", rid, OLD, "deploy")]  # fmt: skip
    [failed] = [e for e in history if e["result"] == "failed"]
    assert failed["why"].startswith("verify: `wait until http://127.0.0.1:8000/health")
    assert len([c for _, c in sent if ">> /srv/hello/deploys.log" in c]) == 3
    history.clear()
    rollout(play, fleet(sent))
    assert {e["result"] for e in history} == {"ok"} and len(history) == 3


def test_below_max_fail_the_rollout_goes_on(play):
    sent = []
    out, tallies = rollout(play, fleet(sent, "web2"), deploy_batch=[1], deploy_max_fail=1)
    [rid] = {c.rsplit("/", 1)[1] for _, c in sent if "tar -xzf - -C /srv/hello/incoming/" in c}
    new = f"ln -sfn releases/{rid} /srv/hello/current.provision-new"
    assert when(sent, "web3", new)
    assert "stopped" not in out
    assert [n for n, t in tallies.items() if t.failed] == ["web2"]


def test_an_unreachable_host_stops_the_rollout_before_any_switch(play):
    sent = []
    sessions = fleet(sent)

    def refuse():
        raise ConnectError("web3: cannot connect to root@10.0.0.3:22: no route to host")

    sessions[2].open = refuse
    out, tallies = rollout(play, sessions)
    assert not [c for _, c in sent if "/srv/hello/current.provision-new" in c]
    assert "-- stopped before batch 1: web3 failed (deploy_max_fail: 0)" in out
    assert f"-- deploy stopped: web1, web2 on {OLD}; web3 on unknown (unreachable)" in out
    assert all(t.failed for t in tallies.values())


def test_up_to_max_fail_the_others_go_on_without_an_unreachable_host(play):
    sent = []
    sessions = fleet(sent)
    sessions[2].open = lambda: (_ for _ in ()).throw(ConnectError("web3: no route to host"))
    out, tallies = rollout(play, sessions, deploy_max_fail=1)
    assert [n for n, t in tallies.items() if t.failed] == ["web3"]
    assert {h for h, c in sent if "/srv/hello/current.provision-new" in c} == {"web1", "web2"}
    assert "-- deploy: 3 app servers: web1, web2 on" in out


def test_a_host_lost_mid_run_is_reported_once_and_the_others_go_on(play):
    sent = []
    sessions = fleet(sent)
    lost = sessions[2]
    run = lost.run_as_root

    def gone(text, stdin=None):
        if "current.provision-new" in text or lost.commands[-1:] == ["gone"]:
            lost.commands.append("gone")
            raise ConnectError("web3: the SSH connection was lost")
        return run(text, stdin)

    start = lost.start_as_root

    def gone_at_switch(text):  # the release job starts the switch
        if "systemd-run" not in text:
            return start(text)
        lost.commands.append("gone")
        raise ConnectError("web3: the SSH connection was lost")

    lost.run_as_root = gone
    lost.start_as_root = gone_at_switch
    out, tallies = rollout(play, sessions, deploy_batch=[1], deploy_max_fail=1)
    assert out.count("[web3] error:") == 1, out
    assert [n for n, t in tallies.items() if t.failed] == ["web3"]
    assert tallies["web3"].failed == 1
    assert "-- deploy: 3 app servers: web1, web2 on " in out
    assert "web3 on unknown (unreachable)" in out
