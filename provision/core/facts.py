"""Facts: small read-only probes of a host, each a shell command and a parser of its output.

Facts are read when the operations that need them run (see ``runner``); many are read in
one round trip, and read again after anything on the host changed.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from provision.core.command import Command, sh

T = TypeVar("T")


class Fact(Generic[T]):
    """A probe that reads a value of type ``T``: the shell ``command()`` to run, and
    ``parse()`` of what it printed. A fact is a frozen dataclass, so equal probes are
    read once.

    Example: ``UserInfo("app").parse("app:x:999:999::/srv/app:/usr/sbin/nologin\napp\napp\n")``
    """

    def command(self) -> str:
        raise NotImplementedError

    def parse(self, output: str) -> T:
        raise NotImplementedError


@dataclass(frozen=True)
class HostFacts:
    cpus: int
    memory_mb: int
    os_id: str
    os_version: str
    os_codename: str
    arch: str
    hostname: str
    python: str = ""  # "3.11": the system python3 that builds release virtualenvs
    glibc: str = ""  # "2.36": which manylinux wheels fit


@dataclass(frozen=True)
class HostInfo(Fact[HostFacts]):
    """CPU count, memory, OS release: what roles size and choose things by."""

    def command(self) -> str:
        return (
            "nproc; awk '/^MemTotal:/ {print int($2/1024)}' /proc/meminfo; "
            '(. /etc/os-release; echo "$ID"; echo "$VERSION_ID"; echo "$VERSION_CODENAME"); '
            "uname -m; hostname; "
            # one line each, empty when missing
            'echo "$(python3 --version 2>/dev/null | cut -d" " -f2 | cut -d. -f1,2)"; '
            'echo "$(getconf GNU_LIBC_VERSION 2>/dev/null | cut -d" " -f2)"'
        )

    def parse(self, output: str) -> HostFacts:
        lines = [*output.splitlines(), *[""] * 9][:9]
        cpus, mem, os_id, version, codename, arch, hostname, python, glibc = lines
        return HostFacts(
            int(cpus or 1), int(mem or 0), os_id, version, codename, arch, hostname, python, glibc
        )


@dataclass(frozen=True)
class PathState:
    kind: str  # "file", "directory", "link" or "other"
    owner: str = ""
    group: str = ""
    mode: int = 0
    sha256: str = ""
    target: str = ""


@dataclass(frozen=True)
class PathInfo(Fact[PathState | None]):
    """What is at a path (not following a final symlink), or None."""

    path: str

    def command(self) -> str:
        return sh(
            "if [ -L {p} ]; then echo link; stat -c '%U %G %a' {p}; readlink {p}; "
            "elif [ -d {p} ]; then echo directory; stat -c '%U %G %a' {p}; "
            "elif [ -f {p} ]; then echo file; stat -c '%U %G %a' {p}; "
            "sha256sum {p}; "
            "elif [ -e {p} ]; then echo other; stat -c '%U %G %a' {p}; fi",
            p=self.path,
        )

    def parse(self, output: str) -> PathState | None:
        lines = output.splitlines()
        if not lines:
            return None
        kind = lines[0]
        fields = lines[1].split() if len(lines) > 1 else []
        owner, group, mode = [*fields, "", "", ""][:3]
        extra = lines[2] if len(lines) > 2 else ""
        return PathState(
            kind=kind,
            owner=owner,
            group=group,
            mode=int(mode or "0", 8),
            # sha256sum's line: the digest, then the name (a backslash first when the name
            # holds one, or a newline)
            sha256=extra.split(" ", 1)[0].removeprefix("\\") if kind == "file" else "",
            target=extra if kind == "link" else "",
        )


@dataclass(frozen=True)
class FileContent(Fact[bytes | None]):
    """A file's bytes (for diffs), or None when it does not exist."""

    path: str
    LIMIT: ClassVar[int] = 256 * 1024

    def command(self) -> str:
        return sh("[ -f {p} ] && head -c {n} {p} | base64 -w0", p=self.path, n=self.LIMIT)

    def parse(self, output: str) -> bytes | None:
        return base64.b64decode(output) if output.strip() else None


@dataclass(frozen=True)
class UserState:
    uid: int
    group: str
    home: str
    shell: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class UserInfo(Fact[UserState | None]):
    """An account, or None."""

    name: str

    def command(self) -> str:
        return sh("getent passwd {n} && id -gn {n} && id -Gn {n}", n=self.name)

    def parse(self, output: str) -> UserState | None:
        lines = output.splitlines()
        if len(lines) < 3:
            return None
        fields = lines[0].split(":")
        return UserState(
            uid=int(fields[2]),
            group=lines[1],
            home=fields[5],
            shell=fields[6],
            groups=tuple(lines[2].split()),
        )


