"""Settings checked against role defaults: the defaults file is the schema."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from provision.core.errors import ProvisionError
from provision.core.numbers import is_number


class SchemaError(ProvisionError):
    """A bad setting: ``key`` names it, ``message`` says what is wrong; ``app``, the app
    whose setting it is, where a server holds several."""

    def __init__(self, key: str, message: str, app: str = "") -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message
        self.app = app


def closest(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the nearest choice, or ``""`` when none is near."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def fits(value: Any, default: Any) -> bool:
    """Whether ``value`` has the type the default declares (``None`` default: any value)."""
    if default is None or value is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return is_number(value, whole=True)
    if isinstance(default, float):
        return is_number(value)
    return isinstance(value, type(default))


def check_vars(values: dict[str, Any], schema: dict[str, Any]) -> None:
    """Reject unknown names (with the closest known one) and values of the wrong type."""
    for key, value in values.items():
        if key not in schema:
            raise SchemaError(key, f"unknown setting{closest(str(key), schema)}")
        if not fits(value, schema[key]):
            want = type_name(schema[key])
            raise SchemaError(key, f"expected {want}, got {type_name(value)} {value!r}")
