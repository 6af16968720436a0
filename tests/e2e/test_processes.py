"""Background processes, scheduled jobs, `fab status` and `fab exec` on a real host.

The app (tests/apps/worker) has a worker that takes jobs from a table in a SQLite database
kept in shared/, and a scheduled job that notes each run there.
"""

import contextlib
import json
import os
import pty
import select
import shutil
import signal
import sys
import time

import pytest
import yaml

from tests.e2e.worker_kit import (
    SCHEDULE,
    WORKER,
    fab_exec,
    jobs,
    live_release,
    release_switch_with_a_job_in_hand,
    units,
    until,
)
from tests.helpers import ROOT, recap


@pytest.fixture(scope="module")
def site(bootstrapped_host, tmp_path_factory):
    """The module's host with the worker app deployed, and ``site.settings(**vars)`` to
    change what the inventory says."""
    app = tmp_path_factory.mktemp("worker") / "app"
    shutil.copytree(ROOT / "tests" / "apps" / "worker", app)
    inventory = yaml.safe_load(bootstrapped_host.inventory.read_text())

    def settings(**changes):
        inventory["vars"] = {"app_source": str(app), "app_shared_dirs": ["data"],
                             "app_processes": {"worker": WORKER}, "app_schedule": SCHEDULE,
                             "nginx_rate": "100000r/s", **changes}  # fmt: skip
        bootstrapped_host.inventory.write_text(yaml.safe_dump(inventory))

    settings()
    bootstrapped_host.settings = settings
    done = bootstrapped_host.fab("deploy")
    assert done.returncode == 0, done.stdout + done.stderr
    return bootstrapped_host


def test_the_first_deploy_enables_each_process_and_a_second_changes_nothing(site, host):
    assert host.service("hello-process-worker").is_enabled
    again = site.fab("deploy")
    assert again.returncode == 0, again.stdout + again.stderr
    assert recap(again.stdout)["target"]["changed"] == 0, again.stdout


def test_a_failed_deploy_leaves_every_unit_of_the_app_as_it_was(site):
    before = units(site)
    assert before[0]["hello-process-worker.service"][1:] == (
        "active",
        f"/srv/hello/releases/{before[1]}",
    )
    site.settings(app_processes={"worker": {**WORKER, "command": "python -m wroker"}})
    try:
        done = site.fab("deploy", "--force")
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"rolled back to {before[1]}" in done.stdout
        assert "restore" in done.stdout and "as they were before this deploy" in done.stdout
        # the process's own lines, and not the web app's start-up lines
        failure = done.stdout[done.stdout.index("error: with_verify") :]
        assert "hello-process-worker.service did not stay up" in failure, failure
        assert "No module named wroker" in failure, failure
        assert "--- the app's log" not in failure and "Booting worker" not in failure
        until("the units are as before", lambda: units(site) == before, within=30)
    finally:
        site.settings()


def test_exec_passes_each_argument_as_typed_and_one_string_as_a_command_line(site):
    words = ["python", "-c", "import os, sys; print(sys.argv[1:])", "a b", "it's", "$HOME"]
    assert fab_exec(site, *words).stdout.strip() == "['a b', \"it's\", '$HOME']"
    assert fab_exec(site, "echo one && echo two").stdout.split() == ["one", "two"]


def test_a_deploy_restarts_the_worker_on_the_new_release_after_its_job(site):
    release_switch_with_a_job_in_hand(site, "deploy", "--force")


def test_a_rollback_restarts_the_worker_on_the_old_release_after_its_job(site):
    done = site.fab("deploy", "--force")  # a release to go back from, run alone or not
    assert done.returncode == 0, done.stdout + done.stderr
    release_switch_with_a_job_in_hand(site, "rollback")


