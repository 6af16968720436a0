"""A project's plays and targets: which settings a host gets, checked before connecting."""

import pytest

from provision.project.inventory import InventoryError
from provision.project.plays import Project
from tests.helpers import write_tree

APPS = """apps:
  hello: {app_source: example-app}
  shop: {app_source: example-app, app_workers: 3}
hosts:
  web1: {address: 10.0.0.1, apps: [shop]}
  web2: {address: 10.0.0.2}
"""


def test_a_host_that_runs_one_app_of_apps_gets_its_settings_and_name(tmp_path):
    project = Project.load(write_tree(tmp_path, {"inventory.yaml": APPS}))
    [web1] = project.targets("web1")
    assert web1.vars == {"app_source": "example-app", "app_workers": 3, "app_name": "shop"}


def test_a_host_that_runs_several_is_refused_before_connecting_for_now(tmp_path):
    project = Project.load(write_tree(tmp_path, {"inventory.yaml": APPS}))
    with pytest.raises(InventoryError, match=r"web2 runs 2 apps \(hello, shop\): one app per "):
        project.ready("bootstrap", project.targets("web2"), {})
