"""`fab status`: each probe read from a real host's output, the lines a person reads, and
what each role shows."""

from provision.commands.status import STATUS, ReleaseProbe, history_lines
from provision.core.probes import (
    CertificateProbe,
    DiskProbe,
)
from provision.project.roles import merged
from tests.fakes import HOST, parsed
from tests.fleet import on_server


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


def where(probe):
    return getattr(probe, "path", getattr(probe, "unit", ""))


def test_each_host_shows_what_it_runs(fleet):
    shown = {}
    for host in ("solo", "app1", "lb"):
        ctxs = on_server(fleet, host, app_processes={"worker": "arq w"},
                         app_schedule={"tick": {"command": "t", "on_calendar": "daily"}},
                         app_domain="example.com", acme_email="ops@example.com")  # fmt: skip
        first = ctxs[0]
        probes = merged(STATUS, [c.role for c in ctxs], first.vars, HOST, first.peers)
        shown[host] = {label: where(probe) for label, probe in probes.items()}
    cert = "/etc/letsencrypt/live/example.com/fullchain.pem"
    assert shown == {
        "solo": {"updates": "", "disk": "/srv/hello", "web": "hello",
                 "worker": "hello-process-worker.service", "tick": "hello-job-tick",
                 "nginx": "nginx", "maintenance": "/var/lib/provision/maintenance/hello",
                 "certificate": cert},
        "app1": {"updates": "", "disk": "/srv/hello", "web": "hello",
                 "worker": "hello-process-worker.service", "tick": "hello-job-tick"},
        "lb": {"updates": "", "disk": "/", "nginx": "nginx",
               "maintenance": "/var/lib/provision/maintenance/hello", "certificate": cert},
    }  # fmt: skip
