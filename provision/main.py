"""The `provision` command: provision's tasks (``provision.tasks``) with Fabric's options
(``-H``, ``-i``, ``-S``, ...), run from any folder without a fabfile.

Example::

    provision init
    provision bootstrap -H sandbox
    provision deploy -H web --set app_workers=4
"""

from __future__ import annotations

import os
import sys

from fabric import Config
from fabric.main import Fab
from invoke import Collection

from provision import __version__, keep_bytecode_cache, tasks
from provision.core.output import Program


class Provision(Fab):
    def print_version(self) -> None:
        print(f"provision {__version__}")

    def parse_core(self, argv: list[str] | None) -> None:
        super().parse_core(argv)
        keep_bytecode_cache()  # for the modules a command imports when it runs


def program() -> Provision:
    return Provision(name="provision", binary="provision", version=__version__,
                     namespace=Collection.from_module(tasks),
                     executor_class=tasks.ArgvExecutor, config_class=Config)  # fmt: skip


def run() -> None:
    Program.name = "provision"  # the commands messages suggest are this program's
    try:
        program().run()
    except BrokenPipeError:  # the reader went away (`provision logs | head`): no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)  # as a shell says a command ended by SIGPIPE


if __name__ == "__main__":
    run()
