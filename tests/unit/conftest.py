"""Fixtures shared by the unit tests."""

import pytest

from tests.fleet import project


@pytest.fixture
def fleet(tmp_path):
    """The project's roles over the fleet inventory: solo, app1, app2 and lb (tests/fleet.py)."""
    return project(tmp_path)
