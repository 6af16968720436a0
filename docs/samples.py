"""Write the README's output samples from a real run: `python docs/samples.py` (as root).

Each sample in README.md between ``<!-- sample NAME -->`` and ``<!-- /sample -->`` is
the output of a real command, run here on the sandbox (`fab sandbox`, the repository's
own inventory, or docs/worker.yaml for the worker app) and on a fleet of sandbox hosts
(docs/web.yaml), shortened only where the README elides lines (``...``). The script boots
the hosts itself (and stops them at the end): no sandbox may be running before.

tests/unit/test_readme.py checks the samples against what the code produces.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import urllib.request

from sample_kit import (
    ROOT,
    Run,
    app_copy,
    fab,
    frames_and_roles_left_out,
    only,
    release_or_first,
    sample,
    session,
    task_line,
    write,
)
from samples_fleet import fleet, rolling
from samples_worker import lock, logs, worker

from provision.core import hostkeys


def on_sandbox(run: Run) -> None:
    fab("sandbox", "--stop")
    run.add("quickstart", "fab sandbox --deploy", fab("sandbox", "--deploy"),
            release_or_first(3))  # fmt: skip
    fab("sandbox", "--stop")

    run.add("sandbox", "fab sandbox", fab("sandbox"))
    run.add("never-bootstrapped", "fab deploy -H sandbox", fab("-H", "sandbox", "deploy"))
    run.add("bootstrap-check", "fab bootstrap -H sandbox --check",
            fab("-H", "sandbox", "bootstrap", "--check"))  # fmt: skip
    run.add("bootstrap", "fab bootstrap -H sandbox", fab("-H", "sandbox", "bootstrap"))
    run.add("bootstrap", "fab bootstrap -H sandbox", fab("-H", "sandbox", "bootstrap"),
            only(lambda i, line: not task_line(line)))  # fmt: skip
    first = fab("-H", "sandbox", "deploy")
    run.add("first-deploy-short", "fab deploy -H sandbox", first,
            only(lambda i, line: not task_line(line)))  # fmt: skip
    with urllib.request.urlopen("http://127.0.0.1/health", timeout=10) as answer:
        run.made["first-deploy-short"] += sample("curl http://127.0.0.1/health",
                                                 answer.read().decode())  # fmt: skip
    run.add("deploy-rollback", "fab deploy -H sandbox", first)

    main = ROOT / "example-app" / "main.py"
    before = main.read_text()
    try:
        main.write_text(before + "# a change\n")
        run.add("deploy-rollback", 'echo "# a change" >> example-app/main.py; fab deploy -H '
                "sandbox", fab("-H", "sandbox", "deploy"), release_or_first(0))  # fmt: skip
    finally:
        main.write_text(before)
    for shown, args in (("fab releases -H sandbox", ["releases"]),
                        ("fab rollback -H sandbox", ["rollback"]),
                        ("fab releases -H sandbox", ["releases"])):  # fmt: skip
        run.add("deploy-rollback", shown, fab("-H", "sandbox", *args))
    listed = run.made["deploy-rollback"].rsplit("$ fab releases", 1)[1]
    live = re.search(r"(\S+)\s+live ", listed)[1]
    run.add("deploy-rollback", f"fab rollback -H sandbox --to {live}",
            fab("-H", "sandbox", "rollback", "--to", live))  # fmt: skip
    logs(run)
    lock(run)

    drift(run)
    failures(run)
    migrations(run)
    worker(run)
    process_fails(run)
    host_keys(run)
    postgres(run)
    run.add("secret-unset", "fab deploy -H sandbox --set 'app_env={SECRET_KEY: {env: "
            "APP_SECRET_KEY}}'", fab("-H", "sandbox", "deploy", "--set",
                                     "app_env={SECRET_KEY: {env: APP_SECRET_KEY}}"))  # fmt: skip
    fab("sandbox", "--stop")
    fleet(run)
    rolling(run)


def drift(run: Run) -> None:
    with session() as s:
        s.run_as_root("chmod 0755 /srv/hello/shared && echo 'PasswordAuthentication yes' "
                      ">> /etc/ssh/sshd_config.d/10-provision.conf")  # fmt: skip
    run.add("drift", "fab bootstrap -H sandbox --check --diff",
            fab("-H", "sandbox", "bootstrap", "--check", "--diff"))  # fmt: skip
    fab("-H", "sandbox", "bootstrap")


def failures(run: Run) -> None:
    bad = app_copy("/tmp/badapp", lambda text: text + "\nimport no_such_module  # noqa\n")
    run.add("failed-check", f"fab deploy -H sandbox --set app_source={bad}",
            fab("-H", "sandbox", "deploy", "--set", f"app_source={bad}"),
            frames_and_roles_left_out)  # fmt: skip
    healthy = '    return {"status": "ok", "release": RELEASE}'
    failing = ('    if "PROVISION_RELEASE_DIR" not in __import__("os").environ:  # live\n'
               '        raise RuntimeError("cannot reach the database")\n' + healthy)  # fmt: skip
    bad2 = app_copy("/tmp/badapp2", lambda text: text.replace(healthy, failing))
    run.add("failed-live", f"fab deploy -H sandbox --set app_source={bad2}",
            fab("-H", "sandbox", "deploy", "--set", f"app_source={bad2}"),
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
        run.add("release-command", "fab deploy -H sandbox --set 'app_release_command=python "
                "migrate.py' --set 'app_smoke_paths=[/]'",
                fab("-H", "sandbox", "deploy", "--set", "app_release_command=python migrate.py",
                    "--set", "app_smoke_paths=[/]"), release_or_first(0))  # fmt: skip
    finally:
        path.unlink(missing_ok=True)


def process_fails(run: Run) -> None:
    """The worker app with its process, then a deploy that adds one that cannot start."""
    inventory = "docs/worker.yaml"
    fab("-H", "sandbox", "deploy", "--inventory", inventory)
    crash = "app_processes={worker: python worker.py, crash: python -m nothing_here}"
    run.add("process-fails", f"fab deploy -H sandbox --inventory {inventory} --force --set "
            f"'{crash}'", fab("-H", "sandbox", "deploy", "--inventory", inventory, "--force",
                              "--set", crash),
            release_or_first(0))  # fmt: skip


def host_keys(run: Run) -> None:
    """Another machine at the sandbox's address: its keys made anew."""
    with session() as s:
        s.run_as_root("rm /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null")
    run.add("host-key-changed", "fab status -H sandbox", fab("-H", "sandbox", "status"))
    name = hostkeys.host_name("127.0.0.1", 2222)
    forget = ["ssh-keygen", "-R", name, "-f", str(ROOT / ".provision/known_hosts")]
    subprocess.run(forget, capture_output=True, check=True)
    (ROOT / ".provision/known_hosts.old").unlink(missing_ok=True)  # ssh-keygen's copy of the file
    run.add("host-key-new", "fab releases -H sandbox", fab("-H", "sandbox", "releases"))


