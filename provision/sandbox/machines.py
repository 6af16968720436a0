"""Local Debian 12 hosts with systemd as PID 1, booted with systemd-nspawn.

The same machines serve as the project's test hosts and as a sandbox where a newcomer
rehearses a deploy. The host shares this machine's network: its sshd listens on
127.0.0.1 at the port given, its nginx on ports 80 and 443, and apt inside it reaches
Debian's mirror. Needs root, debootstrap and systemd-container.

Example::

    rootfs = base_rootfs()
    machine = boot("web1", rootfs, Path("/tmp/hosts"), key=keypair(Path("/tmp/key")))
    ...
    machine.stop()
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from provision.core import hostkeys
from provision.core.output import shown, suggested
from provision.core.transport import ConnectError, Session, Target
from provision.project.inventory import KNOWN_HOSTS
from provision.sandbox.processes import SandboxError, is_running, stop

if TYPE_CHECKING:
    from provision.sandbox.network import Network

CACHE = Path(os.environ.get("PROVISION_SANDBOX_CACHE", "/var/cache/provision-sandbox"))
SUITE = "bookworm"
INCLUDE = "systemd,systemd-sysv,dbus,openssh-server,python3,sudo,ca-certificates,iproute2"


def _need(tool: str, package: str) -> None:
    if shutil.which(tool) is None:
        raise SandboxError(f"{tool} not found: apt-get install -y {package}")
    if os.geteuid() != 0:
        raise SandboxError("booting a sandbox host needs root")


def base_rootfs(cache: Path = CACHE, suite: str = SUITE) -> Path:
    """A clean Debian root filesystem of ``suite`` (bookworm: Debian 12, trixie: Debian
    13), built once with debootstrap (about a minute)."""
    path = cache / suite
    if path.is_dir():
        return path
    _need("debootstrap", "debootstrap")
    cache.mkdir(parents=True, exist_ok=True)
    partial = cache / f".{suite}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    cmd = ["debootstrap", "--variant=minbase", f"--include={INCLUDE}", suite, str(partial)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise SandboxError(f"debootstrap failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    partial.rename(path)
    return path


def keypair(path: Path) -> Path:
    """An ed25519 key at ``path`` (and ``path.pub``), made if missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        cmd = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "provision-sandbox"]
        subprocess.run([*cmd, "-f", str(path)], check=True)
    return path


@dataclass
class Machine:
    """A booted host: stop it by the pid of its systemd-nspawn process."""

    name: str
    root: Path
    pid: int
    port: int
    key: Path
    log: Path
    address: str = "127.0.0.1"
    known_hosts: Path | None = None  # where boot recorded its host keys

    def target(self, user: str = "root") -> Target:
        """How to reach it; its host key is checked strictly against what boot recorded."""
        check = hostkeys.HostKeyCheck(record=self.known_hosts, strict=True)
        return Target(self.name, self.address, user=user, port=self.port, key=str(self.key),
                      host_keys=check)  # fmt: skip

    def stop(self, remove: bool = True) -> None:
        stop(self.pid)
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)


def boot(
    name: str,
    rootfs: Path,
    workdir: Path,
    key: Path,
    port: int = 2222,
    timeout: float = 90,
    network: Network | None = None,
    address: str = "",
    known_hosts: Path | None = None,
) -> Machine:
    """Copy ``rootfs`` and boot it; return once sshd answers and boot has finished.

    Without ``network`` the host shares this machine's network (sshd on 127.0.0.1 at
    ``port``); with one, it has a namespace of its own and ``address`` on that network
    (sshd on port 22 there). Names of hosts on one network differ in their first 12
    characters (systemd-nspawn names each host's link after them). The host's SSH keys,
    read from its own files, are recorded in ``known_hosts`` (by default the known-hosts
    file of an inventory in ``workdir``) in place of any recorded before for its address."""
    _need("systemd-nspawn", "systemd-container")
    root = workdir / name
    shutil.rmtree(root, ignore_errors=True)
    workdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", "--reflink=auto", str(rootfs), str(root)], check=True)
    ssh = root / "root/.ssh"
    ssh.mkdir(mode=0o700, exist_ok=True)
    (ssh / "authorized_keys").write_text(Path(f"{key}.pub").read_text())
    (root / "etc/hostname").write_text(f"{name}\n")
    args = ["systemd-nspawn", "-q", "-b", "-D", str(root), f"--machine={name}",
            "--register=no", "--keep-unit"]  # fmt: skip
    if network is None:
        (root / "etc/ssh/sshd_config.d/00-sandbox.conf").write_text(
            f"# The sandbox shares the machine's network: listen on loopback only.\n"
            f"Port {port}\nListenAddress 127.0.0.1\n"
        )
        address = "127.0.0.1"
    else:
        _join(root, network, address, name)
        args.append(f"--network-bridge={network.name}")
        port = 22
    known_hosts = known_hosts or workdir / KNOWN_HOSTS
    keys = hostkeys.public_keys(root / "etc/ssh")
    hostkeys.set_keys(known_hosts, hostkeys.host_name(address, port), keys)
    log = workdir / f"{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    machine = Machine(name, root, proc.pid, port, key, log, address, known_hosts)
    try:
        _wait_ready(machine, proc, timeout)
    except BaseException:
        machine.stop()
        raise
    return machine


