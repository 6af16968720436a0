"""The deploy and rollback flows against a scripted session: what is sent, in what order.

The project's own roles make the plan, with the test role ``hooklog`` adding a step at
every hook point. Wheels are not fetched (the build is given its pins); nothing else is
stood in for but the server, which answers as the scripted session says.
"""

import io
import shlex

import pytest

from provision.core.output import Output
from provision.core.transport import Result
from provision.project.plays import Project
from provision.release import artifact, wheels
from provision.release.deploy import DeployOptions
from provision.release.plan import HOOK_POINTS
from provision.release.rollout import Rollout
from tests.fakes import RELEASE_STATE, FakeSession, release_state
from tests.helpers import ROOT

OLD = "20200101-000000"
HOST = "2\n2048\ndebian\n12\nbookworm\nx86_64\nweb1\n3.11\n2.36\n"
STATE = f"current {OLD}\ncontent c0\nrelease {OLD} 0 0 0 v0\nvenv v0\n"
GO_LIVE = "mark s=cursor\ndid systemctl kill -s HUP --kill-whom=main hello\npid 4242\n"


@pytest.fixture
def play(tmp_path, no_index):
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("hosts:\n  web1: {address: 127.0.0.1}\n")
    project = Project.load(ROOT, inventory, extra=[ROOT / "tests" / "roles"])
    deploy = project.play("deploy")
    for roles in deploy.kinds.values():
        roles.append(project.roles["hooklog"])
    return deploy


def session(*rules):
    """A bootstrapped server with release OLD live, answering as ``rules`` say first."""
    return FakeSession([
        *rules,
        ("nproc", HOST),
        ("/var/lib/provision/played/bootstrap", "file\nroot root 644\nx\n"),
        (RELEASE_STATE, release_state(STATE)),
        ("journalctl -u hello -n 0", GO_LIVE),
    ])  # fmt: skip


def run(action, play, s, **options):
    """``action`` on the one host of ``s``, as `fab deploy` runs it: a rollout of one host.
    What it printed, and its error (None when it succeeded)."""
    out = io.StringIO()
    opts = DeployOptions(project_root=ROOT, **options)
    [tally] = Rollout(action, [s], play, opts, Output(out)).run().values()
    return out.getvalue(), tally.errors[0] if tally.errors else None


def first(s, pattern):
    """Where the first command containing ``pattern`` was sent."""
    found = [i for i, c in enumerate(s.commands) if pattern in c]
    assert found, f"never sent: {pattern}"
    return found[0]


def test_deploy_runs_its_phases_and_hooks_in_order(play):
    s = session()
    out, error = run("deploy", play, s)
    assert error is None, out
    [upload] = s.sent("tar -xzf - -C /srv/hello/incoming/")
    rid = upload.rsplit("/", 1)[1]
    order = [
        first(s, "tar -xzf"),  # upload
        first(s, f"mv -T /srv/hello/incoming/{rid}/release"),  # install
        first(s, f"{wheels.UV_PATH} pip install"),  # venv
        first(s, f"touch /srv/hello/releases/{rid}/.provision-complete"),  # link
        first(s, "before_check"),
        first(s, "http://127.0.0.1:8001/health"),  # check
        first(s, "before_switch"),
        first(s, f"ln -sfn releases/{rid} /srv/hello/current.provision-new"),  # switch
        first(s, "journalctl -u hello -n 0"),  # reload
        first(s, "after_switch"),
        first(s, "with_verify"),  # started beside the verify, before it
        first(s, "http://127.0.0.1:8000/health"),  # verify
        first(s, "after_verify"),
        first(s, "rm -rf /srv/hello/venvs/.[!.]*"),  # clean
    ]
    assert order == sorted(order)
    hooks = [c for c in s.commands if "/var/log/provision-hooklog" in c]
    assert [next(p for p in HOOK_POINTS if p in h) for h in hooks] == [
        "before_check", "before_switch", "after_switch", "with_verify", "after_verify"
    ]  # fmt: skip
    assert all(f"{rid} {OLD}" in h for h in hooks)
    # the verify gives up if the serving process exits: the one the reload named
    [reload] = s.sent("journalctl -u hello -n 0")
    assert "pid=$(printf '%s\\n' \"$said\" | sed -n 's/^pid //p')" in reload
    [verify] = s.sent(f"http://127.0.0.1:8000/health {rid}")
    assert verify.endswith(' "$pid"')
    lines = [
        line.split("release: ")[1].split()[0] for line in out.splitlines() if "release: " in line
    ]
    assert lines == ["build", "upload", "install", "venv", "link", "before_check:", "check",
                     "before_switch:", "switch", "reload", "after_switch:", "verify",
                     "with_verify:", "after_verify:", "clean"]  # fmt: skip
    # the job's script: the step beside the verify started before it, waited for after it
    [job] = [shlex.split(text) for text in s.started if "systemd-run" in text]
    script = job[job.index("printf") + 2]
    assert "beside s3 'with_verify: log with_verify' && { run s4 verify; joined $?; }" in script


