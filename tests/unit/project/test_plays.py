"""A project's plays and targets: which settings a host gets, checked before connecting."""

import pytest

from provision.project.inventory import InventoryError
from provision.project.plays import Project
from provision.project.roles import RoleError
from tests.helpers import ROOT, write_tree

SOURCE = ROOT / "example-app"
APPS = f"""apps:
  hello: {{app_source: {SOURCE}, app_domain: hello.example.com}}
  shop: {{app_source: {SOURCE}, app_workers: 3, app_port: 8010, app_check_port: 8011}}
hosts:
  web1: {{address: 10.0.0.1, apps: [shop]}}
  web2: {{address: 10.0.0.2}}
"""


def test_a_host_that_runs_one_app_of_apps_gets_its_settings_and_name(tmp_path):
    project = Project.load(write_tree(tmp_path, {"inventory.yaml": APPS}))
    [web1] = project.targets("web1")
    assert web1.vars == {"app_source": str(SOURCE), "app_workers": 3, "app_port": 8010,
                         "app_check_port": 8011, "app_name": "shop",
                         "app_user": "shop"}  # fmt: skip
    assert web1.app == "shop"  # narrowed to it: every command works on shop there


def test_a_host_that_runs_several_is_the_server_until_narrowed_to_one_app(tmp_path):
    project = Project.load(write_tree(tmp_path, {"inventory.yaml": APPS}))
    [web2] = project.targets("web2")
    assert (web2.app, list(web2.apps)) == ("", ["hello", "shop"])
    assert "app_name" not in web2.vars  # the server's settings: no app's
    project.ready("bootstrap", [web2], {})  # the checks of both apps pass
    [shop] = project.for_app([web2], "shop")
    assert (shop.app, shop.vars["app_name"], shop.vars["app_user"]) == ("shop", "shop", "shop")


def test_by_app_groups_the_hosts_of_each_app_narrowed_to_it(tmp_path):
    project = Project.load(write_tree(tmp_path, {"inventory.yaml": APPS + "groups:\n  web: "
                                                 "{hosts: [web1, web2]}\n"}))  # fmt: skip
    groups = project.by_app(project.targets("web"))
    assert [(app, [(t.name, t.vars["app_name"]) for t in group]) for app, group in groups] == [
        ("shop", [("web1", "shop"), ("web2", "shop")]),
        ("hello", [("web2", "hello")]),
    ]
    narrowed = project.for_app(project.targets("web"), "shop")
    assert [app for app, _ in project.by_app(narrowed)] == ["shop"]


def test_an_inventory_of_one_app_is_one_group_and_refuses_app(tmp_path):
    project = Project.load(write_tree(tmp_path, {"inventory.yaml": (
        f"vars: {{app_source: {SOURCE}}}\nhosts:\n  web1: {{address: 10.0.0.1}}\n")}))  # fmt: skip
    targets = project.targets("web1")
    assert project.by_app(targets) == [("", targets)]
    with pytest.raises(InventoryError, match="--app shop: no such app \\(the inventory has no "):
        project.for_app(targets, "shop")


@pytest.mark.parametrize("app, message", [
    ("shp", "--app shp: no such app; did you mean 'shop'? (apps: hello, shop)"),
    ("hello", "--app hello: web1 runs other apps"),
])  # fmt: skip
def test_app_names_an_app_a_host_runs(tmp_path, app, message):
    project = Project.load(write_tree(tmp_path, {"inventory.yaml": APPS}))
    with pytest.raises(InventoryError) as e:
        project.for_app(project.targets("web1"), app)
    assert str(e.value) == f"{tmp_path}/inventory.yaml: {message}"


def checked(tmp_path, apps):
    apps = apps.replace("example-app", str(SOURCE))
    project = Project.load(write_tree(tmp_path, {
        "inventory.yaml": f"apps:\n{apps}hosts:\n  web1: {{address: 10.0.0.1}}\n"}))  # fmt: skip
    with pytest.raises((InventoryError, RoleError)) as e:
        project.ready("deploy", project.targets("web1"), {})
    return str(e.value).replace(f"{tmp_path}/", "")


def test_apps_on_one_server_each_have_their_domain_at_most_one_without(tmp_path):
    assert checked(tmp_path, "  a: {app_source: example-app}\n"
                             "  b: {app_source: example-app}\n") == (
        "app_domain: a and b have none on one server: one app at most can be its default "
        "site; give the others their domain")  # fmt: skip
    assert checked(tmp_path, "  a: {app_source: example-app, app_domain: x.example.com}\n"
                             "  b: {app_source: example-app,\n"
                             "      app_domain: x.example.com}\n") == (
        "inventory.yaml:4: apps.b.app_domain: x.example.com is a's already: a domain routes to "
        "one app")  # fmt: skip


def test_apps_on_one_server_get_ports_of_their_own_from_their_names(tmp_path):
    project = Project.load(write_tree(tmp_path, {"inventory.yaml": APPS}))
    [web2] = project.targets("web2")
    hello = web2.apps["hello"]
    assert (hello["app_port"], hello["app_check_port"]) == (8240, 8241)  # from "hello"
    assert web2.apps["shop"]["app_port"] == 8010  # set in the inventory: it wins


def test_apps_on_one_server_each_have_their_ports(tmp_path):
    # a's ports, from its name, are 8714 and 8715
    assert checked(tmp_path, "  a: {app_source: example-app, app_domain: a.example.com}\n"
                             "  b: {app_source: example-app, app_domain: b.example.com,\n"
                             "      app_port: 8715}\n") == (
        "inventory.yaml:4: apps.b.app_port: 8715 is a's app_check_port already: each app on a "
        "server needs ports of its own (set app_port and app_check_port for each)")  # fmt: skip


def test_each_apps_own_settings_are_checked(tmp_path):
    assert checked(tmp_path, "  a: {app_source: nowhere, app_domain: a.example.com}\n"
                             "  b: {app_source: example-app, app_domain: b.example.com}\n") == (
        f"inventory.yaml:2: apps.a.app_source: no such directory 'nowhere' (relative to "
        f"{tmp_path})")  # fmt: skip


def test_apps_given_are_each_apps_settings_for_every_host(tmp_path):
    project = Project.load(write_tree(tmp_path, {"inventory.yaml": "vars: {app_workers: 2}\n"
                                                 + APPS}))  # fmt: skip
    given = project.apps_given()
    assert list(given) == ["hello", "shop"]
    assert (given["shop"]["app_workers"], given["hello"]["app_workers"]) == (3, 2)
    assert (given["shop"]["app_name"], given["shop"]["app_user"]) == ("shop", "shop")
    one = Project.load(write_tree(tmp_path / "one", {"inventory.yaml": "vars: {app_workers: 2}\n"}))
    assert one.apps_given() == {"": {"app_workers": 2}}


def test_a_setting_of_the_servers_roles_is_refused_under_apps(tmp_path):
    text = APPS.replace("app_domain: hello.example.com}", "app_domain: hello.example.com,\n"
                        "          base_packages: [libpq5]}")  # fmt: skip
    with pytest.raises(InventoryError) as refused:
        Project.load(write_tree(tmp_path, {"inventory.yaml": text}))
    assert str(refused.value) == (
        f"{tmp_path}/inventory.yaml:3: apps.hello.base_packages: a setting of the server "
        "(roles/base), the same for every app there: set it in vars, or in a group's or the "
        "host's vars")  # fmt: skip
