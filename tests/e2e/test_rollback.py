"""Releases that fail, automatic and manual rollbacks, and what is kept, on a real host.

Each test makes the releases it starts from, so each passes when run alone.
"""

import io
import re

from provision.core.output import Output
from provision.core.transport import Session
from provision.project.plays import Project
from provision.release.deploy import DeployOptions
from provision.release.rollout import Rollout
from tests.helpers import ROOT, Web, deployed, listed, live_release, releases_on, venvs_on
from tests.load import Load

ACCESS = re.compile(r'"[A-Z]+ [^"]*" [0-9]{3}( |$)')


def failing_health(app, when_live_only):
    """Make /health answer 500 (under the live service only, or always)."""
    main = (app / "main.py").read_text()
    condition = '"PROVISION_RELEASE_DIR" not in os.environ' if when_live_only else "True"
    main = main.replace(
        'async def health() -> dict:\n    return {"status": "ok", "release": RELEASE}',
        "async def health() -> dict:\n"
        f"    if {condition}:\n"
        '        raise HTTPException(500, "health fails")\n'
        '    return {"status": "ok", "release": RELEASE}',
    )
    main = main.replace("import asyncio\n", "import asyncio\nimport os\n")
    main = main.replace(
        "from fastapi import FastAPI,", "from fastapi import FastAPI, HTTPException,"
    )
    (app / "main.py").write_text(main)


def bad_ones(host):
    return [
        r for r in releases_on(host) if host.file(f"/srv/hello/releases/{r}/.provision-bad").exists
    ]


def test_old_releases_and_their_venvs_are_cleaned(fresh, deploy, app, bootstrapped_host, host):
    keep = ("--set", "app_keep_releases=2")
    r1 = deployed(deploy, *keep)
    r2 = deployed(deploy, *keep)
    (app / "requirements.txt").write_text("fastapi>=0.110\nhumanize==4.9.0\n")
    r3 = deployed(deploy, *keep)
    r4 = deployed(deploy, *keep)
    assert releases_on(host) == [r3, r4]  # the newest two; r1 r2 went
    [venv_b] = venvs_on(host)  # r1's and r2's venv went with them
    assert host.file(f"/srv/hello/releases/{r3}/venv").linked_to.endswith(venv_b)
    assert bootstrapped_host.fab("rollback").returncode == 0  # r4 -> r3
    (app / "requirements.txt").write_text("fastapi>=0.110\n")
    r5 = deployed(deploy, *keep)
    # The newest two (r4, r5), and r3: the one a rollback would go to (r4 was rolled back).
    assert releases_on(host) == [r3, r4, r5]
    venv_a = host.file(f"/srv/hello/releases/{r5}/venv").linked_to.rsplit("/", 1)[1]
    assert venvs_on(host) == sorted([venv_a, venv_b])
    assert r1 < r2 < r3


def test_release_that_fails_to_import_never_goes_live(deploy, app, host):
    good = deployed(deploy)
    (app / "main.py").write_text(
        (app / "main.py").read_text() + "\nimport no_such_module  # noqa: E402,F401\n"
    )
    with Load(Web.address, 80, clients=4) as load:
        done = deploy()
    print(f"\nbad deploy under load: {dict(load.counts)}")
    assert done.returncode == 1
    assert "release: check" in done.stdout
    assert "ModuleNotFoundError: No module named 'no_such_module'" in done.stdout
    assert f"never went live and is marked bad; {good} is still live" in done.stdout
    assert live_release() == good
    assert load.failed == 0, load.failures
    [rid] = re.findall(r"release (\S+) never went live", done.stdout)
    assert rid in bad_ones(host)


def test_a_check_that_can_only_fail_gives_up_at_once(deploy, app):
    good = deployed(deploy)
    failing_health(app, when_live_only=False)
    # With a 600 s health timeout, a check that waited it out would outlast this run.
    done = deploy("--set", "app_health_timeout=600", timeout=120)
    assert done.returncode == 1
    [rid] = re.findall(r"release (\S+) never went live", done.stdout)
    why = (f"release {rid} answered http://127.0.0.1:8001/health with a server error 3 times: "
           f"HTTP 500 from release {rid}")  # fmt: skip
    assert why in done.stdout
    output = done.stdout.split("--- its output:")[1].split(f"release {rid} never went live")[0]
    lines = [line.split("       ", 1)[-1] for line in output.strip().splitlines()]
    assert lines and not [line for line in lines if ACCESS.search(line)], output
    assert live_release() == good


