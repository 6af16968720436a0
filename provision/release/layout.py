"""Where releases live on a server: the one definition of the release layout.

Under the app's root::

    current -> releases/<id>        the live release, switched by rename
    releases/<id>/                  code, generated files, venv -> ../../venvs/<hash>
    venvs/<hash>/                   one virtualenv per set of pinned requirements
    wheels/                         every wheel ever shipped, so unchanged ones are not re-sent
    incoming/<id>/                  a release while it is being uploaded
    shared/                         what outlives releases (.env)
    deploys.log                     each deploy and rollback: who, when, which release, result
    .provision-intent               the run being switched (see ``supervised``), until it ends

Release ids start with the UTC time they were made, so sorting them sorts by age. A
release directory holds markers: ``DONE`` once it is complete, ``BAD`` when it failed
its checks, ``ROLLED_BACK`` when a rollback went away from it, ``UNVERIFIED`` from its
install until it passed its health gate while live: only a release that served is one a
rollback goes back to.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

DONE = ".provision-complete"
BAD = ".provision-bad"
ROLLED_BACK = ".provision-rolled-back"
UNVERIFIED = ".provision-unverified"
INTENT = ".provision-intent"  # under the app's root: see ``intent``
CONTENT = ".provision/content"  # in a release: its content digest
REQUIREMENTS = ".provision/requirements.txt"  # in a release: its pinned requirements


@dataclass(frozen=True)
class Layout:
    """Paths of one app's release tree.

    Example: ``Layout("/srv/hello").release("20261125-160501")``
    -> ``"/srv/hello/releases/20261125-160501"``
    """

    root: str

    # Directories the release flow writes into, made by whichever role sets up the app.
    DIRECTORIES = ("releases", "venvs", "wheels", "incoming")
    SHARED = "shared"

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    @property
    def current(self) -> str:
        return self.path("current")

    @property
    def releases(self) -> str:
        return self.path("releases")

    @property
    def venvs(self) -> str:
        return self.path("venvs")

    @property
    def wheels(self) -> str:
        return self.path("wheels")

    @property
    def incoming_dir(self) -> str:
        return self.path("incoming")

    @property
    def shared(self) -> str:
        return self.path(self.SHARED)

    @property
    def history(self) -> str:
        """One JSON line per deploy or rollback (see ``phases.record``)."""
        return self.path("deploys.log")

    @property
    def intent(self) -> str:
        """What the run switching releases is about to do, while it does it (JSON)."""
        return self.path(INTENT)

    def release(self, rid: str, *parts: str) -> str:
        return self.path("releases", rid, *parts)

    def incoming(self, rid: str) -> str:
        return self.path("incoming", rid)

    def venv(self, digest: str) -> str:
        return self.path("venvs", digest)

    @staticmethod
    def release_link(rid: str) -> str:
        """What ``current`` points to (relative, so the tree can move)."""
        return f"releases/{rid}"

    @staticmethod
    def venv_link(digest: str) -> str:
        """What a release's ``venv`` points to."""
        return f"../../venvs/{digest}"


def inside(name: str) -> str:
    """``name`` as a clean relative path inside a release, or ValueError saying why not.

    Example: ``inside("data/uploads/")`` -> ``"data/uploads"``; ``inside("../etc")`` fails.
    """
    clean = posixpath.normpath(name.strip()) if name.strip() else ""
    if not clean or clean == "." or clean.startswith(("/", "../")) or clean == "..":
        raise ValueError(f"{name!r} is not a relative path inside the release")
    return clean