def _join(root: Path, network: Network, address: str, name: str) -> None:
    """Give the host ``address`` on ``network`` at boot, and apt the network's cache."""
    networkd = root / "etc/systemd/network"
    networkd.mkdir(parents=True, exist_ok=True)
    # Named below 80-: Debian's own 80-container-host0.network would ask for DHCP.
    (networkd / "10-host0.network").write_text(
        f"[Match]\nName=host0\n\n[Network]\nAddress={address}/24\nLinkLocalAddressing=no\n"
    )
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    link = wants / "systemd-networkd.service"
    if not link.is_symlink():
        link.symlink_to("/lib/systemd/system/systemd-networkd.service")
    (root / "etc/apt/apt.conf.d/01proxy").write_text(
        f'Acquire::http::Proxy "{network.apt_proxy}";\n'
    )
    # As a cloud VM has it (debootstrap writes none): localhost must resolve without DNS.
    (root / "etc/hosts").write_text(
        f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{address}\t{name}\n"
    )


def _wait_ready(machine: Machine, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = machine.log.read_text(errors="replace")[-2000:]
            raise SandboxError(f"systemd-nspawn exited with {proc.returncode}:\n{tail}")
        try:
            with Session(machine.target()) as s:
                state = s.run("systemctl is-system-running --wait").stdout.strip()
            if state in ("running", "degraded"):
                return
        except ConnectError:
            pass
        time.sleep(0.5)
    raise SandboxError(f"{machine.name} did not finish booting within {timeout:.0f} s")


def start_sandbox(state: Path, known_hosts: Path, port: int = 2222) -> str:
    """Boot the sandbox host in the background; its key and pid live in ``state``, its host
    keys are recorded in ``known_hosts`` (the inventory's) until it stops."""
    pidfile = state / "pid"
    if pidfile.exists() and is_running(int(pidfile.read_text())):
        return f"the sandbox is already running (pid {pidfile.read_text().strip()})"
    key = keypair(state / "id_ed25519")
    machine = boot("sandbox", base_rootfs(), state, key, port=port, known_hosts=known_hosts)
    pidfile.write_text(f"{machine.pid}\n")
    recorded = hostkeys.host_name(machine.address, port)
    (state / "recorded").write_text(f"{recorded}\n{known_hosts.resolve()}\n")
    return (
        f"sandbox up: Debian 12 with systemd, ssh root@127.0.0.1 -p {port} -i "
        f"{shown(key.resolve())}\n"
        f"next: {suggested('bootstrap -H sandbox')}    "
        f"(stop it with: {suggested('sandbox --stop')})"
    )


NONE_RUNNING = "no sandbox is running"


def stop_sandbox(state: Path) -> str:
    """Halt the sandbox host started by ``start_sandbox`` and remove its files."""
    pidfile = state / "pid"
    if not pidfile.exists():
        return NONE_RUNNING
    stop(int(pidfile.read_text()))
    shutil.rmtree(state / "sandbox", ignore_errors=True)
    pidfile.unlink()
    recorded = state / "recorded"
    if recorded.exists():  # its keys go with it: another host may take its address later
        name, known_hosts = recorded.read_text().splitlines()
        hostkeys.set_keys(Path(known_hosts), name, [])
        recorded.unlink()
    return "sandbox stopped and removed"
