"""A real app with its PostgreSQL database, on a real host: example-db-app (FastAPI,
SQLAlchemy 2 async, asyncpg, Alembic), its migrations run once per release before it
serves, under load; a failing migration; backups and a restore."""

import json
import re
import shutil

import pytest

from tests.helpers import ROOT, Web, get, recap, request
from tests.load import Load

SETTINGS = """vars:
  postgres_enabled: true
  app_module: "app.main:app"
  app_release_command: "alembic upgrade head"
  app_smoke_paths: [/items]
  nginx_rate: 100000r/s
"""


@pytest.fixture(scope="module")
def target(bootstrapped_host):
    """The module's host, bootstrapped again with PostgreSQL on."""
    inventory = bootstrapped_host.inventory
    inventory.write_text(inventory.read_text() + SETTINGS)
    done = bootstrapped_host.fab("bootstrap")
    assert done.returncode == 0, done.stdout + done.stderr
    bootstrapped_host.outputs = [done.stdout + done.stderr]
    return bootstrapped_host


@pytest.fixture
def db_app(tmp_path, target, host):
    """A fresh copy of example-db-app, and an empty database and no release for it."""
    host.run("systemctl stop hello; rm -rf /srv/hello/current /srv/hello/releases/*")
    empty = host.run("runuser -u postgres -- psql -X -d hello -c 'DROP OWNED BY hello'")
    assert empty.rc == 0, empty.stderr
    path = tmp_path / "app"
    shutil.copytree(ROOT / "example-db-app", path)
    return path


def fab(target, *args):
    done = target.fab(*args)
    target.outputs.append(done.stdout + done.stderr)
    return done


def deploy(target, app, *args):
    return fab(target, "deploy", "--force", "--set", f"app_source={app}", *args)


def to_v2(app):
    """A column added (with a default, so that the old code keeps working) and used."""
    (app / "migrations/versions/0002_note.py").write_text(
        '"""A note on each item."""\n\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        'revision = "0002"\ndown_revision = "0001"\n\n\ndef upgrade() -> None:\n'
        '    op.add_column("items", sa.Column("note", sa.String(200), nullable=False,\n'
        '                                     server_default=""))\n'
    )
    edit(app / "app/models.py", "    name: Mapped[str] = mapped_column(String(200))\n",
         '    name: Mapped[str] = mapped_column(String(200))\n'
         '    note: Mapped[str] = mapped_column(String(200), server_default="")\n')  # fmt: skip
    edit(app / "app/main.py", "    name: str\n", '    name: str\n    note: str = ""\n')
    edit(app / "app/main.py", '{"id": i.id, "name": i.name}',
         '{"id": i.id, "name": i.name, "note": i.note}')  # fmt: skip
    edit(app / "app/main.py", "Item(name=item.name)", "Item(name=item.name, note=item.note)")


def edit(path, old, new):
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))


def items():
    status, body = get("/items?limit=1000")
    assert status == 200, body
    return json.loads(body)


def post(name, **extra):
    status, body = request("POST", "/items", {"name": name, **extra})
    assert status == 201, body
    return json.loads(body)


def test_bootstrap_with_postgres_twice_changes_nothing_and_keeps_the_password_there(target, host):
    again = fab(target, "bootstrap")
    assert again.returncode == 0, again.stdout + again.stderr
    assert recap(again.stdout)["target"]["changed"] == 0, again.stdout
    assert host.service("postgresql").is_running
    assert host.socket("tcp://127.0.0.1:5432").is_listening
    assert not host.socket("tcp://0.0.0.0:5432").is_listening
    secret = host.file("/etc/provision/secrets/hello-postgres")
    assert (secret.user, secret.mode) == ("root", 0o600)
    password = secret.content_string
    assert len(password) == 43
    env = host.file("/srv/hello/shared/.env")
    assert (env.user, env.mode) == ("app", 0o600)
    url = f"postgresql+asyncpg://hello:{password}@localhost:5432/hello"
    assert f'DATABASE_URL="{url}"' in env.content_string.splitlines()
    query = "select rolpassword from pg_authid where rolname = 'hello'"
    stored = host.check_output(f'cd / && runuser -u postgres -- psql -X -tAc "{query}"')
    assert stored.startswith("SCRAM-SHA-256$")
    assert not any(password in output for output in target.outputs)
    assert host.service("hello-pg-backup.timer").is_enabled


