"""`fab sandbox` boots a real Debian host a newcomer can rehearse on, and stops it."""

from provision import sandbox
from provision.transport import Session
from tests.helpers import fab, free_port


def test_sandbox_boots_answers_and_stops(rootfs, tmp_path, monkeypatch):
    state = tmp_path / "sandbox-state"
    monkeypatch.setenv("PROVISION_SANDBOX_DIR", str(state))
    port = free_port()
    try:
        up = fab("sandbox", "--port", str(port), timeout=180)
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"ssh root@127.0.0.1 -p {port}" in up.stdout
        pid = int((state / "pid").read_text())
        machine = sandbox.Machine(
            "sandbox", state / "sandbox", pid, port, state / "id_ed25519", state
        )
        with Session(machine.target()) as s:
            assert s.run("systemctl is-system-running").stdout.strip() == "running"
            assert s.run("cat /proc/1/comm").stdout.strip() == "systemd"

        again = fab("sandbox", "--port", str(port), timeout=60)
        assert f"already running (pid {pid})" in again.stdout

        down = fab("sandbox", "--stop", timeout=60)
        assert down.returncode == 0
        assert "sandbox stopped and removed" in down.stdout
        assert not sandbox.is_running(pid)
        assert not (state / "sandbox").exists() and not (state / "pid").exists()
    finally:
        pidfile = state / "pid"
        if pidfile.exists():
            sandbox.stop(int(pidfile.read_text()))
