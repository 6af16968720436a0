"""Operations given facts produce exactly these commands, or this no-op reason."""

import hashlib

import pytest

from provision.core.facts import NetworkHome, PathState, Succeeds, UserState
from provision.core.operations import (
    Change,
    NoChange,
    OperationError,
    files,
    server,
    shell,
    systemd,
)
from provision.core.operations.base import only_if, skip_if

CONF = b"PasswordAuthentication no\n"
SHA = hashlib.sha256(CONF).hexdigest()


def commands(plan):
    assert isinstance(plan, Change), plan
    return [c.render() for c in plan.commands]


def directory_state(owner="app", group="app", mode=0o750):
    return PathState("directory", owner, group, mode)


CASES = [
    # (id, operation, facts, expected commands or no-op reason)
    (
        "dir-missing",
        files.directory("/srv/a b", owner="app", group="app", mode=0o750),
        {"state": None},
        ["mkdir -p '/srv/a b'", "chown app:app '/srv/a b'", "chmod 0750 '/srv/a b'"],
    ),
    (
        "dir-as-wanted",
        files.directory("/srv/a", owner="app", group="app", mode="0750"),
        {"state": directory_state()},
        "/srv/a is a directory app:app 0750",
    ),
    (
        "dir-mode-drift",
        files.directory("/srv/a", owner="app", group="app", mode=0o750),
        {"state": directory_state(mode=0o777)},
        ["chmod 0750 /srv/a"],
    ),
    (
        "file-missing",
        files.file("/etc/x.conf", CONF, mode=0o644),
        {"state": None},
        [
            "dd of=/etc/.x.conf.provision-new status=none",
            "chown root:root /etc/.x.conf.provision-new",
            "chmod 0644 /etc/.x.conf.provision-new",
            "mv -f /etc/.x.conf.provision-new /etc/x.conf",
        ],
    ),
    (
        "file-same",
        files.file("/etc/x.conf", CONF),
        {"state": PathState("file", "root", "root", 0o644, SHA)},
        "/etc/x.conf has the wanted content, owner and mode",
    ),
    (
        "file-owner-drift",
        files.file("/etc/x.conf", CONF, owner="app", group="app", mode=0o600),
        {"state": PathState("file", "root", "root", 0o600, SHA)},
        ["chown app:app /etc/x.conf"],
    ),
    (
        "file-validate-tmp",
        files.file("/etc/sudoers.d/ops", CONF, mode=0o440, validate="visudo -cqf %s"),
        {"state": None},
        [
            "dd of=/etc/sudoers.d/.ops.provision-new status=none",
            "chown root:root /etc/sudoers.d/.ops.provision-new",
            "chmod 0440 /etc/sudoers.d/.ops.provision-new",
            "sh -c 'if ! visudo -cqf /etc/sudoers.d/.ops.provision-new; then "
            "rm -f /etc/sudoers.d/.ops.provision-new; exit 1; fi'",
            "mv -f /etc/sudoers.d/.ops.provision-new /etc/sudoers.d/ops",
        ],
    ),
    (
        "file-validate-in-place",
        files.file("/etc/ssh/s.conf", CONF, validate="sshd -t"),
        {"state": PathState("file", "root", "root", 0o644, "old")},
        [
            "dd of=/etc/ssh/.s.conf.provision-new status=none",
            "chown root:root /etc/ssh/.s.conf.provision-new",
            "chmod 0644 /etc/ssh/.s.conf.provision-new",
            "cp -a /etc/ssh/s.conf /etc/ssh/.s.conf.provision-old",
            "mv -f /etc/ssh/.s.conf.provision-new /etc/ssh/s.conf",
            "sh -c 'if ! sshd -t; then mv -f /etc/ssh/.s.conf.provision-old /etc/ssh/s.conf; "
            "exit 1; fi'",
            "rm -f /etc/ssh/.s.conf.provision-old",
        ],
    ),
    (
        "link-missing",
        files.link("/srv/a/current", "releases/1", owner="app", group="app"),
        {"state": None},
        [
            "ln -sfn releases/1 /srv/a/current.provision-new",
            "chown -h app:app /srv/a/current.provision-new",
            "mv -T -f /srv/a/current.provision-new /srv/a/current",
        ],
    ),
    (
        "link-same",
        files.link("/srv/a/current", "releases/1", owner="app", group="app"),
        {"state": PathState("link", "app", "app", 0o777, target="releases/1")},
        "/srv/a/current -> releases/1",
    ),
    (
        "group-missing",
        server.group("app"),
        {"gid": None},
        ["groupadd --system app"],
    ),
    ("group-present", server.group("app"), {"gid": 999}, "group app exists (gid 999)"),
    (
        "user-missing",
        server.user("app", home="/srv/app"),
        {"state": None},
        [
            "useradd --system --no-create-home --gid app --home-dir /srv/app "
            "--shell /usr/sbin/nologin app"
        ],
    ),
    (
        "user-drift",
        server.user("ops", home="/home/ops", shell="/bin/bash", groups=["sudo"]),
        {"state": UserState(1000, "ops", "/home/ops", "/bin/sh", ("ops",))},
        ["usermod --shell /bin/bash --append --groups sudo ops"],
    ),
    (
        "user-as-wanted",
        server.user("app", home="/srv/app"),
        {"state": UserState(998, "app", "/srv/app", "/usr/sbin/nologin", ("app",))},
        "user app is as wanted",
    ),
    (
        "try-restart-running",
        systemd.try_restart("x"),
        {"state": {"LoadState": "loaded", "ActiveState": "active"}},
        ["systemctl try-restart x"],
    ),
    (
        "try-restart-stopped",
        systemd.try_restart("x"),
        {"state": {"LoadState": "loaded", "ActiveState": "inactive"}},
        "x is not running",
    ),
    # a failed deploy removed the unit file its converge had made: the unit goes too
    (
        "try-restart-file-gone",
        systemd.try_restart("x"),
        {"state": {"LoadState": "not-found", "ActiveState": "activating"}},
        ["systemctl stop x", "sh -c 'rm -f /etc/systemd/system/*.wants/x'"],
    ),
    (
        "try-restart-no-unit",
        systemd.try_restart("x"),
        {"state": {"LoadState": "not-found", "ActiveState": "inactive"}},
        ["sh -c 'rm -f /etc/systemd/system/*.wants/x'"],
    ),
    (
        "service-stopped-disabled",
        systemd.service("nginx"),
        {"unit": {"LoadState": "loaded", "ActiveState": "inactive", "UnitFileState": "disabled"}},
        ["systemctl enable nginx", "systemctl start nginx"],
    ),
    (
        "service-running",
        systemd.service("nginx"),
        {"unit": {"LoadState": "loaded", "ActiveState": "active", "UnitFileState": "enabled"}},
        "nginx is running, enabled",
    ),
    (
        "service-static-unit-is-not-enabled",
        systemd.service("x"),
        {"unit": {"LoadState": "loaded", "ActiveState": "active", "UnitFileState": "static"}},
        "x is running, static",
    ),
    (
        "service-unit-file-changed",
        systemd.service("app"),
        {
            "unit": {
                "LoadState": "loaded",
                "ActiveState": "inactive",
                "UnitFileState": "disabled",
                "NeedDaemonReload": "yes",
            }
        },
        ["systemctl daemon-reload", "systemctl enable app", "systemctl start app"],
    ),
    (
        "service-stop",
        systemd.service("app", running=False, enabled=False),
        {"unit": {"LoadState": "loaded", "ActiveState": "active", "UnitFileState": "enabled"}},
        ["systemctl disable app", "systemctl stop app"],
    ),
    ("handler-reload", systemd.reload("ssh"), {}, ["systemctl reload ssh"]),
    (
        "command-creates-missing",
        shell.command("make key", "openssl genrsa -out /k.pem 2048", creates="/k.pem"),
        {"state": None},
        ["sh -c 'openssl genrsa -out /k.pem 2048'"],
    ),
    (
        "command-creates-present",
        shell.command("make key", "openssl genrsa -out /k.pem", creates="/k.pem"),
        {"state": PathState("file")},
        "/k.pem exists",
    ),
    (
        "command-unless-passes",
        shell.command("x", "touch /a", unless="test -e /a"),
        {"passed": True},
        "`test -e /a` succeeds",
    ),
]


