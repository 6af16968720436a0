"""The core: run commands on one host and say what happened.

Commands are data, quoted and masked in one place (``command``); a host is reached over
SSH with its key checked (``transport``, ``hostkeys``); facts are small read-only probes
of a host (``facts``, ``probes``); operations compare facts with what is wanted and yield
the commands that change the host (``operations``); the runner reads the facts at the
moment each operation runs, applies its commands and runs the handlers it notified
(``runner``), keeping changed files for an undo (``undo``); ``output`` is what a person
sees. The core knows nothing of inventories, roles or releases: it imports nothing above it.
"""
