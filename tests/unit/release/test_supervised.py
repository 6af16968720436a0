"""The release job without a server: the script it runs, and how its events are read."""

import io
import os
import shlex
import subprocess

import pytest

from provision.core.command import Command
from provision.core.runner import TaskFailed
from provision.release.supervised import PID, Follow, Job, Step, unit, wait_for


def job(**kw):
    steps = [Step("switch", (Command.of("echo", "switched"),)),
             Step("reload", (Command.of("echo", "pid 42"),), says_pid=True),
             Step("verify", (Command.of("echo", PID),))]  # fmt: skip
    return Job("hello", steps, **kw)


def follow(text, labels=None):
    return Follow(iter(io.StringIO(text)), labels or {})


def test_steps_are_followed_to_their_end_and_their_output_returned():
    f = follow("@@ begin switch\n@@ end switch\n@@ begin reload\nmark c\npid 42\n"
               "@@ end reload\n@@ result kept\n")  # fmt: skip
    assert f.step("switch") == []
    assert f.step("reload") == ["mark c", "pid 42"]
    assert f.outcome() == "kept"


def test_the_outcome_is_taken_at_its_line_without_waiting_for_the_output_to_end():
    def lines():
        yield "@@ end verify\n"
        yield "@@ result kept\n"
        raise AssertionError("read past the result: waited for the job's output to end")

    f = Follow(lines(), {})
    f.step("verify")
    assert f.outcome() == "kept"
    assert f.outcome() == "kept"  # asked again, from what was read


def test_a_failed_step_fails_as_a_command_run_directly_would():
    f = follow("@@ begin verify\nHTTP 500 from r2\n@@ fail verify 1\n@@ begin rollback\n",
               {"verify": "wait until http://127.0.0.1:8000/health answers from r2"})  # fmt: skip
    with pytest.raises(TaskFailed) as e:
        f.step("verify")
    assert str(e.value) == ("`wait until http://127.0.0.1:8000/health answers from r2` exited 1:"
                            "\nHTTP 500 from r2")  # fmt: skip


def test_a_job_that_ended_early_or_whose_output_stopped_says_so():
    with pytest.raises(TaskFailed, match=r"the release job ended \(back\) before verify"):
        follow("@@ result back\n").step("verify")
    with pytest.raises(TaskFailed, match="the release job's output ended before switch"):
        follow("").step("switch")
    said = "Failed to start transient service unit: Unit provision-hello-release.service was"
    job = Follow(iter(io.StringIO("")), {}, lambda: f"{said}\n")
    with pytest.raises(TaskFailed, match=f"ended before switch: {said} \\(see: journalctl"):
        job.step("switch")


def run_script(script, tmp_path):
    """The job's script under sh, its log and lock in ``tmp_path``: what it printed."""
    script = script.replace("/run/lock/provision-hello.job", str(tmp_path / "job"))
    subprocess.run(["sh", "-c", script], check=True)
    return (tmp_path / "job.log").read_text()


def test_the_script_runs_its_steps_in_order_and_the_verify_gets_the_reloads_pid(tmp_path):
    done = Command.of("touch", str(tmp_path / "verified"))
    printed = run_script(job(done=(done,)).script(), tmp_path)
    assert printed == ("@@ begin switch\nswitched\n@@ end switch\n@@ begin reload\n"
                       "pid 42\n@@ end reload\n@@ begin verify\n42\n@@ end verify\n"
                       "@@ result kept\n")  # fmt: skip
    assert (tmp_path / "verified").exists()


def test_a_failing_step_leads_the_script_back(tmp_path):
    failing = Job("hello", [Step("switch", (Command.of("echo", "s"),)),
                            Step("verify", (Command.shell("echo sick; exit 3"),))],
                  back=[Step("rollback", (Command.of("echo", "back"),))],
                  failed=(Command.of("echo", "marked"),))  # fmt: skip
    printed = run_script(failing.script(), tmp_path)
    assert "@@ begin verify\nsick\n@@ fail verify 3\nmarked\n@@ begin rollback\nback\n" in printed
    assert printed.endswith("@@ end rollback\n@@ result back\n")


def test_with_nothing_to_go_back_to_the_release_stays_and_is_marked(tmp_path):
    stays = Job("hello", [Step("verify", (Command.of("false"),))],
                failed=(Command.of("echo", "marked bad"),))  # fmt: skip
    assert run_script(stays.script(), tmp_path).endswith("marked bad\n@@ result stays\n")


