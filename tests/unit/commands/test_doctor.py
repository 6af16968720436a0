"""`fab doctor`: each seeded mistake found at its exact line, nothing on the example apps,
and what a server's readings are judged to be."""

import pytest

from provision.commands.doctor import ServerProbe, judge_role_probe, judge_server, open_ports
from provision.core.probes import CertificateProbe, ServiceProbe
from roles.gunicorn.appcheck import check_source
from tests.helpers import ROOT

MISTAKES = ROOT / "tests" / "apps" / "mistakes"


def found(source, health="/health", fault=""):
    return [(f.where, f.level, f.what.split(":")[0]) for f in check_source(source, health, fault)]


def test_each_seeded_mistake_is_found_at_its_line():
    assert found(MISTAKES) == [
        ("main.py:20", "error", "`time.sleep` blocks the event loop in `async def index`"),
        ("main.py:21", "error", "`requests.get` blocks the event loop in `async def index`"),
        ("main.py:27", "error", "`open` blocks the event loop in `async def report`"),
        ("main.py:29", "error", "`sqlite3.connect` blocks the event loop in `async def report`"),
        ("main.py:30", "error", "`nap` blocks the event loop in `async def report`"),
        ("main.py:31", "error", "`subprocess.run` blocks the event loop in `async def report`"),
        ("main.py:37", "warning", "`create_engine` in the endpoint `users`"),
        ("main.py:52", "warning", "uvicorn's reloader"),
        ("start.sh:3", "warning", "uvicorn's reloader"),
        ("app_health_path", "error", "no route at /health"),
    ]


def test_every_finding_says_why_and_the_fix():
    for f in check_source(MISTAKES, "/health"):
        assert f.what and f.fix, f
    [blocking] = [f for f in check_source(MISTAKES, "/health") if f.where == "main.py:20"]
    assert str(blocking) == ("main.py:20: error: `time.sleep` blocks the event loop in `async "
                             "def index`: every request on this worker waits for it\n"
                             "    fix: use await asyncio.sleep(...)")  # fmt: skip


@pytest.mark.parametrize("source, health", [("example-app", "/health"),
                                            ("example-db-app", "/health"),
                                            ("tests/apps/worker", "/health"),
                                            ("tests/apps/src-uv", "/health")])  # fmt: skip
def test_no_finding_on_the_example_apps(source, health):
    assert found(ROOT / source, health) == []


def test_a_module_not_found_is_an_error():
    assert found(ROOT / "example-app", fault="no module x") == [
        ("app_module", "error", "no module x")]  # fmt: skip


def test_a_health_path_is_found_among_the_routes():
    assert ("app_health_path", "error", "no route at /ready") in found(ROOT / "example-app",
                                                                      "/ready")  # fmt: skip


SERVER = ("/dev/vda 270553174016 25974317056 82969976832 24% /\n"
          "MemTotal:        4024412 kB\nMemAvailable:    3123412 kB\nntp=yes\n"
          "listen=0.0.0.0:22\nlisten=127.0.0.1:8000\nlisten=0.0.0.0:80\nlisten=[::]:5432\n"
          "listen=*:9999\nlisten=10.0.0.5:8000\n")  # fmt: skip


def test_a_server_reading_is_judged():
    fields = ServerProbe("/srv/hello").parse(SERVER)
    assert fields["memtotal"] == 3930 and fields["ntp"] == "yes"
    assert [(f.where, f.level) for f in judge_server(fields, 22, "/srv/hello")] == [
        ("port 5432", "warning"), ("port 9999", "warning")]  # fmt: skip
    shared = "a container (systemd-nspawn) that shares its host's network"
    assert judge_server(fields, 22, "/srv/hello", shared) == []  # its ports: the host's
    low = {**fields, "free_gb": 0.5, "ntp": "no", "listening": [], "memavailable": 100}
    assert [(f.where, f.level) for f in judge_server(low, 22, "/srv/hello")] == [
        ("disk", "error"), ("memory", "warning"), ("clock", "warning")]  # fmt: skip


def test_open_ports_are_those_on_every_address_but_the_allowed():
    listening = ["0.0.0.0:2222", "[::]:443", "127.0.0.1:5432", "*:25"]
    assert open_ports(listening, {2222, 443}) == [25]


def test_role_probes_are_judged():
    web = ServiceProbe("hello", children="workers", fewer="set app_workers lower")
    fields = {"active": True, "state": "active (running)", "children": 9, "memory_mb": 2000.0}
    [too_big] = judge_role_probe("web", web, fields, 2048)
    assert too_big.level == "error" and too_big.what.startswith("9 workers of about 200 MB need")
    assert too_big.fix == "set app_workers lower, or add memory"  # as the role says it
    assert judge_role_probe("web", web, fields, 8192) == []
    stopped = {**fields, "active": False, "state": "failed (failed)"}
    down = judge_role_probe("worker", ServiceProbe("w"), stopped, 0)
    assert down[0].what == "w is failed (failed)" and down[0].level == "error"
    cert = CertificateProbe("/c.pem")
    assert judge_role_probe("certificate", cert, {"days_left": 5}, 0)[0].level == "warning"
    assert judge_role_probe("certificate", cert, {"days_left": -1}, 0)[0].level == "error"
    assert judge_role_probe("certificate", cert, {"days_left": 60}, 0) == []
