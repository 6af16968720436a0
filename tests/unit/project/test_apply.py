"""Connecting to a host for a play: a server that lacks the play that must come first
(for the app the command is for, where the inventory names apps) is refused."""

import pytest

from provision.project.apply import Host, NotReady, marks, played
from provision.project.plays import Project
from tests.fakes import FakeSession
from tests.helpers import ROOT, write_tree

HOST = "2\n2048\ndebian\n12\nbookworm\nx86_64\nweb1\n3.11\n2.36\n"
DONE = "file\nroot root 644\nx\n"  # what a PathInfo of an existing file reads
APPS = f"""apps:
  hello: {{app_source: {ROOT / "example-app"}, app_domain: hello.example.com}}
  shop: {{app_source: {ROOT / "example-app"}, app_domain: shop.example.com}}
hosts:
  web1: {{address: 10.0.0.1}}
"""


def connect(tmp_path, app, *rules):
    project = Project.load(ROOT, write_tree(tmp_path, {"inventory.yaml": APPS}) / "inventory.yaml")
    [target] = project.targets("web1")
    if app:
        [target] = project.for_app([target], app)
    session = FakeSession([*rules, ("nproc", HOST)])
    session.target = target
    return Host.connect(session, project.play("deploy"), {})


def test_an_app_whose_bootstrap_never_completed_is_refused_before_any_change(tmp_path):
    with pytest.raises(NotReady) as refused:
        connect(tmp_path, "shop", ("played/bootstrap.shop", ""), ("played/bootstrap", DONE))
    assert str(refused.value).startswith("`fab bootstrap` has not completed for shop on web1")


def test_a_server_whose_bootstrap_never_completed_says_so_whatever_the_apps(tmp_path):
    with pytest.raises(NotReady) as refused:
        connect(tmp_path, "", ("played/bootstrap", ""))
    assert str(refused.value).startswith("`fab bootstrap` has not completed on web1: run")


def test_an_app_bootstrapped_goes_on_with_its_settings_and_every_apps(tmp_path):
    host = connect(tmp_path, "shop", ("played/bootstrap", DONE))
    assert (host.app, host.vars["app_name"], list(host.apps)) == ("shop", "shop", ["hello", "shop"])
    assert list(host.converging()) == ["shop"]


def test_a_play_records_its_completion_for_the_server_and_each_app():
    where = "/var/lib/provision/played"
    assert marks("bootstrap", ["shop"]) == {"": f"{where}/bootstrap",
                                            "shop": f"{where}/bootstrap.shop"}  # fmt: skip
    assert [t.op.name for t in played("bootstrap", ["shop"])] == [
        f"directory {where}", "played bootstrap", "played bootstrap (shop)"]  # fmt: skip
    assert marks(None, ["shop"]) == {}
