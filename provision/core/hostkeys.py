"""SSH host keys: every server's key is checked against known-hosts files before anything
is sent to it, as OpenSSH does with ``StrictHostKeyChecking=accept-new`` (or ``yes``).

The files read are the operator's ``~/.ssh/known_hosts`` (hashed entries and
``[host]:port`` entries included) and the project's own file, where a host seen for the
first time has its key recorded, unless checking is strict.

Example::

    check = HostKeyCheck(record=Path("known_hosts"))
    check.prepare(client, "203.0.113.10", 22)   # before paramiko's connect
"""

from __future__ import annotations

import base64
import fcntl
import re
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import paramiko
from paramiko.hostkeys import HostKeyEntry, HostKeys

from provision.core.errors import ProvisionError
from provision.core.output import shown

USER_FILE = Path("~/.ssh/known_hosts")
ACCEPT_NEW = "accept-new"
STRICT = "strict"
CHECKING = (ACCEPT_NEW, STRICT)

_writing = threading.Lock()


class HostKeyError(ProvisionError):
    """A server's key could not be trusted: nothing was sent to it."""


@dataclass(frozen=True)
class Known:
    """A key recorded for a host: where (file and line) and what."""

    file: Path
    line: int
    key: paramiko.PKey

    def describe(self) -> str:
        return f"{self.key.get_name()} {self.key.fingerprint}"


@dataclass(frozen=True)
class HostKeyCheck:
    """How servers' keys are checked. ``record``: the project's known-hosts file, where a
    new host's key is written (accept-new); ``strict``: refuse a host whose key is in no
    file instead. Without ``record``, checking is strict."""

    record: Path | None = None
    strict: bool = False
    user_file: Path = field(default=USER_FILE)

    def strictly(self) -> HostKeyCheck:
        return replace(self, strict=True)

    def files(self) -> list[Path]:
        found = [self.user_file.expanduser()]
        if self.record is not None and self.record not in found:
            found.append(self.record)
        return found

    def prepare(self, client: paramiko.SSHClient, address: str, port: int) -> None:
        """Give ``client`` the keys known for this host (paramiko then prefers their type and
        refuses any other key) and the policy for a host it does not know."""
        name = host_name(address, port)
        keys = client.get_host_keys()
        for known in recorded(self.files(), name):
            keys.add(name, known.key.get_name(), known.key)
        client.set_missing_host_key_policy(_Unknown(self))

    def changed(self, address: str, port: int, presented: paramiko.PKey) -> HostKeyError:
        """The error for a server whose key is not the recorded one."""
        name = host_name(address, port)
        old = recorded(self.files(), name)
        lines = [
            f"the host key of {name} has CHANGED: refused, nothing was sent",
            f"  the server presented: {presented.get_name()} {presented.fingerprint}",
            *(f"  recorded: {k.describe()} at {shown(k.file)}:{k.line}" for k in old),
            "  Either the server was reinstalled or its keys were replaced, or another machine",
            "  answers at its address (a man in the middle). Check the new key on the server",
            "  itself (its console: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then",
            "  forget the old one and run again (the new key is then recorded):",
            *sorted({f"    ssh-keygen -R '{name}' -f {shown(k.file)}" for k in old}),
        ]
        return HostKeyError("\n".join(lines))


class _Unknown(paramiko.MissingHostKeyPolicy):
    """A host in no known-hosts file: record its key (accept-new) or refuse (strict)."""

    def __init__(self, check: HostKeyCheck) -> None:
        self.check = check

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        check = self.check
        if check.strict or check.record is None:
            files = ", ".join(shown(f) for f in check.files())
            raise HostKeyError(
                f"{hostname} is not a known host (in {files}) and host key checking is strict:"
                f" refused, nothing was sent\n"
                f"  the server presented: {key.get_name()} {key.fingerprint}\n"
                f"  If that is the server's key (check it on its console), add this line to "
                f"{shown(check.record or check.files()[0])}:\n"
                f"    {hostname} {key.get_name()} {key.get_base64()}"
            )
        append(check.record, hostname, [key])
        print(
            f"{hostname}: a new host; its key {key.get_name()} {key.fingerprint} is recorded in"
            f" {shown(check.record)} and checked from now on",
            file=sys.stderr,
            flush=True,
        )


def host_name(address: str, port: int) -> str:
    """The name a host has in a known-hosts file: ``address``, or ``[address]:port``."""
    return address if port == 22 else f"[{address}]:{port}"


def recorded(files: Iterable[Path], name: str) -> list[Known]:
    """Every key the files hold for ``name`` (plain, hashed or pattern entries)."""
    found = []
    for path in files:
        try:
            text = path.read_text()
        except FileNotFoundError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            entry = _entry(line, number)
            if entry is not None and _matches(entry, name):
                found.append(Known(path, number, entry.key))
    return found


def append(path: Path, name: str, keys: Iterable[paramiko.PKey]) -> None:
    """Record ``keys`` for host ``name`` at the end of the file ``path``."""
    lines = "".join(f"{name} {k.get_name()} {k.get_base64()}\n" for k in keys)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _writing, open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(lines)


def set_keys(path: Path, name: str, keys: Iterable[paramiko.PKey]) -> None:
    """Make ``keys`` the only ones recorded for ``name`` in ``path`` (none: forget it), for
    a host whose keys are known from its own files, such as a local host booted here."""
    try:
        lines = path.read_text().splitlines(keepends=True)
    except FileNotFoundError:
        lines = []
    kept = []
    for number, line in enumerate(lines, 1):
        entry = _entry(line.rstrip("\n"), number)
        if entry is None or not _matches(entry, name):
            kept.append(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(kept))
    keys = list(keys)
    if keys:
        append(path, name, keys)


def public_keys(folder: Path) -> list[paramiko.PKey]:
    """The host keys of a server's ``/etc/ssh`` folder (its ``ssh_host_*_key.pub``)."""
    keys = []
    for pub in sorted(folder.glob("ssh_host_*_key.pub")):
        kind, data = pub.read_text().split()[:2]
        keys.append(paramiko.PKey.from_type_string(kind, base64.b64decode(data)))
    return keys


def _entry(line: str, number: int) -> HostKeyEntry | None:
    text = line.strip()
    if not text or text.startswith(("#", "@")):  # @cert-authority and @revoked: not keys
        return None
    try:
        entry = HostKeyEntry.from_line(text, number)
    except (paramiko.SSHException, ValueError):
        return None
    return entry if entry is not None and entry.key is not None else None


def _matches(entry: HostKeyEntry, name: str) -> bool:
    """Whether the entry names host ``name``: plainly, hashed (``|1|salt|hash``), or by a
    pattern; a negated pattern (``!name``) that matches rules the entry out."""
    hit = False
    for pattern in entry.hostnames:
        negated = pattern.startswith("!")
        pattern = pattern.removeprefix("!")
        if pattern.startswith("|1|"):
            same = HostKeys.hash_host(name, pattern) == pattern
        else:
            same = _glob(pattern).fullmatch(name) is not None
        if same and negated:
            return False
        hit = hit or same
    return hit


def _glob(pattern: str) -> re.Pattern:
    """OpenSSH's host pattern: ``*`` and ``?`` are wildcards, all else is literal (the
    brackets of ``[host]:port`` too)."""
    return re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."))
