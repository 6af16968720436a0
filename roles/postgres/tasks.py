"""Debian's PostgreSQL server beside the apps, listening on loopback only; each
app's database, role and backups are the postgres_db role's."""

from provision.api import LogSource, RoleError, apt, files, shell, systemd

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
    yield apt.packages(["postgresql"], v["apt_cache_valid_time"], v["apt_install_recommends"])
    conf = f"/etc/postgresql/{version}/main/conf.d/provision.conf"
    yield files.file(conf, role.template("provision.conf.j2"), owner="postgres",
                     group="postgres", notify="restart postgresql")  # fmt: skip
    yield systemd.service("postgresql", running=True, enabled=True)


def handlers(role):
    return {"restart postgresql": systemd.restart("postgresql")}


def logs(role):
    """PostgreSQL's own log (Debian writes it to a file)."""
    version = VERSIONS.get(role.facts.os_codename)
    if not wanted(role) or version is None:
        return {}
    return {"postgres": LogSource(path=f"/var/log/postgresql/postgresql-{version}-main.log")}