def test_failing_before_switch_leaves_the_live_release(play):
    s = session(("before_switch", 1))
    out, error = run("deploy", play, s)
    [upload] = s.sent("tar -xzf - -C /srv/hello/incoming/")
    rid = upload.rsplit("/", 1)[1]
    assert f"never went live and is marked bad; {OLD} is still live" in error
    assert error.startswith("before_switch: log before_switch: ")
    assert s.sent(f"touch /srv/hello/releases/{rid}/.provision-bad")
    assert not s.sent("current.provision-new")
    assert not s.sent("journalctl -u hello -n 0")  # never went live
    assert "failed    release: before_switch: log before_switch" in out


def test_release_failing_after_the_switch_is_rolled_back(play):
    s = session((":8000/health 2026", 1), ("--after-cursor s=cursor", "Traceback (most recent"))
    _out, error = run("deploy", play, s)
    [upload] = s.sent("tar -xzf - -C /srv/hello/incoming/")
    rid = upload.rsplit("/", 1)[1]
    assert f"rolled back to {OLD}; release {rid} is marked bad" in error
    assert "--- the app's log:\nTraceback (most recent" in error
    back = first(s, f"ln -sfn releases/{OLD} /srv/hello/current.provision-new")
    [going] = s.sent(f"ln -sfn releases/{OLD} /srv/hello/current.provision-new")
    assert going.index(f"touch /srv/hello/releases/{rid}/.provision-bad") < going.index("ln -sfn")
    assert back < first(s, f"http://127.0.0.1:8000/health {OLD}") < first(s, "after_rollback")
    assert not s.sent("after_verify") and not s.sent("rm -rf /srv/hello/venvs/.[!.]*")
    assert f"after_rollback {OLD} {rid}" in s.sent("after_rollback")[0]


def test_a_step_beside_the_verify_that_fails_rolls_the_release_back(play):
    s = session(("with_verify 2", 1))
    out, error = run("deploy", play, s)
    [upload] = s.sent("tar -xzf - -C /srv/hello/incoming/")
    rid = upload.rsplit("/", 1)[1]
    assert error.startswith("with_verify: log with_verify: ")
    assert f"rolled back to {OLD}; release {rid} is marked bad" in error
    assert "ok        release: verify" in out and "failed    release: with_verify:" in out
    assert first(s, "with_verify 2") < first(s, f"ln -sfn releases/{OLD} /srv/hello/current")
    assert f"after_rollback {OLD} {rid}" in s.sent("after_rollback")[0]
    assert not s.sent("after_verify 2")
    # had the operator's process gone, the job would have run the after_rollback steps
    [job] = [shlex.split(text) for text in s.started if "systemd-run" in text]
    script = job[job.index("printf") + 2]
    assert " back) run s" in script
    assert f"after_rollback {OLD} {rid}" in script