def test_when_its_operator_is_gone_the_job_notes_the_interrupted_run(tmp_path):
    info = tmp_path / "lock.info"
    info.write_text("root@vm (deploy)\n2026-11-30 10:00:00 UTC\n999999999\n")  # no such pid
    note = {"kept": Command.of("touch", str(tmp_path / "noted"))}
    run_script(job(holder=str(info), gone=note).script(), tmp_path)
    assert (tmp_path / "noted").exists()


def beside(tmp_path, verify="true", worker="true"):
    """A job whose worker step runs beside the verify: it waits (up to 10 s) for the file
    the verify makes, so it passes only if the two run at the same time."""
    made = tmp_path / "verify-ran"
    wait = f"i=0; while [ ! -e {made} ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done"
    return Job("hello", [
        Step("switch", (Command.of("echo", "switched"),)),
        Step("with_verify: worker", (Command.shell(f"{wait}; echo worker up; test -e {made}"),
                                     Command.shell(worker)), beside=True),
        Step("verify", (Command.shell(f"echo verified; touch {made}"), Command.shell(verify))),
    ], back=[Step("rollback", (Command.of("echo", "back"),))])  # fmt: skip


def test_a_step_beside_the_verify_runs_with_it_and_shows_after_it(tmp_path):
    printed = run_script(beside(tmp_path).script(), tmp_path)
    assert printed == ("@@ begin switch\nswitched\n@@ end switch\n@@ begin verify\nverified\n"
                       "@@ end verify\n@@ begin with_verify: worker\nworker up\n"
                       "@@ end with_verify: worker\n@@ result kept\n")  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job.lock", "job.log", "verify-ran"]


def test_a_job_goes_back_when_the_verify_or_a_step_beside_it_fails(tmp_path):
    printed = run_script(beside(tmp_path, worker="exit 4").script(), tmp_path)
    assert "@@ end verify\n@@ begin with_verify: worker\nworker up\n@@ fail with_verify: " \
           "worker 4\n@@ begin rollback\n" in printed  # fmt: skip
    assert printed.endswith("@@ result back\n")
    (tmp_path / "verify-ran").unlink()
    (tmp_path / "job.log").write_text("")
    printed = run_script(beside(tmp_path, verify="exit 5").script(), tmp_path)
    # the step beside it is waited for before going back: its output comes first
    assert "@@ fail verify 5\n@@ begin with_verify: worker\nworker up\n@@ end with_verify: " \
           "worker\n@@ begin rollback\n" in printed  # fmt: skip
    assert printed.endswith("@@ result back\n")


def test_gone_back_with_nobody_following_the_job_runs_what_comes_after(tmp_path):
    info = tmp_path / "lock.info"
    info.write_text("root@vm (deploy)\n2026-11-30 10:00:00 UTC\n999999999\n")  # no such pid
    after = [Step("after_rollback: restart", (Command.of("echo", "restarted on r1"),))]
    noted = {"back": Command.of("echo", "noted")}
    job = beside(tmp_path, verify="false")
    gone = Job(job.service, job.steps, job.back, holder=str(info), gone=noted, gone_back=after)
    printed = run_script(gone.script(), tmp_path)
    assert printed.endswith("@@ end rollback\n@@ begin after_rollback: restart\nrestarted on r1\n"
                            "@@ end after_rollback: restart\nnoted\n@@ result back\n")  # fmt: skip
    info.write_text(f"root@vm (deploy)\n2026-11-30 10:00:00 UTC\n{os.getpid()}\n")  # followed
    (tmp_path / "verify-ran").unlink()
    (tmp_path / "job.log").write_text("")
    assert "restarted on r1" not in run_script(gone.script(), tmp_path)


def test_the_job_starts_in_a_unit_of_its_own_and_is_followed_until_it_ends():
    started = job().start()
    words = shlex.split(started)
    [name] = [w.removeprefix("--unit=") for w in words if w.startswith("--unit=")]
    assert name.startswith("provision-hello-release-") and "--collect" in words
    assert unit("hello") != unit("hello")  # a unit of its own each time
    assert "/bin/sh" in words and "-c" not in words  # its script from a file: no $ expanded
    assert 'tail -n +1 -s 0.1 -f --pid="$pid"' in started
    assert "flock -w 90 /run/lock/provision-hello.job.lock true" in wait_for("hello", 90).render()


def test_the_log_is_there_before_the_job_so_its_follower_never_misses_it():
    # tail -f gives up on a file that does not exist yet: the job's shell creates it only
    # once it runs, which a busy server may do after the follower looked
    started = job().start()
    log = "/run/lock/provision-hello.job.log"
    assert started.startswith(f": > {log}; ") and f"rm -f {log}" not in started
    assert started.index(f": > {log}") < started.index("systemd-run")
