"""roles/nginx_site: the site a single server and a balancer get, and the settings refused."""

import pytest

from provision.project.inventory import InventoryError
from provision.project.roles import RoleError
from tests.fleet import FLEET, context, preflight, project, site, upstream_lines


def test_a_balancer_sends_to_its_group_at_their_private_addresses_and_ports(fleet):
    text = site(context(fleet, "nginx_site", "lb"))
    assert upstream_lines(text) == [
        "server 10.0.0.1:8000 max_fails=2 fail_timeout=10s;",
        "server 10.0.0.2:9000 max_fails=2 fail_timeout=10s;",
    ]
    assert "proxy_next_upstream error timeout http_502 http_504;" in text
    assert "location /static/" not in text  # static files come from the app servers


def test_a_server_marked_down_gets_no_requests(fleet):
    text = site(context(fleet, "nginx_site", "lb", balancer_down=["app2"]))
    assert "server 10.0.0.2:9000 max_fails=2 fail_timeout=10s down;" in upstream_lines(text)


def test_a_deploy_drains_the_servers_that_failed_beside_those_already_down(fleet):
    ctx = context(fleet, "nginx_site", "lb", balancer_down=["app2"])
    drained = ctx.role.module.down(ctx.vars, ["app1"])
    assert drained == {"balancer_down": ["app1", "app2"]}
    text = site(context(fleet, "nginx_site", "lb", **drained))
    assert [line for line in upstream_lines(text) if line.endswith(" down;")] == [
        "server 10.0.0.1:8000 max_fails=2 fail_timeout=10s down;",
        "server 10.0.0.2:9000 max_fails=2 fail_timeout=10s down;",
    ]  # fmt: skip


def test_a_single_server_keeps_its_local_upstream_and_static_files(fleet):
    text = site(context(fleet, "nginx_site", "solo"))
    assert upstream_lines(text) == ["server 127.0.0.1:8000;"]
    assert "location /static/" in text and "proxy_next_upstream" not in text


@pytest.mark.parametrize(
    "change, error",
    [
        (
            "balancer_upstream: app,",
            r"inventory.yaml:6: hosts\.lb\.vars\.balancer_upstream: "
            r"no group 'ap'; did you mean 'app'\? \(the group of its app servers; groups: app\)",
        ),
        (
            "serves: balancer,",
            r"inventory.yaml:6: hosts\.lb\.vars\.serves: a balancer needs "
            r"balancer_upstream, the group of its app servers \(groups: app\)",
        ),
    ],
)
def test_a_balancer_without_a_group_of_app_servers_is_refused(tmp_path, change, error):
    broken = {
        "balancer_upstream: app,": FLEET.replace("upstream: app,", "upstream: ap,"),
        "serves: balancer,": FLEET.replace("serves: balancer, balancer_upstream: app,",
                                           "serves: balancer,"),
    }[change]  # fmt: skip
    with pytest.raises((InventoryError, RoleError), match=error):
        preflight(project(tmp_path, broken), "lb")


def test_a_group_member_that_is_no_app_server_is_named(tmp_path):
    broken = FLEET.replace("{serves: app, app_port: 9000}", "{serves: all, app_port: 9000}")
    with pytest.raises(InventoryError, match=r"app2 in group 'app' serves 'all'; a balancer "
                                             r"sends to app servers \(serves: app\)"):  # fmt: skip
        preflight(project(tmp_path, broken), "lb")


def test_the_https_site_offers_mozillas_intermediate_curves_and_exempts_trusted_clients(
    fleet,
):
    exempt = ["10.0.0.0/8", "192.0.2.7"]
    ctx = context(fleet, "nginx_site", "solo", app_domain="example.com",
                  acme_email="ops@example.com", nginx_rate_exempt=exempt)  # fmt: skip
    site = ctx.role.module.site(ctx, tls=True)
    assert "    ssl_ecdh_curve X25519:prime256v1:secp384r1;\n" in site  # no secp521r1, no X448
    assert "ssl_stapling" not in site  # Let's Encrypt has no OCSP responder any more
    assert "    10.0.0.0/8 1;\n    192.0.2.7 1;\n" in site
    assert "limit_req_zone $limit_key_hello zone=hello_rate:10m rate=20r/s;" in site
    stapled = context(fleet, "nginx_site", "solo", app_domain="example.com",
                      acme_email="ops@example.com", nginx_ocsp_stapling=True)  # fmt: skip
    text = stapled.role.module.site(stapled, tls=True)
    assert "ssl_stapling on;" in text