def test_release_failing_after_the_switch_is_rolled_back(deploy, app, bootstrapped_host):
    good = deployed(deploy)
    # Works when checked alone, fails under the live service: the post-switch gate must catch it.
    (app / "main.py").write_text(
        (app / "main.py").read_text()
        + '\nimport os  # noqa: E402\nif "PROVISION_RELEASE_DIR" not in os.environ:\n'
        '    raise RuntimeError("only fails when live")\n'
    )
    done = deploy("--set", "app_health_timeout=600", timeout=120)
    assert done.returncode == 1
    assert "release: verify" in done.stdout and "release: rollback" in done.stdout
    assert f"rolled back to {good}; release" in done.stdout
    assert "RuntimeError: only fails when live" in done.stdout
    assert live_release() == good
    [bad] = re.findall(r"rolled back to \S+; release (\S+) is marked bad", done.stdout)
    assert "bad" in listed(bootstrapped_host.fab("releases").stdout)[bad]


def test_release_answering_errors_once_live_is_rolled_back_at_once(deploy, app, host):
    good = deployed(deploy)
    failing_health(app, when_live_only=True)
    with Load(Web.address, 80, clients=4) as load:
        done = deploy()
        assert live_release() == good
    print(f"\nrelease failing once live, under load: {dict(load.counts)}, errors for "
          f"{load.error_seconds:.2f} s")  # fmt: skip
    assert done.returncode == 1
    assert f"rolled back to {good}" in done.stdout
    assert "with a server error 3 times: HTTP 500 from release" in done.stdout
    assert load.failed > 0  # the release did serve errors: the gate saw them
    assert set(load.counts) <= {"GET 200", "POST 200", "GET 500"}, load.failures
    assert load.error_seconds < 1.0


def test_rollback_skips_bad_releases(deploy, app, bootstrapped_host, host):
    deployed(deploy)
    good = deployed(deploy)
    main = (app / "main.py").read_text()
    failing_health(app, when_live_only=False)
    assert deploy().returncode == 1  # a bad release, newer than good
    (app / "main.py").write_text(main + "\n# fixed\n")
    new = deployed(deploy)
    rows = listed(bootstrapped_host.fab("releases").stdout)
    assert "previous" in rows[good] and len(bad_ones(host)) >= 1
    done = bootstrapped_host.fab("rollback")
    assert done.returncode == 0, done.stdout
    assert live_release() == good != new
    assert f"{new} -> {good}" in done.stdout


def test_a_release_rolled_back_from_is_not_rolled_back_to(deploy, bootstrapped_host):
    r1 = deployed(deploy)
    r2 = deployed(deploy)
    assert bootstrapped_host.fab("rollback").returncode == 0
    assert live_release() == r1
    r3 = deployed(deploy)
    rows = listed(bootstrapped_host.fab("releases").stdout)
    assert rows[r2] == {"rolled back"} and "previous" in rows[r1] and "live" in rows[r3]
    done = bootstrapped_host.fab("rollback")
    assert done.returncode == 0, done.stdout
    assert live_release() == r1  # not r2, which was rolled back from
    done = bootstrapped_host.fab("rollback", "--to", r2)  # still reachable on purpose
    assert done.returncode == 0, done.stdout
    assert live_release() == r2
    assert "rolled back" not in listed(bootstrapped_host.fab("releases").stdout)[r2]