def test_a_check_that_fails_says_why_then_what_the_release_printed(play):
    printed = "\n".join(["Traceback (most recent call last):", '  File "main.py"', "boom",
                         *[f"line {i}" for i in range(60)]])  # fmt: skip
    failed = f"release x answered with a server error 3 times: HTTP 500\n--- its output:\n{printed}"
    s = session((":8001/health", Result(1, "", failed)))
    _out, error = run("deploy", play, s)
    assert error.startswith("check: release x answered with a server error 3 times: HTTP 500")
    assert "--- its output:\nTraceback (most recent call last):" in error
    assert "line 59\nrelease " in error and "never went live" in error


def test_unchanged_content_stops_before_uploading(play):
    files = {**_plan_files(play), ".provision/requirements.txt": "fastapi==1.0\n"}
    digest = artifact.content_digest(ROOT / "example-app", files)
    s = session((RELEASE_STATE, release_state(STATE.replace("c0", digest))))
    out, error = run("deploy", play, s)
    assert error is None
    assert f"release: unchanged  ({OLD} is live with this very content" in out
    assert not s.sent("tar -xzf")


def _plan_files(play):
    from provision.core.facts import HostInfo
    from provision.project.apply import Host
    from provision.project.roles import resolve_vars
    from provision.release.deploy import release_plan

    host = Host(None, HostInfo().parse(HOST), resolve_vars(play.every_role, {}, {}))
    return release_plan(play.roles_of(host.vars), host).files


def test_deploy_on_a_server_never_bootstrapped_is_refused(play):
    s = FakeSession([("nproc", HOST)])
    _out, error = run("deploy", play, s)
    assert error.startswith("`fab bootstrap` has not completed on web1: run")
    assert len(s.commands) == 2  # the two probes, nothing else


def test_rollback_marks_the_release_it_leaves_and_skips_it_later(play):
    state = "current r3\ncontent c\nrelease r1 0 0 0 v\nrelease r2 0 1 0 v\nrelease r3 0 0 0 v\n"
    s = session((RELEASE_STATE, release_state(state)))
    out, error = run("rollback", play, s)
    assert error is None, out
    assert s.sent("touch /srv/hello/releases/r3/.provision-rolled-back")
    assert s.sent("ln -sfn releases/r1 /srv/hello/current.provision-new")  # r2: rolled back from
    assert "after_rollback r1 r3" in s.sent("after_rollback")[0]


@pytest.mark.parametrize("point", HOOK_POINTS)
def test_every_hook_point_is_reached(play, point):
    s = session((RELEASE_STATE, release_state(f"{STATE}release 20190101-000000 0 0 0 v0\n")))
    out, error = run("rollback" if point == "after_rollback" else "deploy", play, s)
    assert error is None, out
    assert [c for c in s.sent(point) if "/var/log/provision-hooklog" in c]


MIGRATE = {"app_release_command": "alembic upgrade head"}


def test_the_release_command_runs_in_the_new_release_before_its_check(play):
    s = session(("alembic upgrade head", "INFO  Running upgrade -> 1a2b\n"))
    out, error = run("deploy", play, s, overrides=MIGRATE)
    assert error is None, out
    [upload] = s.sent("tar -xzf - -C /srv/hello/incoming/")
    rid = upload.rsplit("/", 1)[1]
    [command] = s.sent("alembic upgrade head")
    assert "setpriv --reuid app --regid app --init-groups --reset-env python3 -I -c" in command
    assert f"/srv/hello/shared/.env /srv/hello /srv/hello/releases/{rid}" in command
    assert first(s, f"{wheels.UV_PATH} pip install") < first(s, "alembic upgrade head")
    assert first(s, "alembic upgrade head") < first(s, "http://127.0.0.1:8001/health")
    assert "[web1]           | INFO  Running upgrade -> 1a2b" in out
    assert "release: before_check: release command" in out


