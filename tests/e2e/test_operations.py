"""The engine's operations on a real host: each set runs twice, the second changes nothing.

The module shares a host; every test sets up what it starts from, so each passes alone.
"""

import io
from dataclasses import replace

import pytest

from provision.core.command import MASK, Command, Secret
from provision.core.operations import files, shell, systemd
from provision.core.output import Output
from provision.core.runner import Task, TaskRun
from provision.core.transport import Session

UNIT = """[Unit]
Description=demo
[Service]
Environment=LEVEL={level}
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target
"""


@pytest.fixture(scope="module")
def host(test_host):
    return test_host.testinfra()


def converge(test_host, ops, handlers=None, check=False, diff=False, verbose=False):
    stream = io.StringIO()
    out = Output(stream, verbose=verbose)
    tasks = [Task("demo", op) for op in ops]
    handler_tasks = {name: Task("demo handler", op) for name, op in (handlers or {}).items()}
    with Session(replace(test_host.machine.target(), name="target")) as session:
        tally = TaskRun(session, out, tasks, handler_tasks, check=check, diff=diff).run()
    return tally, stream.getvalue()


def unit_ops(level):
    return [
        files.file("/etc/systemd/system/demo.service", UNIT.format(level=level), notify="restart"),
        systemd.service("demo", running=True, enabled=True),
    ]


HANDLERS = {"restart": systemd.restart("demo")}


def test_unit_file_and_service(test_host, host):
    host.run("systemctl disable --now demo; rm -f /etc/systemd/system/demo.service; "
             "systemctl daemon-reload")  # fmt: skip
    tally, out = converge(test_host, unit_ops(1), HANDLERS)
    assert (tally.changed, tally.failed) == (3, 0), out
    assert "[target] changed   demo handler: restart demo" in out
    demo = host.service("demo")
    assert demo.is_running and demo.is_enabled

    tally, out = converge(test_host, unit_ops(1), HANDLERS)
    assert (tally.ok, tally.changed) == (2, 0), out
    assert "restart demo" not in out


def test_changed_unit_is_reread_and_restarted(test_host, host):
    assert converge(test_host, unit_ops(1), HANDLERS)[0].failed == 0  # running at level 1
    pid = host.check_output("systemctl show -p MainPID --value demo")
    tally, out = converge(test_host, unit_ops(2), HANDLERS)
    assert tally.changed == 3, out
    assert "service demo  (daemon-reload)" in out
    assert host.check_output("systemctl show -p Environment --value demo") == "LEVEL=2"
    assert host.check_output("systemctl show -p MainPID --value demo") != pid


def test_symlink_switches_by_rename(test_host, host):
    host.check_output("mkdir -p /srv/demo/releases/1 /srv/demo/releases/2")
    for release in ("releases/1", "releases/2"):
        op = files.link("/srv/demo/current", release)
        tally, out = converge(test_host, [op])
        assert tally.changed == 1, out
        assert host.file("/srv/demo/current").linked_to == f"/srv/demo/{release}"
        tally, _ = converge(test_host, [op])
        assert tally.changed == 0


def test_guarded_command_runs_once(test_host, host):
    host.check_output("mkdir -p /srv/demo && rm -f /srv/demo/stamp")
    op = shell.command("stamp", "date +%s%N > /srv/demo/stamp", creates="/srv/demo/stamp")
    assert converge(test_host, [op])[0].changed == 1
    first = host.file("/srv/demo/stamp").content_string
    assert converge(test_host, [op])[0].changed == 0
    assert host.file("/srv/demo/stamp").content_string == first


def test_secrets_reach_the_host_but_never_the_output(test_host, host):
    host.check_output("mkdir -p /srv/demo && rm -f /srv/demo/token /srv/demo/app.env")
    secret = "s3cr3t-Token"
    store = Command.of("sh", "-c", 'printf %s "$1" > /srv/demo/token', "sh", Secret(secret))
    ops = [
        files.file("/srv/demo/app.env", f"TOKEN={secret}\n", mode=0o600, sensitive=True),
        shell.command("store token", store, creates="/srv/demo/token"),
    ]
    tally, out = converge(test_host, ops, check=True, diff=True, verbose=True)
    assert tally.changed == 2
    assert "/srv/demo/app.env: content hidden (sensitive)" in out
    assert f"$ sh -c 'printf %s \"$1\" > /srv/demo/token' sh {MASK}" in out
    assert not host.file("/srv/demo/token").exists

    tally, out = converge(test_host, ops, diff=True)
    assert tally.changed == 2
    assert host.file("/srv/demo/token").content_string == secret
    assert host.file("/srv/demo/app.env").content_string == f"TOKEN={secret}\n"

    leak = Command.of("sh", "-c", 'echo "refused: $1" >&2; exit 3', "sh", Secret(secret))
    tally, out = converge(test_host, [shell.command("fail", leak, unless="false")])
    assert tally.failed == 1
    assert f"refused: {MASK}" in out
    assert secret not in out


def test_notified_handler_runs_even_when_a_later_task_fails(test_host, host):
    assert converge(test_host, unit_ops(1), HANDLERS)[0].failed == 0  # running at level 1
    pid = host.check_output("systemctl show -p MainPID --value demo")
    failing = shell.command("fail", "echo boom >&2; exit 4", unless="false")
    tally, out = converge(test_host, [*unit_ops(3), failing], HANDLERS)
    assert tally.failed == 1
    assert "boom" in out
    assert "[target] changed   demo handler: restart demo" in out
    assert host.check_output("systemctl show -p Environment --value demo") == "LEVEL=3"
    assert host.check_output("systemctl show -p MainPID --value demo") != pid


def test_host_facts_match_what_the_host_says(test_host, host):
    from provision.core.facts import HostInfo
    from provision.core.runner import gather

    with Session(replace(test_host.machine.target(), name="target")) as session:
        facts = gather(session, [HostInfo()])[HostInfo()]
    version = host.check_output("python3 -c 'import sys; print(sys.version_info[:2])'")
    assert f"({facts.python.replace('.', ', ')})" == version  # e.g. 3.11 and (3, 11)
    assert host.check_output("ldd --version | head -n 1").endswith(f" {facts.glibc}")
    assert facts.cpus == int(host.check_output("nproc"))
    assert (facts.os_id, facts.os_version, facts.os_codename) == ("debian", "12", "bookworm")
    assert facts.arch == host.check_output("uname -m")
