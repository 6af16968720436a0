"""The README's samples of the deploy lock, `fab logs`, and of the worker app
(docs/worker.yaml: a background process and scheduled jobs) with `fab exec`, `fab status`
and `fab doctor`, each from a real run on the sandbox."""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from sample_kit import Run, fab, fab_watched, only, release_or_first, run_fab, session

from provision.release.deploy_lock import DeployLock

WORKER = ("--inventory", "docs/worker.yaml")
SHOWN = "--inventory docs/worker.yaml"


def until(what: str, output: Callable[[], str], done: Callable[[str], bool]) -> str:
    """``output()`` once ``done`` says it shows ``what``, within a minute."""
    deadline = time.monotonic() + 60
    while not done(text := output()):
        if time.monotonic() > deadline:
            raise SystemExit(f"samples: {what} did not show within a minute:\n{text}")
    return text


def lock(run: Run) -> None:
    """A deploy refused while another holds the lock, one that waits for it, one that
    takes it over."""
    lines = only(lambda i, line: i == 0 or " release: lock" in line or not line
                 or " : ok=" in line)  # fmt: skip
    with session() as s:
        held = DeployLock(s, "hello", "deploy")
        held.acquire()
        run.add("lock", "fab deploy -H sandbox", fab("-H", "sandbox", "deploy"))
        # the deploy that waits takes it once it is let go
        printed = fab_watched(
            ["-H", "sandbox", "deploy", "--wait", "60"],
            lambda line: "waiting   release: lock" in line,
            held.release,
        )
        run.add("lock", "fab deploy -H sandbox --wait 60", printed, lines)
        DeployLock(s, "hello", "deploy").acquire()  # held until taken over
        run.add("lock", "fab deploy -H sandbox --take-over",
                fab("-H", "sandbox", "deploy", "--take-over"), lines)  # fmt: skip


def logs(run: Run) -> None:
    """The app's journal and nginx's access log, with a request for a page it lacks."""
    probe = f"/probe-{secrets.token_hex(4)}"
    try:
        urllib.request.urlopen(f"http://127.0.0.1{probe}", timeout=10)
    except urllib.error.HTTPError as e:
        assert e.code == 404, e
    grep = ("-H", "sandbox", "logs", "--grep", probe)
    found = until("the request in the app's log", lambda: fab(*grep), lambda out: probe in out)
    run.add("logs", "fab logs -H sandbox -n 3", fab("-H", "sandbox", "logs", "-n", "3"))
    run.add("logs", f"fab logs -H sandbox --grep {probe}", found)
    run.add("logs", f"fab logs -H sandbox --process nginx-access --grep {probe}",
            fab(*grep, "--process", "nginx-access"))  # fmt: skip
    run.add("logs", "fab logs -H sandbox --process nginx-acess",
            fab("-H", "sandbox", "logs", "--process", "nginx-acess"))  # fmt: skip


def worker(run: Run) -> None:
    """A deploy while the worker has a job in hand; then status, exec and doctor."""
    fab("-H", "sandbox", "deploy", *WORKER)
    run.add(
        "worker-deploy",
        f"fab exec -H sandbox {SHOWN} -- python -m jobs add 8",
        fab("-H", "sandbox", "exec", *WORKER, "--", "python", "-m", "jobs", "add", "8"),
    )
    run.add(
        "worker-deploy",
        f"fab deploy -H sandbox {SHOWN} --force",
        fab("-H", "sandbox", "deploy", *WORKER, "--force"),
        release_or_first(0),
    )
    run.add("worker-deploy", f'fab logs -H sandbox {SHOWN} --process worker --grep "worker 20" '
            "-n 5", fab("-H", "sandbox", "logs", *WORKER, "--process", "worker", "--grep",
                        "worker 20", "-n", "5"))  # fmt: skip

    status = ("-H", "sandbox", "status", *WORKER)
    run.add("status", f"fab status -H sandbox {SHOWN}",
            until("both jobs' last runs", lambda: fab(*status),
                  lambda out: out.count("last run") == 2))  # fmt: skip
    fields = json.loads(run_fab(*status, "--json", stdout_only=True).stdout)["sandbox"]
    picked = "\n".join(json.dumps(v, indent=2) for v in (fields["tick"], fields["web"]["children"]))
    run.add("status-json", f"fab status -H sandbox {SHOWN} --json 2>/dev/null | "
            "jq '.sandbox.tick, .sandbox.web.children'", picked)  # fmt: skip

    run.add(
        "exec",
        f"fab exec -H sandbox {SHOWN} -- python -m jobs show",
        fab("-H", "sandbox", "exec", *WORKER, "--", "python", "-m", "jobs", "show"),
    )
    three = 'python -c "import sys; sys.exit(3)"'
    done = run_fab("-H", "sandbox", "exec", *WORKER, "--", three)
    run.add("exec", f"fab exec -H sandbox {SHOWN} -- '{three}'; echo \"exit status $?\"",
            f"{done.stdout}exit status {done.returncode}\n")  # fmt: skip

    mistakes = "app_source=tests/apps/mistakes"
    run.add("doctor", f"fab doctor --set {mistakes}", fab("doctor", "--set", mistakes))
    run.add("doctor", f"fab doctor -H sandbox {SHOWN}", fab("-H", "sandbox", "doctor", *WORKER))