def test_migrations_run_once_per_release_before_it_serves_with_no_failed_request(
    target, db_app, host
):
    first = deploy(target, db_app)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "| INFO  [alembic.runtime.migration] Running upgrade  -> 0001" in first.stdout
    kept = [post(f"item {n}")["id"] for n in range(3)]
    v1 = host.file("/srv/hello/current").linked_to

    to_v2(db_app)
    body = {"name": "under load"}
    with Load(Web.address, 80, clients=4, get="/items?limit=5", post="/items", body=body) as load:
        done = deploy(target, db_app)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Running upgrade 0001 -> 0002" in done.stdout
    assert load.failed == 0 and load.total > 50, (load.counts, load.failures)
    assert post("with a note", note="v2")["id"] > max(kept)
    rows = items()
    assert {r["id"] for r in rows} >= set(kept)
    assert {"under load", "with a note"} <= {r["name"] for r in rows}
    assert all("note" in r for r in rows)

    # back to v1, which runs against the new schema (the column has a default)
    with Load(Web.address, 80, clients=4, get="/items?limit=5", post="/items", body=body) as load:
        back = fab(target, "rollback")
    assert back.returncode == 0, back.stdout + back.stderr
    assert "alembic" not in back.stdout  # a rollback runs no migration
    assert load.failed == 0, (load.counts, load.failures)
    assert host.file("/srv/hello/current").linked_to == v1
    rows = items()
    assert {r["id"] for r in rows} >= set(kept) and "note" not in rows[0]
    # as the README says: the schema is ahead of the code gone back to
    current = fab(target, "exec", "--", "alembic current")
    assert current.returncode != 0
    assert "Can't locate revision identified by '0002'" in current.stdout + current.stderr


def test_a_failing_migration_leaves_the_live_release_serving(target, db_app, host):
    to_v2(db_app)
    good = deploy(target, db_app)
    assert good.returncode == 0, good.stdout + good.stderr
    live = host.file("/srv/hello/current").linked_to
    (db_app / "migrations/versions/0003_broken.py").write_text(
        'revision = "0003"\ndown_revision = "0002"\n\n\ndef upgrade() -> None:\n'
        '    raise RuntimeError("migration 0003 failed on purpose")\n'
    )
    with Load(Web.address, 80, clients=2, get="/items?limit=5", post="/items",
              body={"name": "x"}) as load:  # fmt: skip
        done = deploy(target, db_app)
    assert done.returncode == 1
    assert "failed    release: before_check: release command" in done.stdout
    assert "`alembic upgrade head` exited 1:" in done.stdout
    assert "RuntimeError: migration 0003 failed on purpose" in done.stdout
    assert re.search(r"release \S+ never went live and is marked bad; \S+ is still live",
                     done.stdout)  # fmt: skip
    assert host.file("/srv/hello/current").linked_to == live
    assert load.failed == 0, (load.counts, load.failures)
    version = host.check_output("runuser -u postgres -- psql -X -d hello -tAc "
                                "'select version_num from alembic_version'")  # fmt: skip
    assert version == "0002"
    assert "note" in items()[0]


def test_a_backup_restores_into_a_fresh_database(target, db_app, host):
    assert deploy(target, db_app).returncode == 0
    post("kept in the backup")
    done = fab(target, "backup")
    assert done.returncode == 0, done.stdout + done.stderr
    [path] = re.findall(
        r"\| backup (/var/backups/postgresql/hello/hello-\S+\.dump) \(", done.stdout
    )
    assert host.file(path).user == "postgres" and host.file(path).mode == 0o600
    # fab status shows the database and the backup just taken; fab logs has both logs
    status = fab(target, "status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    shown = json.loads(status.stdout)["target"]
    db, backup = shown["postgres"], shown["backup"]
    assert db["active"] and db["database"] == "hello" and db["size_mb"] > 0, db
    assert isinstance(db["connections"], int), db
    assert backup["result"] == "ok" and backup["newest"]["path"] == path, backup
    assert backup["last_run"] and backup["next_run"], backup
    logged = fab(target, "logs", "--process", "backup", "-n", "20")
    assert f"backup {path} " in logged.stdout, logged.stdout
    logged = fab(target, "logs", "--process", "postgres", "-n", "20")
    assert logged.returncode == 0 and "LOG:" in logged.stdout, logged.stdout
    # The README's restore, into a fresh database
    restore = host.run(
        "cd / && runuser -u postgres -- dropdb --if-exists hello_restored && "
        "runuser -u postgres -- createdb -O hello hello_restored && "
        f"runuser -u postgres -- pg_restore --no-owner --role=hello -d hello_restored {path}"
    )
    assert restore.rc == 0, restore.stderr
    names = host.check_output("cd / && runuser -u postgres -- psql -X -d hello_restored -tAc "
                              "'select name from items'")  # fmt: skip
    assert "kept in the backup" in names.splitlines()
    # retention: only the newest ones stay
    for _ in range(3):
        host.check_output("cd / && runuser -u postgres -- /usr/local/lib/provision/pg-backup "
                          "/var/backups/postgresql/hello hello 2")  # fmt: skip
    assert len(host.check_output("ls /var/backups/postgresql/hello").split()) == 2
