"""The one base class of provision's errors.

Every failure provision expects (a host that cannot be reached, a task that failed, a
setting it refuses, a deploy lock held by another run) is a ``ProvisionError``: its
message is one line a person can act on, and a run reports it per host instead of a
traceback. Anything else is a surprise, reported with its type.
"""


class ProvisionError(Exception):
    """A failure provision expects, said in one line a person can act on."""
