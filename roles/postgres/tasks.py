"""Debian's PostgreSQL server beside the apps, listening on loopback only; each
app's database, role and backups are the postgres_db role's."""

from provision.api import (
    Change,
    Command,
    LogSource,
    Operation,
    RoleError,
    apt,
    files,
    shell,
    systemd,
)

# Debian's PostgreSQL major version on each release.
VERSIONS = {"bookworm": 15, "trixie": 17}


def wanted(role):
    """Whether an app of the server uses PostgreSQL."""
    return any(app["postgres_enabled"] for app in role.apps)


def tasks(role):
    v = role.vars
    if not wanted(role):
        yield shell.note("PostgreSQL", "off (postgres_enabled: false)")
        return
    version = VERSIONS.get(role.facts.os_codename)
    if version is None:
        raise RoleError(f"postgres: no known PostgreSQL for {role.facts.os_codename!r}")
    settings = role.template("provision.conf.j2")
    # Settings of clusters yet to be made: the one the package makes starts with them,
    # so a fresh server needs no restart (the package's install waits for this file).
    yield files.directory(CREATECLUSTER)
    yield files.file(f"{CREATECLUSTER}/provision.conf", settings)
    yield apt.packages(["postgresql"], v["apt_cache_valid_time"], v["apt_install_recommends"])
    conf = f"/etc/postgresql/{version}/main/conf.d/provision.conf"
    yield files.file(conf, settings, owner="postgres", group="postgres",
                     notify="apply postgresql settings")  # fmt: skip
    yield systemd.service("postgresql", running=True, enabled=True)


CREATECLUSTER = "/etc/postgresql-common/createcluster.d"

# PostgreSQL reloaded, then restarted only if a setting of its files takes a restart and
# differs from the running one: pg_file_settings reads the files as they are now.
APPLY = (
    "systemctl reload-or-restart postgresql && "
    "if runuser -u postgres -- sh -c 'cd / && psql -qAtc "
    '"select 1 from pg_file_settings where error is not null"\' | grep -q 1; '
    "then systemctl restart postgresql; fi"
)


def handlers(role):
    def decide():
        return Change([Command.shell(APPLY)], "reload; restart if a setting takes one")

    return {"apply postgresql settings": Operation("apply settings", {}, decide)}


def logs(role):
    """PostgreSQL's own log (Debian writes it to a file)."""
    version = VERSIONS.get(role.facts.os_codename)
    if not wanted(role) or version is None:
        return {}
    return {"postgres": LogSource(path=f"/var/log/postgresql/postgresql-{version}-main.log")}
