"""Debian's PostgreSQL server beside the app: a database and a role of its own, logged in
with a password made on the server (SCRAM), and nightly backups."""

import dataclasses
import re

from provision.actions import Action
from provision.command import Command, sh
from provision.operations import apt, files, secret, shell, systemd
from provision.roles import RoleError
from provision.schema import SchemaError

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Debian's PostgreSQL major version on each release.
VERSIONS = {"bookworm": 15, "trixie": 17}


def check(v, root):
    if not v["postgres_enabled"]:
        return
    if v["serves"] == "balancer":
        raise SchemaError("postgres_enabled", "not on a balancer (serves: balancer): the "
                          "database goes beside the app, or on a server of its own")  # fmt: skip
    for key in ("postgres_database", "postgres_user"):
        if not IDENTIFIER.match(str(v[key])):
            raise SchemaError(key, f"{v[key]!r}: use lower-case letters, digits and _ only")
    if v["postgres_backup_keep"] < 1:
        raise SchemaError("postgres_backup_keep", "keep at least one backup")


def tasks(role):
    v = role.vars
    if not v["postgres_enabled"]:
        yield shell.note("PostgreSQL", "off (postgres_enabled: false)")
        return
    version = VERSIONS.get(role.host.os_codename)
    if version is None:
        raise RoleError(f"postgres: no known PostgreSQL for {role.host.os_codename!r}")
    yield apt.packages(["postgresql"], cache_valid_time=v["apt_cache_valid_time"])
    conf = f"/etc/postgresql/{version}/main/conf.d/provision.conf"
    yield files.file(conf, role.template("provision.conf.j2"), owner="postgres",
                     group="postgres", notify="restart postgresql")  # fmt: skip
    yield systemd.service("postgresql", running=True, enabled=True)
    yield secret.generated(v["postgres_password_file"])
    yield _database(v, version)
    yield from _backups(role)


def _database(v, version):
    """The role with the server's password, and its database; checked by logging in."""
    parts = dict(secret=v["postgres_password_file"], user=v["postgres_user"],
                 db=v["postgres_database"], cluster=f"postgresql@{version}-main")  # fmt: skip
    login = sh(
        "PGPASSWORD=$(cat {secret}) psql -X -h localhost -U {user} -d {db} -tAc 'select 1'",
        secret=parts["secret"],
        user=parts["user"],
        db=parts["db"],
    )
    # Just installed, the server may not have started (with the package's own settings)
    # or may still be starting: start it with ours, and wait for it (up to 30 s).
    sql = Command.script(
        "cd /; systemctl start {cluster}; n=0; until pg_isready -q; do n=$((n + 1)); "
        "[ $n -ge 300 ] && break; sleep 0.1; done; "
        "{{ printf '\\\\set pw %s\\n' \"$(cat {secret})\"; cat; }} | "
        "runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -v user={user} -v db={db}",
        label=f"create or update the role {v['postgres_user']} and its database",
        **parts,
    )
    setup = dataclasses.replace(sql, stdin=SETUP.encode())
    return shell.command(f"database {v['postgres_database']}", setup, unless=login)


# psql reads :pw (set from the secret file, never an argument), :user and :db.
SETUP = """
SET password_encryption = 'scram-sha-256';
SELECT format('CREATE ROLE %I LOGIN', :'user')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \\gexec
ALTER ROLE :"user" WITH LOGIN PASSWORD :'pw';
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \\gexec
"""


def _backups(role):
    v = role.vars
    unit = backup_unit(v)
    yield files.directory(v["postgres_backup_dir"], owner="postgres", group="postgres",
                          mode=0o700)  # fmt: skip
    yield files.directory("/usr/local/lib/provision", mode=0o755)
    yield files.file("/usr/local/lib/provision/pg-backup", role.template("pg-backup.j2"),
                     mode=0o755)  # fmt: skip
    for kind in ("service", "timer"):
        text = role.template(f"backup.{kind}.j2", unit=f"{unit}.service")
        yield files.file(f"/etc/systemd/system/{unit}.{kind}", text, notify="daemon-reload")
    yield systemd.service(f"{unit}.timer", running=True, enabled=True)


def backup_unit(v):
    return f"{v['app_name']}-pg-backup"


def handlers(role):
    return {"restart postgresql": systemd.restart("postgresql"),
            "daemon-reload": systemd.daemon_reload()}  # fmt: skip


def actions(role):
    v = role.vars
    if not v["postgres_enabled"]:
        return {"backup": "PostgreSQL is off here (postgres_enabled: false)"}
    # Through the timer's own unit: never two backups at once.
    take = Command.script(
        "systemctl start {unit} && ls -1t {dir}/{db}-*.dump | head -n 1 | "
        "xargs stat -c 'backup %n (%s bytes)'",
        label=f"systemctl start {backup_unit(v)}.service",
        unit=f"{backup_unit(v)}.service", dir=v["postgres_backup_dir"],
        db=v["postgres_database"],
    )  # fmt: skip
    return {"backup": Action(f"database {v['postgres_database']}", [take])}
