"""Debian packages."""

from __future__ import annotations

from collections.abc import Iterable

from provision.core.command import Command
from provision.core.facts import APT_STAMP, AptListsAge, DebPackages
from provision.core.operations.base import Change, NoChange, Operation

INSTALL = (
    "env",
    "DEBIAN_FRONTEND=noninteractive",
    "apt-get",
    "install",
    "-y",
    "-q",
    "-o",
    "Dpkg::Options::=--force-confdef",
    "-o",
    "Dpkg::Options::=--force-confold",
)


def packages(names: Iterable[str], cache_valid_time: int = 3600) -> Operation:
    """These packages are installed; the lists are refreshed first only when older than
    ``cache_valid_time`` seconds, and only when something must be installed.

    Example: ``packages(["nginx", "python3-venv"])``
    """
    names = tuple(names)

    def decide(installed: frozenset[str], age: int | None) -> Change | NoChange:
        missing = [n for n in names if n not in installed]
        if not missing:
            return NoChange(f"installed: {', '.join(names)}")
        commands = []
        if age is None or age > cache_valid_time:
            commands += [
                Command.of("apt-get", "update", "-q"),
                Command.of("mkdir", "-p", "/var/lib/apt/periodic"),
                Command.of("touch", APT_STAMP),
            ]
        commands.append(Command.of(*INSTALL, *missing))
        return Change(commands, f"install {', '.join(missing)}")

    facts = {"installed": DebPackages(names), "age": AptListsAge()}
    return Operation(f"packages {', '.join(names)}", facts, decide)
