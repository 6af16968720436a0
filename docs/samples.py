"""Write the documentation's output samples from a real run: `python docs/samples.py`
(as root).

Each sample in README.md and docs/*.md between ``<!-- sample NAME -->`` and
``<!-- /sample -->`` is the output of a real command, run here on the sandbox
(`provision sandbox`, the repository's own inventory, or docs/worker.yaml for the worker
app), on a fleet of sandbox hosts (docs/web.yaml), with two apps on the sandbox
(docs/apps.yaml), from a sample app's repository of its own (the README's quickstart),
and the container road's files (`python docs/samples.py containers` makes those alone),
shortened only where the page elides lines (``...``).
The script boots the hosts itself (and stops them at the end): no sandbox may be running
before.

tests/unit/test_docs.py checks the samples against what the code produces.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from sample_kit import (
    ROOT,
    Run,
    app_copy,
    frames_and_roles_left_out,
    only,
    provision,
    release_or_first,
    sample,
    session,
    task_line,
    write,
)
from samples_apps import apps
from samples_containers import containers
from samples_fleet import fleet, rolling
from samples_worker import lock, logs, worker

from provision.core import hostkeys


def on_sandbox(run: Run) -> None:
    provision("sandbox", "--stop")
    run.add("quickstart", "provision sandbox --deploy", provision("sandbox", "--deploy"),
            release_or_first(3))  # fmt: skip
    provision("sandbox", "--stop")

    run.add("sandbox", "provision sandbox", provision("sandbox"))
    run.add(
        "never-bootstrapped", "provision deploy -H sandbox", provision("-H", "sandbox", "deploy")
    )
    run.add("bootstrap-check", "provision bootstrap -H sandbox --check",
            provision("-H", "sandbox", "bootstrap", "--check"))  # fmt: skip
    run.add("bootstrap", "provision bootstrap -H sandbox", provision("-H", "sandbox", "bootstrap"))
    run.add("bootstrap", "provision bootstrap -H sandbox", provision("-H", "sandbox", "bootstrap"),
            only(lambda i, line: not task_line(line)))  # fmt: skip
    first = provision("-H", "sandbox", "deploy")
    run.add("first-deploy-short", "provision deploy -H sandbox", first,
            only(lambda i, line: not task_line(line)))  # fmt: skip
    with urllib.request.urlopen("http://127.0.0.1/health", timeout=10) as answer:
        run.made["first-deploy-short"] += sample("curl http://127.0.0.1/health",
                                                 answer.read().decode())  # fmt: skip
    run.add("deploy-rollback", "provision deploy -H sandbox", first)

    main = ROOT / "example-app" / "main.py"
    before = main.read_text()
    try:
        main.write_text(before + "# a change\n")
        run.add("deploy-rollback", 'echo "# a change" >> example-app/main.py; provision deploy -H '
                "sandbox", provision("-H", "sandbox", "deploy"), release_or_first(0))  # fmt: skip
    finally:
        main.write_text(before)
    for shown, args in (("provision releases -H sandbox", ["releases"]),
                        ("provision rollback -H sandbox", ["rollback"]),
                        ("provision releases -H sandbox", ["releases"])):  # fmt: skip
        run.add("deploy-rollback", shown, provision("-H", "sandbox", *args))
    listed = run.made["deploy-rollback"].rsplit("$ provision releases", 1)[1]
    live = re.search(r"(\S+)\s+live ", listed)[1]
    run.add("deploy-rollback", f"provision rollback -H sandbox --to {live}",
            provision("-H", "sandbox", "rollback", "--to", live))  # fmt: skip
    logs(run)
    lock(run)

    drift(run)
    failures(run)
    migrations(run)
    worker(run)
    process_fails(run)
    host_keys(run)
    postgres(run)
    run.add("secret-unset", "provision deploy -H sandbox --set 'app_env={SECRET_KEY: {env: "
            "APP_SECRET_KEY}}'", provision("-H", "sandbox", "deploy", "--set",
                                     "app_env={SECRET_KEY: {env: APP_SECRET_KEY}}"))  # fmt: skip
    provision("sandbox", "--stop")
    fleet(run)
    rolling(run)
    apps(run)
    own_app(run)


def drift(run: Run) -> None:
    with session() as s:
        s.run_as_root("chmod 0755 /srv/hello/shared && echo 'PasswordAuthentication yes' "
                      ">> /etc/ssh/sshd_config.d/10-provision.conf")  # fmt: skip
    run.add("drift", "provision bootstrap -H sandbox --check --diff",
            provision("-H", "sandbox", "bootstrap", "--check", "--diff"))  # fmt: skip
    provision("-H", "sandbox", "bootstrap")


def failures(run: Run) -> None:
    bad = app_copy("/tmp/badapp", lambda text: text + "\nimport no_such_module  # noqa\n")
    run.add("failed-check", f"provision deploy -H sandbox --set app_source={bad}",
            provision("-H", "sandbox", "deploy", "--set", f"app_source={bad}"),
            frames_and_roles_left_out)  # fmt: skip
    healthy = '    return {"status": "ok", "release": RELEASE}'
    failing = ('    if "PROVISION_RELEASE_DIR" not in __import__("os").environ:  # live\n'
               '        raise RuntimeError("cannot reach the database")\n' + healthy)  # fmt: skip
    bad2 = app_copy("/tmp/badapp2", lambda text: text.replace(healthy, failing))
    run.add("failed-live", f"provision deploy -H sandbox --set app_source={bad2}",
            provision("-H", "sandbox", "deploy", "--set", f"app_source={bad2}"),
            frames_and_roles_left_out)  # fmt: skip
    for path in (bad, bad2):
        shutil.rmtree(path, ignore_errors=True)


MIGRATE = """import os

