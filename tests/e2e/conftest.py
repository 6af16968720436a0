"""Real Debian 12 test hosts with systemd as PID 1, booted with systemd-nspawn.

Each test module gets its own fresh copy of a cached root filesystem. The host lives in
a network namespace of its own, with an address on a private bridge this session makes
(apt goes through a package cache on the bridge; nothing else is reachable), and is
reached over SSH at that address exactly as a cloud VM would be. Hosts are always
stopped (by the pid of their systemd-nspawn) and removed, and the bridge and its cache
with them, even when a test fails or the run is interrupted.

Booting needs root, debootstrap and systemd-container. Without them these tests are
skipped, unless PROVISION_REQUIRE_HOSTS=1 (as CI sets it), which turns that into a failure.
"""

import contextlib
import hashlib
import itertools
import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

import paramiko
import pytest
import testinfra

from provision.sandbox import machines as sandbox
from provision.sandbox import network
from tests.helpers import ROOT, Web, fab

REQUIRE = os.environ.get("PROVISION_REQUIRE_HOSTS") == "1"
# The Debian release of the hosts: bookworm (12) unless PROVISION_TEST_SUITE says trixie.
# A module that names SUITES runs all its tests on each of them, a host per release.
SUITE = os.environ.get("PROVISION_TEST_SUITE", sandbox.SUITE)


def pytest_generate_tests(metafunc):
    suites = getattr(metafunc.module, "SUITES", None)
    if suites and "suite" in metafunc.fixturenames:
        metafunc.parametrize("suite", suites, scope="module")


@pytest.fixture(scope="module")
def suite():
    """The Debian release of the module's hosts (a parameter where the module has SUITES)."""
    return SUITE


_live: list[sandbox.Machine] = []
_networks: list[network.Network] = []
_numbers = itertools.count(11)  # host addresses on the session's network: .11, .12, ...


