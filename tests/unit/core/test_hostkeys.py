"""Host keys: which recorded keys name a host, what a new or changed key does."""

import paramiko
import pytest
from paramiko.hostkeys import HostKeys

from provision.core.hostkeys import (
    HostKeyCheck,
    HostKeyError,
    _Unknown,
    host_name,
    public_keys,
    recorded,
    set_keys,
)

KEY = paramiko.ECDSAKey.generate()
OTHER = paramiko.ECDSAKey.generate()


def line(name, key=KEY):
    return f"{name} {key.get_name()} {key.get_base64()}\n"


@pytest.mark.parametrize("address, port, written, found", [
    ("10.0.0.5", 22, "10.0.0.5", True),
    ("10.0.0.5", 2222, "[10.0.0.5]:2222", True),
    ("10.0.0.5", 2222, "10.0.0.5", False),          # another port is another host
    ("10.0.0.5", 22, "web1,10.0.0.5", True),
    ("10.0.0.5", 22, "10.0.0.*", True),
    ("10.0.0.5", 22, "10.0.0.*,!10.0.0.5", False),
    ("10.0.0.5", 22, "10.0.0.50", False),
])  # fmt: skip
def test_a_host_is_found_by_its_name_in_the_file(tmp_path, address, port, written, found):
    path = tmp_path / "known_hosts"
    path.write_text("# a comment\n\n" + line(written))
    keys = recorded([path], host_name(address, port))
    assert [(k.line, k.key) for k in keys] == ([(3, KEY)] if found else [])


def test_a_hashed_entry_is_found(tmp_path):
    path = tmp_path / "known_hosts"
    path.write_text(line(HostKeys.hash_host("[web.example]:2200")))
    assert [k.key for k in recorded([path], "[web.example]:2200")] == [KEY]
    assert recorded([path], "web.example") == []


def test_markers_and_broken_lines_are_passed_over(tmp_path):
    path = tmp_path / "known_hosts"
    path.write_text("@revoked 10.0.0.5 " + line("").lstrip() + "10.0.0.5 ssh-ed25519\n"
                    + line("10.0.0.5"))  # fmt: skip
    assert [k.line for k in recorded([path], "10.0.0.5")] == [3]


def test_prepare_hands_the_client_only_this_hosts_keys(tmp_path):
    user, project = tmp_path / "user", tmp_path / "project"
    user.write_text(line("10.0.0.5") + line("10.0.0.6", OTHER))
    client = paramiko.SSHClient()
    HostKeyCheck(record=project, user_file=user).prepare(client, "10.0.0.5", 22)
    keys = client.get_host_keys()
    assert list(keys.keys()) == ["10.0.0.5"]
    assert keys.lookup("10.0.0.5")[KEY.get_name()] == KEY


def test_a_new_host_is_recorded_and_its_fingerprint_said(tmp_path, capsys):
    project = tmp_path / "conf" / "known_hosts"
    check = HostKeyCheck(record=project, user_file=tmp_path / "none")
    _Unknown(check).missing_host_key(None, "[10.0.0.5]:2222", KEY)
    assert project.read_text() == line("[10.0.0.5]:2222")
    said = capsys.readouterr().err
    assert KEY.fingerprint in said and str(project) in said


@pytest.mark.parametrize("check", [
    HostKeyCheck(record=None),
    HostKeyCheck(record="FILE", strict=True),
], ids=["no file to record in", "strict"])  # fmt: skip
def test_strict_checking_refuses_a_new_host(tmp_path, check):
    project = tmp_path / "known_hosts"
    if check.record:
        check = HostKeyCheck(record=project, strict=True, user_file=tmp_path / "none")
    with pytest.raises(HostKeyError) as refused:
        _Unknown(check).missing_host_key(None, "10.0.0.5", KEY)
    message = str(refused.value)
    assert "not a known host" in message and "strict" in message
    assert KEY.fingerprint in message
    assert line("10.0.0.5").strip() in message  # the line to add, once checked
    assert not project.exists()


def test_a_changed_key_names_both_keys_where_the_old_one_is_and_how_to_forget_it(tmp_path):
    project = tmp_path / "known_hosts"
    project.write_text(line("other") + line("[10.0.0.5]:2222", OTHER))
    message = str(HostKeyCheck(record=project).changed("10.0.0.5", 2222, KEY))
    assert "[10.0.0.5]:2222 has CHANGED" in message
    assert f"presented: {KEY.get_name()} {KEY.fingerprint}" in message
    assert f"recorded: {OTHER.get_name()} {OTHER.fingerprint} at {project}:2" in message
    assert f"ssh-keygen -R '[10.0.0.5]:2222' -f {project}" in message


def test_set_keys_replaces_a_hosts_keys_and_keeps_the_others(tmp_path):
    path = tmp_path / "known_hosts"
    path.write_text(line("a") + line("[b]:2222", OTHER) + line("c"))
    set_keys(path, "[b]:2222", [KEY])
    assert path.read_text() == line("a") + line("c") + line("[b]:2222")
    set_keys(path, "[b]:2222", [])
    assert path.read_text() == line("a") + line("c")


def test_public_keys_reads_a_servers_key_files(tmp_path):
    (tmp_path / "ssh_host_ecdsa_key.pub").write_text(line("").lstrip().rstrip() + " root@x\n")
    (tmp_path / "ssh_host_ecdsa_key").write_text("private: never read\n")
    assert public_keys(tmp_path) == [KEY]
