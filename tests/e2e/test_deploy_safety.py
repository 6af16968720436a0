"""A deploy that is locked out, or killed half-way, never disturbs the live release.

Every test deploys the release it starts from, so each passes when run alone.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time

from provision.core.transport import Session
from provision.release.deploy_lock import DeployLock
from tests.helpers import ROOT, deployed, live_release, recap


def deploy_args(app):
    return ("--set", f"app_source={app}", "--set", "nginx_rate=100000r/s", "--force")


def lock_is_free(host, timeout=30):
    """Wait until no deploy holds the lock (a killed one's server side has ended)."""
    deadline = time.monotonic() + timeout
    while host.run("flock -n /run/lock/provision-hello.lock true").rc != 0:
        assert time.monotonic() < deadline, "the lock was never released"
        time.sleep(0.05)


def hold_lock(bootstrapped_host):
    session = Session(bootstrapped_host.machine.target())
    session.open()
    lock = DeployLock(session, "hello", "test holder")
    lock.acquire()
    return session, lock


def test_second_deploy_is_refused_with_who_and_since(bootstrapped_host, deploy, app):
    deployed(deploy)
    session, lock = hold_lock(bootstrapped_host)
    try:
        live = live_release()
        done = bootstrapped_host.fab("deploy", *deploy_args(app))
        assert done.returncode == 1
        assert "another deploy holds the lock: " in done.stdout
        assert "(test holder), since 20" in done.stdout
        assert "--wait SECONDS" in done.stdout and "--take-over" in done.stdout
        rollback = bootstrapped_host.fab("rollback")
        assert rollback.returncode == 1 and "another deploy holds the lock" in rollback.stdout
        assert live_release() == live
    finally:
        lock.release()
        session.close()


def test_deploy_waits_for_the_lock(bootstrapped_host, deploy, app):
    before = deployed(deploy)
    session, lock = hold_lock(bootstrapped_host)
    releaser = threading.Timer(3, lambda: (lock.release(), session.close()))
    releaser.start()
    try:
        done = bootstrapped_host.fab("deploy", *deploy_args(app), "--wait", "60")
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        releaser.join()
    # It said whose lock it waited for, then took it once released (3 s later), and went on.
    assert re.search(r"\[target\] waiting   release: lock  \(held by \S+ \(test holder\), "
                     r"since 20\d\d-", done.stdout), done.stdout  # fmt: skip
    [waited] = re.findall(r"release: lock  \(taken once its holder let go, ([\d.]+) s", done.stdout)
    assert float(waited) >= 2.0
    assert live_release() != before


def test_take_over_a_lock_left_by_a_hung_deploy(bootstrapped_host, deploy, app):
    deployed(deploy)
    session, held = hold_lock(bootstrapped_host)
    try:
        done = bootstrapped_host.fab("deploy", *deploy_args(app), "--take-over")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "release: lock  (taken over from " in done.stdout
        assert "(test holder)" in done.stdout
        assert held._chan.exit_status_ready()  # the holder's process on the server was ended
    finally:
        session.close()


def kill_when(bootstrapped_host, app, under_way, timeout=120):
    """Start `fab deploy`; SIGKILL it (and so its SSH connection) once `under_way()` holds."""
    cmd = [sys.executable, "-m", "fabric", "-H", "target", "deploy", "--inventory",
           str(bootstrapped_host.inventory), *deploy_args(app)]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            if under_way():
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.05)
        output = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"the deploy ended before it was killed:\n{output}"
    return output


def test_connection_killed_during_upload(bootstrapped_host, deploy, app, host):
    live = deployed(deploy)
    releases = set(host.check_output("ls /srv/hello/releases").split())
    (app / "static" / "big.bin").write_bytes(os.urandom(60 * 1024 * 1024))  # incompressible
    try:
        uploading = "find /srv/hello/incoming -name big.bin -size +1M | grep -q ."
        kill_when(bootstrapped_host, app, lambda: host.run(uploading).rc == 0)
        lock_is_free(host)
        assert live_release() == live
        assert set(host.check_output("ls /srv/hello/releases").split()) == releases
        assert host.check_output("readlink /srv/hello/current") == f"releases/{live}"
    finally:
        (app / "static" / "big.bin").unlink()
    done = bootstrapped_host.fab("deploy", *deploy_args(app))
    assert done.returncode == 0, done.stdout + done.stderr
    assert live_release() != live, done.stdout
    assert host.check_output("ls /srv/hello/incoming") == ""


def test_connection_killed_during_venv_build(bootstrapped_host, deploy, app, host):
    live = deployed(deploy)
    (app / "requirements.txt").write_text("fastapi>=0.110\nhumanize>=4\n")  # a venv to build
    building = "ls -d /srv/hello/venvs/.*/lib/python3*/site-packages/fastapi"
    kill_when(bootstrapped_host, app, lambda: host.run(building).rc == 0)
    lock_is_free(host)
    assert live_release() == live
    assert host.check_output("readlink /srv/hello/current") == f"releases/{live}"
    done = bootstrapped_host.fab("deploy", *deploy_args(app))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "release: venv  (built venvs/" in done.stdout
    assert live_release() != live, done.stdout
    assert recap(done.stdout)["target"]["failed"] == 0
    assert not [v for v in host.check_output("ls -A /srv/hello/venvs").split() if v.startswith(".")]
