"""`fab deploy`, `fab rollback` and `fab releases` on a real, bootstrapped Debian host.

The module shares one host, but every test makes the state it needs itself (a fresh
copy of the example app, the releases it starts from), so each passes when run alone.
HTTP goes through the host's nginx, at its address on the tests' private network.
"""

import json
import re
import shlex
import threading
import time
from pathlib import Path

from tests.e2e.conftest import SECRET
from tests.helpers import Web, deployed, get, live_release, recap, releases_on
from tests.load import Load

# Debian 12, and Debian 13 ("trixie"): what a new cloud VM gets
SUITES = ("bookworm", "trixie")

SIZE = (
    '\n\nimport humanize  # noqa: E402\n\n\n@app.get("/size")\nasync def size() -> dict:\n'
    '    return {"size": humanize.naturalsize(123456789), "humanize": humanize.__version__}\n'
)


def with_humanize(app, version):
    (app / "requirements.txt").write_text(f"fastapi>=0.110\nhumanize=={version}\n")
    if "/size" not in (app / "main.py").read_text():
        (app / "main.py").write_text((app / "main.py").read_text() + SIZE)


def test_first_deploy_serves_the_app(fresh, deploy, host):
    done = deploy("--diff")
    assert done.returncode == 0, done.stdout + done.stderr
    assert recap(done.stdout)["target"]["failed"] == 0
    rid = live_release()
    assert host.file("/srv/hello/current").linked_to == f"/srv/hello/releases/{rid}"
    for path in ("main.py", "static/hello.txt", "gunicorn.conf.py", "REVISION"):
        shipped = host.file(f"/srv/hello/current/{path}")
        assert shipped.user == "root" and shipped.mode & 0o044 == 0o044  # the app reads it
    assert get("/static/hello.txt") == (200, "hello from provision's example app\n")
    assert f"release: switch  (nothing -> {rid}" in done.stdout
    assert "release: reload  (systemctl start hello" in done.stdout
    assert "nginx_site: HTTPS  (no app_domain: HTTP only" in done.stdout


