"""Maintenance mode: nginx answers for an app with 503, a page and Retry-After, instead
of sending its requests to the app, while a flag file says so (`provision maintenance
on|off --app NAME`). The flag outlives deploys; provision's own health checks go to the
app's port, not through nginx, so deploys work in maintenance too."""

from dataclasses import dataclass

from provision.api import Action, Command, Probe, inside, sh, when

PAGES = "/var/www/provision"  # the nginx role's: its default maintenance page
FLAGS = "/var/lib/provision/maintenance"  # a file per app in maintenance: since when


def where(v):
    """Where maintenance mode is: the flag file nginx looks for, and the page it serves
    (the app's own from its live release, else the nginx role's)."""
    page = v["app_maintenance_page"]
    own = page and v["serves"] != "balancer"
    return {"flag": f"{FLAGS}/{v['app_name']}",
            "root": f"{v['app_root']}/current" if own else PAGES,
            "page": inside(page) if own else "maintenance.html"}  # fmt: skip


def actions(role):
    """`provision maintenance on|off`: nginx answers 503 with the maintenance page (and
    Retry-After), or the app again; the state outlives deploys."""
    v = role.vars
    if v["serves"] == "app":
        why = "nginx is on the balancers: run it there (-H the balancers)"
        return {"maintenance-on": why, "maintenance-off": why}
    flag, retry = where(v)["flag"], v["app_maintenance_retry_after"]
    on = Command.script("mkdir -p {d} && date -u +%Y-%m-%dT%H:%M:%SZ > {f} && echo {said}",
                        d=FLAGS, f=flag, said=f"nginx answers 503 (Retry-After: {retry}) "
                        f"for {v['app_name']} until `maintenance off`")  # fmt: skip
    again = f"nginx sends {v['app_name']}'s requests to the app again"
    off = Command.script("rm -f {f} && echo {said}", f=flag, said=again)
    return {"maintenance-on": Action(v["app_name"], [on]),
            "maintenance-off": Action(v["app_name"], [off])}  # fmt: skip


def probe(v):
    """What `fab status` shows of it."""
    return Maintenance(where(v)["flag"])


@dataclass(frozen=True)
class Maintenance(Probe):
    """Whether nginx answers for the app with its maintenance page, and since when."""

    path: str  # the flag file

    def command(self):
        return sh("cat {f} 2>/dev/null || true", f=self.path)

    def parse(self, output):
        since = output.strip()
        return {"on": bool(since), "since": since or None}

    def line(self, f):
        return f"on since {when(f['since'])}: nginx answers 503" if f["on"] else "off"
