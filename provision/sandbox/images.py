"""An image run as a container runtime would run it, where no runtime can (crun refuses
cgroups in hybrid mode): its filesystem mounted by buildah, its configuration (user,
environment, working directory, entry point and command) read from the image, and the
command run by systemd-nspawn as the container's first process, with a read-only root,
a fresh /tmp, and a network namespace of its own on a private bridge.

Example::

    running = run_image("hello:1a2b", "img-hello", net, "10.0.0.20")
    ...  # http://10.0.0.20:8000/health
    running.stop()
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provision.sandbox.network import Network
from provision.sandbox.processes import SandboxError, children, is_running, stop, tool


@dataclass
class Running:
    """An image's command running: stop it by its systemd-nspawn's pid."""

    image: str
    container: str  # buildah's working container, whose mount is the root
    pid: int
    address: str
    log: Path

    def stop(self) -> None:
        stop(self.pid)
        _buildah("umount", self.container, check=False)
        _buildah("rm", self.container, check=False)


def config(image: str) -> dict[str, Any]:
    """The image's configuration (Docker's format: User, Env, Entrypoint, Cmd, ...)."""
    found = json.loads(_buildah("inspect", "--type", "image", image))
    return found.get("Docker", {}).get("config") or found["OCIv1"]["config"]


def nspawn_command(root: str, name: str, conf: dict[str, Any], args: list[str],
                   bridge: str = "") -> list[str]:  # fmt: skip
    """systemd-nspawn's command that runs ``args`` (none: the image's command) as the
    image says: its entry point, user, working directory and environment."""
    argv = [*(conf.get("Entrypoint") or []), *(args or conf.get("Cmd") or [])]
    network = [f"--network-bridge={bridge}"] if bridge else ["--private-network"]
    # as a runtime runs a container: its output as is, SIGTERM to stop it, a read-only
    # root with a fresh /tmp (Kubernetes' readOnlyRootFilesystem and emptyDir)
    runtime = ["--console=pipe", "--kill-signal=SIGTERM", "--read-only", "--tmpfs=/tmp:mode=1777"]
    return [
        "systemd-nspawn", "-q", "-D", root, f"--machine={name}", "--register=no",
        "--keep-unit", *runtime, *network,
        f"--user={conf.get('User') or 'root'}", f"--chdir={conf.get('WorkingDir') or '/'}",
        *(f"--setenv={e}" for e in conf.get("Env") or []), "--", *argv,
    ]  # fmt: skip


def run_image(image: str, name: str, net: Network, address: str, log: Path,
              args: list[str] = (), timeout: float = 20) -> Running:  # fmt: skip
    """Start ``args`` (none: the image's command) from ``image`` at ``address`` on
    ``net``; returns once its network is up (not once it serves: wait for that)."""
    container = _buildah("from", "--name", name, image).strip()
    try:
        root = _buildah("mount", container).strip()
        command = nspawn_command(root, name, config(image), list(args), net.name)
        with open(log, "wb") as out:
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        running = Running(image, container, proc.pid, address, log)
    except BaseException:
        _buildah("rm", container, check=False)
        raise
    try:
        leader = _leader(proc, timeout)
        for step in (["addr", "add", f"{address}/24", "dev", "host0"],
                     ["link", "set", "host0", "up"]):  # fmt: skip
            subprocess.run(["nsenter", "-t", str(leader), "-n", "ip", *step], check=True,
                           capture_output=True)  # fmt: skip
    except BaseException:
        running.stop()
        raise
    return running


def run_once(image: str, name: str, args: list[str], timeout: float = 120) -> tuple[int, str]:
    """Run ``args`` from ``image`` to its end, with no network: its exit status and output."""
    container = _buildah("from", "--name", name, image).strip()
    try:
        root = _buildah("mount", container).strip()
        command = nspawn_command(root, name, config(image), args)
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        return done.returncode, done.stdout + done.stderr
    finally:
        _buildah("umount", container, check=False)
        _buildah("rm", container, check=False)


def _leader(proc: subprocess.Popen, timeout: float) -> int:
    """The container's first process, once systemd-nspawn gave it its network namespace
    and the link ``host0`` there."""
    ours = os.readlink("/proc/self/ns/net")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None or not is_running(proc.pid):
            raise SandboxError(f"systemd-nspawn exited with {proc.returncode}")
        for pid, _ in children(proc.pid):
            try:
                theirs = os.readlink(f"/proc/{pid}/ns/net")
            except OSError:
                continue
            link = ["nsenter", "-t", str(pid), "-n", "ip", "link", "show", "host0"]
            if theirs != ours and subprocess.run(link, capture_output=True).returncode == 0:
                return pid
        time.sleep(0.05)
    raise SandboxError(f"the container did not start within {timeout:.0f} s")


def base_image(rootfs: Path, name: str) -> str:
    """A Debian root filesystem (a test host's) as the image ``name``: a base to build on
    where no registry is reached."""
    container = _buildah("from", "scratch").strip()
    try:
        root = _buildah("mount", container).strip()
        subprocess.run(["cp", "-a", f"{rootfs}/.", root], check=True)
        _buildah("umount", container)
        _buildah("commit", "-q", container, name)
    finally:
        _buildah("rm", container, check=False)
    return name


def image_ids() -> set[str]:
    """Every image buildah has, cached layers too: what to compare to remove one's own."""
    return set(_buildah("images", "--all", "--quiet", "--no-trunc").split())


def remove_images(ids: set[str]) -> None:
    for image in ids:
        _buildah("rmi", "-f", image, check=False)


def _buildah(*args: str, check: bool = True) -> str:
    return tool("buildah", *args, check=check)
