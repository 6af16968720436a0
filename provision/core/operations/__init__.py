"""Idempotent operations: each compares facts with the wanted state and yields commands."""

from provision.core.operations import apt, files, secret, server, shell, systemd

from .base import Change, NoChange, Operation, OperationError, Outcome, made_from, only_if, skip_if

__all__ = [
    "Change",
    "NoChange",
    "Operation",
    "OperationError",
    "Outcome",
    "apt",
    "files",
    "made_from",
    "only_if",
    "secret",
    "server",
    "shell",
    "skip_if",
    "systemd",
]
