"""Redis beside the app, on loopback only, restarted when its configuration changes.

A role written against the role contract, ``provision.api``, and nothing else: it is
the README's example of a role of your own.
"""

from provision.api import LogSource, SchemaError, ServiceProbe, apt, files, systemd

CONF = "/etc/redis/redis.conf"
POLICIES = ("allkeys-lru", "noeviction", "volatile-lru", "allkeys-lfu", "volatile-lfu")


def check(settings, project_root):
    """Refused before any connection, with the file and line that set it."""
    if settings["redis_maxmemory_policy"] not in POLICIES:
        raise SchemaError("redis_maxmemory_policy", f"expected one of {', '.join(POLICIES)}")


def tasks(role):
    yield apt.packages(["redis-server"])
    yield files.file(CONF, role.template("redis.conf.j2"), owner="redis", group="redis",
                     mode=0o640, notify="restart redis")  # fmt: skip
    yield systemd.service("redis-server", running=True, enabled=True)


def handlers(role):
    return {"restart redis": systemd.restart("redis-server")}


def logs(role):
    return {"redis": LogSource(unit="redis-server")}


def status(role):
    return {"redis": ServiceProbe("redis-server")}
