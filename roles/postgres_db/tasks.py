"""The app's database on the postgres role's server: a role of its own, logged in with a
password made on the server (SCRAM), and nightly backups."""

import dataclasses
import re

from provision.api import (
    STAMP,
    Action,
    Command,
    Detected,
    LogSource,
    Probe,
    SchemaError,
    ServiceProbe,
    files,
    integer,
    iso_time,
    pairs,
    secret,
    sh,
    shell,
    systemd,
    when,
)

from .containers import containers  # noqa: F401  (the role's answer to that hook)

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# The postgres role's: Debian's PostgreSQL major version on each release (its cluster).
VERSIONS = {"bookworm": 15, "trixie": 17}


def check(v, root):
    if not v["postgres_enabled"]:
        return
    for key in ("postgres_database", "postgres_user"):
        if not IDENTIFIER.match(str(v[key])):
            raise SchemaError(key, f"{v[key]!r}: use lower-case letters, digits and _ only")
    if v["postgres_backup_keep"] < 1:
        raise SchemaError("postgres_backup_keep", "keep at least one backup")


def tasks(role):
    v = role.vars
    version = VERSIONS.get(role.facts.os_codename)
    if not v["postgres_enabled"] or version is None:
        return  # the postgres role says why
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


def remove(role, data):
    """The app's backup timer; with ``data``, its database, its role, its password and
    its backups too."""
    v = role.vars
    yield systemd.units_absent(f"{backup_unit(v)}.*", [], "backups")
    if not data:
        return
    drop = Command.script(
        "cd /; runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -v user={user} -v db={db}",
        label=f"drop the database {v['postgres_database']} and the role {v['postgres_user']}",
        user=v["postgres_user"], db=v["postgres_database"],
    )  # fmt: skip
    for key in ("postgres_database", "postgres_user"):
        if not IDENTIFIER.match(str(v[key])):  # as check() does: safe in a literal below
            raise SchemaError(key, f"{v[key]!r}: use lower-case letters, digits and _ only")
    query = (f"SELECT 1 FROM pg_roles WHERE rolname = '{v['postgres_user']}' UNION "
             f"SELECT 1 FROM pg_database WHERE datname = '{v['postgres_database']}'")  # fmt: skip
    exists = sh("runuser -u postgres -- psql -XtAc {q} 2>/dev/null | grep -q 1", q=query)
    drop = dataclasses.replace(drop, stdin=DROP.encode())
    yield shell.command(f"no database {v['postgres_database']}", drop, unless=f"! {exists}")
    yield files.tree_absent(v["postgres_backup_dir"], name="backups' folder")
    yield files.absent(v["postgres_password_file"], name="database password")


# psql reads :user and :db: the app's database and its role, gone.
DROP = """
SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', :'db') \\gexec
SELECT format('DROP ROLE IF EXISTS %I', :'user') \\gexec
"""


def backup_unit(v):
    return f"{v['app_name']}-pg-backup"


def handlers(role):
    return {"daemon-reload": systemd.daemon_reload()}


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


def status(role):
    """The database server (its state, the database's size, its connections) and the
    backups (the last run and its result, the newest dump, the next run)."""
    v = role.vars
    version = VERSIONS.get(role.facts.os_codename)
    if not v["postgres_enabled"] or version is None:
        return {}
    db = v["postgres_database"]
    return {"postgres": DatabaseProbe(f"postgresql@{version}-main", database=db),
            "backup": BackupProbe(backup_unit(v), v["postgres_backup_dir"], db)}  # fmt: skip


def logs(role):
    """The backups' journal."""
    v = role.vars
    if not v["postgres_enabled"] or role.facts.os_codename not in VERSIONS:
        return {}
    return {"backup": LogSource(unit=f"{backup_unit(v)}.service")}


# what the database holds and who is connected, read as postgres (psql quotes :'db')
SIZE = (
    "select 'Size=' || pg_database_size(:'db');\n"
    "select 'Connections=' || count(*) from pg_stat_activity where datname = :'db';\n"
)


