"""Release logic without a server: ids, what ships, wheels' platform, rollback targets."""

import subprocess
from pathlib import Path

import pytest

from provision.core.facts import HostFacts
from provision.release import artifact
from provision.release.log_excerpt import log_excerpt
from provision.release.releases import ReleaseInfo, Releases

HOST = HostFacts(2, 2048, "debian", "12", "bookworm", "x86_64", "web1", "3.11", "2.36")


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


def test_release_id_has_time_and_commit():
    assert artifact.release_id("1a2b3c4", now=0) == "19700101-000000-1a2b3c4"
    assert artifact.release_id(None, now=0) == "19700101-000000"


def test_secrets_and_debris_never_ship(tmp_path):
    names = ["main.py", ".env", ".env.prod", "static/a.css", ".git/config", "__pycache__/m.pyc",
             ".venv/bin/python", "pkg/__pycache__/x.pyc", "pkg/mod.py", "REVISION"]  # fmt: skip
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    shipped = sorted(str(p) for p in artifact.files_of(tmp_path))
    assert shipped == ["main.py", "pkg/mod.py", "static/a.css"]


def test_wheels_are_chosen_for_the_servers_python_and_platform():
    flags = artifact.target_flags(HOST)
    assert flags[:4] == ["--only-binary=:all:", "--python-version", "3.11", "--implementation"]
    platforms = [flags[i + 1] for i, f in enumerate(flags) if f == "--platform"]
    assert platforms[0] == "manylinux_2_36_x86_64"
    assert "manylinux_2_17_x86_64" in platforms and "manylinux2014_x86_64" in platforms
    assert "cp311" in flags


def test_git_source_is_checked_out_at_a_ref(tmp_path):
    repo = tmp_path / "app.git"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", str(repo)], check=True)
    (repo / "main.py").write_text("v = 1\n")
    subprocess.run([*git, "-C", str(repo), "add", "."], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "one"], check=True)
    subprocess.run([*git, "-C", str(repo), "tag", "v1"], check=True)
    (repo / "main.py").write_text("v = 2\n")
    subprocess.run([*git, "-C", str(repo), "commit", "-qam", "two"], check=True)
    work = tmp_path / "work"
    work.mkdir()
    source = artifact.checkout(str(repo), "v1", Path("."), work)
    assert (source.path / "main.py").read_text() == "v = 1\n"
    tag = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "v1"],
                         capture_output=True, text=True).stdout.strip()  # fmt: skip
    assert source.commit == tag


def test_missing_local_source_is_an_error(tmp_path):
    with pytest.raises(artifact.ArtifactError, match="app_source: no such directory 'nope'"):
        artifact.checkout("nope", "", tmp_path, tmp_path)


CRASH = [
    "[ERROR] Exception in worker process",
    "Traceback (most recent call last):",
    '  File "/srv/hello/current/main.py", line 60, in <module>',
    '    raise RuntimeError("only fails when live")',
    "RuntimeError: only fails when live",
    "[INFO] Worker exiting (pid: 12)",
    "[ERROR] Reason: Worker failed to boot.",
]
RESTART = ["hello.service: Scheduled restart job", "[INFO] Starting gunicorn 27.0.1",
           *[f"[INFO] Booting worker with pid: {pid}" for pid in range(20, 50)]]  # fmt: skip


def test_log_excerpt_shows_the_first_traceback_then_the_last_lines():
    text = log_excerpt(["[INFO] Handling signal: hup", *CRASH, *RESTART, *CRASH[:2]])
    lines = text.splitlines()
    assert lines[:4] == CRASH[1:5]  # the cause, though a restart's noise came after it
    assert lines[4] == "..."
    assert lines[5:] == [*RESTART, *CRASH[:2]][-25:]


def test_log_excerpt_of_a_short_log_is_the_log():
    assert log_excerpt(CRASH) == "\n".join(CRASH)
    assert log_excerpt(["a", "b"]) == "a\nb"
    assert log_excerpt([]) == "(nothing was logged)"


def test_log_excerpt_keeps_the_end_of_a_deep_traceback():
    deep = [CRASH[1], *[f'  File "m{i}.py", line 1, in <module>' for i in range(60)], CRASH[4]]
    lines = log_excerpt([*deep, *RESTART]).splitlines()
    assert lines[0] == CRASH[1] and "RuntimeError: only fails when live" in lines
    assert lines.index("...") == 40


@pytest.mark.parametrize(
    "files",
    [{}, {"pyproject.toml": "[tool.ruff]\nline-length = 100\n"}, {"setup.py": "setup()\n"}],
)
def test_an_app_without_dependencies_says_what_was_looked_for(tmp_path, files):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    looked = (r"looked for uv.lock, poetry.lock, requirements.txt and \[project\] dependencies "
              r"in pyproject.toml")  # fmt: skip
    with pytest.raises(artifact.ArtifactError, match=r"no dependencies found: " + looked):
        artifact.dependencies(tmp_path)


def test_a_broken_pyproject_is_named(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project\n")
    with pytest.raises(artifact.ArtifactError, match=r"pyproject.toml: not valid TOML"):
        artifact.dependencies(tmp_path)


def test_a_working_tree_with_uncommitted_changes_is_named_so_by_its_content(tmp_path):
    repo = tmp_path / "repo"
    app = repo / "app"
    app.mkdir(parents=True)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    (app / "main.py").write_text("v = 1\n")
    (repo / "other.txt").write_text("outside the app\n")
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    clean = artifact.checkout("repo/app", "", tmp_path, tmp_path)
    assert clean.commit and not clean.dirty
    (repo / "other.txt").write_text("changed outside the app\n")
    assert not artifact.checkout("repo/app", "", tmp_path, tmp_path).dirty

    names = set()
    for text in ("v = 2\n", "v = 3\n"):  # two different dirty trees: two names
        (app / "main.py").write_text(text)
        dirty = artifact.checkout("repo/app", "", tmp_path, tmp_path)
        assert dirty.dirty and dirty.commit == clean.commit
        content = artifact.content_digest(dirty.path, {})
        name = artifact.release_id(dirty.commit, now=0, dirty=content)
        assert name == f"19700101-000000-{clean.commit}-dirty-{content[:7]}"
        names.add(name)
    assert len(names) == 2
    (app / "main.py").write_text("v = 1\n")
    (app / "new.py").write_text("untracked\n")
    assert artifact.checkout("repo/app", "", tmp_path, tmp_path).dirty
