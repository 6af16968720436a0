"""`fab logs` on a real host: the app's journal and nginx's logs, read over SSH."""

import queue
import secrets
import subprocess
import sys
import threading
import time

import pytest

from tests.helpers import ROOT, get


@pytest.fixture(scope="module")
def live(bootstrapped_host):
    done = bootstrapped_host.fab("deploy")
    assert done.returncode == 0, done.stdout + done.stderr
    return bootstrapped_host


def logs(host, *args):
    return host.fab("logs", *args)


def asked():
    """A path no one asked before, asked once through nginx (the app answers 404)."""
    token = f"/probe-{secrets.token_hex(4)}"
    status, _ = get(token)
    assert status == 404
    return token


def found(host, token, *args, within=20):
    """`fab logs --grep token` once the line is there (the journal takes a moment)."""
    deadline = time.monotonic() + within
    while True:
        done = logs(host, "--grep", token, *args)
        assert done.returncode == 0, done.stdout + done.stderr
        lines = [line for line in done.stdout.splitlines() if token in line]
        if lines or time.monotonic() > deadline:
            print(done.stdout)
            return lines


def test_grep_finds_the_line_the_app_wrote_marked_with_its_host(live):
    token = asked()
    [line] = found(live, token)
    assert line.startswith("[target] ") and f'"GET {token} HTTP/1.1" 404' in line, line
    [access] = found(live, token, "--process", "nginx-access")
    assert access.startswith("[target] ") and f"GET {token} HTTP/1.1" in access


def test_n_gives_the_last_lines(live):
    done = logs(live, "-n", "3")
    print(done.stdout)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("logs -> target (")
    assert len(lines) == 4 and all(line.startswith("[target] ") for line in lines[1:]), lines


def test_follow_prints_new_lines_as_they_come(live):
    token = f"/probe-{secrets.token_hex(4)}"
    command = [sys.executable, "-m", "fabric", "-H", "target", "logs", "--follow",
               "--grep", token, "--inventory", str(live.inventory)]  # fmt: skip
    follow = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    lines = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in follow.stdout], daemon=True)
    reader.start()
    try:
        assert lines.get(timeout=30).startswith("logs -> target (")
        get(token)  # asked after the follower started: it prints the line when it comes
        line = lines.get(timeout=30)
        assert token in line and line.startswith("[target] "), line
        assert follow.poll() is None  # still following
    finally:
        follow.terminate()
        follow.wait(timeout=30)


@pytest.mark.parametrize(
    "args, code, said",
    [
        (["--process", "nginx-acess"], 1,
         "no log named 'nginx-acess' on target; did you mean 'nginx-access'? (logs here: web, "
         "nginx-access, nginx-error)"),
        (["--since", "yesterday"], 2, "error: --since 'yesterday': a time span such as 30s"),
        (["-n", "0"], 2, "error: -n 0: at least one line"),
    ],
)  # fmt: skip
def test_a_log_that_is_not_there_or_a_bad_query_says_so(live, args, code, said):
    done = logs(live, *args)
    print(done.stdout + done.stderr)
    assert done.returncode == code and said in done.stdout + done.stderr, done
