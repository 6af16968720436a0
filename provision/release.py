"""What the server knows of its releases: which exist, which is live, which are bad.

See ``layout`` for where they live.
"""

from __future__ import annotations

from dataclasses import dataclass

from .command import sh
from .facts import Fact
from .layout import BAD, CONTENT, DONE, ROLLED_BACK


@dataclass(frozen=True)
class ReleaseInfo:
    id: str
    bad: bool
    venv: str
    rolled_back: bool = False  # a rollback went away from it: later rollbacks skip it


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
        """The release a rollback goes to: the newest one older than the live one that
        is neither bad nor rolled back from (``--to`` still reaches those)."""
        older = [
            r.id
            for r in self.releases
            if not r.bad and not r.rolled_back and self.current and r.id < self.current
        ]
        return older[-1] if older else None

    def removable(self, keep: int) -> list[str]:
        """Releases beyond the newest ``keep``, never the live or the previous one."""
        protect = {self.current, self.previous()}
        ids = sorted(self.ids())
        old = ids[:-keep] if keep > 0 else ids
        return [r for r in old if r not in protect]

    def unused_venvs(self, removed: list[str]) -> list[str]:
        """Venvs no release that stays uses, once ``removed`` are gone."""
        used = {r.venv for r in self.releases if r.id not in removed}
        return sorted(v for v in self.venvs if v not in used)


@dataclass(frozen=True)
class ReleaseState(Fact[Releases]):
    """The releases on the server, the live one, the built venvs and shipped wheels."""

    root: str

    def command(self) -> str:
        return sh(
            "cd {root} 2>/dev/null || exit 0; "
            "echo current $(readlink current 2>/dev/null | sed 's|^releases/||'); "
            "echo content $(cat current/{content} 2>/dev/null); "
            'for d in releases/*/; do [ -d "$d" ] || continue; d=${{d%/}}; '
            '[ -f "$d/{done}" ] || continue; '
            'bad=0; [ -e "$d/{bad}" ] && bad=1; back=0; [ -e "$d/{back}" ] && back=1; '
            'echo release ${{d#releases/}} $bad $back $(readlink "$d/venv" | sed "s|.*/||"); '
            "done; "
            'for v in venvs/*/; do [ -f "$v{done}" ] && echo venv $(basename $v); done; '
            'for w in wheels/*.whl; do [ -f "$w" ] && echo wheel ${{w#wheels/}}; done; true',
            root=self.root,
            content=CONTENT,
            done=DONE,
            bad=BAD,
            back=ROLLED_BACK,
        )

    def parse(self, output: str) -> Releases:
        current, releases, venvs, wheels, content = None, [], set(), set(), ""
        for line in output.splitlines():
            kind, _, rest = line.partition(" ")
            if kind == "current":
                current = rest.strip() or None
            elif kind == "release":
                rid, bad, back, venv = [*rest.split(), "", "", "", ""][:4]
                releases.append(ReleaseInfo(rid, bad == "1", venv, back == "1"))
            elif kind == "content":
                content = rest.strip()
            elif kind == "venv":
                venvs.add(rest.strip())
            elif kind == "wheel":
                wheels.add(rest.strip())
        ordered = tuple(sorted(releases, key=lambda r: r.id))
        return Releases(current, ordered, frozenset(venvs), frozenset(wheels), content)
