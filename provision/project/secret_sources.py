"""Where a secret setting's value comes from: written as it is, ``{env: NAME}`` (this
machine's environment) or ``{command: CMD}`` (what CMD prints here: a password manager's
CLI, ``sops -d``), each read before any connection.

Example::

    secret_value("app_env", "API_TOKEN", {"command": "pass show app/token"})
"""

from __future__ import annotations

import functools
import os
import subprocess
from typing import Any

from provision.project.schema import SchemaError


def secret_value(setting: str, key: str, value: Any) -> str:
    """The value of ``key`` of the setting ``setting``, read from where ``value`` says;
    ``SchemaError(setting, why)`` when it cannot be read."""
    if not isinstance(value, dict):
        return str(value)
    if set(value) == {"env"}:
        if str(value["env"]) not in os.environ:
            raise SchemaError(setting, f"{key}: the environment variable {value['env']} is "
                              "not set here")  # fmt: skip
        return os.environ[str(value["env"])]
    if set(value) == {"command"}:
        rc, out, err = _run(str(value["command"]))
        if rc != 0 or not out:
            why = f"exited {rc}: {err.strip().splitlines()[-1] if err.strip() else 'no message'}"
            raise SchemaError(setting, f"{key}: `{value['command']}` "
                              f"{why if rc else 'printed nothing'}")  # fmt: skip
        return out.removesuffix("\n")
    raise SchemaError(setting, f"{key}: a value, {{env: NAME}} or {{command: CMD}}; got "
                      f"keys {sorted(value)}")  # fmt: skip


@functools.cache
def _run(command: str) -> tuple[int, str, str]:
    """A secret's command, run once per run however many hosts and roles ask."""
    try:
        done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return 124, "", "did not finish within 120 s"
    return done.returncode, done.stdout, done.stderr
