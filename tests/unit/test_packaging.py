"""The wheel's contents as pyproject.toml declares them: every package of the engine and
of the stock roles, and the roles' content as package data."""

import tomllib

from tests.helpers import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_is_declared():
    setuptools = PYPROJECT["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"provision_roles": "roles"}
    on_disk = set()
    for top, name in (("provision", "provision"), ("roles", "provision_roles")):
        for init in (ROOT / top).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / top).parts
            on_disk.add(".".join((name, *parts)))
    assert set(setuptools["packages"]) == on_disk


def test_the_roles_content_is_package_data():
    data = PYPROJECT["tool"]["setuptools"]["package-data"]["provision_roles"]
    content = {p.relative_to(ROOT / "roles") for p in (ROOT / "roles").rglob("*")
               if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts}  # fmt: skip
    content |= {p.relative_to(ROOT / "roles") for p in (ROOT / "roles").glob("*/files/*")}
    assert content
    assert all(any(path.match(pattern) for pattern in data) for path in content), content
