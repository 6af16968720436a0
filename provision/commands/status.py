"""`fab status`: how each host's app is doing, read in one round trip after connecting.

Roles say what is worth showing (``RoleModule.status``): probes of systemd services and
timers, certificates, disks (``probes``). The engine adds the live release and the deploy
history, reads every probe at once, and prints a line each (or JSON for scripts).

Example: ``show_status(play, out, {}, None)`` is what ``guarded`` runs on each host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provision.core.output import Output, Tally
from provision.core.probes import Fields, Probe, when
from provision.core.runner import gather
from provision.core.transport import Session
from provision.project.apply import Host, Work
from provision.project.hooks import Hook
from provision.project.plays import Play
from provision.release.release import release_plan
from provision.release.releases import ReleaseState

HISTORY_SHOWN = 5


STATUS: Hook[dict[str, Probe]] = Hook("status")  # what `fab status` shows of a role, by label


@dataclass(frozen=True)
class ReleaseProbe(Probe):
    """The live release and the last deploys and rollbacks: the releases fact
    (``ReleaseState``), said as `fab status` shows it."""

    root: str

    def state(self) -> ReleaseState:
        return ReleaseState(self.root, history=HISTORY_SHOWN * 4)

    def command(self) -> str:
        return self.state().command()

    def parse(self, output: str) -> Fields:
        state = self.state().parse(output)
        history, current = list(state.history), state.current
        since = next((h for h in reversed(history) if h.get("release") == current
                      and h.get("result") == "ok"), None)  # fmt: skip
        return {"live": current, "since": since["at"] if since else None,
                "by": since["by"] if since else None,
                "history": history[-HISTORY_SHOWN:]}  # fmt: skip

    def line(self, f: Fields) -> str:
        if not f["live"]:
            return "no release is live"
        by = f" since {when(f['since'])}, deployed by {f['by']}" if f["since"] else ""
        return f"{f['live']} live{by}"


def history_lines(fields: Fields) -> list[str]:
    return [f"{h.get('at', '?')}  {h.get('action', '?'):<8} {h.get('release', '?')}  "
            f"{h.get('result', '?')}{': ' + h['why'] if h.get('why') else ''}  ({h.get('by', '?')})"
            for h in reversed(fields["history"])]  # fmt: skip


def probes(play: Play, host: Host) -> dict[str, Probe]:
    """What `fab status` reads on this host: the release, then each role's probes."""
    found: dict[str, Probe] = {}
    plan = release_plan(host.roles, host)
    if plan is not None:
        found["release"] = ReleaseProbe(plan.root)
    return {**found, **host.merged(STATUS)}


def show_status(play: Play, out: Output, overrides: dict, report: dict[str, Any] | None) -> Work:
    """What ``guarded`` runs on one host: read the probes, print a line each; with
    ``report`` (a dict), put the fields there instead, by host (``--json``), and by app
    under the host where the inventory names apps."""

    def work(session: Session, tally: Tally) -> None:
        host = Host.connect(session, play, overrides)
        found = probes(play, host)
        values = gather(session, list(found.values()))
        name = session.target.name
        fields = {label: values[probe] for label, probe in found.items()}
        if report is not None:
            app = session.target.app
            report.update({name: {**report.get(name, {}), app: fields}} if app else {name: fields})
            return
        width = max(map(len, found), default=0)
        lines = [f"{label:<{width}}  {probe.line(fields[label])}" for label, probe in found.items()]
        if "release" in fields:
            lines += [f"{'':<{width}}  {line}" for line in history_lines(fields["release"])]
        out.line("\n".join(f"[{name}] {line}" for line in lines))  # a host's lines together

    return work
