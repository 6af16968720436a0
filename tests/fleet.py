"""A fleet in an inventory, for unit tests of roles: a single server (solo), two app
servers (app1, app2) and a balancer (lb), with the project's own roles. ``context`` is
what a role sees on one of them; ``preflight`` checks their settings as a command does.

Example::

    ctx = context(fleet, "nginx_site", "lb", balancer_down=["app2"])
    ctx.tasks()
"""

import re

from provision.project.plays import Project
from provision.project.preflight import check_settings
from provision.project.roles import RoleContext, resolve_vars
from tests.fakes import HOST
from tests.helpers import ROOT

FLEET = """\
vars:
  app_port: 8000
hosts:
  app1: {address: 203.0.113.1, vars: {serves: app, private_address: 10.0.0.1}}
  app2: {address: 10.0.0.2, vars: {serves: app, app_port: 9000}}
  lb: {address: 203.0.113.9, vars: {serves: balancer, balancer_upstream: app,
                                    private_address: 10.0.0.9}}
  solo: {address: 203.0.113.5}
groups:
  app: {hosts: [app1, app2]}
"""


def project(tmp_path, text=FLEET):
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(text)
    return Project.load(ROOT, inventory)


def on_server(project, name, **overrides):
    """A RoleContext for each role a command's host runs, as the engine picks them (the
    deploy play's roles for the host's kind, then the other plays')."""
    play, settings, peers = _seen(project, name, overrides)
    return [RoleContext(role, settings, HOST, peers) for role in play.on_server(settings)]


def context(project, role, name, app="", **overrides):
    """What ``role`` sees on the host ``name`` (for its ``app``, of the inventory's apps:),
    whether or not the plays run it there."""
    _, settings, peers = _seen(project, name, overrides, app)
    return RoleContext(project.roles[role], settings, HOST, peers)


def _seen(project, name, overrides, app=""):
    """The deploy play, and the host ``name``'s settings (its ``app``'s) and peers in it."""
    play = project.play("deploy", overrides)
    targets = project.targets(name)
    [target] = project.for_app(targets, app) if app else targets
    settings = resolve_vars(play.every_role, target.vars, overrides)
    return play, settings, play.peers.seen_from(target)


def site(ctx):
    return ctx.role.module.site(ctx, tls=False)


def upstream_lines(text):
    return [line.strip() for line in text.splitlines() if re.match(r"\s*server \S+:\d+", line)]


def preflight(fleet, name, play_name="deploy", **overrides):
    play = fleet.play(play_name, overrides)
    check_settings(play.roles_of, play.every_role, fleet.targets(name), fleet.inventory,
                   overrides, ROOT, play.peers)  # fmt: skip
