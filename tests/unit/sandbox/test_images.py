"""An image's command as systemd-nspawn runs it: what the image's configuration says."""

from provision.sandbox.images import nspawn_command

CONFIG = {"User": "app", "WorkingDir": "/app/current", "Env": ["PATH=/app/current/venv/bin"],
          "Entrypoint": ["/bin/sh", "/app/current/entrypoint.sh"], "Cmd": ["web"]}  # fmt: skip


def test_the_image_s_entry_point_command_user_directory_and_environment():
    command = nspawn_command("/mnt/root", "img-a", CONFIG, [], bridge="br0")
    assert command[command.index("--") + 1 :] == ["/bin/sh", "/app/current/entrypoint.sh", "web"]
    for option in ("--user=app", "--chdir=/app/current", "--setenv=PATH=/app/current/venv/bin",
                   "--network-bridge=br0", "--read-only", "--tmpfs=/tmp:mode=1777",
                   "--kill-signal=SIGTERM"):  # fmt: skip
        assert option in command
    assert command[:4] == ["systemd-nspawn", "-q", "-D", "/mnt/root"]


def test_arguments_replace_the_command_and_no_bridge_is_no_network():
    command = nspawn_command("/mnt/root", "img-a", CONFIG, ["migrate"])
    argv = command[command.index("--") + 1 :]
    assert argv == ["/bin/sh", "/app/current/entrypoint.sh", "migrate"]
    assert "--private-network" in command
    bare = nspawn_command("/r", "img-b", {}, ["true"])
    assert "--user=root" in bare and "--chdir=/" in bare
