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
