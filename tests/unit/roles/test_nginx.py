"""roles/nginx: nginx on a server, and certbot with its renewal only where the app has a
domain; the sites are nginx_site's."""

from tests.fleet import context


def names(ctx):
    return [op.name for op in ctx.tasks()]


def test_nginx_alone_without_a_domain(fleet):
    assert names(context(fleet, "nginx", "solo")) == [
        "packages nginx", "absent /etc/nginx/sites-enabled/default",
        "directory /var/www/letsencrypt/.well-known/acme-challenge",
        "directory /var/www/provision", "file /var/www/provision/maintenance.html", "service nginx",
    ]  # fmt: skip


def test_certbot_and_its_renewal_with_a_domain(fleet):
    ctx = context(fleet, "nginx", "solo", app_domain="example.com", acme_email="o@example.com")
    assert names(ctx) == [
        "packages nginx", "absent /etc/nginx/sites-enabled/default",
        "directory /var/www/letsencrypt/.well-known/acme-challenge",
        "directory /var/www/provision", "file /var/www/provision/maintenance.html",
        "packages certbot",
        "directory /etc/letsencrypt/renewal-hooks/deploy",
        "file /etc/letsencrypt/renewal-hooks/deploy/provision-reload-nginx",
        "service certbot.timer", "service nginx",
    ]  # fmt: skip
    assert set(ctx.handlers()) == {"reload nginx", "daemon-reload certbot"}