def test_hooks_run_in_order_a_failing_one_before_the_switch_changes_nothing_and_after_goes_back(
    bootstrapped_host, app, host
):
    """The engine as a library, with the test role `hooklog` added to the deploy play."""
    project = Project.load(ROOT, bootstrapped_host.inventory, extra=[ROOT / "tests" / "roles"])
    play = project.play("deploy")
    for roles in play.kinds.values():
        roles.append(project.roles["hooklog"])
    [target] = project.targets("target")
    log = "/var/log/provision-hooklog"

    def run(action, **settings):
        out = io.StringIO()
        overrides = {"app_source": str(app), "hooklog_path": log, "nginx_rate": "100000r/s",
                     **settings}  # fmt: skip
        options = DeployOptions(project_root=ROOT, force=True, overrides=overrides)
        [tally] = Rollout(action, [Session(target)], play, options, Output(out)).run().values()
        return tally, out.getvalue()

    assert run("deploy")[0].failed == 0  # a release to come back to
    before = live_release()
    host.run(f"rm -f {log}")
    tally, out = run("deploy")
    assert tally.failed == 0, out
    new = live_release()
    assert host.file(log).content_string.splitlines() == [
        f"before_check {new} {before}", f"before_switch {new} {before}",
        f"after_switch {new} {before}", f"with_verify {new} {before}",
        f"after_verify {new} {before}",
    ]  # fmt: skip

    host.run(f"rm -f {log}")
    with Load(Web.address, 80, clients=2) as load:
        tally, out = run("deploy", hooklog_fail_at="before_switch")
    assert tally.failed == 1
    assert f"never went live and is marked bad; {new} is still live" in out
    assert live_release() == new and load.failed == 0, load.failures
    lines = host.file(log).content_string.splitlines()
    assert [line.split()[0] for line in lines] == ["before_check", "before_switch"]

    host.run(f"rm -f {log}")  # a step beside the verify fails: the release goes back
    with Load(Web.address, 80, clients=2) as load:
        tally, out = run("deploy", hooklog_fail_at="with_verify")
    assert tally.failed == 1
    assert f"rolled back to {new}; release " in out, out
    assert live_release() == new and load.failed == 0, load.failures
    lines = host.file(log).content_string.splitlines()
    assert [line.split()[0] for line in lines] == [
        "before_check",
        "before_switch",
        "after_switch",
        "with_verify",
        "after_rollback",
    ]

    host.run(f"rm -f {log}")
    tally, out = run("rollback")
    assert tally.failed == 0, out
    assert live_release() == before
    assert host.file(log).content_string.splitlines() == [f"after_rollback {before} {new}"]


MIGRATE = """import os, sys
import fastapi

# Debian 12, and Debian 13 ("trixie"): what a new cloud VM gets
SUITES = ("bookworm", "trixie")
print("migrating in", os.getcwd(), "as", os.environ.get("USER", os.getuid()))
print("settings:", "DATABASE_PASSWORD" in os.environ, "with", fastapi.__name__)
sys.exit(3 if os.path.exists("fail-migration") else 0)
"""


def test_the_release_command_runs_in_the_new_release_before_it_goes_live(deploy, app, host):
    good = deployed(deploy)
    (app / "migrate.py").write_text(MIGRATE)
    done = deploy("--set", "app_release_command=python migrate.py")
    assert done.returncode == 0, done.stdout + done.stderr
    new = live_release()
    uid = host.user("app").uid
    assert f"[target]           | migrating in /srv/hello/releases/{new} as {uid}" in done.stdout
    assert "[target]           | settings: True with fastapi" in done.stdout  # venv and .env
    lines = done.stdout.splitlines()
    step = next(i for i, line in enumerate(lines) if "before_check: release command" in line)
    check = next(i for i, line in enumerate(lines) if "release: check" in line)
    assert step < check
    assert new != good


def test_a_failing_release_command_never_goes_live(deploy, app, host):
    good = deployed(deploy)
    (app / "migrate.py").write_text(MIGRATE)
    (app / "fail-migration").write_text("")
    with Load(Web.address, 80, clients=2) as load:
        done = deploy("--set", "app_release_command=python migrate.py")
    assert done.returncode == 1
    assert "failed    release: before_check: release command" in done.stdout
    assert "`python migrate.py` exited 3:" in done.stdout
    assert "migrating in /srv/hello/releases/" in done.stdout  # its output, in the error
    assert f"never went live and is marked bad; {good} is still live" in done.stdout
    assert live_release() == good and load.failed == 0, load.failures
    [rid] = re.findall(r"release (\S+) never went live", done.stdout)
    assert rid in bad_ones(host)


def test_a_release_whose_smoke_path_fails_never_goes_live(deploy, app):
    good = deployed(deploy)
    (app / "main.py").write_text(
        (app / "main.py").read_text() + '\n\n@app.get("/items")\nasync def items() -> list:\n'
        '    raise RuntimeError("no such table: items")\n'
    )
    done = deploy("--set", "app_smoke_paths=[/, /items]")
    assert done.returncode == 1
    [rid] = re.findall(r"release (\S+) never went live", done.stdout)
    assert f"release {rid}: smoke path /items answered HTTP 500 from release {rid}" in done.stdout
    assert "RuntimeError: no such table: items" in done.stdout  # the cause, from its output
    assert live_release() == good
    done = deploy("--set", "app_smoke_paths=[/]")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "release: check  (answered on 127.0.0.1:8001/health, and /, " in done.stdout
