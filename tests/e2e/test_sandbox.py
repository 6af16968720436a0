"""`fab sandbox` boots a real Debian host a newcomer can rehearse on, and stops it."""

import json
import subprocess

from provision.core import hostkeys
from provision.core.transport import Session, Target
from provision.project.inventory import KNOWN_HOSTS
from provision.sandbox import fleet, processes
from provision.sandbox import machines as sandbox
from tests.helpers import ROOT, fab, free_port, recap


def test_sandbox_boots_answers_and_stops(rootfs, tmp_path, monkeypatch):
    state = tmp_path / "sandbox-state"
    monkeypatch.setenv("PROVISION_SANDBOX_DIR", str(state))
    port = free_port()
    try:
        up = fab("sandbox", "--port", str(port), timeout=180)
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"ssh root@127.0.0.1 -p {port}" in up.stdout
        pid = int((state / "pid").read_text())
        # its keys, read from its own files, are in the inventory's known-hosts file
        known = ROOT / KNOWN_HOSTS  # .provision/known_hosts
        name = f"[127.0.0.1]:{port}"
        keys = hostkeys.public_keys(state / "sandbox/etc/ssh")
        assert {k.key for k in hostkeys.recorded([known], name)} == set(keys)
        machine = sandbox.Machine("sandbox", state / "sandbox", pid, port, state / "id_ed25519",
                                  state, known_hosts=known)  # fmt: skip
        with Session(machine.target()) as s:
            assert s.run("systemctl is-system-running").stdout.strip() == "running"
            assert s.run("cat /proc/1/comm").stdout.strip() == "systemd"

        again = fab("sandbox", "--port", str(port), timeout=60)
        assert f"already running (pid {pid})" in again.stdout

        down = fab("sandbox", "--stop", timeout=60)
        assert down.returncode == 0
        assert "sandbox stopped and removed" in down.stdout
        assert not processes.is_running(pid)
        assert not (state / "sandbox").exists() and not (state / "pid").exists()
        assert hostkeys.recorded([known], name) == []  # forgotten with the host
    finally:
        pidfile = state / "pid"
        if pidfile.exists():
            processes.stop(int(pidfile.read_text()))


def test_a_fleet_boots_on_its_own_network_with_an_inventory_and_stops(rootfs, tmp_path,
                                                                      monkeypatch):  # fmt: skip
    state = tmp_path / "fleet-state"
    monkeypatch.setenv("PROVISION_SANDBOX_DIR", str(state))
    try:
        up = fab("sandbox", "--hosts", "2", timeout=300)
        assert up.returncode == 0, up.stdout + up.stderr
        saved = json.loads((state / "fleet.json").read_text())
        hosts = saved["hosts"]
        assert [h["name"] for h in hosts] == ["fleet1", "fleet2"]
        assert len({h["address"] for h in hosts}) == 2
        for h in hosts:
            assert f"  {h['name']}  root@{h['address']}" in up.stdout
            check = hostkeys.HostKeyCheck(record=state / "known_hosts", strict=True)
            target = Target(h["name"], h["address"], key=str(state / "id_ed25519"),
                            host_keys=check)  # fmt: skip
            with Session(target) as s:
                assert s.run("systemctl is-system-running").stdout.strip() == "running"
        # the inventory it wrote reaches both, as a group
        check = fab("-H", "fleet", "bootstrap", "--check", "--inventory",
                    str(state / "fleet.yaml"), timeout=300)  # fmt: skip
        assert check.returncode == 0, check.stdout + check.stderr
        assert set(recap(check.stdout)) == {"fleet1", "fleet2"}

        down = fab("sandbox", "--stop", timeout=120)
        assert down.stdout.strip() == "fleet stopped and removed (2 host(s) and their network)"
        assert not any(processes.is_running(h["pid"]) for h in hosts)
        assert not processes.is_process(saved["network"]["cache_pid"], "apt-cacher-ng")
        links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        assert saved["network"]["name"] not in links
        assert not (state / "fleet.json").exists() and not (state / "fleet").exists()
    finally:
        fleet.stop_fleet(state)
