"""Users and groups."""

from __future__ import annotations

from collections.abc import Iterable

from provision.core.command import Command
from provision.core.facts import GroupInfo, UserInfo, UserState
from provision.core.operations.base import Change, NoChange, Operation


def group(name: str, system: bool = True) -> Operation:
    """A group exists.

    Example: ``group("app")``
    """

    def decide(gid: int | None) -> Change | NoChange:
        if gid is not None:
            return NoChange(f"group {name} exists (gid {gid})")
        flags = ["--system"] if system else []
        return Change([Command.of("groupadd", *flags, name)], "create")

    return Operation(f"group {name}", {"gid": GroupInfo(name)}, decide)


def user(
    name: str,
    group: str | None = None,
    home: str | None = None,
    shell: str = "/usr/sbin/nologin",
    system: bool = True,
    create_home: bool = False,
    groups: Iterable[str] = (),
    comment: str = "",
) -> Operation:
    """An account with this primary group, home, shell and supplementary groups.

    A system account with ``/usr/sbin/nologin`` is the default: a user to run a
    service, not to log in as.

    Example: ``user("app", group="app", home="/srv/app")``
    """
    group = group or name
    home = home or f"/home/{name}"
    groups = tuple(groups)

    def decide(state: UserState | None) -> Change | NoChange:
        if state is None:
            flags = ["--system"] if system else []
            flags += ["--create-home"] if create_home else ["--no-create-home"]
            if groups:
                flags += ["--groups", ",".join(groups)]
            if comment:
                flags += ["--comment", comment]
            add = Command.of(
                "useradd", *flags, "--gid", group, "--home-dir", home, "--shell", shell, name
            )
            return Change([add], "create")
        flags = []
        if state.group != group:
            flags += ["--gid", group]
        if state.home != home:
            flags += ["--home", home]
        if state.shell != shell:
            flags += ["--shell", shell]
        missing = [g for g in groups if g not in state.groups]
        if missing:
            flags += ["--append", "--groups", ",".join(missing)]
        if not flags:
            return NoChange(f"user {name} is as wanted")
        changed = [f.lstrip("-") for f in flags if f.startswith("--") and f != "--append"]
        return Change([Command.of("usermod", *flags, name)], "set " + ", ".join(changed))

    return Operation(f"user {name}", {"state": UserInfo(name)}, decide)
