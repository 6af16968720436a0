"""A play's tasks on a server of several apps: the server's roles once, each app's roles
once for each app, with handlers of its own."""

from collections import Counter

import pytest

from provision.core.operations import OperationError
from provision.project.build import build_tasks
from provision.project.plays import Project
from provision.project.roles import RoleContext, resolve_vars
from tests.fakes import HOST
from tests.helpers import ROOT, write_tree

APPS = f"""vars: {{acme_email: ops@example.org}}
apps:
  hello: {{app_source: {ROOT / "example-app"}}}
  shop: {{app_source: {ROOT / "example-app"}, app_domain: shop.example.com,
          postgres_enabled: true}}
hosts:
  web1: {{address: 10.0.0.1}}
"""


def server(tmp_path, play_name="bootstrap"):
    """The play, the server's settings, each app's, and the inventory seen from the server,
    as ``Host.connect`` has them."""
    project = Project.load(ROOT, write_tree(tmp_path, {"inventory.yaml": APPS}) / "inventory.yaml")
    play = project.play(play_name)
    [target] = project.targets("web1")
    settings = resolve_vars(play.every_role, target.vars, {})
    apps = {name: resolve_vars(play.every_role, given, {}) for name, given in target.apps.items()}
    return play, settings, apps, play.peers.seen_from(target)


def built(tmp_path, play_name="bootstrap"):
    play, settings, apps, peers = server(tmp_path, play_name)
    return build_tasks(play.roles_of(settings), settings, HOST, None, peers, apps,
                       play.per_app, list(apps.values()))  # fmt: skip


def test_the_servers_roles_run_once_and_each_apps_once_for_each(tmp_path):
    tasks, _ = built(tmp_path)
    labels = list(dict.fromkeys(t.role for t in tasks))
    assert labels == [
        "server_apps",
        "postgres",
        "base",
        "postgres_db[shop]",
        "app[hello]",
        "app[shop]",
        "nginx",
        "nginx_site[hello]",
        "nginx_site[shop]",
        "ssh",
        "firewall",
    ]  # fmt: skip  (hello has no database: postgres_db[hello], none)
    names = Counter(t.op.name for t in tasks)
    assert names["directory /srv/hello/shared"] == names["directory /srv/shop/shared"] == 1
    assert names["packages nginx"] == 1


def test_the_servers_roles_see_every_app(tmp_path):
    tasks, _ = built(tmp_path)
    names = [t.op.name for t in tasks if t.role in ("nginx", "postgres")]
    assert "packages certbot" in names  # shop has a domain; the server's settings none
    assert "packages postgresql" in names  # shop uses PostgreSQL; hello does not
    [check] = [t.op for t in tasks if t.role == "server_apps"]
    assert check.compare({"held": ()}).reason == "no app here yet"
    with pytest.raises(OperationError, match=r"^shop would take the user of old "):
        check.compare({"held": check.facts["held"].parse("old /srv/old shop\n")})


def test_each_app_notifies_handlers_of_its_own(tmp_path):
    tasks, handlers = built(tmp_path, "deploy")
    assert {"restart app[hello]", "restart app[shop]", "reload nginx"} <= set(handlers)
    notified = {n for t in tasks if t.role.endswith("[shop]") for n in t.op.notify}
    assert "restart app[shop]" in notified or "daemon-reload[shop]" in notified
    assert not {n for n in notified if n.endswith("[hello]")}  # never the other app's
    assert all(n in handlers for t in tasks for n in t.op.notify)


def test_the_app_without_a_domain_is_the_default_site_and_only_it(tmp_path):
    play, _, apps, peers = server(tmp_path)
    role = next(r for r in play.every_role if r.name == "nginx_site")
    every = list(apps.values())
    sites = {name: role.module.site(RoleContext(role, v, HOST, peers, every), tls=False)
             for name, v in apps.items()}  # fmt: skip
    assert "listen 80 default_server;" in sites["hello"]
    assert "default_server" not in sites["shop"] and "listen 80;" in sites["shop"]


def test_the_firewall_lets_balancers_reach_every_apps_port(tmp_path):
    play, settings, apps, _ = server(tmp_path)
    role = next(r for r in play.every_role if r.name == "firewall")
    ports = sorted(v["app_port"] for v in apps.values())
    ctx = RoleContext(role, settings, HOST, apps=list(apps.values()))
    assert role.module.app_ports(ctx) == f"{{ {ports[0]}, {ports[1]} }}"
    assert role.module.app_ports(RoleContext(role, apps["hello"], HOST)) == str(
        apps["hello"]["app_port"])  # fmt: skip