# the fleet with two apps (no host sets a port: a host's setting is every app's)
APPS_FLEET = (
    FLEET.replace("vars:\n  app_port: 8000\n", "").replace(", app_port: 9000", "")
    + """\
apps:
  hello: {app_domain: hello.example.com, acme_email: ops@example.com}
  shop: {app_domain: shop.example.com, acme_email: ops@example.com, app_port: 8500,
         app_check_port: 8501}
"""
)


def test_a_balancers_site_for_each_app_sends_to_that_apps_port(tmp_path):
    fleet = project(tmp_path, APPS_FLEET)
    assert upstream_lines(site(context(fleet, "nginx_site", "lb", app="shop"))) == [
        "server 10.0.0.1:8500 max_fails=2 fail_timeout=10s;",
        "server 10.0.0.2:8500 max_fails=2 fail_timeout=10s;",
    ]
    port = fleet.app_defaults("hello")["app_port"]  # from its name
    assert upstream_lines(site(context(fleet, "nginx_site", "lb", app="hello"))) == [
        f"server 10.0.0.1:{port} max_fails=2 fail_timeout=10s;",
        f"server 10.0.0.2:{port} max_fails=2 fail_timeout=10s;",
    ]


def test_maintenance_is_a_flag_nginx_checks_on_each_request_with_its_page(fleet):
    text = site(context(fleet, "nginx_site", "solo"))
    assert "        if (-f /var/lib/provision/maintenance/hello) {\n            return 503;" in text
    assert "        alias /var/www/provision/maintenance.html;" in text
    assert "add_header Retry-After 300 always;" in text
    own = site(context(fleet, "nginx_site", "solo", app_maintenance_page="static/down.html"))
    assert "        alias /srv/hello/current/static/down.html;" in own
    on_lb = site(context(fleet, "nginx_site", "lb", app_maintenance_page="static/down.html"))
    assert "alias /var/www/provision/maintenance.html;" in on_lb  # the app's are not there


def test_maintenance_is_switched_where_nginx_serves_the_app(fleet):
    actions = context(fleet, "nginx_site", "solo").role.module.actions
    on = actions(context(fleet, "nginx_site", "solo"))["maintenance-on"]
    [command] = on.commands
    assert "date -u +%Y-%m-%dT%H:%M:%SZ > /var/lib/provision/maintenance/hello" in command.render()
    assert actions(context(fleet, "nginx_site", "app1"))["maintenance-on"] == (
        "nginx is on the balancers: run it there (-H the balancers)")  # fmt: skip


@pytest.mark.parametrize("output, line", [
    ("", "off"),
    ("2025-01-02T05:00:00Z\n", "on since 2025-01-02 05:00:00 UTC ("),
])  # fmt: skip
def test_status_says_whether_maintenance_is_on(fleet, output, line):
    probe = context(fleet, "nginx_site", "solo").role.module.status(
        context(fleet, "nginx_site", "solo"))["maintenance"]  # fmt: skip
    assert probe.line(probe.parse(output)).startswith(line)


def test_remove_takes_the_site_and_the_certificates_it_names(fleet):
    ctx = context(fleet, "nginx_site", "solo")
    [op] = ctx.role.module.remove(ctx, False)
    text = b"ssl_certificate /etc/letsencrypt/live/hello.example.com/fullchain.pem;\n"
    change = op.compare({"text": text})
    assert [c.render() for c in change.commands] == [
        "rm -f /etc/nginx/conf.d/hello.conf",
        "certbot delete --non-interactive --cert-name hello.example.com",
    ]
    assert op.notify == ("reload nginx",)
    assert op.compare({"text": None}).reason == "/etc/nginx/conf.d/hello.conf is absent"


def test_a_site_left_on_the_server_keeps_the_default_for_itself(fleet):
    ctx = context(fleet, "nginx_site", "solo")
    [op] = [op for op in ctx.tasks() if op.name.startswith("site /etc/nginx/conf.d/hello.conf")]
    others = op.facts["_value"].parse("/etc/nginx/conf.d/hello.conf\n/etc/nginx/conf.d/old.conf\n")
    assert others == ("/etc/nginx/conf.d/old.conf",)  # an app the inventory does not name
    assert "listen 80 default_server;" in ctx.role.module.site(ctx, False)
    assert "default_server" not in ctx.role.module.site(ctx, False, others)
