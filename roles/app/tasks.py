"""The app's system user and the directory layout releases will use."""

from provision.operations import files, server


def tasks(role):
    v = role.vars
    user, root = v["app_user"], v["app_root"]
    yield server.group(user)
    yield server.user(user, group=user, home=root, shell="/usr/sbin/nologin", system=True)
    yield files.directory(root, owner=user, group=user, mode=0o755)
    yield files.directory(f"{root}/releases", owner=user, group=user, mode=0o755)
    yield files.directory(f"{root}/shared", owner=user, group=user, mode=0o750)