def test_a_timer_runs_on_schedule_and_status_shows_each_result(site, host):
    until("the job ran twice", lambda: jobs(site)["ticks"][0] >= 2)
    slow = until("the slow job ran twice", lambda: (runs := jobs(site)["slow"])[0] >= 2 and runs)
    assert slow[1] == 0, slow  # runs of 3 s every 2 s: never two at once
    status = until("both jobs ran", lambda: _ran(site))
    tick, broken = status["tick"], status["broken"]
    assert tick["result"] == "ok" and tick["last_run"] and tick["next_run"], tick
    assert broken["result"].startswith("failed") and broken["exit_status"] == 3, broken
    updates = status["updates"]
    simulated = host.check_output("apt-get -s -o Debug::NoLocking=1 upgrade | grep -c '^Inst' "
                                  "|| true")  # fmt: skip
    assert updates["pending"] == int(simulated), updates
    assert updates["reboot_required"] is False, updates
    web, worker, release = status["web"], status["worker"], status["release"]
    assert web["active"] and web["children"] >= 1 and web["memory_mb"] > 0, web
    assert worker["active"] and worker["pid"], worker
    assert release["live"] == live_release(site) and release["history"], release
    assert release["history"][-1]["result"] == "ok", release

    # the lines a person reads, taken between two runs of the job that fails (while one
    # runs, systemd no longer holds the result of the one before)
    def failed_shown():
        done = site.fab("status")
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        return any(x.startswith("[target] broken ") and ": failed (" in x for x in lines) and lines

    lines = until("a status between two runs of the failing job", failed_shown)
    print("\n".join(lines))
    assert any(line.startswith("[target] web ") and "workers" in line for line in lines), lines
    logs = site.fab("logs", "--process", "tick", "--grep", "tick from")
    assert logs.returncode == 0 and "[target] " in logs.stdout and "tick from" in logs.stdout


def _ran(site):
    done = site.fab("status", "--json")
    assert done.returncode == 0, done.stderr
    fields = json.loads(done.stdout)["target"]
    # each has run, and is not running at this moment (a run's result is known after it)
    done = fields["tick"]["result"] == "ok" and fields["broken"]["result"].startswith("failed")
    return fields if done else None


def test_exec_passes_output_and_exit_status_through(site):
    done = fab_exec(site, "echo out; echo err >&2; pwd; id -un; exit 7", check=False)
    assert done.returncode == 7, done.stdout + done.stderr
    assert done.stdout.splitlines() == ["out", f"/srv/hello/releases/{live_release(site)}", "app"]
    assert "err" in done.stderr
    env = fab_exec(site, "python -c 'import sys, fastapi; print(sys.prefix)'")
    assert env.stdout.strip().endswith("/venv"), env.stdout


def test_a_process_that_does_not_start_fails_the_deploy_and_rolls_back(site):
    before = live_release(site)
    site.settings(app_processes={"worker": WORKER, "crash": "python -c 'import nothing_here'"})
    try:
        done = site.fab("deploy", "--force")
        print(done.stdout, done.stderr)
        assert done.returncode == 1
        assert "hello-process-crash.service did not stay up" in done.stdout
        assert "No module named 'nothing_here'" in done.stdout
        assert f"rolled back to {before}" in done.stdout
        assert live_release(site) == before
        # the unit it added went with the restore: stopped, no file, not enabled
        assert "hello-process-crash.service: stopped (its unit file is gone)" in done.stdout
        host = site.testinfra()
        assert not host.file("/etc/systemd/system/hello-process-crash.service").exists
        assert not host.service("hello-process-crash").is_running
        assert host.run("ls /etc/systemd/system/*.wants/hello-process-crash.service").rc != 0
        assert host.service("hello-process-worker").is_running
    finally:
        site.settings()
    done = site.fab("deploy", "--force")
    assert done.returncode == 0, done.stdout + done.stderr
    units = site.testinfra().run("ls /etc/systemd/system/").stdout.split()
    assert "hello-process-crash.service" not in units and "hello-process-worker.service" in units


