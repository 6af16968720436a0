"""Fixtures of the release tests."""

import zipfile

import pytest

from provision.release import wheels


@pytest.fixture
def no_index(tmp_path, monkeypatch):
    """Wheels resolved without the package index: one pin, no files; uv's wheel a few
    bytes (what a deploy uploads to a server without uv)."""
    monkeypatch.setattr(wheels, "resolve", lambda *a: wheels.Wheels(["fastapi==1.0"], []))
    uv = tmp_path / "uv.whl"
    with zipfile.ZipFile(uv, "w") as z:
        z.writestr(wheels.UV_MEMBER, "uv")
    monkeypatch.setattr(wheels, "uv_wheel", lambda host: uv)
