"""The worker app (tests/apps/worker) on a test host: its processes and jobs, and what
they did (tests/e2e/test_processes.py)."""

import json
import re
import time

WORKER = {"command": "python worker.py", "stop_timeout": 60}
SCHEDULE = {
    "tick": {"command": "python tick.py", "on_calendar": "*:*:0/2"},
    "broken": {"command": "python -c 'raise SystemExit(3)'", "on_calendar": "*:*:0/2"},
    "slow": {"command": "python slow.py", "on_calendar": "*:*:0/2"},
}


def fab_exec(site, *command, check=True):
    done = site.fab("exec", "--", *command)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def units(site):
    """{unit: (its file, its state, the release its process runs in)} of every unit of
    the app, and the live release."""
    host = site.testinfra()
    found = {}
    for path in sorted(host.check_output("ls /etc/systemd/system/hello*").split()):
        unit, text = path.rsplit("/", 1)[1], host.file(path).content_string
        if "-job-" in unit and unit.endswith(".service"):  # runs every 2 s: its text alone
            found[unit] = (text, "", "")
            continue
        state = host.check_output(f"systemctl show -p ActiveState --value {unit}")
        pid = host.check_output(f"systemctl show -p MainPID --value {unit}")
        process = "-process-" in unit and pid != "0"  # the web's release: the live one
        cwd = host.check_output(f"readlink /proc/{pid}/cwd") if process else ""
        found[unit] = (text, state, cwd)
    return found, live_release(site)


def jobs(site):
    return json.loads(fab_exec(site, "python -m jobs show").stdout)


def until(what, condition, within=60):
    """``condition()``'s value once it is true; fails after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {within} s: {what}"
        time.sleep(0.5)


def live_release(site):
    return site.testinfra().check_output("basename $(readlink /srv/hello/current)")


def release_switch_with_a_job_in_hand(site, *fab_args):
    """Add a job of 6 s, wait until the worker took it, run `fab *fab_args`: the job is
    finished by the release that took it, and the next one by the new release."""
    before = live_release(site)
    job = int(fab_exec(site, "python -m jobs add 6").stdout)
    until("the worker took the job", lambda: jobs(site)["jobs"][job - 1][1] == "working")
    done = site.fab(*fab_args)
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stdout + done.stderr
    after = live_release(site)
    assert after != before
    # proven started once quiet (polling for jobs), well before app_process_settle's 3 s
    assert re.search(r"hello-process-worker.service: running, pid \d+, quiet after [\d.]+ s",
                     done.stdout), done.stdout  # fmt: skip
    assert jobs(site)["jobs"][job - 1] == [job, "done", before, before]
    second = int(fab_exec(site, "python -m jobs add 0").stdout)
    until("the next job is done", lambda: jobs(site)["jobs"][second - 1][1] == "done")
    assert jobs(site)["jobs"][second - 1] == [second, "done", after, after]
