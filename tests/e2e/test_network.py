"""Test hosts on a private network: each in a namespace of its own, with an address on a
bridge the tests make, apt through the package cache on it, and no other way out."""

import os
import shutil
import subprocess

import pytest

from provision.core.transport import Session
from provision.sandbox import fleet, network
from provision.sandbox import machines as sandbox


@pytest.fixture(scope="module")
def pair(rootfs, tmp_path_factory):
    """Two hosts on a fresh network; everything removed afterwards, even on failure."""
    work = sandbox.CACHE / "test-hosts" / f"net-{tmp_path_factory.getbasetemp().name}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    key = sandbox.keypair(work / "id_ed25519")
    bridge = f"provnet{os.getpid() % 10**6}"
    net = network.Network.create(bridge, None, sandbox.CACHE / "apt-cacher-ng", work)
    machines = []
    try:
        machines = fleet.boot_on(net, ["net-a", "net-b"], rootfs, work, key)
        yield net, machines
    finally:
        for machine in machines:
            machine.stop()
        net.remove()
        shutil.rmtree(work, ignore_errors=True)
    assert bridge not in subprocess.run(["ip", "-o", "link"], capture_output=True,
                                             text=True).stdout  # fmt: skip
    assert not network.is_cache_running(net)


def run(machine, command):
    with Session(machine.target()) as s:
        return s.run(command)


def test_each_host_has_its_own_address_and_reaches_the_others(pair):
    net, (a, b) = pair
    assert a.address == net.address(11) and a.port == 22
    shown = run(a, "ip -o -4 addr show host0").stdout
    assert f"inet {a.address}/24" in shown
    reach = run(a, f"timeout 5 bash -c '</dev/tcp/{b.address}/22' && echo open")
    assert reach.stdout.strip() == "open", reach.stderr


def test_a_host_has_no_route_but_its_network(pair):
    net, (a, _) = pair
    routes = run(a, "ip -4 route").stdout.strip().splitlines()
    assert routes == [f"{net.subnet}.0/24 dev host0 proto kernel scope link src {a.address}"]


def test_apt_goes_through_the_networks_cache(pair):
    net, (a, _) = pair
    done = run(a, "apt-get update -q && apt-get install -y -q --no-install-recommends hello "
                  "&& hello")  # fmt: skip
    assert done.ok, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Hello, world!" in done.stdout
    assert run(a, "cat /etc/apt/apt.conf.d/01proxy").stdout.strip() == (
        f'Acquire::http::Proxy "{net.apt_proxy}";'
    )
