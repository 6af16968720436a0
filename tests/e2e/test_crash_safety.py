"""The operator's process dies mid-release (SIGKILL, at a phase's line in its output),
under GET and POST load; then the operator does what comes next: the same command again,
then a plain rollback. After each: the live release answers and passed its verify, one
release is live and each is listed honestly, the lock is free, nothing is left in
``incoming/``, and no request failed (but, from a release that breaks once live, its
health route for less than a second, until the verify saw it).

Every test deploys the release it starts from, so each passes when run alone.
"""

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from tests.e2e.test_deploy_safety import lock_is_free
from tests.helpers import ROOT, Web, deployed, listed, live_release
from tests.load import Load

HEALTHY = '    return {"status": "ok", "release": RELEASE}'
BREAKS = ('    if "PROVISION_RELEASE_DIR" not in __import__("os").environ:  # live only\n'
          '        raise RuntimeError("cannot reach the database")\n' + HEALTHY)  # fmt: skip
KINDS = {
    "good": lambda text: text + "# a change\n",
    "fails-its-check": lambda text: text + "import no_such_module  # noqa\n",
    "breaks-once-live": lambda text: text.replace(HEALTHY, BREAKS),
}


def settings(app):
    return ["--set", f"app_source={app}", "--set", "nginx_rate=100000r/s"]


def killed_at(bootstrapped_host, line, *args):
    """`fab ARGS` on the test host, killed (SIGKILL, by its pid) once it printed a line
    containing ``line``; what it printed."""
    command = [sys.executable, "-m", "fabric", "-H", "target", *args, "--inventory",
               str(bootstrapped_host.inventory)]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    printed = []
    try:
        for out in proc.stdout:
            printed.append(out)
            if line in out:
                os.kill(proc.pid, signal.SIGKILL)
                break
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    text = "".join(printed)
    assert proc.returncode == -signal.SIGKILL, f"it ended before {line!r}:\n{text}"
    return text


def honest(bootstrapped_host, host, ended=True):
    """The state a run must leave, whatever happened to the one before it (``ended``: it
    ran to its end, so it left no intent behind and no upload in ``incoming/``)."""
    lock_is_free(host)
    marks = listed(bootstrapped_host.fab("releases").stdout)
    live = [rid for rid, m in marks.items() if "live" in m]
    assert len(live) == 1, marks
    assert not marks[live[0]] & {"bad", "never verified", "rolled back"}, marks
    assert live_release() == live[0]
    if ended:  # and cleaned what the one before left
        assert host.check_output("ls -A /srv/hello/incoming") == ""
        assert host.run("test -e /srv/hello/.provision-intent").rc != 0
    return live[0], marks


# a phase's line is printed once it is done: a kill there lands before the next phase
CASES = [
    ("good", "release: build"),
    ("good", "release: upload"),
    ("good", "release: install"),
    ("good", "release: venv"),
    ("good", "release: link"),  # during the check
    ("good", "release: check"),
    ("good", "release: switch"),
    ("good", "release: reload"),
    ("good", "release: verify"),
    ("good", "release: clean"),
    ("fails-its-check", "release: link"),
    ("fails-its-check", "failed    release: check"),
    ("breaks-once-live", "release: switch"),
    ("breaks-once-live", "release: reload"),
    ("breaks-once-live", "failed    release: verify"),  # during its job's way back
]
KEPT = ("release: switch", "release: reload", "release: verify", "release: clean")


def loaded(step, loads):
    """``step()`` under GET /health and POST /echo load (the load kept in ``loads``)."""
    with Load(Web.address, 80, clients=4, get="/health", post="/echo") as load:
        done = step()
    loads.append(load)
    return done


def failed_only_while_live(loads, breaks):
    """No request failed; or, with a release that ``breaks`` once live, only its health
    route (500) for less than a second in each step: from its reload until the verify
    saw it and the job went back."""
    assert sum(load.counts["GET 200"] for load in loads) > 20, [ld.counts for ld in loads]
    assert sum(load.counts["POST 200"] for load in loads) > 20, [ld.counts for ld in loads]
    for load in loads:
        if breaks:
            assert set(load.counts) <= {"GET 200", "POST 200", "GET 500"}, load.failures
            assert load.error_seconds < 1.0, load.failed_at
        else:
            assert load.failed == 0, load.failures


