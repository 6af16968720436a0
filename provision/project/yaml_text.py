"""YAML read as PyYAML's safe loader reads it, with libyaml where PyYAML was built with it
(ten times faster: the roles' defaults, the plays and the inventory, read every run)."""

from __future__ import annotations

from typing import Any

import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str) -> Any:
    """The data of the YAML document ``text`` (``yaml.YAMLError`` if it is not one)."""
    return yaml.load(text, Loader=LOADER)
