"""Bad input stops `fab` with one clear line, a non-zero status, and no SSH connection.

These run the real `fab` command; the inventories point at a loopback port that counts
every connection made to it.
"""

import re

import pytest

from tests.helpers import ROOT, CountingPort, fab, free_port, recap


@pytest.fixture
def port():
    p = CountingPort()
    yield p
    p.close()


def inventory(tmp_path, port, body):
    path = tmp_path / "inv.yaml"
    path.write_text(body.replace("PORT", str(port.port)))
    return path


GOOD = "hosts:\n  web1:\n    address: 127.0.0.1\n    port: PORT\n"

CASES = [
    ("yaml-syntax", GOOD + "    vars: {app_name: [x\n", ["-H", "web1"],
     r"inv.yaml:6: YAML syntax error"),
    ("unknown-key", GOOD.replace("port:", "prot:"), ["-H", "web1"],
     r"inv.yaml:4: hosts.web1.prot: unknown key; did you mean 'port'\?"),
    ("wrong-type", GOOD + "    vars:\n      apt_cache_valid_time: soon\n", ["-H", "web1"],
     r"inv.yaml:6: hosts.web1.vars.apt_cache_valid_time: expected an integer, got a string"),
    ("unknown-host", GOOD, ["-H", "web2"],
     r"inv.yaml: no host or group named 'web2'; did you mean 'web1'\?"),
    ("missing-address", "hosts:\n  web1:\n    port: PORT\n", ["-H", "web1"],
     r"inv.yaml:2: hosts.web1: missing required key 'address'"),
    ("unknown-override", GOOD, ["-H", "web1", "--set", "app_nmae=x"],
     r"--set app_nmae: unknown setting; did you mean 'app_name'\?"),
    ("no-host", GOOD, [],
     r"no host given: use -H NAME"),
]  # fmt: skip