print("INFO  migrating the database in", os.getcwd())
print("INFO  Running upgrade  -> 1a2b3c, create items")
"""


def migrations(run: Run) -> None:
    """A stand-in migrate.py that prints what Alembic would."""
    path = ROOT / "example-app" / "migrate.py"
    try:
        path.write_text(MIGRATE)
        settings = ("--set", "app_release_command=python migrate.py",
                    "--set", "app_smoke_paths=[/]")  # fmt: skip
        run.add("release-command", "provision deploy -H sandbox --set 'app_release_command="
                "python migrate.py' --set 'app_smoke_paths=[/]'",
                provision("-H", "sandbox", "deploy", *settings), release_or_first(0))  # fmt: skip
    finally:
        path.unlink(missing_ok=True)


def process_fails(run: Run) -> None:
    """The worker app with its process, then a deploy that adds one that cannot start."""
    inventory = "docs/worker.yaml"
    provision("-H", "sandbox", "deploy", "--inventory", inventory)
    crash = "app_processes={worker: python worker.py, crash: python -m nothing_here}"
    run.add("process-fails", f"provision deploy -H sandbox --inventory {inventory} --force --set "
            f"'{crash}'", provision("-H", "sandbox", "deploy", "--inventory", inventory, "--force",
                              "--set", crash),
            release_or_first(0))  # fmt: skip


def host_keys(run: Run) -> None:
    """Another machine at the sandbox's address: its keys made anew."""
    with session() as s:
        s.run_as_root("rm /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null")
    run.add("host-key-changed", "provision status -H sandbox", provision("-H", "sandbox", "status"))
    name = hostkeys.host_name("127.0.0.1", 2222)
    forget = ["ssh-keygen", "-R", name, "-f", str(ROOT / ".provision/known_hosts")]
    subprocess.run(forget, capture_output=True, check=True)
    (ROOT / ".provision/known_hosts.old").unlink(missing_ok=True)  # ssh-keygen's copy of the file
    run.add("host-key-new", "provision releases -H sandbox", provision("-H", "sandbox", "releases"))


