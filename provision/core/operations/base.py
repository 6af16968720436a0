"""What an operation is: facts it needs, and a decision from their values."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from provision.core.command import Command
from provision.core.errors import ProvisionError
from provision.core.facts import Fact


@dataclass(frozen=True)
class FileDiff:
    """The new content of a file, for ``--diff``; the old one is read only when asked."""

    path: str
    new: bytes
    sensitive: bool = False


@dataclass(frozen=True)
class Joint:
    """How a change may be made as one with the changes of its ``kind`` that later tasks
    of the run would make, at the first one's turn: ``join`` gives the commands that make
    all their ``part``s at once (packages: one apt transaction for every role's)."""

    kind: str
    part: Any
    join: Callable[[list[Any]], list[Command]]


@dataclass(frozen=True)
class Change:
    """The host differs from what is wanted: these commands make it so."""

    commands: list[Command]
    summary: str
    diff: FileDiff | None = None
    joint: Joint | None = None


@dataclass(frozen=True)
class NoChange:
    """The host is as wanted; ``reason`` says how we know (``loud``: said even when not
    verbose, as the operation's ``loud`` does, for a reason a person must see)."""

    reason: str
    loud: bool = False


Outcome = Change | NoChange


class OperationError(ProvisionError):
    """The host is in a state this operation must not paper over."""


@dataclass
class Operation:
    """A named step: reads ``facts``, then ``decide`` returns an ``Outcome``.

    Example::

        op = files.directory("/srv/app", owner="app", group="app", mode=0o750)
        op.compare({"path": None}).commands  # mkdir, chown, chmod
    """

    name: str
    facts: dict[str, Fact]
    decide: Callable[..., Outcome]
    notify: tuple[str, ...] = field(default=())
    loud: bool = False  # say the no-change reason even when not verbose

    def compare(self, values: dict[str, Any]) -> Outcome:
        return self.decide(**values)


def only_if(op: Operation, fact: Fact, why: str) -> Operation:
    """``op``, decided only when the boolean ``fact`` is true at the time it runs.

    Example: ``only_if(files.file(...), Succeeds("test -e /etc/x"), "x exists")``
    """

    def decide(_when: bool, **values: Any) -> Outcome:
        return op.decide(**values) if _when else NoChange(f"skipped: not {why}")

    return Operation(op.name, {"_when": fact, **op.facts}, decide, op.notify, op.loud)


def skip_if(op: Operation, fact: Fact[str]) -> Operation:
    """``op``, skipped with the reason ``fact`` gives when it gives one, decided as
    usual when it gives "".

    Example: ``skip_if(files.file("/etc/x.nft", rules), NetworkHome())``
    """

    def decide(_why: str, **values: Any) -> Outcome:
        return NoChange(f"skipped: {_why}") if _why else op.decide(**values)

    return Operation(op.name, {"_why": fact, **op.facts}, decide, op.notify, op.loud)


def made_from(fact: Fact[Any], make: Callable[[Any], Operation], example: Any) -> Operation:
    """The operation ``make(value)``, where ``value`` is what ``fact`` reads on the host when
    it runs (a file whose content depends on the host's state). ``make`` must ask the same
    facts whatever the value; ``example`` is a value to learn them from.

    Example: ``made_from(SshdPorts(), lambda ports: files.file(path, rules(ports)), (22,))``
    """
    shape = make(example)

    def decide(_value: Any, **values: Any) -> Outcome:
        return make(_value).decide(**values)

    return Operation(shape.name, {"_value": fact, **shape.facts}, decide, shape.notify, shape.loud)


def notify_names(notify: str | Iterable[str] | None) -> tuple[str, ...]:
    if notify is None:
        return ()
    if isinstance(notify, str):
        return (notify,)
    return tuple(notify)


def octal(mode: int | str) -> int:
    """``0o644``, ``"0644"`` and ``"644"`` all mean the same mode."""
    return mode if isinstance(mode, int) else int(mode, 8)
