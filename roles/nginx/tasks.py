"""nginx on a server: the package, the service and its logs, and certbot with its
renewal when an app has a domain. Each app's site and certificate: the nginx_site role."""

from pathlib import Path

from provision.api import LogSource, RoleError, ServiceProbe, apt, files, systemd

WEBROOT = "/var/www/letsencrypt"  # where certbot's challenges are served from, every site
PAGES = "/var/www/provision"  # the default maintenance page (nginx_site's maintenance)
CA_BUNDLE = "/etc/provision/acme-ca.pem"
RENEWAL_HOOKS = "/etc/letsencrypt/renewal-hooks/deploy"  # run by certbot after a renewal


def logs(role):
    """nginx's access and error logs."""
    return {"nginx-access": LogSource(path="/var/log/nginx/access.log"),
            "nginx-error": LogSource(path="/var/log/nginx/error.log")}  # fmt: skip


def status(role):
    return {"nginx": ServiceProbe("nginx")}


def tasks(role):
    v = role.vars
    yield apt.packages(["nginx"], v["apt_cache_valid_time"], v["apt_install_recommends"])
    yield files.absent("/etc/nginx/sites-enabled/default", notify="reload nginx")
    yield files.directory(f"{WEBROOT}/.well-known/acme-challenge", mode=0o755)
    yield files.directory(PAGES, mode=0o755)
    yield files.file(f"{PAGES}/maintenance.html", role.file("maintenance.html"), mode=0o644)
    if any(app["app_domain"] for app in role.apps):
        yield apt.packages(["certbot"], v["apt_cache_valid_time"], v["apt_install_recommends"])
        yield from _trust(role)
        # certbot makes this folder on its first certificate, which nginx_site asks for
        yield files.directory(RENEWAL_HOOKS, mode=0o755)
        yield files.file(f"{RENEWAL_HOOKS}/provision-reload-nginx",
                         "#!/bin/sh\n# Managed by provision: a renewed certificate goes live.\n"
                         "exec systemctl reload nginx\n", mode=0o755)  # fmt: skip
        yield systemd.service("certbot.timer", running=True, enabled=True)
    yield systemd.service("nginx", running=True, enabled=True)


def handlers(role):
    return {
        "reload nginx": systemd.reload("nginx"),
        "daemon-reload certbot": systemd.daemon_reload(),
    }


def _trust(role):
    """A private ACME server's CA: trusted by certbot, here and in the renewal timer."""
    bundle = role.vars["acme_ca_bundle"]
    if not bundle:
        return
    try:
        pem = Path(bundle).expanduser().read_text()
    except OSError as e:
        raise RoleError(f"acme_ca_bundle: cannot read {bundle!r}: {e.strerror}") from e
    yield files.directory("/etc/provision", mode=0o755)
    yield files.file(CA_BUNDLE, pem, mode=0o644)
    yield files.directory("/etc/systemd/system/certbot.service.d", mode=0o755)
    yield files.file("/etc/systemd/system/certbot.service.d/provision-ca.conf",
                     f"[Service]\nEnvironment=REQUESTS_CA_BUNDLE={CA_BUNDLE}\n",
                     notify="daemon-reload certbot")  # fmt: skip
