"""The engine's own settings (``defaults.yaml`` beside this module): how a deploy
switches several app servers. They sit in the schema under the roles' settings and are
checked before any connection, as a role's are.

Example::

    batch_sizes(10, settings["deploy_batch"])   # [1, 9] with the default [1, "100%"]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from provision.project import yaml_text
from provision.project.schema import SchemaError
from provision.project.shapes import shaped

MOST_AT_ONCE = 256  # hosts a run may work on at once (see defaults.yaml)
INSTALLERS = ("uv", "pip")  # what may build a release's virtualenv on the server
DEFAULTS: dict[str, Any] = yaml_text.load((Path(__file__).parent / "defaults.yaml").read_text())


def check(settings: dict[str, Any]) -> None:
    """Refuse a value of the engine's own settings: ``SchemaError(key, why)``."""
    if fault := batch_fault(settings["deploy_batch"]):
        raise SchemaError("deploy_batch", fault)
    if settings["deploy_max_fail"] < 0:
        raise SchemaError("deploy_max_fail", "a number of servers: 0 or more")
    if not 1 <= settings["hosts_at_once"] <= MOST_AT_ONCE:
        raise SchemaError("hosts_at_once", f"a number of hosts: 1 to {MOST_AT_ONCE}")
    if settings["release_installer"] not in INSTALLERS:
        raise SchemaError("release_installer", f"one of: {', '.join(INSTALLERS)}")


def at_once(settings: dict[str, Any], overrides: dict[str, Any] | None = None) -> int:
    """How many hosts a run works on at once: ``hosts_at_once`` of ``overrides`` (--set),
    else of ``settings`` (a host's inventory settings), else the default."""
    found = {**settings, **(overrides or {})}.get("hosts_at_once", DEFAULTS["hosts_at_once"])
    return found if isinstance(found, int) and 1 <= found <= MOST_AT_ONCE else 1


def batch_sizes(total: int, spec: Sequence[int | str]) -> list[int]:
    """How many hosts each batch switches: counts or percentages of ``total`` (rounded
    up, at least one), the last repeated until every host is in a batch.

    >>> batch_sizes(10, [1, "30%"])
    [1, 3, 3, 3]
    """
    sizes: list[int] = []
    steps = list(spec) or ["100%"]
    while sum(sizes) < total:
        step = steps[min(len(sizes), len(steps) - 1)]
        if isinstance(step, str):
            want = math.ceil(total * float(step.rstrip("%")) / 100)
        else:
            want = int(step)
        sizes.append(max(1, min(want, total - sum(sizes))))
    return sizes


def batch_fault(spec: object) -> str:
    """Why ``spec`` is not a batch list, or ""."""
    try:
        steps = shaped("deploy_batch", spec, list[int | str])
    except SchemaError as e:
        return f'{e.message} (a list of counts or percentages, such as [1, "50%"])'
    if not steps:
        return 'expected a list of counts or percentages, such as [1, "50%"]'
    for step in steps:
        if isinstance(step, int) and step < 1:
            return f"{step} hosts: a batch takes one host at least"
        if isinstance(step, str):
            number = step.removesuffix("%")
            if (
                not step.endswith("%")
                or not number.replace(".", "", 1).isdigit()
                or not (0 < float(number) <= 100)
            ):
                return f'{step!r}: a percentage is written like "25%" (above 0, at most 100)'
    return ""
