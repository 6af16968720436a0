"""roles/app: the app's user, folders, environment file and shared paths."""

import pytest

from provision.project.plays import Project
from provision.project.roles import RoleContext, RoleError, resolve_vars
from tests.fakes import HOST
from tests.helpers import ROOT


def test_postgres_when_enabled_puts_its_url_into_the_env_file_without_the_password():
    from provision.project.build import build_tasks
    from provision.project.plays import Project

    project = Project.load(ROOT)
    every = project.play("bootstrap").every_role
    settings = resolve_vars(every, {"app_name": "my-shop", "postgres_enabled": True}, {})
    tasks, handlers = build_tasks(project.pick(["postgres", "postgres_db", "app"]), settings,
                                  HOST)  # fmt: skip
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
    assert set(handlers) == {"apply postgresql settings", "daemon-reload"}


def test_settings_that_are_not_secret_join_the_env_file_and_app_env_wins():
    project = Project.load(ROOT)
    every = project.play("bootstrap").every_role
    given = {"app_settings": {"LOG_LEVEL": "info", "MODE": "a"}, "app_env": {"MODE": "b"}}
    settings = resolve_vars(every, given, {})
    ctx = RoleContext(project.roles["app"], settings, HOST)
    [env] = [op for op in ctx.tasks() if op.name == "file /srv/hello/shared/.env"]
    text = env.compare({"state": None}).commands[0].stdin.decode()
    assert text.splitlines()[1:] == ['LOG_LEVEL="info"', 'MODE="b"']
    assert ctx.secrets() == ["b"]  # app_settings are shown; app_env's values never


def test_dotenv_quotes_values_and_rejects_bad_names():
    from provision.project.plays import Project

    app = Project.load(ROOT).pick(["app"])[0].module
    text = app.dotenv({"DB_URL": 'postgres://u:p"w@h/db', "DEBUG": False})
    assert 'DB_URL="postgres://u:p\\"w@h/db"\n' in text and 'DEBUG="False"\n' in text
    with pytest.raises(RoleError, match="'BAD-NAME' is not a valid environment variable name"):
        app.dotenv({"BAD-NAME": "x"})


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
