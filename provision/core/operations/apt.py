"""Debian packages."""

from __future__ import annotations

from collections.abc import Iterable

from provision.core.command import Command
from provision.core.facts import APT_STAMP, AptListsAge, DebPackages
from provision.core.operations.base import Change, Joint, NoChange, Operation

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

LISTS = "/var/lib/apt/lists"


def refresh(lists: str = LISTS) -> Command:
    """The package lists refreshed, with the packages' long descriptions (the Translation
    files) only where the server has them already: a fresh server's first refresh is
    spared them (6 MB for Debian 12's main: 0.8 s instead of 1.3 to 1.9 s on a test host),
    and one that has them keeps them up to date. apt's daily refresh fetches them as its
    settings say."""
    return Command.script(
        "if ls {lists}/*_Translation-* >/dev/null 2>&1; then apt-get update -q; "
        "else apt-get update -q -o Acquire::Languages=none; fi",
        label="refresh apt's package lists",
        lists=lists,
    )


def packages(
    names: Iterable[str], cache_valid_time: int = 3600, recommends: bool = False
) -> Operation:
    """These packages are installed; the lists are refreshed first only when older than
    ``cache_valid_time`` seconds, and only when something must be installed. Packages they
    only recommend are left out unless ``recommends``.

    The packages that several tasks of a run would install are installed in one apt
    transaction, at the first one's turn (each still reports its own).

    Example: ``packages(["nginx", "python3-venv"])``
    """
    names = tuple(names)

    def decide(installed: frozenset[str], age: int | None) -> Change | NoChange:
        missing = tuple(n for n in names if n not in installed)
        if not missing:
            return NoChange(f"installed: {', '.join(names)}")
        part = (missing, age is None or age > cache_valid_time, recommends)
        kind = "apt, recommends" if recommends else "apt"  # joined only with its like
        return Change(
            install([part]), f"install {', '.join(missing)}", joint=Joint(kind, part, install)
        )

    facts = {"installed": DebPackages(names), "age": AptListsAge()}
    return Operation(f"packages {', '.join(names)}", facts, decide)


def install(parts: list[tuple[tuple[str, ...], bool, bool]]) -> list[Command]:
    """One transaction for every part's packages ``(missing, refresh, recommends)``, the
    lists refreshed first if any part wants it (all parts alike in ``recommends``)."""
    commands = []
    if any(refresh for _, refresh, _ in parts):
        commands += [
            refresh(),
            Command.of("mkdir", "-p", "/var/lib/apt/periodic"),
            Command.of("touch", APT_STAMP),
        ]
    names = list(dict.fromkeys(n for missing, _, _ in parts for n in missing))
    extra = () if parts[0][2] else ("--no-install-recommends",)
    commands.append(Command.of(*INSTALL, *extra, *names))
    return commands