def test_deploy_with_nothing_changed_changes_nothing(deploy):
    deploy(force=False)
    live = live_release()
    done = deploy("--diff", force=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert recap(done.stdout)["target"]["changed"] == 0
    assert f"release: unchanged  ({live} is live with this very content" in done.stdout
    assert "reload" not in done.stdout
    assert live_release() == live


def test_rollback_with_no_previous_release_changes_nothing(fresh, deploy, bootstrapped_host, host):
    live = deployed(deploy)
    assert releases_on(host) == [live]
    done = bootstrapped_host.fab("rollback")
    assert done.returncode == 1
    assert f"no previous release to roll back to (live: {live}); nothing changed" in done.stdout
    assert live_release() == live


def test_service_unit_and_gunicorn_config(deploy, host):
    deployed(deploy)
    unit = host.file("/etc/systemd/system/hello.service").content_string
    for line in ("User=app", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=always", "RestartSec=3",
                 "After=network.target",
                 "ExecStart=/srv/hello/current/venv/bin/python -m gunicorn -c "
                 "/srv/hello/current/gunicorn.conf.py"):  # fmt: skip
        assert line in unit.splitlines()
    service = host.service("hello")
    assert service.is_running and service.is_enabled
    master = host.process.get(comm="python", ppid="1")
    assert master.user == "app"
    conf = host.file("/srv/hello/current/gunicorn.conf.py").content_string
    cpus = int(host.check_output("nproc"))
    assert f"workers = {2 * cpus + 1}" in conf  # app_workload: mixed
    assert 'worker_class = "provision_gunicorn.DrainingUvicornWorker"' in conf
    assert not [line for line in conf.splitlines() if line.startswith("reload")]  # never --reload
    for setting in ("timeout = 30", "graceful_timeout = 30", "keepalive = 5", "max_requests = 1000",
                    "max_requests_jitter = 100", "limit_request_line = 4094",
                    "limit_request_fields = 100", 'accesslog = "-"', 'errorlog = "-"',
                    "control_socket_disable = True"):  # fmt: skip
        assert setting in conf.splitlines()
    workers = 2 * cpus + 1
    deadline = time.monotonic() + 30  # workers of an earlier release may still be draining
    while int(host.check_output(f"pgrep -c -P {master.pid}")) != workers:
        assert time.monotonic() < deadline, "the master never settled on its worker count"
        time.sleep(0.1)


def test_secrets_stay_out_of_output_and_releases(deploy, host):
    deployed(deploy)
    env = host.file("/srv/hello/shared/.env")
    assert (env.user, env.group, env.mode) == ("app", "app", 0o600)
    assert f'DATABASE_PASSWORD="{SECRET}"' in env.content_string
    assert host.file("/srv/hello/current/.env").linked_to == "/srv/hello/shared/.env"
    leaked = host.run(f"grep -rl --exclude=.env {SECRET} /srv/hello/releases /srv/hello/wheels")
    assert leaked.stdout == ""
    done = deploy("--diff", "--set", "app_env={DATABASE_PASSWORD: changed-" + SECRET + "}")
    assert done.returncode == 0, done.stdout
    assert SECRET not in done.stdout + done.stderr
    assert "/srv/hello/shared/.env: content hidden (sensitive)" in done.stdout


def journal_cursor(host):
    """Where the app's log ends now, for ``journal_after``."""
    out = host.check_output("journalctl -u hello -n 0 --show-cursor --no-pager")
    return out.rsplit("-- cursor: ", 1)[1].strip()


def journal_after(host, cursor):
    """The app's log lines written since ``cursor``."""
    return host.check_output(f"journalctl -u hello --after-cursor='{cursor}' --no-pager -o cat")


def test_new_code_and_new_dependency(deploy, app):
    before = deployed(deploy)
    with_humanize(app, "4.9.0")
    done = deploy()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "release: venv  (built venvs/" in done.stdout or "(reused venvs/" in done.stdout
    assert live_release() != before
    assert get("/size") == (200, '{"size":"123.5 MB","humanize":"4.9.0"}')


def test_pip_builds_the_venv_where_uv_is_not_wanted(deploy, app, host):
    # bootstrapped with uv as the installer: python3-venv, which only pip needs, is not here
    assert not host.package("python3-venv").is_installed
    with_humanize(app, "4.8.0")  # pins no other test deploys: a venv of its own to build
    done = deploy("--set", "release_installer=pip")
    assert done.returncode == 0, done.stdout + done.stderr
    assert ("base: packages python3-venv, procps, logrotate, unattended-upgrades  "
            "(install python3-venv)") in done.stdout  # fmt: skip
    assert re.search(r"release: venv  \(built venvs/[0-9a-f]+, ", done.stdout), done.stdout
    assert host.file("/srv/hello/current/venv/bin/pip").exists  # python3 -m venv's own pip
    assert get("/size") == (200, '{"size":"123.5 MB","humanize":"4.8.0"}')


def test_master_preloads_the_libraries_and_not_the_app(deploy, app, host):
    with_humanize(app, "4.9.0")
    deployed(deploy)
    cursor = journal_cursor(host)
    deployed(deploy)  # same virtualenv: a plain reload
    preload = host.file("/srv/hello/current/.provision/preload").content_string.split()
    assert {"fastapi", "pydantic", "humanize"} <= set(preload)
    assert "main" not in preload and "provision_gunicorn" not in preload
    log = journal_after(host, cursor)
    preloaded = [line for line in log.splitlines() if "library modules in" in line]
    assert preloaded and f"preloaded {len(preload)} library modules" in preloaded[-1], log
    assert "left to the workers" not in preloaded[-1]
    assert "fresh master" not in log


def test_a_reload_with_uvloop_installed_loses_nothing_and_logs_no_error(deploy, app, host):
    """uvicorn[standard] brings uvloop: the workers still drain (they run on asyncio's
    loop), and their shutdown logs no "Error while closing socket"."""
    with (app / "requirements.txt").open("a") as f:
        f.write("uvloop\n")
    deployed(deploy)
    cursor = journal_cursor(host)
    old = set(host.check_output("ps -o pid= --ppid $(systemctl show -p MainPID --value hello)")
              .split())  # fmt: skip
    with Load(Web.address, 80, clients=4) as load:
        deployed(deploy)  # a reload: the old workers shut down
    assert load.failed == 0 and load.total > 50, (load.counts, load.failures)
    deadline = time.monotonic() + 30
    while not all(f"Finished server process [{pid}]" in journal_after(host, cursor) for pid in old):
        assert time.monotonic() < deadline, journal_after(host, cursor)
        time.sleep(0.2)
    log = journal_after(host, cursor)
    assert "Shutting down" in log and "uvloop" in host.check_output(
        "ls /srv/hello/current/venv/lib/python3*/site-packages"
    )
    assert "Error while closing socket" not in log, log


def test_dependency_upgrade_under_load_gets_a_fresh_master(deploy, app, host):
    with_humanize(app, "4.9.0")
    before = deployed(deploy)
    main_pid = host.check_output("systemctl show -p MainPID --value hello")
    cursor = journal_cursor(host)
    slow = []
    in_flight = threading.Thread(target=lambda: slow.append(get("/slow?seconds=4")))
    with_humanize(app, "4.10.0")
    with Load(Web.address, 80, clients=4) as load:
        in_flight.start()
        done = deploy()
        assert done.returncode == 0, done.stdout + done.stderr
        # The master had humanize 4.9.0 loaded: only a fresh one can serve 4.10.0.
        assert get("/size") == (200, '{"size":"123.5 MB","humanize":"4.10.0"}')
        in_flight.join()
    print(f"\ndeploy with a dependency upgrade under load: {dict(load.counts)}")
    assert load.failed == 0, load.failures
    assert "the live release runs on another virtualenv" in journal_after(host, cursor)
    assert host.check_output("systemctl show -p MainPID --value hello") == main_pid
    # The old workers finished their requests (the slow one too) and were reaped by the
    # fresh master, though it never started them: only its own workers are left.
    [(status, body)] = slow
    assert status == 200 and json.loads(body) == {"slept": 4.0, "release": before}
    workers = 2 * int(host.check_output("nproc")) + 1
    deadline = time.monotonic() + 30
    while True:
        children = host.check_output(f"ps -o stat= --ppid {main_pid}").split()
        if len(children) == workers or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(children) == workers and "Z" not in "".join(children), children


def test_rollback_rolls_back_dependencies(deploy, app, bootstrapped_host):
    with_humanize(app, "4.9.0")
    deployed(deploy)
    with_humanize(app, "4.10.0")
    deployed(deploy)
    assert get("/size") == (200, '{"size":"123.5 MB","humanize":"4.10.0"}')
    done = bootstrapped_host.fab("rollback")
    assert done.returncode == 0, done.stdout + done.stderr
    # The master had humanize 4.10.0 loaded: the release before runs on 4.9.0.
    assert get("/size") == (200, '{"size":"123.5 MB","humanize":"4.9.0"}')


def test_zero_downtime_under_load(deploy, bootstrapped_host):
    deployed(deploy)
    before = deployed(deploy)  # two releases at least, for the rollbacks
    slow_results = []

    def slow():
        slow_results.append(get("/slow?seconds=8"))

    def only_the_new_release_answers(done):
        """Once a deploy or rollback returns, no request reaches an older release."""
        assert done.returncode == 0, done.stdout + done.stderr
        [rid] = re.findall(r"release: verify  \((\S+) answers", done.stdout)
        assert {live_release() for _ in range(20)} == {rid}

    with Load(Web.address, 80, clients=4) as load:
        in_flight = threading.Thread(target=slow)
        in_flight.start()
        for i in range(10):
            only_the_new_release_answers(deploy())
            if i == 0:
                in_flight.join()
        for _ in range(3):
            only_the_new_release_answers(bootstrapped_host.fab("rollback"))
    print(f"\n10 deploys + 3 rollbacks under load: {dict(load.counts)}")
    assert load.counts["GET 200"] > 1000 and load.counts["POST 200"] > 1000
    assert load.failed == 0, load.failures
    [(status, body)] = slow_results
    assert status == 200 and json.loads(body) == {"slept": 8.0, "release": before}


def test_once_a_release_answers_no_older_one_does(deploy, host):
    """The old workers stop accepting before the new ones exist, not just after."""
    a = deployed(deploy)
    b = deployed(deploy)
    script = (Path(__file__).parent / "cutover.py").read_text()
    workers = 2 * int(host.check_output("nproc")) + 1
    stale = host.check_output(f"python3 -c {shlex.quote(script)} /srv/hello {a} {b} 10 {workers}")
    assert stale == "0"


def test_shared_paths_outlive_releases(deploy, app, host, bootstrapped_host):
    kept = ("--set", "app_shared_dirs=[uploads]", "--set", "app_shared_files=[data/app.db]")
    (app / "uploads").mkdir()
    (app / "uploads" / "shipped.txt").write_text("in the release\n")
    first = deployed(deploy, *kept)
    host.check_output("echo kept > /srv/hello/shared/uploads/photo.jpg")
    host.check_output("echo rows > /srv/hello/shared/data/app.db")
    second = deployed(deploy, *kept)
    for path in ("uploads/photo.jpg", "data/app.db"):
        assert host.file(f"/srv/hello/current/{path}").exists, path
    assert host.file("/srv/hello/current/uploads").linked_to == "/srv/hello/shared/uploads"
    assert host.file("/srv/hello/current/data/app.db").linked_to == "/srv/hello/shared/data/app.db"
    assert not host.file("/srv/hello/current/uploads/shipped.txt").exists  # the link wins
    uploads = host.file("/srv/hello/shared/uploads")
    assert (uploads.user, uploads.mode) == ("app", 0o750)
    done = bootstrapped_host.fab("rollback")
    assert done.returncode == 0, done.stdout
    assert live_release() == first != second
    assert host.file("/srv/hello/current/uploads/photo.jpg").content_string == "kept\n"
    assert host.file("/srv/hello/current/data/app.db").content_string == "rows\n"
