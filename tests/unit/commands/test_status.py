"""`fab status`: each probe read from a real host's output, the lines a person reads, and
what each role shows."""

from provision.commands.status import ReleaseProbe, history_lines
from provision.core.probes import (
    CertificateProbe,
    DiskProbe,
)
from tests.fakes import parsed
from tests.fleet import context


def test_the_release_the_disk_and_a_missing_certificate():
    release = parsed(ReleaseProbe("/srv/hello"), "status-release")
    assert release["live"] == "20261130-235130-014e30f"
    assert release["by"] == "root@vm" and release["since"] == "2026-11-30T23:51:30Z"
    assert history_lines(release) == [  # newest first
        "2026-11-30T23:51:30Z  deploy   20261130-235130-014e30f  ok  (root@vm)",
        "2026-11-30T23:51:27Z  deploy   20261130-235123-014e30f  ok  (root@vm)",
    ]
    disk = DiskProbe("/srv/hello")
    assert disk.line(parsed(disk, "status-disk")) == "83.0 GB free of 270.6 GB (/srv/hello)"
    cert = CertificateProbe("/etc/letsencrypt/live/x/fullchain.pem")
    assert cert.line(parsed(cert, "status-certificate-none")).startswith("none at /etc/letsencrypt")


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


def test_status_and_logs_read_every_role_a_server_runs(fleet):
    fleet = fleet
    play = fleet.play("deploy")
    names = [r.name for r in play.on_server()]
    assert names[: len(play.roles)] == [r.name for r in play.roles]
    assert "postgres" in names and "postgres" not in [r.name for r in play.roles]
