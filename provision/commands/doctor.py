"""`fab doctor`: the common production mistakes, in the app's source and on its servers.

The source is read, never run, by the role that runs the app (its ``source`` hook). A
server is read in one round trip after connecting: disk, memory against the app's
measured size, clock sync, listening ports, and what the roles show in `fab status` (a
certificate about to expire, a service down).
Errors make the exit status 1; warnings alone leave it 0.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provision.commands.status import probes
from provision.core.command import sh
from provision.core.facts import NetworkHome
from provision.core.output import Output, Tally, suggested
from provision.core.probes import CertificateProbe, DiskProbe, Fields, Probe, ServiceProbe
from provision.core.runner import gather
from provision.core.transport import Session
from provision.project.apply import Host, Work
from provision.project.hooks import Hook
from provision.project.plays import Play
from provision.project.roles import Role
from provision.release import artifact

WEB_PORTS = (80, 443)
DISK_ERROR_GB = 1.0
CERT_WARN_DAYS = 14


@dataclass(frozen=True)
class Finding:
    """One mistake: where, how bad ("error" or "warning"), why it hurts, and the fix."""

    where: str  # file:line, or the setting
    level: str
    what: str
    fix: str

    def __str__(self) -> str:
        return f"{self.where}: {self.level}: {self.what}\n    fix: {self.fix}"


@dataclass(frozen=True)
class SourceCheck:
    """What a role reads of the app's source, before any connection: ``source`` as the
    inventory names it (a folder of the project, or a git URL, at ``ref``), what the
    heading says of the settings it reads, and ``read``: the findings in the source,
    checked out at the path it is given."""

    source: str
    ref: str
    says: str
    read: Callable[[Path], list[Finding]]

    def heading(self) -> str:
        return f"-- the app's source: {self.source}/ ({self.says})"


# source(settings, project_root): the app's source to read, or None (no app on such a host)
SOURCE: Hook[SourceCheck] = Hook("source")


@dataclass(frozen=True)
class ServerProbe(Probe):
    """Disk under ``path``, memory, clock sync, and the TCP ports listening on every address."""

    path: str

    def command(self) -> str:
        return sh("df -P -B1 {p} | tail -n 1; grep -E '^Mem(Total|Available):' /proc/meminfo; "
                  "echo ntp=$(timedatectl show -p NTPSynchronized --value 2>/dev/null); "
                  "ss -Hltn | awk '{{print \"listen=\" $4}}'", p=self.path)  # fmt: skip

    def parse(self, output: str) -> Fields:
        lines = output.splitlines()
        disk = lines[0].split() if lines else []
        fields: Fields = {"free_gb": int(disk[3]) / 1e9 if len(disk) > 3 else 0.0,
                          "total_gb": int(disk[1]) / 1e9 if len(disk) > 1 else 0.0,
                          "listening": []}  # fmt: skip
        for line in lines[1:]:
            if line.startswith("Mem"):
                key, value = line.split(":")
                fields[key.lower()] = int(value.split()[0]) // 1024  # MB
            elif line.startswith("ntp="):
                fields["ntp"] = line[4:]
            elif line.startswith("listen="):
                fields["listening"].append(line[7:])
        return fields

    def line(self, fields: Fields) -> str:
        return f"{fields['free_gb']:.1f} GB free, {fields.get('memavailable', 0)} MB available"


def open_ports(listening: list[str], allowed: set[int]) -> list[int]:
    """Ports listening on every address (``0.0.0.0:8000``, ``[::]:5432``, ``*:25``) that are
    not among ``allowed``."""
    found = set()
    for address in listening:
        host, _, port = address.rpartition(":")
        if host in ("0.0.0.0", "[::]", "*") and port.isdigit() and int(port) not in allowed:
            found.add(int(port))
    return sorted(found)


def judge_server(fields: Fields, ssh_port: int, path: str, shared: str = "") -> list[Finding]:
    """What is wrong with a server's reading; ``shared``: why its network is not its own
    (``NetworkHome``), when it is not: then the ports listening are another machine's."""
    found = []
    if fields["free_gb"] < DISK_ERROR_GB:
        found.append(Finding("disk", "error", f"{fields['free_gb']:.2f} GB free under {path}: a "
                             "deploy needs room for a release and its virtualenv",
                             "free space (old logs, apt's cache) or grow the disk"))  # fmt: skip
    elif fields["total_gb"] and fields["free_gb"] < fields["total_gb"] / 10:
        found.append(Finding("disk", "warning", f"{fields['free_gb']:.1f} GB free of "
                             f"{fields['total_gb']:.0f} GB under {path}",
                             "free space before it runs out"))  # fmt: skip
    total, available = fields.get("memtotal", 0), fields.get("memavailable", 0)
    if total and available < total / 10:
        found.append(Finding("memory", "warning", f"{available} MB available of {total} MB",
                             "fewer workers or processes, or more memory"))  # fmt: skip
    if fields.get("ntp") != "yes":
        found.append(Finding("clock", "warning", "the clock is not synchronised (NTP): "
                             "certificates, tokens and logs go by it",
                             "install and enable systemd-timesyncd or chrony"))  # fmt: skip
    listening = [] if shared else fields["listening"]
    for port in open_ports(listening, {22, ssh_port, *WEB_PORTS}):
        found.append(Finding(f"port {port}", "warning", f"port {port} listens on every address: "
                             "reachable from anywhere no firewall stops it",
                             "bind it to 127.0.0.1 or a private address"))  # fmt: skip
    return found


