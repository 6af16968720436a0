"""The app's site in nginx, in front of the app (or of its app servers, on a balancer),
with a Let's Encrypt certificate when the app has a domain."""

import re
from dataclasses import dataclass

from provision.api import (
    CertificateProbe,
    Change,
    Command,
    Fact,
    FileContent,
    NoChange,
    Operation,
    RoleError,
    SchemaError,
    Succeeds,
    closest,
    files,
    made_from,
    only_if,
    sh,
    shell,
)

from . import maintenance
from .containers import containers  # noqa: F401  (the role's answer to that hook)

WEBROOT = "/var/www/letsencrypt"  # the nginx role's, where the challenges are served from
SITES = "/etc/nginx/conf.d"  # a site per app: <app_name>.conf
CA_BUNDLE = "/etc/provision/acme-ca.pem"  # the nginx role's copy of acme_ca_bundle


def check_peers(v, peers):
    """A balancer names a group of app servers."""
    if v["serves"] != "balancer":
        return
    name = v["balancer_upstream"]
    known = ", ".join(peers.groups()) or "none"
    if not name:
        raise SchemaError("serves", "a balancer needs balancer_upstream, the group of its app "
                          f"servers (groups: {known})")  # fmt: skip
    group = peers.group(name)
    if group is None:
        raise SchemaError("balancer_upstream", f"no group {name!r}{closest(name, peers.groups())}"
                          f" (the group of its app servers; groups: {known})")  # fmt: skip
    if not group:
        raise SchemaError("balancer_upstream", f"group {name!r} has no hosts")
    for peer in group:
        if peer.vars["serves"] != "app":
            raise SchemaError("balancer_upstream", f"{peer.name} in group {name!r} serves "
                              f"{peer.vars['serves']!r}; a balancer sends to app servers "
                              "(serves: app)")  # fmt: skip


def check_apps(apps):
    """Apps on one server: each domain routes to one app, and one app at most has none
    (the server's default site)."""
    claimed, bare = {}, []
    for name, v in apps.items():
        domain = v["app_domain"]
        if not domain:
            bare.append(name)
            if len(bare) > 1:
                raise SchemaError("app_domain", f"{bare[0]} and {name} have none on one server: "
                                  "one app at most can be its default site; give the others "
                                  "their domain", app=name)  # fmt: skip
        elif domain in claimed:
            raise SchemaError("app_domain", f"{domain} is {claimed[domain]}'s already: a "
                              "domain routes to one app", app=name)  # fmt: skip
        claimed[domain] = name


def upstreams(role):
    """``(address:port, down)`` of each app server nginx sends to."""
    v = role.vars
    if v["serves"] != "balancer":
        return [(f"127.0.0.1:{v['app_port']}", False)]
    port = lambda peer: peer.app(v["app_name"])["app_port"]  # noqa: E731
    return [(f"{p.private_address}:{port(p)}", p.name in v["balancer_down"])
            for p in role.peers.group(v["balancer_upstream"]) or []]  # fmt: skip


def down(v, names):
    """A deploy's app servers that failed their health gate: the balancers send them
    nothing until the next deploy, beside those balancer_down already names."""
    return {"balancer_down": sorted({*v["balancer_down"], *names})}


def status(role):
    """Maintenance mode, and the certificate's days to expiry when the site has a domain."""
    v = role.vars
    found = {} if v["serves"] == "app" else {"maintenance": maintenance.probe(v)}
    if v["app_domain"]:
        path = f"/etc/letsencrypt/live/{v['app_domain']}/fullchain.pem"
        found["certificate"] = CertificateProbe(path)
    return found


def tasks(role):
    v = role.vars
    site = f"{SITES}/{v['app_name']}.conf"
    domain = v["app_domain"]
    if not domain:
        yield shell.note("HTTPS", "no app_domain: HTTP only (a certificate needs a domain name)")
        yield _site(role, site, tls=False)
        return
    if not v["acme_email"]:
        raise RoleError("acme_email: required with app_domain (Let's Encrypt mails it)")
    cert = f"/etc/letsencrypt/live/{domain}/fullchain.pem"
    has_cert = Succeeds(sh("test -s {cert}", cert=cert))
    # Until the certificate exists: HTTP, with the ACME challenge served.
    yield only_if(_site(role, site, tls=False), _not(has_cert), "before the certificate")
    yield shell.command(f"certificate for {domain}", _certbot(role), creates=cert)
    yield only_if(_site(role, site, tls=True), has_cert, "with the certificate")


