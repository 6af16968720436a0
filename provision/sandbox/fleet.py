"""A small fleet of sandbox hosts to rehearse several servers on: `fab sandbox --hosts 3`.

The hosts live on a private network of their own (see ``network``), each at its own
address, and come with an inventory naming them and their group, ``fleet``. What runs
(hosts, the network's package cache) is written to ``fleet.json`` in the state folder,
so that `fab sandbox --stop` stops each by its pid and removes the network.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from provision.core.output import suggested
from provision.sandbox.machines import (
    CACHE,
    NONE_RUNNING,
    Machine,
    base_rootfs,
    boot,
    keypair,
    stop_sandbox,
)
from provision.sandbox.network import Network
from provision.sandbox.processes import SandboxError, is_running, stop

FIRST = 11  # the first host's number on the network: .11, .12, ...
FLEET_KNOWN_HOSTS = "known_hosts"  # beside the fleet's inventory, which names it


def start_fleet(state: Path, hosts: int) -> str:
    """Boot ``hosts`` hosts on a new private network; write their inventory."""
    if not 1 <= hosts <= 20:
        raise SandboxError(f"--hosts {hosts}: between 1 and 20")
    record = state / "fleet.json"
    if record.exists():
        running = [h["name"] for h in json.loads(record.read_text())["hosts"]
                   if is_running(h["pid"])]  # fmt: skip
        if running:
            return f"the fleet is already running ({', '.join(running)})"
        stop_fleet(state)
    key = keypair(state / "id_ed25519")
    # One bridge per state folder, so that two folders' fleets never meet.
    name = "provsb" + hashlib.sha256(str(state.resolve()).encode()).hexdigest()[:8]
    net = Network.create(name, None, CACHE / "apt-cacher-ng", state / "network")
    names = [f"fleet{n + 1}" for n in range(hosts)]
    try:
        machines = boot_on(net, names, base_rootfs(), state / "fleet", key,
                           state / FLEET_KNOWN_HOSTS)  # fmt: skip
    except BaseException:
        net.remove()
        raise
    record.write_text(json.dumps({
        "network": {"name": net.name, "subnet": net.subnet, "cache_pid": net.cache_pid},
        "hosts": [{"name": m.name, "pid": m.pid, "address": m.address} for m in machines],
    }, indent=1))  # fmt: skip
    inventory = state / "fleet.yaml"
    inventory.write_text(_inventory(machines, key))
    listed = "\n".join(f"  {m.name}  root@{m.address}" for m in machines)
    here = Path.cwd()
    shown = inventory.relative_to(here) if inventory.is_relative_to(here) else inventory
    return (
        f"fleet up: {hosts} Debian 12 host(s) on the private network {net.subnet}.0/24\n"
        f"{listed}\n"
        f"next: {suggested(f'bootstrap -H fleet --inventory {shown}')}    "
        f"(stop them with: {suggested('sandbox --stop')})"
    )


def boot_on(
    net: Network,
    names: list[str],
    rootfs: Path,
    workdir: Path,
    key: Path,
    known_hosts: Path | None = None,
) -> list[Machine]:
    """A host per name on ``net``, at its addresses .11, .12, ... in order, their keys
    recorded in ``known_hosts`` (see ``boot``); if one fails to boot, those already booted
    are stopped."""
    machines: list[Machine] = []
    try:
        for n, name in enumerate(names):
            address = net.address(FIRST + n)
            machines.append(boot(name, rootfs, workdir, key, network=net, address=address,
                                 known_hosts=known_hosts))  # fmt: skip
    except BaseException:
        for machine in machines:
            machine.stop()
        raise
    return machines


def _inventory(machines: list, key: Path) -> str:
    hosts = "".join(f"  {m.name}: {{address: {m.address}, user: root, key: {key}}}\n"
                    for m in machines)  # fmt: skip
    names = ", ".join(m.name for m in machines)
    return (
        f"# Written by `{suggested('sandbox --hosts N')}`: the sandbox fleet, on its private "
        "network.\n"
        f"hosts:\n{hosts}groups:\n  fleet:\n    hosts: [{names}]\n"
        f"host_keys:\n  file: {FLEET_KNOWN_HOSTS}\n"
    )


def stop_fleet(state: Path) -> str:
    """Halt the fleet's hosts (by pid), remove its network and files; "" if none ran."""
    record = state / "fleet.json"
    if not record.exists():
        return ""
    saved = json.loads(record.read_text())
    for host in saved["hosts"]:
        stop(host["pid"])
    net = saved["network"]
    Network(net["name"], net["subnet"], net["cache_pid"], state / "network").remove()
    for path in ("fleet", "network"):
        shutil.rmtree(state / path, ignore_errors=True)
    (state / "fleet.yaml").unlink(missing_ok=True)
    (state / FLEET_KNOWN_HOSTS).unlink(missing_ok=True)
    record.unlink()
    return f"fleet stopped and removed ({len(saved['hosts'])} host(s) and their network)"


def stop_all(state: Path) -> str:
    """`fab sandbox --stop`: the single sandbox host and the fleet, whichever run."""
    single, many = stop_sandbox(state), stop_fleet(state)
    if many and single == NONE_RUNNING:
        return many
    return "\n".join(line for line in (single, many) if line)
