"""Nested settings (a mapping of entries, a list of steps) given a shape, and checked by it.

A shape is a ``Shape``: a msgspec Struct, frozen, with no field beyond those it names.
``shaped`` converts a setting's value to it strictly (a YAML ``yes`` is no number, a
number no string), and turns msgspec's error into a ``SchemaError`` that names the
setting, the entry and the field, with the closest field for a misspelt one; preflight
then names the file and line that set it. A shape's ``__post_init__`` says in words what
its types cannot (raise ``ValueError("field: why")``).

Example::

    class Job(Shape):
        command: str
        on_calendar: str

    jobs = shaped_each("app_schedule", {"tick": {"command": "x", "on_calendar": "daily"}}, Job)
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from provision.project.schema import SchemaError, closest

T = TypeVar("T")

# msgspec's words, as a person reads them
KINDS = {"str": "a string", "int": "an integer", "float": "a number", "bool": "a boolean",
         "object": "a mapping", "array": "a list", "null": "nothing"}  # fmt: skip
SAID = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<at>[^`]*)`)?$", re.S)


class Shape(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The shape of one entry of a nested setting; see the module."""


def shaped(key: str, value: Any, kind: type[T] | Any, entry: str = "") -> T:
    """``value`` of the setting ``key`` as ``kind``; ``entry``: its name in the setting."""
    try:
        return msgspec.convert(value, kind, strict=True)
    except msgspec.ValidationError as e:
        raise SchemaError(key, _words(str(e), kind, entry)) from e


def shaped_each(key: str, value: Any, kind: type[T] | Any) -> dict[str, T]:
    """A mapping setting ``key`` of named entries, each as ``kind``."""
    entries = shaped(key, value, dict[str, Any])
    return {name: shaped(key, entry, kind, str(name)) for name, entry in entries.items()}


def _words(error: str, kind: Any, entry: str) -> str:
    found = SAID.match(error)
    assert found is not None
    what, at = found["what"], (found["at"] or "").lstrip(".")
    if unknown := re.match(r"Object contains unknown field `(.+)`", what):
        name = unknown[1]
        fields = getattr(kind, "__struct_fields__", ())
        what = f"unknown key {name!r}{closest(name, fields)}"
    elif missing := re.match(r"Object missing required field `(.+)`", what):
        what, at = "missing", missing[1]
    elif wrong := re.match(r"Expected `(.+?)`, got `(.+?)`", what):
        want = " or ".join(KINDS.get(k, k) for k in wrong[1].split(" | "))
        what = f"expected {want}, got {KINDS.get(wrong[2], wrong[2])}"
    elif bound := re.match(r"Expected `\w+` (>=|>|<=|<) (\S+)", what):
        what = f"a number {'above' if bound[1] == '>' else 'at least'} {bound[2]}"
    where = [part for part in (entry, at.replace("[", "").replace("]", "")) if part]
    return ": ".join([*where, what])