def remove(role, data):
    """The app's site, and the certificates it names (certbot would renew them for a
    site no longer served)."""
    site = f"{SITES}/{role.vars['app_name']}.conf"

    def decide(text):
        if text is None:
            return NoChange(f"{site} is absent")
        live = r"/etc/letsencrypt/live/([^/\s]+)/fullchain"
        names = sorted(set(re.findall(live, text.decode(errors="replace"))))
        drop = [Command.of("certbot", "delete", "--non-interactive", "--cert-name", name)
                for name in names]  # fmt: skip
        said = f", with the certificate of {', '.join(names)}" if names else ""
        return Change([Command.of("rm", "-f", site), *drop], f"remove{said}")

    return [Operation(f"no site {site}", {"text": FileContent(site)}, decide, ("reload nginx",))]


def default_site(role):
    """Whether this app's site answers a request that names no site of the server (by its
    address, say): the app without a domain, or, when every app has one, the first."""
    bare = [a["app_name"] for a in role.apps if not a["app_domain"]]
    return role.vars["app_name"] == (bare or [a["app_name"] for a in role.apps])[0]


def site(role, tls, others=()):
    """The text of the app's site: HTTP only, or with TLS. ``others``: sites of apps the
    inventory does not name here that claim the default (an app left alone on the server
    keeps it: two would break nginx)."""
    return role.template("site.conf.j2", tls=tls, upstreams=upstreams(role),
                         default=default_site(role) and not others,
                         maintenance=maintenance.where(role.vars))  # fmt: skip


def actions(role):
    """`provision maintenance on|off` (see maintenance.py)."""
    return maintenance.actions(role)


def _site(role, path, tls):
    def made(others):
        return files.file(path, site(role, tls, others), validate="nginx -t -q",
                          notify="reload nginx",
                          name=f"site {path}" + (" (HTTPS)" if tls else " (HTTP)"))  # fmt: skip

    ours = [f"{SITES}/{app['app_name']}.conf" for app in role.apps]
    return made_from(DefaultSites(tuple(ours)), made, ())


@dataclass(frozen=True)
class DefaultSites(Fact[tuple[str, ...]]):
    """The sites in nginx's conf.d, but ``ours``, that claim the default server."""

    ours: tuple[str, ...]

    def command(self):
        return sh("grep -l default_server {sites}/*.conf 2>/dev/null || true", sites=SITES)

    def parse(self, output):
        return tuple(p for p in output.split() if p not in self.ours)


def _not(fact):
    return Succeeds(f"! ( {fact.test} )")


# Waits (10 s at most) until nginx serves the challenge directory: `systemctl reload`
# returns before nginx's new workers have the site that serves it.
SERVED = """
import sys, time, urllib.request
url, want = sys.argv[1:3]
deadline = time.monotonic() + 10
while True:
    try:
        if urllib.request.urlopen(url, timeout=1).read().decode().strip() == want:
            break
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit(f"nginx did not serve {url} within 10 s")
    time.sleep(0.05)
"""


def _certbot(role):
    v = role.vars
    env = ("env", f"REQUESTS_CA_BUNDLE={CA_BUNDLE}") if v["acme_ca_bundle"] else ()
    certbot = Command.of(*env, "certbot", "certonly", "--webroot", "-w", WEBROOT,
                         "-d", v["app_domain"], "--email", v["acme_email"], "--agree-tos",
                         "--non-interactive", "--server", v["acme_directory"])  # fmt: skip
    probe = f"{WEBROOT}/.well-known/acme-challenge/provision-probe"
    # nginx must serve the challenge first: its HTTP site may have changed in this run.
    return Command.script(
        "systemctl reload nginx && echo $$ > {probe} && "
        "python3 -c {served} {url} $$ && rm -f {probe} && {certbot}",
        label=f"certbot certonly --webroot -d {v['app_domain']}",
        probe=probe,
        served=SERVED,
        url="http://127.0.0.1/.well-known/acme-challenge/provision-probe",
        certbot=certbot,
    )
