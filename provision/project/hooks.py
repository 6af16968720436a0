"""What a role may answer besides its tasks: each hook declared once, asked one way.

A hook is declared by the part of the engine that asks it (``LOGS`` in
``provision.commands.logs``, ``RELEASE`` in ``provision.release.release``, ...) and listed in
the role contract, ``provision.api.RoleModule``. A role answers a hook by defining a
function of the hook's name in its ``tasks.py``; a role that does not define it is skipped.

Example::

    LOGS: Hook[dict[str, LogSource]] = Hook("logs")
    for role, logs in LOGS.answers(roles, context):
        ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")

DECLARED: dict[str, Hook[Any]] = {}  # every hook, by name: the contract lists each one


class Answering(Protocol):
    """A loaded role, as far as hooks need it: the module its ``tasks.py`` made."""

    name: str
    module: Any


@dataclass(frozen=True)
class Hook(Generic[T]):
    """A question the engine asks each role; ``name`` is the function that answers it."""

    name: str

    def __post_init__(self) -> None:
        DECLARED[self.name] = self

    def answer(self, role: Answering, *args: Any) -> T | None:
        """What ``role`` answers, given ``args``; None when it does not answer this hook."""
        make: Callable[..., T] | None = getattr(role.module, self.name, None)
        return None if make is None else make(*args)

    def answers(
        self, roles: Iterable[Answering], args: Callable[[Answering], tuple[Any, ...]]
    ) -> list[tuple[Answering, T]]:
        """Each role's answer, in the roles' order, for the roles that answer;
        ``args(role)`` gives what that role is asked with."""
        found = []
        for role in roles:
            if hasattr(role.module, self.name):
                made = self.answer(role, *args(role))
                if made is not None:
                    found.append((role, made))
        return found
