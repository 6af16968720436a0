"""Two apps on one real host, each with its domain and certificate (over ACME, from
pebble): the example app (hello.test) and example-db-app with PostgreSQL (shop.test).
Each is separate on the server, and deploying or rolling back one leaves the other
serving, untouched, under load."""

import json
import shutil
import time

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
    test_host.inventory.write_text(
        test_host.inventory.read_text()
        + f"""\
vars:
  acme_email: ops@{HELLO}
  acme_directory: {acme.directory}
  acme_ca_bundle: {acme.ca_bundle}
  nginx_rate: 100000r/s
apps:
  hello:
    app_source: {sources / "example-app"}
    app_domain: {HELLO}
    app_maintenance_page: static/hello.txt
  shop:
    app_source: {sources / "example-db-app"}
    app_domain: {SHOP}
    app_module: "app.main:app"
    app_release_command: "alembic upgrade head"
    postgres_enabled: true
    app_processes:
      beat: "python -c 'import time; time.sleep(10**9)'"
    app_schedule:
      tick: {{command: "true", on_calendar: "*:*:0/5"}}
"""
    )
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


def answer(acme, name, method="GET", path="/health", body=None):
    """(status, headers, body) of a request to the site ``name`` over HTTPS, as a browser
    sends it."""
    conn = NamedHTTPS(Web.address, 443, name, acme.root)
    headers = {"Host": name, **({"Content-Type": "application/json"} if body else {})}
    try:
        conn.request(method, path, body=json.dumps(body) if body else None, headers=headers)
        got = conn.getresponse()
        return got.status, dict(got.getheaders()), got.read().decode()
    finally:
        conn.close()


def ask(acme, name, method="GET", path="/health", body=None):
    """(status, body) of such a request."""
    status, _, text = answer(acme, name, method, path, body)
    return status, text


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
    assert host.service("shop-process-beat").is_running
    assert host.service("shop-job-tick.timer").is_running
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
    shops = ("shop", "shop-process-beat", "shop-job-tick.timer")
    before = [started(host, unit) for unit in shops]
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
    assert [started(host, unit) for unit in shops] == before  # none restarted


def test_status_shows_each_app(deployed):
    done = deployed.fab("status")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "-- app hello (1 of 2)" in out and "-- app shop (2 of 2)" in out
    shop = out[out.index("-- app shop") :]
    assert "[target] maintenance  off" in shop, out
    assert "[target] web          active (running)" in shop, out
    assert "hello" not in shop  # each app's own probes, releases and deploys
    report = json.loads(deployed.fab("status", "--json").stdout)
    assert sorted(report["target"]) == ["hello", "shop"]
    assert report["target"]["shop"]["web"]["active"] is True, report


def test_maintenance_answers_503_for_one_app_through_deploys(deployed, acme, sources):
    shop_load = Load(Web.address, 443, clients=2, get="/items?limit=5", post="/items",
                     body={"name": "load"}, site=(SHOP, acme.root))  # fmt: skip
    with Load(Web.address, 443, clients=2, site=(HELLO, acme.root)) as load, shop_load:
        asked = time.monotonic()
        on = deployed.fab("maintenance", "on", "--app", "shop")
        assert on.returncode == 0, on.stdout + on.stderr
        status, headers, body = answer(acme, SHOP, path="/items")
        assert (status, headers["Retry-After"]) == (503, "300"), (status, headers)
        assert "Down for maintenance" in body
        # provision's own checks reach the app: a deploy of it goes through
        (sources / "example-db-app" / "NOTE").write_text("maintenance\n")
        shipped = deployed.fab("deploy", "--app", "shop")
        assert shipped.returncode == 0, shipped.stdout + shipped.stderr
        assert answer(acme, SHOP, path="/items")[0] == 503  # still on after the deploy
        said = deployed.fab("status", "--app", "shop")
        assert "[target] maintenance  on since " in said.stdout, said.stdout
        off = deployed.fab("maintenance", "off", "--app", "shop")
        assert off.returncode == 0, off.stdout + off.stderr
        done = time.monotonic()
        assert answer(acme, SHOP, path="/items")[0] == 200
    assert load.total > 20 and load.failed == 0, (load.counts, load.failures[:5])  # hello
    # shop: 503 while on, and nothing else ever failed; served before and after
    counts = shop_load.counts
    assert counts["GET 503"] and counts["POST 503"] and counts["GET 200"], counts
    assert set(shop_load.failed_kinds) <= {"GET 503", "POST 503"}, shop_load.failures[:5]
    assert min(shop_load.failed_sent) >= asked and max(shop_load.failed_at) <= done
    # an app's own page, from its live release
    assert deployed.fab("maintenance", "on", "--app", "hello").returncode == 0
    assert answer(acme, HELLO, "POST", "/echo", {"x": 1})[::2] == (
        503, "hello from provision's example app\n")  # fmt: skip
    assert deployed.fab("maintenance", "off", "--app", "hello").returncode == 0


def databases(host):
    return host.check_output("runuser -u postgres -- psql -XtAc 'SELECT datname FROM "
                             "pg_database'").split()  # fmt: skip


@pytest.fixture
def shop_taken_out(deployed):
    """The inventory without shop, for the test; as it was afterwards."""
    inventory = deployed.inventory.read_text()
    deployed.inventory.write_text(inventory[: inventory.index("  shop:\n")])
    yield deployed
    deployed.inventory.write_text(inventory)


def test_an_app_taken_out_is_left_alone_then_removed_keeping_its_data(shop_taken_out, acme,
                                                                       host):  # fmt: skip
    said = shop_taken_out.fab("bootstrap")
    assert said.returncode == 0, said.stdout + said.stderr
    assert ("server_apps: apps here  (also here, not in the inventory: shop (in "
            "/srv/shop); left alone") in said.stdout  # fmt: skip
    assert host.service("shop").is_running  # left alone
    with Load(Web.address, 443, clients=2, site=(HELLO, acme.root)) as load:
        done = shop_taken_out.fab("remove", "--app", "shop")
    assert done.returncode == 0, done.stdout + done.stderr
    assert load.total > 10 and load.failed == 0, (load.counts, load.failures[:5])
    for unit in ("shop.service", "shop-pg-backup.timer", "shop-process-beat.service",
                 "shop-job-tick.timer"):  # fmt: skip
        assert not host.file(f"/etc/systemd/system/{unit}").exists
    assert not host.file("/etc/nginx/conf.d/shop.conf").exists
    assert not host.file("/etc/letsencrypt/live/shop.test").exists
    assert not host.user("shop").exists
    assert not host.file("/srv/shop/releases").exists
    shared = host.file("/srv/shop/shared/.env")  # its data, kept
    assert shared.exists and shared.user == "root"
    assert "shop" in databases(host)
    assert host.file("/var/backups/postgresql/shop").exists
    assert ask(acme, HELLO)[0] == 200
    # asked for: its data too, and a second time nothing is left to do
    for _ in range(2):
        purged = shop_taken_out.fab("remove", "--app", "shop", "--delete-data")
        assert purged.returncode == 0, purged.stdout + purged.stderr
    assert recap(purged.stdout)["target"]["changed"] == 0, purged.stdout
    assert not host.file("/srv/shop").exists
    assert not host.file("/var/backups/postgresql/shop").exists
    assert not host.file("/etc/provision/secrets/shop-postgres").exists
    assert "shop" not in databases(host)
    assert ask(acme, HELLO)[0] == 200
