"""A private network for local hosts: a Linux bridge with an address of its own and a
Debian package cache on that address.

Hosts joined to it (systemd-nspawn's ``--network-bridge``) each live in a network
namespace of their own with an address on the bridge: they reach each other and this
machine's bridge address, and Debian's mirror only through the cache (apt-cacher-ng,
which also makes repeated installs fast). They have no route anywhere else, and nothing
of theirs binds this machine's own ports. Needs root, iproute2 and apt-cacher-ng.

Example::

    net = Network.create("provnet0", "10.231.7", cache=Path("/var/cache/x/apt"))
    address = net.address(11)          # "10.231.7.11", for a host to take
    ...
    net.remove()
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from provision.sandbox.processes import SandboxError, is_process, stop_process, tool

CACHE_PORT = 3149  # not 3142: a system apt-cacher-ng, if one runs, keeps its port
PREFIX = "10.231"  # 10.231.N.0/24, one N per network


@dataclass
class Network:
    """A bridge ``name`` holding ``<subnet>.1/24``; the cache runs as ``cache_pid``."""

    name: str
    subnet: str
    cache_pid: int
    workdir: Path

    @property
    def gateway(self) -> str:
        return f"{self.subnet}.1"

    def address(self, host: int) -> str:
        """The address of host number ``host`` (2-254) on this network."""
        if not 2 <= host <= 254:
            raise SandboxError(f"host number {host}: use 2 to 254")
        return f"{self.subnet}.{host}"

    @property
    def apt_proxy(self) -> str:
        return f"http://{self.gateway}:{CACHE_PORT}"

    @classmethod
    def create(cls, name: str, subnet: str | None, cache: Path, workdir: Path) -> Network:
        """Make the bridge and start its package cache (``cache``: kept across runs)."""
        if os.geteuid() != 0:
            raise SandboxError("a private network for test hosts needs root")
        for program, package in (("ip", "iproute2"), ("apt-cacher-ng", "apt-cacher-ng")):
            if shutil.which(program) is None:
                raise SandboxError(f"{program} not found: apt-get install -y {package}")
        subnet = subnet or free_subnet()
        _ip("link", "add", name, "type", "bridge")
        try:
            _ip("addr", "add", f"{subnet}.1/24", "dev", name)
            _ip("link", "set", name, "up")
            pid = _start_cache(f"{subnet}.1", cache, workdir)
        except BaseException:
            _ip("link", "del", name, check=False)
            raise
        return cls(name, subnet, pid, workdir)

    def remove(self) -> None:
        """Stop the cache (by its pid) and delete the bridge; hosts must be stopped first."""
        stop_process(self.cache_pid, "apt-cacher-ng")
        _ip("link", "del", self.name, check=False)


def free_subnet() -> str:
    """A ``10.231.N`` that no interface of this machine uses yet."""
    used = set(re.findall(rf"inet {re.escape(PREFIX)}\.(\d+)\.", _ip("-o", "-4", "addr")))
    for n in range(1, 255):
        if str(n) not in used:
            return f"{PREFIX}.{n}"
    raise SandboxError(f"no free {PREFIX}.N.0/24 network left")


def _start_cache(address: str, cache: Path, workdir: Path, timeout: float = 20) -> int:
    for folder in (cache, workdir / "apt-cacher-ng-log"):
        folder.mkdir(parents=True, exist_ok=True)
    log = open(workdir / "apt-cacher-ng.out", "wb")  # noqa: SIM115 (the process keeps it)
    proc = subprocess.Popen(
        ["apt-cacher-ng", "ForeGround=1", f"BindAddress={address}", f"Port={CACHE_PORT}",
         f"CacheDir={cache}", f"LogDir={workdir / 'apt-cacher-ng-log'}"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (workdir / "apt-cacher-ng.out").read_text(errors="replace")[-1500:]
            raise SandboxError(f"apt-cacher-ng exited with {proc.returncode}:\n{tail}")
        try:
            socket.create_connection((address, CACHE_PORT), timeout=1).close()
            return proc.pid
        except OSError:
            time.sleep(0.1)
    stop_process(proc.pid, "apt-cacher-ng")
    raise SandboxError(f"apt-cacher-ng did not listen on {address}:{CACHE_PORT}")


def _ip(*args: str, check: bool = True) -> str:
    return tool("ip", *args, check=check)


def is_cache_running(network: Network) -> bool:
    return is_process(network.cache_pid, "apt-cacher-ng")
