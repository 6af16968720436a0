"""The runner against a scripted session: facts read at the moment a task runs, handlers
run even after a later failure, check mode changes nothing."""

import io
import subprocess
from dataclasses import dataclass

import pytest

from provision.core.facts import Fact
from provision.core.operations import apt, files, systemd
from provision.core.output import Output
from provision.core.runner import AFTER_CHANGE, AT_ONCE, Probe, Task, TaskFailed, TaskRun
from provision.core.transport import Result
from tests.fakes import FakeSession

DIRECTORY = "directory\nroot root 755\n"


def play(session, tasks, handlers=None, check=False):
    out = io.StringIO()
    tally = TaskRun(session, Output(out), tasks, handlers or {}, check=check).run()
    return tally, out.getvalue()


def test_facts_are_read_again_after_a_change():
    # /b is missing when first read; the change made by the first task creates it.
    s = FakeSession([("if [ -L /b ]", "", 1), ("if [ -L /b ]", DIRECTORY)])
    tally, _out = play(s, [Task("t", files.directory("/a")), Task("t", files.directory("/b"))])
    sent = [c.split()[3] if c.startswith("if [ -L") else c for c in s.commands]
    # both read at once; after mkdir /a (and its chown, chmod), /b is read again
    assert sent == ["/a", "/b", "mkdir -p /a", "chown root:root /a", "chmod 0755 /a", "/b"]
    assert "mkdir -p /b" not in s.commands
    assert (tally.changed, tally.ok, tally.failed) == (1, 1, 0)


def probed(commands):
    """The paths of the directory probes sent, in order."""
    return [c.split()[3] for c in commands if c.startswith("if [ -L")]


def test_a_change_reads_again_only_the_facts_of_the_next_tasks():
    # every directory missing, every time: each change reads the next AFTER_CHANGE tasks'
    n = AFTER_CHANGE + 3
    s = FakeSession([("if [ -L", "")])
    tally, _ = play(s, [Task("t", files.directory(f"/d{k}")) for k in range(n)])
    sent = [c for c in s.commands if c.startswith(("if [ -L", "mkdir"))]
    first_change = sent.index("mkdir -p /d0")
    assert probed(sent[:first_change]) == [f"/d{k}" for k in range(n)]
    after_it = sent[first_change + 1 : sent.index("mkdir -p /d1")]
    assert probed(after_it) == [f"/d{k}" for k in range(1, 1 + AFTER_CHANGE)]
    assert s.round_trips == 1 + n and tally.changed == n


def test_a_later_task_is_read_at_its_turn_after_a_change():
    # /a changes; the tasks after it are there (ok) except the last, which a stale
    # reading would call missing: it is read again at its turn, with nothing after it.
    far = f"/d{AFTER_CHANGE + 1}"
    s = FakeSession([("if [ -L /a", "", 1), (f"if [ -L {far} ]", "", 1), ("if [ -L", DIRECTORY)])
    tasks = [Task("t", files.directory("/a"))]
    tasks += [Task("t", files.directory(f"/d{k}")) for k in range(1, AFTER_CHANGE + 2)]
    tally, _ = play(s, tasks)
    assert probed(s.commands)[-1] == far and f"mkdir -p {far}" not in s.commands
    assert s.round_trips == 3 and (tally.changed, tally.ok) == (1, AFTER_CHANGE + 1)


def test_packages_join_when_the_later_ones_are_past_the_facts_read():
    # a change before the packages reads only the next tasks' facts; the joint change
    # reads the rest before it is decided, so nginx's packages still join base's
    s = FakeSession([FRESH, ("dpkg-query", ""), ("if [ -L /x ]", "", 1), ("if [ -L", DIRECTORY)])
    tasks = [Task("app", files.directory("/x")), Task("base", apt.packages(["a"]))]
    tasks += [Task("app", files.directory(f"/d{k}")) for k in range(AFTER_CHANGE)]
    tasks += [Task("nginx", apt.packages(["b"]))]
    tally, out = play(s, tasks)
    assert [c for c in s.commands if "apt-get install" in c] == [f"{INSTALL} a b"]
    assert "[web1] changed   nginx: packages b  (install b, together with base's)" in out
    assert (tally.changed, tally.failed) == (3, 0)


def test_nothing_to_change_costs_one_round_trip():
    s = FakeSession([("if [ -L", DIRECTORY)])
    tally, _ = play(s, [Task("t", files.directory("/a")), Task("t", files.directory("/b"))])
    assert s.round_trips == 1 and tally.ok == 2


def test_handlers_run_after_a_later_failure():
    s = FakeSession([("mkdir -p /b", Result(1, "", "mkdir: Permission denied"))])
    unit = files.file("/etc/x.service", "[Unit]\n", notify="reload x")
    tasks = [Task("t", unit), Task("t", files.directory("/b"))]
    tally, out = play(s, tasks, {"reload x": Task("t handler", systemd.reload("x"))})
    assert s.commands[-1] == "systemctl reload x"
    assert tally.failed == 1 and "mkdir: Permission denied" in tally.errors[0]
    assert "[web1] failed    t: directory /b" in out


def test_a_handler_nobody_notified_does_not_run():
    s = FakeSession([("if [ -L", DIRECTORY)])
    play(s, [Task("t", files.directory("/a"))], {"reload x": Task("h", systemd.reload("x"))})
    assert "systemctl reload x" not in s.commands


