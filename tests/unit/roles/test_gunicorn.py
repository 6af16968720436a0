"""roles/gunicorn: the app server's workers, its release plan, its hooks and its log."""

import re

import pytest

from provision.core.operations import OperationError
from provision.project.plays import Project
from provision.project.roles import RoleContext, RoleError, resolve_vars
from tests.fakes import HOST
from tests.fleet import context
from tests.helpers import ROOT


@pytest.mark.parametrize(
    "settings, workers",
    [
        ({"app_workload": "io"}, 3),
        ({"app_workload": "mixed"}, 5),
        ({"app_workload": "cpu"}, 5),
        ({"app_workload": "io", "app_workers": 8}, 8),
    ],
)
def test_gunicorn_workers_from_cores_and_workload(settings, workers):
    from provision.project.plays import Project

    project = Project.load(ROOT)
    roles = project.pick(["app", "gunicorn"])
    variables = resolve_vars(roles, settings, {})
    plan = roles[1].module.release(RoleContext(roles[1], variables, HOST))
    conf = plan.files["gunicorn.conf.py"]
    assert f"workers = {workers}\n" in conf
    compile(conf, "gunicorn.conf.py", "exec")  # the rendered config is valid Python
    assert plan.service == "hello" and plan.root == "/srv/hello"


def test_unknown_workload_is_an_error():
    from provision.project.plays import Project

    project = Project.load(ROOT)
    roles = project.pick(["app", "gunicorn"])
    variables = resolve_vars(roles, {"app_workload": "gpu"}, {})
    with pytest.raises(RoleError, match="app_workload: expected one of io, mixed, cpu; got 'gpu'"):
        roles[1].module.release(RoleContext(roles[1], variables, HOST))


class FakeServer:
    def __init__(self):
        self.logged = []
        self.log = self

    def exception(self, *args):
        self.logged.append(args)


@pytest.mark.parametrize("preload", [True, False])
def test_gunicorn_hooks_run_the_live_release_add_ons_and_never_raise(
    tmp_path, monkeypatch, preload
):
    from provision.project.plays import Project

    project = Project.load(ROOT)
    roles = project.pick(["app", "gunicorn"])
    variables = resolve_vars(roles, {"gunicorn_preload": preload}, {})
    conf = roles[1].module.release(RoleContext(roles[1], variables, HOST)).files
    # A stand-in for provision_gunicorn.py in the release directory the config names.
    (tmp_path / "provision_gunicorn.py").write_text(
        "def started(server, *args):\n    server.calls.append(('started', args))\n"
        "def reloading(server, *args):\n    raise RuntimeError('broken hook')\n"
    )
    monkeypatch.setenv("PROVISION_RELEASE_DIR", str(tmp_path))
    namespace = {}
    exec(compile(conf["gunicorn.conf.py"], "gunicorn.conf.py", "exec"), namespace)
    assert namespace["chdir"] == str(tmp_path)
    assert f"PROVISION_RECORD_IMPORTS={tmp_path}" in namespace["raw_env"]  # a check records
    server = FakeServer()
    server.calls = []
    namespace["when_ready"](server)
    assert server.calls == [("started", (preload,))]
    namespace["on_reload"](server)  # raises inside: logged, the master goes on
    assert server.logged == [("provision's %s hook failed", "reloading")]


UVICORN_ACCESS = '127.0.0.1:51234 - "GET /health HTTP/1.1" 500'

GUNICORN_ACCESS = '127.0.0.1 - - [25/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 17 "-" "curl"'


def test_access_lines_are_noise_and_errors_are_not():
    gunicorn = Project.load(ROOT).roles["gunicorn"].module
    noise = re.compile(gunicorn.ACCESS_LINE)
    assert noise.search(UVICORN_ACCESS) and noise.search(GUNICORN_ACCESS)
    for line in ("Traceback (most recent call last):", 'RuntimeError: bad "GET x" 500s',
                 "[ERROR] Exception in ASGI application"):  # fmt: skip
        assert not noise.search(line)


@pytest.mark.parametrize(
    "files, module, fault",
    [
        ({"main.py": "from fastapi import FastAPI\napp = FastAPI()\n"}, "main:app", ""),
        ({"app/__init__.py": "", "app/main.py": "app: object = make()\n"}, "app.main:app", ""),
        ({"src/shop/__init__.py": "", "src/shop/main.py": "if True:\n    app = 1\n"},
         "shop.main:app", ""),
        ({"main.py": "from shop.web import app\n"}, "main:app", ""),
        ({"main.py": "def f():\n    app = 1\n"}, "main:app", "defines no 'app' at its top level"),
        ({"main.py": "app = (\n"}, "main:app", "main.py:1: "),
        ({"main.py": ""}, "api:app", "no module api in "),
        ({"main.py": ""}, "main", "expected module:attribute"),
    ],
)  # fmt: skip
def test_app_module_is_found_without_running_the_app(tmp_path, files, module, fault):
    from provision.project.plays import Project

    gunicorn = Project.load(ROOT).roles["gunicorn"].module
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found = gunicorn.module_fault(tmp_path, module)
    assert (fault in found and found) if fault else found == ""