def judge_role_probe(label: str, probe: Any, fields: Fields, memory_mb: int) -> list[Finding]:
    """What a role's status probe says is wrong: a service down, a certificate expiring,
    workers that would not fit in memory."""
    if isinstance(probe, CertificateProbe) and fields["days_left"] is not None:
        days = fields["days_left"]
        if days < 0 or days < CERT_WARN_DAYS:
            level = "error" if days < 0 else "warning"
            why = f"{probe.path} expires in {days} days: its renewal is not working"
            return [Finding(label, level, why, "see `journalctl -u certbot` on the server")]
    if isinstance(probe, ServiceProbe):
        if not fields["active"]:
            return [Finding(label, "error", f"{probe.unit} is {fields['state']}",
                            suggested(f"logs --process {label}"))]  # fmt: skip
        workers, used = fields["children"], fields["memory_mb"]
        if workers and used and memory_mb:
            each = used / (workers + 1)
            if each * workers > 0.8 * memory_mb:
                why = (f"{workers} workers of about {each:.0f} MB need {each * workers:.0f} MB "
                       f"of {memory_mb} MB of memory")  # fmt: skip
                fix = f"{probe.fewer}, or add memory" if probe.fewer else "add memory"
                return [Finding(label, "error", why, fix)]
    return []


def source_checks(roles: list[Role], settings: dict[str, Any], root: Path) -> list[SourceCheck]:
    """What the roles read of the app's source with these settings (none on a host that
    runs no app)."""
    return [made for _, made in SOURCE.answers(roles, lambda role: (settings, root))]


def source_findings(check: SourceCheck, root: Path) -> list[Finding]:
    """The source read as it would be deployed (a git source is checked out)."""
    with tempfile.TemporaryDirectory() as work:
        checked = artifact.checkout(check.source, check.ref, root, Path(work))
        found = check.read(checked.path)
    # said relative to the project, as the inventory names the source
    return [Finding(f.where, f.level, f.what.replace(f"{root}/", ""), f.fix) for f in found]


def show(out: Output, where: str, findings: list[Finding]) -> None:
    """Each finding, a file's (``main.py:12``) under the source's path ``where``."""
    for f in findings:
        out.line(f"{where if ':' in f.where else ''}{f}")


def server_work(play: Play, out: Output, overrides: dict, all_found: list) -> Work:
    """What ``guarded`` runs on one host: read it, judge it, print the findings."""

    def work(session: Session, tally: Tally) -> None:
        host = Host.connect(session, play, overrides)
        name = session.target.name
        shown = probes(play, host)
        disks = [p.path for p in shown.values() if isinstance(p, DiskProbe)]
        server = ServerProbe(disks[0] if disks else "/")  # where the roles keep their data
        home = NetworkHome()
        values = gather(session, [server, home, *shown.values()])
        found = judge_server(values[server], session.target.port, server.path, values[home])
        if values[home]:
            out.line(f"[{name}] ports not judged: {values[home]} (they are that machine's)")
        for label, probe in shown.items():
            found += judge_role_probe(label, probe, values[probe], host.facts.memory_mb)
        out.line("\n".join(f"[{name}] {f}" for f in found) or f"[{name}] no findings")
        all_found.extend(found)
        tally.failed += any(f.level == "error" for f in found)

    return work