@pytest.mark.parametrize("kind, line", CASES, ids=[f"{k}@{ln.split()[-1]}" for k, ln in CASES])
def test_a_deploy_killed_then_run_again_then_rolled_back(
    bootstrapped_host, deploy, app, host, kind, line
):
    deployed(deploy)  # so that a rollback has a release to go back to
    start = deployed(deploy)
    main = app / "main.py"
    main.write_text(KINDS[kind](main.read_text()))
    kept = kind == "good" and line in KEPT
    loads = []
    out = loaded(lambda: killed_at(bootstrapped_host, line, "deploy", *settings(app)), loads)
    after_kill = honest(bootstrapped_host, host, ended=False)[0]
    # once switched, its job verified it and kept it; before, nothing went live
    assert (after_kill != start) == kept, out
    again = loaded(lambda: bootstrapped_host.fab("deploy", *settings(app)), loads)
    assert "another deploy holds the lock" not in again.stdout, again.stdout
    assert again.returncode == (0 if kind == "good" else 1), again.stdout
    live = honest(bootstrapped_host, host)[0]
    back = loaded(lambda: bootstrapped_host.fab("rollback"), loads)
    assert back.returncode == 0, back.stdout
    assert honest(bootstrapped_host, host)[0] != live
    failed_only_while_live(loads, breaks=kind == "breaks-once-live")


@pytest.mark.parametrize("line", ["release: switch", "release: reload", "release: verify"])
def test_a_rollback_killed_is_finished_by_the_next_not_repeated(
    bootstrapped_host, deploy, app, host, line
):
    deployed(deploy)
    target = deployed(deploy)  # the rollback goes back to it
    deployed(deploy)
    with Load(Web.address, 80, clients=4, get="/", post="/echo") as load:
        killed_at(bootstrapped_host, line, "rollback")
        assert honest(bootstrapped_host, host, ended=False)[0] == target
        again = bootstrapped_host.fab("rollback")
        assert again.returncode == 0, again.stdout
        assert "release: interrupted  (the rollback of " in again.stdout, again.stdout
        assert honest(bootstrapped_host, host)[0] == target
    history = bootstrapped_host.fab("status").stdout
    assert f"rollback {target}  interrupted: the operator's process ended" in history, history
    assert load.failed == 0, load.failures


def test_a_rollback_to_a_release_that_fails_goes_back_where_it_started(
    bootstrapped_host, deploy, app, host
):
    deployed(deploy)
    main = app / "main.py"
    main.write_text(KINDS["breaks-once-live"](main.read_text()))
    broken = deploy()
    assert broken.returncode == 1, broken.stdout
    [bad] = re.findall(r"release (\S+) is marked bad", broken.stdout)
    start = live_release()
    loads = []
    done = loaded(lambda: bootstrapped_host.fab("rollback", "--to", bad), loads)
    assert done.returncode == 1, done.stdout
    assert "release: check  (answered on 127.0.0.1:8001/health" in done.stdout  # never served
    assert f"rolled back to {start}, where the rollback started; release {bad}" in done.stdout
    assert honest(bootstrapped_host, host)[0] == start
    assert loads[0].failed > 0  # it did serve its errors, for as long as its verify took
    failed_only_while_live(loads, breaks=True)


WORKER = "python -c 'import main, time; time.sleep(10**9)'"  # as most are: imports, waits


def test_a_worker_restarted_beside_a_verify_that_fails_goes_back_with_no_one_following(
    bootstrapped_host, deploy, app, host
):
    """The worker restarts onto the new release beside its verify, which fails; the job
    goes back with the operator's process dead: it restarts the worker onto the release it
    went back to as well, as that process would have."""
    worker = ["--set", "app_processes=" + json.dumps({"worker": WORKER})]
    main, source = app / "main.py", (app / "main.py").read_text()

    def serves():  # the release the worker's process runs
        pid = host.check_output("systemctl show -P MainPID hello-process-worker")
        return host.check_output(f"readlink /proc/{pid}/cwd").rsplit("/", 1)[1]

    try:
        assert deploy(*worker).returncode == 0
        start = live_release()
        assert serves() == start
        main.write_text(KINDS["breaks-once-live"](source))
        out = killed_at(bootstrapped_host, "release: reload", "deploy", *settings(app), *worker)
        [new] = re.findall(r"release: switch  \(\S+ -> (\S+),", out)
        job_lock = "/run/lock/provision-hello.job.lock"
        assert host.run(f"flock -w 60 {job_lock} true").rc == 0  # the job ended
        assert live_release() == start
        assert serves() == start, f"the worker runs {serves()}, not {start} (the bad one: {new})"
        history = bootstrapped_host.fab("status").stdout
        assert f"{new} failed its verify; its release job went back to {start}" in history
    finally:
        main.write_text(source)
        assert deploy().returncode == 0  # and the worker's units go with it
