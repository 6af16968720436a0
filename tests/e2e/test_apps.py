"""Two apps on one real host, each with its domain and certificate (over ACME, from
pebble): the example app (hello.test) and example-db-app with PostgreSQL (shop.test).
Each is separate on the server, and deploying or rolling back one leaves the other
serving, untouched, under load."""

import json
import shutil

import pytest

from tests.acme import Pebble
from tests.helpers import ROOT, Web, recap
from tests.load import Load, NamedHTTPS

HELLO, SHOP = "hello.test", "shop.test"


@pytest.fixture(scope="module")
def acme(test_host, net, tmp_path_factory):
    work = tmp_path_factory.mktemp("pebble")
    with Pebble(work, listen=net.gateway, answer=test_host.address) as pebble:
        yield pebble


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Copies of the two apps' sources, to change as the tests like."""
    work = tmp_path_factory.mktemp("apps")
    for name in ("example-app", "example-db-app"):
        shutil.copytree(ROOT / name, work / name)
    return work


@pytest.fixture(scope="module")
def server(test_host, acme, sources):
    """The module's host, its inventory naming the two apps, bootstrapped once."""
    test_host.inventory.write_text(test_host.inventory.read_text() + f"""\
vars:
  acme_email: ops@{HELLO}
  acme_directory: {acme.directory}
  acme_ca_bundle: {acme.ca_bundle}
  nginx_rate: 100000r/s
apps:
  hello:
    app_source: {sources / "example-app"}
    app_domain: {HELLO}
  shop:
    app_source: {sources / "example-db-app"}
    app_domain: {SHOP}
    app_module: "app.main:app"
    app_release_command: "alembic upgrade head"
    postgres_enabled: true
""")
    done = test_host.fab("bootstrap")
    assert done.returncode == 0, done.stdout + done.stderr
    test_host.first_bootstrap = done.stdout
    return test_host


@pytest.fixture(scope="module")
def deployed(server):
    """Both apps deployed, one after the other, by one `fab deploy`."""
    done = server.fab("deploy")
    assert done.returncode == 0, done.stdout + done.stderr
    server.first_deploy = done.stdout
    return server


@pytest.fixture(scope="module")
def host(test_host):
    return test_host.testinfra()


def ask(acme, name, method="GET", path="/health", body=None):
    """(status, body) of a request to the site ``name`` over HTTPS, as a browser sends it."""
    conn = NamedHTTPS(Web.address, 443, name, acme.root)
    headers = {"Host": name, **({"Content-Type": "application/json"} if body else {})}
    try:
        conn.request(method, path, body=json.dumps(body) if body else None, headers=headers)
        answer = conn.getresponse()
        return answer.status, answer.read().decode()
    finally:
        conn.close()


def test_bootstrap_sets_up_each_app_and_the_server_once(server, host):
    out = server.first_bootstrap
    assert "[target] changed   app[hello]: user hello" in out
    assert "[target] changed   app[shop]: user shop" in out
    assert "[target] changed   postgres_db[shop]: database shop" in out
    assert "postgres_db[hello]" not in out  # hello has no database
    assert out.count("packages nginx") == 1
    for app in ("hello", "shop"):
        assert host.file(f"/var/lib/provision/apps/{app}").content_string == (
            f"/srv/{app} {app}\n")  # fmt: skip
        assert host.file(f"/srv/{app}/shared").user == app
    again = server.fab("bootstrap")
    assert again.returncode == 0, again.stdout + again.stderr
    assert recap(again.stdout)["target"]["changed"] == 0, again.stdout


def test_deploy_ships_each_app_and_each_answers_by_its_domain(deployed, acme, host):
    out = deployed.first_deploy
    assert "-- app hello (1 of 2)" in out and "-- app shop (2 of 2)" in out
    assert out.index("-- app shop") > out.index("-- app hello")
    assert "Running upgrade  -> 0001" in out  # shop's migrations, once
    status, body = ask(acme, HELLO)
    assert status == 200 and json.loads(body)["status"] == "ok", body
    status, body = ask(acme, SHOP, "POST", "/items", {"name": "first"})
    assert status == 201, body
    status, body = ask(acme, SHOP, path="/items")
    assert status == 200 and "first" in body, body
    for app in ("hello", "shop"):
        assert host.service(app).is_running
        assert host.check_output(f"systemctl show -p User --value {app}") == app
        assert host.file(f"/etc/letsencrypt/live/{app}.test/fullchain.pem").exists
    # a request that names no site (by the address) goes to the first app's
    defaults = host.check_output("grep -l default_server /etc/nginx/conf.d/*.conf")
    assert defaults.split() == ["/etc/nginx/conf.d/hello.conf"]


def started(host, unit):
    return host.check_output(f"systemctl show -p MainPID -p ActiveEnterTimestamp --value {unit}")


def test_deploying_and_rolling_back_one_app_leaves_the_other_serving(deployed, acme, host,
                                                                     sources):  # fmt: skip
    before = started(host, "shop")
    site = (SHOP, acme.root)
    (sources / "example-app" / "VERSION").write_text("2\n")
    with Load(Web.address, 443, clients=4, get="/items?limit=5", post="/items",
              body={"name": "load"}, site=site) as load:  # fmt: skip
        done = deployed.fab("deploy", "--app", "hello")
        assert done.returncode == 0, done.stdout + done.stderr
        back = deployed.fab("rollback", "--app", "hello")
        assert back.returncode == 0, back.stdout + back.stderr
    assert load.total > 50, load.counts
    assert load.failed == 0, (load.counts, load.failures[:5])
    assert "[shop]" not in done.stdout + back.stdout  # no task of shop ran
    assert started(host, "shop") == before  # never restarted