def test_a_failing_release_command_leaves_the_live_release(play):
    s = session(("alembic upgrade head", Result(2, "", "sqlalchemy.exc.ProgrammingError")))
    _, error = run("deploy", play, s, overrides=MIGRATE)
    assert error.startswith("before_check: release command: `alembic upgrade head` exited 2:")
    assert "sqlalchemy.exc.ProgrammingError" in error
    assert f"never went live and is marked bad; {OLD} is still live" in error
    assert not s.sent(":8001/health") and not s.sent("current.provision-new")


def test_a_live_release_that_never_passed_verify_is_verified_before_anything_else(play):
    # OLD is live but unverified (its job was cut short); R0 served before it
    state = (f"current {OLD}\ncontent c0\nrelease 20190101-000000 0 0 0 v0\n"
             f"release {OLD} 0 0 1 v0\nvenv v0\n")  # fmt: skip
    s = session((RELEASE_STATE, release_state(state)))
    out, error = run("deploy", play, s)
    assert error is None, out
    verify = first(s, f"http://127.0.0.1:8000/health {OLD}")
    assert verify < first(s, "tar -xzf")
    assert s.sent(f"rm -f /srv/hello/releases/{OLD}/.provision-unverified")
    assert f"release: verify  ({OLD} answers on 127.0.0.1:8000/health (live, and never" in out


def test_a_live_release_that_never_passed_verify_and_fails_it_is_rolled_back(play):
    state = (f"current {OLD}\ncontent c0\nrelease 20190101-000000 0 0 0 v0\n"
             f"release {OLD} 0 0 1 v0\nvenv v0\n")  # fmt: skip
    s = session((RELEASE_STATE, release_state(state)), (f":8000/health {OLD}", 1))
    out, error = run("deploy", play, s)
    assert f"the live release {OLD} never passed verify and fails it: rolled back to " \
           "20190101-000000" in error, out  # fmt: skip
    assert s.sent("ln -sfn releases/20190101-000000 /srv/hello/current.provision-new")
    assert s.sent(f"touch /srv/hello/releases/{OLD}/.provision-bad")
    assert not s.sent("tar -xzf")  # nothing shipped


def test_a_run_cut_short_is_noted_in_the_history_by_the_next(play):
    intent = '{"action": "deploy", "at": "t", "by": "me", "from": "r0", "release": "' + OLD + '"}'
    state = STATE.replace("content c0\n", f"content c0\nintent {intent}\njob back\n")
    s = session((RELEASE_STATE, release_state(state)))
    out, error = run("deploy", play, s)
    assert error is None, out
    [noted] = s.sent('"result": "interrupted"')
    # (quoted twice over: the note's own words, between the apostrophes)
    assert f"process ended during the deploy of {OLD}; {OLD} failed its verify; its release " \
           "job went back to r0" in noted  # fmt: skip


def test_uv_goes_to_a_server_once(play):
    s = session((f"test -x {wheels.UV_PATH}", "no\n"))
    out, error = run("deploy", play, s)
    assert error is None, out
    [extract] = s.sent("zlib.decompressobj")  # extract.py's
    assert first(s, "tar -xzf") < s.commands.index(extract) < first(s, "uv pip install")
    assert f"uv {wheels.UV_VERSION} (0.0 MB, once a server)" in out
    s = session((f"test -x {wheels.UV_PATH}", "yes\n"))
    out, error = run("deploy", play, s)
    assert error is None, out
    assert not s.sent("zlib.decompressobj") and "once a server" not in out


def test_pip_builds_the_venv_when_told(play):
    s = session()
    out, error = run("deploy", play, s, overrides={"release_installer": "pip"})
    assert error is None, out
    assert s.sent("/bin/pip install") and not s.sent(wheels.UV_PATH)