def postgres(run: Run) -> None:
    on = ("--set", "postgres_enabled=true")
    run.add("postgres-bootstrap", "fab bootstrap -H sandbox --set postgres_enabled=true",
            fab("-H", "sandbox", "bootstrap", *on),
            only(lambda i, line: not task_line(line) or "postgres" in line))  # fmt: skip
    db_app = ("--set", "app_source=example-db-app", "--set", "app_module=app.main:app",
              "--set", "app_release_command=alembic upgrade head",
              "--set", "app_smoke_paths=[/items]")  # fmt: skip
    run.add("postgres-deploy", "fab deploy -H sandbox   # example-db-app, its README's settings",
            fab("-H", "sandbox", "deploy", *on, *db_app),
            only(lambda i, line: not task_line(line) or "release: link" in line
                 or "release: before_check" in line or "release: check" in line))  # fmt: skip
    run.add("backup", "fab backup -H sandbox", fab("-H", "sandbox", "backup", *on))
    run.add("status-postgres", "fab status -H sandbox",
            fab("-H", "sandbox", "status", *on))  # fmt: skip


def main() -> int:
    run = Run()
    try:
        on_sandbox(run)
    finally:
        fab("sandbox", "--stop")
    left = write(run.made)
    print(f"wrote {len(run.made)} samples into README.md" +
          (f"; not made here: {', '.join(left)}" if left else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
