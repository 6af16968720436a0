"""The `provision` command: Fabric's options and provision's tasks, from any folder."""

import json
import os
import subprocess
import sys

from provision import __version__
from provision.tasks import project_root
from tests.helpers import ROOT


def provision(*args, cwd):
    cmd = [sys.executable, "-m", "provision.main", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_version(tmp_path):
    done = provision("--version", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, f"provision {__version__}\n")


def listed(cmd, cwd):
    done = subprocess.run([*cmd, "--list", "--list-format", "json"], cwd=cwd,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    return {task["name"]: task["help"] for task in json.loads(done.stdout)["tasks"]}


def test_the_same_tasks_as_fab(tmp_path):
    tasks = listed([sys.executable, "-m", "provision.main"], tmp_path)
    assert sorted(tasks) == ["backup", "bootstrap", "compose", "deploy", "doctor", "exec",
                             "image", "init", "kube", "logs", "maintenance", "releases",
                             "remove", "rollback", "sandbox", "status"]  # fmt: skip
    assert listed([sys.executable, "-m", "fabric"], ROOT) == tasks


def test_fabrics_options_and_a_clear_error_without_an_inventory(tmp_path):
    done = provision("-i", "/nonexistent", "-H", "web1", "deploy", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {tmp_path / 'inventory.yaml'}")


def test_the_project_is_the_nearest_folder_with_the_inventory(tmp_path, monkeypatch):
    (tmp_path / "inventory.yaml").write_text("vars: {}\n")
    (tmp_path / "app" / "sub").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "app" / "sub")
    assert project_root() == tmp_path
    assert project_root("other.yaml") == tmp_path / "app" / "sub"
    assert project_root(str(tmp_path / "inventory.yaml")) == tmp_path / "app" / "sub"


def test_the_commands_messages_suggest_are_the_programs_own(tmp_path):
    done = provision("-H", "web1", "exec", cwd=tmp_path)
    assert done.returncode == 2
    assert "as in `provision exec -H web1 -- alembic current`" in done.stderr
    by_fab = subprocess.run([sys.executable, "-m", "fabric", "-H", "web1", "exec"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert "as in `fab exec -H web1 -- alembic current`" in by_fab.stderr


def test_a_reader_that_went_away_ends_it_quietly():
    read, write = os.pipe()
    os.close(read)  # as `provision logs | head` once head has its lines
    try:
        done = subprocess.run([sys.executable, "-u", "-m", "provision.main", "--version"],
                              stdout=write, stderr=subprocess.PIPE, text=True)  # fmt: skip
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (141, "")


def cached(cmd, cwd, prefix):
    """The modules of provision's package that running ``cmd`` left compiled in Python's
    bytecode cache (kept under ``prefix``, not beside the sources)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(cmd, cwd=cwd, env={**env, "PYTHONPYCACHEPREFIX": str(prefix)},
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    package = prefix / (ROOT / "provision").relative_to("/")
    return {p.relative_to(package).as_posix().split(".")[0] for p in package.rglob("*.pyc")}


def test_both_programs_keep_pythons_bytecode_cache(tmp_path):
    # Invoke turns the cache off before it loads the tasks; provision turns it back on.
    by_fab = cached([sys.executable, "-m", "fabric", "--list"], ROOT, tmp_path / "fab")
    assert {"tasks", "commands/cli", "core/transport"} <= by_fab
    # the `provision` command imports a command's own modules when it runs, after Invoke
    done = cached([sys.executable, "-m", "provision.main", "init"], tmp_path, tmp_path / "p")
    assert "commands/init" in done
