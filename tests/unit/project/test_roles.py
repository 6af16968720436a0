"""Roles loaded and rendered: templates, the order settings win in, the shipped roles."""

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
    from provision.project.build import build_tasks
    from provision.project.plays import Project

    project = Project.load(ROOT)
    play = project.play("bootstrap")
    settings = resolve_vars(play.every_role, {}, {})
    roles = project.pick(["base", "postgres", "postgres_db", "app", "ssh"])
    tasks, handlers = build_tasks(roles, settings, HOST)
    names = [t.op.name for t in tasks]
    assert "directory /srv/hello/shared" in names
    assert "database hello" not in names  # PostgreSQL is opt-in
    assert set(handlers) == {"reload ssh", "apply postgresql settings", "daemon-reload"}


def test_a_setting_of_any_role_is_accepted_by_every_play():
    project = Project.load(ROOT)
    session = FakeSession([("nproc", "2\n2048\ndebian\n12\nbookworm\nx86_64\nweb1\n3.11\n2.36\n")])
    host = Host.connect(session, project.play("bootstrap"), {"acme_email": "ops@example.org"})
    assert host.vars["acme_email"] == "ops@example.org"
