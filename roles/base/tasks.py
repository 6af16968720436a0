"""Packages every server of the stack needs, and automatic security updates."""

from provision.api import DiskProbe, UpdatesProbe, apt, files


def tasks(role):
    v = role.vars
    # pip builds a virtualenv with python3-venv's pip; uv (the default) needs none of it,
    # and leaving it out spares a fresh server six packages (about 1 s of apt)
    pip = any(app["release_installer"] == "pip" for app in role.apps)
    packages = [*(["python3-venv"] if pip else []), *v["base_packages"],
                *(["unattended-upgrades"] if v["security_updates"] else [])]  # fmt: skip
    yield apt.packages(packages, v["apt_cache_valid_time"], v["apt_install_recommends"])
    # read after Debian's 20auto-upgrades and 50unattended-upgrades: these settings win
    yield files.file("/etc/apt/apt.conf.d/90provision-upgrades", role.template("auto-upgrades.j2"))


def status(role):
    """Pending package updates, security ones among them, and whether a reboot is due;
    free disk on the root filesystem (a role that keeps its data elsewhere says where)."""
    return {"updates": UpdatesProbe(), "disk": DiskProbe("/")}