@pytest.mark.parametrize("body, args, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_reported_before_any_connection(tmp_path, port, body, args, message):
    inv = inventory(tmp_path, port, body)
    hosts = args[:2] if args[:1] == ["-H"] else []
    done = fab(*hosts, "bootstrap", "--inventory", str(inv), *args[2:], timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    assert re.search(message, lines[0]), lines[0]
    assert port.visits == 0


def test_closed_port_names_the_host(tmp_path):
    inv = tmp_path / "inv.yaml"
    inv.write_text(f"hosts:\n  web1:\n    address: 127.0.0.1\n    port: {free_port()}\n")
    done = fab("-H", "web1", "bootstrap", "--inventory", str(inv), timeout=15)
    assert done.returncode == 1
    assert "[web1] error: web1: cannot connect to root@127.0.0.1" in done.stdout
    assert "connection refused" in done.stdout
    assert recap(done.stdout) == {"web1": {"ok": 0, "changed": 0, "failed": 1}}


def test_host_that_never_answers_fails_in_bounded_time(tmp_path, port):
    inv = inventory(tmp_path, port, GOOD)
    done = fab("-H", "web1", "bootstrap", "--inventory", str(inv), timeout=15)
    assert done.returncode == 1
    assert (
        f"[web1] error: web1: cannot connect to root@127.0.0.1:{port.port}: no SSH answer"
        in done.stdout
    )
    assert done.stderr == ""
    assert port.visits == 1
    assert recap(done.stdout) == {"web1": {"ok": 0, "changed": 0, "failed": 1}}


def test_group_reports_every_host(tmp_path):
    a, b = free_port(), free_port()
    inv = tmp_path / "inv.yaml"
    inv.write_text(
        f"hosts:\n  a: {{address: 127.0.0.1, port: {a}}}\n  b: {{address: 127.0.0.1, port: {b}}}\n"
        "groups:\n  web: {hosts: [a, b]}\n"
    )
    done = fab("-H", "web", "bootstrap", "--inventory", str(inv), timeout=30)
    assert done.returncode == 1
    assert recap(done.stdout) == {
        "a": {"ok": 0, "changed": 0, "failed": 1},
        "b": {"ok": 0, "changed": 0, "failed": 1},
    }


DEPLOY_CASES = [
    ("workload-in-host-vars", GOOD + "    vars:\n      app_workload: gpu\n", [],
     r"inv.yaml:6: hosts.web1.vars.app_workload: expected one of io, mixed, cpu; got 'gpu'"),
    ("workload-in-group-vars",
     GOOD + "groups:\n  web:\n    hosts: [web1]\n    vars: {app_workload: gpu}\n", [],
     r"inv.yaml:8: groups.web.vars.app_workload: expected one of io, mixed, cpu; got 'gpu'"),
    ("workload-set", GOOD, ["--set", "app_workload=gpu"],
     r"--set app_workload: expected one of io, mixed, cpu; got 'gpu'"),
    ("missing-source", "vars:\n  app_source: nope\n" + GOOD, [],
     r"inv.yaml:2: vars.app_source: no such directory 'nope' \(relative to "),
    ("missing-module", GOOD, ["--set", "app_module=api:app"],
     r"--set app_module: no module api in .*example-app \(looked for api.py, api/__init__.py"),
    ("secret-not-in-environment",
     "vars:\n  app_env:\n    SECRET_KEY: {env: PROVISION_TEST_UNSET}\n" + GOOD, [],
     r"inv.yaml:2: vars.app_env: SECRET_KEY: the environment variable PROVISION_TEST_UNSET is "
     r"not set here$"),
    ("secret-command-fails",
     "vars:\n  app_env:\n    DB: {command: 'echo s3cr3t; echo locked >&2; exit 3'}\n" + GOOD, [],
     r"inv.yaml:2: vars.app_env: DB: `echo s3cr3t; echo locked >&2; exit 3` exited 3: locked$"),
    ("secret-command-says-nothing",
     "vars:\n  app_env:\n    DB: {command: 'true'}\n" + GOOD, [],
     r"inv.yaml:2: vars.app_env: DB: `true` printed nothing$"),
]  # fmt: skip


@pytest.mark.parametrize(
    "body, args, message", [c[1:] for c in DEPLOY_CASES], ids=[c[0] for c in DEPLOY_CASES]
)
def test_settings_a_deploy_cannot_use_are_refused_before_connecting(
    tmp_path, port, body, args, message
):
    inv = inventory(tmp_path, port, body)
    done = fab("-H", "web1", "deploy", "--inventory", str(inv), *args, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert re.search(message, lines[0]), lines[0]
    assert port.visits == 0


def test_a_database_name_postgres_cannot_take_is_refused_before_connecting(tmp_path, port):
    body = "vars:\n  postgres_enabled: true\n  postgres_database: My-Shop\n" + GOOD
    done = fab("-H", "web1", "bootstrap", "--inventory", str(inventory(tmp_path, port, body)))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: {tmp_path / 'inv.yaml'}:3: vars.postgres_database: 'My-Shop': use lower-case "
        "letters, digits and _ only"
    )
    assert port.visits == 0


def test_a_rollback_does_not_need_the_apps_source(tmp_path):
    port = free_port()  # closed: the rollback gets as far as connecting
    inv = tmp_path / "inv.yaml"
    hosts = f"hosts:\n  web1: {{address: 127.0.0.1, port: {port}}}\n"
    inv.write_text(f"vars:\n  app_source: nope\n{hosts}")
    done = fab("-H", "web1", "rollback", "--inventory", str(inv), timeout=30)
    assert done.returncode == 1
    assert "[web1] error: web1: cannot connect to root@127.0.0.1" in done.stdout


def test_an_app_without_dependencies_is_refused_before_connecting(tmp_path, port):
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "main.py").write_text("app = None\n")
    inv = inventory(tmp_path, port, f"vars:\n  app_source: {tmp_path / 'bare'}\n" + GOOD)
    done = fab("-H", "web1", "deploy", "--inventory", str(inv), timeout=60)
    assert done.returncode == 2
    assert "vars.app_source: " in done.stderr
    looked = "looked for uv.lock, poetry.lock, requirements.txt and [project] dependencies"
    assert f"no dependencies found: {looked}" in done.stderr
    assert port.visits == 0


APPS = (
    """apps:
  hello: {app_source: EXAMPLE, app_domain: hello.example.com}
  shop: {app_source: EXAMPLE, app_domain: shop.example.com}
"""
    + GOOD
)

APPS_CASES = [
    ("one-app-needed", APPS, ["logs"], r"web1: 2 apps \(hello, shop\): name one with --app$"),
    ("unknown-app", APPS, ["deploy", "--app", "shp"],
     r"--app shp: no such app; did you mean 'shop'\? \(apps: hello, shop\)$"),
    ("remove-needs-an-app", GOOD, ["remove"], r"^error: remove: name the app with --app NAME$"),
    ("remove-an-app-still-named", APPS, ["remove", "--app", "shop"],
     r"web1 still runs shop: take it out of the inventory first"),
    ("maintenance-on-or-off", APPS, ["maintenance", "of", "--app", "shop"],
     r"^error: maintenance: say on or off \(got 'of'\)$"),
    ("two-default-sites", re.sub(r", app_domain: \w+.example.com", "", APPS), ["bootstrap"],
     r"^error: app_domain: hello and shop have none on one server: one app at most can be "
     r"its default site"),
]  # fmt: skip


@pytest.mark.parametrize(
    "body, args, message", [c[1:] for c in APPS_CASES], ids=[c[0] for c in APPS_CASES]
)
def test_what_several_apps_need_is_checked_before_connecting(tmp_path, port, body, args,
                                                              message):  # fmt: skip
    inv = inventory(tmp_path, port, body.replace("EXAMPLE", str(ROOT / "example-app")))
    done = fab("-H", "web1", args[0], "--inventory", str(inv), *args[1:], timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert re.search(message, lines[0]), lines[0]
    assert port.visits == 0
