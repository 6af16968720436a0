"""The releases a server has: the rollback target, and what cleaning keeps."""

import pytest

from provision.release.releases import ReleaseInfo, Releases


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
