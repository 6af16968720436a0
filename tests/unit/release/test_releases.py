"""The releases a server has: the rollback target, and what cleaning keeps."""

import subprocess

import pytest

from provision.release.layout import BAD, DONE, ROLLED_BACK
from provision.release.releases import ReleaseInfo, Releases, ReleaseState


def releases(current, *ids, bad=(), back=(), new=()):
    infos = tuple(ReleaseInfo(i, i in bad, "v1", i in back, i in new) for i in ids)
    return Releases(current, infos, frozenset(), frozenset())


@pytest.mark.parametrize(
    "state, previous",
    [
        (releases("r3", "r1", "r2", "r3"), "r2"),
        (releases("r3", "r1", "r2", "r3", bad={"r2"}), "r1"),
        (releases("r2", "r1", "r2", "r3"), "r1"),  # after a rollback: go further back
        # r3 was rolled back from, then r4 deployed: a rollback skips r3 (no ping-pong)
        (releases("r4", "r1", "r2", "r3", "r4", back={"r3"}), "r2"),
        # r2 never passed verify while live (its check or its job was cut short)
        (releases("r3", "r1", "r2", "r3", new={"r2"}), "r1"),
        (releases("r3", "r2", "r3", new={"r2"}), None),
        (releases("r1", "r1"), None),
        (releases(None), None),
    ],
)
def test_rollback_goes_to_the_newest_good_older_release(state, previous):
    assert state.previous() == previous


def test_cleaning_keeps_the_newest_the_live_and_the_previous():
    state = releases("r2", "r1", "r2", "r3", "r4", "r5", "r6")
    assert state.removable(keep=2) == ["r3", "r4"]  # r1 previous, r2 live, r5 r6 newest


def test_cleaning_removes_a_release_that_never_served_like_any_old_one():
    state = releases("r4", "r1", "r2", "r3", "r4", new={"r3"})
    assert state.previous() == "r2"
    assert state.removable(keep=1) == ["r1", "r3"]


def test_the_state_command_reads_a_layout_as_the_server_has_it(tmp_path):
    """The command itself, run under sh on a layout made here (``find``, ``sed``)."""
    root, log = tmp_path / "srv", tmp_path / "job.log"
    for rid, marks in (
        ("r1", [DONE, ROLLED_BACK]),
        ("r2", [DONE, BAD]),
        ("r3", [DONE]),
        ("r4", []),
    ):  # r4: an upload cut short, never complete
        (root / "releases" / rid).mkdir(parents=True)
        for mark in marks:
            (root / "releases" / rid / mark).touch()
        (root / "releases" / rid / "venv").symlink_to(f"../../venvs/v-{rid}")
    (root / "venvs" / "v-r3").mkdir(parents=True)
    (root / "venvs" / "v-r3" / DONE).touch()
    (root / "venvs" / ".v-building").mkdir()
    (root / "wheels").mkdir()
    (root / "wheels" / "a-1.0-py3-none-any.whl").touch()
    (root / "current").symlink_to("releases/r3")
    (root / "deploys.log").write_text('{"release": "r2"}\n{"release": "r3"}\n')
    log.write_text("@@ result back\n@@ begin verify\n@@ result kept\nnoted\n")  # fmt: skip
    command = ReleaseState(str(root), str(log), history=1).command()
    state = ReleaseState(str(root)).parse(
        subprocess.run(["sh", "-c", command], check=True, capture_output=True, text=True).stdout
    )
    assert state.current == "r3" and state.job_result == "kept"
    assert state.releases == (
        ReleaseInfo("r1", False, "v-r1", rolled_back=True),
        ReleaseInfo("r2", True, "v-r2"),
        ReleaseInfo("r3", False, "v-r3"),
    )
    assert state.venvs == {"v-r3"} and state.wheels == {"a-1.0-py3-none-any.whl"}
    assert state.history == ({"release": "r3"},)
