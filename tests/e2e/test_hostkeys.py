"""A server whose SSH key changed is refused before anything is sent to it; a new one is
recorded (accept-new) or refused (strict). On a real host whose keys are swapped, as
another machine taking over its address would present others."""

import re
import subprocess

import pytest

from provision.core import hostkeys


@pytest.fixture(scope="module")
def swapped(bootstrapped_host, host):
    """The host's keys before and after ``ssh-keygen -A`` made new ones, and the journal
    cursor at the swap."""
    before = hostkeys.public_keys(bootstrapped_host.machine.root / "etc/ssh")
    cursor = host.check_output("journalctl -n0 --show-cursor | sed -n 's/^-- cursor: //p'")
    host.run_test("rm /etc/ssh/ssh_host_* && ssh-keygen -A")
    after = hostkeys.public_keys(bootstrapped_host.machine.root / "etc/ssh")
    assert not set(before) & set(after)
    return before, after, cursor


def _fingerprints(keys):
    return {k.fingerprint for k in keys}


def test_the_host_answers_with_its_recorded_key(bootstrapped_host):
    done = bootstrapped_host.fab("status")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "new host" not in done.stderr  # boot recorded its keys: nothing to accept


@pytest.mark.parametrize("task", ["status", "deploy"])
def test_a_changed_key_is_refused_before_anything_is_sent(bootstrapped_host, host, swapped,
                                                          task):  # fmt: skip
    before, after, cursor = swapped
    known = bootstrapped_host.known_hosts
    recorded = known.read_text()
    name = bootstrapped_host.address
    done = bootstrapped_host.fab(task, timeout=120)
    shown = done.stdout + done.stderr
    assert done.returncode != 0, shown
    assert f"the host key of {name} has CHANGED: refused, nothing was sent" in shown
    presented = re.search(r"the server presented: \S+ (SHA256:\S+)", shown)[1]
    assert presented in _fingerprints(after)
    old = re.findall(r"recorded: \S+ (SHA256:\S+) at (\S+):(\d+)", shown)
    assert old and {fp for fp, _, _ in old} <= _fingerprints(before)
    for fp, path, number in old:  # that file's line holds that old key
        at = hostkeys.recorded([known], name)
        assert path == str(known) and (int(number), fp) in {(k.line, k.key.fingerprint) for k in at}
    assert f"ssh-keygen -R '{name}' -f {known}" in shown
    assert known.read_text() == recorded  # never replaced behind the operator's back
    logins = host.check_output(f"journalctl --after-cursor='{cursor}' -u ssh.service")
    assert "Accepted" not in logins  # the key was refused before authentication


def test_once_forgotten_the_new_key_is_recorded_or_refused_when_strict(bootstrapped_host, swapped):
    _, after, _ = swapped
    known = bootstrapped_host.known_hosts
    name = bootstrapped_host.address
    forget = ["ssh-keygen", "-R", name, "-f", str(known)]
    subprocess.run(forget, check=True, capture_output=True)
    strict = bootstrapped_host.fab("status", "--strict-host-keys", timeout=120)
    assert strict.returncode != 0
    assert f"{name} is not a known host" in strict.stdout + strict.stderr
    assert hostkeys.recorded([known], name) == []

    accepted = bootstrapped_host.fab("status", timeout=120)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    said = re.search(r"a new host; its key \S+ (SHA256:\S+) is recorded in (\S+)",
                     accepted.stderr)  # fmt: skip
    assert said and said[1] in _fingerprints(after) and said[2] == str(known)
    again = bootstrapped_host.fab("status", "--strict-host-keys", timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "new host" not in again.stderr
