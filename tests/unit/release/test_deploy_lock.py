"""The deploy lock's messages against a scripted session: refused, waited, taken over."""

import pytest

from provision.release import deploy_lock as lock_module
from provision.release.deploy_lock import BUSY, DeployLock, LockBusy
from tests.fakes import FakeChannel, FakeSession

HOLDER = "alice@laptop (deploy)\n2026-11-25 10:00:00 UTC\n4242\n"
HOLDER_SHOWN = "alice@laptop (deploy)\n2026-11-25 10:00:00 UTC\n"  # head -n 2 of it


def test_a_held_lock_is_refused_with_who_and_since():
    s = FakeSession(channels=[FakeChannel(HOLDER, BUSY)])
    with pytest.raises(LockBusy) as e:
        DeployLock(s, "hello", "deploy").acquire()
    assert str(e.value) == (
        "web1: another deploy holds the lock: alice@laptop (deploy), since 2026-11-25 10:00:00 "
        "UTC. Wait for it (--wait SECONDS), or if it is dead: --take-over"
    )
    assert "flock -n 9" in s.started[0] and "/run/lock/provision-hello.lock" in s.started[0]


def test_waiting_says_for_whom_then_takes_the_lock(monkeypatch):
    told = []
    channel = FakeChannel(f"waiting\n{HOLDER_SHOWN}--\nlocked\n")
    s = FakeSession(channels=[channel])
    clock = iter([100.0, 103.5])  # when the wait began, when the lock came
    monkeypatch.setattr(lock_module.time, "monotonic", lambda: next(clock))
    with DeployLock(s, "hello", "deploy", wait=60, on_wait=told.append) as lock:
        assert told == ["alice@laptop (deploy), since 2026-11-25 10:00:00 UTC"]
        assert lock.waited == 3.5 and not channel.closed
    assert channel.closed  # released
    assert "flock -w 60 9" in s.started[0]


def test_waiting_in_vain_says_how_long():
    s = FakeSession(channels=[FakeChannel(f"waiting\n{HOLDER_SHOWN}--\n", BUSY)])
    with pytest.raises(LockBusy, match=r"holds the lock \(waited 5 s\): alice@laptop \(deploy\), "
                       r"since 2026-11-25 10:00:00 UTC"):  # fmt: skip
        DeployLock(s, "hello", "deploy", wait=5, on_wait=lambda who: None).acquire()


def test_take_over_ends_the_holder_first_and_says_whose_it_was():
    s = FakeSession([("sed -n 3p", "alice@laptop (deploy) 2026-11-25 10:00:00 UTC\n")])
    with DeployLock(s, "hello", "deploy", take_over=True) as lock:
        assert lock.taken_from == "alice@laptop (deploy) 2026-11-25 10:00:00 UTC"
    assert s.commands[0].startswith("pid=$(sed -n 3p /run/lock/provision-hello.lock.info")
