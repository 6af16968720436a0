"""What the server knows of its releases: which exist, which is live, which are bad.

See ``layout`` for where they live.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from provision.core.command import sh
from provision.core.facts import Fact
from provision.release.layout import BAD, CONTENT, DONE, INTENT, ROLLED_BACK, UNVERIFIED, Layout
from provision.release.supervised import EVENT


@dataclass(frozen=True)
class ReleaseInfo:
    id: str
    bad: bool
    venv: str
    rolled_back: bool = False  # a rollback went away from it: later rollbacks skip it
    unverified: bool = False  # it never passed its health gate while live

    @property
    def served(self) -> bool:
        """It passed its health gate while live, and nothing since marked it."""
        return not (self.bad or self.rolled_back or self.unverified)


@dataclass(frozen=True)
class Releases:
    current: str | None
    releases: tuple[ReleaseInfo, ...]
    venvs: frozenset[str]
    wheels: frozenset[str]
    content: str = ""  # the live release's content digest
    intent: dict | None = None  # a run that switched and never ended (see ``supervised``)
    intent_noted: bool = False  # its release job noted it in the history already
    job_result: str = ""  # what the last release job decided (kept, back, stays, failed)
    history: tuple[dict, ...] = ()  # the deploy history's last entries, oldest first

    def ids(self) -> list[str]:
        return [r.id for r in self.releases]

    def get(self, release_id: str) -> ReleaseInfo | None:
        return next((r for r in self.releases if r.id == release_id), None)

    def previous(self) -> str | None:
        """The release a rollback goes to: the newest one older than the live one that
        served (not bad, not rolled back from, verified while live); ``--to`` still
        reaches the others."""
        older = [r.id for r in self.releases if r.served and self.current and r.id < self.current]
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
    job_log: str = ""  # the release job's output (``supervised``): its last result
    history: int = 0  # how many of the deploy history's last lines to read

    def command(self) -> str:
        """A handful of processes however many releases there are (one ``find`` lists
        every release's marks, the venvs and the wheels): the state is read on every
        deploy, twice."""
        last = f"/^{EVENT}result /h; ${{x;s/^{EVENT}result /job /p;}}"  # the last verdict
        history = "tail -n {n} {history} 2>/dev/null | sed 's/^/history /'; " * (self.history > 0)
        return sh(
            "cd {root} 2>/dev/null || exit 0; "
            "find current releases venvs wheels -maxdepth 2 "
            "\\( -path current -printf 'current %l\\n' \\) -o "
            "\\( -path 'releases/*/*' \\( -name {done} -type f -o -name {bad} -o -name {back} "
            "-o -name {new} -o -name venv \\) -printf 'mark %h %f %l\\n' \\) -o "
            "\\( -path 'venvs/*/*' -name {done} -type f -printf 'venv %h\\n' \\) -o "
            "\\( -path 'wheels/*.whl' -type f -printf 'wheel %f\\n' \\) 2>/dev/null; "
            "sed 's/^/content /' current/{content} 2>/dev/null; "
            "[ -f {intent} ] && sed 's/^/intent /' {intent}; "
            "sed -n {last} {log} 2>/dev/null; " + history + "true",
            root=self.root,
            content=CONTENT,
            done=DONE,
            bad=BAD,
            back=ROLLED_BACK,
            new=UNVERIFIED,
            intent=INTENT,
            last=last,
            log=self.job_log or "/dev/null",
            n=self.history,
            history=Layout(self.root).history,
        )

    def parse(self, output: str) -> Releases:
        current, marks, venvs, wheels, content = None, {}, set(), set(), ""
        intent, noted, job, history = None, False, "", []
        for line in output.splitlines():
            kind, _, rest = line.partition(" ")
            if kind == "current":
                current = rest.strip().removeprefix("releases/") or None
            elif kind == "mark":  # releases/<id> <mark> [where the venv link points]
                where, mark, target = [*rest.split(), ""][:3]
                found = marks.setdefault(where.removeprefix("releases/"), {})
                found[mark] = target.rsplit("/", 1)[-1]
            elif kind == "intent" and rest.strip() == "noted":
                noted = True
            elif kind == "intent":
                intent = _json_or_none(rest)
            elif kind == "job":
                job = rest.strip()
            elif kind == "content":
                content = rest.strip()
            elif kind == "venv":
                venvs.add(rest.strip().removeprefix("venvs/"))
            elif kind == "wheel":
                wheels.add(rest.strip())
            elif kind == "history" and (entry := _json_or_none(rest)) is not None:
                history.append(entry)  # a line cut short by a full disk is left out
        releases = [ReleaseInfo(rid, BAD in m, m.get("venv", ""), ROLLED_BACK in m, UNVERIFIED in m)
                    for rid, m in marks.items() if DONE in m]  # fmt: skip
        ordered = tuple(sorted(releases, key=lambda r: r.id))
        return Releases(current, ordered, frozenset(venvs), frozenset(wheels), content, intent,
                        noted, job, tuple(history))  # fmt: skip


def _json_or_none(text: str) -> dict | None:
    try:
        found = json.loads(text)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None
