"""Role templates and settings: strict rendering, errors that name the place."""

import re
from pathlib import Path

import pytest

from provision.project import engine_settings
from provision.project.apply import Host
from provision.project.plays import Project
from provision.project.roles import Role, RoleContext, RoleError, resolve_vars
from provision.project.schema import SchemaError
from tests.fakes import HOST, FakeSession
from tests.helpers import ROOT


def role_with(tmp_path, templates, defaults=None):
    (tmp_path / "templates").mkdir()
    for name, text in templates.items():
        (tmp_path / "templates" / name).write_text(text)
    return Role("demo", tmp_path, defaults or {}, module=None)


def test_template_renders_vars_and_host_facts(tmp_path):
    role = role_with(
        tmp_path, {"a.j2": "workers = {{ facts.cpus * 2 + 1 }}\nname = {{ app_name }}\n"}
    )
    text = RoleContext(role, {"app_name": "shop"}, HOST).template("a.j2")
    assert text == "workers = 5\nname = shop\n"


def test_undefined_variable_names_template_line_and_variable(tmp_path):
    role = role_with(tmp_path, {"a.j2": "one\ntwo\nthree = {{ app_nmae }}\n"})
    with pytest.raises(RoleError) as e:
        RoleContext(role, {"app_name": "shop"}, HOST).template("a.j2")
    assert str(e.value) == "roles/demo/templates/a.j2:3: 'app_nmae' is undefined"


def test_template_syntax_error_names_line(tmp_path):
    role = role_with(tmp_path, {"a.j2": "ok\n{% if %}\n"})
    with pytest.raises(RoleError, match=r"roles/demo/templates/a.j2:2: template syntax error"):
        RoleContext(role, {}, HOST).template("a.j2")


def test_missing_template_is_named(tmp_path):
    role = role_with(tmp_path, {})
    with pytest.raises(RoleError, match=r"roles/demo/templates/nope.j2: no such template"):
        RoleContext(role, {}, HOST).template("nope.j2")


def test_precedence_defaults_inventory_overrides():
    roles = [Role("app", Path("."), {"app_name": "hello", "app_root": "/srv/{{ app_name }}",
                                      "app_workers": 0}, None)]  # fmt: skip
    assert resolve_vars(roles, {}, {})["app_root"] == "/srv/hello"
    merged = resolve_vars(roles, {"app_name": "shop", "app_workers": 2}, {"app_workers": 4})
    assert merged == {**engine_settings.DEFAULTS,  # the engine's own, under every role's
                      "app_name": "shop", "app_root": "/srv/shop", "app_workers": 4}  # fmt: skip


def test_override_of_unknown_setting_is_rejected():
    roles = [Role("app", Path("."), {"app_name": "hello"}, None)]
    with pytest.raises(SchemaError, match="unknown setting; did you mean 'app_name'"):
        resolve_vars(roles, {}, {"app_nam": "x"})


def test_shipped_roles_render(tmp_path):
    from provision.project.plays import Project, build_tasks

    project = Project.load(ROOT)
    play = project.play("bootstrap")
    settings = resolve_vars(play.every_role, {}, {})
    roles = project.pick(["base", "postgres", "app", "ssh"])
    tasks, handlers = build_tasks(roles, settings, HOST)
    names = [t.op.name for t in tasks]
    assert "directory /srv/hello/shared" in names
    assert "database hello" not in names  # PostgreSQL is opt-in
    assert set(handlers) == {"reload ssh", "restart postgresql", "daemon-reload"}


def test_postgres_when_enabled_puts_its_url_into_the_env_file_without_the_password():
    from provision.project.plays import Project, build_tasks

    project = Project.load(ROOT)
    every = project.play("bootstrap").every_role
    settings = resolve_vars(every, {"app_name": "my-shop", "postgres_enabled": True}, {})
    tasks, handlers = build_tasks(project.pick(["postgres", "app"]), settings, HOST)
    ops = {t.op.name: t.op for t in tasks}
    assert "database my_shop" in ops and "service my-shop-pg-backup.timer" in ops
    env = ops["file /srv/my-shop/shared/.env"]
    plan = env.compare({"state": None, "digest": None})
    upload = plan.commands[0]
    assert upload.stdin.decode().splitlines()[1] == (
        'DATABASE_URL="postgresql+asyncpg://my_shop:@@provision-postgres-password@@'
        '@localhost:5432/my_shop"'
    )
    assert "/etc/provision/secrets/my-shop-postgres" in plan.commands[1].render()
    assert set(handlers) == {"restart postgresql", "daemon-reload"}


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


def test_dotenv_quotes_values_and_rejects_bad_names():
    from provision.project.plays import Project

    app = Project.load(ROOT).pick(["app"])[0].module
    text = app.dotenv({"DB_URL": 'postgres://u:p"w@h/db', "DEBUG": False})
    assert 'DB_URL="postgres://u:p\\"w@h/db"\n' in text and 'DEBUG="False"\n' in text
    with pytest.raises(RoleError, match="'BAD-NAME' is not a valid environment variable name"):
        app.dotenv({"BAD-NAME": "x"})


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


def test_a_setting_of_any_role_is_accepted_by_every_play():
    project = Project.load(ROOT)
    session = FakeSession([("nproc", "2\n2048\ndebian\n12\nbookworm\nx86_64\nweb1\n3.11\n2.36\n")])
    host = Host.connect(session, project.play("bootstrap"), {"acme_email": "ops@example.org"})
    assert host.vars["acme_email"] == "ops@example.org"


@pytest.mark.parametrize("bad", ["../etc", "/srv/x", "", ".", "a/../../b"])
def test_shared_paths_must_stay_inside_the_release(bad):
    project = Project.load(ROOT)
    variables = resolve_vars(project.roles.values(), {"app_shared_dirs": [bad]}, {})
    ctx = RoleContext(project.roles["app"], variables, HOST)
    with pytest.raises(RoleError, match=r"app_shared_dirs: .* is not a relative path inside"):
        list(ctx.tasks())


def test_shared_paths_are_made_and_linked():
    project = Project.load(ROOT)
    settings = {"app_shared_dirs": ["uploads/"], "app_shared_files": ["data/app.db"]}
    variables = resolve_vars(project.roles.values(), settings, {})
    names = [op.name for op in RoleContext(project.roles["app"], variables, HOST).tasks()]
    assert names[-2:] == ["directory /srv/hello/shared/data", "directory /srv/hello/shared/uploads"]
    gunicorn = project.roles["gunicorn"].module
    plan = gunicorn.release(RoleContext(project.roles["gunicorn"], variables, HOST))
    assert plan.shared_links == {".env": "shared/.env", "uploads": "shared/uploads",
                                 "data/app.db": "shared/data/app.db"}  # fmt: skip


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
