"""The samples of the deploy lock, `provision logs`, and of the worker app
(docs/worker.yaml: a background process and scheduled jobs) with `provision exec`,
`provision status` and `provision doctor`, each from a real run on the sandbox."""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from sample_kit import (
    Run,
    only,
    provision,
    provision_watched,
    release_or_first,
    run_provision,
    session,
)

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
        run.add("lock", "provision deploy -H sandbox", provision("-H", "sandbox", "deploy"))
        # the deploy that waits takes it once it is let go
        printed = provision_watched(
            ["-H", "sandbox", "deploy", "--wait", "60"],
            lambda line: "waiting   release: lock" in line,
            held.release,
        )
        run.add("lock", "provision deploy -H sandbox --wait 60", printed, lines)
        DeployLock(s, "hello", "deploy").acquire()  # held until taken over
        run.add("lock", "provision deploy -H sandbox --take-over",
                provision("-H", "sandbox", "deploy", "--take-over"), lines)  # fmt: skip


def logs(run: Run) -> None:
    """The app's journal and nginx's access log, with a request for a page it lacks."""
    probe = f"/probe-{secrets.token_hex(4)}"
    try:
        urllib.request.urlopen(f"http://127.0.0.1{probe}", timeout=10)
    except urllib.error.HTTPError as e:
        assert e.code == 404, e
    grep = ("-H", "sandbox", "logs", "--grep", probe)
    found = until(
        "the request in the app's log", lambda: provision(*grep), lambda out: probe in out
    )
    run.add("logs", "provision logs -H sandbox -n 3", provision("-H", "sandbox", "logs", "-n", "3"))
    run.add("logs", f"provision logs -H sandbox --grep {probe}", found)
    run.add("logs", f"provision logs -H sandbox --process nginx-access --grep {probe}",
            provision(*grep, "--process", "nginx-access"))  # fmt: skip
    run.add("logs", "provision logs -H sandbox --process nginx-acess",
            provision("-H", "sandbox", "logs", "--process", "nginx-acess"))  # fmt: skip


def worker(run: Run) -> None:
    """A deploy while the worker has a job in hand; then status, exec and doctor."""
    provision("-H", "sandbox", "deploy", *WORKER)
    run.add(
        "worker-deploy",
        f"provision exec -H sandbox {SHOWN} -- python -m jobs add 8",
        provision("-H", "sandbox", "exec", *WORKER, "--", "python", "-m", "jobs", "add", "8"),
    )
    run.add(
        "worker-deploy",
        f"provision deploy -H sandbox {SHOWN} --force",
        provision("-H", "sandbox", "deploy", *WORKER, "--force"),
        release_or_first(0),
    )
    run.add("worker-deploy", f'provision logs -H sandbox {SHOWN} --process worker --grep '
            '"worker 20" -n 5', provision("-H", "sandbox", "logs", *WORKER, "--process",
                                          "worker", "--grep", "worker 20", "-n", "5"))  # fmt: skip

    status = ("-H", "sandbox", "status", *WORKER)
    run.add("status", f"provision status -H sandbox {SHOWN}",
            until("both jobs' last runs", lambda: provision(*status),
                  lambda out: out.count("last run") == 2))  # fmt: skip
    fields = json.loads(run_provision(*status, "--json", stdout_only=True).stdout)["sandbox"]
    picked = "\n".join(json.dumps(v, indent=2) for v in (fields["tick"], fields["web"]["children"]))
    run.add("status-json", f"provision status -H sandbox {SHOWN} --json 2>/dev/null | "
            "jq '.sandbox.tick, .sandbox.web.children'", picked)  # fmt: skip

    run.add(
        "exec",
        f"provision exec -H sandbox {SHOWN} -- python -m jobs show",
        provision("-H", "sandbox", "exec", *WORKER, "--", "python", "-m", "jobs", "show"),
    )
    three = 'python -c "import sys; sys.exit(3)"'
    done = run_provision("-H", "sandbox", "exec", *WORKER, "--", three)
    run.add("exec", f"provision exec -H sandbox {SHOWN} -- '{three}'; echo \"exit status $?\"",
            f"{done.stdout}exit status {done.returncode}\n")  # fmt: skip

    mistakes = "app_source=tests/apps/mistakes"
    run.add("doctor", f"provision doctor --set {mistakes}", provision("doctor", "--set", mistakes))
    run.add(
        "doctor",
        f"provision doctor -H sandbox {SHOWN}",
        provision("-H", "sandbox", "doctor", *WORKER),
    )
