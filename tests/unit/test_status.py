"""`fab status`: each probe read from a real host's output, the lines a person reads, and
what each role shows."""

import calendar
import time
from pathlib import Path

import pytest

from provision.commands.status import ReleaseProbe, history_lines
from provision.core.probes import (
    CertificateProbe,
    DiskProbe,
    ServiceProbe,
    TimerProbe,
    UpdatesProbe,
    span,
    when,
)
from tests.fleet import context

FIXTURES = Path(__file__).parent / "facts"


def read(probe, name):
    return probe.parse((FIXTURES / f"status-{name}.txt").read_text())


def test_a_service_gives_its_state_workers_memory_restarts_and_uptime():
    probe = ServiceProbe("hello", children="workers")
    fields = read(probe, "web")
    assert fields == {"state": "active (running)", "active": True, "pid": 570, "children": 5,
                      "memory_mb": 250.0, "restarts": 0, "up_seconds": 34}  # fmt: skip
    assert probe.line(fields) == "active (running), pid 570, 5 workers, 250 MB, 0 restarts, up 34 s"


def test_a_process_is_not_said_to_have_workers_and_a_stopped_unit_says_little():
    worker = ServiceProbe("hello-process-worker")
    assert worker.line(read(worker, "worker")).startswith("active (running), pid 583, 14 MB, 0 ")
    stopped = ServiceProbe("nothing-here")
    fields = read(stopped, "stopped")
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
    fields = read(TimerProbe("hello-job-x"), name)
    assert (fields["result"], fields["exit_status"], fields["next_run"]) == (
        result, status, next_run)  # fmt: skip


def test_the_release_the_disk_and_a_missing_certificate():
    release = read(ReleaseProbe("/srv/hello"), "release")
    assert release["live"] == "20261130-235130-014e30f"
    assert release["by"] == "root@vm" and release["since"] == "2026-11-30T23:51:30Z"
    assert history_lines(release) == [  # newest first
        "2026-11-30T23:51:30Z  deploy   20261130-235130-014e30f  ok  (root@vm)",
        "2026-11-30T23:51:27Z  deploy   20261130-235123-014e30f  ok  (root@vm)",
    ]
    disk = DiskProbe("/srv/hello")
    assert disk.line(read(disk, "disk")) == "83.0 GB free of 270.6 GB (/srv/hello)"
    cert = CertificateProbe("/etc/letsencrypt/live/x/fullchain.pem")
    assert cert.line(read(cert, "certificate-none")).startswith("none at /etc/letsencrypt")


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


def test_each_host_shows_what_it_runs(fleet):
    fleet = fleet
    shown = {}
    for host in ("solo", "app1", "lb"):
        shown[host] = []
        for role in ("app", "gunicorn", "processes", "nginx"):
            ctx = context(fleet, role, host, app_processes={"worker": "arq w"},
                          app_schedule={"tick": {"command": "t", "on_calendar": "daily"}},
                          app_domain="example.com", acme_email="ops@example.com")  # fmt: skip
            shown[host] += list(ctx.role.module.status(ctx))
    assert shown == {
        "solo": ["disk", "web", "worker", "tick", "nginx", "certificate"],
        "app1": ["disk", "web", "worker", "tick"],
        "lb": ["disk", "nginx", "certificate"],
    }


def test_updates_give_the_pending_the_security_ones_and_a_reboot():
    probe = UpdatesProbe()
    fields = read(probe, "updates")
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


def test_postgres_shows_its_service_database_and_backups_and_names_their_logs(fleet, monkeypatch):
    # read at 20:00 UTC on the day of the captured run (its next backup is tomorrow's)
    monkeypatch.setattr(time, "time", lambda: calendar.timegm((2026, 11, 30, 20, 0, 0)))
    off = context(fleet, "postgres", "solo")
    assert off.role.module.status(off) == {} and off.role.module.logs(off) == {}
    ctx = context(fleet, "postgres", "solo", postgres_enabled=True)
    probes, logs = ctx.role.module.status(ctx), ctx.role.module.logs(ctx)
    assert list(probes) == ["postgres", "backup"] and list(logs) == ["postgres", "backup"]
    assert logs["backup"].unit == "hello-pg-backup.service"
    assert logs["postgres"].path.startswith("/var/log/postgresql/postgresql-")

    db = read(probes["postgres"], "postgres")
    assert (db["active"], db["size_mb"], db["connections"]) == (True, 7.3, 0)
    assert probes["postgres"].line(db).endswith("; database hello 7.3 MB, 0 connection(s)")
    backup = read(probes["backup"], "backup")
    assert backup["result"] == "ok" and backup["last_run"] == "2026-11-30T18:57:42Z"
    assert backup["newest"] == {"path": "/var/backups/postgresql/hello/"
                                "hello-20261130-185742.363.dump", "bytes": 857,
                                "at": "2026-11-30T18:57:42Z"}  # fmt: skip
    line = probes["backup"].line(backup)
    assert line.startswith("last 18:57:42 UTC (1 h 2 min ago): ok; newest hello-20261130-185742."
                           "363.dump (857 B); next 2026-12-01 ")  # fmt: skip
    none = read(probes["backup"], "backup-none")
    assert none["newest"] is None and "no dump yet" in probes["backup"].line(none)


def test_status_and_logs_read_every_role_a_server_runs(fleet):
    fleet = fleet
    play = fleet.play("deploy")
    names = [r.name for r in play.on_server()]
    assert names[: len(play.roles)] == [r.name for r in play.roles]
    assert "postgres" in names and "postgres" not in [r.name for r in play.roles]
