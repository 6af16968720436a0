"""Where an app's dependencies come from: a lock (exact pins for the server's platform),
requirements.txt, or pyproject.toml; and the error when there are none."""

import shutil
from pathlib import Path

import pytest

from provision.core.facts import HostFacts
from provision.release.artifact import ArtifactError, dependencies

LOCKS = Path(__file__).parent / "locks"
SERVER = HostFacts(2, 2048, "debian", "12", "bookworm", "x86_64", "web1", "3.11", "2.36")


def names(pins):
    return {p.split("==")[0] for p in pins}


def test_uv_lock_pins_exactly_what_the_project_needs_on_the_server():
    deps = dependencies(LOCKS / "uvapp")
    pins = deps.args_for(SERVER)
    assert deps.found_in == "uv.lock"
    assert "fastapi==0.165.0" in pins and "sqlalchemy==2.0.58" in pins
    assert "greenlet==3.5.6" in pins  # through the extra asyncio and a machine marker
    assert "starlette==1.10.0" in pins and "pydantic-core==2.50.5" in pins
    assert not names(pins) & {"colorama", "pytest", "iniconfig", "pluggy", "pygments"}
    assert "uvapp" not in names(pins)  # the project itself is the release
    assert all("==" in p for p in pins)


def test_poetry_lock_pins_from_the_main_dependencies():
    deps = dependencies(LOCKS / "poetryapp")
    pins = deps.args_for(SERVER)
    assert deps.found_in == "poetry.lock"
    assert sorted(pins) == [
        "annotated-types==0.7.0", "anyio==4.9.0", "fastapi==0.115.12", "greenlet==3.2.2",
        "idna==3.10", "pydantic-core==2.33.2", "pydantic==2.11.4", "sniffio==1.3.1",
        "sqlalchemy==2.0.41", "starlette==0.46.2", "typing-extensions==4.13.2",
        "typing-inspection==0.4.0",
    ]  # fmt: skip


def test_a_lock_wins_over_requirements_and_requirements_over_pyproject(tmp_path):
    app = tmp_path / "app"
    shutil.copytree(LOCKS / "uvapp", app)
    (app / "requirements.txt").write_text("fastapi\n")
    assert dependencies(app).found_in == "uv.lock"
    (app / "uv.lock").unlink()
    assert dependencies(app).args == ["-r", str(app / "requirements.txt")]
    (app / "requirements.txt").unlink()
    deps = dependencies(app)
    assert deps.found_in == "pyproject.toml"
    assert deps.args == ["fastapi>=0.110", "sqlalchemy[asyncio]>=2.0,<2.1",
                         "colorama>=0.4; sys_platform == 'win32'"]  # fmt: skip


def test_a_lock_missing_a_package_it_needs_is_refused_before_connecting(tmp_path):
    app = tmp_path / "app"
    shutil.copytree(LOCKS / "uvapp", app)
    lock = (app / "uv.lock").read_text()
    start = lock.index('[[package]]\nname = "starlette"')
    (app / "uv.lock").write_text(lock[:start] + lock[lock.index("[[package]]", start + 5) :])
    with pytest.raises(ArtifactError, match=r"uv\.lock: starlette is needed but not locked"):
        dependencies(app)
