"""provision: take a FastAPI app from a laptop to production Linux servers, and keep it there.

The engine, in layers, each importing only those below it:

- ``main`` (the `provision` command) and ``tasks`` (its tasks, which a fabfile imports);
- ``commands``, ``sandbox``: what a person runs (the CLI's day-2 commands, local test hosts);
- ``release``: a release's flow on one host, and the rollout over many;
- ``project``: the inventory, the roles and the plays, applied to hosts;
- ``core``: commands, SSH, facts, operations and the runner.

``api`` is the contract the roles are written against: a role imports ``provision.api``
and nothing else of the engine.
"""

import sys

__version__ = "0.2.0"


def keep_bytecode_cache() -> None:
    """Let Python cache its compiled modules as it would (``-B`` and
    ``PYTHONDONTWRITEBYTECODE`` still turn that off). Invoke, which runs `fab` and
    `provision`, turns the cache off (its ``--write-pyc``) before the tasks are loaded, so
    that every run compiled provision's modules, and its libraries' imported after, again
    wherever nothing had compiled them (an editable install, or ``uv tool install``, which
    does not): 40 to 90 ms of every command on a test machine."""
    sys.dont_write_bytecode = bool(sys.flags.dont_write_bytecode)


keep_bytecode_cache()  # `fab` imports the fabfile, so provision, after Invoke's setting
