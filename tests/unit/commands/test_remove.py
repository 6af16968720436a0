"""`provision remove`: refused while the inventory still gives a host the app; what each
role takes off, with and without the app's data."""

import pytest

from provision.commands.remove import check_gone
from provision.project.inventory import InventoryError
from provision.project.plays import Project
from tests.fleet import context
from tests.helpers import ROOT, write_tree

ONE = "hosts:\n  web1: {address: 10.0.0.1}\n"
APPS = f"""apps:
  hello: {{app_source: {ROOT / "example-app"}, app_domain: hello.example.com}}
hosts:
  web1: {{address: 10.0.0.1}}
"""


@pytest.mark.parametrize("inventory, app", [(ONE, "hello"), (APPS, "hello")])
def test_an_app_the_inventory_still_gives_the_host_is_refused(tmp_path, inventory, app):
    project = Project.load(ROOT, write_tree(tmp_path, {"inventory.yaml": inventory}) /
                           "inventory.yaml")  # fmt: skip
    with pytest.raises(InventoryError) as refused:
        check_gone(project, project.targets("web1"), app)
    assert str(refused.value).endswith(
        "web1 still runs hello: take it out of the inventory first (apps:, or the hosts' "
        "apps:), or the next deploy brings it back")  # fmt: skip
    check_gone(project, project.targets("web1"), "shop")  # gone from it: goes on


def names(fleet, role, data, **settings):
    ctx = context(fleet, role, "solo", **settings)
    return [op.name for op in ctx.role.module.remove(ctx, data)]


def test_each_role_takes_its_part_and_the_data_only_when_asked(fleet):
    assert names(fleet, "gunicorn", False) == ["web service"]
    assert names(fleet, "processes", False) == ["processes", "scheduled jobs"]
    assert names(fleet, "postgres_db", False) == ["backups"]
    assert names(fleet, "postgres_db", True) == [
        "backups", "no database hello", "backups' folder", "database password"]  # fmt: skip


@pytest.mark.parametrize("data, said, removed", [
    (False, "/srv/hello/shared kept", "sh -c 'rm -rf --one-file-system /srv/hello/releases "
     "/srv/hello/venvs /srv/hello/wheels /srv/hello/incoming /srv/hello/current "
     "/srv/hello/.provision-intent; if [ -d /srv/hello/shared ]; then chown -R root:root "
     "/srv/hello/shared; fi'"),
    (True, "with its data", "rm -rf --one-file-system /srv/hello"),
])  # fmt: skip
def test_the_apps_user_and_files_go_as_the_server_noted_them(fleet, data, said, removed):
    ctx = context(fleet, "app", "solo")
    [op] = ctx.role.module.remove(ctx, data)
    # set up by an inventory of one app: its user is "app", its old note names it
    change = op.compare({"noted": b"/srv/hello app\n", "old": b"hello /srv/hello\n",
                         "root": object(), "releases": object()})  # fmt: skip
    assert change.summary == f"user app and /srv/hello removed ({said})"
    commands = [c.render() for c in change.commands]
    assert commands[0] == removed
    assert "userdel app" in commands[1]
    assert commands[2] == "rm -f /var/lib/provision/apps/hello /var/lib/provision/app"
    gone = op.compare({"noted": None, "old": None, "root": object() if not data else None,
                       "releases": None})  # fmt: skip
    assert gone.reason == "nothing of hello here"