def pytest_configure(config):
    # CI's timeout sends SIGTERM: turn it into an interrupt so fixtures tear down hosts.
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def pytest_unconfigure(config):
    for machine in list(_live):
        machine.stop()
    for net in _networks:
        net.remove()
        shutil.rmtree(net.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def rootfs():
    missing = [t for t in ("debootstrap", "systemd-nspawn", "ssh-keygen") if not shutil.which(t)]
    reason = None
    if os.geteuid() != 0:
        reason = "test hosts need root"
    elif missing:
        reason = f"test hosts need {', '.join(missing)} (see README)"
    if reason:
        if REQUIRE:
            pytest.fail(reason)
        pytest.skip(reason)
    return sandbox.base_rootfs(suite=SUITE)


@pytest.fixture(scope="module")
def module_rootfs(rootfs, suite):
    """The clean root filesystem of the module's Debian release."""
    return sandbox.base_rootfs(suite=suite)


@pytest.fixture(scope="session")
def net(rootfs):
    """The session's private network (a bridge and its package cache), always removed."""
    work = sandbox.CACHE / "test-hosts" / f"network-{os.getpid()}"
    made = network.Network.create(f"provtest{os.getpid() % 10**6}", None,
                                  sandbox.CACHE / "apt-cacher-ng", work)  # fmt: skip
    _networks.append(made)
    yield made
    made.remove()
    _networks.remove(made)
    shutil.rmtree(work, ignore_errors=True)


@dataclass
class TestHost:
    machine: sandbox.Machine
    work: Path
    inventory: Path

    @property
    def key(self):
        return self.machine.key

    @property
    def address(self):
        return self.machine.address

    def fab(self, task, *args, host="target", timeout=900):
        return fab("-H", host, task, "--inventory", str(self.inventory), *args, timeout=timeout)

    @property
    def known_hosts(self):
        """The file where boot recorded the host's keys (the inventory's own)."""
        return self.machine.known_hosts

    def testinfra(self, user="root"):
        spec = f"paramiko://{user}@{self.address}:{self.machine.port}"
        host = testinfra.get_host(spec, ssh_identity_file=str(self.key), sudo=user != "root")
        backend = vars(host.backend)
        if "client" not in backend:  # testinfra's own client would take any host key
            backend["client"] = self._checked_client(user)
        return host

    def _checked_client(self, user):
        client = paramiko.SSHClient()
        client.load_host_keys(str(self.known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(self.address, self.machine.port, user, key_filename=str(self.key),
                       timeout=30, allow_agent=False, look_for_keys=False)  # fmt: skip
        return client


@contextlib.contextmanager
def booted(name, rootfs, net):
    """A host booted from ``rootfs`` on ``net``, with an inventory naming it `target`;
    always stopped."""
    work = sandbox.CACHE / "test-hosts" / f"{name}-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        key = sandbox.keypair(work / "id_ed25519")
        machine = sandbox.boot(name, rootfs, work, key, network=net,
                               address=net.address(next(_numbers)))  # fmt: skip
        _live.append(machine)
        inventory = work / "inventory.yaml"
        inventory.write_text(
            "hosts:\n"
            f"  target: {{address: {machine.address}, port: {machine.port}, user: root, "
            f"key: {key}}}\n"
        )
        yield TestHost(machine, work, inventory)
    finally:
        for machine in [m for m in _live if m.root.parent == work]:
            machine.stop()
            _live.remove(machine)
        shutil.rmtree(work, ignore_errors=True)


def _module_name(request, suite):
    name = request.module.__name__.rsplit(".", 1)[-1].replace("_", "-")
    return (name if suite == sandbox.SUITE else f"{name}-{suite}")[-20:]


@pytest.fixture(scope="module")
def test_host(module_rootfs, net, request, suite):
    """A fresh Debian host for this module, and an inventory naming it `target`."""
    with booted(_module_name(request, suite), module_rootfs, net) as host:
        Web.address = host.address
        yield host


def _roles_digest():
    """What a bootstrapped host depends on: the base system, the roles, and the engine."""
    h = hashlib.sha256(sandbox.INCLUDE.encode())
    for folder in ("roles", "provision"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()[:12]


@pytest.fixture(scope="session")
def bootstrapped_rootfs(rootfs, net):
    """The root filesystem of a Debian release (``bootstrapped_rootfs(suite)``) on which
    `fab bootstrap` already ran, cached by the roles' content."""
    made = {}

    def of(suite):
        if suite not in made:
            made[suite] = _bootstrapped(suite, net)
        return made[suite]

    return of


def _bootstrapped(suite, net):
    path = sandbox.CACHE / f"{suite}-bootstrapped-{_roles_digest()}"
    if path.is_dir():
        return path
    with booted(f"bootstrap-{suite}", sandbox.base_rootfs(suite=suite), net) as host:
        done = host.fab("bootstrap")
        assert done.returncode == 0, done.stdout + done.stderr
        host.machine.stop(remove=False)  # a clean halt, then keep its files
        partial = sandbox.CACHE / f".bootstrapped-{os.getpid()}"
        host.machine.root.rename(partial)
        partial.rename(path)
    for stale in sandbox.CACHE.glob(f"{suite}-bootstrapped-*"):
        if stale != path:
            shutil.rmtree(stale, ignore_errors=True)
    return path


@pytest.fixture(scope="module")
def bootstrapped_host(bootstrapped_rootfs, net, request, suite):
    """A host for this module on which `fab bootstrap` already ran."""
    rootfs = bootstrapped_rootfs(suite)
    with booted(_module_name(request, suite), rootfs, net) as host:
        Web.address = host.address
        yield host


@pytest.fixture
def app(tmp_path):
    """A fresh copy of the example app for each test, to change as it likes."""
    path = tmp_path / "app"
    shutil.copytree(ROOT / "example-app", path)
    return path


SECRET = "s3cr3t-db-Pa55"


@pytest.fixture
def deploy(bootstrapped_host, app):
    """`fab deploy` of the test's app copy (``force``: a new release even if nothing changed)."""

    def run(*args, force=True, timeout=900):
        # one client address sends all the load: no rate limit
        settings = ["--set", f"app_source={app}",
                    "--set", f"app_env={{DATABASE_PASSWORD: {SECRET}}}",
                    "--set", "nginx_rate=100000r/s"]  # fmt: skip
        force_flag = ["--force"] if force else []
        return bootstrapped_host.fab("deploy", *settings, *force_flag, *args, timeout=timeout)

    return run


@pytest.fixture(scope="module")
def host(bootstrapped_host):
    """testinfra's view of the module's host."""
    return bootstrapped_host.testinfra()


@pytest.fixture
def fresh(host):
    """No release on the server yet (the wheels stay, as a cache)."""
    host.run("systemctl stop hello; rm -rf /srv/hello/current /srv/hello/releases/* "
             "/srv/hello/venvs/* /srv/hello/venvs/.[!.]*")  # fmt: skip
    assert host.check_output("ls -A /srv/hello/releases") == ""
