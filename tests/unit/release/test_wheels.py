"""Wheels for the server, resolved here: its platform's tags, uv first and pip where uv
cannot, against a folder of wheels (no index)."""

import zipfile

import pytest

from provision.core.facts import HostFacts
from provision.release import wheels
from provision.release.artifact import Dependencies

HOST = HostFacts(2, 2048, "debian", "12", "bookworm", "x86_64", "web1", "3.11", "2.36")


def test_wheels_are_chosen_for_the_servers_python_and_platform():
    flags = wheels.target_flags(HOST)
    assert flags[:4] == ["--only-binary=:all:", "--python-version", "3.11", "--implementation"]
    platforms = [flags[i + 1] for i, f in enumerate(flags) if f == "--platform"]
    assert platforms[0] == "manylinux_2_36_x86_64"
    assert "manylinux_2_17_x86_64" in platforms and "manylinux2014_x86_64" in platforms
    assert "cp311" in flags


def test_a_wheel_ranks_by_how_well_it_fits_the_server():
    best = wheels._ranking(HOST)

    def rank(tags):
        return wheels._rank(f"https://x/a-1.0-{tags}.whl", best)

    newest, older = "cp311-cp311-manylinux_2_36_x86_64", "cp311-cp311-manylinux2014_x86_64"
    assert rank(newest) < rank(older) < rank("py3-none-any")
    assert rank("cp311-cp311-manylinux_2_38_x86_64") is None  # a newer C library's
    assert rank("cp312-cp312-manylinux_2_17_x86_64") is None  # another Python's
    assert rank("cp311-cp311-manylinux_2_17_aarch64") is None  # another CPU's


def test_requirements_files_stay_whole():
    assert wheels._lines(["-r", "/app/requirements.txt", "gunicorn>=23"]) == [
        "-r /app/requirements.txt", "gunicorn>=23"]  # fmt: skip


def wheel(folder, name, version, requires=()):
    """A pure-Python wheel of ``name`` in ``folder``, depending on ``requires``."""
    info = f"{name}-{version}.dist-info"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{name}/__init__.py", "")
        metadata = [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
                    *(f"Requires-Dist: {r}\n" for r in requires)]  # fmt: skip
        z.writestr(f"{info}/METADATA", "".join(metadata))
        z.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        z.writestr(f"{info}/RECORD", "")
    return path


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A folder of wheels (alpha 1.0 and 2.0, beta needing alpha<2), the app's requirements
    pointing at it alone, and a cache of this test's own."""
    found = tmp_path / "found"
    found.mkdir()
    for version in ("1.0", "2.0"):
        wheel(found, "alpha", version)
    wheel(found, "beta", "1.0", ["alpha<2"])
    monkeypatch.setattr(wheels, "CACHE", tmp_path / "cache")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"--no-index\n--find-links {found}\nbeta\n")
    return Dependencies("requirements.txt", ["-r", str(requirements)], requirements.read_text())


@pytest.mark.parametrize("uv", [True, False])
def test_dependencies_resolve_to_pinned_wheels_fetched_here(folder, uv):
    got = wheels.resolve(folder, [], HOST, uv=uv)
    assert sorted(got.pins) == ["alpha==1.0", "beta==1.0"]
    assert sorted(f.name for f in got.files) == ["alpha-1.0-py3-none-any.whl",
                                                 "beta-1.0-py3-none-any.whl"]  # fmt: skip
    assert all(f.is_file() and f.parent == wheels.CACHE / "wheels" for f in got.files)


def test_uv_resolves_and_pip_is_not_asked(folder, monkeypatch):
    asked = []
    pip = wheels._pip
    monkeypatch.setattr(wheels, "_pip", lambda args: (asked.append(args[0]), pip(args))[1])
    wheels.resolve(folder, [], HOST)
    assert asked == ["download"]  # the resolution was uv's; pip fetched the files


def test_what_uv_cannot_resolve_pip_does(folder, monkeypatch):
    monkeypatch.setattr(wheels, "_with_uv", lambda args, host: None)  # as uv failing says
    asked = []
    pip = wheels._pip
    monkeypatch.setattr(wheels, "_pip", lambda args: (asked.append(args[0]), pip(args))[1])
    assert sorted(wheels.resolve(folder, [], HOST).pins) == ["alpha==1.0", "beta==1.0"]
    assert asked == ["install", "download"]


def test_a_resolution_is_cached_by_its_inputs(folder, monkeypatch):
    first = wheels.resolve(folder, ["alpha"], HOST)
    monkeypatch.setattr(wheels, "_with_uv", lambda *a: pytest.fail("resolved again"))
    assert wheels.resolve(folder, ["alpha"], HOST) == first
