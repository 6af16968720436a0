"""The app's system user, its settings, and the directory layout releases use."""

import json
import re

from provision.layout import Layout
from provision.operations import files, server
from provision.roles import RoleError

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def tasks(role):
    v = role.vars
    user, root = v["app_user"], v["app_root"]
    yield server.group(user)
    yield server.user(user, group=user, home=root, shell="/usr/sbin/nologin", system=True)
    layout = Layout(root)
    yield files.directory(root, owner=user, group=user, mode=0o755)
    for sub in Layout.DIRECTORIES:
        yield files.directory(layout.path(sub), owner=user, group=user, mode=0o755)
    yield files.directory(layout.shared, owner=user, group=user, mode=0o750)
    yield files.file(f"{layout.shared}/.env", dotenv(v["app_env"]), owner=user, group=user,
                     mode=0o600, sensitive=True)  # fmt: skip


def secrets(role):
    return [str(value) for value in role.vars["app_env"].values()]


def dotenv(settings):
    """KEY="value" lines, values JSON-quoted (python-dotenv reads them the same way)."""
    for key in settings:
        if not ENV_NAME.match(str(key)):
            raise RoleError(f"app_env: {key!r} is not a valid environment variable name")
    lines = [f"{key}={json.dumps(str(value))}" for key, value in settings.items()]
    return "# Managed by provision (roles/app): set app_env in the inventory.\n" + "".join(
        f"{line}\n" for line in lines
    )
