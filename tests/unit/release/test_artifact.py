"""Release logic without a server: ids, what ships, rollback targets."""

import subprocess
from pathlib import Path

import pytest

from provision.release import artifact


def test_release_id_has_time_and_commit():
    assert artifact.release_id("1a2b3c4", now=0) == "19700101-000000-1a2b3c4"
    assert artifact.release_id(None, now=0) == "19700101-000000"


def test_secrets_and_debris_never_ship(tmp_path):
    names = ["main.py", ".env", ".env.prod", "static/a.css", ".git/config", "__pycache__/m.pyc",
             ".venv/bin/python", "pkg/__pycache__/x.pyc", "pkg/mod.py", "REVISION",
             ".provision/sandbox/id_ed25519", ".provision/known_hosts"]  # fmt: skip
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    shipped = sorted(str(p) for p in artifact.files_of(tmp_path))
    assert shipped == ["main.py", "pkg/mod.py", "static/a.css"]


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
    with pytest.raises(
        artifact.ArtifactError, match=r"no such directory 'nope' \(the app's source\)"
    ):
        artifact.checkout("nope", "", tmp_path, tmp_path)


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
