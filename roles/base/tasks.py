"""Packages the stack needs, and nginx running."""

from provision.operations import apt, systemd


def tasks(role):
    v = role.vars
    yield apt.packages(v["base_packages"], cache_valid_time=v["apt_cache_valid_time"])
    yield systemd.service("nginx", running=True, enabled=True)
