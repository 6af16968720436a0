"""Probes for `fab status` and `fab doctor`: facts of a host's services, timers,
certificates, disk and updates, each with the line that says it at a glance.

Roles name the probes worth showing (``RoleModule.status``); see ``status``.

Example: ``ServiceProbe("hello", children="workers").parse(output)["memory_mb"]``
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass
from typing import Any

from provision.core.command import Shell, sh
from provision.core.facts import Fact

Fields = dict[str, Any]


class Probe(Fact[Fields]):
    """A fact read for `fab status`: JSON-able fields, and ``line`` to say them."""

    def line(self, fields: Fields) -> str:
        raise NotImplementedError


def pairs(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def integer(text: str | None) -> int | None:
    return int(text) if text and text.lstrip("-").isdigit() else None


# Prints NAME=<seconds since the epoch> for a timestamp property of a unit (empty when
# unset): `systemctl show` of systemd 252 prints them in the server's time zone only.
STAMP = (
    """stamp() { v=$(systemctl show -p "$2" --value "$1"); printf '%s=' "$2"; """
    """case "$v" in ''|n/a) echo ;; *) date -d "$v" +%s ;; esac; }; """
)


def _stamp(text: str | None) -> int | None:
    return integer(text)


def iso_time(seconds: int | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds)) if seconds else None


def _utc(text: str, form: str) -> int:
    """Seconds since the epoch of a time written in UTC (whatever this machine's zone)."""
    return calendar.timegm(time.strptime(text, form))


def when(iso: str | None) -> str:
    """An ISO time as ``06:56:06 UTC (12 s ago)`` or ``... (in 2 min)``, the date shown
    when it is not today."""
    if not iso:
        return "never"
    at, now = _utc(iso, "%Y-%m-%dT%H:%M:%SZ"), time.time()
    delta = now - at
    shown = iso.replace("T", " ").removesuffix("Z")
    today = time.strftime("%Y-%m-%d", time.gmtime(now))
    shown = shown.removeprefix(f"{today} ")
    relative = f"{span(delta)} ago" if delta >= 0 else f"in {span(-delta)}"
    return f"{shown} UTC ({relative})"


def span(seconds: float) -> str:
    """``3 d 4 h``, ``2 h 5 min``, ``5 min``, ``40 s``: an age at a glance."""
    s = int(seconds)
    for big, name, small, small_name in ((86400, "d", 3600, "h"), (3600, "h", 60, "min")):
        if s >= big:
            rest = (s % big) // small
            return f"{s // big} {name}" + (f" {rest} {small_name}" if rest else "")
    return f"{s // 60} min" if s >= 60 else f"{s} s"


@dataclass(frozen=True)
class ServiceProbe(Probe):
    """A systemd service: state, main pid, child processes (``children`` names them, as
    "workers"; empty: not counted), memory, restarts, uptime."""

    unit: str
    children: str = ""
    fewer: str = ""  # how to run fewer children, when they outgrow the memory

    def command(self) -> str:
        return STAMP + sh(
            "systemctl show -p ActiveState -p SubState -p MainPID -p NRestarts -p MemoryCurrent "
            "{u}; stamp {u} ActiveEnterTimestamp; pid=$(systemctl show -p MainPID --value {u}); "
            'echo Children=$(ps -o pid= --ppid "$pid" 2>/dev/null | wc -l); '
            # without memory accounting (some containers), what its processes hold
            'echo Rss=$(ps -o rss= -p "$pid" --ppid "$pid" 2>/dev/null '
            "| awk '{{s+=$1}} END {{print s+0}}'); "
            "echo Now=$(date +%s)", u=self.unit)  # fmt: skip

    def parse(self, output: str) -> Fields:
        p = pairs(output)
        memory, now = integer(p.get("MemoryCurrent")), integer(p.get("Now"))
        if memory is None and integer(p.get("Rss")):
            memory = integer(p.get("Rss")) * 1024  # type: ignore[operator]
        since = _stamp(p.get("ActiveEnterTimestamp"))
        active = p.get("ActiveState") == "active"
        return {
            "state": f"{p.get('ActiveState', 'unknown')} ({p.get('SubState', '?')})",
            "active": active,
            "pid": integer(p.get("MainPID")) or None,
            "children": integer(p.get("Children")) if self.children and active else None,
            "memory_mb": round(memory / 2**20, 1) if memory is not None else None,
            "restarts": integer(p.get("NRestarts")),
            "up_seconds": now - since if active and since and now else None,
        }

    def line(self, f: Fields) -> str:
        parts = [f["state"]]
        if f["pid"]:
            parts.append(f"pid {f['pid']}")
        if f["children"] is not None:
            parts.append(f"{f['children']} {self.children}")
        if f["memory_mb"] is not None:
            parts.append(f"{f['memory_mb']:.0f} MB")
        if f["restarts"] is not None:
            parts.append(f"{f['restarts']} restart{'' if f['restarts'] == 1 else 's'}")
        if f["up_seconds"] is not None:
            parts.append(f"up {span(f['up_seconds'])}")
        return ", ".join(parts)


@dataclass(frozen=True)
class TimerProbe(Probe):
    """A systemd timer and its service: the last run and its result, the next run."""

    unit: str  # without its .timer/.service suffix

    def command(self) -> str:
        return STAMP + sh("stamp {u}.timer LastTriggerUSec; "
                          "stamp {u}.timer NextElapseUSecRealtime; "
                          "systemctl show -p Result -p ExecMainStatus -p ActiveState {u}.service",
                          u=self.unit)  # fmt: skip

    def parse(self, output: str) -> Fields:
        p = pairs(output)
        last = _stamp(p.get("LastTriggerUSec"))
        result = p.get("Result", "")
        if last is None:
            outcome = "not run yet"
        elif p.get("ActiveState") == "activating":
            outcome = "running"
        elif result == "success":
            outcome = "ok"
        else:
            outcome = f"failed ({result}, exit {p.get('ExecMainStatus', '?')})"
        return {"last_run": iso_time(last), "result": outcome,
                "exit_status": integer(p.get("ExecMainStatus")),
                "next_run": iso_time(_stamp(p.get("NextElapseUSecRealtime")))}  # fmt: skip

    def line(self, f: Fields) -> str:
        last = f"last run {when(f['last_run'])}: {f['result']}" if f["last_run"] else f["result"]
        return f"{last}; next {when(f['next_run']) if f['next_run'] else 'once this run ends'}"


@dataclass(frozen=True)
class CertificateProbe(Probe):
    """A certificate file: when it expires, in days."""

    path: str

    def command(self) -> str:
        return sh("openssl x509 -noout -enddate -subject -in {p} 2>/dev/null; "
                  "echo Now=$(date +%s)", p=self.path)  # fmt: skip

    def parse(self, output: str) -> Fields:
        p = pairs(output)
        if "notAfter" not in p:
            return {"path": self.path, "expires": None, "days_left": None}
        expires = _utc(p["notAfter"].replace(" GMT", ""), "%b %d %H:%M:%S %Y")
        now = integer(p.get("Now")) or time.time()
        return {"path": self.path, "expires": iso_time(int(expires)),
                "days_left": int((expires - now) // 86400)}  # fmt: skip

    def line(self, f: Fields) -> str:
        if f["expires"] is None:
            return f"none at {f['path']} (yet)"
        return f"{f['days_left']} days left (expires {when(f['expires'])})"


@dataclass(frozen=True)
class DiskProbe(Probe):
    """Free space on the filesystem that holds ``path``."""

    path: str

    def command(self) -> str:
        return sh("df -P -B1 {p} | tail -n 1", p=self.path)

    def parse(self, output: str) -> Fields:
        fields = output.split()
        total, free = (int(fields[1]), int(fields[3])) if len(fields) >= 4 else (0, 0)
        gb = {"free_gb": round(free / 1e9, 1), "total_gb": round(total / 1e9, 1)}
        return {"path": self.path, **gb}

    def line(self, f: Fields) -> str:
        return f"{f['free_gb']} GB free of {f['total_gb']} GB ({f['path']})"


@dataclass(frozen=True)
class UpdatesProbe(Probe):
    """Debian packages with an update (from the lists the server has), the security ones
    among them, and whether an installed update asks for a reboot."""

    # apt's simulation takes half a second: its counts are kept, and made again only when
    # the package lists or the installed packages changed since
    CACHE = "/var/cache/provision-updates"

    def command(self) -> str:
        count = (
            "apt-get -s -o Debug::NoLocking=1 upgrade 2>/dev/null | grep '^Inst' | awk "
            '\'{n++} /security/ {s++} END {print "pending=" n+0; print "security=" s+0}\''
        )
        return sh(
            "key=$(stat -c %Y /var/cache/apt/pkgcache.bin /var/lib/dpkg/status 2>/dev/null | "
            "tr '\\n' .); if [ \"$(head -n 1 {cache} 2>/dev/null)\" != \"$key\" ]; then "
            "{{ echo \"$key\"; {count}; }} > {cache}.new && mv {cache}.new {cache}; fi; "
            "tail -n +2 {cache}; "
            "[ -f /run/reboot-required ] && echo reboot=yes || echo reboot=no",
            cache=self.CACHE, count=Shell(count))  # fmt: skip

    def parse(self, output: str) -> Fields:
        p = pairs(output)
        return {"pending": integer(p.get("pending")) or 0,
                "security": integer(p.get("security")) or 0,
                "reboot_required": p.get("reboot") == "yes"}  # fmt: skip

    def line(self, f: Fields) -> str:
        reboot = "; a reboot is required" if f["reboot_required"] else ""
        return f"{f['pending']} pending ({f['security']} security){reboot}"
