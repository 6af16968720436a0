"""What a release is, and what the server knows of its releases.

A role that ships releases defines ``release(role)`` returning a ``ReleasePlan``; the
engine uploads, installs, checks and switches releases by it, knowing nothing of the
server software that runs them.

Layout under ``root``::

    current -> releases/<id>        the live release, switched by rename
    releases/<id>/                  code, generated files, venv -> ../../venvs/<hash>
    venvs/<hash>/                   one virtualenv per set of pinned requirements
    wheels/                         every wheel ever shipped, so unchanged ones are not re-sent
    shared/                         what outlives releases (.env)

Release ids start with the UTC time they were made, so sorting them sorts by age.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

from .facts import Fact

BAD = ".provision-bad"
DONE = ".provision-complete"


@dataclass
class ReleasePlan:
    """How to build, start and check releases of one app (given by a role's ``release()``).

    ``check_command(release_dir, port)`` starts the release in the foreground on a spare
    local port, as the app user would; the engine asks its health URL there before it
    goes live. ``files`` are generated files added to every release.
    """

    root: str
    user: str
    service: str
    port: int
    check_port: int
    health_path: str
    health_timeout: float
    keep: int
    packages: list[str]
    check_command: Callable[[str, int], list[str]]
    files: dict[str, str] = field(default_factory=dict)
    shared_links: dict[str, str] = field(default_factory=dict)

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}{self.health_path}"


@dataclass(frozen=True)
class ReleaseInfo:
    id: str
    bad: bool
    venv: str


@dataclass(frozen=True)
class Releases:
    current: str | None
    releases: tuple[ReleaseInfo, ...]
    venvs: frozenset[str]
    wheels: frozenset[str]
    content: str = ""  # the live release's content digest

    def ids(self) -> list[str]:
        return [r.id for r in self.releases]

    def get(self, release_id: str) -> ReleaseInfo | None:
        return next((r for r in self.releases if r.id == release_id), None)

    def previous(self) -> str | None:
        """The release a rollback goes to: the newest good one older than the live one."""
        older = [r.id for r in self.releases if not r.bad and self.current and r.id < self.current]
        return older[-1] if older else None

    def removable(self, keep: int) -> list[str]:
        """Releases beyond the newest ``keep``, never the live or the previous one."""
        protect = {self.current, self.previous()}
        ids = sorted(self.ids())
        old = ids[:-keep] if keep > 0 else ids
        return [r for r in old if r not in protect]


@dataclass(frozen=True)
class ReleaseState(Fact):
    """The releases on the server, the live one, the built venvs and shipped wheels."""

    root: str

    def command(self) -> str:
        r = shlex.quote(self.root)
        return (
            f"cd {r} 2>/dev/null || exit 0; "
            "echo current $(readlink current 2>/dev/null | sed 's|^releases/||'); "
            "echo content $(cat current/.provision/content 2>/dev/null); "
            'for d in releases/*/; do [ -d "$d" ] || continue; d=${d%/}; '
            f'[ -f "$d/{DONE}" ] || continue; '
            f'bad=0; [ -e "$d/{BAD}" ] && bad=1; '
            'echo release ${d#releases/} $bad $(readlink "$d/venv" | sed "s|.*/||"); done; '
            f'for v in venvs/*/; do [ -f "$v{DONE}" ] && echo venv $(basename $v); done; '
            'for w in wheels/*.whl; do [ -f "$w" ] && echo wheel ${w#wheels/}; done; true'
        )

    def parse(self, output: str) -> Releases:
        current, releases, venvs, wheels, content = None, [], set(), set(), ""
        for line in output.splitlines():
            kind, _, rest = line.partition(" ")
            if kind == "current":
                current = rest.strip() or None
            elif kind == "release":
                rid, bad, venv = [*rest.split(), "", "", ""][:3]
                releases.append(ReleaseInfo(rid, bad == "1", venv))
            elif kind == "content":
                content = rest.strip()
            elif kind == "venv":
                venvs.add(rest.strip())
            elif kind == "wheel":
                wheels.add(rest.strip())
        ordered = tuple(sorted(releases, key=lambda r: r.id))
        return Releases(current, ordered, frozenset(venvs), frozenset(wheels), content)
