"""Idempotent operations: each compares facts with the wanted state and yields commands."""

from . import apt, files, server, shell, systemd
from .base import Change, NoChange, Operation, OperationError, Plan, only_if

__all__ = [
    "Change",
    "NoChange",
    "Operation",
    "OperationError",
    "Plan",
    "apt",
    "files",
    "only_if",
    "server",
    "shell",
    "systemd",
]