def test_exec_with_a_tty_is_a_terminal_session(site):
    """`fab exec --tty -- python`: an interactive interpreter in the live release."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: fab, on the pseudo-terminal
        os.chdir(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "fabric", "-H", "target", "exec", "--tty",
                                  "--inventory", str(site.inventory), "--", "python"])  # fmt: skip
    seen = b""

    def read_until(text, within=60):
        nonlocal seen
        deadline = time.monotonic() + within
        while text not in seen:
            assert time.monotonic() < deadline, f"no {text!r} in {seen[-500:]!r}"
            ready, _, _ = select.select([terminal], [], [], 1)
            if ready:
                seen += os.read(terminal, 4096)

    try:
        read_until(b">>> ")
        os.write(terminal, b"import os; print(os.getcwd(), 6 * 7)\r")
        read_until(f"/srv/hello/releases/{live_release(site)} 42".encode())
        os.write(terminal, b"raise SystemExit(5)\r")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 5
    finally:
        with contextlib.suppress(ChildProcessError, ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
        os.close(terminal)


def test_doctor_reads_the_source_and_the_server(site):
    listener = site.testinfra()
    listener.run_test("systemd-run --unit provision-test-listener python3 -m http.server 9999 "
                      "--bind 0.0.0.0")  # fmt: skip
    try:
        until("the listener is up", lambda: listener.socket("tcp://0.0.0.0:9999").is_listening)
        done = site.fab("doctor")
        print(done.stdout, done.stderr)
        assert done.returncode == 0, done.stdout + done.stderr  # warnings only
        lines = done.stdout.splitlines()
        assert (
            "-- the app's source: " in done.stdout
            and "[target] port 9999: warning: port "
            "9999 listens on every address: reachable from anywhere no firewall stops it"
            in lines
        )
        assert not [line for line in lines if ": error: " in line], lines
    finally:
        listener.run("systemctl stop provision-test-listener")
    seeded = site.fab("doctor", "--set", f"app_source={ROOT / 'tests' / 'apps' / 'mistakes'}")
    assert seeded.returncode == 1, seeded.stdout + seeded.stderr
    assert "mistakes/main.py:20: error: `time.sleep` blocks the event loop" in seeded.stdout


def exposure(host, unit):
    """The overall exposure `systemd-analyze security` gives ``unit``."""
    text = host.check_output(f"systemd-analyze security --no-pager {unit}")
    [line] = [x for x in text.splitlines() if x.startswith("→ Overall exposure level")]
    return float(line.split(": ")[1].split()[0]), line


@pytest.mark.parametrize("unit", ["hello.service", "hello-process-worker.service",
                                  "hello-job-tick.service"])  # fmt: skip
def test_the_apps_units_are_sandboxed_to_systemds_ok_band(site, unit):
    score, line = exposure(site.testinfra(), unit)
    print(line)
    assert score <= 2.0, line


def test_the_app_cannot_write_its_code(site):
    """Releases, virtualenvs and the `current` link are root's; the app writes in shared/."""
    host = site.testinfra()
    release = f"/srv/hello/releases/{live_release(site)}"
    venv = host.file(f"{release}/venv").linked_to
    for path in ("/srv/hello", release, f"{release}/main.py", venv, f"{venv}/bin/python3",
                 "/srv/hello/current"):  # fmt: skip
        assert host.file(path).user == "root", path
    for attempt in ("touch main.py", "touch venv/bin/x", "ln -sfn /tmp /srv/hello/current.x",
                    "rm -rf /srv/hello/releases/x && mkdir /srv/hello/releases/x"):  # fmt: skip
        tried = fab_exec(site, attempt, check=False)
        assert tried.returncode != 0 and "Permission denied" in tried.stderr, (attempt, tried)
    fab_exec(site, "touch /srv/hello/shared/data/written && rm /srv/hello/shared/data/written")


def test_secrets_come_from_the_environment_and_a_command_and_are_never_shown(site, monkeypatch):
    monkeypatch.setenv("PROVISION_TEST_SECRET", "env-s3cr3t-value")
    env = {"FROM_ENV": {"env": "PROVISION_TEST_SECRET"},
           "FROM_COMMAND": {"command": "printf 'command-s3cr3t-value\\n'"}}  # fmt: skip
    site.settings(app_env=env)
    try:
        done = site.fab("deploy", "--diff")
        assert done.returncode == 0, done.stdout + done.stderr
        shown = done.stdout + done.stderr
        assert "file /srv/hello/shared/.env" in shown
        assert "s3cr3t" not in shown, shown
        read = fab_exec(site, 'printf "%s|%s" "$FROM_ENV" "$FROM_COMMAND"')
        assert read.stdout == "env-s3cr3t-value|command-s3cr3t-value"
        monkeypatch.delenv("PROVISION_TEST_SECRET")
        refused = site.fab("deploy")
        assert refused.returncode == 2 and "PROVISION_TEST_SECRET is not set here" in (
            refused.stderr)  # fmt: skip
    finally:
        site.settings()