def test_check_mode_sends_no_change():
    s = FakeSession()
    _tally, out = play(s, [Task("t", files.directory("/a"))], check=True)
    assert not [c for c in s.commands if not c.startswith("if [ -L")]
    assert "[web1] would-chg t: directory /a  (create)" in out


INSTALL = (
    "env DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Options::="
    "--force-confdef -o Dpkg::Options::=--force-confold --no-install-recommends"
)
FRESH = ("date +%s", "1000\n990\n")  # the lists were refreshed 10 s ago


def packages_between_a_directory():
    return [Task("base", apt.packages(["a"])), Task("app", files.directory("/x")),
            Task("nginx", apt.packages(["b", "c"]))]  # fmt: skip


def test_packages_of_later_tasks_are_installed_in_one_transaction():
    s = FakeSession([FRESH, ("dpkg-query", "")])
    tally, out = play(s, packages_between_a_directory())
    installs = [c for c in s.commands if "apt-get install" in c]
    assert installs == [f"{INSTALL} a b c"]
    assert s.commands.index(installs[0]) < s.commands.index("mkdir -p /x")
    assert "[web1] changed   base: packages a  (install a, together with nginx's)" in out
    assert "[web1] changed   nginx: packages b, c  (install b, c, together with base's)" in out
    assert (tally.changed, tally.failed) == (3, 0)


def test_a_failed_transaction_leaves_each_task_its_own():
    s = FakeSession([FRESH, ("dpkg-query", ""), (f"{INSTALL} a b c", Result(100, "", "E: no c"))])
    tally, out = play(s, packages_between_a_directory())
    installs = [c for c in s.commands if "apt-get install" in c]
    assert installs == [f"{INSTALL} a b c", f"{INSTALL} a", f"{INSTALL} b c"]
    assert "[web1] changed   base: packages a  (install a)" in out
    assert (tally.changed, tally.failed) == (3, 0)


def test_check_mode_joins_nothing():
    s = FakeSession([FRESH, ("dpkg-query", "")])
    _tally, out = play(s, packages_between_a_directory(), check=True)
    assert not [c for c in s.commands if "apt-get" in c]
    assert "[web1] would-chg nginx: packages b, c  (install b, c)" in out


def test_packages_wait_for_what_their_own_role_changes_first():
    s = FakeSession([FRESH, ("dpkg-query", ""), ("if [ -L", "")])
    tasks = [Task("base", apt.packages(["a"])), Task("postgres", files.directory("/etc/pg")),
             Task("postgres", apt.packages(["b"])), Task("nginx", apt.packages(["c"]))]  # fmt: skip
    tally, out = play(s, tasks)
    installs = [c for c in s.commands if "apt-get install" in c]
    assert installs == [f"{INSTALL} a c", f"{INSTALL} b"]
    assert s.commands.index("mkdir -p /etc/pg") < s.commands.index(f"{INSTALL} b")
    assert "[web1] changed   nginx: packages c  (install c, together with base's)" in out
    assert (tally.changed, tally.failed) == (4, 0)


def test_a_change_and_the_facts_after_it_share_a_round_trip():
    s = FakeSession([("if [ -L", "")])  # every directory missing, every time
    tally, _ = play(s, [Task("t", files.directory(f"/{n}")) for n in "abc"])
    # one to read all three, then each change with the reading of the rest after it
    assert s.round_trips == 4 and tally.changed == 3


@dataclass(frozen=True)
class Shell(Fact[str]):
    """A fact that is what ``text`` prints."""

    text: str

    def command(self) -> str:
        return self.text

    def parse(self, output: str) -> str:
        return output


def read(facts):
    """``facts`` read by their probe's script, run by sh here as on a server."""
    probe = Probe(facts)
    done = subprocess.run(["sh", "-c", probe.script], capture_output=True, text=True,
                          timeout=30, check=True)  # fmt: skip
    return probe.read(done.stdout, done.stderr)


def test_facts_are_read_at_once_and_given_back_in_order_each_as_printed(tmp_path):
    flag = tmp_path / "second-started"
    # the first waits (10 s at most) for the second to start: read one after the other,
    # it would find nothing
    waits = Shell(f"i=0; while [ ! -e {flag} ] && [ $i -lt 1000 ]; do sleep 0.01; "
                  f"i=$((i+1)); done; [ -e {flag} ] && echo found")  # fmt: skip
    facts = [waits, Shell(f"touch {flag}; printf 'no newline'"), Shell("echo two; echo lines"),
             Shell("exit 3"), Shell("echo to stderr >&2")]  # fmt: skip
    assert read(facts) == {waits: "found\n", facts[1]: "no newline", facts[2]: "two\nlines\n",
                           facts[3]: "", facts[4]: ""}  # fmt: skip


def test_a_few_facts_are_read_one_after_the_other_without_a_folder():
    few = [Shell("echo a"), Shell("printf b"), Shell("exit 1")]
    assert len(few) < AT_ONCE and "mktemp" not in Probe(few).script
    assert read(few) == {few[0]: "a\n", few[1]: "b", few[2]: ""}


def test_a_fact_cut_short_is_an_error_not_a_fact_read_as_empty():
    probe = Probe([Shell("echo a"), Shell("echo b")])
    whole = f"{probe.token}\na\n\n{probe.token}.\n{probe.token}\nb\n\n{probe.token}.\n"
    assert probe.read(whole) == {Shell("echo a"): "a\n", Shell("echo b"): "b\n"}
    with pytest.raises(TaskFailed, match="could not read facts"):
        probe.read(whole[: whole.rindex("b") + 1])  # the second's file stopped short
