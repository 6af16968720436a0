"""The role contract (provision.api): every hook the engine asks is listed in it, every
role stands on it alone, and the docs' example role is the one that runs."""

import ast
import importlib
import pkgutil
import re

import pytest

import provision
from provision import api
from provision.project.hooks import DECLARED
from provision.project.plays import Project
from tests.helpers import ROOT

ROLE_DIRS = [ROOT / "roles", ROOT / "docs" / "roles", ROOT / "tests" / "roles"]
ROLE_FILES = sorted(p for d in ROLE_DIRS for p in d.glob("*/*.py"))


def test_every_hook_the_engine_asks_is_in_the_contract_and_no_other():
    for module in pkgutil.walk_packages(provision.__path__, "provision."):
        importlib.import_module(module.name)  # each declares its hooks as it loads
    listed = {name for name in vars(api.RoleModule) if not name.startswith("_")}
    assert set(DECLARED) == listed - {"tasks"}


@pytest.mark.parametrize("path", ROLE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_role_imports_nothing_of_the_engine_but_the_contract(path):
    tree = ast.parse(path.read_text())
    engine = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    engine = {name for name in engine if name.startswith("provision")}
    engine |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
               for alias in node.names if alias.name.startswith("provision")}  # fmt: skip
    assert engine <= {"provision.api"}


def test_what_the_contract_exports_is_there():
    assert sorted(api.__all__) == sorted(set(api.__all__))
    assert all(hasattr(api, name) for name in api.__all__)


def test_the_docs_example_role_is_the_one_in_docs_roles():
    page = (ROOT / "docs" / "roles.md").read_text()
    [(path, shown)] = re.findall(r"<!-- role (\S+) -->\n```python\n(.*?)```\n<!-- /role -->",
                                 page, re.S)  # fmt: skip
    assert shown == (ROOT / path).read_text()


def test_the_example_role_loads_beside_the_stock_ones_and_checks_its_setting(tmp_path):
    project = Project.load(ROOT, extra=[ROOT / "docs" / "roles"])
    redis = project.roles["redis"]
    redis.module.check({"redis_maxmemory_policy": "noeviction"}, ROOT)
    with pytest.raises(api.SchemaError, match="expected one of allkeys-lru, noeviction"):
        redis.module.check({"redis_maxmemory_policy": "lru"}, ROOT)
