"""The commands a release runs through the app server: its check on a spare port, going
live (gunicorn's reload, or its start) and the app's log since then."""

from provision.api import Command, Shell


def check_command(release, port):
    """Start a release in the foreground on a spare port, with one worker."""
    return [
        f"{release}/venv/bin/python",
        "-m",
        "gunicorn",
        "-c",
        f"{release}/gunicorn.conf.py",
        "--chdir",
        release,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
    ]


# An access line, by gunicorn (`... "GET / HTTP/1.1" 200 17 ...`) or by uvicorn
# (`... "GET / HTTP/1.1" 200`): what buries a failed release's cause. An extended
# regular expression, for grep on the server.
ACCESS_LINE = '"[A-Z]+ [^"]*" [0-9]{3}( |$)'


# A reload is gunicorn's HUP, sent by systemd to the main process. Not `systemctl
# reload`: the unit's ExecReload sends the same signal, but from a process of its own in
# the unit's sandbox, set up again at each reload (50 ms of every deploy and rollback).
RELOAD = "kill -s HUP --kill-whom=main"


def go_live(service):
    """Reload the app (start it when it is not running); say where its log stood, what
    was done, and the main process that serves it."""
    return Command.script(
        "journalctl -u {s} -n 0 --show-cursor --no-pager | sed -n 's/^-- cursor: /mark /p'; "
        "if systemctl is-active --quiet {s}; then systemctl {reload} {s}; did={did}; "
        "else systemctl start {s}; did=start; fi; "
        'echo "did systemctl $did "{s}; echo pid $(systemctl show -p MainPID --value {s})',
        label=f"systemctl {RELOAD} {service} (start it if it is not running)",
        s=service,
        reload=Shell(RELOAD),
        did=RELOAD,
    )


def logs_since(service):
    """The app's log from a journal cursor on (the last lines without one), no access lines."""

    def command(mark):
        since = ("--after-cursor", mark) if mark else ("-n", "300")
        journal = Command.of("journalctl", "-u", service, *since, "--no-pager", "-o", "cat")
        return Command.script(
            "{journal} | grep -avE {noise} | tail -n 2000", journal=journal, noise=ACCESS_LINE
        )

    return command
