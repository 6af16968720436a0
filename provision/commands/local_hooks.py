"""The project's own hooks: scripts in its ``hooks/`` folder, run on this machine at named
points of a deploy or a rollback, to post to a chat, tag a release, or refuse to start.

A hook is an executable file named after its point, with or without an extension
(``hooks/before-deploy``, ``hooks/after-deploy.sh``). It runs in the project's folder with
the run's facts in its environment (``PROVISION_*``; ``ENVIRONMENT`` lists them) and its
output shown as it comes. A ``before-*`` hook runs once the input is checked and before
any connection: when it fails, the run stops there and no server has changed. An
``after-*`` hook runs when the run ended, whatever its outcome; ``after-failure`` too,
when a host failed. A failing ``after`` hook is said and changes nothing of the outcome.

Example, ``hooks/after-deploy``::

    #!/bin/sh
    curl -fsS -d "deployed $PROVISION_RELEASE to $PROVISION_HOSTS" "$CHAT_WEBHOOK"
"""

from __future__ import annotations

import getpass
import os
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from provision import __version__
from provision.core.errors import ProvisionError
from provision.core.output import Output, Tally

Tallies = dict[str, Tally]
Work = Callable[[], tuple[Tallies, list[str], list[str]]]

FOLDER = "hooks"
POINTS = ("before-deploy", "after-deploy", "before-rollback", "after-rollback",
          "after-failure")  # fmt: skip
ENVIRONMENT = {
    "PROVISION_COMMAND": "deploy or rollback",
    "PROVISION_HOSTS": "the hosts of the run, by inventory name, comma-separated",
    "PROVISION_INVENTORY": "the inventory file",
    "PROVISION_PERFORMER": "who runs provision here (the local user)",
    "PROVISION_VERSION": "provision's version",
    "PROVISION_RELEASE": "after: the release the run made live (or tried to); before a "
    "rollback: the one asked for with --to, if any",
    "PROVISION_PREVIOUS_RELEASE": "after: the release that was live before the run",
    "PROVISION_OUTCOME": "after: succeeded or failed",
    "PROVISION_FAILED_HOSTS": "after: the hosts that failed, comma-separated (or empty)",
    "PROVISION_DURATION": "after: the run's duration in seconds",
}


class HookError(ProvisionError):
    """A hook that cannot run (not executable, named twice), or a ``before`` hook that
    failed."""


@dataclass(frozen=True)
class LocalHooks:
    """The hooks a project has, by point; ``root``: where they run."""

    root: Path
    scripts: Mapping[str, Path]

    @classmethod
    def find(cls, root: Path) -> LocalHooks:
        """The project's hooks, checked before any connection."""
        folder = root / FOLDER
        scripts: dict[str, Path] = {}
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            point = path.name.partition(".")[0]
            if point not in POINTS or not path.is_file():
                continue
            shown = f"{FOLDER}/{path.name}"
            if point in scripts:
                raise HookError(f"{shown}: {FOLDER}/{scripts[point].name} is the {point} hook "
                                "already (one script per point)")  # fmt: skip
            if not os.access(path, os.X_OK):
                raise HookError(f"{shown} is not executable: chmod +x {shown}")
            scripts[point] = path
        return cls(root, scripts)

    def run(self, point: str, facts: Mapping[str, str], out: Output) -> int:
        """Run the hook of ``point`` (if the project has one) with ``facts``; its exit
        status, 0 when there is none."""
        script = self.scripts.get(point)
        if script is None:
            return 0
        env = {**os.environ, "PROVISION_PERFORMER": getpass.getuser(),
               "PROVISION_VERSION": __version__, **facts}  # fmt: skip
        out.line(f"-- hook {FOLDER}/{script.name}")
        try:
            return subprocess.run([str(script)], cwd=self.root, env=env).returncode
        except OSError as e:  # no interpreter for its #! line, say
            out.line(f"{FOLDER}/{script.name}: {e.strerror}")
            return 126

    def before(self, action: str, facts: Mapping[str, str], out: Output) -> None:
        """The ``before-<action>`` hook; ``HookError`` when it fails (nothing is changed)."""
        code = self.run(f"before-{action}", facts, out)
        if code:
            raise HookError(f"{FOLDER}/{self.scripts[f'before-{action}'].name} exited {code}: "
                            f"the {action} did not start, no server was changed")  # fmt: skip

    def around(self, action: str, facts: Mapping[str, str], out: Output, work: Work) -> Tallies:
        """``work`` (a deploy or rollback, giving its tallies, the releases it made live
        and those live before) between the ``before`` and ``after`` hooks of ``action``."""
        try:
            self.before(action, facts, out)
        except HookError as e:
            out.error(action, str(e))
            return {action: Tally(failed=1)}
        started = time.monotonic()
        tallies, made, before = work()
        failed = [name for name, tally in tallies.items() if tally.failed]
        self.after(action, {**facts, "PROVISION_RELEASE": ",".join(made),
                            "PROVISION_PREVIOUS_RELEASE": ",".join(before),
                            "PROVISION_OUTCOME": "failed" if failed else "succeeded",
                            "PROVISION_FAILED_HOSTS": ",".join(failed),
                            "PROVISION_DURATION": f"{time.monotonic() - started:.1f}"},
                   out)  # fmt: skip
        return tallies

    def after(self, action: str, facts: Mapping[str, str], out: Output) -> None:
        """The ``after-<action>`` hook, then ``after-failure`` when the run failed; a hook
        that fails is said."""
        points = [f"after-{action}"]
        if facts.get("PROVISION_OUTCOME") == "failed":
            points.append("after-failure")
        for point in points:
            code = self.run(point, facts, out)
            if code:
                out.line(f"warning: {FOLDER}/{self.scripts[point].name} exited {code} (the "
                         f"{action}'s outcome stands)")  # fmt: skip
