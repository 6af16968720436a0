"""The probes `fab status` and `fab doctor` read: each parsed from a real host's output,
and the line a person reads."""

import time

import pytest

from provision.core.probes import (
    CertificateProbe,
    ServiceProbe,
    TimerProbe,
    UpdatesProbe,
    span,
    when,
)
from tests.fakes import parsed


def test_a_service_gives_its_state_workers_memory_restarts_and_uptime():
    probe = ServiceProbe("hello", children="workers")
    fields = parsed(probe, "status-web")
    assert fields == {"state": "active (running)", "active": True, "pid": 570, "children": 5,
                      "memory_mb": 250.0, "restarts": 0, "up_seconds": 34}  # fmt: skip
    assert probe.line(fields) == "active (running), pid 570, 5 workers, 250 MB, 0 restarts, up 34 s"


def test_a_process_is_not_said_to_have_workers_and_a_stopped_unit_says_little():
    worker = ServiceProbe("hello-process-worker")
    line = worker.line(parsed(worker, "status-worker"))
    assert line.startswith("active (running), pid 583, 14 MB, 0 ")
    stopped = ServiceProbe("nothing-here")
    fields = parsed(stopped, "status-stopped")
    assert fields["pid"] is None and fields["up_seconds"] is None and not fields["active"]
    assert stopped.line(fields) == "inactive (dead), 0 restarts"


@pytest.mark.parametrize(
    "name, result, status, next_run",
    [
        ("timer-ok", "running", 0, None),  # a run going on: its result is not known yet
        ("timer-failed", "failed (exit-code, exit 3)", 3, "2026-11-26T06:56:00Z"),
        ("timer-never", "not run yet", 0, None),
    ],
)
def test_a_timer_gives_its_last_run_and_result_and_its_next(name, result, status, next_run):
    fields = parsed(TimerProbe("hello-job-x"), f"status-{name}")
    assert (fields["result"], fields["exit_status"], fields["next_run"]) == (
        result, status, next_run)  # fmt: skip


def test_a_certificate_gives_its_days_to_expiry():
    output = "notAfter=Feb 24 06:00:00 2027 GMT\nsubject=CN = example.com\nNow=1795676157\n"
    fields = CertificateProbe("/c.pem").parse(output)
    assert fields["expires"] == "2027-02-24T06:00:00Z" and fields["days_left"] == 89


@pytest.mark.parametrize(
    "seconds, text",
    [
        (40, "40 s"),
        (300, "5 min"),
        (7500, "2 h 5 min"),
        (3 * 86400 + 4 * 3600, "3 d 4 h"),
        (86400, "1 d"),
    ],
)
def test_a_span_reads_at_a_glance(seconds, text):
    assert span(seconds) == text


def test_updates_give_the_pending_the_security_ones_and_a_reboot():
    probe = UpdatesProbe()
    fields = parsed(probe, "status-updates")
    assert fields == {"pending": 0, "security": 0, "reboot_required": False}
    assert probe.line({"pending": 3, "security": 2, "reboot_required": True}) == (
        "3 pending (2 security); a reboot is required")  # fmt: skip


@pytest.fixture
def summer_in_berlin(monkeypatch):
    """This machine in a zone that keeps daylight saving time, on a summer day."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    monkeypatch.setattr(time, "time", lambda: 1816754400.0)  # 2027-07-28T06:00:00Z
    yield
    monkeypatch.undo()
    time.tzset()


def test_times_written_in_utc_are_read_as_utc_under_daylight_saving_time(summer_in_berlin):
    output = "notAfter=Jul 30 06:00:00 2027 GMT\nsubject=CN = example.com\nNow=1816754400\n"
    fields = CertificateProbe("/c.pem").parse(output)
    assert fields["expires"] == "2027-07-30T06:00:00Z" and fields["days_left"] == 2
    assert when("2027-07-28T05:59:48Z") == "05:59:48 UTC (12 s ago)"  # today, by this clock
    assert when("2027-07-27T23:59:48Z").startswith("2027-07-27 23:59:48 UTC (6 h ")