def postgres(run: Run) -> None:
    on = ("--set", "postgres_enabled=true")
    run.add("postgres-bootstrap", "provision bootstrap -H sandbox --set postgres_enabled=true",
            provision("-H", "sandbox", "bootstrap", *on),
            only(lambda i, line: not task_line(line) or "postgres" in line))  # fmt: skip
    db_app = ("--set", "app_source=example-db-app", "--set", "app_module=app.main:app",
              "--set", "app_release_command=alembic upgrade head",
              "--set", "app_smoke_paths=[/items]")  # fmt: skip
    run.add("postgres-deploy",
            "provision deploy -H sandbox   # example-db-app, its README's settings",
            provision("-H", "sandbox", "deploy", *on, *db_app),
            only(lambda i, line: not task_line(line) or "release: link" in line
                 or "release: before_check" in line or "release: check" in line))  # fmt: skip
    run.add("backup", "provision backup -H sandbox", provision("-H", "sandbox", "backup", *on))
    run.add("status-postgres", "provision status -H sandbox",
            provision("-H", "sandbox", "status", *on))  # fmt: skip


HOOK = """#!/bin/sh
echo "deployed $PROVISION_RELEASE to $PROVISION_HOSTS ($PROVISION_OUTCOME, $PROVISION_DURATION s)"
"""
GUARD = """#!/bin/sh
test -z "$(git status --porcelain)" || { echo "commit first"; exit 1; }
"""


def git(where: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=you", "-c", "user.email=you@example.com", *args],
                   cwd=where, check=True)  # fmt: skip


def own_app(run: Run) -> None:
    """The README's quickstart as a new user follows it: the sample app as a repository of
    its own, outside this one; then its hooks."""
    where = Path(tempfile.mkdtemp(prefix="samples-")) / "notes"
    shutil.copytree(ROOT / "tests" / "apps" / "packaged", where)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "notes"]):
        git(where, *args)
    try:
        run.add("init", "provision init", provision("init", cwd=where))
        run.add("own-app", "provision sandbox", provision("sandbox", cwd=where))
        run.add("own-app", "provision bootstrap -H sandbox",
                provision("-H", "sandbox", "bootstrap", cwd=where),
                only(lambda i, line: not task_line(line)))  # fmt: skip
        run.add(
            "own-app",
            "provision deploy -H sandbox",
            provision("-H", "sandbox", "deploy", cwd=where),
            release_or_first(0),
        )
        with urllib.request.urlopen("http://127.0.0.1/", timeout=10) as answer:
            run.made["own-app"] += sample("curl http://127.0.0.1/", answer.read().decode())
        (where / "hooks").mkdir()
        for name, text in (("after-deploy", HOOK), ("before-deploy", GUARD)):
            (where / "hooks" / name).write_text(text)
            (where / "hooks" / name).chmod(0o755)
        run.add(
            "hooks", "provision deploy -H sandbox", provision("-H", "sandbox", "deploy", cwd=where)
        )  # refused: not committed
        git(where, "add", "-A")
        git(where, "commit", "-qm", "provision's inventory and hooks")
        run.add("hooks", "git add -A && git commit -qm \"provision's inventory and hooks\"; "
                "provision deploy -H sandbox", provision("-H", "sandbox", "deploy", cwd=where),
                release_or_first(0))  # fmt: skip
    finally:
        provision("sandbox", "--stop", cwd=where)
        shutil.rmtree(where.parent, ignore_errors=True)


def main() -> int:
    run = Run()
    if sys.argv[1:] == ["containers"]:  # the container road's samples alone: no sandbox
        containers(run)
    else:
        try:
            on_sandbox(run)
        finally:
            provision("sandbox", "--stop")
        containers(run)
    left = write(run.made)
    print(f"wrote {len(run.made)} samples into the documentation" +
          (f"; not made here: {', '.join(left)}" if left else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
