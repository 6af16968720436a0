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

__version__ = "0.2.0"
