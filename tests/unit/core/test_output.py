"""Commands, secrets and what people see."""

import io
import os

from provision.commands.oneoff import command_line
from provision.core.command import MASK, Command, Secret, as_root
from provision.core.output import Output, Tally
from provision.core.runner import batches


def test_arguments_are_quoted_in_one_place():
    c = Command.of("useradd", "--comment", "it's me", "app; rm -rf /")
    assert c.render() == "useradd --comment 'it'\"'\"'s me' 'app; rm -rf /'"


def test_secret_reaches_the_host_but_not_the_screen():
    c = Command.of("chpasswd-like", Secret("hunter2"))
    assert c.render() == "chpasswd-like hunter2"
    assert c.display() == f"chpasswd-like {MASK}"
    assert "hunter2" not in repr(c)


def test_output_masks_known_secrets_everywhere():
    stream = io.StringIO()
    out = Output(stream)
    out.mask.add("hunter2")
    out.error("web1", "apt said: password hunter2 rejected")
    out.diff("web1", "/etc/app.conf", b"pw = old\n", b"pw = hunter2\n", sensitive=False)
    assert "hunter2" not in stream.getvalue()
    assert stream.getvalue().count(MASK) == 2


def test_sensitive_diff_shows_no_content():
    stream = io.StringIO()
    Output(stream).diff("web1", "/srv/app/shared/.env", b"A=1\n", b"A=2\n", sensitive=True)
    assert stream.getvalue() == "[web1] --- /srv/app/shared/.env: content hidden (sensitive)\n"


def test_diff_is_unified():
    stream = io.StringIO()
    Output(stream).diff("h", "/etc/x", b"a\nb\n", b"a\nc\n", sensitive=False)
    lines = stream.getvalue().splitlines()
    assert lines[:2] == ["[h] --- /etc/x (on host)", "[h] +++ /etc/x (wanted)"]
    assert "[h] -b" in lines and "[h] +c" in lines


def test_recap_line_format():
    stream = io.StringIO()
    Output(stream).recap({"web1": Tally(ok=7, changed=2), "web2": Tally(failed=1)})
    assert stream.getvalue().splitlines()[1:] == [
        "web1 : ok=7 changed=2 failed=0",
        "web2 : ok=0 changed=0 failed=1",
    ]


def test_sudo_wrapping():
    assert as_root("id -u", "root") == "sh -c 'id -u'"
    assert as_root("id -u", "ops") == "sudo -n -H -- sh -c 'id -u'"


def test_batches_hold_one_stdin_each():
    a, b = Command.of("dd", stdin=b"1"), Command.of("dd", stdin=b"2")
    c = Command.of("true")
    assert batches([a, c, b, c]) == [[a, c], [b, c]]


def test_a_reader_that_goes_away_does_not_stop_the_run():
    read, write = os.pipe()
    os.close(read)
    with open(write, "w") as stream:
        out = Output(stream)
        out.line("first")  # the pipe is broken: nothing printed, nothing raised
        out.recap({"web1": Tally(ok=1)})


def test_exec_runs_one_argument_as_a_command_line_and_quotes_several():
    assert command_line(["alembic upgrade head && echo done"]) == (
        "alembic upgrade head && echo done"
    )
    assert command_line(["python", "-c", "import os; print(1)"]) == (
        "python -c 'import os; print(1)'"
    )
