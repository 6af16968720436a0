"""The project's own hooks: found and checked before any connection, run with the run's
facts, a failing `before` hook stopping the run before its work starts."""

import io
import os

import pytest

from provision import __version__
from provision.commands.local_hooks import HookError, LocalHooks
from provision.core.output import Output, Tally

RECORD = """#!/bin/sh
env | grep '^PROVISION_' | sort > "$(basename "$0").env"
exit {code}
"""


def hook(root, name, code=0, mode=0o755):
    path = root / "hooks" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(RECORD.format(code=code))
    path.chmod(mode)
    return path


def recorded(root, name):
    path = root / f"{name}.env"
    if not path.exists():
        return None
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def test_a_project_without_hooks_runs_none(tmp_path):
    hooks = LocalHooks.find(tmp_path)
    assert hooks.scripts == {}
    assert hooks.run("before-deploy", {}, Output(io.StringIO())) == 0


def test_hooks_are_found_by_point_with_or_without_an_extension(tmp_path):
    hook(tmp_path, "before-deploy")
    hook(tmp_path, "after-deploy.sh")
    hook(tmp_path, "README.md", mode=0o644)  # not a point: left alone
    assert sorted(LocalHooks.find(tmp_path).scripts) == ["after-deploy", "before-deploy"]


def test_a_hook_that_is_not_executable_is_refused(tmp_path):
    hook(tmp_path, "after-rollback.py", mode=0o644)
    with pytest.raises(HookError, match=r"hooks/after-rollback\.py is not executable: chmod"):
        LocalHooks.find(tmp_path)


def test_two_scripts_for_one_point_are_refused(tmp_path):
    hook(tmp_path, "before-deploy")
    hook(tmp_path, "before-deploy.sh")
    with pytest.raises(HookError, match="one script per point"):
        LocalHooks.find(tmp_path)


def test_a_failing_before_hook_stops_the_run_before_its_work(tmp_path):
    hook(tmp_path, "before-deploy", code=3)
    hook(tmp_path, "after-deploy")
    shown = io.StringIO()
    worked = []
    tallies = LocalHooks.find(tmp_path).around(
        "deploy", {"PROVISION_HOSTS": "web1"}, Output(shown), lambda: worked.append(1)
    )
    assert worked == []
    assert tallies["deploy"].failed == 1
    assert shown.getvalue().splitlines() == [
        "-- hook hooks/before-deploy",
        "[deploy] error: hooks/before-deploy exited 3: the deploy did not start, no server "
        "was changed",
    ]
    assert recorded(tmp_path, "before-deploy")["PROVISION_HOSTS"] == "web1"
    assert recorded(tmp_path, "after-deploy") is None


def test_after_hooks_get_the_outcome_and_after_failure_runs_when_a_host_failed(tmp_path):
    for name in ("before-rollback", "after-rollback", "after-failure"):
        hook(tmp_path, name)
    facts = {"PROVISION_COMMAND": "rollback", "PROVISION_HOSTS": "web1,web2"}

    def work():
        return {"web1": Tally(ok=3), "web2": Tally(failed=1)}, ["20261201-1"], ["20261130-9"]

    LocalHooks.find(tmp_path).around("rollback", facts, Output(io.StringIO()), work)
    after = recorded(tmp_path, "after-rollback")
    assert float(after.pop("PROVISION_DURATION")) >= 0
    assert after.pop("PROVISION_PERFORMER")
    inherited = {k: v for k, v in os.environ.items() if k.startswith("PROVISION_")}
    assert after == {**inherited, "PROVISION_COMMAND": "rollback", "PROVISION_HOSTS": "web1,web2",
                     "PROVISION_RELEASE": "20261201-1", "PROVISION_PREVIOUS_RELEASE": "20261130-9",
                     "PROVISION_OUTCOME": "failed", "PROVISION_FAILED_HOSTS": "web2",
                     "PROVISION_VERSION": __version__}  # fmt: skip
    assert recorded(tmp_path, "after-failure")["PROVISION_OUTCOME"] == "failed"


def test_a_failing_after_hook_is_said_and_the_outcome_stands(tmp_path):
    hook(tmp_path, "after-deploy", code=1)
    shown = io.StringIO()
    tallies = LocalHooks.find(tmp_path).around(
        "deploy", {}, Output(shown), lambda: ({"web1": Tally(ok=1)}, ["r2"], ["r1"])
    )
    assert tallies == {"web1": Tally(ok=1)}
    assert "warning: hooks/after-deploy exited 1 (the deploy's outcome stands)" in shown.getvalue()
    assert recorded(tmp_path, "after-deploy")["PROVISION_OUTCOME"] == "succeeded"