@dataclass(frozen=True)
class GroupInfo(Fact[int | None]):
    """A group's gid, or None."""

    name: str

    def command(self) -> str:
        return sh("getent group {n}", n=self.name)

    def parse(self, output: str) -> int | None:
        fields = output.strip().split(":")
        return int(fields[2]) if len(fields) > 2 else None


@dataclass(frozen=True)
class DebPackages(Fact[frozenset[str]]):
    """Which of the named packages are installed."""

    names: tuple[str, ...]

    def command(self) -> str:
        return sh(
            "dpkg-query -W -f='${{Package}} ${{db:Status-Status}}\\n' {names}",
            names=Command.of(*self.names),
        )

    def parse(self, output: str) -> frozenset[str]:
        rows = (line.split() for line in output.splitlines())
        return frozenset(r[0] for r in rows if len(r) == 2 and r[1] == "installed")


APT_STAMP = "/var/lib/apt/periodic/provision-update-stamp"


@dataclass(frozen=True)
class AptListsAge(Fact[int | None]):
    """Seconds since the package lists were last refreshed by us, or None if never."""

    def command(self) -> str:
        return sh("date +%s; stat -c %Y {stamp}", stamp=APT_STAMP)

    def parse(self, output: str) -> int | None:
        lines = output.split()
        return int(lines[0]) - int(lines[1]) if len(lines) == 2 else None


@dataclass(frozen=True)
class UnitState(Fact[dict[str, str]]):
    """A systemd unit's load, active and enablement state, and whether its file changed."""

    name: str

    def command(self) -> str:
        return sh(
            "systemctl show -p LoadState -p ActiveState -p UnitFileState -p NeedDaemonReload "
            "{name}",
            name=self.name,
        )

    def parse(self, output: str) -> dict[str, str]:
        pairs = (line.split("=", 1) for line in output.splitlines() if "=" in line)
        return dict(pairs)


@dataclass(frozen=True)
class Succeeds(Fact[bool]):
    """Whether a shell test (written by a role) exits 0."""

    test: str

    def command(self) -> str:
        return f"if ( {self.test} ) >/dev/null 2>&1; then echo yes; else echo no; fi"

    def parse(self, output: str) -> bool:
        return output.strip() == "yes"


@dataclass(frozen=True)
class FileNames(Fact[tuple[str, ...]]):
    """The names of the files in ``directory`` that match a shell ``pattern``, sorted."""

    directory: str
    pattern: str

    def command(self) -> str:
        return sh("find {d} -maxdepth 1 -type f -name {p} -printf '%f\\n' 2>/dev/null | sort",
                  d=self.directory, p=self.pattern)  # fmt: skip

    def parse(self, output: str) -> tuple[str, ...]:
        return tuple(line for line in output.splitlines() if line)


@dataclass(frozen=True)
class SshdPorts(Fact[tuple[int, ...]]):
    """The TCP ports sshd listens on, as its running configuration says (``sshd -T``)."""

    def command(self) -> str:
        return 'sshd -T 2>/dev/null | awk \'$1 == "port" || $1 == "listenaddress" {print $2}\''

    def parse(self, output: str) -> tuple[int, ...]:
        ports = {int(word.rsplit(":", 1)[-1]) for word in output.split()
                 if word.rsplit(":", 1)[-1].isdigit()}  # fmt: skip
        return tuple(sorted(ports))


# The initial network namespace's inode number: fixed (PROC_NET_INIT_INO) since Linux
# 6.18; earlier kernels numbered it like any other namespace.
INIT_NET_INODE = 0xEFFFFFF9
FIXED_INIT_NET = (6, 18)


@dataclass(frozen=True)
class NetworkHome(Fact[str]):
    """Why this host's network may not be its own to filter, or "" when it is (a machine
    or VM, or a container in a network namespace of its own). A container that shares
    its host's network must never load firewall rules: they would filter the host's."""

    def command(self) -> str:
        return "systemd-detect-virt --container; readlink /proc/self/ns/net; uname -r"

    def parse(self, output: str) -> str:
        lines = [*output.splitlines(), "", "", ""]
        container, netns, kernel = lines[0].strip(), lines[1].strip(), lines[2].strip()
        if container in ("", "none"):
            return ""
        inode = int(netns.removeprefix("net:[").rstrip("]") or 0)
        if inode == INIT_NET_INODE:
            return f"a container ({container}) that shares its host's network"
        release = tuple(int(part) for part in kernel.split("-")[0].split(".")[:2] if part.isdigit())
        if release >= FIXED_INIT_NET:
            return ""
        return (f"a container ({container}) on Linux {kernel}, which cannot tell whether it "
                "shares its host's network")  # fmt: skip
