"""Packages every server of the stack needs."""

from provision.operations import apt


def tasks(role):
    v = role.vars
    yield apt.packages(v["base_packages"], cache_valid_time=v["apt_cache_valid_time"])