def test_an_app_server_listens_on_its_private_address_and_trusts_its_balancers(fleet):
    fleet = fleet
    gunicorn = fleet.roles["gunicorn"].module
    assert gunicorn.listen(context(fleet, "gunicorn", "app1")) == (
        ["127.0.0.1:8000", "10.0.0.1:8000"], ["127.0.0.1", "10.0.0.9"])  # fmt: skip
    # no private_address: its inventory address
    assert gunicorn.listen(context(fleet, "gunicorn", "app2"))[0] == [
        "127.0.0.1:9000", "10.0.0.2:9000"]  # fmt: skip
    assert gunicorn.listen(context(fleet, "gunicorn", "solo")) == (
        ["127.0.0.1:8000"], ["127.0.0.1"])  # fmt: skip


def test_the_apps_port_is_checked_free_of_other_programs(fleet):
    ctx = context(fleet, "gunicorn", "solo")
    [check] = [op for op in ctx.tasks() if op.name == "port 8000 free"]
    # lines as a test host prints them; a process that listens on two sockets (IPv4 and
    # IPv6) is named once a socket, and kept once
    ours = "".join(f"{pid} python 9:name=systemd:/system.slice/hello.service\n"
                   for pid in (7914, 1500, 7914, 1500))  # fmt: skip
    assert [pid for pid, _, _ in check.facts["listeners"].parse(ours)] == ["7914", "1500"]
    assert check.compare({"listeners": check.facts["listeners"].parse(ours)}).reason == (
        "hello listens there")  # fmt: skip
    assert check.compare({"listeners": ()}).reason == "nothing listens there"
    theirs = check.facts["listeners"].parse("90 python3 0::/system.slice/shop.service\n")
    with pytest.raises(OperationError) as taken:
        check.compare({"listeners": theirs})
    assert str(taken.value) == ("port 8000 is taken on this server by python3 (pid 90): set "
                                "app_port (and app_check_port) to free ones for hello")  # fmt: skip


def image_part(fleet, **settings):
    from roles.gunicorn import tasks

    ctx = context(fleet, "gunicorn", "solo", **settings)
    ctx.vars["container_image_ref"] = "hello:1a2b"  # what the engine gives the road's roles
    return tasks.containers(ctx)


def test_the_image_runs_gunicorn_as_the_servers_do_with_the_worker_formula_of_its_cores(fleet):
    part = image_part(fleet, app_workload="io")
    conf = part.image.files["gunicorn.conf.py"]
    assert 'workers = int(os.environ.get("WEB_CONCURRENCY") or 0) or 1 * _cores() + 1' in conf
    assert 'bind = ["0.0.0.0:8000"]' in conf
    assert 'worker_class = "provision_gunicorn.DrainingUvicornWorker"' in conf
    scope = {}
    exec(compile(conf, "gunicorn.conf.py", "exec"), scope)  # it is Python gunicorn can read
    assert scope["workers"] >= 2 and scope["chdir"] == "/app/current"
    assert (
        "_cores"
        not in context(fleet, "gunicorn", "solo")
        .role.module.release(context(fleet, "gunicorn", "solo"))
        .files["gunicorn.conf.py"]
    )  # the servers' own is as before
    fixed = image_part(fleet, app_workers=4).image.files["gunicorn.conf.py"]
    assert 'workers = int(os.environ.get("WEB_CONCURRENCY") or 0) or 4' in fixed


def test_the_containerfile_builds_offline_as_a_non_root_user_with_the_health_check(fleet):
    part = image_part(fleet, app_health_path="/ping")
    text = part.image.containerfile
    assert "ARG BASE=docker.io/library/debian:bookworm-slim\n\nFROM ${BASE} AS runtime" in text
    assert "--offline --no-index --find-links /wheels" in text
    assert "\nUSER app\n" in text
    assert "HEALTHCHECK" in text and "http://127.0.0.1:8000/ping" in text
    assert text.rstrip().endswith('CMD ["web"]')
    assert part.compose["services"]["app"]["image"] == "hello:1a2b"


def test_the_release_command_is_a_one_off_of_the_image_never_run_at_its_start(fleet):
    entry = image_part(fleet, app_release_command="alembic upgrade head").image.files
    script = entry["entrypoint.sh"]
    assert "migrate)\n    exec sh -c 'alembic upgrade head' ;;" in script
    assert "web)\n    exec gunicorn -c /app/current/gunicorn.conf.py ;;" in script
    none = image_part(fleet).image.files["entrypoint.sh"]
    assert "no release command (app_release_command is empty)" in none


@pytest.mark.parametrize(
    "settings, why",
    [
        ({"kube_replicas": 0}, "kube_replicas: a number of pods, 1 or more; got 0"),
        ({"kube_replicas": 3, "kube_max_replicas": 2},
         "kube_max_replicas: at least kube_replicas \\(3\\); got 2"),
        ({"kube_cpu_target": 150}, "kube_cpu_target: a percentage, 1 to 100; got 150"),
    ],
)  # fmt: skip
def test_the_cluster_s_numbers_are_checked_before_anything_is_written(fleet, settings, why):
    from provision.project.schema import SchemaError

    with pytest.raises(SchemaError) as raised:
        image_part(fleet, **settings)
    assert re.fullmatch(why, f"{raised.value.key}: {raised.value.message}")