@dataclasses.dataclass(frozen=True)
class DatabaseProbe(ServiceProbe):
    """The PostgreSQL cluster's service, and the app's database: its size, connections."""

    database: str = ""

    def command(self):
        return super().command() + "; " + sh(
            "cd / && printf %s {sql} | runuser -u postgres -- psql -XtAq -v db={db} "
            "2>/dev/null", sql=SIZE, db=self.database)  # fmt: skip

    def parse(self, output):
        p = pairs(output)
        size, connections = integer(p.get("Size")), integer(p.get("Connections"))
        return {**super().parse(output), "database": self.database,
                "size_mb": round(size / 2**20, 1) if size is not None else None,
                "connections": connections}  # fmt: skip

    def line(self, f):
        if f["size_mb"] is None:
            return super().line(f)
        return (f"{super().line(f)}; database {f['database']} {f['size_mb']} MB, "
                f"{f['connections']} connection(s)")  # fmt: skip


@dataclasses.dataclass(frozen=True)
class BackupProbe(Probe):
    """The last backup (when it ended, its result, the newest dump), and the next one."""

    unit: str  # without its .timer/.service suffix
    folder: str
    database: str

    def command(self):
        return STAMP + sh(
            "stamp {u}.service ExecMainExitTimestamp; stamp {u}.timer NextElapseUSecRealtime; "
            "systemctl show -p Result -p ExecMainStatus -p ActiveState {u}.service; "
            "ls -1t {dir}/{db}-*.dump 2>/dev/null | head -n 1 | "
            "xargs -r stat -c 'Newest=%n %s %Y'",
            u=self.unit, dir=self.folder, db=self.database)  # fmt: skip

    def parse(self, output):
        p = pairs(output)
        ended, result = integer(p.get("ExecMainExitTimestamp")), p.get("Result", "")
        if p.get("ActiveState") == "activating":
            outcome = "running"
        elif ended is None:
            outcome = "not run yet"
        else:
            outcome = "ok" if result == "success" else (
                f"failed ({result}, exit {p.get('ExecMainStatus', '?')})")  # fmt: skip
        newest = p.get("Newest", "").rsplit(" ", 2)
        dump = None
        if len(newest) == 3 and newest[1].isdigit() and newest[2].isdigit():
            dump = {"path": newest[0], "bytes": int(newest[1]), "at": iso_time(int(newest[2]))}
        return {"last_run": iso_time(ended), "result": outcome, "newest": dump,
                "next_run": iso_time(integer(p.get("NextElapseUSecRealtime")))}  # fmt: skip

    def line(self, f):
        last = f"last {when(f['last_run'])}: {f['result']}" if f["last_run"] else f["result"]
        d = f["newest"]
        newest = f"newest {d['path'].rsplit('/', 1)[-1]} ({_size(d['bytes'])})" if d else (
            "no dump yet")  # fmt: skip
        return f"{last}; {newest}; next {when(f['next_run'])}"


def _size(n):
    for unit, big in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= big:
            return f"{n / big:.1f} {unit}"
    return f"{n} B"


# A PostgreSQL driver the app names, and the URL scheme it takes (with SQLAlchemy, and on
# its own).
DRIVERS = {"asyncpg": ("postgresql+asyncpg", "postgresql"),
           "psycopg": ("postgresql+psycopg", "postgresql"),
           "psycopg-binary": ("postgresql+psycopg", "postgresql"),
           "psycopg2": ("postgresql+psycopg2", "postgresql"),
           "psycopg2-binary": ("postgresql+psycopg2", "postgresql")}  # fmt: skip


def detect(source):
    """PostgreSQL beside the app when its dependencies name a PostgreSQL driver, with the
    URL scheme that driver takes."""
    driver = next((name for name in DRIVERS if name in source.dependencies), None)
    if driver is None:
        return None
    with_orm, alone = DRIVERS[driver]
    scheme = with_orm if "sqlalchemy" in source.dependencies else alone
    return Detected(
        settings={"postgres_enabled": True, "postgres_url_scheme": scheme},
        comments={"postgres_enabled": f"PostgreSQL beside the app (its dependencies name "
                                      f"{driver}); its URL is in DATABASE_URL.",
                  "postgres_url_scheme": "The URL's scheme, as the app's driver takes it."},
    )  # fmt: skip
