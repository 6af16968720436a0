"""Commands as data: built from parts, quoted in one place, secrets masked in one place."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from provision.core.numbers import is_number

MASK = "********"


@dataclass(frozen=True)
class Secret:
    """A value that must reach the server but never the screen.

    Example: ``Command.of("chpasswd", stdin=Secret("app:hunter2").value.encode())``
    """

    value: str

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({MASK})"


Part = str | Secret


class Shell(str):
    """Shell text written as shell text (a role's own test such as ``nginx -t``): put
    into a script as it is, never quoted again."""


def quote(value: str | int | float | Command) -> str:
    """One word of shell text: a string quoted, a number as it is, a ``Command`` rendered,
    ``Shell`` text as written."""
    if isinstance(value, Shell):
        return str(value)
    if isinstance(value, Command):
        return value.render()
    if is_number(value):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return shlex.quote(value)
    raise TypeError(f"cannot put {type(value).__name__} into shell text")


def sh(template: str, **values: str | int | float | Command) -> str:
    """Shell text from a template whose ``{name}`` fields are filled with quoted values.

    Shell braces are doubled, as in ``str.format``: ``"${{d%/}}"``.

    Example: ``sh("cd {dir} && ls", dir="/srv/a b")`` -> ``"cd '/srv/a b' && ls"``
    """
    return template.format(**{name: quote(value) for name, value in values.items()})


@dataclass(frozen=True)
class Command:
    """One command for a host: argv parts, or a shell snippet a role wrote itself.

    ``stdin`` is streamed to the command (file uploads travel this way, so they work
    through sudo too); it is never shown.

    Example: ``Command.of("useradd", "--system", name).render()`` -> ``"useradd --system app"``
    """

    parts: tuple[Part, ...]
    stdin: bytes | None = field(default=None, repr=False)
    is_script: bool = False
    label: str = ""  # shown instead of a long snippet

    @classmethod
    def of(cls, *parts: Part, stdin: bytes | None = None, label: str = "") -> Command:
        return cls(tuple(parts), stdin=stdin, label=label)

    @classmethod
    def shell(cls, snippet: str, label: str = "") -> Command:
        """A shell snippet, run as written by ``sh -c`` (pipes, redirections, tests)."""
        return cls((snippet,), is_script=True, label=label)

    @classmethod
    def script(
        cls, template: str, label: str = "", **values: str | int | float | Command
    ) -> Command:
        """A shell script built from quoted parts (see ``sh``).

        Example: ``Command.script("[ -d {d} ] || mkdir {d}", d="/srv/a b")``
        """
        return cls.shell(sh(template, **values), label=label)

    def render(self) -> str:
        """The exact text sent to the host's shell, secrets included."""
        if self.is_script:
            return f"sh -c {shlex.quote(_reveal(self.parts[0]))}"
        return " ".join(quote(_reveal(p)) for p in self.parts)

    def display(self) -> str:
        """The text shown to people: like ``render`` but secrets masked."""
        if self.label:
            return self.label
        if self.is_script:
            return str(self.parts[0])
        return " ".join(MASK if isinstance(p, Secret) else quote(p) for p in self.parts)

    def secrets(self) -> list[str]:
        return [p.value for p in self.parts if isinstance(p, Secret)]


def _reveal(part: Part) -> str:
    return part.value if isinstance(part, Secret) else part


def as_root(text: str, user: str) -> str:
    """Wrap a script so that it runs as root: directly for root, through sudo otherwise."""
    if user == "root":
        return sh("sh -c {text}", text=text)
    return sh("sudo -n -H -- sh -c {text}", text=text)


class Masker:
    """Replaces every known secret value in text shown to people."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for s in secrets or []:
            self.add(s)

    def add(self, secret: str) -> None:
        if not secret or secret in self._secrets:
            return
        self._secrets.add(secret)
        longest_first = sorted(self._secrets, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(s) for s in longest_first))

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)