@pytest.mark.parametrize("op, facts, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_operation(op, facts, expected):
    decides(op, facts, expected)


def decides(op, facts, expected):
    """``op`` given ``facts`` sends the commands ``expected``, or (a string) says that."""
    plan = op.compare(facts)
    if isinstance(expected, str):
        assert plan == NoChange(expected)
    else:
        assert commands(plan) == expected


def test_file_upload_carries_content_on_stdin():
    plan = files.file("/etc/x.conf", CONF).compare({"state": None})
    assert plan.commands[0].stdin == CONF
    assert plan.diff.new == CONF


@pytest.mark.parametrize(
    "op, state",
    [
        (files.directory("/srv/a"), PathState("file")),
        (files.file("/srv/a", b""), PathState("directory")),
        (files.link("/srv/a", "b"), PathState("directory")),
    ],
)
def test_wrong_kind_of_path_is_an_error(op, state):
    with pytest.raises(OperationError, match="exists but is a"):
        op.compare({"state": state})


def test_guarded_command_needs_exactly_one_guard():
    with pytest.raises(ValueError, match="exactly one guard"):
        shell.command("x", "true")


@pytest.mark.parametrize("wrap", [
    lambda op: only_if(op, Succeeds("true"), "always"),
    lambda op: skip_if(op, NetworkHome()),
], ids=["only_if", "skip_if"])  # fmt: skip
def test_a_guard_keeps_what_it_guards_loud(wrap):
    guarded = wrap(shell.note("HTTPS", "no app_domain: HTTP only"))
    assert guarded.loud
    assert not wrap(files.directory("/srv/a")).loud
