"""A deploy's changed files kept as they were and put back: the commands, run by a real
shell on a scratch folder, and what a play sends with them."""

import io
import subprocess

from provision.core.operations import files
from provision.core.output import Output
from provision.core.runner import Task, TaskRun
from provision.core.undo import Undo
from tests.fakes import FakeSession


def run(commands):
    script = "set -e\n" + "\n".join(c.render() for c in commands)
    subprocess.run(["sh", "-c", script], check=True)


def test_changed_files_are_put_back_and_new_ones_removed(tmp_path):
    unit, new, link = tmp_path / "x.service", tmp_path / "y.timer", tmp_path / "current"
    unit.write_text("ExecStart=old\n")
    unit.chmod(0o640)
    link.symlink_to("releases/r1")
    (tmp_path / "undo").mkdir()
    (tmp_path / "undo" / "stale").write_text("a run that died left this\n")
    undo = Undo(str(tmp_path / "undo"))
    run(undo.save(str(unit), ("daemon-reload", "restart x")))
    unit.write_text("ExecStart=new\n")
    run(undo.save(str(new), ("daemon-reload",)))
    new.write_text("[Timer]\n")
    run(undo.save(str(unit), ("restart x",)))  # changed twice: the first copy wins
    unit.write_text("ExecStart=newer\n")
    run(undo.save(str(link), ()))
    link.unlink()
    link.symlink_to("releases/r2")
    assert not (tmp_path / "undo" / "stale").exists()
    assert undo.notified == ["daemon-reload", "restart x"]

    run(undo.restore())
    assert unit.read_text() == "ExecStart=old\n" and unit.stat().st_mode & 0o777 == 0o640
    assert not new.exists()
    assert str(link.readlink()) == "releases/r1"
    assert not (tmp_path / "undo").exists()


def test_a_play_keeps_a_file_in_the_same_round_trip_as_its_change():
    def tasks():
        unit = files.file("/etc/x.service", "[Unit]\n", notify="restart x")
        return [Task("t", files.directory("/a")), Task("t", unit)]

    plain = FakeSession()
    TaskRun(plain, Output(io.StringIO()), tasks(), {}).run()
    s = FakeSession()
    undo = Undo("/var/lib/provision/undo/hello")
    tally = TaskRun(s, Output(io.StringIO()), tasks(), {}, undo=undo).run()
    assert tally.changed == 2 and s.round_trips == plain.round_trips
    assert undo.paths == ["/etc/x.service"] and undo.notified == ["restart x"]
    [kept] = s.sent("cp -a /etc/x.service /var/lib/provision/undo/hello/0")
    [moved] = s.sent("mv -f /etc/.x.service.provision-new /etc/x.service")
    assert s.commands.index(kept) < s.commands.index(moved)
    assert not s.sent("cp -a /a")  # a directory made is not a file replaced
